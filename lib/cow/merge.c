// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Merge a COW and its backing into a new image: exactly what the guest sees, trailing
 * partial sector included, holes kept, written beside the output and renamed into place.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cow-internal.h"

/* Open a COW for merging, refusing one whose in-place merge was interrupted. */
static int open_for_merge(struct uk_cow **c, const char *cow, const char *backing, int flags,
			  struct uk_err *err)
{
	if (uk_cow_journal_exists(cow))
		return uk_err_set(err, EINVAL,
				  "%s: an in-place merge of this COW was interrupted; run "
				  "'umlkit cow merge --in-place %s' to complete it first",
				  cow, cow);
	return uk_cow_open(c, cow, backing, flags, err);
}

struct merge_ctx {
	int out_fd;
	struct uk_extmap backing; /* the backing's data extents, found once */
};

/* The COW's runs are copied whole (zero blocks still become holes); the backing's runs
 * skip its holes. */
static int merge_run(struct uk_cow *c, bool set, uint64_t off, uint64_t len, void *ctx)
{
	struct merge_ctx *m = ctx;

	if (set)
		return uk_copy_range(c->fd, c->h.data_offset + off, m->out_fd, off, len,
				     UK_HOLES_SKIP, NULL);
	return uk_copy_range(c->backing_fd, off, m->out_fd, off, len, UK_HOLES_SKIP, &m->backing);
}

int uk_cow_merge(const char *cow, const char *out, const struct uk_merge_opts *o,
		 struct uk_err *err)
{
	struct merge_ctx m = {0};
	struct uk_cow *c;
	struct uk_newfile nf;
	struct stat cst;
	int r;

	r = open_for_merge(&c, cow, o->backing, 0, err);
	if (r < 0)
		return r;
	if (fstat(c->fd, &cst) < 0) {
		r = uk_err_sys(err, errno, "%s: stat", cow);
		goto out;
	}
	r = uk_refuse_same_file("the output", out, &cst, "the COW", err);
	if (r == 0)
		r = uk_refuse_same_file("the output", out, &c->backing_st, "the backing file", err);
	if (r == 0 && !o->force && access(out, F_OK) == 0)
		r = uk_err_set(err, EEXIST, "%s: already exists (use -f to replace it)", out);
	if (r < 0)
		goto out;
	r = uk_newfile_open(&nf, out, 0644, err);
	if (r < 0)
		goto out;
	uk_io_point("ftruncate");
	if (ftruncate(nf.fd, (off_t)c->h.size) < 0) {
		r = uk_err_sys(err, errno, "%s: sizing the output", out);
	} else {
		m.out_fd = nf.fd;
		r = uk_extmap_build(c->backing_fd, c->h.size, &m.backing);
		if (r == 0)
			r = uk_cow_for_each_run(c, o->progress, merge_run, &m);
		uk_extmap_free(&m.backing);
		if (r < 0)
			r = uk_err_sys(err, -r, "%s: merging %s into it", out, cow);
	}
	if (r < 0) {
		uk_newfile_abort(&nf);
		goto out;
	}
	r = uk_newfile_commit(&nf, o->force, err);
out:
	uk_cow_close(c);
	return r;
}
