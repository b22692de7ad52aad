// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Repointing a COW: rebase (optionally copying the sectors where the old and new backing
 * differ, so the guest sees the same disk) and restamp (accept a backing's new mtime).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cow-internal.h"

/* Set the header's backing path, checking it fits the variant's field. */
static int set_backing(struct uk_cow *c, const char *abs, struct uk_err *err)
{
	size_t field = c->h.variant == UK_COW_V1 ? UK_COW_V1_BACKING : UK_COW_BACKING_FIELD;

	if (strlen(abs) >= field)
		return uk_err_set(err, ENAMETOOLONG,
				  "%s: backing path %s does not fit the version %s header (%zu "
				  "bytes)",
				  c->path, abs, uk_cow_variant_name(c->h.variant), field - 1);
	memset(c->h.backing, 0, sizeof(c->h.backing));
	strcpy(c->h.backing, abs);
	return 0;
}

struct rebase_ctx {
	int new_fd;
	const char *new_path;
	uint8_t *a, *b;
	uint64_t copied;
	struct uk_err *err;
};

/* Pull the old backing's sectors [first, last) into the COW. */
static int pull_sectors(struct uk_cow *c, const uint8_t *old, uint64_t base_off, uint64_t first,
			uint64_t last)
{
	uint64_t ss = c->h.sectorsize;
	int r;

	if (first == last)
		return 0;
	r = uk_pwrite_all(c->fd, old + (first * ss - base_off), (size_t)((last - first) * ss),
			  c->h.data_offset + first * ss);
	if (r < 0)
		return r;
	for (uint64_t s = first; s < last; s++)
		uk_bitmap_set(c->bitmap, s);
	c->bitmap_dirty = true;
	return 0;
}

/* For a run the COW does not hold: copy in every sector where old and new backing differ. */
static int rebase_run(struct uk_cow *c, bool set, uint64_t off, uint64_t len, void *ctx)
{
	struct rebase_ctx *x = ctx;
	uint64_t ss = c->h.sectorsize;

	if (set)
		return 0;
	while (len > 0) {
		size_t n = (size_t)UK_MIN(len, (uint64_t)UK_COPY_CHUNK);
		size_t padded = (size_t)((n + ss - 1) / ss * ss);
		uint64_t first = off / ss, run = UINT64_MAX;
		int r;

		memset(x->a, 0, padded);
		memset(x->b, 0, padded);
		r = uk_cow_read_part(c->backing_fd, c->backing_path, c->backing_size, x->a, n, off,
				     x->err);
		if (r == 0)
			r = uk_cow_read_part(x->new_fd, x->new_path, c->h.size, x->b, n, off,
					     x->err);
		if (r < 0)
			return r;
		for (uint64_t s = first; s < first + padded / ss; s++) {
			size_t at = (size_t)(s * ss - off);
			bool differ = memcmp(x->a + at, x->b + at, ss) != 0;

			if (differ && run == UINT64_MAX)
				run = s;
			if (!differ && run != UINT64_MAX) {
				r = pull_sectors(c, x->a, off, run, s);
				if (r < 0)
					return uk_err_sys(x->err, -r, "%s: write", c->path);
				x->copied += s - run;
				run = UINT64_MAX;
			}
		}
		if (run != UINT64_MAX) {
			uint64_t end = first + padded / ss;

			r = pull_sectors(c, x->a, off, run, end);
			if (r < 0)
				return uk_err_sys(x->err, -r, "%s: write", c->path);
			x->copied += end - run;
		}
		off += n;
		len -= n;
	}
	return 0;
}

/* Copy the differences into the COW; its bitmap is written only when neither backing
 * changed under the reads (new_st: the new one's stat when opened). */
static int copy_differences(struct uk_cow *c, int new_fd, const char *new_path,
			    const struct stat *new_st, const struct uk_progress *progress,
			    uint64_t *copied, struct uk_err *err)
{
	struct rebase_ctx x = {.new_fd = new_fd, .new_path = new_path, .err = err};
	int r;

	x.a = malloc(UK_COPY_CHUNK);
	x.b = malloc(UK_COPY_CHUNK);
	if (!x.a || !x.b)
		r = uk_err_set(err, ENOMEM, "out of memory");
	else
		r = uk_cow_for_each_run(c, progress, rebase_run, &x);
	free(x.a);
	free(x.b);
	if (r == 0)
		r = uk_cow_recheck(c, false, err);
	if (r == 0)
		r = uk_file_recheck(new_fd, new_path, new_st, err);
	if (r < 0)
		return uk_err_prefix(err, r, "%s: not rebased: ", c->path);
	*copied = x.copied;
	return uk_cow_flush(c, err);
}

int uk_cow_rebase(const char *cow, const char *new_backing, bool unsafe,
		  const struct uk_progress *progress, uint64_t *copied, struct uk_err *err)
{
	int flags = UK_COW_OPEN_WRITE | (unsafe ? UK_COW_OPEN_NO_BACKING : 0);
	char abs[UK_COW_BACKING_FIELD + 1];
	struct uk_backing_id id;
	_cleanup_close_ int nfd = -1;
	struct uk_cow *c;
	int r;

	*copied = 0;
	r = uk_cow_plain_backing(new_backing, abs, sizeof(abs), &id, err);
	if (r < 0)
		return r;
	r = uk_cow_open_unmerged(&c, cow, NULL, flags, false, err);
	if (r < 0)
		return r;
	if (id.size != c->h.size) {
		r = uk_err_set(err, EINVAL,
			       "%s: size mismatch: the COW is over %llu bytes, %s has %llu", cow,
			       (unsigned long long)c->h.size, new_backing,
			       (unsigned long long)id.size);
		goto out;
	}
	if (!unsafe) {
		nfd = open(abs, O_RDONLY | O_CLOEXEC);
		if (nfd < 0) {
			r = uk_err_sys(err, errno, "%s", abs);
			goto out;
		}
		r = uk_lock_fd(nfd, false, abs, err);
		if (r == 0)
			r = copy_differences(c, nfd, abs, &id.st, progress, copied, err);
		if (r < 0)
			goto out;
	}
	r = set_backing(c, abs, err);
	if (r == 0) {
		c->h.mtime = (uint32_t)id.st.st_mtime;
		r = uk_cow_rewrite_header(c, err);
	}
out:
	uk_cow_close(c);
	return r;
}

int uk_cow_restamp(const char *cow, bool apply, struct uk_restamp_info *info, struct uk_err *err)
{
	int flags = UK_COW_OPEN_ALLOW_STALE | (apply ? UK_COW_OPEN_WRITE : 0);
	struct uk_cow *c;
	int r;

	memset(info, 0, sizeof(*info));
	r = uk_cow_open_unmerged(&c, cow, NULL, flags, false, err);
	if (r < 0)
		return r;
	snprintf(info->backing, sizeof(info->backing), "%s", c->backing_path);
	info->old_mtime = c->h.mtime;
	info->new_mtime = (uint32_t)c->backing_st.st_mtime;
	info->size = c->h.size;
	if (c->backing_size != c->h.size)
		r = uk_err_set(err, EINVAL,
			       "%s: the backing's size changed (%llu vs %llu): its content "
			       "changed, restamp cannot help",
			       cow, (unsigned long long)c->h.size,
			       (unsigned long long)c->backing_size);
	else if (apply && info->old_mtime != info->new_mtime) {
		c->h.mtime = info->new_mtime;
		r = uk_cow_rewrite_header(c, err);
	}
	uk_cow_close(c);
	return r;
}
