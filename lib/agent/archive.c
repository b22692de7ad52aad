// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The archive stream of `umlkit cp` (umlkit/agent.h): packing a file or a tree into frames,
 * unpacking frames into a directory. The same code runs on the host (cp out of a guest:
 * the stream comes from the guest and is hostile) and in the agent (cp into a guest), so
 * the unpacker trusts nothing: every name is checked, every directory is entered with
 * openat(O_NOFOLLOW), and files are written beside their name and renamed into place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlkit/agent.h"
#include "umlkit/util.h"

#define PACK_DEPTH_MAX	 256
#define PENDING_DIRS_MAX 65536

static int put_frame(int fd, uint8_t *buf, uint8_t type, size_t len, struct uk_err *err)
{
	int r;

	uk_agent_frame_header(buf, type, 0, (uint32_t)len);
	r = uk_write_all(fd, buf, UK_AGENT_HDR + len);
	return r < 0 ? uk_err_sys(err, -r, "archive: write") : 0;
}

static int put_entry(int fd, uint8_t *buf, const struct uk_agent_entry *e, struct uk_err *err)
{
	ssize_t n = uk_agent_entry_encode(buf, UK_AGENT_FRAME_MAX, e);
	int r;

	if (n < 0)
		return uk_err_set(err, (int)-n, "archive: %s: name too long or not allowed",
				  e->name);
	r = uk_write_all(fd, buf, (size_t)n);
	return r < 0 ? uk_err_sys(err, -r, "archive: write") : 0;
}

/* A_FILE of the open file in, then its bytes, then an empty A_DATA. */
static int pack_file(int fd, uint8_t *buf, int in, const struct stat *st, const char *name,
		     const char *path, struct uk_err *err)
{
	struct uk_agent_entry *e = calloc(1, sizeof(*e));
	int r;

	if (!e)
		return uk_err_set(err, ENOMEM, "out of memory");
	e->type = UK_AGENT_A_FILE;
	e->mode = st->st_mode & 07777;
	e->size = (uint64_t)st->st_size;
	snprintf(e->name, sizeof(e->name), "%s", name);
	r = put_entry(fd, buf, e, err);
	free(e);
	while (r == 0) {
		ssize_t n = read(in, buf + UK_AGENT_HDR, UK_AGENT_PAYLOAD_MAX);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return uk_err_sys(err, errno, "%s: read", path);
		r = put_frame(fd, buf, UK_AGENT_A_DATA, (size_t)n, err);
		if (n == 0)
			break;
	}
	return r;
}

struct pack {
	int fd;
	uint8_t *buf;
	void (*warn)(const char *msg);
	char name[UK_AGENT_NAME_MAX + 1];
	char path[PATH_MAX];
};

static int pack_dir(struct pack *p, int dfd, int depth, struct uk_err *err);

/* One entry of a directory: p->name and p->path name it; dfd is its directory. */
static int pack_entry(struct pack *p, int dfd, const char *leaf, int depth, struct uk_err *err)
{
	struct uk_agent_entry *e;
	struct stat st;
	int r = 0;

	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return uk_err_sys(err, errno, "%s", p->path);
	if (S_ISREG(st.st_mode)) {
		int in = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		if (in < 0)
			return uk_err_sys(err, errno, "%s", p->path);
		r = pack_file(p->fd, p->buf, in, &st, p->name, p->path, err);
		close(in);
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		int sub = openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (sub < 0)
			return uk_err_sys(err, errno, "%s", p->path);
		e = calloc(1, sizeof(*e));
		if (!e) {
			close(sub);
			return uk_err_set(err, ENOMEM, "out of memory");
		}
		e->type = UK_AGENT_A_DIR;
		e->mode = st.st_mode & 07777;
		snprintf(e->name, sizeof(e->name), "%s", p->name);
		r = put_entry(p->fd, p->buf, e, err);
		free(e);
		return r < 0 ? (close(sub), r) : pack_dir(p, sub, depth + 1, err);
	}
	if (S_ISLNK(st.st_mode)) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return uk_err_set(err, ENOMEM, "out of memory");
		ssize_t n = readlinkat(dfd, leaf, e->target, sizeof(e->target) - 1);

		if (n <= 0) {
			free(e);
			return uk_err_sys(err, n < 0 ? errno : EINVAL, "%s: readlink", p->path);
		}
		e->target[n] = '\0';
		e->type = UK_AGENT_A_SYMLINK;
		snprintf(e->name, sizeof(e->name), "%s", p->name);
		r = put_entry(p->fd, p->buf, e, err);
		free(e);
		return r;
	}
	if (p->warn) {
		char msg[PATH_MAX + 64];

		snprintf(msg, sizeof(msg), "%s: not a file, directory or symlink: skipped",
			 p->path);
		p->warn(msg);
	}
	return 0;
}

