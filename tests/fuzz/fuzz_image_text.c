// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the text parsers of Debian images and adapt (lib/image/parse.c), fed
 * what an image or the host holds: apt's sources, os-release, /etc/fstab, /etc/shadow, a
 * superblock. Each must stay inside its buffers and keep its contract: a mirror is a URI
 * without blanks or quotes; the unlocked shadow is the input less root's password field.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_image_text: invariant failed: %s (line %d)\n",       \
				#cond, __LINE__);                                                  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char mirror[128], code[48], *text, *out;
	struct uk_err err = {0};
	int r;

	r = uk_apt_mirror((const char *)data, size, mirror, sizeof(mirror));
	CHECK(r == 0 || r == -ENOENT || r == -EINVAL || r == -ENAMETOOLONG);
	if (r == 0)
		CHECK(strlen(mirror) < sizeof(mirror) && !strpbrk(mirror, " \t\n\"\\"));
	r = uk_os_codename((const char *)data, size, code, sizeof(code));
	CHECK(r == 0 || r == -ENOENT || r == -ENAMETOOLONG);
	r = uk_ext_superblock_check(data, size, &err);
	CHECK(r == 0 || (r == -EINVAL && err.msg[0]));
	text = malloc(size + 1);
	out = malloc(size + 1);
	if (!text || !out) {
		free(text);
		free(out);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	(void)uk_fstab_has_entries(text);
	r = uk_shadow_unlock_root(text, out, size + 1);
	CHECK(r == 1 || r == 0 || r == -EINVAL);
	if (r == 1)
		CHECK(strlen(out) < strlen(text) && strstr(out, "root:"));
	free(text);
	free(out);
	return 0;
}
