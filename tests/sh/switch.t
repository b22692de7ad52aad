#!/bin/bash
# umlkit switch with real guests on fd ports (`umlkit start --net switch:SW`): two guests ping
# and move 1 MiB over HTTP; ports and fdb show them, their MACs and their counters; a capture
# holds the ICMP frames of a ping in pcap format; a misbehaving peer (tests/helpers/swpeer:
# malformed frames, floods, bad control messages, 128 ports coming and going) is dropped,
# counted and survived while the guests keep talking; under load the loading port is paced
# and an occasional sender beside it is not, nor a NAT uplink that answers it; a stopped
# guest's port goes; VLANs keep two pairs with the same addresses apart; --hub floods; stop
# and SIGTERM remove the control socket; a running name is refused; bad input gives clear
# errors; a full learning table is listed whole; a stuck switch is stopped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
test_need_guests
SWPEER="$UK_BUILD/tests/helpers/swpeer"
test_lazy_prereq SWPEER '[ -x "$SWPEER" ]' # make test-build
# tcpdump (scripts/deps): a further reader of the capture
test_lazy_prereq TCPDUMP 'command -v tcpdump'

M1=02:00:00:00:0a:01 M2=02:00:00:00:0a:02
list_json() { "$UMLKIT" switch list --output=json; }

test_expect_success BUSYBOX 'setup: the guest image' '
	guest_image "$T/base.img" 32M &&
	test_set_prereq IMAGE
'

# ---------------------------------------------------------------- two guests, ping and data
test_switch_start sw
test_expect_success SW_sw 'a second switch with a running name is refused (exit 1)' '
	run "$UMLKIT" switch start sw &&
	test_is "$rc" 1
'
test_expect_success SW_sw '... naming the running one' '
	test_like "$err" "switch ${SQ}sw${SQ} is already running \(pid $(swpid sw)\)"
'
G1_BODY='
ping -c 5 -W 2 10.0.0.2 >/dev/null; echo "g1: ping rc=$?"
wget -q -O /tmp/data http://10.0.0.2/data; echo "g1: wget rc=$?"
echo "g1: sum $(md5sum /tmp/data | cut -d" " -f1) size $(wc -c </tmp/data)"
echo "g1: fetched"
ping -i 0.2 10.0.0.2'
test_expect_success IMAGE,SW_sw "guest g2 on switch:sw,mac=$M2 starts" '
	start_guest g2 "switch:sw,mac=$M2" 10.0.0.2 "$(server_body g2 1024)" &&
	test_set_prereq G2
'
test_expect_success IMAGE,SW_sw "guest g1 on switch:sw,mac=$M1 starts" '
	start_guest g1 "switch:sw,mac=$M1" 10.0.0.1 "$G1_BODY" &&
	test_set_prereq G1
'
test_expect_success G1 'g1 reports its ping and fetch on the console' '
	until_true 60 log_has g1 "g1: fetched" &&
	test_set_prereq FETCHED
'
test_expect_success FETCHED,G2 'g1 pings g2 over the switch' '
	test_like "$(logs g1)" "g1: ping rc=0"
'
test_expect_success FETCHED,G2 "g1 fetches g2's file with wget" '
	test_like "$(logs g1)" "g1: wget rc=0"
'
test_expect_success FETCHED,G2 'the 1 MiB file arrives whole (the md5 sums agree)' '
	s2=$(logs g2 | sed -n "s/^g2: sum \([0-9a-f]*\).*/\1/p") &&
	s1=$(logs g1 | sed -n "s/^g1: sum \([0-9a-f]*\) size.*/\1/p") &&
	test_isnt "$s2" "" &&
	test_is "$s1" "$s2"
'
test_expect_success FETCHED,G2 '... all 1048576 bytes' '
	test_like "$(logs g1)" "size 1048576"
'

ports= p1= p2=
pick() { jq -c --arg p "$1" '.[] | select(.peer == $p)' <<<"$ports"; } # pick PEER: of $ports
test_expect_success SW_sw 'switch ports --output=json: exit 0' '
	run "$UMLKIT" switch ports sw --output=json &&
	test_is "$rc" 0 &&
	ports=$out &&
	p1=$(pick "guest g1 vec0") &&
	p2=$(pick "guest g2 vec0")
'
test_expect_success FETCHED,G2 'ports: two ports' '
	test_is "$(json length "$ports")" 2
