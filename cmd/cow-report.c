// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit cow info, check, map, compare: reports, in words or as JSON (stable field names). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "cmd.h"

/* A reading command failed: when a lock was the reason, say how to read anyway. */
static int fail_read(const struct uk_err *err)
{
	if (err->code != EAGAIN)
		return uk_fail(err);
	uk_say("%s (use -U to read it anyway)", err->msg);
	return UK_EXIT_FAIL;
}

static int print_json(json_t *j)
{
	int r = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(j);
	fputc('\n', stdout);
	return r < 0 ? UK_EXIT_FAIL : UK_EXIT_OK;
}

static json_t *info_json(const char *path, const struct uk_cow_info *i)
{
	const struct uk_cow_header *h = &i->h;
	json_t *j = json_object();

	json_object_set_new(j, "path", json_string(path));
	json_object_set_new(j, "version",
			    json_integer(h->variant == UK_COW_V3_BROKEN ? 3 : h->variant));
	json_object_set_new(j, "broken_layout", json_boolean(h->variant == UK_COW_V3_BROKEN));
	json_object_set_new(j, "backing", json_string(h->backing));
	json_object_set_new(j, "size", json_integer((json_int_t)h->size));
	json_object_set_new(j, "mtime", json_integer(h->mtime));
	json_object_set_new(j, "backing_exists", json_boolean(i->backing_exists));
	json_object_set_new(j, "backing_size",
			    i->backing_exists ? json_integer((json_int_t)i->backing_size)
					      : json_null());
	json_object_set_new(j, "backing_mtime",
			    i->backing_exists ? json_integer(i->backing_mtime) : json_null());
	json_object_set_new(j, "backing_matches",
			    json_boolean(i->backing_exists && i->size_ok && i->mtime_ok));
	json_object_set_new(j, "sector_size", json_integer(h->sectorsize));
	json_object_set_new(j, "alignment", json_integer(h->alignment));
	json_object_set_new(j, "header_length", json_integer(h->header_len));
	json_object_set_new(j, "bitmap_offset", json_integer((json_int_t)h->bitmap_offset));
	json_object_set_new(j, "bitmap_length", json_integer((json_int_t)h->bitmap_len));
	json_object_set_new(j, "data_offset", json_integer((json_int_t)h->data_offset));
	json_object_set_new(j, "sectors", json_integer((json_int_t)h->sectors));
	json_object_set_new(j, "sectors_held", json_integer((json_int_t)i->sectors_held));
	json_object_set_new(j, "bytes_held",
			    json_integer((json_int_t)(i->sectors_held * h->sectorsize)));
	json_object_set_new(j, "file_size", json_integer((json_int_t)i->file_size));
	json_object_set_new(j, "file_allocated", json_integer((json_int_t)i->alloc_bytes));
	json_object_set_new(j, "merge_pending", json_boolean(i->journal));
	return j;
}

static const char *when(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "?");
	return buf;
}

static void info_text(const char *path, const struct uk_cow_info *i)
{
	const struct uk_cow_header *h = &i->h;
	char t1[64], t2[64];

	printf("file:            %s\n", path);
	printf("version:         %s\n", uk_cow_variant_name(h->variant));
	printf("backing file:    %s\n", h->backing);
	printf("recorded size:   %llu bytes\n", (unsigned long long)h->size);
	printf("recorded mtime:  %lu (%s)\n", (unsigned long)h->mtime, when(h->mtime, t1, 64));
	if (i->backing_exists) {
		printf("actual size:     %llu bytes\n", (unsigned long long)i->backing_size);
		printf("actual mtime:    %lld (%s)\n", (long long)i->backing_mtime,
		       when(i->backing_mtime, t2, 64));
		printf("backing matches: %s\n", i->size_ok && i->mtime_ok ? "yes"
						: !i->size_ok		  ? "no (size differs)"
									  : "no (mtime differs)");
	} else {
		printf("backing matches: no (cannot open the backing file)\n");
	}
	printf("sector size:     %u\n", h->sectorsize);
	printf("alignment:       %u\n", h->alignment);
	printf("bitmap:          %llu bytes at offset %llu\n", (unsigned long long)h->bitmap_len,
	       (unsigned long long)h->bitmap_offset);
	printf("data offset:     %llu\n", (unsigned long long)h->data_offset);
	printf("held:            %llu of %llu sectors (%llu bytes)\n",
	       (unsigned long long)i->sectors_held, (unsigned long long)h->sectors,
	       (unsigned long long)(i->sectors_held * h->sectorsize));
	printf("file size:       %llu bytes (%llu allocated)\n", (unsigned long long)i->file_size,
	       (unsigned long long)i->alloc_bytes);
	if (i->journal)
		printf("merge pending:   yes (an in-place merge was interrupted)\n");
}

