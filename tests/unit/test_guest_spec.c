// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/guest/spec.c: guest names, --disk, --net and --mem parsing, and the kernel's argv the
 * launcher builds from a spec; lib/guest/user.c: --user parsing; lib/guest/cpu.c: --cpu-affinity
 * and auto's choice of a CPU.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "umlkit/guest.h"

/* The spec is large (two PATH_MAX names per disk): keep it off the stack. */
static struct uk_guest_spec *new_spec(void)
{
	static struct uk_guest_spec spec;

	uk_guest_spec_init(&spec);
	return &spec;
}

/* A string of n copies of c. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* arg must be refused with -code and a message holding want; the spec is left as it was. */
static void disk_bad(struct uk_guest_spec *s, const char *arg, int code, const char *want)
{
	struct uk_err err = {0};
	int before = s->ndisks;

	assert_int_equal(uk_guest_spec_add_disk(s, arg, &err), -code);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, want))
		fail_msg("--disk %s: message '%s' lacks '%s'", arg, err.msg, want);
	assert_int_equal(s->ndisks, before);
}

static void net_bad(struct uk_guest_spec *s, const char *arg, int code, const char *want)
{
	struct uk_err err = {0};
	int before = s->nnets;

	assert_int_equal(uk_guest_spec_add_net(s, arg, &err), -code);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, want))
		fail_msg("--net %s: message '%s' lacks '%s'", arg, err.msg, want);
	assert_int_equal(s->nnets, before);
}

static void name_bad(const char *name, const char *want)
{
	struct uk_err err = {0};

	assert_int_equal(uk_guest_name_check(name, &err), -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("name '%s': message '%s' lacks '%s'", name, err.msg, want);
	assert_int_equal(uk_guest_name_check(name, NULL), -EINVAL);
}

/* ---- names ---- */

static void test_name(void **state)
{
	static const char *const good[] = {"web", "w",	"Web_1.2-3", "9",     "_a",
					   "a.",  "a-", "a..b",	     "x-y_z", "UPPER"};
	char *n63 = repeat('n', 63), *n64 = repeat('n', 64);

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (uk_guest_name_check(good[i], NULL) != 0)
			fail_msg("name '%s' refused", good[i]);
	assert_int_equal(uk_guest_name_check(n63, NULL), 0);
	name_bad(n64, "longer than 63");
	name_bad("", "empty");
	name_bad("a/b", "character '/' is not allowed");
	name_bad("/", "'/'");
	name_bad(".hidden", "may not start with '.'");
	name_bad(".", "may not start with '.'");
	name_bad("..", "may not start with '.'");
	name_bad("-x", "may not start with '-'");
	name_bad("a b", "character ' '");
	name_bad("a:b", "character ':'");
	name_bad("a,b", "character ','");
	name_bad("a=b", "character '='");
	name_bad("a@b", "character '@'");
	name_bad("a\tb", "is not allowed");
	name_bad("caf\xc3\xa9", "is not allowed");
	free(n63);
	free(n64);
}

/* ---- disks ---- */

static void test_disk_cow_and_image(void **state)
{
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(uk_guest_spec_add_disk(s, "web.cow,debian.img", &err), 0);
	assert_int_equal(s->ndisks, 1);
	assert_int_equal(s->disks[0].unit, 0);
	assert_string_equal(s->disks[0].flags, "");
	assert_string_equal(s->disks[0].file, "web.cow");
	assert_string_equal(s->disks[0].backing, "debian.img");

	assert_int_equal(uk_guest_spec_add_disk(s, "/srv/data.img", &err), 0);
	assert_int_equal(s->ndisks, 2);
	assert_int_equal(s->disks[1].unit, 1);
	assert_string_equal(s->disks[1].file, "/srv/data.img");
	assert_string_equal(s->disks[1].backing, "");

	/* '=' in a name without the ubd prefix is part of the name */
	assert_int_equal(uk_guest_spec_add_disk(s, "/srv/a=b.img", &err), 0);
	assert_string_equal(s->disks[2].file, "/srv/a=b.img");
	assert_int_equal(s->disks[2].unit, 2);
}

static void test_disk_units(void **state)
{
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(uk_guest_spec_add_disk(s, "ubd3=x.img", &err), 0);
	assert_int_equal(s->disks[0].unit, 3);
	assert_string_equal(s->disks[0].file, "x.img");
	assert_int_equal(uk_guest_spec_add_disk(s, "ubdc=y.cow,base.img", &err), 0);
	assert_int_equal(s->disks[1].unit, 2);
	assert_string_equal(s->disks[1].file, "y.cow");
	assert_string_equal(s->disks[1].backing, "base.img");
	assert_int_equal(uk_guest_spec_add_disk(s, "ubd1rs=z.img", &err), 0);
	assert_int_equal(s->disks[2].unit, 1);
	assert_string_equal(s->disks[2].flags, "rs");
	assert_string_equal(s->disks[2].file, "z.img");
	/* omitted: the lowest free unit, skipping 1, 2 and 3 */
	assert_int_equal(uk_guest_spec_add_disk(s, "a.img", &err), 0);
	assert_int_equal(s->disks[3].unit, 0);
	assert_int_equal(uk_guest_spec_add_disk(s, "b.img", &err), 0);
	assert_int_equal(s->disks[4].unit, 4);
	assert_int_equal(uk_guest_spec_add_disk(s, "ubdp=p.img", &err), 0);
	assert_int_equal(s->disks[5].unit, 15);
	assert_int_equal(uk_guest_spec_add_disk(s, "ubd14tcdsr=q.img", &err), 0);
	assert_int_equal(s->disks[6].unit, 14);
	assert_string_equal(s->disks[6].flags, "tcdsr");
	assert_int_equal(uk_guest_spec_add_disk(s, "ubd5=", &err), -EINVAL);
	assert_int_equal(s->ndisks, 7);

	/* a unit given twice, explicitly or taken in order before */
	disk_bad(s, "ubd3=again.img", EINVAL, "ubd3 is given twice");
	disk_bad(s, "ubdd=again.img", EINVAL, "ubd3 is given twice");
	disk_bad(s, "ubd0=again.img", EINVAL, "ubd0 is given twice");

	/* out of range or not a unit */
	disk_bad(s, "ubd16=x.img", EINVAL, "device number must be 0..15");
	disk_bad(s, "ubd99=x.img", EINVAL, "device number must be 0..15");
	disk_bad(s, "ubdq=x.img", EINVAL, "device number must be 0..15");
	disk_bad(s, "ubd=x.img", EINVAL, "device number must be 0..15");
	disk_bad(s, "ubd-1=x.img", EINVAL, "device number must be 0..15");
	disk_bad(s, "ubdC=x.img", EINVAL, "device number must be 0..15");
}

static void test_disk_in_order(void **state)
{
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(uk_guest_spec_add_disk(s, "ubd1=one.img", &err), 0);
	assert_int_equal(uk_guest_spec_add_disk(s, "zero.img", &err), 0);
	assert_int_equal(uk_guest_spec_add_disk(s, "two.img", &err), 0);
	assert_int_equal(s->disks[1].unit, 0);
	assert_int_equal(s->disks[2].unit, 2);
	/* taken in order, then given: the unit is taken */
	disk_bad(s, "ubd2=again.img", EINVAL, "ubd2 is given twice");
	disk_bad(s, "ubdb=again.img", EINVAL, "ubd1 is given twice");
}

static void test_disk_flags(void **state)
{
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};

	(void)state;
	disk_bad(s, "ubd0x=a.img", EINVAL, "flags must be among r, s, d, c, t");
	disk_bad(s, "ubd0R=a.img", EINVAL, "flags must be among");
	disk_bad(s, "ubd0r s=a.img", EINVAL, "flags must be among");
	disk_bad(s, "ubdaw=a.img", EINVAL, "flags must be among");
	disk_bad(s, "ubd0rsdctrsd=a.img", EINVAL, "flags must be among");
	/* the kernel takes at most 6 flag letters ("Too many flags specified" beyond) */
	assert_int_equal(uk_guest_spec_add_disk(s, "ubd0rsdctr=a.img", &err), 0);
	assert_string_equal(s->disks[0].flags, "rsdctr");
	disk_bad(s, "ubd1rrrrrrr=b.img", EINVAL, "flags");

	/* 'd' (no COW detection) cannot go with a COW, only with an image */
	disk_bad(s, "ubd1d=web.cow,base.img", EINVAL, "flag 'd' cannot take a COW");
	disk_bad(s, "ubd1rd=web.cow,base.img", EINVAL, "flag 'd' cannot take a COW");
	assert_int_equal(uk_guest_spec_add_disk(s, "ubd1d=raw.cow", &err), 0);
	assert_string_equal(s->disks[1].flags, "d");
	assert_string_equal(s->disks[1].backing, "");
}