'
test_expect_success FETCHED "g1's port is an fd port" '
	test_is "$(json .kind "$p1")" fd
'
test_expect_success G2 "g2's port is an fd port" '
	test_is "$(json .kind "$p2")" fd
'
test_expect_success FETCHED "g1's port learned g1's MAC (and only it)" '
	test_is "$(json ".macs | @json" "$p1")" "[\"$M1\"]"
'
test_expect_success FETCHED,G2 "g2's port learned g2's MAC (and only it)" '
	test_is "$(json ".macs | @json" "$p2")" "[\"$M2\"]"
'
for f in rx_frames tx_frames rx_bytes tx_bytes; do
	test_expect_success FETCHED,G2 "both ports count $f" '
		echo "g1 $(json .$f "$p1"), g2 $(json .$f "$p2")" &&
		test "$(json .$f "$p1")" -gt 0 &&
		test "$(json .$f "$p2")" -gt 0
	'
done
test_expect_success FETCHED,G2 "g2's port received more than the 1 MiB it served" '
	echo "rx_bytes $(json .rx_bytes "$p2")" &&
	test "$(json .rx_bytes "$p2")" -gt 1048576
'
test_expect_success FETCHED,G2 'no frames of the guests were dropped as malformed' '
	test_is "$(json .rx_drops "$p1")/$(json .rx_drops "$p2")" "0/0"
'
test_expect_success FETCHED "switch ports (text): g1's port and MAC" '
	run "$UMLKIT" switch ports sw &&
	test_like "$out" "fd +guest g1 vec0 .*$M1"
'
test_expect_success SW_sw 'switch fdb: exit 0' '
	run "$UMLKIT" switch fdb sw &&
	test_is "$rc" 0 &&
	fdb=$out
'
test_expect_success FETCHED "fdb: g1's MAC on its port, VLAN 1" '
	test_like "$fdb" "$M1 +1 +$(json .port "$p1") "
'
test_expect_success FETCHED,G2 "fdb: g2's MAC on its port, VLAN 1" '
	test_like "$fdb" "$M2 +1 +$(json .port "$p2") "
'
test_expect_success SW_sw "list --output=json: the switch's pid" '
	test_is "$(sw_info sw .pid)" "$(swpid sw)"
'
test_expect_success FETCHED,G2 '... and its two ports' '
	test_is "$(sw_info sw .ports)" 2
'

