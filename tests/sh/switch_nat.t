#!/bin/bash
# The switch's NAT uplink (libslirp) with real guests: a guest gets its address by DHCP; the
# host reaches the guest's HTTP server through port forwards on 127.0.0.1 (given at start,
# added and removed at run time); the guest reaches a server on the host's loopback through
# the NAT's host alias 10.0.2.2 (the only outbound address this test uses); a configured
# network; bad forwards and networks refused with clear messages; out of fds, the NAT rests
# and drops the guests' new flows instead of spinning or starving the control socket.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
test_need_guests
SWPEER="$UK_BUILD/tests/helpers/swpeer"
NATPEER="$UK_BUILD/tests/helpers/natpeer"
test_lazy_prereq SWPEER '[ -x "$SWPEER" ]'   # make test-build
test_lazy_prereq NATPEER '[ -x "$NATPEER" ]' # make test-build

switch_running() { [ -S "$(swdir "$1")/ctl" ]; }
nat_port() { ports_json "$1" | jq -c '.[] | select(.kind == "nat")'; }

# ---------------------------------------------------------------- bad input
# bad_start NAME REGEX ARGS...: three blocks: `switch start badsw --nat ARGS` is refused
# (exit 1), with a message, and leaves no switch running (one left is stopped)
# bad_start_if PREREQ NAME REGEX ARGS...: the same, when PREREQ holds
bad_start_if() {
	bs_re=$3
	bs_args=("${@:4}")
	test_expect_success "$1" "$2: start refused (exit 1)" '
		run "$UMLKIT" switch start badsw --nat "${bs_args[@]}" &&
		test_is "$rc" 1
	'
	test_expect_success "$1" "$2: message" '
		test_like "$err" "$bs_re"
	'
	test_expect_success "$1" "$2: no switch left running" '
		test_when_finished "\"\$UMLKIT\" switch stop badsw >/dev/null 2>&1" &&
		! switch_running badsw
	'
}
bad_start() { bad_start_if "" "$@"; }
bad_start "too few fields" "forward 'tcp:8080': expected tcp\|udp:\[HOSTADDR:\]HOSTPORT:GUESTADDR:GUESTPORT" \
	--forward tcp:8080
bad_start "protocol" "forward 'sctp:8080:10.0.2.15:80': protocol 'sctp' is not tcp or udp" \
	--forward sctp:8080:10.0.2.15:80
bad_start "host port" "host port '70000' is not a number from 1 to 65535" \
	--forward tcp:70000:10.0.2.15:80
bad_start "guest port" "guest port '0' is not a number from 1 to 65535" \
	--forward udp:8080:10.0.2.15:0
bad_start "host address" "host address 'localhost' is not an IPv4 address" \
	--forward tcp:localhost:8080:10.0.2.15:80
bad_start "host address multicast" "host address 224.0.0.251 cannot take connections" \
	--forward udp:224.0.0.251:8080:10.0.2.15:80
bad_start "host address broadcast" "host address 255.255.255.255 cannot take connections" \
	--forward tcp:255.255.255.255:8080:10.0.2.15:80
bad_start "guest outside the network" "guest address 10.0.3.15 is outside the NAT network 10.0.2.0/24" \
	--forward tcp:8080:10.0.3.15:80
bad_start "guest is the host alias" "guest address 10.0.2.2 is the network's own" \
	--forward tcp:8080:10.0.2.2:80
free_port p
bad_start "the same host port twice" "tcp:127.0.0.1:$p:10.0.2.15:80 is forwarded already" \
	--forward "tcp:$p:10.0.2.15:80" --forward "tcp:127.0.0.1:$p:10.0.2.16:22"
bad_start "network prefix" "NAT network '10.0.2.0/30': the prefix must be a number from 8 to 27" \
	--nat-net 10.0.2.0/30
bad_start "an empty field" "forward 'tcp:8080:10.0.2.15:80:': field 5 of 5 is empty" \
	--forward tcp:8080:10.0.2.15:80:
