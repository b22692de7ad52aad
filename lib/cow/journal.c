// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The intent journal of an in-place merge (inplace.c): <cow>.ukmerge, present while a merge
 * is under way, with what a rerun needs to finish it exactly: the backing's identity
 * (device, inode) and the COW header's size and mtime when the merge began. A few lines of
 * text, written as a new file (fsynced, then renamed into place).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "cow-internal.h"

#define JOURNAL_SUFFIX ".ukmerge"
#define JOURNAL_MAGIC  "umlkit-inplace-merge 1"

int uk_cow_journal_path(const char *cow, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", cow, JOURNAL_SUFFIX);

	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

bool uk_cow_journal_exists(const char *cow)
{
	char jp[4200];

	return uk_cow_journal_path(cow, jp, sizeof(jp)) == 0 && access(jp, F_OK) == 0;
}

pid_t uk_cow_lock_holder(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
		return 0;
	return fl.l_pid;
}

int uk_cow_open_unmerged(struct uk_cow **c, const char *cow, const char *backing, int flags,
			 bool resume, struct uk_err *err)
{
	int r = uk_cow_open(c, cow, backing, flags, err);

	/* an in-place merge holds the COW's write lock from before its journal is made until
	 * after it is removed: a journal beside a COW locked by someone is a merge at work */
	if (r == -EAGAIN && uk_cow_journal_exists(cow))
		return uk_err_set(err, EBUSY,
				  "%s: busy: in use by another merge (an in-place merge, pid %ld, "
				  "is writing it into its backing); try again when it is done",
				  cow, (long)uk_cow_lock_holder(cow));
	if (r < 0 || resume || !uk_cow_journal_exists(cow))
		return r;
	uk_cow_close(*c);
	*c = NULL;
	return uk_err_set(err, EINVAL,
			  "%s: an in-place merge of this COW was interrupted; run 'umlkit cow "
			  "merge --in-place %s' to complete it first",
			  cow, cow);
}

int uk_cow_journal_read(const char *jp, struct uk_cow_journal *j, struct uk_err *err)
{
	_cleanup_close_ int fd = open(jp, O_RDONLY | O_CLOEXEC);
	char buf[512];
	ssize_t n;

	if (fd < 0)
		return uk_err_sys(err, errno, "%s", jp);
	n = uk_pread_full(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return uk_err_sys(err, (int)-n, "%s", jp);
	buf[n] = '\0';
	if (sscanf(buf,
		   JOURNAL_MAGIC "\ndev %" SCNu64 "\nino %" SCNu64 "\nsize %" SCNu64
				 "\nmtime %" SCNu32 "\n",
		   &j->dev, &j->ino, &j->size, &j->mtime) != 4)
		return uk_err_set(err, EINVAL,
				  "%s: not an umlkit merge journal (remove it by hand "
				  "if you know no merge was interrupted)",
				  jp);
	return 0;
}

int uk_cow_journal_write(const char *jp, const struct uk_cow_journal *j, struct uk_err *err)
{
	struct uk_newfile nf;
	char buf[512];
	int n, r;

	n = snprintf(buf, sizeof(buf),
		     JOURNAL_MAGIC "\ndev %" PRIu64 "\nino %" PRIu64 "\nsize %" PRIu64
				   "\nmtime %" PRIu32 "\n",
		     j->dev, j->ino, j->size, j->mtime);
	r = uk_newfile_open(&nf, jp, 0644, err);
	if (r < 0)
		return r;
	r = uk_pwrite_all(nf.fd, buf, (size_t)n, 0);
	if (r < 0) {
		uk_newfile_abort(&nf);
		return uk_err_sys(err, -r, "%s: write", jp);
	}
	return uk_newfile_commit(&nf, false, err);
}
