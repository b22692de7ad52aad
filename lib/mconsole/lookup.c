// SPDX-License-Identifier: LGPL-2.1-or-later
/* Where an mconsole socket is: the old tool's lookup, umlkit guests; `config ubd` paths. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "umlkit/mconsole.h"
#include "umlkit/util.h"

#define UMID_MAX 63 /* the kernel's limit on umid= */

/* stat() path; a miss is reported as the old tool did. 0 found, -errno otherwise. */
static int try_path(const char *path, char *out, size_t outlen,
		    void (*warn)(void *ctx, const char *msg), void *ctx)
{
	char msg[PATH_MAX + 128];
	struct stat st;
	int e;

	if (stat(path, &st) == 0) {
		if (strlen(path) >= outlen)
			return -ENAMETOOLONG;
		strcpy(out, path);
		return 0;
	}
	e = errno;
	if (warn) {
		snprintf(msg, sizeof(msg), "Warning: couldn't stat file: %s - %s", path,
			 strerror(e));
		warn(ctx, msg);
	}
	return -e;
}

int uk_mc_find_socket(const char *name, char *out, size_t outlen,
		      void (*warn)(void *ctx, const char *msg), void *ctx)
{
	const char *home = getenv("HOME");
	char dir[PATH_MAX], file[PATH_MAX];
	int n, r;

	if (home) {
		n = snprintf(dir, sizeof(dir), "%s/.uml", home);
		if (n > 0 && (size_t)n < sizeof(dir) && strncmp(name, dir, (size_t)n)) {
			n = snprintf(file, sizeof(file), "%s/%s/mconsole", dir, name);
			if (n > 0 && (size_t)n < sizeof(file)) {
				r = try_path(file, out, outlen, warn, ctx);
				if (r == 0 || r == -ENAMETOOLONG)
					return r;
			}
		}
	}
	if (strncmp(name, "/tmp/uml/", strlen("/tmp/uml/"))) {
		n = snprintf(file, sizeof(file), "/tmp/uml/%s/mconsole", name);
		if (n > 0 && (size_t)n < sizeof(file)) {
			r = try_path(file, out, outlen, warn, ctx);
			if (r == 0 || r == -ENAMETOOLONG)
				return r;
		}
	}
	r = try_path(name, out, outlen, warn, ctx);
	if (r == 0 || r == -ENAMETOOLONG)
		return r;
	return -ENOENT;
}

int uk_mc_guest_socket(const char *name, char *out, size_t outlen)
{
	char root[4096];
	int n, r;

	if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/') ||
	    strlen(name) > UMID_MAX)
		return -EINVAL;
	r = uk_runtime_dir("guests", root, sizeof(root), NULL);
	if (r < 0)
		return r;
	n = snprintf(out, outlen, "%s/%s/uml/%s/mconsole", root, name, name);
	if (n < 0 || (size_t)n >= outlen)
		return -ENAMETOOLONG;
	return 0;
}

/* Append src[0..len) to out at *pos. */
static int put(char *out, size_t outlen, size_t *pos, const char *src, size_t len)
{
	if (*pos + len >= outlen)
		return -ENAMETOOLONG;
	memcpy(out + *pos, src, len);
	*pos += len;
	out[*pos] = '\0';
	return 0;
}

/* One file name of the spec, absolute when it can be resolved, else as it is. */
static int put_file(char *out, size_t outlen, size_t *pos, const char *name, size_t len)
{
	char rel[PATH_MAX], abs[PATH_MAX];

	if (len == 0 || len >= sizeof(rel) || name[0] == '/')
		return put(out, outlen, pos, name, len);
	memcpy(rel, name, len);
	rel[len] = '\0';
	if (uk_path_absolutize(rel, abs, sizeof(abs), NULL) < 0)
		return put(out, outlen, pos, name, len);
	return put(out, outlen, pos, abs, strlen(abs));
}

int uk_mc_fix_config_paths(const char *cmd, char *out, size_t outlen)
{
	const char *p = cmd, *eq;
	size_t pos = 0;
	int r;

	if (outlen == 0)
		return -ENAMETOOLONG;
	out[0] = '\0';
	if (strncmp(p, "config", 6))
		return put(out, outlen, &pos, cmd, strlen(cmd));
	p += 6;
	while (isspace((unsigned char)*p))
		p++;
	eq = strchr(p, '=');
	if (strncmp(p, "ubd", 3) || !eq)
		return put(out, outlen, &pos, cmd, strlen(cmd));
	r = put(out, outlen, &pos, cmd, (size_t)(eq + 1 - cmd));
	if (r < 0)
		return r;
	/* fields split as the kernel does (strsep ",:"): COW or file, backing, serial */
	p = eq + 1;
	for (int field = 0;; field++) {
		size_t flen = strcspn(p, ",:");

		if (field < 2)
			r = put_file(out, outlen, &pos, p, flen);
		else
			r = put(out, outlen, &pos, p, flen);
		if (r < 0 || !p[flen])
			return r;
		r = put(out, outlen, &pos, p + flen, 1);
		if (r < 0)
			return r;
		p += flen + 1;
	}
}
