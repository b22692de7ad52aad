/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The client side's helpers shared by its files (link.c, vxlan-client.c). Not public API. */
#ifndef UK_SWITCH_CLIENT_INTERNAL_H
#define UK_SWITCH_CLIENT_INTERNAL_H

#include <jansson.h>

#include "umlkit/err.h"

/* The ports array of switch name (a new reference), or NULL: *e is then -ENOENT when it is
 * not running, another -errno when it does not answer. */
json_t *uk_switch_ports_of(const char *name, int *e);
/* Remove port number port of switch name if its peer is still peer: 0 or -errno. */
int uk_switch_remove_port_of(const char *name, int port, const char *peer, struct uk_err *err);

#endif
