// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit switch: start, stop, list, ports, fdb, capture, forward, nat, legacy, link, unlink,
 * plug, vxlan, unvxlan. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "cmd.h"

static const char switch_usage[] =
	"Usage: umlkit switch COMMAND ...\n"
	"  start NAME [-f] [--hub] [--mtu N] [--group G] [--bess PATH] [--legacy CTL]\n"
	"             [--tap IF] [--nat [--nat-net CIDR] [--forward SPEC]...] [--coalesce US]\n"
	"                           a userspace Ethernet switch (a daemon; -f: foreground)\n"
	"  stop NAME                stop it (its sockets are removed)\n"
	"  list [--output=json]     switches, their pids and port counts\n"
	"  ports NAME [--output=json]  ports: kind, peer, VLAN, MACs, frames, bytes, drops\n"
	"  fdb NAME [--output=json]    the MAC learning table\n"
	"  capture NAME [--port P] -w FILE.pcap [--seconds S]\n"
	"                           write what the switch receives (pcap) until ^C or S s\n"
	"  forward NAME add|del SPEC   add or remove a port forward of the NAT uplink (SPEC:\n"
	"                           tcp|udp:[HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT; del also\n"
	"                           takes tcp|udp:[HOSTADDR:]HOSTPORT); HOSTADDR 127.0.0.1\n"
	"  forward NAME list [--output=json]  the NAT uplink's port forwards\n"
	"  nat NAME [--output=json]  the NAT uplink (--nat): its network, forwards, libslirp's\n"
	"                           complaints, frames dropped, rests for want of fds, and\n"
	"                           its DHCP leases with the guest each belongs to\n"
	"  legacy NAME [--output=json]  the legacy daemon-protocol side (--legacy): its guests,\n"
	"                           requests accepted and refused, stray frames dropped\n"
	"  link A B [--vlan N]      join two running switches: a trunk of every VLAN, or an\n"
	"                           access link of VLAN N; refused where it would make a loop\n"
	"  unlink A B               remove the link between A and B\n"
	"  plug NAME [--vlan N] [--trunk]  a port carried over stdin and stdout (each frame\n"
	"                           behind its 2-byte length, as vde_plug's): dpipe, ssh, socat\n"
	"  vxlan NAME --vni N --remote ADDR[:PORT]... [--local ADDR[:PORT]] [--vlan V|--trunk]\n"
	"                           a VXLAN port (RFC 7348): frames in UDP to and from the\n"
	"                           remotes (unicast; floods go to each), port 4789 unless given\n"
	"  unvxlan NAME [--vni N]   remove its VXLAN ports (of VNI N only)\n"
	"Guests join with `umlkit start --net switch:NAME[,mac=MAC][,vlan=N][,trunk]`;\n"
	"`,forward=tcp:8080:80` forwards to the guest's address, whatever its lease.\n"
	"Exit status: 0 success, 1 failure, 2 usage error.\n";

enum {
	OPT_HUB,
	OPT_MTU,
	OPT_GROUP,
	OPT_BESS,
	OPT_LEGACY,
	OPT_TAP,
	OPT_NAT,
	OPT_NAT_NET,
	OPT_FORWARD,
	OPT_PORT,
	OPT_SECONDS,
	OPT_COALESCE,
	OPT_VLAN,
	OPT_TRUNK,
	OPT_VNI,
	OPT_REMOTE,
	OPT_LOCAL,
	OPT_FG,	   /* -f, --foreground */
	OPT_WRITE, /* -w */
	OPT_OUT	   /* --output */
};
static const struct uk_opt switch_options[] = {
	[OPT_HUB] = {.name = "hub"},
	[OPT_MTU] = {.name = "mtu", .value = true},
	[OPT_GROUP] = {.name = "group", .value = true},
	[OPT_BESS] = {.name = "bess", .value = true},
	[OPT_LEGACY] = {.name = "legacy", .value = true},
	[OPT_TAP] = {.name = "tap", .value = true},
	[OPT_NAT] = {.name = "nat"},
	[OPT_NAT_NET] = {.name = "nat-net", .value = true},
	[OPT_FORWARD] = {.name = "forward", .value = true},
	[OPT_PORT] = {.name = "port", .value = true},
	[OPT_SECONDS] = {.name = "seconds", .value = true},
	[OPT_COALESCE] = {.name = "coalesce", .value = true},
	[OPT_VLAN] = {.name = "vlan", .value = true},
	[OPT_TRUNK] = {.name = "trunk"},
	[OPT_VNI] = {.name = "vni", .value = true},
	[OPT_REMOTE] = {.name = "remote", .value = true},
	[OPT_LOCAL] = {.name = "local", .value = true},
	[OPT_FG] = {.name = "foreground", .letter = 'f'},
	[OPT_WRITE] = {.letter = 'w', .value = true},
	[OPT_OUT] = {.name = "output", .value = true},
};
_Static_assert(UK_ARRAY_SIZE(switch_options) <= UK_OPTS_MAX, "the options fit an accept mask");

