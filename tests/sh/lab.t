#!/bin/bash
# lab.t: Netkit and Kathará labs run as UML guests (umlkit lab, lstart and friends), on the
# cached Debian test image of debian-lib.sh (agent, readiness, ethN naming) and the real
# kernel. Run it under the network tests' lock:
#   flock /tmp/umlkit-nettests.lock tests/sh/lab.t [-v]
#
#  1. Bad input changes nothing: no lab.conf (the parser's error), an unknown machine;
#     info as text, JSON and a map (linfo -m too); usage errors.
#  2. A Kathará lab of three machines on one domain, lab.dep ordering pc3 after pc1 and pc2:
#     start returns once every startup script ended, each machine's log in DIR/M.log; pc3's
#     script saw the files pc1's and pc2's wrote last, and started after them (their
#     timestamps); the machines reach each other (a TCP connection refused by the peer's
#     kernel: the image has no ping); pc1's sysctl= is set, pc2's script (a byte-order
#     mark, CRLF) ran without them; /hostlab and /shared are mounted; `lab list` shows
#     them; each machine was trimmed after its startup (its log says so, its kernel's host
#     RSS went down); `lab check` judges each check in its machine (ok/FAIL lines, the count, exit 1
#     on a failure, 0 when all pass; a bad line and an unknown machine refused by name); a
#     second start is refused; `lab stop` runs the shutdown scripts (a file they
#     write through /hostlab appears) and ends every guest and switch.
#  3. Two labs with a domain A of the same name stay apart: from the second lab's machine
#     (started with --no-wait, its startup seen to end afterwards, not trimmed) the first
#     lab's addresses are not reached.
#  4. A Netkit-dialect lab (machines from its directories, a flag option, an interface gap)
#     through lstart: shared/ then r1/ copied into /, r1's file winning, root's; r2 has eth0
#     and eth2, no eth1; lhalt, then lclean leaves the lab directory as it was (listing and
#     checksums).
#  5. ltest (and `lab test`) on a lab of two machines, a's _test/a.test: the first run makes
#     _test/signature (a.user is the script's output; the built-in dumps hold the address
#     and route, the agent, no link lines, kernel threads or the dump's own shell) and
#     leaves the lab directory otherwise as it was, nothing running; a second run matches
#     (ok lines, the count, exit 0, _test/results kept); after the signature's a.user is
#     changed, a run fails naming it and its line, exit 1, the signature untouched; a
#     running lab is refused and runs on; bad options and arguments exit 2.
#  6. lab.ext (as root, in a network namespace of the test's with a veth pair ve0/ve1, ve1
#     10.9.0.254): domain A joined to ve0 through a bridge and tap of the lab's; the machine
#     reaches the namespace's kernel; after the stop only lo, ve0 (up, in no bridge) and ve1
#     are left. ve0 in another bridge is refused, nothing made (no disk, switch or entry),
#     and so is an interface that does not exist. With ve0.10 on one side, a lab with ve1.10
#     is reached and, once it is gone, one with ve1.20 is not (the switch tags: the host
#     kernel has no 802.1Q link to make); the cleans leave lo, ve0 and ve1.
#  7. lab.hosts: hosts a, b and k as network namespaces on one segment; `lab start
#     --all-hosts` on a starts p1 there (a found by its address) and p2 on b through a fake
#     ssh (`umlkit lab start --host hb`), each in its own runtime directory: they
#     reach each other over the domain's VXLAN (VNI 6000, UDP 8472, as lab.hosts says), p1
#     reaches k's kernel vxlan device; a host that lab.hosts does not name, or an unknown
#     --host, is refused with nothing started; each host stops and cleans its own (b's
#     clean leaves a's disk), and `clean --host NAME` cleans NAME's machines even where
#     no address says which host this is. The command --all-hosts hands ssh is quoted word
#     by word: a directory named q;'dir arrives as one argument.
#  8. A failing startup script, and a failing setup (a sysctl= the kernel lacks): start exits 1
#     naming each machine, which of the two failed, and its log; a lab none of whose
#     machines boots leaves no switch of its own running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/debian-lib.sh"

test_need_guests
debian_setup
IMG=$T/deb.img
export UMLKIT_LAB_IMAGE=$IMG
K=$T/kathara
K2=$T/other
N=$T/netkit
F=$T/failing
LT=$T/ltest
E=$T/ext
E2=$T/ext10
E3=$T/ext20
M=$T/multi
MH_NS=ukmh$$ # lab.hosts' hosts: namespaces ${MH_NS}a, b (machines) and k (a kernel VTEP)
EXT_NS=ukext$$ # lab.ext's host interface lives in a network namespace of this test's

