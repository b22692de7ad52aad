// SPDX-License-Identifier: LGPL-2.1-or-later
/* COW creation, byte-compatible with the kernel's create_cow_file(), but whole or nothing. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/cow.h"
#include "umlkit/util.h"
#include "cow-internal.h"

int uk_cow_backing_identity(const char *path, struct uk_backing_id *id, struct uk_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t magic[8];
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return uk_err_sys(err, errno, "backing file %s", path);
	if (fstat(fd, &st) < 0)
		return uk_err_sys(err, errno, "backing file %s: stat", path);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &id->size) < 0)
			return uk_err_sys(err, errno, "backing device %s: size", path);
	} else if (S_ISREG(st.st_mode)) {
		id->size = (uint64_t)st.st_size;
	} else {
		return uk_err_set(err, EINVAL,
				  "backing file %s: not a regular file or block device", path);
	}
	id->st = st;
	n = uk_pread_full(fd, magic, sizeof(magic), 0);
	id->is_cow = n == (ssize_t)sizeof(magic) &&
		     (uk_get_be32(magic) == UK_COW_MAGIC || uk_get_le32(magic) == UK_COW_MAGIC);
	return 0;
}

int uk_cow_plain_backing(const char *path, char *abs, size_t abslen, struct uk_backing_id *id,
			 struct uk_err *err)
{
	int r = uk_path_absolutize(path, abs, abslen, err);

	if (r == 0)
		r = uk_cow_backing_identity(abs, id, err);
	if (r == 0 && id->is_cow)
		r = uk_err_set(err, EINVAL,
			       "%s is itself a COW file; UML cannot stack COWs (merge it into a "
			       "plain image first)",
			       path);
	return r;
}

/* Refuse to replace a COW a running guest holds. */
static int refuse_if_held(const char *cow, struct uk_err *err)
{
	_cleanup_close_ int fd = open(cow, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : uk_err_sys(err, errno, "%s", cow);
	return uk_lock_fd(fd, true, cow, err);
}

int uk_cow_write_new(struct uk_newfile *nf, const struct uk_cow_header *h, struct uk_err *err)
{
	int r = uk_cow_header_write(nf->fd, nf->path, h, err);

	if (r < 0)
		return r;
	uk_io_point("ftruncate");
	if (ftruncate(nf->fd, (off_t)(h->data_offset + h->size)) < 0)
		return uk_err_sys(err, errno, "%s: sizing the file", nf->path);
	return 0;
}

int uk_cow_create(const char *cow, const char *backing, bool force, struct uk_err *err)
{
	char abs[UK_COW_BACKING_FIELD + 1];
	struct uk_backing_id id;
	struct uk_cow_header h;
	struct uk_newfile nf;
	struct stat cst;
	int r;

	r = uk_cow_plain_backing(backing, abs, sizeof(abs), &id, err);
	if (r < 0)
		return r;
	if (stat(cow, &cst) == 0) {
		if (cst.st_dev == id.st.st_dev && cst.st_ino == id.st.st_ino)
			return uk_err_set(err, EINVAL,
					  "%s: the COW and its backing are the same file", cow);
		if (!force)
			return uk_err_set(err, EEXIST, "%s: already exists (use -f to replace it)",
					  cow);
		r = refuse_if_held(cow, err);
		if (r < 0)
			return r;
	}
	r = uk_cow_header_init(&h, abs, id.size, (uint32_t)id.st.st_mtime, err);
	if (r < 0)
		return uk_err_prefix(err, r, "%s: ", cow);
	r = uk_newfile_open(&nf, cow, 0644, err);
	if (r < 0)
		return r;
	r = uk_cow_write_new(&nf, &h, err);
	if (r < 0) {
		uk_newfile_abort(&nf);
		return r;
	}
	return uk_newfile_commit(&nf, force, err);
}
