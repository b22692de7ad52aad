#!/bin/bash
# Links between switches (`umlkit switch link A B [--vlan N]`, `unlink`) with real guests:
# s1 - s2 a trunk, s2 - s3 an access link of VLAN 10. Guests of VLAN 1 on s1 and s2 ping
# across the trunk; a VLAN 10 guest on s1 reaches one on s3 over both links; a VLAN 1 guest on
# s3 reaches nobody (the access link carries VLAN 10 only). ports and fdb show the links and
# what was learned on them. A link that would close a loop is refused and adds no port; bad
# input gives clear errors, and a link that one switch refuses leaves no end on the other.
# unlink cuts the guests apart and a new link joins them again; a switch that stops takes its
# links with it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
test_need_guests
SWPEER="$UK_BUILD/tests/helpers/swpeer"
test_lazy_prereq SWPEER '[ -x "$SWPEER" ]' # make test-build

links() { # links SW: "PEER/VLAN/TRUNK " of each link port, sorted, on one line
	ports_json "$1" |
		jq -r '[.[] | select(.kind == "link") | "\(.peer | ltrimstr("switch "))/\(.vlan)/\(.trunk) "] | sort | add // ""'
}
counts() { echo "$(nports s1)/$(nports s2)/$(nports s3)"; }
G1=02:00:00:00:0b:01 G2=02:00:00:00:0b:02 A1=02:00:00:00:0b:11 C3=02:00:00:00:0b:33

test_expect_success BUSYBOX 'setup: the guest image' '
	guest_image "$T/base.img" 32M &&
	test_set_prereq IMAGE
'
for s in s1 s2 s3; do test_switch_start $s; done
test_expect_success SW_s1,SW_s2 'switch link s1 s2: exit 0' '
	run "$UMLKIT" switch link s1 s2 &&
	test_is "$rc" 0 &&
	test_set_prereq L12
'
test_expect_success L12 '... a trunk, with the two ports' '
	test_like "$out" "^s1 port [0-9]+ - s2 port [0-9]+: linked, a trunk of every VLAN$"
'
test_expect_success SW_s2,SW_s3 'switch link s2 s3 --vlan 10: exit 0' '
	run "$UMLKIT" switch link s2 s3 --vlan 10 &&
	test_is "$rc" 0 &&
	test_set_prereq L23
'
test_expect_success L23 '... an access link of VLAN 10' '
	test_like "$out" "^s2 port [0-9]+ - s3 port [0-9]+: linked, VLAN 10$"
'
test_expect_success L12 'ports: s1 has a link to s2, a trunk (native VLAN 1)' '
	test_is "$(links s1)" "s2/1/true "
'
test_expect_success L12,L23 "ports: s2 has the trunk to s1 and VLAN 10's link to s3" '
	test_is "$(links s2)" "s1/1/true s3/10/false "
'
test_expect_success L23 "ports: s3 has VLAN 10's link to s2" '
	test_is "$(links s3)" "s2/10/false "
'

# ---------------------------------------------------------------- guests across the links
G1_BODY='
while :; do
	if ping -c 1 -W 1 10.0.0.2 >/dev/null; then echo "g1: up"; else echo "g1: down"; fi
	sleep 0.3
done'
A1_BODY='
ping -c 3 -W 2 10.0.10.3 >/dev/null; echo "a1: ping c3 rc=$?"'
X3_BODY='
ping -c 3 -W 1 10.0.0.1 >/dev/null; echo "x3: ping g1 rc=$?"'
test_expect_success IMAGE,SW_s2 'guest g2 on switch:s2 starts' '
	start_guest g2 "switch:s2,mac=$G2" 10.0.0.2 "" &&
	test_set_prereq G2
'
test_expect_success IMAGE,SW_s3 'guest c3 on switch:s3,vlan=10 starts' '
	start_guest c3 "switch:s3,vlan=10,mac=$C3" 10.0.10.3 "" &&
	test_set_prereq C3
'
test_expect_success IMAGE,SW_s1 'guest g1 on switch:s1 starts' '
	start_guest g1 "switch:s1,mac=$G1" 10.0.0.1 "$G1_BODY" &&
	test_set_prereq G1
'
test_expect_success IMAGE,SW_s1 'guest a1 on switch:s1,vlan=10 starts' '
	start_guest a1 "switch:s1,vlan=10,mac=$A1" 10.0.10.1 "$A1_BODY" &&
	test_set_prereq A1
