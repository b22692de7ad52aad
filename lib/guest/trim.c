// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `umlkit trim`: give the host back the memory a running guest does not use.
 *
 * A UML guest's memory is a file the kernel maps; a page the guest touched once stays in the
 * host's memory after the guest frees it (6.1 and 7.2 have no balloon and no free-page
 * reporting), so a guest's host memory only grows toward mem=. The kernel's mconsole has one
 * way back, its `mem` device: `config mem=-N` takes N of free pages from the guest's
 * allocator and punches each out of the file (MADV_REMOVE), `config mem=+N` hands them back
 * to the allocator. Doing both in a row keeps the guest's memory size and gives the host
 * every free page; the guest faults a fresh zero page in when it uses one again.
 *
 * The kernel takes those pages with GFP_ATOMIC, which may dig below the free-memory
 * watermarks into the reserve the guest's own interrupt-time allocations live on, so a trim
 * takes MemFree less a reserve (twice vm.min_free_kbytes and 2 MiB), never more. It starts
 * with a plug of everything, so the pages an interrupted trim left unplugged come back.
 * --drop-caches first asks the guest's agent to drop its clean page cache (vm.drop_caches=1)
 * so that its pages are free too; files are read again from the disk when used.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/agent.h"
#include "umlkit/mconsole.h"
#include "guest-internal.h"

#define TRIM_MC_MS     10000 /* each mconsole command's bound */
#define TRIM_AGENT_S   30    /* the drop of the page cache's bound */
#define TRIM_SPARE_KIB 2048  /* kept free on top of twice min_free_kbytes */

/* "NAME:   123 kB" of /proc/meminfo's text: true with *kib */
static bool meminfo_field(const char *text, const char *name, uint64_t *kib)
{
	size_t n = strlen(name);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		char *end;

		if (strncmp(l, name, n) || l[n] != ':')
			continue;
		errno = 0;
		unsigned long long v = strtoull(l + n + 1, &end, 10);
		if (errno || end == l + n + 1)
			return false;
		*kib = v;
		return true;
	}
	return false;
}

int uk_guest_trim_amount(const char *meminfo, const char *min_free_kbytes, uint64_t *kib,
			 struct uk_err *err)
{
	uint64_t free_kib, min_kib, keep;
	char *end;

	if (!meminfo_field(meminfo, "MemFree", &free_kib))
		return uk_err_set(err, EBADMSG, "its /proc/meminfo has no MemFree line");
	errno = 0;
	min_kib = strtoull(min_free_kbytes, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno || end == min_free_kbytes || *end || min_kib > UINT32_MAX)
		return uk_err_set(err, EBADMSG, "its vm.min_free_kbytes is not a number: '%.40s'",
				  min_free_kbytes);
	keep = 2 * min_kib + TRIM_SPARE_KIB;
	*kib = free_kib > keep ? free_kib - keep : 0;
	return 0;
}

/* The text of the kernel's answer to cmd; -EIO when it said no, with its words */
static int mc_ask(const char *sock, const char *name, const char *cmd, char **text,
		  struct uk_err *err)
{
	struct uk_mc_reply reply = {0};
	int r = uk_mc_command(sock, cmd, TRIM_MC_MS, &reply, err);

	if (r < 0)
		return uk_err_prefix(err, r, "%s: mconsole '%s': ", name, cmd);
	if (!reply.ok) {
		char said[256];

		uk_esc_str(reply.text, said, sizeof(said));
		uk_mc_reply_free(&reply);
		return uk_err_set(err, EIO, "%s: its kernel refused '%s': %s", name, cmd, said);
	}
	*text = reply.text;
	return 0;
}

/* mc_ask for a command whose answer is not needed */
static int mc_do(const char *sock, const char *name, const char *cmd, struct uk_err *err)
{
	char *text = NULL;
	int r = mc_ask(sock, name, cmd, &text, err);

	free(text);
	return r;
}

