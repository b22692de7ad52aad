// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `lab start`: a lab's collision domains as hub switches of its own, each machine a guest on
 * a COW in the lab directory, started in parallel as far as lab.dep allows, then made ready
 * inside (guestside.c) and its startup scripts run.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/guest.h"
#include "umlkit/lab.h"
#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "lab-internal.h"
#include "pool-internal.h"
#include "run-internal.h"

bool uk_lab_selected(const struct uk_lab *lab, const struct uk_lab_run_opts *o, int i)
{
	const struct uk_lab_host *h = uk_lab_host_of(lab, lab->machine[i].name);

	if (h && o->host && strcmp(h->name, o->host))
		return false; /* lab.hosts puts it on another host */
	if (!o->only || o->n_only == 0)
		return true;
	for (int k = 0; k < o->n_only; k++)
		if (!strcmp(o->only[k], lab->machine[i].name))
			return true;
	return false;
}

/* MemAvailable of /proc/meminfo in MiB, or -1 */
static long mem_available_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : kib / 1024;
}

/*
 * One machine per CPU: a booting machine keeps its CPU busy (its kernel and its processes hand
 * that one CPU to each other, lib/guest/cpu.c), so a second one on the same CPU only adds
 * switches between them. bench/lab, 15 machines on 2 CPUs: -p 2 started in 46.5 and 48.5 s
 * (85 and 90 CPU-s) on 6.1, -p 4 in 55.2 and 55.4 s (98 and 102 CPU-s); on 7.2 in seccomp
 * mode 17.9 and 19.3 s against 22.4 and 19.7 s.
 */
int uk_lab_parallel_default(long mem_mib)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), avail = mem_available_mib();
	long n = cpus > 0 ? cpus : 1;

	if (mem_mib <= 0)
		mem_mib = UK_LAB_MEM_MIB;
	if (avail > 0 && avail / (mem_mib + 32) < n)
		n = avail / (mem_mib + 32);
	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

bool uk_lab_machine_running(const struct uk_lab *lab, const char *machine)
{
	char name[UK_GUEST_NAME_MAX + 1];

	uk_lab_guest_name(lab, machine, name, sizeof(name));
	return uk_guest_is_alive(name);
}

/* None of the selected machines runs: else -EBUSY naming the first */
static int check_not_running(const struct uk_lab *lab, const struct uk_lab_run_opts *o,
			     struct uk_err *err)
{
	for (int i = 0; i < lab->n_machine; i++)
		if (uk_lab_selected(lab, o, i) && uk_lab_machine_running(lab, lab->machine[i].name))
			return uk_err_set(err, EBUSY,
					  "%s: machine '%s' is running already (`umlkit lab stop` "
					  "or `lab crash` first)",
					  lab->dir, lab->machine[i].name);
	return 0;
}

/* ubd= and hostfs split on ',' (and ubd on ':'): refuse such a path before anything runs */
static int check_path(const char *what, const char *path, struct uk_err *err)
{
	if (strpbrk(path, ",:"))
		return uk_err_set(err, EINVAL,
				  "%s %s holds ',' or ':', which the kernel's ubd= cannot take",
				  what, path);
	return 0;
}

/* A switch of the lab's (tap: its uplink, "" none; tap_vlan: the VLAN it carries tagged,
 * 0 none), unless it runs already */
static int start_switch(const char *name, bool nat, const char *tap, int tap_vlan,
			struct uk_err *err)
{
	struct uk_switch_daemon_opts d = {.hub = !nat,
					  .nat = nat,
					  .group = -1,
					  .ready_fd = -1,
					  .coalesce_us = UK_SW_COALESCE_US};
	pid_t pid;
	int r;

	if (uk_switch_pid(name))
		return 0; /* started for machines of this lab started earlier */
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.tap, sizeof(d.tap), "%s", tap);
	d.tap_vlan = (uint16_t)tap_vlan;
	r = uk_switch_daemon_start(&d, &pid, err);
	return r < 0 ? r : 1;
}

/* "ADDR:PORT", or "[ADDR6]:PORT" */
static void host_port(const char *addr, unsigned port, char *out, size_t outlen)
{
	snprintf(out, outlen, strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, port);
}

