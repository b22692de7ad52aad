#!/bin/bash
# umlkit switch with real guests on fd ports (`umlkit start --net switch:SW`): two guests ping
# and move 1 MiB over HTTP; ports and fdb show them, their MACs and their counters; a capture
# holds the ICMP frames of a ping in pcap format; a misbehaving peer (tests/helpers/swpeer:
# malformed frames, floods, bad control messages, 128 ports coming and going) is dropped,
# counted and survived while the guests keep talking; under load the loading port is paced
# and an occasional sender beside it is not, nor a NAT uplink that answers it; a stopped
# guest's port goes; VLANs
# keep two pairs with the same addresses apart; --hub floods; stop and SIGTERM remove the
# control socket; a running name is refused; bad input gives clear errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
[ -n "$UML" ] || skip_all "no UML kernel (install user-mode-linux)"
need_cmd busybox "busybox-static is needed (the guest image)"
SWPEER="$UK_BUILD/tests/helpers/swpeer"
[ -x "$SWPEER" ] || skip_all "$SWPEER is not built (make test-build)"

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
guest_image "$T/base.img" 32M

nports() { ports_lines "$1" | grep -c '"port":'; }
bad_control() {
	"$UMLKIT" switch list --output=json | tr -d ' \n' |
		sed -n "s/.*\"name\":\"$1\",[^}]*\"bad_control\":\([0-9]*\).*/\1/p"
}
M1=02:00:00:00:0a:01 M2=02:00:00:00:0a:02

# ---------------------------------------------------------------- two guests, ping and data
start_switch sw
run "$UMLKIT" switch start sw
is "$rc" 1 "a second switch with a running name is refused (exit 1)"
like "$err" "switch 'sw' is already running \(pid $(swpid sw)\)" "... naming the running one"
guest g2 "switch:sw,mac=$M2" 10.0.0.2 "$(server_body g2 1024)"
guest g1 "switch:sw,mac=$M1" 10.0.0.1 '
ping -c 5 -W 2 10.0.0.2 >/dev/null; echo "g1: ping rc=$?"
wget -q -O /tmp/data http://10.0.0.2/data; echo "g1: wget rc=$?"
echo "g1: sum $(md5sum /tmp/data | cut -d" " -f1) size $(wc -c </tmp/data)"
echo "g1: fetched"
ping -i 0.2 10.0.0.2'
until_true 60 log_has g1 "g1: fetched"
ok $? "g1 reports its ping and fetch on the console"
l1=$(logs g1)
l2=$(logs g2)
like "$l1" "g1: ping rc=0" "g1 pings g2 over the switch"
like "$l1" "g1: wget rc=0" "g1 fetches g2's file with wget"
s2=$(printf '%s\n' "$l2" | sed -n 's/^g2: sum \([0-9a-f]*\).*/\1/p')
s1=$(printf '%s\n' "$l1" | sed -n 's/^g1: sum \([0-9a-f]*\) size.*/\1/p')
ok "$([ -n "$s2" ] && [ "$s1" = "$s2" ]; echo $?)" "the 1 MiB file arrives whole (md5 ${s1:-none} = ${s2:-none})"
like "$l1" "size 1048576" "... all 1048576 bytes"

run "$UMLKIT" switch ports sw --output=json
is "$rc" 0 "switch ports --output=json: exit 0"
p1=$(port_of sw "guest g1 vec0")
p2=$(port_of sw "guest g2 vec0")
is "$(nports sw)" 2 "ports: two ports"
like "$p1" '"kind": "fd"' "g1's port is an fd port"
like "$p2" '"kind": "fd"' "g2's port is an fd port"
like "$p1" "\"macs\": \[ \"$M1\" \]" "g1's port learned g1's MAC (and only it)"
like "$p2" "\"macs\": \[ \"$M2\" \]" "g2's port learned g2's MAC (and only it)"
for f in rx_frames tx_frames rx_bytes tx_bytes; do
	ok "$([ "$(field "$p1" $f)" -gt 0 ] && [ "$(field "$p2" $f)" -gt 0 ]; echo $?)" \
		"both ports count $f (g1 $(field "$p1" $f), g2 $(field "$p2" $f))"
