// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * umlkit image build --distro debian[:SUITE]: Debian's own bootstrapper, mmdebstrap, makes
 * the root tree (as root with --mode=root; as any other user with --mode=unshare, in a user
 * namespace with the user's subordinate ids), and its customize hook runs `mke2fs -d` on
 * the tree inside that namespace, so every file is root's in the image. The image goes into
 * the cache by recipe (cache.c); the output is a copy of the cached image with umlkit's layer
 * written into it (layer.c), fsynced and renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-cache.h"
#include "image-internal.h"
#include "umlkit/image.h"
#include "umlkit/util.h"

extern char **environ;

#define TEXT_MAX  (256 * 1024)
#define IMAGE_ARG "/proc/self/fd/3"

static const char *const sbin_dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", NULL};

struct debian {
	const struct uk_debian_opts *o;
	uint64_t size;
	char suite[48];
	char packages[4096];
	char mirror[512];
	char mmdebstrap[PATH_MAX], mke2fs[PATH_MAX], debugfs[PATH_MAX], resize2fs[PATH_MAX];
	char agent[PATH_MAX];
	const struct uk_profile *profile;
	struct uk_cache_entry entry;
};

static int read_text(const char *path, char **text, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	ssize_t n;

	if (fd < 0)
		return -errno;
	buf = malloc(TEXT_MAX + 1);
	if (!buf)
		return -ENOMEM;
	n = uk_pread_full(fd, buf, TEXT_MAX, 0);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	buf[n] = '\0';
	*text = buf;
	*len = (size_t)n;
	return 0;
}

static int host_suite(struct debian *d, struct uk_err *err)
{
	const char *path = d->o->os_release ? d->o->os_release : "/etc/os-release";
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_text(path, &text, &len);

	if (r < 0)
		return uk_err_sys(err, -r, "%s (the host's suite, for --distro debian)", path);
	r = uk_os_codename(text, len, d->suite, sizeof(d->suite));
	if (r < 0)
		return uk_err_set(err, ENOENT,
				  "%s: no VERSION_CODENAME; name the suite: --distro debian:SUITE",
				  path);
	return 0;
}

static int host_mirror(struct debian *d, struct uk_err *err)
{
	static const char *const where[] = {"/etc/apt/sources.list.d/debian.sources",
					    "/etc/apt/sources.list"};
	const char *one[] = {d->o->sources};
	const char *const *paths = d->o->sources ? one : where;
	size_t n = d->o->sources ? 1 : UK_ARRAY_SIZE(where);

	if (d->o->mirror) {
		if (strlen(d->o->mirror) >= sizeof(d->mirror) || strpbrk(d->o->mirror, " \t\n\"'"))
			return uk_err_set(err, EINVAL, "mirror '%.80s': not a URI", d->o->mirror);
		snprintf(d->mirror, sizeof(d->mirror), "%s", d->o->mirror);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *text = NULL;
		size_t len;

		if (read_text(paths[i], &text, &len) < 0)
			continue;
		if (uk_apt_mirror(text, len, d->mirror, sizeof(d->mirror)) == 0)
			return 0;
	}
	return uk_err_set(err, ENOENT,
			  "no Debian mirror configured for apt (%s%s): Debian images are "
			  "bootstrapped from the host's mirror",
			  paths[0], n > 1 ? ", /etc/apt/sources.list" : "");
}

static int find(const char *name, const char *given, const char *pkg, char *path, size_t len,
		struct uk_err *err)
{
	int r = uk_find_prog(name, given, true, sbin_dirs, path, len);

	if (r == -ENOENT && given)
		return uk_err_set(err, ENOENT, "%s '%s' not found", name, given);
	if (r == -ENOENT)
		return uk_err_set(err, ENOENT, "%s not found (install %s)", name, pkg);
	return r < 0 ? uk_err_sys(err, -r, "%s", name) : 0;
}

static void on_line(void *ctx, const char *line)
{
	const struct uk_debian_opts *o = ctx;

	if (o->progress && !strncmp(line, "I: ", 3))
		o->progress(o->ctx, line + 3);
}

/*
 * mmdebstrap into the new cache file fd: its hook runs mke2fs on the tree, writing to the
 * file through descriptor 3, which mmdebstrap and its hook inherit. As a user, the hook runs
 * as the namespace's root, a subordinate uid of the user's and not the user: the file is
 * made writable for it (0666) while mmdebstrap runs. Nobody else reaches it: it lives in the
 * user's 0700 cache directory, and its descriptor only in processes of this user's.
 */
static int bootstrap(struct debian *d, int fd, struct uk_err *err)
{
	char mode[32], include[sizeof(d->packages) + 16], size[32];
	char env_img[32], env_size[48], env_mke2fs[PATH_MAX + 16];
	char *argv[] = {
		d->mmdebstrap, mode, "--variant=apt", "--format=null", include,
		/* the customize hooks run before mmdebstrap's own cleanup: drop what it
		 * would (downloaded packages, package lists) before the image is made, and
		 * undo what keeps daemons from starting while it installs (its policy-rc.d,
		 * its fake start-stop-daemon): left in the image, apt in the guest would
		 * never restart a service it upgrades */
		"--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb "
		"\"$1\"/var/cache/apt/*.bin \"$1\"/usr/sbin/policy-rc.d && rm -rf "
		"\"$1\"/var/lib/apt/lists/* \"$1\"/var/cache/apt/archives/partial/* && "
		"if [ -e \"$1\"/sbin/start-stop-daemon.REAL ]; then mv -f "
		"\"$1\"/sbin/start-stop-daemon.REAL \"$1\"/sbin/start-stop-daemon; fi",
		/* the tree has /proc, /sys and /dev mounted in it here: mke2fs reads a
		 * bind mount of the root alone, in a mount namespace of its own */
		"--customize-hook=unshare --mount --propagation private sh -c 'mount "
		"--bind \"$1\" \"$1/mnt\" && exec \"$UK_MKE2FS\" -q -t ext4 -L " UK_ROOTFS_LABEL
		" -d \"$1/mnt\" -F \"$UK_IMAGE\" \"$UK_SIZE\"' sh \"$1\"",
		d->suite, "/dev/null", d->mirror, NULL};
	struct uk_cmd *c;
	size_t nenv = 0;
	char **env;
	int r;

	snprintf(mode, sizeof(mode), "--mode=%s", geteuid() == 0 ? "root" : "unshare");
	snprintf(include, sizeof(include), "--include=%s", d->packages);
	snprintf(size, sizeof(size), "%" PRIu64 "k", d->size >> 10);
	snprintf(env_img, sizeof(env_img), "UK_IMAGE=%s", IMAGE_ARG);
	snprintf(env_size, sizeof(env_size), "UK_SIZE=%s", size);
	snprintf(env_mke2fs, sizeof(env_mke2fs), "UK_MKE2FS=%s", d->mke2fs);
	while (environ[nenv])
		nenv++;
	env = calloc(nenv + 4, sizeof(*env));
	c = calloc(1, sizeof(*c));
	if (!env || !c) {
		free(env);
		free(c);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0, j = 0; i < nenv; i++)
		if (strncmp(environ[i], "UK_IMAGE=", 9) && strncmp(environ[i], "UK_SIZE=", 8) &&
		    strncmp(environ[i], "UK_MKE2FS=", 10))
			env[j++] = environ[i];
	for (nenv = 0; env[nenv];)
		nenv++;
	env[nenv++] = env_img;
	env[nenv++] = env_size;
	env[nenv++] = env_mke2fs;
	c->argv = argv;
	c->env = env;
	c->pass_fd = fd;
	c->line = on_line;
	c->ctx = (void *)d->o;
	if (geteuid() != 0 && fchmod(fd, 0666) < 0) {
		free(env);
		free(c);
		return uk_err_sys(err, errno,
				  "cannot open the new image to mmdebstrap's namespace");
	}
	r = uk_run(c, err);
	if (geteuid() != 0 && fchmod(fd, 0600) < 0 && r == 0)
		r = uk_err_sys(err, errno, "cannot close the new image to others");
	if (r < 0 && geteuid() != 0 && strstr(c->errtext, "subuid"))
		uk_err_prefix(err, r,
			      "as a user, mmdebstrap needs subordinate ids (usermod "
			      "--add-subuids/--add-subgids, uidmap installed): ");
	free(env);
	free(c);
	return r;
}

/* A new cache entry: bootstrap into a hidden file in the cache, then commit it. */
static int fill_cache(struct debian *d, struct uk_err *err)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int fd = uk_cache_new(&d->entry, tmp, sizeof(tmp), err);
	int r;

	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)d->size) < 0) {
		r = uk_err_sys(err, errno, "%s", tmp);
		unlink(tmp);
		return r;
	}
	r = bootstrap(d, fd, err);
	if (r == 0)
		r = uk_cache_commit(&d->entry, fd, tmp, d->size, err);
	if (r < 0)
		unlink(tmp);
	return r;
}

