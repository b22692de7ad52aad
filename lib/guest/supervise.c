// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The supervisor: starts the kernel in a process group of its own, holds its console
 * (written to console.log and relayed to one attached client), listens on the kernel's
 * mconsole notify socket (mconsole up, panic message, the guest's "ready"), tells "booted"
 * from "booting" (below), reaps the kernel, records how it ended, starts it again after a
 * reboot inside the guest or on failure when asked, and cleans what a crashed kernel leaves
 * behind.
 *
 * Booted: the kernel runs init. It says so on the console ("Run /sbin/init as init
 * process", at the default log level); with a quieter kernel the guest's mount table, read
 * through mconsole once a second after mconsole is up, shows proc on /proc, which only
 * userspace mounts. A reboot: the kernel runs with `noreboot`, so a reboot ends it with
 * status 0 as a poweroff does; its last console words tell them apart ("reboot: Restarting
 * system" against "System halted" or "Power down").
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/agent.h"
#include "umlkit/mconsole.h"
#include "umlkit/net.h"
#include "cgroup-internal.h"
#include "guest-internal.h"
#include "jail-internal.h"

#define PANIC_TEXT "Kernel panic - not syncing: "
#define PROBE_MS   1000 /* the mount table is read this often until the guest has booted */

struct sup {
	struct uk_supervise *sv;
	struct uk_guest_status *st;
	int console;	/* our end of the kernel's console, -1 in the foreground */
	int log_fd;	/* console.log */
	int notify;	/* notify socket */
	int listen_fd;	/* console socket for `umlkit console` */
	int client;	/* the attached console client (non-blocking), -1 */
	int sig;	/* signalfd */
	bool reported;	/* ready or failure sent on report_fd */
	bool stopping;	/* SIGTERM or SIGUSR1 (umlkit stop) received: do not restart */
	char line[512]; /* the console's current line, to catch a panic message */
	size_t line_len;
	regex_t ready_re; /* --ready=console:REGEX, compiled */
	bool have_re;
	bool booted;		/* the kernel runs init */
	int64_t probe_at;	/* monotonic ms of the next mount table read; 0: none */
	int reboot_said;	/* the kernel's last words: 1 restarting, 0 halted, -1 none yet */
	int quick_reboots;	/* reboots in a row, each within UK_REBOOT_QUICK_S of its boot */
	int64_t booted_at;	/* monotonic ms the current kernel started */
	char preload[PATH_MAX]; /* the xstate shim the kernel needs here, or "" */
	struct uk_agent_relay *relay; /* the guest agent's clients and channel */
	int agent_end;		      /* the kernel's end of the agent's channel, until exec */
	int modules_fd;		      /* in a --user kernel's process: its modules image, -1 */
	char modules_path[32];	      /* /proc/self/fd/<modules_fd> */
	int ring_fd;		      /* the agent's ring, -1: none */
	int ring_unit;
	struct uk_jail jail;	   /* the kernel's jail (jail.c) */
	struct uk_guest_cgroup cg; /* its cgroup (cgroup.c) */
	/* >0: the console client fell behind; the bytes of drop_msg still to send it */
	size_t dropping;
	struct uk_guest_starter starter; /* makes the kernel's process (starter.c) */
	struct uk_guest_privsep ps;	 /* the helper that stays root (privsep.c), or none */
	/* the kernel's CPUs: chosen for each boot, or once, as root, before a separated
	 * supervisor drops (auto's choice reads the other guests' root-owned records) */
	cpu_set_t cpus;
	bool pin;
	bool cpus_kept;
};

static void report(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct sup *s, const char *fmt, ...)
{
	char buf[700];
	va_list ap;
	int n;

	if (s->sv->report_fd < 0 || s->reported)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		uk_write_all(s->sv->report_fd, buf, UK_MIN((size_t)n, sizeof(buf) - 1));
}

static void finish_report(struct sup *s)
{
	if (s->sv->report_fd >= 0) {
		close(s->sv->report_fd);
		s->sv->report_fd = -1;
	}
	s->reported = true;
}

/* The status file: by the helper when this supervisor is no longer root. */
static void save(struct sup *s)
{
	if (s->ps.chan >= 0)
		uk_guest_privsep_status(&s->ps, s->st);
	else
		uk_guest_status_write(s->sv->paths, s->st, NULL);
}

int uk_guest_take_lock(const struct uk_guest_paths *p, int *fd, struct uk_err *err)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	*fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return uk_err_sys(err, errno, "%s", p->lock);
	if (fcntl(*fd, F_SETLK, &fl) == 0)
		return 0;
	close(*fd);
	*fd = -1;
	return uk_err_set(err, EBUSY, "guest '%s' is already running (supervisor pid %d)",
			  p->dir + (strrchr(p->dir, '/') ? strrchr(p->dir, '/') - p->dir + 1 : 0),
			  (int)uk_guest_supervisor_alive(p));
}

static int listen_unix(const char *path, int type, struct uk_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return uk_err_set(err, ENAMETOOLONG, "%s: socket path too long", path);
	strcpy(a.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return uk_err_sys(err, errno, "socket");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(path, 0600) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4) < 0)) {
		int e = errno;

		close(fd);
		return uk_err_sys(err, e, "%s", path);
	}
	return fd;
}

