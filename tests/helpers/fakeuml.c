// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fakeuml: a stand-in for the UML kernel that a test gives `umlkit start --kernel`, or a
 * bare fake mconsole server. It shows what a hostile or broken guest can do to the host
 * tools (a console that floods or carries escape sequences, an mconsole that never answers
 * or never ends its reply, a kernel that ignores SIGTERM) without booting anything.
 *
 *   fakeuml serve SOCKET MODE      only the mconsole server, at SOCKET
 *   fakeuml ARGS...                 as a kernel: reads umid=, uml_dir=, mconsole=notify:
 *
 * MODE (and $FAKEUML_MCONSOLE for the kernel; default answer):
 *   answer   every request answered OK with $FAKEUML_REPLY (default "fake"); as a kernel,
 *            "sysrq s" prints "Emergency Sync complete" on the console, "cad" and "halt"
 *            print "reboot: Power down" and exit 0, "say TEXT" prints TEXT and a newline,
 *            "flood" prints $FAKEUML_FLOOD numbered lines, then "fakeuml: flood done",
 *            "die N" exits with status N
 *   silent   requests are read and never answered
 *   more     each request is answered with empty "more" packets until its sender is gone
 * As a kernel it also reads:
 *   FAKEUML_TERM=ignore      SIGTERM is ignored
 *   FAKEUML_CONSOLE=FILE     FILE's bytes are written to the console once up
 *   FAKEUML_FLOOD=N          the lines "flood" prints (default 10000)
 * and each of them (FAKEUML_MCONSOLE and FAKEUML_REPLY too) from its command line, as a
 * jailed kernel gets no environment: fakeuml.term=ignore, fakeuml.flood=N,
 * fakeuml.mconsole=MODE, fakeuml.reply=TEXT, and fakeuml.console=HEX (the bytes, in hex).
 * The kernel sends the "mconsole up" notification once its socket is bound (so
 * --ready=mconsole works), writes its console, then serves mconsole until it exits.
 *
 * Exit: 0 halted, 1 error, 2 usage.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "umlkit/mconsole.h"
#include "umlkit/util.h"

enum mode { ANSWER, SILENT, MORE };

static int parse_mode(const char *s, enum mode *m)
{
	if (!s || !strcmp(s, "answer"))
		*m = ANSWER;
	else if (!strcmp(s, "silent"))
		*m = SILENT;
	else if (!strcmp(s, "more"))
		*m = MORE;
	else
		return -1;
	return 0;
}

static int set_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "fakeuml: %s: socket path too long\n", path);
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

static int bind_dgram(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (set_addr(&sa, path) < 0)
		return -1;
	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "fakeuml: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
}

static void console(const char *text)
{
	if (uk_write_all(STDOUT_FILENO, text, strlen(text)) < 0)
		exit(1);
}

static void reply(int fd, const struct sockaddr_un *to, socklen_t tolen, bool more,
		  const char *text)
{
	uint8_t buf[UK_MC_REPLY_MAX];
	int n = uk_mc_reply_encode(0, more, text, strlen(text), buf, sizeof(buf), NULL);

	if (n > 0)
		sendto(fd, buf, (size_t)n, 0, (const struct sockaddr *)to, tolen);
}

/* Empty "more" packets to the sender until it is gone. */
static void endless(int fd, const struct sockaddr_un *to, socklen_t tolen)
{
	uint8_t buf[UK_MC_REPLY_MAX];
	int n = uk_mc_reply_encode(0, true, "", 0, buf, sizeof(buf), NULL);

	while (n > 0 && sendto(fd, buf, (size_t)n, 0, (const struct sockaddr *)to, tolen) == n)
		;
}

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
/* A sanitizer build's fake kernel in its jail, where there is no /proc: the sanitizers' notes
 * (they cannot read /proc/self/exe) go to the jail's private /tmp, not to the console a test
 * reads; no leak check at exit (it needs /proc); an error still aborts. */
const char *__asan_default_options(void)
{
	return access("/proc/self/exe", F_OK) == 0
		       ? ""
		       : "detect_leaks=0:abort_on_error=1:log_path=/tmp/fakeuml-asan";
}
const char *__ubsan_default_options(void)
{
	return access("/proc/self/exe", F_OK) == 0 ? ""
						   : "abort_on_error=1:log_path=/tmp/fakeuml-ubsan";
}
#endif

static int k_argc; /* the kernel's command line, for setting() */
static char **k_argv;

/* The value of KEY=... among the kernel's arguments, or NULL. */
static const char *arg_of(int argc, char **argv, const char *key)
{
	size_t k = strlen(key);

	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], key, k))
			return argv[i] + k;
	return NULL;
}