# lab_run ARGS...: umlkit lab bounded in time
lab_run() { run timeout 600 "$UMLKIT" lab "$@"; }
# reach LAB M ADDR: a TCP connection from M to ADDR's port 7 gets an answer (refused)
reach() {
	timeout 60 "$UMLKIT" lab exec "$1" "$2" -- bash -c "exec 3<>/dev/tcp/$3/7" 2>&1 |
		grep -q 'Connection refused'
}
# lab_switches: the lab switches this test's runtime directory has
lab_switches() { "$UMLKIT" switch list 2>/dev/null | awk 'NR > 1 && /^lab/ { print $1 }'; }
# listing DIR: every path with its type, size and checksum
listing() {
	(cd "$1" && find . -printf '%y %s %p\n' | sort && find . -type f -exec sha256sum {} + | sort)
}
stop_all() {
	local d s
	for d in "$K" "$K2" "$N" "$F" "$LT" "$E" "$E2" "$E3"; do
		[ -d "$d" ] && timeout 120 "$UMLKIT" lab crash "$d" >/dev/null 2>&1
	done
	ip netns del "$EXT_NS" 2>/dev/null # its veth, bridge and tap go with it
	for h in a b; do
		[ -d "$T/run-$h" ] && XDG_RUNTIME_DIR=$T/run-$h timeout 120 "$UMLKIT" lab crash "$M" \
			>/dev/null 2>&1
	done
	for h in a b k; do ip netns del "$MH_NS$h" 2>/dev/null; done
	# a switch a failed block left (this test's runtime directory holds only its own)
	for s in $("$UMLKIT" switch list 2>/dev/null | awk 'NR > 1 { print $1 }'); do
		"$UMLKIT" switch stop "$s" >/dev/null 2>&1
	done
	_uk_cleanup
}
trap stop_all EXIT

mkdir -p "$K" "$K2" "$N/r1/etc" "$N/r2" "$N/shared/etc" "$F"
cat >"$K/lab.conf" <<'EOF'
LAB_NAME="three"
pc1[0]="A"
pc1[sysctl]="net.ipv4.ip_default_ttl=42"
pc2[0]="A"
pc3[0]="A"
EOF
printf 'pc3: pc1 pc2\n' >"$K/lab.dep"
for i in 1 2 3; do
	cat >"$K/pc$i.startup" <<EOF
ip addr add 10.0.0.$i/24 dev eth0
date +%s%N >/hostlab/pc$i.begin
EOF
done
# pc1 and pc2 take a while: without lab.dep pc3 would start beside them
printf 'sleep 3\ndate +%%s%%N >/hostlab/pc1.end\n' >>"$K/pc1.startup"
printf 'sleep 3\ndate +%%s%%N >/hostlab/pc2.end\n' >>"$K/pc2.startup"
printf '[ -e /hostlab/pc1.end ] && [ -e /hostlab/pc2.end ] && echo yes >/hostlab/pc3.saw\n' \
	>>"$K/pc3.startup"
# pc2's script as a Windows editor leaves it: a byte-order mark, CRLF line ends
sed -e '1s/^/\xEF\xBB\xBF/' -e 's/$/\r/' "$K/pc2.startup" >"$K/pc2.crlf" &&
	mv "$K/pc2.crlf" "$K/pc2.startup"
printf 'echo bye from $(hostname) >/hostlab/pc1.bye\r\n' >"$K/pc1.shutdown"

printf 'q1[0]=A\n' >"$K2/lab.conf"
printf 'ip addr add 10.0.0.9/24 dev eth0\n' >"$K2/q1.startup"

# Netkit: no machine list, a flag option, a gap (r2 has no eth1), the machines are the
# directories
printf 'r1[0]=B\nr2[0]=B\nr2[2]=C\nr1[D]=\n' >"$N/lab.conf"
echo shared >"$N/shared/etc/lab-shared.txt"
echo shared >"$N/shared/etc/lab-both.txt"
echo r1 >"$N/r1/etc/lab-both.txt"
echo r1 >"$N/r1/etc/lab-r1.txt"
printf 'ifconfig eth0 10.2.0.1 up 2>/dev/null || ip addr add 10.2.0.1/24 dev eth0\n' \
	>"$N/r1.startup"

# lab.ext: domain A joined to ve0, whose peer ve1 (10.9.0.254) is in the namespace too
mkdir -p "$E"
printf 'pc[0]=A\n' >"$E/lab.conf"
printf '# the host side\nA ve0\n' >"$E/lab.ext"
printf 'ip addr add 10.9.0.1/24 dev eth0\n' >"$E/pc.startup"
# two labs on ve1's side, VLAN 10 and VLAN 20: q (10.9.0.2) and q (10.9.0.3)
mkdir -p "$E2" "$E3"
printf 'q[0]=A\n' | tee "$E2/lab.conf" >"$E3/lab.conf"
printf 'A ve1.10\n' >"$E2/lab.ext"
printf 'A ve1.20\n' >"$E3/lab.ext"
printf 'ip addr add 10.9.0.2/24 dev eth0\n' >"$E2/q.startup"
printf 'ip addr add 10.9.0.3/24 dev eth0\n' >"$E3/q.startup"

