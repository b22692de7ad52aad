// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lab start|stop|crash|clean --all-hosts: after this host's part, the same command on every
 * other host of lab.hosts that runs machines, through ssh: `ssh ADDRESS 'umlkit' 'lab' 'VERB'
 * '--host' 'NAME' ['-o' 'KEY=VALUE']... 'DIR'` (one string, each word quoted for the remote
 * shell: a directory's name is never a command there), one host after the other, each one's
 * output passed through under a line naming it. The lab directory must have the same path
 * on every host. $UMLKIT_LAB_SSH replaces `ssh` (a command line, as $GIT_SSH_COMMAND: run
 * by sh, the address and the command string after it) and $UMLKIT_LAB_REMOTE the remote
 * `umlkit`.
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

#define REMOTE_CMD_MAX 8192

/* s in single quotes for a POSIX shell, at the end of out (its room checked): 0 or -1 */
static int quote(char *out, size_t cap, const char *s)
{
	size_t n = strlen(out);

	if (n + 3 >= cap)
		return -1;
	out[n++] = ' ';
	out[n++] = '\'';
	for (; *s; s++) {
		const char *piece = *s == '\'' ? "'\\''" : NULL;
		size_t len = piece ? strlen(piece) : 1;

		if (n + len + 2 >= cap)
			return -1;
		memcpy(out + n, piece ? piece : s, len);
		n += len;
	}
	out[n++] = '\'';
	out[n] = '\0';
	return 0;
}

/* The remote command line for host h, every word quoted for the remote shell (ssh hands the
 * remote side one string): 0, or -1 when it is too long. */
static int remote_cmd(const struct uk_lab_cmd *c, const char *verb, const struct uk_lab_host *h,
		      char *out, size_t cap)
{
	const char *umlkit = getenv("UMLKIT_LAB_REMOTE");
	int r;

	out[0] = '\0';
	r = quote(out, cap, umlkit && *umlkit ? umlkit : "umlkit");
	r |= quote(out, cap, "lab");
	r |= quote(out, cap, verb);
	r |= quote(out, cap, "--host");
	r |= quote(out, cap, h->name);
	for (int i = 0; i < c->load.n_over && !strcmp(verb, "start"); i++) {
		r |= quote(out, cap, "-o");
		r |= quote(out, cap, c->over[i]);
	}
	r |= quote(out, cap, c->lab->dir);
	return r;
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
	char cmdline[REMOTE_CMD_MAX];
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
		if (remote_cmd(c, verb, h, cmdline, sizeof(cmdline)) < 0) {
			uk_say("host %s: the command line is too long", h->name);
			failed++;
			continue;
		}
		printf("== host %s (%s): umlkit lab %s\n", h->name, h->addr, verb);
		fflush(stdout);
		st = run_remote(
			(char *const[]){"/bin/sh", "-c",
					getenv("UMLKIT_LAB_SSH") && *getenv("UMLKIT_LAB_SSH")
						? "eval \"$UMLKIT_LAB_SSH\" '\"$@\"'"
						: "exec ssh -- \"$@\"",
					"sh", (char *)h->addr, cmdline + 1, NULL});
		if (st != 0) {
			uk_say("host %s (%s): umlkit lab %s failed (exit %d)", h->name, h->addr,
			       verb, st);
			failed++;
		}
	}
	return failed ? UK_EXIT_FAIL : UK_EXIT_OK;
}
