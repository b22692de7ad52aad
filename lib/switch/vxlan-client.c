// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VXLAN ports, the client's side: check what the user gave, make the UDP socket in this
 * process's network namespace (bound to the local address; large datagrams fragmented rather
 * than refused, as Linux's vxlan device does by default), and hand it to the switch with the
 * port's VNI and remotes (vxlan-port.c takes it there). Removal asks the switch for its VXLAN
 * ports and removes each.
 */
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "client-internal.h"
#include "engine-internal.h"

/* v's local address, or the any address of its remotes' family on UK_VXLAN_PORT. */
static int local_of(const struct uk_switch_vxlan *v, union uk_vxlan_addr *local, struct uk_err *err)
{
	union uk_vxlan_addr first;

	if (v->local[0])
		return uk_vxlan_addr_parse(v->local, false, local, err);
	if (uk_vxlan_addr_parse(v->remotes[0], true, &first, err) < 0)
		return -EINVAL;
	memset(local, 0, sizeof(*local));
	local->sa.sa_family = first.sa.sa_family;
	if (first.sa.sa_family == AF_INET)
		local->in.sin_port = htons(UK_VXLAN_PORT);
	else
		local->in6.sin6_port = htons(UK_VXLAN_PORT);
	return 0;
}

int uk_switch_vxlan_check(const struct uk_switch_vxlan *v, struct uk_err *err)
{
	union uk_vxlan_addr local, rem[UK_VXLAN_MAX_REMOTES];

	if (v->vni > UK_VXLAN_VNI_MAX)
		return uk_err_set(err, EINVAL, "VNI %u is outside 0..%u", v->vni, UK_VXLAN_VNI_MAX);
	if (v->nremotes < 1 || v->nremotes > UK_VXLAN_MAX_REMOTES)
		return uk_err_set(err, EINVAL, "a VXLAN port needs 1 to %d remotes",
				  UK_VXLAN_MAX_REMOTES);
	if (v->vlan > UK_VLAN_MAX)
		return uk_err_set(err, EINVAL, "VLAN %u is outside 1..%u", v->vlan, UK_VLAN_MAX);
	if (local_of(v, &local, err) < 0)
		return -EINVAL;
	for (int i = 0; i < v->nremotes; i++) {
		if (uk_vxlan_addr_parse(v->remotes[i], true, &rem[i], err) < 0)
			return -EINVAL;
		if (rem[i].sa.sa_family != local.sa.sa_family)
			return uk_err_set(err, EINVAL,
					  "remote %s is not of the local address's family (IPv4 "
					  "and IPv6 do not mix in one port)",
					  v->remotes[i]);
		for (int k = 0; k < i; k++)
			if (uk_vxlan_same_host(&rem[k], &rem[i]))
				return uk_err_set(err, EINVAL, "remote %s is given twice",
						  v->remotes[i]);
	}
	return 0;
}

/* The UDP socket bound to local: its fd, or -errno (err told). */
static int bind_udp(const union uk_vxlan_addr *local, struct uk_err *err)
{
	bool v6 = local->sa.sa_family == AF_INET6;
	int off = v6 ? IPV6_PMTUDISC_DONT : IP_PMTUDISC_DONT;
	char addr[64];
	int fd =
		socket(local->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);

	uk_vxlan_addr_format(local, addr, sizeof(addr));
	if (fd < 0)
		return uk_err_sys(err, errno, "local %s: socket", addr);
	/* a frame of a full MTU does not fit the path's MTU behind 50 bytes of VXLAN, UDP and
	 * IP: fragment it, as the kernel's vxlan device does, instead of losing it */
	if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER,
		       &off, sizeof(off)) < 0) {
		off = errno;
		close(fd);
		return uk_err_sys(err, off, "local %s: path MTU discovery", addr);
	}
	if (bind(fd, &local->sa, uk_vxlan_addr_len(local)) == 0)
		return fd;
	off = errno;
	close(fd);
	if (off == EADDRINUSE)
		return uk_err_set(err, EADDRINUSE,
				  "local %s is taken (by another VXLAN port, a vxlan device or "
				  "another program): give another with --local ADDR:PORT",
				  addr);
	return uk_err_sys(err, off, "local %s: bind", addr);
}

static json_t *vxlan_request(const struct uk_switch_vxlan *v)
{
	json_t *req = json_object(), *rem = json_array();
	char peer[128];
	size_t at;

	at = (size_t)snprintf(peer, sizeof(peer), "vxlan %u", v->vni);
	for (int i = 0; i < v->nremotes; i++) {
		json_array_append_new(rem, json_string(v->remotes[i]));
		if (at < sizeof(peer))
			at += (size_t)snprintf(peer + at, sizeof(peer) - at, " %s", v->remotes[i]);
	}
	json_object_set_new(req, "cmd", json_string("add-port"));
	json_object_set_new(req, "kind", json_string("vxlan"));
	json_object_set_new(req, "peer", json_string(peer));
	json_object_set_new(req, "vlan", json_integer(v->vlan));
	json_object_set_new(req, "trunk", json_boolean(v->trunk));
	json_object_set_new(req, "vni", json_integer(v->vni));
	json_object_set_new(req, "remotes", rem);
	return req;
}

int uk_switch_vxlan(const char *name, const struct uk_switch_vxlan *v, struct uk_err *err)
{
	union uk_vxlan_addr local;
	json_t *req, *rep = NULL, *port;
	char *text;
	int fd, r;

	if (uk_switch_name_check(name, err) < 0 || uk_switch_vxlan_check(v, err) < 0 ||
	    local_of(v, &local, err) < 0)
		return -EINVAL;
	if (!uk_switch_pid(name))
		return uk_err_set(err, ENOENT, "switch '%s' is not running", name);
	fd = bind_udp(&local, err);
	if (fd < 0)
		return fd;
	req = vxlan_request(v);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	r = text ? uk_switch_ask(name, text, fd, &rep, err)
		 : uk_err_set(err, ENOMEM, "out of memory");
	free(text);
	close(fd);
	if (r < 0)
		return r;
	port = json_object_get(rep, "port");
	r = json_is_integer(port)
		    ? (int)json_integer_value(port)
		    : uk_err_set(err, EPROTO, "switch '%s': its reply names no port", name);
	json_decref(rep);
	return r;
}

int uk_switch_unvxlan(const char *name, long vni, struct uk_err *err)
{
	int e, n = 0, r = uk_switch_name_check(name, err);
	json_t *ports, *p;
	size_t k;

	if (r < 0)
		return r;
	ports = uk_switch_ports_of(name, &e);
	if (!ports)
		return e == -ENOENT ? uk_err_set(err, ENOENT, "switch '%s' is not running", name)
				    : uk_err_sys(err, -e, "switch '%s'", name);
	json_array_foreach(ports, k, p)
	{
		json_t *v = json_object_get(p, "vxlan");
		const char *peer = json_string_value(json_object_get(p, "peer"));

		if (!v || !peer ||
		    (vni >= 0 && json_integer_value(json_object_get(v, "vni")) != vni))
			continue;
		r = uk_switch_remove_port_of(
			name, (int)json_integer_value(json_object_get(p, "port")), peer, err);
		if (r < 0)
			break;
		n++;
	}
	json_decref(ports);
	if (r < 0)
		return r;
	if (n == 0 && vni >= 0)
		return uk_err_set(err, ENOENT, "switch '%s' has no VXLAN port of VNI %ld", name,
				  vni);
	if (n == 0)
		return uk_err_set(err, ENOENT, "switch '%s' has no VXLAN port", name);
	return n;
}
