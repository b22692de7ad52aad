/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside the switch: the MAC learning table, the forwarding engine and its ports, and the
 * pacing the daemon runs it with (pacing.c). For lib/switch and the switch's own unit and fuzz
 * tests and benchmarks, which include it by its relative path; not public API
 * (include/umlkit/switch.h is).
 */
#ifndef UK_SWITCH_ENGINE_INTERNAL_H
#define UK_SWITCH_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "umlkit/err.h"
#include "umlkit/switch.h"
#include "swparse.h"

#define UK_SW_AGING_S 300 /* as 802.1D */

/* ---- the MAC learning table (pure: the caller gives the time) ---- */
struct uk_fdb;
struct uk_fdb_entry {
	uint8_t mac[6];
	uint16_t vlan;
	int port;
	int via; /* on a VXLAN port: the remote it came from (its index); else -1 */
	uint64_t seen_ms;
};
/* capacity: entries (rounded up to a power of two); aging_ms: 0 never ages. NULL: ENOMEM. */
struct uk_fdb *uk_fdb_new(unsigned capacity, uint64_t aging_ms);
void uk_fdb_free(struct uk_fdb *t);
/*
 * Learn that mac (in vlan) was seen on port at now_ms. Returns 0 (new or refreshed),
 * 1 (moved from another port), or -ENOSPC when the table is full (the oldest entry of the
 * probe sequence is then replaced, so it still learns; -ENOSPC only counts it).
 */
int uk_fdb_learn(struct uk_fdb *t, const uint8_t mac[6], uint16_t vlan, int port, uint64_t now_ms);
/* The same, with the remote of a VXLAN port it came through (via; -1: none). A move between
 * two remotes of one port is a move too. */
int uk_fdb_learn_via(struct uk_fdb *t, const uint8_t mac[6], uint16_t vlan, int port, int via,
		     uint64_t now_ms);
/* The port mac (in vlan) was last seen on, or -1 when unknown or aged out. */
int uk_fdb_lookup(const struct uk_fdb *t, const uint8_t mac[6], uint16_t vlan, uint64_t now_ms);
/* The same, and the remote it came through into *via (-1: none, or unknown). */
int uk_fdb_lookup_via(const struct uk_fdb *t, const uint8_t mac[6], uint16_t vlan, uint64_t now_ms,
		      int *via);
/* Forget every entry of a port (it went away). */
void uk_fdb_forget_port(struct uk_fdb *t, int port);
/* Drop entries older than the aging time. Returns how many were dropped. */
unsigned uk_fdb_age(struct uk_fdb *t, uint64_t now_ms);
/* Every live entry, in no particular order; cb returning non-zero stops the walk. */
int uk_fdb_foreach(const struct uk_fdb *t, uint64_t now_ms,
		   int (*cb)(void *ctx, const struct uk_fdb_entry *e), void *ctx);
unsigned uk_fdb_count(const struct uk_fdb *t, uint64_t now_ms);

/* ---- the forwarding engine ---- */
#define UK_SW_BATCH	    32 /* frames per recvmmsg/sendmmsg */
#define UK_SW_DRAIN_BATCHES 4  /* batches taken from one readable port before the next poll */
#define UK_SW_SNDBUF	    (1 << 20) /* a socket port's send buffer, where allowed */
/* frames a legacy guest's own socket may hold back for it while the guest's 10-datagram
 * queue is full (uk_switch_port_writable) */
#define UK_SW_BACKLOG 128

const char *uk_port_kind_name(int kind);

struct uk_port_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_drops; /* malformed, too long, wrong VLAN */
	uint64_t tx_drops; /* the peer was slow (its queue full) or gone */
	uint64_t held;	   /* frames held back now for a legacy guest (UK_SW_BACKLOG) */
};

