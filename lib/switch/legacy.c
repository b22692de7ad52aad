// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The legacy daemon protocol (the kernel's `eth0=daemon` transport and uml_switch), a module
 * of the switch daemon. Facts: shared/spec/uml-interfaces.md 4.2 and 5.4.
 *
 * A SOCK_STREAM control socket at a path takes one request per connection; the guest names
 * its data address (a SOCK_DGRAM socket, abstract, bound with the full 110-byte length) and
 * we reply with ours (110 bytes). Frames then flow as datagrams between the guest's data
 * socket and ours. The control connection stays open for the guest's life: EOF, or any byte,
 * ends the port.
 *
 * Each v1 and v3 guest gets a data socket of its own, connected to the guest's: its port is
 * polled and paced alone, and the guest's frames to it do not count against the 10
 * datagrams (net.unix.max_dgram_qlen) that an AF_UNIX socket queues from senders it is not
 * connected to, a limit that one socket shared by every guest (as the old switch has) puts
 * on all of them together. A v0 guest gets no reply, so it sends to our shared data socket,
 * where the engine finds each sender's port by its address; so does a guest whose address
 * cannot be connected to (nothing bound there yet).
 *
 * Requests (host-endian, as the old switch read them on amd64):
 *   v3: u32 magic 0xFEEDFACE, u32 version 3, u32 type 0 (REQ_NEW_CONTROL),
 *       sockaddr_un (u16 family, 108 bytes path) at 12, 2 bytes padding: 124 bytes
 *   v1: u32 magic, u32 type 0, u8 mac[6] at 8, sockaddr_un at 14: 124 bytes (128 with the
 *       union's padding); the reply is the same as for v3
 *   v0: u32 type 0, 4 bytes padding, mac[6] at 8, sockaddr_un at 14; no reply
 *   v2 and versions above 3 are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "swd.h"
#include "swparse.h"

#define REQ_MAGIC	0xFEEDFACEu
#define REQ_NEW_CONTROL 0
#define REQ_MIN		124 /* sizeof(struct request_v3) */
#define REQ_MAX		128 /* the amd64 v0/v1 structs (their union is 8-byte aligned) */
#define ADDR_LEN	110 /* sizeof(struct sockaddr_un): family + 108 bytes */
#define PATH_LEN	108
#define MAX_PENDING	32 /* connections that have not sent their request yet */

struct guest {
	int fd;	  /* the control connection */
	int port; /* the engine's port, -1 once someone else removed it */
	uint8_t addr[ADDR_LEN];
	unsigned addrlen;
};

struct legacy {
	struct uk_swd *d;
	char path[PATH_LEN];
	struct stat made; /* the control socket we bound (removed at the end only if ours) */
	int listen_fd, data_fd;
	uint8_t data_addr[ADDR_LEN]; /* our reply: family + abstract name */
	int pending[MAX_PENDING];
	int npending;
	struct guest guests[UK_SW_MAX_PORTS];
	int nguests;
	uint32_t nsockets; /* data sockets of our own made so far, for their names */
	uint64_t bad_requests, accepted;
	const char *last_bad; /* why the last bad request was refused (a static string) */
};

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t get_u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The request in buf (one read of the control stream). Returns 0, or -EINVAL with why set. */
int uk_swd_legacy_parse(const uint8_t *buf, size_t len, struct legacy_req *r, const char **why)
{
	const uint8_t *sa;
	uint32_t w;
	size_t plen;

	memset(r, 0, sizeof(*r));
	if (len < REQ_MIN) {
		*why = "short request";
		return -EINVAL;
	}
	if (len > REQ_MAX) {
		*why = "request too long";
		return -EINVAL;
	}
	if (get_u32(buf) == REQ_MAGIC) {
		w = get_u32(buf + 4);
		if (w == 2) {
			*why = "version 2 is not supported";
			return -EINVAL;
		}
		if (w > 3) {
			*why = "unknown version";
			return -EINVAL;
		}
		/* v1 has the type where v2 and v3 have the version (what the old switch did) */
		r->version = w == 3 ? 3 : 1;
		if (w == 3 && get_u32(buf + 8) != REQ_NEW_CONTROL) {
			*why = "request type is not REQ_NEW_CONTROL";
			return -EINVAL;
		}
		if (w == 1) {
			*why = "request type is not REQ_NEW_CONTROL";
			return -EINVAL;
		}
	} else if (get_u32(buf) == REQ_NEW_CONTROL) {
		r->version = 0;
	} else {
		*why = "bad magic";
		return -EINVAL;
	}
	sa = r->version == 3 ? buf + 12 : buf + 14;
	if (r->version != 3)
		memcpy(r->mac, buf + 8, 6);
	if (get_u16(sa) != AF_UNIX) {
		*why = "address family is not AF_UNIX";
		return -EINVAL;
	}
	memcpy(r->addr, sa, ADDR_LEN);
	if (sa[2] == 0) {
		r->addrlen = ADDR_LEN; /* abstract: the kernel binds with the full length */
	} else {
		/* a path name: the length the kernel reports for the sender */
		plen = strnlen((const char *)sa + 2, PATH_LEN);
		r->addrlen = (unsigned)UK_MIN(2 + plen + 1, (size_t)ADDR_LEN);
	}
	return 0;
}

/* ---- connections ---- */
static void on_conn(struct uk_swd *d, int fd, void *ctx);

static void drop_pending(struct legacy *l, int i)
{
	uk_swd_unwatch(l->d, l->pending[i]);
	close(l->pending[i]);
	l->pending[i] = l->pending[--l->npending];
}

static void drop_guest(struct legacy *l, int i)
{
	struct guest *g = &l->guests[i];
	struct uk_port_conf c;

	/* the port may have been removed by a control request meanwhile */
	if (g->port >= 0 && uk_switch_port_info(uk_swd_switch(l->d), g->port, &c, NULL) == 0 &&
	    c.kind == UK_PORT_DAEMON)
		uk_swd_remove_port(l->d, g->port);
	uk_swd_unwatch(l->d, g->fd);
	close(g->fd);
	*g = l->guests[--l->nguests];
}

static void on_listen(struct uk_swd *d, int fd, void *ctx)
{
	struct legacy *l = ctx;
	int s = uk_swd_accept(d, fd);

	if (s < 0)
		return;
	if (l->npending == MAX_PENDING)
		drop_pending(l, 0); /* a connection that has said nothing yet makes room */
	if (uk_swd_watch(d, s, on_conn, l) < 0) {
		uk_swd_refuse(d, s);
		return;
	}
	l->pending[l->npending++] = s;
}

static void peer_text(int fd, const struct legacy_req *r, char *out, size_t len)
{
	struct ucred cr = {0};
	socklen_t cl = sizeof(cr);
	int n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0)
		cr.pid = 0;
	n = snprintf(out, len, "daemon v%u pid %d", r->version, (int)cr.pid);
	if (r->version != 3 && n > 0 && (size_t)n < len) {
		char mac[18];

		uk_mac_format(r->mac, mac);
		snprintf(out + n, len - (size_t)n, " mac %s", mac);
	}
}

