// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/agent: the frame codec on good and malformed input, EXEC and archive entries round
 * trips, the receive buffer fed byte by byte, the name rules, and the archive packed from a
 * tree and unpacked elsewhere (modes, symlinks kept as symlinks, hostile names and symlink
 * escapes refused, nothing left behind by a refused stream), destination resolution, and
 * the relay keeping the line's window for an agent that sends LINE_ACK.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "umlkit/agent.h"
#include "umlkit/util.h"

static void test_frame(void **state)
{
	uint8_t buf[64];
	struct uk_agent_frame f;
	struct uk_err err = {0};
	ssize_t n = uk_agent_frame_encode(buf, sizeof(buf), UK_AGENT_STDOUT, 7, "abc", 3);

	assert_int_equal(n, UK_AGENT_HDR + 3);
	assert_memory_equal(buf,
			    "UK\x04\x00\x00\x00\x00\x07\x00\x00\x00\x03"
			    "abc",
			    15);
	for (size_t i = 0; i < (size_t)n; i++) /* a partial frame is not an error */
		assert_int_equal(uk_agent_frame_decode(buf, i, &f, &err), 0);
	assert_int_equal(uk_agent_frame_decode(buf, (size_t)n, &f, &err), n);
	assert_int_equal(f.type, UK_AGENT_STDOUT);
	assert_int_equal(f.session, 7);
	assert_int_equal(f.len, 3);
	assert_memory_equal(f.payload, "abc", 3);
	buf[0] = 'X';
	assert_int_equal(uk_agent_frame_decode(buf, (size_t)n, &f, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "magic"));
	buf[0] = 'U';
	buf[2] = 99;
	assert_int_equal(uk_agent_frame_decode(buf, (size_t)n, &f, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "unknown type 99"));
	buf[2] = UK_AGENT_STDOUT;
	buf[3] = 1;
	assert_int_equal(uk_agent_frame_decode(buf, (size_t)n, &f, &err), -EBADMSG);
	buf[3] = 0;
	uk_agent_frame_header(buf, UK_AGENT_STDIN, 1, UK_AGENT_PAYLOAD_MAX + 1);
	assert_int_equal(uk_agent_frame_decode(buf, UK_AGENT_HDR, &f, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "payload of"));
	assert_int_equal(uk_agent_frame_encode(buf, 14, UK_AGENT_STDIN, 0, "abc", 3), -E2BIG);
}

static void test_exec(void **state)
{
	static uint8_t buf[UK_AGENT_PAYLOAD_MAX];
	static struct uk_agent_exec x;
	char *argv[] = {"sh", "-c", "echo hi", NULL};
	char *envp[] = {"TERM=xterm", NULL};
	char *bad_env[] = {"NOEQ", NULL};
	char *empty[] = {"", NULL};
	struct uk_err err = {0};
	ssize_t n = uk_agent_exec_encode(buf, sizeof(buf), UK_AGENT_EXEC_TTY, 24, 80, argv, envp);

	assert_true(n > 16);
	assert_int_equal(uk_agent_exec_decode(buf, (size_t)n, &x, &err), 0);
	assert_int_equal(x.flags, UK_AGENT_EXEC_TTY);
	assert_int_equal(x.rows, 24);
	assert_int_equal(x.cols, 80);
	assert_int_equal(x.argc, 3);
	assert_string_equal(x.argv[2], "echo hi");
	assert_null(x.argv[3]);
	assert_int_equal(x.envc, 1);
	assert_string_equal(x.envp[0], "TERM=xterm");
	/* one byte short: the last string has no end */
	assert_int_equal(uk_agent_exec_decode(buf, (size_t)n - 1, &x, &err), -EBADMSG);
	/* trailing bytes */
	buf[n] = 'x';
	assert_int_equal(uk_agent_exec_decode(buf, (size_t)n + 1, &x, &err), -EBADMSG);
	assert_int_equal(uk_agent_exec_encode(buf, sizeof(buf), 0, 0, 0, argv, bad_env), -EINVAL);
	assert_int_equal(uk_agent_exec_encode(buf, sizeof(buf), 0, 0, 0, empty, NULL), -EINVAL);
	assert_int_equal(uk_agent_exec_encode(buf, 20, 0, 0, 0, argv, NULL), -E2BIG);
	n = uk_agent_exec_encode(buf, sizeof(buf), 0, 0, 0, argv, NULL);
	uk_put_be32(buf, 0x100); /* an unknown flag */
	assert_int_equal(uk_agent_exec_decode(buf, (size_t)n, &x, &err), -EBADMSG);
	uk_put_be32(buf, 0);
	uk_put_be32(buf + 8, 0); /* no command */
	assert_int_equal(uk_agent_exec_decode(buf, (size_t)n, &x, &err), -EBADMSG);
}

