/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The default guest image: an ext4 root filesystem built without root and without network
 * from the host's busybox-static. A root tree is staged in a temporary directory (busybox,
 * its applet links, /etc, busybox init with boot scripts that read umlkit.* parameters from
 * the kernel command line), `mke2fs -d` turns it into a filesystem in a temporary file
 * beside the output, debugfs gives every file to root, and the file is fsynced and renamed
 * into place. A failure leaves nothing behind. See umlkit-image(1) for the guest side.
 *
 * This module's names are uk_rootfs_*, after what it builds; a disk image of either kind is
 * read with cow.h's uk_cow_disk_*.
 */
#ifndef UMLKIT_IMAGE_H
#define UMLKIT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "umlkit/err.h"

#define UK_ROOTFS_DEFAULT_SIZE (256ULL << 20)
#define UK_ROOTFS_MIN_SIZE     (16ULL << 20)
#define UK_ROOTFS_MAX_SIZE     (16ULL << 40)
#define UK_ROOTFS_LABEL	       "umlkit"

struct uk_rootfs_opts {
	const char *out; /* the image file to write */
	uint64_t size;	 /* bytes (rounded down to KiB); 0 means UK_ROOTFS_DEFAULT_SIZE */
	bool force;	 /* replace an existing out */
	/* Programs; NULL finds them: busybox at /bin/busybox, then on PATH; mke2fs and
	 * debugfs on PATH, then in /usr/sbin and /sbin. busybox must be statically linked. */
	const char *busybox;
	const char *mke2fs;
	const char *debugfs;
	const char *tmpdir; /* where to stage the tree; NULL: $TMPDIR, else /tmp */
};

/*
 * Build the image. Returns 0, or a negative errno with err naming what is missing or
 * wrong: -ENOENT "busybox-static is not installed" / "mke2fs not found (e2fsprogs)",
 * -ENOEXEC a dynamically linked busybox, -EEXIST out exists and !force, -EINVAL a size
 * out of range, -EIO a program failed (its first line of output in the message).
 */
int uk_rootfs_build(const struct uk_rootfs_opts *o, struct uk_err *err);

/* ---- the kernel's modules for its guests (modules.c) ---- */
#define UK_MODULES_DIR "/usr/lib/uml/modules" /* Debian's; $UMLKIT_MODULES_DIR replaces it */
/*
 * The modules of the kernel that boots, for the guest: a read-only ext4 image of
 * UK_MODULES_DIR (its root holds VERSION/, as that directory does), VERSION read from the
 * kernel's "Linux version" banner. Cached in uk_cache_dir("modules") as
 * VERSION-SIZE-MTIME.img after VERSION/modules.dep, so that an upgraded package gets a new
 * image; making one removes the older ones of that version. build false: only the name.
 * Returns 1 with the image's path in out (*built: made now rather than found), 0 when the
 * kernel has no modules directory, or -errno (err names the kernel or file).
 */
int uk_rootfs_modules(const char *kernel, bool build, char *out, size_t outlen, bool *built,
		      struct uk_err *err);
/* The version in a kernel's banner ("Linux version 6.1.176 (..."): 0, or -ENOENT. Pure. */
int uk_rootfs_kernel_version(const void *buf, size_t len, char *out, size_t outlen);

#endif
