// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Where a guest's host processes run (--cpu-affinity): the kernel is given a CPU set before
 * it execs, and every process it makes (its helpers, one per guest process) inherits it.
 *
 * auto (the default) pins each guest to one CPU of those this process may use: the one the
 * fewest of the user's other guests hold (the choice auto recorded in their state directory,
 * or a kernel pinned to one CPU), the lowest on a tie; counting, choosing and recording happen
 * under one lock, so guests started at the same moment spread over the CPUs. On a 2-CPU host a
 * Debian boot that was free to move took twice as long as a pinned one: the kernel and its helpers
 * hand the CPU to each other at every system call, and on another CPU each handoff is a wakeup and
 * a cache miss (see umlkit-guest(1) for the numbers). A guest never runs on more than one host CPU
 * at a time anyway. none leaves the placement to the host's scheduler; a LIST
 * ("0-3,6") gives the CPUs to use, intersected with the allowed ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "guest-internal.h"

#define PLACE_LOCK_MS 5000 /* how long a start waits for the placement lock at most */

int uk_guest_cpulist_parse(const char *arg, cpu_set_t *set, struct uk_err *err)
{
	const char *p = arg;

	CPU_ZERO(set);
	if (!*arg)
		return uk_err_set(err, EINVAL, "empty CPU list");
	for (;;) {
		unsigned long lo, hi;
		char *end;

		if (*p < '0' || *p > '9')
			return uk_err_set(err, EINVAL, "%s: not a CPU list (e.g. 0-3,6)", arg);
		errno = 0;
		lo = strtoul(p, &end, 10);
		hi = lo;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return uk_err_set(err, EINVAL, "%s: not a CPU list (e.g. 0-3,6)",
						  arg);
			hi = strtoul(p, &end, 10);
		}
		if (errno || lo >= CPU_SETSIZE || hi >= CPU_SETSIZE)
			return uk_err_set(err, EINVAL, "%s: CPU numbers go from 0 to %d", arg,
					  CPU_SETSIZE - 1);
		if (hi < lo)
			return uk_err_set(err, EINVAL, "%s: range %lu-%lu goes down", arg, lo, hi);
		for (unsigned long c = lo; c <= hi; c++)
			CPU_SET(c, set);
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return uk_err_set(err, EINVAL, "%s: not a CPU list (e.g. 0-3,6)", arg);
		p = end + 1;
	}
}

int uk_guest_spec_set_cpus(struct uk_guest_spec *s, const char *arg, struct uk_err *err)
{
	cpu_set_t set;

	if (!strcmp(arg, "auto")) {
		s->cpu_mode = UK_CPU_AUTO;
	} else if (!strcmp(arg, "none")) {
		s->cpu_mode = UK_CPU_NONE;
	} else {
		if (strlen(arg) >= sizeof(s->cpus))
			return uk_err_set(err, E2BIG, "--cpu-affinity: too long");
		if (uk_guest_cpulist_parse(arg, &set, err) < 0)
			return uk_err_prefix(err, -EINVAL, "--cpu-affinity ");
		s->cpu_mode = UK_CPU_LIST;
	}
	snprintf(s->cpus, sizeof(s->cpus), "%s", s->cpu_mode == UK_CPU_LIST ? arg : "");
	return 0;
}

int uk_guest_cpu_pick(const cpu_set_t *allowed, const int *load, int nload)
{
	int best = -1;

	for (int c = 0; c < CPU_SETSIZE; c++) {
		int l = c < nload ? load[c] : 0;

		if (!CPU_ISSET(c, allowed))
			continue;
		if (best < 0 || l < (best < nload ? load[best] : 0))
			best = c;
	}
	return best;
}

/* The one CPU of a CPU list ("3"), or -1 when it names none or more than one. */
static int single_cpu(const char *list)
{
	cpu_set_t set;

	if (uk_guest_cpulist_parse(list, &set, NULL) < 0 || CPU_COUNT(&set) != 1)
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			return c;
	return -1;
}

