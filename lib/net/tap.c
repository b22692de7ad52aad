// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Interface names and taps. A tap is made with TUNSETIFF (IFF_TAP|IFF_NO_PI) on the clone
 * device, given an owner and a group (TUNSETOWNER, TUNSETGROUP) and made persistent
 * (TUNSETPERSIST), as the old tunctl did (spec 5.5). Taps are listed from
 * /sys/class/net/NAME/{tun_flags,owner,group}.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "umlkit/net.h"
#include "umlkit/util.h"

int uk_net_name_check(const char *name, const char *what, bool ours, struct uk_err *err)
{
	size_t n = strlen(name);

	if (n == 0)
		return uk_err_set(err, EINVAL, "%s name is empty", what);
	if (n > UK_IFNAME_MAX)
		return uk_err_set(err, EINVAL,
				  "%s name '%.40s%s' is %zu characters long; interface names have "
				  "at most %d",
				  what, name, n > 40 ? "..." : "", n, UK_IFNAME_MAX);
	if (name[0] == '-' || name[0] == '.')
		return uk_err_set(err, EINVAL, "%s name '%s' may not start with '%c'", what, name,
				  name[0]);
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return uk_err_set(
				err, EINVAL,
				"%s name '%s': character 0x%02x is not allowed (use letters, "
				"digits, '_', '.', '-')",
				what, name, (unsigned char)*p);
	if (ours && strncmp(name, UK_NET_PREFIX, strlen(UK_NET_PREFIX)))
		return uk_err_set(err, EINVAL, "%s name '%s' does not start with '%s'", what, name,
				  UK_NET_PREFIX);
	return 0;
}

bool uk_net_if_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

