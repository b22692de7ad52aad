// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Per-guest state: a directory under the runtime directory holding the kernel's uml_dir,
 * the console log, the notify socket, a lock its supervisor holds for its whole life, and
 * a status file the supervisor rewrites atomically. Liveness is judged from the lock and
 * the kernel's pid, never from the status file alone. A --user guest's uml_dir and notify
 * socket live in a kernel directory under $TMPDIR that its user can reach, recorded in the
 * state directory's "kdir"; the state directory's uml is a symlink to it, for people only
 * (see umlkit/guest.h).
 *
 * The state directory is untrusted: what changes it opens it first through
 * uk_guest_state_open (no symlink, this user's, writable by no one else), and only what
 * umlkit made and recorded is removed: the kernel directory named by the record, by its
 * parent's fd, never a path through the uml link.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/net.h"
#include "cgroup-internal.h"
#include "guest-internal.h"

static const char *const state_names[] = {
	[UK_GUEST_NONE] = "none",	  [UK_GUEST_BOOTING] = "booting",
	[UK_GUEST_RUNNING] = "running",	  [UK_GUEST_STOPPED] = "stopped",
	[UK_GUEST_PANICKED] = "panicked", [UK_GUEST_EXITED] = "exited",
	[UK_GUEST_FAILED] = "failed",	  [UK_GUEST_LOST] = "lost",
	[UK_GUEST_BOOTED] = "booted",
};

const char *uk_guest_state_name(int state)
{
	if (state < 0 || state >= (int)UK_ARRAY_SIZE(state_names))
		return "unknown";
	return state_names[state];
}

static int state_from_name(const char *s)
{
	for (size_t i = 0; i < UK_ARRAY_SIZE(state_names); i++)
		if (!strcmp(s, state_names[i]))
			return (int)i;
	return -1;
}

int uk_guest_state_root(char *out, size_t outlen, struct uk_err *err)
{
	return uk_runtime_dir("guests", out, outlen, err);
}

int uk_guest_state_dir(const char *name, char *out, size_t outlen, struct uk_err *err)
{
	char root[PATH_MAX];
	int r = uk_guest_name_check(name, err);

	if (r == 0)
		r = uk_guest_state_root(root, sizeof(root), err);
	if (r < 0)
		return r;
	if (snprintf(out, outlen, "%s/%s", root, name) >= (int)outlen)
		return uk_err_set(err, ENAMETOOLONG, "state directory path too long");
	return 0;
}

/* out = a b c; the caller checked that the lengths fit PATH_MAX */
static void join(char *out, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);

	memcpy(out, a, la);
	memcpy(out + la, b, lb);
	memcpy(out + la + lb, c, lc + 1);
}

const char *uk_guest_kdir_parent(void)
{
	const char *t = getenv("TMPDIR");

	return t && t[0] == '/' ? t : "/tmp";
}

/* A kernel directory as make_kdir makes them: an absolute .../umlkit.XXXXXX short enough for
 * the kernel's socket paths, a directory (not a symlink) of this user's that no one else can
 * write to. */
static bool kdir_ok(const char *kdir, size_t namelen)
{
	const char *base = strrchr(kdir, '/');
	struct stat st;

	if (kdir[0] != '/' || strlen(kdir) + namelen + 36 > 107)
		return false;
	base++;
	if (strncmp(base, "umlkit.", 7) || strlen(base) != 13 || strchr(base + 7, '.'))
		return false;
	return lstat(kdir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & 022);
}

/* A --user guest: the state directory's record "kdir" names the kernel directory umlkit
 * made (dir/uml, a symlink to KDIR/uml, is for people: never read, never followed). */
