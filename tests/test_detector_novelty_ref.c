/*
 * test_detector_novelty_ref: novelty_detect() (core/detect/detector_novelty.c, the
 * fast path: radix sorts, rank space, Fenwick trees) agrees with its plain-C oracle
 * novelty_detect_reference() (tests/oracle/novelty_ref.c, O(n^2) counts) row for row:
 * anomaly exactly, expected and score within a relative 1e-12 (the same arithmetic:
 * in practice bit for bit), the same threshold. On seeded random series of every
 * shape the method meets: noise with spikes, quantised values (many ties), mostly
 * zeros with bursts, level shifts, a daily cycle over days (the seasonal measure),
 * gaps and irregular steps, duplicate timestamps, NaN and infinite values, rows out
 * of order, non-finite timestamps (the row index as the time axis), 0-3 rows; each
 * at several sensitivities. Also asserts that the cases flag rows at all.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/novelty_ref.h"
#include "rb/detect/detector.h"
#include "testutil.h"

#define MAXN 1200
#define TOL 1e-12

static double x[MAXN], t[MAXN];
static double e1[MAXN], s1[MAXN], e2[MAXN], s2[MAXN];
static unsigned char a1[MAXN], a2[MAXN];
static struct tu_rng rng = {20261205};
static size_t total_flags, total_rows;

static double unit(void)
{
	return tu_rng_unit(&rng);
}

/* Approximately standard normal (sum of 4 uniforms). */
static double gauss(void)
{
	return (unit() + unit() + unit() + unit() - 2.0) * 1.7320508075688772;
}

static int close_enough(double a, double b)
{
	return a == b || fabs(a - b) <= TOL * fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* Both paths on x[n], t[n] at sensitivity sens; every row must agree. */
static void compare(const char *what, size_t n, double sens)
{
	struct rb_err err = {0};
	double th1 = NAN, th2 = NAN;
	CHECKF(novelty_detect(x, t, n, sens, e1, s1, a1, &th1, &err) == RB_OK, "%s", err.msg);
	CHECKF(novelty_detect_reference(x, t, n, sens, e2, s2, a2, &th2, &err) == RB_OK, "%s",
	       err.msg);
	CHECKF(th1 == th2, "%s s=%g: threshold %.17g vs %.17g", what, sens, th1, th2);
	for (size_t i = 0; i < n; i++) {
		CHECKF(a1[i] == a2[i], "%s n=%zu s=%g row %zu: anomaly %d, reference %d (score %.17g / %.17g)",
		       what, n, sens, i, a1[i], a2[i], s1[i], s2[i]);
		CHECKF(close_enough(e1[i], e2[i]), "%s n=%zu s=%g row %zu: expected %.17g, reference %.17g",
		       what, n, sens, i, e1[i], e2[i]);
		CHECKF(close_enough(s1[i], s2[i]), "%s n=%zu s=%g row %zu: score %.17g, reference %.17g",
		       what, n, sens, i, s1[i], s2[i]);
		total_flags += a1[i];
	}
	total_rows += n;
}

static void run_all(const char *what, size_t n)
{
	const double sens[] = {NAN, 0.0, 0.25, 0.5, 0.75, 1.0};
	for (size_t k = 0; k < sizeof sens / sizeof sens[0]; k++)
		compare(what, n, sens[k]);
}

/* Regular one-minute timestamps from a fixed origin. */
static void grid(size_t n, double step)
{
	for (size_t i = 0; i < n; i++)
		t[i] = 1700000000.0 + step * (double)i;
}

/* Shuffles the rows (x and t together). */
static void shuffle(size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(unit() * (double)i);
		double tx = x[i - 1], tt = t[i - 1];
		x[i - 1] = x[j];
		t[i - 1] = t[j];
		x[j] = tx;
		t[j] = tt;
	}
}

static void noise_spikes(size_t n)
{
	grid(n, 60.0);
	for (size_t i = 0; i < n; i++) {
		x[i] = 100.0 + 5.0 * gauss();
		if (unit() < 0.01)
			x[i] += (unit() < 0.5 ? -1.0 : 1.0) * 40.0 * unit();
	}
}

