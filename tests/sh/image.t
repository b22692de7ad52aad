#!/bin/bash
# image.t: `umlkit image build` and the default guest image, against the real UML kernel.
#
#  1. The build makes an ext4 image labelled umlkit (as the current user, and as nobody when
#     run as root), every file owned by root, the staging directory removed afterwards.
#  2. It refuses an existing OUT without -f (OUT untouched), replaces it with -f, and leaves
#     nothing when it fails: a bad or too small size, a missing output directory, a
#     directory it cannot write, a failing mke2fs, a busybox that is missing or not static.
#  3. A guest boots on a COW over the image with umlkit.hostname=, umlkit.ip= (vec0 over an
#     fd transport), umlkit.dns=, umlkit.route= and umlkit.services=httpd; a script on
#     /dev/ubdb prints what the guest sees and fetches http://127.0.0.1/ with busybox wget.
#     The test receives the `umlkit-ready` notification (tests/helpers/notify-wait), sees
#     `umlkit: ready` on the console, then `halt` over mconsole gives exit status 0.
#  4. A second boot: `cad` over mconsole runs /sbin/poweroff through init (rcK runs), exit 0.
#
# Run: UK_BUILD=$PWD/build prove -v tests/sh/image.t
. "$(dirname "$0")/lib.sh"

[ -x "$UMLKIT" ] || skip_all "umlkit not built: $UMLKIT"
[ -n "$UML" ] && [ -x "$UML" ] || skip_all "no UML kernel (linux.uml)"
NOTIFY_WAIT=$UK_BUILD/tests/helpers/notify-wait
[ -x "$NOTIFY_WAIT" ] || skip_all "test helpers not built: $NOTIFY_WAIT (make test-build)"
UML_MCONSOLE=/usr/bin/uml_mconsole
[ -x "$UML_MCONSOLE" ] || skip_all "uml_mconsole (uml-utilities) not installed"
[ -x /bin/busybox ] || command -v busybox >/dev/null || skip_all "busybox-static not installed"
PATH=$PATH:/usr/sbin:/sbin
need_cmd debugfs "debugfs (e2fsprogs) not installed"
case "$T" in *,* | *:*) skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;; esac

# ----------------------------------------------------------------------------- helpers
# UML's helper processes die with it on SIGTERM; SIGKILL alone would orphan them.
_cleanup_guests() {
	local p
	for p in "${UK_PIDS[@]}"; do
		pid_alive "$p" || continue
		kill -TERM "$p" 2>/dev/null
		wait_gone "$p" 20 || kill -KILL "$p" 2>/dev/null
	done
	_uk_cleanup
}
trap _cleanup_guests EXIT

# ls_dir DIR : its entries, one line, sorted
ls_dir() { ls -A "$1" 2>/dev/null | sort | tr '\n' ' '; }
# e2_stat IMAGE PATH : debugfs stat output
e2_stat() { debugfs -R "stat $2" "$1" 2>/dev/null; }

mkdir -p "$T/tmp"
export TMPDIR=$T/tmp # the build stages its tree here: it must be empty after each build

# ------------------------------------------------------------------------- the build
img=$T/g.img
run "$UMLKIT" image build --size 64M "$img"
is "$rc" 0 "build: exit 0"
is "$err" "" "build: nothing on stderr"
is "$(stat -c %s "$img" 2>/dev/null)" $((64 << 20)) "build: the image has the size asked"
like "$(debugfs -R stats "$img" 2>/dev/null)" "Filesystem volume name: +umlkit" \
	"build: an ext filesystem labelled umlkit"
like "$(debugfs -R stats "$img" 2>/dev/null)" "extent" "build: ext4 features (extents)"
like "$(e2_stat "$img" /etc/init.d/rcS)" "User: +0 +Group: +0 " "build: files are owned by root"
like "$(debugfs -R 'stat /sbin/init' "$img" 2>/dev/null)" 'Fast link dest: "/bin/busybox"' \
	"build: /sbin/init is busybox"
is "$(debugfs -R 'cat /bin/busybox' "$img" 2>/dev/null | sum_of /dev/stdin)" \
	"$(sum_of "$(readlink -f /bin/busybox)")" "build: /bin/busybox is the host's busybox"
like "$(debugfs -R 'cat /etc/inittab' "$img" 2>/dev/null)" "::sysinit:/etc/init.d/rcS" \
	"build: inittab runs rcS"
is "$(ls_dir "$T/tmp")" "" "build: the staging directory is removed"
is "$(ls_dir "$T")" ".stderr g.img tmp " "build: no temporary file beside the image"

