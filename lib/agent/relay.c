// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The supervisor's side of the guest agent (umlkit/agent.h): a socket for host clients (one
 * connection, one session), the channel to the agent, and the ring for large payloads going
 * into the guest. Everything is non-blocking, in the supervisor's poll loop.
 *
 * What the guest sends is hostile: a frame for a session goes only to the client of that
 * session (unknown sessions are dropped), only the types an agent sends are relayed, and a
 * client whose queue grows past the window the protocol allows is cut off. What clients send
 * is bounded by the windows too: the relay reads a client only while the queue to the agent
 * is short and the ring has room.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "umlkit/agent.h"
#include "umlkit/util.h"

#define TO_AGENT_MAX  (256u * 1024) /* read no client while more waits for the agent */
#define TO_CLIENT_MAX (UK_AGENT_WINDOW + 4 * UK_AGENT_FRAME_MAX)
#define RING_CHUNKS   (UK_AGENT_RING_SIZE / UK_AGENT_RING_ALIGN)

struct queue {
	uint8_t *buf;
	size_t start, len, cap;
};

struct client {
	int fd; /* -1: free */
	uint32_t id;
	bool started; /* EXEC sent on */
	bool done;    /* EXIT or a final ERROR queued: nothing more comes from the agent */
	struct uk_agent_rbuf in;
	struct queue out;
};

struct uk_agent_relay {
	char guest[64];
	int listen_fd;
	uid_t owner;
	int chan;
	struct uk_agent_rbuf chan_in;
	struct queue to_agent;
	bool hello;
	bool use_ring;
	bool line_window;     /* the agent sends LINE_ACK */
	uint32_t line_unread; /* bytes sent on the line it has not acknowledged */
	int ring_fd;
	uint32_t ring_head, ring_used;
	uint32_t chunk[RING_CHUNKS]; /* bytes each chunk in flight took, oldest first */
	uint32_t chunk_first, chunk_n;
	uint32_t next_id;
	struct client clients[UK_AGENT_SESSIONS];
};

static int q_push(struct queue *q, const void *a, size_t alen, const void *b, size_t blen)
{
	size_t need = alen + blen;

	if (q->start && q->start + q->len + need > q->cap) {
		memmove(q->buf, q->buf + q->start, q->len);
		q->start = 0;
	}
	if (q->len + need > q->cap) {
		size_t cap = q->cap ? q->cap : 65536;
		uint8_t *n;

		while (cap < q->len + need)
			cap *= 2;
		n = realloc(q->buf, cap);
		if (!n)
			return -ENOMEM;
		q->buf = n;
		q->cap = cap;
	}
	memcpy(q->buf + q->start + q->len, a, alen);
	if (blen)
		memcpy(q->buf + q->start + q->len + alen, b, blen);
	q->len += need;
	return 0;
}

/* Write at most max bytes of what the queue holds to fd: the count, or -errno on a broken
 * peer. */
