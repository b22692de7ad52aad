// SPDX-License-Identifier: LGPL-2.1-or-later
/* Starting (supervised, in the background), running (in the foreground), stopping and
 * killing guests. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/mconsole.h"
#include "jail-internal.h"

static int64_t now_ms(void)
{
	return (int64_t)(uk_monotonic_ns() / 1000000);
}

/* Wait until the guest's kernel group and supervisor are gone, up to deadline. */
static bool wait_gone(const char *name, const struct uk_guest_paths *p, pid_t pgid,
		      int64_t deadline)
{
	for (;;) {
		/* every member of the kernel's group reaped: a dying process still holds its
		 * locks after its command line is gone */
		bool group_gone = pgid > 0 ? kill(-pgid, 0) < 0 && errno == ESRCH
					   : !uk_guest_kernel_alive(pgid, name);

		if (!uk_guest_supervisor_alive(p) && group_gone)
			return true;
		if (now_ms() >= deadline)
			return false;
		usleep(20000);
	}
}

/* A state left by a dead supervisor: end what is left of its kernel, clean up. */
static int recover(const char *name, const struct uk_guest_paths *p, struct uk_err *err)
{
	struct uk_guest_status st;

	if (uk_guest_status(name, &st, NULL) < 0 || st.state == UK_GUEST_NONE)
		return 0;
	if (uk_guest_supervisor_alive(p))
		return uk_err_set(err, EBUSY, "guest '%s' is already running (supervisor pid %d)",
				  name, (int)uk_guest_supervisor_alive(p));
	if (st.kernel_pid > 0 && uk_guest_kernel_alive(st.kernel_pid, name)) {
		kill(-st.kernel_pid, SIGKILL);
		if (!wait_gone(name, p, st.kernel_pid, now_ms() + 5000))
			return uk_err_set(err, EBUSY,
					  "guest '%s': its old kernel (pid %d) will not die", name,
					  (int)st.kernel_pid);
	}
	uk_guest_clean_stale(p);
	return 0;
}

/* In the daemon: take the lock, supervise, exit. Never returns. */
static void become_supervisor(const struct uk_guest_spec *s, const struct uk_guest_paths *p,
			      const struct uk_guest_start_opts *o, const int *claims, int nclaims,
			      int report_fd)
{
	struct uk_supervise sv = {.spec = s,
				  .paths = p,
				  .claims = claims,
				  .nclaims = nclaims,
				  .report_fd = report_fd,
				  .ready_mode = o->ready,
				  .ready_arg = o->ready_arg};
	struct uk_guest_status st = {0};
	struct uk_err err = {0};
	int lock;

	if (uk_guest_take_lock(p, &lock, &err) < 0) {
		dprintf(report_fd, "failed %s\n", err.msg);
		_exit(1);
	}
	sv.lock_fd = lock;
	snprintf(st.name, sizeof(st.name), "%s", s->name);
	_exit(uk_guest_supervise(&sv, &st, &err) < 0 ? 1 : 0);
}

/* Read the supervisor's reports until want ("started" or "ready") or a failure; a report after
 * the one wanted stays in rd for the next call (a fast guest's "ready" can come in the same
 * read as its "started"). */
static int read_reports(struct uk_daemon_reader *rd, const char *want, int64_t deadline,
			struct uk_err *err)
{
	int r = uk_daemon_wait(rd, want, deadline, NULL, 0, err);

	if (r == -ETIMEDOUT)
		return uk_err_set(err, ETIMEDOUT, "not ready in time");
	if (r == -ECANCELED && err && !strcmp(err->msg, "the daemon ended without a report"))
		return uk_err_set(err, ECANCELED, "the supervisor ended without a report");
	return r;
}

/* The kernel's ends of the switch links, as this process holds them. */
struct links {
	int fd[UK_GUEST_NETS];
	int n;
};

static void close_links(struct links *l)
{
	for (int i = 0; i < l->n; i++)
		close(l->fd[i]);
	l->n = 0;
}

