// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An open COW: header and bitmap read and validated, locks taken as the kernel takes them
 * (write lock on a COW being written, read lock on a backing), the backing opened and
 * checked, its bitmap walked in runs (what merge, rebase and map build on), guest-visible
 * reads, kernel-like writes and header rewrites.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cow-internal.h"

static int backing_stat(int fd, const char *path, struct stat *st, uint64_t *size,
			struct uk_err *err)
{
	if (fstat(fd, st) < 0)
		return uk_err_sys(err, errno, "backing file %s: stat", path);
	if (S_ISBLK(st->st_mode)) {
		uint64_t bytes;

		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
			return uk_err_sys(err, errno, "backing device %s: size", path);
		*size = bytes;
	} else if (S_ISREG(st->st_mode)) {
		*size = (uint64_t)st->st_size;
	} else {
		return uk_err_set(err, EINVAL,
				  "backing file %s: not a regular file or block device", path);
	}
	return 0;
}

int uk_cow_check_backing(const struct uk_cow *c, struct uk_err *err)
{
	if (c->backing_size != c->h.size)
		return uk_err_set(err, ESTALE,
				  "%s: size mismatch (%llu vs %llu) of COW header vs backing file "
				  "\"%s\"",
				  c->path, (unsigned long long)c->h.size,
				  (unsigned long long)c->backing_size, c->backing_path);
	if ((uint32_t)c->backing_st.st_mtime != c->h.mtime)
		return uk_err_set(err, ESTALE,
				  "%s: mtime mismatch (%lu vs %lld) of COW header vs backing file "
				  "\"%s\": the backing changed since the COW was made",
				  c->path, (unsigned long)c->h.mtime,
				  (long long)c->backing_st.st_mtime, c->backing_path);
	return 0;
}

static int read_header(struct uk_cow *c, struct uk_err *err)
{
	uint8_t buf[UK_COW_HEADER_MAX];
	struct stat st;
	ssize_t n;
	int r;

	if (fstat(c->fd, &st) < 0)
		return uk_err_sys(err, errno, "%s: stat", c->path);
	if (!S_ISREG(st.st_mode))
		return uk_err_set(err, EINVAL, "%s: not a regular file", c->path);
	c->st = st;
	c->file_size = (uint64_t)st.st_size;
	n = uk_pread_full(c->fd, buf, sizeof(buf), 0);
	if (n < 0)
		return uk_err_sys(err, (int)-n, "%s: reading the header", c->path);
	if (n == 0)
		return uk_err_set(err, EINVAL, "%s: empty file, not a COW", c->path);
	r = uk_cow_header_decode(buf, (size_t)n, &c->h, err);
	if (r < 0)
		return uk_err_prefix(err, r, "%s: ", c->path);
	if (c->file_size < c->h.data_offset)
		return uk_err_set(
			err, EINVAL,
			"%s: bitmap truncated: the file is %llu bytes, its bitmap ends at "
			"%llu and data starts at %llu",
			c->path, (unsigned long long)c->file_size,
			(unsigned long long)(c->h.bitmap_offset + c->h.bitmap_len),
			(unsigned long long)c->h.data_offset);
	if (c->file_size < c->h.data_offset + c->h.size)
		return uk_err_set(
			err, EINVAL,
			"%s: data truncated: the file is %llu bytes, the layout needs %llu",
			c->path, (unsigned long long)c->file_size,
			(unsigned long long)(c->h.data_offset + c->h.size));
	return 0;
}

static int read_bitmap(struct uk_cow *c, struct uk_err *err)
{
	ssize_t n;

	c->bitmap = calloc(1, c->h.bitmap_len + 8);
	if (!c->bitmap)
		return uk_err_set(err, ENOMEM, "%s: bitmap of %llu bytes: out of memory", c->path,
				  (unsigned long long)c->h.bitmap_len);
	n = uk_pread_full(c->fd, c->bitmap, c->h.bitmap_len, c->h.bitmap_offset);
	if (n < 0)
		return uk_err_sys(err, (int)-n, "%s: reading the bitmap", c->path);
	if ((uint64_t)n != c->h.bitmap_len)
		return uk_err_set(err, EINVAL, "%s: bitmap truncated", c->path);
	return 0;
}

