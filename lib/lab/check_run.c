// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * uk_lab_check_run: each check of a check file made into a guest command (ping, dig, curl,
 * ip route, ss, pidof, vtysh), run through the caller's exec function, and its output
 * judged. The exec function is the only I/O, so a fake one tests every judgement.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lab-internal.h"
#include "umlkit/util.h"

#define MAX_ARGV   10
#define MAX_FIELDS 16

static void fail(struct uk_lab_check_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct uk_lab_check_result *res, const char *fmt, ...)
{
	va_list ap;

	res->pass = false;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
}

/* The guest command of c into argv (NULL-terminated); at holds "@SERVER" for dig. */
static void build_argv(const struct uk_lab_check *c, const char **argv, char *at, size_t atlen)
{
	const char *const *a = (const char *const *)c->arg;
	int n = 0;

	switch (c->kind) {
	case UK_LAB_CHECK_PING:
		argv[n++] = "ping", argv[n++] = "-c1", argv[n++] = "-W2", argv[n++] = a[0];
		break;
	case UK_LAB_CHECK_DNS:
		argv[n++] = "dig", argv[n++] = "+short";
		if (a[3] && uk_fmt(at, atlen, "@%s", a[3]) == 0)
			argv[n++] = at;
		argv[n++] = a[0], argv[n++] = a[1];
		break;
	case UK_LAB_CHECK_HTTP:
		argv[n++] = "curl", argv[n++] = "-s", argv[n++] = "--max-time", argv[n++] = "10";
		argv[n++] = a[0];
		break;
	case UK_LAB_CHECK_ROUTE:
		argv[n++] = "ip", argv[n++] = "route", argv[n++] = "show", argv[n++] = a[0];
		break;
	case UK_LAB_CHECK_LISTEN:
		argv[n++] = "ss", argv[n++] = strcmp(a[0], "udp") ? "-ltn" : "-lun";
		break;
	case UK_LAB_CHECK_DAEMON:
		argv[n++] = "pidof", argv[n++] = a[0];
		break;
	case UK_LAB_CHECK_OSPF_NEIGHBOR:
		argv[n++] = "vtysh", argv[n++] = "-c", argv[n++] = "show ip ospf neighbor";
		break;
	default:
		argv[n++] = "vtysh", argv[n++] = "-c", argv[n++] = "show bgp summary";
		break;
	}
	argv[n] = NULL;
}

/* The blank-separated fields of line, in place: their count. */
static int fields(char *line, char **f)
{
	char *save = NULL;
	int n = 0;

	for (char *t = strtok_r(line, " \t", &save); t && n < MAX_FIELDS;
	     t = strtok_r(NULL, " \t", &save))
		f[n++] = t;
	return n;
}

/* The next line of *text (changed in place), or NULL at the end. */
static char *next_line(char **text)
{
	char *s = *text, *nl;

	if (!s || !*s)
		return NULL;
	nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
	*text = nl ? nl + 1 : s + strlen(s);
	return s;
}

/* The value after word in f, or NULL. */
static const char *after(char **f, int n, const char *word)
{
	for (int i = 0; i + 1 < n; i++)
		if (!strcmp(f[i], word))
			return f[i + 1];
	return NULL;
}

static bool same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	la -= la > 1 && a[la - 1] == '.';
	lb -= lb > 1 && b[lb - 1] == '.';
	return la == lb && !strncasecmp(a, b, la);
}

static void judge_dns(const struct uk_lab_check *c, char *out, struct uk_lab_check_result *res)
{
	char *text = out, *line, *first = NULL;

	while ((line = next_line(&text))) {
		char *s = uk_lab_strip(line);

		if (same_name(s, c->arg[2]))
			return;
		if (!first && *s)
			first = s;
	}
	fail(res, "%s %s: got %s%.80s%s, want `%.80s`", c->arg[0], c->arg[1], first ? "`" : "",
	     first ? first : "no answer", first ? "`" : "", c->arg[2]);
}

/* `ip route show PREFIX` prints a host route without its /32 (or /128). */
static bool route_dest(const char *field, const char *prefix)
{
	size_t n = strlen(field);

	if (!strcmp(field, prefix))
		return true;
	return !strncmp(field, prefix, n) &&
	       (!strcmp(prefix + n, "/32") || !strcmp(prefix + n, "/128"));
}

static void judge_route(const struct uk_lab_check *c, char *out, struct uk_lab_check_result *res)
{
	char *text = out, *line, *f[MAX_FIELDS];

	while ((line = next_line(&text))) {
		int n = fields(line, f);
		const char *via, *dev;

		if (n == 0 || !route_dest(f[0], c->arg[0]))
			continue;
		via = after(f, n, "via");
		dev = after(f, n, "dev");
		if (c->arg[1] && (!via || strcmp(via, c->arg[1]))) {
			fail(res, "route to %s goes via %s, want %s", c->arg[0],
			     via ? via : "no gateway", c->arg[1]);
			return;
		}
		if (c->arg[2] && (!dev || strcmp(dev, c->arg[2]))) {
			fail(res, "route to %s goes out of %s, want %s", c->arg[0],
			     dev ? dev : "no device", c->arg[2]);
			return;
		}
		return;
	}
	fail(res, "no route to %s", c->arg[0]);
}

