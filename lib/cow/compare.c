// SPDX-License-Identifier: LGPL-2.1-or-later
/* Looking at disks: the extent map of a COW, images of either kind, compare, and diff. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cow-internal.h"

const char *uk_extent_source_name(int source)
{
	switch (source) {
	case UK_EXT_COW:
		return "cow";
	case UK_EXT_BACKING:
		return "backing";
	case UK_EXT_HOLE:
		return "hole";
	}
	return "unknown";
}

struct map_ctx {
	struct uk_extent cur;
	int (*cb)(void *ctx, const struct uk_extent *e);
	void *ctx;
};

static int emit(struct map_ctx *m, int source, uint64_t off, uint64_t len)
{
	int r = 0;

	if (!len)
		return 0;
	if (m->cur.length && m->cur.source == source && m->cur.offset + m->cur.length == off) {
		m->cur.length += len;
		return 0;
	}
	if (m->cur.length)
		r = m->cb(m->ctx, &m->cur);
	m->cur = (struct uk_extent){.offset = off, .length = len, .source = source};
	return r;
}

static int map_run(struct uk_cow *c, bool set, uint64_t off, uint64_t len, void *ctx)
{
	struct map_ctx *m = ctx;
	uint64_t end = off + len;

	if (set)
		return emit(m, UK_EXT_COW, off, len);
	while (off < end) {
		off_t data = lseek(c->backing_fd, (off_t)off, SEEK_DATA);
		uint64_t d = data < 0 ? end : UK_MIN((uint64_t)data, end);
		off_t hole;
		uint64_t h;
		int r = emit(m, UK_EXT_HOLE, off, d - off);

		if (r || d >= end)
			return r;
		hole = lseek(c->backing_fd, (off_t)d, SEEK_HOLE);
		h = hole < 0 ? end : UK_MIN((uint64_t)hole, end);
		r = emit(m, UK_EXT_BACKING, d, h - d);
		if (r)
			return r;
		off = h;
	}
	return 0;
}

int uk_cow_map(struct uk_cow *c, int (*cb)(void *ctx, const struct uk_extent *e), void *ctx,
	       struct uk_err *err)
{
	struct map_ctx m = {.cb = cb, .ctx = ctx};
	int r;

	if (c->backing_fd < 0)
		return uk_err_set(err, EBADF, "%s: backing not open", c->path);
	r = uk_cow_for_each_run(c, NULL, map_run, &m);
	if (r == 0 && m.cur.length)
		r = cb(ctx, &m.cur);
	return r;
}

int uk_cow_disk_open(struct uk_cow_disk **out, const char *path, int flags, struct uk_err *err)
{
	struct uk_cow_disk *img = calloc(1, sizeof(*img));
	struct stat st;
	int r;

	*out = NULL;
	if (!img)
		return uk_err_set(err, ENOMEM, "out of memory");
	img->fd = -1;
	img->shared = flags & UK_COW_OPEN_SHARED;
	snprintf(img->path, sizeof(img->path), "%s", path);
	r = uk_cow_open(&img->cow, path, NULL, flags & UK_COW_OPEN_SHARED, err);
	if (r == 0) {
		img->size = img->cow->h.size;
		*out = img;
		return 0;
	}
	if (r != -EMEDIUMTYPE)
		goto fail;
	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0 || fstat(img->fd, &st) < 0) {
		r = uk_err_sys(err, errno, "%s", path);
		goto fail;
	}
	if (!(flags & UK_COW_OPEN_SHARED)) {
		r = uk_lock_fd(img->fd, false, path, err);
		if (r < 0)
			goto fail;
	}
	img->st = st;
	img->size = (uint64_t)st.st_size;
	*out = img;
	return 0;
fail:
	uk_cow_disk_close(img);
	return r;
}

void uk_cow_disk_close(struct uk_cow_disk *img)
{
	if (!img)
		return;
	uk_cow_close(img->cow);
	if (img->fd >= 0)
		close(img->fd);
	free(img);
}

int uk_cow_disk_read(struct uk_cow_disk *img, void *buf, size_t len, uint64_t off,
		     struct uk_err *err)
{
	if (img->cow)
		return uk_cow_read(img->cow, buf, len, off, err);
	return uk_cow_read_part(img->fd, img->path, img->size, buf, len, off, err);
}

/* After a pass that read img: whether what it read may be torn (see uk_cow_recheck). A disk
 * read with -U may change under a guest: only its backing must hold still. */
static int disk_recheck(const struct uk_cow_disk *img, struct uk_err *err)
{
	if (img->cow)
		return uk_cow_recheck(img->cow, !img->shared, err);
	return img->shared ? 0 : uk_file_recheck(img->fd, img->path, &img->st, err);
}

struct extents_ctx {
	struct uk_extmap *m;
	const struct uk_extmap *backing;
};

