// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The user a guest's kernel runs as (--user): who it is, what it must be able to open,
 * checked as that user before anything is made, and the kernel's one-way drop to it.
 * The supervisor stays root: it removes the guest's firewall rules and taps at the end.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlkit/cow.h"
#include "umlkit/net.h"
#include "guest-internal.h"

#define ID_MAX	   4294967294ULL /* (uid_t)-1 means "unchanged" to the kernel */
#define UK_TUN_DEV "/dev/net/tun"

long uk_guest_uid(const struct uk_guest_spec *s)
{
	return s->uid >= 0 ? s->uid : (long)getuid();
}

long uk_guest_gid(const struct uk_guest_spec *s)
{
	return s->uid >= 0 ? s->gid : (long)getgid();
}

bool uk_guest_has_tap(const struct uk_guest_spec *s)
{
	for (int i = 0; i < s->nnets; i++) {
		int k = s->nets[i].kind;

		if (k == UK_NET_TAP || k == UK_NET_BRIDGE || k == UK_NET_LEGACY_TUNTAP)
			return true;
	}
	return false;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* USER: a name from the passwd database or a number (the group of its entry, if any). */
static int parse_uid(const char *arg, const char *u, long *uid, long *gid, struct uk_err *err)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	uint64_t n;
	int e;

	if (all_digits(u)) {
		if (uk_parse_u64(u, &n) < 0 || n > ID_MAX)
			return uk_err_set(err, ERANGE, "--user %s: uid %s is out of range", arg, u);
		*uid = (long)n;
		e = getpwuid_r((uid_t)n, &pw, buf, sizeof(buf), &res);
		*gid = e == 0 && res ? (long)res->pw_gid : (long)n;
		return 0;
	}
	e = getpwnam_r(u, &pw, buf, sizeof(buf), &res);
	if (e)
		return uk_err_sys(err, e, "--user %s: looking up user '%s'", arg, u);
	if (!res)
		return uk_err_set(err, ENOENT, "--user %s: no such user '%s'", arg, u);
	*uid = (long)res->pw_uid;
	*gid = (long)res->pw_gid;
	return 0;
}

static int parse_gid(const char *arg, const char *g, long *gid, struct uk_err *err)
{
	struct group gr, *res = NULL;
	char buf[16384];
	uint64_t n;
	int e;

	if (all_digits(g)) {
		if (uk_parse_u64(g, &n) < 0 || n > ID_MAX)
			return uk_err_set(err, ERANGE, "--user %s: gid %s is out of range", arg, g);
		*gid = (long)n;
		return 0;
	}
	e = getgrnam_r(g, &gr, buf, sizeof(buf), &res);
	if (e)
		return uk_err_sys(err, e, "--user %s: looking up group '%s'", arg, g);
	if (!res)
		return uk_err_set(err, ENOENT, "--user %s: no such group '%s'", arg, g);
	*gid = (long)res->gr_gid;
	return 0;
}

int uk_guest_spec_set_user(struct uk_guest_spec *s, const char *arg, struct uk_err *err)
{
	char user[64];
	const char *colon = strchr(arg, ':');
	size_t ulen = colon ? (size_t)(colon - arg) : strlen(arg);
	long uid, gid;
	int r;

	if (strlen(arg) >= sizeof(s->user))
		return uk_err_set(err, ENAMETOOLONG, "--user %.40s...: too long", arg);
	if (ulen == 0 || (colon && !colon[1]))
		return uk_err_set(err, EINVAL, "--user %s: want USER or USER:GROUP", arg);
	memcpy(user, arg, ulen);
	user[ulen] = '\0';
	r = parse_uid(arg, user, &uid, &gid, err);
	if (r == 0 && colon)
		r = parse_gid(arg, colon + 1, &gid, err);
	if (r < 0)
		return r;
	if (uid == 0)
		return uk_err_set(err, EPERM, "--user %s: a guest never runs as root (uid 0)", arg);
	if (gid == 0)
		return uk_err_set(err, EPERM,
				  "--user %s: a guest never runs in group root (gid 0); give "
				  "USER:GROUP",
				  arg);
	s->uid = uid;
	s->gid = gid;
	snprintf(s->user, sizeof(s->user), "%s", arg);
	return 0;
}

/* ---- the checks, as the user ---- */

