// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit run, start, list, status, logs, console, stop, kill, rm, trim: guests. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "umlkit/guest.h"
#include "umlkit/image.h"
#include "umlkit/kernel.h"
#include "umlkit/net.h"
#include "umlkit/util.h"
#include "cmd.h"

const char uk_guest_usage[] =
	"Usage:\n"
	"  umlkit run   [OPTIONS] [--dry-run]   boot a guest, console on this terminal\n"
	"  umlkit start [OPTIONS] [--wait]      boot a supervised guest in the background\n"
	"  umlkit list [--output=json]          guests and their states\n"
	"  umlkit status NAME [--output=json]   running, booting, stopped, panicked, exited...,\n"
	"                                       and each link's MAC and IPv4 address\n"
	"  umlkit logs NAME [-f] [--raw]        the console log, control characters as \\xHH\n"
	"                                       (-f: follow; --raw: the bytes as they are)\n"
	"  umlkit console NAME                  attach to the console (detach: Ctrl-]); raw\n"
	"                                       on a terminal, else escaped as logs\n"
	"  umlkit stop NAME [--timeout S]       sync, cad, halt, then signals\n"
	"                                       (default 30 s)\n"
	"  umlkit kill NAME                     SIGKILL the guest and its supervisor\n"
	"  umlkit rm NAME...                    forget stopped guests (their state, never\n"
	"                                       their disks)\n"
	"  umlkit trim NAME... [--drop-caches]  give the host back the memory a running guest\n"
	"                                       does not use (its free pages, through the\n"
	"                                       mconsole's mem device; its size stays);\n"
	"                                       --drop-caches: its clean page cache too\n"
	"\n"
	"Guest options (the kernel's own words):\n"
	"  --name NAME          the umid (required)\n"
	"  --mem SIZE           memory, e.g. 256M (default 256M)\n"
	"  --disk [ubdN[rsdct]=]COW,BACKING | [ubdN[rsdct]=]IMG   (repeatable; a missing COW\n"
	"                       is created; a stale or locked one is refused before boot)\n"
	"  --root DEV           root device (default /dev/ubda)\n"
	"  --net tap:IF|fd:N|bess:PATH|legacy-tuntap:IF[,mac=MAC]  (repeatable)\n"
	"  --net switch:NAME[,vlan=N][,trunk][,mac=MAC][,forward=SPEC]...   a port of umlkit\n"
	"                       switch NAME (no privilege); trunk: every VLAN, tagged but N\n"
	"                       (default 1); forward=tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT:\n"
	"                       with the switch's NAT, the host port to this guest's address\n"
	"                       (its lease or umlkit.ip=), until the guest stops\n"
	"  --net bridge:BR[,tap=IF][,mac=MAC][,ip=ADDR]   a tap umlkit makes, owned by the\n"
	"                       guest's user, attached to bridge BR, removed when it ends\n"
	"  --user USER[:GROUP]  (root only) the kernel runs as this user, not root (names or\n"
	"                       numbers; GROUP: USER's primary group); needed as root with a\n"
	"                       tap:, bridge: or legacy-tuntap: net. The user must be able to\n"
	"                       read and write the disks and read the backings (and with\n"
	"                       --no-jail open /dev/net/tun); umlkit checks before it boots.\n"
	"                       With start, its supervisor runs as the user too, beside a\n"
	"                       root helper (umlkit-guest(1), PRIVILEGE SEPARATION)\n"
	"  --no-jail            the kernel runs without its jail (umlkit-guest(1), THE JAIL).\n"
	"                       By default it gets its own pid, mount, ipc, uts and cgroup\n"
	"                       namespaces, a root holding only its files, no capabilities,\n"
	"                       rlimits, a clean environment; as root without --user it runs\n"
	"                       as uid 0x70000000 + a hash of its name, its files reached\n"
	"                       through idmapped mounts; for a caller who is not root, what\n"
	"                       it lacks is said, and shown by status. --jail (the default)\n"
	"                       is accepted\n"
	"  --allow PORTS        firewall: what may reach the guest (tcp/80,udp/53,icmp), on\n"
	"                       the first tap: or bridge: net with ip=; all else is dropped\n"
	"  --egress any|none|PORTS   firewall: what the guest may reach (default any)\n"
	"  --kernel NAME|PATH   a kernel of `umlkit kernel list`, or a file; default:\n"
	"                       $UMLKIT_KERNEL, then linux or linux.uml on PATH\n"
	"  --seccomp on|off|auto   run guest processes under seccomp (faster; a guest's\n"
	"                       processes can then reach its kernel's memory) or ptrace;\n"
	"                       kernels from 6.16 (default off; $UMLKIT_SECCOMP)\n"
	"  --append ARGS        more kernel arguments\n"
	"  --no-modules         attach no image of the kernel's modules (by default the\n"
	"                       host's /usr/lib/uml/modules/VERSION, read-only, as the\n"
	"                       highest free ubd unit, named by umlkit.modules=/dev/ubdX)\n"
	"  --cpu-affinity auto|none|LIST   the host CPUs the guest's processes run on: auto\n"
	"                       (default) one CPU, the one fewest running guests are pinned\n"
	"                       to; none: any; LIST: these, e.g. 0-3,6\n"
	"  --mem-limit SIZE     the memory limit of the guest's cgroup (default: --mem +\n"
	"                       16M + 128K per task --pids-max allows); an OOM kill is shown\n"
	"                       by status\n"
	"  --pids-max N         its host processes and threads (default 64 + one per 512K\n"
	"                       of --mem); each guest process is one\n"
	"  --cpus N             a CPU quota: N CPUs' worth of time (e.g. 0.5), from 0.01\n"
	"                       (default: none). The cgroup is made below umlkit's own; what\n"
	"                       cannot be applied (no write access) is said once and shown\n"
	"                       by status\n"
	"  --restart=no|on-failure   (run, start) restart a crashed guest\n"
	"  --on-reboot=restart|stop  (start) a reboot inside the guest boots it again\n"
	"                       (default; at most 5 in a row within 60 s of boot), or stops it\n"
	"  --wait               (start) return when the guest reports it is ready\n"
	"  --ready=notify|mconsole|agent|console:REGEX   what counts as ready: the guest's\n"
	"                       notice (default), the mconsole, its umlkit-agent's hello, or a\n"
	"                       console line matching REGEX\n"
	"  --timeout S          (start --wait, stop) give up after S seconds\n"
	"Exit status: 0 success, 1 failure (rm: a guest runs or does not exist; console:\n"
	"refused), 2 usage error; run: 0 when the guest powered off, 1 otherwise.\n";

