#!/bin/bash
# The switch's NAT uplink (libslirp) with real guests: a guest gets its address by DHCP; the
# host reaches the guest's HTTP server through port forwards on 127.0.0.1 (given at start,
# added and removed at run time); the guest reaches a server on the host's loopback through
# the NAT's host alias 10.0.2.2 (the only outbound address this test uses); a configured
# network; bad forwards and networks refused with clear messages.
. "$(dirname "$0")/lib.sh"
[ -n "$UML" ] || skip_all "no UML kernel (install user-mode-linux)"
need_cmd busybox "busybox-static is needed (the image and the host's web server)"

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
"$UMLKIT" image build --size 64M "$T/base.img" >/dev/null || {
	echo "1..1"
	echo "not ok 1 - umlkit image build"
	exit 1
}

track_switch() { # track_switch NAME
	local p
	p=$(cat "$XDG_RUNTIME_DIR/umlkit/switches/$1/pid" 2>/dev/null)
	[ -n "$p" ] && UK_PIDS+=("$p")
}
switch_running() { [ -S "$XDG_RUNTIME_DIR/umlkit/switches/$1/ctl" ]; }

PICKED=" "
free_port() { # a TCP port nothing listens on at 127.0.0.1, not picked before
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		case "$PICKED" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			PICKED="$PICKED$p "
			echo "$p"
			return
		fi
	done
}
fetch() { # fetch ADDR PORT PATH: the body; fails if refused
	if command -v curl >/dev/null; then
		curl -sf -m 15 "http://$1:$2$3"
	else
		(
			exec 3<>"/dev/tcp/$1/$2" || exit 1
			printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" "$1" >&3
			timeout 15 cat <&3 | sed '1,/^\r$/d'
		)
	fi
}

# ---------------------------------------------------------------- bad input
bad_start() { # bad_start NAME REGEX ARGS...: start refused, exit 1, message, nothing left
	local name=$1 re=$2
	shift 2
	run "$UMLKIT" switch start badsw --nat "$@"
	is "$rc" 1 "$name: start refused (exit 1)"
	like "$err" "$re" "$name: message"
	if switch_running badsw; then
		ok 1 "$name: no switch left running"
		"$UMLKIT" switch stop badsw >/dev/null 2>&1
	else ok 0 "$name: no switch left running"; fi
}
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
p=$(free_port)
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

run "$UMLKIT" switch start badsw --forward tcp:8080:10.0.2.15:80
is "$rc" 2 "--forward without --nat: usage error (exit 2)"
like "$err" "--forward and --nat-net need --nat" "... saying so"

# ---------------------------------------------------------------- the host's web server
mkdir -p "$T/www"
token="nat-$$-$RANDOM"
echo "$token" >"$T/www/token.txt"
head -c 4M /dev/urandom >"$T/www/big"
HP=$(free_port)
busybox httpd -f -p "127.0.0.1:$HP" -h "$T/www" &
UK_PIDS+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$HP") 2>/dev/null && break; sleep 0.1; done
is "$(fetch 127.0.0.1 "$HP" /token.txt)" "$token" "the host's server answers on 127.0.0.1:$HP"

bad_start "a host port in use" "forward 'tcp:$HP:10.0.2.15:80': cannot listen on tcp 127.0.0.1:$HP: Address already in use" \
	--forward "tcp:$HP:10.0.2.15:80"

# ---------------------------------------------------------------- a guest behind the NAT
F1=$(free_port)
run "$UMLKIT" switch start nat --nat --forward "tcp:$F1:10.0.2.15:80"
is "$rc" 0 "switch start --nat --forward: exit 0"
track_switch nat
run "$UMLKIT" switch ports nat --output=json
like "$out" '"kind": "nat"' "ports: a nat port"
like "$out" '"peer": "nat 10.0.2.0/24"' "... on libslirp's usual network"
run "$UMLKIT" switch forward nat list
is "$out" "tcp:127.0.0.1:$F1:10.0.2.15:80" "forward list: the forward given at start, on 127.0.0.1"

