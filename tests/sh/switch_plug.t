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
[ -n "$UML" ] || skip_all "no UML kernel (install user-mode-linux)"
need_cmd busybox "busybox-static is needed (the guest image)"
need_cmd vde_switch "vde2 is needed (vde_switch, vde_plug, dpipe)"
need_cmd dpipe "vde2 is needed (dpipe)"

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
guest_image "$T/base.img" 32M
plugs() { ports_lines "$1" | grep '"kind": "plug"'; }

for s in s1 s2; do start_switch $s; done
vde_switch -s "$T/vde" -d -p "$T/vde.pid" </dev/null >"$T/vde.log" 2>&1
until_true 10 eval '[ -s "$T/vde.pid" ] && [ -S "$T/vde/ctl" ]'
ok $? "vde_switch runs"
VPID=$(cat "$T/vde.pid" 2>/dev/null)
[ -n "$VPID" ] && UK_PIDS+=("$VPID")
for s in s1 s2; do
	dpipe "$UMLKIT" switch plug $s = vde_plug "$T/vde" 2>"$T/dpipe-$s.err" &
	UK_PIDS+=($!)
done
until_true 10 eval '[ -n "$(plugs s1)" ] && [ -n "$(plugs s2)" ]'
ok $? "each switch has a plug port"
like "$(plugs s1)" '"peer": "plug \(pid [0-9]+\)", "vlan": 1, "trunk": false' "ports: s1's plug, an access port of VLAN 1"

G1=02:00:00:00:0c:01 G2=02:00:00:00:0c:02
guest g2 "switch:s2,mac=$G2" 10.0.0.2 "$(server_body g2 256)"
until_true 30 log_has g2 "g2: serving"
guest g1 "switch:s1,mac=$G1" 10.0.0.1 '
ping -c 3 -W 2 10.0.0.2 >/dev/null; echo "g1: ping rc=$?"
wget -q -O /tmp/data http://10.0.0.2/data; echo "g1: wget rc=$?"
echo "g1: sum $(md5sum /tmp/data | cut -d" " -f1) size $(wc -c </tmp/data)"
echo "g1: done"'
until_true 60 log_has g1 "g1: done"
ok $? "g1 reports on the console"
like "$(logs g1)" "g1: ping rc=0" "g1 on s1 pings g2 on s2 through the plugs and the VDE switch"
like "$(logs g1)" "g1: wget rc=0" "g1 fetches g2's file the same way"
s1=$(logs g1 | sed -n 's/^g1: sum \([0-9a-f]*\) size.*/\1/p')
s2=$(logs g2 | sed -n 's/^g2: sum \([0-9a-f]*\).*/\1/p')
ok "$([ -n "$s2" ] && [ "$s1" = "$s2" ]; echo $?)" "the 256 KiB file arrives whole (md5 ${s1:-none} = ${s2:-none})"
p1=$(plugs s1)
like "$("$UMLKIT" switch fdb s1 --output=json | tr -d ' \n')" \
	"\"mac\":\"$G2\",\"vlan\":1,\"port\":$(field "$p1" port)," "fdb: s1 learned g2's MAC on its plug"
ok "$([ "$(field "$p1" rx_bytes)" -gt 262144 ]; echo $?)" "ports: s1's plug brought in more than the file ($(field "$p1" rx_bytes) bytes)"
is "$(field "$p1" rx_drops)" 0 "... and dropped nothing"

# ---------------------------------------------------------------- bad streams
{
	printf '\000\000'              # an empty frame: dropped by the plug, the port stays
	printf '\000\003abc'           # a 3-byte frame: the switch drops and counts it
	sleep 3
} | "$UMLKIT" switch plug s1 2>"$T/bad.err" &
bpid=$!
UK_PIDS+=($bpid)
badline() { ports_lines s1 | grep -F "\"peer\": \"plug (pid " | grep -v "\"port\": $(field "$p1" port),"; }
until_true 10 eval '[ "$(field "$(badline)" rx_drops)" = 1 ]'
ok $? "a plug whose stream holds an empty frame and a 3-byte one keeps its port"
is "$(field "$(badline)" rx_drops)/$(field "$(badline)" rx_frames)" "1/0" "... the 3-byte frame counted as dropped, nothing forwarded"
wait "$bpid"
is "$?" 0 "... and when its stream ends, the plug exits 0"
forget_pid "$bpid"
until_true 10 eval '[ -z "$(badline)" ]'
ok $? "... and its port is gone"
run bash -c "printf '\\000\\100abc' | '$UMLKIT' switch plug s1"
is "$rc" 1 "a stream cut inside a frame: exit 1"
like "$err" "stdin ended inside a frame \(3 bytes of it came\)" "... saying so"
run bash -c "printf '\\000' | '$UMLKIT' switch plug s1"
is "$rc" 1 "a stream cut inside a frame's length: exit 1"
like "$err" "stdin ended inside a frame's length" "... saying so"
run bash -c "'$UMLKIT' switch plug nosuch </dev/null"
is "$rc" 1 "plug into a switch that is not running: exit 1"
like "$err" "switch 'nosuch' is not running" "... saying so"
run "$UMLKIT" switch plug
is "$rc" 2 "plug without a name: exit 2"

# ---------------------------------------------------------------- the switch stops
run "$UMLKIT" switch stop s2
is "$rc" 0 "switch stop s2"
until_true 10 grep -q "closed the plug's port" "$T/dpipe-s2.err"
ok $? "s2's plug ends, saying the switch closed its port"
"$UMLKIT" kill g1 >/dev/null 2>&1
"$UMLKIT" kill g2 >/dev/null 2>&1
"$UMLKIT" switch stop s1 >/dev/null 2>&1
kill "$VPID" 2>/dev/null
done_testing