long=tcp:8080:10.0.2.15:$(printf '%090d' 80)
bad_start "a forward too long" "forward 'tcp:8080:10\.0\.2\.15:0000.*\.\.\.': longer than 95 characters" \
	--forward "$long"
bad_start "a network too long" "NAT network '10\.0\.2\.0/0000.*\.\.\.': longer than 31 characters" \
	--nat-net "10.0.2.0/$(printf '%030d' 24)"
bad_start "a loopback network" "NAT network '127.0.0.0/8': loopback \(127.0.0.0/8\) addresses cannot hold guests" \
	--nat-net 127.0.0.0/8
bad_start "a network of 0/8" "NAT network '0.0.0.0/8': \"this network\" \(0.0.0.0/8\) addresses cannot hold guests" \
	--nat-net 0.0.0.0/8
bad_start "a multicast network" "NAT network '239.1.0.0/16': multicast \(224.0.0.0/4\) addresses cannot hold guests" \
	--nat-net 239.1.0.0/16
bad_start "a reserved network" "NAT network '255.255.255.224/27': reserved \(240.0.0.0/4\) addresses cannot hold guests" \
	--nat-net 255.255.255.224/27
bad_start "network host bits" "NAT network '10.0.2.1/24': host bits are set \(did you mean 10.0.2.0/24\?\)" \
	--nat-net 10.0.2.1/24

test_expect_success '--forward without --nat: usage error (exit 2)' '
	test_when_finished "\"\$UMLKIT\" switch stop badsw >/dev/null 2>&1" &&
	run "$UMLKIT" switch start badsw --forward tcp:8080:10.0.2.15:80 &&
	test_is "$rc" 2
'
test_expect_success '... saying so' '
	test_like "$err" "--forward and --nat-net need --nat"
'

# ---------------------------------------------------------------- the host's web server
token="nat-$$-$RANDOM"
free_port HP
hp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$HP") 2>/dev/null; }
test_expect_success BUSYBOX "the host's server answers on 127.0.0.1:$HP" '
	mkdir -p "$T/www" &&
	echo "$token" >"$T/www/token.txt" &&
	head -c 4M /dev/urandom >"$T/www/big" &&
	{ busybox httpd -f -p "127.0.0.1:$HP" -h "$T/www" >/dev/null 2>&1 & } &&
	UK_PIDS+=($!) &&
	until_true 10 hp_open &&
	test_is "$(fetch 127.0.0.1 "$HP" /token.txt)" "$token" &&
	test_set_prereq HTTPD
'
bad_start_if HTTPD "a host port in use" "forward 'tcp:$HP:10.0.2.15:80': cannot listen on tcp 127.0.0.1:$HP: Address already in use" \
	--forward "tcp:$HP:10.0.2.15:80"

# ---------------------------------------------------------------- a guest behind the NAT
free_port F1
test_expect_success 'switch start --nat --forward: exit 0' '
	sw_start nat --nat --forward "tcp:$F1:10.0.2.15:80" &&
	test_is "$rc" 0 &&
	test_set_prereq NAT
'
test_expect_success NAT 'ports: a nat port' '
	test_is "$(json .kind "$(nat_port nat)")" nat
'
test_expect_success NAT "... on libslirp's usual network" '
	test_is "$(json .peer "$(nat_port nat)")" "nat 10.0.2.0/24"
'
test_expect_success NAT 'forward list: the forward given at start, on 127.0.0.1' '
	run "$UMLKIT" switch forward nat list &&
	test_is "$out" "tcp:127.0.0.1:$F1:10.0.2.15:80"
'

test_expect_success BUSYBOX 'setup: the guest image (umlkit image build)' '
	"$UMLKIT" image build --size 64M "$T/base.img" >/dev/null &&
	test_set_prereq IMAGE