/* Can the user open path with mode? With fd >= 0 (an O_PATH descriptor of path, opened
 * before the drop) only the file's own permissions count, not its directories': a jailed
 * kernel's files are bind mounted into its root, so the path it reaches them by is the
 * jail's, whatever the modes of their directories on the host. */
static int can_at(int fd, const char *path, int mode, const char *what, const char *how,
		  const struct uk_guest_spec *s, struct uk_err *err)
{
	char self[64];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (access(fd >= 0 ? self : path, mode) == 0)
		return 0;
	return uk_err_set(err, errno,
			  "%s %s: the guest's user %s (uid %ld, gid %ld) cannot %s it: %s", what,
			  path, s->user, s->uid, s->gid, how, strerror(errno));
}

/* Can the user (this process, after the drop) open path with mode? */
static int can(const char *path, int mode, const char *what, const char *how,
	       const struct uk_guest_spec *s, struct uk_err *err)
{
	return can_at(-1, path, mode, what, how, s, err);
}

/* The directory a new file goes to ("." for a bare name). */
static void dir_of(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, outlen, ".");
	else if (slash == path)
		snprintf(out, outlen, "/");
	else
		snprintf(out, outlen, "%.*s", (int)(slash - path), path);
}

/* A COW given alone: the backing its header names. */
static int check_header_backing(const struct uk_guest_disk *d, const struct uk_guest_spec *s,
				struct uk_err *err)
{
	struct uk_cow *c = NULL;
	int r;

	if (strchr(d->flags, 'd') ||
	    uk_cow_open(&c, d->file, NULL, UK_COW_OPEN_NO_BACKING | UK_COW_OPEN_SHARED, NULL) < 0)
		return 0; /* not a COW: a raw image */
	r = c->h.backing[0] ? can(c->h.backing, R_OK, "backing image", "read", s, err) : 0;
	uk_cow_close(c);
	return r;
}

static int check_disk(const struct uk_guest_disk *d, const struct uk_guest_spec *s,
		      struct uk_err *err)
{
	int rw = strchr(d->flags, 'r') ? R_OK : R_OK | W_OK;
	const char *how = rw == R_OK ? "read" : "read and write";
	char dir[PATH_MAX];
	int r;

	if (d->backing[0]) {
		r = can(d->backing, R_OK, "backing image", "read", s, err);
		if (r < 0)
			return r;
		if (access(d->file, F_OK) < 0 && errno == ENOENT) {
			/* umlkit makes it and gives it to the user: its directory must be reachable
			 */
			dir_of(d->file, dir, sizeof(dir));
			return can(dir, X_OK, "the directory of COW", "search", s, err);
		}
		return can(d->file, rw, "COW", how, s, err);
	}
	r = can(d->file, rw, "disk", how, s, err);
	return r < 0 ? r : check_header_backing(d, s, err);
}

/* Where the kernel makes its memory file: $TMPDIR, $TMP or $TEMP, else /dev/shm, else /tmp. */
static const char *kernel_tmpdir(void)
{
	static const char *const vars[] = {"TMPDIR", "TMP", "TEMP"};
	struct stat st;

	for (size_t i = 0; i < UK_ARRAY_SIZE(vars); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return v;
	}
	return stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
}

/* The kernel opens /dev/net/tun for its taps: Debian makes it 0666, some hosts 0600. */
static int check_tun(const struct uk_guest_spec *s, struct uk_err *err)
{
	struct stat st;

	if (access(UK_TUN_DEV, R_OK | W_OK) == 0)
		return 0;
	if (stat(UK_TUN_DEV, &st) < 0)
		return uk_err_sys(err, errno, "%s", UK_TUN_DEV);
	return uk_err_set(err, EACCES,
			  "%s (mode %04o, owner uid %ld): the guest's user %s (uid %ld, gid %ld) "
			  "cannot open it read-write, so its kernel cannot use its taps (Debian "
			  "makes it 0666)",
			  UK_TUN_DEV, (unsigned)(st.st_mode & 07777), (long)st.st_uid, s->user,
			  s->uid, s->gid);
}

/* The descriptors of a jailed kernel's binary and preload, opened before the drop (-1: by
 * path, as an unjailed kernel reaches them). */
struct bound {
	int kernel, preload;
};

