// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit kernel fetch|list|rm: UML kernels from Debian's archive beside the host's. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "umlkit/kernel.h"
#include "umlkit/util.h"
#include "cmd.h"
#include "opts.h"

static const char kernel_help[] =
	"Usage:\n"
	"  umlkit kernel fetch [SUITE] [--name NAME] [--package PKG] [--mirror URL] [-f] [-q]\n"
	"      fetch Debian's user-mode-linux of SUITE (default " UK_KERNEL_SUITE_DEFAULT
	"; trixie, ...) and the C\n"
	"      library it runs with through apt, with a private sources list (the host's apt\n"
	"      configuration untouched), verified against Debian's archive keyring; unpacked\n"
	"      into the cache and made to run on this host. The same version already here is\n"
	"      reused (-f: fetch again). NAME defaults to SUITE; the mirror to the host's.\n"
	"  umlkit kernel list [--output=json]   every kernel: the host's (" UK_KERNEL_SYSTEM
	") and the\n"
	"      fetched ones, with their release, seccomp mode, origin and path\n"
	"  umlkit kernel rm NAME...             remove fetched kernels\n"
	"A guest boots one with `umlkit start --kernel NAME` (or $UMLKIT_KERNEL=NAME).\n"
	"Exit status: 0 success, 1 failure (apt's error shown; nothing is left in the cache),\n"
	"2 usage error.\n";

enum { OPT_NAME, OPT_PACKAGE, OPT_MIRROR, OPT_FORCE, OPT_QUIET, OPT_OUTPUT };
static const struct uk_opt kernel_options[] = {
	[OPT_NAME] = {.name = "name", .value = true},
	[OPT_PACKAGE] = {.name = "package", .value = true},
	[OPT_MIRROR] = {.name = "mirror", .value = true},
	[OPT_FORCE] = {.name = "force", .letter = 'f'},
	[OPT_QUIET] = {.name = "quiet", .letter = 'q'},
	[OPT_OUTPUT] = {.name = "output", .value = true},
};
#define FETCH_OPTS                                                                                 \
	(UK_OPT_BIT(OPT_NAME) | UK_OPT_BIT(OPT_PACKAGE) | UK_OPT_BIT(OPT_MIRROR) |                 \
	 UK_OPT_BIT(OPT_FORCE) | UK_OPT_BIT(OPT_QUIET))

struct kernel_opts {
	struct uk_kernel_fetch f;
	bool quiet, json;
};

static int kernel_opt(const struct uk_opts *p, int id, const char *v)
{
	struct kernel_opts *o = p->ctx;

	switch (id) {
	case OPT_NAME:
		o->f.name = v;
		break;
	case OPT_PACKAGE:
		o->f.package = v;
		break;
	case OPT_MIRROR:
		o->f.mirror = v;
		break;
	case OPT_FORCE:
		o->f.force = true;
		break;
	case OPT_QUIET:
		o->quiet = true;
		break;
	case OPT_OUTPUT:
		return uk_parse_output(p->cmd, v, &o->json);
	}
	return 0;
}

static void say_line(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "umlkit: %s\n", line);
}

static int cmd_fetch(struct kernel_opts *o, int nargs, char **args)
{
	struct uk_err err = {0};
	struct uk_kernel k;
	int r;

	if (nargs > 1)
		return uk_usage_error("umlkit kernel fetch", "one SUITE at most");
	o->f.suite = nargs ? args[0] : NULL;
	if (!o->quiet)
		o->f.say = say_line;
	r = uk_kernel_fetch(&o->f, &k, &err);
	if (r < 0)
		return uk_fail(&err);
	printf("%s\t%s\t%s\n", k.name, k.release, k.path);
	if (!o->quiet)
		fprintf(stderr, "umlkit: kernel %s: Linux %s, %s; seccomp mode %s\n", k.name,
			k.release, r ? "fetched" : "reused", k.seccomp ? "available" : "absent");
	return 0;
}

