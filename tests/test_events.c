/*
 * test_events: events_find() and its helpers (include/rb/detect/events.h):
 * runs of flagged rows (single rows, at the start and the end, all flagged,
 * none), up vs down (the peak's sign, missing observed, ties), gaps (one
 * missing step, many, at different positions, splitting a run), the grid
 * step (majority, exactly half, millisecond jitter, duplicates, descending,
 * irregular, fewer than 3 rows), rows with a missing value (rows, not gaps),
 * the cap and hostile sizes (a million rows with a gap per three rows, a
 * gap of 3e14 grid points), the instant format against gmtime_r, random
 * grid series against a naive reference written from the grid positions, and
 * events_find's one-pass speculation against the plain two-step definition
 * (events_grid_step, then a scan) where the speculation holds and where not.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/detect/events.c" /* scan(): the one-pass path against the two-step one */
#include "rb/detect/detection.h"
#include "rb/detect/events.h"
#include "rb/input/series.h"
#include "testutil.h"

/* A series and detection under test (timestamps "r<i>"). */
struct fx {
	struct series *s;
	struct detection d;
	struct events ev;
};

/*
 * Rows at the instants t[0..n) (seconds) and one character a row: '.' not
 * flagged, '+' flagged above expected, '-' flagged below, 'n' missing value
 * not flagged, 'N' missing value flagged. Score of a flagged row: 1 + i / 100
 * (so the last row of a run is its peak) unless set afterwards.
 */
static void fx_make(struct fx *f, const double *t, const char *rows)
{
	struct rb_err err;
	size_t n = strlen(rows);
	memset(f, 0, sizeof *f);
	CHECK(series_alloc(&f->s, n, 1, &err) == RB_OK);
	CHECK(detection_init(&f->d, n, &err) == RB_OK);
	for (size_t i = 0; i < n; i++) {
		f->s->timestamps[i] = malloc(24);
		CHECK(f->s->timestamps[i] != NULL);
		snprintf(f->s->timestamps[i], 24, "r%zu", i);
		f->s->t[i] = t[i];
		char c = rows[i];
		f->d.expected[i] = 10.0;
		f->d.observed[i] = c == '+' ? 20.0 : c == '-' ? 1.0 : (c == 'n' || c == 'N') ? NAN : 10;
		f->d.anomaly[i] = c == '+' || c == '-' || c == 'N';
		f->d.score[i] = f->d.anomaly[i] ? 1.0 + (double)i / 100.0 : 0.1;
	}
}

/* Rows on a one-minute grid at the minutes m[0..n). */
static void fx_minutes(struct fx *f, const int *m, const char *rows)
{
	size_t n = strlen(rows);
	double *t = malloc((n + 1) * sizeof *t);
	CHECK(t != NULL);
	for (size_t i = 0; i < n; i++)
		t[i] = 1695286800.0 + 60.0 * m[i];
	fx_make(f, t, rows);
	free(t);
}

/* Rows on a one-minute grid with none missing. */
static void fx_regular(struct fx *f, const char *rows)
{
	size_t n = strlen(rows);
	int *m = malloc((n + 1) * sizeof *m);
	CHECK(m != NULL);
	for (size_t i = 0; i < n; i++)
		m[i] = (int)i;
	fx_minutes(f, m, rows);
	free(m);
}

static void fx_find(struct fx *f, size_t cap)
{
	struct rb_err err;
	CHECKF(events_find(&f->ev, f->s, &f->d, cap, &err) == RB_OK, "%s", err.msg);
}

static void fx_free(struct fx *f)
{
	events_release(&f->ev);
	detection_release(&f->d);
	series_free(f->s);
}

/*
 * The events in a short text, one per event: "up 2-3 p3 n2" (rows first-last,
 * peak row, rows) or "gap 4-5 n3" (the rows around it, missing points).
 */
static void want(const struct fx *f, const char *expect)
{
	char got[8192];
	size_t len = 0;
	got[0] = '\0';
	for (size_t k = 0; k < f->ev.n && len < sizeof got - 64; k++) {
		const struct event *e = &f->ev.ev[k];
		if (e->kind == EVENT_GAP)
			len += (size_t)snprintf(got + len, sizeof got - len, "%sgap %zu-%zu n%llu",
			                        k ? ", " : "", e->first, e->last,
			                        (unsigned long long)e->rows);
		else
			len += (size_t)snprintf(got + len, sizeof got - len, "%s%s %zu-%zu p%zu n%llu",
			                        k ? ", " : "", event_kind_names[e->kind], e->first,
			                        e->last, e->peak, (unsigned long long)e->rows);
	}
	CHECKF(strcmp(got, expect) == 0, "events:\n  got  [%s]\n  want [%s]", got, expect);
}