'
G1_SCRIPT="#!/bin/sh
ip addr show vec0
echo \"route: \$(ip route | grep default)\"
echo \"dns: \$(grep nameserver /etc/resolv.conf)\"
echo \"fetched: \$(timeout 15 wget -q -O - http://10.0.2.2:$HP/token.txt)\"
echo \"big: \$(timeout 30 wget -q -O - http://10.0.2.2:$HP/big | md5sum)\"
head -c 4194304 /dev/urandom >/var/www/gbig
echo \"gbig: \$(md5sum </var/www/gbig)\""
log=
test_expect_success NAT,IMAGE 'a guest on the NAT switch starts and reports ready' '
	printf "%s\n" "$G1_SCRIPT" >"$T/g1.sh" &&
	truncate -s 4096 "$T/g1.sh" &&
	run "$UMLKIT" start --name g1 --mem 64M --disk "$T/g1.cow,$T/base.img" --disk "ubdb=$T/g1.sh" \
		--net switch:nat --append "umlkit.ip=vec0,dhcp umlkit.services=httpd" --wait --timeout 60 &&
	track g1 &&
	test_is "$rc" 0 &&
	log=$("$UMLKIT" logs g1 2>&1) &&
	test_set_prereq G1
'
test_expect_success G1 'DHCP: the guest leases 10.0.2.15 from the NAT' '
	test_like "$log" "lease of 10\.0\.2\.15 obtained from 10\.0\.2\.2"
'
test_expect_success G1 '... and the address is on vec0' '
	test_like "$log" "inet 10\.0\.2\.15/24"
'
test_expect_success G1 '... with the NAT as its default route' '
	test_like "$log" "route: default via 10\.0\.2\.2"
'
test_expect_success G1 '... and its DNS server' '
	test_like "$log" "dns: nameserver 10\.0\.2\.3"
'
test_expect_success G1,HTTPD "the guest reaches the host's loopback server through 10.0.2.2" '
	test_like "$log" "fetched: $token"
'
test_expect_success G1,HTTPD '... and moves 4 MiB from it intact' '
	big=$(md5sum <"$T/www/big" | cut -d" " -f1) &&
	test_like "$log" "big: $big "
'
test_expect_success G1 "the host reaches the guest's httpd through the forward on 127.0.0.1:$F1" '
	page=$(fetch 127.0.0.1 "$F1" /) &&
	test_like "$page" "umlkit guest .* is serving this page"
'
test_expect_success G1 '... which listens on 127.0.0.1 only (127.0.0.2 is refused)' '
	run fetch 127.0.0.2 "$F1" / &&
	test_isnt "$rc" 0
'
test_expect_success G1 '4 MiB from the guest through the forward arrive intact' '
	gbig=$(printf "%s\n" "$log" | sed -n "s/^gbig: \([0-9a-f]*\).*/\1/p") &&
	got=$(fetch 127.0.0.1 "$F1" /gbig | md5sum | cut -d" " -f1) &&
	test_isnt "$gbig" "" &&
	test_is "$got" "$gbig"
'

# ---------------------------------------------------------------- forwards at run time
test_expect_success NAT,SWPEER 'remove-port of the NAT uplink is refused' '
	natport=$(json .port "$(nat_port nat)") &&
	run "$SWPEER" nat ask "{\"cmd\":\"remove-port\",\"port\":$natport}" &&
	test_is "$(json .ok)" false &&
	test_like "$(json .error)" "is the NAT uplink"
'
test_expect_success NAT '... and the NAT port is still there' '
	test_is "$(json .kind "$(nat_port nat)")" nat
'
free_port F2
test_expect_success NAT 'forward add at run time: exit 0' '
	run "$UMLKIT" switch forward nat add "tcp:127.0.0.2:$F2:10.0.2.15:80" &&
	test_is "$rc" 0 &&
	test_set_prereq F2
'
test_expect_success F2 '... and it says what it forwards' '
	test_is "$out" "nat: forwarding tcp:127.0.0.2:$F2:10.0.2.15:80"
