// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cowgen: write UML COW files of every header variant for the shell tests, plus the flat
 * image a guest would see through them (the ground truth a merge must reproduce).
 *
 *   cowgen --variant 1le|1be|2|3|3-512|3broken --backing PATH [--size N] [--mtime N]
 *          [--sectorsize N] [--alignment N] [--write OFF:LEN:SEED]... [--expect FILE]
 *          [--raw-header FIELD=VALUE]... [--length N] [--layout] OUT
 *
 * The header is encoded by uk_cow_header_encode() after uk_cow_layout(); the bitmap and the
 * data are written here, independently of the library's image code, the way the kernel does
 * it: every sector OFF..OFF+LEN touches is held whole by the COW and its bit is set (byte
 * order, least significant bit first). The whole sector gets new data: a function of (SEED,
 * disk offset), so a test can regenerate it; SEED "zero" writes zeros (a COW holding zero
 * sectors over a non-zero backing). Later writes replace earlier ones.
 *
 * The backing path is stored as given. --size and --mtime default to the backing's stat
 * (both required when it does not exist). The file is data_offset + size bytes, or longer
 * when a write holds the last partial sector (the kernel writes it whole); --length N sets
 * the final length instead (truncated bitmap or data).
 *
 * --raw-header FIELD=VALUE patches the encoded header afterwards, to make corrupt files:
 * FIELD is magic, version, mtime, size, sectorsize, alignment or format (VALUE decimal or
 * 0x hex, written in the variant's byte order at the variant's offset), or path-nonul
 * (VALUE ignored: the whole path field is filled with 'x', no NUL).
 *
 * --expect FILE: exactly `size` bytes: the backing's content (zeros past its end) with the
 * writes applied. --layout prints the computed layout on stdout.
 *
 * Exit: 0 written, 1 error, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/cow.h"
#include "umlkit/util.h"

#define MAX_WRITES  256
#define MAX_PATCHES 32

struct wr {
	uint64_t off, len, seed;
	bool zero;
};

struct patch {
	char field[32];
	uint64_t value;
};

/* Field offsets of each layout, from the spec (uml-interfaces.md 1.2), kept separate from the
 * library's table on purpose. -1: no such field. */
struct fieldmap {
	int mtime, size, sectorsize, alignment, format, backing, backing_len;
};

static const struct fieldmap *fields_of(int variant)
{
	static const struct fieldmap v1 = {264, 268, 276, -1, -1, 8, 256};
	static const struct fieldmap v2 = {4104, 4108, 4116, -1, -1, 8, 4096};
	static const struct fieldmap v3 = {8, 12, 20, 24, 28, 32, 4096};
	static const struct fieldmap v3b = {8, 16, 24, 28, 32, 36, 4096};

	switch (variant) {
	case UK_COW_V1:
		return &v1;
	case UK_COW_V2:
		return &v2;
	case UK_COW_V3:
		return &v3;
	default:
		return &v3b;
	}
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cowgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: cowgen --variant 1le|1be|2|3|3-512|3broken --backing PATH "
			"[--size N] [--mtime N] [--sectorsize N] [--alignment N]\n"
			"       [--write OFF:LEN:SEED]... [--expect FILE] "
			"[--raw-header FIELD=VALUE]... [--length N] [--layout] OUT\n");
	exit(2);
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		die("bad number '%s'", s);
	return v;
}

/* The byte a write with this seed puts at disk offset off: splitmix64 of (seed, off / 8). */
static uint8_t gen_byte(uint64_t seed, uint64_t off)
{
	uint64_t z = seed * 0x9E3779B97F4A7C15ULL + (off >> 3) + 1;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (uint8_t)(z >> ((off & 7) * 8));
}

static void fill(uint8_t *buf, size_t len, uint64_t off, const struct wr *w)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = w->zero ? 0 : gen_byte(w->seed, off + i);
}

static void put32v(uint8_t *p, uint32_t v, bool le)
{
	if (le)
		uk_put_le32(p, v);
	else
		uk_put_be32(p, v);
}

static void put64v(uint8_t *p, uint64_t v, bool le)
{
	if (le)
		uk_put_le64(p, v);
	else
		uk_put_be64(p, v);
}

