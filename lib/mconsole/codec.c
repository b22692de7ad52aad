// SPDX-License-Identifier: LGPL-2.1-or-later
/* mconsole datagrams: request, reply and notify, as bytes at named offsets (host-endian). */
#include <errno.h>
#include <string.h>

#include "umlkit/mconsole.h"
#include "umlkit/util.h"

/* field offsets */
enum {
	REQ_MAGIC = 0,
	REQ_VERSION = 4,
	REQ_LEN = 8,
	REQ_DATA = 12,
	REP_ERR = 0,
	REP_MORE = 4,
	REP_LEN = 8,
	REP_DATA = 12,
	NOT_MAGIC = 0,
	NOT_VERSION = 4,
	NOT_TYPE = 8,
	NOT_LEN = 12,
	NOT_DATA = 16,
};

/* the kernel's headerless answer to a request with a wrong magic */
static const char v0_prefix[] = "ERR ";

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

int uk_mc_request_encode(const char *cmd, void *buf, size_t buflen, struct uk_err *err)
{
	size_t len = strlen(cmd);
	uint8_t *b = buf;

	if (len >= UK_MC_MAX_DATA)
		return uk_err_set(err, E2BIG, "mconsole command of %zu bytes: the limit is %u", len,
				  UK_MC_MAX_DATA - 1);
	if (buflen < REQ_DATA + len)
		return uk_err_set(err, ENOBUFS, "mconsole request: buffer of %zu bytes, %zu needed",
				  buflen, REQ_DATA + len);
	put32(b + REQ_MAGIC, UK_MC_MAGIC);
	put32(b + REQ_VERSION, UK_MC_VERSION);
	put32(b + REQ_LEN, (uint32_t)len);
	memcpy(b + REQ_DATA, cmd, len);
	return (int)(REQ_DATA + len);
}

int uk_mc_request_decode(const void *buf, size_t len, struct uk_mc_request *req, struct uk_err *err)
{
	const uint8_t *b = buf;
	uint32_t magic, dlen;

	if (len < REQ_DATA)
		return uk_err_set(err, EBADMSG,
				  "mconsole request: %zu bytes, shorter than the %u-byte header",
				  len, REQ_DATA);
	magic = get32(b + REQ_MAGIC);
	if (magic != UK_MC_MAGIC)
		return uk_err_set(err, EBADMSG, "mconsole request: magic 0x%08x is not 0x%08x",
				  magic, UK_MC_MAGIC);
	req->version = get32(b + REQ_VERSION);
	if (req->version != UK_MC_VERSION)
		return uk_err_set(err, EBADMSG, "mconsole request: version %u is not %u",
				  req->version, UK_MC_VERSION);
	dlen = get32(b + REQ_LEN);
	if (dlen >= UK_MC_MAX_DATA)
		return uk_err_set(err, EBADMSG, "mconsole request: len %u is not below %u", dlen,
				  UK_MC_MAX_DATA);
	if (dlen > len - REQ_DATA)
		return uk_err_set(err, EBADMSG, "mconsole request: len %u but %zu data bytes", dlen,
				  len - REQ_DATA);
	memcpy(req->data, b + REQ_DATA, dlen);
	req->data[dlen] = '\0';
	req->len = strlen(req->data);
	return 0;
}

int uk_mc_reply_encode(uint32_t errv, bool more, const char *text, size_t textlen, void *buf,
		       size_t buflen, struct uk_err *err)
{
	uint8_t *b = buf;

	if (textlen >= UK_MC_MAX_DATA)
		return uk_err_set(err, E2BIG, "mconsole reply of %zu bytes: the limit is %u",
				  textlen, UK_MC_MAX_DATA - 1);
	if (buflen < REP_DATA + textlen + 1)
		return uk_err_set(err, ENOBUFS, "mconsole reply: buffer of %zu bytes, %zu needed",
				  buflen, REP_DATA + textlen + 1);
	put32(b + REP_ERR, errv);
	put32(b + REP_MORE, more ? 1 : 0);
	put32(b + REP_LEN, (uint32_t)textlen + 1);
	if (textlen)
		memcpy(b + REP_DATA, text, textlen);
	b[REP_DATA + textlen] = '\0';
	return (int)(REP_DATA + textlen + 1);
}

