/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lab runtime's own helpers (run.c, names.c, guestside.c, stop.c, extrun.c). */
#ifndef UK_LAB_RUN_INTERNAL_H
#define UK_LAB_RUN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "umlkit/lab.h"

#define UK_LAB_ID_SHORT 12 /* hex digits of lab->id in every name */
#define UK_LAB_STOP_S	60 /* a machine's clean stop */
#define UK_LAB_SCRIPT_S 30 /* how long the agent has to answer */

/* names.c */
void uk_lab_nat_name(const struct uk_lab *lab, char *out, size_t outlen);
/* name is a guest or switch of the lab whose short id is id_short */
bool uk_lab_name_is_ours(const char *name, const char *id_short);
/* name is a lab's guest ("labID.M"): its short id */
bool uk_lab_name_id(const char *name, char id[UK_LAB_ID_SHORT + 1]);
int uk_lab_state_dir(const char *id_short, char *out, size_t outlen, struct uk_err *err);
/* A small file of the lab's runtime directory (made when missing) */
int uk_lab_state_put(const struct uk_lab *lab, const char *file, const char *text,
		     struct uk_err *err);
int uk_lab_state_get(const char *id_short, const char *file, char *out, size_t outlen);
int uk_lab_state_remove(const struct uk_lab *lab);

/* guestside.c: the work inside a booted machine, through its agent */
/* The lab's setup of a booted machine, then its startup scripts (detach: in the background,
 * as --no-wait wants; drop: the page cache dropped after them, for a trim) */
int uk_lab_guest_start(const struct uk_lab *lab, const struct uk_lab_machine *m, bool detach,
		       bool drop, struct uk_err *err);
int uk_lab_guest_shutdown(const struct uk_lab *lab, const struct uk_lab_machine *m,
			  struct uk_err *err);

/* extrun.c: lab.ext's bridges and taps, checked (root, the host interfaces exist), made and
 * removed; the tap that is the uplink of domain cd's switch and the VLAN it tags (0: none),
 * false when lab.ext does not name cd */
int uk_lab_ext_check(const struct uk_lab *lab, struct uk_err *err);
int uk_lab_ext_up(const struct uk_lab *lab, struct uk_err *err);
void uk_lab_ext_down(const struct uk_lab *lab);
bool uk_lab_ext_tap(const struct uk_lab *lab, const char *cd, char tap[16], int *vlan);

/* run.c: is machine index i one the command acts on */
bool uk_lab_selected(const struct uk_lab *lab, const struct uk_lab_run_opts *o, int i);
/* stop.c: stop the lab's switches when none of its guests runs */
void uk_lab_switches_stop(const struct uk_lab *lab);

#endif
