// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A guest's firewall policy: pure parsing, checking and rendering to one nft transaction.
 * No I/O here (fw.c hands the text to libnftables), so all of it is unit-tested and fuzzed.
 *
 * Where the rules live. A guest's tap is either a port of a bridge (the article's setup) or
 * a routed interface of the host. Bridged frames never reach the inet family's hooks under
 * the tap's name: without br_netfilter they skip IP hooks altogether, and with it (Debian
 * 12's kernels load it for Docker; here it is built in) the inet hooks see the *bridge* as
 * iifname/oifname, so no rule there can name the tap. The bridge family does see the port,
 * and it also sees ARP, so the policy of a bridged tap goes in `table bridge umlkit`, hooks
 * forward (guest <-> other ports), input (guest -> the host) and output (host -> guest). The
 * same chains in `table inet umlkit` cover a routed tap, and NAT (inet only) goes there.
 *
 * Replies without conntrack. Connection tracking in the bridge family needs
 * nf_conntrack_bridge (CONFIG_NF_CONNTRACK_BRIDGE), which this kernel lacks ("ct state" in a
 * bridge chain fails with EPROTO). So each guest keeps its own flow set, filled by the rules
 * that accept a new flow (an allowed service inbound, an allowed egress outbound) with the
 * key (guest addr, peer addr, proto, guest port, peer port); a packet either way whose key is
 * in the set is a reply or the rest of an accepted flow. Entries expire after 10 minutes
 * without traffic. This works the same in both families and on any kernel since 5.x.
 *
 * One chain set per guest, named g-NAME/...: base chains with policy accept that only look
 * at the guest's tap, so guests never depend on each other's rules and removing a guest is
 * deleting its objects. Every drop is counted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/net.h"
#include "umlkit/util.h"

void uk_fw_policy_init(struct uk_fw_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->egress = UK_FW_EGRESS_ANY;
}

