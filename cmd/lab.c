// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit lab: run Netkit and Kathará labs (start stop crash clean info list exec connect
 * check test). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "umlkit/image.h"
#include "umlkit/kernel.h"
#include "umlkit/lab.h"
#include "cmd.h"
#include "lab.h"

static const char lab_usage[] =
	"Usage: umlkit lab COMMAND [DIR] [OPTIONS] [MACHINE...]\n"
	"\n"
	"Run a Netkit or Kathará lab directory (lab.conf, lab.dep, lab.ext, MACHINE/,\n"
	"shared/, *.startup, *.shutdown, _test/; umlkit's lab.hosts) as UML guests. DIR\n"
	"defaults to the current directory; a first argument that is not a directory is a\n"
	"machine.\n"
	"  start [DIR] [MACHINE...]   boot the machines (all, or those named), in parallel\n"
	"                             as far as lab.dep allows; returns when every startup\n"
	"                             script ended\n"
	"  stop [DIR] [MACHINE...]    M.shutdown and shared.shutdown, then a clean stop\n"
	"  crash [DIR] [MACHINE...]   kill the machines, no scripts\n"
	"  clean [DIR]                stop what runs, remove the machines' disks and logs:\n"
	"                             the lab directory is left as it was\n"
	"  info [DIR]                 metadata, machines, domains (--output=json, --map)\n"
	"  list                       running labs and their machines (--output=json)\n"
	"  exec DIR MACHINE -- CMD    run CMD in a machine (as umlkit exec)\n"
	"  connect DIR MACHINE        the machine's console\n"
	"  check [DIR] [FILE]         run the lab's checks (FILE, default DIR/lab.check) in\n"
	"                             its running machines: one line each, exit 1 if any fails\n"
	"  test [DIR]                 Netkit's ltest: clean and start the lab, dump each\n"
	"                             machine (_test/M.test's output, and addresses, routes,\n"
	"                             sockets, processes), crash and clean it; the first run's\n"
	"                             dumps become _test/signature, later runs must match it\n"
	"Options:\n"
	"  -d DIR                     the lab directory\n"
	"  -p, --parallel N           machines started at once (default: from the CPUs and\n"
	"                             the free memory)\n"
	"  -o KEY=VALUE               an option for every machine, over lab.conf's\n"
	"  -F, --force                start a directory without lab.conf or lab.dep: its\n"
	"                             subdirectories are the machines\n"
	"  --no-wait                  start: return once the machines booted\n"
	"  --no-trim                  start: keep in host memory what each machine freed\n"
	"                             by its startup's end (by default given back, as by\n"
	"                             umlkit trim)\n"
	"  --image PATH               the lab image (default $UMLKIT_LAB_IMAGE, else the one\n"
	"                             `umlkit image build --profile lab` made)\n"
	"  --kernel NAME|PATH         the kernel (default: as umlkit start)\n"
	"  --seccomp on|off|auto      start: the machines' processes under seccomp when the\n"
	"                             kernel has the mode (7.2: about 2x faster; default\n"
	"                             $UMLKIT_SECCOMP, else auto: a lab machine reaches the\n"
	"                             host's files through hostfs anyway, umlkit-lab(1))\n"
	"  --host NAME                start, stop, crash, clean: this host of lab.hosts\n"
	"                             (default: the one whose address this host has); only\n"
	"                             its machines, their domains joined to the other hosts'\n"
	"                             over VXLAN\n"
	"  --all-hosts                then the same on lab.hosts' other hosts, through ssh\n"
	"                             ($UMLKIT_LAB_SSH, else ssh; the same DIR there)\n"
	"  --output=json              info, list: JSON\n"
	"  --map                      info: a Graphviz map of machines and domains\n"
	"  --verify=both|user|builtin test: which dumps are compared (default both)\n"
	"Called as lstart, lhalt, lcrash, lclean, linfo, ltest or lrestart, umlkit takes\n"
	"Netkit's options (umlkit-lab(1)).\n"
	"Exit status: 0 success, 1 failure (a machine failed: each is named with its log),\n"
	"2 usage error.\n";

