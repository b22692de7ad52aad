// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit lab start, stop, crash and clean: the lab read, its image and kernel found, the
 * runtime (lib/lab/run.c) called, its progress printed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "umlkit/image.h"
#include "umlkit/util.h"
#include "cmd.h"
#include "lab.h"

int uk_lab_parallel_parse(const char *cmd, const char *v, int *out)
{
	uint64_t n;

	if (uk_parse_u64(v, &n) < 0 || n < 1 || n > UK_LAB_PARALLEL_MAX)
		return uk_usage_error(cmd, "-p %s: machines at once, 1 to %d", v,
				      UK_LAB_PARALLEL_MAX);
	*out = (int)n;
	return 0;
}

int uk_lab_over_add(struct uk_lab_cmd *c, const char *cmd, const char *v)
{
	const char *eq = strchr(v, '=');

	if (!eq || eq == v)
		return uk_usage_error(cmd, "-o %s: want KEY=VALUE", v);
	if (c->load.n_over >= UK_LAB_OVER_MAX)
		return uk_usage_error(cmd, "-o: at most %d options", UK_LAB_OVER_MAX);
	c->over[c->load.n_over++] = v;
	c->load.over = c->over;
	return 0;
}

int uk_lab_cmd_load(struct uk_lab_cmd *c)
{
	struct uk_err err = {0};

	if (uk_lab_load(c->dir, &c->load, &c->lab, &err) < 0)
		return uk_fail(&err);
	for (int i = 0; i < c->lab->n_warning; i++)
		uk_say("warning: %s", c->lab->warning[i]);
	for (int i = 0; i < c->run.n_only; i++) {
		if (!uk_lab_machine_find(c->lab, c->run.only[i])) {
			uk_say("%s: no machine named '%s' in the lab", c->lab->dir, c->run.only[i]);
			return UK_EXIT_FAIL;
		}
	}
	return 0;
}

void uk_lab_cmd_free(struct uk_lab_cmd *c)
{
	if (c->lab)
		uk_lab_free(c->lab);
	c->lab = NULL;
}

/* The lab image: --image, else $UMLKIT_LAB_IMAGE, else the lab profile's image in the
 * cache (umlkit image build --profile lab), made absolute (COWs name it) */
static int find_image(struct uk_lab_cmd *c, char *out, size_t outlen)
{
	const char *img = c->image ? c->image : getenv("UMLKIT_LAB_IMAGE");
	struct uk_err err = {0};
	struct stat st;
	int r;

	if (!img || !*img) {
		r = uk_image_profile_path("lab", NULL, false, out, outlen, &err);
		if (r == -ENOENT)
			uk_say("%s: the lab image is not built: `umlkit image build --profile lab` "
			       "makes it (or give --image PATH, or set UMLKIT_LAB_IMAGE)",
			       c->lab->dir);
		return r == 0 ? 0 : r == -ENOENT ? UK_EXIT_FAIL : uk_fail(&err);
	}
	if (stat(img, &st) < 0 || !S_ISREG(st.st_mode)) {
		uk_say("lab image %s: %s", img,
		       stat(img, &st) < 0 ? strerror(errno) : "not a regular file");
		return UK_EXIT_FAIL;
	}
	if (uk_path_absolutize(img, out, outlen, &err) < 0)
		return uk_fail(&err);
	return 0;
}

/* The kernel (--kernel, else umlkit's default), its modules image and seccomp= */
static int find_kernel(struct uk_lab_cmd *c)
{
	struct uk_err err = {0};

	if (uk_kernel_find(c->kernel, &c->k, &err) < 0)
		return uk_fail(&err);
	c->modules[0] = '\0';
	if (uk_rootfs_modules(c->k.release, c->k.modules, true, c->modules, sizeof(c->modules),
			      NULL, &err) < 0)
		return uk_fail(&err);
	if (strpbrk(c->modules, ",:"))
		c->modules[0] = '\0'; /* ubd= cannot name it: the guests go without */
	/* auto by default: a lab's machines run without the jail and reach the host's files
	 * through hostfs, so seccomp mode (guest processes can reach the kernel's memory) gives
	 * a guest nothing it has not got; on 7.2 a lab starts in 40% of the time */
	return uk_seccomp_choose(c->seccomp, "auto", &c->k, c->seccomp_arg, sizeof(c->seccomp_arg));
}

static void say_progress(const char *machine, const char *what, void *ctx)
{
	const struct uk_lab_cmd *c = ctx;

	if (!c->quiet || !strncmp(what, "failed", 6) || !strncmp(what, "not started", 11))
		printf("%s: %s\n", machine, what);
	fflush(stdout);
}

static long largest_mem(const struct uk_lab *lab)
{
	long mem = 0;

	for (int i = 0; i < lab->n_machine; i++)
		if (lab->machine[i].mem_mib > mem)
			mem = lab->machine[i].mem_mib;
	return mem;
}

/* The lab read, its progress to be printed, with lab.hosts the host this is: 0 or the exit
 * status */
static int load_to_run(struct uk_lab_cmd *c)
{
	struct uk_err err = {0};
	int r;

	c->run.progress = say_progress;
	c->run.ctx = c;
	r = uk_lab_cmd_load(c);
	if (r == 0 && uk_lab_host_opts(c->lab, &c->run, &err) < 0)
		r = uk_fail(&err);
	return r;
}

int uk_lab_cmd_start(struct uk_lab_cmd *c)
{
	struct uk_err err = {0};
	char image[PATH_MAX];
	int r = load_to_run(c);

	if (r == 0)
		r = find_image(c, image, sizeof(image));
	if (r == 0)
		r = find_kernel(c);
	if (r)
		return r;
	c->run.image = image;
	c->run.kernel = c->k.path;
	c->run.modules = c->modules;
	c->run.seccomp = c->seccomp_arg;
	if (!c->run.parallel)
		c->run.parallel = uk_lab_parallel_default(largest_mem(c->lab));
	if (uk_lab_start(c->lab, &c->run, &err) < 0)
		return uk_fail(&err);
	return UK_EXIT_OK;
}

int uk_lab_cmd_stop(struct uk_lab_cmd *c, bool crash, bool quiet_none)
{
	struct uk_err err = {0};
	int r = load_to_run(c);

	if (r)
		return r;
	r = uk_lab_stop(c->lab, &c->run, crash, &err);
	if (r == -ENOENT && quiet_none)
		r = 0;
	if (r == 0 && c->remove_disks)
		r = uk_lab_remove_disks(c->lab, &c->run, &err);
	return r < 0 ? uk_fail(&err) : UK_EXIT_OK;
}

int uk_lab_cmd_clean(struct uk_lab_cmd *c)
{
	struct uk_err err = {0};
	int r = load_to_run(c);

	if (r)
		return r;
	if (uk_lab_clean(c->lab, c->run.host, false, &err) < 0)
		return uk_fail(&err);
	return UK_EXIT_OK;
}