static ssize_t q_flush_max(struct queue *q, int fd, size_t max)
{
	size_t sent = 0;

	while (q->len && sent < max) {
		ssize_t n = send(fd, q->buf + q->start, UK_MIN(q->len, max - sent),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		q->start += (size_t)n;
		q->len -= (size_t)n;
		sent += (size_t)n;
	}
	if (q->len)
		return (ssize_t)sent;
	q->start = 0;
	if (q->cap > 4 * 65536) { /* give a burst's memory back */
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
	return (ssize_t)sent;
}

/* Write what the queue holds to fd: 0, or -errno on a broken peer. */
static int q_flush(struct queue *q, int fd)
{
	ssize_t n = q_flush_max(q, fd, SIZE_MAX);

	return n < 0 ? (int)n : 0;
}
static void q_free(struct queue *q)
{
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

static int to_agent(struct uk_agent_relay *r, uint8_t type, uint32_t id, const void *p, size_t len)
{
	uint8_t hdr[UK_AGENT_HDR];

	if (r->chan < 0)
		return -ENOTCONN;
	uk_agent_frame_header(hdr, type, id, (uint32_t)len);
	return q_push(&r->to_agent, hdr, sizeof(hdr), p, len);
}

static void to_client(struct client *c, uint8_t type, const void *p, size_t len)
{
	uint8_t hdr[UK_AGENT_HDR];

	uk_agent_frame_header(hdr, type, 0, (uint32_t)len);
	if (q_push(&c->out, hdr, sizeof(hdr), p, len) < 0)
		c->done = true;
}

static void client_error(struct client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void client_error(struct client *c, int code, const char *fmt, ...)
{
	uint8_t p[4 + UK_AGENT_TEXT_MAX];
	va_list ap;
	int n;

	uk_put_be32(p, (uint32_t)code);
	va_start(ap, fmt);
	n = vsnprintf((char *)p + 4, UK_AGENT_TEXT_MAX, fmt, ap);
	va_end(ap);
	to_client(c, UK_AGENT_ERROR, p, 4 + (size_t)UK_MIN(n, UK_AGENT_TEXT_MAX - 1));
	c->done = true;
	q_flush(&c->out, c->fd);
}

static void drop_client(struct uk_agent_relay *r, struct client *c)
{
	if (c->started && !c->done)
		to_agent(r, UK_AGENT_CLOSE, c->id, NULL, 0);
	close(c->fd);
	uk_agent_rbuf_free(&c->in);
	q_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static struct client *by_id(struct uk_agent_relay *r, uint32_t id)
{
	for (int i = 0; i < UK_AGENT_SESSIONS; i++)
		if (r->clients[i].fd >= 0 && r->clients[i].id == id && r->clients[i].started)
			return &r->clients[i];
	return NULL;
}

int uk_agent_relay_new(struct uk_agent_relay **out, const char *guest, const char *sock_path,
		       uid_t owner_uid, int ring_fd, struct uk_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct uk_agent_relay *r;

	*out = NULL;
	if (strlen(sock_path) >= sizeof(a.sun_path))
		return uk_err_set(err, ENAMETOOLONG, "%s: socket path too long", sock_path);
	r = calloc(1, sizeof(*r));
	if (!r)
		return uk_err_set(err, ENOMEM, "out of memory");
	snprintf(r->guest, sizeof(r->guest), "%s", guest);
	r->owner = owner_uid;
	r->chan = -1;
	r->ring_fd = ring_fd;
	for (int i = 0; i < UK_AGENT_SESSIONS; i++)
		r->clients[i].fd = -1;
	if (uk_agent_rbuf_init(&r->chan_in) < 0) {
		free(r);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	strcpy(a.sun_path, sock_path);
	unlink(sock_path);
	r->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r->listen_fd < 0 || bind(r->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(sock_path, 0600) < 0 || listen(r->listen_fd, 16) < 0) {
		int e = errno;

		if (r->listen_fd >= 0)
			close(r->listen_fd);
		uk_agent_rbuf_free(&r->chan_in);
		free(r);
		return uk_err_sys(err, e, "%s", sock_path);
	}
	*out = r;
	return 0;
}

/* Every client learns that its session is over. */
static void fail_all(struct uk_agent_relay *r, int code, const char *why)
{
	for (int i = 0; i < UK_AGENT_SESSIONS; i++) {
		struct client *c = &r->clients[i];

		if (c->fd >= 0 && c->started && !c->done)
			client_error(c, code, "guest '%s': %s", r->guest, why);
	}
}

void uk_agent_relay_free(struct uk_agent_relay *r)
{
	if (!r)
		return;
	fail_all(r, ECONNRESET, "the guest stopped");
	for (int i = 0; i < UK_AGENT_SESSIONS; i++)
		if (r->clients[i].fd >= 0)
			drop_client(r, &r->clients[i]);
	if (r->chan >= 0)
		close(r->chan);
	close(r->listen_fd);
	uk_agent_rbuf_free(&r->chan_in);
	q_free(&r->to_agent);
	free(r);
}

static void reset_channel(struct uk_agent_relay *r)
{
	r->hello = false;
	r->use_ring = false;
	r->line_window = false;
	r->line_unread = 0;
	r->ring_head = r->ring_used = r->chunk_first = r->chunk_n = 0;
	r->chan_in.used = r->chan_in.start = 0;
	q_free(&r->to_agent);
}

void uk_agent_relay_attach(struct uk_agent_relay *r, int chan_fd)
{
	fail_all(r, ECONNRESET, "the guest restarted");
	if (r->chan >= 0)
		close(r->chan);
	r->chan = chan_fd;
	if (chan_fd >= 0)
		fcntl(chan_fd, F_SETFL, fcntl(chan_fd, F_GETFL) | O_NONBLOCK);
	reset_channel(r);
}

/* Bytes that may go on the line now. */
static size_t line_room(const struct uk_agent_relay *r)
{
	return r->line_window ? UK_AGENT_LINE_WINDOW - r->line_unread : SIZE_MAX;
}

/* Send what waits for the agent, within the line's window. */
static void chan_flush(struct uk_agent_relay *r)
{
	ssize_t n = q_flush_max(&r->to_agent, r->chan, line_room(r));

	if (n < 0)
		q_free(&r->to_agent);
	else if (r->line_window)
		r->line_unread += (uint32_t)n;
}

static bool can_read_clients(const struct uk_agent_relay *r)
{
	return r->chan >= 0 && r->hello && r->to_agent.len < TO_AGENT_MAX;
}

int uk_agent_relay_pollfds(struct uk_agent_relay *r, struct pollfd *p, int max)
{
	int n = 0;

	if (max < 2 + UK_AGENT_SESSIONS)
		return 0;
	p[n++] = (struct pollfd){.fd = r->listen_fd, .events = POLLIN};
	p[n++] = (struct pollfd){
		.fd = r->chan,
		.events = (short)(POLLIN | (r->to_agent.len && line_room(r) ? POLLOUT : 0))};
	for (int i = 0; i < UK_AGENT_SESSIONS; i++) {
		struct client *c = &r->clients[i];
		short ev = 0;

		if (c->fd < 0)
			continue;
		if (can_read_clients(r) && !c->done)
			ev |= POLLIN;
		if (c->out.len)
			ev |= POLLOUT;
		if (c->done && !c->out.len)
			ev |= POLLIN; /* its EOF, to free the slot */
		p[n++] = (struct pollfd){.fd = c->fd, .events = ev};
	}
	return n;
}

static void on_accept(struct uk_agent_relay *r)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c = NULL;
	int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != r->owner && cred.uid != 0)) {
		close(fd); /* not the guest's owner, nor root */
		return;
	}
	for (int i = 0; i < UK_AGENT_SESSIONS && !c; i++)
		if (r->clients[i].fd < 0)
			c = &r->clients[i];
	if (!c || uk_agent_rbuf_init(&c->in) < 0) {
		struct client tmp = {.fd = fd};

		client_error(&tmp, EAGAIN, "guest '%s': %d sessions at once already", r->guest,
			     UK_AGENT_SESSIONS);
		q_free(&tmp.out);
		close(fd);
		return;
	}
	c->fd = fd;
	if (++r->next_id == 0)
		r->next_id = 1;
	c->id = r->next_id;
}

/* A payload into the ring: 0 and the RING frame queued, -EAGAIN when the ring is full. */
static int ring_put(struct uk_agent_relay *r, uint8_t type, uint32_t id, const uint8_t *p,
		    uint32_t len)
{
	uint32_t alloc = (len + UK_AGENT_RING_ALIGN - 1) & ~(uint32_t)(UK_AGENT_RING_ALIGN - 1);
	uint32_t off = r->ring_head, take = alloc;
	uint8_t d[12] = {type};

	if (off + alloc > UK_AGENT_RING_SIZE) { /* the end is too short: start over */
		take += UK_AGENT_RING_SIZE - off;
		off = 0;
	}
	if (r->ring_used + take > UK_AGENT_RING_SIZE || r->chunk_n == RING_CHUNKS)
		return -EAGAIN;
	if (uk_pwrite_all(r->ring_fd, p, len, off) < 0) {
		r->use_ring = false; /* inline from now on */
		return -EIO;
	}
	uk_put_be32(d + 4, off);
	uk_put_be32(d + 8, len);
	r->chunk[(r->chunk_first + r->chunk_n++) % RING_CHUNKS] = take;
	r->ring_used += take;
	r->ring_head = (off + alloc) % UK_AGENT_RING_SIZE;
	return to_agent(r, UK_AGENT_RING, id, d, sizeof(d));
}

/* One frame from a client: 1 taken, 0 not now (the ring is full), -1 the client is bad. */
static int from_client(struct uk_agent_relay *r, struct client *c, const struct uk_agent_frame *f)
{
	bool ok = c->started ? (f->type == UK_AGENT_STDIN || f->type == UK_AGENT_ACK ||
				f->type == UK_AGENT_WINSIZE)
			     : f->type == UK_AGENT_EXEC;

	if (!ok)
		return -1;
	if (f->len > UK_AGENT_INLINE_MAX && r->use_ring) {
		int e = ring_put(r, f->type, c->id, f->payload, f->len);

		if (e == -EAGAIN)
			return 0;
		if (e == 0)
			goto taken;
	}
	if (to_agent(r, f->type, c->id, f->payload, f->len) < 0)
		return -1;
taken:
	c->started = true;
	return 1;
}

static void on_client(struct uk_agent_relay *r, struct client *c, short rev)
{
	if ((rev & POLLOUT) && q_flush(&c->out, c->fd) < 0) {
		drop_client(r, c);
		return;
	}
	if (!(rev & (POLLIN | POLLHUP | POLLERR)))
		return;
	if (c->done) {
		char b[256];
		ssize_t n = c->out.len ? 1 : recv(c->fd, b, sizeof(b), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			drop_client(r, c);
		return;
	}
	for (;;) {
		struct uk_agent_frame f;
		size_t room;
		uint8_t *at;
		ssize_t n, fl;

		/* the frames already here, while they can go on */
		while (can_read_clients(r)) {
			fl = uk_agent_frame_decode(c->in.buf + c->in.start,
						   c->in.used - c->in.start, &f, NULL);
			if (fl < 0) {
				drop_client(r, c);
				return;
			}
			if (fl == 0)
				break;
			int t = from_client(r, c, &f);

			if (t < 0) {
				drop_client(r, c);
				return;
			}
			if (t == 0)
				return; /* the ring is full: the rest waits for RING_FREE */
			c->in.start += (size_t)fl;
		}
		if (!can_read_clients(r))
			return;
		at = uk_agent_rbuf_space(&c->in, &room);
		if (!room)
			return;
		n = recv(c->fd, at, room, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			drop_client(r, c);
			return;
		}
		uk_agent_rbuf_fill(&c->in, (size_t)n);
	}
}

/* Frames the agent sends to a session, after their checks. */
static void from_agent(struct uk_agent_relay *r, const struct uk_agent_frame *f)
{
	struct client *c = by_id(r, f->session);
	char msg[UK_AGENT_TEXT_MAX + 1];
	uint32_t v;
	int a, b;

	switch (f->type) {
	case UK_AGENT_STDOUT:
	case UK_AGENT_STDERR:
		break;
	case UK_AGENT_STARTED:
	case UK_AGENT_ACK:
		if (uk_agent_u32_decode(f, &v, NULL) < 0)
			return;
		break;
	case UK_AGENT_EXIT:
		if (uk_agent_exit_decode(f, &a, &b, NULL) < 0)
			return;
		break;
	case UK_AGENT_ERROR:
		if (uk_agent_error_decode(f, &a, msg, sizeof(msg), NULL) < 0)
			return;
		break;
	default:
		return; /* nothing else goes to a client */
	}
	if (!c || c->done)
		return;
	to_client(c, f->type, f->payload, f->len);
	if (f->type == UK_AGENT_EXIT || f->type == UK_AGENT_ERROR)
		c->done = true;
	if (c->out.len > TO_CLIENT_MAX) {
		q_free(&c->out);
		to_agent(r, UK_AGENT_CLOSE, c->id, NULL, 0);
		client_error(c, EPROTO, "guest '%s': its agent sent more than it may", r->guest);
		return;
	}
	if (q_flush(&c->out, c->fd) < 0)
		drop_client(r, c);
}

static int on_chan(struct uk_agent_relay *r)
{
	struct uk_agent_frame f;
	struct uk_agent_hello h;
	int first = 0, k;

	for (;;) {
		size_t room;
		uint8_t *at = uk_agent_rbuf_space(&r->chan_in, &room);
		ssize_t n = read(r->chan, at, room);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* the kernel is gone */
			close(r->chan);
			r->chan = -1;
			fail_all(r, ECONNRESET, "the guest stopped");
			reset_channel(r);
			return first;
		}
		uk_agent_rbuf_fill(&r->chan_in, (size_t)n);
		while ((k = uk_agent_rbuf_next(&r->chan_in, &f, NULL)) > 0) {
			uint32_t v;

			if (f.type == UK_AGENT_HELLO && uk_agent_hello_decode(&f, &h, NULL) == 0) {
				if (r->hello)
					fail_all(r, ECONNRESET, "its agent restarted");
				first = !r->hello;
				reset_channel(r);
				r->hello = true;
				r->use_ring = r->ring_fd >= 0 && (h.flags & UK_AGENT_HELLO_RING);
				r->line_window = h.flags & UK_AGENT_HELLO_LINE_ACK;
			} else if (f.type == UK_AGENT_LINE_ACK &&
				   uk_agent_u32_decode(&f, &v, NULL) == 0) {
				r->line_unread -= UK_MIN(v, r->line_unread);
			} else if (f.type == UK_AGENT_RING_FREE &&
				   uk_agent_u32_decode(&f, &v, NULL) == 0) {
				for (; v && r->chunk_n; v--, r->chunk_n--) {
					r->ring_used -= r->chunk[r->chunk_first];
					r->chunk_first = (r->chunk_first + 1) % RING_CHUNKS;
				}
			} else {
				from_agent(r, &f);
			}
		}
		if (k < 0) /* garbage on the line: drop it and look for frames again */
			r->chan_in.used = r->chan_in.start = 0;
	}
	return first;
}

int uk_agent_relay_handle(struct uk_agent_relay *r, const struct pollfd *p, int n)
{
	int first = 0;

	for (int i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		if (p[i].fd == r->listen_fd) {
			on_accept(r);
		} else if (p[i].fd == r->chan && r->chan >= 0) {
			if (p[i].revents & POLLOUT)
				chan_flush(r);
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				first |= on_chan(r);
		} else {
			for (int j = 0; j < UK_AGENT_SESSIONS; j++)
				if (r->clients[j].fd == p[i].fd) {
					on_client(r, &r->clients[j], p[i].revents);
					break;
				}
		}
	}
	/* clients held back (the ring was full, the agent's queue long) may go on now */
	for (int j = 0; j < UK_AGENT_SESSIONS && can_read_clients(r); j++) {
		struct client *c = &r->clients[j];

		if (c->fd >= 0 && !c->done && c->in.used > c->in.start)
			on_client(r, c, POLLIN);
	}
	if (r->chan >= 0 && r->to_agent.len)
		chan_flush(r);
	return first;
}
