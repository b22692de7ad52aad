// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/mconsole: the request/reply/notify codec on good and malformed datagrams, the client
 * against a fake kernel (multi-packet replies, timeouts, bad packets), the notify listener,
 * the socket lookups and the `config ubd` path rewrite.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "umlkit/mconsole.h"
#include "umlkit/util.h"

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p + 0, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* ------------------------------------------------------------------ request codec */

static void test_request_round_trip(void **state)
{
	uint8_t buf[UK_MC_REQUEST_MAX];
	struct uk_mc_request req;
	char cmd[UK_MC_MAX_DATA];
	struct uk_err err = {0};
	int n;

	n = uk_mc_request_encode("version", buf, sizeof(buf), &err);
	assert_int_equal(n, 12 + 7);
	assert_int_equal(get32(buf), 0xCAFEBABE);
	assert_int_equal(get32(buf + 4), 2);
	assert_int_equal(get32(buf + 8), 7);
	assert_memory_equal(buf + 12, "version", 7);
	assert_int_equal(uk_mc_request_decode(buf, (size_t)n, &req, &err), 0);
	assert_string_equal(req.data, "version");
	assert_int_equal(req.len, 7);

	/* the longest command: 511 bytes; the empty one */
	memset(cmd, 'x', sizeof(cmd) - 1);
	cmd[sizeof(cmd) - 1] = '\0';
	n = uk_mc_request_encode(cmd, buf, sizeof(buf), NULL);
	assert_int_equal(n, 12 + 511);
	assert_int_equal(uk_mc_request_decode(buf, (size_t)n, &req, NULL), 0);
	assert_string_equal(req.data, cmd);
	n = uk_mc_request_encode("", buf, sizeof(buf), NULL);
	assert_int_equal(n, 12);
	assert_int_equal(uk_mc_request_decode(buf, (size_t)n, &req, NULL), 0);
	assert_string_equal(req.data, "");
}

static void test_request_refused(void **state)
{
	uint8_t buf[UK_MC_REQUEST_MAX + 16];
	char cmd[UK_MC_MAX_DATA + 1];
	struct uk_err err = {0};

	memset(cmd, 'x', sizeof(cmd) - 1);
	cmd[sizeof(cmd) - 1] = '\0'; /* 512 bytes: the kernel says "Request too large" */
	assert_int_equal(uk_mc_request_encode(cmd, buf, sizeof(buf), &err), -E2BIG);
	assert_int_equal(err.code, E2BIG);
	assert_non_null(strstr(err.msg, "512"));
	assert_int_equal(uk_mc_request_encode("version", buf, 18, &err), -ENOBUFS);
	assert_int_equal(uk_mc_request_encode("version", buf, 19, &err), 19);
}

static void test_request_decode_malformed(void **state)
{
	uint8_t buf[UK_MC_REQUEST_MAX];
	struct uk_mc_request req;
	struct uk_err err = {0};
	int n = uk_mc_request_encode("halt", buf, sizeof(buf), NULL);

	for (size_t len = 0; len < 12; len++)
		assert_int_equal(uk_mc_request_decode(buf, len, &req, NULL), -EBADMSG);
	assert_int_equal(uk_mc_request_decode(buf, 15, &req, &err), -EBADMSG); /* len 4, 3 bytes */
	assert_non_null(strstr(err.msg, "len 4"));
	put32(buf, 0xBEBAFECA);
	assert_int_equal(uk_mc_request_decode(buf, (size_t)n, &req, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "magic"));
	put32(buf, 0xCAFEBABE);
	put32(buf + 4, 1);
	assert_int_equal(uk_mc_request_decode(buf, (size_t)n, &req, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "version"));
	put32(buf + 4, 2);
	put32(buf + 8, 512);
	assert_int_equal(uk_mc_request_decode(buf, sizeof(buf), &req, &err), -EBADMSG);
	put32(buf + 8, 0xFFFFFFFF);
	assert_int_equal(uk_mc_request_decode(buf, sizeof(buf), &req, &err), -EBADMSG);
}

/* -------------------------------------------------------------------- reply codec */

