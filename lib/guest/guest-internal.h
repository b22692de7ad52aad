/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals shared by lib/guest: not part of the public API. */
#ifndef UK_GUEST_INTERNAL_H
#define UK_GUEST_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "umlkit/guest.h"
#include "umlkit/util.h"

struct uk_guest_paths {
	char dir[PATH_MAX];
	char uml_link[PATH_MAX]; /* dir/uml: the uml_dir, or a symlink to kdir/uml */
	char kdir[PATH_MAX];	 /* a --user guest's kernel directory, or "" */
	char kdir_rec[PATH_MAX]; /* dir/kdir: the record of the kernel directory made */
	char uml_dir[PATH_MAX];	 /* the kernel's uml_dir=: dir/uml or kdir/uml */
	char mconsole[PATH_MAX];
	char kernel_pidfile[PATH_MAX];
	char notify[PATH_MAX];
	char console_log[PATH_MAX];
	char console_sock[PATH_MAX];
	char status[PATH_MAX];
	char lock[PATH_MAX];
	char net[PATH_MAX]; /* the firewall policy and taps made for the guest, while it runs */
	char agent_sock[PATH_MAX]; /* dir/agent: `umlkit exec` and `cp` connect here */
	char agent_ring[PATH_MAX]; /* the agent's ring: dir/agent.ring, or in kdir */
	char cpu[PATH_MAX];	   /* dir/cpu: the host CPU --cpu-affinity auto chose (cpu.c) */
};

int uk_guest_paths(const char *name, struct uk_guest_paths *p, struct uk_err *err);
/* Where a --user guest's kernel directory goes: $TMPDIR when absolute, else /tmp. */
const char *uk_guest_kdir_parent(void);
/* The guest's state directory, opened (made, 0700, with the runtime directories above it when
 * create) only when it is no symlink, this user's, and writable by no one else (see
 * uk_runtime_dir_open): its fd, or -errno with a message naming the directory at fault. */
int uk_guest_state_open(const char *name, bool create, struct uk_err *err);
/* The kernel's uml_dir, before a launch (what a previous one left is gone): dir/uml, or for
 * a --user guest its kernel directory (p is updated to it). */
int uk_guest_make_kernel_dir(struct uk_guest_paths *p, const struct uk_guest_spec *s,
			     struct uk_err *err);
/* Before each spawn of a --user guest's kernel: its uml_dir exists and is the user's. */
int uk_guest_own_uml_dir(const struct uk_guest_paths *p, const struct uk_guest_spec *s,
			 struct uk_err *err);
/* Remove a --user guest's kernel directory (the one recorded, by its parent's fd), the
 * record and the symlink to it (never followed). */
void uk_guest_drop_kernel_dir(const struct uk_guest_paths *p);
/* Write path whole (0600): a new file renamed over it. */
int uk_guest_write_whole(const char *path, const char *buf, size_t n, struct uk_err *err);
int uk_guest_status_write(const struct uk_guest_paths *p, const struct uk_guest_status *st,
			  struct uk_err *err);
/* The pid holding the supervisor lock, or 0. */
pid_t uk_guest_supervisor_alive(const struct uk_guest_paths *p);
/* A small file into buf, NUL-terminated (at most len - 1 bytes): its length or -errno. */
ssize_t uk_guest_read_small(const char *path, char *buf, size_t len);
/* path (a file of the state directory) replaced whole by the n bytes of buf, mode 0600. */
int uk_guest_write_whole(const char *path, const char *buf, size_t n, struct uk_err *err);
/* /proc/PID/FILE into buf, NUL-terminated (at most len - 1 bytes): its length or -errno. */
ssize_t uk_guest_proc_read(pid_t pid, const char *file, char *buf, size_t len);
/* A process's parent and process group, from /proc/PID/stat: 0, or -1 (gone, unreadable). */
int uk_guest_proc_parents(pid_t pid, pid_t *ppid, pid_t *pgrp);
/* Is any process of process group pgid a UML kernel with umid=name? */
bool uk_guest_kernel_alive(pid_t pgid, const char *name);
/* Remove what a crashed kernel leaves: its uml_dir (the supervisor's sockets stay). */
int uk_guest_clean_kernel_dir(const struct uk_guest_paths *p);
/* Remove what a crashed kernel or supervisor leaves: uml_dir, sockets. */
int uk_guest_clean_stale(const struct uk_guest_paths *p);

