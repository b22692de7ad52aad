// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/lab/check.c and check_run.c: the check file of `lab check` parsed (every error with
 * its line), and each kind's guest command and judgement run against a fake exec function
 * that answers with canned output and records the argv it was given; ltest's comparison
 * of a run with its signature (diff -bB) and the --verify words (lib/lab/ltest.c).
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
#include <unistd.h>

#include <cmocka.h>

#include "umlkit/lab.h"
#include "umlkit/util.h"

static struct uk_lab_checks parse_ok(const char *text)
{
	struct uk_lab_checks l;
	struct uk_err err = {0};
	int r = uk_lab_check_parse("lab.check", text, strlen(text), &l, &err);

	if (r != 0)
		fail_msg("unexpected error %d: %s", r, err.msg);
	return l;
}

static void parse_bad(const char *text, const char *msg)
{
	struct uk_lab_checks l = {0};
	struct uk_err err = {0};

	assert_int_equal(uk_lab_check_parse("lab.check", text, strlen(text), &l, &err), -EINVAL);
	assert_string_equal(err.msg, msg);
	assert_int_equal(l.n, 0);
	assert_null(l.check);
}

static void test_parse(void **state)
{
	struct uk_lab_checks l =
		parse_ok("# reachability\n"
			 "pc1 ping 10.0.0.1\n"
			 "\n"
			 "pc1 dns www.lab.org a 10.0.0.80 @10.0.0.53   # the web server\r\n"
			 "pc1 http http://10.0.0.80/ contains \"It works!\"\n"
			 "r1 route default via 10.0.0.254 dev eth1\n"
			 "r1 route 10.1.0.0/16 dev eth0\n"
			 "r1 listen udp 53\n"
			 "r1 daemon zebra\n"
			 "r1 ospf-neighbor 2.2.2.2\n"
			 "r1 bgp-neighbor fd00::2 Active\n");

	assert_int_equal(l.n, 9);
	assert_int_equal(l.check[0].kind, UK_LAB_CHECK_PING);
	assert_string_equal(l.check[0].machine, "pc1");
	assert_int_equal(l.check[0].line, 2);
	assert_string_equal(l.check[0].arg[0], "10.0.0.1");
	assert_int_equal(l.check[1].kind, UK_LAB_CHECK_DNS);
	assert_string_equal(l.check[1].arg[1], "A");
	assert_string_equal(l.check[1].arg[3], "10.0.0.53");
	assert_int_equal(l.check[1].line, 4);
	assert_string_equal(l.check[2].arg[1], "It works!");
	assert_string_equal(l.check[3].arg[1], "10.0.0.254");
	assert_string_equal(l.check[3].arg[2], "eth1");
	assert_null(l.check[4].arg[1]);
	assert_string_equal(l.check[4].arg[2], "eth0");
	assert_string_equal(l.check[5].arg[0], "udp");
	assert_int_equal(l.check[6].kind, UK_LAB_CHECK_DAEMON);
	assert_int_equal(l.check[7].kind, UK_LAB_CHECK_OSPF_NEIGHBOR);
	assert_string_equal(l.check[8].arg[1], "Active");
	uk_lab_checks_free(&l);
}