static int cow_run_extents(struct uk_cow *c, bool set, uint64_t off, uint64_t len, void *ctx)
{
	struct extents_ctx *x = ctx;

	if (set)
		return uk_extmap_add(x->m, off, off + len);
	return uk_extmap_clip(x->m, x->backing, off, off + len);
}

/* Where img may read as non-zero: a raw image's data extents; a COW's runs, and its
 * backing's data extents inside the runs it does not hold. */
static int disk_extents(struct uk_cow_disk *img, struct uk_extmap *m, struct uk_err *err)
{
	struct uk_cow *c = img->cow;
	struct uk_extmap backing;
	struct extents_ctx x = {.m = m, .backing = &backing};
	int r;

	if (!c) {
		r = uk_extmap_build(img->fd, img->size, m);
		return r < 0 ? uk_err_sys(err, -r, "%s: its extents", img->path) : 0;
	}
	memset(m, 0, sizeof(*m));
	r = uk_extmap_build(c->backing_fd, c->h.size, &backing);
	if (r == 0)
		r = uk_cow_for_each_run(c, NULL, cow_run_extents, &x);
	uk_extmap_free(&backing);
	if (r < 0)
		return uk_err_sys(err, -r, "%s: its extents", img->path);
	return 0;
}

/* The union of where a and b may read as non-zero, in sectors of ss bytes, up to size: the
 * only places two disks can differ. */
static int pair_extents(struct uk_cow_disk *a, struct uk_cow_disk *b, uint64_t size, uint64_t ss,
			struct uk_extmap *u, struct uk_err *err)
{
	struct uk_extmap ea = {0}, eb = {0};
	size_t i = 0, j = 0;
	int r = disk_extents(a, &ea, err);

	if (r == 0)
		r = disk_extents(b, &eb, err);
	memset(u, 0, sizeof(*u));
	while (r == 0 && (i < ea.n || j < eb.n)) {
		bool from_a = j >= eb.n || (i < ea.n && ea.ext[i].start <= eb.ext[j].start);
		const struct uk_extent_range *e = from_a ? &ea.ext[i++] : &eb.ext[j++];
		uint64_t start = e->start / ss * ss,
			 end = UK_MIN(size, (e->end + ss - 1) / ss * ss);

		if (uk_extmap_add(u, start, end) < 0)
			r = uk_err_set(err, ENOMEM, "out of memory");
	}
	uk_extmap_free(&ea);
	uk_extmap_free(&eb);
	return r;
}

/* Walk two images side by side in chunks over where either holds data (elsewhere both read
 * as zeros); fn sees each pair of buffers. Afterwards neither may have changed under the
 * walk. */
static int walk_pair(struct uk_cow_disk *a, struct uk_cow_disk *b, uint64_t size, uint64_t ss,
		     const struct uk_progress *progress,
		     int (*fn)(void *ctx, const uint8_t *pa, const uint8_t *pb, uint64_t off,
			       size_t n),
		     void *ctx, struct uk_err *err)
{
	_cleanup_free_ uint8_t *pa = malloc(UK_COPY_CHUNK);
	_cleanup_free_ uint8_t *pb = malloc(UK_COPY_CHUNK);
	struct uk_extmap u;
	int r;

	if (!pa || !pb)
		return uk_err_set(err, ENOMEM, "out of memory");
	r = pair_extents(a, b, size, ss, &u, err);
	for (size_t i = 0; r == 0 && i < u.n; i++) {
		for (uint64_t off = u.ext[i].start; r == 0 && off < u.ext[i].end;) {
			size_t n = (size_t)UK_MIN(u.ext[i].end - off, (uint64_t)UK_COPY_CHUNK);

			r = uk_cow_disk_read(a, pa, n, off, err);
			if (r == 0)
				r = uk_cow_disk_read(b, pb, n, off, err);
			if (r == 0)
				r = fn(ctx, pa, pb, off, n);
			off += n;
			uk_progress_report(progress, off, size);
		}
	}
	uk_extmap_free(&u);
	if (r == 0)
		uk_progress_report(progress, size, size);
	/* a difference found (fn's 1) counts only if neither changed under the reads */
	if (r >= 0) {
		int moved = disk_recheck(a, err);

		if (moved == 0)
			moved = disk_recheck(b, err);
		if (moved < 0)
			r = moved;
	}
	return r;
}