static void test_reply_round_trip(void **state)
{
	uint8_t buf[UK_MC_REPLY_MAX];
	struct uk_mc_packet p;
	char text[UK_MC_MAX_DATA];
	int n;

	n = uk_mc_reply_encode(0, false, "Linux box 6.1", 13, buf, sizeof(buf), NULL);
	assert_int_equal(n, 12 + 14);
	assert_int_equal(get32(buf + 8), 14); /* len counts the NUL, as the kernel's */
	assert_int_equal(uk_mc_reply_decode(buf, (size_t)n, &p, NULL), 0);
	assert_int_equal(p.err, 0);
	assert_false(p.more);
	assert_false(p.v0);
	assert_string_equal(p.text, "Linux box 6.1");
	assert_int_equal(p.len, 13);

	memset(text, 'a', sizeof(text));
	n = uk_mc_reply_encode(UK_MC_ERR_EBUSY, true, text, 511, buf, sizeof(buf), NULL);
	assert_int_equal(n, 12 + 512);
	assert_int_equal(uk_mc_reply_decode(buf, (size_t)n, &p, NULL), 0);
	assert_int_equal(p.err, 0xFFFFFFF0);
	assert_true(p.more);
	assert_int_equal(p.len, 511);
	assert_int_equal(uk_mc_reply_encode(0, false, text, 512, buf, sizeof(buf), NULL), -E2BIG);
	assert_int_equal(uk_mc_reply_encode(0, false, "ab", 2, buf, 14, NULL), -ENOBUFS);

	/* empty text, and len 0 (no NUL at all) */
	n = uk_mc_reply_encode(1, false, "", 0, buf, sizeof(buf), NULL);
	assert_int_equal(uk_mc_reply_decode(buf, (size_t)n, &p, NULL), 0);
	assert_string_equal(p.text, "");
	assert_int_equal(p.err, 1);
	put32(buf + 8, 0);
	assert_int_equal(uk_mc_reply_decode(buf, 12, &p, NULL), 0);
	assert_string_equal(p.text, "");
}

static void test_reply_lenient_parts(void **state)
{
	uint8_t buf[UK_MC_REPLY_MAX + 8];
	struct uk_mc_packet p;

	/* bytes past 12 + len are ignored (the old tool sent whole structs) */
	memset(buf, 'z', sizeof(buf));
	put32(buf, 0);
	put32(buf + 4, 7); /* any non-zero "more" is more */
	put32(buf + 8, 3);
	memcpy(buf + 12, "abc", 3); /* no NUL inside len */
	assert_int_equal(uk_mc_reply_decode(buf, sizeof(buf), &p, NULL), 0);
	assert_true(p.more);
	assert_string_equal(p.text, "abc");
	/* text stops at the first NUL */
	memcpy(buf + 12, "a\0c", 3);
	assert_int_equal(uk_mc_reply_decode(buf, 15, &p, NULL), 0);
	assert_string_equal(p.text, "a");
	assert_int_equal(p.len, 1);
}

static void test_reply_malformed(void **state)
{
	uint8_t buf[UK_MC_REPLY_MAX + 8];
	struct uk_mc_packet p;
	struct uk_err err = {0};
	int n = uk_mc_reply_encode(0, false, "hello", 5, buf, sizeof(buf), NULL);

	for (int len = 0; len < 12; len++) {
		assert_int_equal(uk_mc_reply_decode(buf, (size_t)len, &p, &err), -EBADMSG);
		assert_int_equal(err.code, EBADMSG);
		assert_string_equal(p.text, "");
	}
	/* len beyond the datagram: every shorter cut */
	for (int len = 12; len < n; len++)
		assert_int_equal(uk_mc_reply_decode(buf, (size_t)len, &p, NULL), -EBADMSG);
	put32(buf + 8, 513);
	memset(buf + 12, 'x', sizeof(buf) - 12);
	assert_int_equal(uk_mc_reply_decode(buf, sizeof(buf), &p, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "513"));
	put32(buf + 8, 0x80000000u);
	assert_int_equal(uk_mc_reply_decode(buf, sizeof(buf), &p, NULL), -EBADMSG);
	put32(buf + 8, 0xFFFFFFFFu);
	assert_int_equal(uk_mc_reply_decode(buf, sizeof(buf), &p, NULL), -EBADMSG);
}

static void test_reply_version0(void **state)
{
	static const char v0[] = "ERR Version 0 mconsole clients are not supported by this driver";
	char big[UK_MC_MAX_DATA + 1];
	struct uk_mc_packet p;

	assert_int_equal(sizeof(v0) - 1, 63);
	assert_int_equal(uk_mc_reply_decode(v0, sizeof(v0) - 1, &p, NULL), 0);
	assert_true(p.v0);
	assert_int_equal(p.err, 1);
	assert_false(p.more);
	assert_string_equal(p.text, v0);
	/* 4 bytes "ERR " is a (headerless) reply; 3 are too short for anything */
	assert_int_equal(uk_mc_reply_decode("ERR ", 4, &p, NULL), 0);
	assert_string_equal(p.text, "ERR ");
	assert_int_equal(uk_mc_reply_decode("ERR", 3, &p, NULL), -EBADMSG);
	memset(big, 'x', sizeof(big));
	memcpy(big, "ERR ", 4);
	assert_int_equal(uk_mc_reply_decode(big, sizeof(big), &p, NULL), -EBADMSG);
	assert_int_equal(uk_mc_reply_decode(big, sizeof(big) - 1, &p, NULL), 0);
	assert_int_equal(p.len, 512);
}

