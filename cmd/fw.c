// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit fw show|apply|flush: a guest's firewall policy in umlkit's own nftables tables. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/net.h"
#include "umlkit/util.h"
#include "cmd.h"

static const char fw_usage[] =
	"Usage:\n"
	"  umlkit fw show [NAME]          the rules in nft syntax, with their counters\n"
	"  umlkit fw apply NAME --tap IF --ip ADDR [--mac MAC] [--allow PORTS]\n"
	"                 [--egress any|none|PORTS] [--nat NET/PREFIX] [--dry-run]\n"
	"                                 replace the guest's rules, atomically\n"
	"  umlkit fw flush [NAME]         remove the guest's rules (no NAME: all of umlkit's)\n"
	"PORTS: tcp/80,tcp/443,udp/53,tcp/8000-8080,icmp. --allow: what may reach the guest\n"
	"(default nothing); --egress: what the guest may reach (default any). Rules name the\n"
	"host's interface (--tap), never the guest's. --dry-run prints the nft transaction.\n"
	"Only the tables 'bridge umlkit' and 'inet umlkit' are ever touched.\n"
	"Exit status: 0 success, 1 failure, 2 usage error.\n";

static int cmd_apply(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"tap", required_argument, NULL, 't'},
		{"ip", required_argument, NULL, 'i'},
		{"mac", required_argument, NULL, 'm'},
		{"allow", required_argument, NULL, 'a'},
		{"egress", required_argument, NULL, 'e'},
		{"nat", required_argument, NULL, 'n'},
		{"dry-run", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	static const struct {
		int opt;
		const char *key;
	} keys[] = {{'t', "tap"},   {'i', "ip"},     {'m', "mac"},
		    {'a', "allow"}, {'e', "egress"}, {'n', "nat"}};
	const char *where = "umlkit fw apply";
	struct uk_fw_policy p;
	struct uk_err err = {0};
	bool dry = false;
	int c;

	uk_fw_policy_init(&p);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		bool known = false;

		if (c == 'h') {
			fputs(fw_usage, stdout);
			return UK_EXIT_OK;
		}
		if (c == 'd') {
			dry = true;
			continue;
		}
		for (size_t i = 0; i < UK_ARRAY_SIZE(keys); i++) {
			if (keys[i].opt != c)
				continue;
			known = true;
			if (uk_fw_policy_set(&p, keys[i].key, optarg, &err) < 0)
				return uk_usage_error(where, "%s", err.msg);
		}
		if (!known)
			return uk_opt_error(where, c, argv);
	}
	if (optind + 1 != argc)
		return uk_usage_error(where, "one NAME (the guest's) is needed");
	if (uk_fw_policy_set(&p, "name", argv[optind], &err) < 0 ||
	    uk_fw_policy_check(&p, &err) < 0)
		return uk_usage_error(where, "%s", err.msg);
	if (dry) {
		char *buf;

		if (uk_fw_render(&p, &buf, &err) < 0)
			return uk_fail(&err);
		fputs(buf, stdout);
		free(buf);
		return UK_EXIT_OK;
	}
	if (uk_fw_apply(&p, &err) < 0)
		return uk_fail(&err);
	return UK_EXIT_OK;
}

int uk_cmd_fw(int argc, char **argv)
{
	struct uk_err err = {0};
	const char *verb = argc > 1 ? argv[1] : "";
	const char *name = argc > 2 ? argv[2] : NULL;
	char *out;

	if (uk_is_help(verb, true)) {
		fputs(fw_usage, stdout);
		return UK_EXIT_OK;
	}
	if (!strcmp(verb, "apply"))
		return cmd_apply(argc - 1, argv + 1);
	if (strcmp(verb, "show") && strcmp(verb, "flush"))
		return uk_usage_error("umlkit fw", "show, apply or flush?");
	if (uk_is_help(name, false)) { /* a guest may be called "help" */
		fputs(fw_usage, stdout);
		return UK_EXIT_OK;
	}
	if (name && name[0] == '-')
		return uk_usage_error("umlkit fw", "unknown option '%s' (%s takes none)", name,
				      verb);
	if (argc > 3)
		return uk_usage_error("umlkit fw", "%s takes at most one NAME", verb);
	if (!strcmp(verb, "flush"))
		return uk_fw_flush(name, &err) < 0 ? uk_fail(&err) : UK_EXIT_OK;
	if (uk_fw_show(name, &out, &err) < 0)
		return uk_fail(&err);
	fputs(out, stdout);
	free(out);
	return UK_EXIT_OK;
}
