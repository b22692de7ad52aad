#!/bin/bash
# cow_crash.t: `umlkit cow merge --in-place` killed with SIGKILL at many points, then rerun:
# the backing must end up byte for byte the expected merged image, the COW empty and sound,
# and no journal left. Between the kill and the rerun, a pending merge must be reported by
# `cow check` (exit 1) and refused by a plain `cow merge`.
#
# Kill points:
#  - deterministic: an LD_PRELOAD shim (compiled here when a C compiler is present) counts the
#    process's mutating file calls (pwrite, copy_file_range, fallocate, fsync, ftruncate,
#    link, rename, unlink...) and raises SIGKILL just before the Nth one, for N over the
#    whole run (every point when there are few, else a spread plus every one of the last 16);
#  - timed: SIGKILL from the test at delays spread over the merge's measured duration.
# Timings only place the kills; nothing here asserts a duration.
#
# One round (a kill, the checks before the rerun, the rerun and its result) is one block.
# Run: UK_BUILD=$PWD/build tests/sh/cow_crash.t [-v]
. "$(dirname "$0")/lib.sh"

[ -x "$UMLKIT" ] || test_skip_all "umlkit not built: $UMLKIT"
COWGEN="$UK_BUILD/tests/helpers/cowgen"
TIMED_RUNS=${UK_CRASH_TIMED_RUNS:-30}
MAX_POINTS=${UK_CRASH_MAX_POINTS:-100}
test_lazy_prereq CC 'command -v cc || command -v gcc || command -v clang'

# ----------------------------------------------------------------- backing and COW
W=$T/w
mkdir -p "$W"
B=$W/backing.img # the path stored in the COW header: every round restores it here
C=$W/disk.cow
SIZE=$((64 * 1024 * 1024 + 1000)) # a trailing partial sector too

# make_backing: sparse, with random 256 KiB..1 MiB islands (a fixed layout, random bytes)
make_backing() {
	local i off len
	truncate -s "$SIZE" "$B" || return 1
	for i in $(seq 0 23); do
		off=$(((i * 2654435761 % 61) * 1024 * 1024 + (i % 7) * 4096))
		len=$((256 * 1024 * (1 + i % 4)))
		head -c "$len" /dev/urandom |
			dd of="$B" bs=4096 seek=$((off / 4096)) conv=notrunc status=none || return 1
	done
	head -c 1000 /dev/urandom |
		dd of="$B" bs=1 seek=$((SIZE - 1000)) conv=notrunc status=none &&
		touch -d @1700000000 "$B"
}

# COW writes: scattered 4-64 KiB runs, some unaligned, some zeros over data (the COW holds
# zero sectors that must overwrite the backing), one over the trailing partial sector.
writes=()
for i in $(seq 0 59); do
	off=$(((i * 40503 * 1117 + i * i * 131) % (SIZE - 70000)))
	len=$((4096 * (1 + (i * 7) % 16) + (i % 3) * 100))
	seed=$((1000 + i))
	[ $((i % 9)) = 4 ] && seed=zero
	writes+=(--write "$off:$len:$seed")
done
# island 0 is backing data at [0, 256 KiB): zeros held by the COW must land over it
writes+=(--write "$((SIZE - 700)):700:77" --write "0:512:78" --write "65536:12288:zero")

