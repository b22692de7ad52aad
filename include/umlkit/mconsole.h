/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The UML management console (mconsole): a pure codec for its datagrams, a client that sends
 * one command and gathers every reply packet, a listener for the kernel's notifications
 * (`mconsole=notify:PATH`) and the socket lookups of the old uml_mconsole and of umlkit guests.
 *
 * Wire format (spec §3): host-endian u32 fields.
 *   request  magic 0xCAFEBABE, version 2, len, data[512]        12 + len bytes sent
 *   reply    err, more, len, data[512]; len counts the NUL        12 + len bytes
 *   notify   magic, version 2, type, len, data[512]               16 + len bytes
 * A request with a wrong magic is answered with raw ASCII and no header:
 * "ERR Version 0 mconsole clients are not supported by this driver".
 */
#ifndef UMLKIT_MCONSOLE_H
#define UMLKIT_MCONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "umlkit/err.h"

#define UK_MC_MAGIC	  0xCAFEBABEu
#define UK_MC_VERSION	  2u
#define UK_MC_MAX_DATA	  512u
#define UK_MC_REQUEST_HDR 12u
#define UK_MC_REQUEST_MAX (UK_MC_REQUEST_HDR + UK_MC_MAX_DATA)
#define UK_MC_REPLY_HDR	  12u
#define UK_MC_REPLY_MAX	  (UK_MC_REPLY_HDR + UK_MC_MAX_DATA)
#define UK_MC_NOTIFY_HDR  16u
/* uml_watchdog on 64-bit hosts sends `unsigned long magic`: 4 more header bytes (spec §5.7) */
#define UK_MC_NOTIFY_MAX (UK_MC_NOTIFY_HDR + 4u + UK_MC_MAX_DATA)
/* the longest reply text uk_mc_command() gathers before giving up with EMSGSIZE */
#define UK_MC_REPLY_TEXT_MAX (64u << 20)
/* the most packets it reads for one reply (empty ones too) before giving up with EMSGSIZE */
#define UK_MC_REPLY_PACKETS_MAX (1u << 20)

/* err values seen in replies (u32 on the wire; device errors are a negative errno) */
#define UK_MC_ERR_OK	 0u
#define UK_MC_ERR_FAIL	 1u
#define UK_MC_ERR_EBUSY	 0xFFFFFFF0u /* -EBUSY: "Device is already configured" */
#define UK_MC_ERR_ENODEV 0xFFFFFFEDu /* -ENODEV: "Device doesn't exist" */

enum uk_mc_notify_type {
	UK_MC_NOTIFY_SOCKET = 0, /* mconsole is up; data: its socket path */
	UK_MC_NOTIFY_PANIC = 1,	 /* data: the panic message */
	UK_MC_NOTIFY_HANG = 2,	 /* sent by uml_watchdog */
	UK_MC_NOTIFY_USER = 3,	 /* the guest wrote /proc/mconsole; data: its bytes, no NUL */
};

/* ---- pure codec: (buf, len) in, struct or negative errno out, no I/O ---- */

/* One decoded request (used by fake kernels in tests and by the fuzz target). */
struct uk_mc_request {
	uint32_t version;
	size_t len;		       /* command bytes */
	char data[UK_MC_MAX_DATA + 1]; /* the command, NUL-terminated */
};

/* One decoded reply packet. */
struct uk_mc_packet {
	uint32_t err;		       /* 0 OK, 1 error, or a negative errno as u32 */
	bool more;		       /* another packet follows */
	bool v0;		       /* the kernel's raw-ASCII answer to a bad magic */
	size_t len;		       /* text bytes, up to the first NUL */
	char text[UK_MC_MAX_DATA + 1]; /* NUL-terminated */
};

/* One decoded notification. */
struct uk_mc_notify {
	enum uk_mc_notify_type type;
	bool long_magic;	       /* uml_watchdog's 64-bit layout (spec §5.7) */
	size_t len;		       /* data bytes, without the NUL types 0-2 carry */
	char data[UK_MC_MAX_DATA + 1]; /* the data with a NUL added */
};

/*
 * Encode a request for cmd (strlen(cmd) < 512, else -E2BIG) into buf. Returns the datagram
 * length (12 + strlen(cmd)), -ENOBUFS when buflen is too small, or -E2BIG.
 */
int uk_mc_request_encode(const char *cmd, void *buf, size_t buflen, struct uk_err *err);
/* Decode a request datagram: magic, version 2, len < 512 and inside the datagram. */
int uk_mc_request_decode(const void *buf, size_t len, struct uk_mc_request *req,
			 struct uk_err *err);

/*
 * Encode one reply packet as the kernel does (len = textlen + 1, the NUL included);
 * textlen must be < 512. Returns the datagram length or a negative errno.
 */
int uk_mc_reply_encode(uint32_t errv, bool more, const char *text, size_t textlen, void *buf,
		       size_t buflen, struct uk_err *err);
