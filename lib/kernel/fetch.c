// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `umlkit kernel fetch`: a UML kernel from Debian's archive, made to run on this host.
 *
 * apt does the fetching, with a private sources list, state and cache in a temporary
 * directory (the host's sources, preferences, lists and dpkg database are neither read nor
 * changed; its apt.conf, proxies for example, still applies), the suite's Release file
 * checked against Debian's archive keyring and every package against it. The kernel package
 * and the packages it depends on (its C library) are unpacked with dpkg-deb into a new
 * entry of the store; patchelf points the kernel at that C library (its program interpreter
 * and run path), since the suite's kernel needs a newer one than the host's and, run through
 * the loader directly, is loaded at the wrong address. The entry is moved into place only
 * when whole, and the kernel must then answer --version; on any failure nothing is left.
 */
#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kernel-internal.h"
#include "umlkit/kernel.h"
#include "umlkit/util.h"

#define KEYRING		"/usr/share/keyrings/debian-archive-keyring.gpg"
#define DEFAULT_MIRROR	"http://deb.debian.org/debian"
#define DEFAULT_PACKAGE "user-mode-linux"
#define MAX_DEPS	8
#define APT_OPTS	16

struct fetch {
	const struct uk_kernel_fetch *f;
	const char *name, *suite, *package;
	char mirror[256];
	char store[PATH_MAX], work[PATH_MAX], newdir[PATH_MAX], final[PATH_MAX];
	char apt_get[PATH_MAX], apt_cache[PATH_MAX], dpkg_deb[PATH_MAX], patchelf[PATH_MAX];
	char opt[APT_OPTS][PATH_MAX + 64];
	int nopt;
	char version[128];
	char deps[MAX_DEPS][128], depver[MAX_DEPS][128];
	int ndeps;
	char kernel_rel[256], interp_rel[PATH_MAX], libdir_rel[PATH_MAX], libc_rel[PATH_MAX];
};

static void say(const struct fetch *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct fetch *x, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!x->f->say)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	x->f->say(x->f->ctx, line);
}

/* ---- what the user may name ---- */

static bool word_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

static bool mirror_ok(const char *m)
{
	if (strncmp(m, "http://", 7) && strncmp(m, "https://", 8) && strncmp(m, "file:/", 6))
		return false;
	for (; *m; m++)
		if (isspace((unsigned char)*m) || *m == ']' || *m == '[' ||
		    !isprint((unsigned char)*m))
			return false;
	return true;
}

/* ---- the host's Debian mirror ---- */

static void host_codename(const char *root, char *out, size_t outlen)
{
	char path[PATH_MAX], line[256];
	FILE *f;

	out[0] = '\0';
	uk_fmt(path, sizeof(path), "%s/etc/os-release", root);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VERSION_CODENAME=", 17)) {
			uk_fmt(out, outlen, "%.*s", (int)strcspn(line + 17, "\"\n"),
			       line + 17 + (line[17] == '"'));
			break;
		}
	fclose(f);
}

static bool has_word(const char *list, const char *w)
{
	size_t wl = strlen(w);

	while (*list) {
		size_t n;

		list += strspn(list, " \t");
		n = strcspn(list, " \t\n");
		if (n == wl && !strncmp(list, w, wl))
			return true;
		list += n;
		if (!n)
			break;
	}
	return false;
}

/* "deb [opts] URI SUITE COMPONENT..." */
static bool one_line(char *line, const char *codename, char *out, size_t outlen)
{
	char *p = line + strspn(line, " \t"), *uri, *suite;

	if (strncmp(p, "deb", 3) || (p[3] != ' ' && p[3] != '\t'))
		return false;
	p += 3 + strspn(p + 3, " \t");
	if (*p == '[') {
		p = strchr(p, ']');
		if (!p)
			return false;
		p++;
	}
	uri = strtok(p, " \t\n");
	suite = strtok(NULL, " \t\n");
	if (!uri || !suite || strcmp(suite, codename) || !mirror_ok(uri))
		return false;
	uk_fmt(out, outlen, "%.*s", (int)(strlen(uri) - (uri[strlen(uri) - 1] == '/')), uri);
	return true;
}

