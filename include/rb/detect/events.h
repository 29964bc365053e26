/*
 * events: the incidents a person or an alerting rule reads, derived from a
 * detection (one entry per flagged row) and the series' timestamps; written
 * by core/detect/events.c. The answer's `events` array (core/answer/response.c)
 * is this list. Not a detector: it never changes which rows are flagged.
 *
 * The grid. The step is the spacing of timestamps (to the millisecond) that
 * more than half of the series' spacings share; it is then the most common
 * spacing. A series has no grid when it has fewer than 3 rows, or when no
 * positive spacing has that majority (an irregular series, or one where
 * missing rows are the rule rather than the exception: nothing to call a
 * gap). Between rows i and i+1, spacing D, k = round(D / step); k - 1 grid
 * points are missing when k >= 2 (so a spacing of 1.5 steps or more).
 *
 * The events, in time order:
 * - up / down: a run of flagged rows with no grid point missing between
 *   neighbours (without a grid: rows adjacent in the series). rows = the
 *   run's rows; the peak is the run's row of largest score (the earliest on a
 *   tie); kind is the sign at the peak only, the run is never split: down
 *   when the observed value there is below expected, or missing; up
 *   otherwise. A spike with an undershoot after it is one incident.
 * - gap: a missing stretch of the grid between two rows: start and end the
 *   first and last missing instants (t[i] + step, t[i] + (k - 1) * step),
 *   rows = k - 1, peak = start, peak_score 0. It has no row of its own and
 *   splits a run of flagged rows around it. A row whose value is missing
 *   (observed NAN) is a row, never a gap.
 *
 * Cost: O(n) time, no allocation besides the list, which holds at most
 * `cap` events (EVENTS_MAX in the answer): past it the scan stops and
 * `truncated` is set; the kept events are the first ones. One pass when the
 * first spacing is the grid's (the usual Druid series), else at most three.
 */
#ifndef RB_DETECT_EVENTS_H
#define RB_DETECT_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "rb/base/error.h"
#include "rb/detect/detection.h"
#include "rb/input/series.h"

/* Events the answer lists at most; past it the answer says "events_truncated":true. */
#define EVENTS_MAX 10000

enum event_kind {
	EVENT_UP,   /* a run of flagged rows, observed above expected at the peak */
	EVENT_DOWN, /* a run of flagged rows, observed below expected (or missing) at the peak */
	EVENT_GAP,  /* grid points with no row at all */
	EVENT_KIND_COUNT
};

/* "up", "down", "gap": the names the answer writes, indexed by enum event_kind. */
extern const char *const event_kind_names[EVENT_KIND_COUNT];

struct event {
	enum event_kind kind;
	size_t first;      /* up/down: first row of the run; gap: the row before the stretch */
	size_t last;       /* up/down: last row of the run; gap: the row after the stretch */
	size_t peak;       /* up/down: the peak row; gap: = first */
	double start, end; /* gap: first and last missing instants (s since 1970); up/down: 0 */
	double peak_score; /* up/down: score of the peak row; gap: 0 */
	uint64_t rows;     /* up/down: rows in the run; gap: missing grid points (>= 1) */
};

struct events {
	size_t n;          /* events in ev */
	struct event *ev;  /* [n] in time order (NULL when n is 0) */
	int truncated;     /* 1 when there were more than cap events (the first cap are kept) */
	double step;       /* the grid step in seconds, 0 when the series has none */
};

/*
 * Fills *out (overwritten; events_release frees it) with the events of d
 * over the rows of s (min(s->n, d->n) rows; s->t gives the instants, and a
 * hand-built series with t NULL is read as one without a grid). cap
 * 0 means EVENTS_MAX. RB_E_NOMEM on failure, *out then empty.
 */
enum rb_code events_find(struct events *out, const struct series *s, const struct detection *d,
                         size_t cap, struct rb_err *err);

/* Frees the list (not e itself); safe on a zeroed or already released struct. */
void events_release(struct events *e);

/*
 * The grid step in seconds of n instants t[0..n) (see the file comment), 0
 * when there is none. Instants that are not finite or not ascending only
 * ever count against a step.
 */
double events_grid_step(const double *t, size_t n);

/* Bytes of a formatted instant with its NUL: "2023-09-21T09:00:00.000Z" and room. */
#define EVENTS_INSTANT_LEN 40

/*
 * Writes t (seconds since 1970, UTC) as Druid writes an instant,
 * "YYYY-MM-DDThh:mm:ss.sssZ" (rounded to the millisecond; proleptic
 * Gregorian), into buf; returns the length. The instants of gap events are
 * written so: they have no timestamp string of their own.
 */
size_t events_format_instant(char buf[EVENTS_INSTANT_LEN], double t);

#endif
