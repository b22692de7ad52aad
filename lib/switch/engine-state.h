/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The forwarding engine's own state, shared by the files it is made of: engine.c (ports,
 * forwarding, batches), engine-vxlan.c (VXLAN ports) and capture.c (captures). Nothing else
 * includes it: the others see engine-internal.h.
 */
#ifndef UK_SWITCH_ENGINE_STATE_H
#define UK_SWITCH_ENGINE_STATE_H

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>

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

/* The port with this id, or NULL (no such port, or an id out of range). */
static inline struct port *uk_sw_port(const struct uk_switch *sw, int id)
{
	return id >= 0 && id < UK_SW_MAX_PORTS ? sw->ports[id] : NULL;
}

/* Whether a send failed with errno e because the peer's queue (or ours) is full, for now:
 * the peer is slow, not gone. */
static inline bool uk_sw_peer_full(int e)
{
	return e == EAGAIN || e == ENOBUFS || e == ENOMEM;
}

static inline size_t uk_sw_iov_len(const struct msghdr *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->msg_iovlen; i++)
		n += m->msg_iov[i].iov_len;
	return n;
}

/* ---- engine.c ---- */
/* Forward one frame received on port `in` (through its VXLAN remote via; else -1). The frame
 * stays valid until uk_sw_flush(). */
void uk_sw_forward(struct uk_switch *sw, int in, const uint8_t *f, size_t len, uint64_t now,
		   int via);
/* Send what every port has queued. */
void uk_sw_flush(struct uk_switch *sw);

/* ---- engine-vxlan.c ---- */
/* Receive and forward one batch of VXLAN port p (id): its count. */
int uk_sw_vxlan_batch(struct uk_switch *sw, int id, struct port *p, uint64_t now);
/* Send VXLAN port p's batch. */
void uk_sw_vxlan_flush(struct port *p);

/* ---- capture.c ---- */
/* Write frame f received on port into the capture (which is on). */
void uk_sw_capture(struct uk_switch *sw, int port, const uint8_t *f, size_t len);

#endif
