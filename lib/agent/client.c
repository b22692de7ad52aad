// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The host client of the guest agent (umlkit/agent.h): one session over a connection to the
 * guest's supervisor. Sends EXEC, then relays stdin against the agent's window and stdout
 * and stderr to the caller's descriptors, acknowledging each as it is written, until EXIT.
 * Until the agent answers, the wait is bounded: a guest whose image has no agent, or whose
 * agent is gone, gives a clear error rather than a hang.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umlkit/agent.h"
#include "umlkit/util.h"

struct run {
	int sock;
	const char *name;
	const struct uk_agent_io *io;
	struct uk_agent_rbuf rb;
	uint8_t *frame;
	uint32_t credit; /* stdin bytes the agent will take */
	bool in_open, started, out_broken, err_broken;
	struct uk_agent_result *res;
};

static int send_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

static int lost(struct run *r, struct uk_err *err)
{
	return uk_err_set(err, ECONNRESET, "guest '%s': the connection to its agent was lost%s",
			  r->name, r->started ? " (did the guest stop?)" : "");
}

static int send_u32(struct run *r, uint8_t type, uint32_t v, struct uk_err *err)
{
	uint8_t f[UK_AGENT_HDR + 4];

	return send_all(r->sock, f, uk_agent_frame_u32(f, type, 0, v)) < 0 ? lost(r, err) : 0;
}

static void winsize(int fd, uint16_t *rows, uint16_t *cols)
{
	struct winsize ws = {0};

	if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

static int send_winsize(struct run *r, struct uk_err *err)
{
	uint8_t f[UK_AGENT_HDR + 4];
	uint16_t rows = 0, cols = 0;

	winsize(r->io->tty_fd, &rows, &cols);
	uk_agent_frame_header(f, UK_AGENT_WINSIZE, 0, 4);
	uk_put_be32(f + UK_AGENT_HDR, (uint32_t)rows << 16 | cols);
	return send_all(r->sock, f, sizeof(f)) < 0 ? lost(r, err) : 0;
}

/* Write data to fd (once it fails, what follows is dropped: the session goes on). */
static void out(int fd, bool *broken, const uint8_t *p, size_t len)
{
	if (!*broken && fd >= 0 && uk_write_all(fd, p, len) < 0)
		*broken = true;
}

/* 1: the session ended (res filled), 0: go on, <0: error. */
static int on_frame(struct run *r, const struct uk_agent_frame *f, struct uk_err *err)
{
	uint32_t v;

	switch (f->type) {
	case UK_AGENT_STARTED:
		r->started = true;
		return 0;
	case UK_AGENT_STDOUT:
	case UK_AGENT_STDERR:
		if (!f->len)
			return 0;
		if (f->type == UK_AGENT_STDOUT) {
			out(r->io->out, &r->out_broken, f->payload, f->len);
		} else if (r->io->err == UK_AGENT_COLLECT) {
			size_t n = UK_MIN(f->len, UK_AGENT_TEXT_MAX - r->res->errlen);

			memcpy(r->res->errtext + r->res->errlen, f->payload, n);
			r->res->errlen += n;
			r->res->errtext[r->res->errlen] = '\0';
		} else {
			out(r->io->err, &r->err_broken, f->payload, f->len);
		}
		return send_u32(r, UK_AGENT_ACK, f->len, err);
	case UK_AGENT_ACK:
		if (uk_agent_u32_decode(f, &v, NULL) == 0)
			r->credit = (uint32_t)UK_MIN((uint64_t)r->credit + v, UK_AGENT_WINDOW);
		return 0;
	case UK_AGENT_EXIT:
		if (uk_agent_exit_decode(f, &r->res->status, &r->res->signal, err) < 0)
			return uk_err_prefix(err, -EBADMSG, "guest '%s': ", r->name);
		return 1;
	case UK_AGENT_ERROR:
		if (uk_agent_error_decode(f, &r->res->error, r->res->msg, sizeof(r->res->msg),
					  err) < 0)
			return uk_err_prefix(err, -EBADMSG, "guest '%s': ", r->name);
		return 1;
	}
	return 0;
}

static int on_sock(struct run *r, struct uk_err *err)
{
	struct uk_agent_frame f;
	size_t room;
	uint8_t *at = uk_agent_rbuf_space(&r->rb, &room);
	ssize_t n = recv(r->sock, at, room, 0);
	int k, e;

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return lost(r, err);
	uk_agent_rbuf_fill(&r->rb, (size_t)n);
	while ((k = uk_agent_rbuf_next(&r->rb, &f, err)) > 0) {
		e = on_frame(r, &f, err);
		if (e)
			return e;
	}
	return k < 0 ? uk_err_prefix(err, k, "guest '%s': ", r->name) : 0;
}

static int on_input(struct run *r, struct uk_err *err)
{
	size_t want = UK_MIN(r->credit, UK_AGENT_PAYLOAD_MAX);
	ssize_t n = read(r->io->in, r->frame + UK_AGENT_HDR, want);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0)
		n = 0; /* an unreadable input ends like an empty one */
	if (n == 0)
		r->in_open = false;
	r->credit -= (uint32_t)n;
	uk_agent_frame_header(r->frame, UK_AGENT_STDIN, 0, (uint32_t)n);
	return send_all(r->sock, r->frame, UK_AGENT_HDR + (size_t)n) < 0 ? lost(r, err) : 0;
}

