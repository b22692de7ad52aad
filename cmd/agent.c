// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit exec and umlkit cp: a command in a guest, files in and out, through its agent. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "umlkit/agent.h"
#include "umlkit/guest.h"
#include "umlkit/util.h"
#include "cmd.h"

#define EXEC_FAILED   125 /* umlkit could not run the command: no guest, no agent, lost */
#define EXEC_CANNOT   126 /* the command cannot be executed */
#define EXEC_NOTFOUND 127
#define ANSWER_S      30 /* how long an agent has to answer (a busy host slows a guest) */

static const char exec_usage[] =
	"Usage: umlkit exec NAME [-i] [-t] [--timeout S] [--] CMD [ARGS...]\n"
	"\n"
	"Run CMD in guest NAME through its agent (umlkit-agent, in images made by umlkit image\n"
	"build), as root, in /, with the guest's PATH. Its stdout and stderr stay apart.\n"
	"  -i, --interactive    forward this stdin to CMD (its end too); else CMD reads\n"
	"                       /dev/null\n"
	"  -t, --tty            a pseudo-terminal in the guest (stdout and stderr on it); with\n"
	"                       -i and a terminal here, this one is raw and its size follows\n"
	"  --timeout S          how long the agent has to answer (default 30 s)\n"
	"Exit status: CMD's own, 128+N when a signal N ended it; 125 when umlkit could not run\n"
	"it (the guest is not running, no agent answered, the guest stopped), 126 CMD cannot\n"
	"be executed, 127 CMD not found, 2 usage error.\n";

static const char cp_usage[] =
	"Usage: umlkit cp [-r] SRC... DEST\n"
	"\n"
	"Copy files into or out of a guest through its agent: exactly one side names a guest,\n"
	"as NAME:PATH (a local path with a ':' in its first component: write ./a:b).\n"
	"DEST an existing directory: the sources go inside it; else the one source becomes\n"
	"DEST, whose directory must exist. Modes are kept (out of a guest: without setuid,\n"
	"setgid and sticky bits); files are written beside their name and renamed into place.\n"
	"  -r, --recursive      copy directories and what they hold (symlinks as symlinks)\n"
	"  --timeout S          how long the agent has to answer (default 30 s)\n"
	"Exit status: 0 copied, 1 failure (nothing is written for a missing destination\n"
	"directory), 2 usage error.\n";

static int answer_s(const char *cmd, const char *v, int *out)
{
	uint64_t t;

	if (uk_parse_u64(v, &t) < 0 || t == 0 || t > 3600)
		return uk_usage_error(cmd, "--timeout %s: seconds from 1 to 3600", v);
	*out = (int)t;
	return 0;
}

static int run_in(const char *name, uint32_t flags, char *const *argv, char *const *envp,
		  const struct uk_agent_io *io, int timeout_s, struct uk_agent_result *res,
		  struct uk_err *err)
{
	int sock, r = uk_guest_agent_connect(name, &sock, err);

	if (r < 0)
		return r;
	return uk_agent_run(sock, name, flags, argv, envp, io, timeout_s, res, err);
}

/* ---- exec ---- */

static int exec_status(const char *name, const struct uk_agent_result *res)
{
	if (res->error) {
		uk_say("guest '%s': %s", name, res->msg);
		switch (res->error) {
		case ENOENT:
			return EXEC_NOTFOUND;
		case EACCES:
		case ENOEXEC:
		case EPERM:
		case EISDIR:
		case ENOTDIR:
		case ELOOP:
		case ETXTBSY:
			return EXEC_CANNOT;
		}
		return EXEC_FAILED;
	}
	return res->signal ? 128 + res->signal : res->status;
}

