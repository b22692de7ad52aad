// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A switch started with --group G is for the members of G: they reach its control socket
 * (0660, group G) through its directory, made 0750 with group G, and the directories above it
 * that umlkit made (switches/ and umlkit/, shared by every switch and guest of the user) get an
 * ACL entry for G: switches/ read and search (`switch list`), the others search only. Nothing
 * is opened to other users: their mode bits stay 0. Without --group the switch's directory is
 * 0700 again.
 *
 * The ACL is the kernel's system.posix_acl_access attribute, bytes in little-endian order: a
 * 4-byte version (2), then 8-byte entries (tag 2 bytes, permissions 2, id 4) sorted by tag and
 * id. An entry is added to what is there (or to the ACL that the mode bits make), and the
 * mask grows to let it act.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "umlkit/util.h"
#include "swd.h"

#define ACL_XATTR   "system.posix_acl_access"
#define ACL_VERSION 2
#define ACL_MAX	    64 /* entries handled; more is refused */
#define ACL_ENTRY   8
enum {
	TAG_USER_OBJ = 0x01,
	TAG_USER = 0x02,
	TAG_GROUP_OBJ = 0x04,
	TAG_GROUP = 0x08,
	TAG_MASK = 0x10,
	TAG_OTHER = 0x20
};
#define ACL_NO_ID 0xffffffffU
#define PERM_RX	  5
#define PERM_X	  1

struct acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};

struct acl {
	struct acl_entry e[ACL_MAX];
	int n;
};

/* The ACL the mode bits alone make. */
static void acl_from_mode(struct acl *a, mode_t mode)
{
	a->n = 3;
	a->e[0] = (struct acl_entry){TAG_USER_OBJ, (mode >> 6) & 7, ACL_NO_ID};
	a->e[1] = (struct acl_entry){TAG_GROUP_OBJ, (mode >> 3) & 7, ACL_NO_ID};
	a->e[2] = (struct acl_entry){TAG_OTHER, mode & 7, ACL_NO_ID};
}

static int acl_decode(struct acl *a, const uint8_t *buf, size_t len)
{
	if (len < 4 || (len - 4) % ACL_ENTRY || (len - 4) / ACL_ENTRY > ACL_MAX ||
	    uk_get_le32(buf) != ACL_VERSION)
		return -EINVAL;
	a->n = (int)((len - 4) / ACL_ENTRY);
	for (int i = 0; i < a->n; i++) {
		const uint8_t *p = buf + 4 + (size_t)i * ACL_ENTRY;

		a->e[i] = (struct acl_entry){(uint16_t)(p[0] | p[1] << 8),
					     (uint16_t)(p[2] | p[3] << 8), uk_get_le32(p + 4)};
	}
	return 0;
}

static size_t acl_encode(const struct acl *a, uint8_t *buf)
{
	uk_put_le32(buf, ACL_VERSION);
	for (int i = 0; i < a->n; i++) {
		uint8_t *p = buf + 4 + (size_t)i * ACL_ENTRY;

		p[0] = (uint8_t)a->e[i].tag;
		p[1] = (uint8_t)(a->e[i].tag >> 8);
		p[2] = (uint8_t)a->e[i].perm;
		p[3] = (uint8_t)(a->e[i].perm >> 8);
		uk_put_le32(p + 4, a->e[i].id);
	}
	return 4 + (size_t)a->n * ACL_ENTRY;
}

static struct acl_entry *acl_find(struct acl *a, uint16_t tag, uint32_t id)
{
	for (int i = 0; i < a->n; i++)
		if (a->e[i].tag == tag && (tag != TAG_GROUP || a->e[i].id == id))
			return &a->e[i];
	return NULL;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct acl_entry *a = x, *b = y;

