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

/* Copy what fd holds from *off to stdout; returns bytes copied or -errno. */
static ssize_t drain(int fd, off_t *off)
{
	char buf[65536];
	ssize_t total = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), *off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : total;
		if (uk_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			return -EPIPE;
		*off += n;
		total += n;
	}
}

int uk_cmd_guest_logs(int argc, char **argv)
{
	struct uk_guest_status st;
	struct uk_err err = {0};
	bool follow = false;
	const char *name = NULL;
	off_t off = 0;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--follow"))
			follow = true;
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
		ssize_t n = drain(fd, &off);

		if (n < 0 || !follow)
			break;
		if (n == 0) {
			if (!uk_guest_is_alive(name) && drain(fd, &off) == 0)
				break;
			usleep(200000);
		}
	}
	close(fd);
	return UK_EXIT_OK;
}

/* Relay between the terminal and the console until detach or the guest ends. */
static void relay(int sock)
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
			if (n <= 0 || uk_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
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
	bool tty;
	int sock;

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
	relay(sock);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &tio);
		fprintf(stderr, "\nDetached from '%s'.\n", argv[1]);
	}
	close(sock);
	return UK_EXIT_OK;
}