static void test_parse_errors(void **state)
{
	parse_bad("pc1 ping 10.0.0.1\npc1\n",
		  "lab.check:2: `pc1`: a check is MACHINE KIND ARGS...");
	parse_bad("pc+1 ping 10.0.0.1\n", "lab.check:1: `pc+1` is not a device name");
	parse_bad("pc1 trace 10.0.0.1\n",
		  "lab.check:1: unknown check `trace` (ping, dns, http, route, listen, daemon, "
		  "ospf-neighbor, bgp-neighbor)");
	parse_bad("pc1 ping\n", "lab.check:1: ping wants ADDR");
	parse_bad("pc1 ping -f\n", "lab.check:1: `-f` is not an address or host name");
	parse_bad("pc1 ping a;b\n", "lab.check:1: `a;b` is not an address or host name");
	parse_bad("pc1 dns www A\n", "lab.check:1: dns wants NAME TYPE EXPECTED [@SERVER]");
	parse_bad("pc1 dns www ANY 1.2.3.4\n",
		  "lab.check:1: `ANY` is not a record type (A, AAAA, MX, NS, CNAME, TXT, PTR, SOA, "
		  "SRV, CAA)");
	parse_bad("pc1 dns www A 1.2.3.4 10.0.0.53\n", "lab.check:1: `10.0.0.53` is not @SERVER");
	parse_bad("pc1 dns -www A 1.2.3.4\n", "lab.check:1: `-www` is not a domain name");
	parse_bad("pc1 http ftp://x/\n",
		  "lab.check:1: `ftp://x/` is not an http:// or https:// URL");
	parse_bad("pc1 http http://x/ has y\n", "lab.check:1: http wants URL [contains TEXT]");
	parse_bad("pc1 http http://x/ contains \"\"\n",
		  "lab.check:1: http: contains an empty text");
	parse_bad("r1 route 10.0.0.0/33\n",
		  "lab.check:1: `10.0.0.0/33` is not a prefix (ADDR[/LEN] or default)");
	parse_bad("r1 route default via\n", "lab.check:1: route wants PREFIX [via GW] [dev IF]");
	parse_bad("r1 route default via 1.1.1.1 via 2.2.2.2\n",
		  "lab.check:1: route wants PREFIX [via GW] [dev IF]");
	parse_bad("r1 route default via gw\n", "lab.check:1: `gw` is not an address");
	parse_bad("r1 route default dev -x\n", "lab.check:1: `-x` is not an interface name");
	parse_bad("r1 listen sctp 80\n", "lab.check:1: listen wants tcp|udp PORT");
	parse_bad("r1 listen tcp 65536\n", "lab.check:1: `65536` is not a port (1..65535)");
	parse_bad("r1 daemon a/b\n", "lab.check:1: `a/b` is not a program name");
	parse_bad("r1 ospf-neighbor r2\n", "lab.check:1: `r2` is not a router id (A.B.C.D)");
	parse_bad("r1 bgp-neighbor 10.0.0.2 Up Now\n",
		  "lab.check:1: bgp-neighbor wants ADDR [STATE]");
	parse_bad("r1 bgp-neighbor peer\n", "lab.check:1: `peer` is not an address");
	parse_bad("r1 http http://x/ contains \"open\n", "lab.check:1: unmatched quote");
	parse_bad("r1 http http://x/ contains a\"b\n", "lab.check:1: unmatched quote");
	parse_bad("r1 ping 1 2 3 4 5 6 7\n", "lab.check:1: more than 8 words");
}

/* ---- the evaluator ---- */

struct canned {
	const char *machine, *cmd; /* argv joined by spaces */
	const char *out;
	int status, r;
};

struct fake {
	const struct canned *c;
	int n;
	char last[256]; /* MACHINE: argv of the last call */
};

static int fake_exec(void *ctx, const char *machine, char *const argv[], char **out, int *status)
{
	struct fake *f = ctx;
	char cmd[200] = "";

	for (int i = 0; argv[i]; i++)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s%s", i ? " " : "",
			 argv[i]);
	snprintf(f->last, sizeof(f->last), "%s: %s", machine, cmd);
	for (int i = 0; i < f->n; i++) {
		if (strcmp(f->c[i].machine, machine) || strcmp(f->c[i].cmd, cmd))
			continue;
		if (f->c[i].r < 0)
			return f->c[i].r;
		*out = strdup(f->c[i].out);
		*status = f->c[i].status;
		return 0;
	}
	fail_msg("unexpected command on %s: %s", machine, cmd);
	return -ENOENT;
}

static const char ss_tcp[] = "State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
			     "LISTEN 0      4096   0.0.0.0:80         0.0.0.0:*\n"
			     "LISTEN 0      4096   [::]:179           [::]:*\n";
