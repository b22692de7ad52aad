#!/bin/bash
# walkthrough.t: docs/walkthrough.md, run as written. Each ```sh block of the walk-through
# whose first line is `# walk: NAME` is taken from the document itself (never copied here) and
# run by bash -e after the doc's `vars` block, with WORK and PORT set by the test; then the
# test checks what the step should have done:
#
#  1. Every tagged block is one this test runs (a new step in the doc needs its assertions).
#  2. build: a Debian image with bind9 and dig (cached between runs in $UMLKIT_TEST_CACHE,
#     default /var/tmp/umlkit-test-cache, like image_debian.t).
#  3. start: a NAT switch and guest ns1 on a COW, ready, with its udp and tcp forwards.
#  4. zone: the zone file is in the guest, named.conf.local declares it, BIND reloads.
#  5. query: dig on the host gets the zone's answer through the forward, over UDP and TCP.
#  6. apt: apt-get in the guest reaches Debian's mirror and its security archive through the
#     NAT (a failure says so: no mirror is a failure, never a skip), bind9 is at the archive's
#     newest version and the named running is the upgraded one (the image keeps no
#     policy-rc.d), hello is installed, and the zone answers again after named's restart.
#  7. merge: a clean stop; `cow merge` and `uml_moo` give the same image, which holds the
#     zone, the upgraded bind9 and hello, while the base image holds none of them.
#  8. second: ns2 boots from the merged image; the zone answers; the same versions installed.
#  9. cleanup: both guests stopped and forgotten, the switch gone.
#
# Run: UK_BUILD=$PWD/build tests/sh/walkthrough.t [-v]
. "$(dirname "$0")/lib.sh"

[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT"
case "$T" in *,* | *:*) test_skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;; esac
PATH=$PATH:/usr/sbin:/sbin
DOC=$(cd "$(dirname "$0")/../.." && pwd)/docs/walkthrough.md
test_lazy_prereq MIRROR '[ "$(id -u)" = 0 ] && command -v mmdebstrap'
test_lazy_prereq DIG 'command -v dig'

export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
CACHE=${UMLKIT_TEST_CACHE:-/var/tmp/umlkit-test-cache}
mkdir -p "$CACHE"
export UMLKIT_CACHE_DIR=$CACHE
# the doc's variables: its directory and its host port
export WORK=$T/walk
free_udp_port() { # a port free for both TCP and UDP on 127.0.0.1
	local p
	while :; do
		free_port p
		ss -Hlun "sport = :$p" 2>/dev/null | grep -q . || break
	done
	PORT=$p
}
. "$(dirname "$0")/switch-lib.sh"
free_udp_port
export PORT

# block NAME: the body of the doc's ```sh block tagged `# walk: NAME`
block() {
	awk -v tag="# walk: $1" '
		/^```sh$/ { inb = 1; first = 1; next }
		/^```$/ { inb = 0; on = 0; next }
		inb && first { first = 0; if ($0 == tag) { on = 1; n++ } ; next }
		on { print }
		END { if (n != 1) exit 1 }' "$DOC"
}
# tags: every block tag in the doc, in order
tags() { sed -n '/^```sh$/{n;s/^# walk: //p}' "$DOC"; }
# walk NAME: run the doc's vars block and then block NAME with bash -e; $rc, $out, $err
walk() {
	local body
	body=$(block "$1") || {
		echo "docs/walkthrough.md: no single block tagged '# walk: $1'" >&2
		return 1
	}
	run timeout "${2:-600}" bash -e -u -o pipefail -c "$(block vars)
$body"
	printf '%s\n' "--- walk $1: exit $rc" "$out" "--- stderr" "$err"
}
# e2cat IMAGE PATH: a file of an unmounted image
e2cat() { debugfs -R "cat $2" "$1" 2>/dev/null; }
e2ls() { debugfs -R "ls -p $2" "$1" 2>/dev/null; }
# version_in IMAGE PKG: the version of PKG installed in IMAGE (dpkg's status), empty if none
version_in() {
	e2cat "$1" /var/lib/dpkg/status |
		awk -v p="$2" '/^Package: / { on = ($2 == p) } on && /^Version: / { print $2 }'
}
stop_all() {
	local g
	for g in ns1 ns2; do "$UMLKIT" stop "$g" --timeout 30 >/dev/null 2>&1; done
	"$UMLKIT" switch stop dns >/dev/null 2>&1
	_uk_cleanup
}
trap stop_all EXIT

