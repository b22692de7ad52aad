// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The switch daemon's control protocol: a request is one JSON object in one message on the
 * SEQPACKET control socket (add-port and capture pass an fd with it, SCM_RIGHTS), and its
 * reply one JSON object with "ok" and either the results or "error"; a reply too big for one
 * message goes in a memfd. Commands: info, ports, fdb, add-port, remove-port, capture,
 * capture-stop, stop, and those of the modules (forward-add, ...). At most MAX_CLIENTS
 * connections at once: a new one closes the oldest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon-internal.h"

#define CTL_MSG_MAX 65536

static json_t *port_json(struct uk_swd *d, int id)
{
	struct uk_port_conf c;
	struct uk_port_stats st;
	json_t *j = json_object();

	uk_switch_port_info(d->sw, id, &c, &st);
	json_object_set_new(j, "port", json_integer(id));
	json_object_set_new(j, "kind", json_string(uk_port_kind_name(c.kind)));
	json_object_set_new(j, "peer", json_string(c.peer));
	json_object_set_new(j, "vlan", json_integer(c.vlan));
	json_object_set_new(j, "trunk", json_boolean(c.trunk));
	json_object_set_new(j, "macs", json_array());
	json_object_set_new(j, "rx_frames", json_integer((json_int_t)st.rx_frames));
	json_object_set_new(j, "rx_bytes", json_integer((json_int_t)st.rx_bytes));
	json_object_set_new(j, "tx_frames", json_integer((json_int_t)st.tx_frames));
	json_object_set_new(j, "tx_bytes", json_integer((json_int_t)st.tx_bytes));
	json_object_set_new(j, "rx_drops", json_integer((json_int_t)st.rx_drops));
	json_object_set_new(j, "tx_drops", json_integer((json_int_t)st.tx_drops));
	json_object_set_new(j, "held", json_integer((json_int_t)st.held));
	json_object_set_new(j, "paced", json_boolean(uk_swd_port_paced(d, id)));
	if (c.guest[0]) {
		json_object_set_new(j, "guest", json_string(c.guest));
		json_object_set_new(j, "net", json_integer(c.net));
	}
	if (c.kind == UK_PORT_VXLAN)
		uk_swd_vxlan_json(d, id, j);
	for (int m = 0; m < d->nmods; m++)
		if (d->mods[m].m.port_json)
			d->mods[m].m.port_json(d, d->mods[m].m.ctx, id, j);
	return j;
}

struct fdb_walk {
	struct uk_swd *d;
	json_t *arr;   /* fdb: every entry */
	json_t *ports; /* ports: add each MAC to its port's "macs" */
	uint64_t now;
};

static int fdb_entry(void *ctx, const struct uk_fdb_entry *e)
{
	struct fdb_walk *w = ctx;
	char mac[18], remote[64];

	uk_mac_format(e->mac, mac);
	if (w->arr) {
		json_t *j = json_object();

		json_object_set_new(j, "mac", json_string(mac));
		json_object_set_new(j, "vlan", json_integer(e->vlan));
		json_object_set_new(j, "port", json_integer(e->port));
		json_object_set_new(j, "age_ms", json_integer((json_int_t)(w->now - e->seen_ms)));
		if (uk_swd_vxlan_remote(w->d, e->port, e->via, remote, sizeof(remote)) == 0)
			json_object_set_new(j, "remote", json_string(remote));
		json_array_append_new(w->arr, j);
	}
	if (w->ports) {
		size_t i;
		json_t *p;

		json_array_foreach(w->ports, i, p)
		{
			json_t *rem = json_object_get(json_object_get(p, "vxlan"), "remotes");

			if (json_integer_value(json_object_get(p, "port")) != e->port)
				continue;
			json_array_append_new(json_object_get(p, "macs"), json_string(mac));
			/* on a VXLAN port, also under the remote it came through */
			if (e->via >= 0 && json_array_get(rem, (size_t)e->via))
				json_array_append_new(
					json_object_get(json_array_get(rem, (size_t)e->via),
							"macs"),
					json_string(mac));
		}
	}
	return 0;
}

