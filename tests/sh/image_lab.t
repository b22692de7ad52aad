#!/bin/bash
# image_lab.t: the lab image, `umlkit image build --profile lab` (umlkit-image(1), LAB IMAGE).
#
#  1. Without OUT.img the profile's image is made in the cache (the test cache) and its path
#     printed; the same again prints the same path at once, from the cache. Its layer: the
#     lab's sysctl file, the service aliases, no daemon's wants link left.
#  2. With OUT.img: a copy with the same layer.
#  3. A guest on a COW over the cached image at the lab's memory: ready (umlkit.ip= works:
#     systemd-networkd, which the image starts only for it, runs); no daemon runs
#     before a script starts one; IPv4 forwarding on, rp_filter off on its interface;
#     `systemctl start frr` (ospfd gets frr.conf's router-id, watchfrr sees zebra and ospfd
#     up), `systemctl start bind9` (named answers), `/etc/init.d/apache2
#     start` (it serves), and `systemctl start quagga` on a Quagga lab's /etc/quagga run
#     FRR's daemons; then `umlkit stop`.
#  4. Bad input: an unknown profile, a bad package name, two outputs: refused, nothing left
#     (no output, nothing in the cache).
#
# Run: UK_BUILD=$PWD/build tests/sh/image_lab.t [-v]
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian-lib.sh"

debian_setup
LAB_MEM=${LAB_MEM:-96M}

stop_all() {
	"$UMLKIT" stop lab1 --timeout 30 >/dev/null 2>&1
	"$UMLKIT" switch stop labsw >/dev/null 2>&1
	_uk_cleanup
}
trap stop_all EXIT
# gx CMD...: run CMD in the guest lab1 (its agent), its output in $out
gx() { run "$UMLKIT" exec lab1 --timeout 60 -- "$@"; }

# ------------------------------------------------------------------------------ the build
test_expect_success MIRROR,MMDEBSTRAP 'build --profile lab: the image in the cache, its path' '
	run "$UMLKIT" image build --profile lab -q &&
	printf "%s\n" "$err" &&
	test_is "$rc" 0 && test_is "$err" "" &&
	IMG=$out &&
	test_like "$IMG" "^$CACHE/images/[0-9a-f]{16}\.img$" &&
	test_path_is_file "$IMG" &&
	test_like "$(cat "${IMG%.img}.recipe")" "^recipe profile/[0-9]+ lab size=[0-9]+ layer=[0-9a-f]{16} debian/" &&
	test_like "$(cat "${IMG%.img}.recipe")" "packages=.*apache2,.*bind9,.*frr,.*tcpdump" &&
	test_is "$(entries "$T/tmp")" "" &&
	test_set_prereq BUILT
'

test_expect_success BUILT 'the same again: the same path, from the cache' '
	run "$UMLKIT" image build --profile lab -p &&
	test_is "$rc" 0 &&
	test_is "$out" "$IMG" &&
	test_unlike "$err" "bootstrapping|using the cached" &&
	test_is "$(entries "$T/tmp")" ""
'

test_expect_success BUILT 'the lab layer: sysctl, aliases, daemons disabled' '
	m=$(e2cat "$IMG" /etc/umlkit/manifest) &&
	test_like "$m" "/etc/sysctl.d/60-umlkit-lab.conf	IPv4 forwarding on" &&
	test_like "$m" "frr.service disabled" &&
	test_like "$m" "/etc/systemd/system/frr.service.d/umlkit-lab.conf	FRR.s daemons started together" &&
	test_like "$(e2cat "$IMG" /etc/sysctl.d/60-umlkit-lab.conf)" "^net.ipv4.ip_forward = 1$" &&
	test_like "$(debugfs -R "stat /etc/systemd/system/bind9.service" "$IMG" 2>/dev/null)" \
		"Fast link dest: \"/lib/systemd/system/named.service\"" &&
	w=$(e2ls "$IMG" /etc/systemd/system/multi-user.target.wants) &&
	test_unlike "$w" "/(frr|named|apache2|radvd|iperf3)\.service/" &&
	test_like "$w" "/umlkit-ready\.service/" &&
	test_unlike "$(e2ls "$IMG" /etc/rc2.d)" "/S[0-9][0-9](frr|named|apache2|isc-dhcp-server)/" &&
	test_like "$(e2ls "$IMG" /usr/lib/frr)" "/ospfd/" &&
	b=$(e2ls "$IMG" /usr/bin) &&
	for p in dig curl tcpdump vtysh ping iperf3 nc scapy; do
		test_like "$b" "/$p/" || return 1
	done
