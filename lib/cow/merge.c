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

struct merge_ctx {
	struct uk_copy cow, backing; /* the two sources, into the output */
	struct uk_extmap extents;    /* the backing's data extents, found once */
	struct uk_err *err;
};

/* The COW's runs are copied whole (zero blocks still become holes); the backing's runs
 * skip its holes. */
static int merge_run(struct uk_cow *c, bool set, uint64_t off, uint64_t len, void *ctx)
{
	struct merge_ctx *m = ctx;

	if (set)
		return uk_copy_range(&m->cow, c->h.data_offset + off, off, len, m->err);
	return uk_copy_range(&m->backing, off, off, len, m->err);
}

/* Copy what the guest sees into the output's fd, then check that neither the COW nor its
 * backing changed while they were read. */
static int merge_pass(struct uk_cow *c, int out_fd, const char *out,
		      const struct uk_progress *progress, struct uk_err *err)
{
	struct merge_ctx m = {.cow = {.in_fd = c->fd, .in_path = c->path, .holes = UK_HOLES_SKIP},
			      .backing = {.in_fd = c->backing_fd,
					  .in_path = c->backing_path,
					  .holes = UK_HOLES_SKIP,
					  .map = &m.extents},
			      .err = err};
	int r;

	m.cow.out_fd = m.backing.out_fd = out_fd;
	m.cow.out_path = m.backing.out_path = out;
	r = uk_extmap_build(c->backing_fd, c->h.size, &m.extents);
	if (r < 0)
		return uk_err_sys(err, -r, "%s: its extents", c->backing_path);
	r = uk_cow_for_each_run(c, progress, merge_run, &m);
	uk_extmap_free(&m.extents);
	if (r == 0)
		r = uk_cow_recheck(c, true, err);
	return r;
}

int uk_cow_merge(const char *cow, const char *out, const struct uk_merge_opts *o,
		 struct uk_err *err)
{
	struct uk_cow *c;
	struct uk_newfile nf;
	int r;

	r = uk_cow_open_unmerged(&c, cow, o->backing, 0, false, err);
	if (r < 0)
		return r;
	r = uk_refuse_same_file("the output", out, &c->st, "the COW", err);
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
	if (ftruncate(nf.fd, (off_t)c->h.size) < 0)
		r = uk_err_sys(err, errno, "%s: sizing the output", out);
	else if ((r = merge_pass(c, nf.fd, out, o->progress, err)) < 0)
		r = uk_err_prefix(err, r, "%s: not written: ", out);
	if (r < 0) {
		uk_newfile_abort(&nf);
		goto out;
	}
	r = uk_newfile_commit(&nf, o->force, err);
out:
	uk_cow_close(c);
	return r;
}
