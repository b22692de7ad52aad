// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A cgroup for each guest, made below the cgroup umlkit itself runs in and never changing
 * anything above it: its memory, pids and (with --cpus) CPU limits, the kernel's processes
 * put in it before the kernel execs (every helper and every guest process it makes is then
 * in it), removed when the guest ends.
 *
 * Each controller is taken where the host has it: on its v1 hierarchy when one is mounted
 * with it (this process's cgroup of that hierarchy, from /proc/self/cgroup, found under the
 * mount's point through its root in /proc/self/mountinfo), else on the unified (v2) one when
 * this process's cgroup there delegates it (its cgroup.subtree_control names it: umlkit never
 * writes that file of its own cgroup). A controller it cannot have (no write access, as for
 * an ordinary user; not delegated; not mounted) is left out and said once, never an error.
 *
 * The limits (umlkit-guest(1) has the numbers they come from):
 *  - memory: --mem-limit, else mem + 16 MiB + 128 KiB for each task pids.max allows. A
 *    busybox guest that touched all of its memory used its memory file (at most mem) plus
 *    about 2 MiB of the kernel's own anonymous memory and 5 to 8 MiB of kernel memory (page
 *    tables, stacks); each further guest process is a host process costing about 100 KiB.
 *    The page cache of its disks is counted too, and reclaimed at the limit. No swap beyond
 *    it (v1: memsw; v2: swap.max 0), and on v2 an OOM kill ends the whole guest (oom.group).
 *  - pids: --pids-max, else 64 + one per 512 KiB of mem (576 for 256M).
 *  - cpu: --cpus N as a CFS quota of N * 100 ms every 100 ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"

#define CG_SELF_MAX	 65536
#define CG_MOUNTINFO_MAX (4 << 20)
#define CG_RMDIR_MS	 5000
#define CGROUP_MAGIC	 0x27e0eb
#define CGROUP2_MAGIC	 0x63677270

const char *const uk_cg_ctrl_names[UK_CG_NCTRL] = {"memory", "pids", "cpu"};

/* ---- pure parsing ---- */

/* The next line of buf[*off..len) into line (cut at its size), 0 at the end. */
static size_t next_line(const char *buf, size_t len, size_t *off, char *line, size_t size)
{
	size_t start = *off, n;

	if (start >= len)
		return 0;
	n = start;
	while (n < len && buf[n] != '\n')
		n++;
	*off = n + 1;
	n -= start;
	snprintf(line, size, "%.*s", (int)UK_MIN(n, size - 1), buf + start);
	return n + 1;
}

/* Does the comma separated list hold word? */
static bool list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, word, wl) && (p[wl] == ',' || p[wl] == '\0'))
			return true;
	return false;
}

static int set_path(char *dst, const char *src, struct uk_err *err)
{
	if (src[0] != '/' || strlen(src) >= PATH_MAX)
		return uk_err_set(err, EINVAL, "/proc/self/cgroup: '%.64s': not a cgroup path",
				  src);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* One line "ID:CONTROLLERS:PATH". */
static int self_line(char *line, struct uk_cg_self *out, struct uk_err *err)
{
	char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	int r = 0;

	if (!c2)
		return uk_err_set(err, EINVAL,
				  "/proc/self/cgroup: '%.64s': not ID:CONTROLLERS:PATH", line);
	*c1 = *c2 = '\0';
	if (!strcmp(line, "0") && c2 == c1 + 1)
		return set_path(out->v2, c2 + 1, err);
	for (int i = 0; r == 0 && i < UK_CG_NCTRL; i++)
		if (list_has(c1 + 1, uk_cg_ctrl_names[i]))
			r = set_path(out->v1[i], c2 + 1, err);
	return r;
}

int uk_cg_parse_self(const char *buf, size_t len, struct uk_cg_self *out, struct uk_err *err)
{
	char line[PATH_MAX + 256];
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	while (next_line(buf, len, &off, line, sizeof(line)))
		if (line[0] && self_line(line, out, err) < 0)
			return -EINVAL;
	return 0;
}

/* mountinfo's octal escapes (\040 a space, \011, \012, \134) undone, in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++, w++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w = *s;
		}
	}
	*w = '\0';
}

static void set_mount(struct uk_cg_mount *m, const char *root, const char *point)
{
	if (m->root[0])
		return; /* the first one */
	snprintf(m->root, sizeof(m->root), "%s", root);
	snprintf(m->point, sizeof(m->point), "%s", point);
}

