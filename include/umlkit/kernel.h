/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UML kernels: the one the host has installed (Debian's user-mode-linux, found on PATH) and
 * the ones `umlkit kernel fetch` brought from Debian's archive into the cache, each made
 * runnable on this host with the C library of its own suite. A guest names one with
 * --kernel NAME (or a path).
 */
#ifndef UMLKIT_KERNEL_H
#define UMLKIT_KERNEL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "umlkit/err.h"

#define UK_KERNEL_NAME_MAX 32
#define UK_KERNEL_SYSTEM   "system" /* the name of the kernel found on PATH */

struct uk_kernel {
	char name[UK_KERNEL_NAME_MAX + 1]; /* "system", "sid", ...; "" for a path */
	char path[PATH_MAX];		   /* the binary to run */
	char release[80];		   /* its "Linux version" banner: 7.2.7 */
	char modules[PATH_MAX];		   /* the root of its modules (holds RELEASE/); "" */
	bool seccomp;			   /* it takes seccomp=on|off|auto */
	/* a fetched kernel: where it came from */
	char suite[UK_KERNEL_NAME_MAX + 1];
	char mirror[256];
	char package[128]; /* "user-mode-linux 7.2um1" */
	char libc[128];	   /* "libc6 2.43-7" */
	long long fetched; /* seconds since the epoch */
	char damage[256];  /* why the entry cannot be used (list only); "" when whole */
};

/* ---- probe.c: what a kernel binary says of itself ---- */
/* The release in the kernel's "Linux version X (" banner, found in buf: 0, or -ENOENT. */
int uk_kernel_release_in(const void *buf, size_t len, char *out, size_t outlen);
/* Fill k->release, k->seccomp and k->modules from the binary at k->path (a kernel's modules:
 * $UMLKIT_MODULES_DIR when set, else beside it in BIN/../lib/uml/modules, else Debian's
 * /usr/lib/uml/modules; "" when that has no RELEASE/). A binary without the banner is no
 * error: its release and modules are then "". err names the file. */
int uk_kernel_probe(struct uk_kernel *k, struct uk_err *err);

/* ---- store.c: the fetched kernels ---- */
/* The kernel a guest boots: given (a name from `umlkit kernel list`, or a path), else
 * $UMLKIT_KERNEL (the same), else linux or linux.uml on PATH. A fetched kernel is checked
 * whole first: a damaged entry is refused (-EUCLEAN) with what is wrong and how to mend it.
 * k probed. */
int uk_kernel_find(const char *given, struct uk_kernel *k, struct uk_err *err);
/* uk_kernel_find without the probe: k->path and k->name only (and a fetched kernel's
 * origin). */
int uk_kernel_locate(const char *given, struct uk_kernel *k, struct uk_err *err);
/* Every kernel: the host's first (when there is one), then the fetched ones by name, each
 * probed; a damaged entry is listed with k->damage set. Free *out. */
int uk_kernel_list(struct uk_kernel **out, int *n, struct uk_err *err);
/* Remove a fetched kernel (never the host's). -ENOENT when there is none of that name. */
int uk_kernel_rm(const char *name, struct uk_err *err);

/* ---- fetch.c: from Debian's archive ---- */
struct uk_kernel_fetch {
	const char *suite;   /* sid, trixie, ...; NULL: UK_KERNEL_SUITE_DEFAULT */
	const char *name;    /* the entry's name; NULL: the suite */
	const char *package; /* NULL: user-mode-linux */
	const char *mirror;  /* NULL: the host's Debian mirror from its apt sources */
	bool force;	     /* fetch again even when the same version is here */
	void (*say)(void *ctx, const char *line);
	void *ctx;
};
#define UK_KERNEL_SUITE_DEFAULT "sid"
/* Fetch the package and the C library it runs with through apt, with a private sources
 * list and state (the host's apt configuration untouched), verified by apt against
 * Debian's archive keyring; unpack it into the cache and make it run here. 1 fetched, 0
 * the same version was already here (reused), or -errno with err set (apt's own error
 * line); on failure nothing is left in the cache. k describes the entry. */
int uk_kernel_fetch(const struct uk_kernel_fetch *f, struct uk_kernel *k, struct uk_err *err);
/* The first Debian mirror in the host's apt sources (deb822 .sources or one-line .list
 * files under root, "/" normally) serving the host's own release; the default when none. */
int uk_kernel_host_mirror(const char *root, char *out, size_t outlen);

#endif