static int parse_u16(const char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* One item: tcp/80, udp/53, tcp/8000-8080, icmp. */
static int parse_item(const char *s, size_t n, struct uk_fw_port *pt)
{
	const char *slash = memchr(s, '/', n);
	const char *dash;
	size_t pl = slash ? (size_t)(slash - s) : n;

	memset(pt, 0, sizeof(*pt));
	if (pl == 4 && !memcmp(s, "icmp", 4)) {
		pt->proto = UK_FW_ICMP;
		return slash ? -EINVAL : 0;
	}
	if (pl == 3 && !memcmp(s, "tcp", 3))
		pt->proto = UK_FW_TCP;
	else if (pl == 3 && !memcmp(s, "udp", 3))
		pt->proto = UK_FW_UDP;
	else
		return -EINVAL;
	if (!slash)
		return -EINVAL;
	s = slash + 1;
	n -= pl + 1;
	dash = memchr(s, '-', n);
	if (!dash) {
		if (parse_u16(s, n, &pt->lo) < 0)
			return -EINVAL;
		pt->hi = pt->lo;
		return 0;
	}
	if (parse_u16(s, (size_t)(dash - s), &pt->lo) < 0 ||
	    parse_u16(dash + 1, n - (size_t)(dash - s) - 1, &pt->hi) < 0 || pt->hi < pt->lo)
		return -EINVAL;
	return 0;
}

int uk_fw_parse_ports(const char *s, struct uk_fw_port *out, int max, int *n, const char *what,
		      struct uk_err *err)
{
	const char *p = s;

	*n = 0;
	if (!*s)
		return uk_err_set(err, EINVAL, "%s: empty list (want PROTO/PORT,... e.g. tcp/80)",
				  what);
	for (;;) {
		size_t len = strcspn(p, ",");

		if (*n >= max)
			return uk_err_set(err, E2BIG, "%s: more than %d entries", what, max);
		if (parse_item(p, len, &out[*n]) < 0)
			return uk_err_set(err, EINVAL,
					  "%s: '%.*s' is not PROTO/PORT (tcp/80, udp/53, "
					  "tcp/8000-8080, icmp; ports 1-65535)",
					  what, (int)UK_MIN(len, 64), p);
		(*n)++;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static int parse_ip(const char *s, uint8_t ip[4])
{
	unsigned a[4];
	char tail;

	if (strlen(s) > 15 ||
	    sscanf(s, "%3u.%3u.%3u.%3u%c", &a[0], &a[1], &a[2], &a[3], &tail) != 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		if (a[i] > 255)
			return -EINVAL;
		ip[i] = (uint8_t)a[i];
	}
	/* digits only: sscanf would take " 1" or "+1" */
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -EINVAL;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *b = s + 3 * i;

		if (!isxdigit((unsigned char)b[0]) || !isxdigit((unsigned char)b[1]) ||
		    (i < 5 && b[2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)strtoul((char[3]){b[0], b[1], 0}, NULL, 16);
	}
	return 0;
}

int uk_fw_policy_set(struct uk_fw_policy *p, const char *key, const char *v, struct uk_err *err)
{
	if (!strcmp(key, "name")) {
		size_t n = strlen(v);

		if (uk_name_check("guest", v, UK_FW_NAME_MAX, err) < 0)
			return -EINVAL;
		memset(p->name, 0, sizeof(p->name)); /* a setting given twice: the last, whole */
		memcpy(p->name, v, n + 1);
		return 0;
	}
	if (!strcmp(key, "tap")) {
		int r = uk_net_name_check(v, "tap", false, err);

		if (r == 0) {
			memset(p->tap, 0, sizeof(p->tap));
			snprintf(p->tap, sizeof(p->tap), "%s", v);
		}
		return r;
	}
	if (!strcmp(key, "ip")) {
		if (parse_ip(v, p->ip) < 0)
			return uk_err_set(err, EINVAL, "ip '%.40s': not an IPv4 address", v);
		p->has_ip = true;
		return 0;
	}
	if (!strcmp(key, "mac")) {
		if (parse_mac(v, p->mac) < 0)
			return uk_err_set(err, EINVAL, "mac '%.40s': want xx:xx:xx:xx:xx:xx", v);
		if (p->mac[0] & 1)
			return uk_err_set(err, EINVAL, "mac %s is a multicast address", v);
		p->has_mac = true;
		return 0;
	}
	if (!strcmp(key, "allow")) {
		memset(p->allow, 0, sizeof(p->allow));
		return uk_fw_parse_ports(v, p->allow, UK_FW_PORTS_MAX, &p->nallow, "--allow", err);
	}
	if (!strcmp(key, "egress")) {
		p->nout = 0;
		memset(p->out, 0, sizeof(p->out));
		if (!strcmp(v, "any")) {
			p->egress = UK_FW_EGRESS_ANY;
			return 0;
		}
		if (!strcmp(v, "none")) {
			p->egress = UK_FW_EGRESS_NONE;
			return 0;
		}
		p->egress = UK_FW_EGRESS_LIST;
		return uk_fw_parse_ports(v, p->out, UK_FW_PORTS_MAX, &p->nout,
					 "--egress (any, none or PROTO/PORT,...)", err);
	}
	if (!strcmp(key, "nat")) {
		char buf[32];
		char *slash;
		uint16_t pre;

		snprintf(buf, sizeof(buf), "%s", v);
		slash = strchr(buf, '/');
		if (strlen(v) >= sizeof(buf) || !slash)
			return uk_err_set(err, EINVAL, "nat '%.40s': want ADDR/PREFIX", v);
		*slash = '\0';
		if (parse_ip(buf, p->nat_net) < 0 ||
		    parse_u16(slash + 1, strlen(slash + 1), &pre) < 0 || pre < 8 || pre > 32)
			return uk_err_set(err, EINVAL,
					  "nat '%.40s': want ADDR/PREFIX, a prefix from 8 to 32",
					  v);
		p->nat_prefix = pre;
		p->nat = true;
		return 0;
	}
	return uk_err_set(err, EINVAL, "unknown policy setting '%.40s'", key);
}

static uint32_t ip32(const uint8_t b[4])
{
	return uk_get_be32(b);
}

int uk_fw_policy_check(const struct uk_fw_policy *p, struct uk_err *err)
{
	if (!p->name[0])
		return uk_err_set(err, EINVAL, "the policy has no guest name");
	if (!p->tap[0])
		return uk_err_set(err, EINVAL,
				  "policy of %s: no tap (the host's interface of the guest)",
				  p->name);
	if (!p->has_ip)
		return uk_err_set(err, EINVAL,
				  "policy of %s: the guest's IPv4 address is needed (ip=)",
				  p->name);
	if (p->nat) {
		uint32_t mask = p->nat_prefix ? ~0u << (32 - p->nat_prefix) : 0;

		if ((ip32(p->nat_net) & ~mask) != 0)
			return uk_err_set(err, EINVAL,
					  "policy of %s: nat %u.%u.%u.%u/%d has host bits", p->name,
					  p->nat_net[0], p->nat_net[1], p->nat_net[2],
					  p->nat_net[3], p->nat_prefix);
		if ((ip32(p->ip) & mask) != ip32(p->nat_net))
			return uk_err_set(
				err, EINVAL,
				"policy of %s: the guest's address is outside the nat subnet",
				p->name);
	}
	return 0;
}

int uk_fw_policy_parse(const void *buf, size_t len, struct uk_fw_policy *p, struct uk_err *err)
{
	char text[4096];
	char *save = NULL, *w;
	int r;

	uk_fw_policy_init(p);
	if (len >= sizeof(text))
		return uk_err_set(err, E2BIG, "policy text longer than %zu bytes",
				  sizeof(text) - 1);
	memcpy(text, buf, len);
	text[len] = '\0';
	if (strlen(text) != len)
		return uk_err_set(err, EINVAL, "policy text holds a NUL byte");
	for (w = strtok_r(text, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(w, '=');

		if (!eq)
			return uk_err_set(err, EINVAL, "policy: '%.40s' is not key=value", w);
		*eq = '\0';
		r = uk_fw_policy_set(p, w, eq + 1, err);
		if (r < 0)
			return r;
	}
	return uk_fw_policy_check(p, err);
}

static int fmt_ports(char *buf, size_t len, const struct uk_fw_port *v, int n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		int k;

		if (v[i].proto == UK_FW_ICMP)
			k = snprintf(buf + used, len - used, "%sicmp", i ? "," : "");
		else if (v[i].lo == v[i].hi)
			k = snprintf(buf + used, len - used, "%s%s/%u", i ? "," : "",
				     v[i].proto == UK_FW_TCP ? "tcp" : "udp", v[i].lo);
		else
			k = snprintf(buf + used, len - used, "%s%s/%u-%u", i ? "," : "",
				     v[i].proto == UK_FW_TCP ? "tcp" : "udp", v[i].lo, v[i].hi);
		if (k < 0 || (size_t)k >= len - used)
			return -ENOSPC;
		used += (size_t)k;
	}
	return 0;
}

int uk_fw_policy_format(const struct uk_fw_policy *p, char *buf, size_t len)
{
	char allow[UK_FW_PORTS_MAX * 20] = "", out[UK_FW_PORTS_MAX * 20] = "";
	char nat[40] = "", mac[24] = "";
	int n;

	if (fmt_ports(allow, sizeof(allow), p->allow, p->nallow) < 0 ||
	    fmt_ports(out, sizeof(out), p->out, p->nout) < 0)
		return -ENOSPC;
	if (p->has_mac)
		snprintf(mac, sizeof(mac), " mac=%02x:%02x:%02x:%02x:%02x:%02x", p->mac[0],
			 p->mac[1], p->mac[2], p->mac[3], p->mac[4], p->mac[5]);
	if (p->nat)
		snprintf(nat, sizeof(nat), " nat=%u.%u.%u.%u/%d", p->nat_net[0], p->nat_net[1],
			 p->nat_net[2], p->nat_net[3], p->nat_prefix);
	n = snprintf(buf, len, "name=%s tap=%s ip=%u.%u.%u.%u%s%s%s egress=%s%s\n", p->name, p->tap,
		     p->ip[0], p->ip[1], p->ip[2], p->ip[3], mac, p->nallow ? " allow=" : "", allow,
		     p->egress == UK_FW_EGRESS_ANY    ? "any"
		     : p->egress == UK_FW_EGRESS_NONE ? "none"
						      : out,
		     nat);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* ---- rendering ---- */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void put(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->s && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *ns = realloc(b->s, cap);

		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
}

static const char *const families[] = {"bridge", "inet"};
static const char *const base_chains[] = {"fwd", "in", "out", "nat"};
static const char *const reg_chains[] = {"from", "to"};

#define FLOW_OUT "ip saddr . ip daddr . meta l4proto . th sport . th dport"
#define FLOW_IN	 "ip daddr . ip saddr . meta l4proto . th dport . th sport"
#define FLOW_SET                                                                                   \
	"{ type ipv4_addr . ipv4_addr . inet_proto . inet_service . inet_service; flags "          \
	"dynamic,timeout; timeout 10m; size 65536; }"

/* Delete every object of the guest, whether it exists or not: "add" first makes each delete
 * valid, base chains go before the chains they jump to, the set last. */
static void render_remove(struct sbuf *b, const char *name)
{
	for (size_t f = 0; f < UK_ARRAY_SIZE(families); f++) {
		const char *fam = families[f];

		put(b, "add table %s umlkit\n", fam);
		for (size_t c = 0; c < UK_ARRAY_SIZE(base_chains); c++)
			put(b, "add chain %s umlkit g-%s/%s\ndelete chain %s umlkit g-%s/%s\n", fam,
			    name, base_chains[c], fam, name, base_chains[c]);
		for (size_t c = 0; c < UK_ARRAY_SIZE(reg_chains); c++)
			put(b, "add chain %s umlkit g-%s/%s\ndelete chain %s umlkit g-%s/%s\n", fam,
			    name, reg_chains[c], fam, name, reg_chains[c]);
		put(b, "add set %s umlkit g-%s/flows %s\ndelete set %s umlkit g-%s/flows\n", fam,
		    name, FLOW_SET, fam, name);
	}
}

static void port_match(char *m, size_t len, const struct uk_fw_port *pt)
{
	const char *proto = pt->proto == UK_FW_TCP ? "tcp" : "udp";

	if (pt->lo == pt->hi)
		snprintf(m, len, "%s dport %u", proto, pt->lo);
	else
		snprintf(m, len, "%s dport %u-%u", proto, pt->lo, pt->hi);
}

static bool has_icmp(const struct uk_fw_port *v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i].proto == UK_FW_ICMP)
			return true;
	return false;
}

static void render_family(struct sbuf *b, const struct uk_fw_policy *p, const char *fam)
{
	bool bridge = !strcmp(fam, "bridge");
	const char *n = p->name;
	char ip[16], mac[18], m[48];

	snprintf(ip, sizeof(ip), "%u.%u.%u.%u", p->ip[0], p->ip[1], p->ip[2], p->ip[3]);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", p->mac[0], p->mac[1], p->mac[2],
		 p->mac[3], p->mac[4], p->mac[5]);
	put(b, "add set %s umlkit g-%s/flows %s\n", fam, n, FLOW_SET);
	put(b, "add chain %s umlkit g-%s/from\nadd chain %s umlkit g-%s/to\n", fam, n, fam, n);
	put(b,
	    "add chain %s umlkit g-%s/fwd { type filter hook forward priority filter; policy "
	    "accept; }\n",
	    fam, n);
	put(b,
	    "add chain %s umlkit g-%s/in { type filter hook input priority filter; policy "
	    "accept; }\n",
	    fam, n);
	put(b,
	    "add chain %s umlkit g-%s/out { type filter hook output priority filter; policy "
	    "accept; }\n",
	    fam, n);
	put(b, "add rule %s umlkit g-%s/fwd iifname \"%s\" jump g-%s/from\n", fam, n, p->tap, n);
	put(b, "add rule %s umlkit g-%s/fwd oifname \"%s\" jump g-%s/to\n", fam, n, p->tap, n);
	put(b, "add rule %s umlkit g-%s/in iifname \"%s\" jump g-%s/from\n", fam, n, p->tap, n);
	put(b, "add rule %s umlkit g-%s/out oifname \"%s\" jump g-%s/to\n", fam, n, p->tap, n);

	/* from the guest: its own MAC, its own ARP, its own IPv4 address, then egress */
#define FROM "add rule %s umlkit g-%s/from "
	if (p->has_mac)
		put(b, FROM "ether saddr != %s counter drop comment \"spoofed MAC\"\n", fam, n,
		    mac);
	if (bridge) {
		if (p->has_mac)
			put(b, FROM "arp saddr ether != %s counter drop comment \"spoofed ARP\"\n",
			    fam, n, mac);
		put(b, FROM "arp saddr ip != %s counter drop comment \"spoofed ARP\"\n", fam, n,
		    ip);
		put(b, FROM "ether type arp accept\n", fam, n);
		put(b, FROM "ether type != ip counter drop comment \"not IPv4\"\n", fam, n);
	} else {
		put(b, FROM "meta nfproto != ipv4 counter drop comment \"not IPv4\"\n", fam, n);
	}
	put(b, FROM "ip saddr != %s counter drop comment \"spoofed IP\"\n", fam, n, ip);
	put(b,
	    FROM "meta l4proto { tcp, udp } " FLOW_OUT " @g-%s/flows update @g-%s/flows { " FLOW_OUT
		 " } accept\n",
	    fam, n, n, n);
	if (p->egress == UK_FW_EGRESS_ANY) {
		put(b,
		    FROM "meta l4proto { tcp, udp } update @g-%s/flows { " FLOW_OUT " } accept\n",
		    fam, n, n);
		put(b, FROM "accept\n", fam, n);
	}
	for (int i = 0; p->egress == UK_FW_EGRESS_LIST && i < p->nout; i++) {
		if (p->out[i].proto == UK_FW_ICMP)
			continue;
		port_match(m, sizeof(m), &p->out[i]);
		put(b, FROM "%s update @g-%s/flows { " FLOW_OUT " } accept\n", fam, n, m, n);
	}
	if (p->egress == UK_FW_EGRESS_LIST && has_icmp(p->out, p->nout))
		put(b, FROM "icmp type echo-request accept\n", fam, n);
	if (has_icmp(p->allow, p->nallow))
		put(b, FROM "icmp type echo-reply accept\n", fam, n);
	if (p->egress != UK_FW_EGRESS_ANY)
		put(b, FROM "counter drop comment \"egress\"\n", fam, n);
#undef FROM

		/* to the guest: ARP, replies and accepted flows, the allowed services */
#define TO "add rule %s umlkit g-%s/to "
	if (bridge) {
		put(b, TO "ether type arp accept\n", fam, n);
		put(b, TO "ether type != ip counter drop comment \"not IPv4\"\n", fam, n);
	} else {
		put(b, TO "meta nfproto != ipv4 counter drop comment \"not IPv4\"\n", fam, n);
	}
	put(b,
	    TO "meta l4proto { tcp, udp } " FLOW_IN " @g-%s/flows update @g-%s/flows { " FLOW_IN
	       " } accept\n",
	    fam, n, n, n);
	for (int i = 0; i < p->nallow; i++) {
		if (p->allow[i].proto == UK_FW_ICMP)
			continue;
		port_match(m, sizeof(m), &p->allow[i]);
		put(b, TO "ip daddr %s %s update @g-%s/flows { " FLOW_IN " } accept\n", fam, n, ip,
		    m, n);
	}
	if (has_icmp(p->allow, p->nallow))
		put(b, TO "ip daddr %s icmp type echo-request accept\n", fam, n, ip);
	if (p->egress == UK_FW_EGRESS_ANY ||
	    (p->egress == UK_FW_EGRESS_LIST && has_icmp(p->out, p->nout)))
		put(b,
		    TO "icmp type { echo-reply, destination-unreachable, time-exceeded } accept\n",
		    fam, n);
	put(b, TO "counter drop comment \"inbound\"\n", fam, n);
#undef TO

	/* NAT only when asked, only for the guest network's subnet, only out of it */
	if (!bridge && p->nat) {
		char net[24];

		snprintf(net, sizeof(net), "%u.%u.%u.%u/%d", p->nat_net[0], p->nat_net[1],
			 p->nat_net[2], p->nat_net[3], p->nat_prefix);
		put(b,
		    "add chain inet umlkit g-%s/nat { type nat hook postrouting priority srcnat; "
		    "policy accept; }\n",
		    n);
		put(b, "add rule inet umlkit g-%s/nat ip saddr %s ip daddr != %s masquerade\n", n,
		    net, net);
	}
}

int uk_fw_render(const struct uk_fw_policy *p, char **out, struct uk_err *err)
{
	struct sbuf b = {0};
	int r = uk_fw_policy_check(p, err);

	*out = NULL;
	if (r < 0)
		return r;
	put(&b, "# umlkit firewall policy of guest %s on tap %s\n", p->name, p->tap);
	render_remove(&b, p->name);
	for (size_t f = 0; f < UK_ARRAY_SIZE(families); f++)
		render_family(&b, p, families[f]);
	if (b.oom) {
		free(b.s);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	*out = b.s;
	return 0;
}

int uk_fw_render_remove(const char *name, char **out, struct uk_err *err)
{
	struct sbuf b = {0};

	*out = NULL;
	if (name) {
		struct uk_fw_policy p;
		int r = uk_fw_policy_set(&p, "name", name, err);

		if (r < 0)
			return r;
		render_remove(&b, name);
	} else {
		for (size_t f = 0; f < UK_ARRAY_SIZE(families); f++)
			put(&b, "add table %s umlkit\ndelete table %s umlkit\n", families[f],
			    families[f]);
	}
	if (b.oom) {
		free(b.s);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	*out = b.s;
	return 0;
}
