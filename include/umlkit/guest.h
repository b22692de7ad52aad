/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guests: the guest spec (memory, disks, network, kernel), the kernel command line that
 * expresses it, the per-guest state directory, the launcher and its supervisor.
 *
 * Facts: shared/spec/uml-interfaces.md sections 2 (ubd=), 3 (umid, uml_dir, notify),
 * 4.3 (vecN:), 7 (launcher).
 */
#ifndef UMLKIT_GUEST_H
#define UMLKIT_GUEST_H

#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "umlkit/err.h"

#define UK_GUEST_NAME_MAX    63 /* the kernel's umid limit */
#define UK_GUEST_DISKS	     16 /* ubd0..ubd15 */
#define UK_GUEST_NETS	     16
#define UK_GUEST_ARG_MAX     4096
#define UK_GUEST_CMDLINE_MAX 4000 /* the kernel's 4096 less what it appends */
#define UK_GUEST_NET_FWDS    8	  /* forward= on one switch link (UK_SW_GUEST_FWDS) */

struct uk_guest_disk {
	int unit;      /* 0..15 */
	char flags[8]; /* subset of "rsdct" */
	char file[PATH_MAX];
	char backing[PATH_MAX]; /* empty: a raw image, or a COW that names its backing */
};

enum uk_net_kind {
	UK_NET_TAP,	      /* vecN:transport=tap,ifname=IF */
	UK_NET_FD,	      /* vecN:transport=fd,fd=N */
	UK_NET_BESS,	      /* vecN:transport=bess,dst=PATH */
	UK_NET_LEGACY_TUNTAP, /* ethN=tuntap,IF (kernels before 6.16 only) */
	UK_NET_BRIDGE,	      /* a tap umlkit makes and attaches to bridge BR: as UK_NET_TAP */
	UK_NET_SWITCH,	      /* a port on umlkit switch NAME: becomes UK_NET_FD at start */
};

struct uk_guest_net {
	int kind; /* enum uk_net_kind */
	char target[PATH_MAX];
	char mac[18];  /* empty: the kernel picks one */
	char tap[16];  /* bridge: the tap to make (empty: uk + name + unit) */
	char ip[16];   /* tap, bridge: the guest's IPv4 address, for its firewall policy */
	uint16_t vlan; /* switch: the port's access VLAN, or a trunk's native one (0: 1) */
	bool trunk;    /* switch: a trunk port, every VLAN (others tagged) */
	/* switch: forwards from the host to the guest's address on this link, whatever its
	 * lease (,forward=tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT) */
	char forwards[UK_GUEST_NET_FWDS][48];
	int nforwards;
	int port; /* switch: the port it was given at start (in the wired copy) */
};

enum uk_restart { UK_RESTART_NO, UK_RESTART_ON_FAILURE };
/* What a reboot inside the guest does: its kernel is started again (at most
 * UK_REBOOT_BURST times in a row when each comes within UK_REBOOT_QUICK_S of its boot), or
 * the guest stops as after a poweroff. */
enum uk_on_reboot { UK_ON_REBOOT_RESTART, UK_ON_REBOOT_STOP };
#define UK_REBOOT_BURST	  5
#define UK_REBOOT_QUICK_S 60