/* A copy of the spec whose switch links are fds (the kernel's ends of socketpairs). */
static int wire_switches(const struct uk_guest_spec *s, struct uk_guest_spec **out, struct links *l,
			 struct uk_err *err)
{
	struct uk_guest_spec *c = malloc(sizeof(*c));
	int r;

	*out = NULL;
	l->n = 0;
	if (!c)
		return uk_err_set(err, ENOMEM, "out of memory");
	memcpy(c, s, sizeof(*c));
	r = uk_guest_attach_switches(c, err);
	for (int i = 0; i < c->nnets; i++)
		if (c->nets[i].kind == UK_NET_FD && s->nets[i].kind == UK_NET_SWITCH)
			l->fd[l->n++] = atoi(c->nets[i].target);
	if (r < 0) {
		close_links(l);
		free(c);
		return r;
	}
	*out = c;
	return 0;
}

/* A launch under way: what prepare_launch made and holds. */
struct launch {
	struct uk_guest_paths p;
	struct uk_guest_spec *spec; /* with the switch links wired */
	struct links links;
	struct uk_guest_claims disks; /* the claims on its disks */
	int claim;		      /* the claim on the guest, -1 */
	bool existed;		      /* its state directory was there before */
};

/* The fds a supervisor keeps of its starter's: the claims, the switch links and the --net fd:
 * descriptors its kernel gets. */
static int supervisor_fds(const struct launch *L, int *keep)
{
	int n = 0;

	keep[n++] = L->claim;
	for (int i = 0; i < L->disks.n; i++)
		keep[n++] = L->disks.fd[i];
	for (int i = 0; i < L->spec->nnets; i++)
		if (L->spec->nets[i].kind == UK_NET_FD)
			keep[n++] = atoi(L->spec->nets[i].target);
	return n;
}

/* Start the supervisor as a daemon; rd reads its reports. */
static int spawn_supervisor(const struct launch *L, const struct uk_guest_start_opts *o,
			    struct uk_daemon_reader *rd, struct uk_err *err)
{
	int keep[1 + 2 * UK_GUEST_DISKS + UK_GUEST_NETS];
	struct uk_daemon_opts d = {.keep = keep, .umask = 022};
	int r;

	_Static_assert(UK_ARRAY_SIZE(keep) <= UK_DAEMON_KEEP_MAX, "a supervisor's fds fit");
	d.nkeep = supervisor_fds(L, keep);
	r = uk_daemon_start(&d, &rd->fd, err);
	if (r == 0) /* the claims: keep's first 1 + disks.n */
		become_supervisor(L->spec, &L->p, o, keep, 1 + L->disks.n, rd->fd);
	return r < 0 ? r : 0;
}

/*
 * A refused launch (no kernel ever started) leaves no new entry behind: the state directory
 * it made is removed, once its supervisor, if it had one, is gone (5 s at most). A state that
 * was there before (a stopped guest, a running one) stays as it was, and so does one this
 * launch never claimed (another start's).
 */
static void drop_new_state(const struct launch *L)
{
	if (L->existed || L->claim < 0 || !L->p.dir[0])
		return;
	for (int i = 0; i < 250 && uk_guest_supervisor_alive(&L->p); i++)
		usleep(20000);
	uk_guest_drop_kernel_dir(&L->p);
	uk_remove_tree(AT_FDCWD, L->p.dir);
}

/* The end of a launch, for this process: the links and claims it holds are let go (a
 * supervisor keeps its own copies of the claims: they are the same open files). */
static void end_launch(struct launch *L)
{
	if (L->spec) {
		close_links(&L->links);
		free(L->spec);
		L->spec = NULL;
	}
	uk_guest_claims_release(&L->disks);
	if (L->claim >= 0)
		close(L->claim);
	L->claim = -1;
}

/* The guest's state directory (made if missing) and the claim on it, before anything in it
 * changes. */
