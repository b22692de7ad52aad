/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the default guest image builder (lib/image). */
#ifndef UK_IMAGE_INTERNAL_H
#define UK_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
/* The guest agent (a static program) at /usr/sbin/umlkit-agent of the tree dirfd. */
int uk_rootfs_install_agent(int dirfd, const char *agent, struct uk_err *err);

/* Depth-first over the tree under dfd (an fd it owns and closes), following no symlink, at
 * most 32 levels deep: visit(ctx, path, name, st) for each entry, path being its place from
 * the top ("/a/b", rel "/" at the top), before a directory is entered. The first non-zero
 * return (or -errno) ends the walk and is returned. */
typedef int uk_rootfs_visit_fn(void *ctx, const char *path, const char *name,
			       const struct stat *st);
int uk_rootfs_walk(int dfd, const char *rel, int depth, uk_rootfs_visit_fn *visit, void *ctx);

/* Write debugfs commands giving every file under dirfd to root:root (uid/gid 0) to fd. */
int uk_rootfs_owner_script(int dirfd, int outfd, struct uk_err *err);

/* An entry of a layer written into an existing image (layer.c): a directory (data NULL,
 * made when missing), a symlink (data: its target) or a regular file (data: its text),
 * replacing what was there; why: the line that says so, NULL for directories. */
struct uk_layer_entry {
	const char *path; /* relative to the root, parents listed first */
	mode_t mode;
	const char *data;
	const char *why;
};
/* A unit masked (linked to /dev/null in /etc/systemd/system), and why. */
struct uk_layer_mask {
	const char *unit;
	const char *why;
};
extern const struct uk_layer_entry uk_debian_layer[];
extern const size_t uk_debian_layer_n;
extern const struct uk_layer_mask uk_debian_masks[];
extern const size_t uk_debian_masks_n;

/* A profile of the Debian image (image build --profile NAME, lab-files.c): more packages,
 * a layer written after the Debian one, units its packages enable that it disables (their
 * wants links removed, and the rc?.d start links of a System V script), more units masked. */
struct uk_profile {
	const char *name;
	unsigned version; /* of its layer and package list: part of the cache recipe */
	const char *packages;
	const char *const *images; /* the Kathara image names it stands for; NULL-ended */
	const struct uk_layer_entry *layer;
	size_t nlayer;
	const struct uk_layer_mask *disabled;
	size_t ndisabled;
	const struct uk_layer_mask *masks;
	size_t nmasks;
};
extern const struct uk_profile uk_profiles[];
extern const size_t uk_profiles_n;
/* The profile NAME, or NULL. */
const struct uk_profile *uk_profile_find(const char *name);

/* Write a layer into the ext2/3/4 filesystem open as fd (a file umlkit made and owns), with
 * debugfs: the Debian layer of debian-files.c, the agent when agent is set, /etc/fstab, and
 * root's password made empty when root had none it could log in with. say() gets one line
 * for each change. img names the image in errors. */
struct uk_layer_opts {
	int fd;
	const char *img;
	const char *debugfs;
	const char *agent;		  /* the umlkit-agent binary to install; NULL: none */
	bool build;			  /* a fresh build: also /etc/hostname */
	const struct uk_profile *profile; /* its layer after the Debian one; NULL: none */
	const char *tmpdir;
	void (*say)(void *ctx, const char *line);
	void *ctx;
};
int uk_layer_apply(const struct uk_layer_opts *o, struct uk_err *err);
/* The layer into the new file nf, then nf committed (replace: as uk_newfile_commit); nf is
 * aborted when the layer fails. */
struct uk_newfile;
int uk_layer_commit(struct uk_layer_opts *o, struct uk_newfile *nf, bool replace,
		    struct uk_err *err);

/* A hash of what the layer writes (the Debian layer, the profile's, the agent's bytes when
 * agent is set): part of the recipe of an image cached with its layer; 0 when the agent
 * cannot be read. */
uint64_t uk_layer_hash(const struct uk_profile *p, const char *agent);

#endif
