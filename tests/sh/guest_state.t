#!/bin/bash
# guest_state.t: a guest's state directory handled as untrusted, and starts that race (issue 22).
#  - a `uml` symlink in a state directory is never followed: stop and start remove the link,
#    never the directory it names (a kernel-directory-shaped scratch directory here);
#  - a state directory that is a symlink, or that another user owns or can write, and a
#    runtime directory another user owns (root under `sudo -E`) are refused with a message
#    naming the directory, exit 1, and nothing is written or removed through them;
#  - two `umlkit start` of one name at once, six pairs, with and without --user nobody: each
#    time exactly one wins, the loser says "already running" (once: no doubled prefix), the
#    winner answers mconsole and stops cleanly (a powered-off kernel, exit status 0), and no
#    kernel directory is left in $TMPDIR;
#  - two guests of different names started a moment apart on one COW: the second is refused
#    ("in use") before it boots, the first runs; no kernel panics;
#  - without $XDG_RUNTIME_DIR the state lives in ~/.umlkit/run/guests, and mconsole and stop
#    find the guest there.
# Run: make && flock /tmp/umlkit-nettests.lock bash tests/sh/guest_state.t [-v]
. "$(dirname "$0")/lib.sh"
test_need_guests

export XDG_RUNTIME_DIR="$T/run" UMLKIT_CACHE_DIR="$T/cache" TMPDIR="$T/tmp"
mkdir -p "$XDG_RUNTIME_DIR" "$TMPDIR"
chmod 1777 "$TMPDIR"
STATE=$XDG_RUNTIME_DIR/umlkit/guests

# bb NAME [OPTIONS]: start NAME on its own COW of the default image (it sends the ready notice)
bb() {
	local n=$1
	shift
	"$UMLKIT" start --name "$n" --mem 64M --disk "$T/$n.cow,$T/bb.img" "$@"
}
state_of() { "$UMLKIT" status "$1" --output=json 2>/dev/null | jq -r .state; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }
names() { "$UMLKIT" list --output=json | jq -r '.[].name' | tr '\n' ' '; }
# victim DIR: a directory shaped like a kernel directory (root's, 0755, umlkit.XXXXXX), with
# a file in it
victim() { mkdir -p "$1" && chmod 0755 "$1" && echo keep >"$1/file"; }
# stopped_state NAME: a state directory that says its guest stopped
stopped_state() { mkdir -p "$STATE/$1" && printf 'state=stopped\nsupervisor=0\nkernel=0\n' >"$STATE/$1/status"; }
# powered_off NAME: the guest's last run ended as a poweroff from inside (a clean stop), not
# by a signal
powered_off() {
	local s
	s=$("$UMLKIT" status "$1" --output=json) &&
		test_is "$(json '"\(.state) \(.exit_status) \(.exit_signal)"' "$s")" "stopped 0 null" && return 0
	# why not: the status and the kernel's last words
	printf '%s\n' "${s:-}" >&2
	tail -n 60 "$STATE/$1/console.log" >&2
	return 1
}

test_expect_success UML 'setup: the default image, readable by nobody' '
	"$UMLKIT" image build --size 48M "$T/bb.img" >/dev/null &&
	chmod 0644 "$T/bb.img" &&
	test_set_prereq IMAGE
'

# ---------------------------------------------------------------- symlinks
test_expect_success 'stop follows no uml symlink out of the state directory' '
	victim "$T/umlkit.victim" &&
	stopped_state ln &&
	ln -s "$T/umlkit.victim/uml" "$STATE/ln/uml" &&
	run "$UMLKIT" stop ln &&
	test_is "$rc" 0 &&
	test_is "$(cat "$T/umlkit.victim/file")" keep &&
	test_path_is_missing "$STATE/ln/uml"
'