struct stanza {
	bool deb, disabled;
	char uris[512], suites[512];
};

static bool stanza_match(const struct stanza *s, const char *codename, char *out, size_t outlen)
{
	char uri[512];

	if (!s->deb || s->disabled || !has_word(s->suites, codename))
		return false;
	uk_fmt(uri, sizeof(uri), "%.*s", (int)strcspn(s->uris + strspn(s->uris, " \t"), " \t\n"),
	       s->uris + strspn(s->uris, " \t"));
	if (!mirror_ok(uri))
		return false;
	uk_fmt(out, outlen, "%.*s", (int)(strlen(uri) - (uri[strlen(uri) - 1] == '/')), uri);
	return true;
}

static bool scan_file(const char *path, bool deb822, const char *codename, char *out, size_t outlen)
{
	struct stanza s = {0};
	char line[1024];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (!deb822) {
			found = line[0] != '#' && one_line(line, codename, out, outlen);
			continue;
		}
		if (line[strspn(line, " \t")] == '\n' || line[0] == '\0') {
			found = stanza_match(&s, codename, out, outlen);
			memset(&s, 0, sizeof(s));
		} else if (!strncasecmp(line, "Types:", 6)) {
			s.deb = has_word(line + 6, "deb");
		} else if (!strncasecmp(line, "URIs:", 5)) {
			uk_fmt(s.uris, sizeof(s.uris), "%s", line + 5);
		} else if (!strncasecmp(line, "Suites:", 7)) {
			uk_fmt(s.suites, sizeof(s.suites), "%s", line + 7);
		} else if (!strncasecmp(line, "Enabled:", 8)) {
			s.disabled = has_word(line + 8, "no");
		}
	}
	if (!found && deb822)
		found = stanza_match(&s, codename, out, outlen);
	fclose(f);
	return found;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n > t && !strcmp(s + n - t, tail);
}

static bool source_file(const char *name)
{
	return ends_with(name, ".list") || ends_with(name, ".sources");
}

int uk_kernel_host_mirror(const char *root, char *out, size_t outlen)
{
	char codename[64], path[PATH_MAX], dir[PATH_MAX], **names = NULL;
	int count = 0;
	bool found;

	host_codename(root, codename, sizeof(codename));
	uk_fmt(out, outlen, "%s", DEFAULT_MIRROR);
	if (!codename[0])
		return 0;
	uk_fmt(path, sizeof(path), "%s/etc/apt/sources.list", root);
	if (scan_file(path, false, codename, out, outlen))
		return 0;
	uk_fmt(dir, sizeof(dir), "%s/etc/apt/sources.list.d", root);
	if (uk_dir_names(dir, source_file, &names, &count, NULL) < 0)
		return 0;
	found = false;
	for (int i = 0; i < count && !found; i++) {
		uk_fmt(path, sizeof(path), "%s/%s", dir, names[i]);
		found = scan_file(path, ends_with(names[i], ".sources"), codename, out, outlen);
	}
	uk_names_free(names, count);
	if (!found)
		uk_fmt(out, outlen, "%s", DEFAULT_MIRROR);
	return 0;
}

/* ---- running apt ---- */

/* -o KEY=VALUE[TAIL] */
static void add_opt(struct fetch *x, const char *key, const char *value, const char *tail)
{
	uk_fmt(x->opt[x->nopt++], sizeof(x->opt[0]), "%s=%s%s", key, value, tail);
}

static const char *dpkg_arch(void)
{
	struct utsname u;

	if (uname(&u) < 0)
		return "amd64";
	if (!strcmp(u.machine, "aarch64"))
		return "arm64";
	if (!strcmp(u.machine, "i686"))
		return "i386";
	return "amd64";
}

