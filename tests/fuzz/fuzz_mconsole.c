// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the mconsole reply and notify decoders (and the request decoder, the
 * fake kernel's side). Any input either fails with EBADMSG and a message, or decodes to
 * fields that respect the limits and survive an encode/decode round trip. A violated
 * invariant aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/mconsole.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_mconsole: invariant failed: %s (line %d)\n", #cond,  \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_failure(int r, const struct uk_err *err)
{
	CHECK(r == -EBADMSG);
	CHECK(err->code == EBADMSG);
	CHECK(err->msg[0] != '\0');
	CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
}

static void fuzz_reply(const uint8_t *data, size_t size)
{
	static struct uk_mc_packet p, q;
	static uint8_t buf[UK_MC_REPLY_MAX];
	struct uk_err err = {0};
	int r, n;

	r = uk_mc_reply_decode(data, size, &p, &err);
	if (r < 0) {
		check_failure(r, &err);
		return;
	}
	CHECK(r == 0 && err.code == 0);
	CHECK(p.len <= UK_MC_MAX_DATA && p.len == strlen(p.text));
	if (p.v0) {
		CHECK(p.err == UK_MC_ERR_FAIL && !p.more && size <= UK_MC_MAX_DATA);
		CHECK(!memcmp(p.text, "ERR ", 4));
		return;
	}
	CHECK(size >= UK_MC_REPLY_HDR + p.len);
	CHECK(!memcmp(p.text, data + UK_MC_REPLY_HDR, p.len));
	if (p.len == UK_MC_MAX_DATA) {
		/* 512 bytes without a NUL decode, but the kernel's encoding needs room for one */
		CHECK(uk_mc_reply_encode(p.err, p.more, p.text, p.len, buf, sizeof(buf), NULL) ==
		      -E2BIG);
		return;
	}
	n = uk_mc_reply_encode(p.err, p.more, p.text, p.len, buf, sizeof(buf), NULL);
	CHECK(n == (int)(UK_MC_REPLY_HDR + p.len + 1));
	CHECK(uk_mc_reply_decode(buf, (size_t)n, &q, NULL) == 0);
	CHECK(q.err == p.err && q.more == p.more && !q.v0 && q.len == p.len);
	CHECK(!strcmp(q.text, p.text));
}

static void fuzz_notify(const uint8_t *data, size_t size)
{
	static struct uk_mc_notify n, m;
	static uint8_t buf[UK_MC_NOTIFY_MAX];
	struct uk_err err = {0};
	size_t wire;
	int r, len;

	r = uk_mc_notify_decode(data, size, &n, &err);
	if (r < 0) {
		check_failure(r, &err);
		return;
	}
	CHECK(r == 0 && err.code == 0);
	CHECK((unsigned)n.type <= UK_MC_NOTIFY_USER);
	CHECK(n.len <= UK_MC_MAX_DATA && n.data[n.len] == '\0');
	CHECK(size >= UK_MC_NOTIFY_HDR + (n.long_magic ? 4 : 0) + n.len);
	/* re-encode in the kernel's layout, with the NUL the kernel sends for types 0-2 */
	wire = n.len + (n.type != UK_MC_NOTIFY_USER && n.len < UK_MC_MAX_DATA ? 1 : 0);
	len = uk_mc_notify_encode(n.type, n.data, wire, buf, sizeof(buf), NULL);
	CHECK(len == (int)(UK_MC_NOTIFY_HDR + wire));
	CHECK(uk_mc_notify_decode(buf, (size_t)len, &m, NULL) == 0);
	CHECK(m.type == n.type && !m.long_magic);
	CHECK(!memcmp(m.data, n.data, n.len + 1));
	CHECK(m.len == n.len ||
	      (n.type != UK_MC_NOTIFY_USER && n.len == UK_MC_MAX_DATA && m.len == n.len));
}

static void fuzz_request(const uint8_t *data, size_t size)
{
	static struct uk_mc_request q;
	static uint8_t buf[UK_MC_REQUEST_MAX];
	struct uk_err err = {0};
	int r, n;

	r = uk_mc_request_decode(data, size, &q, &err);
	if (r < 0) {
		check_failure(r, &err);
		return;
	}
	CHECK(q.len < UK_MC_MAX_DATA && q.len == strlen(q.data));
	n = uk_mc_request_encode(q.data, buf, sizeof(buf), NULL);
	CHECK(n == (int)(UK_MC_REQUEST_HDR + q.len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_reply(data, size);
	fuzz_notify(data, size);
	fuzz_request(data, size);
	return 0;
}