int uk_cmd_exec(int argc, char **argv)
{
	const char *name = NULL;
	bool in = false, tty = false;
	int timeout_s = ANSWER_S, i, r, winch = -1;
	struct uk_agent_io io = {
		.in = -1, .out = STDOUT_FILENO, .err = STDERR_FILENO, .winch_fd = -1, .tty_fd = -1};
	struct uk_agent_result res;
	struct uk_err err = {0};
	struct termios saved;
	bool raw = false;
	char term[128], *envp[2] = {NULL, NULL};
	uint32_t flags = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (uk_is_help(a, false)) {
			fputs(exec_usage, stdout);
			return UK_EXIT_OK;
		}
		if (!strcmp(a, "--interactive")) {
			in = true;
		} else if (!strcmp(a, "--tty")) {
			tty = true;
		} else if (!strcmp(a, "--timeout") || !strncmp(a, "--timeout=", 10)) {
			const char *v = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);

			if (!v)
				return uk_usage_error("umlkit exec", "--timeout needs seconds");
			r = answer_s("umlkit exec", v, &timeout_s);
			if (r)
				return r;
		} else if (a[0] == '-' && a[1] && a[1] != '-' &&
			   strspn(a + 1, "it") == strlen(a + 1)) {
			in |= strchr(a, 'i') != NULL;
			tty |= strchr(a, 't') != NULL;
		} else if (a[0] == '-') {
			return uk_usage_error("umlkit exec", "unknown option '%s'", a);
		} else if (!name) {
			name = a;
		} else {
			break; /* the command */
		}
	}
	if (!name)
		return uk_usage_error("umlkit exec", "exec needs NAME and a command");
	if (i >= argc)
		return uk_usage_error("umlkit exec", "exec needs a command to run in '%s'", name);
	if (uk_guest_name_check(name, &err) < 0)
		return uk_usage_error("umlkit exec", "%s", err.msg);
	signal(SIGPIPE, SIG_IGN);
	if (in) {
		flags |= UK_AGENT_EXEC_STDIN;
		io.in = STDIN_FILENO;
	}
	if (tty) {
		sigset_t m;

		flags |= UK_AGENT_EXEC_TTY;
		snprintf(term, sizeof(term), "TERM=%s", getenv("TERM") ? getenv("TERM") : "xterm");
		envp[0] = term;
		io.tty_fd = isatty(STDIN_FILENO)    ? STDIN_FILENO
			    : isatty(STDOUT_FILENO) ? STDOUT_FILENO
						    : -1;
		if (io.tty_fd >= 0) {
			sigemptyset(&m);
			sigaddset(&m, SIGWINCH);
			sigprocmask(SIG_BLOCK, &m, NULL);
			winch = io.winch_fd = signalfd(-1, &m, SFD_CLOEXEC | SFD_NONBLOCK);
		}
		if (in && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
			struct termios t = saved;

			cfmakeraw(&t);
			raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
		}
	}
	r = run_in(name, flags, argv + i, envp, &io, timeout_s, &res, &err);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (winch >= 0)
		close(winch);
	if (r < 0) {
		uk_fail(&err);
		return EXEC_FAILED;
	}
	return exec_status(name, &res);
}

/* ---- cp ---- */

/* NAME:PATH: a guest's path (name and path set), else a local one. */
static bool guest_operand(const char *arg, char *name, size_t namelen, const char **path)
{
	const char *colon = strchr(arg, ':');
	const char *slash = strchr(arg, '/');
	size_t n;

	if (!colon || (slash && slash < colon))
		return false;
	n = (size_t)(colon - arg);
	if (n == 0 || n >= namelen)
		return false;
	memcpy(name, arg, n);
	name[n] = '\0';
	if (uk_guest_name_check(name, NULL) < 0)
		return false;
	*path = colon + 1;
	return true;
}

/* A child of this process that runs fn; its stderr messages are read back through msg_fd. */
struct helper {
	pid_t pid;
	int msg_fd;
};

static void warn_stderr(const char *msg)
{
	uk_say("%s", msg);
}

struct pack_args {
	char **srcs;
	int nsrc;
	bool recursive;
};

static int do_pack(int fd, void *ctx, struct uk_err *err)
{
	const struct pack_args *a = ctx;
	int r = 0;

	for (int i = 0; i < a->nsrc && r == 0; i++) {
		char path[PATH_MAX];
		size_t n;
		const char *base;

		snprintf(path, sizeof(path), "%s", a->srcs[i]);
		n = strlen(path);
		while (n > 1 && path[n - 1] == '/')
			path[--n] = '\0';
		base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		r = uk_agent_pack(fd, path, base, a->recursive, warn_stderr, err);
	}
	return r < 0 ? r : uk_agent_pack_end(fd, err);
}

struct unpack_args {
	int dirfd;
	const char *top;
};

static int do_unpack(int fd, void *ctx, struct uk_err *err)
{
	const struct unpack_args *a = ctx;

	return uk_agent_unpack(fd, a->dirfd, a->top, true, err);
}

/* Start fn(fd) in a child, fd being one end of a pipe; *mine: the other end. */
static int helper_start(struct helper *h, bool child_writes, int *mine,
			int (*fn)(int fd, void *ctx, struct uk_err *err), void *ctx,
			struct uk_err *err)
{
	int p[2], m[2];