/* lab.hosts: switch sw of domain cd joined to every other host's over VXLAN (VNI and UDP
 * port from the domain's place in lab.conf), bound to this host's address */
static int join_hosts(const struct uk_lab *lab, const char *host, const char *sw, const char *cd,
		      struct uk_err *err)
{
	struct uk_switch_vxlan v = {0};
	int k = uk_lab_span_index(lab, cd), r;
	unsigned port;

	if (k < 0 || lab->n_host < 2)
		return 0;
	v.vni = lab->vni_base + (unsigned)k;
	port = lab->port_base + (unsigned)k;
	if (v.vni > UK_LAB_VNI_MAX || port > 65535)
		return uk_err_set(err, ERANGE, "domain %s: VNI %u or UDP port %u out of range", cd,
				  v.vni, port);
	for (int i = 0; i < lab->n_host && v.nremotes < UK_VXLAN_MAX_REMOTES; i++) {
		if (!strcmp(lab->host[i].name, host))
			host_port(lab->host[i].addr, port, v.local, sizeof(v.local));
		else
			host_port(lab->host[i].addr, port, v.remotes[v.nremotes++],
				  sizeof(v.remotes[0]));
	}
	r = uk_switch_vxlan(sw, &v, err);
	return r < 0 ? uk_err_prefix(err, r, "domain %s over VXLAN (VNI %u, %s): ", cd, v.vni,
				     v.local)
		     : 0;
}

/* The hub of every domain the selected machines use, and the NAT switch when one is
 * bridged */
static int start_switches(const struct uk_lab *lab, const struct uk_lab_run_opts *o,
			  struct uk_err *err)
{
	char name[64], tap[16];
	bool nat = false;
	int vlan = 0, r = uk_lab_ext_up(lab, err);

	if (r < 0)
		return r;
	for (int i = 0; i < lab->n_machine; i++) {
		const struct uk_lab_machine *m = &lab->machine[i];

		if (!uk_lab_selected(lab, o, i))
			continue;
		nat |= m->bridged;
		for (int k = 0; k < m->n_iface; k++) {
			if (!m->iface[k].cd[0])
				continue;
			uk_lab_switch_name(lab, m->iface[k].cd, name, sizeof(name));
			if (!uk_lab_ext_tap(lab, m->iface[k].cd, tap, &vlan))
				tap[0] = '\0';
			r = start_switch(name, false, tap, vlan, err);
			if (r > 0 && o->host)
				r = join_hosts(lab, o->host, name, m->iface[k].cd, err);
			if (r < 0)
				return uk_err_prefix(err, r, "collision domain '%s' (switch %s): ",
						     m->iface[k].cd, name);
		}
	}
	if (!nat)
		return 0;
	uk_lab_nat_name(lab, name, sizeof(name));
	r = start_switch(name, true, "", 0, err);
	return r < 0 ? uk_err_prefix(err, r, "the lab's NAT switch %s: ", name) : 0;
}

/* --net of the bridged interface: the NAT switch, a forward for each port= */
static int bridged_net(const struct uk_lab *lab, const struct uk_lab_machine *m,
		       struct uk_guest_spec *s, struct uk_err *err)
{
	char arg[64 + UK_GUEST_NET_FWDS * 48], name[64];
	size_t n;

	uk_lab_nat_name(lab, name, sizeof(name));
	n = (size_t)snprintf(arg, sizeof(arg), "switch:%s", name);
	for (int i = 0; i < m->n_port; i++) {
		const struct uk_lab_port *p = &m->port[i];

		if (strcmp(p->proto, "tcp") && strcmp(p->proto, "udp"))
			return uk_err_set(err, ENOTSUP,
					  "machine '%s': port %u/%s: only tcp and udp are "
					  "forwarded",
					  m->name, p->guest, p->proto);
		n += (size_t)snprintf(arg + n, sizeof(arg) - n, ",forward=%s:%u:%u", p->proto,
				      p->host, p->guest);
		if (n >= sizeof(arg))
			return uk_err_set(err, E2BIG, "machine '%s': too many ports", m->name);
	}
	return uk_guest_spec_add_net(s, arg, err);
}

