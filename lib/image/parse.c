// SPDX-License-Identifier: LGPL-2.1-or-later
/* The pure parsers of the Debian build and of adapt: an ext superblock, apt's sources,
 * os-release, suite and package names, fstab and shadow text, and the cache's checksum. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/image.h"
#include "umlkit/util.h"

#define EXT_SB_OFFSET	  1024
#define EXT_SB_MAGIC	  0xEF53
#define EXT_SB_MAGIC_OFF  56
#define EXT_SB_LOGBS_OFF  24
#define EXT_SB_BLOCKS_OFF 4

int uk_ext_superblock_check(const void *buf, size_t len, struct uk_err *err)
{
	const uint8_t *sb = (const uint8_t *)buf + EXT_SB_OFFSET;

	if (len < EXT_SB_OFFSET + 1024)
		return uk_err_set(err, EINVAL, "not an ext4 filesystem (shorter than 2048 bytes)");
	if ((sb[EXT_SB_MAGIC_OFF] | sb[EXT_SB_MAGIC_OFF + 1] << 8) != EXT_SB_MAGIC) {
		if (!memcmp(buf, "OOOM", 4))
			return uk_err_set(err, EINVAL,
					  "not an ext4 filesystem but a UML COW file: adapt its "
					  "backing file, or merge it first (umlkit cow merge)");
		return uk_err_set(err, EINVAL, "not an ext4 filesystem (no ext2/3/4 superblock)");
	}
	if (uk_get_le32(sb + EXT_SB_LOGBS_OFF) > 6)
		return uk_err_set(err, EINVAL, "not an ext4 filesystem (block size 2^%u KiB)",
				  uk_get_le32(sb + EXT_SB_LOGBS_OFF));
	if (uk_get_le32(sb + EXT_SB_BLOCKS_OFF) == 0)
		return uk_err_set(err, EINVAL, "not an ext4 filesystem (no blocks)");
	return 0;
}

/* ---- line helpers ---- */
struct line {
	const char *p;
	size_t len;
};

static bool next_line(const char **s, const char *end, struct line *l)
{
	const char *nl;

	if (*s >= end)
		return false;
	nl = memchr(*s, '\n', (size_t)(end - *s));
	l->p = *s;
	l->len = nl ? (size_t)(nl - *s) : (size_t)(end - *s);
	*s = nl ? nl + 1 : end;
	return true;
}

static void trim(struct line *l)
{
	while (l->len && (*l->p == ' ' || *l->p == '\t')) {
		l->p++;
		l->len--;
	}
	while (l->len && l->p[l->len - 1] && strchr(" \t\r", l->p[l->len - 1]))
		l->len--;
}

/* The next blank-separated word of l (consumed); false at the end. */
static bool next_word(struct line *l, struct line *w)
{
	trim(l);
	if (!l->len)
		return false;
	w->p = l->p;
	w->len = 0; /* the text need not end in a NUL */
	while (w->len < l->len && l->p[w->len] != ' ' && l->p[w->len] != '\t')
		w->len++;
	l->p += w->len;
	l->len -= w->len;
	return true;
}

static bool word_is(const struct line *w, const char *s)
{
	return w->len == strlen(s) && !memcmp(w->p, s, w->len);
}

static bool has_word(struct line l, const char *s)
{
	struct line w;

	while (next_word(&l, &w))
		if (word_is(&w, s))
			return true;
	return false;
}

static bool uri_ok(const struct line *w)
{
	static const char sec[] = "-security";
	size_t n = w->len;

	while (n && w->p[n - 1] == '/')
		n--;
	if (n >= sizeof(sec) - 1 && !memcmp(w->p + n - (sizeof(sec) - 1), sec, sizeof(sec) - 1))
		return false;
	return (w->len > 7 && !memcmp(w->p, "http://", 7)) ||
	       (w->len > 8 && !memcmp(w->p, "https://", 8)) ||
	       (w->len > 7 && !memcmp(w->p, "file:/", 6)) ||
	       (w->len > 6 && !memcmp(w->p, "ftp://", 6));
}