# make_new_img: without cowgen, the backing with the writes applied ($W/new.img), for
# `cow diff` to make the COW from
make_new_img() {
	local i off len seed src
	cp --sparse=always "$B" "$W/new.img" || return 1
	for ((i = 1; i < ${#writes[@]}; i += 2)); do
		IFS=: read -r off len seed <<<"${writes[i]}"
		if [ "$seed" = zero ]; then src=/dev/zero; else src=/dev/urandom; fi
		head -c "$len" "$src" |
			dd of="$W/new.img" bs=64K iflag=fullblock oflag=seek_bytes seek="$off" \
				conv=notrunc status=none || return 1
	done
}

test_expect_success 'setup: a sparse 64 MiB backing with random islands' '
	make_backing &&
	test_set_prereq BACKING
'

if [ -x "$COWGEN" ]; then
	test_expect_success BACKING "cowgen wrote a v3 COW with ${#writes[@]} scattered runs and the expected image" '
		"$COWGEN" --variant 3 --backing "$B" "${writes[@]}" --expect "$W/expected.img" "$C" \
			>/dev/null &&
		test_set_prereq EXPECTED
	'
	test_expect_success EXPECTED 'cow merge COW OUT' '
		run "$UMLKIT" cow merge "$C" "$W/merged.img" &&
		echo "$err" &&
		test_is "$rc" 0
	'
	test_expect_success EXPECTED 'cow merge equals cowgen'"'"'s ground truth' '
		test_when_finished "rm -f \"\$W/merged.img\"" &&
		cmp "$W/expected.img" "$W/merged.img"
	'
else
	# Without the helper: a COW from `cow diff` between the backing and a modified copy.
	diag "no $COWGEN (make test-build); building the COW with umlkit cow diff"
	test_expect_success BACKING 'cow diff BASE NEW COW' '
		make_new_img &&
		run "$UMLKIT" cow diff "$B" "$W/new.img" "$C" &&
		echo "$err" &&
		test_is "$rc" 0 &&
		test_set_prereq DIFFED
	'
	test_expect_success DIFFED 'cow merge COW OUT' '
		run "$UMLKIT" cow merge "$C" "$W/expected.img" &&
		echo "$err" &&
		test_is "$rc" 0 &&
		test_set_prereq EXPECTED
	'
	test_expect_success EXPECTED 'merge of the diff equals NEW' '
		test_when_finished "rm -f \"\$W/new.img\"" &&
		cmp "$W/expected.img" "$W/new.img"
	'
fi
test_expect_success EXPECTED 'the fresh COW is sound' '
	run "$UMLKIT" cow check "$C" &&
	test_is "$rc" 0
'
test_expect_success EXPECTED 'the COW holds sectors' '
	run "$UMLKIT" cow info --output=json "$C" &&
	held0=$(json .sectors_held) &&
	echo "sectors_held: $held0" &&
	test "$held0" -gt 0
'
test_expect_success EXPECTED 'backing and expected image differ' '
	test_expect_code 1 cmp -s "$B" "$W/expected.img"
'
test_expect_success EXPECTED 'setup: keep the original backing and COW for every round' '
	cp -p --sparse=always "$B" "$W/backing.orig" &&
	cp -p --sparse=always "$C" "$W/cow.orig" &&
	test_set_prereq ORIG
'
restore() {
	rm -f "$B" "$C" "$C.ukmerge"
	cp -p --sparse=always "$W/backing.orig" "$B" && cp -p --sparse=always "$W/cow.orig" "$C"
}

# --------------------------------------------------------------------- one round
# after_kill: the checks between a kill and the rerun, the rerun, and the result; 0 when all
# hold, else 1 with what failed on stderr (the block's log). PENDING: yes when the kill left
# a pending merge (a journal).
PENDING_SEEN=0
after_kill() {
	local bad=() b
	PENDING=no
	if [ -e "$C.ukmerge" ]; then
		PENDING=yes
		PENDING_SEEN=$((PENDING_SEEN + 1))
		run "$UMLKIT" cow check "$C"
		[ "$rc" = 1 ] || bad+=("check with a pending merge exited $rc, want 1")
		grep -Eiq 'merge|interrupt|journal|pending' <<<"$out$err" ||
			bad+=("check does not mention the pending merge: $out $err")
		run "$UMLKIT" cow check --output=json "$C"
		[ "$rc" = 1 ] || bad+=("check --output=json with a pending merge exited $rc")
		[ "$(json .status)" = stale ] || bad+=("check --output=json status is not stale: $out")
		run "$UMLKIT" cow info --output=json "$C"
		[ "$(json .merge_pending)" = true ] ||
			bad+=("info merge_pending is not true (rc $rc): $out $err")
		run "$UMLKIT" cow merge "$C" "$W/refused.img"
		[ "$rc" = 1 ] || bad+=("plain merge with a pending in-place merge exited $rc, want 1")
		[ -e "$W/refused.img" ] && bad+=("plain merge with a pending merge wrote its output")
		rm -f "$W/refused.img"
	elif ! cmp -s "$B" "$W/backing.orig" && ! cmp -s "$B" "$W/expected.img"; then
		bad+=("no journal, but the backing is neither the original nor the merged image")
	fi
	echo "pending merge: $PENDING"
	run "$UMLKIT" cow merge --in-place "$C"
	[ "$rc" = 0 ] || bad+=("rerun exited $rc: $err")
	cmp -s "$B" "$W/expected.img" ||
		bad+=("backing differs from the expected image: $(cmp "$B" "$W/expected.img" 2>&1 | head -n 1)")
	[ -e "$C.ukmerge" ] && bad+=("journal left after the rerun")
	run "$UMLKIT" cow check "$C"
	[ "$rc" = 0 ] || bad+=("check after the rerun exited $rc: $out $err")
	run "$UMLKIT" cow info --output=json "$C"
	[ "$(json .sectors_held)" = 0 ] || bad+=("COW not empty after the rerun: $out $err")
	[ ${#bad[@]} = 0 ] && return 0
	for b in "${bad[@]}"; do echo "$b" >&2; done
	return 1
}

# ------------------------------------------------------- an uninterrupted run first
# the reference for the duration and for the result
dur_ms=0
test_expect_success ORIG 'uninterrupted cow merge --in-place' '
	restore &&
	t0=$(date +%s%N) &&
	run "$UMLKIT" cow merge --in-place "$C" &&
	t1=$(date +%s%N) &&
	dur_ms=$(((t1 - t0) / 1000000)) &&
	echo "$err" &&
	test_is "$rc" 0
'
test_expect_success ORIG 'uninterrupted in-place merge gives the expected image' '
	cmp "$B" "$W/expected.img"
'
test_expect_success ORIG 'no journal after the uninterrupted merge' '
	test_path_is_missing "$C.ukmerge"
'
test_expect_success ORIG 'cow check exits 0 after the uninterrupted merge' '
	run "$UMLKIT" cow check "$C" &&
	test_is "$rc" 0
'
test_expect_success ORIG 'COW empty after the uninterrupted merge' '
	run "$UMLKIT" cow info --output=json "$C" &&
	test_is "$(json .sectors_held)" 0
'
test_expect_success ORIG 'in-place merge of an emptied COW succeeds (nothing to do)' '
	run "$UMLKIT" cow merge --in-place "$C" &&
	test_is "$rc" 0
'
test_expect_success ORIG 'and leaves the backing as it was' '
	cmp "$B" "$W/expected.img"
'
test_have_prereq ORIG &&
	diag "uninterrupted in-place merge took ${dur_ms} ms (used only to place the timed kills)"

# ------------------------------------------------ deterministic kills (LD_PRELOAD shim)
SHIM=$T/ukcrash.so
write_shim_source() {
	cat >"$T/ukcrash.c" <<'EOF'
/* Counts mutating file calls; SIGKILL just before call number UKCRASH_AT (1-based).
 * UKCRASH_LOG=FILE appends one line per call (name) for counting. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static long n_calls;
static void point(const char *name)
{
	static long at = -1;
	static int logfd = -2;
	if (at < 0) {
		const char *s = getenv("UKCRASH_AT");
		at = s ? atol(s) : 0;
	}
	if (logfd == -2) {
		const char *l = getenv("UKCRASH_LOG");
		logfd = l ? open(l, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
	}
	n_calls++;
	if (logfd >= 0) {
		char buf[64];
		int len = snprintf(buf, sizeof(buf), "%ld %s\n", n_calls, name);
		if (write(logfd, buf, (size_t)len) < 0) { /* nothing to do */ }
	}
	if (at > 0 && n_calls == at)
		raise(SIGKILL);
}
#define REAL(name) static __typeof__(name) *real; if (!real) real = dlsym(RTLD_NEXT, #name)
ssize_t pwrite64(int fd, const void *b, size_t n, off_t o) { REAL(pwrite64); point("pwrite"); return real(fd, b, n, o); }
ssize_t pwrite(int fd, const void *b, size_t n, off_t o) { REAL(pwrite); point("pwrite"); return real(fd, b, n, o); }
ssize_t copy_file_range(int a, off_t *b, int c, off_t *d, size_t e, unsigned f) { REAL(copy_file_range); point("copy_file_range"); return real(a, b, c, d, e, f); }
int fallocate64(int fd, int m, off_t o, off_t l) { REAL(fallocate64); point("fallocate"); return real(fd, m, o, l); }
int fallocate(int fd, int m, off_t o, off_t l) { REAL(fallocate); point("fallocate"); return real(fd, m, o, l); }
int fsync(int fd) { REAL(fsync); point("fsync"); return real(fd); }
int fdatasync(int fd) { REAL(fdatasync); point("fdatasync"); return real(fd); }
int ftruncate64(int fd, off_t l) { REAL(ftruncate64); point("ftruncate"); return real(fd, l); }
int ftruncate(int fd, off_t l) { REAL(ftruncate); point("ftruncate"); return real(fd, l); }
int link(const char *a, const char *b) { REAL(link); point("link"); return real(a, b); }
int linkat(int a, const char *b, int c, const char *d, int e) { REAL(linkat); point("linkat"); return real(a, b, c, d, e); }
int rename(const char *a, const char *b) { REAL(rename); point("rename"); return real(a, b); }
int renameat(int a, const char *b, int c, const char *d) { REAL(renameat); point("renameat"); return real(a, b, c, d); }
int renameat2(int a, const char *b, int c, const char *d, unsigned e) { REAL(renameat2); point("renameat2"); return real(a, b, c, d, e); }
int unlink(const char *a) { REAL(unlink); point("unlink"); return real(a); }
int unlinkat(int a, const char *b, int c) { REAL(unlinkat); point("unlinkat"); return real(a, b, c); }
EOF
}
# ASan wants to come first in the library list; the shim only forwards to it.
shim_env=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")

# kill_at_call N: a round killed just before the merge's Nth mutating call
kill_at_call() {
	local st
	restore || return 1
	# (the subshell keeps bash's "Killed" job notice out of the output)
	("${shim_env[@]}" LD_PRELOAD="$SHIM" UKCRASH_AT="$1" \
		"$UMLKIT" cow merge --in-place -q "$C" >/dev/null 2>"$T/kill.err"
	exit $?) 2>/dev/null
	st=$?
	if [ "$st" != 137 ]; then
		echo "the merge was not killed (status $st): $(cat "$T/kill.err")" >&2
		return 1
	fi
	after_kill
}

test_expect_success CC,ORIG 'setup: build the LD_PRELOAD kill shim' '
	cc=$(command -v cc || command -v gcc || command -v clang) &&
	write_shim_source &&
	"$cc" -shared -fPIC -O1 -o "$SHIM" "$T/ukcrash.c" -ldl &&
	test_set_prereq SHIM
'
total=0
test_expect_success SHIM 'in-place merge under the counting shim' '
	restore &&
	rm -f "$T/calls.log" &&
	"${shim_env[@]}" LD_PRELOAD="$SHIM" UKCRASH_LOG="$T/calls.log" \
		"$UMLKIT" cow merge --in-place -q "$C" >/dev/null 2>"$T/count.err"
'
test_expect_success SHIM 'the shim saw the merge'"'"'s mutating calls (more than 3)' '
	total=$(wc -l <"$T/calls.log") &&
	echo "calls: $total" &&
	test "$total" -gt 3 &&
	test_set_prereq COUNTED
'
test_expect_success SHIM 'merge under the counting shim gives the expected image' '
	cmp "$B" "$W/expected.img"
'

if test_have_prereq COUNTED; then
	diag "mutating calls of one in-place merge: $total ($(cut -d' ' -f2 "$T/calls.log" | sort | uniq -c | tr -s ' \n' ' '))"
	# The kill points: all when few; otherwise a spread over the first ones and every one of
	# the last 16 (journal removal, header stamp, bitmap clear, fsyncs).
	points=()
	if [ "$total" -le "$MAX_POINTS" ]; then
		points=($(seq 1 "$total"))
	else
		spread=$((MAX_POINTS - 16))
		for ((k = 0; k < spread; k++)); do points+=($((1 + k * (total - 16) / spread))); done
		points+=($(seq $((total - 15)) "$total"))
	fi
	for n in "${points[@]}"; do
		what=$(sed -n "${n}p" "$T/calls.log" | cut -d' ' -f2)
		test_expect_success COUNTED "SIGKILL before call $n/$total ($what): exact result after the rerun" '
			kill_at_call "$n"
		'
	done
else
	test_expect_success COUNTED 'SIGKILL before each mutating call: exact result after the rerun' '
		false
	'
fi

# ------------------------------------------------------------------------ timed kills
# timed_kill US: a round killed US microseconds after the merge started. Not `timeout -s
# KILL`: it signals its own process group, dies with the merge and so does not reap it; the
# dying merge may then still hold its locks when we look. The sleep is not a wait for
# anything: it places the kill.
killed=0
timed_kill() {
	local mpid st d
	d=$(printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)))
	restore || return 1
	"$UMLKIT" cow merge --in-place -q "$C" >/dev/null 2>"$T/kill.err" &
	mpid=$!
	UK_PIDS+=("$mpid")
	sleep "$d"
	kill -KILL "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
	st=$?
	forget_pid "$mpid"
	echo "merge status $st"
	[ "$st" = 137 ] && killed=$((killed + 1))
	if [ "$st" != 137 ] && [ "$st" != 0 ]; then
		echo "merge failed by itself (status $st): $(cat "$T/kill.err")" >&2
		return 1
	fi
	after_kill
}
# Delays from 0.5 ms to the measured duration (at least 20 ms of range), evenly spread.
range_us=$((dur_ms * 1000))
[ "$range_us" -lt 20000 ] && range_us=20000
for ((k = 0; k < TIMED_RUNS; k++)); do
	d_us=$((500 + k * range_us / TIMED_RUNS))
	test_expect_success ORIG "SIGKILL at $(printf '%d.%06d' $((d_us / 1000000)) $((d_us % 1000000)))s: exact result after the rerun" '
		timed_kill "$d_us"
	'
done
test_have_prereq ORIG && diag "timed runs: $killed of $TIMED_RUNS killed before they finished;" \
	"$PENDING_SEEN kills in all left a pending merge"
test_expect_success ORIG 'at least one kill left a pending merge' '
	echo "kills that left a pending merge: $PENDING_SEEN" &&
	test "$PENDING_SEEN" -gt 0
'

test_done
