// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The switch daemon's pacing: adaptive interrupt moderation, as network cards do it. Each
 * round of the event loop costs a wakeup and a few system calls however few frames it finds,
 * so under a sustained load the loop pauses after each round and the next round finds
 * several frames. A pause holds back only the paced inputs, those that bring the load and
 * those that answer them: the others (a ping beside a transfer, a DNS answer from the NAT)
 * are quiet, served as soon as they are ready. Here are the heuristics (uk_switch_pause,
 * uk_switch_quiet: pure, unit-tested, declared in engine-internal.h) and the daemon's use of
 * them after each round (uk_swd_moderate).
 *
 * Glossary, from what the code does:
 *
 * round         One wait of the event loop and the serving of the inputs it found ready
 *               (loop.c). uk_switch_pause is asked after every round.
 * --coalesce    max_us, the daemon's coalesce_us: the longest pause, UK_SW_COALESCE_US
 *               (10 ms) unless told; 0 turns pacing off (no pause, every input quiet).
 * window        The span the frame rate is measured over: UK_SW_LOAD_WINDOW_US (4 ms) or
 *               twice --coalesce, whichever is longer (20 ms by default). A window ends at
 *               the first round after its time is up; the pause and the paced inputs are
 *               then decided anew from it.
 * rate          The frames the switch received in the last window (every input's, counted
 *               by the engine: uk_switch_frames_in), per millisecond.
 * loaded        The switch pauses after its rounds: the last window's rate was at least
 *               UK_SW_LOADED_RATE (1 frame a millisecond), --coalesce is not 0 and the switch
 *               is not backing off. `info` reports it ("loaded", and "pause_us").
 * pause         While loaded, the wait after a round: as long as the last window's rate takes
 *               to bring pause_frames frames, at most --coalesce. During it only the quiet
 *               inputs are served; the paced ones wait for the next round. A pause only ever
 *               follows a round, so the first frame after a quiet spell goes at once.
 * pause_frames  The frames a pause may gather: UK_SW_PAUSE_FRAMES (16); 6 while the switch
 *               has legacy daemon ports, whose guests' sockets queue only 10 datagrams; 3
 *               while one of them is on the shared legacy data socket
 *               (uk_switch_pause_frames).
 * paused round  A round after a pause. The frames the switch received since the round before
 *               (the pause included) tell whether the pause paid.
 * futile        A window that had paused rounds, and whose paused rounds found fewer than
 *               UK_SW_PAUSE_GAIN (2) frames on average: the traffic waits for its own answers
 *               (request and response, one at a time), and a pause only makes it late.
 * backoff       The windows without a pause that follow a futile one: UK_SW_PAUSE_BACKOFF
 *               (8), twice as many after each futile window in a row, up to 2^3 times (64
 *               windows); a window whose pauses paid resets the doubling.
 * input         What frames come in through, as the pacing counts them: a watched fd (a
 *               port's own socket, the tap, the shared legacy data socket) or a module (the
 *               NAT). Its count in a window is the frames the engine received while its
 *               handler or hooks ran. Listening and control sockets are inputs that count
 *               none.
 * brings        An input brings the load when it sent frames in the last window and is not
 *               quiet by that count alone: it sent at the loaded rate or more, or is not
 *               among the slowest that fit in the quiet share. The daemon tells the engine
 *               which ports those are after each window (uk_switch_port_set_loads).
 * answers       Of the frames an input's port received in a window, those the engine
 *               forwarded to a single port that brought the load in the window before (the
 *               acknowledgements of a transfer): uk_switch_port_to_loaded. Flooded frames
 *               are not answers.
 * quiet         An input whose frames are forwarded at once, during a pause too (and in a
 *               round, before the paced watches): one that sent nothing in the last window,
 *               or one of the slowest of those below the loaded rate, as many as together
 *               sent at most 1/UK_SW_QUIET_SHARE (1/8) of the window's frames; but never one
 *               whose frames were more than half answers. An answering input is paced without
 *               bringing the load, so two ports that answer each other do not keep each
 *               other paced. A VXLAN port is always quiet: its frames come in the bursts the
 *               switch at the other end gathered in its own pauses, and a second pause on
 *               the way would only add to every frame's delay (two switches joined over
 *               VXLAN moved half as much TCP as one switch with both pausing, as much
 *               with one: bench/vxlan).
 * paced         Not quiet: the input's fd is out of the pause set, and a module's hooks do
 *               not run during a pause. A port's "paced" in `ports` is true while the switch
 *               is loaded and the input its frames come in through is paced.
 * pause set     The second epoll set (d->qfd) that a pause waits on: every watched fd but
 *               the paced ones.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "daemon-internal.h"

