// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The COW header codec: round trips of every layout, the derived layout against the worked
 * examples of spec §1.3, the exact bytes of a kernel/uml_mkcow v3 header (spec §1.2), and
 * every validation error naming its field.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "umlkit/cow.h"
#include "umlkit/util.h"

#define MiB (1024ULL * 1024)

static uint8_t buf[UK_COW_HEADER_MAX + 64];

static void fill_header(struct uk_cow_header *h, int variant, bool le, const char *backing,
			uint64_t size, uint32_t mtime, uint32_t ss, uint32_t align)
{
	memset(h, 0, sizeof(*h));
	h->variant = variant;
	h->little_endian = le;
	h->size = size;
	h->mtime = mtime;
	h->sectorsize = ss;
	h->alignment = align;
	strcpy(h->backing, backing);
}

/* The raw fields a decoder must give back, compared one by one. */
static void assert_same_fields(const struct uk_cow_header *a, const struct uk_cow_header *b)
{
	assert_int_equal(a->variant, b->variant);
	assert_int_equal(a->little_endian, b->little_endian);
	assert_int_equal(a->mtime, b->mtime);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->sectorsize, b->sectorsize);
	assert_int_equal(a->alignment, b->alignment);
	assert_int_equal(a->cow_format, b->cow_format);
	assert_string_equal(a->backing, b->backing);
}

static void assert_same_layout(const struct uk_cow_header *a, const struct uk_cow_header *b)
{
	assert_int_equal(a->header_len, b->header_len);
	assert_int_equal(a->bitmap_offset, b->bitmap_offset);
	assert_int_equal(a->bitmap_len, b->bitmap_len);
	assert_int_equal(a->data_offset, b->data_offset);
	assert_int_equal(a->sectors, b->sectors);
	assert_int_equal(a->bitmap_sectors, b->bitmap_sectors);
}

/* Encode h, decode the bytes, check every field and the layout survive. */
static void round_trip(struct uk_cow_header *h, uint32_t want_len)
{
	struct uk_cow_header d;
	struct uk_err err = {0};
	int n;

	assert_int_equal(uk_cow_layout(h, &err), 0);
	memset(buf, 0xA5, sizeof(buf));
	n = uk_cow_header_encode(h, buf, sizeof(buf));
	assert_int_equal(n, want_len);
	assert_int_equal(h->header_len, want_len);
	assert_int_equal(uk_cow_header_decode(buf, (size_t)n, &d, &err), 0);
	assert_same_fields(h, &d);
	assert_same_layout(h, &d);
	/* decoding more bytes than the header (the file goes on) gives the same result */
	assert_int_equal(uk_cow_header_decode(buf, sizeof(buf), &d, &err), 0);
	assert_same_fields(h, &d);
}

static void test_v1_le(void **state)
{
	struct uk_cow_header h;

	fill_header(&h, UK_COW_V1, true, "/srv/img/root.img", 64 * MiB, 1704164645, 512, 0);
	round_trip(&h, 280);
	/* "MOOO": little-endian magic, version 1 in host (LE) order */
	assert_memory_equal(buf, "MOOO\x01\0\0\0", 8);
	assert_int_equal(uk_get_le32(buf + 264), 1704164645);
	assert_int_equal(uk_get_le64(buf + 268), 64 * MiB);
	assert_int_equal(uk_get_le32(buf + 276), 512);
	assert_string_equal((char *)buf + 8, "/srv/img/root.img");
	assert_int_equal(h.alignment, 512); /* v1 has no alignment: it is the sector size */
}

static void test_v1_be(void **state)
{
	struct uk_cow_header h;

	fill_header(&h, UK_COW_V1, false, "/a", 1000, 0xFFFFFFFFU, 1024, 0);
	round_trip(&h, 280);
	assert_memory_equal(buf, "OOOM\0\0\0\x01", 8);
	assert_int_equal(uk_get_be32(buf + 264), 0xFFFFFFFFU);
	assert_int_equal(uk_get_be64(buf + 268), 1000);
	assert_int_equal(uk_get_be32(buf + 276), 1024);
}

