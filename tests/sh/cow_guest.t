#!/bin/bash
# cow_guest.t: `umlkit cow` against the real UML kernel.
#
#  1. A guest boots on a COW made by `umlkit cow create` and writes /etc/hello (a random token).
#  2. `umlkit cow merge COW OUT` gives an image holding the token; the backing is untouched.
#  3. `umlkit cow merge --in-place COW` puts it into the backing; the COW is then empty and sound,
#     and the guest boots again on the same COW,backing pair and sees the file.
#  4. While a guest runs on the COW, merge, merge --in-place and uml_moo (ours) refuse, naming
#     the guest's pid; `cow info -U` still works. The guest is then stopped by its pid.
#
# Each step that later ones stand on (the image, the COW, a boot, a merge, the running guest)
# is a block that sets a prerequisite; a step that fails skips what needs it.
# Run: UK_BUILD=$PWD/build tests/sh/cow_guest.t [-v]
. "$(dirname "$0")/lib.sh"

test_need_guests
test_lazy_prereq OLD_MOO '[ -x "$OLD_UML_MOO" ]'

# ----------------------------------------------------------------------------- helpers
# guest_cat IMAGE PATH : a file's content from an ext4 image, without mounting it
guest_cat() { debugfs -R "cat $2" "$1" 2>/dev/null; }

# Guests started in the background: stopped with SIGTERM (UML halts and takes its helper
# processes with it); SIGKILL alone would orphan the helpers, which keep the COW open and
# locked. Only pids this test started (and their children) are signalled; a reaped pid is
# dropped from GUESTS and UK_PIDS at once, so that nothing signals its next owner.
GUESTS=()
STOPPED_BY=
stop_guest() { # stop_guest PID -> the kernel's exit status; STOPPED_BY=TERM|KILL
	local pid=$1 kids st k keep=()
	kids=$(pgrep -P "$pid" 2>/dev/null)
	kill -TERM "$pid" 2>/dev/null
	STOPPED_BY=TERM
	if ! wait_gone "$pid" 20; then
		STOPPED_BY=KILL
		diag "guest $pid ignored SIGTERM for 20 s; killing it and its children $kids"
		# shellcheck disable=SC2086
		kill -KILL "$pid" $kids 2>/dev/null
		wait_gone "$pid" 10
	fi
	wait "$pid" 2>/dev/null
	st=$?
	for k in $kids; do wait_gone "$k" 5 || kill -KILL "$k" 2>/dev/null; done
	forget_pid "$pid"
	for k in "${GUESTS[@]}"; do [ "$k" = "$pid" ] || keep+=("$k"); done
	GUESTS=("${keep[@]}")
	return $st
}
_cleanup_guests() {
	local p
	for p in "${GUESTS[@]}"; do pid_alive "$p" && stop_guest "$p"; done
	_uk_cleanup
}
trap _cleanup_guests EXIT

cow=$T/g.cow
token=uk-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')

# guest_scripts: the scripts the guest's /init runs from /dev/ubdb with sh. The disk is
# padded with NULs to a sector, so each script ends with an explicit exit.
guest_scripts() {
	cat >"$T/write.sh" <<-EOF &&
	echo "$token" >/etc/hello
	sync
	echo "uk-test: wrote \$(cat /etc/hello)"
	exit 0
	EOF
	cat >"$T/read.sh" <<-'EOF' &&
	echo "uk-test: read $(cat /etc/hello 2>&1)"
	exit 0
	EOF
	cat >"$T/sleep.sh" <<-'EOF'
	echo "uk-test: holding the disk"
	sleep 100
	exit 0
	EOF
}

# start_holding_guest: a guest on the COW in the background, running sleep.sh ($gpid)
start_holding_guest() {
	mkdir -p "$T/uml-run" || return 1
	LD_PRELOAD=$UML_PRELOAD setarch -R "$UML" mem=64M uml_dir="$T/uml-run" con=null \
		con0=fd:0,fd:1 ubd0="$cow,$T/base.img" ubdb="$T/sleep.sh" root=/dev/ubda init=/init \
		</dev/null >"$T/run.log" 2>&1 &
	gpid=$!
	UK_PIDS+=("$gpid")
	GUESTS+=("$gpid")
}
# holds_lock: /proc/locks shows $gpid's write lock on the COW's inode and the script runs
holds_lock() {
	grep -Eq "ADVISORY +WRITE +$gpid +[0-9a-f]+:[0-9a-f]+:$ino " /proc/locks &&
		grep -q "uk-test: holding the disk" "$T/run.log"
}
lock_or_gone() { holds_lock || ! pid_alive "$gpid"; }
# any_lock_on_cow: any process's lock on the COW's inode
any_lock_on_cow() { grep -Eq "ADVISORY +[A-Z]+ +[0-9]+ +[0-9a-f]+:[0-9a-f]+:$ino " /proc/locks; }

