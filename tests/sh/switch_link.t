#!/bin/bash
# Links between switches (`umlkit switch link A B [--vlan N]`, `unlink`) with real guests:
# s1 - s2 a trunk, s2 - s3 an access link of VLAN 10. Guests of VLAN 1 on s1 and s2 ping
# across the trunk; a VLAN 10 guest on s1 reaches one on s3 over both links; a VLAN 1 guest on
# s3 reaches nobody (the access link carries VLAN 10 only). ports and fdb show the links and
# what was learned on them. A link that would close a loop is refused and adds no port; bad
# input gives clear errors, and a link that one switch refuses leaves no end on the other. unlink cuts the guests apart and a new link joins them again; a
# switch that stops takes its links with it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
[ -n "$UML" ] || skip_all "no UML kernel (install user-mode-linux)"
need_cmd busybox "busybox-static is needed (the guest image)"

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
guest_image "$T/base.img" 32M
nports() { ports_lines "$1" | grep -c '"port":'; }
links() { # links SW: "PEER/VLAN/TRUNK" of each link port, sorted
	ports_lines "$1" | grep '"kind": "link"' |
		sed -n 's/.*"peer": "switch \([^"]*\)", "vlan": \([0-9]*\), "trunk": \([a-z]*\).*/\1\/\2\/\3/p' |
		sort | tr '\n' ' '
}

for s in s1 s2 s3; do start_switch $s; done
run "$UMLKIT" switch link s1 s2
is "$rc" 0 "switch link s1 s2: exit 0"
like "$out" "^s1 port [0-9]+ - s2 port [0-9]+: linked, a trunk of every VLAN$" "... a trunk, with the two ports"
run "$UMLKIT" switch link s2 s3 --vlan 10
is "$rc" 0 "switch link s2 s3 --vlan 10: exit 0"
like "$out" "^s2 port [0-9]+ - s3 port [0-9]+: linked, VLAN 10$" "... an access link of VLAN 10"
is "$(links s1)" "s2/1/true " "ports: s1 has a link to s2, a trunk (native VLAN 1)"
is "$(links s2)" "s1/1/true s3/10/false " "ports: s2 has the trunk to s1 and VLAN 10's link to s3"
is "$(links s3)" "s2/10/false " "ports: s3 has VLAN 10's link to s2"

# ---------------------------------------------------------------- guests across the links
G1=02:00:00:00:0b:01 G2=02:00:00:00:0b:02 A1=02:00:00:00:0b:11 C3=02:00:00:00:0b:33
guest g2 "switch:s2,mac=$G2" 10.0.0.2 ''
guest c3 "switch:s3,vlan=10,mac=$C3" 10.0.10.3 ''
guest g1 "switch:s1,mac=$G1" 10.0.0.1 '
while :; do
	if ping -c 1 -W 1 10.0.0.2 >/dev/null; then echo "g1: up"; else echo "g1: down"; fi
	sleep 0.3
done'
guest a1 "switch:s1,vlan=10,mac=$A1" 10.0.10.1 '
ping -c 3 -W 2 10.0.10.3 >/dev/null; echo "a1: ping c3 rc=$?"'
guest x3 "switch:s3" 10.0.0.3 '
ping -c 3 -W 1 10.0.0.1 >/dev/null; echo "x3: ping g1 rc=$?"'
until_true 60 eval 'log_has g1 "g1: up" && log_has a1 "a1: ping" && log_has x3 "x3: ping"'
ok $? "the guests report on the console"
like "$(logs g1)" "g1: up" "VLAN 1: g1 on s1 pings g2 on s2 across the trunk"
like "$(logs a1)" "a1: ping c3 rc=0" "VLAN 10: a1 on s1 pings c3 on s3 across both links"
like "$(logs x3)" "x3: ping g1 rc=1" "x3 (VLAN 1 on s3) cannot reach g1: the s2 - s3 link carries VLAN 10 only"
F1=$("$UMLKIT" switch fdb s1 --output=json | tr -d ' \n')
l1=$(ports_lines s1 | grep '"peer": "switch s2"')
p1=$(field "$l1" port)
like "$F1" "\"mac\":\"$G2\",\"vlan\":1,\"port\":$p1," "fdb: s1 learned g2's MAC on its link to s2 (VLAN 1)"
like "$F1" "\"mac\":\"$C3\",\"vlan\":10,\"port\":$p1," "fdb: ... and c3's, two switches away, in VLAN 10"
ok "$([ "$(field "$l1" tx_frames)" -gt 0 ] && [ "$(field "$l1" rx_frames)" -gt 0 ]; echo $?)" \
	"ports: s1's link counts frames both ways (rx $(field "$l1" rx_frames), tx $(field "$l1" tx_frames))"

