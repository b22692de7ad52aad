// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * swpeer: a misbehaving peer of an umlkit switch, for the shell tests. It joins the switch the
 * way `umlkit start --net switch:` does (SEQPACKET socketpairs handed over with
 * uk_switch_attach_fd) or talks to its control socket directly.
 *
 *   swpeer SWITCH frames [--mtu N] [--hold FILE]
 *       Attaches three ports. From port A: frames of 1..13 bytes, frames longer than the MTU
 *       allows, a group-bit source, a VLAN 4095 tag, a tag of another VLAN, random junk
 *       (each judged by uk_frame_parse to know which the switch must drop), then a flood of
 *       well-formed broadcasts. Port B only listens. Port C sends one empty packet (a
 *       SEQPACKET EOF: the switch must remove it). Prints
 *         port A N / port B N / port C N
 *         sent A FRAMES DROPS      (FRAMES the switch must forward, DROPS it must count)
 *         received B N
 *       and, with --hold, keeps the ports open until FILE exists (at most 60 s).
 *   swpeer SWITCH control
 *       One connection per bad request on the control socket: not JSON, not an object, no
 *       "cmd" (also with an fd), "cmd" not a string, an unknown cmd, add-port without an fd,
 *       add-port with a pipe, with a stream socket, with vlan 5000, of an unknown kind, with
 *       fields of the wrong type (vlan "x", trunk 1, peer 7), remove-port without a number,
 *       of port 2^32, -1 and "0", capture without a file, of port "abc", into a full pipe
 *       that nobody reads (the switch must refuse it, not block), a message longer
 *       than the switch reads, binary junk; plus requests that are not bad (info with fds
 *       attached, remove-port of no port and of a port whose peer is not the one named,
 *       empty messages with and without an fd, silent connections). A port
 *       attached as kind "link" is listed so; remove-port with its peer removes it. Checks
 *       every reply and prints "bad N" (how much the switch's bad_control must grow).
 *   swpeer SWITCH pace [--nat]
 *       Attaches four ports: L sends a load of full-size frames to S (10 a millisecond), P
 *       sends a small frame to Q every 50 ms. For 3 s it asks the switch for its ports every
 *       100 ms and checks: once loaded, L is paced (its frames wait for the pauses) and P
 *       never is; Q gets every frame P sent. Prints
 *         loaded yes|no / L paced yes|no / P paced never|N times / Q got N of N
 *       With --nat (a switch started with --nat), P instead asks the NAT every 50 ms who has
 *       its host alias 10.0.2.2 (ARP), and the NAT port must never be paced either: it
 *       answers during the pauses. Then the last two lines are
 *         NAT paced never|N times / P got N answers of N
 *   swpeer SWITCH churn [ROUNDS]
 *       ROUNDS times (default 3): attach 128 ports, check the switch counts them, then take
 *       them away (closing our ends; every other round half of them by remove-port first)
 *       and wait until the switch has forgotten them.
 *
 *   swpeer SWITCH fill --hold FILE
 *       Attaches ports until the switch refuses one (it is full), prints "full N" and the
 *       refusal, keeps them until FILE exists (at most 60 s), then closes them.
 *
 *   swpeer SWITCH macs N --hold FILE
 *       Attaches a port, sends N broadcasts from N source addresses (02:aa:00:...), prints
 *       "sent N" and keeps the port until FILE exists (at most 60 s).
 *
 *   swpeer SWITCH exhaust N
 *       Opens N control connections at once, asks for info on each and prints
 *         answered N closed N silent N
 *       (silent: neither answered nor closed within 5 s).
 *
 *   swpeer SWITCH idle N
 *       Opens N control connections that say nothing, then asks for info; prints
 *         info answered|failed
 *         idle N closed C      (C: the silent connections the switch closed)
 *
 *   swpeer SWITCH ask REQUEST
 *       Sends one control request (JSON) as it is and prints the switch's reply.
 *
 * Exit: 0 everything behaved as described, 1 something did not (said on stderr), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "nat-arp.h"

static const char *sw_name;
static int failures;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "swpeer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

/* One port as c says: our end of a SEQPACKET socketpair, the other given to the switch;
 * -1 with err set when that fails (the switch refused it). */
static int attach_conf(const struct uk_port_conf *c, int *port, struct uk_err *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		uk_err_sys(err, errno, "socketpair");
		return -1;
	}
	*port = uk_switch_attach_fd(sw_name, sv[1], c, err);
	close(sv[1]);
	if (*port < 0) {
		close(sv[0]);
		return -1;
	}
	return sv[0];
}

