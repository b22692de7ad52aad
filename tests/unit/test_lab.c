// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/lab: lab.conf in both dialects (every error message as text), lab.dep (order, syntax,
 * loops named), lab.ext, the typed options and overrides, warnings, uk_lab_load on the
 * sample labs under tests/data/labs/ (run from the repository root, as `make check` does).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include <jansson.h>

#include "umlkit/lab.h"
#include "umlkit/util.h"

#define LABS "tests/data/labs/"

/* conf, dep and ext (NULL: no such file) parsed and finished with o: the lab, or NULL with
 * *r and err set. */
static struct uk_lab *parse(const char *conf, const char *dep, const char *ext,
			    const struct uk_lab_load_opts *o, int *r, struct uk_err *err)
{
	struct uk_lab *lab = uk_lab_new("/labs/t");

	assert_non_null(lab);
	uk_err_clear(err);
	*r = conf ? uk_lab_conf_parse(lab, conf, strlen(conf), err) : 0;
	if (*r == 0 && dep)
		*r = uk_lab_dep_parse(lab, dep, strlen(dep), err);
	if (*r == 0 && ext)
		*r = uk_lab_ext_parse(lab, ext, strlen(ext), err);
	if (*r == 0)
		*r = uk_lab_finish(lab, o, err);
	if (*r == 0)
		return lab;
	uk_lab_free(lab);
	return NULL;
}

static struct uk_lab *ok(const char *conf, const char *dep, const char *ext,
			 const struct uk_lab_load_opts *o)
{
	struct uk_err err = {0};
	struct uk_lab *lab;
	int r;

	lab = parse(conf, dep, ext, o, &r, &err);
	if (!lab)
		fail_msg("unexpected error %d: %s", r, err.msg);
	return lab;
}

/* The parse fails with code and exactly msg. */
static void bad(const char *conf, const char *dep, const char *ext,
		const struct uk_lab_load_opts *o, int code, const char *msg)
{
	struct uk_err err = {0};
	int r;

	assert_null(parse(conf, dep, ext, o, &r, &err));
	assert_int_equal(r, code);
	assert_string_equal(err.msg, msg);
}

static void bad_conf(const char *conf, const char *msg)
{
	bad(conf, NULL, NULL, NULL, -EINVAL, msg);
}

static bool has_warning(const struct uk_lab *lab, const char *w)
{
	for (int i = 0; i < lab->n_warning; i++)
		if (!strcmp(lab->warning[i], w))
			return true;
	return false;
}

/* ---- lab.conf, Kathará ---- */

static void test_kathara_conf(void **state)
{
	struct uk_lab *lab = ok("LAB_NAME=\"demo\"\n"
				"LAB_DESCRIPTION='two hosts'\n"
				"# a comment\n"
				"\n"
				"pc1[0]=\"A\"   # the LAN\n"
				"pc1[1]=b_2/AA:bb:CC:00:11:22\n"
				"pc2[0]='A'\n"
				"pc2[image]=kathara/base # not a comment\n"
				"   \t\n",
				NULL, NULL, NULL);

	assert_int_equal(lab->dialect, UK_LAB_KATHARA);
	assert_true(lab->has_conf);
	assert_false(lab->has_dep);
	assert_string_equal(lab->meta[UK_LAB_META_NAME], "demo");
	assert_string_equal(lab->meta[UK_LAB_META_DESCRIPTION], "two hosts");
	assert_null(lab->meta[UK_LAB_META_WEB]);
	assert_int_equal(lab->n_machine, 2);
	assert_string_equal(lab->machine[0].name, "pc1");
	assert_int_equal(lab->machine[0].n_iface, 2);
	assert_string_equal(lab->machine[0].iface[0].cd, "A");
	assert_string_equal(lab->machine[0].iface[0].mac, "");
	assert_string_equal(lab->machine[0].iface[1].cd, "b_2");
	assert_string_equal(lab->machine[0].iface[1].mac, "aa:bb:cc:00:11:22");
	assert_string_equal(lab->machine[1].image, "kathara/base # not a comment");
	assert_int_equal(lab->n_cd, 2);
	assert_string_equal(lab->cd[0], "A");
	assert_string_equal(lab->cd[1], "b_2");
	assert_int_equal(lab->n_warning, 0);
	assert_int_equal(strlen(lab->id), 16);
	uk_lab_free(lab);
}