static void test_v2(void **state)
{
	struct uk_cow_header h;
	char longpath[UK_COW_BACKING_FIELD];

	fill_header(&h, UK_COW_V2, false, "/srv/img/back.img", 0x0102030405ULL, 7, 512, 0);
	round_trip(&h, 4120);
	assert_memory_equal(buf, "OOOM\0\0\0\x02", 8);
	assert_int_equal(uk_get_be32(buf + 4104), 7);
	assert_int_equal(uk_get_be64(buf + 4108), 0x0102030405ULL);
	assert_int_equal(uk_get_be32(buf + 4116), 512);

	/* the longest path the 4096-byte field holds: 4095 bytes and the NUL */
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	fill_header(&h, UK_COW_V2, false, longpath, 4096, 1, 512, 0);
	round_trip(&h, 4120);
	assert_int_equal(buf[8 + 4095], 0);
}

static void test_v3(void **state)
{
	struct uk_cow_header h;

	fill_header(&h, UK_COW_V3, false, "/x/y.img", 4194304, 1234567, 512, 4096);
	h.cow_format = 0;
	round_trip(&h, 4128);
	assert_memory_equal(buf, "OOOM\0\0\0\x03", 8);
	assert_int_equal(uk_get_be32(buf + 8), 1234567);
	assert_int_equal(uk_get_be64(buf + 12), 4194304);
	assert_int_equal(uk_get_be32(buf + 20), 512);
	assert_int_equal(uk_get_be32(buf + 24), 4096);
	assert_int_equal(uk_get_be32(buf + 28), 0);
	assert_string_equal((char *)buf + 32, "/x/y.img");

	/* other sector sizes and alignments survive too */
	fill_header(&h, UK_COW_V3, false, "/b", 123456789, 42, 4096, 65536);
	round_trip(&h, 4128);
	fill_header(&h, UK_COW_V3, false, "/b", 0, 42, 512, 1);
	round_trip(&h, 4128);
	assert_int_equal(h.bitmap_offset, 4128);
	assert_int_equal(h.bitmap_len, 0);
	assert_int_equal(h.data_offset, 4128);
}

static void test_v3_broken(void **state)
{
	struct uk_cow_header h, d;
	struct uk_err err = {0};

	fill_header(&h, UK_COW_V3_BROKEN, false, "/srv/img/old.img", 64 * MiB, 99, 512, 4096);
	round_trip(&h, 4136);
	/* on disk it says version 3; the zero at 32 (cow_format) marks the unpacked layout */
	assert_memory_equal(buf, "OOOM\0\0\0\x03", 8);
	assert_int_equal(uk_get_be32(buf + 8), 99);
	assert_int_equal(uk_get_be32(buf + 12), 0); /* padding */
	assert_int_equal(uk_get_be64(buf + 16), 64 * MiB);
	assert_int_equal(uk_get_be32(buf + 24), 512);
	assert_int_equal(uk_get_be32(buf + 28), 4096);
	assert_int_equal(uk_get_be32(buf + 32), 0);
	assert_string_equal((char *)buf + 36, "/srv/img/old.img");
	assert_int_equal(h.bitmap_offset, 8192);

	/* hand-built bytes, not through the encoder: detection by version 3 + zero at 32 */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "OOOM\0\0\0\x03", 8);
	uk_put_be32(buf + 8, 5);
	uk_put_be64(buf + 16, 1000);
	uk_put_be32(buf + 24, 512);
	uk_put_be32(buf + 28, 512);
	strcpy((char *)buf + 36, "/old");
	assert_int_equal(uk_cow_header_decode(buf, 4136, &d, &err), 0);
	assert_int_equal(d.variant, UK_COW_V3_BROKEN);
	assert_int_equal(d.size, 1000);
	assert_int_equal(d.mtime, 5);
	assert_int_equal(d.alignment, 512);
	assert_string_equal(d.backing, "/old");
	assert_int_equal(d.bitmap_offset, 4608); /* ROUND_UP(4136, 512) */
	assert_string_equal(uk_cow_variant_name(d.variant), "3 (broken 64-bit layout)");

	/* the same bytes read as packed v3 would need a non-zero word at 32: it is v3 */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "OOOM\0\0\0\x03", 8);
	uk_put_be64(buf + 12, 1000);
	uk_put_be32(buf + 20, 512);
	uk_put_be32(buf + 24, 512);
	strcpy((char *)buf + 32, "/new");
	assert_int_equal(uk_cow_header_decode(buf, 4136, &d, &err), 0);
	assert_int_equal(d.variant, UK_COW_V3);
	assert_string_equal(d.backing, "/new");

	/* a broken v3 cut to the v3 length is short for its own layout */
	fill_header(&h, UK_COW_V3_BROKEN, false, "/o", 1000, 1, 512, 4096);
	assert_int_equal(uk_cow_layout(&h, &err), 0);
	assert_int_equal(uk_cow_header_encode(&h, buf, sizeof(buf)), 4136);
	memset(&err, 0, sizeof(err));
	assert_int_equal(uk_cow_header_decode(buf, 4128, &d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "short"));
}