struct uk_switch;
struct uk_switch_opts {
	unsigned mtu;	   /* 0: 1500 */
	bool hub;	   /* flood everything, learn nothing */
	uint64_t aging_ms; /* 0: 300 s */
	unsigned fdb_size; /* slots of the learning table; 0: 8192 */
	/* a port's peer is gone (its socket reported an error or EOF): the owner removes it,
	 * after the engine's call that told it returns (never from inside the callback) */
	void (*port_dead)(void *ctx, int port);
	/* a legacy guest's own socket refused frames and holds them back (blocked), or has sent
	 * them all (not): while blocked, the owner calls uk_switch_port_writable when the
	 * port's socket is writable (may be called from inside any engine call; NULL: never) */
	void (*port_blocked)(void *ctx, int port, bool blocked);
	void *ctx;
};
struct uk_switch *uk_switch_new(const struct uk_switch_opts *o, struct uk_err *err);
void uk_switch_free(struct uk_switch *sw);

/*
 * A port over a socket that carries one frame per packet (fd, bess, and a legacy guest's
 * own datagram socket, connected to the guest's): the engine owns fd from here on (closes it
 * on removal). For a UK_PORT_DAEMON port with addr, fd is instead the shared legacy data
 * socket (not owned) and addr/addrlen the guest's address, which the engine sends to and
 * knows the guest's frames by. Returns the port id or -errno.
 */
int uk_switch_add_socket_port(struct uk_switch *sw, int fd, const struct uk_port_conf *c,
			      const void *addr, unsigned addrlen, struct uk_err *err);
/* A port whose frames leave through a callback (tap, nat); frames come in through
 * uk_switch_input(). */
int uk_switch_add_callback_port(struct uk_switch *sw, const struct uk_port_conf *c,
				int (*send)(void *priv, const void *frame, size_t len), void *priv,
				struct uk_err *err);
void uk_switch_remove_port(struct uk_switch *sw, int port);
/* The fd to poll for a socket port that owns its socket (-1 for others). */
int uk_switch_port_fd(const struct uk_switch *sw, int port);
/* The socket a port's frames come in on, owned or shared (-1 for callback ports). */
int uk_switch_port_socket(const struct uk_switch *sw, int port);

/* The port's socket is readable: receive a batch and forward it. */
void uk_switch_port_readable(struct uk_switch *sw, int port);
/* The port's socket has room again: send the frames it held back (see port_blocked). */
void uk_switch_port_writable(struct uk_switch *sw, int port);
/* Frames on the shared legacy data socket from an address no guest registered: dropped,
 * counted. */
uint64_t uk_switch_stray_frames(const struct uk_switch *sw);
/* Every frame received so far (the daemon's load estimate). */
uint64_t uk_switch_frames_in(const struct uk_switch *sw);

/* The shared legacy data socket is readable: receive a batch, find each sender's port. */
void uk_switch_daemon_readable(struct uk_switch *sw, int data_fd);
/* One frame from a callback port (tap, nat), forwarded at once. A callback port's send()
 * must not call this (queue the frame and feed it in later): such a frame is dropped. */
void uk_switch_input(struct uk_switch *sw, int port, const void *frame, size_t len);
/* Age the learning table (call every few seconds). */
void uk_switch_tick(struct uk_switch *sw);

/* ---- VXLAN ports (RFC 7348) ---- */
struct uk_vxlan_conf {
	uint32_t vni;
	union uk_vxlan_addr local; /* what the socket is bound to, for `ports` */
	union uk_vxlan_addr remotes[UK_VXLAN_MAX_REMOTES];
	int nremotes;
};
struct uk_vxlan_stats {
	uint64_t bad_header; /* shorter than the header, or its I flag clear */
	uint64_t wrong_vni;  /* from a remote, with another VNI */
	uint64_t strangers;  /* from an address that is no remote of the port */
	uint64_t rx_frames[UK_VXLAN_MAX_REMOTES], tx_frames[UK_VXLAN_MAX_REMOTES];
	uint64_t tx_errors[UK_VXLAN_MAX_REMOTES]; /* sends refused (unreachable, full) */
};
/*
 * A port whose frames travel in UDP datagrams behind a VXLAN header, over fd (a UDP socket,
 * bound; the engine owns it from here on). Frames come from the remotes only (matched by
 * address, whatever their source port), with vx->vni; each frame's source MAC is learned with
 * the remote it came from, and a frame for it goes to that remote only; a frame to flood goes
 * to every remote. A send error never removes the port: it is counted, per remote.
 */