STEPS="vars build start zone query apt merge second cleanup"

test_expect_success 'the doc: every tagged block is a step this test runs, once' '
	test_is "$(tags | tr "\n" " ")" "$STEPS " &&
	for s in $STEPS; do block "$s" >/dev/null || return 1; done &&
	test_like "$(cat "$(dirname "$DOC")/../README.md")" "docs/walkthrough\.md"
'

test_expect_success MIRROR,DEBUGFS 'build: a Debian image with bind9 and dig' '
	walk build &&
	test_is "$rc" 0 &&
	test_path_is_file "$WORK/bind.img" &&
	test_like "$(e2cat "$WORK/bind.img" /var/lib/dpkg/status | grep "^Package: ")" \
		"^Package: bind9$" &&
	test_like "$(e2cat "$WORK/bind.img" /var/lib/dpkg/status | grep "^Package: ")" \
		"^Package: bind9-dnsutils$" &&
	test_unlike "$(e2cat "$WORK/bind.img" /var/lib/dpkg/status | grep "^Package: ")" \
		"^Package: hello$" &&
	test_is "$(ls -A "$CACHE/images" | grep -c "^\.")" 0 &&
	test_unlike "$(e2ls "$WORK/bind.img" /usr/sbin)" "/policy-rc\.d/|/start-stop-daemon\.REAL/" &&
	BASE_BIND=$(version_in "$WORK/bind.img" bind9) &&
	test_like "$BASE_BIND" "^1:9\." &&
	test_set_prereq IMG
'

test_expect_success IMG,UML 'start: a NAT switch, ns1 ready, its lease and two forwards' '
	walk start 300 &&
	track ns1 &&
	test_is "$rc" 0 &&
	test_like "$out" "^ns1: running" &&
	test_path_is_file "$WORK/ns1.cow" &&
	test_like "$out" "forward udp:127\.0\.0\.1:$PORT:53 -> 10\.0\.2\.[0-9]+:53$" &&
	test_like "$out" "forward tcp:127\.0\.0\.1:$PORT:53 -> 10\.0\.2\.[0-9]+:53$" &&
	test_set_prereq NS1
'

test_expect_success NS1 'zone: the zone file and its declaration in the guest, BIND reloaded' '
	walk zone 120 &&
	test_is "$rc" 0 &&
	test_like "$out" "zone example\.test/IN: loaded serial 1" &&
	test_like "$out" "server reload successful" &&
	test_is "$("$UMLKIT" exec ns1 -- cat /etc/bind/db.example.test)" \
		"$(cat "$WORK/db.example.test")" &&
	test_like "$("$UMLKIT" exec ns1 -- cat /etc/bind/named.conf.local)" \
		"^zone \"example\.test\" \{ type master; file \"/etc/bind/db\.example\.test\"; \};$" &&
	test_set_prereq ZONE
'

# the zone answers on 127.0.0.1:PORT (named loads it just after `rndc reload` returns)
answers() { [ "$(dig @127.0.0.1 -p "$PORT" +short +time=2 +tries=1 www.example.test)" = 192.0.2.80 ]; }

test_expect_success ZONE,DIG 'query: the host asks through the forward, over UDP and TCP' '
	until_true 30 answers &&
	walk query 60 &&
	test_is "$rc" 0 &&
	test_is "$out" "192.0.2.80
192.0.2.80" &&
	test_is "$(dig @127.0.0.1 -p "$PORT" +short nosuch.example.test)" "" &&
	test_like "$(dig @127.0.0.1 -p "$PORT" nosuch.example.test)" "status: NXDOMAIN"
'

