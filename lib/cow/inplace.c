// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * In-place merge (uml_moo -d), crash-safe.
 *
 * 1. Write an intent journal beside the COW (<cow>.ukmerge: backing identity, the header's
 *    mtime and size), fsync it.
 * 2. Copy the sectors the COW holds into the backing; fsync the backing.
 * 3. Clear the bitmap and fsync (from here on the COW holds nothing), release the data
 *    area, stamp the header with the backing's new mtime, fsync.
 * 4. Remove the journal.
 *
 * A kill at any point leaves either the journal (a rerun sees it, accepts the backing's
 * changed mtime because the journal explains it, and redoes steps 2-4, which are
 * idempotent: the COW's sectors are only cleared after they are safely in the backing), or
 * a finished merge.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cow-internal.h"

/* Decide whether the backing may be written: either it matches the header, or an
 * interrupted merge's journal explains why it does not. */
static int admit_backing(struct uk_cow *c, const char *jp, bool *recovering, struct uk_err *err)
{
	struct uk_cow_journal j;
	int r;

	*recovering = access(jp, F_OK) == 0;
	if (!*recovering) {
		r = uk_cow_check_backing(c, err);
		if (r < 0)
			return r;
		j = (struct uk_cow_journal){.dev = c->backing_st.st_dev,
					    .ino = c->backing_st.st_ino,
					    .size = c->h.size,
					    .mtime = c->h.mtime};
		return uk_cow_journal_write(jp, &j, err);
	}
	r = uk_cow_journal_read(jp, &j, err);
	if (r < 0)
		return r;
	if (j.dev != (uint64_t)c->backing_st.st_dev || j.ino != (uint64_t)c->backing_st.st_ino)
		return uk_err_set(err, EINVAL,
				  "%s: the interrupted merge was into another file than %s", jp,
				  c->backing_path);
	if (j.size != c->h.size || c->backing_size != c->h.size)
		return uk_err_set(err, ESTALE, "%s: size mismatch with the interrupted merge", jp);
	if (c->h.mtime != j.mtime && c->h.mtime != (uint32_t)c->backing_st.st_mtime)
		return uk_err_set(err, ESTALE, "%s: the COW header changed since the merge began",
				  jp);
	return 0;
}

struct inplace_ctx {
	struct uk_copy copy; /* the COW's data area into the backing */
	uint64_t sectors;
	struct uk_err *err;
};

static int inplace_run(struct uk_cow *c, bool set, uint64_t off, uint64_t len, void *ctx)
{
	struct inplace_ctx *x = ctx;
	int r;

	if (!set)
		return 0;
	/* a backing cut short under the merge would grow back by the writes, zeros between */
	r = uk_cow_recheck(c, false, x->err);
	if (r < 0)
		return r;
	x->sectors += (len + c->h.sectorsize - 1) / c->h.sectorsize;
	return uk_copy_range(&x->copy, c->h.data_offset + off, off, len, x->err);
}

/* Step 2: the COW's sectors into the backing, then fsync it. Neither file may have changed
 * under the copy but by it: the COW is only emptied after this. */
static int copy_into_backing(struct uk_cow *c, const struct uk_progress *progress,
			     uint64_t *sectors, struct uk_err *err)
{
	struct inplace_ctx x = {.copy = {.in_fd = c->fd,
					 .in_path = c->path,
					 .out_fd = c->backing_fd,
					 .out_path = c->backing_path,
					 .holes = UK_HOLES_WRITE},
				.err = err};
	int r = uk_cow_for_each_run(c, progress, inplace_run, &x);

	*sectors = x.sectors;
	if (r == 0)
		r = uk_cow_recheck(c, true, err);
	if (r < 0)
		return uk_err_prefix(err, r, "%s: merging into %s stopped: ", c->path,
				     c->backing_path);
	uk_io_point("fsync");
	if (fsync(c->backing_fd) < 0)
		return uk_err_sys(err, errno, "%s: fsync", c->backing_path);
	return 0;
}

/* Step 3: empty the COW and stamp it with the backing's current mtime. */
static int empty_and_restamp(struct uk_cow *c, bool discard, struct uk_err *err)
{
	struct stat st;
	int r;

	memset(c->bitmap, 0, c->h.bitmap_len);
	c->bitmap_dirty = true;
	r = uk_cow_flush(c, err);
	if (r < 0)
		return r;
	/* release the data area on request; the file keeps the length the kernel expects */
	uk_io_point("fallocate");
	if (discard &&
	    fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)c->h.data_offset,
		      (off_t)(c->file_size - c->h.data_offset)) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS)
		return uk_err_sys(err, errno, "%s: releasing the data area", c->path);
	if (fstat(c->backing_fd, &st) < 0)
		return uk_err_sys(err, errno, "%s: stat", c->backing_path);
	c->h.mtime = (uint32_t)st.st_mtime;
	return uk_cow_rewrite_header(c, err);
}

int uk_cow_merge_in_place(const char *cow, const struct uk_merge_opts *o,
			  struct uk_merge_result *res, struct uk_err *err)
{
	int flags = UK_COW_OPEN_WRITE | UK_COW_OPEN_BACKING_RW | UK_COW_OPEN_ALLOW_STALE;
	struct uk_cow *c;
	bool recovering;
	char jp[4200];
	int r;

	memset(res, 0, sizeof(*res));
	if (uk_cow_journal_path(cow, jp, sizeof(jp)) < 0)
		return uk_err_set(err, ENAMETOOLONG, "%s: path too long", cow);
	r = uk_cow_open_unmerged(&c, cow, o->backing, flags, true, err);
	if (r < 0)
		return r;
	snprintf(res->backing, sizeof(res->backing), "%s", c->backing_path);
	r = admit_backing(c, jp, &recovering, err);
	if (r < 0)
		goto out;
	res->recovered = recovering;
	r = copy_into_backing(c, o->progress, &res->sectors, err);
	if (r < 0)
		goto out;
	r = empty_and_restamp(c, o->discard, err);
	if (r < 0)
		goto out;
	uk_io_point("unlink");
	if (unlink(jp) < 0 && errno != ENOENT) {
		r = uk_err_sys(err, errno, "%s: removing the journal", jp);
		goto out;
	}
	r = uk_fsync_dir_of(jp);
	if (r < 0)
		r = uk_err_sys(err, -r, "%s: fsync of its directory", jp);
out:
	uk_cow_close(c);
	return r;
}
