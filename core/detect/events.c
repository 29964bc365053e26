/*
 * events: runs of flagged rows and missing stretches of the grid, in one
 * pass over a detection (the contract, the grid and the rules are in
 * include/rb/detect/events.h). Not a detector (it reads the flags, never
 * sets them) and not the JSON (core/answer/response.c writes the list).
 */
#include "rb/detect/events.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/input/civil.h"

const char *const event_kind_names[EVENT_KIND_COUNT] = {"up", "down", "gap"};

/* A spacing that can never be the step (not finite, negative, or too large). */
#define SPACING_NONE INT64_MIN

/* Spacing t1 - t0 in whole milliseconds (rounded), or SPACING_NONE. */
static int64_t spacing_ms(double t0, double t1)
{
	double ms = (t1 - t0) * 1000.0;
	if (!(ms >= 0.0 && ms < 9e15)) /* false for NaN too */
		return SPACING_NONE;
	return (int64_t)(ms + 0.5); /* ms >= 0: truncation is floor, and no libm call */
}

double events_grid_step(const double *t, size_t n)
{
	if (n < 3)
		return 0.0;
	/*
	 * Fast path, exact: when more than half of the spacings equal the first
	 * one bit for bit, they all round to its milliseconds, so that is the
	 * majority (a majority is unique). Druid's instants of a granularity of
	 * whole seconds take it; one branch-free pass.
	 */
	double d0 = t[1] - t[0];
	size_t same = 0;
	for (size_t i = 0; i + 1 < n; i++)
		same += t[i + 1] - t[i] == d0;
	if (same > (n - 1) / 2) {
		int64_t ms0 = spacing_ms(t[0], t[1]);
		return ms0 > 0 && ms0 != SPACING_NONE ? (double)ms0 / 1000.0 : 0.0;
	}
	/* Boyer-Moore majority vote over the n - 1 spacings, then a count to confirm it */
	int64_t cand = SPACING_NONE;
	size_t votes = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		int64_t sp = spacing_ms(t[i], t[i + 1]);
		if (votes == 0) {
			cand = sp;
			votes = 1;
		} else if (sp == cand) {
			votes++;
		} else {
			votes--;
		}
	}
	if (cand == SPACING_NONE || cand <= 0)
		return 0.0;
	size_t count = 0;
	for (size_t i = 0; i + 1 < n; i++)
		count += spacing_ms(t[i], t[i + 1]) == cand;
	if (count <= (n - 1) / 2) /* not more than half of the n - 1 spacings */
		return 0.0;
	return (double)cand / 1000.0;
}

/*
 * Grid points missing between instants t0 < t1 for a step > 0: round((t1 -
 * t0) / step) - 1. The common case, a spacing under 1.5 steps, costs one
 * comparison (min_gap = 1.5 * step): no division on a regular stretch.
 */
static uint64_t missing_between(double t0, double t1, double step, double min_gap)
{
	double dt = t1 - t0;
	if (!(dt >= min_gap)) /* also NaN */
		return 0;
	double k = floor(dt / step + 0.5);
	if (!(k >= 2.0)) /* also NaN: not ascending or not finite */
		return 0;
	if (k > 9007199254740992.0) /* 2^53: only hand-built instants get here */
		k = 9007199254740992.0;
	return (uint64_t)k - 1;
}

/* Appends e; 0, 1 when the cap was reached (truncated set, e dropped), -1 on NOMEM. */
static int push(struct events *out, size_t *cap_alloc, size_t cap, const struct event *e)
{
	if (out->n == cap) {
		out->truncated = 1;
		return 1;
	}
	if (out->n == *cap_alloc) {
		size_t grow = *cap_alloc < 16 ? 16 : *cap_alloc * 2;
		if (grow > cap)
			grow = cap;
		struct event *p = realloc(out->ev, grow * sizeof *p);
		if (p == NULL)
			return -1;
		out->ev = p;
		*cap_alloc = grow;
	}
	out->ev[out->n++] = *e;
	return 0;
}

/* The run [first, last] with its peak as an up or down event. */
static struct event run_event(const struct detection *d, size_t first, size_t last, size_t peak)
{
	struct event e;
	memset(&e, 0, sizeof e);
	double obs = d->observed[peak];
	e.kind = isnan(obs) || obs < d->expected[peak] ? EVENT_DOWN : EVENT_UP;
	e.first = first;
	e.last = last;
	e.peak = peak;
	e.peak_score = d->score[peak];
	e.rows = (uint64_t)(last - first + 1);
	return e;
}

/*
 * One pass over rows [0, n) of s and d appending the events to out (zeroed
 * by the caller) for the grid step `step` (0: none). With spec set (a
 * speculation that the first spacing d0 = t[1] - t[0] is the grid's; step
 * is then its milliseconds), quiet rows are those whose spacing to the next
 * equals d0 bit for bit, and *odd counts the spacings that do not, over all
 * n - 1 of them even when the cap stops the scan. Returns 0, or -1 on NOMEM.
 */
