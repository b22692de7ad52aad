// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * natpeer: a guest of many sockets behind an umlkit switch's NAT uplink, for the shell tests.
 *
 *   natpeer SWITCH sockets N FWDPORT
 *       Joins SWITCH (started with --nat and --forward udp:FWDPORT:10.0.2.15:7) as one fd
 *       port, as 10.0.2.15. It sends N UDP datagrams, each from a source port of its own, to
 *       a UDP socket it listens on at the host's 127.0.0.1 (through the host alias 10.0.2.2),
 *       so that libslirp holds N sockets for it. Then it sends a datagram from the host to
 *       127.0.0.1:FWDPORT and waits for the forward to bring it to 10.0.2.15, port 7.
 *       Prints
 *         alias MAC learned
 *         sink got K of N
 *         forward delivered|lost
 *
 *   natpeer SWITCH connects N
 *       Joins SWITCH (started with --nat) as 10.0.2.15 and sends N TCP SYNs, each from a
 *       source port of its own, to a TCP socket it listens on at the host's 127.0.0.1
 *       (through 10.0.2.2). It never completes a handshake, so libslirp keeps the host
 *       socket of each connection it made. Prints
 *         alias MAC learned
 *         listener accepted K of N
 *
 * Only the host's loopback is ever addressed. Exit: 0 when the sink got (the listener
 * accepted) all N and the forward delivered, 1 otherwise (said on stderr), 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "nat-arp.h"

#define GUEST_PORT 7	 /* where the forward delivers */
#define SRC_PORT0  30000 /* the first of the N source ports */
#define WAIT_MS	   10000 /* each wait's limit */
#define PROBE	   "natpeer forward probe"

static const uint8_t our_mac[6] = {2, 0x4e, 0x41, 0x54, 0, 1};
static const uint8_t our_ip[4] = {10, 0, 2, 15};
static uint8_t alias_mac[6];

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait up to ms for fd to be readable. */
static bool readable(int fd, int ms)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};

	return poll(&pf, 1, ms) == 1;
}

/* One port on the switch: our end of a SEQPACKET socketpair; -1 when refused. */
static int attach(const char *sw)
{
	struct uk_port_conf c = {.kind = UK_PORT_FD, .peer = "natpeer"};
	struct uk_err err = {0};
	int sv[2], port;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("natpeer: socketpair");
		return -1;
	}
	port = uk_switch_attach_fd(sw, sv[1], &c, &err);
	close(sv[1]);
	if (port < 0) {
		fprintf(stderr, "natpeer: attach: %s\n", err.msg);
		close(sv[0]);
		return -1;
	}
	return sv[0];
}

/* Ask who has 10.0.2.2 until the NAT answers: its MAC into alias_mac (and it learns ours). */
static bool learn_alias(int fd)
{
	uint8_t f[UK_SW_MTU_MAX + 64];
	long long end = now_ms() + WAIT_MS;

	nat_arp_request(f, our_mac);
	if (send(fd, f, NAT_ARP_LEN, MSG_NOSIGNAL) != NAT_ARP_LEN)
		return false;
	while (now_ms() < end && readable(fd, 100)) {
		ssize_t len = recv(fd, f, sizeof(f), MSG_DONTWAIT);

		if (len > 0 && nat_arp_is_reply(f, len)) {
			memcpy(alias_mac, f + 22, 6);
			return true;
		}
	}
	return false;
}