static int read_sys(const char *name, const char *attr, char *buf, size_t len)
{
	char path[128];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int uk_tap_info(const char *name, struct uk_tap_info *ti, struct uk_err *err)
{
	char buf[64];
	int r;

	memset(ti, 0, sizeof(*ti));
	if (strlen(name) > UK_IFNAME_MAX || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return uk_err_set(err, EINVAL, "'%s' is not an interface name", name);
	snprintf(ti->name, sizeof(ti->name), "%s", name);
	if (!uk_net_if_exists(name))
		return uk_err_set(err, ENODEV, "%s: no such interface", name);
	r = read_sys(name, "tun_flags", buf, sizeof(buf));
	if (r < 0)
		return uk_err_set(err, ENOTTY, "%s: not a tun/tap device", name);
	ti->flags = (unsigned)strtoul(buf, NULL, 16);
	ti->owner = read_sys(name, "owner", buf, sizeof(buf)) == 0 ? strtol(buf, NULL, 10) : -1;
	ti->group = read_sys(name, "group", buf, sizeof(buf)) == 0 ? strtol(buf, NULL, 10) : -1;
	return 0;
}

static int cmp_tap(const void *a, const void *b)
{
	return strcmp(((const struct uk_tap_info *)a)->name, ((const struct uk_tap_info *)b)->name);
}

int uk_tap_list(struct uk_tap_info **list, int *n, struct uk_err *err)
{
	DIR *d = opendir("/sys/class/net");
	struct uk_tap_info *v = NULL;
	struct dirent *de;
	int cnt = 0, cap = 0;

	*list = NULL;
	*n = 0;
	if (!d)
		return uk_err_sys(err, errno, "/sys/class/net");
	while ((de = readdir(d))) {
		struct uk_tap_info ti;

		if (de->d_name[0] == '.' || uk_tap_info(de->d_name, &ti, NULL) < 0)
			continue;
		if (cnt == cap) {
			struct uk_tap_info *nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(v, sizeof(*v) * (size_t)cap);
			if (!nv) {
				free(v);
				closedir(d);
				return uk_err_set(err, ENOMEM, "out of memory");
			}
			v = nv;
		}
		v[cnt++] = ti;
	}
	closedir(d);
	if (cnt)
		qsort(v, (size_t)cnt, sizeof(*v), cmp_tap);
	*list = v;
	*n = cnt;
	return 0;
}

void uk_tap_opts_init(struct uk_tap_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->owner = -1;
	o->group = -1;
}

static const char *cap_hint(int e)
{
	return e == EPERM || e == EACCES ? " (taps need CAP_NET_ADMIN)" : "";
}

/* Open the clone device and attach to (or create) the tap. */
static int tap_open(const char *name, const struct uk_tap_opts *o, char *out, struct uk_err *err)
{
	const char *dev = o->clone_dev ? o->clone_dev : "/dev/net/tun";
	struct ifreq ifr = {0};
	int fd, e;

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (o->brief_errors)
			return uk_err_set(err, e, "Failed to open '%s' : %s", dev, strerror(e));
		return uk_err_set(err, e, "%s: %s%s", dev, strerror(e), cap_hint(e));
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		if (o->brief_errors)
			return uk_err_set(err, e, "TUNSETIFF: %s", strerror(e));
		if (e == EBUSY)
			return uk_err_set(err, e, "tap %s: in use by a running process", name);
		if (e == EINVAL && uk_net_if_exists(name))
			return uk_err_set(err, e, "%s: exists and is not a tap", name);
		return uk_err_set(err, e, "tap %s: TUNSETIFF: %s%s", name, strerror(e),
				  cap_hint(e));
	}
	if (out)
		snprintf(out, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
}

/* An existing tap that belongs to someone else is not ours to take over or remove. */
static int check_foreign(const char *name, struct uk_err *err)
{
	struct uk_tap_info ti;
	long me = (long)geteuid();
	int r = uk_tap_info(name, &ti, NULL);

	if (r == -ENODEV)
		return 0;
	if (r == -ENOTTY)
		return uk_err_set(err, EEXIST, "%s: exists and is not a tap", name);
	if (r < 0)
		return uk_tap_info(name, &ti, err);
	if (ti.owner >= 0 && ti.owner != me)
		return uk_err_set(err, EPERM,
				  "tap %s is owned by uid %ld, not by you (uid %ld): refusing to "
				  "touch it",
				  name, ti.owner, me);
	if (ti.owner < 0 && ti.group >= 0 && ti.group != (long)getegid())
		return uk_err_set(err, EPERM,
				  "tap %s belongs to group %ld, not yours (gid %ld): refusing to "
				  "touch it",
				  name, ti.group, (long)getegid());
	return 0;
}

static int tap_ioctl(int fd, unsigned long req, unsigned long arg, const char *what,
		     const char *name, const struct uk_tap_opts *o, struct uk_err *err)
{
	int e;

	if (ioctl(fd, req, arg) == 0)
		return 0;
	e = errno;
	if (o->brief_errors)
		return uk_err_set(err, e, "%s: %s", what, strerror(e));
	return uk_err_set(err, e, "tap %s: %s: %s%s", name, what, strerror(e), cap_hint(e));
}

int uk_tap_add(const char *name, const struct uk_tap_opts *o, char *out, struct uk_err *err)
{
	char got[IFNAMSIZ];
	bool existed;
	int fd, r = 0;

	if (!o->compat) {
		r = uk_net_name_check(name, "tap", false, err);
		if (r == 0 && o->refuse_foreign)
			r = check_foreign(name, err);
		if (r < 0)
			return r;
	}
	existed = name[0] && uk_net_if_exists(name);
	fd = tap_open(name, o, got, err);
	if (fd < 0)
		return fd;
	if (o->owner >= 0)
		r = tap_ioctl(fd, TUNSETOWNER, (unsigned long)o->owner, "TUNSETOWNER", got, o, err);
	if (r == 0 && o->group >= 0)
		r = tap_ioctl(fd, TUNSETGROUP, (unsigned long)o->group, "TUNSETGROUP", got, o, err);
	if (r == 0)
		r = tap_ioctl(fd, TUNSETPERSIST, 1, "TUNSETPERSIST", got, o, err);
	if (r < 0 && !existed)
		ioctl(fd, TUNSETPERSIST, 0); /* leave nothing half made */
	close(fd);
	if (r == 0 && out)
		snprintf(out, IFNAMSIZ, "%s", got);
	return r;
}

int uk_tap_del(const char *name, const struct uk_tap_opts *o, char *out, struct uk_err *err)
{
	char got[IFNAMSIZ];
	int fd, r = 0;

	if (!o->compat) {
		struct uk_tap_info ti;

		r = uk_net_name_check(name, "tap", false, err);
		if (r == 0)
			r = uk_tap_info(name, &ti, err);
		if (r == 0 && o->refuse_foreign)
			r = check_foreign(name, err);
		if (r < 0)
			return r;
	}
	fd = tap_open(name, o, got, err);
	if (fd < 0)
		return fd;
	r = tap_ioctl(fd, TUNSETPERSIST, 0, "TUNSETPERSIST", got, o, err);
	close(fd);
	if (r == 0 && out)
		snprintf(out, IFNAMSIZ, "%s", got);
	return r;
}
