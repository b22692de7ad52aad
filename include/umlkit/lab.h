/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Labs: a Netkit or Kathará lab directory (lab.conf, lab.dep, lab.ext, MACHINE/, shared/,
 * *.startup, *.shutdown, _test/) read into one model (conf.c, dep.c, ext.c), and run as UML
 * guests on lab-namespaced switches (run.c). The formats, both dialects, with their
 * sources: DESIGN's spec/labs.md. One parser serves both: Kathará's grammar and error
 * messages are the reference, Netkit's looser forms are accepted (and make the lab's
 * dialect UK_LAB_NETKIT).
 */
#ifndef UMLKIT_LAB_H
#define UMLKIT_LAB_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "umlkit/err.h"

#define UK_LAB_MACHINE_MAX 30 /* Kathará's device name limit: [a-z0-9_]{1,30} */
#define UK_LAB_CD_MAX	   63 /* a collision domain's name */
#define UK_LAB_IFACES_MAX  40 /* Netkit's MAX_INTERFACES: eth0..eth39 */

enum uk_lab_dialect {
	UK_LAB_KATHARA, /* lab.conf in Kathará's grammar (or none at all) */
	UK_LAB_NETKIT,	/* a Netkit-only form was seen (flag option, hyphenated option,
			   machines=, LAB_MACHINES=, interface gap, machines from directories) */
};

enum uk_lab_meta {
	UK_LAB_META_NAME,
	UK_LAB_META_DESCRIPTION,
	UK_LAB_META_VERSION,
	UK_LAB_META_AUTHOR,
	UK_LAB_META_EMAIL,
	UK_LAB_META_WEB,
	UK_LAB_META_N,
};

struct uk_lab_iface {
	char cd[UK_LAB_CD_MAX + 1]; /* "": a gap (Netkit), no device is made */
	char mac[18];		    /* "aa:bb:cc:dd:ee:ff" from CD/MAC, lowercase; "": derived */
};

/* One `M[KEY]=VALUE` option line, in file order (accumulating keys appear repeatedly). */
struct uk_lab_opt {
	char *key;   /* as written, lowercased: "mem", "model-fs", "m" */
	char *value; /* "" for a Netkit flag option (`pc1[D]=`) */
	int line;    /* in lab.conf; 0: from an override (-o KEY=VALUE) */
};

struct uk_lab_port {
	uint16_t host;	/* default 3000 as Kathará */
	uint16_t guest; /* 1..65535 */
	char proto[5];	/* "tcp", "udp", "sctp" */
};

struct uk_lab_machine {
	char name[UK_LAB_MACHINE_MAX + 1];
	struct uk_lab_iface iface[UK_LAB_IFACES_MAX];
	int n_iface; /* interfaces eth0 .. eth(n_iface-1); Kathará: no gaps */
	struct uk_lab_opt *opt;
	int n_opt;
	int *dep; /* indices into lab->machine this one starts after (lab.dep) */
	int n_dep;
	bool has_dir; /* MACHINE/ is a directory in the lab */

	/* The options that matter on UML, typed, after the overrides (0/NULL/false: unset) */
	long mem_mib; /* mem=N[bkmg] (a bare number is MiB), Netkit M= */
	double cpus;  /* cpus= */
	char *image;  /* image= (Kathará), model-fs= / filesystem= (Netkit) */
	char *kernel; /* kernel= (Netkit) */
	char *shell;  /* shell=, for connect and the startup scripts */
	char *con0;   /* con0= (Netkit) */
	bool bridged; /* bridged=true: one more interface, on the lab's NAT switch */
	bool ipv6;    /* ipv6=true */
	struct uk_lab_port *port;
	int n_port;
	char **exec; /* exec=, run after the startup scripts, in order */
	int n_exec;
	char **sysctl; /* "net.KEY=VALUE" */
	int n_sysctl;
	char **env; /* "NAME=VALUE" */
	int n_env;
	char **append; /* Netkit append=: kernel parameters */
	int n_append;
};

/* lab.ext: a collision domain joined to a host interface (root only at run time). */
struct uk_lab_ext {
	char cd[UK_LAB_CD_MAX + 1];
	char ifname[16];
	int vlan; /* 1..4094; 0: untagged */
	int line;
};

/* lab.hosts (umlkit's): a host of a lab that spans hosts, and the machines it runs. */
#define UK_LAB_HOST_MAX	 32
#define UK_LAB_VNI_BASE	 4200 /* collision domain i: VNI 4200 + i ... */
#define UK_LAB_PORT_BASE 4789 /* ... on UDP port 4789 + i, unless lab.hosts says */
#define UK_LAB_VNI_MAX	 0xffffff
struct uk_lab_host {
	char name[UK_LAB_HOST_MAX + 1];
	char addr[64]; /* IPv4 or IPv6, as written */
	char **machine;
	int n_machine;
	int line;
};

