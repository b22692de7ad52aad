// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The guest spec and the kernel command line that expresses it: pure parsing and building,
 * no I/O except finding the kernel and preparing the disks.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/cow.h"
#include "umlkit/guest.h"
#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "guest-internal.h"

void uk_guest_spec_init(struct uk_guest_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->mem = 256ULL << 20;
	strcpy(s->root, "/dev/ubda");
	s->max_restarts = 5;
	s->uid = -1;
	s->gid = -1;
}

int uk_guest_name_check(const char *name, struct uk_err *err)
{
	return uk_name_check("guest", name, UK_GUEST_NAME_MAX, err);
}

/* Kernel file names cannot hold ',' or ':' (ubd= splits on both) nor be empty. */
static int check_file_name(const char *what, const char *f, struct uk_err *err)
{
	if (!*f)
		return uk_err_set(err, EINVAL, "%s: empty file name", what);
	if (strpbrk(f, ",:"))
		return uk_err_set(err, EINVAL,
				  "%s: file name '%s' contains ',' or ':', which the kernel's ubd= "
				  "cannot take",
				  what, f);
	if (strlen(f) >= PATH_MAX)
		return uk_err_set(err, ENAMETOOLONG, "%s: file name too long", what);
	return 0;
}

/* "ubdN[flags]=" prefix: sets unit and flags, returns the rest of the argument. */
static const char *parse_unit(const char *arg, struct uk_guest_disk *d, struct uk_err *err, int *r)
{
	const char *eq = strchr(arg, '=');
	const char *p = arg + 3;
	char *end;
	long unit;

	*r = 0;
	if (!eq || strncmp(arg, "ubd", 3))
		return arg;
	if (*p >= 'a' && *p <= 'p' && !isdigit((unsigned char)p[0])) {
		unit = *p - 'a';
		end = (char *)p + 1;
	} else {
		unit = strtol(p, &end, 10);
		if (end == p || unit < 0 || unit >= UK_GUEST_DISKS) {
			*r = uk_err_set(err, EINVAL, "--disk %s: device number must be 0..15", arg);
			return NULL;
		}
	}
	/* the kernel takes at most 6 flag letters ("Too many flags specified") */
	if ((size_t)(eq - end) > 6 || strspn(end, "rsdct") < (size_t)(eq - end)) {
		*r = uk_err_set(err, EINVAL, "--disk %s: flags must be among r, s, d, c, t", arg);
		return NULL;
	}
	d->unit = (int)unit;
	memcpy(d->flags, end, (size_t)(eq - end));
	d->flags[eq - end] = '\0';
	return eq + 1;
}

static bool unit_used(const struct uk_guest_spec *s, int u)
{
	for (int i = 0; i < s->ndisks; i++)
		if (s->disks[i].unit == u)
			return true;
	return false;
}

/* The first unit no disk uses, counting up from 0 (step 1) or down from 15 (step -1). */
static int free_unit(const struct uk_guest_spec *s, int step)
{
	for (int u = step > 0 ? 0 : UK_GUEST_DISKS - 1; u >= 0 && u < UK_GUEST_DISKS; u += step)
		if (!unit_used(s, u))
			return u;
	return -1;
}

int uk_guest_modules_unit(const struct uk_guest_spec *s)
{
	return free_unit(s, -1);
}