int uk_switch_add_vxlan_port(struct uk_switch *sw, int fd, const struct uk_port_conf *c,
			     const struct uk_vxlan_conf *vx, struct uk_err *err);
/* A VXLAN port's conf and counters: 0, or -ENOENT when id is no VXLAN port. */
int uk_switch_vxlan_info(const struct uk_switch *sw, int id, struct uk_vxlan_conf *vx,
			 struct uk_vxlan_stats *st);

/* Reports */
int uk_switch_port_info(const struct uk_switch *sw, int port, struct uk_port_conf *c,
			struct uk_port_stats *st);
/* Every port id in use, ascending, into ids (up to max); returns the count. */
int uk_switch_ports(const struct uk_switch *sw, int *ids, int max);
const struct uk_fdb *uk_switch_fdb(const struct uk_switch *sw);
uint64_t uk_switch_now_ms(void);

/* Captures: every frame a port receives (port -1: every port) is written to fd in pcap
 * format (the header first). One capture at a time; fd is owned by the switch. */
int uk_switch_capture_start(struct uk_switch *sw, int port, int fd, struct uk_err *err);
void uk_switch_capture_stop(struct uk_switch *sw);
/* The records lost because the capture's reader (a pipe) was full: the switch never waits
 * for it. */
uint64_t uk_switch_capture_drops(const struct uk_switch *sw);
/* The live addresses the learning table forgot because it was full (each new one then takes
 * the oldest entry of its probe sequence): a count that grows means fdb_size is too small. */
uint64_t uk_switch_fdb_evicted(const struct uk_switch *sw);

/* ---- pacing (pacing.c, whose glossary says what these words mean) ---- */
#define UK_SW_LOAD_WINDOW_US 4000 /* the daemon measures the frame rate over windows this long */
#define UK_SW_LOADED_RATE    1	  /* frames per millisecond: loaded at this rate or more */
#define UK_SW_PAUSE_FRAMES   16	  /* a pause lasts as long as this many frames take to come */
/* the same with legacy daemon ports: a legacy guest's datagram socket is not connected to
 * ours, so it queues at most net.unix.max_dgram_qlen (10 by default) of the frames we send
 * it; a pause that gathers more for it makes us drop them (measured with two guests and
 * 100 MiB of TCP: 6 frames moved as much as 3 for a third less CPU a frame, 8 lost a third
 * of the throughput) */
#define UK_SW_PAUSE_FRAMES_DGRAM 6
/* ... and while a guest sends to the shared legacy socket, whose 10 datagrams of queue take
 * every such guest's frames together */