/* Record the links of s (wired: its copy with the switch links made, addr.c) in the state
 * directory's "nets", for uk_guest_ifaces. */
int uk_guest_nets_record(const struct uk_guest_paths *p, const struct uk_guest_spec *s,
			 const struct uk_guest_spec *wired, struct uk_err *err);

/* The file names of s (kernel, modules image, disks and backings, bess: sockets) made
 * absolute (uk_path_absolutize, as the kernel does), for a supervisor whose cwd is "/". */
int uk_guest_spec_absolute(struct uk_guest_spec *s, struct uk_err *err);

/* ---- claims (claim.c): flocks a start takes before it changes anything, which its
 * supervisor inherits and keeps for its life ---- */
/* The pid holding an fcntl lock on fd's file (a supervisor), or 0. */
pid_t uk_guest_lock_holder(int fd);
/* Claim the guest whose state directory is dirfd: its lock file, made if missing, flocked.
 * 0 (*fd the claim), -EBUSY when another umlkit holds it or a supervisor runs (*holder its
 * pid, or 0), or -errno. */
int uk_guest_claim(int dirfd, int *fd, pid_t *holder);
/* The message of a claim refused with holder: "guest 'NAME' is already running (...)". */
int uk_guest_claim_busy(struct uk_err *err, const char *name, pid_t holder);
/* Claims on a guest's disks: each COW or image (exclusive, shared when read-only), each
 * backing (shared); none on a 'c' (shared) disk or on NFS/SMB. -EAGAIN "FILE: in use" when
 * another umlkit's guest holds one (nothing is held then). */
struct uk_guest_claims {
	int fd[2 * UK_GUEST_DISKS];
	int n;
};
int uk_guest_claim_disks(const struct uk_guest_spec *s, struct uk_guest_claims *c,
			 struct uk_err *err);
void uk_guest_claims_release(struct uk_guest_claims *c);

/* ---- the guest's host side (hostnet.c): its taps, bridges and firewall policy ---- */
struct uk_fw_policy;
struct uk_guest_hostnet {
	bool made[UK_GUEST_NETS]; /* nets[i]'s tap was made by uk_guest_hostnet_up */
	bool fw;		  /* a policy was applied */
};
/* Before anything is made: the existing taps of tap:, bridge: (and with --user,
 * legacy-tuntap:) nets are usable by the uid (and with --user, the gid) the kernel runs as:
 * owned by it, not by someone else; with --user, a tap: net's tap must exist. */
int uk_guest_hostnet_check(const struct uk_guest_spec *s, struct uk_err *err);
/* Before the kernel starts: make each bridge: net's tap (owned by the uid the kernel runs as,
 * and with --user its gid) unless it exists, attach it to its bridge, check that tap: nets
 * are not someone else's (with --user, bring them up), apply the policy. On failure, undoes
 * what it did. */
int uk_guest_hostnet_up(const struct uk_guest_spec *s, struct uk_guest_hostnet *hn,
			struct uk_err *err);
/* After the kernel ended: remove the policy and the taps uk_guest_hostnet_up made. */
void uk_guest_hostnet_down(const struct uk_guest_spec *s, struct uk_guest_hostnet *hn);

/* In the kernel's child, right before exec: setgroups(none), setgid, setuid to --user's,
 * no new privileges, and a check that root cannot be regained. 0 or -errno. */
int uk_guest_drop_privileges(const struct uk_guest_spec *s);
/* The same to uid and gid (neither 0). */
int uk_guest_drop_to(uid_t uid, gid_t gid);

/* ---- the kernel's process (starter.c) ---- */
/* In the kernel's new process: exec the kernel on these ends (console -1: the foreground's
 * stdio), on cpus (NULL: as it is). Never returns. */
typedef void (*uk_guest_kernel_fn)(void *ctx, int console_end, int agent_end,
				   const cpu_set_t *cpus);
struct uk_guest_starter {
	uk_guest_kernel_fn fn;
	void *ctx;
	unsigned long clone_flags; /* the jail's namespaces (0: a plain fork) */
	int chan;		   /* to the starter process; -1: none, kernels are forked here */
	pid_t pid;		   /* the starter process, 0 none */
};
void uk_guest_starter_init(struct uk_guest_starter *st, uk_guest_kernel_fn fn, void *ctx);
/* From now on, kernels are made by a starter process forked now, which keeps only keep (the
 * fds its kernels inherit) and its channel: for a caller about to go under a seccomp filter
 * that its kernels must not inherit. */
