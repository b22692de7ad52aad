// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The agent's wire format (umlkit/agent.h): pure encoders and decoders over byte buffers,
 * no I/O. Compiled into the in-guest agent as well, so it needs nothing of libumlkit but the
 * error helpers. Every field is checked before use: what the guest sends is hostile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/agent.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static const char *const type_names[] = {
	[UK_AGENT_HELLO] = "HELLO",	    [UK_AGENT_EXEC] = "EXEC",
	[UK_AGENT_STDIN] = "STDIN",	    [UK_AGENT_STDOUT] = "STDOUT",
	[UK_AGENT_STDERR] = "STDERR",	    [UK_AGENT_ACK] = "ACK",
	[UK_AGENT_WINSIZE] = "WINSIZE",	    [UK_AGENT_CLOSE] = "CLOSE",
	[UK_AGENT_STARTED] = "STARTED",	    [UK_AGENT_EXIT] = "EXIT",
	[UK_AGENT_ERROR] = "ERROR",	    [UK_AGENT_RING] = "RING",
	[UK_AGENT_RING_FREE] = "RING_FREE", [UK_AGENT_LINE_ACK] = "LINE_ACK",
	[UK_AGENT_A_DIR] = "A_DIR",	    [UK_AGENT_A_FILE] = "A_FILE",
	[UK_AGENT_A_DATA] = "A_DATA",	    [UK_AGENT_A_SYMLINK] = "A_SYMLINK",
	[UK_AGENT_A_END] = "A_END",
};

const char *uk_agent_type_name(uint8_t type)
{
	if (type < sizeof(type_names) / sizeof(type_names[0]) && type_names[type])
		return type_names[type];
	return NULL;
}

ssize_t uk_agent_frame_decode(const void *buf, size_t len, struct uk_agent_frame *f,
			      struct uk_err *err)
{
	const uint8_t *p = buf;
	uint32_t plen;

	if (len < 2)
		return len && p[0] != 'U' ? uk_err_set(err, EBADMSG, "agent frame: bad magic") : 0;
	if (p[0] != 'U' || p[1] != 'K')
		return uk_err_set(err, EBADMSG, "agent frame: bad magic %02x%02x", p[0], p[1]);
	if (len < UK_AGENT_HDR)
		return 0;
	if (!uk_agent_type_name(p[2]))
		return uk_err_set(err, EBADMSG, "agent frame: unknown type %u", p[2]);
	if (p[3])
		return uk_err_set(err, EBADMSG, "agent frame: reserved byte %u is not 0", p[3]);
	plen = get32(p + 8);
	if (plen > UK_AGENT_PAYLOAD_MAX)
		return uk_err_set(err, EBADMSG, "agent frame: %s payload of %u bytes (at most %u)",
				  uk_agent_type_name(p[2]), plen, UK_AGENT_PAYLOAD_MAX);
	if (len - UK_AGENT_HDR < plen)
		return 0;
	f->type = p[2];
	f->session = get32(p + 4);
	f->len = plen;
	f->payload = p + UK_AGENT_HDR;
	return (ssize_t)(UK_AGENT_HDR + plen);
}

void uk_agent_frame_header(uint8_t hdr[UK_AGENT_HDR], uint8_t type, uint32_t session, uint32_t len)
{
	hdr[0] = 'U';
	hdr[1] = 'K';
	hdr[2] = type;
	hdr[3] = 0;
	put32(hdr + 4, session);
	put32(hdr + 8, len);
}

ssize_t uk_agent_frame_encode(void *out, size_t cap, uint8_t type, uint32_t session,
			      const void *payload, size_t len)
{
	if (len > UK_AGENT_PAYLOAD_MAX || cap < UK_AGENT_HDR + len)
		return -E2BIG;
	uk_agent_frame_header(out, type, session, (uint32_t)len);
	if (len)
		memcpy((uint8_t *)out + UK_AGENT_HDR, payload, len);
	return (ssize_t)(UK_AGENT_HDR + len);
}