static void read_kdir(struct uk_guest_paths *p, size_t namelen)
{
	_cleanup_close_ int fd = open(p->kdir_rec, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[PATH_MAX];
	ssize_t n;

	if (fd < 0)
		return;
	n = uk_pread_full(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (kdir_ok(buf, namelen))
		memcpy(p->kdir, buf, strlen(buf) + 1);
}

int uk_guest_paths(const char *name, struct uk_guest_paths *p, struct uk_err *err)
{
	int r = uk_guest_state_dir(name, p->dir, sizeof(p->dir), err);
	const char *base;

	if (r < 0)
		return r;
	/* the kernel's socket, DIR/uml/NAME/mconsole, must fit sun_path (108 bytes with its
	 * NUL); the other sockets in DIR have shorter names */
	if (strlen(p->dir) + strlen("/uml/") + strlen(name) + strlen("/mconsole") >= 108)
		return uk_err_set(err, ENAMETOOLONG,
				  "%s: state directory too long for the kernel's mconsole socket "
				  "(set XDG_RUNTIME_DIR to a shorter directory)",
				  p->dir);
	join(p->uml_link, p->dir, "/uml", "");
	join(p->kdir_rec, p->dir, "/kdir", "");
	p->kdir[0] = '\0';
	read_kdir(p, strlen(name));
	if (p->kdir[0]) {
		join(p->uml_dir, p->kdir, "/uml", "");
		join(p->notify, p->kdir, "/notify", "");
		join(p->agent_ring, p->kdir, "/agent.ring", "");
	} else {
		join(p->uml_dir, p->uml_link, "", "");
		join(p->notify, p->dir, "/notify", "");
		join(p->agent_ring, p->dir, "/agent.ring", "");
	}
	base = p->uml_dir;
	join(p->mconsole, base, "/", name);
	strcat(p->mconsole, "/mconsole");
	join(p->kernel_pidfile, base, "/", name);
	strcat(p->kernel_pidfile, "/pid");
	join(p->console_log, p->dir, "/console.log", "");
	join(p->console_sock, p->dir, "/console", "");
	join(p->agent_sock, p->dir, "/agent", "");
	join(p->status, p->dir, "/status", "");
	join(p->lock, p->dir, "/lock", "");
	join(p->net, p->dir, "/net", "");
	join(p->cpu, p->dir, "/cpu", "");
	return 0;
}

int uk_guest_state_open(const char *name, bool create, struct uk_err *err)
{
	char dir[PATH_MAX];
	_cleanup_close_ int root = -1;
	int r = uk_guest_state_dir(name, dir, sizeof(dir), err);

	if (r < 0)
		return r;
	root = uk_runtime_dir_open("guests", create, err);
	if (root < 0)
		return root;
	return uk_dir_open_private(root, name, create, dir, err);
}

/* Remove the kernel directory kdir by its parent's fd: the directory itself, this user's,
 * never a symlink in its place. */
static void remove_kdir(const char *kdir)
{
	char parent[PATH_MAX], base[PATH_MAX];
	_cleanup_close_ int pfd = -1;
	struct stat st;

	if (uk_path_split(kdir, parent, sizeof(parent), base, sizeof(base)) < 0)
		return;
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0 || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISDIR(st.st_mode) && st.st_uid == geteuid())
		uk_remove_tree(pfd, base);
}

void uk_guest_drop_kernel_dir(const struct uk_guest_paths *p)
{
	struct stat st;

	if (p->kdir[0])
		remove_kdir(p->kdir);
	unlink(p->kdir_rec);
	if (lstat(p->uml_link, &st) == 0 && S_ISLNK(st.st_mode))
		unlink(p->uml_link);
}

/* dir, made if missing (its parent is root's), the user's, 0700 */
static int own_dir(const char *dir, const struct uk_guest_spec *s, struct uk_err *err)
{
	_cleanup_close_ int fd = -1;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return uk_err_sys(err, errno, "%s", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, (uid_t)s->uid, (gid_t)s->gid) < 0 || fchmod(fd, 0700) < 0)
		return uk_err_sys(err, errno, "%s: giving it to uid %ld gid %ld", dir, s->uid,
				  s->gid);
	return 0;
}

int uk_guest_own_uml_dir(const struct uk_guest_paths *p, const struct uk_guest_spec *s,
			 struct uk_err *err)
{
	if (s->uid < 0 || !p->kdir[0])
		return 0;
	return own_dir(p->uml_dir, s, err);
}

