// SPDX-License-Identifier: LGPL-2.1-or-later
/* What a running lab is called: its guests, switches and runtime directory (lab.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/guest.h"
#include "umlkit/lab.h"
#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "run-internal.h"

#define SWITCH_NAME_MAX 32 /* uk_switch_name_check */
#define CD_PLAIN_MAX	(SWITCH_NAME_MAX - 3 - UK_LAB_ID_SHORT - 1)

void uk_lab_guest_name(const struct uk_lab *lab, const char *machine, char *out, size_t outlen)
{
	snprintf(out, outlen, "lab%.*s.%s", UK_LAB_ID_SHORT, lab->id, machine);
}

/* A collision domain that makes a switch name as it is: short, of the allowed characters */
static bool cd_plain(const char *cd)
{
	size_t n = strlen(cd);

	if (n == 0 || n > CD_PLAIN_MAX)
		return false;
	for (const char *p = cd; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && !strchr("_.-", *p))
			return false;
	return true;
}

void uk_lab_switch_name(const struct uk_lab *lab, const char *cd, char *out, size_t outlen)
{
	if (cd_plain(cd)) {
		snprintf(out, outlen, "lab%.*s.%s", UK_LAB_ID_SHORT, lab->id, cd);
		return;
	}
	/* '_' where a plain name has '.': never the name of a plain domain */
	snprintf(out, outlen, "lab%.*s_%016llx", UK_LAB_ID_SHORT, lab->id,
		 (unsigned long long)uk_hash64(UK_HASH64_INIT, cd, strlen(cd)));
}

void uk_lab_nat_name(const struct uk_lab *lab, char *out, size_t outlen)
{
	snprintf(out, outlen, "lab%.*s-nat", UK_LAB_ID_SHORT, lab->id);
}

bool uk_lab_name_is_ours(const char *name, const char *id_short)
{
	return !strncmp(name, "lab", 3) && !strncmp(name + 3, id_short, UK_LAB_ID_SHORT) &&
	       strchr("._-", name[3 + UK_LAB_ID_SHORT]) && name[3 + UK_LAB_ID_SHORT];
}

bool uk_lab_name_id(const char *name, char id[UK_LAB_ID_SHORT + 1])
{
	if (strncmp(name, "lab", 3) || strlen(name) < 3 + UK_LAB_ID_SHORT + 2 ||
	    name[3 + UK_LAB_ID_SHORT] != '.')
		return false;
	for (int i = 0; i < UK_LAB_ID_SHORT; i++)
		if (!strchr("0123456789abcdef", name[3 + i]))
			return false;
	memcpy(id, name + 3, UK_LAB_ID_SHORT);
	id[UK_LAB_ID_SHORT] = '\0';
	return true;
}

int uk_lab_state_dir(const char *id_short, char *out, size_t outlen, struct uk_err *err)
{
	char sub[32];

	snprintf(sub, sizeof(sub), "labs/%.*s", UK_LAB_ID_SHORT, id_short);
	return uk_runtime_dir(sub, out, outlen, err);
}

/* The runtime directory of the lab, made (0700, parents too) */
static int state_dir_make(const struct uk_lab *lab, char *out, size_t outlen, struct uk_err *err)
{
	int r = uk_lab_state_dir(lab->id, out, outlen, err);

	if (r < 0)
		return r;
	for (char *p = out + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(out, 0700);
		*p = '/';
	}
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return uk_err_sys(err, errno, "%s", out);
	return 0;
}

int uk_lab_state_put(const struct uk_lab *lab, const char *file, const char *text,
		     struct uk_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	_cleanup_close_ int fd = -1;
	int r = state_dir_make(lab, dir, sizeof(dir), err);

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return uk_err_sys(err, errno, "%s", path);
	if (uk_write_all(fd, text, strlen(text)) < 0)
		return uk_err_sys(err, errno, "%s", path);
	return 0;
}

int uk_lab_state_get(const char *id_short, const char *file, char *out, size_t outlen)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	out[0] = '\0';
	if (uk_lab_state_dir(id_short, dir, sizeof(dir), NULL) < 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, out, outlen - 1);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	return 0;
}

int uk_lab_state_remove(const struct uk_lab *lab)
{
	char dir[PATH_MAX], parent[PATH_MAX], base[64];

	if (uk_lab_state_dir(lab->id, dir, sizeof(dir), NULL) < 0 ||
	    uk_path_split(dir, parent, sizeof(parent), base, sizeof(base)) < 0)
		return -ENOENT;
	_cleanup_close_ int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return errno == ENOENT ? 0 : -errno;
	return uk_remove_tree(pfd, base);
}
