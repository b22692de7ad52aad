// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * umlkit image build: stage the default guest's root tree in a temporary directory, make
 * an ext4 filesystem of it with `mke2fs -d` in a new file beside the output, give every
 * file to root with debugfs, then fsync and rename the file into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-internal.h"
#include "umlkit/image.h"
#include "umlkit/util.h"

#define PROG_OUTPUT_MAX (1024 * 1024)
/* The image as the programs see it: our new file, handed over as descriptor 3. */
#define IMAGE_ARG "/proc/self/fd/3"

/* Find the busybox the build would use and check it is static; path gets its name. */
static int find_busybox(const char *given, char *path, size_t pathlen, struct uk_err *err)
{
	int r;

	if (given)
		r = uk_find_prog("busybox", given, true, NULL, path, pathlen);
	else if (access("/bin/busybox", X_OK) == 0)
		r = uk_find_prog("busybox", "/bin/busybox", false, NULL, path, pathlen);
	else
		r = uk_find_prog("busybox", NULL, true, NULL, path, pathlen);
	if (r == -ENOENT && given)
		return uk_err_set(err, ENOENT, "busybox '%s' not found", given);
	if (r == -ENOENT)
		return uk_err_set(
			err, ENOENT,
			"busybox-static is not installed (no /bin/busybox, none on PATH)");
	if (r < 0)
		return uk_err_sys(err, -r, "busybox");
	r = uk_rootfs_check_static(path);
	if (r == -ENOEXEC)
		return uk_err_set(err, ENOEXEC,
				  "%s is not a static x86-64 busybox: the image needs "
				  "busybox-static",
				  path);
	if (r < 0)
		return uk_err_sys(err, -r, "%s", path);
	return 0;
}

int uk_rootfs_find_e2fs(const char *name, const char *given, char *path, size_t pathlen,
			struct uk_err *err)
{
	static const char *const sbin_dirs[] = {"/usr/sbin", "/sbin", NULL};
	int r = uk_find_prog(name, given, true, sbin_dirs, path, pathlen);

	if (r == -ENOENT && given)
		return uk_err_set(err, ENOENT, "%s '%s' not found", name, given);
	if (r == -ENOENT)
		return uk_err_set(err, ENOENT, "%s not found (install e2fsprogs)", name);
	if (r < 0)
		return uk_err_sys(err, -r, "%s", name);
	return 0;
}

/* debugfs reports errors on its output but still exits 0: with -f it echoes each command
 * as "debugfs: ...", so any other line after its banner is an error. */
static int check_debugfs_output(const char *text, struct uk_err *err)
{
	for (const char *l = text; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t len = strcspn(l, "\n");

		if (len == 0 || !strncmp(l, "debugfs ", 8) || !strncmp(l, "debugfs:", 8))
			continue;
		return uk_err_set(err, EIO, "debugfs: %.*s", (int)UK_MIN(len, 300), l);
	}
	return 0;
}

struct build {
	const struct uk_rootfs_opts *o;
	char busybox[PATH_MAX], mke2fs[PATH_MAX], debugfs[PATH_MAX], agent[PATH_MAX];
	char work[PATH_MAX];   /* the temporary directory */
	char stage[PATH_MAX];  /* work/root */
	char script[PATH_MAX]; /* work/owner.debugfs */
	char size_arg[32];
};

static int make_fs(struct build *b, int imgfd, struct uk_err *err)
{
	char *mkfs_argv[] = {b->mke2fs, "-q",	  "-t", "ext4",	   "-L",	UK_ROOTFS_LABEL,
			     "-d",	b->stage, "-F", IMAGE_ARG, b->size_arg, NULL};
	char *dbg_argv[] = {b->debugfs, "-w", "-f", b->script, IMAGE_ARG, NULL};
	_cleanup_free_ char *out = malloc(PROG_OUTPUT_MAX);
	int r;

	if (!out)
		return uk_err_set(err, ENOMEM, "out of memory");
	r = uk_run_capture(mkfs_argv, imgfd, out, PROG_OUTPUT_MAX, err);
	if (r < 0)
		return r;
	r = uk_run_capture(dbg_argv, imgfd, out, PROG_OUTPUT_MAX, err);
	if (r < 0)
		return r;
	return check_debugfs_output(out, err);
}