/* path (a file of the state directory) replaced whole by the n bytes of buf, mode 0600 */
int uk_guest_write_whole(const char *path, const char *buf, size_t n, struct uk_err *err)
{
	struct uk_newfile nf;
	int r = uk_newfile_open(&nf, path, 0600, err);

	if (r < 0)
		return r;
	r = uk_pwrite_all(nf.fd, buf, n, 0);
	if (r < 0) {
		uk_newfile_abort(&nf);
		return uk_err_sys(err, -r, "%s", path);
	}
	return uk_newfile_commit(&nf, true, err);
}

/* The record of the kernel directory made: "kdir" in the state directory. */
static int record_kdir(const struct uk_guest_paths *p, const char *kdir, struct uk_err *err)
{
	char line[PATH_MAX + 1];
	int n = snprintf(line, sizeof(line), "%s\n", kdir);

	return uk_guest_write_whole(p->kdir_rec, line, (size_t)n, err);
}

/* KDIR = ${TMPDIR:-/tmp}/umlkit.XXXXXX, root's, 0711, holding uml/, the user's, 0700, and
 * recorded in the state directory before anything else is made in it. */
static int make_kdir(const struct uk_guest_paths *p, const struct uk_guest_spec *s, char *kdir,
		     size_t len, struct uk_err *err)
{
	const char *parent = uk_guest_kdir_parent();
	char uml[PATH_MAX];
	int r;

	if ((size_t)snprintf(kdir, len, "%s/umlkit.XXXXXX", parent) >= len ||
	    strlen(kdir) + strlen(s->name) + 32 > 107)
		return uk_err_set(err, ENAMETOOLONG,
				  "%s: too long a directory for the kernel's mconsole socket (set "
				  "TMPDIR to a shorter one)",
				  parent);
	if (!mkdtemp(kdir))
		return uk_err_sys(err, errno, "%s/umlkit.XXXXXX", parent);
	r = record_kdir(p, kdir, err);
	snprintf(uml, sizeof(uml), "%s/uml", kdir);
	if (r == 0)
		r = own_dir(uml, s, err);
	if (r == 0 && chmod(kdir, 0711) < 0)
		r = uk_err_sys(err, errno, "%s", kdir);
	if (r < 0) {
		remove_kdir(kdir);
		unlink(p->kdir_rec);
	}
	return r;
}

int uk_guest_make_kernel_dir(struct uk_guest_paths *p, const struct uk_guest_spec *s,
			     struct uk_err *err)
{
	char kdir[PATH_MAX], target[PATH_MAX];
	int r;

	uk_guest_drop_kernel_dir(p);
	if (s->uid < 0) {
		if (mkdir(p->uml_link, 0700) < 0 && errno != EEXIST)
			return uk_err_sys(err, errno, "%s", p->uml_link);
		return uk_guest_paths(s->name, p, err);
	}
	uk_remove_tree(AT_FDCWD, p->uml_link); /* a plain one, from a launch without --user */
	r = make_kdir(p, s, kdir, sizeof(kdir), err);
	if (r < 0)
		return r;
	snprintf(target, sizeof(target), "%s/uml", kdir);
	if (symlink(target, p->uml_link) < 0)
		r = uk_err_sys(err, errno, "%s", p->uml_link);
	if (r == 0)
		r = uk_guest_paths(s->name, p, err);
	if (r == 0 && strcmp(p->kdir, kdir))
		r = uk_err_set(err, EPERM, "%s: not the kernel directory umlkit made", kdir);
	if (r < 0) {
		snprintf(p->kdir, sizeof(p->kdir), "%s", kdir);
		uk_guest_drop_kernel_dir(p);
	}
	return r;
}

