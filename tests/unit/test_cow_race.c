// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Files that change under a running COW operation. A hook truncates a file at a chosen
 * moment: at the first read of its data, a read longer than a COW header (uk_read_hook: a
 * short read follows; the header probes that opening does come before) or at a named
 * mutating point before the copy (uk_io_hook: the file is short before anything reads it).
 * Every command that reads a backing or a COW must then fail, naming the file, and leave the
 * user's files as they were: merge, in-place merge, compare, diff, rebase. And a plain merge
 * beside an in-place merge of the same COW that is still running is told the COW is busy.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "umlkit/cow.h"
#include "umlkit/util.h"
#include "cow-files.h"

#define DISK_SIZE (1024 * 1024 + 700) /* ends mid-sector */

static char dir[256];
static char base_path[300], cow_path[300], merged_path[300], out_path[300], new_path[300];

/* ---- the truncation: at the first read of the victim, or at a mutating point ---- */
static struct {
	char path[300];
	ino_t ino;
	off_t to;	   /* its new size */
	off_t regrow;	   /* then this size again (zeros), when not 0: no read comes short */
	const char *point; /* NULL: at its first read; else at this uk_io_hook point */
	bool done;
} victim;

static void truncate_victim(void)
{
	assert_int_equal(truncate(victim.path, victim.to), 0);
	if (victim.regrow)
		assert_int_equal(truncate(victim.path, victim.regrow), 0);
	victim.done = true;
}

static void on_read(int fd, uint64_t len)
{
	struct stat st;

	if (!victim.done && !victim.point && len > UK_COW_HEADER_MAX && fstat(fd, &st) == 0 &&
	    st.st_ino == victim.ino)
		truncate_victim();
}

static void on_point(const char *name)
{
	if (!victim.done && victim.point && !strcmp(name, victim.point))
		truncate_victim();
}

/* Truncate path to `to` bytes at the first read of its data (point NULL) or at the first
 * uk_io_hook point of that name. */
static void arm(const char *path, off_t to, const char *point)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	snprintf(victim.path, sizeof(victim.path), "%s", path);
	victim.ino = st.st_ino;
	victim.to = to;
	victim.regrow = 0;
	victim.point = point;
	victim.done = false;
	uk_read_hook = on_read;
	uk_io_hook = on_point;
}

static void disarm(void)
{
	assert_true(victim.done); /* the test did what it says */
	uk_read_hook = NULL;
	uk_io_hook = NULL;
}

/* ---- files ---- */
/* A file's bytes, to tell later whether it changed. */
struct snapshot {
	uint8_t *bytes;
	size_t len;
};

static struct snapshot snap(const char *path)
{
	struct snapshot s;

	s.bytes = read_file(path, &s.len);
	return s;
}

static void assert_unchanged(const char *path, struct snapshot *s)
{
	size_t len;
	uint8_t *now = read_file(path, &len);

	assert_int_equal(len, s->len);
	assert_memory_equal(now, s->bytes, len);
	free(now);
	free(s->bytes);
}

static void assert_says(const struct uk_err *err, const char *a, const char *b)
{
	if (!strstr(err->msg, a) || !strstr(err->msg, b))
		fail_msg("the message does not say '%s' and '%s': %s", a, b, err->msg);
}

/* A backing of random bytes; a COW over it holding scattered sectors (the first and the
 * trailing partial one among them); what the guest sees, merged. */
static int setup(void **state)
{
	uint8_t *base = malloc(DISK_SIZE), *img = malloc(DISK_SIZE);
	struct uk_merge_opts mo = {0};
	struct uk_err err = {0};
	uint64_t sectors;

	(void)state;
	scratch_make(dir, sizeof(dir), "ukrace");
	snprintf(base_path, sizeof(base_path), "%s/base.img", dir);
	snprintf(cow_path, sizeof(cow_path), "%s/disk.cow", dir);
	snprintf(merged_path, sizeof(merged_path), "%s/merged.img", dir);
	snprintf(out_path, sizeof(out_path), "%s/out.img", dir);
	snprintf(new_path, sizeof(new_path), "%s/new.img", dir);
	srandom(22);
	for (size_t i = 0; i < DISK_SIZE; i++)
		base[i] = (uint8_t)(random() | 1); /* no zero byte: zeros are never right */
	memcpy(img, base, DISK_SIZE);
	for (size_t off = 0; off < DISK_SIZE; off += 200000)
		memset(img + off, 0x5a, UK_MIN((size_t)5000, DISK_SIZE - off));
	img[DISK_SIZE - 1] ^= 0xff;
	write_file(base_path, base, DISK_SIZE);
	write_file(new_path, img, DISK_SIZE);
	assert_int_equal(uk_cow_diff(base_path, new_path, cow_path, false, NULL, &sectors, &err),
			 0);
	assert_true(sectors > 0);
	assert_int_equal(uk_cow_merge(cow_path, merged_path, &mo, &err), 0);
	free(base);
	free(img);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	uk_read_hook = NULL;
	uk_io_hook = NULL;
	return scratch_remove(dir);
}