static void cmd_ports(struct uk_swd *d, json_t *reply)
{
	int ids[UK_SW_MAX_PORTS];
	int n = uk_switch_ports(d->sw, ids, UK_SW_MAX_PORTS);
	struct fdb_walk w = {.d = d, .ports = json_array(), .now = uk_switch_now_ms()};

	for (int i = 0; i < n; i++)
		json_array_append_new(w.ports, port_json(d, ids[i]));
	uk_fdb_foreach(uk_switch_fdb(d->sw), w.now, fdb_entry, &w);
	json_object_set_new(reply, "ports", w.ports);
}

static void cmd_fdb(struct uk_swd *d, json_t *reply)
{
	struct fdb_walk w = {.d = d, .arr = json_array(), .now = uk_switch_now_ms()};

	uk_fdb_foreach(uk_switch_fdb(d->sw), w.now, fdb_entry, &w);
	json_object_set_new(reply, "fdb", w.arr);
}

static void cmd_info(struct uk_swd *d, json_t *reply)
{
	int ids[UK_SW_MAX_PORTS];

	json_object_set_new(reply, "name", json_string(d->o.name));
	json_object_set_new(reply, "pid", json_integer(getpid()));
	json_object_set_new(reply, "mtu", json_integer(d->o.mtu ? d->o.mtu : UK_SW_MTU_DEFAULT));
	json_object_set_new(reply, "hub", json_boolean(d->o.hub));
	json_object_set_new(reply, "nat", json_boolean(d->o.nat));
	json_object_set_new(reply, "coalesce_us", json_integer(d->o.coalesce_us));
	json_object_set_new(reply, "loaded", json_boolean(d->load.pause_us > 0));
	json_object_set_new(reply, "pause_us", json_integer(d->load.pause_us));
	json_object_set_new(reply, "capture_drops",
			    json_integer((json_int_t)uk_switch_capture_drops(d->sw)));
	json_object_set_new(reply, "fdb_evicted",
			    json_integer((json_int_t)uk_switch_fdb_evicted(d->sw)));
	json_object_set_new(reply, "ports",
			    json_integer(uk_switch_ports(d->sw, ids, UK_SW_MAX_PORTS)));
	json_object_set_new(reply, "bad_control", json_integer((json_int_t)d->bad_control));
	json_object_set_new(reply, "conn_refused", json_integer((json_int_t)d->conn_refused));
	if (d->tap_error[0])
		json_object_set_new(reply, "tap_error", json_string(d->tap_error));
	json_object_set_new(reply, "control", json_string(d->ctl_path));
}

/* Whether req's key, when present, is of type t (JSON_TRUE: a boolean). */
static bool field_is(json_t *req, const char *key, json_type t)
{
	json_t *v = json_object_get(req, key);

	return !v || (t == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == t);
}

/* req's "port": a port's number (required), or -1 when it is absent and optional. */
static int port_field(json_t *req, const char *cmd, bool required, int *port, struct uk_err *err)
{
	json_t *p = json_object_get(req, "port");
	json_int_t n = json_integer_value(p);

	*port = -1;
	if (!p && !required)
		return 0;
	if (!p)
		return uk_err_set(err, EINVAL, "%s needs the port's number", cmd);
	if (!json_is_integer(p) || n < 0 || n >= UK_SW_MAX_PORTS)
		return uk_err_set(err, EINVAL, "%s: \"port\" must be a number from 0 to %d", cmd,
				  UK_SW_MAX_PORTS - 1);
	*port = (int)n;
	return 0;
}

/* add-port's "guest" and "net" (a guest's link: its name and vecN) and whether what a guest's
 * link brings ("mac", "addr", "forwards": the NAT module reads them) is of the right type. */
