// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The switch daemon: one process, one event loop. It owns the engine, the control socket
 * (SEQPACKET, JSON requests, fds passed with SCM_RIGHTS), the bess listening socket, a tap
 * uplink, and the modules (legacy daemon protocol, NAT) that plug into the loop.
 *
 * This file sets it up and takes it down: the lock and the pid file, the sockets, the
 * signalfd and the timerfd, the uplink and the modules, and the ready_fd's report. Its other
 * files share daemon-internal.h: loop.c (the event loop), pacing.c (which inputs wait for a
 * pause), control.c (the JSON control protocol), uplink.c (the tap uplink).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/sandbox.h"
#include "daemon-internal.h"

static int take_lock(struct uk_swd *d, struct uk_err *err)
{
	char path[4200], pid[32];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd, n;

	snprintf(path, sizeof(path), "%s/lock", d->dir);
	/* readable: `switch stop` and `list` of a --group member ask who holds it (F_GETLK) */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return uk_err_sys(err, errno, "%s", path);
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		close(fd);
		return uk_err_set(err, EBUSY, "switch '%s' is already running (pid %d)", d->o.name,
				  (int)uk_switch_pid(d->o.name));
	}
	/* the lock stays held (fd open) until the teardown */
	d->locked = true;
	d->lock_fd = fd;
	if (fchmod(fd, 0644) < 0)
		return uk_err_sys(err, errno, "%s", path);
	snprintf(path, sizeof(path), "%s/pid", d->dir);
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	{
		struct uk_newfile nf;

		if (uk_newfile_open(&nf, path, 0644, NULL) == 0) {
			if (uk_pwrite_all(nf.fd, pid, (size_t)n, 0) == 0)
				uk_newfile_commit(&nf, true, NULL);
			else
				uk_newfile_abort(&nf);
		}
	}
	return 0;
}

/* Watch one of the daemon's own fds; on failure it is closed and the error told. */
static int watch_fixed(struct uk_swd *d, int fd, enum watch_kind kind, const char *what,
		       struct uk_err *err)
{
	int r = uk_swd_add_watch(d, &(struct watch){.fd = fd, .kind = kind});

	if (r < 0) {
		close(fd);
		return uk_err_sys(err, -r, "%s: epoll", what);
	}
	return 0;
}

