/* bench/bare-forwarder.c: the floor under any switch on the fd transport, for bench/switch.
 *
 * Usage: bare-forwarder PIDFILE COALESCE_US LOG_A CMD_A... -- LOG_B CMD_B...
 *
 * Makes two AF_UNIX SEQPACKET socketpairs, starts the two commands (UML kernels) each in its
 * own session with one end as fd 3 (vec0:transport=fd,fd=3), its stdout and stderr to LOG,
 * and LD_PRELOAD set to $BARE_PRELOAD when that is set and not empty. Writes "PID_A PID_B" to
 * PIDFILE (through PIDFILE.tmp and a rename), then moves every frame from one kernel to the
 * other and back, as a two-port switch would, until both kernels have exited.
 *
 * It does only what no switch on this transport can avoid: poll, recvmmsg from one end,
 * sendmmsg to the other (never blocking; a frame the peer cannot take is dropped), with the
 * same batching and interrupt moderation as `umlkit switch`, from libumlkit's own constants
 * and function: up to UK_SW_DRAIN_BATCHES batches of UK_SW_BATCH frames per readable end,
 * and after each round the pause of uk_switch_pause with COALESCE_US as the longest (0: no
 * pause). No learning table, no counters per port, no checks.
 * Its CPU per frame, measured beside the switches in the same run, is the cost of the kernel's
 * socket work that every frame through any such switch pays.
 *
 * SIGTERM and SIGINT are passed on to both kernels' process groups. Exit: 0, or 1 on a setup
 * error (with a message on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "../lib/switch/engine-internal.h"

#define BATCH	  UK_SW_BATCH
#define ROUNDS	  UK_SW_DRAIN_BATCHES
#define FRAME_MAX 65536

struct end {
	int fd;
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
};

static char bufs[BATCH][FRAME_MAX];
static volatile sig_atomic_t got_signal;
static pid_t kids[2];

static void on_signal(int sig)
{
	got_signal = sig;
}

static uint64_t now_us(void)
{
	return uk_monotonic_ns() / 1000;
}

static pid_t spawn(char **cmd, int keep, int close_fds[4])
{
	const char *pre = getenv("BARE_PRELOAD");
	pid_t pid = fork();
	int log;

	if (pid != 0)
		return pid;
	setsid();
	for (int i = 0; i < 4; i++)
		if (close_fds[i] != keep)
			close(close_fds[i]);
	if (dup2(keep, 3) < 0 || (keep != 3 && close(keep) < 0)) {
		perror("bare-forwarder: dup2");
		_exit(127);
	}
	log = open(cmd[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) {
		fprintf(stderr, "bare-forwarder: %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	if (pre && *pre)
		setenv("LD_PRELOAD", pre, 1);
	execvp(cmd[1], cmd + 1);
	fprintf(stderr, "bare-forwarder: exec %s: %s\n", cmd[1], strerror(errno));
	_exit(127);
}

/* Move up to ROUNDS batches from one end to the other; returns the frames read, -1 at EOF. */
static int pass(struct end *from, struct end *to)
{
	int total = 0;

	for (int r = 0; r < ROUNDS; r++) {
		int n = recvmmsg(from->fd, from->msg, BATCH, MSG_DONTWAIT, NULL);

		if (n <= 0)
			return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ? -1 : total;
		/* send the frames just read, from the same buffers, at their received lengths */
		for (int i = 0; i < n; i++)
			from->iov[i].iov_len = from->msg[i].msg_len;
		(void)sendmmsg(to->fd, from->msg, (unsigned)n, MSG_DONTWAIT | MSG_NOSIGNAL);
		for (int i = 0; i < n; i++)
			from->iov[i].iov_len = FRAME_MAX;
		total += n;
		if (n < BATCH)
			break;
	}
	return total;
}

static void setup_end(struct end *e, int fd)
{
	e->fd = fd;
	for (int i = 0; i < BATCH; i++) {
		e->iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = FRAME_MAX};
		memset(&e->msg[i], 0, sizeof(e->msg[i]));
		e->msg[i].msg_hdr.msg_iov = &e->iov[i];
		e->msg[i].msg_hdr.msg_iovlen = 1;
	}
}

static void forward(struct end ends[2], long coalesce_us)
{
	struct uk_switch_load load = {0};
	uint64_t frames = 0;
	int live = 2;

	while (live > 0 && !got_signal) {
		struct pollfd pf[2];

		for (int i = 0; i < 2; i++)
			pf[i] = (struct pollfd){.fd = ends[i].fd, .events = POLLIN};
		if (poll(pf, 2, 1000) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			int n;

			if (ends[i].fd < 0 || !pf[i].revents)
				continue;
			n = pass(&ends[i], &ends[1 - i]);
			if (n < 0 || (pf[i].revents & (POLLHUP | POLLERR))) {
				ends[i].fd = -1; /* poll ignores it from now on */
				live--;
			} else {
				frames += (unsigned)n;
			}
		}
		if (coalesce_us <= 0)
			continue;
		uint32_t us = uk_switch_pause(&load, now_us(), frames, (uint32_t)coalesce_us);
		if (us > 0) {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)us * 1000};

			nanosleep(&ts, NULL);
		}
	}
}

int main(int argc, char **argv)
{
	struct end ends[2];
	int a[2], b[2], all[4], sep = 0;
	char tmp[4200];
	FILE *f;

	for (int i = 4; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			sep = i;
	if (argc < 7 || sep < 5 || sep + 2 >= argc) {
		fprintf(stderr, "usage: bare-forwarder PIDFILE COALESCE_US LOG_A CMD_A... -- LOG_B "
				"CMD_B...\n");
		return 1;
	}
	argv[sep] = NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, a) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, b) < 0) {
		perror("bare-forwarder: socketpair");
		return 1;
	}
	all[0] = a[0], all[1] = a[1], all[2] = b[0], all[3] = b[1];
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	kids[0] = spawn(argv + 3, a[1], all);
	kids[1] = spawn(argv + sep + 1, b[1], all);
	if (kids[0] < 0 || kids[1] < 0) {
		perror("bare-forwarder: fork");
		return 1;
	}
	close(a[1]);
	close(b[1]);
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d %d\n", (int)kids[0], (int)kids[1]) < 0 || fclose(f) != 0 ||
	    rename(tmp, argv[1]) < 0) {
		fprintf(stderr, "bare-forwarder: %s: %s\n", argv[1], strerror(errno));
		kill(-kids[0], SIGTERM);
		kill(-kids[1], SIGTERM);
		return 1;
	}
	setup_end(&ends[0], a[0]);
	setup_end(&ends[1], b[0]);
	forward(ends, strtol(argv[2], NULL, 10));
	if (got_signal) {
		kill(-kids[0], SIGTERM);
		kill(-kids[1], SIGTERM);
	}
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	return 0;
}