/* What start takes; every command's mask is in uk_cmd_switch's table. */
#define START_OPTS                                                                                 \
	(UK_OPT_BIT(OPT_FG) | UK_OPT_BIT(OPT_HUB) | UK_OPT_BIT(OPT_MTU) |                          \
	 UK_OPT_BIT(OPT_COALESCE) | UK_OPT_BIT(OPT_GROUP) | UK_OPT_BIT(OPT_BESS) |                 \
	 UK_OPT_BIT(OPT_LEGACY) | UK_OPT_BIT(OPT_TAP) | UK_OPT_BIT(OPT_NAT) |                      \
	 UK_OPT_BIT(OPT_NAT_NET) | UK_OPT_BIT(OPT_FORWARD))

struct sw_args {
	struct uk_switch_daemon_opts d;
	bool foreground, json, output; /* output: --output was given */
	int port;
	uint16_t vlan;
	bool trunk;
	struct uk_switch_vxlan vx;
	bool have_vni;
	uint64_t seconds;
	const char *out;
	int nargs;
	char **args;
};

static int copy_opt(char *dst, size_t len, const char *v, const char *what)
{
	if (strlen(v) >= len)
		return uk_usage_error("umlkit switch", "%s '%s' is too long", what, v);
	strcpy(dst, v);
	return 0;
}

/* A NAT network or forward too long to hold is a bad one, as the daemon says of others. */
static int copy_nat_value(char *dst, size_t len, const char *v, const char *what)
{
	if (strlen(v) >= len) {
		uk_say("%s '%.40s...': longer than %zu characters", what, v, len - 1);
		return UK_EXIT_FAIL;
	}
	strcpy(dst, v);
	return 0;
}

static int parse_one(const struct uk_opts *p, int c, const char *v)
{
	struct sw_args *a = p->ctx;
	uint64_t n;

	switch (c) {
	case OPT_FG:
		a->foreground = true;
		return 0;
	case OPT_WRITE:
		a->out = v;
		return 0;
	case OPT_HUB:
		a->d.hub = true;
		return 0;
	case OPT_NAT:
		a->d.nat = true;
		return 0;
	case OPT_MTU:
		if (uk_parse_u64(v, &n) < 0 || n < 68 || n > UK_SW_MTU_MAX)
			return uk_usage_error("umlkit switch", "--mtu %s: 68..%u", v,
					      UK_SW_MTU_MAX);
		a->d.mtu = (unsigned)n;
		return 0;
	case OPT_COALESCE:
		if (uk_parse_u64(v, &n) < 0 || n > UK_SW_COALESCE_MAX)
			return uk_usage_error("umlkit switch", "--coalesce %s: microseconds, 0..%u",
					      v, UK_SW_COALESCE_MAX);
		a->d.coalesce_us = (int)n;
		return 0;
	case OPT_GROUP: {
		struct group *g = getgrnam(v);

		if (g)
			a->d.group = (int)g->gr_gid;
		else if (uk_parse_u64(v, &n) == 0 && n < 0x7fffffff)
			a->d.group = (int)n;
		else
			return uk_usage_error("umlkit switch", "--group %s: no such group", v);
		return 0;
	}
	case OPT_BESS:
		return copy_opt(a->d.bess, sizeof(a->d.bess), v, "--bess");
	case OPT_LEGACY:
		return copy_opt(a->d.legacy_ctl, sizeof(a->d.legacy_ctl), v, "--legacy");
	case OPT_TAP:
		return copy_opt(a->d.tap, sizeof(a->d.tap), v, "--tap");
	case OPT_NAT_NET:
		return copy_nat_value(a->d.nat_net, sizeof(a->d.nat_net), v, "NAT network");
	case OPT_FORWARD:
		if (a->d.nforwards == UK_SW_MAX_FORWARDS)
			return uk_usage_error("umlkit switch", "at most %d forwards",
					      UK_SW_MAX_FORWARDS);
		return copy_nat_value(a->d.forwards[a->d.nforwards++], sizeof(a->d.forwards[0]), v,
				      "forward");
	case OPT_PORT:
		if (uk_parse_u64(v, &n) < 0 || n >= UK_SW_MAX_PORTS)
			return uk_usage_error("umlkit switch", "--port %s: not a port number", v);
		a->port = (int)n;
		return 0;
	case OPT_VLAN:
		if (uk_parse_u64(v, &n) < 0 || n < 1 || n > UK_VLAN_MAX)
			return uk_usage_error("umlkit switch", "--vlan %s: 1..4094", v);
		a->vlan = (uint16_t)n;
		return 0;
	case OPT_TRUNK:
		a->trunk = true;
		return 0;
	case OPT_VNI:
		if (uk_parse_u64(v, &n) < 0 || n > UK_VXLAN_VNI_MAX)
			return uk_usage_error("umlkit switch", "--vni %s: 0..%u", v,
					      UK_VXLAN_VNI_MAX);
		a->vx.vni = (uint32_t)n;
		a->have_vni = true;
		return 0;
	case OPT_REMOTE:
		if (a->vx.nremotes == UK_VXLAN_MAX_REMOTES)
			return uk_usage_error("umlkit switch", "at most %d remotes",
					      UK_VXLAN_MAX_REMOTES);
		return copy_opt(a->vx.remotes[a->vx.nremotes++], sizeof(a->vx.remotes[0]), v,
				"--remote");
	case OPT_LOCAL:
		return copy_opt(a->vx.local, sizeof(a->vx.local), v, "--local");
	case OPT_SECONDS:
		if (uk_parse_u64(v, &n) < 0 || n == 0 || n > 31536000)
			return uk_usage_error("umlkit switch",
					      "--seconds %s: a number from 1 to 31536000 (a year)",
					      v);
		a->seconds = n;
		return 0;
	case OPT_OUT:
		a->output = true;
		return uk_parse_output("umlkit switch", v, &a->json);
	}
	return uk_usage_error("umlkit switch", "unknown option");
}

