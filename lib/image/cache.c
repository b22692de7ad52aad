// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The cache of Debian images, by recipe, in uk_cache_dir("images"): KEY.img (the image as
 * mmdebstrap and mke2fs made it, nothing of umlkit's in it) and KEY.recipe (the recipe, the
 * image's size and checksum), each written beside and renamed, the recipe last: an image
 * without its recipe is a partial entry and is never used. Using an entry copies it (its
 * holes skipped) while checking the checksum; a mismatch discards the entry. Nothing here
 * is fsynced: the checksum, not the disk's ordering, tells a whole entry.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-cache.h"
#include "umlkit/image.h"
#include "umlkit/util.h"

#define BLOCK	   4096
#define CHUNK	   (1024 * 1024)
#define RECIPE_MAX 4096
#define MAGIC	   "umlkit image cache 1\n"

/* Read the data of in (and write it to out when out >= 0, leaving holes where in has holes
 * or zero blocks): the checksum of every non-zero 4 KiB block with its offset. */
int uk_cache_copy(int in, int out, uint64_t size, uint64_t *sum)
{
	_cleanup_free_ uint8_t *buf = malloc(CHUNK);
	uint64_t h = UK_HASH64_INIT, pos = 0;

	if (!buf)
		return -ENOMEM;
	while (pos < size) {
		off_t data = lseek(in, (off_t)pos, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			return -errno;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		for (uint64_t off = (uint64_t)data & ~(uint64_t)(BLOCK - 1);
		     off < (uint64_t)hole && off < size;) {
			size_t want = (size_t)UK_MIN((uint64_t)CHUNK, (uint64_t)hole - off);
			ssize_t n = uk_pread_full(in, buf, want, off);

			if (n < 0)
				return (int)n;
			if (n == 0)
				return -EIO;
			/* runs of non-zero blocks: hashed block by block, written in one go */
			for (size_t b = 0, run = 0; b <= (size_t)n; b += BLOCK) {
				size_t len =
					b < (size_t)n ? UK_MIN((size_t)BLOCK, (size_t)n - b) : 0;
				uint64_t at = off + b;
				bool zero = !len || uk_mem_is_zero(buf + b, len);
				int r;

				if (zero && b > run && out >= 0) {
					r = uk_pwrite_all(out, buf + run, b - run, off + run);
					if (r < 0)
						return r;
				}
				if (zero) {
					run = b + BLOCK;
					continue;
				}
				h = uk_hash64(h, &at, sizeof(at));
				h = uk_hash64(h, buf + b, len);
			}
			off += (uint64_t)n;
		}
		pos = (uint64_t)hole;
	}
	if (out >= 0 && ftruncate(out, (off_t)size) < 0)
		return -errno;
	*sum = h;
	return 0;
}

static void names(const struct uk_cache_entry *e, char *img, char *rec, size_t len)
{
	snprintf(img, len, "%s/%016" PRIx64 ".img", e->dir, e->key);
	snprintf(rec, len, "%s/%016" PRIx64 ".recipe", e->dir, e->key);
}

int uk_cache_path(const struct uk_cache_entry *e, char *out, size_t outlen)
{
	char img[PATH_MAX], rec[PATH_MAX];

	names(e, img, rec, sizeof(img));
	if (strlen(img) >= outlen)
		return -ENAMETOOLONG;
	snprintf(out, outlen, "%s", img);
	return 0;
}

int uk_cache_entry_init(struct uk_cache_entry *e, const char *recipe, struct uk_err *err)
{
	int r = uk_cache_dir("images", e->dir, sizeof(e->dir), err);

	if (r < 0)
		return r;
	if (strlen(recipe) >= sizeof(e->recipe))
		return uk_err_set(err, E2BIG, "the image's recipe is too long");
	snprintf(e->recipe, sizeof(e->recipe), "%s", recipe);
	e->key = uk_hash64(UK_HASH64_INIT, recipe, strlen(recipe));
	return 0;
}

static void recipe_text(const struct uk_cache_entry *e, uint64_t size, uint64_t sum, char *out,
			size_t len)
{
	snprintf(out, len, MAGIC "recipe %s\nsize %" PRIu64 "\nsum %016" PRIx64 "\n", e->recipe,
		 size, sum);
}

void uk_cache_drop(const struct uk_cache_entry *e)
{
	char img[PATH_MAX], rec[PATH_MAX];

	names(e, img, rec, sizeof(img));
	unlink(rec);
	unlink(img);
}

int uk_cache_open(const struct uk_cache_entry *e, uint64_t *size, uint64_t *sum)
{
	char img[PATH_MAX], rec[PATH_MAX], text[RECIPE_MAX], want[RECIPE_MAX];
	_cleanup_close_ int rfd = -1;
	int fd;
	struct stat st;
	ssize_t n;
	const char *p;
	char *end;

	names(e, img, rec, sizeof(img));
	rfd = open(rec, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0)
		return -ENOENT;
	n = uk_pread_full(rfd, text, sizeof(text) - 1, 0);
	if (n <= 0)
		return -ENOENT;
	text[n] = '\0';
	p = strstr(text, "\nsize ");
	if (!p)
		return -ENOENT;
	*size = strtoull(p + 6, &end, 10);
	p = strstr(text, "\nsum ");
	if (!p)
		return -ENOENT;
	*sum = strtoull(p + 5, &end, 16);
	recipe_text(e, *size, *sum, want, sizeof(want));
	if (strcmp(text, want)) /* another recipe with the same key, or damaged */
		return -ENOENT;
	fd = open(img, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != *size) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

int uk_cache_new(const struct uk_cache_entry *e, char *tmp, size_t tmplen, struct uk_err *err)
{
	int fd;

	snprintf(tmp, tmplen, "%s/.%016" PRIx64 ".img.XXXXXX", e->dir, e->key);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return uk_err_sys(err, errno, "%s", tmp);
	return fd;
}

int uk_cache_commit(const struct uk_cache_entry *e, int fd, const char *tmp, uint64_t size,
		    struct uk_err *err)
{
	char img[PATH_MAX], rec[PATH_MAX], rtmp[PATH_MAX + 8], text[RECIPE_MAX];
	_cleanup_close_ int rfd = -1;
	uint64_t sum;
	int r;

	names(e, img, rec, sizeof(img));
	unlink(rec); /* the old entry is no longer whole */
	r = uk_cache_copy(fd, -1, size, &sum);
	if (r < 0)
		return uk_err_sys(err, -r, "%s: checksum", tmp);
	/* no fsync: an entry a crash damaged fails its checksum when used and is made again,
	 * and the output, which is fsynced, never waits for the cache's writes */
	if (rename(tmp, img) < 0)
		return uk_err_sys(err, errno, "%s", img);
	snprintf(rtmp, sizeof(rtmp), "%s.tmp", rec);
	recipe_text(e, size, sum, text, sizeof(text));
	rfd = open(rtmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (rfd < 0)
		return uk_err_sys(err, errno, "%s", rtmp);
	r = uk_write_all(rfd, text, strlen(text));
	if (r == 0 && rename(rtmp, rec) < 0)
		r = -errno;
	if (r < 0) {
		unlink(rtmp);
		return uk_err_sys(err, -r, "%s", rec);
	}
	return 0;
}
