// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/kernel: the release read from a kernel's banner, its seccomp mode, finding the kernel
 * a guest boots (a name, a path, $UMLKIT_KERNEL, PATH), the store of fetched kernels and
 * its damage checks, and the host's Debian mirror read from its apt sources.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "umlkit/kernel.h"
#include "umlkit/util.h"
#include "../../lib/kernel/kernel-internal.h"

static int version_of(const char *text, char *out, size_t outlen)
{
	return uk_kernel_release_in(text, strlen(text), out, outlen);
}

static void test_banner(void **state)
{
	static const char bin[] = "\x7f"
				  "ELF\0\0junk Linux version %s (%s)\0"
				  "Linux version 6.1.176 (buildd@x86-grnet-03) (gcc) #1\0";
	char v[32];

	(void)state;
	/* the format string (no version after it) is skipped, the banner found */
	assert_int_equal(uk_kernel_release_in(bin, sizeof(bin) - 1, v, sizeof(v)), 0);
	assert_string_equal(v, "6.1.176");
	assert_int_equal(version_of("Linux version 6.12.9-um+1 (x)", v, sizeof(v)), 0);
	assert_string_equal(v, "6.12.9-um+1");
}

static void test_no_banner(void **state)
{
	char v[8];

	(void)state;
	assert_int_equal(version_of("no banner here", v, sizeof(v)), -ENOENT);
	assert_int_equal(version_of("Linux version ", v, sizeof(v)), -ENOENT);
	assert_int_equal(version_of("Linux version 6.1.176", v, sizeof(v)), -ENOENT);
	assert_int_equal(version_of("Linux version ../../x (y)", v, sizeof(v)), -ENOENT);
	assert_int_equal(version_of("Linux version 6.1/evil (y)", v, sizeof(v)), -ENOENT);
	/* longer than the buffer */
	assert_int_equal(version_of("Linux version 6.1.176.123 (y)", v, sizeof(v)), -ENOENT);
}

/* ---- finding the kernel ---- */
/* uk_kernel_locate, as the old finder was called: the path into out */
static int find_kernel(const char *given, char *out, size_t outlen, struct uk_err *err)
{
	struct uk_kernel k;
	int r = uk_kernel_locate(given, &k, err);

	snprintf(out, outlen, "%s", r == 0 ? k.path : "");
	return r;
}

struct kdir {
	char dir[PATH_MAX], cache[PATH_MAX];
	char *old_path, *old_kernel;
};

static int kdir_setup(void **state)
{
	struct kdir *k = calloc(1, sizeof(*k));
	char tmpl[] = "/tmp/uk-test-guest.XXXXXX";
	const char *p = getenv("PATH"), *uk = getenv("UMLKIT_KERNEL");

	if (!k || !mkdtemp(tmpl))
		return -1;
	snprintf(k->dir, sizeof(k->dir), "%s", tmpl);
	k->old_path = p ? strdup(p) : NULL;
	k->old_kernel = uk ? strdup(uk) : NULL;
	unsetenv("UMLKIT_KERNEL");
	unsetenv("UMLKIT_MODULES_DIR");
	uk_fmt(k->cache, sizeof(k->cache), "%s/cache", k->dir);
	setenv("UMLKIT_CACHE_DIR", k->cache, 1);
	*state = k;
	return 0;
}

static int kdir_teardown(void **state)
{
	struct kdir *k = *state;

	if (k->old_path)
		setenv("PATH", k->old_path, 1);
	else
		unsetenv("PATH");
	if (k->old_kernel)
		setenv("UMLKIT_KERNEL", k->old_kernel, 1);
	else
		unsetenv("UMLKIT_KERNEL");
	uk_remove_tree(AT_FDCWD, k->dir);
	free(k->old_path);
	free(k->old_kernel);
	free(k);
	return 0;
}

/* out = k->dir/rel; creates a file there with mode (0: a directory) */
static void kfile(const struct kdir *k, const char *rel, mode_t mode, char *out)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", k->dir, rel);
	int fd;

	assert_true(n > 0 && n < PATH_MAX);
	if (!mode) {
		assert_int_equal(mkdir(out, 0755), 0);
		return;
	}
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
	close(fd);
	assert_int_equal(chmod(out, mode), 0);
}