# lab.hosts: p1 on host ha, p2 on host hb, domain A over VXLAN (VNI 6000, UDP 8472), and hk
# (no machines) whose kernel has a vxlan device in it
mkdir -p "$M"
printf 'p1[0]=A\np2[0]=A\n' >"$M/lab.conf"
printf 'vni 6000\nport 8472\nha 10.78.0.1 p1\nhb 10.78.0.2 p2\nhk 10.78.0.3\n' >"$M/lab.hosts"
printf 'ip addr add 10.9.2.1/24 dev eth0\n' >"$M/p1.startup"
printf 'ip addr add 10.9.2.2/24 dev eth0\n' >"$M/p2.startup"

# ltest: two machines, a's own test script
mkdir -p "$LT/_test"
printf 'a[0]=A\nb[0]=A\n' >"$LT/lab.conf"
printf 'ip addr add 10.5.0.1/24 dev eth0\n' >"$LT/a.startup"
printf 'ip addr add 10.5.0.2/24 dev eth0\n' >"$LT/b.startup"
printf '#!/bin/sh\necho from $(hostname)\nip -4 -o addr show dev eth0 | awk "{print \\$4}"\n' \
	>"$LT/_test/a.test"
chmod +x "$LT/_test/a.test"

printf 'bad[0]=C\nsys[0]=C\nsys[sysctl]="net.ipv4.no_such_knob=1"\n' >"$F/lab.conf"
printf 'echo about to fail\nexit 3\n' >"$F/bad.startup"

test_expect_success MMDEBSTRAP,AGENT_BUILT 'setup: the Debian image (image_debian.t recipe)' '
	"$UMLKIT" image build --distro debian --include netbase -q "$IMG" &&
	test_set_prereq IMAGE
'

test_expect_success 'bad input: no lab.conf, the parser says so; nothing is made' '
	mkdir "$T/empty" &&
	lab_run start "$T/empty" &&
	test_is "$rc" 1 &&
	test_like "$err" "lab.conf" &&
	test_is "$(ls -A "$T/empty")" ""
'

test_expect_success 'bad input: an unknown machine is named; nothing is made' '
	listing "$K" >"$T/k.before" &&
	lab_run start "$K" nosuch &&
	test_is "$rc" 1 &&
	test_like "$err" "nosuch" &&
	listing "$K" >"$T/k.after" &&
	test_cmp "$T/k.before" "$T/k.after"
'

test_expect_success JQ 'info: text, JSON and the map; linfo -m writes it to a file' '
	run "$UMLKIT" lab info "$K" &&
	test_is "$rc" 0 &&
	test_like "$out" "pc3: eth0=A" &&
	run "$UMLKIT" lab info "$K" --output=json &&
	test_is "$(json "[.machines[].name] | join(\" \")")" "pc1 pc2 pc3" &&
	run "$UMLKIT" lab info "$K" --map &&
	test_like "$out" "^graph" &&
	"$UK_BUILD/linfo" -d "$K" -m "$T/k.dot" &&
	test_cmp "$T/k.dot" <(printf "%s\n" "$out")
'

test_expect_success 'usage: an unknown command, an option a command does not take' '
	run "$UMLKIT" lab bogus &&
	test_is "$rc" 2 &&
	run "$UMLKIT" lab stop "$K" --no-wait &&
	test_is "$rc" 2 &&
	test_like "$err" "does not apply to .lab stop." &&
	run "$UMLKIT" lab info "$T/nonexistent" &&
	test_is "$rc" 1 &&
	test_like "$err" "nonexistent"
'

test_expect_success UML,IMAGE 'start: a Kathara lab, lab.dep honoured, logs kept' '
	lab_run start "$K" -p 3 &&
	test_is "$rc" 0 &&
	test_like "$out" "pc1: startup done" &&
	test_like "$out" "pc3: startup done" &&
	test_like "$(cat "$K/pc1.log")" "ip addr add 10.0.0.1/24" &&
	test_set_prereq KLAB
'

test_expect_success KLAB 'lab.dep: pc3 started after pc1 and pc2 ended' '
	test_is "$(cat "$K/pc3.saw")" yes &&
	test "$(cat "$K/pc3.begin")" -gt "$(cat "$K/pc1.end")" &&
	test "$(cat "$K/pc3.begin")" -gt "$(cat "$K/pc2.end")"
'

test_expect_success KLAB 'the machines reach each other on domain A' '
	reach "$K" pc1 10.0.0.2 &&
	reach "$K" pc3 10.0.0.1 &&
	run "$UMLKIT" lab exec "$K" pc2 -- hostname &&
	test_is "$out" pc2
'

test_expect_success KLAB 'the lab directory at /hostlab, shared/ at /shared, forwarding on' '
	run "$UMLKIT" lab exec "$K" pc1 -- cat /hostlab/lab.conf &&
	test_like "$out" "pc3\[0\]" &&
	"$UMLKIT" lab exec "$K" pc1 -- sh -c "echo hi >/shared/note" &&
	test_is "$(cat "$K/shared/note")" hi &&
	run "$UMLKIT" lab exec "$K" pc2 -- cat /proc/sys/net/ipv4/ip_forward &&
	test_is "$out" 1
