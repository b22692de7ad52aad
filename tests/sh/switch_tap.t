#!/bin/bash
# The switch's tap uplink with a real guest: inside a network namespace this test makes, a
# tap with an address; the switch (started in that namespace) opens it as an uplink; a guest
# on the switch and the namespace ping each other through it. Nothing leaves the namespace.
# The uplink removed by a control request closes the tap; the tap deleted under a running
# switch takes the uplink with it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
test_need_guests
test_lazy_prereq IP 'command -v ip' # iproute2
SWPEER="$UK_BUILD/tests/helpers/swpeer"
test_lazy_prereq SWPEER '[ -x "$SWPEER" ]' # make test-build

NS="uksw$$"
NS_MADE=
cleanup_ns() {
	"$UMLKIT" kill tg >/dev/null 2>&1
	if [ -n "$NS_MADE" ]; then
		ip netns exec "$NS" "$UMLKIT" switch stop swt >/dev/null 2>&1
		ip netns exec "$NS" "$UMLKIT" switch stop swt2 >/dev/null 2>&1 # if it wrongly started
		ip netns del "$NS" 2>/dev/null
	fi
}
trap 'cleanup_ns; _uk_cleanup' EXIT
in_ns() { ip netns exec "$NS" "$@"; }
# ns_start NAME OPTIONS...: `switch start` inside the namespace; the daemon tracked when it runs
ns_start() {
	local p
	run in_ns "$UMLKIT" switch start "$@"
	p=$(swpid "$1")
	[ -n "$p" ] && UK_PIDS+=("$p")
	return 0
}
tap_port() { ports_json swt | jq -c '.[] | select(.kind == "tap")'; }

test_expect_success BUSYBOX 'setup: the guest image' '
	guest_image "$T/base.img" 32M &&
	test_set_prereq IMAGE
'
test_expect_success ROOT,IP 'setup: a network namespace with a tap uktap0 at 10.7.0.1/24' '
	ip netns add "$NS" &&
	NS_MADE=1 &&
	in_ns ip link set lo up &&
	in_ns ip tuntap add dev uktap0 mode tap &&
	in_ns ip addr add 10.7.0.1/24 dev uktap0 &&
	in_ns ip link set uktap0 up &&
	test_set_prereq NS
'

test_expect_success NS "switch start --tap: the switch opens the namespace's tap as its uplink" '
	ns_start swt --tap uktap0 &&
	test_is "$rc" 0 &&
	test_set_prereq SWT
'
test_expect_success SWT 'ports: a tap port' '
	test_is "$(json .kind "$(tap_port)")" tap
'
test_expect_success SWT 'ports: it names the tap' '
	test_is "$(json .peer "$(tap_port)")" "tap uktap0"
'

TG_BODY='
ping -c 3 -w 20 10.7.0.1 > /tmp/ping.txt 2>&1
echo "guest ping: $(grep "packets received" /tmp/ping.txt)"'
test_expect_success SWT,IMAGE 'a guest joins the switch' '
	start_guest tg switch:swt 10.7.0.2 "$TG_BODY" &&
	test_set_prereq GUEST
'
test_expect_success GUEST "the guest pings the namespace's tap address through the switch" '
	until_true 30 log_has tg "guest ping:"
	test_like "$(logs tg)" "guest ping: 3 packets transmitted, 3 packets received"
'
test_expect_success GUEST 'the namespace pings the guest through the tap uplink' '
	run in_ns busybox ping -c 2 -w 10 10.7.0.2 && # the host may have no iputils
	test_is "$rc" 0
'
test_expect_success GUEST 'the tap port counted frames both ways' '
	t=$(tap_port) &&
	echo "rx $(json .rx_frames "$t"), tx $(json .tx_frames "$t")" &&
	test "$(json .rx_frames "$t")" -gt 0 &&
	test "$(json .tx_frames "$t")" -gt 0
'

test_expect_success NS 'a missing tap is refused' '
	ns_start swt2 --tap nosuchtap0 &&
	test_isnt "$rc" 0
'
test_expect_success NS '... naming the tap' '
	test_like "$err" "tap nosuchtap0"
'

test_expect_success GUEST 'the guest stops' '
	run "$UMLKIT" stop tg &&
	test_is "$rc" 0
'

# the uplink removed by a control request: the switch closes the tap (it loses its carrier)
carrier_lost() { in_ns ip link show uktap0 | grep -q NO-CARRIER; }
test_expect_success SWT,SWPEER 'remove-port of the tap uplink' '
	tport=$(json .port "$(tap_port)") &&
	run "$SWPEER" swt ask "{\"cmd\":\"remove-port\",\"port\":$tport}" &&
	test_is "$rc" 0 &&
	test_is "$(json .ok)" true &&
	test_set_prereq REMOVED
'
test_expect_success REMOVED "... closes the switch's end of the tap: it has no carrier" '
	until_true 5 carrier_lost
'
test_expect_success SWT 'the switch stops' '
	p=$(swpid swt) &&
	run in_ns "$UMLKIT" switch stop swt &&
	test_is "$rc" 0 &&
	forget_gone "$p"
'
test_expect_success SWT 'its control socket is gone' '
	test_path_is_missing "$(swdir swt)/ctl"
'

# the tap deleted under a running switch: the uplink goes, the switch goes on and says why
tap_gone() { ports_json swt | jq -e 'all(.[]; .kind != "tap")' >/dev/null; }
test_expect_success NS 'the switch starts again on the tap' '
	ns_start swt --tap uktap0 &&
	test_is "$rc" 0 &&
	test_set_prereq SWT_AGAIN
'
test_expect_success SWT_AGAIN 'the tap deleted: the switch removes its uplink' '
	in_ns ip link del uktap0 &&
	until_true 5 tap_gone
'
test_expect_success SWT_AGAIN '... and tells why (list: tap_error)' '
	test_like "$(sw_info swt .tap_error)" "^tap uktap0: .*; the uplink is removed"
'
test_expect_success SWT_AGAIN 'the switch stops' '
	p=$(swpid swt) &&
	run in_ns "$UMLKIT" switch stop swt &&
	test_is "$rc" 0 &&
	forget_gone "$p"
'
test_done
