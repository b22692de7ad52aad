// SPDX-License-Identifier: LGPL-2.1-or-later
/* A guest's host side: its taps, their bridges and its firewall policy, made when its
 * kernel starts and removed when it ends. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "umlkit/net.h"
#include "guest-internal.h"

/* The guest's policy: --allow and --egress on the first tap: or bridge: net with ip=.
 * Returns 1 with p filled, 0 when the guest has no policy, or -errno. */
static int hostnet_policy(const struct uk_guest_spec *s, struct uk_fw_policy *p, struct uk_err *err)
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

/*
 * May the guest's kernel use this existing tap? Its owner, when it has one, must be the
 * guest's uid. With --user (umlkit is root, the kernel is not), the kernel needs it to be
 * usable by that uid and gid: an owner or group that is not theirs, or neither (only a
 * privileged process can attach then), is refused.
 */
static int check_tap(const struct uk_guest_spec *s, const char *ifname, bool must_exist,
		     struct uk_err *err)
{
	long uid = uk_guest_uid(s), gid = uk_guest_gid(s);
	bool strict = must_exist || s->uid >= 0;
	struct uk_tap_info ti;
	int r = uk_tap_info(ifname, &ti, strict ? err : NULL);

	if (r < 0 && !strict)
		return 0; /* the kernel makes or refuses it, as before */
	if (r == -ENODEV && s->uid >= 0)
		return uk_err_set(err, ENODEV,
				  "tap %s: no such interface (the kernel, as uid %ld, cannot make "
				  "one: make it with `umlkit net tap add %s --user %ld`, or use "
				  "--net bridge:BR,tap=%s)",
				  ifname, uid, ifname, uid, ifname);
	if (r < 0)
		return r;
	if (ti.owner >= 0 && ti.owner != uid)
		return uk_err_set(err, EPERM,
				  "tap %s is owned by uid %ld, not by the user the guest runs as "
				  "(uid %ld)",
				  ifname, ti.owner, uid);
	if (s->uid < 0)
		return 0;
	if (ti.group >= 0 && ti.group != gid)
		return uk_err_set(err, EPERM,
				  "tap %s belongs to group %ld, not to the group the guest runs as "
				  "(gid %ld)",
				  ifname, ti.group, gid);
	if (ti.owner < 0 && ti.group < 0)
		return uk_err_set(err, EPERM,
				  "tap %s has no owner, so only a privileged process can use it; "
				  "give it to the user the guest runs as (uid %ld)",
				  ifname, uid);
	return 0;
}

int uk_guest_hostnet_check(const struct uk_guest_spec *s, struct uk_err *err)
{
	for (int i = 0; i < s->nnets; i++) {
		const struct uk_guest_net *n = &s->nets[i];
		char ifname[16];
		int r;

		if (n->kind != UK_NET_BRIDGE && n->kind != UK_NET_TAP &&
		    n->kind != UK_NET_LEGACY_TUNTAP)
			continue;
		uk_guest_net_ifname(s, i, ifname);
		r = uk_net_name_check(ifname, "tap", false, err);
		if (r == 0 && n->kind == UK_NET_BRIDGE && !uk_net_if_exists(ifname))
			continue; /* umlkit makes it */
		if (r == 0 && (n->kind != UK_NET_LEGACY_TUNTAP || s->uid >= 0))
			r = check_tap(s, ifname, n->kind == UK_NET_BRIDGE, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A bridge: net's tap: made for the guest's user (unless it exists), attached. */
static int bridge_tap(const struct uk_guest_spec *s, int i, bool *made, struct uk_err *err)
{
	struct uk_tap_opts o;
	char ifname[16];
	int r = 0;

	uk_guest_net_ifname(s, i, ifname);
	if (!uk_net_if_exists(ifname)) {
		uk_tap_opts_init(&o);
		o.owner = uk_guest_uid(s);
		o.group = s->uid >= 0 ? s->gid : -1;
		r = uk_tap_add(ifname, &o, NULL, err);
		*made = r == 0;
	} else {
		r = check_tap(s, ifname, true, err);
	}
	return r < 0 ? r : uk_bridge_attach(s->nets[i].target, ifname, err);
}

int uk_guest_hostnet_up(const struct uk_guest_spec *s, struct uk_guest_hostnet *hn,
			struct uk_err *err)
{
	struct uk_fw_policy p;
	int r = 0;

	memset(hn, 0, sizeof(*hn));
	for (int i = 0; r == 0 && i < s->nnets && i < (int)UK_ARRAY_SIZE(hn->made); i++) {
		const struct uk_guest_net *n = &s->nets[i];
		char ifname[16];

		if (n->kind != UK_NET_BRIDGE && n->kind != UK_NET_TAP)
			continue;
		uk_guest_net_ifname(s, i, ifname);
		r = uk_net_name_check(ifname, "tap", false, err);
		if (r < 0)
			break;
		if (n->kind == UK_NET_BRIDGE) {
			r = bridge_tap(s, i, &hn->made[i], err);
			continue;
		}
		/* the article's uml-conn0: made earlier, by or for whoever runs the guest; with
		 * --user, brought up here, as the kernel cannot */
		r = check_tap(s, ifname, false, err);
		if (r == 0 && s->uid >= 0)
			r = uk_net_link_up(ifname, err);
	}
	if (r == 0) {
		r = hostnet_policy(s, &p, err);
		if (r > 0) {
			r = uk_fw_apply(&p, err);
			hn->fw = r == 0;
		}
	}
	if (r < 0) {
		struct uk_err keep = err ? *err : (struct uk_err){0};

		uk_guest_hostnet_down(s, hn);
		if (err)
			*err = keep;
	}
	return r < 0 ? r : 0;
}

void uk_guest_hostnet_down(const struct uk_guest_spec *s, struct uk_guest_hostnet *hn)
{
	if (hn->fw)
		uk_fw_flush(s->name, NULL);
	hn->fw = false;
	for (int i = 0; i < s->nnets && i < (int)UK_ARRAY_SIZE(hn->made); i++) {
		struct uk_tap_opts o;
		char ifname[16];

		if (!hn->made[i])
			continue;
		uk_tap_opts_init(&o);
		uk_guest_net_ifname(s, i, ifname);
		uk_tap_del(ifname, &o, NULL, NULL);
		hn->made[i] = false;
	}
}
