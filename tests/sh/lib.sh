# shellcheck shell=bash
# The test library of umlkit's shell tests, in the style of git's t/test-lib.sh. Source it
# first:  . "$(dirname "$0")/lib.sh"   and end the file with  test_done
#
# A test is a block:
#   test_expect_success [PREREQ[,PREREQ...]] 'what it shows' '
#       run "$UMLKIT" status web &&
#       test_is "$rc" 0 &&
#       test_like "$out" "^web: running"
#   '
# The body is a string evaluated in the test script's own shell (variables it sets are seen
# by later blocks), so chain its commands with && and quote it with single quotes. One block is
# one TAP test point. Its stdout and stderr go to a log that is shown (as # lines) only when
# it fails, together with the body.
#
#   test_expect_success [P] TITLE BODY   a test point; passes when BODY returns 0
#   test_expect_failure [P] TITLE BODY   a known breakage: reported as TODO
#   test_when_finished 'CMD'             inside a body: run CMD after the block, pass or fail
#   test_must_fail CMD...                CMD exits 1..125; success, 126/127 (not run) and a
#                                        signal (128+N) are failures
#   test_expect_code N CMD...            CMD exits exactly N
#   test_might_fail CMD...               CMD may exit 0 or fail (not crash)
#   test_is GOT WANT / test_isnt GOT NOT  string (in)equality, a diff in the log when not
#   test_like TEXT ERE / test_unlike      grep -E on TEXT, the text in the log when not
#   test_cmp WANT-FILE GOT-FILE          files equal (diff -u in the log)
#   test_path_is_file / _is_dir / _is_missing PATH
#   json FILTER [TEXT]                   jq -r FILTER on TEXT (default: $out)
#   run CMD...                           runs CMD: $rc, $out, $err (stdout, stderr text)
#
# Prerequisites (git's): a block names them before its title and is skipped, with the reason,
# when one is missing. `test_set_prereq NAME` (typically at the end of a setup block: a failed
# setup then skips what depends on it with one line each, and no cascade of failures);
# `test_lazy_prereq NAME 'SCRIPT'`: an environment check run once on first use (root, another
# user reaching the build, a kernel). A missing environment prerequisite is a failure, once,
# when UK_TESTS_MUST_RUN=1 (as .ci/run sets); a prerequisite missing because its setup failed
# only skips (the setup already failed). `!NAME` asks for NAME to be missing.
#
#   test_skip_all REASON    the whole file skipped (1..0 # SKIP; a failure with MUST_RUN)
#   test_done               the plan line; exit 1 when a test failed
#
# Fixtures: $T (a private temporary directory, removed at exit after every tracked pid is
# killed), $UMLKIT, $UML (the kernel), track NAME, forget_pid PID, guest_image, boot_guest,
# pid_alive, wait_gone, until_true, sum_of, stage_for_others, untrack, untrack_if_gone. Run one file alone:
#   make test-build && tests/sh/guest.t          (-v: every body's output as it runs)
#   tests/sh/guest.t --run=3,7-9                 (only those blocks; setups they need too)
set -u
UK_BUILD=${UK_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
UMLKIT="$UK_BUILD/umlkit"
PATH="$UK_BUILD:$PATH" # our compatibility names (uml_moo, uml_mkcow) come first
OLD_UML_MOO=/usr/bin/uml_moo
OLD_UML_MKCOW=/usr/bin/uml_mkcow
UK_T_N=0
UK_T_FAIL=0
UK_T_SKIP=0
UK_PIDS=()
UK_GROUPS=()
UK_VERBOSE=0
UK_RUN=
for _uk_a in "$@"; do
	case $_uk_a in
	-v | --verbose) UK_VERBOSE=1 ;;
	--run=*) UK_RUN=${_uk_a#--run=} ;;
	esac
done
unset _uk_a
T=$(mktemp -d "${TMPDIR:-/tmp}/uktest.XXXXXX")

# _uk_starttime PID: the process's start time in clock ticks (field 22 of /proc/PID/stat),
# empty when it is gone: with the pid it names one process, never a later one given that pid
_uk_starttime() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
declare -A UK_START=() # pid or pgid tracked by `track` -> its start time then
_uk_same() { [ -z "${UK_START[$1]+x}" ] || [ "$(_uk_starttime "$1")" = "${UK_START[$1]}" ]; }
# a process group outlives its leader, and its id is not given to a new process while it
# has members: signal it unless its id now names another process
_uk_same_group() {
	local now
	now=$(_uk_starttime "$1")
	[ -z "$now" ] || [ -z "${UK_START[$1]+x}" ] || [ "$now" = "${UK_START[$1]}" ]
}
_uk_cleanup() {
	local p g
	for g in "${UK_GROUPS[@]}"; do _uk_same_group "$g" && kill -KILL -- "-$g" 2>/dev/null; done
	for p in "${UK_PIDS[@]}"; do
		_uk_same "$p" || continue
		# a UML kernel's helpers are its children; killing only the kernel orphans them
		# (and they keep its disks locked)
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap _uk_cleanup EXIT
trap 'exit 130' INT TERM

# forget_pid PID: drop a pid the test has reaped from UK_PIDS, so that the exit trap never
# signals whatever process is given that pid next
forget_pid() {
	local p keep=()
	for p in "${UK_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	UK_PIDS=("${keep[@]}")
}

# track NAME: the guest's supervisor and its kernel's process group (as `umlkit status`
# reports them) are killed at exit if the test did not end them; each is remembered with its
# start time, so a guest stopped earlier never costs a process that took its pid since.
# untrack NAME drops what track NAME added (once the test has seen the guest end);
# untrack_if_gone NAME does so once none of its processes is left.
declare -A UK_TRACKED_PIDS=() UK_TRACKED_GROUPS=()
track() {
	local s p
	s=$("$UMLKIT" status "$1" --output=json 2>/dev/null)
	p=$(json '.supervisor_pid // empty' "$s" 2>/dev/null)
	if [ -n "$p" ] && [ "$p" != 0 ]; then
		UK_PIDS+=("$p")
		UK_START[$p]=$(_uk_starttime "$p")
		UK_TRACKED_PIDS[$1]="${UK_TRACKED_PIDS[$1]:-} $p"
	fi
	p=$(json '.pid // empty' "$s" 2>/dev/null)
	if [ -n "$p" ] && [ "$p" != 0 ]; then
		UK_GROUPS+=("$p")
		UK_START[$p]=$(_uk_starttime "$p")
		UK_TRACKED_GROUPS[$1]="${UK_TRACKED_GROUPS[$1]:-} $p"
	fi
	return 0
}
untrack() {
	local p g keep=()
	for p in ${UK_TRACKED_PIDS[$1]:-}; do forget_pid "$p"; done
	for g in "${UK_GROUPS[@]}"; do
		case " ${UK_TRACKED_GROUPS[$1]:-} " in *" $g "*) ;; *) keep+=("$g") ;; esac
	done
	UK_GROUPS=("${keep[@]}")
	unset "UK_TRACKED_PIDS[$1]" "UK_TRACKED_GROUPS[$1]"
}
untrack_if_gone() {
	local p g
	for p in ${UK_TRACKED_PIDS[$1]:-}; do pid_alive "$p" && return 0; done
	for g in ${UK_TRACKED_GROUPS[$1]:-}; do pgrep -g "$g" >/dev/null && return 0; done
	untrack "$1"
}