static void test_disk_bad_names(void **state)
{
	struct uk_guest_spec *s = new_spec();
	char *longname = repeat('a', PATH_MAX);

	(void)state;
	disk_bad(s, "a,b.cow,base.img", EINVAL, "contains ','");
	disk_bad(s, "a.cow,b,c.img", EINVAL, "contains ','");
	disk_bad(s, "a:b.img", EINVAL, "contains ',' or ':'");
	disk_bad(s, "a.cow:b.img", EINVAL, "contains ',' or ':'");
	disk_bad(s, "a.cow,b:c.img", EINVAL, "contains ',' or ':'");
	disk_bad(s, "ubd2=x:y.img", EINVAL, "contains ',' or ':'");
	disk_bad(s, "", EINVAL, "empty file name");
	disk_bad(s, "ubd0=", EINVAL, "empty file name");
	disk_bad(s, "ubd0r=", EINVAL, "empty file name");
	disk_bad(s, ",base.img", EINVAL, "empty file name");
	disk_bad(s, "a.cow,", EINVAL, "empty file name");
	disk_bad(s, ",", EINVAL, "empty file name");
	assert_int_equal(s->ndisks, 0);
	disk_bad(s, longname, ENAMETOOLONG, "too long");
	free(longname);
}

static void test_disk_too_many(void **state)
{
	struct uk_guest_spec *s = new_spec();
	char arg[32];

	(void)state;
	for (int i = 0; i < UK_GUEST_DISKS; i++) {
		snprintf(arg, sizeof(arg), "d%d.img", i);
		assert_int_equal(uk_guest_spec_add_disk(s, arg, NULL), 0);
		assert_int_equal(s->disks[i].unit, i);
	}
	assert_int_equal(s->ndisks, 16);
	disk_bad(s, "d16.img", E2BIG, "at most 16 disks");
	disk_bad(s, "ubd0=again.img", E2BIG, "at most 16 disks");
}

/* ---- network ---- */

static void test_net_kinds(void **state)
{
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};
	char *bess107 = repeat('s', 107);

	(void)state;
	assert_int_equal(uk_guest_spec_add_net(s, "tap:uml-conn0", &err), 0);
	assert_int_equal(s->nets[0].kind, UK_NET_TAP);
	assert_string_equal(s->nets[0].target, "uml-conn0");
	assert_string_equal(s->nets[0].mac, "");
	assert_int_equal(uk_guest_spec_add_net(s, "fd:5", &err), 0);
	assert_int_equal(s->nets[1].kind, UK_NET_FD);
	assert_string_equal(s->nets[1].target, "5");
	assert_int_equal(uk_guest_spec_add_net(s, "fd:3", &err), 0);
	assert_int_equal(uk_guest_spec_add_net(s, "fd:65535", &err), 0);
	assert_int_equal(uk_guest_spec_add_net(s, "bess:/tmp/sw.sock", &err), 0);
	assert_int_equal(s->nets[4].kind, UK_NET_BESS);
	assert_string_equal(s->nets[4].target, "/tmp/sw.sock");
	bess107[0] = '/';
	{
		char arg[200];

		snprintf(arg, sizeof(arg), "bess:%s", bess107);
		assert_int_equal(uk_guest_spec_add_net(s, arg, &err), 0);
		assert_string_equal(s->nets[5].target, bess107);
	}
	assert_int_equal(uk_guest_spec_add_net(s, "legacy-tuntap:tap0", &err), 0);
	assert_int_equal(s->nets[6].kind, UK_NET_LEGACY_TUNTAP);
	assert_string_equal(s->nets[6].target, "tap0");
	assert_int_equal(uk_guest_spec_add_net(s, "tap:abcdefghijklmno", &err), 0); /* 15 */
	assert_string_equal(s->nets[7].target, "abcdefghijklmno");
	assert_int_equal(uk_guest_spec_add_net(s, "legacy-tuntap:abcdefghijklmno", &err), 0);
	assert_int_equal(s->nnets, 9);
	free(bess107);
}

