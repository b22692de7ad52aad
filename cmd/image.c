// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit image: the default guest image (umlkit image build). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "umlkit/image.h"
#include "umlkit/util.h"

static const char image_usage[] =
	"Usage: umlkit image build [-f] [--size SIZE] OUT.img\n"
	"       umlkit image build --distro debian[:SUITE] [--include PKG[,PKG...]] [--size SIZE]\n"
	"                          [-f] [--no-cache] [-q|-p] OUT.img\n"
	"       umlkit image build --profile lab [--distro debian[:SUITE]] [--include PKG,...]\n"
	"                          [--size SIZE] [-f] [--no-cache] [-q|-p] [OUT.img]\n"
	"       umlkit image adapt IMG [-o OUT.img] [-f]\n"
	"\n"
	"  build    the default guest image: an ext4 filesystem with Debian's busybox-static,\n"
	"           busybox init and boot scripts that read umlkit.* kernel parameters\n"
	"           (hostname, addresses, routes, DNS, services); built without root\n"
	"  build --distro debian[:SUITE]   a Debian system (systemd) bootstrapped by mmdebstrap\n"
	"           from the host's apt mirror (SUITE: the host's by default), ready for UML;\n"
	"           cached by recipe: the same suite and packages again take seconds\n"
	"  build --profile lab   the Debian image with the packages of Kathara's lab images\n"
	"           (frr, bind9, apache2, iproute2, iptables, tcpdump, curl, ...), no daemon\n"
	"           started at boot, IPv4 forwarding on; without OUT.img it is made (once) in\n"
	"           the cache and its path printed: the backing file of lab machines\n"
	"  adapt    make an existing ext4 systemd root image ready for umlkit (fstab, console\n"
	"           login, umlkit.* parameters, readiness, agent, a fast boot), without booting\n"
	"           it or root; IMG is replaced by the adapted copy unless -o OUT is given\n"
	"\n"
	"Options: -s, --size SIZE image size (K, M, G, T suffixes; default 256M, at least 16M;\n"
	"Debian: default 2G, at least 256M); -f, --force replace an existing OUT; --include\n"
	"more Debian packages; --no-cache bootstrap again (and refresh the cache); -q no\n"
	"progress, -p progress even when stderr is not a terminal; --busybox, --mke2fs,\n"
	"--debugfs PATH use that program. See umlkit-image(1) for the guest's parameters.\n"
	"Exit status: 0 built, 1 failure (nothing is left behind, IMG unchanged), 2 usage error.\n";

static char profile_image[4096];

enum {
	OPT_SIZE,
	OPT_FORCE,
	OPT_BUSYBOX,
	OPT_MKE2FS,
	OPT_DEBUGFS,
	OPT_DISTRO,
	OPT_INCLUDE,
	OPT_NO_CACHE,
	OPT_QUIET,
	OPT_PROGRESS,
	OPT_OUT,
	OPT_PROFILE,
};
static const struct uk_opt image_options[] = {
	[OPT_SIZE] = {.name = "size", .letter = 's', .value = true},
	[OPT_FORCE] = {.name = "force", .letter = 'f'},
	[OPT_BUSYBOX] = {.name = "busybox", .value = true},
	[OPT_MKE2FS] = {.name = "mke2fs", .value = true},
	[OPT_DEBUGFS] = {.name = "debugfs", .value = true},
	[OPT_DISTRO] = {.name = "distro", .value = true},
	[OPT_INCLUDE] = {.name = "include", .value = true},
	[OPT_NO_CACHE] = {.name = "no-cache"},
	[OPT_QUIET] = {.name = "quiet", .letter = 'q'},
	[OPT_PROGRESS] = {.name = "progress", .letter = 'p'},
	[OPT_OUT] = {.name = "output", .letter = 'o', .value = true},
	[OPT_PROFILE] = {.name = "profile", .value = true},
};

struct build_args {
	struct uk_rootfs_opts o;
	struct uk_debian_opts d;
	struct uk_adapt_opts a;
	const char *distro;
	int progress; /* -1 quiet, 0 on a terminal, 1 always */
};