/* An fd port whose peer is peer; a failure is the test's. */
static int attach(const char *peer, int *port)
{
	struct uk_port_conf c = {.kind = UK_PORT_FD};
	struct uk_err err = {0};
	int fd;

	snprintf(c.peer, sizeof(c.peer), "%s", peer);
	fd = attach_conf(&c, port, &err);
	if (fd < 0)
		fail("attach: %s", err.msg);
	return fd;
}

/* The switch's info reply, parsed (NULL on failure). */
static json_t *ask(const char *req)
{
	struct uk_err err = {0};
	char *reply;
	json_t *j;

	if (uk_switch_request(sw_name, req, -1, &reply, &err) < 0) {
		fail("request: %s", err.msg);
		return NULL;
	}
	j = json_loads(reply, 0, NULL);
	free(reply);
	return j;
}

static long long port_count(void)
{
	json_t *j = ask("{\"cmd\":\"info\"}");
	long long n = j ? json_integer_value(json_object_get(j, "ports")) : -1;

	json_decref(j);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- frames */
static unsigned frame_mtu = UK_SW_MTU_DEFAULT;
static uint64_t want_fwd, want_drop;

/* Send one frame from fd and note whether the switch should forward or drop it. */
static void send_frame(int fd, const uint8_t *f, size_t len)
{
	struct uk_frame_info fi;
	bool drop = uk_frame_parse(f, len, frame_mtu, &fi) < 0 ||
		    (fi.vlan != UK_VLAN_NONE && fi.vlan != 1); /* we are an access port of VLAN 1 */

	if (send(fd, f, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fail("sending a frame: %s", strerror(errno));
		return;
	}
	if (drop)
		want_drop++;
	else
		want_fwd++;
}

static void eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
}

static uint64_t drain(int fd)
{
	static uint8_t buf[UK_SW_MTU_MAX + 64];
	uint64_t n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

static void hold(const char *file)
{
	struct stat st;

	for (int i = 0; file && i < 1200 && stat(file, &st) < 0; i++)
		sleep_ms(50);
}

static int do_frames(const char *hold_file)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t src[6] = {0x02, 0x53, 0x57, 0x00, 0x00, 0x0a};
	static const uint8_t gsrc[6] = {0x03, 0x53, 0x57, 0x00, 0x00, 0x0a};
	static uint8_t f[UK_SW_MTU_MAX + 64];
	int pa, pb, pc, a, b, c;
	uint64_t got = 0;
	size_t len;

	a = attach("swpeer frames A", &pa);
	b = attach("swpeer frames B", &pb);
	c = attach("swpeer frames C", &pc);
	if (a < 0 || b < 0 || c < 0)
		return 1;
	printf("port A %d\nport B %d\nport C %d\n", pa, pb, pc);
	fflush(stdout);

	memset(f, 0x5a, sizeof(f));
	eth(f, bcast, src, 0x88b5);
	for (len = 1; len < UK_ETH_HLEN; len++) /* shorter than a header */
		send_frame(a, f, len);
	send_frame(a, f, frame_mtu + UK_ETH_HLEN + UK_VLAN_HLEN + 1); /* one byte too long */
	send_frame(a, f, frame_mtu + 1000);
	send_frame(a, f, 9000 > frame_mtu + 19 ? 9000 : frame_mtu + 100);
	eth(f, bcast, gsrc, 0x88b5); /* a group address as source */
	send_frame(a, f, 60);
	eth(f, bcast, src, UK_ETH_P_8021Q); /* VID 4095 is reserved */
	f[14] = 0x0f;
	f[15] = 0xff;
	f[16] = 0x88;
	f[17] = 0xb5;
	send_frame(a, f, 64);
	f[14] = 0x00; /* VLAN 20 on an access port of VLAN 1 */
	f[15] = 20;
	send_frame(a, f, 64);
	for (int i = 0; i < 300; i++) { /* junk: random bytes, random length, never empty */
		len = 1 + rnd() % (frame_mtu + 40);
		for (size_t k = 0; k < len; k++)
			f[k] = (uint8_t)rnd();
		if (i % 3 == 0) { /* a third of them look like tagged frames */
			f[12] = 0x81;
			f[13] = 0x00;
		}
		send_frame(a, f, len);
		got += drain(b);
	}
	memset(f, 0x5a, sizeof(f));
	eth(f, bcast, src, 0x88b5); /* a well-formed flood of full-size broadcasts */
	for (int i = 0; i < 3000; i++) {
		send_frame(a, f, frame_mtu + UK_ETH_HLEN);
		got += drain(b);
	}
	/* an empty packet: the switch takes it for our end closing (SEQPACKET EOF) */
	if (send(c, f, 0, MSG_NOSIGNAL) != 0)
		fail("sending an empty packet: %s", strerror(errno));
	for (int i = 0; i < 20; i++) {
		sleep_ms(50);
		got += drain(b);
	}
	printf("sent A %llu %llu\nreceived B %llu\n", (unsigned long long)want_fwd,
	       (unsigned long long)want_drop, (unsigned long long)got);
	fflush(stdout);
	if (!got)
		fail("%s", "port B received none of the flood");
	hold(hold_file);
	close(a);
	close(b);
	close(c);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- control */
static int ctl_connect(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char dir[4096];
	int fd;

	if (uk_switch_dir(sw_name, dir, sizeof(dir), NULL) < 0 ||
	    strlen(dir) + 5 > sizeof(a.sun_path)) {
		fail("%s: bad switch directory", sw_name);
		return -1;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/ctl", dir);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fail("connect: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Send msg (len bytes) with nfd fds; returns the reply parsed, or NULL (no reply in 5 s,
 * or EOF: *closed is then set). */
static json_t *raw(const void *msg, size_t len, const int *fds, int nfd, bool *closed)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)] = {0};
	struct iovec iov = {(void *)msg, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	static char buf[1 << 20];
	struct pollfd p;
	ssize_t n;
	json_t *j;
	int fd = ctl_connect();

	*closed = false;
	if (fd < 0)
		return NULL;
	if (nfd > 0) {
		struct cmsghdr *c;

		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfd);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfd);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfd);
	}
	if (sendmsg(fd, &m, MSG_NOSIGNAL) < 0) {
		fail("sendmsg: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	p = (struct pollfd){.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 5000) <= 0) {
		close(fd);
		return NULL;
	}
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n <= 0) {
		*closed = true;
		return NULL;
	}
	buf[n] = '\0';
	j = json_loads(buf, 0, NULL);
	if (!j)
		fail("reply is not JSON: %.200s", buf);
	return j;
}