/* Parse the options and arguments of command cmd, which takes the options in mask accept. */
static int parse(int argc, char **argv, const char *cmd, unsigned accept, struct sw_args *a)
{
	char what[64];
	struct uk_opts p = {.opt = switch_options,
			    .nopt = UK_ARRAY_SIZE(switch_options),
			    .accept = accept,
			    .cmd = "umlkit switch",
			    .what = what,
			    .help = switch_usage,
			    .fn = parse_one,
			    .ctx = a};
	int r;

	snprintf(what, sizeof(what), "switch %s", cmd);
	memset(a, 0, sizeof(*a));
	a->d.group = -1;
	a->d.ready_fd = -1;
	a->d.coalesce_us = UK_SW_COALESCE_US;
	a->port = -1;
	r = uk_opts_parse(&p, argc, argv);
	a->nargs = p.nargs;
	a->args = p.args;
	return r;
}

/* Ask the running switch one thing; returns the parsed reply or NULL (message printed). */
static json_t *ask(const char *name, const char *cmd, int fd, json_t *extra)
{
	struct uk_err err = {0};
	json_t *req = extra ? extra : json_object(), *rep = NULL;
	char *text;
	int r;

	json_object_set_new(req, "cmd", json_string(cmd));
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	r = text ? uk_switch_ask(name, text, fd, &rep, &err)
		 : uk_err_set(&err, ENOMEM, "out of memory");
	free(text);
	if (r < 0)
		uk_fail(&err);
	return rep;
}

static int print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
	return UK_EXIT_OK;
}

/* A relative socket path (path, in a buffer of size bytes) made absolute, for a daemon that
 * leaves its directory; "" stays. */
static int absolute_path(char *path, size_t size, const char *opt, struct uk_err *err)
{
	char abs[PATH_MAX];
	struct uk_err e = {0};

	if (!path[0] || path[0] == '/')
		return 0;
	if (uk_path_absolutize(path, abs, size < sizeof(abs) ? size : sizeof(abs), &e) < 0)
		return uk_err_set(err, e.code, "%s %s", opt, e.msg);
	memcpy(path, abs, strlen(abs) + 1);
	return 0;
}

