// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The switch daemon: one process, one event loop. It owns the engine, the control socket
 * (SEQPACKET, JSON requests, fds passed with SCM_RIGHTS), the bess listening socket, a tap
 * uplink, and the modules (legacy daemon protocol, NAT) that plug into the loop.
 *
 * Every watched fd (ports, sockets, the signalfd and timerfd) is in one epoll set, so that a
 * round costs the same with 128 ports as with 2; a module's fds for one round (the NAT's
 * libslirp asks for poll(2) sets) are polled together with the epoll fd.
 *
 * Under load the loop pauses after a round (uk_switch_pause). During a pause it waits on a
 * second epoll set that holds every watched fd except the paced ones, the inputs that bring
 * the load (uk_switch_quiet, decided at the end of each window from the frames each input
 * brought, and from those of its port's frames that went to the ports that bring the load:
 * the engine counts them, told which those are after each window), together with the fds of
 * the quiet modules. An input is a watched fd or a module (the NAT). A frame from a quiet
 * input (a ping beside a transfer, a DNS answer from the NAT) is forwarded as soon as it
 * comes; the paced inputs wait for the end of the pause.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "swd.h"

#define MAX_CLIENTS 64 /* control connections at once; a new one closes the oldest */
/* every port's fd, a legacy guest's control connection beside its port, the control
 * clients, the legacy module's pending connections (32), the daemon's own fds */
#define MAX_WATCHES (2 * UK_SW_MAX_PORTS + MAX_CLIENTS + 32 + 16)
#define MAX_MODULES 4
#define MAX_INPUTS  (MAX_WATCHES + MAX_MODULES)
#define MOD_SLOT    1 /* pfd[0] is the epoll fd; the modules' fds follow */
#define MAX_EVENTS  64
#define CTL_MSG_MAX 65536

/* An input of the pacing: a watched fd, or a module with hooks. */
struct input {
	uint64_t frames; /* frames it fed to the engine, in all */
	uint64_t mark;	 /* frames at the start of this window */
	uint64_t amark;	 /* its port's uk_switch_port_to_loaded at the start of this window */
	bool paced;	 /* left out of the pauses (uk_switch_quiet) */
};

/* What a watched fd is: what its readiness means (run_watch) and whose frames it brings
 * (watch_port). */
enum watch_kind {
	WATCH_PORT,    /* a port's own socket (uk_swd_add_socket_port) */
	WATCH_TAP,     /* the tap uplink */
	WATCH_BESS,    /* the bess listening socket */
	WATCH_CONTROL, /* the control listening socket */
	WATCH_CLIENT,  /* a control connection */
	WATCH_SIGNAL,  /* the signalfd: SIGTERM, SIGINT, SIGHUP */
	WATCH_TIMER,   /* the timerfd that ages the learning table */
	WATCH_MODULE,  /* a module's fd, with the module's handler (uk_swd_watch) */
};

struct watch {
	int fd;
	enum watch_kind kind;
	int port; /* WATCH_PORT: the port's id */
	/* WATCH_MODULE: the handler and its context */
	void (*fn)(struct uk_swd *d, int fd, void *ctx);
	void *ctx;
	struct input in;
	bool want_out; /* a port that holds frames back: wait for room too (on_port_blocked) */
};

struct module {
	struct uk_swd_module m;
	struct input in; /* its hooks' frames */
};

struct uk_swd {
	struct uk_switch_daemon_opts o;
	struct uk_switch *sw;
	char dir[4096];
	char ctl_path[4200];
	struct stat ctl_made, bess_made; /* the sockets we made (st_ino 0: none) */
	struct watch w[MAX_WATCHES];
	int nw;
	int *widx; /* by fd: its watch's index in w, plus 1 (0: not watched) */
	int nwidx; /* widx's length */
	struct module mods[MAX_MODULES];
	int nmods;
	int epfd;
	int qfd;	   /* the epoll set of a pause: every watch but the paced ones */
	uint32_t pause_us; /* the pause before the next round; 0: none */
	/* uk_switch_quiet's arrays: the watches, then the modules */
	uint64_t count[MAX_INPUTS], answers[MAX_INPUTS];
	int order[MAX_INPUTS];
	bool quiet[MAX_INPUTS], brings[MAX_INPUTS];
	struct pollfd *pfd; /* [0]: epfd; then the modules' fds of this round */
	int npfd, npfd_max; /* in use; allocated (it grows with the modules' wishes) */
	int dead[UK_SW_MAX_PORTS];
	int ndead;
	int tap_port, tap_fd;
	char tap_error[160]; /* why the tap uplink went away, when it did */
	uint64_t bad_control;
	uint64_t conn_refused;	  /* connections closed at once: out of fds or of watches */
	int spare_fd;		  /* given up to take (and close) a connection when out of fds */
	int clients[MAX_CLIENTS]; /* the control connections, oldest first */
	int nclients;
	struct uk_switch_load load; /* interrupt moderation */
	bool stop;
	bool locked; /* we hold the lock: the sockets are ours to remove */
	int lock_fd; /* held for the daemon's life; valid when locked */
};

