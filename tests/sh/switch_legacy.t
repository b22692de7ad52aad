#!/bin/bash
# switch_legacy.t: 6.1 guests on the legacy daemon transport (eth0=daemon) and on bess.
#
#   1. `umlkit switch start NAME --legacy CTL`: two guests ping each other and move a 1 MiB
#      file (httpd + wget, checksums compared); `switch ports --output=json` shows two daemon
#      ports with their MACs and frame counts; malformed control requests (tests/helpers/
#      legacy-req) are refused, closed and counted while the guests keep talking; a burst to
#      a guest that reads late is held back, not dropped (legacy-req burst); a guest
#      that stops takes its port and its MAC with it; SIGTERM removes the switch's sockets.
#   2. The same through our `uml_switch -unix CTL` (the old command line), and through the old
#      /usr/bin/uml_switch as a reference.
#      uml_switch -tap (as root): a guest pings the host side of a tap in a namespace.
#   3. bess: two guests with vec0:transport=bess,dst=PATH on `--bess PATH` ping each other.
#
# Guests run the kernel directly, each with its own uml_dir under $T, in the background
# (pids in UK_PIDS); the host tells a guest to go on with `mconsole log UKGO` (the guest
# waits for it in dmesg) and stops it with `mconsole halt`. Traffic stays on the switches.
#
# Run: UK_BUILD=$PWD/build prove -v tests/sh/switch_legacy.t
. "$(dirname "$0")/lib.sh"
[ -x "$UMLKIT" ] || skip_all "umlkit not built: $UMLKIT"
[ -n "$UML" ] && [ -x "$UML" ] || skip_all "no UML kernel (linux.uml)"
"$UML" --showconfig 2>/dev/null | grep -q '^CONFIG_UML_NET_DAEMON=y' ||
	skip_all "the kernel has no daemon transport (removed in 6.16)"
command -v busybox >/dev/null || skip_all "busybox-static not installed"
REQ="$UK_BUILD/tests/helpers/legacy-req"
[ -x "$REQ" ] || skip_all "test helpers not built (make test-build): $REQ"
case "$T" in *,* | *:* | *' '*) skip_all "temp dir $T holds ',', ':' or a space" ;; esac

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
guest_image "$T/base.img" 32M || skip_all "cannot build the guest image"
MAC1=02:00:00:4c:00:01
MAC2=02:00:00:4c:00:02
WAIT=${UK_GUEST_WAIT:-60} # seconds any one wait may take before the test gives up

