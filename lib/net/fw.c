// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The firewall through libnftables: each change is one buffer handed to
 * nft_run_cmd_from_buffer, which the kernel applies as one transaction (all or nothing).
 * Only umlkit's own tables (bridge umlkit, inet umlkit) are ever named.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "umlkit/net.h"
#include "umlkit/util.h"

/* Run one buffer; keep stdout when out is given. */
static int nft_run(const char *buf, char **out, bool quiet_missing, struct uk_err *err)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *e;
	int r;

	if (out)
		*out = NULL;
	if (!ctx)
		return uk_err_set(err, ENOMEM, "libnftables: cannot make a context");
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	r = nft_run_cmd_from_buffer(ctx, buf);
	e = nft_ctx_get_error_buffer(ctx);
	if (r != 0) {
		int code = EIO;
		char first[600] = "";
		const char *hint = "";

		if (e)
			snprintf(first, sizeof(first), "%.*s", (int)strcspn(e, "\n"), e);
		if (e && (strstr(e, "Operation not permitted") || strstr(e, "Permission denied"))) {
			code = EPERM;
			hint = " (the firewall needs CAP_NET_ADMIN)";
		} else if (e && strstr(e, "No such file or directory")) {
			code = ENOENT;
		}
		nft_ctx_free(ctx);
		if (quiet_missing && code == ENOENT)
			return -ENOENT;
		return uk_err_set(err, code, "nftables: %s%s", first[0] ? first : "failed", hint);
	}
	if (out) {
		const char *o = nft_ctx_get_output_buffer(ctx);

		*out = strdup(o ? o : "");
		if (!*out) {
			nft_ctx_free(ctx);
			return uk_err_set(err, ENOMEM, "out of memory");
		}
	}
	nft_ctx_free(ctx);
	return 0;
}

int uk_fw_apply(const struct uk_fw_policy *p, struct uk_err *err)
{
	_cleanup_free_ char *buf = NULL;
	int r = uk_fw_render(p, &buf, err);

	if (r == 0)
		r = nft_run(buf, NULL, false, err);
	if (r < 0)
		uk_err_prefix(err, r,
			      "firewall of %s: nothing applied: ", p->name[0] ? p->name : "?");
	return r;
}

int uk_fw_flush(const char *name, struct uk_err *err)
{
	_cleanup_free_ char *buf = NULL;
	int r = uk_fw_render_remove(name, &buf, err);

	if (r == 0)
		r = nft_run(buf, NULL, false, err);
	if (r < 0)
		uk_err_prefix(err, r, "firewall of %s: ", name ? name : "umlkit");
	return r;
}

static int append(char **acc, const char *more)
{
	size_t a = *acc ? strlen(*acc) : 0, m = strlen(more);
	char *n = realloc(*acc, a + m + 1);

	if (!n)
		return -ENOMEM;
	memcpy(n + a, more, m + 1);
	*acc = n;
	return 0;
}

int uk_fw_show(const char *name, char **out, struct uk_err *err)
{
	static const char *const fams[] = {"bridge", "inet"};
	static const char *const chains[] = {"fwd", "in", "out", "from", "to", "nat"};
	char *acc = NULL;
	bool found = false;
	int r;

	*out = NULL;
	if (name) {
		struct uk_fw_policy p;

		r = uk_fw_policy_set(&p, "name", name, err);
		if (r < 0)
			return r;
	}
	for (size_t f = 0; f < UK_ARRAY_SIZE(fams); f++) {
		size_t nc = name ? UK_ARRAY_SIZE(chains) : 1;
		bool opened = false;

		for (size_t c = 0; c < nc; c++) {
			char cmd[160];
			char *o = NULL;

			if (name)
				snprintf(cmd, sizeof(cmd), "list chain %s umlkit g-%s/%s", fams[f],
					 name, chains[c]);
			else
				snprintf(cmd, sizeof(cmd), "list table %s umlkit", fams[f]);
			r = nft_run(cmd, &o, true, err);
			if (r == -ENOENT)
				continue;
			if (r < 0) {
				free(acc);
				return r;
			}
			found = true;
			r = name ? 0 : append(&acc, o);
			if (name) { /* one "table F umlkit { ... }" around the guest's chains */
				char *body = strchr(o, '\n');
				char *end = strrchr(o, '}');

				if (!opened) {
					snprintf(cmd, sizeof(cmd), "table %s umlkit {\n", fams[f]);
					r = append(&acc, cmd);
					opened = true;
				}
				if (body && end && end > body) {
					*end = '\0';
					r = r < 0 ? r : append(&acc, body + 1);
				}
			}
			free(o);
			if (r < 0) {
				free(acc);
				return uk_err_set(err, ENOMEM, "out of memory");
			}
		}
		if (opened && append(&acc, "}\n") < 0) {
			free(acc);
			return uk_err_set(err, ENOMEM, "out of memory");
		}
	}
	if (name && !found)
		return uk_err_set(err, ENOENT, "no firewall rules for guest %s", name);
	*out = acc ? acc : strdup("");
	return *out ? 0 : uk_err_set(err, ENOMEM, "out of memory");
}
