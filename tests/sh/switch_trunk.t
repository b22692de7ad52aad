#!/bin/bash
# A trunk port of umlkit switch with real guests (`--net switch:SW,trunk`): a router on a
# stick. The router guest sits on a trunk port with 802.1Q sub-interfaces for VLANs 10 and 20
# and its own untagged address in the native VLAN; three guests sit on access ports of
# VLANs 10, 20 and 1. Each reaches the router; the guests of VLANs 10 and 20 reach each other
# only through it; a capture shows the router's frames tagged with both VLANs and an access
# guest's untagged; ports and fdb show the trunk and the router's MAC in every VLAN.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
[ -n "$UML" ] || skip_all "no UML kernel (install user-mode-linux)"
need_cmd busybox "busybox-static is needed (the guest image)"
KVER=$("$UML" --version 2>/dev/null)
MODS=/usr/lib/uml/modules/$KVER/kernel/net
[ -f "$MODS/8021q/8021q.ko" ] ||
	skip_all "no 8021q module for kernel '$KVER' under /usr/lib/uml/modules (not Debian's user-mode-linux)"

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
guest_image "$T/base.img" 32M
# The router's kernel modules, in the order they load (8021q needs garp and mrp; garp stp
# and llc), as a tar the guest reads from its third disk.
tar -cf "$T/mods.tar" -C "$MODS" llc/llc.ko 802/stp.ko 802/garp.ko 802/mrp.ko 8021q/8021q.ko
ok $? "the router's modules (8021q and what it needs) packed from $MODS"

R=02:00:00:00:01:01

start_switch tr

guest r "switch:tr,trunk,mac=$R" 10.0.1.1 '
mkdir -p /tmp/m && tar -xf /dev/ubdc -C /tmp/m
for m in llc/llc 802/stp 802/garp 802/mrp 8021q/8021q; do insmod /tmp/m/$m.ko; done
echo "r: modules $(cut -d" " -f1 /proc/modules | sort | tr "\n" " ")"
for v in 10 20; do
	ip link add link vec0 name vec0.$v type vlan id $v
	ip link set vec0.$v up
	ip addr add 10.0.$v.1/24 dev vec0.$v
done
echo 1 > /proc/sys/net/ipv4/ip_forward
echo "r: vlans $(ls /proc/net/vlan | grep -v config | tr "\n" " ")"' "ubdcr=$T/mods.tar"
until_true 60 log_has r "r: vlans"
like "$(logs r)" "r: modules .*8021q" "the router loaded 8021q"
like "$(logs r)" "r: vlans vec0.10 vec0.20 " "... and made its sub-interfaces vec0.10 and vec0.20"
# access guests: ping the router, then (a and b) each other through it
access() { # access NAME NET-OPTIONS ADDR PEER...
	local body="ip route add default via ${3%.*}.1"
	for x in "${@:4}"; do
		body+="
ping -c 3 -W 2 $x >/tmp/ping; echo \"$1: ping $x rc=\$? \$(grep -o ttl=[0-9]* /tmp/ping | head -n 1)\""
	done
	body+="
echo \"$1: done\""
	guest "$1" "switch:tr$2" "$3" "$body"
}
# a capture of everything the switch receives while the access guests ping (--seconds: a
# bound should this test fail; it is ended by SIGINT)
"$UMLKIT" switch capture tr -w "$T/cap.pcap" --seconds 300 >"$T/cap.out" 2>&1 &
cpid=$!
UK_PIDS+=($cpid)
until_true 10 test -s "$T/cap.pcap"
ok $? "switch capture writes the pcap header"
access n "" 10.0.1.2 10.0.1.1
access b ",vlan=20" 10.0.20.2 10.0.20.1
access a ",vlan=10" 10.0.10.2 10.0.10.1 10.0.20.2
until_true 60 eval 'log_has a "a: done" && log_has b "b: done" && log_has n "n: done"'
ok $? "the three access guests report on the console"
like "$(logs n)" "n: ping 10.0.1.1 rc=0" "native VLAN 1: n reaches the router's untagged address"
like "$(logs b)" "b: ping 10.0.20.1 rc=0" "VLAN 20: b reaches the router's vec0.20"
like "$(logs a)" "a: ping 10.0.10.1 rc=0" "VLAN 10: a reaches the router's vec0.10"
like "$(logs a)" "a: ping 10.0.20.2 rc=0 ttl=63" "a (VLAN 10) reaches b (VLAN 20), one hop away: routed through the trunk"
like "$(logs a)" "a: ping 10.0.10.1 rc=0 ttl=64" "... where the router itself is no hop away"

# ports and fdb: the trunk, and the router's one MAC learned in each VLAN on its port
pr=$(port_of tr "guest r vec0")
pa=$(port_of tr "guest a vec0")
like "$pr" '"trunk": true' "ports: the router's port is a trunk"
like "$pr" '"vlan": 1,' "... its native VLAN 1"
like "$pa" '"trunk": false' "ports: a's port is an access port"
like "$pa" '"vlan": 10,' "... of VLAN 10"
run "$UMLKIT" switch ports tr
like "$out" "fd +guest r vec0 +1T " "switch ports (text) marks the router's port a trunk (1T)"
F=$("$UMLKIT" switch fdb tr --output=json | tr -d ' \n')
for v in 1 10 20; do
	like "$F" "\"mac\":\"$R\",\"vlan\":$v,\"port\":$(field "$pr" port)" \
		"fdb: the router's MAC learned in VLAN $v on its trunk port"
done

# the capture: what the switch received from the router carries 802.1Q tags of VLANs 10 and
# 20 (frames of its native VLAN untagged); what it received from a is untagged
kill -INT "$cpid"
wait_gone "$cpid" 10
wait "$cpid"
is "$?" 0 "switch capture ends on SIGINT: exit 0"
forget_pid "$cpid"
hex=$(od -An -v -tx1 "$T/cap.pcap" 2>/dev/null | tr -d ' \n')
is "${hex:40:8}" "01000000" "pcap: linktype 1 (Ethernet)"
le32() { echo $((16#${1:6:2}${1:4:2}${1:2:2}${1:0:2})); }
rmac=${R//:/}
off=48 nrec=0
declare -A seen=()
while [ $off -lt ${#hex} ]; do
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
diag "capture: $nrec frames; sources and tags: ${!seen[*]}"
ok "$([ -n "${seen[$rmac/tag10]:-}" ]; echo $?)" "the router's frames for VLAN 10 come tagged 10"
ok "$([ -n "${seen[$rmac/tag20]:-}" ]; echo $?)" "... those for VLAN 20 tagged 20"
ok "$([ -n "${seen[$rmac/untagged]:-}" ]; echo $?)" "... those of its native VLAN untagged"
tagged_other=0
for k in "${!seen[@]}"; do
	[ "${k%%/*}" != "$rmac" ] && [ "${k#*/}" != untagged ] && tagged_other=1
done
is "$tagged_other" 0 "every frame from an access guest came untagged"

for g in a b n r; do "$UMLKIT" kill $g >/dev/null 2>&1; done
run "$UMLKIT" switch stop tr
is "$rc" 0 "switch stop tr"
done_testing