static int claim_state(const struct uk_guest_spec *s, struct launch *L, struct uk_err *err)
{
	_cleanup_close_ int dfd = -1;
	struct stat sb;
	pid_t holder;
	int r;

	L->existed = lstat(L->p.dir, &sb) == 0;
	dfd = uk_guest_state_open(s->name, true, err);
	if (dfd < 0)
		return dfd;
	r = uk_guest_claim(dfd, &L->claim, &holder);
	if (r == -EBUSY)
		return uk_guest_claim_busy(err, s->name, holder);
	return r < 0 ? uk_err_sys(err, -r, "%s", L->p.lock) : 0;
}

/*
 * The claim, after the checks of --user and --cpu-affinity (checked says how they went):
 * another start's claim wins over their failure (a COW that start is making is not the
 * guest's user's yet, and no user can read it), their failure over the claim's (a user who
 * may not use --user cannot make the state directory either).
 */
static int claim_after_checks(const struct uk_guest_spec *s, struct launch *L, int checked,
			      struct uk_err *err)
{
	struct uk_err cerr = {0};
	int r = claim_state(s, L, &cerr);

	if (r == -EBUSY || (checked == 0 && r < 0)) {
		if (err)
			*err = cerr;
		return r;
	}
	return checked;
}

/* Before a launch: the checks of --user and the files its kernel needs, --cpu-affinity's
 * LIST, the state directory and the claim on it (no other start gets past this point until
 * this one and its supervisor are done), the recovery of what a dead supervisor left, the
 * switch links (first: a refused link must not leave a new COW behind), the disks and the
 * claims on them, the kernel's uml_dir. On failure, a state directory it made is gone and
 * nothing is held. */
static int prepare_launch(const struct uk_guest_spec *s, struct launch *L, struct uk_err *err)
{
	cpu_set_t cpus;
	bool pin;
	int r;

	memset(L, 0, sizeof(*L));
	L->claim = -1;
	L->existed = true;
	r = uk_guest_paths(s->name, &L->p, err);
	if (r < 0)
		return r;
	r = uk_guest_check_user(s, err);
	if (r == 0)
		r = uk_jail_check_kernel(s, err);
	if (r == 0 && s->cpu_mode == UK_CPU_LIST)
		r = uk_guest_cpu_choose(s, &cpus, &pin, err); /* none of the CPUs allowed */
	r = claim_after_checks(s, L, r, err);
	if (r == 0)
		r = recover(s->name, &L->p, err);
	if (r == 0)
		r = wire_switches(s, &L->spec, &L->links, err);
	if (r == 0)
		uk_guest_nets_record(&L->p, s, L->spec, NULL); /* for status; it starts without */
	if (r == 0)
		r = uk_guest_prepare_disks(s, err);
	if (r == 0)
		r = uk_guest_claim_disks(s, &L->disks, err);
	if (r == 0)
		r = uk_guest_spec_absolute(L->spec, err); /* the supervisor runs in "/" */
	if (r == 0)
		r = uk_guest_make_kernel_dir(&L->p, s, err);
	if (r < 0) {
		drop_new_state(L);
		end_launch(L);
	}
	return r;
}

/* Wait for the supervisor's "ready" report; after UK_READY_NOTE_S without it, tell o->note
 * what the guest waits for (once). On a timeout, err says the same. */
static int wait_ready(const char *name, const struct uk_guest_start_opts *o,
		      struct uk_daemon_reader *report, int64_t start, int64_t deadline,
		      struct uk_err *err)
{
	int64_t note_at = start + 1000LL * UK_READY_NOTE_S;
	struct uk_guest_status st;
	char note[UK_READY_ARG_MAX + 512];
	int r;

	if (o->note && note_at < deadline) {
		r = read_reports(report, "ready", note_at, err);
		if (r != -ETIMEDOUT)
			return r;
		if (uk_guest_status(name, &st, NULL) == 0) {
			uk_guest_ready_note(&st, o->ready, o->ready_arg, note, sizeof(note));
			o->note(note, o->note_ctx);
		}
	}
	r = read_reports(report, "ready", deadline, err);
	if (r == -ETIMEDOUT) {
		note[0] = '\0';
		if (uk_guest_status(name, &st, NULL) == 0 &&
		    (st.state == UK_GUEST_BOOTING || st.state == UK_GUEST_BOOTED))
			uk_guest_ready_note(&st, o->ready, o->ready_arg, note, sizeof(note));
		uk_err_set(err, ETIMEDOUT,
			   "guest '%s' did not report ready within %d s%s%s (see umlkit logs %s)",
			   name, o->timeout_s > 0 ? o->timeout_s : 120, note[0] ? ": " : "",
			   note[0] ? note + strlen(name) + 2 : "", name);
	}
	return r;
}