/* spec §1.3: worked examples, every row */
static void test_layout_table(void **state)
{
	static const struct {
		uint64_t size;
		int variant;
		uint32_t align;
		uint64_t bitmap_off, bitmap_len, data_off;
	} rows[] = {
		{67108864, UK_COW_V3, 4096, 8192, 16384, 24576},
		{1024000, UK_COW_V3, 4096, 8192, 250, 12288},
		{1000, UK_COW_V3, 4096, 8192, 1, 12288},
		{4194304, UK_COW_V3, 4096, 8192, 1024, 12288},
		{64 * MiB, UK_COW_V3, 512, 4608, 16384, 20992},
		{64 * MiB, UK_COW_V2, 0, 4120, 16384, 20992},
		{64 * MiB, UK_COW_V1, 0, 280, 16384, 16896},
		/* from the formulas: the broken layout and the v1/v2 rounding bug */
		{64 * MiB, UK_COW_V3_BROKEN, 4096, 8192, 16384, 24576},
		{1000, UK_COW_V3_BROKEN, 512, 4608, 1, 5120},
		{1000, UK_COW_V1, 0, 280, 0, 512},
		{1000, UK_COW_V2, 0, 4120, 0, 4608},
		{4096 + 512, UK_COW_V2, 0, 4120, 1, 4608}, /* 9 sectors: one bit lost */
	};
	/* the spec's COW length column, where it gives one */
	static const uint64_t cow_len[] = {67133440, 1036288, 13288, 4206592};

	for (size_t i = 0; i < UK_ARRAY_SIZE(rows); i++) {
		struct uk_cow_header h, d;
		struct uk_err err = {0};
		int n;

		fill_header(&h, rows[i].variant, false, "/srv/img/back.img", rows[i].size, 0, 512,
			    rows[i].align);
		assert_int_equal(uk_cow_layout(&h, &err), 0);
		assert_int_equal(h.bitmap_offset, rows[i].bitmap_off);
		assert_int_equal(h.bitmap_len, rows[i].bitmap_len);
		assert_int_equal(h.data_offset, rows[i].data_off);
		assert_int_equal(h.sectors, (rows[i].size + 511) / 512);
		assert_int_equal(h.bitmap_sectors, UK_MIN(h.sectors, rows[i].bitmap_len * 8));
		if (i < UK_ARRAY_SIZE(cow_len))
			assert_int_equal(h.data_offset + h.size, cow_len[i]);
		/* and the decoder computes the same layout from the bytes */
		n = uk_cow_header_encode(&h, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(uk_cow_header_decode(buf, (size_t)n, &d, &err), 0);
		assert_int_equal(d.bitmap_offset, rows[i].bitmap_off);
		assert_int_equal(d.bitmap_len, rows[i].bitmap_len);
		assert_int_equal(d.data_offset, rows[i].data_off);
	}
}

/* spec §1.2: the header uml_mkcow wrote for a 1,024,000-byte back.img, byte for byte */
static void test_v3_exact_bytes(void **state)
{
	static const uint8_t head[] = {
		0x4f, 0x4f, 0x4f, 0x4d, 0x00, 0x00, 0x00, 0x03, 0x65, 0x93, 0x7d, 0x25, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x0f, 0xa0, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
		0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2f, 0x73, 0x72, 0x76, 0x2f, 0x69, 0x6d,
		0x67, 0x2f, 0x62, 0x61, 0x63, 0x6b, 0x2e, 0x69, 0x6d, 0x67, 0x00,
	};
	uint8_t want[UK_COW_V3_HEADER_LEN];
	struct uk_cow_header h, d;
	struct uk_err err = {0};
	struct tm tm = {
		.tm_year = 124, .tm_mon = 0, .tm_mday = 2, .tm_hour = 3, .tm_min = 4, .tm_sec = 5};
	time_t mtime = timegm(&tm); /* 2024-01-02 03:04:05 UTC */
	int n;

	memset(want, 0, sizeof(want));
	memcpy(want, head, sizeof(head));
	assert_int_equal(
		uk_cow_header_init(&h, "/srv/img/back.img", 1024000, (uint32_t)mtime, &err), 0);
	memset(buf, 0xEE, sizeof(buf));
	n = uk_cow_header_encode(&h, buf, sizeof(buf));
	assert_int_equal(n, UK_COW_V3_HEADER_LEN);
	assert_memory_equal(buf, want, UK_COW_V3_HEADER_LEN); /* path field zero past the NUL */
	assert_int_equal(buf[UK_COW_V3_HEADER_LEN], 0xEE);    /* nothing written past the header */
	assert_int_equal(h.bitmap_offset, 8192);
	assert_int_equal(h.bitmap_len, 250);
	assert_int_equal(h.data_offset, 12288);
	assert_int_equal(h.data_offset + h.size, 1036288);

	/* the kernel leaves garbage after the NUL (spec: 00 60 8b 80 at 4096): still decodes */
	memcpy(want + 4096, "\x00\x60\x8b\x80", 4);
	want[60] = 0x77;
	assert_int_equal(uk_cow_header_decode(want, sizeof(want), &d, &err), 0);
	assert_int_equal(d.variant, UK_COW_V3);
	assert_int_equal(d.mtime, (uint32_t)mtime);
	assert_int_equal(d.size, 1024000);
	assert_int_equal(d.sectorsize, 512);
	assert_int_equal(d.alignment, 4096);
	assert_string_equal(d.backing, "/srv/img/back.img");
	/* re-encoding cleans the field */
	n = uk_cow_header_encode(&d, buf, sizeof(buf));
	assert_int_equal(n, UK_COW_V3_HEADER_LEN);
	assert_int_equal(buf[60], 0);
	assert_int_equal(buf[4097], 0);
}

/* ---- validation ---- */

static void valid_v3(uint8_t *b)
{
	memset(b, 0, UK_COW_HEADER_MAX);
	memcpy(b, "OOOM\0\0\0\x03", 8);
	uk_put_be32(b + 8, 1);
	uk_put_be64(b + 12, 1024000);
	uk_put_be32(b + 20, 512);
	uk_put_be32(b + 24, 4096);
	strcpy((char *)b + 32, "/srv/img/back.img");
}

/* decode must fail with code, and err must carry that code and mention every word */
static void expect_fail(const uint8_t *b, size_t len, int code, const char *word, const char *word2)
{
	struct uk_cow_header h;
	struct uk_err err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(uk_cow_header_decode(b, len, &h, &err), -code);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, word) || (word2 && !strstr(err.msg, word2)))
		fail_msg("message \"%s\" does not name \"%s\"%s%s", err.msg, word,
			 word2 ? " and " : "", word2 ? word2 : "");
	/* a NULL err is allowed */
	assert_int_equal(uk_cow_header_decode(b, len, &h, NULL), -code);
}