int uk_mc_reply_decode(const void *buf, size_t len, struct uk_mc_packet *p, struct uk_err *err)
{
	const uint8_t *b = buf;
	uint32_t dlen;

	memset(p, 0, offsetof(struct uk_mc_packet, text));
	p->text[0] = '\0';
	if (len >= sizeof(v0_prefix) - 1 && !memcmp(b, v0_prefix, sizeof(v0_prefix) - 1)) {
		/* the kernel sends 63 bytes without NUL; no error value has these bytes */
		if (len > UK_MC_MAX_DATA)
			return uk_err_set(err, EBADMSG,
					  "mconsole reply: headerless reply of %zu bytes, over %u",
					  len, UK_MC_MAX_DATA);
		p->v0 = true;
		p->err = UK_MC_ERR_FAIL;
		memcpy(p->text, b, len);
		p->text[len] = '\0';
		p->len = strlen(p->text);
		return 0;
	}
	if (len < REP_DATA)
		return uk_err_set(err, EBADMSG,
				  "mconsole reply: %zu bytes, shorter than the %u-byte header", len,
				  REP_DATA);
	dlen = get32(b + REP_LEN);
	if (dlen > UK_MC_MAX_DATA)
		return uk_err_set(err, EBADMSG, "mconsole reply: len %u is over %u", dlen,
				  UK_MC_MAX_DATA);
	if (dlen > len - REP_DATA)
		return uk_err_set(err, EBADMSG, "mconsole reply: len %u but %zu data bytes", dlen,
				  len - REP_DATA);
	p->err = get32(b + REP_ERR);
	p->more = get32(b + REP_MORE) != 0;
	memcpy(p->text, b + REP_DATA, dlen);
	p->text[dlen] = '\0';
	p->len = strlen(p->text);
	return 0;
}

int uk_mc_notify_encode(enum uk_mc_notify_type type, const void *data, size_t datalen, void *buf,
			size_t buflen, struct uk_err *err)
{
	uint8_t *b = buf;

	if ((unsigned)type > UK_MC_NOTIFY_USER)
		return uk_err_set(err, EINVAL, "mconsole notify: type %u is not 0..3",
				  (unsigned)type);
	if (datalen > UK_MC_MAX_DATA)
		return uk_err_set(err, E2BIG, "mconsole notify of %zu bytes: the limit is %u",
				  datalen, UK_MC_MAX_DATA);
	if (buflen < NOT_DATA + datalen)
		return uk_err_set(err, ENOBUFS, "mconsole notify: buffer of %zu bytes, %zu needed",
				  buflen, NOT_DATA + datalen);
	put32(b + NOT_MAGIC, UK_MC_MAGIC);
	put32(b + NOT_VERSION, UK_MC_VERSION);
	put32(b + NOT_TYPE, (uint32_t)type);
	put32(b + NOT_LEN, (uint32_t)datalen);
	if (datalen)
		memcpy(b + NOT_DATA, data, datalen);
	return (int)(NOT_DATA + datalen);
}

int uk_mc_notify_decode(const void *buf, size_t len, struct uk_mc_notify *n, struct uk_err *err)
{
	const uint8_t *b = buf;
	size_t shift = 0; /* 4 with uml_watchdog's 8-byte magic */
	uint32_t magic, version, type, dlen;

	memset(n, 0, offsetof(struct uk_mc_notify, data));
	n->data[0] = '\0';
	if (len < NOT_DATA)
		return uk_err_set(err, EBADMSG,
				  "mconsole notify: %zu bytes, shorter than the %u-byte header",
				  len, NOT_DATA);
	magic = get32(b + NOT_MAGIC);
	if (magic != UK_MC_MAGIC)
		return uk_err_set(err, EBADMSG, "mconsole notify: magic 0x%08x is not 0x%08x",
				  magic, UK_MC_MAGIC);
	version = get32(b + NOT_VERSION);
	if (version == 0 && len >= NOT_DATA + 4 && get32(b + NOT_VERSION + 4) == UK_MC_VERSION) {
		/* `unsigned long magic` on a 64-bit little-endian host: the high half is 0 */
		shift = 4;
		version = UK_MC_VERSION;
		n->long_magic = true;
	}
	if (version != UK_MC_VERSION)
		return uk_err_set(err, EBADMSG, "mconsole notify: version %u is not %u", version,
				  UK_MC_VERSION);
	type = get32(b + NOT_TYPE + shift);
	if (type > UK_MC_NOTIFY_USER)
		return uk_err_set(err, EBADMSG, "mconsole notify: type %u is not 0..3", type);
	dlen = get32(b + NOT_LEN + shift);
	if (dlen > UK_MC_MAX_DATA)
		return uk_err_set(err, EBADMSG, "mconsole notify: len %u is over %u", dlen,
				  UK_MC_MAX_DATA);
	if (dlen > len - NOT_DATA - shift)
		return uk_err_set(err, EBADMSG, "mconsole notify: len %u but %zu data bytes", dlen,
				  len - NOT_DATA - shift);
	n->type = (enum uk_mc_notify_type)type;
	memcpy(n->data, b + NOT_DATA + shift, dlen);
	n->data[dlen] = '\0';
	/* types 0 and 1 carry a NUL (the kernel's strlen + 1); type 3 is raw bytes */
	if (type != UK_MC_NOTIFY_USER && dlen > 0 && n->data[dlen - 1] == '\0')
		dlen--;
	n->len = dlen;
	return 0;
}