enum {
	OPT_NAME,
	OPT_MEM,
	OPT_DISK,
	OPT_ROOT,
	OPT_NET,
	OPT_KERNEL,
	OPT_APPEND,
	OPT_RESTART,
	OPT_WAIT,
	OPT_READY,
	OPT_TIMEOUT,
	OPT_DRY_RUN,
	OPT_ALLOW,
	OPT_EGRESS,
	OPT_USER,
	OPT_OUTPUT,
	OPT_ON_REBOOT,
	OPT_NO_MODULES,
	OPT_CPU_AFFINITY,
	OPT_SECCOMP,
	OPT_NO_JAIL,
	OPT_JAIL,
	OPT_MEM_LIMIT,
	OPT_PIDS_MAX,
	OPT_CPUS,
	OPT_DROP_CACHES,
};
static const struct uk_opt guest_options[] = {
	[OPT_NAME] = {.name = "name", .value = true},
	[OPT_MEM] = {.name = "mem", .value = true},
	[OPT_DISK] = {.name = "disk", .value = true},
	[OPT_ROOT] = {.name = "root", .value = true},
	[OPT_NET] = {.name = "net", .value = true},
	[OPT_KERNEL] = {.name = "kernel", .value = true},
	[OPT_APPEND] = {.name = "append", .value = true},
	[OPT_RESTART] = {.name = "restart", .value = true},
	[OPT_WAIT] = {.name = "wait"},
	[OPT_READY] = {.name = "ready", .value = true},
	[OPT_TIMEOUT] = {.name = "timeout", .value = true},
	[OPT_DRY_RUN] = {.name = "dry-run"},
	[OPT_ALLOW] = {.name = "allow", .value = true},
	[OPT_EGRESS] = {.name = "egress", .value = true},
	[OPT_USER] = {.name = "user", .value = true},
	[OPT_OUTPUT] = {.name = "output", .value = true},
	[OPT_ON_REBOOT] = {.name = "on-reboot", .value = true},
	[OPT_NO_MODULES] = {.name = "no-modules"},
	[OPT_NO_JAIL] = {.name = "no-jail"},
	[OPT_JAIL] = {.name = "jail"},
	[OPT_CPU_AFFINITY] = {.name = "cpu-affinity", .value = true},
	[OPT_SECCOMP] = {.name = "seccomp", .value = true},
	[OPT_MEM_LIMIT] = {.name = "mem-limit", .value = true},
	[OPT_PIDS_MAX] = {.name = "pids-max", .value = true},
	[OPT_CPUS] = {.name = "cpus", .value = true},
	[OPT_DROP_CACHES] = {.name = "drop-caches"},
};
_Static_assert(UK_ARRAY_SIZE(guest_options) <= UK_OPTS_MAX, "the options fit an accept mask");