static void test_bad_magic(void **state)
{
	uint8_t b[UK_COW_HEADER_MAX];

	valid_v3(b);
	b[0] = 'X';
	expect_fail(b, sizeof(b), EMEDIUMTYPE, "magic", NULL);
	memset(b, 0, sizeof(b)); /* an ext2 image starts with zeros */
	expect_fail(b, sizeof(b), EMEDIUMTYPE, "magic", NULL);
	expect_fail(b, 0, EMEDIUMTYPE, "magic", NULL);
	memcpy(b, "OOO", 3);
	expect_fail(b, 3, EMEDIUMTYPE, "magic", NULL);
	memcpy(b, "MOOM", 4); /* neither byte order */
	expect_fail(b, sizeof(b), EMEDIUMTYPE, "magic", NULL);
}

static void test_short(void **state)
{
	uint8_t b[UK_COW_HEADER_MAX];
	struct uk_cow_header h;

	valid_v3(b);
	expect_fail(b, 4127, EINVAL, "short", NULL);
	expect_fail(b, 100, EINVAL, "short", NULL);
	expect_fail(b, 8, EINVAL, "short", NULL);
	expect_fail(b, 4, EINVAL, "short", NULL); /* the magic, then nothing */
	expect_fail(b, 7, EINVAL, "short", NULL);
	assert_int_equal(uk_cow_header_decode(b, 4128, &h, NULL), 0);

	/* v1 needs 280 bytes, v2 4120 */
	fill_header(&h, UK_COW_V1, true, "/v1", 1000, 1, 512, 0);
	assert_int_equal(uk_cow_header_encode(&h, b, sizeof(b)), 280);
	expect_fail(b, 279, EINVAL, "short", NULL);
	fill_header(&h, UK_COW_V2, false, "/v2", 1000, 1, 512, 0);
	assert_int_equal(uk_cow_header_encode(&h, b, sizeof(b)), 4120);
	expect_fail(b, 4119, EINVAL, "short", NULL);
}