struct uk_guest_spec {
	char name[UK_GUEST_NAME_MAX + 1];
	uint64_t mem; /* bytes */
	struct uk_guest_disk disks[UK_GUEST_DISKS];
	int ndisks;
	char root[64]; /* default /dev/ubda */
	struct uk_guest_net nets[UK_GUEST_NETS];
	int nnets;
	char kernel[PATH_MAX]; /* resolved path (umlkit/kernel.h uk_kernel_find) */
	char seccomp[8];       /* seccomp=on|off|auto for a kernel that has the mode; "": none */
	char append[UK_GUEST_ARG_MAX];
	int restart; /* enum uk_restart */
	int max_restarts;
	char fw_allow[512];  /* --allow PORTS: a firewall policy on the first tap with an ip */
	char fw_egress[512]; /* --egress any|none|PORTS */
	long uid;	     /* --user: the kernel runs as this uid (-1: as whoever runs umlkit) */
	long gid;	     /* ... and this gid, with no supplementary groups */
	char user[64];	     /* --user as given, for messages */
	int on_reboot;	     /* enum uk_on_reboot */
	/* the kernel's modules, attached read-only as the highest ubd unit no disk uses and
	 * named by umlkit.modules=/dev/ubdX ("": none; see umlkit/image.h uk_rootfs_modules) */
	char modules[PATH_MAX];
	int cpu_mode;	/* enum uk_cpu_mode: --cpu-affinity */
	char cpus[128]; /* its LIST, as given */
	bool no_jail;	/* --no-jail: the kernel runs without its jail (lib/guest/jail.c) */
	/* its cgroup's limits (lib/guest/cgroup.c) */
	uint64_t mem_limit;  /* --mem-limit bytes (0: mem and the kernel's overhead) */
	uint64_t pids_max;   /* --pids-max (0: from mem) */
	uint32_t cpus_centi; /* --cpus: a CPU quota in hundredths of a CPU (0: none) */
};

/* Where the guest's host processes run (--cpu-affinity; lib/guest/cpu.c says why). */
enum uk_cpu_mode {
	UK_CPU_AUTO, /* pinned to the allowed CPU the fewest running guests are pinned to */
	UK_CPU_NONE, /* wherever the host's scheduler puts them */
	UK_CPU_LIST, /* the CPUs of cpus this process may use */
};

/* ---- the spec (pure parsing and validation) ---- */
void uk_guest_spec_init(struct uk_guest_spec *s);
/* A guest name: 1..63 characters of [A-Za-z0-9_.-], not starting with '.' or '-'. */
int uk_guest_name_check(const char *name, struct uk_err *err);
/* --disk [ubdN[rsdct]=]COW,BACKING | [ubdN[rsdct]=]IMG. Units given in order when omitted.
 * File names must not hold ',' or ':' (the kernel splits on both). */
int uk_guest_spec_add_disk(struct uk_guest_spec *s, const char *arg, struct uk_err *err);
/* --net tap:IF | fd:N | bess:PATH | legacy-tuntap:IF | bridge:BR | switch:NAME, each with an
 * optional ,mac=MAC (and for switch: ,vlan=N, ,trunk and ,forward=SPEC, repeatable) */
int uk_guest_spec_add_net(struct uk_guest_spec *s, const char *arg, struct uk_err *err);
/* The host interface of nets[i] (tap or bridge kinds; a bridge's default tap is made up from
 * the guest's name) and its MAC: the given one, else for a bridge, a switch link or a guest
 * with a firewall policy a stable locally administered one made from the name and the link's
 * number (else empty: the kernel picks one at each boot). */
void uk_guest_net_ifname(const struct uk_guest_spec *s, int i, char out[16]);
void uk_guest_net_mac(const struct uk_guest_spec *s, int i, char out[18]);
/*
 * --user USER[:GROUP]: names or numbers (a number needs no passwd entry). GROUP defaults to
 * USER's primary group, or to the same number for a number without a passwd entry. Refuses
 * uid 0 and gid 0: a guest never runs as root.
 */
int uk_guest_spec_set_user(struct uk_guest_spec *s, const char *arg, struct uk_err *err);
/* --cpu-affinity auto|none|LIST (LIST: "0-3,6", CPU numbers as in /proc's
 * Cpus_allowed_list). */
int uk_guest_spec_set_cpus(struct uk_guest_spec *s, const char *arg, struct uk_err *err);
/* A CPU list ("0-3,6") into set; pure. */
int uk_guest_cpulist_parse(const char *arg, cpu_set_t *set, struct uk_err *err);
/* auto's choice, pure: the CPU of allowed with the lowest load[] (guests pinned to it; a CPU
 * at or past nload has none), the lowest number on a tie; -1 when allowed is empty. */
