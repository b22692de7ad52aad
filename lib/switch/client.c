// SPDX-License-Identifier: LGPL-2.1-or-later
/* Talking to a running switch over its control socket; where switches live. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "engine-internal.h"

#define REPLY_MAX     (1 << 20)
#define BIG_REPLY_MAX (64 << 20)
#define ANSWER_MS     10000 /* how long a switch may take to answer */

int uk_switch_name_check(const char *name, struct uk_err *err)
{
	return uk_name_check("switch", name, 32, err);
}

static int switches_root(char *out, size_t outlen, struct uk_err *err)
{
	return uk_runtime_dir("switches", out, outlen, err);
}

/* The directory of switch name into out; made (0700, parents too) when make is set, as the
 * daemon does: a lookup of a switch that does not run leaves nothing behind. */
static int switch_path(const char *name, char *out, size_t outlen, bool make, struct uk_err *err)
{
	char root[4096];
	int r = uk_switch_name_check(name, err);

	if (r == 0)
		r = switches_root(root, sizeof(root), err);
	if (r < 0)
		return r;
	if ((size_t)snprintf(out, outlen, "%s/%s", root, name) >= outlen)
		return uk_err_set(err, ENAMETOOLONG, "path too long");
	/* create it, 0700, parents included */
	for (char *p = out + 1; make && *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(out, 0700);
		*p = '/';
	}
	if (make && mkdir(out, 0700) < 0 && errno != EEXIST)
		return uk_err_sys(err, errno, "%s", out);
	if (strlen(out) + 8 > 107)
		return uk_err_set(err, ENAMETOOLONG,
				  "%s: too long for a socket path (set XDG_RUNTIME_DIR shorter)",
				  out);
	return 0;
}

int uk_switch_dir(const char *name, char *out, size_t outlen, struct uk_err *err)
{
	return switch_path(name, out, outlen, true, err);
}

pid_t uk_switch_pid(const char *name)
{
	char dir[4096], path[4200];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	_cleanup_close_ int fd = -1;

	if (switch_path(name, dir, sizeof(dir), false, NULL) < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC); /* F_GETLK asks no write access */
	if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
		return 0;
	return fl.l_pid;
}

static int connect_ctl(const char *name, struct uk_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char dir[4096];
	int fd, r = switch_path(name, dir, sizeof(dir), false, err);

	if (r < 0)
		return r;
	if (strlen(dir) + 4 >= sizeof(a.sun_path))
		return uk_err_set(err, ENAMETOOLONG, "%s: path too long", dir);
	memcpy(a.sun_path, dir, strlen(dir));
	memcpy(a.sun_path + strlen(dir), "/ctl", 5);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return uk_err_sys(err, errno, "socket");
	/* a switch that takes no connections (stuck, its backlog full) makes connect fail
	 * with EAGAIN: try again for as long as a reply may take, never wait forever */
	for (int tries = 0;; tries++) {
		r = connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? errno : 0;
		if ((r != EAGAIN && r != EINTR) || tries == ANSWER_MS / 10)
			break;
		usleep(10000);
	}
	if (r == 0 && fcntl(fd, F_SETFL, 0) < 0)
		r = errno;
	if (r != 0) {
		close(fd);
		if (r == ENOENT || r == ECONNREFUSED)
			return uk_err_set(err, ENOENT, "switch '%s' is not running", name);
		if (r == EAGAIN)
			return uk_err_set(err, ETIMEDOUT,
					  "switch '%s' takes no connections (it is stuck?)", name);
		return uk_err_sys(err, r, "switch '%s': %s", name, a.sun_path);
	}
	return fd;
}

/* A big reply from the file fd (at most BIG_REPLY_MAX): its length into *out (malloc'd,
 * NUL-terminated), or -errno. */
static ssize_t read_reply_file(int fd, char **out)
{
	struct stat st;
	char *buf;
	ssize_t n;

	*out = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > BIG_REPLY_MAX)
		return -EPROTO;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		free(buf);
		return n < 0 ? -errno : -EPROTO;
	}
	buf[n] = '\0';
	*out = buf;
	return n;
}

int uk_switch_request(const char *name, const char *req, int pass_fd, char **reply,
		      struct uk_err *err)
{
	_cleanup_close_ int fd = connect_ctl(name, err);
	struct pollfd pf;
	char *buf;
	ssize_t n;
	int big;

