// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * umlkit-xstate.so: preloaded into a UML kernel on hosts whose XSAVE area is larger than the
 * kernel's FPU buffer (see include/umlkit/xstate.h). It wraps ptrace(): a SETREGSET of
 * NT_X86_XSTATE shorter than the host's full size is completed from the tracee's current
 * state and set whole; every other request goes through unchanged. Built without sanitizers
 * and without libumlkit: it lives inside another program.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "umlkit/xstate.h"

#define NT_X86_XSTATE 0x202
#define FULL_MAX      (64 * 1024) /* far above any XSAVE area (AMX: about 11 KiB) */

typedef long (*ptrace_fn)(enum __ptrace_request, ...);

static ptrace_fn real_ptrace(void)
{
	static ptrace_fn fn;

	if (!fn)
		fn = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
	return fn;
}

static long short_set(ptrace_fn real, pid_t pid, struct iovec *iov)
{
	static __thread uint8_t *buf;
	static struct uk_xstate_layout layout;
	static int have_layout;
	static size_t full_size; /* the host's, once seen */
	struct iovec full;

	if (full_size && iov->iov_len >= full_size)
		return -1; /* whole already: nothing to complete */

	if (!buf) {
		void *p = mmap(NULL, FULL_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED)
			return -1;
		buf = p;
	}
	if (!have_layout) {
		if (uk_xstate_host_layout(&layout) < 0)
			return -1;
		have_layout = 1;
	}
	full = (struct iovec){buf, FULL_MAX};
	if (real(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &full) < 0)
		return -1;
	full_size = full.iov_len;
	if (iov->iov_len >= full_size)
		return -1;
	if (uk_xstate_merge(buf, full.iov_len, iov->iov_base, iov->iov_len, &layout,
			    uk_xstate_covered(&layout, iov->iov_len)) < 0)
		return -1;
	return real(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &full);
}

long ptrace(enum __ptrace_request req, ...)
{
	ptrace_fn real = real_ptrace();
	va_list ap;
	pid_t pid;
	void *addr, *data;

	va_start(ap, req);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (req == PTRACE_SETREGSET && (uintptr_t)addr == NT_X86_XSTATE && data) {
		int e = errno;
		long r = short_set(real, pid, data);

		if (r == 0)
			return 0;
		errno = e; /* not completed: the kernel's own request decides */
	}
	return real(req, pid, addr, data);
}