/* PATH = the ':'-separated names, each under the scratch directory; empty ones stay empty */
static void set_path(const struct kdir *k, const char *names)
{
	char path[4 * PATH_MAX] = "";
	const char *p = names;

	for (;;) {
		size_t n = strcspn(p, ":"), used = strlen(path);

		if (n)
			snprintf(path + used, sizeof(path) - used, "%s/%.*s", k->dir, (int)n, p);
		if (!p[n])
			break;
		strcat(path, ":");
		p += n + 1;
	}
	assert_int_equal(setenv("PATH", path, 1), 0);
}

static void test_kernel_given(void **state)
{
	struct kdir *k = *state;
	char kx[PATH_MAX], kn[PATH_MAX], kd[PATH_MAX], out[PATH_MAX];
	struct uk_err err = {0};

	kfile(k, "kx", 0755, kx);
	kfile(k, "kn", 0644, kn);
	kfile(k, "kd", 0, kd);
	set_path(k, "nowhere");

	assert_int_equal(find_kernel(kx, out, sizeof(out), &err), 0);
	assert_string_equal(out, kx);
	assert_int_equal(find_kernel(kn, out, sizeof(out), &err), -ENOENT);
	assert_non_null(strstr(err.msg, "not an executable file"));
	assert_non_null(strstr(err.msg, kn));
	assert_null(strstr(err.msg, "UMLKIT_KERNEL"));
	assert_int_equal(find_kernel(kd, out, sizeof(out), &err), -ENOENT);
	assert_int_equal(find_kernel("/nonexistent/linux", out, sizeof(out), &err), -ENOENT);
	assert_non_null(strstr(err.msg, "kernel /nonexistent/linux: not an executable file"));

	/* $UMLKIT_KERNEL when none is given; the given one wins */
	assert_int_equal(setenv("UMLKIT_KERNEL", kx, 1), 0);
	assert_int_equal(find_kernel(NULL, out, sizeof(out), &err), 0);
	assert_string_equal(out, kx);
	assert_int_equal(find_kernel("", out, sizeof(out), &err), 0);
	assert_string_equal(out, kx);
	assert_int_equal(setenv("UMLKIT_KERNEL", kn, 1), 0);
	assert_int_equal(find_kernel(kx, out, sizeof(out), &err), 0);
	assert_string_equal(out, kx);
	assert_int_equal(find_kernel(NULL, out, sizeof(out), &err), -ENOENT);
	assert_non_null(strstr(err.msg, kn));
	assert_non_null(strstr(err.msg, "(from $UMLKIT_KERNEL)"));
	/* an empty $UMLKIT_KERNEL counts as unset: PATH is searched (and finds nothing) */
	assert_int_equal(setenv("UMLKIT_KERNEL", "", 1), 0);
	assert_int_equal(find_kernel(NULL, out, sizeof(out), &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no UML kernel found"));
}

static void test_kernel_path(void **state)
{
	struct kdir *k = *state;
	char a_uml[PATH_MAX], b_linux[PATH_MAX], c_linux[PATH_MAX], tmp[PATH_MAX];
	char out[PATH_MAX];
	struct uk_err err = {0};

	kfile(k, "a", 0, tmp);
	kfile(k, "b", 0, tmp);
	kfile(k, "c", 0, tmp);
	kfile(k, "d", 0, tmp);
	kfile(k, "a/linux.uml", 0755, a_uml);
	kfile(k, "a/linux", 0644, tmp);	    /* not executable: skipped */
	kfile(k, "d/linux", 0, tmp);	    /* a directory: skipped */
	kfile(k, "b/linux", 0755, b_linux); /* linux anywhere on PATH before linux.uml */
	kfile(k, "c/linux", 0755, c_linux);

	set_path(k, "a:d:b:c");
	assert_int_equal(find_kernel(NULL, out, sizeof(out), &err), 0);
	assert_string_equal(out, b_linux);
	set_path(k, ":nowhere::c:b:");
	assert_int_equal(find_kernel(NULL, out, sizeof(out), &err), 0);
	assert_string_equal(out, c_linux);

	/* no linux: linux.uml */
	set_path(k, "d:a");
	assert_int_equal(find_kernel(NULL, out, sizeof(out), &err), 0);
	assert_string_equal(out, a_uml);
	assert_int_equal(find_kernel("", out, sizeof(out), &err), 0);
	assert_string_equal(out, a_uml);

	/* $UMLKIT_KERNEL before PATH */
	assert_int_equal(setenv("UMLKIT_KERNEL", c_linux, 1), 0);
	assert_int_equal(find_kernel(NULL, out, sizeof(out), &err), 0);
	assert_string_equal(out, c_linux);
	unsetenv("UMLKIT_KERNEL");

	/* none found */
	set_path(k, "d:nowhere");
	memset(&err, 0, sizeof(err));
	assert_int_equal(find_kernel(NULL, out, sizeof(out), &err), -ENOENT);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, "no UML kernel found"));
	assert_non_null(strstr(err.msg, "--kernel NAME|PATH or $UMLKIT_KERNEL"));
	assert_int_equal(setenv("PATH", "", 1), 0);
	assert_int_equal(find_kernel(NULL, out, sizeof(out), &err), -ENOENT);
}

