#!/bin/bash
# A guest's addresses with real guests: `umlkit status` and `list --output=json` show each
# link's MAC and IPv4 address (a DHCP lease the NAT switch saw, a static umlkit.ip=); `switch
# nat` lists the leases with the guest each belongs to; a forward that names no address
# (--net switch:lan,forward=tcp:PORT:80) reaches the guest's httpd from 127.0.0.1 once its
# address is known, holds its host port until then, and is gone when the guest stops or is
# killed; bad forwards are refused before the guest starts, leaving no port behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/switch-lib.sh"
test_need_guests

# gstatus NAME FILTER: jq FILTER on `status NAME --output=json`
gstatus() { "$UMLKIT" status "$1" --output=json | jq -r "$2"; }
# boot NAME NET APPEND [SCRIPT]: start a guest on the test image, ready when its rcS is done
# (its script, if any, on ubdb first); tracked; 0 when `start --wait` said it is ready
boot() {
	local d=()
	if [ -n "${4:-}" ]; then
		printf '%s\n' "$4" >"$T/$1.sh" && truncate -s 4096 "$T/$1.sh" &&
			d=(--disk "ubdb=$T/$1.sh")
	fi
	run "$UMLKIT" start --name "$1" --mem 64M --disk "$T/$1.cow,$T/base.img" "${d[@]}" \
		--net "$2" --append "$3" --wait --timeout 60
	track "$1"
	[ "$rc" = 0 ] || { echo "umlkit start $1: exit $rc: $err" >&2 && return 1; }
}
lease_of() { # lease_of SWITCH MAC: the object of the lease of MAC in `switch nat`
	"$UMLKIT" switch nat "$1" --output=json | jq -c --arg m "$2" '.leases[] | select(.mac == $m)'
}
has_lease() { [ -n "$(lease_of "$1" "$2")" ]; }
refused() { ! fetch 127.0.0.1 "$1" / >/dev/null 2>&1; }
no_guest_forward() { # no_guest_forward SWITCH GUEST: `switch nat` lists no forward of GUEST
	! "$UMLKIT" switch nat "$1" --output=json |
		jq -e --arg g "$2" '.guest_forwards[] | select(.guest == $g)' >/dev/null
}

test_expect_success BUSYBOX 'setup: the guest image (umlkit image build)' '
	"$UMLKIT" image build --size 64M "$T/base.img" >/dev/null &&
	test_set_prereq IMAGE
'
test_expect_success 'setup: a NAT switch and a plain one' '
	sw_start lan --nat && test_is "$rc" 0 &&
	sw_start plain && test_is "$rc" 0 &&
	test_set_prereq SWITCHES
'

# ---------------------------------------------------------------- DHCP and a forward by name
free_port F1
G1_SCRIPT='#!/bin/sh
echo "g1 link: $(cat /sys/class/net/vec0/address)"'
test_expect_success SWITCHES,IMAGE 'a DHCP guest with forward=tcp:PORT:80 starts' '
	boot g1 "switch:lan,forward=tcp:$F1:80" \
		"umlkit.hostname=g1 umlkit.ip=vec0,dhcp umlkit.services=httpd" "$G1_SCRIPT" &&
	mac1=$(logs g1 | sed -n "s/^g1 link: //p") &&
	test_like "$mac1" "^([0-9a-f]{2}:){5}[0-9a-f]{2}$" &&
	until_true 20 has_lease lan "$mac1" &&
	test_set_prereq G1
'
test_expect_success G1 'status: vec0 on switch lan, the MAC the guest has, its DHCP lease' '
	port1=$(gstatus g1 ".nets[0].port") &&
	run "$UMLKIT" status g1 &&
	test_like "$out" "^  vec0: switch lan port $port1, mac $mac1, ipv4 10\.0\.2\.15/24 \(dhcp\)$"
