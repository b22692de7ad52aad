// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/util/xstate.c: which components a short XSAVE buffer holds whole, and the merge that
 * completes a short SETREGSET (the shim's arithmetic), on the standard AVX-512 layout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "umlkit/util.h"
#include "umlkit/xstate.h"

#define FULL 2696

/* The standard format of an AVX-512 + PKRU host (CPUID 0xD offsets and sizes). */
static void avx512_layout(struct uk_xstate_layout *l)
{
	memset(l, 0, sizeof(*l));
	l->off[0] = 0, l->size[0] = 160;
	l->off[1] = 160, l->size[1] = 256;
	l->off[2] = 576, l->size[2] = 256;   /* YMM_Hi128 */
	l->off[5] = 1088, l->size[5] = 64;   /* opmask */
	l->off[6] = 1152, l->size[6] = 512;  /* ZMM_Hi256 */
	l->off[7] = 1664, l->size[7] = 1024; /* Hi16_ZMM */
	l->off[9] = 2688, l->size[9] = 8;    /* PKRU */
	l->total = FULL;
}

static void covered_components(void **state)
{
	struct uk_xstate_layout l;

	(void)state;
	avx512_layout(&l);
	assert_int_equal(uk_xstate_covered(&l, UK_XSTATE_UML61), 0x7);
	assert_int_equal(uk_xstate_covered(&l, 576), 0x3);
	assert_int_equal(uk_xstate_covered(&l, 575), 0);
	assert_int_equal(uk_xstate_covered(&l, 1151), 0x7); /* opmask ends at 1152 */
	assert_int_equal(uk_xstate_covered(&l, 1152), 0x27);
	assert_int_equal(uk_xstate_covered(&l, FULL), 0x2e7);
}

static void merge_keeps_what_the_short_buffer_lacks(void **state)
{
	static uint8_t full[FULL], part[UK_XSTATE_UML61];
	struct uk_xstate_layout l;

	(void)state;
	avx512_layout(&l);
	memset(full, 0xaa, sizeof(full));
	memset(full + 512, 0, 64);
	uk_put_le64(full + 512, 0x2e7); /* everything in use */
	memset(part, 0x55, sizeof(part));
	memset(part + 512, 0, 64);
	uk_put_le64(part + 512, 0x3 | 0x20); /* AVX in its initial state; a stale opmask bit */
	uk_put_le64(part + 520, 0xdead);     /* XCOMP_BV must never come from the short buffer */
	assert_int_equal(uk_xstate_merge(full, sizeof(full), part, sizeof(part), &l,
					 uk_xstate_covered(&l, sizeof(part))),
			 0);
	for (int i = 0; i < 512; i++)
		assert_int_equal(full[i], 0x55);
	for (int i = 576; i < 832; i++)
		assert_int_equal(full[i], 0x55);
	for (int i = 832; i < FULL; i++)
		assert_int_equal(full[i], 0xaa);
	/* bits 0-2 from the short buffer (AVX now init), the rest as the host had them */
	assert_int_equal(uk_get_le64(full + 512), 0x2e3);
	assert_int_equal(uk_get_le64(full + 520), 0);
}

static void merge_refuses_bad_lengths(void **state)
{
	static uint8_t full[FULL], part[FULL + 8];
	struct uk_xstate_layout l;

	(void)state;
	avx512_layout(&l);
	memset(full, 0x11, sizeof(full));
	assert_int_equal(uk_xstate_merge(full, FULL, part, 575, &l, 0x3), -1);
	assert_int_equal(uk_xstate_merge(full, FULL, part, FULL + 8, &l, 0x3), -1);
	for (int i = 0; i < FULL; i++)
		assert_int_equal(full[i], 0x11); /* untouched */
}

static void host_layout_is_consistent(void **state)
{
	struct uk_xstate_layout l;

	(void)state;
	if (uk_xstate_host_layout(&l) < 0)
		return; /* no XSAVE: nothing to check, and the shim is never needed */
	assert_true(l.total >= 576);
	assert_int_equal(uk_xstate_covered(&l, l.total) & 0x3, 0x3);
	for (int i = 2; i < UK_XSTATE_NCOMP; i++)
		if (l.size[i])
			assert_true(l.off[i] >= 576);
	assert_int_equal(uk_xstate_shim_needed(), l.total > UK_XSTATE_UML61);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(covered_components),
		cmocka_unit_test(merge_keeps_what_the_short_buffer_lacks),
		cmocka_unit_test(merge_refuses_bad_lengths),
		cmocka_unit_test(host_layout_is_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