static void quantised(size_t n)
{
	grid(n, 60.0);
	for (size_t i = 0; i < n; i++) {
		x[i] = 0.062 + 0.002 * floor(4.0 * unit());
		if (unit() < 0.02)
			x[i] = 0.134;
		if (unit() < 0.002)
			x[i] = 0.2 + 0.002 * floor(10.0 * unit());
	}
}

static void zeros_bursts(size_t n)
{
	grid(n, 60.0);
	for (size_t i = 0; i < n; i++)
		x[i] = unit() < 0.75 ? 0.0 : floor(1e8 * unit() * unit());
}

static void level_shift(size_t n)
{
	grid(n, 60.0);
	size_t at = n / 3 + (size_t)(unit() * (double)(n / 3));
	for (size_t i = 0; i < n; i++)
		x[i] = (i < at ? 10.0 : 25.0) + gauss();
}

/* Quarter-hour rows over days with a daily cycle and a dip: the seasonal measure runs. */
static void daily(size_t n)
{
	grid(n, 900.0);
	for (size_t i = 0; i < n; i++) {
		double h = fmod(t[i], 86400.0) / 3600.0;
		x[i] = 50.0 + 30.0 * sin(2.0 * 3.14159265358979 * h / 24.0) + 3.0 * gauss();
	}
	size_t at = n - 1 - (size_t)(unit() * (double)(n / 4));
	x[at] -= 25.0;
}

/* Gaps, irregular steps and duplicate timestamps. */
static void gaps(size_t n)
{
	double tt = 1700000000.0;
	for (size_t i = 0; i < n; i++) {
		double u = unit();
		tt += u < 0.05 ? 0.0 : u < 0.1 ? 3600.0 * unit() : u < 0.15 ? 17.0 : 60.0;
		t[i] = tt;
		x[i] = 20.0 + 2.0 * gauss() + (unit() < 0.01 ? 15.0 : 0.0);
	}
}

/* Puts NaN (and some infinite) values on about a tenth of the rows. */
static void holes(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double u = unit();
		if (u < 0.08)
			x[i] = NAN;
		else if (u < 0.1)
			x[i] = u < 0.09 ? INFINITY : -INFINITY;
	}
}

int main(void)
{
	/* 0 to 3 rows, and a constant series */
	for (size_t n = 0; n <= 3; n++) {
		noise_spikes(n);
		run_all("tiny", n);
	}
	grid(500, 60.0);
	for (size_t i = 0; i < 500; i++)
		x[i] = 7.0;
	run_all("constant", 500);

	const size_t sizes[] = {40, 300, 1200};
	for (size_t r = 0; r < 2; r++)
		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			size_t n = sizes[k];
			noise_spikes(n);
			run_all("noise+spikes", n);
			quantised(n);
			run_all("quantised", n);
			zeros_bursts(n);
			run_all("zeros+bursts", n);
			level_shift(n);
			run_all("level shift", n);
			gaps(n);
			run_all("gaps", n);
			noise_spikes(n);
			holes(n);
			run_all("NaN rows", n);
			quantised(n);
			shuffle(n);
			run_all("quantised, out of order", n);
			level_shift(n);
			holes(n);
			shuffle(n);
			run_all("level shift, NaN rows, out of order", n);
			noise_spikes(n);
			t[n / 2] = NAN; /* the row index is the time axis */
			run_all("non-finite timestamp", n);
		}
	/* the seasonal measure: >= 2 days of rows (1000 quarter hours: 10.4 days) */
	daily(1000);
	run_all("daily", 1000);
	daily(1000);
	holes(1000);
	shuffle(1000);
	run_all("daily, NaN rows, out of order", 1000);
	zeros_bursts(1000);
	grid(1000, 900.0);
	run_all("daily zeros+bursts", 1000);

	CHECKF(total_flags > 50, "the cases flag too few rows to test the onsets (%zu)", total_flags);
	printf("novelty fast path = reference on %zu rows (%zu flagged)\n", total_rows, total_flags);
	return 0;
}
