// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * umlkit lab test DIR and Netkit's ltest: the lab cleaned and started, each machine's
 * dumps (DIR/_test/M.test's output as M.user, the built-in one as M.default) taken through
 * the agent, the lab crashed and cleaned; then the first run's dumps become the signature
 * (DIR/_test/signature) and a later run's are compared with it (lib/lab/ltest.c).
 *
 * The dumps go to a new directory beside the old ones (_test/.results.XXXXXX) and are
 * renamed into place only when complete: a run that fails half way leaves the signature
 * and the last results as they were.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "lab.h"
#include "umlkit/agent.h"
#include "umlkit/guest.h"
#include "umlkit/lab.h"
#include "umlkit/util.h"

#define DUMP_TIMEOUT_S 120	  /* no agent answer for this long: the machine is lost */
#define DUMP_MAX       (4u << 20) /* a dump larger than this is not compared */

/* Run argv in machine with its stdout into out_fd, stderr to ours: its status, or -1
 * with the reason said. */
static int dump(const struct uk_lab *lab, const char *machine, char *const argv[], int out_fd)
{
	struct uk_agent_io io = {.in = -1, .out = out_fd, .err = 2, .winch_fd = -1, .tty_fd = -1};
	struct uk_agent_result res = {0};
	struct uk_err err = {0};
	char name[UK_GUEST_NAME_MAX + 1];
	int sock;

	uk_lab_guest_name(lab, machine, name, sizeof(name));
	if (uk_guest_agent_connect(name, &sock, &err) < 0 ||
	    uk_agent_run(sock, name, 0, argv, NULL, &io, DUMP_TIMEOUT_S, &res, &err) < 0) {
		uk_fail(&err);
		return -1;
	}
	if (res.error) {
		uk_say("machine '%s': %s", machine, res.msg);
		return -1;
	}
	return res.signal ? 128 + res.signal : res.status;
}

/* Into dir (an fd): M.default, and M.user when DIR/_test/M.test is executable. 0 or -1. */
static int dump_machine(const struct uk_lab *lab, int test_fd, int dir, const char *m)
{
	char file[300], guest_path[340];
	struct stat st;
	int fd, r;

	snprintf(file, sizeof(file), "%s.default", m);
	fd = openat(dir, file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return uk_say("%s/_test: %s: %s", lab->dir, file, strerror(errno)), -1;
	r = dump(lab, m, (char *const[]){"sh", "-c", (char *)uk_lab_test_builtin, NULL}, fd);
	close(fd);
	if (r < 0)
		return -1;
	snprintf(file, sizeof(file), "%s.test", m);
	if (fstatat(test_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    !(st.st_mode & S_IXUSR))
		return 0;
	snprintf(guest_path, sizeof(guest_path), "/hostlab/_test/%s", file);
	snprintf(file, sizeof(file), "%s.user", m);
	fd = openat(dir, file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return uk_say("%s/_test: %s: %s", lab->dir, file, strerror(errno)), -1;
	r = dump(lab, m, (char *const[]){guest_path, NULL}, fd);
	close(fd);
	if (r > 0)
		uk_say("machine '%s': _test/%s.test exited with status %d (its output is kept)", m,
		       m, r);
	return r < 0 ? -1 : 0;
}

/* The whole of dir/name (not through a symlink), up to DUMP_MAX: malloc'd, or NULL. */
static char *slurp(int dir, const char *name, size_t *len)
{
	_cleanup_close_ int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *buf = fd < 0 ? NULL : malloc(DUMP_MAX);
	ssize_t n = buf ? uk_pread_full(fd, buf, DUMP_MAX, 0) : -1;

	if (n < 0 || (size_t)n == DUMP_MAX) {
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

/* One file of a run against the signature: true when they match (said either way). */
static bool compare_one(int run, int sig, const char *file)
{
	size_t alen = 0, blen = 0;
	char *a = slurp(run, file, &alen), *b = slurp(sig, file, &blen);
	int line = 0;
	bool ok = a && b && uk_lab_test_same(a, alen, b, blen, &line);

	if (ok)
		printf("ok   %s\n", file);
	else if (!b)
		printf("FAIL %s: not in the signature\n", file);
	else if (!a)
		printf("FAIL %s: in the signature, not made by this run\n", file);
	else
		printf("FAIL %s: line %d differs from the signature\n", file, line);
	free(a);
	free(b);
	return ok;
}

/* Each machine's files the mode verifies, this run's against the signature's: failures. */
static int compare(const struct uk_lab *lab, int run, int sig, enum uk_lab_verify v)
{
	static const char *const kinds[] = {"default", "user"};
	int failed = 0, passed = 0;

	for (int i = 0; i < lab->n_machine; i++) {
		for (int k = 0; k < 2; k++) {
			char file[300];

			if ((k == 0 && v == UK_LAB_VERIFY_USER) ||
			    (k == 1 && v == UK_LAB_VERIFY_BUILTIN))
				continue;
			snprintf(file, sizeof(file), "%s.%s", lab->machine[i].name, kinds[k]);
			if (k == 1 && faccessat(run, file, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
			    faccessat(sig, file, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
				continue; /* no user test, now or then */
			if (compare_one(run, sig, file))
				passed++;
			else
				failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed;
}

/* Replace test_fd/to with test_fd/from (a directory of ours). */
static int put_in_place(const struct uk_lab *lab, int test_fd, const char *from, const char *to)
{
	int r = uk_remove_tree(test_fd, to);

	if ((r < 0 && r != -ENOENT) || renameat(test_fd, from, test_fd, to) < 0 ||
	    fsync(test_fd) < 0) {
		uk_say("%s/_test/%s: %s", lab->dir, to,
		       strerror(r < 0 && r != -ENOENT ? -r : errno));
		return -1;
	}
	return 0;
}

/* DIR/_test, made when missing, never through a symlink: its fd, or -1 (said). */
static int open_test_dir(const struct uk_lab *lab)
{
	_cleanup_close_ int dfd = open(lab->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd;

	if (dfd < 0)
		return uk_say("%s: %s", lab->dir, strerror(errno)), -1;
	if (mkdirat(dfd, "_test", 0755) < 0 && errno != EEXIST)
		return uk_say("%s/_test: %s", lab->dir, strerror(errno)), -1;
	fd = openat(dfd, "_test", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		uk_say("%s/_test: %s", lab->dir, strerror(errno));
	return fd;
}

/* A new results directory in test_fd: its name in out and an fd, or -1 (said). */
static int new_results(const struct uk_lab *lab, int test_fd, char *out, size_t outlen)
{
	for (int tries = 0; tries < 100; tries++) {
		unsigned v = 0;

		if (getentropy(&v, sizeof(v)) < 0)
			v = (unsigned)getpid() * 2654435761u + (unsigned)tries;
		snprintf(out, outlen, ".results.%08x", v);
		if (mkdirat(test_fd, out, 0755) == 0) {
			int fd = openat(test_fd, out,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd < 0)
				uk_say("%s/_test/%s: %s", lab->dir, out, strerror(errno));
			return fd;
		}
		if (errno != EEXIST)
			break;
	}
	uk_say("%s/_test: cannot make a results directory: %s", lab->dir, strerror(errno));
	return -1;
}

/* A lab that runs is the user's: ltest starts its own, so it refuses. */
static int refuse_running(const struct uk_lab *lab)
{
	for (int i = 0; i < lab->n_machine; i++) {
		if (uk_lab_machine_running(lab, lab->machine[i].name)) {
			uk_say("%s: machine '%s' is running; the test starts the lab itself "
			       "(umlkit lab stop %s first)",
			       lab->dir, lab->machine[i].name, lab->dir);
			return UK_EXIT_FAIL;
		}
	}
	return 0;
}

/* The lab started, every machine dumped into run_fd, the lab crashed and cleaned. */
static int run_lab(struct uk_lab_cmd *c, int test_fd, int run_fd)
{
	struct uk_err err = {0};
	int r = uk_lab_cmd_start(c);

	for (int i = 0; r == 0 && i < c->lab->n_machine; i++)
		if (dump_machine(c->lab, test_fd, run_fd, c->lab->machine[i].name) < 0)
			r = UK_EXIT_FAIL;
	if (c->lab && uk_lab_clean(c->lab, NULL, true, &err) < 0 && r == 0)
		r = uk_fail(&err);
	return r;
}

int uk_lab_cmd_test(struct uk_lab_cmd *c)
{
	struct uk_err err = {0};
	char results[64];
	int r = uk_lab_cmd_load(c), test_fd = -1, run_fd = -1, sig_fd;

	if (r == 0 && c->lab->n_host) {
		uk_say("%s: lab.hosts spreads the lab over hosts; the test runs a lab on one",
		       c->lab->dir);
		r = UK_EXIT_FAIL;
	}
	if (r == 0)
		r = refuse_running(c->lab);
	if (r == 0 && uk_lab_clean(c->lab, NULL, true, &err) < 0) /* Netkit's: a fresh lab */
		r = uk_fail(&err);
	if (r == 0 && (test_fd = open_test_dir(c->lab)) < 0)
		r = UK_EXIT_FAIL;
	if (r == 0 && (run_fd = new_results(c->lab, test_fd, results, sizeof(results))) < 0)
		r = UK_EXIT_FAIL;
	uk_lab_cmd_free(c);
	if (r == 0)
		r = run_lab(c, test_fd, run_fd);
	if (r == 0 && fsync(run_fd) < 0)
		r = UK_EXIT_FAIL;
	if (r != 0) {
		if (run_fd >= 0)
			uk_remove_tree(test_fd, results);
	} else if ((sig_fd = openat(test_fd, "signature",
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = put_in_place(c->lab, test_fd, results, "signature") < 0 ? UK_EXIT_FAIL : 0;
		if (r == 0)
			printf("%s: signature made in %s/_test/signature\n", c->lab->dir,
			       c->lab->dir);
	} else {
		r = compare(c->lab, run_fd, sig_fd, c->verify) ? UK_EXIT_FAIL : 0;
		close(sig_fd);
		if (put_in_place(c->lab, test_fd, results, "results") < 0)
			r = UK_EXIT_FAIL;
	}
	if (run_fd >= 0)
		close(run_fd);
	if (test_fd >= 0)
		close(test_fd);
	return r;
}