done
ok "$([ "$(field "$p2" rx_bytes)" -gt 1048576 ]; echo $?)" "g2's port received more than the 1 MiB it served"
is "$(field "$p1" rx_drops)/$(field "$p2" rx_drops)" "0/0" "no frames of the guests were dropped as malformed"
run "$UMLKIT" switch ports sw
like "$out" "fd +guest g1 vec0 .*$M1" "switch ports (text): g1's port and MAC"
run "$UMLKIT" switch fdb sw
is "$rc" 0 "switch fdb: exit 0"
like "$out" "$M1 +1 +$(field "$p1" port) " "fdb: g1's MAC on its port, VLAN 1"
like "$out" "$M2 +1 +$(field "$p2" port) " "fdb: g2's MAC on its port, VLAN 1"
run "$UMLKIT" switch list --output=json
like "$out" "\"pid\": $(swpid sw)," "list --output=json: the switch's pid"
like "$out" '"ports": 2,' "... and its two ports"

# ---------------------------------------------------------------- a capture of the ping
run timeout 30 "$UMLKIT" switch capture sw -w "$T/cap.pcap" --seconds 3
is "$rc" 0 "switch capture --seconds 3 while g1 pings: exit 0"
hex=$(od -An -v -tx1 "$T/cap.pcap" 2>/dev/null | tr -d ' \n')
is "${hex:0:8}" "d4c3b2a1" "pcap: magic a1b2c3d4 (little-endian)"
is "${hex:8:8}" "02000400" "pcap: version 2.4"
is "${hex:40:8}" "01000000" "pcap: linktype 1 (Ethernet)"
le32() { echo $((16#${1:6:2}${1:4:2}${1:2:2}${1:0:2})); }
off=48 nrec=0 req=0 rep=0 badrec=0
while [ $off -lt ${#hex} ]; do
	incl=$(le32 "${hex:off+16:8}")
	orig=$(le32 "${hex:off+24:8}")
	[ "$incl" = "$orig" ] && [ "$incl" -ge 14 ] && [ "$incl" -le 1518 ] || badrec=$((badrec + 1))
	f=${hex:off+32:incl*2}
	# IPv4 (0800), ICMP (proto 1) from 10.0.0.1 (0a000001) to 10.0.0.2 and back
	if [ "${f:24:4}" = 0800 ] && [ "${f:46:2}" = 01 ]; then
		[ "${f:52:16}/${f:68:2}" = 0a0000010a000002/08 ] && req=$((req + 1))
		[ "${f:52:16}/${f:68:2}" = 0a0000020a000001/00 ] && rep=$((rep + 1))
	fi
	off=$((off + 32 + incl * 2))
	nrec=$((nrec + 1))
	[ $nrec -gt 100000 ] && break
done
is "$off/$badrec" "${#hex}/0" "pcap: $nrec well-formed records that end where the file ends"
ok "$([ $req -ge 2 ] && [ $rep -ge 2 ]; echo $?)" "the capture holds ICMP echo requests ($req) from g1 and replies ($rep) from g2"
if command -v tcpdump >/dev/null; then
	n=$(tcpdump -nr "$T/cap.pcap" icmp 2>/dev/null | grep -c "10.0.0.1 > 10.0.0.2: ICMP echo request")
	ok "$([ "$n" -ge 2 ]; echo $?)" "tcpdump -r reads the capture ($n echo requests)"
fi
run "$UMLKIT" switch capture sw -w "$T/cap2.pcap" --port 400 --seconds 1
is "$rc" 1 "capture of a port that does not exist fails"
like "$err" "no port 400" "... saying so"
check "... and makes no file" -- test ! -e "$T/cap2.pcap"
echo "keep me" >"$T/cap3.pcap"
run "$UMLKIT" switch capture nosuch -w "$T/cap3.pcap" --seconds 1
is "$rc" 1 "capture on a switch that is not running fails"
is "$(cat "$T/cap3.pcap")" "keep me" "... and leaves the file of that name as it was"
# a FIFO (a reader at its other end, as wireshark -k -i FIFO) is written, not replaced
mkfifo "$T/cap.fifo"
timeout 20 od -An -tx1 -N4 "$T/cap.fifo" >"$T/fifo.out" &
fifo_reader=$!
UK_PIDS+=("$fifo_reader")
run timeout 20 "$UMLKIT" switch capture sw -w "$T/cap.fifo" --seconds 1
is "$rc" 0 "capture into a FIFO: exit 0"
wait "$fifo_reader"
forget_pid "$fifo_reader"
is "$(tr -d ' \n' <"$T/fifo.out")" "d4c3b2a1" "... its reader got the pcap header"
check "... and the FIFO is still a FIFO" -- test -p "$T/cap.fifo"

# ---------------------------------------------------------------- abuse while the guests talk
pid=$(swpid sw)
nfd() { ls "/proc/$pid/fd" 2>/dev/null | wc -l; }
fd0=$(nfd)
seqs() { logs g1 | grep -c 'bytes from 10.0.0.2: seq='; }
n0=$(seqs)
b0=$(bad_control sw)
run "$SWPEER" sw control
is "$rc" 0 "swpeer control: every bad control message was refused with an error"
[ "$rc" = 0 ] || diag "$err"
nbad=$(printf '%s\n' "$out" | sed -n 's/^bad \([0-9]*\)$/\1/p')
is "$(bad_control sw)" "$((b0 + ${nbad:-0}))" "list --output=json: bad_control grew by the $nbad bad messages"
like "$("$UMLKIT" switch list --output=json | tr -d ' \n')" '"name":"sw",[^}]*"fdb_evicted":0' \
	"... and fdb_evicted is 0: the learning table never filled"
like "$out" "unknown cmd: refused: unknown command" "an unknown command is named as such"
like "$out" "add-port with a pipe: refused: .*not a packet socket" "a pipe is not taken as a port"

"$SWPEER" sw frames --hold "$T/release" >"$T/frames.out" 2>"$T/frames.err" &
fpid=$!
UK_PIDS+=($fpid)
until_true 60 grep -q '^received B' "$T/frames.out"
ok $? "swpeer frames: malformed frames and a flood sent"
pa=$(sed -n 's/^port A //p' "$T/frames.out")
pc=$(sed -n 's/^port C //p' "$T/frames.out")
read -r fwd drops < <(sed -n 's/^sent A //p' "$T/frames.out")
pa_line() { ports_lines sw | grep "^\"port\": $pa,"; }
a_done() { local l; l=$(pa_line); [ $(($(field "$l" rx_frames) + $(field "$l" rx_drops))) -ge $((fwd + drops)) ]; }
until_true 20 a_done
l=$(pa_line)
is "$(field "$l" rx_drops)" "$drops" "ports: the malformed frames are counted in rx_drops"
is "$(field "$l" rx_frames)" "$fwd" "ports: the well-formed ones in rx_frames"
unlike "$(ports_lines sw)" "^\"port\": $pc," "the port that sent an empty packet (EOF) is gone"
touch "$T/release"
until_true 30 eval '! kill -0 $fpid 2>/dev/null'
wait "$fpid"
forget_pid "$fpid"
is "$?" 0 "swpeer frames: exit 0"

run "$SWPEER" sw churn 3
is "$rc" 0 "swpeer churn: 128 ports attached and gone, three times"
[ "$rc" = 0 ] || diag "$out" "$err"
is "$(printf '%s\n' "$out" | grep -c 'all gone')" 3 "... each round"

n1=$(seqs)
until_true 20 eval '[ "$(seqs)" -gt "$n1" ]'
ok $? "g1's ping replies continue after the abuse ($n0 before, $n1 after it, $(seqs) now)"
ok "$([ "$n1" -gt "$n0" ]; echo $?)" "... and continued during it"
s=$(logs g1 | sed -n 's/.*bytes from 10.0.0.2: seq=\([0-9]*\).*/\1/p')
diag "g1's continuous ping: $(printf '%s\n' "$s" | wc -l) replies, seq 0 to $(printf '%s\n' "$s" | tail -n 1)"
check "the switch is alive (pid $pid)" -- kill -0 "$pid"
until_true 10 eval '[ "$(nports sw)" = 2 ]'
is "$(ports_lines sw | sed -n 's/.*"peer": "\([^"]*\)".*/\1/p' | sort | tr '\n' ,)" \
	"guest g1 vec0,guest g2 vec0," "only the guests' ports are left"
until_true 10 eval '[ "$(nfd)" = "$fd0" ]'
is "$(nfd)" "$fd0" "the switch holds as many fds as before the abuse (no leak)"

# out of fds: connections are closed at once (not left in the backlog, where they kept the
# control socket readable and the switch busy), counted, and the guests keep talking
soft=$(prlimit --pid "$pid" --nofile --noheadings --output SOFT)
n2=$(seqs)
prlimit --pid "$pid" --nofile="$((fd0 + 3)):"
run "$SWPEER" sw exhaust 40
prlimit --pid "$pid" --nofile="$soft:"
like "$out" "closed [1-9][0-9]* silent 0" "out of fds: the switch closes the connections it cannot take ($out)"
like "$("$UMLKIT" switch list --output=json | tr -d ' \n')" '"name":"sw",[^}]*"conn_refused":[1-9]' \
	"... and counts them (conn_refused)"
until_true 20 eval '[ "$(seqs)" -gt "$n2" ]'
ok $? "... while g1's ping replies continue"
# 700 control connections that say nothing: the oldest are closed (64 are kept), so they
# take no room from the ports or from a request that comes after them
run "$SWPEER" sw idle 700
like "$out" "info answered" "700 idle control connections: a request after them is answered"
closed=$(sed -n 's/^idle 700 closed //p' <<<"$out")
ok "$([ "${closed:-0}" -ge 636 ]; echo $?)" "... the switch closed all but 64 of them ($closed)"
check "... and is alive" -- kill -0 "$pid"

# ---------------------------------------------------------------- a guest leaves
run "$UMLKIT" stop g2 --timeout 20
is "$rc" 0 "g2 stops"
until_true 10 eval '[ "$(nports sw)" = 1 ]'
is "$(nports sw)" 1 "its port is removed"
unlike "$("$UMLKIT" switch fdb sw)" "$M2" "... and its MAC forgotten"
"$UMLKIT" kill g1 >/dev/null 2>&1
run "$UMLKIT" switch stop sw
is "$rc" 0 "switch stop: exit 0"
check "... its control socket is gone" -- test ! -e "$(swdir sw)/ctl"
until_true 10 eval '! kill -0 '"$pid"' 2>/dev/null'
ok $? "... and so is its process"
run "$UMLKIT" switch stop sw
is "$rc" 1 "stopping a stopped switch fails"
like "$err" "switch 'sw' is not running" "... saying so"

# ---------------------------------------------------------------- VLANs
start_switch vl
guest a2 "switch:vl,vlan=10,mac=02:00:00:00:10:02" 10.0.0.2 ''
guest b2 "switch:vl,vlan=20,mac=02:00:00:00:20:02" 10.0.0.2 'ip addr add 10.0.0.22/24 dev vec0'
guest a1 "switch:vl,vlan=10,mac=02:00:00:00:10:01" 10.0.0.1 '
ping -c 3 -W 2 10.0.0.2 >/dev/null; echo "a1: own rc=$?"
ping -c 2 -W 1 10.0.0.22 >/dev/null; echo "a1: other rc=$?"
echo "a1: done"'
guest b1 "switch:vl,vlan=20,mac=02:00:00:00:20:01" 10.0.0.1 '
ping -c 3 -W 2 10.0.0.2 >/dev/null; echo "b1: own rc=$?"
ping -c 2 -W 1 10.0.0.22 >/dev/null; echo "b1: other rc=$?"
echo "b1: done"'
until_true 60 eval 'log_has a1 "a1: done" && log_has b1 "b1: done"'
ok $? "both pairs report on the console"
like "$(logs a1)" "a1: own rc=0" "VLAN 10: a1 pings a2"
like "$(logs b1)" "b1: own rc=0" "VLAN 20: b1 pings b2 (the same address)"
like "$(logs b1)" "b1: other rc=0" "VLAN 20: b1 reaches b2's second address 10.0.0.22"
like "$(logs a1)" "a1: other rc=1" "VLAN 10: a1 cannot reach 10.0.0.22 (it is on VLAN 20)"
L=$(ports_lines vl)
pl() { printf '%s\n' "$L" | grep -F "\"peer\": \"guest $1 vec0\","; }
like "$(pl a1)" '"vlan": 10,' "ports: a1 is on VLAN 10"
like "$(pl b1)" '"vlan": 20,' "ports: b1 is on VLAN 20"
crossed=0
for pair in "a1 a2" "a2 a1" "b1 b2" "b2 b1"; do
	set -- $pair
	out_n=$(($(field "$(pl "$1")" tx_frames) + $(field "$(pl "$1")" tx_drops)))
	in_n=$(field "$(pl "$2")" rx_frames)
	[ "$out_n" = "$in_n" ] || { crossed=1; diag "$1 got $out_n frames, $2 sent $in_n"; }
done
is "$crossed" 0 "frame counters: each guest got exactly the frames its partner sent, none from the other VLAN"
run "$UMLKIT" switch fdb vl --output=json
F=$(printf '%s' "$out" | tr -d ' \n')
like "$F" '"mac":"02:00:00:00:10:01","vlan":10' "fdb: a1's MAC learned in VLAN 10"
like "$F" '"mac":"02:00:00:00:20:01","vlan":20' "fdb: b1's MAC learned in VLAN 20"
for g in a1 a2 b1 b2; do "$UMLKIT" kill $g >/dev/null 2>&1; done
pid=$(swpid vl)
kill -TERM "$pid"
until_true 10 test ! -e "$(swdir vl)/ctl"
ok $? "SIGTERM: the switch removes its control socket"
until_true 10 eval '! kill -0 '"$pid"' 2>/dev/null'
ok $? "... and ends"
run "$UMLKIT" switch list
unlike "$out" "^vl " "list no longer shows it"

# ---------------------------------------------------------------- hub
start_switch hb --hub
run "$UMLKIT" switch list --output=json
like "$(printf '%s' "$out" | tr -d ' \n')" '"name":"hb","pid":[0-9]+,"mtu":1500,"hub":true' "list: hb is a hub"
guest h3 "switch:hb" 10.0.0.3 ''
guest h2 "switch:hb" 10.0.0.2 ''
guest h1 "switch:hb" 10.0.0.1 '
ping -c 10 -i 0.2 -W 2 10.0.0.2 >/dev/null; echo "h1: ping rc=$?"
echo "h1: done"'
until_true 60 log_has h1 "h1: done"
like "$(logs h1)" "h1: ping rc=0" "h1 pings h2 through the hub"
h3=$(port_of hb "guest h3 vec0")
ok "$([ "$(field "$h3" tx_frames)" -ge 20 ]; echo $?)" \
	"--hub: h3's port was sent the 20 unicast frames between h1 and h2 (tx_frames $(field "$h3" tx_frames))"
run "$UMLKIT" switch fdb hb --output=json
is "$(printf '%s' "$out" | tr -d ' \n')" "[]" "--hub learns nothing"
for g in h1 h2 h3; do "$UMLKIT" kill $g >/dev/null 2>&1; done
run "$UMLKIT" switch stop hb
is "$rc" 0 "switch stop hb"

# ---------------------------------------------------------------- moderation settings
start_switch mod0 --coalesce 0
start_switch mod1
run "$UMLKIT" switch list --output=json
like "$(tr -d ' \n' <<<"$out")" '"name":"mod0"[^}]*"coalesce_us":0' "list shows the pause of --coalesce 0"
like "$(tr -d ' \n' <<<"$out")" '"name":"mod1"[^}]*"coalesce_us":10000' "... and the default longest pause (10000 us) of another"
like "$(tr -d ' \n' <<<"$out")" '"name":"mod0"[^}]*"loaded":false' "an idle switch is not loaded"
run "$SWPEER" mod1 pace
is "$rc" 0 "swpeer pace: a load of 10 full-size frames a ms is paced, a frame every 50 ms beside it is not"
[ "$rc" = 0 ] || diag "$out" "$err"
like "$out" "L paced yes" "... the loading port's frames wait for the pauses"
like "$out" "P paced never" "... the occasional sender's never do"
like "$out" "Q got ([0-9]+) of \1" "... and every one of its frames arrived"
run "$SWPEER" mod0 pace
is "$rc" 1 "swpeer pace on --coalesce 0: nothing pauses, so nothing is paced"
like "$out" "loaded no" "... the switch never counts as loaded"
start_switch modnat --nat
run "$SWPEER" modnat pace --nat
is "$rc" 0 "swpeer pace --nat: beside a load, the NAT uplink is not paced"
[ "$rc" = 0 ] || diag "$out" "$err"
like "$out" "L paced yes" "... while the loading port is"
like "$out" "NAT paced never" "... the NAT's answers do not wait for the pauses"
like "$out" "P got ([0-9]+) answers of \1" "... and it answered every ARP request"
run "$UMLKIT" switch stop modnat
is "$rc" 0 "switch stop modnat"
run "$UMLKIT" switch legacy mod0
is "$rc" 1 "switch legacy on a switch without --legacy fails"
like "$err" "switch 'mod0': unknown command \"legacy\"" "... saying so"
run "$UMLKIT" switch stop mod0
is "$rc" 0 "switch stop mod0"
run "$UMLKIT" switch stop mod1
is "$rc" 0 "switch stop mod1"

# ---------------------------------------------------------------- bad input
bad() { # bad WANT-RC REGEX NAME ARGS...
	local want=$1 re=$2 name=$3
	shift 3
	run "$UMLKIT" "$@"
	is "$rc" "$want" "$name: exit $want"
	like "$err" "$re" "$name: message"
}
bad 2 "unknown option '--bogus'" "unknown option" switch start x --bogus
bad 2 "option '--mtu' needs a value" "--mtu without its value" switch start x --mtu
bad 2 "option '-w' needs a value" "-w without its value" switch capture x -w
bad 2 "--mtu 10: 68\.\.65500" "MTU too small" switch start x --mtu 10
bad 2 "--mtu 70000: 68\.\.65500" "MTU too large" switch start x --mtu 70000
bad 2 "--mtu lots: 68\.\.65500" "MTU not a number" switch start x --mtu lots
bad 2 "--coalesce 20001: microseconds, 0\.\.20000" "--coalesce too large" switch start x --coalesce 20001
bad 2 "--coalesce -5: microseconds" "--coalesce negative" switch start x --coalesce -5
bad 2 "--coalesce soon: microseconds" "--coalesce not a number" switch start x --coalesce soon
bad 2 "character '/' is not allowed" "a name with /" switch start a/b
bad 2 "is longer than 32 characters" "a name too long" switch start "$(printf 's%.0s' $(seq 33))"
bad 2 "may not start with '\.'" "a name starting with ." switch start .x
bad 2 "start needs NAME" "start without a name" switch start
bad 2 "unknown switch command 'frobnicate'" "unknown command" switch frobnicate
bad 2 "capture needs NAME and -w FILE" "capture without -w" switch capture x
bad 2 "--seconds 1844674407370955162: a number from 1 to 31536000" "capture --seconds huge" \
	switch capture x -w "$T/f.pcap" --seconds 1844674407370955162
bad 1 "switch 'nosuch' is not running" "ports of no switch" switch ports nosuch
"$UMLKIT" switch stop nosuch >/dev/null 2>&1
check "... and asking about it (ports, stop) makes no directory for it" -- test ! -e "$(dirname "$(swdir sw)")/nosuch"
# an option the command does not take is refused, not ignored
bad 2 "option '--hub' does not apply to 'switch link'" "link --hub" switch link a b --hub
bad 2 "option '--vlan' does not apply to 'switch stop'" "stop --vlan" switch stop x --vlan 5
bad 2 "option '--foreground' does not apply to 'switch ports'" "ports -f" switch ports x -f
bad 2 "option '--output' does not apply to 'switch start'" "start --output" switch start x --output=json
bad 2 "option '-w' does not apply to 'switch fdb'" "fdb -w" switch fdb x -w "$T/f.pcap"
bad 2 "option '--trunk' does not apply to 'switch link'" "link --trunk" switch link a b --trunk
check "... and -w made no file" -- test ! -e "$T/f.pcap"
check "the refused starts left no switch running" -- eval '[ -z "$("$UMLKIT" switch list --output=json | grep name)" ]'
D=(--mem 64M --disk "$T/x.cow,$T/base.img" --append init=/init)
bad 1 "switch 'nosuch' is not running" "--net switch:nosuch" start --name x "${D[@]}" --net switch:nosuch
check "... and creates no COW" -- test ! -e "$T/x.cow"
bad 2 "vlan must be 1\.\.4094" "--net vlan=5000" start --name x "${D[@]}" --net switch:sw,vlan=5000
bad 2 "vlan must be 1\.\.4094" "--net vlan=0" start --name x "${D[@]}" --net switch:sw,vlan=0
bad 2 "vlan must be 1\.\.4094" "--net vlan=ten" start --name x "${D[@]}" --net switch:sw,vlan=ten
bad 2 "unknown option 'speed=10'" "--net unknown option" start --name x "${D[@]}" --net switch:sw,speed=10
bad 2 "character '/' is not allowed" "--net a bad switch name" start --name x "${D[@]}" --net switch:a/b
check "the refused guests created no COW" -- test ! -e "$T/x.cow"

# ---------------------------------------------------------------- a full learning table
# 4096 addresses make replies bigger than a socket message may be (about 250 KiB of JSON, the
# host caps a socket's buffer near 200 KiB): they come in a file
start_switch big 7>"$T/held"
held=$(ls -l "/proc/$(swpid big)/fd" 2>/dev/null | grep -c "$T/held")
is "$held" 0 "the daemon keeps no fd of its starter's (fd 7, open on a file, was left behind)"
"$SWPEER" big macs 4096 --hold "$T/big.release" >"$T/macs.out" 2>&1 &
mpid=$!
UK_PIDS+=("$mpid")
big_info() { "$UMLKIT" switch list --output=json | jq ".[] | select(.name == \"big\") | $1"; }
fdb_count() { "$UMLKIT" switch fdb big --output=json 2>"$T/fdb.err" | jq length; }
big_rx() { "$UMLKIT" switch ports big --output=json | jq '.[0].rx_frames'; }
until_true 30 eval '[ "$(big_rx)" = 4096 ]'
ev=$(big_info .fdb_evicted)
ok "$([ "${ev:-99}" -lt 10 ]; echo $?)" "the learning table takes 4096 addresses (it forgot ${ev:-?})"
want=$((4096 - ${ev:-0}))
is "$(fdb_count)" "$want" "switch fdb --output=json lists every address it holds ($want)"
is "$(cat "$T/fdb.err")" "" "... without an error"
run "$UMLKIT" switch ports big --output=json
is "$(printf '%s' "$out" | jq '.[0].macs | length')" "$want" "switch ports lists the port's $want addresses"
is "$("$UMLKIT" switch fdb big | grep -c '02:aa:00:')" "$want" "switch fdb prints them as a table"
touch "$T/big.release"
wait "$mpid"
is "$?" 0 "swpeer macs: the frames were sent"
forget_pid "$mpid"
run "$UMLKIT" switch stop big
is "$rc" 0 "the switch stops"

# ---------------------------------------------------------------- a stuck switch
# stopped (SIGSTOP) with its backlog full: commands give up after 10 s, stop kills it
start_switch wedge
wpid=$(swpid wedge)
kill -STOP "$wpid"
timeout 5 "$SWPEER" wedge idle 100 >/dev/null 2>&1 # fills the backlog, then blocks
run timeout 60 "$UMLKIT" switch stop wedge
is "$rc" 0 "switch stop of a stuck switch whose backlog is full: exit 0 (not hanging)"
like "$err" "takes no connections \(it is stuck\?\); stopping it with SIGTERM" \
	"... it says why it sends SIGTERM"
like "$err" "did not stop; killed" "... it says it killed it"
until_true 10 eval '! kill -0 '"$wpid"' 2>/dev/null'
ok $? "... and the process is gone"
done_testing