/* The options each command takes. */
#define SPEC_OPTS                                                                                  \
	(UK_OPT_BIT(OPT_NAME) | UK_OPT_BIT(OPT_MEM) | UK_OPT_BIT(OPT_DISK) |                       \
	 UK_OPT_BIT(OPT_ROOT) | UK_OPT_BIT(OPT_NET) | UK_OPT_BIT(OPT_KERNEL) |                     \
	 UK_OPT_BIT(OPT_APPEND) | UK_OPT_BIT(OPT_ALLOW) | UK_OPT_BIT(OPT_EGRESS) |                 \
	 UK_OPT_BIT(OPT_USER) | UK_OPT_BIT(OPT_DRY_RUN) | UK_OPT_BIT(OPT_NO_MODULES) |             \
	 UK_OPT_BIT(OPT_CPU_AFFINITY) | UK_OPT_BIT(OPT_SECCOMP) | UK_OPT_BIT(OPT_NO_JAIL) |        \
	 UK_OPT_BIT(OPT_JAIL) | UK_OPT_BIT(OPT_MEM_LIMIT) | UK_OPT_BIT(OPT_PIDS_MAX) |             \
	 UK_OPT_BIT(OPT_CPUS))
#define START_OPTS                                                                                 \
	(SPEC_OPTS | UK_OPT_BIT(OPT_RESTART) | UK_OPT_BIT(OPT_WAIT) | UK_OPT_BIT(OPT_READY) |      \
	 UK_OPT_BIT(OPT_TIMEOUT) | UK_OPT_BIT(OPT_ON_REBOOT))

struct guest_opts {
	struct uk_guest_spec spec;
	struct uk_guest_start_opts start;
	const char *kernel;
	const char *seccomp; /* --seccomp, else $UMLKIT_SECCOMP; NULL: off */
	struct uk_kernel k;
	bool dry_run, json, no_modules, drop_caches;
	int timeout_s;
	int nargs;
	char **args;
};

bool uk_seccomp_word(const char *v)
{
	return !strcmp(v, "on") || !strcmp(v, "off") || !strcmp(v, "auto");
}

static int parse_spec_opt(struct guest_opts *g, int c, const char *arg, struct uk_err *err)
{
	struct uk_guest_spec *s = &g->spec;

	switch (c) {
	case OPT_NAME:
		if (uk_guest_name_check(arg, err) < 0)
			return -1;
		snprintf(s->name, sizeof(s->name), "%s", arg);
		return 0;
	case OPT_MEM:
		return uk_guest_spec_set_mem(s, arg, err);
	case OPT_DISK:
		return uk_guest_spec_add_disk(s, arg, err);
	case OPT_ROOT:
		if (strlen(arg) >= sizeof(s->root) || strpbrk(arg, " \t"))
			return uk_err_set(err, EINVAL, "--root %s: not a device name", arg);
		snprintf(s->root, sizeof(s->root), "%s", arg);
		return 0;
	case OPT_NET:
		return uk_guest_spec_add_net(s, arg, err);
	case OPT_USER:
		return uk_guest_spec_set_user(s, arg, err);
	case OPT_JAIL:
	case OPT_NO_JAIL:
		s->no_jail = c == OPT_NO_JAIL;
		return 0;
	case OPT_KERNEL:
		g->kernel = arg;
		return 0;
	case OPT_SECCOMP:
		if (!uk_seccomp_word(arg))
			return uk_err_set(err, EINVAL, "--seccomp %s: use on, off or auto", arg);
		g->seccomp = arg;
		return 0;
	case OPT_ALLOW:
	case OPT_EGRESS: { /* checked now, applied by the supervisor when the kernel starts */
		struct uk_fw_policy p;
		char *dst = c == OPT_ALLOW ? s->fw_allow : s->fw_egress;

		uk_fw_policy_init(&p);
		if (strlen(arg) >= sizeof(s->fw_allow))
			return uk_err_set(err, E2BIG, "--%s: too long",
					  c == OPT_ALLOW ? "allow" : "egress");
		if (uk_fw_policy_set(&p, c == OPT_ALLOW ? "allow" : "egress", arg, err) < 0)
			return -1;
		snprintf(dst, sizeof(s->fw_allow), "%s", arg);
		return 0;
	}
	case OPT_APPEND:
		if (strlen(s->append) + strlen(arg) + 2 > sizeof(s->append))
			return uk_err_set(err, E2BIG, "--append: too long");
		if (s->append[0])
			strcat(s->append, " ");
		strcat(s->append, arg);
		return 0;
	case OPT_RESTART:
		if (!strcmp(arg, "no"))
			s->restart = UK_RESTART_NO;
		else if (!strcmp(arg, "on-failure"))
			s->restart = UK_RESTART_ON_FAILURE;
		else
			return uk_err_set(err, EINVAL, "--restart %s: use no or on-failure", arg);
		return 0;
	case OPT_ON_REBOOT:
		if (!strcmp(arg, "restart"))
			s->on_reboot = UK_ON_REBOOT_RESTART;
		else if (!strcmp(arg, "stop"))
			s->on_reboot = UK_ON_REBOOT_STOP;
		else
			return uk_err_set(err, EINVAL, "--on-reboot %s: use restart or stop", arg);
		return 0;
	case OPT_READY:
		return uk_guest_ready_parse(&g->start, arg, err);
	case OPT_CPU_AFFINITY:
		return uk_guest_spec_set_cpus(s, arg, err);
	case OPT_MEM_LIMIT:
		return uk_guest_spec_set_mem_limit(s, arg, err);
	case OPT_PIDS_MAX:
		return uk_guest_spec_set_pids_max(s, arg, err);
	case OPT_CPUS:
		return uk_guest_spec_set_cpu_quota(s, arg, err);
	}
	return uk_err_set(err, EINVAL, "unknown option");
}