static int put_uri(const struct line *w, char *out, size_t outlen)
{
	size_t n = w->len;

	while (n > 1 && w->p[n - 1] == '/')
		n--;
	if (n >= outlen)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)w->p[i] <= ' ' || w->p[i] == '"' || w->p[i] == '\\')
			return -EINVAL;
	memcpy(out, w->p, n);
	out[n] = '\0';
	return 0;
}

/* One-line style: "deb [options] URI SUITE COMPONENT..." */
static int one_line(struct line l, char *out, size_t outlen)
{
	struct line w, uri;

	if (!next_word(&l, &w) || !word_is(&w, "deb"))
		return -ENOENT;
	if (!next_word(&l, &uri))
		return -ENOENT;
	if (uri.len && uri.p[0] == '[') { /* options up to "]" */
		while (!memchr(uri.p, ']', uri.len))
			if (!next_word(&l, &uri))
				return -ENOENT;
		if (!next_word(&l, &uri))
			return -ENOENT;
	}
	if (!uri_ok(&uri) || !next_word(&l, &w) || !has_word(l, "main"))
		return -ENOENT;
	return put_uri(&uri, out, outlen);
}

/* deb822 style: paragraphs of "Field: value" lines; Types, URIs, Components. */
struct para {
	bool deb, main, enabled;
	struct line uris;
};

static int end_para(struct para *p, char *out, size_t outlen)
{
	struct line w, l = p->uris;
	int r = -ENOENT;

	if (p->deb && p->main && p->enabled) {
		while (next_word(&l, &w))
			if (uri_ok(&w)) {
				r = put_uri(&w, out, outlen);
				break;
			}
	}
	*p = (struct para){.enabled = true};
	return r;
}

static bool field(const struct line *l, const char *name, struct line *value)
{
	size_t n = strlen(name);

	if (l->len <= n || strncasecmp(l->p, name, n) || l->p[n] != ':')
		return false;
	value->p = l->p + n + 1;
	value->len = l->len - n - 1;
	trim(value);
	return true;
}

int uk_apt_mirror(const char *text, size_t len, char *out, size_t outlen)
{
	const char *s = text, *end = text + len;
	struct para p = {.enabled = true};
	struct line l, v;
	int r;

	while (next_line(&s, end, &l)) {
		struct line t = l;

		trim(&t);
		if (t.len && t.p[0] == '#')
			continue;
		if (!t.len) {
			r = end_para(&p, out, outlen);
			if (r != -ENOENT)
				return r;
			continue;
		}
		r = one_line(t, out, outlen);
		if (r != -ENOENT)
			return r;
		if (field(&t, "Types", &v))
			p.deb = has_word(v, "deb");
		else if (field(&t, "URIs", &v))
			p.uris = v;
		else if (field(&t, "Components", &v))
			p.main = has_word(v, "main");
		else if (field(&t, "Enabled", &v))
			p.enabled = !(v.len == 2 && !strncasecmp(v.p, "no", 2));
	}
	return end_para(&p, out, outlen);
}

int uk_os_codename(const char *text, size_t len, char *out, size_t outlen)
{
	const char *s = text, *end = text + len;
	struct line l, v;

	while (next_line(&s, end, &l)) {
		if (l.len < 17 || memcmp(l.p, "VERSION_CODENAME=", 17))
			continue;
		v.p = l.p + 17;
		v.len = l.len - 17;
		trim(&v);
		if (v.len >= 2 && (v.p[0] == '"' || v.p[0] == '\'') && v.p[v.len - 1] == v.p[0]) {
			v.p++;
			v.len -= 2;
		}
		if (!v.len)
			return -ENOENT;
		if (v.len >= outlen)
			return -ENAMETOOLONG;
		memcpy(out, v.p, v.len);
		out[v.len] = '\0';
		return 0;
	}
	return -ENOENT;
}

