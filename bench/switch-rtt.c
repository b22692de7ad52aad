/* bench/switch-rtt.c: the round-trip time a switch adds, without guests, for bench/switch.
 *
 * Usage: switch-rtt [--load RATE] COUNT INTERVAL_US direct
 *        switch-rtt COUNT INTERVAL_US bare              (a forwarder process of its own)
 *        switch-rtt COUNT INTERVAL_US umlkit NAME      (two fd ports of umlkit switch NAME)
 *        switch-rtt COUNT INTERVAL_US daemon CTL       (two ports of a uml_switch-protocol
 *                                                       switch: uml_switch, umlkit --legacy)
 *        switch-rtt COUNT INTERVAL_US nat NAME         (one fd port of umlkit switch NAME,
 *                                                       started with --nat; B is the NAT)
 *
 * Two endpoints, A and B, each a separate process as two guests are. A sends a 98-byte frame
 * (the size of a ping) from MAC 02:00:00:00:00:0a to 02:00:00:00:00:0b; B sends it back with
 * the addresses swapped; A times the round trip. 50 round trips first (the switch learns both
 * addresses), then COUNT timed ones, INTERVAL_US apart, so that the switch sleeps between
 * frames as it does between pings (keep 2 frames per interval well under 1 per ms: umlkit's
 * moderation must see an idle switch). "direct" joins A and B by one socketpair; "bare" puts
 * a third process between two socketpairs that only moves each frame across (poll, recv,
 * send): the floor under any switch process, one wake-up per frame.
 *
 * --load RATE: meanwhile a third process sends RATE full-size (1514-byte) frames a millisecond
 * from a port L to a port S of their own, made the same way (for direct, a socketpair of
 * their own; for bare, a forwarder of their own): the round trip of a bystander beside a
 * transfer. S announces its address first, so a switch sends the load to S alone.
 *
 * nat: A asks the switch's NAT uplink (libslirp) who has its host alias 10.0.2.2 (ARP; the
 * first request is broadcast, the others go to the NAT's address as the first answer gave
 * it) and times the answer: the round trip to the NAT through the switch.
 *
 * Prints: "rtt COUNT median_us mean_us p90_us lost" (microseconds, 1 decimal). Exit 0, or 1
 * on a setup error (message on stderr). The guests' ping in bench/switch measures the same
 * thing end to end, where the guests' own scheduling noise is as large as the switch's part.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/err.h"
#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "../tests/helpers/nat-arp.h"

#define FRAME	 98
#define WARMUP	 50
#define WAIT_MS	 2000
#define REQ_LEN	 124 /* the v3 request of the daemon protocol */
#define ADDR_LEN 110 /* sizeof(struct sockaddr_un) */

struct ends {
	int a, b;	  /* the data sockets */
	int ctl_a, ctl_b; /* daemon protocol: the control connections, kept open */
};

static int fail(const char *what)
{
	fprintf(stderr, "switch-rtt: %s: %s\n", what, strerror(errno));
	return -1;
}

static int make_direct(struct ends *e)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return fail("socketpair");
	e->a = sv[0], e->b = sv[1];
	return 0;
}

static int umlkit_port(const char *name)
{
	struct uk_port_conf pc = {0};
	struct uk_err err = {0};
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return fail("socketpair");
	if (uk_switch_attach_fd(name, sv[1], &pc, &err) < 0) {
		fprintf(stderr, "switch-rtt: %s\n", err.msg);
		return -1;
	}
	close(sv[1]);
	return sv[0];
}

/* One port of a daemon-protocol switch: our datagram socket at an abstract address, named
 * to the switch in a v3 request on a new control connection; connected to its reply. */
