// SPDX-License-Identifier: LGPL-2.1-or-later
/* Running other programs (mke2fs, mmdebstrap, apt-get, patchelf): finding them, running
 * them without a shell and keeping what they print for the error message. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlkit/util.h"

extern char **environ;

static bool is_exec_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static int absolute(const char *in, char *path, size_t pathlen)
{
	int n;

	if (in[0] == '/') {
		n = snprintf(path, pathlen, "%s", in);
	} else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		n = snprintf(path, pathlen, "%s/%s", cwd, in);
	}
	return n < 0 || (size_t)n >= pathlen ? -ENAMETOOLONG : 0;
}

static bool in_dir(const char *dir, size_t dirlen, const char *name, char *path, size_t pathlen)
{
	int n;

	if (dirlen == 0 || dir[0] != '/') /* relative PATH entries are not searched */
		return false;
	n = snprintf(path, pathlen, "%.*s/%s", (int)dirlen, dir, name);
	return n > 0 && (size_t)n < pathlen && is_exec_file(path);
}

int uk_find_prog(const char *name, const char *given, bool use_path, const char *const *dirs,
		 char *path, size_t pathlen)
{
	const char *p = getenv("PATH");

	if (given) {
		if (strchr(given, '/'))
			return is_exec_file(given) ? absolute(given, path, pathlen) : -ENOENT;
		name = given;
	}
	if (use_path && p) {
		while (*p) {
			size_t len = strcspn(p, ":");

			if (in_dir(p, len, name, path, pathlen))
				return 0;
			p += len;
			if (*p == ':')
				p++;
		}
	}
	for (; dirs && *dirs; dirs++)
		if (in_dir(*dirs, strlen(*dirs), name, path, pathlen))
			return 0;
	return -ENOENT;
}

/* The first non-empty line of text, for an error message. */
static void first_line(const char *text, char *line, size_t linelen)
{
	size_t len;

	text += strspn(text, "\n");
	len = strcspn(text, "\n");
	snprintf(line, linelen, "%.*s", (int)UK_MIN(len, 300), text);
}

static int spawn_split(const struct uk_cmd *c, int outfd, int errfd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	_cleanup_close_ int high = -1;
	int r;

	/* Keep the descriptor to pass clear of 0-3 so the dup2 order below cannot clobber it. */
	if (c->pass_fd >= 0) {
		high = fcntl(c->pass_fd, F_DUPFD_CLOEXEC, 10);
		if (high < 0)
			return -errno;
	}
	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return -r;
	r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, outfd, 1);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	if (!r && high >= 0)
		r = posix_spawn_file_actions_adddup2(&fa, high, 3);
	if (!r && c->cwd)
		r = posix_spawn_file_actions_addchdir_np(&fa, c->cwd);
	if (!r)
		r = posix_spawn(pid, c->argv[0], &fa, NULL, c->argv, c->env ? c->env : environ);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

int uk_run_capture(char *const argv[], int pass_fd, char *out, size_t outlen, struct uk_err *err)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	_cleanup_close_ int rd = -1;
	int p[2], r, st;
	size_t got = 0;
	char line[320];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return uk_err_sys(err, errno, "%s: pipe", name);
	rd = p[0];
	r = spawn_split(&(struct uk_cmd){.argv = argv, .pass_fd = pass_fd}, p[1], p[1], &pid);
	close(p[1]);
	if (r < 0)
		return uk_err_sys(err, -r, "cannot run %s", argv[0]);
	for (;;) {
		char drop[4096];
		char *dst = got + 1 < outlen ? out + got : drop;
		size_t room = got + 1 < outlen ? outlen - 1 - got : sizeof(drop);
		ssize_t n = read(rd, dst, room);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != drop)
			got += (size_t)n;
	}
	if (outlen)
		out[got] = '\0';
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return uk_err_sys(err, errno, "%s: waitpid", name);
	first_line(outlen ? out : "", line, sizeof(line));
	if (WIFSIGNALED(st))
		return uk_err_set(err, EIO, "%s killed by signal %d%s%s", name, WTERMSIG(st),
				  line[0] ? ": " : "", line);
	if (WEXITSTATUS(st))
		return uk_err_set(err, EIO, "%s failed (exit %d)%s%s", name, WEXITSTATUS(st),
				  line[0] ? ": " : "", line);
	return 0;
}

/* ---- uk_run: stdout and stderr apart ---- */