/* One line "ID PARENT MAJ:MIN ROOT POINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS". */
static int mount_line(char *line, struct uk_cg_mounts *out, struct uk_err *err)
{
	char *f[6], *sep = strstr(line, " - "), *save = NULL, *type, *super;
	int n = 0;

	if (!sep)
		return uk_err_set(err, EINVAL, "/proc/self/mountinfo: '%.64s': no ' - '", line);
	*sep = '\0';
	for (char *t = strtok_r(line, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	type = strtok_r(sep + 3, " ", &save);
	(void)strtok_r(NULL, " ", &save); /* the source */
	super = strtok_r(NULL, " ", &save);
	if (n < 6 || !type || !super)
		return uk_err_set(err, EINVAL, "/proc/self/mountinfo: a line of %d fields", n);
	unescape(f[3]);
	unescape(f[4]);
	if (!strcmp(type, "cgroup2"))
		set_mount(&out->v2, f[3], f[4]);
	else if (!strcmp(type, "cgroup"))
		for (int i = 0; i < UK_CG_NCTRL; i++)
			if (list_has(super, uk_cg_ctrl_names[i]))
				set_mount(&out->v1[i], f[3], f[4]);
	return 0;
}

int uk_cg_parse_mountinfo(const char *buf, size_t len, struct uk_cg_mounts *out, struct uk_err *err)
{
	char line[2 * PATH_MAX + 512];
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	while (next_line(buf, len, &off, line, sizeof(line)))
		if (line[0] && mount_line(line, out, err) < 0)
			return -EINVAL;
	return 0;
}

/* dir: the cgroup path seen through mount m (its point, and path below the mount's root);
 * false when the mount does not show that cgroup. */
static bool through(const struct uk_cg_mount *m, const char *path, char *dir, size_t len)
{
	size_t rl = strlen(m->root);
	const char *rest;
	int n;

	if (!m->root[0] || !path[0])
		return false;
	if (!strcmp(m->root, "/"))
		rest = path;
	else if (!strncmp(path, m->root, rl) && (path[rl] == '/' || path[rl] == '\0'))
		rest = path + rl;
	else
		return false;
	if (!strcmp(rest, "/"))
		rest = "";
	n = snprintf(dir, len, "%s%s", m->point, rest);
	return n > 0 && (size_t)n < len;
}

void uk_cg_place(const struct uk_cg_self *self, const struct uk_cg_mounts *m,
		 struct uk_cg_place *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < UK_CG_NCTRL; i++) {
		const char *name = uk_cg_ctrl_names[i];

		if (m->v1[i].root[0] || self->v1[i][0]) {
			if (through(&m->v1[i], self->v1[i], out->dir[i], sizeof(out->dir[i])))
				out->version[i] = 1;
			else
				snprintf(out->why[i], sizeof(out->why[i]),
					 "its cgroup of the %s hierarchy is not mounted here",
					 name);
		} else if (through(&m->v2, self->v2, out->dir[i], sizeof(out->dir[i]))) {
			out->version[i] = 2;
		} else {
			snprintf(out->why[i], sizeof(out->why[i]), "no %s controller mounted",
				 name);
		}
	}
}

/* ---- options and limits ---- */

int uk_guest_spec_set_mem_limit(struct uk_guest_spec *s, const char *arg, struct uk_err *err)
{
	uint64_t v;

	if (uk_parse_size(arg, &v) < 0)
		return uk_err_set(err, EINVAL, "--mem-limit %s: not a size (like 96M or 1G)", arg);
	if (v < (8ULL << 20) || v > (1ULL << 40))
		return uk_err_set(err, EINVAL, "--mem-limit %s: must be from 8M to 1T", arg);
	s->mem_limit = v;
	return 0;
}

int uk_guest_spec_set_pids_max(struct uk_guest_spec *s, const char *arg, struct uk_err *err)
{
	uint64_t v;

	if (uk_parse_u64(arg, &v) < 0 || v < 16 || v > 4194304)
		return uk_err_set(err, EINVAL, "--pids-max %s: a number from 16 to 4194304", arg);
	s->pids_max = v;
	return 0;
}

int uk_guest_spec_set_cpu_quota(struct uk_guest_spec *s, const char *arg, struct uk_err *err)
{
	const char *dot = strchr(arg, '.');
	char whole[16] = "", frac[3] = "00"; /* "0.5": frac "50" */
	size_t wl = dot ? (size_t)(dot - arg) : strlen(arg), fl = dot ? strlen(dot + 1) : 0;
	uint64_t w, f;

	if (wl == 0 || wl >= sizeof(whole) || (dot && (fl == 0 || fl > 2)))
		return uk_err_set(err, EINVAL, "--cpus %s: a number of CPUs, e.g. 1 or 0.5", arg);
	memcpy(whole, arg, wl);
	if (dot)
		memcpy(frac, dot + 1, fl);
	if (uk_parse_u64(whole, &w) < 0 || uk_parse_u64(frac, &f) < 0)
		return uk_err_set(err, EINVAL, "--cpus %s: a number of CPUs, e.g. 1 or 0.5", arg);
	if (w > 1024 || w * 100 + f == 0 || w * 100 + f > 102400)
		return uk_err_set(err, EINVAL, "--cpus %s: must be from 0.01 to 1024", arg);
	s->cpus_centi = (uint32_t)(w * 100 + f);
	return 0;
}

uint64_t uk_cg_pids_max(const struct uk_guest_spec *s)
{
	return s->pids_max ? s->pids_max : UK_CG_PIDS_BASE + s->mem / UK_CG_PIDS_PER;
}

uint64_t uk_cg_mem_limit(const struct uk_guest_spec *s)
{
	if (s->mem_limit)
		return s->mem_limit;
	return s->mem + UK_CG_MEM_EXTRA + uk_cg_pids_max(s) * UK_CG_MEM_PER_TASK;
}

/* ---- files of a cgroup ---- */

/* dir/file into buf (NUL-terminated): its length, or -errno. */
static ssize_t read_at(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return uk_guest_read_small(path, buf, len);
}

/* A whole file of /proc into a heap buffer (at most max bytes): its length, or -errno. */
static ssize_t read_proc(const char *path, char **out, size_t max)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t n = 0;

	*out = NULL;
	if (fd < 0)
		return -errno;
	buf = malloc(max);
	if (!buf)
		return -ENOMEM;
	for (;;) { /* /proc files: read until 0, a read at a time */
		ssize_t r = read(fd, buf + n, max - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			return -e;
		}
		if (r == 0 || (n += (size_t)r) == max)
			break;
	}
	*out = buf;
	return (ssize_t)n;
}

