/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the default guest image builder (lib/image). */
#ifndef UK_IMAGE_INTERNAL_H
#define UK_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "umlkit/err.h"

/* One entry of the root tree: a directory (data NULL), a symlink (data is the target) or a
 * regular file (data is its text). mode holds the type and the permissions. */
struct uk_rootfs_entry {
	const char *path; /* relative to the root, parents listed first */
	mode_t mode;
	const char *data;
};
extern const struct uk_rootfs_entry uk_rootfs_entries[];
extern const size_t uk_rootfs_n_entries;

/*
 * Run argv[0] (an absolute path) with argv, without a shell: stdin from /dev/null, stdout
 * and stderr captured into out (NUL-terminated, truncated to outlen - 1 bytes; the rest is
 * read and dropped). When pass_fd >= 0 the child gets it as descriptor 3. Returns 0 when the
 * program exits 0, -EIO with err set ("NAME failed (exit N): first line") otherwise.
 */
int uk_rootfs_run(char *const argv[], int pass_fd, char *out, size_t outlen, struct uk_err *err);

/* Find a program: `given` when set, else each of dirs (NULL-terminated) after PATH when
 * use_path. path gets an absolute name. -ENOENT when not found (err not set). */
int uk_rootfs_find_prog(const char *name, const char *given, bool use_path, const char *const *dirs,
			char *path, size_t pathlen);

/* An e2fsprogs program (mke2fs, debugfs): given, else on PATH, /usr/sbin, /sbin. -ENOENT
 * with err "NAME not found (install e2fsprogs)". */
int uk_rootfs_find_e2fs(const char *name, const char *given, char *path, size_t pathlen,
			struct uk_err *err);

/* 0 when path is an ELF executable without a program interpreter (a static binary),
 * -ENOEXEC when it is dynamically linked or not ELF, another -errno when unreadable. */
int uk_rootfs_check_static(const char *path);

/* Stage the root tree under the directory dirfd: the entries, busybox copied to
 * bin/busybox and a symlink for each applet `busybox --list-full` names. */
int uk_rootfs_stage(int dirfd, const char *busybox, struct uk_err *err);

/* Depth-first over the tree under dfd (an fd it owns and closes), following no symlink, at
 * most 32 levels deep: visit(ctx, path, name, st) for each entry, path being its place from
 * the top ("/a/b", rel "/" at the top), before a directory is entered. The first non-zero
 * return (or -errno) ends the walk and is returned. */
typedef int uk_rootfs_visit_fn(void *ctx, const char *path, const char *name,
			       const struct stat *st);
int uk_rootfs_walk(int dfd, const char *rel, int depth, uk_rootfs_visit_fn *visit, void *ctx);

/* Write debugfs commands giving every file under dirfd to root:root (uid/gid 0) to fd. */
int uk_rootfs_owner_script(int dirfd, int outfd, struct uk_err *err);

#endif
