// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Inside a booted lab machine, through its agent (no guest networking needed): the lab
 * directory at /hostlab, shared/ at /shared, the first boot's files, the defaults labs
 * assume, then the startup scripts; at a stop, the shutdown scripts. DESIGN's spec/labs.md
 * section 2.1 says what Netkit and Kathará do; each script below is a fixed text given its
 * values as arguments, so nothing of the lab is ever parsed by a shell as code.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/agent.h"
#include "umlkit/guest.h"
#include "umlkit/lab.h"
#include "umlkit/util.h"
#include "run-internal.h"

/*
 * setup LAB M DIALECT IPV6 RENAMES FSTAB STARTUP SHELL MODE [TAGGED...]: the lab's setup,
 * then the startup (the text STARTUP, below), in one process of the machine's agent. The
 * setup: the mounts (FSTAB, one `mount -a`), the first boot (hostname, /etc/hosts, the lab's
 * files, Kathará's permission fixes), the interfaces (renamed by MAC when the lab leaves
 * gaps, the vector driver's other vecN ethN, as a lab machine boots without udev (run.c),
 * each up), the sysctls (sysctl:KEY=VALUE, one `sysctl -w`). A UML guest pays dearly for each
 * process (30 to 60 ms under ptrace on 6.1): what the shell can do itself it does, the
 * interfaces go up in one `ip -batch`, and the startup follows in the same shell (MODE
 * wait) or detached (MODE detach). The setup stops at its first failure; once it is done it
 * says SETUP_DONE on stderr, so a failure after that is the startup's.
 */
