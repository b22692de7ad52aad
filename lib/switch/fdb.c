// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The MAC learning table: pure (the caller gives the time), one allocation in uk_fdb_new and
 * none after.
 *
 * Open addressing with linear probing over a power-of-two array of slots. The key (MAC and
 * VLAN) is packed into one 64-bit word, hashed with the murmur3 finaliser, and an entry lives
 * at most FDB_WINDOW - 1 slots past its home, so learn and lookup look at no more than
 * FDB_WINDOW slots. Invariant: every slot from an entry's home up to the entry is occupied, so
 * a probe stops at the first empty slot. Deletion keeps it by backward shift (no tombstones):
 * the entries after the hole that may move back into it do, until an empty slot or the end of
 * the window.
 *
 * Aging is lazy: an entry seen more than aging_ms before the caller's now_ms is dead for lookup,
 * foreach and count, and learn reuses its slot; uk_fdb_age removes the dead ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/util.h"
#include "engine-internal.h"

#define FDB_WINDOW  16	       /* longest probe sequence */
#define FDB_CAP_MAX (1u << 30) /* more slots than that is a bug, not a table */

struct fdb_slot {
	uint64_t key; /* mac[0..5] << 16 | vlan; meaningful when port >= 0 */
	uint64_t seen_ms;
	int32_t port; /* -1: empty */
	int32_t via;  /* the remote of a VXLAN port it came through; -1: none */
};

struct uk_fdb {
	uint32_t mask;	 /* capacity - 1 */
	uint32_t window; /* UK_MIN(FDB_WINDOW, capacity) */
	uint64_t aging_ms;
	struct fdb_slot slots[];
};

static inline uint64_t make_key(const uint8_t mac[6], uint16_t vlan)
{
	return (uint64_t)mac[0] << 56 | (uint64_t)mac[1] << 48 | (uint64_t)mac[2] << 40 |
	       (uint64_t)mac[3] << 32 | (uint64_t)mac[4] << 24 | (uint64_t)mac[5] << 16 | vlan;
}

/* murmur3's fmix64: every key bit reaches every index bit (vendor OUIs share the high bytes,
 * VLANs differ in the low ones). */
static inline uint32_t home_of(const struct uk_fdb *t, uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return (uint32_t)k & t->mask;
}

/* Dead once strictly older than the aging time; a clock that went back counts as age 0. */
static inline bool slot_live(const struct uk_fdb *t, const struct fdb_slot *s, uint64_t now_ms)
{
	return s->port >= 0 &&
	       (!t->aging_ms || now_ms <= s->seen_ms || now_ms - s->seen_ms <= t->aging_ms);
}

struct uk_fdb *uk_fdb_new(unsigned capacity, uint64_t aging_ms)
{
	struct uk_fdb *t;
	uint32_t cap = 1;