static int scan(struct events *out, const struct series *s, const struct detection *d,
                size_t n, size_t cap, double step, int spec, size_t *odd)
{
	const double *t = s->t;
	double d0 = spec ? t[1] - t[0] : 0.0;
	double min_gap = 1.5 * step;
	double quiet_below = step > 0.0 ? min_gap : INFINITY; /* a spacing with no point missing */
	size_t cap_alloc = 0, first = 0, peak = 0, i = 0;
	int in_run = 0, rc = 0;

	*odd = 0;
	for (; i < n && rc == 0; i++) {
		/* skip a quiet stretch (rows not flagged, nothing missing after them) in a tight loop */
		if (!in_run) {
			if (spec) {
				while (i + 1 < n && !d->anomaly[i] && t[i + 1] - t[i] == d0)
					i++;
			} else if (t != NULL) {
				while (i + 1 < n && !d->anomaly[i] && t[i + 1] - t[i] < quiet_below)
					i++;
			} else {
				while (i + 1 < n && !d->anomaly[i])
					i++;
			}
		}
		if (spec && i + 1 < n && !(t[i + 1] - t[i] == d0))
			(*odd)++;
		if (d->anomaly[i]) {
			if (!in_run) {
				in_run = 1;
				first = i;
				peak = i;
			} else if (d->score[i] > d->score[peak] ||
			           (isnan(d->score[peak]) && !isnan(d->score[i]))) {
				peak = i;
			}
		}
		uint64_t missing = step > 0.0 && i + 1 < n
		                           ? missing_between(t[i], t[i + 1], step, min_gap)
		                           : 0;
		if (in_run && !(i + 1 < n && d->anomaly[i + 1] && missing == 0)) {
			struct event e = run_event(d, first, i, peak);
			rc = push(out, &cap_alloc, cap, &e);
			in_run = 0;
		}
		if (missing > 0 && rc == 0) {
			struct event e;
			memset(&e, 0, sizeof e);
			e.kind = EVENT_GAP;
			e.first = i;
			e.last = i + 1;
			e.peak = i;
			e.start = t[i] + step;
			e.end = t[i] + (double)missing * step;
			e.rows = missing;
			rc = push(out, &cap_alloc, cap, &e);
		}
	}
	if (spec) /* stopped by the cap: count the spacings not seen */
		for (; i + 1 < n; i++)
			*odd += !(t[i + 1] - t[i] == d0);
	return rc < 0 ? -1 : 0;
}

/*
 * One pass in the common case: the scan assumes the first spacing is the
 * grid's (what events_grid_step's exact fast path would find) and checks it
 * on the way; only when more than half of the spacings differ from it is
 * the list thrown away and made again with the step events_grid_step gives.
 * Either way the result is that of the step events_grid_step() defines.
 */
enum rb_code events_find(struct events *out, const struct series *s, const struct detection *d,
                         size_t cap, struct rb_err *err)
{
	memset(out, 0, sizeof *out);
	if (cap == 0)
		cap = EVENTS_MAX;
	size_t n = d->n < s->n ? d->n : s->n;
	const double *t = s->t; /* NULL: a hand-built series, read as one without a grid */
	size_t odd = 0;
	int rc = 0;
	int64_t ms0 = t != NULL && n >= 3 ? spacing_ms(t[0], t[1]) : SPACING_NONE;
	int done = 0;
	if (ms0 > 0) {
		out->step = (double)ms0 / 1000.0;
		rc = scan(out, s, d, n, cap, out->step, 1, &odd);
		done = rc < 0 || n - 1 - odd > (n - 1) / 2;
		if (!done) {
			events_release(out);
			memset(out, 0, sizeof *out);
		}
	}
	if (!done) {
		out->step = t != NULL ? events_grid_step(t, n) : 0.0;
		rc = scan(out, s, d, n, cap, out->step, 0, &odd);
	}
	if (rc < 0) {
		events_release(out);
		out->step = 0.0;
		return rb_err_set(err, RB_E_NOMEM, "out of memory for the events of %zu rows", n);
	}
	return RB_OK;
}

void events_release(struct events *e)
{
	if (e == NULL)
		return;
	free(e->ev);
	e->ev = NULL;
	e->n = 0;
	e->truncated = 0;
}

size_t events_format_instant(char buf[EVENTS_INSTANT_LEN], double t)
{
	double msd = floor(t * 1000.0 + 0.5);
	if (!(fabs(msd) < 9e15)) /* beyond any instant a series holds (year 285,000) */
		msd = 0.0;
	size_t n = civil_format_ms((int64_t)msd, buf, EVENTS_INSTANT_LEN);
	return n < EVENTS_INSTANT_LEN ? n : EVENTS_INSTANT_LEN - 1;
}
