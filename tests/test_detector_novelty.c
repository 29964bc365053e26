/*
 * test_detector_novelty: the novelty detector's contract on edge cases
 * (include/rb/detect/detector.h, novelty_detect): 0, 1 and 2 rows; a
 * constant series and an all-zero one (never flagged); all rows missing;
 * missing rows (never flagged, score 0); non-finite timestamps (the row
 * index is the time axis); rows out of order (the same flags, row by row,
 * as in time order); determinism; magnitudes of 1e15 and 1e-9 (scale
 * invariance: the same flags after x -> a x + b); the operating point of
 * the sensitivity (eps and K grow with it) and the threshold = -log10(eps).
 * Every case: expected and score finite, score >= 0, a flagged row has
 * score >= threshold. The failure kinds are test_detector_kinds.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/detector.h"
#include "testutil.h"

#define MAXN 5000

static double x[MAXN], t[MAXN], e[MAXN], sc[MAXN];
static unsigned char an[MAXN];
static double thr;
static struct tu_rng rng = {4242};

/* Runs the detector at its default sensitivity and checks the invariants; returns flags. */
static size_t run(size_t n)
{
	struct rb_err err = {0};
	CHECKF(novelty_detect(x, t, n, NAN, e, sc, an, &thr, &err) == RB_OK, "%s", err.msg);
	CHECK(isfinite(thr) && thr > 0.0);
	size_t flags = 0;
	for (size_t i = 0; i < n; i++) {
		CHECKF(isfinite(e[i]) && isfinite(sc[i]) && sc[i] >= 0.0, "row %zu", i);
		CHECK(an[i] <= 1);
		if (!isfinite(x[i]))
			CHECK(an[i] == 0 && sc[i] == 0.0);
		if (an[i])
			CHECKF(sc[i] >= thr * (1.0 - 1e-9), "row %zu: score %g < %g", i, sc[i], thr);
		flags += an[i];
	}
	return flags;
}

/* A noisy series with a spike at row spike (none when spike >= n), one-minute rows. */
static void noisy(size_t n, size_t spike)
{
	for (size_t i = 0; i < n; i++) {
		t[i] = 1700000000.0 + 60.0 * (double)i;
		x[i] = 50.0 + 4.0 * (tu_rng_unit(&rng) - 0.5);
		if (i == spike)
			x[i] = 90.0;
	}
}

static void small_sizes(void)
{
	struct rb_err err = {0};
	CHECK(novelty_detect(x, t, 0, NAN, e, sc, an, &thr, &err) == RB_OK);
	for (size_t n = 1; n <= 2; n++) {
		noisy(n, 99);
		CHECK(run(n) == 0); /* nothing seen before: nothing novel enough */
	}
}

static void constant_and_zero(void)
{
	for (size_t i = 0; i < 2000; i++) {
		t[i] = 1700000000.0 + 60.0 * (double)i;
		x[i] = 7.25;
	}
	CHECK(run(2000) == 0);
	for (size_t i = 0; i < 2000; i++)
		x[i] = 0.0;
	CHECK(run(2000) == 0);
}

static void missing(void)
{
	for (size_t i = 0; i < 100; i++) {
		t[i] = 1700000000.0 + 60.0 * (double)i;
		x[i] = NAN;
	}
	CHECK(run(100) == 0);
	noisy(2000, 1500);
	for (size_t i = 0; i < 2000; i += 7)
		if (i != 1500)
			x[i] = i % 2 ? NAN : INFINITY;
	CHECK(run(2000) >= 1);
	CHECK(an[1500] == 1);
}

static void index_time_axis(void)
{
	noisy(2000, 1500);
	for (size_t i = 0; i < 2000; i += 3)
		t[i] = NAN;
	CHECK(run(2000) >= 1);
	CHECK(an[1500] == 1);
}

/* Shuffled rows give the same flag and score to each row as in time order. */
static void out_of_order(void)
{
	static double x2[MAXN], t2[MAXN], sc2[MAXN];
	static unsigned char an2[MAXN];
	static size_t perm[MAXN];
	size_t n = 3000;
	noisy(n, 2500);
	run(n);
	memcpy(x2, x, n * sizeof *x);
	memcpy(t2, t, n * sizeof *t);
	memcpy(sc2, sc, n * sizeof *sc);
	memcpy(an2, an, n);
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(tu_rng_unit(&rng) * (double)(i + 1));
		size_t tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (size_t i = 0; i < n; i++) {
		x[i] = x2[perm[i]];
		t[i] = t2[perm[i]];
	}
	run(n);
	for (size_t i = 0; i < n; i++)
		CHECKF(an[i] == an2[perm[i]] && sc[i] == sc2[perm[i]], "row %zu", i);
}

static void deterministic(void)
{
	static double sc2[MAXN];
	static unsigned char an2[MAXN];
	noisy(4000, 3000);
	run(4000);
	memcpy(sc2, sc, 4000 * sizeof *sc);
	memcpy(an2, an, 4000);
	run(4000);
	CHECK(memcmp(sc, sc2, 4000 * sizeof *sc) == 0 && memcmp(an, an2, 4000) == 0);
}

/* x -> a x + b (a > 0) leaves every flag as it was. */
static void scale_invariance(void)
{
	static double base[MAXN];
	static unsigned char an2[MAXN];
	noisy(3000, 2000);
	memcpy(base, x, 3000 * sizeof *x);
	CHECK(run(3000) >= 1 && an[2000] == 1);
	memcpy(an2, an, 3000);
	const double a[] = {1e13, 1e-11, 4.0}, b[] = {1e15, -3e-9, -1000.0};
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < 3000; i++)
			x[i] = a[k] * base[i] + b[k];
		run(3000);
		for (size_t i = 0; i < 3000; i++)
			CHECKF(an[i] == an2[i], "x -> %g x + %g: row %zu", a[k], b[k], i);
	}
}

static void operating_point(void)
{
	double prev_eps = 0.0, prev_k = -1.0;
	for (int i = 0; i <= 10; i++) {
		double eps, kmax;
		novelty_params(0.1 * i, &eps, &kmax);
		CHECK(eps > prev_eps && kmax >= prev_k && eps > 0.0 && eps < 1.0);
		prev_eps = eps;
		prev_k = kmax;
	}
	double eps, kmax, eps_def, kmax_def;
	novelty_params(NAN, &eps, &kmax);
	novelty_params(DETECTOR_NOVELTY_SENSITIVITY, &eps_def, &kmax_def);
	CHECK(eps == eps_def && kmax == kmax_def);
	noisy(100, 999);
	run(100);
	CHECK(fabs(thr + log10(eps)) < 1e-12);
}

int main(void)
{
	small_sizes();
	constant_and_zero();
	missing();
	index_time_axis();
	out_of_order();
	deterministic();
	scale_invariance();
	operating_point();
	return 0;
}
