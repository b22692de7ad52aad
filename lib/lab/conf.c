// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lab.conf: Kathará's grammar and error messages (Kathara parser/netkit/LabParser.py),
 * with Netkit's looser forms accepted: flag options (`pc1[D]=`), hyphenated option names,
 * uppercase and '-' in device names, '.' and '-' in collision domains, `machines="a b"` and
 * `LAB_MACHINES=a,b`. Each Netkit form makes the lab's dialect UK_LAB_NETKIT.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab-internal.h"
#include "umlkit/util.h"

/* One `KEY[ARG]=VALUE` line, pointing into the stripped line. */
struct assign {
	char *key, *arg, *value;
};

static const char *const meta_keys[UK_LAB_META_N] = {
	"LAB_NAME=", "LAB_DESCRIPTION=", "LAB_VERSION=", "LAB_AUTHOR=", "LAB_EMAIL=", "LAB_WEB=",
};

static const char *const accumulating[] = {"exec",   "sysctl", "env",	"port",
					   "ulimit", "volume", "append"};

static int line_err(struct uk_err *err, int n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int line_err(struct uk_err *err, int n, const char *fmt, ...)
{
	char what[UK_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return uk_err_set(err, EINVAL, "In lab.conf - Line %d: %s", n, what);
}

static int syntax_err(struct uk_err *err, int n, const char *raw)
{
	return line_err(err, n, "`%s`.", raw);
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static char *span_name(char *s)
{
	while (is_name_char(*s))
		s++;
	return s;
}

/* `\s+#.*` or nothing: what may follow a quoted value. */
static bool comment_tail(const char *t)
{
	if (!*t)
		return true;
	if (!isspace((unsigned char)*t))
		return false;
	while (isspace((unsigned char)*t))
		t++;
	return *t == '#';
}

/* The value after '=' as Kathará's `(["']?)([^"']+)\1(\s+#.*)?$`, or "" (a Netkit flag). */
static int split_value(char *v, char **out)
{
	size_t j;

	if (*v != '"' && *v != '\'') {
		if (strpbrk(v, "\"'"))
			return -EINVAL;
		*out = v;
		return 0;
	}
	j = strcspn(v + 1, "\"'");
	if (j == 0 || v[1 + j] != *v || !comment_tail(v + 2 + j))
		return -EINVAL;
	v[1 + j] = '\0';
	*out = v + 1;
	return 0;
}

static int split_assign(char *s, struct assign *a)
{
	char *e = span_name(s);

	if (e == s || *e != '[')
		return -EINVAL;
	*e = '\0';
	a->key = s;
	a->arg = e + 1;
	e = span_name(a->arg);
	if (e == a->arg || e[0] != ']' || e[1] != '=')
		return -EINVAL;
	*e = '\0';
	return split_value(e + 2, &a->value);
}

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Kathará's ^\w+$, or Netkit's (JH) [A-Za-z0-9_.-] not starting with '.' or '-'. */
static int cd_check(struct uk_lab *lab, const char *cd)
{
	if (uk_lab_is_word(cd))
		return 0;
	if (!*cd || *cd == '.' || *cd == '-')
		return -EINVAL;
	for (const char *c = cd; *c; c++)
		if (!is_name_char(*c) && *c != '.')
			return -EINVAL;
	lab->dialect = UK_LAB_NETKIT;
	return 0;
}

/* CD or CD/MAC (Kathara utils.parse_cd_mac_address: the non-empty parts of a split on '/'). */
static int split_cd_mac(char *value, char **cd, char **mac)
{
	char *parts[2] = {NULL, NULL}, *save = NULL;
	int n = 0;

	*mac = NULL;
	if (!strchr(value, '/')) {
		*cd = value;
		return 0;
	}
	for (char *t = strtok_r(value, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (n == 2)
			return -EINVAL;
		parts[n++] = t;
	}
	if (n != 2)
		return -EINVAL;
	*cd = parts[0];
	*mac = parts[1];
	return 0;
}

static int iface_set(struct uk_lab_machine *m, int num, const char *cd, const char *mac, int n,
		     struct uk_err *err)
{
	uint8_t b[6];

	if (m->iface[num].cd[0])
		return line_err(err, n, "Interface %d already set on device `%s`.", num, m->name);
	for (int i = 0; i < m->n_iface; i++)
		if (!strcmp(m->iface[i].cd, cd))
			return line_err(
				err, n,
				"Device `%s` is already connected to collision domain `%s`.",
				m->name, cd);
	if (mac && uk_mac_parse(mac, b) < 0)
		return line_err(err, n,
				"MAC address `%s` of interface %d on device `%s` is not valid.",
				mac, num, m->name);
	snprintf(m->iface[num].cd, sizeof(m->iface[num].cd), "%s", cd);
	if (mac)
		uk_mac_format(b, m->iface[num].mac);
	if (num >= m->n_iface)
		m->n_iface = num + 1;
	return 0;
}

static int conf_iface(struct uk_lab *lab, const struct assign *a, int n, struct uk_err *err)
{
	char value[UK_LAB_LINE_MAX], *cd, *mac;
	struct uk_lab_machine *m;
	uint64_t num;
	int r;

	if (!*a->value)
		return 1; /* Kathará wants a value: a syntax error */
	if (uk_parse_u64(a->arg, &num) < 0 || num >= UK_LAB_IFACES_MAX)
		return line_err(err, n, "Interface `%s` of device `%s` is out of range (0..%d).",
				a->arg, a->key, UK_LAB_IFACES_MAX - 1);
	snprintf(value, sizeof(value), "%s", a->value);
	if (split_cd_mac(value, &cd, &mac) < 0)
		return line_err(err, n, "Invalid interface definition: `%s`.", a->value);
	if (cd_check(lab, cd) < 0)
		return line_err(err, n,
				"Collision domain `%s` contains non-alphanumeric characters.", cd);
	if (strlen(cd) > UK_LAB_CD_MAX)
		return line_err(err, n, "Collision domain `%s` is longer than %d characters.", cd,
				UK_LAB_CD_MAX);
	r = uk_lab_machine_get(lab, a->key, &m, err);
	if (r < 0)
		return uk_err_prefix(err, r, "In lab.conf - Line %d: ", n);
	r = iface_set(m, (int)num, cd, mac, n, err);
	return r < 0 ? r : uk_lab_cd_add(lab, cd, err);
}

static bool is_accumulating(const char *key)
{
	for (size_t i = 0; i < UK_ARRAY_SIZE(accumulating); i++)
		if (!strcmp(key, accumulating[i]))
			return true;
	return false;
}

static int conf_option(struct uk_lab *lab, const struct assign *a, int n, struct uk_err *err)
{
	struct uk_lab_machine *m;
	const char *old;
	int r;

	if (strlen(a->arg) > UK_LAB_OPT_MAX)
		return 1;
	if (!*a->value || strchr(a->arg, '-'))
		lab->dialect = UK_LAB_NETKIT;
	r = uk_lab_machine_get(lab, a->key, &m, err);
	if (r < 0)
		return uk_err_prefix(err, r, "In lab.conf - Line %d: ", n);
	r = uk_lab_opt_add(m, a->arg, a->value, n, err);
	if (r < 0)
		return uk_err_prefix(err, r, "In lab.conf - Line %d: ", n);
	if (is_accumulating(m->opt[m->n_opt - 1].key) || m->n_opt < 2)
		return 0;
	m->n_opt--; /* look for an earlier value only */
	old = uk_lab_opt_get(m, m->opt[m->n_opt].key);
	m->n_opt++;
	if (!old)
		return 0;
	return uk_lab_warn(lab,
			   "lab.conf:%d: Device `%s` already has a value assigned to meta `%s`. "
			   "Previous value has been overwritten with `%s`.",
			   n, m->name, m->opt[m->n_opt - 1].key, a->value);
}

/* 0, -errno, or 1: not Kathará's (nor Netkit's) grammar, a syntax error. */
static int conf_assign(struct uk_lab *lab, struct assign *a, int n, struct uk_err *err)
{
	bool netkit = false;

	if (uk_lab_name_check(a->key, &netkit) < 0)
		return 1;
	if (uk_lab_reserved(a->key))
		return line_err(err, n, "`%s` is a reserved name, you can not use it for a device.",
				a->key);
	if (netkit)
		lab->dialect = UK_LAB_NETKIT;
	if (all_digits(a->arg))
		return conf_iface(lab, a, n, err);
	return conf_option(lab, a, n, err);
}

/* All quote characters removed, then stripped (Kathará's metadata value). */
static char *unquote(char *v)
{
	char *w = v;

	for (char *c = v; *c; c++)
		if (*c != '"' && *c != '\'')
			*w++ = *c;
	*w = '\0';
	return uk_lab_strip(v);
}

static int set_meta(struct uk_lab *lab, int i, char *value, struct uk_err *err)
{
	char *v = strdup(unquote(value));

	if (!v)
		return uk_err_set(err, ENOMEM, "out of memory");
	free(lab->meta[i]);
	lab->meta[i] = v;
	return 0;
}

static int list_add(struct uk_lab *lab, int *order, int *n_order, const char *name, int n,
		    struct uk_err *err)
{
	struct uk_lab_machine *m;
	int r;

	if (uk_lab_name_check(name, NULL) < 0)
		return line_err(err, n, "Invalid device name `%s`.", name);
	if (uk_lab_reserved(name))
		return line_err(err, n, "`%s` is a reserved name, you can not use it for a device.",
				name);
	r = uk_lab_machine_get(lab, name, &m, err);
	if (r < 0)
		return uk_err_prefix(err, r, "In lab.conf - Line %d: ", n);
	for (int i = 0; i < *n_order; i++)
		if (order[i] == (int)(m - lab->machine))
			return 0;
	order[(*n_order)++] = (int)(m - lab->machine);
	return 0;
}

/* machines="a b" (Netkit) or LAB_MACHINES=a,b (Netkit-JH): these first, in this order. */
static int set_machines(struct uk_lab *lab, char *value, int n, struct uk_err *err)
{
	_cleanup_free_ int *order = malloc(sizeof(int) * UK_LAB_MACHINES_MAX);
	char *save = NULL;
	int n_order = 0, r = 0;

	if (!order)
		return uk_err_set(err, ENOMEM, "out of memory");
	lab->dialect = UK_LAB_NETKIT;
	for (char *t = strtok_r(unquote(value), " \t,", &save); t && r == 0;
	     t = strtok_r(NULL, " \t,", &save))
		r = list_add(lab, order, &n_order, t, n, err);
	if (r < 0)
		return r;
	for (int i = 0; i < lab->n_machine; i++) {
		bool listed = false;

		for (int j = 0; j < n_order && !listed; j++)
			listed = order[j] == i;
		if (!listed)
			order[n_order++] = i;
	}
	return uk_lab_reindex(lab, order, n_order, err);
}

/* 1 when raw was a metadata line (LAB_NAME=, ..., machines=, LAB_MACHINES=), 0 if not. */
static int conf_meta(struct uk_lab *lab, char *raw, int n, struct uk_err *err)
{
	int r;

	for (int i = 0; i < UK_LAB_META_N; i++) {
		size_t k = strlen(meta_keys[i]);

		if (!strncmp(raw, meta_keys[i], k)) {
			r = set_meta(lab, i, raw + k, err);
			return r < 0 ? r : 1;
		}
	}
	if (!strncmp(raw, "machines=", 9))
		r = set_machines(lab, raw + 9, n, err);
	else if (!strncmp(raw, "LAB_MACHINES=", 13))
		r = set_machines(lab, raw + 13, n, err);
	else
		return 0;
	return r < 0 ? r : 1;
}

static int conf_line(struct uk_lab *lab, const char *raw, int n, struct uk_err *err)
{
	char copy[UK_LAB_LINE_MAX], *s;
	struct assign a;
	int r;

	if (raw[0] == '#')
		return 0;
	snprintf(copy, sizeof(copy), "%s", raw);
	s = uk_lab_strip(copy);
	if (!*s)
		return 0;
	if (split_assign(s, &a) == 0) {
		r = conf_assign(lab, &a, n, err);
		return r == 1 ? syntax_err(err, n, raw) : r;
	}
	snprintf(copy, sizeof(copy), "%s", raw);
	r = conf_meta(lab, copy, n, err);
	if (r != 0)
		return r < 0 ? r : 0;
	return syntax_err(err, n, raw);
}

int uk_lab_conf_parse(struct uk_lab *lab, const char *buf, size_t len, struct uk_err *err)
{
	char line[UK_LAB_LINE_MAX];
	struct uk_lab_lines it;
	int r;

	lab->has_conf = true;
	uk_lab_lines_init(&it, buf, len);
	while ((r = uk_lab_lines_next(&it, line, sizeof(line))) > 0) {
		r = conf_line(lab, line, it.n, err);
		if (r < 0)
			return r;
	}
	if (r == -E2BIG)
		return line_err(err, it.n, "line longer than %d bytes.", UK_LAB_LINE_MAX - 1);
	if (r < 0)
		return line_err(err, it.n, "a NUL byte in the line.");
	return 0;
}
