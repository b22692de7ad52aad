// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for what the supervisor reads from a guest (all of it the guest can
 * write): console lines (init started, the reboot and halt lines), the mount table mconsole
 * returns, and a kernel file's banner. Any input gives an answer within its own bytes: a
 * version is a NUL-terminated run of [0-9A-Za-z.+_-] that starts with a digit and fits its
 * buffer. A violated invariant aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/kernel.h"
#include "../../lib/guest/guest-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_guest_boot: invariant failed: %s (line %d)\n",       \
				#cond, __LINE__);                                                  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[512], v[16];
	size_t n = size < sizeof(line) - 1 ? size : sizeof(line) - 1;
	int rb, r;

	/* the supervisor's line buffer: at most 511 bytes, NULs dropped, NUL-terminated */
	memcpy(line, data, n);
	line[n] = '\0';
	(void)uk_guest_line_runs_init(line);
	rb = uk_guest_line_reboot(line);
	CHECK(rb >= -1 && rb <= 1);
	if (rb == 1)
		CHECK(strstr(line, "reboot: Restarting system") != NULL);
	(void)uk_guest_mounts_show_init((const char *)data, size);
	r = uk_kernel_release_in(data, size, v, sizeof(v));
	CHECK(r == 0 || r == -2);
	if (r == 0) {
		CHECK(v[0] >= '0' && v[0] <= '9');
		CHECK(strlen(v) < sizeof(v));
		CHECK(strspn(v, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+_"
				"-") == strlen(v));
	}
	return 0;
}