cat >"$T/g1.sh" <<EOF
#!/bin/sh
ip addr show vec0
echo "route: \$(ip route | grep default)"
echo "dns: \$(grep nameserver /etc/resolv.conf)"
echo "fetched: \$(timeout 15 wget -q -O - http://10.0.2.2:$HP/token.txt)"
echo "big: \$(timeout 30 wget -q -O - http://10.0.2.2:$HP/big | md5sum)"
head -c 4194304 /dev/urandom >/var/www/gbig
echo "gbig: \$(md5sum </var/www/gbig)"
EOF
truncate -s 4096 "$T/g1.sh"
run "$UMLKIT" start --name g1 --mem 64M --disk "$T/g1.cow,$T/base.img" --disk "ubdb=$T/g1.sh" \
	--net switch:nat --append "umlkit.ip=vec0,dhcp umlkit.services=httpd" --wait --timeout 60
is "$rc" 0 "a guest on the NAT switch starts and reports ready"
[ "$rc" = 0 ] || diag "$err"
track g1
log=$("$UMLKIT" logs g1 2>&1)
like "$log" "lease of 10\.0\.2\.15 obtained from 10\.0\.2\.2" "DHCP: the guest leases 10.0.2.15 from the NAT"
like "$log" "inet 10\.0\.2\.15/24" "... and the address is on vec0"
like "$log" "route: default via 10\.0\.2\.2" "... with the NAT as its default route"
like "$log" "dns: nameserver 10\.0\.2\.3" "... and its DNS server"
like "$log" "fetched: $token" "the guest reaches the host's loopback server through 10.0.2.2"
big=$(md5sum <"$T/www/big" | cut -d' ' -f1)
like "$log" "big: $big " "... and moves 4 MiB from it intact"

page=$(fetch 127.0.0.1 "$F1" /)
like "$page" "umlkit guest .* is serving this page" "the host reaches the guest's httpd through the forward on 127.0.0.1:$F1"
run fetch 127.0.0.2 "$F1" /
ok "$([ "$rc" != 0 ]; echo $?)" "... which listens on 127.0.0.1 only (127.0.0.2 is refused)"
gbig=$(printf '%s\n' "$log" | sed -n 's/^gbig: \([0-9a-f]*\).*/\1/p')
got=$(fetch 127.0.0.1 "$F1" /gbig | md5sum | cut -d' ' -f1)
ok "$([ -n "$gbig" ] && [ "$got" = "$gbig" ]; echo $?)" "4 MiB from the guest through the forward arrive intact"

