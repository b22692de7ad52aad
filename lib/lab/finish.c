// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * uk_lab_finish: what holds only once every file is read: no dependency loop, lab.ext's
 * domains in lab.conf, the machines asked for (and those they depend on), the typed options
 * after the overrides, interfaces without gaps (Kathará) or with a warning (Netkit).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lab-internal.h"
#include "umlkit/util.h"

int uk_lab_check_ifaces(struct uk_lab *lab, struct uk_err *err)
{
	for (int i = 0; i < lab->n_machine; i++) {
		const struct uk_lab_machine *m = &lab->machine[i];

		for (int k = 0; k < m->n_iface; k++) {
			int r;

			if (m->iface[k].cd[0])
				continue;
			if (lab->dialect != UK_LAB_NETKIT)
				return uk_err_set(err, EINVAL,
						  "Interface `%d` missing on device `%s`.", k,
						  m->name);
			r = uk_lab_warn(lab,
					"lab.conf: Interface `%d` missing on device `%s`: "
					"a gap, no device is made",
					k, m->name);
			if (r < 0)
				return uk_err_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

static void mark(const struct uk_lab *lab, char *keep, int i)
{
	if (keep[i])
		return;
	keep[i] = 1;
	for (int k = 0; k < lab->machine[i].n_dep; k++)
		mark(lab, keep, lab->machine[i].dep[k]);
}

static bool cd_used(const struct uk_lab *lab, const char *cd)
{
	for (int i = 0; i < lab->n_machine; i++)
		for (int k = 0; k < lab->machine[i].n_iface; k++)
			if (!strcmp(lab->machine[i].iface[k].cd, cd))
				return true;
	return false;
}

/* The domains and lab.ext lines no machine left uses go. */
static void prune_cds(struct uk_lab *lab)
{
	int n = 0;

	for (int i = 0; i < lab->n_cd; i++)
		if (cd_used(lab, lab->cd[i]))
			memmove(lab->cd[n++], lab->cd[i], sizeof(lab->cd[i]));
	lab->n_cd = n;
	n = 0;
	for (int i = 0; i < lab->n_ext; i++)
		if (cd_used(lab, lab->ext[i].cd))
			lab->ext[n++] = lab->ext[i];
	lab->n_ext = n;
}

int uk_lab_apply_only(struct uk_lab *lab, const struct uk_lab_load_opts *o, struct uk_err *err)
{
	size_t n = (size_t)UK_MAX(lab->n_machine, 1);
	_cleanup_free_ char *keep = NULL;
	_cleanup_free_ int *order = NULL;
	int n_order = 0, r;

	if (!o || !o->only)
		return 0;
	keep = calloc(n, 1);
	order = calloc(n, sizeof(int));
	if (!keep || !order)
		return uk_err_set(err, ENOMEM, "out of memory");
	for (int i = 0; i < o->n_only; i++) {
		struct uk_lab_machine *m = uk_lab_machine_find(lab, o->only[i]);

		if (!m)
			return uk_err_set(err, EINVAL, "%s: no device `%.64s` in the lab", lab->dir,
					  o->only[i]);
		mark(lab, keep, (int)(m - lab->machine));
	}
	for (int i = 0; i < lab->n_machine; i++)
		if (keep[i])
			order[n_order++] = i;
	r = uk_lab_reindex(lab, order, n_order, err);
	if (r < 0)
		return r;
	prune_cds(lab);
	return 0;
}

int uk_lab_finish(struct uk_lab *lab, const struct uk_lab_load_opts *o, struct uk_err *err)
{
	int r;

	r = uk_lab_check_loops(lab, err);
	if (r == 0)
		r = uk_lab_check_ext(lab, err);
	if (r == 0)
		r = uk_lab_check_hosts(lab, err);
	if (r == 0)
		r = uk_lab_apply_only(lab, o, err);
	if (r == 0)
		r = uk_lab_type_options(lab, o, err);
	if (r == 0)
		r = uk_lab_check_ifaces(lab, err);
	return r;
}
