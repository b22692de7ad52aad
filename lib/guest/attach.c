// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A guest's links to umlkit switches: for each `--net switch:NAME`, a SEQPACKET socketpair
 * whose one end goes to the switch (over its control socket, SCM_RIGHTS) and whose other
 * end the kernel inherits as `vecN:transport=fd`. No privilege, no socket path, and the
 * same on every kernel from 6.1 to today's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "guest-internal.h"

int uk_guest_attach_switches(struct uk_guest_spec *s, struct uk_err *err)
{
	for (int i = 0; i < s->nnets; i++) {
		struct uk_guest_net *n = &s->nets[i];
		struct uk_port_conf c = {.kind = UK_PORT_FD, .vlan = n->vlan, .trunk = n->trunk};
		int sv[2], port;

		if (n->kind != UK_NET_SWITCH)
			continue;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return uk_err_sys(err, errno, "socketpair");
		snprintf(c.peer, sizeof(c.peer), "guest %s vec%d", s->name, i);
		port = uk_switch_attach_fd(n->target, sv[1], &c, err);
		close(sv[1]);
		if (port < 0) {
			close(sv[0]);
			return port;
		}
		/* from here on the kernel's end is an inherited fd (kept open until exec) */
		n->kind = UK_NET_FD;
		snprintf(n->target, sizeof(n->target), "%d", sv[0]);
	}
	return 0;
}
