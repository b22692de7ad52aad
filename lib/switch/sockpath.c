// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Listening sockets at paths the user names (the bess socket, the legacy control socket) or
 * that the switch keeps in its own directory (its control socket). A socket file already at
 * the path is taken over only when nobody listens on it (left by a crash), as the old
 * uml_switch did; a file that is not a socket, or a socket that another server listens on,
 * is left alone. At the end the switch removes the path only if it still names the socket it
 * made (uk_swd_unlink_ours).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "swd.h"

static int bind_addr(int fd, const struct sockaddr_un *a)
{
	return bind(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 ? -errno : 0;
}

/* Whether a server listens on the socket at a: 1 yes, 0 no (stale, or gone), -errno. The
 * probe never blocks: a full backlog (EAGAIN) is a server, and so is a socket of another
 * type (EPROTOTYPE) that accepted a connection of its own type. */
static int someone_listens(const struct sockaddr_un *a, int type)
{
	int probe = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r;

	if (probe < 0)
		return -errno;
	r = connect(probe, (const struct sockaddr *)a, sizeof(*a)) == 0 ? 0 : errno;
	close(probe);
	if (r == 0 || r == EAGAIN || r == EINPROGRESS || r == EPROTOTYPE)
		return 1;
	if (r == ECONNREFUSED || r == ENOENT)
		return 0;
	return -r;
}

/* Bind fd at a, taking over a stale socket there. */
static int bind_or_take_over(int fd, const struct sockaddr_un *a, int type, const char *what,
			     struct uk_err *err)
{
	const char *path = a->sun_path;
	struct stat st;
	int r = bind_addr(fd, a);

	if (r != -EADDRINUSE)
		return r < 0 ? uk_err_sys(err, -r, "%s '%s': bind", what, path) : 0;
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return uk_err_set(err, EEXIST, "%s '%s' exists and is not a socket", what, path);
	r = someone_listens(a, type);
	if (r > 0)
		return uk_err_set(err, EADDRINUSE, "%s '%s' has another server attached to it",
				  what, path);
	if (r < 0)
		return uk_err_sys(err, -r, "%s '%s': connect", what, path);
	if (unlink(path) < 0 && errno != ENOENT)
		return uk_err_sys(err, errno, "%s '%s' exists, isn't used, but couldn't be removed",
				  what, path);
	r = bind_addr(fd, a);
	return r < 0 ? uk_err_sys(err, -r, "%s '%s': bind", what, path) : 0;
}

int uk_swd_listen_path(const char *path, int type, mode_t mode, int group, const char *what,
		       struct stat *made, struct uk_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(path) >= sizeof(a.sun_path))
		return uk_err_set(err, ENAMETOOLONG, "%s '%s': path too long (max %zu)", what, path,
				  sizeof(a.sun_path) - 1);
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return uk_err_sys(err, errno, "socket");
	r = bind_or_take_over(fd, &a, type, what, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (stat(path, made) < 0 || chmod(path, mode) < 0 ||
	    (group >= 0 && chown(path, (uid_t)-1, (gid_t)group) < 0) || listen(fd, 64) < 0) {
		r = errno;
		close(fd);
		unlink(path);
		return uk_err_sys(err, r, "%s '%s'", what, path);
	}
	return fd;
}

void uk_swd_unlink_ours(const char *path, const struct stat *made)
{
	struct stat st;

	if (stat(path, &st) == 0 && st.st_dev == made->st_dev && st.st_ino == made->st_ino)
		unlink(path);
}