/* Does err's message already name the guest ("guest 'NAME' ...")? */
static bool names_guest(const struct uk_err *err, const char *name)
{
	size_t n = strlen(name);

	return err && !strncmp(err->msg, "guest '", 7) && !strncmp(err->msg + 7, name, n) &&
	       err->msg[7 + n] == '\'';
}

int uk_guest_start(const struct uk_guest_spec *s, const struct uk_guest_start_opts *o,
		   struct uk_guest_status *st, struct uk_err *err)
{
	int64_t start = now_ms(),
		deadline = start + 1000LL * (o->timeout_s > 0 ? o->timeout_s : 120);
	struct uk_daemon_reader report = {.fd = -1};
	struct launch L;
	bool started = false;
	int r;

	r = prepare_launch(s, &L, err);
	if (r < 0)
		return r;
	r = spawn_supervisor(&L, o, &report, err);
	close_links(&L.links);		   /* the supervisor holds them now */
	uk_guest_claims_release(&L.disks); /* and its own copies of the claims */
	if (r < 0) {
		uk_guest_drop_kernel_dir(&L.p);
		drop_new_state(&L);
		end_launch(&L);
		return r;
	}
	r = read_reports(&report, "started", deadline, err);
	started = r == 0;
	if (r == 0 && o->wait)
		r = wait_ready(s->name, o, &report, start, deadline, err);
	close(report.fd);
	if (r == -ETIMEDOUT && !started)
		uk_err_set(err, ETIMEDOUT, "guest '%s': its supervisor did not start the kernel",
			   s->name);
	else if (r == -ECANCELED && !names_guest(err, s->name))
		uk_err_prefix(err, r, "guest '%s': ", s->name);
	if (!started)
		drop_new_state(&L);
	end_launch(&L); /* the guest's claim: the supervisor's copy holds it from now on */
	uk_guest_status(s->name, st, NULL);
	return r;
}

int uk_guest_run(const struct uk_guest_spec *s, struct uk_guest_status *st, struct uk_err *err)
{
	struct uk_supervise sv = {
		.spec = s, .report_fd = -1, .ready_mode = UK_READY_NOTIFY, .foreground = true};
	struct launch L;
	struct termios tio;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &tio) == 0;
	int lock, r;

	memset(st, 0, sizeof(*st));
	r = prepare_launch(s, &L, err);
	if (r < 0)
		return r;
	r = uk_guest_take_lock(&L.p, &lock, err);
	if (r < 0) {
		uk_guest_drop_kernel_dir(&L.p);
		end_launch(&L);
		return r;
	}
	sv.spec = L.spec;
	sv.paths = &L.p;
	sv.lock_fd = lock;
	snprintf(st->name, sizeof(st->name), "%s", s->name);
	r = uk_guest_supervise(&sv, st, err);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &tio);
	close(lock);
	if (r < 0 && st->kernel_pid == 0) /* refused before its kernel started */
		drop_new_state(&L);
	end_launch(&L);
	return r < 0 ? r : 0;
}

/* The time left until deadline, at most max_ms (0 once it has passed). */
static int ms_left(int64_t deadline, int max_ms)
{
	return (int)UK_MAX(UK_MIN(deadline - now_ms(), (int64_t)max_ms), (int64_t)0);
}

/* One mconsole request, its answer ignored, that takes at most max_ms and ends by deadline. */
static void mconsole_try(const char *sock, const char *cmd, int64_t deadline, int max_ms)
{
	struct uk_mc_reply reply;
	int ms = ms_left(deadline, max_ms);

	if (ms > 0 && uk_mc_command(sock, cmd, ms, &reply, NULL) == 0)
		uk_mc_reply_free(&reply);
}

