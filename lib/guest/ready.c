// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Readiness and what the kernel shows of a boot: the --ready modes (one table: a new mode is
 * one line here and one case in the supervisor), the words that describe what a guest waits
 * for, and the pure readers of what the kernel prints or reports: "booted" (the kernel runs
 * init) and how it ended (a reboot, or a halt or poweroff).
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "guest-internal.h"

static const struct {
	const char *name;
	int mode;
	bool arg;	  /* takes :ARG */
	const char *what; /* the signal the guest waits for ("%s": the argument) */
	const char *hint; /* how to choose another signal when this one cannot come */
} ready_modes[] = {
	{"notify", UK_READY_NOTIFY, false, "umlkit-ready on /proc/mconsole",
	 "an image without umlkit's hook never sends it: use --ready=console:REGEX or "
	 "--ready=agent"},
	{"mconsole", UK_READY_MCONSOLE, false, "its mconsole to come up",
	 "a kernel without mconsole never opens it: use --ready=console:REGEX"},
	{"console", UK_READY_CONSOLE, true, "a console line matching '%s'",
	 "see what the console shows with umlkit logs NAME, or use --ready=notify or "
	 "--ready=agent"},
	{"agent", UK_READY_AGENT, false, "its umlkit-agent to say hello",
	 "an image without umlkit-agent never answers (umlkit image build and image adapt "
	 "install it): use --ready=console:REGEX"},
};

int uk_guest_ready_parse(struct uk_guest_start_opts *o, const char *arg, struct uk_err *err)
{
	for (size_t i = 0; i < UK_ARRAY_SIZE(ready_modes); i++) {
		size_t n = strlen(ready_modes[i].name);
		const char *v = arg + n;
		regex_t re;
		int r;

		if (strncmp(arg, ready_modes[i].name, n) || (*v && *v != ':'))
			continue;
		if (!ready_modes[i].arg && *v)
			return uk_err_set(err, EINVAL, "--ready=%s: %s takes no argument", arg,
					  ready_modes[i].name);
		if (ready_modes[i].arg && (!*v || !v[1]))
			return uk_err_set(err, EINVAL, "--ready=%s: want %s:REGEX", arg,
					  ready_modes[i].name);
		if (!*v) {
			o->ready = ready_modes[i].mode;
			o->ready_arg[0] = '\0';
			return 0;
		}
		v++;
		if (strlen(v) >= sizeof(o->ready_arg))
			return uk_err_set(err, E2BIG, "--ready=%s: the pattern is longer than %zu",
					  ready_modes[i].name, sizeof(o->ready_arg) - 1);
		for (const char *c = v; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return uk_err_set(
					err, EINVAL,
					"--ready=%s: the pattern holds a control character",
					ready_modes[i].name);
		r = regcomp(&re, v, REG_EXTENDED | REG_NOSUB);
		if (r) {
			char why[128];

			regerror(r, &re, why, sizeof(why));
			return uk_err_set(err, EINVAL, "--ready=%s: bad extended regex: %s", arg,
					  why);
		}
		regfree(&re);
		o->ready = ready_modes[i].mode;
		snprintf(o->ready_arg, sizeof(o->ready_arg), "%s", v);
		return 0;
	}
	return uk_err_set(err, EINVAL, "--ready=%s: use notify, mconsole, agent or console:REGEX",
			  arg);
}

void uk_guest_ready_describe(int mode, const char *arg, char *out, size_t outlen)
{
	for (size_t i = 0; i < UK_ARRAY_SIZE(ready_modes); i++) {
		if (ready_modes[i].mode != mode)
			continue;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(out, outlen, ready_modes[i].what, arg ? arg : "");
#pragma GCC diagnostic pop
		return;
	}
	snprintf(out, outlen, "its ready signal");
}

const char *uk_guest_ready_hint(int mode)
{
	for (size_t i = 0; i < UK_ARRAY_SIZE(ready_modes); i++)
		if (ready_modes[i].mode == mode)
			return ready_modes[i].hint;
	return "";
}

void uk_guest_ready_note(const struct uk_guest_status *st, int mode, const char *arg, char *out,
			 size_t outlen)
{
	char what[UK_READY_ARG_MAX + 64];

	uk_guest_ready_describe(mode, arg, what, sizeof(what));
	if (st->state == UK_GUEST_BOOTED)
		snprintf(out, outlen, "%s: booted, waiting for its ready notice (%s); %s", st->name,
			 what, uk_guest_ready_hint(mode));
	else
		snprintf(out, outlen,
			 "%s: still booting (its kernel has not started init yet), waiting for "
			 "its ready notice (%s); %s",
			 st->name, what, uk_guest_ready_hint(mode));
}

/* A kernel console line without its "[    1.234567] " time stamp (printk.time=1). */
static const char *kernel_text(const char *line)
{
	const char *p = line;

	if (*p != '[')
		return line;
	p += strspn(p + 1, " 0123456789.") + 1;
	if (*p != ']')
		return line;
	return p + 1 + (p[1] == ' ');
}

bool uk_guest_line_runs_init(const char *line)
{
	const char *p = kernel_text(line);
	size_t n = strlen(p);
	static const char head[] = "Run ", tail[] = " as init process";

	return n > strlen(head) + strlen(tail) && !strncmp(p, head, strlen(head)) &&
	       !strcmp(p + n - strlen(tail), tail);
}

int uk_guest_line_reboot(const char *line)
{
	const char *p = kernel_text(line);

	if (!strcmp(p, "reboot: Restarting system"))
		return 1;
	if (!strcmp(p, "reboot: System halted") || !strcmp(p, "reboot: Power down"))
		return 0;
	return -1;
}

bool uk_guest_mounts_show_init(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	/* "DEV MOUNTPOINT TYPE OPTIONS 0 0" lines: the kernel mounts the root (and maybe
	 * devtmpfs on /dev) by itself; proc on /proc is init's doing */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(le - p));
		static const char want[] = " /proc proc ";

		if (sp && (size_t)(le - sp) >= strlen(want) && !memcmp(sp, want, strlen(want)))
			return true;
		p = le + 1;
	}
	return false;
}
