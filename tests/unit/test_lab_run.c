// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/lab's runtime, the parts that need no guest: the names a lab's switches and guests
 * get (within the switch and guest name limits, apart for two labs, a hash for a long or
 * odd domain), the default of machines started at once, and lab.ext: the tap and VLAN of
 * a domain it names, its checks before anything is made (root only, the host interface
 * must exist).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "umlkit/guest.h"
#include "umlkit/lab.h"
#include "umlkit/switch.h"
#include "../../lib/lab/run-internal.h"

static struct uk_lab *lab_at(const char *dir)
{
	struct uk_lab *lab = uk_lab_new(dir);

	assert_non_null(lab);
	assert_int_equal(strlen(lab->id), 16);
	return lab;
}

static void test_switch_names(void **state)
{
	struct uk_lab *a = lab_at("/labs/one"), *b = lab_at("/labs/two");
	char na[64], nb[64], l1[64], l2[64];

	(void)state;
	uk_lab_switch_name(a, "A", na, sizeof(na));
	uk_lab_switch_name(b, "A", nb, sizeof(nb));
	assert_string_not_equal(na, nb); /* two labs' domains A never meet */
	assert_int_equal(uk_switch_name_check(na, NULL), 0);
	assert_int_equal(strncmp(na, "lab", 3), 0);
	assert_string_equal(na + 15, ".A");
	/* a domain the name cannot hold as it is: a hash, still a valid switch name, and
	 * different from the one of a domain that shares its first characters */
	uk_lab_switch_name(a, "a_very_long_collision_domain_1", l1, sizeof(l1));
	uk_lab_switch_name(a, "a_very_long_collision_domain_2", l2, sizeof(l2));
	assert_int_equal(uk_switch_name_check(l1, NULL), 0);
	assert_string_not_equal(l1, l2);
	assert_int_equal(l1[15], '_');
	uk_lab_switch_name(a, "\"A\"", l1, sizeof(l1)); /* Netkit keeps quotes in a name */
	assert_int_equal(uk_switch_name_check(l1, NULL), 0);
	assert_string_not_equal(l1, na);
	uk_lab_free(a);
	uk_lab_free(b);
}

static void test_guest_names(void **state)
{
	struct uk_lab *a = lab_at("/labs/one"), *b = lab_at("/labs/two");
	char ga[UK_GUEST_NAME_MAX + 1], gb[UK_GUEST_NAME_MAX + 1];
	char longest[UK_LAB_MACHINE_MAX + 1];

	(void)state;
	uk_lab_guest_name(a, "pc1", ga, sizeof(ga));
	uk_lab_guest_name(b, "pc1", gb, sizeof(gb));
	assert_string_not_equal(ga, gb);
	assert_string_equal(ga + 15, ".pc1");
	memset(longest, 'm', UK_LAB_MACHINE_MAX);
	longest[UK_LAB_MACHINE_MAX] = '\0';
	uk_lab_guest_name(a, longest, ga, sizeof(ga));
	assert_int_equal(uk_guest_name_check(ga, NULL), 0);
	assert_int_equal(strlen(ga), 3 + 12 + 1 + UK_LAB_MACHINE_MAX);
	uk_lab_free(a);
	uk_lab_free(b);
}

static void test_parallel_default(void **state)
{
	(void)state;
	assert_in_range(uk_lab_parallel_default(0), 1, 8);
	assert_in_range(uk_lab_parallel_default(128), 1, 8);
	/* machines larger than any host's memory: still one at a time */
	assert_int_equal(uk_lab_parallel_default(1L << 40), 1);
}

/* lab.ext: the tap and VLAN a domain gets; checked before anything is made: root only, the
 * interface */
static void test_ext_check(void **state)
{
	struct uk_lab *lab = lab_at("/labs/ext");
	struct uk_lab_ext e[2] = {{.cd = "A", .ifname = "lo", .vlan = 0, .line = 1},
				  {.cd = "B", .ifname = "lo", .vlan = 10, .line = 2}};
	struct uk_err err = {0};
	char tap[16], tap_b[16];
	int vlan = -1;

	(void)state;
	assert_int_equal(uk_lab_ext_check(lab, &err), 0); /* no lab.ext: nothing to check */
	lab->ext = e;
	lab->n_ext = 2;
	assert_true(uk_lab_ext_tap(lab, "A", tap, &vlan));
	assert_int_equal(vlan, 0);
	assert_int_equal(strncmp(tap, "ukt", 3), 0);
	assert_int_equal(strlen(tap), 13);
	assert_true(uk_lab_ext_tap(lab, "B", tap_b, &vlan));
	assert_int_equal(vlan, 10);
	assert_string_not_equal(tap, tap_b);
	assert_false(uk_lab_ext_tap(lab, "C", tap, &vlan));
	if (geteuid() == 0) {
		assert_int_equal(uk_lab_ext_check(lab, &err), 0);
		snprintf(e[1].ifname, sizeof(e[1].ifname), "nosuchif0");
		assert_int_equal(uk_lab_ext_check(lab, &err), -ENODEV);
		assert_non_null(strstr(err.msg, "lab.ext:2: no host interface 'nosuchif0'"));
		assert_int_equal(seteuid(65534), 0); /* as another user: refused first */
	}
	assert_int_equal(uk_lab_ext_check(lab, &err), -EPERM);
	assert_non_null(strstr(err.msg, "lab.ext joins collision domains to host interfaces: only "
					"root may"));
	if (getuid() == 0)
		assert_int_equal(seteuid(0), 0);
	lab->ext = NULL;
	lab->n_ext = 0;
	uk_lab_free(lab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_switch_names),
		cmocka_unit_test(test_guest_names),
		cmocka_unit_test(test_parallel_default),
		cmocka_unit_test(test_ext_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