static int write_at(const char *dir, const char *file, const char *text, struct uk_err *err)
{
	char path[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || uk_write_all(fd, text, strlen(text)) < 0)
		return uk_err_sys(err, errno, "cgroup: %s: writing '%s'", path, text);
	return 0;
}

/* Does the cgroup have this file (a controller's optional one)? */
static bool access_at_ok(const char *dir, const char *file)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

/* A value "KEY N" of a flat keyed file (memory.events, memory.oom_control), or 0. */
static uint64_t keyed(const char *dir, const char *file, const char *key)
{
	char buf[2048], *p = buf;
	size_t kl = strlen(key);

	if (read_at(dir, file, buf, sizeof(buf)) < 0)
		return 0;
	for (; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtoull(p + kl + 1, NULL, 10);
	return 0;
}

/* ---- making it ---- */

static void note_add(struct uk_guest_cgroup *cg, const char *ctrl, const char *why)
{
	size_t n = strlen(cg->note);

	if (!n)
		snprintf(cg->note, sizeof(cg->note), "cgroup: not applied: %s (%s)", ctrl, why);
	else
		snprintf(cg->note + n, sizeof(cg->note) - n, "; %s (%s)", ctrl, why);
}

/* Does the v2 cgroup dir delegate ctrl to the cgroups made in it? */
static bool delegates(const char *dir, const char *ctrl)
{
	char buf[512];

	if (read_at(dir, "cgroup.subtree_control", buf, sizeof(buf)) < 0)
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
		if (!strcmp(t, ctrl))
			return true;
	return false;
}

/* This process's cgroups, placed; -errno when /proc cannot tell. */
static int find_own(struct uk_cg_place *pl, struct uk_err *err)
{
	_cleanup_free_ char *self = NULL, *mi = NULL;
	struct uk_cg_self *cs = calloc(1, sizeof(*cs));
	struct uk_cg_mounts *ms = calloc(1, sizeof(*ms));
	ssize_t ns = read_proc("/proc/self/cgroup", &self, CG_SELF_MAX);
	ssize_t nm = read_proc("/proc/self/mountinfo", &mi, CG_MOUNTINFO_MAX);
	int r = 0;

	if (!cs || !ms)
		r = uk_err_sys(err, ENOMEM, "cgroup");
	else if (ns < 0 || nm < 0)
		r = uk_err_sys(err, (int)-(ns < 0 ? ns : nm), "cgroup: /proc/self/%s",
			       ns < 0 ? "cgroup" : "mountinfo");
	if (r == 0)
		r = uk_cg_parse_self(self, (size_t)ns, cs, err);
	if (r == 0)
		r = uk_cg_parse_mountinfo(mi, (size_t)nm, ms, err);
	if (r == 0)
		uk_cg_place(cs, ms, pl);
	free(cs);
	free(ms);
	return r;
}

/* Controller i's cgroup dir/NAME made (or shared with one made before): its index, or -1
 * with the reason in the note. */
static int make_dir(struct uk_guest_cgroup *cg, const struct uk_cg_place *pl, int i,
		    const char *name)
{
	char dir[PATH_MAX];

	if (pl->version[i] == 0) {
		note_add(cg, uk_cg_ctrl_names[i], pl->why[i]);
		return -1;
	}
	if (pl->version[i] == 2 && !delegates(pl->dir[i], uk_cg_ctrl_names[i])) {
		note_add(cg, uk_cg_ctrl_names[i], "not delegated to umlkit's cgroup");
		return -1;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", pl->dir[i], name) >= sizeof(dir)) {
		note_add(cg, uk_cg_ctrl_names[i], "path too long");
		return -1;
	}
	for (int d = 0; d < cg->ndirs; d++)
		if (!strcmp(cg->dirs[d], dir))
			return d;
	if (mkdir(dir, 0755) < 0 && (errno != EEXIST || rmdir(dir) < 0 || mkdir(dir, 0755) < 0)) {
		char why[96];

		snprintf(why, sizeof(why), "%s", strerror(errno));
		note_add(cg, uk_cg_ctrl_names[i],
			 access(pl->dir[i], W_OK) ? "no write access" : why);
		return -1;
	}
	memcpy(cg->dirs[cg->ndirs], dir, strlen(dir) + 1);
	cg->dir_v2[cg->ndirs] = pl->version[i] == 2;
	return cg->ndirs++;
}

static int limit_memory(const struct uk_guest_cgroup *cg, const char *dir, bool v2,
			struct uk_err *err)
{
	char v[32];
	int r;

	snprintf(v, sizeof(v), "%" PRIu64, cg->mem_limit);
	if (v2) {
		r = write_at(dir, "memory.max", v, err);
		if (r == 0 && access_at_ok(dir, "memory.swap.max"))
			r = write_at(dir, "memory.swap.max", "0", err);
		if (r == 0 && access_at_ok(dir, "memory.oom.group"))
			r = write_at(dir, "memory.oom.group", "1", err);
		return r;
	}
	r = write_at(dir, "memory.limit_in_bytes", v, err);
	if (r == 0 && access_at_ok(dir, "memory.memsw.limit_in_bytes"))
		r = write_at(dir, "memory.memsw.limit_in_bytes", v, err);
	return r;
}

static int limit_cpu(const struct uk_guest_cgroup *cg, const char *dir, bool v2, uint32_t centi,
		     struct uk_err *err)
{
	char v[64];
	uint64_t quota = (uint64_t)centi * UK_CG_CPU_PERIOD / 100;
	int r;

	(void)cg;
	if (v2) {
		snprintf(v, sizeof(v), "%" PRIu64 " %llu", quota, UK_CG_CPU_PERIOD);
		return write_at(dir, "cpu.max", v, err);
	}
	snprintf(v, sizeof(v), "%llu", UK_CG_CPU_PERIOD);
	r = write_at(dir, "cpu.cfs_period_us", v, err);
	snprintf(v, sizeof(v), "%" PRIu64, quota);
	return r < 0 ? r : write_at(dir, "cpu.cfs_quota_us", v, err);
}

/* Controller i's limit into its directory. */
static int limit(const struct uk_guest_cgroup *cg, const struct uk_guest_spec *s, int i,
		 struct uk_err *err)
{
	const char *dir = cg->dirs[cg->of[i]];
	bool v2 = cg->dir_v2[cg->of[i]];
	char v[32];

	if (i == UK_CG_MEMORY)
		return limit_memory(cg, dir, v2, err);
	if (i == UK_CG_CPU)
		return limit_cpu(cg, dir, v2, s->cpus_centi, err);
	snprintf(v, sizeof(v), "%" PRIu64, cg->pids_max);
	return write_at(dir, "pids.max", v, err);
}

int uk_guest_cgroup_make(struct uk_guest_cgroup *cg, const struct uk_guest_spec *s,
			 struct uk_err *err)
{
	struct uk_cg_place *pl = calloc(1, sizeof(*pl));
	char name[UK_GUEST_NAME_MAX + 32];
	int r;

	memset(cg, 0, sizeof(*cg));
	for (int i = 0; i < UK_CG_NCTRL; i++)
		cg->of[i] = -1;
	cg->pids_max = uk_cg_pids_max(s);
	cg->mem_limit = uk_cg_mem_limit(s);
	if (!pl)
		return uk_err_sys(err, ENOMEM, "cgroup");
	r = find_own(pl, err);
	snprintf(name, sizeof(name), "umlkit-%s.%d", s->name, (int)getpid());
	for (int i = 0; r == 0 && i < UK_CG_NCTRL; i++) {
		if (i == UK_CG_CPU && !s->cpus_centi)
			continue;
		cg->of[i] = make_dir(cg, pl, i, name);
		if (cg->of[i] >= 0)
			r = limit(cg, s, i, err);
	}
	free(pl);
	if (r < 0)
		uk_guest_cgroup_remove(cg);
	return r;
}

int uk_guest_cgroup_join(const struct uk_guest_cgroup *cg, struct uk_err *err)
{
	for (int d = 0; d < cg->ndirs; d++) {
		int r = write_at(cg->dirs[d], "cgroup.procs", "0", err);

		if (r < 0)
			return r;
	}
	return 0;
}

uint64_t uk_guest_cgroup_oom_kills(const struct uk_guest_cgroup *cg)
{
	int d = cg->of[UK_CG_MEMORY];

	if (d < 0)
		return 0;
	if (cg->dir_v2[d])
		return keyed(cg->dirs[d], "memory.events", "oom_kill");
	return keyed(cg->dirs[d], "memory.oom_control", "oom_kill");
}

/* SIGKILL every process left in the cgroup dir (only the guest's kernel processes ever
 * entered it). */
static void kill_left(const char *dir)
{
	char buf[16384], *p = buf;

	if (read_at(dir, "cgroup.procs", buf, sizeof(buf)) <= 0)
		return;
	for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		long pid = strtol(p, NULL, 10);

		if (pid > 1)
			kill((pid_t)pid, SIGKILL);
	}
}