'

test_expect_success KLAB 'a sysctl= option is set; a script with a BOM and CRLF runs without them' '
	run "$UMLKIT" lab exec "$K" pc1 -- cat /proc/sys/net/ipv4/ip_default_ttl &&
	test_is "$out" 42 &&
	run "$UMLKIT" lab exec "$K" pc2 -- ip -4 -o addr show dev eth0 &&
	test_like "$out" " 10\.0\.0\.2/24 " &&
	test_like "$(cat "$K/pc2.log")" "^\+ ip addr add 10\.0\.0\.2/24 dev eth0$" &&
	test_unlike "$(cat "$K/pc1.log" "$K/pc2.log")" "$(printf "\r")"
'

test_expect_success KLAB 'machines boot quiet: hostname and quiet on the kernel command line' '
	run "$UMLKIT" lab exec "$K" pc1 -- cat /proc/cmdline &&
	test_like "$out" " umlkit.hostname=pc1 quiet( |$)" &&
	run "$UMLKIT" lab exec "$K" pc1 -- cat /proc/sys/kernel/printk &&
	test_like "$out" "^4[[:space:]]"
'

test_expect_success KLAB 'machines boot without udev: the lab named vec0 eth0, no unit failed' '
	run "$UMLKIT" lab exec "$K" pc1 -- systemctl is-enabled systemd-udevd.service &&
	test_is "$out" masked-runtime &&
	run "$UMLKIT" lab exec "$K" pc1 -- systemctl is-active systemd-udevd.service &&
	test_is "$out" inactive &&
	run "$UMLKIT" lab exec "$K" pc1 -- ls /sys/class/net &&
	test_is "$(echo $out)" "eth0 lo" &&
	run "$UMLKIT" lab exec "$K" pc1 -- systemctl list-units --failed --plain --no-legend &&
	test_is "$out" ""
'

test_expect_success KLAB 'after its startup each machine was trimmed: its host RSS went down' '
	line=$(grep "^umlkit: trim: " "$K/pc1.log") &&
	test_like "$line" "^umlkit: trim: [0-9]+ KiB of [0-9]+ KiB free released, kernel.s host RSS [0-9]+ -> [0-9]+ KiB$" &&
	read -r a b < <(sed "s/.*RSS \([0-9]*\) -> \([0-9]*\) KiB/\1 \2/" <<<"$line") &&
	echo "# pc1: kernel RSS $a -> $b KiB" &&
	test "$b" -lt "$a"
'

test_expect_success KLAB,JQ 'lab list shows the lab and its machines' '
	run "$UMLKIT" lab list --output=json &&
	test_is "$(json ".[] | select(.dir == \"$K\") | .machines | join(\" \")")" "pc1 pc2 pc3"
'

test_expect_success KLAB 'lab check: each check judged in its machine, exit 1 on a failure' '
	printf "%s\n" "# two pass, two fail" "pc1 route 10.0.0.0/24 dev eth0" \
		"pc2 daemon umlkit-agent" "pc2 listen tcp 9" "pc3 route 10.9.0.0/24" >"$T/mixed.check" &&
	run "$UMLKIT" lab check "$K" "$T/mixed.check" &&
	test_is "$rc" 1 &&
	test_like "$out" "^ok   pc1 route 10.0.0.0/24 dev eth0$" &&
	test_like "$out" "^ok   pc2 daemon umlkit-agent$" &&
	test_like "$out" "^FAIL pc2 listen tcp 9: " &&
	test_like "$out" "^FAIL pc3 route 10.9.0.0/24: " &&
	test_like "$out" "^2 passed, 2 failed$" &&
	printf "pc1 route 10.0.0.0/24\npc3 daemon umlkit-agent\n" >"$K/lab.check" &&
	test_when_finished "rm -f \"$K/lab.check\"" &&
	run "$UMLKIT" lab check "$K" &&
	test_is "$rc" 0 &&
	test_like "$out" "^2 passed, 0 failed$"
'

test_expect_success KLAB 'lab check: a bad line and an unknown machine are refused by name' '
	printf "pc1 route 10.0.0.0/24\npc1 teleport 10.0.0.2\n" >"$T/bad.check" &&
	run "$UMLKIT" lab check "$K" "$T/bad.check" &&
	test_is "$rc" 1 &&
	test_like "$err" ":2: " &&
	test_is "$out" "" &&
	printf "pc9 route 10.0.0.0/24\n" >"$T/who.check" &&
	run "$UMLKIT" lab check "$K" "$T/who.check" &&
	test_is "$rc" 1 &&
	test_like "$err" "no machine named .pc9." &&
	test_is "$out" ""
'

test_expect_success KLAB 'a lab that runs is not started again' '
	lab_run start "$K" &&
	test_is "$rc" 1 &&
	test_like "$err" "running already"
