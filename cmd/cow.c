// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit cow: create, merge (new file or in place), rebase, restamp, diff; the reporting
 * subcommands live in cow-report.c. */
#include <stdio.h>
#include <string.h>

#include "umlkit/util.h"
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

/* The options of the cow subcommands; each takes some of them (cow_cmds). */
enum {
	OPT_FORCE,
	OPT_BACKING,
	OPT_IN_PLACE,
	OPT_UNSAFE,
	OPT_SHARED,
	OPT_SHOW_PROGRESS,
	OPT_QUIET,
	OPT_DISCARD,
	OPT_OUTPUT,
	OPT_PROGRESS,
};
static const struct uk_opt cow_options[] = {
	[OPT_FORCE] = {.name = "force", .letter = 'f'},
	[OPT_BACKING] = {.name = "backing", .letter = 'b', .value = true},
	[OPT_IN_PLACE] = {.name = "in-place", .letter = 'd'},
	[OPT_UNSAFE] = {.letter = 'u'},
	[OPT_SHARED] = {.letter = 'U'},
	[OPT_SHOW_PROGRESS] = {.letter = 'p'},
	[OPT_QUIET] = {.letter = 'q'},
	[OPT_DISCARD] = {.name = "discard", .refusal = "--discard belongs to merge --in-place"},
	[OPT_OUTPUT] = {.name = "output", .value = true},
	[OPT_PROGRESS] = {.name = "progress", .value = true},
};
_Static_assert(UK_ARRAY_SIZE(cow_options) <= UK_OPTS_MAX, "the options fit an accept mask");

/* The sets of options the subcommands take (cow_cmds) */
#define FORCE	 UK_OPT_BIT(OPT_FORCE)
#define REPORT	 (UK_OPT_BIT(OPT_SHARED) | UK_OPT_BIT(OPT_OUTPUT))
#define PROGRESS (UK_OPT_BIT(OPT_SHOW_PROGRESS) | UK_OPT_BIT(OPT_QUIET) | UK_OPT_BIT(OPT_PROGRESS))
#define MERGE                                                                                      \
	(FORCE | UK_OPT_BIT(OPT_BACKING) | UK_OPT_BIT(OPT_IN_PLACE) | UK_OPT_BIT(OPT_DISCARD) |    \
	 PROGRESS)

static int cow_opt(const struct uk_opts *p, int id, const char *v)
{
	struct uk_cow_opts *o = p->ctx;

	switch (id) {
	case OPT_FORCE:
		o->force = true;
		break;
	case OPT_BACKING:
		o->backing = v;
		break;
	case OPT_IN_PLACE:
		o->in_place = true;
		break;
	case OPT_UNSAFE:
		o->unsafe = true;
		break;
	case OPT_SHARED:
		o->shared = true;
		break;
	case OPT_SHOW_PROGRESS:
		o->prog.mode = UK_PROGRESS_FORCE;
		break;
	case OPT_QUIET:
		o->prog.mode = UK_PROGRESS_QUIET;
		break;
	case OPT_DISCARD:
		o->discard = true;
		break;
	case OPT_OUTPUT:
		return uk_parse_output(p->cmd, v, &o->json);
	case OPT_PROGRESS:
		if (!uk_parse_progress(v, &o->prog.mode))
			return uk_usage_error(p->cmd, "bad --progress '%s'", v);
		break;
	}
	return 0;
}

/* Parse the options of cow subcommand sub, which takes those in accept. */
static int parse_opts(const char *sub, unsigned accept, int argc, char **argv,
		      struct uk_cow_opts *o)
{
	char cmd[64];
	struct uk_opts p = {.opt = cow_options,
			    .nopt = UK_ARRAY_SIZE(cow_options),
			    .accept = accept,
			    .cmd = cmd,
			    .what = cmd + strlen("umlkit "), /* "cow SUB" */
			    .help = cow_usage,
			    .by_letter = true,
			    .fn = cow_opt,
			    .ctx = o};
	int r;

	snprintf(cmd, sizeof(cmd), "umlkit cow %s", sub);
	memset(o, 0, sizeof(*o));
	r = uk_opts_parse(&p, argc, argv);
	o->nargs = p.nargs;
	o->args = p.args;
	return r;
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
	const char *name, *args;
	unsigned accept; /* the options it takes */
	int nargs;	 /* -1: the function checks */
	int (*fn)(struct uk_cow_opts *o);
} cow_cmds[] = {
	{"create", "COW BACKING", FORCE, 2, cow_create},
	{"info", "COW", REPORT, 1, uk_cow_info_cmd},
	{"check", "COW", REPORT, 1, uk_cow_check_cmd},
	{"merge", "COW OUT", MERGE, -1, cow_merge_args},
	{"rebase", "COW NEW_BACKING", UK_OPT_BIT(OPT_UNSAFE) | PROGRESS, 2, cow_rebase},
	{"restamp", "COW", FORCE, 1, cow_restamp},
	{"map", "COW", REPORT, 1, uk_cow_map_cmd},
	{"compare", "IMG1 IMG2", UK_OPT_BIT(OPT_SHARED) | PROGRESS, 2, uk_cow_compare_cmd},
	{"diff", "BASE NEW COW", FORCE | PROGRESS, 3, cow_diff},
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
		r = parse_opts(sub, c->accept, argc - 1, argv + 1, &o);
		if (r)
			return r < 0 ? UK_EXIT_OK : r;
		if (c->nargs >= 0 && o.nargs != c->nargs)
			return uk_usage_error("umlkit cow", "%s needs %s", sub, c->args);
		return c->fn(&o);
	}
	return uk_usage_error("umlkit cow", "unknown cow command '%s'", sub);
}
