/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The switch as cmd/ and the other modules use it: frame checks (pure), a port's
 * configuration, the daemon's options, and the client side of its control protocol. The
 * learning table, the forwarding engine and its pacing are the switch's own business:
 * lib/switch/engine-internal.h.
 *
 * Facts: shared/spec/uml-interfaces.md sections 4 (transports, the daemon protocol), 5.4
 * (uml_switch) and 8 (fd links).
 */
#ifndef UMLKIT_SWITCH_H
#define UMLKIT_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "umlkit/err.h"

#define UK_ETH_HLEN	  14
#define UK_VLAN_HLEN	  4
#define UK_ETH_P_8021Q	  0x8100
#define UK_ETH_P_8021AD	  0x88a8 /* an 802.1ad service tag */
#define UK_SW_MTU_DEFAULT 1500
#define UK_SW_MTU_MAX	  65500
#define UK_SW_MAX_PORTS	  512
#define UK_VLAN_NONE	  0 /* untagged */
#define UK_VLAN_MAX	  4094

/* ---- frames (pure) ---- */
struct uk_frame_info {
	const uint8_t *dst, *src;
	uint16_t vlan;	    /* 802.1Q VID, UK_VLAN_NONE when untagged or priority-tagged */
	bool tagged;	    /* an 802.1Q header follows the addresses (also with VID 0) */
	uint16_t ethertype; /* after the tag, if any */
	bool broadcast;	    /* ff:ff:ff:ff:ff:ff */
	bool multicast;	    /* group bit set (broadcast included) */
};
/*
 * Check one frame of len bytes: at least 14 bytes (-EINVAL), at most mtu + 14 + 4
 * (-EMSGSIZE: the VLAN tag may come on top of a full MTU), a source that is not a group
 * address (-EINVAL), a VID of 4095 (-EINVAL). Fills fi.
 */
int uk_frame_parse(const void *frame, size_t len, unsigned mtu, struct uk_frame_info *fi);

/* ---- ports ---- */
enum uk_port_kind {
	UK_PORT_FD,	/* a datagram/seqpacket fd handed over by a launcher (one frame each) */
	UK_PORT_BESS,	/* a connection on the switch's SEQPACKET listening socket */
	UK_PORT_DAEMON, /* a legacy daemon-protocol guest: a datagram socket of its own, or an
			   address on the shared data socket */
	UK_PORT_TAP,	/* an uplink to a host tap */
	UK_PORT_NAT,	/* the user-mode NAT uplink */
	UK_PORT_LINK,	/* one end of a link to another switch (uk_switch_link) */
	UK_PORT_PLUG,	/* a plug: frames relayed from and to a byte stream (uk_switch_plug) */
	UK_PORT_VXLAN,	/* frames in UDP to and from VXLAN tunnel endpoints (uk_switch_vxlan) */
};

struct uk_port_conf {
	int kind;	/* enum uk_port_kind */
	char peer[128]; /* who is on the other end, for `ports` */
	uint16_t vlan;	/* access VLAN (1..4094), or the native VLAN of a trunk; 0 means 1 */
	bool trunk;	/* carry every VLAN tagged (the native one untagged) */
	char guest[64]; /* a guest's link: the guest's name ("" none), for `ports` and leases */
	int net;	/* ... and which of its --net links (vecN) */
};

/* ---- the switch daemon ---- */
/* $XDG_RUNTIME_DIR/umlkit/switches/NAME (or ~/.umlkit/run/switches/NAME): ctl (the control
 * socket), pid, lock, and the sockets of its ports (bess, legacy daemon). */
int uk_switch_dir(const char *name, char *out, size_t outlen, struct uk_err *err);
int uk_switch_name_check(const char *name, struct uk_err *err);

/* the daemon's longest pause while loaded (--coalesce). With 16 guests in pairs on 2 cores,
 * 10 ms took a quarter less of the switch's CPU than 4 ms (2.8 s against 3.7-4.0 s for 20 MiB
 * a pair) and moved as much as uml_switch or more in each of 4 rounds, where 4 ms fell short
 * in 3 of 3 */
#define UK_SW_COALESCE_US  10000
#define UK_SW_COALESCE_MAX 20000

#define UK_SW_MAX_FORWARDS 64
struct uk_switch_daemon_opts {
	char name[64];
	unsigned mtu;
	bool hub;
	int group;	      /* -1: the control socket is 0600; else 0660 and this group */
	char bess[108];	      /* a SEQPACKET listening socket for bess guests ("" none) */
	char legacy_ctl[108]; /* a legacy daemon-protocol control socket ("" none) */
	char tap[16];	      /* a host tap as uplink ("" none) */
	uint16_t tap_vlan;    /* 1..4094: the tap carries VLAN tap_vlan tagged; 0: untagged */
	bool nat;	      /* the user-mode NAT uplink */
	char nat_net[32];     /* "10.0.2.0/24" unless given */
	char forwards[UK_SW_MAX_FORWARDS][96]; /* tcp:[HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT */
	int nforwards;
	int ready_fd; /* written "ready\n" or "failed MSG\n" once set up; -1 none */
	bool verbose;
	/* interrupt moderation: the pause after each round while loaded, in microseconds
	 * (0: never pause); UK_SW_COALESCE_US unless told otherwise */
	int coalesce_us;
};
/* Run a switch in this process until SIGTERM/SIGINT or a stop request; removes its
 * sockets on the way out. */