static void test_kathara_conf_errors(void **state)
{
	bad_conf("pc1[0]=A\npc1[0]=\"A\n", "In lab.conf - Line 2: `pc1[0]=\"A`.");
	bad_conf("pc1[0]=\"A'\n", "In lab.conf - Line 1: `pc1[0]=\"A'`.");
	bad_conf("pc1[0]=A\"B\n", "In lab.conf - Line 1: `pc1[0]=A\"B`.");
	bad_conf("pc1[0]=\"A\" junk\n", "In lab.conf - Line 1: `pc1[0]=\"A\" junk`.");
	bad_conf("pc1[0]=\"\"\n", "In lab.conf - Line 1: `pc1[0]=\"\"`.");
	bad_conf("pc1[0]=\n", "In lab.conf - Line 1: `pc1[0]=`.");
	bad_conf("  # indented\n", "In lab.conf - Line 1: `  # indented`.");
	bad_conf("pc1[0] = A\n", "In lab.conf - Line 1: `pc1[0] = A`.");
	bad_conf("pc1.x[0]=A\n", "In lab.conf - Line 1: `pc1.x[0]=A`.");
	bad_conf("LAB_TOOLS=x\n", "In lab.conf - Line 1: `LAB_TOOLS=x`.");
	bad_conf("abcdefghijabcdefghijabcdefghij1[0]=A\n",
		 "In lab.conf - Line 1: `abcdefghijabcdefghijabcdefghij1[0]=A`.");
	bad_conf("shared[0]=A\n",
		 "In lab.conf - Line 1: `shared` is a reserved name, you can not use it for a "
		 "device.");
	bad_conf("_test[mem]=64\n",
		 "In lab.conf - Line 1: `_test` is a reserved name, you can not use it for a "
		 "device.");
	bad_conf("pc1[0]=A\npc1[0]=B\n",
		 "In lab.conf - Line 2: Interface 0 already set on device `pc1`.");
	bad_conf("pc1[0]=A\npc1[1]=A\n",
		 "In lab.conf - Line 2: Device `pc1` is already connected to collision domain "
		 "`A`.");
	bad_conf("pc1[0]=A/00:11:22:33:44\n",
		 "In lab.conf - Line 1: MAC address `00:11:22:33:44` of interface 0 on device "
		 "`pc1` is not valid.");
	/* an inline comment works only after a quoted value (Kathará's tests/inline_comment) */
	bad_conf("pc1[0]=A # the LAN\n",
		 "In lab.conf - Line 1: Collision domain `A # the LAN` contains non-alphanumeric "
		 "characters.");
	bad_conf("pc1[0]=\"A\"# the LAN\n", "In lab.conf - Line 1: `pc1[0]=\"A\"# the LAN`.");
	bad_conf("pc1[0]=A+B\n",
		 "In lab.conf - Line 1: Collision domain `A+B` contains non-alphanumeric "
		 "characters.");
	bad_conf("pc1[0]=A/00:11:22:33:44:55/x\n",
		 "In lab.conf - Line 1: Invalid interface definition: `A/00:11:22:33:44:55/x`.");
	bad_conf("pc1[0]=A/\n", "In lab.conf - Line 1: Invalid interface definition: `A/`.");
	bad_conf("pc1[40]=A\n",
		 "In lab.conf - Line 1: Interface `40` of device `pc1` is out of range (0..39).");
	bad_conf("pc1[99999999999999999999999]=A\n",
		 "In lab.conf - Line 1: Interface `99999999999999999999999` of device `pc1` is "
		 "out of range (0..39).");
	bad_conf("pc1[0]=A234567890123456789012345678901234567890123456789012345678901234\n",
		 "In lab.conf - Line 1: Collision domain "
		 "`A234567890123456789012345678901234567890123456789012345678901234` is longer "
		 "than 63 characters.");
	bad_conf("pc1[0]=A\npc1[2]=B\n", "Interface `1` missing on device `pc1`.");
	bad_conf("pc1[1]=A\n", "Interface `0` missing on device `pc1`.");
}

static void test_conf_limits(void **state)
{
	char *big = malloc(8192);
	struct uk_err err = {0};
	struct uk_lab *lab;
	int r;

	assert_non_null(big);
	memset(big, 'a', 8191);
	big[8191] = '\0';
	memcpy(big, "pc1[0]=", 7);
	bad_conf(big, "In lab.conf - Line 1: line longer than 4095 bytes.");
	free(big);
	lab = uk_lab_new("/x");
	r = uk_lab_conf_parse(lab, "pc1[0]=A\npc\0[0]=B\n", 18, &err);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(err.msg, "In lab.conf - Line 2: a NUL byte in the line.");
	uk_lab_free(lab);
}

/* A '=' in a metadata value crashes Kathará; we keep the value whole. */
static void test_conf_metadata(void **state)
{
	struct uk_lab *lab = ok("LAB_DESCRIPTION=\"a=b, c='d'\"\nLAB_WEB=http://x/?a=1\n"
				"LAB_AUTHOR=first\nLAB_AUTHOR= second \n",
				NULL, NULL, NULL);

	assert_string_equal(lab->meta[UK_LAB_META_DESCRIPTION], "a=b, c=d");
	assert_string_equal(lab->meta[UK_LAB_META_WEB], "http://x/?a=1");
	assert_string_equal(lab->meta[UK_LAB_META_AUTHOR], "second");
	assert_int_equal(lab->n_machine, 0);
	uk_lab_free(lab);
}

/* CRLF line ends and a UTF-8 byte-order mark, in all three files. */
static void test_crlf_bom(void **state)
{
	struct uk_lab *lab = ok("\xef\xbb\xbfLAB_NAME=\"w\"\r\npc1[0]=\"A\"\r\npc2[0]=A\r\n"
				"pc2[mem]=64\r\n",
				"\xef\xbb\xbfpc2: pc1\r\n",
				"\xef\xbb\xbf"
				"A eth0.10\r\n",
				NULL);

	assert_string_equal(lab->meta[UK_LAB_META_NAME], "w");
	assert_string_equal(lab->machine[0].iface[0].cd, "A");
	assert_int_equal(lab->machine[1].mem_mib, 64);
	assert_int_equal(lab->machine[1].n_dep, 1);
	assert_int_equal(lab->n_ext, 1);
	assert_string_equal(lab->ext[0].ifname, "eth0");
	assert_int_equal(lab->ext[0].vlan, 10);
	uk_lab_free(lab);
}

