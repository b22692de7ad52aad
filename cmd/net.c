// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit net tap|bridge: host taps and bridges; and the tunctl personality (spec 5.5). */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <linux/if_tun.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umlkit/net.h"
#include "umlkit/util.h"
#include "cmd.h"

static const char net_usage[] =
	"Usage:\n"
	"  umlkit net tap add NAME [--user U] [--group G]   a persistent tap (IFF_TAP|IFF_NO_PI)\n"
	"                                   owned by U (default: you); an existing tap of\n"
	"                                   another user is refused\n"
	"  umlkit net tap del NAME [--force]   delete a tap (--force: one owned by another user)\n"
	"  umlkit net tap list [--output=json]\n"
	"  umlkit net bridge add BR | del BR | attach BR IF   bridges (attach brings both up)\n"
	"Names: 1 to 15 of letters, digits, '_', '.', '-'. Needs CAP_NET_ADMIN (except list).\n"
	"Exit status: 0 success, 1 failure, 2 usage error.\n";

/* A user or group by name or number, as the old tunctl took them. */
static int lookup_id(const char *s, bool group, long *out)
{
	uint64_t v;

	if (group) {
		struct group *g = getgrnam(s);

		if (g) {
			*out = (long)g->gr_gid;
			return 0;
		}
	} else {
		struct passwd *pw = getpwnam(s);

		if (pw) {
			*out = (long)pw->pw_uid;
			return 0;
		}
	}
	if (uk_parse_u64(s, &v) < 0 || v >= 0xffffffffULL)
		return -EINVAL;
	*out = (long)v;
	return 0;
}

static int tap_list(bool json)
{
	struct uk_tap_info *v;
	struct uk_err err = {0};
	json_t *arr = json ? json_array() : NULL;
	int n;

	if (uk_tap_list(&v, &n, &err) < 0) {
		json_decref(arr);
		return uk_fail(&err);
	}
	if (!json)
		printf("%-16s %-4s %-10s %6s %6s\n", "NAME", "TYPE", "PERSISTENT", "OWNER",
		       "GROUP");
	for (int i = 0; i < n; i++) {
		const char *type = (v[i].flags & IFF_TAP) ? "tap" : "tun";
		bool persist = (v[i].flags & IFF_PERSIST) != 0;

		if (arr) {
			json_t *j = json_object();

			json_object_set_new(j, "name", json_string(v[i].name));
			json_object_set_new(j, "type", json_string(type));
			json_object_set_new(j, "persistent", json_boolean(persist));
			json_object_set_new(j, "owner",
					    v[i].owner >= 0 ? json_integer(v[i].owner)
							    : json_null());
			json_object_set_new(j, "group",
					    v[i].group >= 0 ? json_integer(v[i].group)
							    : json_null());
			json_array_append_new(arr, j);
			continue;
		}
		printf("%-16s %-4s %-10s %6ld %6ld\n", v[i].name, type, persist ? "yes" : "no",
		       v[i].owner, v[i].group);
	}
	free(v);
	if (arr) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	}
	return UK_EXIT_OK;
}

/* The options of `net tap`; which verb takes which (checked once the verb is known, since
 * they may come before it). */
enum { TAP_USER, TAP_GROUP, TAP_FORCE, TAP_OUTPUT };
static const struct uk_opt tap_options[] = {
	[TAP_USER] = {.name = "user", .letter = 'u', .value = true},
	[TAP_GROUP] = {.name = "group", .letter = 'g', .value = true},
	[TAP_FORCE] = {.name = "force", .letter = 'f'},
	[TAP_OUTPUT] = {.name = "output", .value = true},
};
static const struct {
	const char *verb;
	unsigned accept;
} tap_verbs[] = {
	{"add", UK_OPT_BIT(TAP_USER) | UK_OPT_BIT(TAP_GROUP)},
	{"del", UK_OPT_BIT(TAP_FORCE)},
	{"list", UK_OPT_BIT(TAP_OUTPUT)},
};

struct tap_args {
	struct uk_tap_opts o;
	bool force, json;
};

static int tap_opt(const struct uk_opts *p, int id, const char *v)
{
	struct tap_args *t = p->ctx;

	switch (id) {
	case TAP_USER:
		if (lookup_id(v, false, &t->o.owner) < 0)
			return uk_usage_error(p->cmd, "--user %s: no such user", v);
		break;
	case TAP_GROUP:
		if (lookup_id(v, true, &t->o.group) < 0)
			return uk_usage_error(p->cmd, "--group %s: no such group", v);
		break;
	case TAP_FORCE:
		t->force = true;
		break;
	case TAP_OUTPUT:
		return uk_parse_output(p->cmd, v, &t->json);
	}
	return 0;
}

/* A usage error when verb is unknown or was given an option it does not take. */
static int tap_opts_check(struct uk_opts *p, const char *verb, char *what, size_t len)
{
	for (size_t i = 0; i < UK_ARRAY_SIZE(tap_verbs); i++) {
		if (strcmp(verb, tap_verbs[i].verb))
			continue;
		snprintf(what, len, "net tap %s", verb);
		p->what = what;
		return uk_opts_refuse(p, p->seen, tap_verbs[i].accept);
	}
	return uk_usage_error(p->cmd, "unknown verb '%s' (add, del, list)", verb);
}