/* ---- the loop's plumbing ---- */
void *uk_swd_grow_by_fd(void *arr, int *len, int fd, size_t size)
{
	int n = *len > 0 ? *len : 64;
	char *p;

	while (n <= fd && n < INT_MAX)
		n = n > INT_MAX / 2 ? INT_MAX : n * 2;
	if (n <= fd)
		return NULL;
	p = realloc(arr, (size_t)n * size);
	if (!p)
		return NULL;
	memset(p + (size_t)*len * size, 0, (size_t)(n - *len) * size);
	*len = n;
	return p;
}

/* Watch nw->fd as nw says (its kind, and its port or handler); see uk_swd_watch. */
static int add_watch(struct uk_swd *d, const struct watch *nw)
{
	int fd = nw->fd;
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	if (d->nw == MAX_WATCHES)
		return -ENOSPC;
	if (fd < 0)
		return -EBADF;
	if (fd >= d->nwidx) {
		int *p = uk_swd_grow_by_fd(d->widx, &d->nwidx, fd, sizeof(*p));

		if (!p)
			return -ENOMEM;
		d->widx = p;
	}
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	if (epoll_ctl(d->qfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;

		epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
		return -e;
	}
	d->w[d->nw++] = *nw;
	d->widx[fd] = d->nw;
	return 0;
}

int uk_swd_watch(struct uk_swd *d, int fd, void (*fn)(struct uk_swd *d, int fd, void *ctx),
		 void *ctx)
{
	return add_watch(d, &(struct watch){.fd = fd, .kind = WATCH_MODULE, .fn = fn, .ctx = ctx});
}

/* The watch of fd now (handlers add and remove watches), or NULL. */
static struct watch *watch_of(struct uk_swd *d, int fd)
{
	if (fd < 0 || fd >= d->nwidx || d->widx[fd] == 0)
		return NULL;
	return &d->w[d->widx[fd] - 1];
}

void uk_swd_unwatch(struct uk_swd *d, int fd)
{
	struct watch *w = watch_of(d, fd);

	if (!w)
		return;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (!w->in.paced)
		epoll_ctl(d->qfd, EPOLL_CTL_DEL, fd, NULL);
	d->widx[fd] = 0;
	*w = d->w[--d->nw]; /* the last one takes its place */
	if (w != &d->w[d->nw])
		d->widx[w->fd] = (int)(w - d->w) + 1;
}

/* The events a watch waits for. */
static struct epoll_event watch_event(const struct watch *w)
{
	return (struct epoll_event){.events = EPOLLIN | (w->want_out ? EPOLLOUT : 0),
				    .data.fd = w->fd};
}

int uk_swd_add_module(struct uk_swd *d, const struct uk_swd_module *m)
{
	if (d->nmods == MAX_MODULES)
		return -ENOSPC;
	d->mods[d->nmods++] = (struct module){.m = *m};
	return 0;
}

/* Room in pfd for one more: false when out of memory. */
static bool pfd_room(struct uk_swd *d)
{
	struct pollfd *p;
	int n;

	if (d->npfd < d->npfd_max)
		return true;
	if (d->npfd_max > INT_MAX / 2)
		return false;
	n = d->npfd_max ? d->npfd_max * 2 : 64;
	p = realloc(d->pfd, (size_t)n * sizeof(*p));
	if (!p)
		return false;
	d->pfd = p;
	d->npfd_max = n;
	return true;
}

int uk_swd_poll_add(struct uk_swd *d, int fd, short events)
{
	if (!pfd_room(d))
		return -1;
	d->pfd[d->npfd] = (struct pollfd){.fd = fd, .events = events};
	return d->npfd++;
}

short uk_swd_poll_revents(struct uk_swd *d, int slot)
{
	return slot >= MOD_SLOT && slot < d->npfd ? d->pfd[slot].revents : 0;
}

struct uk_switch *uk_swd_switch(struct uk_swd *d)
{
	return d->sw;
}

const struct uk_switch_daemon_opts *uk_swd_opts(struct uk_swd *d)
{
	return &d->o;
}

void uk_swd_remove_port(struct uk_swd *d, int port)
{
	int fd = uk_switch_port_fd(d->sw, port);

	if (fd >= 0)
		uk_swd_unwatch(d, fd);
	if (port == d->tap_port && d->tap_fd >= 0) { /* the tap's fd is the daemon's */
		uk_swd_unwatch(d, d->tap_fd);
		close(d->tap_fd);
		d->tap_fd = -1;
		d->tap_port = -1;
	}
	uk_switch_remove_port(d->sw, port);
}

/* The engine says a peer is gone: remove it after the engine call returns. */
static void on_port_dead(void *ctx, int port)
{
	struct uk_swd *d = ctx;

	if (d->ndead < UK_SW_MAX_PORTS)
		d->dead[d->ndead++] = port;
}

static void reap_dead(struct uk_swd *d)
{
	for (int i = 0; i < d->ndead; i++)
		uk_swd_remove_port(d, d->dead[i]);
	d->ndead = 0;
}

/* The engine holds frames back for a port whose socket is full (or has sent them all):
 * wait for the socket's room too (or no longer), in both epoll sets it is in. */
static void on_port_blocked(void *ctx, int port, bool blocked)
{
	struct uk_swd *d = ctx;
	int fd = uk_switch_port_fd(d->sw, port);
	struct watch *w = fd >= 0 ? watch_of(d, fd) : NULL;
	struct epoll_event ev;

	if (!w || w->want_out == blocked)
		return;
	w->want_out = blocked;
	ev = watch_event(w);
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, fd, &ev);
	if (!w->in.paced)
		epoll_ctl(d->qfd, EPOLL_CTL_MOD, fd, &ev);
}

