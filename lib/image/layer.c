// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writing umlkit's layer into an existing ext2/3/4 image without mounting it: debugfs lists
 * the directories the layer touches (one run), reads /etc/fstab and /etc/shadow (bounded),
 * and then one debugfs -w script removes what the layer replaces and writes the layer's
 * files, owned by root. debugfs works inside the image's own namespace: a symlink in the
 * image never leads to a host file. The host side of every `write` is a file in a private
 * temporary directory that debugfs runs in.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-internal.h"
#include "umlkit/image.h"
#include "umlkit/util.h"

#define IMAGE_ARG     "/proc/self/fd/3"
#define FILE_MAX      (1024 * 1024) /* /etc/fstab, /etc/shadow: larger is refused */
#define LIST_MAX      (4 * 1024 * 1024)
#define UNIT_DIR      "etc/systemd/system"
#define FSTAB_ROOT    "/dev/ubda\t/\text4\tdefaults,errors=remount-ro\t0\t0\n"
#define FSTAB_ORIG    "etc/fstab.umlkit-orig"
#define MANIFEST_PATH "etc/umlkit/manifest"

/* What the image holds in the directories the layer touches: "path mode" pairs. */
struct listing {
	char **path;
	unsigned *mode;
	unsigned *gid;
	size_t n, cap;
};

struct layer {
	const struct uk_layer_opts *o;
	char work[PATH_MAX - 64];
	struct listing ls;
	char libdir[16]; /* "lib" or, when /lib is a symlink (merged /usr), "usr/lib" */
	FILE *script;	 /* the debugfs -w commands */
	FILE *manifest;	 /* work/manifest */
	int nfiles;
	struct uk_err *err;
};

static void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->path[i]);
	free(l->path);
	free(l->mode);
	free(l->gid);
}

static int listing_add(struct listing *l, const char *dir, const char *name, size_t namelen,
		       unsigned mode, unsigned gid)
{
	char *p;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char **np = realloc(l->path, cap * sizeof(*np));
		unsigned *nm, *ng;

		if (!np)
			return -ENOMEM;
		l->path = np;
		nm = realloc(l->mode, cap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		l->mode = nm;
		ng = realloc(l->gid, cap * sizeof(*ng));
		if (!ng)
			return -ENOMEM;
		l->gid = ng;
		l->cap = cap;
	}
	if (asprintf(&p, "%s%s%.*s", dir, *dir ? "/" : "", (int)namelen, name) < 0)
		return -ENOMEM;
	l->path[l->n] = p;
	l->mode[l->n] = mode;
	l->gid[l->n++] = gid;
	return 0;
}

/* The mode of path in the image (relative, as the layer names it); 0 when it is absent. */
static unsigned listing_mode(const struct listing *l, const char *path)
{
	for (size_t i = l->n; i-- > 0;)
		if (!strcmp(l->path[i], path))
			return l->mode[i];
	return 0;
}

static unsigned listing_gid(const struct listing *l, const char *path)
{
	for (size_t i = l->n; i-- > 0;)
		if (!strcmp(l->path[i], path))
			return l->gid[i];
	return 0;
}

/*
 * Parse the output of `ls -p DIR` commands run with -f: "debugfs: ls -p /DIR" starts a
 * section, then one "/INO/MODE/UID/GID/NAME/SIZE/" line for each entry (a name with a
 * newline in it breaks a line, which then does not parse and is skipped).
 */
