/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the kernel store (store.c) and the fetch (fetch.c). */
#ifndef UK_KERNEL_INTERNAL_H
#define UK_KERNEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "umlkit/err.h"

/* uk_cache_dir("kernels"). */
int uk_kernel_store(char *out, size_t outlen, struct uk_err *err);
/* An exclusive lock on the store (its .lock file), waited for: the descriptor, or -errno. */
int uk_kernel_store_lock(const char *store, struct uk_err *err);
/* Size and uk_hash64 of the regular file rel under dirfd (no symlink followed). */
int uk_kernel_file_sum(int dirfd, const char *rel, uint64_t *size, uint64_t *sum);

#endif
