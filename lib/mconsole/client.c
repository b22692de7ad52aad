// SPDX-License-Identifier: LGPL-2.1-or-later
/* mconsole I/O: one command and its whole reply; the notification listener. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "umlkit/mconsole.h"
#include "umlkit/util.h"

void uk_mc_reply_free(struct uk_mc_reply *reply)
{
	if (reply) {
		free(reply->text);
		reply->text = NULL;
		reply->len = 0;
	}
}

static int set_addr(struct sockaddr_un *sa, const char *path, struct uk_err *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!*path)
		return uk_err_set(err, EINVAL, "empty socket path");
	if (strlen(path) >= sizeof(sa->sun_path))
		return uk_err_set(err, ENAMETOOLONG, "%s: socket path longer than %zu bytes", path,
				  sizeof(sa->sun_path) - 1);
	strcpy(sa->sun_path, path);
	return 0;
}

/* Milliseconds on the monotonic clock. */
static int64_t mono_ms(void)
{
	return (int64_t)(uk_monotonic_ns() / 1000000);
}

/* Wait for a datagram until deadline (monotonic ms; < 0: no bound): 0 when readable,
 * -ETIMEDOUT, or -errno. */
static int wait_until(int fd, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int r;

	do {
		int64_t left = deadline < 0 ? -1 : UK_MAX(deadline - mono_ms(), (int64_t)0);

		r = poll(&pfd, 1, (int)UK_MIN(left, (int64_t)INT32_MAX));
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* The deadline timeout_ms from now (< 0: none). */
static int64_t deadline_in(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
}

/* One datagram, whole (MSG_TRUNC reports its real size). */
static ssize_t recv_dgram(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(fd, buf, len, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int append_text(struct uk_mc_reply *reply, const char *text, size_t len, struct uk_err *err)
{
	char *t;

	if (reply->len + len > UK_MC_REPLY_TEXT_MAX)
		return uk_err_set(err, EMSGSIZE, "mconsole reply longer than %u bytes",
				  UK_MC_REPLY_TEXT_MAX);
	t = realloc(reply->text, reply->len + len + 1);
	if (!t)
		return uk_err_set(err, ENOMEM, "mconsole reply: out of memory");
	memcpy(t + reply->len, text, len);
	reply->len += len;
	t[reply->len] = '\0';
	reply->text = t;
	return 0;
}

static int send_request(int fd, const char *cmd, struct uk_err *err)
{
	uint8_t req[UK_MC_REQUEST_MAX];
	int len = uk_mc_request_encode(cmd, req, sizeof(req), err);
	ssize_t n;

	if (len < 0)
		return len;
	do
		n = send(fd, req, (size_t)len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return uk_err_sys(err, errno, "mconsole: send");
	if (n != len)
		return uk_err_set(err, EIO, "mconsole: sent %zd of %d bytes", n, len);
	return 0;
}

/*
 * The next datagram into buf (bufsize: one more than the largest one `what` may be), if it
 * comes before deadline (< 0: no bound). Returns its length, -ETIMEDOUT (no message: the
 * caller says how long it waited for what), or another negative errno.
 */
static ssize_t recv_until(int fd, int64_t deadline, uint8_t *buf, size_t bufsize, const char *what,
			  struct uk_err *err)
{
	ssize_t n;
	int r = wait_until(fd, deadline);

	if (r == -ETIMEDOUT)
		return -ETIMEDOUT;
	if (r < 0)
		return uk_err_sys(err, -r, "%s: poll", what);
	n = recv_dgram(fd, buf, bufsize);
	if (n < 0)
		return uk_err_sys(err, (int)-n, "%s: receive", what);
	if ((size_t)n > bufsize - 1)
		return uk_err_set(err, EBADMSG, "%s: datagram of %zd bytes, over %zu", what, n,
				  bufsize - 1);
	return n;
}

/* The next reply packet, if it comes before deadline (< 0: no bound). */
static int recv_packet(int fd, int64_t deadline, struct uk_mc_packet *p, struct uk_err *err)
{
	uint8_t buf[UK_MC_REPLY_MAX + 1];
	ssize_t n = recv_until(fd, deadline, buf, sizeof(buf), "mconsole reply", err);

	return n < 0 ? (int)n : uk_mc_reply_decode(buf, (size_t)n, p, err);
}

/* Gather packets into reply until one says no more, the deadline passes or a bound is hit. */
static int gather(int fd, int timeout_ms, struct uk_mc_reply *reply, struct uk_err *err)
{
	int64_t deadline = deadline_in(timeout_ms);
	struct uk_mc_packet p;
	int r;

	do {
		if (reply->packets >= UK_MC_REPLY_PACKETS_MAX)
			return uk_err_set(err, EMSGSIZE, "mconsole reply of more than %u packets",
					  UK_MC_REPLY_PACKETS_MAX);
		r = recv_packet(fd, deadline, &p, err);
		if (r == -ETIMEDOUT && !reply->packets)
			return uk_err_set(err, ETIMEDOUT, "mconsole: no reply within %d ms",
					  timeout_ms);
		if (r == -ETIMEDOUT)
			return uk_err_set(err, ETIMEDOUT,
					  "mconsole: reply incomplete after %d ms (%u packets, "
					  "the last saying more)",
					  timeout_ms, reply->packets);
		if (r < 0)
			return r;
		if (reply->packets++ == 0) {
			reply->err = p.err;
			reply->v0 = p.v0;
		}
		r = append_text(reply, p.text, p.len, err);
		if (r < 0)
			return r;
	} while (p.more);
	return 0;
}

int uk_mc_transact(int fd, const char *cmd, int timeout_ms, struct uk_mc_reply *reply,
		   struct uk_err *err)
{
	int r;

	memset(reply, 0, sizeof(*reply));
	r = send_request(fd, cmd, err);
	if (r < 0)
		return r;
	reply->text = calloc(1, 1);
	if (!reply->text)
		return uk_err_set(err, ENOMEM, "mconsole reply: out of memory");
	r = gather(fd, timeout_ms, reply, err);
	if (r < 0) {
		uk_mc_reply_free(reply);
		return r;
	}
	reply->ok = reply->err == UK_MC_ERR_OK;
	return 0;
}

int uk_mc_command(const char *sock_path, const char *cmd, int timeout_ms, struct uk_mc_reply *reply,
		  struct uk_err *err)
{
	sa_family_t autobind = AF_UNIX;
	struct sockaddr_un sa;
	_cleanup_close_ int fd = -1;
	int r;

	memset(reply, 0, sizeof(*reply));
	r = set_addr(&sa, sock_path, err);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return uk_err_sys(err, errno, "mconsole: socket");
	/* the kernel answers to the sender's address: an abstract autobind name */
	if (bind(fd, (const struct sockaddr *)&autobind, sizeof(autobind)) < 0)
		return uk_err_sys(err, errno, "mconsole: bind");
	/* connected: only the kernel's datagrams are received */
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0)
		return uk_err_sys(err, errno, "%s", sock_path);
	r = uk_mc_transact(fd, cmd, timeout_ms, reply, err);
	if (r < 0)
		uk_err_prefix(err, r, "%s: ", sock_path);
	return r;
}

/* A socket file nobody is bound to any more (ECONNREFUSED on connect). */
static bool is_stale_socket(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	_cleanup_close_ int fd = -1;

	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	return connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno == ECONNREFUSED;
}

int uk_mc_notify_open(const char *path, struct uk_err *err)
{
	struct sockaddr_un sa;
	_cleanup_close_ int fd = -1;
	int r;

	r = set_addr(&sa, path, err);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return uk_err_sys(err, errno, "mconsole notify: socket");
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EADDRINUSE)
			return uk_err_sys(err, errno, "%s: bind", path);
		if (!is_stale_socket(path, &sa))
			return uk_err_set(err, EEXIST, "%s: exists and is not a stale socket",
					  path);
		if (unlink(path) < 0 && errno != ENOENT)
			return uk_err_sys(err, errno, "%s: remove stale socket", path);
		if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0)
			return uk_err_sys(err, errno, "%s: bind", path);
	}
	if (chmod(path, 0600) < 0) {
		r = uk_err_sys(err, errno, "%s: chmod", path);
		unlink(path);
		return r;
	}
	return TAKE_FD(fd);
}

int uk_mc_notify_recv(int fd, int timeout_ms, struct uk_mc_notify *n, struct uk_err *err)
{
	uint8_t buf[UK_MC_NOTIFY_MAX + 1];
	ssize_t len =
		recv_until(fd, deadline_in(timeout_ms), buf, sizeof(buf), "mconsole notify", err);

	if (len == -ETIMEDOUT)
		return uk_err_set(err, ETIMEDOUT, "mconsole notify: nothing within %d ms",
				  timeout_ms);
	return len < 0 ? (int)len : uk_mc_notify_decode(buf, (size_t)len, n, err);
}