#define SETUP_DONE "umlkit-lab: setup done"
static const char setup_sh[] =
	"set -e\n"
	"lab=$1 m=$2 dialect=$3 ipv6=$4 renames=$5 fstab=$6 startup=$7 sh=$8 mode=$9\n"
	"shift 9\n"
	"mounted() {\n"
	"	while read -r _ d _; do [ \"$d\" != \"$1\" ] || return 0; done </proc/self/mounts\n"
	"	return 1\n"
	"}\n"
	"if ! mounted /shared; then\n"
	"	printf '%s' \"$fstab\" >/run/umlkit-lab.fstab\n"
	"	mount -a -T /run/umlkit-lab.fstab\n"
	"fi\n"
	"unpack() { (cd \"$1\" && tar c --exclude=CVS --exclude=.svn .) |\n"
	"	(cd / && tar x --no-same-owner $2 -f -); }\n"
	"nk=--keep-directory-symlink\n"
	"kt='-h --no-same-permissions'\n"
	"named() { # named NAME FILE: a line of FILE ends with NAME after a blank\n"
	"	while read -r l || [ -n \"$l\" ]; do\n"
	"		case $l in *[[:space:]]\"$1\") return 0 ;; esac\n"
	"	done <\"$2\"\n"
	"	return 1\n"
	"}\n"
	"user() { # user NAME: /etc/passwd has NAME\n"
	"	while IFS=: read -r u _ || [ -n \"$u\" ]; do [ \"$u\" != \"$1\" ] || return 0; "
	"done </etc/passwd\n"
	"	return 1\n"
	"}\n"
	"files640() { # files640 DIR: its regular files (not links) 0640, as find -type f would\n"
	"	set --\n"
	"	for f in \"$1\"/* \"$1\"/.[!.]* \"$1\"/..?*; do\n"
	"		[ -f \"$f\" ] && [ ! -h \"$f\" ] && set -- \"$@\" \"$f\"\n"
	"	done\n"
	"	[ $# -eq 0 ] || chmod 640 \"$@\"\n"
	"}\n"
	"if [ ! -e /etc/umlkit-lab.configured ]; then\n"
	"	echo \"$m\" >/etc/hostname\n"
	"	echo \"$m\" >/proc/sys/kernel/hostname\n"
	"	[ -f /etc/hosts ] && named \"$m\" /etc/hosts ||\n"
	"		printf '127.0.1.1\\t%s\\n' \"$m\" >>/etc/hosts\n"
	"	if [ \"$dialect\" = netkit ]; then\n"
	"		[ ! -d /hostlab/shared ] || unpack /hostlab/shared $nk\n"
	"		[ ! -d \"/hostlab/$m\" ] || unpack \"/hostlab/$m\" $nk\n"
	"	else\n"
	"		[ ! -d \"/hostlab/$m\" ] || unpack \"/hostlab/$m\" \"$kt\"\n"
	"		for f in /var/www/*; do [ ! -e \"$f\" ] || chmod -R 777 \"$f\"; done\n"
	"		for d in quagga frr; do\n"
	"			[ -d /etc/$d ] && user $d || continue\n"
	"			chown -R $d:$d /etc/$d\n"
	"			files640 /etc/$d\n"
	"		done\n"
	"	fi\n"
	"	: >/etc/umlkit-lab.configured\n"
	"fi\n"
	"byaddr() { # byaddr MAC: i is the interface with that address, or empty\n"
	"	i=\n"
	"	for d in /sys/class/net/*; do\n"
	"		read -r a <\"$d/address\" || continue\n"
	"		[ \"$a\" != \"$1\" ] || { i=${d##*/}; return; }\n"
	"	done\n"
	"}\n"
	"for r in $renames; do\n"
	"	byaddr \"${r#*=}\"\n"
	"	[ -n \"$i\" ] || continue\n"
	"	ip link set dev \"$i\" down\n"
	"	ip link set dev \"$i\" name \"lab${r%%=*}\"\n"
	"done\n"
	"for r in $renames; do ip link set dev \"lab${r%%=*}\" name \"${r%%=*}\"; done\n"
	"b=/run/umlkit-lab.ip\n"
	": >$b\n"
	"for d in /sys/class/net/vec* /sys/class/net/eth*; do\n"
	"	[ -e \"$d\" ] || continue\n"
	"	i=${d##*/}\n"
	"	case $i in vec*) echo \"link set dev $i name eth${i#vec}\" >>$b; i=eth${i#vec} ;; "
	"esac\n"
	"	echo \"link set dev $i up\" >>$b\n"
	"done\n"
	"[ ! -s $b ] || ip -batch $b\n"
	"put() { [ ! -e \"/proc/sys/$1\" ] || echo \"$2\" >\"/proc/sys/$1\"; }\n"
	"put net/ipv4/ip_forward 1\n"
	"put net/ipv4/icmp_ratelimit 0\n"
	"for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 >\"$f\"; done\n"
	"if [ \"$ipv6\" != 1 ]; then\n"
	"	for f in /proc/sys/net/ipv6/conf/*/disable_ipv6; do\n"
	"		[ ! -e \"$f\" ] || echo 1 >\"$f\"\n"
	"	done\n"
	"fi\n"
	"sysctls() { # sysctls ARG...: each sysctl:KEY=VALUE set, with one sysctl -w\n"
	"	for a; do shift; case $a in sysctl:*) set -- \"$@\" \"${a#sysctl:}\" ;; esac; "
	"done\n"
	"	[ $# -gt 0 ] || return 0\n"
	"	if command -v sysctl >/dev/null; then sysctl -q -w \"$@\"; return; fi\n"
	"	for a; do # KEY=VALUE, the KEY's dots a path's slashes\n"
	"		k=${a%%=*} p=\n"
	"		while :; do case $k in\n"
	"			*.*) p=$p${k%%.*}/ k=${k#*.} ;;\n"
	"			*) p=$p$k; break ;;\n"
	"		esac; done\n"
	"		[ -e \"/proc/sys/$p\" ] ||\n"
	"			{ echo \"sysctl: cannot stat /proc/sys/$p\" >&2; return 1; }\n"
	"		echo \"${a#*=}\" >\"/proc/sys/$p\"\n"
	"	done\n"
	"}\n"
	"sysctls \"$@\"\n"
	"set +e\n"
	"echo '" SETUP_DONE "' >&2\n"
	"set -- \"$lab\" \"$m\" \"$sh\" \"$@\"\n"
	"if [ \"$mode\" = detach ]; then\n"
	"	setsid /bin/sh -c \"$startup\" startup \"$@\" </dev/null >/dev/null 2>&1 &\n"
	"	exit 0\n"
	"fi\n"
	"eval \"$startup\"\n";

/*
 * startup LAB M SHELL [script:NAME | fix:NAME | env:NAME=VALUE | exec:CMD | drop ...]: the
 * scripts named (shared.startup then M.startup: the host lists those there are), each traced
 * (-x), run by the machine's shell with their output appended to /var/log/startup.log and
 * /hostlab/M.log; a fix: one first loses its CRLF and byte-order mark (a copy in /tmp); then
 * the exec commands; with drop, and every script passed, the page cache dropped for the trim
 * that follows. Exits with the first failing script's status.
 */
