#!/bin/bash
# net.t: taps, bridges, the tunctl personality and the firewall commands, inside a network
# namespace made here (no guest). Our tunctl beside the old one (uml-utilities): output and
# exit status; bad input (names too long or odd, a tap owned by someone else, port lists that
# do not parse, no CAP_NET_ADMIN): each a clear error, nothing half made or half applied;
# fw apply/show/flush touch nothing but umlkit's tables.
#
# What runs as nobody runs the binary staged under $T (stage_for_others).
#
# Run: UK_BUILD=$PWD/build prove -v tests/sh/net.t
. "$(dirname "$0")/lib.sh"
[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT"
[ -L "$UK_BUILD/tunctl" ] || test_skip_all "the tunctl link is not built: $UK_BUILD/tunctl"
TUNCTL=$UK_BUILD/tunctl
OLD_TUNCTL=$(command -v /usr/sbin/tunctl /usr/bin/tunctl | head -n 1)
test_lazy_prereq OLD_TUNCTL '[ -n "$OLD_TUNCTL" ]' # uml-utilities
test_lazy_prereq CAPSH 'command -v capsh'           # libcap2-bin

N=ukn$$
trap 'ip netns del "$N" 2>/dev/null; _uk_cleanup' EXIT
nx() { ip netns exec "$N" "$@"; }
links() { nx ip -o link show | sed 's/^[0-9]*: //; s/[:@].*//' | sort | tr '\n' ' '; }

test_expect_success ROOT,IPROUTE 'setup: a network namespace' '
	ip netns add "$N" &&
	test_set_prereq NETNS
'
test_expect_success NETNS,NOBODY 'setup: a umlkit and tunctl nobody can run' '
	stage_for_others &&
	TUNCTL=$(dirname "$UMLKIT")/tunctl &&
	test -L "$TUNCTL" &&
	test_set_prereq STAGED
'

# ---------------------------------------------------------------- tunctl, old and new
# cmp_tunctl WHAT ARGS-WITH-@ : one point: @ is replaced by each tool's name; exit status,
# stdout and stderr of ours are the old tool's
cmp_tunctl() {
	cmp_old=() cmp_new=()
	local x
	for x in "${@:2}"; do cmp_old+=("${x//@/uktold}"); cmp_new+=("${x//@/uktnew}"); done
	test_expect_success NETNS,OLD_TUNCTL "tunctl $1: as the old tool (exit, stdout, stderr)" '
		run nx "$OLD_TUNCTL" "${cmp_old[@]}" &&
		o="$rc|${out//uktold/X}|${err//$OLD_TUNCTL/TUNCTL}" &&
		run nx "$TUNCTL" "${cmp_new[@]}" &&
		test_is "$rc|${out//uktnew/X}|${err//$TUNCTL/TUNCTL}" "$o"
	'
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
test_expect_success NETNS,OLD_TUNCTL 'each tap the old tool made, ours made alike (type, persistence, owner, group)' '
	test_is "$(nx "$UMLKIT" net tap list | awk "NR>1 {print \$1, \$2, \$3, \$4, \$5}" |
		sed "s/^ukt\(old\|new\)/X/" | sort | uniq -c | awk "{print \$1}" | sort -u)" "2"
'
test_expect_success NETNS,OLD_TUNCTL,STAGED "tunctl as nobody: the old tool's message and exit status" '
	run nx setpriv --reuid=nobody --inh-caps=-all "$TUNCTL" -t uktnew8 &&
	o="$rc|$out|$err" &&
	run nx setpriv --reuid=nobody --inh-caps=-all "$OLD_TUNCTL" -t uktold8 &&
	test_is "$o" "$rc|$out|$err"
'
test_expect_success NETNS 'tunctl -d removed every tap' '
	for t in $(nx "$UMLKIT" net tap list | awk "NR>1 {print \$1}"); do
		nx "$TUNCTL" -d "$t" >/dev/null
	done
	test_is "$(links)" "lo "
'

# ---------------------------------------------------------------- umlkit net tap
test_expect_success NETNS 'net tap add uktap0' '
	run nx "$UMLKIT" net tap add uktap0 &&
	test_is "$rc|$out|$err" "0||" &&
	test_set_prereq TAP0
'
test_expect_success TAP0 'net tap list --output=json names it' '
	run nx "$UMLKIT" net tap list --output=json &&
	test_is "$(json ".[] | select(.name == \"uktap0\") | .name")" uktap0
'
test_expect_success TAP0 '... owned by the caller' '
	test_is "$(json ".[] | select(.name == \"uktap0\") | .owner")" 0
'
test_expect_success NETNS 'a name of 16 characters: exit 1' '
	run nx "$UMLKIT" net tap add uktap0123456789x &&
	test_is "$rc" 1
'
test_expect_success NETNS '... saying why' '
	test_like "$err" "is 16 characters long; interface names have at most 15"
'
test_expect_success NETNS "a name with ';': exit 1" '
	run nx "$UMLKIT" net tap add "uk;rm" &&
	test_is "$rc" 1
'
test_expect_success NETNS '... saying why' '
	test_like "$err" "character 0x3b is not allowed"
'
test_expect_success NETNS 'a name with a blank: refused' '
	run nx "$UMLKIT" net tap add "uk tap" &&
	test_like "$rc|$err" "^1\|.*character 0x20 is not allowed"
'
test_expect_success NETNS "a name starting with '.': refused" '
	run nx "$UMLKIT" net tap add ../x &&
	test_like "$rc|$err" "^1\|.*may not start with '"'"'.'"'"'"
'
test_expect_success NETNS 'net tap add of a tap owned by someone else: exit 1' '
	nx "$TUNCTL" -u nobody -t ukother >/dev/null &&
	run nx "$UMLKIT" net tap add ukother &&
	test_is "$rc" 1 &&
	test_set_prereq OTHER_TAP
'
test_expect_success OTHER_TAP '... naming the owner' '
	test_like "$err" "tap ukother is owned by uid 65534, not by you \(uid 0\)"
'
test_expect_success OTHER_TAP '... and the tap is still theirs' '
	test_like "$(nx "$UMLKIT" net tap list)" "ukother +tap +yes +65534 "
'
test_expect_success OTHER_TAP "net tap del of someone else's tap: refused" '
	run nx "$UMLKIT" net tap del ukother &&
	test_like "$rc|$err" "^1\|.*owned by uid 65534"
'
test_expect_success OTHER_TAP '... unless --force' '
	run nx "$UMLKIT" net tap del ukother --force &&
	test_is "$rc" 0
'
test_expect_success NETNS 'net tap del of a missing tap: a clear error' '
	run nx "$UMLKIT" net tap del uknone &&
	test_like "$rc|$err" "^1\|.*uknone: no such interface"
'
test_expect_success NETNS 'net tap del lo: not a tap, refused' '
	run nx "$UMLKIT" net tap del lo &&
	test_like "$rc|$err" "^1\|.*lo: not a tun/tap device"
'
# each verb takes only its own options: a usage error that names the option, no tap made
test_expect_success NETNS 'net tap add --force: exit 2' '
	run nx "$UMLKIT" net tap add uktapy --force &&
	test_like "$rc|$err" "^2\|.*option '"'"'--force'"'"' does not apply to '"'"'net tap add'"'"'"
'
test_expect_success NETNS 'net tap del --user: exit 2' '
	run nx "$UMLKIT" net tap del uktap0 --user root &&
	test_like "$rc|$err" "^2\|.*option '"'"'--user'"'"' does not apply to '"'"'net tap del'"'"'"
'
test_expect_success NETNS 'net tap list --group: exit 2' '
	run nx "$UMLKIT" net tap list --group root &&
	test_like "$rc|$err" "^2\|.*option '"'"'--group'"'"' does not apply to '"'"'net tap list'"'"'"
'
test_expect_success NETNS,STAGED 'net tap add as nobody: needs CAP_NET_ADMIN' '
	run nx setpriv --reuid=nobody --inh-caps=-all "$UMLKIT" net tap add uktapx &&
	test_like "$rc|$err" "^1\|.*Permission denied \(taps need CAP_NET_ADMIN\)"
'
test_expect_success NETNS,CAPSH 'net tap add without CAP_NET_ADMIN (capsh --drop)' '
	run nx capsh --drop=cap_net_admin -- -c "$UMLKIT net tap add uktapx" &&
	test_like "$rc|$err" "^1\|.*Operation not permitted \(taps need CAP_NET_ADMIN\)"
'
test_expect_success TAP0 'no tap was left by a refused command' '
	test_is "$(links)" "lo uktap0 "
'

# ---------------------------------------------------------------- bridges
test_expect_success NETNS 'net bridge add ukbr0' '
	run nx "$UMLKIT" net bridge add ukbr0 &&
	test_is "$rc" 0 &&
	test_set_prereq BRIDGE
'
test_expect_success BRIDGE 'adding it again: a clear error' '
	run nx "$UMLKIT" net bridge add ukbr0 &&
	test_like "$rc|$err" "^1\|umlkit: bridge ukbr0: File exists"
'
test_expect_success BRIDGE,TAP0 'net bridge attach ukbr0 uktap0' '
	run nx "$UMLKIT" net bridge attach ukbr0 uktap0 &&
	test_is "$rc" 0
'
test_expect_success BRIDGE,TAP0 'the tap is a port of ukbr0, up' '
	test_like "$(nx ip -o link show uktap0)" "master ukbr0 .*UP|UP.*master ukbr0"
'
test_expect_success TAP0 'net bridge del of a tap: refused' '
	run nx "$UMLKIT" net bridge del uktap0 &&
	test_like "$rc|$err" "^1\|.*uktap0 is not a bridge"
'
test_expect_success NETNS "a bridge name with '/': refused" '
	run nx "$UMLKIT" net bridge add "ukbr/0" &&
	test_like "$rc|$err" "^1\|.*character 0x2f"
'
test_expect_success NETNS,CAPSH 'net bridge add without CAP_NET_ADMIN' '
	run nx capsh --drop=cap_net_admin -- -c "$UMLKIT net bridge add ukbr9" &&
	test_like "$rc|$err" "^1\|.*Operation not permitted \(needs CAP_NET_ADMIN\)"
'

# ---------------------------------------------------------------- the firewall
test_expect_success NETNS,NFT "setup: tables that are not umlkit's" '
	nx nft -f - <<-\NFT &&
	table inet other {
		chain input { type filter hook input priority 10; policy accept; tcp dport 12345 drop; }
	}
	table bridge filter {
		chain forward { type filter hook forward priority 0; policy accept; }
	}
	NFT
	other=$(nx nft list table inet other; nx nft list table bridge filter) &&
	test_set_prereq FW
'
pol=(--tap uktap0 --ip 10.10.0.2 --mac 02:75:6b:00:00:02 --allow tcp/80,tcp/443,udp/53)
test_expect_success FW 'fw apply web' '
	run nx "$UMLKIT" fw apply web "${pol[@]}" --egress udp/53,tcp/443 &&
	test_is "$rc|$err" "0|" &&
	test_set_prereq FWWEB
'
test_expect_success FWWEB 'fw show web: the bridge table' '
	run nx "$UMLKIT" fw show web &&
	test_like "$out" "table bridge umlkit \{"
'
test_expect_success FWWEB 'fw show web: the inet table' '
	test_like "$out" "table inet umlkit \{"
'
test_expect_success FWWEB 'fw show: counters on the drop rules' '
	test_like "$out" "ether saddr != 02:75:6b:00:00:02 counter packets 0 bytes 0 drop"
'
test_expect_success FWWEB 'fw show: the allowed services' '
	test_like "$out" "ip daddr 10.10.0.2 tcp dport 443 update"
'
test_expect_success FW "fw flush --bogus: a usage error, not a guest's name" '
	run nx "$UMLKIT" fw flush --bogus &&
	test_like "$rc|$err" "^2\|.*unknown option '"'"'--bogus'"'"' \(flush takes none\)"
'
test_expect_success FWWEB '... and the rules are still there' '
	run nx "$UMLKIT" fw show web &&
	test_like "$out" "table inet umlkit \{"
'
# where a verb stands, "help" asks for the usage; where a guest's name stands, it is a name
for help_args in "fw help" "net help" "net tap help" "net bridge help"; do
	test_expect_success "umlkit $help_args: the usage, exit 0" '
		run "$UMLKIT" $help_args &&
		test_like "$rc|$out" "^0\|Usage:"
	'
done
test_expect_success FW "fw show help: a guest's name" '
	run nx "$UMLKIT" fw show help &&
	test_like "$rc|$err" "^1\|.*no firewall rules for guest help"
'
test_expect_success FWWEB 'fw apply web again (replaces)' '
	run nx "$UMLKIT" fw apply web "${pol[@]}" --egress none &&
	test_is "$rc" 0
'
test_expect_success FWWEB 'the old egress rules are gone after the replacement' '
	test_is "$(nx "$UMLKIT" fw show web | grep -c "udp dport 53 update @g-web/flows { ip saddr")" 0
'
test_expect_success FW 'setup: the ruleset before the refused applies' '
	before=$(nx nft list ruleset) &&
	test_set_prereq BEFORE
'
for bad_opt in "--allow tcp/0" "--allow tcp/65536" "--allow tcp/80,,udp/53" "--allow sctp/1" \
	"--allow tcp/90-80" "--egress tcp" "--egress all" "--ip 10.0.0.256" "--mac 01:00:00:00:00:01" \
	"--nat 10.10.0.0/33" "--tap ${RANDOM}toolongname12345"; do
	test_expect_success FW "fw apply $bad_opt: a usage error with a message" '
		run nx "$UMLKIT" fw apply web "${pol[@]}" $bad_opt &&
		test_like "$rc|$err" "^2\|umlkit: .+"
	'
done
test_expect_success FW 'fw apply --nat with the guest outside: refused' '
	run nx "$UMLKIT" fw apply web "${pol[@]}" --nat 10.20.0.0/24 &&
	test_like "$rc|$err" "^2\|.*outside the nat subnet"
'
test_expect_success FW 'fw apply without --ip: refused' '
	run nx "$UMLKIT" fw apply web --tap uktap0 &&
	test_like "$rc|$err" "^2\|.*IPv4 address is needed"
'
test_expect_success FW,CAPSH 'fw apply without CAP_NET_ADMIN: exit 1' '
	run nx capsh --drop=cap_net_admin -- -c "$UMLKIT fw apply web ${pol[*]}" &&
	test_is "$rc" 1
'
test_expect_success FW,CAPSH '... with a clear error' '
	test_like "$err" "umlkit: firewall of web: nothing applied: .*needs CAP_NET_ADMIN"
'
test_expect_success BEFORE 'no refused apply changed anything' '
	test_is "$(nx nft list ruleset)" "$before"
'
# an apply the kernel rejects halfway (an unknown interface group in the NAT rule would not
# do; use a guest name whose chains already exist in a form that cannot be replaced)
test_expect_success FWWEB 'setup: chains of a guest bad that cannot be replaced' '
	nx nft add chain inet umlkit g-bad/from &&
	nx nft add rule inet umlkit g-bad/from counter &&
	nx nft add chain inet umlkit g-bad/x &&
	nx nft add rule inet umlkit g-bad/x jump g-bad/from &&
	before=$(nx nft list ruleset) &&
	test_set_prereq BADCHAINS
'
test_expect_success BADCHAINS 'an apply the kernel rejects: exit 1' '
	run nx "$UMLKIT" fw apply bad --tap uktap0 --ip 10.10.0.9 &&
	test_like "$rc|$err" "^1\|umlkit: firewall of bad: nothing applied: nftables: "
'
test_expect_success BADCHAINS '... and nothing of it was applied (atomic)' '
	test_when_finished "nx nft delete chain inet umlkit g-bad/x" &&
	test_is "$(nx nft list ruleset)" "$before"
'
test_expect_success FW 'fw apply --nat' '
	run nx "$UMLKIT" fw apply nat1 --tap uktap1 --ip 10.30.0.2 --nat 10.30.0.0/24 &&
	test_is "$rc" 0 &&
	test_set_prereq NAT1
'
test_expect_success NAT1 "NAT only for the guest network's subnet" '
	test_like "$(nx "$UMLKIT" fw show nat1)" "ip saddr 10.30.0.0/24 ip daddr != 10.30.0.0/24 masquerade"
'
test_expect_success FWWEB 'fw flush web' '
	run nx "$UMLKIT" fw flush web &&
	test_is "$rc" 0
'
test_expect_success FWWEB 'fw show web after the flush: none' '
	run nx "$UMLKIT" fw show web &&
	test_like "$rc|$err" "^1\|.*no firewall rules for guest web"
'
test_expect_success NAT1 "fw show: the other guest's rules stay" '
	test_like "$(nx "$UMLKIT" fw show)" "g-nat1/fwd"
'
test_expect_success FW "fw flush (all of umlkit's)" '
	run nx "$UMLKIT" fw flush &&
	test_is "$rc" 0
'
test_expect_success FW "umlkit's tables are gone" '
	test_unlike "$(nx nft list ruleset)" "umlkit"
'
test_expect_success FW 'the other tables are untouched throughout' '
	test_is "$(nx nft list table inet other; nx nft list table bridge filter)" "$other"
'
test_expect_success NETNS 'fw with an unknown verb: usage error' '
	run nx "$UMLKIT" fw bogus &&
	test_is "$rc" 2
'

test_done
