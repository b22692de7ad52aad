// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The guest kernel's jail, after the steps of the Firecracker jailer: new pid, mount, ipc,
 * uts (and cgroup) namespaces; a root of its own on a tmpfs holding only what the kernel
 * needs, each file bind mounted at the path it has on the host (so the kernel's command
 * line stays as it is), entered with pivot_root and the old root detached, then made
 * read-only; a private exec-able tmpfs on /tmp and /dev/shm for its memory file; rlimits; a
 * clean environment; no capabilities (bounding and ambient sets emptied too); its own uid
 * and gid, no supplementary groups; no_new_privs. hostfs inside the guest therefore sees
 * only this root.
 *
 * Who the kernel runs as: --user's user; for an unprivileged caller the caller, in a user
 * namespace of its own (the only way it may make the other namespaces; its supplementary
 * groups stay: setgroups is denied there); for root without --user an id of the range
 * UK_JAIL_ID_BASE (jail-internal.h), its disks, uml_dir, notify socket and agent ring
 * bind mounted idmapped (root's files show as that id's, and what the kernel makes is
 * root's on the host), so no file of the user's changes owner.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlkit/cow.h"
#include "jail-internal.h"

#define JAIL_NOFILE   4096 /* the kernel's RLIMIT_NOFILE */
#define JAIL_ROOT_OPT "mode=0755,size=4m"
#define JAIL_LIBS     32 /* shared objects the kernel may need, its loader included */

/* What a bind mount gives: read-only or read-write, idmapped (root without --user) or not. */
enum { BIND_RO = 0, BIND_RW = 1, BIND_IDMAP = 2 };

/* A whole small file of /proc (a map, setgroups) written in one write. */
static int write_proc(const char *path, const char *text, struct uk_err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return uk_err_sys(err, errno, "jail: %s", path);
	if (uk_write_all(fd, text, strlen(text)) < 0)
		r = uk_err_sys(err, errno, "jail: %s", path);
	close(fd);
	return r;
}

static unsigned long name_hash(const char *s)
{
	unsigned long h = 2166136261UL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619UL;
	return h & 0xffffffffUL;
}

/* A user namespace mapping uid and gid 0 to uid and gid: the idmap of root's files. */
static int make_idmap(uid_t uid, gid_t gid, struct uk_err *err)
{
	char path[64], map[64];
	int pfd[2], fd = -1, r = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return uk_err_sys(err, errno, "jail: pipe");
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		char c;

		close(pfd[1]);
		_exit(read(pfd[0], &c, 1) < 0); /* until the parent is done */
	}
	close(pfd[0]);
	if (pid < 0) {
		close(pfd[1]);
		return uk_err_sys(err, errno, "jail: a user namespace for the idmapped mounts");
	}
	snprintf(map, sizeof(map), "0 %lu 1\n", (unsigned long)uid);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	r = write_proc(path, map, err);
	snprintf(map, sizeof(map), "0 %lu 1\n", (unsigned long)gid);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	if (r == 0)
		r = write_proc(path, map, err);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (r == 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		r = uk_err_sys(err, errno, "jail: %s", path);
	close(pfd[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? r : fd;
}

/* Can this (unprivileged) process make a user namespace? 0, or -errno why not. */
static int userns_allowed(void)
{
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return -errno;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/* note += "; " + what */
static void note_add(struct uk_jail *j, const char *what)
{
	size_t n = strlen(j->note);

	snprintf(j->note + n, sizeof(j->note) - n, "%s%s", n ? "; " : "", what);
}

/* An unprivileged caller: what of the jail it cannot have (bare: user namespaces refused). */
static void unprivileged_note(struct uk_jail *j)
{
	gid_t groups[64];
	int n = getgroups((int)UK_ARRAY_SIZE(groups), groups), extra = 0, r;
	char what[160];

	r = userns_allowed();
	if (r < 0) {
		j->bare = true;
		snprintf(what, sizeof(what),
			 "namespaces and a root of its own, so hostfs sees the host's files (this "
			 "host refuses a user namespace: %s)",
			 strerror(-r));
		note_add(j, what);
	}
	for (int i = 0; i < n; i++)
		extra += groups[i] != getegid();
	if (extra) {
		snprintf(what, sizeof(what), "dropping its supplementary groups (%d kept: %s)",
			 extra, j->bare ? "only root can" : "a user namespace cannot drop them");
		note_add(j, what);
	}
	snprintf(what, sizeof(what),
		 "a uid of its own (it runs as its caller, uid %lu: only root can give it "
		 "another)",
		 (unsigned long)geteuid());
	note_add(j, what);
}

int uk_jail_check_kernel(const struct uk_guest_spec *s, struct uk_err *err)
{
	char head[2];
	ssize_t n;
	int fd;

	if (s->no_jail || (fd = open(s->kernel, O_RDONLY | O_CLOEXEC)) < 0)
		return 0; /* the launch says what is wrong with a kernel it cannot open */
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n == 2 && head[0] == '#' && head[1] == '!')
		return uk_err_set(err, ENOEXEC,
				  "kernel %s: a script (#!), not a kernel binary: a jailed "
				  "kernel's root holds only the kernel and the libraries its ELF "
				  "headers name, neither an interpreter nor what a script runs; "
				  "give the kernel's binary, or start the guest with --no-jail",
				  s->kernel);
	return 0;
}

int uk_jail_prepare(struct uk_jail *j, const struct uk_guest_spec *s,
		    const struct uk_guest_paths *p, struct uk_err *err)
{
	struct stat st;
	int r;

	memset(j, 0, sizeof(*j));
	j->idmap_fd = -1;
	j->alive[0] = j->alive[1] = -1;
	j->on = !s->no_jail;
	j->uid = (uid_t)uk_guest_uid(s);
	j->gid = (gid_t)uk_guest_gid(s);
	if (!j->on)
		return 0;
	j->userns = geteuid() != 0;
	if (!j->userns && s->uid < 0) {
		j->idmap = true;
		j->uid = (uid_t)(UK_JAIL_ID_BASE + name_hash(s->name) % UK_JAIL_ID_SPAN);
		j->gid = (gid_t)j->uid;
	}
	if (j->userns)
		unprivileged_note(j);
	if ((size_t)snprintf(j->root, sizeof(j->root), "%s/jail", p->dir) >= sizeof(j->root))
		return uk_err_set(err, ENAMETOOLONG, "%s/jail: path too long", p->dir);
	if (mkdir(j->root, 0700) < 0 && errno != EEXIST)
		return uk_err_sys(err, errno, "%s", j->root);
	if (lstat(j->root, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return uk_err_set(err, EPERM, "%s: not a directory of this user's", j->root);
	if (pipe2(j->alive, O_CLOEXEC) < 0)
		return uk_err_sys(err, errno, "jail: pipe");
	if (j->idmap) {
		r = make_idmap(j->uid, j->gid, err);
		if (r < 0)
			return r;
		j->idmap_fd = r;
	}
	return 0;
}

void uk_jail_free(struct uk_jail *j)
{
	int *fds[] = {&j->idmap_fd, &j->alive[0], &j->alive[1]};

	for (size_t i = 0; i < UK_ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

unsigned long uk_jail_clone_flags(const struct uk_jail *j)
{
	unsigned long fl = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;

	if (!j->on || j->bare)
		return 0;
	return j->userns ? fl | CLONE_NEWUSER : fl;
}

bool uk_jail_orphaned(const struct uk_jail *j)
{
	struct pollfd p = {.fd = j->alive[0], .events = POLLIN};

	if (!j->on)
		return false;
	close(j->alive[1]); /* this child's copy */
	return poll(&p, 1, 0) != 0;
}

/* ---- in the child ---- */

/* An unprivileged caller in its new user namespace: itself, mapped to itself. */
static int map_self(const struct uk_jail *j, struct uk_err *err)
{
	char map[64];
	int r;

	r = write_proc("/proc/self/setgroups", "deny", err);
	snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)j->uid, (unsigned long)j->uid);
	if (r == 0)
		r = write_proc("/proc/self/uid_map", map, err);
	snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)j->gid, (unsigned long)j->gid);
	if (r == 0)
		r = write_proc("/proc/self/gid_map", map, err);
	return r;
}

/* dst: root + path (path made absolute against the working directory). */
static int in_root(const struct uk_jail *j, const char *path, char *dst, size_t len,
		   struct uk_err *err)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(dst, len, "%s%s", j->root, path);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(dst, len, "%s%s/%s", j->root, cwd, path);
	else
		return uk_err_sys(err, errno, "jail: %s: the working directory", path);
	if (n < 0 || (size_t)n >= len)
		return uk_err_set(err, ENAMETOOLONG, "jail: %s: path too long", path);
	return 0;
}

/* The directories above dst (inside the root, which exists), made 0755. */
static int make_parents(const struct uk_jail *j, char *dst, struct uk_err *err)
{
	size_t base = strlen(j->root);

	for (char *c = dst + base + 1; (c = strchr(c, '/')); c++) {
		*c = '\0';
		if (mkdir(dst, 0755) < 0 && errno != EEXIST) {
			int e = errno;

			*c = '/';
			return uk_err_sys(err, e, "jail: %s", dst);
		}
		*c = '/';
	}
	return 0;
}

/* The mount point of a bind: an empty file or directory like src. */
static int make_point(const char *src, const char *dst, struct uk_err *err)
{
	struct stat st;
	int fd;

	if (stat(src, &st) < 0)
		return uk_err_sys(err, errno, "jail: %s", src);
	if (S_ISDIR(st.st_mode))
		return mkdir(dst, 0755) < 0 && errno != EEXIST
			       ? uk_err_sys(err, errno, "jail: %s", dst)
			       : 0;
	fd = open(dst, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return uk_err_sys(err, errno, "jail: %s", dst);
	close(fd);
	return 0;
}

/* Bind src at path at inside the root: a detached clone, set read-only and/or
 * idmapped, moved in place. */
static int bind_at(const struct uk_jail *j, const char *src, const char *at, int how,
		   struct uk_err *err)
{
	struct mount_attr a = {0};
	char dst[PATH_MAX];
	int fd, r;

	r = in_root(j, at, dst, sizeof(dst), err);
	if (r == 0)
		r = make_parents(j, dst, err);
	if (r == 0)
		r = make_point(src, dst, err);
	if (r < 0)
		return r;
	fd = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return uk_err_sys(err, errno, "jail: %s: a bind mount", src);
	if (!(how & BIND_RW))
		a.attr_set |= MOUNT_ATTR_RDONLY;
	if ((how & BIND_IDMAP) && j->idmap) {
		a.attr_set |= MOUNT_ATTR_IDMAP;
		a.userns_fd = (uint64_t)j->idmap_fd;
	}
	if (a.attr_set && syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0) {
		r = uk_err_sys(err, errno, "jail: %s: %s", src,
			       (a.attr_set & MOUNT_ATTR_IDMAP) ? "an idmapped mount (for uid "
								 "of the jail)"
							       : "a read-only mount");
	} else if (syscall(SYS_move_mount, fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		r = uk_err_sys(err, errno, "jail: %s: mounting it on %s", src, dst);
	}
	close(fd);
	return r;
}

/* Bind src at its own path inside the root. */
static int bind_in(const struct uk_jail *j, const char *src, int how, struct uk_err *err)
{
	return bind_at(j, src, src, how, err);
}

/* ---- the kernel's shared objects: its ELF loader and DT_NEEDED, recursively ---- */

struct objs {
	char path[JAIL_LIBS][PATH_MAX];
	int n;
};

static bool objs_add(struct objs *o, const char *path)
{
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->path[i], path))
			return true;
	if (o->n == JAIL_LIBS)
		return false;
	snprintf(o->path[o->n++], PATH_MAX, "%s", path);
	return true;
}

/* The file offset of virtual address va, from the PT_LOAD headers; -1 if none holds it. */
static off_t va_off(const Elf64_Phdr *ph, int n, uint64_t va)
{
	for (int i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr &&
		    va < ph[i].p_vaddr + ph[i].p_filesz)
			return (off_t)(va - ph[i].p_vaddr + ph[i].p_offset);
	return -1;
}

/* dir/name into out when it fits and is readable. */
static bool lib_at(char *out, size_t len, const char *dir, const char *sub, const char *name)
{
	int n = snprintf(out, len, "%s%s/%s", dir, sub, name);

	return n > 0 && (size_t)n < len && access(out, R_OK) == 0;
}

/* Find NAME in the runpath (with $ORIGIN the object's directory), then the usual dirs. */
static void find_lib(struct objs *o, const char *obj, const char *runpath, const char *name)
{
	static const char *const dirs[] = {"/lib/x86_64-linux-gnu",
					   "/usr/lib/x86_64-linux-gnu",
					   "/lib64",
					   "/usr/lib64",
					   "/lib",
					   "/usr/lib"};
	char origin[PATH_MAX], d[PATH_MAX], cand[PATH_MAX];
	const char *p = runpath;

	snprintf(origin, sizeof(origin), "%s", obj);
	*(strrchr(origin, '/') ? strrchr(origin, '/') : origin) = '\0';
	while (p && *p) {
		size_t l = strcspn(p, ":");

		snprintf(d, sizeof(d), "%.*s", (int)l, p);
		if (!strncmp(d, "$ORIGIN", 7) ? lib_at(cand, sizeof(cand), origin, d + 7, name)
					      : lib_at(cand, sizeof(cand), d, "", name))
			if (objs_add(o, cand))
				return;
		p += l + (p[l] == ':');
	}
	for (size_t i = 0; i < UK_ARRAY_SIZE(dirs); i++) {
		if (lib_at(cand, sizeof(cand), dirs[i], "", name) && objs_add(o, cand))
			return;
	}
}

/* The dynamic section's strings: DT_NEEDED names looked up, DT_RUNPATH/RPATH honoured. */
static void scan_dynamic(struct objs *o, const char *obj, int fd, const Elf64_Phdr *ph, int n,
			 const Elf64_Phdr *dyn)
{
	static Elf64_Dyn d[512];
	static char strs[65536];
	size_t nd = UK_MIN(dyn->p_filesz / sizeof(Elf64_Dyn), UK_ARRAY_SIZE(d));
	uint64_t strtab = 0, strsz = 0, run = UINT64_MAX;
	off_t so;

	if (pread(fd, d, nd * sizeof(Elf64_Dyn), (off_t)dyn->p_offset) !=
	    (ssize_t)(nd * sizeof(*d)))
		return;
	for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL; i++) {
		if (d[i].d_tag == DT_STRTAB)
			strtab = d[i].d_un.d_ptr;
		else if (d[i].d_tag == DT_STRSZ)
			strsz = d[i].d_un.d_val;
		else if (d[i].d_tag == DT_RUNPATH || (d[i].d_tag == DT_RPATH && run == UINT64_MAX))
			run = d[i].d_un.d_val;
	}
	so = va_off(ph, n, strtab);
	strsz = UK_MIN(strsz, sizeof(strs) - 1);
	if (so < 0 || pread(fd, strs, strsz, so) != (ssize_t)strsz)
		return;
	strs[strsz] = '\0';
	for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL; i++)
		if (d[i].d_tag == DT_NEEDED && d[i].d_un.d_val < strsz &&
		    !strchr(strs + d[i].d_un.d_val, '/'))
			find_lib(o, obj, run < strsz ? strs + run : NULL, strs + d[i].d_un.d_val);
}

