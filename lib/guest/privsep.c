// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Privilege separation, in the manner of OpenBSD's vmd: the supervisor of a --user guest that
 * root starts runs as that user for the kernel's whole life, while it reads what the guest
 * controls (console, notify datagrams, mconsole replies, agent frames). What must stay
 * root's lives in a small helper forked before the drop, which keeps nothing but its channel
 * to the supervisor and the guest's claims, and takes two requests, for this guest only:
 *
 *   status  write the guest's status file (root's state directory); the fields that name
 *           processes, ids, the cgroup and the jail are the helper's own, never the
 *           supervisor's word, and the kernel's pid is taken only for a child of the
 *           supervisor; no field can add a line to the file;
 *   end     remove what the guest holds of the host: its cgroup, firewall policy, taps,
 *           sockets and kernel directory; then it exits.
 *
 * The channel's end (the supervisor died) is the end too. The helper keeps the guest's claims
 * until its teardown is done, so no new start of the guest races it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umlkit/sandbox.h"
#include "cgroup-internal.h"
#include "guest-internal.h"

#define PS_ACK_MS 10000 /* a request's answer, at most */

enum { PS_STATUS = 1, PS_END = 2 };

struct ps_msg {
	uint32_t type;
	struct uk_guest_status st;
};

/* What the helper tears down, its own copies (made at the fork). */
struct helper {
	const struct uk_supervise *sv;
	struct uk_guest_cgroup *cg;
	struct uk_guest_hostnet *hn;
	struct uk_guest_status own; /* the fields it answers for */
	pid_t supervisor;
	int chan;
};

bool uk_guest_privsep_wanted(const struct uk_supervise *sv)
{
	return geteuid() == 0 && sv->spec->uid > 0 && sv->spec->gid > 0 && !sv->foreground;
}

void uk_guest_host_teardown(const struct uk_supervise *sv, struct uk_guest_cgroup *cg,
			    struct uk_guest_hostnet *hn)
{
	const struct uk_guest_paths *p = sv->paths;

	uk_guest_cgroup_end(cg, p);
	uk_guest_hostnet_down(sv->spec, hn);
	unlink(p->net);
	unlink(p->notify);
	unlink(p->console_sock);
	unlink(p->agent_sock);
	unlink(p->agent_ring);
	if (p->kdir[0])
		uk_guest_drop_kernel_dir(p);
}

/* A string of the status, cut to its array and kept to one line. */
static void one_line(char *s, size_t len)
{
	s[len - 1] = '\0';
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

/* Is pid a child of the supervisor (its kernel)? */
static bool child_of(pid_t pid, pid_t parent)
{
	pid_t ppid, pgrp;

	return uk_guest_proc_parents(pid, &ppid, &pgrp) == 0 && ppid == parent;
}

/* The supervisor's status, with the helper's own fields put back. */
static void vouch(struct helper *h, struct uk_guest_status *st)
{
	const struct uk_guest_status *o = &h->own;

	one_line(st->message, sizeof(st->message));
	one_line(st->waiting_for, sizeof(st->waiting_for));
	snprintf(st->name, sizeof(st->name), "%s", o->name);
	st->supervisor_pid = h->supervisor;
	if (st->kernel_pid != o->kernel_pid && !child_of(st->kernel_pid, h->supervisor))
		st->kernel_pid = o->kernel_pid;
	h->own.kernel_pid = st->kernel_pid;
	st->uid = o->uid;
	st->gid = o->gid;
	memcpy(st->cgroup, o->cgroup, sizeof(st->cgroup));
	st->mem_limit = o->mem_limit;
	st->pids_max = o->pids_max;
	st->cpus_centi = o->cpus_centi;
	memcpy(st->cgroup_note, o->cgroup_note, sizeof(st->cgroup_note));
	st->jail = o->jail;
	memcpy(st->jail_missing, o->jail_missing, sizeof(st->jail_missing));
}

static void ack(int chan, char c)
{
	ssize_t r;

	do
		r = send(chan, &c, 1, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
}

static void helper_loop(struct helper *h)
{
	struct ps_msg m;

	for (;;) {
		ssize_t n = recv(h->chan, &m, sizeof(m), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the supervisor is gone */
		if (n == (ssize_t)sizeof(m) && m.type == PS_STATUS) {
			vouch(h, &m.st);
			ack(h->chan,
			    uk_guest_status_write(h->sv->paths, &m.st, NULL) == 0 ? 'y' : 'n');
		} else if (n == (ssize_t)sizeof(m.type) && m.type == PS_END) {
			break;
		} else {
			ack(h->chan, 'n');
		}
	}
	uk_guest_host_teardown(h->sv, h->cg, h->hn);
	ack(h->chan, 'y');
	_exit(0);
}

int uk_guest_privsep_start(struct uk_guest_privsep *ps, const struct uk_supervise *sv,
			   const struct uk_guest_status *st, struct uk_guest_cgroup *cg,
			   struct uk_guest_hostnet *hn, struct uk_err *err)
{
	struct helper h = {sv, cg, hn, *st, getpid(), -1};
	pid_t pid = uk_guest_fork_channel(sv->claims, sv->nclaims, false, &h.chan,
					  "the supervisor's helper", err);
	sigset_t none;

	if (pid < 0)
		return (int)pid;
	if (pid == 0) {
		/* its own group: a signal to the supervisor's is not its end; the supervisor's
		 * end of the channel is */
		setpgid(0, 0);
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (uk_sandbox_supervisor(NULL) < 0)
			_exit(1);
		helper_loop(&h);
	}
	ps->chan = h.chan;
	ps->pid = pid;
	return 0;
}

/* Send m (len bytes) and wait for the answer: 0, or -errno. */
static int ask(struct uk_guest_privsep *ps, const struct ps_msg *m, size_t len)
{
	struct pollfd p = {.fd = ps->chan, .events = POLLIN};
	char c = 0;
	ssize_t r;

	do
		r = send(ps->chan, m, len, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)len)
		return r < 0 ? -errno : -EPIPE;
	do
		r = poll(&p, 1, PS_ACK_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0 || recv(ps->chan, &c, 1, 0) != 1)
		return -EPIPE;
	return c == 'y' ? 0 : -EIO;
}

int uk_guest_privsep_status(struct uk_guest_privsep *ps, const struct uk_guest_status *st)
{
	struct ps_msg m = {.type = PS_STATUS, .st = *st};

	return ps->chan < 0 ? -EBADF : ask(ps, &m, sizeof(m));
}

void uk_guest_privsep_end(struct uk_guest_privsep *ps)
{
	struct ps_msg m = {.type = PS_END};

	if (ps->chan < 0)
		return;
	ask(ps, &m, sizeof(m.type));
	close(ps->chan);
	ps->chan = -1;
}
