// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * notify-wait: receive the UML kernel's mconsole notifications (mconsole=notify:SOCKET)
 * for the shell tests, without python or socat.
 *
 *   notify-wait SOCKET TIMEOUT_SECONDS
 *
 * Binds an AF_UNIX SOCK_DGRAM socket at SOCKET (removed at exit), then waits at most
 * TIMEOUT_SECONDS for a type-3 notification (MCONSOLE_USER_NOTIFY: what the guest wrote to
 * /proc/mconsole) and prints its bytes on stdout. Other notifications are reported on stderr
 * ("notify type N: TEXT"). A datagram without the magic 0xCAFEBABE, version 2 and a length
 * inside the packet is reported on stderr and ignored. The socket exists once the program
 * has started listening: a test can wait for the file before booting the guest.
 *
 * Exit: 0 a notification was printed, 1 timeout or error, 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MCONSOLE_MAGIC	     0xCAFEBABEu
#define MCONSOLE_VERSION     2
#define MCONSOLE_USER_NOTIFY 3
#define NOTIFY_HDR	     16 /* magic, version, type, len: host-endian u32 each */

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	unsigned char buf[NOTIFY_HDR + 4096];
	double deadline;
	char *end;
	long secs;
	int fd, rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: notify-wait SOCKET TIMEOUT_SECONDS\n");
		return 2;
	}
	secs = strtol(argv[2], &end, 10);
	if (*end || secs <= 0 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "notify-wait: bad timeout or socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "notify-wait: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	deadline = now() + (double)secs;
	for (;;) {
		double left = deadline - now();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint32_t type, len;
		ssize_t n;
		int pr;

		if (left <= 0) {
			fprintf(stderr, "notify-wait: no notification within %ld s\n", secs);
			break;
		}
		pr = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			fprintf(stderr, "notify-wait: poll: %s\n", strerror(errno));
			break;
		}
		if (pr == 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "notify-wait: recv: %s\n", strerror(errno));
			break;
		}
		if (n < NOTIFY_HDR || get_u32(buf) != MCONSOLE_MAGIC ||
		    get_u32(buf + 4) != MCONSOLE_VERSION ||
		    get_u32(buf + 12) > (uint32_t)(n - NOTIFY_HDR)) {
			fprintf(stderr, "notify-wait: ignoring a malformed %zd-byte datagram\n", n);
			continue;
		}
		type = get_u32(buf + 8);
		len = get_u32(buf + 12);
		if (type != MCONSOLE_USER_NOTIFY) {
			/* types 0-2 carry a NUL-terminated text */
			fprintf(stderr, "notify type %u: %.*s\n", type,
				(int)strnlen((char *)buf + NOTIFY_HDR, len),
				(char *)buf + NOTIFY_HDR);
			continue;
		}
		if (fwrite(buf + NOTIFY_HDR, 1, len, stdout) != len || fflush(stdout) != 0) {
			fprintf(stderr, "notify-wait: cannot write to stdout\n");
			break;
		}
		rc = 0;
		break;
	}
	close(fd);
	unlink(argv[1]);
	return rc;
}