static void on_port(struct uk_swd *d, int port)
{
	uk_switch_port_writable(d->sw, port);
	uk_switch_port_readable(d->sw, port);
}

int uk_swd_add_socket_port(struct uk_swd *d, int fd, const struct uk_port_conf *c,
			   struct uk_err *err)
{
	int id = uk_switch_add_socket_port(d->sw, fd, c, NULL, 0, err);

	if (id < 0) {
		close(fd);
		return id;
	}
	if (add_watch(d, &(struct watch){.fd = fd, .kind = WATCH_PORT, .port = id}) < 0) {
		uk_switch_remove_port(d->sw, id);
		return uk_err_set(err, ENOSPC, "too many sockets");
	}
	return id;
}

/* ---- sockets ---- */
int uk_swd_accept(struct uk_swd *d, int lfd)
{
	int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (s >= 0 || (errno != EMFILE && errno != ENFILE))
		return s;
	/* out of fds: left in the backlog, the connection would keep the socket readable and
	 * the loop busy; take it with the spare fd's place and close it */
	d->conn_refused++;
	if (d->spare_fd >= 0)
		close(d->spare_fd);
	s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (s >= 0)
		close(s);
	d->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return -1;
}

void uk_swd_refuse(struct uk_swd *d, int s)
{
	d->conn_refused++;
	close(s);
}

static void on_bess_listen(struct uk_swd *d, int fd)
{
	struct uk_port_conf c = {.kind = UK_PORT_BESS, .peer = "bess"};
	int s = uk_swd_accept(d, fd);

	if (s >= 0 && uk_swd_add_socket_port(d, s, &c, NULL) < 0)
		d->conn_refused++; /* the fd is closed */
}

/* ---- the tap uplink ---- */
static int tap_send(void *priv, const void *frame, size_t len)
{
	struct uk_swd *d = priv;

	return write(d->tap_fd, frame, len) == (ssize_t)len ? 0 : -EAGAIN;
}