static const char ospf[] =
	"\nNeighbor ID     Pri State           Up Time         Dead Time Address         "
	"Interface\n"
	"2.2.2.2           1 Full/DR         1m02s             35.212s 10.0.0.2        "
	"eth0:10.0.0.1\n"
	"3.3.3.3           1 Init/DROther    0.512s            39.487s 10.0.1.3        "
	"eth1:10.0.1.1\n";
static const char bgp[] =
	"IPv4 Unicast Summary (VRF default):\n"
	"BGP router identifier 1.1.1.1, local AS number 65001 vrf-id 0\n\n"
	"Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down "
	"State/PfxRcd   PfxSnt Desc\n"
	"10.0.0.2        4      65002        12        12        0    0    0 00:05:01 "
	"3        4 N/A\n"
	"10.0.0.3        4      65003         0         0        0    0    0    never "
	"Active        0 N/A\n";

static const struct canned answers[] = {
	{"pc1", "ping -c1 -W2 10.0.0.1", "1 packets transmitted, 1 received", 0, 0},
	{"pc1", "ping -c1 -W2 10.0.9.9", "1 packets transmitted, 0 received", 1, 0},
	{"pc1", "dig +short @10.0.0.53 www.lab.org A", "10.0.0.80\n", 0, 0},
	{"pc1", "dig +short www.lab.org MX", "10 mail.lab.org.\n", 0, 0},
	{"pc1", "dig +short www.lab.org CNAME", "web.lab.org.\n", 0, 0},
	{"pc1", "dig +short nx.lab.org A", "", 0, 0},
	{"pc1", "curl -s --max-time 10 http://10.0.0.80/", "<h1>It works!</h1>", 0, 0},
	{"pc1", "curl -s --max-time 10 http://10.0.0.81/", "", 7, 0},
	{"r1", "ip route show default", "default via 10.0.0.254 dev eth1 proto static\n", 0, 0},
	{"r1", "ip route show 10.1.0.0/16", "10.1.0.0/16 via 10.0.0.2 dev eth0\n", 0, 0},
	{"r1", "ip route show 10.9.9.9/32", "10.9.9.9 dev eth2 scope link\n", 0, 0},
	{"r1", "ip route show 10.2.0.0/16", "", 0, 0},
	{"r1", "ss -ltn", ss_tcp, 0, 0},
	{"r1", "ss -lun", "State Recv-Q Send-Q Local Address:Port Peer Address:Port\n", 0, 0},
	{"r1", "pidof zebra", "412\n", 0, 0},
	{"r1", "pidof bgpd", "", 1, 0},
	{"r1", "vtysh -c show ip ospf neighbor", ospf, 0, 0},
	{"r1", "vtysh -c show bgp summary", bgp, 0, 0},
	{"down", "ping -c1 -W2 10.0.0.1", NULL, 0, -EHOSTDOWN},
};

/* One check line run: its result's pass and detail, and the command it ran. */
static void run_is(const char *line, bool pass, const char *detail, const char *cmd)
{
	struct fake f = {.c = answers, .n = (int)UK_ARRAY_SIZE(answers)};
	struct uk_lab_checks l = parse_ok(line);
	struct uk_lab_check_result res;

	assert_int_equal(l.n, 1);
	assert_int_equal(uk_lab_check_run(&l, fake_exec, &f, &res), pass ? 0 : 1);
	assert_int_equal(res.pass, pass);
	assert_string_equal(res.detail, detail);
	assert_string_equal(f.last, cmd);
	uk_lab_checks_free(&l);
}