/* ---- merge into a new file ---- */
static void test_merge_backing_short_read(void **state)
{
	struct uk_merge_opts mo = {0};
	struct uk_err err = {0};

	(void)state;
	arm(base_path, DISK_SIZE / 2, NULL);
	assert_int_equal(uk_cow_merge(cow_path, out_path, &mo, &err), -EIO);
	disarm();
	assert_says(&err, base_path, "short read");
	assert_says(&err, out_path, "not written");
	assert_int_equal(access(out_path, F_OK), -1);
}

/* truncated before the copy, after the header check: no read comes short (its extents say
 * holes), the re-check after the pass tells */
static void test_merge_backing_truncated_before_copy(void **state)
{
	struct uk_merge_opts mo = {0};
	struct uk_err err = {0};

	(void)state;
	arm(base_path, 0, "ftruncate");
	assert_int_equal(uk_cow_merge(cow_path, out_path, &mo, &err), -ESTALE);
	disarm();
	assert_says(&err, base_path, "changed while it was read");
	assert_int_equal(access(out_path, F_OK), -1);
}

/* -f over an existing output: it keeps its bytes */
static void test_merge_force_keeps_old_output(void **state)
{
	struct uk_merge_opts mo = {.force = true};
	struct uk_err err = {0};
	struct snapshot old;
	uint8_t old_bytes[4096];

	(void)state;
	memset(old_bytes, 0x77, sizeof(old_bytes));
	write_file(out_path, old_bytes, sizeof(old_bytes));
	old = snap(out_path);
	arm(base_path, DISK_SIZE / 3, NULL);
	assert_true(uk_cow_merge(cow_path, out_path, &mo, &err) < 0);
	disarm();
	assert_says(&err, base_path, "short read");
	assert_unchanged(out_path, &old);
}

static void test_merge_cow_short_read(void **state)
{
	struct uk_merge_opts mo = {0};
	struct uk_err err = {0};
	struct stat st;

	(void)state;
	assert_int_equal(stat(cow_path, &st), 0);
	arm(cow_path, st.st_size - DISK_SIZE / 2, "ftruncate");
	assert_true(uk_cow_merge(cow_path, out_path, &mo, &err) < 0);
	disarm();
	assert_says(&err, cow_path, "short read");
	assert_int_equal(access(out_path, F_OK), -1);
}

/* ---- in place: the COW is read, the backing written ---- */
static void test_inplace_cow_short_read(void **state)
{
	struct uk_merge_opts mo = {0};
	struct uk_merge_result res;
	struct uk_err err = {0};
	struct snapshot base = snap(base_path);
	struct stat st;

	(void)state;
	assert_int_equal(stat(cow_path, &st), 0);
	/* at the journal's first write: before the copy reads the COW's data */
	arm(cow_path, st.st_size - DISK_SIZE, "pwrite");
	assert_true(uk_cow_merge_in_place(cow_path, &mo, &res, &err) < 0);
	disarm();
	assert_says(&err, cow_path, "short read");
	assert_says(&err, "merging into", "stopped");
	assert_unchanged(base_path, &base); /* nothing of the COW's was taken for zeros */
}

static void test_inplace_backing_truncated(void **state)
{
	struct uk_merge_opts mo = {0};
	struct uk_merge_result res;
	struct uk_err err = {0};
	struct snapshot cow = snap(cow_path);
	struct uk_cow_info info;

	(void)state;
	arm(base_path, DISK_SIZE / 2, "pwrite");
	assert_int_equal(uk_cow_merge_in_place(cow_path, &mo, &res, &err), -ESTALE);
	disarm();
	assert_says(&err, base_path, "size changed");
	assert_unchanged(cow_path, &cow); /* not emptied: it still holds its sectors */
	assert_int_equal(uk_cow_info(cow_path, 0, &info, &err), 0);
	assert_true(info.sectors_held > 0);
	assert_true(info.journal); /* the merge stays pending, the backing being damaged */
}

/* ---- reading both sides: compare, diff, rebase ---- */
static void test_compare_backing_short_read(void **state)
{
	struct uk_err err = {0};
	uint64_t off;

	(void)state;
	arm(base_path, DISK_SIZE / 2, NULL);
	assert_int_equal(uk_cow_disk_compare(cow_path, merged_path, 0, &off, NULL, &err), -EIO);
	disarm();
	assert_says(&err, base_path, "short read");
}

static void test_compare_raw_truncated_before_read(void **state)
{
	struct uk_err err = {0};
	uint64_t off;

	(void)state;
	arm(base_path, DISK_SIZE / 2, NULL);
	assert_true(uk_cow_disk_compare(base_path, base_path, 0, &off, NULL, &err) < 0);
	disarm();
	assert_says(&err, base_path, "short read");
}

/* cut and grown back to its size, zeros where its data was, before its first read: every read
 * is whole and the disks differ, but the difference is the cut's: an error, not exit 1 */