enum {
	OPT_DIR,
	OPT_PARALLEL,
	OPT_OVER,
	OPT_FORCE,
	OPT_NO_WAIT,
	OPT_NO_TRIM,
	OPT_SECCOMP,
	OPT_IMAGE,
	OPT_KERNEL,
	OPT_OUTPUT,
	OPT_MAP,
	OPT_VERIFY,
	OPT_HOST,
	OPT_ALL_HOSTS,
};

static const struct uk_opt lab_opts[] = {
	[OPT_DIR] = {.letter = 'd', .value = true},
	[OPT_PARALLEL] = {.name = "parallel", .letter = 'p', .value = true},
	[OPT_OVER] = {.letter = 'o', .value = true},
	[OPT_FORCE] = {.name = "force", .letter = 'F'},
	[OPT_NO_WAIT] = {.name = "no-wait"},
	[OPT_NO_TRIM] = {.name = "no-trim"},
	[OPT_SECCOMP] = {.name = "seccomp", .value = true},
	[OPT_IMAGE] = {.name = "image", .value = true},
	[OPT_KERNEL] = {.name = "kernel", .value = true},
	[OPT_OUTPUT] = {.name = "output", .value = true},
	[OPT_MAP] = {.name = "map"},
	[OPT_VERIFY] = {.name = "verify", .value = true},
	[OPT_HOST] = {.name = "host", .value = true},
	[OPT_ALL_HOSTS] = {.name = "all-hosts"},
};

#define START_OPTS                                                                                 \
	(UK_OPT_BIT(OPT_DIR) | UK_OPT_BIT(OPT_PARALLEL) | UK_OPT_BIT(OPT_OVER) |                   \
	 UK_OPT_BIT(OPT_FORCE) | UK_OPT_BIT(OPT_NO_WAIT) | UK_OPT_BIT(OPT_IMAGE) |                 \
	 UK_OPT_BIT(OPT_KERNEL) | UK_OPT_BIT(OPT_HOST) | UK_OPT_BIT(OPT_NO_TRIM) |                 \
	 UK_OPT_BIT(OPT_SECCOMP))

static int lab_opt(const struct uk_opts *p, int id, const char *v)
{
	struct uk_lab_cmd *c = p->ctx;

	switch (id) {
	case OPT_DIR:
		c->dir = v;
		return 0;
	case OPT_PARALLEL:
		return uk_lab_parallel_parse(p->cmd, v, &c->run.parallel);
	case OPT_OVER:
		return uk_lab_over_add(c, p->cmd, v);
	case OPT_FORCE:
		c->load.folder = true;
		return 0;
	case OPT_NO_WAIT:
		c->run.no_wait = true;
		return 0;
	case OPT_NO_TRIM:
		c->run.no_trim = true;
		return 0;
	case OPT_SECCOMP:
		if (!uk_seccomp_word(v))
			return uk_usage_error(p->cmd, "--seccomp %s: use on, off or auto", v);
		c->seccomp = v;
		return 0;
	case OPT_IMAGE:
		c->image = v;
		return 0;
	case OPT_KERNEL:
		c->kernel = v;
		return 0;
	case OPT_OUTPUT:
		return uk_parse_output(p->cmd, v, &c->json);
	case OPT_MAP:
		c->map = true;
		return 0;
	case OPT_HOST:
		c->run.host = v;
		return 0;
	case OPT_ALL_HOSTS:
		c->all_hosts = true;
		return 0;
	case OPT_VERIFY:
		if (uk_lab_verify_parse(v, &c->verify) < 0)
			return uk_usage_error(p->cmd, "--verify=%s: want both, user or builtin", v);
		return 0;
	}
	return 0;
}

/* DIR (unless -d gave it) and the machines from the arguments: the first is DIR when
 * the command takes no machines, is a directory, or holds a '/' (no machine name does) */
static void split_args(struct uk_lab_cmd *c, int nargs, char **args, bool machines)
{
	struct stat st;

	if (!c->dir && nargs > 0 &&
	    (!machines || strchr(args[0], '/') ||
	     (stat(args[0], &st) == 0 && S_ISDIR(st.st_mode)))) {
		c->dir = args[0];
		nargs--;
		args++;
	}
	if (!c->dir)
		c->dir = ".";
	c->run.only = (const char *const *)args;
	c->run.n_only = nargs;
}

