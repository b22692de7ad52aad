// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A guest's links to umlkit switches: for each `--net switch:NAME`, a SEQPACKET socketpair
 * whose one end goes to the switch (over its control socket, SCM_RIGHTS) and whose other
 * end the kernel inherits as `vecN:transport=fd`. No privilege, no socket path, and the
 * same on every kernel from 6.1 to today's. The port knows its guest (name and link number),
 * its MAC (a stable one made from the name unless given), the guest's static address
 * (umlkit.ip=) and its forwards (forward=), which the switch's NAT follows to its address.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "guest-internal.h"

_Static_assert(UK_GUEST_NET_FWDS == UK_SW_GUEST_FWDS, "a link's forwards fit the switch's");

int uk_guest_attach_switches(struct uk_guest_spec *s, struct uk_err *err)
{
	for (int i = 0; i < s->nnets; i++) {
		struct uk_guest_net *n = &s->nets[i];
		struct uk_port_conf c = {
			.kind = UK_PORT_FD, .vlan = n->vlan, .trunk = n->trunk, .net = i};
		struct uk_switch_guest_link g = {.nforwards = n->nforwards};
		int sv[2], port;

		if (n->kind != UK_NET_SWITCH)
			continue;
		if (!n->mac[0]) /* fixed now: the wired copy's kind is fd, which gets none */
			uk_guest_net_mac(s, i, n->mac);
		snprintf(g.mac, sizeof(g.mac), "%s", n->mac);
		uk_guest_net_static_ip(s, i, g.addr, NULL, NULL);
		for (int k = 0; k < n->nforwards; k++)
			snprintf(g.forwards[k], sizeof(g.forwards[k]), "%s", n->forwards[k]);
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return uk_err_sys(err, errno, "socketpair");
		snprintf(c.peer, sizeof(c.peer), "guest %s vec%d", s->name, i);
		snprintf(c.guest, sizeof(c.guest), "%s", s->name);
		port = uk_switch_attach_guest(n->target, sv[1], &c, &g, err);
		close(sv[1]);
		if (port < 0) {
			close(sv[0]);
			return port;
		}
		/* from here on the kernel's end is an inherited fd (kept open until exec) */
		n->kind = UK_NET_FD;
		n->port = port;
		snprintf(n->target, sizeof(n->target), "%d", sv[0]);
	}
	return 0;
}