static void test_small_payloads(void **state)
{
	uint8_t p[16];
	struct uk_agent_frame f = {.type = UK_AGENT_EXIT, .len = 8, .payload = p};
	struct uk_agent_ring r;
	char msg[64];
	int a, b;

	uk_put_be32(p, 3);
	uk_put_be32(p + 4, 0);
	assert_int_equal(uk_agent_exit_decode(&f, &a, &b, NULL), 0);
	assert_int_equal(a, 3);
	assert_int_equal(b, 0);
	uk_put_be32(p, (uint32_t)-1);
	uk_put_be32(p + 4, 9);
	assert_int_equal(uk_agent_exit_decode(&f, &a, &b, NULL), 0);
	assert_int_equal(b, 9);
	uk_put_be32(p + 4, 0); /* neither a status nor a signal */
	assert_int_equal(uk_agent_exit_decode(&f, &a, &b, NULL), -EBADMSG);
	uk_put_be32(p, 256);
	assert_int_equal(uk_agent_exit_decode(&f, &a, &b, NULL), -EBADMSG);
	/* ERROR: the message is made printable */
	f.type = UK_AGENT_ERROR;
	uk_put_be32(p, ENOENT);
	memcpy(p + 4, "a\033[2Jb", 6);
	f.len = 10;
	assert_int_equal(uk_agent_error_decode(&f, &a, msg, sizeof(msg), NULL), 0);
	assert_int_equal(a, ENOENT);
	assert_string_equal(msg, "a?[2Jb");
	uk_put_be32(p, 0);
	assert_int_equal(uk_agent_error_decode(&f, &a, msg, sizeof(msg), NULL), -EBADMSG);
	/* RING: aligned, inside the ring, a type a client sends */
	f.type = UK_AGENT_RING;
	f.len = 12;
	memset(p, 0, 12);
	p[0] = UK_AGENT_STDIN;
	uk_put_be32(p + 4, 8192);
	uk_put_be32(p + 8, 100);
	assert_int_equal(uk_agent_ring_decode(&f, &r, NULL), 0);
	assert_int_equal(r.off, 8192);
	uk_put_be32(p + 4, 8191);
	assert_int_equal(uk_agent_ring_decode(&f, &r, NULL), -EBADMSG);
	uk_put_be32(p + 4, UK_AGENT_RING_SIZE - 4096);
	uk_put_be32(p + 8, 4097);
	assert_int_equal(uk_agent_ring_decode(&f, &r, NULL), -EBADMSG);
	uk_put_be32(p + 4, 0);
	uk_put_be32(p + 8, 10);
	p[0] = UK_AGENT_EXIT;
	assert_int_equal(uk_agent_ring_decode(&f, &r, NULL), -EBADMSG);
}

