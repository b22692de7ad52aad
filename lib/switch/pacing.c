// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The switch daemon's pacing. Under load the loop pauses after a round (uk_switch_pause).
 * During a pause it waits on a second epoll set that holds every watched fd except the paced
 * ones, the inputs that bring the load (uk_switch_quiet, decided at the end of each window
 * from the frames each input brought, and from those of its port's frames that went to the
 * ports that bring the load: the engine counts them, told which those are after each window),
 * together with the fds of the quiet modules. An input is a watched fd or a module (the NAT).
 * A frame from a quiet input (a ping beside a transfer, a DNS answer from the NAT) is
 * forwarded as soon as it comes; the paced inputs wait for the end of the pause.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "daemon-internal.h"

/* Whether a port's frames wait for the pauses now: the switch is loaded and the port's input
 * (its fd's watch, or the module whose port it is) is paced. */
bool uk_swd_port_paced(struct uk_swd *d, int id)
{
	struct watch *w;
	int fd = id == d->tap_port ? d->tap_fd : uk_switch_port_socket(d->sw, id);

	if (d->load.pause_us == 0)
		return false;
	for (int m = 0; m < d->nmods; m++)
		if (d->mods[m].m.pre_poll && d->mods[m].m.port == id)
			return d->mods[m].in.paced;
	w = fd >= 0 ? uk_swd_watch_of(d, fd) : NULL;
	return w && w->in.paced;
}

static uint64_t now_us(void)
{
	return uk_monotonic_ns() / 1000;
}

/* The frames an input brought since the last window's end, which starts a new one. */
static uint64_t window_frames(struct input *in)
{
	uint64_t n = in->frames - in->mark;

	in->mark = in->frames;
	return n;
}

/* The port whose frames a watch brings (a guest's socket, the tap), or -1 (a socket of many
 * ports, the control socket) */
static int watch_port(const struct uk_swd *d, const struct watch *w)
{
	if (w->kind == WATCH_PORT)
		return w->port;
	return w->kind == WATCH_TAP ? d->tap_port : -1;
}

/* The frames of an input's port that went to ports that brought the load, in the window that
 * ended. */
static uint64_t window_answers(struct uk_swd *d, struct input *in, int port)
{
	uint64_t now = port >= 0 ? uk_switch_port_to_loaded(d->sw, port) : 0;
	uint64_t n = now >= in->amark ? now - in->amark : 0;

	in->amark = now;
	return n;
}

/* A window ended after window_us with total frames: which inputs are paced in the next
 * (uk_switch_quiet); the pause set follows. */
static void pace(struct uk_swd *d, uint64_t window_us, uint64_t total)
{
	int n = 0;

	for (int i = 0; i < d->nw; i++) {
		d->answers[n] = window_answers(d, &d->w[i].in, watch_port(d, &d->w[i]));
		d->count[n++] = window_frames(&d->w[i].in);
	}
	for (int m = 0; m < d->nmods; m++) {
		d->answers[n] = window_answers(d, &d->mods[m].in, d->mods[m].m.port);
		d->count[n++] = window_frames(&d->mods[m].in);
	}
	uk_switch_quiet(d->count, d->answers, n, total, window_us, d->order, d->quiet, d->brings);
	for (int i = 0; i < d->nw; i++) {
		struct watch *w = &d->w[i];
		struct epoll_event ev = uk_swd_watch_event(w);

		if (w->in.paced != !d->quiet[i] &&
		    epoll_ctl(d->qfd, w->in.paced ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, w->fd, &ev) == 0)
			w->in.paced = !w->in.paced;
		uk_switch_port_set_loads(d->sw, watch_port(d, w), d->brings[i]);
	}
	for (int m = 0; m < d->nmods; m++) {
		d->mods[m].in.paced = !d->quiet[d->nw + m];
		uk_switch_port_set_loads(d->sw, d->mods[m].m.port, d->brings[d->nw + m]);
	}
}

/* Interrupt moderation (see uk_switch_pause): the pause after this round while loaded, and
 * at the end of each window, which inputs it leaves waiting. */
void uk_swd_moderate(struct uk_swd *d)
{
	uint64_t start = d->load.window_start, frames = d->load.window_frames;

	if (d->o.coalesce_us <= 0)
		return;
	d->load.pause_frames = uk_switch_pause_frames(d->sw);
	d->pause_us = uk_switch_pause(&d->load, now_us(), uk_switch_frames_in(d->sw),
				      (uint32_t)d->o.coalesce_us);
	if (d->load.window_start != start)
		pace(d, d->load.window_start - start, d->load.window_frames - frames);
}
