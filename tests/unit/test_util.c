// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/util: the error record, strict number and size parsing, MAC text, the kernel's
 * absolutize(), zero checks, the full I/O loops and new files that appear whole or not at all.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "umlkit/util.h"

/* ---- a scratch directory per test ---- */
struct scratch {
	char dir[PATH_MAX]; /* canonical (realpath) */
	char cwd[PATH_MAX]; /* restored on teardown */
};

static int scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	char tmpl[] = "/tmp/uk-test-util.XXXXXX";

	if (!s || !mkdtemp(tmpl) || !realpath(tmpl, s->dir) || !getcwd(s->cwd, sizeof(s->cwd)))
		return -1;
	*state = s;
	return 0;
}

static void rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char sub[PATH_MAX];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_rf(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;
	int r = chdir(s->cwd);

	rm_rf(s->dir);
	free(s);
	return r;
}

static void path_in(char *out, const struct scratch *s, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", s->dir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

static void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(uk_write_all(fd, content, strlen(content)), 0);
	close(fd);
}

static void assert_file_content(const char *path, const char *want)
{
	char got[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = uk_pread_full(fd, got, sizeof(got) - 1, 0);
	close(fd);
	assert_true(n >= 0);
	got[n] = '\0';
	assert_string_equal(got, want);
}

/* Names in a directory, sorted, joined with spaces ("" when empty). */
static void dir_listing(const char *dir, char *out, size_t outlen)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);

	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
			if (out[0])
				strncat(out, " ", outlen - strlen(out) - 1);
			strncat(out, list[i]->d_name, outlen - strlen(out) - 1);
		}
		free(list[i]);
	}
	free(list);
}

/* ---- parsing ---- */