static void on_tap(struct uk_swd *d, int fd)
{
	static uint8_t buf[UK_SW_MTU_MAX + 64];

	for (int i = 0; i < UK_SW_BATCH; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			uk_switch_input(d->sw, d->tap_port, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* the tap was deleted (EBADFD) or broke: it would be readable forever */
		snprintf(d->tap_error, sizeof(d->tap_error), "tap %s: %s; the uplink is removed",
			 d->o.tap, n < 0 ? strerror(errno) : "end of file");
		uk_swd_remove_port(d, d->tap_port);
		return;
	}
}

static int open_tap(struct uk_swd *d, struct uk_err *err)
{
	struct uk_port_conf c = {.kind = UK_PORT_TAP};
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	/* an uplink to a tap that exists: TUNSETIFF would make a new one */
	if (!if_nametoindex(d->o.tap)) {
		if (fd >= 0)
			close(fd);
		return uk_err_set(err, ENODEV,
				  "tap %s: no such interface (make it first, e.g. "
				  "umlkit net tap add %s)",
				  d->o.tap, d->o.tap);
	}
	if (fd < 0)
		return uk_err_sys(err, errno, "tap %s: /dev/net/tun", d->o.tap);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, d->o.tap, strnlen(d->o.tap, IFNAMSIZ - 1));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		return uk_err_sys(err, e,
				  "tap %s: cannot attach (does it exist, and may you open "
				  "it?)",
				  d->o.tap);
	}
	d->tap_fd = fd;
	snprintf(c.peer, sizeof(c.peer), "tap %s", d->o.tap);
	d->tap_port = uk_switch_add_callback_port(d->sw, &c, tap_send, d, err);
	if (d->tap_port < 0)
		return d->tap_port;
	return add_watch(d, &(struct watch){.fd = fd, .kind = WATCH_TAP});
}

/* ---- control ---- */
/* Whether a port's frames wait for the pauses now: the switch is loaded and the port's input
 * (its fd's watch, or the module whose port it is) is paced. */
static bool port_paced(struct uk_swd *d, int id)
{
	struct watch *w;
	int fd = id == d->tap_port ? d->tap_fd : uk_switch_port_socket(d->sw, id);

	if (d->load.pause_us == 0)
		return false;
	for (int m = 0; m < d->nmods; m++)
		if (d->mods[m].m.pre_poll && d->mods[m].m.port == id)
			return d->mods[m].in.paced;
	w = fd >= 0 ? watch_of(d, fd) : NULL;
	return w && w->in.paced;
}

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
	json_object_set_new(j, "paced", json_boolean(port_paced(d, id)));
	return j;
}

struct fdb_walk {
	json_t *arr;   /* fdb: every entry */
	json_t *ports; /* ports: add each MAC to its port's "macs" */
	uint64_t now;
};

static int fdb_entry(void *ctx, const struct uk_fdb_entry *e)
{
	struct fdb_walk *w = ctx;
	char mac[18];

	uk_mac_format(e->mac, mac);
	if (w->arr) {
		json_t *j = json_object();

		json_object_set_new(j, "mac", json_string(mac));
		json_object_set_new(j, "vlan", json_integer(e->vlan));
		json_object_set_new(j, "port", json_integer(e->port));
		json_object_set_new(j, "age_ms", json_integer((json_int_t)(w->now - e->seen_ms)));
		json_array_append_new(w->arr, j);
	}
	if (w->ports) {
		size_t i;
		json_t *p;

		json_array_foreach(w->ports, i, p)
		{
			if (json_integer_value(json_object_get(p, "port")) == e->port)
				json_array_append_new(json_object_get(p, "macs"), json_string(mac));
		}
	}
	return 0;
}

static void cmd_ports(struct uk_swd *d, json_t *reply)
{
	int ids[UK_SW_MAX_PORTS];
	int n = uk_switch_ports(d->sw, ids, UK_SW_MAX_PORTS);
	struct fdb_walk w = {.ports = json_array(), .now = uk_switch_now_ms()};

	for (int i = 0; i < n; i++)
		json_array_append_new(w.ports, port_json(d, ids[i]));
	uk_fdb_foreach(uk_switch_fdb(d->sw), w.now, fdb_entry, &w);
	json_object_set_new(reply, "ports", w.ports);
}