int uk_guest_cpu_pick(const cpu_set_t *allowed, const int *load, int nload);
/* The CPU set the guest's kernel gets before it execs, from its spec, this process's allowed
 * CPUs and (auto) the CPUs the other guests hold; auto records its choice in the guest's state
 * directory, under a lock that makes choices of concurrent starts one after the other. apply
 * is false when the kernel is left as it is (none; auto with a single allowed CPU). */
int uk_guest_cpu_choose(const struct uk_guest_spec *s, cpu_set_t *set, bool *apply,
			struct uk_err *err);
/* The uid and gid the kernel runs as: --user's, else this process's real ones. */
long uk_guest_uid(const struct uk_guest_spec *s);
long uk_guest_gid(const struct uk_guest_spec *s);
/* The ubd unit the modules image gets: the highest one no --disk uses, or -1. */
int uk_guest_modules_unit(const struct uk_guest_spec *s);
/* Does the guest have a host tap (tap:, bridge: or legacy-tuntap: nets)? */
bool uk_guest_has_tap(const struct uk_guest_spec *s);
/*
 * Before a launch, changing nothing: --user only as root; as root, a guest with a host tap
 * needs --user; the taps are usable by the guest's user (uk_guest_hostnet_check); with
 * --user, everything the kernel opens (the kernel, its preload, disks and backings, the
 * directory of a COW to be made, /dev/net/tun, its temporary directory) is checked as that
 * user, in a child process that drops to it, and the first failure names the file and the
 * user.
 */
int uk_guest_check_user(const struct uk_guest_spec *s, struct uk_err *err);
/* --mem-limit SIZE (8M .. 1T): the guest's cgroup's memory limit. */
int uk_guest_spec_set_mem_limit(struct uk_guest_spec *s, const char *arg, struct uk_err *err);
/* --pids-max N (16 .. 4194304): its host processes and threads. */
int uk_guest_spec_set_pids_max(struct uk_guest_spec *s, const char *arg, struct uk_err *err);
/* --cpus N (0.01 .. 1024, two decimals at most): a CPU quota of N CPUs. */
int uk_guest_spec_set_cpu_quota(struct uk_guest_spec *s, const char *arg, struct uk_err *err);
/* --mem: 16M .. 64G */
int uk_guest_spec_set_mem(struct uk_guest_spec *s, const char *arg, struct uk_err *err);
/*
 * The library the kernel must be preloaded with on this host (umlkit/xstate.h): 1 and its
 * path in out, 0 when none is needed (or $UMLKIT_XSTATE_SHIM=off), or an error when one is
 * needed and not installed.
 */
int uk_guest_preload(char *out, size_t outlen, struct uk_err *err);
/* In the kernel's process, before exec: no address randomization (its mem= is then what
 * the guest gets; see preload.c), unless $UMLKIT_KERNEL_ASLR=on. */
void uk_guest_kernel_personality(void);

/* How the launcher wires the kernel: its uml_dir, the notify socket, the console. */
struct uk_guest_wiring {
	const char *uml_dir;
	const char *notify_sock; /* NULL: none */
	bool console_stdio;	 /* con0=fd:0,fd:1, the other consoles null */
	/* the guest agent's channel (umlkit/agent.h): ssl1=fd:N,fd:N and
	 * umlkit.agent=/dev/ttyS1; its ring, when agent_ring is not NULL, a read-only disk
	 * (ubd<agent_ring_unit>r=PATH) named by umlkit.agent_ring=/dev/ubdX */
	bool agent;
	int agent_fd;
	const char *agent_ring;
	int agent_ring_unit;
	/* the modules image as the kernel opens it (a --user kernel: /proc/self/fd/N, opened
	 * for it before the drop); NULL: the spec's path */
	const char *modules;
};
/* The unit the agent's ring takes: the highest one the spec leaves free once the modules
 * image (uk_guest_modules_unit) has its own, or -1. */
