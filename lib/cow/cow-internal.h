/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared internals of lib/cow: not part of the public API. */
#ifndef UK_COW_INTERNAL_H
#define UK_COW_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

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
/* Append [start, end) to m, whose ranges come in the order of their starts: one that meets or
 * overlaps the last grows it. 0 or -ENOMEM. */
int uk_extmap_add(struct uk_extmap *m, uint64_t start, uint64_t end);
/* Append to dst the parts of src's ranges inside [start, end). */
int uk_extmap_clip(struct uk_extmap *dst, const struct uk_extmap *src, uint64_t start,
		   uint64_t end);
void uk_extmap_free(struct uk_extmap *m);

/* A copy from one file into another (copy.c). */
struct uk_copy {
	int in_fd, out_fd;
	const char *in_path, *out_path; /* for messages */
	enum uk_copy_holes holes;
	const struct uk_extmap *map; /* the source's data extents, or NULL: all data */
};
/* Copy len bytes from cp->in_fd at in_off to cp->out_fd at out_off. With a map, the source's
 * holes are skipped (UK_HOLES_SKIP) or made zero in the destination (UK_HOLES_WRITE);
 * without, every byte is copied. Every byte asked for must be in the source: a short read
 * (the file shrank under the copy) is an error naming it, never zeros. */
int uk_copy_range(const struct uk_copy *cp, uint64_t in_off, uint64_t out_off, uint64_t len,
		  struct uk_err *err);

/* Read exactly len bytes of fd at off; a short read is an error (EIO) naming path. */
int uk_cow_pread(int fd, const char *path, void *buf, size_t len, uint64_t off, struct uk_err *err);
/* Read [off, off+len) of a file that had size bytes when it was opened: zeros past that
 * size, an error naming path when it ends before it (it shrank while being read). */
int uk_cow_read_part(int fd, const char *path, uint64_t size, void *buf, size_t len, uint64_t off,
		     struct uk_err *err);
/* -ESTALE naming path when the size, mtime or ctime of the file open at fd moved since
 * `then` (what was read from it may be torn): checked after every pass that reads it. */
int uk_file_recheck(int fd, const char *path, const struct stat *then, struct uk_err *err);

/* After a pass that read a COW: -ESTALE when its backing (size, mtime, ctime; a backing open
 * for writing: its size) or, with self, the COW file itself changed since it was opened. */
int uk_cow_recheck(const struct uk_cow *c, bool self, struct uk_err *err);

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
/* The pid that holds a lock on the file at path (a guest, an in-place merge), or 0. */
pid_t uk_cow_lock_holder(const char *path);
/* uk_cow_open of a COW that no in-place merge is working on: -EBUSY naming the merge's pid
 * when one runs now (it holds the COW's lock); unless resume (the in-place merge itself),
 * -EINVAL when one was interrupted (it must be completed first). */
int uk_cow_open_unmerged(struct uk_cow **c, const char *cow, const char *backing, int flags,
			 bool resume, struct uk_err *err);
/* Read or write the journal at jp (uk_cow_journal_path); a new one is fsynced into place. */
int uk_cow_journal_read(const char *jp, struct uk_cow_journal *j, struct uk_err *err);
int uk_cow_journal_write(const char *jp, const struct uk_cow_journal *j, struct uk_err *err);

/* 0 when a and b are different files; -EINVAL with a message when they are the same. */
int uk_refuse_same_file(const char *what, const char *path, const struct stat *other,
			const char *other_name, struct uk_err *err);

#endif