# ---------------------------------------------------------------- a capture of the ping
hex=
le32() { echo $((16#${1:6:2}${1:4:2}${1:2:2}${1:0:2})); }
read_pcap() { # read_pcap FILE: hex (the file in hex), nrec, req, rep, badrec, off
	local incl orig f
	hex=$(od -An -v -tx1 "$1" 2>/dev/null | tr -d ' \n')
	off=48 nrec=0 req=0 rep=0 badrec=0
	while [ $off -lt ${#hex} ]; do
		# a record header cut short: a bad record, and the end of the walk
		[ $((off + 32)) -le ${#hex} ] || { badrec=$((badrec + 1)); break; }
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
	echo "pcap: $nrec records, $badrec bad, $req echo requests, $rep replies"
}
test_expect_success SW_sw 'switch capture --seconds 3 while g1 pings: exit 0' '
	run timeout 30 "$UMLKIT" switch capture sw -w "$T/cap.pcap" --seconds 3 &&
	test_is "$rc" 0 &&
	read_pcap "$T/cap.pcap" &&
	test_set_prereq CAP
'
test_expect_success CAP 'pcap: magic a1b2c3d4 (little-endian)' '
	test_is "${hex:0:8}" "d4c3b2a1"
'
test_expect_success CAP 'pcap: version 2.4' '
	test_is "${hex:8:8}" "02000400"
'
test_expect_success CAP 'pcap: linktype 1 (Ethernet)' '
	test_is "${hex:40:8}" "01000000"
'
test_expect_success CAP 'pcap: well-formed records that end where the file ends' '
	test_is "$off/$badrec" "${#hex}/0"
'
test_expect_success CAP,FETCHED,G2 'the capture holds ICMP echo requests from g1 and replies from g2' '
	echo "$req requests, $rep replies" &&
	test "$req" -ge 2 &&
	test "$rep" -ge 2
'
test_expect_success CAP,TCPDUMP,FETCHED,G2 'tcpdump -r reads the capture' '
	n=$(tcpdump -nr "$T/cap.pcap" icmp 2>/dev/null | grep -c "10.0.0.1 > 10.0.0.2: ICMP echo request") &&
	echo "$n echo requests" &&
	test "$n" -ge 2
'
test_expect_success SW_sw 'capture of a port that does not exist fails' '
	run "$UMLKIT" switch capture sw -w "$T/cap2.pcap" --port 400 --seconds 1 &&
	test_is "$rc" 1
'
test_expect_success SW_sw '... saying so' '
	test_like "$err" "no port 400"
'
test_expect_success SW_sw '... and makes no file' '
	test_path_is_missing "$T/cap2.pcap"
'
test_expect_success 'capture on a switch that is not running fails' '
	echo "keep me" >"$T/cap3.pcap" &&
	run "$UMLKIT" switch capture nosuch -w "$T/cap3.pcap" --seconds 1 &&
	test_is "$rc" 1
'
test_expect_success '... and leaves the file of that name as it was' '
	test_is "$(cat "$T/cap3.pcap")" "keep me"
'
# a FIFO (a reader at its other end, as wireshark -k -i FIFO) is written, not replaced
fifo_reader=
test_expect_success SW_sw 'capture into a FIFO: exit 0' '
	mkfifo "$T/cap.fifo" &&
	{ timeout 20 od -An -tx1 -N4 "$T/cap.fifo" >"$T/fifo.out" & } &&
	fifo_reader=$! &&
	UK_PIDS+=("$fifo_reader") &&
	run timeout 20 "$UMLKIT" switch capture sw -w "$T/cap.fifo" --seconds 1 &&
	test_is "$rc" 0 &&
	test_set_prereq FIFO
'
test_expect_success FIFO '... its reader got the pcap header' '
	wait "$fifo_reader" # bounded: the reader runs under timeout 20
	forget_pid "$fifo_reader"
	test_is "$(tr -d " \n" <"$T/fifo.out")" "d4c3b2a1"
'
test_expect_success FIFO '... and the FIFO is still a FIFO' '
	test -p "$T/cap.fifo"
'

# ---------------------------------------------------------------- abuse while the guests talk
pid= fd0= n0= n1= n2= ctl_out=
nfd() { find "/proc/$pid/fd" -mindepth 1 2>/dev/null | wc -l; }
seqs() { logs g1 | grep -c 'bytes from 10.0.0.2: seq=' || :; } # the count, 0 too
test_expect_success SW_sw,SWPEER 'swpeer control: every bad control message was refused with an error' '
	pid=$(swpid sw) &&
	fd0=$(nfd) &&
	n0=$(seqs) &&
	b0=$(sw_info sw .bad_control) &&
	is_num "$b0" &&
	run "$SWPEER" sw control &&
	ctl_out=$out &&
	test_set_prereq CONTROL &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success CONTROL 'list --output=json: bad_control grew by the bad messages' '
	nbad=$(sed -n "s/^bad \([0-9]*\)$/\1/p" <<<"$ctl_out") &&
	echo "$nbad bad messages" &&
	test_is "$(sw_info sw .bad_control)" "$((b0 + ${nbad:-0}))"
'
test_expect_success CONTROL '... and fdb_evicted is 0: the learning table never filled' '
	test_is "$(sw_info sw .fdb_evicted)" 0
'
test_expect_success CONTROL 'an unknown command is named as such' '
	test_like "$ctl_out" "unknown cmd: refused: unknown command"
'
test_expect_success CONTROL 'a pipe is not taken as a port' '
	test_like "$ctl_out" "add-port with a pipe: refused: .*not a packet socket"
'

fpid= pa= pc= fwd= drops=
frames_received() { grep -q '^received B' "$T/frames.out"; }
pa_line() { ports_json sw | jq -c --argjson p "$pa" '.[] | select(.port == $p)'; }
a_done() {
	local l r d
	l=$(pa_line)
	r=$(json .rx_frames "$l")
	d=$(json .rx_drops "$l")
	is_num "$r" && is_num "$d" && [ $((r + d)) -ge $((fwd + drops)) ]
}
test_expect_success SW_sw,SWPEER 'swpeer frames: malformed frames and a flood sent' '
	{ "$SWPEER" sw frames --hold "$T/release" >"$T/frames.out" 2>"$T/frames.err" & } &&
	fpid=$! &&
	UK_PIDS+=($fpid) &&
	until_true 60 frames_received &&
	pa=$(sed -n "s/^port A //p" "$T/frames.out") &&
	pc=$(sed -n "s/^port C //p" "$T/frames.out") &&
	read -r fwd drops < <(sed -n "s/^sent A //p" "$T/frames.out") &&
	is_num "$pa" && is_num "$pc" && is_num "$fwd" && is_num "$drops" &&
	test_set_prereq FRAMES
'
test_expect_success FRAMES 'ports: the malformed frames are counted in rx_drops' '
	until_true 20 a_done
	l=$(pa_line) &&
	test_is "$(json .rx_drops "$l")" "$drops"
'
test_expect_success FRAMES 'ports: the well-formed ones in rx_frames' '
	test_is "$(json .rx_frames "$l")" "$fwd"
'
test_expect_success FRAMES 'the port that sent an empty packet (EOF) is gone' '
	test_is "$(ports_json sw | jq --argjson p "$pc" "any(.[]; .port == \$p)")" false
'
test_expect_success FRAMES 'swpeer frames: exit 0' '
	touch "$T/release" &&
	wait_gone "$fpid" 30 &&
	{ wait "$fpid"; st=$?; forget_pid "$fpid"; test_is "$st" 0; }
'

test_expect_success SW_sw,SWPEER 'swpeer churn: 128 ports attached and gone, three times' '
	run "$SWPEER" sw churn 3 &&
	echo "$out" "$err" &&
	test_is "$rc" 0
'
test_expect_success SW_sw,SWPEER '... each round' '
	test_is "$(grep -c "all gone" <<<"$out")" 3
'

replies_after() { [ "$(seqs)" -gt "$1" ]; }
test_expect_success CONTROL,FETCHED,G2 "g1's ping replies continue after the abuse" '
	n1=$(seqs) &&
	until_true 20 replies_after "$n1" &&
	s=$(logs g1 | sed -n "s/.*bytes from 10.0.0.2: seq=\([0-9]*\).*/\1/p") &&
	echo "$n0 before, $n1 after it, $(seqs) now; $(wc -l <<<"$s") replies, seq 0 to $(tail -n 1 <<<"$s")"
'
test_expect_success CONTROL,FETCHED,G2 '... and continued during it' '
	test "$n1" -gt "$n0"
'
test_expect_success CONTROL 'the switch is alive' '
	kill -0 "$pid"
'
two_ports() { [ "$(nports sw)" = 2 ]; }
test_expect_success FETCHED,G2 "only the guests' ports are left" '
	until_true 10 two_ports
	test_is "$(ports_json sw | jq -r "[.[].peer] | sort | join(\",\")")" "guest g1 vec0,guest g2 vec0"
'
fds_back() { [ "$(nfd)" = "$fd0" ]; }
test_expect_success CONTROL 'the switch holds as many fds as before the abuse (no leak)' '
	until_true 10 fds_back
	test_is "$(nfd)" "$fd0"
'

# out of fds: connections are closed at once (not left in the backlog, where they kept the
# control socket readable and the switch busy), counted, and the guests keep talking
test_expect_success CONTROL 'out of fds: the switch closes the connections it cannot take' '
	soft=$(prlimit --pid "$pid" --nofile --noheadings --output SOFT) &&
	n2=$(seqs) &&
	test_when_finished "prlimit --pid $pid --nofile=$soft:" &&
	prlimit --pid "$pid" --nofile="$((fd0 + 3)):" &&
	run "$SWPEER" sw exhaust 40 &&
	prlimit --pid "$pid" --nofile="$soft:" &&
	test_like "$out" "closed [1-9][0-9]* silent 0"
'
test_expect_success CONTROL '... and counts them (conn_refused)' '
	test "$(sw_info sw .conn_refused)" -ge 1
'
test_expect_success CONTROL,FETCHED,G2 "... while g1's ping replies continue" '
	until_true 20 replies_after "$n2"
'
# 700 control connections that say nothing: the oldest are closed (64 are kept), so they
# take no room from the ports or from a request that comes after them
test_expect_success CONTROL '700 idle control connections: a request after them is answered' '
	run "$SWPEER" sw idle 700 &&
	test_like "$out" "info answered"
'
test_expect_success CONTROL '... the switch closed all but 64 of them' '
	closed=$(sed -n "s/^idle 700 closed //p" <<<"$out") &&
	echo "closed $closed" &&
	test "${closed:-0}" -ge 636
'
test_expect_success CONTROL '... and is alive' '
	kill -0 "$pid"
'

# ---------------------------------------------------------------- a guest leaves
test_expect_success G2 'g2 stops' '
	run "$UMLKIT" stop g2 --timeout 20 &&
	test_is "$rc" 0 &&
	test_set_prereq G2_STOPPED
'
one_port() { [ "$(nports sw)" = 1 ]; }
test_expect_success G2_STOPPED,G1 'its port is removed' '
	until_true 10 one_port
	test_is "$(nports sw)" 1
'
test_expect_success G2_STOPPED '... and its MAC forgotten' '
	test_unlike "$("$UMLKIT" switch fdb sw)" "$M2"
'
"$UMLKIT" kill g1 >/dev/null 2>&1
not_alive() { ! pid_alive "$1"; }
test_expect_success SW_sw 'switch stop: exit 0' '
	pid=$(swpid sw) &&
	sw_stop sw &&
	test_is "$rc" 0 &&
	test_set_prereq SW_STOPPED
'
test_expect_success SW_STOPPED '... its control socket is gone' '
	test_path_is_missing "$(swdir sw)/ctl"
'
test_expect_success SW_STOPPED '... and so is its process' '
	until_true 10 not_alive "$pid" &&
	forget_pid "$pid"
'
test_expect_success SW_STOPPED 'stopping a stopped switch fails' '
	run "$UMLKIT" switch stop sw &&
	test_is "$rc" 1
'
test_expect_success SW_STOPPED '... saying so' '
	test_like "$err" "switch ${SQ}sw${SQ} is not running"
'

# ---------------------------------------------------------------- VLANs
test_switch_start vl
A1_BODY='
ping -c 3 -W 2 10.0.0.2 >/dev/null; echo "a1: own rc=$?"
ping -c 2 -W 1 10.0.0.22 >/dev/null; echo "a1: other rc=$?"
echo "a1: done"'
B1_BODY='
ping -c 3 -W 2 10.0.0.2 >/dev/null; echo "b1: own rc=$?"
ping -c 2 -W 1 10.0.0.22 >/dev/null; echo "b1: other rc=$?"
echo "b1: done"'
test_expect_success IMAGE,SW_vl 'guest a2 on VLAN 10 starts' '
	start_guest a2 "switch:vl,vlan=10,mac=02:00:00:00:10:02" 10.0.0.2 "" &&
	test_set_prereq A2
'
test_expect_success IMAGE,SW_vl 'guest b2 on VLAN 20 starts' '
	start_guest b2 "switch:vl,vlan=20,mac=02:00:00:00:20:02" 10.0.0.2 "ip addr add 10.0.0.22/24 dev vec0" &&
	test_set_prereq B2
'
test_expect_success IMAGE,SW_vl 'guest a1 on VLAN 10 starts' '
	start_guest a1 "switch:vl,vlan=10,mac=02:00:00:00:10:01" 10.0.0.1 "$A1_BODY" &&
	test_set_prereq A1
'
test_expect_success IMAGE,SW_vl 'guest b1 on VLAN 20 starts' '
	start_guest b1 "switch:vl,vlan=20,mac=02:00:00:00:20:01" 10.0.0.1 "$B1_BODY" &&
	test_set_prereq B1
'
pairs_done() { log_has a1 "a1: done" && log_has b1 "b1: done"; }
test_expect_success A1,A2,B1,B2 'both pairs report on the console' '
	until_true 60 pairs_done &&
	test_set_prereq PAIRS
'
test_expect_success PAIRS 'VLAN 10: a1 pings a2' '
	test_like "$(logs a1)" "a1: own rc=0"
'
test_expect_success PAIRS 'VLAN 20: b1 pings b2 (the same address)' '
	test_like "$(logs b1)" "b1: own rc=0"
'
test_expect_success PAIRS "VLAN 20: b1 reaches b2's second address 10.0.0.22" '
	test_like "$(logs b1)" "b1: other rc=0"
'
test_expect_success PAIRS 'VLAN 10: a1 cannot reach 10.0.0.22 (it is on VLAN 20)' '
	test_like "$(logs a1)" "a1: other rc=1"
'
L=
pl() { jq -c --arg p "guest $1 vec0" '.[] | select(.peer == $p)' <<<"$L"; }
test_expect_success PAIRS 'ports: a1 is on VLAN 10' '
	L=$(ports_json vl) &&
	test_is "$(json .vlan "$(pl a1)")" 10
'
test_expect_success PAIRS 'ports: b1 is on VLAN 20' '
	test_is "$(json .vlan "$(pl b1)")" 20
'
test_expect_success PAIRS 'frame counters: each guest got exactly the frames its partner sent, none from the other VLAN' '
	crossed=0 &&
	for pair in "a1 a2" "a2 a1" "b1 b2" "b2 b1"; do
		set -- $pair
		tx=$(json .tx_frames "$(pl "$1")")
		txd=$(json .tx_drops "$(pl "$1")")
		in_n=$(json .rx_frames "$(pl "$2")")
		if ! is_num "$tx" || ! is_num "$txd" || ! is_num "$in_n"; then
			crossed=1
			echo "no counters of $1 or $2"
		elif [ $((tx + txd)) != "$in_n" ]; then
			crossed=1
			echo "$1 got $((tx + txd)) frames, $2 sent $in_n"
		fi
	done &&
	test_is "$crossed" 0
'
test_expect_success PAIRS "fdb: a1's MAC learned in VLAN 10" '
	run "$UMLKIT" switch fdb vl --output=json &&
	test_is "$(json ".[] | select(.mac == \"02:00:00:00:10:01\") | .vlan")" 10
'
test_expect_success PAIRS "fdb: b1's MAC learned in VLAN 20" '
	test_is "$(json ".[] | select(.mac == \"02:00:00:00:20:01\") | .vlan")" 20
'
for g in a1 a2 b1 b2; do "$UMLKIT" kill $g >/dev/null 2>&1; done
test_expect_success SW_vl 'SIGTERM: the switch removes its control socket' '
	pid=$(swpid vl) &&
	kill -TERM "$pid" &&
	until_true 10 test ! -e "$(swdir vl)/ctl" &&
	test_set_prereq VL_TERM
'
test_expect_success VL_TERM '... and ends' '
	until_true 10 not_alive "$pid" &&
	forget_pid "$pid"
'
test_expect_success VL_TERM 'list no longer shows it' '
	run "$UMLKIT" switch list &&
	test_unlike "$out" "^vl "
'

# ---------------------------------------------------------------- hub
test_switch_start hb --hub
test_expect_success SW_hb 'list: hb is a hub' '
	test_like "$(sw_info hb .pid)" "^[0-9]+$" &&
	test_is "$(sw_info hb "\"\(.mtu) \(.hub)\"")" "1500 true"
'
H1_BODY='
ping -c 10 -i 0.2 -W 2 10.0.0.2 >/dev/null; echo "h1: ping rc=$?"
echo "h1: done"'
test_expect_success IMAGE,SW_hb 'guest h3 on the hub starts' '
	start_guest h3 switch:hb 10.0.0.3 "" &&
	test_set_prereq H3
'
test_expect_success IMAGE,SW_hb 'guest h2 on the hub starts' '
	start_guest h2 switch:hb 10.0.0.2 "" &&
	test_set_prereq H2
'
test_expect_success IMAGE,SW_hb 'guest h1 on the hub starts' '
	start_guest h1 switch:hb 10.0.0.1 "$H1_BODY" &&
	test_set_prereq H1
'
test_expect_success H1,H2 'h1 pings h2 through the hub' '
	until_true 60 log_has h1 "h1: done"
	test_like "$(logs h1)" "h1: ping rc=0"
'
test_expect_success H1,H2,H3 "--hub: h3's port was sent the 20 unicast frames between h1 and h2" '
	h3=$(port_json hb "guest h3 vec0") &&
	echo "tx_frames $(json .tx_frames "$h3")" &&
	test "$(json .tx_frames "$h3")" -ge 20
'
test_expect_success SW_hb '--hub learns nothing' '
	run "$UMLKIT" switch fdb hb --output=json &&
	test_is "$(json @json)" "[]"
'
for g in h1 h2 h3; do "$UMLKIT" kill $g >/dev/null 2>&1; done
test_expect_success SW_hb 'switch stop hb' '
	sw_stop hb &&
	test_is "$rc" 0
'

# ---------------------------------------------------------------- moderation settings
test_switch_start mod0 --coalesce 0
test_switch_start mod1
test_expect_success SW_mod0 'list shows the pause of --coalesce 0' '
	test_is "$(sw_info mod0 .coalesce_us)" 0
'
test_expect_success SW_mod1 '... and the default longest pause (10000 us) of another' '
	test_is "$(sw_info mod1 .coalesce_us)" 10000
'
test_expect_success SW_mod0 'an idle switch is not loaded' '
	test_is "$(sw_info mod0 .loaded)" false
'
test_expect_success SW_mod1,SWPEER 'swpeer pace: a load of 10 full-size frames a ms is paced, a frame every 50 ms beside it is not' '
	run "$SWPEER" mod1 pace &&
	echo "$out" "$err" &&
	test_is "$rc" 0
'
test_expect_success SW_mod1,SWPEER "... the loading port's frames wait for the pauses" '
	test_like "$out" "L paced yes"
'
test_expect_success SW_mod1,SWPEER "... the occasional sender's never do" '
	test_like "$out" "P paced never"
'
test_expect_success SW_mod1,SWPEER '... and every one of its frames arrived' '
	test_like "$out" "Q got ([0-9]+) of \1"
'
test_expect_success SW_mod0,SWPEER 'swpeer pace on --coalesce 0: nothing pauses, so nothing is paced' '
	run "$SWPEER" mod0 pace &&
	test_is "$rc" 1
'
test_expect_success SW_mod0,SWPEER '... the switch never counts as loaded' '
	test_like "$out" "loaded no"
'
test_switch_start modnat --nat
test_expect_success SW_modnat,SWPEER 'swpeer pace --nat: beside a load, the NAT uplink is not paced' '
	run "$SWPEER" modnat pace --nat &&
	echo "$out" "$err" &&
	test_is "$rc" 0
'
test_expect_success SW_modnat,SWPEER '... while the loading port is' '
	test_like "$out" "L paced yes"
'
test_expect_success SW_modnat,SWPEER "... the NAT's answers do not wait for the pauses" '
	test_like "$out" "NAT paced never"
'
test_expect_success SW_modnat,SWPEER '... and it answered every ARP request' '
	test_like "$out" "P got ([0-9]+) answers of \1"
'
test_expect_success SW_modnat 'switch stop modnat' '
	sw_stop modnat &&
	test_is "$rc" 0
'
test_expect_success SW_mod0 'switch legacy on a switch without --legacy fails' '
	run "$UMLKIT" switch legacy mod0 &&
	test_is "$rc" 1
'
test_expect_success SW_mod0 '... saying so' '
	test_like "$err" "switch ${SQ}mod0${SQ}: unknown command \"legacy\""
'
test_expect_success SW_mod0 'switch stop mod0' '
	sw_stop mod0 &&
	test_is "$rc" 0
'
test_expect_success SW_mod1 'switch stop mod1' '
	sw_stop mod1 &&
	test_is "$rc" 0
'

# ---------------------------------------------------------------- bad input
bad() { # bad WANT-RC REGEX NAME ARGS...: two blocks, the exit status and the message
	bad_rc=$1 bad_re=$2
	bad_args=("${@:4}")
	test_expect_success "$3: exit $1" '
		run "$UMLKIT" "${bad_args[@]}" &&
		test_is "$rc" "$bad_rc"
	'
	test_expect_success "$3: message" '
		test_like "$err" "$bad_re"
	'
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
test_expect_success '... and asking about it (ports, stop) makes no directory for it' '
	"$UMLKIT" switch stop nosuch >/dev/null 2>&1
	test_path_is_missing "$(dirname "$(swdir sw)")/nosuch"
'
# an option the command does not take is refused, not ignored
bad 2 "option '--hub' does not apply to 'switch link'" "link --hub" switch link a b --hub
bad 2 "option '--vlan' does not apply to 'switch stop'" "stop --vlan" switch stop x --vlan 5
bad 2 "option '--foreground' does not apply to 'switch ports'" "ports -f" switch ports x -f
bad 2 "option '--output' does not apply to 'switch start'" "start --output" switch start x --output=json
bad 2 "option '-w' does not apply to 'switch fdb'" "fdb -w" switch fdb x -w "$T/f.pcap"
bad 2 "option '--trunk' does not apply to 'switch link'" "link --trunk" switch link a b --trunk
test_expect_success '... and -w made no file' '
	test_path_is_missing "$T/f.pcap"
'
test_expect_success 'the refused starts left no switch running' '
	test_is "$(list_json | jq length)" 0
'
D=(--mem 64M --disk "$T/x.cow,$T/base.img" --append init=/init)
bad 1 "switch 'nosuch' is not running" "--net switch:nosuch" start --name x "${D[@]}" --net switch:nosuch
test_expect_success '... and creates no COW' '
	test_path_is_missing "$T/x.cow"
'
bad 2 "vlan must be 1\.\.4094" "--net vlan=5000" start --name x "${D[@]}" --net switch:sw,vlan=5000
bad 2 "vlan must be 1\.\.4094" "--net vlan=0" start --name x "${D[@]}" --net switch:sw,vlan=0
bad 2 "vlan must be 1\.\.4094" "--net vlan=ten" start --name x "${D[@]}" --net switch:sw,vlan=ten
bad 2 "unknown option 'speed=10'" "--net unknown option" start --name x "${D[@]}" --net switch:sw,speed=10
bad 2 "character '/' is not allowed" "--net a bad switch name" start --name x "${D[@]}" --net switch:a/b
test_expect_success 'the refused guests created no COW' '
	test_path_is_missing "$T/x.cow"
'

# ---------------------------------------------------------------- a full learning table
# 4096 addresses make replies bigger than a socket message may be (about 250 KiB of JSON, the
# host caps a socket's buffer near 200 KiB): they come in a file
test_switch_start big 7>"$T/held"
test_expect_success SW_big "the daemon keeps no fd of its starter's (fd 7, open on a file, was left behind)" '
	p=$(swpid big) &&
	test -d "/proc/$p/fd" &&
	test_is "$(find "/proc/$p/fd" -mindepth 1 -lname "$T/held" | wc -l)" 0
'
mpid=
big_rx() { ports_json big | jq '.[0].rx_frames'; }
all_in() { [ "$(big_rx)" = 4096 ]; }
test_expect_success SW_big,SWPEER 'the learning table takes 4096 addresses (it forgets fewer than 10)' '
	{ "$SWPEER" big macs 4096 --hold "$T/big.release" >"$T/macs.out" 2>&1 & } &&
	mpid=$! &&
	UK_PIDS+=("$mpid") &&
	test_set_prereq MACS &&
	until_true 30 all_in
	ev=$(sw_info big .fdb_evicted) &&
	echo "forgot $ev" &&
	is_num "$ev" &&
	test "$ev" -lt 10 &&
	want=$((4096 - ev)) &&
	test_set_prereq TABLE
'
test_expect_success TABLE 'switch fdb --output=json lists every address it holds' '
	test_is "$("$UMLKIT" switch fdb big --output=json 2>"$T/fdb.err" | jq length)" "$want"
'
test_expect_success TABLE '... without an error' '
	test_is "$(cat "$T/fdb.err")" ""
'
test_expect_success TABLE "switch ports lists the port's addresses" '
	run "$UMLKIT" switch ports big --output=json &&
	test_is "$(json ".[0].macs | length")" "$want"
'
test_expect_success TABLE 'switch fdb prints them as a table' '
	test_is "$("$UMLKIT" switch fdb big | grep -c "02:aa:00:")" "$want"
'
test_expect_success MACS 'swpeer macs: the frames were sent' '
	touch "$T/big.release" &&
	wait_gone "$mpid" 30 &&
	{ wait "$mpid"; st=$?; forget_pid "$mpid"; test_is "$st" 0; }
'
test_expect_success SW_big 'the switch stops' '
	sw_stop big &&
	test_is "$rc" 0
'

# ---------------------------------------------------------------- a stuck switch
# stopped (SIGSTOP) with its backlog full: commands give up after 10 s, stop kills it
test_switch_start wedge
test_expect_success SW_wedge,SWPEER 'switch stop of a stuck switch whose backlog is full: exit 0 (not hanging)' '
	wpid=$(swpid wedge) &&
	kill -STOP "$wpid" &&
	{ timeout 5 "$SWPEER" wedge idle 100 >/dev/null 2>&1; :; } && # fills the backlog, then blocks
	run timeout 60 "$UMLKIT" switch stop wedge &&
	test_set_prereq WEDGE_STOPPED &&
	test_is "$rc" 0
'
test_expect_success WEDGE_STOPPED '... it says why it sends SIGTERM' '
	test_like "$err" "takes no connections \(it is stuck\?\); stopping it with SIGTERM"
'
test_expect_success WEDGE_STOPPED '... it says it killed it' '
	test_like "$err" "did not stop; killed"
'
test_expect_success WEDGE_STOPPED '... and the process is gone' '
	until_true 10 not_alive "$wpid" &&
	forget_pid "$wpid"
'
test_done