/*
 * Decode one reply datagram: at least the 12-byte header, len <= 512 and inside the
 * datagram (bytes past 12 + len are ignored). A datagram that starts with "ERR " is the
 * kernel's headerless answer to a wrong magic: v0 set, err 1, the whole datagram as text.
 * Returns 0 or -EBADMSG with a message naming the field.
 */
int uk_mc_reply_decode(const void *buf, size_t len, struct uk_mc_packet *p, struct uk_err *err);

/* Encode a notification (type 0..3, datalen <= 512, data as given: add the NUL yourself). */
int uk_mc_notify_encode(enum uk_mc_notify_type type, const void *data, size_t datalen, void *buf,
			size_t buflen, struct uk_err *err);
/*
 * Decode a notification: magic, version 2, type 0..3, len <= 512 and inside the datagram.
 * uml_watchdog's 64-bit packet (version field 0, then 2) is accepted with long_magic set.
 * Returns 0 or -EBADMSG.
 */
int uk_mc_notify_decode(const void *buf, size_t len, struct uk_mc_notify *n, struct uk_err *err);

/* ---- client ---- */

/* The whole answer to one command. */
struct uk_mc_reply {
	uint32_t err;	  /* the first packet's err */
	bool ok;	  /* err == 0 */
	bool v0;	  /* the kernel refused our magic (raw-ASCII answer) */
	unsigned packets; /* datagrams received */
	size_t len;	  /* strlen(text) */
	char *text;	  /* every packet's text concatenated, NUL-terminated; heap */
};
void uk_mc_reply_free(struct uk_mc_reply *reply);

/*
 * Send cmd to the mconsole socket at sock_path from an AF_UNIX SOCK_DGRAM socket bound to an
 * abstract autobind address, and read packets until more == 0. timeout_ms (< 0: no bound)
 * bounds the whole reply, not each packet: a kernel (or whoever owns the socket) that sends
 * "more" forever cannot hold the caller past it. On success fills *reply (free it with
 * uk_mc_reply_free) and returns 0 whether the kernel said OK or not: look at reply->ok.
 * Errors: -ENOENT / -ECONNREFUSED (no guest behind the socket), -ETIMEDOUT, -E2BIG (command
 * of 512 bytes or more), -EBADMSG (malformed reply), -EMSGSIZE (reply text over
 * UK_MC_REPLY_TEXT_MAX, or more than UK_MC_REPLY_PACKETS_MAX packets).
 */
int uk_mc_command(const char *sock_path, const char *cmd, int timeout_ms, struct uk_mc_reply *reply,
		  struct uk_err *err);
/* The same over a datagram socket that is already connected to the kernel (or a fake one). */
int uk_mc_transact(int fd, const char *cmd, int timeout_ms, struct uk_mc_reply *reply,
		   struct uk_err *err);

/* ---- notifications ---- */

/*
 * Bind a SOCK_DGRAM socket at path (mode 0600; put it in a private directory, as the mode
 * is set just after bind) for `mconsole=notify:PATH`. A stale socket left at path (nobody
 * bound to it) is replaced; any other existing file gives -EEXIST. Returns the fd
 * (O_CLOEXEC) or a negative errno.
 */
int uk_mc_notify_open(const char *path, struct uk_err *err);
/* Wait up to timeout_ms (< 0: no bound) for one notification. 0, -ETIMEDOUT or -EBADMSG. */
int uk_mc_notify_recv(int fd, int timeout_ms, struct uk_mc_notify *n, struct uk_err *err);

/* ---- finding the socket ---- */

/*
 * The old uml_mconsole's lookup: $HOME/.uml/NAME/mconsole (unless NAME already starts with
 * $HOME/.uml), /tmp/uml/NAME/mconsole (unless NAME starts with /tmp/uml/), then NAME as a
 * path. The first that stat() finds is written to out. Every miss is reported through warn
 * (may be NULL) as "Warning: couldn't stat file: PATH - <strerror>". Returns 0, -ENOENT when
 * none exists, -ENAMETOOLONG.
 */
int uk_mc_find_socket(const char *umid_or_path, char *out, size_t outlen,
		      void (*warn)(void *ctx, const char *msg), void *ctx);

/*
 * Where the mconsole socket of the umlkit guest NAME lives:
 * $XDG_RUNTIME_DIR/umlkit/guests/NAME/uml/NAME/mconsole, or without XDG_RUNTIME_DIR
 * $HOME/.umlkit/run/guests/NAME/uml/NAME/mconsole. Only computes the path. Returns 0,
 * -EINVAL for a name that is empty, ".", "..", holds '/' or is longer than the kernel's
 * 63-byte umid limit, -ENOENT when neither variable is set, -ENAMETOOLONG.
 */
int uk_mc_guest_socket(const char *name, char *out, size_t outlen);

/*
 * The old tool's rewrite of `config ubdN[flags]=COW[,BACKING]`: each file name made absolute
 * (uk_path_absolutize; a name that cannot be resolved is kept as it is) because the kernel's
 * cwd is not ours. Other commands are copied unchanged. Returns 0 or -ENAMETOOLONG.
 */
int uk_mc_fix_config_paths(const char *cmd, char *out, size_t outlen);

#endif