static int cmd_tap(int argc, char **argv)
{
	struct tap_args t = {0};
	struct uk_opts p = {.opt = tap_options,
			    .nopt = UK_ARRAY_SIZE(tap_options),
			    .accept = UK_OPTS_ALL,
			    .cmd = "umlkit net tap",
			    .help = net_usage,
			    .fn = tap_opt,
			    .ctx = &t};
	const char *where = p.cmd;
	struct uk_err err = {0};
	const char *verb, *name;
	char got[32], what[64];
	int r;

	uk_tap_opts_init(&t.o);
	r = uk_opts_parse(&p, argc, argv);
	if (r)
		return r < 0 ? UK_EXIT_OK : r;
	if (p.nargs < 1)
		return uk_usage_error(where, "add, del or list?");
	verb = p.args[0];
	if (uk_is_help(verb, true)) {
		fputs(net_usage, stdout);
		return UK_EXIT_OK;
	}
	r = tap_opts_check(&p, verb, what, sizeof(what));
	if (r)
		return r;
	if (!strcmp(verb, "list")) {
		if (p.nargs != 1)
			return uk_usage_error(where, "list takes no argument");
		return tap_list(t.json);
	}
	if (p.nargs != 2)
		return uk_usage_error(where, "%s needs one NAME", verb);
	name = p.args[1];
	t.o.refuse_foreign = !t.force;
	if (!strcmp(verb, "add")) {
		if (t.o.owner < 0 && t.o.group < 0)
			t.o.owner = (long)geteuid();
		if (uk_tap_add(name, &t.o, got, &err) < 0)
			return uk_fail(&err);
		return UK_EXIT_OK;
	}
	if (!strcmp(verb, "del")) {
		if (uk_tap_del(name, &t.o, got, &err) < 0)
			return uk_fail(&err);
		return UK_EXIT_OK;
	}
	return uk_usage_error(where, "unknown verb '%s' (add, del, list)", verb);
}

static int cmd_bridge(int argc, char **argv)
{
	const char *where = "umlkit net bridge";
	struct uk_err err = {0};
	int r;

	if (argc >= 2 && uk_is_help(argv[1], true)) {
		fputs(net_usage, stdout);
		return UK_EXIT_OK;
	}
	if (argc < 3)
		return uk_usage_error(where, "add BR, del BR or attach BR IF?");
	if (!strcmp(argv[1], "add") && argc == 3)
		r = uk_bridge_add(argv[2], &err);
	else if (!strcmp(argv[1], "del") && argc == 3)
		r = uk_bridge_del(argv[2], &err);
	else if (!strcmp(argv[1], "attach") && argc == 4)
		r = uk_bridge_attach(argv[2], argv[3], &err);
	else
		return uk_usage_error(where, "add BR, del BR or attach BR IF?");
	return r < 0 ? uk_fail(&err) : UK_EXIT_OK;
}

int uk_cmd_net(int argc, char **argv)
{
	if (argc < 2)
		return uk_usage_error("umlkit net", "tap or bridge?");
	if (uk_is_help(argv[1], true)) {
		fputs(net_usage, stdout);
		return UK_EXIT_OK;
	}
	if (!strcmp(argv[1], "tap"))
		return cmd_tap(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bridge"))
		return cmd_bridge(argc - 1, argv + 1);
	return uk_usage_error("umlkit net", "unknown command '%s' (tap, bridge)", argv[1]);
}

/* ---- tunctl: the uml-utilities tool, options, output and exit status included ---- */
static int tunctl_usage(const char *prog)
{
	fprintf(stderr,
		"Create: %s [-b] [-u owner] [-g group] [-t device-name] [-f tun-clone-device]\n"
		"Delete: %s -d device-name [-f tun-clone-device]\n\n"
		"The default tun clone device is /dev/net/tun - some systems use\n"
		"/dev/misc/net/tun instead\n\n"
		"-b will result in brief output (just the device name)\n",
		prog, prog);
	return 1;
}

int uk_cmd_tunctl(int argc, char **argv)
{
	const char *prog = argc > 0 ? argv[0] : "tunctl";
	const char *name = "", *del = NULL;
	struct uk_tap_opts o;
	struct uk_err err = {0};
	bool brief = false;
	char got[32];
	int c;

	uk_tap_opts_init(&o);
	o.compat = true;
	o.brief_errors = true;
	opterr = 1;
	while ((c = getopt(argc, argv, "bd:f:t:u:g:")) != -1) {
		switch (c) {
		case 'b':
			brief = true;
			break;
		case 'd':
			del = optarg;
			break;
		case 'f':
			o.clone_dev = optarg;
			break;
		case 't':
			name = optarg;
			break;
		case 'u':
			if (lookup_id(optarg, false, &o.owner) < 0) {
				fprintf(stderr, "'%s' is neither a username nor a numeric uid.\n",
					optarg);
				return tunctl_usage(prog);
			}
			break;
		case 'g':
			if (lookup_id(optarg, true, &o.group) < 0) {
				fprintf(stderr,
					"'%s' is neither a groupname nor a numeric group.\n",
					optarg);
				return tunctl_usage(prog);
			}
			break;
		default:
			return tunctl_usage(prog);
		}
	}
	if (optind != argc)
		return tunctl_usage(prog);
	if (del) {
		if (uk_tap_del(del, &o, got, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		printf("Set '%s' nonpersistent\n", got);
		return 0;
	}
	if (o.owner < 0 && o.group < 0)
		o.owner = (long)geteuid();
	if (uk_tap_add(name, &o, got, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (brief) {
		printf("%s\n", got);
		return 0;
	}
	printf("Set '%s' persistent and owned by", got);
	if (o.owner >= 0)
		printf(" uid %ld", o.owner);
	if (o.group >= 0)
		printf(" gid %ld", o.group);
	putchar('\n');
	return 0;
}
