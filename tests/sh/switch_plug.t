#!/bin/bash
# `umlkit switch plug NAME`: a switch port carried over stdin and stdout in vde_plug's stream
# format. Two umlkit switches are joined through a VDE switch (vde2's vde_switch), each by
# `dpipe umlkit switch plug S = vde_plug VDE`; a guest on each pings the other and fetches a
# file from it whole, so VDE read and wrote our stream. ports and fdb show the plug. A stream
# with an empty and a malformed frame keeps its port (the malformed one counted); a stream
# cut inside a frame and a switch that is not running are errors; a switch that stops ends
# its plugs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
test_need_guests
test_lazy_prereq VDE2 'command -v vde_switch && command -v vde_plug && command -v dpipe'

plugs() { ports_json "$1" | jq -c '.[] | select(.kind == "plug")'; }
G1=02:00:00:00:0c:01 G2=02:00:00:00:0c:02
p1=

test_expect_success BUSYBOX 'setup: the guest image' '
	guest_image "$T/base.img" 32M &&
	test_set_prereq IMAGE
'
test_switch_start s1
test_switch_start s2

# ---------------------------------------------------------------- two switches through VDE
VPID=
vde_up() { [ -s "$T/vde.pid" ] && [ -S "$T/vde/ctl" ]; }
both_plugged() { [ -n "$(plugs s1)" ] && [ -n "$(plugs s2)" ]; }
test_expect_success VDE2 'vde_switch runs' '
	vde_switch -s "$T/vde" -d -p "$T/vde.pid" </dev/null >"$T/vde.log" 2>&1 &&
	until_true 10 vde_up &&
	VPID=$(cat "$T/vde.pid") &&
	UK_PIDS+=("$VPID") &&
	test_set_prereq VDE
'
test_expect_success VDE,SW_s1,SW_s2 'each switch has a plug port' '
	for s in s1 s2; do
		dpipe "$UMLKIT" switch plug $s = vde_plug "$T/vde" 2>"$T/dpipe-$s.err" >/dev/null &
		UK_PIDS+=($!)
	done
	until_true 10 both_plugged &&
	p1=$(plugs s1) &&
	test_set_prereq PLUGS
'
test_expect_success PLUGS "ports: s1's plug, an access port of VLAN 1" '
	test_like "$(json .peer "$p1")" "^plug \(pid [0-9]+\)$" &&
	test_is "$(json "[.vlan, .trunk] | @tsv" "$p1")" "1	false"
'

test_expect_success IMAGE,SW_s2 'guest g2 on s2 starts and serves its file' '
	start_guest g2 "switch:s2,mac=$G2" 10.0.0.2 "$(server_body g2 256)" &&
	until_true 30 log_has g2 "g2: serving" &&
	test_set_prereq G2
'
G1_BODY='
ping -c 3 -W 2 10.0.0.2 >/dev/null; echo "g1: ping rc=$?"
wget -q -O /tmp/data http://10.0.0.2/data; echo "g1: wget rc=$?"
echo "g1: sum $(md5sum /tmp/data | cut -d" " -f1) size $(wc -c </tmp/data)"
echo "g1: done"'
test_expect_success IMAGE,SW_s1 'guest g1 on s1 starts' '
	start_guest g1 "switch:s1,mac=$G1" 10.0.0.1 "$G1_BODY" &&
	test_set_prereq G1
'
test_expect_success G1 'g1 reports on the console' '
	until_true 60 log_has g1 "g1: done" &&
	test_set_prereq G1_DONE
'
test_expect_success G1_DONE,G2,PLUGS 'g1 on s1 pings g2 on s2 through the plugs and the VDE switch' '
	test_like "$(logs g1)" "g1: ping rc=0"
'
test_expect_success G1_DONE,G2,PLUGS "g1 fetches g2's file the same way" '
	test_like "$(logs g1)" "g1: wget rc=0"
'
test_expect_success G1_DONE,G2,PLUGS 'the 256 KiB file arrives whole (the md5 sums agree)' '
	s1=$(logs g1 | sed -n "s/^g1: sum \([0-9a-f]*\) size.*/\1/p") &&
	s2=$(logs g2 | sed -n "s/^g2: sum \([0-9a-f]*\).*/\1/p") &&
	test_isnt "$s2" "" &&
	test_is "$s1" "$s2"