/* One object: its PT_INTERP and its needed libraries join o. */
static void scan_obj(struct objs *o, const char *obj)
{
	static Elf64_Phdr ph[64];
	Elf64_Ehdr eh;
	char interp[PATH_MAX];
	int fd = open(obj, O_RDONLY | O_CLOEXEC), n;

	if (fd < 0)
		return;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
		close(fd);
		return;
	}
	n = UK_MIN(eh.e_phnum, (int)UK_ARRAY_SIZE(ph));
	if (pread(fd, ph, (size_t)n * sizeof(*ph), (off_t)eh.e_phoff) != (ssize_t)(n * sizeof(*ph)))
		n = 0;
	for (int i = 0; i < n; i++) {
		size_t l = UK_MIN(ph[i].p_filesz, sizeof(interp) - 1);

		if (ph[i].p_type == PT_INTERP &&
		    pread(fd, interp, l, (off_t)ph[i].p_offset) == (ssize_t)l) {
			interp[l] = '\0';
			objs_add(o, interp);
		} else if (ph[i].p_type == PT_DYNAMIC) {
			scan_dynamic(o, obj, fd, ph, n, &ph[i]);
		}
	}
	close(fd);
}

/* What glibc opens at run time, which no ELF header names: libgcc_s.so.1, for thread
 * cancellation and exit (sid's 7.2 kernel calls pthread_cancel when it halts; without it,
 * "libgcc_s.so.1 must be installed for pthread_cancel to work" and abort()). Taken from the
 * directories glibc's loader searches by default, where it will look for it. */