/* ------------------------------------------------------------------- notify codec */

static void test_notify_round_trip(void **state)
{
	uint8_t buf[UK_MC_NOTIFY_MAX];
	struct uk_mc_notify n;
	char data[UK_MC_MAX_DATA];
	int len;

	len = uk_mc_notify_encode(UK_MC_NOTIFY_SOCKET, "/x/mconsole", 12, buf, sizeof(buf), NULL);
	assert_int_equal(len, 16 + 12);
	assert_int_equal(get32(buf), 0xCAFEBABE);
	assert_int_equal(get32(buf + 8), 0);
	assert_int_equal(uk_mc_notify_decode(buf, (size_t)len, &n, NULL), 0);
	assert_int_equal(n.type, UK_MC_NOTIFY_SOCKET);
	assert_string_equal(n.data, "/x/mconsole");
	assert_int_equal(n.len, 11); /* the NUL is not data */
	assert_false(n.long_magic);

	len = uk_mc_notify_encode(UK_MC_NOTIFY_PANIC, "VFS: oops", 10, buf, sizeof(buf), NULL);
	assert_int_equal(uk_mc_notify_decode(buf, (size_t)len, &n, NULL), 0);
	assert_int_equal(n.type, UK_MC_NOTIFY_PANIC);
	assert_string_equal(n.data, "VFS: oops");

	/* type 3: the guest's bytes, no NUL on the wire; we add one */
	len = uk_mc_notify_encode(UK_MC_NOTIFY_USER, "ready", 5, buf, sizeof(buf), NULL);
	assert_int_equal(len, 16 + 5);
	assert_int_equal(uk_mc_notify_decode(buf, (size_t)len, &n, NULL), 0);
	assert_int_equal(n.type, UK_MC_NOTIFY_USER);
	assert_int_equal(n.len, 5);
	assert_string_equal(n.data, "ready");
	/* a user NUL at the end is kept as data */
	len = uk_mc_notify_encode(UK_MC_NOTIFY_USER, "ab", 3, buf, sizeof(buf), NULL);
	assert_int_equal(uk_mc_notify_decode(buf, (size_t)len, &n, NULL), 0);
	assert_int_equal(n.len, 3);

	memset(data, 'q', sizeof(data));
	len = uk_mc_notify_encode(UK_MC_NOTIFY_USER, data, 512, buf, sizeof(buf), NULL);
	assert_int_equal(uk_mc_notify_decode(buf, (size_t)len, &n, NULL), 0);
	assert_int_equal(n.len, 512);
	assert_int_equal(strlen(n.data), 512);
	len = uk_mc_notify_encode(UK_MC_NOTIFY_HANG, NULL, 0, buf, sizeof(buf), NULL);
	assert_int_equal(uk_mc_notify_decode(buf, (size_t)len, &n, NULL), 0);
	assert_int_equal(n.type, UK_MC_NOTIFY_HANG);
	assert_int_equal(n.len, 0);

	assert_int_equal(uk_mc_notify_encode(4, "", 0, buf, sizeof(buf), NULL), -EINVAL);
	assert_int_equal(uk_mc_notify_encode(3, data, 513, buf, sizeof(buf), NULL), -E2BIG);
	assert_int_equal(uk_mc_notify_encode(3, "ab", 2, buf, 17, NULL), -ENOBUFS);
}

static void test_notify_watchdog(void **state)
{
	/* uml_watchdog on x86-64: unsigned long magic, version 2, type HANG, len 0, padding */
	uint8_t buf[24] = {0};
	struct uk_mc_notify n;

	put32(buf, 0xCAFEBABE);
	put32(buf + 8, 2);
	put32(buf + 12, UK_MC_NOTIFY_HANG);
	assert_int_equal(uk_mc_notify_decode(buf, sizeof(buf), &n, NULL), 0);
	assert_true(n.long_magic);
	assert_int_equal(n.type, UK_MC_NOTIFY_HANG);
	assert_int_equal(n.len, 0);
	/* the same layout cut short */
	assert_int_equal(uk_mc_notify_decode(buf, 19, &n, NULL), -EBADMSG);
}

