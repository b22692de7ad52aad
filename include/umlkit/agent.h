/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest agent: its wire format (pure codecs, fuzzed), the archive stream that `umlkit cp`
 * carries in it, the supervisor's relay and the host client.
 *
 * The channel. The agent (agent/umlkit-agent.c, /usr/sbin/umlkit-agent in the guest) talks to
 * the guest's supervisor over a UML serial line, `ssl1=fd:N,fd:N` on one end of a socketpair,
 * named to it by `umlkit.agent=/dev/ttyS1` on the kernel command line. Guest to host the line
 * carries about 400 MiB/s; host to guest the 6.1 kernel reads a serial line one byte per host
 * read(), about 0.6 MiB/s. So a frame host to guest whose payload is larger than
 * UK_AGENT_INLINE_MAX travels through the ring instead: a 4 MiB file the supervisor writes
 * and the kernel has as a read-only disk (`ubdNr=FILE`, `umlkit.agent_ring=/dev/ubdX`), which
 * the agent reads with O_DIRECT (700 MiB/s); a RING frame on the line says where. Host
 * clients (`umlkit exec`, `umlkit cp`) connect to the supervisor's socket STATE/agent (0600,
 * peer checked: the guest's owner or root); one connection is one session.
 *
 * The line has a window of its own. When the guest's tty holds more than 3968 unread bytes
 * (its 4 KiB buffer less TTY_THRESHOLD_THROTTLE), n_tty throttles it, and the UML line
 * driver's line_throttle() removes the line's read interrupt for good (6.1 and 7.2 alike:
 * line_unthrottle() reads once and never arms it again): nothing the host sends is read
 * after that. An agent that sets HELLO flag 2 acknowledges what it read from the line with
 * LINE_ACK, and the supervisor keeps at most UK_AGENT_LINE_WINDOW bytes unacknowledged, so
 * a slow agent (a loaded host) never lets the tty fill.
 *
 * A frame: 12 bytes of header, then the payload.
 *   off 0  2  magic "UK"
 *   off 2  1  type (enum uk_agent_type)
 *   off 3  1  0
 *   off 4  4  session (big-endian; between a client and the supervisor it is 0)
 *   off 8  4  payload length (big-endian), at most UK_AGENT_PAYLOAD_MAX
 *
 * A session: the client sends EXEC, the agent answers STARTED (or ERROR, and the session
 * ends), then STDOUT and STDERR data (an empty one: end of that stream), and at last EXIT.
 * Data is sent against a window: at most UK_AGENT_WINDOW bytes of STDIN, and as many of
 * STDOUT and STDERR together, unacknowledged; the receiver ACKs what it has consumed.
 */
#ifndef UMLKIT_AGENT_H
#define UMLKIT_AGENT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "umlkit/err.h"

#define UK_AGENT_HDR	     12
#define UK_AGENT_PAYLOAD_MAX (128u * 1024)
#define UK_AGENT_FRAME_MAX   (UK_AGENT_HDR + UK_AGENT_PAYLOAD_MAX)
#define UK_AGENT_WINDOW	     (1024u * 1024)
#define UK_AGENT_INLINE_MAX  256  /* host to guest: larger payloads go through the ring */
#define UK_AGENT_LINE_WINDOW 2048 /* host to guest: line bytes unread by the agent (flag 2) */
#define UK_AGENT_RING_SIZE   (4u * 1024 * 1024)
#define UK_AGENT_RING_ALIGN  4096
#define UK_AGENT_ARGC_MAX    1024
#define UK_AGENT_ENVC_MAX    64
#define UK_AGENT_TEXT_MAX    1024 /* an ERROR's message, HELLO's version */
#define UK_AGENT_PROTO	     1
#define UK_AGENT_SESSIONS    32 /* at once, per guest */
#define UK_AGENT_NAME_MAX    4095