static int cmd_info(struct uk_lab_cmd *c)
{
	char *text;
	int r = uk_lab_cmd_load(c);

	if (r)
		return r;
	text = c->map	 ? uk_lab_info_dot(c->lab)
	       : c->json ? uk_lab_info_json(c->lab)
			 : uk_lab_info_text(c->lab);
	if (!text) {
		uk_say("%s: out of memory", c->lab->dir);
		return UK_EXIT_FAIL;
	}
	fputs(text, stdout);
	if (text[0] && text[strlen(text) - 1] != '\n')
		putchar('\n');
	free(text);
	return UK_EXIT_OK;
}

static int cmd_list(struct uk_lab_cmd *c)
{
	struct uk_lab_running *v;
	struct uk_err err = {0};
	json_t *arr = json_array();
	int n;

	if (uk_lab_list_running(&v, &n, &err) < 0) {
		json_decref(arr);
		return uk_fail(&err);
	}
	for (int i = 0; i < n; i++) {
		json_t *o = json_object(), *ms = json_array();

		if (!c->json)
			printf("%s:", v[i].dir[0] ? v[i].dir : v[i].id);
		for (int k = 0; k < v[i].n_machine; k++) {
			if (!c->json)
				printf(" %s", v[i].machine[k]);
			json_array_append_new(ms, json_string(v[i].machine[k]));
		}
		if (!c->json)
			putchar('\n');
		json_object_set_new(o, "dir", json_string(v[i].dir));
		json_object_set_new(o, "id", json_string(v[i].id));
		json_object_set_new(o, "machines", ms);
		json_array_append_new(arr, o);
	}
	if (c->json) {
		json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	json_decref(arr);
	uk_lab_running_free(v, n);
	return UK_EXIT_OK;
}

/* exec DIR MACHINE -- CMD and connect DIR MACHINE: the machine's guest, then umlkit's own */
static int cmd_guest(struct uk_lab_cmd *c, bool exec, int nargs, char **args)
{
	char name[64], *argv[UK_LAB_EXEC_ARGS + 4];
	int r, n = 0;

	if (nargs < 2 || (exec && (nargs < 3 || (nargs == 3 && !strcmp(args[2], "--")))))
		return uk_usage_error("umlkit lab", exec ? "exec needs DIR MACHINE -- CMD"
							 : "connect needs DIR MACHINE");
	if (nargs - 2 > UK_LAB_EXEC_ARGS)
		return uk_usage_error("umlkit lab", "exec: too many arguments");
	c->dir = args[0];
	c->load.folder = true;
	r = uk_lab_cmd_load(c);
	if (r)
		return r;
	if (!uk_lab_machine_find(c->lab, args[1])) {
		uk_say("%s: no machine named '%s'", c->lab->dir, args[1]);
		return UK_EXIT_FAIL;
	}
	uk_lab_guest_name(c->lab, args[1], name, sizeof(name));
	uk_lab_cmd_free(c); /* exec and console are umlkit's own from here */
	argv[n++] = exec ? "exec" : "console";
	argv[n++] = name;
	if (exec) {
		argv[n++] = "--";
		for (int i = strcmp(args[2], "--") ? 2 : 3; i < nargs; i++)
			argv[n++] = args[i];
	}
	argv[n] = NULL;
	return exec ? uk_cmd_exec(n, argv) : uk_cmd_guest_console(n, argv);
}

static const struct {
	const char *name;
	unsigned accept;
} verbs[] = {
	{"start", START_OPTS | UK_OPT_BIT(OPT_ALL_HOSTS)},
	{"stop", UK_OPT_BIT(OPT_DIR) | UK_OPT_BIT(OPT_HOST) | UK_OPT_BIT(OPT_ALL_HOSTS)},
	{"crash", UK_OPT_BIT(OPT_DIR) | UK_OPT_BIT(OPT_HOST) | UK_OPT_BIT(OPT_ALL_HOSTS)},
	{"clean", UK_OPT_BIT(OPT_DIR) | UK_OPT_BIT(OPT_FORCE) | UK_OPT_BIT(OPT_HOST) |
			  UK_OPT_BIT(OPT_ALL_HOSTS)},
	{"info", UK_OPT_BIT(OPT_DIR) | UK_OPT_BIT(OPT_OUTPUT) | UK_OPT_BIT(OPT_MAP)},
	{"list", UK_OPT_BIT(OPT_OUTPUT)},
	{"check", UK_OPT_BIT(OPT_DIR)},
	{"test", UK_OPT_BIT(OPT_VERIFY) | (START_OPTS & ~UK_OPT_BIT(OPT_NO_WAIT))},
};

/* With --all-hosts, verb on the other hosts too (after this one's, which gave r): the
 * worse exit status. A selection of machines is this host's business only. */
static int on_all_hosts(struct uk_lab_cmd *c, const char *verb, int r)
{
	int o;

	if (!c->all_hosts || (r != UK_EXIT_OK && (!c->lab || !strcmp(verb, "start"))))
		return r; /* a start that failed here goes no further */
	if (c->run.n_only)
		return uk_usage_error("umlkit lab", "--all-hosts acts on whole hosts: no MACHINE");
	o = uk_lab_cmd_other_hosts(c, verb);
	return r ? r : o;
}

static int run_verb(struct uk_lab_cmd *c, const char *verb, int nargs, char **args)
{
	if (!strcmp(verb, "list")) {
		if (nargs)
			return uk_usage_error("umlkit lab", "unexpected argument '%s'", args[0]);
		return cmd_list(c);
	}
	if (!strcmp(verb, "check")) { /* check [DIR] [FILE] */
		if (!c->dir && nargs > 0) {
			c->dir = args[0];
			nargs--;
			args++;
		}
		if (nargs > 1)
			return uk_usage_error("umlkit lab", "unexpected argument '%s'", args[1]);
		if (!c->dir)
			c->dir = ".";
		return uk_lab_cmd_check(c, nargs ? args[0] : NULL);
	}
	split_args(c, nargs, args,
		   strcmp(verb, "clean") && strcmp(verb, "info") && strcmp(verb, "test"));
	if (!strcmp(verb, "start"))
		return on_all_hosts(c, verb, uk_lab_cmd_start(c));
	if (!strcmp(verb, "stop") || !strcmp(verb, "crash"))
		return on_all_hosts(c, verb, uk_lab_cmd_stop(c, !strcmp(verb, "crash"), false));
	if (c->run.n_only)
		return uk_usage_error("umlkit lab", "unexpected argument '%s'", c->run.only[0]);
	if (!strcmp(verb, "clean"))
		return on_all_hosts(c, verb, uk_lab_cmd_clean(c));
	if (!strcmp(verb, "test"))
		return uk_lab_cmd_test(c);
	return cmd_info(c);
}

int uk_cmd_lab(int argc, char **argv)
{
	struct uk_lab_cmd c = {0};
	struct uk_opts p = {.opt = lab_opts,
			    .nopt = sizeof(lab_opts) / sizeof(lab_opts[0]),
			    .cmd = "umlkit lab",
			    .help = lab_usage,
			    .fn = lab_opt,
			    .ctx = &c};
	const char *verb = argc > 1 ? argv[1] : NULL;
	char what[32];
	int r;

	if (!verb || uk_is_help(verb, true)) {
		fputs(lab_usage, verb ? stdout : stderr);
		return verb ? UK_EXIT_OK : UK_EXIT_USAGE;
	}
	if (!strcmp(verb, "exec") || !strcmp(verb, "connect")) {
		r = cmd_guest(&c, !strcmp(verb, "exec"), argc - 2, argv + 2);
		uk_lab_cmd_free(&c);
		return r;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verb, verbs[i].name))
			continue;
		snprintf(what, sizeof(what), "lab %s", verb);
		p.what = what;
		p.accept = verbs[i].accept;
		r = uk_opts_parse(&p, argc - 1, argv + 1);
		if (r == 0)
			r = run_verb(&c, verb, p.nargs, p.args);
		uk_lab_cmd_free(&c);
		return r < 0 ? UK_EXIT_OK : r;
	}
	return uk_usage_error("umlkit lab", "unknown lab command '%s'", verb);
}
