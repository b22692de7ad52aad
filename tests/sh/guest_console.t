#!/bin/bash
# guest_console.t: what a guest, or whoever owns its sockets (the guest's user), can do to the
# host's tools through its mconsole and its console, shown with a fake kernel
# (tests/helpers/fakeuml: no guest boots, so every case is exact and quick).
#
#  - mconsole: a socket that answers "more" for ever cannot hold `umlkit mconsole --timeout`
#    past its timeout; escape sequences in a reply reach the terminal escaped.
#  - stop: a guest whose mconsole never answers (or never ends its reply) and whose kernel
#    ignores SIGTERM is stopped by the deadline `stop --timeout` gives.
#  - console: a client that stops reading (suspended, as by Ctrl-Z) stalls nothing: the
#    console log is written on, the guest does not freeze, `stop` works; once it reads again
#    it is told why it was detached.
#  - escaping: `umlkit logs`, a piped `umlkit console` and the status message show the
#    guest's control characters as \xHH; `logs --raw` gives the bytes.
#
# Deadlines are checked against the timeout given, with a margin for a loaded machine; that
# is a bound, not a benchmark. Run: make test-build && tests/sh/guest_console.t -v
. "$(dirname "$0")/lib.sh"

FAKE=$UK_BUILD/tests/helpers/fakeuml
[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT"
[ -x "$FAKE" ] || test_skip_all "helper not built: $FAKE (make test-build)"

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
STATE=$XDG_RUNTIME_DIR/umlkit/guests
ESC=$(printf '\033')
# what a hostile guest prints: retitle the terminal, clear it, a C1 CSI in UTF-8
NASTY=$(printf 'title\033]0;owned\007\033[2J\302\233m')
NASTY_SHOWN='title\x1b]0;owned\x07\x1b[2J\xc2\x9bm'

# The fake kernel runs jailed, as every guest's kernel does: its settings come on its command
# line (a jailed kernel gets a clean environment), and without the xstate preload (it needs
# none, and an ASan-built helper refuses one).
export UMLKIT_XSTATE_SHIM=off

# fake NAME [fakeuml.KEY=VALUE...]: a supervised guest on the fake kernel with those
# settings, once it is running (ready when its mconsole is up). Not `start --wait`: a fake
# kernel is up so soon that the supervisor's "started" and "ready" reach `start` in one
# read, and `start` loses the second (read_reports keeps no buffer between calls): "the
# supervisor ended without a report".
fake() {
	local n=$1
	shift
	truncate -s 1M "$T/$n.img" &&
		"$UMLKIT" start --name "$n" --kernel "$FAKE" --no-modules --disk "$T/$n.img" \
			--cpu-affinity none --ready=mconsole ${1+--append "$*"} &&
		track "$n" &&
		until_true 30 running "$n"
}
running() { [ "$(state_of "$1")" = running ]; }
# serve SOCKET MODE [VAR=VALUE...]: a bare fake mconsole server, its pid tracked
serve() {
	env "${@:3}" "$FAKE" serve "$1" "$2" &
	UK_PIDS+=($!)
	until_true 10 test -S "$1"
}
# timed CMD...: run CMD with run (its $rc, $out, $err); $ms: the milliseconds it took
timed() {
	local t0
	t0=$(date +%s%N)
	run "$@"
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "took $ms ms, exit $rc"
}
state_of() { "$UMLKIT" status "$1" --output=json 2>/dev/null | jq -r .state; }
gone() { [ -n "$1" ] && ! pid_alive "$1"; }
test_panicked() { [ "$(state_of "$1")" = panicked ]; }
kernel_of() { "$UMLKIT" status "$1" --output=json | jq -r '.pid // empty'; }

# ------------------------------------------------------------------------------ start --wait
# A guest ready at once (the fake's mconsole comes up as it starts): its "ready" report can
# reach `start --wait` in the same read as "started", which once lost it ("the supervisor
# ended without a report"). 16 starts, 4 at a time, every one must return ready.
wait_one() {
	truncate -s 1M "$T/$1.img" &&
		"$UMLKIT" start --name "$1" --kernel "$FAKE" --no-modules --disk "$T/$1.img" \
			--cpu-affinity none --ready=mconsole --wait --timeout 30 >"$T/$1.out" 2>&1
}
test_expect_success 'start --wait: a guest ready at once is reported ready, every time' '
	bad=0 &&
	for round in 1 2 3 4; do
		pids=() &&
		for i in 1 2 3 4; do
			wait_one "w$round$i" &
			pids+=($!)
		done &&
		for i in 1 2 3 4; do
			track "w$round$i"
			wait "${pids[$((i - 1))]}" || { bad=$((bad + 1)); cat "$T/w$round$i.out"; }
		done
	done &&
	for round in 1 2 3 4; do
		for i in 1 2 3 4; do "$UMLKIT" kill "w$round$i" >/dev/null 2>&1; done
	done &&
	test_is "$bad" 0
'

# ------------------------------------------------------------------------------ mconsole
test_expect_success 'mconsole --timeout 2: a reply of "more" for ever ends by the deadline' '
	serve "$T/more.sock" more &&
	timed timeout 60 "$UMLKIT" mconsole --timeout 2 "$T/more.sock" version &&
	test_is "$rc" 1 &&
	test_like "$err" "reply incomplete after 2000 ms" &&
	test "$ms" -le 6000
'

# ---------------------------------------------------------------------------------- stop
# stop_by NAME TIMEOUT: `umlkit stop --timeout TIMEOUT` returns 0 within TIMEOUT + 2 s and
# leaves no kernel
stop_by() {
	local k
	k=$(kernel_of "$1") &&
		timed timeout 120 "$UMLKIT" stop "$1" --timeout "$2" &&
		test_is "$rc" 0 &&
		test "$ms" -le $(($2 * 1000 + 2000)) &&
		until_true 5 gone "$k" &&
		untrack_if_gone "$1"
}

test_expect_success 'stop --timeout 4: an mconsole that never answers, SIGTERM ignored' '
	fake s1 fakeuml.mconsole=silent fakeuml.term=ignore &&
	stop_by s1 4 &&
	test_is "$(state_of s1)" exited
'

test_expect_success 'stop --timeout 4: an mconsole whose replies never end, SIGTERM ignored' '
	fake s2 fakeuml.mconsole=more fakeuml.term=ignore &&
	stop_by s2 4 &&
	test_is "$(state_of s2)" exited
'

test_expect_success 'stop: a guest that answers is still stopped cleanly' '
	fake s3 &&
	stop_by s3 10 &&
	test_is "$(state_of s3)" stopped
'

# ------------------------------------------------------------------------- a script kernel
# A jailed kernel's root holds the kernel and its libraries, no interpreter: a kernel that is a
# script is refused before anything is made; --no-jail runs it.
printf '#!/bin/sh\nunset LD_PRELOAD\nexec "%s" "$@"\n' "$FAKE" >"$T/script-kernel"
chmod +x "$T/script-kernel"
test_expect_success 'start: a script kernel in the jail is refused (exit 1), naming it' '
	truncate -s 1M "$T/sk.img" &&
	run "$UMLKIT" start --name sk --kernel "$T/script-kernel" --no-modules --disk "$T/sk.img" \
		--cpu-affinity none --ready=mconsole --wait --timeout 30 &&
	track sk &&
	test_is "$rc" 1 &&
	test_like "$err" "kernel $T/script-kernel: a script .*--no-jail" &&
	test_path_is_missing "$STATE/sk"
'
test_expect_success 'start --no-jail: the script kernel runs' '
	"$UMLKIT" start --no-jail --name sk --kernel "$T/script-kernel" --no-modules \
		--disk "$T/sk.img" --cpu-affinity none --ready=mconsole &&
	track sk &&
	until_true 30 running sk &&
	stop_by sk 10
'

# ------------------------------------------------------------------------------- console
# attach NAME: `umlkit console NAME` in the background, reading a fifo held open (as a
# terminal stays open), its output in $T/NAME.out; $cpid its pid, once it is attached. The
# probe that tells (a second client is refused while one is attached) may come first and be
# the one attached for an instant: then the client was refused, and is started again.
attach() {
	local try
	rm -f "$T/$1.in" && mkfifo "$T/$1.in" && exec 7<>"$T/$1.in" || return 1
	for try in 1 2 3 4 5; do
		"$UMLKIT" console "$1" <"$T/$1.in" >"$T/$1.out" 2>"$T/$1.err" &
		cpid=$!
		UK_PIDS+=("$cpid")
		until_true 10 attached_or_gone "$1" && pid_alive "$cpid" && return 0
		echo "attach $1: try $try: $(cat "$T/$1.err")"
	done
	return 1
}
attached() { "$UMLKIT" console "$1" </dev/null 2>&1 | grep -q "another client"; }
attached_or_gone() { ! pid_alive "$cpid" || attached "$1"; }
log_has() { grep -q -- "$2" "$STATE/$1/console.log"; }

test_expect_success 'console: a client that stops reading stalls neither log nor guest' '
	fake c1 fakeuml.flood=40000 &&
	attach c1 &&
	kill -STOP "$cpid" &&
	run timeout 30 "$UMLKIT" mconsole c1 flood &&
	test_is "$rc" 0 &&
	until_true 60 log_has c1 "fakeuml: flood done" &&
	test_is "$(state_of c1)" running &&
	run timeout 30 "$UMLKIT" mconsole c1 say still-here &&
	test_is "$rc" 0 &&
	until_true 10 log_has c1 still-here &&
	test_set_prereq STALLED
'

test_expect_success STALLED 'console: the stalled client is told why once it reads again' '
	kill -CONT "$cpid" &&
	until_true 30 gone "$cpid" &&
	forget_pid "$cpid" &&
	test_like "$(tail -c 300 "$T/c1.out")" "console detached: this client fell behind" &&
	exec 7>&-
'

test_expect_success STALLED 'console: a new client attaches, and the guest stops cleanly' '
	attach c1 &&
	kill "$cpid" &&
	until_true 10 gone "$cpid" &&
	forget_pid "$cpid" &&
	exec 7>&- &&
	stop_by c1 10 &&
	test_is "$(state_of c1)" stopped
'

# ------------------------------------------------------------------------------ escaping
# raw_log NAME: logs --raw; a sanitizer build's fake kernel, jailed without /proc, begins its
# console with its runtime's note that it cannot read /proc/self/exe, not the guest's bytes
raw_log() {
	if [ "${SANITIZE:-0}" = 1 ]; then
		"$UMLKIT" logs --raw "$1" | grep -av "^==[0-9]*==WARNING: reading executable name failed"
	else
		"$UMLKIT" logs --raw "$1"
	fi
}
test_expect_success 'mconsole: escape sequences in a reply are shown escaped' '
	serve "$T/esc.sock" answer FAKEUML_REPLY="$NASTY" &&
	run "$UMLKIT" mconsole "$T/esc.sock" version &&
	test_is "$rc" 0 &&
	test_is "$out" "$NASTY_SHOWN" &&
	run uml_mconsole "$T/esc.sock" version &&
	test_is "$out" "OK $NASTY_SHOWN" &&
	test_unlike "$out" "$ESC"
'

test_expect_success 'logs: control characters escaped; --raw gives the bytes' '
	printf "%s\r\nplain line\n" "$NASTY" >"$T/nasty.txt" &&
	fake e1 "fakeuml.console=$(od -An -v -tx1 "$T/nasty.txt" | tr -d " \n")" &&
	until_true 10 log_has e1 "plain line" &&
	run "$UMLKIT" logs e1 &&
	test_is "$rc" 0 &&
	test_unlike "$out" "$ESC" &&
	test_like "$out" "^title\\\\x1b\\]0;owned\\\\x07\\\\x1b\\[2J\\\\xc2\\\\x9bm" &&
	test_like "$out" "^plain line" &&
	raw_log e1 >"$T/raw.txt" &&
	test_cmp "$T/nasty.txt" "$T/raw.txt"
'

test_expect_success 'console piped: what the guest writes comes escaped' '
	attach e1 &&
	run timeout 30 "$UMLKIT" mconsole e1 "say $NASTY" &&
	test_is "$rc" 0 &&
	until_true 10 grep -q "title" "$T/e1.out" &&
	kill "$cpid" &&
	until_true 10 gone "$cpid" &&
	forget_pid "$cpid" &&
	exec 7>&- &&
	test_unlike "$(cat "$T/e1.out")" "$ESC" &&
	grep -qF "$NASTY_SHOWN" "$T/e1.out"
'

test_expect_success 'status: a panic message with escape sequences is shown escaped' '
	run timeout 30 "$UMLKIT" mconsole e1 "say Kernel panic - not syncing: $NASTY" &&
	until_true 10 log_has e1 "Kernel panic" &&
	test_might_fail timeout 30 "$UMLKIT" mconsole --timeout 2 e1 "die 1" &&
	until_true 20 test_panicked e1 &&
	untrack_if_gone e1 &&
	run "$UMLKIT" status e1 &&
	test_unlike "$out" "$ESC" &&
	test_like "$out" "panicked.*owned" &&
	run "$UMLKIT" list &&
	test_unlike "$out" "$ESC" &&
	test_like "$out" "owned"
'
test_done
