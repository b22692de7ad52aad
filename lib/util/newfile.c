// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * New files that appear whole or not at all: O_TMPFILE (or a hidden temporary name)
 * beside the final path, fsync, then link or rename into place, then fsync the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/util.h"

static int make_tmpname(struct uk_newfile *nf, int attempt)
{
	char dir[PATH_MAX], base[PATH_MAX];
	struct timespec ts;
	int n;

	if (uk_path_split(nf->path, dir, sizeof(dir), base, sizeof(base)) < 0)
		return -ENAMETOOLONG;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(nf->tmpname, sizeof(nf->tmpname), "%s/.%s.uk%ld-%ld-%d", dir, base,
		     (long)getpid(), (long)(ts.tv_nsec % 100000), attempt);
	if (n < 0 || (size_t)n >= sizeof(nf->tmpname))
		return -ENAMETOOLONG;
	return 0;
}

static int open_named_tmp(struct uk_newfile *nf, mode_t mode)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		int r = make_tmpname(nf, attempt);

		if (r < 0)
			return r;
		nf->fd = open(nf->tmpname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (nf->fd >= 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int uk_newfile_open(struct uk_newfile *nf, const char *path, mode_t mode, struct uk_err *err)
{
	char dir[PATH_MAX], base[PATH_MAX];
	int r;

	nf->fd = -1;
	nf->tmpname[0] = '\0';
	if (strlen(path) >= sizeof(nf->path) ||
	    uk_path_split(path, dir, sizeof(dir), base, sizeof(base)) < 0)
		return uk_err_set(err, ENAMETOOLONG, "%s: path too long", path);
	strcpy(nf->path, path);
	nf->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (nf->fd >= 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return uk_err_sys(err, errno, "%s: cannot create a file in '%s'", path, dir);
	r = open_named_tmp(nf, mode);
	if (r < 0)
		return uk_err_sys(err, -r, "%s: cannot create a temporary file in '%s'", path, dir);
	return 0;
}

/* Give the unnamed file a name: linkat through /proc/self/fd (no privilege needed). */
static int link_tmpfile(int fd, const char *to)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	uk_io_point("link");
	if (linkat(AT_FDCWD, proc, AT_FDCWD, to, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return 0;
}

/* Give an O_TMPFILE a hidden name beside the final one (for a replacing rename). */
static int link_tmpfile_hidden(struct uk_newfile *nf)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		int r = make_tmpname(nf, attempt);

		if (r < 0)
			return r;
		r = link_tmpfile(nf->fd, nf->tmpname);
		if (r != -EEXIST) {
			if (r < 0)
				nf->tmpname[0] = '\0';
			return r;
		}
	}
	nf->tmpname[0] = '\0';
	return -EEXIST;
}

/* Only a regular file (or a symbolic link) is replaced: never a device, FIFO, socket or
 * directory that happens to have the name (a rename would put a file where /dev/null was). */
static int replaceable(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) ? 0 : -ENOTSUP;
}

static int place(struct uk_newfile *nf, bool replace)
{
	int r;

	if (replace && (r = replaceable(nf->path)) < 0)
		return r;

	if (!nf->tmpname[0]) {
		if (!replace)
			return link_tmpfile(nf->fd, nf->path);
		r = link_tmpfile_hidden(nf);
		if (r < 0)
			return r;
	}
	if (replace) {
		uk_io_point("rename");
		return rename(nf->tmpname, nf->path) < 0 ? -errno : 0;
	}
	uk_io_point("link");
	if (link(nf->tmpname, nf->path) < 0)
		return -errno;
	uk_io_point("unlink");
	unlink(nf->tmpname);
	return 0;
}

int uk_newfile_commit(struct uk_newfile *nf, bool replace, struct uk_err *err)
{
	int r;

	uk_io_point("fsync");
	if (fsync(nf->fd) < 0) {
		r = errno;
		uk_newfile_abort(nf);
		return uk_err_sys(err, r, "%s: fsync", nf->path);
	}
	r = place(nf, replace);
	if (r < 0) {
		uk_newfile_abort(nf);
		if (r == -EEXIST)
			return uk_err_set(err, EEXIST, "%s: already exists (use -f to replace it)",
					  nf->path);
		if (r == -ENOTSUP)
			return uk_err_set(err, EEXIST, "%s: is not a regular file, not replaced",
					  nf->path);
		return uk_err_sys(err, -r, "%s: cannot put the new file in place", nf->path);
	}
	close(nf->fd);
	nf->fd = -1;
	nf->tmpname[0] = '\0';
	r = uk_fsync_dir_of(nf->path);
	if (r < 0)
		return uk_err_sys(err, -r, "%s: fsync of its directory", nf->path);
	return 0;
}

void uk_newfile_abort(struct uk_newfile *nf)
{
	if (nf->fd >= 0)
		close(nf->fd);
	nf->fd = -1;
	if (nf->tmpname[0])
		unlink(nf->tmpname);
	nf->tmpname[0] = '\0';
}