static int add_port_guest(json_t *req, struct uk_port_conf *c, struct uk_err *err)
{
	const char *guest = json_string_value(json_object_get(req, "guest"));
	json_int_t net = json_integer_value(json_object_get(req, "net"));

	if (!field_is(req, "guest", JSON_STRING) || !field_is(req, "net", JSON_INTEGER) ||
	    !field_is(req, "mac", JSON_STRING) || !field_is(req, "addr", JSON_STRING) ||
	    !field_is(req, "forwards", JSON_ARRAY))
		return uk_err_set(err, EINVAL,
				  "add-port: \"guest\", \"mac\" and \"addr\" must be strings, "
				  "\"net\" a number, \"forwards\" a list");
	if (!guest && (json_object_get(req, "net") || json_object_get(req, "forwards")))
		return uk_err_set(err, EINVAL, "add-port: \"net\" and \"forwards\" need \"guest\"");
	if (!guest)
		return 0;
	if (uk_name_check("guest", guest, sizeof(c->guest) - 1, err) < 0)
		return uk_err_prefix(err, -EINVAL, "add-port: ");
	if (net < 0 || net > 255)
		return uk_err_set(err, EINVAL, "add-port: net %lld is outside 0..255",
				  (long long)net);
	snprintf(c->guest, sizeof(c->guest), "%s", guest);
	c->net = (int)net;
	return 0;
}

/* add-port's fields, each of its type and range. */
static int add_port_conf(json_t *req, struct uk_port_conf *c, struct uk_err *err)
{
	json_int_t vlan = json_integer_value(json_object_get(req, "vlan"));
	const char *peer = json_string_value(json_object_get(req, "peer"));
	const char *kind = json_string_value(json_object_get(req, "kind"));

	if (!field_is(req, "vlan", JSON_INTEGER) || !field_is(req, "trunk", JSON_TRUE) ||
	    !field_is(req, "peer", JSON_STRING) || !field_is(req, "kind", JSON_STRING))
		return uk_err_set(err, EINVAL,
				  "add-port: \"vlan\" must be a number, \"trunk\" true or "
				  "false, \"peer\" and \"kind\" strings");
	if (!kind || !strcmp(kind, "fd"))
		c->kind = UK_PORT_FD;
	else if (!strcmp(kind, "link"))
		c->kind = UK_PORT_LINK;
	else if (!strcmp(kind, "plug"))
		c->kind = UK_PORT_PLUG;
	else if (!strcmp(kind, "vxlan"))
		c->kind = UK_PORT_VXLAN;
	else
		return uk_err_set(err, EINVAL,
				  "add-port: kind '%.32s' is not fd, link, plug or vxlan", kind);
	if (vlan < 0 || vlan > UK_VLAN_MAX)
		return uk_err_set(err, EINVAL, "add-port: vlan %lld is outside 1..4094",
				  (long long)vlan);
	c->vlan = (uint16_t)vlan;
	c->trunk = json_is_true(json_object_get(req, "trunk"));
	snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : "fd");
	return add_port_guest(req, c, err);
}

/* A port from a launcher (kind "fd", the default), one end of a link between switches
 * ("link") or a plug's ("plug"): the fd must be a packet socket. */
