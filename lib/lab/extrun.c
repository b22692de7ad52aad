// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lab.ext at run time (Kathará's; root only, as there): each line's collision domain is
 * joined to a host interface. The domain's switch gets a tap uplink, and the tap and the
 * host interface become the ports of a bridge of the lab's own. For IFACE.VLAN the switch
 * tags: the machines' ports on the domain are in VLAN VLAN and the tap carries it tagged,
 * so the frames on IFACE are what Kathará's IFACE.VLAN link would send, without a VLAN link
 * on the host (nor the host kernel's 802.1Q support). When the lab's switches stop, the
 * bridge and the tap go; the host interface is left as it was (an interface that is
 * already a port of another bridge is refused, never taken over).
 *
 * Names: bridge "ukx" and tap "ukt", then 8 hex digits of the lab's id and 2 of the line's
 * index (15 characters at most, as interface names must be).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "umlkit/lab.h"
#include "umlkit/net.h"
#include "umlkit/util.h"
#include "run-internal.h"

#define EXT_MAX 256 /* two hex digits of index */

static void ext_names(const struct uk_lab *lab, int i, char br[16], char tap[16])
{
	snprintf(br, 16, "ukx%.8s%02x", lab->id, (unsigned)(i & 0xff));
	snprintf(tap, 16, "ukt%.8s%02x", lab->id, (unsigned)(i & 0xff));
}

bool uk_lab_ext_tap(const struct uk_lab *lab, const char *cd, char tap[16], int *vlan)
{
	char br[16];

	for (int i = 0; i < lab->n_ext && i < EXT_MAX; i++) {
		if (!strcmp(lab->ext[i].cd, cd)) {
			ext_names(lab, i, br, tap);
			*vlan = lab->ext[i].vlan;
			return true;
		}
	}
	return false;
}

/* Line i's bridge with its tap and the host interface as ports. */
static int ext_one(const struct uk_lab *lab, int i, struct uk_err *err)
{
	const struct uk_lab_ext *e = &lab->ext[i];
	struct uk_tap_opts to;
	char br[16], tap[16], kname[16];
	int r = 0;

	ext_names(lab, i, br, tap);
	uk_tap_opts_init(&to);
	if (!uk_net_if_exists(tap))
		r = uk_tap_add(tap, &to, kname, err);
	if (r == 0 && !uk_net_if_exists(br))
		r = uk_bridge_add(br, err);
	if (r == 0)
		r = uk_bridge_attach(br, tap, err);
	if (r == 0)
		r = uk_bridge_attach(br, e->ifname, err);
	return r < 0 ? uk_err_prefix(err, r, "lab.ext:%d: domain %s to %s: ", e->line, e->cd,
				     e->ifname)
		     : 0;
}

int uk_lab_ext_check(const struct uk_lab *lab, struct uk_err *err)
{
	int r = 0;

	if (!lab->n_ext)
		return 0;
	if (geteuid() != 0)
		return uk_err_set(
			err, EPERM,
			"%s/lab.ext joins collision domains to host interfaces: only root "
			"may (as with Kathará)",
			lab->dir);
	if (lab->n_ext > EXT_MAX)
		return uk_err_set(err, E2BIG, "%s/lab.ext: more than %d lines", lab->dir, EXT_MAX);
	for (int i = 0; r == 0 && i < lab->n_ext; i++)
		if (!uk_net_if_exists(lab->ext[i].ifname))
			r = uk_err_set(err, ENODEV, "%s/lab.ext:%d: no host interface '%s'",
				       lab->dir, lab->ext[i].line, lab->ext[i].ifname);
	return r;
}

int uk_lab_ext_up(const struct uk_lab *lab, struct uk_err *err)
{
	int r = uk_lab_ext_check(lab, err);

	for (int i = 0; r == 0 && i < lab->n_ext; i++)
		r = ext_one(lab, i, err);
	if (r < 0)
		uk_lab_ext_down(lab);
	return r;
}

void uk_lab_ext_down(const struct uk_lab *lab)
{
	for (int i = 0; i < lab->n_ext && i < EXT_MAX; i++) {
		struct uk_tap_opts to;
		char br[16], tap[16], kname[16];

		ext_names(lab, i, br, tap);
		if (uk_net_if_exists(br))
			uk_bridge_del(br, NULL);
		uk_tap_opts_init(&to);
		if (uk_net_if_exists(tap))
			uk_tap_del(tap, &to, kname, NULL);
	}
}
