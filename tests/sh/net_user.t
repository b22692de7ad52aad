#!/bin/bash
# net_user.t: `umlkit start --user`: a bridged guest whose kernel runs as an unprivileged
# user (uid 4711, no passwd entry), as does its supervisor; a helper of the supervisor's
# stays root for what needs it (the status file, and at the end the tap and the rules).
#
# Everything happens in a network namespace made here (NS, removed at exit): bridge ukbr0
# (10.20.0.1/24) and the tap umlkit makes for the guest (10.20.0.2). /dev/net/tun is 0600 on
# some hosts (Debian makes it 0666): umlkit runs in a private mount namespace where a 0666
# node of the same device is bind-mounted over /dev/net/tun; the host's node is never
# changed. Checked: the kernel's real and effective uid and gid are the user's and it has no
# groups, the supervisor is the user's and its helper root's, the tap and the COW belong to the user, the uml_dir lies
# outside root's state directory, mconsole, logs and status work, the namespace reaches the
# guest's web server over the bridge, stop removes the tap, the rules and the kernel
# directory, and no process is left. Bad input: --user as a user, root, 0, an unknown name, a
# tap of someone else, a backing the user cannot read, /dev/net/tun the user cannot open,
# root with a bridge and no --user: each a clear error, exit 1 or 2, nothing left behind.
#
# The user reads only what lies under $T: the disks, the tun nodes, the kernel directories
# and, when the build is out of its reach (a checkout in a 0700 home), the umlkit binary and
# xstate shim staged there (stage_for_others).
#
# Run: UK_BUILD=$PWD/build prove -v tests/sh/net_user.t
. "$(dirname "$0")/lib.sh"
test_need_guests
test_lazy_prereq UNSHARE 'command -v unshare'  # util-linux

GU=4711 # the guest's user and group: numbers without a passwd entry
NS=uku$$
export XDG_RUNTIME_DIR="$T/run"
mkdir -p "$XDG_RUNTIME_DIR"

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
ux() { nx "$T/tun600" "$UMLKIT" "$@"; }
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
# bad_input NAME REGEX COW CMD...: three points (needing $BI_PREREQ): exit 1 or 2, a message
# matching REGEX, and neither the COW nor a tap, a rule or a kernel directory left behind
BI_PREREQ=
bad_input() {
	bi_name=$1 bi_re=$2 bi_cow=$3
	shift 3
	bi_cmd=("$@")
	test_expect_success "$BI_PREREQ" "$bi_name: exit 1 or 2" '
		run "${bi_cmd[@]}" &&
		echo "exit $rc" &&
		test "$rc" -ge 1 && test "$rc" -le 2
	'
	test_expect_success "$BI_PREREQ" "$bi_name: a clear message" '
		test_like "$err" "$bi_re"
	'
	test_expect_success "$BI_PREREQ" "$bi_name: no COW, tap, rules or kernel directory left" '
		test_path_is_missing "$bi_cow" &&
		test_is "$(ls "$T/tmp")" "" &&
		! hx "$UMLKIT" net tap list | grep ukubad0 &&
		! hx nft list ruleset | grep g-bad
	'
}

# ---------------------------------------------------------------- the namespace
test_expect_success ROOT,IPROUTE 'setup: a network namespace' '
	ip netns add "$NS" &&
	hx ip link set lo up &&
	test_set_prereq NS
'
# the user must reach the disks (mktemp made $T 0700); the kernel directories and the
# kernel's memory file go to $T/tmp, like /tmp
test_expect_success NOBODY,UNSHARE "setup: what the guest's user reads lies under \$T" '
	stage_for_others &&
	chmod 0755 "$T" &&
	mkdir -m 1777 "$T/tmp" &&
	mknod "$T/tun" c 10 200 && chmod 0666 "$T/tun" &&
	mknod "$T/tun600" c 10 200 && chmod 0600 "$T/tun600" &&
	test_set_prereq GUSER
'
test_expect_success NS 'net bridge add ukbr0' '
	hx "$UMLKIT" net bridge add ukbr0 &&
	hx ip addr add 10.20.0.1/24 dev ukbr0 &&
	hx ip link set ukbr0 up &&
	test_set_prereq BRIDGE
'
# and a file only root may read, for a backing the user cannot read and a descriptor of
# root's
test_expect_success 'image build' '
	"$UMLKIT" image build --size 64M "$T/base.img" >/dev/null &&
	cp "$T/base.img" "$T/secret.img" &&
	chmod 0600 "$T/secret.img" &&
	test_set_prereq IMAGE
