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
#include "engine-internal.h"

#define IOV_PER_FRAME 4 /* a VXLAN header, then the frame's head, tag, rest */

/* A sender's address: a legacy guest's (unix) or a VXLAN remote's. */
union rx_addr {
	struct sockaddr_un un;
	union uk_vxlan_addr ip;
};

/* A VXLAN port's own part (see uk_switch_add_vxlan_port). */
struct vxlan {
	struct uk_vxlan_conf c;
	struct uk_vxlan_stats st;
	uint8_t hdr[UK_VXLAN_HLEN]; /* the header of every datagram it sends */
};

/* A ring of frames a port's socket refused, oldest at head. */
struct backlog {
	unsigned head, count;
	size_t slot; /* bytes per frame */
	uint32_t len[UK_SW_BACKLOG];
	uint8_t *buf; /* UK_SW_BACKLOG slots */
};

struct port {
	bool used;
	struct uk_port_conf conf;
	struct uk_port_stats st;
	int fd; /* socket ports: the socket (for a daemon port, maybe the shared one) */
	bool owns_fd;
	bool dgram;		 /* a legacy daemon port, counted in ndaemon */
	struct sockaddr_un addr; /* daemon ports on the shared socket: the guest's address */
	socklen_t addrlen;
	int (*send)(void *priv, const void *frame, size_t len);
	void *priv;
	/* frames waiting to go out in this batch */
	struct mmsghdr out[UK_SW_BATCH];
	struct iovec iov[UK_SW_BATCH][IOV_PER_FRAME];
	unsigned nout;
	bool dirty;
	bool dead;
	bool loads;	      /* its input brings the load (uk_switch_port_set_loads) */
	uint64_t to_loaded;   /* frames received here that went to a port that did */
	struct backlog *blog; /* a legacy guest's own socket: what it refused, see above */
	struct vxlan *vx;     /* a VXLAN port's remotes and counters; NULL for the others */
};

struct uk_switch {
	struct uk_switch_opts o;
	unsigned max_frame;
	struct uk_fdb *fdb;
	struct port *ports[UK_SW_MAX_PORTS];
	int dirty[UK_SW_MAX_PORTS];
	int ndirty;
	/* receive buffers for one batch */
	uint8_t *rxbuf;
	size_t rxslot; /* bytes per frame in rxbuf: the largest frame, one more, a VXLAN header */
	struct mmsghdr rx[UK_SW_BATCH];
	struct iovec rxiov[UK_SW_BATCH];
	union rx_addr rxaddr[UK_SW_BATCH];
	uint8_t tags[UK_VLAN_MAX + 1][UK_VLAN_HLEN];
	uint8_t *scratch; /* one frame, for callback ports */
	int capture_fd, capture_port;
	uint64_t capture_drops; /* records a full pipe had no room for */
	uint64_t fdb_evicted;	/* live addresses the full learning table forgot for new ones */
	bool busy;	    /* forwarding: a callback port's send() must not feed frames back in */
	uint64_t frames_in; /* every frame received, for the daemon's load estimate */
	uint64_t stray;	    /* frames on the legacy data socket from no guest's address */
	int last_daemon;    /* the daemon port last matched, a cache for the address search */
	int ndaemon;	    /* legacy daemon ports (uk_switch_pause_frames) */
	int nshared;	    /* ... of them on the shared legacy socket */
};

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

int uk_switch_add_vxlan_port(struct uk_switch *sw, int fd, const struct uk_port_conf *c,
			     const struct uk_vxlan_conf *vx, struct uk_err *err)
{
	struct vxlan *v;
	int id, want = UK_SW_SNDBUF;

	if (vx->nremotes < 1 || vx->nremotes > UK_VXLAN_MAX_REMOTES || vx->vni > UK_VXLAN_VNI_MAX)
		return uk_err_set(err, EINVAL,
				  "a VXLAN port needs 1..%d remotes and a VNI of 0..%u",
				  UK_VXLAN_MAX_REMOTES, UK_VXLAN_VNI_MAX);
	v = calloc(1, sizeof(*v));
	if (!v)
		return uk_err_set(err, ENOMEM, "out of memory");
	id = uk_switch_add_socket_port(sw, fd, c, NULL, 0, err);
	if (id < 0) {
		free(v);
		return id;
	}
	v->c = *vx;
	uk_vxlan_encode(v->hdr, vx->vni);
	sw->ports[id]->vx = v;
	/* a burst of a guest's frames from a remote waits in the socket for our next round */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
	return id;
}

/* The port with this id, or NULL (no such port, or an id out of range). */
static struct port *port_of(const struct uk_switch *sw, int id)
{
	return id >= 0 && id < UK_SW_MAX_PORTS ? sw->ports[id] : NULL;
}

void uk_switch_remove_port(struct uk_switch *sw, int id)
{
	struct port *p = port_of(sw, id);

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
	const struct port *p = port_of(sw, id);

	return p && p->owns_fd ? p->fd : -1;
}

