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
# The build as nobody runs the binary staged under $T (stage_for_others) and writes under
# $T, so a checkout nobody cannot enter does not matter.
#
# Run: UK_BUILD=$PWD/build prove -v tests/sh/image.t
. "$(dirname "$0")/lib.sh"

[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT"
[ -x /bin/busybox ] || command -v busybox >/dev/null || test_skip_all "busybox-static not installed"
case "$T" in *,* | *:*) test_skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;; esac
PATH=$PATH:/usr/sbin:/sbin
NOTIFY_WAIT=$UK_BUILD/tests/helpers/notify-wait
UML_MCONSOLE=/usr/bin/uml_mconsole
test_lazy_prereq NOTIFY_WAIT '[ -x "$NOTIFY_WAIT" ]' # make test-build
test_lazy_prereq OLD_MCONSOLE '[ -x "$UML_MCONSOLE" ]' # uml-utilities

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

mkdir -p "$T/tmp" "$T/img"
export TMPDIR=$T/tmp # the build stages its tree here: it must be empty after each build

# ------------------------------------------------------------------------- the build
# the image has a directory of its own: what is beside it is the build's doing
img=$T/img/g.img
test_expect_success 'build: exit 0' '
	run "$UMLKIT" image build --size 64M "$img" &&
	build_err=$err &&
	test_is "$rc" 0 &&
	test_set_prereq BUILT
'
test_expect_success BUILT 'build: nothing on stderr' '
	test_is "$build_err" ""
'
test_expect_success BUILT 'build: the image has the size asked' '
	test_is "$(stat -c %s "$img" 2>/dev/null)" $((64 << 20))
'
test_expect_success BUILT,DEBUGFS 'build: an ext filesystem labelled umlkit' '
	test_like "$(debugfs -R stats "$img" 2>/dev/null)" "Filesystem volume name: +umlkit"
'
test_expect_success BUILT,DEBUGFS 'build: ext4 features (extents)' '
	test_like "$(debugfs -R stats "$img" 2>/dev/null)" "extent"
'
test_expect_success BUILT,DEBUGFS 'build: files are owned by root' '
	test_like "$(e2_stat "$img" /etc/init.d/rcS)" "User: +0 +Group: +0 "
'
test_expect_success BUILT,DEBUGFS 'build: /sbin/init is busybox' '
	test_like "$(debugfs -R "stat /sbin/init" "$img" 2>/dev/null)" "Fast link dest: \"/bin/busybox\""
'
test_expect_success BUILT,DEBUGFS "build: /bin/busybox is the host's busybox" '
	test_is "$(debugfs -R "cat /bin/busybox" "$img" 2>/dev/null | sum_of /dev/stdin)" \
		"$(sum_of "$(readlink -f /bin/busybox)")"
'
test_expect_success BUILT,DEBUGFS 'build: inittab runs rcS' '
	test_like "$(debugfs -R "cat /etc/inittab" "$img" 2>/dev/null)" "::sysinit:/etc/init.d/rcS"
'
test_expect_success BUILT 'build: the staging directory is removed' '
	test_is "$(ls_dir "$T/tmp")" ""
'
test_expect_success BUILT 'build: no temporary file beside the image' '
	test_is "$(ls_dir "$T/img")" "g.img "
'

# an existing OUT: refused without -f, untouched; replaced with -f
test_expect_success BUILT 'existing OUT without -f: exit 1' '
	sum=$(sum_of "$img") &&
	run "$UMLKIT" image build --size 32M "$img" &&
	test_is "$rc" 1
'
test_expect_success BUILT 'existing OUT without -f: says so' '
	test_like "$err" "g.img: already exists \(use -f"
'
test_expect_success BUILT 'existing OUT without -f: untouched' '
	test_is "$(sum_of "$img")" "$sum"
'
test_expect_success BUILT '-f: exit 0' '
	test_when_finished "rm -f \"\$img.2\"" &&
	run "$UMLKIT" image build -f --size 32M "$img.2" &&
	run "$UMLKIT" image build -f --size 32M "$img" &&
	test_is "$rc" 0
