// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lab.ext (Kathará only; Kathara parser/netkit/ExtParser.py): `CD IFACE[.VLAN]` per line,
 * `^(\w+)\s+(\w+)(\.\d+)?$` on the stripped line, `#` comments. VLAN 0 is untagged, as
 * Kathará's check lets it through; 4095 and above is an error.
 */
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab-internal.h"
#include "umlkit/util.h"

static size_t word_len(const char *s)
{
	size_t n = 0;

	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	return n;
}

static int malformed(struct uk_err *err, int n)
{
	return uk_err_set(err, EINVAL, "In file lab.ext, line %d malformed.", n);
}

/* The VLAN after '.': digits only; 0 (none) or 1..4094. */
static int ext_vlan(const char *s, int n, int *vlan, struct uk_err *err)
{
	uint64_t v;
	int r = uk_parse_u64(s, &v);

	if (r == -EINVAL)
		return malformed(err, n);
	if (r < 0 || v >= 4095)
		return uk_err_set(err, EINVAL,
				  "In file lab.ext, line %d: VLAN ID must be in range [1, 4094].",
				  n);
	*vlan = (int)v;
	return 0;
}

static int ext_add(struct uk_lab *lab, const struct uk_lab_ext *e, struct uk_err *err)
{
	struct uk_lab_ext *v;

	if (lab->n_ext >= UK_LAB_LIST_MAX)
		return uk_err_set(err, E2BIG, "lab.ext: more than %d lines", UK_LAB_LIST_MAX);
	v = realloc(lab->ext, sizeof(*v) * (size_t)(lab->n_ext + 1));
	if (!v)
		return uk_err_set(err, ENOMEM, "out of memory");
	v[lab->n_ext++] = *e;
	lab->ext = v;
	return 0;
}

static int ext_line(struct uk_lab *lab, char *s, int n, struct uk_err *err)
{
	struct uk_lab_ext e = {.line = n};
	size_t cd = word_len(s), sp, ifn;
	int r;

	sp = strspn(s + cd, " \t\f\v");
	ifn = word_len(s + cd + sp);
	if (cd == 0 || sp == 0 || ifn == 0)
		return malformed(err, n);
	if (s[cd + sp + ifn] && s[cd + sp + ifn] != '.')
		return malformed(err, n);
	if (s[cd + sp + ifn] == '.' && (r = ext_vlan(s + cd + sp + ifn + 1, n, &e.vlan, err)) < 0)
		return r;
	if (cd > UK_LAB_CD_MAX)
		return uk_err_set(err, EINVAL,
				  "In file lab.ext, line %d: collision domain `%.*s` is not in "
				  "lab.conf.",
				  n, (int)cd, s);
	if (ifn >= IFNAMSIZ)
		return uk_err_set(
			err, EINVAL,
			"In file lab.ext, line %d: interface name `%.*s` is longer than %d "
			"characters.",
			n, (int)ifn, s + cd + sp, IFNAMSIZ - 1);
	memcpy(e.cd, s, cd);
	memcpy(e.ifname, s + cd + sp, ifn);
	return ext_add(lab, &e, err);
}

int uk_lab_ext_parse(struct uk_lab *lab, const char *buf, size_t len, struct uk_err *err)
{
	char line[UK_LAB_LINE_MAX], *s;
	struct uk_lab_lines it;
	int r;

	uk_lab_lines_init(&it, buf, len);
	while ((r = uk_lab_lines_next(&it, line, sizeof(line))) > 0) {
		s = uk_lab_strip(line);
		if (!*s || line[0] == '#')
			continue;
		r = ext_line(lab, s, it.n, err);
		if (r < 0)
			return r;
	}
	return r < 0 ? malformed(err, it.n) : 0;
}

int uk_lab_check_ext(struct uk_lab *lab, struct uk_err *err)
{
	for (int i = 0; i < lab->n_ext; i++) {
		bool found = false;

		for (int k = 0; k < lab->n_cd && !found; k++)
			found = !strcmp(lab->cd[k], lab->ext[i].cd);
		if (!found)
			return uk_err_set(
				err, EINVAL,
				"In file lab.ext, line %d: collision domain `%s` is not in "
				"lab.conf.",
				lab->ext[i].line, lab->ext[i].cd);
	}
	return 0;
}
