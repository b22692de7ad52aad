/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guest's cgroup (cgroup.c): not part of the public API. */
#ifndef UK_GUEST_CGROUP_INTERNAL_H
#define UK_GUEST_CGROUP_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest-internal.h"

/* The controllers a guest's cgroup uses. */
enum { UK_CG_MEMORY, UK_CG_PIDS, UK_CG_CPU, UK_CG_NCTRL };
/* Their names, as /proc/self/cgroup and the mount options spell them. */
extern const char *const uk_cg_ctrl_names[UK_CG_NCTRL];

/* The cgroups this process is in (/proc/self/cgroup): "" when it is on no such hierarchy. */
struct uk_cg_self {
	char v1[UK_CG_NCTRL][PATH_MAX]; /* each controller's v1 hierarchy */
	char v2[PATH_MAX];		/* the unified hierarchy ("0::PATH") */
};
/* A cgroup file system's mount: the cgroup it shows at its point (mountinfo's root). */
struct uk_cg_mount {
	char root[PATH_MAX]; /* "" not mounted */
	char point[PATH_MAX];
};
/* Where the hierarchies are mounted (/proc/self/mountinfo): the first mount of each. */
struct uk_cg_mounts {
	struct uk_cg_mount v1[UK_CG_NCTRL];
	struct uk_cg_mount v2;
};
/* Where this process's own cgroup of each controller is, in this mount namespace. */
struct uk_cg_place {
	int version[UK_CG_NCTRL]; /* 1, 2, or 0: nowhere (reason in why[]) */
	char dir[UK_CG_NCTRL][PATH_MAX];
	char why[UK_CG_NCTRL][96];
};

/* Pure parsers: 0, or -EINVAL naming the line at fault. Lines they do not need are skipped. */
int uk_cg_parse_self(const char *buf, size_t len, struct uk_cg_self *out, struct uk_err *err);
int uk_cg_parse_mountinfo(const char *buf, size_t len, struct uk_cg_mounts *out,
			  struct uk_err *err);
/* Pure: each controller's directory, on its v1 hierarchy when it is mounted there, else on
 * the unified one (whether that one delegates it is for the caller to read). */
void uk_cg_place(const struct uk_cg_self *self, const struct uk_cg_mounts *m,
		 struct uk_cg_place *out);

/* The limits a spec asks for: --mem-limit, else mem + UK_CG_MEM_EXTRA + pids_max *
 * UK_CG_MEM_PER_TASK; --pids-max, else UK_CG_PIDS_BASE + mem / UK_CG_PIDS_PER. */
#define UK_CG_MEM_EXTRA	   (16ULL << 20)
#define UK_CG_MEM_PER_TASK (128ULL << 10)
#define UK_CG_PIDS_BASE	   64ULL
#define UK_CG_PIDS_PER	   (512ULL << 10)
#define UK_CG_CPU_PERIOD   100000ULL /* microseconds */
uint64_t uk_cg_pids_max(const struct uk_guest_spec *s);
uint64_t uk_cg_mem_limit(const struct uk_guest_spec *s);

/* A guest's cgroup: one directory a hierarchy it uses (v1: each controller's own; v2: one). */
struct uk_guest_cgroup {
	int ndirs;
	char dirs[UK_CG_NCTRL][PATH_MAX];
	bool dir_v2[UK_CG_NCTRL];
	int of[UK_CG_NCTRL]; /* each controller's index in dirs, -1: not applied */
	uint64_t mem_limit;
	uint64_t pids_max;
	uint64_t oom_base; /* the OOM kills counted when the current kernel started */
	char note[300];	   /* "cgroup: not applied: ..." or "" */
};

/*
 * In the supervisor, before the first kernel: the guest's cgroup below this process's own,
 * named umlkit-NAME.PID, with its limits written. A controller that cannot be had (no write
 * access, not delegated, not mounted) is left out and named in cg->note; an error only when
 * a directory made cannot take its limits (then nothing is left behind).
 */
int uk_guest_cgroup_make(struct uk_guest_cgroup *cg, const struct uk_guest_spec *s,
			 struct uk_err *err);
/* In the kernel's process before exec and before its jail: join the guest's cgroup. */
int uk_guest_cgroup_join(const struct uk_guest_cgroup *cg, struct uk_err *err);
/* The OOM kills counted in its memory cgroup so far (0 without one). */
uint64_t uk_guest_cgroup_oom_kills(const struct uk_guest_cgroup *cg);
/* The guest's processes that are left killed, each directory removed (at most 5 s each). */
void uk_guest_cgroup_remove(struct uk_guest_cgroup *cg);
/* The record in the state directory's "cgroup" (its directories), for status and a next
 * command to clean after a supervisor that died. */
int uk_guest_cgroup_record(const struct uk_guest_cgroup *cg, const struct uk_guest_paths *p,
			   struct uk_err *err);
/* Read the record back (cg: its directories; no limits), 0 or -errno. */
int uk_guest_cgroup_load(struct uk_guest_cgroup *cg, const struct uk_guest_paths *p);
/* The supervisor's hooks: make, record and describe (in st) the cgroup before the first
 * kernel; a kernel ended with status wst: was it the host's OOM killer (message in st)?; the
 * guest ends: the cgroup and its record removed. */
int uk_guest_cgroup_start(struct uk_guest_cgroup *cg, const struct uk_guest_spec *s,
			  const struct uk_guest_paths *p, struct uk_guest_status *st,
			  struct uk_err *err);
void uk_guest_cgroup_ended(struct uk_guest_cgroup *cg, int wst, struct uk_guest_status *st);
void uk_guest_cgroup_end(struct uk_guest_cgroup *cg, const struct uk_guest_paths *p);
/* Remove the directories of a dead supervisor's record (cgroups named umlkit-* only). */
void uk_guest_cgroup_clean(const struct uk_guest_paths *p);

#endif
