// SPDX-License-Identifier: LGPL-2.1-or-later
/* A guest's host side: its taps, their bridges and its firewall policy, made when its
 * kernel starts and removed when it ends. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "umlkit/guest.h"
#include "umlkit/net.h"
#include "umlkit/util.h"

int uk_net_guest_policy(const struct uk_guest_spec *s, struct uk_fw_policy *p, struct uk_err *err)
{
	char ifname[16], mac[18];
	int r = 0;

	if (!s->fw_allow[0] && !s->fw_egress[0])
		return 0;
	for (int i = 0; i < s->nnets; i++) {
		const struct uk_guest_net *n = &s->nets[i];

		if ((n->kind != UK_NET_TAP && n->kind != UK_NET_BRIDGE) || !n->ip[0])
			continue;
		uk_fw_policy_init(p);
		uk_guest_net_ifname(s, i, ifname);
		uk_guest_net_mac(s, i, mac);
		r = uk_fw_policy_set(p, "name", s->name, err);
		if (r == 0)
			r = uk_fw_policy_set(p, "tap", ifname, err);
		if (r == 0)
			r = uk_fw_policy_set(p, "ip", n->ip, err);
		if (r == 0 && mac[0])
			r = uk_fw_policy_set(p, "mac", mac, err);
		if (r == 0 && s->fw_allow[0])
			r = uk_fw_policy_set(p, "allow", s->fw_allow, err);
		if (r == 0 && s->fw_egress[0])
			r = uk_fw_policy_set(p, "egress", s->fw_egress, err);
		if (r == 0)
			r = uk_fw_policy_check(p, err);
		return r < 0 ? r : 1;
	}
	return uk_err_set(err, EINVAL,
			  "--allow/--egress need a --net tap:IF,ip=ADDR or bridge:BR,ip=ADDR");
}

int uk_net_guest_up(const struct uk_guest_spec *s, struct uk_net_guest *ng, struct uk_err *err)
{
	struct uk_fw_policy p;
	int r = 0;

	memset(ng, 0, sizeof(*ng));
	for (int i = 0; r == 0 && i < s->nnets && i < (int)UK_ARRAY_SIZE(ng->made); i++) {
		const struct uk_guest_net *n = &s->nets[i];
		struct uk_tap_opts o;
		struct uk_tap_info ti;
		char ifname[16];

		if (n->kind != UK_NET_BRIDGE && n->kind != UK_NET_TAP)
			continue;
		uk_guest_net_ifname(s, i, ifname);
		r = uk_net_name_check(ifname, "tap", false, err);
		if (r < 0)
			break;
		if (n->kind == UK_NET_TAP) {
			/* the article's uml-conn0: made earlier, by whoever runs the guest */
			if (uk_tap_info(ifname, &ti, NULL) == 0 && ti.owner >= 0 &&
			    ti.owner != (long)getuid())
				r = uk_err_set(
					err, EPERM,
					"tap %s is owned by uid %ld, not by the user running "
					"the guest (uid %ld)",
					ifname, ti.owner, (long)getuid());
			continue;
		}
		if (!uk_net_if_exists(ifname)) {
			uk_tap_opts_init(&o);
			o.owner = (long)getuid();
			r = uk_tap_add(ifname, &o, NULL, err);
			ng->made[i] = r == 0;
		} else {
			r = uk_tap_info(ifname, &ti, err);
			if (r == 0 && ti.owner >= 0 && ti.owner != (long)getuid())
				r = uk_err_set(
					err, EPERM,
					"tap %s is owned by uid %ld, not by the user running "
					"the guest (uid %ld)",
					ifname, ti.owner, (long)getuid());
		}
		if (r == 0)
			r = uk_bridge_attach(n->target, ifname, err);
	}
	if (r == 0) {
		r = uk_net_guest_policy(s, &p, err);
		if (r > 0) {
			r = uk_fw_apply(&p, err);
			ng->fw = r == 0;
		}
	}
	if (r < 0) {
		struct uk_err keep = err ? *err : (struct uk_err){0};

		uk_net_guest_down(s, ng);
		if (err)
			*err = keep;
	}
	return r < 0 ? r : 0;
}

void uk_net_guest_down(const struct uk_guest_spec *s, struct uk_net_guest *ng)
{
	if (ng->fw)
		uk_fw_flush(s->name, NULL);
	ng->fw = false;
	for (int i = 0; i < s->nnets && i < (int)UK_ARRAY_SIZE(ng->made); i++) {
		struct uk_tap_opts o;
		char ifname[16];

		if (!ng->made[i])
			continue;
		uk_tap_opts_init(&o);
		uk_guest_net_ifname(s, i, ifname);
		uk_tap_del(ifname, &o, NULL, NULL);
		ng->made[i] = false;
	}
}