static int bind_abstract(int fd, char tag, uint32_t salt, uint8_t out[ADDR_LEN]);

/* A data socket of the guest's own, connected to its address (pin >= 0: to the socket file
 * held open by pin, whatever its path names by now); our address into reply. -1 when the
 * guest's address cannot be connected to. */
static int own_socket(struct legacy *l, const struct legacy_req *r, int pin,
		      uint8_t reply[ADDR_LEN])
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un pinned = {.sun_family = AF_UNIX};
	const void *to = r->addr;
	socklen_t tolen = r->addrlen;
	uint8_t mine[ADDR_LEN];

	if (fd < 0)
		return -1;
	if (pin >= 0) {
		snprintf(pinned.sun_path, sizeof(pinned.sun_path), "/proc/self/fd/%d", pin);
		to = &pinned;
		tolen = sizeof(pinned);
	}
	if (bind_abstract(fd, 'g', l->nsockets++, mine) < 0 ||
	    connect(fd, (const struct sockaddr *)to, tolen) < 0) {
		close(fd);
		return -1;
	}
	memcpy(reply, mine, ADDR_LEN);
	return fd;
}

/* Whether a request's data address is one of the switch's own data sockets (abstract
 * {0, 0 or 'g', pad, our pid, ...}): frames sent there would come back to the switch. */
static bool our_address(const struct legacy_req *r)
{
	const uint8_t *name = r->addr + 2;

	return name[0] == 0 && (name[1] == 0 || name[1] == 'g') &&
	       get_u32(name + 4) == (uint32_t)getpid();
}

/* Whether the requester on fd may have frames sent to the request's data address. An
 * abstract name anyone may send to; a socket file only its owner (or the switch's own user,
 * or root) may name: the switch must not write for a group member to sockets it could not
 * write to itself. For another user's file, *pin is the file held open (O_PATH) once
 * checked: the guest's socket is connected through it, so that a file swapped after the
 * check is not the one written to. */
static bool may_name(int fd, const struct legacy_req *r, int *pin)
{
	struct ucred cr = {0};
	socklen_t cl = sizeof(cr);
	char path[PATH_LEN];
	struct stat st;

	*pin = -1;
	if (r->addr[2] == 0)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0)
		return false;
	if (cr.uid == 0 || cr.uid == geteuid())
		return true;
	memcpy(path, r->addr + 2, PATH_LEN - 1);
	path[PATH_LEN - 1] = '\0';
	*pin = open(path, O_PATH | O_CLOEXEC);
	if (*pin >= 0 && fstat(*pin, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == cr.uid)
		return true;
	if (*pin >= 0)
		close(*pin);
	*pin = -1;
	return false;
}