'
test_expect_success G1 "... and its forward, from 127.0.0.1:$F1 to the lease's port 80" '
	test_like "$out" "^    forward tcp:127\.0\.0\.1:$F1:80 -> 10\.0\.2\.15:80$"
'
test_expect_success G1 'status --output=json: the same, field by field' '
	run "$UMLKIT" status g1 --output=json &&
	test_is "$(json ".nets | length")" 1 &&
	test_is "$(json ".nets[0] | [.name, .kind, .link, .mac, .ipv4, .prefix, .source, .dhcp] | join(\" \")")" \
		"vec0 switch lan $mac1 10.0.2.15 24 dhcp true" &&
	test_is "$(json ".nets[0].macs | index([\"$mac1\"])")" 0 &&
	test_is "$(json ".nets[0].forwards[0] | [.spec, .state, .guest_addr, .guest_port] | join(\" \")")" \
		"tcp:127.0.0.1:$F1:80 added 10.0.2.15 80"
'
test_expect_success G1 'list --output=json: the same address and MAC in its row' '
	run "$UMLKIT" list --output=json &&
	test_is "$(json ".[] | select(.name == \"g1\") | .nets[0] | .mac + \" \" + .ipv4")" \
		"$mac1 10.0.2.15"
'
test_expect_success G1 'switch nat: the lease, with its port and its guest' '
	run "$UMLKIT" switch nat lan &&
	test_like "$out" "^leases +1$" &&
	test_like "$out" "^  $mac1 +10\.0\.2\.15 +$port1  g1 \(vec0\)$"
'
test_expect_success G1 'switch nat --output=json: the same' '
	run "$UMLKIT" switch nat lan --output=json &&
	test_is "$(json ".leases[] | [.mac, .ipv4, .port, .guest, .net] | join(\" \")")" \
		"$mac1 10.0.2.15 $port1 g1 0" &&
	test_is "$(json ".guest_forwards[0] | [.guest, .state, .guest_addr] | join(\" \")")" \
		"g1 added 10.0.2.15"
'
test_expect_success G1 "the host reaches g1's httpd through 127.0.0.1:$F1" '
	page=$(fetch 127.0.0.1 "$F1" /) &&
	test_like "$page" "umlkit guest g1 is serving this page"
'
test_expect_success G1 'switch forward list: the forward, to the lease, as the guest'"'"'s' '
	run "$UMLKIT" switch forward lan list --output=json &&
	test_is "$(json ".[] | [.spec, .guest] | join(\" \")")" \
		"tcp:127.0.0.1:$F1:10.0.2.15:80 g1"
'
test_expect_success G1 'switch forward del refuses a guest'"'"'s forward, naming the guest' '
	run "$UMLKIT" switch forward lan del "tcp:$F1" &&
	test_is "$rc" 1 &&
	test_like "$err" "forward .tcp:$F1.: it belongs to guest .g1. \(port $port1" &&
	fetch 127.0.0.1 "$F1" / >/dev/null
'

# ---------------------------------------------------------------- a static address
free_port F2
test_expect_success SWITCHES,IMAGE 'a guest with a static umlkit.ip= and a forward starts' '
	boot g2 "switch:lan,forward=tcp:$F2:80" \
		"umlkit.hostname=g2 umlkit.ip=vec0,10.0.2.50/24,10.0.2.2 umlkit.services=httpd" &&
	test_set_prereq G2
'
test_expect_success G2 'status: the static address, said to be static' '
	run "$UMLKIT" status g2 &&
	test_like "$out" "^  vec0: switch lan port [0-9]+, mac 02:75:6b:[0-9a-f:]{8}, ipv4 10\.0\.2\.50/24 \(static\)$" &&
	test_like "$out" "^    forward tcp:127\.0\.0\.1:$F2:80 -> 10\.0\.2\.50:80$"
'
test_expect_success G2 "the host reaches g2's httpd through 127.0.0.1:$F2" '
	page=$(fetch 127.0.0.1 "$F2" /) &&
	test_like "$page" "umlkit guest g2 is serving this page"
'
test_expect_success G2 'switch nat: no lease for the static guest' '
	test_is "$("$UMLKIT" switch nat lan --output=json | jq "[.leases[] | select(.guest == \"g2\")] | length")" 0
'
test_expect_success SWITCHES,IMAGE 'a guest on a switch without NAT: its MAC and static address' '
	boot p1 switch:plain "umlkit.ip=vec0,10.9.0.5/16" &&
	run "$UMLKIT" status p1 --output=json &&
	test_is "$(json ".nets[0] | [.link, .ipv4, .prefix, .source] | join(\" \")")" \
		"plain 10.9.0.5 16 static" &&
	test_like "$(json .nets[0].mac)" "^02:75:6b:" &&
	test_is "$("$UMLKIT" stop p1 && echo stopped)" stopped &&
	untrack_if_gone p1
'

# ---------------------------------------------------------------- waiting for an address
free_port F3
test_expect_success SWITCHES,IMAGE 'a guest with a forward and no address starts' '
	boot g3 "switch:lan,forward=tcp:$F3:80" "umlkit.hostname=g3" &&
	test_set_prereq G3
'
test_expect_success G3 'status: its forward waits for the guest'"'"'s address' '
	run "$UMLKIT" status g3 &&
	test_like "$out" "^  vec0: switch lan port [0-9]+, mac 02:75:6b:[0-9a-f:]{8}, ipv4 -$" &&
	test_like "$out" "^    forward tcp:127\.0\.0\.1:$F3:80 \(waiting for the guest.s address\)$"
'
test_expect_success G3 '... its host port is held: a connection is refused' '
	refused "$F3"
'
test_expect_success G3 '... and no one else may forward it' '
	run "$UMLKIT" switch forward lan add "tcp:$F3:10.0.2.99:80" &&
	test_is "$rc" 1 &&
	test_like "$err" "that host port belongs to guest .g3. \(port [0-9]+\), waiting for its address"
'
test_expect_success G3 '... nor another guest' '
	before=$(nports lan) &&
	run "$UMLKIT" start --name g4 --mem 64M --disk "$T/g4.cow,$T/base.img" \
		--net "switch:lan,forward=tcp:$F3:80" --wait --timeout 60 &&
	track g4 &&
	test_is "$rc" 1 &&
	test_like "$err" "guest .g4.: forward .tcp:$F3:80.: tcp:127\.0\.0\.1:$F3 is forwarded already \(to another guest\)" &&
	test_is "$(nports lan)" "$before"
'
test_expect_success G3 'g3 killed: its port, its forward and its hold on the host port go' '
	run "$UMLKIT" kill g3 &&
	test_is "$rc" 0 &&
	untrack_if_gone g3 &&
	until_true 10 no_guest_forward lan g3 &&
	run "$UMLKIT" switch forward lan add "tcp:$F3:10.0.2.99:80" &&
	test_is "$rc" 0 &&
	run "$UMLKIT" switch forward lan del "tcp:$F3" &&
	test_is "$rc" 0
'

# ---------------------------------------------------------------- the guest stops
test_expect_success G1 'g1 stops' '
	run "$UMLKIT" stop g1 &&
	test_is "$rc" 0 &&
	untrack_if_gone g1
'
test_expect_success G1 '... its forward is gone from the switch' '
	run "$UMLKIT" switch forward lan list &&
	test_unlike "$out" ":$F1:"
'
test_expect_success G1 "... and 127.0.0.1:$F1 refuses connections" '
	refused "$F1"
'
test_expect_success G1 '... and so is its lease' '
	! has_lease lan "$mac1"
'
test_expect_success G1 '... status: stopped, its link without the lease' '
	run "$UMLKIT" status g1 &&
	test_like "$out" "^g1: stopped" &&
	test_like "$out" "^  vec0: switch lan, mac $mac1, ipv4 - \(dhcp\)$"
'
test_expect_success G2 'g2 stops: its forward goes too' '
	run "$UMLKIT" stop g2 &&
	untrack_if_gone g2 &&
	refused "$F2" &&
	test_unlike "$("$UMLKIT" switch forward lan list)" ":$F2:"
'

# ---------------------------------------------------------------- bad input
# refused_start NAME NET APPEND REGEX: `start` exits 1 saying REGEX; no COW made, no port left
# on the switch
refused_start() {
	local sw=${2#switch:} before
	sw=${sw%%,*}
	before=$(nports "$sw")
	run "$UMLKIT" start --name "$1" --mem 64M --disk "$T/$1.cow,$T/base.img" --net "$2" \
		--append "$3" --wait --timeout 60
	track "$1"
	test_is "$rc" 1 && test_like "$err" "$4" && test_path_is_missing "$T/$1.cow" &&
		test_is "$(nports "$sw")" "$before"
}
test_expect_success SWITCHES,IMAGE 'refused: a forward on a switch without NAT' '
	refused_start b1 "switch:plain,forward=tcp:18080:80" "" \
		"switch .plain.: guest .b1.: a forward needs a switch with NAT \(umlkit switch start plain --nat\)"
'
free_port HP
test_expect_success SWITCHES,IMAGE 'refused: a host port another program listens on' '
	{ busybox httpd -f -p "127.0.0.1:$HP" -h "$T" >/dev/null 2>&1 & } &&
	UK_PIDS+=($!) &&
	until_true 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HP" 2>/dev/null &&
	refused_start b2 "switch:lan,forward=tcp:$HP:80" "" \
		"guest .b2.: forward .tcp:$HP:80.: cannot listen on tcp 127\.0\.0\.1:$HP: Address already in use"
'
free_port F5
test_expect_success SWITCHES,IMAGE 'refused: a host port the switch forwards already' '
	"$UMLKIT" switch forward lan add "tcp:$F5:10.0.2.77:80" >/dev/null &&
	refused_start b3 "switch:lan,forward=tcp:$F5:80" "" \
		"tcp:127\.0\.0\.1:$F5 is forwarded already" &&
	"$UMLKIT" switch forward lan del "tcp:$F5" >/dev/null
'
test_expect_success SWITCHES,IMAGE 'refused: the same host port twice on one link' '
	refused_start b4 "switch:lan,forward=tcp:$F5:80,forward=tcp:$F5:22" "" \
		"forward .tcp:$F5:22.: tcp:127\.0\.0\.1:$F5 is forwarded already"
'
test_expect_success SWITCHES,IMAGE 'refused: a static address outside the NAT network' '
	refused_start b5 "switch:lan,forward=tcp:$F5:80" "umlkit.ip=vec0,10.0.3.5/24" \
		"guest .b5.: guest address 10\.0\.3\.5 is outside the NAT network 10\.0\.2\.0/24"
'
# bad_spec SPEC REGEX: a usage error (exit 2) naming the --net and the forward
bad_spec() {
	run "$UMLKIT" start --name bad --disk "$T/bad.cow,$T/base.img" --net "switch:lan,forward=$1"
	test_is "$rc" 2 && test_like "$err" "--net switch:lan,forward=$2" &&
		test_path_is_missing "$T/bad.cow"
}
test_expect_success 'refused: a forward without the guest port' '
	bad_spec tcp:8080 "tcp:8080: forward .tcp:8080.: expected tcp\|udp:\[HOSTADDR:\]HOSTPORT:GUESTPORT"
'
test_expect_success 'refused: a forward naming a guest address' '
	bad_spec tcp:8080:10.0.2.15:80 ".*: a guest.s forward takes no guest address"
'
test_expect_success 'refused: a forward with a bad port or protocol' '
	bad_spec tcp:8080:99999 ".*: guest port .99999. is not a number from 1 to 65535" &&
	bad_spec sctp:8080:80 ".*: protocol .sctp. is not tcp or udp"
'
test_done