/* VmRSS of the host process pid in KiB, 0 when unknown */
static uint64_t host_rss_kib(pid_t pid)
{
	char path[64], line[256];
	uint64_t kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %" SCNu64 " kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int drop_caches(const char *name, struct uk_err *err)
{
	static char *const argv[] = {"/bin/sh", "-c", "echo 1 >/proc/sys/vm/drop_caches", NULL};
	struct uk_agent_io io = {
		.in = -1, .out = -1, .err = UK_AGENT_COLLECT, .winch_fd = -1, .tty_fd = -1};
	struct uk_agent_result res = {0};
	int sock, r = uk_guest_agent_connect(name, &sock, err);

	if (r == 0)
		r = uk_agent_run(sock, name, 0, argv, NULL, &io, TRIM_AGENT_S, &res, err);
	if (r < 0)
		return uk_err_prefix(err, r, "--drop-caches: ");
	if (res.error || res.signal || res.status)
		return uk_err_set(err, EIO,
				  "%s: --drop-caches: the guest could not drop its page "
				  "cache: %s",
				  name,
				  res.error    ? res.msg
				  : res.errlen ? res.errtext
					       : "it failed");
	return 0;
}

/* The mem device's plug and unplug, between the reads of what is free */
static int trim_mem(const char *sock, const char *name, struct uk_guest_trim_result *res,
		    struct uk_err *err)
{
	char *meminfo = NULL, *min_free = NULL, cmd[64];
	uint64_t total = 0;
	int r = mc_ask(sock, name, "proc meminfo", &meminfo, err);

	if (r == 0)
		r = mc_ask(sock, name, "proc sys/vm/min_free_kbytes", &min_free, err);
	if (r == 0 && !meminfo_field(meminfo, "MemTotal", &total))
		r = uk_err_set(err, EBADMSG, "%s: its /proc/meminfo has no MemTotal line", name);
	if (r == 0)
		r = uk_guest_trim_amount(meminfo, min_free, &res->trimmed_kib, err);
	if (r == 0)
		meminfo_field(meminfo, "MemFree", &res->free_kib);
	free(meminfo);
	free(min_free);
	if (r < 0)
		return uk_err_prefix(err, r, "%s: ", name);
	/* what an interrupted trim left unplugged comes back first (+ stops at none left) */
	snprintf(cmd, sizeof(cmd), "config mem=+%" PRIu64 "K", total);
	r = mc_do(sock, name, cmd, err);
	if (r < 0 || res->trimmed_kib == 0)
		return r;
	snprintf(cmd, sizeof(cmd), "config mem=-%" PRIu64 "K", res->trimmed_kib);
	r = mc_do(sock, name, cmd, err);
	snprintf(cmd, sizeof(cmd), "config mem=+%" PRIu64 "K", res->trimmed_kib);
	if (mc_do(sock, name, cmd, r < 0 ? NULL : err) < 0 && r == 0)
		r = -EIO; /* the guest keeps less memory until the next trim */
	return r;
}

int uk_guest_trim(const char *name, bool drop, struct uk_guest_trim_result *res, struct uk_err *err)
{
	struct uk_guest_status st;
	int r;

	*res = (struct uk_guest_trim_result){0};
	r = uk_guest_status(name, &st, err);
	if (r < 0)
		return r;
	if ((st.state != UK_GUEST_RUNNING && st.state != UK_GUEST_BOOTED) || !st.kernel_alive)
		return uk_err_set(err, ESRCH, "%s: not running (%s)", name,
				  uk_guest_state_name(st.state));
	res->rss_before_kib = host_rss_kib(st.kernel_pid);
	if (drop) {
		r = drop_caches(name, err);
		if (r < 0)
			return r;
	}
	r = trim_mem(st.mconsole, name, res, err);
	if (r == -EIO && err && strstr(err->msg, "'config mem=")) {
		char why[UK_ERR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", err->msg);
		uk_err_set(err, EIO,
			   "%s (a kernel without the mconsole mem device cannot give "
			   "memory back)",
			   why);
	}
	res->rss_after_kib = host_rss_kib(st.kernel_pid);
	return r;
}
