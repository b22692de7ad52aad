// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The forwarding engine: frames come in by the batch (recvmmsg), are checked, classified
 * into a VLAN, learned and forwarded to one port or flooded; each output port collects its
 * frames as scatter lists over the receive buffers (tags added or removed without copying)
 * and sends them by the batch (sendmmsg, never blocking). A port that cannot take a frame
 * drops it and counts it: a slow or dead peer never stalls the others. Nothing is
 * allocated per frame.
 *
 * The exception is a legacy guest's own data socket: the guest's socket queues only
 * net.unix.max_dgram_qlen (10) of our datagrams, fewer than one batch, so a burst that a
 * busy guest has not read yet would be mostly dropped (and its TCP would back off). What
 * that socket refuses waits in the port's backlog (UK_SW_BACKLOG frames, copied, allocated
 * once per port) until the socket is writable again (the owner polls it while
 * port_blocked says so); frames for the port queue behind it, in order, and only what does
 * not fit in the backlog is dropped and counted.
 *
 * Its state (engine-state.h) is shared with engine-vxlan.c (VXLAN ports: their datagrams in
 * and out) and capture.c (captures).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/util.h"
#include "engine-state.h"

uint64_t uk_switch_now_ms(void)
{
	return uk_monotonic_ns() / 1000000;
}

const char *uk_port_kind_name(int kind)
{
	static const char *const names[] = {"fd",  "bess", "daemon", "tap",
					    "nat", "link", "plug",   "vxlan"};

	return kind >= 0 && kind < (int)UK_ARRAY_SIZE(names) ? names[kind] : "unknown";
}

struct uk_switch *uk_switch_new(const struct uk_switch_opts *o, struct uk_err *err)
{
	struct uk_switch *sw = calloc(1, sizeof(*sw));

