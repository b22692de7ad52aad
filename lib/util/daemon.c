// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Starting a daemon, one way for every daemon of umlkit (the switch, uml_switch -daemon, the
 * guest supervisor): fork, setsid, fork again (the daemon leads no session, so it never gets
 * a controlling terminal), umask, chdir("/") (it holds no directory busy), stdin, stdout and
 * stderr on /dev/null, every other inherited fd closed but those the caller keeps. The daemon
 * reports on a CLOEXEC pipe in lines, "WORD ...\n", or "failed MSG\n"; the caller reads them
 * with uk_daemon_wait, bounded by a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlkit/util.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Close every fd from lo to hi (inclusive): close_range, or one by one where it is missing. */
static int close_from_to(unsigned lo, unsigned hi)
{
	struct rlimit rl;

	if (lo > hi)
		return 0;
	if (close_range(lo, hi, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < hi)
		hi = (unsigned)rl.rlim_cur;
	for (unsigned fd = lo; fd <= hi && fd < 1048576u; fd++)
		close((int)fd);
	return 0;
}

int uk_close_fds_except(const int *keep, int nkeep)
{
	int sorted[UK_DAEMON_KEEP_MAX + 1];
	unsigned next = 3;
	int n = 0, r;

	if (nkeep < 0 || nkeep > UK_DAEMON_KEEP_MAX)
		return -EINVAL;
	for (int i = 0; i < nkeep; i++)
		if (keep[i] >= 3)
			sorted[n++] = keep[i];
	qsort(sorted, (size_t)n, sizeof(sorted[0]), cmp_int);
	for (int i = 0; i < n; i++) {
		if ((unsigned)sorted[i] < next)
			continue; /* given twice */
		r = close_from_to(next, (unsigned)sorted[i] - 1);
		if (r < 0)
			return r;
		next = (unsigned)sorted[i] + 1;
	}
	return close_from_to(next, ~0U);
}

static bool kept(const struct uk_daemon_opts *o, int fd)
{
	for (int i = 0; i < o->nkeep; i++)
		if (o->keep[i] == fd)
			return true;
	return false;
}

/* stdin, stdout and stderr on /dev/null, but those kept. */
static int null_stdio(const struct uk_daemon_opts *o)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		return -errno;
	for (int fd = 0; fd < 3; fd++) {
		if (!kept(o, fd) && dup2(null, fd) < 0) {
			int e = errno;

			close(null);
			return -e;
		}
	}
	close(null);
	return 0;
}

/* In the daemon: everything but the forks; a step that fails is reported, and it exits. */
static void become_daemon(const struct uk_daemon_opts *o, int report)
{
	int keep[UK_DAEMON_KEEP_MAX + 1];
	const char *what = "chdir /";
	int r = 0;

	umask(o->umask);
	if (chdir("/") < 0)
		r = -errno;
	if (r == 0) {
		what = "/dev/null";
		r = null_stdio(o);
	}
	if (r == 0) {
		what = "closing inherited fds";
		if (o->nkeep) /* keep may be NULL then */
			memcpy(keep, o->keep, (size_t)o->nkeep * sizeof(keep[0]));
		keep[o->nkeep] = report;
		r = uk_close_fds_except(keep, o->nkeep + 1);
	}
	if (r < 0) {
		dprintf(report, "failed starting the daemon: %s: %s\n", what, strerror(-r));
		_exit(1);
	}
}

int uk_daemon_start(const struct uk_daemon_opts *o, int *report, struct uk_err *err)
{
	int pfd[2], wst;
	pid_t pid, g;

	*report = -1;
	if (o->nkeep < 0 || o->nkeep > UK_DAEMON_KEEP_MAX)
		return uk_err_set(err, EINVAL, "a daemon keeps at most %d fds", UK_DAEMON_KEEP_MAX);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return uk_err_sys(err, errno, "pipe");
	fflush(NULL); /* nothing buffered is written twice */
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pfd[0]);
		close(pfd[1]);
		return uk_err_sys(err, e, "fork");
	}
	if (pid == 0) {
		close(pfd[0]);
		if (setsid() < 0) {
			dprintf(pfd[1], "failed starting the daemon: setsid: %s\n",
				strerror(errno));
			_exit(1);
		}
		g = fork();
		if (g < 0)
			dprintf(pfd[1], "failed starting the daemon: fork: %s\n", strerror(errno));
		if (g != 0)
			_exit(g < 0 ? 1 : 0);
		become_daemon(o, pfd[1]);
		*report = pfd[1];
		return 0;
	}
	close(pfd[1]);
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	*report = pfd[0];
	return 1;
}

/* A complete line in r's buffer: its length (without the newline), or -1. */
static ssize_t line_end(const struct uk_daemon_reader *r)
{
	const char *nl = memchr(r->buf, '\n', r->used);

	return nl ? nl - r->buf : -1;
}

/* Take the first line out of r's buffer into line (cut to len - 1 bytes). */
static void take_line(struct uk_daemon_reader *r, size_t n, char *line, size_t len)
{
	size_t c = UK_MIN(n, len - 1);

	memcpy(line, r->buf, c);
	line[c] = '\0';
	r->used -= n + 1;
	memmove(r->buf, r->buf + n + 1, r->used);
}

/* One line, waiting for it until deadline_ms. */
static int next_line(struct uk_daemon_reader *r, int64_t deadline_ms, char *line, size_t len,
		     struct uk_err *err)
{
	for (;;) {
		struct pollfd pf = {.fd = r->fd, .events = POLLIN};
		int64_t left = deadline_ms - (int64_t)(uk_monotonic_ns() / 1000000);
		ssize_t n = line_end(r);

		if (n >= 0) {
			take_line(r, (size_t)n, line, len);
			return 0;
		}
		if (r->used == sizeof(r->buf)) /* a line longer than the buffer: its start */
			r->used = 0;
		if (left <= 0)
			return uk_err_set(err, ETIMEDOUT, "no report in time");
		if (poll(&pf, 1, (int)UK_MIN(left, 60000)) < 0 && errno != EINTR)
			return uk_err_sys(err, errno, "poll");
		if (!pf.revents)
			continue;
		n = read(r->fd, r->buf + r->used, sizeof(r->buf) - r->used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return uk_err_set(err, ECANCELED, "the daemon ended without a report");
		r->used += (size_t)n;
	}
}

int uk_daemon_wait(struct uk_daemon_reader *r, const char *want, int64_t deadline_ms, char *line,
		   size_t len, struct uk_err *err)
{
	size_t wl = strlen(want);
	char buf[sizeof(r->buf) + 1];

	for (;;) {
		int rc = next_line(r, deadline_ms, buf, sizeof(buf), err);

		if (rc < 0)
			return rc;
		if (!strncmp(buf, "failed ", 7))
			return uk_err_set(err, ECANCELED, "%s", buf + 7);
		if (!strncmp(buf, want, wl) && (buf[wl] == ' ' || buf[wl] == '\0')) {
			if (line && len)
				snprintf(line, len, "%s", buf);
			return 0;
		}
	}
}
