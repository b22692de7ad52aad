#!/bin/bash
# examples/web-bridged/run.sh: the article's setup in a network namespace of its own.
# A tap uml-conn0 (made as the old tunctl did), bridged with a "LAN" veth on bridge ukbr0;
# a guest on uml-conn0 serving HTTP with its firewall policy (port 80 in, DNS out only), its
# kernel running as an unprivileged user (the tap's owner; umlkit refuses to run a bridged
# guest as root); a client namespace fetches the page; then umlkit stops the guest and its
# rules go.
# Needs root (namespaces) and a built umlkit: UK_BUILD=$PWD/build examples/web-bridged/run.sh
set -euo pipefail
B=${UK_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
U=$B/umlkit
H=ukweb-host-$$ C=ukweb-lan-$$
GU=${UK_GUEST_USER:-4711} # the user (name or uid) the guest's kernel runs as
W=$(mktemp -d "${TMPDIR:-/tmp}/ukweb.XXXXXX")
chmod 0755 "$W" # the guest's user reads and writes its disk in there
export XDG_RUNTIME_DIR=$W/run
mkdir -p "$XDG_RUNTIME_DIR"
cleanup() {
	ip netns exec "$H" "$U" kill web >/dev/null 2>&1 || true
	ip netns del "$C" 2>/dev/null || true
	ip netns del "$H" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
ip netns add "$H"
ip netns add "$C"
h() { ip netns exec "$H" "$@"; }
# tun CMD...: Debian makes /dev/net/tun 0666; where it is 0600, CMD runs in a private mount
# namespace where the guest's user gets a 0666 node of the same device (the host's is kept)
tun() {
	if setpriv --reuid "$GU" --regid "$GU" --clear-groups \
		sh -c 'test -r /dev/net/tun && test -w /dev/net/tun'; then
		"$@"
		return
	fi
	mknod "$W/tun" c 10 200
	chmod 0666 "$W/tun"
	unshare -m --propagation private \
		sh -c 'mount --bind "$0" /dev/net/tun && exec "$@"' "$W/tun" "$@"
}
h ip link set lo up
h "$B/tunctl" -u "$GU" -t uml-conn0            # the article's tap, as tunctl made it
h "$U" net bridge add ukbr0
h "$U" net bridge attach ukbr0 uml-conn0
h ip link add ukvh type veth peer name ukvc     # the "LAN" (the article's eth0)
h ip link set ukvc netns "$C"
h "$U" net bridge attach ukbr0 ukvh
ip netns exec "$C" ip addr add 192.168.77.3/24 dev ukvc
ip netns exec "$C" ip link set ukvc up
"$U" image build --size 64M "$W/web.img" >/dev/null
tun ip netns exec "$H" "$U" start --name web --user "$GU" --mem 64M \
	--disk "$W/web.cow,$W/web.img" \
	--net tap:uml-conn0,ip=192.168.77.2 --allow tcp/80 --egress udp/53 \
	--append "umlkit.ip=vec0,192.168.77.2/24 umlkit.services=httpd umlkit.hostname=web" \
	--wait --timeout 90
echo "--- the guest's rules (host side, naming uml-conn0):"
h "$U" fw show web | grep -E 'chain|jump|dport|drop'
echo "--- the LAN fetches http://192.168.77.2/:"
ip netns exec "$C" curl -s -m 10 http://192.168.77.2/ | grep -o '<h1>.*</h1>'
h "$U" stop web --timeout 30
echo "--- after stop: $(h "$U" fw show web 2>&1)"
