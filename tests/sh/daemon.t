#!/bin/bash
# daemon.t: what umlkit's daemons (a switch, uml_switch -daemon, a guest's supervisor) keep of
# the shell that started them: nothing. Each runs in "/", has stdin, stdout and stderr on
# /dev/null and no fd of its starter's (the test opens fd 7 on a file of its own, without
# CLOEXEC, before it starts each); relative paths given to them (a COW, its backing, a bess
# socket, uml_switch's -unix) still work from "/".
# Each runs under its seccomp allowlist once set up (Seccomp: 2 in /proc/PID/status); the
# guest's kernel does not (UML needs ptrace and, newer, seccomp of its own), also after a
# reboot inside the guest, when the supervisor's starter makes it. A process under either
# list that calls execve, fork, ptrace or socket(AF_PACKET) is killed with SIGSYS
# (tests/helpers/sandbox-probe).
# (uml_switch's output goes to a file: a daemon that kept the caller's stdout, as the old
# -daemon did, would hold a $(...) open for its whole life.)
# Run: make test-build && flock /tmp/umlkit-nettests.lock tests/sh/daemon.t [-v]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
test_need_guests

export UMLKIT_CACHE_DIR="$T/cache"
mkdir -p "$T/work"

# cwd_of PID: where the process runs
cwd_of() { readlink "/proc/$1/cwd"; }
# fd_targets PID: what each of its fds names, one a line ("N -> TARGET")
fd_targets() {
	local f
	for f in /proc/"$1"/fd/*; do
		printf '%s -> %s\n' "${f##*/}" "$(readlink "$f")"
	done
}
# filtered PID: under a seccomp filter
filtered() { grep -E '^Seccomp:[[:space:]]+2$' "/proc/$1/status"; }
seccomp_of() { awk '$1 == "Seccomp:" {print $2}' "/proc/$1/status"; }
ppid_of() { awk '$1 == "PPid:" {print $2}' "/proc/$1/status"; }
# rebooted_once NAME: status says one reboot, and running again
rebooted_once() {
	"$UMLKIT" status "$1" --output=json | jq -e '.reboots == 1 and .state == "running"' >/dev/null
}
PROBE="$UK_BUILD/tests/helpers/sandbox-probe"
test_lazy_prereq PROBE '[ -x "$PROBE" ]' # make test-build
# the kernel runs in ptrace mode (no seccomp of its own: $UMLKIT_SECCOMP unset or off)
test_lazy_prereq PTRACE_KERNEL '[ "${UMLKIT_SECCOMP:-off}" = off ]'

# ---------------------------------------------------------------- the allowlists
for who in switch supervisor; do
	test_expect_success PROBE "under the $who's list, its own calls go on" "
		run \"\$PROBE\" $who allowed &&
		test_is \"\$rc\" 0 &&
		test_is \"\$out\" alive
	"
	for call in execve fork ptrace socket-packet; do
		# a sanitizer build's lists allow fork and ptrace by design (its leak checker
		# needs them at exit): there the call returns, as the list says (after a
		# PTRACE_TRACEME the leak checker itself then fails at exit: not a SIGSYS)
		if [ "${SANITIZE:-}" = 1 ] && { [ "$call" = fork ] || [ "$call" = ptrace ]; }; then
			test_expect_success PROBE "under the $who's list of a sanitizer build, $call returns" "
				run \"\$PROBE\" $who $call &&
				test_isnt \"\$rc\" 159 &&
				test_like \"\$out\" \"^returned [0-9]+ \"
			"
			continue
		fi
		test_expect_success PROBE "under the $who's list, $call ends the process (SIGSYS)" "
			run \"\$PROBE\" $who $call &&
			test_is \"\$rc\" 159 &&
			test_unlike \"\$out\" returned
		"
	done
done
test_expect_success PROBE 'the switch may not open a netlink socket, the supervisor may' '
	run "$PROBE" switch socket-netlink &&
	test_is "$rc" 159 &&
	run "$PROBE" supervisor socket-netlink &&
	test_is "$rc" 3
'

# ---------------------------------------------------------------- the daemons
# keeps_nothing PID: cwd "/", fds 0-2 on /dev/null, none on $T/fd7 (the shell's fd 7)
keeps_nothing() {
	local t
	t=$(fd_targets "$1") && echo "$t" &&
		test_is "$(cwd_of "$1")" / &&
		test_unlike "$t" "$T/fd7" &&
		test_is "$(echo "$t" | grep -cE '^[012] -> /dev/null$')" 3
}