int uk_switch_port_socket(const struct uk_switch *sw, int id)
{
	const struct port *p = port_of(sw, id);

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

static void capture(struct uk_switch *sw, int port, const uint8_t *f, size_t len);

/* Forward one frame received on port `in` (through its VXLAN remote via; else -1). The frame
 * stays valid until flush(). */
static void forward(struct uk_switch *sw, int in, const uint8_t *f, size_t len, uint64_t now,
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
		capture(sw, in, f, len);
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

static size_t iov_len(const struct msghdr *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->msg_iovlen; i++)
		n += m->msg_iov[i].iov_len;
	return n;
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

/* Whether a send failed with errno e because the peer's queue (or ours) is full, for now:
 * the peer is slow, not gone. */
static bool peer_full(int e)
{
	return e == EAGAIN || e == ENOBUFS || e == ENOMEM;
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
		if (sent < 0 && !peer_full(errno)) {
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
			if (!peer_full(errno) && p->owns_fd)
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
			p->st.tx_bytes += iov_len(&p->out[done + (unsigned)i].msg_hdr);
		}
		done += (unsigned)n;
	}
}

/* The remote of a VXLAN port that message m goes to. */
static int remote_of(const struct port *p, const struct msghdr *m)
{
	return (int)((const union uk_vxlan_addr *)m->msg_name - p->vx->c.remotes);
}

/* A VXLAN port's batch: a datagram a remote cannot take (unreachable, no route) is counted
 * and the rest still go; a full socket drops what is left. The port stays either way. */
static void flush_vxlan(struct port *p)
{
	unsigned done = 0;

	while (done < p->nout) {
		int n = sendmmsg(p->fd, p->out + done, p->nout - done, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && peer_full(errno)) {
			p->st.tx_drops += p->nout - done;
			break;
		}
		if (n < 0) {
			p->st.tx_drops++;
			p->vx->st.tx_errors[remote_of(p, &p->out[done++].msg_hdr)]++;
			continue;
		}
		for (int i = 0; i < n; i++) {
			const struct msghdr *m = &p->out[done + (unsigned)i].msg_hdr;

			p->st.tx_frames++;
			p->st.tx_bytes += iov_len(m) - UK_VXLAN_HLEN;
			p->vx->st.tx_frames[remote_of(p, m)]++;
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
		flush_vxlan(p);
	else if (p->fd >= 0)
		flush_socket(sw, id, p);
	p->nout = 0;
}

static void flush(struct uk_switch *sw)
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
	forward(sw, id, sw->rxiov[i].iov_base, m->msg_len, now, -1);
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
	flush(sw);
	sw->busy = false;
	return n;
}

void uk_switch_port_writable(struct uk_switch *sw, int id)
{
	struct port *p = port_of(sw, id);

	if (p && p->blog && p->blog->count && p->fd >= 0 && !p->dead)
		drain(sw, id, p);
}

/* The remote of p that sent from a (namelen bytes), or -1. */
static int remote_index(const struct vxlan *vx, const union uk_vxlan_addr *a, socklen_t namelen)
{
	if (namelen < sizeof(struct sockaddr_in) ||
	    (a->sa.sa_family == AF_INET6 && namelen < sizeof(struct sockaddr_in6)))
		return -1;
	for (int r = 0; r < vx->c.nremotes; r++)
		if (uk_vxlan_same_host(&vx->c.remotes[r], a))
			return r;
	return -1;
}

/* Datagram i of VXLAN port id: its frame forwarded, or dropped and counted. */
static void vxlan_received(struct uk_switch *sw, int id, struct port *p, unsigned i, uint64_t now)
{
	const struct mmsghdr *m = &sw->rx[i];
	const uint8_t *d = sw->rxiov[i].iov_base;
	struct vxlan *vx = p->vx;
	int via = remote_index(vx, &sw->rxaddr[i].ip, m->msg_hdr.msg_namelen);
	uint32_t vni;

	p->st.rx_drops++; /* until it is forwarded */
	if (via < 0)
		vx->st.strangers++;
	else if (uk_vxlan_decode(d, m->msg_len, &vni) < 0)
		vx->st.bad_header++;
	else if (vni != vx->c.vni)
		vx->st.wrong_vni++;
	else if (!(m->msg_hdr.msg_flags & MSG_TRUNC) &&
		 m->msg_len - UK_VXLAN_HLEN <= sw->max_frame) {
		p->st.rx_drops--;
		vx->st.rx_frames[via]++;
		forward(sw, id, d + UK_VXLAN_HLEN, m->msg_len - UK_VXLAN_HLEN, now, via);
	}
}

/* Receive and forward one batch of a VXLAN port: its count. UDP has no end: an error (an
 * ICMP error a remote caused) is no reason to remove the port. */
static int vxlan_batch(struct uk_switch *sw, int id, struct port *p, uint64_t now)
{
	int n = recvmmsg(p->fd, sw->rx, UK_SW_BATCH, MSG_DONTWAIT, NULL);

	if (n <= 0)
		return 0;
	sw->frames_in += (unsigned)n;
	sw->busy = true;
	for (int i = 0; i < n; i++)
		vxlan_received(sw, id, p, (unsigned)i, now);
	flush(sw);
	sw->busy = false;
	return n;
}

void uk_switch_port_readable(struct uk_switch *sw, int id)
{
	struct port *p = port_of(sw, id);
	uint64_t now = uk_switch_now_ms();

	if (!p || p->fd < 0 || p->dead)
		return;
	setup_rx(sw, p->vx != NULL, p->vx != NULL);
	if (p->vx) {
		for (int round = 0; round < UK_SW_DRAIN_BATCHES; round++)
			if (vxlan_batch(sw, id, p, now) < UK_SW_BATCH)
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

static int daemon_port_of(struct uk_switch *sw, const struct sockaddr_un *a, socklen_t len)
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
		int id = daemon_port_of(sw, &sw->rxaddr[i].un, sw->rx[i].msg_hdr.msg_namelen);

		if (id >= 0)
			note_received(sw, id, (unsigned)i, now);
		else
			sw->stray++;
	}
	flush(sw);
	sw->busy = false;
}

void uk_switch_input(struct uk_switch *sw, int id, const void *frame, size_t len)
{
	struct port *p = port_of(sw, id);

	if (!p)
		return;
	/* a frame handed in from inside a send() callback, or too long: dropped, counted */
	if (len > sw->max_frame || sw->busy) {
		p->st.rx_drops++;
		return;
	}
	sw->frames_in++;
	sw->busy = true;
	forward(sw, id, frame, len, uk_switch_now_ms(), -1);
	flush(sw);
	sw->busy = false;
}

void uk_switch_port_set_loads(struct uk_switch *sw, int id, bool loads)
{
	struct port *p = port_of(sw, id);

	if (p)
		p->loads = loads;
}

uint64_t uk_switch_port_to_loaded(const struct uk_switch *sw, int id)
{
	const struct port *p = port_of(sw, id);

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
	const struct port *p = port_of(sw, id);

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

int uk_switch_vxlan_info(const struct uk_switch *sw, int id, struct uk_vxlan_conf *vx,
			 struct uk_vxlan_stats *st)
{
	const struct port *p = port_of(sw, id);

	if (!p || !p->vx)
		return -ENOENT;
	if (vx)
		*vx = p->vx->c;
	if (st)
		*st = p->vx->st;
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

/* ---- captures (pcap: magic a1b2c3d4, v2.4, snaplen, LINKTYPE_ETHERNET) ---- */
int uk_switch_capture_start(struct uk_switch *sw, int port, int fd, struct uk_err *err)
{
	uint8_t h[24] = {0};
	int r;

	uk_switch_capture_stop(sw);
	uk_put_le32(h, 0xa1b2c3d4);
	h[4] = 2;
	h[6] = 4;
	uk_put_le32(h + 16, sw->max_frame);
	uk_put_le32(h + 20, 1);
	/* a reader that does not keep up loses records, never stalls the switch: not even
	 * the header's write may block (a pipe passed full, or whose reader never reads) */
	r = fcntl(fd, F_GETFL);
	if (r < 0 || fcntl(fd, F_SETFL, r | O_NONBLOCK) < 0) {
		r = errno;
		close(fd);
		return uk_err_sys(err, r, "capture: the file");
	}
	r = uk_write_all(fd, h, sizeof(h));
	if (r < 0) {
		close(fd);
		if (r == -EAGAIN || r == -EWOULDBLOCK)
			return uk_err_set(err, EAGAIN,
					  "capture: the pipe is full (its reader reads nothing)");
		return uk_err_sys(err, -r, "capture: writing the pcap header");
	}
	sw->capture_fd = fd;
	sw->capture_port = port;
	return 0;
}

void uk_switch_capture_stop(struct uk_switch *sw)
{
	if (sw->capture_fd >= 0)
		close(sw->capture_fd);
	sw->capture_fd = -1;
}

static void capture(struct uk_switch *sw, int port, const uint8_t *f, size_t len)
{
	struct timespec ts;
	uint8_t rec[16];
	struct iovec iov[2] = {{rec, sizeof(rec)}, {(void *)f, len}};
	ssize_t w;

	(void)port;
	clock_gettime(CLOCK_REALTIME, &ts);
	uk_put_le32(rec, (uint32_t)ts.tv_sec);
	uk_put_le32(rec + 4, (uint32_t)(ts.tv_nsec / 1000));
	uk_put_le32(rec + 8, (uint32_t)len);
	uk_put_le32(rec + 12, (uint32_t)len);
	w = writev(sw->capture_fd, iov, 2);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		sw->capture_drops++; /* a pipe whose reader lags: this record is lost */
	else if (w != (ssize_t)(sizeof(rec) + len))
		uk_switch_capture_stop(sw); /* the reader went away, the disk is full, or a
					       record was cut short (the stream is broken) */
}

uint64_t uk_switch_capture_drops(const struct uk_switch *sw)
{
	return sw->capture_drops;
}

uint64_t uk_switch_fdb_evicted(const struct uk_switch *sw)
{
	return sw->fdb_evicted;
}