static void test_notify_malformed(void **state)
{
	uint8_t buf[UK_MC_NOTIFY_MAX + 8];
	struct uk_mc_notify n;
	struct uk_err err = {0};
	int len = uk_mc_notify_encode(UK_MC_NOTIFY_PANIC, "boom", 5, buf, sizeof(buf), NULL);

	for (int l = 0; l < len; l++) {
		assert_int_equal(uk_mc_notify_decode(buf, (size_t)l, &n, &err), -EBADMSG);
		assert_string_equal(n.data, "");
	}
	put32(buf + 8, 4);
	assert_int_equal(uk_mc_notify_decode(buf, (size_t)len, &n, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "type 4"));
	put32(buf + 8, 0xFFFFFFFF);
	assert_int_equal(uk_mc_notify_decode(buf, (size_t)len, &n, NULL), -EBADMSG);
	put32(buf + 8, 1);
	put32(buf + 4, 1);
	assert_int_equal(uk_mc_notify_decode(buf, (size_t)len, &n, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "version"));
	put32(buf + 4, 0); /* version 0 without the watchdog layout behind it */
	assert_int_equal(uk_mc_notify_decode(buf, (size_t)len, &n, NULL), -EBADMSG);
	put32(buf + 4, 2);
	put32(buf, 0);
	assert_int_equal(uk_mc_notify_decode(buf, (size_t)len, &n, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "magic"));
	put32(buf, 0xCAFEBABE);
	put32(buf + 12, 513);
	memset(buf + 16, 'x', sizeof(buf) - 16);
	assert_int_equal(uk_mc_notify_decode(buf, sizeof(buf), &n, NULL), -EBADMSG);
}

/* ------------------------------------------------------ client against a fake kernel */

/* Queue reply packets on the kernel's end of a connected pair before the client asks. */
static void queue_reply(int kfd, uint32_t errv, bool more, const char *text)
{
	uint8_t buf[UK_MC_REPLY_MAX];
	int n = uk_mc_reply_encode(errv, more, text, strlen(text), buf, sizeof(buf), NULL);

	assert_true(n > 0);
	assert_int_equal(send(kfd, buf, (size_t)n, 0), n);
}

static void expect_request(int kfd, const char *cmd)
{
	uint8_t buf[UK_MC_REQUEST_MAX + 1];
	struct uk_mc_request req;
	ssize_t n = recv(kfd, buf, sizeof(buf), MSG_DONTWAIT);

	assert_true(n >= 12);
	assert_int_equal(uk_mc_request_decode(buf, (size_t)n, &req, NULL), 0);
	assert_string_equal(req.data, cmd);
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void test_transact_single_and_multi(void **state)
{
	struct uk_mc_reply r;
	struct uk_err err = {0};
	int sv[2];

	pair(sv);
	queue_reply(sv[1], 0, false, "Linux uk-guest 6.1.176");
	assert_int_equal(uk_mc_transact(sv[0], "version", 1000, &r, &err), 0);
	expect_request(sv[1], "version");
	assert_true(r.ok);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.packets, 1);
	assert_string_equal(r.text, "Linux uk-guest 6.1.176");
	assert_int_equal(r.len, strlen(r.text));
	uk_mc_reply_free(&r);
	assert_null(r.text);

	/* err only on the first packet, as the kernel sends it; the reply keeps it */
	queue_reply(sv[1], UK_MC_ERR_EBUSY, true, "Device is ");
	queue_reply(sv[1], 0, true, "currently");
	queue_reply(sv[1], 0, false, " open");
	assert_int_equal(uk_mc_transact(sv[0], "remove ubd1", 1000, &r, &err), 0);
	expect_request(sv[1], "remove ubd1");
	assert_false(r.ok);
	assert_int_equal(r.err, 0xFFFFFFF0);
	assert_int_equal(r.packets, 3);
	assert_string_equal(r.text, "Device is currently open");
	uk_mc_reply_free(&r);

	/* an empty reply (halt) */
	queue_reply(sv[1], 0, false, "");
	assert_int_equal(uk_mc_transact(sv[0], "halt", 1000, &r, &err), 0);
	assert_true(r.ok);
	assert_string_equal(r.text, "");
	uk_mc_reply_free(&r);
	close(sv[0]);
	close(sv[1]);
}