static int resize(struct debian *d, int fd, uint64_t have, struct uk_err *err)
{
	char size[32];
	char *argv[] = {d->resize2fs, IMAGE_ARG, size, NULL};
	char out[4096];

	if (d->size == have)
		return 0;
	snprintf(size, sizeof(size), "%" PRIu64 "K", d->size >> 10);
	if (d->size > have && ftruncate(fd, (off_t)d->size) < 0)
		return uk_err_sys(err, errno, "cannot make it %" PRIu64 " bytes", d->size);
	if (uk_run_capture(argv, fd, out, sizeof(out), err) < 0)
		return uk_err_prefix(err, -EIO, "to %s: ", size);
	if (d->size < have && ftruncate(fd, (off_t)d->size) < 0)
		return uk_err_sys(err, errno, "cannot make it %" PRIu64 " bytes", d->size);
	return 0;
}

static void say_line(const struct uk_debian_opts *o, const char *line)
{
	if (o->progress)
		o->progress(o->ctx, line);
}

/* The output: the cached image copied (and checked), resized, umlkit's layer written. */
static int make_output(struct debian *d, int entry_fd, uint64_t have, uint64_t sum,
		       struct uk_err *err)
{
	const struct uk_debian_opts *o = d->o;
	struct uk_layer_opts lo = {.img = o->out,
				   .debugfs = d->debugfs,
				   .agent = d->agent[0] ? d->agent : NULL,
				   .build = true,
				   .profile = d->profile,
				   .tmpdir = o->tmpdir,
				   .say = o->say,
				   .ctx = o->ctx};
	struct uk_newfile nf;
	uint64_t got;
	int r;