enum uk_agent_type {
	UK_AGENT_HELLO = 1,   /* agent: u32 protocol, u32 flags (1: ring, 2: LINE_ACK), version */
	UK_AGENT_EXEC = 2,    /* client: see struct uk_agent_exec */
	UK_AGENT_STDIN = 3,   /* client: data; empty: end of input */
	UK_AGENT_STDOUT = 4,  /* agent: data; empty: end of that stream */
	UK_AGENT_STDERR = 5,  /* agent: data; empty: end of that stream */
	UK_AGENT_ACK = 6,     /* either: u32 bytes of data consumed */
	UK_AGENT_WINSIZE = 7, /* client: u16 rows, u16 cols */
	UK_AGENT_CLOSE = 8,   /* supervisor: the client is gone; end the session */
	UK_AGENT_STARTED = 9, /* agent: u32 pid */
	UK_AGENT_EXIT = 10,   /* agent: i32 exit status (-1: none), i32 signal (0: none) */
	UK_AGENT_ERROR = 11,  /* agent or supervisor: u32 errno, message */
	UK_AGENT_RING = 12,   /* supervisor: u8 type, 3 zero bytes, u32 offset, u32 length */
	UK_AGENT_RING_FREE = 13, /* agent: u32 ring chunks read */
	UK_AGENT_LINE_ACK = 14,	 /* agent: u32 bytes it read from the line */
	/* the archive stream `umlkit cp` carries in STDIN or STDOUT data (session 0) */
	UK_AGENT_A_DIR = 20,	 /* u32 mode, name */
	UK_AGENT_A_FILE = 21,	 /* u32 mode, u64 size, name; then A_DATA frames, an empty last */
	UK_AGENT_A_DATA = 22,	 /* file bytes */
	UK_AGENT_A_SYMLINK = 23, /* name, NUL, target */
	UK_AGENT_A_END = 24,	 /* the end of the archive */
};

/* HELLO flags */
#define UK_AGENT_HELLO_RING	1u /* it reads RING frames from umlkit.agent_ring= */
#define UK_AGENT_HELLO_LINE_ACK 2u /* it sends LINE_ACK: the line's window applies */

/* EXEC flags */
#define UK_AGENT_EXEC_TTY     1u /* a pseudo-terminal: stdin, stdout and stderr on it */
#define UK_AGENT_EXEC_STDIN   2u /* stdin from STDIN frames (else /dev/null) */
#define UK_AGENT_EXEC_BUILTIN 4u /* argv[0] names the agent's own cp-send or cp-recv */
#define UK_AGENT_EXEC_FLAGS   7u

/* A decoded frame; payload points into the buffer given to the decoder. */
struct uk_agent_frame {
	uint8_t type;
	uint32_t session;
	uint32_t len;
	const uint8_t *payload;
};

/*
 * Decode the frame at the start of buf: its total size (header and payload) with f filled,
 * 0 when buf holds only part of one, or -EBADMSG (bad magic, an unknown type, a payload
 * over UK_AGENT_PAYLOAD_MAX or a non-zero reserved byte) with err naming it.
 */
ssize_t uk_agent_frame_decode(const void *buf, size_t len, struct uk_agent_frame *f,
			      struct uk_err *err);
/* The 12-byte header of a frame. */
void uk_agent_frame_header(uint8_t hdr[UK_AGENT_HDR], uint8_t type, uint32_t session, uint32_t len);
/* A whole frame into out (cap bytes): its size, or -E2BIG. */
ssize_t uk_agent_frame_encode(void *out, size_t cap, uint8_t type, uint32_t session,
			      const void *payload, size_t len);
/* A frame of one u32 (ACK, STARTED, RING_FREE): 16 bytes into out. */
size_t uk_agent_frame_u32(uint8_t out[UK_AGENT_HDR + 4], uint8_t type, uint32_t session,
			  uint32_t v);
const char *uk_agent_type_name(uint8_t type);

struct uk_agent_exec {
	uint32_t flags;
	uint16_t rows, cols;
	int argc, envc;
	const char *argv[UK_AGENT_ARGC_MAX + 1]; /* NULL-terminated, into the payload */
	const char *envp[UK_AGENT_ENVC_MAX + 1]; /* "NAME=VALUE", NULL-terminated */
};
/* EXEC payload: u32 flags, u16 rows, u16 cols, u32 argc, u32 envc, then argc + envc
 * NUL-terminated strings filling the rest exactly. argc >= 1, argv[0] not empty, every env
 * string NAME=VALUE. */
