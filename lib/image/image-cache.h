/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cache of Debian images by recipe (cache.c). */
#ifndef UK_IMAGE_CACHE_H
#define UK_IMAGE_CACHE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "umlkit/err.h"

struct uk_cache_entry {
	char dir[PATH_MAX - 64]; /* uk_cache_dir("images") */
	char recipe[1024];	 /* one line: what the image is made of */
	uint64_t key;		 /* uk_hash64 of the recipe: the file names */
};
int uk_cache_entry_init(struct uk_cache_entry *e, const char *recipe, struct uk_err *err);
/* The entry's image, open (a descriptor), with its size and checksum from the recipe file;
 * -ENOENT when there is no whole entry for this recipe. */
int uk_cache_open(const struct uk_cache_entry *e, uint64_t *size, uint64_t *sum);
/* A new hidden file in the cache directory for the entry's image; its name into tmp. */
int uk_cache_new(const struct uk_cache_entry *e, char *tmp, size_t tmplen, struct uk_err *err);
/* Checksum, fsync and rename the new image into place, then write its recipe file. */
int uk_cache_commit(const struct uk_cache_entry *e, int fd, const char *tmp, uint64_t size,
		    struct uk_err *err);
/* The path of the entry's image (whether or not it exists); -ENAMETOOLONG. */
int uk_cache_path(const struct uk_cache_entry *e, char *out, size_t outlen);
void uk_cache_drop(const struct uk_cache_entry *e);
/* Copy in to out (out -1: only read) with the checksum of its non-zero 4 KiB blocks. */
int uk_cache_copy(int in, int out, uint64_t size, uint64_t *sum);

#endif