static void test_net_mac(void **state)
{
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(uk_guest_spec_add_net(s, "tap:uml-conn0,mac=02:00:00:00:00:01", &err), 0);
	assert_string_equal(s->nets[0].target, "uml-conn0");
	assert_string_equal(s->nets[0].mac, "02:00:00:00:00:01");
	assert_int_equal(uk_guest_spec_add_net(s, "fd:7,mac=fe:AB:cd:EF:01:23", &err), 0);
	assert_string_equal(s->nets[1].target, "7");
	assert_string_equal(s->nets[1].mac, "fe:AB:cd:EF:01:23");
	assert_int_equal(uk_guest_spec_add_net(s, "bess:/run/sw,mac=00:16:3e:00:00:00", &err), 0);
	assert_int_equal(uk_guest_spec_add_net(s, "legacy-tuntap:tap0,mac=0a:00:00:00:00:ff", &err),
			 0);
	assert_string_equal(s->nets[3].mac, "0a:00:00:00:00:ff");
	assert_int_equal(s->nnets, 4);

	/* multicast (the low bit of the first byte), broadcast included */
	net_bad(s, "tap:t0,mac=01:00:5e:00:00:01", EINVAL, "is multicast");
	net_bad(s, "tap:t0,mac=03:00:00:00:00:01", EINVAL, "is multicast");
	net_bad(s, "fd:5,mac=ff:ff:ff:ff:ff:ff", EINVAL, "is multicast");
	/* malformed */
	net_bad(s, "tap:t0,mac=", EINVAL, "want ,KEY=VALUE");
	net_bad(s, "tap:t0,mac=02:00:00:00:00", EINVAL, "bad MAC address");
	net_bad(s, "tap:t0,mac=02:00:00:00:00:01:02", EINVAL, "bad MAC address");
	net_bad(s, "tap:t0,mac=02:00:00:00:00:001", EINVAL, "bad MAC address");
	net_bad(s, "tap:t0,mac=02:00:00:00:00:0g", EINVAL, "bad MAC address");
	net_bad(s, "tap:t0,mac=02-00-00-00-00-01", EINVAL, "bad MAC address");
	net_bad(s, "tap:t0,mac=020000000001", EINVAL, "bad MAC address");
	net_bad(s, "tap:t0,mac=02:00:00:00:00:01,", EINVAL, "want ,KEY=VALUE");
	net_bad(s, "tap:t0,mac=02:00:00:00:00:01,mtu=9000", EINVAL, "unknown option 'mtu'");
	net_bad(s, "tap:t0,mac=2:0:0:0:0:1", EINVAL, "bad MAC address");
	net_bad(s, "tap:t0,mac= 2:00:00:00:00:01", EINVAL, "bad MAC address");
	net_bad(s, "tap:t0,mac=+2:00:00:00:00:01", EINVAL, "bad MAC address");
	net_bad(s, "tap:t0,mac=02:00:00:00:00:+1", EINVAL, "bad MAC address");
	net_bad(s, "tap:t0,mac=0x:00:00:00:00:01", EINVAL, "bad MAC address");
	/* an option other than mac= */
	net_bad(s, "tap:t0,mtu=9000", EINVAL, "unknown option 'mtu'");
	net_bad(s, "tap:t0,", EINVAL, "want ,KEY=VALUE");
	net_bad(s, "tap:t0,MAC=02:00:00:00:00:01", EINVAL, "unknown option");
	assert_int_equal(s->nnets, 4);
}

/* switch:NAME with ,vlan=N (an access port's VLAN, a trunk's native one), ,mac= and ,trunk */
static void test_net_switch(void **state)
{
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(uk_guest_spec_add_net(s, "switch:lan", &err), 0);
	assert_int_equal(s->nets[0].kind, UK_NET_SWITCH);
	assert_string_equal(s->nets[0].target, "lan");
	assert_int_equal(s->nets[0].vlan, 0);
	assert_false(s->nets[0].trunk);
	assert_int_equal(uk_guest_spec_add_net(s, "switch:lan,vlan=10", &err), 0);
	assert_int_equal(s->nets[1].vlan, 10);
	assert_false(s->nets[1].trunk);
	assert_int_equal(uk_guest_spec_add_net(s, "switch:lan,trunk", &err), 0);
	assert_int_equal(s->nets[2].vlan, 0);
	assert_true(s->nets[2].trunk);
	assert_int_equal(
		uk_guest_spec_add_net(s, "switch:lan,vlan=4094,trunk,mac=02:00:00:00:00:07", &err),
		0);
	assert_string_equal(s->nets[3].target, "lan");
	assert_int_equal(s->nets[3].vlan, 4094);
	assert_true(s->nets[3].trunk);
	assert_string_equal(s->nets[3].mac, "02:00:00:00:00:07");
	assert_int_equal(uk_guest_spec_add_net(s, "switch:lan,trunk,vlan=1", &err), 0);
	assert_int_equal(s->nets[4].vlan, 1);
	assert_true(s->nets[4].trunk);
	assert_int_equal(s->nnets, 5);

	net_bad(s, "switch:lan,vlan=0", EINVAL, "vlan must be 1..4094");
	net_bad(s, "switch:lan,vlan=4095,trunk", EINVAL, "vlan must be 1..4094");
	net_bad(s, "switch:lan,trunk=1", EINVAL,
		"unknown option 'trunk=1' (mac=, vlan=, trunk, forward=)");
	net_bad(s, "switch:lan,Trunk", EINVAL, "unknown option 'Trunk'");
	net_bad(s, "switch:lan,trunks", EINVAL, "unknown option 'trunks'");
	net_bad(s, "tap:t0,trunk", EINVAL, "tap:t0,trunk");
	assert_int_equal(s->nnets, 5);
}

