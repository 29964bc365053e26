/*
 * pool: the pre-forked worker pool of the daemon (master side and the worker's
 * view of it). Knows nothing about FastCGI, models or Druid: the daemon hands
 * it a worker entry point and a reload hook.
 *
 * Master: blocks its signals and waits for them synchronously (no handlers,
 * no globals). SIGTERM/SIGINT/SIGUSR1: after stop_accept_ms (workers serve
 * as usual meanwhile), remove stop_unlink_path and ask every worker to stop
 * (it serves what is queued on the socket first), wait for
 * them (SIGKILL after stop_grace_ms), return 0. SIGHUP: call reload(); when it
 * succeeds, start a new generation of workers, then ask the old ones to stop
 * (each finishes its request in flight), so no request is refused. SIGCHLD: a
 * worker of the current generation that died is replaced, at once when it had
 * lived crash_window_ms, else after a doubling backoff (at most 10 s);
 * crash_limit deaths in a row within crash_window_ms of their start mark the
 * slot as a crash loop (board->crash_loops, until one of its workers lives
 * crash_window_ms). Once any worker of the pool has lived crash_window_ms,
 * a crash-looping slot keeps respawning with the backoff (workers killed
 * from outside, a burst of bad requests); before that (workers cannot start
 * at all) its respawning stops, and when no slot is left the master returns
 * 1. A worker
 * busy on one request for more than request_timeout_ms is killed and replaced
 * (the web server answers that request with its own error).
 *
 * Worker: runs worker_main() after fork with the stop signals delivered only
 * while it waits for a connection (pool_wait_begin/pool_wait_end around the
 * accept), so a stop never interrupts a request in flight.
 */
#ifndef RB_POOL_H
#define RB_POOL_H

#include <stddef.h>
#include <stdint.h>

#define POOL_MAX_WORKERS 64

struct pool_opts {
	size_t workers;            /* 1..POOL_MAX_WORKERS */
	unsigned stop_grace_ms;    /* how long a stopping worker may take before SIGKILL */
	unsigned crash_window_ms;  /* a death sooner than this after start counts as a crash */
	unsigned crash_limit;      /* crashes in a row that make a slot a crash loop */
	unsigned request_timeout_ms; /* a worker busy on one request longer is killed; 0 = never */
	unsigned stop_accept_ms;   /* a stop waits this long before it asks the workers */
	const char *stop_unlink_path; /* removed when a stop (not a reload) begins: the daemon's own
	                                 Unix socket, so new connections are refused while the
	                                 workers drain its queue; NULL = none (set to NULL once
	                                 removed) */
};

#define POOL_MAX_CHILDREN (2 * POOL_MAX_WORKERS) /* two generations during a reload */

/* Why a worker exited, as counted on the board (GET /metrics). */
enum pool_exit_cause {
	POOL_EXIT_RECYCLE = 0, /* asked to stop: a reload or the daemon's stop */
	POOL_EXIT_WATCHDOG,    /* killed by the request watchdog (request_timeout_ms) */
	POOL_EXIT_SIGNAL,      /* killed by a signal from elsewhere (kill -9, OOM killer) */
	POOL_EXIT_CRASH,       /* exited on its own with a status (cannot start, fatal error) */
};
#define POOL_EXIT_CAUSES 4

/* State the master shares with its workers (shared memory), e.g. for /health. The counters are
 * written by the master only; busy_since_ms[i] only by the worker holding child record i;
 * the Druid-wait slots as druid_slots.h says. */
struct pool_board {
	volatile uint32_t generation; /* bumped by every successful reload */
	volatile uint32_t wanted;     /* configured workers */
	volatile uint32_t alive;      /* workers of the current generation running now */
	volatile uint32_t crash_loops;/* slots in a crash loop (respawning slowly, or stopped) */
	volatile uint64_t busy_since_ms[POOL_MAX_CHILDREN]; /* CLOCK_MONOTONIC ms; 0 = idle */
	/* Druid-wait slots (rb/fcgi/druid_slots.h): the pid of the worker holding slot i, 0 =
	 * free, changed only with atomic compare-and-swap (by the holder, and by the master when
	 * it reaps a dead holder); since when it holds it (CLOCK_MONOTONIC ms, 0 = just taken). */
	volatile int32_t druid_owner[POOL_MAX_WORKERS];
	volatile uint64_t druid_since_ms[POOL_MAX_WORKERS];
	/* Pool events since the master started (written by the master only, for /metrics). */
	volatile uint64_t worker_starts;
	volatile uint64_t worker_exits[POOL_EXIT_CAUSES]; /* by enum pool_exit_cause */
	volatile uint64_t reloads_ok, reloads_failed;
};

struct pool_worker_env {
	size_t slot;                     /* 0..workers-1 */
	uint32_t generation;
	size_t record;                   /* this worker's index in busy_since_ms */
	struct pool_board *board;        /* live view of the master's counters */
};

struct pool_callbacks {
	void *ctx;
	/* In a new worker process. Returns its exit status (0 = clean stop). */
	int (*worker_main)(void *ctx, const struct pool_worker_env *env);
	/* In the master on SIGHUP: reload into ctx and update *opts; 0 recycles the workers,
	 * -1 keeps the running ones (the hook logs why). NULL: SIGHUP only recycles. */
	int (*reload)(void *ctx, struct pool_opts *opts);
};

/* Default timings: 30 s grace, 5 s crash window, 5 crashes. */
void pool_opts_defaults(struct pool_opts *opts);

/* Runs the master until stopped; returns the process exit status (0, or 1 when every slot is
 * in a crash loop or the pool cannot start). opts may be updated by reload. */
int pool_run(struct pool_opts *opts, const struct pool_callbacks *cb);

/* Worker side. True once a stop was requested (SIGTERM, SIGINT or SIGUSR1). */
int pool_stop_requested(void);
/* Worker side: bracket the blocking wait for the next connection. Stop signals are delivered
 * (and interrupt the wait with EINTR) only between these two calls. */
void pool_wait_begin(void);
void pool_wait_end(void);
/* Worker side: bracket the handling of one request, for the master's request watchdog. */
void pool_request_begin(const struct pool_worker_env *env);
void pool_request_end(const struct pool_worker_env *env);

#endif