static void apt_options(struct fetch *x)
{
	const char *arch = dpkg_arch();

	add_opt(x, "Dir::Etc::SourceList", x->work, "/sources.list");
	add_opt(x, "Dir::Etc::SourceParts", x->work, "/none");
	add_opt(x, "Dir::Etc::Preferences", x->work, "/none/preferences");
	add_opt(x, "Dir::Etc::PreferencesParts", x->work, "/none");
	add_opt(x, "Dir::State", x->work, "/state");
	add_opt(x, "Dir::State::status", x->work, "/status");
	add_opt(x, "Dir::Cache", x->work, "/cache");
	add_opt(x, "Dir::Log", x->work, "/state");
	add_opt(x, "APT::Architecture", arch, "");
	add_opt(x, "APT::Architectures", arch, "");
	add_opt(x, "Debug::NoLocking", "1", "");
	add_opt(x, "Acquire::Languages", "none", "");
	add_opt(x, "APT::Default-Release", "", "");
}

/* apt-get or apt-cache with our options and then args (NULL-terminated). */
static int apt(struct fetch *x, const char *prog, const char *const *args, const char *cwd,
	       char *out, size_t outlen, struct uk_err *err)
{
	char *argv[2 * APT_OPTS + MAX_DEPS + 8];
	struct uk_cmd *c = calloc(1, sizeof(*c));
	int n = 0, r;

	if (!c)
		return uk_err_set(err, ENOMEM, "out of memory");
	argv[n++] = (char *)prog;
	argv[n++] = (char *)"-q";
	for (int i = 0; i < x->nopt; i++) {
		argv[n++] = (char *)"-o";
		argv[n++] = x->opt[i];
	}
	for (; *args && n < (int)UK_ARRAY_SIZE(argv) - 1; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	c->argv = argv;
	c->cwd = cwd;
	c->pass_fd = -1;
	c->out = out;
	c->outlen = outlen;
	r = uk_run(c, err);
	free(c);
	return r;
}

/* ---- the steps ---- */

static int find_tools(struct fetch *x, struct uk_err *err)
{
	static const char *const sbin[] = {"/usr/bin", "/bin", "/usr/sbin", "/sbin", NULL};
	struct {
		const char *name, *pkg;
		char *path;
	} t[] = {{"apt-get", "apt", x->apt_get},
		 {"apt-cache", "apt", x->apt_cache},
		 {"dpkg-deb", "dpkg", x->dpkg_deb},
		 {"patchelf", "patchelf", x->patchelf}};
	struct stat st;

	for (size_t i = 0; i < UK_ARRAY_SIZE(t); i++)
		if (uk_find_prog(t[i].name, NULL, true, sbin, t[i].path, PATH_MAX) < 0)
			return uk_err_set(err, ENOENT, "%s not found (install %s)", t[i].name,
					  t[i].pkg);
	if (stat(KEYRING, &st) < 0)
		return uk_err_sys(err, errno, "%s (install debian-archive-keyring)", KEYRING);
	return 0;
}

static int mkdir_in(const char *base, const char *sub, mode_t mode, uid_t owner, struct uk_err *err)
{
	char p[PATH_MAX];

	uk_fmt(p, sizeof(p), "%s/%s", base, sub);
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return uk_err_sys(err, errno, "%s", p);
	if (owner != (uid_t)-1 && chown(p, owner, (gid_t)-1) < 0)
		return uk_err_sys(err, errno, "%s", p);
	return 0;
}

static int write_text(const char *dir, const char *name, const char *text, struct uk_err *err)
{
	char p[PATH_MAX];
	_cleanup_close_ int fd = -1;

	uk_fmt(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || uk_write_all(fd, text, strlen(text)) < 0)
		return uk_err_sys(err, errno, "%s", p);
	return 0;
}

/*
 * apt's working directory, outside the store. As root apt downloads as its own user _apt,
 * which must reach the directories it writes: the work directory is then world-searchable
 * and those directories are _apt's.
 */
static int make_work(struct fetch *x, struct uk_err *err)
{
	const char *tmp = getenv("TMPDIR");
	struct passwd *pw = geteuid() == 0 ? getpwnam("_apt") : NULL;
	uid_t apt_uid = pw ? pw->pw_uid : (uid_t)-1;
	char line[512];
	int r = 0;

	uk_fmt(x->work, sizeof(x->work), "%s/umlkit-kernel-XXXXXX",
	       tmp && tmp[0] == '/' ? tmp : "/var/tmp");
	if (!mkdtemp(x->work)) {
		r = uk_err_sys(err, errno, "%s", x->work);
		x->work[0] = '\0';
		return r;
	}
	if (pw && chmod(x->work, 0755) < 0)
		return uk_err_sys(err, errno, "%s", x->work);
	uk_fmt(line, sizeof(line), "deb [signed-by=%s] %s %s main\n", KEYRING, x->mirror, x->suite);
	if ((r = mkdir_in(x->work, "none", 0755, (uid_t)-1, err)) < 0 ||
	    (r = mkdir_in(x->work, "state", 0755, (uid_t)-1, err)) < 0 ||
	    (r = mkdir_in(x->work, "state/lists", 0755, (uid_t)-1, err)) < 0 ||
	    (r = mkdir_in(x->work, "state/lists/partial", 0700, apt_uid, err)) < 0 ||
	    (r = mkdir_in(x->work, "cache", 0755, (uid_t)-1, err)) < 0 ||
	    (r = mkdir_in(x->work, "cache/archives", 0755, (uid_t)-1, err)) < 0 ||
	    (r = mkdir_in(x->work, "cache/archives/partial", 0700, apt_uid, err)) < 0 ||
	    (r = mkdir_in(x->work, "debs", 0755, apt_uid, err)) < 0 ||
	    (r = write_text(x->work, "status", "", err)) < 0 ||
	    (r = write_text(x->work, "sources.list", line, err)) < 0)
		return r;
	apt_options(x);
	return 0;
}

/* The value of field in the first stanza of apt-cache show's text; "" when missing. */
static void field(const char *text, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = text;

	out[0] = '\0';
	while (*p && *p != '\n') {
		if (!strncmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1 + strspn(p + nl + 1, " ");

			uk_fmt(out, outlen, "%.*s", (int)strcspn(v, "\n"), v);
			return;
		}
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
}

/* "libc6 (>= 2.38), libfoo | libbar" -> libc6, libfoo: the first of each alternative. */
static int parse_depends(struct fetch *x, const char *deps, struct uk_err *err)
{
	while (*deps) {
		size_t n;

		deps += strspn(deps, ", ");
		n = strcspn(deps, " (:|,");
		if (n) {
			if (x->ndeps == MAX_DEPS)
				return uk_err_set(err, E2BIG, "%s depends on more than %d packages",
						  x->package, MAX_DEPS);
			uk_fmt(x->deps[x->ndeps], sizeof(x->deps[0]), "%.*s", (int)n, deps);
			if (!word_ok(x->deps[x->ndeps], 100, "+-."))
				return uk_err_set(err, EINVAL, "%s: a dependency apt gave: '%s'",
						  x->package, x->deps[x->ndeps]);
			x->ndeps++;
		}
		deps += strcspn(deps, ",");
	}
	return 0;
}

static int candidate(struct fetch *x, const char *pkg, char *version, size_t vlen, char *deps,
		     size_t dlen, struct uk_err *err)
{
	const char *args[] = {"show", "--no-all-versions", pkg, NULL};
	_cleanup_free_ char *out = malloc(1 << 16);
	char pre[512];
	int r;

	if (!out)
		return uk_err_set(err, ENOMEM, "out of memory");
	r = apt(x, x->apt_cache, args, NULL, out, 1 << 16, err);
	if (r < 0)
		return uk_err_prefix(err, r, "package %s in %s %s: ", pkg, x->mirror, x->suite);
	field(out, "Version", version, vlen);
	if (!version[0])
		return uk_err_set(err, ENOENT, "package %s: no version in %s %s", pkg, x->mirror,
				  x->suite);
	if (deps) {
		field(out, "Depends", deps, dlen);
		field(out, "Pre-Depends", pre, sizeof(pre));
		if (pre[0] && strlen(deps) + strlen(pre) + 3 < dlen)
			strcat(strcat(deps, deps[0] ? ", " : ""), pre);
	}
	return 0;
}

static int resolve(struct fetch *x, struct uk_err *err)
{
	const char *update[] = {"update", NULL};
	char deps[1024];
	int r;

	say(x, "kernel %s: reading %s %s (signed by %s)", x->name, x->mirror, x->suite, KEYRING);
	r = apt(x, x->apt_get, update, NULL, NULL, 0, err);
	if (r < 0)
		return uk_err_prefix(err, r, "suite %s at %s: ", x->suite, x->mirror);
	r = candidate(x, x->package, x->version, sizeof(x->version), deps, sizeof(deps), err);
	if (r < 0)
		return r;
	r = parse_depends(x, deps, err);
	for (int i = 0; r == 0 && i < x->ndeps; i++)
		r = candidate(x, x->deps[i], x->depver[i], sizeof(x->depver[0]), NULL, 0, err);
	return r;
}

static int download(struct fetch *x, struct uk_err *err)
{
	char want[MAX_DEPS + 1][260], debs[PATH_MAX];
	const char *args[MAX_DEPS + 3];
	int n = 0, r;

	args[n++] = "download";
	uk_fmt(want[0], sizeof(want[0]), "%s=%s", x->package, x->version);
	args[n++] = want[0];
	for (int i = 0; i < x->ndeps; i++) {
		uk_fmt(want[i + 1], sizeof(want[0]), "%s=%s", x->deps[i], x->depver[i]);
		args[n++] = want[i + 1];
	}
	args[n] = NULL;
	say(x, "kernel %s: downloading %s %s%s%s", x->name, x->package, x->version,
	    x->ndeps ? " and " : "", x->ndeps ? x->deps[0] : "");
	uk_fmt(debs, sizeof(debs), "%s/debs", x->work);
	r = apt(x, x->apt_get, args, debs, NULL, 0, err);
	return r < 0 ? uk_err_prefix(err, r, "%s %s: ", x->package, x->version) : 0;
}

static bool is_deb(const char *name)
{
	return ends_with(name, ".deb");
}

static int unpack(struct fetch *x, struct uk_err *err)
{
	char debs[PATH_MAX], deb[PATH_MAX], root[PATH_MAX], **names = NULL;
	int count = 0, r;

	uk_fmt(debs, sizeof(debs), "%s/debs", x->work);
	uk_fmt(root, sizeof(root), "%s/root", x->newdir);
	r = uk_dir_names(debs, is_deb, &names, &count, err);
	if (r < 0)
		return r;
	if (count != x->ndeps + 1)
		r = uk_err_set(err, EIO, "%s: apt left %d packages, %d expected", debs, count,
			       x->ndeps + 1);
	say(x, "kernel %s: unpacking %d packages", x->name, count);
	for (int i = 0; r == 0 && i < count; i++) {
		char *argv[] = {x->dpkg_deb, (char *)"-x", deb, root, NULL};
		char out[1024];

		uk_fmt(deb, sizeof(deb), "%s/%s", debs, names[i]);
		r = uk_run_capture(argv, -1, out, sizeof(out), err);
	}
	uk_names_free(names, count);
	return r;
}

/* The program interpreter a dynamically linked ELF binary names (PT_INTERP). */
static int elf_interp(const char *path, char *out, size_t outlen, struct uk_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (fd < 0)
		return uk_err_sys(err, errno, "%s", path);
	if (uk_pread_full(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(ph))
		return uk_err_set(err, ENOEXEC, "%s: not a 64-bit ELF executable", path);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (uk_pread_full(fd, &ph, sizeof(ph), eh.e_phoff + (uint64_t)i * sizeof(ph)) !=
		    (ssize_t)sizeof(ph))
			break;
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz < 2 || ph.p_filesz >= outlen ||
		    uk_pread_full(fd, out, ph.p_filesz, ph.p_offset) != (ssize_t)ph.p_filesz ||
		    out[ph.p_filesz - 1] != '\0' || out[0] != '/')
			return uk_err_set(err, ENOEXEC, "%s: a bad program interpreter", path);
		return 0;
	}
	return uk_err_set(err, ENOEXEC, "%s: no program interpreter (not linked dynamically)",
			  path);
}

/* A path under newdir/root without symlinks, as rel (relative to newdir). */
static int inside(const struct fetch *x, const char *rootpath, char *rel, size_t rellen)
{
	char real[PATH_MAX], base[PATH_MAX];
	size_t bl;

	if (!realpath(rootpath, real) || !realpath(x->newdir, base))
		return -errno;
	bl = strlen(base);
	if (strncmp(real, base, bl) || real[bl] != '/')
		return -EXDEV;
	uk_fmt(rel, rellen, "%s", real + bl + 1);
	return 0;
}

/* root/usr/bin/linux.uml (or linux), its interpreter and libc.so.6 beside it. */
static int locate(struct fetch *x, struct uk_err *err)
{
	static const char *const bins[] = {"root/usr/bin/linux.uml", "root/usr/bin/linux"};
	static const char *const pre[] = {"root", "root/usr"};
	char p[PATH_MAX], interp[256], libc[PATH_MAX];
	int r = -ENOENT;

	for (size_t i = 0; r < 0 && i < UK_ARRAY_SIZE(bins); i++) {
		uk_fmt(p, sizeof(p), "%s/%s", x->newdir, bins[i]);
		r = inside(x, p, x->kernel_rel, sizeof(x->kernel_rel));
	}
	if (r < 0)
		return uk_err_set(err, ENOENT, "%s %s has no usr/bin/linux.uml", x->package,
				  x->version);
	uk_fmt(p, sizeof(p), "%s/%s", x->newdir, x->kernel_rel);
	r = elf_interp(p, interp, sizeof(interp), err);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; r < 0 && i < UK_ARRAY_SIZE(pre); i++) {
		uk_fmt(p, sizeof(p), "%s/%s%s", x->newdir, pre[i], interp);
		r = inside(x, p, x->interp_rel, sizeof(x->interp_rel));
	}
	if (r < 0)
		return uk_err_set(err, ENOENT, "%s needs %s, which no package fetched holds",
				  x->kernel_rel, interp);
	uk_fmt(x->libdir_rel, sizeof(x->libdir_rel), "%s", x->interp_rel);
	*strrchr(x->libdir_rel, '/') = '\0';
	uk_fmt(p, sizeof(p), "%s/%s/libc.so.6", x->newdir, x->libdir_rel);
	if (inside(x, p, libc, sizeof(libc)) < 0)
		return uk_err_set(err, ENOENT, "%s/%s has no libc.so.6", x->newdir, x->libdir_rel);
	uk_fmt(x->libc_rel, sizeof(x->libc_rel), "%s", libc);
	return 0;
}