'
test_expect_success F2,G1 'the added forward works (on the address given)' '
	page=$(fetch 127.0.0.2 "$F2" /) &&
	test_like "$page" "umlkit guest .* is serving this page"
'
f2_spec() { json ".[] | select(.spec == \"tcp:127.0.0.2:$F2:10.0.2.15:80\") | $1"; }
test_expect_success F2 'forward list --output=json shows it' '
	run "$UMLKIT" switch forward nat list --output=json &&
	test_is "$(f2_spec .spec)" "tcp:127.0.0.2:$F2:10.0.2.15:80"
'
test_expect_success F2 '... with its fields' '
	test_is "$(f2_spec .host_port)" "$F2"
'
test_expect_success NAT 'switch nat: exit 0' '
	run "$UMLKIT" switch nat nat &&
	test_is "$rc" 0
'
test_expect_success NAT '... the network' '
	test_like "$out" "network +10\.0\.2\.0/24"
'
test_expect_success NAT '... the host alias' '
	test_like "$out" "host +10\.0\.2\.2"
'
test_expect_success F2 '... the number of forwards' '
	test_like "$out" "forwards +2"
'
test_expect_success NAT '... no rest for want of fds' '
	test_like "$out" "fd_rests +0"
'
test_expect_success NAT "... and no guest's flow dropped for want of them" '
	test_like "$out" "flow_drops +0"
'
test_expect_success F2 'switch nat --output=json: the forwards' '
	run "$UMLKIT" switch nat nat --output=json &&
	test_is "$(json ".forwards[] | select(.spec == \"tcp:127.0.0.2:$F2:10.0.2.15:80\") | .host_port")" "$F2"
'
test_expect_success NAT '... and the first lease' '
	test_is "$(json .dhcp_start)" 10.0.2.15
'
test_expect_success F2 'the same host port again is refused' '
	run "$UMLKIT" switch forward nat add "tcp:127.0.0.2:$F2:10.0.2.16:80" &&
	test_is "$rc" 1
'
test_expect_success F2 '... saying so' '
	test_like "$err" "is forwarded already"
'
test_expect_success NAT 'a bad forward at run time is refused' '
	run "$UMLKIT" switch forward nat add "tcp:$F2:10.0.9.1:80" &&
	test_is "$rc" 1
'
test_expect_success NAT '... with the reason' '
	test_like "$err" "outside the NAT network 10.0.2.0/24"
'
for v in add del; do
	test_expect_success NAT "forward $v --output=json: usage error (exit 2), only list prints json" '
		run "$UMLKIT" switch forward nat $v "tcp:127.0.0.2:$F2" --output=json &&
		test_is "$rc" 2
	'
	test_expect_success NAT '... saying so' '
		test_like "$err" "option ${SQ}--output${SQ} does not apply to ${SQ}switch forward $v${SQ}"
	'
done
test_expect_success F2 'forward del: exit 0' '
	run "$UMLKIT" switch forward nat del "tcp:127.0.0.2:$F2" &&
	test_is "$rc" 0 &&
	test_set_prereq F2_DELETED
'
test_expect_success F2_DELETED '... naming what it removed' '
	test_like "$out" "removed tcp:127.0.0.2:$F2:10.0.2.15:80"
'
test_expect_success F2_DELETED 'the deleted forward stops working' '
	run fetch 127.0.0.2 "$F2" / &&
	test_isnt "$rc" 0
'
test_expect_success F2_DELETED 'deleting it again fails' '
	run "$UMLKIT" switch forward nat del "tcp:127.0.0.2:$F2" &&
	test_is "$rc" 1
'
test_expect_success F2_DELETED '... saying it is not forwarded' '
	test_like "$err" "tcp:127.0.0.2:$F2 is not forwarded"
'
test_expect_success NAT 'del with the wrong guest side fails' '
	run "$UMLKIT" switch forward nat del "tcp:$F1:10.0.2.15:81" &&
	test_is "$rc" 1
