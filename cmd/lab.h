/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by umlkit lab (lab.c, lab-run.c) and the Netkit names (lab-netkit.c). */
#ifndef UK_CMD_LAB_H
#define UK_CMD_LAB_H

#include <stdbool.h>

#include "umlkit/kernel.h"
#include "umlkit/lab.h"

#define UK_LAB_OVER_MAX	 64
#define UK_LAB_EXEC_ARGS 1024

struct uk_lab_cmd {
	const char *dir;
	const char *image;   /* --image, else $UMLKIT_LAB_IMAGE */
	const char *kernel;  /* --kernel */
	const char *seccomp; /* --seccomp; NULL: $UMLKIT_SECCOMP, else auto */
	char seccomp_arg[8]; /* the machines' seccomp= ("": none) */
	const char *over[UK_LAB_OVER_MAX];
	const char *map_file; /* linfo -m FILE */
	bool json, map, quiet;
	bool remove_disks;	   /* lhalt -r; lcrash without -F */
	bool all_hosts;		   /* --all-hosts: then on lab.hosts' other hosts, through ssh */
	enum uk_lab_verify verify; /* test, ltest: --verify= */
	struct uk_lab_load_opts load;
	struct uk_lab_run_opts run;
	struct uk_lab *lab;
	struct uk_kernel k;
	char modules[4096];
};

/* -p N: 1..UK_LAB_PARALLEL_MAX; 0 or the usage error */
int uk_lab_parallel_parse(const char *cmd, const char *v, int *out);
/* -o KEY=VALUE */
int uk_lab_over_add(struct uk_lab_cmd *c, const char *cmd, const char *v);
/* Read the lab of c->dir (its warnings said): 0 or the exit status */
int uk_lab_cmd_load(struct uk_lab_cmd *c);
int uk_lab_cmd_start(struct uk_lab_cmd *c);
int uk_lab_cmd_stop(struct uk_lab_cmd *c, bool crash, bool quiet_none);
int uk_lab_cmd_clean(struct uk_lab_cmd *c);
/* lab check: FILE (NULL: DIR/lab.check) run in the machines (cmd/lab-check.c) */
int uk_lab_cmd_check(struct uk_lab_cmd *c, const char *file);
/* lab test, ltest: the lab started afresh, its dumps made the signature or compared with it
 * (cmd/lab-test.c) */
int uk_lab_cmd_test(struct uk_lab_cmd *c);
/* --all-hosts: verb on lab.hosts' other hosts that run machines (cmd/lab-hosts.c) */
int uk_lab_cmd_other_hosts(struct uk_lab_cmd *c, const char *verb);
void uk_lab_cmd_free(struct uk_lab_cmd *c);

#endif
