// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The options that matter on UML, typed from a machine's `M[KEY]=VALUE` lines and the -o
 * overrides (Kathara model/Machine.py add_meta and getters for the forms and messages;
 * Netkit's vstart names M, model-fs, filesystem, kernel, con0, append). Docker-only options
 * warn once each and are ignored; unknown ones are kept untyped, as Kathará does.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lab-internal.h"
#include "umlkit/util.h"

struct opt_ctx {
	struct uk_lab *lab;
	struct uk_lab_machine *m;
	const struct uk_lab_opt *o;
	struct uk_err *err;
	unsigned docker_seen; /* one bit per docker_only entry */
};

static const char *const docker_only[] = {"num_terms",	"ulimit", "privileged",
					  "entrypoint", "args",	  "volume"};

static int opt_err(struct opt_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "In lab.conf - Line N: WHAT", or "-o KEY=VALUE: WHAT" for an override. */
static int opt_err(struct opt_ctx *c, const char *fmt, ...)
{
	char what[UK_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->o->line == 0)
		return uk_err_set(c->err, EINVAL, "-o %s=%.256s: %s", c->o->key, c->o->value, what);
	return uk_err_set(c->err, EINVAL, "In lab.conf - Line %d: %s", c->o->line, what);
}

/* N[bkmg], a bare N in MiB, into whole MiB (rounded up), at least 1. */
static int parse_mem(const char *s, long *mib)
{
	static const char units[] = "bkmg";
	char digits[24];
	size_t n = strspn(s, "0123456789");
	const char *u = s[n] ? strchr(units, tolower((unsigned char)s[n])) : NULL;
	uint64_t v, div = 1, mul = 1;

	if (n == 0 || n >= sizeof(digits) || (s[n] && (!u || s[n + 1])))
		return -EINVAL;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (uk_parse_u64(digits, &v) < 0)
		return -EINVAL;
	if (u && *u == 'b')
		div = 1 << 20;
	else if (u && *u == 'k')
		div = 1 << 10;
	else if (u && *u == 'g')
		mul = 1 << 10;
	if (v > (uint64_t)LONG_MAX / mul)
		return -EINVAL;
	v = v / div + (v % div != 0);
	v *= mul;
	if (v == 0)
		return -EINVAL;
	*mib = (long)v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};

	for (size_t i = 0; i < UK_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]))
			return *out = true, 0;
		if (!strcasecmp(s, no[i]))
			return *out = false, 0;
	}
	return -EINVAL;
}

