// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit cow: create, merge (new file or in place), rebase, restamp, diff; the reporting
 * subcommands live in cow-report.c. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const char cow_usage[] =
	"Usage: umlkit cow COMMAND [OPTIONS] ARGS...\n"
	"\n"
	"  create [-f] COW BACKING              a new COW over BACKING (-f: replace COW)\n"
	"  info [-U] [--output=json] COW        header, layout, what it holds, backing state\n"
	"  check [-U] [--output=json] COW       exit 0 sound, 1 stale backing, 2 corrupt,\n"
	"                                       3 cannot open\n"
	"  merge [-f] [-b BACKING] COW OUT      write what the guest sees into a new image\n"
	"  merge --in-place|-d [--discard] [-b BACKING] COW\n"
	"                                       write the COW's sectors into its backing\n"
	"                                       (crash-safe; rerun after a crash; --discard\n"
	"                                       also frees the emptied COW's blocks)\n"
	"  rebase [-u] COW NEW_BACKING          repoint a COW (-u: header only)\n"
	"  restamp [-f] COW                     accept a backing whose mtime changed\n"
	"  map [-U] [--output=json] COW         extents: from the COW, the backing, holes\n"
	"  compare [-U] IMG1 IMG2               guest-visible content: exit 0 same,\n"
	"                                       1 different, 2 error\n"
	"  diff [-f] BASE NEW COW               a COW over BASE holding where NEW differs\n"
	"\n"
	"Options: -f replace an existing output; -b use BACKING instead of the header's path;\n"
	"-U read without taking a lock (a guest may be running); -p show progress, -q hide it,\n"
	"--progress=json progress as JSON lines on stderr.\n"
	"Exit status: 0 success, 1 failure, 2 usage error (check and compare: see above).\n";