int uk_guest_agent_ring_unit(const struct uk_guest_spec *s);
/* The kernel's argv (argv[0] = the kernel), NULL-terminated, in one heap block: free(argv).
 */
int uk_guest_argv(const struct uk_guest_spec *s, const struct uk_guest_wiring *w, char ***argv,
		  struct uk_err *err);

/*
 * The static address the guest gives nets[i] itself: the first umlkit.ip=vecN,ADDR/PREFIX
 * (or ethN) of --append. 1 with addr (and prefix) set, 0 when none; *dhcp (may be NULL) tells
 * whether umlkit.ip=vecN,dhcp asks for a lease instead.
 */
int uk_guest_net_static_ip(const struct uk_guest_spec *s, int i, char addr[16], int *prefix,
			   bool *dhcp);

/* A guest's interface as `umlkit status` shows it (uk_guest_ifaces). */
struct uk_guest_iface_fwd {
	char spec[64];	/* tcp:127.0.0.1:8080:80 */
	char state[12]; /* added (to guest_addr), waiting (for its address), "" unknown */
	char guest_addr[16];
	int guest_port;
	char error[160]; /* why slirp refused it, when it did */
};
struct uk_guest_iface {
	int index;
	char name[8];	  /* vecN */
	char kind[16];	  /* switch, tap, bridge, fd, bess, legacy-tuntap */
	char link[128];	  /* the switch, tap, bridge, socket or fd */
	int port;	  /* switch: its port while the guest runs (-1: none known) */
	char mac[18];	  /* "" unknown (the kernel picks one) */
	char macs[4][18]; /* switch: the MACs learned on its port */
	int nmacs;
	char ipv4[16];	/* "" unknown */
	int prefix;	/* -1 unknown */
	char source[8]; /* of ipv4: dhcp (the switch saw its NAT lease it), static (umlkit.ip=),
			   spec (--net ...,ip=) */
	bool dhcp;	/* umlkit.ip=vecN,dhcp */
	struct uk_guest_iface_fwd fwd[UK_GUEST_NET_FWDS];
	int nfwd;
	char note[200]; /* what could not be learned, and why */
};
/*
 * The interfaces of guest name as its last start recorded them, with what its switches know
 * now while it runs (MACs learned on its port, its DHCP lease, its forwards). *out: a heap
 * array of *n (free it); none for a guest started before umlkit recorded them.
 */
int uk_guest_ifaces(const char *name, struct uk_guest_iface **out, int *n, struct uk_err *err);

/* Replace each `switch:NAME` link by an fd: a SEQPACKET socketpair whose other end is
 * handed to the switch as a port. Fails when the switch is not running. */
int uk_guest_attach_switches(struct uk_guest_spec *s, struct uk_err *err);

/* Create missing COWs (given to --user's uid and gid) and refuse disks that would fail the
 * boot: a stale, corrupt or locked COW (with the message `umlkit cow check` gives), a
 * missing image. */
int uk_guest_prepare_disks(const struct uk_guest_spec *s, struct uk_err *err);

/*
 * ---- state under $XDG_RUNTIME_DIR/umlkit/guests/NAME (or ~/.umlkit/run/guests/NAME) ----
 * A --user guest's kernel cannot reach that directory (root's, mode 0700): its uml_dir and
 * notify socket live in a directory of their own, ${TMPDIR:-/tmp}/umlkit.XXXXXX (root's,
 * mode 0711), where uml/ is the user's (0700) and notify is a socket the user may send to;
 * the state directory's uml is then a symlink to it. Made at start, removed when the guest
 * ends (or by the next command, when its supervisor died).
 */
int uk_guest_state_root(char *out, size_t outlen, struct uk_err *err);
int uk_guest_state_dir(const char *name, char *out, size_t outlen, struct uk_err *err);