static void judge_listen(const struct uk_lab_check *c, char *out, struct uk_lab_check_result *res)
{
	char *text = out, *line, *f[MAX_FIELDS], want[8];

	snprintf(want, sizeof(want), ":%s", c->arg[1]);
	while ((line = next_line(&text))) {
		int n = fields(line, f);
		size_t lf, lw = strlen(want);

		if (n < 4)
			continue;
		lf = strlen(f[3]);
		if (lf >= lw && !strcmp(f[3] + lf - lw, want))
			return;
	}
	fail(res, "nothing listens on %s port %s", c->arg[0], c->arg[1]);
}

static void judge_ospf(const struct uk_lab_check *c, char *out, struct uk_lab_check_result *res)
{
	char *text = out, *line, *f[MAX_FIELDS];

	while ((line = next_line(&text))) {
		int n = fields(line, f);

		if (n < 3 || strcmp(f[0], c->arg[0]))
			continue;
		if (!strncmp(f[2], "Full", 4) || !strncmp(f[2], "2-Way", 5))
			return;
		{
			fail(res, "OSPF neighbor %s is %.40s, want Full or 2-Way", c->arg[0], f[2]);
			return;
		}
	}
	fail(res, "no OSPF neighbor %s", c->arg[0]);
}

static bool bgp_established(const char *state)
{
	return strspn(state, "0123456789") == strlen(state) || !strcmp(state, "(Policy)");
}

static void judge_bgp(const struct uk_lab_check *c, char *out, struct uk_lab_check_result *res)
{
	const char *want = c->arg[1] ? c->arg[1] : "Established";
	char *text = out, *line, *f[MAX_FIELDS];

	while ((line = next_line(&text))) {
		int n = fields(line, f);
		bool ok;

		if (n < 10 || strcmp(f[0], c->arg[0]))
			continue;
		ok = !strcasecmp(want, "Established") ? bgp_established(f[9])
						      : !strcasecmp(f[9], want);
		if (!ok)
			fail(res, "BGP neighbor %s is %.40s, want %s", c->arg[0],
			     bgp_established(f[9]) ? "Established" : f[9], want);
		return;
	}
	fail(res, "no BGP neighbor %s", c->arg[0]);
}

static void judge(const struct uk_lab_check *c, const char *prog, char *out, int status,
		  struct uk_lab_check_result *res)
{
	res->pass = true;
	if (status != 0 && c->kind != UK_LAB_CHECK_DAEMON) {
		fail(res, "%s exited %d", prog, status);
		return;
	}
	switch (c->kind) {
	case UK_LAB_CHECK_DNS:
		judge_dns(c, out, res);
		break;
	case UK_LAB_CHECK_HTTP:
		if (c->arg[1] && !strstr(out, c->arg[1]))
			fail(res, "%.120s does not contain `%.80s`", c->arg[0], c->arg[1]);
		break;
	case UK_LAB_CHECK_ROUTE:
		judge_route(c, out, res);
		break;
	case UK_LAB_CHECK_LISTEN:
		judge_listen(c, out, res);
		break;
	case UK_LAB_CHECK_DAEMON:
		if (status != 0 || !strpbrk(out, "0123456789"))
			fail(res, "%s is not running", c->arg[0]);
		break;
	case UK_LAB_CHECK_OSPF_NEIGHBOR:
		judge_ospf(c, out, res);
		break;
	case UK_LAB_CHECK_BGP_NEIGHBOR:
		judge_bgp(c, out, res);
		break;
	default:
		break; /* ping: its exit status says it */
	}
}

static void run_one(const struct uk_lab_check *c, uk_lab_exec_fn exec, void *ctx,
		    struct uk_lab_check_result *res)
{
	const char *argv[MAX_ARGV];
	char at[300], *out = NULL;
	int status = -1, r;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	build_argv(c, argv, at, sizeof(at));
	r = exec(ctx, c->machine, (char *const *)argv, &out, &status);
	if (r < 0) {
		free(out);
		{
			fail(res, "cannot run %s on %s: %s", argv[0], c->machine, strerror(-r));
			return;
		}
	}
	res->status = status;
	judge(c, argv[0], out ? out : (char[]){""}, status, res);
	free(out);
}

int uk_lab_check_run(const struct uk_lab_checks *list, uk_lab_exec_fn exec, void *ctx,
		     struct uk_lab_check_result *results)
{
	int failed = 0;

	for (int i = 0; i < list->n; i++) {
		run_one(&list->check[i], exec, ctx, &results[i]);
		failed += !results[i].pass;
	}
	return failed;
}
