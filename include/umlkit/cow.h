/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UML copy-on-write (COW) disks: the header codec, the bitmap, images and the operations
 * built on them (create, merge, in-place merge, rebase, restamp, map, compare, diff, check).
 *
 * Byte-level facts: shared/spec/uml-interfaces.md sections 1, 2, 5.1, 5.2 and 6.
 */
#ifndef UMLKIT_COW_H
#define UMLKIT_COW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "umlkit/err.h"

#define UK_COW_MAGIC	     0x4F4F4F4DU
#define UK_COW_BACKING_FIELD 4096 /* bytes of the v2/v3 path field; a path is at most 4095 */
#define UK_COW_V1_BACKING    256
#define UK_COW_HEADER_MAX    4136 /* the longest layout (broken v3): read this many bytes */
#define UK_COW_V3_HEADER_LEN 4128
#define UK_COW_SECTOR_SIZE   512	  /* what the kernel and uml_mkcow write */
#define UK_COW_ALIGNMENT     4096	  /* ditto (PAGE_SIZE) */
#define UK_COW_SIZE_MAX	     (1ULL << 50) /* 1 PiB: anything larger is an absurd size */
#define UK_COW_SECTOR_MAX    65536
#define UK_COW_ALIGN_MAX     (1U << 24)

enum uk_cow_variant {
	UK_COW_V1 = 1,
	UK_COW_V2 = 2,
	UK_COW_V3 = 3,
	UK_COW_V3_BROKEN = 4, /* the unpacked x86-64 v3 layout written before Dec 2005 */
};

struct uk_cow_header {
	int variant;	    /* enum uk_cow_variant */
	bool little_endian; /* v1 written on a little-endian host ("MOOO") */
	uint32_t mtime;	    /* backing mtime, seconds, 32 bits */
	uint64_t size;	    /* backing size in bytes */
	uint32_t sectorsize;
	uint32_t alignment; /* v1/v2 have none: equal to sectorsize */
	uint32_t cow_format;
	char backing[UK_COW_BACKING_FIELD]; /* NUL-terminated */

	/* derived (uk_cow_layout) */
	uint32_t header_len;
	uint64_t bitmap_offset;
	uint64_t bitmap_len; /* bytes */
	uint64_t data_offset;
	uint64_t sectors;	 /* ceil(size / sectorsize): what the guest sees */
	uint64_t bitmap_sectors; /* sectors the bitmap describes (v1/v2 may describe fewer) */
};

/*
 * Decode a header from the first len bytes of a file. Validates every field and computes
 * the layout. Returns 0, -EMEDIUMTYPE when there is no COW magic (a raw image), or
 * -EINVAL with the field named in err ("header: alignment 0 is not a power of two").
 */
int uk_cow_header_decode(const void *buf, size_t len, struct uk_cow_header *h, struct uk_err *err);

/* Encode h in its own variant's layout into buf (zeroed first, path field zero-padded).
 * Returns the header length, -EINVAL when h cannot be encoded or len is too small, or
 * -ENAMETOOLONG when the backing path is empty or does not fit the variant's field. */
int uk_cow_header_encode(const struct uk_cow_header *h, void *buf, size_t len);

/* Compute the derived layout of h from variant, size, sectorsize and alignment, with
 * every field validated and no overflow. */
int uk_cow_layout(struct uk_cow_header *h, struct uk_err *err);

/* A fresh v3 header as the kernel writes it (sector 512, alignment 4096). */
int uk_cow_header_init(struct uk_cow_header *h, const char *backing_abs, uint64_t size,
		       uint32_t mtime, struct uk_err *err);

const char *uk_cow_variant_name(int variant);

/* ---- bitmap: byte order, least significant bit first ---- */
static inline bool uk_bitmap_test(const uint8_t *bm, uint64_t i)
{
	return bm[i >> 3] & (1U << (i & 7));
}
static inline void uk_bitmap_set(uint8_t *bm, uint64_t i)
{
	bm[i >> 3] |= (uint8_t)(1U << (i & 7));
}
/*
 * The run of equal bits that starts at `start`: returns its end (exclusive), at most
 * `limit`, and whether the bits are set. Bits at or past `nbits` read as clear.
 * Scans whole 64-bit words where it can.
 */