static int cmd_add_port(struct uk_swd *d, json_t *req, int fd, json_t *reply, struct uk_err *err)
{
	struct uk_port_conf c = {0};
	int type = 0;
	socklen_t tl = sizeof(type);
	int id;

	if (fd < 0)
		return uk_err_set(err, EINVAL, "add-port needs a socket passed with the request");
	if (add_port_conf(req, &c, err) < 0) {
		close(fd);
		return -EINVAL;
	}
	if (c.kind == UK_PORT_VXLAN)
		return uk_swd_vxlan_add(d, req, fd, &c, reply, err);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    (type != SOCK_SEQPACKET && type != SOCK_DGRAM)) {
		close(fd);
		return uk_err_set(err, EINVAL, "add-port: the fd is not a packet socket");
	}
	if (json_array_size(json_object_get(req, "forwards")) && !d->o.nat) {
		close(fd);
		return uk_err_set(err, EINVAL,
				  "guest '%s': a forward needs a switch with NAT (umlkit switch "
				  "start %s --nat)",
				  c.guest, d->o.name);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	id = uk_swd_add_socket_port(d, fd, &c, err);
	if (id < 0)
		return id;
	for (int m = 0; m < d->nmods; m++) {
		int r = d->mods[m].m.port_added
				? d->mods[m].m.port_added(d, d->mods[m].m.ctx, id, req, err)
				: 0;

		if (r < 0) {
			uk_swd_remove_port(d, id);
			return r;
		}
	}
	json_object_set_new(reply, "port", json_integer(id));
	return 0;
}

/* Remove port "port"; with "peer", only if that is still its peer (the number may have
 * gone to another port since the caller read it). */
static int cmd_remove_port(struct uk_swd *d, json_t *req, struct uk_err *err)
{
	const char *peer = json_string_value(json_object_get(req, "peer"));
	struct uk_port_conf c;
	int port;

	if (port_field(req, "remove-port", true, &port, err) < 0)
		return -EINVAL;
	if (!field_is(req, "peer", JSON_STRING))
		return uk_err_set(err, EINVAL, "remove-port: \"peer\" must be a string");
	if (uk_switch_port_info(d->sw, port, &c, NULL) < 0)
		return uk_err_set(err, ENOENT, "no port %d", port);
	if (peer && strcmp(peer, c.peer))
		return uk_err_set(err, ENOENT, "port %d's peer is not '%.128s'", port, peer);
	if (c.kind == UK_PORT_NAT) /* its forwards would lead nowhere, and it cannot come back */
		return uk_err_set(err, EPERM,
				  "port %d is the NAT uplink: it goes when the switch stops", port);
	uk_swd_remove_port(d, port);
	return 0;
}

static int cmd_capture(struct uk_swd *d, json_t *req, int fd, struct uk_err *err)
{
	int port;

	if (fd < 0)
		return uk_err_set(err, EINVAL, "capture needs a file passed with the request");
	if (port_field(req, "capture", false, &port, err) < 0) {
		close(fd);
		return -EINVAL;
	}
	if (port >= 0 && uk_switch_port_info(d->sw, port, NULL, NULL) < 0) {
		close(fd);
		return uk_err_set(err, ENOENT, "no port %d", port);
	}
	return uk_switch_capture_start(d->sw, port, fd, err);
}

static int dispatch(struct uk_swd *d, json_t *req, int fd, json_t *reply, struct uk_err *err)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!cmd) {
		if (fd >= 0)
			close(fd);
		return uk_err_set(err, EINVAL, "request without \"cmd\"");
	}
	if (strcmp(cmd, "add-port") && strcmp(cmd, "capture") && fd >= 0) {
		close(fd);
		fd = -1;
	}
	if (!strcmp(cmd, "info"))
		cmd_info(d, reply);
	else if (!strcmp(cmd, "ports"))
		cmd_ports(d, reply);
	else if (!strcmp(cmd, "fdb"))
		cmd_fdb(d, reply);
	else if (!strcmp(cmd, "add-port"))
		return cmd_add_port(d, req, fd, reply, err);
	else if (!strcmp(cmd, "remove-port"))
		return cmd_remove_port(d, req, err);
	else if (!strcmp(cmd, "capture"))
		return cmd_capture(d, req, fd, err);
	else if (!strcmp(cmd, "capture-stop"))
		uk_switch_capture_stop(d->sw);
	else if (!strcmp(cmd, "stop"))
		d->stop = true;
	else {
		for (int i = 0; i < d->nmods; i++) {
			int r = d->mods[i].m.command
					? d->mods[i].m.command(d, d->mods[i].m.ctx, cmd, req, reply)
					: -ENOENT;

			if (r != -ENOENT) {
				if (r < 0) {
					const char *e =
						json_string_value(json_object_get(reply, "error"));

					return uk_err_set(err, -r, "%s", e ? e : "failed");
				}
				return 0;
			}
		}
		return uk_err_set(err, EINVAL, "unknown command \"%.64s\"", cmd);
	}
	return 0;
}