/* ---- lab.conf, Netkit ---- */

static void test_netkit_forms(void **state)
{
	struct uk_lab *lab;

	lab = ok("pc1[0]=A\npc1[D]=\n", NULL, NULL, NULL);
	assert_int_equal(lab->dialect, UK_LAB_NETKIT);
	assert_string_equal(uk_lab_opt_get(&lab->machine[0], "d"), "");
	uk_lab_free(lab);

	lab = ok("pc1[0]=A\npc1[model-fs]=/fs/netkit-fs\n", NULL, NULL, NULL);
	assert_int_equal(lab->dialect, UK_LAB_NETKIT);
	assert_string_equal(lab->machine[0].image, "/fs/netkit-fs");
	uk_lab_free(lab);

	lab = ok("Router-1[0]=Lan-1.a\n", NULL, NULL, NULL);
	assert_int_equal(lab->dialect, UK_LAB_NETKIT);
	assert_string_equal(lab->machine[0].name, "Router-1");
	assert_string_equal(lab->cd[0], "Lan-1.a");
	uk_lab_free(lab);

	/* a gap is Kathará's error, Netkit's warning */
	lab = ok("r1[0]=A\nr1[2]=B\nr1[D]=\n", NULL, NULL, NULL);
	assert_int_equal(lab->machine[0].n_iface, 3);
	assert_string_equal(lab->machine[0].iface[1].cd, "");
	assert_true(has_warning(lab, "lab.conf: Interface `1` missing on device `r1`: a gap, no "
				     "device is made"));
	uk_lab_free(lab);
	bad_conf("pc1[0]=.A\n",
		 "In lab.conf - Line 1: Collision domain `.A` contains non-alphanumeric "
		 "characters.");
}

static void test_netkit_machine_list(void **state)
{
	struct uk_lab *lab;

	lab = ok("a[0]=X\nb[0]=X\nc[0]=X\nmachines=\"c  a\"\n", NULL, NULL, NULL);
	assert_int_equal(lab->dialect, UK_LAB_NETKIT);
	assert_int_equal(lab->n_machine, 3);
	assert_string_equal(lab->machine[0].name, "c");
	assert_string_equal(lab->machine[1].name, "a");
	assert_string_equal(lab->machine[2].name, "b");
	uk_lab_free(lab);

	lab = ok("LAB_MACHINES=z,y\ny[0]=X\nx[0]=X\n", NULL, NULL, NULL);
	assert_int_equal(lab->n_machine, 3);
	assert_string_equal(lab->machine[0].name, "z");
	assert_string_equal(lab->machine[1].name, "y");
	assert_string_equal(lab->machine[2].name, "x");
	assert_int_equal(lab->machine[0].n_iface, 0);
	uk_lab_free(lab);
	bad_conf("machines=\"a b+c\"\n", "In lab.conf - Line 1: Invalid device name `b+c`.");
	bad_conf("LAB_MACHINES=a,shared\n",
		 "In lab.conf - Line 1: `shared` is a reserved name, you can not use it for a "
		 "device.");
}

/* ---- options ---- */

static void test_typed_options(void **state)
{
	struct uk_lab *lab = ok("a[mem]=256\nb[mem]=1G\nc[mem]=1048576k\nd[mem]=2097153b\n"
				"e[M]=48\n"
				"a[cpus]=0.5\na[bridged]=Yes\na[ipv6]=FALSE\n"
				"a[port]=8080:80/UDP\na[port]=22\na[port]=9000:9000/sctp\n"
				"a[exec]=echo one\na[exec]=echo two\n"
				"a[sysctl]=net.ipv4.ip_forward=0\na[env]=COLOR=blue\n"
				"a[append]=loglevel=3\na[kernel]=/k\na[shell]=/bin/sh\n"
				"a[con0]=pty\na[image]=kathara/frr\n",
				NULL, NULL, NULL);
	const struct uk_lab_machine *a = &lab->machine[0];

	assert_int_equal(a->mem_mib, 256);
	assert_int_equal(lab->machine[1].mem_mib, 1024);
	assert_int_equal(lab->machine[2].mem_mib, 1024);
	assert_int_equal(lab->machine[3].mem_mib, 3);
	assert_int_equal(lab->machine[4].mem_mib, 48);
	assert_true(a->cpus > 0.49 && a->cpus < 0.51);
	assert_true(a->bridged);
	assert_false(a->ipv6);
	assert_int_equal(a->n_port, 3);
	assert_int_equal(a->port[0].host, 8080);
	assert_int_equal(a->port[0].guest, 80);
	assert_string_equal(a->port[0].proto, "udp");
	assert_int_equal(a->port[1].host, 3000);
	assert_int_equal(a->port[1].guest, 22);
	assert_string_equal(a->port[1].proto, "tcp");
	assert_string_equal(a->port[2].proto, "sctp");
	assert_int_equal(a->n_exec, 2);
	assert_string_equal(a->exec[0], "echo one");
	assert_string_equal(a->exec[1], "echo two");
	assert_string_equal(a->sysctl[0], "net.ipv4.ip_forward=0");
	assert_string_equal(a->env[0], "COLOR=blue");
	assert_string_equal(a->append[0], "loglevel=3");
	assert_string_equal(a->kernel, "/k");
	assert_string_equal(a->shell, "/bin/sh");
	assert_string_equal(a->con0, "pty");
	assert_string_equal(a->image, "kathara/frr");
	assert_int_equal(lab->n_warning, 0);
	uk_lab_free(lab);
}

