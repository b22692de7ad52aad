// SPDX-License-Identifier: LGPL-2.1-or-later
/* A fast 64-bit checksum for damage (cached images, fetched kernels), not for attackers. */
#include <stdint.h>

#include "umlkit/util.h"

uint64_t uk_hash64(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	const uint64_t k = 0xff51afd7ed558ccdULL;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w = uk_get_le64(p + i);

		h ^= w * k;
		h = (h << 31 | h >> 33) * 0xc4ceb9fe1a85ec53ULL;
	}
	for (; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= len;
	return h;
}