'
test_expect_success NAT '... naming the one there' '
	test_like "$err" "the forward there is tcp:127.0.0.1:$F1:10.0.2.15:80"
'
test_expect_success G1 'the forward given at start still works' '
	page=$(fetch 127.0.0.1 "$F1" /) &&
	test_like "$page" "is serving this page"
'
test_expect_success F2_DELETED 'forward list: only the first one is left' '
	run "$UMLKIT" switch forward nat list &&
	test_is "$out" "tcp:127.0.0.1:$F1:10.0.2.15:80"
'
test_expect_success NAT 'forward without a verb: usage error (exit 2)' '
	run "$UMLKIT" switch forward nat &&
	test_is "$rc" 2
'

test_expect_success G1 'the guest stops' '
	run "$UMLKIT" stop g1 --timeout 20 &&
	test_is "$rc" 0
'
test_expect_success NAT 'switch stop: exit 0' '
	sw_stop nat &&
	test_is "$rc" 0 &&
	test_set_prereq NAT_STOPPED
'
test_expect_success NAT_STOPPED '... its control socket is gone' '
	test_path_is_missing "$(swdir nat)/ctl"
'
test_expect_success NAT_STOPPED '... and so is its forward' '
	run fetch 127.0.0.1 "$F1" / &&
	test_isnt "$rc" 0
'

# ---------------------------------------------------------------- many sockets
# libslirp polls the newest of its sockets first; with more than a round's worth, the
# oldest (the forwards' listeners) must still be polled.
free_port F3
test_expect_success "switch start many --nat --forward udp:$F3:10.0.2.15:7" '
	sw_start many --nat --forward "udp:$F3:10.0.2.15:7" &&
	test_is "$rc" 0 &&
	test_set_prereq MANY
'
test_expect_success MANY,NATPEER 'natpeer: 300 guest UDP sockets through the NAT, then the forward' '
	run "$NATPEER" many sockets 300 "$F3" &&
	echo "$out" && echo "$err" &&
	test_is "$rc" 0
'
test_expect_success MANY,NATPEER "... every datagram from 300 source ports reached the host's loopback" '
	test_like "$out" "sink got 300 of 300"
'
test_expect_success MANY,NATPEER '... and the forward, older than all 300 sockets, still delivers' '
	test_like "$out" "forward delivered"
'
test_expect_success MANY 'switch stop many' '
	sw_stop many &&
	test_is "$rc" 0
'

# ---------------------------------------------------------------- a network of one's own
test_expect_success 'setup: a switch without --nat' '
	sw_start plain &&
	test_is "$rc" 0 &&
	test_set_prereq PLAIN
'
test_expect_success PLAIN 'forward add on a switch without --nat fails' '
	run "$UMLKIT" switch forward plain add "tcp:$F2:10.0.2.15:80" &&
	test_is "$rc" 1
'
test_expect_success PLAIN '... saying why' '
	test_like "$err" "switch ${SQ}plain${SQ} has no NAT uplink"
'
test_expect_success PLAIN 'switch nat on a switch without --nat fails' '
	run "$UMLKIT" switch nat plain &&
	test_is "$rc" 1
'
test_expect_success PLAIN '... saying why' '
	test_like "$err" "switch ${SQ}plain${SQ} has no NAT uplink"
'
sw_stop plain

test_expect_success 'switch start --nat --nat-net 192.168.77.0/24' '
	sw_start nat2 --nat --nat-net 192.168.77.0/24 &&
	test_is "$rc" 0 &&
	test_set_prereq NAT2