static void test_option_errors(void **state)
{
	bad_conf("a[mem]=12x\n", "In lab.conf - Line 1: Memory value not valid on `a`.");
	bad_conf("a[mem]=0\n", "In lab.conf - Line 1: Memory value not valid on `a`.");
	bad_conf("a[mem]=99999999999999999999g\n",
		 "In lab.conf - Line 1: Memory value not valid on `a`.");
	bad_conf("a[cpus]=many\n", "In lab.conf - Line 1: CPU value not valid on `a`.");
	bad_conf("a[cpus]=nan\n", "In lab.conf - Line 1: CPU value not valid on `a`.");
	bad_conf("a[bridged]=maybe\n",
		 "In lab.conf - Line 1: Invalid value `maybe` for `bridged` on `a` (true/false, "
		 "yes/no, 1/0).");
	bad_conf("a[bridged]=true\na[port]=80/icmp\n",
		 "In lab.conf - Line 2: Port protocol value not valid on `a`.");
	bad_conf("a[bridged]=true\na[port]=x:80\n",
		 "In lab.conf - Line 2: Port value not valid on `a`.");
	bad_conf("a[bridged]=true\na[port]=70000\n",
		 "In lab.conf - Line 2: Port value not valid on `a`.");
	bad_conf("a[port]=80\n", "Device `a` forwards ports but is not bridged "
				 "(`a[bridged]=true`).");
	bad_conf("a[sysctl]=kernel.pid_max=10\n",
		 "In lab.conf - Line 1: Invalid sysctl value (`kernel.pid_max=10`) on `a`, "
		 "missing `=` or value not in `net.` namespace.");
	bad_conf("a[sysctl]=net.ipv4\n",
		 "In lab.conf - Line 1: Invalid sysctl value (`net.ipv4`) on `a`, missing `=` or "
		 "value not in `net.` namespace.");
	bad_conf("a[env]=A=B=C\n", "In lab.conf - Line 1: Invalid env value (`A=B=C`) on `a`.");
	bad_conf("a[env]=NOVALUE\n", "In lab.conf - Line 1: Invalid env value (`NOVALUE`) on `a`.");
}

static void test_option_warnings(void **state)
{
	struct uk_lab *lab = ok("a[mem]=64\na[mem]=128\na[privileged]=true\nb[privileged]=true\n"
				"b[num_terms]=2\na[exec]=x\na[exec]=y\na[color]=red\n",
				NULL, NULL, NULL);

	assert_int_equal(lab->machine[0].mem_mib, 128);
	assert_int_equal(lab->n_warning, 3);
	assert_string_equal(lab->warning[0],
			    "lab.conf:2: Device `a` already has a value assigned to meta `mem`. "
			    "Previous value has been overwritten with `128`.");
	assert_string_equal(lab->warning[1],
			    "lab.conf:3: `privileged` is a Docker option, ignored");
	assert_string_equal(lab->warning[2], "lab.conf:5: `num_terms` is a Docker option, ignored");
	assert_string_equal(uk_lab_opt_get(&lab->machine[0], "color"), "red");
	assert_null(uk_lab_opt_get(&lab->machine[0], "shape"));
	uk_lab_free(lab);
}

static void test_overrides(void **state)
{
	const char *over[] = {"mem=512", "exec=echo last", "IMAGE=kathara/frr"};
	struct uk_lab_load_opts o = {.over = over, .n_over = 3};
	const char *bad_over[] = {"mem"};
	struct uk_lab_load_opts ob = {.over = bad_over, .n_over = 1};
	const char *bad_mem[] = {"mem=lots"};
	struct uk_lab_load_opts om = {.over = bad_mem, .n_over = 1};
	struct uk_lab *lab;

	lab = ok("a[mem]=64\na[exec]=echo first\nb[0]=A\n", NULL, NULL, &o);
	assert_int_equal(lab->machine[0].mem_mib, 512);
	assert_int_equal(lab->machine[1].mem_mib, 512);
	assert_int_equal(lab->machine[0].n_exec, 2);
	assert_string_equal(lab->machine[0].exec[1], "echo last");
	assert_string_equal(lab->machine[1].image, "kathara/frr");
	assert_string_equal(uk_lab_opt_get(&lab->machine[0], "mem"), "512");
	uk_lab_free(lab);
	bad("a[0]=A\n", NULL, NULL, &ob, -EINVAL,
	    "-o `mem`: expected KEY=VALUE with an option name");
	bad("a[0]=A\n", NULL, NULL, &om, -EINVAL, "-o mem=lots: Memory value not valid on `a`.");
}

