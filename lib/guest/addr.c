// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A guest's addresses: what each of its links is, its MAC and its IPv4 address, for
 * `umlkit status` and `list`.
 *
 * Where each comes from, the soundest source for each kind of link:
 *  - at start, the launcher records each link (kind, switch and port, MAC) in the state
 *    directory's "nets", with the address the host knows: --net ...,ip= of a tap or bridge
 *    (what its firewall policy is written for), or the guest's own umlkit.ip=vecN,ADDR/PREFIX;
 *  - a switch link, while the guest runs: its switch tells the MACs it learned on the
 *    guest's port and, with its NAT, the address its DHCP server leased to that port (never
 *    what another port's frames claim: see lib/switch/lease.c), and the state of the link's
 *    forwards. The port is checked to be this guest's link (its number may be reused).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/switch.h"
#include "guest-internal.h"

#define NETS_MAX (64 * 1024) /* the record's size at most */

static const char *const kind_names[] = {
	[UK_NET_TAP] = "tap",	    [UK_NET_FD] = "fd",
	[UK_NET_BESS] = "bess",	    [UK_NET_LEGACY_TUNTAP] = "legacy-tuntap",
	[UK_NET_BRIDGE] = "bridge", [UK_NET_SWITCH] = "switch",
};

/* "vecN" or "ethN" naming link i (the vector driver's names, and the ones an image may
 * give them in --net order). */
static bool names_link(const char *ifc, size_t len, int i)
{
	char want[16];
	int n;

	for (int k = 0; k < 2; k++) {
		n = snprintf(want, sizeof(want), "%s%d", k ? "eth" : "vec", i);
		if ((size_t)n == len && !memcmp(ifc, want, len))
			return true;
	}
	return false;
}

/* ADDR/PREFIX of umlkit.ip=: a dotted quad and 0..32. */
static bool parse_cidr(const char *s, size_t len, char addr[16], int *prefix)
{
	const char *slash = memchr(s, '/', len);
	char a[16], p[4];
	uint64_t v;
	struct in_addr in;

	if (!slash || (size_t)(slash - s) >= sizeof(a) ||
	    len - (size_t)(slash - s) - 1 >= sizeof(p) || slash + 1 == s + len)
		return false;
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	memcpy(p, slash + 1, len - (size_t)(slash - s) - 1);
	p[len - (size_t)(slash - s) - 1] = '\0';
	if (inet_pton(AF_INET, a, &in) != 1 || uk_parse_u64(p, &v) < 0 || v > 32)
		return false;
	memcpy(addr, a, strlen(a) + 1);
	if (prefix)
		*prefix = (int)v;
	return true;
}

int uk_guest_net_static_ip(const struct uk_guest_spec *s, int i, char addr[16], int *prefix,
			   bool *dhcp)
{
	static const char key[] = "umlkit.ip=";
	const char *p = s->append;
	int found = 0;

	addr[0] = '\0';
	if (prefix)
		*prefix = -1;
	if (dhcp)
		*dhcp = false;
	while (*p) {
		size_t n, ilen;
		const char *v, *comma, *rest;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		v = p + sizeof(key) - 1;
		if (n <= sizeof(key) - 1 || strncmp(p, key, sizeof(key) - 1)) {
			p += n;
			continue;
		}
		comma = memchr(v, ',', n - (sizeof(key) - 1));
		ilen = comma ? (size_t)(comma - v) : 0;
		rest = comma ? comma + 1 : NULL;
		if (rest && names_link(v, ilen, i)) {
			size_t rlen = (size_t)(p + n - rest);
			const char *end = memchr(rest, ',', rlen); /* ,GATEWAY */
			size_t alen = end ? (size_t)(end - rest) : rlen;

			if (alen == 4 && !memcmp(rest, "dhcp", 4) && dhcp)
				*dhcp = true;
			else if (!found && parse_cidr(rest, alen, addr, prefix))
				found = 1;
		}
		p += n;
	}
	return found;
}

/* ---- the record ---- */
static void nets_path(const struct uk_guest_paths *p, char *out, size_t len)
{
	snprintf(out, len, "%s/nets", p->dir);
}