'
test_expect_success BUILT '-f: the image was replaced' '
	test_is "$(stat -c %s "$img")" $((32 << 20))
'

# failures leave nothing
# fails_clean NAME WANT_RC ERR_REGEX OUT CMD... : five points (needing $FC_PREREQ): CMD fails
# with WANT_RC, says why, leaves no OUT, nothing beside it and no staging directory (in
# $STAGE_DIR)
FC_PREREQ=
fails_clean() {
	local pre=$FC_PREREQ
	fc_name=$1 fc_want=$2 fc_re=$3 fc_out=$4
	shift 4
	fc_cmd=("$@")
	fc_before=
	test_expect_success $pre "$fc_name: exit $fc_want" '
		fc_before=$(ls_dir "$(dirname "$fc_out")") &&
		run "${fc_cmd[@]}" &&
		test_is "$rc" "$fc_want"
	'
	test_expect_success $pre "$fc_name: the message says why" '
		test_like "$err" "$fc_re"
	'
	test_expect_success $pre "$fc_name: no $fc_out" '
		test_path_is_missing "$fc_out"
	'
	test_expect_success $pre "$fc_name: nothing left beside it" '
		test_is "$(ls_dir "$(dirname "$fc_out")")" "$fc_before"
	'
	test_expect_success $pre "$fc_name: no staging directory left" '
		test_is "$(ls_dir "$STAGE_DIR")" ""
	'
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
test_expect_success 'missing output directory: not created' '
	test_path_is_missing "$T/nodir"
'

# without root: as nobody, into a directory nobody may write, and one it may not
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env TMPDIR="$T/nb/tmp" "$@"; }
test_expect_success NOBODY 'setup: nobody reaches a staged umlkit and its own directory' '
	stage_for_others &&
	mkdir -p "$T/nb/tmp" "$T/ro" &&
	chown -R nobody:nogroup "$T/nb" &&
	test_set_prereq ASNOBODY
'
test_expect_success ASNOBODY 'as nobody: exit 0' '
	run as_nobody "$UMLKIT" image build --size 32M "$T/nb/n.img" &&
	test_is "$rc" 0
'
test_expect_success ASNOBODY "as nobody: the image is nobody's" '
	test_is "$(stat -c %U "$T/nb/n.img" 2>/dev/null)" nobody
'
test_expect_success ASNOBODY,DEBUGFS "as nobody: the files inside are root's" '
	test_like "$(e2_stat "$T/nb/n.img" /etc/passwd)" "User: +0 +Group: +0 "
'
test_expect_success ASNOBODY 'as nobody: the staging directory is removed' '
	test_is "$(ls_dir "$T/nb/tmp")" ""
'
STAGE_DIR=$T/nb/tmp
FC_PREREQ=ASNOBODY
fails_clean "as nobody, unwritable directory" 1 "ro/n.img: cannot create.*Permission denied" \
	"$T/ro/n.img" as_nobody "$UMLKIT" image build --size 32M "$T/ro/n.img"

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
	rm -f "$T/notify.sock"
	"$NOTIFY_WAIT" "$T/notify.sock" "${UK_BOOT_TIMEOUT:-120}" >"$1.out" 2>"$1.err" &
	NPID=$!
	UK_PIDS+=("$NPID")
	until_true 10 test -S "$T/notify.sock" && return 0
	echo "notify-wait did not bind $T/notify.sock"
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

test_expect_success BUILT 'cow create over the image' '
	"$UMLKIT" cow create "$T/g.cow" "$img" >/dev/null 2>&1 &&
	test_set_prereq COW
'

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

test_expect_success COW,UML,NOTIFY_WAIT 'setup: boot a guest, notify-wait listening' '
	listen "$T/n1" &&
	boot_bg "$T/console1.log" ubd1="$T/check.disk" vec0:transport=fd,fd=3 \
		umlkit.hostname=web1 umlkit.ip=vec0,10.9.8.7/24,10.9.8.1 umlkit.dns=10.9.8.53,10.9.8.54 \
		umlkit.route=192.168.77.0/24,10.9.8.254 umlkit.services=httpd &&
	test_set_prereq BOOT1
