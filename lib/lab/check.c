// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The declarative check file of `lab check` (include/umlkit/lab.h lists its kinds), read
 * into a list: `MACHINE KIND ARGS...` per line, `#` comments, "double quotes" around an
 * argument with blanks. Every argument that reaches a guest command is validated here, so
 * none can pass for an option of it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lab-internal.h"
#include "umlkit/util.h"

#define MAX_TOKENS 8

struct ctx {
	const char *name; /* the file, for messages */
	int line;
	struct uk_err *err;
};

static int bad(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(const struct ctx *c, const char *fmt, ...)
{
	char what[UK_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return uk_err_set(c->err, EINVAL, "%s:%d: %s", c->name, c->line, what);
}

/* Blank-separated tokens, "..." one token (no escapes), `#` at a token's start ends them. */
static int tokenize(const struct ctx *c, char *s, char **tok, int *n)
{
	*n = 0;
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			return 0;
		if (*n == MAX_TOKENS)
			return bad(c, "more than %d words", MAX_TOKENS);
		if (*s == '"') {
			char *q = strchr(s + 1, '"');

			if (!q || (q[1] && !isspace((unsigned char)q[1])))
				return bad(c, "unmatched quote");
			tok[(*n)++] = s + 1;
			*q = '\0';
			s = q + 1;
			continue;
		}
		tok[(*n)++] = s;
		while (*s && !isspace((unsigned char)*s))
			if (*s++ == '"')
				return bad(c, "unmatched quote");
		if (*s)
			*s++ = '\0';
	}
}

/* ---- argument forms ---- */

static bool is_ip(const char *s, int family)
{
	unsigned char buf[16];

	return inet_pton(family, s, buf) == 1;
}

static bool charset(const char *s, const char *extra, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

static bool is_host(const char *s)
{
	return is_ip(s, AF_INET) || is_ip(s, AF_INET6) || charset(s, ".-_", 253);
}

static bool is_prefix(const char *s)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	uint64_t len;
	int fam;

	if (!strcmp(s, "default"))
		return true;
	if (uk_fmt(addr, sizeof(addr), "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s) < 0)
		return false;
	fam = is_ip(addr, AF_INET) ? AF_INET : is_ip(addr, AF_INET6) ? AF_INET6 : 0;
	if (!fam)
		return false;
	if (!slash)
		return true;
	return uk_parse_u64(slash + 1, &len) == 0 && len <= (fam == AF_INET ? 32u : 128u);
}

static bool is_url(const char *s)
{
	if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
		return false;
	if (strlen(s) > 2048)
		return false;
	for (; *s; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return false;
	return true;
}

static bool is_dns_type(char *s)
{
	static const char *const types[] = {"A",   "AAAA", "MX",  "NS",	 "CNAME",
					    "TXT", "PTR",  "SOA", "SRV", "CAA"};

	for (size_t i = 0; i < UK_ARRAY_SIZE(types); i++)
		if (!strcasecmp(s, types[i])) {
			strcpy(s, types[i]); /* same length: uppercase in place */
			return true;
		}
	return false;
}

/* ---- one kind each: tokens after KIND into arg[] (pointers into the line) ---- */

static int p_ping(const struct ctx *c, char **t, int n, char **arg)
{
	if (n != 1)
		return bad(c, "ping wants ADDR");
	if (!is_host(t[0]))
		return bad(c, "`%s` is not an address or host name", t[0]);
	arg[0] = t[0];
	return 0;
}

static int p_dns(const struct ctx *c, char **t, int n, char **arg)
{
	if (n < 3 || n > 4)
		return bad(c, "dns wants NAME TYPE EXPECTED [@SERVER]");
	if (!charset(t[0], "._-", 253))
		return bad(c, "`%s` is not a domain name", t[0]);
	if (!is_dns_type(t[1]))
		return bad(c,
			   "`%s` is not a record type (A, AAAA, MX, NS, CNAME, TXT, PTR, SOA, "
			   "SRV, CAA)",
			   t[1]);
	if (n == 4 && (t[3][0] != '@' || !is_host(t[3] + 1)))
		return bad(c, "`%s` is not @SERVER", t[3]);
	arg[0] = t[0];
	arg[1] = t[1];
	arg[2] = t[2];
	arg[3] = n == 4 ? t[3] + 1 : NULL;
	return 0;
}

static int p_http(const struct ctx *c, char **t, int n, char **arg)
{
	if ((n != 1 && n != 3) || (n == 3 && strcmp(t[1], "contains")))
		return bad(c, "http wants URL [contains TEXT]");
	if (!is_url(t[0]))
		return bad(c, "`%s` is not an http:// or https:// URL", t[0]);
	if (n == 3 && !*t[2])
		return bad(c, "http: contains an empty text");
	arg[0] = t[0];
	arg[1] = n == 3 ? t[2] : NULL;
	return 0;
}

static int p_route(const struct ctx *c, char **t, int n, char **arg)
{
	if (n < 1 || n % 2 == 0)
		return bad(c, "route wants PREFIX [via GW] [dev IF]");
	if (!is_prefix(t[0]))
		return bad(c, "`%s` is not a prefix (ADDR[/LEN] or default)", t[0]);
	arg[0] = t[0];
	for (int i = 1; i < n; i += 2) {
		bool via = !strcmp(t[i], "via"), dev = !strcmp(t[i], "dev");

		if ((!via && !dev) || arg[via ? 1 : 2])
			return bad(c, "route wants PREFIX [via GW] [dev IF]");
		if (via && !is_ip(t[i + 1], AF_INET) && !is_ip(t[i + 1], AF_INET6))
			return bad(c, "`%s` is not an address", t[i + 1]);
		if (dev && !charset(t[i + 1], "_.-", IFNAMSIZ - 1))
			return bad(c, "`%s` is not an interface name", t[i + 1]);
		arg[via ? 1 : 2] = t[i + 1];
	}
	return 0;
}

static int p_listen(const struct ctx *c, char **t, int n, char **arg)
{
	uint64_t port;

	if (n != 2 || (strcmp(t[0], "tcp") && strcmp(t[0], "udp")))
		return bad(c, "listen wants tcp|udp PORT");
	if (uk_parse_u64(t[1], &port) < 0 || port == 0 || port > 65535)
		return bad(c, "`%s` is not a port (1..65535)", t[1]);
	arg[0] = t[0];
	arg[1] = t[1];
	return 0;
}

static int p_daemon(const struct ctx *c, char **t, int n, char **arg)
{
	if (n != 1)
		return bad(c, "daemon wants NAME");
	if (!charset(t[0], "_.-+", 64))
		return bad(c, "`%s` is not a program name", t[0]);
	arg[0] = t[0];
	return 0;
}

static int p_ospf(const struct ctx *c, char **t, int n, char **arg)
{
	if (n != 1)
		return bad(c, "ospf-neighbor wants ROUTER-ID");
	if (!is_ip(t[0], AF_INET))
		return bad(c, "`%s` is not a router id (A.B.C.D)", t[0]);
	arg[0] = t[0];
	return 0;
}

static int p_bgp(const struct ctx *c, char **t, int n, char **arg)
{
	if (n < 1 || n > 2)
		return bad(c, "bgp-neighbor wants ADDR [STATE]");
	if (!is_ip(t[0], AF_INET) && !is_ip(t[0], AF_INET6))
		return bad(c, "`%s` is not an address", t[0]);
	if (n == 2 && !charset(t[1], "-", 32))
		return bad(c, "`%s` is not a BGP state", t[1]);
	arg[0] = t[0];
	arg[1] = n == 2 ? t[1] : NULL;
	return 0;
}

static const struct {
	const char *name;
	int (*parse)(const struct ctx *c, char **t, int n, char **arg);
} kinds[] = {
	[UK_LAB_CHECK_PING] = {"ping", p_ping},
	[UK_LAB_CHECK_DNS] = {"dns", p_dns},
	[UK_LAB_CHECK_HTTP] = {"http", p_http},
	[UK_LAB_CHECK_ROUTE] = {"route", p_route},
	[UK_LAB_CHECK_LISTEN] = {"listen", p_listen},
	[UK_LAB_CHECK_DAEMON] = {"daemon", p_daemon},
	[UK_LAB_CHECK_OSPF_NEIGHBOR] = {"ospf-neighbor", p_ospf},
	[UK_LAB_CHECK_BGP_NEIGHBOR] = {"bgp-neighbor", p_bgp},
};

const char *uk_lab_check_kind_name(int kind)
{
	return kind >= 0 && (size_t)kind < UK_ARRAY_SIZE(kinds) ? kinds[kind].name : "?";
}

/* ---- the list ---- */

void uk_lab_checks_free(struct uk_lab_checks *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n; i++)
		for (int k = 0; k < UK_LAB_CHECK_ARGS; k++)
			free(c->check[i].arg[k]);
	free(c->check);
	c->check = NULL;
	c->n = 0;
}

static int add_check(struct uk_lab_checks *l, const struct uk_lab_check *ch, char **arg,
		     struct uk_err *err)
{
	struct uk_lab_check *v;

	if (l->n >= UK_LAB_LIST_MAX)
		return uk_err_set(err, E2BIG, "more than %d checks", UK_LAB_LIST_MAX);
	v = realloc(l->check, sizeof(*v) * (size_t)(l->n + 1));
	if (!v)
		return uk_err_set(err, ENOMEM, "out of memory");
	l->check = v;
	v[l->n] = *ch;
	for (int k = 0; k < UK_LAB_CHECK_ARGS; k++)
		v[l->n].arg[k] = NULL;
	l->n++;
	for (int k = 0; k < UK_LAB_CHECK_ARGS; k++)
		if (arg[k] && !(v[l->n - 1].arg[k] = strdup(arg[k])))
			return uk_err_set(err, ENOMEM, "out of memory");
	return 0;
}

static int parse_line(const struct ctx *c, char *line, struct uk_lab_checks *l)
{
	struct uk_lab_check ch = {.line = c->line};
	char *tok[MAX_TOKENS], *arg[UK_LAB_CHECK_ARGS] = {NULL};
	int n, r;

	r = tokenize(c, line, tok, &n);
	if (r < 0 || n == 0)
		return r;
	if (n < 2)
		return bad(c, "`%s`: a check is MACHINE KIND ARGS...", tok[0]);
	if (uk_lab_name_check(tok[0], NULL) < 0)
		return bad(c, "`%.64s` is not a device name", tok[0]);
	snprintf(ch.machine, sizeof(ch.machine), "%s", tok[0]);
	for (ch.kind = 0; ch.kind < (int)UK_ARRAY_SIZE(kinds); ch.kind++)
		if (!strcmp(tok[1], kinds[ch.kind].name))
			break;
	if (ch.kind == (int)UK_ARRAY_SIZE(kinds))
		return bad(c,
			   "unknown check `%.64s` (ping, dns, http, route, listen, daemon, "
			   "ospf-neighbor, bgp-neighbor)",
			   tok[1]);
	r = kinds[ch.kind].parse(c, tok + 2, n - 2, arg);
	return r < 0 ? r : add_check(l, &ch, arg, c->err);
}

int uk_lab_check_parse(const char *name, const char *buf, size_t len, struct uk_lab_checks *out,
		       struct uk_err *err)
{
	struct ctx c = {.name = name, .err = err};
	char line[UK_LAB_LINE_MAX];
	struct uk_lab_lines it;
	int r;

	out->check = NULL;
	out->n = 0;
	uk_lab_lines_init(&it, buf, len);
	while ((r = uk_lab_lines_next(&it, line, sizeof(line))) > 0) {
		c.line = it.n;
		r = parse_line(&c, line, out);
		if (r < 0) {
			uk_lab_checks_free(out);
			return r;
		}
	}
	c.line = it.n;
	if (r == -E2BIG)
		r = bad(&c, "line longer than %d bytes", UK_LAB_LINE_MAX - 1);
	else if (r < 0)
		r = bad(&c, "a NUL byte in the line");
	if (r < 0)
		uk_lab_checks_free(out);
	return r;
}

int uk_lab_check_load(const char *dir, const char *file, struct uk_lab_checks *out,
		      struct uk_err *err)
{
	_cleanup_close_ int dirfd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	out->check = NULL;
	out->n = 0;
	if (file) {
		r = uk_lab_read_file(AT_FDCWD, NULL, file, &buf, &len, err);
	} else {
		dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			return uk_err_sys(err, errno, "%s", dir);
		r = uk_lab_read_file(dirfd, dir, "lab.check", &buf, &len, err);
	}
	if (r == 0)
		return uk_err_set(err, ENOENT, "%s%s%s: no such check file", file ? "" : dir,
				  file ? "" : "/", file ? file : "lab.check");
	if (r < 0)
		return r;
	return uk_lab_check_parse(file ? file : "lab.check", buf, len, out, err);
}