	r = uk_newfile_open(&nf, o->out, 0644, err);
	if (r < 0)
		return r;
	r = uk_cache_copy(entry_fd, nf.fd, have, &got);
	if (r < 0) {
		uk_newfile_abort(&nf);
		return uk_err_sys(err, -r, "%s: copying the cached image", o->out);
	}
	if (got != sum) {
		uk_newfile_abort(&nf);
		return -ESTALE;
	}
	r = resize(d, nf.fd, have, err);
	if (r < 0) {
		uk_newfile_abort(&nf);
		return r;
	}
	return uk_layer_commit(&lo, &nf, o->force, err);
}

static int prepare(struct debian *d, struct uk_err *err)
{
	const struct uk_debian_opts *o = d->o;
	char include[4096], recipe[1024];
	struct stat st;
	int r;

	if (!o->out || !*o->out)
		return uk_err_set(err, EINVAL, "no output file given");
	if (o->profile && !(d->profile = uk_profile_find(o->profile)))
		return uk_err_set(err, EINVAL, "profile '%.40s': unknown (known: %s)", o->profile,
				  UK_IMAGE_PROFILES);
	d->size = (o->size ? o->size : UK_DEBIAN_DEFAULT_SIZE) & ~4095ULL;
	if (d->size < (256ULL << 20) || d->size > UK_ROOTFS_MAX_SIZE)
		return uk_err_set(err, EINVAL,
				  "size %" PRIu64 " bytes: a Debian image takes 256M to 16T",
				  d->size);
	if (!o->force && lstat(o->out, &st) == 0)
		return uk_err_set(err, EEXIST, "%s: already exists (use -f to replace it)", o->out);
	if (o->suite)
		snprintf(d->suite, sizeof(d->suite), "%.47s", o->suite);
	else if ((r = host_suite(d, err)) < 0)
		return r;
	r = uk_debian_suite_check(d->suite, err);
	if (r < 0)
		return r;
	snprintf(include, sizeof(include), "%s%s%s%s%.2000s", UK_DEBIAN_BASE_PACKAGES,
		 d->profile ? "," : "", d->profile ? d->profile->packages : "",
		 o->include ? "," : "", o->include ? o->include : "");
	r = uk_debian_packages(include, d->packages, sizeof(d->packages), err);
	if (r < 0)
		return r;
	r = host_mirror(d, err);
	if (r < 0)
		return r;
	r = find("mmdebstrap", o->mmdebstrap, "mmdebstrap", d->mmdebstrap, PATH_MAX, err);
	if (r == 0)
		r = find("mke2fs", o->mke2fs, "e2fsprogs", d->mke2fs, PATH_MAX, err);
	if (r == 0)
		r = find("debugfs", o->debugfs, "e2fsprogs", d->debugfs, PATH_MAX, err);
	if (r == 0)
		r = find("resize2fs", o->resize2fs, "e2fsprogs", d->resize2fs, PATH_MAX, err);
	if (r < 0)
		return r;
	if (uk_find_companion("umlkit-agent", d->agent, sizeof(d->agent), NULL) < 0 ||
	    uk_rootfs_check_static(d->agent) < 0)
		d->agent[0] = '\0';
	if (snprintf(recipe, sizeof(recipe),
		     "debian/4 suite=%s variant=apt packages=%s mirror=%s umlkit=%s", d->suite,
		     d->packages, d->mirror, UK_VERSION) >= (int)sizeof(recipe))
		return uk_err_set(err, E2BIG, "the image's recipe is too long");
	return uk_cache_entry_init(&d->entry, recipe, err);
}