/* Does the console log hold text after offset off? */
static bool log_has(const char *log, off_t off, const char *text)
{
	_cleanup_close_ int fd = open(log, O_RDONLY | O_CLOEXEC);
	char buf[8192];
	ssize_t n;

	if (fd < 0)
		return false;
	n = uk_pread_full(fd, buf, sizeof(buf) - 1, (uint64_t)off);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return memmem(buf, (size_t)n, text, strlen(text)) != NULL;
}

/* The guest's ubd devices as its /proc/diskstats shows them: writes completed and sectors
 * written (summed), and I/O in flight. -1 when the guest cannot say. */
static int ubd_stats(const char *sock, int64_t deadline, unsigned long long *writes,
		     unsigned long long *inflight)
{
	struct uk_mc_reply reply;
	char *line, *save = NULL;
	int ms = ms_left(deadline, 2000);

	if (ms <= 0 || uk_mc_command(sock, "proc diskstats", ms, &reply, NULL) < 0)
		return -1;
	if (!reply.ok) {
		uk_mc_reply_free(&reply);
		return -1;
	}
	*writes = *inflight = 0;
	for (line = strtok_r(reply.text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long f[9];
		char name[32];

		if (sscanf(line, "%*u %*u %31s %llu %llu %llu %llu %llu %llu %llu %llu %llu", name,
			   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8]) == 10 &&
		    !strncmp(name, "ubd", 3)) {
			*writes += f[4] + f[6]; /* writes completed, sectors written */
			*inflight += f[8];
		}
	}
	uk_mc_reply_free(&reply);
	return 0;
}

/*
 * The 6.1 kernel prints "Emergency Sync complete" once its writes are issued, not done
 * (do_sync_work syncs with nowait), and the ext4 journal commits after it. Wait until the
 * guest's disks have nothing in flight and have written nothing new for two polls in a row.
 */
static void disks_settle(const char *sock, int64_t deadline)
{
	unsigned long long w, in, last = ~0ULL;
	int quiet = 0;

	while (now_ms() < deadline && ubd_stats(sock, deadline, &w, &in) == 0) {
		quiet = in == 0 && w == last ? quiet + 1 : 0;
		if (quiet >= 2)
			return;
		last = w;
		usleep((useconds_t)ms_left(deadline, 100) * 1000);
	}
}

/*
 * An emergency sync (sysrq s), waiting until the kernel says it is complete and its disks
 * have settled. A request that brought no "complete" in half the time is sent once more (a
 * lost or late mconsole request must not leave the page cache unwritten before cad or halt).
 */
static bool sync_guest(const struct uk_guest_paths *p, int64_t deadline)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int64_t until = attempt ? deadline : now_ms() + (deadline - now_ms()) / 2;
		struct stat st;
		off_t off = stat(p->console_log, &st) == 0 ? st.st_size : 0;

		mconsole_try(p->mconsole, "sysrq s", until, 2000);
		while (now_ms() < until) {
			if (log_has(p->console_log, off, "Emergency Sync complete")) {
				disks_settle(p->mconsole, deadline);
				return true;
			}
			usleep(20000);
		}
	}
	return false;
}

/* What a dead supervisor left (the kernel's uml_dir, sockets, firewall rules, taps), removed
 * unless another umlkit claimed the guest meanwhile (a start: it is that one's now). */
static void clean_unclaimed(const char *name, const struct uk_guest_paths *p)
{
	_cleanup_close_ int dfd = uk_guest_state_open(name, false, NULL), claim = -1;
	pid_t holder;

	if (dfd >= 0 && uk_guest_claim(dfd, &claim, &holder) == 0)
		uk_guest_clean_stale(p);
}

/* The guest is gone. A supervisor cleans up after its guest; without one (it died), what
 * it left is ours to remove. */