int uk_debian_suite_check(const char *suite, struct uk_err *err)
{
	size_t n = strlen(suite);

	if (n == 0 || n > 40)
		return uk_err_set(err, EINVAL, "suite '%.40s': want 1 to 40 characters", suite);
	for (size_t i = 0; i < n; i++) {
		char c = suite[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      (c >= 'A' && c <= 'Z')))
			return uk_err_set(err, EINVAL,
					  "suite '%s': only letters, digits, '-' and '.' (e.g. "
					  "bookworm, trixie, stable)",
					  suite);
	}
	if (suite[0] == '-' || suite[0] == '.')
		return uk_err_set(err, EINVAL, "suite '%s' starts with '%c'", suite, suite[0]);
	return 0;
}

/* Debian policy 5.6.1: lowercase letters, digits, '+', '-', '.'; at least two; starting
 * with a letter or digit. */
static bool package_ok(const char *p, size_t n)
{
	if (n < 2 || n > 100 || !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= '0' && p[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '+' ||
		      p[i] == '-' || p[i] == '.'))
			return false;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int uk_debian_packages(const char *list, char *out, size_t outlen, struct uk_err *err)
{
	char *names[UK_DEBIAN_MAX_PACKAGES];
	_cleanup_free_ char *copy = strdup(list);
	size_t n = 0, used = 0;

	if (!copy)
		return uk_err_set(err, ENOMEM, "out of memory");
	if (!outlen)
		return uk_err_set(err, ENOSPC, "packages: no room");
	for (char *t = copy, *e; t; t = e ? e + 1 : NULL) {
		e = strchr(t, ',');
		if (e)
			*e = '\0';
		if (!*t)
			continue; /* "a,,b" and a trailing comma */
		if (!package_ok(t, strlen(t)))
			return uk_err_set(err, EINVAL,
					  "package '%.100s': not a Debian package name (lowercase "
					  "letters, digits, '+', '-', '.')",
					  t);
		if (n == UK_DEBIAN_MAX_PACKAGES)
			return uk_err_set(err, EINVAL, "more than %d packages",
					  UK_DEBIAN_MAX_PACKAGES);
		names[n++] = t;
	}
	qsort(names, n, sizeof(names[0]), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		if (i && !strcmp(names[i], names[i - 1]))
			continue;
		if (used + len + 2 > outlen)
			return uk_err_set(err, ENOSPC, "packages: the list is too long");
		if (used)
			out[used++] = ',';
		memcpy(out + used, names[i], len + 1);
		used += len;
	}
	return 0;
}

bool uk_fstab_has_entries(const char *text)
{
	const char *s = text, *end = text + strlen(text);
	struct line l;

	while (next_line(&s, end, &l)) {
		trim(&l);
		if (l.len && l.p[0] != '#')
			return true;
	}
	return false;
}

int uk_shadow_unlock_root(const char *text, char *out, size_t outlen)
{
	const char *s = text, *end = text + strlen(text);
	struct line l;

	while (next_line(&s, end, &l)) {
		const char *pw, *pwend;
		size_t before, after;

		if (l.len < 5 || memcmp(l.p, "root:", 5))
			continue;
		pw = l.p + 5;
		pwend = memchr(pw, ':', l.len - 5);
		if (!pwend)
			pwend = l.p + l.len;
		if (pwend == pw) /* empty already: logs in without a password */
			return 0;
		if (!(*pw == '*' || *pw == '!' || (pwend - pw == 1 && *pw == 'x')))
			return 0;
		before = (size_t)(pw - text);
		after = strlen(pwend);
		if (before + after + 1 > outlen)
			return -ENOSPC;
		memcpy(out, text, before);
		memcpy(out + before, pwend, after + 1);
		return 1;
	}
	return -EINVAL;
}
