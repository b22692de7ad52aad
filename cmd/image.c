// SPDX-License-Identifier: LGPL-2.1-or-later
/* umlkit image: the default guest image (umlkit image build). */
#include <getopt.h>
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

enum { OPT_BUSYBOX = 0x200, OPT_MKE2FS, OPT_DEBUGFS };

static int image_build(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"size", required_argument, NULL, 's'},
		{"force", no_argument, NULL, 'f'},
		{"busybox", required_argument, NULL, OPT_BUSYBOX},
		{"mke2fs", required_argument, NULL, OPT_MKE2FS},
		{"debugfs", required_argument, NULL, OPT_DEBUGFS},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct uk_rootfs_opts o = {0};
	struct uk_err err = {0};
	int c, r;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:fh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			r = uk_parse_size(optarg, &o.size);
			if (r < 0)
				return uk_usage_error("umlkit image build",
						      "bad size '%s': want a number with an "
						      "optional K, M, G or T suffix",
						      optarg);
			if (o.size < UK_ROOTFS_MIN_SIZE)
				return uk_usage_error("umlkit image build",
						      "size '%s' is too small: the image needs at "
						      "least 16M",
						      optarg);
			break;
		case 'f':
			o.force = true;
			break;
		case OPT_BUSYBOX:
			o.busybox = optarg;
			break;
		case OPT_MKE2FS:
			o.mke2fs = optarg;
			break;
		case OPT_DEBUGFS:
			o.debugfs = optarg;
			break;
		case 'h':
			fputs(image_usage, stdout);
			return UK_EXIT_OK;
		default:
			return uk_opt_error("umlkit image build", c, argv);
		}
	}
	if (argc - optind != 1)
		return uk_usage_error("umlkit image build", "want one output file, OUT.img");
	o.out = argv[optind];
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
