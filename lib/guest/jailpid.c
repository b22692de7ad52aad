// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel's process in the jail's pid namespace, and never as that namespace's pid 1.
 *
 * A namespace's pid 1 gets no signal it has no handler for, not even one it sends itself.
 * The UML kernel ends a panic (and sid's 7.2, a halt in seccomp mode) with abort(): as pid 1
 * its SIGABRT is dropped, abort() raises it again for ever, and the guest stays "booting" at
 * full CPU, its disks locked. So the namespace gets a pid 1 of its own, a small init: the
 * process asked for (the kernel) is its second process.
 *
 *   the caller ──clone(parent_flag)──> H: unshare(user (unprivileged), pid namespace)
 *                                        ├─clone(CLONE_PARENT)─> I: pid 1, the init
 *                                        └─clone(CLONE_PARENT | the other namespaces)─> K
 *
 * H is a sibling of the caller's child (with CLONE_PARENT from the starter) or its child
 * (from the supervisor in the foreground): either way I and K, made with CLONE_PARENT, are the
 * supervisor's children, as a forked kernel is (it reaps them; the kernel's parent-death
 * signal is tied to it). H reports K's pid over a pipe and exits. I holds nothing but a pidfd
 * of K: it reaps what is orphaned in the namespace (SIGCHLD ignored) and exits when K has
 * ended, and its end kills whatever is left in the namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail-internal.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/* A fork-like clone with flags; *pidfd gets a pidfd of the child with CLONE_PIDFD. */
static pid_t raw_clone(unsigned long flags, int *pidfd)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, pidfd, NULL, NULL);
}

/* I: pid 1 of the jail's pid namespace, until the kernel (its pidfd, sent on sock) ends. */
static void __attribute__((noreturn)) jail_init(int sock)
{
	struct pollfd p = {.fd = -1, .events = POLLIN};
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "umlkit-jail");
	prctl(PR_SET_DUMPABLE, 0);
	signal(SIGCHLD, SIG_IGN); /* the orphans it is given are reaped as they end */
	if (uk_close_fds_except(&sock, 1) < 0 || uk_jail_drop_caps(NULL) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(1);
	if (uk_recv_fd(sock, &c, 1, &p.fd, 0) != 1 || p.fd < 0)
		_exit(1); /* no kernel was made */
	close(sock);
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* In H: the namespaces that must be H's (the pid namespace, and the user namespace that owns
 * it), the init, then the process running run(arg): its pid or -errno. */
static pid_t spawn_in_pidns(unsigned long flags, void (*run)(void *), void *arg)
{
	unsigned long own = flags & (CLONE_NEWUSER | CLONE_NEWPID);
	int sp[2], pidfd = -1, e;
	pid_t init, k;

	if (unshare((int)own) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	init = raw_clone(CLONE_PARENT, NULL);
	if (init == 0) {
		close(sp[0]);
		jail_init(sp[1]);
	}
	e = errno;
	close(sp[1]);
	if (init < 0) {
		close(sp[0]);
		return -e;
	}
	k = raw_clone(CLONE_PARENT | CLONE_PIDFD | (flags & ~own & ~CLONE_PARENT), &pidfd);
	if (k == 0) {
		close(sp[0]);
		run(arg);
		_exit(127);
	}
	e = errno;
	if (k > 0 && uk_send_fd(sp[0], "k", 1, pidfd, 0) != 1) /* the init cannot see it end */
		kill(k, SIGKILL);
	if (pidfd >= 0)
		close(pidfd);
	close(sp[0]); /* with no kernel, the init reads the end and exits */
	return k < 0 ? -e : k;
}

/* H made, K's pid read back; H reaped here when it is this process's child. */
static pid_t clone_in_pidns(unsigned long flags, void (*run)(void *), void *arg)
{
	int rep[2];
	pid_t h, k = -EPIPE;
	ssize_t n;

	if (pipe2(rep, O_CLOEXEC) < 0)
		return -errno;
	h = raw_clone(flags & CLONE_PARENT, NULL);
	if (h == 0) {
		close(rep[0]);
		k = spawn_in_pidns(flags, run, arg);
		_exit(uk_write_all(rep[1], &k, sizeof(k)) < 0);
	}
	if (h < 0)
		k = -errno;
	close(rep[1]);
	if (h > 0) {
		do
			n = read(rep[0], &k, sizeof(k));
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(k))
			k = -EPIPE;
		if (!(flags & CLONE_PARENT))
			while (waitpid(h, NULL, 0) < 0 && errno == EINTR)
				;
	}
	close(rep[0]);
	return k;
}

pid_t uk_jail_clone(unsigned long flags, void (*run)(void *), void *arg)
{
	pid_t pid;

	if (flags & CLONE_NEWPID)
		return clone_in_pidns(flags, run, arg);
	pid = flags ? raw_clone(flags, NULL) : fork();
	if (pid == 0) {
		run(arg);
		_exit(127);
	}
	return pid < 0 ? -errno : pid;
}