static int open_backing(struct uk_cow *c, const char *override, struct uk_err *err)
{
	bool rw = c->flags & UK_COW_OPEN_BACKING_RW;
	const char *p = override ? override : c->h.backing;
	int r;

	if (strlen(p) >= sizeof(c->backing_path))
		return uk_err_set(err, ENAMETOOLONG, "%s: backing path too long", c->path);
	strcpy(c->backing_path, p);
	c->backing_fd = open(p, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (c->backing_fd < 0)
		return uk_err_sys(err, errno, "%s: backing file \"%s\"", c->path, p);
	r = backing_stat(c->backing_fd, p, &c->backing_st, &c->backing_size, err);
	if (r < 0)
		return r;
	if (!(c->flags & (UK_COW_OPEN_SHARED | UK_COW_OPEN_NO_LOCK_BACKING))) {
		r = uk_lock_fd(c->backing_fd, rw, p, err);
		if (r < 0)
			return r;
	}
	if (!(c->flags & UK_COW_OPEN_ALLOW_STALE))
		return uk_cow_check_backing(c, err);
	return 0;
}

int uk_cow_open(struct uk_cow **out, const char *path, const char *backing_override, int flags,
		struct uk_err *err)
{
	bool write = flags & UK_COW_OPEN_WRITE;
	struct uk_cow *c;
	int r;

	*out = NULL;
	if (strlen(path) >= sizeof(c->path))
		return uk_err_set(err, ENAMETOOLONG, "%s: path too long", path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return uk_err_set(err, ENOMEM, "out of memory");
	c->backing_fd = -1;
	c->flags = flags;
	strcpy(c->path, path);
	c->fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (c->fd < 0) {
		r = uk_err_sys(err, errno, "%s", path);
		goto fail;
	}
	if (!(flags & UK_COW_OPEN_SHARED)) {
		r = uk_lock_fd(c->fd, write, path, err);
		if (r < 0)
			goto fail;
	}
	r = read_header(c, err);
	if (r == 0)
		r = read_bitmap(c, err);
	if (r == 0 && !(flags & UK_COW_OPEN_NO_BACKING))
		r = open_backing(c, backing_override, err);
	if (r < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	uk_cow_close(c);
	return r;
}

void uk_cow_close(struct uk_cow *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->backing_fd >= 0)
		close(c->backing_fd);
	free(c->bitmap);
	free(c);
}

uint64_t uk_cow_sectors_held(const struct uk_cow *c)
{
	return uk_bitmap_count(c->bitmap, c->h.bitmap_sectors);
}

int uk_cow_for_each_run(struct uk_cow *c, const struct uk_progress *progress,
			int (*fn)(struct uk_cow *c, bool set, uint64_t off, uint64_t len,
				  void *ctx),
			void *ctx)
{
	uint64_t ss = c->h.sectorsize, sec = 0;

	while (sec < c->h.sectors) {
		bool set;
		uint64_t end =
			uk_bitmap_run(c->bitmap, c->h.bitmap_sectors, sec, c->h.sectors, &set);
		uint64_t off = sec * ss;
		uint64_t stop = UK_MIN(end * ss, c->h.size);
		int r = fn(c, set, off, stop - off, ctx);

		if (r)
			return r;
		sec = end;
		uk_progress_report(progress, stop, c->h.size);
	}
	return 0;
}

int uk_cow_pread(int fd, const char *path, void *buf, size_t len, uint64_t off, struct uk_err *err)
{
	ssize_t n = uk_pread_full(fd, buf, len, off);

	if (n < 0)
		return uk_err_sys(err, (int)-n, "%s: read at %llu", path, (unsigned long long)off);
	if ((size_t)n < len)
		return uk_err_set(err, EIO,
				  "%s: short read at %llu: %zd of %zu bytes (the file shrank while "
				  "it was read)",
				  path, (unsigned long long)off, n, len);
	return 0;
}

int uk_cow_read_part(int fd, const char *path, uint64_t size, void *buf, size_t len, uint64_t off,
		     struct uk_err *err)
{
	size_t want = off >= size ? 0 : (size_t)UK_MIN((uint64_t)len, size - off);
	int r = want ? uk_cow_pread(fd, path, buf, want, off, err) : 0;

	if (r == 0)
		memset((char *)buf + want, 0, len - want);
	return r;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

int uk_file_recheck(int fd, const char *path, const struct stat *then, struct uk_err *err)
{
	struct stat now;

	if (fstat(fd, &now) < 0)
		return uk_err_sys(err, errno, "%s: stat", path);
	if (now.st_size != then->st_size)
		return uk_err_set(err, ESTALE,
				  "%s: changed while it was read (size %lld, now %lld); nothing "
				  "was written",
				  path, (long long)then->st_size, (long long)now.st_size);
	if (!same_time(&now.st_mtim, &then->st_mtim) || !same_time(&now.st_ctim, &then->st_ctim))
		return uk_err_set(err, ESTALE,
				  "%s: changed while it was read (its mtime or ctime moved); "
				  "nothing was written",
				  path);
	return 0;
}

/* A backing open for writing (in-place merge) changes as it is written: only its size must
 * hold. */
static int recheck_backing_size(const struct uk_cow *c, struct uk_err *err)
{
	struct stat st;
	uint64_t size;
	int r = backing_stat(c->backing_fd, c->backing_path, &st, &size, err);

	if (r == 0 && size != c->backing_size)
		r = uk_err_set(err, ESTALE, "%s: its size changed under the merge (%llu, now %llu)",
			       c->backing_path, (unsigned long long)c->backing_size,
			       (unsigned long long)size);
	return r;
}

int uk_cow_recheck(const struct uk_cow *c, bool self, struct uk_err *err)
{
	int r = 0;

	if (self)
		r = uk_file_recheck(c->fd, c->path, &c->st, err);
	if (r < 0 || c->backing_fd < 0)
		return r;
	if (c->flags & UK_COW_OPEN_BACKING_RW)
		return recheck_backing_size(c, err);
	return uk_file_recheck(c->backing_fd, c->backing_path, &c->backing_st, err);
}

int uk_cow_read(struct uk_cow *c, void *buf, size_t len, uint64_t off, struct uk_err *err)
{
	uint64_t ss = c->h.sectorsize;
	char *p = buf;

	if (off > c->h.size || len > c->h.size - off) {
		uint64_t avail = off >= c->h.size ? 0 : c->h.size - off;

		memset(p + avail, 0, len - avail);
		len = (size_t)avail;
	}
	while (len > 0) {
		uint64_t sec = off / ss;
		bool set;
		uint64_t end =
			uk_bitmap_run(c->bitmap, c->h.bitmap_sectors, sec, c->h.sectors, &set);
		uint64_t chunk = UK_MIN((uint64_t)len, end * ss - off);
		int r;

		if (set)
			r = uk_cow_read_part(c->fd, c->path, c->file_size, p, chunk,
					     c->h.data_offset + off, err);
		else if (c->backing_fd >= 0)
			r = uk_cow_read_part(c->backing_fd, c->backing_path, c->backing_size, p,
					     chunk, off, err);
		else
			r = uk_err_set(err, EBADF, "%s: backing not open", c->path);
		if (r < 0)
			return r;
		p += chunk;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

/* Bring one partial sector into the COW before a write covers part of it. */
static int write_sector_part(struct uk_cow *c, uint64_t sec, const char *src, size_t skip, size_t n,
			     struct uk_err *err)
{
	uint64_t ss = c->h.sectorsize;
	uint8_t sector[UK_COW_SECTOR_MAX];
	int r = uk_cow_read(c, sector, ss, sec * ss, err);

	if (r < 0)
		return r;
	memcpy(sector + skip, src, n);
	r = uk_pwrite_all(c->fd, sector, ss, c->h.data_offset + sec * ss);
	if (r < 0)
		return uk_err_sys(err, -r, "%s: write", c->path);
	uk_bitmap_set(c->bitmap, sec);
	c->bitmap_dirty = true;
	return 0;
}

int uk_cow_write(struct uk_cow *c, const void *buf, size_t len, uint64_t off, struct uk_err *err)
{
	uint64_t ss = c->h.sectorsize;
	const char *p = buf;

	if (!(c->flags & UK_COW_OPEN_WRITE))
		return uk_err_set(err, EBADF, "%s: opened read-only", c->path);
	if (off > c->h.sectors * ss || len > c->h.sectors * ss - off)
		return uk_err_set(err, ENOSPC, "%s: write past the end of the disk", c->path);
	while (len > 0) {
		uint64_t sec = off / ss;
		size_t skip = (size_t)(off % ss);
		size_t n;
		int r;

		if (sec >= c->h.bitmap_sectors)
			return uk_err_set(err, ENOSPC, "%s: sector %llu is past the bitmap",
					  c->path, (unsigned long long)sec);
		if (skip || len < ss) {
			n = UK_MIN(len, ss - skip);
			r = write_sector_part(c, sec, p, skip, n, err);
		} else {
			uint64_t whole = UK_MIN(len / ss, c->h.bitmap_sectors - sec);

			n = (size_t)(whole * ss);
			r = uk_pwrite_all(c->fd, p, n, c->h.data_offset + off);
			if (r < 0)
				return uk_err_sys(err, -r, "%s: write", c->path);
			for (uint64_t i = 0; i < whole; i++)
				uk_bitmap_set(c->bitmap, sec + i);
			c->bitmap_dirty = true;
		}
		if (r < 0)
			return r;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int uk_cow_flush(struct uk_cow *c, struct uk_err *err)
{
	int r;

	if (c->bitmap_dirty) {
		r = uk_pwrite_all(c->fd, c->bitmap, c->h.bitmap_len, c->h.bitmap_offset);
		if (r < 0)
			return uk_err_sys(err, -r, "%s: writing the bitmap", c->path);
		c->bitmap_dirty = false;
	}
	uk_io_point("fsync");
	if (fsync(c->fd) < 0)
		return uk_err_sys(err, errno, "%s: fsync", c->path);
	return 0;
}

int uk_cow_header_write(int fd, const char *path, const struct uk_cow_header *h, struct uk_err *err)
{
	uint8_t hdr[UK_COW_HEADER_MAX];
	int len = uk_cow_header_encode(h, hdr, sizeof(hdr));
	int r;

	if (len < 0)
		return uk_err_set(err, -len, "%s: cannot encode the header", path);
	r = uk_pwrite_all(fd, hdr, (size_t)len, 0);
	if (r < 0)
		return uk_err_sys(err, -r, "%s: writing the header", path);
	return 0;
}

int uk_cow_rewrite_header(struct uk_cow *c, struct uk_err *err)
{
	int r = uk_cow_header_write(c->fd, c->path, &c->h, err);

	if (r < 0)
		return r;
	uk_io_point("fsync");
	if (fsync(c->fd) < 0)
		return uk_err_sys(err, errno, "%s: fsync", c->path);
	return 0;
}