static int check_all(const struct uk_guest_spec *s, const char *preload, const struct bound *b,
		     struct uk_err *err)
{
	int r = can_at(b->kernel, s->kernel, X_OK, "kernel", "run", s, err);

	if (r == 0 && preload[0])
		r = can_at(b->preload, preload, R_OK, "the kernel's preload (the xstate shim)",
			   "read", s, err);
	for (int i = 0; r == 0 && i < s->ndisks; i++)
		r = check_disk(&s->disks[i], s, err);
	if (r == 0 && uk_guest_has_tap(s) && s->no_jail) /* a jail has a tun node of its own */
		r = check_tun(s, err);
	if (r == 0)
		r = can(kernel_tmpdir(), W_OK | X_OK, "the kernel's memory directory", "write in",
			s, err);
	if (r == 0)
		r = can(uk_guest_kdir_parent(), X_OK, "the directory of the guest's uml_dir",
			"search", s, err);
	return r;
}

/* In a child: become the user for good, check, and send the first failure back. */
static void check_child(const struct uk_guest_spec *s, const char *preload, int fd)
{
	struct uk_err e = {0};
	struct bound b = {-1, -1};
	int r;

	if (!s->no_jail) {
		b.kernel = open(s->kernel, O_PATH | O_CLOEXEC);
		b.preload = preload[0] ? open(preload, O_PATH | O_CLOEXEC) : -1;
	}
	r = uk_guest_drop_privileges(s);
	if (r < 0)
		uk_err_sys(&e, -r, "cannot become uid %ld gid %ld", s->uid, s->gid);
	else
		r = check_all(s, preload, &b, &e);
	if (r < 0 && uk_write_all(fd, &e, sizeof(e)) < 0)
		_exit(2);
	_exit(r < 0 ? 1 : 0);
}

static ssize_t read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int check_as_user(const struct uk_guest_spec *s, struct uk_err *err)
{
	char preload[PATH_MAX];
	struct uk_err e = {0};
	int pfd[2], wst = 0, r;
	pid_t pid;
	ssize_t n;

	r = uk_guest_preload(preload, sizeof(preload), err);
	if (r < 0)
		return r;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return uk_err_sys(err, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		r = uk_err_sys(err, errno, "fork");
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		close(pfd[0]);
		check_child(s, preload, pfd[1]);
	}
	close(pfd[1]);
	n = read_all(pfd[0], &e, sizeof(e));
	close(pfd[0]);
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(e)) {
		e.msg[sizeof(e.msg) - 1] = '\0';
		return uk_err_set(err, e.code > 0 ? e.code : EACCES, "%s", e.msg);
	}
	if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
		return uk_err_set(err, EIO, "checking the files of the guest's user %s failed",
				  s->user);
	return 0;
}

int uk_guest_check_user(const struct uk_guest_spec *s, struct uk_err *err)
{
	bool root = geteuid() == 0;
	int r;

	if (s->uid >= 0 && !root)
		return uk_err_set(err, EPERM,
				  "--user %s: only root can run a guest as another user (you are "
				  "uid %ld)",
				  s->user, (long)geteuid());
	if (s->uid < 0 && root && uk_guest_has_tap(s))
		return uk_err_set(err, EPERM,
				  "guest '%s' has a host tap (--net tap:, bridge: or "
				  "legacy-tuntap:) and umlkit runs as root: give --user "
				  "USER[:GROUP], the unprivileged user its kernel runs as and its "
				  "taps belong to (a guest never runs as root)",
				  s->name);
	r = uk_guest_hostnet_check(s, err);
	if (r == 0 && s->uid >= 0)
		r = check_as_user(s, err);
	return r;
}

/* ---- the kernel's drop ---- */

int uk_guest_drop_privileges(const struct uk_guest_spec *s)
{
	if (s->uid <= 0 || s->gid <= 0)
		return -EINVAL;
	return uk_guest_drop_to((uid_t)s->uid, (gid_t)s->gid);
}

int uk_guest_drop_to(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (uid == 0 || gid == 0)
		return -EINVAL;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* for good: no way back to root */
	if (setuid(0) == 0 || seteuid(0) == 0 || setegid(0) == 0 || setgroups(0, NULL) == 0)
		return -EPERM;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
	    getgroups(0, NULL) != 0)
		return -EPERM;
	return 0;
}