'

# q1 started with --no-wait: its script runs after start returned; DIR/q1.log says when done
q1_done() { grep -q "startup done" "$K2/q1.log" 2>/dev/null; }
test_expect_success KLAB 'lab test refuses a running lab, which runs on untouched' '
	run timeout 60 "$UMLKIT" lab test "$K" &&
	test_is "$rc" 1 &&
	test_like "$err" "machine .pc1. is running; the test starts the lab itself" &&
	test_path_is_missing "$K/_test" &&
	test_path_is_file "$K/pc1.disk" &&
	reach "$K" pc1 10.0.0.2
'

test_expect_success KLAB,IMAGE 'two labs with a domain A stay apart (--no-wait)' '
	lab_run start "$K2" --no-wait &&
	test_is "$rc" 0 &&
	test_like "$out" "q1: startup running" &&
	until_true 120 q1_done &&
	test_unlike "$(cat "$K2/q1.log")" "umlkit: trim:" &&
	reach "$K" pc2 10.0.0.1 &&
	! reach "$K2" q1 10.0.0.1 &&
	! reach "$K2" q1 10.0.0.2 &&
	lab_run stop "$K2" &&
	test_is "$rc" 0
'

test_expect_success KLAB 'stop runs the shutdown scripts and ends everything' '
	lab_run stop "$K" &&
	test_is "$rc" 0 &&
	test_like "$(cat "$K/pc1.bye")" "^bye from pc1" &&
	run "$UMLKIT" lab list &&
	test_unlike "$out" "$K" &&
	run "$UMLKIT" switch list &&
	test_unlike "$out" "^lab"
'

test_expect_success UML,IMAGE 'Netkit: lstart copies shared/ then r1/ into /' '
	listing "$N" >"$T/n.before" &&
	run sh -c "cd \"\$1\" && exec timeout 600 \"\$2\" -p2" sh "$N" "$UK_BUILD/lstart" &&
	test_is "$rc" 0 &&
	run "$UMLKIT" lab exec "$N" r1 -- cat /etc/lab-shared.txt /etc/lab-both.txt \
		/etc/lab-r1.txt &&
	test_is "$(echo $out)" "shared r1 r1" &&
	run "$UMLKIT" lab exec "$N" r2 -- cat /etc/lab-shared.txt &&
	test_is "$out" shared &&
	run "$UMLKIT" lab exec "$N" r1 -- stat -c %U /etc/lab-r1.txt &&
	test_is "$out" root &&
	run "$UMLKIT" lab exec "$N" r2 -- ls /sys/class/net &&
	test_is "$(echo $out)" "eth0 eth2 lo" &&
	test_set_prereq NLAB
'

test_expect_success NLAB 'Netkit: lhalt, then lclean leaves the directory as it was' '
	run timeout 300 "$UK_BUILD/lhalt" -d "$N" &&
	test_is "$rc" 0 &&
	test_path_is_file "$N/r1.disk" &&
	run timeout 300 "$UK_BUILD/lclean" -d "$N" &&
	test_is "$rc" 0 &&
	listing "$N" >"$T/n.after" &&
	test_cmp "$T/n.before" "$T/n.after"
'

test_expect_success 'Netkit names refuse an option they do not know' '
	run "$UK_BUILD/lstart" -d "$N" -x &&
	test_is "$rc" 2 &&
	test_like "$err" "option .-x. is not supported"
'

# ns_links: the namespace's interfaces, one "NAME MASTER" line each (MASTER "-": none)
ns_links() {
	ip -n "$EXT_NS" -o link show | sed -E 's/^[0-9]+: ([^:@]+)[^ ]* .*/\1 &/' |
		awk '{ m = "-"; for (i = 1; i < NF; i++) if ($i == "master") m = $(i + 1); print $1, m }'
}
test_expect_success ROOT,IPROUTE,UML,IMAGE 'lab.ext: a domain reaches the kernel of a namespace through ve0' '
	ip netns add "$EXT_NS" &&
	ip -n "$EXT_NS" link set lo up &&
	ip -n "$EXT_NS" link add ve0 type veth peer name ve1 &&
	ip -n "$EXT_NS" addr add 10.9.0.254/24 dev ve1 &&
	ip -n "$EXT_NS" link set ve0 up && ip -n "$EXT_NS" link set ve1 up &&
	run timeout 600 ip netns exec "$EXT_NS" "$UMLKIT" lab start "$E" &&
	test_is "$rc" 0 &&
	test_like "$(ns_links)" "^ve0 ukx[0-9a-f]{10}\$" &&
	test_like "$(ns_links)" "^ukt[0-9a-f]{10} ukx[0-9a-f]{10}\$" &&
	reach "$E" pc 10.9.0.254 &&
	run timeout 300 ip netns exec "$EXT_NS" "$UMLKIT" lab stop "$E" &&
	test_is "$rc" 0 &&
	test_is "$(ns_links | sort | tr "\n" " ")" "lo - ve0 - ve1 - " &&
	ip -n "$EXT_NS" link show ve0 | grep -q "state UP" &&
	run timeout 300 ip netns exec "$EXT_NS" "$UMLKIT" lab clean "$E" &&
	test_is "$rc" 0 &&
	test_path_is_missing "$E/pc.disk" &&
	test_set_prereq EXTNS
