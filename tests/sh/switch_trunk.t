#!/bin/bash
# A trunk port of umlkit switch with real guests (`--net switch:SW,trunk`): a router on a
# stick. The router guest sits on a trunk port with 802.1Q sub-interfaces for VLANs 10 and 20
# and its own untagged address in the native VLAN; three guests sit on access ports of
# VLANs 10, 20 and 1. Each reaches the router; the guests of VLANs 10 and 20 reach each other
# only through it; a capture shows the router's frames tagged with both VLANs and an access
# guest's untagged; ports and fdb show the trunk and the router's MAC in every VLAN.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
test_need_guests
KVER=$("$UML" --version 2>/dev/null)
MODS=/usr/lib/uml/modules/$KVER/kernel/net
# Debian's user-mode-linux ships the kernel's modules; another kernel may have none
test_lazy_prereq 8021Q '[ -f "$MODS/8021q/8021q.ko" ]'

R=02:00:00:00:01:01
rmac=${R//:/}

test_expect_success BUSYBOX 'setup: the guest image' '
	guest_image "$T/base.img" 32M &&
	test_set_prereq IMAGE
'
# The router's kernel modules, in the order they load (8021q needs garp and mrp; garp stp
# and llc), as a tar the guest reads from its third disk.
test_expect_success 8021Q "the router's modules (8021q and what it needs) packed from $MODS" '
	tar -cf "$T/mods.tar" -C "$MODS" llc/llc.ko 802/stp.ko 802/garp.ko 802/mrp.ko 8021q/8021q.ko &&
	test_set_prereq MODS
'
test_switch_start tr

R_BODY='
mkdir -p /tmp/m && tar -xf /dev/ubdc -C /tmp/m
for m in llc/llc 802/stp 802/garp 802/mrp 8021q/8021q; do insmod /tmp/m/$m.ko; done
echo "r: modules $(cut -d" " -f1 /proc/modules | sort | tr "\n" " ")"
for v in 10 20; do
	ip link add link vec0 name vec0.$v type vlan id $v
	ip link set vec0.$v up
	ip addr add 10.0.$v.1/24 dev vec0.$v
done
echo 1 > /proc/sys/net/ipv4/ip_forward
echo "r: vlans $(ls /proc/net/vlan | grep -v config | tr "\n" " ")"'
test_expect_success IMAGE,MODS,SW_tr "guest r on switch:tr,trunk starts" '
	start_guest r "switch:tr,trunk,mac=$R" 10.0.1.1 "$R_BODY" "ubdcr=$T/mods.tar" &&
	test_set_prereq R
'
test_expect_success R 'the router loaded 8021q' '
	until_true 60 log_has r "r: vlans"
	test_like "$(logs r)" "r: modules .*8021q"
'
test_expect_success R '... and made its sub-interfaces vec0.10 and vec0.20' '
	test_like "$(logs r)" "r: vlans vec0.10 vec0.20 " &&
	test_set_prereq ROUTER
'

# a capture of everything the switch receives while the access guests ping (--seconds: a
# bound should this test fail; it is ended by SIGINT)
cpid=
test_expect_success SW_tr 'switch capture writes the pcap header' '
	{ "$UMLKIT" switch capture tr -w "$T/cap.pcap" --seconds 300 >"$T/cap.out" 2>&1 & } &&
	cpid=$! &&
	UK_PIDS+=($cpid) &&
	until_true 10 test -s "$T/cap.pcap" &&
	test_set_prereq CAPTURE
'

# access guests: ping the router, then (a and b) each other through it
access_body() { # access_body NAME ADDR PEER...
	local body="ip route add default via ${2%.*}.1" x
	for x in "${@:3}"; do
		body+="
ping -c 3 -W 2 $x >/tmp/ping; echo \"$1: ping $x rc=\$? \$(grep -o ttl=[0-9]* /tmp/ping | head -n 1)\""
	done
	body+="
echo \"$1: done\""
	printf '%s' "$body"
}
test_expect_success IMAGE,SW_tr 'guest n on switch:tr (VLAN 1) starts' '
	start_guest n switch:tr 10.0.1.2 "$(access_body n 10.0.1.2 10.0.1.1)" &&
	test_set_prereq N
'
test_expect_success IMAGE,SW_tr 'guest b on switch:tr,vlan=20 starts' '
	start_guest b switch:tr,vlan=20 10.0.20.2 "$(access_body b 10.0.20.2 10.0.20.1)" &&
	test_set_prereq B
'
test_expect_success IMAGE,SW_tr 'guest a on switch:tr,vlan=10 starts' '
	start_guest a switch:tr,vlan=10 10.0.10.2 "$(access_body a 10.0.10.2 10.0.10.1 10.0.20.2)" &&
	test_set_prereq A
'
all_done() { log_has a "a: done" && log_has b "b: done" && log_has n "n: done"; }
test_expect_success A,B,N 'the three access guests report on the console' '
	until_true 60 all_done &&
	test_set_prereq DONE
'
test_expect_success DONE,ROUTER "native VLAN 1: n reaches the router's untagged address" '
	test_like "$(logs n)" "n: ping 10.0.1.1 rc=0"
'
test_expect_success DONE,ROUTER "VLAN 20: b reaches the router's vec0.20" '
	test_like "$(logs b)" "b: ping 10.0.20.1 rc=0"
'
test_expect_success DONE,ROUTER "VLAN 10: a reaches the router's vec0.10" '
	test_like "$(logs a)" "a: ping 10.0.10.1 rc=0"
'
test_expect_success DONE,ROUTER 'a (VLAN 10) reaches b (VLAN 20), one hop away: routed through the trunk' '
	test_like "$(logs a)" "a: ping 10.0.20.2 rc=0 ttl=63"
'
test_expect_success DONE,ROUTER '... where the router itself is no hop away' '
	test_like "$(logs a)" "a: ping 10.0.10.1 rc=0 ttl=64"
'

# ports and fdb: the trunk, and the router's one MAC learned in each VLAN on its port
test_expect_success DONE,ROUTER "ports: the router's port is a trunk" '
	pr=$(port_json tr "guest r vec0") &&
	test_is "$(json .trunk "$pr")" true
'
test_expect_success DONE,ROUTER '... its native VLAN 1' '
	test_is "$(json .vlan "$pr")" 1
'
test_expect_success DONE,ROUTER "ports: a's port is an access port" '
	pa=$(port_json tr "guest a vec0") &&
	test_is "$(json .trunk "$pa")" false
'
test_expect_success DONE,ROUTER '... of VLAN 10' '
	test_is "$(json .vlan "$pa")" 10
'
test_expect_success DONE,ROUTER "switch ports (text) marks the router's port a trunk (1T)" '
	run "$UMLKIT" switch ports tr &&
	test_like "$out" "fd +guest r vec0 +1T "
'
for v in 1 10 20; do
	test_expect_success DONE,ROUTER "fdb: the router's MAC learned in VLAN $v on its trunk port" '
		pr=$(port_json tr "guest r vec0") &&
		run "$UMLKIT" switch fdb tr --output=json &&
		test_is "$rc" 0 &&
		test_is "$(json ".[] | select(.mac == \"$R\" and .vlan == $v) | .port")" \
			"$(json .port "$pr")"
	'
done

# the capture: what the switch received from the router carries 802.1Q tags of VLANs 10 and
# 20 (frames of its native VLAN untagged); what it received from a is untagged
declare -A seen=()
le32() { echo $((16#${1:6:2}${1:4:2}${1:2:2}${1:0:2})); }
read_capture() { # the sources and tags of the frames in cap.pcap: seen[SRC/tagN|untagged]
	local hex off=48 nrec=0 incl f src key
	hex=$(od -An -v -tx1 "$T/cap.pcap" 2>/dev/null | tr -d ' \n')
	seen=()
	while [ $((off + 32)) -le ${#hex} ]; do # (a record header cut short ends the walk)
		incl=$(le32 "${hex:off+16:8}")
		f=${hex:off+32:incl*2}
		src=${f:12:12}
		if [ "${f:24:4}" = 8100 ]; then
			key="$src/tag$((16#${f:28:4} & 4095))"
		else
			key="$src/untagged"
		fi
		seen[$key]=1
		off=$((off + 32 + incl * 2))
		nrec=$((nrec + 1))
		[ $nrec -gt 100000 ] && break
	done
	echo "capture: $nrec frames; sources and tags: ${!seen[*]}"
}
test_expect_success CAPTURE 'switch capture ends on SIGINT: exit 0' '
	kill -INT "$cpid" &&
	wait_gone "$cpid" 10 &&
	{ wait "$cpid"; st=$?; forget_pid "$cpid"; test_is "$st" 0; } &&
	test_set_prereq CAPTURED
'
test_expect_success CAPTURED 'pcap: linktype 1 (Ethernet)' '
	hex=$(od -An -v -tx1 "$T/cap.pcap" | tr -d " \n") &&
	test_is "${hex:40:8}" "01000000"
'
test_expect_success CAPTURED,DONE,ROUTER "the router's frames for VLAN 10 come tagged 10" '
	read_capture &&
	test -n "${seen[$rmac/tag10]:-}"
'
test_expect_success CAPTURED,DONE,ROUTER '... those for VLAN 20 tagged 20' '
	read_capture &&
	test -n "${seen[$rmac/tag20]:-}"
'
test_expect_success CAPTURED,DONE,ROUTER '... those of its native VLAN untagged' '
	read_capture &&
	test -n "${seen[$rmac/untagged]:-}"
'
test_expect_success CAPTURED 'every frame from an access guest came untagged' '
	read_capture &&
	tagged_other= &&
	for k in "${!seen[@]}"; do
		if [ "${k%%/*}" != "$rmac" ] && [ "${k#*/}" != untagged ]; then tagged_other+=" $k"; fi
	done &&
	test_is "$tagged_other" ""
'

for g in a b n r; do "$UMLKIT" kill $g >/dev/null 2>&1; done
test_expect_success SW_tr 'switch stop tr' '
	sw_stop tr &&
	test_is "$rc" 0
'
test_done
