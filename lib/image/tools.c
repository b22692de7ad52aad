// SPDX-License-Identifier: LGPL-2.1-or-later
/* The programs the image build runs: finding them, checking busybox is static, running
 * them without a shell and keeping what they print for the error message. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image-internal.h"
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

int uk_rootfs_find_prog(const char *name, const char *given, bool use_path, const char *const *dirs,
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

int uk_rootfs_check_static(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t eh[64], ph[64];
	uint64_t phoff;
	unsigned phentsize, phnum;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = uk_pread_full(fd, eh, sizeof(eh), 0);
	if (n < 0)
		return (int)n;
	if (n < (ssize_t)sizeof(eh) || memcmp(eh, ELFMAG, SELFMAG) || eh[EI_CLASS] != ELFCLASS64 ||
	    eh[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
#ifdef __x86_64__
	if ((eh[18] | eh[19] << 8) != EM_X86_64)
		return -ENOEXEC;
#endif
	phoff = uk_get_le64(eh + 32);
	phentsize = eh[54] | eh[55] << 8;
	phnum = eh[56] | eh[57] << 8;
	if (phnum == 0 || phentsize < 4 || phentsize > sizeof(ph))
		return -ENOEXEC;
	for (unsigned i = 0; i < phnum; i++) {
		n = uk_pread_full(fd, ph, phentsize, phoff + (uint64_t)i * phentsize);
		if (n < 0)
			return (int)n;
		if (n < (ssize_t)phentsize)
			return -ENOEXEC;
		if (uk_get_le32(ph) == PT_INTERP)
			return -ENOEXEC;
	}
	return 0;
}

/* The first non-empty line of text, for an error message. */
static void first_line(const char *text, char *line, size_t linelen)
{
	size_t len;

	text += strspn(text, "\n");
	len = strcspn(text, "\n");
	snprintf(line, linelen, "%.*s", (int)UK_MIN(len, 300), text);
}

static int spawn(char *const argv[], int pass_fd, int outfd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	_cleanup_close_ int high = -1;
	int r;

	/* Keep the descriptor to pass clear of 0-3 so the dup2 order below cannot clobber it. */
	if (pass_fd >= 0) {
		high = fcntl(pass_fd, F_DUPFD_CLOEXEC, 10);
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
		r = posix_spawn_file_actions_adddup2(&fa, outfd, 2);
	if (!r && high >= 0)
		r = posix_spawn_file_actions_adddup2(&fa, high, 3);
	if (!r)
		r = posix_spawn(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

int uk_rootfs_run(char *const argv[], int pass_fd, char *out, size_t outlen, struct uk_err *err)
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
	r = spawn(argv, pass_fd, p[1], &pid);
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