/* ---- what a binary says of itself ---- */

static void put(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static const char k72[] = "\x7f"
			  "ELF junk seccomp=<on/auto/off>\n    Configure\0"
			  "Linux version 7.2.7 (debian-kernel@lists.debian.org) #1\0";
static const char k61[] = "\x7f"
			  "ELF junk\0Linux version 6.1.176 (buildd@x86) #1\0";

/* dir/usr/bin/linux.uml with text, and (when release) dir/usr/lib/uml/modules/RELEASE */
static void fake_tree(const struct kdir *k, const char *dir, const char *text, size_t len,
		      const char *release, char *bin)
{
	char p[PATH_MAX];

	kfile(k, dir, 0, p);
	uk_fmt(p, sizeof(p), "%s/%s/usr", k->dir, dir);
	assert_int_equal(mkdir(p, 0755), 0);
	strcat(p, "/bin");
	assert_int_equal(mkdir(p, 0755), 0);
	uk_fmt(bin, PATH_MAX, "%s/linux.uml", p);
	put(bin, text, len, 0755);
	if (!release)
		return;
	uk_fmt(p, sizeof(p), "%s/%s/usr/lib", k->dir, dir);
	assert_int_equal(mkdir(p, 0755), 0);
	strcat(p, "/uml");
	assert_int_equal(mkdir(p, 0755), 0);
	strcat(p, "/modules");
	assert_int_equal(mkdir(p, 0755), 0);
	strcat(p, "/");
	strcat(p, release);
	assert_int_equal(mkdir(p, 0755), 0);
	strcat(p, "/modules.dep");
	put(p, "", 0, 0644);
}

static void test_probe(void **state)
{
	struct kdir *k = *state;
	struct uk_kernel kk = {0};
	struct uk_err err = {0};
	char want[PATH_MAX], envdir[PATH_MAX], p[PATH_MAX];

	fake_tree(k, "new", k72, sizeof(k72) - 1, "7.2.7", kk.path);
	assert_int_equal(uk_kernel_probe(&kk, &err), 0);
	assert_string_equal(kk.release, "7.2.7");
	assert_true(kk.seccomp);
	uk_fmt(p, sizeof(p), "%s/new/usr/lib/uml/modules", k->dir);
	assert_non_null(realpath(p, want));
	assert_string_equal(kk.modules, want); /* beside the binary */

	/* 6.1: no seccomp; no modules beside it, none in $UMLKIT_MODULES_DIR of its release */
	memset(&kk, 0, sizeof(kk));
	fake_tree(k, "old", k61, sizeof(k61) - 1, NULL, kk.path);
	kfile(k, "mods", 0, envdir);
	setenv("UMLKIT_MODULES_DIR", envdir, 1);
	assert_int_equal(uk_kernel_probe(&kk, &err), 0);
	assert_string_equal(kk.release, "6.1.176");
	assert_false(kk.seccomp);
	assert_string_equal(kk.modules, "");
	kfile(k, "mods/6.1.176", 0, p);
	strcat(p, "/modules.dep");
	put(p, "", 0, 0644);
	assert_int_equal(uk_kernel_probe(&kk, &err), 0);
	assert_string_equal(kk.modules, envdir);
	unsetenv("UMLKIT_MODULES_DIR");

	/* no banner: no release, no modules, no seccomp, and no error (it may still boot) */
	kfile(k, "notkernel", 0755, kk.path);
	assert_int_equal(uk_kernel_probe(&kk, &err), 0);
	assert_string_equal(kk.release, "");
	assert_string_equal(kk.modules, "");
	assert_false(kk.seccomp);
	/* unreadable */
	uk_fmt(kk.path, sizeof(kk.path), "%s/nothing-here", k->dir);
	assert_int_equal(uk_kernel_probe(&kk, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "nothing-here"));
}

/* ---- the store of fetched kernels ---- */

/* An entry NAME in the store as the fetch leaves it: root/usr/bin/linux.uml and a manifest
 * listing it with its size and checksum. */
static void fake_entry(const struct kdir *k, const char *name)
{
	char store[PATH_MAX], dir[PATH_MAX], bin[PATH_MAX], text[2048], mf[PATH_MAX + 32];
	struct uk_err err = {0};
	uint64_t size, sum;
	int dfd;

	assert_int_equal(uk_kernel_store(store, sizeof(store), &err), 0);
	uk_fmt(dir, sizeof(dir), "cache/kernels/%s", name); /* uk_kernel_store made kernels/ */
	kfile(k, dir, 0, bin);
	strcat(dir, "/root");
	kfile(k, dir, 0, bin);
	fake_tree(k, "tmp-tree", k72, sizeof(k72) - 1, "7.2.7", bin);
	uk_fmt(dir, sizeof(dir), "%s/%s/root/usr", store, name);
	uk_fmt(text, sizeof(text), "%s/tmp-tree/usr", k->dir);
	assert_int_equal(rename(text, dir), 0);
	uk_fmt(dir, sizeof(dir), "%s/%s", store, name);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(uk_kernel_file_sum(dfd, "root/usr/bin/linux.uml", &size, &sum), 0);
	close(dfd);
	uk_fmt(text, sizeof(text),
	       "{\"format\": 1, \"name\": \"%s\", \"suite\": \"sid\", \"mirror\": "
	       "\"http://deb.debian.org/debian\", \"package\": \"user-mode-linux 7.2um1\", "
	       "\"libc\": \"libc6 2.43-7\", \"release\": \"7.2.7\", \"fetched\": 1, \"kernel\": "
	       "\"root/usr/bin/linux.uml\", \"files\": [{\"path\": \"root/usr/bin/linux.uml\", "
	       "\"size\": %llu, \"sum\": \"%016llx\"}]}\n",
	       name, (unsigned long long)size, (unsigned long long)sum);
	uk_fmt(mf, sizeof(mf), "%s/manifest.json", dir);
	put(mf, text, strlen(text), 0644);
	uk_fmt(text, sizeof(text), "%s/tmp-tree", k->dir);
	assert_int_equal(rmdir(text), 0);
}

static void entry_file(const struct kdir *k, const char *name, const char *rel, char *out)
{
	uk_fmt(out, PATH_MAX, "%s/kernels/%s/%s", k->cache, name, rel);
}

static void test_store_find(void **state)
{
	struct kdir *k = *state;
	struct uk_kernel kk;
	struct uk_err err = {0};
	char bin[PATH_MAX];

	fake_entry(k, "sid");
	assert_int_equal(uk_kernel_find("sid", &kk, &err), 0);
	assert_string_equal(kk.name, "sid");
	assert_string_equal(kk.release, "7.2.7");
	assert_true(kk.seccomp);
	assert_string_equal(kk.package, "user-mode-linux 7.2um1");
	entry_file(k, "sid", "root/usr/bin/linux.uml", bin);
	assert_string_equal(kk.path, bin);
	assert_non_null(strstr(kk.modules, "/kernels/sid/root/usr/lib/uml/modules"));
	/* $UMLKIT_KERNEL names it too */
	setenv("UMLKIT_KERNEL", "sid", 1);
	assert_int_equal(uk_kernel_find(NULL, &kk, &err), 0);
	assert_string_equal(kk.path, bin);
	unsetenv("UMLKIT_KERNEL");
	/* a name that is no entry and no file */
	assert_int_equal(uk_kernel_find("trixie", &kk, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "kernel trixie: no kernel of that name"));
}

static void expect_damage(const char *name, const char *why)
{
	struct uk_kernel kk;
	struct uk_err err = {0};

	assert_int_equal(uk_kernel_find(name, &kk, &err), -EUCLEAN);
	if (!strstr(err.msg, why) || !strstr(err.msg, "damaged") ||
	    !strstr(err.msg, "umlkit kernel fetch -f"))
		fail_msg("kernel %s: message '%s' lacks '%s'", name, err.msg, why);
}

static void test_store_damage(void **state)
{
	struct kdir *k = *state;
	char p[PATH_MAX], q[PATH_MAX];
	struct uk_kernel *ks;
	int fd, n, damaged = 0;

	/* a byte changed, the size the same */
	fake_entry(k, "a");
	entry_file(k, "a", "root/usr/bin/linux.uml", p);
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 1), 1);
	close(fd);
	expect_damage("a", "root/usr/bin/linux.uml: its checksum changed");
	/* truncated */
	fake_entry(k, "b");
	entry_file(k, "b", "root/usr/bin/linux.uml", p);
	assert_int_equal(truncate(p, 10), 0);
	expect_damage("b", "root/usr/bin/linux.uml: 10 bytes");
	/* gone */
	fake_entry(k, "c");
	entry_file(k, "c", "root/usr/bin/linux.uml", p);
	assert_int_equal(unlink(p), 0);
	expect_damage("c", "No such file");
	/* no manifest, or not JSON */
	fake_entry(k, "d");
	entry_file(k, "d", "manifest.json", p);
	assert_int_equal(unlink(p), 0);
	expect_damage("d", "manifest.json");
	fake_entry(k, "e");
	entry_file(k, "e", "manifest.json", p);
	put(p, "{not json", 9, 0644);
	expect_damage("e", "manifest.json");
	/* the binary replaced by a symlink to a copy of itself: not followed */
	fake_entry(k, "f");
	entry_file(k, "f", "root/usr/bin/linux.uml", p);
	uk_fmt(q, sizeof(q), "%s.real", p);
	assert_int_equal(rename(p, q), 0);
	assert_int_equal(symlink(q, p), 0);
	expect_damage("f", "linux.uml");
	/* the entry itself a symlink to a whole one */
	fake_entry(k, "g");
	entry_file(k, "g", "", p);
	p[strlen(p) - 1] = '\0';
	entry_file(k, "h", "", q);
	q[strlen(q) - 1] = '\0';
	assert_int_equal(symlink(p, q), 0);
	expect_damage("h", "kernels/h");

	/* list names every one, the damaged with why */
	assert_int_equal(uk_kernel_list(&ks, &n, NULL), 0);
	for (int i = 0; i < n; i++)
		damaged += ks[i].damage[0] != '\0';
	assert_int_equal(damaged, 7);
	assert_string_equal(ks[n - 2].name, "g");
	assert_string_equal(ks[n - 2].damage, "");
	free(ks);
}