static int guest_opt(const struct uk_opts *p, int id, const char *v)
{
	struct guest_opts *g = p->ctx;
	struct uk_err err = {0};
	uint64_t t;

	switch (id) {
	case OPT_WAIT:
		g->start.wait = true;
		return 0;
	case OPT_DRY_RUN:
		g->dry_run = true;
		return 0;
	case OPT_NO_MODULES:
		g->no_modules = true;
		return 0;
	case OPT_DROP_CACHES:
		g->drop_caches = true;
		return 0;
	case OPT_TIMEOUT:
		if (uk_parse_u64(v, &t) < 0 || t == 0 || t > 86400)
			return uk_usage_error(p->cmd, "--timeout %s: seconds from 1", v);
		g->timeout_s = (int)t;
		return 0;
	case OPT_OUTPUT:
		return uk_parse_output(p->cmd, v, &g->json);
	}
	if (parse_spec_opt(g, id, v, &err) < 0)
		return uk_usage_error(p->cmd, "%s", err.msg);
	return 0;
}

/* Parse the options and arguments of command cmd, which takes the options in mask accept. */
static int parse(const char *cmd, unsigned accept, int argc, char **argv, struct guest_opts *g)
{
	char where[64];
	struct uk_opts p = {.opt = guest_options,
			    .nopt = UK_ARRAY_SIZE(guest_options),
			    .accept = accept,
			    .cmd = where,
			    .what = where,
			    .help = uk_guest_usage,
			    .fn = guest_opt,
			    .ctx = g};
	int r;

	snprintf(where, sizeof(where), "umlkit %s", cmd);
	memset(g, 0, sizeof(*g));
	uk_guest_spec_init(&g->spec);
	r = uk_opts_parse(&p, argc, argv);
	g->nargs = p.nargs;
	g->args = p.args;
	g->start.timeout_s = g->timeout_s;
	return r;
}

/*
 * The kernel's modules, read-only, on the highest ubd unit no --disk uses (made into the
 * cache at the first start; a dry run only names it). Not for --no-modules, a kernel without
 * a modules directory, or every unit taken. A --user kernel, which cannot reach this user's
 * cache, gets the image opened for it (supervise.c).
 */
static int attach_modules(struct guest_opts *g)
{
	struct uk_guest_spec *s = &g->spec;
	struct uk_err err = {0};
	int r;

	if (g->no_modules || uk_guest_modules_unit(s) < 0)
		return 0;
	/* --user from a user who is not root is refused by the start with its own message
	 * (uk_guest_check_user); making the image first would fail on root's cache instead */
	if (s->uid >= 0 && geteuid() != 0)
		return 0;
	r = uk_rootfs_modules(g->k.release, g->k.modules, !g->dry_run, s->modules,
			      sizeof(s->modules), NULL, &err);
	if (r < 0)
		return uk_fail(&err);
	if (strpbrk(s->modules, ",:")) {
		uk_err_set(&err, EINVAL,
			   "%s: the modules image's path holds ',' or ':', which the kernel's ubd= "
			   "cannot take (set UMLKIT_CACHE_DIR, or give --no-modules)",
			   s->modules);
		s->modules[0] = '\0';
		return uk_fail(&err);
	}
	return 0;
}