'

test_expect_success BUILT '--profile lab OUT.img: a copy with the same layer' '
	run "$UMLKIT" image build --profile lab -q "$T/copy.img" &&
	test_is "$rc" 0 && test_is "$out" "" &&
	# the same layer (the agent line names where the agent came from: the same bytes)
	test_is "$(e2cat "$T/copy.img" /etc/umlkit/manifest | grep -v umlkit-agent)" \
		"$(e2cat "$IMG" /etc/umlkit/manifest | grep -v umlkit-agent)" &&
	test_like "$(e2ls "$T/copy.img" /etc/init.d)" "/bind9/" &&
	rm -f "$T/copy.img"
'

# ------------------------------------------------------------------------------ a guest
test_expect_success BUILT,UML "a lab guest at mem=$LAB_MEM is ready" '
	"$UMLKIT" switch start labsw >/dev/null &&
	run "$UMLKIT" start --name lab1 --mem "$LAB_MEM" --disk "$T/lab1.cow,$IMG" \
		--net switch:labsw --append "umlkit.ip=eth0,10.77.0.2/24" --wait --timeout 180 &&
	track lab1 &&
	test_is "$rc" 0 &&
	test_like "$(console lab1)" "umlkit: ready" &&
	test_set_prereq GUEST
'

test_expect_success GUEST 'umlkit.ip= still works: systemd-networkd runs for it' '
	test_like "$(console lab1)" "umlkit: eth0: inet 10\.77\.0\.2/24" &&
	gx systemctl is-active systemd-networkd && test_is "$out" active
'

test_expect_success GUEST 'no daemon runs before a script starts one' '
	gx systemctl is-active frr named apache2 radvd isc-dhcp-server &&
	test_is "$(printf "%s\n" "$out" | sort -u)" "inactive" &&
	gx pgrep -x "zebra|ospfd|named|apache2|radvd|dhcpd" &&
	test_is "$rc" 1
'

test_expect_success GUEST 'IPv4 forwarding on, rp_filter off' '
	gx cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/all/rp_filter \
		/proc/sys/net/ipv4/conf/eth0/rp_filter &&
	test_is "$rc" 0 &&
	test_is "$(printf "%s\n" "$out" | tr "\n" " ")" "1 0 0 "
'

test_expect_success GUEST 'the disks read ahead 16 KiB; systemd-sysctl ran procps sysctl' '
	gx cat /sys/block/ubda/queue/read_ahead_kb &&
	test_is "$rc" 0 &&
	test_is "$out" 16 &&
	gx systemctl show -p Result -p ExecStart systemd-sysctl &&
	test_like "$out" "Result=success" &&
	test_like "$out" "path=/sbin/sysctl "
'

test_expect_success GUEST 'systemctl start frr: the daemons get frr.conf, watchfrr watches them' '
	gx sed -i "s/^ospfd=no/ospfd=yes/" /etc/frr/daemons && test_is "$rc" 0 &&
	printf "hostname f1\nrouter ospf\n ospf router-id 7.7.7.7\n" |
		"$UMLKIT" exec lab1 -i -- sh -c "cat >/etc/frr/frr.conf" &&
	gx systemctl start frr && test_is "$rc" 0 &&
	gx vtysh -c "show version" && test_is "$rc" 0 &&
	test_like "$out" "FRRouting" &&
	gx pgrep -x zebra && test_is "$rc" 0 &&
	gx vtysh -c "show ip ospf" && test_like "$out" "Router ID: 7\.7\.7\.7" &&
	gx vtysh -c "show watchfrr" && test_like "$out" "zebra +Up" &&
	test_like "$out" "ospfd +Up"