static void test_run_reach(void **state)
{
	run_is("pc1 ping 10.0.0.1", true, "", "pc1: ping -c1 -W2 10.0.0.1");
	run_is("pc1 ping 10.0.9.9", false, "ping exited 1", "pc1: ping -c1 -W2 10.0.9.9");
	run_is("down ping 10.0.0.1", false, "cannot run ping on down: Host is down",
	       "down: ping -c1 -W2 10.0.0.1");
	run_is("pc1 dns www.lab.org A 10.0.0.80 @10.0.0.53", true, "",
	       "pc1: dig +short @10.0.0.53 www.lab.org A");
	run_is("pc1 dns www.lab.org cname WEB.lab.org", true, "",
	       "pc1: dig +short www.lab.org CNAME");
	run_is("pc1 dns www.lab.org MX mail.lab.org", false,
	       "www.lab.org MX: got `10 mail.lab.org.`, want `mail.lab.org`",
	       "pc1: dig +short www.lab.org MX");
	run_is("pc1 dns nx.lab.org A 10.0.0.1", false,
	       "nx.lab.org A: got no answer, want `10.0.0.1`", "pc1: dig +short nx.lab.org A");
	run_is("pc1 http http://10.0.0.80/ contains \"It works!\"", true, "",
	       "pc1: curl -s --max-time 10 http://10.0.0.80/");
	run_is("pc1 http http://10.0.0.80/ contains Welcome", false,
	       "http://10.0.0.80/ does not contain `Welcome`",
	       "pc1: curl -s --max-time 10 http://10.0.0.80/");
	run_is("pc1 http http://10.0.0.81/", false, "curl exited 7",
	       "pc1: curl -s --max-time 10 http://10.0.0.81/");
}

static void test_run_routes(void **state)
{
	run_is("r1 route default via 10.0.0.254 dev eth1", true, "", "r1: ip route show default");
	run_is("r1 route default via 10.0.0.1", false,
	       "route to default goes via 10.0.0.254, want 10.0.0.1", "r1: ip route show default");
	run_is("r1 route 10.1.0.0/16 dev eth1", false,
	       "route to 10.1.0.0/16 goes out of eth0, want eth1", "r1: ip route show 10.1.0.0/16");
	run_is("r1 route 10.9.9.9/32 dev eth2", true, "", "r1: ip route show 10.9.9.9/32");
	run_is("r1 route 10.2.0.0/16", false, "no route to 10.2.0.0/16",
	       "r1: ip route show 10.2.0.0/16");
	run_is("r1 listen tcp 179", true, "", "r1: ss -ltn");
	run_is("r1 listen tcp 17", false, "nothing listens on tcp port 17", "r1: ss -ltn");
	run_is("r1 listen udp 53", false, "nothing listens on udp port 53", "r1: ss -lun");
	run_is("r1 daemon zebra", true, "", "r1: pidof zebra");
	run_is("r1 daemon bgpd", false, "bgpd is not running", "r1: pidof bgpd");
}

static void test_run_routing(void **state)
{
	const char *ospf_cmd = "r1: vtysh -c show ip ospf neighbor";
	const char *bgp_cmd = "r1: vtysh -c show bgp summary";

	run_is("r1 ospf-neighbor 2.2.2.2", true, "", ospf_cmd);
	run_is("r1 ospf-neighbor 3.3.3.3", false,
	       "OSPF neighbor 3.3.3.3 is Init/DROther, want Full or 2-Way", ospf_cmd);
	run_is("r1 ospf-neighbor 4.4.4.4", false, "no OSPF neighbor 4.4.4.4", ospf_cmd);
	run_is("r1 bgp-neighbor 10.0.0.2", true, "", bgp_cmd);
	run_is("r1 bgp-neighbor 10.0.0.3", false,
	       "BGP neighbor 10.0.0.3 is Active, want Established", bgp_cmd);
	run_is("r1 bgp-neighbor 10.0.0.3 active", true, "", bgp_cmd);
	run_is("r1 bgp-neighbor 10.0.0.9", false, "no BGP neighbor 10.0.0.9", bgp_cmd);
}

static void test_run_list(void **state)
{
	struct fake f = {.c = answers, .n = (int)UK_ARRAY_SIZE(answers)};
	struct uk_lab_checks l = parse_ok("pc1 ping 10.0.0.1\nr1 daemon bgpd\nr1 daemon zebra\n"
					  "pc1 ping 10.0.9.9\n");
	struct uk_lab_check_result res[4];

	assert_int_equal(uk_lab_check_run(&l, fake_exec, &f, res), 2);
	assert_true(res[0].pass);
	assert_int_equal(res[0].status, 0);
	assert_false(res[1].pass);
	assert_int_equal(res[1].status, 1);
	assert_true(res[2].pass);
	assert_false(res[3].pass);
	uk_lab_checks_free(&l);
}

