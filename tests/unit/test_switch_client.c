// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/switch/client.c against a fake switch: a process that listens on the control socket a
 * switch NAME would have, takes one request (and the fd passed with it) and gives the reply
 * the test chose. uk_switch_ask must hand back the parsed reply only when it is {"ok":true},
 * and refuse a refusal, a reply that is not a JSON object and no switch at all with a message
 * that names the switch; uk_switch_attach_fd must return the port the reply names, and
 * nothing else.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "umlkit/switch.h"

#define NAME "fake0"

struct scratch {
	char dir[128];
	char *xdg;
	int lfd;    /* the fake switch's listening control socket */
	pid_t pid;  /* the fake switch's one answer */
	int report; /* read end: what the fake switch got */
};

static int setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmpl[] = "/tmp/uk-test-swc.XXXXXX", dir[4096];
	const char *x = getenv("XDG_RUNTIME_DIR");

	if (!s || !mkdtemp(tmpl))
		return -1;
	snprintf(s->dir, sizeof(s->dir), "%s", tmpl);
	s->xdg = x ? strdup(x) : NULL;
	setenv("XDG_RUNTIME_DIR", s->dir, 1);
	if (uk_switch_dir(NAME, dir, sizeof(dir), NULL) < 0 ||
	    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ctl", dir) >= (int)sizeof(sa.sun_path))
		return -1;
	s->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->lfd, 4) < 0)
		return -1;
	s->pid = -1;
	s->report = -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct scratch *s = *state;
	char cmd[256];

	if (s->pid > 0)
		waitpid(s->pid, NULL, 0);
	if (s->report >= 0)
		close(s->report);
	close(s->lfd);
	if (s->xdg)
		setenv("XDG_RUNTIME_DIR", s->xdg, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	free(s->xdg);
	free(s);
	return system(cmd) == 0 ? 0 : -1;
}

/* The fake switch: one connection, one request, this reply. It reports through a pipe the
 * request it got and whether an fd came with it ("fd " or "-- ", then the request). */
static void answer_once(struct scratch *s, const char *reply)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		char buf[4096], cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {buf, sizeof(buf) - 1};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = cbuf,
				   .msg_controllen = sizeof(cbuf)};
		int c = accept(s->lfd, NULL, NULL);
		ssize_t n = c < 0 ? -1 : recvmsg(c, &m, 0);

		close(p[0]);
		if (n < 0)
			_exit(1);
		buf[n] = '\0';
		if (write(p[1], CMSG_FIRSTHDR(&m) ? "fd " : "-- ", 3) != 3 ||
		    write(p[1], buf, (size_t)n) != n ||
		    send(c, reply, strlen(reply), MSG_NOSIGNAL) != (ssize_t)strlen(reply))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	s->report = p[0];
}

/* What the fake switch got (see answer_once), once it has answered. */
static const char *request_seen(struct scratch *s)
{
	static char buf[4096];
	ssize_t n;
	int st;

	assert_int_equal(waitpid(s->pid, &st, 0), s->pid);
	s->pid = -1;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	n = read(s->report, buf, sizeof(buf) - 1);
	assert_true(n >= 3);
	buf[n] = '\0';
	return buf;
}

static void test_ask_ok(void **state)
{
	struct scratch *s = *state;
	struct uk_err err = {0};
	json_t *rep = NULL;

	answer_once(s, "{\"ok\":true,\"ports\":[]}");
	assert_int_equal(uk_switch_ask(NAME, "{\"cmd\":\"ports\"}", -1, &rep, &err), 0);
	assert_non_null(rep);
	assert_true(json_is_array(json_object_get(rep, "ports")));
	json_decref(rep);
	assert_string_equal(request_seen(s), "-- {\"cmd\":\"ports\"}");

	/* the reply not wanted */
	answer_once(s, "{\"ok\":true}");
	assert_int_equal(uk_switch_ask(NAME, "{\"cmd\":\"stop\"}", -1, NULL, &err), 0);
	request_seen(s);
}

