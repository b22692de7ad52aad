// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit image: the default guest image (umlkit image build). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "umlkit/image.h"
#include "umlkit/util.h"

static const char image_usage[] =
	"Usage: umlkit image build [-f] [--size SIZE] OUT.img\n"
	"\n"
	"  build    the default guest image: an ext4 filesystem with Debian's busybox-static,\n"
	"           busybox init and boot scripts that read umlkit.* kernel parameters\n"
	"           (hostname, addresses, routes, DNS, services); built without root\n"
	"\n"
	"Options: -s, --size SIZE image size (K, M, G, T suffixes; default 256M, at least 16M);\n"
	"-f, --force replace an existing OUT; --busybox, --mke2fs, --debugfs PATH use that\n"
	"program. See umlkit-image(1) for the guest's parameters.\n"
	"Exit status: 0 built, 1 failure (nothing is left behind), 2 usage error.\n";

enum { OPT_SIZE, OPT_FORCE, OPT_BUSYBOX, OPT_MKE2FS, OPT_DEBUGFS };
static const struct uk_opt image_options[] = {
	[OPT_SIZE] = {.name = "size", .letter = 's', .value = true},
	[OPT_FORCE] = {.name = "force", .letter = 'f'},
	[OPT_BUSYBOX] = {.name = "busybox", .value = true},
	[OPT_MKE2FS] = {.name = "mke2fs", .value = true},
	[OPT_DEBUGFS] = {.name = "debugfs", .value = true},
};

static int build_opt(const struct uk_opts *p, int id, const char *v)
{
	struct uk_rootfs_opts *o = p->ctx;

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
	}
	return 0;
}

static int image_build(int argc, char **argv)
{
	struct uk_rootfs_opts o = {0};
	struct uk_opts p = {.opt = image_options,
			    .nopt = UK_ARRAY_SIZE(image_options),
			    .accept = UK_OPTS_ALL,
			    .cmd = "umlkit image build",
			    .help = image_usage,
			    .fn = build_opt,
			    .ctx = &o};
	struct uk_err err = {0};
	int r = uk_opts_parse(&p, argc, argv);

	if (r)
		return r < 0 ? UK_EXIT_OK : r;
	if (p.nargs != 1)
		return uk_usage_error(p.cmd, "want one output file, OUT.img");
	o.out = p.args[0];
	if (uk_rootfs_build(&o, &err) < 0)
		return uk_fail(&err);
	return UK_EXIT_OK;
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
	return uk_usage_error("umlkit image", "unknown image command '%s'", argv[1]);
}