static void test_runs(void)
{
	struct fx f;
	fx_regular(&f, "..++.+..--.");
	fx_find(&f, 0);
	CHECK(f.ev.step == 60.0 && f.ev.truncated == 0);
	want(&f, "up 2-3 p3 n2, up 5-5 p5 n1, down 8-9 p9 n2");
	CHECK(f.ev.ev[0].peak_score == f.d.score[3]);
	fx_free(&f);

	fx_regular(&f, "++...++"); /* at the start and at the end */
	fx_find(&f, 0);
	want(&f, "up 0-1 p1 n2, up 5-6 p6 n2");
	fx_free(&f);

	fx_regular(&f, "+-+-+-+-"); /* all flagged: one run */
	fx_find(&f, 0);
	want(&f, "down 0-7 p7 n8");
	fx_free(&f);

	fx_regular(&f, "........"); /* none */
	fx_find(&f, 0);
	CHECK(f.ev.n == 0 && f.ev.ev == NULL);
	fx_free(&f);

	fx_regular(&f, "+"); /* one row */
	fx_find(&f, 0);
	want(&f, "up 0-0 p0 n1");
	fx_free(&f);

	fx_regular(&f, ""); /* no rows */
	fx_find(&f, 0);
	CHECK(f.ev.n == 0 && f.ev.step == 0.0);
	fx_free(&f);
}

static void test_up_down(void)
{
	struct fx f;
	/* a mixed run takes the sign of its peak, whatever the majority */
	fx_regular(&f, ".+-++.");
	f.d.score[2] = 9.0;
	fx_find(&f, 0);
	want(&f, "down 1-4 p2 n4");
	CHECK(f.ev.ev[0].peak_score == 9.0);
	fx_free(&f);

	fx_regular(&f, ".--+-.");
	f.d.score[3] = 9.0;
	fx_find(&f, 0);
	want(&f, "up 1-4 p3 n4");
	fx_free(&f);

	/* a tie of scores: the earliest row is the peak */
	fx_regular(&f, ".+-+.");
	f.d.score[1] = f.d.score[2] = f.d.score[3] = 2.0;
	fx_find(&f, 0);
	want(&f, "up 1-3 p1 n3");
	fx_free(&f);

	/* observed equal to expected at the peak: up; missing at the peak: down */
	fx_regular(&f, ".+.N.");
	f.d.observed[1] = f.d.expected[1];
	fx_find(&f, 0);
	want(&f, "up 1-1 p1 n1, down 3-3 p3 n1");
	fx_free(&f);
}

static void test_gaps(void)
{
	struct fx f;
	/* one missing minute (3), many (10-19), after the first row and before the last */
	static const int m1[] = {0, 2, 4, 5, 6, 7, 8, 9, 20, 21, 22, 23, 25};
	fx_minutes(&f, m1, ".............");
	fx_find(&f, 0);
	CHECK(f.ev.step == 60.0);
	want(&f, "gap 0-1 n1, gap 1-2 n1, gap 7-8 n10, gap 11-12 n1");
	const struct event *g = &f.ev.ev[2];
	CHECK(g->start == f.s->t[7] + 60.0 && g->end == f.s->t[7] + 600.0);
	CHECK(g->peak_score == 0.0 && g->peak == g->first);
	char a[EVENTS_INSTANT_LEN], b[EVENTS_INSTANT_LEN];
	events_format_instant(a, g->start);
	events_format_instant(b, g->end);
	CHECKF(strcmp(a, "2023-09-21T09:10:00.000Z") == 0 && strcmp(b, "2023-09-21T09:19:00.000Z") == 0,
	       "%s %s", a, b);
	fx_free(&f);

	/* a gap splits a run of flagged rows, in time order: run, gap, run */
	static const int m2[] = {0, 1, 2, 3, 7, 8, 9, 10, 11};
	fx_minutes(&f, m2, "..++++...");
	fx_find(&f, 0);
	want(&f, "up 2-3 p3 n2, gap 3-4 n3, up 4-5 p5 n2");
	fx_free(&f);

	/* rows with a missing value are rows: no gap, and an unflagged one ends a run */
	fx_regular(&f, ".+n+Nn.");
	fx_find(&f, 0);
	want(&f, "up 1-1 p1 n1, down 3-4 p4 n2");
	fx_free(&f);

	/* a spacing of 1.5 steps counts as one missing point, 1.4 as none */
	static const double t3[] = {0, 60, 120, 180, 270, 330, 390, 474, 534};
	fx_make(&f, t3, "...+++.++");
	fx_find(&f, 0);
	want(&f, "up 3-3 p3 n1, gap 3-4 n1, up 4-5 p5 n2, up 7-8 p8 n2");
	fx_free(&f);
}

