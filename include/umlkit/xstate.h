/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Running Debian's 6.1 UML kernel on hosts with a large XSAVE area (AVX-512, AMX, PKRU).
 *
 * The 6.1 kernel saves and restores a guest process's FPU state with ptrace(GETREGSET /
 * SETREGSET, NT_X86_XSTATE) through a fixed 832-byte buffer (legacy area, header, AVX). A
 * host whose XSAVE area is larger refuses every SETREGSET shorter than its full size with
 * EFAULT, and the guest's init dies at its first system call ("ptrace set fp regs failed,
 * errno = 14"). umlkit's shim (umlkit-xstate.so, preloaded into the kernel) completes such a
 * short SETREGSET: it reads the tracee's full current state, puts in the components the short
 * buffer holds whole, and sets the full state. The components the kernel never saw (ZMM upper
 * halves, opmasks, PKRU, ...) keep the values the host process has, which is what they were
 * when that guest process last ran.
 */
#ifndef UMLKIT_XSTATE_H
#define UMLKIT_XSTATE_H

#include <stddef.h>
#include <stdint.h>

#define UK_XSTATE_LEGACY 512 /* x87 and SSE: the FXSAVE area */
#define UK_XSTATE_HEADER 64  /* XSTATE_BV, XCOMP_BV, reserved */
#define UK_XSTATE_UML61	 832 /* what the 6.1 kernel saves: legacy, header, AVX (YMM_Hi128) */
#define UK_XSTATE_NCOMP	 64

/* Where each state component lives in the standard (non-compacted) format. */
struct uk_xstate_layout {
	uint32_t off[UK_XSTATE_NCOMP];
	uint32_t size[UK_XSTATE_NCOMP];
	uint32_t total; /* the size of the area for the features the host enabled */
};

/* The host's layout, from CPUID leaf 0xD. Returns -1 on a CPU without XSAVE. */
int uk_xstate_host_layout(struct uk_xstate_layout *l);

/* The components whose bytes lie wholly within the first len bytes. */
uint64_t uk_xstate_covered(const struct uk_xstate_layout *l, size_t len);

/*
 * Put the components named by `covered` from the short state `part` (part_len bytes) into
 * the full state `full` (full_len bytes), and their XSTATE_BV bits too. Returns 0, or -1
 * when part is shorter than the legacy area and header, or longer than full.
 */
int uk_xstate_merge(uint8_t *full, size_t full_len, const uint8_t *part, size_t part_len,
		    const struct uk_xstate_layout *l, uint64_t covered);

/* Whether this host needs the shim for a 6.1 kernel: its XSAVE area exceeds 832 bytes. */
int uk_xstate_shim_needed(void);

#endif