static int stopped(const char *name, const struct uk_guest_paths *p, pid_t sup)
{
	if (!sup)
		clean_unclaimed(name, p);
	return 0;
}

/* Before stop and kill change anything: the state directory is one umlkit may use (a
 * missing one is for uk_guest_status to report). */
static int check_state(const char *name, struct uk_err *err)
{
	_cleanup_close_ int fd = uk_guest_state_open(name, false, err);

	return fd < 0 && fd != -ENOENT ? fd : 0;
}

/* Does process pid block SIGUSR1 (a supervisor that reads it from its signalfd)? One of an
 * older umlkit would die of it, and its kernel with it. */
static bool blocks_sigusr1(pid_t pid)
{
	char buf[4096], *p;
	unsigned long long mask;

	if (uk_guest_proc_read(pid, "status", buf, sizeof(buf)) <= 0)
		return false;
	p = strstr(buf, "\nSigBlk:");
	return p && sscanf(p + 8, "%llx", &mask) == 1 && (mask >> (SIGUSR1 - 1)) & 1;
}

/* The guest's status and paths. */
static int look_up(const char *name, struct uk_guest_status *st, struct uk_guest_paths *p,
		   struct uk_err *err)
{
	int r = check_state(name, err);

	if (r == 0)
		r = uk_guest_status(name, st, err);
	return r < 0 ? r : uk_guest_paths(name, p, err);
}

/*
 * SIGKILL the guest's kernel group (its supervisor told first, so it restarts nothing) and
 * wait until both are gone, up to deadline; a supervisor still there halfway gets SIGKILL.
 */
static int kill_until(const char *name, int64_t deadline, struct uk_err *err)
{
	struct uk_guest_status st;
	struct uk_guest_paths p;
	pid_t sup;
	int r = look_up(name, &st, &p, err);

	if (r < 0)
		return r;
	sup = uk_guest_supervisor_alive(&p);
	if (sup > 0) /* first, so it does not restart what we kill */
		kill(sup, SIGTERM);
	if (st.kernel_pid > 0 && uk_guest_kernel_alive(st.kernel_pid, name)) {
		usleep((useconds_t)ms_left(deadline, 100) * 1000);
		kill(-st.kernel_pid, SIGKILL);
	}
	if (!wait_gone(name, &p, st.kernel_pid, deadline - (deadline - now_ms()) / 2) && sup)
		kill(sup, SIGKILL);
	if (!wait_gone(name, &p, st.kernel_pid, deadline))
		return uk_err_set(err, EBUSY, "guest '%s' would not die", name);
	clean_unclaimed(name, &p);
	return 0;
}

int uk_guest_stop(const char *name, int timeout_s, struct uk_err *err)
{
	int64_t start = now_ms(), total = 1000LL * (timeout_s > 0 ? timeout_s : 30);
	struct uk_guest_status st;
	struct uk_guest_paths p;
	pid_t sup, pgid;
	int r = look_up(name, &st, &p, err);

	if (r < 0)
		return r;
	pgid = st.kernel_pid;
	sup = uk_guest_supervisor_alive(&p);
	if (!sup && !uk_guest_kernel_alive(pgid, name)) {
		clean_unclaimed(name, &p);
		return 0;
	}
	/* whatever ends the kernel from now on (a guest whose init makes ctrl-alt-del a
	 * reboot, as systemd does) is no reboot to start again */
	if (sup > 0 && blocks_sigusr1(sup))
		kill(sup, SIGUSR1);
	/*
	 * Each step gets its share of the time. An emergency sync first: a guest whose init
	 * has not taken over ctrl-alt-del is restarted by cad at once, and mconsole halt stops
	 * the kernel at once, both with the guest's page cache unwritten. Then cad: an init
	 * that handles it shuts down cleanly. Then sync again and halt. Then SIGTERM, SIGKILL.
	 */
	/* "Emergency Sync complete" is a KERN_INFO line: a guest booted quiet (console log level
	 * 4, as lab machines are) kept it off the console, and every stop waited out the sync's
	 * whole share (6 of 30 s). The guest is going down: its console shows info lines again. */
	mconsole_try(p.mconsole, "sysrq 7", start + total / 10, 2000);
	sync_guest(&p, start + total * 2 / 10);
	mconsole_try(p.mconsole, "cad", start + total * 5 / 10, (int)(total / 10));
	if (wait_gone(name, &p, pgid, start + total * 5 / 10))
		return stopped(name, &p, sup);
	sync_guest(&p, start + total * 6 / 10);
	mconsole_try(p.mconsole, "halt", start + total * 75 / 100, (int)(total / 20));
	if (wait_gone(name, &p, pgid, start + total * 75 / 100))
		return stopped(name, &p, sup);
	/* the supervisor forwards SIGTERM to the kernel's group and will not restart it */
	if (sup > 0)
		kill(sup, SIGTERM);
	else if (pgid > 0)
		kill(-pgid, SIGTERM);
	if (wait_gone(name, &p, pgid, start + total * 85 / 100))
		return stopped(name, &p, sup);
	return kill_until(name, start + total, err);
}

