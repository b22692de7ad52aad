// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The COW header codec: pure, no I/O. Four layouts (v1, v2, v3 and the broken 64-bit v3)
 * described as field offsets; every field validated before use; layout arithmetic without
 * overflow.
 */
#include <errno.h>
#include <string.h>

#include "umlkit/cow.h"
#include "umlkit/util.h"

/* Where each field lives in one header layout. -1: the layout has no such field. */
struct cow_layout {
	int variant;
	uint32_t header_len;
	int off_mtime, off_size, off_sectorsize, off_alignment, off_format;
	int off_backing;
	uint32_t backing_len;
};

static const struct cow_layout layouts[] = {
	{UK_COW_V1, 280, 264, 268, 276, -1, -1, 8, UK_COW_V1_BACKING},
	{UK_COW_V2, 4120, 4104, 4108, 4116, -1, -1, 8, UK_COW_BACKING_FIELD},
	{UK_COW_V3, 4128, 8, 12, 20, 24, 28, 32, UK_COW_BACKING_FIELD},
	{UK_COW_V3_BROKEN, 4136, 8, 16, 24, 28, 32, 36, UK_COW_BACKING_FIELD},
};

static const struct cow_layout *layout_of(int variant)
{
	for (size_t i = 0; i < UK_ARRAY_SIZE(layouts); i++)
		if (layouts[i].variant == variant)
			return &layouts[i];
	return NULL;
}

const char *uk_cow_variant_name(int variant)
{
	switch (variant) {
	case UK_COW_V1:
		return "1";
	case UK_COW_V2:
		return "2";
	case UK_COW_V3:
		return "3";
	case UK_COW_V3_BROKEN:
		return "3 (broken 64-bit layout)";
	}
	return "unknown";
}

static uint32_t get32(const uint8_t *p, bool le)
{
	return le ? uk_get_le32(p) : uk_get_be32(p);
}
static uint64_t get64(const uint8_t *p, bool le)
{
	return le ? uk_get_le64(p) : uk_get_be64(p);
}
static void put32(uint8_t *p, uint32_t v, bool le)
{
	if (le)
		uk_put_le32(p, v);
	else
		uk_put_be32(p, v);
}
static void put64(uint8_t *p, uint64_t v, bool le)
{
	if (le)
		uk_put_le64(p, v);
	else
		uk_put_be64(p, v);
}

/* ROUND_UP(x, a) for a power-of-two a, failing on overflow. */
static int round_up(uint64_t x, uint64_t a, uint64_t *out)
{
	if (x > UINT64_MAX - (a - 1))
		return -EOVERFLOW;
	*out = (x + a - 1) & ~(a - 1);
	return 0;
}

int uk_cow_layout(struct uk_cow_header *h, struct uk_err *err)
{
	const struct cow_layout *l = layout_of(h->variant);
	uint64_t ss = h->sectorsize;

	if (!l)
		return uk_err_set(err, EINVAL, "header: unknown version %d", h->variant);
	if (!uk_is_pow2(ss) || ss < 512 || ss > UK_COW_SECTOR_MAX)
		return uk_err_set(err, EINVAL,
				  "header: sector size %u is not a power of two from 512 to %u",
				  h->sectorsize, UK_COW_SECTOR_MAX);
	if (h->variant == UK_COW_V1 || h->variant == UK_COW_V2)
		h->alignment = h->sectorsize;
	if (!uk_is_pow2(h->alignment) || h->alignment > UK_COW_ALIGN_MAX)
		return uk_err_set(err, EINVAL,
				  "header: alignment %u is not a power of two from 1 to %u",
				  h->alignment, UK_COW_ALIGN_MAX);
	if (h->size > UK_COW_SIZE_MAX)
		return uk_err_set(err, EINVAL,
				  "header: backing size %llu is absurd (the limit is 1 PiB)",
				  (unsigned long long)h->size);
	h->header_len = l->header_len;
	h->sectors = (h->size + ss - 1) / ss;
	if (h->variant == UK_COW_V1 || h->variant == UK_COW_V2) {
		/* the old layouts round the bitmap length down (the kernel's "rounding bug") */
		h->bitmap_offset = l->header_len;
		h->bitmap_len = (h->size + ss - 1) / (8 * ss);
		if (round_up(h->bitmap_offset + h->bitmap_len, ss, &h->data_offset) < 0)
			return uk_err_set(err, EOVERFLOW, "header: layout overflows");
	} else {
		if (round_up(l->header_len, h->alignment, &h->bitmap_offset) < 0)
			return uk_err_set(err, EOVERFLOW, "header: layout overflows");
		h->bitmap_len = (h->sectors + 7) / 8;
		if (round_up(h->bitmap_offset + h->bitmap_len, h->alignment, &h->data_offset) < 0)
			return uk_err_set(err, EOVERFLOW, "header: layout overflows");
	}
	h->bitmap_sectors = UK_MIN(h->sectors, h->bitmap_len * 8);
	return 0;
}

static int decode_fields(const uint8_t *b, size_t len, const struct cow_layout *l,
			 struct uk_cow_header *h, struct uk_err *err)
{
	const char *path = (const char *)b + l->off_backing;
	bool le = h->little_endian;

	if (len < l->header_len)
		return uk_err_set(err, EINVAL,
				  "header: short header: %zu bytes where version %s needs %u", len,
				  uk_cow_variant_name(l->variant), l->header_len);
	if (!memchr(path, '\0', l->backing_len))
		return uk_err_set(err, EINVAL,
				  "header: backing file path has no NUL in its %u bytes",
				  l->backing_len);
	if (!path[0])
		return uk_err_set(err, EINVAL, "header: backing file path is empty");
	strcpy(h->backing, path);
	h->mtime = get32(b + l->off_mtime, le);
	h->size = get64(b + l->off_size, le);
	h->sectorsize = get32(b + l->off_sectorsize, le);
	h->alignment = l->off_alignment >= 0 ? get32(b + l->off_alignment, le) : h->sectorsize;
	h->cow_format = l->off_format >= 0 ? get32(b + l->off_format, le) : 0;
	return uk_cow_layout(h, err);
}