'

# ---------------------------------------------------------------- a guest as uid 4711
# (started with a descriptor of root's open, which the kernel must not inherit)
test_expect_success BRIDGE,GUSER,IMAGE,NFT "start --user $GU:$GU --net bridge:ukbr0,tap=ukutap0,ip=10.20.0.2" '
	run ux start --name web --user "$GU:$GU" --mem 64M --disk "$T/web.cow,$T/base.img" \
		--net bridge:ukbr0,tap=ukutap0,ip=10.20.0.2 --allow tcp/80,icmp \
		--append "umlkit.ip=vec0,10.20.0.2/24 umlkit.services=httpd" --wait --timeout 90 \
		7<"$T/secret.img" &&
	track web &&
	{
		test_is "$rc" 0 ||
			{ echo "$err"; tail -20 "$XDG_RUNTIME_DIR"/umlkit/guests/web/console.log; false; }
	} &&
	s=$("$UMLKIT" status web --output=json) &&
	kpid=$(json .pid "$s") &&
	spid=$(json .supervisor_pid "$s") &&
	test_like "$kpid" "^[0-9]+$" &&
	test_like "$spid" "^[0-9]+$" &&
	test_set_prereq WEB
'
test_expect_success WEB 'status --output=json: uid and gid' '
	test_is "$(json .uid "$s"):$(json .gid "$s")" "$GU:$GU"
'
test_expect_success WEB "status: the kernel's pid, uid and gid" '
	test_like "$("$UMLKIT" status web)" "^web: running \(kernel pid $kpid, uid $GU gid $GU\)"
'
test_expect_success WEB "the kernel's real, effective, saved and fs uid are the user's" '
	test_is "$(awk "/^Uid:/ {print \$2, \$3, \$4, \$5}" "/proc/$kpid/status" 2>/dev/null)" \
		"$GU $GU $GU $GU"
'
test_expect_success WEB '... and its gids' '
	test_is "$(awk "/^Gid:/ {print \$2, \$3, \$4, \$5}" "/proc/$kpid/status" 2>/dev/null)" \
		"$GU $GU $GU $GU"
'
test_expect_success WEB '... with no groups' '
	test_is "$(awk "/^Groups:/ {print \$2}" "/proc/$kpid/status" 2>/dev/null)" ""
'
test_expect_success WEB '... and no capabilities' '
	test_is "$(awk "/^CapEff:/ {print \$2}" "/proc/$kpid/status" 2>/dev/null)" "0000000000000000"
'
test_expect_success WEB "every process of the kernel's group runs as the user" '
	test_is "$(for p in $(pgrep -g "$kpid"); do
		awk "/^Uid:/ {print \$3}" "/proc/$p/status" 2>/dev/null
	done | sort -u)" "$GU"
'
test_expect_success WEB "the supervisor runs as the user: uids, gids, no groups" '
	test_is "$(awk "/^Uid:/ {print \$2, \$3, \$4, \$5}" "/proc/$spid/status")" \
		"$GU $GU $GU $GU" &&
	test_is "$(awk "/^Gid:/ {print \$2, \$3, \$4, \$5}" "/proc/$spid/status")" \
		"$GU $GU $GU $GU" &&
	test_is "$(awk "/^Groups:/ {print \$2}" "/proc/$spid/status")" ""
'
test_expect_success WEB '... with no capabilities, no_new_privs, under its filter' '
	test_is "$(awk "/^CapEff:/ {print \$2}" "/proc/$spid/status")" 0000000000000000 &&
	test_is "$(awk "/^CapPrm:/ {print \$2}" "/proc/$spid/status")" 0000000000000000 &&
	test_is "$(awk "/^NoNewPrivs:/ {print \$2}" "/proc/$spid/status")" 1 &&
	test_is "$(awk "/^Seccomp:/ {print \$2}" "/proc/$spid/status")" 2
'
test_expect_success WEB "its helper stays root, under the same filter" '
	hp=$(privsep_helper "$spid") &&
	test_is "$(echo "$hp" | wc -l)" 1 &&
	test_like "$hp" "^[0-9]+$" &&
	test_is "$(awk "/^Seccomp:/ {print \$2}" "/proc/$hp/status")" 2 &&
	test_set_prereq HELPER
'
test_expect_success HELPER "... and holds no console, socket file or pipe of the supervisor's" '
	test_is "$(ls -l "/proc/$hp/fd/" | grep -c -e console -e pipe: -e notify -e /agent)" 0
