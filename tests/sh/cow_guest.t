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
# Run: UK_BUILD=$PWD/build prove -v tests/sh/cow_guest.t
. "$(dirname "$0")/lib.sh"

[ -x "$UMLKIT" ] || skip_all "umlkit not built: $UMLKIT"
[ -n "$UML" ] && [ -x "$UML" ] || skip_all "no UML kernel (linux.uml)"
need_cmd debugfs "debugfs (e2fsprogs) not installed"
case "$T" in *,* | *:*) skip_all "temp dir $T holds ',' or ':', which ubd= cannot take" ;; esac

# ----------------------------------------------------------------------------- helpers
# json_num FIELD : the scalar value of "FIELD" in the JSON text on stdin (numbers, true/false)
json_num() { tr -d ' \n\t' | sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }

# guest_cat IMAGE PATH : a file's content from an ext4 image, without mounting it
guest_cat() { debugfs -R "cat $2" "$1" 2>/dev/null; }

# Guests started in the background: stopped with SIGTERM (UML halts and takes its helper
# processes with it); SIGKILL alone would orphan the helpers, which keep the COW open and
# locked. Only pids this test started (and their children) are signalled.
GUESTS=()
STOPPED_BY=
stop_guest() { # stop_guest PID -> the kernel's exit status; STOPPED_BY=TERM|KILL
	local pid=$1 kids st
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
	return $st
}
_cleanup_guests() {
	local p
	for p in "${GUESTS[@]}"; do pid_alive "$p" && stop_guest "$p"; done
	_uk_cleanup
}
trap _cleanup_guests EXIT

# --------------------------------------------------------------------------- the images
guest_image "$T/base.img" 32M || skip_all "scripts/mkimage failed (busybox-static and e2fsprogs needed)"
base_sum=$(sum_of "$T/base.img")
base_size=$(stat -c %s "$T/base.img")
cow=$T/g.cow
token=uk-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')

# The guest's /init runs /dev/ubdb with sh. The disk is padded with NULs to a sector, so each
# script ends with an explicit exit.
cat >"$T/write.sh" <<EOF
echo "$token" >/etc/hello
sync
echo "uk-test: wrote \$(cat /etc/hello)"
exit 0
EOF
cat >"$T/read.sh" <<'EOF'
echo "uk-test: read $(cat /etc/hello 2>&1)"
exit 0
EOF
cat >"$T/sleep.sh" <<'EOF'
echo "uk-test: holding the disk"
sleep 100
exit 0
EOF

run "$UMLKIT" cow create "$cow" "$T/base.img"
is "$rc" 0 "cow create over the guest image"
[ "$rc" = 0 ] || diag "$err"

# ------------------------------------------------------------- 1. boot, write, power off
boot_guest "$T/boot1.log" ubd0="$cow,$T/base.img" ubdb="$T/write.sh" root=/dev/ubda init=/init
is "$?" 0 "guest on the new COW powered off cleanly"
log=$(tr -d '\r' <"$T/boot1.log")
like "$log" "uk-test: wrote $token" "guest wrote /etc/hello"
unlike "$log" "Failed to|mismatch|Can't open" "kernel accepted the COW made by umlkit"
[ "$(grep -c "uk-test: wrote $token" <<<"$log")" = 1 ] || diag "$(tail -n 30 "$T/boot1.log")"
is "$(sum_of "$T/base.img")" "$base_sum" "backing unchanged by the guest"

run "$UMLKIT" cow info --output=json "$cow"
is "$rc" 0 "cow info --output=json after the guest ran"
held=$(json_num sectors_held <<<"$out")
ok "$([ -n "$held" ] && [ "$held" -gt 0 ] 2>/dev/null; echo $?)" "COW holds sectors after the guest wrote ($held)"

run "$UMLKIT" cow check "$cow"
is "$rc" 0 "cow check: sound after the guest ran"

# ----------------------------------------------------------------- 2. merge to a new image
run "$UMLKIT" cow merge "$cow" "$T/out.img"
is "$rc" 0 "cow merge COW OUT"
[ "$rc" = 0 ] || diag "$err"
is "$(guest_cat "$T/out.img" /etc/hello)" "$token" "merged image holds /etc/hello with the token"
is "$(stat -c %s "$T/out.img" 2>/dev/null)" "$base_size" "merged image has the backing's size"
check "merged image is a clean ext4 filesystem (e2fsck -fn)" -- e2fsck -fn "$T/out.img"
is "$(sum_of "$T/base.img")" "$base_sum" "backing unchanged by cow merge"
is "$(guest_cat "$T/base.img" /etc/hello)" "" "backing has no /etc/hello"
if [ -x "$OLD_UML_MOO" ]; then
	"$OLD_UML_MOO" "$cow" "$T/oldmoo.img" >/dev/null 2>&1
	check "same bytes as the old uml_moo's merge" -- cmp "$T/out.img" "$T/oldmoo.img"
	rm -f "$T/oldmoo.img"
fi
run "$UMLKIT" cow compare "$cow" "$T/out.img"
is "$rc" 0 "cow compare: COW and merged image show the same content"

# ------------------------------------------------------------------- 3. merge in place
run "$UMLKIT" cow merge --in-place "$cow"
is "$rc" 0 "cow merge --in-place COW"
[ "$rc" = 0 ] || diag "$err"
like "$err" "[Ss]tale" "in-place merge warns that other COWs on the backing are stale"
is "$(guest_cat "$T/base.img" /etc/hello)" "$token" "backing now holds /etc/hello with the token"
check "backing equals the merged image byte for byte" -- cmp "$T/base.img" "$T/out.img"
ok "$([ ! -e "$cow.ukmerge" ]; echo $?)" "no merge journal left behind"