static int daemon_port(const char *ctl, int idx, int *ctl_fd)
{
	struct sockaddr_un me = {.sun_family = AF_UNIX}, sw = {.sun_family = AF_UNIX};
	uint8_t req[REQ_LEN] = {0}, rep[ADDR_LEN];
	uint32_t hdr[3] = {0xFEEDFACEu, 3, 0};
	int fd, c;

	snprintf(me.sun_path + 1, sizeof(me.sun_path) - 1, "switch-rtt-%d-%d", (int)getpid(), idx);
	strncpy(sw.sun_path, ctl, sizeof(sw.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || c < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0)
		return fail("data socket");
	if (connect(c, (struct sockaddr *)&sw, sizeof(sw)) < 0)
		return fail(ctl);
	memcpy(req, hdr, sizeof(hdr));
	memcpy(req + 12, &me, sizeof(me));
	if (write(c, req, sizeof(req)) != (ssize_t)sizeof(req))
		return fail("control request");
	if (read(c, rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		return fail("control reply");
	if (connect(fd, (struct sockaddr *)rep, sizeof(rep)) < 0)
		return fail("connect to the switch's data socket");
	*ctl_fd = c;
	return fd;
}

/* The bare forwarder: a child that moves frames between its two ends until either closes. */
static void forward(int x, int y)
{
	struct pollfd pf[2] = {{.fd = x, .events = POLLIN}, {.fd = y, .events = POLLIN}};
	uint8_t buf[2048];

	for (;;) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!pf[i].revents)
				continue;
			n = recv(pf[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				_exit(0);
			if (n > 0)
				(void)send(pf[1 - i].fd, buf, (size_t)n,
					   MSG_DONTWAIT | MSG_NOSIGNAL);
		}
	}
}

static int make_bare(struct ends *e, pid_t *fwd)
{
	int x[2], y[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, y) < 0)
		return fail("socketpair");
	*fwd = fork();
	if (*fwd < 0)
		return fail("fork");
	if (*fwd == 0) {
		close(x[0]);
		close(y[0]);
		forward(x[1], y[1]);
	}
	close(x[1]);
	close(y[1]);
	e->a = x[0], e->b = y[0];
	return 0;
}

/* In nat mode: A (10.0.2.15) asks who has the NAT's host alias. */
static bool nat_mode;

/* Whether a frame that came is the answer to ours (anything else, a guest's chatter, is
 * not): the echo of our FRAME bytes, or in nat mode the NAT's ARP reply. */
static bool ours(const uint8_t *f, ssize_t len)
{
	if (!nat_mode)
		return len == FRAME;
	return nat_arp_is_reply(f, len);
}

static int wait_frame(int fd, uint8_t *buf)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};

	for (;;) {
		int r = poll(&pf, 1, WAIT_MS);

		if (r <= 0)
			return -1; /* lost (or the switch is gone) */
		if (ours(buf, recv(fd, buf, FRAME + 64, 0)))
			return 0;
	}
}