struct uk_lab {
	char dir[PATH_MAX]; /* absolute, no trailing slash */
	char id[17];	    /* 16 hex digits: uk_hash64 of dir; namespaces switches and guests */
	int dialect;	    /* enum uk_lab_dialect */
	char *meta[UK_LAB_META_N]; /* NULL when absent; quotes removed */
	struct uk_lab_machine *machine;
	int n_machine; /* in start order: machines=/LAB_MACHINES= order, else first mention */
	char (*cd)[UK_LAB_CD_MAX + 1]; /* every collision domain, in order of first use */
	int n_cd;
	bool has_conf; /* lab.conf exists */
	bool has_dep;  /* lab.dep exists (even empty: parallel start, as Netkit) */
	struct uk_lab_ext *ext;
	int n_ext;
	struct uk_lab_host *host; /* lab.hosts; none: every machine runs here */
	int n_host;
	unsigned vni_base, port_base;
	char (*span_cd)[UK_LAB_CD_MAX + 1]; /* the domains in lab.conf's order, for their VNIs */
	int n_span_cd;
	char **warning; /* "lab.conf:12: ...", each said once, in order */
	int n_warning;
};

struct uk_lab_load_opts {
	bool folder;		 /* -F: no lab.conf and no lab.dep is not an error */
	const char *const *over; /* -o KEY=VALUE overrides for every machine (win over
				    per-machine values, as Kathará's lstart -o) */
	int n_over;
	const char *const *only; /* machines named on the command line (NULL: all); an
				    unknown one is an error naming it */
	int n_only;
};

/*
 * Read the lab in dir: lab.conf, lab.dep, lab.ext, the machine directories. Errors name the
 * file and line in Kathará's words ("In lab.conf - Line 3: `pc1[0]=\"A`."), -EINVAL; a
 * dependency loop names its cycle ("lab.dep: dependency loop: a -> b -> a"), -ELOOP; no
 * lab.conf and no lab.dep without folder, -ENOENT "DIR: no lab.conf or lab.dep (-F starts
 * the machines found in its directories)". Free with uk_lab_free.
 */
int uk_lab_load(const char *dir, const struct uk_lab_load_opts *o, struct uk_lab **out,
		struct uk_err *err);
void uk_lab_free(struct uk_lab *lab);

/* The parsers on a buffer (CRLF and a UTF-8 byte-order mark tolerated), into a lab made by
 * uk_lab_new; for tests and fuzzing. uk_lab_finish then applies the overrides, fills the
 * typed fields, checks interfaces (Kathará: "Interface `1` missing on device `pc1`.";
 * Netkit: a gap is a warning), dependencies and lab.ext's domains. */
struct uk_lab *uk_lab_new(const char *dir);
int uk_lab_conf_parse(struct uk_lab *lab, const char *buf, size_t len, struct uk_err *err);
int uk_lab_dep_parse(struct uk_lab *lab, const char *buf, size_t len, struct uk_err *err);
int uk_lab_ext_parse(struct uk_lab *lab, const char *buf, size_t len, struct uk_err *err);
int uk_lab_hosts_parse(struct uk_lab *lab, const char *buf, size_t len, struct uk_err *err);
/* The host lab.hosts places machine on (NULL: none, or no lab.hosts). */
const struct uk_lab_host *uk_lab_host_of(const struct uk_lab *lab, const char *machine);
/* Which of lab.hosts' hosts this one is, by the addresses of its interfaces: 0 and *name,
 * -ENOENT (none) or -EINVAL (two), said. */
int uk_lab_host_local(const struct uk_lab *lab, const char **name, struct uk_err *err);

int uk_lab_finish(struct uk_lab *lab, const struct uk_lab_load_opts *o, struct uk_err *err);

/* The machine named name, or NULL. */
struct uk_lab_machine *uk_lab_machine_find(const struct uk_lab *lab, const char *name);
/* The last value of option key (lowercase) on m, or NULL. */
const char *uk_lab_opt_get(const struct uk_lab_machine *m, const char *key);

/* `lab info`: the metadata, machines, domains and parallel-start note as text, or as JSON
 * (jansson, the model's fields by name; free it), or a Graphviz map (machines as boxes,
 * domains as ellipses, an edge per interface labelled ethN). */
char *uk_lab_info_text(const struct uk_lab *lab);
char *uk_lab_info_json(const struct uk_lab *lab);
char *uk_lab_info_dot(const struct uk_lab *lab);