static int build_opt(const struct uk_opts *p, int id, const char *v)
{
	struct build_args *b = p->ctx;
	struct uk_rootfs_opts *o = &b->o;

	switch (id) {
	case OPT_SIZE:
		if (uk_parse_size(v, &o->size) < 0)
			return uk_usage_error(p->cmd,
					      "bad size '%s': want a number with an optional K, "
					      "M, G or T suffix",
					      v);
		if (o->size < UK_ROOTFS_MIN_SIZE)
			return uk_usage_error(p->cmd,
					      "size '%s' is too small: the image needs at least "
					      "16M",
					      v);
		break;
	case OPT_FORCE:
		o->force = true;
		break;
	case OPT_BUSYBOX:
		o->busybox = v;
		break;
	case OPT_MKE2FS:
		o->mke2fs = v;
		break;
	case OPT_DEBUGFS:
		o->debugfs = v;
		break;
	case OPT_DISTRO:
		b->distro = v;
		break;
	case OPT_INCLUDE:
		b->d.include = v;
		break;
	case OPT_NO_CACHE:
		b->d.no_cache = true;
		break;
	case OPT_QUIET:
		b->progress = -1;
		break;
	case OPT_PROGRESS:
		b->progress = 1;
		break;
	case OPT_OUT:
		b->a.out = v;
		break;
	case OPT_PROFILE:
		b->d.profile = v;
		break;
	}
	return 0;
}

static void print_progress(void *ctx, const char *line)
{
	fprintf(stderr, "umlkit: debian: %s\n", line);
}

/* What changed, printed once it is done (ctx: a memory stream). */
static void print_change(void *ctx, const char *line)
{
	fprintf(ctx, "  %s\n", line);
}

/* what NULL: the profile's image in the cache, whose path is printed last */
static int print_changes(const char *what, FILE *f, char **text)
{
	if (f && fclose(f) == 0 && *text && **text)
		printf("%s: umlkit's layer:\n%s", what ? what : "the cached image", *text);
	free(*text);
	if (!what)
		printf("%s\n", profile_image);
	return UK_EXIT_OK;
}

/* The profile's image in the cache: made when missing, its path kept for print_changes. */
static int profile_build(struct uk_debian_opts *d, struct uk_err *err)
{
	return uk_image_profile_path(d->profile, d, true, profile_image, sizeof(profile_image),
				     err);
}

static int debian_build(struct build_args *b, const char *cmd)
{
	struct uk_debian_opts *d = &b->d;
	struct uk_err err = {0};
	const char *distro = b->distro ? b->distro : "debian";

	if (strncmp(distro, "debian", 6) || (distro[6] && distro[6] != ':') ||
	    (distro[6] == ':' && !distro[7]))
		return uk_usage_error(cmd, "--distro '%s': want debian or debian:SUITE", distro);
	if (b->o.size && b->o.size < (256ULL << 20))
		return uk_usage_error(cmd, "a Debian image needs at least 256M");
	d->suite = distro[6] ? distro + 7 : NULL;
	d->out = b->o.out;
	d->size = b->o.size;
	d->force = b->o.force;
	d->mke2fs = b->o.mke2fs;
	d->debugfs = b->o.debugfs;
	if (b->progress > 0 || (b->progress == 0 && isatty(STDERR_FILENO)))
		d->progress = print_progress;
	char *text = NULL;
	size_t len;
	FILE *f = b->progress >= 0 ? open_memstream(&text, &len) : NULL;

	d->say = f ? print_change : NULL;
	d->ctx = f;
	if (d->out ? uk_debian_build(d, &err) < 0 : profile_build(d, &err) < 0) {
		if (f)
			fclose(f);
		free(text);
		return uk_fail(&err);
	}
	return print_changes(d->out, f, &text);
}

