// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lab.hosts (umlkit's own; Netkit and Kathará have no such file): a lab whose machines run on
 * several hosts. One line a host, `HOST ADDRESS MACHINE...` (a name of [A-Za-z0-9_.-], its
 * IPv4 or IPv6 address on the network the hosts share, the machines it runs), and two
 * optional settings, `vni N` (the first VNI, default 4200) and `port N` (the first UDP port,
 * default 4789); `#` comments. Every machine is on exactly one host. Collision domain i of
 * lab.conf (in the order of first use, the same on every host that reads the same lab.conf)
 * is carried between the hosts over VXLAN with VNI N+i on UDP port P+i.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab-internal.h"
#include "umlkit/util.h"

#define HOSTS_MAX 64

static int bad(struct uk_err *err, int n, const char *why, const char *word)
{
	return uk_err_set(err, EINVAL, "lab.hosts:%d: %s '%.64s'", n, why, word);
}

static bool host_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > UK_LAB_HOST_MAX || s[0] == '-' || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && !strchr("_.-", *s))
			return false;
	return true;
}

/* vni N / port N: 0, -EINVAL said, or 1 when the line is no setting */
static int setting(struct uk_lab *lab, const char *key, const char *val, const char *rest, int n,
		   struct uk_err *err)
{
	bool vni = !strcmp(key, "vni");
	uint64_t v, max = vni ? UK_LAB_VNI_MAX : 65535;

	if (!vni && strcmp(key, "port"))
		return 1;
	if (!val || *rest)
		return uk_err_set(err, EINVAL, "lab.hosts:%d: want '%s N'", n, key);
	if (uk_parse_u64(val, &v) < 0 || v < 1 || v > max)
		return uk_err_set(err, EINVAL, "lab.hosts:%d: %s %.32s is not 1..%llu", n, key, val,
				  (unsigned long long)max);
	if (vni)
		lab->vni_base = (unsigned)v;
	else
		lab->port_base = (unsigned)v;
	return 0;
}

/* The binary form of an address of lab.hosts (family in *af). */
static bool addr_bin(const char *s, int *af, unsigned char *bin)
{
	if (inet_pton(AF_INET, s, bin) == 1)
		return *af = AF_INET, true;
	if (inet_pton(AF_INET6, s, bin) == 1)
		return *af = AF_INET6, true;
	return false;
}

static int host_add(struct uk_lab *lab, const char *name, const char *addr, int n,
		    struct uk_err *err)
{
	struct uk_lab_host *v;
	unsigned char bin[sizeof(struct in6_addr)];
	int af;

	if (!host_name_ok(name))
		return bad(err, n, "a host's name is letters, digits, '_', '.', '-', not", name);
	if (!addr_bin(addr, &af, bin))
		return bad(err, n, "not an IPv4 or IPv6 address (no names):", addr);
	for (int i = 0; i < lab->n_host; i++)
		if (!strcmp(lab->host[i].name, name) || !strcmp(lab->host[i].addr, addr))
			return bad(err, n, "a second line for",
				   !strcmp(lab->host[i].name, name) ? name : addr);
	if (lab->n_host >= HOSTS_MAX)
		return uk_err_set(err, E2BIG, "lab.hosts:%d: more than %d hosts", n, HOSTS_MAX);
	v = realloc(lab->host, sizeof(*v) * (size_t)(lab->n_host + 1));
	if (!v)
		return uk_err_set(err, ENOMEM, "out of memory");
	lab->host = v;
	v = &lab->host[lab->n_host++];
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->addr, sizeof(v->addr), "%s", addr);
	v->line = n;
	return 0;
}

/* One line's words after HOST and ADDRESS: the machines placed on the last host. */
static int place(struct uk_lab *lab, char *save, int n, struct uk_err *err)
{
	struct uk_lab_host *h = &lab->host[lab->n_host - 1];
	char *w;

	while ((w = strtok_r(NULL, " \t\f\v", &save))) {
		if (uk_lab_host_of(lab, w))
			return bad(err, n, "placed on a second host:", w);
		if (uk_lab_strv_add(&h->machine, &h->n_machine, w, err) < 0)
			return -ENOMEM;
	}
	return 0;
}

