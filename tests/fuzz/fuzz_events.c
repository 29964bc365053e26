/*
 * fuzz_events: events_find() and the answer's events on arbitrary series.
 * The first byte picks the time unit (1 ms .. 1 day); then 4 bytes a row
 * (at most 65,536 rows): a signed step count to the next instant (so
 * duplicates, descending instants, regular grids with holes and irregular
 * spacing all occur), flags (bit 0 flagged, bit 1 observed missing, bit 2
 * observed above expected, bit 3 the step count times 1,000: long outages),
 * the score and a spare byte. Checked: no crash or sanitizer report; at most
 * EVENTS_MAX events, in time order; a run is flagged rows only, its peak
 * inside it with the largest score; unless truncated, every flagged row is
 * in exactly one run; a gap has rows >= 1 and start <= end; the list equals
 * the two-step definition's (events_grid_step, then a plain scan); the body
 * of response_success() is JSON whose events array has the same length.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/detect/events.c" /* scan(): the definition, to compare with */
#include "rb/answer/response.h"
#include "rb/detect/detection.h"
#include "rb/detect/events.h"
#include "rb/input/series.h"

#define MAX_ROWS 65536

static void fail(const char *what, size_t i)
{
	fprintf(stderr, "fuzz_events: %s at %zu\n", what, i);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double units[8] = {0.001, 0.25, 1, 60, 300, 3600, 86400, 7.5};
	if (size < 1)
		return 0;
	double unit = units[data[0] % 8];
	size_t n = (size - 1) / 4;
	if (n > MAX_ROWS)
		n = MAX_ROWS;
	struct rb_err err;
	struct series *s = NULL;
	struct detection d;
	if (series_alloc(&s, n, 1, &err) != RB_OK || detection_init(&d, n, &err) != RB_OK)
		abort();
	double t = 1695286800.0;
	size_t flagged = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *r = data + 1 + 4 * i;
		int8_t steps = (int8_t)r[0];
		t += (double)steps * unit * ((r[1] & 8) ? 1000.0 : 1.0);
		s->t[i] = t;
		s->timestamps[i] = malloc(24);
		if (s->timestamps[i] == NULL)
			abort();
		snprintf(s->timestamps[i], 24, "r%zu", i);
		d.expected[i] = 100.0;
		d.observed[i] = (r[1] & 2) ? NAN : (r[1] & 4) ? 150.0 : 50.0;
		d.score[i] = (double)r[2] / 16.0;
		d.anomaly[i] = r[1] & 1;
		flagged += d.anomaly[i];
	}

	struct events ev;
	if (events_find(&ev, s, &d, 0, &err) != RB_OK)
		fail("events_find failed", 0);
	if (ev.n > EVENTS_MAX)
		fail("more than EVENTS_MAX events", ev.n);
	size_t covered = 0, next_row = 0;
	for (size_t k = 0; k < ev.n; k++) {
		const struct event *e = &ev.ev[k];
		if (e->first > e->last || e->last >= n)
			fail("bad row range", k);
		if (e->kind == EVENT_GAP) {
			if (e->rows < 1 || !(e->start <= e->end) || e->last != e->first + 1)
				fail("bad gap", k);
			if (e->first + 1 < next_row)
				fail("gap out of order", k);
			continue;
		}
		if (e->first < next_row)
			fail("run out of order or overlapping", k);
		if (e->peak < e->first || e->peak > e->last || e->rows != e->last - e->first + 1)
			fail("bad run", k);
		for (size_t i = e->first; i <= e->last; i++) {
			if (!d.anomaly[i])
				fail("unflagged row in a run", i);
			if (d.score[i] > d.score[e->peak] || (i < e->peak && d.score[i] == d.score[e->peak]))
				fail("peak is not the first largest score", i);
		}
		covered += (size_t)e->rows;
		next_row = e->last + 1;
	}
	if (!ev.truncated && covered != flagged)
		fail("flagged rows not covered by runs", covered);
	struct events g;
	size_t odd;
	memset(&g, 0, sizeof g);
	g.step = events_grid_step(s->t, n);
	if (scan(&g, s, &d, n, EVENTS_MAX, g.step, 0, &odd) != 0)
		fail("scan failed", 0);
	if (g.step != ev.step || g.n != ev.n || g.truncated != ev.truncated)
		fail("differs from the two-step definition", g.n);
	for (size_t k = 0; k < g.n; k++)
		if (g.ev[k].kind != ev.ev[k].kind || g.ev[k].first != ev.ev[k].first ||
		    g.ev[k].last != ev.ev[k].last || g.ev[k].peak != ev.ev[k].peak ||
		    g.ev[k].rows != ev.ev[k].rows)
			fail("event differs from the two-step definition", k);
	events_release(&g);

	char *body = response_success(s, &d);
	if (body == NULL)
		fail("response_success failed", 0);
	json_error_t jerr;
	json_t *root = json_loads(body, 0, &jerr);
	if (root == NULL || json_array_size(json_object_get(root, "events")) != ev.n ||
	    (json_object_get(root, "events_truncated") != NULL) != (ev.truncated != 0))
		fail("answer's events disagree", 0);
	json_decref(root);
	free(body);
	events_release(&ev);
	detection_release(&d);
	series_free(s);
	return 0;
}