/* switch:NAME,forward=SPEC (repeatable): to the guest's address on that link, whatever it is */
static void test_net_switch_forward(void **state)
{
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};
	char arg[512];

	(void)state;
	assert_int_equal(uk_guest_spec_add_net(s, "switch:lan,forward=tcp:8080:80", &err), 0);
	assert_int_equal(s->nets[0].nforwards, 1);
	assert_string_equal(s->nets[0].forwards[0], "tcp:8080:80");
	assert_int_equal(uk_guest_spec_add_net(s,
					       "switch:lan,vlan=5,forward=udp:0.0.0.0:5353:53,"
					       "forward=tcp:127.0.0.2:2222:22",
					       &err),
			 0);
	assert_int_equal(s->nets[1].vlan, 5);
	assert_int_equal(s->nets[1].nforwards, 2);
	assert_string_equal(s->nets[1].forwards[0], "udp:0.0.0.0:5353:53");
	assert_string_equal(s->nets[1].forwards[1], "tcp:127.0.0.2:2222:22");
	assert_int_equal(s->nnets, 2);

	/* the spec's own errors, each naming the --net and the forward */
	net_bad(s, "switch:lan,forward=tcp:8080", EINVAL,
		"--net switch:lan,forward=tcp:8080: forward 'tcp:8080': expected "
		"tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT");
	net_bad(s, "switch:lan,forward=tcp:8080:10.0.2.15:80", EINVAL,
		"a guest's forward takes no guest address");
	net_bad(s, "switch:lan,forward=tcp:70000:80", EINVAL,
		"host port '70000' is not a number from 1 to 65535");
	net_bad(s, "switch:lan,forward=tcp:8080:0", EINVAL,
		"guest port '0' is not a number from 1 to 65535");
	net_bad(s, "switch:lan,forward=icmp:8080:80", EINVAL, "protocol 'icmp' is not tcp or udp");
	net_bad(s, "switch:lan,forward=tcp:lo:8080:80", EINVAL,
		"host address 'lo' is not an IPv4 address");
	net_bad(s, "switch:lan,forward=", EINVAL, "forward: empty");
	net_bad(s, "switch:lan,forward=tcp:0000000000000000000000000000000000000008080:80", EINVAL,
		"forward longer than 47");
	net_bad(s, "tap:t0,forward=tcp:8080:80", EINVAL, "unknown option 'forward'");
	net_bad(s, "bridge:br0,forward=tcp:8080:80", EINVAL, "unknown option 'forward'");
	/* at most 8 on a link */
	snprintf(arg, sizeof(arg), "switch:lan");
	for (int i = 0; i < 9; i++)
		snprintf(arg + strlen(arg), sizeof(arg) - strlen(arg), ",forward=tcp:%d:80",
			 9000 + i);
	net_bad(s, arg, E2BIG, "at most 8 forwards");
	assert_int_equal(s->nnets, 2);
}

/* A switch link gets a stable MAC made from the guest's name and the link's number (its
 * DHCP lease, by MAC, is then the same at each boot); a given one stays. */
static void test_net_switch_mac(void **state)
{
	struct uk_guest_spec *s = new_spec();
	char a[18], b[18], c[18];

	(void)state;
	snprintf(s->name, sizeof(s->name), "web");
	assert_int_equal(uk_guest_spec_add_net(s, "switch:lan", NULL), 0);
	assert_int_equal(uk_guest_spec_add_net(s, "switch:lan", NULL), 0);
	assert_int_equal(uk_guest_spec_add_net(s, "switch:lan,mac=02:00:00:00:00:09", NULL), 0);
	assert_int_equal(uk_guest_spec_add_net(s, "fd:5", NULL), 0);
	uk_guest_net_mac(s, 0, a);
	uk_guest_net_mac(s, 1, b);
	assert_int_equal(strncmp(a, "02:75:6b:", 9), 0);
	assert_int_equal(strlen(a), 17);
	assert_string_not_equal(a, b);
	uk_guest_net_mac(s, 0, c);
	assert_string_equal(a, c);
	uk_guest_net_mac(s, 2, c);
	assert_string_equal(c, "02:00:00:00:00:09");
	uk_guest_net_mac(s, 3, c);
	assert_string_equal(c, ""); /* an fd link: the kernel picks one */
	snprintf(s->name, sizeof(s->name), "db");
	uk_guest_net_mac(s, 0, c);
	assert_string_not_equal(a, c);
}

/* umlkit.ip= in --append: the static address of link i (vecN or ethN), or dhcp */
static void test_net_static_ip(void **state)
{
	struct uk_guest_spec *s = new_spec();
	char addr[16];
	int prefix;
	bool dhcp;

	(void)state;
	snprintf(s->append, sizeof(s->append),
		 "umlkit.hostname=web umlkit.ip=vec0,10.0.2.50/24,10.0.2.2 umlkit.ip=eth1,dhcp "
		 "umlkit.ip=vec2,192.168.1.7/16 umlkit.ip=vec0,10.0.2.51/24 umlkit.ip=vec3,bad "
		 "umlkit.ip=vec4,10.0.0.1 umlkit.ip=vec5,10.0.0.1/33 xumlkit.ip=vec6,10.0.0.6/8 "
		 "umlkit.ip=vec10,10.0.0.10/8");
	assert_int_equal(uk_guest_net_static_ip(s, 0, addr, &prefix, &dhcp), 1);
	assert_string_equal(addr, "10.0.2.50"); /* the first */
	assert_int_equal(prefix, 24);
	assert_false(dhcp);
	assert_int_equal(uk_guest_net_static_ip(s, 1, addr, &prefix, &dhcp), 0);
	assert_string_equal(addr, "");
	assert_int_equal(prefix, -1);
	assert_true(dhcp);
	assert_int_equal(uk_guest_net_static_ip(s, 2, addr, NULL, NULL), 1);
	assert_string_equal(addr, "192.168.1.7");
	for (int i = 3; i <= 7; i++) /* bad, no prefix, prefix 33, not the parameter, none */
		assert_int_equal(uk_guest_net_static_ip(s, i, addr, &prefix, &dhcp), 0);
	assert_int_equal(uk_guest_net_static_ip(s, 1 + 9, addr, &prefix, NULL), 1);
	assert_string_equal(addr, "10.0.0.10");
	assert_int_equal(uk_guest_net_static_ip(s, 1, addr, &prefix, NULL), 0); /* vec10 != vec1 */
}