test_expect_success IMAGE 'start follows no uml symlink out of the state directory' '
	victim "$T/umlkit.victi2" &&
	stopped_state ln2 &&
	ln -s "$T/umlkit.victi2/uml" "$STATE/ln2/uml" &&
	run bb ln2 --wait --timeout 90 &&
	track ln2 &&
	test_is "$rc" 0 &&
	test_is "$(cat "$T/umlkit.victi2/file")" keep &&
	run "$UMLKIT" stop ln2 &&
	test_is "$rc" 0 &&
	test_is "$(cat "$T/umlkit.victi2/file")" keep &&
	untrack_if_gone ln2
'

test_expect_success IMAGE 'a state directory that is a symlink is refused, nothing written there' '
	mkdir -p "$T/elsewhere" &&
	ln -s "$T/elsewhere" "$STATE/sl" &&
	test_when_finished "\"$UMLKIT\" kill sl >/dev/null 2>&1" &&
	run bb sl --wait --timeout 90 &&
	track sl &&
	test_is "$rc" 1 &&
	test_like "$err" "^umlkit: $STATE/sl: .*symlink" &&
	test_is "$(ls -A "$T/elsewhere")" "" &&
	test_path_is_missing "$T/sl.cow" &&
	run "$UMLKIT" stop sl &&
	test_is "$rc" 1 &&
	test_like "$err" "symlink" &&
	test_is "$(ls -A "$T/elsewhere")" ""
'

test_expect_success NOBODY,IMAGE "a state directory nobody owns or others can write is refused" '
	stopped_state theirs &&
	chown nobody "$STATE/theirs" &&
	test_when_finished "\"$UMLKIT\" kill theirs >/dev/null 2>&1; \"$UMLKIT\" kill open >/dev/null 2>&1" &&
	run bb theirs &&
	track theirs &&
	test_is "$rc" 1 &&
	test_like "$err" "^umlkit: $STATE/theirs: owned by uid $(id -u nobody), not" &&
	test_path_is_missing "$T/theirs.cow" &&
	test_is "$(ls -A "$STATE/theirs")" status &&
	stopped_state open &&
	chmod 0777 "$STATE/open" &&
	run bb open &&
	track open &&
	test_is "$rc" 1 &&
	test_like "$err" "^umlkit: $STATE/open: writable by its group or others" &&
	test_is "$(ls -A "$STATE/open")" status
'

# the report of issue 22: root under `sudo -E` keeps the user's XDG_RUNTIME_DIR
test_expect_success NOBODY 'root refuses a runtime directory another user owns (sudo -E)' '
	victim "$T/umlkit.victi3" &&
	u="$T/urun" &&
	mkdir -p "$u/umlkit/guests/g" &&
	printf "state=stopped\n" >"$u/umlkit/guests/g/status" &&
	ln -s "$T/umlkit.victi3/uml" "$u/umlkit/guests/g/uml" &&
	chown -R nobody "$u" &&
	run env XDG_RUNTIME_DIR="$u" "$UMLKIT" stop g &&
	test_is "$rc" 1 &&
	test_like "$err" "^umlkit: $u: owned by uid $(id -u nobody), not by uid 0" &&
	test_is "$(cat "$T/umlkit.victi3/file")" keep &&
	test_is "$(readlink "$u/umlkit/guests/g/uml")" "$T/umlkit.victi3/uml"
'

