#!/bin/bash
# VXLAN ports (`umlkit switch vxlan NAME --vni N --remote ADDR ...`, `unvxlan`) with real
# guests, across network namespaces made here that act as hosts:
#
#   ns A (10.201.0.1) --veth-- ns B (10.201.0.2)     switch sa in A, sb in B, VNI 42
#   ns A (10.202.0.1) --veth-- ns K (10.202.0.2)     K's own kernel vxlan device vx0, VNI 77,
#                                                    address 10.0.42.9
#
# Guest ga on sa (10.0.42.1) and gb on sb (10.0.42.2): ga pings gb across the VXLAN join of
# the two switches, and K's address through sa's second VXLAN port to the kernel's device.
# ports and fdb show the ports, their remotes and what was learned from each. A wrong VNI on
# sb's side cuts ga from gb (sb counts ga's frames as wrong_vni); the right one
# joins them again. Bad input (a VNI out of range, a remote that is no unicast address, a
# local port taken, a segment carried twice) is refused with a clear message and adds no port.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
test_need_guests

NS=ukvx$$
del_ns() { for n in a b k; do ip netns del "$NS$n" 2>/dev/null; done; }
# the switches run inside the namespaces: the tracked pids are killed first, then the
# namespaces go
trap '_uk_cleanup; del_ns' EXIT
in_ns() { local n=$1; shift; ip netns exec "$NS$n" "$@"; }
GA=02:00:00:00:4a:01 GB=02:00:00:00:4a:02

test_expect_success ROOT,IPROUTE 'setup: namespaces A, B and K, A joined to B and to K' '
	for n in a b k; do ip netns add "$NS$n" && ip -n "$NS$n" link set lo up || return 1; done &&
	ip link add "vxab$$" netns "${NS}a" type veth peer name "vxba$$" netns "${NS}b" &&
	ip link add "vxak$$" netns "${NS}a" type veth peer name "vxka$$" netns "${NS}k" &&
	ip -n "${NS}a" addr add 10.201.0.1/24 dev "vxab$$" &&
	ip -n "${NS}b" addr add 10.201.0.2/24 dev "vxba$$" &&
	ip -n "${NS}a" addr add 10.202.0.1/24 dev "vxak$$" &&
	ip -n "${NS}k" addr add 10.202.0.2/24 dev "vxka$$" &&
	for l in "a vxab$$" "b vxba$$" "a vxak$$" "k vxka$$"; do
		set -- $l && ip -n "$NS$1" link set "$2" up || return 1
	done &&
	test_set_prereq NETNS
'
test_expect_success NETNS 'setup: the kernel vxlan device in K (VNI 77, to A), 10.0.42.9' '
	in_ns k ip link add vx0 type vxlan id 77 remote 10.202.0.1 local 10.202.0.2 \
		dstport 4789 &&
	in_ns k ip addr add 10.0.42.9/24 dev vx0 &&
	in_ns k ip link set vx0 up &&
	test_set_prereq KVX
'
test_expect_success BUSYBOX 'setup: the guest image' '
	guest_image "$T/base.img" 32M &&
	test_set_prereq IMAGE
'
test_expect_success NETNS 'switch start sa in A and sb in B' '
	sw_start sa && test_is "$rc" 0 &&
	in_ns b "$UMLKIT" switch start sb &&
	UK_PIDS+=("$(swpid sb)") &&
	test_set_prereq SWITCHES
'

# ---------------------------------------------------------------- the ports
test_expect_success SWITCHES 'vxlan sa --vni 42 --remote 10.201.0.2 --local 10.201.0.1 (in A)' '
	run in_ns a "$UMLKIT" switch vxlan sa --vni 42 --remote 10.201.0.2 --local 10.201.0.1 &&
	test_is "$rc" 0 &&
	test_like "$out" "^sa port [0-9]+: VXLAN VNI 42 to 10.201.0.2$" &&
	test_set_prereq VA
'
test_expect_success SWITCHES 'vxlan sb --vni 42 --remote 10.201.0.1:4789 (in B)' '
	run in_ns b "$UMLKIT" switch vxlan sb --vni 42 --remote 10.201.0.1:4789 &&
	test_is "$rc" 0 &&
	test_set_prereq VB
'
test_expect_success SWITCHES,KVX "vxlan sa --vni 77 to K's kernel device" '
	run in_ns a "$UMLKIT" switch vxlan sa --vni 77 --remote 10.202.0.2 --local 10.202.0.1 &&
	test_is "$rc" 0 &&
	test_set_prereq VK