static void cmd_fdb(struct uk_swd *d, json_t *reply)
{
	struct fdb_walk w = {.arr = json_array(), .now = uk_switch_now_ms()};

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
	else
		return uk_err_set(err, EINVAL, "add-port: kind '%.32s' is not fd, link or plug",
				  kind);
	if (vlan < 0 || vlan > UK_VLAN_MAX)
		return uk_err_set(err, EINVAL, "add-port: vlan %lld is outside 1..4094",
				  (long long)vlan);
	c->vlan = (uint16_t)vlan;
	c->trunk = json_is_true(json_object_get(req, "trunk"));
	snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : "fd");
	return 0;
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
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    (type != SOCK_SEQPACKET && type != SOCK_DGRAM)) {
		close(fd);
		return uk_err_set(err, EINVAL, "add-port: the fd is not a packet socket");
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	id = uk_swd_add_socket_port(d, fd, &c, err);
	if (id < 0)
		return id;
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

static void on_client(struct uk_swd *d, int s)
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

static void on_ctl_listen(struct uk_swd *d, int fd)
{
	int s = uk_swd_accept(d, fd);

	if (s < 0)
		return;
	if (d->nclients == MAX_CLIENTS) { /* the oldest has had its time: idle ones block none */
		d->conn_refused++;
		drop_client(d, d->clients[0]);
	}
	if (add_watch(d, &(struct watch){.fd = s, .kind = WATCH_CLIENT}) < 0) {
		uk_swd_refuse(d, s);
		return;
	}
	d->clients[d->nclients++] = s;
}

static void on_signal(struct uk_swd *d, int fd)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		d->stop = true;
}

static void on_timer(struct uk_swd *d, int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		uk_switch_tick(d->sw);
}

/* ---- the loop ---- */
static uint64_t now_us(void)
{
	return uk_monotonic_ns() / 1000;
}

/* The frames an input brought since the last window's end, which starts a new one. */
static uint64_t window_frames(struct input *in)
{
	uint64_t n = in->frames - in->mark;

	in->mark = in->frames;
	return n;
}

/* The port whose frames a watch brings (a guest's socket, the tap), or -1 (a socket of many
 * ports, the control socket) */
static int watch_port(const struct uk_swd *d, const struct watch *w)
{
	if (w->kind == WATCH_PORT)
		return w->port;
	return w->kind == WATCH_TAP ? d->tap_port : -1;
}

/* The frames of an input's port that went to ports that brought the load, in the window that
 * ended. */
static uint64_t window_answers(struct uk_swd *d, struct input *in, int port)
{
	uint64_t now = port >= 0 ? uk_switch_port_to_loaded(d->sw, port) : 0;
	uint64_t n = now >= in->amark ? now - in->amark : 0;

	in->amark = now;
	return n;
}

/* A window ended after window_us with total frames: which inputs are paced in the next
 * (uk_switch_quiet); the pause set follows. */
static void pace(struct uk_swd *d, uint64_t window_us, uint64_t total)
{
	int n = 0;

	for (int i = 0; i < d->nw; i++) {
		d->answers[n] = window_answers(d, &d->w[i].in, watch_port(d, &d->w[i]));
		d->count[n++] = window_frames(&d->w[i].in);
	}
	for (int m = 0; m < d->nmods; m++) {
		d->answers[n] = window_answers(d, &d->mods[m].in, d->mods[m].m.port);
		d->count[n++] = window_frames(&d->mods[m].in);
	}
	uk_switch_quiet(d->count, d->answers, n, total, window_us, d->order, d->quiet, d->brings);
	for (int i = 0; i < d->nw; i++) {
		struct watch *w = &d->w[i];
		struct epoll_event ev = watch_event(w);

		if (w->in.paced != !d->quiet[i] &&
		    epoll_ctl(d->qfd, w->in.paced ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, w->fd, &ev) == 0)
			w->in.paced = !w->in.paced;
		uk_switch_port_set_loads(d->sw, watch_port(d, w), d->brings[i]);
	}
	for (int m = 0; m < d->nmods; m++) {
		d->mods[m].in.paced = !d->quiet[d->nw + m];
		uk_switch_port_set_loads(d->sw, d->mods[m].m.port, d->brings[d->nw + m]);
	}
}

/* Interrupt moderation (see uk_switch_pause): the pause after this round while loaded, and
 * at the end of each window, which inputs it leaves waiting. */
static void moderate(struct uk_swd *d)
{
	uint64_t start = d->load.window_start, frames = d->load.window_frames;

	if (d->o.coalesce_us <= 0)
		return;
	d->load.pause_frames = uk_switch_pause_frames(d->sw);
	d->pause_us = uk_switch_pause(&d->load, now_us(), uk_switch_frames_in(d->sw),
				      (uint32_t)d->o.coalesce_us);
	if (d->load.window_start != start)
		pace(d, d->load.window_start - start, d->load.window_frames - frames);
}

