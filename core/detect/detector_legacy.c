/*
 * detector_legacy: the old service's default detector (CONTRACT §6), kept
 * selectable as "iforest-legacy" and used as the evaluation baseline.
 *
 * Per row: smoothed value (core/detect/smooth_legacy.c), features [smoothed,
 * |x - smoothed|, sign(x - smoothed), sin(2 pi hour/24), cos(2 pi weekday/7)]
 * (UTC; hour includes minutes/60, weekday Mon=0 includes hour/24), an
 * isolation forest (core/detect/iforest.c: 100 trees, 256-row subsamples, seed 42),
 * offset = 1st percentile of -score (contamination 0.01), moved to
 * sensitivity*(1 + offset) - 1, and a row is flagged when
 * -score - moved offset < 0.
 * Deliberate differences from the old code, for robustness only: a missing
 * value is linearly interpolated from its finite neighbours before smoothing
 * and is never flagged; one row smooths to itself (the old kernel divided by
 * zero) and gets score 0.5 (no forest on one row), never a flag; a series
 * with no finite value yields expected 0 and no flag; a smoothed value that
 * overflows (inputs near 1e308) is replaced by the observed value so the
 * output stays finite. Not here: the new default detector
 * (core/detect/detector_robust.c).
 */
#include <math.h>
#include <stdlib.h>

#include "rb/detect/detector.h"

#define LEGACY_TREES 100
#define LEGACY_SAMPLES 256
#define LEGACY_SEED 42
#define LEGACY_CONTAMINATION 0.01
#define LEGACY_FEATURES 5

/* Fills y[n] from x[n]: finite values copied, gaps interpolated linearly, ends held. */
static size_t fill_missing(const double *x, size_t n, double *y)
{
	size_t nfinite = 0;
	long prev = -1;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			continue;
		nfinite++;
		y[i] = x[i];
		if (prev < 0) {
			for (size_t j = 0; j < i; j++)
				y[j] = x[i];
		} else {
			for (size_t j = (size_t)prev + 1; j < i; j++) {
				double a = (double)(j - (size_t)prev) / (double)(i - (size_t)prev);
				y[j] = x[prev] + a * (x[i] - x[prev]);
			}
		}
		prev = (long)i;
	}
	if (prev >= 0)
		for (size_t j = (size_t)prev + 1; j < n; j++)
			y[j] = x[prev];
	return nfinite;
}

enum rb_code legacy_detect(const double *x, const double *t, size_t n, double sensitivity,
                           double *expected, double *score, unsigned char *anomaly,
                           double *threshold, struct rb_err *err)
{
	*threshold = 1.0;
	if (n == 0)
		return RB_OK;
	double *filled = malloc(n * sizeof *filled);
	double *feat = malloc(n * LEGACY_FEATURES * sizeof *feat);
	if (filled == NULL || feat == NULL) {
		free(filled);
		free(feat);
		return rb_err_set(err, RB_E_NOMEM, "out of memory for the legacy detector");
	}
	if (fill_missing(x, n, filled) == 0) {
		for (size_t i = 0; i < n; i++) {
			expected[i] = 0.0;
			score[i] = 0.0;
			anomaly[i] = 0;
		}
		free(filled);
		free(feat);
		return RB_OK;
	}
	enum rb_code rc = smooth_legacy(filled, n, expected, err);
	if (rc != RB_OK) {
		free(filled);
		free(feat);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		double *f = feat + i * LEGACY_FEATURES;
		double dev = filled[i] - expected[i];
		double ti = isfinite(t[i]) ? t[i] : 0.0;
		double day = floor(ti / 86400.0);
		double sec = ti - day * 86400.0;
		double hour = floor(sec / 3600.0) + floor(fmod(sec, 3600.0) / 60.0) / 60.0;
		double wd = fmod(day + 3.0, 7.0); /* 1970-01-01 was a Thursday (Mon = 0) */
		if (wd < 0)
			wd += 7.0;
		f[0] = expected[i];
		f[1] = fabs(dev);
		f[2] = (double)((dev > 0) - (dev < 0));
		f[3] = sin(2.0 * M_PI * hour / 24.0);
		f[4] = cos(2.0 * M_PI * (wd + hour / 24.0) / 7.0);
	}
	struct iforest_params p = {.trees = LEGACY_TREES, .max_samples = LEGACY_SAMPLES,
	                           .seed = LEGACY_SEED};
	rc = iforest_score(feat, n, LEGACY_FEATURES, &p, score, err);
	if (rc != RB_OK) {
		free(filled);
		free(feat);
		return rc;
	}
	/* offset_ = percentile(score_samples, 100 * contamination), score_samples = -score. */
	double *neg = filled; /* reuse: the filled values are no longer needed */
	for (size_t i = 0; i < n; i++)
		neg[i] = -score[i];
	double offset = iforest_percentile(neg, n, 100.0 * LEGACY_CONTAMINATION);
	double moved = sensitivity * (1.0 + offset) - 1.0;
	*threshold = -moved;
	for (size_t i = 0; i < n; i++) {
		anomaly[i] = isfinite(x[i]) && (-score[i] - moved < 0.0);
		/* detection.h promises finite output; only values near DBL_MAX overflow the kernel. */
		if (!isfinite(expected[i]))
			expected[i] = isfinite(x[i]) ? x[i] : 0.0;
		if (!isfinite(score[i]))
			score[i] = 0.0;
	}
	free(filled);
	free(feat);
	return RB_OK;
}
