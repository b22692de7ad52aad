// SPDX-License-Identifier: LGPL-2.1-or-later
/* Paths: the kernel's absolutize(), split, directory fsync. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/util.h"

int uk_path_split(const char *path, char *dir, size_t dirlen, char *base, size_t baselen)
{
	const char *slash = strrchr(path, '/');
	size_t dl;

	if (!slash) {
		if (strlen(path) >= baselen || dirlen < 2)
			return -ENAMETOOLONG;
		strcpy(dir, ".");
		strcpy(base, path);
		return 0;
	}
	dl = (size_t)(slash - path);
	if (dl == 0)
		dl = 1; /* "/name": the directory is "/" */
	if (dl >= dirlen || strlen(slash + 1) >= baselen)
		return -ENAMETOOLONG;
	memcpy(dir, path, dl);
	dir[dl] = '\0';
	strcpy(base, slash + 1);
	return 0;
}

int uk_path_absolutize(const char *path, char *out, size_t outlen, struct uk_err *err)
{
	char dir[PATH_MAX], base[PATH_MAX], real[PATH_MAX];
	struct stat st;
	int n;

	if (!*path)
		return uk_err_set(err, EINVAL, "empty path");
	if (uk_path_split(path, dir, sizeof(dir), base, sizeof(base)) < 0)
		return uk_err_set(err, ENAMETOOLONG, "%s: path too long", path);
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return uk_err_set(err, EISDIR, "%s: names a directory, not a file", path);
	if (!realpath(dir, real))
		return uk_err_sys(err, errno, "%s: cannot resolve directory '%s'", path, dir);
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return uk_err_set(err, ENOTDIR, "%s: '%s' is not a directory", path, dir);
	n = snprintf(out, outlen, "%s%s%s", real, strcmp(real, "/") ? "/" : "", base);
	if (n < 0 || (size_t)n >= outlen)
		return uk_err_set(err, ENAMETOOLONG, "%s: absolute path longer than %zu bytes",
				  path, outlen - 1);
	return 0;
}

int uk_fsync_dir_of(const char *path)
{
	char dir[PATH_MAX], base[PATH_MAX];
	int fd, r = 0;

	if (uk_path_split(path, dir, sizeof(dir), base, sizeof(base)) < 0)
		return -ENAMETOOLONG;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uk_io_point("fsync");
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	close(fd);
	return r;
}

int uk_fmt(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}
