/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The NAT uplink's parts: natparse.c (its pure parsers), nat.c (libslirp in the daemon's
 * loop, the port forwards) and lease.c (the addresses its DHCP server gave, to which port,
 * and the guests' forwards that follow them). Not part of the public API.
 */
#ifndef UK_NAT_INTERNAL_H
#define UK_NAT_INTERNAL_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "umlkit/err.h"
#include "engine-internal.h"
#include "swparse.h"

struct nat;
struct nat_leases;

/* ---- natparse.c (pure) ---- */
struct nat_net {
	struct in_addr net, mask, host, dns, dhcp;
	unsigned prefix;
};
/* "A.B.C.D/N", N 8..27 (slirp leases 16 addresses from .15), a network that can hold guests:
 * the network, its mask, the host alias .2, DNS .3 and the first lease .15. */
int uk_swd_nat_net_parse(const char *s, struct nat_net *o, struct uk_err *err);

/* ---- nat.c, for lease.c ---- */
/* Whether a can be a guest's address on the NAT's network (not the network's own): 0, or
 * -EINVAL saying so of what ("forward 'SPEC'", "guest 'web'"). */
int uk_nat_guest_addr_check(const struct nat *n, const char *what, struct in_addr a,
			    struct uk_err *err);
/* The NAT network's prefix length. */
unsigned uk_nat_prefix(const struct nat *n);
/* Add forward f (its guest address set; its owner, a guest's port, or -1) to slirp: 0, or
 * -EEXIST (that host port is forwarded), -ENOSPC, -errno of the listen; spec names it. */
int uk_nat_fwd_install(struct nat *n, const char *spec, const struct nat_fwd *f,
		       struct uk_err *err);
/* Remove the forward with f's key (protocol, host address and port), if there is one. */
void uk_nat_fwd_uninstall(struct nat *n, const struct nat_fwd *f);
/* The index of the forward with f's key, or -1. */
int uk_nat_fwd_find(const struct nat *n, const struct nat_fwd *f);
/* "tcp:127.0.0.1:8080:10.0.2.15:80"; a guest's forward without its address yet (gaddr 0):
 * "tcp:127.0.0.1:8080:80". */
void uk_nat_fwd_format(const struct nat_fwd *f, char *out, size_t outlen);

/* ---- lease.c ---- */
struct nat_leases *uk_nat_leases_new(struct nat *n, struct uk_switch *sw, int nat_port);
/* Free it, closing the host ports it holds (slirp's forwards go with slirp). */
void uk_nat_leases_free(struct nat_leases *l);
/* A frame slirp sends the switch: a DHCP ACK is recorded for the port its client's MAC was
 * learned on (the first port to hold an address keeps it while it lives). */
void uk_nat_leases_snoop(struct nat_leases *l, const void *frame, size_t len);
/* Outside slirp's calls (the loop's pre_poll): add or move the guests' forwards whose
 * address is known or changed. */
void uk_nat_leases_settle(struct nat_leases *l);
/* add-port's "mac", "addr" and "forwards" for a guest's port (each forward checked, its host
 * port held): 0, or -errno with err set. */
int uk_nat_leases_port_added(struct nat_leases *l, int port, json_t *req, struct uk_err *err);
/* The port goes: its leases are forgotten, its forwards removed, its host ports let go. */
void uk_nat_leases_port_removed(struct nat_leases *l, int port);
/* The port's address, leases and forwards, into its object in `ports`. */
void uk_nat_leases_port_json(struct nat_leases *l, int port, json_t *j);
/* "leases" and "guest_forwards", into the reply of forward-list. */
void uk_nat_leases_json(struct nat_leases *l, json_t *reply);
/* The port of the guest whose forward holds f's host port (waiting or added), or -1. */
int uk_nat_leases_holder(const struct nat_leases *l, const struct nat_fwd *f);

#endif
