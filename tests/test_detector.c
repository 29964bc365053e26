/*
 * test_detector: the default detector (robust_detect) on hand-built series,
 * one case per edge named in the task, each with its documented answer
 * (docs/DEFAULT-DETECTOR.md, "Edge cases"):
 *   0, 1 and 2 rows; constant; all zero; all missing; missing rows; gaps;
 *   irregular spacing; duplicate timestamps; rows out of order; magnitudes
 *   of 1e15; negative values (and shift/scale invariance); a linear trend;
 *   a level shift; daily and weekly seasonality (an anomaly that is only
 *   anomalous for its time of day / day of week); NaN/Inf timestamps.
 * Every case: expected and score finite, score >= 0, anomaly == (score >
 * threshold), missing rows never flagged. Plus determinism (bit-identical
 * outputs on a second run) and monotone sensitivity.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/detector.h"
#include "testutil.h"

#define MAXN 20000

static double x[MAXN], t[MAXN], e[MAXN], sc[MAXN];
static unsigned char an[MAXN];
static double thr;
static struct tu_rng rng = {99};

static double unit(void)
{
	return tu_rng_unit(&rng);
}

static double gauss(void)
{
	double u = unit(), v = unit();
	return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

/* Runs the default detector at the default sensitivity and checks the invariants. */
static size_t run(size_t n, const char *what)
{
	struct rb_err err = {0};
	CHECKF(robust_detect(x, t, n, NAN, e, sc, an, &thr, &err) == RB_OK, "%s: %s", what,
	       err.msg);
	CHECK(thr == robust_threshold(NAN));
	size_t flagged = 0;
	for (size_t i = 0; i < n; i++) {
		CHECKF(isfinite(e[i]), "%s: expected[%zu] = %g", what, i, e[i]);
		CHECKF(isfinite(sc[i]) && sc[i] >= 0, "%s: score[%zu] = %g", what, i, sc[i]);
		CHECKF(an[i] == (sc[i] > thr), "%s: row %zu flag/score mismatch", what, i);
		if (!isfinite(x[i]))
			CHECKF(an[i] == 0 && sc[i] == 0, "%s: missing row %zu flagged", what, i);
		flagged += an[i];
	}
	return flagged;
}

/* Regular grid of n rows, step seconds apart, from a fixed origin. */
static void grid(size_t n, double step)
{
	for (size_t i = 0; i < n; i++)
		t[i] = 1700000000.0 + step * (double)i;
}

static void noise(size_t n, double level, double sd)
{
	for (size_t i = 0; i < n; i++)
		x[i] = level + sd * gauss();
}

/* Only the listed rows are flagged. */
static void only(size_t n, const size_t *rows, size_t k, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		int want = 0;
		for (size_t j = 0; j < k; j++)
			want |= rows[j] == i;
		CHECKF(an[i] == want, "%s: row %zu flagged=%d (score %.2f, thr %.2f, x %g, e %g)", what,
		       i, an[i], sc[i], thr, x[i], e[i]);
	}
}