run "$UMLKIT" cow check "$cow"
is "$rc" 0 "cow check exits 0 after the in-place merge"
[ "$rc" = 0 ] || diag "$out" "$err"
run "$UMLKIT" cow info --output=json "$cow"
is "$rc" 0 "cow info --output=json after the in-place merge"
is "$(json_num sectors_held <<<"$out")" 0 "COW holds 0 sectors after the in-place merge"
is "$(json_num merge_pending <<<"$out")" false "no merge pending"
is "$(json_num backing_matches <<<"$out")" true "COW stamped with the backing's new mtime and size"

boot_guest "$T/boot2.log" ubd0="$cow,$T/base.img" ubdb="$T/read.sh" root=/dev/ubda init=/init
is "$?" 0 "guest boots again on the same COW,backing pair"
log=$(tr -d '\r' <"$T/boot2.log")
like "$log" "uk-test: read $token" "guest sees /etc/hello from the merged backing"
unlike "$log" "mismatch" "kernel found no size or mtime mismatch"
grep -q "uk-test: read $token" <<<"$log" || diag "$(tail -n 30 "$T/boot2.log")"

# --------------------------------------------------------- 4. a running guest holds the COW
mkdir -p "$T/uml-run"
LD_PRELOAD=$UML_PRELOAD setarch -R "$UML" mem=64M uml_dir="$T/uml-run" con=null con0=fd:0,fd:1 ubd0="$cow,$T/base.img" \
	ubdb="$T/sleep.sh" root=/dev/ubda init=/init </dev/null >"$T/run.log" 2>&1 &
gpid=$!
UK_PIDS+=("$gpid")
GUESTS+=("$gpid")

# Held when /proc/locks shows this pid's write lock on the COW's inode and the script runs.
ino=$(stat -c %i "$cow")
held=1
for ((i = 0; i < 600; i++)); do
	if grep -Eq "ADVISORY +WRITE +$gpid +[0-9a-f]+:[0-9a-f]+:$ino " /proc/locks &&
		grep -q "uk-test: holding the disk" "$T/run.log"; then
		held=0
		break
	fi
	pid_alive "$gpid" || break
	sleep 0.1
done
ok "$held" "running guest (pid $gpid) holds the COW's write lock (within 60 s)"
[ "$held" = 0 ] || diag "$(tail -n 20 "$T/run.log")"

sum_before=$(sum_of "$T/base.img")

run "$UMLKIT" cow check "$cow"
ok "$([ "$rc" != 0 ]; echo $?)" "cow check does not report a locked COW as sound (rc $rc)"
like "$err$out" "pid $gpid" "cow check names the lock holder's pid"

run "$UMLKIT" cow merge "$cow" "$T/locked.img"
is "$rc" 1 "cow merge refuses a COW a running guest holds"
like "$err" "locked by pid $gpid" "cow merge names the guest's pid"
ok "$([ ! -e "$T/locked.img" ]; echo $?)" "refused merge left no output file"

run "$UMLKIT" cow merge --in-place "$cow"
is "$rc" 1 "cow merge --in-place refuses a COW a running guest holds"
like "$err" "locked by pid $gpid" "cow merge --in-place names the guest's pid"
ok "$([ ! -e "$cow.ukmerge" ]; echo $?)" "refused in-place merge left no journal"

run uml_moo "$cow" "$T/locked2.img"
is "$rc" 1 "uml_moo (umlkit) refuses a COW a running guest holds"
like "$err$out" "locked by pid $gpid" "uml_moo names the guest's pid"
ok "$([ ! -e "$T/locked2.img" ]; echo $?)" "refused uml_moo left no output file"

run uml_moo -d "$cow"
is "$rc" 1 "uml_moo -d (umlkit) refuses a COW a running guest holds"
like "$err$out" "locked by pid $gpid" "uml_moo -d names the guest's pid"

is "$(sum_of "$T/base.img")" "$sum_before" "backing untouched by the refused merges"

run "$UMLKIT" cow info -U "$cow"
is "$rc" 0 "cow info -U works while the guest runs"
like "$out" "$T/base.img" "cow info -U shows the backing path"
run "$UMLKIT" cow info -U --output=json "$cow"
is "$rc" 0 "cow info -U --output=json works while the guest runs"
like "$(json_num size <<<"$out")" "^$base_size\$" "cow info -U reports the backing size"

pid_alive "$gpid"
ok $? "guest still running after all of that"
stop_guest "$gpid"
st=$?
# UML halts on SIGTERM and exits 1 (the kernel 6.1 here); a signal death would be 143
is "$STOPPED_BY" TERM "guest stopped by its pid with SIGTERM (exit status $st)"
ok "$(pid_alive "$gpid" && echo 1 || echo 0)" "guest process gone"
ok "$(grep -Eq "ADVISORY +[A-Z]+ +[0-9]+ +[0-9a-f]+:[0-9a-f]+:$ino " /proc/locks && echo 1 || echo 0)" \
	"no lock left on the COW"
run "$UMLKIT" cow check "$cow"
is "$rc" 0 "cow check exits 0 once the guest is gone"
[ "$rc" = 0 ] || diag "$out" "$err"

done_testing
