// SPDX-License-Identifier: LGPL-2.1-or-later
/* MAC addresses as text: the strict "xx:xx:xx:xx:xx:xx" that guests, the switch and its
 * reports share. Pure, no I/O, no allocation. */
#include <errno.h>
#include <string.h>

#include "umlkit/util.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly "xx:xx:xx:xx:xx:xx" (17 characters, hex digits of either case). mac is written
 * only on success. */
int uk_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	if (!s)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi, lo;

		/* s[3i] is checked before s[3i+1]: never read past a short string's NUL */
		hi = hexval(s[3 * i]);
		if (hi < 0)
			return -EINVAL;
		lo = hexval(s[3 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		if (s[3 * i + 2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, sizeof(m));
	return 0;
}

/* Lowercase "xx:xx:xx:xx:xx:xx" and a NUL: 18 bytes. */
void uk_mac_format(const uint8_t mac[6], char out[18])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 6; i++) {
		out[3 * i] = hex[mac[i] >> 4];
		out[3 * i + 1] = hex[mac[i] & 0xf];
		out[3 * i + 2] = i == 5 ? '\0' : ':';
	}
}
