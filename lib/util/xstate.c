// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The XSAVE layout arithmetic behind umlkit's xstate shim (see umlkit/xstate.h). Pure but
 * for the CPUID query; the shim (shim/xstate_shim.c) and the launcher both use it.
 */
#include <cpuid.h>
#include <string.h>

#include "umlkit/util.h"
#include "umlkit/xstate.h"

#define XSTATE_BV_OFF UK_XSTATE_LEGACY

int uk_xstate_host_layout(struct uk_xstate_layout *l)
{
	unsigned a, b, c, d;

	memset(l, 0, sizeof(*l));
	if (__get_cpuid_max(0, NULL) < 0xd)
		return -1;
	__cpuid(1, a, b, c, d);
	if (!(c & bit_XSAVE))
		return -1;
	__cpuid_count(0xd, 0, a, b, c, d);
	l->total = b; /* for the features enabled in XCR0 */
	l->off[0] = 0;
	l->size[0] = 160; /* x87 */
	l->off[1] = 160;
	l->size[1] = 256; /* XMM0-15 (MXCSR sits at 24, in the x87 part) */
	for (unsigned i = 2; i < UK_XSTATE_NCOMP; i++) {
		__cpuid_count(0xd, i, a, b, c, d);
		if (c & 1)
			continue; /* a supervisor component: never in ptrace's user format */
		l->size[i] = a;
		l->off[i] = b;
	}
	return 0;
}

uint64_t uk_xstate_covered(const struct uk_xstate_layout *l, size_t len)
{
	uint64_t m = 0;

	if (len < UK_XSTATE_LEGACY + UK_XSTATE_HEADER)
		return 0;
	m = 3; /* x87 and SSE: the legacy area */
	for (unsigned i = 2; i < UK_XSTATE_NCOMP; i++)
		if (l->size[i] && l->off[i] >= UK_XSTATE_LEGACY + UK_XSTATE_HEADER &&
		    (size_t)l->off[i] + l->size[i] <= len)
			m |= 1ULL << i;
	return m;
}

int uk_xstate_merge(uint8_t *full, size_t full_len, const uint8_t *part, size_t part_len,
		    const struct uk_xstate_layout *l, uint64_t covered)
{
	uint64_t bv;

	if (part_len < UK_XSTATE_LEGACY + UK_XSTATE_HEADER || part_len > full_len)
		return -1;
	memcpy(full, part, UK_XSTATE_LEGACY);
	for (unsigned i = 2; i < UK_XSTATE_NCOMP; i++)
		if (covered >> i & 1)
			memcpy(full + l->off[i], part + l->off[i], l->size[i]);
	bv = uk_get_le64(full + XSTATE_BV_OFF) & ~covered;
	bv |= uk_get_le64(part + XSTATE_BV_OFF) & covered;
	uk_put_le64(full + XSTATE_BV_OFF, bv);
	return 0;
}

int uk_xstate_shim_needed(void)
{
	struct uk_xstate_layout l;

	return uk_xstate_host_layout(&l) == 0 && l.total > UK_XSTATE_UML61;
}
