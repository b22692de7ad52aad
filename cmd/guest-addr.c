// SPDX-License-Identifier: LGPL-2.1-or-later
/* A guest's interfaces, MACs and addresses in `umlkit status` and `list` (lib/guest/addr.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "umlkit/guest.h"
#include "cmd.h"

static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *iface_json(const struct uk_guest_iface *f)
{
	json_t *j = json_object(), *macs = json_array(), *fw = json_array();

	json_object_set_new(j, "name", json_string(f->name));
	json_object_set_new(j, "index", json_integer(f->index));
	json_object_set_new(j, "kind", json_string(f->kind));
	json_object_set_new(j, "link", json_string(f->link));
	json_object_set_new(j, "port", f->port >= 0 ? json_integer(f->port) : json_null());
	json_object_set_new(j, "mac", str_or_null(f->mac));
	for (int i = 0; i < f->nmacs; i++)
		json_array_append_new(macs, json_string(f->macs[i]));
	json_object_set_new(j, "macs", macs);
	json_object_set_new(j, "ipv4", str_or_null(f->ipv4));
	json_object_set_new(j, "prefix",
			    f->ipv4[0] && f->prefix >= 0 ? json_integer(f->prefix) : json_null());
	json_object_set_new(j, "source", f->ipv4[0] ? str_or_null(f->source) : json_null());
	json_object_set_new(j, "dhcp", json_boolean(f->dhcp));
	for (int i = 0; i < f->nfwd; i++) {
		const struct uk_guest_iface_fwd *w = &f->fwd[i];
		json_t *o = json_object();

		json_object_set_new(o, "spec", json_string(w->spec));
		json_object_set_new(o, "state", str_or_null(w->state));
		json_object_set_new(o, "guest_addr", str_or_null(w->guest_addr));
		json_object_set_new(o, "guest_port",
				    w->guest_port > 0 ? json_integer(w->guest_port) : json_null());
		json_object_set_new(o, "error", str_or_null(w->error));
		json_array_append_new(fw, o);
	}
	json_object_set_new(j, "forwards", fw);
	json_object_set_new(j, "note", str_or_null(f->note));
	return j;
}

json_t *uk_guest_nets_json(const char *name)
{
	struct uk_guest_iface *f;
	json_t *arr = json_array();
	int n;

	if (uk_guest_ifaces(name, &f, &n, NULL) < 0)
		return arr;
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, iface_json(&f[i]));
	free(f);
	return arr;
}

static void print_iface(const struct uk_guest_iface *f)
{
	const char *mac = f->mac[0] ? f->mac : "-";
	const char *dhcp = f->port >= 0 ? " (dhcp: no lease seen)" : " (dhcp)";
	char port[24] = "";

	if (f->port >= 0)
		snprintf(port, sizeof(port), " port %d", f->port);
	if (!f->mac[0] && f->nmacs)
		mac = f->macs[0];
	printf("  %s: %s %s%s, mac %s, ipv4 ", f->name, f->kind, f->link, port, mac);
	if (f->ipv4[0] && f->prefix >= 0)
		printf("%s/%d (%s)\n", f->ipv4, f->prefix, f->source);
	else if (f->ipv4[0])
		printf("%s (%s)\n", f->ipv4, f->source);
	else
		printf("-%s\n", f->dhcp ? dhcp : "");
	for (int i = 0; i < f->nfwd; i++) {
		const struct uk_guest_iface_fwd *w = &f->fwd[i];

		printf("    forward %s", w->spec);
		if (w->guest_addr[0])
			printf(" -> %s:%d", w->guest_addr, w->guest_port);
		else if (w->state[0])
			printf(" (%s for the guest's address)", w->state);
		printf("%s%s\n", w->error[0] ? ": " : "", w->error);
	}
	if (f->note[0])
		printf("    (%s)\n", f->note);
}

void uk_guest_nets_print(const char *name)
{
	struct uk_guest_iface *f;
	int n;

	if (uk_guest_ifaces(name, &f, &n, NULL) < 0)
		return;
	for (int i = 0; i < n; i++)
		print_iface(&f[i]);
	free(f);
}
