// SPDX-License-Identifier: LGPL-2.1-or-later
/* Where umlkit keeps the state of what runs (guests, switches), and listing it. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/util.h"

/* An environment variable's value when it is an absolute path, else NULL: a relative one is
 * ignored (the XDG base directory rule), as it would name another place for a daemon, whose
 * cwd is "/". */
static const char *absolute_env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] == '/' ? v : NULL;
}

int uk_runtime_dir(const char *sub, char *out, size_t outlen, struct uk_err *err)
{
	const char *xdg = absolute_env("XDG_RUNTIME_DIR");
	const char *home = absolute_env("HOME");
	int n;

	if (xdg && *xdg)
		n = snprintf(out, outlen, "%s/umlkit/%s", xdg, sub);
	else if (home && *home)
		n = snprintf(out, outlen, "%s/.umlkit/run/%s", home, sub);
	else
		return uk_err_set(err, ENOENT,
				  "neither $XDG_RUNTIME_DIR nor $HOME is set to an absolute path");
	if (n < 0 || (size_t)n >= outlen)
		return uk_err_set(err, ENAMETOOLONG, "runtime directory path too long");
	return 0;
}

/* st (of shown): a directory that only the caller's user (or root, when root_ok) can change */
static int check_private(const struct stat *st, bool root_ok, const char *shown, struct uk_err *err)
{
	uid_t me = geteuid();

	if (!S_ISDIR(st->st_mode))
		return uk_err_set(err, ENOTDIR, "%s: not a directory", shown);
	if (st->st_uid != me && !(root_ok && st->st_uid == 0))
		return uk_err_set(err, EPERM,
				  "%s: owned by uid %u, not by uid %u who runs umlkit: refusing to "
				  "use it (set XDG_RUNTIME_DIR to a directory of your own)",
				  shown, (unsigned)st->st_uid, (unsigned)me);
	if (st->st_mode & 022)
		return uk_err_set(
			err, EPERM,
			"%s: writable by its group or others (mode %04o): refusing to use it",
			shown, (unsigned)(st->st_mode & 07777));
	return 0;
}

int uk_dir_open_private(int dirfd, const char *name, bool create, const char *shown,
			struct uk_err *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (create && mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return uk_err_sys(err, errno, "%s", shown);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return uk_err_set(err, EPERM, "%s: a symlink: refusing to follow it",
					  shown);
		return e == ENOENT ? uk_err_set(err, ENOENT, "%s: no such directory", shown)
				   : uk_err_sys(err, e, "%s", shown);
	}
	if (fstat(fd, &st) < 0)
		return uk_err_sys(err, errno, "%s", shown);
	r = check_private(&st, false, shown, err);
	return r < 0 ? r : TAKE_FD(fd);
}

/* The runtime directory itself ($XDG_RUNTIME_DIR, or $HOME/.umlkit/run; made when create;
 * *own: the latter, umlkit's own, whose subdirectories need no umlkit/ level),
 * followed where it is a symlink (the user chose it), but the caller's or root's. */
static int open_base(char *shown, size_t len, bool create, bool *own, struct uk_err *err)
{
	const char *xdg = absolute_env("XDG_RUNTIME_DIR"), *home = absolute_env("HOME");
	_cleanup_close_ int fd = -1, h = -1;
	struct stat st;
	int r;

	*own = !(xdg && *xdg);
	if (xdg && *xdg) {
		if ((size_t)snprintf(shown, len, "%s", xdg) >= len)
			return uk_err_set(err, ENAMETOOLONG, "runtime directory path too long");
		if (create && mkdir(xdg, 0700) < 0 && errno != EEXIST)
			return uk_err_sys(err, errno, "%s", xdg);
		fd = open(xdg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return uk_err_sys(err, errno, "%s", xdg);
		if (fstat(fd, &st) < 0)
			return uk_err_sys(err, errno, "%s", xdg);
		r = check_private(&st, true, xdg, err);
		return r < 0 ? r : TAKE_FD(fd);
	}
	if (!home || !*home)
		return uk_err_set(err, ENOENT,
				  "neither $XDG_RUNTIME_DIR nor $HOME is set to an absolute path");
	h = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h < 0)
		return uk_err_sys(err, errno, "%s", home);
	if ((size_t)snprintf(shown, len, "%s/.umlkit", home) >= len)
		return uk_err_set(err, ENAMETOOLONG, "runtime directory path too long");
	fd = uk_dir_open_private(h, ".umlkit", create, shown, err);
	if (fd < 0)
		return fd;
	strcat(shown, "/run");
	return uk_dir_open_private(fd, "run", create, shown, err);
}

int uk_runtime_dir_open(const char *sub, bool create, struct uk_err *err)
{
	char shown[PATH_MAX];
	_cleanup_close_ int fd = -1;
	bool own;
	int base = open_base(shown, sizeof(shown), create, &own, err);
	size_t n = strlen(shown);

	if (base < 0)
		return base;
	if (n + strlen(sub) + 9 > sizeof(shown)) {
		close(base);
		return uk_err_set(err, ENAMETOOLONG, "runtime directory path too long");
	}
	if (own) { /* $HOME/.umlkit/run is umlkit's own: SUB lives right in it */
		fd = base;
	} else {
		strcpy(shown + n, "/umlkit");
		fd = uk_dir_open_private(base, "umlkit", create, shown, err);
		close(base);
	}
	if (fd < 0)
		return fd;
	strcat(shown, "/");
	strcat(shown, sub);
	return uk_dir_open_private(fd, sub, create, shown, err);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void uk_names_free(char **names, int count)
{
	for (int i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int uk_dir_names(const char *dir, bool (*keep)(const char *name), char ***names, int *count,
		 struct uk_err *err)
{
	char **v = NULL;
	int n = 0, r = 0;
	struct dirent *e;
	DIR *d;

	*names = NULL;
	*count = 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : uk_err_sys(err, errno, "%s", dir);
	while ((e = readdir(d))) {
		char **nv;

		if (e->d_name[0] == '.' || (keep && !keep(e->d_name)))
			continue;
		nv = realloc(v, sizeof(*v) * (size_t)(n + 1));
		if (!nv) {
			r = uk_err_set(err, ENOMEM, "out of memory");
			break;
		}
		v = nv;
		v[n] = strdup(e->d_name);
		if (!v[n]) {
			r = uk_err_set(err, ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (r < 0) {
		uk_names_free(v, n);
		return r;
	}
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp_names);
	*names = v;
	*count = n;
	return 0;
}

int uk_name_check(const char *kind, const char *name, size_t max, struct uk_err *err)
{
	size_t n = strlen(name);

	if (n == 0)
		return uk_err_set(err, EINVAL, "%s name is empty", kind);
	if (n > max)
		return uk_err_set(err, EINVAL, "%s name '%.40s%s' is longer than %zu characters",
				  kind, name, n > 40 ? "..." : "", max);
	if (name[0] == '.' || name[0] == '-')
		return uk_err_set(err, EINVAL, "%s name '%s' may not start with '%c'", kind, name,
				  name[0]);
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return uk_err_set(err, EINVAL,
					  "%s name '%s': character '%c' is not allowed (use "
					  "letters, digits, '_', '.', '-')",
					  kind, name, *p);
	return 0;
}