'

test_expect_success EXTNS 'lab.ext: a host interface in another bridge is refused, nothing made' '
	ip -n "$EXT_NS" link add br9 type bridge &&
	ip -n "$EXT_NS" link set ve0 master br9 &&
	run timeout 600 ip netns exec "$EXT_NS" "$UMLKIT" lab start "$E" &&
	test_is "$rc" 1 &&
	test_like "$err" "lab.ext:2: domain A to ve0: ve0 is already a port of another bridge" &&
	test_is "$(ns_links | sort | tr "\n" " ")" "br9 - lo - ve0 br9 ve1 - " &&
	test_is "$(lab_switches)" "" &&
	test_path_is_missing "$E/pc.disk" &&
	run "$UMLKIT" lab list &&
	test_unlike "$out" "$E" &&
	printf "A nosuch0\n" >"$E/lab.ext" &&
	run timeout 60 ip netns exec "$EXT_NS" "$UMLKIT" lab start "$E" &&
	test_is "$rc" 1 &&
	test_like "$err" "lab.ext:1: no host interface .nosuch0." &&
	test_path_is_missing "$E/pc.disk"
'

test_expect_success EXTNS 'lab.ext: IFACE.VLAN tags on the wire: VLAN 10 meets VLAN 10, not 20' '
	ip -n "$EXT_NS" link del br9 &&
	ip -n "$EXT_NS" addr flush dev ve1 &&
	printf "A ve0.10\n" >"$E/lab.ext" &&
	ns_lab() { timeout 600 ip netns exec "$EXT_NS" "$UMLKIT" lab "$@"; } &&
	run ns_lab start "$E2" &&
	test_is "$rc" 0 &&
	run ns_lab start "$E" &&
	test_is "$rc" 0 &&
	reach "$E" pc 10.9.0.2 &&
	run ns_lab crash "$E2" &&
	test_is "$rc" 0 &&
	run ns_lab start "$E3" &&
	test_is "$rc" 0 &&
	! reach "$E" pc 10.9.0.3 &&
	run ns_lab clean "$E" && run ns_lab clean "$E2" && run ns_lab clean "$E3" &&
	test_is "$(ns_links | sort | tr "\n" " ")" "lo - ve0 - ve1 - "
'

# on_host H CMD...: CMD in host H's namespace, with H's own runtime directory
on_host() {
	local h=$1
	shift
	XDG_RUNTIME_DIR=$T/run-$h ip netns exec "$MH_NS$h" "$@"
}
test_expect_success ROOT,IPROUTE 'setup: hosts a, b, k in namespaces on one segment' '
	for h in a b k; do
		ip netns add "$MH_NS$h" && ip -n "$MH_NS$h" link set lo up || return 1
	done &&
	mkdir -p "$T/run-a" "$T/run-b" &&
	ip -n "${MH_NS}a" link add br0 type bridge &&
	ip link add mhb$$ netns "${MH_NS}a" type veth peer name eth0 netns "${MH_NS}b" &&
	ip link add mhk$$ netns "${MH_NS}a" type veth peer name eth0 netns "${MH_NS}k" &&
	ip -n "${MH_NS}a" link set mhb$$ master br0 && ip -n "${MH_NS}a" link set mhk$$ master br0 &&
	ip -n "${MH_NS}a" addr add 10.78.0.1/24 dev br0 &&
	ip -n "${MH_NS}b" addr add 10.78.0.2/24 dev eth0 &&
	ip -n "${MH_NS}k" addr add 10.78.0.3/24 dev eth0 &&
	for l in "a br0" "a mhb$$" "a mhk$$" "b eth0" "k eth0"; do
		set -- $l && ip -n "$MH_NS$1" link set "$2" up || return 1
	done &&
	ip -n "${MH_NS}k" link add vx0 type vxlan id 6000 dstport 8472 local 10.78.0.3 &&
	ip netns exec "${MH_NS}k" bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.78.0.1 &&
	ip netns exec "${MH_NS}k" bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.78.0.2 &&
	ip -n "${MH_NS}k" addr add 10.9.2.9/24 dev vx0 && ip -n "${MH_NS}k" link set vx0 up &&
	test_set_prereq MHOSTS
'

