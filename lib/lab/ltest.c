// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Netkit's test mode (umlkit/lab.h; DESIGN's spec/labs.md section 2.5): the built-in dump
 * each machine gives and the comparison of a run's dumps with the signature, as Netkit's
 * `diff -qEbB` judged them. Pure: the command (cmd/lab-test.c) runs and files them.
 */
#include <errno.h>
#include <string.h>

#include "umlkit/lab.h"

/*
 * Netkit's dump: `ip addr` without the link lines, `route -n`, the listening sockets and
 * `ps -e -o uid,command` (or the same read from /proc where there is no ps). What differs from one
 * boot to the next is left out so that a second run of an unchanged lab matches: kernel threads
 * (their names carry the work they do at that moment, [kworker/0:2-events]), and the dump's own
 * pipeline (ps is read from a file it wrote alone, not through a pipe whose other end may or may
 * not have started). Lines are sorted where their order is the kernel's or a table's, not the
 * lab's.
 */
const char uk_lab_test_builtin[] =
	"export LC_ALL=C\n"
	"echo '# addresses'\n"
	"ip addr show | grep -v '^ *link/'\n"
	"echo '# routes'\n"
	"route -n 2>/dev/null || ip route show\n"
	"echo '# listening'\n"
	"{ netstat -tuln 2>/dev/null || ss -tuln; } | grep -iv '^active\\|^proto\\|^netid' | "
	"sort\n"
	"echo '# processes'\n"
	"f=$(mktemp)\n"
	"if command -v ps >/dev/null; then\n"
	"	ps -e -o pid=,uid=,command= >$f\n"
	"else\n" /* an image without procps: the same from /proc, the list taken before any fork */
	"	for p in /proc/[0-9]*; do\n"
	"		u=\n"
	"		while read -r k v r; do [ \"$k\" = Uid: ] && u=$v; done <$p/status\n"
	"		c=$(tr '\\0\\n' '  ' <$p/cmdline)\n"
	"		[ -n \"$c\" ] && printf '%s %s %s\\n' \"${p#/proc/}\" \"$u\" \"$c\"\n"
	"	done 2>/dev/null >$f\n"
	"fi\n"
	"awk -v me=$$ '$1 != me && $3 !~ /^[[(]/ { $1 = \"\"; print }' $f | sort\n"
	"rm -f $f\n";

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A cursor over a text's lines that are not blank. */
struct lines {
	const char *p, *end;
	int n; /* the number of the line last taken */
};

/* The next line that is not blank: its start in *s and end in *e (no newline); false at the
 * end of the text. */
static bool next_line(struct lines *l, const char **s, const char **e)
{
	while (l->p < l->end) {
		const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
		const char *stop = nl ? nl : l->end, *a = l->p;

		l->p = nl ? nl + 1 : l->end;
		l->n++;
		for (const char *q = a; q < stop; q++) {
			if (!blank(*q)) {
				*s = a;
				*e = stop;
				return true;
			}
		}
	}
	return false;
}

/* Two lines equal when each run of blanks counts as one and trailing blanks as none. */
static bool same_line(const char *a, const char *ae, const char *b, const char *be)
{
	while (ae > a && blank(ae[-1]))
		ae--;
	while (be > b && blank(be[-1]))
		be--;
	while (a < ae && b < be) {
		if (blank(*a) && blank(*b)) {
			while (a < ae && blank(*a))
				a++;
			while (b < be && blank(*b))
				b++;
			continue;
		}
		if (*a++ != *b++)
			return false;
	}
	return a == ae && b == be;
}

bool uk_lab_test_same(const char *a, size_t alen, const char *b, size_t blen, int *line)
{
	struct lines la = {a, a + alen, 0}, lb = {b, b + blen, 0};

	for (;;) {
		const char *as = NULL, *ae = NULL, *bs = NULL, *be = NULL;
		bool ga = next_line(&la, &as, &ae), gb = next_line(&lb, &bs, &be);

		if (!ga && !gb)
			return true;
		if (!ga || !gb || !same_line(as, ae, bs, be)) {
			*line = ga ? la.n : la.n + 1;
			return false;
		}
	}
}

int uk_lab_verify_parse(const char *s, enum uk_lab_verify *v)
{
	if (!strcmp(s, "both"))
		*v = UK_LAB_VERIFY_BOTH;
	else if (!strcmp(s, "user"))
		*v = UK_LAB_VERIFY_USER;
	else if (!strcmp(s, "builtin"))
		*v = UK_LAB_VERIFY_BUILTIN;
	else
		return -EINVAL;
	return 0;
}