/*
 * `lab check DIR [FILE]`: a declarative check file (default DIR/lab.check), one check a line,
 * `MACHINE KIND ARGS...`, `#` comments, "double quotes" around an argument with blanks:
 *   ping ADDR                        ping -c1 -W2 ADDR exits 0
 *   dns NAME TYPE EXPECTED [@SERVER]  a line of dig +short [@SERVER] NAME TYPE is EXPECTED
 *   http URL [contains TEXT]          curl -s URL exits 0 (and its output holds TEXT)
 *   route PREFIX [via GW] [dev IF]    ip route show PREFIX has that route
 *   listen tcp|udp PORT               ss -ltn / -lun lists a socket on PORT
 *   daemon NAME                       pidof NAME finds it
 *   ospf-neighbor ROUTER-ID           vtysh 'show ip ospf neighbor': ROUTER-ID, Full or 2-Way
 *   bgp-neighbor ADDR [STATE]         vtysh 'show bgp summary': ADDR Established (or STATE)
 */
enum uk_lab_check_kind {
	UK_LAB_CHECK_PING,
	UK_LAB_CHECK_DNS,
	UK_LAB_CHECK_HTTP,
	UK_LAB_CHECK_ROUTE,
	UK_LAB_CHECK_LISTEN,
	UK_LAB_CHECK_DAEMON,
	UK_LAB_CHECK_OSPF_NEIGHBOR,
	UK_LAB_CHECK_BGP_NEIGHBOR,
};

#define UK_LAB_CHECK_ARGS 4

struct uk_lab_check {
	int kind; /* enum uk_lab_check_kind */
	int line; /* in the check file */
	char machine[UK_LAB_MACHINE_MAX + 1];
	/* The kind's arguments in the order above, NULL when absent: ping ADDR; dns NAME TYPE
	 * (uppercase) EXPECTED SERVER (without '@'); http URL TEXT; route PREFIX GW IF; listen
	 * PROTO PORT; daemon NAME; ospf-neighbor ROUTER-ID; bgp-neighbor ADDR STATE. */
	char *arg[UK_LAB_CHECK_ARGS];
};

struct uk_lab_checks {
	struct uk_lab_check *check;
	int n;
};

struct uk_lab_check_result {
	bool pass;
	int status;	  /* the guest command's exit status; -1: it did not run */
	char detail[256]; /* why it failed ("" when it passed) */
};

/* Run argv on machine; 0 with its exit status in *status and its output (stdout, then
 * stderr) in *out (malloc'd, NUL-terminated, freed by the caller; may stay NULL), or a
 * negative errno when it could not run. */
typedef int (*uk_lab_exec_fn)(void *ctx, const char *machine, char *const argv[], char **out,
			      int *status);

/* The check file's text into out (name: the file's name for messages, "lab.check:3: ...");
 * -EINVAL with the line named. Free with uk_lab_checks_free. */
int uk_lab_check_parse(const char *name, const char *buf, size_t len, struct uk_lab_checks *out,
		       struct uk_err *err);
/* file, or DIR/lab.check when file is NULL (not followed through a symlink), parsed. */
int uk_lab_check_load(const char *dir, const char *file, struct uk_lab_checks *out,
		      struct uk_err *err);
void uk_lab_checks_free(struct uk_lab_checks *c);
/* The word a check file names a kind by ("ospf-neighbor"); "?" for no kind. */
const char *uk_lab_check_kind_name(int kind);
/* Each check run through exec and judged into results[i] (list->n of them): the number of
 * checks that failed. */
int uk_lab_check_run(const struct uk_lab_checks *list, uk_lab_exec_fn exec, void *ctx,
		     struct uk_lab_check_result *results);

/*
 * ---- Netkit's test mode, ltest (ltest.c) ----
 * Each machine of a freshly started lab gives two dumps: DIR/_test/M.test's output (run in
 * the machine, when executable) as M.user, and the built-in one (addresses without link
 * lines, routes, listening sockets, processes) as M.default. The first run keeps them as
 * DIR/_test/signature/; a later run compares with them line by line as `diff -bB` does.
 */
enum uk_lab_verify { UK_LAB_VERIFY_BOTH, UK_LAB_VERIFY_USER, UK_LAB_VERIFY_BUILTIN };
/* The shell script of the built-in dump (sh -c), the same on every run of one lab. */
extern const char uk_lab_test_builtin[];
/* Whether a and b are the same text once runs of blanks count as one blank, trailing
 * blanks as none and blank lines as none (diff -bB); if not, *line is the number of a's
 * first line that differs (or one past its last). */
