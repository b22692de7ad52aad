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
#   4. --group: a member of the switch's group may name only its own socket files.
#
# Guests run the kernel directly, each with its own uml_dir under $T, in the background
# (pids in UK_PIDS); the host tells a guest to go on with `mconsole log UKGO` (the guest
# waits for it in dmesg) and stops it with `mconsole halt`. Traffic stays on the switches.
# Each switch and each guest pair is a setup block that sets a prerequisite; a step that
# fails skips what stands on it.
#
# Run: UK_BUILD=$PWD/build tests/sh/switch_legacy.t [-v]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT"
[ -n "$UML" ] && [ -x "$UML" ] || test_skip_all "no UML kernel (linux.uml)"
case "$T" in *,* | *:* | *' '*) test_skip_all "temp dir $T holds ',', ':' or a space" ;; esac
REQ="$UK_BUILD/tests/helpers/legacy-req"
test_lazy_prereq REQ '[ -x "$REQ" ]' # make test-build
# the daemon transport left the kernel in 6.16; bess did not
test_lazy_prereq DAEMON '"$UML" --showconfig 2>/dev/null | grep -q "^CONFIG_UML_NET_DAEMON=y"'
test_lazy_prereq OLD_SWITCH '[ -x /usr/bin/uml_switch ]' # uml-utilities
test_lazy_prereq IP 'command -v ip'                      # iproute2
test_lazy_prereq NOGROUP 'getent group nogroup'

MAC1=02:00:00:4c:00:01
MAC2=02:00:00:4c:00:02
WAIT=${UK_GUEST_WAIT:-60} # seconds any one wait may take before the test gives up