'
G2_SCRIPT="#!/bin/sh
echo \"fetched: \$(timeout 15 wget -q -O - http://192.168.77.2:$HP/token.txt)\""
test_expect_success NAT2,IMAGE 'a guest on it starts' '
	printf "%s\n" "$G2_SCRIPT" >"$T/g2.sh" &&
	truncate -s 4096 "$T/g2.sh" &&
	run "$UMLKIT" start --name g2 --mem 64M --disk "$T/g2.cow,$T/base.img" --disk "ubdb=$T/g2.sh" \
		--net switch:nat2 --append "umlkit.ip=vec0,dhcp" --wait --timeout 60 &&
	track g2 &&
	test_is "$rc" 0 &&
	log=$("$UMLKIT" logs g2 2>&1) &&
	test_set_prereq G2
'
test_expect_success G2 'DHCP: the first lease of the configured network' '
	test_like "$log" "lease of 192\.168\.77\.15 obtained from 192\.168\.77\.2"
'
test_expect_success G2,HTTPD 'the host alias is .2 of the configured network' '
	test_like "$log" "fetched: $token"
'
"$UMLKIT" kill g2 >/dev/null 2>&1
sw_stop nat2

# out of fds (a limit of 40), host connections to a forward whose guest never answers (each
# holds an fd of the NAT's) must not make the switch spin on the listener it cannot accept
# on, nor take the fds the control socket needs. Each connection is held by a process of its
# own, and they come one at a time, each once the switch has taken the one before: a burst
# past the listener's backlog of 1 would come in only with the SYN's retries (1, 3, 7, 15,
# 31 s), and a host that forks fast enough to make such bursts took 30 s to fill the switch.
# nat_start NAME OPTIONS...: `switch start` with 40 fds; its pid in npid
nat_start() {
	run prlimit --nofile=40 "$UMLKIT" switch start "$@"
	npid=$(swpid "$1")
	[ -n "$npid" ] && UK_PIDS+=("$npid")
	test_is "$rc" 0
}
npid=
held=()
hold() { # a connection to the forward, held by a process of its own
	{ (exec 3<>"/dev/tcp/127.0.0.1/$F3" && exec sleep 60) >/dev/null 2>&1 & }
	held+=("$!")
	UK_PIDS+=("$!")
}
nfd() { find "/proc/$npid/fd" -mindepth 1 2>/dev/null | wc -l; }
rests() { "$UMLKIT" switch nat natfd | sed -n 's/^fd_rests *//p'; }
fds_grew() { [ "$(nfd)" -gt "$n0" ]; }
rested() { [ "$(rests)" -gt 0 ] 2>/dev/null; }
free_port F3
test_expect_success 'a NAT switch with 40 fds' '
	nat_start natfd --nat --forward "tcp:$F3:10.0.2.15:80" &&
	test_set_prereq NATFD
'
test_expect_success NATFD '... it rests when only 8 fds would be left' '
	n0=$(nfd) &&
	for _ in $(seq 40); do # until it takes no more (2 s)
		hold
		until_true 2 fds_grew || break
		n0=$(nfd)
	done &&
	for _ in $(seq 5); do hold; done && # and more waiting behind the one it did not take
	until_true 30 rested
	r=$(rests) &&
	echo "${#held[@]} connections, $r rests" &&
	test "$r" -gt 0
'
# a measure of the CPU the switch takes in 3 s, not a wait for an event: the time is fixed
test_expect_success NATFD 'connections to a forward with 40 fds: the switch waits, not spins' '
	t0=$(awk "{print \$14 + \$15}" "/proc/$npid/stat") &&
	sleep 3 &&
	t1=$(awk "{print \$14 + \$15}" "/proc/$npid/stat") &&
	echo "${#held[@]} connections: $((t1 - t0)) ticks of CPU in 3 s; spinning takes 300" &&
	test $((t1 - t0)) -lt 100
'
test_expect_success NATFD '... and leaves 8 fds free' '
	a=$(nfd) &&
	echo "$a of 40 open" &&
	ls -l "/proc/$npid/fd" &&
	test "$a" -le 32
'
test_expect_success NATFD '... and takes requests meanwhile' '
	run "$UMLKIT" switch ports natfd &&
	test_is "$rc" 0
'
test_expect_success NATFD '... and answers them' '
	test_like "$out" "nat "
