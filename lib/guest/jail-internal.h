/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest kernel's jail (jail.c): not part of the public API. */
#ifndef UK_GUEST_JAIL_INTERNAL_H
#define UK_GUEST_JAIL_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "guest-internal.h"

/*
 * Root without --user: the kernel runs as UK_JAIL_ID_BASE + (a hash of the guest's name modulo
 * UK_JAIL_ID_SPAN), as uid and gid, a range no distribution hands out. Its disks and uml_dir,
 * root's, are reached through idmapped bind mounts that show root's files as that id's.
 */
#define UK_JAIL_ID_BASE 1879048192UL /* 0x70000000 */
#define UK_JAIL_ID_SPAN 65536UL
/* Where a jailed kernel finds its own tun node (jail.c's make_tun), at the host's path. */
#define UK_JAIL_TUN_DIR "/dev/net"

struct uk_jail {
	bool on;     /* jailed (not --no-jail) */
	bool userns; /* an unprivileged caller: a user namespace of its own */
	bool bare;   /* an unprivileged caller where user namespaces are not allowed: no
		      * namespace, no root of its own; rlimits, environment, no_new_privs */
	bool idmap;  /* root without --user: idmapped mounts, the id below */
	uid_t uid;   /* the kernel's uid and gid */
	gid_t gid;
	int idmap_fd;	     /* the user namespace of the idmapped mounts, -1 */
	int alive[2];	     /* the supervisor holds [1]: its end is the child's sign it died */
	char root[PATH_MAX]; /* the jail's mount point on the host: the state dir's "jail" */
	char note[300];	     /* what was not applied, and why, or "" */
};

/* Before a launch: a jailed kernel must be a binary, not a script (its interpreter and what
 * it runs are not in the jail). 0, or -ENOEXEC with err naming the kernel. */
int uk_jail_check_kernel(const struct uk_guest_spec *s, struct uk_err *err);
/* Before the first spawn, in the supervisor: decide who the kernel runs as, make the mount
 * point and (root without --user) the idmap's user namespace. */
int uk_jail_prepare(struct uk_jail *j, const struct uk_guest_spec *s,
		    const struct uk_guest_paths *p, struct uk_err *err);
void uk_jail_free(struct uk_jail *j);
/* The kernel's process is a fork (0), or for a jail a clone into new pid, mount, ipc and uts
 * namespaces (and a user namespace for an unprivileged caller): these clone flags, which the
 * kernel's starter (starter.c) uses. */
unsigned long uk_jail_clone_flags(const struct uk_jail *j);
/*
 * In the kernel's child right before exec (its fds already set): the root of its own (only
 * what argv's kernel needs), entered with pivot_root; rlimits; a clean environment (TMPDIR,
 * and LD_PRELOAD=preload when set); no capabilities; its uid, gid and no groups;
 * no_new_privs. 0 or -errno with err naming the step and path at fault.
 */
int uk_jail_enter(const struct uk_jail *j, const struct uk_guest_spec *s,
		  const struct uk_guest_paths *p, const char *preload, struct uk_err *err);
/* No capability in any set, the bounding and ambient sets included. */
int uk_jail_drop_caps(struct uk_err *err);
/*
 * A process running run(arg) (which never returns): flags 0, a fork; else a clone with flags
 * (the jail's namespaces, CLONE_PARENT). With CLONE_NEWPID it is not the new namespace's pid
 * 1 but its second process, beside a small init (jailpid.c says why), and still the child of
 * the process a plain clone with flags would have given it. Its pid, or -errno.
 */
pid_t uk_jail_clone(unsigned long flags, void (*run)(void *), void *arg);
/* In the child after PR_SET_PDEATHSIG: has the supervisor died already? */
bool uk_jail_orphaned(const struct uk_jail *j);

#endif