static int patch(struct fetch *x, struct uk_err *err)
{
	char interp[PATH_MAX + 256], rpath[PATH_MAX + 256], bin[PATH_MAX + 256], out[1024];
	char *argv[] = {
		x->patchelf, (char *)"--set-interpreter", interp, (char *)"--set-rpath", rpath, bin,
		NULL};

	/* the paths the entry will have once in place */
	uk_fmt(interp, sizeof(interp), "%s/%s", x->final, x->interp_rel);
	uk_fmt(rpath, sizeof(rpath), "%s/%s", x->final, x->libdir_rel);
	uk_fmt(bin, sizeof(bin), "%s/%s", x->newdir, x->kernel_rel);
	return uk_run_capture(argv, -1, out, sizeof(out), err);
}

static int add_file(json_t *files, int dfd, const char *rel, struct uk_err *err)
{
	uint64_t size, sum;
	char hex[17];
	int r = uk_kernel_file_sum(dfd, rel, &size, &sum);

	if (r < 0)
		return uk_err_sys(err, -r, "%s", rel);
	uk_fmt(hex, sizeof(hex), "%016" PRIx64, sum);
	json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "path", rel, "size",
					       (json_int_t)size, "sum", hex));
	return 0;
}

static int write_manifest(const struct fetch *x, struct uk_kernel *k, struct uk_err *err)
{
	_cleanup_close_ int dfd = open(x->newdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char path[PATH_MAX], pkg[260], libc[260], dep[PATH_MAX];
	json_t *m, *files = json_array();
	struct uk_newfile nf;
	char *text = NULL;
	int r;

	uk_fmt(pkg, sizeof(pkg), "%s %s", x->package, x->version);
	uk_fmt(libc, sizeof(libc), "%s %s", x->ndeps ? x->deps[0] : "",
	       x->ndeps ? x->depver[0] : "");
	uk_fmt(dep, sizeof(dep), "root/usr/lib/uml/modules/%s/modules.dep", k->release);
	r = dfd < 0 ? uk_err_sys(err, errno, "%s", x->newdir) : 0;
	if (r == 0)
		r = add_file(files, dfd, x->kernel_rel, err);
	if (r == 0)
		r = add_file(files, dfd, x->interp_rel, err);
	if (r == 0)
		r = add_file(files, dfd, x->libc_rel, err);
	if (r == 0 && faccessat(dfd, dep, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		r = add_file(files, dfd, dep, err);
	m = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:O}", "format", 1, "name",
		      x->name, "suite", x->suite, "mirror", x->mirror, "package", pkg, "libc", libc,
		      "release", k->release, "fetched", (json_int_t)time(NULL), "kernel",
		      x->kernel_rel, "files", files);
	json_decref(files);
	if (r == 0 && !(m && (text = json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS))))
		r = uk_err_set(err, ENOMEM, "out of memory");
	json_decref(m);
	uk_fmt(path, sizeof(path), "%s/manifest.json", x->newdir);
	if (r == 0 && (r = uk_newfile_open(&nf, path, 0644, err)) == 0) {
		r = uk_write_all(nf.fd, text, strlen(text));
		if (r == 0)
			r = uk_write_all(nf.fd, "\n", 1);
		if (r < 0) {
			uk_newfile_abort(&nf);
			r = uk_err_sys(err, -r, "%s", path);
		} else {
			r = uk_newfile_commit(&nf, false, err);
		}
	}
	free(text);
	return r;
}