	if (pipe2(p, O_CLOEXEC) < 0 || pipe2(m, O_CLOEXEC) < 0)
		return uk_err_sys(err, errno, "pipe");
	h->pid = fork();
	if (h->pid < 0)
		return uk_err_sys(err, errno, "fork");
	if (h->pid == 0) {
		struct uk_err e = {0};
		int fd = child_writes ? p[1] : p[0];

		close(child_writes ? p[0] : p[1]);
		close(m[0]);
		if (fn(fd, ctx, &e) < 0) {
			if (uk_write_all(m[1], e.msg, strlen(e.msg)) < 0)
				_exit(2);
			_exit(1);
		}
		_exit(0);
	}
	close(child_writes ? p[1] : p[0]);
	close(m[1]);
	*mine = child_writes ? p[0] : p[1];
	h->msg_fd = m[0];
	return 0;
}

/* Wait for the helper: 0, or 1 with its message in msg. */
static int helper_end(struct helper *h, char *msg, size_t len)
{
	ssize_t n = read(h->msg_fd, msg, len - 1);
	int st;

	msg[n > 0 ? n : 0] = '\0';
	close(h->msg_fd);
	while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* Local sources: each exists, and is a directory only with -r. */
static int check_sources(char **srcs, int n, bool recursive)
{
	for (int i = 0; i < n; i++) {
		struct stat st;

		if (stat(srcs[i], &st) < 0) {
			uk_say("%s: %s", srcs[i], strerror(errno));
			return UK_EXIT_FAIL;
		}
		if (S_ISDIR(st.st_mode) && !recursive) {
			uk_say("%s: is a directory (use -r)", srcs[i]);
			return UK_EXIT_FAIL;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			uk_say("%s: not a regular file or directory", srcs[i]);
			return UK_EXIT_FAIL;
		}
	}
	return 0;
}

static int cp_result(const char *name, int r, const struct uk_err *err, struct uk_agent_result *res,
		     int local, const char *msg)
{
	char *save = NULL;
	int lines = 0;

	if (r < 0)
		return uk_fail(err);
	if (res->error) {
		uk_say("guest '%s': %s", name, res->msg);
		return UK_EXIT_FAIL;
	}
	/* what the guest's side says (why it failed, what it skipped), made printable */
	for (char *l = strtok_r(res->errtext, "\n", &save); l && lines < 20;
	     l = strtok_r(NULL, "\n", &save), lines++) {
		for (char *c = l; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		uk_say("guest '%s': %s", name, l);
	}
	if (res->status != 0) {
		if (!lines)
			uk_say("guest '%s': the copy failed (exit %d)", name, res->status);
		return UK_EXIT_FAIL;
	}
	if (local) {
		uk_say("%s", msg[0] ? msg : "the copy failed");
		return UK_EXIT_FAIL;
	}
	return UK_EXIT_OK;
}

static int cp_in(const char *name, const char *dest, char **srcs, int nsrc, bool recursive,
		 int timeout_s)
{
	struct pack_args pa = {.srcs = srcs, .nsrc = nsrc, .recursive = recursive};
	struct uk_agent_io io = {.out = -1, .err = UK_AGENT_COLLECT, .winch_fd = -1, .tty_fd = -1};
	struct uk_agent_result res;
	struct uk_err err = {0};
	struct helper h;
	char nbuf[16], msg[UK_ERR_MSG_MAX];
	char *argv[] = {"cp-recv", (char *)dest, nbuf, NULL};
	int sock, r, local;

	r = check_sources(srcs, nsrc, recursive);
	if (r)
		return r;
	snprintf(nbuf, sizeof(nbuf), "%d", nsrc);
	r = uk_guest_agent_connect(name, &sock, &err);
	if (r < 0)
		return uk_fail(&err);
	r = helper_start(&h, true, &io.in, do_pack, &pa, &err);
	if (r < 0) {
		close(sock);
		return uk_fail(&err);
	}
	r = uk_agent_run(sock, name, UK_AGENT_EXEC_BUILTIN | UK_AGENT_EXEC_STDIN, argv, NULL, &io,
			 timeout_s, &res, &err);
	close(io.in); /* a packer still writing ends (EPIPE) */
	local = helper_end(&h, msg, sizeof(msg));
	/* the packer's complaint matters only when the guest took everything */
	return cp_result(name, r, &err, &res, r == 0 && !res.error && !res.status && local, msg);
}

static int cp_out(const char *name, char **paths, int nsrc, const char *dest, bool recursive,
		  int timeout_s)
{
	struct uk_agent_io io = {.in = -1, .err = UK_AGENT_COLLECT, .winch_fd = -1, .tty_fd = -1};
	struct uk_agent_result res;
	struct uk_agent_dest d;
	struct unpack_args ua;
	struct uk_err err = {0};
	struct helper h;
	char msg[UK_ERR_MSG_MAX];
	char **argv = calloc((size_t)nsrc + 3, sizeof(char *));
	int sock, r, local;

	if (!argv)
		return UK_EXIT_FAIL;
	argv[0] = "cp-send";
	argv[1] = recursive ? "-r" : "-";
	for (int i = 0; i < nsrc; i++)
		argv[2 + i] = paths[i];
	r = uk_agent_dest_resolve(dest, nsrc, &d, &err);
	if (r == 0) {
		ua.dirfd = open(d.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ua.top = d.into_dir ? NULL : d.top;
		if (ua.dirfd < 0)
			r = uk_err_sys(&err, errno, "%s", d.dir);
	}
	if (r == 0)
		r = uk_guest_agent_connect(name, &sock, &err);
	if (r == 0 && (r = helper_start(&h, false, &io.out, do_unpack, &ua, &err)) < 0)
		close(sock);
	if (r < 0) {
		free(argv);
		return uk_fail(&err);
	}
	close(ua.dirfd);
	r = uk_agent_run(sock, name, UK_AGENT_EXEC_BUILTIN, argv, NULL, &io, timeout_s, &res, &err);
	close(io.out);
	local = helper_end(&h, msg, sizeof(msg));
	free(argv);
	return cp_result(name, r, &err, &res, r == 0 && !res.error && !res.status && local, msg);
}

int uk_cmd_cp(int argc, char **argv)
{
	bool recursive = false;
	int timeout_s = ANSWER_S, nops = 0, r;
	char **ops = calloc((size_t)argc, sizeof(char *));
	char name[UK_GUEST_NAME_MAX + 1], other[UK_GUEST_NAME_MAX + 1];
	const char *path;
	bool only = false;

	if (!ops)
		return UK_EXIT_FAIL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (only || a[0] != '-' || !a[1]) {
			ops[nops++] = argv[i];
		} else if (!strcmp(a, "--")) {
			only = true;
		} else if (uk_is_help(a, false)) {
			fputs(cp_usage, stdout);
			free(ops);
			return UK_EXIT_OK;
		} else if (!strcmp(a, "-r") || !strcmp(a, "-R") || !strcmp(a, "--recursive")) {
			recursive = true;
		} else if (!strcmp(a, "--timeout") || !strncmp(a, "--timeout=", 10)) {
			const char *v = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);

			r = v ? answer_s("umlkit cp", v, &timeout_s)
			      : uk_usage_error("umlkit cp", "--timeout needs seconds");
			if (r) {
				free(ops);
				return r;
			}
		} else {
			free(ops);
			return uk_usage_error("umlkit cp", "unknown option '%s'", a);
		}
	}
	r = UK_EXIT_USAGE;
	signal(SIGPIPE, SIG_IGN);
	if (nops < 2) {
		r = uk_usage_error("umlkit cp", "cp needs SRC... DEST");
	} else if (guest_operand(ops[nops - 1], name, sizeof(name), &path)) {
		for (int i = 0; i < nops - 1; i++)
			if (guest_operand(ops[i], other, sizeof(other), &path))
				goto both;
		guest_operand(ops[nops - 1], name, sizeof(name), &path);
		if (!path[0])
			path = "/root";
		r = cp_in(name, path, ops, nops - 1, recursive, timeout_s);
	} else {
		for (int i = 0; i < nops - 1; i++) {
			if (!guest_operand(ops[i], i ? other : name, sizeof(name), &path)) {
				r = uk_usage_error("umlkit cp",
						   "one side must be a guest's NAME:PATH "
						   "('%s' is local)",
						   ops[i]);
				goto out;
			}
			if (i && strcmp(name, other)) {
				r = uk_usage_error("umlkit cp",
						   "the sources name two guests: '%s' "
						   "and '%s'",
						   name, other);
				goto out;
			}
			if (!path[0]) {
				r = uk_usage_error("umlkit cp", "'%s': no path in the guest",
						   ops[i]);
				goto out;
			}
			ops[i] = (char *)path;
		}
		r = cp_out(name, ops, nops - 1, ops[nops - 1], recursive, timeout_s);
	}
	goto out;
both:
	r = uk_usage_error("umlkit cp", "only one side may name a guest");
out:
	free(ops);
	return r;
}