#define UK_SW_PAUSE_FRAMES_SHARED 3
#define UK_SW_PAUSE_GAIN	  2 /* frames a pause must gather on average to be worth it */
#define UK_SW_PAUSE_BACKOFF	  8 /* windows without pauses after pauses that were not */
/* ... twice as many after each such try in a row, up to 2^3 times: 64 windows, 512 ms */
#define UK_SW_PAUSE_DOUBLINGS 3
/* inputs that together bring at most 1/UK_SW_QUIET_SHARE of the frames are not paused */
#define UK_SW_QUIET_SHARE 8
/*
 * Adaptive interrupt moderation, as network cards do it: each round of forwarding costs the
 * daemon a wakeup and a few system calls however few frames it finds, so under a sustained
 * load it pauses after each round and the next round finds several frames. uk_switch_pause
 * is asked after every round with the time and uk_switch_frames_in, and returns the pause in
 * microseconds. It measures the frame rate over windows of UK_SW_LOAD_WINDOW_US (at least
 * twice max_us). While the last window's rate was UK_SW_LOADED_RATE frames per millisecond or
 * more, the pause is the time that rate takes to bring pause_frames frames, at most
 * max_us (--coalesce); otherwise, and always when max_us is 0, it is 0. Idle or light traffic
 * (a ping, a request now and then) never waits, and the first frame after a quiet spell is
 * forwarded at once, since a pause only ever follows a round. Traffic that waits for its own
 * answers (request and response, one at a time) brings nothing new during a pause: where the
 * rounds after the pauses of a window found fewer than UK_SW_PAUSE_GAIN frames on average,
 * the next UK_SW_PAUSE_BACKOFF windows have no pause, twice as many after each such window
 * in a row (up to UK_SW_PAUSE_DOUBLINGS times), until pauses pay again: a try costs the
 * traffic a late frame, so request and response at a steady rate are tried ever more rarely.
 */
struct uk_switch_load {
	uint32_t pause_frames; /* set by the caller: frames a pause may gather (0: the default,
				  UK_SW_PAUSE_FRAMES); uk_switch_pause_frames tells a switch's */
	uint64_t window_start, window_frames, last_frames;
	uint32_t pause_us;		       /* the current pause; 0: none */
	uint32_t paused_rounds, paused_frames; /* this window: rounds after a pause, their frames */
	uint32_t backoff;		       /* windows left without a pause */
	uint32_t futile_tries;		       /* futile windows of pauses in a row (capped) */
	bool paused;			       /* the last answer was a pause */
};
uint32_t uk_switch_pause(struct uk_switch_load *l, uint64_t now_us, uint64_t frames_in,
			 uint32_t max_us);
/*
 * Which inputs a pause leaves waiting. A pause saves wakeups only on the inputs that bring
 * the load; an input that sends now and then (a ping beside a transfer) need not wait for
 * it. Given each input's frames in the last window (count[0..n-1]), the window's length and
 * every frame the switch received in it (total), quiet[i] is set for the inputs whose frames
 * are forwarded at once: those that sent nothing, and the slowest of those below
 * UK_SW_LOADED_RATE frames per millisecond, as many as together sent at most
 * total / UK_SW_QUIET_SHARE frames. The others bring the load (brings[i], unless brings is
 * NULL). An input whose frames went mostly to ports that brought the load in the window before
 * (answers[i], of its count[i]: the acknowledgements of a transfer, whose sender's next
 * frames wait for the pause anyway) is paced with them: forwarding them at once would wake
 * the switch for each, for nothing. answers may be NULL (none). Only the ports that bring the
 * load count as such, not those paced as answers, so that two ports that answer each other
 * are not kept paced by each other. The inputs not quiet are paced: their frames wait for the
 * end of a pause. order is scratch space for n ints.
 */
void uk_switch_quiet(const uint64_t *count, const uint64_t *answers, int n, uint64_t total,
		     uint64_t window_us, int *order, bool *quiet, bool *brings);
/* Whether port id's input brings the load now (the daemon tells the engine after each window:
 * uk_switch_quiet's brings), and how many of the frames received on port id went to a port
 * that did: uk_switch_quiet's answers. */
void uk_switch_port_set_loads(struct uk_switch *sw, int id, bool loads);
uint64_t uk_switch_port_to_loaded(const struct uk_switch *sw, int id);
/* The frames a pause of this switch may gather: UK_SW_PAUSE_FRAMES, or
 * UK_SW_PAUSE_FRAMES_DGRAM while it has legacy daemon ports, or UK_SW_PAUSE_FRAMES_SHARED
 * while one of them is on the shared legacy socket. */
uint32_t uk_switch_pause_frames(const struct uk_switch *sw);

#endif