# ---------------------------------------------------------------- races
# race NAME OPTIONS...: two `umlkit start --wait` of NAME at once; $rc1 $rc2, $err1 $err2
race() {
	local n=$1 p1 p2
	shift
	bb "$n" --wait --timeout 90 "$@" >/dev/null 2>"$T/$n.err1" &
	p1=$!
	bb "$n" --wait --timeout 90 "$@" >/dev/null 2>"$T/$n.err2" &
	p2=$!
	UK_PIDS+=("$p1" "$p2")
	wait "$p1"
	rc1=$?
	wait "$p2"
	rc2=$?
	forget_pid "$p1"
	forget_pid "$p2"
	err1=$(cat "$T/$n.err1") err2=$(cat "$T/$n.err2")
}
# one_won NAME: exactly one start won; the loser said "already running", once
one_won() {
	local lerr
	track "$1"
	case "$rc1$rc2" in
	01) lerr=$err2 ;;
	10) lerr=$err1 ;;
	*)
		echo "$1: exits $rc1 and $rc2, want one 0 and one 1: [$err1] [$err2]"
		return 1
		;;
	esac
	test_like "$lerr" "^umlkit: guest .$1. is already running" &&
		test_unlike "$lerr" "guest .$1.: guest .$1." &&
		test_is "$(printf "%s\n" "$lerr" | wc -l)" 1
}
# serves_and_stops NAME: mconsole answers, stop powers it off (no signals)
serves_and_stops() {
	run "$UMLKIT" mconsole "$1" version &&
		test_like "$rc|$out" "^0\|.*Linux" &&
		run "$UMLKIT" stop "$1" --timeout 60 &&
		test_is "$rc" 0 &&
		powered_off "$1" &&
		untrack_if_gone "$1"
}
# no_kernel_dirs NAME: no kernel directory is left in $TMPDIR, nor a link or record of one
no_kernel_dirs() {
	test_is "$(cd "$TMPDIR" && echo umlkit.*)" "umlkit.*" &&
		test_path_is_missing "$STATE/$1/uml" &&
		test_path_is_missing "$STATE/$1/kdir"
}

test_expect_success NOBODY,IMAGE 'setup: nobody reaches the disks and $TMPDIR' '
	stage_for_others &&
	test_set_prereq STAGED
'
test_expect_success STAGED 'two starts --user nobody at once, 6 times: one wins, one says so' '
	for i in 1 2 3 4 5 6; do
		race "u$i" --user nobody &&
			one_won "u$i" &&
			serves_and_stops "u$i" &&
			no_kernel_dirs "u$i" || return 1
	done
'

test_expect_success IMAGE 'two starts at once, 6 times: one wins, the loser says already running' '
	for i in 1 2 3 4 5 6; do
		race "r$i" &&
			one_won "r$i" &&
			serves_and_stops "r$i" || return 1
	done
'

test_expect_success IMAGE 'two guests on one COW a moment apart: the second is refused' '
	for i in 1 2 3; do
		run "$UMLKIT" start --name "a$i" --mem 64M --disk "$T/shared$i.cow,$T/bb.img" &&
			track "a$i" &&
			test_is "$rc" 0 &&
			run "$UMLKIT" start --name "b$i" --mem 64M --disk "$T/shared$i.cow,$T/bb.img" &&
			track "b$i" &&
			test_is "$rc" 1 &&
			test_like "$err" "^umlkit: $T/shared$i.cow: in use" &&
			until_true 90 state_is "a$i" running &&
			test_path_is_missing "$STATE/b$i" &&
			test_unlike "$(cat "$STATE/a$i/console.log")" "Unable to mount root" &&
			run "$UMLKIT" stop "a$i" &&
			powered_off "a$i" &&
			untrack_if_gone "a$i" || return 1
	done
'

test_expect_success IMAGE 'no $XDG_RUNTIME_DIR: a guest in ~/.umlkit/run answers mconsole, stops' '
	mkdir -p "$T/home" &&
	xdg=$XDG_RUNTIME_DIR home=$HOME &&
	test_when_finished "export XDG_RUNTIME_DIR=\"\$xdg\" HOME=\"\$home\"" &&
	unset XDG_RUNTIME_DIR &&
	export HOME="$T/home" &&
	run bb hm --wait &&
	track hm &&
	test_is "$rc" 0 &&
	test_path_is_file "$T/home/.umlkit/run/guests/hm/status" &&
	test_path_is_missing "$T/home/.umlkit/run/umlkit" &&
	run "$UMLKIT" mconsole hm version &&
	test_is "$rc" 0 &&
	test_like "$out" "Linux" &&
	run "$UMLKIT" stop hm &&
	test_is "$rc" 0 &&
	powered_off hm &&
	untrack_if_gone hm
'

test_done
