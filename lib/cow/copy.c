// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Bulk copying between files: the source's holes skipped with SEEK_DATA/SEEK_HOLE; into a
 * new file, extents shared where the filesystem has reflinks, otherwise large reads with
 * zero blocks left as holes (what cp --sparse=always does); into an existing file, the
 * kernel copies (copy_file_range).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cow-internal.h"

#define ZERO_BLOCK 4096 /* granularity at which zeros in the source become holes */

/* Write buf to out_fd at out_off, leaving out the 4 KiB blocks that are all zeros when
 * sparse (the destination already reads as zeros there). */
static int write_sparse(int out_fd, const char *buf, size_t n, uint64_t out_off, bool sparse)
{
	size_t at = 0;

	if (!sparse)
		return uk_pwrite_all(out_fd, buf, n, out_off);
	while (at < n) {
		size_t start, end;

		while (at < n && uk_mem_is_zero(buf + at, UK_MIN(n - at, (size_t)ZERO_BLOCK)))
			at += UK_MIN(n - at, (size_t)ZERO_BLOCK);
		start = at;
		while (at < n && !uk_mem_is_zero(buf + at, UK_MIN(n - at, (size_t)ZERO_BLOCK)))
			at += UK_MIN(n - at, (size_t)ZERO_BLOCK);
		end = at;
		if (end > start) {
			int r = uk_pwrite_all(out_fd, buf + start, end - start, out_off + start);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int copy_buffered(const struct uk_copy *cp, uint64_t in_off, uint64_t out_off, uint64_t len,
			 bool sparse, struct uk_err *err)
{
	_cleanup_free_ char *buf = malloc(UK_COPY_CHUNK);

	if (!buf)
		return uk_err_set(err, ENOMEM, "out of memory");
	while (len > 0) {
		size_t n = (size_t)UK_MIN(len, (uint64_t)UK_COPY_CHUNK);
		int r = uk_cow_pread(cp->in_fd, cp->in_path, buf, n, in_off, err);

		if (r < 0)
			return r;
		r = write_sparse(cp->out_fd, buf, n, out_off, sparse);
		if (r < 0)
			return uk_err_sys(err, -r, "%s: write", cp->out_path);
		in_off += n;
		out_off += n;
		len -= n;
	}
	return 0;
}

/* Share the source's extents (reflink) where the filesystem can: XFS, btrfs. */
static bool clone_range(int in_fd, uint64_t in_off, int out_fd, uint64_t out_off, uint64_t len)
{
	static bool unsupported;
	struct file_clone_range fcr = {
		.src_fd = in_fd, .src_offset = in_off, .src_length = len, .dest_offset = out_off};

	if (unsupported || (in_off | out_off | len) % ZERO_BLOCK)
		return false;
	uk_read_point(in_fd, len);
	uk_io_point("pwrite");
	if (ioctl(out_fd, FICLONERANGE, &fcr) == 0)
		return true;
	if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EXDEV || errno == ENOSYS)
		unsupported = true;
	return false;
}

/* Copy [in_off, in_off+len) of data. A new destination (holes == UK_HOLES_SKIP) shares the
 * extents or gets only the non-zero blocks; an existing one gets every byte, copied by the
 * kernel (copy_file_range). A source that ends early is left to copy_buffered, which says
 * so. */
static int copy_data(const struct uk_copy *cp, uint64_t in_off, uint64_t out_off, uint64_t len,
		     struct uk_err *err)
{
	static bool no_cfr;

	if (cp->holes == UK_HOLES_SKIP)
		return clone_range(cp->in_fd, in_off, cp->out_fd, out_off, len)
			       ? 0
			       : copy_buffered(cp, in_off, out_off, len, true, err);
	while (len > 0 && !no_cfr) {
		loff_t io = (loff_t)in_off, oo = (loff_t)out_off;
		ssize_t n;

		uk_read_point(cp->in_fd, len);
		uk_io_point("pwrite");
		n = copy_file_range(cp->in_fd, &io, cp->out_fd, &oo,
				    (size_t)UK_MIN(len, 1ULL << 30), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOSYS || errno == EXDEV || errno == EINVAL ||
			    errno == EOPNOTSUPP || errno == EBADF) {
				if (errno == ENOSYS)
					no_cfr = true;
				break;
			}
			return uk_err_sys(err, errno, "copying %s into %s", cp->in_path,
					  cp->out_path);
		}
		if (n == 0)
			break; /* the source ends early: copy_buffered tells which and where */
		in_off += (uint64_t)n;
		out_off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return len ? copy_buffered(cp, in_off, out_off, len, false, err) : 0;
}

static int zero_range(int fd, uint64_t off, uint64_t len)
{
	static const char zeros[65536];

	uk_io_point("fallocate");
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	while (len > 0) {
		size_t n = (size_t)UK_MIN(len, (uint64_t)sizeof(zeros));
		int r = uk_pwrite_all(fd, zeros, n, off);

		if (r < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

int uk_extmap_add(struct uk_extmap *m, uint64_t start, uint64_t end)
{
	struct uk_extent_range *last = m->n ? &m->ext[m->n - 1] : NULL;

	if (start >= end)
		return 0;
	if (last && start <= last->end) {
		last->end = UK_MAX(last->end, end);
		return 0;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct uk_extent_range *e = realloc(m->ext, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		m->ext = e;
		m->cap = cap;
	}
	m->ext[m->n++] = (struct uk_extent_range){.start = start, .end = end};
	return 0;
}

int uk_extmap_build(int fd, uint64_t size, struct uk_extmap *m)
{
	uint64_t pos = 0;

	memset(m, 0, sizeof(*m));
	while (pos < size) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
		off_t hole;
		int r;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0) { /* no SEEK_DATA here: all of it is data */
			data = (off_t)pos;
			hole = (off_t)size;
		} else {
			hole = lseek(fd, data, SEEK_HOLE);
			if (hole < 0)
				hole = (off_t)size;
		}
		r = uk_extmap_add(m, (uint64_t)data, UK_MIN((uint64_t)hole, size));
		if (r < 0) {
			uk_extmap_free(m);
			return r;
		}
		pos = (uint64_t)hole;
	}
	return 0;
}

void uk_extmap_free(struct uk_extmap *m)
{
	free(m->ext);
	memset(m, 0, sizeof(*m));
}

/* The first extent that ends after pos (binary search). */
static size_t first_after(const struct uk_extmap *m, uint64_t pos)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->ext[mid].end <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int uk_extmap_clip(struct uk_extmap *dst, const struct uk_extmap *src, uint64_t start, uint64_t end)
{
	for (size_t i = first_after(src, start); i < src->n && src->ext[i].start < end; i++) {
		int r = uk_extmap_add(dst, UK_MAX(src->ext[i].start, start),
				      UK_MIN(src->ext[i].end, end));

		if (r < 0)
			return r;
	}
	return 0;
}

int uk_copy_range(const struct uk_copy *cp, uint64_t in_off, uint64_t out_off, uint64_t len,
		  struct uk_err *err)
{
	const struct uk_extmap *map = cp->map;
	uint64_t end = in_off + len, pos = in_off;

	if (!map)
		return copy_data(cp, in_off, out_off, len, err);
	for (size_t i = first_after(map, pos); pos < end; i++) {
		uint64_t dstart = i < map->n ? UK_MAX(map->ext[i].start, pos) : end;
		uint64_t dend;
		int r;

		dstart = UK_MIN(dstart, end);
		if (dstart > pos && cp->holes == UK_HOLES_WRITE) {
			r = zero_range(cp->out_fd, out_off + (pos - in_off), dstart - pos);
			if (r < 0)
				return uk_err_sys(err, -r, "%s: write", cp->out_path);
		}
		if (dstart >= end)
			break;
		dend = UK_MIN(map->ext[i].end, end);
		r = copy_data(cp, dstart, out_off + (dstart - in_off), dend - dstart, err);
		if (r < 0)
			return r;
		pos = dend;
	}
	return 0;
}

int uk_refuse_same_file(const char *what, const char *path, const struct stat *other,
			const char *other_name, struct uk_err *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 0;
	if (st.st_dev == other->st_dev && st.st_ino == other->st_ino)
		return uk_err_set(err, EINVAL,
				  "%s: %s is the same file as %s; refusing to overwrite it", path,
				  what, other_name);
	return 0;
}
