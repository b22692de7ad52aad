// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * xstate_probe: does what Debian's 6.1 UML kernel does with a traced process's FPU state
 * (GETREGSET and SETREGSET of NT_X86_XSTATE through an 832-byte buffer) to a stopped child,
 * and prints what happened, one fact a line:
 *   full N            the host's full XSAVE size (a GETREGSET with room to spare)
 *   short-set ok      the short SETREGSET worked; else "short-set errno N"
 *   xmm0 ok|bad       the XMM0 value put in the short buffer is what the child now has
 *   upper kept|changed  the state beyond the short buffer is what it was before the set
 * Run with LD_PRELOAD=umlkit-xstate.so to test the shim. Exit 0 once it ran, 1 on setup errors.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlkit/xstate.h"

#define NT_X86_XSTATE 0x202
#define BIG	      (64 * 1024)

static uint8_t before[BIG], after[BIG], part[UK_XSTATE_UML61];

static long get(pid_t pid, void *buf, size_t len, size_t *got)
{
	struct iovec iov = {buf, len};
	long r = ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov);

	*got = iov.iov_len;
	return r;
}

static int probe(pid_t pid)
{
	static const uint8_t pattern[16] = "umlkit-xmm0-test";
	struct iovec iov = {part, sizeof(part)};
	size_t full, n;

	if (get(pid, before, BIG, &full) < 0 || get(pid, part, sizeof(part), &n) < 0) {
		perror("xstate_probe: PTRACE_GETREGSET");
		return 1;
	}
	printf("full %zu\n", full);
	memcpy(part + 160, pattern, sizeof(pattern)); /* XMM0 */
	part[512] |= 2;				      /* XSTATE_BV: SSE in use */
	if (ptrace(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &iov) < 0) {
		printf("short-set errno %d\n", errno);
		return 0;
	}
	printf("short-set ok\n");
	if (get(pid, after, BIG, &n) < 0 || n != full) {
		perror("xstate_probe: PTRACE_GETREGSET after the set");
		return 1;
	}
	printf("xmm0 %s\n", memcmp(after + 160, pattern, sizeof(pattern)) ? "bad" : "ok");
	printf("upper %s\n",
	       full <= sizeof(part) || !memcmp(after + sizeof(part), before + sizeof(part),
					       full - sizeof(part))
		       ? "kept"
		       : "changed");
	return 0;
}

int main(void)
{
	pid_t pid = fork();
	int st, r;

	if (pid < 0) {
		perror("xstate_probe: fork");
		return 1;
	}
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) {
		fprintf(stderr, "xstate_probe: the child did not stop\n");
		return 1;
	}
	r = probe(pid);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return r;
}
