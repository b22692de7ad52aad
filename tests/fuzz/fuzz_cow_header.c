// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the COW header codec. Any input either fails with a named error or
 * decodes to a header whose layout is sound and which survives an encode/decode round trip.
 * A violated invariant aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/cow.h"
#include "umlkit/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_cow_header: invariant failed: %s (line %d)\n",       \
				#cond, __LINE__);                                                  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static bool same_header(const struct uk_cow_header *a, const struct uk_cow_header *b)
{
	return a->variant == b->variant && a->little_endian == b->little_endian &&
	       a->mtime == b->mtime && a->size == b->size && a->sectorsize == b->sectorsize &&
	       a->alignment == b->alignment && a->cow_format == b->cow_format &&
	       !strcmp(a->backing, b->backing) && a->header_len == b->header_len &&
	       a->bitmap_offset == b->bitmap_offset && a->bitmap_len == b->bitmap_len &&
	       a->data_offset == b->data_offset && a->sectors == b->sectors &&
	       a->bitmap_sectors == b->bitmap_sectors;
}

static uint32_t header_len_of(int variant)
{
	switch (variant) {
	case UK_COW_V1:
		return 280;
	case UK_COW_V2:
		return 4120;
	case UK_COW_V3:
		return UK_COW_V3_HEADER_LEN;
	case UK_COW_V3_BROKEN:
		return UK_COW_HEADER_MAX;
	}
	return 0;
}

/* The layout of a decoded header must be one a reader can trust. */
static void check_layout(const struct uk_cow_header *h)
{
	bool v3 = h->variant == UK_COW_V3 || h->variant == UK_COW_V3_BROKEN;
	size_t plen = strnlen(h->backing, sizeof(h->backing));

	CHECK(h->variant >= UK_COW_V1 && h->variant <= UK_COW_V3_BROKEN);
	CHECK(!h->little_endian || h->variant == UK_COW_V1);
	CHECK(h->header_len == header_len_of(h->variant));
	CHECK(plen > 0 &&
	      plen < (h->variant == UK_COW_V1 ? UK_COW_V1_BACKING : UK_COW_BACKING_FIELD));
	CHECK(uk_is_pow2(h->sectorsize) && h->sectorsize >= 512 &&
	      h->sectorsize <= UK_COW_SECTOR_MAX);
	CHECK(uk_is_pow2(h->alignment) && h->alignment <= UK_COW_ALIGN_MAX);
	CHECK(v3 || h->alignment == h->sectorsize);
	CHECK(h->size <= UK_COW_SIZE_MAX);
	CHECK(h->sectors == h->size / h->sectorsize + (h->size % h->sectorsize != 0));
	CHECK(h->bitmap_offset >= h->header_len);
	CHECK(h->bitmap_offset + h->bitmap_len >= h->bitmap_offset); /* no wrap */
	CHECK(h->data_offset >= h->bitmap_offset + h->bitmap_len);
	CHECK(h->data_offset + h->size >= h->data_offset);
	CHECK(h->bitmap_sectors <= h->sectors && h->bitmap_sectors <= h->bitmap_len * 8);
	if (v3) {
		CHECK(h->bitmap_offset % h->alignment == 0);
		CHECK(h->data_offset % h->alignment == 0);
		CHECK(h->bitmap_offset < (uint64_t)h->header_len + h->alignment);
		CHECK(h->bitmap_len == (h->sectors + 7) / 8);
		CHECK(h->bitmap_sectors == h->sectors);
	} else {
		CHECK(h->bitmap_offset == h->header_len);
		CHECK(h->data_offset % h->sectorsize == 0);
		CHECK(h->data_offset < h->bitmap_offset + h->bitmap_len + h->sectorsize);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uk_cow_header h, d;
	static uint8_t buf[UK_COW_HEADER_MAX + 16];
	struct uk_err err;
	size_t pathoff, pathlen;
	int r, n;

	memset(&err, 0, sizeof(err));
	r = uk_cow_header_decode(data, size, &h, &err);
	if (r < 0) {
		/* a failure is a named one: the code recorded, a message, an expected errno */
		CHECK(r == -EINVAL || r == -EMEDIUMTYPE || r == -EOVERFLOW);
		CHECK(err.code == -r);
		CHECK(err.msg[0] != '\0');
		CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		CHECK(uk_cow_header_decode(data, size, &d, NULL) == r);
		return 0;
	}
	CHECK(r == 0);
	CHECK(err.code == 0);
	check_layout(&h);
	CHECK(size >= h.header_len);

	/* the decoder needs no byte past the header */
	CHECK(uk_cow_header_decode(data, h.header_len, &d, NULL) == 0);
	CHECK(same_header(&h, &d));

	/* encode, then decode: the same header */
	memset(buf, 0xA5, sizeof(buf));
	n = uk_cow_header_encode(&h, buf, sizeof(buf));
	CHECK(n > 0 && (uint32_t)n == h.header_len);
	CHECK(buf[n] == 0xA5);
	CHECK(uk_cow_header_decode(buf, (size_t)n, &d, NULL) == 0);
	CHECK(same_header(&h, &d));

	/* and the same bytes as the input, except the path field past its NUL (garbage is
	 * allowed there and is zeroed on encode) and the broken layout's padding */
	switch (h.variant) {
	case UK_COW_V1:
	case UK_COW_V2:
		pathoff = 8;
		break;
	case UK_COW_V3:
		pathoff = 32;
		break;
	default:
		pathoff = 36;
		break;
	}
	pathlen = strlen(h.backing) + 1;
	CHECK(!memcmp(buf + pathoff, data + pathoff, pathlen));
	if (h.variant == UK_COW_V3_BROKEN) {
		CHECK(!memcmp(buf, data, 12));
		CHECK(!memcmp(buf + 16, data + 16, pathoff - 16));
	} else {
		CHECK(!memcmp(buf, data, pathoff));
	}
	if (h.variant == UK_COW_V1 || h.variant == UK_COW_V2)
		CHECK(!memcmp(buf + pathoff + (h.variant == UK_COW_V1 ? 256 : 4096),
			      data + pathoff + (h.variant == UK_COW_V1 ? 256 : 4096),
			      h.header_len - pathoff - (h.variant == UK_COW_V1 ? 256 : 4096)));
	CHECK(uk_mem_is_zero(buf + pathoff + pathlen,
			     (h.variant == UK_COW_V1 ? UK_COW_V1_BACKING : UK_COW_BACKING_FIELD) -
				     pathlen));

	/* the layout recomputed from the raw fields agrees */
	d = h;
	d.header_len = 0;
	d.bitmap_offset = d.bitmap_len = d.data_offset = d.sectors = d.bitmap_sectors = 0;
	CHECK(uk_cow_layout(&d, NULL) == 0);
	CHECK(same_header(&h, &d));
	return 0;
}