enum uk_guest_state {
	UK_GUEST_NONE,	   /* no such guest */
	UK_GUEST_BOOTING,  /* kernel started, not ready yet */
	UK_GUEST_RUNNING,  /* ready */
	UK_GUEST_STOPPED,  /* halted or powered off (exit 0) */
	UK_GUEST_PANICKED, /* kernel panic (message recorded) */
	UK_GUEST_EXITED,   /* exited with a non-zero status or killed by a signal */
	UK_GUEST_FAILED,   /* could not be started */
	UK_GUEST_LOST,	   /* its supervisor died; the kernel is gone or unsupervised */
	UK_GUEST_BOOTED,   /* the kernel runs init, but the chosen ready signal has not come */
};
const char *uk_guest_state_name(int state);

struct uk_guest_status {
	char name[UK_GUEST_NAME_MAX + 1];
	int state; /* enum uk_guest_state */
	pid_t supervisor_pid;
	pid_t kernel_pid;
	bool kernel_alive;
	int exit_status;   /* -1 unknown */
	int exit_signal;   /* 0 none */
	int restarts;	   /* kernels started again by the supervisor (failures and reboots) */
	int reboots;	   /* ... of which after a reboot inside the guest */
	int64_t started;   /* unix time */
	int64_t ready;	   /* unix time, 0 not yet */
	char message[512]; /* panic message or failure reason */
	char mconsole[PATH_MAX];
	char console_log[PATH_MAX];
	long uid; /* the kernel's uid and gid, -1 unknown */
	long gid;
	char waiting_for[300]; /* booting or booted: the ready signal it waits for, in words */
	/* its cgroup (lib/guest/cgroup.c): the memory one's directory ("" none), its limits
	 * (0: none), the OOM kills in it (counted live while it runs), what was not applied */
	char cgroup[PATH_MAX];
	uint64_t mem_limit;
	uint64_t pids_max;
	uint32_t cpus_centi;
	uint64_t oom_kills;
	bool oom_killed; /* the kernel itself was ended by the host's OOM killer */
	char cgroup_note[300];
	int jail;		/* 1 the kernel is jailed, 0 --no-jail, -1 unknown */
	char jail_missing[300]; /* jailed: what of the jail was not applied, and why; "" */
};
/* Read a guest's status, judging liveness by its supervisor's lock and the kernel's pid:
 * a status file that claims "running" beside a dead supervisor reads as LOST. */
int uk_guest_status(const char *name, struct uk_guest_status *st, struct uk_err *err);
/* Names of every guest with a state directory, sorted; free each and the array. */
int uk_guest_list(char ***names, int *count, struct uk_err *err);
/*
 * Remove the state of a guest that is not running (and the kernel's stale uml_dir), never
 * its disks, following no symlink in it. -ENOENT "no guest named 'NAME'", -EBUSY "guest
 * 'NAME' is running...". With check_only, only says whether it could.
 */
int uk_guest_forget(const char *name, bool check_only, struct uk_err *err);

/* ---- launching ---- */
/* What counts as ready (--ready=MODE[:ARG]); the table in ready.c names and describes each. */
enum uk_ready_mode {
	UK_READY_NOTIFY,   /* the guest writes /proc/mconsole (the default image does) */
	UK_READY_MCONSOLE, /* the kernel's mconsole came up */
	UK_READY_AGENT,	   /* the guest agent said hello (umlkit/agent.h) */
	UK_READY_CONSOLE,  /* a console line matches an extended regex (ready_arg) */
};
#define UK_READY_ARG_MAX 256
/* --wait says what it waits for once it has waited this long without it */
#define UK_READY_NOTE_S 15
struct uk_guest_start_opts {
	int timeout_s;			  /* for --wait: give up after this long (0: 120 s) */
	bool wait;			  /* return when ready, or fail with the reason */
	int ready;			  /* enum uk_ready_mode */
	char ready_arg[UK_READY_ARG_MAX]; /* console: the regex */
	/* --wait: called once, after UK_READY_NOTE_S without the signal, with what the guest
	 * is waiting for and how to choose another signal (NULL: not called) */
	void (*note)(const char *msg, void *ctx);
	void *note_ctx;
};
/* --ready=notify | mconsole | console:REGEX (an extended regex, no control characters). */
int uk_guest_ready_parse(struct uk_guest_start_opts *o, const char *arg, struct uk_err *err);
/* The signal a mode waits for, in words ("its ready notice (umlkit-ready on
 * /proc/mconsole)"), and the hint for a guest that lacks it. */