diag() { printf '# %s\n' "$*" | sed '2,$s/^/# /'; }

# ---------------------------------------------------------------- prerequisites
declare -A UK_PREREQ=()   # NAME -> 1 satisfied, 0 missing
declare -A UK_LAZY=()     # NAME -> the script that decides it (environment prerequisites)
declare -A UK_LAZY_FAILED=() # NAME -> 1 once its MUST_RUN failure was reported
test_set_prereq() { UK_PREREQ[$1]=1; }
test_lazy_prereq() { UK_LAZY[$1]=$2; }
test_have_prereq() { # test_have_prereq P[,P...]: all satisfied (a !P: P missing)
	local p name neg IFS=,
	for p in $1; do
		name=${p#!}
		neg=$([ "$name" != "$p" ] && echo 1)
		if [ -z "${UK_PREREQ[$name]+x}" ] && [ -n "${UK_LAZY[$name]+x}" ]; then
			if (eval "${UK_LAZY[$name]}") >/dev/null 2>&1; then
				UK_PREREQ[$name]=1
			else
				UK_PREREQ[$name]=0
			fi
		fi
		if [ "${UK_PREREQ[$name]:-0}" = 1 ]; then
			[ -z "$neg" ] || { UK_MISSING=$p; return 1; }
		else
			[ -n "$neg" ] || { UK_MISSING=$p; return 1; }
		fi
	done
	return 0
}

# ---------------------------------------------------------------- test points
_uk_point() { # _uk_point ok|fail|skip|todo TITLE [REASON]
	UK_T_N=$((UK_T_N + 1))
	case $1 in
	ok) echo "ok $UK_T_N - $2" ;;
	fail)
		echo "not ok $UK_T_N - $2"
		UK_T_FAIL=$((UK_T_FAIL + 1))
		;;
	skip)
		echo "ok $UK_T_N # skip $2 ($3)"
		UK_T_SKIP=$((UK_T_SKIP + 1))
		;;
	todo) echo "not ok $UK_T_N - $2 # TODO known breakage" ;;
	fixed) echo "ok $UK_T_N - $2 # TODO known breakage vanished" ;;
	esac
}

