/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the subcommand files of the umlkit binary. */
#ifndef UK_CMD_H
#define UK_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "umlkit/cow.h"
#include "umlkit/err.h"
#include "opts.h"

enum {
	UK_EXIT_OK = 0,
	UK_EXIT_FAIL = 1,  /* the operation failed: bad input, stale, locked, I/O */
	UK_EXIT_USAGE = 2, /* bad command line */
};

extern const char *uk_prog; /* "umlkit", or the compatibility name we run as */

/* "umlkit: <msg>" on stderr. Returns UK_EXIT_FAIL. */
int uk_fail(const struct uk_err *err);
/* "umlkit: <printf>" on stderr. */
void uk_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: message, a pointer to --help, UK_EXIT_USAGE. */
int uk_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether arg asks for the usage: "--help" or "-h", and the word "help" too when word is
 * true (where a verb stands; not where "help" may be a name or a command to pass on). */
bool uk_is_help(const char *arg, bool word);

enum uk_progress_mode { UK_PROGRESS_AUTO, UK_PROGRESS_FORCE, UK_PROGRESS_QUIET, UK_PROGRESS_JSON };
struct uk_cmd_progress {
	enum uk_progress_mode mode;
	const char *label;
	struct timespec start, last;
	bool shown;
	struct uk_progress p;
};
/* Set up p.fn/p.ctx for the mode; uk_progress_end finishes the bar's line. */
void uk_progress_begin(struct uk_cmd_progress *cp, const char *label);
void uk_progress_end(struct uk_cmd_progress *cp);

/* Options of the cow subcommands, parsed once in cow.c. */
struct uk_cow_opts {
	bool force, unsafe, in_place, shared, json, discard;
	const char *backing;
	struct uk_cmd_progress prog;
	int nargs;
	char **args;
};

/* Subcommand families and compatibility personalities. */
int uk_cmd_cow(int argc, char **argv);
int uk_cmd_image(int argc, char **argv);
int uk_cmd_kernel(int argc, char **argv);
/* The reporting cow subcommands (cow-report.c). */
int uk_cow_info_cmd(struct uk_cow_opts *o);
int uk_cow_check_cmd(struct uk_cow_opts *o);
int uk_cow_map_cmd(struct uk_cow_opts *o);
int uk_cow_compare_cmd(struct uk_cow_opts *o);
int uk_cmd_switch(int argc, char **argv);
int uk_cmd_guest(int argc, char **argv); /* run start list status stop kill */
/* The usage of run, start, list, status, logs, console, stop, kill and rm. */
extern const char uk_guest_usage[];
int uk_cmd_guest_logs(int argc, char **argv);	 /* logs */
int uk_cmd_guest_console(int argc, char **argv); /* console */
int uk_cmd_exec(int argc, char **argv);		 /* exec: a command in a guest (agent.c) */
int uk_cmd_cp(int argc, char **argv);		 /* cp: files into or out of a guest */
int uk_cmd_uml_moo(int argc, char **argv);
int uk_cmd_uml_mkcow(int argc, char **argv);
int uk_cmd_mconsole(int argc, char **argv);
int uk_cmd_uml_mconsole(int argc, char **argv);
int uk_cmd_net(int argc, char **argv);	      /* net tap|bridge */
int uk_cmd_fw(int argc, char **argv);	      /* fw show|apply|flush */
int uk_cmd_tunctl(int argc, char **argv);     /* the tunctl personality */
int uk_cmd_uml_switch(int argc, char **argv); /* the uml_switch personality */
int uk_cmd_lab(int argc, char **argv);	      /* lab: Netkit and Kathará labs */
int uk_cmd_netkit(int argc, char **argv);     /* lstart, lhalt, lcrash, lclean, linfo, lrestart */

/* A guest's interfaces (guest-addr.c): a JSON array for status and list, or lines of text
 * for status. */
struct json_t;
struct json_t *uk_guest_nets_json(const char *name);
void uk_guest_nets_print(const char *name);

/* Parse --output=FMT (json, human or text) into *json: 0, or the usage error for cmd (*json
 * untouched). */
int uk_parse_output(const char *cmd, const char *v, bool *json);
struct uk_kernel;
/* --seccomp's and $UMLKIT_SECCOMP's words: on, off, auto */
bool uk_seccomp_word(const char *v);
/*
 * The seccomp= for kernel k (cmd/guest.c): want (--seccomp), else $UMLKIT_SECCOMP, else dflt
 * (NULL: none), into out ("" none) when k has the mode; on is refused for a kernel without
 * it, off and auto then mean its only mode, ptrace. 0, or the exit status.
 */
int uk_seccomp_choose(const char *want, const char *dflt, const struct uk_kernel *k, char *out,
		      size_t outlen);
bool uk_parse_progress(const char *v, enum uk_progress_mode *mode);

#endif
