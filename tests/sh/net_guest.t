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
# and the tap; a killed supervisor's helper (privilege separation) removes them itself, and
# with the helper killed too the next `stop` does; the other table is untouched throughout.
#
# The guest's user reads only what lies under $T: its disks, its tun node, and the umlkit
# binary and xstate shim staged there (stage_for_others) when the build is out of its reach.
#
# Run: UK_BUILD=$PWD/build prove -v tests/sh/net_guest.t
. "$(dirname "$0")/lib.sh"
test_need_guests

H=ukh$$
C=ukc$$
export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
hx() { ip netns exec "$H" "$@"; }
cx() { ip netns exec "$C" "$@"; }
# hux CMD...: CMD in H where the guest's user can open /dev/net/tun
GU=4711
hux() {
	ip netns exec "$H" unshare -m --propagation private \
		sh -c 'mount --bind "$0" /dev/net/tun && exec "$@"' "$T/tun" "$@"
}
LISTENER=
cleanup_ns() {
	local n p
	for n in web web2 web3; do hx "$UMLKIT" kill "$n" >/dev/null 2>&1; done
	[ -n "$LISTENER" ] && { kill -KILL "$LISTENER" && wait "$LISTENER"; } 2>/dev/null
	for p in $(ip netns pids "$C" 2>/dev/null) $(ip netns pids "$H" 2>/dev/null); do
		case " ${UK_PIDS[*]} " in *" $p "*) kill -KILL "$p" 2>/dev/null ;; esac
	done
	ip netns del "$C" 2>/dev/null
	ip netns del "$H" 2>/dev/null
	_uk_cleanup
}
trap cleanup_ns EXIT

# ---------------------------------------------------------------- the namespaces
test_expect_success ROOT,IPROUTE 'setup: namespaces H (the host) and C (a client)' '
	ip netns add "$H" &&
	ip netns add "$C" &&
	hx ip link set lo up &&
	cx ip link set lo up &&
	test_set_prereq NS
'
test_expect_success NS 'net bridge add ukbr0' '
	hx "$UMLKIT" net bridge add ukbr0 &&
	test_set_prereq BRIDGE
'
test_expect_success BRIDGE 'net bridge attach ukbr0 ukvh (brings both up)' '
	hx ip link add ukvh type veth peer name ukvc &&
	hx ip link set ukvc netns "$C" &&
	hx "$UMLKIT" net bridge attach ukbr0 ukvh &&
	cx ip addr add 10.10.0.3/24 dev ukvc &&
	cx ip link set ukvc up &&
	test_set_prereq LINK
'
test_expect_success NS,NFT "setup: a table in H that is not umlkit's" '
	hx nft -f - <<-\NFT &&
	table inet other {
		set blocked { type ipv4_addr; elements = { 192.0.2.1 } }
		chain input { type filter hook input priority 10; policy accept; ip saddr @blocked drop; }
	}
	NFT
	other_before=$(hx nft list table inet other) &&
	test_set_prereq OTHER
'
# a listener in C that appends each connection's text to recv.log
test_expect_success LINK,BUSYBOX 'setup: a listener in C on port 9000' '
	printf "#!/bin/sh\ncat >>%s/recv.log\n" "$T" >"$T/recv.sh" &&
	chmod +x "$T/recv.sh" &&
	: >"$T/recv.log" &&
	{
		ip netns exec "$C" busybox nc -ll -p 9000 -e "$T/recv.sh" </dev/null >/dev/null 2>&1 &
		LISTENER=$!
		UK_PIDS+=("$LISTENER") # busybox itself: ip netns exec execs it
	} &&
	test_set_prereq LISTEN
'

# ---------------------------------------------------------------- the guest
test_expect_success NOBODY "setup: what the guest's user reads lies under \$T" '
	stage_for_others &&
	chmod 0755 "$T" && # the guest user reads the disks
	mknod "$T/tun" c 10 200 &&
	chmod 0666 "$T/tun" &&
	test_set_prereq STAGED
'
test_expect_success 'image build' '
	"$UMLKIT" image build --size 64M "$T/base.img" >/dev/null &&
	test_set_prereq IMAGE
'
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
test_expect_success LINK,STAGED,IMAGE,NFT,LISTEN "start --user $GU --net bridge:ukbr0,tap=uktap-web,ip=... --allow tcp/80 --egress tcp/9000" '
	run hux "$UMLKIT" start --name web --user "$GU" --mem 64M --disk "$T/web.cow,$T/base.img" \
		--disk "ubdb=$T/script" --net bridge:ukbr0,tap=uktap-web,ip=10.10.0.2 \
		--allow tcp/80 --egress tcp/9000 \
		--append "umlkit.ip=vec0,10.10.0.2/24 umlkit.services=httpd" --wait --timeout 90 &&
	track web &&
	{
		test_is "$rc" 0 ||
			{ echo "$err"; tail -20 "$XDG_RUNTIME_DIR"/umlkit/guests/web/console.log; false; }
	} &&
	log=$(hx "$UMLKIT" logs web) &&
	test_set_prereq WEB
'
test_expect_success WEB "the tap was made, persistent, owned by the guest's user" '
	test_like "$(hx "$UMLKIT" net tap list)" "uktap-web +tap +yes +$GU +$GU"
'
test_expect_success WEB 'the tap is a port of ukbr0' '
	test_like "$(hx ip -o link show uktap-web)" "master ukbr0"
'
test_expect_success WEB 'the guest serves on 8080 (seen from inside)' '
	test_like "$log" "guest: 8080 served"
'

# ---------------------------------------------------------------- the policy at work
test_expect_success WEB,CURL 'the client reaches port 80' '
	run cx curl -s -m 10 http://10.10.0.2/ &&
	test_is "$rc" 0
