// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The switch daemon's VXLAN ports: add-port of kind "vxlan" (a UDP socket that the client
 * bound in its own network namespace, passed with the request, and the port's "vni" and
 * "remotes"), and what `ports` says of one. The daemon makes no socket of its own: it runs
 * under its seccomp allowlist by then, and the client's namespace is the one whose addresses
 * the user named. The engine carries the frames (engine.c, uk_switch_add_vxlan_port).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon-internal.h"

/* fd is a bound UDP socket: its family and address into *local. */
static int udp_socket(int fd, union uk_vxlan_addr *local, struct uk_err *err)
{
	int dom = 0, type = 0, proto = 0;
	socklen_t l = sizeof(int), al = sizeof(*local);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) < 0 ||
	    (dom != AF_INET && dom != AF_INET6) || type != SOCK_DGRAM || proto != IPPROTO_UDP)
		return uk_err_set(err, EINVAL, "add-port: a vxlan port needs a UDP socket");
	memset(local, 0, sizeof(*local));
	if (getsockname(fd, &local->sa, &al) < 0 || (dom == AF_INET && !local->in.sin_port) ||
	    (dom == AF_INET6 && !local->in6.sin6_port))
		return uk_err_set(err, EINVAL,
				  "add-port: the vxlan port's UDP socket is not bound");
	return 0;
}

/* req's "remotes": 1..UK_VXLAN_MAX_REMOTES strings, addresses of the socket's family, none
 * twice. */
static int remotes_field(json_t *req, struct uk_vxlan_conf *vc, struct uk_err *err)
{
	json_t *arr = json_object_get(req, "remotes"), *v;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) < 1 ||
	    json_array_size(arr) > UK_VXLAN_MAX_REMOTES)
		return uk_err_set(err, EINVAL, "add-port: \"remotes\" must list 1 to %d addresses",
				  UK_VXLAN_MAX_REMOTES);
	json_array_foreach(arr, i, v)
	{
		union uk_vxlan_addr *a = &vc->remotes[i];
		const char *s = json_string_value(v);

		if (!s || uk_vxlan_addr_parse(s, true, a, err) < 0)
			return s ? uk_err_prefix(err, -EINVAL, "add-port: ")
				 : uk_err_set(err, EINVAL, "add-port: a remote is not a string");
		if (a->sa.sa_family != vc->local.sa.sa_family)
			return uk_err_set(err, EINVAL,
					  "add-port: remote %.80s is not of the family of the "
					  "local address",
					  s);
		for (size_t k = 0; k < i; k++)
			if (uk_vxlan_same_host(&vc->remotes[k], a))
				return uk_err_set(err, EINVAL, "add-port: remote %.80s twice", s);
		vc->nremotes++;
	}
	return 0;
}

/* Another VXLAN port of the switch with the same VNI and a remote of vc's: both would carry
 * the segment to that remote, a loop. Its id, or -1. */
static int same_segment(struct uk_swd *d, const struct uk_vxlan_conf *vc, int *remote)
{
	int ids[UK_SW_MAX_PORTS], n = uk_switch_ports(d->sw, ids, UK_SW_MAX_PORTS);
	struct uk_vxlan_conf o;

	for (int i = 0; i < n; i++) {
		if (uk_switch_vxlan_info(d->sw, ids[i], &o, NULL) < 0 || o.vni != vc->vni)
			continue;
		for (int a = 0; a < o.nremotes; a++)
			for (int b = 0; b < vc->nremotes; b++)
				if (uk_vxlan_same_host(&o.remotes[a], &vc->remotes[b])) {
					*remote = b;
					return ids[i];
				}
	}
	return -1;
}

static int vxlan_conf(struct uk_swd *d, json_t *req, int fd, struct uk_vxlan_conf *vc,
		      struct uk_err *err)
{
	json_t *vni = json_object_get(req, "vni");
	int other, r = 0;
	char addr[64];

	memset(vc, 0, sizeof(*vc));
	if (!json_is_integer(vni) || json_integer_value(vni) < 0 ||
	    json_integer_value(vni) > UK_VXLAN_VNI_MAX)
		return uk_err_set(err, EINVAL, "add-port: \"vni\" must be a number from 0 to %u",
				  UK_VXLAN_VNI_MAX);
	vc->vni = (uint32_t)json_integer_value(vni);
	if (udp_socket(fd, &vc->local, err) < 0 || remotes_field(req, vc, err) < 0)
		return -EINVAL;
	other = same_segment(d, vc, &r);
	if (other < 0)
		return 0;
	uk_vxlan_addr_format(&vc->remotes[r], addr, sizeof(addr));
	return uk_err_set(err, EEXIST, "port %d carries VNI %u to %s already", other, vc->vni,
			  addr);
}

int uk_swd_vxlan_add(struct uk_swd *d, json_t *req, int fd, const struct uk_port_conf *c,
		     json_t *reply, struct uk_err *err)
{
	struct uk_vxlan_conf vc;
	int id, r = vxlan_conf(d, req, fd, &vc, err);

	if (r < 0) {
		close(fd);
		return r;
	}
	id = uk_switch_add_vxlan_port(d->sw, fd, c, &vc, err);
	if (id < 0) {
		close(fd);
		return id;
	}
	r = uk_swd_watch_port(d, fd, id, err);
	if (r < 0)
		return r;
	json_object_set_new(reply, "port", json_integer(id));
	return 0;
}

static json_t *remote_json(const union uk_vxlan_addr *a, const struct uk_vxlan_stats *st, int r)
{
	char addr[64];
	json_t *j = json_object();

	uk_vxlan_addr_format(a, addr, sizeof(addr));
	json_object_set_new(j, "remote", json_string(addr));
	json_object_set_new(j, "rx_frames", json_integer((json_int_t)st->rx_frames[r]));
	json_object_set_new(j, "tx_frames", json_integer((json_int_t)st->tx_frames[r]));
	json_object_set_new(j, "tx_errors", json_integer((json_int_t)st->tx_errors[r]));
	json_object_set_new(j, "macs", json_array());
	return j;
}

void uk_swd_vxlan_json(struct uk_swd *d, int id, json_t *j)
{
	struct uk_vxlan_conf vc;
	struct uk_vxlan_stats st;
	json_t *v, *rem;
	char addr[64];

	if (uk_switch_vxlan_info(d->sw, id, &vc, &st) < 0)
		return;
	v = json_object();
	rem = json_array();
	uk_vxlan_addr_format(&vc.local, addr, sizeof(addr));
	json_object_set_new(v, "vni", json_integer(vc.vni));
	json_object_set_new(v, "local", json_string(addr));
	json_object_set_new(v, "bad_header", json_integer((json_int_t)st.bad_header));
	json_object_set_new(v, "wrong_vni", json_integer((json_int_t)st.wrong_vni));
	json_object_set_new(v, "strangers", json_integer((json_int_t)st.strangers));
	for (int r = 0; r < vc.nremotes; r++)
		json_array_append_new(rem, remote_json(&vc.remotes[r], &st, r));
	json_object_set_new(v, "remotes", rem);
	json_object_set_new(j, "vxlan", v);
}

int uk_swd_vxlan_remote(struct uk_swd *d, int id, int via, char *out, size_t len)
{
	struct uk_vxlan_conf vc;

	if (via < 0 || uk_switch_vxlan_info(d->sw, id, &vc, NULL) < 0 || via >= vc.nremotes)
		return -ENOENT;
	uk_vxlan_addr_format(&vc.remotes[via], out, len);
	return 0;
}
