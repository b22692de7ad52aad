#!/bin/bash
# net_user.t: `umlkit start --user`: a bridged guest whose kernel runs as an unprivileged
# user (uid 4711, no passwd entry) while its supervisor stays root.
#
# Everything happens in a network namespace made here (NS, removed at exit): bridge ukbr0
# (10.20.0.1/24) and the tap umlkit makes for the guest (10.20.0.2). /dev/net/tun is 0600 on
# some hosts (Debian makes it 0666): umlkit runs in a private mount namespace where a 0666
# node of the same device is bind-mounted over /dev/net/tun; the host's node is never
# changed. Checked: the kernel's real and effective uid and gid are the user's and it has no
# groups, the supervisor is root, the tap and the COW belong to the user, the uml_dir lies
# outside root's state directory, mconsole, logs and status work, the namespace reaches the
# guest's web server over the bridge, stop removes the tap, the rules and the kernel
# directory, and no process is left. Bad input: --user as a user, root, 0, an unknown name, a
# tap of someone else, a backing the user cannot read, /dev/net/tun the user cannot open,
# root with a bridge and no --user: each a clear error, exit 1 or 2, nothing left behind.
#
# Run: UK_BUILD=$PWD/build prove -v tests/sh/net_user.t
. "$(dirname "$0")/lib.sh"
[ -x "$UMLKIT" ] || skip_all "umlkit not built: $UMLKIT"
[ -n "$UML" ] && [ -x "$UML" ] || skip_all "no UML kernel (linux.uml)"
[ "$(id -u)" = 0 ] || skip_all "needs root (--user, network namespaces)"
need_cmd ip "iproute2 not installed"
need_cmd nft "nftables not installed"
need_cmd curl "curl not installed"
need_cmd unshare "util-linux unshare not installed"
need_cmd setpriv "util-linux setpriv not installed"
command -v busybox >/dev/null || skip_all "busybox-static not installed"
case "$T" in *,* | *:*) skip_all "temp dir $T holds ',' or ':'" ;; esac

GU=4711 # the guest's user and group: numbers without a passwd entry
NS=uku$$
ip netns add "$NS" || skip_all "cannot make a network namespace"
export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"
# the user must reach the disks (mktemp made $T 0700); the kernel directories and the
# kernel's memory file go to $T/tmp, like /tmp
chmod 0755 "$T"
mkdir -m 1777 "$T/tmp"
mknod "$T/tun" c 10 200 && chmod 0666 "$T/tun" || skip_all "cannot make a tun node"
mknod "$T/tun600" c 10 200 && chmod 0600 "$T/tun600"

hx() { ip netns exec "$NS" "$@"; }
# nx TUN CMD...: CMD in the namespace, with TUN bind-mounted over /dev/net/tun in a private
# mount namespace, and TMPDIR=$T/tmp
nx() {
	local tun=$1
	shift
	ip netns exec "$NS" unshare -m --propagation private \
		sh -c 'mount --bind "$0" /dev/net/tun && t=$1 && shift && exec env TMPDIR="$t" "$@"' \
		"$tun" "$T/tmp" "$@"
}
ux() { nx "$T/tun" "$UMLKIT" "$@"; }
cleanup_ns() {
	local n p
	for n in web lost; do hx "$UMLKIT" kill "$n" >/dev/null 2>&1; done
	for p in $(ip netns pids "$NS" 2>/dev/null); do
		case " ${UK_PIDS[*]} " in *" $p "*) kill -KILL "$p" 2>/dev/null ;; esac
	done
	ip netns del "$NS" 2>/dev/null
	_uk_cleanup
}
trap cleanup_ns EXIT
json_field() { # json_field JSON KEY: a number field of `status --output=json`
	printf '%s' "$1" | sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p"
}
# bad_input NAME REGEX COW CMD...: exit 1 or 2, a message matching REGEX, and neither the COW
# nor a tap, a rule or a kernel directory left behind
bad_input() {
	local name=$1 re=$2 cow=$3
	shift 3
	run "$@"
	ok "$([ "$rc" -ge 1 ] && [ "$rc" -le 2 ]; echo $?)" "$name: exit 1 or 2 (got $rc)"
	like "$err" "$re" "$name: a clear message"
	ok "$([ ! -e "$cow" ] && [ -z "$(ls "$T/tmp")" ] &&
		! hx "$UMLKIT" net tap list | grep -q ukubad0 &&
		! hx nft list ruleset | grep -q g-bad; echo $?)" \
		"$name: no COW, tap, rules or kernel directory left"
}

# ---------------------------------------------------------------- the namespace
hx ip link set lo up
hx "$UMLKIT" net bridge add ukbr0
ok $? "net bridge add ukbr0"
hx ip addr add 10.20.0.1/24 dev ukbr0
hx ip link set ukbr0 up
"$UMLKIT" image build --size 64M "$T/base.img" >/dev/null
ok $? "image build"