static const char startup_sh[] =
	"lab=$1 m=$2 sh=$3\n"
	"shift 3\n"
	"[ -x \"$sh\" ] || sh=/bin/sh\n"
	"L=/var/log/startup.log\n"
	"say() { echo \"$*\" >>$L; echo \"$*\" >>\"/hostlab/$m.log\"; }\n"
	"for a in \"$@\"; do case $a in env:*) export \"${a#env:}\" ;; esac; done\n"
	"rc=0\n"
	"for a in \"$@\"; do\n"
	"	case $a in script:*) s=${a#script:} f=/hostlab/${a#script:}.startup ;;\n"
	"	fix:*)\n"
	"		s=${a#fix:} f=/tmp/umlkit-lab-${a#fix:}.startup\n"
	"		sed -e '1s/^\\xEF\\xBB\\xBF//' -e 's/\\r$//' \"/hostlab/$s.startup\" "
	">\"$f\" ;;\n"
	"	*) continue ;;\n"
	"	esac\n"
	"	{ (cd /root 2>/dev/null || cd /; exec \"$sh\" -x \"$f\") 2>&1 </dev/null\n"
	"		echo $? >/tmp/umlkit-lab.status; } |\n"
	"		tee -a $L \"/hostlab/$m.log\" >/dev/null\n"
	"	read -r st </tmp/umlkit-lab.status\n"
	"	if [ \"$st\" != 0 ]; then\n"
	"		say \"umlkit: $s.startup exited with status $st\"\n"
	"		[ \"$rc\" != 0 ] || rc=$st\n"
	"	fi\n"
	"done\n"
	"for a in \"$@\"; do case $a in exec:*)\n"
	"	{ echo \"++ ${a#exec:}\"; \"$sh\" -c \"${a#exec:}\" 2>&1 </dev/null; } |\n"
	"		tee -a $L \"/hostlab/$m.log\" >/dev/null ;;\n"
	"esac; done\n"
	"say \"umlkit: startup done\"\n"
	"for a in \"$@\"; do\n"
	"	[ \"$a\" != drop ] || [ \"$rc\" != 0 ] || echo 1 >/proc/sys/vm/drop_caches\n"
	"done\n"
	"exit $rc\n";

/* shutdown LAB M SHELL: M.shutdown then shared.shutdown, their output in the logs. */
static const char shutdown_sh[] =
	"lab=$1 m=$2 sh=$3\n"
	"[ -x \"$sh\" ] || sh=/bin/sh\n"
	"L=/var/log/startup.log\n"
	"for s in \"$m\" shared; do\n"
	"	f=/hostlab/$s.shutdown\n"
	"	[ -f \"$f\" ] || continue\n"
	"	t=/tmp/umlkit-lab-$s.shutdown\n"
	"	sed -e '1s/^\\xEF\\xBB\\xBF//' -e 's/\\r$//' \"$f\" >\"$t\"\n"
	"	(cd /root 2>/dev/null || cd /; \"$sh\" \"$t\") 2>&1 </dev/null |\n"
	"		tee -a $L \"/hostlab/$m.log\" >/dev/null\n"
	"done\n"
	"sync\n";

/* A growing argv of heap strings */
struct args {
	char **v;
	int n, cap;
};