static void test_bad_version(void **state)
{
	static const uint32_t bad[] = {0, 4, 5, 99, 0x03000000, 0xFFFFFFFF};
	uint8_t b[UK_COW_HEADER_MAX];

	for (size_t i = 0; i < UK_ARRAY_SIZE(bad); i++) {
		valid_v3(b);
		uk_put_be32(b + 4, bad[i]);
		expect_fail(b, sizeof(b), EINVAL, "version", NULL);
	}
	/* "MOOO" is only ever v1: a little-endian v2/v3 does not exist */
	valid_v3(b);
	uk_put_le32(b, UK_COW_MAGIC);
	uk_put_le32(b + 4, 3);
	expect_fail(b, sizeof(b), EINVAL, "version", NULL);
	uk_put_le32(b + 4, 2);
	expect_fail(b, sizeof(b), EINVAL, "version", NULL);
}

static void test_bad_sector_size(void **state)
{
	static const uint32_t bad[] = {0, 1, 3, 256, 511, 513, 768, 1000, 131072, 0x80000000};
	uint8_t b[UK_COW_HEADER_MAX];
	struct uk_cow_header h;

	for (size_t i = 0; i < UK_ARRAY_SIZE(bad); i++) {
		valid_v3(b);
		uk_put_be32(b + 20, bad[i]);
		expect_fail(b, sizeof(b), EINVAL, "sector size", NULL);
		/* v1 and v2 too */
		fill_header(&h, UK_COW_V2, false, "/v2", 1000, 1, 512, 0);
		assert_true(uk_cow_header_encode(&h, b, sizeof(b)) > 0);
		uk_put_be32(b + 4116, bad[i]);
		expect_fail(b, sizeof(b), EINVAL, "sector size", NULL);
		fill_header(&h, UK_COW_V1, true, "/v1", 1000, 1, 512, 0);
		assert_true(uk_cow_header_encode(&h, b, sizeof(b)) > 0);
		uk_put_le32(b + 276, bad[i]);
		expect_fail(b, sizeof(b), EINVAL, "sector size", NULL);
	}
	/* the good ones */
	for (uint32_t ss = 512; ss <= UK_COW_SECTOR_MAX; ss *= 2) {
		valid_v3(b);
		uk_put_be32(b + 20, ss);
		assert_int_equal(uk_cow_header_decode(b, sizeof(b), &h, NULL), 0);
		assert_int_equal(h.sectors, (1024000 + ss - 1) / ss);
	}
}

