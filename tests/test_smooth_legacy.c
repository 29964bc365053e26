/*
 * test_smooth_legacy: the legacy smoothing kernel.
 *  - It reproduces the old service's values on upstream/shallow_outliers_test_data.json
 *    (239 rows, metric "bytes"): golden smoothed[0..2] and smoothed[238] from the old
 *    Python code, within 1e-9 relative (the brief allows 1e-6).
 *  - The window rule for a few n; one row smooths to itself (the old kernel divided by
 *    zero there); two rows use [1, 1/4, 1]/2.25; a constant stays constant.
 *  - The linear-time kernel equals the old direct sum (tests/oracle/smooth_legacy_ref.c)
 *    within TOL of the row's scale, where the scale is the kernel applied to |x| (the
 *    weighted mean magnitude of the window: both sums round relative to it), for the
 *    rule's h at n = 1..600 and 10,000 / 30,000, and for given h (0, 1, 2, h = n - 1,
 *    h = n, h > n, h >> n) on random, multi-scale, alternating, constant, zero, step
 *    and spike series. Measured worst over these cases: 5.2e-14; TOL = 1e-12.
 *  - Isolation of rounding: a spike of 1e300 among ones leaves the rows whose window
 *    does not reach it exactly 1 (a sliding sum that subtracted it again would not).
 */
#include <math.h>
#include <stdlib.h>

#include "oracle/smooth_legacy_ref.h"
#include "rb/detect/detector.h"
#include "rb/input/series.h"
#include "testutil.h"

#define TOL 1e-12

static int close_rel(double a, double b, double rel)
{
	return fabs(a - b) <= rel * fabs(b);
}

static double worst; /* the largest error seen, in units of the row's scale */

/* smooth_legacy_h against the oracle for x[n] and half-width h. */
static void against_oracle(const double *x, size_t n, size_t h, const char *what)
{
	double *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
	double *ax = malloc(n * sizeof *ax), *scale = malloc(n * sizeof *scale);
	CHECK(got != NULL && want != NULL && ax != NULL && scale != NULL);
	struct rb_err err = {0};
	CHECKF(smooth_legacy_h(x, n, h, got, &err) == RB_OK, "%s", err.msg);
	smooth_legacy_ref_h(x, n, h, want);
	for (size_t i = 0; i < n; i++)
		ax[i] = fabs(x[i]);
	smooth_legacy_ref_h(ax, n, h, scale);
	for (size_t i = 0; i < n; i++) {
		double e = fabs(got[i] - want[i]);
		CHECKF(isfinite(got[i]) && e <= TOL * scale[i],
		       "%s: n %zu h %zu row %zu: got %.17g want %.17g (scale %.3g)", what, n, h, i,
		       got[i], want[i], scale[i]);
		if (scale[i] > 0 && e / scale[i] > worst)
			worst = e / scale[i];
	}
	free(got);
	free(want);
	free(ax);
	free(scale);
}

enum shape { RANDOM, MULTISCALE, ALTERNATING, CONSTANT, ZERO, STEP, SPIKE, NSHAPES };
static const char *const shape_names[] = {"random", "multiscale", "alternating", "constant",
                                          "zero", "step", "spike"};

static void fill(double *x, size_t n, enum shape s, struct tu_rng *r)
{
	for (size_t i = 0; i < n; i++) {
		double u = tu_rng_unit(r);
		switch (s) {
		case RANDOM:
			x[i] = 1000.0 + 300.0 * sin((double)i / 50.0) + 100.0 * (u - 0.5);
			break;
		case MULTISCALE: /* 1e-3 .. 1e12, either sign */
			x[i] = (u < 0.5 ? -1.0 : 1.0) * pow(10.0, -3.0 + 15.0 * tu_rng_unit(r));
			break;
		case ALTERNATING:
			x[i] = (i % 2 ? -1.0 : 1.0) * 1e15 + u;
			break;
		case CONSTANT:
			x[i] = -3.25e14;
			break;
		case ZERO:
			x[i] = 0.0;
			break;
		case STEP:
			x[i] = i < n / 2 ? 5.0 : 5e9;
			break;
		case SPIKE:
			x[i] = i == n / 3 ? 1e300 : 1.0;
			break;
		default:
			CHECK(0);
		}
	}
}

static void golden(void)
{
	size_t len;
	char *json = tu_read_file(tu_shared("upstream/shallow_outliers_test_data.json"), &len);
	struct series *s = NULL;
	struct rb_err err = {0};
	CHECKF(series_parse(&s, json, len, NULL, &err) == RB_OK, "%s", err.msg);
	CHECK(s->n == 239);
	long c = series_col(s, "bytes");
	CHECK(c >= 0);
	double x[239], out[239];
	for (size_t i = 0; i < 239; i++) {
		x[i] = series_value(s, i, (size_t)c);
		CHECK(isfinite(x[i]));
	}
	CHECK(smooth_legacy(x, 239, out, &err) == RB_OK);
	const double want[4] = {1061260991.875862, 1024729747.3103448, 943997967.4896551,
	                        425650114.99310344};
	CHECKF(close_rel(out[0], want[0], 1e-9), "%.9f", out[0]);
	CHECKF(close_rel(out[1], want[1], 1e-9), "%.9f", out[1]);
	CHECKF(close_rel(out[2], want[2], 1e-9), "%.9f", out[2]);
	CHECKF(close_rel(out[238], want[3], 1e-9), "%.9f", out[238]);
	against_oracle(x, 239, smooth_legacy_halfwidth(239), "golden");
	series_free(s);
	free(json);
}

