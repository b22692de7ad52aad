// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Crash test of the in-place merge: a child process runs the merge and kills itself with
 * SIGKILL just before its Nth mutating file operation (every pwrite, fsync, fallocate,
 * link, rename, unlink the library does passes uk_io_hook). The parent then reruns the
 * merge normally and checks the backing equals the expected image byte for byte, the COW is
 * empty and sound, and no journal is left. N runs over every point until the child finishes
 * without being killed.
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
static char base_path[300], expect_path[300], cow_path[300], pristine_path[300], pristine_cow[300];
static long crash_at, points;

static void crash_hook(const char *name)
{
	(void)name;
	if (++points == crash_at)
		raise(SIGKILL);
}

static void copy_file(const char *from, const char *to)
{
	size_t len;
	uint8_t *buf = read_file(from, &len);
	struct stat st;

	write_file(to, buf, len);
	free(buf);
	/* keep the mtime, so the COW's stamp stays valid for the copy */
	assert_int_equal(stat(from, &st), 0);
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	assert_int_equal(utimensat(AT_FDCWD, to, ts, 0), 0);
}

/* A base image, a new image differing in scattered runs, a COW holding the difference. */
static int setup(void **state)
{
	uint8_t *base = malloc(DISK_SIZE), *img = malloc(DISK_SIZE);
	uint64_t sectors;
	struct uk_err err = {0};
	char path_new[300];

	scratch_make(dir, sizeof(dir), "ukcrash");
	snprintf(base_path, sizeof(base_path), "%s/base.img", dir);
	snprintf(expect_path, sizeof(expect_path), "%s/expect.img", dir);
	snprintf(cow_path, sizeof(cow_path), "%s/disk.cow", dir);
	snprintf(pristine_path, sizeof(pristine_path), "%s/base.pristine", dir);
	snprintf(pristine_cow, sizeof(pristine_cow), "%s/disk.cow.pristine", dir);
	snprintf(path_new, sizeof(path_new), "%s/new.img", dir);
	srandom(7);
	for (size_t i = 0; i < DISK_SIZE; i++)
		base[i] = (uint8_t)random();
	memcpy(img, base, DISK_SIZE);
	for (int run = 0; run < 40; run++) {
		size_t off = (size_t)random() % DISK_SIZE;
		size_t len = UK_MIN((size_t)(4096 + random() % 20000), DISK_SIZE - off);

		for (size_t i = 0; i < len; i++)
			img[off + i] = (uint8_t)random();
	}
	memset(img + 300000, 0, 70000); /* zeros over data: must become zeros in the backing */
	img[DISK_SIZE - 1] ^= 0xff;	/* the trailing partial sector changes too */
	write_file(pristine_path, base, DISK_SIZE);
	write_file(expect_path, img, DISK_SIZE);
	write_file(path_new, img, DISK_SIZE);
	copy_file(pristine_path, base_path);
	assert_int_equal(uk_cow_diff(base_path, path_new, cow_path, false, NULL, &sectors, &err),
			 0);
	assert_true(sectors > 0);
	copy_file(cow_path, pristine_cow);
	free(base);
	free(img);
	*state = NULL;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove(dir);
}

/* Run the merge in a child that dies before mutating point n. Returns true if it died. */
static bool merge_killed_at(long n)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct uk_merge_opts o = {0};
		struct uk_merge_result res;

		crash_at = n;
		points = 0;
		uk_io_hook = crash_hook;
		_exit(uk_cow_merge_in_place(cow_path, &o, &res, NULL) == 0 ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status)) {
		assert_int_equal(WTERMSIG(status), SIGKILL);
		return true;
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return false;
}

static void assert_merged_exactly(void)
{
	struct uk_merge_opts o = {0};
	struct uk_merge_result res;
	struct uk_err err = {0};
	struct uk_cow_check chk;
	size_t la, lb;
	uint8_t *a, *b;
	char jp[400];

	assert_int_equal(uk_cow_merge_in_place(cow_path, &o, &res, &err), 0);
	a = read_file(base_path, &la);
	b = read_file(expect_path, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
	assert_int_equal(uk_cow_check(cow_path, 0, &chk), UK_CHECK_OK);
	assert_int_equal(chk.info.sectors_held, 0);
	assert_int_equal(uk_cow_journal_path(cow_path, jp, sizeof(jp)), 0);
	assert_int_equal(access(jp, F_OK), -1);
}

static void test_kill_at_every_point(void **state)
{
	long n, killed = 0;

	(void)state;
	for (n = 1; n < 10000; n++) {
		bool died;

		copy_file(pristine_path, base_path);
		copy_file(pristine_cow, cow_path);
		died = merge_killed_at(n);
		if (died) {
			struct uk_cow_check chk;

			killed++;
			/* a pending merge is never reported as sound */
			if (uk_cow_check(cow_path, 0, &chk) == UK_CHECK_OK)
				assert_int_equal(access(expect_path, F_OK), 0);
		}
		assert_merged_exactly();
		if (!died)
			break;
	}
	print_message("# killed at %ld points, then completed\n", killed);
	assert_true(killed >= 5);
}

/* A second merge right after a finished one has nothing to do and changes nothing. */
static void test_rerun_is_noop(void **state)
{
	size_t la;
	uint8_t *a;

	(void)state;
	copy_file(pristine_path, base_path);
	copy_file(pristine_cow, cow_path);
	assert_merged_exactly();
	assert_merged_exactly();
	a = read_file(base_path, &la);
	assert_int_equal(la, DISK_SIZE);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_at_every_point),
		cmocka_unit_test(test_rerun_is_noop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