# --------------------------------------------------------------------------- the images
test_expect_success 'setup: the guest image (scripts/mkimage) and the guest scripts' '
	guest_image "$T/base.img" 32M &&
	base_sum=$(sum_of "$T/base.img") &&
	base_size=$(stat -c %s "$T/base.img") &&
	guest_scripts &&
	test_set_prereq IMAGE
'

test_expect_success IMAGE 'cow create over the guest image' '
	run "$UMLKIT" cow create "$cow" "$T/base.img" &&
	test_is "$rc" 0 &&
	ino=$(stat -c %i "$cow") &&
	test_set_prereq COW
'

# ------------------------------------------------------------- 1. boot, write, power off
test_expect_success COW 'guest on the new COW powered off cleanly' '
	boot_guest "$T/boot1.log" ubd0="$cow,$T/base.img" ubdb="$T/write.sh" root=/dev/ubda \
		init=/init &&
	test_set_prereq BOOT1 ||
	{ tail -n 30 "$T/boot1.log"; false; }
'
test_expect_success BOOT1 'guest wrote /etc/hello' '
	log=$(tr -d "\r" <"$T/boot1.log") &&
	test_like "$log" "uk-test: wrote $token"
'
test_expect_success BOOT1 'kernel accepted the COW made by umlkit' '
	test_unlike "$log" "Failed to|mismatch|Can'"'"'t open"
'
test_expect_success BOOT1 'backing unchanged by the guest' '
	test_is "$(sum_of "$T/base.img")" "$base_sum"
'
test_expect_success BOOT1 'cow info --output=json after the guest ran' '
	run "$UMLKIT" cow info --output=json "$cow" &&
	info1=$out &&
	test_is "$rc" 0
'
test_expect_success BOOT1 'COW holds sectors after the guest wrote' '
	held=$(json .sectors_held "$info1") &&
	echo "sectors_held: $held" &&
	test "$held" -gt 0
'
test_expect_success BOOT1 'cow check: sound after the guest ran' '
	run "$UMLKIT" cow check "$cow" &&
	test_is "$rc" 0
'

# ----------------------------------------------------------------- 2. merge to a new image
test_expect_success BOOT1 'cow merge COW OUT' '
	run "$UMLKIT" cow merge "$cow" "$T/out.img" &&
	echo "$err" &&
	test_is "$rc" 0 &&
	test_set_prereq MERGED
'
test_expect_success MERGED,DEBUGFS 'merged image holds /etc/hello with the token' '
	test_is "$(guest_cat "$T/out.img" /etc/hello)" "$token"
'
test_expect_success MERGED 'merged image has the backing'"'"'s size' '
	test_is "$(stat -c %s "$T/out.img")" "$base_size"
'
test_expect_success MERGED 'merged image is a clean ext4 filesystem (e2fsck -fn)' '
	e2fsck -fn "$T/out.img"
'
test_expect_success BOOT1 'backing unchanged by cow merge' '
	test_is "$(sum_of "$T/base.img")" "$base_sum"
'
test_expect_success BOOT1,DEBUGFS 'backing has no /etc/hello' '
	test_is "$(guest_cat "$T/base.img" /etc/hello)" ""
'
test_expect_success MERGED,OLD_MOO 'same bytes as the old uml_moo'"'"'s merge' '
	test_when_finished "rm -f \"\$T/oldmoo.img\"" &&
	"$OLD_UML_MOO" "$cow" "$T/oldmoo.img" &&
	cmp "$T/out.img" "$T/oldmoo.img"
'
test_expect_success MERGED 'cow compare: COW and merged image show the same content' '
	run "$UMLKIT" cow compare "$cow" "$T/out.img" &&
	test_is "$rc" 0
'

# ------------------------------------------------------------------- 3. merge in place
test_expect_success BOOT1 'cow merge --in-place COW' '
	run "$UMLKIT" cow merge --in-place "$cow" &&
	echo "$err" &&
	test_is "$rc" 0 &&
	test_set_prereq INPLACE
'
test_expect_success BOOT1 'in-place merge warns that other COWs on the backing are stale' '
	test_like "$err" "[Ss]tale"
'
test_expect_success INPLACE,DEBUGFS 'backing now holds /etc/hello with the token' '
	test_is "$(guest_cat "$T/base.img" /etc/hello)" "$token"
'
test_expect_success INPLACE,MERGED 'backing equals the merged image byte for byte' '
	cmp "$T/base.img" "$T/out.img"
'
test_expect_success BOOT1 'no merge journal left behind' '
	test_path_is_missing "$cow.ukmerge"
'
test_expect_success INPLACE 'cow check exits 0 after the in-place merge' '
	run "$UMLKIT" cow check "$cow" &&
	echo "$out" "$err" &&
	test_is "$rc" 0
'
test_expect_success INPLACE 'cow info --output=json after the in-place merge' '
	run "$UMLKIT" cow info --output=json "$cow" &&
	info2=$out &&
	test_is "$rc" 0
'
test_expect_success INPLACE 'COW holds 0 sectors after the in-place merge' '
	test_is "$(json .sectors_held "$info2")" 0
'
test_expect_success INPLACE 'no merge pending' '
	test_is "$(json .merge_pending "$info2")" false