static int sw_start(struct sw_args *a)
{
	struct uk_err err = {0};
	pid_t pid;

	if (a->nargs != 1)
		return uk_usage_error("umlkit switch start", "start needs NAME");
	if (uk_switch_name_check(a->args[0], &err) < 0)
		return uk_usage_error("umlkit switch start", "%s", err.msg);
	snprintf(a->d.name, sizeof(a->d.name), "%s", a->args[0]);
	if (!a->d.nat && (a->d.nforwards || a->d.nat_net[0]))
		return uk_usage_error("umlkit switch start", "--forward and --nat-net need --nat");
	if (absolute_path(a->d.bess, sizeof(a->d.bess), "--bess", &err) < 0 ||
	    absolute_path(a->d.legacy_ctl, sizeof(a->d.legacy_ctl), "--legacy", &err) < 0)
		return uk_fail(&err);
	if (a->foreground) {
		if (uk_switch_daemon_run(&a->d, &err) < 0)
			return uk_fail(&err);
		return UK_EXIT_OK;
	}
	if (uk_switch_daemon_start(&a->d, &pid, &err) < 0) {
		uk_say("switch '%s': %s", a->d.name, err.msg);
		return UK_EXIT_FAIL;
	}
	printf("%s: running (pid %d)\n", a->d.name, (int)pid);
	return UK_EXIT_OK;
}

static int sw_stop(struct sw_args *a)
{
	struct uk_err err = {0};
	json_t *rep = NULL;
	pid_t pid;

	if (a->nargs != 1)
		return uk_usage_error("umlkit switch stop", "stop needs NAME");
	pid = uk_switch_pid(a->args[0]);
	if (!pid) {
		uk_say("switch '%s' is not running", a->args[0]);
		return UK_EXIT_FAIL;
	}
	if (uk_switch_ask(a->args[0], "{\"cmd\":\"stop\"}", -1, &rep, &err) < 0) {
		uk_say("%s; stopping it with SIGTERM", err.msg);
		kill(pid, SIGTERM);
	}
	json_decref(rep);
	for (int i = 0; i < 100 && uk_switch_pid(a->args[0]); i++)
		usleep(20000);
	if (uk_switch_pid(a->args[0])) {
		kill(pid, SIGKILL);
		uk_say("switch '%s' did not stop; killed", a->args[0]);
	}
	return UK_EXIT_OK;
}

static int sw_list(struct sw_args *a)
{
	json_t *arr = json_array();
	struct uk_err err = {0};
	char **names;
	int n;

	if (uk_switch_list(&names, &n, &err) < 0) {
		json_decref(arr);
		return uk_fail(&err);
	}
	for (int i = 0; i < n; i++) {
		json_t *rep = uk_switch_pid(names[i]) ? ask(names[i], "info", -1, NULL) : NULL;

		if (rep) {
			json_object_del(rep, "ok");
			json_array_append_new(arr, rep);
		}
		free(names[i]);
	}
	free(names);
	if (a->json)
		return print_json(arr);
	printf("%-20s %8s %6s %s\n", "NAME", "PID", "PORTS", "MODE");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *s = json_array_get(arr, i);

		printf("%-20s %8lld %6lld %s%s\n", json_string_value(json_object_get(s, "name")),
		       json_integer_value(json_object_get(s, "pid")),
		       json_integer_value(json_object_get(s, "ports")),
		       json_is_true(json_object_get(s, "hub")) ? "hub" : "switch",
		       json_is_true(json_object_get(s, "nat")) ? " nat" : "");
	}
	json_decref(arr);
	return UK_EXIT_OK;
}

/* A VXLAN port's lines under its row in `ports`: its VNI, drops and remotes. */
static void print_vxlan(json_t *v)
{
	json_t *r, *m, *macs;
	size_t i, k;

	if (!v)
		return;
	printf("     VNI %lld, local %s; dropped: %lld bad header, %lld wrong VNI, %lld from "
	       "strangers\n",
	       json_integer_value(json_object_get(v, "vni")),
	       json_string_value(json_object_get(v, "local")),
	       json_integer_value(json_object_get(v, "bad_header")),
	       json_integer_value(json_object_get(v, "wrong_vni")),
	       json_integer_value(json_object_get(v, "strangers")));
	json_array_foreach(json_object_get(v, "remotes"), i, r)
	{
		printf("     remote %s: rx %lld, tx %lld, errors %lld;",
		       json_string_value(json_object_get(r, "remote")),
		       json_integer_value(json_object_get(r, "rx_frames")),
		       json_integer_value(json_object_get(r, "tx_frames")),
		       json_integer_value(json_object_get(r, "tx_errors")));
		macs = json_object_get(r, "macs");
		json_array_foreach(macs, k, m) printf(" %s", json_string_value(m));
		putchar('\n');
	}
}

