// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit lab check DIR [FILE]: the lab's check file run in its machines through the agent,
 * each check's result on a line of its own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cmd.h"
#include "lab.h"
#include "umlkit/agent.h"
#include "umlkit/guest.h"
#include "umlkit/lab.h"
#include "umlkit/util.h"

#define CHECK_TIMEOUT_S 30	    /* one check's command in its machine */
#define CHECK_OUT_MAX	(64 * 1024) /* of its output, what the judge reads */

/* The whole of fd (a memfd the command wrote) from its start, NUL-terminated: up to max. */
static char *read_back(int fd, size_t max)
{
	off_t end = lseek(fd, 0, SEEK_END);
	size_t n = end > 0 ? (size_t)end : 0;
	char *buf;
	ssize_t got;

	if (n > max)
		n = max;
	buf = malloc(n + 1);
	if (!buf)
		return NULL;
	got = n ? pread(fd, buf, n, 0) : 0;
	buf[got > 0 ? (size_t)got : 0] = '\0';
	return buf;
}

/* uk_lab_exec_fn: argv in the machine's guest, its stdout and stderr into one buffer */
static int machine_exec(void *ctx, const char *machine, char *const argv[], char **out, int *status)
{
	const struct uk_lab *lab = ctx;
	_cleanup_close_ int fd = memfd_create("umlkit-lab-check", MFD_CLOEXEC);
	struct uk_agent_io io = {.in = -1, .out = fd, .err = fd, .winch_fd = -1, .tty_fd = -1};
	struct uk_agent_result res = {0};
	char name[UK_GUEST_NAME_MAX + 1];
	int sock, r;

	if (fd < 0)
		return -errno;
	uk_lab_guest_name(lab, machine, name, sizeof(name));
	r = uk_guest_agent_connect(name, &sock, NULL);
	if (r == 0)
		r = uk_agent_run(sock, name, 0, argv, NULL, &io, CHECK_TIMEOUT_S, &res, NULL);
	if (r < 0)
		return r;
	if (res.error)
		return -EIO;
	*status = res.signal ? 128 + res.signal : res.status;
	*out = read_back(fd, CHECK_OUT_MAX);
	return 0;
}

static void print_result(const struct uk_lab_check *c, const struct uk_lab_check_result *res)
{
	/* the words the check file puts before an argument of this kind, by position */
	static const char *const route[] = {"", "via ", "dev ", ""};
	static const char *const dns[] = {"", "", "", "@"};
	static const char *const http[] = {"", "contains ", "", ""};
	const char *const *pre = c->kind == UK_LAB_CHECK_ROUTE	? route
				 : c->kind == UK_LAB_CHECK_DNS	? dns
				 : c->kind == UK_LAB_CHECK_HTTP ? http
								: NULL;

	printf("%s %s %s", res->pass ? "ok  " : "FAIL", c->machine,
	       uk_lab_check_kind_name(c->kind));
	for (int i = 0; i < UK_LAB_CHECK_ARGS; i++)
		if (c->arg[i])
			printf(pre && pre[i][0] == 'c' ? " %s\"%s\"" : " %s%s", pre ? pre[i] : "",
			       c->arg[i]);
	if (!res->pass)
		printf(": %s", res->detail);
	putchar('\n');
}

/* Every check's machine is one of the lab's and runs: else the exit status, naming it */
static int machines_up(const struct uk_lab *lab, const struct uk_lab_checks *list, const char *file)
{
	for (int i = 0; i < list->n; i++) {
		const char *m = list->check[i].machine;

		if (!uk_lab_machine_find(lab, m)) {
			uk_say("%s:%d: no machine named '%s' in %s", file, list->check[i].line, m,
			       lab->dir);
			return UK_EXIT_FAIL;
		}
		if (!uk_lab_machine_running(lab, m)) {
			uk_say("%s: machine '%s' is not running (umlkit lab start %s)", lab->dir, m,
			       lab->dir);
			return UK_EXIT_FAIL;
		}
	}
	return 0;
}

int uk_lab_cmd_check(struct uk_lab_cmd *c, const char *file)
{
	struct uk_lab_checks list = {0};
	struct uk_lab_check_result *res = NULL;
	struct uk_err err = {0};
	int r = uk_lab_cmd_load(c), failed;

	if (r)
		return r;
	if (uk_lab_check_load(c->lab->dir, file, &list, &err) < 0)
		return uk_fail(&err);
	r = machines_up(c->lab, &list, file ? file : "lab.check");
	if (r == 0 && !(res = calloc(list.n ? (size_t)list.n : 1, sizeof(*res))))
		r = uk_fail(&(struct uk_err){.msg = "out of memory"});
	if (r == 0) {
		failed = uk_lab_check_run(&list, machine_exec, c->lab, res);
		for (int i = 0; i < list.n; i++)
			print_result(&list.check[i], &res[i]);
		printf("%d passed, %d failed\n", list.n - failed, failed);
		r = failed ? UK_EXIT_FAIL : UK_EXIT_OK;
	}
	free(res);
	uk_lab_checks_free(&list);
	return r;
}
