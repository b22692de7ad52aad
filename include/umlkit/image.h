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
	/* the guest agent installed as /usr/sbin/umlkit-agent (umlkit/agent.h); NULL finds
	 * umlkit-agent beside umlkit or in its lib directory (uk_find_companion) */
	const char *agent;
};

/*
 * Build the image. Returns 0, or a negative errno with err naming what is missing or
 * wrong: -ENOENT "busybox-static is not installed" / "mke2fs not found (e2fsprogs)",
 * -ENOEXEC a dynamically linked busybox, -ENOENT "umlkit-agent not found" (the image
 * always gets the agent), -EEXIST out exists and !force, -EINVAL a size
 * out of range, -EIO a program failed (its first line of output in the message).
 */
int uk_rootfs_build(const struct uk_rootfs_opts *o, struct uk_err *err);

/* ---- Debian images (umlkit image build --distro debian) and adapt ---- */

#define UK_DEBIAN_DEFAULT_SIZE (2ULL << 30)
#define UK_DEBIAN_MAX_PACKAGES 64
/* The packages every Debian image gets, besides the apt variant's essential set. */
#define UK_DEBIAN_BASE_PACKAGES "systemd-sysv,udev,iproute2,kmod"

/* A line of progress or of what changed, for cmd/ to print (lib/ prints nothing). */
typedef void uk_rootfs_say_fn(void *ctx, const char *line);

struct uk_debian_opts {
	const char *out;
	const char *suite;   /* NULL: the host's (VERSION_CODENAME of /etc/os-release) */
	const char *include; /* PKG[,PKG...] more packages; NULL: none */
	const char *profile; /* NULL, or a profile (UK_IMAGE_PROFILES): its packages and layer */
	uint64_t size;	     /* 0: UK_DEBIAN_DEFAULT_SIZE */
	bool force;	     /* replace an existing out */
	bool no_cache;	     /* bootstrap again (and replace the cache entry) */
	const char *mirror;  /* NULL: the host's configured Debian mirror */
	const char *mmdebstrap, *mke2fs, *debugfs, *resize2fs; /* NULL: found on PATH */
	const char *os_release;				       /* NULL: /etc/os-release */
	const char *sources; /* NULL: /etc/apt/sources.list.d/debian.sources, sources.list */
	const char *tmpdir;
	uk_rootfs_say_fn *progress; /* the bootstrapper's stages */
	uk_rootfs_say_fn *say;	    /* what umlkit put into the image */
	void *ctx;
};
/*
 * Build a Debian image: mmdebstrap (as root --mode=root, else --mode=unshare) of SUITE with
 * the base packages and include, `mke2fs -d` of its tree into a file in the cache
 * (uk_cache_dir("images")), stored by recipe; then a copy of the cached image beside out
 * (resized when size differs), umlkit's layer written into it (layer.c), fsynced and renamed.
 * A cache entry is used only when its checksum matches. Errors: -EINVAL a bad suite, package
 * name or size; -EEXIST out exists; -ENOENT a program missing; -EIO the bootstrapper
 * failed (its "E:" line in the message). Nothing is left behind on failure.
 */
int uk_debian_build(const struct uk_debian_opts *o, struct uk_err *err);

/* ---- profiles: the Debian image made for a use (umlkit image build --profile) ---- */

#define UK_IMAGE_PROFILES "lab"
/*
 * lab: the packages of Kathara's base, FRR and bind images that Debian has (frr, bind9,
 * apache2, iproute2, iptables, tcpdump, curl, ...), every daemon disabled (lab scripts start
 * them: `systemctl start frr|bind9|named|apache2|quagga`, /etc/init.d/NAME start), IPv4
 * forwarding on and rp_filter off. See umlkit-image(1).
 *
 * The profile's image, ready to boot, in the cache (uk_cache_dir("images")), made by recipe
 * (the Debian recipe, the profile and its version, the size, a hash of the layer and the
 * agent) when it is missing and build is true: uk_debian_build with opts (NULL: the defaults;
 * its out, force and profile are ignored) into the cache, one maker at a time (a flock on
 * IMG.lock); opts->no_cache makes it again, from a new bootstrap. Its path into out, for use
 * as a read-only backing file (never write it: that would change every COW over it). 0, or
 * -EINVAL an unknown profile, -ENOENT not built and !build, -ENAMETOOLONG, or what
 * uk_debian_build returns.
 */