static void test_store_rm(void **state)
{
	struct kdir *k = *state;
	struct uk_kernel kk;
	struct uk_err err = {0};
	char p[PATH_MAX], outside[PATH_MAX];

	fake_entry(k, "sid");
	assert_int_equal(uk_kernel_rm("sid", &err), 0);
	assert_int_equal(uk_kernel_find("sid", &kk, &err), -ENOENT);
	assert_int_equal(uk_kernel_rm("sid", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "kernel sid: no such kernel"));
	assert_int_equal(uk_kernel_rm(UK_KERNEL_SYSTEM, &err), -EPERM);
	assert_int_equal(uk_kernel_rm("../x", &err), -EINVAL);
	/* a symlinked entry goes, not what it points to */
	kfile(k, "outside", 0, outside);
	kfile(k, "outside/keep", 0644, p);
	entry_file(k, "ln", "", p);
	p[strlen(p) - 1] = '\0';
	assert_int_equal(symlink(outside, p), 0);
	assert_int_equal(uk_kernel_rm("ln", &err), 0);
	uk_fmt(p, sizeof(p), "%s/keep", outside);
	assert_int_equal(access(p, F_OK), 0);
}

/* ---- the host's mirror ---- */

static void sources(const struct kdir *k, const char *root, const char *codename, const char *list,
		    const char *file, const char *text)
{
	char p[PATH_MAX], d[PATH_MAX];

	uk_fmt(d, sizeof(d), "%s/etc", root);
	mkdir(d, 0755);
	uk_fmt(d, sizeof(d), "%s/etc/apt", root);
	mkdir(d, 0755);
	uk_fmt(d, sizeof(d), "%s/etc/apt/sources.list.d", root);
	mkdir(d, 0755);
	uk_fmt(p, sizeof(p), "%s/etc/os-release", root);
	uk_fmt(d, sizeof(d), "PRETTY_NAME=\"Debian\"\nVERSION_CODENAME=%s\n", codename);
	put(p, d, strlen(d), 0644);
	uk_fmt(p, sizeof(p), "%s/etc/apt/sources.list", root);
	put(p, list, strlen(list), 0644);
	if (file) {
		uk_fmt(p, sizeof(p), "%s/etc/apt/sources.list.d/%s", root, file);
		put(p, text, strlen(text), 0644);
	}
	(void)k;
}