/* Parse the options every cow subcommand shares; `allowed` lists its short options. */
static int parse_opts(const char *sub, const char *allowed, int argc, char **argv,
		      struct uk_cow_opts *o)
{
	static const struct option longopts[] = {
		{"force", no_argument, NULL, 'f'},
		{"backing", required_argument, NULL, 'b'},
		{"in-place", no_argument, NULL, 'd'},
		{"discard", no_argument, NULL, UK_OPT_DISCARD},
		{"output", required_argument, NULL, UK_OPT_OUTPUT},
		{"progress", required_argument, NULL, UK_OPT_PROGRESS},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char cmd[64], opt[3];
	const char *what = cmd + strlen("umlkit "); /* "cow SUB" */
	int c;

	snprintf(cmd, sizeof(cmd), "umlkit cow %s", sub);
	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":fb:dupqUh", longopts, NULL)) != -1) {
		bool ok = true;

		if (c == 'h') {
			fputs(cow_usage, stdout);
			return -1;
		}
		if (c == '?' || c == ':')
			return uk_opt_error(cmd, c, argv);
		if (c < 0x100 && !strchr(allowed, c)) {
			snprintf(opt, sizeof(opt), "-%c", c);
			return uk_opt_not_for(cmd, opt, what);
		}
		switch (c) {
		case 'f':
			o->force = true;
			break;
		case 'b':
			o->backing = optarg;
			break;
		case 'd':
			o->in_place = true;
			break;
		case 'u':
			o->unsafe = true;
			break;
		case 'U':
			o->shared = true;
			break;
		case 'p':
			o->prog.mode = UK_PROGRESS_FORCE;
			break;
		case 'q':
			o->prog.mode = UK_PROGRESS_QUIET;
			break;
		case UK_OPT_DISCARD:
			if (!strchr(allowed, 'd'))
				return uk_usage_error(cmd, "--discard belongs to merge --in-place");
			o->discard = true;
			break;
		case UK_OPT_OUTPUT:
			if (!strchr(allowed, 'o'))
				return uk_opt_not_for(cmd, "--output", what);
			o->json = uk_parse_output(optarg, &ok);
			if (!ok)
				return uk_usage_error(cmd, "bad --output '%s'", optarg);
			break;
		case UK_OPT_PROGRESS:
			if (!strchr(allowed, 'p'))
				return uk_opt_not_for(cmd, "--progress", what);
			if (!uk_parse_progress(optarg, &o->prog.mode))
				return uk_usage_error(cmd, "bad --progress '%s'", optarg);
			break;
		}
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

static int cow_create(struct uk_cow_opts *o)
{
	struct uk_err err = {0};

	if (uk_cow_create(o->args[0], o->args[1], o->force, &err) < 0)
		return uk_fail(&err);
	return UK_EXIT_OK;
}

static int cow_merge(struct uk_cow_opts *o)
{
	struct uk_merge_opts mo = {
		.backing = o->backing, .force = o->force, .progress = &o->prog.p};
	struct uk_merge_result res;
	struct uk_err err = {0};
	int r;

	uk_progress_begin(&o->prog, "merging");
	if (o->in_place)
		r = uk_cow_merge_in_place(o->args[0], &mo, &res, &err);
	else
		r = uk_cow_merge(o->args[0], o->args[1], &mo, &err);
	uk_progress_end(&o->prog);
	if (r < 0)
		return uk_fail(&err);
	if (o->in_place) {
		if (res.recovered)
			uk_say("%s: completed an interrupted in-place merge", o->args[0]);
		uk_say("warning: %s changed; any other COW over it is now stale (%s was "
		       "emptied and re-stamped)",
		       res.backing, o->args[0]);
	}
	return UK_EXIT_OK;
}

static int cow_rebase(struct uk_cow_opts *o)
{
	struct uk_err err = {0};
	uint64_t copied;
	int r;

	uk_progress_begin(&o->prog, "rebasing");
	r = uk_cow_rebase(o->args[0], o->args[1], o->unsafe, &o->prog.p, &copied, &err);
	uk_progress_end(&o->prog);
	if (r < 0)
		return uk_fail(&err);
	if (!o->unsafe)
		printf("%s: now over %s; %llu sectors copied from the old backing\n", o->args[0],
		       o->args[1], (unsigned long long)copied);
	return UK_EXIT_OK;
}

static int cow_restamp(struct uk_cow_opts *o)
{
	struct uk_restamp_info ri;
	struct uk_err err = {0};

	if (uk_cow_restamp(o->args[0], o->force, &ri, &err) < 0)
		return uk_fail(&err);
	if (ri.old_mtime == ri.new_mtime) {
		printf("%s: backing %s already matches (mtime %lu); nothing to change\n",
		       o->args[0], ri.backing, (unsigned long)ri.old_mtime);
		return UK_EXIT_OK;
	}
	printf("%s: %s the recorded mtime of %s from %lu to %lu (size %llu unchanged).\n"
	       "Only do this if the backing's content did not change.\n",
	       o->args[0], o->force ? "changed" : "would change", ri.backing,
	       (unsigned long)ri.old_mtime, (unsigned long)ri.new_mtime,
	       (unsigned long long)ri.size);
	if (!o->force) {
		uk_say("%s: not changed; run with -f to restamp", o->args[0]);
		return UK_EXIT_FAIL;
	}
	return UK_EXIT_OK;
}

static int cow_diff(struct uk_cow_opts *o)
{
	struct uk_err err = {0};
	uint64_t sectors;
	int r;

	uk_progress_begin(&o->prog, "comparing");
	r = uk_cow_diff(o->args[0], o->args[1], o->args[2], o->force, &o->prog.p, &sectors, &err);
	uk_progress_end(&o->prog);
	if (r < 0)
		return uk_fail(&err);
	printf("%s: %llu sectors differ from %s\n", o->args[2], (unsigned long long)sectors,
	       o->args[0]);
	return UK_EXIT_OK;
}

static int cow_merge_args(struct uk_cow_opts *o)
{
	if (o->in_place && o->force)
		return uk_usage_error("umlkit cow merge", "-f has no meaning with --in-place");
	if (!o->in_place && o->discard)
		return uk_usage_error("umlkit cow merge", "--discard needs --in-place");
	if (o->in_place && o->nargs != 1)
		return uk_usage_error("umlkit cow merge", "merge --in-place needs COW");
	if (!o->in_place && o->nargs != 2)
		return uk_usage_error("umlkit cow merge", "merge needs COW OUT");
	return cow_merge(o);
}

static const struct cow_cmd {
	const char *name, *opts, *args;
	int nargs; /* -1: the function checks */
	int (*fn)(struct uk_cow_opts *o);
} cow_cmds[] = {
	{"create", "f", "COW BACKING", 2, cow_create},
	{"info", "Uo", "COW", 1, uk_cow_info_cmd},
	{"check", "Uo", "COW", 1, uk_cow_check_cmd},
	{"merge", "fbdpq", "COW OUT", -1, cow_merge_args},
	{"rebase", "upq", "COW NEW_BACKING", 2, cow_rebase},
	{"restamp", "f", "COW", 1, cow_restamp},
	{"map", "Uo", "COW", 1, uk_cow_map_cmd},
	{"compare", "Upq", "IMG1 IMG2", 2, uk_cow_compare_cmd},
	{"diff", "fpq", "BASE NEW COW", 3, cow_diff},
};

int uk_cmd_cow(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	struct uk_cow_opts o;

	if (!sub)
		return uk_usage_error("umlkit cow", "no cow command given");
	if (uk_is_help(sub, true)) {
		fputs(cow_usage, stdout);
		return UK_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cow_cmds) / sizeof(cow_cmds[0]); i++) {
		const struct cow_cmd *c = &cow_cmds[i];
		int r;

		if (strcmp(sub, c->name))
			continue;
		r = parse_opts(sub, c->opts, argc - 1, argv + 1, &o);
		if (r)
			return r < 0 ? UK_EXIT_OK : r;
		if (c->nargs >= 0 && o.nargs != c->nargs)
			return uk_usage_error("umlkit cow", "%s needs %s", sub, c->args);
		return c->fn(&o);
	}
	return uk_usage_error("umlkit cow", "unknown cow command '%s'", sub);
}
