// SPDX-License-Identifier: LGPL-2.1-or-later
/* What a COW holds and whether it is sound: info and check. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cow-internal.h"

static void fill_backing(struct uk_cow_info *info)
{
	struct uk_backing_id id;

	info->backing_exists = uk_cow_backing_identity(info->h.backing, &id, NULL) == 0;
	if (!info->backing_exists)
		return;
	info->backing_size = id.size;
	info->backing_mtime = (int64_t)id.st.st_mtime;
	info->size_ok = id.size == info->h.size;
	info->mtime_ok = (uint32_t)id.st.st_mtime == info->h.mtime;
}

int uk_cow_info(const char *path, int flags, struct uk_cow_info *info, struct uk_err *err)
{
	struct uk_cow *c;
	struct stat st;
	int r;

	memset(info, 0, sizeof(*info));
	r = uk_cow_open(&c, path, NULL, UK_COW_OPEN_NO_BACKING | (flags & UK_COW_OPEN_SHARED), err);
	if (r < 0)
		return r;
	info->h = c->h;
	info->file_size = c->file_size;
	if (fstat(c->fd, &st) == 0)
		info->alloc_bytes = (uint64_t)st.st_blocks * 512;
	info->sectors_held = uk_cow_sectors_held(c);
	uk_cow_close(c);
	fill_backing(info);
	info->journal = uk_cow_journal_exists(path);
	return 0;
}

static void problem(struct uk_cow_check *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct uk_cow_check *r, int status, const char *fmt, ...)
{
	va_list ap;

	if (status > r->status)
		r->status = status;
	if (r->nproblems >= UK_CHECK_MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->problems[r->nproblems++], sizeof(r->problems[0]), fmt, ap);
	va_end(ap);
}

/* Bits past the last sector in the bitmap's final byte must be clear. */
static bool stray_bits(const struct uk_cow *c)
{
	uint64_t n = c->h.bitmap_sectors;

	if (n % 8 == 0 || n / 8 >= c->h.bitmap_len)
		return false;
	return (c->bitmap[n / 8] >> (n % 8)) != 0;
}

static void check_backing(struct uk_cow_check *r, const char *path)
{
	struct uk_cow_info *i = &r->info;

	if (!i->backing_exists) {
		problem(r, UK_CHECK_STALE, "%s: backing file \"%s\" cannot be opened", path,
			i->h.backing);
		return;
	}
	if (!i->size_ok)
		problem(r, UK_CHECK_STALE,
			"%s: size mismatch (%llu vs %llu) of COW header vs backing file \"%s\"",
			path, (unsigned long long)i->h.size, (unsigned long long)i->backing_size,
			i->h.backing);
	if (!i->mtime_ok)
		problem(r, UK_CHECK_STALE,
			"%s: mtime mismatch (%lu vs %lld) of COW header vs backing file \"%s\"",
			path, (unsigned long)i->h.mtime, (long long)i->backing_mtime, i->h.backing);
}

int uk_cow_check(const char *path, int flags, struct uk_cow_check *r)
{
	struct uk_err err = {0};
	struct uk_cow *c;
	pid_t holder;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = uk_cow_open(&c, path, NULL, UK_COW_OPEN_NO_BACKING | (flags & UK_COW_OPEN_SHARED),
			 &err);
	if (rc == -EINVAL || rc == -EMEDIUMTYPE || rc == -EOVERFLOW) {
		problem(r, UK_CHECK_CORRUPT, "%s", err.msg);
		return r->status;
	}
	if (rc < 0) {
		problem(r, UK_CHECK_UNOPENABLE, "%s", err.msg);
		return r->status;
	}
	r->header_ok = true;
	if (stray_bits(c))
		problem(r, UK_CHECK_CORRUPT, "%s: bitmap: bits set past the last sector (%llu)",
			path, (unsigned long long)c->h.sectors);
	uk_cow_close(c);
	if (uk_cow_info(path, flags, &r->info, &err) < 0) {
		problem(r, UK_CHECK_UNOPENABLE, "%s", err.msg);
		return r->status;
	}
	holder = r->info.journal ? uk_cow_lock_holder(path) : 0;
	if (holder) /* seen with -U: the merge holds the COW's lock */
		problem(r, UK_CHECK_STALE,
			"%s: busy: an in-place merge (pid %ld) is writing it into its backing",
			path, (long)holder);
	else if (r->info.journal)
		problem(r, UK_CHECK_STALE,
			"%s: an in-place merge was interrupted; run 'umlkit cow merge --in-place "
			"%s' to complete it",
			path, path);
	else
		check_backing(r, path);
	return r->status;
}
