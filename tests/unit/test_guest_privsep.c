// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lib/guest/privsep.c: the helper that stays root beside a --user guest's supervisor. What
 * the supervisor asks it to write as the guest's status cannot name another supervisor, a
 * kernel that is not the supervisor's child, other ids, or add a line to the file; the end
 * (asked, or the supervisor's channel closing) removes the guest's net record and sockets;
 * the helper then exits.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "umlkit/guest.h"
#include "../../lib/guest/cgroup-internal.h"
#include "../../lib/guest/guest-internal.h"

struct fixture {
	char run[64];
	struct uk_guest_spec *spec;
	struct uk_guest_paths paths;
	struct uk_supervise sv;
	struct uk_guest_status st;
	struct uk_guest_cgroup cg;
	struct uk_guest_hostnet hn;
	struct uk_guest_privsep ps;
};

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	close(fd);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct uk_err err = {0};
	int dfd;

	assert_non_null(f);
	snprintf(f->run, sizeof(f->run), "/tmp/uk-privsep.XXXXXX");
	assert_non_null(mkdtemp(f->run));
	setenv("XDG_RUNTIME_DIR", f->run, 1);
	f->spec = calloc(1, sizeof(*f->spec));
	assert_non_null(f->spec);
	snprintf(f->spec->name, sizeof(f->spec->name), "web");
	f->spec->uid = 4711;
	f->spec->gid = 4711;
	dfd = uk_guest_state_open("web", true, &err);
	assert_true(dfd >= 0);
	close(dfd);
	assert_int_equal(uk_guest_paths("web", &f->paths, &err), 0);
	f->sv = (struct uk_supervise){
		.spec = f->spec, .paths = &f->paths, .lock_fd = -1, .report_fd = -1};
	snprintf(f->st.name, sizeof(f->st.name), "web");
	f->st.state = UK_GUEST_BOOTING;
	f->st.supervisor_pid = getpid();
	f->st.kernel_pid = 0;
	f->st.uid = f->st.gid = 4711;
	f->st.jail = 1;
	for (int i = 0; i < UK_CG_NCTRL; i++)
		f->cg.of[i] = -1;
	f->ps.chan = -1;
	touch(f->paths.net);
	touch(f->paths.console_sock);
	touch(f->paths.agent_sock);
	assert_int_equal(uk_guest_privsep_start(&f->ps, &f->sv, &f->st, &f->cg, &f->hn, &err), 0);
	assert_true(f->ps.chan >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->ps.chan >= 0)
		close(f->ps.chan);
	if (f->ps.pid > 0)
		waitpid(f->ps.pid, NULL, 0);
	uk_remove_tree(AT_FDCWD, f->run);
	free(f->spec);
	free(f);
	return 0;
}

static char *status_text(const struct fixture *f)
{
	static char buf[8192];

	assert_true(uk_guest_read_small(f->paths.status, buf, sizeof(buf)) > 0);
	return buf;
}

static void has_line(const char *text, const char *line)
{
	char want[600];

	snprintf(want, sizeof(want), "\n%s\n", line);
	if (!strncmp(text, line, strlen(line)) && text[strlen(line)] == '\n')
		return;
	if (!strstr(text, want))
		fail_msg("no line '%s' in:\n%s", line, text);
}

/* A status the supervisor asks for is written, with its own fields. */
static void test_status_written(void **state)
{
	struct fixture *f = *state;
	struct uk_guest_status st = f->st;
	char line[64];

	st.state = UK_GUEST_RUNNING;
	st.restarts = 2;
	snprintf(st.message, sizeof(st.message), "all well");
	assert_int_equal(uk_guest_privsep_status(&f->ps, &st), 0);
	has_line(status_text(f), "state=running");
	has_line(status_text(f), "restarts=2");
	has_line(status_text(f), "message=all well");
	snprintf(line, sizeof(line), "supervisor=%d", (int)getpid());
	has_line(status_text(f), line);
}

/* A supervisor taken over cannot make root's commands act on other processes or ids. */
static void test_status_vouched(void **state)
{
	struct fixture *f = *state;
	struct uk_guest_status st = f->st;
	char line[64];
	const char *t;

	st.supervisor_pid = 1;
	st.kernel_pid = 1; /* not a child of the supervisor */
	st.uid = 0;
	st.gid = 0;
	st.jail = 0;
	snprintf(st.cgroup, sizeof(st.cgroup), "/sys/fs/cgroup");
	snprintf(st.message, sizeof(st.message), "x\nsupervisor=1\nkernel=1");
	snprintf(st.waiting_for, sizeof(st.waiting_for), "y\rstate=stopped");
	memset(st.jail_missing, 'z', sizeof(st.jail_missing)); /* no terminating NUL */
	assert_int_equal(uk_guest_privsep_status(&f->ps, &st), 0);
	t = status_text(f);
	snprintf(line, sizeof(line), "supervisor=%d", (int)getpid());
	has_line(t, line);
	has_line(t, "kernel=0");
	has_line(t, "uid=4711");
	has_line(t, "gid=4711");
	has_line(t, "jail=1");
	has_line(t, "cgroup=");
	has_line(t, "jail_missing=");
	has_line(t, "message=x supervisor=1 kernel=1");
	assert_null(strstr(t, "\nsupervisor=1\n"));
	assert_null(strstr(t, "\nstate=stopped"));
}

/* A kernel that is the supervisor's child is taken. */
static void test_status_own_child(void **state)
{
	struct fixture *f = *state;
	struct uk_guest_status st = f->st;
	char line[64];
	pid_t kid = fork();

	if (kid == 0) {
		pause();
		_exit(0);
	}
	assert_true(kid > 0);
	st.kernel_pid = kid;
	assert_int_equal(uk_guest_privsep_status(&f->ps, &st), 0);
	snprintf(line, sizeof(line), "kernel=%d", (int)kid);
	has_line(status_text(f), line);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
}

/* The end removes what the guest holds, answers, and the helper exits. */
static void test_end(void **state)
{
	struct fixture *f = *state;
	int wst = -1;

	uk_guest_privsep_end(&f->ps);
	assert_int_equal(f->ps.chan, -1);
	assert_int_equal(access(f->paths.net, F_OK), -1);
	assert_int_equal(access(f->paths.console_sock, F_OK), -1);
	assert_int_equal(access(f->paths.agent_sock, F_OK), -1);
	assert_int_equal(waitpid(f->ps.pid, &wst, 0), f->ps.pid);
	f->ps.pid = 0;
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	assert_int_equal(uk_guest_privsep_status(&f->ps, &f->st), -EBADF);
}

/* The supervisor's death (its end of the channel closing) is the end too. */
static void test_supervisor_gone(void **state)
{
	struct fixture *f = *state;
	int wst = -1;

	close(f->ps.chan);
	f->ps.chan = -1;
	assert_int_equal(waitpid(f->ps.pid, &wst, 0), f->ps.pid);
	f->ps.pid = 0;
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	assert_int_equal(access(f->paths.net, F_OK), -1);
	assert_int_equal(access(f->paths.console_sock, F_OK), -1);
}

/* Who separates: root supervising a --user guest outside the foreground. */
static void test_wanted(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(uk_guest_privsep_wanted(&f->sv), geteuid() == 0);
	f->spec->uid = -1;
	assert_false(uk_guest_privsep_wanted(&f->sv));
	f->spec->uid = 4711;
	f->sv.foreground = true;
	assert_false(uk_guest_privsep_wanted(&f->sv));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_vouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_own_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_supervisor_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wanted, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