'
test_expect_success IMAGE,SW_s3 'guest x3 on switch:s3 starts' '
	start_guest x3 "switch:s3" 10.0.0.3 "$X3_BODY" &&
	test_set_prereq X3
'
reported() { log_has g1 "g1: up" && log_has a1 "a1: ping" && log_has x3 "x3: ping"; }
test_expect_success G1,A1,X3 'the guests report on the console' '
	until_true 60 reported &&
	test_set_prereq REPORTED
'
test_expect_success REPORTED,G2,L12 'VLAN 1: g1 on s1 pings g2 on s2 across the trunk' '
	test_like "$(logs g1)" "g1: up"
'
test_expect_success REPORTED,C3,L12,L23 'VLAN 10: a1 on s1 pings c3 on s3 across both links' '
	test_like "$(logs a1)" "a1: ping c3 rc=0"
'
test_expect_success REPORTED,L12,L23 'x3 (VLAN 1 on s3) cannot reach g1: the s2 - s3 link carries VLAN 10 only' '
	test_like "$(logs x3)" "x3: ping g1 rc=1"
'
test_expect_success REPORTED,G2,L12 "fdb: s1 learned g2's MAC on its link to s2 (VLAN 1)" '
	l1=$(port_json s1 "switch s2") &&
	p1=$(json .port "$l1") &&
	F1=$("$UMLKIT" switch fdb s1 --output=json) &&
	test_is "$(json ".[] | select(.mac == \"$G2\") | [.vlan, .port] | @tsv" "$F1")" "1	$p1"
'
test_expect_success REPORTED,C3,L12,L23 "fdb: ... and c3's, two switches away, in VLAN 10" '
	test_is "$(json ".[] | select(.mac == \"$C3\") | [.vlan, .port] | @tsv" "$F1")" "10	$p1"
'
test_expect_success REPORTED,L12 "ports: s1's link counts frames both ways" '
	echo "rx $(json .rx_frames "$l1"), tx $(json .tx_frames "$l1")" &&
	test "$(json .tx_frames "$l1")" -gt 0 &&
	test "$(json .rx_frames "$l1")" -gt 0
'

# ---------------------------------------------------------------- loops and bad input
n123=
test_expect_success SW_s1,SW_s2,SW_s3 'setup: the ports of the three switches' '
	n123=$(counts) &&
	echo "$n123" &&
	test_set_prereq COUNTED
'
test_expect_success L12,L23 'link s3 s1 (a loop through s2): exit 1' '
	run "$UMLKIT" switch link s3 s1 &&
	test_is "$rc" 1
'
test_expect_success L12,L23 '... naming the way they are joined' '
	test_like "$err" "switches ${SQ}s3${SQ} and ${SQ}s1${SQ} are joined already \(s3 - s2 - s1\): another link would make a loop"
'
test_expect_success L12 'a second link between s2 and s1: exit 1' '
	run "$UMLKIT" switch link s2 s1 --vlan 20 &&
	test_is "$rc" 1
'
test_expect_success L12 '... naming the link they have' '
	test_like "$err" "joined already \(s2 - s1\)"
'
test_expect_success COUNTED,L12,L23 'the refused links added no port anywhere' '
	test_is "$(counts)" "$n123"
'
bad() { # bad RC PATTERN NAME ARGS...: two blocks, the exit status and the message
	bad_rc=$1 bad_re=$2
	bad_args=("${@:4}")
	test_expect_success SW_s1,SW_s3 "$3: exit $1" '
		run "$UMLKIT" switch "${bad_args[@]}" &&
		test_is "$rc" "$bad_rc"
	'
	test_expect_success SW_s1,SW_s3 "... $3: says why" '
		test_like "$err" "$bad_re"
	'
}
bad 2 "switch 's1' twice" "link s1 s1" link s1 s1
bad 2 "link needs two switch names" "link s1" link s1
bad 2 "--vlan 0: 1\.\.4094" "link --vlan 0" link s1 s3 --vlan 0
bad 2 "--vlan 4095: 1\.\.4094" "link --vlan 4095" link s1 s3 --vlan 4095
bad 2 "character '/' is not allowed" "link a bad name" link s1 a/b
bad 1 "switch 'nosuch' is not running" "link to a switch that is not running" link s1 nosuch
bad 1 "switches 's1' and 's3' are not linked" "unlink of switches without a link" unlink s1 s3
test_expect_success COUNTED 'the bad commands changed no switch' '
	test_is "$(counts)" "$n123"