int uk_guest_kill(const char *name, struct uk_err *err)
{
	return kill_until(name, now_ms() + 6100, err);
}

/* The supervisor's first byte on a console connection: 'Y' attached, or 'N' and why not. */
static int console_answer(const char *name, int fd, struct uk_err *err)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	char buf[256];
	ssize_t n = 0;
	size_t used = 0;

	while (used < sizeof(buf) - 1) {
		int r = poll(&pf, 1, 5000);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n = read(fd, buf + used, used ? sizeof(buf) - 1 - used : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (buf[0] == 'Y')
			return 0;
	}
	buf[used] = '\0';
	if (used && buf[0] == 'N') {
		buf[1 + strcspn(buf + 1, "\r\n")] = '\0';
		for (char *c = buf + 1; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				*c = '?';
		return uk_err_set(err, EBUSY, "guest '%s': console refused: %s", name, buf + 1);
	}
	return uk_err_set(err, ECONNRESET,
			  "guest '%s': its supervisor did not answer on the console", name);
}

static int connect_to(const char *name, bool agent, int *fd, struct uk_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct uk_guest_status st;
	struct uk_guest_paths p;
	int r = uk_guest_paths(name, &p, err);
	const char *path;

	*fd = -1;
	if (r == 0)
		r = uk_guest_status(name, &st, err);
	if (r < 0)
		return r;
	/* the agent's socket answers only while its supervisor runs: connecting is the check */
	if (!agent && !uk_guest_supervisor_alive(&p))
		return uk_err_set(err, ENOTCONN, "guest '%s' is %s: no console to attach to%s",
				  name, uk_guest_state_name(st.state),
				  st.kernel_alive ? " (its kernel runs without a supervisor)" : "");
	path = agent ? p.agent_sock : p.console_sock;
	if (strlen(path) >= sizeof(a.sun_path))
		return uk_err_set(err, ENAMETOOLONG, "%s: path too long", path);
	memcpy(a.sun_path, path, strlen(path) + 1);
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return uk_err_sys(err, errno, "socket");
	if (connect(*fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		r = agent && (errno == ENOENT || errno == ECONNREFUSED)
			    ? uk_err_set(err, ENOTCONN, "guest '%s' is not running", name)
			    : uk_err_sys(err, errno, "guest '%s': %s", name, path);
	if (r == 0 && !agent)
		r = console_answer(name, *fd, err);
	if (r < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

int uk_guest_console_connect(const char *name, int *fd, struct uk_err *err)
{
	return connect_to(name, false, fd, err);
}

int uk_guest_agent_connect(const char *name, int *fd, struct uk_err *err)
{
	return connect_to(name, true, fd, err);
}

bool uk_guest_is_alive(const char *name)
{
	struct uk_guest_status st;
	struct uk_guest_paths p;

	if (uk_guest_paths(name, &p, NULL) < 0 || uk_guest_status(name, &st, NULL) < 0)
		return false;
	return uk_guest_supervisor_alive(&p) || st.kernel_alive;
}
