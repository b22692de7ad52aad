/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the files of lib/lab share: line reading, names, the model's growth, warnings. */
#ifndef UMLKIT_LAB_INTERNAL_H
#define UMLKIT_LAB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "umlkit/lab.h"

#define UK_LAB_LINE_MAX	    4096      /* one line of lab.conf, lab.dep or lab.ext */
#define UK_LAB_OPT_MAX	    64	      /* an option's name: `pc1[model-fs]` */
#define UK_LAB_FILE_MAX	    (4 << 20) /* lab.conf, lab.dep, lab.ext */
#define UK_LAB_MACHINES_MAX 4096      /* machines in one lab */
#define UK_LAB_LIST_MAX	    4096      /* options, exec, ... of one machine */

/* Lines of a buffer: a UTF-8 byte-order mark skipped, "\n" or "\r\n" ends a line. */
struct uk_lab_lines {
	const char *p, *end;
	int n; /* the number of the line last returned, from 1 */
};

void uk_lab_lines_init(struct uk_lab_lines *it, const char *buf, size_t len);
/* The next line without its end into line (cap bytes with the NUL): 1, 0 at the end,
 * -E2BIG when longer than cap - 1, -EINVAL when it holds a NUL byte. */
int uk_lab_lines_next(struct uk_lab_lines *it, char *line, size_t cap);
/* Python's str.strip(): whitespace off both ends, in place; the start returned. */
char *uk_lab_strip(char *s);

/* A device name: Kathará's [a-z0-9_]{1,30}, or with Netkit's uppercase and '-' (sets
 * *netkit). 0 or -EINVAL. */
int uk_lab_name_check(const char *name, bool *netkit);
bool uk_lab_reserved(const char *name);
bool uk_lab_is_word(const char *s); /* ^\w+$ in ASCII */

/* A warning "FMT" appended to lab->warning unless the same text is there. 0 or -ENOMEM. */
int uk_lab_warn(struct uk_lab *lab, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The machine name into *out, made (at the end, no interfaces) when missing: 0, or -ENOMEM
 * or -E2BIG (the machine limit). Pointers to other machines are then stale. */
int uk_lab_machine_get(struct uk_lab *lab, const char *name, struct uk_lab_machine **out,
		       struct uk_err *err);
/* Keep the machines order[0..n-1] (old indices) in that order, free the others, and map
 * every dependency to the new indices (one on a machine left out is dropped). */
int uk_lab_reindex(struct uk_lab *lab, const int *order, int n, struct uk_err *err);
int uk_lab_cd_add(struct uk_lab *lab, const char *cd, struct uk_err *err);
int uk_lab_opt_add(struct uk_lab_machine *m, const char *key, const char *value, int line,
		   struct uk_err *err);
/* s appended to the list *v of *n strings (a copy). */
int uk_lab_strv_add(char ***v, int *n, const char *s, struct uk_err *err);
void uk_lab_machine_clear(struct uk_lab_machine *m);

/* name in dirfd (shown as DIR/NAME, or NAME when dir is NULL), a regular file not reached through a
 * symlink, read whole into a new buffer: 1, 0 when it does not exist, or -errno. */
int uk_lab_read_file(int dirfd, const char *dir, const char *name, char **buf, size_t *len,
		     struct uk_err *err);

/* finish's parts */
int uk_lab_apply_only(struct uk_lab *lab, const struct uk_lab_load_opts *o, struct uk_err *err);
int uk_lab_check_loops(struct uk_lab *lab, struct uk_err *err);
/* lab.hosts: every placed machine exists, every machine is placed; the domains' order kept */
int uk_lab_check_hosts(struct uk_lab *lab, struct uk_err *err);
/* lab.hosts: o->host is set and names one of its hosts (none needed without lab.hosts) */
int uk_lab_host_check(const struct uk_lab *lab, const struct uk_lab_run_opts *o,
		      struct uk_err *err);
/* cd's index in lab.conf's order of domains (lab.hosts' VNIs), -1 none */
int uk_lab_span_index(const struct uk_lab *lab, const char *cd);
int uk_lab_type_options(struct uk_lab *lab, const struct uk_lab_load_opts *o, struct uk_err *err);
int uk_lab_check_ifaces(struct uk_lab *lab, struct uk_err *err);
int uk_lab_check_ext(struct uk_lab *lab, struct uk_err *err);

#endif
