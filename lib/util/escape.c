// SPDX-License-Identifier: LGPL-2.1-or-later
/* A guest's text made safe to print: control characters as \xHH (umlkit/util.h). */
#include <string.h>

#include "umlkit/util.h"

static bool passes(unsigned char c)
{
	return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c != 0x7f);
}

static size_t hex(unsigned char c, char *out)
{
	static const char digits[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	out[2] = digits[c >> 4];
	out[3] = digits[c & 15];
	return 4;
}

/* 0xC2 then c: the UTF-8 form of a C1 control? */
static bool is_c1(unsigned char c)
{
	return c >= 0x80 && c <= 0x9f;
}

size_t uk_esc_chunk(struct uk_esc *st, const void *in, size_t len, char *out)
{
	const unsigned char *b = in;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = b[i];

		if (st->held) {
			st->held = false;
			if (is_c1(c)) {
				o += hex(0xc2, out + o);
				o += hex(c, out + o);
				continue;
			}
			out[o++] = (char)0xc2;
		}
		if (c == 0xc2)
			st->held = true;
		else if (passes(c))
			out[o++] = (char)c;
		else
			o += hex(c, out + o);
	}
	return o;
}

size_t uk_esc_end(struct uk_esc *st, char *out)
{
	if (!st->held)
		return 0;
	st->held = false;
	out[0] = (char)0xc2;
	return 1;
}

void uk_esc_str(const char *in, char *out, size_t outlen)
{
	struct uk_esc st = {0};
	char buf[UK_ESC_OUT(64)];
	size_t o = 0, len = strlen(in);

	for (size_t i = 0; i < len; i += 64) {
		size_t n = uk_esc_chunk(&st, in + i, UK_MIN((size_t)64, len - i), buf);

		if (i + 64 >= len)
			n += uk_esc_end(&st, buf + n);
		n = UK_MIN(n, outlen - 1 - o);
		memcpy(out + o, buf, n);
		o += n;
	}
	out[o] = '\0';
}