'
test_expect_success BOOT1 'boot: notify-wait received a user notification' '
	reap "$NPID" "$((${UK_BOOT_TIMEOUT:-120} + 10))"
	st=$?
	c=$(console "$T/console1.log")
	{ [ ! -s "$T/n1.err" ] || echo "notify-wait: $(cat "$T/n1.err")"; } &&
	test_is "$st" 0
'
test_expect_success BOOT1 'boot: the notification is umlkit-ready' '
	test_is "$(cat "$T/n1.out")" "umlkit-ready"
'
test_expect_success BOOT1 "boot: 'umlkit: ready' on the console" '
	test_like "$c" "^umlkit: ready$"
'
test_expect_success BOOT1 'umlkit.hostname= sets the hostname' '
	test_like "$c" "check: hostname=web1"
'
test_expect_success BOOT1 'umlkit.ip=: rcS reports the address' '
	test_like "$c" "umlkit: vec0: address 10.9.8.7/24"
'
test_expect_success BOOT1 'umlkit.ip=: vec0 has the address' '
	test_like "$c" "check: vec0 inet 10.9.8.7/24"
'
test_expect_success BOOT1 'umlkit.ip=: the gateway is the default route' '
	test_like "$c" "check: route default via 10.9.8.1 dev vec0"
'
test_expect_success BOOT1 'umlkit.route= adds the route' '
	test_like "$c" "check: route 192.168.77.0/24 via 10.9.8.254"
'
test_expect_success BOOT1 'umlkit.dns= writes resolv.conf' '
	test_like "$c" "check: resolv nameserver 10.9.8.53
check: resolv nameserver 10.9.8.54"
'
test_expect_success BOOT1 'umlkit.services=httpd: started' '
	test_like "$c" "umlkit: service httpd: started"
'
test_expect_success BOOT1 'httpd serves the default page, naming the host' '
	page=$(printf "%s\n" "$c" | sed -n "/^check: page begin/,/^check: page end/p") &&
	test_like "$page" "<h1>web1</h1>"
'
test_expect_success BOOT1 'wget inside the guest succeeded' '
	test_like "$page" "wget exit 0"
'
test_expect_success BOOT1 'the /dev/ubdb script ran' '
	test_like "$c" "umlkit: /dev/ubdb exit 0"
'

test_expect_success BOOT1,OLD_MCONSOLE 'halt over mconsole: OK' '
	run "$UML_MCONSOLE" "$T/uml/t/mconsole" halt &&
	test_like "$out" "^OK"
'
test_expect_success BOOT1 'halt: the kernel exits 0' '
	reap "$GPID" 60
	st=$?
	{ [ "$st" = 255 ] || test_set_prereq ENDED1; } &&
	{ ! pid_alive "$GPID" || tail -n 20 "$T/console1.log"; } &&
	test_is "$st" 0
'

# Second boot on the same COW: no disk script; ctrl-alt-del runs poweroff through init.
test_expect_success ENDED1 'setup: boot it again, notify-wait listening' '
	listen "$T/n2" &&
	boot_bg "$T/console2.log" &&
	test_set_prereq BOOT2
'
test_expect_success BOOT2 'second boot: umlkit-ready' '
	reap "$NPID" "$((${UK_BOOT_TIMEOUT:-120} + 10))"
	test_is "$(cat "$T/n2.out")" "umlkit-ready"
'
test_expect_success BOOT2 'second boot: the default hostname' '
	test_like "$(console "$T/console2.log")" "umlkit: hostname umlkit"
'
test_expect_success BOOT2,OLD_MCONSOLE 'cad over mconsole: OK' '
	run "$UML_MCONSOLE" "$T/uml/t/mconsole" cad &&
	test_like "$out" "^OK"
'
test_expect_success BOOT2 'cad: the guest powers off, exit 0' '
	reap "$GPID" 60
	test_is "$?" 0
'
test_expect_success BOOT2 'cad: the shutdown script ran' '
	test_like "$(console "$T/console2.log")" "umlkit: shutting down"
'

test_done