# a file only root may read, for a backing the user cannot read and a descriptor of root's
cp "$T/base.img" "$T/secret.img"
chmod 0600 "$T/secret.img"

# ---------------------------------------------------------------- a guest as uid 4711
# (started with a descriptor of root's open, which the kernel must not inherit)
run ux start --name web --user "$GU:$GU" --mem 64M --disk "$T/web.cow,$T/base.img" \
	--net bridge:ukbr0,tap=ukutap0,ip=10.20.0.2 --allow tcp/80,icmp \
	--append "umlkit.ip=vec0,10.20.0.2/24 umlkit.services=httpd" --wait --timeout 90 \
	7<"$T/secret.img"
is "$rc" 0 "start --user $GU:$GU --net bridge:ukbr0,tap=ukutap0,ip=10.20.0.2"
[ "$rc" = 0 ] || diag "$err" "$(tail -20 "$XDG_RUNTIME_DIR"/umlkit/guests/web/console.log 2>/dev/null)"
track web
s=$("$UMLKIT" status web --output=json)
kpid=$(json_field "$s" pid)
spid=$(json_field "$s" supervisor_pid)
is "$(json_field "$s" uid):$(json_field "$s" gid)" "$GU:$GU" "status --output=json: uid and gid"
like "$("$UMLKIT" status web)" "^web: running \(kernel pid $kpid, uid $GU gid $GU\)" \
	"status: the kernel's pid, uid and gid"
is "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$kpid/status" 2>/dev/null)" \
	"$GU $GU $GU $GU" "the kernel's real, effective, saved and fs uid are the user's"
is "$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$kpid/status" 2>/dev/null)" \
	"$GU $GU $GU $GU" "... and its gids"
is "$(awk '/^Groups:/ {print $2}' "/proc/$kpid/status" 2>/dev/null)" "" "... with no groups"
is "$(awk '/^CapEff:/ {print $2}' "/proc/$kpid/status" 2>/dev/null)" "0000000000000000" \
	"... and no capabilities"
is "$(for p in $(pgrep -g "$kpid"); do awk '/^Uid:/ {print $3}' "/proc/$p/status" 2>/dev/null; done |
	sort -u)" "$GU" "every process of the kernel's group runs as the user"
is "$(awk '/^Uid:/ {print $2}' "/proc/$spid/status" 2>/dev/null)" 0 "the supervisor stays root"
is "$(ls -l "/proc/$kpid/fd/" 2>/dev/null | grep -c -e secret.img -e "$XDG_RUNTIME_DIR")" 0 \
	"the kernel holds no descriptor of root's (an inherited one, the state directory's)"

like "$(hx "$UMLKIT" net tap list)" "ukutap0 +tap +yes +$GU +$GU" \
	"net tap list: the tap belongs to the user and group"
is "$(hx cat /sys/class/net/ukutap0/owner)" "$GU" "/sys/class/net/ukutap0/owner"
like "$(hx ip -o link show ukutap0)" "master ukbr0" "the tap is a port of ukbr0"
is "$(stat -c %u:%g "$T/web.cow")" "$GU:$GU" "the COW umlkit made belongs to the user"

mc=$(printf '%s' "$s" | sed -n 's/.*"mconsole": "\([^"]*\)".*/\1/p')
kdir=${mc%/uml/web/mconsole}
like "$kdir" "^$T/tmp/umlkit\.[A-Za-z0-9]{6}$" "the uml_dir is in a kernel directory under \$TMPDIR"
is "$(stat -c %u:%a "$kdir" 2>/dev/null)" "0:711" "... which is root's, mode 0711"
is "$(stat -c %u:%g:%a "$kdir/uml" 2>/dev/null)" "$GU:$GU:700" "... its uml/ is the user's, 0700"
is "$(stat -c %u "$kdir/notify" 2>/dev/null)" "$GU" "... and so is the notify socket"
is "$(readlink "$XDG_RUNTIME_DIR/umlkit/guests/web/uml")" "$kdir/uml" \
	"the state directory's uml points to it"
run hx "$UMLKIT" mconsole web version
like "$rc|$out" "^0\|.*Linux" "umlkit mconsole finds the kernel's socket"
like "$(hx "$UMLKIT" logs web)" "umlkit: service httpd: started" "umlkit logs"

run hx curl -s -m 10 http://10.20.0.2/
is "$rc" 0 "the namespace reaches the guest's port 80 over the bridge"
like "$out" "umlkit" "... and gets its page"
run hx busybox ping -c 1 -W 5 10.20.0.2
is "$rc" 0 "the guest answers ping"

