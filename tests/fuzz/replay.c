// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Replays a fuzz target's seed corpus without libFuzzer, for `make check`. The target's
 * name comes from argv[0] (build/tests/fuzz/replay_cow_header -> cow_header); the corpus is
 * tests/fuzz/corpus/<name>/ under the cwd (the repository root), or the directory given as
 * argv[1]. Prints TAP: one "ok" per file; a violated invariant aborts the process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_seed(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* The whole file in a buffer of exactly its size, so a sanitizer sees any over-read. */
static int read_input(const char *path, uint8_t **data, size_t *size)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	*size = (size_t)st.st_size;
	*data = malloc(*size ? *size : 1);
	if (!*data) {
		close(fd);
		return -ENOMEM;
	}
	n = uk_pread_full(fd, *data, *size, 0);
	close(fd);
	if (n < 0 || (size_t)n != *size) {
		free(*data);
		return n < 0 ? (int)n : -EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *name = strncmp(prog, "replay_", 7) ? prog : prog + 7;
	char dir[PATH_MAX];
	struct dirent **list;
	int n, failed = 0;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [CORPUS_DIR]\n", argv[0]);
		return 2;
	}
	if (argc == 2)
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	else
		snprintf(dir, sizeof(dir), "tests/fuzz/corpus/%s", name);
	n = scandir(dir, &list, is_seed, alphasort);
	if (n < 0) {
		printf("1..0 # SKIP cannot read corpus %s: %s\n", dir, strerror(errno));
		return 0;
	}
	if (n == 0) {
		printf("1..0 # SKIP no seed files in %s\n", dir);
		free(list);
		return 0;
	}
	printf("1..%d\n", n);
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX + 256];
		uint8_t *data = NULL;
		size_t size = 0;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		r = read_input(path, &data, &size);
		if (r < 0) {
			printf("not ok %d - %s # cannot read: %s\n", i + 1, list[i]->d_name,
			       strerror(-r));
			failed = 1;
		} else {
			LLVMFuzzerTestOneInput(data, size);
			free(data);
			printf("ok %d - %s\n", i + 1, list[i]->d_name);
		}
		fflush(stdout);
		free(list[i]);
	}
	free(list);
	return failed;
}