static void add_runtime_libs(struct objs *o)
{
	for (int i = 0; i < o->n; i++) {
		const char *base = strrchr(o->path[i], '/');

		if (base && !strcmp(base + 1, "libc.so.6")) {
			find_lib(o, o->path[i], NULL, "libgcc_s.so.1");
			return;
		}
	}
}

/* The kernel, the preload and every object they need, read-only. */
static int bind_objects(const struct uk_jail *j, const char *kernel, const char *preload,
			struct uk_err *err)
{
	static struct objs o;
	int r = 0;

	o.n = 0;
	objs_add(&o, kernel);
	if (preload && preload[0])
		objs_add(&o, preload);
	for (int i = 0; i < o.n; i++)
		scan_obj(&o, o.path[i]);
	add_runtime_libs(&o);
	for (int i = 0; r == 0 && i < o.n; i++)
		r = bind_in(j, o.path[i], BIND_RO, err);
	return r;
}

/* The guest's disks, their backings (given, or named by a COW's header) and its modules. */
static int bind_disks(const struct uk_jail *j, const struct uk_guest_spec *s, struct uk_err *err)
{
	int r = 0;

	for (int i = 0; r == 0 && i < s->ndisks; i++) {
		const struct uk_guest_disk *d = &s->disks[i];
		struct uk_cow *c = NULL;

		r = bind_in(j, d->file, BIND_IDMAP | (strchr(d->flags, 'r') ? BIND_RO : BIND_RW),
			    err);
		if (r == 0 && d->backing[0])
			r = bind_in(j, d->backing, BIND_IDMAP | BIND_RO, err);
		else if (r == 0 && !strchr(d->flags, 'd') &&
			 uk_cow_open(&c, d->file, NULL, UK_COW_OPEN_NO_BACKING | UK_COW_OPEN_SHARED,
				     NULL) == 0) {
			if (c->h.backing[0])
				r = bind_in(j, c->h.backing, BIND_IDMAP | BIND_RO, err);
			uk_cow_close(c);
		}
	}
	if (r == 0 && s->modules[0])
		r = bind_in(j, s->modules, BIND_IDMAP | BIND_RO, err);
	return r;
}