static int first_difference(void *ctx, const uint8_t *pa, const uint8_t *pb, uint64_t off, size_t n)
{
	uint64_t *where = ctx;

	if (!memcmp(pa, pb, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (pa[i] != pb[i]) {
			*where = off + i;
			break;
		}
	}
	return 1;
}

int uk_cow_disk_compare(const char *a, const char *b, int flags, uint64_t *diff_off,
			const struct uk_progress *progress, struct uk_err *err)
{
	struct uk_cow_disk *ia = NULL, *ib = NULL;
	int r;

	*diff_off = 0;
	r = uk_cow_disk_open(&ia, a, flags, err);
	if (r == 0)
		r = uk_cow_disk_open(&ib, b, flags, err);
	if (r == 0) {
		uk_err_clear(err); /* opening a raw image leaves the COW probe's message */
		r = walk_pair(ia, ib, UK_MIN(ia->size, ib->size), UK_COW_SECTOR_SIZE, progress,
			      first_difference, diff_off, err);
		if (r == 0 && ia->size != ib->size) {
			*diff_off = UK_MIN(ia->size, ib->size);
			if (err) /* not an error: the reason they differ */
				snprintf(err->msg, sizeof(err->msg),
					 "%.480s is %llu bytes, %.480s is %llu", a,
					 (unsigned long long)ia->size, b,
					 (unsigned long long)ib->size);
			r = 1;
		}
	}
	uk_cow_disk_close(ia);
	uk_cow_disk_close(ib);
	return r;
}

struct diff_ctx {
	struct uk_cow_header *h;
	int fd;
	uint8_t *bitmap;
	uint64_t sectors;
	const char *path;
	struct uk_err *err;
};

static int diff_chunk(void *ctx, const uint8_t *pa, const uint8_t *pb, uint64_t off, size_t n)
{
	struct diff_ctx *d = ctx;
	uint64_t ss = d->h->sectorsize;

	for (size_t at = 0; at < n; at += ss) {
		size_t len = (size_t)UK_MIN((uint64_t)(n - at), ss);
		uint64_t sec = (off + at) / ss;
		int r;

		if (!memcmp(pa + at, pb + at, len))
			continue;
		/* a partial last sector stores only the bytes up to the disk's end */
		r = uk_pwrite_all(d->fd, pb + at, len, d->h->data_offset + off + at);
		if (r < 0)
			return uk_err_sys(d->err, -r, "%s: write", d->path);
		uk_bitmap_set(d->bitmap, sec);
		d->sectors++;
	}
	return 0;
}

static int write_diff(struct uk_cow_disk *base, struct uk_cow_disk *img, const char *cow,
		      const struct uk_cow_header *hdr, bool force,
		      const struct uk_progress *progress, uint64_t *sectors, struct uk_err *err)
{
	struct uk_cow_header h = *hdr;
	struct diff_ctx d = {.h = &h, .path = cow, .err = err};
	struct uk_newfile nf;
	int r;

	d.bitmap = calloc(1, h.bitmap_len + 8);
	if (!d.bitmap)
		return uk_err_set(err, ENOMEM, "out of memory");
	r = uk_newfile_open(&nf, cow, 0644, err);
	if (r < 0)
		goto out;
	d.fd = nf.fd;
	r = uk_cow_write_new(&nf, &h, err);
	if (r == 0) {
		r = walk_pair(base, img, h.size, h.sectorsize, progress, diff_chunk, &d, err);
	}
	if (r == 0) {
		r = uk_pwrite_all(nf.fd, d.bitmap, h.bitmap_len, h.bitmap_offset);
		if (r < 0)
			r = uk_err_sys(err, -r, "%s: writing the bitmap", cow);
	}
	if (r < 0) {
		uk_newfile_abort(&nf);
		goto out;
	}
	r = uk_newfile_commit(&nf, force, err);
	*sectors = d.sectors;
out:
	free(d.bitmap);
	return r;
}

int uk_cow_diff(const char *base, const char *new_img, const char *cow, bool force,
		const struct uk_progress *progress, uint64_t *sectors, struct uk_err *err)
{
	struct uk_cow_disk *ib = NULL, *in = NULL;
	char abs[UK_COW_BACKING_FIELD + 1];
	struct uk_backing_id id;
	struct uk_cow_header h;
	int r;

	*sectors = 0;
	if (!force && access(cow, F_OK) == 0)
		return uk_err_set(err, EEXIST, "%s: already exists (use -f to replace it)", cow);
	r = uk_cow_plain_backing(base, abs, sizeof(abs), &id, err);
	if (r < 0)
		return r;
	r = uk_refuse_same_file("the new COW", cow, &id.st, "the base", err);
	if (r < 0)
		return r;
	r = uk_cow_disk_open(&ib, abs, 0, err);
	if (r == 0)
		r = uk_cow_disk_open(&in, new_img, 0, err);
	if (r == 0 && ib->size != in->size)
		r = uk_err_set(err, EINVAL, "%s is %llu bytes but %s is %llu: sizes must match",
			       new_img, (unsigned long long)in->size, base,
			       (unsigned long long)ib->size);
	if (r == 0)
		r = uk_cow_header_init(&h, abs, id.size, (uint32_t)id.st.st_mtime, err);
	if (r == 0)
		r = write_diff(ib, in, cow, &h, force, progress, sectors, err);
	uk_cow_disk_close(ib);
	uk_cow_disk_close(in);
	return r;
}
