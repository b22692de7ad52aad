#!/bin/bash
# net_guest.t: a real guest bridged in a network namespace, with its firewall policy.
#
# Namespaces (made here, removed at exit): H, the "host", holds bridge ukbr0, the guest's tap
# (made by `umlkit start --net bridge:... --user 4711`, as the guest runs inside H, its kernel
# as uid 4711, in a private mount namespace with a 0666 node bind-mounted over /dev/net/tun,
# which some hosts make 0600) and a pre-existing nftables table; C, a client, reaches the bridge over a veth (10.10.0.3/24).
# The guest (10.10.0.2, --allow tcp/80 --egress tcp/9000) serves httpd on 80 and 8080.
# Its /dev/ubdb script first sends from a forged address (10.10.0.66), then from its own,
# to a listener in C. Checked: C reaches 80 and not 8080; only the genuine line arrives, the
# anti-spoofing drops are counted; the rules name the tap; `umlkit stop` removes the rules
# and the tap; the other table is untouched throughout.
#
# Run: UK_BUILD=$PWD/build prove -v tests/sh/net_guest.t
. "$(dirname "$0")/lib.sh"
[ -x "$UMLKIT" ] || skip_all "umlkit not built: $UMLKIT"
[ -n "$UML" ] && [ -x "$UML" ] || skip_all "no UML kernel (linux.uml)"
[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces"
need_cmd ip "iproute2 not installed"
need_cmd nft "nftables not installed"
need_cmd curl "curl not installed"
command -v busybox >/dev/null || skip_all "busybox-static not installed"
case "$T" in *,* | *:*) skip_all "temp dir $T holds ',' or ':'" ;; esac

H=ukh$$
C=ukc$$
ip netns add "$H" || skip_all "cannot make a network namespace"
ip netns add "$C" || { ip netns del "$H"; skip_all "cannot make a network namespace"; }
export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
hx() { ip netns exec "$H" "$@"; }
cx() { ip netns exec "$C" "$@"; }
# hux CMD...: CMD in H where the guest's user can open /dev/net/tun
GU=4711
chmod 0755 "$T" # the guest's user reads the disks
mknod "$T/tun" c 10 200 && chmod 0666 "$T/tun" || skip_all "cannot make a tun node"
hux() {
	ip netns exec "$H" unshare -m --propagation private \
		sh -c 'mount --bind "$0" /dev/net/tun && exec "$@"' "$T/tun" "$@"
}
cleanup_ns() {
	hx "$UMLKIT" kill web >/dev/null 2>&1
	local p
	for p in $(ip netns pids "$C" 2>/dev/null) $(ip netns pids "$H" 2>/dev/null); do
		case " ${UK_PIDS[*]} " in *" $p "*) kill -KILL "$p" 2>/dev/null ;; esac
	done
	ip netns del "$C" 2>/dev/null
	ip netns del "$H" 2>/dev/null
	_uk_cleanup
}
trap cleanup_ns EXIT

# ---------------------------------------------------------------- the namespaces
hx ip link set lo up
cx ip link set lo up
hx "$UMLKIT" net bridge add ukbr0
ok $? "net bridge add ukbr0"
hx ip link add ukvh type veth peer name ukvc
hx ip link set ukvc netns "$C"
hx "$UMLKIT" net bridge attach ukbr0 ukvh
ok $? "net bridge attach ukbr0 ukvh (brings both up)"
cx ip addr add 10.10.0.3/24 dev ukvc
cx ip link set ukvc up
hx nft -f - <<'NFT'
table inet other {
	set blocked { type ipv4_addr; elements = { 192.0.2.1 } }
	chain input { type filter hook input priority 10; policy accept; ip saddr @blocked drop; }
}
NFT
other_before=$(hx nft list table inet other)

# a listener in C that appends each connection's text to recv.log
printf '#!/bin/sh\ncat >>%s/recv.log\n' "$T" >"$T/recv.sh"
chmod +x "$T/recv.sh"
: >"$T/recv.log"
ip netns exec "$C" busybox nc -ll -p 9000 -e "$T/recv.sh" </dev/null >/dev/null 2>&1 &
UK_PIDS+=($!) # busybox itself: ip netns exec execs it

# ---------------------------------------------------------------- the guest
"$UMLKIT" image build --size 64M "$T/base.img" >/dev/null
ok $? "image build"
cat >"$T/script" <<'EOF2'
#!/bin/sh
httpd -p 8080 -h /var/www
sleep 1
if wget -q -O - http://127.0.0.1:8080/ | grep -q umlkit; then echo "guest: 8080 served"; fi
# forged: the guest's own address swapped for another of the subnet
ip addr del 10.10.0.2/24 dev vec0
ip addr add 10.10.0.66/24 dev vec0
echo "forged-line" | nc -w 3 10.10.0.3 9000 && echo "guest: forged sent"
ip addr del 10.10.0.66/24 dev vec0
ip addr add 10.10.0.2/24 dev vec0
sleep 1
echo "real-line" | nc -w 10 10.10.0.3 9000 && echo "guest: real sent"
EOF2
truncate -s 4096 "$T/script"
chown "$GU:$GU" "$T/script"
run hux "$UMLKIT" start --name web --user "$GU" --mem 64M --disk "$T/web.cow,$T/base.img" \
	--disk "ubdb=$T/script" --net bridge:ukbr0,tap=uktap-web,ip=10.10.0.2 \
	--allow tcp/80 --egress tcp/9000 \
	--append "umlkit.ip=vec0,10.10.0.2/24 umlkit.services=httpd" --wait --timeout 90