'
release_held() {
	local h
	[ ${#held[@]} -gt 0 ] || return 0
	kill "${held[@]}" 2>/dev/null
	for h in "${held[@]}"; do
		wait "$h" 2>/dev/null
		forget_pid "$h"
	done
	held=()
}
test_expect_success NATFD '... and is alive' '
	release_held &&
	kill -0 "$npid"
'
test_expect_success NATFD 'it stops' '
	sw_stop natfd &&
	test_is "$rc" 0
'
test_expect_success NATFD '... when asked, without a word' '
	test_is "$err" ""
'

# out of fds too, the guests' own new flows (UDP from 60 source ports: a host socket of
# slirp's each) are dropped and counted before they take the 8 fds kept free
free_port F4
test_expect_success 'a NAT switch with 40 fds and a UDP forward' '
	nat_start natflow --nat --forward "udp:$F4:10.0.2.15:7" &&
	test_set_prereq NATFLOW
'
test_expect_success NATFLOW,NATPEER "60 guest UDP flows through a NAT with 40 fds: some reach the host's loopback, not all" '
	run "$NATPEER" natflow sockets 60 "$F4" &&
	got=$(sed -n "s/^sink got \([0-9]*\) of 60$/\1/p" <<<"$out") &&
	echo "got ${got:-none}" &&
	test "${got:-0}" -gt 0 &&
	test "$got" -lt 60 &&
	test_set_prereq FLOWS
'
test_expect_success FLOWS '... and the forward still delivers' '
	test_like "$out" "forward delivered"
'
test_expect_success FLOWS '... and 8 fds stay free' '
	a=$(nfd) &&
	echo "$a of 40 open" &&
	test "$a" -le 32
'
test_expect_success NATFLOW '... and it takes requests' '
	run "$UMLKIT" switch ports natflow &&
	test_is "$rc" 0
'
test_expect_success FLOWS '... and counts every flow it dropped' '
	run "$UMLKIT" switch nat natflow &&
	drops=$(sed -n "s/^flow_drops *//p" <<<"$out") &&
	test_is "$drops" "$((60 - got))"
'
test_expect_success FLOWS '... in the JSON too' '
	run "$UMLKIT" switch nat natflow --output=json &&
	test_is "$(json .flow_drops)" "$drops"
'
test_expect_success NATFLOW 'it stops' '
	sw_stop natflow &&
	test_is "$rc" 0
'

# and their connections out: 60 SYNs, each a connecting host socket of slirp's
test_expect_success 'a NAT switch with 40 fds' '
	nat_start natsyn --nat &&
	test_set_prereq NATSYN
'
test_expect_success NATSYN,NATPEER "60 guest TCP connections through a NAT with 40 fds: some reach the host's loopback, not all" '
	run "$NATPEER" natsyn connects 60 &&
	got=$(sed -n "s/^listener accepted \([0-9]*\) of 60$/\1/p" <<<"$out") &&
	echo "got ${got:-none}" &&
	test "${got:-0}" -gt 0 &&
	test "$got" -lt 60 &&
	test_set_prereq SYNS
'
test_expect_success SYNS '... and 8 fds stay free' '
	a=$(nfd) &&
	echo "$a of 40 open" &&
	test "$a" -le 32
'
test_expect_success NATSYN '... and it takes requests' '
	run "$UMLKIT" switch nat natsyn &&
	test_is "$rc" 0
'
test_expect_success SYNS '... and counts every SYN it dropped' '
	test_is "$(sed -n "s/^flow_drops *//p" <<<"$out")" "$((60 - got))"
'
test_expect_success NATSYN,NATPEER '... and drops the next one too' '
	run "$NATPEER" natsyn connects 1 &&
	test_like "$out" "listener accepted 0 of 1"
'
test_expect_success NATSYN 'it stops' '
	sw_stop natsyn &&
	test_is "$rc" 0
'
release_held
test_done
