// SPDX-License-Identifier: LGPL-2.1-or-later
/* uk_daemon_start and uk_daemon_wait (lib/util/daemon.c): what a daemon keeps of its
 * starter (nothing but what it is given), where it runs, and how its reports are read; and
 * the runtime directory a daemon and its caller agree on. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "umlkit/util.h"

static int64_t in_ms(int ms)
{
	return (int64_t)(uk_monotonic_ns() / 1000000) + ms;
}

/* In the daemon: "ready fds=A,B,... cwd=DIR umask=NNN null=N leader=N" on report, then exit. */
static void describe_self(int report)
{
	char line[1024], cwd[PATH_MAX] = "?", fds[512] = "", link[64], target[PATH_MAX];
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	mode_t mask = umask(0);
	int null = 0;
	size_t n = 0;

	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		n += (size_t)snprintf(fds + n, sizeof(fds) - n, "%s%d", n ? "," : "", fd);
	}
	if (d)
		closedir(d);
	for (int fd = 0; fd < 3; fd++) {
		ssize_t k;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		k = readlink(link, target, sizeof(target) - 1);
		target[k > 0 ? k : 0] = '\0';
		null += !strcmp(target, "/dev/null");
	}
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "?");
	snprintf(line, sizeof(line), "ready fds=%s cwd=%s umask=%03o null=%d leader=%d\n", fds, cwd,
		 (unsigned)mask, null, getsid(0) == getpid());
	uk_write_all(report, line, strlen(line));
	_exit(0);
}

/* fd's number as it appears in a "fds=" list, with the commas around it. */
static bool lists_fd(const char *line, int fd)
{
	char want[32], list[600];
	const char *p = strstr(line, "fds="), *end;

	assert_non_null(p);
	p += 4;
	end = strchr(p, ' ');
	snprintf(list, sizeof(list), ",%.*s,", (int)(end - p), p);
	snprintf(want, sizeof(want), ",%d,", fd);
	return strstr(list, want) != NULL;
}

/* Descriptors opened without CLOEXEC before the start (as a shell's fd 7 is): the daemon has
 * none of them but the one it keeps; it runs in "/", with umask 022, stdio on /dev/null, in
 * a session it does not lead. */
static void test_daemon_keeps_nothing(void **state)
{
	struct uk_daemon_reader rd = {.fd = -1};
	int stray[3], kept = open("/dev/null", O_RDONLY), r;
	struct uk_daemon_opts o = {.keep = &kept, .nkeep = 1, .umask = 022};
	char line[1024];

	(void)state;
	stray[0] = open("/dev/null", O_RDONLY);
	stray[1] = open("/", O_RDONLY | O_DIRECTORY);
	stray[2] = dup(stray[0]);
	for (int i = 0; i < 3; i++)
		assert_true(stray[i] >= 3);
	assert_true(kept >= 3);
	r = uk_daemon_start(&o, &rd.fd, NULL);
	if (r == 0)
		describe_self(rd.fd);
	assert_int_equal(r, 1);
	assert_int_equal(uk_daemon_wait(&rd, "ready", in_ms(30000), line, sizeof(line), NULL), 0);
	close(rd.fd);
	for (int i = 0; i < 3; i++) {
		assert_false(lists_fd(line, stray[i]));
		close(stray[i]);
	}
	assert_true(lists_fd(line, kept));
	close(kept);
	assert_non_null(strstr(line, " cwd=/ "));
	assert_non_null(strstr(line, " umask=022 "));
	assert_non_null(strstr(line, " null=3 "));
	assert_non_null(strstr(line, " leader=0"));
}

/* A daemon that says fail_line (NULL: nothing) and ends: what waiting for "ready" gives. */
static int ready_of(const char *fail_line, struct uk_err *err)
{
	struct uk_daemon_reader rd = {.fd = -1};
	int r = uk_daemon_start(&(struct uk_daemon_opts){.umask = 022}, &rd.fd, err);

	if (r == 0) {
		if (fail_line)
			dprintf(rd.fd, "%s\n", fail_line);
		_exit(1);
	}
	assert_int_equal(r, 1);
	r = uk_daemon_wait(&rd, "ready", in_ms(30000), NULL, 0, err);
	close(rd.fd);
	return r;
}

