// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * legacy-req: send daemon-protocol control requests (good and malformed) to a legacy switch
 * control socket, for the shell tests.
 *
 *   legacy-req CTL KIND...
 *   legacy-req --bind PATH SECONDS   bind a datagram socket at PATH, print "bound", keep it
 *                                    SECONDS, then remove it
 *   legacy-req --ask SWITCH JSON     one request to switch SWITCH's control socket; prints
 *                                    the reply (e.g. '{"cmd":"legacy"}': guests, bad_requests)
 *
 * Each KIND is one connection. It prints "KIND: reply N" (the switch answered N bytes and
 * kept the connection), "KIND: closed" (the switch closed it without a reply) or
 * "KIND: open" (no reply, still connected after 2 s). Kinds:
 *   v3     a good v3 request naming a fresh abstract data socket (bound with 110 bytes)
 *   v1     a good v1 request;  v0  a good v0 request (no reply expected)
 *   short  10 bytes;  long  300 bytes;  magic  a wrong magic;  v2  version 2;
 *   v9     version 9;  type  type 7;  family  sun_family 2;
 *   extra  a good v3 request, its reply read, then one more byte (the port must go)
 *   dup    a v3 request naming the previous connection's data address again
 *   path=FILE  a v3 request naming a datagram socket it binds at FILE (its own)
 *   name=FILE  a v3 request naming FILE, a socket it did not bind (maybe someone else's)
 *   path0=FILE  a v0 request naming a datagram socket it binds at FILE (no reply expected)
 *   self   a v3 request naming the switch's address of the last reply (the switch's own
 *          socket: it must refuse it, or frames it sends there come back to it)
 *   stray  a good v3 request; then a frame from its data socket to the switch's address in
 *          the reply, and one from an address no request named (the reply's socket is the
 *          guest's own, connected to it: the kernel must refuse the stranger's):
 *          "stray: guest sent, stranger refused"
 *   unbound  a v3 request naming an address nothing is bound to (the switch cannot connect a
 *          socket of the guest's own to it: it replies with its shared data socket), then a
 *          frame to that from an address no request named (the switch must drop and count
 *          it): "unbound: stranger sent"
 *   two    two v3 requests: "two: replies differ" (each guest its own socket) or "two: same"
 *   burst  two v3 guests, B and A: B says its MAC (a broadcast), A sends B 60 frames at once
 *          while B reads nothing (B's socket queues 10 of them), then B reads: "burst: N of
 *          60 in order" (the switch must hold back what B's queue refused, and send it as B
 *          reads)
 *
 * Exit: 0 every connection was made, 1 an error, 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include "umlkit/switch.h"

#define MAGIC 0xFEEDFACEu

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static int last_fd = -1; /* the data socket of the last request built */

/* a fresh abstract data address, bound (kept open until exit) so the switch can send to it */
static int data_addr(uint8_t out[110])
{
	static unsigned serial;
	struct sockaddr_un a;
	struct timespec ts;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	put32((uint8_t *)a.sun_path + 4, (uint32_t)getpid());
	put32((uint8_t *)a.sun_path + 8, (uint32_t)ts.tv_nsec + serial++);
	memcpy(a.sun_path + 12, "legacy-req", 10);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	memcpy(out, &a, 110);
	return fd;
}

static uint8_t last_reply[110]; /* the switch's address in the last 110-byte reply */

/* A datagram socket bound at path (kept open until exit): its fd, or -1. */
static int bind_path(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int build(const char *kind, uint8_t *req, size_t *len)
{
	static uint8_t addr[110];
	const uint8_t mac[6] = {0x02, 0, 0, 0, 0x77, 0x01};
	bool v0 = !strcmp(kind, "v0") || !strncmp(kind, "path0=", 6);
	const char *file = NULL;

	if (!strncmp(kind, "path=", 5) || !strncmp(kind, "name=", 5))
		file = kind + 5;
	else if (!strncmp(kind, "path0=", 6))
		file = kind + 6;
	if (file) {
		if (strlen(file) >= 108 || (kind[0] == 'p' && bind_path(file) < 0))
			return -1;
		memset(addr, 0, sizeof(addr));
		addr[0] = AF_UNIX;
		memcpy(addr + 2, file, strlen(file));
	} else if (!strcmp(kind, "self"))
		memcpy(addr, last_reply, sizeof(addr));
	else if (strcmp(kind, "dup") && (last_fd = data_addr(addr)) < 0)
		return -1;
	if (!strcmp(kind, "unbound")) {
		close(last_fd); /* the name is free again: nothing is bound there */
		last_fd = -1;
	}
	memset(req, 0, 512);
	*len = 124;
	if (!strcmp(kind, "v1") || v0) {
		if (!v0)
			put32(req, MAGIC);
		memcpy(req + 8, mac, 6);
		memcpy(req + 14, addr, 110);
		*len = 128;
		return 0;
	}
	put32(req, MAGIC);
	put32(req + 4, 3);
	put32(req + 8, 0);
	memcpy(req + 12, addr, 110);
	if (!strcmp(kind, "v3") || !strcmp(kind, "extra") || !strcmp(kind, "dup") ||
	    !strcmp(kind, "stray") || !strcmp(kind, "unbound") || !strcmp(kind, "two") ||
	    !strcmp(kind, "burst") || !strcmp(kind, "self") || (file && strncmp(kind, "path0=", 6)))
		return 0;
	if (!strcmp(kind, "short"))
		*len = 10;
	else if (!strcmp(kind, "long"))
		*len = 300;
	else if (!strcmp(kind, "magic"))
		put32(req, 0xDEADBEEF);
	else if (!strcmp(kind, "v2"))
		put32(req + 4, 2);
	else if (!strcmp(kind, "v9"))
		put32(req + 4, 9);
	else if (!strcmp(kind, "type"))
		put32(req + 8, 7);
	else if (!strcmp(kind, "family"))
		req[12] = 2;
	else
		return -2;
	return 0;
}

/* One Ethernet frame to the switch's data address (its 110-byte reply) from fd, or from a
 * fresh address when fd is -1: 0 sent, or -errno. */
static int send_frame(int fd, const uint8_t *sw_addr)
{
	uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
			     0,	   0,	 0,    0x77, 0x02, 0x08, 0x06};
	uint8_t mine[110];
	int s = fd >= 0 ? fd : data_addr(mine), e;
	ssize_t n;

	if (s < 0)
		return -errno;
	n = sendto(s, frame, sizeof(frame), 0, (const struct sockaddr *)sw_addr, 110);
	e = errno;
	if (fd < 0)
		close(s);
	return n == (ssize_t)sizeof(frame) ? 0 : -e;
}

#define BURST 60

/* A frame from MAC 02:00:00:00:77:<src> to dst with sequence number seq: its length. */
static size_t seq_frame(uint8_t *f, const uint8_t dst[6], uint8_t src, unsigned seq)
{
	memset(f, 0x5a, 1000);
	memcpy(f, dst, 6);
	memcpy(f + 6, (const uint8_t[]){0x02, 0, 0, 0, 0x77, src}, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	f[14] = (uint8_t)(seq >> 8);
	f[15] = (uint8_t)seq;
	return 1000;
}

/* burst: guest B (data socket b, the switch's address for it sb) and guest A (a, sa).
 * Returns the frames B got from A in order, once nothing more comes for 2 s. */
static int burst(int b, const uint8_t *sb, int a, const uint8_t *sa)
{
	static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0x77, 0x0b};
	uint8_t f[1600];
	int got = 0;

	if (sendto(b, f, seq_frame(f, bc, 0x0b, 0), 0, (const struct sockaddr *)sb, 110) < 0)
		return -1;
	usleep(100000); /* the switch learns B */
	for (unsigned i = 0; i < BURST; i++)
		if (sendto(a, f, seq_frame(f, mac_b, 0x0a, i), 0, (const struct sockaddr *)sa,
			   110) < 0)
			return -1;
	usleep(300000); /* B is busy: its queue is full, the rest waits in the switch */
	for (;;) {
		struct pollfd p = {.fd = b, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 2000) <= 0)
			return got;
		n = recv(b, f, sizeof(f), 0);
		if (n < 16 || f[11] != 0x0a)
			continue; /* not A's */
		if ((f[14] << 8 | f[15]) != got)
			return got; /* out of order or one missing */
		got++;
	}
}