# an existing OUT: refused without -f, untouched; replaced with -f
sum=$(sum_of "$img")
run "$UMLKIT" image build --size 32M "$img"
is "$rc" 1 "existing OUT without -f: exit 1"
like "$err" "g.img: already exists \(use -f" "existing OUT without -f: says so"
is "$(sum_of "$img")" "$sum" "existing OUT without -f: untouched"
run "$UMLKIT" image build -f --size 32M "$img.2"
run "$UMLKIT" image build -f --size 32M "$img"
is "$rc" 0 "-f: exit 0"
is "$(stat -c %s "$img")" $((32 << 20)) "-f: the image was replaced"
rm -f "$img.2"

# failures leave nothing
fails_clean() { # fails_clean NAME WANT_RC ERR_REGEX OUT CMD... : fails, says why, leaves nothing
	local name=$1 want=$2 re=$3 o=$4
	shift 4
	local before
	before=$(ls_dir "$(dirname "$o")")
	run "$@"
	is "$rc" "$want" "$name: exit $want"
	like "$err" "$re" "$name: the message says why"
	ok "$( [ ! -e "$o" ]; echo $?)" "$name: no $o"
	is "$(ls_dir "$(dirname "$o")")" "$before" "$name: nothing left beside it"
	is "$(ls_dir "$STAGE_DIR")" "" "$name: no staging directory left"
}
STAGE_DIR=$T/tmp
fails_clean "size 1M" 2 "too small.*16M" "$T/small.img" "$UMLKIT" image build --size 1M "$T/small.img"
fails_clean "size 12X" 2 "bad size '12X'" "$T/bad.img" "$UMLKIT" image build --size 12X "$T/bad.img"
fails_clean "missing output directory" 1 "nodir/x.img.*No such file or directory" \
	"$T/nodir/x.img" "$UMLKIT" image build --size 32M "$T/nodir/x.img"
fails_clean "mke2fs fails" 1 "mke2fs failed \(exit 1\)|false failed \(exit 1\)" "$T/f.img" \
	"$UMLKIT" image build --size 32M --mke2fs /bin/false "$T/f.img"
fails_clean "mke2fs missing" 1 "mke2fs '$T/none' not found" "$T/m.img" \
	"$UMLKIT" image build --size 32M --mke2fs "$T/none" "$T/m.img"
fails_clean "busybox missing" 1 "busybox '$T/none' not found" "$T/b.img" \
	"$UMLKIT" image build --size 32M --busybox "$T/none" "$T/b.img"
fails_clean "dynamic busybox" 1 "not a static x86-64 busybox.*busybox-static" "$T/d.img" \
	"$UMLKIT" image build --size 32M --busybox "$(readlink -f /bin/true)" "$T/d.img"
ok "$( [ ! -e "$T/nodir" ]; echo $?)" "missing output directory: not created"

# without root: as nobody, into a directory nobody may write, and one it may not
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 &&
	setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$UMLKIT"; then
	chmod 711 "$T"
	mkdir -p "$T/nb/tmp" "$T/ro"
	chown -R nobody:nogroup "$T/nb"
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env TMPDIR="$T/nb/tmp" "$@"; }
	run as_nobody "$UMLKIT" image build --size 32M "$T/nb/n.img"
	is "$rc" 0 "as nobody: exit 0"
	is "$(stat -c %U "$T/nb/n.img" 2>/dev/null)" nobody "as nobody: the image is nobody's"
	like "$(e2_stat "$T/nb/n.img" /etc/passwd)" "User: +0 +Group: +0 " \
		"as nobody: the files inside are root's"
	is "$(ls_dir "$T/nb/tmp")" "" "as nobody: the staging directory is removed"
	STAGE_DIR=$T/nb/tmp
	fails_clean "as nobody, unwritable directory" 1 "ro/n.img: cannot create.*Permission denied" \
		"$T/ro/n.img" as_nobody "$UMLKIT" image build --size 32M "$T/ro/n.img"
else
	skip "not root (or no setpriv/nobody): the build as nobody is not tried"
fi

# ---------------------------------------------------------------------- a real guest
# boot_bg LOG ARGS... : the kernel in the background on a COW over the image, console on
# LOG, notifications to $T/notify.sock; sets GPID (also in UK_PIDS).
boot_bg() {
	local log=$1
	shift
	rm -rf "$T/uml"
	mkdir -p "$T/uml"
	# fd 3 is vec0's transport (transport=fd): the interface exists, no frame goes anywhere
	LD_PRELOAD=$UML_PRELOAD setarch -R "$UML" mem=64M umid=t uml_dir="$T/uml" ubd0="$T/g.cow,$img" root=/dev/ubda \
		mconsole=notify:"$T/notify.sock" con=null con0=fd:0,fd:1 "$@" \
		</dev/null 3</dev/null >"$log" 2>&1 &
	GPID=$!
	UK_PIDS+=("$GPID")
}
# listen LOG_PREFIX : notify-wait in the background on $T/notify.sock; sets NPID
listen() {
	local i
	rm -f "$T/notify.sock"
	"$NOTIFY_WAIT" "$T/notify.sock" "${UK_BOOT_TIMEOUT:-120}" >"$1.out" 2>"$1.err" &
	NPID=$!
	UK_PIDS+=("$NPID")
	for ((i = 0; i < 100; i++)); do
		[ -S "$T/notify.sock" ] && return 0
		sleep 0.1
	done
	return 1
}
# reap PID SECONDS : wait (bounded) for PID to end; its exit status, 255 if it did not end
reap() {
	local st=255
	if wait_gone "$1" "$2"; then
		wait "$1" 2>/dev/null
		st=$?
		forget_pid "$1"
	fi
	return $st
}
console() { tr -d '\r' <"$1"; }