static int nbad;

/* A request the switch must refuse (bad: it counts it in bad_control). */
static void refused(const char *name, const void *msg, size_t len, const int *fds, int nfd,
		    bool bad)
{
	bool closed;
	json_t *j = raw(msg, len, fds, nfd, &closed);
	const char *e = json_string_value(json_object_get(j, "error"));

	if (!j || !json_is_false(json_object_get(j, "ok")) || !e) {
		fail("%s: no refusal with an error", name);
	} else {
		printf("%s: refused: %s\n", name, e);
		nbad += bad;
	}
	json_decref(j);
}

/* The kind of port id in a ports reply, or "" when it is not there. */
static const char *kind_of(json_t *ports, int id)
{
	size_t i;
	json_t *p;

	json_array_foreach(ports, i, p)
	{
		if (json_integer_value(json_object_get(p, "port")) == id)
			return json_string_value(json_object_get(p, "kind")) ?: "";
	}
	return "";
}

/* A "link" port: listed as such; remove-port naming another peer leaves it, naming its own
 * removes it. */
static void check_remove_by_peer(void)
{
	struct uk_port_conf c = {.kind = UK_PORT_LINK, .peer = "switch swpeer-x"};
	struct uk_err err = {0};
	char req[160];
	json_t *j;
	int id, fd = attach_conf(&c, &id, &err);

	if (fd < 0) {
		fail("attach a link port: %s", err.msg);
		return;
	}
	j = ask("{\"cmd\":\"ports\"}");
	if (strcmp(kind_of(json_object_get(j, "ports"), id), "link"))
		fail("port %d, attached as a link, is listed as '%s'", id,
		     kind_of(json_object_get(j, "ports"), id));
	json_decref(j);
	snprintf(req, sizeof(req), "{\"cmd\":\"remove-port\",\"port\":%d,\"peer\":\"guest y\"}",
		 id);
	refused("remove-port naming another peer", req, strlen(req), NULL, 0, false);
	j = ask("{\"cmd\":\"ports\"}");
	if (!*kind_of(json_object_get(j, "ports"), id))
		fail("remove-port naming another peer removed port %d", id);
	json_decref(j);
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"remove-port\",\"port\":%d,\"peer\":\"switch swpeer-x\"}", id);
	j = ask(req);
	if (!json_is_true(json_object_get(j, "ok")))
		fail("remove-port naming the port's own peer was refused");
	json_decref(j);
	j = ask("{\"cmd\":\"ports\"}");
	if (*kind_of(json_object_get(j, "ports"), id))
		fail("remove-port naming its peer left port %d", id);
	else
		printf("remove-port by peer: port %d removed only when its peer was named\n", id);
	json_decref(j);
	close(fd);
}