'

test_expect_success GUEST 'systemctl start bind9: named answers' '
	gx systemctl start bind9 && test_is "$rc" 0 &&
	gx systemctl is-active named && test_is "$out" active &&
	gx dig +short +time=5 @127.0.0.1 localhost A && test_is "$out" 127.0.0.1
'

test_expect_success GUEST '/etc/init.d/apache2 start: it serves' '
	gx /etc/init.d/apache2 start && test_is "$rc" 0 &&
	gx curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1/ && test_is "$out" 200
'

test_expect_success GUEST 'systemctl start quagga: FRR runs the lab'"'"'s /etc/quagga' '
	gx systemctl stop frr && test_is "$rc" 0 &&
	gx mkdir -p /etc/quagga && test_is "$rc" 0 &&
	printf "zebra=yes\nospfd=yes\n" | "$UMLKIT" exec lab1 -i -- sh -c "cat >/etc/quagga/daemons" &&
	printf "hostname q1\nrouter ospf\n ospf router-id 9.9.9.9\n" |
		"$UMLKIT" exec lab1 -i -- sh -c "cat >/etc/quagga/ospfd.conf" &&
	gx systemctl start quagga && test_is "$rc" 0 &&
	gx pgrep -x ospfd && test_is "$rc" 0 &&
	gx vtysh -c "show ip ospf" && test_like "$out" "Router ID: 9\.9\.9\.9" &&
	gx /etc/init.d/quagga restart && test_is "$rc" 0 &&
	gx pgrep -x ospfd && test_is "$rc" 0
'

test_expect_success GUEST 'umlkit stop: a clean shutdown' '
	run "$UMLKIT" stop lab1 --timeout 60 &&
	test_is "$rc" 0 &&
	test_unlike "$("$UMLKIT" status lab1)" "running"
'

# -------------------------------------------------------------------------- bad input
# bad_build RC ERE ARGS...: refused with RC saying ERE; no output, nothing beside it, nothing
# in the work directory, nothing in the cache (one of its own)
bad_build() {
	local want=$1 re=$2
	shift 2
	rm -rf "$T/cache-b" &&
		UMLKIT_CACHE_DIR=$T/cache-b run "$UMLKIT" image build "$@" &&
		test_is "$rc" "$want" &&
		test_like "$err" "$re" &&
		test_is "$(ls -A "$T" | grep -c "bad")" 0 &&
		test_is "$(entries "$T/tmp")" "" &&
		test_is "$(ls -A "$T/cache-b/images" 2>/dev/null)" ""
}

test_expect_success 'an unknown profile: a usage error, nothing left' '
	bad_build 2 "^umlkit: --profile .nosuch.: unknown \(known: lab\)" --profile nosuch "$T/bad.img" &&
	bad_build 2 "--profile .kathara/frr.: unknown" --profile kathara/frr &&
	bad_build 2 "want one output file" --profile lab "$T/bad.img" "$T/bad2.img"
'

test_expect_success MMDEBSTRAP 'a bad package name with the profile: refused, nothing left' '
	bad_build 1 "package .Bad_Name.: not a Debian package name" --profile lab \
		--include Bad_Name "$T/bad.img" &&
	bad_build 1 "package .Bad_Name.: not a Debian package name" --profile lab \
		--include Bad_Name
'

test_expect_success 'the help names the profile' '
	run "$UMLKIT" image --help &&
	test_like "$out" "--profile lab" &&
	test_like "$(man -l "$(dirname "$0")/../../docs/umlkit-image.1" 2>/dev/null | col -b)" "LAB IMAGE"
'

test_done