static void test_grid(void)
{
	static const double regular[] = {0, 60, 120, 180, 240};
	CHECK(events_grid_step(regular, 5) == 60.0);
	CHECK(events_grid_step(regular, 3) == 60.0);
	CHECK(events_grid_step(regular, 2) == 0.0); /* fewer than 3 rows: none */
	CHECK(events_grid_step(regular, 1) == 0.0);
	CHECK(events_grid_step(regular, 0) == 0.0);
	/* more than half of the spacings: 60 60 120 -> 60; exactly half (60 120): none */
	static const double maj[] = {0, 60, 120, 240};
	CHECK(events_grid_step(maj, 4) == 60.0);
	static const double half[] = {0, 60, 180, 240, 360};
	CHECK(events_grid_step(half, 5) == 0.0);
	/* the most common spacing can be the larger one */
	static const double big[] = {0, 300, 600, 660, 960, 1260};
	CHECK(events_grid_step(big, 6) == 300.0);
	/* millisecond jitter below half a millisecond is the same spacing */
	static const double jit[] = {1695286800.0, 1695286800.0 + 60.0002, 1695286800.0 + 119.9998,
	                             1695286800.0 + 180.0001};
	CHECK(events_grid_step(jit, 4) == 60.0);
	static const double ms[] = {0.5, 0.75, 1.0, 1.25};
	CHECK(events_grid_step(ms, 4) == 0.25);
	/* duplicates (spacing 0) and descending instants never make a step */
	static const double dup[] = {5, 5, 5, 5};
	CHECK(events_grid_step(dup, 4) == 0.0);
	static const double desc[] = {300, 240, 180, 120};
	CHECK(events_grid_step(desc, 4) == 0.0);
	static const double bad[] = {0, NAN, INFINITY, 60};
	CHECK(events_grid_step(bad, 4) == 0.0);

	/* irregular: no grid, no gaps, flagged rows adjacent in the series are one run */
	struct fx f;
	static const double irr[] = {0, 7, 61, 200, 203, 1000, 1001.5, 5000};
	fx_make(&f, irr, ".++..+++");
	fx_find(&f, 0);
	CHECK(f.ev.step == 0.0);
	want(&f, "up 1-2 p2 n2, up 5-7 p7 n3");
	fx_free(&f);

	/* two rows far apart: no grid, so one run of two rows and no gap */
	static const double two[] = {0, 86400};
	fx_make(&f, two, "++");
	fx_find(&f, 0);
	want(&f, "up 0-1 p1 n2");
	fx_free(&f);

	/* a hand-built series with no instants at all */
	fx_regular(&f, ".++.");
	free(f.s->t);
	f.s->t = NULL;
	fx_find(&f, 0);
	want(&f, "up 1-2 p2 n2");
	fx_free(&f);
}