/* B: send every frame back, addresses swapped, until nothing came for WAIT_MS. */
static void echo(int fd)
{
	uint8_t buf[FRAME + 64], mac[6];

	while (wait_frame(fd, buf) == 0) {
		memcpy(mac, buf, 6);
		memcpy(buf, buf + 6, 6);
		memcpy(buf + 6, mac, 6);
		if (send(fd, buf, FRAME, MSG_NOSIGNAL) != FRAME)
			break;
	}
	_exit(0);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static void pause_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

static int measure(int fd, int count, long interval_us)
{
	uint8_t frame[FRAME] = {2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, 0x88, 0xb5};
	uint8_t buf[FRAME + 64];
	uint64_t *t = calloc((size_t)count, sizeof(*t)), sum = 0;
	static const uint8_t a_mac[6] = {2, 0, 0, 0, 0, 0x0a};
	ssize_t len = nat_mode ? NAT_ARP_LEN : FRAME;
	int got = 0, lost = 0;

	if (!t)
		return fail("calloc");
	if (nat_mode)
		nat_arp_request(frame, a_mac);
	for (int i = 0; i < WARMUP + count; i++) {
		uint64_t t0 = uk_monotonic_ns();

		if (send(fd, frame, (size_t)len, MSG_NOSIGNAL) != len)
			return fail("send");
		if (wait_frame(fd, buf) < 0)
			lost++;
		else if (i >= WARMUP)
			t[got++] = uk_monotonic_ns() - t0;
		else if (nat_mode)
			memcpy(frame, buf + 6, 6); /* the NAT's address, from its answer */
		pause_us(interval_us);
	}
	if (got == 0) {
		fprintf(stderr, "switch-rtt: no frame came back\n");
		return -1;
	}
	qsort(t, (size_t)got, sizeof(*t), cmp_u64);
	for (int i = 0; i < got; i++)
		sum += t[i];
	printf("rtt %d %.1f %.1f %.1f %d\n", got, (double)t[got / 2] / 1e3, (double)sum / got / 1e3,
	       (double)t[got * 9 / 10] / 1e3, lost);
	free(t);
	return 0;
}

/* The two ends for the mode in argv[3]: 0, -1 on a setup error (told), -2 on bad usage.
 * The ports of a daemon-protocol switch are named from idx up. */
static int make_ends(struct ends *e, int argc, char **argv, pid_t *fwd, int idx)
{
	const char *mode = argv[3];

	if (!strcmp(mode, "direct"))
		return make_direct(e);
	if (!strcmp(mode, "bare"))
		return make_bare(e, fwd);
	if (argc != 5)
		return -2;
	if (!strcmp(mode, "umlkit") || !strcmp(mode, "nat")) {
		e->a = umlkit_port(argv[4]);
		if (e->a >= 0 && nat_mode && idx == 0)
			return 0; /* B is the NAT */
		e->b = e->a < 0 ? -1 : umlkit_port(argv[4]);
		return e->b < 0 ? -1 : 0;
	}
	if (!strcmp(mode, "daemon")) {
		e->a = daemon_port(argv[4], idx, &e->ctl_a);
		e->b = e->a < 0 ? -1 : daemon_port(argv[4], idx + 1, &e->ctl_b);
		return e->b < 0 ? -1 : 0;
	}
	return -2;
}

/* The load: RATE frames a millisecond from l to s, on a schedule, until killed; s drained. */
static void load(int l, int s, double rate)
{
	static uint8_t big[1514] = {2, 0, 0, 0, 0, 0x0d, 2, 0, 0, 0, 0, 0x0c, 0x88, 0xb5};
	uint8_t hello[60] = {2, 0, 0, 0, 0, 0x0c, 2, 0, 0, 0, 0, 0x0d, 0x88, 0xb5}, buf[2048];
	uint64_t t0, n = 0, gap_ns = (uint64_t)(1e6 / rate);

	(void)send(s, hello, sizeof(hello), MSG_NOSIGNAL);
	pause_us(10000);
	t0 = uk_monotonic_ns();
	for (;;) {
		uint64_t due = t0 + n * gap_ns, now = uk_monotonic_ns();

		while (recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		if (now < due) {
			pause_us((long)((due - now) / 1000));
			continue;
		}
		(void)send(l, big, sizeof(big), MSG_DONTWAIT | MSG_NOSIGNAL);
		n++;
	}
}

/* The load's ends and process (RATE > 0): its pid, 0 with no load, -1 on an error. */
static pid_t start_load(double rate, int argc, char **argv, pid_t *fwd)
{
	struct ends e = {-1, -1, -1, -1};
	pid_t pid;

	if (rate <= 0)
		return 0;
	if (make_ends(&e, argc, argv, fwd, 2) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0)
		load(e.a, e.b, rate);
	close(e.a);
	close(e.b);
	return pid;
}

int main(int argc, char **argv)
{
	struct ends e = {-1, -1, -1, -1};
	double rate = argc > 2 && !strcmp(argv[1], "--load") ? atof(argv[2]) : 0;
	int shift = argc > 2 && !strcmp(argv[1], "--load") ? 2 : 0, count, r;
	long interval;
	pid_t pid, fwd = 0, lfwd = 0, lpid = 0;

	argc -= shift, argv += shift;
	count = argc > 3 ? atoi(argv[1]) : 0;
	nat_mode = argc > 3 && !strcmp(argv[3], "nat");
	interval = argc > 3 ? atol(argv[2]) : 0;
	r = count > 0 && interval >= 0 && (rate > 0 || !shift) ? make_ends(&e, argc, argv, &fwd, 0)
							       : -2;
	if (r == -2)
		fprintf(stderr, "usage: switch-rtt [--load RATE] COUNT INTERVAL_US "
				"direct|bare|umlkit NAME|daemon CTL|nat NAME\n");
	if (r == 0)
		lpid = start_load(rate, argc, argv, &lfwd);
	if (r < 0 || lpid < 0)
		return 1;
	pid = e.b < 0 ? 0 : fork(); /* nat: no B of ours */
	if (pid < 0) {
		fail("fork");
		return 1;
	}
	if (pid == 0 && e.b >= 0)
		echo(e.b);
	if (e.b >= 0)
		close(e.b);
	r = measure(e.a, count, interval);
	close(e.a); /* the echo ends WAIT_MS after the last frame, or at once on EOF */
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	if (lpid > 0) {
		kill(lpid, SIGTERM);
		waitpid(lpid, NULL, 0);
	}
	if (fwd > 0)
		waitpid(fwd, NULL, 0); /* its ends closed: it exits */
	if (lfwd > 0)
		waitpid(lfwd, NULL, 0);
	return r < 0 ? 1 : 0;
}