static json_t *net_record(const struct uk_guest_spec *s, const struct uk_guest_spec *wired, int i)
{
	const struct uk_guest_net *n = &s->nets[i];
	json_t *j = json_object(), *fw = json_array();
	char mac[18], addr[16] = "", sip[16];
	int prefix = -1, sprefix;
	bool dhcp;
	int has_static = uk_guest_net_static_ip(s, i, sip, &sprefix, &dhcp);
	const char *src = NULL;

	if (wired->nets[i].mac[0])
		snprintf(mac, sizeof(mac), "%s", wired->nets[i].mac);
	else
		uk_guest_net_mac(s, i, mac);
	if ((n->kind == UK_NET_TAP || n->kind == UK_NET_BRIDGE) && n->ip[0]) {
		snprintf(addr, sizeof(addr), "%s", n->ip);
		src = "spec";
		if (has_static && !strcmp(sip, n->ip))
			prefix = sprefix;
	} else if (has_static) {
		memcpy(addr, sip, sizeof(addr));
		prefix = sprefix;
		src = "static";
	}
	json_object_set_new(j, "kind", json_string(kind_names[n->kind]));
	if (n->kind == UK_NET_BRIDGE) {
		char tap[16];

		uk_guest_net_ifname(s, i, tap);
		json_object_set_new(j, "link", json_string(n->target));
		json_object_set_new(j, "tap", json_string(tap));
	} else {
		json_object_set_new(j, "link", json_string(n->target));
	}
	json_object_set_new(j, "port",
			    json_integer(n->kind == UK_NET_SWITCH ? wired->nets[i].port : -1));
	json_object_set_new(j, "mac", json_string(mac));
	json_object_set_new(j, "ipv4", json_string(addr));
	json_object_set_new(j, "prefix", json_integer(prefix));
	json_object_set_new(j, "source", json_string(src ? src : ""));
	json_object_set_new(j, "dhcp", json_boolean(dhcp));
	for (int k = 0; k < n->nforwards; k++)
		json_array_append_new(fw, json_string(n->forwards[k]));
	json_object_set_new(j, "forwards", fw);
	return j;
}

int uk_guest_nets_record(const struct uk_guest_paths *p, const struct uk_guest_spec *s,
			 const struct uk_guest_spec *wired, struct uk_err *err)
{
	json_t *arr = json_array(), *rec = json_object();
	struct uk_newfile nf;
	char path[PATH_MAX + 8], *text;
	int r;

	for (int i = 0; i < s->nnets; i++)
		json_array_append_new(arr, net_record(s, wired, i));
	json_object_set_new(rec, "nets", arr);
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (!text)
		return uk_err_set(err, ENOMEM, "out of memory");
	nets_path(p, path, sizeof(path));
	r = uk_newfile_open(&nf, path, 0600, err);
	if (r == 0) {
		r = uk_pwrite_all(nf.fd, text, strlen(text), 0);
		if (r < 0) {
			uk_newfile_abort(&nf);
			r = uk_err_sys(err, -r, "%s", path);
		} else {
			r = uk_newfile_commit(&nf, true, err);
		}
	}
	free(text);
	return r;
}

/* The record, parsed: NULL when there is none (or it is not one umlkit wrote). */
static json_t *read_record(const struct uk_guest_paths *p)
{
	char path[PATH_MAX + 8];
	_cleanup_close_ int fd = -1;
	struct stat st;
	char *buf;
	ssize_t n;
	json_t *j;

	nets_path(p, path, sizeof(path));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > NETS_MAX)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return NULL;
	n = uk_pread_full(fd, buf, (size_t)st.st_size, 0);
	j = n == st.st_size ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;
	free(buf);
	if (j && !json_is_array(json_object_get(j, "nets"))) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static void copy_str(char *dst, size_t len, json_t *v)
{
	const char *s = json_string_value(v);

	snprintf(dst, len, "%.*s", (int)len - 1, s && strlen(s) < len ? s : "");
}

static void iface_from_record(struct uk_guest_iface *f, int i, json_t *r)
{
	json_t *fw = json_object_get(r, "forwards"), *v;
	json_int_t port = json_integer_value(json_object_get(r, "port"));
	json_int_t prefix = json_integer_value(json_object_get(r, "prefix"));
	size_t k;

	memset(f, 0, sizeof(*f));
	f->index = i;
	snprintf(f->name, sizeof(f->name), "vec%d", i);
	copy_str(f->kind, sizeof(f->kind), json_object_get(r, "kind"));
	copy_str(f->link, sizeof(f->link), json_object_get(r, "link"));
	f->port = port >= 0 && port < UK_SW_MAX_PORTS ? (int)port : -1;
	copy_str(f->mac, sizeof(f->mac), json_object_get(r, "mac"));
	copy_str(f->ipv4, sizeof(f->ipv4), json_object_get(r, "ipv4"));
	f->prefix = prefix >= 0 && prefix <= 32 ? (int)prefix : -1;
	copy_str(f->source, sizeof(f->source), json_object_get(r, "source"));
	f->dhcp = json_is_true(json_object_get(r, "dhcp"));
	json_array_foreach(fw, k, v)
	{
		if (f->nfwd == UK_GUEST_NET_FWDS)
			break;
		copy_str(f->fwd[f->nfwd++].spec, sizeof(f->fwd[0].spec), v);
	}
}

