// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/guest/cgroup.c: /proc/self/cgroup and /proc/self/mountinfo read on v1, v2 and hybrid
 * hosts, each controller placed where this process's own cgroup is (through a mount's root),
 * the limits a spec asks for, and the options' checks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "umlkit/guest.h"
#include "../../lib/guest/cgroup-internal.h"

/* This machine: memory, pids and cpu on v1, an empty unified hierarchy beside them. */
static const char hybrid_self[] = "9:name=systemd:/\n"
				  "8:pids:/\n"
				  "4:memory:/process_api/791d\n"
				  "2:cpuacct:/\n"
				  "1:cpu:/\n"
				  "0::/\n";
static const char hybrid_mounts[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

/* A systemd host of today: the unified hierarchy alone. */
static const char v2_self[] = "0::/user.slice/user-1000.slice/session-2.scope\n";
static const char v2_mounts[] =
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 "
	"cgroup2 rw,nsdelegate,memory_recursiveprot\n";

/* An older v1 host: cpu and cpuacct mounted together, the mount point escaped. */
static const char v1_self[] = "5:memory:/lxc/web\n"
			      "3:cpu,cpuacct:/lxc/web\n"
			      "2:pids:/lxc/web\n"
			      "1:name=systemd:/lxc/web\n";
static const char v1_mounts[] =
	"40 31 0:33 / /sys/fs/cgroup/cpu,cpuacct rw shared:15 - cgroup cgroup "
	"rw,cpu,cpuacct\n"
	"41 31 0:34 /lxc /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,memory\n"
	"42 31 0:35 /other /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";

static void parse(const char *self, const char *mounts, struct uk_cg_place *pl)
{
	struct uk_cg_self s;
	struct uk_cg_mounts m;
	struct uk_err err = {0};

	assert_int_equal(uk_cg_parse_self(self, strlen(self), &s, &err), 0);
	assert_int_equal(uk_cg_parse_mountinfo(mounts, strlen(mounts), &m, &err), 0);
	uk_cg_place(&s, &m, pl);
}

static void test_hybrid(void **state)
{
	struct uk_cg_place pl;
	struct uk_cg_self s;
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(uk_cg_parse_self(hybrid_self, strlen(hybrid_self), &s, &err), 0);
	assert_string_equal(s.v1[UK_CG_MEMORY], "/process_api/791d");
	assert_string_equal(s.v1[UK_CG_PIDS], "/");
	assert_string_equal(s.v1[UK_CG_CPU], "/"); /* not cpuacct's line */
	assert_string_equal(s.v2, "/");
	parse(hybrid_self, hybrid_mounts, &pl);
	assert_int_equal(pl.version[UK_CG_MEMORY], 1);
	assert_string_equal(pl.dir[UK_CG_MEMORY], "/sys/fs/cgroup/memory/process_api/791d");
	assert_int_equal(pl.version[UK_CG_PIDS], 1);
	assert_string_equal(pl.dir[UK_CG_PIDS], "/sys/fs/cgroup/pids");
	assert_int_equal(pl.version[UK_CG_CPU], 1);
	assert_string_equal(pl.dir[UK_CG_CPU], "/sys/fs/cgroup/cpu");
}

static void test_v2(void **state)
{
	struct uk_cg_place pl;

	(void)state;
	parse(v2_self, v2_mounts, &pl);
	for (int i = 0; i < UK_CG_NCTRL; i++) {
		assert_int_equal(pl.version[i], 2);
		assert_string_equal(pl.dir[i],
				    "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope");
	}
}

static void test_v1_roots(void **state)
{
	struct uk_cg_place pl;

	(void)state;
	parse(v1_self, v1_mounts, &pl);
	/* cpu of "cpu,cpuacct"; a mount of the hierarchy's root */
	assert_int_equal(pl.version[UK_CG_CPU], 1);
	assert_string_equal(pl.dir[UK_CG_CPU], "/sys/fs/cgroup/cpu,cpuacct/lxc/web");
	/* a mount of /lxc: its point shows /lxc/web as /web; the point unescaped */
	assert_int_equal(pl.version[UK_CG_MEMORY], 1);
	assert_string_equal(pl.dir[UK_CG_MEMORY], "/sys/fs/cgroup/mem ory/web");
	/* a mount of another part of the hierarchy does not show ours: nowhere, said why */
	assert_int_equal(pl.version[UK_CG_PIDS], 0);
	assert_non_null(strstr(pl.why[UK_CG_PIDS], "pids"));
}

static void test_nothing_mounted(void **state)
{
	struct uk_cg_place pl;

	(void)state;
	parse(hybrid_self, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n", &pl);
	for (int i = 0; i < UK_CG_NCTRL; i++) {
		assert_int_equal(pl.version[i], 0);
		assert_true(pl.why[i][0] != '\0');
	}
	/* no v1 hierarchy at all: each on the unified one */
	parse("0::/a\n", "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n", &pl);
	for (int i = 0; i < UK_CG_NCTRL; i++) {
		assert_int_equal(pl.version[i], 2);
		assert_string_equal(pl.dir[i], "/sys/fs/cgroup/unified/a");
	}
}

static void test_bad_input(void **state)
{
	struct uk_cg_self s;
	struct uk_cg_mounts m;
	struct uk_err err = {0};
	const char *bad_self[] = {"4:memory\n", "4:memory:relative\n", "garbage\n"};
	const char *bad_mounts[] = {"31 23 0:28 / /x rw tmpfs tmpfs rw\n", "31 23 - cgroup\n"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_self) / sizeof(bad_self[0]); i++) {
		assert_int_equal(uk_cg_parse_self(bad_self[i], strlen(bad_self[i]), &s, &err),
				 -EINVAL);
		assert_non_null(strstr(err.msg, "/proc/self/cgroup"));
	}
	for (size_t i = 0; i < sizeof(bad_mounts) / sizeof(bad_mounts[0]); i++) {
		assert_int_equal(
			uk_cg_parse_mountinfo(bad_mounts[i], strlen(bad_mounts[i]), &m, &err),
			-EINVAL);
		assert_non_null(strstr(err.msg, "/proc/self/mountinfo"));
	}
	/* no NUL needed at the end, an empty input is no cgroup at all */
	assert_int_equal(uk_cg_parse_self("0::/x", 5, &s, &err), 0);
	assert_string_equal(s.v2, "/x");
	assert_int_equal(uk_cg_parse_self("", 0, &s, &err), 0);
	assert_string_equal(s.v2, "");
}

static void test_limits(void **state)
{
	struct uk_guest_spec s;

	(void)state;
	uk_guest_spec_init(&s);
	s.mem = 256ULL << 20;
	assert_int_equal(uk_cg_pids_max(&s), 64 + 512);
	assert_int_equal(uk_cg_mem_limit(&s),
			 (256ULL << 20) + (16ULL << 20) + 576 * (128ULL << 10));
	s.pids_max = 100;
	assert_int_equal(uk_cg_pids_max(&s), 100);
	assert_int_equal(uk_cg_mem_limit(&s),
			 (256ULL << 20) + (16ULL << 20) + 100 * (128ULL << 10));
	s.mem_limit = 96ULL << 20;
	assert_int_equal(uk_cg_mem_limit(&s), 96ULL << 20);
}

static void test_options(void **state)
{
	struct uk_guest_spec s;
	struct uk_err err = {0};
	const char *bad_cpus[] = {"", "0", "0.0", "1.", ".5", "1.234", "-1", "1e3", "2000", "0.5x"};

	(void)state;
	uk_guest_spec_init(&s);
	assert_int_equal(uk_guest_spec_set_cpu_quota(&s, "0.5", &err), 0);
	assert_int_equal(s.cpus_centi, 50);
	assert_int_equal(uk_guest_spec_set_cpu_quota(&s, "0.05", &err), 0);
	assert_int_equal(s.cpus_centi, 5);
	assert_int_equal(uk_guest_spec_set_cpu_quota(&s, "2", &err), 0);
	assert_int_equal(s.cpus_centi, 200);
	for (size_t i = 0; i < sizeof(bad_cpus) / sizeof(bad_cpus[0]); i++) {
		assert_int_equal(uk_guest_spec_set_cpu_quota(&s, bad_cpus[i], &err), -EINVAL);
		assert_non_null(strstr(err.msg, "--cpus"));
	}
	assert_int_equal(s.cpus_centi, 200); /* unchanged by the refusals */
	assert_int_equal(uk_guest_spec_set_pids_max(&s, "64", &err), 0);
	assert_int_equal(s.pids_max, 64);
	assert_int_equal(uk_guest_spec_set_pids_max(&s, "15", &err), -EINVAL);
	assert_int_equal(uk_guest_spec_set_pids_max(&s, "x", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--pids-max x"));
	assert_int_equal(uk_guest_spec_set_mem_limit(&s, "96M", &err), 0);
	assert_int_equal(s.mem_limit, 96ULL << 20);
	assert_int_equal(uk_guest_spec_set_mem_limit(&s, "1M", &err), -EINVAL);
	assert_int_equal(uk_guest_spec_set_mem_limit(&s, "lots", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--mem-limit lots"));
	assert_int_equal(s.mem_limit, 96ULL << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hybrid),	  cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v1_roots),  cmocka_unit_test(test_nothing_mounted),
		cmocka_unit_test(test_bad_input), cmocka_unit_test(test_limits),
		cmocka_unit_test(test_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