static void test_load(void **state)
{
	char dir[] = "/tmp/test_lab_check.XXXXXX", path[64], want[256];
	struct uk_lab_checks l;
	struct uk_err err = {0};
	FILE *fp;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(uk_lab_check_load(dir, NULL, &l, &err), -ENOENT);
	snprintf(want, sizeof(want), "%s/lab.check: no such check file", dir);
	assert_string_equal(err.msg, want);
	snprintf(path, sizeof(path), "%s/lab.check", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("pc1 ping 10.0.0.1\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(uk_lab_check_load(dir, NULL, &l, &err), 0);
	assert_int_equal(l.n, 1);
	uk_lab_checks_free(&l);
	snprintf(path, sizeof(path), "%s/more.check", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("pc1 ping 10.0.0.1\npc1 pong\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(uk_lab_check_load(dir, path, &l, &err), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:2: unknown check `pong` (ping, dns, http, route, listen, daemon, "
		 "ospf-neighbor, bgp-neighbor)",
		 path);
	assert_string_equal(err.msg, want);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lab.check", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

/* ltest: blanks, trailing blanks and blank lines do not count; anything else does */
static void test_ltest_same(void **state)
{
	static const char sig[] = "# addresses\n1: lo: <LOOPBACK,UP>\n    inet 127.0.0.1/8\n"
				  "# routes\n10.0.0.0  0.0.0.0  255.0.0.0 U 0 0 0 eth0\n";
	static const char spaced[] =
		"# addresses\n1: lo:\t<LOOPBACK,UP>  \n\n  \tinet 127.0.0.1/8\n"
		"\n# routes\r\n10.0.0.0 0.0.0.0\t\t255.0.0.0 U 0 0 0 eth0\n\n";
	static const char other[] = "# addresses\n1: lo: <LOOPBACK,UP>\n    inet 127.0.0.2/8\n"
				    "# routes\n10.0.0.0  0.0.0.0  255.0.0.0 U 0 0 0 eth0\n";
	int line = 0;
	enum uk_lab_verify v;

	assert_true(uk_lab_test_same(sig, strlen(sig), sig, strlen(sig), &line));
	assert_true(uk_lab_test_same(spaced, strlen(spaced), sig, strlen(sig), &line));
	assert_true(uk_lab_test_same("", 0, "\n \n\t\n", 5, &line));
	assert_false(uk_lab_test_same(other, strlen(other), sig, strlen(sig), &line));
	assert_int_equal(line, 3);
	/* leading blanks count (-b, not -w), and a blank inside a word does */
	assert_false(uk_lab_test_same("inet x\n", 7, "  inet x\n", 9, &line));
	assert_false(uk_lab_test_same("ab\n", 3, "a b\n", 4, &line));
	/* a line more or less, at the end of either */
	assert_false(uk_lab_test_same(sig, strlen(sig), sig, strlen(sig) - 10, &line));
	assert_int_equal(line, 5);
	assert_false(uk_lab_test_same("a\n", 2, "a\nb\n", 4, &line));
	assert_int_equal(line, 2);
	assert_int_equal(uk_lab_verify_parse("user", &v), 0);
	assert_int_equal(v, UK_LAB_VERIFY_USER);
	assert_int_equal(uk_lab_verify_parse("builtin", &v), 0);
	assert_int_equal(v, UK_LAB_VERIFY_BUILTIN);
	assert_int_equal(uk_lab_verify_parse("both", &v), 0);
	assert_int_equal(v, UK_LAB_VERIFY_BOTH);
	assert_int_equal(uk_lab_verify_parse("all", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),	    cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_run_reach),   cmocka_unit_test(test_run_routes),
		cmocka_unit_test(test_run_routing), cmocka_unit_test(test_run_list),
		cmocka_unit_test(test_load),	    cmocka_unit_test(test_ltest_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
