/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Inside the switch daemon: its event loop, for the modules that plug into it (the legacy
 * daemon protocol, the NAT uplink). Not part of the public API. */
#ifndef UK_SWD_H
#define UK_SWD_H

#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "umlkit/util.h"
#include "engine-internal.h"

struct uk_swd;

/* Make room in arr, an array indexed by fd of *len elements of size bytes, for fd (the new
 * ones zeroed; it grows by doubling from 64): the array, moved maybe, with *len updated; or
 * NULL when out of memory (arr and *len as they were). */
void *uk_swd_grow_by_fd(void *arr, int *len, int fd, size_t size);

/* A persistent fd with its handler, in the loop's epoll set (level-triggered input, and hangups and
 * errors) until unwatched. Returns 0, -ENOSPC, or -errno of epoll_ctl. */
int uk_swd_watch(struct uk_swd *d, int fd, void (*fn)(struct uk_swd *d, int fd, void *ctx),
		 void *ctx);
void uk_swd_unwatch(struct uk_swd *d, int fd);

/*
 * A module: before each poll it may add fds for this round (uk_swd_poll_add) and shorten
 * the timeout; after the poll it reads their revents (uk_swd_poll_revents). stop is called
 * once when the daemon ends. A module with hooks is an input of its own, paced or quiet like
 * a watched fd (uk_switch_quiet): the frames its hooks feed to the engine are counted to it,
 * and while it is quiet its hooks also run during the pauses. port: the switch port those
 * frames come in on (-1: none), for the port's "paced".
 */
struct uk_swd_module {
	void (*pre_poll)(struct uk_swd *d, void *ctx, int *timeout_ms);
	void (*post_poll)(struct uk_swd *d, void *ctx);
	void (*stop)(struct uk_swd *d, void *ctx);
	/* an extra control command ("forward-add", ...): fill reply and return 0, or return
	 * -ENOENT when the command is not this module's */
	int (*command)(struct uk_swd *d, void *ctx, const char *cmd, json_t *req, json_t *reply);
	/* add-port made port for request req (its "addr", "mac", "forwards"): 0, or a negative
	 * errno with err set, and the port is removed again */
	int (*port_added)(struct uk_swd *d, void *ctx, int port, json_t *req, struct uk_err *err);
	/* port goes away (the engine still knows it) */
	void (*port_removed)(struct uk_swd *d, void *ctx, int port);
	/* what the module knows of port, added to j (the port's object in `ports`) */
	void (*port_json)(struct uk_swd *d, void *ctx, int port, json_t *j);
	void *ctx;
	int port;
};
int uk_swd_add_module(struct uk_swd *d, const struct uk_swd_module *m);
int uk_swd_poll_add(struct uk_swd *d, int fd, short events);
short uk_swd_poll_revents(struct uk_swd *d, int slot);

struct uk_switch *uk_swd_switch(struct uk_swd *d);
const struct uk_switch_daemon_opts *uk_swd_opts(struct uk_swd *d);
/* A port over a socket of its own (uk_switch_add_socket_port without an address), watched:
 * its id, or -errno (fd closed, err told). */
int uk_swd_add_socket_port(struct uk_swd *d, int fd, const struct uk_port_conf *c,
			   struct uk_err *err);
/* A port's peer went away or its owner closed it: forget it and its fd. */
void uk_swd_remove_port(struct uk_swd *d, int port);

/* A connection on listening socket lfd, non-blocking: its fd, or -1. When the daemon is out
 * of fds, the connection is closed at once (not left to keep lfd readable) and counted. */
int uk_swd_accept(struct uk_swd *d, int lfd);
/* Close an accepted connection the daemon has no room for, and count it. */
void uk_swd_refuse(struct uk_swd *d, int s);

/* A listening unix socket of type at path, non-blocking, mode and group (-1: none) set; a
 * stale socket there (nobody listens) is replaced, anything else refused, naming it what.
 * made: the socket file, for uk_swd_unlink_ours. Its fd, or -errno (err told). */
int uk_swd_listen_path(const char *path, int type, mode_t mode, int group, const char *what,
		       struct stat *made, struct uk_err *err);
/* Remove path if it is still the socket file made (not one another server put there since). */
void uk_swd_unlink_ours(const char *path, const struct stat *made);

/* The switch's directory dir for its users (share.c): with group >= 0, 0750 with that group,
 * the directories above it that umlkit made opened to the group by an ACL entry and the
 * links lock readable; without, 0700. 0 or -errno (err told). */
int uk_swd_share_dir(const char *dir, int group, struct uk_err *err);

/* Modules (each in its own file). */
int uk_swd_legacy_start(struct uk_swd *d, const char *ctl_path, struct uk_err *err);
int uk_swd_nat_start(struct uk_swd *d, struct uk_err *err);

#endif