is "$rc" 0 "start --user $GU --net bridge:ukbr0,tap=uktap-web,ip=... --allow tcp/80 --egress tcp/9000"
[ "$rc" = 0 ] || diag "$err" "$(tail -20 "$XDG_RUNTIME_DIR"/umlkit/guests/web/console.log 2>/dev/null)"
s=$(hx "$UMLKIT" status web --output=json 2>/dev/null)
UK_PIDS+=($(printf '%s' "$s" | sed -n 's/.*"supervisor_pid": \([0-9]*\).*/\1/p'))

tapinfo=$(hx "$UMLKIT" net tap list)
like "$tapinfo" "uktap-web +tap +yes +$GU +$GU" "the tap was made, persistent, owned by the guest's user"
like "$(hx ip -o link show uktap-web)" "master ukbr0" "the tap is a port of ukbr0"
log=$(hx "$UMLKIT" logs web)
like "$log" "guest: 8080 served" "the guest serves on 8080 (seen from inside)"

# ---------------------------------------------------------------- the policy at work
run cx curl -s -m 10 http://10.10.0.2/
is "$rc" 0 "the client reaches port 80"
like "$out" "umlkit guest" "... and gets the guest's page"
run cx curl -s -m 3 http://10.10.0.2:8080/
ok "$([ "$rc" != 0 ]; echo $?)" "the client does not reach port 8080 (curl exit $rc)"
like "$log" "guest: real sent" "the guest reaches an allowed egress port from its own address"
recv=$(cat "$T/recv.log")
like "$recv" "real-line" "the listener got the genuine line"
unlike "$recv" "forged" "the listener got nothing from the forged address"
unlike "$log" "guest: forged sent" "the guest's forged connection failed"
show=$(hx "$UMLKIT" fw show web)
like "$show" 'iifname "uktap-web" jump g-web/from' "fw show: the rules name the host's tap"
unlike "$show" "vec0" "fw show: never the guest's interface"
like "$show" 'counter packets [1-9][0-9]* bytes [0-9]+ drop comment "spoofed (ARP|IP)"' \
	"fw show: the forged packets were dropped and counted"
like "$show" 'counter packets [1-9][0-9]* bytes [0-9]+ drop comment "inbound"' \
	"fw show: the 8080 attempt was dropped and counted"
is "$(hx nft list table inet other)" "$other_before" "the other table is untouched while the guest runs"

# ---------------------------------------------------------------- stop
run hx "$UMLKIT" stop web --timeout 30
is "$rc" 0 "stop"
run hx "$UMLKIT" fw show web
is "$rc" 1 "fw show web after stop: exit 1"
like "$err" "no firewall rules for guest web" "... the rules are gone"
unlike "$(hx nft list ruleset)" "g-web" "nothing of the guest is left in nftables"
check "the tap umlkit made is gone" -- test -z "$(hx ip -o link show uktap-web 2>/dev/null)"
is "$(hx nft list table inet other)" "$other_before" "the other table is untouched after stop"
run cx curl -s -m 3 http://10.10.0.2/
ok "$([ "$rc" != 0 ]; echo $?)" "the guest is gone: port 80 no longer answers"

# ---------------------------------------------------------------- a supervisor killed
# SIGKILL leaves the guest's rules and tap; the next command removes them
run hux "$UMLKIT" start --name web2 --user "$GU" --mem 64M --disk "$T/web2.cow,$T/base.img" \
	--net bridge:ukbr0,tap=uktap-web2,ip=10.10.0.2 --allow tcp/80 --wait --timeout 90 \
	--ready mconsole
is "$rc" 0 "a second guest with a policy"
sup=$("$UMLKIT" status web2 --output=json | sed -n 's/.*"supervisor_pid": \([0-9]*\).*/\1/p')
kgrp=$("$UMLKIT" status web2 --output=json | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
kill -KILL "$sup"
for _ in $(seq 50); do "$UMLKIT" status web2 | grep -q lost && break; sleep 0.1; done
like "$(hx nft list ruleset)" "g-web2" "the killed supervisor left the guest's rules"
run hx "$UMLKIT" stop web2 --timeout 30
is "$rc" 0 "stop after the supervisor was killed"
unlike "$(hx nft list ruleset)" "g-web2" "... removes the rules it left"
check "... and the tap it made" -- test -z "$(hx ip -o link show uktap-web2 2>/dev/null)"
[ -n "$kgrp" ] && kill -KILL -- "-$kgrp" 2>/dev/null

done_testing