int uk_seccomp_choose(const char *want, const char *dflt, const struct uk_kernel *k, char *out,
		      size_t outlen)
{
	const char *env = getenv("UMLKIT_SECCOMP");
	struct uk_err err = {0};

	if (!want && env && *env) {
		if (!uk_seccomp_word(env))
			return uk_usage_error("umlkit", "$UMLKIT_SECCOMP=%s: use on, off or auto",
					      env);
		want = env;
	}
	if (!want)
		want = dflt;
	out[0] = '\0';
	if (!want)
		return 0;
	if (k->seccomp) {
		snprintf(out, outlen, "%s", want);
		return 0;
	}
	if (strcmp(want, "on"))
		return 0;
	uk_err_set(&err, ENOTSUP,
		   "--seccomp on: kernel %s (Linux %s) has no seccomp mode, only ptrace (it came "
		   "with Linux 6.16; `umlkit kernel fetch` brings one that has it)",
		   k->name[0] ? k->name : k->path, k->release);
	return uk_fail(&err);
}

/* run and start: the spec must name the guest, have a disk and find a kernel. */
static int complete_spec(const char *cmd, struct guest_opts *g)
{
	struct uk_err err = {0};
	char where[64];
	int r;

	snprintf(where, sizeof(where), "umlkit %s", cmd);
	if (g->nargs)
		return uk_usage_error(where, "unexpected argument '%s'", g->args[0]);
	if (!g->spec.name[0])
		return uk_usage_error(where, "--name NAME is required");
	if (g->spec.ndisks == 0)
		return uk_usage_error(where, "--disk is required");
	if (uk_kernel_find(g->kernel, &g->k, &err) < 0)
		return uk_fail(&err);
	snprintf(g->spec.kernel, sizeof(g->spec.kernel), "%s", g->k.path);
	r = uk_seccomp_choose(g->seccomp, NULL, &g->k, g->spec.seccomp, sizeof(g->spec.seccomp));
	return r ? r : attach_modules(g);
}

static int dry_run(const struct guest_opts *g)
{
	struct uk_guest_wiring w = {
		.uml_dir = "UML_DIR", .notify_sock = NULL, .console_stdio = true};
	struct uk_err err = {0};
	char **argv, preload[PATH_MAX];

	if (uk_guest_argv(&g->spec, &w, &argv, &err) < 0)
		return uk_fail(&err);
	if (uk_guest_preload(preload, sizeof(preload), &err) < 0) {
		free(argv);
		return uk_fail(&err);
	}
	if (preload[0])
		fprintf(stderr, "umlkit: the kernel runs with LD_PRELOAD=%s\n", preload);
	if (g->spec.uid >= 0)
		fprintf(stderr, "umlkit: the kernel runs as uid %ld gid %ld (--user %s)\n",
			g->spec.uid, g->spec.gid, g->spec.user);
	for (int i = 0; argv[i]; i++)
		printf("%s%s", i ? " " : "", argv[i]);
	putchar('\n');
	free(argv);
	return UK_EXIT_OK;
}

/* What of the guest's cgroup could not be applied, once, at its start. */
static void say_cgroup_note(const struct uk_guest_status *st)
{
	if (st->cgroup_note[0])
		uk_say("guest '%s': %s", st->name, st->cgroup_note);
}

static void describe_end(const struct uk_guest_status *st)
{
	if (st->state == UK_GUEST_PANICKED)
		uk_say("guest '%s' panicked: %s", st->name, st->message);
	else if (st->state == UK_GUEST_EXITED && st->oom_killed)
		uk_say("guest '%s' was %s", st->name, st->message);
	else if (st->state == UK_GUEST_EXITED && st->exit_signal)
		uk_say("guest '%s' was killed by signal %d", st->name, st->exit_signal);
	else if (st->state == UK_GUEST_EXITED)
		uk_say("guest '%s' exited with status %d", st->name, st->exit_status);
}