/* A forked fake kernel that answers one request with `packets` full packets. */
static pid_t fake_kernel(int kfd, int packets)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t req[UK_MC_REQUEST_MAX + 1], buf[UK_MC_REPLY_MAX];
		char text[UK_MC_MAX_DATA];

		if (recv(kfd, req, sizeof(req), 0) < 12)
			_exit(1);
		for (int i = 0; i < packets; i++) {
			int n;

			memset(text, 'a' + i % 26, 511);
			n = uk_mc_reply_encode(0, i + 1 < packets, text, 511, buf, sizeof(buf),
					       NULL);
			if (n < 0 || send(kfd, buf, (size_t)n, 0) != n)
				_exit(1);
		}
		_exit(0);
	}
	return pid;
}

static void test_transact_long_stream(void **state)
{
	struct uk_mc_reply r;
	struct uk_err err = {0};
	int sv[2], st;
	pid_t pid;

	pair(sv);
	pid = fake_kernel(sv[1], 200); /* more than any socket queue holds */
	assert_int_equal(uk_mc_transact(sv[0], "proc meminfo", 10000, &r, &err), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(r.packets, 200);
	assert_int_equal(r.len, 200 * 511);
	for (int i = 0; i < 200; i++)
		assert_int_equal(r.text[i * 511 + 510], 'a' + i % 26);
	uk_mc_reply_free(&r);
	close(sv[0]);
	close(sv[1]);
}

static void test_transact_timeouts(void **state)
{
	struct uk_mc_reply r;
	struct uk_err err = {0};
	int sv[2];

	pair(sv);
	/* nothing at all */
	assert_int_equal(uk_mc_transact(sv[0], "version", 20, &r, &err), -ETIMEDOUT);
	assert_int_equal(err.code, ETIMEDOUT);
	assert_null(r.text);
	expect_request(sv[1], "version");
	/* the first packet says more, then silence */
	queue_reply(sv[1], 0, true, "part");
	assert_int_equal(uk_mc_transact(sv[0], "sysrq m", 20, &r, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "incomplete"));
	assert_null(r.text);
	close(sv[0]);
	close(sv[1]);
}

/* A forked fake kernel that answers one request with empty "more" packets until its peer
 * goes away: a reply that never ends. */
static pid_t endless_kernel(int sv[2])
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t req[UK_MC_REQUEST_MAX + 1], buf[UK_MC_REPLY_MAX];
		int n = uk_mc_reply_encode(0, true, "", 0, buf, sizeof(buf), NULL), kfd = sv[1];

		close(sv[0]); /* the client's end: its close ends the stream */
		if (n < 0 || recv(kfd, req, sizeof(req), 0) < 12)
			_exit(1);
		while (send(kfd, buf, (size_t)n, 0) == n)
			;
		_exit(0);
	}
	return pid;
}