static void test_compare_backing_cut_and_regrown(void **state)
{
	struct uk_err err = {0};
	uint64_t off;

	(void)state;
	arm(base_path, 0, NULL);
	victim.regrow = DISK_SIZE;
	assert_int_equal(uk_cow_disk_compare(cow_path, merged_path, 0, &off, NULL, &err), -ESTALE);
	disarm();
	assert_says(&err, base_path, "changed while it was read");
}

static void test_diff_base_short_read(void **state)
{
	struct uk_err err = {0};
	uint64_t sectors;
	char cow2[320];

	(void)state;
	snprintf(cow2, sizeof(cow2), "%s/diff.cow", dir);
	arm(base_path, DISK_SIZE / 2, NULL);
	assert_int_equal(uk_cow_diff(base_path, merged_path, cow2, false, NULL, &sectors, &err),
			 -EIO);
	disarm();
	assert_says(&err, base_path, "short read");
	assert_int_equal(access(cow2, F_OK), -1);
}

/* The first data_offset bytes of the COW: header and bitmap. With the data of the sectors it
 * holds (rebase writes only others'), they are what the guest sees. */
static struct snapshot snap_layout(const char *path)
{
	struct uk_cow_info info;
	struct snapshot s = snap(path);

	assert_int_equal(uk_cow_info(path, 0, &info, NULL), 0);
	s.len = (size_t)info.h.data_offset;
	return s;
}

static void test_rebase_old_backing_short_read(void **state)
{
	struct uk_err err = {0};
	struct snapshot cow = snap_layout(cow_path), after;
	uint64_t copied;
	char other[320];
	size_t len;
	uint8_t *bytes = read_file(base_path, &len);

	(void)state;
	snprintf(other, sizeof(other), "%s/other.img", dir);
	bytes[4096 * 7] ^= 1;
	write_file(other, bytes, len);
	free(bytes);
	arm(base_path, DISK_SIZE / 2, NULL);
	assert_int_equal(uk_cow_rebase(cow_path, other, false, NULL, &copied, &err), -EIO);
	disarm();
	assert_says(&err, base_path, "short read");
	assert_says(&err, cow_path, "not rebased");
	after = snap_layout(cow_path);
	assert_int_equal(after.len, cow.len);
	assert_memory_equal(after.bytes, cow.bytes, cow.len);
	free(after.bytes);
	free(cow.bytes);
}

/* ---- a plain merge beside an in-place merge that runs ---- */
static int ready_fd = -1, go_fd = -1;

/* In the child: at the first mutating point after its journal is in place, tell the parent
 * and wait for its word. */
static void pause_when_journaled(const char *name)
{
	char jp[400], c;

	(void)name;
	if (ready_fd < 0 || uk_cow_journal_path(cow_path, jp, sizeof(jp)) < 0 ||
	    access(jp, F_OK) < 0)
		return;
	if (write(ready_fd, "r", 1) != 1 || read(go_fd, &c, 1) != 1)
		_exit(4);
	close(ready_fd);
	ready_fd = -1;
}

static void test_merge_beside_running_inplace(void **state)
{
	int ready[2], go[2], status;
	struct uk_merge_opts mo = {0};
	struct uk_err err = {0};
	struct uk_cow_check chk;
	char c, jp[400];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct uk_merge_result res;

		close(ready[0]);
		close(go[1]);
		ready_fd = ready[1];
		go_fd = go[0];
		uk_io_hook = pause_when_journaled;
		_exit(uk_cow_merge_in_place(cow_path, &mo, &res, NULL) == 0 ? 0 : 3);
	}
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &c, 1), 1); /* it runs, its journal made */
	assert_int_equal(uk_cow_merge(cow_path, out_path, &mo, &err), -EBUSY);
	assert_says(&err, cow_path, "busy");
	assert_says(&err, "in use by another merge", "in-place");
	if (strstr(err.msg, "interrupted"))
		fail_msg("a running merge is not an interrupted one: %s", err.msg);
	assert_int_equal(access(out_path, F_OK), -1);
	/* check -U (the lock left alone) says the same */
	assert_int_equal(uk_cow_check(cow_path, UK_COW_OPEN_SHARED, &chk), UK_CHECK_STALE);
	if (!strstr(chk.problems[0], "busy") || strstr(chk.problems[0], "interrupted"))
		fail_msg("check -U beside a running merge: %s", chk.problems[0]);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0); /* undisturbed */
	assert_int_equal(uk_cow_journal_path(cow_path, jp, sizeof(jp)), 0);
	assert_int_equal(access(jp, F_OK), -1);
	close(ready[0]);
	close(go[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merge_backing_short_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_backing_truncated_before_copy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_merge_force_keeps_old_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_cow_short_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inplace_cow_short_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inplace_backing_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compare_backing_short_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compare_raw_truncated_before_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_compare_backing_cut_and_regrown, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_diff_base_short_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebase_old_backing_short_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_merge_beside_running_inplace, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