/* ---- lab.dep ---- */

static void test_dep(void **state)
{
	struct uk_lab *lab = ok("a[0]=X\nb[0]=X\nc[0]=X\nd-1[0]=X\n",
				"# order\nc: a b\nb:\ta\n\nd-1: c\nc: a\n", NULL, NULL);

	assert_true(lab->has_dep);
	assert_int_equal(lab->machine[0].n_dep, 0);
	assert_int_equal(lab->machine[1].n_dep, 1);
	assert_int_equal(lab->machine[1].dep[0], 0);
	assert_int_equal(lab->machine[2].n_dep, 2);
	assert_int_equal(lab->machine[2].dep[0], 0);
	assert_int_equal(lab->machine[2].dep[1], 1);
	assert_int_equal(lab->machine[3].dep[0], 2);
	uk_lab_free(lab);

	lab = ok("a[0]=X\n", "\n# nothing\n", NULL, NULL);
	assert_true(lab->has_dep);
	assert_true(has_warning(lab, "lab.dep: no dependencies: every device starts in parallel"));
	uk_lab_free(lab);
}

static void test_dep_errors(void **state)
{
	const char *conf = "a[0]=X\nb[0]=X\nc[0]=X\n";

	bad(conf, "a: b\nb:  c\n", NULL, NULL, -EINVAL, "In lab.dep - Line 2.");
	bad(conf, "a: b  c\n", NULL, NULL, -EINVAL, "In lab.dep - Line 1.");
	bad(conf, "a b\n", NULL, NULL, -EINVAL, "In lab.dep - Line 1.");
	bad(conf, "a:\n", NULL, NULL, -EINVAL, "In lab.dep - Line 1.");
	bad(conf, "a: b,c\n", NULL, NULL, -EINVAL, "In lab.dep - Line 1.");
	bad(conf, "a: b\tc\n", NULL, NULL, -EINVAL, "In lab.dep - Line 1.");
	bad(conf, "a: zz\n", NULL, NULL, -EINVAL, "In lab.dep - Line 1: unknown device `zz`.");
	bad(conf, "\nzz: a\n", NULL, NULL, -EINVAL, "In lab.dep - Line 2: unknown device `zz`.");
	bad(conf, "a: a\n", NULL, NULL, -ELOOP, "lab.dep: dependency loop: a -> a");
	bad(conf, "a: b\nb: c\nc: a\n", NULL, NULL, -ELOOP,
	    "lab.dep: dependency loop: a -> b -> c -> a");
	bad(conf, "a: c\nb: c\nc: b\n", NULL, NULL, -ELOOP,
	    "lab.dep: dependency loop: c -> b -> c");
}

/* ---- lab.ext ---- */

static void test_ext(void **state)
{
	const char *conf = "a[0]=A\na[1]=B\n";
	struct uk_lab *lab = ok(conf, NULL, "# uplinks\nA enp9s0\nB\tenp9s0.20\nA eth1.0\n", NULL);

	assert_int_equal(lab->n_ext, 3);
	assert_string_equal(lab->ext[0].cd, "A");
	assert_string_equal(lab->ext[0].ifname, "enp9s0");
	assert_int_equal(lab->ext[0].vlan, 0);
	assert_int_equal(lab->ext[1].vlan, 20);
	assert_int_equal(lab->ext[1].line, 3);
	assert_int_equal(lab->ext[2].vlan, 0);
	uk_lab_free(lab);
	bad(conf, NULL, "A eth0.4095\n", NULL, -EINVAL,
	    "In file lab.ext, line 1: VLAN ID must be in range [1, 4094].");
	bad(conf, NULL, "A eth0.99999999999999999999999\n", NULL, -EINVAL,
	    "In file lab.ext, line 1: VLAN ID must be in range [1, 4094].");
	bad(conf, NULL, "\nA eth-0\n", NULL, -EINVAL, "In file lab.ext, line 2 malformed.");
	bad(conf, NULL, "A\n", NULL, -EINVAL, "In file lab.ext, line 1 malformed.");
	bad(conf, NULL, "A eth0.\n", NULL, -EINVAL, "In file lab.ext, line 1 malformed.");
	bad(conf, NULL, "  # indented\n", NULL, -EINVAL, "In file lab.ext, line 1 malformed.");
	bad(conf, NULL, "C eth0\n", NULL, -EINVAL,
	    "In file lab.ext, line 1: collision domain `C` is not in lab.conf.");
	bad(conf, NULL, "A abcdefghijklmnop\n", NULL, -EINVAL,
	    "In file lab.ext, line 1: interface name `abcdefghijklmnop` is longer than 15 "
	    "characters.");
}

