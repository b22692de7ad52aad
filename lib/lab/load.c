// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * uk_lab_load: a lab directory read into the model. lab.conf, lab.dep, lab.ext and lab.hosts are
 * opened without following a symlink and must be regular files; the machine list comes from
 * lab.conf, or from the directories (less shared, _test, CVS and dot directories) when
 * lab.conf names none or for -F (Kathara FolderParser.py; Netkit's default).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab-internal.h"
#include "umlkit/util.h"

int uk_lab_read_file(int dirfd, const char *dir, const char *name, char **buf, size_t *len,
		     struct uk_err *err)
{
	_cleanup_close_ int fd = -1;
	char shown[PATH_MAX + 256];
	struct stat st;
	ssize_t n;

	*buf = NULL;
	snprintf(shown, sizeof(shown), "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 && errno == ELOOP)
		return uk_err_set(err, ELOOP, "%s: a symbolic link, refused", shown);
	if (fd < 0)
		return uk_err_sys(err, errno, "%s", shown);
	if (fstat(fd, &st) < 0)
		return uk_err_sys(err, errno, "%s", shown);
	if (!S_ISREG(st.st_mode))
		return uk_err_set(err, EINVAL, "%s: not a regular file", shown);
	if (st.st_size > UK_LAB_FILE_MAX)
		return uk_err_set(err, EFBIG, "%s: larger than %d MiB", shown,
				  UK_LAB_FILE_MAX >> 20);
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf)
		return uk_err_set(err, ENOMEM, "out of memory");
	n = uk_pread_full(fd, *buf, (size_t)st.st_size, 0);
	if (n < 0 || n != st.st_size) {
		free(*buf);
		*buf = NULL;
		return n < 0 ? uk_err_sys(err, (int)-n, "%s", shown)
			     : uk_err_set(err, EIO, "%s: shorter than when opened", shown);
	}
	*len = (size_t)n;
	return 1;
}

static bool is_dir_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static bool not_special(const char *name)
{
	return strcmp(name, "shared") && strcmp(name, "_test") && strcmp(name, "CVS");
}

/* Every directory that names a device becomes a machine (sorted; the others warned of). */
static int machines_from_dirs(struct uk_lab *lab, int dirfd, struct uk_err *err)
{
	char **names;
	int n, r;

	r = uk_dir_names(lab->dir, not_special, &names, &n, err);
	if (r < 0)
		return r;
	for (int i = 0; i < n && r == 0; i++) {
		struct uk_lab_machine *m;

		if (!is_dir_at(dirfd, names[i]))
			continue;
		if (uk_lab_name_check(names[i], NULL) < 0) {
			r = uk_lab_warn(lab, "%s: directory `%.64s` is not a device name, skipped",
					lab->dir, names[i]);
			continue;
		}
		if (!uk_lab_machine_find(lab, names[i]))
			lab->dialect = UK_LAB_NETKIT;
		r = uk_lab_machine_get(lab, names[i], &m, err);
	}
	uk_names_free(names, n);
	return r;
}

typedef int (*parse_fn)(struct uk_lab *, const char *, size_t, struct uk_err *);

static int parse_file(struct uk_lab *lab, int dirfd, const char *name, parse_fn fn,
		      struct uk_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = uk_lab_read_file(dirfd, lab->dir, name, &buf, &len, err);

	if (r <= 0)
		return r;
	return fn(lab, buf, len, err);
}

static int load_files(struct uk_lab *lab, int dirfd, const struct uk_lab_load_opts *o,
		      struct uk_err *err)
{
	bool folder = o && o->folder;
	int r;

	r = parse_file(lab, dirfd, "lab.conf", uk_lab_conf_parse, err);
	if (r < 0)
		return r;
	if (faccessat(dirfd, "lab.dep", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		lab->has_dep = true;
	if (!lab->has_conf && !lab->has_dep && !folder)
		return uk_err_set(err, ENOENT,
				  "%s: no lab.conf or lab.dep (-F starts the machines found in its "
				  "directories)",
				  lab->dir);
	if (lab->n_machine == 0 || folder) {
		r = machines_from_dirs(lab, dirfd, err);
		if (r < 0)
			return r;
	}
	for (int i = 0; i < lab->n_machine; i++)
		lab->machine[i].has_dir = is_dir_at(dirfd, lab->machine[i].name);
	r = parse_file(lab, dirfd, "lab.dep", uk_lab_dep_parse, err);
	if (r == 0)
		r = parse_file(lab, dirfd, "lab.ext", uk_lab_ext_parse, err);
	if (r == 0)
		r = parse_file(lab, dirfd, "lab.hosts", uk_lab_hosts_parse, err);
	return r < 0 ? r : uk_lab_finish(lab, o, err);
}

int uk_lab_load(const char *dir, const struct uk_lab_load_opts *o, struct uk_lab **out,
		struct uk_err *err)
{
	char abs[PATH_MAX];
	_cleanup_close_ int dirfd = -1;
	struct uk_lab *lab;
	int r;

	*out = NULL;
	if (!realpath(dir, abs))
		return uk_err_sys(err, errno, "%s", dir);
	dirfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return uk_err_sys(err, errno, "%s", abs);
	lab = uk_lab_new(abs);
	if (!lab)
		return uk_err_set(err, ENOMEM, "out of memory");
	r = load_files(lab, dirfd, o, err);
	if (r < 0) {
		uk_lab_free(lab);
		return r;
	}
	*out = lab;
	return 0;
}