	if (!sw) {
		uk_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	sw->capture_fd = -1; /* before any failure: uk_switch_free stops a capture */
	sw->last_daemon = -1;
	sw->o = *o;
	if (!sw->o.mtu)
		sw->o.mtu = UK_SW_MTU_DEFAULT;
	if (!sw->o.aging_ms)
		sw->o.aging_ms = UK_SW_AGING_S * 1000ULL;
	if (sw->o.mtu < 68 || sw->o.mtu > UK_SW_MTU_MAX) {
		uk_err_set(err, EINVAL, "MTU %u is outside 68..%u", sw->o.mtu, UK_SW_MTU_MAX);
		free(sw);
		return NULL;
	}
	sw->max_frame = sw->o.mtu + UK_ETH_HLEN + UK_VLAN_HLEN;
	sw->fdb = uk_fdb_new(sw->o.fdb_size ? sw->o.fdb_size : 8192, sw->o.aging_ms);
	/* one byte more than the largest frame, to see frames that are too long, behind the
	 * room for a VXLAN header */
	sw->rxslot = sw->max_frame + 1 + UK_VXLAN_HLEN;
	sw->rxbuf = malloc((size_t)UK_SW_BATCH * sw->rxslot);
	sw->scratch = malloc(sw->max_frame + UK_VLAN_HLEN);
	if (!sw->fdb || !sw->rxbuf || !sw->scratch) {
		uk_switch_free(sw);
		uk_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	for (unsigned v = 0; v <= UK_VLAN_MAX; v++) {
		uk_put_be32(sw->tags[v], (uint32_t)UK_ETH_P_8021Q << 16 | v);
	}
	return sw;
}

void uk_switch_free(struct uk_switch *sw)
{
	if (!sw)
		return;
	for (int i = 0; i < UK_SW_MAX_PORTS; i++)
		if (sw->ports[i])
			uk_switch_remove_port(sw, i);
	uk_switch_capture_stop(sw);
	uk_fdb_free(sw->fdb);
	free(sw->rxbuf);
	free(sw->scratch);
	free(sw);
}

static int new_port(struct uk_switch *sw, const struct uk_port_conf *c, struct uk_err *err)
{
	struct port *p;

	if (c->vlan > UK_VLAN_MAX)
		return uk_err_set(err, EINVAL, "VLAN %u is outside 1..%u", c->vlan, UK_VLAN_MAX);
	for (int i = 0; i < UK_SW_MAX_PORTS; i++) {
		if (sw->ports[i])
			continue;
		p = calloc(1, sizeof(*p));
		if (!p)
			return uk_err_set(err, ENOMEM, "out of memory");
		p->used = true;
		p->conf = *c;
		if (!p->conf.vlan)
			p->conf.vlan = 1;
		p->fd = -1;
		sw->ports[i] = p;
		return i;
	}
	return uk_err_set(err, ENOSPC, "the switch has %d ports already", UK_SW_MAX_PORTS);
}

/*
 * Frames sent to a peer that has not read them yet count against our socket's send buffer
 * (for a socketpair, nothing else limits them): make room for a burst of a few batches, as
 * a moderated round sends them, so that a peer that is merely busy loses nothing. As far
 * as the system lets us (net.core.wmem_max, or beyond it with CAP_NET_ADMIN).
 */
static void grow_sndbuf(int fd)
{
	int want = UK_SW_SNDBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
}

int uk_switch_add_socket_port(struct uk_switch *sw, int fd, const struct uk_port_conf *c,
			      const void *addr, unsigned addrlen, struct uk_err *err)
{
	int id = new_port(sw, c, err);
	struct port *p;

	if (id < 0)
		return id;
	p = sw->ports[id];
	p->fd = fd;
	p->owns_fd = c->kind != UK_PORT_DAEMON || !addr;
	if (p->owns_fd)
		grow_sndbuf(fd);
	if (c->kind == UK_PORT_DAEMON) {
		p->dgram = true;
		sw->ndaemon++;
		sw->nshared += !p->owns_fd;
	}
	if (addr) {
		if (addrlen > sizeof(p->addr)) {
			uk_switch_remove_port(sw, id);
			return uk_err_set(err, EINVAL, "address too long");
		}
		memcpy(&p->addr, addr, addrlen);
		p->addrlen = addrlen;
	}
	return id;
}

int uk_switch_add_callback_port(struct uk_switch *sw, const struct uk_port_conf *c,
				int (*send)(void *priv, const void *frame, size_t len), void *priv,
				struct uk_err *err)
{
	int id = new_port(sw, c, err);

	if (id < 0)
		return id;
	sw->ports[id]->send = send;
	sw->ports[id]->priv = priv;
	return id;
}

void uk_switch_remove_port(struct uk_switch *sw, int id)
{
	struct port *p = uk_sw_port(sw, id);

	if (!p)
		return;
	if (p->owns_fd && p->fd >= 0)
		close(p->fd);
	if (p->dgram) {
		sw->ndaemon--;
		sw->nshared -= !p->owns_fd;
	}
	if (sw->last_daemon == id)
		sw->last_daemon = -1;
	if (sw->capture_port == id && sw->capture_fd >= 0)
		uk_switch_capture_stop(sw);
	if (p->blog) {
		p->st.tx_drops += p->blog->count;
		free(p->blog->buf);
		free(p->blog);
	}
	free(p->vx);
	uk_fdb_forget_port(sw->fdb, id);
	for (int i = 0; i < sw->ndirty; i++)
		if (sw->dirty[i] == id)
			sw->dirty[i] = -1;
	free(p);
	sw->ports[id] = NULL;
}

int uk_switch_port_fd(const struct uk_switch *sw, int id)
{
	const struct port *p = uk_sw_port(sw, id);

	return p && p->owns_fd ? p->fd : -1;
}

int uk_switch_port_socket(const struct uk_switch *sw, int id)
{
	const struct port *p = uk_sw_port(sw, id);

	return p ? p->fd : -1;
}

/* ---- forwarding ---- */

static bool port_in_vlan(const struct port *p, uint16_t vid)
{
	return p->conf.trunk || p->conf.vlan == vid;
}

/* The pieces of frame f (as received, tagged or not; fi: what uk_frame_parse found) as port p
 * sends it in VLAN vid, its tag kept, added, removed or replaced, into iov: their count. */
static int frame_pieces(const struct uk_switch *sw, const struct port *p, const uint8_t *f,
			size_t len, const struct uk_frame_info *fi, uint16_t vid, struct iovec *iov)
{
	bool tagged = fi->tagged, want_tag = p->conf.trunk && vid != p->conf.vlan;
	int n = 0;

	if (tagged && want_tag && fi->vlan != vid) {
		/* a priority tag (VID 0) on a frame of another VLAN: the tag is replaced */
		iov[n++] = (struct iovec){(void *)f, 12};
		iov[n++] = (struct iovec){(void *)sw->tags[vid], UK_VLAN_HLEN};
		iov[n++] = (struct iovec){(void *)(f + 16), len - 16};
	} else if (tagged == want_tag) {
		iov[n++] = (struct iovec){(void *)f, len};
	} else if (tagged) { /* strip the tag */
		iov[n++] = (struct iovec){(void *)f, 12};
		iov[n++] = (struct iovec){(void *)(f + 16), len - 16};
	} else { /* add one */
		iov[n++] = (struct iovec){(void *)f, 12};
		iov[n++] = (struct iovec){(void *)sw->tags[vid], UK_VLAN_HLEN};
		iov[n++] = (struct iovec){(void *)(f + 12), len - 12};
	}
	return n;
}

static void flush_port(struct uk_switch *sw, int id, struct port *p);

/* Queue one message on port id: the frame's n pieces (behind the VXLAN header on a VXLAN
 * port) to name. A VXLAN port's batch may fill with copies of a flood: it is sent then. */
static void queue_msg(struct uk_switch *sw, int id, const struct iovec *pieces, int n, void *name,
		      socklen_t namelen)
{
	struct port *p = sw->ports[id];
	struct iovec *iov;
	size_t k = 0;

	if (p->vx && p->nout == UK_SW_BATCH)
		flush_port(sw, id, p);
	if (p->dead || p->nout == UK_SW_BATCH) {
		p->st.tx_drops++;
		return;
	}
	iov = p->iov[p->nout];
	if (p->vx)
		iov[k++] = (struct iovec){p->vx->hdr, UK_VXLAN_HLEN};
	for (int i = 0; i < n; i++)
		iov[k++] = pieces[i];
	p->out[p->nout].msg_hdr = (struct msghdr){
		.msg_iov = iov,
		.msg_iovlen = k,
		.msg_name = name,
		.msg_namelen = namelen,
	};
	p->nout++;
	if (!p->dirty) {
		p->dirty = true;
		sw->dirty[sw->ndirty++] = id;
	}
}

/* Queue frame f on port id for VLAN vid; on a VXLAN port, to the remote via (the one its
 * destination was learned from), or to each remote when via is -1. */
static void enqueue(struct uk_switch *sw, int id, const uint8_t *f, size_t len,
		    const struct uk_frame_info *fi, uint16_t vid, int via)
{
	struct port *p = sw->ports[id];
	struct iovec pieces[IOV_PER_FRAME - 1];
	int n = frame_pieces(sw, p, f, len, fi, vid, pieces);
	struct vxlan *vx = p->vx;

	if (!vx) {
		queue_msg(sw, id, pieces, n, p->addrlen ? &p->addr : NULL, p->addrlen);
		return;
	}
	if (via >= vx->c.nremotes)
		via = -1;
	for (int r = 0; r < vx->c.nremotes; r++)
		if (via < 0 || via == r)
			queue_msg(sw, id, pieces, n, &vx->c.remotes[r],
				  uk_vxlan_addr_len(&vx->c.remotes[r]));
}

void uk_sw_forward(struct uk_switch *sw, int in, const uint8_t *f, size_t len, uint64_t now,
		   int via)
{
	struct port *p = sw->ports[in];
	struct uk_frame_info fi;
	uint16_t vid;
	int out, to;

	if (uk_frame_parse(f, len, sw->o.mtu, &fi) < 0) {
		p->st.rx_drops++;
		return;
	}
	/* classify: an access port's frames belong to its VLAN (a tag, if any, must say so, and
	 * no second tag may follow: a trunk would strip the first and carry the frame into the
	 * VLAN of the second) */
	if (!p->conf.trunk &&
	    ((fi.vlan != UK_VLAN_NONE && fi.vlan != p->conf.vlan) ||
	     (fi.tagged && (fi.ethertype == UK_ETH_P_8021Q || fi.ethertype == UK_ETH_P_8021AD)))) {
		p->st.rx_drops++;
		return;
	}
	vid = fi.vlan != UK_VLAN_NONE ? fi.vlan : p->conf.vlan;
	p->st.rx_frames++;
	p->st.rx_bytes += len;
	if (sw->capture_fd >= 0 && (sw->capture_port < 0 || sw->capture_port == in))
		uk_sw_capture(sw, in, f, len);
	if (!sw->o.hub) {
		if (uk_fdb_learn_via(sw->fdb, fi.src, vid, in, via, now) == -ENOSPC)
			sw->fdb_evicted++;
		if (!fi.multicast) {
			out = uk_fdb_lookup_via(sw->fdb, fi.dst, vid, now, &to);
			if (out == in)
				return; /* it is on the port it came from */
			if (out >= 0 && sw->ports[out] && port_in_vlan(sw->ports[out], vid)) {
				p->to_loaded += sw->ports[out]->loads;
				enqueue(sw, out, f, len, &fi, vid, to);
				return;
			}
		}
	}
	/* never back out of the port it came in on: a VXLAN port's remotes are a full mesh,
	 * each floods to the others itself */
	for (int i = 0; i < UK_SW_MAX_PORTS; i++)
		if (i != in && sw->ports[i] && port_in_vlan(sw->ports[i], vid))
			enqueue(sw, i, f, len, &fi, vid, -1);
}

static void mark_dead(struct uk_switch *sw, int id)
{
	struct port *p = sw->ports[id];

	if (p->dead)
		return;
	p->dead = true;
	if (sw->o.port_dead)
		sw->o.port_dead(sw->o.ctx, id);
}

static void flush_callback(struct uk_switch *sw, struct port *p)
{
	for (unsigned i = 0; i < p->nout; i++) {
		const struct msghdr *m = &p->out[i].msg_hdr;
		size_t n = 0;

		for (size_t k = 0; k < m->msg_iovlen; k++) {
			memcpy(sw->scratch + n, m->msg_iov[k].iov_base, m->msg_iov[k].iov_len);
			n += m->msg_iov[k].iov_len;
		}
		if (p->send(p->priv, sw->scratch, n) < 0) {
			p->st.tx_drops++;
		} else {
			p->st.tx_frames++;
			p->st.tx_bytes += n;
		}
	}
}

/* Whether port p keeps what its socket refuses (see the top of this file). */
static bool keeps_backlog(const struct port *p)
{
	return p->dgram && p->owns_fd;
}

static void set_blocked(struct uk_switch *sw, int id, bool blocked)
{
	if (sw->o.port_blocked)
		sw->o.port_blocked(sw->o.ctx, id, blocked);
}

/* The backlog of p, made on first use; NULL when there is no memory for it. */
static struct backlog *backlog_of(struct uk_switch *sw, struct port *p)
{
	if (!p->blog) {
		struct backlog *b = calloc(1, sizeof(*b));

		if (!b)
			return NULL;
		b->slot = sw->max_frame + UK_VLAN_HLEN;
		b->buf = malloc(b->slot * UK_SW_BACKLOG);
		if (!b->buf) {
			free(b);
			return NULL;
		}
		p->blog = b;
	}
	return p->blog;
}

/* Keep p's frames out[from..nout) behind its backlog; what does not fit is dropped. */
static void stash(struct uk_switch *sw, int id, struct port *p, unsigned from)
{
	struct backlog *b = backlog_of(sw, p);
	bool was_empty = !b || b->count == 0;

	for (unsigned i = from; i < p->nout; i++) {
		const struct msghdr *m = &p->out[i].msg_hdr;
		unsigned k;
		size_t n = 0;

		if (!b || b->count == UK_SW_BACKLOG) {
			p->st.tx_drops++;
			continue;
		}
		k = (b->head + b->count++) % UK_SW_BACKLOG;
		for (size_t j = 0; j < m->msg_iovlen; j++) {
			memcpy(b->buf + k * b->slot + n, m->msg_iov[j].iov_base,
			       m->msg_iov[j].iov_len);
			n += m->msg_iov[j].iov_len;
		}
		b->len[k] = (uint32_t)n;
	}
	if (was_empty && b && b->count)
		set_blocked(sw, id, true);
}

/* Send what p's backlog (which it has) holds, oldest first, while its socket takes it. */
static void drain(struct uk_switch *sw, int id, struct port *p)
{
	struct backlog *b = p->blog;
	struct mmsghdr mm[UK_SW_BATCH];
	struct iovec iov[UK_SW_BATCH];

	while (b->count) {
		unsigned n = b->count < UK_SW_BATCH ? b->count : UK_SW_BATCH;
		int sent;

		for (unsigned i = 0; i < n; i++) {
			unsigned k = (b->head + i) % UK_SW_BACKLOG;

			iov[i] = (struct iovec){b->buf + k * b->slot, b->len[k]};
			mm[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
		}
		sent = sendmmsg(p->fd, mm, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0 && !uk_sw_peer_full(errno)) {
			mark_dead(sw, id);
			return; /* its removal counts the backlog as dropped */
		}
		if (sent <= 0)
			return; /* still full: the owner polls for room */
		for (int i = 0; i < sent; i++) {
			p->st.tx_frames++;
			p->st.tx_bytes += iov[i].iov_len;
		}
		b->head = (b->head + (unsigned)sent) % UK_SW_BACKLOG;
		b->count -= (unsigned)sent;
	}
	set_blocked(sw, id, false);
}

static void flush_socket(struct uk_switch *sw, int id, struct port *p)
{
	unsigned done = 0;

	if (p->blog && p->blog->count) {
		drain(sw, id, p);
		if (p->blog->count || p->dead) { /* new frames go behind the old */
			stash(sw, id, p, 0);
			return;
		}
	}
	while (done < p->nout) {
		int n = sendmmsg(p->fd, p->out + done, p->nout - done, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!uk_sw_peer_full(errno) && p->owns_fd)
				mark_dead(sw, id);
			else if (keeps_backlog(p)) {
				stash(sw, id, p, done);
				break;
			}
			/* EAGAIN: the peer's queue is full; it was slow, the rest is dropped.
			 * The shared legacy socket stays: one gone guest is its own problem (its
			 * control connection tells us). */
			p->st.tx_drops += p->nout - done;
			break;
		}
		for (int i = 0; i < n; i++) {
			p->st.tx_frames++;
			p->st.tx_bytes += uk_sw_iov_len(&p->out[done + (unsigned)i].msg_hdr);
		}
		done += (unsigned)n;
	}
}

/* Send what port id has queued. */
static void flush_port(struct uk_switch *sw, int id, struct port *p)
{
	if (p->send)
		flush_callback(sw, p);
	else if (p->vx)
		uk_sw_vxlan_flush(p);
	else if (p->fd >= 0)
		flush_socket(sw, id, p);
	p->nout = 0;
}

void uk_sw_flush(struct uk_switch *sw)
{
	for (int d = 0; d < sw->ndirty; d++) {
		int id = sw->dirty[d];
		struct port *p = id >= 0 ? sw->ports[id] : NULL;

		if (!p)
			continue;
		flush_port(sw, id, p);
		p->dirty = false;
	}
	sw->ndirty = 0;
}

/* The receive batch: each frame (with a VXLAN header in front when vxlan) into its slot, and
 * its sender's address when names. */
static void setup_rx(struct uk_switch *sw, bool names, bool vxlan)
{
	for (int i = 0; i < UK_SW_BATCH; i++) {
		sw->rxiov[i] = (struct iovec){sw->rxbuf + (size_t)i * sw->rxslot,
					      sw->max_frame + 1 + (vxlan ? UK_VXLAN_HLEN : 0)};
		sw->rx[i].msg_hdr = (struct msghdr){
			.msg_iov = &sw->rxiov[i],
			.msg_iovlen = 1,
			.msg_name = names ? &sw->rxaddr[i] : NULL,
			.msg_namelen = names ? sizeof(sw->rxaddr[i]) : 0,
		};
	}
}

static void note_received(struct uk_switch *sw, int id, unsigned i, uint64_t now)
{
	struct mmsghdr *m = &sw->rx[i];

	if (m->msg_hdr.msg_flags & MSG_TRUNC || m->msg_len > sw->max_frame) {
		sw->ports[id]->st.rx_drops++; /* longer than the MTU allows */
		return;
	}
	uk_sw_forward(sw, id, sw->rxiov[i].iov_base, m->msg_len, now, -1);
}

/* Receive and forward one batch from a socket port: the frame count, or -1 once it is dead. */
static int port_batch(struct uk_switch *sw, int id, struct port *p, uint64_t now)
{
	int n;

	n = recvmmsg(p->fd, sw->rx, UK_SW_BATCH, MSG_DONTWAIT, NULL);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		mark_dead(sw, id); /* EOF (seqpacket) or the peer is gone */
		return -1;
	}
	if (n < 0)
		return 0;
	sw->frames_in += (unsigned)n;
	sw->busy = true;
	for (int i = 0; i < n; i++) {
		/* an empty packet is a seqpacket peer's EOF (and never a frame); on a legacy
		 * port's datagram socket it is a frame too short, dropped and counted */
		if (sw->rx[i].msg_len == 0 && !p->dgram) {
			mark_dead(sw, id);
			n = -1;
			break;
		}
		note_received(sw, id, (unsigned)i, now);
	}
	uk_sw_flush(sw);
	sw->busy = false;
	return n;
}

void uk_switch_port_writable(struct uk_switch *sw, int id)
{
	struct port *p = uk_sw_port(sw, id);

	if (p && p->blog && p->blog->count && p->fd >= 0 && !p->dead)
		drain(sw, id, p);
}

void uk_switch_port_readable(struct uk_switch *sw, int id)
{
	struct port *p = uk_sw_port(sw, id);
	uint64_t now = uk_switch_now_ms();

	if (!p || p->fd < 0 || p->dead)
		return;
	setup_rx(sw, p->vx != NULL, p->vx != NULL);
	if (p->vx) {
		for (int round = 0; round < UK_SW_DRAIN_BATCHES; round++)
			if (uk_sw_vxlan_batch(sw, id, p, now) < UK_SW_BATCH)
				break;
		return;
	}
	/* a full batch means more may wait: take a few more now rather than after a poll */
	for (int round = 0; round < UK_SW_DRAIN_BATCHES; round++)
		if (port_batch(sw, id, p, now) < UK_SW_BATCH || p->dead)
			break;
}

/* Whether port p is the one on the shared data socket whose guest sends from address a. Only
 * such ports have an address; an unnamed sender (len 0) is nobody's. */
static bool sends_from(const struct port *p, const struct sockaddr_un *a, socklen_t len)
{
	return p && p->conf.kind == UK_PORT_DAEMON && !p->owns_fd && len > 0 && p->addrlen == len &&
	       !memcmp(&p->addr, a, len);
}

static int daemon_uk_sw_port(struct uk_switch *sw, const struct sockaddr_un *a, socklen_t len)
{
	int c = sw->last_daemon;

	if (c >= 0 && sends_from(sw->ports[c], a, len))
		return c;
	for (int i = 0; i < UK_SW_MAX_PORTS; i++)
		if (sends_from(sw->ports[i], a, len))
			return sw->last_daemon = i;
	return -1;
}

void uk_switch_daemon_readable(struct uk_switch *sw, int data_fd)
{
	uint64_t now = uk_switch_now_ms();
	int n;

	setup_rx(sw, true, false);
	n = recvmmsg(data_fd, sw->rx, UK_SW_BATCH, MSG_DONTWAIT, NULL);
	if (n > 0)
		sw->frames_in += (unsigned)n;
	sw->busy = true;
	for (int i = 0; i < n; i++) {
		int id = daemon_uk_sw_port(sw, &sw->rxaddr[i].un, sw->rx[i].msg_hdr.msg_namelen);

		if (id >= 0)
			note_received(sw, id, (unsigned)i, now);
		else
			sw->stray++;
	}
	uk_sw_flush(sw);
	sw->busy = false;
}

void uk_switch_input(struct uk_switch *sw, int id, const void *frame, size_t len)
{
	struct port *p = uk_sw_port(sw, id);

	if (!p)
		return;
	/* a frame handed in from inside a send() callback, or too long: dropped, counted */
	if (len > sw->max_frame || sw->busy) {
		p->st.rx_drops++;
		return;
	}
	sw->frames_in++;
	sw->busy = true;
	uk_sw_forward(sw, id, frame, len, uk_switch_now_ms(), -1);
	uk_sw_flush(sw);
	sw->busy = false;
}

void uk_switch_port_set_loads(struct uk_switch *sw, int id, bool loads)
{
	struct port *p = uk_sw_port(sw, id);

	if (p)
		p->loads = loads;
}

uint64_t uk_switch_port_to_loaded(const struct uk_switch *sw, int id)
{
	const struct port *p = uk_sw_port(sw, id);

	return p ? p->to_loaded : 0;
}

uint32_t uk_switch_pause_frames(const struct uk_switch *sw)
{
	if (sw->nshared > 0)
		return UK_SW_PAUSE_FRAMES_SHARED;
	return sw->ndaemon > 0 ? UK_SW_PAUSE_FRAMES_DGRAM : UK_SW_PAUSE_FRAMES;
}

uint64_t uk_switch_stray_frames(const struct uk_switch *sw)
{
	return sw->stray;
}

uint64_t uk_switch_frames_in(const struct uk_switch *sw)
{
	return sw->frames_in;
}

void uk_switch_tick(struct uk_switch *sw)
{
	uk_fdb_age(sw->fdb, uk_switch_now_ms());
}

int uk_switch_port_info(const struct uk_switch *sw, int id, struct uk_port_conf *c,
			struct uk_port_stats *st)
{
	const struct port *p = uk_sw_port(sw, id);

	if (!p)
		return -ENOENT;
	if (c)
		*c = p->conf;
	if (st) {
		*st = p->st;
		st->held = p->blog ? p->blog->count : 0;
	}
	return 0;
}

int uk_switch_ports(const struct uk_switch *sw, int *ids, int max)
{
	int n = 0;

	for (int i = 0; i < UK_SW_MAX_PORTS && n < max; i++)
		if (sw->ports[i])
			ids[n++] = i;
	return n;
}

const struct uk_fdb *uk_switch_fdb(const struct uk_switch *sw)
{
	return sw->fdb;
}

uint64_t uk_switch_fdb_evicted(const struct uk_switch *sw)
{
	return sw->fdb_evicted;
}