/* rmdir, retried while its last processes exit, CG_RMDIR_MS at most. */
static void remove_dir(const char *dir)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	for (int t = 0; t < CG_RMDIR_MS; t += 20) {
		if (rmdir(dir) == 0 || errno != EBUSY)
			return;
		kill_left(dir);
		nanosleep(&ts, NULL);
	}
}

void uk_guest_cgroup_remove(struct uk_guest_cgroup *cg)
{
	for (int d = 0; d < cg->ndirs; d++)
		remove_dir(cg->dirs[d]);
	cg->ndirs = 0;
	for (int i = 0; i < UK_CG_NCTRL; i++)
		cg->of[i] = -1;
}

/* ---- the record in the state directory ---- */

static void record_path(const struct uk_guest_paths *p, char *out, size_t len)
{
	snprintf(out, len, "%s/cgroup", p->dir);
}

int uk_guest_cgroup_record(const struct uk_guest_cgroup *cg, const struct uk_guest_paths *p,
			   struct uk_err *err)
{
	char path[PATH_MAX + 16], buf[UK_CG_NCTRL * (PATH_MAX + 16)];
	size_t n = 0;

	record_path(p, path, sizeof(path));
	if (!cg->ndirs) {
		unlink(path);
		return 0;
	}
	for (int i = 0; i < UK_CG_NCTRL; i++)
		if (cg->of[i] >= 0)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s %s\n",
					      uk_cg_ctrl_names[i], cg->dirs[cg->of[i]]);
	return uk_guest_write_whole(path, buf, n, err);
}