/* The kernel answers --version with the release of its banner, once in place. */
static int runs_here(const struct uk_kernel *k, struct uk_err *err)
{
	char *argv[] = {(char *)k->path, (char *)"--version", NULL};
	char out[256];
	int r = uk_run_capture(argv, -1, out, sizeof(out), err);

	if (r < 0)
		return uk_err_prefix(err, r, "the fetched kernel does not run on this host: ");
	if (strncmp(out, k->release, strlen(k->release)))
		return uk_err_set(err, EIO, "%s --version said '%.40s', %s expected", k->path, out,
				  k->release);
	return 0;
}

/* Move the new entry into place (the old one, if any, aside and then away). */
static int install(struct fetch *x, struct uk_kernel *k, struct uk_err *err)
{
	char aside[PATH_MAX];
	bool had_old = false;
	int r;

	uk_fmt(aside, sizeof(aside), "%s/.old-%s-%ld", x->store, x->name, (long)getpid());
	if (rename(x->final, aside) == 0)
		had_old = true;
	else if (errno != ENOENT)
		return uk_err_sys(err, errno, "%s", x->final);
	if (rename(x->newdir, x->final) < 0) {
		r = uk_err_sys(err, errno, "%s", x->final);
		if (had_old)
			rename(aside, x->final);
		return r;
	}
	x->newdir[0] = '\0';
	uk_fmt(k->path, sizeof(k->path), "%s/%s", x->final, x->kernel_rel);
	r = runs_here(k, err);
	if (r < 0) {
		uk_remove_tree(AT_FDCWD, x->final);
		if (had_old)
			rename(aside, x->final);
		return r;
	}
	if (had_old)
		uk_remove_tree(AT_FDCWD, aside);
	uk_fsync_dir_of(x->final);
	return 0;
}