int uk_lab_hosts_parse(struct uk_lab *lab, const char *buf, size_t len, struct uk_err *err)
{
	char line[UK_LAB_LINE_MAX], *s, *save, *key, *val;
	struct uk_lab_lines it;
	int r;

	if (!lab->vni_base)
		lab->vni_base = UK_LAB_VNI_BASE;
	if (!lab->port_base)
		lab->port_base = UK_LAB_PORT_BASE;
	uk_lab_lines_init(&it, buf, len);
	while ((r = uk_lab_lines_next(&it, line, sizeof(line))) > 0) {
		s = uk_lab_strip(line);
		if (!*s || *s == '#')
			continue;
		key = strtok_r(s, " \t\f\v", &save);
		val = strtok_r(NULL, " \t\f\v", &save);
		r = setting(lab, key, val, save ? save + strspn(save, " \t\f\v") : "", it.n, err);
		if (r <= 0) {
			if (r < 0)
				return r;
			continue;
		}
		if (!val)
			return uk_err_set(err, EINVAL, "lab.hosts:%d: want HOST ADDRESS MACHINE...",
					  it.n);
		r = host_add(lab, key, val, it.n, err);
		if (r == 0)
			r = place(lab, save, it.n, err);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return uk_err_set(err, EINVAL, "lab.hosts:%d: %s", it.n + 1,
				  r == -E2BIG ? "line too long" : "a NUL byte");
	return 0;
}

int uk_lab_check_hosts(struct uk_lab *lab, struct uk_err *err)
{
	if (!lab->n_host)
		return 0;
	for (int i = 0; i < lab->n_host; i++)
		for (int k = 0; k < lab->host[i].n_machine; k++)
			if (!uk_lab_machine_find(lab, lab->host[i].machine[k]))
				return uk_err_set(err, EINVAL,
						  "lab.hosts:%d: no machine '%s' in the lab",
						  lab->host[i].line, lab->host[i].machine[k]);
	for (int i = 0; i < lab->n_machine; i++)
		if (!uk_lab_host_of(lab, lab->machine[i].name))
			return uk_err_set(err, EINVAL, "lab.hosts: machine '%s' is on no host",
					  lab->machine[i].name);
	/* the domains' order now, before a selection of machines prunes any */
	lab->span_cd = calloc((size_t)lab->n_cd + 1, sizeof(*lab->span_cd));
	if (!lab->span_cd)
		return uk_err_set(err, ENOMEM, "out of memory");
	memcpy(lab->span_cd, lab->cd, sizeof(*lab->span_cd) * (size_t)lab->n_cd);
	lab->n_span_cd = lab->n_cd;
	return 0;
}

const struct uk_lab_host *uk_lab_host_of(const struct uk_lab *lab, const char *machine)
{
	for (int i = 0; i < lab->n_host; i++)
		for (int k = 0; k < lab->host[i].n_machine; k++)
			if (!strcmp(lab->host[i].machine[k], machine))
				return &lab->host[i];
	return NULL;
}

int uk_lab_span_index(const struct uk_lab *lab, const char *cd)
{
	for (int i = 0; i < lab->n_span_cd; i++)
		if (!strcmp(lab->span_cd[i], cd))
			return i;
	return -1;
}

int uk_lab_host_local(const struct uk_lab *lab, const char **name, struct uk_err *err)
{
	struct ifaddrs *ifa = NULL;
	int found = -1;

	if (getifaddrs(&ifa) < 0)
		return uk_err_sys(err, errno, "getifaddrs");
	for (int i = 0; i < lab->n_host; i++) {
		unsigned char bin[16];
		int af = 0;

		if (!addr_bin(lab->host[i].addr, &af, bin))
			continue;
		for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
			const void *a = NULL;

			if (!p->ifa_addr || p->ifa_addr->sa_family != af)
				continue;
			a = af == AF_INET
				    ? (const void *)&((struct sockaddr_in *)p->ifa_addr)->sin_addr
				    : (const void *)&((struct sockaddr_in6 *)p->ifa_addr)
					      ->sin6_addr;
			if (!memcmp(a, bin, af == AF_INET ? 4 : 16)) {
				if (found >= 0 && found != i) {
					freeifaddrs(ifa);
					return uk_err_set(
						err, EINVAL,
						"%s/lab.hosts: this host has the addresses of "
						"both %s and %s: say which it is with --host",
						lab->dir, lab->host[found].name, lab->host[i].name);
				}
				found = i;
			}
		}
	}
	freeifaddrs(ifa);
	if (found < 0)
		return uk_err_set(
			err, ENOENT,
			"%s/lab.hosts: no address of this host is a host's of the lab: say "
			"which it is with --host NAME",
			lab->dir);
	*name = lab->host[found].name;
	return 0;
}

/* name is one of lab.hosts' hosts: 0, or -EINVAL said */
static int known_host(const struct uk_lab *lab, const char *name, struct uk_err *err)
{
	for (int i = 0; i < lab->n_host; i++)
		if (!strcmp(lab->host[i].name, name))
			return 0;
	return uk_err_set(err, EINVAL, "%s/lab.hosts has no host '%s'", lab->dir, name);
}

int uk_lab_host_check(const struct uk_lab *lab, const struct uk_lab_run_opts *o, struct uk_err *err)
{
	if (!lab->n_host)
		return 0;
	if (!o->host)
		return uk_err_set(err, EINVAL,
				  "%s/lab.hosts places the machines on hosts: which one is this? "
				  "(--host NAME)",
				  lab->dir);
	return known_host(lab, o->host, err);
}

int uk_lab_host_opts(const struct uk_lab *lab, struct uk_lab_run_opts *o, struct uk_err *err)
{
	if (!lab->n_host)
		return 0;
	if (o->host)
		return known_host(lab, o->host, err);
	return uk_lab_host_local(lab, &o->host, err);
}