/* A tmpfs of the jail's on where (inside its root; the directories made), with flags and opt. */
static int mount_tmpfs(const struct uk_jail *j, const char *where, unsigned long flags,
		       const char *opt, struct uk_err *err)
{
	char dst[PATH_MAX];
	int r = in_root(j, where, dst, sizeof(dst), err);

	if (r == 0)
		r = make_parents(j, dst, err);
	if (r < 0)
		return r;
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return uk_err_sys(err, errno, "jail: %s", dst);
	if (mount("tmpfs", dst, "tmpfs", flags, opt) < 0)
		return uk_err_sys(err, errno, "jail: a tmpfs on %s", dst);
	return 0;
}

/*
 * The kernel's own tun node, as the Firecracker jailer makes one: on a small tmpfs of the
 * jail's (its root is nodev) at /dev/net, char 10:200, mode 0600, the kernel's uid and gid.
 * The host's /dev/net/tun, whatever its mode, is not in the jail. The node opens any tap, but
 * attaching to one needs its owner's uid (or CAP_NET_ADMIN, which the kernel has not): the
 * kernel reaches the taps made for it and no other.
 */
static int make_tun(const struct uk_jail *j, struct uk_err *err)
{
	char node[PATH_MAX];
	int r = mount_tmpfs(j, UK_JAIL_TUN_DIR, MS_NOSUID | MS_NOEXEC,
			    "mode=0755,size=4k,nr_inodes=4", err);

	if (r == 0)
		r = in_root(j, UK_JAIL_TUN_DIR "/tun", node, sizeof(node), err);
	if (r < 0)
		return r;
	if (mknod(node, S_IFCHR | 0600, makedev(10, 200)) < 0)
		return uk_err_sys(err, errno, "jail: %s: its own tun node", node);
	if (chown(node, j->uid, j->gid) < 0)
		return uk_err_sys(err, errno, "jail: %s: giving it to uid %lu", node,
				  (unsigned long)j->uid);
	return 0;
}

