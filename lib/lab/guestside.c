// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Inside a booted lab machine, through its agent (no guest networking needed): the lab
 * directory at /hostlab, shared/ at /shared, the first boot's files, the defaults labs
 * assume, then the startup scripts; at a stop, the shutdown scripts. DESIGN's spec/labs.md
 * section 2.1 says what Netkit and Kathará do; each script below is a fixed text given its
 * values as arguments, so nothing of the lab is ever parsed by a shell as code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/agent.h"
#include "umlkit/guest.h"
#include "umlkit/lab.h"
#include "umlkit/util.h"
#include "run-internal.h"

/*
 * prepare LAB M DIALECT IPV6 RENAMES [SYSCTL...]: mounts, the first boot (hostname,
 * /etc/hosts, the lab's files, Kathará's permission fixes), the interfaces (renamed by MAC
 * when the lab leaves gaps, the vector driver's other vecN ethN, as a lab machine boots
 * without udev (run.c), each up), the sysctls. A UML guest pays dearly for each process
 * (30 to 60 ms under ptrace on 6.1): what the shell can do itself it does, and the
 * interfaces go up in one `ip -batch`.
 */
static const char prepare_sh[] =
	"set -e\n"
	"lab=$1 m=$2 dialect=$3 ipv6=$4 renames=$5\n"
	"shift 5\n"
	"mounted() {\n"
	"	while read -r _ d _; do [ \"$d\" != \"$1\" ] || return 0; done </proc/self/mounts\n"
	"	return 1\n"
	"}\n"
	"[ -d /hostlab ] && [ -d /shared ] || mkdir -p /hostlab /shared\n"
	"mounted /hostlab || mount -t hostfs none /hostlab -o \"$lab\"\n"
	"[ -d /hostlab/shared ] || mkdir -p /hostlab/shared\n"
	"mounted /shared || mount --bind /hostlab/shared /shared\n"
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
	"			find /etc/$d -maxdepth 1 -type f -exec chmod 640 {} +\n"
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
	"[ $# -gt 0 ] || exit 0\n"
	"if command -v sysctl >/dev/null; then\n"
	"	sysctl -q -w \"$@\"\n"
	"else\n"
	"	for s in \"$@\"; do put \"$(echo \"${s%%=*}\" | tr . /)\" \"${s#*=}\"; done\n"
	"fi\n";

/*
 * startup LAB M SHELL [env:NAME=VALUE | exec:CMD ...]: shared.startup then M.startup, each
 * with `set -x` first and CRLF and byte-order mark gone, run by the machine's shell with
 * their output appended to /var/log/startup.log and /hostlab/M.log; then the exec commands.
 * Exits with the first failing script's status.
 */
static const char startup_sh[] =
	"lab=$1 m=$2 sh=$3\n"
	"shift 3\n"
	"[ -x \"$sh\" ] || sh=/bin/sh\n"
	"L=/var/log/startup.log\n"
	"say() { echo \"$*\" >>$L; echo \"$*\" >>\"/hostlab/$m.log\"; }\n"
	"for a in \"$@\"; do case $a in env:*) export \"${a#env:}\" ;; esac; done\n"
	"rc=0\n"
	"for s in shared \"$m\"; do\n"
	"	f=/hostlab/$s.startup\n"
	"	[ -f \"$f\" ] || continue\n"
	"	t=/tmp/umlkit-lab-$s.startup\n"
	"	{ echo 'set -x'; sed -e '1s/^\\xEF\\xBB\\xBF//' -e 's/\\r$//' \"$f\"; } >\"$t\"\n"
	"	{ (cd /root 2>/dev/null || cd /; exec \"$sh\" \"$t\") 2>&1 </dev/null\n"
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

/* In the background of the agent's session: the startup goes on once it ends (--no-wait) */
static const char detach_sh[] = "setsid /bin/sh -c \"$0\" sh \"$@\" </dev/null >/dev/null 2>&1 &";

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

/* Run argv in the machine's guest; its stderr's start is kept for the message. 0, or the
 * script's failure naming the machine. */
