/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by every module: cleanup, full I/O loops, strict parsing, paths. */
#ifndef UMLKIT_UTIL_H
#define UMLKIT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "umlkit/err.h"

/* ---- cleanup (the systemd/bubblewrap habit) ---- */
static inline void uk_freep(void *p)
{
	free(*(void **)p);
}
static inline void uk_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_free_	__attribute__((cleanup(uk_freep)))
#define _cleanup_close_ __attribute__((cleanup(uk_closep)))
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _tp = (p);                                                           \
		(p) = NULL;                                                                        \
		_tp;                                                                               \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tf = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_tf;                                                                               \
	})

#define UK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UK_MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define UK_MAX(a, b)	 ((a) > (b) ? (a) : (b))

/* ---- time ---- */
/* CLOCK_MONOTONIC in nanoseconds (for timeouts and rates; never the wall clock). */
static inline uint64_t uk_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- byte order: formats are bytes, not structs ---- */
static inline uint32_t uk_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t uk_get_be64(const uint8_t *p)
{
	return (uint64_t)uk_get_be32(p) << 32 | uk_get_be32(p + 4);
}
static inline uint32_t uk_get_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static inline uint64_t uk_get_le64(const uint8_t *p)
{
	return (uint64_t)uk_get_le32(p + 4) << 32 | uk_get_le32(p);
}
static inline void uk_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void uk_put_be64(uint8_t *p, uint64_t v)
{
	uk_put_be32(p, (uint32_t)(v >> 32));
	uk_put_be32(p + 4, (uint32_t)v);
}
static inline void uk_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline void uk_put_le64(uint8_t *p, uint64_t v)
{
	uk_put_le32(p, (uint32_t)v);
	uk_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline bool uk_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* ---- full I/O loops (EINTR and short counts handled) ---- */
/* Read exactly len bytes at off; returns bytes read (< len only at EOF) or -errno. */
ssize_t uk_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* Write all len bytes at off; returns 0 or -errno. */
int uk_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* write() all bytes to a stream fd; returns 0 or -errno. */
int uk_write_all(int fd, const void *buf, size_t len);
/* One message on socket s with fd (-1: none) passed along (SCM_RIGHTS), MSG_NOSIGNAL
 * added to flags; returns the bytes sent or -errno. */
ssize_t uk_send_fd(int s, const void *buf, size_t len, int fd, int flags);
/* One message from socket s into buf; *fd: the first fd passed with it (close-on-exec), or
 * -1; any further ones are closed. Returns its length (0: EOF or an empty message), -errno. */
ssize_t uk_recv_fd(int s, void *buf, size_t len, int *fd, int flags);

bool uk_mem_is_zero(const void *buf, size_t len);

/* ---- strict parsing ---- */
/* Decimal unsigned integer, no sign, no trailing junk, no overflow. */
int uk_parse_u64(const char *s, uint64_t *out);
/* A size: digits with an optional K, M, G, T suffix (binary units, optional "iB"/"B"). */
int uk_parse_size(const char *s, uint64_t *out);
/* A MAC address: exactly "xx:xx:xx:xx:xx:xx", hex digits of either case; mac is written only
 * on success (else -EINVAL). */
int uk_mac_parse(const char *s, uint8_t mac[6]);
/* The same text, lowercase, and a NUL: 18 bytes. */
void uk_mac_format(const uint8_t mac[6], char out[18]);

/* ---- paths ---- */
/*
 * Absolute path as the UML kernel stores it in a COW header: the directory part is
 * canonicalised (symlinks and ".." resolved), the last component is kept as it is.
 * Writes at most outlen bytes including the NUL.
 */
int uk_path_absolutize(const char *path, char *out, size_t outlen, struct uk_err *err);
/* dirname/basename into caller buffers, without modifying path. */
int uk_path_split(const char *path, char *dir, size_t dirlen, char *base, size_t baselen);
/* $XDG_RUNTIME_DIR/umlkit/SUB, or $HOME/.umlkit/run/SUB without it; a relative value of either
 * is ignored (a daemon runs in "/"). */
int uk_runtime_dir(const char *sub, char *out, size_t outlen, struct uk_err *err);
/*
 * The directory name under dirfd (made 0700 when create and missing) opened as one that only
 * the caller's user can change: not a symlink (never followed), a directory, owned by the
 * effective uid, writable by neither its group nor others. Its fd (O_CLOEXEC), or -errno
 * with a message naming shown: ENOENT missing, EPERM a symlink, another owner, a group- or
 * world-writable mode.
 */
int uk_dir_open_private(int dirfd, const char *name, bool create, const char *shown,
			struct uk_err *err);
/*
 * The same checks on the way to uk_runtime_dir(SUB): the runtime directory itself (followed
 * if it is a symlink: the user chose it) must be the caller's or root's and writable by no
 * one else (root under `sudo -E` keeping a user's XDG_RUNTIME_DIR is refused), then umlkit/
 * and SUB (one component) each as uk_dir_open_private. Made when create. An fd or -errno.
 */
int uk_runtime_dir_open(const char *sub, bool create, struct uk_err *err);
/*
 * The cache of things umlkit builds once and reuses (Debian images by recipe, a kernel's
 * modules): $UMLKIT_CACHE_DIR/SUB, else $XDG_CACHE_HOME/umlkit/SUB, else
 * $HOME/.cache/umlkit/SUB. Made (mode 0700, parents 0755 as needed) when missing; the last
 * two levels must be directories the caller owns, not symlinks (EPERM/ENOTDIR otherwise).
 */
int uk_cache_dir(const char *sub, char *out, size_t outlen, struct uk_err *err);
/*
 * A file umlkit ships beside its binary (the xstate shim, the guest agent): in the
 * directory of /proc/self/exe (the build tree), else in UK_SHIM_DIR (make install's
 * lib/umlkit). 0 with its path in out, or -ENOENT naming both places.
 */
int uk_find_companion(const char *name, char *out, size_t outlen, struct uk_err *err);
/* A name umlkit makes files and sockets of (a guest, a switch): 1 to max characters of
 * letters, digits, '_', '.' and '-', not starting with '.' or '-'. EINVAL with a message
 * that starts "KIND name". */
int uk_name_check(const char *kind, const char *name, size_t max, struct uk_err *err);
/* The names in dir (no dot files) that keep accepts (NULL: all), sorted; a missing dir has
 * none. Free them with uk_names_free. */
int uk_dir_names(const char *dir, bool (*keep)(const char *name), char ***names, int *count,
		 struct uk_err *err);
void uk_names_free(char **names, int count);
/* Remove the directory name (relative to dirfd) and everything in it, following no
 * symlink. 0 (also when it does not exist) or -errno. */
int uk_remove_tree(int dirfd, const char *name);
/* fsync the directory that holds path. */
int uk_fsync_dir_of(const char *path);

/* snprintf that tells whether it fit: 0, or -ENAMETOOLONG with out truncated. */
int uk_fmt(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A 64-bit checksum (not cryptographic: for damage, not for attackers), continued from h. */
uint64_t uk_hash64(uint64_t h, const void *buf, size_t len);
#define UK_HASH64_INIT 0x9e3779b97f4a7c15ULL

/* ---- other programs (run.c) ---- */
/*
 * Run argv[0] (an absolute path) with argv, without a shell: stdin from /dev/null, stdout
 * and stderr captured into out (NUL-terminated, truncated to outlen - 1 bytes; the rest is
 * read and dropped). When pass_fd >= 0 the child gets it as descriptor 3. Returns 0 when the
 * program exits 0, -EIO with err set ("NAME failed (exit N): first line") otherwise.
 */
int uk_run_capture(char *const argv[], int pass_fd, char *out, size_t outlen, struct uk_err *err);

/* Find a program: `given` when set, else each of dirs (NULL-terminated) after PATH when
 * use_path. path gets an absolute name. -ENOENT when not found (err not set). */
int uk_find_prog(const char *name, const char *given, bool use_path, const char *const *dirs,
		 char *path, size_t pathlen);

/*
 * Run a program without a shell, its standard output and error apart: stdout into out
 * (NUL-terminated, at most outlen - 1 bytes; out_full set when more came, which is read and
 * dropped), each stderr line to line() as it comes (when set) and the last UK_RUN_ERR_KEEP bytes
 * of stderr into errtext. 0 when it exits 0; otherwise -EIO with err naming the program,
 * its exit status and its error: the first stderr line starting "E: " (the bootstrapper's
 * error), else the last stderr line.
 */
#define UK_RUN_ERR_KEEP 4096
struct uk_cmd {
	char *const *argv; /* argv[0]: an absolute path */
	char *const *env;  /* NULL: ours */
	const char *cwd;   /* NULL: ours */
	int pass_fd;	   /* given to the program as descriptor 3; -1: none */
	char *out;	   /* NULL: stdout is read and dropped */
	size_t outlen;
	bool out_full;
	void (*line)(void *ctx, const char *line);
	void *ctx;
	char errtext[UK_RUN_ERR_KEEP];
};
int uk_run(struct uk_cmd *c, struct uk_err *err);

/* ---- text from a guest, shown to an operator ---- */
/*
 * Control characters made visible, so that a guest's text (its console, mconsole replies,
 * a panic message) cannot drive the operator's terminal: retitle it, clear it, move the
 * cursor. Tab, newline and carriage return pass; every other C0 byte, DEL, and the UTF-8
 * encoding of a C1 control (0xC2 0x80..0x9F: CSI, OSC, ... on terminals that honour them)
 * becomes \xHH, byte by byte. Everything else (UTF-8 text) is copied.
 *
 * A stream is escaped chunk by chunk with one struct uk_esc (zeroed first), as a C1 control
 * may span two chunks; uk_esc_end writes what the last chunk left held. out needs
 * UK_ESC_OUT(len) bytes for len input bytes; both return the bytes written (no NUL).
 */
struct uk_esc {
	bool held; /* the previous chunk ended with 0xC2 */
};
#define UK_ESC_OUT(len) (4 * (len) + 4)
size_t uk_esc_chunk(struct uk_esc *st, const void *in, size_t len, char *out);
size_t uk_esc_end(struct uk_esc *st, char *out);
/* The NUL-terminated text in escaped, cut to fit outlen (> 0) bytes with its NUL. */
void uk_esc_str(const char *in, char *out, size_t outlen);

/* ---- daemons (daemon.c) ---- */
#define UK_DAEMON_KEEP_MAX 64
struct uk_daemon_opts {
	const int *keep; /* fds the daemon keeps as they are (0, 1, 2 included), besides its
			  * report pipe; every other inherited fd is closed */
	int nkeep;	 /* at most UK_DAEMON_KEEP_MAX */
	mode_t umask;	 /* the daemon's umask (the switch and supervisor: 022) */
};
/*
 * Start a daemon: fork, setsid, fork again (no session leader: it never gets a terminal),
 * umask, chdir("/"), stdin, stdout and stderr on /dev/null (but those kept), every other fd
 * closed but o->keep. Relative paths must be made absolute before. Returns 0 in the daemon
 * (*report: the write end of a CLOEXEC pipe for its report lines, "WORD ...\n" or
 * "failed MSG\n"), 1 in the caller (*report: the read end, for uk_daemon_wait; close it),
 * or -errno when nothing was started. A step that fails in the daemon is reported as
 * "failed starting the daemon: STEP: ERROR" and it exits.
 */
int uk_daemon_start(const struct uk_daemon_opts *o, int *report, struct uk_err *err);
/* Close every fd from 3 up but the nkeep (at most UK_DAEMON_KEEP_MAX) in keep; -errno. */
int uk_close_fds_except(const int *keep, int nkeep);
/* The caller's side of a daemon's report pipe, read line by line (what follows a line is kept
 * for the next call). */
struct uk_daemon_reader {
	int fd;
	size_t used;
	char buf[1024];
};
/*
 * Read report lines until one is `want` or starts with `want` and a space (copied into line,
 * when given), up to deadline_ms (CLOCK_MONOTONIC, in ms). "failed MSG" is -ECANCELED with
 * MSG in err; the pipe's end without the line -ECANCELED ("the daemon ended without a
 * report"); the deadline -ETIMEDOUT.
 */
int uk_daemon_wait(struct uk_daemon_reader *r, const char *want, int64_t deadline_ms, char *line,
		   size_t len, struct uk_err *err);

/* ---- locks ---- */
/* An fcntl lock over the whole file (F_SETLK), as the UML kernel takes them on its disks: a
 * write lock or a read lock. -EAGAIN names the holder's pid ("locked by pid 123 (a running
 * guest?)"). */
int uk_lock_fd(int fd, bool write, const char *path, struct uk_err *err);

/*
 * Create a file that appears at `path` only when committed: an unnamed O_TMPFILE in
 * path's directory where the filesystem supports it, otherwise a hidden temporary name
 * that is removed on abort. Nothing is left behind by a failure before commit.
 */
struct uk_newfile {
	int fd;
	char path[4096];    /* final name */
	char tmpname[4096]; /* named temporary, empty when O_TMPFILE is used */
};
int uk_newfile_open(struct uk_newfile *nf, const char *path, mode_t mode, struct uk_err *err);
/* fsync, then place the file at its final name; replace=false fails with EEXIST. */
int uk_newfile_commit(struct uk_newfile *nf, bool replace, struct uk_err *err);
void uk_newfile_abort(struct uk_newfile *nf);

/* ---- fault-injection seam for crash tests ---- */
/*
 * Every mutating file operation of the library passes through this hook first
 * (name is "pwrite", "fsync", "ftruncate", "fallocate", "rename", "link", "unlink").
 * NULL by default. Tests set it to kill the process at a chosen point.
 */
extern void (*uk_io_hook)(const char *name);
static inline void uk_io_point(const char *name)
{
	if (uk_io_hook)
		uk_io_hook(name);
}

/*
 * Every read of file data (uk_pread_full, the copies of lib/cow) passes through this hook
 * first, with the fd and the length it reads. NULL by default. Tests set it to change a file
 * under a running operation (truncate a backing at the first read of its data).
 */
extern void (*uk_read_hook)(int fd, uint64_t len);
static inline void uk_read_point(int fd, uint64_t len)
{
	if (uk_read_hook)
		uk_read_hook(fd, len);
}

#endif