/* ---- the heuristics (pure) ---- */
uint32_t uk_switch_pause(struct uk_switch_load *l, uint64_t now_us, uint64_t frames_in,
			 uint32_t max_us)
{
	uint64_t window =
		max_us * 2ULL > UK_SW_LOAD_WINDOW_US ? max_us * 2ULL : UK_SW_LOAD_WINDOW_US;
	uint64_t dt = now_us - l->window_start, n = frames_in - l->window_frames, p;
	bool futile;

	if (l->paused && l->paused_rounds < UINT32_MAX / 2) {
		uint64_t got = frames_in - l->last_frames;

		l->paused_rounds++;
		l->paused_frames += got < UINT32_MAX / 2 - l->paused_frames
					    ? (uint32_t)got
					    : UINT32_MAX / 2 - l->paused_frames;
	}
	l->last_frames = frames_in;
	if (dt >= window) {
		futile = l->paused_rounds > 0 &&
			 l->paused_frames < (uint64_t)UK_SW_PAUSE_GAIN * l->paused_rounds;
		if (futile) {
			/* each futile try in a row waits twice as long before the next */
			l->backoff = UK_SW_PAUSE_BACKOFF << l->futile_tries;
			if (l->futile_tries < UK_SW_PAUSE_DOUBLINGS)
				l->futile_tries++;
		} else {
			if (l->paused_rounds > 0) /* the pauses paid: try soon again next time */
				l->futile_tries = 0;
			if (l->backoff > 0)
				l->backoff--;
		}
		l->window_start = now_us;
		l->window_frames = frames_in;
		l->paused_rounds = l->paused_frames = 0;
		/* below the rate (a quiet spell, asleep in poll, lowers it too), or backing off */
		if (max_us == 0 || n == 0 || n * 1000 < (uint64_t)UK_SW_LOADED_RATE * dt ||
		    l->backoff > 0) {
			l->pause_us = 0;
		} else {
			p = (l->pause_frames ? l->pause_frames : UK_SW_PAUSE_FRAMES) * dt / n;
			l->pause_us = p < max_us ? (uint32_t)p : max_us;
		}
	}
	l->paused = l->pause_us > 0;
	return l->pause_us;
}

static int by_count(const void *x, const void *y, void *arg)
{
	const uint64_t *count = arg;
	uint64_t a = count[*(const int *)x], b = count[*(const int *)y];

	return a < b ? -1 : a > b;
}

void uk_switch_quiet(const uint64_t *count, const uint64_t *answers, int n, uint64_t total,
		     uint64_t window_us, int *order, bool *quiet, bool *brings)
{
	uint64_t budget = total / UK_SW_QUIET_SHARE, sum = 0;
	int m = 0;

	for (int i = 0; i < n; i++) {
		quiet[i] = count[i] == 0;
		if (count[i] > 0 && count[i] * 1000 < (uint64_t)UK_SW_LOADED_RATE * window_us)
			order[m++] = i;
	}
	qsort_r(order, (size_t)m, sizeof(*order), by_count, (void *)count);
	for (int k = 0; k < m && sum + count[order[k]] <= budget; k++) {
		sum += count[order[k]];
		quiet[order[k]] = true;
	}
	for (int i = 0; i < n; i++) {
		if (brings)
			brings[i] = !quiet[i];
		if (answers && answers[i] * 2 > count[i])
			quiet[i] = false;
	}
}

/* ---- the daemon's pacing ---- */
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

		/* a VXLAN port's frames were paced by the switch that sent them already */
		if (uk_switch_vxlan_info(d->sw, watch_port(d, w), NULL, NULL) == 0)
			d->quiet[i] = true;

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