size_t uk_agent_frame_u32(uint8_t out[UK_AGENT_HDR + 4], uint8_t type, uint32_t session, uint32_t v)
{
	uk_agent_frame_header(out, type, session, 4);
	put32(out + UK_AGENT_HDR, v);
	return UK_AGENT_HDR + 4;
}

static int bad(struct uk_err *err, const struct uk_agent_frame *f, const char *what)
{
	return uk_err_set(err, EBADMSG, "agent %s: %s", uk_agent_type_name(f->type), what);
}

int uk_agent_u32_decode(const struct uk_agent_frame *f, uint32_t *v, struct uk_err *err)
{
	if (f->len != 4)
		return bad(err, f, "payload is not 4 bytes");
	*v = get32(f->payload);
	return 0;
}

/* Copy printable ASCII of src (len bytes) into dst, others as '?'. */
static void printable(char *dst, size_t cap, const uint8_t *src, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[n] = '\0';
}

int uk_agent_hello_decode(const struct uk_agent_frame *f, struct uk_agent_hello *h,
			  struct uk_err *err)
{
	if (f->len < 8 || f->len > 8 + 64)
		return bad(err, f, "payload is not 8..72 bytes");
	h->proto = get32(f->payload);
	h->flags = get32(f->payload + 4);
	printable(h->version, sizeof(h->version), f->payload + 8, f->len - 8);
	return 0;
}

int uk_agent_exit_decode(const struct uk_agent_frame *f, int *status, int *sig, struct uk_err *err)
{
	int32_t st, sg;

	if (f->len != 8)
		return bad(err, f, "payload is not 8 bytes");
	st = (int32_t)get32(f->payload);
	sg = (int32_t)get32(f->payload + 4);
	if (st < -1 || st > 255 || sg < 0 || sg > 127 || (st == -1) == (sg == 0))
		return bad(err, f, "not one exit status 0..255 or one signal 1..127");
	*status = st;
	*sig = sg;
	return 0;
}

int uk_agent_error_decode(const struct uk_agent_frame *f, int *code, char *msg, size_t msglen,
			  struct uk_err *err)
{
	uint32_t c;

	if (f->len < 4 || f->len > 4 + UK_AGENT_TEXT_MAX)
		return bad(err, f, "payload is not 4..1028 bytes");
	c = get32(f->payload);
	if (c == 0 || c > 4095)
		return bad(err, f, "errno out of range");
	*code = (int)c;
	printable(msg, msglen, f->payload + 4, f->len - 4);
	return 0;
}

int uk_agent_winsize_decode(const struct uk_agent_frame *f, uint16_t *rows, uint16_t *cols,
			    struct uk_err *err)
{
	if (f->len != 4)
		return bad(err, f, "payload is not 4 bytes");
	*rows = get16(f->payload);
	*cols = get16(f->payload + 2);
	return 0;
}

int uk_agent_ring_decode(const struct uk_agent_frame *f, struct uk_agent_ring *r,
			 struct uk_err *err)
{
	if (f->len != 12)
		return bad(err, f, "payload is not 12 bytes");
	r->type = f->payload[0];
	r->off = get32(f->payload + 4);
	r->len = get32(f->payload + 8);
	if (f->payload[1] || f->payload[2] || f->payload[3])
		return bad(err, f, "reserved bytes are not 0");
	if (r->type != UK_AGENT_EXEC && r->type != UK_AGENT_STDIN)
		return bad(err, f, "inner type is not EXEC or STDIN");
	if (r->len == 0 || r->len > UK_AGENT_PAYLOAD_MAX || r->off % UK_AGENT_RING_ALIGN ||
	    r->off >= UK_AGENT_RING_SIZE || r->len > UK_AGENT_RING_SIZE - r->off)
		return bad(err, f, "chunk out of the ring");
	return 0;
}

/* n NUL-terminated strings from p[*off..len) into out (NULL-terminated); -1 when one has no
 * end. */
static int strings(const uint8_t *p, size_t len, size_t *off, int n, const char **out)
{
	for (int i = 0; i < n; i++) {
		const uint8_t *z = memchr(p + *off, '\0', len - *off);

		if (!z)
			return -1;
		out[i] = (const char *)p + *off;
		*off = (size_t)(z - p) + 1;
	}
	out[n] = NULL;
	return 0;
}