static void test_net_bad(void **state)
{
	struct uk_guest_spec *s = new_spec();
	char *bess108 = repeat('s', 108), arg[300];

	(void)state;
	/* unknown kinds */
	net_bad(s, "vde:sw", EINVAL, "unknown kind");
	net_bad(s, "tap", EINVAL, "unknown kind");
	net_bad(s, "TAP:t0", EINVAL, "unknown kind");
	net_bad(s, "tuntap:t0", EINVAL, "unknown kind");
	net_bad(s, "eth0=tuntap,t0", EINVAL, "unknown kind");
	net_bad(s, "", EINVAL, "unknown kind");
	/* missing target */
	net_bad(s, "tap:", EINVAL, "missing or too long target");
	net_bad(s, "fd:", EINVAL, "missing or too long target");
	net_bad(s, "tap:,mac=02:00:00:00:00:01", EINVAL, "missing or too long target");
	/* interface names: at most 15 characters, no '/' (nor what splits the kernel's args) */
	net_bad(s, "tap:abcdefghijklmnop", EINVAL, "is not an interface name");
	net_bad(s, "legacy-tuntap:abcdefghijklmnop", EINVAL, "is not an interface name");
	net_bad(s, "tap:a/b", EINVAL, "'a/b' is not an interface name");
	net_bad(s, "legacy-tuntap:../t", EINVAL, "is not an interface name");
	net_bad(s, "tap:a b", EINVAL, "is not an interface name");
	net_bad(s, "tap:a=b", EINVAL, "is not an interface name");
	net_bad(s, "tap:a:b", EINVAL, "is not an interface name");
	net_bad(s, "tap:a\tb", EINVAL, "is not an interface name");
	/* fd: a number from 3 */
	net_bad(s, "fd:0", EINVAL, "fd must be a number from 3");
	net_bad(s, "fd:1", EINVAL, "fd must be a number from 3");
	net_bad(s, "fd:2", EINVAL, "fd must be a number from 3");
	net_bad(s, "fd:-1", EINVAL, "fd must be a number from 3");
	net_bad(s, "fd:+5", EINVAL, "fd must be a number from 3");
	net_bad(s, "fd:5x", EINVAL, "fd must be a number from 3");
	net_bad(s, "fd:0x5", EINVAL, "fd must be a number from 3");
	net_bad(s, "fd:65536", EINVAL, "fd must be a number from 3");
	net_bad(s, "fd:eth0", EINVAL, "fd must be a number from 3");
	/* bess: a socket path of at most 107 bytes, no '=' */
	bess108[0] = '/';
	snprintf(arg, sizeof(arg), "bess:%s", bess108);
	net_bad(s, arg, EINVAL, "at most 107 bytes");
	net_bad(s, "bess:/tmp/a=b", EINVAL, "at most 107 bytes");
	assert_int_equal(s->nnets, 0);
	free(bess108);
}

static void test_net_too_many(void **state)
{
	struct uk_guest_spec *s = new_spec();
	char arg[32];

	(void)state;
	for (int i = 0; i < UK_GUEST_NETS; i++) {
		snprintf(arg, sizeof(arg), "fd:%d", i + 3);
		assert_int_equal(uk_guest_spec_add_net(s, arg, NULL), 0);
	}
	net_bad(s, "tap:t0", E2BIG, "at most 16 interfaces");
}

/* ---- memory ---- */

/* ---- --user ---- */

static void user_bad(const char *arg, int code, const char *want)
{
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};

	assert_int_equal(uk_guest_spec_set_user(s, arg, &err), -code);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, want))
		fail_msg("--user %s: message '%s' lacks '%s'", arg, err.msg, want);
	assert_int_equal(s->uid, -1);
	assert_int_equal(s->gid, -1);
	assert_string_equal(s->user, "");
}

static void user_ok(const char *arg, long uid, long gid)
{
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};

	if (uk_guest_spec_set_user(s, arg, &err) < 0)
		fail_msg("--user %s: %s", arg, err.msg);
	assert_int_equal(s->uid, uid);
	assert_int_equal(s->gid, gid);
	assert_string_equal(s->user, arg);
	assert_int_equal(uk_guest_uid(s), uid);
	assert_int_equal(uk_guest_gid(s), gid);
}

static void test_user(void **state)
{
	struct uk_guest_spec *s = new_spec();
	struct passwd *pw;
	char *big;

	(void)state;
	assert_int_equal(s->uid, -1); /* the default: whoever runs umlkit */
	assert_int_equal(uk_guest_uid(s), (long)getuid());
	assert_int_equal(uk_guest_gid(s), (long)getgid());
	user_ok("4711:4712", 4711, 4712);
	user_ok("4294967294:1", 4294967294L, 1);
	if (!getpwuid(4711))
		user_ok("4711", 4711, 4711); /* a number without a passwd entry: the same gid */
	pw = getpwnam("nobody");
	if (pw && pw->pw_uid != 0 && pw->pw_gid != 0) {
		user_ok("nobody", (long)pw->pw_uid, (long)pw->pw_gid);
		user_ok("nobody:4713", (long)pw->pw_uid, 4713);
	}
	user_bad("root", EPERM, "a guest never runs as root (uid 0)");
	user_bad("0", EPERM, "a guest never runs as root");
	user_bad("0:4711", EPERM, "a guest never runs as root");
	user_bad("4711:0", EPERM, "never runs in group root");
	user_bad("4711:root", EPERM, "never runs in group root");
	user_bad("", EINVAL, "want USER or USER:GROUP");
	user_bad(":4711", EINVAL, "want USER or USER:GROUP");
	user_bad("4711:", EINVAL, "want USER or USER:GROUP");
	user_bad("uk-no-such-user", ENOENT, "no such user 'uk-no-such-user'");
	user_bad("4711:uk-no-such-group", ENOENT, "no such group 'uk-no-such-group'");
	user_bad("4294967295", ERANGE, "out of range");
	user_bad("4711:99999999999999999999", ERANGE, "out of range");
	big = repeat('u', 100);
	user_bad(big, ENAMETOOLONG, "too long");
	free(big);
}

static void test_has_tap(void **state)
{
	static const char *const taps[] = {"tap:uktap0", "bridge:ukbr0", "legacy-tuntap:uktap0"};
	struct uk_guest_spec *s = new_spec();

	(void)state;
	assert_false(uk_guest_has_tap(s));
	assert_int_equal(uk_guest_spec_add_net(s, "fd:5", NULL), 0);
	assert_int_equal(uk_guest_spec_add_net(s, "bess:/tmp/sw.sock", NULL), 0);
	assert_int_equal(uk_guest_spec_add_net(s, "switch:lan", NULL), 0);
	assert_false(uk_guest_has_tap(s));
	for (size_t i = 0; i < sizeof(taps) / sizeof(taps[0]); i++) {
		s = new_spec();
		assert_int_equal(uk_guest_spec_add_net(s, "fd:5", NULL), 0);
		assert_int_equal(uk_guest_spec_add_net(s, taps[i], NULL), 0);
		assert_true(uk_guest_has_tap(s));
	}
}