static void test_ask_refused(void **state)
{
	struct scratch *s = *state;
	struct uk_err err = {0};
	json_t *rep = (json_t *)1;

	answer_once(s, "{\"ok\":false,\"error\":\"no port 400\"}");
	assert_int_equal(uk_switch_ask(NAME, "{\"cmd\":\"x\"}", -1, &rep, &err), -EPROTO);
	assert_null(rep);
	assert_string_equal(err.msg, "switch 'fake0': no port 400");
	request_seen(s);

	answer_once(s, "{\"ok\":false}");
	assert_int_equal(uk_switch_ask(NAME, "{\"cmd\":\"x\"}", -1, NULL, &err), -EPROTO);
	assert_string_equal(err.msg, "switch 'fake0': request failed");
	request_seen(s);
}

static void test_ask_not_json(void **state)
{
	struct scratch *s = *state;
	static const char *const bad[] = {"{\"ok\":tr", "[true]", "\"ok\"", "ok"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct uk_err err = {0};
		json_t *rep = (json_t *)1;

		answer_once(s, bad[i]);
		assert_int_equal(uk_switch_ask(NAME, "{}", -1, &rep, &err), -EPROTO);
		assert_null(rep);
		assert_string_equal(err.msg, "switch 'fake0': its reply is not a JSON object");
		request_seen(s);
	}
}

static void test_ask_not_running(void **state)
{
	struct uk_err err = {0};
	json_t *rep = (json_t *)1;

	(void)state;
	assert_int_equal(uk_switch_ask("nosuch", "{}", -1, &rep, &err), -ENOENT);
	assert_null(rep);
	assert_string_equal(err.msg, "switch 'nosuch' is not running");
}

/* uk_switch_attach_fd against the reply chosen: its return (and err's message on failure). */
static int attach(struct scratch *s, const char *reply, struct uk_err *err)
{
	struct uk_port_conf c = {.kind = UK_PORT_FD, .vlan = 5};
	int sv[2], r;

	snprintf(c.peer, sizeof(c.peer), "test");
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	answer_once(s, reply);
	r = uk_switch_attach_fd(NAME, sv[1], &c, err);
	close(sv[0]);
	close(sv[1]);
	return r;
}

static void test_attach_port(void **state)
{
	struct scratch *s = *state;
	struct uk_err err = {0};
	const char *seen;
	json_t *req;

	assert_int_equal(attach(s, "{\"ok\":true,\"port\":7}", &err), 7);
	seen = request_seen(s);
	assert_memory_equal(seen, "fd ", 3);
	req = json_loads(seen + 3, 0, NULL);
	assert_non_null(req);
	assert_string_equal(json_string_value(json_object_get(req, "cmd")), "add-port");
	assert_string_equal(json_string_value(json_object_get(req, "kind")), "fd");
	assert_string_equal(json_string_value(json_object_get(req, "peer")), "test");
	assert_int_equal(json_integer_value(json_object_get(req, "vlan")), 5);
	json_decref(req);

	assert_int_equal(attach(s, "{\"ok\":true,\"port\":0}", &err), 0);
	request_seen(s);
}

static void test_attach_no_port(void **state)
{
	struct scratch *s = *state;
	static const char *const bad[] = {"{\"ok\":true}", "{\"ok\":true,\"port\":\"3\"}",
					  "{\"ok\":true,\"port\":-1}",
					  "{\"ok\":true,\"port\":100000}"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct uk_err err = {0};

		assert_int_equal(attach(s, bad[i], &err), -EPROTO);
		assert_string_equal(err.msg, "switch 'fake0': its reply names no port");
		request_seen(s);
	}
	{
		struct uk_err err = {0};

		assert_int_equal(attach(s, "{\"ok\":false,\"error\":\"too many ports\"}", &err),
				 -EPROTO);
		assert_string_equal(err.msg, "switch 'fake0': too many ports");
		request_seen(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ask_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ask_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ask_not_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ask_not_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_no_port, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
