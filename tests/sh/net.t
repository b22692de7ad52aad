#!/bin/bash
# net.t: taps, bridges, the tunctl personality and the firewall commands, inside a network
# namespace made here (no guest). Our tunctl beside the old one (uml-utilities): output and
# exit status; bad input (names too long or odd, a tap owned by someone else, port lists that
# do not parse, no CAP_NET_ADMIN): each a clear error, nothing half made or half applied;
# fw apply/show/flush touch nothing but umlkit's tables.
#
# Run: UK_BUILD=$PWD/build prove -v tests/sh/net.t
. "$(dirname "$0")/lib.sh"
[ -x "$UMLKIT" ] || skip_all "umlkit not built: $UMLKIT"
[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces"
need_cmd ip "iproute2 not installed"
need_cmd nft "nftables not installed"
need_cmd setpriv "setpriv (util-linux) not installed"
OLD_TUNCTL=$(command -v /usr/sbin/tunctl /usr/bin/tunctl | head -n 1)
[ -n "$OLD_TUNCTL" ] || skip_all "tunctl (uml-utilities) not installed"
TUNCTL=$UK_BUILD/tunctl
[ -L "$TUNCTL" ] || skip_all "the tunctl link is not built: $TUNCTL"

N=ukn$$
ip netns add "$N" || skip_all "cannot make a network namespace"
trap 'ip netns del "$N" 2>/dev/null; _uk_cleanup' EXIT
nx() { ip netns exec "$N" "$@"; }
links() { nx ip -o link show | sed 's/^[0-9]*: //; s/[:@].*//' | sort | tr '\n' ' '; }

# ---------------------------------------------------------------- tunctl, old and new
# compare OLD NEW ARGS-WITH-@ : @ is replaced by each tool's name; prints "rc|out|err"
cmp_tunctl() {
	local what=$1 a_old=() a_new=() x
	shift
	for x in "$@"; do a_old+=("${x//@/uktold}"); a_new+=("${x//@/uktnew}"); done
	run nx "$OLD_TUNCTL" "${a_old[@]}"
	local o="$rc|${out//uktold/X}|${err//$OLD_TUNCTL/TUNCTL}"
	run nx "$TUNCTL" "${a_new[@]}"
	local n="$rc|${out//uktnew/X}|${err//$TUNCTL/TUNCTL}"
	is "$n" "$o" "tunctl $what: as the old tool (exit, stdout, stderr)"
}
cmp_tunctl "-t NAME" -t @0
cmp_tunctl "-t NAME again" -t @0
cmp_tunctl "-b -t NAME" -b -t @1
cmp_tunctl "-u nobody -t NAME" -u nobody -t @2
cmp_tunctl "-g nogroup -t NAME" -g nogroup -t @3
cmp_tunctl "-u 1234 -g 4321 -t NAME" -u 1234 -g 4321 -t @4
cmp_tunctl "-d NAME" -d @0
cmp_tunctl "-d NAME, missing" -d @9
cmp_tunctl "-u with an unknown user" -u no-such-user-uk -t @5
cmp_tunctl "-g with an unknown group" -g no-such-group-uk -t @5
cmp_tunctl "-h" -h
cmp_tunctl "extra argument" -t @6 extra
cmp_tunctl "-d without a name" -d
cmp_tunctl "a name the kernel refuses" -t '@ x/y'
cmp_tunctl "-f a missing clone device" -f /nonexistent/tun -t @7
is "$(nx "$UMLKIT" net tap list | awk 'NR>1 {print $1, $2, $3, $4, $5}' | sed 's/^ukt\(old\|new\)/X/' | sort | uniq -c | awk '{print $1}' | sort -u)" "2" \
	"each tap the old tool made, ours made alike (type, persistence, owner, group)"
run nx setpriv --reuid=nobody --inh-caps=-all "$TUNCTL" -t uktnew8
o="$rc|$out|$err"
run nx setpriv --reuid=nobody --inh-caps=-all "$OLD_TUNCTL" -t uktold8
is "$o" "$rc|$out|$err" "tunctl as nobody: the old tool's message and exit status"
for t in $(nx "$UMLKIT" net tap list | awk 'NR>1 {print $1}'); do nx "$TUNCTL" -d "$t" >/dev/null; done
is "$(links)" "lo " "tunctl -d removed every tap"

# ---------------------------------------------------------------- umlkit net tap
run nx "$UMLKIT" net tap add uktap0
is "$rc|$out|$err" "0||" "net tap add uktap0"
run nx "$UMLKIT" net tap list --output=json
like "$out" '"name": "uktap0"' "net tap list --output=json names it"
like "$out" '"owner": 0' "... owned by the caller"
run nx "$UMLKIT" net tap add uktap0123456789x
is "$rc" 1 "a name of 16 characters: exit 1"
like "$err" "is 16 characters long; interface names have at most 15" "... saying why"
run nx "$UMLKIT" net tap add 'uk;rm'
is "$rc" 1 "a name with ';': exit 1"
like "$err" "character 0x3b is not allowed" "... saying why"
run nx "$UMLKIT" net tap add 'uk tap'
like "$rc|$err" "^1\|.*character 0x20 is not allowed" "a name with a blank: refused"
run nx "$UMLKIT" net tap add ../x
like "$rc|$err" "^1\|.*may not start with '.'" "a name starting with '.': refused"
nx "$TUNCTL" -u nobody -t ukother >/dev/null
run nx "$UMLKIT" net tap add ukother
is "$rc" 1 "net tap add of a tap owned by someone else: exit 1"
like "$err" "tap ukother is owned by uid 65534, not by you \(uid 0\)" "... naming the owner"
like "$(nx "$UMLKIT" net tap list)" "ukother +tap +yes +65534 " "... and the tap is still theirs"
run nx "$UMLKIT" net tap del ukother
like "$rc|$err" "^1\|.*owned by uid 65534" "net tap del of someone else's tap: refused"
run nx "$UMLKIT" net tap del ukother --force
is "$rc" 0 "... unless --force"
run nx "$UMLKIT" net tap del uknone
like "$rc|$err" "^1\|.*uknone: no such interface" "net tap del of a missing tap: a clear error"
run nx "$UMLKIT" net tap del lo
like "$rc|$err" "^1\|.*lo: not a tun/tap device" "net tap del lo: not a tap, refused"
# each verb takes only its own options: a usage error that names the option, no tap made
run nx "$UMLKIT" net tap add uktapy --force
like "$rc|$err" "^2\|.*option '--force' does not apply to 'net tap add'" "net tap add --force: exit 2"
run nx "$UMLKIT" net tap del uktap0 --user root
like "$rc|$err" "^2\|.*option '--user' does not apply to 'net tap del'" "net tap del --user: exit 2"
run nx "$UMLKIT" net tap list --group root
like "$rc|$err" "^2\|.*option '--group' does not apply to 'net tap list'" "net tap list --group: exit 2"
run nx setpriv --reuid=nobody --inh-caps=-all "$UMLKIT" net tap add uktapx
like "$rc|$err" "^1\|.*Permission denied \(taps need CAP_NET_ADMIN\)" "net tap add as nobody: needs CAP_NET_ADMIN"
if command -v capsh >/dev/null; then
	run nx capsh --drop=cap_net_admin -- -c "$UMLKIT net tap add uktapx"
	like "$rc|$err" "^1\|.*Operation not permitted \(taps need CAP_NET_ADMIN\)" \
		"net tap add without CAP_NET_ADMIN (capsh --drop)"
else
	skip "capsh not installed"
fi
is "$(links)" "lo uktap0 " "no tap was left by a refused command"

# ---------------------------------------------------------------- bridges
run nx "$UMLKIT" net bridge add ukbr0
is "$rc" 0 "net bridge add ukbr0"
run nx "$UMLKIT" net bridge add ukbr0
like "$rc|$err" "^1\|umlkit: bridge ukbr0: File exists" "adding it again: a clear error"
run nx "$UMLKIT" net bridge attach ukbr0 uktap0
is "$rc" 0 "net bridge attach ukbr0 uktap0"
like "$(nx ip -o link show uktap0)" "master ukbr0 .*UP|UP.*master ukbr0" "the tap is a port of ukbr0, up"
run nx "$UMLKIT" net bridge del uktap0
like "$rc|$err" "^1\|.*uktap0 is not a bridge" "net bridge del of a tap: refused"
run nx "$UMLKIT" net bridge add 'ukbr/0'
like "$rc|$err" "^1\|.*character 0x2f" "a bridge name with '/': refused"
run nx capsh --drop=cap_net_admin -- -c "$UMLKIT net bridge add ukbr9"
like "$rc|$err" "^1\|.*Operation not permitted \(needs CAP_NET_ADMIN\)" "net bridge add without CAP_NET_ADMIN"

# ---------------------------------------------------------------- the firewall
nx nft -f - <<'NFT'
table inet other {
	chain input { type filter hook input priority 10; policy accept; tcp dport 12345 drop; }
}
table bridge filter {
	chain forward { type filter hook forward priority 0; policy accept; }
}
NFT
other=$(nx nft list table inet other; nx nft list table bridge filter)
pol=(--tap uktap0 --ip 10.10.0.2 --mac 02:75:6b:00:00:02 --allow tcp/80,tcp/443,udp/53)
run nx "$UMLKIT" fw apply web "${pol[@]}" --egress udp/53,tcp/443
is "$rc|$err" "0|" "fw apply web"
run nx "$UMLKIT" fw show web
like "$out" "table bridge umlkit \{" "fw show web: the bridge table"
like "$out" "table inet umlkit \{" "fw show web: the inet table"
like "$out" 'ether saddr != 02:75:6b:00:00:02 counter packets 0 bytes 0 drop' "fw show: counters on the drop rules"
like "$out" 'ip daddr 10.10.0.2 tcp dport 443 update' "fw show: the allowed services"
run nx "$UMLKIT" fw flush --bogus
like "$rc|$err" "^2\|.*unknown option '--bogus' \(flush takes none\)" "fw flush --bogus: a usage error, not a guest's name"
run nx "$UMLKIT" fw show web
like "$out" "table inet umlkit \{" "... and the rules are still there"
# where a verb stands, "help" asks for the usage; where a guest's name stands, it is a name
for args in "fw help" "net help" "net tap help" "net bridge help"; do
	run "$UMLKIT" $args
	like "$rc|$out" "^0\|Usage:" "umlkit $args: the usage, exit 0"
done
run nx "$UMLKIT" fw show help
like "$rc|$err" "^1\|.*no firewall rules for guest help" "fw show help: a guest's name"
run nx "$UMLKIT" fw apply web "${pol[@]}" --egress none
is "$rc" 0 "fw apply web again (replaces)"
is "$(nx "$UMLKIT" fw show web | grep -c 'udp dport 53 update @g-web/flows { ip saddr')" 0 \
	"the old egress rules are gone after the replacement"
before=$(nx nft list ruleset)
for bad in "--allow tcp/0" "--allow tcp/65536" "--allow tcp/80,,udp/53" "--allow sctp/1" \
	"--allow tcp/90-80" "--egress tcp" "--egress all" "--ip 10.0.0.256" "--mac 01:00:00:00:00:01" \
	"--nat 10.10.0.0/33" "--tap ${RANDOM}toolongname12345"; do
	run nx "$UMLKIT" fw apply web "${pol[@]}" $bad
	like "$rc|$err" "^2\|umlkit: .+" "fw apply $bad: a usage error with a message"
done
run nx "$UMLKIT" fw apply web "${pol[@]}" --nat 10.20.0.0/24
like "$rc|$err" "^2\|.*outside the nat subnet" "fw apply --nat with the guest outside: refused"
run nx "$UMLKIT" fw apply web --tap uktap0
like "$rc|$err" "^2\|.*IPv4 address is needed" "fw apply without --ip: refused"
run nx capsh --drop=cap_net_admin -- -c "$UMLKIT fw apply web ${pol[*]}"
is "$rc" 1 "fw apply without CAP_NET_ADMIN: exit 1"
like "$err" "umlkit: firewall of web: nothing applied: .*needs CAP_NET_ADMIN" "... with a clear error"
is "$(nx nft list ruleset)" "$before" "no refused apply changed anything"
# an apply the kernel rejects halfway (an unknown interface group in the NAT rule would not
# do; use a guest name whose chains already exist in a form that cannot be replaced)
nx nft add chain inet umlkit g-bad/from
nx nft add rule inet umlkit g-bad/from counter
nx nft add chain inet umlkit g-bad/x
nx nft add rule inet umlkit g-bad/x jump g-bad/from
before=$(nx nft list ruleset)
run nx "$UMLKIT" fw apply bad --tap uktap0 --ip 10.10.0.9
like "$rc|$err" "^1\|umlkit: firewall of bad: nothing applied: nftables: " "an apply the kernel rejects: exit 1"
is "$(nx nft list ruleset)" "$before" "... and nothing of it was applied (atomic)"
nx nft delete chain inet umlkit g-bad/x
run nx "$UMLKIT" fw apply nat1 --tap uktap1 --ip 10.30.0.2 --nat 10.30.0.0/24
is "$rc" 0 "fw apply --nat"
like "$(nx "$UMLKIT" fw show nat1)" "ip saddr 10.30.0.0/24 ip daddr != 10.30.0.0/24 masquerade" \
	"NAT only for the guest network's subnet"
run nx "$UMLKIT" fw flush web
is "$rc" 0 "fw flush web"
run nx "$UMLKIT" fw show web
like "$rc|$err" "^1\|.*no firewall rules for guest web" "fw show web after the flush: none"
like "$(nx "$UMLKIT" fw show)" "g-nat1/fwd" "fw show: the other guest's rules stay"
run nx "$UMLKIT" fw flush
is "$rc" 0 "fw flush (all of umlkit's)"
unlike "$(nx nft list ruleset)" "umlkit" "umlkit's tables are gone"
is "$(nx nft list table inet other; nx nft list table bridge filter)" "$other" \
	"the other tables are untouched throughout"
run nx "$UMLKIT" fw bogus
is "$rc" 2 "fw with an unknown verb: usage error"

done_testing
