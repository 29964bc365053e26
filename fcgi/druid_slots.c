/*
 * druid_slots: the Druid-wait slots on the pool's shared board (see
 * druid_slots.h). Lock-free: a slot is taken by a compare-and-swap of its
 * owner from 0 to the caller's pid and given back by the reverse, so two
 * workers never hold one slot and a dead holder's slot is found by pid.
 * Not the policy of what to answer when no slot is free (fcgi/app.c).
 */
#include "rb/fcgi/druid_slots.h"

#include <time.h>
#include <unistd.h>

#define DRUID_SLOTS_POLL_MS 2 /* how often a waiting request looks for a free slot */

static uint64_t slots_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int slot_cas(struct pool_board *b, unsigned i, int32_t from, int32_t to)
{
	int32_t expect = from;
	return __atomic_compare_exchange_n(&b->druid_owner[i], &expect, to, 0, __ATOMIC_SEQ_CST,
	                                   __ATOMIC_SEQ_CST);
}

unsigned druid_slots_limit(unsigned configured, unsigned workers)
{
	unsigned n = configured > 0 ? configured : (workers > 1 ? workers - 1 : 1);
	return n > POOL_MAX_WORKERS ? POOL_MAX_WORKERS : n;
}

/* One pass over the first limit slots: the index taken, or -1. Fills the youngest and the
 * oldest holder's start time (0 when a slot was taken an instant ago and has none yet). */
static int try_take(struct pool_board *b, unsigned limit, int32_t me, uint64_t *youngest,
                    uint64_t *oldest)
{
	*youngest = 0;
	*oldest = UINT64_MAX;
	for (unsigned i = 0; i < limit; i++) {
		if (__atomic_load_n(&b->druid_owner[i], __ATOMIC_SEQ_CST) == 0 &&
		    slot_cas(b, i, 0, me)) {
			__atomic_store_n(&b->druid_since_ms[i], slots_now_ms(), __ATOMIC_SEQ_CST);
			return (int)i;
		}
		uint64_t since = __atomic_load_n(&b->druid_since_ms[i], __ATOMIC_SEQ_CST);
		if (since == 0)
			since = slots_now_ms();
		if (since > *youngest)
			*youngest = since;
		if (since < *oldest)
			*oldest = since;
	}
	return -1;
}

int druid_slots_acquire(struct pool_board *b, const struct druid_slots_opts *opts,
                        unsigned *retry_after_s, unsigned *waited_ms)
{
	unsigned limit = opts->limit < 1 ? 1 : opts->limit;
	if (limit > POOL_MAX_WORKERS)
		limit = POOL_MAX_WORKERS;
	int32_t me = (int32_t)getpid();
	uint64_t t0 = slots_now_ms(), youngest, oldest;
	*retry_after_s = 0;
	for (;;) {
		int slot = try_take(b, limit, me, &youngest, &oldest);
		uint64_t now = slots_now_ms();
		*waited_ms = (unsigned)(now - t0);
		if (slot >= 0)
			return slot;
		/* Give up when the wait is over, or at once when even the latest holder has waited
		 * on Druid longer than we would wait: Druid is stalled, not merely busy. */
		if (now - t0 >= opts->queue_ms || now - youngest >= opts->queue_ms)
			break;
		struct timespec nap = {0, DRUID_SLOTS_POLL_MS * 1000000L};
		nanosleep(&nap, NULL);
	}
	uint64_t free_at = oldest + opts->timeout_ms;
	uint64_t now = slots_now_ms();
	uint64_t left = free_at > now ? free_at - now : 0;
	*retry_after_s = (unsigned)((left + 999) / 1000);
	if (*retry_after_s < 1)
		*retry_after_s = 1;
	return -1;
}

void druid_slots_release(struct pool_board *b, int slot)
{
	if (slot < 0 || slot >= POOL_MAX_WORKERS)
		return;
	__atomic_store_n(&b->druid_since_ms[slot], 0, __ATOMIC_SEQ_CST);
	slot_cas(b, (unsigned)slot, (int32_t)getpid(), 0);
}

unsigned druid_slots_reclaim(struct pool_board *b, pid_t pid)
{
	unsigned n = 0;
	for (unsigned i = 0; i < POOL_MAX_WORKERS; i++) {
		if (__atomic_load_n(&b->druid_owner[i], __ATOMIC_SEQ_CST) != (int32_t)pid)
			continue;
		__atomic_store_n(&b->druid_since_ms[i], 0, __ATOMIC_SEQ_CST);
		n += slot_cas(b, i, (int32_t)pid, 0);
	}
	return n;
}

unsigned druid_slots_held(const struct pool_board *b)
{
	unsigned n = 0;
	for (unsigned i = 0; i < POOL_MAX_WORKERS; i++)
		n += __atomic_load_n(&b->druid_owner[i], __ATOMIC_SEQ_CST) != 0;
	return n;
}