/* The CPU auto placed the guest on, from the record in its state directory, or -1. */
static int recorded_cpu(const struct uk_guest_paths *p)
{
	_cleanup_close_ int fd = open(p->cpu, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[16];
	ssize_t n;

	if (fd < 0)
		return -1;
	n = uk_pread_full(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return single_cpu(buf);
}

/* The one CPU a running kernel is pinned to (a LIST of one), read from /proc, or -1. */
static int kernel_cpu(const char *name)
{
	struct uk_guest_status st;
	char buf[4096], *p;

	if (uk_guest_status(name, &st, NULL) < 0 || !st.kernel_alive)
		return -1;
	if (uk_guest_proc_read(st.kernel_pid, "status", buf, sizeof(buf)) <= 0)
		return -1;
	p = strstr(buf, "\nCpus_allowed_list:");
	if (!p)
		return -1;
	p += strlen("\nCpus_allowed_list:");
	p += strspn(p, " \t");
	p[strcspn(p, "\n")] = '\0';
	return single_cpu(p);
}

/* The one CPU a guest other than self that has a supervisor holds, or -1: the choice auto
 * recorded (also for a kernel not yet started), else the CPU its kernel is pinned to. */
static int guest_cpu(const char *name, const char *self)
{
	struct uk_guest_paths p;
	int c;

	if (!strcmp(name, self) || uk_guest_paths(name, &p, NULL) < 0 ||
	    !uk_guest_supervisor_alive(&p))
		return -1;
	c = recorded_cpu(&p);
	return c >= 0 ? c : kernel_cpu(name);
}

/*
 * The placement lock: an flock on .cpu-lock in the guests' state root, held while a guest
 * counts the others' CPUs, chooses its own and records it, so that guests started at the
 * same moment each see the choices made before theirs. Its fd, or -1 when it cannot be had
 * within PLACE_LOCK_MS (the guest is placed all the same, on what it sees).
 */
static int placement_lock(void)
{
	_cleanup_close_ int root = uk_runtime_dir_open("guests", false, NULL);
	int fd;

	if (root < 0)
		return -1;
	fd = openat(root, ".cpu-lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	for (int waited = 0; waited < PLACE_LOCK_MS; waited += 5) {
		struct timespec ts = {.tv_nsec = 5 * 1000000};

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		nanosleep(&ts, NULL);
	}
	close(fd);
	return -1;
}

/* Write auto's choice for the guest into its state directory ("cpu"), for the next one. */
static void record_cpu(const char *name, int cpu)
{
	struct uk_guest_paths p;
	char line[16];
	int n = snprintf(line, sizeof(line), "%d\n", cpu);

	if (uk_guest_paths(name, &p, NULL) == 0)
		uk_guest_write_whole(p.cpu, line, (size_t)n, NULL);
}

/* auto: the CPU of allowed the fewest other guests hold; -1 when none is. */
static int place(const struct uk_guest_spec *s, const cpu_set_t *allowed)
{
	char **names = NULL;
	int load[CPU_SETSIZE];
	int n = 0, c;

	memset(load, 0, sizeof(load));
	if (uk_guest_list(&names, &n, NULL) == 0) {
		for (int i = 0; i < n; i++) {
			c = guest_cpu(names[i], s->name);
			if (c >= 0)
				load[c]++;
		}
		uk_names_free(names, n);
	}
	return uk_guest_cpu_pick(allowed, load, CPU_SETSIZE);
}

int uk_guest_cpu_choose(const struct uk_guest_spec *s, cpu_set_t *set, bool *apply,
			struct uk_err *err)
{
	cpu_set_t allowed;
	int c, lock;

	*apply = false;
	if (s->cpu_mode == UK_CPU_NONE)
		return 0;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return uk_err_sys(err, errno, "sched_getaffinity");
	if (s->cpu_mode == UK_CPU_LIST) {
		if (uk_guest_cpulist_parse(s->cpus, set, err) < 0)
			return uk_err_prefix(err, -EINVAL, "--cpu-affinity ");
		CPU_AND(set, set, &allowed);
		if (CPU_COUNT(set) == 0)
			return uk_err_set(err, EINVAL,
					  "--cpu-affinity %s: none of these CPUs is one this "
					  "process may use",
					  s->cpus);
		*apply = true;
		return 0;
	}
	if (CPU_COUNT(&allowed) < 2)
		return 0; /* nothing to choose */
	lock = placement_lock();
	c = place(s, &allowed);
	if (c >= 0)
		record_cpu(s->name, c);
	if (lock >= 0)
		close(lock); /* the record is in place: the next guest counts this one */
	if (c < 0)
		return 0;
	CPU_ZERO(set);
	CPU_SET(c, set);
	*apply = true;
	return 0;
}