/* The kernel's tun node: its own as root; the host's, bound, in a user namespace (where
 * mknod is not allowed). */
static int tun_node(const struct uk_jail *j, struct uk_err *err)
{
	return j->userns ? bind_in(j, "/dev/net/tun", BIND_RW, err) : make_tun(j, err);
}

/* The device nodes the kernel opens, and its sockets and links. */
static int bind_rest(const struct uk_jail *j, const struct uk_guest_spec *s,
		     const struct uk_guest_paths *p, struct uk_err *err)
{
	static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"};
	int r = 0;

	for (size_t i = 0; r == 0 && i < UK_ARRAY_SIZE(devs); i++)
		r = bind_in(j, devs[i], BIND_RW, err);
	if (r == 0 && uk_guest_has_tap(s))
		r = tun_node(j, err);
	/* the uml_dir of a guest without --user is the kernel's to make: made here */
	if (r == 0 && mkdir(p->uml_dir, 0700) < 0 && errno != EEXIST)
		r = uk_err_sys(err, errno, "jail: %s", p->uml_dir);
	if (r == 0)
		r = bind_in(j, p->uml_dir, BIND_RW | BIND_IDMAP, err);
	if (r == 0 && access(p->notify, F_OK) == 0)
		r = bind_in(j, p->notify, BIND_RW | BIND_IDMAP, err);
	if (r == 0 && access(p->agent_ring, F_OK) == 0)
		r = bind_in(j, p->agent_ring, BIND_RW | BIND_IDMAP, err);
	for (int i = 0; r == 0 && i < s->nnets; i++)
		if (s->nets[i].kind == UK_NET_BESS)
			r = bind_in(j, s->nets[i].target, BIND_RW | BIND_IDMAP, err);
	return r;
}

