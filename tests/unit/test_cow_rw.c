// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A differential test of the COW image layer: random guest writes (partial sectors
 * included) go both through uk_cow_write and into a flat in-memory copy of the disk; then
 * uk_cow_read, a reopened COW, the bitmap on disk and uk_cow_merge's output must all agree
 * with the flat copy, byte for byte, and the backing must be untouched. And a raw image
 * opened without an error record.
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

#include "umlkit/cow.h"
#include "umlkit/util.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static void fill_random(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(rnd() >> 56);
}

struct scratch {
	char dir[PATH_MAX];
};

static int scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	char tmpl[] = "/tmp/uk-test-cow-rw.XXXXXX";

	if (!s || !mkdtemp(tmpl) || !realpath(tmpl, s->dir))
		return -1;
	*state = s;
	return 0;
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;
	DIR *d = opendir(s->dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char p[PATH_MAX + 256];

		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", s->dir, e->d_name);
			unlink(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(s->dir);
	free(s);
	return 0;
}

static void path_in(char *out, const struct scratch *s, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", s->dir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

static void write_whole(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(uk_pwrite_all(fd, data, len, 0), 0);
	assert_int_equal(close(fd), 0);
}

/* The whole file, and its length in *len. */
static uint8_t *read_whole(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *p;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(uk_pread_full(fd, p, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* A COW as the kernel would create it, built from the codec alone: header, holes, and a
 * file of data_offset + size bytes. */
static void make_cow_by_hand(const char *cow, const char *backing)
{
	uint8_t hdr[UK_COW_HEADER_MAX];
	struct uk_cow_header h;
	struct uk_err err = {0};
	struct stat st;
	int fd, n;

	assert_int_equal(stat(backing, &st), 0);
	assert_int_equal(
		uk_cow_header_init(&h, backing, (uint64_t)st.st_size, (uint32_t)st.st_mtime, &err),
		0);
	n = uk_cow_header_encode(&h, hdr, sizeof(hdr));
	assert_int_equal(n, UK_COW_V3_HEADER_LEN);
	fd = open(cow, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(uk_pwrite_all(fd, hdr, (size_t)n, 0), 0);
	assert_int_equal(ftruncate(fd, (off_t)(h.data_offset + h.size)), 0);
	assert_int_equal(close(fd), 0);
}

/* uk_cow_create must give exactly what the codec describes. */
static void check_created(const char *cow, const char *backing)
{
	uint8_t want[UK_COW_HEADER_MAX];
	struct uk_cow_header h;
	struct uk_err err = {0};
	struct stat st;
	size_t len;
	uint8_t *got;

	assert_int_equal(stat(backing, &st), 0);
	assert_int_equal(
		uk_cow_header_init(&h, backing, (uint64_t)st.st_size, (uint32_t)st.st_mtime, &err),
		0);
	assert_int_equal(uk_cow_header_encode(&h, want, sizeof(want)), UK_COW_V3_HEADER_LEN);
	got = read_whole(cow, &len);
	assert_int_equal(len, h.data_offset + h.size);
	assert_memory_equal(got, want, UK_COW_V3_HEADER_LEN);
	/* holes up to the data, an empty bitmap */
	assert_true(
		uk_mem_is_zero(got + UK_COW_V3_HEADER_LEN, h.data_offset - UK_COW_V3_HEADER_LEN));
	free(got);
}

/* One random guest write: partial sectors, whole sectors, runs across the end. */
static void random_extent(uint64_t size, uint64_t *off, size_t *len)
{
	uint64_t o, l, max;

	switch (rnd() % 8) {
	case 0: /* sector-aligned, whole sectors */
		o = (rnd() % ((size + 511) / 512)) * 512;
		l = 512 * (1 + rnd() % 16);
		break;
	case 1: /* the tail of the disk */
		o = size - 1 - rnd() % UK_MIN(size, 1500);
		l = 1 + rnd() % 2000;
		break;
	case 2: /* a long one, crossing many sectors (and bitmap words) */
		o = rnd() % size;
		l = 1 + rnd() % 70000;
		break;
	case 3: /* one byte */
		o = rnd() % size;
		l = 1;
		break;
	default: /* small, anywhere */
		o = rnd() % size;
		l = 1 + rnd() % 1500;
		break;
	}
	max = size - o;
	*off = o;
	*len = (size_t)UK_MIN(l, max);
}

/* Read the guest-visible disk in random chunks and compare with the flat copy. */
static void check_reads(struct uk_cow *c, const uint8_t *flat, uint64_t size)
{
	struct uk_err err = {0};
	uint8_t *buf = malloc(size + 4096);
	uint64_t off = 0;

	assert_non_null(buf);
	/* whole disk at once */
	memset(buf, 0xCC, size + 4096);
	assert_int_equal(uk_cow_read(c, buf, size, 0, &err), 0);
	assert_memory_equal(buf, flat, size);
	/* in odd chunks */
	while (off < size) {
		uint64_t want = 1 + rnd() % 5000; /* UK_MIN evaluates its arguments twice */
		size_t n = (size_t)UK_MIN(size - off, want);

		assert_int_equal(uk_cow_read(c, buf, n, off, &err), 0);
		if (memcmp(buf, flat + off, n))
			fail_msg("disk of %llu bytes: read of %zu bytes at %llu differs",
				 (unsigned long long)size, n, (unsigned long long)off);
		off += n;
	}
	/* past the end: zeros (the last partial sector is zero-padded) */
	memset(buf, 0xCC, 4096);
	assert_int_equal(uk_cow_read(c, buf, 4096, size, &err), 0);
	assert_true(uk_mem_is_zero(buf, 4096));
	free(buf);
}

static void run_differential(const struct scratch *s, uint64_t size, uint64_t seed, bool create)
{
	char backing[PATH_MAX], cow[PATH_MAX], out[PATH_MAX];
	struct uk_err err = {0};
	struct uk_cow *c;
	uint8_t *orig, *flat, *wbuf, *touched, *got;
	uint64_t sectors = (size + 511) / 512, ntouched = 0;
	struct stat bst_before, bst_after;
	struct uk_merge_opts mo = {0};
	struct uk_cow_header h;
	struct uk_cow_check *chk;
	size_t len;

	rng_state = seed;
	path_in(backing, s, "back.img");
	path_in(cow, s, "disk.cow");
	path_in(out, s, "merged.img");
	unlink(backing);
	unlink(cow);
	unlink(out);

	orig = malloc(size);
	flat = malloc(size);
	wbuf = malloc(80000);
	touched = calloc(1, sectors);
	assert_true(orig && flat && wbuf && touched);
	fill_random(orig, size);
	memcpy(flat, orig, size);
	write_whole(backing, orig, size);
	assert_int_equal(stat(backing, &bst_before), 0);

	if (create) {
		if (uk_cow_create(cow, backing, false, &err) != 0)
			fail_msg("uk_cow_create: %s", err.msg);
		check_created(cow, backing);
	} else {
		make_cow_by_hand(cow, backing);
	}

	if (uk_cow_open(&c, cow, NULL, UK_COW_OPEN_WRITE, &err) != 0)
		fail_msg("uk_cow_open: %s", err.msg);
	assert_int_equal(c->h.size, size);
	assert_int_equal(c->h.sectors, sectors);
	assert_int_equal(uk_cow_sectors_held(c), 0);
	/* a fresh COW reads as its backing */
	check_reads(c, flat, size);

	for (int i = 0; i < 300; i++) {
		uint64_t off;
		size_t n;

		random_extent(size, &off, &n);
		fill_random(wbuf, n);
		if (uk_cow_write(c, wbuf, n, off, &err) != 0)
			fail_msg("write %d (%zu bytes at %llu): %s", i, n, (unsigned long long)off,
				 err.msg);
		memcpy(flat + off, wbuf, n);
		for (uint64_t sec = off / 512; sec <= (off + n - 1) / 512; sec++) {
			ntouched += !touched[sec];
			touched[sec] = 1;
		}
		/* now and then, check a read of what was just written */
		if (i % 37 == 0) {
			memset(wbuf, 0, n);
			assert_int_equal(uk_cow_read(c, wbuf, n, off, &err), 0);
			assert_memory_equal(wbuf, flat + off, n);
		}
	}
	/* writes past the disk are refused and change nothing */
	assert_int_equal(uk_cow_write(c, wbuf, 1, sectors * 512, &err), -ENOSPC);
	assert_int_equal(uk_cow_write(c, wbuf, 1024, sectors * 512 - 512, &err), -ENOSPC);

	assert_int_equal(uk_cow_flush(c, &err), 0);
	assert_int_equal(uk_cow_sectors_held(c), ntouched);
	for (uint64_t sec = 0; sec < sectors; sec++)
		assert_int_equal(uk_bitmap_test(c->bitmap, sec), touched[sec]);
	check_reads(c, flat, size);
	uk_cow_close(c);

	/* the backing is untouched: content and mtime */
	got = read_whole(backing, &len);
	assert_int_equal(len, size);
	assert_memory_equal(got, orig, size);
	free(got);
	assert_int_equal(stat(backing, &bst_after), 0);
	assert_int_equal(bst_after.st_mtime, bst_before.st_mtime);

	/* the bitmap on disk is the one flushed: reopen read-only and read again */
	if (uk_cow_open(&c, cow, NULL, 0, &err) != 0)
		fail_msg("reopen: %s", err.msg);
	assert_int_equal(uk_cow_sectors_held(c), ntouched);
	check_reads(c, flat, size);
	h = c->h;
	assert_int_equal(uk_cow_write(c, wbuf, 1, 0, &err), -EBADF); /* opened read-only */
	uk_cow_close(c);

	/* a COW written this way is sound: the kernel would open it */
	chk = calloc(1, sizeof(*chk));
	assert_non_null(chk);
	if (uk_cow_check(cow, 0, chk) != UK_CHECK_OK)
		fail_msg("uk_cow_check: status %d: %s", chk->status,
			 chk->nproblems ? chk->problems[0] : "");
	assert_int_equal(chk->info.sectors_held, ntouched);
	free(chk);

	/* the raw bytes: bitmap bits LSB first, data at data_offset + sector * 512 */
	got = read_whole(cow, &len);
	assert_true(len >= h.data_offset + size);
	for (uint64_t sec = 0; sec < sectors; sec++) {
		uint64_t n = UK_MIN(512, size - sec * 512);

		assert_int_equal((got[h.bitmap_offset + sec / 8] >> (sec % 8)) & 1, touched[sec]);
		if (touched[sec])
			assert_memory_equal(got + h.data_offset + sec * 512, flat + sec * 512, n);
	}
	free(got);

	/* the merge is exactly the flat copy, and exactly the backing's length */
	if (uk_cow_merge(cow, out, &mo, &err) != 0)
		fail_msg("uk_cow_merge: %s", err.msg);
	got = read_whole(out, &len);
	assert_int_equal(len, size);
	assert_int_equal(file_size(out), size);
	assert_memory_equal(got, flat, size);
	free(got);

	free(orig);
	free(flat);
	free(wbuf);
	free(touched);
}

static const uint64_t sizes[] = {
	1000,		    /* less than two sectors, the last one partial */
	512,		    /* one whole sector */
	4096 + 1,	    /* one byte into the ninth sector (v1/v2 would lose it) */
	65536 + 700,	    /* ends mid-sector */
	32768 + 512,	    /* 65 sectors: one past a bitmap word */
	1024 * 1024,	    /* 1 MiB */
	1024 * 1024 + 3333, /* 1 MiB and a bit */
};

static void test_rw_hand_made(void **state)
{
	for (size_t i = 0; i < UK_ARRAY_SIZE(sizes); i++)
		run_differential(*state, sizes[i], 0xC0FFEE + i, false);
}

static void test_rw_created(void **state)
{
	for (size_t i = 0; i < UK_ARRAY_SIZE(sizes); i++)
		run_differential(*state, sizes[i], 0xBEEF + i, true);
}

/* A caller that passes no error record still learns why: a raw image is -EMEDIUMTYPE to
 * uk_cow_open (not -EIO), so uk_cow_disk_open reads it as a raw disk. */
static void test_raw_without_err(void **state)
{
	struct scratch *s = *state;
	uint8_t data[4096];
	struct uk_cow_disk *d;
	struct uk_cow *c;
	char raw[PATH_MAX];

	memset(data, 0xA5, sizeof(data));
	path_in(raw, s, "raw.img");
	write_whole(raw, data, sizeof(data));
	assert_int_equal(uk_cow_open(&c, raw, NULL, 0, NULL), -EMEDIUMTYPE);
	assert_int_equal(uk_cow_disk_open(&d, raw, 0, NULL), 0);
	assert_null(d->cow);
	assert_int_equal(d->size, sizeof(data));
	uk_cow_disk_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rw_hand_made, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_rw_created, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_raw_without_err, scratch_setup,
						scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
