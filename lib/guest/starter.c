// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * How the supervisor makes its kernel's process. At first, by fork, in the supervisor. Once the
 * supervisor is under its seccomp filter (lib/sandbox), which a fork would pass on to the
 * kernel, and which allows neither fork nor exec: by its starter, a process forked from the
 * supervisor just before the filter went on, which keeps nothing but its channel to the
 * supervisor and the kernel's --net fd: descriptors. Asked over that channel (the kernel's
 * console and agent ends, passed as SCM_RIGHTS, and its CPUs), it makes the process with
 * clone(CLONE_PARENT): the kernel is the supervisor's child, as a forked one is (reaped,
 * signalled, its parent-death signal tied to the supervisor), and runs what the supervisor's
 * callback builds from the starter's copy of the spec: the starter takes no argv, no path
 * and no program from the supervisor. It ends with the supervisor (parent-death signal, and
 * the channel's end).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlkit/sandbox.h"
#include "jail-internal.h"

/* What the supervisor asks for: CPUs (pin: apply them) and, as SCM_RIGHTS, the console end
 * (-1 none: then one fd) and the agent end. */
struct start_req {
	cpu_set_t cpus;
	int pin;
	int has_console;
};

void uk_guest_starter_init(struct uk_guest_starter *st, uk_guest_kernel_fn fn, void *ctx)
{
	st->fn = fn;
	st->ctx = ctx;
	st->clone_flags = 0;
	st->chan = -1;
	st->pid = 0;
}

/* What the kernel's new process runs: st->fn on these ends (chan: the starter's channel,
 * -1, closed there first). */
struct kernel_call {
	struct uk_guest_starter *st;
	int console, agent, chan;
	const cpu_set_t *cpus;
};

static void run_kernel(void *arg)
{
	struct kernel_call *k = arg;

	if (k->chan >= 0)
		close(k->chan);
	k->st->fn(k->st->ctx, k->console, k->agent, k->cpus);
}

/* Receive one request: 1 with fds[0] (console or -1) and fds[1] (agent), 0 at the channel's
 * end, -1 on a malformed one (its fds closed). */
static int recv_req(int chan, struct start_req *q, int fds[2])
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = {.iov_base = q, .iov_len = sizeof(*q)};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	int got[2] = {-1, -1}, n = 0;
	ssize_t r;

	do
		r = recvmsg(chan, &m, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return 0;
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(got, CMSG_DATA(c), (size_t)UK_MIN(n, 2) * sizeof(int));
	}
	if (r != (ssize_t)sizeof(*q) || (m.msg_flags & MSG_CTRUNC) || n != 1 + !!q->has_console) {
		for (int i = 0; i < UK_MIN(n, 2); i++)
			close(got[i]);
		return -1;
	}
	fds[0] = q->has_console ? got[0] : -1;
	fds[1] = q->has_console ? got[1] : got[0];
	return 1;
}

/* The starter's life: one kernel process a request, its pid the answer (-errno: none). */
static void starter_loop(struct uk_guest_starter *st, int chan)
{
	struct start_req q;
	int fds[2], r;

	while ((r = recv_req(chan, &q, fds)) != 0) {
		struct kernel_call k = {st, r > 0 ? fds[0] : -1, r > 0 ? fds[1] : -1, chan,
					r > 0 && q.pin ? &q.cpus : NULL};
		pid_t pid = r < 0 ? -EBADMSG
				  : uk_jail_clone(CLONE_PARENT | st->clone_flags, run_kernel, &k);

		for (int i = 0; r > 0 && i < 2; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (uk_write_all(chan, &pid, sizeof(pid)) < 0)
			break;
	}
	_exit(0);
}

pid_t uk_guest_fork_channel(const int *keep, int nkeep, bool pdeath, int *chan, const char *what,
			    struct uk_err *err)
{
	int sp[2], k[UK_DAEMON_KEEP_MAX + 1];
	pid_t parent = getpid(), pid;

	if (nkeep < 0 || nkeep > UK_DAEMON_KEEP_MAX)
		return uk_err_set(err, EINVAL, "%s keeps at most %d fds", what, UK_DAEMON_KEEP_MAX);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return uk_err_sys(err, errno, "socketpair");
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(sp[0]);
		close(sp[1]);
		return uk_err_sys(err, e, "fork: %s", what);
	}
	if (pid == 0) {
		if ((pdeath && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) || getppid() != parent)
			_exit(0);
		if (nkeep) /* keep may be NULL then */
			memcpy(k, keep, (size_t)nkeep * sizeof(k[0]));
		k[nkeep] = sp[1];
		if (uk_close_fds_except(k, nkeep + 1) < 0)
			_exit(0);
		*chan = sp[1];
		return 0;
	}
	close(sp[1]);
	*chan = sp[0];
	return pid;
}