/* A directory a record may name: an absolute path on a cgroup file system, named umlkit-*. */
static bool ours(const char *dir)
{
	const char *base = strrchr(dir, '/');
	struct statfs sf;

	return base && dir[0] == '/' && !strncmp(base + 1, "umlkit-", 7) && !strstr(dir, "/..") &&
	       statfs(dir, &sf) == 0 &&
	       ((unsigned long)sf.f_type == CGROUP_MAGIC ||
		(unsigned long)sf.f_type == CGROUP2_MAGIC);
}

int uk_guest_cgroup_load(struct uk_guest_cgroup *cg, const struct uk_guest_paths *p)
{
	char path[PATH_MAX + 16], line[PATH_MAX + 32];
	FILE *f;

	memset(cg, 0, sizeof(*cg));
	for (int i = 0; i < UK_CG_NCTRL; i++)
		cg->of[i] = -1;
	record_path(p, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');

		line[strcspn(line, "\n")] = '\0';
		if (!sp)
			continue;
		*sp++ = '\0';
		for (int i = 0, d = 0; i < UK_CG_NCTRL; i++, d = 0) {
			if (strcmp(line, uk_cg_ctrl_names[i]) || cg->of[i] >= 0 || !ours(sp))
				continue;
			while (d < cg->ndirs && strcmp(cg->dirs[d], sp))
				d++;
			if (d == cg->ndirs) {
				snprintf(cg->dirs[d], sizeof(cg->dirs[d]), "%s", sp);
				cg->dir_v2[d] = access_at_ok(sp, "cgroup.controllers");
				cg->ndirs++;
			}
			cg->of[i] = d;
		}
	}
	fclose(f);
	return 0;
}

