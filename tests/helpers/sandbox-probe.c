// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sandbox-probe: put this process under a daemon's seccomp filter (umlkit/sandbox.h), as the
 * switch daemon and the supervisor do once set up, then make one call, for the shell tests.
 *
 *   sandbox-probe switch|supervisor CALL
 *
 * CALL: allowed (a few calls of the list: a socketpair, a file made and removed, a write to
 * stdout: "alive"), execve (/bin/true), fork, socket-packet (socket(AF_PACKET)), ptrace
 * (PTRACE_TRACEME), socket-netlink (the supervisor's list has it, the switch's not).
 * A forbidden call ends the process with SIGSYS (the shell sees 128 + 31). A call that
 * returns prints "returned N errno E" and exits 3.
 *
 * Exit: 0 "allowed" ran, 1 the filter could not be installed, 2 usage, 3 the call returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umlkit/sandbox.h"

static int allowed(void)
{
	char path[] = "/tmp/sandbox-probe.XXXXXX";
	int sp[2], fd = mkstemp(path);

	if (fd < 0 || unlink(path) < 0 || close(fd) < 0)
		return 3;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return 3;
	close(sp[0]);
	close(sp[1]);
	printf("alive\n");
	return fflush(stdout) == 0 ? 0 : 3;
}

static long forbidden(const char *call)
{
	static char *const argv[] = {"/bin/true", NULL};

	if (!strcmp(call, "execve"))
		return execv(argv[0], argv);
	if (!strcmp(call, "fork")) {
		pid_t p = fork();

		if (p == 0)
			_exit(0);
		return p;
	}
	if (!strcmp(call, "socket-packet"))
		return socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (!strcmp(call, "socket-netlink"))
		return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (!strcmp(call, "ptrace"))
		return ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return -2;
}

int main(int argc, char **argv)
{
	struct uk_err err = {0};
	long r;
	int rc;

	if (argc != 3 || (strcmp(argv[1], "switch") && strcmp(argv[1], "supervisor"))) {
		fprintf(stderr, "usage: sandbox-probe switch|supervisor CALL\n");
		return 2;
	}
	rc = !strcmp(argv[1], "switch") ? uk_sandbox_switch(&err) : uk_sandbox_supervisor(&err);
	if (rc < 0) {
		fprintf(stderr, "sandbox-probe: %s\n", err.msg);
		return 1;
	}
	if (!strcmp(argv[2], "allowed"))
		return allowed();
	r = forbidden(argv[2]);
	if (r == -2 && errno == 0) {
		fprintf(stderr, "sandbox-probe: unknown call '%s'\n", argv[2]);
		return 2;
	}
	printf("returned %ld errno %d\n", r, errno);
	fflush(stdout); /* a sanitizer's exit after PTRACE_TRACEME may not flush it */
	return 3;
}
