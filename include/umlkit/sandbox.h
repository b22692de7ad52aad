/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seccomp allowlists (libseccomp) for umlkit's daemons, installed once their setup is done:
 * the switch daemon and a guest's supervisor. A call outside the list ends the whole process
 * with SIGSYS (SCMP_ACT_KILL_PROCESS): a daemon that calls what it never calls has been
 * taken over, and must not go on. Neither list has execve, execveat, fork, clone (but in a
 * sanitizer build, whose leak checker needs clone and ptrace at exit), ptrace, mount,
 * namespaces, bpf, module or key calls; socket() takes only the families the daemon uses.
 * No new privileges is set first (a filter needs it without CAP_SYS_ADMIN).
 */
#ifndef UMLKIT_SANDBOX_H
#define UMLKIT_SANDBOX_H

#include "umlkit/err.h"

/* The switch daemon's filter, on every thread of the process: sockets of AF_UNIX, AF_INET
 * and AF_INET6 (the NAT uplink's flows), files, its event loop. 0 or -errno. */
int uk_sandbox_switch(struct uk_err *err);
/* The supervisor's filter: AF_UNIX and AF_NETLINK sockets (the guest's taps and firewall
 * are taken down with netlink), files, signals to its kernel's group, its children's ends;
 * no fork: its kernels come from its starter (lib/guest/starter.c). 0 or -errno. */
int uk_sandbox_supervisor(struct uk_err *err);

#endif