int main(void)
{
	/* 0 rows: nothing to do, no crash. */
	CHECK(robust_detect(x, t, 0, NAN, e, sc, an, &thr, NULL) == RB_OK);

	/* 1 row: expected = the value, score 0. */
	x[0] = 42.0;
	t[0] = 1700000000.0;
	CHECK(run(1, "one row") == 0);
	CHECK(e[0] == 42.0 && sc[0] == 0.0);

	/* 2 rows, however different: no flag (nothing to compare with). */
	x[0] = 1.0;
	x[1] = 1e12;
	grid(2, 60);
	CHECK(run(2, "two rows") == 0);

	/* Constant and all zero: expected = the value, no flag, score 0. */
	for (size_t i = 0; i < 500; i++)
		x[i] = 123.456;
	grid(500, 60);
	CHECK(run(500, "constant") == 0);
	for (size_t i = 0; i < 500; i++)
		CHECK(e[i] == 123.456 && sc[i] == 0.0);
	memset(x, 0, 500 * sizeof x[0]);
	CHECK(run(500, "all zero") == 0);
	for (size_t i = 0; i < 500; i++)
		CHECK(e[i] == 0.0 && sc[i] == 0.0);

	/* A constant with one spike: the spike alone. */
	for (size_t i = 0; i < 500; i++)
		x[i] = 5.0;
	x[250] = 100.0;
	run(500, "constant + spike");
	only(500, (size_t[]){250}, 1, "constant + spike");

	/* All missing: expected 0, nothing flagged. */
	for (size_t i = 0; i < 100; i++)
		x[i] = NAN;
	CHECK(run(100, "all missing") == 0);

	/* Noise with a spike, some rows missing (NaN): the spike only; missing rows get a
	 * finite expected value near the level. */
	grid(1000, 60);
	noise(1000, 50, 2);
	for (size_t i = 0; i < 1000; i += 37)
		x[i] = NAN;
	x[600] = 90;
	run(1000, "noise + spike + missing");
	only(1000, (size_t[]){600}, 1, "noise + spike + missing");
	CHECK(fabs(e[37] - 50) < 2);

	/* Gaps (skipped empty buckets): a 6-hour hole. */
	noise(2000, 50, 2);
	for (size_t i = 0; i < 2000; i++)
		t[i] = 1700000000.0 + 60.0 * (double)i + (i >= 1000 ? 21600.0 : 0.0);
	x[1500] = 10;
	run(2000, "gap");
	only(2000, (size_t[]){1500}, 1, "gap");

	/* Irregular spacing: 30-90 s jitter. */
	t[0] = 1700000000.0;
	for (size_t i = 1; i < 2000; i++)
		t[i] = t[i - 1] + 30.0 + 60.0 * unit();
	noise(2000, 50, 2);
	x[700] = 80;
	run(2000, "irregular");
	only(2000, (size_t[]){700}, 1, "irregular");

	/* Duplicate timestamps: every instant twice. */
	for (size_t i = 0; i < 2000; i++)
		t[i] = 1700000000.0 + 60.0 * (double)(i / 2);
	noise(2000, 50, 2);
	x[901] = 90;
	run(2000, "duplicates");
	only(2000, (size_t[]){901}, 1, "duplicates");

	/* All rows at one instant: the row index is the time axis. */
	for (size_t i = 0; i < 300; i++)
		t[i] = 1700000000.0;
	noise(300, 50, 2);
	x[150] = 90;
	run(300, "one instant");
	only(300, (size_t[]){150}, 1, "one instant");

	/* Non-finite timestamps: same (row index). */
	t[10] = NAN;
	run(300, "NaN timestamp");
	only(300, (size_t[]){150}, 1, "NaN timestamp");

	/* Rows out of time order give the same per-row answer as sorted rows. */
	grid(1000, 60);
	noise(1000, 50, 2);
	x[444] = 0;
	run(1000, "sorted");
	static double e_sorted[1000], s_sorted[1000];
	memcpy(e_sorted, e, sizeof e_sorted);
	memcpy(s_sorted, sc, sizeof s_sorted);
	for (size_t i = 0; i + 1 < 1000; i += 2) { /* swap neighbours */
		double tt = t[i], xx = x[i];
		t[i] = t[i + 1], x[i] = x[i + 1];
		t[i + 1] = tt, x[i + 1] = xx;
	}
	run(1000, "shuffled");
	for (size_t i = 0; i + 1 < 1000; i += 2) {
		CHECK(e[i] == e_sorted[i + 1] && e[i + 1] == e_sorted[i]);
		CHECK(sc[i] == s_sorted[i + 1] && sc[i + 1] == s_sorted[i]);
	}

	/* Magnitudes of 1e15, negative values: the flags do not depend on units or offset. */
	grid(3000, 300);
	rng.s = 5;
	noise(3000, 0, 1);
	for (size_t i = 0; i < 3000; i++)
		x[i] += sin(2 * M_PI * (double)i / 288.0) * 10.0;
	x[1234] += 9;
	static unsigned char base[3000];
	static double xs[3000];
	memcpy(xs, x, sizeof xs);
	run(3000, "unit scale");
	memcpy(base, an, sizeof base);
	CHECK(an[1234]);
	for (size_t i = 0; i < 3000; i++)
		x[i] = xs[i] * 1e14;
	run(3000, "1e15 scale");
	CHECK(memcmp(base, an, sizeof base) == 0);
	for (size_t i = 0; i < 3000; i++)
		x[i] = xs[i] - 1000.0;
	run(3000, "negative");
	CHECK(memcmp(base, an, sizeof base) == 0);
	for (size_t i = 0; i < 3000; i++)
		x[i] = 1e15 + xs[i] * 1e11; /* huge level, relative noise 1e-4 (at the floor) */
	run(3000, "1e15 level");
	CHECK(an[1234]);
	/* Near-constant: 1e15 with +-1 jitter and a +50 blip is below the relative floor. */
	for (size_t i = 0; i < 3000; i++)
		x[i] = 1e15 + (double)(i % 3);
	x[1500] += 50;
	CHECK(run(3000, "1e15 jitter") == 0);

	/* Linear trend (strong against the noise), a dip in the middle and nothing at the ends. */
	grid(2000, 60);
	noise(2000, 0, 1);
	for (size_t i = 0; i < 2000; i++)
		x[i] += 0.5 * (double)i;
	x[1000] -= 20;
	run(2000, "trend");
	only(2000, (size_t[]){1000}, 1, "trend");

	/* Level shift by 30 sd at row 1000 of 2000 (lasting longer than half the trend window):
	 * the baseline follows the step at once (a rolling median keeps edges): at most the
	 * row at the step is flagged, and the expected value is the new level right after. */
	noise(2000, 100, 1);
	for (size_t i = 1000; i < 2000; i++)
		x[i] += 30;
	CHECK(run(2000, "level shift") <= 1);
	for (size_t i = 0; i < 2000; i++)
		CHECK(!an[i] || i == 1000);
	CHECK(fabs(e[999] - 100) < 3 && fabs(e[1001] - 130) < 3);
	/* A shift that lasts less than half the window (an outage of 60 rows) is flagged whole. */
	noise(2000, 100, 1);
	for (size_t i = 1000; i < 1060; i++)
		x[i] = 0;
	CHECK(run(2000, "outage") == 60);
	for (size_t i = 1000; i < 1060; i++)
		CHECK(an[i]);

	/* Daily seasonality (5-minute rows, 7 days): a night row at the daytime level is an
	 * anomaly although the value is common in the series. */
	size_t n = 7 * 288;
	grid(n, 300);
	rng.s = 11;
	for (size_t i = 0; i < n; i++)
		x[i] = 100 + 80 * sin(2 * M_PI * (double)(i % 288) / 288.0) + 3 * gauss();
	size_t night = 4 * 288 + 216; /* sin = -1: level 20 */
	x[night] = 180;
	run(n, "daily");
	only(n, (size_t[]){night}, 1, "daily");
	CHECK(fabs(e[night] - 20) < 5);

	/* Weekly seasonality (daily rows, 10 weeks, low weekends): a Saturday at the weekday
	 * level is an anomaly. 1700000000 is a Tuesday; day d is a weekend when (d + 1) % 7
	 * is 4 or 5. */
	n = 70;
	grid(n, 86400);
	rng.s = 12;
	for (size_t i = 0; i < n; i++) {
		size_t wd = (i + 1) % 7;
		x[i] = (wd == 4 || wd == 5 ? 200 : 1000) + 20 * gauss();
	}
	size_t sat = 7 * 5 + 3; /* (38 + 1) % 7 = 4 */
	x[sat] = 1000;
	run(n, "weekly");
	only(n, (size_t[]){sat}, 1, "weekly");

	/* On/off traffic (hourly, 10 days): nights near 350 bytes, days around 1e9 with day
	 * levels varying +-30% from day to day and hours +-50% within a day. Non-negative over
	 * 2 orders of magnitude, so it is analysed in log scale: no flag on this normal data;
	 * a night burst to 1e8 is flagged. */
	n = 240;
	grid(n, 3600);
	rng.s = 21;
	for (size_t i = 0; i < n; i++) {
		size_t hour = i % 24, day = i / 24;
		double day_level = 1e9 * (0.7 + 0.6 * (double)((day * 7) % 10) / 9.0);
		x[i] = hour >= 8 && hour < 20 ? day_level * (0.5 + unit()) : 340 + 20 * unit();
	}
	CHECK(run(n, "on/off") == 0);
	size_t burst = 5 * 24 + 2;
	x[burst] = 1e8;
	run(n, "on/off burst");
	only(n, (size_t[]){burst}, 1, "on/off burst");
	CHECK(e[burst] > 100 && e[burst] < 1000); /* expected at night: the night level */

	/* Few rows per period (8-hourly, 16 days, 3 rows a day): a busy row at the same hour
	 * every day is a pattern, not an anomaly; one quiet day at that hour is. */
	n = 48;
	grid(n, 8 * 3600);
	rng.s = 22;
	for (size_t i = 0; i < n; i++)
		x[i] = (i % 3 == 1 ? 600 : 200) + 10 * gauss();
	size_t quiet = 25; /* 25 % 3 == 1 */
	x[quiet] = 200;
	run(n, "8-hourly");
	only(n, (size_t[]){quiet}, 1, "8-hourly");

	/* Determinism: a second run gives bit-identical outputs. */
	n = 10080;
	grid(n, 60);
	rng.s = 3;
	for (size_t i = 0; i < n; i++)
		x[i] = 500 + 200 * sin(2 * M_PI * (double)(i % 1440) / 1440.0) + 10 * gauss();
	x[5000] = 2000;
	run(n, "determinism 1");
	static double e1[10080], s1[10080];
	static unsigned char a1[10080];
	memcpy(e1, e, sizeof e1);
	memcpy(s1, sc, sizeof s1);
	memcpy(a1, an, sizeof a1);
	run(n, "determinism 2");
	CHECK(memcmp(e1, e, sizeof e1) == 0 && memcmp(s1, sc, sizeof s1) == 0 &&
	      memcmp(a1, an, sizeof a1) == 0);
	CHECK(an[5000]);

	/* Sensitivity: a higher one flags a superset; the threshold falls. */
	struct rb_err err = {0};
	double thr_lo, thr_hi;
	CHECK(robust_detect(x, t, n, 0.1, e, sc, a1, &thr_lo, &err) == RB_OK);
	CHECK(robust_detect(x, t, n, 0.9, e, sc, an, &thr_hi, &err) == RB_OK);
	CHECK(thr_hi < thr_lo);
	for (size_t i = 0; i < n; i++)
		CHECK(!a1[i] || an[i]);
	CHECK(robust_threshold(0.0) > robust_threshold(0.5) &&
	      robust_threshold(0.5) > robust_threshold(1.0));
	return 0;
}