/* wait up to 2 s: bytes of a reply, 0 for EOF, -1 for nothing */
static ssize_t answer(int fd, uint8_t *buf, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, 2000) <= 0)
		return -1;
	return recv(fd, buf, len, 0);
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	uint8_t req[512], buf[512], prev[110] = {0};
	bool have_prev = false;
	int prev_fd = -1;

	if (argc == 4 && !strcmp(argv[1], "--ask")) {
		struct uk_err err = {0};
		char *reply;

		if (uk_switch_request(argv[2], argv[3], -1, &reply, &err) < 0) {
			fprintf(stderr, "legacy-req: %s\n", err.msg);
			return 1;
		}
		printf("%s\n", reply);
		free(reply);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "--bind")) {
		if (bind_path(argv[2]) < 0) {
			fprintf(stderr, "legacy-req: %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		printf("bound\n");
		fflush(stdout);
		sleep((unsigned)atoi(argv[3]));
		unlink(argv[2]);
		return 0;
	}
	if (argc < 3 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "usage: legacy-req CTL KIND...\n");
		return 2;
	}
	strcpy(a.sun_path, argv[1]);
	for (int i = 2; i < argc; i++) {
		size_t len;
		ssize_t n;
		int r = build(argv[i], req, &len);
		int fd;

		if (r == -2) {
			fprintf(stderr, "legacy-req: unknown kind '%s'\n", argv[i]);
			return 2;
		}
		fd = r < 0 ? -1 : socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
			fprintf(stderr, "legacy-req: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		n = answer(fd, buf, sizeof(buf));
		if (n == 110)
			memcpy(last_reply, buf, sizeof(last_reply));
		if (n == 110 && !strcmp(argv[i], "stray")) {
			int g = send_frame(last_fd, buf), st = send_frame(-1, buf);

			printf("%s: guest %s, stranger %s\n", argv[i], g == 0 ? "sent" : "failed",
			       st == -EPERM ? "refused"
			       : st == 0    ? "sent"
					    : "failed");
		} else if (n == 110 && !strcmp(argv[i], "unbound")) {
			printf("%s: stranger %s\n", argv[i],
			       send_frame(-1, buf) == 0 ? "sent" : "failed");
		} else if (n == 110 && !strcmp(argv[i], "burst") && !have_prev) {
			memcpy(prev, buf, sizeof(prev));
			prev_fd = last_fd;
			have_prev = true;
			i--; /* guest A */
			continue;
		} else if (n == 110 && !strcmp(argv[i], "burst")) {
			printf("%s: %d of %d in order\n", argv[i],
			       burst(prev_fd, prev, last_fd, buf), BURST);
			have_prev = false;
		} else if (n == 110 && !strcmp(argv[i], "two") && !have_prev) {
			memcpy(prev, buf, sizeof(prev));
			have_prev = true;
			i--; /* the second request of the two */
			continue;
		} else if (n == 110 && !strcmp(argv[i], "two")) {
			printf("%s: %s\n", argv[i],
			       memcmp(prev, buf, sizeof(prev)) ? "replies differ" : "same");
			have_prev = false;
		} else if (n > 0 && !strcmp(argv[i], "extra")) {
			send(fd, "x", 1, MSG_NOSIGNAL);
			n = answer(fd, buf, sizeof(buf));
			printf("%s: %s\n", argv[i], n == 0 ? "closed" : "open");
		} else if (n > 0) {
			printf("%s: reply %zd\n", argv[i], n);
		} else {
			printf("%s: %s\n", argv[i], n == 0 ? "closed" : "open");
		}
		fflush(stdout);
		/* good ones stay connected (their ports live) until we exit */
	}
	return 0;
}
