/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The switch daemon's own state, shared by the files it is made of: daemon.c (setup and
 * teardown), loop.c (the event loop and its watches), pacing.c (which inputs wait for a
 * pause), control.c (the JSON control protocol) and uplink.c (the tap uplink). The modules
 * that plug into the loop (legacy.c, nat.c) see only swd.h. Not part of the public API.
 */
#ifndef UK_SWITCH_DAEMON_INTERNAL_H
#define UK_SWITCH_DAEMON_INTERNAL_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "swd.h"

#define MAX_CLIENTS 64 /* control connections at once; a new one closes the oldest */
/* every port's fd, a legacy guest's control connection beside its port, the control
 * clients, the legacy module's pending connections (32), the daemon's own fds */
#define MAX_WATCHES (2 * UK_SW_MAX_PORTS + MAX_CLIENTS + 32 + 16)
#define MAX_MODULES 4
#define MAX_INPUTS  (MAX_WATCHES + MAX_MODULES)
#define MOD_SLOT    1 /* pfd[0] is the epoll fd; the modules' fds follow */

/* An input of the pacing: a watched fd, or a module with hooks. */
struct input {
	uint64_t frames; /* frames it fed to the engine, in all */
	uint64_t mark;	 /* frames at the start of this window */
	uint64_t amark;	 /* its port's uk_switch_port_to_loaded at the start of this window */
	bool paced;	 /* left out of the pauses (uk_switch_quiet) */
};

/* What a watched fd is: what its readiness means (run_watch, loop.c) and whose frames it
 * brings (watch_port, pacing.c). */
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
	bool want_out; /* a port that holds frames back: wait for room too (uk_swd_port_blocked) */
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

/* The events a watch waits for. */
static inline struct epoll_event uk_swd_watch_event(const struct watch *w)
{
	return (struct epoll_event){.events = EPOLLIN | (w->want_out ? EPOLLOUT : 0),
				    .data.fd = w->fd};
}

/* ---- loop.c ---- */
/* Watch nw->fd as nw says (its kind, and its port or handler): 0, -ENOSPC, -EBADF, -ENOMEM,
 * or -errno of epoll_ctl. */
int uk_swd_add_watch(struct uk_swd *d, const struct watch *nw);
/* The watch of fd now (handlers add and remove watches), or NULL. */
struct watch *uk_swd_watch_of(struct uk_swd *d, int fd);
/* Room in d->pfd for one more: false when out of memory. */
bool uk_swd_pfd_room(struct uk_swd *d);
/* The engine's port_dead and port_blocked (struct uk_switch_opts; ctx is d). */
void uk_swd_port_dead(void *ctx, int port);
void uk_swd_port_blocked(void *ctx, int port, bool blocked);
/* Run the loop until a signal or a stop request: 0, or -errno when waiting fails. */
int uk_swd_loop(struct uk_swd *d, struct uk_err *err);

/* ---- pacing.c ---- */
/* After each round: the pause before the next, and at the end of each window which inputs
 * it leaves waiting (uk_switch_pause, uk_switch_quiet). */
void uk_swd_moderate(struct uk_swd *d);
/* Whether port id's frames wait for the pauses now (a port's "paced" in `ports`). */
bool uk_swd_port_paced(struct uk_swd *d, int id);

/* ---- control.c ---- */
/* The control socket fd is readable: take a connection (the oldest gives way past
 * MAX_CLIENTS). */
void uk_swd_control_accept(struct uk_swd *d, int fd);
/* Control connection s is readable: answer its request, or drop it. */
void uk_swd_control_request(struct uk_swd *d, int s);

/* Watch the socket fd of port id (made in the engine): 0, or -ENOSPC with err told and the
 * port removed. */
int uk_swd_watch_port(struct uk_swd *d, int fd, int id, struct uk_err *err);

/* ---- vxlan-port.c ---- */
/* add-port of kind "vxlan" for conf c: fd (closed on failure) a bound UDP socket, req's "vni"
 * and "remotes"; the port into reply's "port". 0, or a negative errno (err told). */
int uk_swd_vxlan_add(struct uk_swd *d, json_t *req, int fd, const struct uk_port_conf *c,
		     json_t *reply, struct uk_err *err);
/* A VXLAN port's "vxlan" object in `ports` (nothing for other ports). */
void uk_swd_vxlan_json(struct uk_swd *d, int id, json_t *j);
/* The address of remote via of VXLAN port id into out: 0, or -ENOENT. */
int uk_swd_vxlan_remote(struct uk_swd *d, int id, int via, char *out, size_t len);

/* ---- uplink.c ---- */
/* Attach the tap d->o.tap as a port (it must exist) and watch it. */
int uk_swd_tap_open(struct uk_swd *d, struct uk_err *err);
/* The tap's fd is readable: forward a batch; the uplink is removed when the tap breaks. */
void uk_swd_tap_readable(struct uk_swd *d, int fd);

#endif
