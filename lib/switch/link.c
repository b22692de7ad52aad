// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Links between running switches: a SEQPACKET socketpair whose ends become a "link" port of
 * each switch, peer "switch OTHER". Frames cross it as between any two ports, so guests on
 * two switches share one Ethernet (a trunk: every VLAN) or one VLAN (an access link).
 *
 * No spanning tree runs here, so a link that would close a loop is refused: two switches
 * that are already joined, directly or through other links, are not linked again. Whether
 * they are is a breadth-first walk over the switches' link ports, under a lock in the
 * switches' directory so that two `link` commands cannot both pass it.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "client-internal.h"

#define NAME_LEN  33 /* a switch name and its NUL */
#define PEER_WORD "switch "

/* The switch a link port leads to (its peer "switch NAME"), or NULL for any other port. */
static const char *link_peer(json_t *port)
{
	const char *kind = json_string_value(json_object_get(port, "kind"));
	const char *peer = json_string_value(json_object_get(port, "peer"));

	if (!kind || strcmp(kind, "link") || !peer || strncmp(peer, PEER_WORD, strlen(PEER_WORD)))
		return NULL;
	peer += strlen(PEER_WORD);
	return uk_switch_name_check(peer, NULL) == 0 ? peer : NULL;
}

json_t *uk_switch_ports_of(const char *name, int *e)
{
	json_t *rep = NULL, *ports;

	*e = uk_switch_ask(name, "{\"cmd\":\"ports\"}", -1, &rep, NULL);
	if (*e < 0)
		return NULL;
	ports = json_incref(json_object_get(rep, "ports"));
	json_decref(rep);
	if (json_is_array(ports))
		return ports;
	json_decref(ports);
	*e = -EPROTO;
	return NULL;
}

struct walk {
	char (*name)[NAME_LEN];
	int *from; /* the index it was reached from; -1 for the start */
	int n, cap;
};

static int walk_add(struct walk *w, const char *name, int from)
{
	for (int i = 0; i < w->n; i++)
		if (!strcmp(w->name[i], name))
			return 0;
	if (w->n == w->cap) {
		int cap = w->cap ? 2 * w->cap : 16;
		void *nm = realloc(w->name, (size_t)cap * sizeof(*w->name));

		if (!nm)
			return -ENOMEM;
		w->name = nm;
		nm = realloc(w->from, (size_t)cap * sizeof(*w->from));
		if (!nm)
			return -ENOMEM;
		w->from = nm;
		w->cap = cap;
	}
	snprintf(w->name[w->n], NAME_LEN, "%s", name);
	w->from[w->n++] = from;
	return 0;
}

/* "a - c - b": the way from the start to w->name[i]. */
static void walk_path(const struct walk *w, int i, char *out, size_t len)
{
	int hops[64], n = 0;
	size_t at = 0;

	for (; i >= 0 && n < 64; i = w->from[i])
		hops[n++] = i;
	out[0] = '\0';
	while (n-- > 0 && at < len)
		at += (size_t)snprintf(out + at, len - at, "%s%s", w->name[hops[n]],
				       n ? " - " : "");
}

/* Whether a reaches b over links: 1 (path filled), 0, or a negative errno (path: the name of
 * the switch on the way that did not answer, which may close a loop). */
static int joined(const char *a, const char *b, char *path, size_t len)
{
	struct walk w = {0};
	int r = walk_add(&w, a, -1);

	for (int i = 0; r == 0 && i < w.n; i++) {
		json_t *ports, *p;
		size_t k;

		if (strcmp(w.name[i], b) == 0) {
			walk_path(&w, i, path, len);
			r = 1;
			break;
		}
		ports = uk_switch_ports_of(w.name[i], &r);
		if (!ports && r != -ENOENT) {
			snprintf(path, len, "%s", w.name[i]);
			break;
		}
		r = 0;
		json_array_foreach(ports, k, p)
		{
			const char *peer = link_peer(p);

			if (peer && (r = walk_add(&w, peer, i)) < 0)
				break;
		}
		json_decref(ports);
	}
	free(w.name);
	free(w.from);
	return r;
}

/* The lock that makes a loop check and the link it allows one step. */
static int lock_links(struct uk_err *err)
{
	char root[4096], path[4200];
	int fd, r = uk_runtime_dir("switches", root, sizeof(root), err);

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/.links.lock", root);
	/* read-only: flock asks no more, and a --group member may read it (share.c) */
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return uk_err_sys(err, errno, "%s", path);
	if (flock(fd, LOCK_EX) < 0) {
		r = uk_err_sys(err, errno, "%s: lock", path);
		close(fd);
		return r;
	}
	return fd;
}