int uk_guest_starter_detach(struct uk_guest_starter *st, const int *keep, int nkeep,
			    struct uk_err *err);
/* A child with a channel to this process (a SOCK_SEQPACKET pair), which keeps only keep[] and
 * its end (pdeath: SIGKILL when this process dies). The child's pid here, 0 in the child; *chan
 * the end of each; -errno (what names the child). */
pid_t uk_guest_fork_channel(const int *keep, int nkeep, bool pdeath, int *chan, const char *what,
			    struct uk_err *err);
/* A kernel process, a child of this process, running st->fn: its pid, or -errno. */
pid_t uk_guest_starter_start(struct uk_guest_starter *st, int console_end, int agent_end,
			     const cpu_set_t *cpus, struct uk_err *err);
/* The supervisor, set up, goes under its seccomp filter (umlkit/sandbox.h), its kernels
 * made from now on by a starter that keeps the --net fd: descriptors of spec and the jail's
 * alive pipe and idmap namespace (-1: none). drop: between the two, it becomes spec's uid
 * and gid for good (privsep.c). */
int uk_guest_sandbox(struct uk_guest_starter *st, const struct uk_guest_spec *spec,
		     const int alive[2], int idmap_fd, bool drop, struct uk_err *err);
/* Let the starter process go (it exits; the caller reaps it as it reaps any child). */
void uk_guest_starter_end(struct uk_guest_starter *st);

/* The supervisor: runs the kernel and watches it until it ends (restarting it on failure
 * when asked). foreground: the console is this process's stdin/stdout and no console
 * socket is offered. report_fd (or -1) gets "started\n", then "ready\n" or "failed ...\n".
 * Returns the final state. */
struct uk_supervise {
	const struct uk_guest_spec *spec;
	const struct uk_guest_paths *paths;
	int lock_fd;
	const int *claims; /* the start's claims (claim.c), which the supervisor inherited */
	int nclaims;
	int report_fd;
	int ready_mode;
	const char *ready_arg; /* console: the regex */
	bool foreground;
};
int uk_guest_supervise(struct uk_supervise *sv, struct uk_guest_status *st, struct uk_err *err);
/* Take the supervisor lock; -EBUSY naming the holder when a supervisor runs. */
int uk_guest_take_lock(const struct uk_guest_paths *p, int *fd, struct uk_err *err);

/* ---- privilege separation (privsep.c): a --user guest's supervisor runs as the user,
 * beside a small helper that stays root ---- */
struct uk_guest_cgroup;
struct uk_guest_privsep {
	int chan; /* to the helper; -1: none (the supervisor does its own privileged work) */
	pid_t pid;
};
/* Root supervising a --user guest (not in the foreground): separate. */
bool uk_guest_privsep_wanted(const struct uk_supervise *sv);
/* Fork the helper, which keeps only its channel and sv's claims; what it removes at the end
 * and the status fields it answers for are those of now (cg, hn, st). 0 or -errno. */
int uk_guest_privsep_start(struct uk_guest_privsep *ps, const struct uk_supervise *sv,
			   const struct uk_guest_status *st, struct uk_guest_cgroup *cg,
			   struct uk_guest_hostnet *hn, struct uk_err *err);
/* The helper writes st as the guest's status: 0, or -errno (it is gone, or did not answer in
 * 10 s). */
int uk_guest_privsep_status(struct uk_guest_privsep *ps, const struct uk_guest_status *st);
/* The end: the helper tears down (uk_guest_host_teardown) and exits; 10 s at most. */
void uk_guest_privsep_end(struct uk_guest_privsep *ps);
/* What a guest holds of the host, removed: its cgroup, firewall policy, taps, net record,
 * sockets, agent ring and kernel directory. */
void uk_guest_host_teardown(const struct uk_supervise *sv, struct uk_guest_cgroup *cg,
			    struct uk_guest_hostnet *hn);

/* ---- what the kernel shows of a boot (ready.c, pure) ---- */
/* A console line where the kernel says it runs init ("Run /sbin/init as init process"). */
bool uk_guest_line_runs_init(const char *line);
/* A console line where the kernel says how it ends: 1 "reboot: Restarting system", 0 "System
 * halted" or "Power down", -1 neither. */
int uk_guest_line_reboot(const char *line);
/* The guest's mount table (mconsole `proc mounts`) shows init's work: proc on /proc. */
bool uk_guest_mounts_show_init(const char *text, size_t len);

#endif
