/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The switch's pure parsers of outside input, shared with their fuzz target: the legacy
 * daemon protocol's requests, the NAT uplink's port-forward specs and its reading of the
 * guests' frames, VXLAN's header and addresses. Not public API. */
#ifndef UK_SWPARSE_H
#define UK_SWPARSE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "umlkit/err.h"

#define UK_LEGACY_ADDR_LEN 110 /* sizeof(struct sockaddr_un): family + 108 bytes */

struct legacy_req {
	unsigned version; /* 0, 1 or 3 */
	uint8_t mac[6];	  /* v0, v1 */
	uint8_t addr[UK_LEGACY_ADDR_LEN];
	unsigned addrlen;
};
/* One request read from a legacy control connection. 0, or -EINVAL with why set. */
int uk_swd_legacy_parse(const uint8_t *buf, size_t len, struct legacy_req *r, const char **why);

struct nat_fwd {
	bool udp;
	struct in_addr haddr, gaddr;
	uint16_t hport, gport;
	bool has_guest; /* a key only ("tcp:[HOSTADDR:]HOSTPORT") has none */
	int owner;	/* a guest's forward (NAT_FWD_GUEST): its port on the switch; else -1 */
};
/* The forms of a forward spec. */
enum nat_fwd_form {
	NAT_FWD_FULL = 0, /* tcp|udp:[HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT */
	NAT_FWD_KEY = 1,  /* the same, or tcp|udp:[HOSTADDR:]HOSTPORT (which one to remove) */
	NAT_FWD_GUEST = 2 /* tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT: to a guest's address, whatever
			     it is (has_guest set, gaddr 0) */
};
/* One spec of that form (enum nat_fwd_form); the host address 127.0.0.1 unless given. */
int uk_swd_nat_forward_parse(const char *spec, int form, struct nat_fwd *f, struct uk_err *err);
/* A DHCP ACK (an IPv4 UDP datagram from port 67 to 68, a BOOTREPLY for an Ethernet client
 * with the DHCP cookie and message type 5): the client's hardware address and the address
 * given to it (yiaddr), or -EINVAL for any other frame. */
int uk_swd_dhcp_ack_parse(const uint8_t *f, size_t len, uint8_t mac[6], struct in_addr *yiaddr);
/* Whether a frame a guest sends the NAT may make libslirp open a host socket (a TCP SYN, a
 * UDP datagram other than DHCP, an ICMP echo request, a later UDP or ICMP fragment). */
bool uk_swd_nat_opens_socket(const uint8_t *f, size_t len);

/* ---- VXLAN (RFC 7348; vxlan.c) ---- */
#define UK_VXLAN_HLEN	0x08 /* the header before each frame */
#define UK_VXLAN_FLAG_I 0x08 /* "the VNI is valid": the one flag a header must have */
/* An IPv4 or IPv6 address and UDP port of a VXLAN port's end. */
union uk_vxlan_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};
/* The header for vni (24 bits; higher bits are cut) into h. */
void uk_vxlan_encode(uint8_t h[UK_VXLAN_HLEN], uint32_t vni);
/* The VNI of the datagram buf of len bytes: 0, or -EINVAL when it is shorter than the header
 * or its I flag is clear (malformed). The reserved bits are ignored (RFC 7348, 5). */
int uk_vxlan_decode(const void *buf, size_t len, uint32_t *vni);
/* ADDR, ADDR:PORT, [ADDR6] or [ADDR6]:PORT (port UK_VXLAN_PORT unless given; an address,
 * never a name): 0, or -EINVAL saying why. A remote must be unicast; a local address may be
 * the unspecified one (any). */
int uk_vxlan_addr_parse(const char *s, bool remote, union uk_vxlan_addr *a, struct uk_err *err);
socklen_t uk_vxlan_addr_len(const union uk_vxlan_addr *a);
/* Whether a and b are the same host (family and address; ports aside: a VTEP sends from a
 * port of its choosing, RFC 7348 5). */
bool uk_vxlan_same_host(const union uk_vxlan_addr *a, const union uk_vxlan_addr *b);
/* "1.2.3.4:4789" or "[::1]:4789" */
void uk_vxlan_addr_format(const union uk_vxlan_addr *a, char *out, size_t len);

#endif