int uk_guest_status_write(const struct uk_guest_paths *p, const struct uk_guest_status *st,
			  struct uk_err *err)
{
	char buf[2048 + PATH_MAX];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "state=%s\nsupervisor=%d\nkernel=%d\nexit_status=%d\nexit_signal=%d\n"
		     "restarts=%d\nreboots=%d\nstarted=%" PRId64 "\nready=%" PRId64
		     "\nuid=%ld\ngid=%ld\nwaiting_for=%s\nmessage=%s\ncgroup=%s\nmem_limit=%" PRIu64
		     "\npids_max=%" PRIu64 "\ncpus=%" PRIu32 "\noom_kills=%" PRIu64
		     "\noom_killed=%d\ncgroup_note=%s\njail=%d\njail_missing=%s\n",
		     uk_guest_state_name(st->state), (int)st->supervisor_pid, (int)st->kernel_pid,
		     st->exit_status, st->exit_signal, st->restarts, st->reboots, st->started,
		     st->ready, st->uid, st->gid, st->waiting_for, st->message, st->cgroup,
		     st->mem_limit, st->pids_max, st->cpus_centi, st->oom_kills, st->oom_killed,
		     st->cgroup_note, st->jail, st->jail_missing);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return uk_err_set(err, E2BIG, "%s: status too long", p->status);
	return uk_guest_write_whole(p->status, buf, (size_t)n, err);
}

/* The cgroup's lines of the status file. */
static void parse_cgroup_line(struct uk_guest_status *st, const char *key, const char *val)
{
	if (!strcmp(key, "cgroup"))
		snprintf(st->cgroup, sizeof(st->cgroup), "%s", val);
	else if (!strcmp(key, "mem_limit"))
		st->mem_limit = strtoull(val, NULL, 10);
	else if (!strcmp(key, "pids_max"))
		st->pids_max = strtoull(val, NULL, 10);
	else if (!strcmp(key, "cpus"))
		st->cpus_centi = (uint32_t)strtoul(val, NULL, 10);
	else if (!strcmp(key, "oom_kills"))
		st->oom_kills = strtoull(val, NULL, 10);
	else if (!strcmp(key, "oom_killed"))
		st->oom_killed = atoi(val) != 0;
	else if (!strcmp(key, "cgroup_note"))
		snprintf(st->cgroup_note, sizeof(st->cgroup_note), "%s", val);
}

static void parse_status_line(struct uk_guest_status *st, const char *key, const char *val)
{
	if (!strcmp(key, "state"))
		st->state = state_from_name(val) < 0 ? UK_GUEST_LOST : state_from_name(val);
	else if (!strcmp(key, "supervisor"))
		st->supervisor_pid = (pid_t)atoi(val);
	else if (!strcmp(key, "kernel"))
		st->kernel_pid = (pid_t)atoi(val);
	else if (!strcmp(key, "exit_status"))
		st->exit_status = atoi(val);
	else if (!strcmp(key, "exit_signal"))
		st->exit_signal = atoi(val);
	else if (!strcmp(key, "restarts"))
		st->restarts = atoi(val);
	else if (!strcmp(key, "reboots"))
		st->reboots = atoi(val);
	else if (!strcmp(key, "waiting_for"))
		snprintf(st->waiting_for, sizeof(st->waiting_for), "%s", val);
	else if (!strcmp(key, "started"))
		st->started = strtoll(val, NULL, 10);
	else if (!strcmp(key, "ready"))
		st->ready = strtoll(val, NULL, 10);
	else if (!strcmp(key, "uid"))
		st->uid = strtol(val, NULL, 10);
	else if (!strcmp(key, "gid"))
		st->gid = strtol(val, NULL, 10);
	else if (!strcmp(key, "message"))
		snprintf(st->message, sizeof(st->message), "%s", val);
	else if (!strcmp(key, "jail"))
		st->jail = atoi(val) ? 1 : 0;
	else if (!strcmp(key, "jail_missing"))
		snprintf(st->jail_missing, sizeof(st->jail_missing), "%s", val);
	else
		parse_cgroup_line(st, key, val);
}

static int read_status_file(const char *path, struct uk_guest_status *st)
{
	FILE *f = fopen(path, "re");
	char line[PATH_MAX + 64];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');

		line[strcspn(line, "\n")] = '\0';
		if (!eq)
			continue;
		*eq = '\0';
		parse_status_line(st, line, eq + 1);
	}
	fclose(f);
	return 0;
}