/* A capture into a pipe that is full and never read: refused, the switch does not block. */
static void check_capture_full_pipe(void)
{
	static const char req[] = "{\"cmd\":\"capture\"}";
	static char fill[4096];
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		fail("pipe: %s", strerror(errno));
		return;
	}
	while (write(p[1], fill, sizeof(fill)) > 0)
		;
	while (write(p[1], fill, 1) > 0)
		;
	fcntl(p[1], F_SETFL, 0); /* passed as a blocking pipe: a write would wait forever */
	refused("capture into a full pipe", req, sizeof(req) - 1, &p[1], 1, false);
	close(p[0]);
	close(p[1]);
}

static int do_control(void)
{
	static char huge[150000];
	static const char junk[] = "\x00\xff{\"cmd\":\x00\"info\"}\x01";
	int pfd[2], sv[2], st;
	bool closed;
	json_t *j;
	int fd;

	if (pipe2(pfd, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	st = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
#define S(x) x, sizeof(x) - 1
	refused("not json", S("hello switch"), NULL, 0, true);
	refused("not an object", S("[1,2,3]"), NULL, 0, true);
	refused("no cmd", S("{\"command\":\"info\"}"), NULL, 0, true);
	refused("no cmd, with a pipe", S("{\"command\":\"info\"}"), &pfd[0], 1, true);
	refused("cmd not a string", S("{\"cmd\":42}"), NULL, 0, true);
	refused("unknown cmd", S("{\"cmd\":\"reboot-the-host\"}"), NULL, 0, true);
	refused("add-port without an fd", S("{\"cmd\":\"add-port\"}"), NULL, 0, true);
	refused("add-port with a pipe", S("{\"cmd\":\"add-port\"}"), &pfd[0], 1, true);
	refused("add-port with a stream socket", S("{\"cmd\":\"add-port\"}"), &st, 1, true);
	refused("add-port with vlan 5000", S("{\"cmd\":\"add-port\",\"vlan\":5000}"), &sv[1], 1,
		true);
	refused("add-port of an unknown kind", S("{\"cmd\":\"add-port\",\"kind\":\"tap\"}"), &sv[1],
		1, true);
	refused("remove-port without a number", S("{\"cmd\":\"remove-port\"}"), NULL, 0, true);
	refused("remove-port of port 2^32", S("{\"cmd\":\"remove-port\",\"port\":4294967296}"),
		NULL, 0, true);
	refused("remove-port of port -1", S("{\"cmd\":\"remove-port\",\"port\":-1}"), NULL, 0,
		true);
	refused("remove-port of port \"0\"", S("{\"cmd\":\"remove-port\",\"port\":\"0\"}"), NULL, 0,
		true);
	refused("add-port with vlan \"x\"", S("{\"cmd\":\"add-port\",\"vlan\":\"x\"}"), &sv[1], 1,
		true);
	refused("add-port with trunk 1", S("{\"cmd\":\"add-port\",\"trunk\":1}"), &sv[1], 1, true);
	refused("add-port with peer 7", S("{\"cmd\":\"add-port\",\"peer\":7}"), &sv[1], 1, true);
	refused("capture of port \"abc\"", S("{\"cmd\":\"capture\",\"port\":\"abc\"}"), &pfd[1], 1,
		true);
	refused("capture without a file", S("{\"cmd\":\"capture\"}"), NULL, 0, true);
	refused("binary junk", junk, sizeof(junk) - 1, NULL, 0, true);
	memset(huge, ' ', sizeof(huge));
	memcpy(huge, "{\"cmd\":\"info\",\"pad\":\"", 21);
	memset(huge + 21, 'x', sizeof(huge) - 24);
	memcpy(huge + sizeof(huge) - 3, "\"}", 2);
	refused("a message longer than the switch reads", huge, sizeof(huge) - 1, NULL, 0, true);
	refused("remove-port of no port", S("{\"cmd\":\"remove-port\",\"port\":511}"), NULL, 0,
		false);
	check_remove_by_peer();
	check_capture_full_pipe();
	/* not bad: info with fds attached (the switch closes them), empty and silent peers */
	{
		int fds[4] = {pfd[0], pfd[1], st, sv[1]};

		j = raw(S("{\"cmd\":\"info\"}"), fds, 4, &closed);
		if (!json_is_true(json_object_get(j, "ok")))
			fail("%s: info with fds attached was not answered", "control");
		json_decref(j);
	}
	j = raw("", 0, NULL, 0, &closed);
	if (j || !closed)
		fail("%s: an empty message did not close the connection", "control");
	json_decref(j);
	j = raw("", 0, &pfd[0], 1, &closed);
	if (j || !closed)
		fail("%s: an empty message with an fd did not close the connection", "control");
	json_decref(j);
	fd = ctl_connect();
	if (fd >= 0)
		close(fd);
#undef S
	close(pfd[0]);
	close(pfd[1]);
	close(sv[0]);
	close(sv[1]);
	close(st);
	printf("bad %d\n", nbad);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- churn */
#define CHURN 128

static int do_churn(int rounds)
{
	int fds[CHURN], ids[CHURN];
	long long base = port_count();

	if (base < 0)
		return 1;
	for (int r = 0; r < rounds; r++) {
		long long n;
		int lo = UK_SW_MAX_PORTS, hi = -1, i;

		for (i = 0; i < CHURN; i++) {
			fds[i] = attach("swpeer churn", &ids[i]);
			if (fds[i] < 0)
				break;
			lo = ids[i] < lo ? ids[i] : lo;
			hi = ids[i] > hi ? ids[i] : hi;
		}
		if (i < CHURN) {
			while (i-- > 0)
				close(fds[i]);
			return 1;
		}
		n = port_count();
		if (n != base + CHURN) {
			fprintf(stderr, "swpeer: round %d: the switch has %lld ports, not %lld\n",
				r, n, base + CHURN);
			failures++;
		}
		for (i = 0; i < CHURN; i++) {
			if (r % 2 && i % 2) {
				char req[64];
				json_t *j;

				snprintf(req, sizeof(req), "{\"cmd\":\"remove-port\",\"port\":%d}",
					 ids[i]);
				j = ask(req);
				if (!json_is_true(json_object_get(j, "ok")))
					fail("%s: remove-port refused", "churn");
				json_decref(j);
			}
			close(fds[i]);
		}
		for (i = 0; i < 200 && (n = port_count()) != base; i++)
			sleep_ms(50);
		printf("round %d: %d ports attached (ids %d..%d), %s\n", r, CHURN, lo, hi,
		       n == base ? "all gone" : "some left");
		fflush(stdout);
		if (n != base)
			failures++;
	}
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- pace */
#define PACE_MS 3000

/* The "paced" of port id in a ports reply: 1, 0, or -1 when it is not there. */
static int paced_of(json_t *ports, int id)
{
	size_t i;
	json_t *p;

	json_array_foreach(ports, i, p)
	{
		if (json_integer_value(json_object_get(p, "port")) == id)
			return json_is_true(json_object_get(p, "paced"));
	}
	return -1;
}

/* The id of the switch's first port of kind "nat" in a ports reply, or -1. */
static int nat_port(json_t *ports)
{
	size_t i;
	json_t *p;

	json_array_foreach(ports, i, p)
	{
		if (!strcmp(json_string_value(json_object_get(p, "kind")) ?: "", "nat"))
			return (int)json_integer_value(json_object_get(p, "port"));
	}
	return -1;
}

/* The frames waiting on fd that are ARP replies about the host alias (pace --nat). */
static uint64_t arp_replies(int fd)
{
	static uint8_t buf[UK_SW_MTU_MAX + 64];
	uint64_t n = 0;
	ssize_t len;

	while ((len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		n += nat_arp_is_reply(buf, len);
	return n;
}

static bool switch_loaded(void)
{
	json_t *j = ask("{\"cmd\":\"info\"}");
	bool loaded = j && json_is_true(json_object_get(j, "loaded"));

	json_decref(j);
	return loaded;
}

static void print_paced(const char *who, int times)
{
	if (times)
		printf("%s paced %d times\n", who, times);
	else
		printf("%s paced never\n", who);
}

static int do_pace(bool nat)
{
	static const uint8_t ml[6] = {2, 0x53, 0x57, 0, 1, 1}, ms[6] = {2, 0x53, 0x57, 0, 1, 2};
	static const uint8_t mp[6] = {2, 0x53, 0x57, 0, 1, 3}, mq[6] = {2, 0x53, 0x57, 0, 1, 4};
	static uint8_t big[1514], small[60];
	int pl, ps, pp, pq, l, s, p, q, loaded = 0, l_paced = 0, p_paced = 0, nat_paced = 0;
	uint64_t sent = 0, got = 0;

	l = attach("swpeer pace L", &pl);
	s = attach("swpeer pace S", &ps);
	p = attach("swpeer pace P", &pp);
	q = attach("swpeer pace Q", &pq);
	if (l < 0 || s < 0 || p < 0 || q < 0)
		return 1;
	/* S and Q say who they are first, so the switch sends each only its own frames */
	eth(small, ml, ms, 0x88b5);
	send_frame(s, small, sizeof(small));
	eth(small, mp, mq, 0x88b5);
	send_frame(q, small, sizeof(small));
	sleep_ms(50);
	drain(l);
	drain(p);
	drain(q);
	eth(big, ms, ml, 0x88b5);
	if (nat)
		nat_arp_request(small, mp);
	else
		eth(small, mq, mp, 0x88b5);
	for (int ms_ = 0; ms_ < PACE_MS; ms_++) {
		for (int k = 0; k < 10; k++)
			(void)send(l, big, sizeof(big), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (ms_ % 50 == 25) {
			send_frame(p, small, sizeof(small));
			sent++;
		}
		drain(s);
		got += nat ? arp_replies(p) : drain(q);
		if (nat)
			drain(q); /* the requests are broadcast */
		if (ms_ >= 500 && ms_ % 100 == 0 && switch_loaded()) {
			json_t *rep = ask("{\"cmd\":\"ports\"}");
			json_t *ports = json_object_get(rep, "ports");

			loaded++;
			l_paced += paced_of(ports, pl) == 1;
			p_paced += paced_of(ports, pp) != 0;
			nat_paced += nat && paced_of(ports, nat_port(ports)) != 0;
			json_decref(rep);
		}
		sleep_ms(1);
	}
	sleep_ms(100);
	got += nat ? arp_replies(p) : drain(q);
	printf("loaded %s\nL paced %s\n", loaded ? "yes" : "no", l_paced ? "yes" : "no");
	print_paced("P", p_paced);
	if (nat) {
		print_paced("NAT", nat_paced);
		printf("P got %llu answers of %llu\n", (unsigned long long)got,
		       (unsigned long long)sent);
	} else {
		printf("Q got %llu of %llu\n", (unsigned long long)got, (unsigned long long)sent);
	}
	return loaded && l_paced && !p_paced && !nat_paced && got == sent ? 0 : 1;
}

/* ---------------------------------------------------------------- fill */
static int do_fill(const char *hold_file)
{
	static int fds[UK_SW_MAX_PORTS + 1];
	struct uk_port_conf c = {.kind = UK_PORT_FD, .peer = "swpeer fill"};
	struct uk_err err = {0};
	int n = 0;

	while (n <= UK_SW_MAX_PORTS) {
		int port, fd = attach_conf(&c, &port, &err);

		if (fd < 0)
			break;
		fds[n++] = fd;
	}
	printf("full %d\nrefused: %s\n", n, err.msg);
	if (n > UK_SW_MAX_PORTS)
		fail("the switch took more than %d ports", UK_SW_MAX_PORTS);
	hold(hold_file);
	while (n > 0)
		close(fds[--n]);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- macs */
/* One port sends n broadcasts, each from an address of its own, for the switch to learn;
 * holds the port until hold_file exists. */
static int do_macs(int n, const char *hold_file)
{
	static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t f[60] = {0}, src[6] = {0x02, 0xaa};
	int port, fd = attach("swpeer macs", &port);

	if (fd < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		src[3] = (uint8_t)(i >> 16);
		src[4] = (uint8_t)(i >> 8);
		src[5] = (uint8_t)i;
		eth(f, bc, src, 0x0800);
		if (send(fd, f, sizeof(f), MSG_NOSIGNAL) != (ssize_t)sizeof(f)) {
			fail("sending a frame: %s", strerror(errno));
			break;
		}
	}
	printf("sent %d\n", n);
	hold(hold_file);
	close(fd);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- exhaust */
/* Open n control connections at once (held open), ask for info on each and sort the
 * outcomes: answered, closed by the switch, or silent for 5 s. */
static int do_exhaust(int n)
{
	static const char req[] = "{\"cmd\":\"info\"}";
	int answered = 0, closed = 0, silent = 0;
	int *fds = calloc((size_t)n, sizeof(int));

	if (!fds || n <= 0)
		return 2;
	for (int i = 0; i < n; i++) {
		fds[i] = ctl_connect();
		if (fds[i] >= 0 && send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL) < 0) {
			close(fds[i]);
			fds[i] = -1;
		}
		closed += fds[i] < 0; /* the backlog was closed under us: refused as well */
	}
	for (int i = 0; i < n; i++) {
		struct pollfd p = {.fd = fds[i], .events = POLLIN};
		char buf[4096];

		if (fds[i] < 0)
			continue;
		if (poll(&p, 1, 5000) <= 0)
			silent++;
		else if (recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
			answered++;
		else
			closed++;
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	printf("answered %d closed %d silent %d\n", answered, closed, silent);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- idle */
/* Open n control connections that say nothing, then ask for info; count the silent ones the
 * switch closed. */
static int do_idle(int n)
{
	int *fds = calloc((size_t)n, sizeof(int));
	int closed = 0;
	json_t *j;

	if (!fds || n <= 0)
		return 2;
	for (int i = 0; i < n; i++)
		fds[i] = ctl_connect();
	j = ask("{\"cmd\":\"info\"}");
	printf("info %s\n", json_is_true(json_object_get(j, "ok")) ? "answered" : "failed");
	json_decref(j);
	for (int i = 0; i < n; i++) {
		struct pollfd p = {.fd = fds[i], .events = POLLIN};
		char c;

		if (fds[i] < 0)
			continue;
		if (poll(&p, 1, i == 0 ? 2000 : 0) > 0 && recv(fds[i], &c, 1, MSG_DONTWAIT) == 0)
			closed++;
		close(fds[i]);
	}
	free(fds);
	printf("idle %d closed %d\n", n, closed);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- ask */
static int do_ask(const char *req)
{
	struct uk_err err = {0};
	char *reply;

	if (uk_switch_request(sw_name, req, -1, &reply, &err) < 0) {
		fprintf(stderr, "swpeer: request: %s\n", err.msg);
		return 1;
	}
	printf("%s\n", reply);
	free(reply);
	return 0;
}

int main(int argc, char **argv)
{
	const char *hold_file = NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: swpeer SWITCH frames|control|pace "
				"[--nat]|churn|fill|macs|exhaust|idle|ask [...]\n");
		return 2;
	}
	sw_name = argv[1];
	if (!strcmp(argv[2], "frames")) {
		for (int i = 3; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--mtu"))
				frame_mtu = (unsigned)atoi(argv[i + 1]);
			else if (!strcmp(argv[i], "--hold"))
				hold_file = argv[i + 1];
			else
				return 2;
		}
		return do_frames(hold_file);
	}
	if (!strcmp(argv[2], "control"))
		return do_control();
	if (!strcmp(argv[2], "pace"))
		return do_pace(argc > 3 && !strcmp(argv[3], "--nat"));
	if (!strcmp(argv[2], "fill") && argc == 5 && !strcmp(argv[3], "--hold"))
		return do_fill(argv[4]);
	if (!strcmp(argv[2], "churn"))
		return do_churn(argc > 3 ? atoi(argv[3]) : 3);
	if (!strcmp(argv[2], "macs") && argc == 6 && !strcmp(argv[4], "--hold"))
		return do_macs(atoi(argv[3]), argv[5]);
	if (!strcmp(argv[2], "idle") && argc == 4)
		return do_idle(atoi(argv[3]));
	if (!strcmp(argv[2], "exhaust") && argc == 4)
		return do_exhaust(atoi(argv[3]));
	if (!strcmp(argv[2], "ask") && argc == 4)
		return do_ask(argv[3]);
	fprintf(stderr, "swpeer: unknown mode '%s'\n", argv[2]);
	return 2;
}