/* The modules' hooks around a wait: pre_poll when timeout is given (it may shorten it), else
 * post_poll. In a pause only the quiet modules' run. The frames they feed count as theirs. */
static void run_modules(struct uk_swd *d, bool pause, int *timeout)
{
	for (int i = 0; i < d->nmods; i++) {
		struct module *mod = &d->mods[i];
		uint64_t before = uk_switch_frames_in(d->sw);

		if (pause && mod->in.paced)
			continue;
		if (timeout && mod->m.pre_poll)
			mod->m.pre_poll(d, mod->m.ctx, timeout);
		else if (!timeout && mod->m.post_poll)
			mod->m.post_poll(d, mod->m.ctx);
		mod->in.frames += uk_switch_frames_in(d->sw) - before;
	}
	reap_dead(d);
}

static struct timespec ns_timespec(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000),
				 .tv_nsec = (long)(ns % 1000000000)};
}

/* epoll_pwait2; on a kernel before 5.11, epoll_wait in whole milliseconds (rounded up). */
static int epoll_wait_ts(int epfd, struct epoll_event *ev, const struct timespec *ts)
{
	int r = epoll_pwait2(epfd, ev, MAX_EVENTS, ts, NULL);
	long long ms;

	if (r >= 0 || errno != ENOSYS)
		return r;
	ms = ts ? (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000 : -1;
	return epoll_wait(epfd, ev, MAX_EVENTS, ms > INT_MAX ? INT_MAX : (int)ms);
}

/* Wait for events until ts (NULL: no limit): the ready fds of epfd into ev (their count),
 * the modules' revents into d->pfd. With no module fds this round, one epoll wait; else a
 * ppoll of epfd and theirs, then an epoll wait that does not block. -1 on an error other
 * than EINTR. */
static int wait_events(struct uk_swd *d, int epfd, struct epoll_event *ev,
		       const struct timespec *ts)
{
	static const struct timespec now = {0};
	int r;

	if (d->npfd > MOD_SLOT) {
		d->pfd[0] = (struct pollfd){.fd = epfd, .events = POLLIN};
		r = ppoll(d->pfd, (nfds_t)d->npfd, ts, NULL);
		if (r < 0)
			return errno == EINTR ? 0 : -1;
		if (!(d->pfd[0].revents & POLLIN))
			return 0;
		ts = &now; /* epfd is readable: collect without blocking */
	}
	r = epoll_wait_ts(epfd, ev, ts);
	return r < 0 ? (errno == EINTR ? 0 : -1) : r;
}

/* One wait with the modules' hooks around it: outside a pause (end 0) on every watch and
 * module; in a pause on the quiet ones (epfd: the pause set) until end (ns, monotonic). The
 * ready watches go into ev: their count, or -1 on an error. */
static int round_wait(struct uk_swd *d, int epfd, uint64_t end, struct epoll_event *ev)
{
	int timeout = -1, n;
	uint64_t left = UINT64_MAX, now;
	struct timespec ts;

	d->npfd = MOD_SLOT;
	run_modules(d, end != 0, &timeout);
	if (end != 0)
		left = end > (now = uk_monotonic_ns()) ? end - now : 0;
	if (timeout >= 0 && (uint64_t)timeout * 1000000 < left)
		left = (uint64_t)timeout * 1000000;
	if (left != UINT64_MAX)
		ts = ns_timespec(left);
	n = wait_events(d, epfd, ev, left != UINT64_MAX ? &ts : NULL);
	if (n >= 0)
		run_modules(d, end != 0, NULL);
	return n;
}

/* Serve a ready watch as its kind says. The handler may add and remove watches, which moves
 * them in d->w: w is not used after it. */
static void run_watch(struct uk_swd *d, const struct watch *w)
{
	switch (w->kind) {
	case WATCH_PORT:
		on_port(d, w->port);
		break;
	case WATCH_TAP:
		on_tap(d, w->fd);
		break;
	case WATCH_BESS:
		on_bess_listen(d, w->fd);
		break;
	case WATCH_CONTROL:
		on_ctl_listen(d, w->fd);
		break;
	case WATCH_CLIENT:
		on_client(d, w->fd);
		break;
	case WATCH_SIGNAL:
		on_signal(d, w->fd);
		break;
	case WATCH_TIMER:
		on_timer(d, w->fd);
		break;
	case WATCH_MODULE:
		w->fn(d, w->fd, w->ctx);
		break;
	}
}

/* Run the handlers of the ready watches that are paced (or not); count their frames. */
static void serve(struct uk_swd *d, const struct epoll_event *ev, int n, bool paced)
{
	for (int i = 0; i < n; i++) {
		struct watch *w = watch_of(d, ev[i].data.fd);
		uint64_t before = uk_switch_frames_in(d->sw);

		if (!w || w->in.paced != paced)
			continue;
		run_watch(d, w);
		/* the frames it brought, to its watch if the handler kept it */
		w = watch_of(d, ev[i].data.fd);
		if (w)
			w->in.frames += uk_switch_frames_in(d->sw) - before;
		reap_dead(d);
	}
}

/* The pause: until it is over, only the quiet inputs (and the control socket, signals,
 * timers) are served, each as soon as it is ready; the paced ones wait for the next round.
 * Serving them here too would make the next quiet frame wait behind their batch. */
static void pause_wait(struct uk_swd *d)
{
	struct epoll_event ev[MAX_EVENTS];
	uint64_t end;

	if (d->pause_us == 0)
		return;
	end = uk_monotonic_ns() + d->pause_us * 1000ULL;
	d->pause_us = 0;
	while (!d->stop && uk_monotonic_ns() < end) {
		int n = round_wait(d, d->qfd, end, ev);

		if (n < 0)
			break;
		serve(d, ev, n, false);
	}
}

static int loop(struct uk_swd *d, struct uk_err *err)
{
	struct epoll_event ev[MAX_EVENTS];

	while (!d->stop) {
		int n;

		pause_wait(d);
		n = round_wait(d, d->epfd, 0, ev);
		if (n < 0)
			return uk_err_sys(err, errno, "switch %s: waiting for events", d->o.name);
		/* the quiet inputs first: a ping does not queue behind a batch of the load */
		serve(d, ev, n, false);
		serve(d, ev, n, true);
		reap_dead(d);
		moderate(d);
	}
	return 0;
}

static int take_lock(struct uk_swd *d, struct uk_err *err)
{
	char path[4200], pid[32];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd, n;

	snprintf(path, sizeof(path), "%s/lock", d->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return uk_err_sys(err, errno, "%s", path);
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		close(fd);
		return uk_err_set(err, EBUSY, "switch '%s' is already running (pid %d)", d->o.name,
				  (int)uk_switch_pid(d->o.name));
	}
	/* the lock stays held (fd open) until the teardown */
	d->locked = true;
	d->lock_fd = fd;
	snprintf(path, sizeof(path), "%s/pid", d->dir);
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	{
		struct uk_newfile nf;

		if (uk_newfile_open(&nf, path, 0644, NULL) == 0) {
			if (uk_pwrite_all(nf.fd, pid, (size_t)n, 0) == 0)
				uk_newfile_commit(&nf, true, NULL);
			else
				uk_newfile_abort(&nf);
		}
	}
	return 0;
}

/* Watch one of the daemon's own fds; on failure it is closed and the error told. */
static int watch_fixed(struct uk_swd *d, int fd, enum watch_kind kind, const char *what,
		       struct uk_err *err)
{
	int r = add_watch(d, &(struct watch){.fd = fd, .kind = kind});

	if (r < 0) {
		close(fd);
		return uk_err_sys(err, -r, "%s: epoll", what);
	}
	return 0;
}

static int setup(struct uk_swd *d, struct uk_err *err)
{
	sigset_t mask;
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
	mode_t mode = d->o.group >= 0 ? 0660 : 0600;
	int fd, r;

	/* before anything is made: a SIGTERM from now on ends the loop, which removes it all */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = uk_switch_dir(d->o.name, d->dir, sizeof(d->dir), err);
	if (r < 0)
		return r;
	r = take_lock(d, err);
	if (r < 0)
		return r;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->qfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0 || d->qfd < 0)
		return uk_err_sys(err, errno, "epoll_create1");
	snprintf(d->ctl_path, sizeof(d->ctl_path), "%s/ctl", d->dir);
	fd = uk_swd_listen_path(d->ctl_path, SOCK_SEQPACKET, mode, d->o.group, "control socket",
				&d->ctl_made, err);
	if (fd < 0 || (r = watch_fixed(d, fd, WATCH_CONTROL, "control socket", err)) < 0)
		return fd < 0 ? fd : r;
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return uk_err_sys(err, errno, "signalfd");
	r = watch_fixed(d, fd, WATCH_SIGNAL, "signalfd", err);
	if (r < 0)
		return r;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) < 0) {
		r = uk_err_sys(err, errno, "timerfd");
		if (fd >= 0)
			close(fd);
		return r;
	}
	r = watch_fixed(d, fd, WATCH_TIMER, "timerfd", err);
	if (r < 0)
		return r;
	if (d->o.bess[0]) {
		fd = uk_swd_listen_path(d->o.bess, SOCK_SEQPACKET, mode, d->o.group, "bess socket",
					&d->bess_made, err);
		if (fd < 0 || (r = watch_fixed(d, fd, WATCH_BESS, d->o.bess, err)) < 0)
			return fd < 0 ? fd : r;
	}
	if (d->o.tap[0]) {
		r = open_tap(d, err);
		if (r < 0)
			return r;
	}
	/* modules: the legacy daemon protocol, the NAT uplink */
	if (d->o.legacy_ctl[0]) {
		r = uk_swd_legacy_start(d, d->o.legacy_ctl, err);
		if (r < 0)
			return r;
	}
	if (d->o.nat) {
		r = uk_swd_nat_start(d, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static void teardown(struct uk_swd *d)
{
	char path[4200];

	for (int m = 0; m < d->nmods; m++)
		if (d->mods[m].m.stop)
			d->mods[m].m.stop(d, d->mods[m].m.ctx);
	if (d->sw) { /* each port's fd is closed once: by the engine, and no longer watched */
		int ids[UK_SW_MAX_PORTS];
		int n = uk_switch_ports(d->sw, ids, UK_SW_MAX_PORTS);

		for (int i = 0; i < n; i++)
			uk_swd_remove_port(d, ids[i]);
	}
	uk_switch_free(d->sw);
	if (d->tap_fd >= 0 && !watch_of(d, d->tap_fd))
		close(d->tap_fd); /* a watched one is closed with the watches */
	for (int i = 0; i < d->nw; i++)
		close(d->w[i].fd);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->qfd >= 0)
		close(d->qfd);
	if (d->spare_fd >= 0)
		close(d->spare_fd);
	if (!d->locked)
		return;
	uk_swd_unlink_ours(d->ctl_path, &d->ctl_made);
	if (d->bess_made.st_ino)
		uk_swd_unlink_ours(d->o.bess, &d->bess_made);
	snprintf(path, sizeof(path), "%s/pid", d->dir);
	unlink(path);
	close(d->lock_fd); /* last: the name is free once the sockets are gone */
}

int uk_switch_daemon_run(const struct uk_switch_daemon_opts *o, struct uk_err *err)
{
	struct uk_switch_opts so = {.mtu = o->mtu,
				    .hub = o->hub,
				    .port_dead = on_port_dead,
				    .port_blocked = on_port_blocked};
	struct uk_swd *d = calloc(1, sizeof(*d));
	struct uk_err local = {0};
	int r;

	if (!err)
		err = &local; /* the ready_fd's "failed MSG" needs the message */
	if (!d || !pfd_room(d)) {
		free(d);
		uk_err_set(err, ENOMEM, "out of memory");
		if (o->ready_fd >= 0) {
			dprintf(o->ready_fd, "failed %s\n", err->msg);
			close(o->ready_fd);
		}
		return -ENOMEM;
	}
	d->npfd = MOD_SLOT;
	d->o = *o;
	d->tap_fd = -1;
	d->tap_port = -1;
	d->epfd = -1;
	d->qfd = -1;
	d->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	so.ctx = d;
	d->sw = uk_switch_new(&so, err);
	r = d->sw ? setup(d, err) : -(err->code ? err->code : ENOMEM);
	if (r == 0 && o->ready_fd >= 0) {
		dprintf(o->ready_fd, "ready %d\n", (int)getpid());
		close(o->ready_fd);
	}
	if (r == 0)
		r = loop(d, err);
	teardown(d);
	free(d->widx);
	free(d->pfd);
	free(d);
	/* a failure is told after the teardown: the lock is free for a retry at once */
	if (r < 0 && o->ready_fd >= 0) {
		dprintf(o->ready_fd, "failed %s\n", err->msg);
		close(o->ready_fd);
	}
	return r;
}