int uk_image_profile_path(const char *profile, const struct uk_debian_opts *opts, bool build,
			  char *out, size_t outlen, struct uk_err *err);
/* The profile for a lab's image= option, Kathara's names (kathara/base, kathara/frr,
 * kathara/quagga, kathara/bind, with an optional docker.io/ in front and :TAG after) and
 * the profile's own name: "lab"; NULL for a name it does not know. */
const char *uk_image_profile_for(const char *image_option);

struct uk_adapt_opts {
	const char *img;
	const char *out; /* NULL: img itself, replaced by an adapted copy */
	bool force;	 /* replace an existing out */
	const char *debugfs;
	const char *tmpdir;
	uk_rootfs_say_fn *say; /* one line per change */
	void *ctx;
};
/* Make an ext2/3/4 systemd root image ready for umlkit (the layer of build). Refuses a file
 * that is not an ext filesystem (-EINVAL) or that a guest holds (-EAGAIN: the fcntl lock);
 * img is never written: the work is done on a copy that replaces it at the end. */
int uk_rootfs_adapt(const struct uk_adapt_opts *o, struct uk_err *err);

/* ---- pure parsers (parse.c), unit-tested and fuzzed ---- */

/* The first 2048 bytes of a file: 0 when they hold an ext2/3/4 superblock, else -EINVAL with
 * err saying what they are not. */
int uk_ext_superblock_check(const void *buf, size_t len, struct uk_err *err);
/* The URI of the host's Debian archive in apt's sources (deb822 .sources or one-line
 * sources.list text): the first "deb" entry with component main whose URI does not end in
 * -security. 0 with out set, -ENOENT when there is none, -ENAMETOOLONG. */
int uk_apt_mirror(const char *text, size_t len, char *out, size_t outlen);
/* VERSION_CODENAME of os-release text; -ENOENT without one. */
int uk_os_codename(const char *text, size_t len, char *out, size_t outlen);
/* A suite name (letters, digits, '-', '.', at most 40) and a package list (comma-separated
 * Debian package names): 0 or -EINVAL with err naming the bad one. The list is sorted and
 * deduplicated into out ("a,b,c"). */
int uk_debian_suite_check(const char *suite, struct uk_err *err);
int uk_debian_packages(const char *list, char *out, size_t outlen, struct uk_err *err);
/* /etc/fstab text has an entry (a line that is neither blank nor a comment). */
bool uk_fstab_has_entries(const char *text);
/* /etc/shadow text with root's password field emptied when it is locked or unusable ("*",
 * "!...", "x"): 1 with the new text in out, 0 when root keeps a password (out untouched),
 * -EINVAL without a root line, -ENOSPC when out is too small. */
int uk_shadow_unlock_root(const char *text, char *out, size_t outlen);

/* ---- the kernel's modules for its guests (modules.c) ---- */
/*
 * The modules of the kernel that boots, for the guest: a read-only ext4 image of root (the
 * kernel's modules directory, which holds VERSION/; see uk_kernel_probe). Cached in
 * uk_cache_dir("modules") as VERSION-SIZE-MTIME.img after VERSION/modules.dep, so that an
 * upgraded package gets a new image; making one removes the older ones of that version.
 * build false: only the name. Returns 1 with the image's path in out (*built: made now
 * rather than found), 0 when root is empty or has no VERSION/, or -errno (err names the
 * file).
 */
int uk_rootfs_modules(const char *version, const char *root, bool build, char *out, size_t outlen,
		      bool *built, struct uk_err *err);

#endif