int uk_agent_exec_decode(const void *payload, size_t len, struct uk_agent_exec *x,
			 struct uk_err *err);
/* Encode into out (cap bytes): the payload's size, or -E2BIG / -EINVAL. */
ssize_t uk_agent_exec_encode(void *out, size_t cap, uint32_t flags, uint16_t rows, uint16_t cols,
			     char *const *argv, char *const *envp);

/* Fixed-size payloads; -EBADMSG when the size is wrong. */
int uk_agent_u32_decode(const struct uk_agent_frame *f, uint32_t *v, struct uk_err *err);
struct uk_agent_hello {
	uint32_t proto, flags;
	char version[65];
};
int uk_agent_hello_decode(const struct uk_agent_frame *f, struct uk_agent_hello *h,
			  struct uk_err *err);
int uk_agent_exit_decode(const struct uk_agent_frame *f, int *status, int *sig, struct uk_err *err);
/* ERROR: the errno (1..4095) and the message, made printable (at most UK_AGENT_TEXT_MAX). */
int uk_agent_error_decode(const struct uk_agent_frame *f, int *code, char *msg, size_t msglen,
			  struct uk_err *err);
int uk_agent_winsize_decode(const struct uk_agent_frame *f, uint16_t *rows, uint16_t *cols,
			    struct uk_err *err);
struct uk_agent_ring {
	uint8_t type;
	uint32_t off, len;
};
/* RING: the inner type must be one a client may send, the chunk aligned and inside the
 * ring, len 1..UK_AGENT_PAYLOAD_MAX. */
int uk_agent_ring_decode(const struct uk_agent_frame *f, struct uk_agent_ring *r,
			 struct uk_err *err);

/*
 * Archive entries. A name is a relative path of at most UK_AGENT_NAME_MAX bytes: components
 * of 1..255 bytes, none "." or "..", no empty one, no leading '/', no NUL.
 */
bool uk_agent_name_ok(const char *name, size_t len);
struct uk_agent_entry {
	uint8_t type; /* A_DIR, A_FILE, A_SYMLINK */
	uint32_t mode;
	uint64_t size;
	char name[UK_AGENT_NAME_MAX + 1];
	char target[UK_AGENT_NAME_MAX + 1]; /* A_SYMLINK */
};
int uk_agent_entry_decode(const struct uk_agent_frame *f, struct uk_agent_entry *e,
			  struct uk_err *err);
/* A_DIR, A_FILE or A_SYMLINK frame into out: its size, or -E2BIG / -EINVAL. */
ssize_t uk_agent_entry_encode(void *out, size_t cap, const struct uk_agent_entry *e);

/*
 * A receive buffer that yields whole frames from a byte stream: append with
 * uk_agent_rbuf_space()/uk_agent_rbuf_fill(), then take frames with uk_agent_rbuf_next()
 * (1 and f, 0 when no whole frame is there, -EBADMSG) until 0. Holds one frame at most.
 */
struct uk_agent_rbuf {
	uint8_t *buf; /* UK_AGENT_FRAME_MAX bytes */
	size_t used, start;
};
int uk_agent_rbuf_init(struct uk_agent_rbuf *b);
void uk_agent_rbuf_free(struct uk_agent_rbuf *b);
/* Where to read to and how much: moves what is left to the front first. */
uint8_t *uk_agent_rbuf_space(struct uk_agent_rbuf *b, size_t *room);
void uk_agent_rbuf_fill(struct uk_agent_rbuf *b, size_t n);
int uk_agent_rbuf_next(struct uk_agent_rbuf *b, struct uk_agent_frame *f, struct uk_err *err);

/* ---- archives: `umlkit cp` and the agent's cp-send and cp-recv use the same code ---- */
/* Write the archive of path (a file, or with recursive a directory tree; path itself is
 * followed when it is a symlink, nothing under it is) to fd, its top entry named base.
 * Special files are skipped (warn, when not NULL, is told). No A_END. */
