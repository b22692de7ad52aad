/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Error reporting for libumlkit.
 *
 * Library functions return 0 on success or a negative errno, and fill an optional
 * struct uk_err with that errno and a message that carries its context
 * ("web.cow: header: alignment 0 is not a power of two"). Only cmd/ prints it.
 */
#ifndef UMLKIT_ERR_H
#define UMLKIT_ERR_H

#include <stddef.h>

#define UK_ERR_MSG_MAX 1024

struct uk_err {
	int code;		  /* positive errno, 0 when no error was recorded */
	char msg[UK_ERR_MSG_MAX]; /* human message, no trailing newline */
};

/* Record an error; returns -code so callers can `return uk_err_set(...)`, err or no err
 * (-EIO when code is not positive). */
int uk_err_set(struct uk_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record an error and append ": strerror(code)". Returns -code. */
int uk_err_sys(struct uk_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend context ("file.cow: ") to the message recorded with the failure r (the negative
 * errno a callee returned), and record r's code. Returns r, err or no err (-EIO when r is
 * not negative): `return uk_err_prefix(err, r, "%s: ", path);`. */
int uk_err_prefix(struct uk_err *err, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void uk_err_clear(struct uk_err *err);

#endif