static void test_names(void **state)
{
	const char *good[] = {"a", "a/b", "..a", "a..", ".x/y", "a b/c"};
	const char *bad[] = {"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "../x"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(uk_agent_name_ok(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(uk_agent_name_ok(bad[i], strlen(bad[i])));
	assert_false(uk_agent_name_ok("a\0b", 3));
}

static void test_entry(void **state)
{
	static struct uk_agent_entry e, g;
	static uint8_t buf[UK_AGENT_FRAME_MAX];
	struct uk_agent_frame f;
	ssize_t n;

	e.type = UK_AGENT_A_FILE;
	e.mode = 04755;
	e.size = 1ULL << 40;
	strcpy(e.name, "t/bin/x");
	n = uk_agent_entry_encode(buf, sizeof(buf), &e);
	assert_true(n > 0);
	assert_int_equal(uk_agent_frame_decode(buf, (size_t)n, &f, NULL), n);
	assert_int_equal(uk_agent_entry_decode(&f, &g, NULL), 0);
	assert_int_equal(g.mode, 04755);
	assert_true(g.size == 1ULL << 40);
	assert_string_equal(g.name, "t/bin/x");
	e.type = UK_AGENT_A_SYMLINK;
	strcpy(e.target, "/etc/passwd"); /* a target is any text; it is never followed */
	n = uk_agent_entry_encode(buf, sizeof(buf), &e);
	assert_int_equal(uk_agent_frame_decode(buf, (size_t)n, &f, NULL), n);
	assert_int_equal(uk_agent_entry_decode(&f, &g, NULL), 0);
	assert_string_equal(g.target, "/etc/passwd");
	strcpy(e.name, "t/../x");
	assert_int_equal(uk_agent_entry_encode(buf, sizeof(buf), &e), -EINVAL);
}

static void test_rbuf(void **state)
{
	struct uk_agent_rbuf rb;
	struct uk_agent_frame f;
	uint8_t stream[200];
	size_t len = 0;
	int got = 0;

	assert_int_equal(uk_agent_rbuf_init(&rb), 0);
	for (int i = 0; i < 5; i++)
		len += (size_t)uk_agent_frame_encode(stream + len, sizeof(stream) - len,
						     UK_AGENT_STDOUT, (uint32_t)i, "hello", 5);
	for (size_t i = 0; i < len; i++) { /* a byte at a time */
		size_t room;
		uint8_t *at = uk_agent_rbuf_space(&rb, &room);

		assert_true(room > 0);
		*at = stream[i];
		uk_agent_rbuf_fill(&rb, 1);
		while (uk_agent_rbuf_next(&rb, &f, NULL) > 0) {
			assert_int_equal(f.session, (uint32_t)got);
			assert_memory_equal(f.payload, "hello", 5);
			got++;
		}
	}
	assert_int_equal(got, 5);
	uk_agent_rbuf_free(&rb);
}

/* ---- archives ---- */

static char dir[64];

static int scratch_setup(void **state)
{
	strcpy(dir, "/tmp/test_agent.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int scratch_teardown(void **state)
{
	uk_remove_tree(AT_FDCWD, dir);
	return 0;
}

static void path(char *out, const char *rel)
{
	snprintf(out, 256, "%s/%s", dir, rel);
}

static void write_file(const char *rel, const char *text, mode_t mode)
{
	char p[256];
	int fd;

	path(p, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(uk_write_all(fd, text, strlen(text)), 0);
	fchmod(fd, mode);
	close(fd);
}

/* Unpack the stream in file rel into directory to (relative to dir). */
static int unpack_file(const char *rel, const char *to, const char *top, struct uk_err *err)
{
	char p[256], d[256];
	int in, dfd, r;

	path(p, rel);
	path(d, to);
	in = open(p, O_RDONLY);
	dfd = open(d, O_RDONLY | O_DIRECTORY);
	assert_true(in >= 0 && dfd >= 0);
	r = uk_agent_unpack(in, dfd, top, true, err);
	close(in);
	close(dfd);
	return r;
}

static void test_pack_unpack(void **state)
{
	char p[256], q[256], link[64];
	struct uk_err err = {0};
	struct stat st;
	int fd;

	path(p, "src");
	mkdir(p, 0755);
	path(p, "src/sub");
	mkdir(p, 0500); /* read-only: filled, then its mode set */
	write_file("src/a", "alpha", 0640);
	write_file("src/sub/b", "beta", 04755);
	path(p, "src/l");
	assert_int_equal(symlink("../../outside", p), 0);
	path(p, "src/sub");
	chmod(p, 0500);
	path(q, "stream");
	fd = open(q, O_WRONLY | O_CREAT, 0600);
	path(p, "src");
	assert_int_equal(uk_agent_pack(fd, p, "src", false, NULL, &err), -EISDIR);
	assert_int_equal(uk_agent_pack(fd, p, "src", true, NULL, &err), 0);
	assert_int_equal(uk_agent_pack_end(fd, &err), 0);
	close(fd);
	path(p, "dst");
	mkdir(p, 0755);
	assert_int_equal(unpack_file("stream", "dst", "copy", &err), 0);
	path(p, "dst/copy/a");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_size, 5);
	path(p, "dst/copy/sub/b");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755); /* setuid stripped */
	path(p, "dst/copy/sub");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0500);
	path(p, "dst/copy/l");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(readlink(p, link, sizeof(link)), 13);
	path(p, "dst/copy/sub");
	chmod(p, 0700);
}

/* A hand-made stream: frames in the file rel. */
static void stream(const char *rel, const struct uk_agent_entry *e, int n, bool end)
{
	static uint8_t buf[UK_AGENT_FRAME_MAX];
	char p[256];
	int fd;

	path(p, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	for (int i = 0; i < n; i++) {
		ssize_t len = uk_agent_entry_encode(buf, sizeof(buf), &e[i]);

		assert_true(len > 0);
		assert_int_equal(uk_write_all(fd, buf, (size_t)len), 0);
		if (e[i].type == UK_AGENT_A_FILE) {
			len = uk_agent_frame_encode(buf, sizeof(buf), UK_AGENT_A_DATA, 0, "pwned",
						    5);
			uk_write_all(fd, buf, (size_t)len);
			len = uk_agent_frame_encode(buf, sizeof(buf), UK_AGENT_A_DATA, 0, NULL, 0);
			uk_write_all(fd, buf, (size_t)len);
		}
	}
	if (end)
		uk_agent_pack_end(fd, NULL);
	close(fd);
}

static void test_unpack_hostile(void **state)
{
	static struct uk_agent_entry e[3];
	struct uk_err err = {0};
	char p[256];
	uint8_t raw[64];
	struct stat st;
	int fd;

	path(p, "dst");
	mkdir(p, 0755);
	path(p, "victim");
	mkdir(p, 0755);
	/* a symlink to outside, then a file through it: refused, nothing written outside */
	e[0] = (struct uk_agent_entry){.type = UK_AGENT_A_DIR, .mode = 0755};
	strcpy(e[0].name, "t");
	e[1] = (struct uk_agent_entry){.type = UK_AGENT_A_SYMLINK};
	strcpy(e[1].name, "t/esc");
	snprintf(e[1].target, sizeof(e[1].target), "%s/victim", dir);
	e[2] = (struct uk_agent_entry){.type = UK_AGENT_A_FILE, .mode = 0644};
	strcpy(e[2].name, "t/esc/file");
	stream("s1", e, 3, true);
	assert_true(unpack_file("s1", "dst", NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "t/esc/file"));
	path(p, "victim/file");
	assert_int_equal(stat(p, &st), -1);
	/* a name with .. in it, written by hand (the encoder refuses it) */
	path(p, "s2");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uk_agent_frame_header(raw, UK_AGENT_A_DIR, 0, 4 + 5);
	uk_put_be32(raw + UK_AGENT_HDR, 0755);
	memcpy(raw + UK_AGENT_HDR + 4, "../up", 5);
	uk_write_all(fd, raw, UK_AGENT_HDR + 9);
	close(fd);
	assert_int_equal(unpack_file("s2", "dst", NULL, &err), -EBADMSG);
	path(p, "up");
	assert_int_equal(stat(p, &st), -1);
	/* a stream cut inside a file: no temporary left, the file not in place */
	e[0] = (struct uk_agent_entry){.type = UK_AGENT_A_FILE, .mode = 0644};
	strcpy(e[0].name, "cut");
	stream("s3", e, 1, false);
	path(p, "s3");
	/* cut before the empty A_DATA */
	assert_int_equal(truncate(p, UK_AGENT_HDR + 12 + 3 + UK_AGENT_HDR + 5), 0);
	assert_int_equal(unpack_file("s3", "dst", NULL, &err), -EBADMSG);
	path(p, "dst/cut");
	assert_int_equal(stat(p, &st), -1);
	{
		char **names;
		int n;

		path(p, "dst");
		assert_int_equal(uk_dir_names(p, NULL, &names, &n, NULL), 0);
		uk_names_free(names, n);
		assert_int_equal(n, 1); /* t from the first stream, nothing else */
	}
	/* with rename_top, an entry outside the first one's top is refused */
	e[0] = (struct uk_agent_entry){.type = UK_AGENT_A_DIR, .mode = 0755};
	strcpy(e[0].name, "a");
	e[1] = (struct uk_agent_entry){.type = UK_AGENT_A_DIR, .mode = 0755};
	strcpy(e[1].name, "b");
	stream("s4", e, 2, true);
	assert_int_equal(unpack_file("s4", "dst", "x", &err), -EBADMSG);
}

static void test_dest(void **state)
{
	struct uk_agent_dest d;
	struct uk_err err = {0};
	char p[256];

	path(p, "");
	assert_int_equal(uk_agent_dest_resolve(p, 2, &d, &err), 0);
	assert_true(d.into_dir);
	path(p, "new");
	assert_int_equal(uk_agent_dest_resolve(p, 1, &d, &err), 0);
	assert_false(d.into_dir);
	assert_string_equal(d.top, "new");
	assert_string_equal(d.dir, dir);
	assert_int_equal(uk_agent_dest_resolve(p, 2, &d, &err), -ENOENT);
	path(p, "missing/new");
	assert_int_equal(uk_agent_dest_resolve(p, 1, &d, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "missing: no such directory"));
	write_file("file", "x", 0644);
	path(p, "file");
	assert_int_equal(uk_agent_dest_resolve(p, 1, &d, &err), 0);
	assert_int_equal(uk_agent_dest_resolve(p, 2, &d, &err), -ENOTDIR);
}

/* ---- the relay: the line's window ---- */

/* Let the relay work until nothing happens for 50 ms. */
static void relay_pump(struct uk_agent_relay *r)
{
	struct pollfd p[2 + UK_AGENT_SESSIONS];
	int n;

	for (int i = 0; i < 1000; i++) {
		n = uk_agent_relay_pollfds(r, p, (int)UK_ARRAY_SIZE(p));
		if (poll(p, (nfds_t)n, 50) <= 0)
			return;
		uk_agent_relay_handle(r, p, n);
	}
	fail_msg("the relay never settled");
}

/* What the agent's end of the line holds now, drained. */
static size_t line_drain(int fd)
{
	static uint8_t buf[65536];
	size_t total = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
	return total;
}

static void send_u32_frame(int fd, uint8_t type, uint32_t v)
{
	uint8_t f[UK_AGENT_HDR + 4];
	size_t n = uk_agent_frame_u32(f, type, 0, v);

	assert_int_equal(write(fd, f, n), (ssize_t)n);
}

/* A relay with its line attached, an agent's HELLO with flags, and one client that has
 * sent EXEC and 64 STDIN frames of 200 bytes (inline: no ring). The line's fd is *line. */
static struct uk_agent_relay *relay_with_client(uint32_t flags, int *line, int *client)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct uk_agent_relay *r;
	struct uk_err err = {0};
	uint8_t hello[UK_AGENT_HDR + 8] = {0}, buf[UK_AGENT_HDR + 512];
	char *argv[] = {"cat", NULL}, *envp[] = {NULL};
	int sp[2];
	ssize_t n;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/agent", dir);
	assert_int_equal(uk_agent_relay_new(&r, "web", a.sun_path, getuid(), -1, &err), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	uk_agent_relay_attach(r, sp[0]);
	*line = sp[1];
	uk_agent_frame_header(hello, UK_AGENT_HELLO, 0, 8);
	uk_put_be32(hello + UK_AGENT_HDR, UK_AGENT_PROTO);
	uk_put_be32(hello + UK_AGENT_HDR + 4, flags);
	assert_int_equal(write(*line, hello, sizeof(hello)), (ssize_t)sizeof(hello));
	relay_pump(r);
	*client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(*client, (struct sockaddr *)&a, sizeof(a)), 0);
	n = uk_agent_exec_encode(buf + UK_AGENT_HDR, sizeof(buf) - UK_AGENT_HDR,
				 UK_AGENT_EXEC_STDIN, 0, 0, argv, envp);
	assert_true(n > 0);
	uk_agent_frame_header(buf, UK_AGENT_EXEC, 0, (uint32_t)n);
	assert_int_equal(write(*client, buf, UK_AGENT_HDR + (size_t)n), UK_AGENT_HDR + n);
	memset(buf + UK_AGENT_HDR, 'x', 200);
	uk_agent_frame_header(buf, UK_AGENT_STDIN, 0, 200);
	for (int i = 0; i < 64; i++)
		assert_int_equal(write(*client, buf, UK_AGENT_HDR + 200), UK_AGENT_HDR + 200);
	relay_pump(r);
	return r;
}

static void test_relay_line_window(void **state)
{
	int line, client;
	struct uk_agent_relay *r = relay_with_client(UK_AGENT_HELLO_LINE_ACK, &line, &client);

	/* 13 KiB wait; the line gets its window and no more until the agent acknowledges */
	assert_int_equal(line_drain(line), UK_AGENT_LINE_WINDOW);
	relay_pump(r);
	assert_int_equal(line_drain(line), 0);
	send_u32_frame(line, UK_AGENT_LINE_ACK, 1000);
	relay_pump(r);
	assert_int_equal(line_drain(line), 1000);
	/* an acknowledgement beyond what was sent opens no more than the window */
	send_u32_frame(line, UK_AGENT_LINE_ACK, 1u << 30);
	relay_pump(r);
	assert_int_equal(line_drain(line), UK_AGENT_LINE_WINDOW);
	for (int i = 0; i < 8; i++) {
		send_u32_frame(line, UK_AGENT_LINE_ACK, UK_AGENT_LINE_WINDOW);
		relay_pump(r);
		line_drain(line);
	}
	assert_int_equal(line_drain(line), 0); /* all of it went: 12 + EXEC + 64 * 212 */
	close(client);
	relay_pump(r);
	uk_agent_relay_free(r);
	close(line);
}

static void test_relay_no_line_ack(void **state)
{
	int line, client;
	struct uk_agent_relay *r = relay_with_client(0, &line, &client);

	/* an agent without flag 2 (older images) gets everything at once, as before */
	assert_true(line_drain(line) > 64 * (UK_AGENT_HDR + 200));
	close(client);
	relay_pump(r);
	uk_agent_relay_free(r);
	close(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_small_payloads),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_entry),
		cmocka_unit_test(test_rbuf),
		cmocka_unit_test_setup_teardown(test_pack_unpack, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_unpack_hostile, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_dest, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_relay_line_window, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_relay_no_line_ack, scratch_setup,
						scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