/* "failed MSG" is the daemon's failure, MSG its message. */
static void test_daemon_failure_reported(void **state)
{
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(ready_of("failed switch 'x' is already running (pid 1)", &err),
			 -ECANCELED);
	assert_string_equal(err.msg, "switch 'x' is already running (pid 1)");
}

/* A daemon that ends without a word: said so, not taken for ready. */
static void test_daemon_silent_end(void **state)
{
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(ready_of(NULL, &err), -ECANCELED);
	assert_string_equal(err.msg, "the daemon ended without a report");
}

/* Two reports in one write: the second is there for the next wait. A daemon that has not
 * said the word by the deadline (here: one already past, while it waits for us) times out. */
static void test_daemon_reports_in_order(void **state)
{
	struct uk_daemon_reader rd = {.fd = -1};
	struct uk_err err = {0};
	int hold[2], r;
	char line[64], c;

	(void)state;
	assert_int_equal(pipe(hold), 0);
	r = uk_daemon_start(&(struct uk_daemon_opts){.keep = hold, .nkeep = 1, .umask = 022},
			    &rd.fd, &err);
	if (r == 0) {
		dprintf(rd.fd, "started 42\nready\n");
		(void)!read(hold[0], &c, 1); /* until the test lets go */
		dprintf(rd.fd, "bye\n");
		_exit(0);
	}
	assert_int_equal(r, 1);
	close(hold[0]);
	assert_int_equal(uk_daemon_wait(&rd, "started", in_ms(30000), line, sizeof(line), &err), 0);
	assert_string_equal(line, "started 42");
	assert_int_equal(uk_daemon_wait(&rd, "ready", in_ms(30000), line, sizeof(line), &err), 0);
	assert_string_equal(line, "ready");
	assert_int_equal(uk_daemon_wait(&rd, "bye", in_ms(0), NULL, 0, &err), -ETIMEDOUT);
	close(hold[1]);
	assert_int_equal(uk_daemon_wait(&rd, "bye", in_ms(30000), NULL, 0, &err), 0);
	close(rd.fd);
}

/* Too many fds to keep: refused, nothing started. */
static void test_daemon_keep_bound(void **state)
{
	int keep[UK_DAEMON_KEEP_MAX + 1] = {0}, fd = 7;
	struct uk_err err = {0};

	(void)state;
	assert_int_equal(uk_daemon_start(&(struct uk_daemon_opts){.keep = keep,
								  .nkeep = UK_DAEMON_KEEP_MAX + 1},
					 &fd, &err),
			 -EINVAL);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err.msg, "at most"));
}

/* A relative $XDG_RUNTIME_DIR would name another directory for a daemon (in "/") than for
 * its caller: ignored, as the XDG rules say; a relative $HOME too. */
static void test_runtime_dir_relative_ignored(void **state)
{
	char out[256];
	struct uk_err err = {0};

	(void)state;
	setenv("XDG_RUNTIME_DIR", "run", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(uk_runtime_dir("guests", out, sizeof(out), &err), 0);
	assert_string_equal(out, "/home/u/.umlkit/run/guests");
	setenv("HOME", "home", 1);
	assert_int_equal(uk_runtime_dir("guests", out, sizeof(out), &err), -ENOENT);
	assert_non_null(strstr(err.msg, "absolute path"));
	setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
	assert_int_equal(uk_runtime_dir("guests", out, sizeof(out), &err), 0);
	assert_string_equal(out, "/run/user/7/umlkit/guests");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon_keeps_nothing),
		cmocka_unit_test(test_daemon_failure_reported),
		cmocka_unit_test(test_daemon_silent_end),
		cmocka_unit_test(test_daemon_reports_in_order),
		cmocka_unit_test(test_daemon_keep_bound),
		cmocka_unit_test(test_runtime_dir_relative_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