/* A kernel without its jail keeps the environment, LD_PRELOAD first the xstate shim. */
static void set_preload(const char *preload)
{
	const char *old = getenv("LD_PRELOAD");
	char both[2 * PATH_MAX + 2];

	if (!preload[0])
		return;
	snprintf(both, sizeof(both), "%s%s%s", preload, old && *old ? ":" : "",
		 old && *old ? old : "");
	setenv("LD_PRELOAD", both, 1);
}

/* In the child: wire the console, keep --net fd:N descriptors, exec the kernel. */
/* cpus: the CPUs the kernel and the helpers it makes run on (NULL: left as they are) */
static void exec_kernel(struct sup *s, int console_end, char **argv, const cpu_set_t *cpus)
{
	const struct uk_guest_spec *spec = s->sv->spec;
	int r;

	if (!s->sv->foreground) {
		setpgid(0, 0);
		if (dup2(console_end, 0) < 0 || dup2(console_end, 1) < 0 ||
		    dup2(console_end, 2) < 0)
			_exit(127);
	}
	/* a kernel that runs as --user or jailed gets none of our descriptors but its console
	 * (and its agent's and fd: links, below) */
	if ((spec->uid >= 0 || s->jail.on) && close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		_exit(127);
	if (s->agent_end >= 0)
		fcntl(s->agent_end, F_SETFD, 0);
	if (s->modules_fd >= 0)
		fcntl(s->modules_fd, F_SETFD, 0);
	for (int i = 0; i < spec->nnets; i++) {
		if (spec->nets[i].kind == UK_NET_FD) {
			int fd = atoi(spec->nets[i].target);
			int fl = fcntl(fd, F_GETFD);

			if (fl >= 0)
				fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
		}
	}
	if (cpus && sched_setaffinity(0, sizeof(*cpus), cpus) < 0) {
		fprintf(stderr, "umlkit: cannot place the kernel on its CPUs: %s\n",
			strerror(errno));
		_exit(127);
	}
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	uk_guest_kernel_personality();
	if (s->cg.ndirs) { /* before the jail: its cgroup namespace is rooted there */
		struct uk_err e = {0};

		if (uk_guest_cgroup_join(&s->cg, &e) < 0) {
			fprintf(stderr, "umlkit: guest '%s': %s\n", spec->name, e.msg);
			_exit(127);
		}
	}
	if (s->jail.on) {
		struct uk_err e = {0};

		if (uk_jail_enter(&s->jail, spec, s->sv->paths, s->preload, &e) < 0) {
			fprintf(stderr, "umlkit: guest '%s': %s\n", spec->name, e.msg);
			_exit(127);
		}
	} else {
		set_preload(s->preload);
		r = spec->uid >= 0 ? uk_guest_drop_privileges(spec) : 0;
		if (r < 0) {
			fprintf(stderr, "umlkit: cannot run the kernel as uid %ld gid %ld: %s\n",
				spec->uid, spec->gid, strerror(-r));
			_exit(127);
		}
	}
	/* after the drop: a change of credentials clears the parent-death signal (and a
	 * supervisor that died before it was set is seen here) */
	if (!s->sv->foreground &&
	    (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || uk_jail_orphaned(&s->jail) ||
	     (!s->jail.on && getppid() != s->st->supervisor_pid)))
		_exit(127);
	execv(argv[0], argv);
	fprintf(stderr, "umlkit: cannot run the kernel %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* How the kernel is wired; its agent's end is agent_end. */
static struct uk_guest_wiring wiring(const struct sup *s, int agent_end)
{
	return (struct uk_guest_wiring){.uml_dir = s->sv->paths->uml_dir,
					.notify_sock = s->sv->paths->notify,
					.console_stdio = true,
					.agent_ring =
						s->ring_fd >= 0 ? s->sv->paths->agent_ring : NULL,
					.agent_ring_unit = s->ring_unit,
					.agent = agent_end >= 0,
					.agent_fd = agent_end};
}

/*
 * In the kernel's process of a --user guest (not jailed: the jail binds the image in), still
 * root: open the modules image, which lives in the cache of the user who runs umlkit, out of
 * the guest's user's reach, and name it to the kernel as /proc/self/fd/N (the image itself is
 * 0444: the kernel's open of that link, as the guest's user, succeeds).
 */
static void open_modules(struct sup *s, struct uk_guest_wiring *w, int console_end)
{
	const struct uk_guest_spec *spec = s->sv->spec;

	if (spec->uid < 0 || s->jail.on || !spec->modules[0])
		return;
	s->modules_fd = open(spec->modules, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (s->modules_fd < 0) {
		dprintf(console_end >= 0 ? console_end : 2, /* the console log tells it */
			"umlkit: guest '%s': the modules image %s: %s\n", spec->name, spec->modules,
			strerror(errno));
		_exit(127);
	}
	snprintf(s->modules_path, sizeof(s->modules_path), "/proc/self/fd/%d", s->modules_fd);
	w->modules = s->modules_path;
}

/* The kernel's process (uk_guest_kernel_fn): its argv for these ends, then exec_kernel. */
static void kernel_child(void *ctx, int console_end, int agent_end, const cpu_set_t *cpus)
{
	struct sup *s = ctx;
	struct uk_guest_wiring w = wiring(s, agent_end);
	sigset_t none;
	char **argv;

	open_modules(s, &w, console_end);
	if (uk_guest_argv(s->sv->spec, &w, &argv, NULL) < 0)
		_exit(127);
	s->agent_end = agent_end;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	exec_kernel(s, console_end, argv, cpus);
}

static int spawn(struct sup *s, struct uk_err *err)
{
	struct uk_guest_wiring w;
	char **argv;
	int sv[2] = {-1, -1}, ag[2] = {-1, -1};
	pid_t pid;
	int r;

	r = uk_guest_own_uml_dir(s->sv->paths, s->sv->spec, err);
	if (r == 0 && !s->cpus_kept)
		r = uk_guest_cpu_choose(s->sv->spec, &s->cpus, &s->pin, err);
	if (r == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ag) < 0)
		r = uk_err_sys(err, errno, "socketpair");
	w = wiring(s, r == 0 ? ag[1] : -1);
	if (r == 0) /* checked here, where a failure can be told; made again in the child */
		r = uk_guest_argv(s->sv->spec, &w, &argv, err);
	if (r < 0) {
		if (ag[0] >= 0) {
			close(ag[0]);
			close(ag[1]);
		}
		return r;
	}
	free(argv);
	if (!s->sv->foreground && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		close(ag[0]);
		close(ag[1]);
		return uk_err_sys(err, errno, "socketpair");
	}
	s->cg.oom_base = uk_guest_cgroup_oom_kills(&s->cg);
	s->st->oom_killed = false;
	pid = uk_guest_starter_start(&s->starter, sv[1], ag[1], s->pin ? &s->cpus : NULL, err);
	r = pid < 0 ? (int)pid : 0;
	if (sv[1] >= 0)
		close(sv[1]);
	close(ag[1]);
	if (r < 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		close(ag[0]);
		return r;
	}
	uk_agent_relay_attach(s->relay, ag[0]);
	if (!s->sv->foreground)
		setpgid(pid, pid); /* also here: no race with a stop right after the fork */
	s->console = sv[0];
	if (s->console >= 0)
		fcntl(s->console, F_SETFL, O_NONBLOCK);
	s->st->kernel_pid = pid;
	s->st->state = UK_GUEST_BOOTING;
	s->st->started = (int64_t)time(NULL);
	s->st->ready = 0;
	s->st->exit_status = -1;
	s->st->exit_signal = 0;
	s->st->message[0] = '\0';
	uk_guest_ready_describe(s->sv->ready_mode, s->sv->ready_arg, s->st->waiting_for,
				sizeof(s->st->waiting_for));
	s->booted = false;
	s->probe_at = 0;
	s->reboot_said = -1;
	s->line_len = 0;
	s->booted_at = (int64_t)(uk_monotonic_ns() / 1000000);
	save(s);
	return 0;
}

static void mark_ready(struct sup *s)
{
	if (s->st->state != UK_GUEST_BOOTING && s->st->state != UK_GUEST_BOOTED)
		return;
	s->st->state = UK_GUEST_RUNNING;
	s->st->ready = (int64_t)time(NULL);
	s->st->waiting_for[0] = '\0';
	s->booted = true;
	s->probe_at = 0;
	save(s);
	report(s, "ready\n");
	finish_report(s);
}

static void mark_booted(struct sup *s)
{
	s->booted = true;
	s->probe_at = 0;
	if (s->st->state != UK_GUEST_BOOTING)
		return;
	s->st->state = UK_GUEST_BOOTED;
	save(s);
}

/* The guest's mount table through mconsole: has init mounted /proc? */
static void probe_booted(struct sup *s)
{
	struct uk_mc_reply reply;

	s->probe_at = (int64_t)(uk_monotonic_ns() / 1000000) + PROBE_MS;
	if (uk_mc_command(s->sv->paths->mconsole, "proc mounts", PROBE_MS, &reply, NULL) < 0)
		return;
	if (reply.ok && uk_guest_mounts_show_init(reply.text, reply.len))
		mark_booted(s);
	uk_mc_reply_free(&reply);
}

/* A console line is complete (or, for the ready pattern, what there is of it so far). */
static void console_line(struct sup *s, bool complete)
{
	const char *p;
	int rb;

	s->line[s->line_len] = '\0';
	if (s->have_re && regexec(&s->ready_re, s->line, 0, NULL, 0) == 0)
		mark_ready(s);
	if (!complete)
		return;
	p = strstr(s->line, PANIC_TEXT);
	if (p && !s->st->message[0])
		snprintf(s->st->message, sizeof(s->st->message), "%s", p + strlen(PANIC_TEXT));
	if (!s->booted && uk_guest_line_runs_init(s->line))
		mark_booted(s);
	rb = uk_guest_line_reboot(s->line);
	if (rb >= 0)
		s->reboot_said = rb;
}

/* The console, line by line (each cut at 511 bytes; NULs dropped): the panic message, the
 * kernel's words on init and on how it ends, the ready pattern (also on a line still open,
 * as a login prompt is). */
static void scan_console(struct sup *s, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];

		if (c == '\r' || c == '\0')
			continue;
		if (c != '\n') {
			if (s->line_len < sizeof(s->line) - 1)
				s->line[s->line_len++] = c;
			continue;
		}
		console_line(s, true);
		s->line_len = 0;
	}
	if (s->line_len && s->have_re)
		console_line(s, false);
}

/* Why a console client is cut off, sent once its socket has room again. */
static const char drop_msg[] = "\r\n[umlkit: console detached: this client fell behind the "
			       "guest's output (the console log has all of it)]\r\n";

static void close_client(struct sup *s)
{
	if (s->client >= 0)
		close(s->client);
	s->client = -1;
	s->dropping = 0;
}

/*
 * Console output to the attached client, never waiting for it: a client that does not take
 * what its socket holds (suspended, piped into a pager) gets no more output, only drop_msg
 * once it reads again, and is closed then; a new client replaces it at once.
 */
static void to_client(struct sup *s, const char *buf, size_t n)
{
	ssize_t w;

	if (s->client < 0 || s->dropping)
		return;
	do
		w = send(s->client, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)n)
		return;
	if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		close_client(s);
		return;
	}
	s->dropping = sizeof(drop_msg) - 1;
}

