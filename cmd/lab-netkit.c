// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Netkit's lab commands by argv[0]: lstart, lhalt, lcrash, lclean, linfo, ltest, lrestart, with
 * their options where they mean something here (NK bin/lstart, lhalt, lcrash, lclean,
 * linfo; DESIGN's spec/labs.md section 3). An option of theirs that has no meaning here is
 * refused by name, never ignored in silence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "lab.h"

static const char lstart_usage[] =
	"Usage: lstart [-d DIR] [-p[N]] [-s] [-f] [-F] [-l] [-o KEY=VALUE]... [MACHINE...]\n"
	"  -d DIR     the lab directory (default: the current one)\n"
	"  -p[N]      start N machines at once (default: from CPUs and memory); -s: one\n"
	"  -f         fast: return once the machines booted, not after their startup\n"
	"  -F         a directory without lab.conf: its subdirectories are the machines\n"
	"  -l         list the lab's running machines afterwards\n"
	"  -o K=V     an option for every machine (mem=256, ...)\n"
	"  --image PATH, --kernel K   as umlkit lab start\n";
static const char lhalt_usage[] = "Usage: lhalt [-d DIR] [-r] [-q] [MACHINE...]\n"
				  "  -r   remove the machines' disks afterwards\n"
				  "  -q   say only what failed\n";
static const char lcrash_usage[] = "Usage: lcrash [-d DIR] [-k] [-F] [-q] [MACHINE...]\n"
				   "  -k   kill at once (what lcrash always does here)\n"
				   "  -F   keep the machines' disks (removed by default)\n"
				   "  -q   say only what failed\n";
static const char lclean_usage[] = "Usage: lclean [-d DIR] [-q]\n";
static const char ltest_usage[] =
	"Usage: ltest [-d DIR] [--verify=both|user|builtin] [-p[N]] [-s] [-o KEY=VALUE]...\n"
	"  clean and start the lab, dump each machine (_test/M.test's output as M.user; its\n"
	"  addresses, routes, sockets and processes as M.default), crash and clean it; the\n"
	"  first run's dumps become _test/signature, a later run's must match it\n"
	"  --verify=W  compare the user dumps, the built-in ones or both (default)\n";
static const char linfo_usage[] = "Usage: linfo [-d DIR] [-m FILE]\n"
				  "  -m FILE   write a Graphviz map of the lab to FILE\n";

/* The letters each name takes ('d' and the like take a value) */
struct netkit {
	const char *name;
	const char *usage;
	const char *flags;  /* letters without a value */
	const char *valued; /* letters with a value */
};

static const struct netkit tools[] = {
	{"lstart", lstart_usage, "sfFlv", "do"}, {"lrestart", lstart_usage, "sfFlv", "do"},
	{"lhalt", lhalt_usage, "rqv", "d"},	 {"lcrash", lcrash_usage, "kFqv", "d"},
	{"lclean", lclean_usage, "qv", "d"},	 {"linfo", linfo_usage, "v", "dm"},
	{"ltest", ltest_usage, "sv", "do"},
};

static int refuse(const struct netkit *t, const char *opt)
{
	fprintf(stderr,
		"%s: option '%s' is not supported (umlkit's %s takes the options of '%s "
		"--help')\n",
		t->name, opt, t->name, t->name);
	return UK_EXIT_USAGE;
}

/* One letter of a short-option cluster; *value set for a valued one */
static int letter(const struct netkit *t, struct uk_lab_cmd *c, char l, const char *value)
{
	switch (l) {
	case 'd':
		c->dir = value;
		return 0;
	case 'o': /* Netkit's vstart options are --KEY=VALUE */
		return uk_lab_over_add(c, t->name, strncmp(value, "--", 2) ? value : value + 2);
	case 's':
		c->run.parallel = 1;
		return 0;
	case 'f':
		c->run.no_wait = true;
		return 0;
	case 'F':
		if (!strcmp(t->name, "lcrash"))
			c->remove_disks = false;
		else
			c->load.folder = true;
		return 0;
	case 'r':
		c->remove_disks = true;
		return 0;
	case 'q':
		c->quiet = true;
		return 0;
	case 'l':
		c->json = true; /* lstart -l: list afterwards */
		return 0;
	case 'm':
		c->map_file = value;
		return 0;
	}
	return 0; /* -k, -v: what happens anyway */
}

/* A long option lstart takes: --image, --kernel (as umlkit lab); ltest's --verify= */
static int long_opt(const struct netkit *t, struct uk_lab_cmd *c, char **argv, int *i)
{
	const char *a = argv[*i];

	if (!strcmp(t->name, "ltest") && !strncmp(a, "--verify=", 9)) {
		if (uk_lab_verify_parse(a + 9, &c->verify) == 0)
			return 0;
		fprintf(stderr, "ltest: %s: want both, user or builtin\n", a);
		return UK_EXIT_USAGE;
	}
	bool image = !strncmp(a, "--image", 7), kernel = !strncmp(a, "--kernel", 8);
	const char *v = strchr(a, '=');

	if (strncmp(t->name + 1, "start", 5) && strcmp(t->name, "lrestart"))
		return refuse(t, a);
	if (!image && !kernel)
		return refuse(t, a);
	v = v ? v + 1 : argv[++*i];
	if (!v)
		return refuse(t, a);
	if (image)
		c->image = v;
	else
		c->kernel = v;
	return 0;
}

/* Netkit's options; the machines left in c->run.only. 0, -1 (help shown) or exit status. */
static int parse(const struct netkit *t, struct uk_lab_cmd *c, int argc, char **argv)
{
	int i, r = 0;

	c->remove_disks = !strcmp(t->name, "lcrash");
	for (i = 1; i < argc && r == 0; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (uk_is_help(a, false)) {
			fputs(t->usage, stdout);
			return -1;
		}
		if (a[0] != '-' || !a[1])
			break;
		if (a[1] == '-') {
			r = long_opt(t, c, argv, &i);
			continue;
		}
		if (a[1] == 'p' && strchr(t->valued, 'o')) { /* -p[N]: the value attached */
			if (a[2])
				r = uk_lab_parallel_parse(t->name, a + 2, &c->run.parallel);
			continue;
		}
		for (const char *l = a + 1; *l && r == 0; l++) {
			if (strchr(t->valued, *l)) {
				const char *v = l[1] ? l + 1 : (i + 1 < argc ? argv[++i] : NULL);

				if (!v) {
					fprintf(stderr, "%s: option '-%c' needs a value\n", t->name,
						*l);
					return UK_EXIT_USAGE;
				}
				r = letter(t, c, *l, v);
				break;
			}
			if (!strchr(t->flags, *l)) {
				char o[3] = {'-', *l, '\0'};

				return refuse(t, o);
			}
			r = letter(t, c, *l, NULL);
		}
	}
	c->run.only = (const char *const *)argv + i;
	c->run.n_only = argc - i;
	if (!c->dir)
		c->dir = ".";
	return r;
}

static int write_map(struct uk_lab_cmd *c)
{
	const char *file = c->map_file;
	char *dot;
	FILE *f;
	int r = uk_lab_cmd_load(c);

	if (r)
		return r;
	dot = uk_lab_info_dot(c->lab);
	f = dot ? fopen(file, "we") : NULL;
	if (!f || fputs(dot, f) < 0 || fclose(f) != 0) {
		uk_say("%s: cannot write the map", file);
		free(dot);
		return UK_EXIT_FAIL;
	}
	free(dot);
	return UK_EXIT_OK;
}

static int info(struct uk_lab_cmd *c)
{
	char *text;
	int r;

	if (c->map_file)
		return write_map(c);
	r = uk_lab_cmd_load(c);
	if (r)
		return r;
	text = uk_lab_info_text(c->lab);
	if (!text)
		return UK_EXIT_FAIL;
	fputs(text, stdout);
	free(text);
	return UK_EXIT_OK;
}

static int start(struct uk_lab_cmd *c)
{
	bool list = c->json;
	int r;

	c->json = false;
	r = uk_lab_cmd_start(c);
	if (list) {
		char *argv[] = {"lab", "list", NULL};

		uk_cmd_lab(2, argv);
	}
	return r;
}

static int dispatch(const struct netkit *t, struct uk_lab_cmd *c)
{
	if (!strcmp(t->name, "lstart"))
		return start(c);
	if (!strcmp(t->name, "lrestart")) {
		int r = uk_lab_cmd_stop(c, false, true);

		uk_lab_cmd_free(c);
		return r ? r : start(c);
	}
	if (!strcmp(t->name, "lhalt"))
		return uk_lab_cmd_stop(c, false, false);
	if (!strcmp(t->name, "lcrash"))
		return uk_lab_cmd_stop(c, true, false);
	if (c->run.n_only) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", t->name, c->run.only[0]);
		return UK_EXIT_USAGE;
	}
	if (!strcmp(t->name, "lclean"))
		return uk_lab_cmd_clean(c);
	if (!strcmp(t->name, "ltest"))
		return uk_lab_cmd_test(c);
	return info(c);
}

int uk_cmd_netkit(int argc, char **argv)
{
	struct uk_lab_cmd c = {0};
	int r;

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (strcmp(uk_prog, tools[i].name))
			continue;
		r = parse(&tools[i], &c, argc, argv);
		if (r == 0)
			r = dispatch(&tools[i], &c);
		uk_lab_cmd_free(&c);
		return r < 0 ? UK_EXIT_OK : r;
	}
	return UK_EXIT_USAGE;
}
