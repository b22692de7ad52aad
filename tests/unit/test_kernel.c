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
	char dir[PATH_MAX];
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
	*state = k;
	return 0;
}

static void rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char sub[PATH_MAX];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_rf(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
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
	rm_rf(k->dir);
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
	assert_int_equal(find_kernel("/nonexistent/linux", out, sizeof(out), &err),
			 -ENOENT);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_banner),
		cmocka_unit_test(test_no_banner),
		cmocka_unit_test_setup_teardown(test_kernel_given, kdir_setup, kdir_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_path, kdir_setup, kdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
