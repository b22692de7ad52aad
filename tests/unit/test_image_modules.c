// SPDX-License-Identifier: LGPL-2.1-or-later
/* lib/image/modules.c: the kernel's version read from its banner. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "umlkit/image.h"

static int version_of(const char *text, char *out, size_t outlen)
{
	return uk_rootfs_kernel_version(text, strlen(text), out, outlen);
}

static void test_banner(void **state)
{
	static const char bin[] = "\x7f"
				  "ELF\0\0junk Linux version %s (%s)\0"
				  "Linux version 6.1.176 (buildd@x86-grnet-03) (gcc) #1\0";
	char v[32];

	(void)state;
	/* the format string (no version after it) is skipped, the banner found */
	assert_int_equal(uk_rootfs_kernel_version(bin, sizeof(bin) - 1, v, sizeof(v)), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_banner),
		cmocka_unit_test(test_no_banner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