	if (capacity > FDB_CAP_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	while (cap < capacity)
		cap <<= 1;
	t = malloc(sizeof(*t) + (size_t)cap * sizeof(t->slots[0]));
	if (!t)
		return NULL;
	t->mask = cap - 1;
	t->window = UK_MIN(FDB_WINDOW, cap);
	t->aging_ms = aging_ms;
	for (uint32_t i = 0; i < cap; i++) {
		t->slots[i].key = 0;
		t->slots[i].seen_ms = 0;
		t->slots[i].port = -1;
		t->slots[i].via = -1;
	}
	return t;
}

void uk_fdb_free(struct uk_fdb *t)
{
	free(t);
}

int uk_fdb_learn(struct uk_fdb *t, const uint8_t mac[6], uint16_t vlan, int port, uint64_t now_ms)
{
	return uk_fdb_learn_via(t, mac, vlan, port, -1, now_ms);
}

int uk_fdb_learn_via(struct uk_fdb *t, const uint8_t mac[6], uint16_t vlan, int port, int via,
		     uint64_t now_ms)
{
	uint64_t k = make_key(mac, vlan);
	uint32_t i = home_of(t, k);
	struct fdb_slot *s, *reuse = NULL, *oldest = NULL;

	if (port < 0)
		return -EINVAL;
	for (uint32_t n = 0; n < t->window; n++, i = (i + 1) & t->mask) {
		s = &t->slots[i];
		if (s->port < 0) {
			if (!reuse)
				reuse = s;
			break;
		}
		if (s->key == k) {
			int moved = (s->port != port || s->via != via) && slot_live(t, s, now_ms);

			s->port = port;
			s->via = via;
			s->seen_ms = now_ms;
			return moved;
		}
		if (!reuse && !slot_live(t, s, now_ms))
			reuse = s;
		if (!oldest || s->seen_ms < oldest->seen_ms)
			oldest = s;
	}
	s = reuse ? reuse : oldest;
	s->key = k;
	s->port = port;
	s->via = via;
	s->seen_ms = now_ms;
	return reuse ? 0 : -ENOSPC;
}

int uk_fdb_lookup(const struct uk_fdb *t, const uint8_t mac[6], uint16_t vlan, uint64_t now_ms)
{
	int via;

	return uk_fdb_lookup_via(t, mac, vlan, now_ms, &via);
}

int uk_fdb_lookup_via(const struct uk_fdb *t, const uint8_t mac[6], uint16_t vlan, uint64_t now_ms,
		      int *via)
{
	uint64_t k = make_key(mac, vlan);
	uint32_t i = home_of(t, k);

	*via = -1;
	for (uint32_t n = 0; n < t->window; n++, i = (i + 1) & t->mask) {
		const struct fdb_slot *s = &t->slots[i];

		if (s->port < 0)
			return -1;
		if (s->key == k && !slot_live(t, s, now_ms))
			return -1;
		if (s->key == k) {
			*via = s->via;
			return s->port;
		}
	}
	return -1;
}

/* Empty slot i and shift back the entries after it that may move there (backward shift). */
static void slot_delete(struct uk_fdb *t, uint32_t i)
{
	uint32_t j = i;

	t->slots[i].port = -1;
	for (;;) {
		struct fdb_slot *s;
		uint32_t gap;

		j = (j + 1) & t->mask;
		s = &t->slots[j];
		gap = (j - i) & t->mask;
		/* past the window no entry can reach back to the hole; the hole itself is
		 * empty, so a full turn of a small table ends here too */
		if (s->port < 0 || gap >= t->window)
			return;
		if (((j - home_of(t, s->key)) & t->mask) >= gap) {
			t->slots[i] = *s;
			s->port = -1;
			i = j;
		}
	}
}

enum sweep { SWEEP_DEAD, SWEEP_PORT };

static bool victim(const struct uk_fdb *t, const struct fdb_slot *s, enum sweep what, uint64_t arg)
{
	if (s->port < 0)
		return false;
	if (what == SWEEP_PORT)
		return (uint64_t)s->port == arg;
	return !slot_live(t, s, arg);
}

/*
 * Delete every victim. The walk starts just after an empty slot, which no probe sequence
 * crosses: backward shifts then only move entries from slots not yet visited into the slot
 * being visited (checked again) or later ones, so every entry is looked at once.
 */
static unsigned sweep(struct uk_fdb *t, enum sweep what, uint64_t arg)
{
	uint32_t cap = t->mask + 1, start = 0, i;
	unsigned removed = 0;

	while (start < cap && t->slots[start].port >= 0)
		start++;
	if (start == cap) {
		/* a full table: delete one victim to make the empty slot */
		for (i = 0; i < cap && !victim(t, &t->slots[i], what, arg); i++)
			;
		if (i == cap)
			return 0;
		slot_delete(t, i);
		removed++;
		for (start = 0; t->slots[start].port >= 0; start++)
			;
	}
	for (uint32_t n = 1; n < cap; n++) {
		i = (start + n) & t->mask;
		while (victim(t, &t->slots[i], what, arg)) {
			slot_delete(t, i);
			removed++;
		}
	}
	return removed;
}

void uk_fdb_forget_port(struct uk_fdb *t, int port)
{
	if (port >= 0)
		sweep(t, SWEEP_PORT, (uint64_t)port);
}

unsigned uk_fdb_age(struct uk_fdb *t, uint64_t now_ms)
{
	if (!t->aging_ms)
		return 0;
	return sweep(t, SWEEP_DEAD, now_ms);
}

int uk_fdb_foreach(const struct uk_fdb *t, uint64_t now_ms,
		   int (*cb)(void *ctx, const struct uk_fdb_entry *e), void *ctx)
{
	for (uint32_t i = 0; i <= t->mask; i++) {
		const struct fdb_slot *s = &t->slots[i];
		struct uk_fdb_entry e;
		int r;

		if (!slot_live(t, s, now_ms))
			continue;
		for (int b = 0; b < 6; b++)
			e.mac[b] = (uint8_t)(s->key >> (56 - 8 * b));
		e.vlan = (uint16_t)s->key;
		e.port = s->port;
		e.via = s->via;
		e.seen_ms = s->seen_ms;
		r = cb(ctx, &e);
		if (r)
			return r;
	}
	return 0;
}

unsigned uk_fdb_count(const struct uk_fdb *t, uint64_t now_ms)
{
	unsigned n = 0;

	for (uint32_t i = 0; i <= t->mask; i++)
		n += slot_live(t, &t->slots[i], now_ms);
	return n;
}
