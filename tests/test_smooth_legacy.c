/*
 * test_smooth_legacy: the legacy smoothing kernel reproduces the old
 * service's values on upstream/shallow_outliers_test_data.json (239 rows,
 * metric "bytes"): golden smoothed[0..2] and smoothed[238] from the old
 * Python code, within 1e-9 relative (the brief allows 1e-6); the window
 * rule for a few n; one row smooths to itself (the old kernel divided by
 * zero there); two rows use [1, 1/4, 1]/2.25; a constant stays constant.
 */
#include <math.h>
#include <stdlib.h>

#include "rb/detect/detector.h"
#include "rb/input/series.h"
#include "testutil.h"

static int close_rel(double a, double b, double rel)
{
	return fabs(a - b) <= rel * fabs(b);
}

int main(void)
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
	smooth_legacy(x, 239, out);
	const double golden[4] = {1061260991.875862, 1024729747.3103448, 943997967.4896551,
	                          425650114.99310344};
	CHECKF(close_rel(out[0], golden[0], 1e-9), "%.9f", out[0]);
	CHECKF(close_rel(out[1], golden[1], 1e-9), "%.9f", out[1]);
	CHECKF(close_rel(out[2], golden[2], 1e-9), "%.9f", out[2]);
	CHECKF(close_rel(out[238], golden[3], 1e-9), "%.9f", out[238]);

	/* w = max(int(0.05 n), min(n, int(5 + ln n))) made odd, h = w / 2. */
	CHECK(smooth_legacy_halfwidth(239) == 5);   /* max(11, 10) = 11 */
	CHECK(smooth_legacy_halfwidth(1) == 0);     /* min(1, 5) = 1 */
	CHECK(smooth_legacy_halfwidth(2) == 1);     /* min(2, 5) = 2, made odd: 3 */
	CHECK(smooth_legacy_halfwidth(100) == 4);   /* max(5, 9) = 9 */
	CHECK(smooth_legacy_halfwidth(1000) == 25); /* max(50, 11) = 51 */

	double one = 7.0, one_out = 0;
	smooth_legacy(&one, 1, &one_out);
	CHECK(one_out == 7.0);
	double two[2] = {1.0, 10.0}, two_out[2];
	smooth_legacy(two, 2, two_out);
	CHECK(close_rel(two_out[0], (1.0 + 0.25 + 10.0) / 2.25, 1e-15));
	CHECK(close_rel(two_out[1], (1.0 + 2.5 + 10.0) / 2.25, 1e-15));
	double k[50], ko[50];
	for (int i = 0; i < 50; i++)
		k[i] = -3.25e14;
	smooth_legacy(k, 50, ko);
	for (int i = 0; i < 50; i++)
		CHECK(close_rel(ko[i], -3.25e14, 1e-12));
	series_free(s);
	free(json);
	return 0;
}