'
test_expect_success WEB "its jail has a tun node of its own: the user's, 0600, 10:200" '
	test_is "$(stat -c "%u:%g %a %t:%T" "/proc/$kpid/root/dev/net/tun" 2>/dev/null)" \
		"$GU:$GU 600 a:c8"
'
test_expect_success WEB "... on a tmpfs of the jail's, not the host's node" '
	test_is "$(findmnt -N "$kpid" -n -o FSTYPE /dev/net 2>/dev/null)" tmpfs
'
test_expect_success WEB "the kernel holds no descriptor of root's (an inherited one, the state directory's)" '
	test_is "$(ls -l "/proc/$kpid/fd/" 2>/dev/null | grep -c -e secret.img -e "$XDG_RUNTIME_DIR")" 0
'

test_expect_success WEB 'net tap list: the tap belongs to the user and group' '
	test_like "$(hx "$UMLKIT" net tap list)" "ukutap0 +tap +yes +$GU +$GU"
'
test_expect_success WEB '/sys/class/net/ukutap0/owner' '
	test_is "$(hx cat /sys/class/net/ukutap0/owner)" "$GU"
'
test_expect_success WEB 'the tap is a port of ukbr0' '
	test_like "$(hx ip -o link show ukutap0)" "master ukbr0"
'
test_expect_success WEB "its firewall policy is applied: the guest's chain names its tap" '
	r=$(hx nft list ruleset) &&
	test_like "$r" "g-web" &&
	test_like "$r" "ukutap0" &&
	test_like "$r" "tcp dport 80"
'
test_expect_success WEB 'the COW umlkit made belongs to the user' '
	test_is "$(stat -c %u:%g "$T/web.cow")" "$GU:$GU"
'

test_expect_success WEB 'the uml_dir is in a kernel directory under $TMPDIR' '
	mc=$(json .mconsole "$s") &&
	kdir=${mc%/uml/web/mconsole} &&
	test_like "$kdir" "^$T/tmp/umlkit\.[A-Za-z0-9]{6}$"
'
test_expect_success WEB "... which is root's, mode 0711" '
	test_is "$(stat -c %u:%a "$kdir" 2>/dev/null)" "0:711"
'
test_expect_success WEB "... its uml/ is the user's, 0700" '
	test_is "$(stat -c %u:%g:%a "$kdir/uml" 2>/dev/null)" "$GU:$GU:700"
'
test_expect_success WEB '... and so is the notify socket' '
	test_is "$(stat -c %u "$kdir/notify" 2>/dev/null)" "$GU"
'
test_expect_success WEB "the state directory's uml points to it" '
	test_is "$(readlink "$XDG_RUNTIME_DIR/umlkit/guests/web/uml")" "$kdir/uml"
'
test_expect_success WEB "umlkit mconsole finds the kernel's socket" '
	run hx "$UMLKIT" mconsole web version &&
	test_like "$rc|$out" "^0\|.*Linux"
'
test_expect_success WEB 'umlkit logs' '
	test_like "$(hx "$UMLKIT" logs web)" "umlkit: service httpd: started"
'

test_expect_success WEB,CURL "the namespace reaches the guest's port 80 over the bridge" '
	run hx curl -s -m 10 http://10.20.0.2/ &&
	test_is "$rc" 0
'
test_expect_success WEB,CURL '... and gets its page' '
	test_like "$out" "umlkit"
'
test_expect_success WEB,BUSYBOX 'the guest answers ping' '
	run hx busybox ping -c 1 -W 5 10.20.0.2 &&
	test_is "$rc" 0
'

# ---------------------------------------------------------------- stop
test_expect_success WEB 'stop' '
	run hx "$UMLKIT" stop web --timeout 30 &&
	test_is "$rc" 0
'
test_expect_success WEB 'the kernel is gone' '
	wait_gone "$kpid" 10
'
test_expect_success HELPER "... and so is its helper" '
	! kill -0 "$hp" 2>/dev/null
'
test_expect_success WEB 'the supervisor is gone' '
	wait_gone "$spid" 10
'
test_expect_success WEB 'the tap is gone' '
	test -z "$(hx ip -o link show ukutap0 2>/dev/null)"
'
test_expect_success WEB "the guest's rules are gone" '
	test_unlike "$(hx nft list ruleset)" "g-web"
'
test_expect_success WEB 'the kernel directory is gone' '
	test_path_is_missing "$kdir"
