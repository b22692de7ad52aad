// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What a UML kernel binary says of itself, read without running it: the release in its
 * "Linux version" banner, whether it has the seccomp userspace mode (its help text lists
 * "seccomp=<on/auto/off>", Linux 6.16 and later when built in), and where its modules are.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/kernel.h"
#include "umlkit/util.h"

#define BANNER	       "Linux version "
#define SECCOMP_HELP   "seccomp=<on/auto/off>"
#define DEBIAN_MODULES "/usr/lib/uml/modules"

static bool release_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == '-' || c == '+' || c == '_';
}

int uk_kernel_release_in(const void *buf, size_t len, char *out, size_t outlen)
{
	const char *p = buf, *end = p + len;

	while (p < end) {
		const char *b = memmem(p, (size_t)(end - p), BANNER, strlen(BANNER));
		const char *v, *e;

		if (!b)
			break;
		v = b + strlen(BANNER);
		e = v;
		while (e < end && e - v < 64 && release_char(*e))
			e++;
		/* the banner: "Linux version 6.1.176 (builder@host) ..." */
		if (e > v && *v >= '0' && *v <= '9' && e + 1 < end && e[0] == ' ' && e[1] == '(' &&
		    (size_t)(e - v) < outlen) {
			memcpy(out, v, (size_t)(e - v));
			out[e - v] = '\0';
			return 0;
		}
		p = b + 1;
	}
	return -ENOENT;
}

static bool has_release(const char *root, const char *release)
{
	char dep[PATH_MAX];
	struct stat st;

	return (size_t)snprintf(dep, sizeof(dep), "%s/%s/modules.dep", root, release) <
		       sizeof(dep) &&
	       stat(dep, &st) == 0 && S_ISREG(st.st_mode);
}

/* $UMLKIT_MODULES_DIR when set (and only it), else BIN/../lib/uml/modules (a fetched
 * kernel's, or /usr/bin's), else Debian's. */
static void find_modules(struct uk_kernel *k)
{
	const char *env = getenv("UMLKIT_MODULES_DIR");
	char dir[PATH_MAX], base[256], beside[PATH_MAX];

	k->modules[0] = '\0';
	if (env && *env) {
		if (has_release(env, k->release))
			snprintf(k->modules, sizeof(k->modules), "%s", env);
		return;
	}
	if (uk_path_split(k->path, dir, sizeof(dir), base, sizeof(base)) == 0 &&
	    (size_t)snprintf(beside, sizeof(beside), "%s/../lib/uml/modules", dir) <
		    sizeof(beside) &&
	    has_release(beside, k->release) && realpath(beside, k->modules))
		return;
	k->modules[0] = '\0';
	if (has_release(DEBIAN_MODULES, k->release))
		snprintf(k->modules, sizeof(k->modules), "%s", DEBIAN_MODULES);
}

int uk_kernel_probe(struct uk_kernel *k, struct uk_err *err)
{
	_cleanup_close_ int fd = open(k->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *map;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0)
		return uk_err_sys(err, errno, "kernel %s", k->path);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0)
		return uk_err_set(err, EINVAL, "kernel %s: not a regular file", k->path);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return uk_err_sys(err, errno, "kernel %s", k->path);
	r = uk_kernel_release_in(map, (size_t)st.st_size, k->release, sizeof(k->release));
	k->seccomp = memmem(map, (size_t)st.st_size, SECCOMP_HELP, strlen(SECCOMP_HELP)) != NULL;
	munmap(map, (size_t)st.st_size);
	if (r < 0) { /* not a kernel umlkit can read: it still boots, without modules */
		k->release[0] = '\0';
		k->modules[0] = '\0';
		return 0;
	}
	find_modules(k);
	return 0;
}