static int setup(struct uk_swd *d, struct uk_err *err)
{
	sigset_t mask;
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
	mode_t mode = d->o.group >= 0 ? 0660 : 0600;
	int fd, r;

	/* before anything is made: a SIGTERM from now on ends the loop, which removes it all */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = uk_switch_dir(d->o.name, d->dir, sizeof(d->dir), err);
	if (r < 0)
		return r;
	r = take_lock(d, err);
	if (r == 0)
		r = uk_swd_share_dir(d->dir, d->o.group, err);
	if (r < 0)
		return r;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->qfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0 || d->qfd < 0)
		return uk_err_sys(err, errno, "epoll_create1");
	snprintf(d->ctl_path, sizeof(d->ctl_path), "%s/ctl", d->dir);
	fd = uk_swd_listen_path(d->ctl_path, SOCK_SEQPACKET, mode, d->o.group, "control socket",
				&d->ctl_made, err);
	if (fd < 0 || (r = watch_fixed(d, fd, WATCH_CONTROL, "control socket", err)) < 0)
		return fd < 0 ? fd : r;
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return uk_err_sys(err, errno, "signalfd");
	r = watch_fixed(d, fd, WATCH_SIGNAL, "signalfd", err);
	if (r < 0)
		return r;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) < 0) {
		r = uk_err_sys(err, errno, "timerfd");
		if (fd >= 0)
			close(fd);
		return r;
	}
	r = watch_fixed(d, fd, WATCH_TIMER, "timerfd", err);
	if (r < 0)
		return r;
	if (d->o.bess[0]) {
		fd = uk_swd_listen_path(d->o.bess, SOCK_SEQPACKET, mode, d->o.group, "bess socket",
					&d->bess_made, err);
		if (fd < 0 || (r = watch_fixed(d, fd, WATCH_BESS, d->o.bess, err)) < 0)
			return fd < 0 ? fd : r;
	}
	if (d->o.tap[0]) {
		r = uk_swd_tap_open(d, err);
		if (r < 0)
			return r;
	}
	/* modules: the legacy daemon protocol, the NAT uplink */
	if (d->o.legacy_ctl[0]) {
		r = uk_swd_legacy_start(d, d->o.legacy_ctl, err);
		if (r < 0)
			return r;
	}
	if (d->o.nat) {
		r = uk_swd_nat_start(d, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static void teardown(struct uk_swd *d)
{
	char path[4200];

	for (int m = 0; m < d->nmods; m++)
		if (d->mods[m].m.stop)
			d->mods[m].m.stop(d, d->mods[m].m.ctx);
	d->nmods = 0; /* stopped: no hook of theirs runs as the ports go */
	if (d->sw) {  /* each port's fd is closed once: by the engine, and no longer watched */
		int ids[UK_SW_MAX_PORTS];
		int n = uk_switch_ports(d->sw, ids, UK_SW_MAX_PORTS);

		for (int i = 0; i < n; i++)
			uk_swd_remove_port(d, ids[i]);
	}
	uk_switch_free(d->sw);
	if (d->tap_fd >= 0 && !uk_swd_watch_of(d, d->tap_fd))
		close(d->tap_fd); /* a watched one is closed with the watches */
	for (int i = 0; i < d->nw; i++)
		close(d->w[i].fd);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->qfd >= 0)
		close(d->qfd);
	if (d->spare_fd >= 0)
		close(d->spare_fd);
	if (!d->locked)
		return;
	uk_swd_unlink_ours(d->ctl_path, &d->ctl_made);
	if (d->bess_made.st_ino)
		uk_swd_unlink_ours(d->o.bess, &d->bess_made);
	snprintf(path, sizeof(path), "%s/pid", d->dir);
	unlink(path);
	close(d->lock_fd); /* last: the name is free once the sockets are gone */
}

int uk_switch_daemon_run(const struct uk_switch_daemon_opts *o, struct uk_err *err)
{
	struct uk_switch_opts so = {.mtu = o->mtu,
				    .hub = o->hub,
				    .port_dead = uk_swd_port_dead,
				    .port_blocked = uk_swd_port_blocked};
	struct uk_swd *d = calloc(1, sizeof(*d));
	struct uk_err local = {0};
	int r;

	if (!err)
		err = &local; /* the ready_fd's "failed MSG" needs the message */
	if (!d || !uk_swd_pfd_room(d)) {
		free(d);
		uk_err_set(err, ENOMEM, "out of memory");
		if (o->ready_fd >= 0) {
			dprintf(o->ready_fd, "failed %s\n", err->msg);
			close(o->ready_fd);
		}
		return -ENOMEM;
	}
	d->npfd = MOD_SLOT;
	d->o = *o;
	d->tap_fd = -1;
	d->tap_port = -1;
	d->epfd = -1;
	d->qfd = -1;
	d->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	so.ctx = d;
	d->sw = uk_switch_new(&so, err);
	r = d->sw ? setup(d, err) : -(err->code ? err->code : ENOMEM);
	if (r == 0) /* set up: from here on, only the calls of its allowlist */
		r = uk_sandbox_switch(err);
	if (r == 0 && o->ready_fd >= 0) {
		dprintf(o->ready_fd, "ready %d\n", (int)getpid());
		close(o->ready_fd);
	}
	if (r == 0)
		r = uk_swd_loop(d, err);
	teardown(d);
	free(d->widx);
	free(d->pfd);
	free(d);
	/* a failure is told after the teardown: the lock is free for a retry at once */
	if (r < 0 && o->ready_fd >= 0) {
		dprintf(o->ready_fd, "failed %s\n", err->msg);
		close(o->ready_fd);
	}
	return r;
}

/* The daemon's side of uk_switch_daemon_start: never returns. */
static void run_daemon(const struct uk_switch_daemon_opts *o, int report)
{
	struct uk_switch_daemon_opts d = *o;

	d.ready_fd = report;
	_exit(uk_switch_daemon_run(&d, NULL) < 0 ? 1 : 0);
}

int uk_switch_daemon_start(const struct uk_switch_daemon_opts *o, pid_t *pid, struct uk_err *err)
{
	struct uk_daemon_reader rd = {.fd = -1};
	int64_t deadline = (int64_t)(uk_monotonic_ns() / 1000000) + UK_SW_START_TIMEOUT_S * 1000;
	struct uk_err e = {0};
	char line[64] = "";
	int r;

	if ((o->bess[0] && o->bess[0] != '/') || (o->legacy_ctl[0] && o->legacy_ctl[0] != '/'))
		return uk_err_set(err, EINVAL, "switch '%s': socket path %s is not absolute",
				  o->name,
				  o->bess[0] && o->bess[0] != '/' ? o->bess : o->legacy_ctl);
	r = uk_daemon_start(&(struct uk_daemon_opts){.umask = 022}, &rd.fd, err);
	if (r < 0)
		return r;
	if (r == 0)
		run_daemon(o, rd.fd);
	r = uk_daemon_wait(&rd, "ready", deadline, line, sizeof(line), &e);
	close(rd.fd);
	if (r == -ETIMEDOUT)
		return uk_err_set(err, ETIMEDOUT,
				  "switch '%s' did not say it was ready within %d s", o->name,
				  UK_SW_START_TIMEOUT_S);
	if (r < 0)
		return uk_err_set(err, strstr(e.msg, "already running") ? EBUSY : e.code, "%s",
				  e.msg);
	*pid = line[5] == ' ' ? (pid_t)atoi(line + 6) : 0;
	return 0;
}