# wait_log FILE REGEX : until FILE holds a line matching REGEX (bounded)
log_matches() { grep -Eq -- "$2" "$1" 2>/dev/null; }
wait_log() {
	until_true "$WAIT" log_matches "$1" "$2" && return 0
	echo "timed out waiting for '$2' in $1" >&2
	return 1
}
# reap PID : until the process has ended (bounded), then reap it when it is our child (its
# exit status in WST) and forget it
WST=
reap() {
	wait_gone "$1" "$WAIT" || return 1
	wait "$1" 2>/dev/null
	WST=$? # the exit status, when it was our child
	forget_pid "$1"
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

# bg_guest NAME NETARG : boot a guest in the background (uml_dir $T/NAME.uml, COW $T/NAME.cow,
# console in $T/NAME.log); its pid in $GPID and UK_PIDS
bg_guest() {
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
	reap "$2"
}
sum_line() { sed -n "s/^$2 \([0-9a-f]*\).*/\1/p" "$T/$1.log" | tr -d '\r' | head -1; }
# end_pair PREFIX : the client's end (it powers off) and the server's halt, unchecked
end_pair() {
	[ -n "${G2PID:-}" ] && reap "$G2PID"
	[ -n "${G1PID:-}" ] && halt "${1}s" "$G1PID"
	G1PID= G2PID=
	return 0
}

# test_pair PREREQ PREFIX NETARG1 NETARG2 PHASES IF : three blocks: a server guest and a
# client guest; the client pings and fetches the file whole. Sets the prerequisite
# PREFIX_CLIENT (upper case) once the client has reported, and leaves G1PID/G2PID (the
# client may still run when PHASES=2).
G1PID= G2PID=
test_pair() {
	tp_prefix=$2 tp_net1=$3 tp_net2=$4 tp_phases=$5 tp_if=$6
	tp_p=${2^^}
	test_expect_success "$1" "$2: the server guest is up and serving" '
		server_script "$tp_if" 10.1.0.1 >"$T/${tp_prefix}s.sh" &&
		client_script "$tp_if" 10.1.0.2 10.1.0.1 "$tp_phases" >"$T/${tp_prefix}c.sh" &&
		bg_guest "${tp_prefix}s" "$tp_net1" &&
		G1PID=$GPID &&
		wait_log "$T/${tp_prefix}s.log" "^G1 ready" &&
		test_set_prereq "${tp_p}_SERVER"
	'
	test_expect_success "${tp_p}_SERVER" "$2: the guests ping each other" '
		bg_guest "${tp_prefix}c" "$tp_net2" &&
		G2PID=$GPID &&
		wait_log "$T/${tp_prefix}c.log" "^(SUM2|WGET failed)" &&
		test_set_prereq "${tp_p}_CLIENT" &&
		test_like "$(grep -E "^PING1" "$T/${tp_prefix}c.log")" "PING1 ok"
	'
	test_expect_success "${tp_p}_CLIENT" "$2: 1 MiB over httpd arrives whole (the md5 sums agree)" '
		s1=$(sum_line "${tp_prefix}s" SUM1) &&
		s2=$(sum_line "${tp_prefix}c" SUM2) &&
		test_isnt "$s1" "" &&
		test_is "$s2" "$s1"
	'
}

test_expect_success BUSYBOX 'setup: the guest image' '
	guest_image "$T/base.img" 32M &&
	test_set_prereq IMAGE
'

# ---------------------------------------------------------------- 1. umlkit switch --legacy
CTL="$T/l.ctl"
SWPID=
test_expect_success 'switch start --legacy: exit 0' '
	sw_start lsw --legacy "$CTL" &&
	SWPID=$(swpid lsw) &&
	test_is "$rc" 0 &&
	test_set_prereq LSW
'
test_expect_success LSW 'the legacy control socket exists' '
	test -S "$CTL"
'
test_expect_success LSW 'a second switch on the same legacy socket is refused (exit 1)' '
	test_when_finished "\"\$UMLKIT\" switch stop lsw2 >/dev/null 2>&1" &&
	run "$UMLKIT" switch start lsw2 --legacy "$CTL" &&
	test_is "$rc" 1
'
test_expect_success LSW '... as the old switch said it' '
	test_like "$err" "has another server attached"
'
test_expect_success LSW "... and the first one's socket is still there" '
	test -S "$CTL"
'

test_pair LSW,IMAGE,DAEMON leg "eth0=daemon,$MAC1,unix,$CTL" "eth0=daemon,$MAC2,unix,$CTL" 2 eth0
# daemon_count / has_mac MAC / rx_of MAC: of the ports in $ports (switch ports lsw, JSON)
daemon_count() { json '[.[] | select(.kind == "daemon")] | length' "$ports"; }
has_mac() { json "any(.[].macs[]; . == \"$1\")" "$ports"; }
rx_of() { json ".[] | select(.macs == [\"$1\"]) | .rx_frames" "$ports"; }
ports=
test_expect_success LEG_CLIENT 'switch ports: two daemon ports' '
	wait_log "$T/legc.log" "^G2 waiting"
	ports=$("$UMLKIT" switch ports lsw --output=json) &&
	test_is "$(daemon_count)" 2
'
test_expect_success LEG_CLIENT "... one has the server's MAC" '
	test_is "$(json "any(.[]; .macs == [\"$MAC1\"])" "$ports")" true
'
test_expect_success LEG_CLIENT "... the other the client's" '
	test_is "$(json "any(.[]; .macs == [\"$MAC2\"])" "$ports")" true
'
# 1 MiB cannot leave the server in fewer than 1048576 / 1514 = 693 frames; the client sent
# at least 3 pings, a SYN, its request and an ACK
test_expect_success LEG_CLIENT "... the server's port received the 1 MiB's frames (>= 693)" '
	rx1=$(rx_of "$MAC1") &&
	echo "rx_frames $rx1" &&
	test "$rx1" -ge 693
'
test_expect_success LEG_CLIENT "... the client's its pings and requests (>= 6)" '
	rx2=$(rx_of "$MAC2") &&
	echo "rx_frames $rx2" &&
	test "$rx2" -ge 6
'
test_expect_success LEG_CLIENT '... peers named as v3 guests with their pids' '
	test_is "$(json "[.[] | select(.kind == \"daemon\") | select(.peer | test(\"^daemon v3 pid [0-9]+$\"))] | length" "$ports")" 2
'

test_expect_success LSW,REQ 'a short request is closed' '
	run "$REQ" "$CTL" short long magic v2 v9 type family v3 dup extra &&
	test_set_prereq BAD_SENT &&
	test_like "$out" "short: closed"
'
bad_req() { # bad_req KIND TITLE: a block: KIND's connection was closed
	br_kind=$1
	test_expect_success BAD_SENT "$2" '
		test_like "$out" "$br_kind: closed"
	'
}
bad_req magic "a wrong magic is closed"
bad_req v2 "version 2 is refused"
bad_req v9 "an unknown version is refused"
bad_req type "a request type other than REQ_NEW_CONTROL is refused"
bad_req family "an address family other than AF_UNIX is refused"
bad_req long "an overlong request is refused"
bad_req dup "a request naming another guest's data address is refused"
bad_req extra "a byte after a good request ends that port"
test_expect_success BAD_SENT 'the legacy module counted the 9 bad requests' '
	run "$REQ" --ask lsw "{\"cmd\":\"legacy\"}" &&
	test_is "$(json .bad_requests)" 9
'
test_expect_success BAD_SENT '... and says why it refused the last' '
	test_is "$(json .last_bad_request)" "a byte after the request"
'
test_expect_success BAD_SENT,LEG_CLIENT '... and still has its two guests' '
	test_is "$(json .guests)" 2
'
test_expect_success LSW,REQ 'each v3 guest is given a data socket of its own' '
	run "$REQ" "$CTL" two stray &&
	test_like "$out" "two: replies differ"
'
test_expect_success LSW,REQ "a guest's own data socket takes its guest's frames, and the kernel refuses anyone else's" '
	test_like "$out" "stray: guest sent, stranger refused"
'
test_expect_success LSW,REQ '60 frames at once to a guest that reads late (its socket queues 10): the switch holds back the rest and sends them all, in order, as it reads' '
	run "$REQ" "$CTL" burst &&
	test_is "$out" "burst: 60 of 60 in order"
'
test_expect_success LSW,REQ "a guest whose address cannot be connected to gets the shared data socket, where a stranger's frame arrives" '
	run "$REQ" "$CTL" unbound &&
	test_like "$out" "unbound: stranger sent" &&
	test_set_prereq UNBOUND
'
stray_one() { [ "$("$REQ" --ask lsw '{"cmd":"legacy"}' | jq .stray_frames)" = 1 ]; }
test_expect_success UNBOUND '... is dropped and counted as a stray frame' '
	until_true 5 stray_one
	run "$REQ" --ask lsw "{\"cmd\":\"legacy\"}" &&
	test_is "$(json .stray_frames)" 1
'
test_expect_success UNBOUND 'switch legacy shows the stray frame' '
	run "$UMLKIT" switch legacy lsw &&
	test_like "$out" "stray_frames +1"
'
test_expect_success BAD_SENT '... and the refused requests with the last reason' '
	run "$UMLKIT" switch legacy lsw &&
	test_like "$out" "bad_requests +9 \(last: a byte after the request\)"
'
test_expect_success UNBOUND,LEG_CLIENT '... and as JSON' '
	run "$UMLKIT" switch legacy lsw --output=json &&
	test_is "$(json "\"\(.guests) \(.stray_frames)\"")" "2 1"
'
test_expect_success LSW,REQ "requests naming the switch's own data sockets (a guest's, the shared one) are refused" '
	run "$REQ" "$CTL" v3 self unbound self &&
	test_is "$(grep -c "^self: closed" <<<"$out")" 2 &&
	test_set_prereq SELF_SENT
'
test_expect_success SELF_SENT,BAD_SENT '... counted, saying why' '
	run "$UMLKIT" switch legacy lsw &&
	test_like "$out" "bad_requests +11 \(last: the address is the switch${SQ}s own\)"
'
test_expect_success LSW,REQ 'a v1 request gets the 110-byte address' '
	run "$REQ" "$CTL" v1 v0 v3 &&
	test_like "$out" "v1: reply 110"
'
test_expect_success LSW,REQ 'a v0 request gets no reply and stays' '
	test_like "$out" "v0: open"
'
test_expect_success LSW,REQ 'a v3 request gets the 110-byte address' '
	test_like "$out" "v3: reply 110"
'
test_expect_success LEG_CLIENT,REQ "the helper's ports went with its connections" '
	ports=$("$UMLKIT" switch ports lsw --output=json) &&
	test_is "$(daemon_count)" 2
'

test_expect_success LEG_CLIENT 'after the bad requests the guests still talk' '
	mc legc log UKGO
	wait_log "$T/legc.log" "^G2 done"
	test_like "$(grep -E "^PING2" "$T/legc.log")" "PING2 ok"
'
test_expect_success LEG_CLIENT 'the client guest powered off' '
	reap "$G2PID" &&
	G2PID= &&
	test_set_prereq LEG_CLIENT_GONE
'
test_expect_success LEG_CLIENT_GONE 'its port is gone' '
	ports=$("$UMLKIT" switch ports lsw --output=json) &&
	test_is "$(daemon_count)" 1
'
test_expect_success LEG_CLIENT_GONE '... and its MAC with it' '
	test_is "$(has_mac "$MAC2")" false
'
test_expect_success LEG_CLIENT_GONE "the other guest's MAC stays" '
	test_is "$(has_mac "$MAC1")" true
'
test_expect_success LEG_SERVER 'the server guest halts through its mconsole' '
	halt legs "$G1PID" &&
	G1PID=
'
end_pair leg

test_expect_success LSW 'SIGTERM ends the switch' '
	kill -TERM "$SWPID" &&
	reap "$SWPID" &&
	test_set_prereq LSW_ENDED
'
test_expect_success LSW_ENDED '... and removes the legacy control socket' '
	test_path_is_missing "$CTL"
'
test_expect_success LSW_ENDED '... and its own control socket' '
	test_path_is_missing "$(swdir lsw)/ctl"
'

# ---------------------------------------------------------------- 2. uml_switch, ours and the old one
UCTL="$T/u.ctl"
USPID=
test_expect_success 'uml_switch -unix CTL: the old message' '
	{ "$UK_BUILD/uml_switch" -unix "$UCTL" </dev/null >"$T/us.out" 2>&1 & } &&
	USPID=$! &&
	UK_PIDS+=("$USPID") &&
	wait_log "$T/us.out" "attached" &&
	test_like "$(cat "$T/us.out")" "^uml_switch attached to unix socket ${SQ}$UCTL${SQ}" &&
	test_set_prereq US
'
test_expect_success US 'a second uml_switch on that socket: exit 1' '
	run "$UK_BUILD/uml_switch" -unix "$UCTL" &&
	test_is "$rc" 1
'
test_expect_success US '... saying another server has it' '
	test_like "$err" "has another server attached"
'
test_pair US,IMAGE,DAEMON us "eth0=daemon,$MAC1,unix,$UCTL" "eth0=daemon,$MAC2,unix,$UCTL" 1 eth0
end_pair us
test_expect_success US 'SIGTERM ends uml_switch' '
	kill -TERM "$USPID" &&
	reap "$USPID" &&
	test_set_prereq US_ENDED
'
test_expect_success US_ENDED '... with exit status 0' '
	test_is "$WST" 0
'
test_expect_success US_ENDED '... and removes its socket' '
	test_path_is_missing "$UCTL"
'
test_expect_success 'uml_switch with a bad option: exit 1' '
	run "$UK_BUILD/uml_switch" -bogus &&
	test_is "$rc" 1
'
test_expect_success '... and the usage text' '
	test_like "$err" "^Usage : uml_switch"
'
test_expect_success "uml_switch -tap '': exit 1" '
	run "$UK_BUILD/uml_switch" -unix "$T/empty-tap.ctl" -tap "" &&
	test_is "$rc" 1
'
test_expect_success '... saying a name is needed' '
	test_like "$err" "-tap needs a tap device${SQ}s name"
'
test_expect_success '... and no socket made' '
	test_path_is_missing "$T/empty-tap.ctl"
'

OCTL="$T/o.ctl"
OSPID=
test_expect_success OLD_SWITCH 'the old /usr/bin/uml_switch -unix CTL makes its socket' '
	{ /usr/bin/uml_switch -unix "$OCTL" </dev/null >/dev/null 2>&1 & } &&
	OSPID=$! &&
	UK_PIDS+=("$OSPID") &&
	until_true "$WAIT" test -e "$OCTL" &&
	test_set_prereq OLD
'
test_pair OLD,IMAGE,DAEMON old "eth0=daemon,$MAC1,unix,$OCTL" "eth0=daemon,$MAC2,unix,$OCTL" 1 eth0
test_expect_success OLD "our uml_switch on the old one's live socket: exit 1" '
	run "$UK_BUILD/uml_switch" -unix "$OCTL" &&
	test_is "$rc" 1
'
test_expect_success OLD '... another server attached' '
	test_like "$err" "has another server attached"
'
end_pair old
[ -n "$OSPID" ] && kill -INT "$OSPID" 2>/dev/null && reap "$OSPID"

# uml_switch -tap: a guest reaches a tap's host side, all inside a namespace the test makes
# (backgrounded commands run `ip netns exec` directly, so that $! is their pid)
NS="uksl$$"
NS_MADE=
trap '[ -n "$NS_MADE" ] && ip netns del "$NS" 2>/dev/null; _uk_cleanup' EXIT
nx() { ip netns exec "$NS" "$@"; }
TCTL="$T/t.ctl"
TSPID= TGPID=
test_expect_success ROOT,IP 'setup: a network namespace with a tap uktap0 at 10.9.0.254/24' '
	ip netns add "$NS" &&
	NS_MADE=1 &&
	nx ip link set lo up &&
	nx ip tuntap add dev uktap0 mode tap &&
	nx ip addr add 10.9.0.254/24 dev uktap0 &&
	nx ip link set uktap0 up &&
	test_set_prereq TAPNS
'
test_expect_success TAPNS 'uml_switch -tap: the old message' '
	{ ip netns exec "$NS" "$UK_BUILD/uml_switch" -unix "$TCTL" -tap uktap0 </dev/null >"$T/ts.out" 2>&1 & } &&
	TSPID=$! &&
	UK_PIDS+=("$TSPID") &&
	wait_log "$T/ts.out" "attached" &&
	test_like "$(cat "$T/ts.out")" "attached to unix socket ${SQ}$TCTL${SQ} tap device ${SQ}uktap0${SQ}" &&
	test_set_prereq TS
'
TAPG_SCRIPT='ifconfig eth0 10.9.0.1 netmask 255.255.255.0 up
if ping -c 3 -W 2 10.9.0.254; then echo "TAP ok"; else echo "TAP failed"; fi
exit 0'
test_expect_success TS,IMAGE,DAEMON "uml_switch -tap: the guest pings the tap's host side" '
	printf "%s\n" "$TAPG_SCRIPT" >"$T/tapg.sh" &&
	mkdir -p "$T/tapg.uml" &&
	{
		LD_PRELOAD=$UML_PRELOAD ip netns exec "$NS" setarch -R "$UML" mem=64M uml_dir="$T/tapg.uml" \
			umid=tapg con=null con0=fd:0,fd:1 ubda="$T/tapg.cow,$T/base.img" ubdb="$T/tapg.sh" \
			"eth0=daemon,$MAC1,unix,$TCTL" init=/init </dev/null >"$T/tapg.log" 2>&1 &
	} &&
	TGPID=$! &&
	UK_PIDS+=("$TGPID") &&
	wait_log "$T/tapg.log" "^TAP (ok|failed)" &&
	test_like "$(grep "^TAP" "$T/tapg.log")" "TAP ok"
'
[ -n "$TGPID" ] && reap "$TGPID"
test_expect_success TS '... and SIGTERM removes its socket' '
	kill -TERM "$TSPID" &&
	reap "$TSPID" &&
	test_path_is_missing "$TCTL"
'

# ---------------------------------------------------------------- 3. bess
BESS="$T/b.sock"
BPID=
test_expect_success 'switch start --bess: exit 0' '
	sw_start bsw --bess "$BESS" &&
	BPID=$(swpid bsw) &&
	test_is "$rc" 0 &&
	test_set_prereq BSW
'
test_pair BSW,IMAGE bess "vec0:transport=bess,dst=$BESS,mac=$MAC1" "vec0:transport=bess,dst=$BESS,mac=$MAC2" 1 vec0
end_pair bess
# a --bess path that is taken: another switch's socket, a file that is not a socket
test_expect_success BSW "switch start --bess on another switch's socket: exit 1" '
	ino=$(stat -c %i "$BESS") &&
	test_when_finished "\"\$UMLKIT\" switch stop bsw2 >/dev/null 2>&1" &&
	run "$UMLKIT" switch start bsw2 --bess "$BESS" &&
	test_is "$rc" 1
'
test_expect_success BSW '... saying so' '
	test_like "$err" "bess socket ${SQ}$BESS${SQ} has another server attached to it"
'
test_expect_success BSW '... and leaves that socket alone' '
	test_is "$(stat -c %i "$BESS")" "$ino"
'
test_expect_success 'switch start --bess on a regular file: exit 1' '
	echo "not a socket" >"$T/plain" &&
	test_when_finished "\"\$UMLKIT\" switch stop bsw2 >/dev/null 2>&1" &&
	run "$UMLKIT" switch start bsw2 --bess "$T/plain" &&
	test_is "$rc" 1
'
test_expect_success '... saying so' '
	test_like "$err" "bess socket ${SQ}$T/plain${SQ} exists and is not a socket"
'
test_expect_success '... and leaves the file as it was' '
	test_is "$(cat "$T/plain")" "not a socket"
'
test_expect_success BSW 'SIGTERM removes the bess socket' '
	kill -TERM "$BPID" &&
	reap "$BPID" &&
	test_path_is_missing "$BESS"
'
# a stale socket (its switch killed) is taken over; at the end a switch removes only its own
test_expect_success 'a switch killed leaves its bess socket' '
	sw_start bsw3 --bess "$T/b3.sock" &&
	test_is "$rc" 0 &&
	B3PID=$(swpid bsw3) &&
	kill -KILL "$B3PID" &&
	reap "$B3PID" &&
	test -S "$T/b3.sock" &&
	test_set_prereq STALE
'
test_expect_success STALE 'a new switch takes the stale bess socket over' '
	sw_start bsw3 --bess "$T/b3.sock" &&
	test_is "$rc" 0 &&
	test_set_prereq B3
'
test_expect_success B3 'switch stop' '
	rm -f "$T/b3.sock" &&
	echo "someone else${SQ}s" >"$T/b3.sock" &&
	sw_stop bsw3 &&
	test_is "$rc" 0
'
test_expect_success B3 '... leaves a file put at its bess path since alone' '
	test_is "$(cat "$T/b3.sock")" "someone else${SQ}s"
'
# relative paths are the starter's: the daemon leaves its directory (holds none busy)
in_dir() { (cd "$1" && "${@:2}"); } # in_dir DIR CMD...
test_expect_success 'switch start with relative --bess and --legacy paths' '
	mkdir "$T/rel" &&
	run in_dir "$T/rel" "$UMLKIT" switch start bsw4 --bess b.sock --legacy l.ctl &&
	B4PID=$(swpid bsw4) &&
	{ [ -z "$B4PID" ] || UK_PIDS+=("$B4PID"); } &&
	test_is "$rc" 0 &&
	test_set_prereq B4
'
test_expect_success B4 "... makes the sockets in the starter's directory" '
	test -S "$T/rel/b.sock" &&
	test -S "$T/rel/l.ctl"
'
test_expect_success B4 "... and the daemon's directory is /" '
	test_is "$(readlink "/proc/$B4PID/cwd")" /
'
test_expect_success B4 '... and names the absolute path' '
	test_like "$("$UMLKIT" switch legacy bsw4)" "control +$T/rel/l\.ctl"
'
test_expect_success B4 '... and removes both at stop' '
	sw_stop bsw4 &&
	test_path_is_missing "$T/rel/b.sock" &&
	test_path_is_missing "$T/rel/l.ctl"
'
test_expect_success 'a relative --bess in a directory that does not exist: exit 1' '
	mkdir -p "$T/rel" &&
	test_when_finished "\"\$UMLKIT\" switch stop bsw4 >/dev/null 2>&1" &&
	run in_dir "$T/rel" "$UMLKIT" switch start bsw4 --bess nodir/b.sock &&
	test_is "$rc" 1
'
test_expect_success '... saying so' '
	test_like "$err" "--bess nodir/b.sock: cannot resolve directory ${SQ}nodir${SQ}"
'

# ---------------------------------------------------------------- 4. --group
# a member of the switch's group (here: nobody, group nogroup) may name only its own socket
# files: the switch must not write for it to a socket it could not write to itself
PUB="$T/pub"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
bound() { grep -q bound "$T/bind.out"; }
BINDPID=
test_expect_success NOBODY,NOGROUP,REQ 'a legacy switch that the group nogroup may use' '
	stage_for_others && # nobody may pass through $T, to $T/pub only
	mkdir -m 1777 "$PUB" &&
	install -m 755 "$REQ" "$PUB/legacy-req" &&
	sw_start gsw --legacy "$PUB/ctl" --group nogroup &&
	test_is "$rc" 0 &&
	test_set_prereq GSW
'
test_expect_success GSW "a group member naming root's socket is refused" '
	{ "$REQ" --bind "$PUB/root.sock" 60 >"$T/bind.out" 2>&1 & } &&
	BINDPID=$! &&
	UK_PIDS+=("$BINDPID") &&
	until_true 5 bound &&
	run nobody "$PUB/legacy-req" "$PUB/ctl" "name=$PUB/root.sock" "path=$PUB/own.sock" &&
	test_like "$out" "name=$PUB/root.sock: closed"
'
test_expect_success GSW '... one naming its own socket is served' '
	test_like "$out" "path=$PUB/own.sock: reply 110"
'
test_expect_success GSW '... and the refusal says why' '
	run "$REQ" --ask gsw "{\"cmd\":\"legacy\"}" &&
	test_like "$(json .last_bad_request)" "the data socket is not the requester${SQ}s"
'
# a v0 request gets no socket of its own, connected to the file checked: the shared one
# would name the path at every frame, whatever file is put there later
test_expect_success GSW "a group member's v0 request naming its socket file is refused" '
	run nobody "$PUB/legacy-req" "$PUB/ctl" "path0=$PUB/own0.sock" &&
	test_like "$out" "path0=$PUB/own0.sock: closed"
'
test_expect_success GSW '... saying why' '
	run "$REQ" --ask gsw "{\"cmd\":\"legacy\"}" &&
	test_like "$(json .last_bad_request)" "a v0 request from another user names a socket file"
'
test_expect_success GSW "... the switch's own user's is served" '
	run "$REQ" "$PUB/ctl" "path0=$T/root0.sock" &&
	test_like "$out" "path0=$T/root0.sock: open"
'
if [ -n "$BINDPID" ]; then
	kill "$BINDPID" 2>/dev/null
	wait "$BINDPID" 2>/dev/null
	forget_pid "$BINDPID"
fi
test_expect_success GSW 'switch stop' '
	sw_stop gsw &&
	test_is "$rc" 0
'

test_done