pid_t uk_guest_supervisor_alive(const struct uk_guest_paths *p)
{
	_cleanup_close_ int fd = open(p->lock, O_RDWR | O_CLOEXEC);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	if (fd < 0)
		return 0;
	if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
		return 0;
	return fl.l_pid;
}

ssize_t uk_guest_read_small(const char *path, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = uk_pread_full(fd, buf, len - 1, 0);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return n;
}

ssize_t uk_guest_proc_read(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return uk_guest_read_small(path, buf, len);
}

int uk_guest_proc_parents(pid_t pid, pid_t *ppid, pid_t *pgrp)
{
	char buf[512], *rp;
	int pp, pg;

	if (pid <= 0 || uk_guest_proc_read(pid, "stat", buf, sizeof(buf)) <= 0)
		return -1;
	/* pid (comm) state ppid pgrp ...: comm may hold anything, so start after its last ')' */
	rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 1, " %*c %d %d", &pp, &pg) != 2)
		return -1;
	*ppid = (pid_t)pp;
	*pgrp = (pid_t)pg;
	return 0;
}

/* Does process pid run with umid=name on its command line? */
static bool has_umid(pid_t pid, const char *name)
{
	char buf[4096], want[96];
	ssize_t n = uk_guest_proc_read(pid, "cmdline", buf, sizeof(buf));

	if (n <= 0)
		return false;
	snprintf(want, sizeof(want), "umid=%s", name);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
		if (!strcmp(buf + i, want))
			return true;
	return false;
}

/* The kernel runs in a process group of its own (its helpers too): the group is alive
 * while any member with our umid is (pids and groups are reused: check the umid). */
bool uk_guest_kernel_alive(pid_t pgid, const char *name)
{
	DIR *d;
	struct dirent *e;
	bool alive = false;

	if (pgid <= 0 || kill(-pgid, 0) < 0)
		return false;
	d = opendir("/proc");
	if (!d)
		return has_umid(pgid, name);
	while (!alive && (e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name), ppid, pgrp;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		if (uk_guest_proc_parents(pid, &ppid, &pgrp) < 0 || pgrp != pgid)
			continue;
		alive = has_umid(pid, name);
	}
	closedir(d);
	return alive;
}

/* A running guest's OOM kills so far, from its cgroup's record. */
static void live_oom_kills(const struct uk_guest_paths *p, struct uk_guest_status *st)
{
	struct uk_guest_cgroup cg;

	if (uk_guest_cgroup_load(&cg, p) == 0)
		st->oom_kills = uk_guest_cgroup_oom_kills(&cg);
}

int uk_guest_status(const char *name, struct uk_guest_status *st, struct uk_err *err)
{
	struct uk_guest_paths p;
	pid_t sup;
	int r;

	memset(st, 0, sizeof(*st));
	st->exit_status = -1;
	st->uid = st->gid = -1;
	st->jail = -1;
	snprintf(st->name, sizeof(st->name), "%s", name);
	r = uk_guest_paths(name, &p, err);
	if (r < 0)
		return r;
	snprintf(st->mconsole, sizeof(st->mconsole), "%s", p.mconsole);
	snprintf(st->console_log, sizeof(st->console_log), "%s", p.console_log);
	if (read_status_file(p.status, st) < 0) {
		st->state = access(p.dir, F_OK) == 0 ? UK_GUEST_LOST : UK_GUEST_NONE;
		if (st->state == UK_GUEST_NONE)
			return uk_err_set(err, ENOENT, "no guest named '%s'", name);
	}
	sup = uk_guest_supervisor_alive(&p);
	st->kernel_alive = uk_guest_kernel_alive(st->kernel_pid, name);
	if (sup)
		st->supervisor_pid = sup;
	else if (st->state == UK_GUEST_BOOTING || st->state == UK_GUEST_BOOTED ||
		 st->state == UK_GUEST_RUNNING) {
		st->state = UK_GUEST_LOST;
		snprintf(st->message, sizeof(st->message), "its supervisor (pid %d) died; %s",
			 (int)st->supervisor_pid,
			 st->kernel_alive ? "kernel processes are left unsupervised"
					  : "the kernel is gone");
	}
	if (sup && st->cgroup[0])
		live_oom_kills(&p, st);
	return 0;
}

