// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Where umlkit finds what it ships besides its binary (the xstate shim, the guest agent)
 * and where it keeps what it builds once and reuses (the cache).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/util.h"

/* out = A/B, or A alone when B is empty */
static int join(char *out, size_t outlen, struct uk_err *err, const char *a, const char *b)
{
	int n = snprintf(out, outlen, "%s%s%s", a, *b ? "/" : "", b);

	if (n < 0 || (size_t)n >= outlen)
		return uk_err_set(err, ENAMETOOLONG, "%s/%s: path too long", a, b);
	return 0;
}

int uk_find_companion(const char *name, char *out, size_t outlen, struct uk_err *err)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			/* beside the binary: the build tree */
			if (join(out, outlen, NULL, exe, name) == 0 && access(out, R_OK) == 0)
				return 0;
		}
	}
#ifdef UK_SHIM_DIR
	/* make install's place */
	if (join(out, outlen, NULL, UK_SHIM_DIR, name) == 0 && access(out, R_OK) == 0)
		return 0;
	out[0] = '\0';
	return uk_err_set(err, ENOENT, "%s is installed neither beside umlkit nor in %s", name,
			  UK_SHIM_DIR);
#else
	out[0] = '\0';
	return uk_err_set(err, ENOENT, "%s is not installed beside umlkit", name);
#endif
}

/* mkdir that accepts an existing directory the caller owns, and nothing else. */
static int own_dir(const char *path, mode_t mode, struct uk_err *err)
{
	struct stat st;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return uk_err_sys(err, errno, "%s: cannot make the directory", path);
	if (lstat(path, &st) < 0)
		return uk_err_sys(err, errno, "%s", path);
	if (!S_ISDIR(st.st_mode))
		return uk_err_set(err, ENOTDIR, "%s: not a directory (a symlink is not followed)",
				  path);
	if (st.st_uid != geteuid())
		return uk_err_set(err, EPERM, "%s: owned by uid %u, not by this user", path,
				  (unsigned)st.st_uid);
	return 0;
}

int uk_cache_dir(const char *sub, char *out, size_t outlen, struct uk_err *err)
{
	const char *env = getenv("UMLKIT_CACHE_DIR");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char base[PATH_MAX];
	int r;

	if (env && *env)
		r = join(base, sizeof(base), err, env, "");
	else if (xdg && *xdg)
		r = join(base, sizeof(base), err, xdg, "umlkit");
	else if (home && *home)
		r = join(base, sizeof(base), err, home, ".cache/umlkit");
	else
		return uk_err_set(
			err, ENOENT,
			"no cache directory: set $UMLKIT_CACHE_DIR, $XDG_CACHE_HOME or $HOME");
	if (r < 0)
		return r;
	if (strchr(sub, '/') || !strcmp(sub, "..") || !strcmp(sub, "."))
		return uk_err_set(err, EINVAL, "cache: bad subdirectory name '%s'", sub);
	r = join(out, outlen, err, base, sub);
	if (r < 0)
		return r;
	/* the parents as a user would make them; the cache itself checked */
	for (char *p = base + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(base, 0755) < 0 && errno != EEXIST)
			return uk_err_sys(err, errno, "%s: cannot make the directory", base);
		*p = '/';
	}
	r = own_dir(base, 0700, err);
	if (r < 0)
		return r;
	return own_dir(out, 0700, err);
}