int uk_cow_header_decode(const void *buf, size_t len, struct uk_cow_header *h, struct uk_err *err)
{
	const uint8_t *b = buf;
	uint32_t version;

	memset(h, 0, sizeof(*h));
	if (len < 8)
		return len >= 4 && (uk_get_be32(b) == UK_COW_MAGIC ||
				    uk_get_le32(b) == UK_COW_MAGIC)
			       ? uk_err_set(err, EINVAL, "header: short header: %zu bytes", len)
			       : uk_err_set(err, EMEDIUMTYPE, "not a COW file (no COW magic)");
	if (uk_get_be32(b) == UK_COW_MAGIC) {
		h->little_endian = false;
	} else if (uk_get_le32(b) == UK_COW_MAGIC) {
		/* only v1 is written in host order; "MOOO" is v1 from a little-endian host */
		h->little_endian = true;
	} else {
		return uk_err_set(err, EMEDIUMTYPE, "not a COW file (no COW magic)");
	}
	version = get32(b + 4, h->little_endian);
	if (h->little_endian && version != 1)
		return uk_err_set(err, EINVAL,
				  "header: unknown version %u in a little-endian header", version);
	switch (version) {
	case 1:
		h->variant = UK_COW_V1;
		break;
	case 2:
		h->variant = UK_COW_V2;
		break;
	case 3:
		/* the packed path's first 4 bytes are zero only in the broken layout */
		h->variant = (len >= 36 && uk_get_be32(b + 32) == 0) ? UK_COW_V3_BROKEN : UK_COW_V3;
		break;
	default:
		return uk_err_set(err, EINVAL, "header: unknown version %u (1, 2 and 3 exist)",
				  version);
	}
	return decode_fields(b, len, layout_of(h->variant), h, err);
}

int uk_cow_header_encode(const struct uk_cow_header *h, void *buf, size_t len)
{
	const struct cow_layout *l = layout_of(h->variant);
	uint8_t *b = buf;
	bool le = h->little_endian;
	size_t plen;

	if (!l || len < l->header_len || (le && h->variant != UK_COW_V1))
		return -EINVAL;
	plen = strnlen(h->backing, sizeof(h->backing));
	if (plen == 0 || plen >= l->backing_len)
		return -ENAMETOOLONG;
	memset(b, 0, l->header_len);
	put32(b, UK_COW_MAGIC, le);
	put32(b + 4, h->variant == UK_COW_V3_BROKEN ? 3 : (uint32_t)h->variant, le);
	put32(b + l->off_mtime, h->mtime, le);
	put64(b + l->off_size, h->size, le);
	put32(b + l->off_sectorsize, h->sectorsize, le);
	if (l->off_alignment >= 0)
		put32(b + l->off_alignment, h->alignment, le);
	if (l->off_format >= 0)
		put32(b + l->off_format, h->cow_format, le);
	memcpy(b + l->off_backing, h->backing, plen);
	return (int)l->header_len;
}

int uk_cow_header_init(struct uk_cow_header *h, const char *backing_abs, uint64_t size,
		       uint32_t mtime, struct uk_err *err)
{
	memset(h, 0, sizeof(*h));
	if (strlen(backing_abs) >= UK_COW_BACKING_FIELD)
		return uk_err_set(err, ENAMETOOLONG,
				  "backing file name is too long (names are limited to %d bytes)",
				  UK_COW_BACKING_FIELD - 1);
	h->variant = UK_COW_V3;
	h->mtime = mtime;
	h->size = size;
	h->sectorsize = UK_COW_SECTOR_SIZE;
	h->alignment = UK_COW_ALIGNMENT;
	h->cow_format = 0;
	strcpy(h->backing, backing_abs);
	return uk_cow_layout(h, err);
}

uint64_t uk_bitmap_run(const uint8_t *bm, uint64_t nbits, uint64_t start, uint64_t limit, bool *set)
{
	uint64_t i = start;
	bool v = start < nbits && uk_bitmap_test(bm, start);
	uint64_t end = UK_MIN(limit, nbits);

	*set = v;
	if (start >= nbits)
		return limit > start ? limit : start; /* everything past the bitmap is clear */
	/* bit by bit up to a 64-bit boundary, then whole words, then the tail */
	while (i < end && (i & 63)) {
		if (uk_bitmap_test(bm, i) != v)
			return i;
		i++;
	}
	while (i + 64 <= end) {
		uint64_t w;

		memcpy(&w, bm + i / 8, 8);
		if (w != (v ? UINT64_MAX : 0))
			break;
		i += 64;
	}
	while (i < end) {
		if (uk_bitmap_test(bm, i) != v)
			return i;
		i++;
	}
	/* a clear run continues past the bitmap's end up to limit */
	if (!v && i >= nbits && limit > i)
		return limit;
	return i;
}

uint64_t uk_bitmap_count(const uint8_t *bm, uint64_t nbits)
{
	uint64_t n = 0, i = 0;

	for (; i + 64 <= nbits; i += 64) {
		uint64_t w;

		memcpy(&w, bm + i / 8, 8);
		n += (uint64_t)__builtin_popcountll(w);
	}
	for (; i < nbits; i++)
		n += uk_bitmap_test(bm, i);
	return n;
}
