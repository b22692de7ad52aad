// SPDX-License-Identifier: LGPL-2.1-or-later
/* Option tables: one getopt_long loop for every family of commands (opts.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

/* getopt_long's code for an option without a letter: past every char */
#define LONG_ONLY 0x100

int uk_opt_error(const char *cmd, int c, char *const *argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	char name[64];

	if (!strncmp(arg, "--", 2))
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	else if (optopt > ' ' && optopt < 0x7f)
		snprintf(name, sizeof(name), "-%c", optopt);
	else
		snprintf(name, sizeof(name), "%s", arg);
	if (c == ':')
		return uk_usage_error(cmd, "option '%s' needs a value", name);
	return uk_usage_error(cmd, "unknown option '%s'", name);
}

int uk_opt_not_for(const char *cmd, const char *opt, const char *what)
{
	return uk_usage_error(cmd, "option '%s' does not apply to '%s'", opt, what);
}

int uk_opts_refuse(const struct uk_opts *o, unsigned seen, unsigned accept)
{
	for (int id = 0; id < o->nopt; id++) {
		const struct uk_opt *p = &o->opt[id];
		char name[40];

		if (!(seen & ~accept & UK_OPT_BIT(id)))
			continue;
		if (p->refusal)
			return uk_usage_error(o->cmd, "%s", p->refusal);
		if (p->letter && (o->by_letter || !p->name))
			snprintf(name, sizeof(name), "-%c", p->letter);
		else
			snprintf(name, sizeof(name), "--%s", p->name);
		return uk_opt_not_for(o->cmd, name, o->what);
	}
	return 0;
}

/* The table as getopt_long wants it: each option's code is its letter, or LONG_ONLY + id. */
static void getopt_tables(const struct uk_opts *o, char *shorts, struct option *longopts)
{
	int nl = 0;

	if (o->stop)
		*shorts++ = '+';
	*shorts++ = ':';
	for (int id = 0; id < o->nopt; id++) {
		const struct uk_opt *p = &o->opt[id];

		if (p->name)
			longopts[nl++] =
				(struct option){p->name, p->value ? required_argument : no_argument,
						NULL, p->letter ? p->letter : LONG_ONLY + id};
		if (p->letter) {
			*shorts++ = p->letter;
			if (p->value)
				*shorts++ = ':';
		}
	}
	*shorts++ = 'h';
	*shorts = '\0';
	longopts[nl++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[nl] = (struct option){0};
}

static int id_of(const struct uk_opts *o, int c)
{
	if (c >= LONG_ONLY)
		return c - LONG_ONLY;
	for (int id = 0; id < o->nopt; id++)
		if (o->opt[id].letter == c)
			return id;
	return -1;
}

int uk_opts_parse(struct uk_opts *o, int argc, char **argv)
{
	struct option longopts[UK_OPTS_MAX + 2];
	char shorts[3 * UK_OPTS_MAX + 4];
	int c, id, r;

	getopt_tables(o, shorts, longopts);
	o->seen = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(o->help, stdout);
			return -1;
		}
		id = id_of(o, c);
		if (c == '?' || c == ':' || id < 0)
			return uk_opt_error(o->cmd, c, argv);
		r = uk_opts_refuse(o, UK_OPT_BIT(id), o->accept);
		if (r)
			return r;
		o->seen |= UK_OPT_BIT(id);
		r = o->fn(o, id, optarg);
		if (r)
			return r;
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}