'
test_expect_success INPLACE 'COW stamped with the backing'"'"'s new mtime and size' '
	test_is "$(json .backing_matches "$info2")" true
'
test_expect_success INPLACE 'guest boots again on the same COW,backing pair' '
	boot_guest "$T/boot2.log" ubd0="$cow,$T/base.img" ubdb="$T/read.sh" root=/dev/ubda \
		init=/init &&
	test_set_prereq BOOT2 ||
	{ tail -n 30 "$T/boot2.log"; false; }
'
test_expect_success BOOT2 'guest sees /etc/hello from the merged backing' '
	log=$(tr -d "\r" <"$T/boot2.log") &&
	test_like "$log" "uk-test: read $token"
'
test_expect_success BOOT2 'kernel found no size or mtime mismatch' '
	test_unlike "$log" "mismatch"
'

# --------------------------------------------------------- 4. a running guest holds the COW
# Held when /proc/locks shows the guest's write lock on the COW's inode and its script runs
# (polled, at most 60 s; a guest that dies first ends the wait).
test_expect_success COW 'running guest holds the COW'"'"'s write lock (within 60 s)' '
	start_holding_guest &&
	echo "guest pid $gpid" &&
	until_true 60 lock_or_gone &&
	holds_lock &&
	sum_before=$(sum_of "$T/base.img") &&
	test_set_prereq RUNNING ||
	{ tail -n 20 "$T/run.log"; false; }
'
test_expect_success RUNNING 'cow check does not report a locked COW as sound' '
	run "$UMLKIT" cow check "$cow" &&
	test_isnt "$rc" 0
'
test_expect_success RUNNING 'cow check names the lock holder'"'"'s pid' '
	test_like "$err$out" "pid $gpid"
'
test_expect_success RUNNING 'cow merge refuses a COW a running guest holds' '
	run "$UMLKIT" cow merge "$cow" "$T/locked.img" &&
	test_is "$rc" 1
'
test_expect_success RUNNING 'cow merge names the guest'"'"'s pid' '
	test_like "$err" "locked by pid $gpid"
'
test_expect_success RUNNING 'refused merge left no output file' '
	test_path_is_missing "$T/locked.img"
'
test_expect_success RUNNING 'cow merge --in-place refuses a COW a running guest holds' '
	run "$UMLKIT" cow merge --in-place "$cow" &&
	test_is "$rc" 1
'
test_expect_success RUNNING 'cow merge --in-place names the guest'"'"'s pid' '
	test_like "$err" "locked by pid $gpid"
'
test_expect_success RUNNING 'refused in-place merge left no journal' '
	test_path_is_missing "$cow.ukmerge"
'
test_expect_success RUNNING 'uml_moo (umlkit) refuses a COW a running guest holds' '
	run uml_moo "$cow" "$T/locked2.img" &&
	test_is "$rc" 1
'
test_expect_success RUNNING 'uml_moo names the guest'"'"'s pid' '
	test_like "$err$out" "locked by pid $gpid"
'
test_expect_success RUNNING 'refused uml_moo left no output file' '
	test_path_is_missing "$T/locked2.img"
'
test_expect_success RUNNING 'uml_moo -d (umlkit) refuses a COW a running guest holds' '
	run uml_moo -d "$cow" &&
	test_is "$rc" 1
'
test_expect_success RUNNING 'uml_moo -d names the guest'"'"'s pid' '
	test_like "$err$out" "locked by pid $gpid"
'
test_expect_success RUNNING 'backing untouched by the refused merges' '
	test_is "$(sum_of "$T/base.img")" "$sum_before"
'
test_expect_success RUNNING 'cow info -U works while the guest runs' '
	run "$UMLKIT" cow info -U "$cow" &&
	test_is "$rc" 0
'
test_expect_success RUNNING 'cow info -U shows the backing path' '
	test_like "$out" "$T/base.img"
'
test_expect_success RUNNING 'cow info -U --output=json works while the guest runs' '
	run "$UMLKIT" cow info -U --output=json "$cow" &&
	test_is "$rc" 0
'
test_expect_success RUNNING 'cow info -U reports the backing size' '
	test_like "$(json .size)" "^$base_size\$"
'
test_expect_success RUNNING 'guest still running after all of that' '
	pid_alive "$gpid"
'
# UML halts on SIGTERM and exits 1 (the kernel 6.1 here); a signal death would be 143
test_expect_success RUNNING 'guest stopped by its pid with SIGTERM' '
	stop_guest "$gpid"
	echo "exit status $?" &&
	test_is "$STOPPED_BY" TERM
'
test_expect_success RUNNING 'guest process gone' '
	! pid_alive "$gpid"
'
test_expect_success RUNNING 'no lock left on the COW' '
	! any_lock_on_cow
'
test_expect_success RUNNING 'cow check exits 0 once the guest is gone' '
	run "$UMLKIT" cow check "$cow" &&
	echo "$out" "$err" &&
	test_is "$rc" 0
'

test_done