/* lab.conf and lab.hosts parsed and finished: 0 and the lab, or the error with err set */
static int hosts(const char *conf, const char *h, struct uk_lab **out, struct uk_err *err)
{
	struct uk_lab *lab = uk_lab_new("/labs/h");
	int r;

	assert_non_null(lab);
	uk_err_clear(err);
	r = uk_lab_conf_parse(lab, conf, strlen(conf), err);
	if (r == 0)
		r = uk_lab_hosts_parse(lab, h, strlen(h), err);
	if (r == 0)
		r = uk_lab_finish(lab, NULL, err);
	if (r < 0) {
		uk_lab_free(lab);
		lab = NULL;
	}
	*out = lab;
	return r;
}

static void bad_hosts(const char *h, const char *msg)
{
	struct uk_err err = {0};
	struct uk_lab *lab;

	assert_int_equal(hosts("a[0]=A\nb[0]=A\nb[1]=B\n", h, &lab, &err), -EINVAL);
	assert_null(lab);
	assert_string_equal(err.msg, msg);
}

/* lab.hosts: hosts, their machines, the settings, the domains' order kept for VNIs */
static void test_hosts(void **state)
{
	const char *conf = "a[0]=A\nb[0]=A\nb[1]=B\n";
	struct uk_err err = {0};
	struct uk_lab *lab;

	assert_int_equal(
		hosts(conf, "# two hosts\nh1 10.0.0.1 a\nh-2\t2001:db8::2  b\n", &lab, &err), 0);
	assert_int_equal(lab->n_host, 2);
	assert_string_equal(lab->host[1].name, "h-2");
	assert_string_equal(lab->host[1].addr, "2001:db8::2");
	assert_int_equal(lab->host[1].line, 3);
	assert_string_equal(uk_lab_host_of(lab, "a")->name, "h1");
	assert_string_equal(uk_lab_host_of(lab, "b")->name, "h-2");
	assert_null(uk_lab_host_of(lab, "c"));
	assert_int_equal(lab->vni_base, UK_LAB_VNI_BASE);
	assert_int_equal(lab->port_base, UK_LAB_PORT_BASE);
	assert_int_equal(lab->n_span_cd, 2);
	assert_string_equal(lab->span_cd[1], "B");
	uk_lab_free(lab);
	assert_int_equal(hosts(conf, "vni 77\nport 9000\nh1 10.0.0.1 a b\n", &lab, &err), 0);
	assert_int_equal(lab->vni_base, 77);
	assert_int_equal(lab->port_base, 9000);
	uk_lab_free(lab);
	bad_hosts("h1 10.0.0.1 a\n", "lab.hosts: machine 'b' is on no host");
	bad_hosts("h1 10.0.0.1 a b\nh2 10.0.0.2 b\n", "lab.hosts:2: placed on a second host: 'b'");
	bad_hosts("h1 10.0.0.1 a b c\n", "lab.hosts:1: no machine 'c' in the lab");
	bad_hosts("h1 host1.example a b\n",
		  "lab.hosts:1: not an IPv4 or IPv6 address (no names): 'host1.example'");
	bad_hosts("h1 10.0.0.1 a\nh1 10.0.0.2 b\n", "lab.hosts:2: a second line for 'h1'");
	bad_hosts("h1 10.0.0.1 a\nh2 10.0.0.1 b\n", "lab.hosts:2: a second line for '10.0.0.1'");
	bad_hosts("h/1 10.0.0.1 a b\n",
		  "lab.hosts:1: a host's name is letters, digits, '_', '.', '-', not 'h/1'");
	bad_hosts("h1\n", "lab.hosts:1: want HOST ADDRESS MACHINE...");
	bad_hosts("vni 0\nh1 10.0.0.1 a b\n", "lab.hosts:1: vni 0 is not 1..16777215");
	bad_hosts("port 65536\nh1 10.0.0.1 a b\n", "lab.hosts:1: port 65536 is not 1..65535");
	bad_hosts("vni 5 6\nh1 10.0.0.1 a b\n", "lab.hosts:1: want 'vni N'");
}

/* ---- uk_lab_load ---- */

static void test_load_kathara(void **state)
{
	struct uk_lab *lab = NULL;
	struct uk_err err = {0};
	char want[PATH_MAX];

	assert_int_equal(uk_lab_load(LABS "static-routing", NULL, &lab, &err), 0);
	assert_non_null(realpath(LABS "static-routing", want));
	assert_string_equal(lab->dir, want);
	assert_int_equal(lab->dialect, UK_LAB_KATHARA);
	assert_int_equal(lab->n_machine, 4);
	assert_string_equal(lab->machine[0].name, "r1");
	assert_string_equal(lab->machine[3].name, "pc2");
	assert_false(lab->machine[0].has_dir);
	assert_string_equal(lab->machine[1].iface[1].cd, "C");
	assert_int_equal(lab->n_cd, 3);
	assert_string_equal(lab->cd[2], "B");
	assert_string_equal(lab->meta[UK_LAB_META_VERSION], "1.1");
	assert_false(lab->has_dep);
	uk_lab_free(lab);
}