test_expect_success 'a switch started with fd 7 open keeps none of the shell'"'"'s fds' '
	exec 7>"$T/fd7" &&
	{ cd "$T/work" && sw_start dsw --bess dsw.bess; st=$?; cd "$T"; test "$st" = 0; } &&
	exec 7>&- &&
	test_is "$rc" 0 &&
	p=$(swpid dsw) && is_num "$p" &&
	keeps_nothing "$p" &&
	test_set_prereq DSW
'
test_expect_success DSW 'the switch made its relative bess socket where it was given' '
	test -S "$T/work/dsw.bess"
'
test_expect_success DSW 'the switch daemon runs under its seccomp filter' '
	filtered "$(swpid dsw)"
'
test_expect_success DSW 'and answers: ports, then stop ends it' '
	run "$UMLKIT" switch ports dsw --output=json &&
	test_is "$rc" 0 &&
	p=$(swpid dsw) &&
	sw_stop dsw &&
	test_is "$rc" 0 &&
	wait_gone "$p" 10
'

test_expect_success 'uml_switch -daemon keeps none of the shell'"'"'s fds, runs in /' '
	exec 7>"$T/fd7" &&
	{ cd "$T/work" && uml_switch -unix u.ctl -daemon >"$T/u.out" 2>"$T/u.err"; rc=$?; cd "$T"; } &&
	test_is "$rc" 0 &&
	exec 7>&- &&
	p=$(pgrep -f -n "uml_switch -unix u.ctl -daemon") && is_num "$p" &&
	UK_PIDS+=("$p") &&
	keeps_nothing "$p" &&
	filtered "$p" &&
	test -S "$T/work/u.ctl"
'

test_expect_success 'setup: the default image' '
	"$UMLKIT" image build --size 48M "$T/bb.img" >/dev/null &&
	test_set_prereq IMAGE
'

test_expect_success IMAGE 'a guest started with fd 7 open and relative disk paths boots' '
	exec 7>"$T/fd7" &&
	(cd "$T/work" && "$UMLKIT" start --name dg --mem 64M --disk "dg.cow,../bb.img" \
		--wait --timeout 90) &&
	exec 7>&- &&
	track dg &&
	test_set_prereq DG
'
test_expect_success DG 'its supervisor keeps none of the shell'"'"'s fds, runs in /' '
	sup=$(json .supervisor_pid "$("$UMLKIT" status dg --output=json)") && is_num "$sup" &&
	keeps_nothing "$sup"
'
test_expect_success DG 'its kernel has no fd of the shell'"'"'s either' '
	k=$(json .pid "$("$UMLKIT" status dg --output=json)") && is_num "$k" &&
	test_unlike "$(fd_targets "$k")" "$T/fd7"
'
test_expect_success DG 'the supervisor runs under its seccomp filter' '
	filtered "$sup"
'
test_expect_success DG,PTRACE_KERNEL 'its kernel does not' '
	test_is "$(seccomp_of "$k")" 0
'
test_expect_success DG 'exec and cp through the agent pass the supervisor' '
	run timeout 60 "$UMLKIT" exec dg -- echo hello &&
	test_is "$rc" 0 &&
	test_is "$out" hello &&
	echo data >"$T/data.txt" &&
	run timeout 60 "$UMLKIT" cp "$T/data.txt" dg:/root/ &&
	test_is "$rc" 0 &&
	run timeout 60 "$UMLKIT" exec dg -- cat /root/data.txt &&
	test_is "$out" data
'
test_expect_success DG 'a reboot inside: the new kernel is the supervisor'"'"'s child' '
	test_might_fail timeout 60 "$UMLKIT" exec dg -- sh -c "(sleep 1; reboot) >/dev/null 2>&1 &" &&
	until_true 90 rebooted_once dg &&
	track dg &&
	k2=$(json .pid "$("$UMLKIT" status dg --output=json)") && is_num "$k2" &&
	test_isnt "$k2" "$k" &&
	test_is "$(ppid_of "$k2")" "$sup" &&
	filtered "$sup"
'
test_expect_success DG,PTRACE_KERNEL 'and it is not under the supervisor'"'"'s filter' '
	test_is "$(seccomp_of "$k2")" 0
'
test_expect_success DG 'stop' '
	"$UMLKIT" stop dg --timeout 60 &&
	untrack_if_gone dg
'

test_done