static int parse_listing(struct listing *l, const char *text)
{
	char dir[PATH_MAX] = "";
	bool in = false;

	for (const char *s = text; *s; s += strcspn(s, "\n"), s += *s == '\n') {
		size_t len = strcspn(s, "\n");
		char line[PATH_MAX + 128];
		char *f[7], *t;
		unsigned long mode, gid;
		char *end;
		int nf = 0;

		if (len >= sizeof(line))
			continue;
		memcpy(line, s, len);
		line[len] = '\0';
		if (!strncmp(line, "debugfs: ls -p /", 16)) {
			snprintf(dir, sizeof(dir), "%.2000s", line + 16);
			in = true;
			continue;
		}
		if (!in || line[0] != '/')
			continue;
		/* "/INO/MODE/UID/GID/NAME/SIZE/": the size is empty for a directory */
		t = line + 1;
		while (nf < 7 && (f[nf] = strsep(&t, "/")))
			nf++;
		if (nf != 7 || t || !*f[4] || !strcmp(f[4], ".") || !strcmp(f[4], ".."))
			continue;
		mode = strtoul(f[1], &end, 8);
		if (*end || mode > 0177777)
			continue;
		gid = strtoul(f[3], &end, 10);
		if (*end || gid > UINT32_MAX)
			continue;
		if (listing_add(l, dir, f[4], strlen(f[4]), (unsigned)mode, (unsigned)gid) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int run_debugfs(struct layer *L, char **argv_tail, char *out, size_t outlen, bool *full)
{
	struct uk_cmd *c = calloc(1, sizeof(*c));
	char *argv[8];
	int n = 0, r;

	if (!c)
		return uk_err_set(L->err, ENOMEM, "out of memory");
	argv[n++] = (char *)L->o->debugfs;
	for (; *argv_tail && n < 7; argv_tail++)
		argv[n++] = *argv_tail;
	argv[n] = NULL;
	c->argv = argv;
	c->cwd = L->work;
	c->pass_fd = L->o->fd;
	c->out = out;
	c->outlen = outlen;
	r = uk_run(c, L->err);
	/* debugfs says what failed on stderr but exits 0: anything there but its banner is an
	 * error (a missing directory of the listing is expected, and asked for with full NULL) */
	for (const char *l = c->errtext; r == 0 && *l; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t len = strcspn(l, "\n");

		if (len == 0 || !strncmp(l, "debugfs ", 8) || !full)
			continue;
		r = uk_err_set(L->err, EIO, "debugfs: %.*s", (int)UK_MIN(len, 300), l);
	}
	if (full)
		*full = c->out_full;
	free(c);
	return r;
}

static const char *const probe_dirs[] = {
	"",
	"etc",
	"etc/default",
	"etc/systemd",
	"etc/systemd/journald.conf.d",
	"etc/systemd/system-generators",
	UNIT_DIR,
	UNIT_DIR "/sysinit.target.wants",
	UNIT_DIR "/multi-user.target.wants",
	UNIT_DIR "/sockets.target.wants",
	UNIT_DIR "/getty.target.wants",
	UNIT_DIR "/systemd-udev-trigger.service.d",
	UNIT_DIR "/systemd-remount-fs.service.d",
	UNIT_DIR "/systemd-user-sessions.service.d",
	UNIT_DIR "/systemd-sysctl.service.d",
	UNIT_DIR "/systemd-tmpfiles-setup.service.d",
	UNIT_DIR "/systemd-networkd.service.d",
	UNIT_DIR "/systemd-networkd.socket.d",
	"etc/udev",
	"etc/udev/rules.d",
	"etc/umlkit",
	"etc/sysctl.d",
	"etc/init.d",
	"etc/rc2.d",
	"etc/rc3.d",
	"etc/rc4.d",
	"etc/rc5.d",
	"usr",
	"usr/sbin",
	"sbin",
	"usr/lib",
	"usr/lib/systemd",
	"lib",
	"lib/systemd",
};

static int probe(struct layer *L)
{
	char path[PATH_MAX];
	_cleanup_free_ char *out = malloc(LIST_MAX);
	char *argv[] = {"-f", "probe", IMAGE_ARG, NULL};
	FILE *f;
	int r;

	if (!out)
		return uk_err_set(L->err, ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "%s/probe", L->work);
	f = fopen(path, "we");
	if (!f)
		return uk_err_sys(L->err, errno, "%s", path);
	for (size_t i = 0; i < UK_ARRAY_SIZE(probe_dirs); i++)
		fprintf(f, "ls -p /%s\n", probe_dirs[i]);
	if (fclose(f) != 0)
		return uk_err_sys(L->err, errno, "%s", path);
	r = run_debugfs(L, argv, out, LIST_MAX, NULL);
	if (r < 0)
		return r;
	if (parse_listing(&L->ls, out) < 0)
		return uk_err_set(L->err, ENOMEM, "out of memory");
	return 0;
}

/* A file of the image, read with `debugfs -R "cat /PATH"`: at most FILE_MAX bytes. */
static int read_image_file(struct layer *L, const char *path, char **text)
{
	char cmd[PATH_MAX + 8];
	char *argv[] = {"-R", cmd, IMAGE_ARG, NULL};
	char *out = malloc(FILE_MAX + 2);
	bool full;
	int r;

	*text = NULL;
	if (!out)
		return uk_err_set(L->err, ENOMEM, "out of memory");
	snprintf(cmd, sizeof(cmd), "cat /%s", path);
	r = run_debugfs(L, argv, out, FILE_MAX + 2, &full);
	if (r == 0 && full)
		r = uk_err_set(L->err, EFBIG, "/%s is larger than %d bytes", path, FILE_MAX);
	if (r < 0) {
		free(out);
		return r;
	}
	*text = out;
	return 0;
}

static void say(struct layer *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct layer *L, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (L->o->say)
		L->o->say(L->o->ctx, line);
}

/* The layer's path with lib/ where the image has it (usr/lib/ on merged /usr). */
static void image_path(struct layer *L, const char *path, char *out, size_t outlen)
{
	if (!strncmp(path, "lib/", 4))
		snprintf(out, outlen, "%s/%s", L->libdir, path + 4);
	else
		snprintf(out, outlen, "%s", path);
}

/* Make room for a new entry at path: remove what is there, unless it is a directory. */
static int clear_path(struct layer *L, const char *path)
{
	unsigned mode = listing_mode(&L->ls, path);

	if (!mode)
		return 0;
	if (S_ISDIR(mode))
		return uk_err_set(L->err, EISDIR,
				  "/%s is a directory: umlkit would write a file there", path);
	fprintf(L->script, "rm /%s\n", path);
	return 0;
}

static void own(struct layer *L, const char *path, unsigned mode, unsigned uid, unsigned gid)
{
	fprintf(L->script, "sif /%s mode 0%o\nsif /%s uid %u\nsif /%s gid %u\n", path, mode, path,
		uid, path, gid);
}

/* A regular file with text at path: written to work/fN, then into the image. */
static int put_file(struct layer *L, const char *path, unsigned mode, const void *data, size_t len,
		    unsigned uid, unsigned gid)
{
	char host[32];
	_cleanup_close_ int fd = -1;
	int r;

	r = clear_path(L, path);
	if (r < 0)
		return r;
	snprintf(host, sizeof(host), "f%d", L->nfiles++);
	fd = openat(AT_FDCWD, L->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		int dfd = fd;

		fd = openat(dfd, host, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		close(dfd);
	}
	if (fd < 0)
		return uk_err_sys(L->err, errno, "%s/%s", L->work, host);
	r = uk_write_all(fd, data, len);
	if (r < 0)
		return uk_err_sys(L->err, -r, "%s/%s", L->work, host);
	fprintf(L->script, "write %s /%s\n", host, path);
	own(L, path, S_IFREG | (mode & 07777), uid, gid);
	return 0;
}

static int put_entry(struct layer *L, const struct uk_layer_entry *e)
{
	char path[PATH_MAX];
	unsigned have;
	int r;

	image_path(L, e->path, path, sizeof(path));
	have = listing_mode(&L->ls, path);
	if (S_ISDIR(e->mode)) {
		if (have && !S_ISDIR(have))
			return uk_err_set(L->err, ENOTDIR,
					  "/%s is not a directory: umlkit needs one there", path);
		if (!have) {
			fprintf(L->script, "mkdir /%s\n", path);
			own(L, path, e->mode, 0, 0);
		}
		return 0;
	}
	if (S_ISLNK(e->mode)) {
		r = clear_path(L, path);
		if (r < 0)
			return r;
		fprintf(L->script, "symlink /%s %s\n", path, e->data);
	} else {
		r = put_file(L, path, e->mode, e->data, strlen(e->data), 0, 0);
		if (r < 0)
			return r;
	}
	if (e->why) {
		fprintf(L->manifest, "/%s\t%s\n", path, e->why);
		say(L, "/%s: %s", path, e->why);
	}
	return 0;
}

static int put_masks(struct layer *L, const struct uk_layer_mask *masks, size_t n)
{
	char list[1024] = "";
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		const struct uk_layer_mask *m = &masks[i];
		char path[PATH_MAX];
		int r;

		snprintf(path, sizeof(path), UNIT_DIR "/%s", m->unit);
		r = clear_path(L, path);
		if (r < 0)
			return r;
		fprintf(L->script, "symlink /%s /dev/null\n", path);
		fprintf(L->manifest, "/%s\tmasked: %s\n", path, m->why);
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
					 m->unit);
		if (used >= sizeof(list))
			used = sizeof(list) - 1;
	}
	if (n)
		say(L, "masked (a fast boot, see umlkit-image(1)): %s", list);
	return 0;
}

/* The System V start link of script in etc/rcN.d: "SNNscript". */
static bool is_start_link(const char *path, const char *script)
{
	return !strncmp(path, "etc/rc", 6) && path[6] >= '2' && path[6] <= '5' &&
	       !strncmp(path + 7, ".d/S", 4) && path[11] >= '0' && path[11] <= '9' &&
	       path[12] >= '0' && path[12] <= '9' && !strcmp(path + 13, script);
}

/* A unit disabled: its wants links (in the directories probed) and, for a System V script,
 * its start links removed. Says nothing when the image does not have it enabled. */
static void put_disabled(struct layer *L, const struct uk_layer_mask *m)
{
	size_t ulen = strlen(m->unit);
	char script[128];
	bool done = false;

	snprintf(script, sizeof(script), "%.*s", (int)(ulen > 8 ? ulen - 8 : 0), m->unit);
	for (size_t i = 0; i < L->ls.n; i++) {
		const char *p = L->ls.path[i];
		const char *slash = strrchr(p, '/');
		bool wants = !strncmp(p, UNIT_DIR "/", sizeof(UNIT_DIR)) && slash &&
			     slash - p > 6 && !strncmp(slash - 6, ".wants", 6) &&
			     !strcmp(slash + 1, m->unit);

		if (!wants && !(script[0] && is_start_link(p, script)))
			continue;
		fprintf(L->script, "rm /%s\n", p);
		fprintf(L->manifest, "/%s\tremoved, %s disabled: %s\n", p, m->unit, m->why);
		done = true;
	}
	if (done)
		say(L, "%s: disabled: %s", m->unit, m->why);
}

/* The profile's layer, its disabled units and its masks, after the Debian layer. */
static int put_profile(struct layer *L, const struct uk_profile *p)
{
	int r = 0;

	for (size_t i = 0; i < p->nlayer && r == 0; i++)
		r = put_entry(L, &p->layer[i]);
	for (size_t i = 0; i < p->ndisabled && r == 0; i++)
		put_disabled(L, &p->disabled[i]);
	if (r == 0)
		r = put_masks(L, p->masks, p->nmasks);
	return r;
}

/* fstab: the root on /dev/ubda. An old fstab with entries is kept as fstab.umlkit-orig. */
static int put_fstab(struct layer *L)
{
	static const char ours[] = "# /etc/fstab of a umlkit guest (umlkit-image(1)): the root "
				   "is the first disk.\n" FSTAB_ROOT;
	_cleanup_free_ char *old = NULL;
	bool active = false;
	int r;

	if (listing_mode(&L->ls, "etc/fstab")) {
		r = read_image_file(L, "etc/fstab", &old);
		if (r < 0)
			return r;
		if (!strcmp(old, ours)) { /* umlkit's already */
			fprintf(L->manifest, "/etc/fstab\tthe root on /dev/ubda\n");
			return 0;
		}
		active = uk_fstab_has_entries(old);
	}
	if (active && !listing_mode(&L->ls, FSTAB_ORIG)) {
		r = put_file(L, FSTAB_ORIG, 0644, old, strlen(old), 0, 0);
		if (r < 0)
			return r;
		say(L, "/etc/fstab: the root on /dev/ubda (the old one is /" FSTAB_ORIG ")");
	} else {
		say(L, "/etc/fstab: the root on /dev/ubda");
	}
	fprintf(L->manifest, "/etc/fstab\tthe root on /dev/ubda\n");
	return put_file(L, "etc/fstab", 0644, ours, strlen(ours), 0, 0);
}

/* root logs in on the console without a password when it had none it could use. */
static int put_shadow(struct layer *L)
{
	_cleanup_free_ char *old = NULL;
	_cleanup_free_ char *new = NULL;
	unsigned mode = listing_mode(&L->ls, "etc/shadow");
	int r;

	if (!mode || !S_ISREG(mode)) {
		say(L, "/etc/shadow: none; root's password is whatever /etc/passwd says");
		return 0;
	}
	r = read_image_file(L, "etc/shadow", &old);
	if (r < 0)
		return r;
	new = malloc(strlen(old) + 1);
	if (!new)
		return uk_err_set(L->err, ENOMEM, "out of memory");
	r = uk_shadow_unlock_root(old, new, strlen(old) + 1);
	if (r == 0) {
		say(L, "/etc/shadow: root keeps its password");
		return 0;
	}
	if (r < 0)
		return uk_err_set(L->err, EINVAL, "/etc/shadow: no root entry");
	fprintf(L->manifest, "/etc/shadow\troot logs in on the console without a password\n");
	say(L, "/etc/shadow: root had no password it could log in with: it logs in on the "
	       "console without one");
	/* shadow keeps its mode and group (shadow, 42 on Debian) */
	return put_file(L, "etc/shadow", mode & 07777, new, strlen(new), 0,
			listing_gid(&L->ls, "etc/shadow"));
}

static int put_agent(struct layer *L)
{
	char link[PATH_MAX];
	unsigned have;

	if (!L->o->agent) {
		say(L, "/usr/sbin/umlkit-agent: not installed (umlkit-agent was not found beside "
		       "umlkit)");
		return 0;
	}
	have = listing_mode(&L->ls, "usr/sbin/umlkit-agent");
	if (have && S_ISDIR(have))
		return uk_err_set(L->err, EISDIR, "/usr/sbin/umlkit-agent is a directory");
	if (have)
		fprintf(L->script, "rm /usr/sbin/umlkit-agent\n");
	snprintf(link, sizeof(link), "%s/agent", L->work);
	if (symlink(L->o->agent, link) < 0)
		return uk_err_sys(L->err, errno, "%s", link);
	fprintf(L->script, "write agent /usr/sbin/umlkit-agent\n");
	own(L, "usr/sbin/umlkit-agent", S_IFREG | 0755, 0, 0);
	fprintf(L->manifest, "/usr/sbin/umlkit-agent\tthe guest agent (%s)\n", L->o->agent);
	say(L, "/usr/sbin/umlkit-agent: the guest agent, from %s", L->o->agent);
	return 0;
}

/* Take away what a bootstrapper puts in place to keep daemons from starting while it
 * installs, which a tree made into an image before its cleanup keeps (mmdebstrap's customize
 * hooks run before it): /usr/sbin/policy-rc.d that exits 101 and a fake start-stop-daemon, the
 * real one beside it as start-stop-daemon.REAL. Left in the image, apt in the guest would
 * never start or restart a service it installs or upgrades. */
static int allow_daemons(struct layer *L)
{
	static const char prc[] = "usr/sbin/policy-rc.d";
	const char *sbin = S_ISLNK(listing_mode(&L->ls, "sbin")) ? "usr/sbin" : "sbin";
	_cleanup_free_ char *text = NULL;
	char ssd[64], real[80];
	int r;

	if (S_ISREG(listing_mode(&L->ls, prc))) {
		r = read_image_file(L, prc, &text);
		if (r < 0)
			return r;
		if (strstr(text, "exit 101")) {
			fprintf(L->script, "rm /%s\n", prc);
			fprintf(L->manifest, "/%s\tremoved: it kept every service from starting\n",
				prc);
			say(L, "/%s: removed (it exits 101: apt would start no service)", prc);
		}
	}
	snprintf(ssd, sizeof(ssd), "%s/start-stop-daemon", sbin);
	snprintf(real, sizeof(real), "%s.REAL", ssd);
	if (!S_ISREG(listing_mode(&L->ls, real)))
		return 0;
	r = clear_path(L, ssd);
	if (r < 0)
		return r;
	/* ln adds a name without counting it and unlink drops one without counting: a rename */
	fprintf(L->script, "ln /%s /%s\nunlink /%s\n", real, ssd, real);
	fprintf(L->manifest, "/%s\tthe real one again (a bootstrapper's fake was there)\n", ssd);
	say(L, "/%s: the real one again, from /%s (the fake one kept daemons from starting)", ssd,
	    real);
	return 0;
}

static int write_all_of_layer(struct layer *L)
{
	int r = 0;

	for (size_t i = 0; i < uk_debian_layer_n && r == 0; i++)
		r = put_entry(L, &uk_debian_layer[i]);
	if (r == 0)
		r = put_masks(L, uk_debian_masks, uk_debian_masks_n);
	if (r == 0 && L->o->profile)
		r = put_profile(L, L->o->profile);
	if (r == 0 && !listing_mode(&L->ls, "etc/hosts")) {
		fprintf(L->script, "symlink /etc/hosts /run/umlkit/hosts\n");
		fprintf(L->manifest, "/etc/hosts\tnames this host (umlkit.hostname=)\n");
		say(L, "/etc/hosts: names this host (umlkit.hostname=)");
	}
	if (r == 0 && L->o->build) {
		r = put_file(L, "etc/hostname", 0644, "debian\n", 7, 0, 0);
		say(L, "/etc/hostname: debian");
	}
	if (r == 0)
		r = put_fstab(L);
	if (r == 0)
		r = put_shadow(L);
	if (r == 0)
		r = put_agent(L);
	if (r == 0)
		r = allow_daemons(L);
	return r;
}

static int apply(struct layer *L)
{
	char path[PATH_MAX];
	char *argv[] = {"-w", "-f", "apply", IMAGE_ARG, NULL};
	_cleanup_free_ char *mtext = NULL;
	size_t mlen = 0;
	bool full;
	int r;

	r = probe(L);
	if (r < 0)
		return r;
	if (!S_ISREG(listing_mode(&L->ls, "lib/systemd/systemd")) &&
	    !S_ISREG(listing_mode(&L->ls, "usr/lib/systemd/systemd")))
		return uk_err_set(L->err, ENOTSUP,
				  "no systemd in it (/lib/systemd/systemd): umlkit makes systemd "
				  "images ready; install systemd-sysv in the image first");
	snprintf(L->libdir, sizeof(L->libdir), "%s",
		 S_ISLNK(listing_mode(&L->ls, "lib")) ? "usr/lib" : "lib");
	snprintf(path, sizeof(path), "%s/apply", L->work);
	L->script = fopen(path, "we");
	if (!L->script)
		return uk_err_sys(L->err, errno, "%s", path);
	L->manifest = open_memstream(&mtext, &mlen);
	if (!L->manifest)
		return uk_err_set(L->err, ENOMEM, "out of memory");
	fprintf(L->manifest, "# What umlkit put into this image (umlkit-image(1)), and why.\n");
	r = write_all_of_layer(L);
	if (fclose(L->manifest) != 0 && r == 0)
		r = uk_err_set(L->err, ENOMEM, "out of memory");
	L->manifest = NULL;
	if (r == 0)
		r = put_file(L, MANIFEST_PATH, 0644, mtext, mlen, 0, 0);
	if (fclose(L->script) != 0 && r == 0)
		r = uk_err_sys(L->err, errno, "%s", path);
	L->script = NULL;
	if (r < 0)
		return r;
	return run_debugfs(L, argv, NULL, 0, &full);
}

int uk_layer_apply(const struct uk_layer_opts *o, struct uk_err *err)
{
	const char *tmp = o->tmpdir ? o->tmpdir : getenv("TMPDIR");
	struct layer *L = calloc(1, sizeof(*L));
	int r, rm;

	if (!L)
		return uk_err_set(err, ENOMEM, "out of memory");
	L->o = o;
	L->err = err;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (snprintf(L->work, sizeof(L->work), "%s/umlkit-layer.XXXXXX", tmp) >=
	    (int)sizeof(L->work) - 64) {
		free(L);
		return uk_err_set(err, ENAMETOOLONG, "%s: path too long", tmp);
	}
	if (!mkdtemp(L->work)) {
		r = uk_err_sys(err, errno, "cannot make a directory in '%s'", tmp);
		free(L);
		return r;
	}
	r = apply(L);
	if (L->script)
		fclose(L->script);
	if (L->manifest)
		fclose(L->manifest);
	rm = uk_remove_tree(AT_FDCWD, L->work);
	if (rm < 0 && r == 0)
		r = uk_err_sys(err, -rm, "%s is left behind", L->work);
	listing_free(&L->ls);
	free(L);
	return r < 0 ? uk_err_prefix(err, r, "%s: ", o->img) : 0;
}

int uk_layer_commit(struct uk_layer_opts *o, struct uk_newfile *nf, bool replace,
		    struct uk_err *err)
{
	int r;

	o->fd = nf->fd;
	r = uk_layer_apply(o, err);
	if (r < 0) {
		uk_newfile_abort(nf);
		return r;
	}
	return uk_newfile_commit(nf, replace, err);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	return s ? uk_hash64(h, s, strlen(s) + 1) : uk_hash64(h, "", 1);
}

static uint64_t hash_entries(uint64_t h, const struct uk_layer_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned mode = (unsigned)e[i].mode;

		h = hash_str(hash_str(h, e[i].path), e[i].data);
		h = uk_hash64(h, &mode, sizeof(mode));
	}
	return h;
}

static uint64_t hash_units(uint64_t h, const struct uk_layer_mask *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = hash_str(h, m[i].unit);
	return h;
}

/* The file's bytes into h; 0 when it cannot be read. */
static uint64_t hash_file(uint64_t h, const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[65536];
	ssize_t n;
	uint64_t off = 0;

	if (fd < 0)
		return 0;
	while ((n = uk_pread_full(fd, buf, sizeof(buf), (off_t)off)) > 0) {
		h = uk_hash64(h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	return n < 0 ? 0 : h;
}

uint64_t uk_layer_hash(const struct uk_profile *p, const char *agent)
{
	uint64_t h = hash_entries(UK_HASH64_INIT, uk_debian_layer, uk_debian_layer_n);

	h = hash_units(h, uk_debian_masks, uk_debian_masks_n);
	if (p) {
		h = hash_entries(h, p->layer, p->nlayer);
		h = hash_units(hash_units(h, p->disabled, p->ndisabled), p->masks, p->nmasks);
	}
	return agent ? hash_file(h, agent) : h;
}
