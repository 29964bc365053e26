/*
 * druid_slots: how many workers of the pool may wait on Druid at once. A
 * request that needs Druid takes a slot on the master's shared board (struct
 * pool_board) before the Druid call and gives it back after it, so a Druid
 * that hangs holds at most `limit` workers and the others keep answering
 * /health and inline-data requests (docs/HOSTING.md, "Slow Druid").
 *
 * A slot is the pid of its holder in board->druid_owner[i], taken and given
 * back with an atomic compare-and-swap; a worker that dies holding one (a
 * crash, the request watchdog's SIGKILL) cannot give it back, so the master
 * reclaims it by pid when it reaps the worker (druid_slots_reclaim). No
 * locks, no counter that a death could leave wrong: the count is the number
 * of non-zero owners.
 *
 * Not the Druid client, and not a queue: a request that finds every slot
 * taken waits for one only briefly (queue_ms, and not at all when every
 * holder has already waited on Druid longer than queue_ms: Druid looks
 * stalled), then is refused (the caller answers 503 with Retry-After).
 */
#ifndef RB_DRUID_SLOTS_H
#define RB_DRUID_SLOTS_H

#include <sys/types.h>

#include "rb/fcgi/pool.h"

struct druid_slots_opts {
	unsigned limit;      /* slots, 1..POOL_MAX_WORKERS (larger is cut to it) */
	unsigned queue_ms;   /* longest wait for a free slot; 0 = none */
	unsigned timeout_ms; /* druid_timeout_ms: bounds how long a holder can keep its slot */
};

/* The limit for a pool of `workers` when the configured value is `configured` (0 = automatic:
 * workers - 1, at least 1), cut to 1..POOL_MAX_WORKERS. */
unsigned druid_slots_limit(unsigned configured, unsigned workers);

/*
 * Takes a free slot among the first opts->limit for the calling process. Returns the slot's
 * index (>= 0), or -1 when none freed in time; then *retry_after_s is the number of seconds
 * (>= 1) after which the oldest holder has surely given its slot back (its druid_timeout_ms
 * runs out), for a Retry-After header. *waited_ms is the time spent waiting either way.
 */
int druid_slots_acquire(struct pool_board *b, const struct druid_slots_opts *opts,
                        unsigned *retry_after_s, unsigned *waited_ms);

/* Gives back slot (a value druid_slots_acquire returned; -1 is a no-op). */
void druid_slots_release(struct pool_board *b, int slot);

/* Master side: frees every slot held by pid (a worker that was just reaped); returns how many. */
unsigned druid_slots_reclaim(struct pool_board *b, pid_t pid);

/* Slots held now (any holder), for /health. */
unsigned druid_slots_held(const struct pool_board *b);

#endif