static int add_nets(const struct uk_lab *lab, const struct uk_lab_machine *m,
		    struct uk_guest_spec *s, struct uk_err *err)
{
	char arg[160], name[64], tap[16], tag[16];
	int r, vlan;

	for (int i = 0; i < m->n_iface; i++) {
		if (!m->iface[i].cd[0])
			continue;
		if (s->nnets >= UK_GUEST_NETS)
			return uk_err_set(err, E2BIG, "machine '%s': more than %d interfaces",
					  m->name, UK_GUEST_NETS);
		uk_lab_switch_name(lab, m->iface[i].cd, name, sizeof(name));
		/* a domain lab.ext joins to IFACE.VLAN: its machines are in that VLAN */
		if (!uk_lab_ext_tap(lab, m->iface[i].cd, tap, &vlan) || !vlan)
			tag[0] = '\0';
		else
			snprintf(tag, sizeof(tag), ",vlan=%d", vlan);
		snprintf(arg, sizeof(arg), "switch:%s%s%s%s", name,
			 m->iface[i].mac[0] ? ",mac=" : "", m->iface[i].mac, tag);
		r = uk_guest_spec_add_net(s, arg, err);
		if (r < 0)
			return uk_err_prefix(err, r, "machine '%s': eth%d: ", m->name, i);
	}
	return m->bridged ? bridged_net(lab, m, s, err) : 0;
}