static int parse_port_num(const char *s, size_t len, uint16_t *out)
{
	char buf[8];
	uint64_t v;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (uk_parse_u64(buf, &v) < 0 || v == 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* [HOST:]GUEST[/tcp|udp|sctp], HOST 3000 when absent. 1: a bad protocol. */
static int parse_port(const char *s, struct uk_lab_port *p)
{
	const char *slash = strchr(s, '/'), *colon = strchr(s, ':');
	size_t plen = slash ? (size_t)(slash - s) : strlen(s);

	snprintf(p->proto, sizeof(p->proto), "tcp");
	if (slash) {
		if (strlen(slash + 1) >= sizeof(p->proto))
			return 1;
		for (int i = 0; slash[1 + i]; i++)
			p->proto[i] = (char)tolower((unsigned char)slash[1 + i]);
		p->proto[strlen(slash + 1)] = '\0';
		if (strcmp(p->proto, "tcp") && strcmp(p->proto, "udp") && strcmp(p->proto, "sctp"))
			return 1;
	}
	if (colon && colon > s + plen)
		colon = NULL;
	p->host = 3000;
	if (colon && parse_port_num(s, (size_t)(colon - s), &p->host) < 0)
		return -EINVAL;
	if (colon)
		return parse_port_num(colon + 1, plen - (size_t)(colon + 1 - s), &p->guest);
	return parse_port_num(s, plen, &p->guest);
}

static int set_str(struct opt_ctx *c, char **field)
{
	char *v = strdup(c->o->value);

	if (!v)
		return uk_err_set(c->err, ENOMEM, "out of memory");
	free(*field);
	*field = v;
	return 0;
}

static int opt_mem(struct opt_ctx *c)
{
	if (parse_mem(c->o->value, &c->m->mem_mib) < 0)
		return opt_err(c, "Memory value not valid on `%s`.", c->m->name);
	return 0;
}

static int opt_cpus(struct opt_ctx *c)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(c->o->value, &end);
	if (!*c->o->value || *end || errno || !isfinite(v) || v <= 0 || v > 4096)
		return opt_err(c, "CPU value not valid on `%s`.", c->m->name);
	c->m->cpus = v;
	return 0;
}

static int opt_bool(struct opt_ctx *c)
{
	bool *field = !strcmp(c->o->key, "ipv6") ? &c->m->ipv6 : &c->m->bridged;

	if (parse_bool(c->o->value, field) < 0)
		return opt_err(c, "Invalid value `%s` for `%s` on `%s` (true/false, yes/no, 1/0).",
			       c->o->value, c->o->key, c->m->name);
	return 0;
}

static int opt_port(struct opt_ctx *c)
{
	struct uk_lab_machine *m = c->m;
	struct uk_lab_port p, *v;
	int r = parse_port(c->o->value, &p);

	if (r == 1)
		return opt_err(c, "Port protocol value not valid on `%s`.", m->name);
	if (r < 0)
		return opt_err(c, "Port value not valid on `%s`.", m->name);
	if (m->n_port >= UK_LAB_LIST_MAX)
		return opt_err(c, "more than %d ports on `%s`.", UK_LAB_LIST_MAX, m->name);
	v = realloc(m->port, sizeof(*v) * (size_t)(m->n_port + 1));
	if (!v)
		return uk_err_set(c->err, ENOMEM, "out of memory");
	v[m->n_port++] = p;
	m->port = v;
	return 0;
}

/* net.A.B=VALUE (Kathará: ^net\.([\w-]+\.)+[\w-]+=[^=]*$) */
static bool sysctl_ok(const char *s)
{
	const char *eq = strchr(s, '='), *c;
	int dots = 0;

	if (strncmp(s, "net.", 4) || !eq || strchr(eq + 1, '='))
		return false;
	for (c = s + 4; c < eq; c++) {
		if (*c == '.' && (c[-1] == '.' || c + 1 == eq))
			return false;
		dots += *c == '.';
		if (*c != '.' && *c != '-' && *c != '_' && !isalnum((unsigned char)*c))
			return false;
	}
	return dots >= 1;
}

static bool env_ok(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

	return n > 0 && s[n] == '=' && !strchr(s + n + 1, '=');
}

static int opt_list(struct opt_ctx *c)
{
	struct uk_lab_machine *m = c->m;
	const char *k = c->o->key, *v = c->o->value;
	int r;

	if (!strcmp(k, "sysctl") && !sysctl_ok(v))
		return opt_err(c,
			       "Invalid sysctl value (`%s`) on `%s`, missing `=` or value not in "
			       "`net.` namespace.",
			       v, m->name);
	if (!strcmp(k, "env") && !env_ok(v))
		return opt_err(c, "Invalid env value (`%s`) on `%s`.", v, m->name);
	if (!strcmp(k, "exec"))
		r = uk_lab_strv_add(&m->exec, &m->n_exec, v, c->err);
	else if (!strcmp(k, "sysctl"))
		r = uk_lab_strv_add(&m->sysctl, &m->n_sysctl, v, c->err);
	else if (!strcmp(k, "env"))
		r = uk_lab_strv_add(&m->env, &m->n_env, v, c->err);
	else
		r = uk_lab_strv_add(&m->append, &m->n_append, v, c->err);
	return r < 0 ? opt_err(c, "%s on `%s`.", c->err ? c->err->msg : "too many", m->name) : 0;
}

static int opt_docker(struct opt_ctx *c)
{
	for (size_t i = 0; i < UK_ARRAY_SIZE(docker_only); i++) {
		if (strcmp(c->o->key, docker_only[i]) || (c->docker_seen & (1u << i)))
			continue;
		c->docker_seen |= 1u << i;
		if (c->o->line == 0)
			return uk_lab_warn(c->lab, "-o %s: a Docker option, ignored", c->o->key);
		return uk_lab_warn(c->lab, "lab.conf:%d: `%s` is a Docker option, ignored",
				   c->o->line, c->o->key);
	}
	return 0;
}

static int opt_string(struct opt_ctx *c)
{
	struct uk_lab_machine *m = c->m;
	const char *k = c->o->key;

	if (!strcmp(k, "kernel"))
		return set_str(c, &m->kernel);
	if (!strcmp(k, "shell"))
		return set_str(c, &m->shell);
	if (!strcmp(k, "con0"))
		return set_str(c, &m->con0);
	return set_str(c, &m->image); /* image, model-fs, filesystem */
}

static const struct {
	const char *key;
	int (*fn)(struct opt_ctx *c);
} handlers[] = {
	{"mem", opt_mem},	    {"m", opt_mem},
	{"cpus", opt_cpus},	    {"bridged", opt_bool},
	{"ipv6", opt_bool},	    {"port", opt_port},
	{"exec", opt_list},	    {"sysctl", opt_list},
	{"env", opt_list},	    {"append", opt_list},
	{"image", opt_string},	    {"model-fs", opt_string},
	{"filesystem", opt_string}, {"kernel", opt_string},
	{"shell", opt_string},	    {"con0", opt_string},
	{"num_terms", opt_docker},  {"ulimit", opt_docker},
	{"privileged", opt_docker}, {"entrypoint", opt_docker},
	{"args", opt_docker},	    {"volume", opt_docker},
};

static int type_machine(struct opt_ctx *c)
{
	struct uk_lab_machine *m = c->m;
	int r;

	for (int i = 0; i < m->n_opt; i++) {
		c->o = &m->opt[i];
		for (size_t h = 0; h < UK_ARRAY_SIZE(handlers); h++) {
			if (strcmp(c->o->key, handlers[h].key))
				continue;
			r = handlers[h].fn(c);
			if (r < 0)
				return r;
			break;
		}
	}
	if (m->n_port && !m->bridged)
		return uk_err_set(
			c->err, EINVAL,
			"Device `%s` forwards ports but is not bridged (`%s[bridged]=true`).",
			m->name, m->name);
	return 0;
}

/* -o KEY=VALUE: KEY an option name (not an interface number). */
static int add_override(struct uk_lab *lab, const char *kv, struct uk_err *err)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : 0;
	char key[UK_LAB_OPT_MAX + 1];
	int r;

	if (!eq || klen == 0 || klen > UK_LAB_OPT_MAX ||
	    strspn(kv, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		    klen ||
	    strspn(kv, "0123456789") == klen)
		return uk_err_set(err, EINVAL,
				  "-o `%.256s`: expected KEY=VALUE with an option name", kv);
	memcpy(key, kv, klen);
	key[klen] = '\0';
	for (int i = 0; i < lab->n_machine; i++) {
		r = uk_lab_opt_add(&lab->machine[i], key, eq + 1, 0, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int uk_lab_type_options(struct uk_lab *lab, const struct uk_lab_load_opts *o, struct uk_err *err)
{
	struct opt_ctx c = {.lab = lab, .err = err};
	int r;

	for (int i = 0; o && i < o->n_over; i++) {
		r = add_override(lab, o->over[i], err);
		if (r < 0)
			return r;
	}
	for (int i = 0; i < lab->n_machine; i++) {
		c.m = &lab->machine[i];
		r = type_machine(&c);
		if (r < 0)
			return r;
	}
	return 0;
}