static void test_bad_alignment(void **state)
{
	static const uint32_t bad[] = {0, 3, 6, 4095, 4097, 12288, 0xFFFFFFFF, 1U << 25};
	uint8_t b[UK_COW_HEADER_MAX];
	struct uk_cow_header h;

	for (size_t i = 0; i < UK_ARRAY_SIZE(bad); i++) {
		valid_v3(b);
		uk_put_be32(b + 24, bad[i]);
		expect_fail(b, sizeof(b), EINVAL, "alignment", NULL);
	}
	valid_v3(b);
	uk_put_be32(b + 24, 0);
	expect_fail(b, sizeof(b), EINVAL, "alignment 0", NULL);

	/* the broken layout keeps its alignment at 28 */
	fill_header(&h, UK_COW_V3_BROKEN, false, "/o", 1000, 1, 512, 4096);
	assert_int_equal(uk_cow_header_encode(&h, b, sizeof(b)), 4136);
	uk_put_be32(b + 28, 0);
	expect_fail(b, sizeof(b), EINVAL, "alignment", NULL);
}

static void test_absurd_size(void **state)
{
	uint8_t b[UK_COW_HEADER_MAX];
	struct uk_cow_header h;

	valid_v3(b);
	uk_put_be64(b + 12, UK_COW_SIZE_MAX + 1);
	expect_fail(b, sizeof(b), EINVAL, "size", NULL);
	uk_put_be64(b + 12, UINT64_MAX);
	expect_fail(b, sizeof(b), EINVAL, "size", NULL);
	uk_put_be64(b + 12, UINT64_MAX - 4095);
	expect_fail(b, sizeof(b), EINVAL, "size", NULL);
	/* 1 PiB itself is accepted, and its layout is exact */
	uk_put_be64(b + 12, UK_COW_SIZE_MAX);
	assert_int_equal(uk_cow_header_decode(b, sizeof(b), &h, NULL), 0);
	assert_int_equal(h.sectors, UK_COW_SIZE_MAX / 512);
	assert_int_equal(h.bitmap_len, UK_COW_SIZE_MAX / 512 / 8);
	assert_int_equal(h.data_offset, 8192 + UK_COW_SIZE_MAX / 512 / 8);

	fill_header(&h, UK_COW_V1, false, "/v1", 1000, 1, 512, 0);
	assert_true(uk_cow_header_encode(&h, b, sizeof(b)) > 0);
	uk_put_be64(b + 268, UINT64_MAX);
	expect_fail(b, sizeof(b), EINVAL, "size", NULL);
}

