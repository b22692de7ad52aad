// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Claims: flock(2) locks by which a start says "mine" before it changes anything, and which
 * its supervisor inherits (a flock belongs to the open file, and fork shares it) and keeps
 * for its whole life, so that no second start slips in between a check and the moment the
 * kernel or the supervisor holds its own lock.
 *
 * - The guest: the state directory's lock file. A start claims it before it touches the
 *   state (recovery, the kernel directory, disks); `umlkit rm` and the cleaning after a
 *   dead supervisor claim it too. The supervisor's fcntl lock on the same file (whose
 *   holder F_GETLK names) still says which process supervises the guest.
 * - The disks: each COW or image, exclusively (shared when read-only), and each backing,
 *   shared. The kernel takes fcntl locks on them only when it opens them, seconds after
 *   its start; until then the claim holds them against another guest's start.
 *
 * On Linux a flock and an fcntl lock do not conflict (local filesystems), so the kernel's
 * own locks are never in the way. On NFS and SMB a flock is an fcntl lock in disguise and
 * would make the kernel's lock fail: disks there are not claimed (as before: the fcntl
 * check alone).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "guest-internal.h"

#define NFS_MAGIC  0x6969
#define SMB_MAGIC  0x517B
#define CIFS_MAGIC 0xFF534D42
#define SMB2_MAGIC 0xFE534D42

pid_t uk_guest_lock_holder(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
		return 0;
	return fl.l_pid;
}

int uk_guest_claim(int dirfd, int *fd, pid_t *holder)
{
	int r = 0;

	*holder = 0;
	*fd = openat(dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0)
		return -errno;
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0)
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
	/* a supervisor of an older umlkit holds only the fcntl lock */
	*holder = uk_guest_lock_holder(*fd);
	if (r == 0 && *holder)
		r = -EBUSY;
	if (r < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

int uk_guest_claim_busy(struct uk_err *err, const char *name, pid_t holder)
{
	if (holder > 0)
		return uk_err_set(err, EBUSY, "guest '%s' is already running (supervisor pid %d)",
				  name, (int)holder);
	return uk_err_set(err, EBUSY,
			  "guest '%s' is already running (another umlkit is starting, stopping "
			  "or removing it)",
			  name);
}

static bool flock_is_fcntl(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return false;
	return sf.f_type == NFS_MAGIC || sf.f_type == SMB_MAGIC ||
	       (unsigned)sf.f_type == CIFS_MAGIC || (unsigned)sf.f_type == SMB2_MAGIC;
}

static int claim_file(struct uk_guest_claims *c, const char *path, bool shared, struct uk_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return uk_err_sys(err, errno, "%s", path);
	if (flock_is_fcntl(fd))
		return 0;
	if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		return errno == EWOULDBLOCK
			       ? uk_err_set(err, EAGAIN,
					    "%s: in use: another guest runs on it or is being "
					    "started on it; stop it first",
					    path)
			       : uk_err_sys(err, errno, "%s: cannot lock", path);
	c->fd[c->n++] = TAKE_FD(fd);
	return 0;
}

int uk_guest_claim_disks(const struct uk_guest_spec *s, struct uk_guest_claims *c,
			 struct uk_err *err)
{
	c->n = 0;
	for (int i = 0; i < s->ndisks && i < UK_GUEST_DISKS; i++) {
		const struct uk_guest_disk *d = &s->disks[i];
		int r = 0;

		if (strchr(d->flags, 'c')) /* shared: the kernel does not lock it either */
			continue;
		r = claim_file(c, d->file, strchr(d->flags, 'r') != NULL, err);
		if (r == 0 && d->backing[0])
			r = claim_file(c, d->backing, true, err);
		if (r < 0) {
			uk_guest_claims_release(c);
			return r;
		}
	}
	return 0;
}

void uk_guest_claims_release(struct uk_guest_claims *c)
{
	for (int i = 0; i < c->n; i++)
		close(c->fd[i]);
	c->n = 0;
}
