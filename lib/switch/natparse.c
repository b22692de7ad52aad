// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The NAT uplink's pure parsers (no slirp, no I/O): its network, the forward specs and their
 * text, and its reading of the guests' frames. Unit-tested (tests/unit/test_switch_nat.c) and
 * fuzzed (tests/fuzz/fuzz_switch_control.c, fuzz_switch_frame.c); the DHCP ACKs it reads are
 * lease.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "umlkit/util.h"
#include "nat-internal.h"

#define NAT_SPEC_MAX 96 /* as struct uk_switch_daemon_opts.forwards[] */

/* What keeps a network starting at a (host order) from holding guests, or NULL: "this
 * network" 0/8, loopback 127/8, multicast 224/4, reserved 240/4 (255.255.255.255 too). */
static const char *nat_net_unusable(uint32_t a)
{
	unsigned first = a >> 24;

	if (first == 0)
		return "\"this network\" (0.0.0.0/8)";
	if (first == 127)
		return "loopback (127.0.0.0/8)";
	if (first >= 240)
		return "reserved (240.0.0.0/4)";
	return first >= 224 ? "multicast (224.0.0.0/4)" : NULL;
}

/* "A.B.C.D/N": a network of at least 32 addresses (slirp leases 16 from .15). */
int uk_swd_nat_net_parse(const char *s, struct nat_net *o, struct uk_err *err)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	uint64_t prefix;
	uint32_t a, mask;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return uk_err_set(err, EINVAL, "NAT network '%s': expected A.B.C.D/PREFIX", s);
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (inet_pton(AF_INET, addr, &o->net) != 1)
		return uk_err_set(err, EINVAL, "NAT network '%s': '%s' is not an IPv4 address", s,
				  addr);
	if (uk_parse_u64(slash + 1, &prefix) < 0 || prefix < 8 || prefix > 27)
		return uk_err_set(err, EINVAL,
				  "NAT network '%s': the prefix must be a number from 8 to 27", s);
	a = ntohl(o->net.s_addr);
	mask = ~0u << (32 - prefix);
	if (a & ~mask) {
		struct in_addr n = {htonl(a & mask)};

		inet_ntop(AF_INET, &n, addr, sizeof(addr));
		return uk_err_set(err, EINVAL,
				  "NAT network '%s': host bits are set (did you mean %s/%u?)", s,
				  addr, (unsigned)prefix);
	}
	if (nat_net_unusable(a))
		return uk_err_set(err, EINVAL, "NAT network '%s': %s addresses cannot hold guests",
				  s, nat_net_unusable(a));
	o->prefix = (unsigned)prefix;
	o->mask.s_addr = htonl(mask);
	o->host.s_addr = htonl(a + 2);
	o->dns.s_addr = htonl(a + 3);
	o->dhcp.s_addr = htonl(a + 15);
	return 0;
}

static int fwd_port(const char *spec, const char *what, const char *s, uint16_t *out,
		    struct uk_err *err)
{
	uint64_t v;

	if (uk_parse_u64(s, &v) < 0 || v < 1 || v > 65535)
		return uk_err_set(err, EINVAL,
				  "forward '%s': %s '%s' is not a number from 1 to 65535", spec,
				  what, s);
	*out = (uint16_t)v;
	return 0;
}

static int fwd_addr(const char *spec, const char *what, const char *s, struct in_addr *out,
		    struct uk_err *err)
{
	if (inet_pton(AF_INET, s, out) != 1)
		return uk_err_set(err, EINVAL, "forward '%s': %s '%s' is not an IPv4 address", spec,
				  what, s);
	return 0;
}

/*
 * tcp|udp:[HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT, the host address 127.0.0.1 unless given.
 * NAT_FWD_KEY also takes "tcp|udp:[HOSTADDR:]HOSTPORT" (which forward to remove);
 * NAT_FWD_GUEST is "tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT" (a guest's, to its address).
 */