static int loop(struct run *r, int timeout_s, struct uk_err *err)
{
	uint64_t deadline = uk_monotonic_ns() + (uint64_t)timeout_s * 1000000000u;

	for (;;) {
		struct pollfd p[3] = {{.fd = r->sock, .events = POLLIN},
				      {.fd = -1, .events = POLLIN},
				      {.fd = -1, .events = POLLIN}};
		int ms = -1, e;

		if (r->started && r->in_open && r->credit)
			p[1].fd = r->io->in;
		if (r->started)
			p[2].fd = r->io->winch_fd;
		if (!r->started) {
			uint64_t now = uk_monotonic_ns();

			if (now >= deadline)
				return uk_err_set(err, ETIMEDOUT,
						  "guest '%s': no agent answered in %d s (does its "
						  "image have umlkit-agent? umlkit image build and "
						  "image adapt install it)",
						  r->name, timeout_s);
			ms = (int)((deadline - now) / 1000000u) + 1;
		}
		if (poll(p, 3, ms) < 0) {
			if (errno == EINTR)
				continue;
			return uk_err_sys(err, errno, "poll");
		}
		if (p[0].revents) {
			e = on_sock(r, err);
			if (e)
				return e < 0 ? e : 0;
		}
		if (p[1].revents && r->in_open) {
			e = on_input(r, err);
			if (e < 0)
				return e;
		}
		if (p[2].revents) {
			struct signalfd_siginfo si;

			if (read(r->io->winch_fd, &si, sizeof(si)) > 0 && send_winsize(r, err) < 0)
				return -ECONNRESET;
		}
	}
}

int uk_agent_run(int sock, const char *name, uint32_t flags, char *const *argv, char *const *envp,
		 const struct uk_agent_io *io, int timeout_s, struct uk_agent_result *res,
		 struct uk_err *err)
{
	struct run r = {.sock = sock,
			.name = name,
			.io = io,
			.credit = UK_AGENT_WINDOW,
			.in_open = (flags & UK_AGENT_EXEC_STDIN) && io->in >= 0,
			.res = res};
	uint16_t rows = 0, cols = 0;
	ssize_t n;
	int e;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	r.frame = malloc(UK_AGENT_FRAME_MAX);
	if (!r.frame || uk_agent_rbuf_init(&r.rb) < 0) {
		free(r.frame);
		close(sock);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	winsize(io->tty_fd, &rows, &cols);
	n = uk_agent_exec_encode(r.frame + UK_AGENT_HDR, UK_AGENT_PAYLOAD_MAX, flags, rows, cols,
				 argv, envp);
	if (n < 0) {
		e = uk_err_set(err, (int)-n, "guest '%s': the command is %s", name,
			       n == -E2BIG ? "too long" : "not valid");
	} else {
		uk_agent_frame_header(r.frame, UK_AGENT_EXEC, 0, (uint32_t)n);
		e = send_all(sock, r.frame, UK_AGENT_HDR + (size_t)n) < 0
			    ? lost(&r, err)
			    : loop(&r, timeout_s, err);
	}
	free(r.frame);
	uk_agent_rbuf_free(&r.rb);
	close(sock);
	return e;
}
