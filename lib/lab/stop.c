// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lab stop`, `crash`, `clean` and `list`: ending a lab and finding the running ones. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/guest.h"
#include "umlkit/lab.h"
#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "pool-internal.h"
#include "run-internal.h"

/* A machine's end, in a child of the pool: its shutdown scripts and a clean stop, or with
 * crash killed (lcrash: no scripts) */
static int end_machine(const struct uk_lab *lab, const struct uk_lab_machine *m, int index, int fd,
		       bool crash)
{
	char name[UK_GUEST_NAME_MAX + 1];
	struct uk_err e = {0};
	int r;

	uk_lab_guest_name(lab, m->name, name, sizeof(name));
	uk_lab_report(fd, index, 'p', crash ? "killing" : "stopping");
	if (!crash && uk_lab_guest_shutdown(lab, m, &e) < 0)
		uk_lab_report(fd, index, 'p', "%s", e.msg); /* it stops all the same */
	r = crash ? uk_guest_kill(name, &e) : uk_guest_stop(name, UK_LAB_STOP_S, &e);
	if (r < 0) {
		uk_lab_report(fd, index, 'f', "%s", e.msg);
		return -1;
	}
	uk_guest_forget(name, false, NULL);
	uk_lab_report(fd, index, 'p', crash ? "killed" : "stopped");
	return 0;
}

static int stop_job(const struct uk_lab *lab, const struct uk_lab_machine *m, int index,
		    const struct uk_lab_run_opts *o, int fd)
{
	(void)o;
	return end_machine(lab, m, index, fd, false);
}

static int crash_job(const struct uk_lab *lab, const struct uk_lab_machine *m, int index,
		     const struct uk_lab_run_opts *o, int fd)
{
	(void)o;
	return end_machine(lab, m, index, fd, true);
}

static void switch_stop(const char *name)
{
	pid_t pid = uk_switch_pid(name);
	struct timespec ts = {0, 20 * 1000 * 1000};

	if (!pid)
		return;
	if (uk_switch_ask(name, "{\"cmd\":\"stop\"}", -1, NULL, NULL) < 0)
		kill(pid, SIGTERM);
	for (int i = 0; i < 250 && uk_switch_pid(name); i++)
		nanosleep(&ts, NULL);
	if (uk_switch_pid(name))
		kill(pid, SIGKILL);
}

static bool any_running(const struct uk_lab *lab)
{
	char **names;
	int n;
	bool alive = false;

	if (uk_guest_list(&names, &n, NULL) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (uk_lab_name_is_ours(names[i], lab->id) && uk_guest_is_alive(names[i]))
			alive = true;
	uk_names_free(names, n);
	return alive;
}

void uk_lab_switches_stop(const struct uk_lab *lab)
{
	char **names;
	int n;

	if (any_running(lab) || uk_switch_list(&names, &n, NULL) < 0)
		return;
	for (int i = 0; i < n; i++)
		if (uk_lab_name_is_ours(names[i], lab->id))
			switch_stop(names[i]);
	uk_names_free(names, n);
	uk_lab_ext_down(lab);
}

/* The options with only the selected machines that run: 0, or -ENOENT when none does */
static int running_only(const struct uk_lab *lab, const struct uk_lab_run_opts *o,
			struct uk_lab_run_opts *out, const char **names, struct uk_err *err)
{
	int n = 0;

	*out = *o;
	for (int i = 0; i < lab->n_machine; i++)
		if (uk_lab_selected(lab, o, i) && uk_lab_machine_running(lab, lab->machine[i].name))
			names[n++] = lab->machine[i].name;
	out->only = names;
	out->n_only = n;
	if (n == 0)
		return uk_err_set(err, ENOENT, "%s: no machine of the lab is running", lab->dir);
	return 0;
}

int uk_lab_stop(const struct uk_lab *lab, const struct uk_lab_run_opts *o, bool crash,
		struct uk_err *err)
{
	struct uk_lab_pool_result res = {0};
	struct uk_lab_run_opts ro;
	const char **names = calloc((size_t)lab->n_machine + 1, sizeof(*names));
	int r;

	if (!names)
		return uk_err_set(err, ENOMEM, "out of memory");
	r = running_only(lab, o, &ro, names, err);
	if (r == 0)
		r = uk_lab_pool_run(lab, &ro, false, crash ? crash_job : stop_job, &res, err);
	if (r == 0 && res.failed) {
		for (int i = 0; i < lab->n_machine; i++)
			if (uk_lab_selected(lab, &ro, i) && !res.ok[i]) {
				r = uk_err_set(err, EIO, "%s: machine '%s': %s", lab->dir,
					       lab->machine[i].name, res.msg[i]);
				break;
			}
	}
	uk_lab_pool_result_free(&res);
	free(names);
	uk_lab_switches_stop(lab);
	return r;
}

/* Remove DIR/M.SUFFIX when it is a file (or a symlink): 0 or -errno naming it */
static int remove_file(const struct uk_lab *lab, const char *m, const char *suffix,
		       struct uk_err *err)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s%s", lab->dir, m, suffix);
	if (unlink(path) < 0 && errno != ENOENT)
		return uk_err_sys(err, errno, "%s", path);
	return 0;
}