#define DEBIAN_ONLY                                                                                \
	(UK_OPT_BIT(OPT_DISTRO) | UK_OPT_BIT(OPT_PROFILE) | UK_OPT_BIT(OPT_INCLUDE) |              \
	 UK_OPT_BIT(OPT_NO_CACHE) | UK_OPT_BIT(OPT_QUIET) | UK_OPT_BIT(OPT_PROGRESS))

/* Parse a verb's options into b: 0, or the exit status to return (-1: help printed). */
static int parse(struct uk_opts *p, const char *verb, unsigned accept, struct build_args *b,
		 int argc, char **argv)
{
	static char cmd[32];

	snprintf(cmd, sizeof(cmd), "umlkit image %s", verb);
	*p = (struct uk_opts){.opt = image_options,
			      .nopt = UK_ARRAY_SIZE(image_options),
			      .accept = accept,
			      .cmd = cmd,
			      .what = cmd + 7,
			      .help = image_usage,
			      .fn = build_opt,
			      .ctx = b};
	return uk_opts_parse(p, argc, argv);
}

static int image_build(int argc, char **argv)
{
	struct build_args b = {0};
	struct uk_opts p;
	struct uk_err err = {0};
	int r = parse(&p, "build", UK_OPTS_ALL & ~UK_OPT_BIT(OPT_OUT), &b, argc, argv);

	if (r)
		return r < 0 ? UK_EXIT_OK : r;
	if (p.nargs > 1 || (p.nargs == 0 && !b.d.profile))
		return uk_usage_error(p.cmd, "want one output file, OUT.img");
	b.o.out = p.nargs ? p.args[0] : NULL;
	if (b.d.profile && (!uk_image_profile_for(b.d.profile) ||
			    strcmp(uk_image_profile_for(b.d.profile), b.d.profile)))
		return uk_usage_error(p.cmd, "--profile '%s': unknown (known: %s)", b.d.profile,
				      UK_IMAGE_PROFILES);
	if (b.distro || b.d.profile)
		return debian_build(&b, p.cmd);
	r = uk_opts_refuse(&p, p.seen & ~UK_OPT_BIT(OPT_QUIET), ~DEBIAN_ONLY);
	if (r)
		return r;
	if (uk_rootfs_build(&b.o, &err) < 0)
		return uk_fail(&err);
	return UK_EXIT_OK;
}

static int image_adapt(int argc, char **argv)
{
	struct build_args b = {0};
	struct uk_opts p;
	struct uk_err err = {0};
	int r = parse(&p, "adapt",
		      UK_OPT_BIT(OPT_OUT) | UK_OPT_BIT(OPT_FORCE) | UK_OPT_BIT(OPT_DEBUGFS) |
			      UK_OPT_BIT(OPT_QUIET),
		      &b, argc, argv);

	if (r)
		return r < 0 ? UK_EXIT_OK : r;
	if (p.nargs != 1)
		return uk_usage_error(p.cmd, "want one image, IMG");
	b.a.img = p.args[0];
	b.a.force = b.o.force;
	b.a.debugfs = b.o.debugfs;
	char *text = NULL;
	size_t len;
	FILE *f = b.progress >= 0 ? open_memstream(&text, &len) : NULL;

	b.a.say = f ? print_change : NULL;
	b.a.ctx = f;
	if (uk_rootfs_adapt(&b.a, &err) < 0) {
		if (f)
			fclose(f);
		free(text);
		return uk_fail(&err);
	}
	return print_changes(b.a.out ? b.a.out : b.a.img, f, &text);
}

int uk_cmd_image(int argc, char **argv)
{
	if (argc < 2)
		return uk_usage_error("umlkit image", "no image command given");
	if (uk_is_help(argv[1], true)) {
		fputs(image_usage, stdout);
		return UK_EXIT_OK;
	}
	if (!strcmp(argv[1], "build"))
		return image_build(argc - 1, argv + 1);
	if (!strcmp(argv[1], "adapt"))
		return image_adapt(argc - 1, argv + 1);
	return uk_usage_error("umlkit image", "unknown image command '%s'", argv[1]);
}
