// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The MAC learning table: learning, lookup, aging at its exact boundary, moves, VLAN
 * separation, forget_port, a table too small for its MACs, foreach/count, and random
 * operations compared with a naive array model (fixed seed) on a roomy and on a crowded table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "../../lib/switch/engine-internal.h"

/* xorshift64*: a fixed seed, the same operations on every run and every host */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* A locally administered unicast MAC numbered n. */
static void mac_of(unsigned n, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

static void test_learn_lookup(void **state)
{
	struct uk_fdb *t = uk_fdb_new(64, 0);
	uint8_t a[6], b[6], c[6];

	assert_non_null(t);
	mac_of(1, a);
	mac_of(2, b);
	mac_of(3, c);
	assert_int_equal(uk_fdb_lookup(t, a, 0, 0), -1);
	assert_int_equal(uk_fdb_count(t, 0), 0);
	assert_int_equal(uk_fdb_learn(t, a, 0, 3, 10), 0);
	assert_int_equal(uk_fdb_learn(t, b, 0, 0, 10), 0);
	assert_int_equal(uk_fdb_lookup(t, a, 0, 11), 3);
	assert_int_equal(uk_fdb_lookup(t, b, 0, 11), 0);
	assert_int_equal(uk_fdb_lookup(t, c, 0, 11), -1);
	/* refreshing on the same port is not a move */
	assert_int_equal(uk_fdb_learn(t, a, 0, 3, 20), 0);
	assert_int_equal(uk_fdb_count(t, 20), 2);
	/* aging 0: never ages */
	assert_int_equal(uk_fdb_lookup(t, a, 0, UINT64_MAX), 3);
	assert_int_equal(uk_fdb_age(t, UINT64_MAX), 0);
	/* a negative port is refused and learns nothing */
	assert_int_equal(uk_fdb_learn(t, c, 0, -1, 20), -EINVAL);
	assert_int_equal(uk_fdb_lookup(t, c, 0, 20), -1);
	uk_fdb_free(t);
	uk_fdb_free(NULL);
}

static void test_capacity(void **state)
{
	struct uk_fdb *t;
	uint8_t m[6];

	/* rounded up to a power of two: 5 -> 8 entries fit, never more */
	t = uk_fdb_new(5, 0);
	assert_non_null(t);
	for (unsigned i = 0; i < 8; i++) {
		mac_of(i, m);
		assert_int_equal(uk_fdb_learn(t, m, 0, 1, i), 0);
	}
	assert_int_equal(uk_fdb_count(t, 8), 8);
	mac_of(100, m);
	assert_int_equal(uk_fdb_learn(t, m, 0, 1, 9), -ENOSPC);
	assert_int_equal(uk_fdb_count(t, 9), 8);
	uk_fdb_free(t);

	/* 0 and 1: a table of one entry */
	for (unsigned c = 0; c < 2; c++) {
		t = uk_fdb_new(c, 0);
		assert_non_null(t);
		mac_of(1, m);
		assert_int_equal(uk_fdb_learn(t, m, 0, 1, 1), 0);
		mac_of(2, m);
		assert_int_equal(uk_fdb_learn(t, m, 0, 2, 2), -ENOSPC);
		assert_int_equal(uk_fdb_lookup(t, m, 0, 2), 2);
		assert_int_equal(uk_fdb_count(t, 2), 1);
		uk_fdb_forget_port(t, 2);
		assert_int_equal(uk_fdb_count(t, 2), 0);
		uk_fdb_free(t);
	}

	errno = 0;
	assert_null(uk_fdb_new(UINT32_MAX, 0));
	assert_int_equal(errno, ENOMEM);
}

static void test_aging(void **state)
{
	struct uk_fdb *t = uk_fdb_new(64, 1000);
	uint8_t a[6], b[6];

	assert_non_null(t);
	mac_of(1, a);
	mac_of(2, b);
	assert_int_equal(uk_fdb_learn(t, a, 0, 1, 5000), 0);
	assert_int_equal(uk_fdb_learn(t, b, 0, 2, 5000), 0);
	/* alive while at most aging_ms old, dead one millisecond later */
	assert_int_equal(uk_fdb_lookup(t, a, 0, 6000), 1);
	assert_int_equal(uk_fdb_count(t, 6000), 2);
	assert_int_equal(uk_fdb_lookup(t, a, 0, 6001), -1);
	assert_int_equal(uk_fdb_count(t, 6001), 0);
	/* a clock earlier than the entry: age 0 */
	assert_int_equal(uk_fdb_lookup(t, a, 0, 10), 1);

	/* a refresh keeps an entry alive */
	assert_int_equal(uk_fdb_learn(t, a, 0, 1, 5900), 0);
	assert_int_equal(uk_fdb_lookup(t, a, 0, 6900), 1);
	assert_int_equal(uk_fdb_lookup(t, b, 0, 6900), -1);
	assert_int_equal(uk_fdb_count(t, 6900), 1);

	/* age drops only the dead ones, exactly once */
	assert_int_equal(uk_fdb_age(t, 6000), 0);
	assert_int_equal(uk_fdb_age(t, 6001), 1);
	assert_int_equal(uk_fdb_age(t, 6001), 0);
	assert_int_equal(uk_fdb_lookup(t, a, 0, 6001), 1);
	/* after age, the dropped entry is gone even for an earlier clock */
	assert_int_equal(uk_fdb_lookup(t, b, 0, 5000), -1);

	/* a dead entry relearned on another port is new, not a move */
	assert_int_equal(uk_fdb_learn(t, a, 0, 7, 8000), 0);
	assert_int_equal(uk_fdb_lookup(t, a, 0, 8000), 7);
	uk_fdb_free(t);
}

static void test_move(void **state)
{
	struct uk_fdb *t = uk_fdb_new(64, 1000);
	uint8_t a[6];

	assert_non_null(t);
	mac_of(1, a);
	assert_int_equal(uk_fdb_learn(t, a, 0, 1, 100), 0);
	assert_int_equal(uk_fdb_learn(t, a, 0, 2, 200), 1);
	assert_int_equal(uk_fdb_lookup(t, a, 0, 200), 2);
	assert_int_equal(uk_fdb_learn(t, a, 0, 2, 300), 0);
	assert_int_equal(uk_fdb_learn(t, a, 0, 1, 400), 1);
	assert_int_equal(uk_fdb_lookup(t, a, 0, 400), 1);
	assert_int_equal(uk_fdb_count(t, 400), 1);
	/* the move refreshed it */
	assert_int_equal(uk_fdb_lookup(t, a, 0, 1400), 1);
	assert_int_equal(uk_fdb_lookup(t, a, 0, 1401), -1);
	uk_fdb_free(t);
}

static void test_vlans(void **state)
{
	struct uk_fdb *t = uk_fdb_new(64, 0);
	uint8_t a[6];

	assert_non_null(t);
	mac_of(1, a);
	assert_int_equal(uk_fdb_learn(t, a, UK_VLAN_NONE, 1, 1), 0);
	assert_int_equal(uk_fdb_learn(t, a, 10, 2, 1), 0);
	assert_int_equal(uk_fdb_learn(t, a, UK_VLAN_MAX, 3, 1), 0);
	assert_int_equal(uk_fdb_count(t, 1), 3);
	assert_int_equal(uk_fdb_lookup(t, a, UK_VLAN_NONE, 1), 1);
	assert_int_equal(uk_fdb_lookup(t, a, 10, 1), 2);
	assert_int_equal(uk_fdb_lookup(t, a, UK_VLAN_MAX, 1), 3);
	assert_int_equal(uk_fdb_lookup(t, a, 11, 1), -1);
	/* learning in one VLAN is no move in another */
	assert_int_equal(uk_fdb_learn(t, a, 10, 2, 2), 0);
	assert_int_equal(uk_fdb_learn(t, a, 10, 4, 3), 1);
	assert_int_equal(uk_fdb_lookup(t, a, UK_VLAN_NONE, 3), 1);
	uk_fdb_forget_port(t, 4);
	assert_int_equal(uk_fdb_lookup(t, a, 10, 3), -1);
	assert_int_equal(uk_fdb_lookup(t, a, UK_VLAN_NONE, 3), 1);
	assert_int_equal(uk_fdb_lookup(t, a, UK_VLAN_MAX, 3), 3);
	uk_fdb_free(t);
}

static void test_forget_port(void **state)
{
	struct uk_fdb *t = uk_fdb_new(256, 0);
	uint8_t m[6];

	assert_non_null(t);
	for (unsigned i = 0; i < 200; i++) {
		mac_of(i, m);
		assert_int_equal(uk_fdb_learn(t, m, (uint16_t)(i % 3), (int)(i % 5), i), 0);
	}
	uk_fdb_forget_port(t, 2);
	uk_fdb_forget_port(t, 99);
	uk_fdb_forget_port(t, -1);
	assert_int_equal(uk_fdb_count(t, 1000), 160);
	for (unsigned i = 0; i < 200; i++) {
		mac_of(i, m);
		assert_int_equal(uk_fdb_lookup(t, m, (uint16_t)(i % 3), 1000),
				 i % 5 == 2 ? -1 : (int)(i % 5));
	}
	uk_fdb_free(t);
}

/* A full table has no empty slot: forget_port and age must still work. */
static void test_sweep_full(void **state)
{
	struct uk_fdb *t = uk_fdb_new(16, 100);
	uint8_t m[6];

	assert_non_null(t);
	for (unsigned i = 0; i < 16; i++) {
		mac_of(i, m);
		assert_int_equal(uk_fdb_learn(t, m, 0, (int)(i % 4), i < 8 ? 0 : 50), 0);
	}
	assert_int_equal(uk_fdb_count(t, 50), 16);
	uk_fdb_forget_port(t, 3);
	assert_int_equal(uk_fdb_count(t, 50), 12);
	assert_int_equal(uk_fdb_age(t, 101), 6); /* i < 8 and i % 4 != 3 */
	for (unsigned i = 0; i < 16; i++) {
		mac_of(i, m);
		assert_int_equal(uk_fdb_lookup(t, m, 0, 101),
				 i % 4 == 3 || i < 8 ? -1 : (int)(i % 4));
	}
	/* full again, then everything ages at once */
	for (unsigned i = 100; i < 110; i++) {
		mac_of(i, m);
		assert_int_equal(uk_fdb_learn(t, m, 0, 1, 120), 0);
	}
	assert_int_equal(uk_fdb_count(t, 120), 16);
	assert_int_equal(uk_fdb_age(t, 1000), 16);
	assert_int_equal(uk_fdb_count(t, 0), 0);
	uk_fdb_free(t);
}

static void test_full_table(void **state)
{
	static const unsigned caps[] = {16, 64};

	for (size_t c = 0; c < UK_ARRAY_SIZE(caps); c++) {
		struct uk_fdb *t = uk_fdb_new(caps[c], 0);
		unsigned nospc = 0;
		uint8_t m[6];

		assert_non_null(t);
		for (unsigned i = 0; i < 1000; i++) {
			int r;

			mac_of(i * 7919, m);
			r = uk_fdb_learn(t, m, (uint16_t)(i % 2), (int)(i % 7), 1000 + i);
			assert_true(r == 0 || r == -ENOSPC);
			nospc += r == -ENOSPC;
			/* learned even when full */
			assert_int_equal(uk_fdb_lookup(t, m, (uint16_t)(i % 2), 1000 + i),
					 (int)(i % 7));
			assert_true(uk_fdb_count(t, 1000 + i) <= caps[c]);
		}
		assert_true(nospc >= 1000 - caps[c]);
		/* capacity 16 is one probe window: the table keeps exactly the newest 16 */
		if (caps[c] == 16) {
			assert_int_equal(uk_fdb_count(t, 5000), 16);
			for (unsigned i = 1000 - 16; i < 1000; i++) {
				mac_of(i * 7919, m);
				assert_int_equal(uk_fdb_lookup(t, m, (uint16_t)(i % 2), 5000),
						 (int)(i % 7));
			}
			mac_of((1000 - 17) * 7919, m);
			assert_int_equal(uk_fdb_lookup(t, m, 1, 5000), -1);
		}
		uk_fdb_free(t);
	}
}

struct walk {
	unsigned n, stop_after;
	uint64_t seen_sum;
	unsigned vlan_sum;
};

static int walk_cb(void *ctx, const struct uk_fdb_entry *e)
{
	struct walk *w = ctx;
	uint8_t m[6];

	mac_of(e->mac[5], m);
	assert_memory_equal(e->mac, m, 6);
	assert_int_equal(e->port, e->mac[5] % 4);
	w->n++;
	w->seen_sum += e->seen_ms;
	w->vlan_sum += e->vlan;
	return w->n == w->stop_after ? 42 : 0;
}

static void test_foreach_count(void **state)
{
	struct uk_fdb *t = uk_fdb_new(128, 1000);
	struct walk w = {0};
	uint8_t m[6];

	assert_non_null(t);
	assert_int_equal(uk_fdb_foreach(t, 0, walk_cb, &w), 0);
	assert_int_equal(w.n, 0);
	for (unsigned i = 0; i < 50; i++) {
		mac_of(i, m);
		/* 0..24 seen at 0, 25..49 at 500; VLAN i */
		assert_int_equal(uk_fdb_learn(t, m, (uint16_t)i, (int)(i % 4), i < 25 ? 0 : 500),
				 0);
	}
	assert_int_equal(uk_fdb_count(t, 1000), 50);
	assert_int_equal(uk_fdb_foreach(t, 1000, walk_cb, &w), 0);
	assert_int_equal(w.n, 50);
	assert_int_equal(w.seen_sum, 25 * 500);
	assert_int_equal(w.vlan_sum, 49 * 50 / 2);
	/* only the live ones */
	memset(&w, 0, sizeof(w));
	assert_int_equal(uk_fdb_count(t, 1001), 25);
	assert_int_equal(uk_fdb_foreach(t, 1001, walk_cb, &w), 0);
	assert_int_equal(w.n, 25);
	assert_int_equal(w.vlan_sum, (25 + 49) * 25 / 2);
	/* a non-zero return stops the walk and is returned */
	memset(&w, 0, sizeof(w));
	w.stop_after = 3;
	assert_int_equal(uk_fdb_foreach(t, 1000, walk_cb, &w), 42);
	assert_int_equal(w.n, 3);
	uk_fdb_free(t);
}

/* ---- the model: an array of every key, searched one by one ---- */
#define MODEL_MAX 1024

struct model_entry {
	bool used;
	uint8_t mac[6];
	uint16_t vlan;
	int port;
	uint64_t seen;
};

struct model {
	uint64_t aging;
	struct model_entry e[MODEL_MAX];
};

static bool model_live(const struct model *md, const struct model_entry *e, uint64_t now)
{
	return e->used && (!md->aging || now <= e->seen || now - e->seen <= md->aging);
}

static struct model_entry *model_find(struct model *md, const uint8_t mac[6], uint16_t vlan)
{
	for (int i = 0; i < MODEL_MAX; i++)
		if (md->e[i].used && md->e[i].vlan == vlan && !memcmp(md->e[i].mac, mac, 6))
			return &md->e[i];
	return NULL;
}

static unsigned model_count(const struct model *md, uint64_t now)
{
	unsigned n = 0;

	for (int i = 0; i < MODEL_MAX; i++)
		n += model_live(md, &md->e[i], now);
	return n;
}

/* Learn as the table does when it has room; returns what learn returns. */
static int model_learn(struct model *md, const uint8_t mac[6], uint16_t vlan, int port,
		       uint64_t now)
{
	struct model_entry *e = model_find(md, mac, vlan);
	int moved = 0;

	if (e) {
		moved = model_live(md, e, now) && e->port != port;
	} else {
		for (e = md->e; e->used; e++)
			;
		e->used = true;
		memcpy(e->mac, mac, 6);
		e->vlan = vlan;
	}
	e->port = port;
	e->seen = now;
	return moved;
}

struct model_walk {
	struct model *md;
	uint64_t now;
	unsigned n;
};

static int model_walk_cb(void *ctx, const struct uk_fdb_entry *e)
{
	struct model_walk *w = ctx;
	struct model_entry *me = model_find(w->md, e->mac, e->vlan);

	assert_non_null(me);
	assert_true(model_live(w->md, me, w->now));
	assert_int_equal(me->port, e->port);
	assert_int_equal(me->seen, e->seen_ms);
	w->n++;
	return 0;
}

/*
 * ops random operations on keys drawn from nmacs MACs x nvlans VLANs. On a roomy table learn
 * must never meet a full probe window; on a crowded one, -ENOSPC must have replaced exactly
 * one live entry (which one depends on the hash: the model follows the table).
 */
static void differential(unsigned cap, unsigned nmacs, unsigned nvlans, unsigned nports,
			 uint64_t aging, unsigned maxstep, bool roomy, unsigned ops, uint64_t seed)
{
	struct uk_fdb *t = uk_fdb_new(cap, aging);
	struct model *md = calloc(1, sizeof(*md));
	uint64_t now = 1000;
	unsigned nospc = 0, moves = 0, aged = 0;

	assert_non_null(t);
	assert_non_null(md);
	assert_true(nmacs * nvlans <= MODEL_MAX);
	md->aging = aging;
	rng_state = seed;
	for (unsigned op = 0; op < ops; op++) {
		uint64_t r = rnd();
		unsigned kind = (unsigned)(r % 100);
		uint8_t mac[6];
		uint16_t vlan = (uint16_t)((r >> 8) % nvlans * 7);
		int port = (int)((r >> 24) % nports), got, want;

		mac_of((unsigned)((r >> 32) % nmacs) * 2654435761u, mac);
		now += (r >> 56) % (maxstep + 1); /* sometimes not at all */
		if (r % 1000 == 999)
			now += aging / 2 + 1; /* a quiet spell: the older entries die */
		else if (r % 1000 == 998)
			now += aging + 1; /* a longer one: all of them */
		if (kind < 50) {
			struct model_entry *me;

			got = uk_fdb_learn(t, mac, vlan, port, now);
			if (got == -ENOSPC) {
				struct model_entry *lost = NULL;

				assert_false(roomy);
				nospc++;
				for (int i = 0; i < MODEL_MAX; i++) {
					me = &md->e[i];
					if (!model_live(md, me, now) ||
					    (me->vlan == vlan && !memcmp(me->mac, mac, 6)))
						continue;
					if (uk_fdb_lookup(t, me->mac, me->vlan, now) < 0) {
						assert_true(model_live(md, me, now));
						assert_null(lost);
						lost = me;
					}
				}
				assert_non_null(lost);
				/* a table of one window replaces its oldest entry */
				for (int i = 0; cap <= 16 && i < MODEL_MAX; i++)
					if (model_live(md, &md->e[i], now))
						assert_true(lost->seen <= md->e[i].seen);
				assert_null(model_find(md, mac, vlan));
				lost->used = false;
				assert_int_equal(model_learn(md, mac, vlan, port, now), 0);
			} else {
				want = model_learn(md, mac, vlan, port, now);
				assert_int_equal(got, want);
				moves += (unsigned)got;
			}
		} else if (kind < 85) {
			struct model_entry *me = model_find(md, mac, vlan);

			want = me && model_live(md, me, now) ? me->port : -1;
			assert_int_equal(uk_fdb_lookup(t, mac, vlan, now), want);
		} else if (kind < 90) {
			uk_fdb_forget_port(t, port);
			for (int i = 0; i < MODEL_MAX; i++)
				if (md->e[i].port == port)
					md->e[i].used = false;
		} else if (kind < 95) {
			unsigned dropped = 0;

			for (int i = 0; i < MODEL_MAX; i++)
				if (md->e[i].used && !model_live(md, &md->e[i], now)) {
					md->e[i].used = false;
					dropped++;
				}
			/* learn may already have reused some dead slots: at most the model's */
			got = (int)uk_fdb_age(t, now);
			assert_true(got <= (int)dropped);
			assert_true(aging || got == 0);
			aged += (unsigned)got;
		} else if (kind < 98) {
			assert_int_equal(uk_fdb_count(t, now), model_count(md, now));
		} else {
			struct model_walk w = {md, now, 0};

			assert_int_equal(uk_fdb_foreach(t, now, model_walk_cb, &w), 0);
			assert_int_equal(w.n, model_count(md, now));
		}
		assert_true(uk_fdb_count(t, now) <= UK_MAX(cap, 1u));
	}
	print_message("# cap %u: %u moves, %u -ENOSPC, %u aged\n", cap, moves, nospc, aged);
	/* the run exercised what it claims to */
	assert_true(moves > 0);
	assert_true(!aging || aged > 0);
	assert_true(roomy || nospc > 0);
	/* and in the end every model entry is where the model says */
	for (int i = 0; i < MODEL_MAX; i++) {
		struct model_entry *me = &md->e[i];

		if (me->used)
			assert_int_equal(uk_fdb_lookup(t, me->mac, me->vlan, now),
					 model_live(md, me, now) ? me->port : -1);
	}
	free(md);
	uk_fdb_free(t);
}

static void test_differential_roomy(void **state)
{
	/* at most 192 keys in 4096 slots: no window ever fills */
	differential(4096, 64, 3, 8, 1000, 7, true, 20000, 0x5eed0001);
	differential(4096, 64, 3, 8, 0, 7, true, 5000, 0x5eed0002);
}

static void test_differential_crowded(void **state)
{
	/* 600 keys for 256 slots: long probe chains, shifts on every deletion, -ENOSPC */
	differential(256, 200, 3, 16, 4000, 3, false, 30000, 0x5eed0003);
	/* a table of one window: the victim is the oldest entry of the table */
	differential(16, 40, 1, 4, 300, 3, false, 10000, 0x5eed0004);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learn_lookup),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_vlans),
		cmocka_unit_test(test_forget_port),
		cmocka_unit_test(test_sweep_full),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_foreach_count),
		cmocka_unit_test(test_differential_roomy),
		cmocka_unit_test(test_differential_crowded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
