// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The COW bitmap: uk_bitmap_run and uk_bitmap_count against a naive bit-by-bit reference
 * on random bitmaps, and the byte order (least significant bit first) of test and set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "umlkit/cow.h"
#include "umlkit/util.h"

/* xorshift64*: a fixed seed, the same bitmaps on every run and every host */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* ---- the reference: one bit at a time, bits at or past nbits clear ---- */
static bool ref_bit(const uint8_t *bm, uint64_t nbits, uint64_t i)
{
	return i < nbits && ((bm[i / 8] >> (i % 8)) & 1);
}

static uint64_t ref_run(const uint8_t *bm, uint64_t nbits, uint64_t start, uint64_t limit,
			bool *set)
{
	bool v = ref_bit(bm, nbits, start);
	uint64_t i = start;

	*set = v;
	while (i < limit && i < nbits && ref_bit(bm, nbits, i) == v)
		i++;
	/* past nbits every bit is clear: a clear run goes on to the limit (no need to step
	 * through a huge limit one bit at a time) */
	if (i >= nbits && !v && limit > i)
		i = limit;
	return i;
}

static uint64_t ref_count(const uint8_t *bm, uint64_t nbits)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < nbits; i++)
		n += ref_bit(bm, nbits, i);
	return n;
}

enum fill { FILL_RANDOM, FILL_SPARSE, FILL_DENSE, FILL_RUNS, FILL_ZERO, FILL_ONES, FILL_MAX };

/*
 * A bitmap of exactly ceil(nbits/8) bytes on the heap (so ASan sees any read past it),
 * with the bits past nbits in the last byte set at random: they must read as clear.
 */
static uint8_t *make_bitmap(uint64_t nbits, int fill)
{
	size_t len = (size_t)((nbits + 7) / 8);
	uint8_t *bm = malloc(len ? len : 1);
	uint64_t i = 0;

	assert_non_null(bm);
	for (size_t j = 0; j < len; j++)
		bm[j] = (uint8_t)rnd();
	switch (fill) {
	case FILL_RANDOM:
		break;
	case FILL_SPARSE:
	case FILL_DENSE:
		for (i = 0; i < nbits; i++) {
			bool one = rnd() % 97 == 0;

			if (fill == FILL_DENSE)
				one = !one;
			bm[i / 8] = (uint8_t)((bm[i / 8] & ~(1U << (i % 8))) | (unsigned)one
										       << (i % 8));
		}
		break;
	case FILL_RUNS:
		/* long runs of either value, crossing word boundaries */
		while (i < nbits) {
			uint64_t n = 1 + rnd() % 300;
			bool one = rnd() & 1;

			for (; n && i < nbits; n--, i++)
				bm[i / 8] = (uint8_t)((bm[i / 8] & ~(1U << (i % 8))) |
						      (unsigned)one << (i % 8));
		}
		break;
	case FILL_ZERO:
	case FILL_ONES:
		for (i = 0; i < nbits; i++)
			bm[i / 8] = (uint8_t)((bm[i / 8] & ~(1U << (i % 8))) |
					      (unsigned)(fill == FILL_ONES) << (i % 8));
		break;
	}
	return bm;
}

static void check_run(const uint8_t *bm, uint64_t nbits, uint64_t start, uint64_t limit)
{
	bool set = !ref_bit(bm, nbits, start), want_set;
	uint64_t want = ref_run(bm, nbits, start, limit, &want_set);
	uint64_t got = uk_bitmap_run(bm, nbits, start, limit, &set);

	if (got != want || set != want_set)
		fail_msg("run(nbits %llu, start %llu, limit %llu): got end %llu set %d, want end "
			 "%llu set %d",
			 (unsigned long long)nbits, (unsigned long long)start,
			 (unsigned long long)limit, (unsigned long long)got, set,
			 (unsigned long long)want, want_set);
}

/* Small sizes: every start, and limits below, at and beyond nbits. */
static void test_run_small_exhaustive(void **state)
{
	rng_state = 0x9E3779B97F4A7C15ULL;
	for (uint64_t nbits = 0; nbits <= 200; nbits++) {
		for (int fill = 0; fill < FILL_MAX; fill++) {
			uint8_t *bm = make_bitmap(nbits, fill);

			for (uint64_t start = 0; start <= nbits + 3; start++) {
				uint64_t limits[] = {
					start,	    start + 1,	      nbits,	     nbits + 1,
					nbits + 64, nbits + 1000,     start + 63,    start + 64,
					start + 65, (start | 63) + 1, UINT64_MAX / 2};

				for (size_t k = 0; k < UK_ARRAY_SIZE(limits); k++)
					if (limits[k] >= start)
						check_run(bm, nbits, start, limits[k]);
			}
			free(bm);
		}
	}
}

/* Larger sizes, including non-multiples of 8 and 64: random starts and limits, and a walk
 * over the whole bitmap run by run as uk_cow_read does it. */
