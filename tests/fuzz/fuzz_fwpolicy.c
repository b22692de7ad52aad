// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the firewall policy parser and renderer. Any input either fails with
 * a message, or gives a complete policy whose rendering names only umlkit's tables, holds no
 * quote or newline from the input outside its rule lines, and survives a format/parse round
 * trip unchanged. A violated invariant aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_fwpolicy: invariant failed: %s (line %d)\n", #cond,  \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uk_fw_policy p, q;
	struct uk_err err = {0};
	char text[2048];
	char *out = NULL;
	int r = uk_fw_policy_parse(data, size, &p, &err);

	if (r < 0) {
		CHECK(err.code == -r);
		CHECK(err.msg[0] != '\0');
		return 0;
	}
	CHECK(p.name[0] && p.tap[0] && p.has_ip);
	CHECK(strlen(p.tap) <= UK_IFNAME_MAX && !strpbrk(p.tap, "\" \n;{}"));
	CHECK(!strpbrk(p.name, "\" \n;{}/"));
	CHECK(p.nallow >= 0 && p.nallow <= UK_FW_PORTS_MAX && p.nout >= 0 &&
	      p.nout <= UK_FW_PORTS_MAX);
	CHECK(uk_fw_policy_format(&p, text, sizeof(text)) == 0);
	CHECK(uk_fw_policy_parse(text, strlen(text), &q, &err) == 0);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	CHECK(uk_fw_render(&p, &out, &err) == 0);
	for (char *l = out; l && *l;) {
		char *nl = strchr(l, '\n');

		CHECK(nl != NULL);
		*nl = '\0';
		CHECK(l[0] == '#' || strstr(l, "add table bridge umlkit") == l ||
		      strstr(l, "add table inet umlkit") == l ||
		      (strstr(l, " bridge umlkit g-") || strstr(l, " inet umlkit g-")));
		l = nl + 1;
	}
	free(out);
	return 0;
}
