// SPDX-License-Identifier: LGPL-2.1-or-later
/* Progress on stderr: a bar for work over a second on a terminal (-p forces it, -q
 * silences it), or JSON lines for programs (--progress=json). */
#include <stdio.h>
#include <unistd.h>

#include "cmd.h"

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void draw(struct uk_cmd_progress *cp, uint64_t done, uint64_t total)
{
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
	char bar[41];

	for (unsigned i = 0; i < 40; i++)
		bar[i] = i < pct * 40 / 100 ? '#' : '.';
	bar[40] = '\0';
	fprintf(stderr, "\r%s [%s] %3u%%", cp->label, bar, pct);
	fflush(stderr);
	cp->shown = true;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct uk_cmd_progress *cp = ctx;
	struct timespec now;
	bool final = done >= total;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && since(&cp->last, &now) < 0.1)
		return;
	switch (cp->mode) {
	case UK_PROGRESS_JSON:
		fprintf(stderr, "{\"done\":%llu,\"total\":%llu}\n", (unsigned long long)done,
			(unsigned long long)total);
		break;
	case UK_PROGRESS_FORCE:
		draw(cp, done, total);
		break;
	case UK_PROGRESS_AUTO:
		if (cp->shown || (isatty(STDERR_FILENO) && since(&cp->start, &now) >= 1.0))
			draw(cp, done, total);
		break;
	case UK_PROGRESS_QUIET:
		break;
	}
	cp->last = now;
}

void uk_progress_begin(struct uk_cmd_progress *cp, const char *label)
{
	cp->label = label;
	cp->shown = false;
	clock_gettime(CLOCK_MONOTONIC, &cp->start);
	cp->last = (struct timespec){0};
	cp->p.fn = cp->mode == UK_PROGRESS_QUIET ? NULL : on_progress;
	cp->p.ctx = cp;
}

void uk_progress_end(struct uk_cmd_progress *cp)
{
	if (cp->shown)
		fputc('\n', stderr);
	cp->shown = false;
}