static void test_load_netkit(void **state)
{
	struct uk_lab_load_opts f = {.folder = true};
	struct uk_lab *lab = NULL;
	struct uk_err err = {0};
	const struct uk_lab_machine *r1;

	assert_int_equal(uk_lab_load(LABS "netkit-flags", NULL, &lab, &err), 0);
	assert_int_equal(lab->dialect, UK_LAB_NETKIT);
	assert_int_equal(lab->n_machine, 3); /* pc3/ is not in lab.conf */
	r1 = uk_lab_machine_find(lab, "r1");
	assert_non_null(r1);
	assert_true(r1->has_dir);
	assert_int_equal(r1->mem_mib, 48);
	assert_string_equal(r1->image, "/usr/share/netkit/fs/netkit-fs");
	assert_string_equal(uk_lab_opt_get(r1, "d"), "");
	assert_string_equal(r1->append[0], "quiet");
	assert_true(lab->has_dep);
	assert_int_equal(uk_lab_machine_find(lab, "pc1")->dep[0], 0);
	assert_string_equal(uk_lab_machine_find(lab, "pc1")->con0, "none");
	assert_true(has_warning(lab, "lab.conf: Interface `1` missing on device `r1`: a gap, no "
				     "device is made"));
	uk_lab_free(lab);

	assert_int_equal(uk_lab_load(LABS "netkit-flags", &f, &lab, &err), 0);
	assert_int_equal(lab->n_machine, 4);
	assert_string_equal(lab->machine[3].name, "pc3");
	assert_true(lab->machine[3].has_dir);
	uk_lab_free(lab);

	assert_int_equal(uk_lab_load(LABS "netkit-dirs", NULL, &lab, &err), 0);
	assert_int_equal(lab->dialect, UK_LAB_NETKIT);
	assert_int_equal(lab->n_machine, 2);
	assert_string_equal(lab->machine[0].name, "a");
	assert_string_equal(lab->machine[1].name, "b");
	assert_int_equal(lab->n_warning, 1);
	assert_non_null(strstr(lab->warning[0], "directory `bad.name` is not a device name"));
	uk_lab_free(lab);
}

static void test_load_only(void **state)
{
	const char *only[] = {"pc2"}, *unknown[] = {"pc9"};
	struct uk_lab_load_opts o = {.only = only, .n_only = 1};
	struct uk_lab_load_opts u = {.only = unknown, .n_only = 1};
	struct uk_lab *lab = NULL;
	struct uk_err err = {0};

	assert_int_equal(uk_lab_load(LABS "netkit-flags", &o, &lab, &err), 0);
	assert_int_equal(lab->n_machine, 2); /* pc2 and r1, which it starts after */
	assert_string_equal(lab->machine[0].name, "r1");
	assert_string_equal(lab->machine[1].name, "pc2");
	assert_int_equal(lab->machine[1].n_dep, 1);
	assert_int_equal(lab->machine[1].dep[0], 0);
	assert_int_equal(lab->n_cd, 2);
	uk_lab_free(lab);

	assert_int_equal(uk_lab_load(LABS "netkit-flags", &u, &lab, &err), -EINVAL);
	assert_null(lab);
	assert_non_null(strstr(err.msg, "netkit-flags: no device `pc9` in the lab"));
}

struct scratch {
	char dir[256];
};

