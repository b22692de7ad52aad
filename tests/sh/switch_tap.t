#!/bin/bash
# The switch's tap uplink with a real guest: inside a network namespace this test makes, a
# tap with an address; the switch (started in that namespace) opens it as an uplink; a guest
# on the switch and the namespace ping each other through it. Nothing leaves the namespace.
. "$(dirname "$0")/lib.sh"
[ -n "$UML" ] || skip_all "no UML kernel (install user-mode-linux)"
need_cmd ip "iproute2 is not installed"
need_cmd busybox "busybox-static is not installed"
[ "$(id -u)" = 0 ] || skip_all "needs root to make a network namespace and a tap"

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
NS="uksw$$"
ip netns add "$NS" || skip_all "cannot make a network namespace"
cleanup_ns() {
	"$UMLKIT" kill tg >/dev/null 2>&1
	ip netns exec "$NS" "$UMLKIT" switch stop swt >/dev/null 2>&1
	ip netns exec "$NS" "$UMLKIT" switch stop swt2 >/dev/null 2>&1 # if it wrongly started
	ip netns del "$NS" 2>/dev/null
}
trap 'cleanup_ns; _uk_cleanup' EXIT
in_ns() { ip netns exec "$NS" "$@"; }

in_ns ip link set lo up
in_ns ip tuntap add dev uktap0 mode tap
in_ns ip addr add 10.7.0.1/24 dev uktap0
in_ns ip link set uktap0 up
guest_image "$T/base.img" 32M
cat >"$T/g.sh" <<'EOF'
ifconfig vec0 10.7.0.2 netmask 255.255.255.0 up
echo umlkit-ready > /proc/mconsole
ping -c 3 -w 20 10.7.0.1 > /tmp/ping.txt 2>&1
echo "guest ping: $(grep 'packets received' /tmp/ping.txt)"
sleep 600
exit 0
EOF

run in_ns "$UMLKIT" switch start swt --tap uktap0
is "$rc" 0 "switch start --tap: the switch opens the namespace's tap as its uplink"
run "$UMLKIT" switch ports swt --output=json
like "$out" '"kind": "tap"' "ports: a tap port"
like "$out" '"peer": "tap uktap0"' "ports: it names the tap"

run "$UMLKIT" start --name tg --mem 64M --disk "$T/g.cow,$T/base.img" --disk "ubdb=$T/g.sh" \
	--net switch:swt --append init=/init --wait --timeout 90
is "$rc" 0 "a guest joins the switch"
for _ in $(seq 150); do
	"$UMLKIT" logs tg | grep -q 'guest ping:' && break
	sleep 0.2
done
run "$UMLKIT" logs tg
like "$out" "guest ping: 3 packets transmitted, 3 packets received" \
	"the guest pings the namespace's tap address through the switch"
run in_ns busybox ping -c 2 -w 10 10.7.0.2 # the host may have no iputils
is "$rc" 0 "the namespace pings the guest through the tap uplink"
run "$UMLKIT" switch ports swt --output=json
tap_rx=$(printf '%s' "$out" | jq '.[] | select(.kind == "tap") | .rx_frames')
tap_tx=$(printf '%s' "$out" | jq '.[] | select(.kind == "tap") | .tx_frames')
ok "$([ "${tap_rx:-0}" -gt 0 ] && [ "${tap_tx:-0}" -gt 0 ]; echo $?)" \
	"the tap port counted frames both ways (rx $tap_rx, tx $tap_tx)"

run in_ns "$UMLKIT" switch start swt2 --tap nosuchtap0
ok "$([ "$rc" != 0 ]; echo $?)" "a missing tap is refused"
like "$err" "tap nosuchtap0" "... naming the tap"

run "$UMLKIT" stop tg
is "$rc" 0 "the guest stops"

# the uplink removed by a control request: the switch closes the tap (it loses its carrier)
SWPEER="$UK_BUILD/tests/helpers/swpeer"
tport=$("$UMLKIT" switch ports swt --output=json | jq '.[] | select(.kind == "tap") | .port')
run "$SWPEER" swt ask "{\"cmd\":\"remove-port\",\"port\":${tport:-0}}"
like "$out" '"ok":true' "remove-port of the tap uplink (port $tport)"
carrier_lost() { in_ns ip link show uktap0 | grep -q NO-CARRIER; }
for _ in $(seq 50); do carrier_lost && break; sleep 0.1; done
ok "$(carrier_lost; echo $?)" "... closes the switch's end of the tap: it has no carrier"
run in_ns "$UMLKIT" switch stop swt
is "$rc" 0 "the switch stops"
check "its control socket is gone" -- test ! -e "$XDG_RUNTIME_DIR/umlkit/switches/swt/ctl"

# the tap deleted under a running switch: the uplink goes, the switch goes on and says why
run in_ns "$UMLKIT" switch start swt --tap uktap0
is "$rc" 0 "the switch starts again on the tap"
in_ns ip link del uktap0
tap_gone() {
	"$UMLKIT" switch ports swt --output=json | jq -e 'all(.[]; .kind != "tap")' >/dev/null
}
for _ in $(seq 50); do tap_gone && break; sleep 0.1; done
ok "$(tap_gone; echo $?)" "the tap deleted: the switch removes its uplink"
run "$UMLKIT" switch list --output=json
like "$(printf '%s' "$out" | jq -r '.[] | select(.name == "swt") | .tap_error')" \
	"^tap uktap0: .*; the uplink is removed" "... and tells why (list: tap_error)"
run in_ns "$UMLKIT" switch stop swt
is "$rc" 0 "the switch stops"
done_testing
