// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit mconsole, and the old uml_mconsole by its name: output, exit status, local commands. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "umlkit/mconsole.h"
#include "umlkit/util.h"

#define DEFAULT_TIMEOUT_MS 30000 /* for a whole reply */

static const char mconsole_usage[] =
	"Usage: umlkit mconsole [--uml-dir DIR] [--timeout SEC] NAME|SOCKET [COMMAND...]\n"
	"\n"
	"Send COMMAND to a guest's management console and print the reply; without\n"
	"COMMAND, read commands from standard input, one a line ('quit' ends).\n"
	"NAME is an umlkit guest, then a umid under ~/.uml or /tmp/uml, then a socket path.\n"
	"\n"
	"  --uml-dir DIR   the socket is DIR/NAME/mconsole (the kernel's uml_dir=)\n"
	"  --timeout SEC   wait at most SEC seconds for the whole reply (default 30,\n"
	"                  0: no limit)\n"
	"\n"
	"Commands of the 6.1 kernel: version, help, halt, reboot, config, remove, sysrq,\n"
	"cad, stop, go, log, proc, stack (umlkit mconsole NAME help).\n"
	"Exit status: 0 the guest said OK, 1 it reported an error or could not be reached,\n"
	"2 usage error.\n";

static const char local_help[] =
	"Additional local mconsole commands:\n"
	"    quit - Quit mconsole\n"
	"    switch <socket-name> - Switch control to the given machine\n"
	"    log -f <filename> - use contents of <filename> as UML log messages\n"
	"    mconsole-version - version of this mconsole program\n"
	"    int  - Interrupt UML session\n";

/* The session: the socket and how it was named. */
struct mc {
	bool compat; /* uml_mconsole's output */
	int timeout_ms;
	char name[PATH_MAX]; /* for the prompt and messages */
	char sock[PATH_MAX]; /* empty: none found */
};