int main(void)
{
	golden();

	/* w = max(int(0.05 n), min(n, int(5 + ln n))) made odd, h = w / 2. */
	CHECK(smooth_legacy_halfwidth(239) == 5);   /* max(11, 10) = 11 */
	CHECK(smooth_legacy_halfwidth(1) == 0);     /* min(1, 5) = 1 */
	CHECK(smooth_legacy_halfwidth(2) == 1);     /* min(2, 5) = 2, made odd: 3 */
	CHECK(smooth_legacy_halfwidth(100) == 4);   /* max(5, 9) = 9 */
	CHECK(smooth_legacy_halfwidth(1000) == 25); /* max(50, 11) = 51 */
	CHECK(smooth_legacy_halfwidth(1000000) == 25000);

	struct rb_err err = {0};
	double one = 7.0, one_out = 0;
	CHECK(smooth_legacy(&one, 1, &one_out, &err) == RB_OK);
	CHECK(one_out == 7.0);
	double two[2] = {1.0, 10.0}, two_out[2];
	CHECK(smooth_legacy(two, 2, two_out, &err) == RB_OK);
	CHECK(close_rel(two_out[0], (1.0 + 0.25 + 10.0) / 2.25, 1e-15));
	CHECK(close_rel(two_out[1], (1.0 + 2.5 + 10.0) / 2.25, 1e-15));
	double k[50], ko[50];
	for (int i = 0; i < 50; i++)
		k[i] = -3.25e14;
	CHECK(smooth_legacy(k, 50, ko, &err) == RB_OK);
	for (int i = 0; i < 50; i++)
		CHECK(close_rel(ko[i], -3.25e14, 1e-12));
	CHECK(smooth_legacy(NULL, 0, NULL, &err) == RB_OK);

	struct tu_rng r = {0x5A00D1E6ACULL};
	size_t cap = 30000;
	double *x = malloc(cap * sizeof *x);
	CHECK(x != NULL);
	/* The rule's h at every n up to 600, then two large n. */
	for (size_t n = 1; n <= 600; n++) {
		enum shape s = (enum shape)(n % NSHAPES);
		fill(x, n, s, &r);
		against_oracle(x, n, smooth_legacy_halfwidth(n), shape_names[s]);
	}
	for (int s = 0; s < NSHAPES; s++) {
		fill(x, 10000, (enum shape)s, &r);
		against_oracle(x, 10000, smooth_legacy_halfwidth(10000), shape_names[s]);
	}
	fill(x, cap, RANDOM, &r);
	against_oracle(x, cap, smooth_legacy_halfwidth(cap), "random");
	/* Given half-widths: window 1 (h 0), the narrowest kernels, and windows wider than n. */
	const size_t ns[] = {1, 2, 3, 7, 64, 257};
	for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
		size_t n = ns[a];
		const size_t hs[] = {0, 1, 2, n - 1, n, n + 1, 2 * n + 3, 10 * n + 17};
		for (size_t b = 0; b < sizeof hs / sizeof hs[0]; b++)
			for (int s = 0; s < NSHAPES; s++) {
				fill(x, n, (enum shape)s, &r);
				against_oracle(x, n, hs[b], shape_names[s]);
			}
	}
	/* h 0 is the identity, bit for bit. */
	fill(x, 100, MULTISCALE, &r);
	double id[100];
	CHECK(smooth_legacy_h(x, 100, 0, id, &err) == RB_OK);
	for (int i = 0; i < 100; i++)
		CHECK(id[i] == x[i]);

	/* A spike of 1e300 does not touch the rows whose window does not reach it. */
	size_t n = 5000, h = smooth_legacy_halfwidth(n); /* 125 */
	fill(x, n, SPIKE, &r);
	double *out = malloc(n * sizeof *out);
	CHECK(out != NULL && smooth_legacy(x, n, out, &err) == RB_OK);
	for (size_t i = 0; i < n; i++) {
		size_t d = i > n / 3 ? i - n / 3 : n / 3 - i;
		if (d > h)
			CHECKF(out[i] == 1.0, "row %zu: %.17g", i, out[i]);
		else
			CHECK(out[i] > 1e295);
	}
	free(out);
	free(x);
	printf("smooth_legacy: worst error against the oracle %.3g of the row's scale\n", worst);
	return 0;
}