static bool guest_name_ok(const char *name)
{
	return uk_guest_name_check(name, NULL) == 0;
}

int uk_guest_list(char ***names, int *count, struct uk_err *err)
{
	char root[PATH_MAX];
	int r = uk_guest_state_root(root, sizeof(root), err);

	*names = NULL;
	*count = 0;
	return r < 0 ? r : uk_dir_names(root, guest_name_ok, names, count, err);
}

int uk_guest_clean_kernel_dir(const struct uk_guest_paths *p)
{
	return uk_remove_tree(AT_FDCWD, p->uml_dir);
}

/* Remove the firewall policy and taps a dead supervisor left (its "net" record). */
static void clean_net(const struct uk_guest_paths *p)
{
	FILE *f = fopen(p->net, "re");
	char line[128], what[8], name[96];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%7s %95s", what, name) != 2)
			continue;
		if (!strcmp(what, "fw")) {
			uk_fw_flush(name, NULL);
		} else if (!strcmp(what, "tap")) {
			struct uk_tap_opts o;

			uk_tap_opts_init(&o);
			uk_tap_del(name, &o, NULL, NULL);
		}
	}
	fclose(f);
	unlink(p->net);
}

int uk_guest_clean_stale(const struct uk_guest_paths *p)
{
	clean_net(p);
	uk_guest_cgroup_clean(p);
	uk_guest_clean_kernel_dir(p);
	unlink(p->notify);
	unlink(p->console_sock);
	unlink(p->agent_sock);
	unlink(p->agent_ring);
	uk_guest_drop_kernel_dir(p);
	return 0;
}

int uk_guest_forget(const char *name, bool check_only, struct uk_err *err)
{
	_cleanup_close_ int dfd = -1, claim = -1;
	struct uk_guest_status st;
	struct uk_guest_paths p;
	struct stat sb;
	pid_t holder;
	int r = uk_guest_paths(name, &p, err);

	if (r < 0)
		return r;
	if (lstat(p.dir, &sb) < 0)
		return errno == ENOENT ? uk_err_set(err, ENOENT, "no guest named '%s'", name)
				       : uk_err_sys(err, errno, "%s", p.dir);
	if (!S_ISDIR(sb.st_mode)) { /* not umlkit's: the entry goes, what it points to stays */
		if (check_only)
			return 0;
		return unlink(p.dir) < 0 ? uk_err_sys(err, errno, "%s", p.dir) : 0;
	}
	dfd = uk_guest_state_open(name, false, err);
	if (dfd < 0)
		return dfd;
	/* the guest's claim, held while the state goes: no start can slip in between */
	r = uk_guest_claim(dfd, &claim, &holder);
	if (r == -EBUSY && holder > 0)
		return uk_err_set(
			err, EBUSY,
			"guest '%s' is running (supervisor pid %d); stop it first: umlkit "
			"stop %s",
			name, (int)holder, name);
	if (r == -EBUSY)
		return uk_guest_claim_busy(err, name, 0);
	if (r < 0)
		return uk_err_sys(err, -r, "%s", p.lock);
	r = uk_guest_status(name, &st, err);
	if (r < 0)
		return r;
	if (st.kernel_alive)
		return uk_err_set(
			err, EBUSY,
			"guest '%s': its kernel (pid %d) still runs, unsupervised; end it "
			"first: umlkit kill %s",
			name, (int)st.kernel_pid, name);
	if (check_only)
		return 0;
	uk_guest_clean_stale(&p);
	r = uk_remove_tree(AT_FDCWD, p.dir);
	if (r < 0)
		return uk_err_sys(err, -r, "%s: cannot remove it", p.dir);
	return 0;
}