# ---------------------------------------------------------------- forwards at run time
natport=$("$UMLKIT" switch ports nat --output=json | jq '.[] | select(.kind == "nat") | .port')
run "$UK_BUILD/tests/helpers/swpeer" nat ask "{\"cmd\":\"remove-port\",\"port\":${natport:-0}}"
like "$out" '"ok":false.*is the NAT uplink' "remove-port of the NAT uplink is refused"
like "$("$UMLKIT" switch ports nat --output=json)" '"kind": "nat"' "... and the NAT port is still there"
F2=$(free_port)
run "$UMLKIT" switch forward nat add "tcp:127.0.0.2:$F2:10.0.2.15:80"
is "$rc" 0 "forward add at run time: exit 0"
is "$out" "nat: forwarding tcp:127.0.0.2:$F2:10.0.2.15:80" "... and it says what it forwards"
page=$(fetch 127.0.0.2 "$F2" /)
like "$page" "umlkit guest .* is serving this page" "the added forward works (on the address given)"
run "$UMLKIT" switch forward nat list --output=json
like "$out" "\"spec\": \"tcp:127.0.0.2:$F2:10.0.2.15:80\"" "forward list --output=json shows it"
like "$out" "\"host_port\": $F2" "... with its fields"
run "$UMLKIT" switch nat nat
is "$rc" 0 "switch nat: exit 0"
like "$out" "network +10\.0\.2\.0/24" "... the network"
like "$out" "host +10\.0\.2\.2" "... the host alias"
like "$out" "forwards +2" "... the number of forwards"
like "$out" "fd_rests +0" "... no rest for want of fds"
like "$out" "flow_drops +0" "... and no guest's flow dropped for want of them"
run "$UMLKIT" switch nat nat --output=json
like "$out" "\"spec\": \"tcp:127.0.0.2:$F2:10.0.2.15:80\"" "switch nat --output=json: the forwards"
like "$out" '"dhcp_start": "10\.0\.2\.15"' "... and the first lease"
run "$UMLKIT" switch forward nat add "tcp:127.0.0.2:$F2:10.0.2.16:80"
is "$rc" 1 "the same host port again is refused"
like "$err" "is forwarded already" "... saying so"
run "$UMLKIT" switch forward nat add "tcp:$F2:10.0.9.1:80"
is "$rc" 1 "a bad forward at run time is refused"
like "$err" "outside the NAT network 10.0.2.0/24" "... with the reason"
for v in add del; do
	run "$UMLKIT" switch forward nat $v "tcp:127.0.0.2:$F2" --output=json
	is "$rc" 2 "forward $v --output=json: usage error (exit 2), only list prints json"
	like "$err" "option '--output' does not apply to 'switch forward $v'" "... saying so"
done
run "$UMLKIT" switch forward nat del "tcp:127.0.0.2:$F2"
is "$rc" 0 "forward del: exit 0"
like "$out" "removed tcp:127.0.0.2:$F2:10.0.2.15:80" "... naming what it removed"
run fetch 127.0.0.2 "$F2" /
ok "$([ "$rc" != 0 ]; echo $?)" "the deleted forward stops working"
run "$UMLKIT" switch forward nat del "tcp:127.0.0.2:$F2"
is "$rc" 1 "deleting it again fails"
like "$err" "tcp:127.0.0.2:$F2 is not forwarded" "... saying it is not forwarded"
run "$UMLKIT" switch forward nat del "tcp:$F1:10.0.2.15:81"
is "$rc" 1 "del with the wrong guest side fails"
like "$err" "the forward there is tcp:127.0.0.1:$F1:10.0.2.15:80" "... naming the one there"
page=$(fetch 127.0.0.1 "$F1" /)
like "$page" "is serving this page" "the forward given at start still works"
run "$UMLKIT" switch forward nat list
is "$out" "tcp:127.0.0.1:$F1:10.0.2.15:80" "forward list: only the first one is left"
run "$UMLKIT" switch forward nat
is "$rc" 2 "forward without a verb: usage error (exit 2)"

run "$UMLKIT" stop g1 --timeout 20
is "$rc" 0 "the guest stops"
run "$UMLKIT" switch stop nat
is "$rc" 0 "switch stop: exit 0"
check "... its control socket is gone" -- test ! -e "$XDG_RUNTIME_DIR/umlkit/switches/nat/ctl"
run fetch 127.0.0.1 "$F1" /
ok "$([ "$rc" != 0 ]; echo $?)" "... and so is its forward"

# ---------------------------------------------------------------- many sockets
# libslirp polls the newest of its sockets first; with more than a round's worth, the
# oldest (the forwards' listeners) must still be polled.
NATPEER="$UK_BUILD/tests/helpers/natpeer"
F3=$(free_port)
run "$UMLKIT" switch start many --nat --forward "udp:$F3:10.0.2.15:7"
is "$rc" 0 "switch start many --nat --forward udp:$F3:10.0.2.15:7"
track_switch many
run "$NATPEER" many sockets 300 "$F3"
is "$rc" 0 "natpeer: 300 guest UDP sockets through the NAT, then the forward"
[ "$rc" = 0 ] || diag "$out" "$err"
like "$out" "sink got 300 of 300" "... every datagram from 300 source ports reached the host's loopback"
like "$out" "forward delivered" "... and the forward, older than all 300 sockets, still delivers"
run "$UMLKIT" switch stop many
is "$rc" 0 "switch stop many"