# _uk_selected: is the next block one that --run= asks for (all when it is empty)
_uk_selected() {
	local n=$((UK_T_N + 1)) r IFS=,
	[ -z "$UK_RUN" ] && return 0
	for r in $UK_RUN; do
		case $r in
		*-*) [ "$n" -ge "${r%-*}" ] && [ "$n" -le "${r#*-}" ] && return 0 ;;
		*) [ "$n" = "$r" ] && return 0 ;;
		esac
	done
	return 1
}

UK_FINISHED=
test_when_finished() { UK_FINISHED="$1 || true; $UK_FINISHED"; }

# _uk_eval BODY: run a body with its output in $T/.log (or on stderr with -v); its status.
# Every local here and in _uk_expect is _uk_-prefixed: a body's assignments must reach the
# script's globals, not a local of the caller that happens to share its name. The body runs
# in a function of its own, so a `return` in it ends the body (test_when_finished still runs),
# and without set -u, so an unset variable fails its block instead of ending the script.
_uk_body() {
	set +u
	eval "$1"
}
_uk_eval() {
	local _uk_st
	UK_FINISHED= UK_LAST_RUN=
	if [ "$UK_VERBOSE" = 1 ]; then
		_uk_body "$1" >&2
	else
		_uk_body "$1" >"$T/.log" 2>&1 </dev/null
	fi
	_uk_st=$?
	set -u
	if [ -n "$UK_FINISHED" ]; then
		eval "$UK_FINISHED" >>"$T/.log" 2>&1 </dev/null
		UK_FINISHED=
	fi
	return $_uk_st
}

_uk_show_failure() { # the body and the end of what it printed, as diagnostics
	diag "failed: $1"
	printf '%s\n' "$2" | sed 's/^/#    /'
	[ -s "$T/.log" ] && tail -n 40 "$T/.log" | sed 's/^/#  > /'
	# what `run` last caught: a failed test_is on "$rc" shows only the number otherwise
	[ -n "${UK_LAST_RUN-}" ] && {
		diag "last run: $UK_LAST_RUN (status $rc)"
		[ -s "$T/.stderr" ] && tail -n 20 "$T/.stderr" | sed 's/^/#  2> /'
	}
	return 0
}