# ---------------------------------------------------------------- stop
run hx "$UMLKIT" stop web --timeout 30
is "$rc" 0 "stop"
check "the kernel is gone" -- wait_gone "$kpid" 10
check "the supervisor is gone" -- wait_gone "$spid" 10
check "the tap is gone" -- test -z "$(hx ip -o link show ukutap0 2>/dev/null)"
unlike "$(hx nft list ruleset)" "g-web" "the guest's rules are gone"
check "the kernel directory is gone" -- test ! -e "$kdir"
check "... and the symlink to it" -- test ! -L "$XDG_RUNTIME_DIR/umlkit/guests/web/uml"
is "$(ip netns pids "$NS" | wc -l)" 0 "no process is left in the namespace"
like "$("$UMLKIT" status web)" "^web: stopped" "status after stop: stopped"

# ---------------------------------------------------------------- a supervisor killed
run ux start --name lost --user "$GU" --mem 64M --disk "$T/lost.cow,$T/base.img" \
	--net bridge:ukbr0,tap=ukutap1 --wait --timeout 90 --ready mconsole
is "$rc" 0 "--user $GU alone: the group is the same number"
track lost
s=$("$UMLKIT" status lost --output=json)
kdir=$(printf '%s' "$s" | sed -n 's/.*"mconsole": "\([^"]*\)\/uml\/lost\/mconsole".*/\1/p')
is "$(json_field "$s" uid):$(json_field "$s" gid)" "$GU:$GU" "... status: uid and gid"
kill -KILL "$(json_field "$s" supervisor_pid)"
for _ in $(seq 50); do "$UMLKIT" status lost | grep -q lost && break; sleep 0.1; done
run hx "$UMLKIT" stop lost --timeout 30
is "$rc" 0 "stop after its supervisor was killed"
check "... removes the tap it left" -- test -z "$(hx ip -o link show ukutap1 2>/dev/null)"
check "... and the kernel directory" -- test -n "$kdir" -a ! -e "$kdir"
[ -n "$(json_field "$s" pid)" ] && kill -KILL -- "-$(json_field "$s" pid)" 2>/dev/null

# ---------------------------------------------------------------- bad input
B=(--mem 64M --net bridge:ukbr0,tap=ukubad0 --timeout 30)
bad_input "--user as a user" "only root can run a guest as another user" "$T/bad1.cow" \
	nx "$T/tun" setpriv --reuid "$GU" --regid "$GU" --clear-groups \
	env XDG_RUNTIME_DIR="$T/urun" "$UMLKIT" start --name bad --user "$GU" \
	--disk "$T/bad1.cow,$T/base.img" "${B[@]}"
bad_input "--user root" "--user root: a guest never runs as root" "$T/bad2.cow" \
	ux start --name bad --user root --disk "$T/bad2.cow,$T/base.img" "${B[@]}"
bad_input "--user 0" "--user 0:$GU: a guest never runs as root" "$T/bad2.cow" \
	ux start --name bad --user 0:$GU --disk "$T/bad2.cow,$T/base.img" "${B[@]}"
bad_input "--user of an unknown name" "no such user 'uk-no-such-user'" "$T/bad2.cow" \
	ux start --name bad --user uk-no-such-user --disk "$T/bad2.cow,$T/base.img" "${B[@]}"
bad_input "root with a bridge and no --user" "give --user USER\[:GROUP\].*never runs as root" \
	"$T/bad2.cow" ux start --name bad --disk "$T/bad2.cow,$T/base.img" "${B[@]}"

hx "$UMLKIT" net tap add ukubad9 --user 4712 >/dev/null
bad_input "a tap of someone else" "tap ukubad9 is owned by uid 4712, not by the user the guest runs as \(uid $GU\)" \
	"$T/bad3.cow" ux start --name bad --user "$GU" --disk "$T/bad3.cow,$T/base.img" \
	--mem 64M --net tap:ukubad9
like "$(hx "$UMLKIT" net tap list)" "ukubad9 +tap +yes +4712" "... which is left as it was"
hx "$UMLKIT" net tap del ukubad9 --force >/dev/null

bad_input "a backing the user cannot read" \
	"backing image $T/secret.img: the guest's user $GU \(uid $GU, gid $GU\) cannot read it" \
	"$T/bad4.cow" ux start --name bad --user "$GU" --disk "$T/bad4.cow,$T/secret.img" "${B[@]}"
bad_input "/dev/net/tun the user cannot open" \
	"/dev/net/tun \(mode 0600, owner uid 0\): the guest's user $GU .*cannot open it" \
	"$T/bad5.cow" nx "$T/tun600" "$UMLKIT" start --name bad --user "$GU" \
	--disk "$T/bad5.cow,$T/base.img" "${B[@]}"
run hx "$UMLKIT" status bad
is "$rc" 1 "no guest 'bad' was ever made"

# ---------------------------------------------------------------- run --dry-run
run "$UMLKIT" run --dry-run --name d --user "$GU" --disk "$T/d.cow,$T/base.img" \
	--net bridge:ukbr0
is "$rc" 0 "run --dry-run --user"
like "$err" "the kernel runs as uid $GU gid $GU" "... says whom the kernel runs as"
check "... and made nothing" -- test ! -e "$T/d.cow"

done_testing