'
test_expect_success G1_DONE,G2,PLUGS "fdb: s1 learned g2's MAC on its plug" '
	p1=$(plugs s1) &&
	run "$UMLKIT" switch fdb s1 --output=json &&
	test_is "$rc" 0 &&
	test_is "$(json ".[] | select(.mac == \"$G2\") | [.vlan, .port] | @tsv")" \
		"1	$(json .port "$p1")"
'
test_expect_success G1_DONE,G2,PLUGS "ports: s1's plug brought in more than the file" '
	p1=$(plugs s1) &&
	echo "rx_bytes $(json .rx_bytes "$p1")" &&
	test "$(json .rx_bytes "$p1")" -gt 262144
'
test_expect_success G1_DONE,G2,PLUGS '... and dropped nothing' '
	test_is "$(json .rx_drops "$p1")" 0
'

# ---------------------------------------------------------------- bad streams
# the plug of a stream that holds an empty frame (dropped by the plug, the port stays) and a
# 3-byte one (the switch drops and counts it), kept open until the test has looked (a file
# it waits for, bounded), not for a fixed time
# (the plug ports of s1 but the one of dpipe's, p1, when there is one)
badline() { plugs s1 | jq -c --arg p "$(json .port "$p1")" 'select((.port | tostring) != $p)'; }
bad_dropped_one() { [ "$(json .rx_drops "$(badline)")" = 1 ]; }
bad_gone() { [ -z "$(badline)" ]; }
bpid=
test_expect_success SW_s1 'a plug whose stream holds an empty frame and a 3-byte one keeps its port' '
	mkfifo "$T/bad.fifo" &&
	{
		{
			printf "\000\000" &&
			printf "\000\003abc" &&
			until_true 60 test -e "$T/bad.release"
		} >"$T/bad.fifo" &
	} &&
	UK_PIDS+=($!) &&
	{ "$UMLKIT" switch plug s1 <"$T/bad.fifo" >/dev/null 2>"$T/bad.err" & } &&
	bpid=$! &&
	UK_PIDS+=($bpid) &&
	until_true 10 bad_dropped_one &&
	test_set_prereq BADPLUG
'
test_expect_success BADPLUG '... the 3-byte frame counted as dropped, nothing forwarded' '
	test_is "$(json "\"\(.rx_drops)/\(.rx_frames)\"" "$(badline)")" "1/0"
'
test_expect_success BADPLUG '... and when its stream ends, the plug exits 0' '
	touch "$T/bad.release" &&
	wait_gone "$bpid" 20 &&
	{ wait "$bpid"; st=$?; forget_pid "$bpid"; test_is "$st" 0; }
'
test_expect_success BADPLUG '... and its port is gone' '
	until_true 10 bad_gone
'
plug_stream() { printf "$1" | "$UMLKIT" switch plug "$2"; } # plug_stream BYTES SWITCH
test_expect_success SW_s1 'a stream cut inside a frame: exit 1' '
	run plug_stream "\\000\\100abc" s1 &&
	test_is "$rc" 1
'
test_expect_success SW_s1 '... saying so' '
	test_like "$err" "stdin ended inside a frame \(3 bytes of it came\)"
'
test_expect_success SW_s1 "a stream cut inside a frame's length: exit 1" '
	run plug_stream "\\000" s1 &&
	test_is "$rc" 1
'
test_expect_success SW_s1 '... saying so' '
	test_like "$err" "stdin ended inside a frame${SQ}s length"
'
test_expect_success 'plug into a switch that is not running: exit 1' '
	run "$UMLKIT" switch plug nosuch </dev/null &&
	test_is "$rc" 1
'
test_expect_success '... saying so' '
	test_like "$err" "switch ${SQ}nosuch${SQ} is not running"
'
test_expect_success 'plug without a name: exit 2' '
	run "$UMLKIT" switch plug &&
	test_is "$rc" 2
'

# ---------------------------------------------------------------- the switch stops
test_expect_success SW_s2 'switch stop s2' '
	run "$UMLKIT" switch stop s2 &&
	test_is "$rc" 0
'
test_expect_success PLUGS "s2's plug ends, saying the switch closed its port" '
	until_true 10 grep -q "closed the plug${SQ}s port" "$T/dpipe-s2.err"
'

"$UMLKIT" kill g1 >/dev/null 2>&1
"$UMLKIT" kill g2 >/dev/null 2>&1
"$UMLKIT" switch stop s1 >/dev/null 2>&1
[ -n "$VPID" ] && kill "$VPID" 2>/dev/null
test_done