/* The Internet checksum of len (even) bytes at h, on top of sum. */
static uint16_t ip_checksum(uint32_t sum, const uint8_t *h, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The Ethernet and IPv4 headers of a frame from 10.0.2.15 to 10.0.2.2 carrying l4len bytes
 * of protocol proto (zeroed, up to Ethernet's minimum of 60); the frame's length. */
static size_t ip_head(uint8_t *f, uint8_t proto, size_t l4len, unsigned id)
{
	size_t len = 14 + 20 + l4len;

	memset(f, 0, len < 60 ? 60 : len);
	memcpy(f, alias_mac, 6);
	memcpy(f + 6, our_mac, 6);
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	put16(f + 16, (unsigned)(20 + l4len));
	put16(f + 18, id);
	f[22] = 64;
	f[23] = proto;
	memcpy(f + 26, our_ip, 4);
	memcpy(f + 30, nat_alias, 4);
	put16(f + 24, ip_checksum(0, f + 14, 20));
	return len < 60 ? 60 : len;
}

/* A SYN from 10.0.2.15:sport to 10.0.2.2:dport; its length. */
static size_t syn_frame(uint8_t *f, unsigned sport, unsigned dport)
{
	uint32_t pseudo = 0;
	size_t len = ip_head(f, 6, 20, sport);

	put16(f + 34, sport);
	put16(f + 36, dport);
	put16(f + 38, sport); /* a sequence number of its own */
	f[46] = 0x50;	      /* 5 words, no options */
	f[47] = 0x02;	      /* SYN */
	put16(f + 48, 65535);
	for (int i = 26; i < 34; i += 2) /* the pseudo header: the addresses, */
		pseudo += (uint32_t)(f[i] << 8 | f[i + 1]);
	pseudo += 6 + 20; /* the protocol and the length */
	put16(f + 50, ip_checksum(pseudo, f + 34, 20));
	return len;
}

/* A frame from 10.0.2.15:sport to 10.0.2.2:dport with payload; its length. The UDP checksum
 * is 0 (none), which IPv4 allows. */
static size_t udp_frame(uint8_t *f, unsigned sport, unsigned dport, const char *payload)
{
	size_t plen = strlen(payload), len = ip_head(f, 17, 8 + plen, sport);

	put16(f + 34, sport);
	put16(f + 36, dport);
	put16(f + 38, (unsigned)(8 + plen));
	memcpy(f + 42, payload, plen);
	return len;
}

/* A socket of type (SOCK_DGRAM, or SOCK_STREAM listening for up to backlog) on 127.0.0.1
 * (port 0: any), its port into *port; -1 on failure. */
static int loopback_socket(int type, int backlog, unsigned *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, backlog) < 0) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		perror("natpeer: a socket on 127.0.0.1");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* Throw away what the switch sent us (the NAT's answers, if any). */
static void drain(int fd)
{
	uint8_t f[UK_SW_MTU_MAX + 64];

	while (recv(fd, f, sizeof(f), MSG_DONTWAIT) > 0)
		;
}

/* Send n datagrams from n source ports to the sink; how many the sink got. In batches, so
 * that the NAT's queue is never what loses one. */
static int fill_sockets(int fd, int sink, unsigned sink_port, int n)
{
	uint8_t f[128];
	char buf[64];
	int got = 0;
	long long end;

	for (int i = 0; i < n; i++) {
		size_t len = udp_frame(f, SRC_PORT0 + (unsigned)i, sink_port, "natpeer fill");

		if (send(fd, f, len, MSG_NOSIGNAL) != (ssize_t)len) {
			perror("natpeer: send");
			return got;
		}
		if (i % 16 == 15) {
			while (readable(sink, 20) && recv(sink, buf, sizeof(buf), 0) > 0)
				got++;
			drain(fd);
		}
	}
	end = now_ms() + WAIT_MS;
	while (got < n && now_ms() < end) {
		if (readable(sink, 100) && recv(sink, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			got++;
	}
	return got;
}

/* Accept what comes to lfd within ms (held open, in held[]: slirp's sockets stay connected);
 * how many, added to got. */
static int accept_all(int lfd, int *held, int got, int n, int ms)
{
	while (got < n && readable(lfd, ms)) {
		int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (s < 0)
			break;
		held[got++] = s;
	}
	return got;
}

/* Send n SYNs from n source ports to the listener; how many connections it accepted. */
static int connect_all(int fd, int lfd, unsigned lport, int n)
{
	uint8_t f[128];
	int *held = calloc((size_t)n, sizeof(int)), got = 0;

	if (!held) {
		perror("natpeer");
		return 0;
	}
	for (int i = 0; i < n; i++) {
		size_t len = syn_frame(f, SRC_PORT0 + (unsigned)i, lport);

		if (send(fd, f, len, MSG_NOSIGNAL) != (ssize_t)len) {
			perror("natpeer: send");
			break;
		}
		if (i % 16 == 15) {
			got = accept_all(lfd, held, got, n, 20);
			drain(fd);
		}
	}
	got = accept_all(lfd, held, got, n, 3000); /* until none came for 3 s */
	for (int i = 0; i < got; i++)
		close(held[i]);
	free(held);
	return got;
}

/* Whether the len bytes at f are our probe, to 10.0.2.15 port 7 over UDP. */
static bool is_probe(const uint8_t *f, ssize_t len)
{
	size_t plen = strlen(PROBE);

	return len >= (ssize_t)(42 + plen) && f[12] == 8 && f[13] == 0 && f[23] == 17 &&
	       !memcmp(f + 30, our_ip, 4) && f[36] == 0 && f[37] == GUEST_PORT &&
	       !memcmp(f + 42, PROBE, plen);
}

/* Send the probe from the host to 127.0.0.1:fwd_port; whether it came out on our port. */
static bool probe_forward(int fd, unsigned fwd_port)
{
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)fwd_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	uint8_t f[UK_SW_MTU_MAX + 64];
	unsigned port;
	int s = loopback_socket(SOCK_DGRAM, 0, &port);
	long long end = now_ms() + WAIT_MS;
	bool seen = false;

	if (s < 0)
		return false;
	drain(fd);
	if (sendto(s, PROBE, strlen(PROBE), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		perror("natpeer: sendto");
	while (!seen && now_ms() < end) {
		ssize_t len;

		if (!readable(fd, 100))
			continue;
		len = recv(fd, f, sizeof(f), MSG_DONTWAIT);
		seen = is_probe(f, len);
	}
	close(s);
	return seen;
}

/* Join sw and learn the alias's MAC: our end of the port, or -1 (said). */
static int join(const char *sw)
{
	int fd = attach(sw);

	if (fd < 0)
		return -1;
	if (!learn_alias(fd)) {
		fprintf(stderr, "natpeer: the NAT did not answer an ARP request for 10.0.2.2\n");
		close(fd);
		return -1;
	}
	printf("alias MAC learned\n");
	return fd;
}

static int connects(const char *sw, int n)
{
	unsigned lport;
	int fd = join(sw), lfd, got;

	if (fd < 0)
		return 1;
	lfd = loopback_socket(SOCK_STREAM, n, &lport);
	if (lfd < 0)
		return 1;
	got = connect_all(fd, lfd, lport, n);
	printf("listener accepted %d of %d\n", got, n);
	close(lfd);
	close(fd);
	return got == n ? 0 : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: natpeer SWITCH sockets N FWDPORT\n"
			"       natpeer SWITCH connects N\n");
	return 2;
}

int main(int argc, char **argv)
{
	int n, fd, sink, got;
	unsigned sink_port, fwd_port;
	bool fwd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4 || (n = atoi(argv[3])) <= 0 || n > 65535 - SRC_PORT0)
		return usage();
	if (argc == 4 && !strcmp(argv[2], "connects"))
		return connects(argv[1], n);
	if (argc != 5 || strcmp(argv[2], "sockets") || (fwd_port = (unsigned)atoi(argv[4])) == 0 ||
	    fwd_port > 65535)
		return usage();
	fd = join(argv[1]);
	if (fd < 0)
		return 1;
	sink = loopback_socket(SOCK_DGRAM, 0, &sink_port);
	if (sink < 0)
		return 1;
	got = fill_sockets(fd, sink, sink_port, n);
	printf("sink got %d of %d\n", got, n);
	fwd = probe_forward(fd, fwd_port);
	printf("forward %s\n", fwd ? "delivered" : "lost");
	close(sink);
	close(fd);
	return got == n && fwd ? 0 : 1;
}
