// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VXLAN (RFC 7348), the pure part: the 8-byte header in front of each frame in a UDP
 * datagram, and the addresses of a VXLAN port's ends (ADDR[:PORT], IPv4 or IPv6 in
 * brackets). No I/O.
 *
 * The header: byte 0 the flags, of which only I (0x08, "the VNI is valid") means anything;
 * bytes 1-3 reserved; bytes 4-6 the VNI, big-endian; byte 7 reserved. The reserved bits are
 * sent as zero and ignored on receipt, as the RFC says; a header without I is malformed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "swparse.h"

#define VNI_OFF 4

void uk_vxlan_encode(uint8_t h[UK_VXLAN_HLEN], uint32_t vni)
{
	memset(h, 0, UK_VXLAN_HLEN);
	h[0] = UK_VXLAN_FLAG_I;
	h[VNI_OFF] = (uint8_t)(vni >> 16);
	h[VNI_OFF + 1] = (uint8_t)(vni >> 8);
	h[VNI_OFF + 2] = (uint8_t)vni;
}

int uk_vxlan_decode(const void *buf, size_t len, uint32_t *vni)
{
	const uint8_t *h = buf;

	if (len < UK_VXLAN_HLEN || !(h[0] & UK_VXLAN_FLAG_I))
		return -EINVAL;
	*vni = (uint32_t)h[VNI_OFF] << 16 | (uint32_t)h[VNI_OFF + 1] << 8 | h[VNI_OFF + 2];
	return 0;
}

/* Split "ADDR", "ADDR:PORT", "[ADDR6]" or "[ADDR6]:PORT" (an IPv6 address without brackets
 * has no port) into host (in a buffer of hlen bytes) and port (NULL: none). */
static int split_host_port(const char *s, char *host, size_t hlen, const char **port)
{
	const char *colon = strchr(s, ':'), *end;
	size_t n;

	*port = NULL;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		n = (size_t)(end - s - 1);
		s++;
		*port = end[1] ? end + 2 : NULL;
	} else if (colon && !strchr(colon + 1, ':')) {
		n = (size_t)(colon - s);
		*port = colon + 1;
	} else {
		n = strlen(s);
	}
	if (n == 0 || n >= hlen)
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

static int parse_port(const char *p, uint16_t *port)
{
	uint64_t n;

	if (uk_parse_u64(p, &n) < 0 || n == 0 || n > 65535)
		return -EINVAL;
	*port = (uint16_t)n;
	return 0;
}

/* Whether a is unicast: not unspecified, multicast or broadcast. */
static bool unicast(const union uk_vxlan_addr *a)
{
	if (a->sa.sa_family == AF_INET) {
		uint32_t v = ntohl(a->in.sin_addr.s_addr);

		return v != 0 && v != 0xffffffff && (v >> 28) != 0xe;
	}
	return !IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr) &&
	       !IN6_IS_ADDR_MULTICAST(&a->in6.sin6_addr);
}

int uk_vxlan_addr_parse(const char *s, bool remote, union uk_vxlan_addr *a, struct uk_err *err)
{
	const char *what = remote ? "remote" : "local address";
	char host[INET6_ADDRSTRLEN + 1];
	const char *port;
	uint16_t pn = UK_VXLAN_PORT;

	memset(a, 0, sizeof(*a));
	if (split_host_port(s, host, sizeof(host), &port) < 0)
		return uk_err_set(err, EINVAL, "%s '%.80s': not ADDR, ADDR:PORT or [ADDR6]:PORT",
				  what, s);
	if (port && parse_port(port, &pn) < 0)
		return uk_err_set(err, EINVAL, "%s '%.80s': port '%.16s' is not 1..65535", what, s,
				  port);
	if (inet_pton(AF_INET, host, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons(pn);
	} else if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(pn);
	} else {
		return uk_err_set(err, EINVAL,
				  "%s '%.80s': '%s' is not an IPv4 or IPv6 address (no names: "
				  "give the address)",
				  what, s, host);
	}
	if (remote && !unicast(a))
		return uk_err_set(err, EINVAL,
				  "remote '%.80s': not a unicast address (VXLAN ports replicate "
				  "floods to each remote; there is no multicast)",
				  s);
	return 0;
}

socklen_t uk_vxlan_addr_len(const union uk_vxlan_addr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

bool uk_vxlan_same_host(const union uk_vxlan_addr *a, const union uk_vxlan_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(a->in6.sin6_addr));
}

void uk_vxlan_addr_format(const union uk_vxlan_addr *a, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	bool v6 = a->sa.sa_family == AF_INET6;

	if (!inet_ntop(a->sa.sa_family,
		       v6 ? (const void *)&a->in6.sin6_addr : (const void *)&a->in.sin_addr, host,
		       sizeof(host)))
		snprintf(host, sizeof(host), "?");
	snprintf(out, len, v6 ? "[%s]:%u" : "%s:%u", host,
		 ntohs(v6 ? a->in6.sin6_port : a->in.sin_port));
}
