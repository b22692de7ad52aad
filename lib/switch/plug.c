// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A plug: a port of a running switch carried over a byte stream (stdin and stdout), so that
 * anything that moves bytes can join two networks: `dpipe`, `socat`, `ssh`. The stream holds
 * each frame behind its length in two bytes, big-endian: the format of VDE's vde_plug, so a
 * plug and a vde_plug joined by dpipe join an umlkit switch and a VDE switch.
 *
 * The port is one end of a SEQPACKET socketpair handed to the switch (kind "plug"); this
 * process relays between it and the stream until the stream ends (0) or the switch does.
 * A frame the switch would drop (too short, too long) is passed on for it to count; an empty
 * one, which would read as the port's end, is dropped here. A stream that ends inside a
 * frame is an error.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"

#define STREAM_MAX (2 + 65535) /* a length and the longest frame it can name */

struct plug {
	int sock, in, out;
	uint8_t buf[2 * STREAM_MAX]; /* the stream's bytes not yet sent as frames */
	size_t have;
	uint8_t out_buf[STREAM_MAX]; /* a frame from the switch behind its length */
};

/* The complete frames at the head of the stream buffer go to the switch. */
static int to_switch(struct plug *p, const char *name, struct uk_err *err)
{
	size_t at = 0;

	while (p->have - at >= 2) {
		size_t len = (size_t)p->buf[at] << 8 | p->buf[at + 1];

		if (p->have - at - 2 < len)
			break;
		if (len != 0 && send(p->sock, p->buf + at + 2, len, MSG_NOSIGNAL) < 0 &&
		    errno != EMSGSIZE && errno != ENOBUFS)
			return uk_err_sys(err, errno, "switch '%s': sending a frame", name);
		at += 2 + len;
	}
	memmove(p->buf, p->buf + at, p->have - at);
	p->have -= at;
	return 0;
}

/* Read what the stream has; 1 at its end. */
static int from_stream(struct plug *p, const char *name, struct uk_err *err)
{
	ssize_t n = read(p->in, p->buf + p->have, sizeof(p->buf) - p->have);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : uk_err_sys(err, errno, "stdin");
	if (n == 0 && p->have == 1)
		return uk_err_set(err, EPROTO, "stdin ended inside a frame's length");
	if (n == 0 && p->have)
		return uk_err_set(err, EPROTO, "stdin ended inside a frame (%zu bytes of it came)",
				  p->have - 2);
	if (n == 0)
		return 1;
	p->have += (size_t)n;
	return to_switch(p, name, err);
}

/* One frame from the switch onto the stream; 1 when the switch closed the port. */
static int to_stream(struct plug *p, const char *name, struct uk_err *err)
{
	int r;
	ssize_t n = recv(p->sock, p->out_buf + 2, sizeof(p->out_buf) - 2, MSG_DONTWAIT);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN
			       ? 0
			       : uk_err_sys(err, errno, "switch '%s': receiving", name);
	if (n == 0)
		return 1;
	p->out_buf[0] = (uint8_t)(n >> 8);
	p->out_buf[1] = (uint8_t)n;
	r = uk_write_all(p->out, p->out_buf, (size_t)n + 2);
	return r < 0 ? uk_err_sys(err, -r, "stdout") : 0;
}

int uk_switch_plug(const char *name, const struct uk_port_conf *conf, int in, int out,
		   struct uk_err *err)
{
	struct uk_port_conf c = *conf;
	struct plug *p = calloc(1, sizeof(*p));
	int sv[2], r = 0;

	if (!p)
		return uk_err_set(err, ENOMEM, "out of memory");
	c.kind = UK_PORT_PLUG;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(p);
		return uk_err_sys(err, errno, "socketpair");
	}
	r = uk_switch_attach_fd(name, sv[1], &c, err);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		free(p);
		return r;
	}
	*p = (struct plug){.sock = sv[0], .in = in, .out = out};
	for (r = 0; r == 0;) {
		struct pollfd pf[2] = {{.fd = in, .events = POLLIN},
				       {.fd = sv[0], .events = POLLIN}};

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = uk_err_sys(err, errno, "poll");
			break;
		}
		if (pf[1].revents)
			r = to_stream(p, name, err);
		if (r == 1)
			r = uk_err_set(err, EPIPE, "switch '%s' closed the plug's port", name);
		else if (r == 0 && pf[0].revents)
			r = from_stream(p, name, err);
	}
	close(sv[0]);
	free(p);
	return r == 1 ? 0 : r;
}