int uk_guest_spec_add_disk(struct uk_guest_spec *s, const char *arg, struct uk_err *err)
{
	struct uk_guest_disk d = {.unit = -1};
	const char *rest, *comma;
	int r;

	if (s->ndisks >= UK_GUEST_DISKS)
		return uk_err_set(err, E2BIG, "--disk %s: at most %d disks", arg, UK_GUEST_DISKS);
	rest = parse_unit(arg, &d, err, &r);
	if (!rest)
		return r;
	if (d.unit < 0)
		d.unit = free_unit(s, 1);
	for (int i = 0; i < s->ndisks; i++)
		if (s->disks[i].unit == d.unit)
			return uk_err_set(err, EINVAL, "--disk %s: ubd%d is given twice", arg,
					  d.unit);
	comma = strchr(rest, ',');
	if (comma && strchr(comma + 1, ','))
		return uk_err_set(err, EINVAL,
				  "--disk %s: file name contains ',' (expected COW,BACKING or IMG)",
				  arg);
	if ((comma ? (size_t)(comma - rest) : strlen(rest)) >= sizeof(d.file) ||
	    (comma && strlen(comma + 1) >= sizeof(d.backing)))
		return uk_err_set(err, ENAMETOOLONG, "--disk: file name too long");
	if (comma) {
		snprintf(d.file, sizeof(d.file), "%.*s", (int)(comma - rest), rest);
		snprintf(d.backing, sizeof(d.backing), "%s", comma + 1);
		r = check_file_name("--disk", d.backing, err);
		if (r == 0 && strchr(d.flags, 'd'))
			r = uk_err_set(err, EINVAL, "--disk %s: flag 'd' cannot take a COW", arg);
	} else {
		snprintf(d.file, sizeof(d.file), "%s", rest);
		r = 0;
	}
	if (r == 0)
		r = check_file_name("--disk", d.file, err);
	if (r < 0)
		return r;
	s->disks[s->ndisks++] = d;
	return 0;
}

static int check_mac(const char *mac, struct uk_err *err)
{
	uint8_t b[6];

	if (uk_mac_parse(mac, b) < 0)
		return uk_err_set(err, EINVAL,
				  "--net: bad MAC address '%s' (want xx:xx:xx:xx:xx:xx)", mac);
	if (b[0] & 1)
		return uk_err_set(err, EINVAL, "--net: MAC address %s is multicast", mac);
	return 0;
}

static const struct {
	const char *prefix;
	int kind;
} net_kinds[] = {
	{"tap:", UK_NET_TAP},
	{"fd:", UK_NET_FD},
	{"bess:", UK_NET_BESS},
	{"legacy-tuntap:", UK_NET_LEGACY_TUNTAP},
	/* a tap umlkit makes and attaches to a bridge */
	{"bridge:", UK_NET_BRIDGE},
	/* a port on an umlkit switch (a socketpair made at start) */
	{"switch:", UK_NET_SWITCH},
};

/* ,tap=NAME (bridge), ,mac=MAC, ,ip=ADDR (bridge and tap): the host's side of the link and
 * what the guest's firewall policy needs. */
static int parse_net_opts(struct uk_guest_net *n, const char *arg, const char *opt,
			  struct uk_err *err)
{
	while (opt && *opt == ',') {
		const char *v = strchr(opt, '=');
		const char *end = strchr(opt + 1, ',');
		size_t klen = v ? (size_t)(v - opt - 1) : 0;
		size_t vlen = v ? (end ? (size_t)(end - v - 1) : strlen(v + 1)) : 0;
		char val[40];
		int r = 0;

		if (!v || (end && end < v) || vlen == 0 || vlen >= sizeof(val))
			return uk_err_set(err, EINVAL, "--net %s: want ,KEY=VALUE options", arg);
		memcpy(val, v + 1, vlen);
		val[vlen] = '\0';
		if (klen == 3 && !strncmp(opt + 1, "mac", 3)) {
			r = check_mac(val, err);
			if (r == 0)
				memcpy(n->mac, val, vlen + 1); /* 17 characters, checked */
		} else if (klen == 3 && !strncmp(opt + 1, "tap", 3) && n->kind == UK_NET_BRIDGE) {
			if (vlen >= sizeof(n->tap) || strpbrk(val, "/ ,=:"))
				r = uk_err_set(err, EINVAL,
					       "--net %s: '%s' is not an interface name", arg, val);
			else
				memcpy(n->tap, val, vlen + 1);
		} else if (klen == 2 && !strncmp(opt + 1, "ip", 2)) {
			if (vlen >= sizeof(n->ip) || strspn(val, "0123456789.") != vlen)
				r = uk_err_set(err, EINVAL, "--net %s: '%s' is not an IPv4 address",
					       arg, val);
			else
				memcpy(n->ip, val, vlen + 1);
		} else {
			r = uk_err_set(err, EINVAL, "--net %s: unknown option '%.*s' (mac=, ip=%s)",
				       arg, (int)klen, opt + 1,
				       n->kind == UK_NET_BRIDGE ? ", tap=" : "");
		}
		if (r < 0)
			return r;
		opt = end;
	}
	return 0;
}