void uk_guest_cgroup_clean(const struct uk_guest_paths *p)
{
	struct uk_guest_cgroup cg;
	char path[PATH_MAX + 16];

	if (uk_guest_cgroup_load(&cg, p) < 0)
		return;
	for (int d = 0; d < cg.ndirs; d++)
		rmdir(cg.dirs[d]);
	record_path(p, path, sizeof(path));
	unlink(path);
}

/* ---- the supervisor's hooks ---- */

int uk_guest_cgroup_start(struct uk_guest_cgroup *cg, const struct uk_guest_spec *s,
			  const struct uk_guest_paths *p, struct uk_guest_status *st,
			  struct uk_err *err)
{
	int r = uk_guest_cgroup_make(cg, s, err);

	if (r == 0)
		r = uk_guest_cgroup_record(cg, p, err);
	if (r < 0) {
		uk_guest_cgroup_remove(cg);
		return r;
	}
	st->cgroup[0] = '\0';
	if (cg->of[UK_CG_MEMORY] >= 0)
		snprintf(st->cgroup, sizeof(st->cgroup), "%s", cg->dirs[cg->of[UK_CG_MEMORY]]);
	else if (cg->ndirs)
		snprintf(st->cgroup, sizeof(st->cgroup), "%s", cg->dirs[0]);
	st->mem_limit = cg->of[UK_CG_MEMORY] >= 0 ? cg->mem_limit : 0;
	st->pids_max = cg->of[UK_CG_PIDS] >= 0 ? cg->pids_max : 0;
	st->cpus_centi = cg->of[UK_CG_CPU] >= 0 ? s->cpus_centi : 0;
	snprintf(st->cgroup_note, sizeof(st->cgroup_note), "%s", cg->note);
	return 0;
}

void uk_guest_cgroup_ended(struct uk_guest_cgroup *cg, int wst, struct uk_guest_status *st)
{
	uint64_t kills = uk_guest_cgroup_oom_kills(cg);

	st->oom_kills = kills;
	if (kills <= cg->oom_base || !WIFSIGNALED(wst) || WTERMSIG(wst) != SIGKILL)
		return;
	st->oom_killed = true;
	snprintf(st->message, sizeof(st->message),
		 "killed by the host's OOM killer (memory limit %" PRIu64 " MiB)",
		 cg->mem_limit >> 20);
}

void uk_guest_cgroup_end(struct uk_guest_cgroup *cg, const struct uk_guest_paths *p)
{
	char path[PATH_MAX + 16];

	if (!cg->ndirs)
		return;
	uk_guest_cgroup_remove(cg);
	record_path(p, path, sizeof(path));
	unlink(path);
}