/* Receive one request and its fd (if any). Returns its length, 0 on EOF, -errno. */
static ssize_t recv_request(int s, char *buf, size_t len, int *fd)
{
	ssize_t n = uk_recv_fd(s, buf, len - 1, fd, MSG_DONTWAIT);

	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* A reply too big for one message on the socket (a full learning table is a few hundred
 * KiB; the host caps a socket's buffer near 200 KiB) goes in a memfd, passed with a
 * marker message {"ok":true,"reply_fd":true} (uk_switch_request reads it). 0, or -errno. */
static int send_reply(int s, const char *text)
{
	static const char marker[] = "{\"ok\":true,\"reply_fd\":true}";
	size_t len = strlen(text);
	ssize_t n = -EMSGSIZE;
	int fd;

	if (len <= CTL_MSG_MAX)
		n = uk_send_fd(s, text, len, -1, MSG_DONTWAIT);
	if (n >= 0 || (n != -EMSGSIZE && n != -ENOBUFS))
		return n < 0 ? (int)n : 0;
	fd = memfd_create("umlkit-reply", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = uk_write_all(fd, text, len);
	if (n == 0)
		n = uk_send_fd(s, marker, sizeof(marker) - 1, fd, MSG_DONTWAIT);
	close(fd);
	return n < 0 ? (int)n : 0;
}

static void drop_client(struct uk_swd *d, int s)
{
	for (int i = 0; i < d->nclients; i++)
		if (d->clients[i] == s) {
			memmove(&d->clients[i], &d->clients[i + 1],
				(size_t)(d->nclients - i - 1) * sizeof(int));
			d->nclients--;
			break;
		}
	uk_swd_unwatch(d, s);
	close(s);
}

void uk_swd_control_request(struct uk_swd *d, int s)
{
	static char buf[CTL_MSG_MAX];
	struct uk_err err = {0};
	json_t *req, *reply;
	char *text;
	int fd;
	ssize_t n = recv_request(s, buf, sizeof(buf), &fd);

	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n <= 0) {
		if (fd >= 0)
			close(fd); /* an empty message with an fd: the fd is still ours */
		drop_client(d, s);
		return;
	}
	reply = json_object();
	req = json_loadb(buf, (size_t)n, 0, NULL);
	if (!json_is_object(req)) {
		d->bad_control++;
		if (fd >= 0)
			close(fd);
		uk_err_set(&err, EINVAL, "the request is not a JSON object");
	} else if (dispatch(d, req, fd, reply, &err) < 0) {
		d->bad_control += err.code == EINVAL;
	}
	json_object_set_new(reply, "ok", json_boolean(err.code == 0));
	if (err.code)
		json_object_set_new(reply, "error", json_string(err.msg));
	text = json_dumps(reply, JSON_COMPACT);
	if (!text || send_reply(s, text) < 0)
		drop_client(d, s);
	free(text);
	json_decref(req);
	json_decref(reply);
}

void uk_swd_control_accept(struct uk_swd *d, int fd)
{
	int s = uk_swd_accept(d, fd);

	if (s < 0)
		return;
	if (d->nclients == MAX_CLIENTS) { /* the oldest has had its time: idle ones block none */
		d->conn_refused++;
		drop_client(d, d->clients[0]);
	}
	if (uk_swd_add_watch(d, &(struct watch){.fd = s, .kind = WATCH_CLIENT}) < 0) {
		uk_swd_refuse(d, s);
		return;
	}
	d->clients[d->nclients++] = s;
}
