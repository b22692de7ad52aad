// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A job per machine, each in a child process of its own (a guest's start forks daemons,
 * which a thread must not do), at most N at once, a machine's job only once the jobs of
 * the machines it depends on (lab.dep) succeeded. Children report over one pipe, a line each
 * (shorter than PIPE_BUF, so lines never mix): "INDEX p TEXT" progress, "INDEX f TEXT" why
 * the job failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlkit/util.h"
#include "pool-internal.h"
#include "run-internal.h"

enum { J_WAIT, J_RUN, J_OK, J_FAIL, J_SKIP };

#define LINE_MAX_ 2048
/* A job ends without a line, so how long the pool waits for one is how late it notices the
 * end and starts the next machine: at 200 ms that was 100 ms of an idle CPU per machine on
 * average (about 2% of a 15-machine start on 2 CPUs); a wakeup each 20 ms costs nothing */
#define REAP_MS 20

void uk_lab_report(int fd, int index, char kind, const char *fmt, ...)
{
	char line[LINE_MAX_];
	va_list ap;
	int n = snprintf(line, sizeof(line), "%d %c ", index, kind);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	for (char *c = line + n; *c; c++)
		if (*c == '\n')
			*c = ' ';
	n = (int)strlen(line);
	line[n++] = '\n';
	(void)!uk_write_all(fd, line, (size_t)n);
}

struct pool {
	const struct uk_lab *lab;
	const struct uk_lab_run_opts *o;
	struct uk_lab_pool_result *res;
	int *state;
	pid_t *pid;
	int rd;
	char buf[4 * LINE_MAX_];
	size_t used;
};

static void progress(const struct pool *p, int i, const char *what)
{
	if (p->o->progress)
		p->o->progress(p->lab->machine[i].name, what, p->o->ctx);
}

static void on_line(struct pool *p, char *line)
{
	char *end, kind, what[LINE_MAX_ + 16];
	long i = strtol(line, &end, 10);

	if (end == line || i < 0 || i >= p->lab->n_machine || end[0] != ' ' || !end[1] ||
	    end[2] != ' ')
		return;
	kind = end[1];
	if (kind == 'p')
		progress(p, (int)i, end + 3);
	else if (kind == 'f') {
		snprintf(p->res->msg[i], sizeof(p->res->msg[i]), "%s", end + 3);
		snprintf(what, sizeof(what), "failed: %s", end + 3);
		progress(p, (int)i, what);
	}
}

/* Read what the children said (waiting up to timeout_ms): the bytes read */
static ssize_t drain(struct pool *p, int timeout_ms)
{
	struct pollfd pfd = {.fd = p->rd, .events = POLLIN};
	ssize_t n;
	char *nl;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	n = read(p->rd, p->buf + p->used, sizeof(p->buf) - p->used - 1);
	if (n <= 0)
		return 0;
	p->used += (size_t)n;
	p->buf[p->used] = '\0';
	while ((nl = strchr(p->buf, '\n'))) {
		*nl = '\0';
		on_line(p, p->buf);
		p->used -= (size_t)(nl + 1 - p->buf);
		memmove(p->buf, nl + 1, p->used + 1);
	}
	if (p->used == sizeof(p->buf) - 1)
		p->used = 0; /* a line too long: dropped */
	return n;
}

/* 1: every dependency that takes part succeeded, 0: not yet, -1: one of them failed (its
 * index in *bad) */
static int deps_state(const struct pool *p, int i, int *bad)
{
	const struct uk_lab_machine *m = &p->lab->machine[i];
	int st = 1;

	for (int k = 0; k < m->n_dep; k++) {
		int d = m->dep[k];

		if (d < 0 || d >= p->lab->n_machine || p->state[d] < 0)
			continue; /* not part of this run */
		if (p->state[d] == J_FAIL || p->state[d] == J_SKIP) {
			*bad = d;
			return -1;
		}
		if (p->state[d] != J_OK)
			st = 0;
	}
	return st;
}

