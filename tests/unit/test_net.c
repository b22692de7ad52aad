// SPDX-License-Identifier: LGPL-2.1-or-later
/* lib/net: interface name checks, the policy parser, its formatter and the nft renderer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "umlkit/net.h"

static void test_names(void **state)
{
	struct uk_err err = {0};

	assert_int_equal(uk_net_name_check("uktap0", "tap", true, &err), 0);
	assert_int_equal(uk_net_name_check("uml-conn0", "tap", false, &err), 0);
	assert_int_equal(uk_net_name_check("a.b_c-d", "tap", false, &err), 0);
	assert_int_equal(uk_net_name_check("123456789012345", "tap", false, &err), 0);
	assert_int_equal(uk_net_name_check("1234567890123456", "tap", false, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "16 characters long"));
	assert_int_equal(uk_net_name_check("", "tap", false, &err), -EINVAL);
	assert_int_equal(uk_net_name_check("-x", "tap", false, &err), -EINVAL);
	assert_int_equal(uk_net_name_check(".", "tap", false, &err), -EINVAL);
	assert_int_equal(uk_net_name_check("..", "tap", false, &err), -EINVAL);
	static const char *const odd[] = {"a b", "a/b", "a:b", "a;b", "a%d", "a\nb", "tap\xc3\xa9"};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		assert_int_equal(uk_net_name_check(odd[i], "tap", false, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "is not allowed"));
	}
	assert_int_equal(uk_net_name_check("uml-conn0", "tap", true, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "does not start with 'uk'"));
}

static void test_ports(void **state)
{
	struct uk_fw_port v[UK_FW_PORTS_MAX];
	struct uk_err err = {0};
	int n;

	assert_int_equal(uk_fw_parse_ports("tcp/80,tcp/443,udp/53,tcp/8000-8080,icmp", v, 32, &n,
					   "--allow", &err),
			 0);
	assert_int_equal(n, 5);
	assert_int_equal(v[0].proto, UK_FW_TCP);
	assert_int_equal(v[0].lo, 80);
	assert_int_equal(v[2].proto, UK_FW_UDP);
	assert_int_equal(v[3].lo, 8000);
	assert_int_equal(v[3].hi, 8080);
	assert_int_equal(v[4].proto, UK_FW_ICMP);
	static const char *const bad[] = {"",	       "tcp",		"tcp/",	      "tcp/0",
					  "tcp/65536", "tcp/-1",	"tcp/+80",    "tcp/80,",
					  ",tcp/80",   "tcp/80,,udp/1", "udp/9-8",    "icmp/1",
					  "TCP/80",    "tcp/ 80",	"tcp/080000", "sctp/1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(uk_fw_parse_ports(bad[i], v, 32, &n, "--allow", &err),
				 i ? -EINVAL : -EINVAL);
	char many[400] = "";
	for (int i = 0; i < 33; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%stcp/%d", i ? "," : "",
			 i + 1);
	assert_int_equal(uk_fw_parse_ports(many, v, 32, &n, "--allow", &err), -E2BIG);
}

static const char good[] = "name=web tap=uktap-web ip=10.10.0.2 mac=02:75:6b:00:00:02 "
			   "allow=tcp/80,icmp egress=udp/53,tcp/8000-8080 nat=10.10.0.0/24";

static void test_policy_parse_format(void **state)
{
	struct uk_fw_policy p, q;
	struct uk_err err = {0};
	char buf[1024];

	assert_int_equal(uk_fw_policy_parse(good, strlen(good), &p, &err), 0);
	assert_string_equal(p.tap, "uktap-web");
	assert_int_equal(p.egress, UK_FW_EGRESS_LIST);
	assert_int_equal(p.nout, 2);
	assert_true(p.nat);
	assert_int_equal(uk_fw_policy_format(&p, buf, sizeof(buf)), 0);
	assert_int_equal(uk_fw_policy_parse(buf, strlen(buf), &q, &err), 0);
	assert_memory_equal(&p, &q, sizeof(p));
	static const char *const bad[] = {
		"tap=uktap0 ip=10.0.0.2",			   /* no name */
		"name=web ip=10.0.0.2",				   /* no tap */
		"name=web tap=uktap0",				   /* no ip */
		"name=web tap=uktap0 ip=10.0.0.2 nat=10.1.0.0/16", /* outside */
		"name=web tap=uktap0 ip=10.0.0.2 nat=10.0.0.1/24", /* host bits */
		"name=web tap=uktap0 ip=10.0.0.2 color=red",
		"name=web tap=uktap0 ip=10.0.0.2 allow",
		"name=web tap=uktap0 ip=1.2.3",
		"name=web tap=uktap0 ip= 1.2.3.4",
		"name=-web tap=uktap0 ip=1.2.3.4",
		"name=web tap=uk/0 ip=1.2.3.4",
		"name=web tap=uktap0 ip=1.2.3.4 mac=03:00:00:00:00:01",
		"name=web tap=uktap0 ip=1.2.3.4 mac=02:00:00:00:00",
		"name=web tap=uktap0 ip=1.2.3.4 egress=some",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		assert_true(uk_fw_policy_parse(bad[i], strlen(bad[i]), &p, &err) < 0);
		assert_true(err.msg[0] != '\0');
	}
	assert_int_equal(uk_fw_policy_parse("name=a\0b", 8, &p, &err), -EINVAL);
}

