/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host networking: validated interface names, persistent taps (ioctl on /dev/net/tun),
 * bridges (netlink through libnl) and a firewall policy per guest, rendered to nft syntax and
 * applied atomically with libnftables in umlkit's own tables only.
 *
 * Everything here that needs CAP_NET_ADMIN is one of these few operations; none runs a
 * program or a shell. Facts: shared/spec/uml-interfaces.md 4.1, 4.3, 5.5.
 */
#ifndef UMLKIT_NET_H
#define UMLKIT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "umlkit/err.h"

#define UK_IFNAME_MAX 15   /* IFNAMSIZ - 1 */
#define UK_NET_PREFIX "uk" /* names umlkit makes up start with it */

/* ---- names ---- */
/*
 * An interface name: 1..15 characters of [A-Za-z0-9_.-], not "." or "..", not starting with
 * '-' or '.'. what names the argument in the message ("tap", "bridge"). With ours, the name
 * must also carry the project's prefix "uk" (names umlkit chooses itself).
 */
int uk_net_name_check(const char *name, const char *what, bool ours, struct uk_err *err);
bool uk_net_if_exists(const char *name);

/* ---- taps ---- */
struct uk_tap_info {
	char name[UK_IFNAME_MAX + 1];
	long owner;	/* uid, -1 none */
	long group;	/* gid, -1 none */
	unsigned flags; /* IFF_TAP, IFF_TUN, IFF_NO_PI, IFF_PERSIST... as tun_flags says */
};
/* Describe an existing tun/tap device: -ENODEV when there is no such interface, -ENOTTY when
 * the interface is not a tun/tap device. */
int uk_tap_info(const char *name, struct uk_tap_info *ti, struct uk_err *err);
/* Every tun/tap device of this network namespace, sorted by name; free(*list). */
int uk_tap_list(struct uk_tap_info **list, int *n, struct uk_err *err);

struct uk_tap_opts {
	long owner;	       /* uid to own the tap, -1 none */
	long group;	       /* gid, -1 none */
	const char *clone_dev; /* NULL: /dev/net/tun */
	bool refuse_foreign;   /* an existing tap owned by another uid is an error */
	bool compat;	       /* the old tunctl: the kernel's name templates, no checks */
	bool brief_errors;     /* the old tool's messages ("TUNSETIFF: ...") */
};
void uk_tap_opts_init(struct uk_tap_opts *o);
/* Create (or take over, when it exists and refuse_foreign allows) a persistent tap with
 * IFF_TAP|IFF_NO_PI, owned as asked. The kernel's final name goes to out (IFNAMSIZ). */
int uk_tap_add(const char *name, const struct uk_tap_opts *o, char *out, struct uk_err *err);
/* Make a tap non-persistent, which deletes it once no process holds it. */
int uk_tap_del(const char *name, const struct uk_tap_opts *o, char *out, struct uk_err *err);

/* ---- bridges and links (netlink) ---- */
int uk_bridge_add(const char *br, struct uk_err *err);
/* Refuses an interface that is not a bridge. */
int uk_bridge_del(const char *br, struct uk_err *err);
/* Make port a port of bridge br, and bring both up. */
int uk_bridge_attach(const char *br, const char *port, struct uk_err *err);
int uk_net_link_up(const char *name, struct uk_err *err);

/* ---- the firewall policy of a guest (pure) ---- */
enum uk_fw_proto { UK_FW_TCP, UK_FW_UDP, UK_FW_ICMP };
struct uk_fw_port {
	int proto; /* enum uk_fw_proto */
	uint16_t lo, hi;
};
#define UK_FW_PORTS_MAX 32
#define UK_FW_NAME_MAX	63
enum uk_fw_egress { UK_FW_EGRESS_ANY, UK_FW_EGRESS_NONE, UK_FW_EGRESS_LIST };

struct uk_fw_policy {
	char name[UK_FW_NAME_MAX + 1]; /* the guest's name */
	char tap[UK_IFNAME_MAX + 1];   /* the host's interface, never the guest's */
	bool has_ip, has_mac, nat;
	uint8_t ip[4];
	uint8_t mac[6];
	struct uk_fw_port allow[UK_FW_PORTS_MAX];
	int nallow;
	int egress; /* enum uk_fw_egress */
	struct uk_fw_port out[UK_FW_PORTS_MAX];
	int nout;
	uint8_t nat_net[4];
	int nat_prefix;
};
void uk_fw_policy_init(struct uk_fw_policy *p);
/* "tcp/80,tcp/443,udp/53,tcp/8000-8080,icmp" */
int uk_fw_parse_ports(const char *s, struct uk_fw_port *out, int max, int *n, const char *what,
		      struct uk_err *err);
/* One setting: name, tap, ip, mac, allow, egress (any|none|PORTS), nat (ADDR/PREFIX). */
int uk_fw_policy_set(struct uk_fw_policy *p, const char *key, const char *value,
		     struct uk_err *err);
/* "key=value" words separated by blanks or newlines, in any order (what umlkit saves beside a
 * guest): pure, no I/O. Ends with uk_fw_policy_check. */
int uk_fw_policy_parse(const void *buf, size_t len, struct uk_fw_policy *p, struct uk_err *err);
/* The policy is complete: name, tap and ip given, NAT subnet holds the guest. */
int uk_fw_policy_check(const struct uk_fw_policy *p, struct uk_err *err);
/* The policy back as "key=value" words, parseable by uk_fw_policy_parse. */
int uk_fw_policy_format(const struct uk_fw_policy *p, char *buf, size_t len);
/*
 * The nft transaction that replaces the guest's rules by the policy: it first removes
 * whatever the guest had (a no-op when it had nothing), then creates its chains. One buffer:
 * the kernel applies all of it or none. free(*out).
 */
int uk_fw_render(const struct uk_fw_policy *p, char **out, struct uk_err *err);
/* The transaction that removes the guest's rules (name NULL: umlkit's tables). */
int uk_fw_render_remove(const char *name, char **out, struct uk_err *err);

/* ---- the firewall (libnftables) ---- */
int uk_fw_apply(const struct uk_fw_policy *p, struct uk_err *err);
int uk_fw_flush(const char *name, struct uk_err *err);
/* The rules with their counters in nft syntax (name NULL: all of umlkit's); free(*out).
 * -ENOENT when the guest has none. */
int uk_fw_show(const char *name, char **out, struct uk_err *err);

#endif
