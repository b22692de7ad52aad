// SPDX-License-Identifier: LGPL-2.1-or-later
/* Where umlkit keeps the state of what runs (guests, switches), and listing it. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/util.h"

int uk_runtime_dir(const char *sub, char *out, size_t outlen, struct uk_err *err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *home = getenv("HOME");
	int n;

	if (xdg && *xdg)
		n = snprintf(out, outlen, "%s/umlkit/%s", xdg, sub);
	else if (home && *home)
		n = snprintf(out, outlen, "%s/.umlkit/run/%s", home, sub);
	else
		return uk_err_set(err, ENOENT, "neither $XDG_RUNTIME_DIR nor $HOME is set");
	if (n < 0 || (size_t)n >= outlen)
		return uk_err_set(err, ENAMETOOLONG, "runtime directory path too long");
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void uk_names_free(char **names, int count)
{
	for (int i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int uk_dir_names(const char *dir, bool (*keep)(const char *name), char ***names, int *count,
		 struct uk_err *err)
{
	char **v = NULL;
	int n = 0, r = 0;
	struct dirent *e;
	DIR *d;

	*names = NULL;
	*count = 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : uk_err_sys(err, errno, "%s", dir);
	while ((e = readdir(d))) {
		char **nv;

		if (e->d_name[0] == '.' || (keep && !keep(e->d_name)))
			continue;
		nv = realloc(v, sizeof(*v) * (size_t)(n + 1));
		if (!nv) {
			r = uk_err_set(err, ENOMEM, "out of memory");
			break;
		}
		v = nv;
		v[n] = strdup(e->d_name);
		if (!v[n]) {
			r = uk_err_set(err, ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (r < 0) {
		uk_names_free(v, n);
		return r;
	}
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp_names);
	*names = v;
	*count = n;
	return 0;
}

int uk_name_check(const char *kind, const char *name, size_t max, struct uk_err *err)
{
	size_t n = strlen(name);

	if (n == 0)
		return uk_err_set(err, EINVAL, "%s name is empty", kind);
	if (n > max)
		return uk_err_set(err, EINVAL, "%s name '%.40s%s' is longer than %zu characters",
				  kind, name, n > 40 ? "..." : "", max);
	if (name[0] == '.' || name[0] == '-')
		return uk_err_set(err, EINVAL, "%s name '%s' may not start with '%c'", kind, name,
				  name[0]);
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return uk_err_set(err, EINVAL,
					  "%s name '%s': character '%c' is not allowed (use "
					  "letters, digits, '_', '.', '-')",
					  kind, name, *p);
	return 0;
}
