// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The daemons' seccomp allowlists (include/umlkit/sandbox.h). Each list was drawn from what
 * the daemon calls (strace -f -c of a switch with NAT, bess, legacy and tap ports, and of a
 * supervisor through start, console attach, exec and cp through the agent, reboot, stop),
 * named by syscall name so that a name this architecture lacks (open on arm64) is skipped.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "umlkit/sandbox.h"
#include "umlkit/util.h"

/* What every daemon calls: memory, files, its loop, time, its own identity, sockets. */
static const char *const common_calls[] = {
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"preadv",
	"pwritev",
	"lseek",
	"close",
	"close_range",
	"dup",
	"dup2",
	"dup3",
	"fcntl",
	"flock",
	"fstat",
	"newfstatat",
	"stat",
	"lstat",
	"statx",
	"fstatfs",
	"statfs",
	"open",
	"openat",
	"access",
	"faccessat",
	"faccessat2",
	"readlink",
	"readlinkat",
	"getdents64",
	"mkdir",
	"mkdirat",
	"rmdir",
	"unlink",
	"unlinkat",
	"rename",
	"renameat",
	"renameat2",
	"link",
	"linkat",
	"chmod",
	"fchmod",
	"fchmodat",
	"chown",
	"fchown",
	"lchown",
	"fchownat",
	"ftruncate",
	"fsync",
	"fdatasync",
	"fallocate",
	"umask",
	"getcwd",
	"mmap",
	"munmap",
	"mremap",
	"mprotect",
	"brk",
	"madvise",
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"sigaltstack",
	"signalfd4",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	"eventfd2",
	"pipe2",
	"clock_gettime",
	"clock_getres",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"time",
	"getpid",
	"gettid",
	"getppid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getgroups",
	"getresuid",
	"getresgid",
	"getrandom",
	"uname",
	"sysinfo",
	"getrlimit",
	"prlimit64",
	"sched_getaffinity",
	"sched_yield",
	"futex",
	"set_robust_list",
	"rseq",
	"restart_syscall",
	"exit",
	"exit_group",
	"bind",
	"listen",
	"accept",
	"accept4",
	"connect",
	"getsockname",
	"getpeername",
	"getsockopt",
	"setsockopt",
	"shutdown",
	"sendto",
	"recvfrom",
	"sendmsg",
	"recvmsg",
	"sendmmsg",
	"recvmmsg",
};

/* The switch's own: a reply too large for one control message goes in a memfd. */
static const char *const switch_calls[] = {"memfd_create"};

/* The supervisor's own: its kernel's group and ends, and its restarts' directories. */
static const char *const supervisor_calls[] = {
	"kill", "wait4", "waitid", "setpgid", "getpgid", "getpgrp", "symlink", "symlinkat",
};

/* A sanitizer's runtime: the leak checker stops the world at exit with a clone that
 * ptraces the process and lists /proc/self/task with the old getdents (a call it lacks kills
 * only that clone, and the process would wait for it for ever). Only in SANITIZE=1 builds. */
static const char *const sanitizer_calls[] = {
	"clone",   "ptrace",   "wait4", "waitid", "prctl", "sched_getaffinity",
	"mincore", "getdents", "kill",	"tkill",
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define UK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define UK_SANITIZED 1
#endif
#endif
#ifndef UK_SANITIZED
#define UK_SANITIZED 0
#endif

/* ioctl requests: FIONREAD and friends, the tty check of stdio; the supervisor's tap teardown. */
static const unsigned long common_ioctls[] = {FIONREAD, FIONBIO,    FIOCLEX,	  FIONCLEX,
					      TCGETS,	TIOCGWINSZ, SIOCGIFINDEX, SIOCGIFNAME};
static const unsigned long supervisor_ioctls[] = {TUNSETIFF, TUNSETPERSIST, TUNSETOWNER,
						  TUNSETGROUP};

/* Argument n equal to v (the macros of seccomp.h leave datum_b to the compiler). */
static struct scmp_arg_cmp arg_is(unsigned n, scmp_datum_t v)
{
	return (struct scmp_arg_cmp){.arg = n, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0};
}

struct allow {
	const char *const *calls;
	size_t ncalls;
};

static int allow_calls(scmp_filter_ctx f, const struct allow *a, struct uk_err *err)
{
	for (size_t i = 0; i < a->ncalls; i++) {
		int nr = seccomp_syscall_resolve_name(a->calls[i]);
		int r;

		if (nr == __NR_SCMP_ERROR)
			continue; /* not a call of this architecture */
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0 && r != -EEXIST)
			return uk_err_sys(err, -r, "seccomp: allowing %s", a->calls[i]);
	}
	return 0;
}

