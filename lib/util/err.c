// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "umlkit/err.h"

static int code_or_eio(int code)
{
	return code > 0 ? code : EIO;
}

int uk_err_set(struct uk_err *err, int code, const char *fmt, ...)
{
	code = code_or_eio(code);
	if (err) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return -code;
}

int uk_err_sys(struct uk_err *err, int code, const char *fmt, ...)
{
	code = code_or_eio(code);
	if (err) {
		va_list ap;
		size_t n;

		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(code));
		err->code = code;
	}
	return -code;
}

int uk_err_prefix(struct uk_err *err, int r, const char *fmt, ...)
{
	char prefix[UK_ERR_MSG_MAX];
	size_t plen, olen;
	va_list ap;

	r = r < 0 ? r : -EIO;
	if (!err)
		return r;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strnlen(prefix, sizeof(err->msg) - 1);
	olen = strnlen(err->msg, sizeof(err->msg) - 1);
	if (plen + olen > sizeof(err->msg) - 1)
		olen = sizeof(err->msg) - 1 - plen;
	memmove(err->msg + plen, err->msg, olen);
	memcpy(err->msg, prefix, plen);
	err->msg[plen + olen] = '\0';
	err->code = -r;
	return r;
}

void uk_err_clear(struct uk_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