/* A private, exec-able tmpfs for the kernel's memory file: as large as its memory and 64 MiB. */
static int mount_tmp(const struct uk_jail *j, const char *where, uint64_t mem, struct uk_err *err)
{
	char opt[96];

	snprintf(opt, sizeof(opt), "mode=1777,size=%llu",
		 (unsigned long long)(mem + (64ULL << 20)));
	return mount_tmpfs(j, where, MS_NOSUID | MS_NODEV, opt, err);
}

/* The kernel reads /proc/cpuinfo (its host's CPU features), and only that of /proc: a proc
 * of its own pid namespace mounted aside, that one file bound from it read-only, the proc
 * detached again. */
static int bind_cpuinfo(const struct uk_jail *j, struct uk_err *err)
{
	char aside[PATH_MAX], file[PATH_MAX];
	int r = in_root(j, "/.proc", aside, sizeof(aside), err);

	if (r < 0)
		return r;
	if (mkdir(aside, 0555) < 0 && errno != EEXIST)
		return uk_err_sys(err, errno, "jail: %s", aside);
	if (mount("proc", aside, "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return uk_err_sys(err, errno, "jail: a proc on %s", aside);
	r = in_root(j, "/.proc/cpuinfo", file, sizeof(file), err);
	if (r == 0)
		r = bind_at(j, file, "/proc/cpuinfo", BIND_RO, err);
	if (umount2(aside, MNT_DETACH) < 0 || rmdir(aside) < 0)
		r = r < 0 ? r : uk_err_sys(err, errno, "jail: %s", aside);
	return r;
}

/* The root: a tmpfs on j->root in this mount namespace (nothing of it reaches the host's). */
static int build_root(const struct uk_jail *j, const struct uk_guest_spec *s,
		      const struct uk_guest_paths *p, const char *preload, struct uk_err *err)
{
	int r;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return uk_err_sys(err, errno, "jail: making the mounts private");
	if (mount("tmpfs", j->root, "tmpfs", MS_NOSUID | MS_NODEV, JAIL_ROOT_OPT) < 0)
		return uk_err_sys(err, errno, "jail: a tmpfs on %s", j->root);
	/* first: the binds of files under /tmp (a kernel directory) go inside */
	r = mount_tmp(j, "/tmp", s->mem, err);
	if (r == 0)
		r = mount_tmp(j, "/dev/shm", s->mem, err);
	if (r == 0)
		r = bind_objects(j, s->kernel, preload, err);
	if (r == 0)
		r = bind_disks(j, s, err);
	if (r == 0)
		r = bind_rest(j, s, p, err);
	if (r == 0)
		r = bind_cpuinfo(j, err);
	return r;
}

/* pivot_root into the root, the old one detached, the new one read-only; the working
 * directory kept when the root holds it. */
static int pivot(const struct uk_jail *j, struct uk_err *err)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	char cwd[PATH_MAX];
	bool keep = getcwd(cwd, sizeof(cwd)) != NULL;

	if (chdir(j->root) < 0)
		return uk_err_sys(err, errno, "jail: %s", j->root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return uk_err_sys(err, errno, "jail: pivot_root to %s", j->root);
	if (umount2(".", MNT_DETACH) < 0)
		return uk_err_sys(err, errno, "jail: detaching the old root");
	if (chdir("/") < 0 || (keep && chdir(cwd) < 0 && errno != ENOENT))
		return uk_err_sys(err, errno, "jail: chdir");
	if (syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, &ro, sizeof(ro)) < 0)
		return uk_err_sys(err, errno, "jail: making the root read-only");
	return 0;
}

static int limits(struct uk_err *err)
{
	struct rlimit core = {0, 0}, nofile = {JAIL_NOFILE, JAIL_NOFILE};

	/* never above a hard limit it has (an unprivileged caller cannot raise one) */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max != RLIM_INFINITY)
		nofile.rlim_cur = nofile.rlim_max = UK_MIN(nofile.rlim_max, (rlim_t)JAIL_NOFILE);
	else
		nofile.rlim_cur = nofile.rlim_max = JAIL_NOFILE;
	if (setrlimit(RLIMIT_CORE, &core) < 0 || setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		return uk_err_sys(err, errno, "jail: rlimits");
	return 0;
}

static int clean_env(const char *preload, struct uk_err *err)
{
	if (clearenv() != 0 || setenv("PATH", "/usr/bin:/bin", 1) < 0 ||
	    setenv("TMPDIR", "/tmp", 1) < 0 || setenv("HOME", "/", 1) < 0 ||
	    (preload && preload[0] && setenv("LD_PRELOAD", preload, 1) < 0))
		return uk_err_sys(err, errno, "jail: the environment");
	return 0;
}

/* The bounding set emptied (those still in it: dropping needs CAP_SETPCAP). */
static int drop_bounding(struct uk_err *err)
{
	for (int c = 0; c <= 63; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			return uk_err_sys(err, errno, "jail: dropping capability %d", c);
	return 0;
}

/* No capability in the ambient, permitted, effective and inheritable sets. */
static int clear_caps(struct uk_err *err)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{0}};

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return uk_err_sys(err, errno, "jail: the ambient capabilities");
	if (syscall(SYS_capset, &h, d) < 0)
		return uk_err_sys(err, errno, "jail: capset");
	return 0;
}