static void test_mem(void **state)
{
	static const char *const junk[] = {"",	   "lots", "M",	    "-1M", "+16M",   "1.5G",
					   "16 M", " 16M", "16MB ", "16Q", "16MiBs", "0x20M"};
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(s->mem, 256ULL << 20); /* the default */
	assert_int_equal(uk_guest_spec_set_mem(s, "16M", &err), 0);
	assert_int_equal(s->mem, 16ULL << 20);
	assert_int_equal(uk_guest_spec_set_mem(s, "64G", &err), 0);
	assert_int_equal(s->mem, 64ULL << 30);
	assert_int_equal(uk_guest_spec_set_mem(s, "256M", &err), 0);
	assert_int_equal(s->mem, 256ULL << 20);
	assert_int_equal(uk_guest_spec_set_mem(s, "1G", &err), 0);
	assert_int_equal(s->mem, 1ULL << 30);
	assert_int_equal(uk_guest_spec_set_mem(s, "512MiB", &err), 0);
	assert_int_equal(s->mem, 512ULL << 20);
	assert_int_equal(uk_guest_spec_set_mem(s, "16384k", &err), 0);
	assert_int_equal(s->mem, 16ULL << 20);
	assert_int_equal(uk_guest_spec_set_mem(s, "16777216", &err), 0);
	assert_int_equal(s->mem, 16ULL << 20);
	assert_int_equal(uk_guest_spec_set_mem(s, "65536M", &err), 0);
	assert_int_equal(s->mem, 64ULL << 30);

	uk_guest_spec_set_mem(s, "128M", NULL);
	assert_int_equal(uk_guest_spec_set_mem(s, "15M", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--mem 15M: must be from 16M to 64G"));
	assert_int_equal(uk_guest_spec_set_mem(s, "16777215", &err), -EINVAL);
	assert_int_equal(uk_guest_spec_set_mem(s, "1K", &err), -EINVAL);
	assert_int_equal(uk_guest_spec_set_mem(s, "0", &err), -EINVAL);
	assert_int_equal(uk_guest_spec_set_mem(s, "65537M", &err), -EINVAL);
	assert_int_equal(uk_guest_spec_set_mem(s, "65G", &err), -EINVAL);
	assert_int_equal(uk_guest_spec_set_mem(s, "1T", &err), -EINVAL);
	assert_int_equal(uk_guest_spec_set_mem(s, "99999999999999999999999", &err), -EINVAL);
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (uk_guest_spec_set_mem(s, junk[i], &err) != -EINVAL)
			fail_msg("--mem '%s' accepted", junk[i]);
		if (!strstr(err.msg, "not a size"))
			fail_msg("--mem '%s': message '%s'", junk[i], err.msg);
	}
	assert_int_equal(s->mem, 128ULL << 20); /* untouched by the refusals */
}

/* ---- the kernel's argv ---- */

/* argv must be want (NULL-terminated), every string inside the block argv points to. */
static void assert_argv(char **argv, const char *const *want)
{
	int n = 0;

	assert_non_null(argv);
	while (argv[n])
		n++;
	for (int i = 0; want[i] || argv[i]; i++) {
		if (!want[i] || !argv[i] || strcmp(want[i], argv[i]))
			fail_msg("argv[%d]: got '%s', want '%s'", i, argv[i] ? argv[i] : "(NULL)",
				 want[i] ? want[i] : "(NULL)");
	}
	/* one block: the pointers, then the strings back to back */
	for (int i = 0; i < n; i++) {
		assert_true(argv[i] >= (char *)(argv + n + 1));
		if (i + 1 < n)
			assert_ptr_equal(argv[i + 1], argv[i] + strlen(argv[i]) + 1);
	}
}

static void test_argv_full(void **state)
{
	static const char *const want[] = {
		"/usr/bin/linux",
		"mem=256M",
		"umid=web",
		"uml_dir=/run/user/1000/umlkit/guests/web/uml",
		"ubd0=web.cow,debian.img",
		"ubd1r=/srv/data.img",
		"ubd2=c.img",
		"ubd5sc=x.cow,base.img",
		"root=/dev/ubda",
		"vec0:transport=tap,ifname=uml-conn0",
		"vec1:transport=fd,fd=5,mac=02:00:00:00:00:01",
		"vec2:transport=bess,dst=/tmp/sw.sock",
		"eth3=tuntap,tap0,",
		"eth4=tuntap,tap1,0a:00:00:00:00:02",
		"vec5:transport=tap,ifname=t5,mac=06:00:00:00:00:05",
		"mconsole=notify:/run/user/1000/umlkit/guests/web/notify",
		"con=null",
		"con0=fd:0,fd:1",
		"noreboot",
		"init=/init",
		"umlkit.hostname=web",
		"quiet",
		NULL,
	};
	static const char *const disks[] = {"web.cow,debian.img", "ubd1r=/srv/data.img",
					    "ubdc=c.img", "ubd5sc=x.cow,base.img"};
	static const char *const nets[] = {"tap:uml-conn0",
					   "fd:5,mac=02:00:00:00:00:01",
					   "bess:/tmp/sw.sock",
					   "legacy-tuntap:tap0",
					   "legacy-tuntap:tap1,mac=0a:00:00:00:00:02",
					   "tap:t5,mac=06:00:00:00:00:05"};
	struct uk_guest_wiring w = {.uml_dir = "/run/user/1000/umlkit/guests/web/uml",
				    .notify_sock = "/run/user/1000/umlkit/guests/web/notify",
				    .console_stdio = true};
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};
	char **argv = NULL;

	(void)state;
	strcpy(s->name, "web");
	strcpy(s->kernel, "/usr/bin/linux");
	for (size_t i = 0; i < sizeof(disks) / sizeof(disks[0]); i++)
		assert_int_equal(uk_guest_spec_add_disk(s, disks[i], &err), 0);
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		assert_int_equal(uk_guest_spec_add_net(s, nets[i], &err), 0);
	strcpy(s->append, "  init=/init   umlkit.hostname=web\tquiet\n ");
	assert_int_equal(uk_guest_argv(s, &w, &argv, &err), 0);
	assert_argv(argv, want);
	free(argv);
}

