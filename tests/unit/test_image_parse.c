// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/image/parse.c: the ext superblock check, apt's sources (deb822 and one-line), the
 * host's codename, suite and package names, fstab and shadow text, the cache checksum.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "umlkit/image.h"
#include "umlkit/util.h"

static void test_superblock(void **state)
{
	uint8_t buf[2048] = {0};
	struct uk_err err = {0};

	assert_int_equal(uk_ext_superblock_check(buf, sizeof(buf), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no ext2/3/4 superblock"));
	buf[1024 + 56] = 0x53;
	buf[1024 + 57] = 0xef;
	assert_int_equal(uk_ext_superblock_check(buf, sizeof(buf), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no blocks"));
	buf[1024 + 4] = 1;
	assert_int_equal(uk_ext_superblock_check(buf, sizeof(buf), &err), 0);
	buf[1024 + 24] = 9; /* 512 KiB blocks */
	assert_int_equal(uk_ext_superblock_check(buf, sizeof(buf), &err), -EINVAL);
	assert_int_equal(uk_ext_superblock_check(buf, 1500, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "shorter than 2048"));
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "OOOM", 4);
	assert_int_equal(uk_ext_superblock_check(buf, sizeof(buf), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "UML COW file"));
}

static void mirror_is(const char *text, int want, const char *uri)
{
	char out[256] = "";

	assert_int_equal(uk_apt_mirror(text, strlen(text), out, sizeof(out)), want);
	if (want == 0)
		assert_string_equal(out, uri);
}

static void test_apt_mirror(void **state)
{
	mirror_is("Types: deb\n# http://snapshot.debian.org/archive/debian/2025\n"
		  "URIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n"
		  "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
		  "\nTypes: deb\nURIs: http://deb.debian.org/debian-security\n"
		  "Suites: bookworm-security\nComponents: main\n",
		  0, "http://deb.debian.org/debian");
	/* security first, deb-src, disabled and contrib-only paragraphs are passed over */
	mirror_is("Types: deb\nURIs: http://security.debian.org/debian-security/\n"
		  "Suites: bookworm-security\nComponents: main\n\n"
		  "Types: deb-src\nURIs: http://src.example/debian\nComponents: main\n\n"
		  "Types: deb\nURIs: http://off.example/debian\nComponents: main\nEnabled: no\n\n"
		  "Types: deb\nURIs: http://contrib.example/debian\nComponents: contrib\n\n"
		  "types: deb deb-src\nuris: https://mirror.example/debian/\ncomponents: main "
		  "contrib\n",
		  0, "https://mirror.example/debian");
	mirror_is("# comment\ndeb-src http://a.example/debian bookworm main\n"
		  "deb http://security.debian.org/debian-security bookworm-security main\n"
		  "deb [arch=amd64 signed-by=/k.gpg] http://ftp.example/debian/ bookworm main\n",
		  0, "http://ftp.example/debian");
	mirror_is("deb http://ftp.example/debian bookworm contrib\n", -ENOENT, NULL);
	mirror_is("deb cdrom:[Debian]/ bookworm main\n", -ENOENT, NULL);
	mirror_is("", -ENOENT, NULL);
	mirror_is("deb [arch=amd64", -ENOENT, NULL);
	mirror_is("Types: deb\nURIs: http://a.example/deb\"ian\nComponents: main\n", -EINVAL, NULL);
}

static void test_codename(void **state)
{
	char out[48];
	const char *t = "NAME=\"Debian GNU/Linux\"\nVERSION_CODENAME=bookworm\nID=debian\n";

	assert_int_equal(uk_os_codename(t, strlen(t), out, sizeof(out)), 0);
	assert_string_equal(out, "bookworm");
	t = "VERSION_CODENAME=\"trixie\"";
	assert_int_equal(uk_os_codename(t, strlen(t), out, sizeof(out)), 0);
	assert_string_equal(out, "trixie");
	t = "ID=debian\nVERSION_CODENAME=\n";
	assert_int_equal(uk_os_codename(t, strlen(t), out, sizeof(out)), -ENOENT);
	t = "VERSION_CODENAME=averyveryverylongname";
	assert_int_equal(uk_os_codename(t, strlen(t), out, 8), -ENAMETOOLONG);
}

static void test_suite_and_packages(void **state)
{
	struct uk_err err = {0};
	char out[256];

	assert_int_equal(uk_debian_suite_check("bookworm", &err), 0);
	assert_int_equal(uk_debian_suite_check("bookworm-backports", &err), 0);
	assert_int_equal(uk_debian_suite_check("bad/suite", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "suite 'bad/suite'"));
	assert_int_equal(uk_debian_suite_check("", &err), -EINVAL);
	assert_int_equal(uk_debian_suite_check("-x", &err), -EINVAL);
	assert_int_equal(
		uk_debian_packages("nginx-light,bind9,,bind9,libc6:amd64", out, sizeof(out), &err),
		-EINVAL);
	assert_non_null(strstr(err.msg, "package 'libc6:amd64'"));
	assert_int_equal(uk_debian_packages("systemd-sysv,nginx-light,bind9,,bind9,g++,", out,
					    sizeof(out), &err),
			 0);
	assert_string_equal(out, "bind9,g++,nginx-light,systemd-sysv");
	assert_int_equal(uk_debian_packages("", out, sizeof(out), &err), 0);
	assert_string_equal(out, "");
	assert_int_equal(uk_debian_packages("Bad_Pkg", out, sizeof(out), &err), -EINVAL);
	assert_int_equal(uk_debian_packages("a", out, sizeof(out), &err), -EINVAL);
	assert_int_equal(uk_debian_packages("bind9,nginx", out, 8, &err), -ENOSPC);
}

static void test_fstab_shadow(void **state)
{
	char out[256];

	assert_false(uk_fstab_has_entries("# UNCONFIGURED FSTAB FOR BASE SYSTEM\n\n  \n"));
	assert_false(uk_fstab_has_entries(""));
	assert_true(uk_fstab_has_entries("# x\n/dev/sda1 / ext4 defaults 0 1\n"));

	assert_int_equal(uk_shadow_unlock_root("daemon:*:1::\nroot:*:20000:0:99999:7:::\nx:!:1\n",
					       out, sizeof(out)),
			 1);
	assert_string_equal(out, "daemon:*:1::\nroot::20000:0:99999:7:::\nx:!:1\n");
	assert_int_equal(uk_shadow_unlock_root("root:!$6$abc$def:1:\n", out, sizeof(out)), 1);
	assert_string_equal(out, "root::1:\n");
	assert_int_equal(uk_shadow_unlock_root("root:$6$salt$hash:1:\n", out, sizeof(out)), 0);
	assert_int_equal(uk_shadow_unlock_root("root::1:\n", out, sizeof(out)), 0);
	assert_int_equal(uk_shadow_unlock_root("rooty:*:1\n", out, sizeof(out)), -EINVAL);
	assert_int_equal(uk_shadow_unlock_root("root:*", out, sizeof(out)), 1);
	assert_string_equal(out, "root:");
	assert_int_equal(uk_shadow_unlock_root("root:*:1\n", out, 4), -ENOSPC);
}

static void test_hash(void **state)
{
	uint8_t a[100] = {1, 2, 3}, b[100] = {1, 2, 3};
	uint64_t h = uk_hash64(UK_HASH64_INIT, a, sizeof(a));

	assert_true(h == uk_hash64(UK_HASH64_INIT, b, sizeof(b)));
	b[77] ^= 0x10;
	assert_true(h != uk_hash64(UK_HASH64_INIT, b, sizeof(b)));
	assert_true(h != uk_hash64(UK_HASH64_INIT, a, sizeof(a) - 1));
	assert_true(uk_hash64(1, a, 8) != uk_hash64(2, a, 8));
}

/* Kathara's image names (lab.conf image=) to the lab profile; other names to none. */
static void test_profile_for(void **state)
{
	static const char *const lab[] = {"lab",
					  "kathara/base",
					  "kathara/frr",
					  "kathara/quagga",
					  "kathara/bind",
					  "kathara/frr:latest",
					  "docker.io/kathara/base",
					  "docker.io/kathara/frr:9.1"};
	static const char *const none[] = {"",
					   "kathara",
					   "kathara/",
					   "kathara/frrx",
					   "kathara/frr:",
					   "kathara/sdn",
					   "xkathara/base",
					   "docker.io/",
					   "quay.io/kathara/base",
					   "debian:bookworm",
					   "Lab"};

	(void)state;
	for (size_t i = 0; i < UK_ARRAY_SIZE(lab); i++) {
		const char *p = uk_image_profile_for(lab[i]);

		assert_non_null(p);
		assert_string_equal(p, "lab");
	}
	for (size_t i = 0; i < UK_ARRAY_SIZE(none); i++)
		assert_null(uk_image_profile_for(none[i]));
	assert_null(uk_image_profile_for(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_superblock),   cmocka_unit_test(test_apt_mirror),
		cmocka_unit_test(test_codename),     cmocka_unit_test(test_suite_and_packages),
		cmocka_unit_test(test_fstab_shadow), cmocka_unit_test(test_hash),
		cmocka_unit_test(test_profile_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