'
test_expect_success WEB '... and the symlink to it' '
	test_path_is_missing "$XDG_RUNTIME_DIR/umlkit/guests/web/uml"
'
test_expect_success WEB 'no process is left in the namespace' '
	test_is "$(ip netns pids "$NS" | wc -l)" 0
'
test_expect_success WEB 'status after stop: stopped' '
	test_when_finished "untrack_if_gone web" &&
	test_like "$("$UMLKIT" status web)" "^web: stopped"
'

# ---------------------------------------------------------------- a supervisor killed
test_expect_success BRIDGE,GUSER,IMAGE,NFT "--user $GU alone: the group is the same number" '
	run ux start --name lost --user "$GU" --mem 64M --disk "$T/lost.cow,$T/base.img" \
		--net bridge:ukbr0,tap=ukutap1 --wait --timeout 90 --ready mconsole &&
	track lost &&
	test_is "$rc" 0 &&
	s=$("$UMLKIT" status lost --output=json) &&
	mc=$(json .mconsole "$s") &&
	kdir=${mc%/uml/lost/mconsole} &&
	test_set_prereq LOSTG
'
test_expect_success LOSTG '... status: uid and gid' '
	test_is "$(json .uid "$s"):$(json .gid "$s")" "$GU:$GU"
'
test_expect_success LOSTG 'setup: SIGKILL its supervisor' '
	kill_supervisor lost &&
	test_set_prereq LOST
'
test_expect_success LOST 'stop after its supervisor was killed' '
	run hx "$UMLKIT" stop lost --timeout 30 &&
	test_is "$rc" 0
'
test_expect_success LOST '... removes the tap it left' '
	test -z "$(hx ip -o link show ukutap1 2>/dev/null)"
'
test_expect_success LOST '... and the kernel directory' '
	test_when_finished "untrack_if_gone lost" &&
	test -n "$kdir" && test_path_is_missing "$kdir"
'

# ---------------------------------------------------------------- bad input
B=(--mem 64M --net bridge:ukbr0,tap=ukubad0 --timeout 30)
BI_PREREQ=BRIDGE,GUSER,IMAGE,NFT
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

test_expect_success NS 'setup: a tap of uid 4712' '
	hx "$UMLKIT" net tap add ukubad9 --user 4712 >/dev/null &&
	test_set_prereq TAP9
'
BI_PREREQ=BRIDGE,GUSER,IMAGE,NFT,TAP9
bad_input "a tap of someone else" "tap ukubad9 is owned by uid 4712, not by the user the guest runs as \(uid $GU\)" \
	"$T/bad3.cow" ux start --name bad --user "$GU" --disk "$T/bad3.cow,$T/base.img" \
	--mem 64M --net tap:ukubad9
test_expect_success TAP9 '... which is left as it was' '
	test_when_finished "hx \"\$UMLKIT\" net tap del ukubad9 --force >/dev/null" &&
	test_like "$(hx "$UMLKIT" net tap list)" "ukubad9 +tap +yes +4712"
'

BI_PREREQ=BRIDGE,GUSER,IMAGE,NFT
bad_input "a backing the user cannot read" \
	"backing image $T/secret.img: the guest's user $GU \(uid $GU, gid $GU\) cannot read it" \
	"$T/bad4.cow" ux start --name bad --user "$GU" --disk "$T/bad4.cow,$T/secret.img" "${B[@]}"
bad_input "/dev/net/tun the user cannot open" \
	"/dev/net/tun \(mode 0600, owner uid 0\): the guest's user $GU .*cannot open it" \
	"$T/bad5.cow" nx "$T/tun600" "$UMLKIT" start --name bad --user "$GU" --no-jail \
	--disk "$T/bad5.cow,$T/base.img" "${B[@]}"
test_expect_success NS "no guest 'bad' was ever made" '
	run hx "$UMLKIT" status bad &&
	test_is "$rc" 1
'

# ---------------------------------------------------------------- run --dry-run
test_expect_success ROOT,IMAGE 'run --dry-run --user' '
	run "$UMLKIT" run --dry-run --name d --user "$GU" --disk "$T/d.cow,$T/base.img" \
		--net bridge:ukbr0 &&
	test_is "$rc" 0
'
test_expect_success ROOT,IMAGE '... says whom the kernel runs as' '
	test_like "$err" "the kernel runs as uid $GU gid $GU"
'
test_expect_success ROOT,IMAGE '... and made nothing' '
	test_path_is_missing "$T/d.cow"
'

test_done