static int sw_ports(struct sw_args *a)
{
	json_t *rep, *ports, *p;
	size_t i;

	if (a->nargs != 1)
		return uk_usage_error("umlkit switch ports", "ports needs NAME");
	rep = ask(a->args[0], "ports", -1, NULL);
	if (!rep)
		return UK_EXIT_FAIL;
	ports = json_incref(json_object_get(rep, "ports"));
	json_decref(rep);
	if (a->json)
		return print_json(ports);
	printf("%4s %-6s %-24s %5s %10s %12s %10s %12s %7s %7s  %s\n", "PORT", "KIND", "PEER",
	       "VLAN", "RX_FRAMES", "RX_BYTES", "TX_FRAMES", "TX_BYTES", "RX_DROP", "TX_DROP",
	       "MACS");
	json_array_foreach(ports, i, p)
	{
		json_t *macs = json_object_get(p, "macs"), *m;
		size_t k;

		printf("%4lld %-6s %-24.24s %4lld%s %10lld %12lld %10lld %12lld %7lld %7lld ",
		       json_integer_value(json_object_get(p, "port")),
		       json_string_value(json_object_get(p, "kind")),
		       json_string_value(json_object_get(p, "peer")),
		       json_integer_value(json_object_get(p, "vlan")),
		       json_is_true(json_object_get(p, "trunk")) ? "T" : " ",
		       json_integer_value(json_object_get(p, "rx_frames")),
		       json_integer_value(json_object_get(p, "rx_bytes")),
		       json_integer_value(json_object_get(p, "tx_frames")),
		       json_integer_value(json_object_get(p, "tx_bytes")),
		       json_integer_value(json_object_get(p, "rx_drops")),
		       json_integer_value(json_object_get(p, "tx_drops")));
		json_array_foreach(macs, k, m) printf(" %s", json_string_value(m));
		putchar('\n');
		print_vxlan(json_object_get(p, "vxlan"));
	}
	json_decref(ports);
	return UK_EXIT_OK;
}

static int sw_fdb(struct sw_args *a)
{
	json_t *rep, *fdb, *e;
	size_t i;

	if (a->nargs != 1)
		return uk_usage_error("umlkit switch fdb", "fdb needs NAME");
	rep = ask(a->args[0], "fdb", -1, NULL);
	if (!rep)
		return UK_EXIT_FAIL;
	fdb = json_incref(json_object_get(rep, "fdb"));
	json_decref(rep);
	if (a->json)
		return print_json(fdb);
	printf("%-17s %5s %5s %8s\n", "MAC", "VLAN", "PORT", "AGE_MS");
	json_array_foreach(fdb, i, e)
	{
		printf("%-17s %5lld %5lld %8lld\n", json_string_value(json_object_get(e, "mac")),
		       json_integer_value(json_object_get(e, "vlan")),
		       json_integer_value(json_object_get(e, "port")),
		       json_integer_value(json_object_get(e, "age_ms")));
	}
	json_decref(fdb);
	return UK_EXIT_OK;
}