/* Every entry of the directory dfd (owned), whose name and path are in p. */
static int pack_dir(struct pack *p, int dfd, int depth, struct uk_err *err)
{
	size_t nlen = strlen(p->name), plen = strlen(p->path);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (depth > PACK_DEPTH_MAX) {
		close(dfd);
		return uk_err_set(err, ELOOP, "%s: more than %d levels deep", p->path,
				  PACK_DEPTH_MAX);
	}
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return uk_err_sys(err, errno, "%s", p->path);
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (nlen + 1 + strlen(de->d_name) > UK_AGENT_NAME_MAX ||
		    plen + 1 + strlen(de->d_name) >= sizeof(p->path)) {
			r = uk_err_set(err, ENAMETOOLONG, "%s/%s: name too long", p->path,
				       de->d_name);
			break;
		}
		sprintf(p->name + nlen, "/%s", de->d_name);
		sprintf(p->path + plen, "/%s", de->d_name);
		r = pack_entry(p, dirfd(d), de->d_name, depth, err);
		p->name[nlen] = '\0';
		p->path[plen] = '\0';
	}
	if (r == 0 && errno)
		r = uk_err_sys(err, errno, "%s", p->path);
	closedir(d);
	return r;
}

int uk_agent_pack(int fd, const char *path, const char *base, bool recursive,
		  void (*warn)(const char *msg), struct uk_err *err)
{
	struct pack *p = calloc(1, sizeof(*p));
	struct stat st;
	int in, r;

	if (!p || !(p->buf = malloc(UK_AGENT_FRAME_MAX))) {
		free(p);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	p->fd = fd;
	p->warn = warn;
	in = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (in < 0 || fstat(in, &st) < 0) {
		r = uk_err_sys(err, errno, "%s", path);
	} else if (!uk_agent_name_ok(base, strlen(base))) {
		r = uk_err_set(err, EINVAL, "%s: cannot copy a file of that name", path);
	} else if (S_ISREG(st.st_mode)) {
		fcntl(in, F_SETFL, 0);
		r = pack_file(fd, p->buf, in, &st, base, path, err);
	} else if (S_ISDIR(st.st_mode) && !recursive) {
		r = uk_err_set(err, EISDIR, "%s: is a directory (use -r)", path);
	} else if (S_ISDIR(st.st_mode)) {
		struct uk_agent_entry *e = calloc(1, sizeof(*e));

		snprintf(p->name, sizeof(p->name), "%s", base);
		snprintf(p->path, sizeof(p->path), "%s", path);
		if (!e) {
			r = uk_err_set(err, ENOMEM, "out of memory");
		} else {
			e->type = UK_AGENT_A_DIR;
			e->mode = st.st_mode & 07777;
			snprintf(e->name, sizeof(e->name), "%s", base);
			r = put_entry(fd, p->buf, e, err);
			free(e);
		}
		if (r == 0) {
			r = pack_dir(p, in, 0, err);
			in = -1; /* pack_dir closed it */
		}
	} else {
		r = uk_err_set(err, EINVAL, "%s: not a regular file or directory", path);
	}
	if (in >= 0)
		close(in);
	free(p->buf);
	free(p);
	return r;
}

int uk_agent_pack_end(int fd, struct uk_err *err)
{
	uint8_t hdr[UK_AGENT_HDR];

	return put_frame(fd, hdr, UK_AGENT_A_END, 0, err);
}

/* ---- unpacking ---- */

struct pending_dir {
	char *name;
	mode_t mode;
};

struct unpack {
	int in, dirfd;
	bool strip;
	const char *rename_top;
	char top[256];
	struct uk_agent_rbuf rb;
	/* the file being written */
	int out;
	int parent; /* its directory */
	char tmp[300], leaf[256];
	mode_t mode;
	/* directories made without u+rwx: their mode is set at the end */
	struct pending_dir *pend;
	size_t npend;
	/* the last parent opened, by name */
	int cache_fd;
	char cache_name[UK_AGENT_NAME_MAX + 1];
};

static int next_frame(struct unpack *u, struct uk_agent_frame *f, struct uk_err *err)
{
	for (;;) {
		size_t room;
		uint8_t *at;
		ssize_t n;
		int r = uk_agent_rbuf_next(&u->rb, f, err);

		if (r)
			return r < 0 ? uk_err_prefix(err, r, "archive: ") : 0;
		at = uk_agent_rbuf_space(&u->rb, &room);
		n = read(u->in, at, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return uk_err_sys(err, errno, "archive: read");
		if (n == 0)
			return uk_err_set(err, EBADMSG, "archive: the stream ended before its end");
		uk_agent_rbuf_fill(&u->rb, (size_t)n);
	}
}

/* The directory that holds name (relative to u->dirfd), opened without following a
 * symlink: the fd (u's to close: the cache) or -errno; leaf points into name. */
static int open_parent(struct unpack *u, const char *name, const char **leaf)
{
	const char *slash = strrchr(name, '/');
	size_t plen = slash ? (size_t)(slash - name) : 0;
	char comp[256];
	int fd;

	*leaf = slash ? slash + 1 : name;
	if (!slash)
		return u->dirfd;
	if (u->cache_fd >= 0 && strlen(u->cache_name) == plen && !memcmp(u->cache_name, name, plen))
		return u->cache_fd;
	fd = fcntl(u->dirfd, F_DUPFD_CLOEXEC, 3);
	for (const char *p = name; fd >= 0 && p < name + plen;) {
		const char *e = memchr(p, '/', (size_t)(name + plen - p));
		size_t n = e ? (size_t)(e - p) : (size_t)(name + plen - p);
		int sub;

		memcpy(comp, p, n);
		comp[n] = '\0';
		sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = sub;
		p += n + 1;
	}
	if (fd < 0)
		return -errno;
	if (u->cache_fd >= 0)
		close(u->cache_fd);
	u->cache_fd = fd;
	memcpy(u->cache_name, name, plen);
	u->cache_name[plen] = '\0';
	return fd;
}

/* The name as written: the first component replaced by rename_top, checked to stay the
 * top of the first entry. */
static int map_name(struct unpack *u, const char *name, char *out, size_t outlen,
		    struct uk_err *err)
{
	size_t tlen = strcspn(name, "/");

	if (!u->top[0]) {
		memcpy(u->top, name, tlen);
		u->top[tlen] = '\0';
	} else if (u->rename_top && (strlen(u->top) != tlen || memcmp(u->top, name, tlen))) {
		return uk_err_set(err, EBADMSG, "archive: entry %.200s is outside %s", name,
				  u->top);
	}
	const char *top = u->rename_top ? u->rename_top : "";
	const char *rest = u->rename_top ? name + tlen : name;
	size_t a = strlen(top), b = strlen(rest);

	if (a + b >= outlen)
		return uk_err_set(err, ENAMETOOLONG, "archive: %.200s: name too long", name);
	memcpy(out, top, a);
	memcpy(out + a, rest, b + 1);
	return 0;
}

static void tmp_name(char *out, size_t len, const char *leaf)
{
	uint32_t rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)getpid() ^ (uint32_t)uk_monotonic_ns();
	snprintf(out, len, ".%.200s.uk%08x", leaf, rnd);
}

static int do_dir(struct unpack *u, const struct uk_agent_entry *e, const char *name,
		  struct uk_err *err)
{
	const char *leaf;
	int pfd = open_parent(u, name, &leaf);
	mode_t mode = u->strip ? e->mode & 0777 : e->mode;
	struct stat st;

	if (pfd < 0)
		return uk_err_sys(err, -pfd, "%s: its directory", name);
	if (mkdirat(pfd, leaf, 0700) < 0) {
		if (errno != EEXIST)
			return uk_err_sys(err, errno, "%s: mkdir", name);
		if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			return uk_err_set(err, EEXIST, "%s: exists and is not a directory", name);
	}
	if (fchmodat(pfd, leaf, mode | S_IRWXU, 0) < 0)
		return uk_err_sys(err, errno, "%s: chmod", name);
	if ((mode & S_IRWXU) != S_IRWXU) {
		struct pending_dir *n;

		if (u->npend >= PENDING_DIRS_MAX)
			return uk_err_set(err, E2BIG, "archive: too many read-only directories");
		n = realloc(u->pend, (u->npend + 1) * sizeof(*n));
		if (!n)
			return uk_err_set(err, ENOMEM, "out of memory");
		u->pend = n;
		u->pend[u->npend].name = strdup(name);
		if (!u->pend[u->npend].name)
			return uk_err_set(err, ENOMEM, "out of memory");
		u->pend[u->npend++].mode = mode;
	}
	return 0;
}

static int begin_file(struct unpack *u, const struct uk_agent_entry *e, const char *name,
		      struct uk_err *err)
{
	const char *leaf;
	int pfd = open_parent(u, name, &leaf);

	if (pfd < 0)
		return uk_err_sys(err, -pfd, "%s: its directory", name);
	u->parent = fcntl(pfd, F_DUPFD_CLOEXEC, 3);
	if (u->parent < 0)
		return uk_err_sys(err, errno, "dup");
	snprintf(u->leaf, sizeof(u->leaf), "%s", leaf);
	tmp_name(u->tmp, sizeof(u->tmp), leaf);
	u->mode = u->strip ? e->mode & 0777 : e->mode;
	u->out = openat(u->parent, u->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (u->out < 0) {
		u->tmp[0] = '\0';
		return uk_err_sys(err, errno, "%s: create", name);
	}
	return 0;
}

static int end_file(struct unpack *u, const char *name, struct uk_err *err)
{
	if (fchmod(u->out, u->mode) < 0 || fsync(u->out) < 0)
		return uk_err_sys(err, errno, "%s", name);
	close(u->out);
	u->out = -1;
	if (renameat(u->parent, u->tmp, u->parent, u->leaf) < 0)
		return uk_err_sys(err, errno, "%s: rename into place", name);
	u->tmp[0] = '\0';
	close(u->parent);
	u->parent = -1;
	return 0;
}

static int do_symlink(struct unpack *u, const struct uk_agent_entry *e, const char *name,
		      struct uk_err *err)
{
	const char *leaf;
	int pfd = open_parent(u, name, &leaf);
	char tmp[300];

	if (pfd < 0)
		return uk_err_sys(err, -pfd, "%s: its directory", name);
	tmp_name(tmp, sizeof(tmp), leaf);
	if (symlinkat(e->target, pfd, tmp) < 0)
		return uk_err_sys(err, errno, "%s: symlink", name);
	if (renameat(pfd, tmp, pfd, leaf) < 0) {
		int e2 = errno;

		unlinkat(pfd, tmp, 0);
		return uk_err_sys(err, e2, "%s: rename into place", name);
	}
	return 0;
}

static int unpack_loop(struct unpack *u, struct uk_err *err)
{
	struct uk_agent_entry *e = malloc(sizeof(*e));
	char *name = malloc(UK_AGENT_NAME_MAX + 300);
	struct uk_agent_frame f;
	int r = 0;

	if (!e || !name) {
		free(e);
		free(name);
		return uk_err_set(err, ENOMEM, "out of memory");
	}
	while ((r = next_frame(u, &f, err)) == 0) {
		if (f.type == UK_AGENT_A_END) {
			if (u->out >= 0)
				r = uk_err_set(err, EBADMSG, "archive: ended inside a file");
			break;
		}
		if (f.type == UK_AGENT_A_DATA) {
			if (u->out < 0) {
				r = uk_err_set(err, EBADMSG, "archive: data outside a file");
				break;
			}
			if (f.len == 0) {
				r = end_file(u, name, err);
			} else {
				r = uk_write_all(u->out, f.payload, f.len);
				if (r < 0)
					r = uk_err_sys(err, -r, "%s: write", name);
			}
			if (r < 0)
				break;
			continue;
		}
		if (u->out >= 0) {
			r = uk_err_set(err, EBADMSG, "archive: an entry inside a file");
			break;
		}
		r = uk_agent_entry_decode(&f, e, err);
		if (r == 0)
			r = map_name(u, e->name, name, UK_AGENT_NAME_MAX + 300, err);
		if (r == 0 && e->type == UK_AGENT_A_DIR)
			r = do_dir(u, e, name, err);
		else if (r == 0 && e->type == UK_AGENT_A_FILE)
			r = begin_file(u, e, name, err);
		else if (r == 0)
			r = do_symlink(u, e, name, err);
		if (r < 0)
			break;
	}
	free(e);
	free(name);
	return r;
}

int uk_agent_unpack(int fd, int dirfd, const char *rename_top, bool strip_special,
		    struct uk_err *err)
{
	struct unpack u = {.in = fd,
			   .dirfd = dirfd,
			   .strip = strip_special,
			   .rename_top = rename_top,
			   .out = -1,
			   .parent = -1,
			   .cache_fd = -1};
	int r;

	if (uk_agent_rbuf_init(&u.rb) < 0)
		return uk_err_set(err, ENOMEM, "out of memory");
	r = unpack_loop(&u, err);
	if (u.out >= 0)
		close(u.out);
	if (u.parent >= 0) {
		if (u.tmp[0])
			unlinkat(u.parent, u.tmp, 0);
		close(u.parent);
	}
	/* the modes of read-only directories, deepest first */
	for (size_t i = u.npend; i-- > 0;) {
		const char *leaf;
		int pfd = r == 0 ? open_parent(&u, u.pend[i].name, &leaf) : -1;

		if (pfd >= 0 && fchmodat(pfd, leaf, u.pend[i].mode, 0) < 0 && r == 0)
			r = uk_err_sys(err, errno, "%s: chmod", u.pend[i].name);
		free(u.pend[i].name);
	}
	free(u.pend);
	if (u.cache_fd >= 0)
		close(u.cache_fd);
	uk_agent_rbuf_free(&u.rb);
	return r;
}

int uk_agent_dest_resolve(const char *dest, int nsrc, struct uk_agent_dest *d, struct uk_err *err)
{
	size_t len = strlen(dest);
	const char *slash;
	struct stat st;
	bool exists;

	memset(d, 0, sizeof(*d));
	if (!len || len >= sizeof(d->dir))
		return uk_err_set(err, EINVAL, "'%s': not a destination", dest);
	exists = stat(dest, &st) == 0;

	if (exists && S_ISDIR(st.st_mode)) {
		d->into_dir = true;
		snprintf(d->dir, sizeof(d->dir), "%s", dest);
		return 0;
	}
	if (nsrc > 1 || dest[len - 1] == '/')
		return uk_err_set(err, exists ? ENOTDIR : ENOENT, "%s: %s", dest,
				  exists ? "not a directory" : "no such directory");
	slash = strrchr(dest, '/');
	if (!slash) {
		snprintf(d->dir, sizeof(d->dir), ".");
		snprintf(d->top, sizeof(d->top), "%s", dest);
	} else {
		snprintf(d->dir, sizeof(d->dir), "%.*s", slash == dest ? 1 : (int)(slash - dest),
			 dest);
		snprintf(d->top, sizeof(d->top), "%s", slash + 1);
	}
	if (!uk_agent_name_ok(d->top, strlen(d->top)))
		return uk_err_set(err, EINVAL, "%s: not a name to copy to", dest);
	if (stat(d->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return uk_err_set(err, ENOENT, "%s: no such directory", d->dir);
	return 0;
}
