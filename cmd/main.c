// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit: one binary, a table of subcommand families; the old tools' names by argv[0]. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

const char *uk_prog = "umlkit";

static const char usage_text[] =
	"Usage: umlkit [--help] [--version] COMMAND [ARGS...]\n"
	"\n"
	"Host tools for User-Mode Linux guests.\n"
	"\n"
	"Commands:\n"
	"  cow      copy-on-write disks: create, info, check, merge, rebase, restamp,\n"
	"           map, compare, diff   (umlkit cow --help)\n"
	"  image    guest images: build, build --distro debian, adapt   (umlkit image --help)\n"
	"  run, start, list, status, logs, console, stop, kill, rm, trim\n"
	"           guests: boot, supervise, watch, trim and stop them   (umlkit run --help)\n"
	"  exec     run a command in a guest through its agent   (umlkit exec --help)\n"
	"  cp       copy files into or out of a guest through its agent   (umlkit cp --help)\n"
	"  switch   userspace Ethernet switches for guests   (umlkit switch --help)\n"
	"  mconsole a guest's management console: send a command or read them from\n"
	"           stdin   (umlkit mconsole --help)\n"
	"  net      host taps and bridges   (umlkit net --help)\n"
	"  kernel   UML kernels: fetch today's from Debian's archive, list, rm\n"
	"           (umlkit kernel --help)\n"
	"  fw       a guest's firewall policy in nftables   (umlkit fw --help)\n"
	"  lab      Netkit and Kathará labs: start, stop, crash, clean, info, list, exec,\n"
	"           connect   (umlkit lab --help)\n"
	"\n"
	"Called as uml_moo, uml_mkcow, uml_mconsole, uml_switch or tunctl, umlkit behaves as\n"
	"that old tool; as lstart, lhalt, lcrash, lclean, linfo, ltest or lrestart, as\n"
	"Netkit's.\n"
	"Exit status: 0 success, 1 failure, 2 usage error (see umlkit(1)).\n";

int uk_fail(const struct uk_err *err)
{
	fprintf(stderr, "%s: %s\n", uk_prog, err->msg[0] ? err->msg : "unknown error");
	return UK_EXIT_FAIL;
}

void uk_say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", uk_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int uk_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", uk_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", cmd);
	return UK_EXIT_USAGE;
}

bool uk_is_help(const char *arg, bool word)
{
	return arg &&
	       (!strcmp(arg, "--help") || !strcmp(arg, "-h") || (word && !strcmp(arg, "help")));
}

int uk_parse_output(const char *cmd, const char *v, bool *json)
{
	if (strcmp(v, "json") && strcmp(v, "human") && strcmp(v, "text"))
		return uk_usage_error(cmd, "bad --output '%s'", v);
	*json = !strcmp(v, "json");
	return 0;
}

bool uk_parse_progress(const char *v, enum uk_progress_mode *mode)
{
	if (!strcmp(v, "json"))
		*mode = UK_PROGRESS_JSON;
	else if (!strcmp(v, "bar"))
		*mode = UK_PROGRESS_FORCE;
	else if (!strcmp(v, "none"))
		*mode = UK_PROGRESS_QUIET;
	else
		return false;
	return true;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} personalities[] = {
	{"uml_moo", uk_cmd_uml_moo},
	{"uml_mkcow", uk_cmd_uml_mkcow},
	{"uml_mconsole", uk_cmd_uml_mconsole},
	{"tunctl", uk_cmd_tunctl},
	{"uml_switch", uk_cmd_uml_switch},
	{"lstart", uk_cmd_netkit},
	{"lhalt", uk_cmd_netkit},
	{"lcrash", uk_cmd_netkit},
	{"lclean", uk_cmd_netkit},
	{"linfo", uk_cmd_netkit},
	{"lrestart", uk_cmd_netkit},
	{"ltest", uk_cmd_netkit},
};

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} families[] = {
	{"cow", uk_cmd_cow},
	{"switch", uk_cmd_switch},
	{"image", uk_cmd_image},
	{"run", uk_cmd_guest},
	{"start", uk_cmd_guest},
	{"list", uk_cmd_guest},
	{"status", uk_cmd_guest},
	{"stop", uk_cmd_guest},
	{"kill", uk_cmd_guest},
	{"trim", uk_cmd_guest},
	{"rm", uk_cmd_guest},
	{"logs", uk_cmd_guest_logs},
	{"console", uk_cmd_guest_console},
	{"exec", uk_cmd_exec},
	{"cp", uk_cmd_cp},
	{"mconsole", uk_cmd_mconsole},
	{"net", uk_cmd_net},
	{"fw", uk_cmd_fw},
	{"kernel", uk_cmd_kernel},
	{"lab", uk_cmd_lab},
};

int main(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;

	base = base ? base + 1 : (argc > 0 ? argv[0] : "umlkit");
	for (size_t i = 0; i < sizeof(personalities) / sizeof(personalities[0]); i++) {
		if (!strcmp(base, personalities[i].name)) {
			uk_prog = personalities[i].name;
			return personalities[i].fn(argc, argv);
		}
	}
	if (argc < 2)
		return uk_usage_error("umlkit", "no command given");
	if (uk_is_help(argv[1], true)) {
		fputs(usage_text, stdout);
		return UK_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("umlkit %s\n", UK_VERSION);
		return UK_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (!strcmp(argv[1], families[i].name))
			return families[i].fn(argc - 1, argv + 1);
	return uk_usage_error("umlkit", "unknown command '%s'", argv[1]);
}