struct exec_state {
	struct uk_cmd *c;
	size_t got;	 /* bytes in c->out */
	char line[1024]; /* the stderr line being read */
	size_t linelen;
	size_t errused;	   /* bytes in c->errtext */
	char first_e[320]; /* the first "E: " line */
};

static void keep_err_line(struct exec_state *s, const char *l)
{
	struct uk_cmd *c = s->c;
	size_t len = strlen(l), room = sizeof(c->errtext) - 1;

	if (!s->first_e[0] && !strncmp(l, "E: ", 3))
		snprintf(s->first_e, sizeof(s->first_e), "%s", l);
	if (len + 1 > room)
		len = room - 1;
	if (s->errused + len + 1 > room) { /* keep the tail: drop the oldest lines */
		size_t drop = s->errused + len + 1 - room;
		char *nl = memchr(c->errtext + drop, '\n', s->errused - drop);

		drop = nl ? (size_t)(nl + 1 - c->errtext) : s->errused;
		memmove(c->errtext, c->errtext + drop, s->errused - drop);
		s->errused -= drop;
	}
	memcpy(c->errtext + s->errused, l, len);
	s->errused += len;
	c->errtext[s->errused++] = '\n';
	c->errtext[s->errused] = '\0';
	if (c->line)
		c->line(c->ctx, l);
}

static void on_err_bytes(struct exec_state *s, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || s->linelen + 1 >= sizeof(s->line)) {
			s->line[s->linelen] = '\0';
			if (s->linelen)
				keep_err_line(s, s->line);
			s->linelen = 0;
			if (buf[i] == '\n')
				continue;
		}
		s->line[s->linelen++] = buf[i] == '\r' ? ' ' : buf[i];
	}
}

static void on_out_bytes(struct exec_state *s, const char *buf, size_t n)
{
	struct uk_cmd *c = s->c;
	size_t room;

	if (!c->out || !c->outlen)
		return;
	room = c->outlen - 1 - s->got;
	if (n > room) {
		c->out_full = true;
		n = room;
	}
	memcpy(c->out + s->got, buf, n);
	s->got += n;
	c->out[s->got] = '\0';
}

int uk_run(struct uk_cmd *c, struct uk_err *err)
{
	const char *name = strrchr(c->argv[0], '/') ? strrchr(c->argv[0], '/') + 1 : c->argv[0];
	struct exec_state s = {.c = c};
	_cleanup_close_ int ord = -1, erd = -1;
	int po[2], pe[2], r, st;
	const char *why;
	pid_t pid;

	c->out_full = false;
	c->errtext[0] = '\0';
	if (c->out && c->outlen)
		c->out[0] = '\0';
	if (pipe2(po, O_CLOEXEC) < 0)
		return uk_err_sys(err, errno, "%s: pipe", name);
	ord = po[0];
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[1]);
		return uk_err_sys(err, errno, "%s: pipe", name);
	}
	erd = pe[0];
	r = spawn_split(c, po[1], pe[1], &pid);
	close(po[1]);
	close(pe[1]);
	if (r < 0)
		return uk_err_sys(err, -r, "cannot run %s", c->argv[0]);
	for (int open_fds = 2; open_fds > 0;) {
		struct pollfd pfd[2] = {{.fd = ord, .events = POLLIN},
					{.fd = erd, .events = POLLIN}};
		char buf[16384];

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(i ? erd : ord);
				if (i)
					erd = -1;
				else
					ord = -1;
				open_fds--;
				continue;
			}
			if (i)
				on_err_bytes(&s, buf, (size_t)n);
			else
				on_out_bytes(&s, buf, (size_t)n);
		}
	}
	if (s.linelen) {
		s.line[s.linelen] = '\0';
		keep_err_line(&s, s.line);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return uk_err_sys(err, errno, "%s: waitpid", name);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	why = s.first_e;
	if (!why[0]) { /* the last line */
		size_t len = s.errused;
		const char *e;

		while (len && c->errtext[len - 1] == '\n')
			len--;
		e = len ? memrchr(c->errtext, '\n', len) : NULL;
		e = e ? e + 1 : c->errtext;
		snprintf(s.first_e, sizeof(s.first_e), "%.*s", (int)(c->errtext + len - e), e);
	}
	if (WIFSIGNALED(st))
		return uk_err_set(err, EIO, "%s killed by signal %d%s%s", name, WTERMSIG(st),
				  why[0] ? ": " : "", why);
	return uk_err_set(err, EIO, "%s failed (exit %d)%s%s", name, WEXITSTATUS(st),
			  why[0] ? ": " : "", why);
}
