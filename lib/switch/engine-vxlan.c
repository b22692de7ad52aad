// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's VXLAN ports (RFC 7348): a UDP socket whose datagrams carry frames behind the
 * 8-byte header. Receiving, a datagram is taken from a remote's address only (whatever its
 * source port), with the port's VNI and a well-formed header; its frame is forwarded with
 * the remote it came through, which the learning table keeps beside its source MAC. Sending,
 * each frame goes to the remote its destination was learned from, or to every remote when it
 * is flooded (engine.c queues one datagram per remote, behind the port's header); a remote
 * that refuses a datagram costs only that datagram.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "umlkit/util.h"
#include "engine-state.h"

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

/* The remote of a VXLAN port that message m goes to. */
static int remote_of(const struct port *p, const struct msghdr *m)
{
	return (int)((const union uk_vxlan_addr *)m->msg_name - p->vx->c.remotes);
}

/* A VXLAN port's batch: a datagram a remote cannot take (unreachable, no route) is counted
 * and the rest still go; a full socket drops what is left. The port stays either way. */
void uk_sw_vxlan_flush(struct port *p)
{
	unsigned done = 0;

	while (done < p->nout) {
		int n = sendmmsg(p->fd, p->out + done, p->nout - done, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && uk_sw_peer_full(errno)) {
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
			p->st.tx_bytes += uk_sw_iov_len(m) - UK_VXLAN_HLEN;
			p->vx->st.tx_frames[remote_of(p, m)]++;
		}
		done += (unsigned)n;
	}
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
		uk_sw_forward(sw, id, d + UK_VXLAN_HLEN, m->msg_len - UK_VXLAN_HLEN, now, via);
	}
}

/* Receive and forward one batch of a VXLAN port: its count. UDP has no end: an error (an
 * ICMP error a remote caused) is no reason to remove the port. */
int uk_sw_vxlan_batch(struct uk_switch *sw, int id, struct port *p, uint64_t now)
{
	int n = recvmmsg(p->fd, sw->rx, UK_SW_BATCH, MSG_DONTWAIT, NULL);

	if (n <= 0)
		return 0;
	sw->frames_in += (unsigned)n;
	sw->busy = true;
	for (int i = 0; i < n; i++)
		vxlan_received(sw, id, p, (unsigned)i, now);
	uk_sw_flush(sw);
	sw->busy = false;
	return n;
}

int uk_switch_vxlan_info(const struct uk_switch *sw, int id, struct uk_vxlan_conf *vx,
			 struct uk_vxlan_stats *st)
{
	const struct port *p = uk_sw_port(sw, id);

	if (!p || !p->vx)
		return -ENOENT;
	if (vx)
		*vx = p->vx->c;
	if (st)
		*st = p->vx->st;
	return 0;
}
