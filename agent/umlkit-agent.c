// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * umlkit-agent: the guest side of `umlkit exec` and `umlkit cp`. A small static program that
 * the image's init starts with no arguments (/usr/sbin/umlkit-agent). It reads
 * `umlkit.agent=DEV` (a UML serial line wired to the guest's supervisor) and
 * `umlkit.agent_ring=DEV` (a read-only disk the host writes large payloads to) from
 * /proc/cmdline, exits 0 at once when there is no umlkit.agent=, else sets the line raw,
 * says HELLO and serves sessions until the line closes. The wire format is umlkit/agent.h.
 *
 * One process, one poll loop; each session is a child process (the command, or for cp a
 * child of this program that packs or unpacks an archive), its streams relayed against the
 * windows of the protocol, so that nothing here grows without bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "umlkit/agent.h"
#include "umlkit/util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct sess {
	bool used;
	uint32_t id;
	pid_t pid; /* 0 once reaped */
	bool tty;
	int in;	      /* the child's stdin (or the pty), -1 closed */
	int out, err; /* its stdout and stderr (the pty for out), -1 closed */
	uint8_t *inbuf;
	size_t in_len;
	bool in_eof;
	uint32_t unacked_in; /* stdin bytes consumed, not yet acknowledged */
	uint32_t credit;     /* stdout + stderr bytes we may still send */
	int status, sig;
	bool closing; /* the client is gone: send nothing more */
};

static int chan = -1, ring = -1, sigfd = -1;
static struct sess sessions[UK_AGENT_SESSIONS];
static uint8_t *obuf;	 /* one outgoing frame */
static uint8_t *ringbuf; /* O_DIRECT reads: aligned */

