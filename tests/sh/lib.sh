# shellcheck shell=bash
# TAP helpers for umlkit shell tests. Source it first:  . "$(dirname "$0")/lib.sh"
#
#   plan N | done_testing      ok COND NAME | is GOT WANT NAME | like GOT REGEX NAME
#   run CMD...                 runs CMD, sets $rc $out $err (stdout/stderr text)
#   skip_all REASON            1..0 # SKIP (a failure when UK_TESTS_MUST_RUN=1)
#   need_cmd CMD REASON        skip_all unless CMD exists
#   tmpdir: $T (removed at exit, with every pid in $UK_PIDS killed first)
#   kernel: $UML (Debian's linux.uml), guest_image PATH, boot_guest ...
set -u
UK_BUILD=${UK_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
UMLKIT="$UK_BUILD/umlkit"
PATH="$UK_BUILD:$PATH"   # our compatibility names (uml_moo, uml_mkcow) come first
OLD_UML_MOO=/usr/bin/uml_moo
OLD_UML_MKCOW=/usr/bin/uml_mkcow
UK_T_N=0
UK_T_FAIL=0
UK_PIDS=()
T=$(mktemp -d "${TMPDIR:-/tmp}/uktest.XXXXXX")

UK_GROUPS=()
_uk_cleanup() {
	local p g
	for g in "${UK_GROUPS[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
	for p in "${UK_PIDS[@]}"; do
		# a UML kernel's helpers are its children; killing only the kernel orphans them
		# (and they keep its disks locked)
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap _uk_cleanup EXIT
# forget_pid PID: drop a pid the test has reaped from UK_PIDS, so that the exit trap never
# signals whatever process is given that pid next
forget_pid() {
	local p keep=()
	for p in "${UK_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	UK_PIDS=("${keep[@]}")
}

# track NAME: the guest's supervisor and its kernel's process group (as `umlkit status`
# reports them) are killed at exit if the test did not end them
track() {
	local s
	s=$("$UMLKIT" status "$1" --output=json 2>/dev/null)
	UK_PIDS+=($(printf '%s' "$s" | sed -n 's/.*"supervisor_pid": \([0-9]*\).*/\1/p'))
	UK_GROUPS+=($(printf '%s' "$s" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p'))
}
trap 'exit 130' INT TERM

plan() { echo "1..$1"; }
done_testing() {
	echo "1..$UK_T_N"
	[ "$UK_T_FAIL" = 0 ]
}
diag() { printf '# %s\n' "$*" | sed '2,$s/^/# /'; }

ok() { # ok CONDITION-STATUS NAME   (use: ok $? "name"  or  ok "$(test ...; echo $?)")
	local st=$1
	shift
	UK_T_N=$((UK_T_N + 1))
	if [ "$st" = 0 ]; then
		echo "ok $UK_T_N - $*"
	else
		echo "not ok $UK_T_N - $*"
		UK_T_FAIL=$((UK_T_FAIL + 1))
	fi
}
check() { # check NAME -- CMD... : pass when CMD succeeds
	local name=$1
	shift
	[ "$1" = -- ] && shift
	"$@" >/dev/null 2>&1
	ok $? "$name"
}
is() {
	if [ "$1" = "$2" ]; then ok 0 "$3"; else
		ok 1 "$3"
		diag "got:  '$1'" "want: '$2'"
	fi
}
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else
		ok 1 "$3"
		diag "got:  '$1'" "want match: '$2'"
	fi
}
unlike() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		diag "got:  '$1'" "want no match: '$2'"
	else ok 0 "$3"; fi
}
skip() { # skip REASON : one skipped test
	UK_T_N=$((UK_T_N + 1))
	if [ "${UK_TESTS_MUST_RUN:-0}" = 1 ]; then
		echo "not ok $UK_T_N - skipped but UK_TESTS_MUST_RUN=1: $*"
		UK_T_FAIL=$((UK_T_FAIL + 1))
	else
		echo "ok $UK_T_N # SKIP $*"
	fi
}
skip_all() {
	if [ "${UK_TESTS_MUST_RUN:-0}" = 1 ]; then
		echo "1..1"
		echo "not ok 1 - skipped but UK_TESTS_MUST_RUN=1: $*"
		exit 1
	fi
	echo "1..0 # SKIP $*"
	exit 0
}
need_cmd() { command -v "$1" >/dev/null 2>&1 || skip_all "${2:-$1 not installed}"; }

run() { # run CMD... -> $rc, $out, $err
	out=$("$@" 2>"$T/.stderr")
	rc=$?
	err=$(cat "$T/.stderr")
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

# sha256 of a file's bytes
sum_of() { sha256sum "$1" | cut -d' ' -f1; }

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