static void apply_patch(uint8_t *hdr, const struct uk_cow_header *h, const struct patch *p)
{
	const struct fieldmap *f = fields_of(h->variant);
	bool le = h->little_endian;
	int off = -1;

	if (!strcmp(p->field, "path-nonul")) {
		memset(hdr + f->backing, 'x', (size_t)f->backing_len);
		return;
	}
	if (!strcmp(p->field, "magic"))
		off = 0;
	else if (!strcmp(p->field, "version"))
		off = 4;
	else if (!strcmp(p->field, "mtime"))
		off = f->mtime;
	else if (!strcmp(p->field, "sectorsize"))
		off = f->sectorsize;
	else if (!strcmp(p->field, "alignment"))
		off = f->alignment;
	else if (!strcmp(p->field, "format"))
		off = f->format;
	else if (!strcmp(p->field, "size")) {
		put64v(hdr + f->size, p->value, le);
		return;
	} else
		die("unknown header field '%s'", p->field);
	if (off < 0)
		die("this variant has no field '%s'", p->field);
	put32v(hdr + off, (uint32_t)p->value, le);
}

static void pwrite_or_die(int fd, const void *buf, size_t len, uint64_t off, const char *what)
{
	if (uk_pwrite_all(fd, buf, len, off) < 0)
		die("writing %s failed", what);
}

static void write_expect(const char *path, const char *backing, uint64_t size, uint64_t ss,
			 const struct wr *w, int nw)
{
	uint8_t buf[65536];
	int in = open(backing, O_RDONLY | O_CLOEXEC);
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (out < 0)
		die("cannot create %s", path);
	for (uint64_t off = 0; off < size; off += sizeof(buf)) {
		size_t n = (size_t)UK_MIN((uint64_t)sizeof(buf), size - off);
		ssize_t got = in >= 0 ? uk_pread_full(in, buf, n, off) : 0;

		if (got < 0)
			die("reading backing %s", backing);
		memset(buf + got, 0, n - (size_t)got);
		pwrite_or_die(out, buf, n, off, path);
	}
	/* the writes, rounded out to whole sectors, clipped to the guest-visible size, in
	 * command-line order */
	for (int i = 0; i < nw; i++) {
		uint64_t start = w[i].off / ss * ss;
		uint64_t end = w[i].len ? (w[i].off + w[i].len + ss - 1) / ss * ss : start;

		for (uint64_t off = start; off < end && off < size;) {
			size_t n = (size_t)UK_MIN((uint64_t)sizeof(buf), UK_MIN(end, size) - off);

			fill(buf, n, off, &w[i]);
			pwrite_or_die(out, buf, n, off, path);
			off += n;
		}
	}
	if (ftruncate(out, (off_t)size) < 0)
		die("truncating %s", path);
	if (in >= 0)
		close(in);
	close(out);
}

