/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Option tables: a family of commands lists its options once, each verb says which of them
 * it takes (a mask), and one getopt_long loop parses them, prints the help for -h and
 * --help, and refuses an unknown option, a missing value or an option the verb does not take
 * with the same words in every family.
 */
#ifndef UK_CMD_OPTS_H
#define UK_CMD_OPTS_H

#include <stdbool.h>

/* One option of a family. Its id is its index in the family's table (at most 32). */
struct uk_opt {
	const char *name;    /* long name without "--"; NULL: none */
	char letter;	     /* short name; 0: none */
	bool value;	     /* takes a value */
	const char *refusal; /* the message for a verb that does not take it; NULL: "option 'X'
				does not apply to 'WHAT'" */
};
#define UK_OPTS_MAX    32
#define UK_OPT_BIT(id) (1u << (id))
#define UK_OPTS_ALL    (~0u)

struct uk_opts {
	const struct uk_opt *opt; /* the family's table */
	int nopt;
	unsigned accept;  /* UK_OPT_BIT of each option the verb takes, checked as they come */
	const char *cmd;  /* the command in usage errors: "umlkit cow info" */
	const char *what; /* the verb in refusals: "cow info" */
	const char *help; /* printed for -h and --help */
	bool by_letter;	  /* a refusal names an option by its letter when it has one */
	bool stop;	  /* options end at the first argument (getopt's '+') */
	/* Called for each option the verb takes, in order: 0 or an exit status. */
	int (*fn)(const struct uk_opts *o, int id, const char *value);
	void *ctx;
	/* filled by uk_opts_parse */
	unsigned seen; /* UK_OPT_BIT of each option given */
	int nargs;     /* the arguments after the options */
	char **args;
};

/*
 * Parse argv (argv[0]: the command or verb) with the table. Returns 0 with nargs and args
 * set, -1 after printing the help, or an exit status: fn's, or UK_EXIT_USAGE for an unknown
 * option, a missing value or an option the verb does not take.
 */
int uk_opts_parse(struct uk_opts *o, int argc, char **argv);
/* For a verb known only after its options (net tap VERB): the usage error for the first
 * option of seen, in table order, that accept lacks; 0 when there is none. */
int uk_opts_refuse(const struct uk_opts *o, unsigned seen, unsigned accept);

/* The usage error for what getopt_long returned when its optstring starts with ':' (after
 * any '+'): ':' an option without its value, else ('?') an unknown option; named as the
 * user wrote it ("--backing", "-x"). UK_EXIT_USAGE. */
int uk_opt_error(const char *cmd, int c, char *const *argv);
/* The usage error for an option the command takes but not for what was asked:
 * "option 'OPT' does not apply to 'WHAT'" (OPT as the user would write it: "--output", "-d";
 * WHAT: "cow info"). UK_EXIT_USAGE. */
int uk_opt_not_for(const char *cmd, const char *opt, const char *what);

#endif
