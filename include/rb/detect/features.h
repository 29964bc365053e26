/*
 * rb_features: the deep model's input rows built from a series (CONTRACT
 * §4), their slicing into fixed-length windows, and the rescaling both ways.
 * (Functions are prefixed features_; the header is not "features.h" because
 * that would shadow glibc's <features.h> on the include path.)
 *
 * Column order is the model's: spec->metrics (the metric names, then
 * "granularity") followed by spec->timestamp ("minute", "weekday_0".."6").
 * Per row:
 *   metric       the series value; missing (or no such column) -> 0
 *   granularity  minutes since the previous row; the first row takes the
 *                second's; one row alone -> 0; a duplicate timestamp -> 0
 *   minute       minute of the day, UTC, whole minutes (0..1439)
 *   weekday_K    one-hot, Monday = 0 (UTC). With WEEKDAY_QUIRK the rows of
 *                the smallest weekday present in the series get all zeros
 *                (the old service's encoding, which its models learnt)
 * Rescaled (x): metric and granularity columns tanh(log1p(max(v, 0)) / 32)
 * (a negative value is clamped to 0: log1p is undefined below -1 and traffic
 * counters are never negative), minute / 1440, weekday as is.
 */
#ifndef RB_RB_FEATURES_H
#define RB_RB_FEATURES_H

#include <stddef.h>

#include "rb/model/model.h"
#include "rb/base/error.h"
#include "rb/input/series.h"

struct features {
	size_t n;        /* rows, = series->n */
	size_t C;        /* columns, = spec->n_metrics + spec->n_timestamp */
	size_t n_scaled; /* leading columns rescaled by features_scale (= spec->n_metrics) */
	double *raw;     /* [n * C] before rescaling (what the golden files call features) */
	double *x;       /* [n * C] rescaled: the model's input space */
};

/*
 * Builds the feature rows of s for a model described by spec. RB_E_MODEL when
 * a column name is not one this code knows how to compute (the message names
 * it); RB_E_NOMEM. On failure f is left released.
 */
enum rb_code features_build(struct features *f, const struct series *s,
                            const struct model_spec *spec, struct rb_err *err);

/* Frees the arrays; safe on a zeroed or already released struct. */
void features_release(struct features *f);

/* tanh(log1p(max(v, 0)) / 32), within 2.3e-16 (see features.c); NaN counts as 0. */
double features_scale(double v);

/*
 * out[k] = features_scale(v[k]) for k < n, bit for bit (NaN included: +0),
 * several values at once (SSE2 pairs, or AVX quadruples when the CPU has
 * AVX). v and out may be the same array, not otherwise overlap.
 */
void features_scale_n(const double *v, double *out, size_t n);
/* The same without AVX whatever the CPU (for tests and benchmarks). */
void features_scale_n_baseline(const double *v, double *out, size_t n);

/*
 * Inverse of features_scale: expm1(32 * atanh(y)) with y clipped to the
 * largest double strictly inside (-1, 1), so the result is always finite
 * (at most about 1e260).
 */
double features_descale(double y);

/*
 * Windows of T rows over n rows: starts 0, stride, 2*stride, ... while a
 * whole window fits, plus one final window ending at the last row when the
 * regular ones do not reach it, so every row is covered. 0 when n < T.
 */
size_t features_window_count(size_t n, size_t T, size_t stride);
/* Start row of window w (w < features_window_count(n, T, stride)). */
size_t features_window_start(size_t n, size_t T, size_t stride, size_t w);

/* Copies rows [start, start + T) of f->x as floats into out[T * f->C]. */
void features_slice(const struct features *f, size_t start, size_t T, float *out);

#endif
