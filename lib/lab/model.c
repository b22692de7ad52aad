// SPDX-License-Identifier: LGPL-2.1-or-later
/* The lab model: making and freeing it, its lists, names, lines and warnings. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab-internal.h"
#include "umlkit/util.h"

struct uk_lab *uk_lab_new(const char *dir)
{
	struct uk_lab *lab = calloc(1, sizeof(*lab));
	uint64_t h;

	if (!lab)
		return NULL;
	if (uk_fmt(lab->dir, sizeof(lab->dir), "%s", dir ? dir : "") < 0) {
		free(lab);
		return NULL;
	}
	h = uk_hash64(UK_HASH64_INIT, lab->dir, strlen(lab->dir));
	snprintf(lab->id, sizeof(lab->id), "%016llx", (unsigned long long)h);
	return lab;
}

static void strv_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void uk_lab_machine_clear(struct uk_lab_machine *m)
{
	for (int i = 0; i < m->n_opt; i++) {
		free(m->opt[i].key);
		free(m->opt[i].value);
	}
	free(m->opt);
	free(m->dep);
	free(m->image);
	free(m->kernel);
	free(m->shell);
	free(m->con0);
	free(m->port);
	strv_free(m->exec, m->n_exec);
	strv_free(m->sysctl, m->n_sysctl);
	strv_free(m->env, m->n_env);
	strv_free(m->append, m->n_append);
	memset(m, 0, sizeof(*m));
}

void uk_lab_free(struct uk_lab *lab)
{
	if (!lab)
		return;
	for (int i = 0; i < lab->n_machine; i++)
		uk_lab_machine_clear(&lab->machine[i]);
	free(lab->machine);
	for (int i = 0; i < UK_LAB_META_N; i++)
		free(lab->meta[i]);
	free(lab->cd);
	free(lab->ext);
	for (int i = 0; i < lab->n_host; i++)
		strv_free(lab->host[i].machine, lab->host[i].n_machine);
	free(lab->host);
	free(lab->span_cd);
	strv_free(lab->warning, lab->n_warning);
	free(lab);
}

struct uk_lab_machine *uk_lab_machine_find(const struct uk_lab *lab, const char *name)
{
	for (int i = 0; i < lab->n_machine; i++)
		if (!strcmp(lab->machine[i].name, name))
			return &lab->machine[i];
	return NULL;
}

const char *uk_lab_opt_get(const struct uk_lab_machine *m, const char *key)
{
	for (int i = m->n_opt - 1; i >= 0; i--)
		if (!strcmp(m->opt[i].key, key))
			return m->opt[i].value;
	return NULL;
}

int uk_lab_machine_get(struct uk_lab *lab, const char *name, struct uk_lab_machine **out,
		       struct uk_err *err)
{
	struct uk_lab_machine *m = uk_lab_machine_find(lab, name), *v;

	*out = m;
	if (m)
		return 0;
	if (lab->n_machine >= UK_LAB_MACHINES_MAX)
		return uk_err_set(err, E2BIG, "more than %d devices in the lab",
				  UK_LAB_MACHINES_MAX);
	v = realloc(lab->machine, sizeof(*v) * (size_t)(lab->n_machine + 1));
	if (!v)
		return uk_err_set(err, ENOMEM, "out of memory");
	lab->machine = v;
	m = &v[lab->n_machine++];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	*out = m;
	return 0;
}

static void remap_deps(struct uk_lab_machine *m, const int *newpos)
{
	int k = 0;

	for (int i = 0; i < m->n_dep; i++)
		if (newpos[m->dep[i]] >= 0)
			m->dep[k++] = newpos[m->dep[i]];
	m->n_dep = k;
}

int uk_lab_reindex(struct uk_lab *lab, const int *order, int n, struct uk_err *err)
{
	struct uk_lab_machine *v = calloc((size_t)UK_MAX(n, 1), sizeof(*v));
	int *newpos = malloc(sizeof(*newpos) * (size_t)UK_MAX(lab->n_machine, 1));

	if (!v || !newpos) {
		free(v);
		free(newpos);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	for (int i = 0; i < lab->n_machine; i++)
		newpos[i] = -1;
	for (int i = 0; i < n; i++) {
		v[i] = lab->machine[order[i]];
		newpos[order[i]] = i;
	}
	for (int i = 0; i < lab->n_machine; i++)
		if (newpos[i] < 0)
			uk_lab_machine_clear(&lab->machine[i]);
	for (int i = 0; i < n; i++)
		remap_deps(&v[i], newpos);
	free(lab->machine);
	free(newpos);
	lab->machine = v;
	lab->n_machine = n;
	return 0;
}

int uk_lab_cd_add(struct uk_lab *lab, const char *cd, struct uk_err *err)
{
	char(*v)[UK_LAB_CD_MAX + 1];

	for (int i = 0; i < lab->n_cd; i++)
		if (!strcmp(lab->cd[i], cd))
			return 0;
	v = realloc(lab->cd, sizeof(*v) * (size_t)(lab->n_cd + 1));
	if (!v)
		return uk_err_set(err, ENOMEM, "out of memory");
	lab->cd = v;
	snprintf(v[lab->n_cd++], sizeof(*v), "%s", cd);
	return 0;
}

int uk_lab_opt_add(struct uk_lab_machine *m, const char *key, const char *value, int line,
		   struct uk_err *err)
{
	struct uk_lab_opt *v;
	char *k, *val;

	if (m->n_opt >= UK_LAB_LIST_MAX)
		return uk_err_set(err, E2BIG, "device `%s`: more than %d options", m->name,
				  UK_LAB_LIST_MAX);
	v = realloc(m->opt, sizeof(*v) * (size_t)(m->n_opt + 1));
	if (!v)
		return uk_err_set(err, ENOMEM, "out of memory");
	m->opt = v;
	k = strdup(key);
	val = strdup(value);
	if (!k || !val) {
		free(k);
		free(val);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	for (char *c = k; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	v[m->n_opt++] = (struct uk_lab_opt){.key = k, .value = val, .line = line};
	return 0;
}

int uk_lab_strv_add(char ***v, int *n, const char *s, struct uk_err *err)
{
	char **nv, *copy;

	if (*n >= UK_LAB_LIST_MAX)
		return uk_err_set(err, E2BIG, "more than %d values", UK_LAB_LIST_MAX);
	copy = strdup(s);
	nv = copy ? realloc(*v, sizeof(*nv) * (size_t)(*n + 1)) : NULL;
	if (!nv) {
		free(copy);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	nv[(*n)++] = copy;
	*v = nv;
	return 0;
}

int uk_lab_warn(struct uk_lab *lab, const char *fmt, ...)
{
	char buf[UK_LAB_LINE_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (int i = 0; i < lab->n_warning; i++)
		if (!strcmp(lab->warning[i], buf))
			return 0;
	return uk_lab_strv_add(&lab->warning, &lab->n_warning, buf, NULL);
}

/* ---- names ---- */

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

