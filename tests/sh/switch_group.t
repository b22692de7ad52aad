#!/bin/bash
# switch_group.t: `umlkit switch start --group G` (as root) makes a switch that every member
# of G can use with every switch command, and that no one else can reach (issue 22: the
# socket was 0660 for G, but the directories above it were 0700 root: "Permission denied").
#
# A scratch group is made (and removed at the end); the member is nobody with that group as
# a supplementary one (setpriv), the outsider nobody without it. Both use root's runtime
# directory ($T/run, XDG_RUNTIME_DIR). No guest runs and no traffic is sent: the commands
# talk to the switches over their control sockets.
#
# Run: UK_BUILD=$PWD/build tests/sh/switch_group.t [-v]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT"
test_lazy_prereq GROUPADD 'command -v groupadd && command -v groupdel'

G=ukg$$
GID=
# the exit trap of lib.sh, and the group removed
trap 'if [ -n "$GID" ]; then groupdel "$G" 2>/dev/null; fi; _uk_cleanup' EXIT
member() { setpriv --reuid=nobody --regid=nogroup --groups="$GID" "$@"; }
outsider() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# no_others PATH: the mode grants nothing to other users
no_others() {
	local m
	m=$(stat -c %A "$1") || return 1
	[ "${m:7:3}" = --- ] && return 0
	echo "$1 is $m: open to others" >&2
	return 1
}
gone() { ! pid_alive "$1"; }

test_expect_success ROOT,NOBODY,GROUPADD 'setup: a scratch group, root runs two switches for it' '
	groupadd "$G" &&
	GID=$(getent group "$G" | cut -d: -f3) &&
	test_like "$GID" "^[0-9]+$" &&
	stage_for_others &&
	mkdir -m 1777 "$T/pub" &&
	chmod 0755 "$XDG_RUNTIME_DIR" &&
	sw_start gsa --group "$G" --nat &&
	test_is "$rc" 0 &&
	sw_start gsb --group "$G" --legacy "$XDG_RUNTIME_DIR/gsb.ctl" &&
	test_is "$rc" 0 &&
	test_set_prereq GRP
'
test_expect_success GRP "the switch's directory is 0750 with the group" '
	test_is "$(stat -c "%a %G" "$(swdir gsa)")" "750 $G"
'
test_expect_success GRP '... and no directory umlkit made is open to others' '
	no_others "$XDG_RUNTIME_DIR/umlkit" &&
	no_others "$XDG_RUNTIME_DIR/umlkit/switches" &&
	no_others "$(swdir gsa)" &&
	no_others "$(swdir gsb)"
'
test_expect_success GRP 'a member: switch list shows both, running' '
	run member "$UMLKIT" switch list --output=json &&
	test_is "$rc" 0 &&
	test_is "$(json "[.[].name] | sort | join(\" \")")" "gsa gsb"
'
test_expect_success GRP 'a member: switch ports' '
	run member "$UMLKIT" switch ports gsa --output=json &&
	test_is "$rc" 0 &&
	test_is "$(json "map(select(.kind == \"nat\")) | length")" 1
'
test_expect_success GRP 'a member: switch fdb' '
	run member "$UMLKIT" switch fdb gsa &&
	test_is "$rc" 0 &&
	test_like "$out" "^MAC"
'
test_expect_success GRP 'a member: switch nat and forward list' '
	run member "$UMLKIT" switch nat gsa --output=json &&
	test_is "$rc" 0 &&
	test_like "$(json .network)" "/" &&
	run member "$UMLKIT" switch forward gsa list &&
	test_is "$rc" 0
'
test_expect_success GRP 'a member: switch legacy' '
	run member "$UMLKIT" switch legacy gsb --output=json &&
	test_is "$rc" 0 &&
	test_is "$(json .control)" "$XDG_RUNTIME_DIR/gsb.ctl"
'
test_expect_success GRP 'a member: switch capture into its own file' '
	run member "$UMLKIT" switch capture gsa -w "$T/pub/gsa.pcap" --seconds 1 &&
	test_is "$rc" 0 &&
	test_is "$(stat -c %U "$T/pub/gsa.pcap")" nobody
'
test_expect_success GRP 'a member: switch link and unlink' '
	run member "$UMLKIT" switch link gsa gsb &&
	test_is "$rc" 0 &&
	test_like "$out" "linked" &&
	run member "$UMLKIT" switch unlink gsa gsb &&
	test_is "$rc" 0
'
test_expect_success GRP 'a member: switch plug (a port until its stdin ends)' '
	run member "$UMLKIT" switch plug gsa </dev/null &&
	test_is "$rc" 0
'
test_expect_success GRP 'an outsider: Permission denied' '
	run outsider "$UMLKIT" switch ports gsa &&
	test_is "$rc" 1 &&
	test_like "$err" "Permission denied"
'
test_expect_success GRP '... from switch list too' '
	run outsider "$UMLKIT" switch list &&
	test_is "$rc" 1 &&
	test_like "$err" "switches: Permission denied"
'
test_expect_success GRP 'a member: switch stop' '
	p=$(swpid gsa) &&
	run member "$UMLKIT" switch stop gsa &&
	test_is "$rc" 0 &&
	until_true 10 gone "$p" &&
	forget_pid "$p"
'
test_expect_success GRP 'root: switch stop of the other' '
	sw_stop gsb &&
	test_is "$rc" 0
'
test_expect_success GRP 'a switch without --group makes its directory 0700 again' '
	sw_start gsa &&
	test_is "$rc" 0 &&
	test_is "$(stat -c %a "$(swdir gsa)")" 700 &&
	sw_stop gsa &&
	test_is "$rc" 0
'

test_done