static void test_argv_minimal(void **state)
{
	static const char *const want[] = {
		"linux.uml",  "mem=16M",	"umid=a",   "uml_dir=UML_DIR",
		"ubd0=a.img", "root=/dev/ubdb", "noreboot", NULL,
	};
	static const char *const want_big[] = {
		"linux.uml",	  "mem=65536M", "umid=a",	  "uml_dir=UML_DIR", "ubd0=a.img",
		"root=/dev/ubdb", "con=null",	"con0=fd:0,fd:1", "noreboot",	     NULL,
	};
	struct uk_guest_wiring w = {.uml_dir = "UML_DIR"};
	struct uk_guest_spec *s = new_spec();
	char **argv = NULL;

	(void)state;
	strcpy(s->name, "a");
	strcpy(s->kernel, "linux.uml");
	strcpy(s->root, "/dev/ubdb");
	assert_int_equal(uk_guest_spec_add_disk(s, "a.img", NULL), 0);
	assert_int_equal(uk_guest_spec_set_mem(s, "16M", NULL), 0);
	strcpy(s->append, " \t ");
	assert_int_equal(uk_guest_argv(s, &w, &argv, NULL), 0);
	assert_argv(argv, want);
	free(argv);

	/* memory in MiB (64G is 65536M); the console on stdio */
	assert_int_equal(uk_guest_spec_set_mem(s, "64G", NULL), 0);
	w.console_stdio = true;
	assert_int_equal(uk_guest_argv(s, &w, &argv, NULL), 0);
	assert_argv(argv, want_big);
	free(argv);

	/* 1G + 1 byte: whole MiB, rounded down */
	assert_int_equal(uk_guest_spec_set_mem(s, "1073741825", NULL), 0);
	assert_int_equal(uk_guest_argv(s, &w, &argv, NULL), 0);
	assert_string_equal(argv[1], "mem=1024M");
	free(argv);
}

/* The agent's channel: serial line 1 on the fd, its ring on the highest free ubd unit, both
 * named on the command line before --append's words. */
static void test_argv_agent(void **state)
{
	static const char *const want[] = {
		"linux.uml",
		"mem=16M",
		"umid=a",
		"uml_dir=UML_DIR",
		"ubd0=a.img",
		"ubd15=b.img",
		"ubd14r=/run/a/agent.ring",
		"root=/dev/ubda",
		"noreboot",
		"ssl1=fd:7,fd:7",
		"umlkit.agent=/dev/ttyS1",
		"umlkit.agent_ring=/dev/ubdo",
		"x=1",
		NULL,
	};
	struct uk_guest_wiring w = {.uml_dir = "UML_DIR", .agent = true, .agent_fd = 7};
	struct uk_guest_spec *s = new_spec();
	char **argv = NULL;

	(void)state;
	strcpy(s->name, "a");
	strcpy(s->kernel, "linux.uml");
	assert_int_equal(uk_guest_spec_add_disk(s, "a.img", NULL), 0);
	assert_int_equal(uk_guest_agent_ring_unit(s), 15);
	assert_int_equal(uk_guest_spec_add_disk(s, "ubd15=b.img", NULL), 0);
	assert_int_equal(uk_guest_agent_ring_unit(s), 14);
	/* the modules image takes the highest free unit, the ring the next one down */
	strcpy(s->modules, "/c/m.img");
	assert_int_equal(uk_guest_modules_unit(s), 14);
	assert_int_equal(uk_guest_agent_ring_unit(s), 13);
	s->modules[0] = '\0';
	assert_int_equal(uk_guest_spec_set_mem(s, "16M", NULL), 0);
	strcpy(s->append, "x=1");
	w.agent_ring = "/run/a/agent.ring";
	w.agent_ring_unit = uk_guest_agent_ring_unit(s);
	assert_int_equal(uk_guest_argv(s, &w, &argv, NULL), 0);
	assert_argv(argv, want);
	free(argv);
	/* every unit taken: no ring */
	for (int u = 1; u < 15; u++) {
		char d[32];

		snprintf(d, sizeof(d), "ubd%d=c%d.img", u, u);
		assert_int_equal(uk_guest_spec_add_disk(s, d, NULL), 0);
	}
	assert_int_equal(uk_guest_agent_ring_unit(s), -1);
}

static void test_argv_many_args(void **state)
{
	struct uk_guest_wiring w = {.uml_dir = "/d", .notify_sock = "/n", .console_stdio = true};
	struct uk_guest_spec *s = new_spec();
	char **argv = NULL;
	int n = 0;

	(void)state;
	strcpy(s->name, "many");
	strcpy(s->kernel, "/k");
	/* --append of 1000 short words: each its own argument, in order */
	for (int i = 0; i < 1000; i++) {
		char word[16];

		snprintf(word, sizeof(word), "%sa%d", i ? " " : "", i % 10);
		strcat(s->append, word);
	}
	assert_int_equal(uk_guest_argv(s, &w, &argv, NULL), 0);
	while (argv[n])
		n++;
	assert_int_equal(n, 9 + 1000);
	assert_string_equal(argv[8], "noreboot");
	assert_string_equal(argv[9], "a0");
	assert_string_equal(argv[n - 1], "a9");
	free(argv);
}

static void test_argv_too_long(void **state)
{
	struct uk_guest_wiring w = {.uml_dir = "/d", .notify_sock = NULL, .console_stdio = true};
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};
	char **argv = (char **)&err;
	char *name = repeat('f', 2000), arg[4200];

	(void)state;
	strcpy(s->name, "big");
	strcpy(s->kernel, "/k");
	/* 16 disks of two 2000-byte names: 64 KiB, past what the builder holds */
	for (int i = 0; i < UK_GUEST_DISKS; i++) {
		snprintf(arg, sizeof(arg), "/%02d%s,/%s", i, name + 3, name + 1);
		assert_int_equal(uk_guest_spec_add_disk(s, arg, &err), 0);
	}
	assert_int_equal(uk_guest_argv(s, &w, &argv, &err), -E2BIG);
	assert_null(argv);
	assert_non_null(strstr(err.msg, "kernel command line too long"));
	free(name);
}

