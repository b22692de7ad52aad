// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * uml_switch: the old command line (uml-utilities) over our switch daemon with its legacy
 * daemon-protocol module. Facts: shared/spec/uml-interfaces.md 5.4.
 *
 *   uml_switch [-unix CTL] [-hub] [-tap DEV] [-daemon]
 *
 * The switch gets a name for its runtime directory, "uml_switch-BASE-HASH" (BASE: the
 * control socket's file name, HASH: of its absolute path), so `umlkit switch ports` works
 * on it. -compat-v0 (a named data socket for 2.4-era guests) is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "cmd.h"

#define DEFAULT_CTL "/tmp/uml.ctl"

static int usage(FILE *f, int rc)
{
	fprintf(f, "Usage : uml_switch [ -unix control-socket ] [ -hub ] [ -tap tap-device ] "
		   "[ -daemon ]\n"
		   "or : uml_switch -compat-v0 [ -unix control-socket data-socket ] [ -hub ] "
		   "[ -tap tap-device ]   (not supported)\n");
	return rc;
}

/* "uml_switch-" + the file name (safe characters, at most 12) + "-" + FNV-1a of the path */
static void switch_name(const char *abs, char *out, size_t len)
{
	const char *base = strrchr(abs, '/');
	uint32_t h = 2166136261u;
	char b[13];
	size_t n = 0;

	for (const char *p = abs; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	base = base ? base + 1 : abs;
	for (const char *p = base; *p && n < sizeof(b) - 1; p++)
		b[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
					 (*p >= '0' && *p <= '9') || *p == '.' || *p == '_'
				 ? *p
				 : '_';
	b[n] = '\0';
	snprintf(out, len, "uml_switch-%s-%08x", b, h);
}

/* In the foreground: print the old "attached" line once the daemon says it is ready. */
struct ready_watch {
	int fd;
	const char *ctl, *tap;
};

static void *ready_thread(void *arg)
{
	struct ready_watch *w = arg;
	char buf[64] = "";
	ssize_t n = read(w->fd, buf, sizeof(buf) - 1);

	if (n > 6 && !strncmp(buf, "ready ", 6)) {
		printf("uml_switch attached to unix socket '%s'", w->ctl);
		if (w->tap)
			printf(" tap device '%s'", w->tap);
		printf("\n");
		fflush(stdout);
	}
	close(w->fd);
	return NULL;
}

static int run_foreground(struct uk_switch_daemon_opts *o, const char *tap, struct uk_err *err)
{
	struct ready_watch w = {.ctl = o->legacy_ctl, .tap = tap};
	sigset_t all, old;
	pthread_t t;
	int pfd[2], r;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return uk_err_sys(err, errno, "pipe");
	w.fd = pfd[0];
	o->ready_fd = pfd[1];
	/* the thread takes no signal: SIGINT and SIGTERM go to the daemon's signalfd */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&t, NULL, ready_thread, &w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		close(pfd[0]);
		close(pfd[1]);
		return uk_err_sys(err, r, "pthread_create");
	}
	r = uk_switch_daemon_run(o, err); /* closes ready_fd once set up */
	pthread_join(t, NULL);
	return r;
}

/* -daemon: the parent returns once the switch is ready (or failed). Unlike the old tool's
 * daemon(0, 1), the daemon keeps none of the caller's fds, stdout included: it prints nothing
 * once running, and `$(uml_switch -daemon)` returns. */
static int run_daemon(struct uk_switch_daemon_opts *o, const char *tap, struct uk_err *err)
{
	pid_t pid;
	int r = uk_switch_daemon_start(o, &pid, err);

	if (r < 0)
		return r;
	printf("uml_switch attached to unix socket '%s'", o->legacy_ctl);
	if (tap)
		printf(" tap device '%s'", tap);
	printf("\n");
	return 0;
}

int uk_cmd_uml_switch(int argc, char **argv)
{
	struct uk_switch_daemon_opts o = {
		.group = -1, .ready_fd = -1, .coalesce_us = UK_SW_COALESCE_US};
	const char *ctl = DEFAULT_CTL, *tap = NULL;
	struct uk_err err = {0};
	bool daemonize = false;
	char cwd[4096];
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-unix") && i + 1 < argc) {
			ctl = argv[++i];
		} else if (!strcmp(argv[i], "-tap") && i + 1 < argc) {
			tap = argv[++i];
		} else if (!strcmp(argv[i], "-hub")) {
			printf("uml_switch will be a hub instead of a switch\n");
			o.hub = true;
		} else if (!strcmp(argv[i], "-daemon")) {
			daemonize = true;
		} else if (!strcmp(argv[i], "-compat-v0")) {
			fprintf(stderr,
				"uml_switch: -compat-v0 (a named data socket for 2.4-era guests) "
				"is not supported; without it, guests using protocol v1 or v3 "
				"(6.1 sends v3) work\n");
			return UK_EXIT_FAIL;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-help")) {
			return usage(stdout, UK_EXIT_OK);
		} else {
			return usage(stderr, UK_EXIT_FAIL);
		}
	}
	if (tap && !tap[0]) {
		fprintf(stderr, "uml_switch: -tap needs a tap device's name, not ''\n");
		return UK_EXIT_FAIL;
	}
	if (tap && strlen(tap) >= sizeof(o.tap)) {
		fprintf(stderr, "uml_switch: tap device name '%s' is too long\n", tap);
		return UK_EXIT_FAIL;
	}
	if (tap)
		strcpy(o.tap, tap);
	/* absolute, so that -daemon's chdir("/") and the cleanup find it */
	if (ctl[0] == '/') {
		r = snprintf(o.legacy_ctl, sizeof(o.legacy_ctl), "%s", ctl);
	} else {
		if (!getcwd(cwd, sizeof(cwd))) {
			perror("uml_switch: getcwd");
			return UK_EXIT_FAIL;
		}
		r = snprintf(o.legacy_ctl, sizeof(o.legacy_ctl), "%s/%s", cwd, ctl);
	}
	if (r < 0 || (size_t)r >= sizeof(o.legacy_ctl)) {
		fprintf(stderr, "uml_switch: control socket '%s': path too long (max %zu)\n", ctl,
			sizeof(o.legacy_ctl) - 1);
		return UK_EXIT_FAIL;
	}
	switch_name(o.legacy_ctl, o.name, sizeof(o.name));
	r = daemonize ? run_daemon(&o, tap, &err) : run_foreground(&o, tap, &err);
	if (r < 0) {
		/* our own switch on the same socket holds its name's lock */
		if (err.code == EBUSY)
			fprintf(stderr,
				"uml_switch: The control socket '%s' has another server attached "
				"to it\n",
				o.legacy_ctl);
		else
			uk_fail(&err);
		return UK_EXIT_FAIL;
	}
	return UK_EXIT_OK;
}