test_expect_success NS1 'apt: the mirror and its security archive through the NAT' '
	walk apt 600 &&
	if [ "$rc" != 0 ]; then
		echo "FAIL: apt-get in ns1 (exit $rc): Debian'"'"'s mirror not reached through the NAT switch?" >&2
		printf "%s\n" "$out$err" | grep -E "^(E|W|Err):" >&2
	fi &&
	test_is "$rc" 0 &&
	test_unlike "$out$err" "^(W|E|Err):" &&
	test_like "$out" "debian-security [a-z]+-security" &&
	BIND_V=$(printf "%s\n" "$out" | sed -n "s/^bind9\t//p") &&
	HELLO_V=$(printf "%s\n" "$out" | sed -n "s/^hello\t//p") &&
	test_like "$BIND_V" "^1:9\." && test_like "$HELLO_V" "^2\." &&
	policy=$("$UMLKIT" exec ns1 -- apt-cache policy bind9) &&
	test_is "$(printf "%s\n" "$policy" | sed -n "s/^ *Installed: //p")" "$BIND_V" &&
	test_is "$(printf "%s\n" "$policy" | sed -n "s/^ *Candidate: //p")" "$BIND_V" &&
	test_unlike "$out$err" "policy-rc\.d returned" &&
	# the upgrade restarted named: the one running is the new binary, not a deleted one
	test_is "$("$UMLKIT" exec ns1 -- sh -c "readlink /proc/\$(pidof named)/exe")" /usr/sbin/named &&
	until_true 60 answers &&
	test_set_prereq APT
'

test_expect_success NS1 'merge: a clean stop; cow merge and uml_moo write the same image' '
	walk merge 300 &&
	test_is "$rc" 0 &&
	test_unlike "$("$UMLKIT" status ns1)" "running" &&
	test_like "$("$UMLKIT" logs ns1 | tr -d "\r")" "systemd-shutdown\[1\]: Powering off" &&
	test_is "$(sum_of "$WORK/bind-2.img")" "$(sum_of "$WORK/bind-2-moo.img")" &&
	test_is "$(stat -c %s "$WORK/bind-2.img")" "$(stat -c %s "$WORK/bind.img")" &&
	test_set_prereq MERGED
'

test_expect_success MERGED,ZONE,APT,DEBUGFS 'the merged image holds the zone and the apt changes; the base none' '
	test_is "$(e2cat "$WORK/bind-2.img" /etc/bind/db.example.test)" "$(cat "$WORK/db.example.test")" &&
	test_like "$(e2cat "$WORK/bind-2.img" /etc/bind/named.conf.local)" "zone \"example\.test\"" &&
	test_is "$(version_in "$WORK/bind-2.img" hello)" "$HELLO_V" &&
	test_is "$(version_in "$WORK/bind-2.img" bind9)" "$BIND_V" &&
	test_unlike "$(e2cat "$WORK/bind.img" /etc/bind/named.conf.local)" "example\.test" &&
	test_is "$(version_in "$WORK/bind.img" hello)" "" &&
	test_is "$(version_in "$WORK/bind.img" bind9)" "$BASE_BIND"
'

test_expect_success MERGED,ZONE,APT,DIG 'second: ns2 from the merged image: the zone answers, the apt versions' '
	walk second 300 &&
	track ns2 &&
	test_is "$rc" 0 &&
	test_is "$(printf "%s\n" "$out" | tail -n 3)" "192.0.2.80
bind9	$BIND_V
hello	$HELLO_V" &&
	test_like "$("$UMLKIT" status ns2)" "forward udp:127\.0\.0\.1:$PORT:53 -> " &&
	test_set_prereq NS2
'

test_expect_success NS2 'cleanup: the guests stopped and forgotten, the switch gone, disks kept' '
	walk cleanup 120 &&
	test_is "$rc" 0 &&
	test_must_fail "$UMLKIT" status ns1 &&
	test_must_fail "$UMLKIT" status ns2 &&
	test_unlike "$("$UMLKIT" switch list)" "^dns " &&
	test_path_is_file "$WORK/ns1.cow" &&
	test_path_is_file "$WORK/ns2.cow" &&
	test_path_is_file "$WORK/bind-2.img"
'

test_done
