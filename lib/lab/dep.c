// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lab.dep: `MACHINE: DEP1 DEP2` per line, Kathará's grammar (Kathara parser/netkit/
 * DepParser.py: `^(\w+):\s?((\w+ ?)+)$` on the stripped line, `#` comments), which is also
 * a Netkit make rule; '-' is accepted in names as in Netkit's. Loops are refused with the
 * cycle named.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab-internal.h"
#include "umlkit/util.h"

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static int dep_add(struct uk_lab_machine *m, int d)
{
	int *v;

	for (int i = 0; i < m->n_dep; i++)
		if (m->dep[i] == d)
			return 0;
	v = realloc(m->dep, sizeof(*v) * (size_t)(m->n_dep + 1));
	if (!v)
		return -ENOMEM;
	v[m->n_dep++] = d;
	m->dep = v;
	return 0;
}

static int find_index(const struct uk_lab *lab, const char *name, size_t len)
{
	for (int i = 0; i < lab->n_machine; i++)
		if (strlen(lab->machine[i].name) == len && !memcmp(lab->machine[i].name, name, len))
			return i;
	return -1;
}

static int unknown(struct uk_err *err, int n, const char *name, size_t len)
{
	return uk_err_set(err, EINVAL, "In lab.dep - Line %d: unknown device `%.*s`.", n,
			  (int)UK_MIN(len, 64), name);
}

/* `NAME( NAME)*`, one space between: what follows "KEY:" and its optional blank. */
static bool names_ok(const char *s)
{
	do {
		const char *e = s;

		while (is_name_char(*e))
			e++;
		if (e == s || (*e && *e != ' '))
			return false;
		s = *e ? e + 1 : e;
	} while (*s);
	return true;
}

static int dep_names(struct uk_lab *lab, int key, const char *s, int n, struct uk_err *err)
{
	while (*s) {
		size_t len = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789_-");
		int d = find_index(lab, s, len);

		if (d < 0)
			return unknown(err, n, s, len);
		if (dep_add(&lab->machine[key], d) < 0)
			return uk_err_set(err, ENOMEM, "out of memory");
		s += len;
		s += *s == ' ';
	}
	return 0;
}

static int dep_line(struct uk_lab *lab, char *s, int n, struct uk_err *err)
{
	char *e = s;
	size_t klen;

	while (is_name_char(*e))
		e++;
	klen = (size_t)(e - s);
	if (klen == 0 || *e != ':')
		return uk_err_set(err, EINVAL, "In lab.dep - Line %d.", n);
	e++;
	if (isspace((unsigned char)*e))
		e++;
	if (!*e || !names_ok(e))
		return uk_err_set(err, EINVAL, "In lab.dep - Line %d.", n);
	if (find_index(lab, s, klen) < 0)
		return unknown(err, n, s, klen);
	return dep_names(lab, find_index(lab, s, klen), e, n, err);
}

int uk_lab_dep_parse(struct uk_lab *lab, const char *buf, size_t len, struct uk_err *err)
{
	char line[UK_LAB_LINE_MAX], *s;
	struct uk_lab_lines it;
	int r, lines = 0;

	lab->has_dep = true;
	uk_lab_lines_init(&it, buf, len);
	while ((r = uk_lab_lines_next(&it, line, sizeof(line))) > 0) {
		s = uk_lab_strip(line);
		if (!*s || *s == '#')
			continue;
		lines++;
		r = dep_line(lab, s, it.n, err);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return uk_err_set(err, EINVAL, "In lab.dep - Line %d.", it.n);
	if (lines == 0)
		return uk_lab_warn(lab,
				   "lab.dep: no dependencies: every device starts in parallel");
	return 0;
}

/* ---- loops ---- */

enum { WHITE, GREY, BLACK };

struct walk {
	const struct uk_lab *lab;
	char *color;
	int *path, depth;
};

static void cycle_text(const struct walk *w, int from, char *out, size_t cap)
{
	size_t used = 0;
	int start = 0;

	while (w->path[start] != from)
		start++;
	out[0] = '\0';
	for (int i = start; i < w->depth && used + 40 < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s -> ",
					 w->lab->machine[w->path[i]].name);
	snprintf(out + used, cap - used, "%s", w->lab->machine[from].name);
}

static int visit(struct walk *w, int i, struct uk_err *err)
{
	const struct uk_lab_machine *m = &w->lab->machine[i];
	char cycle[UK_ERR_MSG_MAX - 64];

	w->color[i] = GREY;
	w->path[w->depth++] = i;
	for (int k = 0; k < m->n_dep; k++) {
		int d = m->dep[k], r;

		if (w->color[d] == GREY) {
			cycle_text(w, d, cycle, sizeof(cycle));
			return uk_err_set(err, ELOOP, "lab.dep: dependency loop: %s", cycle);
		}
		if (w->color[d] == WHITE && (r = visit(w, d, err)) < 0)
			return r;
	}
	w->depth--;
	w->color[i] = BLACK;
	return 0;
}

int uk_lab_check_loops(struct uk_lab *lab, struct uk_err *err)
{
	size_t n = (size_t)UK_MAX(lab->n_machine, 1);
	_cleanup_free_ char *color = calloc(n, 1);
	_cleanup_free_ int *path = calloc(n, sizeof(int));
	struct walk w = {.lab = lab, .color = color, .path = path};
	int r;

	if (!color || !path)
		return uk_err_set(err, ENOMEM, "out of memory");
	for (int i = 0; i < lab->n_machine; i++)
		if (color[i] == WHITE && (r = visit(&w, i, err)) < 0)
			return r;
	return 0;
}
