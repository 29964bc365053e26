/*
 * metrics: the counters of the whole pool for GET /metrics (Prometheus text
 * exposition format 0.0.4), and their renderer.
 *
 * The counters live in one fixed-layout block (struct metrics_board) that the
 * master maps shared (MAP_SHARED | MAP_ANONYMOUS) before it forks the first
 * worker; every worker adds to it with atomic increments, so the numbers add
 * up across the pool and a worker that dies (crash, SIGKILL, recycle) loses
 * nothing it had counted. Any worker renders the whole pool's numbers. The
 * pool's own events (worker starts and exits, reloads, generation) are counted
 * by the master on the pool's board (struct pool_board) and rendered here too.
 *
 * Label sets are bounded: routes (enum route_id, at most METRICS_ROUTES),
 * HTTP statuses 100..599, detectors (enum detector_kind) and models: a table of
 * METRICS_MODELS names, each claimed once by the first worker that serves a
 * model of that name (atomic compare-and-swap) and kept for the life of the
 * master, so a model's series survive reloads; past the table's size a model is
 * counted as "other". Not the HTTP edge (app.c answers the route) nor the pool.
 */
#ifndef RB_METRICS_H
#define RB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "rb/detect/detector.h"
#include "rb/druid/druid_client.h"
#include "rb/fcgi/pool.h"
#include "rb/fcgi/registry.h"
#include "rb/store/model_sync.h"

#define METRICS_ROUTES 16  /* > every enum route_id value */
#define METRICS_MODELS 64  /* model names remembered; then "other" */
#define METRICS_BUCKETS 15 /* histogram bounds, seconds (metrics.c); +Inf is the count */
#define METRICS_STATUS_MIN 100
#define METRICS_STATUS_N 500 /* statuses 100..599 */

/* What ran for a request: nothing, a detector, a model slot, or a model past the table. */
#define METRICS_RUNNER_NONE 0
#define METRICS_RUNNER_DETECTOR0 1
#define METRICS_RUNNER_MODEL0 (METRICS_RUNNER_DETECTOR0 + DETECTOR_KIND_COUNT)
#define METRICS_RUNNER_OTHER (METRICS_RUNNER_MODEL0 + METRICS_MODELS)
#define METRICS_RUNNERS (METRICS_RUNNER_OTHER + 1)

/* Druid call outcomes as counted (enum druid_outcome without NONE). */
#define METRICS_DRUID_OUTCOMES 5

/* Model-sync outcomes: enum model_sync_event, then a failed listing or set-up. */
#define METRICS_SYNC_LIST_FAILED MODEL_SYNC_EVENT_COUNT
#define METRICS_SYNC_OUTCOMES (MODEL_SYNC_EVENT_COUNT + 1)

/* A histogram: per-bucket counts (not cumulative), the count and the sum in microseconds. */
struct metrics_hist {
	uint64_t bucket[METRICS_BUCKETS];
	uint64_t count;
	uint64_t sum_us;
};

struct metrics_model_name {
	int32_t state;      /* 0 free, a pid while that worker writes name, -1 ready */
	char name[MODEL_NAME_MAX];
};

/* The shared block. Every field is changed only with __atomic builtins. */
struct metrics_board {
	uint64_t requests[METRICS_ROUTES][METRICS_STATUS_N];      /* by route, status */
	struct metrics_hist request_seconds[METRICS_ROUTES][METRICS_RUNNERS];
	struct metrics_hist runner_seconds[METRICS_RUNNERS];      /* inference or detector */
	uint64_t druid_calls[METRICS_DRUID_OUTCOMES];
	struct metrics_hist druid_seconds;
	uint64_t rows_analysed;
	uint64_t model_sync[METRICS_SYNC_OUTCOMES]; /* by outcome (the sync helper) */
	int32_t druid_last_ok;       /* -1 no call yet, 0 failed, 1 ok */
	uint64_t druid_last_unix_ms; /* wall clock of the last call's end */
	struct metrics_model_name models[METRICS_MODELS];
};

/* Maps a zeroed board shared (master, before fork); NULL on failure. */
struct metrics_board *metrics_board_new(void);
void metrics_board_free(struct metrics_board *mb);

/* The runner index of a model name (claimed in the table when new), or of a detector name;
 * METRICS_RUNNER_NONE for NULL or "". */
unsigned metrics_runner(struct metrics_board *mb, const char *name);

/* Counting (any process; mb NULL is a no-op). */
void metrics_hist_add(struct metrics_hist *h, double seconds);
void metrics_request(struct metrics_board *mb, unsigned route, int status, unsigned runner,
                     double seconds);
void metrics_runner_time(struct metrics_board *mb, unsigned runner, double seconds);
void metrics_druid_call(struct metrics_board *mb, enum druid_outcome outcome, double seconds);
void metrics_rows(struct metrics_board *mb, uint64_t rows);
/* One model-sync outcome: an enum model_sync_event or METRICS_SYNC_LIST_FAILED. */
void metrics_model_sync(struct metrics_board *mb, unsigned outcome);

/* The outcome names as rendered ("ok", "http_error", ...); NULL for NONE. */
const char *metrics_druid_outcome_name(enum druid_outcome o);

/*
 * Renders every metric: mb's counters, the pool's (pb, may be NULL) and the models of reg
 * (with the mtime of their .keras file; may be NULL). Returns a malloc'd NUL-terminated
 * text and its length in *len, or NULL when out of memory.
 */
char *metrics_render(const struct metrics_board *mb, const struct pool_board *pb,
                     const struct registry *reg, size_t *len);

#endif