'
test_expect_success VA,VK 'ports: sa has both, with their VNI, local address and remote' '
	p=$(ports_json sa) &&
	test_is "$(json "[.[] | select(.kind == \"vxlan\") | \"\(.vxlan.vni) \(.vxlan.local) \(.vxlan.remotes[0].remote)\"] | sort | join(\",\")" "$p")" \
		"42 10.201.0.1:4789 10.201.0.2:4789,77 10.202.0.1:4789 10.202.0.2:4789"
'

# ---------------------------------------------------------------- guests across the join
GA_BODY='
while :; do
	for h in 2 9; do
		if ping -c 1 -W 1 10.0.42.$h >/dev/null; then echo "ga: up $h"; else echo "ga: down $h"; fi
	done
	sleep 0.3
done'
test_expect_success IMAGE,SWITCHES 'guest gb on switch:sb starts' '
	start_guest gb "switch:sb,mac=$GB" 10.0.42.2 "" &&
	test_set_prereq GB
'
test_expect_success IMAGE,SWITCHES 'guest ga on switch:sa starts' '
	start_guest ga "switch:sa,mac=$GA" 10.0.42.1 "$GA_BODY" &&
	test_set_prereq GA
'
test_expect_success GA,GB,VA,VB 'ga (on sa, host A) pings gb (on sb, host B) across VXLAN' '
	until_true 60 log_has ga "ga: up 2"
'
test_expect_success GA,VK "ga pings K's address on the kernel's own vxlan device" '
	until_true 60 log_has ga "ga: up 9"
'
test_expect_success GA,GB,VA,VB "ports: sa's VNI 42 port learned gb's MAC from remote 10.201.0.2" '
	v=$(ports_json sa | jq -c ".[] | select(.vxlan.vni == 42)") &&
	test_is "$(json ".vxlan.remotes[0].macs | index(\"$GB\") != null" "$v")" true &&
	test "$(json .vxlan.remotes[0].rx_frames "$v")" -gt 0 &&
	test "$(json .vxlan.remotes[0].tx_frames "$v")" -gt 0 &&
	test_is "$(json .vxlan.wrong_vni "$v")" 0
'
test_expect_success GA,GB,VA,VB "fdb: sa names gb's remote" '
	test_is "$("$UMLKIT" switch fdb sa --output=json | jq -r ".[] | select(.mac == \"$GB\") | .remote")" \
		10.201.0.2:4789
'
test_expect_success GA,VK "ports: sa's VNI 77 port learned the kernel device's MAC" '
	v=$(ports_json sa | jq -c ".[] | select(.vxlan.vni == 77)") &&
	kmac=$(in_ns k cat /sys/class/net/vx0/address) &&
	test_is "$(json ".vxlan.remotes[0].macs | index(\"$kmac\") != null" "$v")" true
'

# ---------------------------------------------------------------- a wrong VNI
# the last N reports of ga about gb (10.0.42.2), each once: "up", "down" or both
last_of_gb() { logs ga | grep -E "^ga: [a-z]+ 2$" | tail -n "$1" | cut -d" " -f2 | sort -u | tr "\n" " "; }
reports() { logs ga | wc -l; }
more_reports() { [ "$(reports)" -gt "$1" ]; }
# a counter of sb's VXLAN port: sb_vx FIELD
sb_vx() { ports_json sb | jq "[.[] | select(.kind == \"vxlan\")][0].$1"; }
wrong_vni_over() { [ "$(sb_vx vxlan.wrong_vni)" -gt "$1" ]; }
test_expect_success GA,GB,VA,VB 'unvxlan sb --vni 42, vxlan sb --vni 43: ga no longer reaches gb' '
	run in_ns b "$UMLKIT" switch unvxlan sb --vni 42 &&
	test_is "$rc" 0 &&
	test_is "$out" "sb: 1 VXLAN port removed" &&
	run in_ns b "$UMLKIT" switch vxlan sb --vni 43 --remote 10.201.0.1 &&
	test_is "$rc" 0 &&
	n=$(reports) &&
	until_true 60 more_reports $((n + 12)) &&
	until_true 30 eval "test \"\$(last_of_gb 4)\" = \"down \"" &&
	test_set_prereq WRONG
'
test_expect_success WRONG "sb counts ga's frames of VNI 42 as wrong_vni, and forwards none" '
	w=$(sb_vx vxlan.wrong_vni) && rx=$(sb_vx rx_frames) &&
	is_num "$w" && is_num "$rx" &&
	until_true 10 wrong_vni_over "$w" &&
	test_is "$(sb_vx rx_frames)" "$rx"
'
test_expect_success WRONG 'back to VNI 42: ga reaches gb again' '
	run in_ns b "$UMLKIT" switch unvxlan sb &&
	test_is "$rc" 0 &&
	run in_ns b "$UMLKIT" switch vxlan sb --vni 42 --remote 10.201.0.1 &&
	test_is "$rc" 0 &&
	n=$(reports) &&
	until_true 60 more_reports $((n + 4)) &&
	until_true 60 eval "test \"\$(last_of_gb 1)\" = \"up \""
'

# ---------------------------------------------------------------- bad input
test_expect_success SWITCHES 'setup: the ports of sa' '
	n0=$(nports sa) &&
	test_set_prereq COUNTED
'
test_expect_success COUNTED 'a VNI out of range: exit 2, said, no port' '
	run in_ns a "$UMLKIT" switch vxlan sa --vni 16777216 --remote 10.201.0.2 --local 10.201.0.1:5000 &&
	test_is "$rc" 2 &&
	test_like "$err" "umlkit: --vni 16777216: 0..16777215" &&
	test_is "$(nports sa)" "$n0"
'
test_expect_success COUNTED 'a remote that is a name, a multicast group, a port 0: exit 2 each, no port' '
	run in_ns a "$UMLKIT" switch vxlan sa --vni 5 --remote hostb.example --local 10.201.0.1:5000 &&
	test_is "$rc" 2 &&
	test_like "$err" "remote .hostb.example.: .hostb.example. is not an IPv4 or IPv6 address" &&
	run in_ns a "$UMLKIT" switch vxlan sa --vni 5 --remote 239.1.1.1 --local 10.201.0.1:5000 &&
	test_is "$rc" 2 &&
	test_like "$err" "remote .239.1.1.1.: not a unicast address" &&
	run in_ns a "$UMLKIT" switch vxlan sa --vni 5 --remote 10.201.0.2:0 --local 10.201.0.1:5000 &&
	test_is "$rc" 2 &&
	test_like "$err" "port .0. is not 1..65535" &&
	run in_ns a "$UMLKIT" switch vxlan sa --vni 5 --remote 10.201.0.2 --remote 10.201.0.2:5 &&
	test_is "$rc" 2 &&
	test_like "$err" "remote 10.201.0.2:5 is given twice" &&
	test_is "$(nports sa)" "$n0"
'
test_expect_success COUNTED,VA 'a local address and port another port has: exit 1, said, no port' '
	run in_ns a "$UMLKIT" switch vxlan sa --vni 5 --remote 10.201.0.2 --local 10.201.0.1 &&
	test_is "$rc" 1 &&
	test_like "$err" "umlkit: local 10.201.0.1:4789 is taken" &&
	test_is "$(nports sa)" "$n0"
'
test_expect_success COUNTED,VA 'the same VNI to the same remote again (another local port): exit 1, no port' '
	run in_ns a "$UMLKIT" switch vxlan sa --vni 42 --remote 10.201.0.2 --local 10.201.0.1:5000 &&
	test_is "$rc" 1 &&
	test_like "$err" "switch .sa.: port [0-9]+ carries VNI 42 to 10.201.0.2:4789 already" &&
	test_is "$(nports sa)" "$n0"
'
test_expect_success COUNTED 'vxlan without --vni or --remote, unvxlan of a VNI it lacks' '
	run "$UMLKIT" switch vxlan sa --remote 10.201.0.2 &&
	test_is "$rc" 2 &&
	test_like "$err" "vxlan needs --vni N and --remote ADDR" &&
	run "$UMLKIT" switch unvxlan sa --vni 99 &&
	test_is "$rc" 1 &&
	test_like "$err" "switch .sa. has no VXLAN port of VNI 99" &&
	test_is "$(nports sa)" "$n0"
'
test_expect_success NETNS 'a switch that is not running: exit 1, said' '
	run in_ns a "$UMLKIT" switch vxlan nosuch --vni 1 --remote 10.201.0.2 --local 10.201.0.1:5001 &&
	test_is "$rc" 1 &&
	test_like "$err" "switch .nosuch. is not running"
'
test_expect_success SWITCHES 'the switches stop' '
	sw_stop sa && test_is "$rc" 0 &&
	p=$(swpid sb) && run "$UMLKIT" switch stop sb && test_is "$rc" 0 && forget_gone "$p"
'
test_done
