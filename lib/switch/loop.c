// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The switch daemon's event loop: its watches (every fd it waits on, each of a kind that says
 * what the fd's readiness means), the modules and their poll slots, the ports between the
 * engine and the loop, and the rounds of waiting and serving.
 *
 * Every watched fd (ports, sockets, the signalfd and timerfd) is in one epoll set, so that a
 * round costs the same with 128 ports as with 2; a module's fds for one round (the NAT's
 * libslirp asks for poll(2) sets) are polled together with the epoll fd. Under load the loop
 * pauses after a round (pacing.c): during the pause it waits on a second epoll set, of the
 * quiet inputs only, and serves each as soon as it is ready.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon-internal.h"

#define MAX_EVENTS 64

/* ---- watches ---- */
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

int uk_swd_add_watch(struct uk_swd *d, const struct watch *nw)
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
	return uk_swd_add_watch(
		d, &(struct watch){.fd = fd, .kind = WATCH_MODULE, .fn = fn, .ctx = ctx});
}

struct watch *uk_swd_watch_of(struct uk_swd *d, int fd)
{
	if (fd < 0 || fd >= d->nwidx || d->widx[fd] == 0)
		return NULL;
	return &d->w[d->widx[fd] - 1];
}

void uk_swd_unwatch(struct uk_swd *d, int fd)
{
	struct watch *w = uk_swd_watch_of(d, fd);

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

/* ---- modules ---- */
int uk_swd_add_module(struct uk_swd *d, const struct uk_swd_module *m)
{
	if (d->nmods == MAX_MODULES)
		return -ENOSPC;
	d->mods[d->nmods++] = (struct module){.m = *m};
	return 0;
}

bool uk_swd_pfd_room(struct uk_swd *d)
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
	if (!uk_swd_pfd_room(d))
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

/* ---- ports ---- */
void uk_swd_remove_port(struct uk_swd *d, int port)
{
	int fd = uk_switch_port_fd(d->sw, port);

	for (int m = 0; m < d->nmods; m++)
		if (d->mods[m].m.port_removed)
			d->mods[m].m.port_removed(d, d->mods[m].m.ctx, port);
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
void uk_swd_port_dead(void *ctx, int port)
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
void uk_swd_port_blocked(void *ctx, int port, bool blocked)
{
	struct uk_swd *d = ctx;
	int fd = uk_switch_port_fd(d->sw, port);
	struct watch *w = fd >= 0 ? uk_swd_watch_of(d, fd) : NULL;
	struct epoll_event ev;

	if (!w || w->want_out == blocked)
		return;
	w->want_out = blocked;
	ev = uk_swd_watch_event(w);
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, fd, &ev);
	if (!w->in.paced)
		epoll_ctl(d->qfd, EPOLL_CTL_MOD, fd, &ev);
}

static void on_port(struct uk_swd *d, int port)
{
	uk_switch_port_writable(d->sw, port);
	uk_switch_port_readable(d->sw, port);
}

int uk_swd_watch_port(struct uk_swd *d, int fd, int id, struct uk_err *err)
{
	if (uk_swd_add_watch(d, &(struct watch){.fd = fd, .kind = WATCH_PORT, .port = id}) < 0) {
		uk_switch_remove_port(d->sw, id);
		return uk_err_set(err, ENOSPC, "too many sockets");
	}
	return 0;
}

int uk_swd_add_socket_port(struct uk_swd *d, int fd, const struct uk_port_conf *c,
			   struct uk_err *err)
{
	int id = uk_switch_add_socket_port(d->sw, fd, c, NULL, 0, err), r;

	if (id < 0) {
		close(fd);
		return id;
	}
	r = uk_swd_watch_port(d, fd, id, err);
	return r < 0 ? r : id;
}

/* ---- sockets, signals, the timer ---- */
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

/* ---- the rounds ---- */
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
		uk_swd_tap_readable(d, w->fd);
		break;
	case WATCH_BESS:
		on_bess_listen(d, w->fd);
		break;
	case WATCH_CONTROL:
		uk_swd_control_accept(d, w->fd);
		break;
	case WATCH_CLIENT:
		uk_swd_control_request(d, w->fd);
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
		struct watch *w = uk_swd_watch_of(d, ev[i].data.fd);
		uint64_t before = uk_switch_frames_in(d->sw);

		if (!w || w->in.paced != paced)
			continue;
		run_watch(d, w);
		/* the frames it brought, to its watch if the handler kept it */
		w = uk_swd_watch_of(d, ev[i].data.fd);
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

int uk_swd_loop(struct uk_swd *d, struct uk_err *err)
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
		uk_swd_moderate(d);
	}
	return 0;
}