int uk_cow_info_cmd(struct uk_cow_opts *o)
{
	struct uk_err err = {0};
	struct uk_cow_info info;

	if (uk_cow_info(o->args[0], o->shared ? UK_COW_OPEN_SHARED : 0, &info, &err) < 0)
		return fail_read(&err);
	if (o->json)
		return print_json(info_json(o->args[0], &info));
	info_text(o->args[0], &info);
	return UK_EXIT_OK;
}

int uk_cow_check_cmd(struct uk_cow_opts *o)
{
	static const char *const names[] = {"ok", "stale", "corrupt", "unopenable"};
	struct uk_cow_check r;
	int st = uk_cow_check(o->args[0], o->shared ? UK_COW_OPEN_SHARED : 0, &r);

	if (o->json) {
		json_t *j = json_object(), *p = json_array();

		for (int i = 0; i < r.nproblems; i++)
			json_array_append_new(p, json_string(r.problems[i]));
		json_object_set_new(j, "path", json_string(o->args[0]));
		json_object_set_new(j, "status", json_string(names[st]));
		json_object_set_new(j, "exit", json_integer(st));
		json_object_set_new(j, "problems", p);
		print_json(j);
		return st;
	}
	for (int i = 0; i < r.nproblems; i++)
		fprintf(stderr, "%s: %s\n", uk_prog, r.problems[i]);
	if (st == UK_CHECK_OK)
		printf("%s: sound: %llu of %llu sectors held, backing %s matches\n", o->args[0],
		       (unsigned long long)r.info.sectors_held,
		       (unsigned long long)r.info.h.sectors, r.info.h.backing);
	return st;
}

struct map_print {
	bool json;
	json_t *arr;
};

static int print_extent(void *ctx, const struct uk_extent *e)
{
	struct map_print *m = ctx;

	if (!m->json) {
		printf("%20llu %20llu %s\n", (unsigned long long)e->offset,
		       (unsigned long long)e->length, uk_extent_source_name(e->source));
		return 0;
	}
	json_t *x = json_object();

	json_object_set_new(x, "offset", json_integer((json_int_t)e->offset));
	json_object_set_new(x, "length", json_integer((json_int_t)e->length));
	json_object_set_new(x, "source", json_string(uk_extent_source_name(e->source)));
	json_array_append_new(m->arr, x);
	return 0;
}

int uk_cow_map_cmd(struct uk_cow_opts *o)
{
	struct map_print m = {.json = o->json};
	struct uk_err err = {0};
	struct uk_cow *c;
	int r;

	if (uk_cow_open(&c, o->args[0], NULL, o->shared ? UK_COW_OPEN_SHARED : 0, &err) < 0)
		return fail_read(&err);
	if (m.json)
		m.arr = json_array();
	else
		printf("%20s %20s %s\n", "OFFSET", "LENGTH", "SOURCE");
	r = uk_cow_map(c, print_extent, &m, &err);
	uk_cow_close(c);
	if (r < 0) {
		json_decref(m.arr);
		return uk_fail(&err);
	}
	return m.json ? print_json(m.arr) : UK_EXIT_OK;
}

int uk_cow_compare_cmd(struct uk_cow_opts *o)
{
	struct uk_err err = {0};
	uint64_t off;
	int r;

	uk_progress_begin(&o->prog, "comparing");
	r = uk_cow_disk_compare(o->args[0], o->args[1], o->shared ? UK_COW_OPEN_SHARED : 0, &off,
				&o->prog.p, &err);
	uk_progress_end(&o->prog);
	if (r < 0) {
		fail_read(&err);
		return 2;
	}
	if (r == 0) {
		printf("Images are identical.\n");
		return 0;
	}
	if (err.msg[0]) /* the content matched as far as the smaller one goes */
		printf("Sizes differ: %s\n", err.msg);
	else
		printf("Content mismatch at offset %llu (sector %llu)\n", (unsigned long long)off,
		       (unsigned long long)(off / UK_COW_SECTOR_SIZE));
	return 1;
}