static void test_argv_kernel_limit(void **state)
{
	struct uk_guest_wiring w = {.uml_dir = "/d", .notify_sock = "/n", .console_stdio = true};
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};
	char **argv = NULL;
	char *name = repeat('f', 1500), arg[4000];
	size_t len = 0;

	(void)state;
	strcpy(s->name, "big");
	strcpy(s->kernel, "/k");
	/* 3 disks of 1500-byte names: a command line of about 4.6 KiB */
	for (int i = 0; i < 3; i++) {
		snprintf(arg, sizeof(arg), "/%d%s", i, name + 2);
		assert_int_equal(uk_guest_spec_add_disk(s, arg, &err), 0);
	}
	assert_int_equal(uk_guest_argv(s, &w, &argv, &err), -E2BIG);
	assert_null(argv);
	assert_non_null(strstr(err.msg, "kernel command line too long"));
	/* one disk of 1500 bytes fits */
	s->ndisks = 1;
	assert_int_equal(uk_guest_argv(s, &w, &argv, &err), 0);
	for (int i = 1; argv[i]; i++)
		len += strlen(argv[i]) + 1;
	assert_true(len < 4000);
	free(argv);
	free(name);
}

static void test_cpulist(void **state)
{
	cpu_set_t set;
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(uk_guest_cpulist_parse("0-3,6", &set, NULL), 0);
	assert_int_equal(CPU_COUNT(&set), 5);
	assert_true(CPU_ISSET(0, &set) && CPU_ISSET(3, &set) && CPU_ISSET(6, &set));
	assert_false(CPU_ISSET(4, &set));
	assert_int_equal(uk_guest_cpulist_parse("1", &set, NULL), 0);
	assert_int_equal(CPU_COUNT(&set), 1);
	assert_true(CPU_ISSET(1, &set));
	const char *bad[] = {"", "-1", "1-", "3-1", "1,,2", "a", "1,", "0x1", "99999", " 1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(uk_guest_cpulist_parse(bad[i], &set, NULL), -EINVAL);
	assert_int_equal(uk_guest_cpulist_parse("3-1", &set, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "3-1"));
}

static void test_cpu_affinity_opt(void **state)
{
	struct uk_guest_spec *s = new_spec();
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(s->cpu_mode, UK_CPU_AUTO); /* the default */
	assert_int_equal(uk_guest_spec_set_cpus(s, "none", NULL), 0);
	assert_int_equal(s->cpu_mode, UK_CPU_NONE);
	assert_int_equal(uk_guest_spec_set_cpus(s, "0,2-3", NULL), 0);
	assert_int_equal(s->cpu_mode, UK_CPU_LIST);
	assert_string_equal(s->cpus, "0,2-3");
	assert_int_equal(uk_guest_spec_set_cpus(s, "auto", NULL), 0);
	assert_int_equal(s->cpu_mode, UK_CPU_AUTO);
	assert_int_equal(uk_guest_spec_set_cpus(s, "some", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--cpu-affinity some"));
	assert_int_equal(s->cpu_mode, UK_CPU_AUTO);
}

static void test_cpu_pick(void **state)
{
	cpu_set_t all, odd, none;
	int load[4] = {0, 0, 0, 0};

	(void)state;
	CPU_ZERO(&all);
	CPU_ZERO(&odd);
	CPU_ZERO(&none);
	for (int c = 0; c < 4; c++)
		CPU_SET(c, &all);
	CPU_SET(1, &odd);
	CPU_SET(3, &odd);
	/* no guests: the lowest CPU; then each next guest the least loaded, lowest first */
	assert_int_equal(uk_guest_cpu_pick(&all, load, 4), 0);
	load[0] = 1;
	assert_int_equal(uk_guest_cpu_pick(&all, load, 4), 1);
	load[1] = 1, load[2] = 1, load[3] = 1;
	assert_int_equal(uk_guest_cpu_pick(&all, load, 4), 0);
	load[0] = 3, load[2] = 0;
	assert_int_equal(uk_guest_cpu_pick(&all, load, 4), 2);
	/* only allowed CPUs, however loaded the others are */
	load[1] = 5, load[3] = 4;
	assert_int_equal(uk_guest_cpu_pick(&odd, load, 4), 3);
	/* a CPU past the load table has no guests */
	CPU_SET(7, &odd);
	assert_int_equal(uk_guest_cpu_pick(&odd, load, 4), 7);
	assert_int_equal(uk_guest_cpu_pick(&none, load, 4), -1);
}

/* The RAID6 benchmark is skipped by default, right after noreboot; "bench" keeps it. */
static void test_argv_raid6(void **state)
{
	struct uk_guest_wiring w = {.uml_dir = "U"};
	struct uk_guest_spec *s = new_spec();
	char **argv = NULL;
	int i;

	(void)state;
	strcpy(s->name, "a");
	strcpy(s->kernel, "k");
	assert_int_equal(uk_guest_spec_add_disk(s, "a.img", NULL), 0);
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 0)
			unsetenv("UMLKIT_KERNEL_RAID6");
		else
			setenv("UMLKIT_KERNEL_RAID6", pass == 1 ? "on" : "bench", 1);
		assert_int_equal(uk_guest_argv(s, &w, &argv, NULL), 0);
		for (i = 0; argv[i] && strcmp(argv[i], "noreboot"); i++)
			;
		assert_non_null(argv[i]);
		if (pass < 2)
			assert_string_equal(argv[i + 1],
					    "initcall_blacklist=raid6_select_algo,raid6_init");
		else
			assert_null(argv[i + 1]);
		free(argv);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_raid6),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_argv_agent),
		cmocka_unit_test(test_disk_cow_and_image),
		cmocka_unit_test(test_disk_units),
		cmocka_unit_test(test_disk_in_order),
		cmocka_unit_test(test_disk_flags),
		cmocka_unit_test(test_disk_bad_names),
		cmocka_unit_test(test_disk_too_many),
		cmocka_unit_test(test_net_kinds),
		cmocka_unit_test(test_net_mac),
		cmocka_unit_test(test_net_switch),
		cmocka_unit_test(test_net_switch_forward),
		cmocka_unit_test(test_net_switch_mac),
		cmocka_unit_test(test_net_static_ip),
		cmocka_unit_test(test_net_bad),
		cmocka_unit_test(test_net_too_many),
		cmocka_unit_test(test_mem),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_has_tap),
		cmocka_unit_test(test_cpulist),
		cmocka_unit_test(test_cpu_affinity_opt),
		cmocka_unit_test(test_cpu_pick),
		cmocka_unit_test(test_argv_full),
		cmocka_unit_test(test_argv_minimal),
		cmocka_unit_test(test_argv_many_args),
		cmocka_unit_test(test_argv_too_long),
		cmocka_unit_test(test_argv_kernel_limit),
	};

	/* the other tests' command lines without the RAID6 line (test_argv_raid6 has it) */
	setenv("UMLKIT_KERNEL_RAID6", "bench", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