int uk_swd_nat_forward_parse(const char *spec, int form, struct nat_fwd *f, struct uk_err *err)
{
	static const char full[] = "tcp|udp:[HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT";
	static const char guest[] = "tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT";
	const char *usage = form == NAT_FWD_GUEST ? guest : full;
	int min = form == NAT_FWD_FULL ? 4 : form == NAT_FWD_KEY ? 2 : 3;
	int max = form == NAT_FWD_GUEST ? 4 : 5;
	char buf[NAT_SPEC_MAX];
	char *field[6];
	int n = 0, r, i = 1;
	size_t len = strlen(spec);

	memset(f, 0, sizeof(*f));
	f->owner = -1;
	if (len == 0)
		return uk_err_set(err, EINVAL, "forward: empty; expected %s", usage);
	if (len >= NAT_SPEC_MAX)
		return uk_err_set(err, EINVAL, "forward '%.40s...': longer than %d characters",
				  spec, NAT_SPEC_MAX - 1);
	memcpy(buf, spec, len + 1);
	for (char *p = buf, *c; n < 6; p = c + 1) {
		field[n++] = p;
		c = strchr(p, ':');
		if (!c)
			break;
		*c = '\0';
	}
	if (n < min || n > max)
		return uk_err_set(err, EINVAL, "forward '%s': expected %s%s", spec, usage,
				  form == NAT_FWD_KEY ? " (or tcp|udp:[HOSTADDR:]HOSTPORT)" : "");
	for (int k = 0; k < n; k++)
		if (!field[k][0])
			return uk_err_set(err, EINVAL, "forward '%s': field %d of %d is empty",
					  spec, k + 1, n);
	if (form == NAT_FWD_GUEST && n == 4 && strchr(field[2], '.'))
		return uk_err_set(err, EINVAL,
				  "forward '%s': a guest's forward takes no guest address (it goes "
				  "to the guest's, whatever it is): expected %s",
				  spec, usage);
	if (!strcmp(field[0], "udp"))
		f->udp = true;
	else if (strcmp(field[0], "tcp"))
		return uk_err_set(err, EINVAL, "forward '%s': protocol '%s' is not tcp or udp",
				  spec, field[0]);
	/* a host address: 3 or 5 fields (a guest's forward: 4) */
	if (form == NAT_FWD_GUEST ? n == 4 : n == 3 || n == 5) {
		uint32_t h;

		r = fwd_addr(spec, "host address", field[i++], &f->haddr, err);
		if (r < 0)
			return r;
		h = ntohl(f->haddr.s_addr);
		if ((h >> 28) >= 0xe || (h >> 24 == 0 && h != INADDR_ANY))
			return uk_err_set(
				err, EINVAL,
				"forward '%s': host address %s cannot take connections "
				"(multicast, broadcast or 0.x.x.x; 0.0.0.0 is every address)",
				spec, field[i - 1]);
	} else {
		f->haddr.s_addr = htonl(INADDR_LOOPBACK);
	}
	r = fwd_port(spec, "host port", field[i++], &f->hport, err);
	if (r < 0 || i == n)
		return r;
	f->has_guest = true;
	if (form != NAT_FWD_GUEST)
		r = fwd_addr(spec, "guest address", field[i++], &f->gaddr, err);
	if (r == 0)
		r = fwd_port(spec, "guest port", field[i], &f->gport, err);
	return r;
}

/* "tcp:127.0.0.1:8080:10.0.2.15:80" (the guest part only when it has one; a guest's forward
 * without its address yet: "tcp:127.0.0.1:8080:80") */
void uk_nat_fwd_format(const struct nat_fwd *f, char *out, size_t outlen)
{
	char h[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &f->haddr, h, sizeof(h));
	inet_ntop(AF_INET, &f->gaddr, g, sizeof(g));
	if (f->has_guest && f->owner >= 0 && !f->gaddr.s_addr)
		snprintf(out, outlen, "%s:%s:%u:%u", f->udp ? "udp" : "tcp", h, f->hport, f->gport);
	else if (f->has_guest)
		snprintf(out, outlen, "%s:%s:%u:%s:%u", f->udp ? "udp" : "tcp", h, f->hport, g,
			 f->gport);
	else
		snprintf(out, outlen, "%s:%s:%u", f->udp ? "udp" : "tcp", h, f->hport);
}

/* Whether a frame from a guest may make slirp open a host socket: a TCP SYN (a connection
 * out), a UDP datagram (slirp keeps a socket for each guest address and port; DHCP it
 * serves itself) or an ICMP echo request (a ping socket). A fragment after the first has
 * no ports to look at: UDP and ICMP ones count, as the datagram they end may open one. */
bool uk_swd_nat_opens_socket(const uint8_t *f, size_t len)
{
	size_t l4;

	if (len < UK_ETH_HLEN + 20 || f[12] != 0x08 || f[13] != 0x00 || f[14] >> 4 != 4)
		return false;
	l4 = UK_ETH_HLEN + (size_t)(f[14] & 0x0f) * 4;
	if ((f[20] & 0x1f) || f[21])
		return f[23] == IPPROTO_UDP || f[23] == IPPROTO_ICMP;
	switch (f[23]) {
	case IPPROTO_TCP:
		return len >= l4 + 14 && (f[l4 + 13] & 0x12) == 0x02; /* SYN, no ACK */
	case IPPROTO_UDP:
		return len >= l4 + 4 && !(f[l4 + 2] == 0 && f[l4 + 3] == 67); /* not DHCP */
	case IPPROTO_ICMP:
		return len > l4 && f[l4] == 8;
	}
	return false;
}