/* A setting: fakeuml.NAME= on the command line, else $FAKEUML_NAME. */
static const char *setting(const char *name)
{
	char key[64], env[64];
	const char *v;

	snprintf(key, sizeof(key), "fakeuml.%s=", name);
	v = arg_of(k_argc, k_argv, key);
	if (v)
		return v;
	snprintf(env, sizeof(env), "FAKEUML_%s", name);
	for (char *c = env; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	return getenv(env);
}

/* fakeuml.console=HEX's bytes, written to the console. */
static void write_hex(const char *hex)
{
	for (; isxdigit((unsigned char)hex[0]) && isxdigit((unsigned char)hex[1]); hex += 2) {
		char b = (char)strtol((char[]){hex[0], hex[1], '\0'}, NULL, 16);

		if (uk_write_all(STDOUT_FILENO, &b, 1) < 0)
			exit(1);
	}
}

static void write_console(void)
{
	const char *hex = arg_of(k_argc, k_argv, "fakeuml.console=");
	const char *file = getenv("FAKEUML_CONSOLE");
	FILE *f = file && !hex ? fopen(file, "re") : NULL;
	char buf[128];
	size_t n;

	if (hex)
		write_hex(hex);
	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (uk_write_all(STDOUT_FILENO, buf, n) < 0)
			exit(1);
	if (f)
		fclose(f);
}

static void flood(void)
{
	const char *lines = setting("flood");
	char line[128];

	for (long i = 0, max = lines ? atol(lines) : 10000; i < max; i++) {
		snprintf(line, sizeof(line),
			 "fakeuml: console line %ld of a flood, to fill any buffer there is "
			 "between us and a reader\n",
			 i);
		console(line);
	}
	console("fakeuml: flood done\n");
}

/* The kernel's side of a request it answers: what it says on its console, whether it ends. */
static void act(const char *cmd, bool kernel)
{
	if (!kernel)
		return;
	if (!strncmp(cmd, "say ", 4)) {
		console(cmd + 4);
		console("\n");
	}
	if (!strcmp(cmd, "flood"))
		flood();
	if (!strncmp(cmd, "die ", 4))
		exit(atoi(cmd + 4));
	if (!strncmp(cmd, "sysrq s", 7))
		console("sysrq: Emergency Sync complete\n");
	if (!strncmp(cmd, "cad", 3) || !strncmp(cmd, "halt", 4)) {
		console("reboot: Power down\n");
		exit(0);
	}
}

static int serve(int fd, enum mode m, bool kernel)
{
	const char *text = setting("reply") ? setting("reply") : "fake";

	for (;;) {
		uint8_t buf[UK_MC_REQUEST_MAX + 1];
		struct uk_mc_request req;
		struct sockaddr_un from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		if (uk_mc_request_decode(buf, (size_t)n, &req, NULL) < 0)
			continue;
		if (m == SILENT)
			continue;
		if (m == MORE) {
			endless(fd, &from, fromlen);
			continue;
		}
		reply(fd, &from, fromlen, false, text);
		act(req.data, kernel);
	}
}

static void notify_up(const char *notify, const char *sock)
{
	struct sockaddr_un sa;
	uint8_t buf[UK_MC_NOTIFY_MAX];
	int fd, n;

	if (!notify || set_addr(&sa, notify) < 0)
		return;
	n = uk_mc_notify_encode(UK_MC_NOTIFY_SOCKET, sock, strlen(sock) + 1, buf, sizeof(buf),
				NULL);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n > 0 && fd >= 0)
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&sa, sizeof(sa));
	if (fd >= 0)
		close(fd);
}

static int kernel(int argc, char **argv)
{
	const char *umid = arg_of(argc, argv, "umid="), *dir = arg_of(argc, argv, "uml_dir=");
	char path[PATH_MAX];
	enum mode m;
	int fd;

	if (!umid || !dir || parse_mode(setting("mconsole"), &m) < 0) {
		fprintf(stderr, "fakeuml: needs umid= and uml_dir= (and a known mode)\n");
		return 2;
	}
	if (setting("term") && !strcmp(setting("term"), "ignore"))
		signal(SIGTERM, SIG_IGN);
	snprintf(path, sizeof(path), "%s/%s", dir, umid);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return 1;
	snprintf(path, sizeof(path), "%s/%s/mconsole", dir, umid);
	fd = bind_dgram(path);
	if (fd < 0)
		return 1;
	notify_up(arg_of(argc, argv, "mconsole=notify:"), path);
	write_console();
	return serve(fd, m, true);
}

int main(int argc, char **argv)
{
	enum mode m;
	int fd;

	k_argc = argc;
	k_argv = argv;
	if (argc >= 2 && !strcmp(argv[1], "serve")) {
		if (argc != 4 || parse_mode(argv[3], &m) < 0) {
			fprintf(stderr, "usage: fakeuml serve SOCKET answer|silent|more\n");
			return 2;
		}
		fd = bind_dgram(argv[2]);
		return fd < 0 ? 1 : serve(fd, m, false);
	}
	return kernel(argc, argv);
}
