// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the guest agent's codec (umlkit/agent.h): any byte stream is cut into
 * frames by the receive buffer, as the supervisor and the agent do; each frame either fails
 * with EBADMSG and a message, or decodes (as every typed payload it could be) into fields
 * that respect the limits and survive an encode/decode round trip. A violated invariant
 * aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_agent: invariant failed: %s (line %d)\n", #cond,     \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_failure(int r, const struct uk_err *err)
{
	CHECK(r == -EBADMSG);
	CHECK(err->code == EBADMSG);
	CHECK(err->msg[0] != '\0');
}

static void fuzz_exec(const struct uk_agent_frame *f)
{
	static struct uk_agent_exec x, y;
	static uint8_t buf[UK_AGENT_PAYLOAD_MAX];
	struct uk_err err = {0};
	ssize_t n;

	if (uk_agent_exec_decode(f->payload, f->len, &x, &err) < 0) {
		check_failure(-err.code, &err);
		return;
	}
	CHECK(x.argc >= 1 && x.argc <= UK_AGENT_ARGC_MAX && x.envc <= UK_AGENT_ENVC_MAX);
	CHECK(x.argv[0][0] && !x.argv[x.argc] && !x.envp[x.envc]);
	CHECK(!(x.flags & ~UK_AGENT_EXEC_FLAGS));
	n = uk_agent_exec_encode(buf, sizeof(buf), x.flags, x.rows, x.cols, (char *const *)x.argv,
				 (char *const *)x.envp);
	CHECK(n == (ssize_t)f->len && !memcmp(buf, f->payload, f->len));
	CHECK(uk_agent_exec_decode(buf, (size_t)n, &y, NULL) == 0 && y.argc == x.argc);
}

static void fuzz_entry(const struct uk_agent_frame *f)
{
	static struct uk_agent_entry e, g;
	static uint8_t buf[UK_AGENT_FRAME_MAX];
	struct uk_agent_frame h;
	struct uk_err err = {0};
	ssize_t n;

	if (uk_agent_entry_decode(f, &e, &err) < 0) {
		check_failure(-err.code, &err);
		return;
	}
	CHECK(uk_agent_name_ok(e.name, strlen(e.name)));
	CHECK(e.name[0] != '/' && !strstr(e.name, "//") && strcmp(e.name, ".."));
	CHECK(!(e.mode & ~07777u));
	n = uk_agent_entry_encode(buf, sizeof(buf), &e);
	CHECK(n > 0);
	CHECK(uk_agent_frame_decode(buf, (size_t)n, &h, NULL) == n && h.type == f->type);
	CHECK(uk_agent_entry_decode(&h, &g, NULL) == 0);
	CHECK(!strcmp(e.name, g.name) && !strcmp(e.target, g.target) && e.mode == g.mode &&
	      e.size == g.size);
}

static void fuzz_frame(const struct uk_agent_frame *f)
{
	struct uk_agent_hello h;
	struct uk_agent_ring rg;
	char msg[UK_AGENT_TEXT_MAX + 1];
	uint32_t v;
	uint16_t rows, cols;
	int a, b;

	CHECK(uk_agent_type_name(f->type) && f->len <= UK_AGENT_PAYLOAD_MAX);
	fuzz_exec(f);
	fuzz_entry(f);
	if (uk_agent_u32_decode(f, &v, NULL) == 0)
		CHECK(f->len == 4);
	if (uk_agent_hello_decode(f, &h, NULL) == 0)
		CHECK(strlen(h.version) <= 64);
	if (uk_agent_exit_decode(f, &a, &b, NULL) == 0)
		CHECK((a >= 0 && a <= 255 && b == 0) || (a == -1 && b > 0 && b < 128));
	if (uk_agent_error_decode(f, &a, msg, sizeof(msg), NULL) == 0) {
		CHECK(a > 0 && a < 4096 && strlen(msg) <= UK_AGENT_TEXT_MAX);
		for (const char *c = msg; *c; c++)
			CHECK(*c >= 0x20 && *c < 0x7f);
	}
	if (uk_agent_winsize_decode(f, &rows, &cols, NULL) == 0)
		CHECK(f->len == 4);
	if (uk_agent_ring_decode(f, &rg, NULL) == 0)
		CHECK(rg.len && rg.len <= UK_AGENT_PAYLOAD_MAX &&
		      (uint64_t)rg.off + rg.len <= UK_AGENT_RING_SIZE &&
		      rg.off % UK_AGENT_RING_ALIGN == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uk_agent_rbuf rb;
	struct uk_agent_frame f;
	struct uk_err err = {0};
	size_t off = 0;
	int r;

	if (!rb.buf && uk_agent_rbuf_init(&rb) < 0)
		abort();
	rb.used = rb.start = 0;
	/* fed in pieces of up to 4096 bytes, as reads come */
	while (off < size) {
		size_t room, n;
		uint8_t *at = uk_agent_rbuf_space(&rb, &room);

		n = size - off < 4096 ? size - off : 4096;
		if (n > room)
			n = room;
		if (!n)
			break;
		memcpy(at, data + off, n);
		uk_agent_rbuf_fill(&rb, n);
		off += n;
		while ((r = uk_agent_rbuf_next(&rb, &f, &err)) > 0)
			fuzz_frame(&f);
		if (r < 0) {
			check_failure(r, &err);
			return 0;
		}
	}
	return 0;
}