int uk_debian_build(const struct uk_debian_opts *o, struct uk_err *err)
{
	_cleanup_free_ struct debian *d = calloc(1, sizeof(*d));
	bool fresh = false;
	uint64_t have, sum;
	int r;

	if (!d)
		return uk_err_set(err, ENOMEM, "out of memory");
	d->o = o;
	r = prepare(d, err);
	if (r < 0)
		return r;
	for (int tries = 0; tries < 2; tries++) {
		int fd = o->no_cache && !fresh ? -ENOENT : uk_cache_open(&d->entry, &have, &sum);

		if (fd < 0) {
			say_line(o, fresh ? "the new cache entry is gone: bootstrapping again"
					  : "bootstrapping with mmdebstrap");
			r = fill_cache(d, err);
			if (r < 0)
				return uk_err_prefix(err, r, "%s: debian %s: ", o->out, d->suite);
			fresh = true;
			fd = uk_cache_open(&d->entry, &have, &sum);
			if (fd < 0)
				continue;
		} else {
			say_line(o, "using the cached image of this recipe");
		}
		r = make_output(d, fd, have, sum, err);
		close(fd);
		if (r != -ESTALE)
			return r;
		say_line(o, "the cached image is damaged (checksum): dropped, bootstrapping again");
		uk_cache_drop(&d->entry);
	}
	return uk_err_set(err, EIO, "%s: the image cache in %s keeps failing its checksum", o->out,
			  d->entry.dir);
}

/* An exclusive flock on IMG.lock beside the cache entry's image, waited for. */
static int lock_entry(const char *img, struct uk_err *err)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s.lock", img) >= (int)sizeof(path))
		return uk_err_set(err, ENAMETOOLONG, "%s.lock: path too long", img);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return uk_err_sys(err, errno, "%s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = uk_err_sys(err, errno, "%s: lock", path);

			close(fd);
			return r;
		}
	}
	return fd;
}

/* Build the profile's image into the new cache file of entry, then commit it. */
static int fill_profile(const struct uk_cache_entry *e, struct uk_debian_opts *o,
			struct uk_err *err)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int fd = uk_cache_new(e, tmp, sizeof(tmp), err);
	struct stat st;
	int r;

	if (fd < 0)
		return fd;
	close(TAKE_FD(fd));
	o->out = tmp;
	o->force = true;
	r = uk_debian_build(o, err);
	if (r == 0) {
		fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			r = uk_err_sys(err, errno, "%s", tmp);
	}
	if (r == 0)
		r = uk_cache_commit(e, fd, tmp, (uint64_t)st.st_size, err);
	if (r < 0)
		unlink(tmp);
	return r;
}

int uk_image_profile_path(const char *profile, const struct uk_debian_opts *opts, bool build,
			  char *out, size_t outlen, struct uk_err *err)
{
	struct uk_debian_opts o = opts ? *opts : (struct uk_debian_opts){0};
	_cleanup_free_ struct debian *d = calloc(1, sizeof(*d));
	struct uk_cache_entry e;
	char recipe[sizeof(e.recipe)];
	_cleanup_close_ int lock = -1;
	uint64_t have, sum;
	int fd, r;

	if (!d)
		return uk_err_set(err, ENOMEM, "out of memory");
	if (!profile)
		return uk_err_set(err, EINVAL, "no profile given (known: %s)", UK_IMAGE_PROFILES);
	o.profile = profile;
	o.out = "(the cache)";
	o.force = true;
	d->o = &o;
	r = prepare(d, err);
	if (r < 0)
		return r;
	if (snprintf(recipe, sizeof(recipe),
		     "profile/%u %s size=%" PRIu64 " layer=%016" PRIx64 " %s", d->profile->version,
		     d->profile->name, d->size,
		     uk_layer_hash(d->profile, d->agent[0] ? d->agent : NULL),
		     d->entry.recipe) >= (int)sizeof(recipe))
		return uk_err_set(err, E2BIG, "the image's recipe is too long");
	r = uk_cache_entry_init(&e, recipe, err);
	if (r < 0)
		return r;
	if (uk_cache_path(&e, out, outlen) < 0)
		return uk_err_set(err, ENAMETOOLONG, "%s: the cache's path is too long", e.dir);
	/* one maker at a time: a second lab started meanwhile waits and then finds it */
	lock = build ? lock_entry(out, err) : -1;
	if (build && lock < 0)
		return lock;
	fd = o.no_cache ? -ENOENT : uk_cache_open(&e, &have, &sum);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (!build)
		return uk_err_set(err, ENOENT, "%s: the %s image is not built yet", out, profile);
	r = fill_profile(&e, &o, err);
	return r < 0 ? uk_err_prefix(err, r, "the %s image: ", profile) : 0;
}