static void test_render(void **state)
{
	struct uk_fw_policy p;
	struct uk_err err = {0};
	char *out;

	assert_int_equal(uk_fw_policy_parse(good, strlen(good), &p, &err), 0);
	assert_int_equal(uk_fw_render(&p, &out, &err), 0);
	/* only umlkit's tables are named */
	for (const char *l = out; *l; l = strchr(l, '\n') + 1) {
		if (*l != '#')
			assert_true(strstr(l, " umlkit") != NULL);
		if (!strchr(l, '\n'))
			break;
	}
	assert_non_null(strstr(out, "delete chain bridge umlkit g-web/fwd\n"));
	/* removal of the old chains comes before their creation */
	assert_true(strstr(out, "delete chain inet umlkit g-web/from") <
		    strstr(out, "add chain inet umlkit g-web/fwd {"));
	assert_non_null(strstr(out, "iifname \"uktap-web\" jump g-web/from"));
	assert_null(strstr(out, "vec0"));
	assert_non_null(strstr(out, "ether saddr != 02:75:6b:00:00:02 counter drop"));
	assert_non_null(strstr(out, "arp saddr ip != 10.10.0.2 counter drop"));
	assert_non_null(strstr(out, "ip daddr 10.10.0.2 tcp dport 80 update"));
	assert_non_null(strstr(out, "udp dport 53 update"));
	assert_non_null(strstr(out, "tcp dport 8000-8080 update"));
	assert_non_null(strstr(out, "ip saddr 10.10.0.0/24 ip daddr != 10.10.0.0/24 masquerade"));
	assert_null(strstr(out, "table ip ")); /* never anyone else's */
	free(out);
	/* no NAT unless asked */
	p.nat = false;
	p.egress = UK_FW_EGRESS_NONE;
	assert_int_equal(uk_fw_render(&p, &out, &err), 0);
	assert_null(strstr(out, "masquerade"));
	assert_null(strstr(out, "udp dport 53"));
	free(out);
	assert_int_equal(uk_fw_render_remove("web", &out, &err), 0);
	assert_null(strstr(out, "add rule"));
	free(out);
	assert_int_equal(uk_fw_render_remove("bad name", &out, &err), -EINVAL);
	assert_int_equal(uk_fw_render_remove(NULL, &out, &err), 0);
	assert_non_null(strstr(out, "delete table inet umlkit\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_policy_parse_format),
		cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