'
# a switch on the way that does not answer (stopped) might close a loop: refused
test_expect_success L12,L23 'link s3 s1 while s2, between them, does not answer: exit 1' '
	n13="$(nports s1)/$(nports s3)" &&
	s2pid=$(swpid s2) &&
	kill -STOP "$s2pid" &&
	test_when_finished "kill -CONT $s2pid" &&
	run timeout 60 "$UMLKIT" switch link s3 s1 &&
	test_is "$rc" 1
'
test_expect_success L12,L23 '... naming the switch that did not answer' '
	test_like "$err" "switch ${SQ}s2${SQ} does not answer: cannot tell whether a link would make a loop"
'
test_expect_success L12,L23 '... and adds no port' '
	test_is "$(nports s1)/$(nports s3)" "$n13"
'

# a switch that refuses its end: the other's end is taken back
test_switch_start s4
fpid=
test_expect_success SW_s4,SWPEER 'swpeer fills s4 with 512 ports' '
	{ "$SWPEER" s4 fill --hold "$T/release" >"$T/fill.out" 2>&1 & } &&
	fpid=$! &&
	UK_PIDS+=($fpid) &&
	until_true 60 grep -q "^refused:" "$T/fill.out"
	test_like "$(cat "$T/fill.out")" "^full 512" &&
	test_set_prereq FULL
'
test_expect_success FULL,SW_s1 'link s1 s4 while s4 is full: exit 1' '
	n1=$(nports s1) &&
	run "$UMLKIT" switch link s1 s4 &&
	test_is "$rc" 1
'
test_expect_success FULL,SW_s1 "... with s4's refusal" '
	test_like "$err" "switch ${SQ}s4${SQ}: .*"
'
test_expect_success FULL,SW_s1 's1 has no port left over from the link that failed' '
	test_is "$(nports s1)" "$n1"
'
touch "$T/release"
if [ -n "$fpid" ] && wait_gone "$fpid" 30; then
	wait "$fpid" 2>/dev/null
	forget_pid "$fpid"
fi
sw_stop s4

# ---------------------------------------------------------------- unlink, link again
state_after() { # state_after LINE: g1's last up/down after line LINE of its log
	logs g1 | tail -n +"$(($1 + 1))" | grep -E '^g1: (up|down)' | tail -n 1
}
down_after_mark() { [ "$(state_after "$mark")" = "g1: down" ]; }
up_after_mark() { [ "$(state_after "$mark")" = "g1: up" ]; }
mark=0
test_expect_success L12 'switch unlink s1 s2: exit 0' '
	mark=$(logs g1 | wc -l) &&
	run "$UMLKIT" switch unlink s1 s2 &&
	test_is "$rc" 0 &&
	test_set_prereq UNLINKED
'
test_expect_success UNLINKED '... says so' '
	test_like "$out" "^s1 - s2: unlinked$"
'
test_expect_success UNLINKED 's1 has no link left' '
	test_is "$(links s1)" ""
'
test_expect_success UNLINKED,L23 's2 keeps only its link to s3' '
	test_is "$(links s2)" "s3/10/false "
'
test_expect_success UNLINKED,REPORTED,G2 "after unlink, g1's pings to g2 go unanswered" '
	until_true 30 down_after_mark
'
test_expect_success UNLINKED 'link s2 s1 again (no loop now): exit 0' '
	mark=$(logs g1 | wc -l) &&
	run "$UMLKIT" switch link s2 s1 &&
	test_is "$rc" 0 &&
	test_set_prereq RELINKED
'
test_expect_success RELINKED,REPORTED,G2 '... and g1 reaches g2 again' '
	until_true 30 up_after_mark
'

# ---------------------------------------------------------------- a switch that stops
test_expect_success SW_s3 'switch stop s3' '
	sw_stop s3 &&
	test_is "$rc" 0 &&
	test_set_prereq S3_STOPPED
'
s2_only_s1() { [ "$(links s2)" = "s1/1/true " ]; }
test_expect_success S3_STOPPED,RELINKED "s2's link to the stopped s3 is gone" '
	until_true 10 s2_only_s1
	test_is "$(links s2)" "s1/1/true "
'

for g in g1 g2 a1 c3 x3; do "$UMLKIT" kill $g >/dev/null 2>&1; done
for s in s1 s2; do sw_stop $s; done
test_done