static int build(struct fetch *x, struct uk_kernel *k, struct uk_err *err)
{
	int r;

	uk_fmt(x->newdir, sizeof(x->newdir), "%s/.new-%s-XXXXXX", x->store, x->name);
	if (!mkdtemp(x->newdir)) {
		r = uk_err_sys(err, errno, "%s", x->newdir);
		x->newdir[0] = '\0';
		return r;
	}
	if (chmod(x->newdir, 0755) < 0)
		return uk_err_sys(err, errno, "%s", x->newdir);
	r = download(x, err);
	if (r == 0)
		r = unpack(x, err);
	if (r == 0)
		r = locate(x, err);
	if (r == 0)
		r = patch(x, err);
	if (r < 0)
		return r;
	uk_fmt(k->path, sizeof(k->path), "%s/%s", x->newdir, x->kernel_rel);
	r = uk_kernel_probe(k, err);
	if (r == 0 && !k->release[0])
		r = uk_err_set(err, ENOEXEC, "%s: no \"Linux version\" banner in it", k->path);
	if (r == 0)
		r = write_manifest(x, k, err);
	if (r == 0)
		r = install(x, k, err);
	return r;
}

/* The entry of this name already holds this version, whole: nothing to fetch. */
static bool reusable(const struct fetch *x, struct uk_kernel *k)
{
	char want[260];

	uk_fmt(want, sizeof(want), "%s %s", x->package, x->version);
	return !x->f->force && uk_kernel_find(x->name, k, NULL) == 0 && !strcmp(k->package, want) &&
	       !strcmp(k->mirror, x->mirror) && !strcmp(k->suite, x->suite);
}