static void test_parse_u64(void **state)
{
	static const char *const bad[] = {"",	 "-1",	"+1",	    " 1",   "1 ",  "1x", "0x10",
					  "1.5", "1e3", "\xd9\xa1", "12 3", "\t1", "K"};
	uint64_t v;

	assert_int_equal(uk_parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(uk_parse_u64("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(uk_parse_u64("1024000", &v), 0);
	assert_int_equal(v, 1024000);
	assert_int_equal(uk_parse_u64("18446744073709551615", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(uk_parse_u64("18446744073709551614", &v), 0);
	assert_int_equal(v, UINT64_MAX - 1);
	/* overflow, by one and by a lot */
	assert_int_equal(uk_parse_u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(uk_parse_u64("18446744073709551620", &v), -ERANGE);
	assert_int_equal(uk_parse_u64("99999999999999999999", &v), -ERANGE);
	assert_int_equal(uk_parse_u64("184467440737095516150", &v), -ERANGE);
	for (size_t i = 0; i < UK_ARRAY_SIZE(bad); i++) {
		v = 77;
		if (uk_parse_u64(bad[i], &v) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
	}
	assert_int_equal(uk_parse_u64(NULL, &v), -EINVAL);
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{"0", 0},
		{"512", 512},
		{"1K", 1024},
		{"1k", 1024},
		{"1KB", 1024},
		{"1KiB", 1024},
		{"3M", 3ULL << 20},
		{"3MB", 3ULL << 20},
		{"3MiB", 3ULL << 20},
		{"64m", 64ULL << 20},
		{"2G", 2ULL << 30},
		{"2GiB", 2ULL << 30},
		{"2gB", 2ULL << 30},
		{"5T", 5ULL << 40},
		{"5TB", 5ULL << 40},
		{"5TiB", 5ULL << 40},
		{"16777215T", 16777215ULL << 40},
		{"17179869183G", 17179869183ULL << 30},
		{"18446744073709551615", UINT64_MAX},
		{"0T", 0},
	};
	static const char *const bad[] = {
		"",    "K",   "KiB", "1X",   "1P",  "1KiBx", "1Kb",  "1Kib", "1KK", "1 K",
		" 1K", "-1K", "+1K", "1.5G", "1Ki", "1iB",   "0x1K", "1KBB", "1B ", "1K ",
	};
	uint64_t v;

	for (size_t i = 0; i < UK_ARRAY_SIZE(good); i++) {
		v = 12345;
		if (uk_parse_size(good[i].s, &v) != 0)
			fail_msg("\"%s\" was refused", good[i].s);
		if (v != good[i].v)
			fail_msg("\"%s\" gave %llu, want %llu", good[i].s, (unsigned long long)v,
				 (unsigned long long)good[i].v);
	}
	for (size_t i = 0; i < UK_ARRAY_SIZE(bad); i++)
		if (uk_parse_size(bad[i], &v) != -EINVAL)
			fail_msg("\"%s\" did not give -EINVAL", bad[i]);
	/* overflow: of the digits, and of the shift */
	assert_int_equal(uk_parse_size("18446744073709551616", &v), -ERANGE);
	assert_int_equal(uk_parse_size("16777216T", &v), -ERANGE);
	assert_int_equal(uk_parse_size("16777216TiB", &v), -ERANGE);
	assert_int_equal(uk_parse_size("17179869184G", &v), -ERANGE);
	assert_int_equal(uk_parse_size("17592186044416M", &v), -ERANGE);
	assert_int_equal(uk_parse_size("18014398509481984K", &v), -ERANGE);
	assert_int_equal(uk_parse_size("18014398509481983K", &v), 0);
	assert_int_equal(v, 18014398509481983ULL << 10);
	assert_int_equal(uk_parse_size("99999999999999999999999999999999999K", &v), -ERANGE);
	assert_int_equal(uk_parse_size(NULL, &v), -EINVAL);
}

/* ---- paths ---- */

/*
 * The layout the kernel's absolutize() was checked against (spec §1.6):
 *   <dir>/img/root.img         a file
 *   <dir>/img/sub/             a directory
 *   <dir>/img/last -> root.img a symlink in the last component
 *   <dir>/link -> img          a directory symlink
 */
static void make_tree(const struct scratch *s)
{
	char p[PATH_MAX];

	path_in(p, s, "img");
	assert_int_equal(mkdir(p, 0755), 0);
	path_in(p, s, "img/sub");
	assert_int_equal(mkdir(p, 0755), 0);
	path_in(p, s, "img/root.img");
	write_file(p, "root");
	path_in(p, s, "img/last");
	assert_int_equal(symlink("root.img", p), 0);
	path_in(p, s, "link");
	assert_int_equal(symlink("img", p), 0);
}

static void expect_abs(const char *in, const char *want)
{
	char out[PATH_MAX];
	struct uk_err err = {0};
	int r = uk_path_absolutize(in, out, sizeof(out), &err);

	if (r != 0)
		fail_msg("absolutize(\"%s\") failed: %d %s", in, r, err.msg);
	if (strcmp(out, want))
		fail_msg("absolutize(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

static void test_absolutize(void **state)
{
	struct scratch *s = *state;
	char want[PATH_MAX], in[PATH_MAX], sub[PATH_MAX], out[PATH_MAX];
	struct uk_err err = {0};

	make_tree(s);
	path_in(want, s, "img/root.img");

	/* absolute, through a directory symlink, through "..": all the same file */
	expect_abs(want, want);
	path_in(in, s, "link/root.img");
	expect_abs(in, want);
	path_in(in, s, "img/sub/../root.img");
	expect_abs(in, want);
	path_in(in, s, "link/sub/../root.img");
	expect_abs(in, want);
	path_in(in, s, "img/./root.img");
	expect_abs(in, want);
	path_in(in, s, "img//root.img");
	expect_abs(in, want);

	/* relative names, from the image directory and from below it */
	path_in(sub, s, "img");
	assert_int_equal(chdir(sub), 0);
	expect_abs("root.img", want); /* bare name: cwd + "/" + name */
	expect_abs("./root.img", want);
	expect_abs("sub/../root.img", want);
	path_in(sub, s, "img/sub");
	assert_int_equal(chdir(sub), 0);
	expect_abs("../root.img", want);
	expect_abs("../../link/root.img", want);

	/* the last component is kept even when it is a symlink */
	path_in(want, s, "img/last");
	expect_abs("../last", want);
	path_in(in, s, "link/last");
	expect_abs(in, want);
	/* it need not exist (only the directory is resolved) */
	path_in(want, s, "img/new.img");
	expect_abs("../new.img", want);

	/* a bare name is the cwd as getcwd() gives it, with the name appended */
	path_in(sub, s, "link");
	assert_int_equal(chdir(sub), 0); /* getcwd() gives the resolved img */
	path_in(want, s, "img/root.img");
	expect_abs("root.img", want);

	/* the root directory gets no double slash */
	expect_abs("/x.img", "/x.img");
	expect_abs("/../x.img", "/x.img");

	/* errors */
	assert_int_equal(uk_path_absolutize("", out, sizeof(out), &err), -EINVAL);
	path_in(in, s, "nodir/root.img");
	assert_true(uk_path_absolutize(in, out, sizeof(out), &err) < 0);
	assert_int_equal(err.code, ENOENT);
	path_in(in, s, "img/");
	assert_true(uk_path_absolutize(in, out, sizeof(out), &err) < 0);
	path_in(in, s, "img/..");
	assert_true(uk_path_absolutize(in, out, sizeof(out), &err) < 0);
	/* a regular file used as a directory (the kernel's chdir() fails there) */
	path_in(in, s, "img/root.img/x");
	assert_int_equal(uk_path_absolutize(in, out, sizeof(out), &err), -ENOTDIR);
	/* the output buffer is too small: refused, not truncated */
	path_in(in, s, "img/root.img");
	assert_int_equal(uk_path_absolutize(in, out, strlen(in), &err), -ENAMETOOLONG);
	assert_int_equal(uk_path_absolutize(in, out, strlen(in) + 1, &err), 0);
	assert_string_equal(out, in);
}

static void test_path_split(void **state)
{
	char dir[64], base[64];

	assert_int_equal(uk_path_split("/a/b/c.img", dir, sizeof(dir), base, sizeof(base)), 0);
	assert_string_equal(dir, "/a/b");
	assert_string_equal(base, "c.img");
	assert_int_equal(uk_path_split("c.img", dir, sizeof(dir), base, sizeof(base)), 0);
	assert_string_equal(dir, ".");
	assert_string_equal(base, "c.img");
	assert_int_equal(uk_path_split("/c.img", dir, sizeof(dir), base, sizeof(base)), 0);
	assert_string_equal(dir, "/");
	assert_string_equal(base, "c.img");
	assert_int_equal(uk_path_split("a/", dir, sizeof(dir), base, sizeof(base)), 0);
	assert_string_equal(dir, "a");
	assert_string_equal(base, "");
	assert_int_equal(uk_path_split("/ab/c", dir, 3, base, sizeof(base)), -ENAMETOOLONG);
	assert_int_equal(uk_path_split("/a/bcd", dir, sizeof(dir), base, 3), -ENAMETOOLONG);
}

/* ---- memory and I/O ---- */

static void test_mem_is_zero(void **state)
{
	uint8_t b[300];
	uint8_t *big;

	memset(b, 0, sizeof(b));
	for (size_t len = 0; len <= sizeof(b); len++) {
		assert_true(uk_mem_is_zero(b, len));
		/* one non-zero byte anywhere, including first and last */
		for (size_t i = 0; i < len; i++) {
			b[i] = (uint8_t)(1U << (i % 8));
			if (uk_mem_is_zero(b, len))
				fail_msg("len %zu: byte %zu non-zero not seen", len, i);
			b[i] = 0;
		}
	}
	/* a non-zero byte just past len is not looked at */
	b[10] = 0xFF;
	assert_true(uk_mem_is_zero(b, 10));
	assert_false(uk_mem_is_zero(b, 11));
	assert_true(uk_mem_is_zero(b + 11, sizeof(b) - 11));
	/* large, from the heap */
	big = calloc(1, 1 << 20);
	assert_non_null(big);
	assert_true(uk_mem_is_zero(big, 1 << 20));
	big[(1 << 20) - 1] = 1;
	assert_false(uk_mem_is_zero(big, 1 << 20));
	assert_true(uk_mem_is_zero(big, (1 << 20) - 1));
	big[(1 << 20) - 1] = 0;
	big[17] = 0x80;
	assert_false(uk_mem_is_zero(big, 1 << 20));
	free(big);
}

static void test_pread_pwrite(void **state)
{
	struct scratch *s = *state;
	char p[PATH_MAX];
	uint8_t w[10000], r[12000];
	int fd;

	path_in(p, s, "io");
	fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i * 7 + 3);
	/* write at an offset past EOF: the gap reads as zeros */
	assert_int_equal(uk_pwrite_all(fd, w, sizeof(w), 5000), 0);
	assert_int_equal(lseek(fd, 0, SEEK_END), 15000);
	memset(r, 0xAA, sizeof(r));
	assert_int_equal(uk_pread_full(fd, r, 5000, 0), 5000);
	assert_true(uk_mem_is_zero(r, 5000));
	assert_int_equal(uk_pread_full(fd, r, sizeof(w), 5000), (ssize_t)sizeof(w));
	assert_memory_equal(r, w, sizeof(w));
	/* a read across EOF returns what there is */
	assert_int_equal(uk_pread_full(fd, r, sizeof(r), 14000), 1000);
	assert_memory_equal(r, w + 9000, 1000);
	assert_int_equal(uk_pread_full(fd, r, sizeof(r), 15000), 0);
	assert_int_equal(uk_pread_full(fd, r, sizeof(r), 1ULL << 40), 0);
	/* overwrite in the middle, zero-length I/O */
	assert_int_equal(uk_pwrite_all(fd, "abc", 3, 7), 0);
	assert_int_equal(uk_pread_full(fd, r, 5, 6), 5);
	assert_memory_equal(r, "\0abc\0", 5);
	assert_int_equal(uk_pwrite_all(fd, w, 0, 0), 0);
	assert_int_equal(uk_pread_full(fd, r, 0, 0), 0);
	close(fd);

	/* errors come back as -errno */
	assert_int_equal(uk_pread_full(fd, r, 10, 0), -EBADF);
	assert_int_equal(uk_pwrite_all(fd, w, 10, 0), -EBADF);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(uk_pwrite_all(fd, w, 10, 0), -EBADF);
	close(fd);
	fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(uk_pread_full(fd, r, 10, 0), -EISDIR);
	close(fd);
}

/* ---- new files ---- */

static void test_newfile_create(void **state)
{
	struct scratch *s = *state;
	struct uk_newfile nf;
	struct uk_err err = {0};
	char p[PATH_MAX], ls[1024];
	struct stat st;
	mode_t old = umask(022);

	path_in(p, s, "new.img");
	assert_int_equal(uk_newfile_open(&nf, p, 0640, &err), 0);
	assert_true(nf.fd >= 0);
	assert_int_equal(uk_pwrite_all(nf.fd, "fresh", 5, 0), 0);
	/* nothing at the final name before the commit */
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(uk_newfile_commit(&nf, false, &err), 0);
	assert_file_content(p, "fresh");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* and nothing else in the directory */
	dir_listing(s->dir, ls, sizeof(ls));
	assert_string_equal(ls, "new.img");
	umask(old);
}

static void test_newfile_no_replace(void **state)
{
	struct scratch *s = *state;
	struct uk_newfile nf;
	struct uk_err err = {0};
	char p[PATH_MAX], ls[1024];

	path_in(p, s, "old.img");
	write_file(p, "old content");
	assert_int_equal(uk_newfile_open(&nf, p, 0644, &err), 0);
	assert_int_equal(uk_pwrite_all(nf.fd, "new", 3, 0), 0);
	assert_int_equal(uk_newfile_commit(&nf, false, &err), -EEXIST);
	assert_int_equal(err.code, EEXIST);
	assert_non_null(strstr(err.msg, "old.img"));
	assert_file_content(p, "old content");
	dir_listing(s->dir, ls, sizeof(ls));
	assert_string_equal(ls, "old.img"); /* no temporary left behind */
	uk_newfile_abort(&nf);		    /* harmless after a failed commit */
	dir_listing(s->dir, ls, sizeof(ls));
	assert_string_equal(ls, "old.img");
}

static void test_newfile_replace(void **state)
{
	struct scratch *s = *state;
	struct uk_newfile nf;
	struct uk_err err = {0};
	char p[PATH_MAX], ls[1024];
	struct stat before, after;
	int keep;

	path_in(p, s, "old.img");
	write_file(p, "old content, longer than the new one");
	assert_int_equal(stat(p, &before), 0);
	keep = open(p, O_RDONLY | O_CLOEXEC); /* holds the old inode */
	assert_true(keep >= 0);
	assert_int_equal(uk_newfile_open(&nf, p, 0644, &err), 0);
	assert_int_equal(uk_pwrite_all(nf.fd, "new", 3, 0), 0);
	assert_file_content(p, "old content, longer than the new one");
	assert_int_equal(uk_newfile_commit(&nf, true, &err), 0);
	assert_file_content(p, "new");
	/* replaced whole: a new inode, not the old one rewritten */
	assert_int_equal(stat(p, &after), 0);
	assert_true(after.st_ino != before.st_ino);
	assert_int_equal(fstat(keep, &before), 0);
	assert_int_equal(before.st_size, 36);
	close(keep);
	dir_listing(s->dir, ls, sizeof(ls));
	assert_string_equal(ls, "old.img");

	/* replace=true where nothing exists yet also works */
	path_in(p, s, "other.img");
	assert_int_equal(uk_newfile_open(&nf, p, 0644, &err), 0);
	assert_int_equal(uk_pwrite_all(nf.fd, "x", 1, 0), 0);
	assert_int_equal(uk_newfile_commit(&nf, true, &err), 0);
	assert_file_content(p, "x");
	dir_listing(s->dir, ls, sizeof(ls));
	assert_string_equal(ls, "old.img other.img");
}

/* replace=true never puts a file where a FIFO or directory was (nor a device: /dev/null) */
/* uk_name_check: what guests and switches may be called, and the message for the rest. */
static void test_name_check(void **state)
{
	static const struct {
		const char *name, *msg;
	} bad[] = {
		{"", "lab name is empty"},
		{"abcdefghi", "lab name 'abcdefghi' is longer than 8 characters"},
		{".x", "lab name '.x' may not start with '.'"},
		{"-x", "lab name '-x' may not start with '-'"},
		{"a/b", "lab name 'a/b': character '/' is not allowed (use letters, digits, '_', "
			"'.', '-')"},
		{"a b", "lab name 'a b': character ' ' is not allowed"},
	};
	static const char *const good[] = {"a", "A.b-c_9", "x-", "x.", "12345678"};
	char longname[64];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(uk_name_check("lab", good[i], 8, NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct uk_err err = {0};

		assert_int_equal(uk_name_check("lab", bad[i].name, 8, &err), -EINVAL);
		assert_non_null(strstr(err.msg, bad[i].msg));
	}
	/* a long name is cut in the message */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	{
		struct uk_err err = {0};

		assert_int_equal(uk_name_check("lab", longname, 8, &err), -EINVAL);
		assert_string_equal(err.msg,
				    "lab name 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' is "
				    "longer than 8 characters");
	}
}

static void test_newfile_replace_only_files(void **state)
{
	struct scratch *s = *state;
	struct uk_newfile nf;
	struct uk_err err = {0};
	char p[PATH_MAX], d[PATH_MAX], ls[1024];
	struct stat st;

	path_in(p, s, "pipe");
	assert_int_equal(mkfifo(p, 0600), 0);
	path_in(d, s, "dir");
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(uk_newfile_open(&nf, p, 0644, &err), 0);
	assert_int_equal(uk_newfile_commit(&nf, true, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "pipe: is not a regular file"));
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(uk_newfile_open(&nf, d, 0644, &err), 0);
	assert_int_equal(uk_newfile_commit(&nf, true, &err), -EEXIST);
	assert_int_equal(lstat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	dir_listing(s->dir, ls, sizeof(ls));
	assert_string_equal(ls, "dir pipe"); /* no temporary left behind */

	/* a symbolic link is a name like any other: replaced, its target kept */
	path_in(p, s, "link");
	assert_int_equal(symlink("pipe", p), 0);
	assert_int_equal(uk_newfile_open(&nf, p, 0644, &err), 0);
	assert_int_equal(uk_pwrite_all(nf.fd, "y", 1, 0), 0);
	assert_int_equal(uk_newfile_commit(&nf, true, &err), 0);
	assert_file_content(p, "y");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	path_in(p, s, "pipe");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
}

static void test_newfile_abort(void **state)
{
	struct scratch *s = *state;
	struct uk_newfile nf;
	struct uk_err err = {0};
	char p[PATH_MAX], ls[1024];

	path_in(p, s, "gone.img");
	assert_int_equal(uk_newfile_open(&nf, p, 0644, &err), 0);
	assert_int_equal(uk_pwrite_all(nf.fd, "data", 4, 0), 0);
	uk_newfile_abort(&nf);
	assert_int_equal(nf.fd, -1);
	dir_listing(s->dir, ls, sizeof(ls));
	assert_string_equal(ls, "");
	uk_newfile_abort(&nf); /* twice is harmless */

	/* abort next to an existing file leaves it alone */
	write_file(p, "keep");
	assert_int_equal(uk_newfile_open(&nf, p, 0644, &err), 0);
	assert_int_equal(uk_pwrite_all(nf.fd, "data", 4, 0), 0);
	uk_newfile_abort(&nf);
	assert_file_content(p, "keep");
	dir_listing(s->dir, ls, sizeof(ls));
	assert_string_equal(ls, "gone.img");

	/* a directory that does not exist: an error, and nothing created */
	path_in(p, s, "nodir/x.img");
	assert_true(uk_newfile_open(&nf, p, 0644, &err) < 0);
	assert_int_equal(nf.fd, -1);
	assert_non_null(strstr(err.msg, "x.img"));
	dir_listing(s->dir, ls, sizeof(ls));
	assert_string_equal(ls, "gone.img");
}

/* A bare file name: the temporary goes in the cwd. */
static void test_newfile_relative(void **state)
{
	struct scratch *s = *state;
	struct uk_newfile nf;
	struct uk_err err = {0};
	char ls[1024];

	assert_int_equal(chdir(s->dir), 0);
	assert_int_equal(uk_newfile_open(&nf, "rel.img", 0644, &err), 0);
	assert_int_equal(uk_pwrite_all(nf.fd, "rel", 3, 0), 0);
	assert_int_equal(uk_newfile_commit(&nf, false, &err), 0);
	assert_file_content("rel.img", "rel");
	dir_listing(s->dir, ls, sizeof(ls));
	assert_string_equal(ls, "rel.img");
}

static void test_mac_text(void **state)
{
	static const uint8_t want[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	uint8_t m[6], back[6];
	char s[18];

	assert_int_equal(uk_mac_parse("52:54:00:12:34:56", m), 0);
	assert_memory_equal(m, want, 6);
	uk_mac_format(m, s);
	assert_string_equal(s, "52:54:00:12:34:56");
	assert_int_equal(uk_mac_parse("FF:ff:Ff:fF:aB:Cd", m), 0);
	uk_mac_format(m, s);
	assert_string_equal(s, "ff:ff:ff:ff:ab:cd");
	assert_int_equal(uk_mac_parse("00:00:00:00:00:00", m), 0);
	uk_mac_format(m, s);
	assert_string_equal(s, "00:00:00:00:00:00");

	/* every byte value round-trips, in every position */
	for (unsigned v = 0; v < 256; v++) {
		for (int b = 0; b < 6; b++)
			m[b] = (uint8_t)(v * (b + 1) + b);
		memset(s, 'x', sizeof(s));
		uk_mac_format(m, s);
		assert_int_equal(strlen(s), 17);
		assert_int_equal(uk_mac_parse(s, back), 0);
		assert_memory_equal(back, m, 6);
	}
}

static void test_mac_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"5",
		"52:54:00:12:34",
		"52:54:00:12:34:5",
		"52:54:00:12:34:56:",
		"52:54:00:12:34:567",
		"52:54:00:12:34:56 ",
		" 52:54:00:12:34:56",
		"52-54-00-12-34-56",
		"52:54:00:12:34-56",
		"5254.0012.3456",
		"525400123456",
		"2:54:00:12:34:56:",
		"52:54:0:12:34:56",
		"52:54:00:12:34:5g",
		"g2:54:00:12:34:56",
		"52:54::0:12:34:56",
		"52:54:00:12:34:+6",
		"0x:54:00:12:34:56",
		"52:54:00:12:34:56\n",
		"52::54:00:12:34:56",
	};
	uint8_t m[6];

	for (size_t i = 0; i < UK_ARRAY_SIZE(bad); i++) {
		/* the input on the heap at its exact length: no read past the NUL */
		char *s = strdup(bad[i]);

		assert_non_null(s);
		memset(m, 0x77, sizeof(m));
		if (uk_mac_parse(s, m) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		/* and mac is left alone */
		for (int b = 0; b < 6; b++)
			assert_int_equal(m[b], 0x77);
		free(s);
	}
	assert_int_equal(uk_mac_parse(NULL, m), -EINVAL);
}

/* ---- the error record ---- */

/* Without a record, each helper still returns the real code: a caller that passes no err
 * (a probe, a best-effort cleanup) must be able to tell ENOENT from EMEDIUMTYPE. */
static void test_err_without_record(void **state)
{
	(void)state;
	assert_int_equal(uk_err_set(NULL, ENOENT, "x"), -ENOENT);
	assert_int_equal(uk_err_sys(NULL, EACCES, "x"), -EACCES);
	assert_int_equal(uk_err_prefix(NULL, -ENOENT, "%s: ", "a.cow"), -ENOENT);
	assert_int_equal(uk_err_prefix(NULL, -EMEDIUMTYPE, "a.cow: "), -EMEDIUMTYPE);
	assert_int_equal(uk_err_prefix(NULL, -EAGAIN, "a.cow: "), -EAGAIN);
	/* no code is never success */
	assert_int_equal(uk_err_set(NULL, 0, "x"), -EIO);
	assert_int_equal(uk_err_prefix(NULL, 0, "x"), -EIO);
	assert_int_equal(uk_err_prefix(NULL, 1, "x"), -EIO);
}

/* A callee's failure, passed up through two callers with their context. */
static int callee(struct uk_err *err)
{
	return uk_err_set(err, EMEDIUMTYPE, "not a COW file");
}

static int caller(const char *path, struct uk_err *err)
{
	int r = callee(err);

	return r < 0 ? uk_err_prefix(err, r, "%s: ", path) : r;
}

static void test_err_prefix(void **state)
{
	struct uk_err err = {0};
	char big[UK_ERR_MSG_MAX + 100];

	(void)state;
	assert_int_equal(caller("web.cow", &err), -EMEDIUMTYPE);
	assert_int_equal(err.code, EMEDIUMTYPE);
	assert_string_equal(err.msg, "web.cow: not a COW file");
	assert_int_equal(uk_err_prefix(&err, -EMEDIUMTYPE, "guest '%s': ", "web"), -EMEDIUMTYPE);
	assert_string_equal(err.msg, "guest 'web': web.cow: not a COW file");
	assert_int_equal(caller("web.cow", NULL), -EMEDIUMTYPE);

	/* the code returned is the one recorded, also when the callee recorded none */
	uk_err_clear(&err);
	assert_int_equal(uk_err_prefix(&err, -ETIMEDOUT, "mconsole: "), -ETIMEDOUT);
	assert_int_equal(err.code, ETIMEDOUT);
	assert_string_equal(err.msg, "mconsole: ");

	/* a long prefix keeps the record a NUL-terminated string of the maximum length */
	uk_err_set(&err, EINVAL, "tail");
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(uk_err_prefix(&err, -EINVAL, "%s", big), -EINVAL);
	assert_int_equal(strlen(err.msg), UK_ERR_MSG_MAX - 1);
	assert_int_equal(err.msg[0], 'p');
	uk_err_set(&err, EINVAL, "%s", big);
	assert_int_equal(uk_err_prefix(&err, -EINVAL, "ctx: "), -EINVAL);
	assert_int_equal(strlen(err.msg), UK_ERR_MSG_MAX - 1);
	assert_memory_equal(err.msg, "ctx: ppp", 8);
}

/* ---- the cache directory and companion files ---- */
static void test_cache_dir(void **state)
{
	struct scratch *s = *state;
	char base[PATH_MAX + 16], out[PATH_MAX], want[PATH_MAX + 32];
	struct uk_err err;
	struct stat st;

	snprintf(base, sizeof(base), "%s/c/umlkit", s->dir);
	setenv("UMLKIT_CACHE_DIR", base, 1);
	assert_int_equal(uk_cache_dir("images", out, sizeof(out), &err), 0);
	snprintf(want, sizeof(want), "%s/images", base);
	assert_string_equal(out, want);
	assert_int_equal(lstat(out, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(base, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* again: the same, nothing changed */
	assert_int_equal(uk_cache_dir("images", out, sizeof(out), &err), 0);
	/* a symlink in its place is refused, not followed */
	snprintf(want, sizeof(want), "%s/sub-link", s->dir);
	assert_int_equal(symlink("/tmp", want), 0);
	assert_int_equal(rmdir(out), 0);
	assert_int_equal(rename(want, out), 0);
	assert_int_equal(uk_cache_dir("images", out, sizeof(out), &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "symlink"));
	/* names that would leave the cache */
	assert_int_equal(uk_cache_dir("../x", out, sizeof(out), &err), -EINVAL);
	assert_int_equal(uk_cache_dir("..", out, sizeof(out), &err), -EINVAL);
	unsetenv("UMLKIT_CACHE_DIR");
	/* $XDG_CACHE_HOME/umlkit next */
	setenv("XDG_CACHE_HOME", s->dir, 1);
	assert_int_equal(uk_cache_dir("kernels", out, sizeof(out), &err), 0);
	snprintf(want, sizeof(want), "%s/umlkit/kernels", s->dir);
	assert_string_equal(out, want);
	unsetenv("XDG_CACHE_HOME");
}

/* ---- the runtime directory, opened as one only this user can change ---- */
static void test_runtime_dir_open(void **state)
{
	struct scratch *s = *state;
	char xdg[PATH_MAX + 8], g[PATH_MAX + 32], link[PATH_MAX + 32];
	struct uk_err err;
	struct stat st;
	int fd, gfd;

	snprintf(xdg, sizeof(xdg), "%s/xdg", s->dir);
	assert_int_equal(mkdir(xdg, 0700), 0);
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	/* missing, and not to be made */
	assert_int_equal(uk_runtime_dir_open("guests", false, &err), -ENOENT);
	fd = uk_runtime_dir_open("guests", true, &err);
	assert_true(fd >= 0);
	snprintf(g, sizeof(g), "%s/umlkit/guests", xdg);
	assert_int_equal(lstat(g, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	gfd = uk_dir_open_private(fd, "g", true, "G", &err);
	assert_true(gfd >= 0);
	close(gfd);
	/* a directory others can write to */
	strcat(g, "/g");
	assert_int_equal(chmod(g, 0777), 0);
	assert_int_equal(uk_dir_open_private(fd, "g", false, "G", &err), -EPERM);
	assert_string_equal(err.msg,
			    "G: writable by its group or others (mode 0777): refusing to use it");
	/* a symlink in its place is refused, not followed */
	snprintf(link, sizeof(link), "%s/elsewhere", s->dir);
	assert_int_equal(mkdir(link, 0700), 0);
	assert_int_equal(rmdir(g), 0);
	assert_int_equal(symlink(link, g), 0);
	assert_int_equal(uk_dir_open_private(fd, "g", true, "G", &err), -EPERM);
	assert_string_equal(err.msg, "G: a symlink: refusing to follow it");
	close(fd);
	/* the runtime directory itself writable by others */
	assert_int_equal(chmod(xdg, 01777), 0);
	assert_int_equal(uk_runtime_dir_open("guests", false, &err), -EPERM);
	assert_non_null(strstr(err.msg, xdg));
	unsetenv("XDG_RUNTIME_DIR");
}

/* escape TEXT whole, in one chunk, and in chunks of 1 byte: the same result */
static void expect_escaped(const char *in, size_t len, const char *want)
{
	char out[UK_ESC_OUT(64)], one[UK_ESC_OUT(64)];
	struct uk_esc st = {0};
	size_t n, m = 0;

	assert_true(len <= 64);
	n = uk_esc_chunk(&st, in, len, out);
	n += uk_esc_end(&st, out + n);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	for (size_t i = 0; i < len; i++)
		m += uk_esc_chunk(&st, in + i, 1, one + m);
	m += uk_esc_end(&st, one + m);
	assert_int_equal(m, n);
	assert_memory_equal(one, want, m);
}

/* A guest's text cannot drive the operator's terminal: ESC, BEL, other C0 bytes, DEL and
 * the UTF-8 C1 controls come out as \xHH; text, UTF-8 and line ends pass. */
static void test_escape_controls(void **state)
{
	char small[12];

	expect_escaped("plain text\r\n\tok", 15, "plain text\r\n\tok");
	expect_escaped("\x1b]0;owned\a\x1b[2J", 14, "\\x1b]0;owned\\x07\\x1b[2J");
	expect_escaped("a\0b\x7f", 4, "a\\x00b\\x7f");
	expect_escaped("\xc2\x9b"
		       "31m",
		       5, "\\xc2\\x9b31m");
	expect_escaped("caf\xc3\xa9 \xc2\xa0\xe2\x82\xac", 11, "caf\xc3\xa9 \xc2\xa0\xe2\x82\xac");
	expect_escaped("end\xc2", 4, "end\xc2");
	expect_escaped("\xc2\xc2\x85", 3, "\xc2\\xc2\\x85");
	uk_esc_str("\x1b[H\x1b[2Jgone", small, sizeof(small));
	assert_string_equal(small, "\\x1b[H\\x1b[");
	uk_esc_str("", small, sizeof(small));
	assert_string_equal(small, "");
}

static void test_find_companion(void **state)
{
	char out[PATH_MAX];
	struct uk_err err;

	(void)state;
	assert_int_equal(uk_find_companion("no-such-companion", out, sizeof(out), &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no-such-companion"));
	assert_string_equal(out, "");
	/* the unit test binary itself sits in its own directory */
	assert_int_equal(uk_find_companion("test_util", out, sizeof(out), &err), 0);
	assert_int_equal(access(out, X_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_without_record),
		cmocka_unit_test_setup_teardown(test_cache_dir, scratch_setup, scratch_teardown),
		cmocka_unit_test(test_find_companion),
		cmocka_unit_test_setup_teardown(test_runtime_dir_open, scratch_setup,
						scratch_teardown),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_err_prefix),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_mac_text),
		cmocka_unit_test(test_mac_rejects),
		cmocka_unit_test_setup_teardown(test_absolutize, scratch_setup, scratch_teardown),
		cmocka_unit_test(test_path_split),
		cmocka_unit_test(test_mem_is_zero),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test_setup_teardown(test_pread_pwrite, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_newfile_create, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_newfile_no_replace, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_newfile_replace, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_newfile_replace_only_files, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_newfile_abort, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_newfile_relative, scratch_setup,
						scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