"$UMLKIT" cow create "$T/g.cow" "$img" >/dev/null 2>&1
ok $? "cow create over the image"

# The script on the second disk (padded with NULs to a sector by the test: rcS drops them)
cat >"$T/check.sh" <<'EOF2'
#!/bin/sh
echo "check: hostname=$(hostname)"
ip -4 addr show dev vec0 | sed -n 's/^ *inet \([^ ]*\).*/check: vec0 inet \1/p'
ip route | sed 's/^/check: route /'
sed 's/^/check: resolv /' /etc/resolv.conf
echo "check: page begin"
wget -q -O - http://127.0.0.1/
echo "check: page end (wget exit $?)"
EOF2
cp "$T/check.sh" "$T/check.disk"
truncate -s 4096 "$T/check.disk"

listen "$T/n1" || diag "notify-wait did not bind $T/notify.sock"
boot_bg "$T/console1.log" ubd1="$T/check.disk" vec0:transport=fd,fd=3 \
	umlkit.hostname=web1 umlkit.ip=vec0,10.9.8.7/24,10.9.8.1 umlkit.dns=10.9.8.53,10.9.8.54 \
	umlkit.route=192.168.77.0/24,10.9.8.254 umlkit.services=httpd
reap "$NPID" "$((${UK_BOOT_TIMEOUT:-120} + 10))"
is "$?" 0 "boot: notify-wait received a user notification"
is "$(cat "$T/n1.out")" "umlkit-ready" "boot: the notification is umlkit-ready"
[ -s "$T/n1.err" ] && diag "notify-wait: $(cat "$T/n1.err")"
c=$(console "$T/console1.log")
like "$c" "^umlkit: ready$" "boot: 'umlkit: ready' on the console"
like "$c" "check: hostname=web1" "umlkit.hostname= sets the hostname"
like "$c" "umlkit: vec0: address 10.9.8.7/24" "umlkit.ip=: rcS reports the address"
like "$c" "check: vec0 inet 10.9.8.7/24" "umlkit.ip=: vec0 has the address"
like "$c" "check: route default via 10.9.8.1 dev vec0" "umlkit.ip=: the gateway is the default route"
like "$c" "check: route 192.168.77.0/24 via 10.9.8.254" "umlkit.route= adds the route"
like "$c" "check: resolv nameserver 10.9.8.53
check: resolv nameserver 10.9.8.54" "umlkit.dns= writes resolv.conf"
like "$c" "umlkit: service httpd: started" "umlkit.services=httpd: started"
page=$(printf '%s\n' "$c" | sed -n '/^check: page begin/,/^check: page end/p')
like "$page" "<h1>web1</h1>" "httpd serves the default page, naming the host"
like "$page" "wget exit 0" "wget inside the guest succeeded"
like "$c" "umlkit: /dev/ubdb exit 0" "the /dev/ubdb script ran"

run "$UML_MCONSOLE" "$T/uml/t/mconsole" halt
like "$out" "^OK" "halt over mconsole: OK"
reap "$GPID" 60
is "$?" 0 "halt: the kernel exits 0"
pid_alive "$GPID" && diag "$(tail -n 20 "$T/console1.log")"

# Second boot on the same COW: no disk script; ctrl-alt-del runs poweroff through init.
listen "$T/n2" || diag "notify-wait did not bind $T/notify.sock"
boot_bg "$T/console2.log"
reap "$NPID" "$((${UK_BOOT_TIMEOUT:-120} + 10))"
is "$(cat "$T/n2.out")" "umlkit-ready" "second boot: umlkit-ready"
like "$(console "$T/console2.log")" "umlkit: hostname umlkit" "second boot: the default hostname"
run "$UML_MCONSOLE" "$T/uml/t/mconsole" cad
like "$out" "^OK" "cad over mconsole: OK"
reap "$GPID" 60
is "$?" 0 "cad: the guest powers off, exit 0"
like "$(console "$T/console2.log")" "umlkit: shutting down" "cad: the shutdown script ran"

done_testing