static void die(const char *what)
{
	fprintf(stderr, "umlkit-agent: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void send_frame(uint8_t type, uint32_t id, const void *p, size_t len)
{
	uint8_t hdr[UK_AGENT_HDR];

	uk_agent_frame_header(hdr, type, id, (uint32_t)len);
	if (uk_write_all(chan, hdr, sizeof(hdr)) < 0 || (len && uk_write_all(chan, p, len) < 0))
		exit(0); /* the host is gone */
}

static void send_u32(uint8_t type, uint32_t id, uint32_t v)
{
	uint8_t f[UK_AGENT_HDR + 4];

	if (uk_write_all(chan, f, uk_agent_frame_u32(f, type, id, v)) < 0)
		exit(0);
}

static void send_error(uint32_t id, int code, const char *msg)
{
	uint8_t p[4 + UK_AGENT_TEXT_MAX];
	size_t n = strlen(msg) < UK_AGENT_TEXT_MAX ? strlen(msg) : UK_AGENT_TEXT_MAX;

	p[0] = (uint8_t)(code >> 24);
	p[1] = (uint8_t)(code >> 16);
	p[2] = (uint8_t)(code >> 8);
	p[3] = (uint8_t)code;
	memcpy(p + 4, msg, n);
	send_frame(UK_AGENT_ERROR, id, p, 4 + n);
}

static struct sess *find(uint32_t id)
{
	for (int i = 0; i < UK_AGENT_SESSIONS; i++)
		if (sessions[i].used && sessions[i].id == id)
			return &sessions[i];
	return NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void end_session(struct sess *s)
{
	close_fd(&s->in);
	close_fd(&s->out);
	close_fd(&s->err);
	free(s->inbuf);
	memset(s, 0, sizeof(*s));
	s->in = s->out = s->err = -1;
}

/* ---- builtins: the cp ends, run in a child with the session's pipes ---- */

static void warn_stderr(const char *msg)
{
	fprintf(stderr, "%s\n", msg);
}

static int builtin(const struct uk_agent_exec *x)
{
	struct uk_err err = {0};
	int r = 0;

	if (!strcmp(x->argv[0], "cp-send") && x->argc >= 3) {
		bool rec = !strcmp(x->argv[1], "-r");

		for (int i = 2; i < x->argc && r == 0; i++) {
			char path[PATH_MAX];
			const char *base;
			size_t n;

			snprintf(path, sizeof(path), "%s", x->argv[i]);
			n = strlen(path);
			while (n > 1 && path[n - 1] == '/')
				path[--n] = '\0';
			base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
			r = uk_agent_pack(1, path, base, rec, warn_stderr, &err);
		}
		if (r == 0)
			r = uk_agent_pack_end(1, &err);
	} else if (!strcmp(x->argv[0], "cp-recv") && x->argc == 3) {
		struct uk_agent_dest d;
		int nsrc = atoi(x->argv[2]), dfd;

		r = uk_agent_dest_resolve(x->argv[1], nsrc, &d, &err);
		if (r == 0) {
			dfd = open(d.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			r = dfd < 0 ? uk_err_sys(&err, errno, "%s", d.dir)
				    : uk_agent_unpack(0, dfd, d.into_dir ? NULL : d.top, false,
						      &err);
		}
	} else {
		r = uk_err_set(&err, EINVAL, "%s: not a builtin of this agent", x->argv[0]);
	}
	if (r < 0)
		fprintf(stderr, "%s\n", err.msg);
	fflush(stderr);
	return r < 0 ? 1 : 0;
}

/* ---- starting a session ---- */

/* A builtin (cp-send, cp-recv) in a child: fork, since it runs this program's code. */
static pid_t spawn_builtin(const struct uk_agent_exec *x, int in, int out, int errfd)
{
	sigset_t none;
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0 || chdir("/") < 0)
		_exit(127);
	/* nothing of the agent's (its channel, other sessions' pipes) stays open */
	close_range(3, ~0U, 0);
	_exit(builtin(x));
}

/*
 * A command: posix_spawnp, which clones without copying the agent's address space (a fork
 * in UML copies it: 12 -> 3 ms), in a session of its own, in /, with nothing of the
 * agent's open. 0 with *pid, or the errno of the exec.
 */
static int spawn_cmd(const struct uk_agent_exec *x, int in, int out, int errfd, const char *pts,
		     pid_t *pid)
{
	char *envp[UK_AGENT_ENVC_MAX + 4];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	bool has_path = false, has_home = false;
	int n = 0, r;

	for (int i = 0; i < x->envc; i++) {
		envp[n++] = (char *)x->envp[i];
		has_path |= !strncmp(x->envp[i], "PATH=", 5);
		has_home |= !strncmp(x->envp[i], "HOME=", 5);
	}
	if (!has_path)
		envp[n++] = DEFAULT_PATH;
	if (!has_home)
		envp[n++] = "HOME=/root";
	envp[n] = NULL;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGCHLD);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawn_file_actions_init(&fa);
	if (pts) { /* opened after setsid, without O_NOCTTY: it becomes the terminal */
		posix_spawn_file_actions_addopen(&fa, 0, pts, O_RDWR, 0);
		posix_spawn_file_actions_adddup2(&fa, 0, 1);
		posix_spawn_file_actions_adddup2(&fa, 0, 2);
	} else {
		posix_spawn_file_actions_adddup2(&fa, in, 0);
		posix_spawn_file_actions_adddup2(&fa, out, 1);
		posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	}
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	r = posix_spawnp(pid, x->argv[0], &fa, &at, (char *const *)x->argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return r;
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void start(uint32_t id, const uint8_t *payload, size_t len)
{
	struct uk_agent_exec *x = malloc(sizeof(*x));
	struct uk_err err = {0};
	struct sess *s = NULL;
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	int master = -1, e = 0;
	char pts[64] = "", msg[UK_AGENT_TEXT_MAX];
	pid_t pid = -1;

	if (!x || find(id) || uk_agent_exec_decode(payload, len, x, &err) < 0) {
		send_error(id, EINVAL, x && !find(id) ? err.msg : "bad session");
		free(x);
		return;
	}
	for (int i = 0; i < UK_AGENT_SESSIONS && !s; i++)
		if (!sessions[i].used)
			s = &sessions[i];
	if (!s) {
		send_error(id, EAGAIN, "too many sessions at once");
		free(x);
		return;
	}
	if (x->flags & UK_AGENT_EXEC_TTY) {
		struct winsize ws = {.ws_row = x->rows, .ws_col = x->cols};

		master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
		    ptsname_r(master, pts, sizeof(pts)) != 0)
			e = errno ? errno : EIO;
		else if (ws.ws_row && ws.ws_col)
			ioctl(master, TIOCSWINSZ, &ws);
	} else {
		if (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0)
			e = errno;
		if (!e && (x->flags & UK_AGENT_EXEC_STDIN) && pipe2(pin, O_CLOEXEC) < 0)
			e = errno;
		if (!e && !(x->flags & UK_AGENT_EXEC_STDIN) &&
		    (pin[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			e = errno;
	}
	if (!e && (x->flags & UK_AGENT_EXEC_STDIN))
		s->inbuf = malloc(UK_AGENT_WINDOW);
	if (!e && (x->flags & UK_AGENT_EXEC_STDIN) && !s->inbuf)
		e = ENOMEM;
	if (!e && (x->flags & UK_AGENT_EXEC_BUILTIN)) {
		pid = spawn_builtin(x, pin[0], pout[1], perr[1]);
		e = pid < 0 ? errno : 0;
	} else if (!e) {
		e = spawn_cmd(x, pin[0], pout[1], perr[1], pts[0] ? pts : NULL, &pid);
	}
	close_fd(&pin[0]);
	close_fd(&pout[1]);
	close_fd(&perr[1]);
	if (e) {
		snprintf(msg, sizeof(msg), "%s: %s", x->argv[0], strerror(e));
		close_fd(&pin[1]);
		close_fd(&pout[0]);
		close_fd(&perr[0]);
		close_fd(&master);
		free(s->inbuf);
		s->inbuf = NULL;
		send_error(id, e, msg);
		free(x);
		return;
	}
	s->used = true;
	s->id = id;
	s->pid = pid;
	s->tty = master >= 0;
	s->in = s->tty ? (x->flags & UK_AGENT_EXEC_STDIN ? fcntl(master, F_DUPFD_CLOEXEC, 3) : -1)
		       : pin[1];
	s->out = s->tty ? master : pout[0];
	s->err = perr[0];
	s->credit = UK_AGENT_WINDOW;
	s->status = -1;
	/* large pipes: fewer switches between the command and the agent, which cost much in
	 * UML (1 MiB: 77 -> %s MiB/s) */
	if (!s->tty) {
		int fds[3] = {s->in, s->out, s->err};

		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				fcntl(fds[i], F_SETPIPE_SZ, 1 << 20);
	}
	if (s->in >= 0)
		nonblock(s->in);
	nonblock(s->out);
	if (s->err >= 0)
		nonblock(s->err);
	free(x);
	send_u32(UK_AGENT_STARTED, id, (uint32_t)pid);
}

/* ---- the session's streams ---- */

static void ack_in(struct sess *s, bool force)
{
	if (s->unacked_in && (force || s->unacked_in >= UK_AGENT_WINDOW / 4 || !s->in_len)) {
		send_u32(UK_AGENT_ACK, s->id, s->unacked_in);
		s->unacked_in = 0;
	}
}

static void feed(struct sess *s)
{
	while (s->in >= 0 && s->in_len) {
		ssize_t n = write(s->in, s->inbuf, s->in_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) { /* the command closed its stdin: what is left is dropped */
			n = (ssize_t)s->in_len;
			close_fd(&s->in);
		}
		memmove(s->inbuf, s->inbuf + n, s->in_len - (size_t)n);
		s->in_len -= (size_t)n;
		s->unacked_in += (uint32_t)n;
	}
	if (s->in < 0) {
		s->unacked_in += (uint32_t)s->in_len;
		s->in_len = 0;
	}
	if (s->in >= 0 && !s->in_len && s->in_eof) {
		if (s->tty) {
			static const char eot = 4;

			if (write(s->in, &eot, 1) < 0)
				errno = 0;
		}
		close_fd(&s->in);
	}
	ack_in(s, false);
}

static void on_stdin(struct sess *s, const uint8_t *p, size_t len)
{
	if (s->closing)
		return;
	if (!len) {
		s->in_eof = true;
	} else if (!s->inbuf || s->in_eof || len > UK_AGENT_WINDOW - s->in_len) {
		kill(-s->pid, SIGKILL); /* the host broke the window: end it */
		send_error(s->id, EPROTO, "stdin beyond the window");
		s->closing = true;
		return;
	} else {
		memcpy(s->inbuf + s->in_len, p, len);
		s->in_len += len;
	}
	feed(s);
}

static void pump(struct sess *s, int *fd, uint8_t type)
{
	size_t want = UK_MIN(s->credit, UK_AGENT_PAYLOAD_MAX);
	ssize_t n;

	if (*fd < 0 || !want)
		return;
	n = read(*fd, obuf + UK_AGENT_HDR, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* EOF, or EIO: the pty's last holder is gone */
		close_fd(fd);
		if (s->tty && fd == &s->out)
			close_fd(&s->in);
		if (!s->closing)
			send_frame(type, s->id, NULL, 0);
		return;
	}
	s->credit -= (uint32_t)n;
	if (!s->closing) {
		uk_agent_frame_header(obuf, type, s->id, (uint32_t)n);
		if (uk_write_all(chan, obuf, UK_AGENT_HDR + (size_t)n) < 0)
			exit(0);
	}
}

static void maybe_finish(struct sess *s)
{
	uint8_t p[8];

	if (!s->used || s->pid || s->out >= 0 || s->err >= 0)
		return;
	if (!s->closing) {
		for (int i = 0; i < 4; i++) {
			p[i] = (uint8_t)((uint32_t)s->status >> (24 - 8 * i));
			p[4 + i] = (uint8_t)((uint32_t)s->sig >> (24 - 8 * i));
		}
		send_frame(UK_AGENT_EXIT, s->id, p, sizeof(p));
	}
	end_session(s);
}

static void reap(void)
{
	struct signalfd_siginfo si;
	int wst;
	pid_t pid;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si))
		;
	while ((pid = waitpid(-1, &wst, WNOHANG)) > 0) {
		for (int i = 0; i < UK_AGENT_SESSIONS; i++) {
			struct sess *s = &sessions[i];

			if (!s->used || s->pid != pid)
				continue;
			s->pid = 0;
			s->status = WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
			s->sig = WIFSIGNALED(wst) ? WTERMSIG(wst) : 0;
			if (s->closing) {
				close_fd(&s->out);
				close_fd(&s->err);
			}
			maybe_finish(s);
		}
	}
}

/* ---- frames from the host ---- */

static void dispatch(uint8_t type, uint32_t id, const uint8_t *p, size_t len)
{
	struct sess *s = type == UK_AGENT_EXEC ? NULL : find(id);
	struct uk_agent_frame f = {.type = type, .session = id, .len = (uint32_t)len, .payload = p};
	uint32_t v;
	uint16_t rows, cols;

	switch (type) {
	case UK_AGENT_EXEC:
		start(id, p, len);
		break;
	case UK_AGENT_STDIN:
		if (s)
			on_stdin(s, p, len);
		break;
	case UK_AGENT_ACK:
		if (s && uk_agent_u32_decode(&f, &v, NULL) == 0)
			s->credit = (uint32_t)UK_MIN((uint64_t)s->credit + v, UK_AGENT_WINDOW);
		break;
	case UK_AGENT_WINSIZE:
		if (s && s->tty && s->out >= 0 &&
		    uk_agent_winsize_decode(&f, &rows, &cols, NULL) == 0) {
			struct winsize ws = {.ws_row = rows, .ws_col = cols};

			ioctl(s->out, TIOCSWINSZ, &ws);
		}
		break;
	case UK_AGENT_CLOSE:
		if (!s)
			break;
		s->closing = true;
		if (s->pid)
			kill(-s->pid, SIGKILL);
		close_fd(&s->in);
		close_fd(&s->out);
		close_fd(&s->err);
		maybe_finish(s);
		break;
	}
}

/*
 * Ring chunks the host wrote one after another are read with one O_DIRECT read: each read
 * is a round trip through the kernel's ubd thread, and in a guest on a loaded 2-CPU host
 * 25 reads of the 4 MiB ring took 0.42-0.98 s in 128 KiB reads, 0.25-0.28 s in 1 MiB ones.
 * The chunks wait here until a frame that is not a contiguous ring chunk, a full batch or
 * the end of what the line gave, so they are still handled in the order they came.
 */
#define RING_BATCH (1024u * 1024)
static struct {
	uint8_t type;
	uint32_t id, off, len;
} pend[RING_BATCH / UK_AGENT_RING_ALIGN];
static unsigned npend;

static uint32_t round_up(uint32_t v, uint32_t to)
{
	return (v + to - 1) & ~(to - 1);
}

static void ring_flush(void)
{
	uint32_t first, len;
	bool ok;

	if (!npend)
		return;
	first = pend[0].off;
	len = pend[npend - 1].off + round_up(pend[npend - 1].len, 512) - first;
	ok = uk_pread_full(ring, ringbuf, len, first) == (ssize_t)len;
	for (unsigned i = 0; ok && i < npend; i++)
		dispatch(pend[i].type, pend[i].id, ringbuf + (pend[i].off - first), pend[i].len);
	send_u32(UK_AGENT_RING_FREE, 0, npend);
	npend = 0;
}

static void on_ring(const struct uk_agent_frame *f)
{
	struct uk_agent_ring r;

	if (ring < 0 || uk_agent_ring_decode(f, &r, NULL) < 0)
		return;
	if (npend) {
		uint32_t next =
			pend[npend - 1].off + round_up(pend[npend - 1].len, UK_AGENT_RING_ALIGN);
		bool fits = r.off + round_up(r.len, 512) - pend[0].off <= RING_BATCH;

		if (npend == UK_ARRAY_SIZE(pend) || r.off != next || !fits)
			ring_flush();
	}
	pend[npend].type = r.type;
	pend[npend].id = f->session;
	pend[npend].off = r.off;
	pend[npend].len = r.len;
	npend++;
}

/*
 * What was read from the line is acknowledged (LINE_ACK) once a quarter of the line's window
 * has come, so the supervisor never has more than UK_AGENT_LINE_WINDOW bytes in the tty:
 * a full tty is throttled, and a throttled UML line is never read again (umlkit/agent.h).
 */
static void line_read(ssize_t n)
{
	static uint32_t unacked;

	unacked += (uint32_t)n;
	if (unacked >= UK_AGENT_LINE_WINDOW / 4) {
		send_u32(UK_AGENT_LINE_ACK, 0, unacked);
		unacked = 0;
	}
}

static void on_chan(struct uk_agent_rbuf *rb)
{
	struct uk_agent_frame f;
	size_t room;
	uint8_t *at = uk_agent_rbuf_space(rb, &room);
	ssize_t n = read(chan, at, room);
	int r;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0)
		exit(0); /* the channel closed: the host is gone */
	uk_agent_rbuf_fill(rb, (size_t)n);
	line_read(n);
	while ((r = uk_agent_rbuf_next(rb, &f, NULL)) > 0) {
		if (f.type == UK_AGENT_RING) {
			on_ring(&f);
		} else {
			ring_flush();
			dispatch(f.type, f.session, f.payload, f.len);
		}
	}
	ring_flush();
	if (r < 0)
		rb->used = rb->start = 0; /* lost sync: drop what is buffered */
}

/* ---- setup ---- */

/* The value of umlkit.NAME= on the kernel command line, or "". */
static void param(const char *cmdline, const char *name, char *out, size_t outlen)
{
	char key[64];
	const char *p = cmdline;

	snprintf(key, sizeof(key), "umlkit.%s=", name);
	out[0] = '\0';
	while ((p = strstr(p, key))) {
		if (p == cmdline || p[-1] == ' ') {
			size_t n = strcspn(p + strlen(key), " \n");

			snprintf(out, outlen, "%.*s", (int)n, p + strlen(key));
		}
		p += strlen(key);
	}
}

static void setup(const char *dev, const char *ringdev)
{
	struct termios t;
	sigset_t mask;
	uint8_t hello[8 + 64];
	int n;

	chan = open(dev, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (chan < 0)
		die(dev);
	if (tcgetattr(chan, &t) == 0) {
		cfmakeraw(&t);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(chan, TCSANOW, &t) < 0)
			die("tcsetattr");
	}
	tcflush(chan, TCIOFLUSH);
	if (ringdev[0]) {
		ring = open(ringdev, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (ring < 0)
			fprintf(stderr, "umlkit-agent: %s: %s (large input is slower)\n", ringdev,
				strerror(errno));
	}
	if (posix_memalign((void **)&ringbuf, 4096, RING_BATCH + 4096) ||
	    !(obuf = malloc(UK_AGENT_FRAME_MAX)))
		die("memory");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	setenv("PATH", &DEFAULT_PATH[5], 1); /* where posix_spawnp looks */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0)
		die("signalfd");
	for (int i = 0; i < UK_AGENT_SESSIONS; i++)
		sessions[i].in = sessions[i].out = sessions[i].err = -1;
	memset(hello, 0, 8);
	hello[3] = UK_AGENT_PROTO;
	hello[7] = (uint8_t)(UK_AGENT_HELLO_LINE_ACK | (ring >= 0 ? UK_AGENT_HELLO_RING : 0));
	n = snprintf((char *)hello + 8, 64, "umlkit-agent %s", UK_VERSION);
	send_frame(UK_AGENT_HELLO, 0, hello, 8 + (size_t)UK_MIN(n, 63));
}

int main(int argc, char **argv)
{
	char cmdline[4096] = "", dev[256], ringdev[256];
	struct uk_agent_rbuf rb;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, cmdline, sizeof(cmdline) - 1);

	if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "--help"))) {
		printf("umlkit-agent %s: the guest agent of umlkit exec and umlkit cp; run by "
		       "init, it reads umlkit.agent=DEV from /proc/cmdline\n",
		       UK_VERSION);
		return 0;
	}
	if (fd >= 0)
		close(fd);
	cmdline[n > 0 ? n : 0] = '\0';
	param(cmdline, "agent", dev, sizeof(dev));
	param(cmdline, "agent_ring", ringdev, sizeof(ringdev));
	if (!dev[0] || dev[0] != '/')
		return 0; /* no channel: nothing to serve */
	setup(dev, ringdev);
	if (uk_agent_rbuf_init(&rb) < 0)
		die("memory");
	for (;;) {
		struct pollfd p[2 + 3 * UK_AGENT_SESSIONS];
		struct sess *who[2 + 3 * UK_AGENT_SESSIONS];
		int np = 2;

		p[0] = (struct pollfd){.fd = chan, .events = POLLIN};
		p[1] = (struct pollfd){.fd = sigfd, .events = POLLIN};
		for (int i = 0; i < UK_AGENT_SESSIONS; i++) {
			struct sess *s = &sessions[i];

			if (!s->used)
				continue;
			if (s->in >= 0 && s->in_len) {
				who[np] = s;
				p[np++] = (struct pollfd){.fd = s->in, .events = POLLOUT};
			}
			if (s->out >= 0 && s->credit) {
				who[np] = s;
				p[np++] = (struct pollfd){.fd = s->out, .events = POLLIN};
			}
			if (s->err >= 0 && s->credit) {
				who[np] = s;
				p[np++] = (struct pollfd){.fd = s->err, .events = POLLIN};
			}
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = 2; i < np; i++) {
			struct sess *s = who[i];

			if (!p[i].revents || !s->used)
				continue;
			if (p[i].fd == s->in && (p[i].events & POLLOUT))
				feed(s);
			else if (p[i].fd == s->out)
				pump(s, &s->out, UK_AGENT_STDOUT);
			else if (p[i].fd == s->err)
				pump(s, &s->err, UK_AGENT_STDERR);
			maybe_finish(s);
		}
		if (p[0].revents)
			on_chan(&rb);
		if (p[1].revents)
			reap();
	}
}
