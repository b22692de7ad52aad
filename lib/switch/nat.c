// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The NAT uplink: a callback port on the switch whose other end is libslirp, a user-mode
 * TCP/IP stack. Guests get DHCP and DNS from it (10.0.2.0/24 unless configured: the host
 * alias .2, DNS .3, leases from .15), their outbound TCP and UDP leave through ordinary host
 * sockets, and port forwards bring host ports (on 127.0.0.1 unless an address is given) to a
 * guest. Forwards are set at start and can be added and removed while the switch runs
 * ("forward-add", "forward-del", "forward-list" control requests).
 *
 * slirp runs inside the daemon's poll loop: pre_poll feeds it the frames the switch sent it,
 * lets it add its sockets for the round (slirp_pollfds_fill) and shortens the timeout to its
 * next timer; post_poll reads the revents back (slirp_pollfds_poll) and fires due timers.
 * Frames from the switch are queued, never given to slirp from inside the engine's send:
 * slirp answers some frames at once (ARP, ICMP) through send_packet, which calls back into
 * the engine, and the engine is not reentrant. Nothing is allocated per frame.
 *
 * Its pure parsers are in natparse.c; what its DHCP server leased to which port, and the
 * guests' forwards that follow those addresses, in lease.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libslirp.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "nat-internal.h"
#include "swd.h"
#include "swparse.h"

#define NAT_NET_DEFAULT "10.0.2.0/24"
#define NAT_TIMERS	16
#define NAT_QUEUE	64 /* frames from the switch waiting for slirp */

/* ---- the module ---- */

struct nat_timer {
	bool used, armed;
	bool by_id; /* made by timer_new_opaque: fire with slirp_handle_timer */
	int64_t expire_ms;
	SlirpTimerCb cb;
	void *cb_opaque;
	SlirpTimerId id;
};

struct nat {
	struct uk_swd *d;
	struct uk_switch *sw;
	Slirp *slirp;
	int port;
	struct nat_net net;
	char netname[32];
	struct nat_timer timers[NAT_TIMERS];
	struct nat_fwd fwd[UK_SW_MAX_FORWARDS];
	int nfwd;
	/* frames from the switch waiting for slirp_input: a ring of fixed slots */
	uint8_t *q;
	size_t slot;
	unsigned qhead, qlen;
	uint32_t qflen[NAT_QUEUE];
	uint64_t guest_errors, queue_drops;
	/* Out of fds, libslirp's accept on a forward's listener fails and leaves the connection
	 * in the backlog: the listener stays readable and the loop would spin; and with no fd
	 * left the control socket could take no request. So while a listener is readable, the
	 * fds left are probed (dups); unless FD_RESERVE would stay free after the accepts, the
	 * listeners are left out of the polls for FD_REST_MS and the connections wait in their
	 * backlogs. */
	uint8_t *fdkind; /* by fd: 0 not known yet, FD_LISTENER, FD_OTHER (reset when the
			    forwards change, the only times slirp opens or closes listeners) */
	int nfdkind;
	int lslot[UK_SW_MAX_FORWARDS]; /* this round's poll slots of listeners */
	int nlslot;
	int64_t rest_until_ms;
	bool resting;	   /* this round: before rest_until_ms */
	uint64_t fd_rests; /* times it found itself out of fds */
	/* The guests' own new flows (a connection out, a UDP socket, a ping) each make slirp
	 * open a host socket too: such a frame goes to slirp only while FD_RESERVE stays free.
	 * A probe counts up to FLOW_PROBE fds beyond the reserve into flow_credit; each socket
	 * slirp opens (register_poll_fd) spends one; a spent or FLOW_PROBE_MS old credit is
	 * probed again. */
	struct nat_leases *leases; /* what its DHCP server gave whom; the guests' forwards */
	int probe_fd;		   /* what the probes dup: /dev/null */
	int flow_credit;
	int64_t flow_probe_ms;
	uint64_t flow_drops; /* such frames dropped */
};

