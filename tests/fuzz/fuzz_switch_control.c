// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz target for the switch's control input that comes from outside: the legacy daemon
 * protocol's requests (byte 0 even) and the NAT uplink's forward specs (byte 0 odd; byte 1
 * chooses the form: full, key-only or a guest's). Aborts when a parse that succeeds breaks its
 * promises.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../lib/switch/swparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void legacy(const uint8_t *data, size_t size)
{
	struct legacy_req r;
	const char *why = NULL;
	int rc = uk_swd_legacy_parse(data, size, &r, &why);

	if (rc != 0) {
		if (rc != -EINVAL || !why)
			abort();
		return;
	}
	if (r.version != 0 && r.version != 1 && r.version != 3)
		abort();
	if (r.addrlen < 3 || r.addrlen > UK_LEGACY_ADDR_LEN)
		abort();
	if (r.addr[0] != (AF_UNIX & 0xff) || r.addr[1] != (AF_UNIX >> 8))
		abort();
}

static void forward(const uint8_t *data, size_t size, int form)
{
	char spec[256];
	struct nat_fwd f;
	struct uk_err err = {0};
	int rc;

	size = size < sizeof(spec) - 1 ? size : sizeof(spec) - 1;
	memcpy(spec, data, size);
	spec[size] = '\0';
	rc = uk_swd_nat_forward_parse(spec, form, &f, &err);
	if (rc < 0) {
		if (!err.code || !err.msg[0])
			abort(); /* every refusal says why */
		return;
	}
	if (rc != 0 || f.hport == 0 || f.owner != -1)
		abort();
	/* a key-only parse (forward-del) may still name the guest */
	if ((form != NAT_FWD_KEY || f.has_guest) && (!f.has_guest || f.gport == 0))
		abort();
	if (form == NAT_FWD_GUEST && f.gaddr.s_addr != 0) /* a guest's has no address given */
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (data[0] & 1)
		forward(data + 2, size - 2, data[1] % 3);
	else
		legacy(data + 1, size - 1);
	return 0;
}