# ---------------------------------------------------------------- a network of one's own
run "$UMLKIT" switch start plain
track_switch plain
run "$UMLKIT" switch forward plain add "tcp:$F2:10.0.2.15:80"
is "$rc" 1 "forward add on a switch without --nat fails"
like "$err" "switch 'plain' has no NAT uplink" "... saying why"
run "$UMLKIT" switch nat plain
is "$rc" 1 "switch nat on a switch without --nat fails"
like "$err" "switch 'plain' has no NAT uplink" "... saying why"
"$UMLKIT" switch stop plain >/dev/null 2>&1

run "$UMLKIT" switch start nat2 --nat --nat-net 192.168.77.0/24
is "$rc" 0 "switch start --nat --nat-net 192.168.77.0/24"
track_switch nat2
cat >"$T/g2.sh" <<EOF
#!/bin/sh
echo "fetched: \$(timeout 15 wget -q -O - http://192.168.77.2:$HP/token.txt)"
EOF
truncate -s 4096 "$T/g2.sh"
run "$UMLKIT" start --name g2 --mem 64M --disk "$T/g2.cow,$T/base.img" --disk "ubdb=$T/g2.sh" \
	--net switch:nat2 --append "umlkit.ip=vec0,dhcp" --wait --timeout 60
is "$rc" 0 "a guest on it starts"
track g2
log=$("$UMLKIT" logs g2 2>&1)
like "$log" "lease of 192\.168\.77\.15 obtained from 192\.168\.77\.2" "DHCP: the first lease of the configured network"
like "$log" "fetched: $token" "the host alias is .2 of the configured network"
"$UMLKIT" kill g2 >/dev/null 2>&1
"$UMLKIT" switch stop nat2 >/dev/null 2>&1

# out of fds (a limit of 40), host connections to a forward whose guest never answers (each
# holds an fd of the NAT's) must not make the switch spin on the listener it cannot accept
# on, nor take the fds the control socket needs. Each connection is held by a process of its
# own, and they come one at a time, each once the switch has taken the one before: a burst
# past the listener's backlog of 1 would come in only with the SYN's retries (1, 3, 7, 15,
# 31 s), and a host that forks fast enough to make such bursts took 30 s to fill the switch.
F3=$(free_port)
run prlimit --nofile=40 "$UMLKIT" switch start natfd --nat --forward "tcp:$F3:10.0.2.15:80"
is "$rc" 0 "a NAT switch with 40 fds"
track_switch natfd
npid=$(cat "$XDG_RUNTIME_DIR/umlkit/switches/natfd/pid")
held=()
hold() {
	(exec 3<>"/dev/tcp/127.0.0.1/$F3" && exec sleep 60) 2>/dev/null &
	held+=("$!")
	UK_PIDS+=("$!")
}
nfd() { find "/proc/$npid/fd" -mindepth 1 2>/dev/null | wc -l; }
rests() { "$UMLKIT" switch nat natfd | sed -n 's/^fd_rests *//p'; }
n0=$(nfd)
for _ in $(seq 40); do # until it takes no more (2 s)
	hold
	for _ in $(seq 40); do
		[ "$(nfd)" -gt "$n0" ] && break
		sleep 0.05
	done
	n1=$(nfd)
	[ "$n1" -gt "$n0" ] || break
	n0=$n1
done
for _ in $(seq 5); do hold; done # and more waiting behind the one it did not take
for _ in $(seq 150); do
	[ "$(rests)" -gt 0 ] 2>/dev/null && break
	sleep 0.2