static void test_bad_path(void **state)
{
	uint8_t b[UK_COW_HEADER_MAX];
	struct uk_cow_header h;

	/* no NUL anywhere in the 4096-byte field */
	valid_v3(b);
	memset(b + 32, 'a', UK_COW_BACKING_FIELD);
	expect_fail(b, sizeof(b), EINVAL, "NUL", "path");
	/* the NUL just past the field does not count */
	b[32 + UK_COW_BACKING_FIELD] = '\0';
	expect_fail(b, 32 + UK_COW_BACKING_FIELD + 1, EINVAL, "NUL", NULL);
	/* the last byte of the field is enough */
	b[32 + UK_COW_BACKING_FIELD - 1] = '\0';
	assert_int_equal(uk_cow_header_decode(b, 4128, &h, NULL), 0);
	assert_int_equal(strlen(h.backing), UK_COW_BACKING_FIELD - 1);

	/* empty path */
	valid_v3(b);
	memset(b + 32, 0, UK_COW_BACKING_FIELD);
	b[100] = 'x'; /* garbage after the (first) NUL does not make it non-empty */
	uk_put_be32(b + 32, 0);
	/* a packed v3 with an empty path has a zero at 32: it reads as the broken layout,
	 * whose path (at 36) is empty too */
	expect_fail(b, sizeof(b), EINVAL, "empty", "path");

	/* v1: the field is 256 bytes */
	fill_header(&h, UK_COW_V1, true, "/v1", 1000, 1, 512, 0);
	assert_true(uk_cow_header_encode(&h, b, sizeof(b)) > 0);
	memset(b + 8, '/', 256);
	expect_fail(b, 280, EINVAL, "NUL", NULL);
	b[8] = '\0';
	expect_fail(b, 280, EINVAL, "empty", NULL);
	/* v2: 4096 bytes */
	fill_header(&h, UK_COW_V2, false, "/v2", 1000, 1, 512, 0);
	assert_true(uk_cow_header_encode(&h, b, sizeof(b)) > 0);
	memset(b + 8, 'z', 4096);
	expect_fail(b, 4120, EINVAL, "NUL", NULL);
}

static void test_encode_errors(void **state)
{
	struct uk_cow_header h;
	struct uk_err err = {0};
	char big[UK_COW_BACKING_FIELD + 1];

	fill_header(&h, UK_COW_V3, false, "/x", 1000, 1, 512, 4096);
	assert_int_equal(uk_cow_layout(&h, &err), 0);
	assert_true(uk_cow_header_encode(&h, buf, 4127) < 0); /* buffer too small */
	assert_int_equal(uk_cow_header_encode(&h, buf, 4128), 4128);
	h.variant = 0;
	assert_true(uk_cow_header_encode(&h, buf, sizeof(buf)) < 0);
	h.variant = 9;
	assert_true(uk_cow_header_encode(&h, buf, sizeof(buf)) < 0);
	/* only v1 may be little-endian */
	fill_header(&h, UK_COW_V3, true, "/x", 1000, 1, 512, 4096);
	assert_true(uk_cow_header_encode(&h, buf, sizeof(buf)) < 0);
	/* empty path, and a path too long for v1's 256-byte field */
	fill_header(&h, UK_COW_V3, false, "", 1000, 1, 512, 4096);
	assert_true(uk_cow_header_encode(&h, buf, sizeof(buf)) < 0);
	memset(big, 'a', 256);
	big[256] = '\0';
	fill_header(&h, UK_COW_V1, false, big, 1000, 1, 512, 0);
	assert_true(uk_cow_header_encode(&h, buf, sizeof(buf)) < 0);
	big[255] = '\0';
	fill_header(&h, UK_COW_V1, false, big, 1000, 1, 512, 0);
	assert_int_equal(uk_cow_header_encode(&h, buf, sizeof(buf)), 280);

	/* header_init refuses a path the field cannot hold */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '/';
	assert_int_equal(uk_cow_header_init(&h, big, 1000, 1, &err), -ENAMETOOLONG);
	big[UK_COW_BACKING_FIELD - 1] = '\0'; /* 4095 bytes: fits */
	assert_int_equal(uk_cow_header_init(&h, big, 1000, 1, &err), 0);

	/* layout validates the fields it computes from */
	fill_header(&h, UK_COW_V3, false, "/x", 1000, 1, 512, 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(uk_cow_layout(&h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "alignment"));
	fill_header(&h, 7, false, "/x", 1000, 1, 512, 4096);
	assert_int_equal(uk_cow_layout(&h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "version"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_le),
		cmocka_unit_test(test_v1_be),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v3),
		cmocka_unit_test(test_v3_broken),
		cmocka_unit_test(test_layout_table),
		cmocka_unit_test(test_v3_exact_bytes),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_short),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_bad_sector_size),
		cmocka_unit_test(test_bad_alignment),
		cmocka_unit_test(test_absurd_size),
		cmocka_unit_test(test_bad_path),
		cmocka_unit_test(test_encode_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