/* The switch's port object of f's port, checked to be guest name's link f->index; NULL with
 * f->note said when not. */
static json_t *switch_port(const char *name, struct uk_guest_iface *f, json_t **rep)
{
	struct uk_err err = {0};
	json_t *p;
	size_t i;

	*rep = NULL;
	if (uk_switch_ask(f->link, "{\"cmd\":\"ports\"}", -1, rep, &err) < 0) {
		snprintf(f->note, sizeof(f->note), "%.199s", err.msg);
		return NULL;
	}
	json_array_foreach(json_object_get(*rep, "ports"), i, p)
	{
		const char *g = json_string_value(json_object_get(p, "guest"));

		if (json_integer_value(json_object_get(p, "port")) == f->port && g &&
		    !strcmp(g, name) && json_integer_value(json_object_get(p, "net")) == f->index)
			return p;
	}
	snprintf(f->note, sizeof(f->note), "switch '%.32s' has no port %d of this guest's", f->link,
		 f->port);
	return NULL;
}

/* What the switch knows of f's port now. */
static void iface_from_switch(const char *name, struct uk_guest_iface *f)
{
	json_t *rep, *p = switch_port(name, f, &rep), *v;
	const char *src;
	size_t k;

	if (!p) {
		json_decref(rep);
		return;
	}
	json_array_foreach(json_object_get(p, "macs"), k, v)
	{
		if (f->nmacs < (int)UK_ARRAY_SIZE(f->macs))
			copy_str(f->macs[f->nmacs++], sizeof(f->macs[0]), v);
	}
	src = json_string_value(json_object_get(p, "ipv4_source"));
	if (src && !strcmp(src, "dhcp")) {
		json_int_t prefix = json_integer_value(json_object_get(p, "ipv4_prefix"));

		copy_str(f->ipv4, sizeof(f->ipv4), json_object_get(p, "ipv4"));
		f->prefix = prefix > 0 && prefix <= 32 ? (int)prefix : -1;
		snprintf(f->source, sizeof(f->source), "dhcp");
	}
	json_array_foreach(json_object_get(p, "forwards"), k, v)
	{
		struct uk_guest_iface_fwd *w;

		if ((int)k >= f->nfwd)
			break;
		w = &f->fwd[k];
		copy_str(w->spec, sizeof(w->spec), json_object_get(v, "spec"));
		copy_str(w->state, sizeof(w->state), json_object_get(v, "state"));
		copy_str(w->guest_addr, sizeof(w->guest_addr), json_object_get(v, "guest_addr"));
		copy_str(w->error, sizeof(w->error), json_object_get(v, "error"));
		w->guest_port = (int)json_integer_value(json_object_get(v, "guest_port"));
	}
	json_decref(rep);
}

int uk_guest_ifaces(const char *name, struct uk_guest_iface **out, int *n, struct uk_err *err)
{
	struct uk_guest_paths p;
	json_t *rec, *r;
	bool alive;
	size_t i;
	int res = uk_guest_paths(name, &p, err);

	*out = NULL;
	*n = 0;
	if (res < 0)
		return res;
	rec = read_record(&p);
	if (!rec)
		return 0;
	alive = uk_guest_supervisor_alive(&p) != 0;
	*out = calloc(UK_GUEST_NETS, sizeof(**out));
	if (!*out) {
		json_decref(rec);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	json_array_foreach(json_object_get(rec, "nets"), i, r)
	{
		struct uk_guest_iface *f = &(*out)[*n];

		if (*n == UK_GUEST_NETS)
			break;
		iface_from_record(f, (int)i, r);
		if (alive && !strcmp(f->kind, "switch") && f->port >= 0)
			iface_from_switch(name, f);
		else
			f->port = -1; /* the last start's: gone with it */
		(*n)++;
	}
	json_decref(rec);
	return 0;
}