static int cmd_run(struct guest_opts *g)
{
	struct uk_guest_status st;
	struct uk_err err = {0};
	int r = complete_spec("run", g);

	if (r)
		return r;
	if (g->dry_run)
		return dry_run(g);
	if (uk_guest_run(&g->spec, &st, &err) < 0)
		return uk_fail(&err);
	say_cgroup_note(&st);
	describe_end(&st);
	return st.state == UK_GUEST_STOPPED ? UK_EXIT_OK : UK_EXIT_FAIL;
}

/* start --wait: what the guest waits for, once it has waited a while */
static void say_note(const char *msg, void *ctx)
{
	(void)ctx;
	uk_say("%s", msg);
}

static int cmd_start(struct guest_opts *g)
{
	struct uk_guest_status st;
	struct uk_err err = {0};
	int r = complete_spec("start", g);

	if (r)
		return r;
	if (g->dry_run)
		return dry_run(g);
	g->start.note = say_note;
	if (uk_guest_start(&g->spec, &g->start, &st, &err) < 0)
		return uk_fail(&err);
	say_cgroup_note(&st);
	printf("%s: %s (kernel pid %d)\n", st.name, uk_guest_state_name(st.state),
	       (int)st.kernel_pid);
	if (st.jail_missing[0])
		fprintf(stderr, "umlkit: guest '%s': jail: not applied: %s\n", st.name,
			st.jail_missing);
	return UK_EXIT_OK;
}