/* Whether a request that may name its address can have a port: 0, or why not. Another
 * user's socket file (pin >= 0) is written to only through a socket of the guest's own,
 * connected to the file checked: the shared socket would name the path at every frame, and
 * v0 gets none. */
static int check_room(const struct legacy *l, const struct legacy_req *r, int pin)
{
	for (int i = 0; i < l->nguests; i++)
		if (l->guests[i].addrlen == r->addrlen &&
		    !memcmp(l->guests[i].addr, r->addr, r->addrlen))
			return -EADDRINUSE; /* another connection named that address already */
	if (l->nguests == (int)UK_ARRAY_SIZE(l->guests))
		return -ENOSPC;
	return pin >= 0 && r->version == 0 ? -EPERM : 0;
}

/* A good request: a port for the guest, and our address in reply (not for v0). */
static int admit(struct legacy *l, int fd, const struct legacy_req *r)
{
	struct uk_port_conf c = {.kind = UK_PORT_DAEMON};
	uint8_t reply[ADDR_LEN];
	struct guest *g;
	int port, own = -1, pin, e;

	if (our_address(r))
		return -ELOOP;
	if (!may_name(fd, r, &pin))
		return -EACCES;
	e = check_room(l, r, pin);
	memcpy(reply, l->data_addr, ADDR_LEN);
	if (e == 0 && r->version != 0)
		own = own_socket(l, r, pin, reply);
	if (pin >= 0) {
		close(pin);
		if (e == 0 && own < 0)
			e = -ENOTCONN; /* no falling back to the shared socket for it */
	}
	if (e < 0)
		return e;
	peer_text(fd, r, c.peer, sizeof(c.peer));
	if (own >= 0)
		port = uk_swd_add_socket_port(l->d, own, &c, NULL);
	else
		port = uk_switch_add_socket_port(uk_swd_switch(l->d), l->data_fd, &c, r->addr,
						 r->addrlen, NULL);
	if (port < 0)
		return port;
	/* an id the engine gives again was removed behind our back */
	for (int i = 0; i < l->nguests; i++)
		if (l->guests[i].port == port)
			l->guests[i].port = -1;
	if (r->version != 0 && send(fd, reply, ADDR_LEN, MSG_NOSIGNAL | MSG_DONTWAIT) != ADDR_LEN) {
		uk_swd_remove_port(l->d, port);
		return -EIO;
	}
	g = &l->guests[l->nguests++];
	g->fd = fd;
	g->port = port;
	memcpy(g->addr, r->addr, ADDR_LEN);
	g->addrlen = r->addrlen;
	l->accepted++;
	return 0;
}

static void on_request(struct legacy *l, int i)
{
	uint8_t buf[512];
	struct legacy_req r;
	const char *why;
	int fd = l->pending[i];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* the connection leaves the pending list whatever comes next */
	l->pending[i] = l->pending[--l->npending];
	if (n == 0 || n < 0) {
		/* closed before asking (a probe for a live server does this): not an error */
		uk_swd_unwatch(l->d, fd);
		close(fd);
		return;
	}
	if (uk_swd_legacy_parse(buf, (size_t)n, &r, &why) == 0) {
		int e = admit(l, fd, &r);

		if (e == 0)
			return;
		if (e == -EADDRINUSE)
			why = "the address is another guest's";
		else if (e == -ENOSPC)
			why = "the switch is full";
		else if (e == -ELOOP)
			why = "the address is the switch's own";
		else if (e == -EACCES)
			why = "the data socket is not the requester's";
		else if (e == -EPERM)
			why = "a v0 request from another user names a socket file";
		else if (e == -ENOTCONN)
			why = "the requester's data socket file takes no connection";
		else if (e == -EIO)
			why = "the reply could not be sent";
		else
			why = "the switch could not add the port";
	}
	l->bad_requests++;
	l->last_bad = why;
	uk_swd_unwatch(l->d, fd);
	close(fd);
}