int uk_agent_exec_decode(const void *payload, size_t len, struct uk_agent_exec *x,
			 struct uk_err *err)
{
	const uint8_t *p = payload;
	uint32_t argc, envc;
	size_t off = 16;

	if (len < 16)
		return uk_err_set(err, EBADMSG, "agent EXEC: payload of %zu bytes (at least 16)",
				  len);
	x->flags = get32(p);
	x->rows = get16(p + 4);
	x->cols = get16(p + 6);
	argc = get32(p + 8);
	envc = get32(p + 12);
	if (x->flags & ~UK_AGENT_EXEC_FLAGS)
		return uk_err_set(err, EBADMSG, "agent EXEC: unknown flags 0x%x", x->flags);
	if (argc < 1 || argc > UK_AGENT_ARGC_MAX || envc > UK_AGENT_ENVC_MAX)
		return uk_err_set(err, EBADMSG, "agent EXEC: %u arguments and %u variables", argc,
				  envc);
	x->argc = (int)argc;
	x->envc = (int)envc;
	if (strings(p, len, &off, x->argc, x->argv) < 0 ||
	    strings(p, len, &off, x->envc, x->envp) < 0 || off != len)
		return uk_err_set(err, EBADMSG, "agent EXEC: the strings do not fill the payload");
	if (!x->argv[0][0])
		return uk_err_set(err, EBADMSG, "agent EXEC: empty command");
	for (int i = 0; i < x->envc; i++) {
		const char *eq = strchr(x->envp[i], '=');

		if (!eq || eq == x->envp[i])
			return uk_err_set(err, EBADMSG, "agent EXEC: variable %d is not NAME=VALUE",
					  i);
	}
	return 0;
}

ssize_t uk_agent_exec_encode(void *out, size_t cap, uint32_t flags, uint16_t rows, uint16_t cols,
			     char *const *argv, char *const *envp)
{
	uint8_t *p = out;
	size_t off = 16;
	int argc = 0, envc = 0;

	if (cap < 16 || !argv || !argv[0] || !argv[0][0] || (flags & ~UK_AGENT_EXEC_FLAGS))
		return cap < 16 ? -E2BIG : -EINVAL;
	for (int pass = 0; pass < 2; pass++) {
		char *const *v = pass ? envp : argv;

		for (int i = 0; v && v[i]; i++) {
			size_t n = strlen(v[i]) + 1;

			if (pass && (!strchr(v[i], '=') || v[i][0] == '='))
				return -EINVAL;
			if (n > cap - off)
				return -E2BIG;
			memcpy(p + off, v[i], n);
			off += n;
			if (pass)
				envc++;
			else
				argc++;
		}
	}
	if (argc > UK_AGENT_ARGC_MAX || envc > UK_AGENT_ENVC_MAX || off > UK_AGENT_PAYLOAD_MAX)
		return -E2BIG;
	put32(p, flags);
	put16(p + 4, rows);
	put16(p + 6, cols);
	put32(p + 8, (uint32_t)argc);
	put32(p + 12, (uint32_t)envc);
	return (ssize_t)off;
}