# fake-ssh ADDRESS CMD...: ssh for --all-hosts here, CMD in that host's namespace
cat >"$T/fake-ssh" <<EOF
#!/bin/sh
addr=\$1
shift
case \$addr in
10.78.0.2) h=b ;;
*) echo "fake-ssh: no host \$addr" >&2; exit 255 ;;
esac
exec env XDG_RUNTIME_DIR=$T/run-\$h ip netns exec $MH_NS\$h sh -c "\$1"
EOF
chmod +x "$T/fake-ssh"
test_expect_success MHOSTS,UML,IMAGE 'lab.hosts: start --all-hosts: p1 here on a, p2 on b through ssh' '
	run on_host a env UMLKIT_LAB_SSH="$T/fake-ssh" UMLKIT_LAB_REMOTE="$UMLKIT" \
		timeout 900 "$UMLKIT" lab start "$M" --all-hosts &&
	test_is "$rc" 0 &&
	test_like "$out" "^p1: startup done" &&
	test_like "$out" "^== host hb \(10.78.0.2\): umlkit lab start" &&
	test_like "$out" "^p2: startup done" &&
	test_unlike "$out" "host ha|host hk" &&
	XDG_RUNTIME_DIR=$T/run-a reach "$M" p1 10.9.2.2 &&
	XDG_RUNTIME_DIR=$T/run-b reach "$M" p2 10.9.2.1 &&
	XDG_RUNTIME_DIR=$T/run-a run "$UMLKIT" switch ports "$(XDG_RUNTIME_DIR=$T/run-a lab_switches)" &&
	test_like "$out" "vxlan" &&
	test_like "$out" "6000" &&
	test_set_prereq MLAB
'

test_expect_success MLAB "lab.hosts: p1 reaches the kernel's own vxlan device on host k" '
	XDG_RUNTIME_DIR=$T/run-a reach "$M" p1 10.9.2.9
'

test_expect_success MLAB 'lab.hosts: a host lab.hosts does not name is refused, nothing started' '
	run timeout 60 "$UMLKIT" lab start "$M" &&
	test_is "$rc" 1 &&
	test_like "$err" "lab.hosts: no address of this host is a host.s of the lab: say which it is with --host NAME" &&
	run timeout 60 "$UMLKIT" lab start "$M" --host nosuch &&
	test_is "$rc" 1 &&
	test_like "$err" "lab.hosts has no host .nosuch." &&
	test_is "$(lab_switches)" ""
'

test_expect_success MLAB 'lab.hosts: each host stops and cleans its own machines' '
	run on_host a timeout 300 "$UMLKIT" lab stop "$M" &&
	test_is "$rc" 0 &&
	test_like "$out" "^p1: stopped" &&
	test_unlike "$out" "p2" &&
	XDG_RUNTIME_DIR=$T/run-b reach "$M" p2 10.9.2.9 &&
	run on_host b timeout 300 "$UMLKIT" lab clean "$M" &&
	test_is "$rc" 0 &&
	test_path_is_missing "$M/p2.disk" &&
	test_path_is_file "$M/p1.disk" &&
	run on_host a env UMLKIT_LAB_SSH="$T/fake-ssh" UMLKIT_LAB_REMOTE="$UMLKIT" \
		timeout 300 "$UMLKIT" lab clean "$M" --all-hosts &&
	test_is "$rc" 0 &&
	test_like "$out" "^== host hb \(10.78.0.2\): umlkit lab clean" &&
	test_path_is_missing "$M/p1.disk"
'

test_expect_success '--all-hosts: the remote command is quoted word by word for its shell' '
	q="$T/q;'"'"'dir" &&
	mkdir -p "$q" &&
	printf "p1[0]=A\np2[0]=A\n" >"$q/lab.conf" &&
	printf "ha 192.0.2.1 p1\nhb 192.0.2.2 p2\n" >"$q/lab.hosts" &&
	printf "#!/bin/sh\nprintf \"%%s\\\\n\" \"\$@\" >\"$T/rec.args\"\n" >"$T/rec-ssh" &&
	printf "#!/bin/sh\nprintf \"%%s\\\\n\" \"\$@\"\n" >"$T/args.sh" &&
	chmod +x "$T/rec-ssh" "$T/args.sh" &&
	UMLKIT_LAB_SSH="$T/rec-ssh" UMLKIT_LAB_REMOTE="$T/args.sh" \
		run "$UMLKIT" lab stop "$q" --host ha --all-hosts &&
	test_like "$out" "^== host hb \\(192.0.2.2\\): umlkit lab stop" &&
	test_is "$(wc -l <"$T/rec.args")" 2 &&
	test_is "$(head -n 1 "$T/rec.args")" 192.0.2.2 &&
	test_is "$(sh -c "$(sed -n 2p "$T/rec.args")")" "lab
stop
--host
hb
$q"
'