static void on_conn(struct uk_swd *d, int fd, void *ctx)
{
	struct legacy *l = ctx;
	char c;
	ssize_t n;

	(void)d;
	for (int i = 0; i < l->npending; i++)
		if (l->pending[i] == fd) {
			on_request(l, i);
			return;
		}
	for (int i = 0; i < l->nguests; i++) {
		if (l->guests[i].fd != fd)
			continue;
		n = recv(fd, &c, 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* the guest never sends more: the old switch's "Bad request" */
		if (n > 0) {
			l->bad_requests++;
			l->last_bad = "a byte after the request";
		}
		drop_guest(l, i);
		return;
	}
}

static void on_data(struct uk_swd *d, int fd, void *ctx)
{
	(void)ctx;
	uk_switch_daemon_readable(uk_swd_switch(d), fd);
}

/* ---- sockets ---- */
/* Bind fd to an abstract address {0, tag, pad, pid, salt} and zeros, with all 110 bytes
 * (as the guests bind theirs); the address into out. 0, or -errno. */
static int bind_abstract(int fd, char tag, uint32_t salt, uint8_t out[ADDR_LEN])
{
	struct sockaddr_un a;

	for (uint32_t tries = 0;; tries++) {
		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		a.sun_path[1] = tag;
		uk_put_le32((uint8_t *)a.sun_path + 4, (uint32_t)getpid());
		uk_put_le32((uint8_t *)a.sun_path + 8, salt + tries);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		if (errno != EADDRINUSE || tries == 16)
			return -errno;
	}
	memcpy(out, &a, ADDR_LEN);
	return 0;
}

/* Our shared data socket (v0 guests, and guests we cannot connect to). */
static int bind_data(struct legacy *l, struct uk_err *err)
{
	struct timeval tv;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int buf = 1 << 20, r;

	if (fd < 0)
		return uk_err_sys(err, errno, "socket");
	/* more room for bursts (capped by the host's limits) */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	gettimeofday(&tv, NULL);
	r = bind_abstract(fd, 0, (uint32_t)tv.tv_usec, l->data_addr);
	if (r < 0) {
		close(fd);
		return uk_err_sys(err, -r, "legacy data socket: bind");
	}
	return fd;
}

/* ---- the module ---- */
static void legacy_stop(struct uk_swd *d, void *ctx)
{
	struct legacy *l = ctx;

	(void)d;
	/* the fds are watched: the daemon closes them. Remove the socket if it is still ours. */
	uk_swd_unlink_ours(l->path, &l->made);
	free(l);
}

static int legacy_command(struct uk_swd *d, void *ctx, const char *cmd, json_t *req, json_t *reply)
{
	struct legacy *l = ctx;
	json_t *ports;

	(void)d;
	(void)req;
	if (strcmp(cmd, "legacy"))
		return -ENOENT;
	ports = json_array();
	for (int i = 0; i < l->nguests; i++)
		if (l->guests[i].port >= 0)
			json_array_append_new(ports, json_integer(l->guests[i].port));
	json_object_set_new(reply, "control", json_string(l->path));
	json_object_set_new(reply, "guests", json_integer(l->nguests));
	json_object_set_new(reply, "ports", ports);
	json_object_set_new(reply, "accepted", json_integer((json_int_t)l->accepted));
	json_object_set_new(reply, "bad_requests", json_integer((json_int_t)l->bad_requests));
	json_object_set_new(reply, "stray_frames",
			    json_integer((json_int_t)uk_switch_stray_frames(uk_swd_switch(d))));
	json_object_set_new(reply, "last_bad_request", json_string(l->last_bad ? l->last_bad : ""));
	return 0;
}

int uk_swd_legacy_start(struct uk_swd *d, const char *ctl_path, struct uk_err *err)
{
	struct uk_swd_module m = {.stop = legacy_stop, .command = legacy_command, .port = -1};
	struct legacy *l;
	int r;

	if (!ctl_path[0])
		return uk_err_set(err, EINVAL, "legacy: no control socket path");
	if (strlen(ctl_path) >= PATH_LEN)
		return uk_err_set(err, ENAMETOOLONG, "%s: socket path too long (max %d)", ctl_path,
				  PATH_LEN - 1);
	l = calloc(1, sizeof(*l));
	if (!l)
		return uk_err_set(err, ENOMEM, "out of memory");
	l->d = d;
	memcpy(l->path, ctl_path, strlen(ctl_path) + 1);
	l->data_fd = bind_data(l, err);
	if (l->data_fd < 0) {
		r = l->data_fd;
		free(l);
		return r;
	}
	l->listen_fd =
		uk_swd_listen_path(l->path, SOCK_STREAM, uk_swd_opts(d)->group >= 0 ? 0660 : 0600,
				   uk_swd_opts(d)->group, "The control socket", &l->made, err);
	if (l->listen_fd < 0) {
		r = l->listen_fd;
		close(l->data_fd);
		free(l);
		return r;
	}
	m.ctx = l;
	if (uk_swd_watch(d, l->data_fd, on_data, l) < 0 ||
	    uk_swd_watch(d, l->listen_fd, on_listen, l) < 0 || uk_swd_add_module(d, &m) < 0) {
		uk_swd_unwatch(d, l->data_fd);
		uk_swd_unwatch(d, l->listen_fd);
		close(l->data_fd);
		close(l->listen_fd);
		unlink(l->path);
		free(l);
		return uk_err_set(err, ENOSPC, "legacy: the daemon has no room for the module");
	}
	return 0;
}
