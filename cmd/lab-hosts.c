// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lab start|stop|crash|clean --all-hosts: after this host's part, the same command on every
 * other host of lab.hosts that runs machines, through ssh: `ssh ADDRESS umlkit lab VERB
 * --host NAME [-o KEY=VALUE]... DIR`, one host after the other, each one's output passed
 * through under a line naming it. The lab directory must have the same path on every host.
 * $UMLKIT_LAB_SSH replaces `ssh` (a command line, as $GIT_SSH_COMMAND: run by sh, the
 * address and the command after it) and $UMLKIT_LAB_REMOTE the remote `umlkit`.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cmd.h"
#include "lab.h"
#include "umlkit/lab.h"

extern char **environ;

#define REMOTE_ARGS (12 + 2 * UK_LAB_OVER_MAX)

/* The command for host h in argv (its strings in the caller's storage): the count. */
static int remote_argv(const struct uk_lab_cmd *c, const char *verb, const struct uk_lab_host *h,
		       char **argv)
{
	const char *ssh = getenv("UMLKIT_LAB_SSH"), *umlkit = getenv("UMLKIT_LAB_REMOTE");
	int n = 0;

	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = (char *)(ssh && *ssh ? "eval \"$UMLKIT_LAB_SSH\" '\"$@\"'" : "exec ssh \"$@\"");
	argv[n++] = "sh";
	argv[n++] = (char *)h->addr;
	argv[n++] = (char *)(umlkit && *umlkit ? umlkit : "umlkit");
	argv[n++] = "lab";
	argv[n++] = (char *)verb;
	argv[n++] = "--host";
	argv[n++] = (char *)h->name;
	for (int i = 0; i < c->load.n_over && !strcmp(verb, "start"); i++) {
		argv[n++] = "-o";
		argv[n++] = (char *)c->over[i];
	}
	argv[n++] = (char *)c->lab->dir;
	argv[n] = NULL;
	return n;
}

/* Run it, stdin from nothing, stdout and stderr ours: its exit status, or -1. */
static int run_remote(char *const *argv)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		uk_say("%s: %s", argv[0], strerror(r));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int uk_lab_cmd_other_hosts(struct uk_lab_cmd *c, const char *verb)
{
	char *argv[REMOTE_ARGS];
	int failed = 0;

	if (!c->lab || !c->lab->n_host) {
		uk_say("%s: --all-hosts needs lab.hosts", c->lab ? c->lab->dir : c->dir);
		return UK_EXIT_FAIL;
	}
	for (int i = 0; i < c->lab->n_host; i++) {
		const struct uk_lab_host *h = &c->lab->host[i];
		int st;

		if (!h->n_machine || (c->run.host && !strcmp(h->name, c->run.host)))
			continue;
		remote_argv(c, verb, h, argv);
		printf("== host %s (%s): umlkit lab %s\n", h->name, h->addr, verb);
		fflush(stdout);
		st = run_remote(argv);
		if (st != 0) {
			uk_say("host %s (%s): umlkit lab %s failed (exit %d)", h->name, h->addr,
			       verb, st);
			failed++;
		}
	}
	return failed ? UK_EXIT_FAIL : UK_EXIT_OK;
}
