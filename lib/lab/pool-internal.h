/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One child process per machine's job, in lab.dep's order (pool.c). */
#ifndef UK_LAB_POOL_INTERNAL_H
#define UK_LAB_POOL_INTERNAL_H

#include <stdbool.h>

#include "umlkit/lab.h"

/* A machine's job, in a child: 0 success. It reports with uk_lab_report on fd. */
typedef int (*uk_lab_job_fn)(const struct uk_lab *lab, const struct uk_lab_machine *m, int index,
			     const struct uk_lab_run_opts *o, int fd);

struct uk_lab_pool_result {
	char (*msg)[512]; /* per machine: why it failed ("" none) */
	bool *ok;	  /* per machine: its job succeeded */
	int failed;	  /* jobs that failed or never started */
};

/* Progress ('p': o->progress is called with the text) or the failure ('f') of machine index */
void uk_lab_report(int fd, int index, char kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Run job for each machine o selects, at most o->parallel at once (0: no limit), after its
 * dependencies' jobs succeeded when deps; 0 with res filled (free it), or an error. */
int uk_lab_pool_run(const struct uk_lab *lab, const struct uk_lab_run_opts *o, bool deps,
		    uk_lab_job_fn job, struct uk_lab_pool_result *res, struct uk_err *err);
void uk_lab_pool_result_free(struct uk_lab_pool_result *res);

#endif
