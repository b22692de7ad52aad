/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared internals of lib/cow: not part of the public API. */
#ifndef UK_COW_INTERNAL_H
#define UK_COW_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "umlkit/cow.h"
#include "umlkit/util.h"

#define UK_COPY_CHUNK (1U << 20) /* bytes per read/write when the kernel cannot copy for us */

struct uk_backing_id {
	struct stat st;
	uint64_t size;
	bool is_cow;
};
/* stat a would-be backing (regular file or block device) and tell whether it is a COW. */
int uk_cow_backing_identity(const char *path, struct uk_backing_id *id, struct uk_err *err);

/* The absolute path (as the kernel stores it) and identity of a would-be backing, refused
 * when it is itself a COW (UML cannot stack them). */
int uk_cow_plain_backing(const char *path, char *abs, size_t abslen, struct uk_backing_id *id,
			 struct uk_err *err);

/* Write header h into a new file and size it to data_offset + size (sparse). */
int uk_cow_write_new(struct uk_newfile *nf, const struct uk_cow_header *h, struct uk_err *err);

/* Write header h in its own variant's layout at the start of fd (image.c); path names the
 * file in errors. */
int uk_cow_header_write(int fd, const char *path, const struct uk_cow_header *h,
			struct uk_err *err);
/* Rewrite the header of an open COW in its own variant's layout, then fsync (image.c). */
int uk_cow_rewrite_header(struct uk_cow *c, struct uk_err *err);

enum uk_copy_holes {
	UK_HOLES_SKIP,	/* destination already reads as zeros there: leave its holes */
	UK_HOLES_WRITE, /* destination holds other data: make it zero (punch, or write zeros) */
};
/* Where a file holds data: its extents, found once with SEEK_DATA/SEEK_HOLE. */
struct uk_extent_range {
	uint64_t start, end;
};
struct uk_extmap {
	struct uk_extent_range *ext;
	size_t n, cap;
};
int uk_extmap_build(int fd, uint64_t size, struct uk_extmap *m);
void uk_extmap_free(struct uk_extmap *m);

/* Copy len bytes from in_fd at in_off to out_fd at out_off. With map (the source's data
 * extents), the source's holes are skipped (UK_HOLES_SKIP) or made zero in the
 * destination (UK_HOLES_WRITE); without, every byte is copied. */
int uk_copy_range(int in_fd, uint64_t in_off, int out_fd, uint64_t out_off, uint64_t len,
		  enum uk_copy_holes holes, const struct uk_extmap *map);

/* Progress bookkeeping shared by the long operations. */
static inline void uk_progress_report(const struct uk_progress *p, uint64_t done, uint64_t total)
{
	if (p && p->fn)
		p->fn(p->ctx, done, total);
}

/* Walk the bitmap in runs of equal bits (image.c); fn gets each run's byte range, clamped to
 * the disk size. A non-zero return of fn stops the walk and is returned. */
int uk_cow_for_each_run(struct uk_cow *c, const struct uk_progress *progress,
			int (*fn)(struct uk_cow *c, bool set, uint64_t off, uint64_t len,
				  void *ctx),
			void *ctx);

/* The in-place merge journal of a COW (journal.c): present while a merge is under way. */
struct uk_cow_journal {
	uint64_t dev, ino, size; /* the backing's identity, the header's size */
	uint32_t mtime;		 /* the header's mtime when the merge began */
};
bool uk_cow_journal_exists(const char *cow);
/* Read or write the journal at jp (uk_cow_journal_path); a new one is fsynced into place. */
int uk_cow_journal_read(const char *jp, struct uk_cow_journal *j, struct uk_err *err);
int uk_cow_journal_write(const char *jp, const struct uk_cow_journal *j, struct uk_err *err);

/* 0 when a and b are different files; -EINVAL with a message when they are the same. */
int uk_refuse_same_file(const char *what, const char *path, const struct stat *other,
			const char *other_name, struct uk_err *err);

#endif