int uk_switch_remove_port_of(const char *name, int port, const char *peer, struct uk_err *err)
{
	json_t *req =
		json_pack("{s:s, s:i, s:s}", "cmd", "remove-port", "port", port, "peer", peer);
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	int r = text ? uk_switch_ask(name, text, -1, NULL, err)
		     : uk_err_set(err, ENOMEM, "out of memory");

	json_decref(req);
	free(text);
	return r;
}

/* Whether switch name still has port number port with that peer. */
static bool has_port(const char *name, int port, const char *peer)
{
	int e;
	json_t *ports = uk_switch_ports_of(name, &e), *p;
	bool found = false;
	size_t k;

	json_array_foreach(ports, k, p)
	{
		const char *pp = json_string_value(json_object_get(p, "peer"));

		found |= json_integer_value(json_object_get(p, "port")) == port && pp &&
			 !strcmp(pp, peer);
	}
	json_decref(ports);
	return found;
}

static int check_pair(const char *a, const char *b, struct uk_err *err)
{
	if (uk_switch_name_check(a, err) < 0 || uk_switch_name_check(b, err) < 0)
		return -EINVAL;
	if (!strcmp(a, b))
		return uk_err_set(err, EINVAL, "switch '%s' cannot be linked to itself", a);
	for (int i = 0; i < 2; i++)
		if (!uk_switch_pid(i ? b : a))
			return uk_err_set(err, ENOENT, "switch '%s' is not running", i ? b : a);
	return 0;
}

/* Give fd (closed here) to switch name as its end of the link to other; the port or -errno. */
static int attach_end(const char *name, const char *other, int fd, struct uk_port_conf *c,
		      struct uk_err *err)
{
	int port;

	snprintf(c->peer, sizeof(c->peer), PEER_WORD "%s", other);
	port = uk_switch_attach_fd(name, fd, c, err);
	close(fd);
	return port;
}

int uk_switch_link(const char *a, const char *b, uint16_t vlan, int ports[2], struct uk_err *err)
{
	struct uk_port_conf c = {.kind = UK_PORT_LINK, .vlan = vlan ? vlan : 1, .trunk = !vlan};
	char path[512];
	int sv[2], r = check_pair(a, b, err), lock;

	if (r < 0)
		return r;
	if (vlan > UK_VLAN_MAX)
		return uk_err_set(err, EINVAL, "vlan %u is outside 1..4094", vlan);
	lock = lock_links(err);
	if (lock < 0)
		return lock;
	r = joined(a, b, path, sizeof(path));
	if (r != 0) {
		close(lock);
		return r < 0 ? uk_err_set(err, -r,
					  "switch '%s' does not answer: cannot tell whether a link "
					  "would make a loop",
					  path)
			     : uk_err_set(err, ELOOP,
					  "switches '%s' and '%s' are joined already (%s): another "
					  "link would make a loop",
					  a, b, path);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		close(lock);
		return uk_err_sys(err, errno, "socketpair");
	}
	ports[0] = attach_end(a, b, sv[0], &c, err);
	if (ports[0] >= 0) {
		ports[1] = attach_end(b, a, sv[1], &c, err);
		if (ports[1] < 0) { /* undo a's end; err keeps b's refusal */
			snprintf(c.peer, sizeof(c.peer), PEER_WORD "%s", b);
			uk_switch_remove_port_of(a, ports[0], c.peer, NULL);
		}
	} else {
		close(sv[1]);
	}
	close(lock);
	return ports[0] < 0 ? ports[0] : ports[1] < 0 ? ports[1] : 0;
}

/* Remove from switch name its link ports to other; their count, or a negative errno. */
static int unlink_side(const char *name, const char *other, struct uk_err *err)
{
	int e;
	json_t *ports = uk_switch_ports_of(name, &e), *p;
	char peer[NAME_LEN + sizeof(PEER_WORD)];
	size_t k;
	int n = 0;

	snprintf(peer, sizeof(peer), PEER_WORD "%s", other);
	json_array_foreach(ports, k, p)
	{
		const char *to = link_peer(p);
		int port = (int)json_integer_value(json_object_get(p, "port")), r;

		if (!to || strcmp(to, other))
			continue;
		r = uk_switch_remove_port_of(name, port, peer, err);
		/* refused because it went meanwhile (the other end's EOF) is as good */
		if (r < 0 && has_port(name, port, peer)) {
			json_decref(ports);
			return r;
		}
		n++;
	}
	json_decref(ports);
	return n;
}

int uk_switch_unlink(const char *a, const char *b, struct uk_err *err)
{
	int r = check_pair(a, b, err), na, nb;

	if (r < 0)
		return r;
	na = unlink_side(a, b, err);
	if (na < 0)
		return na;
	nb = unlink_side(b, a, err);
	if (nb < 0)
		return nb;
	if (na + nb == 0)
		return uk_err_set(err, ENOENT, "switches '%s' and '%s' are not linked", a, b);
	return 0;
}
