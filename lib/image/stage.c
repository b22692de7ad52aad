// SPDX-License-Identifier: LGPL-2.1-or-later
/* Staging the root tree in a directory: the entries of files.c, busybox and its applet
 * links; the debugfs script that gives the tree to root; removing the tree afterwards. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-internal.h"
#include "umlkit/util.h"

#define BUSYBOX_IN_IMAGE "bin/busybox"
#define APPLET_LIST_MAX	 (256 * 1024)

static int make_dir(int dirfd, const char *path, mode_t mode, struct uk_err *err)
{
	if (mkdirat(dirfd, path, 0700) < 0 && errno != EEXIST)
		return uk_err_sys(err, errno, "stage: mkdir /%s", path);
	/* exact permissions, whatever the umask */
	if (fchmodat(dirfd, path, mode & 07777, 0) < 0)
		return uk_err_sys(err, errno, "stage: chmod /%s", path);
	return 0;
}

static int write_file(int dirfd, const char *path, mode_t mode, const void *data, size_t len,
		      struct uk_err *err)
{
	_cleanup_close_ int fd =
		openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int r;

	if (fd < 0)
		return uk_err_sys(err, errno, "stage: create /%s", path);
	r = uk_write_all(fd, data, len);
	if (r < 0)
		return uk_err_sys(err, -r, "stage: write /%s", path);
	if (fchmod(fd, mode & 07777) < 0)
		return uk_err_sys(err, errno, "stage: chmod /%s", path);
	return 0;
}

/* Copy the program src to dst in the tree, mode 0755. */
static int copy_prog(int dirfd, const char *src, const char *dst, struct uk_err *err)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	char buf[65536];

	if (in < 0)
		return uk_err_sys(err, errno, "%s", src);
	out = openat(dirfd, dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return uk_err_sys(err, errno, "stage: create /%s", dst);
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return uk_err_sys(err, errno, "%s: read", src);
		if (n == 0)
			break;
		r = uk_write_all(out, buf, (size_t)n);
		if (r < 0)
			return uk_err_sys(err, -r, "stage: write /%s", dst);
	}
	if (fchmod(out, 0755) < 0)
		return uk_err_sys(err, errno, "stage: chmod /%s", dst);
	return 0;
}

int uk_rootfs_install_agent(int dirfd, const char *agent, struct uk_err *err)
{
	return copy_prog(dirfd, agent, "usr/sbin/umlkit-agent", err);
}

/* An applet path as `busybox --list-full` prints it: relative, plain components. */
static bool applet_path_ok(const char *p)
{
	if (!*p || *p == '/' || strlen(p) > 200)
		return false;
	for (const char *c = p; *c; c++)
		if (!(*c == '/' || *c == '.' || *c == '_' || *c == '-' || *c == '[' ||
		      (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9')))
			return false;
	return !strstr(p, "..") && !strstr(p, "//") && p[strlen(p) - 1] != '/';
}

/* mkdir -p of the directories above path (mode 0755 for new ones). */
static int make_parents(int dirfd, const char *path, struct uk_err *err)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		struct stat st;
		int r;

		*s = '\0';
		if (fstatat(dirfd, buf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = make_dir(dirfd, buf, 0755, err);
			if (r < 0)
				return r;
		} else if (!S_ISDIR(st.st_mode)) {
			return uk_err_set(err, ENOTDIR, "stage: /%s is not a directory", buf);
		}
		*s = '/';
	}
	return 0;
}

static int link_applets(int dirfd, const char *busybox, struct uk_err *err)
{
	char *argv[] = {(char *)busybox, "--list-full", NULL};
	_cleanup_free_ char *list = malloc(APPLET_LIST_MAX);
	size_t links = 0;
	char *save = NULL;
	int r;

	if (!list)
		return uk_err_set(err, ENOMEM, "out of memory");
	r = uk_run_capture(argv, -1, list, APPLET_LIST_MAX, err);
	if (r < 0)
		return uk_err_prefix(err, r, "%s --list-full: ", busybox);
	for (char *p = strtok_r(list, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		if (!applet_path_ok(p))
			return uk_err_set(err, EINVAL, "%s --list-full: unexpected line '%.60s'",
					  busybox, p);
		if (!strcmp(p, BUSYBOX_IN_IMAGE))
			continue;
		r = make_parents(dirfd, p, err);
		if (r < 0)
			return r;
		/* an entry of files.c (a script) wins over an applet of the same name */
		if (symlinkat("/" BUSYBOX_IN_IMAGE, dirfd, p) < 0 && errno != EEXIST)
			return uk_err_sys(err, errno, "stage: symlink /%s", p);
		links++;
	}
	if (links < 10)
		return uk_err_set(err, EINVAL, "%s --list-full: only %zu applets", busybox, links);
	return 0;
}

int uk_rootfs_stage(int dirfd, const char *busybox, struct uk_err *err)
{
	int r = 0;

	for (size_t i = 0; i < uk_rootfs_n_entries && r == 0; i++) {
		const struct uk_rootfs_entry *e = &uk_rootfs_entries[i];

		if (S_ISDIR(e->mode))
			r = make_dir(dirfd, e->path, e->mode, err);
		else if (S_ISLNK(e->mode))
			r = symlinkat(e->data, dirfd, e->path) < 0
				    ? uk_err_sys(err, errno, "stage: symlink /%s", e->path)
				    : 0;
		else
			r = write_file(dirfd, e->path, e->mode, e->data, strlen(e->data), err);
	}
	if (r == 0)
		r = copy_prog(dirfd, busybox, BUSYBOX_IN_IMAGE, err);
	if (r == 0)
		r = link_applets(dirfd, busybox, err);
	return r;
}

static int owner_lines(int outfd, const char *path)
{
	char line[PATH_MAX + 64];
	int n = snprintf(line, sizeof(line), "sif %s uid 0\nsif %s gid 0\n", path, path);

	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG;
	return uk_write_all(outfd, line, (size_t)n);
}

int uk_rootfs_walk(int dfd, const char *rel, int depth, uk_rootfs_visit_fn *visit, void *ctx)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > 32) {
		close(dfd);
		return -ELOOP;
	}
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		int n;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", strcmp(rel, "/") ? rel : "", de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			r = -ENAMETOOLONG;
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
		if (r == 0)
			r = visit(ctx, path, de->d_name, &st);
		if (r == 0 && S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			r = sub < 0 ? -errno : uk_rootfs_walk(sub, path, depth + 1, visit, ctx);
		}
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	return r;
}

/* debugfs lines for one entry (names debugfs could misread are refused) */
static int owner_visit(void *ctx, const char *path, const char *name, const struct stat *st)
{
	(void)st;
	if (strpbrk(name, " \t\n\"'\\"))
		return -EINVAL;
	return owner_lines(*(int *)ctx, path);
}

int uk_rootfs_owner_script(int dirfd, int outfd, struct uk_err *err)
{
	int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	int r;

	if (dup_fd < 0)
		return uk_err_sys(err, errno, "stage: dup");
	r = owner_lines(outfd, "/");
	if (r == 0)
		r = uk_rootfs_walk(dup_fd, "/", 0, owner_visit, &outfd);
	else
		close(dup_fd);
	if (r < 0)
		return uk_err_sys(err, -r, "stage: listing the tree for debugfs");
	return 0;
}