static int scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	snprintf(s->dir, sizeof(s->dir), "/tmp/test_lab.XXXXXX");
	if (!mkdtemp(s->dir)) {
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;
	int dfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd >= 0) {
		uk_remove_tree(dfd, s->dir + 5);
		close(dfd);
	}
	free(s);
	return 0;
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_load_files(void **state)
{
	struct scratch *s = *state;
	struct uk_lab_load_opts f = {.folder = true};
	struct uk_lab *lab = NULL;
	struct uk_err err = {0};
	char path[PATH_MAX], want[PATH_MAX + 128];

	/* no lab.conf, no lab.dep: only -F reads it */
	assert_int_equal(uk_lab_load(s->dir, NULL, &lab, &err), -ENOENT);
	snprintf(want, sizeof(want),
		 "%s: no lab.conf or lab.dep (-F starts the machines found in its directories)",
		 s->dir);
	assert_string_equal(err.msg, want);
	snprintf(path, sizeof(path), "%s/m1", s->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(uk_lab_load(s->dir, &f, &lab, &err), 0);
	assert_int_equal(lab->n_machine, 1);
	assert_int_equal(lab->dialect, UK_LAB_NETKIT);
	uk_lab_free(lab);

	/* an empty lab.dep is a lab (Netkit's parallel start) */
	put(s->dir, "lab.dep", "");
	assert_int_equal(uk_lab_load(s->dir, NULL, &lab, &err), 0);
	assert_true(lab->has_dep);
	assert_false(lab->has_conf);
	assert_string_equal(lab->machine[0].name, "m1");
	uk_lab_free(lab);

	/* lab.conf is never followed through a symlink */
	put(s->dir, "real.conf", "m1[0]=A\n");
	snprintf(path, sizeof(path), "%s/lab.conf", s->dir);
	assert_int_equal(symlink("real.conf", path), 0);
	assert_int_equal(uk_lab_load(s->dir, NULL, &lab, &err), -ELOOP);
	snprintf(want, sizeof(want), "%s/lab.conf: a symbolic link, refused", s->dir);
	assert_string_equal(err.msg, want);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(uk_lab_load(s->dir, NULL, &lab, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s/lab.conf: not a regular file", s->dir);
	assert_string_equal(err.msg, want);
	assert_int_equal(rmdir(path), 0);
	put(s->dir, "lab.conf", "m1[0]=A\nm1[0]=\"B\n");
	assert_int_equal(uk_lab_load(s->dir, NULL, &lab, &err), -EINVAL);
	assert_string_equal(err.msg, "In lab.conf - Line 2: `m1[0]=\"B`.");
	assert_null(lab);
}

/* ---- lab info ---- */

static struct uk_lab *info_lab(void)
{
	return ok("LAB_NAME=\"routing\"\nLAB_AUTHOR=me\n"
		  "r1[0]=A\nr1[1]=B/02:00:00:00:00:01\nr1[mem]=96\nr1[image]=kathara/frr\n"
		  "pc1[0]=A\npc1[bridged]=true\npc1[port]=8080:80\npc1[exec]=echo hi\n",
		  "pc1: r1\n", "B eth1.7\n", NULL);
}

/* fn's output for info_lab() is want. */
static void info_is(char *(*fn)(const struct uk_lab *lab), const char *want)
{
	struct uk_lab *lab = info_lab();
	char *text = fn(lab);

	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
	uk_lab_free(lab);
}

static void test_info_text(void **state)
{
	info_is(uk_lab_info_text, "Lab directory: /labs/t\n"
				  "Name: routing\n"
				  "Author: me\n"
				  "Dialect: kathara\n"
				  "Devices: 2\n"
				  "  r1: eth0=A eth1=B mem=96M image=kathara/frr\n"
				  "  pc1: eth0=A bridged after=r1\n"
				  "Collision domains: 2\n"
				  "  A\n"
				  "  B\n"
				  "External: B on eth1.7\n"
				  "The lab supports parallel startup (lab.dep).\n");
}

static void test_info_json(void **state)
{
	struct uk_lab *lab = info_lab();
	char *text = uk_lab_info_json(lab);
	json_error_t jerr;
	json_t *j, *r1, *pc1;

	assert_non_null(text);
	j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "dialect")), "kathara");
	assert_string_equal(json_string_value(json_object_get(j, "id")), lab->id);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "meta"), "name")),
			    "routing");
	assert_true(json_is_null(json_object_get(json_object_get(j, "meta"), "web")));
	assert_true(json_is_true(json_object_get(j, "has_dep")));
	assert_int_equal(json_array_size(json_object_get(j, "machines")), 2);
	r1 = json_array_get(json_object_get(j, "machines"), 0);
	pc1 = json_array_get(json_object_get(j, "machines"), 1);
	assert_string_equal(json_string_value(json_object_get(r1, "name")), "r1");
	assert_int_equal(json_integer_value(json_object_get(r1, "mem_mib")), 96);
	assert_string_equal(json_string_value(json_object_get(r1, "image")), "kathara/frr");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(r1, "interfaces"), 1), "mac")),
			    "02:00:00:00:00:01");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(r1, "interfaces"), 1), "cd")),
			    "B");
	assert_true(json_is_true(json_object_get(pc1, "bridged")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(pc1, "depends"), 0)),
			    "r1");
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(pc1, "ports"), 0), "host")),
			 8080);
	assert_string_equal(json_string_value(json_array_get(json_object_get(pc1, "exec"), 0)),
			    "echo hi");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(pc1, "options"), 0), "key")),
			    "bridged");
	assert_int_equal(json_array_size(json_object_get(j, "collision_domains")), 2);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(j, "ext"), 0), "vlan")),
			 7);
	json_decref(j);
	free(text);
	uk_lab_free(lab);
}

static void test_info_dot(void **state)
{
	info_is(uk_lab_info_dot, "graph \"lab\" {\n"
				 "\t\"m:r1\" [shape=box, label=\"r1\"];\n"
				 "\t\"m:pc1\" [shape=box, label=\"pc1\"];\n"
				 "\t\"cd:A\" [shape=ellipse, label=\"A\"];\n"
				 "\t\"cd:B\" [shape=ellipse, label=\"B\"];\n"
				 "\t\"m:r1\" -- \"cd:A\" [label=\"eth0\"];\n"
				 "\t\"m:r1\" -- \"cd:B\" [label=\"eth1\"];\n"
				 "\t\"m:pc1\" -- \"cd:A\" [label=\"eth0\"];\n"
				 "}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kathara_conf),
		cmocka_unit_test(test_kathara_conf_errors),
		cmocka_unit_test(test_conf_limits),
		cmocka_unit_test(test_conf_metadata),
		cmocka_unit_test(test_crlf_bom),
		cmocka_unit_test(test_netkit_forms),
		cmocka_unit_test(test_netkit_machine_list),
		cmocka_unit_test(test_typed_options),
		cmocka_unit_test(test_option_errors),
		cmocka_unit_test(test_option_warnings),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_dep),
		cmocka_unit_test(test_dep_errors),
		cmocka_unit_test(test_ext),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_load_kathara),
		cmocka_unit_test(test_load_netkit),
		cmocka_unit_test(test_load_only),
		cmocka_unit_test_setup_teardown(test_load_files, scratch_setup, scratch_teardown),
		cmocka_unit_test(test_info_text),
		cmocka_unit_test(test_info_json),
		cmocka_unit_test(test_info_dot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