# (in a network namespace of its own: no address there says which host this is)
test_expect_success ROOT "lab.hosts: clean --host NAME cleans that host's machines, wherever it runs" '
	c="$T/hclean" &&
	mkdir -p "$c" &&
	printf "p1[0]=A\np2[0]=A\n" >"$c/lab.conf" &&
	printf "ha 192.0.2.1 p1\nhb 192.0.2.2 p2\n" >"$c/lab.hosts" &&
	: >"$c/p1.disk" &&
	: >"$c/p2.disk" &&
	run unshare -n "$UMLKIT" lab clean "$c" --host hb &&
	test_is "$rc" 0 &&
	test_path_is_missing "$c/p2.disk" &&
	test_path_is_file "$c/p1.disk" &&
	run unshare -n "$UMLKIT" lab clean "$c" --host nosuch &&
	test_is "$rc" 1 &&
	test_like "$err" "lab.hosts has no host .nosuch." &&
	test_path_is_file "$c/p1.disk"
'

# ltest: the first run makes the signature, a second matches it, a changed signature fails
test_expect_success UML,IMAGE 'ltest: the first run makes the signature, the lab left clean' '
	listing "$LT" >"$T/lt.before" &&
	run timeout 600 "$UK_BUILD/ltest" -d "$LT" &&
	test_is "$rc" 0 &&
	test_like "$out" "signature made in $LT/_test/signature" &&
	test_is "$(ls "$LT/_test/signature" | tr "\n" " ")" "a.default a.user b.default " &&
	test_is "$(cat "$LT/_test/signature/a.user")" "from a
10.5.0.1/24" &&
	sig=$LT/_test/signature/b.default &&
	test_like "$(cat "$sig")" "inet 10.5.0.2/24 scope global eth0" &&
	test_like "$(cat "$sig")" "^10.5.0.0/24 dev eth0" &&
	test_like "$(cat "$sig")" "/usr/sbin/umlkit-agent\$" &&
	test_unlike "$(cat "$sig")" "link/ether|kworker|^ *0 sh -c" &&
	test_path_is_missing "$LT/a.disk" &&
	run "$UMLKIT" lab list &&
	test_unlike "$out" "$LT" &&
	listing "$LT" | grep -v "_test/signature" >"$T/lt.after" &&
	test_cmp "$T/lt.before" "$T/lt.after"
'

test_expect_success UML,IMAGE 'ltest: a second run matches; a changed signature fails, kept' '
	run timeout 600 "$UK_BUILD/ltest" -d "$LT" &&
	test_is "$rc" 0 &&
	run timeout 600 "$UMLKIT" lab test "$LT" &&
	test_is "$rc" 0 &&
	test_like "$out" "^ok   a.default" &&
	test_like "$out" "^ok   a.user" &&
	test_like "$out" "^ok   b.default" &&
	test_like "$out" "^3 passed, 0 failed" &&
	test_path_is_file "$LT/_test/results/b.default" &&
	sed -i "s/10.5.0.1/10.5.0.9/" "$LT/_test/signature/a.user" &&
	sum=$(sum_of "$LT/_test/signature/a.user") &&
	run timeout 600 "$UMLKIT" lab test "$LT" --verify=both &&
	test_is "$rc" 1 &&
	test_like "$out" "^FAIL a.user: line 2 differs from the signature" &&
	test_like "$out" "^ok   a.default" &&
	test_like "$out" "^2 passed, 1 failed" &&
	test_is "$(sum_of "$LT/_test/signature/a.user")" "$sum" &&
	test_is "$(tail -n 1 "$LT/_test/results/a.user")" 10.5.0.1/24
'

test_expect_success 'ltest: bad options and arguments are refused, exit 2' '
	run "$UK_BUILD/ltest" -d "$LT" --verify=all &&
	test_is "$rc" 2 &&
	test_like "$err" "verify=all: want both, user or builtin" &&
	run "$UK_BUILD/ltest" -d "$LT" -x &&
	test_is "$rc" 2 &&
	run "$UMLKIT" lab test "$LT" --no-wait &&
	test_is "$rc" 2 &&
	run "$UK_BUILD/ltest" -d "$LT" a &&
	test_is "$rc" 2 &&
	test_like "$err" "unexpected argument .a."
'

test_expect_success UML,IMAGE 'a failing startup script, and a failing setup, named with their logs' '
	lab_run start "$F" &&
	test_is "$rc" 1 &&
	test_like "$err" "bad: .*status 3" &&
	test_like "$err" "$F/bad.log" &&
	test_like "$out" "^bad: failed: machine .bad.: its startup scripts exited with status 3" &&
	test_like "$out" "^sys: failed: machine .sys.: the lab.s setup \(mounts, files, sysctls\) exited with status [1-9][0-9]*: .*no_such_knob" &&
	test_like "$(cat "$F/sys.log")" "no_such_knob" &&
	test_like "$(cat "$F/bad.log")" "about to fail" &&
	lab_run clean "$F" &&
	test_is "$rc" 0
'

test_expect_success UML,IMAGE 'a lab whose machines all fail to boot leaves no switch running' '
	test_is "$(lab_switches)" "" &&
	lab_run start "$F" -o mem=8 &&
	test_is "$rc" 1 &&
	test_like "$out" "^bad: failed: did not boot" &&
	test_is "$(lab_switches)" "" &&
	lab_run clean "$F" &&
	test_is "$rc" 0
'

test_done