int uk_jail_drop_caps(struct uk_err *err)
{
	int r = drop_bounding(err);

	return r < 0 ? r : clear_caps(err);
}

static int drop_ids(const struct uk_jail *j, struct uk_err *err)
{
	int r;

	if (j->userns) {
		r = uk_jail_drop_caps(err);
		if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			r = uk_err_sys(err, errno, "jail: no_new_privs");
		return r;
	}
	r = drop_bounding(err);
	if (r < 0)
		return r;
	r = uk_guest_drop_to(j->uid, j->gid);
	if (r < 0)
		return uk_err_sys(err, -r, "jail: becoming uid %lu gid %lu", (unsigned long)j->uid,
				  (unsigned long)j->gid);
	return uk_jail_drop_caps(err);
}

/* Without a user namespace (bare): what an unprivileged process can do to itself (its
 * bounding set stays: emptying it needs CAP_SETPCAP; no_new_privs keeps it from use). */
static int enter_bare(const char *preload, struct uk_err *err)
{
	int r = limits(err);

	if (r == 0)
		r = clean_env(preload, err);
	if (r == 0)
		r = clear_caps(err);
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = uk_err_sys(err, errno, "jail: no_new_privs");
	return r;
}

int uk_jail_enter(const struct uk_jail *j, const struct uk_guest_spec *s,
		  const struct uk_guest_paths *p, const char *preload, struct uk_err *err)
{
	int r = 0;

	if (j->bare)
		return enter_bare(preload, err);
	if (j->userns)
		r = map_self(j, err);
	if (r == 0 && unshare(CLONE_NEWCGROUP) < 0)
		r = uk_err_sys(err, errno, "jail: a cgroup namespace");
	if (r == 0 && sethostname(s->name, strlen(s->name)) < 0)
		r = uk_err_sys(err, errno, "jail: the host name");
	if (r == 0)
		r = build_root(j, s, p, preload, err);
	if (r == 0)
		r = pivot(j, err);
	if (r == 0)
		r = limits(err);
	if (r == 0)
		r = clean_env(preload, err);
	if (r == 0)
		r = drop_ids(j, err);
	return r;
}
