// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit fw show|apply|flush: a guest's firewall policy in umlkit's own nftables tables. */
#include <errno.h>
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

/* The options of apply: the policy's settings, named as its keys, and --dry-run. */
enum { OPT_TAP, OPT_IP, OPT_MAC, OPT_ALLOW, OPT_EGRESS, OPT_NAT, OPT_DRY_RUN };
static const struct uk_opt apply_options[] = {
	[OPT_TAP] = {.name = "tap", .value = true},
	[OPT_IP] = {.name = "ip", .value = true},
	[OPT_MAC] = {.name = "mac", .value = true},
	[OPT_ALLOW] = {.name = "allow", .value = true},
	[OPT_EGRESS] = {.name = "egress", .value = true},
	[OPT_NAT] = {.name = "nat", .value = true},
	[OPT_DRY_RUN] = {.name = "dry-run"},
};

struct apply_args {
	struct uk_fw_policy p;
	bool dry;
};

static int apply_opt(const struct uk_opts *o, int id, const char *v)
{
	struct apply_args *a = o->ctx;
	struct uk_err err = {0};

	if (id == OPT_DRY_RUN)
		a->dry = true;
	else if (uk_fw_policy_set(&a->p, apply_options[id].name, v, &err) < 0)
		return uk_usage_error(o->cmd, "%s", err.msg);
	return 0;
}

static int cmd_apply(int argc, char **argv)
{
	struct apply_args a = {0};
	struct uk_opts o = {.opt = apply_options,
			    .nopt = UK_ARRAY_SIZE(apply_options),
			    .accept = UK_OPTS_ALL,
			    .cmd = "umlkit fw apply",
			    .help = fw_usage,
			    .fn = apply_opt,
			    .ctx = &a};
	struct uk_err err = {0};
	int r;

	uk_fw_policy_init(&a.p);
	r = uk_opts_parse(&o, argc, argv);
	if (r)
		return r < 0 ? UK_EXIT_OK : r;
	if (o.nargs != 1)
		return uk_usage_error(o.cmd, "one NAME (the guest's) is needed");
	if (uk_fw_policy_set(&a.p, "name", o.args[0], &err) < 0 ||
	    uk_fw_policy_check(&a.p, &err) < 0)
		return uk_usage_error(o.cmd, "%s", err.msg);
	if (a.dry) {
		char *buf;

		if (uk_fw_render(&a.p, &buf, &err) < 0)
			return uk_fail(&err);
		fputs(buf, stdout);
		free(buf);
		return UK_EXIT_OK;
	}
	if (uk_fw_apply(&a.p, &err) < 0)
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
