// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The fetched kernels: uk_cache_dir("kernels")/NAME/ holds root/ (the unpacked packages)
 * and manifest.json (where they came from, and the size and checksum of each file the
 * kernel needs to run: the binary, its program interpreter, its C library, its
 * modules.dep). An entry is used only when every one of those matches: a truncated or
 * changed file is found before a guest boots on it. Temporary entries start with '.'.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel-internal.h"
#include "umlkit/kernel.h"
#include "umlkit/util.h"

int uk_kernel_store(char *out, size_t outlen, struct uk_err *err)
{
	return uk_cache_dir("kernels", out, outlen, err);
}

int uk_kernel_file_sum(int dirfd, const char *rel, uint64_t *size, uint64_t *sum)
{
	_cleanup_close_ int fd = openat(dirfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[1 << 16];
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*size = 0;
	*sum = UK_HASH64_INIT;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		*sum = uk_hash64(*sum, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	return n < 0 ? -errno : 0;
}

static void copy_str(json_t *m, const char *key, char *out, size_t outlen)
{
	const char *v = json_string_value(json_object_get(m, key));

	uk_fmt(out, outlen, "%s", v ? v : "");
}

/* Every file the manifest lists is there with its size and checksum; else why not. */
static int check_files(int dirfd, json_t *files, char *why, size_t whylen)
{
	size_t i;
	json_t *f;

	if (!json_is_array(files) || json_array_size(files) == 0)
		return uk_fmt(why, whylen, "manifest.json lists no files"), -EUCLEAN;
	json_array_foreach(files, i, f)
	{
		const char *rel = json_string_value(json_object_get(f, "path"));
		const char *want = json_string_value(json_object_get(f, "sum"));
		json_int_t wsize = json_integer_value(json_object_get(f, "size"));
		uint64_t size, sum;
		char have[17];
		int r;

		if (!rel || !want || rel[0] == '/' || strstr(rel, ".."))
			return uk_fmt(why, whylen, "manifest.json: a bad file entry"), -EUCLEAN;
		r = uk_kernel_file_sum(dirfd, rel, &size, &sum);
		if (r < 0)
			return uk_fmt(why, whylen, "%s: %s", rel, strerror(-r)), -EUCLEAN;
		uk_fmt(have, sizeof(have), "%016" PRIx64, sum);
		if ((json_int_t)size != wsize)
			return uk_fmt(why, whylen, "%s: %" PRIu64 " bytes, %lld expected", rel,
				      size, (long long)wsize),
			       -EUCLEAN;
		if (strcmp(have, want))
			return uk_fmt(why, whylen, "%s: its checksum changed", rel), -EUCLEAN;
	}
	return 0;
}

/* Read NAME's manifest into k and check its files; k->damage says what is wrong. */
static int load_entry(const char *store, const char *name, struct uk_kernel *k)
{
	char dir[PATH_MAX], kernel[PATH_MAX];
	_cleanup_close_ int dfd = -1;
	json_error_t jerr;
	json_t *m = NULL;
	int fd, r = -EUCLEAN;

	memset(k, 0, sizeof(*k));
	uk_fmt(k->name, sizeof(k->name), "%s", name);
	if (uk_fmt(dir, sizeof(dir), "%s/%s", store, name) < 0)
		return uk_fmt(k->damage, sizeof(k->damage), "path too long"), -ENAMETOOLONG;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		uk_fmt(k->damage, sizeof(k->damage), "%s: %s", dir, strerror(errno));
		return r == -ELOOP || r == -ENOTDIR ? -EUCLEAN : r;
	}
	fd = openat(dfd, "manifest.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		m = json_loadfd(fd, 0, &jerr);
		close(fd);
	}
	if (!m) {
		uk_fmt(k->damage, sizeof(k->damage), "manifest.json: %s",
		       fd < 0 ? strerror(errno) : jerr.text);
		return -EUCLEAN;
	}
	copy_str(m, "suite", k->suite, sizeof(k->suite));
	copy_str(m, "mirror", k->mirror, sizeof(k->mirror));
	copy_str(m, "package", k->package, sizeof(k->package));
	copy_str(m, "libc", k->libc, sizeof(k->libc));
	copy_str(m, "kernel", kernel, sizeof(kernel));
	k->fetched = (long long)json_integer_value(json_object_get(m, "fetched"));
	if (!kernel[0] || kernel[0] == '/' || strstr(kernel, ".."))
		uk_fmt(k->damage, sizeof(k->damage), "manifest.json names no kernel");
	else if (check_files(dfd, json_object_get(m, "files"), k->damage, sizeof(k->damage)) == 0)
		r = 0;
	json_decref(m);
	uk_fmt(k->path, sizeof(k->path), "%s/%s", dir, kernel);
	return r;
}

static bool executable(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* linux or linux.uml on PATH: Debian's user-mode-linux installs /usr/bin/linux.uml. */
static int find_on_path(struct uk_kernel *k)
{
	static const char *const names[] = {"linux", "linux.uml"};
	const char *path = getenv("PATH");

	for (size_t i = 0; i < UK_ARRAY_SIZE(names); i++) {
		const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin";

		while (*p) {
			size_t n = strcspn(p, ":");

			uk_fmt(k->path, sizeof(k->path), "%.*s/%s", (int)n, p, names[i]);
			if (n && p[0] == '/' && executable(k->path))
				return 0;
			p += n + (p[n] == ':');
		}
	}
	k->path[0] = '\0';
	return -ENOENT;
}

static bool entry_exists(const char *store, const char *name)
{
	char dir[PATH_MAX];
	struct stat st;

	return uk_fmt(dir, sizeof(dir), "%s/%s", store, name) == 0 && lstat(dir, &st) == 0;
}

/* A fetched kernel by name: whole, or refused with what is wrong. */
static int find_fetched(const char *store, const char *name, const char *from, struct uk_kernel *k,
			struct uk_err *err)
{
	if (load_entry(store, name, k) < 0)
		return uk_err_set(
			err, EUCLEAN,
			"kernel %s%s: damaged (%s); fetch it again with "
			"`umlkit kernel fetch -f %s`, or remove it with `umlkit kernel rm %s`",
			name, from, k->damage, k->suite[0] ? k->suite : name, name);
	return 0;
}

int uk_kernel_locate(const char *given, struct uk_kernel *k, struct uk_err *err)
{
	const char *env = getenv("UMLKIT_KERNEL");
	const char *want = given && *given ? given : env && *env ? env : NULL;
	const char *from = given && *given ? "" : " (from $UMLKIT_KERNEL)";
	char store[PATH_MAX];

	memset(k, 0, sizeof(*k));
	if (want && !strchr(want, '/') && strcmp(want, UK_KERNEL_SYSTEM) &&
	    uk_name_check("kernel", want, UK_KERNEL_NAME_MAX, NULL) == 0 &&
	    uk_kernel_store(store, sizeof(store), NULL) == 0 && entry_exists(store, want))
		return find_fetched(store, want, from, k, err);
	if (want && strcmp(want, UK_KERNEL_SYSTEM)) {
		if (!executable(want))
			return uk_err_set(err, ENOENT, "kernel %s%s: %s", want, from,
					  strchr(want, '/')
						  ? "not an executable file"
						  : "no kernel of that name (umlkit "
						    "kernel list), nor an executable file");
		uk_fmt(k->path, sizeof(k->path), "%s", want);
		return 0;
	}
	if (find_on_path(k) < 0)
		return uk_err_set(
			err, ENOENT,
			"no UML kernel found: install Debian's user-mode-linux, fetch one "
			"with `umlkit kernel fetch`, or give --kernel NAME|PATH or "
			"$UMLKIT_KERNEL");
	uk_fmt(k->name, sizeof(k->name), "%s", UK_KERNEL_SYSTEM);
	return 0;
}

int uk_kernel_find(const char *given, struct uk_kernel *k, struct uk_err *err)
{
	int r = uk_kernel_locate(given, k, err);

	return r < 0 ? r : uk_kernel_probe(k, err);
}

static bool visible(const char *name)
{
	return name[0] != '.';
}

int uk_kernel_list(struct uk_kernel **out, int *n, struct uk_err *err)
{
	char store[PATH_MAX], **names = NULL;
	struct uk_kernel *ks;
	int count = 0, r;

	*out = NULL;
	*n = 0;
	r = uk_kernel_store(store, sizeof(store), err);
	if (r < 0)
		return r;
	r = uk_dir_names(store, visible, &names, &count, err);
	if (r < 0)
		return r;
	ks = calloc((size_t)count + 1, sizeof(*ks));
	if (!ks) {
		uk_names_free(names, count);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	if (find_on_path(&ks[0]) == 0) {
		uk_fmt(ks[0].name, sizeof(ks[0].name), "%s", UK_KERNEL_SYSTEM);
		if (uk_kernel_probe(&ks[0], NULL) < 0)
			uk_fmt(ks[0].damage, sizeof(ks[0].damage), "unreadable");
		(*n)++;
	}
	for (int i = 0; i < count; i++) {
		struct uk_kernel *k = &ks[*n];

		if (load_entry(store, names[i], k) == 0 && uk_kernel_probe(k, NULL) < 0)
			uk_fmt(k->damage, sizeof(k->damage), "unreadable");
		(*n)++;
	}
	uk_names_free(names, count);
	*out = ks;
	return 0;
}

int uk_kernel_store_lock(const char *store, struct uk_err *err)
{
	char path[PATH_MAX];
	int fd;

	uk_fmt(path, sizeof(path), "%s/.lock", store);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return uk_err_sys(err, errno, "%s", path);
	if (lockf(fd, F_LOCK, 0) < 0) {
		int e = errno;

		close(fd);
		return uk_err_sys(err, e, "%s: lock", path);
	}
	return fd;
}

int uk_kernel_rm(const char *name, struct uk_err *err)
{
	char store[PATH_MAX], aside[64];
	_cleanup_close_ int lock = -1, sfd = -1;
	struct stat st;
	int r;

	if (!strcmp(name, UK_KERNEL_SYSTEM))
		return uk_err_set(err, EPERM,
				  "kernel %s: the host's kernel is the package's (apt remove "
				  "user-mode-linux), not umlkit's to remove",
				  name);
	r = uk_name_check("kernel", name, UK_KERNEL_NAME_MAX, err);
	if (r < 0)
		return r;
	r = uk_kernel_store(store, sizeof(store), err);
	if (r < 0)
		return r;
	lock = uk_kernel_store_lock(store, err);
	if (lock < 0)
		return lock;
	sfd = open(store, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return uk_err_sys(err, errno, "%s", store);
	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return uk_err_set(err, ENOENT, "kernel %s: no such kernel (umlkit kernel list)",
				  name);
	/* out of sight first, so that a crash never leaves half an entry under its name */
	uk_fmt(aside, sizeof(aside), ".rm-%s-%ld", name, (long)getpid());
	if (renameat(sfd, name, sfd, aside) < 0)
		return uk_err_sys(err, errno, "%s/%s", store, name);
	if (S_ISDIR(st.st_mode))
		r = uk_remove_tree(sfd, aside);
	else
		r = unlinkat(sfd, aside, 0) < 0 ? -errno : 0;
	if (r < 0)
		return uk_err_sys(err, -r, "%s/%s", store, aside);
	fsync(sfd);
	return 0;
}