void uk_guest_ready_describe(int mode, const char *arg, char *out, size_t outlen);
const char *uk_guest_ready_hint(int mode);
/* "NAME: booted, waiting for ...; HINT" or "NAME: still booting (...), waiting for ...". */
void uk_guest_ready_note(const struct uk_guest_status *st, int mode, const char *arg, char *out,
			 size_t outlen);
/* Start a supervised guest in the background. Refuses a name that is running; recovers
 * the state a dead supervisor left. With wait, returns when ready, or -ETIMEDOUT /
 * -ECANCELED with the reason (panic message, exit status) in err. */
int uk_guest_start(const struct uk_guest_spec *s, const struct uk_guest_start_opts *o,
		   struct uk_guest_status *st, struct uk_err *err);

/* Run a guest in the foreground, console on this process's stdin and stdout (the
 * terminal's mode restored afterwards). Fills st with how it ended. */
int uk_guest_run(const struct uk_guest_spec *s, struct uk_guest_status *st, struct uk_err *err);

/* Stop: an emergency sync, then mconsole cad (a clean shutdown through the guest's init),
 * then sync and halt, then SIGTERM, then SIGKILL, each step bounded, all within timeout_s.
 * Returns 0 when the guest and its supervisor are gone. */
int uk_guest_stop(const char *name, int timeout_s, struct uk_err *err);
/* SIGKILL the kernel and its supervisor. */
int uk_guest_kill(const char *name, struct uk_err *err);

/* Connect to the guest agent's socket of a supervised guest (umlkit/agent.h); -ENOTCONN
 * naming the guest when it is not running. */
int uk_guest_agent_connect(const char *name, int *fd, struct uk_err *err);
/* Connect to the console of a supervised guest (one client at a time). */
int uk_guest_console_connect(const char *name, int *fd, struct uk_err *err);
/* Does the guest's supervisor or kernel still run? */
bool uk_guest_is_alive(const char *name);

/* ---- trim: the host gets back the memory a running guest does not use (lib/guest/trim.c) */
struct uk_guest_trim_result {
	uint64_t free_kib;	 /* the guest's MemFree before the trim */
	uint64_t trimmed_kib;	 /* free memory unplugged and plugged back (0: too little free) */
	uint64_t rss_before_kib; /* the kernel process's host RSS before and after (0: unknown) */
	uint64_t rss_after_kib;
};
/* How much a trim takes: MemFree of the guest's /proc/meminfo text less a reserve (twice
 * min_free_kbytes, plus 2 MiB), 0 when nothing is over it; pure. 0 with *kib, or -EBADMSG. */
int uk_guest_trim_amount(const char *meminfo, const char *min_free_kbytes, uint64_t *kib,
			 struct uk_err *err);
/* Trim the running guest name through its mconsole's mem device (unplug its free pages, which
 * the host drops, and plug them back), after its agent dropped its clean page cache when
 * drop_caches. The guest keeps its memory size. -ESRCH when it does not run, -EIO when its
 * kernel refused (no mem device), -EBADMSG for a /proc answer that makes no sense. */
int uk_guest_trim(const char *name, bool drop_caches, struct uk_guest_trim_result *res,
		  struct uk_err *err);

#endif