static int allow_ioctls(scmp_filter_ctx f, const unsigned long *req, size_t n, struct uk_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					 arg_is(1, (scmp_datum_t)req[i]));

		if (r < 0 && r != -EEXIST)
			return uk_err_sys(err, -r, "seccomp: allowing ioctl %#lx", req[i]);
	}
	return 0;
}

/* socket() and socketpair() of these families only (socketpair: AF_UNIX alone). */
static int allow_families(scmp_filter_ctx f, const int *fam, size_t n, struct uk_err *err)
{
	int r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
				 arg_is(0, (scmp_datum_t)AF_UNIX));

	for (size_t i = 0; r == 0 && i < n; i++)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     arg_is(0, (scmp_datum_t)fam[i]));
	return r < 0 ? uk_err_sys(err, -r, "seccomp: allowing socket()") : 0;
}

/* abort() signals its own process, and nothing else may be signalled by tgkill. */
static int allow_self_signals(scmp_filter_ctx f, struct uk_err *err)
{
	int r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				 arg_is(0, (scmp_datum_t)getpid()));

	return r < 0 ? uk_err_sys(err, -r, "seccomp: allowing tgkill") : 0;
}

struct policy {
	struct allow extra;
	const unsigned long *ioctls;
	size_t nioctls;
	const int *families;
	size_t nfamilies;
};

static int build(scmp_filter_ctx f, const struct policy *p, struct uk_err *err)
{
	struct allow common = {common_calls, UK_ARRAY_SIZE(common_calls)};
	struct allow san = {sanitizer_calls, UK_ARRAY_SIZE(sanitizer_calls)};
	int r = allow_calls(f, &common, err);

	if (r == 0)
		r = allow_calls(f, &p->extra, err);
	if (r == 0 && UK_SANITIZED)
		r = allow_calls(f, &san, err);
	if (r == 0)
		r = allow_ioctls(f, common_ioctls, UK_ARRAY_SIZE(common_ioctls), err);
	if (r == 0)
		r = allow_ioctls(f, p->ioctls, p->nioctls, err);
	if (r == 0)
		r = allow_families(f, p->families, p->nfamilies, err);
	if (r == 0)
		r = allow_self_signals(f, err);
	return r;
}

/* Build the filter of p and load it on every thread; what fails is named. */
static int install(const struct policy *p, const char *who, struct uk_err *err)
{
	scmp_filter_ctx f;
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return uk_err_sys(err, errno, "%s: seccomp: no_new_privs", who);
	f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!f)
		return uk_err_set(err, ENOMEM, "%s: seccomp: out of memory", who);
	r = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r < 0)
		r = uk_err_sys(err, -r, "seccomp: thread sync");
	if (r == 0)
		r = build(f, p, err);
	if (r == 0) {
		r = seccomp_load(f);
		if (r < 0)
			r = uk_err_sys(err, -r, "seccomp: loading the filter");
	}
	seccomp_release(f);
	return r < 0 ? uk_err_prefix(err, r, "%s: ", who) : 0;
}

int uk_sandbox_switch(struct uk_err *err)
{
	static const int families[] = {AF_UNIX, AF_INET, AF_INET6};
	const struct policy p = {
		.extra = {switch_calls, UK_ARRAY_SIZE(switch_calls)},
		.families = families,
		.nfamilies = UK_ARRAY_SIZE(families),
	};

	return install(&p, "switch", err);
}

int uk_sandbox_supervisor(struct uk_err *err)
{
	static const int families[] = {AF_UNIX, AF_NETLINK};
	const struct policy p = {
		.extra = {supervisor_calls, UK_ARRAY_SIZE(supervisor_calls)},
		.ioctls = supervisor_ioctls,
		.nioctls = UK_ARRAY_SIZE(supervisor_ioctls),
		.families = families,
		.nfamilies = UK_ARRAY_SIZE(families),
	};

	return install(&p, "supervisor", err);
}