static void test_host_mirror(void **state)
{
	struct kdir *k = *state;
	char root[PATH_MAX], out[256];

	kfile(k, "r1", 0, root);
	sources(k, root, "bookworm", "# none\n", "debian.sources",
		"Types: deb\nURIs: http://security.example/debian-security\nSuites: "
		"bookworm-security\nComponents: main\n\nTypes: deb-src deb\nURIs: "
		"http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: "
		"main\n");
	assert_int_equal(uk_kernel_host_mirror(root, out, sizeof(out)), 0);
	assert_string_equal(out, "http://mirror.example/debian");

	/* a disabled stanza is passed over; the one-line form, with options, first */
	kfile(k, "r2", 0, root);
	sources(k, root, "bookworm",
		"deb-src http://src.example/debian bookworm main\n"
		"deb [arch=amd64 signed-by=/k.gpg] https://one.example/debian bookworm main\n",
		"x.sources", "Types: deb\nURIs: http://two.example/debian\nSuites: bookworm\n");
	assert_int_equal(uk_kernel_host_mirror(root, out, sizeof(out)), 0);
	assert_string_equal(out, "https://one.example/debian");
	kfile(k, "r3", 0, root);
	sources(k, root, "trixie", "deb http://old.example/debian bookworm main\n", "x.sources",
		"Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: trixie\n\n"
		"Types: deb\nURIs: http://on.example/debian\nSuites: trixie\n");
	assert_int_equal(uk_kernel_host_mirror(root, out, sizeof(out)), 0);
	assert_string_equal(out, "http://on.example/debian");

	/* nothing for the host's release, or no os-release: Debian's own */
	kfile(k, "r4", 0, root);
	sources(k, root, "bookworm", "deb http://a.example/debian sid main\n", NULL, NULL);
	assert_int_equal(uk_kernel_host_mirror(root, out, sizeof(out)), 0);
	assert_string_equal(out, "http://deb.debian.org/debian");
	kfile(k, "r5", 0, root);
	assert_int_equal(uk_kernel_host_mirror(root, out, sizeof(out)), 0);
	assert_string_equal(out, "http://deb.debian.org/debian");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_banner),
		cmocka_unit_test(test_no_banner),
		cmocka_unit_test_setup_teardown(test_kernel_given, kdir_setup, kdir_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_path, kdir_setup, kdir_teardown),
		cmocka_unit_test_setup_teardown(test_probe, kdir_setup, kdir_teardown),
		cmocka_unit_test_setup_teardown(test_store_find, kdir_setup, kdir_teardown),
		cmocka_unit_test_setup_teardown(test_store_damage, kdir_setup, kdir_teardown),
		cmocka_unit_test_setup_teardown(test_store_rm, kdir_setup, kdir_teardown),
		cmocka_unit_test_setup_teardown(test_host_mirror, kdir_setup, kdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