static int stage_tree(struct build *b, struct uk_err *err)
{
	_cleanup_close_ int work = open(b->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int root = -1;
	_cleanup_close_ int script = -1;
	int r;

	if (work < 0)
		return uk_err_sys(err, errno, "%s", b->work);
	if (mkdirat(work, "root", 0700) < 0)
		return uk_err_sys(err, errno, "%s", b->stage);
	root = openat(work, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		return uk_err_sys(err, errno, "%s", b->stage);
	r = uk_rootfs_stage(root, b->busybox, err);
	if (r == 0)
		r = uk_rootfs_install_agent(root, b->agent, err);
	if (r < 0)
		return r;
	/* the filesystem's root directory takes this mode */
	if (fchmod(root, 0755) < 0)
		return uk_err_sys(err, errno, "%s", b->stage);
	script = openat(work, "owner.debugfs", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (script < 0)
		return uk_err_sys(err, errno, "%s", b->script);
	return uk_rootfs_owner_script(root, script, err);
}

static int build_in(struct build *b, uint64_t size, struct uk_err *err)
{
	struct uk_newfile nf;
	int r;

	r = stage_tree(b, err);
	if (r < 0)
		return r;
	r = uk_newfile_open(&nf, b->o->out, 0644, err);
	if (r < 0)
		return r;
	if (ftruncate(nf.fd, (off_t)size) < 0) {
		r = uk_err_sys(err, errno, "%s: cannot make it %llu bytes long", b->o->out,
			       (unsigned long long)size);
		uk_newfile_abort(&nf);
		return r;
	}
	r = make_fs(b, nf.fd, err);
	if (r < 0) {
		uk_newfile_abort(&nf);
		return uk_err_prefix(err, r, "%s: ", b->o->out);
	}
	return uk_newfile_commit(&nf, b->o->force, err);
}

static int paths(struct build *b, struct uk_err *err)
{
	const char *tmp = b->o->tmpdir ? b->o->tmpdir : getenv("TMPDIR");
	int n;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	n = snprintf(b->work, sizeof(b->work), "%s/umlkit-image.XXXXXX", tmp);
	if (n < 0 || (size_t)n + sizeof("/owner.debugfs") > sizeof(b->work))
		return uk_err_set(err, ENAMETOOLONG, "%s: path too long", tmp);
	if (!mkdtemp(b->work))
		return uk_err_sys(err, errno, "cannot make a staging directory in '%s'", tmp);
	/* both fit: work is shorter than PATH_MAX - sizeof("/owner.debugfs") */
	if (snprintf(b->stage, sizeof(b->stage), "%s/root", b->work) < 0 ||
	    snprintf(b->script, sizeof(b->script), "%s/owner.debugfs", b->work) < 0)
		return uk_err_set(err, ENAMETOOLONG, "%s: path too long", b->work);
	return 0;
}

int uk_rootfs_build(const struct uk_rootfs_opts *o, struct uk_err *err)
{
	_cleanup_free_ struct build *b = calloc(1, sizeof(*b));
	uint64_t size = o->size ? o->size : UK_ROOTFS_DEFAULT_SIZE;
	struct stat st;
	int r, rm;

	if (!b)
		return uk_err_set(err, ENOMEM, "out of memory");
	b->o = o;
	if (!o->out || !*o->out)
		return uk_err_set(err, EINVAL, "no output file given");
	size &= ~1023ULL;
	if (size < UK_ROOTFS_MIN_SIZE)
		return uk_err_set(err, EINVAL,
				  "size %llu bytes is too small: the image needs at least 16M",
				  (unsigned long long)size);
	if (size > UK_ROOTFS_MAX_SIZE)
		return uk_err_set(err, EINVAL, "size %llu bytes is too large (at most 16T)",
				  (unsigned long long)size);
	snprintf(b->size_arg, sizeof(b->size_arg), "%lluk", (unsigned long long)(size >> 10));
	if (!o->force && lstat(o->out, &st) == 0)
		return uk_err_set(err, EEXIST, "%s: already exists (use -f to replace it)", o->out);
	r = find_busybox(o->busybox, b->busybox, sizeof(b->busybox), err);
	if (r < 0)
		return r;
	if (o->agent)
		snprintf(b->agent, sizeof(b->agent), "%s", o->agent);
	else if (uk_find_companion("umlkit-agent", b->agent, sizeof(b->agent), err) < 0)
		return uk_err_prefix(err, -ENOENT,
				     "the guest agent is part of the image, and it is missing: ");
	r = uk_rootfs_find_e2fs("mke2fs", o->mke2fs, b->mke2fs, sizeof(b->mke2fs), err);
	if (r < 0)
		return r;
	r = uk_rootfs_find_e2fs("debugfs", o->debugfs, b->debugfs, sizeof(b->debugfs), err);
	if (r < 0)
		return r;
	r = paths(b, err);
	if (r < 0)
		return r;
	r = build_in(b, size, err);
	rm = uk_remove_tree(AT_FDCWD, b->work);
	if (rm < 0 && r == 0)
		r = uk_err_sys(err, -rm, "%s written, but the staging directory %s is left behind",
			       o->out, b->work);
	return r;
}
