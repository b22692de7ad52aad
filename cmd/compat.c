// SPDX-License-Identifier: LGPL-2.1-or-later
/* The old tools' names: uml_moo and uml_mkcow, their options and exit status, done right. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static int moo_usage(void)
{
	fprintf(stderr,
		"uml_moo usage:\n"
		"\tuml_moo [ -b <actual backing file> ] <COW file> <new backing file>\n"
		"\tuml_moo [ -b <actual backing file> ] -d <COW file>\n"
		"Creates a new filesystem image from the COW file and its backing file.\n"
		"Specifying -d will cause a destructive, in-place merge of the COW file into\n"
		"its current backing file\n"
		"Specifying -b overrides the backing_file specified in the COW file.  This is\n"
		"needed when dealing with a COW file that was created inside a chroot jail.\n"
		"uml_moo supports version 1,2 and 3 COW files.\n");
	return UK_EXIT_FAIL;
}

/* uml_moo: options in any order (the old tool wanted -d first). Exit 0 or 1. */
int uk_cmd_uml_moo(int argc, char **argv)
{
	struct uk_cmd_progress prog = {.mode = UK_PROGRESS_AUTO};
	struct uk_merge_opts mo = {.force = true, .progress = &prog.p};
	const char *pos[2];
	struct uk_merge_result res;
	struct uk_err err = {0};
	bool in_place = false;
	int npos = 0, r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-d")) {
			in_place = true;
		} else if (!strcmp(argv[i], "-b") && i + 1 < argc) {
			mo.backing = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return moo_usage();
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			return moo_usage();
		}
	}
	if (npos != (in_place ? 1 : 2))
		return moo_usage();
	uk_progress_begin(&prog, "merging");
	if (in_place)
		r = uk_cow_merge_in_place(pos[0], &mo, &res, &err);
	else
		r = uk_cow_merge(pos[0], pos[1], &mo, &err);
	uk_progress_end(&prog);
	if (r < 0)
		return uk_fail(&err);
	if (in_place)
		uk_say("warning: %s changed; any other COW over it is now stale", res.backing);
	return UK_EXIT_OK;
}

/* uml_mkcow [-f] COW BACKING: usage exits 2, failures 1, as the old tool. */
int uk_cmd_uml_mkcow(int argc, char **argv)
{
	struct uk_err err = {0};
	bool force = false;
	int i = 1;

	if (i < argc && !strcmp(argv[i], "-f")) {
		force = true;
		i++;
	}
	if (argc - i != 2) {
		fprintf(stderr, "uml_mkcow usage: \n"
				"\tuml_mkcow [-f] <COW file> <backing file>\n"
				"\t-f forces overwrite of an existing COW file\n");
		return UK_EXIT_USAGE;
	}
	if (uk_cow_create(argv[i], argv[i + 1], force, &err) < 0)
		return uk_fail(&err);
	return UK_EXIT_OK;
}