'
test_expect_success WEB,CURL "... and gets the guest's page" '
	test_like "$out" "umlkit guest"
'
test_expect_success WEB,CURL 'the client does not reach port 8080' '
	run cx curl -s -m 3 http://10.10.0.2:8080/ &&
	echo "curl exit $rc" &&
	test_isnt "$rc" 0
'
test_expect_success WEB 'the guest reaches an allowed egress port from its own address' '
	test_like "$log" "guest: real sent"
'
test_expect_success WEB 'the listener got the genuine line' '
	recv=$(cat "$T/recv.log") &&
	test_like "$recv" "real-line"
'
test_expect_success WEB 'the listener got nothing from the forged address' '
	test_unlike "$recv" "forged"
'
test_expect_success WEB "the guest's forged connection failed" '
	test_unlike "$log" "guest: forged sent"
'
test_expect_success WEB "fw show: the rules name the host's tap" '
	show=$(hx "$UMLKIT" fw show web) &&
	test_like "$show" "iifname \"uktap-web\" jump g-web/from"
'
test_expect_success WEB "fw show: never the guest's interface" '
	test_unlike "$show" "vec0"
'
test_expect_success WEB 'fw show: the forged packets were dropped and counted' '
	test_like "$show" "counter packets [1-9][0-9]* bytes [0-9]+ drop comment \"spoofed (ARP|IP)\""
'
test_expect_success WEB 'fw show: the 8080 attempt was dropped and counted' '
	test_like "$show" "counter packets [1-9][0-9]* bytes [0-9]+ drop comment \"inbound\""
'
test_expect_success WEB,OTHER 'the other table is untouched while the guest runs' '
	test_is "$(hx nft list table inet other)" "$other_before"
'

# ---------------------------------------------------------------- stop
test_expect_success WEB 'stop' '
	run hx "$UMLKIT" stop web --timeout 30 &&
	test_is "$rc" 0
'
test_expect_success WEB 'fw show web after stop: exit 1' '
	run hx "$UMLKIT" fw show web &&
	test_is "$rc" 1
'
test_expect_success WEB '... the rules are gone' '
	test_like "$err" "no firewall rules for guest web"
'
test_expect_success WEB 'nothing of the guest is left in nftables' '
	test_unlike "$(hx nft list ruleset)" "g-web"
'
test_expect_success WEB 'the tap umlkit made is gone' '
	test_when_finished "untrack_if_gone web" &&
	test -z "$(hx ip -o link show uktap-web 2>/dev/null)"
'
test_expect_success WEB,OTHER 'the other table is untouched after stop' '
	test_is "$(hx nft list table inet other)" "$other_before"
'
test_expect_success WEB,CURL 'the guest is gone: port 80 no longer answers' '
	run cx curl -s -m 3 http://10.10.0.2/ &&
	echo "curl exit $rc" &&
	test_isnt "$rc" 0
'

# ---------------------------------------------------------------- a supervisor killed
# The supervisor runs as the guest's user; its helper, root's, removes the rules and the tap
# when the supervisor dies. Both killed, they are left, and the next command removes them.
# no_rules: the guest's rules and its tap are gone (5 s at most)
no_rules() {
	until_true 5 sh -c '! ip netns exec "$0" nft list ruleset | grep -q "g-$1" &&
		test -z "$(ip netns exec "$0" ip -o link show "uktap-$1" 2>/dev/null)"' "$H" "$1"
}
start_web() { # start_web NAME
	run hux "$UMLKIT" start --name "$1" --user "$GU" --mem 64M \
		--disk "$T/$1.cow,$T/base.img" --net "bridge:ukbr0,tap=uktap-$1,ip=10.10.0.2" \
		--allow tcp/80 --wait --timeout 90 --ready mconsole &&
		track "$1" &&
		test_is "$rc" 0
}
find_helper() { # find_helper NAME: hp, the helper of NAME's supervisor
	hp=$(privsep_helper "$(json .supervisor_pid "$("$UMLKIT" status "$1" --output=json)")") &&
		test_like "$hp" "^[0-9]+$"
}
test_expect_success LINK,STAGED,IMAGE,NFT 'a second guest with a policy' '
	start_web web2 &&
	test_like "$(hx nft list ruleset)" "g-web2" &&
	test_set_prereq WEB2
'
test_expect_success WEB2 'setup: SIGKILL its supervisor alone' '
	find_helper web2 &&
	kill_supervisor web2 &&
	test_set_prereq LOST2
'
test_expect_success LOST2 "its helper removed the guest's rules and tap" '
	no_rules web2
'
test_expect_success LOST2 '... and is gone' '
	wait_gone "$hp" 5
'
test_expect_success LOST2 'stop after the supervisor was killed' '
	test_when_finished "untrack_if_gone web2" &&
	run hx "$UMLKIT" stop web2 --timeout 30 &&
	test_is "$rc" 0
'
test_expect_success LOST2 'a third guest with a policy' '
	start_web web3 &&
	test_like "$(hx nft list ruleset)" "g-web3" &&
	test_set_prereq WEB3
'
test_expect_success WEB3 'setup: SIGKILL its helper, then its supervisor' '
	find_helper web3 &&
	kill -KILL "$hp" && wait_gone "$hp" 5 &&
	kill_supervisor web3 &&
	test_set_prereq LOST3
'
test_expect_success LOST3 "the guest's rules are left" '
	test_like "$(hx nft list ruleset)" "g-web3"
'
test_expect_success LOST3 'stop after both were killed' '
	run hx "$UMLKIT" stop web3 --timeout 30 &&
	test_is "$rc" 0
'
test_expect_success LOST3 '... removes the rules and the tap they left' '
	test_when_finished "untrack_if_gone web3" &&
	no_rules web3
'

test_done