static int64_t now_ns(void)
{
	return (int64_t)uk_monotonic_ns();
}

/* -- slirp's callbacks -- */
static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct nat *n = opaque;
	struct uk_port_conf c;

	/* the port may have been removed by a control request */
	if (uk_switch_port_info(n->sw, n->port, &c, NULL) < 0 || c.kind != UK_PORT_NAT)
		return -1;
	uk_nat_leases_snoop(n->leases, buf, len);
	uk_switch_input(n->sw, n->port, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct nat *n = opaque;

	(void)msg;
	n->guest_errors++;
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static struct nat_timer *timer_slot(struct nat *n)
{
	for (int i = 0; i < NAT_TIMERS; i++)
		if (!n->timers[i].used) {
			n->timers[i] = (struct nat_timer){.used = true};
			return &n->timers[i];
		}
	return NULL; /* slirp makes one or two; NAT_TIMERS is plenty */
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct nat_timer *t = timer_slot(opaque);

	if (t) {
		t->cb = cb;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct nat_timer *t = timer_slot(opaque);

	if (t) {
		t->by_id = true;
		t->id = id;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct nat_timer *t = timer;

	(void)opaque;
	if (t)
		*t = (struct nat_timer){0};
}

/* expire_time: in ms of the clock clock_get_ns gives */
static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
	struct nat_timer *t = timer;

	(void)opaque;
	if (t) {
		t->expire_ms = expire_time;
		t->armed = true;
	}
}

/* Every round polls slirp's fds anew (slirp_pollfds_fill), so a socket slirp opens needs no
 * registering: it only spends the guests' flow credit (see struct nat). */
static void cb_register_fd(int fd, void *opaque)
{
	struct nat *n = opaque;

	(void)fd;
	n->flow_credit--;
}

static void cb_unregister_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_notify(void *opaque)
{
	/* one thread: the next round polls with slirp's new wishes */
	(void)opaque;
}

static void cb_init_completed(Slirp *slirp, void *opaque)
{
	struct nat *n = opaque;

	n->slirp = slirp;
}

static const SlirpCb nat_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_fd,
	.unregister_poll_fd = cb_unregister_fd,
	.notify = cb_notify,
	.init_completed = cb_init_completed,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* -- the poll loop -- */
#define FD_LISTENER   1
#define FD_OTHER      2
#define FD_REST_MS    100
#define FD_RESERVE    8 /* fds the forwards and the guests' flows leave free */
#define FLOW_PROBE    32
#define FLOW_PROBE_MS 100

/* Whether fd is a listening socket (known from an earlier round, or asked once). */
static bool is_listener(struct nat *n, int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (fd >= n->nfdkind) {
		uint8_t *p = uk_swd_grow_by_fd(n->fdkind, &n->nfdkind, fd, 1);

		if (!p)
			return false;
		n->fdkind = p;
	}
	if (!n->fdkind[fd])
		n->fdkind[fd] = getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on
					? FD_LISTENER
					: FD_OTHER;
	return n->fdkind[fd] == FD_LISTENER;
}

static void forget_fd_kinds(struct nat *n)
{
	if (n->fdkind)
		memset(n->fdkind, 0, (size_t)n->nfdkind);
}

/* How many of want fds are free (dups, closed again; EMFILE/ENFILE stops them); want when
 * a dup fails for another reason, which says nothing of the fds left. */
static int fds_free(const struct nat *n, int want)
{
	int t[FD_RESERVE + UK_SW_MAX_FORWARDS + FLOW_PROBE], got = 0, room = want;

	while (got < want && got < (int)UK_ARRAY_SIZE(t)) {
		t[got] = fcntl(n->probe_fd, F_DUPFD_CLOEXEC, 0);
		if (t[got] < 0) {
			if (errno == EMFILE || errno == ENFILE)
				room = got;
			break;
		}
		got++;
	}
	for (int i = got; i > 0; i--)
		close(t[i - 1]);
	return room;
}

/* After the poll, before slirp accepts (one connection on each readable listener): rest
 * unless that leaves FD_RESERVE fds free, for the control socket and new ports. */
static void check_fd_room(struct nat *n)
{
	int ready = 0;

	for (int i = 0; i < n->nlslot; i++)
		if (uk_swd_poll_revents(n->d, n->lslot[i]) & POLLIN)
			ready++;
	if (ready > 0 && fds_free(n, FD_RESERVE + ready) < FD_RESERVE + ready) {
		n->rest_until_ms = now_ns() / 1000000 + FD_REST_MS;
		n->resting = true; /* from this round on: get_revents hides their POLLIN */
		n->fd_rests++;
	}
}

static bool is_listener_slot(const struct nat *n, int idx)
{
	for (int i = 0; i < n->nlslot; i++)
		if (n->lslot[i] == idx)
			return true;
	return false;
}

static int add_poll(int fd, int events, void *opaque)
{
	struct nat *n = opaque;
	short ev = 0;
	int slot;

	if ((events & SLIRP_POLL_IN) && is_listener(n, fd)) {
		if (n->resting)
			events &= ~SLIRP_POLL_IN; /* out of fds: what it would accept waits */
		else if (n->nlslot < (int)UK_ARRAY_SIZE(n->lslot))
			n->lslot[n->nlslot++] = -2; /* its slot, below */
	}

	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	slot = uk_swd_poll_add(n->d, fd, ev);
	if (n->nlslot > 0 && n->lslot[n->nlslot - 1] == -2)
		n->lslot[n->nlslot - 1] = slot;
	return slot;
}

static int get_revents(int idx, void *opaque)
{
	struct nat *n = opaque;
	short rev = uk_swd_poll_revents(n->d, idx);
	int r = 0;

	if (n->resting && is_listener_slot(n, idx))
		rev &= (short)~POLLIN;

	if (rev & POLLIN)
		r |= SLIRP_POLL_IN;
	if (rev & POLLOUT)
		r |= SLIRP_POLL_OUT;
	if (rev & POLLPRI)
		r |= SLIRP_POLL_PRI;
	if (rev & (POLLERR | POLLNVAL))
		r |= SLIRP_POLL_ERR;
	if (rev & POLLHUP)
		r |= SLIRP_POLL_HUP;
	return r;
}

static void fire_timers(struct nat *n)
{
	int64_t now = now_ns() / 1000000;

	for (int i = 0; i < NAT_TIMERS; i++) {
		struct nat_timer *t = &n->timers[i];

		if (!t->used || !t->armed || t->expire_ms > now)
			continue;
		t->armed = false; /* the callback may re-arm or free it */
		if (t->by_id)
			slirp_handle_timer(n->slirp, t->id, t->cb_opaque);
		else if (t->cb)
			t->cb(t->cb_opaque);
	}
}

/* Whether slirp may open one more socket for a guest and leave FD_RESERVE free. */
static bool flow_room(struct nat *n)
{
	int64_t now = now_ns() / 1000000;

	if (n->flow_credit <= 0 || now - n->flow_probe_ms > FLOW_PROBE_MS) {
		n->flow_credit = fds_free(n, FD_RESERVE + FLOW_PROBE) - FD_RESERVE;
		n->flow_probe_ms = now;
	}
	return n->flow_credit > 0;
}

/* Give slirp the frames the switch sent it since the last round. */
static void drain(struct nat *n)
{
	while (n->qlen) {
		unsigned i = n->qhead;
		const uint8_t *f = n->q + (size_t)i * n->slot;

		n->qhead = (n->qhead + 1) % NAT_QUEUE;
		n->qlen--;
		if (uk_swd_nat_opens_socket(f, n->qflen[i]) && !flow_room(n)) {
			n->flow_drops++;
			continue;
		}
		slirp_input(n->slirp, f, (int)n->qflen[i]);
	}
}

static void nat_pre_poll(struct uk_swd *d, void *ctx, int *timeout_ms)
{
	struct nat *n = ctx;
	uint32_t t = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
	int64_t now;

	(void)d;
	uk_nat_leases_settle(n->leases);
	drain(n);
	fire_timers(n);
	n->nlslot = 0;
	n->resting = now_ns() / 1000000 < n->rest_until_ms;
	slirp_pollfds_fill(n->slirp, &t, add_poll, n);
	if (n->resting && t > FD_REST_MS)
		t = FD_REST_MS; /* wake to poll the listeners again */
	now = now_ns() / 1000000;
	for (int i = 0; i < NAT_TIMERS; i++) {
		const struct nat_timer *tm = &n->timers[i];

		if (tm->used && tm->armed) {
			int64_t w = tm->expire_ms > now ? tm->expire_ms - now : 0;

			if (w < (int64_t)t)
				t = (uint32_t)w;
		}
	}
	*timeout_ms = t >= INT_MAX ? -1 : (int)t;
}

static void nat_post_poll(struct uk_swd *d, void *ctx)
{
	struct nat *n = ctx;

	(void)d;
	check_fd_room(n);
	slirp_pollfds_poll(n->slirp, 0, get_revents, n);
	fire_timers(n);
}

/* The switch sends a frame to the NAT: queue it for the next round (see the top). */
static int nat_send(void *priv, const void *frame, size_t len)
{
	struct nat *n = priv;
	unsigned i;

	if (n->qlen == NAT_QUEUE || len > n->slot) {
		n->queue_drops++;
		return -EAGAIN;
	}
	i = (n->qhead + n->qlen) % NAT_QUEUE;
	memcpy(n->q + (size_t)i * n->slot, frame, len);
	n->qflen[i] = (uint32_t)len;
	n->qlen++;
	return 0;
}

/* -- forwards -- */
int uk_nat_fwd_find(const struct nat *n, const struct nat_fwd *f)
{
	for (int i = 0; i < n->nfwd; i++)
		if (n->fwd[i].udp == f->udp && n->fwd[i].haddr.s_addr == f->haddr.s_addr &&
		    n->fwd[i].hport == f->hport)
			return i;
	return -1;
}

unsigned uk_nat_prefix(const struct nat *n)
{
	return n->net.prefix;
}

int uk_nat_guest_addr_check(const struct nat *n, const char *what, struct in_addr a,
			    struct uk_err *err)
{
	uint32_t g = ntohl(a.s_addr), net = ntohl(n->net.net.s_addr),
		 mask = ntohl(n->net.mask.s_addr);
	char h[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, h, sizeof(h));
	if ((g & mask) != net)
		return uk_err_set(err, EINVAL, "%s: guest address %s is outside the NAT network %s",
				  what, h, n->netname);
	if (g == net || g == (net | ~mask) || a.s_addr == n->net.host.s_addr ||
	    a.s_addr == n->net.dns.s_addr)
		return uk_err_set(err, EINVAL,
				  "%s: guest address %s is the network's own (its network, "
				  "broadcast, host or DNS address), not a guest's",
				  what, h);
	return 0;
}

int uk_nat_fwd_install(struct nat *n, const char *spec, const struct nat_fwd *f, struct uk_err *err)
{
	char h[INET_ADDRSTRLEN], text[128], what[128];
	int k = uk_nat_fwd_find(n, f), r, holder = uk_nat_leases_holder(n->leases, f);

	snprintf(what, sizeof(what), "forward '%s'", spec);
	r = uk_nat_guest_addr_check(n, what, f->gaddr, err);
	if (r < 0)
		return r;
	if (k >= 0) {
		uk_nat_fwd_format(&n->fwd[k], text, sizeof(text));
		return uk_err_set(err, EEXIST, "forward '%s': %s is forwarded already", spec, text);
	}
	if (holder >= 0 && holder != f->owner) {
		struct uk_port_conf c = {0};

		uk_switch_port_info(n->sw, holder, &c, NULL);
		return uk_err_set(err, EEXIST,
				  "forward '%s': that host port belongs to guest '%s' (port %d), "
				  "waiting for its address",
				  spec, c.guest, holder);
	}
	if (n->nfwd == UK_SW_MAX_FORWARDS)
		return uk_err_set(err, ENOSPC, "forward '%s': at most %d forwards", spec,
				  UK_SW_MAX_FORWARDS);
	errno = 0;
	if (slirp_add_hostfwd(n->slirp, f->udp, f->haddr, f->hport, f->gaddr, f->gport) < 0)
		return uk_err_sys(err, errno ? errno : EADDRNOTAVAIL,
				  "forward '%s': cannot listen on %s %s:%u", spec,
				  f->udp ? "udp" : "tcp",
				  inet_ntop(AF_INET, &f->haddr, h, sizeof(h)), f->hport);
	n->fwd[n->nfwd++] = *f;
	forget_fd_kinds(n);
	return 0;
}

void uk_nat_fwd_uninstall(struct nat *n, const struct nat_fwd *f)
{
	int k = uk_nat_fwd_find(n, f);

	if (k < 0)
		return;
	slirp_remove_hostfwd(n->slirp, f->udp, f->haddr, f->hport);
	n->fwd[k] = n->fwd[--n->nfwd];
	forget_fd_kinds(n);
}

static int fwd_add(struct nat *n, const char *spec, struct nat_fwd *out, struct uk_err *err)
{
	struct nat_fwd f;
	int r = uk_swd_nat_forward_parse(spec, NAT_FWD_FULL, &f, err);

	if (r == 0)
		r = uk_nat_fwd_install(n, spec, &f, err);
	if (r == 0 && out)
		*out = f;
	return r;
}

static int fwd_del(struct nat *n, const char *spec, struct nat_fwd *out, struct uk_err *err)
{
	char text[128];
	struct nat_fwd f;
	int r = uk_swd_nat_forward_parse(spec, NAT_FWD_KEY, &f, err), k;

	if (r < 0)
		return r;
	k = uk_nat_fwd_find(n, &f);
	if (k < 0 || (f.has_guest &&
		      (n->fwd[k].gaddr.s_addr != f.gaddr.s_addr || n->fwd[k].gport != f.gport))) {
		f.has_guest = false;
		uk_nat_fwd_format(&f, text, sizeof(text));
		if (k < 0)
			return uk_err_set(err, ESRCH, "forward '%s': %s is not forwarded", spec,
					  text);
		uk_nat_fwd_format(&n->fwd[k], text, sizeof(text));
		return uk_err_set(err, ESRCH, "forward '%s': the forward there is %s", spec, text);
	}
	if (n->fwd[k].owner >= 0) {
		struct uk_port_conf c = {0};

		uk_switch_port_info(n->sw, n->fwd[k].owner, &c, NULL);
		return uk_err_set(err, EPERM,
				  "forward '%s': it belongs to guest '%s' (port %d, its --net "
				  "...,forward=): it goes when the guest stops",
				  spec, c.guest, n->fwd[k].owner);
	}
	if (slirp_remove_hostfwd(n->slirp, f.udp, f.haddr, f.hport) < 0)
		return uk_err_set(err, ESRCH, "forward '%s': slirp has no such forward", spec);
	if (out)
		*out = n->fwd[k];
	n->fwd[k] = n->fwd[--n->nfwd];
	forget_fd_kinds(n);
	return 0;
}

static json_t *fwd_json(const struct nat *n, const struct nat_fwd *f)
{
	char h[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN], text[128];
	json_t *j = json_object();

	uk_nat_fwd_format(f, text, sizeof(text));
	json_object_set_new(j, "spec", json_string(text));
	json_object_set_new(j, "proto", json_string(f->udp ? "udp" : "tcp"));
	json_object_set_new(j, "host_addr",
			    json_string(inet_ntop(AF_INET, &f->haddr, h, sizeof(h))));
	json_object_set_new(j, "host_port", json_integer(f->hport));
	json_object_set_new(j, "guest_addr",
			    json_string(inet_ntop(AF_INET, &f->gaddr, g, sizeof(g))));
	json_object_set_new(j, "guest_port", json_integer(f->gport));
	if (f->owner >= 0) {
		struct uk_port_conf c = {0};

		uk_switch_port_info(n->sw, f->owner, &c, NULL);
		json_object_set_new(j, "guest", json_string(c.guest));
		json_object_set_new(j, "port", json_integer(f->owner));
	}
	return j;
}

static void nat_list(struct nat *n, json_t *reply)
{
	char a[INET_ADDRSTRLEN];
	json_t *arr = json_array();

	for (int i = 0; i < n->nfwd; i++)
		json_array_append_new(arr, fwd_json(n, &n->fwd[i]));
	json_object_set_new(reply, "forwards", arr);
	json_object_set_new(reply, "network", json_string(n->netname));
	json_object_set_new(reply, "host",
			    json_string(inet_ntop(AF_INET, &n->net.host, a, sizeof(a))));
	json_object_set_new(reply, "dns",
			    json_string(inet_ntop(AF_INET, &n->net.dns, a, sizeof(a))));
	json_object_set_new(reply, "dhcp_start",
			    json_string(inet_ntop(AF_INET, &n->net.dhcp, a, sizeof(a))));
	json_object_set_new(reply, "guest_errors", json_integer((json_int_t)n->guest_errors));
	json_object_set_new(reply, "queue_drops", json_integer((json_int_t)n->queue_drops));
	json_object_set_new(reply, "fd_rests", json_integer((json_int_t)n->fd_rests));
	json_object_set_new(reply, "flow_drops", json_integer((json_int_t)n->flow_drops));
	uk_nat_leases_json(n->leases, reply);
}

static int nat_command(struct uk_swd *d, void *ctx, const char *cmd, json_t *req, json_t *reply)
{
	struct nat *n = ctx;
	struct uk_err err = {0};
	struct nat_fwd f;
	const char *spec;
	int r;

	(void)d;
	if (!strcmp(cmd, "forward-list")) {
		nat_list(n, reply);
		return 0;
	}
	if (strcmp(cmd, "forward-add") && strcmp(cmd, "forward-del"))
		return -ENOENT;
	spec = json_string_value(json_object_get(req, "spec"));
	if (!spec)
		r = uk_err_set(&err, EINVAL, "%s needs \"spec\": a forward", cmd);
	else if (!strcmp(cmd, "forward-add"))
		r = fwd_add(n, spec, &f, &err);
	else
		r = fwd_del(n, spec, &f, &err);
	if (r < 0) {
		json_object_set_new(reply, "error", json_string(err.msg));
		return r == -ENOENT ? -ESRCH : r; /* -ENOENT says "not my command" */
	}
	json_object_set_new(reply, "forward", fwd_json(n, &f));
	return 0;
}

static int nat_port_added(struct uk_swd *d, void *ctx, int port, json_t *req, struct uk_err *err)
{
	struct nat *n = ctx;

	(void)d;
	return uk_nat_leases_port_added(n->leases, port, req, err);
}

static void nat_port_removed(struct uk_swd *d, void *ctx, int port)
{
	struct nat *n = ctx;

	(void)d;
	uk_nat_leases_port_removed(n->leases, port);
}

static void nat_port_json(struct uk_swd *d, void *ctx, int port, json_t *j)
{
	struct nat *n = ctx;

	(void)d;
	uk_nat_leases_port_json(n->leases, port, j);
}

static void nat_free(struct nat *n)
{
	uk_nat_leases_free(n->leases);
	if (n->slirp)
		slirp_cleanup(n->slirp);
	free(n->q);
	free(n->fdkind);
	if (n->probe_fd >= 0)
		close(n->probe_fd);
	free(n);
}

static void nat_stop(struct uk_swd *d, void *ctx)
{
	struct nat *n = ctx;
	struct uk_port_conf c;

	if (uk_switch_port_info(n->sw, n->port, &c, NULL) == 0 && c.kind == UK_PORT_NAT)
		uk_swd_remove_port(d, n->port);
	nat_free(n);
}

static Slirp *nat_slirp_new(struct nat *n, unsigned mtu)
{
	SlirpConfig cfg = {
		.version = 4,
		.restricted = 0,
		.in_enabled = true,
		.vnetwork = n->net.net,
		.vnetmask = n->net.mask,
		.vhost = n->net.host,
		.in6_enabled = false,
		.vdhcp_start = n->net.dhcp,
		.vnameserver = n->net.dns,
		.if_mtu = mtu,
		.if_mru = mtu,
	};

	return slirp_new(&cfg, &nat_callbacks, n);
}

int uk_swd_nat_start(struct uk_swd *d, struct uk_err *err)
{
	const struct uk_switch_daemon_opts *o = uk_swd_opts(d);
	const char *netspec = o->nat_net[0] ? o->nat_net : NAT_NET_DEFAULT;
	unsigned mtu = o->mtu ? o->mtu : UK_SW_MTU_DEFAULT;
	struct uk_port_conf c = {.kind = UK_PORT_NAT};
	struct uk_swd_module m = {
		.pre_poll = nat_pre_poll,
		.post_poll = nat_post_poll,
		.stop = nat_stop,
		.command = nat_command,
		.port_added = nat_port_added,
		.port_removed = nat_port_removed,
		.port_json = nat_port_json,
	};
	struct nat *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return uk_err_set(err, ENOMEM, "NAT: out of memory");
	n->d = d;
	n->sw = uk_swd_switch(d);
	n->port = -1;
	n->probe_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (n->probe_fd < 0) {
		r = errno;
		nat_free(n);
		return uk_err_sys(err, r, "NAT: /dev/null");
	}
	r = uk_swd_nat_net_parse(netspec, &n->net, err);
	if (r < 0) {
		nat_free(n);
		return r;
	}
	snprintf(n->netname, sizeof(n->netname), "%s", netspec);
	n->slot = mtu + UK_ETH_HLEN + UK_VLAN_HLEN;
	n->q = malloc(n->slot * NAT_QUEUE);
	if (!n->q) {
		nat_free(n);
		return uk_err_set(err, ENOMEM, "NAT: out of memory");
	}
	n->slirp = nat_slirp_new(n, mtu);
	if (!n->slirp) {
		nat_free(n);
		return uk_err_set(err, EINVAL, "NAT: libslirp refused the configuration (%s)",
				  netspec);
	}
	for (int i = 0; i < o->nforwards; i++) {
		r = fwd_add(n, o->forwards[i], NULL, err);
		if (r < 0) {
			nat_free(n);
			return r;
		}
	}
	snprintf(c.peer, sizeof(c.peer), "nat %s", netspec);
	n->port = uk_switch_add_callback_port(n->sw, &c, nat_send, n, err);
	if (n->port < 0) {
		r = n->port;
		nat_free(n);
		return r;
	}
	n->leases = uk_nat_leases_new(n, n->sw, n->port);
	if (!n->leases) {
		uk_swd_remove_port(d, n->port);
		nat_free(n);
		return uk_err_set(err, ENOMEM, "NAT: out of memory");
	}
	m.ctx = n;
	m.port = n->port;
	r = uk_swd_add_module(d, &m);
	if (r < 0) {
		uk_swd_remove_port(d, n->port);
		nat_free(n);
		return uk_err_set(err, -r, "NAT: too many modules");
	}
	return 0;
}