/* The dropped client's socket has room: the rest of drop_msg, then close it. */
static void flush_drop(struct sup *s)
{
	const char *rest = drop_msg + (sizeof(drop_msg) - 1 - s->dropping);
	ssize_t w = send(s->client, rest, s->dropping, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (w > 0 && (size_t)w < s->dropping) {
		s->dropping -= (size_t)w;
		return;
	}
	close_client(s);
}

/* One read of the console: the bytes read, 0 when there was nothing (or it ended). */
static ssize_t on_console(struct sup *s)
{
	char buf[16384];
	ssize_t n = read(s->console, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(s->console);
			s->console = -1;
		}
		return 0;
	}
	uk_write_all(s->log_fd, buf, (size_t)n);
	scan_console(s, buf, (size_t)n);
	to_client(s, buf, (size_t)n);
	return n;
}

static void on_notify(struct sup *s)
{
	struct uk_mc_notify n;

	while (uk_mc_notify_recv(s->notify, 0, &n, NULL) == 0) {
		switch (n.type) {
		case UK_MC_NOTIFY_SOCKET:
			if (s->sv->ready_mode == UK_READY_MCONSOLE)
				mark_ready(s);
			else if (!s->booted)
				s->probe_at = (int64_t)(uk_monotonic_ns() / 1000000) + PROBE_MS;
			break;
		case UK_MC_NOTIFY_PANIC:
			snprintf(s->st->message, sizeof(s->st->message), "%.500s", n.data);
			s->st->message[strcspn(s->st->message, "\n")] = '\0';
			save(s);
			break;
		case UK_MC_NOTIFY_USER:
			if (s->sv->ready_mode == UK_READY_NOTIFY)
				mark_ready(s);
			break;
		case UK_MC_NOTIFY_HANG:
			break; /* only uml_watchdog sends it */
		}
	}
}

