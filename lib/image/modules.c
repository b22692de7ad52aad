// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel's modules for its guests. Debian's user-mode-linux keeps them on the host in
 * /usr/lib/uml/modules/VERSION (a fetched kernel beside its binary); a guest gets them as a
 * read-only ext4 image of that directory (its root holds VERSION/), made once with `mke2fs -d` and
 * kept in the cache under a name that carries the version and modules.dep's size and mtime: an
 * upgraded package changes modules.dep, so the next guest gets a new image, and the old ones of
 * that version go (a running guest keeps the one it opened).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-internal.h"
#include "umlkit/image.h"
#include "umlkit/util.h"

/* What the image needs: bytes (4 KiB blocks, one more per entry) and inodes. */
struct tree_size {
	uint64_t bytes, inodes;
};

static int size_visit(void *ctx, const char *path, const char *name, const struct stat *st)
{
	struct tree_size *t = ctx;

	(void)path;
	(void)name;
	t->inodes++;
	t->bytes += (((uint64_t)st->st_size + 4095) & ~4095ULL) + 4096;
	return 0;
}

/* Remove the cached images of version other than keep ("VERSION-*.img"). */
static void prune(const char *cache, const char *version, const char *keep)
{
	_cleanup_close_ int fd = open(cache, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	size_t vl = strlen(version);
	struct dirent *de;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd)))
		return;
	fd = -1; /* closedir closes it */
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n > vl + 5 && !strncmp(de->d_name, version, vl) && de->d_name[vl] == '-' &&
		    !strcmp(de->d_name + n - 4, ".img") && strcmp(de->d_name, keep))
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static int make_image(const char *src, const char *path, struct uk_err *err)
{
	char mke2fs[PATH_MAX], size_arg[32], inodes_arg[32];
	char *argv[] = {mke2fs,	  "-q",
			"-t",	  "ext4",
			"-O",	  "^has_journal",
			"-m",	  "0",
			"-L",	  "ukmodules",
			"-N",	  inodes_arg,
			"-E",	  "root_owner=0:0",
			"-d",	  (char *)src,
			"-F",	  "/proc/self/fd/3",
			size_arg, NULL};
	_cleanup_free_ char *out = malloc(65536);
	struct tree_size t = {0};
	uint64_t size;
	struct uk_newfile nf;
	int fd, r;

	if (!out)
		return uk_err_set(err, ENOMEM, "out of memory");
	r = uk_rootfs_find_e2fs("mke2fs", NULL, mke2fs, sizeof(mke2fs), err);
	if (r < 0)
		return r;
	fd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r = fd < 0 ? -errno : uk_rootfs_walk(fd, "/", 0, size_visit, &t);
	if (r < 0)
		return uk_err_sys(err, -r, "%s", src);
	/* room for the metadata, and the size in whole MiB */
	size = ((t.bytes + t.bytes / 8 + (8ULL << 20)) + (1ULL << 20) - 1) & ~((1ULL << 20) - 1);
	snprintf(size_arg, sizeof(size_arg), "%" PRIu64 "k", size >> 10);
	snprintf(inodes_arg, sizeof(inodes_arg), "%" PRIu64, t.inodes + t.inodes / 8 + 64);
	r = uk_newfile_open(&nf, path, 0644, err);
	if (r < 0)
		return r;
	if (ftruncate(nf.fd, (off_t)size) < 0) {
		r = uk_err_sys(err, errno, "%s", path);
		uk_newfile_abort(&nf);
		return r;
	}
	r = uk_run_capture(argv, nf.fd, out, 65536, err);
	if (r < 0) {
		uk_newfile_abort(&nf);
		return uk_err_prefix(err, r, "%s: ", path);
	}
	if (fchmod(nf.fd, 0444) < 0) {
		r = uk_err_sys(err, errno, "%s", path);
		uk_newfile_abort(&nf);
		return r;
	}
	return uk_newfile_commit(&nf, true, err);
}

int uk_rootfs_modules(const char *version, const char *root, bool build, char *out, size_t outlen,
		      bool *built, struct uk_err *err)
{
	char dir[PATH_MAX], dep[PATH_MAX], cache[PATH_MAX], name[256];
	struct stat st;
	int r;

	out[0] = '\0';
	if (built)
		*built = false;
	if (!root || !*root)
		return 0; /* a kernel without modules (or not Debian's) */
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", root, version) >= sizeof(dir) ||
	    (size_t)snprintf(dep, sizeof(dep), "%s/modules.dep", dir) >= sizeof(dep))
		return uk_err_set(err, ENAMETOOLONG, "%s: path too long", root);
	if (stat(dir, &st) < 0 && errno == ENOENT)
		return 0;
	if (stat(dep, &st) < 0)
		return uk_err_sys(err, errno, "the modules of kernel %s: %s", version, dep);
	snprintf(name, sizeof(name), "%s-%lld-%lld.%09ld.img", version, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
	r = uk_cache_dir("modules", cache, sizeof(cache), err);
	if (r < 0)
		return r;
	if ((size_t)snprintf(out, outlen, "%s/%s", cache, name) >= outlen) {
		out[0] = '\0';
		return uk_err_set(err, ENAMETOOLONG, "%s/%s: path too long", cache, name);
	}
	if (!build)
		return 1;
	if (lstat(out, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		return 1;
	r = make_image(root, out, err);
	if (r < 0) {
		out[0] = '\0';
		return uk_err_prefix(err, r, "the modules image of kernel %s: ", version);
	}
	if (built)
		*built = true;
	prune(cache, version, name);
	return 1;
}