	if (a->tag != b->tag)
		return a->tag < b->tag ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Give group gid the permissions perm (at least) in a, the mask widened to match. 0 when it
 * had them already, 1 when a changed, -ENOSPC when a is full. */
static int acl_grant(struct acl *a, uint32_t gid, uint16_t perm)
{
	struct acl_entry *g = acl_find(a, TAG_GROUP, gid), *m = acl_find(a, TAG_MASK, 0);

	if (g && (g->perm & perm) == perm && m && (m->perm & perm) == perm)
		return 0;
	if (a->n + 2 > ACL_MAX)
		return -ENOSPC;
	if (!g) {
		a->e[a->n++] = (struct acl_entry){TAG_GROUP, 0, gid};
		g = &a->e[a->n - 1];
	}
	g->perm |= perm;
	if (!m) { /* the mask of a new ACL: what the group class had, and the new entry */
		struct acl_entry *go = acl_find(a, TAG_GROUP_OBJ, 0);

		a->e[a->n++] = (struct acl_entry){TAG_MASK, go ? go->perm : 0, ACL_NO_ID};
		m = &a->e[a->n - 1];
	}
	m->perm |= perm;
	qsort(a->e, (size_t)a->n, sizeof(a->e[0]), cmp_entry);
	return 1;
}

/* Let group gid do perm in directory path, by an ACL entry. */
static int grant_dir(const char *path, uint32_t gid, uint16_t perm, struct uk_err *err)
{
	uint8_t buf[4 + ACL_MAX * ACL_ENTRY];
	struct acl a;
	struct stat st;
	ssize_t n;
	int r;

	if (lstat(path, &st) < 0)
		return uk_err_sys(err, errno, "%s", path);
	if (!S_ISDIR(st.st_mode))
		return uk_err_set(err, ENOTDIR, "%s: not a directory", path);
	n = getxattr(path, ACL_XATTR, buf, sizeof(buf));
	if (n < 0 && errno != ENODATA)
		return uk_err_sys(err, errno, "%s: reading its ACL (--group needs ACLs there)",
				  path);
	if (n < 0)
		acl_from_mode(&a, st.st_mode);
	else if (acl_decode(&a, buf, (size_t)n) < 0)
		return uk_err_set(err, EINVAL, "%s: an ACL umlkit cannot read", path);
	r = acl_grant(&a, gid, perm);
	if (r < 0)
		return uk_err_set(err, -r, "%s: its ACL is full", path);
	if (r > 0 && setxattr(path, ACL_XATTR, buf, acl_encode(&a, buf), 0) < 0)
		return uk_err_sys(err, errno, "%s: setting its ACL for --group", path);
	return 0;
}

/* The directories umlkit made above the switch's directory dir: switches/ (read and search
 * for gid), then up to umlkit/ or .umlkit/ (search only). */
static int grant_parents(const char *dir, uint32_t gid, struct uk_err *err)
{
	char path[4096];
	int r = 0;

	if (strlen(dir) >= sizeof(path))
		return uk_err_set(err, ENAMETOOLONG, "%s: path too long", dir);
	strcpy(path, dir);
	for (int level = 0; r == 0 && level < 3; level++) {
		char *slash = strrchr(path, '/');
		const char *base;

		if (!slash || slash == path)
			break;
		*slash = '\0';
		r = grant_dir(path, gid, level == 0 ? PERM_RX : PERM_X, err);
		base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		if (!strcmp(base, "umlkit") || !strcmp(base, ".umlkit"))
			break;
	}
	return r;
}

/* The lock that `switch link` takes in switches/: readable, so a member's read-only open
 * can flock it. */
static int links_lock_readable(const char *dir, struct uk_err *err)
{
	char path[4200];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/../.links.lock", dir);
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || fchmod(fd, 0644) < 0)
		return uk_err_sys(err, errno, "%s", path);
	return 0;
}

int uk_swd_share_dir(const char *dir, int group, struct uk_err *err)
{
	int r;

	if (group < 0) {
		if (chmod(dir, 0700) < 0)
			return uk_err_sys(err, errno, "%s", dir);
		return 0;
	}
	if (chown(dir, (uid_t)-1, (gid_t)group) < 0 || chmod(dir, 0750) < 0)
		return uk_err_sys(err, errno, "%s: for --group", dir);
	r = grant_parents(dir, (uint32_t)group, err);
	if (r == 0)
		r = links_lock_readable(dir, err);
	return r;
}