static void test_cap_and_hostile(void)
{
	struct fx f;
	fx_regular(&f, "+.+.+.+.+.+.+");
	fx_find(&f, 3);
	CHECK(f.ev.n == 3 && f.ev.truncated == 1);
	want(&f, "up 0-0 p0 n1, up 2-2 p2 n1, up 4-4 p4 n1");
	events_release(&f.ev);
	fx_find(&f, 7); /* exactly the cap: not truncated */
	CHECK(f.ev.n == 7 && f.ev.truncated == 0);
	fx_free(&f);

	/* a huge gap: 1 ms grid, then a jump of 3e11 s */
	static const double huge[] = {0, 0.001, 0.002, 0.003, 3e11};
	fx_make(&f, huge, ".....");
	fx_find(&f, 0);
	CHECK(f.ev.n == 1 && f.ev.ev[0].kind == EVENT_GAP);
	CHECKF(f.ev.ev[0].rows == 299999999999996ull, "%llu", (unsigned long long)f.ev.ev[0].rows);
	fx_free(&f);

	/* a million rows, a missing minute after every third, all flagged: capped, linear */
	size_t n = 1000000;
	struct rb_err err;
	memset(&f, 0, sizeof f);
	CHECK(series_alloc(&f.s, n, 1, &err) == RB_OK);
	CHECK(detection_init(&f.d, n, &err) == RB_OK);
	for (size_t i = 0; i < n; i++) {
		f.s->t[i] = 60.0 * (double)(i + i / 3);
		f.d.anomaly[i] = 1;
		f.d.score[i] = 1.0;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fx_find(&f, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("events of 1,000,000 hostile rows: %.1f ms\n", ms);
	CHECK(f.ev.step == 60.0 && f.ev.n == EVENTS_MAX && f.ev.truncated == 1);
	CHECK(f.ev.ev[0].kind == EVENT_UP && f.ev.ev[0].rows == 3 && f.ev.ev[1].kind == EVENT_GAP);
	CHECKF(ms < 1000.0, "%.1f ms", ms);
	events_release(&f.ev);
	/* the same series unflagged: only gaps, still capped */
	memset(f.d.anomaly, 0, n);
	fx_find(&f, 0);
	CHECK(f.ev.n == EVENTS_MAX && f.ev.truncated == 1 && f.ev.ev[EVENTS_MAX - 1].kind == EVENT_GAP);
	fx_free(&f);
}

static void test_format(void)
{
	char b[EVENTS_INSTANT_LEN];
	static const struct {
		double t;
		const char *s;
	} known[] = {
		{0.0, "1970-01-01T00:00:00.000Z"},
		{-0.001, "1969-12-31T23:59:59.999Z"},
		{1695286800.0, "2023-09-21T09:00:00.000Z"},
		{1709164800.0 + 86399.9996, "2024-03-01T00:00:00.000Z"}, /* rounds up over a leap day */
		{1709164800.0 - 1.0, "2024-02-28T23:59:59.000Z"},
		{1709164800.0 + 0.0004, "2024-02-29T00:00:00.000Z"},
		{-62167219200.0, "0000-01-01T00:00:00.000Z"},
		{253402300799.999, "9999-12-31T23:59:59.999Z"},
	};
	for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
		size_t len = events_format_instant(b, known[k].t);
		CHECKF(strcmp(b, known[k].s) == 0 && len == strlen(b), "%.17g: %s, want %s", known[k].t,
		       b, known[k].s);
	}
	/* random instants 1900-2100 against gmtime_r, and back through series_parse_instant */
	struct tu_rng r = {0x5EED0F0E7E27ull};
	for (int k = 0; k < 20000; k++) {
		long long ms = (long long)(tu_rng_next(&r) % 6311433600000ull) - 2208988800000LL;
		events_format_instant(b, (double)ms / 1000.0);
		long long sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
		time_t tt = (time_t)sec;
		struct tm tm;
		CHECK(gmtime_r(&tt, &tm) != NULL);
		char w[EVENTS_INSTANT_LEN], w2[EVENTS_INSTANT_LEN + 8];
		strftime(w, sizeof w, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(w2, sizeof w2, "%s.%03dZ", w, (int)(ms - sec * 1000));
		CHECKF(strcmp(b, w2) == 0, "%lld ms: %s, want %s", ms, b, w2);
		double back;
		CHECK(series_parse_instant(b, &back) == 0);
		CHECKF(llround(back * 1000.0) == ms, "%s", b);
	}
}

/*
 * Random series on a one-minute grid (positions strictly increasing, random
 * holes) against a reference that reads the grid positions directly: a run
 * continues while the next row is flagged at the next position; a hole of h
 * positions is a gap of h rows.
 */
static void test_random_vs_positions(void)
{
	struct tu_rng r = {0xE7E27500ull};
	for (int round = 0; round < 300; round++) {
		size_t n = 3 + tu_rng_next(&r) % 200;
		long *pos = malloc(n * sizeof *pos);
		char *rows = malloc(n + 1);
		double *t = malloc(n * sizeof *t);
		CHECK(pos != NULL && rows != NULL && t != NULL);
		long p = (long)(tu_rng_next(&r) % 1000);
		size_t regular = 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t k = tu_rng_next(&r) % 10;
			long step = k < 7 ? 1 : (long)(tu_rng_next(&r) % 40) + 2;
			p += i == 0 ? 0 : step;
			regular += i > 0 && step == 1;
			pos[i] = p;
			t[i] = 1695286800.0 + 60.0 * (double)p;
			uint64_t c = tu_rng_next(&r) % 8;
			rows[i] = c < 4 ? '.' : c < 6 ? '+' : c < 7 ? '-' : 'n';
		}
		rows[n] = '\0';
		if (regular * 2 <= n - 1) { /* not a grid by the majority rule: skip */
			free(pos);
			free(rows);
			free(t);
			continue;
		}
		struct fx f;
		fx_make(&f, t, rows);
		for (size_t i = 0; i < n; i++)
			f.d.score[i] = (double)(tu_rng_next(&r) % 5); /* ties happen */
		fx_find(&f, 0);
		CHECK(f.ev.step == 60.0);
		/* the reference */
		char expect[8192];
		size_t len = 0, k = 0;
		expect[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			if (f.d.anomaly[i]) {
				size_t j = i, peak = i;
				while (j + 1 < n && f.d.anomaly[j + 1] && pos[j + 1] == pos[j] + 1) {
					j++;
					if (f.d.score[j] > f.d.score[peak])
						peak = j;
				}
				int down = isnan(f.d.observed[peak]) || f.d.observed[peak] < 10.0;
				len += (size_t)snprintf(expect + len, sizeof expect - len,
				                        "%s%s %zu-%zu p%zu n%zu", k++ ? ", " : "",
				                        down ? "down" : "up", i, j, peak, j - i + 1);
				if (j + 1 < n && pos[j + 1] > pos[j] + 1)
					len += (size_t)snprintf(expect + len, sizeof expect - len,
					                        ", gap %zu-%zu n%ld", j, j + 1,
					                        pos[j + 1] - pos[j] - 1);
				i = j;
			} else if (i + 1 < n && pos[i + 1] > pos[i] + 1) {
				len += (size_t)snprintf(expect + len, sizeof expect - len,
				                        "%sgap %zu-%zu n%ld", k++ ? ", " : "", i, i + 1,
				                        pos[i + 1] - pos[i] - 1);
			}
		}
		CHECK(len < sizeof expect - 1);
		want(&f, expect);
		fx_free(&f);
		free(pos);
		free(rows);
		free(t);
	}
}

/*
 * events_find() (one pass that assumes the first spacing is the grid's) gives
 * exactly what the definition gives: events_grid_step(), then a plain scan.
 * Families: the first spacing the grid's; the first spacing a hole; a
 * one-minute start under a five-minute majority; instants with milliseconds
 * (spacings equal to the millisecond, not bit for bit); irregular; and small
 * caps (the scan stops early and must still count every spacing).
 */
static void test_speculation(void)
{
	struct tu_rng r = {0x5BEC0001ull};
	for (int round = 0; round < 600; round++) {
		int family = round % 5;
		size_t n = 3 + tu_rng_next(&r) % 150;
		char *rows = malloc(n + 1);
		double *t = malloc(n * sizeof *t);
		CHECK(rows != NULL && t != NULL);
		double x = 1695286800.0 + (family == 3 ? 0.123 : 0.0);
		for (size_t i = 0; i < n; i++) {
			uint64_t k = tu_rng_next(&r) % 10;
			double sp = 60.0;
			if (family == 1 && i == 1)
				sp = 180.0;
			else if (family == 2)
				sp = i == 1 ? 60.0 : k < 7 ? 300.0 : 60.0 * (double)(1 + k);
			else if (family == 4)
				sp = (double)(tu_rng_next(&r) % 100000) / 1000.0;
			else if (k >= 8)
				sp = 60.0 * (double)(2 + tu_rng_next(&r) % 5);
			if (i > 0)
				x += sp;
			t[i] = x;
			uint64_t c = tu_rng_next(&r) % 6;
			rows[i] = c < 3 ? '.' : c < 4 ? '+' : c < 5 ? '-' : 'n';
		}
		rows[n] = '\0';
		struct fx f;
		fx_make(&f, t, rows);
		size_t cap = round % 7 == 0 ? 1 + tu_rng_next(&r) % 5 : 0;
		fx_find(&f, cap);
		struct events g;
		memset(&g, 0, sizeof g);
		g.step = events_grid_step(t, n);
		size_t odd;
		CHECK(scan(&g, f.s, &f.d, n, cap ? cap : EVENTS_MAX, g.step, 0, &odd) == 0);
		CHECKF(f.ev.step == g.step && f.ev.n == g.n && f.ev.truncated == g.truncated,
		       "round %d (family %d): step %g/%g, %zu/%zu events, truncated %d/%d", round,
		       family, f.ev.step, g.step, f.ev.n, g.n, f.ev.truncated, g.truncated);
		for (size_t k = 0; k < g.n; k++) {
			const struct event *a = &f.ev.ev[k], *b = &g.ev[k];
			CHECKF(a->kind == b->kind && a->first == b->first && a->last == b->last &&
			               a->peak == b->peak && a->rows == b->rows && a->start == b->start &&
			               a->end == b->end,
			       "round %d event %zu differs", round, k);
		}
		if (family == 2)
			CHECK(g.step == 300.0 || g.step == 0.0);
		events_release(&g);
		fx_free(&f);
		free(rows);
		free(t);
	}
}

int main(void)
{
	test_runs();
	test_up_down();
	test_gaps();
	test_grid();
	test_cap_and_hostile();
	test_format();
	test_random_vs_positions();
	test_speculation();
	return 0;
}