static int run_in_guest(const struct uk_lab *lab, const struct uk_lab_machine *m, char **argv,
			const char *what, struct uk_err *err)
{
	struct uk_agent_io io = {
		.in = -1, .out = -1, .err = UK_AGENT_COLLECT, .winch_fd = -1, .tty_fd = -1};
	struct uk_agent_result res = {0};
	char name[UK_GUEST_NAME_MAX + 1];
	int sock, r;

	uk_lab_guest_name(lab, m->name, name, sizeof(name));
	r = uk_guest_agent_connect(name, &sock, err);
	if (r == 0)
		r = uk_agent_run(sock, name, 0, argv, NULL, &io, UK_LAB_SCRIPT_S, &res, err);
	if (r < 0)
		return uk_err_prefix(err, r, "machine '%s': %s: ", m->name, what);
	if (res.error)
		return uk_err_set(err, EIO, "machine '%s': %s: %s", m->name, what, res.msg);
	if (res.signal)
		return uk_err_set(err, EIO, "machine '%s': %s: killed by signal %d", m->name, what,
				  res.signal);
	if (res.status)
		return uk_err_set(err, EIO, "machine '%s': %s exited with status %d%s%.200s",
				  m->name, what, res.status, res.errlen ? ": " : "", res.errtext);
	return 0;
}

/* Run the script a holds (r: how building it went) in the machine, then free a */
static int run_args(const struct uk_lab *lab, const struct uk_lab_machine *m, struct args *a, int r,
		    const char *what, struct uk_err *err)
{
	if (r < 0)
		r = uk_err_sys(err, -r, "machine '%s': %s: its arguments", m->name, what);
	else
		r = run_in_guest(lab, m, a->v, what, err);
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

int uk_lab_guest_prepare(const struct uk_lab *lab, const struct uk_lab_machine *m,
			 struct uk_err *err)
{
	struct args a = {0};
	char ren[UK_LAB_IFACES_MAX * 26];
	int r = renames(lab, m, ren, sizeof(ren));
	const char *const head[] = {"/bin/sh",
				    "-c",
				    prepare_sh,
				    "prepare",
				    lab->dir,
				    m->name,
				    lab->dialect == UK_LAB_NETKIT ? "netkit" : "kathara",
				    m->ipv6 ? "1" : "0",
				    ren,
				    NULL};

	if (r == 0)
		r = args_list(&a, head);
	for (int i = 0; r == 0 && i < m->n_sysctl; i++)
		r = args_add(&a, "", m->sysctl[i]);
	return run_args(lab, m, &a, r, "the lab's setup (mounts, files, sysctls)", err);
}

static const char *machine_shell(const struct uk_lab_machine *m)
{
	return m->shell && m->shell[0] == '/' ? m->shell : "/bin/bash";
}

/* argv of a script given LAB M SHELL: /bin/sh -c TEXT NAME LAB M SHELL */
static int script_args(struct args *a, const char *text, const char *name, const struct uk_lab *lab,
		       const struct uk_lab_machine *m)
{
	const char *const list[] = {"/bin/sh",	      "-c", text, name, lab->dir, m->name,
				    machine_shell(m), NULL};

	return args_list(a, list);
}

int uk_lab_guest_startup(const struct uk_lab *lab, const struct uk_lab_machine *m, bool detach,
			 struct uk_err *err)
{
	struct args a = {0};
	int r = detach ? script_args(&a, detach_sh, startup_sh, lab, m)
		       : script_args(&a, startup_sh, "startup", lab, m);

	for (int i = 0; r == 0 && i < m->n_env; i++)
		r = args_add(&a, "env:", m->env[i]);
	for (int i = 0; r == 0 && i < m->n_exec; i++)
		r = args_add(&a, "exec:", m->exec[i]);
	return run_args(lab, m, &a, r, "its startup scripts", err);
}

int uk_lab_guest_shutdown(const struct uk_lab *lab, const struct uk_lab_machine *m,
			  struct uk_err *err)
{
	struct args a = {0};
	int r = script_args(&a, shutdown_sh, "shutdown", lab, m);

	return run_args(lab, m, &a, r, "its shutdown scripts", err);
}