static void stop_kernel(pid_t pid, int sv[2])
{
	close(sv[0]);
	close(sv[1]);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* A transact against endless_kernel ends with want (its message holding msg); alarm(): a
 * call that never returns kills the test with SIGALRM instead of hanging it. */
static void expect_endless(int timeout_ms, int want, const char *msg)
{
	struct uk_mc_reply r;
	struct uk_err err = {0};
	int sv[2];
	pid_t pid;

	pair(sv);
	pid = endless_kernel(sv);
	alarm(120);
	assert_int_equal(uk_mc_transact(sv[0], "version", timeout_ms, &r, &err), want);
	alarm(0);
	assert_int_equal(err.code, -want);
	assert_non_null(strstr(err.msg, msg));
	assert_null(r.text);
	stop_kernel(pid, sv);
}

/* The timeout bounds the whole reply, not each packet: empty "more" packets that come
 * faster than it cannot hold the client. */
static void test_transact_endless_reply(void **state)
{
	expect_endless(200, -ETIMEDOUT, "incomplete after 200 ms");
}

/* With no time bound at all, the number of packets still bounds a reply. */
static void test_transact_packet_bound(void **state)
{
	expect_endless(-1, -EMSGSIZE, "more than 1048576 packets");
}

static void test_transact_bad_packets(void **state)
{
	static const char v0[] = "ERR Version 0 mconsole clients are not supported by this driver";
	uint8_t big[UK_MC_REPLY_MAX + 100] = {0};
	char cmd[600];
	struct uk_mc_reply r;
	struct uk_err err = {0};
	int sv[2];

	pair(sv);
	assert_int_equal(send(sv[1], "short", 5, 0), 5);
	assert_int_equal(uk_mc_transact(sv[0], "version", 1000, &r, &err), -EBADMSG);
	assert_null(r.text);
	put32(big + 8, 20);
	assert_int_equal(send(sv[1], big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(uk_mc_transact(sv[0], "version", 1000, &r, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "datagram"));
	assert_int_equal(send(sv[1], v0, sizeof(v0) - 1, 0), (ssize_t)sizeof(v0) - 1);
	assert_int_equal(uk_mc_transact(sv[0], "version", 1000, &r, &err), 0);
	assert_true(r.v0);
	assert_false(r.ok);
	assert_string_equal(r.text, v0);
	uk_mc_reply_free(&r);
	memset(cmd, 'x', sizeof(cmd) - 1);
	cmd[sizeof(cmd) - 1] = '\0';
	assert_int_equal(uk_mc_transact(sv[0], cmd, 1000, &r, &err), -E2BIG);
	close(sv[0]);
	close(sv[1]);
}

/* ------------------------------------------------- sockets in a scratch directory */

struct scratch {
	char dir[96]; /* short: socket paths below it must fit sun_path */
	char cwd[PATH_MAX];
	char *home, *xdg;
};

static char *dup_env(const char *name)
{
	const char *v = getenv(name);

	return v ? strdup(v) : NULL;
}

static int scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	char tmpl[] = "/tmp/uk-test-mc.XXXXXX";
	char real[PATH_MAX];

	if (!s || !mkdtemp(tmpl) || !realpath(tmpl, real) || strlen(real) >= sizeof(s->dir) ||
	    !getcwd(s->cwd, sizeof(s->cwd)))
		return -1;
	strcpy(s->dir, real);
	s->home = dup_env("HOME");
	s->xdg = dup_env("XDG_RUNTIME_DIR");
	*state = s;
	return 0;
}

static void restore_env(const char *name, const char *v)
{
	if (v)
		setenv(name, v, 1);
	else
		unsetenv(name);
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;
	char cmd[PATH_MAX + 16];

	if (chdir(s->cwd) < 0)
		return -1;
	restore_env("HOME", s->home);
	restore_env("XDG_RUNTIME_DIR", s->xdg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		return -1;
	free(s->home);
	free(s->xdg);
	free(s);
	return 0;
}

static int bind_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_command_over_path(void **state)
{
	struct scratch *s = *state;
	char path[PATH_MAX], longp[200];
	struct uk_mc_reply r;
	struct uk_err err = {0};
	int kfd, st;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/mconsole", s->dir);
	kfd = bind_at(path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the kernel's side: the reply goes to the sender's (abstract) address */
		uint8_t req[UK_MC_REQUEST_MAX], buf[UK_MC_REPLY_MAX];
		struct sockaddr_un from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(kfd, req, sizeof(req), 0, (struct sockaddr *)&from, &flen);
		int len;

		if (n < 12 || flen <= sizeof(sa_family_t) || from.sun_path[0] != '\0')
			_exit(1);
		len = uk_mc_reply_encode(0, false, "pong", 4, buf, sizeof(buf), NULL);
		_exit(sendto(kfd, buf, (size_t)len, 0, (struct sockaddr *)&from, flen) == len ? 0
											      : 1);
	}
	assert_int_equal(uk_mc_command(path, "version", 10000, &r, &err), 0);
	assert_string_equal(r.text, "pong");
	uk_mc_reply_free(&r);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* nobody bound there any more: refused; no file: ENOENT; too long a name */
	close(kfd);
	assert_int_equal(uk_mc_command(path, "version", 1000, &r, &err), -ECONNREFUSED);
	assert_non_null(strstr(err.msg, path));
	assert_null(r.text);
	unlink(path);
	assert_int_equal(uk_mc_command(path, "version", 1000, &r, &err), -ENOENT);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(uk_mc_command(longp, "version", 1000, &r, &err), -ENAMETOOLONG);
	assert_int_equal(uk_mc_command("", "version", 1000, &r, &err), -EINVAL);
}

static void test_notify_listener(void **state)
{
	struct scratch *s = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint8_t buf[UK_MC_NOTIFY_MAX];
	struct uk_mc_notify n;
	struct uk_err err = {0};
	struct stat st;
	int fd, tx, len;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", s->dir);
	fd = uk_mc_notify_open(sa.sun_path, &err);
	assert_true(fd >= 0);
	assert_int_equal(stat(sa.sun_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	/* the kernel sends from an unbound socket */
	tx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	len = uk_mc_notify_encode(UK_MC_NOTIFY_USER, "hello", 5, buf, sizeof(buf), NULL);
	assert_int_equal(sendto(tx, buf, (size_t)len, 0, (struct sockaddr *)&sa, sizeof(sa)), len);
	assert_int_equal(uk_mc_notify_recv(fd, 1000, &n, &err), 0);
	assert_int_equal(n.type, UK_MC_NOTIFY_USER);
	assert_string_equal(n.data, "hello");
	assert_int_equal(uk_mc_notify_recv(fd, 10, &n, &err), -ETIMEDOUT);
	assert_int_equal(sendto(tx, "junk", 4, 0, (struct sockaddr *)&sa, sizeof(sa)), 4);
	assert_int_equal(uk_mc_notify_recv(fd, 1000, &n, &err), -EBADMSG);

	/* bound by someone: refused; stale (closed): replaced; a regular file: kept */
	assert_int_equal(uk_mc_notify_open(sa.sun_path, &err), -EEXIST);
	close(fd);
	fd = uk_mc_notify_open(sa.sun_path, &err);
	assert_true(fd >= 0);
	close(fd);
	close(tx);
	unlink(sa.sun_path);
	close(open(sa.sun_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	assert_int_equal(uk_mc_notify_open(sa.sun_path, &err), -EEXIST);
	assert_int_equal(stat(sa.sun_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

/* ------------------------------------------------------------------------ lookups */

struct warnings {
	int n;
	char msg[4][PATH_MAX + 128];
};

static void collect(void *ctx, const char *msg)
{
	struct warnings *w = ctx;

	if (w->n < 4)
		snprintf(w->msg[w->n], sizeof(w->msg[0]), "%s", msg);
	w->n++;
}

static void touch(const char *path)
{
	char dir[PATH_MAX], cmd[PATH_MAX * 2];

	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && touch '%s'", dir, path);
	assert_int_equal(system(cmd), 0);
}

static void test_find_socket(void **state)
{
	struct scratch *s = *state;
	char out[PATH_MAX], want[PATH_MAX], name[64];
	struct warnings w = {0};

	setenv("HOME", s->dir, 1);
	snprintf(name, sizeof(name), "uk-test-no-such-umid-%d", (int)getpid());
	/* nothing anywhere: three warnings, in the old tool's order */
	assert_int_equal(uk_mc_find_socket(name, out, sizeof(out), collect, &w), -ENOENT);
	assert_int_equal(w.n, 3);
	snprintf(want, sizeof(want),
		 "Warning: couldn't stat file: %s/.uml/%s/mconsole - No such file or directory",
		 s->dir, name);
	assert_string_equal(w.msg[0], want);
	snprintf(want, sizeof(want),
		 "Warning: couldn't stat file: /tmp/uml/%s/mconsole - No such file or directory",
		 name);
	assert_string_equal(w.msg[1], want);
	snprintf(want, sizeof(want), "Warning: couldn't stat file: %s - No such file or directory",
		 name);
	assert_string_equal(w.msg[2], want);
	/* no warn callback is fine */
	assert_int_equal(uk_mc_find_socket(name, out, sizeof(out), NULL, NULL), -ENOENT);

	/* $HOME/.uml/NAME/mconsole first */
	snprintf(want, sizeof(want), "%s/.uml/%s/mconsole", s->dir, name);
	touch(want);
	w.n = 0;
	assert_int_equal(uk_mc_find_socket(name, out, sizeof(out), collect, &w), 0);
	assert_string_equal(out, want);
	assert_int_equal(w.n, 0);
	assert_int_equal(uk_mc_find_socket(name, out, 10, NULL, NULL), -ENAMETOOLONG);

	/* a path: found last, after two warnings */
	snprintf(want, sizeof(want), "%s/sock", s->dir);
	touch(want);
	w.n = 0;
	assert_int_equal(uk_mc_find_socket(want, out, sizeof(out), collect, &w), 0);
	assert_string_equal(out, want);
	assert_int_equal(w.n, 2);

	/* a path under $HOME/.uml is not looked for under $HOME/.uml again */
	snprintf(want, sizeof(want), "%s/.uml/%s/mconsole", s->dir, name);
	w.n = 0;
	assert_int_equal(uk_mc_find_socket(want, out, sizeof(out), collect, &w), 0);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.msg[0], "/tmp/uml/"));

	/* without HOME: /tmp/uml, then the path */
	unsetenv("HOME");
	w.n = 0;
	assert_int_equal(uk_mc_find_socket(name, out, sizeof(out), collect, &w), -ENOENT);
	assert_int_equal(w.n, 2);
}

static void test_guest_socket(void **state)
{
	char out[PATH_MAX], want[PATH_MAX + 64], longname[80];

	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(uk_mc_guest_socket("web", out, sizeof(out)), 0);
	assert_string_equal(out, "/run/user/1000/umlkit/guests/web/uml/web/mconsole");
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(uk_mc_guest_socket("web", out, sizeof(out)), 0);
	assert_string_equal(out, "/home/u/.umlkit/run/guests/web/uml/web/mconsole");
	setenv("XDG_RUNTIME_DIR", "", 1); /* empty counts as unset */
	assert_int_equal(uk_mc_guest_socket("web", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s", "/home/u/.umlkit/run/guests/web/uml/web/mconsole");
	assert_string_equal(out, want);
	unsetenv("HOME");
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(uk_mc_guest_socket("web", out, sizeof(out)), -ENOENT);

	setenv("HOME", "/home/u", 1);
	assert_int_equal(uk_mc_guest_socket("", out, sizeof(out)), -EINVAL);
	assert_int_equal(uk_mc_guest_socket(".", out, sizeof(out)), -EINVAL);
	assert_int_equal(uk_mc_guest_socket("..", out, sizeof(out)), -EINVAL);
	assert_int_equal(uk_mc_guest_socket("a/b", out, sizeof(out)), -EINVAL);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[64] = '\0';
	assert_int_equal(uk_mc_guest_socket(longname, out, sizeof(out)), -EINVAL);
	longname[63] = '\0';
	assert_int_equal(uk_mc_guest_socket(longname, out, sizeof(out)), 0);
	assert_int_equal(uk_mc_guest_socket("web", out, 20), -ENAMETOOLONG);
}

static void test_fix_config_paths(void **state)
{
	struct scratch *s = *state;
	char out[PATH_MAX * 3], want[PATH_MAX * 3], parent[sizeof(s->dir)];

	assert_int_equal(chdir(s->dir), 0);
	assert_int_equal(mkdir("sub", 0755), 0);
	assert_int_equal(uk_mc_fix_config_paths("config ubd1=a.img", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "config ubd1=%s/a.img", s->dir);
	assert_string_equal(out, want);
	assert_int_equal(
		uk_mc_fix_config_paths("config  ubd2r=sub/c.cow,../b.img", out, sizeof(out)), 0);
	snprintf(parent, sizeof(parent), "%s", s->dir);
	*strrchr(parent, '/') = '\0';
	snprintf(want, sizeof(want), "config  ubd2r=%s/sub/c.cow,%s/b.img", s->dir,
		 parent[0] ? parent : "");
	assert_string_equal(out, want);
	/* ':' separates too; the serial (third field) and empty fields are kept */
	assert_int_equal(uk_mc_fix_config_paths("config ubd3=x:/abs/y,SERIAL", out, sizeof(out)),
			 0);
	snprintf(want, sizeof(want), "config ubd3=%s/x:/abs/y,SERIAL", s->dir);
	assert_string_equal(out, want);
	assert_int_equal(uk_mc_fix_config_paths("config ubd3=a,,SER", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "config ubd3=%s/a,,SER", s->dir);
	assert_string_equal(out, want);
	/* an unresolvable directory leaves the name as it is */
	assert_int_equal(uk_mc_fix_config_paths("config ubd1=nodir/a", out, sizeof(out)), 0);
	assert_string_equal(out, "config ubd1=nodir/a");
	/* other commands and ubd without '=' unchanged */
	static const char *const same[] = {
		"config ubd1", "config con0=pty", "version", "remove ubd1",
		"config",      "configubd1=",	  ""};
	for (size_t i = 0; i < UK_ARRAY_SIZE(same); i++) {
		assert_int_equal(uk_mc_fix_config_paths(same[i], out, sizeof(out)), 0);
		assert_string_equal(out, same[i]);
	}
	assert_int_equal(uk_mc_fix_config_paths("config ubd1=a.img", out, 16), -ENAMETOOLONG);
	assert_int_equal(uk_mc_fix_config_paths("version", out, 7), -ENAMETOOLONG);
	assert_int_equal(uk_mc_fix_config_paths("version", out, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_request_decode_malformed),
		cmocka_unit_test(test_reply_round_trip),
		cmocka_unit_test(test_reply_lenient_parts),
		cmocka_unit_test(test_reply_malformed),
		cmocka_unit_test(test_reply_version0),
		cmocka_unit_test(test_notify_round_trip),
		cmocka_unit_test(test_notify_watchdog),
		cmocka_unit_test(test_notify_malformed),
		cmocka_unit_test(test_transact_single_and_multi),
		cmocka_unit_test(test_transact_long_stream),
		cmocka_unit_test(test_transact_timeouts),
		cmocka_unit_test(test_transact_bad_packets),
		cmocka_unit_test(test_transact_endless_reply),
		cmocka_unit_test(test_transact_packet_bound),
		cmocka_unit_test_setup_teardown(test_command_over_path, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_notify_listener, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_find_socket, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_guest_socket, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_fix_config_paths, scratch_setup,
						scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