uint64_t uk_bitmap_run(const uint8_t *bm, uint64_t nbits, uint64_t start, uint64_t limit,
		       bool *set);
uint64_t uk_bitmap_count(const uint8_t *bm, uint64_t nbits);

/* ---- an open COW ---- */
enum {
	UK_COW_OPEN_WRITE = 1 << 0,	  /* will modify the COW: read-write, write lock */
	UK_COW_OPEN_SHARED = 1 << 1,	  /* -U: read-only, no lock (a guest may hold it) */
	UK_COW_OPEN_NO_BACKING = 1 << 2,  /* do not open the backing at all */
	UK_COW_OPEN_BACKING_RW = 1 << 3,  /* backing read-write with a write lock */
	UK_COW_OPEN_ALLOW_STALE = 1 << 4, /* open a backing whose size or mtime mismatch */
	UK_COW_OPEN_NO_LOCK_BACKING = 1 << 5,
};

struct uk_cow {
	int fd;
	int flags;
	char path[4096];
	struct uk_cow_header h;
	struct stat st; /* the COW file's, when opened */
	uint64_t file_size;
	uint8_t *bitmap; /* h.bitmap_len bytes */
	bool bitmap_dirty;

	int backing_fd; /* -1 when not opened */
	char backing_path[4096];
	struct stat backing_st;
	uint64_t backing_size; /* st_size, or the device size of a block device */
};

/*
 * Open and validate a COW: header, bitmap inside the file, data inside the file; lock it
 * as the kernel does; open its backing (the header's path, or backing_override) unless
 * NO_BACKING, and check its size and mtime unless ALLOW_STALE.
 * Errors: -EMEDIUMTYPE not a COW, -EINVAL corrupt, -ESTALE backing mismatch,
 * -EAGAIN locked (the message names the holder's pid), others from the system.
 */
int uk_cow_open(struct uk_cow **out, const char *path, const char *backing_override, int flags,
		struct uk_err *err);
void uk_cow_close(struct uk_cow *c);

/* -ESTALE with "size mismatch" or "mtime mismatch" in err when the backing's stat does not
 * match the header; 0 when it does. */
int uk_cow_check_backing(const struct uk_cow *c, struct uk_err *err);

/* Guest-visible read: COW sectors, backing sectors, zeros past the backing's end. */
int uk_cow_read(struct uk_cow *c, void *buf, size_t len, uint64_t off, struct uk_err *err);
/* Guest write, as the kernel does it: whole sectors into the COW, bits set (bitmap written
 * by uk_cow_flush). Needs UK_COW_OPEN_WRITE and the backing. */
int uk_cow_write(struct uk_cow *c, const void *buf, size_t len, uint64_t off, struct uk_err *err);
/* Write the bitmap if it changed, then fsync. */
int uk_cow_flush(struct uk_cow *c, struct uk_err *err);

/* Sectors (and bytes) the COW holds. */
uint64_t uk_cow_sectors_held(const struct uk_cow *c);

/* ---- progress ---- */
struct uk_progress {
	void (*fn)(void *ctx, uint64_t done, uint64_t total);
	void *ctx;
};

/* ---- operations ---- */

/* Create a v3 COW over backing (kernel-compatible). Without force an existing path fails
 * with -EEXIST; with force it is replaced whole (unless a guest holds it). A failure leaves
 * nothing. */
int uk_cow_create(const char *cow, const char *backing, bool force, struct uk_err *err);

struct uk_merge_opts {
	const char *backing; /* override the header's backing path (-b) */
	bool force;	     /* replace an existing output */
	bool discard;	     /* in place: also release the emptied COW's data blocks */
	const struct uk_progress *progress;
};

/* Write exactly what the guest sees into a new file `out` (temporary, fsync, rename).
 * Refuses out that is the COW or the backing. */
int uk_cow_merge(const char *cow, const char *out, const struct uk_merge_opts *o,
		 struct uk_err *err);

struct uk_merge_result {
	uint64_t sectors;   /* sectors written into the backing */
	bool recovered;	    /* an interrupted earlier merge was completed */
	char backing[4096]; /* the backing that was changed */
};

/*
 * Write the sectors the COW holds into its backing, crash-safely: an intent journal beside
 * the COW (<cow>.ukmerge) lets a rerun complete an interrupted merge exactly. Afterwards
 * the COW is empty and stamped with the backing's new mtime. Its data blocks stay allocated
 * (the guest reuses them) unless o->discard releases them, which costs the filesystem time.
 */
