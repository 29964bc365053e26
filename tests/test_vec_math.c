/*
 * model_vec's branch-free elementwise functions against libm in double:
 * exp over its unclamped range, sigmoid and tanh over the range an LSTM
 * gate sees and beyond (where they saturate), erf and the GELU built on it.
 * Tolerances are the bounds model_vec.c states (exp relative 2e-7; erf
 * absolute 1.5e-7 from Abramowitz & Stegun 7.1.26) plus float rounding of
 * the result. The file is included so that its static functions are
 * reachable; the forward itself is tested through the library build in
 * test_infer_vec.
 */
#include "core/model/model_vec.c"

#include <stdio.h>

#include "testutil.h"

/* Worst error of f against ref over [lo, hi] in n steps; relative when rel. */
static double worst(float (*f)(float), double (*ref)(double), double lo, double hi, size_t n, int rel,
                    double *at)
{
	double w = 0.0;
	for (size_t k = 0; k <= n; k++) {
		float x = (float)(lo + (hi - lo) * (double)k / (double)n);
		double want = ref((double)x), got = (double)f(x);
		double e = fabs(got - want) / (rel ? fabs(want) : 1.0);
		if (!(e <= w)) {
			w = e;
			*at = x;
		}
	}
	return w;
}

static float f_exp(float x) { return exp_approx(x); }
static float f_sigmoid(float x) { return sigmoid_approx(x); }
static float f_tanh(float x) { return tanh_approx(x); }
static float f_erf(float x) { return erf_approx(x); }
static float f_gelu(float x)
{
	float v = x;
	activate(&v, 1, 1, ACT_GELU);
	return v;
}
static double d_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double d_gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

static void expect(const char *name, float (*f)(float), double (*ref)(double), double lo, double hi,
                   size_t n, int rel, double tol)
{
	double at = 0.0;
	double w = worst(f, ref, lo, hi, n, rel, &at);
	printf("%-8s max error %.3g at %g (tolerance %.3g)\n", name, w, at, tol);
	CHECKF(w <= tol, "%s: error %g at x = %g > %g", name, w, at, tol);
}

int main(void)
{
	expect("exp", f_exp, exp, -87.0, 88.0, 2000000, 1, 3e-7);
	expect("exp", f_exp, exp, -1.0, 1.0, 200000, 1, 3e-7);
	expect("sigmoid", f_sigmoid, d_sigmoid, -100.0, 100.0, 2000000, 0, 2e-7);
	expect("tanh", f_tanh, tanh, -50.0, 50.0, 2000000, 0, 3e-7);
	/* 1.5e-7 in exact arithmetic; in float, 1 - p·t·e cancels near 0 (measured 5.5e-7 at -0.024) */
	expect("erf", f_erf, erf, -8.0, 8.0, 2000000, 0, 7e-7);
	/* GELU = 0.5·x·(1 + erf): the erf error is scaled by |x|/2 */
	expect("gelu", f_gelu, d_gelu, -6.0, 6.0, 1000000, 0, 1e-6);

	/* Clamps: saturation, no inf or NaN, and NaN input does not make the int conversion undefined. */
	CHECK(exp_approx(-1000.0f) >= 0.0f && exp_approx(-1000.0f) < 1e-37f);
	CHECK(isfinite(exp_approx(1000.0f)) && exp_approx(1000.0f) > 1e38f);
	CHECK(isfinite(exp_approx(NAN)));
	CHECK(sigmoid_approx(-1e30f) == 0.0f || sigmoid_approx(-1e30f) < 1e-37f);
	CHECK(sigmoid_approx(1e30f) == 1.0f);
	CHECK(tanh_approx(1e30f) == 1.0f && tanh_approx(-1e30f) == -1.0f);
	CHECK(erf_approx(1e30f) == 1.0f && erf_approx(-1e30f) == -1.0f);
	CHECK(erf_approx(0.0f) == 0.0f || fabsf(erf_approx(0.0f)) < 2e-7f);

	/* softmax rows sum to 1 and match the double computation */
	float row[7] = {0.5f, -3.0f, 10.0f, 2.25f, 0.0f, -80.0f, 9.5f};
	double d[7], mx = 10.0, sum = 0.0;
	for (int c = 0; c < 7; c++)
		sum += d[c] = exp((double)row[c] - mx);
	activate(row, 1, 7, ACT_SOFTMAX);
	double total = 0.0;
	for (int c = 0; c < 7; c++) {
		total += row[c];
		CHECKF(fabs(row[c] - d[c] / sum) < 1e-7, "softmax column %d: %g vs %g", c, (double)row[c], d[c] / sum);
	}
	CHECK(fabs(total - 1.0) < 1e-6);
	return 0;
}