static void test_run_random(void **state)
{
	static const uint64_t sizes[] = {
		255,	256,	    257,  511,	512,  513,  1000,  1023,  1024,
		1025,	4095,	    4097, 8191, 8192, 8200, 65535, 65536, 65537,
		100003, 131072 + 7, 2000, 2001, 2047, 2049, 640,   641,
	};

	rng_state = 12345;
	for (size_t s = 0; s < UK_ARRAY_SIZE(sizes); s++) {
		uint64_t nbits = sizes[s];

		for (int fill = 0; fill < FILL_MAX; fill++) {
			uint8_t *bm = make_bitmap(nbits, fill);
			uint64_t pos = 0, walked = 0;

			for (int t = 0; t < 300; t++) {
				uint64_t start = rnd() % (nbits + 100);
				uint64_t limit = start + rnd() % (nbits + 200);

				check_run(bm, nbits, start, limit);
			}
			/* start on a word boundary and at its neighbours */
			for (uint64_t w = 0; w <= nbits + 64; w += 64) {
				check_run(bm, nbits, w, nbits + 10);
				if (w)
					check_run(bm, nbits, w - 1, nbits);
				check_run(bm, nbits, w + 1, nbits);
			}
			/* the walk: runs tile [0, limit) exactly and alternate */
			while (pos < nbits + 50) {
				bool set, next;
				uint64_t end = uk_bitmap_run(bm, nbits, pos, nbits + 50, &set);

				assert_true(end > pos);
				assert_true(end <= nbits + 50);
				for (uint64_t i = pos; i < end; i++)
					assert_int_equal(ref_bit(bm, nbits, i), set);
				if (set)
					walked += end - pos;
				if (end < nbits + 50) {
					next = ref_bit(bm, nbits, end);
					assert_int_not_equal(next, set);
				}
				pos = end;
			}
			assert_int_equal(walked, ref_count(bm, nbits));
			free(bm);
		}
	}
}

static void test_run_past_end(void **state)
{
	uint8_t bm[2] = {0xFF, 0xFF};
	bool set = true;

	/* nbits 12: bits 12..15 are set in memory but past the end, so they read as clear */
	assert_int_equal(uk_bitmap_run(bm, 12, 0, 100, &set), 12);
	assert_true(set);
	set = true;
	assert_int_equal(uk_bitmap_run(bm, 12, 12, 100, &set), 100);
	assert_false(set);
	set = true;
	assert_int_equal(uk_bitmap_run(bm, 12, 50, 60, &set), 60);
	assert_false(set);
	/* a limit below nbits stops a run early */
	assert_int_equal(uk_bitmap_run(bm, 12, 3, 7, &set), 7);
	assert_true(set);
	/* an empty bitmap: everything clear; bm is never read */
	set = true;
	assert_int_equal(uk_bitmap_run(NULL, 0, 0, 1000, &set), 1000);
	assert_false(set);
	assert_int_equal(uk_bitmap_count(NULL, 0), 0);
	assert_int_equal(uk_bitmap_count(bm, 12), 12);
	assert_int_equal(uk_bitmap_count(bm, 5), 5);
}

static void test_count_random(void **state)
{
	rng_state = 777;
	for (uint64_t nbits = 0; nbits < 3000; nbits += 1 + rnd() % 13) {
		for (int fill = 0; fill < FILL_MAX; fill++) {
			uint8_t *bm = make_bitmap(nbits, fill);

			assert_int_equal(uk_bitmap_count(bm, nbits), ref_count(bm, nbits));
			/* every prefix of a small one */
			if (nbits < 300)
				for (uint64_t k = 0; k <= nbits; k++)
					assert_int_equal(uk_bitmap_count(bm, k), ref_count(bm, k));
			free(bm);
		}
	}
	for (int fill = 0; fill < FILL_MAX; fill++) {
		uint64_t nbits = 1000003;
		uint8_t *bm = make_bitmap(nbits, fill);
		uint64_t n = uk_bitmap_count(bm, nbits);

		assert_int_equal(n, ref_count(bm, nbits));
		if (fill == FILL_ONES)
			assert_int_equal(n, nbits);
		if (fill == FILL_ZERO)
			assert_int_equal(n, 0);
		free(bm);
	}
}

/* spec §1.4: sectors 2..5 written give the byte 0x3C */
static void test_byte_order(void **state)
{
	uint8_t bm[4] = {0};
	uint8_t b2[2] = {0x01, 0x80};
	bool set;

	for (uint64_t i = 2; i <= 5; i++)
		uk_bitmap_set(bm, i);
	assert_int_equal(bm[0], 0x3C);
	assert_int_equal(bm[1], 0);
	uk_bitmap_set(bm, 8);
	uk_bitmap_set(bm, 31);
	assert_int_equal(bm[1], 0x01);
	assert_int_equal(bm[3], 0x80);
	uk_bitmap_set(bm, 2); /* setting twice changes nothing */
	assert_int_equal(bm[0], 0x3C);

	for (uint64_t i = 0; i < 32; i++)
		assert_int_equal(uk_bitmap_test(bm, i), (i >= 2 && i <= 5) || i == 8 || i == 31);
	assert_int_equal(uk_bitmap_count(bm, 32), 6);

	assert_int_equal(uk_bitmap_run(bm, 32, 0, 32, &set), 2);
	assert_false(set);
	assert_int_equal(uk_bitmap_run(bm, 32, 2, 32, &set), 6);
	assert_true(set);

	/* test reads byte i/8, bit i%8: the same on every host */
	assert_true(uk_bitmap_test(b2, 0));
	assert_false(uk_bitmap_test(b2, 7));
	assert_false(uk_bitmap_test(b2, 8));
	assert_true(uk_bitmap_test(b2, 15));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byte_order),	     cmocka_unit_test(test_run_past_end),
		cmocka_unit_test(test_run_small_exhaustive), cmocka_unit_test(test_run_random),
		cmocka_unit_test(test_count_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