/* A file option (image=, kernel=) that names a file: relative to the lab directory */
static bool option_file(const struct uk_lab *lab, const char *v, char *out, size_t outlen)
{
	struct stat st;

	if (!v || !strchr(v, '/'))
		return false; /* kathara/frr and the like: the lab image */
	if (uk_fmt(out, outlen, "%s%s%s", v[0] == '/' ? "" : lab->dir, v[0] == '/' ? "" : "/", v) <
	    0)
		return false;
	return stat(out, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * The kernel command line of every lab machine, after umlkit.hostname= (a lab's append= comes
 * after and wins):
 *  - quiet: the kernel's and systemd's boot lines (200 of them) cost a machine 0.25 s of CPU
 *    (6.1, 13% of its boot); warnings and failed units still reach its console, and
 *    append=loglevel=7 systemd.show_status=1 brings them back.
 *  - no udev: on a lab machine it only named the vector driver's vecN ethN, which the lab's
 *    setup now does in the `ip -batch` that brings the interfaces up (guestside.c), before any
 *    lab script; Kathara's containers have no udev either. udevd, its coldplug and a worker
 *    forked per interface took 0.84 to 1.1 s of CPU on a 4-interface FRR router (6.1, its
 *    systemd accounting), a tenth of its start: bench/lab, 15 machines on 2 CPUs, went from
 *    46.5-48.5 s (85-90 CPU-s) to 39.8-43.6 s (75-81 CPU-s) on 6.1, from 17.9-19.3 s to
 *    16.9-17.8 s on 7.2. A mask names a unit a systemd image may lack; any other init
 *    ignores it (a dotted parameter is not passed to init).
 */
#define LAB_BOOT_ARGS                                                                              \
	"quiet systemd.mask=systemd-udevd.service systemd.mask=systemd-udev-trigger.service "      \
	"systemd.mask=systemd-udevd-kernel.socket systemd.mask=systemd-udevd-control.socket"

static int machine_spec(const struct uk_lab *lab, const struct uk_lab_machine *m,
			const struct uk_lab_run_opts *o, struct uk_guest_spec *s,
			struct uk_err *err)
{
	char arg[2 * PATH_MAX + 64], img[PATH_MAX], mem[32];
	bool own_kernel;
	int r;

	uk_guest_spec_init(s);
	/* /hostlab is the lab directory through hostfs, which a jailed kernel cannot reach
	 * (its root holds only its own files): a lab's machines run without the jail */
	s->no_jail = true;
	uk_lab_guest_name(lab, m->name, s->name, sizeof(s->name));
	snprintf(mem, sizeof(mem), "%ldM", m->mem_mib > 0 ? m->mem_mib : UK_LAB_MEM_MIB);
	r = uk_guest_spec_set_mem(s, mem, err);
	if (r < 0)
		return uk_err_prefix(err, r, "machine '%s': mem: ", m->name);
	if (!option_file(lab, m->image, img, sizeof(img)))
		snprintf(img, sizeof(img), "%s", o->image);
	r = check_path("the image", img, err);
	if (r == 0) {
		r = uk_fmt(arg, sizeof(arg), "ubd0=%s/%s.disk,%s", lab->dir, m->name, img);
		r = r < 0 ? uk_err_set(err, ENAMETOOLONG, "its disk's path is too long")
			  : uk_guest_spec_add_disk(s, arg, err);
	}
	if (r == 0)
		r = add_nets(lab, m, s, err);
	if (r < 0)
		return uk_err_prefix(err, r, "machine '%s': ", m->name);
	own_kernel = option_file(lab, m->kernel, s->kernel, sizeof(s->kernel));
	if (!own_kernel)
		snprintf(s->kernel, sizeof(s->kernel), "%s", o->kernel);
	if (!own_kernel && o->modules && o->modules[0])
		snprintf(s->modules, sizeof(s->modules), "%s", o->modules);
	if (!own_kernel && o->seccomp)
		snprintf(s->seccomp, sizeof(s->seccomp), "%s", o->seccomp);
	r = uk_fmt(s->append, sizeof(s->append), "umlkit.hostname=%s %s", m->name, LAB_BOOT_ARGS);
	for (int i = 0; r == 0 && i < m->n_append; i++) {
		size_t n = strlen(s->append);

		r = uk_fmt(s->append + n, sizeof(s->append) - n, " %s", m->append[i]);
	}
	return r < 0 ? uk_err_set(err, E2BIG, "machine '%s': append= is too long", m->name) : 0;
}

/* DIR/M.log, made empty: the machine's log from now on */
static void log_open(const struct uk_lab *lab, const struct uk_lab_machine *m, char *path,
		     size_t len, int *fd)
{
	snprintf(path, len, "%s/%s.log", lab->dir, m->name);
	*fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
}

static void log_line(int fd, const char *msg)
{
	if (fd >= 0 && uk_write_all(fd, msg, strlen(msg)) == 0)
		(void)!uk_write_all(fd, "\n", 1);
}

/* Boot: 0, or -1 with the failure reported */
static int boot(const struct uk_lab *lab, const struct uk_lab_machine *m, int index,
		const struct uk_lab_run_opts *o, int fd, int logfd)
{
	struct uk_guest_start_opts so = {.wait = true,
					 .ready = UK_READY_NOTIFY,
					 .timeout_s =
						 o->timeout_s > 0 ? o->timeout_s : UK_LAB_BOOT_S};
	struct uk_guest_status st = {0};
	struct uk_guest_spec s;
	struct uk_err e = {0};
	char msg[UK_ERR_MSG_MAX + PATH_MAX + 64];

	if (machine_spec(lab, m, o, &s, &e) == 0 && uk_guest_start(&s, &so, &st, &e) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "umlkit: did not boot: %s%s%s%s", e.msg,
		 st.console_log[0] ? " (console log " : "", st.console_log,
		 st.console_log[0] ? ")" : "");
	log_line(logfd, msg);
	uk_lab_report(fd, index, 'f', "%s", msg + 8);
	return -1;
}

/* After its startup scripts: what the machine's boot touched and freed goes back to the
 * host (a third to a half of its memory, lib/guest/trim.c); the log says how it went */
static void trim(const struct uk_lab *lab, const struct uk_lab_machine *m, int logfd)
{
	struct uk_guest_trim_result res;
	char name[UK_GUEST_NAME_MAX + 1], msg[UK_ERR_MSG_MAX + 64];
	struct uk_err e = {0};

	uk_lab_guest_name(lab, m->name, name, sizeof(name));
	if (uk_guest_trim(name, false, &res, &e) < 0) /* the startup dropped the cache */
		snprintf(msg, sizeof(msg), "umlkit: trim: %s", e.msg);
	else
		snprintf(msg, sizeof(msg),
			 "umlkit: trim: %" PRIu64 " KiB of %" PRIu64 " KiB free released, "
			 "kernel's host RSS %" PRIu64 " -> %" PRIu64 " KiB",
			 res.trimmed_kib, res.free_kib, res.rss_before_kib, res.rss_after_kib);
	log_line(logfd, msg);
}

/* A machine's start, in a child of the pool */
static int start_job(const struct uk_lab *lab, const struct uk_lab_machine *m, int index,
		     const struct uk_lab_run_opts *o, int fd)
{
	char logpath[PATH_MAX + 64];
	struct uk_err e = {0};
	bool trim_after = !o->no_wait && !o->no_trim; /* the startup drops the cache for it */
	int logfd, r;

	log_open(lab, m, logpath, sizeof(logpath), &logfd);
	uk_lab_report(fd, index, 'p', "booting");
	r = boot(lab, m, index, o, fd, logfd);
	if (r == 0) {
		uk_lab_report(fd, index, 'p', "ready");
		r = uk_lab_guest_start(lab, m, o->no_wait, trim_after, &e);
		if (r < 0) {
			log_line(logfd, e.msg);
			uk_lab_report(fd, index, 'f', "%s (log %s)", e.msg, logpath);
		}
	}
	if (r == 0 && trim_after)
		trim(lab, m, logfd);
	if (logfd >= 0)
		close(logfd);
	if (r == 0)
		uk_lab_report(fd, index, 'p', o->no_wait ? "startup running" : "startup done");
	return r;
}

/* The lab's directory for `lab list`, and shared/ made when missing (then removed by
 * `lab clean`) */
static int lab_prepare(const struct uk_lab *lab, struct uk_err *err)
{
	char path[PATH_MAX + 16];
	int r = uk_lab_state_put(lab, "dir", lab->dir, err);

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/shared", lab->dir);
	if (mkdir(path, 0755) == 0)
		return uk_lab_state_put(lab, "made-shared", "1", err);
	if (errno != EEXIST)
		return uk_err_sys(err, errno, "%s", path);
	return 0;
}

/* "a (why), b (why)" of the failed machines */
static void failed_list(const struct uk_lab *lab, const struct uk_lab_run_opts *o,
			const struct uk_lab_pool_result *res, struct uk_err *err)
{
	char *msg = err->msg;
	bool first = true;
	size_t n = (size_t)snprintf(msg, sizeof(err->msg), "%s: %d machine%s failed: ", lab->dir,
				    res->failed, res->failed == 1 ? "" : "s");
	for (int i = 0; i < lab->n_machine && n < sizeof(err->msg); i++) {
		if (!uk_lab_selected(lab, o, i) || res->ok[i])
			continue;
		n += (size_t)snprintf(msg + n, sizeof(err->msg) - n, "%s%s: %s", first ? "" : "; ",
				      lab->machine[i].name,
				      res->msg[i][0] ? res->msg[i] : "failed");
		first = false;
	}
	err->code = EIO;
}

int uk_lab_start(const struct uk_lab *lab, const struct uk_lab_run_opts *o, struct uk_err *err)
{
	struct uk_lab_pool_result res = {0};
	int r = check_not_running(lab, o, err);

	if (r == 0)
		r = check_path("the lab directory", lab->dir, err);
	if (r == 0)
		r = uk_lab_ext_check(lab, err);
	if (r == 0)
		r = uk_lab_host_check(lab, o, err);
	if (r == 0 && (!o->image || !o->kernel))
		r = uk_err_set(err, EINVAL, "%s: no lab image or kernel given", lab->dir);
	if (r == 0)
		r = lab_prepare(lab, err);
	if (r == 0)
		r = start_switches(lab, o, err);
	if (r == 0)
		r = uk_lab_pool_run(lab, o, true, start_job, &res, err);
	if (r < 0 || res.failed)
		uk_lab_switches_stop(lab); /* only when none of its machines runs */
	if (r < 0)
		return r;
	if (res.failed)
		failed_list(lab, o, &res, err);
	r = res.failed ? -EIO : 0;
	uk_lab_pool_result_free(&res);
	return r;
}