bool uk_lab_is_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_word_char(*s))
			return false;
	return true;
}

int uk_lab_name_check(const char *name, bool *netkit)
{
	size_t n = strlen(name);

	if (n == 0 || n > UK_LAB_MACHINE_MAX || name[0] == '-')
		return -EINVAL;
	for (const char *c = name; *c; c++) {
		if (islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_')
			continue;
		if (!isupper((unsigned char)*c) && *c != '-')
			return -EINVAL;
		if (netkit)
			*netkit = true;
	}
	return 0;
}

bool uk_lab_reserved(const char *name)
{
	return !strcmp(name, "shared") || !strcmp(name, "_test");
}

/* ---- lines ---- */

void uk_lab_lines_init(struct uk_lab_lines *it, const char *buf, size_t len)
{
	it->p = buf;
	it->end = buf + len;
	it->n = 0;
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		it->p += 3;
}

int uk_lab_lines_next(struct uk_lab_lines *it, char *line, size_t cap)
{
	const char *start = it->p, *nl;
	size_t n;

	if (it->p >= it->end)
		return 0;
	it->n++;
	nl = memchr(start, '\n', (size_t)(it->end - start));
	n = nl ? (size_t)(nl - start) : (size_t)(it->end - start);
	it->p = nl ? nl + 1 : it->end;
	if (n && start[n - 1] == '\r')
		n--;
	if (n >= cap)
		return -E2BIG;
	if (memchr(start, '\0', n))
		return -EINVAL;
	memcpy(line, start, n);
	line[n] = '\0';
	return 1;
}

char *uk_lab_strip(char *s)
{
	size_t n;

	while (*s && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}