int uk_agent_pack(int fd, const char *path, const char *base, bool recursive,
		  void (*warn)(const char *msg), struct uk_err *err);
int uk_agent_pack_end(int fd, struct uk_err *err);
/*
 * Read an archive from fd up to A_END and write it under the directory dirfd: every entry by
 * its name, but the first component replaced by rename_top when that is not NULL. Walks with
 * openat(O_NOFOLLOW) and writes each file beside its name, then renames it into place; a
 * directory an entry needs must come from an earlier A_DIR (or be dirfd). Modes are kept but
 * setuid, setgid and sticky bits (when strip_special). Never follows a symlink. -EBADMSG on
 * a malformed stream, names that break the rules, or a top entry other than the first one's.
 */
int uk_agent_unpack(int fd, int dirfd, const char *rename_top, bool strip_special,
		    struct uk_err *err);

/* What a cp destination is: -ENOENT when it is missing and so is its directory, -ENOTDIR
 * when several sources go to something that is not a directory; else 0 with *into_dir (put
 * the sources inside it) or with *top (the one source becomes that name in *parent). */
struct uk_agent_dest {
	bool into_dir;
	char dir[4096]; /* the directory to open: dest, or its parent */
	char top[256];	/* with !into_dir: the name the source gets */
};
int uk_agent_dest_resolve(const char *dest, int nsrc, struct uk_agent_dest *d, struct uk_err *err);

/* ---- the host client ---- */
struct uk_agent_io {
	int in;	      /* stdin data source (-1: none; EOF is sent when it ends) */
	int out;      /* where STDOUT goes */
	int err;      /* where STDERR goes; UK_AGENT_COLLECT: into the result's errtext */
	int winch_fd; /* readable when the terminal's size changed (-1: none) */
	int tty_fd;   /* the terminal whose size to send (-1: none) */
};
#define UK_AGENT_COLLECT (-2)
struct uk_agent_result {
	int status; /* exit status, -1 when killed by a signal */
	int signal;
	int error; /* the agent's ERROR code (then status is -1) */
	char msg[UK_AGENT_TEXT_MAX + 1];
	char errtext[UK_AGENT_TEXT_MAX + 1]; /* the first of STDERR, with UK_AGENT_COLLECT */
	size_t errlen;
};
/*
 * Run argv in guest name over sock (connected with uk_guest_agent_connect, owned by the
 * call), the streams relayed to io. Returns 0 with res (the command's status, or the
 * agent's refusal), -ETIMEDOUT when no agent answered within timeout_s, -ECONNRESET when
 * the session broke (the guest stopped), each with a message naming the guest.
 */
int uk_agent_run(int sock, const char *name, uint32_t flags, char *const *argv, char *const *envp,
		 const struct uk_agent_io *io, int timeout_s, struct uk_agent_result *res,
		 struct uk_err *err);

/* ---- the supervisor's side (lib/guest/supervise.c) ---- */
struct uk_agent_relay;
/* A relay for a guest: listens on sock_path (0600; clients must be owner_uid or root) and
 * keeps the ring file ring_fd (-1: no ring). */
int uk_agent_relay_new(struct uk_agent_relay **r, const char *guest, const char *sock_path,
		       uid_t owner_uid, int ring_fd, struct uk_err *err);
void uk_agent_relay_free(struct uk_agent_relay *r);
/* A new kernel: its end of the channel (the relay owns it); all sessions end. */
void uk_agent_relay_attach(struct uk_agent_relay *r, int chan_fd);
/* The poll set: fill up to max entries, returns how many. */
int uk_agent_relay_pollfds(struct uk_agent_relay *r, struct pollfd *p, int max);
/* After poll: handle what p (the entries pollfds filled) says. Returns 1 when the agent said
 * hello for the first time since the last attach, else 0. */
int uk_agent_relay_handle(struct uk_agent_relay *r, const struct pollfd *p, int n);

#endif
