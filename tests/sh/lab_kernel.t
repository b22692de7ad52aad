#!/bin/bash
# lab_kernel.t: a lab's machine on the kernel the tests run ($UMLKIT_KERNEL: Debian's 6.1 in
# make check, 7.2 from sid in make check-kernel), and lab start --seccomp, on the cached
# Debian test image of debian-lib.sh.
#  - A kernel with the seccomp mode (7.2): the machine's kernel gets seccomp=auto when neither
#    --seccomp nor $UMLKIT_SECCOMP says otherwise, seccomp=off with --seccomp off, and the
#    machine works (its startup script ran, exec answers).
#  - A kernel without it (6.1): no seccomp= at all, and --seccomp on is refused (exit 1,
#    naming the kernel) before anything is made.
#  - Either: --seccomp bogus is a usage error (exit 2) and so is $UMLKIT_SECCOMP=bogus.
# Run: UK_BUILD=$PWD/build prove -v tests/sh/lab_kernel.t
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian-lib.sh"

test_need_guests
debian_setup
IMG=$T/deb.img
export UMLKIT_LAB_IMAGE=$IMG
L=$T/lab
mkdir -p "$L"
printf 'pc1[0]=A\n' >"$L/lab.conf"
printf 'ip addr add 10.0.0.1/24 dev eth0\n' >"$L/pc1.startup"
unset UMLKIT_SECCOMP # check-kernel sets it; each case below says what it wants

# has_seccomp: the kernel has the seccomp mode (its help text lists seccomp=, as
# lib/kernel/probe.c reads); each point below checks what its kernel must do, no skips
has_seccomp() { grep -qaF "seccomp=<on/auto/off>" "$UML"; }

lab_run() { run timeout 600 "$UMLKIT" lab "$@"; }
# kernel_args: the command line of pc1's kernel process on the host
kernel_args() {
	local g
	g=$("$UMLKIT" list --output=json | jq -r '.[] | select(.name | endswith(".pc1")) | .name') &&
		tr '\0' ' ' <"/proc/$("$UMLKIT" status "$g" --output=json | jq -r .pid)/cmdline"
}
# up [OPTIONS]: start the lab, check pc1 works, keep its kernel's arguments in $args
up() {
	lab_run start "$L" "$@" &&
		test_is "$rc" 0 &&
		args=$(kernel_args) &&
		echo "# pc1's kernel: $args" &&
		run timeout 60 "$UMLKIT" lab exec "$L" pc1 -- ip -4 -o addr show dev eth0 &&
		test_like "$out" "10\.0\.0\.1/24"
}
down() { lab_run crash "$L" && lab_run clean "$L"; }

test_expect_success MMDEBSTRAP,AGENT_BUILT,JQ 'setup: the Debian image (image_debian.t recipe)' '
	"$UMLKIT" image build --distro debian --include netbase -q "$IMG" &&
	test_set_prereq IMAGE
'

test_expect_success IMAGE 'by default: seccomp=auto with the mode, no seccomp= without' '
	up &&
	if has_seccomp; then
		test_like "$args" " seccomp=auto( |$)"
	else
		test_unlike "$args" "seccomp="
	fi &&
	down
'

test_expect_success IMAGE 'with the mode: --seccomp off and $UMLKIT_SECCOMP=off; without: on refused' '
	if has_seccomp; then
		up --seccomp off &&
		test_like "$args" " seccomp=off( |$)" &&
		down &&
		UMLKIT_SECCOMP=off up &&
		test_like "$args" " seccomp=off( |$)" &&
		down
	else
		lab_run start "$L" --seccomp on &&
		test_is "$rc" 1 &&
		test_like "$err" "--seccomp on: kernel .* has no seccomp mode" &&
		test_path_is_missing "$L/pc1.disk" &&
		test_is "$("$UMLKIT" list --output=json | jq length)" 0
	fi
'

test_expect_success 'a bad --seccomp or $UMLKIT_SECCOMP is a usage error' '
	lab_run start "$L" --seccomp bogus &&
	test_is "$rc" 2 &&
	test_like "$err" "--seccomp bogus: use on, off or auto" &&
	UMLKIT_SECCOMP=bogus lab_run start "$L" &&
	test_is "$rc" 2 &&
	test_like "$err" "UMLKIT_SECCOMP=bogus" &&
	test_path_is_missing "$L/pc1.disk"
'

test_done