static int launch(struct pool *p, int i, int wr, uk_lab_job_fn job)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(p->rd);
		_exit(job(p->lab, &p->lab->machine[i], i, p->o, wr) == 0 ? 0 : 1);
	}
	p->pid[i] = pid;
	p->state[i] = J_RUN;
	return 0;
}

/* Start what may start; the number running */
static int schedule(struct pool *p, int wr, int max, bool deps, uk_lab_job_fn job)
{
	int running = 0, bad;

	for (int i = 0; i < p->lab->n_machine; i++)
		running += p->state[i] == J_RUN;
	for (int i = 0; i < p->lab->n_machine && running < max; i++) {
		if (p->state[i] != J_WAIT)
			continue;
		int d = deps ? deps_state(p, i, &bad) : 1;

		if (d < 0) {
			p->state[i] = J_SKIP;
			snprintf(p->res->msg[i], sizeof(p->res->msg[i]),
				 "not started: it depends on '%s', which failed",
				 p->lab->machine[bad].name);
			progress(p, i, p->res->msg[i]);
		} else if (d > 0 && launch(p, i, wr, job) == 0) {
			running++;
		} else if (d > 0) {
			p->state[i] = J_FAIL;
			snprintf(p->res->msg[i], sizeof(p->res->msg[i]), "could not fork");
		}
	}
	return running;
}

static void reap(struct pool *p)
{
	int st;

	for (int i = 0; i < p->lab->n_machine; i++) {
		if (p->state[i] != J_RUN || waitpid(p->pid[i], &st, WNOHANG) != p->pid[i])
			continue;
		p->state[i] = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? J_OK : J_FAIL;
	}
}

/* Nothing runs and nothing can start: what still waits, waits for a failed machine or a
 * loop the parser let through; it fails */
static void settle(struct pool *p)
{

	for (int i = 0; i < p->lab->n_machine; i++) {
		if (p->state[i] != J_WAIT)
			continue;
		p->state[i] = J_SKIP;
		snprintf(p->res->msg[i], sizeof(p->res->msg[i]),
			 "not started: its dependencies "
			 "never finished");
	}
}

int uk_lab_pool_run(const struct uk_lab *lab, const struct uk_lab_run_opts *o, bool deps,
		    uk_lab_job_fn job, struct uk_lab_pool_result *res, struct uk_err *err)
{
	struct pool *p = calloc(1, sizeof(*p));
	int fds[2], max = o->parallel > 0 ? o->parallel : UK_LAB_PARALLEL_MAX;

	res->failed = 0;
	res->msg = calloc((size_t)lab->n_machine + 1, sizeof(*res->msg));
	res->ok = calloc((size_t)lab->n_machine + 1, sizeof(*res->ok));
	if (!p || !res->msg || !res->ok) {
		free(p);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	p->state = calloc((size_t)lab->n_machine + 1, sizeof(*p->state));
	p->pid = calloc((size_t)lab->n_machine + 1, sizeof(*p->pid));
	if (!p->state || !p->pid || pipe2(fds, O_CLOEXEC) < 0) {
		free(p->state);
		free(p->pid);
		free(p);
		return uk_err_sys(err, errno ? errno : ENOMEM, "the lab's job pipe");
	}
	*p = (struct pool){
		.lab = lab, .o = o, .res = res, .state = p->state, .pid = p->pid, .rd = fds[0]};
	for (int i = 0; i < lab->n_machine; i++)
		p->state[i] = uk_lab_selected(lab, o, i) ? J_WAIT : -1;
	while (schedule(p, fds[1], max, deps, job) > 0) {
		drain(p, REAP_MS);
		reap(p);
	}
	settle(p);
	close(fds[1]);
	while (drain(p, 0) > 0)
		; /* the last lines of the children, all reaped */
	close(fds[0]);
	for (int i = 0; i < lab->n_machine; i++) {
		res->ok[i] = p->state[i] == J_OK;
		res->failed += p->state[i] == J_FAIL || p->state[i] == J_SKIP;
	}
	free(p->state);
	free(p->pid);
	free(p);
	return 0;
}

void uk_lab_pool_result_free(struct uk_lab_pool_result *res)
{
	free(res->msg);
	free(res->ok);
	res->msg = NULL;
	res->ok = NULL;
}