static long long int_of(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static int sw_legacy(struct sw_args *a)
{
	json_t *rep;
	const char *last;

	if (a->nargs != 1)
		return uk_usage_error("umlkit switch legacy", "legacy needs NAME");
	rep = ask(a->args[0], "legacy", -1, NULL);
	if (!rep)
		return UK_EXIT_FAIL;
	json_object_del(rep, "ok");
	if (a->json)
		return print_json(rep);
	last = json_string_value(json_object_get(rep, "last_bad_request"));
	printf("control       %s\n", json_string_value(json_object_get(rep, "control")));
	printf("guests        %lld\n", int_of(rep, "guests"));
	printf("accepted      %lld\n", int_of(rep, "accepted"));
	printf("bad_requests  %lld%s%s%s\n", int_of(rep, "bad_requests"),
	       last && *last ? " (last: " : "", last && *last ? last : "",
	       last && *last ? ")" : "");
	printf("stray_frames  %lld\n", int_of(rep, "stray_frames"));
	json_decref(rep);
	return UK_EXIT_OK;
}

static volatile sig_atomic_t capture_stop;
static void on_capture_signal(int sig)
{
	(void)sig;
	capture_stop = 1;
}

/* The fd a capture writes to: a FIFO or a device (a pipe to a reader, /dev/null) is
 * written as it is; any other path gets a new file beside it (*nf), put in place only once
 * the switch has taken it. */
static int capture_fd(const char *path, struct uk_newfile *nf, struct uk_err *err)
{
	struct stat st;
	int fd;

	nf->fd = -1;
	if (stat(path, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
		fd = open(path, O_WRONLY | O_CLOEXEC);
		return fd >= 0 ? fd : uk_err_sys(err, errno, "%s", path);
	}
	return uk_newfile_open(nf, path, 0644, err) < 0 ? -1 : nf->fd;
}

static int sw_capture(struct sw_args *a)
{
	struct uk_err err = {0};
	struct uk_newfile nf;
	json_t *extra, *rep;
	int fd;

	if (a->nargs != 1 || !a->out)
		return uk_usage_error("umlkit switch capture", "capture needs NAME and -w FILE");
	fd = capture_fd(a->out, &nf, &err);
	if (fd < 0)
		return uk_fail(&err);
	extra = json_object();
	if (a->port >= 0)
		json_object_set_new(extra, "port", json_integer(a->port));
	rep = ask(a->args[0], "capture", fd, extra);
	if (!rep) { /* refused: no file made or changed */
		if (nf.fd >= 0)
			uk_newfile_abort(&nf);
		else
			close(fd);
		return UK_EXIT_FAIL;
	}
	json_decref(rep);
	if (nf.fd < 0)
		close(fd);
	else if (uk_newfile_commit(&nf, true, &err) < 0) {
		json_decref(ask(a->args[0], "capture-stop", -1, NULL));
		return uk_fail(&err);
	}
	signal(SIGINT, on_capture_signal);
	signal(SIGTERM, on_capture_signal);
	for (uint64_t t = 0; !capture_stop && (!a->seconds || t < a->seconds * 10); t++) {
		if (!uk_switch_pid(a->args[0]))
			break;
		usleep(100000);
	}
	rep = ask(a->args[0], "capture-stop", -1, NULL);
	json_decref(rep);
	return UK_EXIT_OK;
}

/* A request to the NAT module (extra: its members, taken), or NULL when the switch has no
 * NAT uplink or the request failed (said). */
static json_t *ask_nat(const char *name, const char *cmd, json_t *extra)
{
	json_t *rep = ask(name, "info", -1, NULL);
	bool nat = rep && json_is_true(json_object_get(rep, "nat"));

	if (rep && !nat)
		uk_say("switch '%s' has no NAT uplink (start it with --nat)", name);
	json_decref(rep);
	if (!nat) {
		json_decref(extra);
		return NULL;
	}
	return ask(name, cmd, -1, extra);
}

/* The DHCP leases of a forward-list reply, with the guest each belongs to, and the guests'
 * forwards. */
static void print_leases(json_t *rep)
{
	json_t *leases = json_object_get(rep, "leases"),
	       *fw = json_object_get(rep, "guest_forwards");
	json_t *e;
	size_t i;

	printf("leases        %zu\n", json_array_size(leases));
	if (json_array_size(leases))
		printf("  %-17s %-15s %5s  %s\n", "MAC", "IPV4", "PORT", "GUEST");
	json_array_foreach(leases, i, e)
	{
		const char *g = json_string_value(json_object_get(e, "guest"));

		printf("  %-17s %-15s %5lld  ", json_string_value(json_object_get(e, "mac")),
		       json_string_value(json_object_get(e, "ipv4")), int_of(e, "port"));
		if (g)
			printf("%s (vec%lld)\n", g, int_of(e, "net"));
		else
			printf("-\n");
	}
	json_array_foreach(fw, i, e)
	{
		const char *a = json_string_value(json_object_get(e, "guest_addr"));

		printf("guest forward %s of %s (vec%lld): %s%s%s\n",
		       json_string_value(json_object_get(e, "spec")),
		       json_string_value(json_object_get(e, "guest")), int_of(e, "net"),
		       a ? "to " : "waiting for its address", a ? a : "",
		       json_object_get(e, "error") ? " (refused before)" : "");
	}
}

/* nat NAME: the NAT uplink's network, forwards, leases and counters */
static int sw_nat(struct sw_args *a)
{
	json_t *rep;

	if (a->nargs != 1)
		return uk_usage_error("umlkit switch nat", "nat needs NAME");
	rep = ask_nat(a->args[0], "forward-list", NULL);
	if (!rep)
		return UK_EXIT_FAIL;
	json_object_del(rep, "ok");
	if (a->json)
		return print_json(rep);
	printf("network       %s\n", json_string_value(json_object_get(rep, "network")));
	printf("host          %s\n", json_string_value(json_object_get(rep, "host")));
	printf("dns           %s\n", json_string_value(json_object_get(rep, "dns")));
	printf("dhcp_start    %s\n", json_string_value(json_object_get(rep, "dhcp_start")));
	printf("forwards      %zu\n", json_array_size(json_object_get(rep, "forwards")));
	printf("guest_errors  %lld\n", int_of(rep, "guest_errors"));
	printf("queue_drops   %lld\n", int_of(rep, "queue_drops"));
	printf("fd_rests      %lld\n", int_of(rep, "fd_rests"));
	printf("flow_drops    %lld\n", int_of(rep, "flow_drops"));
	print_leases(rep);
	json_decref(rep);
	return UK_EXIT_OK;
}

/* forward NAME add|del SPEC, forward NAME list: the NAT module's commands */
static int sw_forward(struct sw_args *a)
{
	const char *op = a->nargs >= 2 ? a->args[1] : "";
	bool list = !strcmp(op, "list");
	json_t *extra, *rep, *fw, *f;
	const char *cmd = list ? "forward-list" : "forward-add";
	size_t i;

	if (list ? a->nargs != 2 : (strcmp(op, "add") && strcmp(op, "del")) || a->nargs != 3)
		return uk_usage_error("umlkit switch forward",
				      "forward NAME add|del SPEC, or forward NAME list");
	if (!list && a->output) {
		char what[32];

		snprintf(what, sizeof(what), "switch forward %s", op);
		return uk_opt_not_for("umlkit switch", "--output", what);
	}
	if (!strcmp(op, "del"))
		cmd = "forward-del";
	extra = json_object();
	if (!list)
		json_object_set_new(extra, "spec", json_string(a->args[2]));
	rep = ask_nat(a->args[0], cmd, extra);
	if (!rep)
		return UK_EXIT_FAIL;
	if (!list) {
		printf("%s: %s %s\n", a->args[0], !strcmp(op, "add") ? "forwarding" : "removed",
		       json_string_value(json_object_get(json_object_get(rep, "forward"), "spec")));
		json_decref(rep);
		return UK_EXIT_OK;
	}
	fw = json_incref(json_object_get(rep, "forwards"));
	json_decref(rep);
	if (a->json)
		return print_json(fw);
	json_array_foreach(fw, i, f) printf("%s\n", json_string_value(json_object_get(f, "spec")));
	json_decref(fw);
	return UK_EXIT_OK;
}

/* link A B [--vlan N], unlink A B */
static int link_args(struct sw_args *a, const char *what)
{
	struct uk_err err = {0};

	if (a->nargs != 2)
		return uk_usage_error("umlkit switch", "%s needs two switch names", what);
	for (int i = 0; i < 2; i++)
		if (uk_switch_name_check(a->args[i], &err) < 0)
			return uk_usage_error("umlkit switch", "%s", err.msg);
	if (!strcmp(a->args[0], a->args[1]))
		return uk_usage_error("umlkit switch", "%s: switch '%s' twice", what, a->args[0]);
	return 0;
}

static int sw_link(struct sw_args *a)
{
	struct uk_err err = {0};
	int ports[2], r = link_args(a, "link");

	if (r)
		return r;
	if (uk_switch_link(a->args[0], a->args[1], a->vlan, ports, &err) < 0)
		return uk_fail(&err);
	if (a->vlan)
		printf("%s port %d - %s port %d: linked, VLAN %u\n", a->args[0], ports[0],
		       a->args[1], ports[1], a->vlan);
	else
		printf("%s port %d - %s port %d: linked, a trunk of every VLAN\n", a->args[0],
		       ports[0], a->args[1], ports[1]);
	return UK_EXIT_OK;
}

static int sw_unlink(struct sw_args *a)
{
	struct uk_err err = {0};
	int r = link_args(a, "unlink");

	if (r)
		return r;
	if (uk_switch_unlink(a->args[0], a->args[1], &err) < 0)
		return uk_fail(&err);
	printf("%s - %s: unlinked\n", a->args[0], a->args[1]);
	return UK_EXIT_OK;
}

/* vxlan NAME --vni N --remote ADDR[:PORT]... [--local ADDR[:PORT]] [--vlan V | --trunk] */
static int sw_vxlan(struct sw_args *a)
{
	struct uk_err err = {0};
	int port;

	if (a->nargs != 1)
		return uk_usage_error("umlkit switch", "vxlan needs NAME");
	if (!a->have_vni || a->vx.nremotes == 0)
		return uk_usage_error("umlkit switch", "vxlan needs --vni N and --remote ADDR");
	if (a->vlan && a->trunk)
		return uk_usage_error("umlkit switch", "vxlan: --vlan or --trunk, not both");
	a->vx.vlan = a->vlan;
	a->vx.trunk = a->trunk;
	if (uk_switch_name_check(a->args[0], &err) < 0 || uk_switch_vxlan_check(&a->vx, &err) < 0)
		return uk_usage_error("umlkit switch", "%s", err.msg);
	port = uk_switch_vxlan(a->args[0], &a->vx, &err);
	if (port < 0)
		return uk_fail(&err);
	printf("%s port %d: VXLAN VNI %u to", a->args[0], port, a->vx.vni);
	for (int i = 0; i < a->vx.nremotes; i++)
		printf(" %s", a->vx.remotes[i]);
	putchar('\n');
	return UK_EXIT_OK;
}

/* unvxlan NAME [--vni N] */
static int sw_unvxlan(struct sw_args *a)
{
	struct uk_err err = {0};
	int n;

	if (a->nargs != 1)
		return uk_usage_error("umlkit switch", "unvxlan needs NAME");
	n = uk_switch_unvxlan(a->args[0], a->have_vni ? (long)a->vx.vni : -1, &err);
	if (n < 0)
		return uk_fail(&err);
	printf("%s: %d VXLAN port%s removed\n", a->args[0], n, n == 1 ? "" : "s");
	return UK_EXIT_OK;
}

/* plug NAME [--vlan N] [--trunk]: until stdin ends or the switch closes the port */
static int sw_plug(struct sw_args *a)
{
	struct uk_port_conf c = {.vlan = a->vlan, .trunk = a->trunk};
	struct uk_err err = {0};

	if (a->nargs != 1)
		return uk_usage_error("umlkit switch", "plug needs NAME");
	if (uk_switch_name_check(a->args[0], &err) < 0)
		return uk_usage_error("umlkit switch", "%s", err.msg);
	snprintf(c.peer, sizeof(c.peer), "plug (pid %d)", (int)getpid());
	signal(SIGPIPE, SIG_IGN);
	if (uk_switch_plug(a->args[0], &c, STDIN_FILENO, STDOUT_FILENO, &err) < 0)
		return uk_fail(&err);
	return UK_EXIT_OK;
}

int uk_cmd_switch(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct sw_args *a);
		unsigned accept; /* the options it takes */
	} cmds[] = {
		{"start", sw_start, START_OPTS},
		{"stop", sw_stop, 0},
		{"list", sw_list, UK_OPT_BIT(OPT_OUT)},
		{"ports", sw_ports, UK_OPT_BIT(OPT_OUT)},
		{"fdb", sw_fdb, UK_OPT_BIT(OPT_OUT)},
		{"capture", sw_capture,
		 UK_OPT_BIT(OPT_PORT) | UK_OPT_BIT(OPT_WRITE) | UK_OPT_BIT(OPT_SECONDS)},
		{"forward", sw_forward, UK_OPT_BIT(OPT_OUT)},
		{"legacy", sw_legacy, UK_OPT_BIT(OPT_OUT)},
		{"nat", sw_nat, UK_OPT_BIT(OPT_OUT)},
		{"link", sw_link, UK_OPT_BIT(OPT_VLAN)},
		{"unlink", sw_unlink, 0},
		{"plug", sw_plug, UK_OPT_BIT(OPT_VLAN) | UK_OPT_BIT(OPT_TRUNK)},
		{"vxlan", sw_vxlan,
		 UK_OPT_BIT(OPT_VNI) | UK_OPT_BIT(OPT_REMOTE) | UK_OPT_BIT(OPT_LOCAL) |
			 UK_OPT_BIT(OPT_VLAN) | UK_OPT_BIT(OPT_TRUNK)},
		{"unvxlan", sw_unvxlan, UK_OPT_BIT(OPT_VNI)},
	};
	struct sw_args a;
	int r;

	if (argc < 2)
		return uk_usage_error("umlkit switch", "no switch command given");
	if (uk_is_help(argv[1], true)) {
		fputs(switch_usage, stdout);
		return UK_EXIT_OK;
	}
	for (size_t i = 0; i < UK_ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		r = parse(argc - 1, argv + 1, cmds[i].name, cmds[i].accept, &a);
		if (r)
			return r < 0 ? UK_EXIT_OK : r;
		return cmds[i].fn(&a);
	}
	return uk_usage_error("umlkit switch", "unknown switch command '%s'", argv[1]);
}