bool uk_agent_name_ok(const char *name, size_t len)
{
	size_t start = 0;

	if (len == 0 || len > UK_AGENT_NAME_MAX || memchr(name, '\0', len))
		return false;
	for (size_t i = 0; i <= len; i++) {
		size_t n;

		if (i < len && name[i] != '/')
			continue;
		n = i - start;
		if (n == 0 || n > 255 || (n == 1 && name[start] == '.') ||
		    (n == 2 && name[start] == '.' && name[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

int uk_agent_entry_decode(const struct uk_agent_frame *f, struct uk_agent_entry *e,
			  struct uk_err *err)
{
	const uint8_t *p = f->payload;
	size_t head, nlen;

	e->type = f->type;
	e->size = 0;
	e->target[0] = '\0';
	switch (f->type) {
	case UK_AGENT_A_DIR:
	case UK_AGENT_A_FILE:
		head = f->type == UK_AGENT_A_DIR ? 4 : 12;
		if (f->len <= head)
			return bad(err, f, "payload too short");
		e->mode = get32(p) & 07777;
		if (f->type == UK_AGENT_A_FILE)
			e->size = (uint64_t)get32(p + 4) << 32 | get32(p + 8);
		nlen = f->len - head;
		if (!uk_agent_name_ok((const char *)p + head, nlen))
			return bad(err, f, "bad name");
		memcpy(e->name, p + head, nlen);
		e->name[nlen] = '\0';
		return 0;
	case UK_AGENT_A_SYMLINK: {
		const uint8_t *z = memchr(p, '\0', f->len);
		size_t tlen;

		e->mode = 0777;
		if (!z)
			return bad(err, f, "no NUL after the name");
		nlen = (size_t)(z - p);
		tlen = f->len - nlen - 1;
		if (!uk_agent_name_ok((const char *)p, nlen))
			return bad(err, f, "bad name");
		if (tlen == 0 || tlen > UK_AGENT_NAME_MAX || memchr(z + 1, '\0', tlen))
			return bad(err, f, "bad target");
		memcpy(e->name, p, nlen);
		e->name[nlen] = '\0';
		memcpy(e->target, z + 1, tlen);
		e->target[tlen] = '\0';
		return 0;
	}
	}
	return bad(err, f, "not an archive entry");
}

ssize_t uk_agent_entry_encode(void *out, size_t cap, const struct uk_agent_entry *e)
{
	uint8_t *p = (uint8_t *)out + UK_AGENT_HDR;
	size_t nlen = strlen(e->name), head, len;

	if (!uk_agent_name_ok(e->name, nlen))
		return -EINVAL;
	switch (e->type) {
	case UK_AGENT_A_DIR:
	case UK_AGENT_A_FILE:
		head = e->type == UK_AGENT_A_DIR ? 4 : 12;
		len = head + nlen;
		if (cap < UK_AGENT_HDR + len)
			return -E2BIG;
		put32(p, e->mode & 07777);
		if (e->type == UK_AGENT_A_FILE) {
			put32(p + 4, (uint32_t)(e->size >> 32));
			put32(p + 8, (uint32_t)e->size);
		}
		memcpy(p + head, e->name, nlen);
		break;
	case UK_AGENT_A_SYMLINK: {
		size_t tlen = strlen(e->target);

		if (!tlen || tlen > UK_AGENT_NAME_MAX)
			return -EINVAL;
		len = nlen + 1 + tlen;
		if (cap < UK_AGENT_HDR + len)
			return -E2BIG;
		memcpy(p, e->name, nlen + 1);
		memcpy(p + nlen + 1, e->target, tlen);
		break;
	}
	default:
		return -EINVAL;
	}
	uk_agent_frame_header(out, e->type, 0, (uint32_t)len);
	return (ssize_t)(UK_AGENT_HDR + len);
}

int uk_agent_rbuf_init(struct uk_agent_rbuf *b)
{
	b->used = b->start = 0;
	b->buf = malloc(UK_AGENT_FRAME_MAX);
	return b->buf ? 0 : -ENOMEM;
}

void uk_agent_rbuf_free(struct uk_agent_rbuf *b)
{
	free(b->buf);
	b->buf = NULL;
}

uint8_t *uk_agent_rbuf_space(struct uk_agent_rbuf *b, size_t *room)
{
	if (b->start) {
		memmove(b->buf, b->buf + b->start, b->used - b->start);
		b->used -= b->start;
		b->start = 0;
	}
	*room = UK_AGENT_FRAME_MAX - b->used;
	return b->buf + b->used;
}

void uk_agent_rbuf_fill(struct uk_agent_rbuf *b, size_t n)
{
	b->used += n;
}

int uk_agent_rbuf_next(struct uk_agent_rbuf *b, struct uk_agent_frame *f, struct uk_err *err)
{
	ssize_t n = uk_agent_frame_decode(b->buf + b->start, b->used - b->start, f, err);

	if (n <= 0)
		return (int)n;
	b->start += (size_t)n;
	if (b->start == b->used)
		b->start = b->used = 0; /* f->payload stays valid until the next fill */
	return 1;
}