# _uk_expect KIND [PREREQ] TITLE BODY
_uk_expect() {
	local _uk_kind=$1 _uk_prereq= _uk_name
	shift
	[ $# = 3 ] && { _uk_prereq=$1; shift; }
	if [ $# != 2 ]; then
		echo "lib.sh: bug in the test script: test_expect_$_uk_kind needs [PREREQ] TITLE BODY" >&2
		exit 99
	fi
	if ! _uk_selected; then
		_uk_point skip "$1" "not in --run"
		return 0
	fi
	if [ -n "$_uk_prereq" ] && ! test_have_prereq "$_uk_prereq"; then
		_uk_name=${UK_MISSING#!}
		if [ "${UK_TESTS_MUST_RUN:-0}" = 1 ] && [ -n "${UK_LAZY[$_uk_name]+x}" ] &&
			[ -z "${UK_LAZY_FAILED[$_uk_name]+x}" ]; then
			UK_LAZY_FAILED[$_uk_name]=1
			_uk_point fail "$1: prerequisite $UK_MISSING missing and UK_TESTS_MUST_RUN=1"
			diag "$_uk_name: ${UK_LAZY[$_uk_name]}"
		else
			_uk_point skip "$1" "missing $UK_MISSING"
		fi
		return 0
	fi
	if _uk_eval "$2"; then
		if [ "$_uk_kind" = failure ]; then _uk_point fixed "$1"; else _uk_point ok "$1"; fi
	elif [ "$_uk_kind" = failure ]; then
		_uk_point todo "$1"
	else
		_uk_point fail "$1"
		_uk_show_failure "$1" "$2"
	fi
	return 0
}
test_expect_success() { _uk_expect success "$@"; }
test_expect_failure() { _uk_expect failure "$@"; }

test_skip_all() {
	if [ "${UK_TESTS_MUST_RUN:-0}" = 1 ]; then
		echo "1..1"
		echo "not ok 1 - skipped but UK_TESTS_MUST_RUN=1: $*"
		exit 1
	fi
	echo "1..0 # SKIP $*"
	exit 0
}
# test_need_guests: the file boots guests: umlkit built, a UML kernel, and a $T that ubd=
# can name (no ',' or ':', which the kernel splits on)
test_need_guests() {
	[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT (make)"
	[ -n "$UML" ] && [ -x "$UML" ] || test_skip_all "no UML kernel (install user-mode-linux)"
	case "$T" in *,* | *:*) test_skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;; esac
}
# kill_supervisor NAME: SIGKILL the guest's supervisor (its pid left in $sup) and wait (10 s)
# until it is gone and `umlkit status` says the guest is lost (5 s)
# privsep_helper SPID: the helper of a --user guest's supervisor SPID (its child that stays
# root, in a process group of its own); prints nothing when it has none
privsep_helper() {
	local p
	for p in $(pgrep -P "$1"); do
		if test "$(awk "/^Uid:/ {print \$2}" "/proc/$p/status" 2>/dev/null)" = 0 &&
			test "$(pgrep -g "$p" | head -1)" = "$p"; then
			echo "$p"
		fi
	done
}
kill_supervisor() {
	sup=$(json .supervisor_pid "$("$UMLKIT" status "$1" --output=json)") &&
		[[ $sup =~ ^[0-9]+$ ]] && kill -KILL "$sup" && wait_gone "$sup" 10 || return 1
	forget_pid "$sup"
	until_true 5 sh -c '"$1" status "$2" | grep -q lost' sh "$UMLKIT" "$1"
}
test_need_cmd() { command -v "$1" >/dev/null 2>&1 || test_skip_all "${2:-$1 not installed}"; }

test_done() {
	echo "1..$UK_T_N"
	[ "$UK_T_FAIL" = 0 ] || diag "failed $UK_T_FAIL of $UK_T_N test(s)"
	[ "$UK_T_FAIL" = 0 ] && exit 0
	exit 1
}

# ---------------------------------------------------------------- assertions for bodies
# test_must_fail CMD...: CMD ran and failed in an ordinary way (exit 1..125)
test_must_fail() {
	"$@"
	local st=$?
	if [ $st = 0 ]; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	elif [ $st -gt 128 ] && [ $st -le 192 ]; then
		echo "test_must_fail: '$*' died of signal $((st - 128))" >&2
		return 1
	elif [ $st = 126 ] || [ $st = 127 ]; then
		echo "test_must_fail: '$*' could not be run (exit $st)" >&2
		return 1
	fi
	return 0
}
test_might_fail() {
	"$@"
	local st=$?
	if [ $st -gt 128 ] && [ $st -le 192 ] || [ $st = 126 ] || [ $st = 127 ]; then
		echo "test_might_fail: '$*' exited $st" >&2
		return 1
	fi
	return 0
}
test_expect_code() { # test_expect_code N CMD...
	local want=$1
	shift
	"$@"
	local st=$?
	[ $st = "$want" ] && return 0
	echo "test_expect_code: '$*' exited $st, want $want" >&2
	return 1
}
test_is() {
	[ "$1" = "$2" ] && return 0
	printf 'test_is: got:  %s\n         want: %s\n' "'$1'" "'$2'" >&2
	return 1
}
test_isnt() {
	[ "$1" != "$2" ] && return 0
	printf 'test_isnt: got %s, which it must not be\n' "'$1'" >&2
	return 1
}
test_like() {
	printf '%s' "$1" | grep -Eq -- "$2" && return 0
	printf 'test_like: no match for %s in:\n%s\n' "'$2'" "$1" >&2
	return 1
}
test_unlike() {
	printf '%s' "$1" | grep -Eq -- "$2" || return 0
	printf 'test_unlike: %s matches in:\n%s\n' "'$2'" "$1" >&2
	return 1
}
test_cmp() { diff -u -- "$1" "$2" >&2; }
test_path_is_file() { [ -f "$1" ] || { echo "not a file: $1" >&2; return 1; }; }
test_path_is_dir() { [ -d "$1" ] || { echo "not a directory: $1" >&2; return 1; }; }
test_path_is_missing() {
	[ -e "$1" ] || [ -L "$1" ] || return 0
	echo "exists: $1" >&2
	return 1
}
# json FILTER [TEXT]: jq -r FILTER over TEXT (default $out); fails on text that is not JSON
json() { printf '%s' "${2-$out}" | jq -r "$1"; }

run() { # run CMD... -> $rc, $out, $err
	UK_LAST_RUN="$*"
	out=$("$@" 2>"$T/.stderr")
	rc=$?
	err=$(cat "$T/.stderr")
	return 0
}

pid_alive() { # alive and not a zombie
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}
wait_gone() { # wait_gone PID SECONDS -> 0 once gone
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		pid_alive "$1" || return 0
		sleep 0.1
	done
	return 1
}
until_true() { # until_true SECONDS CMD...: poll CMD every 0.1 s, at most SECONDS
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		"${@:2}" && return 0
		sleep 0.1
	done
	return 1
}

# sha256 of a file's bytes
sum_of() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------- environment prerequisites
# (the checks more than one file needs; a file keeps its own others)
test_lazy_prereq ROOT '[ "$(id -u)" = 0 ]'
test_lazy_prereq UML '[ -n "$UML" ] && [ -x "$UML" ]'
test_lazy_prereq NOBODY '[ "$(id -u)" = 0 ] && command -v setpriv && id nobody'
test_lazy_prereq AGENT_BUILT '[ -x "$UK_BUILD/umlkit-agent" ]'
test_lazy_prereq BUSYBOX '[ -x /bin/busybox ] || command -v busybox' # busybox-static
test_lazy_prereq DEBUGFS 'PATH=$PATH:/usr/sbin:/sbin command -v debugfs' # e2fsprogs
test_lazy_prereq IPROUTE 'command -v ip'
test_lazy_prereq NFT 'command -v nft'
test_lazy_prereq JQ 'command -v jq'
test_lazy_prereq CURL 'command -v curl'
# stage_for_others: tests that run something as another user (nobody) need it to reach the
# umlkit binary and the xstate shim; a checkout in a 0700 home directory is out of its reach.
# Copies the build's binary, its old names and the shim into $T/stage (and opens $T for
# passage), and points UMLKIT there when nobody cannot reach the build. Fails with a message
# when not even the staged copy is reachable.
stage_for_others() {
	chmod 0711 "$T" || return 1
	if setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$UMLKIT" 2>/dev/null; then
		return 0
	fi
	local s="$T/stage" n
	mkdir -p "$s" && chmod 0755 "$s" || return 1
	cp "$UK_BUILD/umlkit" "$s/" || return 1
	[ -f "$UK_BUILD/umlkit-xstate.so" ] && cp "$UK_BUILD/umlkit-xstate.so" "$s/"
	for n in uml_moo uml_mkcow uml_mconsole uml_switch tunctl; do ln -sf umlkit "$s/$n"; done
	UMLKIT="$s/umlkit"
	PATH="$s:$PATH"
	setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$UMLKIT" 2>/dev/null && return 0
	echo "stage_for_others: nobody cannot reach $s (is ${TMPDIR:-/tmp} closed to others?)" >&2
	return 1
}

# ---------------------------------------------------------------- real guests
UML=${UMLKIT_KERNEL:-$(command -v linux.uml || command -v linux || true)}
# Kernels a test starts by hand get umlkit's xstate shim (include/umlkit/xstate.h), which
# `umlkit start` preloads where the host needs it; where it is not needed it changes nothing.
# Set it on the kernel's command only: an ASan-built umlkit refuses a preload of its own.
# They also run under `setarch -R`, as umlkit runs its kernels (no address randomization:
# else the 6.1 kernel loses up to 18 MiB of a mem=64M to the randomized gap before its
# heap, and sometimes cannot open its root disk; see lib/guest/preload.c).
UML_PRELOAD=
[ -f "$UK_BUILD/umlkit-xstate.so" ] && UML_PRELOAD=$UK_BUILD/umlkit-xstate.so

# guest_image OUT.img [SIZE] : a busybox ext4 image whose /init runs the shell script on the
# second disk (/dev/ubdb) when there is one, then powers off (see scripts/mkimage).
guest_image() {
	"$(dirname "${BASH_SOURCE[0]}")/../../scripts/mkimage" "$1" "${2:-32M}" >/dev/null
}

# boot_guest LOG ARGS... : run the kernel in the foreground with a private uml_dir, console
# on stdio, bounded by UK_BOOT_TIMEOUT (default 120 s). Returns the kernel's status.
boot_guest() {
	local log=$1
	shift
	mkdir -p "$T/uml"
	LD_PRELOAD=$UML_PRELOAD timeout -k 5 "${UK_BOOT_TIMEOUT:-120}" setarch -R "$UML" mem=64M uml_dir="$T/uml" con=null \
		con0=fd:0,fd:1 "$@" </dev/null >"$log" 2>&1
}
