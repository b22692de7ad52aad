/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole files in and out, for the cmocka tests of lib/cow (include after cmocka.h). */
#ifndef UK_TEST_COW_FILES_H
#define UK_TEST_COW_FILES_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/util.h"

static inline void write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(uk_pwrite_all(fd, buf, len, 0), 0);
	close(fd);
}

/* The whole file (malloc'd), its length in *len. */
static inline uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(uk_pread_full(fd, buf, *len, 0), (ssize_t)*len);
	close(fd);
	return buf;
}

/* A new directory $TMPDIR/STEM.XXXXXX (or under /tmp) into dir. */
static inline void scratch_make(char *dir, size_t len, const char *stem)
{
	snprintf(dir, len, "%s/%s.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", stem);
	assert_non_null(mkdtemp(dir));
}

/* Remove it and what it holds: 0, or -1 (a teardown's result). */
static inline int scratch_remove(const char *dir)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
