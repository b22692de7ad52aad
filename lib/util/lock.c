// SPDX-License-Identifier: LGPL-2.1-or-later
/* fcntl locks as the UML kernel takes them: a write lock on a disk it writes, a read lock on
 * one it only reads. */
#include <errno.h>
#include <fcntl.h>

#include "umlkit/util.h"

int uk_lock_fd(int fd, bool write, const char *path, struct uk_err *err)
{
	struct flock fl = {.l_type = write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET};

	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 0;
	if (errno != EAGAIN && errno != EACCES)
		return uk_err_sys(err, errno, "%s: cannot lock", path);
	fl.l_type = write ? F_WRLCK : F_RDLCK;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		return uk_err_set(err, EAGAIN,
				  "%s: in use: locked by pid %ld (a running guest?); stop it first",
				  path, (long)fl.l_pid);
	return uk_err_set(err, EAGAIN, "%s: in use: locked by another process", path);
}
