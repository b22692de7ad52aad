// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * umlkit image adapt IMG [-o OUT]: make an existing ext2/3/4 systemd root image ready for
 * umlkit without booting it and without root. IMG is locked as the UML kernel locks its
 * disks (a guest that holds it makes the lock fail: refused), checked to be an ext
 * filesystem, copied beside OUT (IMG itself by default), the layer written into the copy
 * with debugfs (layer.c), and the copy fsynced and renamed into place: IMG is never written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-cache.h"
#include "image-internal.h"
#include "umlkit/image.h"
#include "umlkit/util.h"

static const char *const sbin_dirs[] = {"/usr/sbin", "/sbin", NULL};

static int open_locked(const char *img, struct stat *st, struct uk_err *err)
{
	bool rw = true;
	int fd = open(img, O_RDWR | O_CLOEXEC);
	int r;

	if (fd < 0 && (errno == EACCES || errno == EROFS)) {
		rw = false; /* only a reader: a read lock still finds a guest writing it */
		fd = open(img, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return uk_err_sys(err, errno, "%s", img);
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return uk_err_set(err, EINVAL, "%s: not a regular file", img);
	}
	/* a write lock fails on any lock a guest holds (its disk, or a COW's backing) */
	r = uk_lock_fd(fd, rw, img, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int uk_rootfs_adapt(const struct uk_adapt_opts *o, struct uk_err *err)
{
	const char *out = o->out ? o->out : o->img;
	char debugfs[PATH_MAX], agent[PATH_MAX], head[2048];
	struct uk_layer_opts lo = {
		.img = o->img, .tmpdir = o->tmpdir, .say = o->say, .ctx = o->ctx};
	_cleanup_close_ int fd = -1;
	struct uk_newfile nf;
	struct stat st, ost;
	uint64_t sum;
	ssize_t n;
	int r;

	if (uk_find_prog("debugfs", o->debugfs, true, sbin_dirs, debugfs, sizeof(debugfs)) < 0)
		return uk_err_set(err, ENOENT, "debugfs not found (install e2fsprogs)");
	fd = open_locked(o->img, &st, err);
	if (fd < 0)
		return fd;
	n = uk_pread_full(fd, head, sizeof(head), 0);
	if (n < 0)
		return uk_err_sys(err, (int)-n, "%s", o->img);
	r = uk_ext_superblock_check(head, (size_t)n, err);
	if (r < 0)
		return uk_err_prefix(err, r, "%s: ", o->img);
	if (o->out && stat(o->out, &ost) == 0) {
		if (ost.st_dev == st.st_dev && ost.st_ino == st.st_ino)
			out = o->img;
		else if (!o->force)
			return uk_err_set(err, EEXIST, "%s: already exists (use -f to replace it)",
					  o->out);
	}
	if (uk_find_companion("umlkit-agent", agent, sizeof(agent), NULL) == 0 &&
	    uk_rootfs_check_static(agent) == 0)
		lo.agent = agent;
	lo.debugfs = debugfs;
	r = uk_newfile_open(&nf, out, st.st_mode & 0777, err);
	if (r < 0)
		return r;
	r = uk_cache_copy(fd, nf.fd, (uint64_t)st.st_size, &sum);
	if (r < 0) {
		uk_newfile_abort(&nf);
		return uk_err_sys(err, -r, "%s: copying it", o->img);
	}
	/* the lock on IMG is held until the copy has replaced it */
	return uk_layer_commit(&lo, &nf, true, err);
}