/* argv joined with spaces, trailing white space removed (heap). */
static char *join_args(int argc, char **argv)
{
	size_t len = 1, n;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static void warn_stderr(void *ctx, const char *msg)
{
	fprintf(stderr, "%s\n", msg);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* umlkit mconsole: an umlkit guest, then the old lookup (quietly), then a path. */
static int find_umlkit(struct mc *m, const char *name, const char *uml_dir)
{
	int n;

	snprintf(m->name, sizeof(m->name), "%s", name);
	if (uml_dir) {
		n = snprintf(m->sock, sizeof(m->sock), "%s/%s/mconsole", uml_dir, name);
		if (n < 0 || (size_t)n >= sizeof(m->sock) || !exists(m->sock)) {
			uk_say("%s/%s/mconsole: no such socket", uml_dir, name);
			return -ENOENT;
		}
		return 0;
	}
	if (uk_mc_guest_socket(name, m->sock, sizeof(m->sock)) == 0 && exists(m->sock))
		return 0;
	if (uk_mc_find_socket(name, m->sock, sizeof(m->sock), NULL, NULL) == 0)
		return 0;
	m->sock[0] = '\0';
	uk_say("%s: no such guest, umid or mconsole socket", name);
	return -ENOENT;
}

/* uml_mconsole: the old lookup with its warnings; on a miss the socket stays unset. */
static int find_compat(struct mc *m, const char *name)
{
	char sock[PATH_MAX];

	if (uk_mc_find_socket(name, sock, sizeof(sock), warn_stderr, NULL) < 0)
		return -ENOENT;
	snprintf(m->sock, sizeof(m->sock), "%s", sock);
	snprintf(m->name, sizeof(m->name), "%s", name);
	return 0;
}

/* The reply's text with its control characters escaped (heap), or NULL without memory. */
static char *shown(const struct uk_mc_reply *reply)
{
	struct uk_esc st = {0};
	char *out = malloc(UK_ESC_OUT(reply->len) + 1);
	size_t n;

	if (!out)
		return NULL;
	n = uk_esc_chunk(&st, reply->text, reply->len, out);
	n += uk_esc_end(&st, out + n);
	out[n] = '\0';
	return out;
}

/* Print a reply as the tool does; returns the exit status. */
static int print_reply(const struct mc *m, const struct uk_mc_reply *reply, const char *text)
{
	size_t len = strlen(text);
	int st;

	if (m->compat) {
		/* the old tool: "OK text" / "ERR text"; exit status err & 0xFF (-EBUSY: 240) */
		printf("%s %s\n", reply->ok ? "OK" : "ERR", text);
		st = (int)(reply->err & 0xFF);
		return !reply->ok && st == 0 ? UK_EXIT_FAIL : st;
	}
	if (!reply->ok) {
		uk_say("%s: %s", m->name, text);
		return UK_EXIT_FAIL;
	}
	fputs(text, stdout);
	if (len && text[len - 1] != '\n')
		putchar('\n');
	return UK_EXIT_OK;
}

/* Send one command to the kernel and print the reply, its control characters escaped (the
 * guest's text must not drive the terminal). Returns the exit status. */
static int send_cmd(struct mc *m, const char *cmd)
{
	struct uk_mc_reply reply;
	struct uk_err err = {0};
	char fixed[UK_MC_MAX_DATA + PATH_MAX * 2];
	_cleanup_free_ char *text = NULL;
	int st;

	if (!m->sock[0]) {
		uk_say("%s: no mconsole socket to send '%s' to", m->name, cmd);
		return UK_EXIT_FAIL;
	}
	if (uk_mc_fix_config_paths(cmd, fixed, sizeof(fixed)) < 0)
		snprintf(fixed, sizeof(fixed), "%s", cmd);
	if (uk_mc_command(m->sock, fixed, m->timeout_ms, &reply, &err) < 0)
		return uk_fail(&err);
	text = shown(&reply);
	if (!text) {
		uk_mc_reply_free(&reply);
		uk_say("%s: out of memory", m->name);
		return UK_EXIT_FAIL;
	}
	st = print_reply(m, &reply, text);
	uk_mc_reply_free(&reply);
	fflush(stdout);
	return st;
}

/* `log TEXT` and `log -f FILE` as the old tool: chunks that fit a request, then a newline. */
static int log_cmd(struct mc *m, const char *arg)
{
	const size_t max = UK_MC_MAX_DATA - sizeof("log ") - 1;
	char buf[UK_MC_MAX_DATA];
	bool newline = false;
	size_t len;

	while (isspace((unsigned char)*arg))
		arg++;
	if (!strncmp(arg, "-f", 2)) {
		FILE *f;

		arg += 2;
		while (isspace((unsigned char)*arg))
			arg++;
		f = fopen(arg, "re");
		if (!f) {
			uk_say("%s: %s", arg, strerror(errno));
			return UK_EXIT_FAIL;
		}
		while ((len = fread(buf + 4, 1, max, f)) > 0) {
			memcpy(buf, "log ", 4);
			buf[4 + len] = '\0';
			send_cmd(m, buf);
			newline = buf[4 + len - 1] == '\n';
		}
		len = (size_t)ferror(f);
		fclose(f);
		if (len) {
			uk_say("%s: read error", arg);
			return UK_EXIT_FAIL;
		}
	} else {
		for (len = strlen(arg); len > 0;) {
			size_t chunk = UK_MIN(len, max);

			snprintf(buf, sizeof(buf), "log %.*s", (int)chunk, arg);
			send_cmd(m, buf);
			newline = arg[chunk - 1] == '\n';
			len -= chunk;
			arg += chunk;
		}
	}
	if (!newline)
		send_cmd(m, "log \n");
	return UK_EXIT_OK;
}

/* `int`: SIGINT to the pid in the pid file beside the socket. */
static int int_cmd(struct mc *m)
{
	char path[PATH_MAX + 8], line[32];
	uint64_t pid = 0;
	char *slash;
	FILE *f = NULL;

	snprintf(path, sizeof(path), "%s", m->sock);
	slash = strrchr(path, '/');
	if (m->sock[0] && slash) {
		strcpy(slash + 1, "pid");
		f = fopen(path, "re");
	}
	if (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (uk_parse_u64(line, &pid) < 0 || pid < 2 || pid > INT32_MAX)
			pid = 0;
	}
	if (f)
		fclose(f);
	if (!pid) {
		printf("Cannot determine the PID of your UML session, not sending signal.\n");
		return UK_EXIT_OK;
	}
	if (kill((pid_t)pid, SIGINT) < 0)
		uk_say("kill %llu: %s", (unsigned long long)pid, strerror(errno));
	return UK_EXIT_OK;
}

/* One command line, local commands first (matched by prefix, as the old tool did). */
static int issue(struct mc *m, const char *cmd, bool *quit)
{
	if (!strncmp(cmd, "quit", 4)) {
		*quit = true;
		return UK_EXIT_OK;
	}
	if (!strncmp(cmd, "mconsole-version", 16)) {
		printf("uml_mconsole client version %u\n", UK_MC_VERSION);
		return UK_EXIT_OK;
	}
	if (!strncmp(cmd, "help", 4)) {
		send_cmd(m, cmd);
		fputs(local_help, stdout);
		return UK_EXIT_OK;
	}
	if (!strncmp(cmd, "switch", 6)) {
		struct mc next = *m;
		const char *arg = cmd + 6;

		while (isspace((unsigned char)*arg))
			arg++;
		if (find_compat(&next, arg) < 0)
			return UK_EXIT_FAIL;
		*m = next;
		printf("Switched to '%s'\n", arg);
		return UK_EXIT_OK;
	}
	if (!strncmp(cmd, "log", 3))
		return log_cmd(m, cmd + 3);
	if (!strncmp(cmd, "int", 3))
		return int_cmd(m);
	return send_cmd(m, cmd);
}

/* Commands from stdin until EOF or quit. The old tool's readline echoed the prompt and the
 * line when stdin was not a terminal; uml_mconsole does the same. */
static int interactive(struct mc *m)
{
	bool tty = isatty(STDIN_FILENO), quit = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	for (;;) {
		if (tty || m->compat)
			printf("(%s) ", m->name);
		fflush(stdout);
		n = getline(&line, &cap, stdin);
		if (n < 0)
			break;
		if (!tty && m->compat)
			fputs(line, stdout);
		while (n && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		if (!n)
			continue;
		if (m->compat)
			issue(m, line, &quit);
		else if (!strcmp(line, "quit") || !strcmp(line, "exit"))
			quit = true;
		else
			send_cmd(m, line);
		if (quit)
			break;
	}
	free(line);
	if (!quit && (tty || m->compat))
		putchar('\n');
	return UK_EXIT_OK;
}

enum { OPT_UML_DIR, OPT_TIMEOUT };
static const struct uk_opt mconsole_options[] = {
	[OPT_UML_DIR] = {.name = "uml-dir", .value = true},
	[OPT_TIMEOUT] = {.name = "timeout", .value = true},
};

struct mc_args {
	struct mc m;
	const char *uml_dir;
};

static int mconsole_opt(const struct uk_opts *p, int id, const char *v)
{
	struct mc_args *a = p->ctx;
	uint64_t secs;

	if (id == OPT_UML_DIR) {
		a->uml_dir = v;
		return 0;
	}
	if (uk_parse_u64(v, &secs) < 0 || secs > INT32_MAX / 1000)
		return uk_usage_error(p->cmd, "bad --timeout '%s'", v);
	a->m.timeout_ms = secs ? (int)secs * 1000 : -1;
	return 0;
}

int uk_cmd_mconsole(int argc, char **argv)
{
	struct mc_args a = {.m = {.timeout_ms = DEFAULT_TIMEOUT_MS}};
	struct uk_opts p = {.opt = mconsole_options,
			    .nopt = UK_ARRAY_SIZE(mconsole_options),
			    .accept = UK_OPTS_ALL,
			    .cmd = "umlkit mconsole",
			    .help = mconsole_usage,
			    .stop = true, /* the command's own words may look like options */
			    .fn = mconsole_opt,
			    .ctx = &a};
	_cleanup_free_ char *cmd = NULL;
	int r = uk_opts_parse(&p, argc, argv);

	if (r)
		return r < 0 ? UK_EXIT_OK : r;
	if (p.nargs < 1)
		return uk_usage_error("umlkit mconsole", "no guest, umid or socket given");
	if (find_umlkit(&a.m, p.args[0], a.uml_dir) < 0)
		return UK_EXIT_FAIL;
	if (p.nargs == 1)
		return interactive(&a.m);
	cmd = join_args(p.nargs - 1, p.args + 1);
	if (!cmd) {
		uk_say("out of memory");
		return UK_EXIT_FAIL;
	}
	return send_cmd(&a.m, cmd);
}

/* uml_mconsole UMID|SOCKET [COMMAND...]: the old tool's lookup, output and exit status. */
int uk_cmd_uml_mconsole(int argc, char **argv)
{
	struct mc m = {.compat = true, .timeout_ms = DEFAULT_TIMEOUT_MS};
	_cleanup_free_ char *cmd = NULL;
	bool quit = false;

	if (argc < 2 || uk_is_help(argv[1], false)) {
		fprintf(stderr, "Usage : uml_mconsole socket-name [command]\n");
		return UK_EXIT_FAIL;
	}
	snprintf(m.name, sizeof(m.name), "[None]");
	find_compat(&m, argv[1]);
	if (argc == 2)
		return interactive(&m);
	cmd = join_args(argc - 2, argv + 2);
	if (!cmd) {
		uk_say("out of memory");
		return UK_EXIT_FAIL;
	}
	return issue(&m, cmd, &quit);
}