int uk_guest_starter_detach(struct uk_guest_starter *st, const int *keep, int nkeep,
			    struct uk_err *err)
{
	int chan;
	pid_t pid = uk_guest_fork_channel(keep, nkeep, true, &chan, "the kernel's starter", err);

	if (pid < 0)
		return (int)pid;
	if (pid == 0)
		starter_loop(st, chan);
	st->chan = chan;
	st->pid = pid;
	return 0;
}

/* Ask the starter for a kernel process. */
static pid_t ask_starter(struct uk_guest_starter *st, int console_end, int agent_end,
			 const cpu_set_t *cpus, struct uk_err *err)
{
	struct start_req q = {.pin = cpus != NULL, .has_console = console_end >= 0};
	int fds[2] = {console_end, agent_end}, n = console_end >= 0 ? 2 : 1;
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = {0};
	struct iovec iov = {.iov_base = &q, .iov_len = sizeof(q)};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = CMSG_SPACE((size_t)n * sizeof(int))};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	pid_t pid;
	ssize_t r;

	if (cpus)
		q.cpus = *cpus;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(c), console_end >= 0 ? fds : fds + 1, (size_t)n * sizeof(int));
	do
		r = sendmsg(st->chan, &m, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(q))
		return uk_err_sys(err, r < 0 ? errno : EPIPE, "the kernel's starter");
	do
		r = read(st->chan, &pid, sizeof(pid));
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(pid))
		return uk_err_set(err, EPIPE, "the kernel's starter is gone");
	return pid < 0 ? uk_err_sys(err, -pid, "the kernel's starter: clone") : pid;
}

pid_t uk_guest_starter_start(struct uk_guest_starter *st, int console_end, int agent_end,
			     const cpu_set_t *cpus, struct uk_err *err)
{
	pid_t pid;

	if (st->chan >= 0)
		return ask_starter(st, console_end, agent_end, cpus, err);
	pid = uk_jail_clone(st->clone_flags, run_kernel,
			    &(struct kernel_call){st, console_end, agent_end, -1, cpus});
	return pid < 0 ? uk_err_sys(err, (int)-pid, "the kernel's process") : pid;
}

void uk_guest_starter_end(struct uk_guest_starter *st)
{
	if (st->chan >= 0)
		close(st->chan); /* the starter reads the end and exits; the supervisor reaps it */
	st->chan = -1;
}

int uk_guest_sandbox(struct uk_guest_starter *st, const struct uk_guest_spec *spec,
		     const int alive[2], int idmap_fd, bool drop, struct uk_err *err)
{
	int keep[UK_GUEST_NETS + 3], n = 0, r;

	for (int i = 0; i < spec->nnets; i++)
		if (spec->nets[i].kind == UK_NET_FD)
			keep[n++] = atoi(spec->nets[i].target);
	/* the jail's: both ends of its alive pipe (the child closes its copy of [1]: a number
	 * the starter freed could be one of the fds it was passed), its idmap namespace */
	keep[n++] = alive[0];
	keep[n++] = alive[1];
	keep[n++] = idmap_fd;
	r = uk_guest_starter_detach(st, keep, n, err);
	if (r == 0 && drop && (r = uk_guest_drop_to((uid_t)spec->uid, (gid_t)spec->gid)) < 0)
		r = uk_err_sys(err, -r, "the supervisor: becoming uid %ld gid %ld", spec->uid,
			       spec->gid);
	if (r == 0)
		r = uk_sandbox_supervisor(err);
	return r;
}