bool uk_lab_test_same(const char *a, size_t alen, const char *b, size_t blen, int *line);
/* "both", "user" or "builtin" into *v: 0, or -EINVAL. */
int uk_lab_verify_parse(const char *s, enum uk_lab_verify *v);

/*
 * ---- the runtime (run.c, names.c, guestside.c, stop.c) ----
 * Everything a running lab has is named from the first 12 hex digits of lab->id: switch
 * "labID.CD" for each collision domain (a hub; "labID_HASH" when CD is longer than 16
 * characters or holds others than [A-Za-z0-9_.-]), "labID-nat" for bridged machines, guest
 * "labID.MACHINE" on the COW DIR/MACHINE.disk over the lab image, and the runtime
 * directory labs/ID (the lab's path, for `lab list`; whether shared/ was made).
 */
#define UK_LAB_MEM_MIB	    128 /* a machine's memory when lab.conf gives none */
#define UK_LAB_BOOT_S	    300 /* how long a machine has to boot */
#define UK_LAB_PARALLEL_MAX 64

struct uk_lab_run_opts {
	const char *image;	 /* the lab image: the backing of every DIR/M.disk */
	const char *kernel;	 /* the kernel (resolved) a machine without kernel= runs */
	const char *modules;	 /* that kernel's modules image; NULL or "": none */
	const char *seccomp;	 /* that kernel's seccomp=on|off|auto; NULL or "": none */
	const char *const *only; /* machines to act on (NULL: every one) */
	int n_only;
	int parallel;	  /* machines started at once; 0: uk_lab_parallel_default() */
	bool no_wait;	  /* start: return once booted, the startup scripts left running */
	bool no_trim;	  /* start: keep what a machine's boot freed (else uk_guest_trim) */
	int timeout_s;	  /* a machine's boot; 0: UK_LAB_BOOT_S */
	const char *host; /* lab.hosts: the host this is (only its machines); NULL: no lab.hosts */
	/* each machine's progress: "booting", "ready", "startup done", "failed: ..." */
	void (*progress)(const char *machine, const char *what, void *ctx);
	void *ctx;
};

/* With lab.hosts: o->host, when unset, this host's (uk_lab_host_local); when set, checked to
 * name one of its hosts. */
int uk_lab_host_opts(const struct uk_lab *lab, struct uk_lab_run_opts *o, struct uk_err *err);
/* The names of what a lab runs (out: at least 64 bytes). */
void uk_lab_guest_name(const struct uk_lab *lab, const char *machine, char *out, size_t outlen);
void uk_lab_switch_name(const struct uk_lab *lab, const char *cd, char *out, size_t outlen);
/* From the host's CPUs and free memory: machines of mem_mib each started at once (1..8). */
int uk_lab_parallel_default(long mem_mib);

/*
 * Start the lab's machines (o->only, else all): the switches, then each machine once the
 * machines it depends on (lab.dep) have run their startup scripts, at most o->parallel at
 * once. Refuses (-EBUSY) when one of them runs already, naming it. Returns when every
 * machine's startup scripts ended (o->no_wait: booted); -EIO naming each failed machine and
 * its log (DIR/M.log, or its console log when it did not boot).
 */
int uk_lab_start(const struct uk_lab *lab, const struct uk_lab_run_opts *o, struct uk_err *err);
/* Stop the lab's machines (o->only, else all): M.shutdown and shared.shutdown through the
 * agent, then a clean stop; with crash, kill them, no scripts. The lab's switches stop with
 * its last machine. -ENOENT when none of them runs. */
int uk_lab_stop(const struct uk_lab *lab, const struct uk_lab_run_opts *o, bool crash,
		struct uk_err *err);
/* Stop what runs (crash: killed), then remove every machine's DIR/M.disk and DIR/M.log,
 * shared/ when the runtime made it, and the lab's runtime state. With lab.hosts, only host's
 * machines (NULL: this host's, uk_lab_host_opts). */
int uk_lab_clean(const struct uk_lab *lab, const char *host, bool crash, struct uk_err *err);
/* Remove the machines' disks only (lhalt -r, lcrash). */
int uk_lab_remove_disks(const struct uk_lab *lab, const struct uk_lab_run_opts *o,
			struct uk_err *err);
/* Is machine m of the lab running? */
bool uk_lab_machine_running(const struct uk_lab *lab, const char *machine);

/* Running labs: each lab's directory and its running machines. */
struct uk_lab_running {
	char dir[PATH_MAX]; /* "" when its runtime state is gone */
	char id[13];
	char **machine;
	int n_machine;
};
int uk_lab_list_running(struct uk_lab_running **out, int *n, struct uk_err *err);
void uk_lab_running_free(struct uk_lab_running *v, int n);

#endif