static void on_listen(struct sup *s)
{
	int c = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	/* the first byte answers: 'Y' attached, or 'N' and the reason (one client at a time;
	 * a client being dropped for falling behind is replaced); a fresh socket has room */
	static const char busy[] = "Nanother client is attached to it\n";

	if (c < 0)
		return;
	if (s->client >= 0 && !s->dropping) {
		send(c, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(c);
		return;
	}
	if (send(c, "Y", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
		close(c);
		return;
	}
	close_client(s);
	s->client = c;
}

static void on_client(struct sup *s)
{
	char buf[4096];
	ssize_t n = read(s->client, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			close_client(s);
		return;
	}
	/* keys for a kernel that does not take them now are lost, not waited on */
	if (s->console >= 0 && !s->dropping)
		uk_write_all(s->console, buf, (size_t)n);
}

/*
 * The supervisor is a child subreaper: the kernel's helper processes that outlive it come
 * to us rather than to the host's init (which may be slow to reap them, or not reap them
 * at all), and they stay in the kernel's process group until reaped. Reap them; leave the
 * kernel's own status, if it is among them, to its handler.
 */
static void reap_orphans(pid_t kernel)
{
	siginfo_t si;

	for (;;) {
		si.si_pid = 0;
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0 ||
		    si.si_pid == kernel)
			return;
		waitpid(si.si_pid, NULL, WNOHANG);
	}
}

/*
 * A reboot inside the guest: start it again, unless --on-reboot=stop, a stop is under way, or
 * it has rebooted UK_REBOOT_BURST times in a row each within UK_REBOOT_QUICK_S of its boot
 * (a reboot loop: it stops, saying so).
 */
static bool reboot_again(struct sup *s)
{
	int64_t up_ms = (int64_t)(uk_monotonic_ns() / 1000000) - s->booted_at;

	if (s->sv->spec->on_reboot == UK_ON_REBOOT_STOP || s->stopping)
		return false;
	s->quick_reboots = up_ms < UK_REBOOT_QUICK_S * 1000LL ? s->quick_reboots + 1 : 0;
	if (s->quick_reboots > UK_REBOOT_BURST) {
		snprintf(s->st->message, sizeof(s->st->message),
			 "a reboot loop: not started again after %d reboots in a row, each "
			 "within %d s of its boot",
			 s->quick_reboots, UK_REBOOT_QUICK_S);
		return false;
	}
	return true;
}

/* The kernel ended: how? Returns true when it should be restarted (*reboot: because the
 * guest rebooted). */
static bool on_exit_status(struct sup *s, int wst, bool *reboot)
{
	struct uk_guest_status *st = s->st;

	*reboot = false;
	/* drain what the console still holds (a supervisor that was busy may find many reads'
	 * worth; the kernel's last words are at the end), 4 MiB at most */
	for (int i = 0; i < 256 && s->console >= 0 && on_console(s) > 0; i++)
		;
	if (s->line_len) /* and its last line, even without a newline */
		console_line(s, true);
	st->exit_status = WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
	st->exit_signal = WIFSIGNALED(wst) ? WTERMSIG(wst) : 0;
	if (st->message[0] && !(WIFEXITED(wst) && WEXITSTATUS(wst) == 0))
		st->state = UK_GUEST_PANICKED;
	else if (WIFEXITED(wst) && WEXITSTATUS(wst) == 0)
		st->state = UK_GUEST_STOPPED;
	else
		st->state = UK_GUEST_EXITED;
	uk_guest_cgroup_ended(&s->cg, wst, st);
	/* the kernel's helpers share its group; a crashed kernel may leave them, and they hold
	 * its disks' locks until they are gone: a restart must not race them (5 s at most) */
	kill(-st->kernel_pid, SIGKILL);
	for (int i = 0; i < 250; i++) {
		reap_orphans(0);
		if (kill(-st->kernel_pid, 0) < 0 && errno == ESRCH)
			break;
		usleep(20000);
	}
	if (st->state != UK_GUEST_STOPPED)
		uk_guest_clean_kernel_dir(s->sv->paths); /* a restart needs our sockets */
	if (st->state == UK_GUEST_STOPPED && s->reboot_said == 1 && reboot_again(s)) {
		/* not saved: between two boots the guest never reads as stopped */
		*reboot = true;
		return true;
	}
	save(s);
	if (!s->reported) {
		if (st->state == UK_GUEST_PANICKED)
			report(s, "failed kernel panic: %s\n", st->message);
		else if (st->state == UK_GUEST_STOPPED)
			report(s, "failed the guest powered off before it was ready\n");
		else if (st->exit_signal)
			report(s, "failed the kernel was killed by signal %d\n", st->exit_signal);
		else
			report(s, "failed the kernel exited with status %d\n", st->exit_status);
	}
	return s->sv->spec->restart == UK_RESTART_ON_FAILURE && st->state != UK_GUEST_STOPPED &&
	       !s->stopping && st->restarts < s->sv->spec->max_restarts && s->reported;
}

static int on_signal(struct sup *s, bool *done, struct uk_err *err)
{
	struct signalfd_siginfo si;
	int wst;

	if (read(s->sig, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	if (si.ssi_signo == SIGUSR1) { /* umlkit stop: what ends the kernel now is no reboot */
		s->stopping = true;
		return 0;
	}
	if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP) {
		if (s->sv->foreground && si.ssi_signo == SIGINT)
			return 0; /* the terminal's ^C belongs to the guest */
		s->stopping = true;
		kill(-s->st->kernel_pid, SIGTERM);
		return 0;
	}
	reap_orphans(s->st->kernel_pid);
	while (waitpid(s->st->kernel_pid, &wst, WNOHANG) == s->st->kernel_pid) {
		bool reboot;

		if (!on_exit_status(s, wst, &reboot)) {
			*done = true;
			return 0;
		}
		s->st->restarts++;
		s->st->reboots += reboot;
		if (s->console >= 0)
			close(s->console);
		s->console = -1;
		return spawn(s, err);
	}
	return 0;
}

/* Before the supervisor ends: its children still there reaped (the jail's init ends as its
 * kernel does, the starter when its channel is closed), 2 s at most. */
static void reap_children(void)
{
	for (int i = 0; i < 100;) {
		pid_t p = waitpid(-1, NULL, WNOHANG);

		if (p < 0 && errno != EINTR)
			return;
		if (p == 0) {
			usleep(20000);
			i++;
		}
	}
}

static int loop(struct sup *s, struct uk_err *err)
{
	bool done = false;

	while (!done) {
		int64_t now = (int64_t)(uk_monotonic_ns() / 1000000);
		int wait_ms = !s->probe_at ? -1 : s->probe_at <= now ? 0 : (int)(s->probe_at - now);
		struct pollfd p[5 + 2 + UK_AGENT_SESSIONS] = {
			{.fd = s->sig, .events = POLLIN},
			{.fd = s->console, .events = POLLIN},
			{.fd = s->notify, .events = POLLIN},
			{.fd = s->listen_fd, .events = POLLIN},
			{.fd = s->client, .events = s->dropping ? POLLOUT : POLLIN},
		};
		int na = uk_agent_relay_pollfds(s->relay, p + 5, 2 + UK_AGENT_SESSIONS);
		int r;

		r = poll(p, (nfds_t)(5 + na), wait_ms);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return uk_err_sys(err, errno, "poll");
		}
		/* the mount table read is due (also while agent or console traffic wakes us) */
		if (s->probe_at &&
		    (r == 0 || (int64_t)(uk_monotonic_ns() / 1000000) >= s->probe_at)) {
			if (!s->booted && s->st->state == UK_GUEST_BOOTING)
				probe_booted(s);
			else
				s->probe_at = 0;
		}
		if (p[1].revents)
			on_console(s);
		if (p[2].revents)
			on_notify(s);
		if (p[3].revents)
			on_listen(s);
		if (p[4].revents && s->client >= 0 && s->dropping)
			flush_drop(s);
		else if (p[4].revents && s->client >= 0)
			on_client(s);
		if (uk_agent_relay_handle(s->relay, p + 5, na) &&
		    s->sv->ready_mode == UK_READY_AGENT)
			mark_ready(s);
		if (p[0].revents) {
			r = on_signal(s, &done, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Its fds closed (their paths go with the teardown, uk_guest_host_teardown). */
static void close_all(struct sup *s)
{
	int *fds[] = {&s->console, &s->log_fd, &s->notify, &s->listen_fd, &s->client, &s->sig};

	for (size_t i = 0; i < UK_ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	uk_agent_relay_free(s->relay);
	s->relay = NULL;
	if (s->ring_fd >= 0) {
		close(s->ring_fd);
		s->ring_fd = -1;
	}
}

/*
 * The agent's ring (umlkit/agent.h): a sparse file of UK_AGENT_RING_SIZE bytes the kernel
 * gets as a read-only disk, the guest's user's for a --user guest. None (and everything goes
 * over the serial line, slower) when no disk unit is free or the path cannot be given to
 * the kernel's ubd= (',' or ':' in it).
 */
static void open_ring(struct sup *s)
{
	const struct uk_guest_spec *spec = s->sv->spec;
	const char *path = s->sv->paths->agent_ring;
	int fd;

	s->ring_unit = uk_guest_agent_ring_unit(spec);
	if (s->ring_unit < 0 || strpbrk(path, ",: "))
		return;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (ftruncate(fd, UK_AGENT_RING_SIZE) < 0 ||
	    (spec->uid >= 0 && fchown(fd, (uid_t)spec->uid, (gid_t)spec->gid) < 0)) {
		close(fd);
		unlink(path);
		return;
	}
	s->ring_fd = fd;
}

/* What uk_guest_hostnet_up made (the firewall policy, taps), written down so that the next
 * command can remove it if this supervisor is killed before it can. */
static void net_record(const struct uk_supervise *sv, const struct uk_guest_hostnet *hn)
{
	char buf[1024];
	size_t n = 0;
	struct uk_newfile nf;

	if (hn->fw)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "fw %s\n", sv->spec->name);
	for (int i = 0; i < sv->spec->nnets && i < (int)UK_ARRAY_SIZE(hn->made); i++) {
		char ifname[16];

		if (!hn->made[i] || n > sizeof(buf) - 32)
			continue;
		uk_guest_net_ifname(sv->spec, i, ifname);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "tap %s\n", ifname);
	}
	if (!n || uk_newfile_open(&nf, sv->paths->net, 0600, NULL) < 0)
		return;
	if (uk_pwrite_all(nf.fd, buf, n, 0) == 0)
		uk_newfile_commit(&nf, true, NULL);
	else
		uk_newfile_abort(&nf);
}

int uk_guest_supervise(struct uk_supervise *sv, struct uk_guest_status *st, struct uk_err *err)
{
	struct sup s = {.sv = sv,
			.st = st,
			.console = -1,
			.log_fd = -1,
			.notify = -1,
			.listen_fd = -1,
			.client = -1,
			.sig = -1,
			.agent_end = -1,
			.modules_fd = -1,
			.ring_fd = -1,
			.ring_unit = -1,
			.jail = {.idmap_fd = -1, .alive = {-1, -1}},
			.cg = {.of = {-1, -1, -1}},
			.ps = {.chan = -1}};
	struct uk_guest_hostnet hn = {0}; /* its taps and firewall, while its kernel runs */
	sigset_t mask;
	int r;

	uk_guest_starter_init(&s.starter, kernel_child, &s);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1); /* see reap_orphans */
	st->supervisor_pid = getpid();
	s.sig = signalfd(-1, &mask, SFD_CLOEXEC);
	s.log_fd = open(sv->paths->console_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (s.sig < 0 || s.log_fd < 0) {
		r = uk_err_sys(err, errno, "%s", sv->paths->console_log);
		goto out;
	}
	st->uid = uk_guest_uid(sv->spec);
	st->gid = uk_guest_gid(sv->spec);
	r = s.notify = uk_mc_notify_open(sv->paths->notify, err);
	if (r >= 0 && sv->spec->uid >= 0 &&
	    lchown(sv->paths->notify, (uid_t)sv->spec->uid, (gid_t)sv->spec->gid) < 0)
		r = uk_err_sys(err, errno, "%s: giving it to uid %ld", sv->paths->notify,
			       sv->spec->uid);
	if (r >= 0 && !sv->foreground)
		r = s.listen_fd = listen_unix(sv->paths->console_sock, SOCK_STREAM, err);
	if (r >= 0) {
		open_ring(&s);
		r = uk_agent_relay_new(&s.relay, sv->spec->name, sv->paths->agent_sock, getuid(),
				       s.ring_fd, err);
	}
	if (r >= 0 && sv->ready_mode == UK_READY_CONSOLE && sv->ready_arg) {
		if (regcomp(&s.ready_re, sv->ready_arg, REG_EXTENDED | REG_NOSUB))
			r = uk_err_set(err, EINVAL, "--ready=console:%s: bad extended regex",
				       sv->ready_arg);
		else
			s.have_re = true;
	}
	if (r >= 0)
		r = uk_guest_preload(s.preload, sizeof(s.preload), err);
	if (r >= 0)
		r = uk_jail_prepare(&s.jail, sv->spec, sv->paths, err);
	st->jail = s.jail.on;
	snprintf(st->jail_missing, sizeof(st->jail_missing), "%s", s.jail.note);
	if (r >= 0 && s.jail.on) {
		st->uid = (long)s.jail.uid;
		st->gid = (long)s.jail.gid;
	}
	if (r >= 0)
		r = uk_guest_cgroup_start(&s.cg, sv->spec, sv->paths, st, err);
	s.starter.clone_flags = uk_jail_clone_flags(&s.jail);
	if (r >= 0)
		r = uk_guest_hostnet_up(sv->spec, &hn, err);
	if (r >= 0)
		net_record(sv, &hn);
	/* set up: a --user guest's supervisor leaves what needs root to its helper, becomes
	 * the user, and goes under its filter, its kernels made by its starter */
	if (r >= 0 && uk_guest_privsep_wanted(sv)) {
		r = uk_guest_cpu_choose(sv->spec, &s.cpus, &s.pin, err); /* as root, once */
		s.cpus_kept = r >= 0;
		if (r >= 0)
			r = uk_guest_privsep_start(&s.ps, sv, st, &s.cg, &hn, err);
	}
	if (r >= 0 && !sv->foreground)
		r = uk_guest_sandbox(&s.starter, sv->spec, s.jail.alive, s.jail.idmap_fd,
				     s.ps.chan >= 0, err);
	if (r >= 0)
		r = spawn(&s, err);
	if (r < 0) {
		report(&s, "failed %s\n", err ? err->msg : "cannot start the kernel");
		goto out;
	}
	report(&s, "started %d\n", (int)st->kernel_pid);
	r = loop(&s, err);
	if (r < 0) { /* a restart that failed, a broken poll: say so in the status */
		snprintf(st->message, sizeof(st->message), "the supervisor failed: %.400s",
			 err && err->msg[0] ? err->msg : strerror(-r));
		save(&s);
	}
out:
	uk_guest_starter_end(&s.starter);
	if (s.ps.chan >= 0)
		uk_guest_privsep_end(&s.ps); /* the helper tears down, and exits */
	reap_children();
	if (!s.ps.pid)
		uk_guest_host_teardown(sv, &s.cg, &hn);
	finish_report(&s);
	close_all(&s);
	uk_jail_free(&s.jail);
	if (s.have_re)
		regfree(&s.ready_re);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	return r < 0 ? r : st->state;
}