int uk_lab_remove_disks(const struct uk_lab *lab, const struct uk_lab_run_opts *o,
			struct uk_err *err)
{
	struct uk_lab_run_opts here = *o; /* with lab.hosts: this host's machines only */

	if (uk_lab_host_opts(lab, &here, err) < 0)
		return -EINVAL;
	for (int i = 0; i < lab->n_machine; i++) {
		if (!uk_lab_selected(lab, &here, i))
			continue;
		if (uk_lab_machine_running(lab, lab->machine[i].name))
			return uk_err_set(err, EBUSY, "%s: machine '%s' is running: its disk stays",
					  lab->dir, lab->machine[i].name);
		int r = remove_file(lab, lab->machine[i].name, ".disk", err);

		if (r < 0)
			return r;
	}
	return 0;
}

/* shared/, when `lab start` made it */
static int remove_shared(const struct uk_lab *lab, struct uk_err *err)
{
	char made[8];
	_cleanup_close_ int dfd = -1;

	if (uk_lab_state_get(lab->id, "made-shared", made, sizeof(made)) < 0)
		return 0;
	dfd = open(lab->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return uk_err_sys(err, errno, "%s", lab->dir);
	int r = uk_remove_tree(dfd, "shared");

	return r < 0 ? uk_err_sys(err, -r, "%s/shared", lab->dir) : 0;
}

int uk_lab_clean(const struct uk_lab *lab, const char *host, bool crash, struct uk_err *err)
{
	struct uk_lab_run_opts all = {.host = host}; /* with lab.hosts: that host's machines */
	struct uk_err e = {0};
	int r = uk_lab_host_opts(lab, &all, err);

	if (r < 0)
		return r;
	r = uk_lab_stop(lab, &all, crash, &e);
	if (r < 0 && r != -ENOENT)
		return uk_err_set(err, -r, "%s", e.msg);
	uk_lab_switches_stop(lab);
	r = uk_lab_remove_disks(lab, &all, err);
	for (int i = 0; r == 0 && i < lab->n_machine; i++) {
		char name[UK_GUEST_NAME_MAX + 1];

		if (!uk_lab_selected(lab, &all, i))
			continue;
		uk_lab_guest_name(lab, lab->machine[i].name, name, sizeof(name));
		uk_guest_forget(name, false, NULL);
		r = remove_file(lab, lab->machine[i].name, ".log", err);
	}
	if (r == 0)
		r = remove_shared(lab, err);
	if (r == 0)
		uk_lab_state_remove(lab);
	return r;
}

/* ---- lab list ---- */

static struct uk_lab_running *lab_of(struct uk_lab_running **v, int *n, const char *id)
{
	struct uk_lab_running *nv;

	for (int i = 0; i < *n; i++)
		if (!strcmp((*v)[i].id, id))
			return &(*v)[i];
	nv = realloc(*v, (size_t)(*n + 1) * sizeof(**v));
	if (!nv)
		return NULL;
	*v = nv;
	nv = &(*v)[(*n)++];
	memset(nv, 0, sizeof(*nv));
	snprintf(nv->id, sizeof(nv->id), "%s", id);
	uk_lab_state_get(id, "dir", nv->dir, sizeof(nv->dir));
	return nv;
}

static int add_machine(struct uk_lab_running *l, const char *guest)
{
	char **nv = realloc(l->machine, (size_t)(l->n_machine + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	l->machine = nv;
	nv[l->n_machine] = strdup(guest + 3 + UK_LAB_ID_SHORT + 1);
	if (!nv[l->n_machine])
		return -ENOMEM;
	l->n_machine++;
	return 0;
}

int uk_lab_list_running(struct uk_lab_running **out, int *n, struct uk_err *err)
{
	struct uk_lab_running *v = NULL, *l;
	char **names, id[UK_LAB_ID_SHORT + 1];
	int count, r = uk_guest_list(&names, &count, err);

	*n = 0;
	if (r < 0)
		return r;
	for (int i = 0; r == 0 && i < count; i++) {
		if (!uk_lab_name_id(names[i], id) || !uk_guest_is_alive(names[i]))
			continue;
		l = lab_of(&v, n, id);
		r = l ? add_machine(l, names[i]) : -ENOMEM;
	}
	uk_names_free(names, count);
	if (r < 0) {
		uk_lab_running_free(v, *n);
		*n = 0;
		return r == -ENOMEM ? uk_err_set(err, ENOMEM, "out of memory") : r;
	}
	*out = v;
	return 0;
}

void uk_lab_running_free(struct uk_lab_running *v, int n)
{
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < v[i].n_machine; k++)
			free(v[i].machine[k]);
		free(v[i].machine);
	}
	free(v);
}