int main(int argc, char **argv)
{
	static struct wr writes[MAX_WRITES];
	static struct patch patches[MAX_PATCHES];
	static uint8_t hdr[UK_COW_HEADER_MAX + 16];
	struct uk_cow_header h;
	struct uk_err err = {0};
	const char *variant = NULL, *backing = NULL, *expect = NULL, *out = NULL;
	int64_t size = -1, mtime = -1, length = -1, ss = -1, align = -1;
	int nw = 0, np = 0, fd, hl;
	bool layout = false;
	uint8_t *bitmap, *sector;
	uint64_t file_len;
	struct stat st;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--layout")) {
			layout = true;
			continue;
		}
		if (a[0] != '-' || a[1] != '-') {
			if (out)
				usage();
			out = a;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--variant"))
			variant = v;
		else if (!strcmp(a, "--backing"))
			backing = v;
		else if (!strcmp(a, "--expect"))
			expect = v;
		else if (!strcmp(a, "--size"))
			size = (int64_t)num(v);
		else if (!strcmp(a, "--mtime"))
			mtime = (int64_t)num(v);
		else if (!strcmp(a, "--length"))
			length = (int64_t)num(v);
		else if (!strcmp(a, "--sectorsize"))
			ss = (int64_t)num(v);
		else if (!strcmp(a, "--alignment"))
			align = (int64_t)num(v);
		else if (!strcmp(a, "--write")) {
			char tmp[128], *c1, *c2;

			if (nw == MAX_WRITES || strlen(v) >= sizeof(tmp))
				usage();
			strcpy(tmp, v);
			c1 = strchr(tmp, ':');
			c2 = c1 ? strchr(c1 + 1, ':') : NULL;
			if (!c2)
				die("--write wants OFF:LEN:SEED, got '%s'", v);
			*c1 = *c2 = '\0';
			writes[nw].off = num(tmp);
			writes[nw].len = num(c1 + 1);
			writes[nw].zero = !strcmp(c2 + 1, "zero");
			writes[nw].seed = writes[nw].zero ? 0 : num(c2 + 1);
			nw++;
		} else if (!strcmp(a, "--raw-header")) {
			const char *eq = strchr(v, '=');

			if (np == MAX_PATCHES || !eq ||
			    (size_t)(eq - v) >= sizeof(patches[0].field))
				die("--raw-header wants FIELD=VALUE, got '%s'", v);
			memcpy(patches[np].field, v, (size_t)(eq - v));
			patches[np].field[eq - v] = '\0';
			patches[np].value =
				strcmp(patches[np].field, "path-nonul") ? num(eq + 1) : 0;
			np++;
		} else
			usage();
	}
	if (!variant || !backing || !out)
		usage();

	memset(&h, 0, sizeof(h));
	h.sectorsize = UK_COW_SECTOR_SIZE;
	h.alignment = UK_COW_ALIGNMENT;
	if (!strcmp(variant, "1le")) {
		h.variant = UK_COW_V1;
		h.little_endian = true;
	} else if (!strcmp(variant, "1be")) {
		h.variant = UK_COW_V1;
	} else if (!strcmp(variant, "2")) {
		h.variant = UK_COW_V2;
	} else if (!strcmp(variant, "3")) {
		h.variant = UK_COW_V3;
	} else if (!strcmp(variant, "3-512")) {
		h.variant = UK_COW_V3;
		h.alignment = 512;
	} else if (!strcmp(variant, "3broken")) {
		h.variant = UK_COW_V3_BROKEN;
	} else {
		die("unknown variant '%s'", variant);
	}
	if (ss >= 0)
		h.sectorsize = (uint32_t)ss;
	if (align >= 0)
		h.alignment = (uint32_t)align;
	if (size < 0 || mtime < 0) {
		if (stat(backing, &st) < 0)
			die("cannot stat backing %s (give --size and --mtime)", backing);
		if (size < 0)
			size = st.st_size;
		if (mtime < 0)
			mtime = st.st_mtime;
	}
	h.size = (uint64_t)size;
	h.mtime = (uint32_t)mtime;
	if (strlen(backing) >= sizeof(h.backing))
		die("backing path too long: %s", backing);
	strcpy(h.backing, backing);
	if (uk_cow_layout(&h, &err) < 0)
		die("layout: %s", err.msg);
	hl = uk_cow_header_encode(&h, hdr, sizeof(hdr));
	if (hl < 0)
		die("cannot encode this header (path too long for the variant?): %s", backing);
	for (int i = 0; i < np; i++)
		apply_patch(hdr, &h, &patches[i]);

	bitmap = calloc(1, h.bitmap_len + 1);
	sector = malloc(h.sectorsize);
	if (!bitmap || !sector)
		die("%s", "out of memory");
	fd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot create %s", out);
	file_len = h.data_offset + h.size;
	for (int i = 0; i < nw; i++) {
		uint64_t first, last;

		if (writes[i].len == 0)
			continue;
		first = writes[i].off / h.sectorsize;
		last = (writes[i].off + writes[i].len - 1) / h.sectorsize;
		if (last >= h.bitmap_sectors)
			die("write %" PRIu64 ":%" PRIu64 " reaches past the %" PRIu64
			    " sectors the bitmap describes",
			    writes[i].off, writes[i].len, h.bitmap_sectors);
		for (uint64_t s = first; s <= last; s++) {
			fill(sector, h.sectorsize, s * h.sectorsize, &writes[i]);
			pwrite_or_die(fd, sector, h.sectorsize, h.data_offset + s * h.sectorsize,
				      out);
			uk_bitmap_set(bitmap, s);
			file_len = UK_MAX(file_len, h.data_offset + (s + 1) * h.sectorsize);
		}
	}
	pwrite_or_die(fd, hdr, (size_t)hl, 0, out);
	if (h.bitmap_len)
		pwrite_or_die(fd, bitmap, h.bitmap_len, h.bitmap_offset, out);
	if (length >= 0)
		file_len = (uint64_t)length;
	if (ftruncate(fd, (off_t)file_len) < 0)
		die("truncating %s", out);
	if (close(fd) < 0)
		die("closing %s", out);
	if (expect)
		write_expect(expect, backing, h.size, h.sectorsize, writes, nw);
	if (layout)
		printf("header_len=%d bitmap_offset=%" PRIu64 " bitmap_len=%" PRIu64
		       " data_offset=%" PRIu64 " sectors=%" PRIu64 " bitmap_sectors=%" PRIu64
		       " length=%" PRIu64 "\n",
		       hl, h.bitmap_offset, h.bitmap_len, h.data_offset, h.sectors,
		       h.bitmap_sectors, file_len);
	free(bitmap);
	free(sector);
	return 0;
}