static int check_names(struct fetch *x, struct uk_err *err)
{
	if (!word_ok(x->suite, UK_KERNEL_NAME_MAX, "-"))
		return uk_err_set(err, EINVAL,
				  "suite '%s': not a Debian suite name (like sid or trixie)",
				  x->suite);
	if (!strcmp(x->name, UK_KERNEL_SYSTEM))
		return uk_err_set(err, EINVAL,
				  "kernel name '%s' is the host's kernel's; pick another", x->name);
	if (uk_name_check("kernel", x->name, UK_KERNEL_NAME_MAX, err) < 0)
		return -EINVAL;
	if (!word_ok(x->package, 100, "+-."))
		return uk_err_set(err, EINVAL, "package '%s': not a Debian package name",
				  x->package);
	if (!mirror_ok(x->mirror))
		return uk_err_set(err, EINVAL,
				  "mirror '%s': not an http://, https:// or file:/ address",
				  x->mirror);
	return 0;
}

int uk_kernel_fetch(const struct uk_kernel_fetch *f, struct uk_kernel *k, struct uk_err *err)
{
	struct fetch *x = calloc(1, sizeof(*x));
	_cleanup_close_ int lock = -1;
	int r;

	memset(k, 0, sizeof(*k));
	if (!x)
		return uk_err_set(err, ENOMEM, "out of memory");
	x->f = f;
	x->suite = f->suite ? f->suite : UK_KERNEL_SUITE_DEFAULT;
	x->name = f->name ? f->name : x->suite;
	x->package = f->package ? f->package : DEFAULT_PACKAGE;
	if (f->mirror)
		uk_fmt(x->mirror, sizeof(x->mirror), "%s", f->mirror);
	else
		uk_kernel_host_mirror("/", x->mirror, sizeof(x->mirror));
	r = check_names(x, err);
	if (r == 0)
		r = find_tools(x, err);
	if (r == 0)
		r = uk_kernel_store(x->store, sizeof(x->store), err);
	if (r == 0 && (r = lock = uk_kernel_store_lock(x->store, err)) >= 0)
		r = make_work(x, err);
	uk_fmt(x->final, sizeof(x->final), "%s/%s", x->store, x->name);
	if (r == 0)
		r = resolve(x, err);
	if (r == 0 && reusable(x, k)) {
		say(x, "kernel %s: %s %s is here already (%s)", x->name, x->package, x->version,
		    k->path);
	} else if (r == 0) {
		memset(k, 0, sizeof(*k));
		uk_fmt(k->name, sizeof(k->name), "%s", x->name);
		r = build(x, k, err);
		if (r == 0)
			r = uk_kernel_find(x->name, k, err);
		if (r == 0)
			r = 1;
	}
	if (x->newdir[0])
		uk_remove_tree(AT_FDCWD, x->newdir);
	if (x->work[0])
		uk_remove_tree(AT_FDCWD, x->work);
	free(x);
	return r;
}
