// SPDX-License-Identifier: LGPL-2.1-or-later
/* Bridges and link state over rtnetlink, through libnl-route: no `ip`, no shell. */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>

#include "umlkit/net.h"
#include "umlkit/util.h"

static void sock_freep(struct nl_sock **sk)
{
	if (*sk)
		nl_socket_free(*sk);
}
static void link_putp(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}
#define _cleanup_sock_ __attribute__((cleanup(sock_freep)))
#define _cleanup_link_ __attribute__((cleanup(link_putp)))

static const char *cap_hint(int e)
{
	return e == EPERM || e == EACCES ? " (needs CAP_NET_ADMIN)" : "";
}

/* libnl's error codes back to an errno, for messages and return values. */
static int nl_errno(int nlerr)
{
	switch (-nlerr < 0 ? nlerr : -nlerr) {
	case NLE_PERM:
		return EPERM;
	case NLE_EXIST:
		return EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return ENODEV;
	case NLE_BUSY:
		return EBUSY;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_INVAL:
		return EINVAL;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	default:
		return EIO;
	}
}

static int nl_fail(struct uk_err *err, int nlerr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int nl_fail(struct uk_err *err, int nlerr, const char *fmt, ...)
{
	int e = nl_errno(nlerr);
	char what[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return uk_err_set(err, e, "%s: %s%s", what, e == EIO ? nl_geterror(nlerr) : strerror(e),
			  cap_hint(e));
}

static int open_route(struct nl_sock **out, struct uk_err *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return uk_err_set(err, ENOMEM, "out of memory");
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return nl_fail(err, r, "netlink");
	}
	*out = sk;
	return 0;
}

static int get_link(struct nl_sock *sk, const char *name, struct rtnl_link **l, struct uk_err *err)
{
	int r = rtnl_link_get_kernel(sk, 0, name, l);

	if (r < 0)
		return uk_err_set(err, ENODEV, "%s: no such interface", name);
	return 0;
}

int uk_bridge_add(const char *br, struct uk_err *err)
{
	_cleanup_sock_ struct nl_sock *sk = NULL;
	_cleanup_link_ struct rtnl_link *l = NULL;
	int r = uk_net_name_check(br, "bridge", false, err);

	if (r == 0)
		r = open_route(&sk, err);
	if (r < 0)
		return r;
	l = rtnl_link_bridge_alloc();
	if (!l)
		return uk_err_set(err, ENOMEM, "out of memory");
	rtnl_link_set_name(l, br);
	r = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
	if (r < 0)
		return nl_fail(err, r, "bridge %s", br);
	return 0;
}

int uk_bridge_del(const char *br, struct uk_err *err)
{
	_cleanup_sock_ struct nl_sock *sk = NULL;
	_cleanup_link_ struct rtnl_link *l = NULL;
	int r = uk_net_name_check(br, "bridge", false, err);

	if (r == 0)
		r = open_route(&sk, err);
	if (r == 0)
		r = get_link(sk, br, &l, err);
	if (r < 0)
		return r;
	if (!rtnl_link_is_bridge(l))
		return uk_err_set(err, EINVAL, "%s is not a bridge: refusing to delete it", br);
	r = rtnl_link_delete(sk, l);
	if (r < 0)
		return nl_fail(err, r, "bridge %s", br);
	return 0;
}

static int set_up(struct nl_sock *sk, struct rtnl_link *l, const char *name, struct uk_err *err)
{
	_cleanup_link_ struct rtnl_link *ch = rtnl_link_alloc();
	int r;

	if (!ch)
		return uk_err_set(err, ENOMEM, "out of memory");
	rtnl_link_set_flags(ch, IFF_UP);
	r = rtnl_link_change(sk, l, ch, 0);
	if (r < 0)
		return nl_fail(err, r, "%s: bringing it up", name);
	return 0;
}

int uk_net_link_up(const char *name, struct uk_err *err)
{
	_cleanup_sock_ struct nl_sock *sk = NULL;
	_cleanup_link_ struct rtnl_link *l = NULL;
	int r = uk_net_name_check(name, "interface", false, err);

	if (r == 0)
		r = open_route(&sk, err);
	if (r == 0)
		r = get_link(sk, name, &l, err);
	return r < 0 ? r : set_up(sk, l, name, err);
}

int uk_bridge_attach(const char *br, const char *port, struct uk_err *err)
{
	_cleanup_sock_ struct nl_sock *sk = NULL;
	_cleanup_link_ struct rtnl_link *b = NULL;
	_cleanup_link_ struct rtnl_link *p = NULL;
	int r = uk_net_name_check(br, "bridge", false, err);

	if (r == 0)
		r = uk_net_name_check(port, "port", false, err);
	if (r == 0)
		r = open_route(&sk, err);
	if (r == 0)
		r = get_link(sk, br, &b, err);
	if (r == 0)
		r = get_link(sk, port, &p, err);
	if (r < 0)
		return r;
	if (!rtnl_link_is_bridge(b))
		return uk_err_set(err, EINVAL, "%s is not a bridge", br);
	if (rtnl_link_get_master(p) != rtnl_link_get_ifindex(b)) {
		if (rtnl_link_get_master(p) > 0)
			return uk_err_set(err, EBUSY, "%s is already a port of another bridge",
					  port);
		r = rtnl_link_enslave(sk, b, p);
		if (r < 0)
			return nl_fail(err, r, "attaching %s to %s", port, br);
	}
	r = set_up(sk, b, br, err);
	return r < 0 ? r : set_up(sk, p, port, err);
}