done
r=$(rests)
ok "$([ "$r" -gt 0 ] 2>/dev/null; echo $?)" "... it rests when only 8 fds would be left ($r rests)"
t0=$(awk '{print $14 + $15}' "/proc/$npid/stat")
sleep 3
t1=$(awk '{print $14 + $15}' "/proc/$npid/stat")
ok "$([ $((t1 - t0)) -lt 100 ]; echo $?)" \
	"${#held[@]} connections to a forward with 40 fds: the switch waits, not spins ($((t1 - t0)) ticks of CPU in 3 s; spinning takes 300)"
a=$(nfd)
ok "$([ "$a" -le 32 ]; echo $?)" "... and leaves 8 fds free ($a of 40 open)"
[ "$a" -le 32 ] || diag "$(ls -l "/proc/$npid/fd")"
run "$UMLKIT" switch ports natfd
is "$rc" 0 "... and takes requests meanwhile"
like "$out" "nat " "... and answers them"
kill "${held[@]}" 2>/dev/null
wait "${held[@]}" 2>/dev/null
check "... and is alive" -- kill -0 "$npid"
run "$UMLKIT" switch stop natfd
is "$rc" 0 "it stops"
is "$err" "" "... when asked, without a word"

# out of fds too, the guests' own new flows (UDP from 60 source ports: a host socket of
# slirp's each) are dropped and counted before they take the 8 fds kept free
F4=$(free_port)
run prlimit --nofile=40 "$UMLKIT" switch start natflow --nat --forward "udp:$F4:10.0.2.15:7"
is "$rc" 0 "a NAT switch with 40 fds and a UDP forward"
track_switch natflow
npid=$(cat "$XDG_RUNTIME_DIR/umlkit/switches/natflow/pid")
run "$NATPEER" natflow sockets 60 "$F4"
got=$(sed -n 's/^sink got \([0-9]*\) of 60$/\1/p' <<<"$out")
ok "$([ "${got:-0}" -gt 0 ] && [ "$got" -lt 60 ]; echo $?)" \
	"60 guest UDP flows through a NAT with 40 fds: some reach the host's loopback, not all (${got:-none})"
like "$out" "forward delivered" "... and the forward still delivers"
a=$(nfd)
ok "$([ "$a" -le 32 ]; echo $?)" "... and 8 fds stay free ($a of 40 open)"
run "$UMLKIT" switch ports natflow
is "$rc" 0 "... and it takes requests"
run "$UMLKIT" switch nat natflow
drops=$(sed -n 's/^flow_drops *//p' <<<"$out")
is "$drops" "$((60 - ${got:-0}))" "... and counts every flow it dropped"
run "$UMLKIT" switch nat natflow --output=json
like "$out" "\"flow_drops\": $drops" "... in the JSON too"
run "$UMLKIT" switch stop natflow
is "$rc" 0 "it stops"

# and their connections out: 60 SYNs, each a connecting host socket of slirp's
run prlimit --nofile=40 "$UMLKIT" switch start natsyn --nat
is "$rc" 0 "a NAT switch with 40 fds"
track_switch natsyn
npid=$(cat "$XDG_RUNTIME_DIR/umlkit/switches/natsyn/pid")
run "$NATPEER" natsyn connects 60
got=$(sed -n 's/^listener accepted \([0-9]*\) of 60$/\1/p' <<<"$out")
ok "$([ "${got:-0}" -gt 0 ] && [ "$got" -lt 60 ]; echo $?)" \
	"60 guest TCP connections through a NAT with 40 fds: some reach the host's loopback, not all (${got:-none})"
a=$(nfd)
ok "$([ "$a" -le 32 ]; echo $?)" "... and 8 fds stay free ($a of 40 open)"
run "$UMLKIT" switch nat natsyn
is "$rc" 0 "... and it takes requests"
is "$(sed -n 's/^flow_drops *//p' <<<"$out")" "$((60 - ${got:-0}))" "... and counts every SYN it dropped"
run "$NATPEER" natsyn connects 1
like "$out" "listener accepted 0 of 1" "... and drops the next one too"
run "$UMLKIT" switch stop natsyn
is "$rc" 0 "it stops"
done_testing