# ---------------------------------------------------------------- loops and bad input
n1=$(nports s1) n2=$(nports s2) n3=$(nports s3)
run "$UMLKIT" switch link s3 s1
is "$rc" 1 "link s3 s1 (a loop through s2): exit 1"
like "$err" "switches 's3' and 's1' are joined already \(s3 - s2 - s1\): another link would make a loop" \
	"... naming the way they are joined"
run "$UMLKIT" switch link s2 s1 --vlan 20
is "$rc" 1 "a second link between s2 and s1: exit 1"
like "$err" "joined already \(s2 - s1\)" "... naming the link they have"
is "$(nports s1)/$(nports s2)/$(nports s3)" "$n1/$n2/$n3" "the refused links added no port anywhere"
bad() { # bad RC PATTERN NAME ARGS...
	run "$UMLKIT" switch "${@:4}"
	is "$rc" "$1" "$3: exit $1"
	like "$err" "$2" "... $3: says why"
}
bad 2 "switch 's1' twice" "link s1 s1" link s1 s1
bad 2 "link needs two switch names" "link s1" link s1
bad 2 "--vlan 0: 1\.\.4094" "link --vlan 0" link s1 s3 --vlan 0
bad 2 "--vlan 4095: 1\.\.4094" "link --vlan 4095" link s1 s3 --vlan 4095
bad 2 "character '/' is not allowed" "link a bad name" link s1 a/b
bad 1 "switch 'nosuch' is not running" "link to a switch that is not running" link s1 nosuch
bad 1 "switches 's1' and 's3' are not linked" "unlink of switches without a link" unlink s1 s3
is "$(nports s1)/$(nports s2)/$(nports s3)" "$n1/$n2/$n3" "the bad commands changed no switch"
# a switch on the way that does not answer (stopped) might close a loop: refused
s2pid=$(swpid s2)
kill -STOP "$s2pid"
run timeout 60 "$UMLKIT" switch link s3 s1
kill -CONT "$s2pid"
is "$rc" 1 "link s3 s1 while s2, between them, does not answer: exit 1"
like "$err" "switch 's2' does not answer: cannot tell whether a link would make a loop" \
	"... naming the switch that did not answer"
is "$(nports s1)/$(nports s3)" "$n1/$n3" "... and adds no port"

# a switch that refuses its end: the other's end is taken back
SWPEER="$UK_BUILD/tests/helpers/swpeer"
start_switch s4
"$SWPEER" s4 fill --hold "$T/release" >"$T/fill.out" 2>&1 &
fpid=$!
UK_PIDS+=($fpid)
until_true 60 grep -q '^refused:' "$T/fill.out"
like "$(cat "$T/fill.out")" "^full 512" "swpeer fills s4 with 512 ports"
run "$UMLKIT" switch link s1 s4
is "$rc" 1 "link s1 s4 while s4 is full: exit 1"
like "$err" "switch 's4': .*" "... with s4's refusal"
is "$(nports s1)" "$n1" "s1 has no port left over from the link that failed"
touch "$T/release"
wait_gone "$fpid" 30
"$UMLKIT" switch stop s4 >/dev/null

# ---------------------------------------------------------------- unlink, link again
state_after() { # state_after LINE: g1's last up/down after line LINE of its log
	logs g1 | tail -n +"$(($1 + 1))" | grep -E '^g1: (up|down)' | tail -n 1
}
mark=$(logs g1 | wc -l)
run "$UMLKIT" switch unlink s1 s2
is "$rc" 0 "switch unlink s1 s2: exit 0"
like "$out" "^s1 - s2: unlinked$" "... says so"
is "$(links s1)" "" "s1 has no link left"
is "$(links s2)" "s3/10/false " "s2 keeps only its link to s3"
until_true 30 eval '[ "$(state_after $mark)" = "g1: down" ]'
ok $? "after unlink, g1's pings to g2 go unanswered"
mark=$(logs g1 | wc -l)
run "$UMLKIT" switch link s2 s1
is "$rc" 0 "link s2 s1 again (no loop now): exit 0"
until_true 30 eval '[ "$(state_after $mark)" = "g1: up" ]'
ok $? "... and g1 reaches g2 again"

# ---------------------------------------------------------------- a switch that stops
run "$UMLKIT" switch stop s3
is "$rc" 0 "switch stop s3"
until_true 10 eval '[ "$(links s2)" = "s1/1/true " ]'
is "$(links s2)" "s1/1/true " "s2's link to the stopped s3 is gone"

for g in g1 g2 a1 c3 x3; do "$UMLKIT" kill $g >/dev/null 2>&1; done
for s in s1 s2; do "$UMLKIT" switch stop $s >/dev/null 2>&1; done
done_testing