# wait_log FILE REGEX : until FILE holds a line matching REGEX (bounded)
wait_log() {
	local i
	for ((i = 0; i < WAIT * 5; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	diag "timed out waiting for '$2' in $1"
	return 1
}
# wait_gone PID : until the process has ended (bounded); reaps it when it is our child, its
# status in WST
wait_gone() {
	local i
	for ((i = 0; i < WAIT * 5; i++)); do
		kill -0 "$1" 2>/dev/null || {
			wait "$1" 2>/dev/null
			WST=$? # the exit status, when it was our child
			forget_pid "$1"
			return 0
		}
		sleep 0.2
	done
	return 1
}
# wait_file PATH : until it exists (as a socket or anything)
wait_file() {
	local i
	for ((i = 0; i < WAIT * 5; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

# guest scripts (on /dev/ubdb; the device is padded with NULs, so each ends with exit 0)
# server IF ADDR : serve a 1 MiB random file over httpd, say its checksum, wait to be halted
server_script() {
	cat <<EOF
ifconfig lo up
ifconfig $1 $2 netmask 255.255.255.0 up
mkdir -p /tmp/www
head -c 1048576 /dev/urandom >/tmp/www/blob
echo "SUM1 \$(md5sum </tmp/www/blob | cut -d' ' -f1)"
httpd -p 80 -h /tmp/www
echo "G1 ready"
sleep 600
exit 0
EOF
}
# client IF ADDR PEER PHASES : ping, fetch, checksum; with PHASES=2 it waits for the host's
# go (UKGO in the kernel log), pings again and says so
client_script() {
	cat <<EOF
ifconfig lo up
ifconfig $1 $2 netmask 255.255.255.0 up
n=0
until ping -c 1 -W 1 $3 >/dev/null 2>&1 || [ \$n -ge 30 ]; do n=\$((n+1)); done
if ping -c 3 -W 2 $3; then echo "PING1 ok"; else echo "PING1 failed"; fi
if wget -q -O /tmp/blob http://$3/blob; then
	echo "SUM2 \$(md5sum </tmp/blob | cut -d' ' -f1)"
else
	echo "WGET failed"
fi
if [ "$4" = 2 ]; then
	echo "G2 waiting"
	n=0
	until dmesg | grep -q UKGO || [ \$n -ge 600 ]; do sleep 0.2; n=\$((n+1)); done
	if ping -c 3 -W 2 $3; then echo "PING2 ok"; else echo "PING2 failed"; fi
fi
echo "G2 done"
exit 0
EOF
}

# guest NAME NETARG : boot a guest in the background (uml_dir $T/NAME.uml, COW $T/NAME.cow,
# console in $T/NAME.log); its pid in $GPID and UK_PIDS
guest() {
	mkdir -p "$T/$1.uml"
	LD_PRELOAD=$UML_PRELOAD setarch -R "$UML" mem=64M uml_dir="$T/$1.uml" umid="$1" con=null con0=fd:0,fd:1 \
		ubda="$T/$1.cow,$T/base.img" ubdb="$T/$1.sh" "$2" init=/init \
		</dev/null >"$T/$1.log" 2>&1 &
	GPID=$!
	UK_PIDS+=("$GPID")
}
mc() { "$UK_BUILD/uml_mconsole" "$T/$1.uml/$1/mconsole" "${@:2}" >/dev/null 2>&1; }
# halt NAME PID : stop a guest through its mconsole, then wait for it
halt() {
	mc "$1" halt
	wait_gone "$2"
}
sum_line() { sed -n "s/^$2 \([0-9a-f]*\).*/\1/p" "$T/$1.log" | tr -d '\r' | head -1; }

# pair PREFIX NETARG1 NETARG2 PHASES IF : a server and a client; checks ping and the file.
# Leaves G1PID/G2PID (the client may still run when PHASES=2).
pair() {
	server_script "$5" 10.1.0.1 >"$T/$1s.sh"
	client_script "$5" 10.1.0.2 10.1.0.1 "$4" >"$T/$1c.sh"
	guest "$1s" "$2"
	G1PID=$GPID
	wait_log "$T/$1s.log" "^G1 ready"
	ok $? "$1: the server guest is up and serving"
	guest "$1c" "$3"
	G2PID=$GPID
	wait_log "$T/$1c.log" "^(SUM2|WGET failed)"
	like "$(grep -E '^PING1' "$T/$1c.log")" "PING1 ok" "$1: the guests ping each other"
	s1=$(sum_line "$1s" SUM1)
	s2=$(sum_line "$1c" SUM2)
	ok "$([ -n "$s1" ] && [ "$s1" = "$s2" ]; echo $?)" \
		"$1: 1 MiB over httpd arrives whole (md5 ${s1:-none} = ${s2:-none})"
}
# json_flat : the JSON on stdin on one line without blanks
json_flat() { tr -d ' \n\t'; }

# ---------------------------------------------------------------- 1. umlkit switch --legacy
CTL="$T/l.ctl"
run "$UMLKIT" switch start lsw --legacy "$CTL"
is "$rc" 0 "switch start --legacy: exit 0"
SWPID=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$out")
[ -n "$SWPID" ] && UK_PIDS+=("$SWPID")
check "the legacy control socket exists" -- test -S "$CTL"
run "$UMLKIT" switch start lsw2 --legacy "$CTL"
is "$rc" 1 "a second switch on the same legacy socket is refused (exit 1)"
like "$err" "has another server attached" "... as the old switch said it"
check "... and the first one's socket is still there" -- test -S "$CTL"

pair leg "eth0=daemon,$MAC1,unix,$CTL" "eth0=daemon,$MAC2,unix,$CTL" 2 eth0
wait_log "$T/legc.log" "^G2 waiting"
ports=$("$UMLKIT" switch ports lsw --output=json | json_flat)
is "$(grep -o '"kind":"daemon"' <<<"$ports" | wc -l)" 2 "switch ports: two daemon ports"
like "$ports" "\"macs\":\[\"$MAC1\"\]" "... one has the server's MAC"
like "$ports" "\"macs\":\[\"$MAC2\"\]" "... the other the client's"
# port_rx MAC: the frames received from the port that learned MAC (ports, flat JSON)
port_rx() { grep -o "{[^{}]*\"macs\":\[\"$1\"\][^{}]*}" <<<"$ports" | sed -n 's/.*"rx_frames":\([0-9]*\).*/\1/p'; }
rx1=$(port_rx "$MAC1") rx2=$(port_rx "$MAC2")
# 1 MiB cannot leave the server in fewer than 1048576 / 1514 = 693 frames; the client sent
# at least 3 pings, a SYN, its request and an ACK
ok "$([ "${rx1:-0}" -ge 693 ]; echo $?)" "... the server's port received the 1 MiB's frames (${rx1:-0} >= 693)"
ok "$([ "${rx2:-0}" -ge 6 ]; echo $?)" "... the client's its pings and requests (${rx2:-0} >= 6)"
like "$ports" '"peer":"daemonv3pid[0-9]+"' "... peers named as v3 guests with their pids"

run "$REQ" "$CTL" short long magic v2 v9 type family v3 dup extra
like "$out" "short: closed" "a short request is closed"
like "$out" "magic: closed" "a wrong magic is closed"
like "$out" "v2: closed" "version 2 is refused"
like "$out" "v9: closed" "an unknown version is refused"
like "$out" "type: closed" "a request type other than REQ_NEW_CONTROL is refused"
like "$out" "family: closed" "an address family other than AF_UNIX is refused"
like "$out" "long: closed" "an overlong request is refused"
like "$out" "dup: closed" "a request naming another guest's data address is refused"
like "$out" "extra: closed" "a byte after a good request ends that port"
run "$REQ" --ask lsw '{"cmd":"legacy"}'
like "$out" '"bad_requests":9' "the legacy module counted the 9 bad requests"
like "$out" '"last_bad_request":"a byte after the request"' "... and says why it refused the last"
like "$out" '"guests":2' "... and still has its two guests"
run "$REQ" "$CTL" two stray
like "$out" "two: replies differ" "each v3 guest is given a data socket of its own"
like "$out" "stray: guest sent, stranger refused" "a guest's own data socket takes its guest's frames, and the kernel refuses anyone else's"
run "$REQ" "$CTL" burst
is "$out" "burst: 60 of 60 in order" \
	"60 frames at once to a guest that reads late (its socket queues 10): the switch holds back the rest and sends them all, in order, as it reads"
run "$REQ" "$CTL" unbound
like "$out" "unbound: stranger sent" "a guest whose address cannot be connected to gets the shared data socket, where a stranger's frame arrives"
for ((i = 0; i < 50; i++)); do
	out=$("$REQ" --ask lsw '{"cmd":"legacy"}')
	[[ $out = *'"stray_frames": 1'* || $out = *'"stray_frames":1'* ]] && break
	sleep 0.1
done
like "$(tr -d ' ' <<<"$out")" '"stray_frames":1' "... is dropped and counted as a stray frame"
run "$UMLKIT" switch legacy lsw
like "$out" "stray_frames +1" "switch legacy shows the stray frame"
like "$out" "bad_requests +9 \(last: a byte after the request\)" "... and the refused requests with the last reason"
run "$UMLKIT" switch legacy lsw --output=json
like "$(tr -d ' \n' <<<"$out")" '"guests":2.*"stray_frames":1' "... and as JSON"
run "$REQ" "$CTL" v3 self unbound self
is "$(grep -c '^self: closed' <<<"$out")" 2 \
	"requests naming the switch's own data sockets (a guest's, the shared one) are refused"
run "$UMLKIT" switch legacy lsw
like "$out" "bad_requests +11 \(last: the address is the switch's own\)" "... counted, saying why"
run "$REQ" "$CTL" v1 v0 v3
like "$out" "v1: reply 110" "a v1 request gets the 110-byte address"
like "$out" "v0: open" "a v0 request gets no reply and stays"
like "$out" "v3: reply 110" "a v3 request gets the 110-byte address"
ports=$("$UMLKIT" switch ports lsw --output=json | json_flat)
is "$(grep -o '"kind":"daemon"' <<<"$ports" | wc -l)" 2 "the helper's ports went with its connections"

mc legc log UKGO
wait_log "$T/legc.log" "^G2 done"
like "$(grep -E '^PING2' "$T/legc.log")" "PING2 ok" "after the bad requests the guests still talk"
wait_gone "$G2PID"
ok $? "the client guest powered off"
ports=$("$UMLKIT" switch ports lsw --output=json | json_flat)
is "$(grep -o '"kind":"daemon"' <<<"$ports" | wc -l)" 1 "its port is gone"
unlike "$ports" "$MAC2" "... and its MAC with it"
like "$ports" "$MAC1" "the other guest's MAC stays"
halt legs "$G1PID"
ok $? "the server guest halts through its mconsole"

kill -TERM "$SWPID"
wait_gone "$SWPID"
ok $? "SIGTERM ends the switch"
check "... and removes the legacy control socket" -- test ! -e "$CTL"
check "... and its own control socket" -- test ! -e "$XDG_RUNTIME_DIR/umlkit/switches/lsw/ctl"

# ---------------------------------------------------------------- 2. uml_switch, ours and the old one
UCTL="$T/u.ctl"
"$UK_BUILD/uml_switch" -unix "$UCTL" >"$T/us.out" 2>&1 &
USPID=$!
UK_PIDS+=("$USPID")
wait_log "$T/us.out" "attached"
like "$(cat "$T/us.out")" "^uml_switch attached to unix socket '$UCTL'" \
	"uml_switch -unix CTL: the old message"
run "$UK_BUILD/uml_switch" -unix "$UCTL"
is "$rc" 1 "a second uml_switch on that socket: exit 1"
like "$err" "has another server attached" "... saying another server has it"
pair us "eth0=daemon,$MAC1,unix,$UCTL" "eth0=daemon,$MAC2,unix,$UCTL" 1 eth0
wait_gone "$G2PID"
halt uss "$G1PID"
kill -TERM "$USPID"
wait_gone "$USPID"
ok $? "SIGTERM ends uml_switch"
is "$WST" 0 "... with exit status 0"
check "... and removes its socket" -- test ! -e "$UCTL"
run "$UK_BUILD/uml_switch" -bogus
is "$rc" 1 "uml_switch with a bad option: exit 1"
like "$err" "^Usage : uml_switch" "... and the usage text"
run "$UK_BUILD/uml_switch" -unix "$T/empty-tap.ctl" -tap ""
is "$rc" 1 "uml_switch -tap '': exit 1"
like "$err" "-tap needs a tap device's name" "... saying a name is needed"
check "... and no socket made" -- test ! -e "$T/empty-tap.ctl"

if [ -x /usr/bin/uml_switch ]; then
	OCTL="$T/o.ctl"
	/usr/bin/uml_switch -unix "$OCTL" </dev/null >/dev/null 2>&1 &
	OSPID=$!
	UK_PIDS+=("$OSPID")
	wait_file "$OCTL"
	pair old "eth0=daemon,$MAC1,unix,$OCTL" "eth0=daemon,$MAC2,unix,$OCTL" 1 eth0
	run "$UK_BUILD/uml_switch" -unix "$OCTL"
	is "$rc" 1 "our uml_switch on the old one's live socket: exit 1"
	like "$err" "has another server attached" "... another server attached"
	wait_gone "$G2PID"
	halt olds "$G1PID"
	kill -INT "$OSPID"
	wait_gone "$OSPID"
else
	skip "the old /usr/bin/uml_switch is not installed (uml-utilities)"
fi

# uml_switch -tap: a guest reaches a tap's host side, all inside a namespace the test makes
# (backgrounded commands run `ip netns exec` directly, so that $! is their pid)
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns add "uksl$$" 2>/dev/null; then
	NS="uksl$$"
	trap 'ip netns del "$NS" 2>/dev/null; _uk_cleanup' EXIT
	nx() { ip netns exec "$NS" "$@"; }
	nx ip link set lo up
	nx ip tuntap add dev uktap0 mode tap
	nx ip addr add 10.9.0.254/24 dev uktap0
	nx ip link set uktap0 up
	TCTL="$T/t.ctl"
	ip netns exec "$NS" "$UK_BUILD/uml_switch" -unix "$TCTL" -tap uktap0 >"$T/ts.out" 2>&1 &
	TSPID=$!
	UK_PIDS+=("$TSPID")
	wait_log "$T/ts.out" "attached"
	like "$(cat "$T/ts.out")" "attached to unix socket '$TCTL' tap device 'uktap0'" \
		"uml_switch -tap: the old message"
	printf 'ifconfig eth0 10.9.0.1 netmask 255.255.255.0 up\n%s\nexit 0\n' \
		'if ping -c 3 -W 2 10.9.0.254; then echo "TAP ok"; else echo "TAP failed"; fi' \
		>"$T/tapg.sh"
	mkdir -p "$T/tapg.uml"
	LD_PRELOAD=$UML_PRELOAD ip netns exec "$NS" setarch -R "$UML" mem=64M uml_dir="$T/tapg.uml" umid=tapg con=null con0=fd:0,fd:1 \
		ubda="$T/tapg.cow,$T/base.img" ubdb="$T/tapg.sh" \
		"eth0=daemon,$MAC1,unix,$TCTL" init=/init </dev/null >"$T/tapg.log" 2>&1 &
	TGPID=$!
	UK_PIDS+=("$TGPID")
	wait_log "$T/tapg.log" "^TAP (ok|failed)"
	like "$(grep '^TAP' "$T/tapg.log")" "TAP ok" "uml_switch -tap: the guest pings the tap's host side"
	wait_gone "$TGPID"
	kill -TERM "$TSPID"
	wait_gone "$TSPID"
	check "... and SIGTERM removes its socket" -- test ! -e "$TCTL"
else
	skip "uml_switch -tap needs root and a network namespace"
fi

# ---------------------------------------------------------------- 3. bess
BESS="$T/b.sock"
run "$UMLKIT" switch start bsw --bess "$BESS"
is "$rc" 0 "switch start --bess: exit 0"
BPID=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$out")
[ -n "$BPID" ] && UK_PIDS+=("$BPID")
pair bess "vec0:transport=bess,dst=$BESS,mac=$MAC1" "vec0:transport=bess,dst=$BESS,mac=$MAC2" 1 vec0
wait_gone "$G2PID"
halt besss "$G1PID"
# a --bess path that is taken: another switch's socket, a file that is not a socket
ino=$(stat -c %i "$BESS")
run "$UMLKIT" switch start bsw2 --bess "$BESS"
is "$rc" 1 "switch start --bess on another switch's socket: exit 1"
like "$err" "bess socket '$BESS' has another server attached to it" "... saying so"
is "$(stat -c %i "$BESS")" "$ino" "... and leaves that socket alone"
echo "not a socket" >"$T/plain"
run "$UMLKIT" switch start bsw2 --bess "$T/plain"
is "$rc" 1 "switch start --bess on a regular file: exit 1"
like "$err" "bess socket '$T/plain' exists and is not a socket" "... saying so"
is "$(cat "$T/plain")" "not a socket" "... and leaves the file as it was"
kill -TERM "$BPID"
wait_gone "$BPID"
check "SIGTERM removes the bess socket" -- test ! -e "$BESS"
# a stale socket (its switch killed) is taken over; at the end a switch removes only its own
run "$UMLKIT" switch start bsw3 --bess "$T/b3.sock"
B3PID=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$out")
[ -n "$B3PID" ] && UK_PIDS+=("$B3PID")
kill -KILL "$B3PID"
wait_gone "$B3PID"
check "a switch killed leaves its bess socket" -- test -S "$T/b3.sock"
run "$UMLKIT" switch start bsw3 --bess "$T/b3.sock"
is "$rc" 0 "a new switch takes the stale bess socket over"
B3PID=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$out")
[ -n "$B3PID" ] && UK_PIDS+=("$B3PID")
rm -f "$T/b3.sock"
echo "someone else's" >"$T/b3.sock"
run "$UMLKIT" switch stop bsw3
is "$rc" 0 "switch stop"
is "$(cat "$T/b3.sock")" "someone else's" "... leaves a file put at its bess path since alone"
# relative paths are the starter's: the daemon leaves its directory (holds none busy)
mkdir "$T/rel"
run bash -c "cd '$T/rel' && '$UMLKIT' switch start bsw4 --bess b.sock --legacy l.ctl"
is "$rc" 0 "switch start with relative --bess and --legacy paths"
B4PID=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$out")
[ -n "$B4PID" ] && UK_PIDS+=("$B4PID")
check "... makes the sockets in the starter's directory" -- test -S "$T/rel/b.sock" -a -S "$T/rel/l.ctl"
is "$(readlink "/proc/$B4PID/cwd")" "/" "... and the daemon's directory is /"
like "$("$UMLKIT" switch legacy bsw4)" "control +$T/rel/l\.ctl" "... and names the absolute path"
run "$UMLKIT" switch stop bsw4
check "... and removes both at stop" -- test ! -e "$T/rel/b.sock" -a ! -e "$T/rel/l.ctl"
run bash -c "cd '$T/rel' && '$UMLKIT' switch start bsw4 --bess nodir/b.sock"
is "$rc" 1 "a relative --bess in a directory that does not exist: exit 1"
like "$err" "--bess nodir/b.sock: cannot resolve directory 'nodir'" "... saying so"

# ---------------------------------------------------------------- 4. --group
# a member of the switch's group (here: nobody, group nogroup) may name only its own socket
# files: the switch must not write for it to a socket it could not write to itself
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && getent group nogroup >/dev/null; then
	chmod 711 "$T" # nobody may pass through, to $T/pub only
	PUB="$T/pub"
	mkdir -m 1777 "$PUB"
	install -m 755 "$REQ" "$PUB/legacy-req"
	run "$UMLKIT" switch start gsw --legacy "$PUB/ctl" --group nogroup
	is "$rc" 0 "a legacy switch that the group nogroup may use"
	GPID=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' <<<"$out")
	[ -n "$GPID" ] && UK_PIDS+=("$GPID")
	"$REQ" --bind "$PUB/root.sock" 60 >"$T/bind.out" &
	BINDPID=$!
	UK_PIDS+=("$BINDPID")
	for ((i = 0; i < 50; i++)); do grep -q bound "$T/bind.out" && break; sleep 0.1; done
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$PUB/legacy-req" "$PUB/ctl" \
		"name=$PUB/root.sock" "path=$PUB/own.sock"
	like "$out" "name=$PUB/root.sock: closed" "a group member naming root's socket is refused"
	like "$out" "path=$PUB/own.sock: reply 110" "... one naming its own socket is served"
	run "$REQ" --ask gsw '{"cmd":"legacy"}'
	like "$out" "the data socket is not the requester's" "... and the refusal says why"
	# a v0 request gets no socket of its own, connected to the file checked: the shared one
	# would name the path at every frame, whatever file is put there later
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$PUB/legacy-req" "$PUB/ctl" \
		"path0=$PUB/own0.sock"
	like "$out" "path0=$PUB/own0.sock: closed" "a group member's v0 request naming its socket file is refused"
	run "$REQ" --ask gsw '{"cmd":"legacy"}'
	like "$out" "a v0 request from another user names a socket file" "... saying why"
	run "$REQ" "$PUB/ctl" "path0=$T/root0.sock"
	like "$out" "path0=$T/root0.sock: open" "... the switch's own user's is served"
	kill "$BINDPID"
	wait "$BINDPID" 2>/dev/null
	forget_pid "$BINDPID"
	run "$UMLKIT" switch stop gsw
	is "$rc" 0 "switch stop"
else
	for i in 1 2 3 4 5 6 7 8; do skip "--group needs root, setpriv and the group nogroup"; done
fi

done_testing
