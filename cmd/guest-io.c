// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit logs and umlkit console: a guest's console, recorded and live. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "umlkit/guest.h"
#include "umlkit/util.h"
#include "cmd.h"

#define DETACH_KEY 0x1d /* Ctrl-] */
#define CHUNK	   16384

/* Where a guest's console text goes: stdout, its control characters escaped unless raw. */
struct out {
	bool raw;
	struct uk_esc esc;
};

/* buf[0..n) to stdout; 0 or -errno. */
static int emit(struct out *o, const char *buf, size_t n)
{
	char shown[UK_ESC_OUT(CHUNK)];

	if (o->raw)
		return uk_write_all(STDOUT_FILENO, buf, n);
	for (size_t i = 0; i < n; i += CHUNK) {
		size_t len = uk_esc_chunk(&o->esc, buf + i, UK_MIN((size_t)CHUNK, n - i), shown);
		int r = uk_write_all(STDOUT_FILENO, shown, len);

		if (r < 0)
			return r;
	}
	return 0;
}

/* What the last chunk left held (a lone 0xC2 at the very end). */
static void emit_end(struct out *o)
{
	char rest[4];
	size_t n = o->raw ? 0 : uk_esc_end(&o->esc, rest);

	if (n)
		uk_write_all(STDOUT_FILENO, rest, n);
}

/* Copy what fd holds from *off to stdout; returns bytes copied or -errno. */
static ssize_t drain(int fd, off_t *off, struct out *o)
{
	char buf[65536];
	ssize_t total = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), *off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : total;
		if (emit(o, buf, (size_t)n) < 0)
			return -EPIPE;
		*off += n;
		total += n;
	}
}

int uk_cmd_guest_logs(int argc, char **argv)
{
	struct uk_guest_status st;
	struct uk_err err = {0};
	struct out o = {.raw = false};
	bool follow = false;
	const char *name = NULL;
	off_t off = 0;
	int fd;

	if (uk_is_help(argv[1], false)) {
		fputs(uk_guest_usage, stdout);
		return UK_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--follow"))
			follow = true;
		else if (!strcmp(argv[i], "--raw"))
			o.raw = true;
		else if (argv[i][0] == '-')
			return uk_usage_error("umlkit logs", "unknown option '%s'", argv[i]);
		else if (!name)
			name = argv[i];
		else
			return uk_usage_error("umlkit logs", "unexpected argument '%s'", argv[i]);
	}
	if (!name)
		return uk_usage_error("umlkit logs", "logs needs NAME");
	if (uk_guest_status(name, &st, &err) < 0)
		return uk_fail(&err);
	fd = open(st.console_log, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		uk_err_sys(&err, errno, "%s", st.console_log);
		return uk_fail(&err);
	}
	for (;;) {
		ssize_t n = drain(fd, &off, &o);

		if (n < 0 || !follow)
			break;
		if (n == 0) {
			if (!uk_guest_is_alive(name) && drain(fd, &off, &o) == 0)
				break;
			usleep(200000);
		}
	}
	emit_end(&o);
	close(fd);
	return UK_EXIT_OK;
}

/* Relay between the terminal and the console until detach or the guest ends. */
static void relay(int sock, struct out *o)
{
	char buf[4096];

	for (;;) {
		struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
				      {.fd = sock, .events = POLLIN}};
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[1].revents) {
			n = read(sock, buf, sizeof(buf));
			if (n <= 0 || emit(o, buf, (size_t)n) < 0)
				return;
		}
		if (p[0].revents) {
			char *k;

			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0)
				return;
			k = memchr(buf, DETACH_KEY, (size_t)n);
			if (k)
				n = k - buf;
			if (n > 0 && uk_write_all(sock, buf, (size_t)n) < 0)
				return;
			if (k)
				return;
		}
	}
}

int uk_cmd_guest_console(int argc, char **argv)
{
	struct uk_err err = {0};
	struct termios tio, raw;
	/* a terminal session is what was asked for; anything else gets the text escaped */
	struct out o = {.raw = isatty(STDOUT_FILENO)};
	bool tty;
	int sock;

	if (uk_is_help(argv[1], false)) {
		fputs(uk_guest_usage, stdout);
		return UK_EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-')
		return uk_usage_error("umlkit console", "console needs NAME");
	if (uk_guest_console_connect(argv[1], &sock, &err) < 0)
		return uk_fail(&err);
	tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &tio) == 0;
	if (tty) {
		raw = tio;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fprintf(stderr, "Connected to the console of '%s'; detach with Ctrl-]\r\n",
			argv[1]);
	}
	relay(sock, &o);
	emit_end(&o);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &tio);
		fprintf(stderr, "\nDetached from '%s'.\n", argv[1]);
	}
	close(sock);
	return UK_EXIT_OK;
}
