// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the kernel is preloaded with: umlkit's xstate shim (umlkit/xstate.h) on hosts whose
 * XSAVE area is larger than Debian's 6.1 kernel can save, so that its guests' processes run
 * at all. $UMLKIT_XSTATE_SHIM=off turns it off; a path there names the shim to use.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <unistd.h>

#include "umlkit/guest.h"
#include "umlkit/util.h"
#include "umlkit/xstate.h"

#define SHIM_NAME "umlkit-xstate.so"

static int exists(const char *p)
{
	return access(p, R_OK) == 0;
}

int uk_guest_preload(char *out, size_t outlen, struct uk_err *err)
{
	const char *env = getenv("UMLKIT_XSTATE_SHIM");

	out[0] = '\0';
	if (env && (!strcmp(env, "off") || !strcmp(env, "0")))
		return 0;
	if (env && *env) {
		if (!exists(env))
			return uk_err_sys(err, errno, "%s (from $UMLKIT_XSTATE_SHIM)", env);
		snprintf(out, outlen, "%s", env);
		return 1;
	}
	if (!uk_xstate_shim_needed())
		return 0;
	if (uk_find_companion(SHIM_NAME, out, outlen, NULL) == 0)
		return 1;
	out[0] = '\0';
	return uk_err_set(err, ENOENT,
			  "this host's XSAVE area is larger than Debian's 6.1 UML kernel can save, "
			  "and %s, which lets it run here, is not installed beside umlkit "
			  "(set $UMLKIT_XSTATE_SHIM to its path, or to 'off' for a newer kernel)",
			  SHIM_NAME);
}

/*
 * The 6.1 kernel places its physical memory at its heap's start (brk) and counts the gap
 * from the end of its binary as memory too ("Adding N bytes to physical memory to account
 * for exec-shield gap"), paying a struct page for every 4 KiB of it out of mem=. On x86-64
 * the host randomizes brk over up to 1 GiB, so a mem=64M guest lost up to 18 MiB at random
 * (34 to 53 MiB available, measured) and sometimes could not even open its root disk
 * (ENOMEM). Without address randomization the gap is gone: the guest gets what mem= says,
 * every boot. $UMLKIT_KERNEL_ASLR=on keeps the host's randomization.
 */
void uk_guest_kernel_personality(void)
{
	const char *env = getenv("UMLKIT_KERNEL_ASLR");
	int cur;

	if (env && (!strcmp(env, "on") || !strcmp(env, "1")))
		return;
	cur = personality(0xffffffff);
	if (cur != -1)
		personality((unsigned long)cur | ADDR_NO_RANDOMIZE);
}