int uk_cow_merge_in_place(const char *cow, const struct uk_merge_opts *o,
			  struct uk_merge_result *res, struct uk_err *err);

/* Path of the in-place merge journal of a COW. */
int uk_cow_journal_path(const char *cow, char *out, size_t outlen);

/* Repoint a COW to new_backing. unsafe (-u): only the header, the sizes must match.
 * Otherwise copy into the COW every sector where the old and new backing differ first. */
int uk_cow_rebase(const char *cow, const char *new_backing, bool unsafe,
		  const struct uk_progress *progress, uint64_t *copied, struct uk_err *err);

struct uk_restamp_info {
	char backing[4096];
	uint32_t old_mtime, new_mtime;
	uint64_t size;
};
/* Accept the backing's current mtime. Fails with -EINVAL when the size differs. With
 * apply false it only fills info. */
int uk_cow_restamp(const char *cow, bool apply, struct uk_restamp_info *info, struct uk_err *err);

enum uk_extent_source { UK_EXT_COW, UK_EXT_BACKING, UK_EXT_HOLE };
struct uk_extent {
	uint64_t offset, length;
	int source; /* enum uk_extent_source */
};
const char *uk_extent_source_name(int source);
/* Call cb for each extent of the guest-visible disk in order; merges neighbours of one
 * source. A non-zero return of cb stops the walk and is returned. */
int uk_cow_map(struct uk_cow *c, int (*cb)(void *ctx, const struct uk_extent *e), void *ctx,
	       struct uk_err *err);

/* ---- a disk of either kind: a COW (what the guest sees) or a raw image file ---- */
struct uk_cow_disk {
	struct uk_cow *cow; /* NULL for a raw image */
	int fd;		    /* raw image fd, -1 for a COW */
	uint64_t size;	    /* guest-visible size in bytes */
	struct stat st;	    /* a raw image's stat when opened */
	bool shared;	    /* opened with UK_COW_OPEN_SHARED: a guest may write it */
	char path[4096];
};
/* flags: UK_COW_OPEN_SHARED to read a disk a guest holds. */
int uk_cow_disk_open(struct uk_cow_disk **out, const char *path, int flags, struct uk_err *err);
void uk_cow_disk_close(struct uk_cow_disk *img);
int uk_cow_disk_read(struct uk_cow_disk *img, void *buf, size_t len, uint64_t off,
		     struct uk_err *err);

/* 0 same, 1 different (*diff_off: first differing byte, or the smaller size when only the
 * sizes differ; then err's message says so and err->code stays 0), or a negative errno. */
int uk_cow_disk_compare(const char *a, const char *b, int flags, uint64_t *diff_off,
			const struct uk_progress *progress, struct uk_err *err);

/* Write a new COW over base that holds exactly the sectors where new_img differs. */
int uk_cow_diff(const char *base, const char *new_img, const char *cow, bool force,
		const struct uk_progress *progress, uint64_t *sectors, struct uk_err *err);

/* ---- info and check ---- */
struct uk_cow_info {
	struct uk_cow_header h;
	uint64_t file_size;
	uint64_t alloc_bytes; /* st_blocks * 512 */
	uint64_t sectors_held;
	bool backing_exists;
	uint64_t backing_size; /* actual */
	int64_t backing_mtime; /* actual, full width */
	bool size_ok, mtime_ok;
	bool journal; /* an interrupted in-place merge is pending */
};
int uk_cow_info(const char *path, int flags, struct uk_cow_info *info, struct uk_err *err);

enum uk_check_status {
	UK_CHECK_OK = 0,
	UK_CHECK_STALE = 1,
	UK_CHECK_CORRUPT = 2,
	UK_CHECK_UNOPENABLE = 3,
};
#define UK_CHECK_MAX_PROBLEMS 8
struct uk_cow_check {
	int status; /* enum uk_check_status */
	int nproblems;
	char problems[UK_CHECK_MAX_PROBLEMS][512];
	struct uk_cow_info info; /* valid when the header decoded */
	bool header_ok;
};
/* Fills r; returns r->status (never negative). */
int uk_cow_check(const char *path, int flags, struct uk_cow_check *r);

#endif