/* A number, or null for 0 (none). */
static json_t *json_count(uint64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

/* The guest's cgroup: its memory directory, limits, OOM kills and what was not applied. */
static json_t *cgroup_json(const struct uk_guest_status *st)
{
	json_t *j = json_object();

	json_object_set_new(j, "path", st->cgroup[0] ? json_string(st->cgroup) : json_null());
	json_object_set_new(j, "memory_limit", json_count(st->mem_limit));
	json_object_set_new(j, "pids_max", json_count(st->pids_max));
	json_object_set_new(j, "cpus",
			    st->cpus_centi ? json_real(st->cpus_centi / 100.0) : json_null());
	json_object_set_new(j, "oom_kills", json_integer((json_int_t)st->oom_kills));
	json_object_set_new(j, "oom_killed", json_boolean(st->oom_killed));
	json_object_set_new(j, "note", json_string(st->cgroup_note));
	return j;
}

static json_t *status_json(const struct uk_guest_status *st)
{
	json_t *j = json_object();

	json_object_set_new(j, "name", json_string(st->name));
	json_object_set_new(j, "state", json_string(uk_guest_state_name(st->state)));
	json_object_set_new(j, "pid",
			    st->kernel_alive ? json_integer(st->kernel_pid) : json_null());
	json_object_set_new(j, "supervisor_pid",
			    st->supervisor_pid ? json_integer(st->supervisor_pid) : json_null());
	json_object_set_new(j, "exit_status",
			    st->exit_status >= 0 ? json_integer(st->exit_status) : json_null());
	json_object_set_new(j, "exit_signal",
			    st->exit_signal ? json_integer(st->exit_signal) : json_null());
	json_object_set_new(j, "restarts", json_integer(st->restarts));
	json_object_set_new(j, "reboots", json_integer(st->reboots));
	json_object_set_new(j, "started", json_integer(st->started));
	json_object_set_new(j, "ready", st->ready ? json_integer(st->ready) : json_null());
	json_object_set_new(j, "message", json_string(st->message));
	json_object_set_new(j, "waiting_for",
			    st->state == UK_GUEST_BOOTING || st->state == UK_GUEST_BOOTED
				    ? json_string(st->waiting_for)
				    : json_null());
	json_object_set_new(j, "mconsole", json_string(st->mconsole));
	json_object_set_new(j, "console_log", json_string(st->console_log));
	json_object_set_new(j, "uid", st->uid >= 0 ? json_integer(st->uid) : json_null());
	json_object_set_new(j, "gid", st->gid >= 0 ? json_integer(st->gid) : json_null());
	json_object_set_new(j, "jail", st->jail < 0 ? json_null() : json_boolean(st->jail));
	json_object_set_new(j, "jail_not_applied",
			    st->jail_missing[0] ? json_string(st->jail_missing) : json_null());
	json_object_set_new(j, "nets", uk_guest_nets_json(st->name));
	json_object_set_new(j, "cgroup", cgroup_json(st));
	return j;
}

/* room for a status message with every byte escaped */
#define MSG_SHOWN UK_ESC_OUT(sizeof(((struct uk_guest_status *)0)->message))

/* The message column: the message (the guest's words in it escaped), or what a booted guest
 * still waits for. */
static const char *status_message(const struct uk_guest_status *st, char *buf, size_t len)
{
	if (st->message[0] || st->state != UK_GUEST_BOOTED)
		uk_esc_str(st->message, buf, len);
	else
		snprintf(buf, len, "no ready notice (waiting for %s)", st->waiting_for);
	return buf;
}

static void status_line(const struct uk_guest_status *st)
{
	char buf[MSG_SHOWN];

	printf("%-20s %-9s %8s  %s\n", st->name, uk_guest_state_name(st->state),
	       st->kernel_alive ? "" : "-", status_message(st, buf, sizeof(buf)));
}

static int print_json(json_t *j)
{
	int r = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(j);
	putchar('\n');
	return r < 0 ? UK_EXIT_FAIL : UK_EXIT_OK;
}

static int cmd_list(struct guest_opts *g)
{
	struct uk_err err = {0};
	json_t *arr = g->json ? json_array() : NULL;
	char **names, buf[MSG_SHOWN];
	int n;

	if (g->nargs)
		return uk_usage_error("umlkit list", "unexpected argument '%s'", g->args[0]);
	if (uk_guest_list(&names, &n, &err) < 0) {
		json_decref(arr);
		return uk_fail(&err);
	}
	if (!g->json)
		printf("%-20s %-9s %8s  %s\n", "NAME", "STATE", "PID", "MESSAGE");
	for (int i = 0; i < n; i++) {
		struct uk_guest_status st;

		if (uk_guest_status(names[i], &st, NULL) == 0) {
			if (arr)
				json_array_append_new(arr, status_json(&st));
			else if (st.kernel_alive)
				printf("%-20s %-9s %8d  %s\n", st.name,
				       uk_guest_state_name(st.state), (int)st.kernel_pid,
				       status_message(&st, buf, sizeof(buf)));
			else
				status_line(&st);
		}
		free(names[i]);
	}
	free(names);
	return arr ? print_json(arr) : UK_EXIT_OK;
}

static int one_name(const char *cmd, const struct guest_opts *g)
{
	char where[64];

	snprintf(where, sizeof(where), "umlkit %s", cmd);
	if (g->nargs != 1)
		return uk_usage_error(where, "%s needs NAME", cmd);
	return 0;
}

/* status: the cgroup's line: its limits and OOM kills, or what was not applied. */
static void print_cgroup(const struct uk_guest_status *st)
{
	if (st->cgroup[0]) { /* its path while it is there */
		printf("  cgroup%s%s:", st->kernel_alive ? " " : "",
		       st->kernel_alive ? st->cgroup : "");
		if (st->mem_limit)
			printf(" memory limit %" PRIu64 " MiB", st->mem_limit >> 20);
		if (st->pids_max)
			printf(", pids max %" PRIu64, st->pids_max);
		if (st->cpus_centi)
			printf(", cpus %u.%02u", st->cpus_centi / 100, st->cpus_centi % 100);
		if (st->oom_kills)
			printf(", %" PRIu64 " OOM kill%s", st->oom_kills,
			       st->oom_kills == 1 ? "" : "s");
		putchar('\n');
	}
	if (st->cgroup_note[0])
		printf("  %s\n", st->cgroup_note);
}

static int cmd_status(struct guest_opts *g)
{
	struct uk_guest_status st;
	struct uk_err err = {0};
	char msg[MSG_SHOWN];
	int r = one_name("status", g);

	if (r)
		return r;
	if (uk_guest_status(g->args[0], &st, &err) < 0)
		return uk_fail(&err);
	if (g->json)
		return print_json(status_json(&st));
	if (st.state == UK_GUEST_BOOTED)
		printf("%s: booted, no ready notice", st.name);
	else
		printf("%s: %s", st.name, uk_guest_state_name(st.state));
	if (st.kernel_alive && st.uid >= 0)
		printf(" (kernel pid %d, uid %ld gid %ld)", (int)st.kernel_pid, st.uid, st.gid);
	else if (st.kernel_alive)
		printf(" (kernel pid %d)", (int)st.kernel_pid);
	if (st.state == UK_GUEST_EXITED && !st.oom_killed && st.exit_signal) /* else: message */
		printf(", killed by signal %d", st.exit_signal);
	else if (st.state == UK_GUEST_EXITED && !st.oom_killed)
		printf(", exit status %d", st.exit_status);
	if (st.reboots)
		printf(", rebooted %d time%s", st.reboots, st.reboots == 1 ? "" : "s");
	if (st.restarts > st.reboots)
		printf(", restarted %d time%s after a failure", st.restarts - st.reboots,
		       st.restarts - st.reboots == 1 ? "" : "s");
	if (st.message[0])
		printf(": %s", status_message(&st, msg, sizeof(msg)));
	else if (st.state == UK_GUEST_BOOTING || st.state == UK_GUEST_BOOTED)
		printf(" (waiting for %s)", st.waiting_for);
	putchar('\n');
	print_cgroup(&st);
	if (st.jail_missing[0])
		printf("  jail: not applied: %s\n", st.jail_missing);
	uk_guest_nets_print(st.name);
	return UK_EXIT_OK;
}

/* rm NAME...: every name checked first; nothing is removed unless all can be. */
static int cmd_rm(struct guest_opts *g)
{
	struct uk_err err = {0};
	int bad = 0;

	if (g->nargs < 1)
		return uk_usage_error("umlkit rm", "rm needs NAME...");
	for (int i = 0; i < g->nargs; i++) {
		if (uk_guest_forget(g->args[i], true, &err) < 0) {
			uk_fail(&err);
			bad++;
		}
	}
	if (bad) {
		uk_say("nothing removed");
		return UK_EXIT_FAIL;
	}
	for (int i = 0; i < g->nargs; i++) {
		if (uk_guest_forget(g->args[i], false, &err) < 0) {
			uk_fail(&err);
			bad++;
		}
	}
	return bad ? UK_EXIT_FAIL : UK_EXIT_OK;
}

static int cmd_stop(struct guest_opts *g)
{
	struct uk_err err = {0};
	int r = one_name("stop", g);

	if (r)
		return r;
	if (uk_guest_stop(g->args[0], g->timeout_s, &err) < 0)
		return uk_fail(&err);
	return UK_EXIT_OK;
}

static int cmd_kill(struct guest_opts *g)
{
	struct uk_err err = {0};
	int r = one_name("kill", g);

	if (r)
		return r;
	if (uk_guest_kill(g->args[0], &err) < 0)
		return uk_fail(&err);
	return UK_EXIT_OK;
}

static double mib(uint64_t kib)
{
	return (double)kib / 1024.0;
}

/* trim NAME...: each guest in turn; the host RSS of its kernel before and after */
static int cmd_trim(struct guest_opts *g)
{
	int bad = 0;

	if (g->nargs < 1)
		return uk_usage_error("umlkit trim", "trim needs NAME...");
	for (int i = 0; i < g->nargs; i++) {
		struct uk_guest_trim_result res;
		struct uk_err err = {0};

		if (uk_guest_trim(g->args[i], g->drop_caches, &res, &err) < 0) {
			uk_fail(&err);
			bad++;
			continue;
		}
		printf("%s: %.1f MiB free, %.1f MiB of it released", g->args[i], mib(res.free_kib),
		       mib(res.trimmed_kib));
		if (res.rss_before_kib && res.rss_after_kib)
			printf("; kernel's host RSS %.1f -> %.1f MiB", mib(res.rss_before_kib),
			       mib(res.rss_after_kib));
		putchar('\n');
	}
	return bad ? UK_EXIT_FAIL : UK_EXIT_OK;
}

static const struct {
	const char *name;
	unsigned accept; /* the options it takes (OPT_BIT) */
	int (*fn)(struct guest_opts *g);
} guest_cmds[] = {
	{"run", SPEC_OPTS | UK_OPT_BIT(OPT_RESTART), cmd_run},
	{"rm", 0, cmd_rm},
	{"start", START_OPTS, cmd_start},
	{"list", UK_OPT_BIT(OPT_OUTPUT), cmd_list},
	{"status", UK_OPT_BIT(OPT_OUTPUT), cmd_status},
	{"stop", UK_OPT_BIT(OPT_TIMEOUT), cmd_stop},
	{"kill", 0, cmd_kill},
	{"trim", UK_OPT_BIT(OPT_DROP_CACHES), cmd_trim},
};

int uk_cmd_guest(int argc, char **argv)
{
	struct guest_opts g;
	int r;

	for (size_t i = 0; i < UK_ARRAY_SIZE(guest_cmds); i++) {
		if (strcmp(argv[0], guest_cmds[i].name))
			continue;
		r = parse(argv[0], guest_cmds[i].accept, argc, argv, &g);
		if (r)
			return r < 0 ? UK_EXIT_OK : r;
		return guest_cmds[i].fn(&g);
	}
	return uk_usage_error("umlkit", "unknown command '%s'", argv[0]);
}