	*reply = NULL;
	if (fd < 0)
		return fd;
	n = uk_send_fd(fd, req, strlen(req), pass_fd, 0);
	if (n < 0)
		return uk_err_sys(err, (int)-n, "switch '%s': sending the request", name);
	pf = (struct pollfd){.fd = fd, .events = POLLIN};
	if (poll(&pf, 1, ANSWER_MS) <= 0)
		return uk_err_set(err, ETIMEDOUT, "switch '%s' did not answer", name);
	buf = malloc(REPLY_MAX + 1);
	if (!buf)
		return uk_err_set(err, ENOMEM, "out of memory");
	n = uk_recv_fd(fd, buf, REPLY_MAX, &big, 0);
	if (n <= 0) {
		free(buf);
		if (big >= 0)
			close(big);
		return n < 0 ? uk_err_sys(err, (int)-n, "switch '%s': its reply", name)
			     : uk_err_set(err, EPIPE, "switch '%s' closed the connection", name);
	}
	buf[n] = '\0';
	if (big >= 0) { /* the marker's real reply is in the file passed with it */
		free(buf);
		n = read_reply_file(big, &buf);
		close(big);
		if (n < 0)
			return uk_err_sys(err, (int)-n, "switch '%s': its reply", name);
	}
	*reply = buf;
	return 0;
}

int uk_switch_ask(const char *name, const char *req, int pass_fd, json_t **reply,
		  struct uk_err *err)
{
	char *text = NULL;
	json_t *j;
	int r = uk_switch_request(name, req, pass_fd, &text, err);

	if (reply)
		*reply = NULL;
	if (r < 0)
		return r;
	j = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(j))
		r = uk_err_set(err, EPROTO, "switch '%s': its reply is not a JSON object", name);
	else if (!json_is_true(json_object_get(j, "ok")))
		r = uk_err_set(err, EPROTO, "switch '%s': %s", name,
			       json_string_value(json_object_get(j, "error")) ?: "request failed");
	if (r == 0 && reply)
		*reply = j;
	else
		json_decref(j);
	return r;
}

/* The add-port request for a port of conf c and a guest's link g (or NULL). */
static json_t *add_port_request(const struct uk_port_conf *c, const struct uk_switch_guest_link *g)
{
	json_t *req = json_object();

	json_object_set_new(req, "cmd", json_string("add-port"));
	json_object_set_new(req, "kind", json_string(uk_port_kind_name(c->kind)));
	json_object_set_new(req, "peer", json_string(c->peer));
	json_object_set_new(req, "vlan", json_integer(c->vlan));
	json_object_set_new(req, "trunk", json_boolean(c->trunk));
	if (c->guest[0]) {
		json_object_set_new(req, "guest", json_string(c->guest));
		json_object_set_new(req, "net", json_integer(c->net));
	}
	if (g && g->mac[0])
		json_object_set_new(req, "mac", json_string(g->mac));
	if (g && g->addr[0])
		json_object_set_new(req, "addr", json_string(g->addr));
	if (g && g->nforwards > 0) {
		json_t *fw = json_array();

		for (int i = 0; i < g->nforwards && i < UK_SW_GUEST_FWDS; i++)
			json_array_append_new(fw, json_string(g->forwards[i]));
		json_object_set_new(req, "forwards", fw);
	}
	return req;
}

int uk_switch_attach_guest(const char *name, int fd, const struct uk_port_conf *c,
			   const struct uk_switch_guest_link *g, struct uk_err *err)
{
	json_t *req = add_port_request(c, g), *rep = NULL, *port;
	char *text = json_dumps(req, JSON_COMPACT);
	int r;

	json_decref(req);
	if (!text)
		return uk_err_set(err, ENOMEM, "out of memory");
	r = uk_switch_ask(name, text, fd, &rep, err);
	free(text);
	if (r < 0)
		return r;
	port = json_object_get(rep, "port");
	if (json_is_integer(port) && json_integer_value(port) >= 0 &&
	    json_integer_value(port) < UK_SW_MAX_PORTS)
		r = (int)json_integer_value(port);
	else
		r = uk_err_set(err, EPROTO, "switch '%s': its reply names no port", name);
	json_decref(rep);
	return r;
}

int uk_switch_attach_fd(const char *name, int fd, const struct uk_port_conf *c, struct uk_err *err)
{
	return uk_switch_attach_guest(name, fd, c, NULL, err);
}

static bool switch_name_ok(const char *name)
{
	return uk_switch_name_check(name, NULL) == 0;
}

int uk_switch_list(char ***names, int *count, struct uk_err *err)
{
	char root[4096];
	int r = switches_root(root, sizeof(root), err);

	*names = NULL;
	*count = 0;
	return r < 0 ? r : uk_dir_names(root, switch_name_ok, names, count, err);
}
