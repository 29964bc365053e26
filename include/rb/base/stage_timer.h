/*
 * stage_timer: where one request's time goes, stage by stage (body read, form
 * split, base64 decode, Druid fetch, series parse, detection, answer render,
 * write). A fixed array on the caller's stack or state, no allocation, no
 * locking: one timer belongs to one thread. Each mark charges the time since
 * the previous mark (or the start) to a stage: wall time (CLOCK_MONOTONIC)
 * and, when asked, the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) and the
 * process's minor page faults (getrusage: one system call a mark, ~0.3 us).
 * A timer started off makes every call a no-op,
 * so callers mark unconditionally. Not a profiler: a stage is what its
 * callers say it is; time between marks is charged to the next mark's stage.
 */
#ifndef RB_BASE_STAGE_TIMER_H
#define RB_BASE_STAGE_TIMER_H

#include <stddef.h>
#include <time.h>

/* The stages of a request, in the order they run. */
enum stage_id {
	STAGE_BODY,   /* reading the request body (and the rest of stdin) */
	STAGE_FORM,   /* splitting the urlencoded form into fields */
	STAGE_B64,    /* percent- and base64-decoding the fields */
	STAGE_FETCH,  /* the Druid query: rewrite, wait, answer */
	STAGE_PARSE,  /* the series JSON into rows and columns */
	STAGE_DETECT, /* features, inference or the model-free detector, scoring */
	STAGE_RENDER, /* the JSON answer */
	STAGE_WRITE,  /* handing the answer to the web server */
	STAGE_COUNT
};

/* The name of each stage, in enum order, NULL after the last (the log line's words). */
extern const char *const stage_names[STAGE_COUNT + 1];

/* Flags of stage_timer_start. */
enum { STAGE_TIMER_ON = 1, STAGE_TIMER_CPU = 2 };

struct stage_timer {
	int flags;                    /* STAGE_TIMER_*; 0: off */
	unsigned marked;              /* bit s: stage s was marked at least once */
	struct timespec wall0, wall;  /* start, last mark (CLOCK_MONOTONIC) */
	double cpu0, cpu;             /* the same on the thread's CPU clock, ms */
	long flt0, flt;               /* the same in the thread's minor page faults */
	double wall_ms[STAGE_COUNT];  /* wall time charged to each stage */
	double cpu_ms[STAGE_COUNT];   /* CPU time charged to each stage (STAGE_TIMER_CPU) */
	long faults[STAGE_COUNT];     /* minor page faults charged to each stage (STAGE_TIMER_CPU) */
};

/* Clears t and starts it now (flags 0: off, every call on it does nothing). */
void stage_timer_start(struct stage_timer *t, int flags);

/* Charges the time since the previous mark (or the start) to stage s; t may be NULL. */
void stage_timer_mark(struct stage_timer *t, enum stage_id s);

/* Wall and CPU milliseconds, and minor faults, from the start to the last mark (CPU and faults
 * 0 without STAGE_TIMER_CPU). */
double stage_timer_total_wall_ms(const struct stage_timer *t);
double stage_timer_total_cpu_ms(const struct stage_timer *t);
long stage_timer_total_faults(const struct stage_timer *t);

/*
 * One line for an operator, into buf[0..cap) NUL-terminated (truncated when
 * short): the marked stages in order as "name wall/cpu/faults" (milliseconds
 * to the microsecond, the same, minor page faults; wall only without
 * STAGE_TIMER_CPU), then the total, e.g.
 *   "stages wall/cpu ms/faults: body 1.204/0.951/0 form 0.041/0.040/0 ... total 9.813/9.502/3".
 * Returns the length written; 0 when t is off.
 */
size_t stage_timer_format(const struct stage_timer *t, char *buf, size_t cap);

#endif