static json_t *kernel_json(const struct uk_kernel *k)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:s*, s:b}", "name", k->name, "release",
			      k->release, "path", k->path, "seccomp", k->seccomp, "modules",
			      k->modules[0] ? k->modules : NULL, "whole", !k->damage[0]);

	if (!j)
		return NULL;
	if (k->package[0]) {
		json_object_set_new(j, "origin",
				    json_pack("{s:s, s:s, s:s, s:s, s:I}", "suite", k->suite,
					      "mirror", k->mirror, "package", k->package, "libc",
					      k->libc, "fetched", (json_int_t)k->fetched));
	} else {
		json_object_set_new(j, "origin", json_string("host"));
	}
	if (k->damage[0])
		json_object_set_new(j, "damage", json_string(k->damage));
	return j;
}

static void print_table(const struct uk_kernel *ks, int n)
{
	printf("%-10s %-12s %-8s %-28s %s\n", "NAME", "RELEASE", "SECCOMP", "ORIGIN", "PATH");
	for (int i = 0; i < n; i++) {
		const struct uk_kernel *k = &ks[i];
		char origin[64];

		if (k->package[0])
			snprintf(origin, sizeof(origin), "%s %s", k->suite,
				 strchr(k->package, ' ') ? strchr(k->package, ' ') + 1
							 : k->package);
		else
			snprintf(origin, sizeof(origin), "host");
		printf("%-10s %-12s %-8s %-28s %s\n", k->name, k->release[0] ? k->release : "-",
		       k->damage[0] ? "-"
		       : k->seccomp ? "yes"
				    : "no",
		       origin, k->path);
		if (k->damage[0])
			printf("%-10s damaged: %s\n", "", k->damage);
	}
}

static int cmd_list(const struct kernel_opts *o, int nargs)
{
	struct uk_err err = {0};
	struct uk_kernel *ks;
	int n;

	if (nargs)
		return uk_usage_error("umlkit kernel list", "no arguments");
	if (uk_kernel_list(&ks, &n, &err) < 0)
		return uk_fail(&err);
	if (o->json) {
		json_t *a = json_array();

		for (int i = 0; i < n; i++)
			json_array_append_new(a, kernel_json(&ks[i]));
		json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(a);
	} else {
		print_table(ks, n);
	}
	free(ks);
	return 0;
}

static int cmd_rm(int nargs, char **args)
{
	int rc = 0;

	if (!nargs)
		return uk_usage_error("umlkit kernel rm", "NAME is required");
	for (int i = 0; i < nargs; i++) {
		struct uk_err err = {0};

		if (uk_kernel_rm(args[i], &err) < 0)
			rc = uk_fail(&err);
	}
	return rc;
}

int uk_cmd_kernel(int argc, char **argv)
{
	static const struct {
		const char *verb;
		unsigned accept;
	} verbs[] = {{"fetch", FETCH_OPTS}, {"list", UK_OPT_BIT(OPT_OUTPUT)}, {"rm", 0}};
	struct kernel_opts o = {0};
	struct uk_opts p = {.opt = kernel_options,
			    .nopt = UK_ARRAY_SIZE(kernel_options),
			    .help = kernel_help,
			    .fn = kernel_opt,
			    .ctx = &o};
	char cmd[64], what[32];
	size_t i;
	int r;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(kernel_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? UK_EXIT_USAGE : 0;
	}
	for (i = 0; i < UK_ARRAY_SIZE(verbs) && strcmp(argv[1], verbs[i].verb); i++)
		;
	if (i == UK_ARRAY_SIZE(verbs))
		return uk_usage_error("umlkit kernel", "unknown command '%s'", argv[1]);
	snprintf(cmd, sizeof(cmd), "umlkit kernel %s", argv[1]);
	snprintf(what, sizeof(what), "kernel %s", argv[1]);
	p.cmd = cmd;
	p.what = what;
	p.accept = verbs[i].accept;
	r = uk_opts_parse(&p, argc - 1, argv + 1);
	if (r)
		return r < 0 ? 0 : r;
	if (i == 0)
		return cmd_fetch(&o, p.nargs, p.args);
	if (i == 1)
		return cmd_list(&o, p.nargs);
	return cmd_rm(p.nargs, p.args);
}