static uint32_t fnv1a(const char *s, uint32_t h)
{
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

void uk_guest_net_ifname(const struct uk_guest_spec *s, int i, char out[16])
{
	const struct uk_guest_net *n = &s->nets[i];

	if (n->kind == UK_NET_BRIDGE && !n->tap[0])
		snprintf(out, 16, "uk%.10s.%d", s->name, i);
	else
		snprintf(out, 16, "%s", n->kind == UK_NET_BRIDGE ? n->tap : n->target);
}

void uk_guest_net_mac(const struct uk_guest_spec *s, int i, char out[18])
{
	const struct uk_guest_net *n = &s->nets[i];
	char unit[8];
	uint32_t h;

	if (n->mac[0] || !(n->kind == UK_NET_BRIDGE || n->kind == UK_NET_SWITCH ||
			   (n->kind == UK_NET_TAP && (s->fw_allow[0] || s->fw_egress[0])))) {
		snprintf(out, 18, "%s", n->mac);
		return;
	}
	snprintf(unit, sizeof(unit), "/%d", i);
	h = fnv1a(unit, fnv1a(s->name, 2166136261u));
	/* 02: locally administered, unicast; 75:6b is "uk" */
	snprintf(out, 18, "02:75:6b:%02x:%02x:%02x", (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
}

/* ,mac=MAC, ,vlan=N, ,trunk and ,forward=SPEC on a switch link */
static int parse_switch_opts(struct uk_guest_net *n, const char *arg, const char *opt,
			     struct uk_err *err)
{
	while (opt && *opt == ',') {
		const char *end = strchr(opt + 1, ',');
		size_t len = end ? (size_t)(end - opt - 1) : strlen(opt + 1);
		char item[64];
		uint64_t vlan;

		if (len >= sizeof(item))
			return uk_err_set(err, EINVAL, "--net %s: option too long", arg);
		memcpy(item, opt + 1, len);
		item[len] = '\0';
		if (!strncmp(item, "mac=", 4)) {
			if (check_mac(item + 4, err) < 0)
				return -EINVAL;
			memcpy(n->mac, item + 4, 18);
		} else if (!strncmp(item, "vlan=", 5)) {
			if (uk_parse_u64(item + 5, &vlan) < 0 || vlan < 1 || vlan > UK_VLAN_MAX)
				return uk_err_set(err, EINVAL, "--net %s: vlan must be 1..4094",
						  arg);
			n->vlan = (uint16_t)vlan;
		} else if (!strcmp(item, "trunk")) {
			n->trunk = true;
		} else if (!strncmp(item, "forward=", 8)) {
			if (n->nforwards == UK_GUEST_NET_FWDS)
				return uk_err_set(err, E2BIG, "--net %s: at most %d forwards", arg,
						  UK_GUEST_NET_FWDS);
			if (strlen(item + 8) >= sizeof(n->forwards[0]))
				return uk_err_set(err, EINVAL, "--net %s: forward longer than %zu",
						  arg, sizeof(n->forwards[0]) - 1);
			if (uk_switch_guest_forward_check(item + 8, err) < 0)
				return uk_err_prefix(err, -EINVAL, "--net %s: ", arg);
			snprintf(n->forwards[n->nforwards++], sizeof(n->forwards[0]), "%.47s",
				 item + 8);
		} else {
			return uk_err_set(
				err, EINVAL,
				"--net %s: unknown option '%s' (mac=, vlan=, trunk, forward=)", arg,
				item);
		}
		opt = end;
	}
	return 0;
}

int uk_guest_spec_add_net(struct uk_guest_spec *s, const char *arg, struct uk_err *err)
{
	struct uk_guest_net n = {.kind = -1};
	const char *rest = NULL, *opt;
	size_t tlen;
	int r = 0;

	if (s->nnets >= UK_GUEST_NETS)
		return uk_err_set(err, E2BIG, "--net %s: at most %d interfaces", arg,
				  UK_GUEST_NETS);
	for (size_t i = 0; i < UK_ARRAY_SIZE(net_kinds); i++) {
		size_t pl = strlen(net_kinds[i].prefix);

		if (!strncmp(arg, net_kinds[i].prefix, pl)) {
			n.kind = net_kinds[i].kind;
			rest = arg + pl;
		}
	}
	if (n.kind < 0)
		return uk_err_set(err, EINVAL,
				  "--net %s: unknown kind (tap:IF, fd:N, bess:PATH, "
				  "legacy-tuntap:IF, bridge:BR, switch:NAME)",
				  arg);
	opt = strchr(rest, ',');
	tlen = opt ? (size_t)(opt - rest) : strlen(rest);
	if (tlen == 0 || tlen >= sizeof(n.target))
		return uk_err_set(err, EINVAL, "--net %s: missing or too long target", arg);
	memcpy(n.target, rest, tlen);
	n.target[tlen] = '\0';
	if (opt && (n.kind == UK_NET_BRIDGE || n.kind == UK_NET_TAP)) {
		r = parse_net_opts(&n, arg, opt, err);
		if (r < 0)
			return r;
	} else if (opt && n.kind == UK_NET_SWITCH) {
		r = parse_switch_opts(&n, arg, opt, err);
		if (r < 0)
			return r;
	} else if (opt) {
		if (strncmp(opt, ",mac=", 5))
			return uk_err_set(err, EINVAL, "--net %s: unknown option '%s' (only mac=)",
					  arg, opt + 1);
		r = check_mac(opt + 5, err);
		if (r < 0)
			return r;
		snprintf(n.mac, sizeof(n.mac), "%s", opt + 5);
	}
	if ((n.kind == UK_NET_TAP || n.kind == UK_NET_LEGACY_TUNTAP || n.kind == UK_NET_BRIDGE) &&
	    (tlen >= 16 || strpbrk(n.target, "/ ,=:\t\n\r\v\f")))
		return uk_err_set(err, EINVAL, "--net %s: '%s' is not an interface name", arg,
				  n.target);
	if (n.kind == UK_NET_SWITCH) {
		r = uk_switch_name_check(n.target, err);
		if (r < 0)
			return uk_err_prefix(err, r, "--net %s: ", arg);
	}
	if (n.kind == UK_NET_FD) {
		uint64_t fd;

		if (uk_parse_u64(n.target, &fd) < 0 || fd < 3 || fd > 65535)
			return uk_err_set(err, EINVAL, "--net %s: fd must be a number from 3", arg);
	}
	if (n.kind == UK_NET_BESS && (tlen > 107 || strpbrk(n.target, ",=")))
		return uk_err_set(err, EINVAL,
				  "--net %s: socket path must be at most 107 bytes, without ',' "
				  "or '='",
				  arg);
	s->nets[s->nnets++] = n;
	return 0;
}

int uk_guest_spec_set_mem(struct uk_guest_spec *s, const char *arg, struct uk_err *err)
{
	uint64_t v;

	if (uk_parse_size(arg, &v) < 0)
		return uk_err_set(err, EINVAL, "--mem %s: not a size (like 256M or 1G)", arg);
	if (v < (16ULL << 20) || v > (64ULL << 30))
		return uk_err_set(err, EINVAL, "--mem %s: must be from 16M to 64G", arg);
	s->mem = v;
	return 0;
}

/* ---- the command line ---- */
struct argv_buf {
	char *args[UK_GUEST_DISKS + UK_GUEST_NETS + 32 + UK_GUEST_ARG_MAX / 2];
	int n;
	char text[UK_GUEST_ARG_MAX * 4];
	size_t used;
	bool full;
};

static void add(struct argv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct argv_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full || b->n >= (int)UK_ARRAY_SIZE(b->args) - 1) {
		b->full = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(b->text + b->used, sizeof(b->text) - b->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->text) - b->used) {
		b->full = true;
		return;
	}
	b->args[b->n++] = b->text + b->used;
	b->used += (size_t)n + 1;
}

static void add_net(struct argv_buf *b, const struct uk_guest_spec *s, int unit,
		    const struct uk_guest_net *n)
{
	char mac[32] = "", m[18], ifname[16];

	uk_guest_net_mac(s, unit, m);
	if (m[0])
		snprintf(mac, sizeof(mac), ",mac=%s", m);
	switch (n->kind) {
	case UK_NET_TAP:
		add(b, "vec%d:transport=tap,ifname=%s%s", unit, n->target, mac);
		break;
	case UK_NET_FD:
		add(b, "vec%d:transport=fd,fd=%s%s", unit, n->target, mac);
		break;
	case UK_NET_BESS:
		add(b, "vec%d:transport=bess,dst=%s%s", unit, n->target, mac);
		break;
	case UK_NET_LEGACY_TUNTAP:
		add(b, "eth%d=tuntap,%s,%s", unit, n->target, n->mac);
		break;
	case UK_NET_BRIDGE:
		uk_guest_net_ifname(s, unit, ifname);
		add(b, "vec%d:transport=tap,ifname=%s%s", unit, ifname, mac);
		break;
	case UK_NET_SWITCH: /* only in a dry run: a real start makes it an fd first */
		add(b, "vec%d:transport=fd,fd=<%s>%s", unit, n->target, mac);
		break;
	}
}

/*
 * Debian's kernels (6.1 and 7.2) build RAID6_PQ in, for btrfs, with
 * CONFIG_RAID6_PQ_BENCHMARK: at every boot their RAID6 initcall (raid6_select_algo in 6.1,
 * raid6_init in 7.2) times each of its five algorithms for 16 jiffies, 0.85 s of CPU at HZ=100
 * (measured: a boot to init 1.28 s, 0.43 s without it), two thirds of the kernel's own start.
 * Nothing in a guest uses RAID6 but md's raid456 and btrfs raid5/6 profiles, which then have no
 * algorithm chosen, so $UMLKIT_KERNEL_RAID6=bench keeps the benchmark for guests that need them.
 */
static bool skip_raid6_bench(void)
{
	const char *env = getenv("UMLKIT_KERNEL_RAID6");

	return !env || strcmp(env, "bench") != 0;
}

/* Split --append on blanks (no quoting: the kernel's own command line has none either). */
static void add_append(struct argv_buf *b, const char *append)
{
	const char *p = append;

	while (*p) {
		size_t n;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		if (n)
			add(b, "%.*s", (int)n, p);
		p += n;
	}
}

/* The highest unit free after the modules image took its own (the highest). */
int uk_guest_agent_ring_unit(const struct uk_guest_spec *s)
{
	int m = s->modules[0] ? uk_guest_modules_unit(s) : -1;

	for (int u = UK_GUEST_DISKS - 1; u >= 0; u--)
		if (u != m && !unit_used(s, u))
			return u;
	return -1;
}

int uk_guest_argv(const struct uk_guest_spec *s, const struct uk_guest_wiring *w, char ***argv,
		  struct uk_err *err)
{
	struct argv_buf *b = calloc(1, sizeof(*b));
	size_t ptrs, total;
	char **out;

	*argv = NULL;
	if (!b)
		return uk_err_set(err, ENOMEM, "out of memory");
	add(b, "%s", s->kernel);
	add(b, "mem=%lluM", (unsigned long long)(s->mem >> 20));
	add(b, "umid=%s", s->name);
	add(b, "uml_dir=%s", w->uml_dir);
	if (s->seccomp[0])
		add(b, "seccomp=%s", s->seccomp);
	for (int i = 0; i < s->ndisks; i++) {
		const struct uk_guest_disk *d = &s->disks[i];

		if (d->backing[0])
			add(b, "ubd%d%s=%s,%s", d->unit, d->flags, d->file, d->backing);
		else
			add(b, "ubd%d%s=%s", d->unit, d->flags, d->file);
	}
	if (s->modules[0] && uk_guest_modules_unit(s) >= 0)
		add(b, "ubd%dr=%s", uk_guest_modules_unit(s), w->modules ? w->modules : s->modules);
	if (w->agent && w->agent_ring && w->agent_ring_unit >= 0)
		add(b, "ubd%dr=%s", w->agent_ring_unit, w->agent_ring);
	add(b, "root=%s", s->root);
	for (int i = 0; i < s->nnets; i++)
		add_net(b, s, i, &s->nets[i]);
	if (w->notify_sock)
		add(b, "mconsole=notify:%s", w->notify_sock);
	if (w->console_stdio) {
		add(b, "con=null");
		add(b, "con0=fd:0,fd:1");
	}
	add(b, "noreboot");
	if (skip_raid6_bench())
		add(b, "initcall_blacklist=raid6_select_algo,raid6_init");
	if (s->modules[0] && uk_guest_modules_unit(s) >= 0)
		add(b, "umlkit.modules=/dev/ubd%c", 'a' + uk_guest_modules_unit(s));
	if (w->agent) {
		add(b, "ssl1=fd:%d,fd:%d", w->agent_fd, w->agent_fd);
		add(b, "umlkit.agent=/dev/ttyS1");
		if (w->agent_ring && w->agent_ring_unit >= 0)
			add(b, "umlkit.agent_ring=/dev/ubd%c", 'a' + w->agent_ring_unit);
	}
	add_append(b, s->append);
	/* the kernel joins argv[1..] with blanks into a 4096-byte buffer and appends its own
	 * console=tty0; beyond about 4000 bytes it exits at once ("Too many command line
	 * arguments") */
	if (!b->full && b->used - strlen(b->args[0]) - 1 > UK_GUEST_CMDLINE_MAX)
		b->full = true;
	if (b->full) {
		free(b);
		return uk_err_set(err, E2BIG,
				  "kernel command line too long (the kernel takes %d "
				  "bytes)",
				  UK_GUEST_CMDLINE_MAX);
	}
	/* one block: the pointer array, then the strings */
	ptrs = sizeof(char *) * (size_t)(b->n + 1);
	total = ptrs + b->used;
	out = malloc(total);
	if (!out) {
		free(b);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	memcpy((char *)out + ptrs, b->text, b->used);
	for (int i = 0; i < b->n; i++)
		out[i] = (char *)out + ptrs + (b->args[i] - b->text);
	out[b->n] = NULL;
	free(b);
	*argv = out;
	return 0;
}

/* ---- disks ---- */

/* A COW just made for a --user guest becomes the user's (never through a symlink or a
 * hard link someone put in its place); on failure it is removed. */
static int give_cow(const struct uk_guest_spec *s, const char *file, struct uk_err *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st = {0};
	int r = 0;

	if (s->uid < 0)
		return 0;
	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		r = uk_err_sys(err, errno, "%s", file);
	else if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		r = uk_err_set(err, EPERM, "%s: replaced while umlkit made it", file);
	else if (fchown(fd, (uid_t)s->uid, (gid_t)s->gid) < 0)
		r = uk_err_sys(err, errno, "%s: giving it to uid %ld gid %ld", file, s->uid,
			       s->gid);
	if (r < 0 && fd >= 0 && S_ISREG(st.st_mode))
		unlink(file);
	return r;
}

/* Take and drop the locks the kernel will take: the COW (a write lock unless read-only),
 * its backing (a read lock). */
static int check_locks(const struct uk_guest_disk *d, struct uk_err *err)
{
	bool ro = strchr(d->flags, 'r') != NULL;
	_cleanup_close_ int cow = -1, backing = -1;
	int r;

	if (strchr(d->flags, 'c'))
		return 0;
	cow = open(d->file, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (cow < 0)
		return uk_err_sys(err, errno, "disk %s", d->file);
	r = uk_lock_fd(cow, !ro, d->file, err);
	if (r < 0)
		return r;
	backing = open(d->backing, O_RDONLY | O_CLOEXEC);
	if (backing < 0)
		return uk_err_sys(err, errno, "backing image %s", d->backing);
	return uk_lock_fd(backing, false, d->backing, err);
}

static int prepare_cow(const struct uk_guest_spec *s, const struct uk_guest_disk *d,
		       struct uk_err *err)
{
	struct uk_cow_check chk;
	int r;

	if (access(d->file, F_OK) != 0) {
		if (strchr(d->flags, 'r'))
			return uk_err_set(err, ENOENT,
					  "%s: missing, and a read-only disk cannot create it",
					  d->file);
		r = uk_cow_create(d->file, d->backing, false, err);
		return r < 0 ? r : give_cow(s, d->file, err);
	}
	if (uk_cow_check(d->file, 0, &chk) != UK_CHECK_OK)
		return uk_err_set(err, chk.status == UK_CHECK_UNOPENABLE ? EAGAIN : ESTALE, "%s",
				  chk.nproblems ? chk.problems[0] : "COW check failed");
	/* the kernel locks the COW as its disk and the backing for reading: a guest that holds
	 * either would make this one panic at boot */
	return check_locks(d, err);
}

static int prepare_image(const struct uk_guest_disk *d, struct uk_err *err)
{
	bool ro = strchr(d->flags, 'r') != NULL;
	_cleanup_close_ int fd = open(d->file, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	struct uk_cow_check chk;
	uint8_t magic[4];

	if (fd < 0)
		return uk_err_sys(err, errno, "disk %s", d->file);
	if (!strchr(d->flags, 'c')) {
		int r = uk_lock_fd(fd, !ro, d->file, err);

		if (r < 0)
			return r;
	}
	/* a COW given alone: its backing must still match */
	if (!strchr(d->flags, 'd') && uk_pread_full(fd, magic, 4, 0) == 4 &&
	    (uk_get_be32(magic) == UK_COW_MAGIC || uk_get_le32(magic) == UK_COW_MAGIC)) {
		close(TAKE_FD(fd));
		if (uk_cow_check(d->file, 0, &chk) != UK_CHECK_OK)
			return uk_err_set(err, ESTALE, "%s",
					  chk.nproblems ? chk.problems[0] : "COW check failed");
	}
	return 0;
}

int uk_guest_prepare_disks(const struct uk_guest_spec *s, struct uk_err *err)
{
	if (s->ndisks == 0)
		return uk_err_set(err, EINVAL, "no disk given (--disk COW,BACKING or --disk IMG)");
	for (int i = 0; i < s->ndisks; i++) {
		const struct uk_guest_disk *d = &s->disks[i];
		int r;

		if (d->backing[0] && access(d->backing, R_OK) != 0)
			return uk_err_sys(err, errno, "backing image %s", d->backing);
		r = d->backing[0] ? prepare_cow(s, d, err) : prepare_image(d, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One path of the spec made absolute in place (a buffer of len bytes); "" and absolute ones
 * stay. */
static int absolute_in_place(char *path, size_t len, const char *what, struct uk_err *err)
{
	char abs[PATH_MAX];
	int r;

	if (!path[0] || path[0] == '/')
		return 0;
	r = uk_path_absolutize(path, abs, UK_MIN(len, sizeof(abs)), err);
	if (r < 0)
		return uk_err_prefix(err, r, "%s: ", what);
	memcpy(path, abs, strlen(abs) + 1);
	return 0;
}

int uk_guest_spec_absolute(struct uk_guest_spec *s, struct uk_err *err)
{
	int r = absolute_in_place(s->kernel, sizeof(s->kernel), "--kernel", err);

	if (r == 0)
		r = absolute_in_place(s->modules, sizeof(s->modules), "modules image", err);
	for (int i = 0; r == 0 && i < s->ndisks; i++) {
		r = absolute_in_place(s->disks[i].file, sizeof(s->disks[i].file), "--disk", err);
		if (r == 0)
			r = absolute_in_place(s->disks[i].backing, sizeof(s->disks[i].backing),
					      "--disk", err);
	}
	for (int i = 0; r == 0 && i < s->nnets; i++)
		if (s->nets[i].kind == UK_NET_BESS)
			r = absolute_in_place(s->nets[i].target, 108, "--net bess:", err);
	return r;
}