int uk_switch_daemon_run(const struct uk_switch_daemon_opts *o, struct uk_err *err);
/* How long uk_switch_daemon_start waits for a new switch to say it is ready. */
#define UK_SW_START_TIMEOUT_S 30
/*
 * Run a switch as a daemon (uk_daemon_start: its own session, cwd "/", umask 022, nothing of
 * the caller's open): 0 once it is ready (*pid: its pid), or its failure (EBUSY when one of
 * that name runs) or -ETIMEDOUT. o->bess and o->legacy_ctl must be absolute (EINVAL).
 */
int uk_switch_daemon_start(const struct uk_switch_daemon_opts *o, pid_t *pid, struct uk_err *err);

/* ---- talking to a running switch ---- */
/* One request (a JSON object as text) with an optional fd passed along; the reply text
 * (heap, free it) is a JSON object with "ok" and either results or "error". */
int uk_switch_request(const char *name, const char *req, int pass_fd, char **reply,
		      struct uk_err *err);
/* The same, when the reply must be {"ok":true}: 0 and the parsed reply in *reply (a new
 * reference; NULL: not wanted), or a negative errno with err set; a refusal is EPROTO,
 * "switch 'NAME': ERROR", and so is a reply that is not a JSON object. */
struct json_t; /* jansson's json_t */
int uk_switch_ask(const char *name, const char *req, int pass_fd, struct json_t **reply,
		  struct uk_err *err);
/* Give fd (one end of a SEQPACKET socketpair) to switch name as a port; returns the port. */
int uk_switch_attach_fd(const char *name, int fd, const struct uk_port_conf *c, struct uk_err *err);
/*
 * What a guest's port brings besides its conf (uk_switch_attach_guest): the MAC the guest was
 * given and its static address (empty: none; its DHCP lease is learned), and the forwards
 * that follow its address, each tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT (the switch's NAT adds
 * each once the address is known and removes it with the port; refused on a switch without
 * NAT, or when the host port is taken).
 */
#define UK_SW_GUEST_FWDS 8
struct uk_switch_guest_link {
	char mac[18];
	char addr[16];
	char forwards[UK_SW_GUEST_FWDS][48];
	int nforwards;
};
/* uk_switch_attach_fd with a guest's link (g may be NULL). */
int uk_switch_attach_guest(const char *name, int fd, const struct uk_port_conf *c,
			   const struct uk_switch_guest_link *g, struct uk_err *err);
/* A guest's forward spec, tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT: 0, or -EINVAL saying why. */
int uk_switch_guest_forward_check(const char *spec, struct uk_err *err);
/* Link running switches a and b: a SEQPACKET socketpair whose ends become a "link" port of
 * each (peer "switch b" on a, "switch a" on b), a trunk of every VLAN when vlan is 0, else an
 * access link of that VLAN. Refused (ELOOP) when a and b are joined already, directly or
 * through other links: a loop. Returns 0 and the ports on a and b. */
int uk_switch_link(const char *a, const char *b, uint16_t vlan, int ports[2], struct uk_err *err);
/* Remove the link ports between a and b from both; ENOENT when there are none. */
int uk_switch_unlink(const char *a, const char *b, struct uk_err *err);
/* Plug into switch name: a port (conf's peer, VLAN and trunk; kind "plug") whose frames this
 * call relays to out and takes from in, each behind its length in two bytes, big-endian (the
 * stream of VDE's vde_plug). Returns 0 when in ends, or a negative errno (EPIPE: the switch
 * closed the port; EPROTO: in ended inside a frame). */
int uk_switch_plug(const char *name, const struct uk_port_conf *conf, int in, int out,
		   struct uk_err *err);
/*
 * A VXLAN port (RFC 7348): the switch's frames to and from other VXLAN tunnel endpoints
 * (another umlkit switch, a Linux vxlan device, Open vSwitch, a physical VTEP) in UDP
 * datagrams behind an 8-byte header that carries the VNI. Unicast peers only: a frame to
 * flood goes to each remote (head-end replication), a frame for a MAC learned from one remote
 * to that remote only. What comes from another address, with another VNI or a malformed
 * header is dropped and counted.
 */
#define UK_VXLAN_PORT	     4789 /* IANA's */
#define UK_VXLAN_VNI_MAX     0xffffff
#define UK_VXLAN_MAX_REMOTES 16
struct uk_switch_vxlan {
	uint32_t vni;
	char local[64]; /* ADDR[:PORT] of the UDP socket; "" the any address, UK_VXLAN_PORT */
	char remotes[UK_VXLAN_MAX_REMOTES][64]; /* ADDR[:PORT], unicast, of one family */
	int nremotes;
	uint16_t vlan; /* the port's access VLAN, or its native VLAN when trunk; 0 means 1 */
	bool trunk;
};
/* Check v (VNI, addresses, remotes of the local address's family, none twice): 0 or -EINVAL
 * saying why. */
int uk_switch_vxlan_check(const struct uk_switch_vxlan *v, struct uk_err *err);
/* Add a VXLAN port to switch name: a UDP socket bound in this process's network namespace to
 * v->local, handed to the switch. Returns the port, or a negative errno (EADDRINUSE: the local
 * address and port are taken, by another VXLAN port or anything else). */
int uk_switch_vxlan(const char *name, const struct uk_switch_vxlan *v, struct uk_err *err);
/* Remove switch name's VXLAN ports (of VNI vni only, when vni >= 0): how many, or a negative
 * errno (ENOENT: none). */
int uk_switch_unvxlan(const char *name, long vni, struct uk_err *err);
/* The pid of the running switch, or 0. */
pid_t uk_switch_pid(const char *name);
/* Names of every switch with a runtime directory; free each and the array. */
int uk_switch_list(char ***names, int *count, struct uk_err *err);

#endif