/* Add prefix and s as one argument */
static int args_add(struct args *a, const char *prefix, const char *s)
{
	if (a->n + 2 > a->cap) {
		int cap = a->cap ? a->cap * 2 : 16;
		char **v = realloc(a->v, (size_t)cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	if (asprintf(&a->v[a->n], "%s%s", prefix, s) < 0)
		return -ENOMEM;
	a->v[++a->n] = NULL;
	return 0;
}

static void args_free(struct args *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* Run argv in the machine's guest, its stderr's start kept in res */
static int run_in_guest(const struct uk_lab *lab, const struct uk_lab_machine *m, char **argv,
			const char *what, struct uk_agent_result *res, struct uk_err *err)
{
	struct uk_agent_io io = {
		.in = -1, .out = -1, .err = UK_AGENT_COLLECT, .winch_fd = -1, .tty_fd = -1};
	char name[UK_GUEST_NAME_MAX + 1];
	int sock, r;

	*res = (struct uk_agent_result){0};
	uk_lab_guest_name(lab, m->name, name, sizeof(name));
	r = uk_guest_agent_connect(name, &sock, err);
	if (r == 0)
		r = uk_agent_run(sock, name, 0, argv, NULL, &io, UK_LAB_SCRIPT_S, res, err);
	return r < 0 ? uk_err_prefix(err, r, "machine '%s': %s: ", m->name, what) : 0;
}

/* 0 when the script ended well, else its failure naming the machine and what ran (its
 * stderr from text on) */
static int script_result(const struct uk_lab_machine *m, const char *what,
			 const struct uk_agent_result *res, const char *text, struct uk_err *err)
{
	if (res->error)
		return uk_err_set(err, EIO, "machine '%s': %s: %s", m->name, what, res->msg);
	if (res->signal)
		return uk_err_set(err, EIO, "machine '%s': %s: killed by signal %d", m->name, what,
				  res->signal);
	if (res->status)
		return uk_err_set(err, EIO, "machine '%s': %s exited with status %d%s%.200s",
				  m->name, what, res->status, *text ? ": " : "", text);
	return 0;
}

/* Run the script a holds (r: how building it went) in the machine, its end in res, then
 * free a */
static int run_args(const struct uk_lab *lab, const struct uk_lab_machine *m, struct args *a, int r,
		    const char *what, struct uk_agent_result *res, struct uk_err *err)
{
	if (r < 0)
		r = uk_err_sys(err, -r, "machine '%s': %s: its arguments", m->name, what);
	else
		r = run_in_guest(lab, m, a->v, what, res, err);
	args_free(a);
	return r;
}

/* "eth0=MAC eth2=MAC ..." when the lab leaves a gap in m's interfaces, else "" */
static int renames(const struct uk_lab *lab, const struct uk_lab_machine *m, char *out,
		   size_t outlen)
{
	char name[UK_GUEST_NAME_MAX + 1];
	struct uk_guest_spec s;
	bool gap = false;
	size_t len = 0;
	int unit = 0;

	out[0] = '\0';
	for (int i = 0; i < m->n_iface; i++)
		gap |= !m->iface[i].cd[0];
	if (!gap)
		return 0;
	uk_lab_guest_name(lab, m->name, name, sizeof(name));
	uk_guest_spec_init(&s);
	snprintf(s.name, sizeof(s.name), "%s", name);
	for (int i = 0; i < m->n_iface; i++) {
		char mac[18];

		if (!m->iface[i].cd[0])
			continue;
		s.nets[unit].kind = UK_NET_SWITCH;
		snprintf(s.nets[unit].mac, sizeof(s.nets[unit].mac), "%s", m->iface[i].mac);
		s.nnets = unit + 1;
		uk_guest_net_mac(&s, unit++, mac);
		len += (size_t)snprintf(out + len, outlen - len, "%seth%d=%s", len ? " " : "", i,
					mac);
		if (len >= outlen)
			return -ENAMETOOLONG;
	}
	return 0;
}

/* Add each of the NULL-terminated list */
static int args_list(struct args *a, const char *const *list)
{
	int r = 0;

	for (; r == 0 && *list; list++)
		r = args_add(a, "", *list);
	return r;
}

static const char *machine_shell(const struct uk_lab_machine *m)
{
	return m->shell && m->shell[0] == '/' ? m->shell : "/bin/bash";
}

/* The fstab of the machine's mounts: the lab directory at /hostlab (hostfs), its shared/ at
 * /shared; each mount point made when missing. The directory's path escaped as fstab(5)
 * wants it (a space \040 and so on). */
static int lab_fstab(const struct uk_lab *lab, char *out, size_t outlen)
{
	static const char head[] = "none /hostlab hostfs ";
	static const char tail[] = ",X-mount.mkdir 0 0\n"
				   "/hostlab/shared /shared none bind,X-mount.mkdir 0 0\n";
	size_t len = sizeof(head) - 1;

	if (outlen < len + 1)
		return -ENAMETOOLONG;
	memcpy(out, head, len);
	for (const char *c = lab->dir; *c; c++) {
		bool esc = *c == ' ' || *c == '\t' || *c == '\n' || *c == '\\';

		if (len + 5 >= outlen)
			return -ENAMETOOLONG;
		len += esc ? (size_t)snprintf(out + len, outlen - len, "\\%03o", (unsigned char)*c)
			   : (size_t)(out[len] = *c, 1);
	}
	if (len + sizeof(tail) > outlen)
		return -ENAMETOOLONG;
	memcpy(out + len, tail, sizeof(tail));
	return 0;
}

/* A startup script there is: 1 as it is, 2 when it has a byte-order mark or a CR (the guest
 * runs a copy without them), 0 when it is not there (or is not a regular file) */
static int script_kind(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char buf[16384];
	struct stat st;
	ssize_t n;
	bool first = true;

	if (fd < 0 || fstat(fd, &st) < 0)
		return errno == ENOENT ? 0 : 2; /* what the guest cannot read, it says */
	if (!S_ISREG(st.st_mode))
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
			return 2;
		first = false;
		if (memchr(buf, '\r', (size_t)n))
			return 2;
	}
	return n < 0 ? 2 : 1;
}

/* script:NAME or fix:NAME for shared.startup and M.startup, those there are */
static int add_scripts(struct args *a, const struct uk_lab *lab, const struct uk_lab_machine *m)
{
	const char *names[] = {"shared", m->name};
	char path[PATH_MAX + 64];
	int r = 0;

	for (size_t i = 0; r == 0 && i < UK_ARRAY_SIZE(names); i++) {
		int kind;

		if ((size_t)snprintf(path, sizeof(path), "%s/%s.startup", lab->dir, names[i]) >=
		    sizeof(path))
			return -ENAMETOOLONG;
		kind = script_kind(path);
		if (kind)
			r = args_add(a, kind == 1 ? "script:" : "fix:", names[i]);
	}
	return r;
}

/* The setup's argv: /bin/sh -c SETUP setup LAB M DIALECT IPV6 RENAMES FSTAB STARTUP SHELL
 * MODE, then the tagged arguments */
static int start_args(struct args *a, const struct uk_lab *lab, const struct uk_lab_machine *m,
		      bool detach, bool drop)
{
	char ren[UK_LAB_IFACES_MAX * 26], fstab[4 * PATH_MAX + 128];
	int r = renames(lab, m, ren, sizeof(ren));
	const char *const head[] = {"/bin/sh",
				    "-c",
				    setup_sh,
				    "setup",
				    lab->dir,
				    m->name,
				    lab->dialect == UK_LAB_NETKIT ? "netkit" : "kathara",
				    m->ipv6 ? "1" : "0",
				    ren,
				    fstab,
				    startup_sh,
				    machine_shell(m),
				    detach ? "detach" : "wait",
				    NULL};

	if (r == 0)
		r = lab_fstab(lab, fstab, sizeof(fstab));
	if (r == 0)
		r = args_list(a, head);
	for (int i = 0; r == 0 && i < m->n_sysctl; i++)
		r = args_add(a, "sysctl:", m->sysctl[i]);
	if (r == 0)
		r = add_scripts(a, lab, m);
	for (int i = 0; r == 0 && i < m->n_env; i++)
		r = args_add(a, "env:", m->env[i]);
	for (int i = 0; r == 0 && i < m->n_exec; i++)
		r = args_add(a, "exec:", m->exec[i]);
	if (r == 0 && drop)
		r = args_add(a, "", "drop");
	return r;
}

int uk_lab_guest_start(const struct uk_lab *lab, const struct uk_lab_machine *m, bool detach,
		       bool drop, struct uk_err *err)
{
	static const char setup[] = "the lab's setup (mounts, files, sysctls)",
			  startup[] = "its startup scripts";
	struct uk_agent_result res;
	struct args a = {0};
	int r = start_args(&a, lab, m, detach, drop);
	const char *done;

	r = run_args(lab, m, &a, r, setup, &res, err);
	if (r < 0)
		return r;
	/* the setup's stderr ends at its SETUP_DONE line: what follows is the startup's */
	done = strstr(res.errtext, SETUP_DONE "\n");
	if (!done)
		return script_result(m, setup, &res, res.errtext, err);
	return script_result(m, startup, &res, done + sizeof(SETUP_DONE), err);
}

/* argv of a script given LAB M SHELL: /bin/sh -c TEXT NAME LAB M SHELL */
static int script_args(struct args *a, const char *text, const char *name, const struct uk_lab *lab,
		       const struct uk_lab_machine *m)
{
	const char *const list[] = {"/bin/sh",	      "-c", text, name, lab->dir, m->name,
				    machine_shell(m), NULL};

	return args_list(a, list);
}

int uk_lab_guest_shutdown(const struct uk_lab *lab, const struct uk_lab_machine *m,
			  struct uk_err *err)
{
	static const char what[] = "its shutdown scripts";
	struct uk_agent_result res;
	struct args a = {0};
	int r = script_args(&a, shutdown_sh, "shutdown", lab, m);

	r = run_args(lab, m, &a, r, what, &res, err);
	return r < 0 ? r : script_result(m, what, &res, res.errtext, err);
}
