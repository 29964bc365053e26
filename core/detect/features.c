/*
 * features: feature rows, windows and rescaling for the deep model (see
 * features.h for the exact rules). Not the model run, the averaging of window
 * outputs (engine.c) or the scoring (score.c).
 */
#include "rb/detect/features.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What one feature column is computed from. */
enum col_kind {
	COL_METRIC,      /* a series column (index in src, or -1 when absent) */
	COL_GRANULARITY, /* minutes since the previous row */
	COL_MINUTE,      /* minute of day, UTC */
	COL_WEEKDAY,     /* one-hot day src (0 = Monday) */
};

struct col_plan {
	enum col_kind kind;
	long src;
};

#define SECONDS_PER_DAY 86400.0

/* Column index of name in s, -1 when no row carries it. */
static long find_series_col(const struct series *s, const char *name)
{
	for (size_t c = 0; c < s->ncols; c++)
		if (strcmp(s->names[c], name) == 0)
			return (long)c;
	return -1;
}

/* Whole days since 1970-01-01 (floor, also before 1970). */
static double epoch_day(double t)
{
	return floor(t / SECONDS_PER_DAY);
}

/*
 * Weekday of the instant whose epoch_day() is day, Monday = 0 (1970-01-01 was
 * a Thursday = 3). Whole days of any real instant are exact in a long long,
 * where % gives what fmod gives on the same whole numbers; fmod is kept for
 * the rest (huge, NaN).
 */
static int weekday_of_day(double day)
{
	if (fabs(day) < 1e15) {
		long long k = ((long long)day + 3) % 7;
		return (int)(k < 0 ? k + 7 : k);
	}
	double d = fmod(day + 3.0, 7.0);
	if (d < 0)
		d += 7.0;
	return (int)d;
}

/* Whole minutes since midnight UTC (0..1439) of instant t, whose epoch_day() is day. */
static double minute_of_day(double t, double day)
{
	double sec = t - day * SECONDS_PER_DAY;
	double m = floor(sec / 60.0);
	return m > 1439.0 ? 1439.0 : (m < 0.0 ? 0.0 : m);
}

/* Maps a timestamp column name to its plan; -1 when unknown. */
static int plan_timestamp_col(const char *name, struct col_plan *p)
{
	if (strcmp(name, "minute") == 0) {
		p->kind = COL_MINUTE;
		p->src = -1;
		return 0;
	}
	if (strncmp(name, "weekday_", 8) == 0 && name[8] >= '0' && name[8] <= '6' &&
	    name[9] == '\0') {
		p->kind = COL_WEEKDAY;
		p->src = name[8] - '0';
		return 0;
	}
	return -1;
}

/*
 * tanh(log1p(v) / 32) = (u - 1) / (u + 1) with u = e^(log1p(v) / 16) =
 * (1 + v)^(1/16), four correctly rounded square roots: about 3x cheaper than
 * tanh and log1p, within 2.3e-16 of them for v >= 1e-3 (test_features).
 * Below that 1 + v would lose v's digits: the libm form (0 -> +0 directly,
 * which is what tanh(log1p(+0) / 32) gives).
 */
double features_scale(double v)
{
	if (!(v > 0.0))
		return 0.0;
	if (v < 1e-3)
		return tanh(log1p(v) / 32.0);
	double u = sqrt(sqrt(sqrt(sqrt(1.0 + v))));
	return (u - 1.0) / (u + 1.0);
}

/*
 * The vector forms of features_scale: the same operations (add, square root,
 * subtract, divide: each correctly rounded by IEEE 754, so the same bits in a
 * vector lane as in a scalar register), then every lane whose clamped input
 * is below 1e-3 redone by features_scale. No FMA is involved (nothing is
 * multiplied), so contraction cannot change a bit either.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SCALE_X86 1

/* in[0..2) to out[0..2); lanes whose clamped input is below 1e-3 go through features_scale. */
static void scale2_sse2(const double *in, double *out)
{
	double keep[2] = {in[0], in[1]}; /* in may be out */
	__m128d v = _mm_loadu_pd(in);
	v = _mm_and_pd(v, _mm_cmpgt_pd(v, _mm_setzero_pd())); /* NaN, <= 0 -> +0 */
	__m128d one = _mm_set1_pd(1.0);
	__m128d u = _mm_sqrt_pd(_mm_sqrt_pd(_mm_sqrt_pd(_mm_sqrt_pd(_mm_add_pd(one, v)))));
	_mm_storeu_pd(out, _mm_div_pd(_mm_sub_pd(u, one), _mm_add_pd(u, one)));
	int small = _mm_movemask_pd(_mm_cmplt_pd(v, _mm_set1_pd(1e-3)));
	for (int k = 0; k < 2; k++)
		if (small & (1 << k))
			out[k] = features_scale(keep[k]);
}

static void scale_n_sse2(const double *in, double *out, size_t n)
{
	size_t k = 0;
	for (; k + 2 <= n; k += 2)
		scale2_sse2(in + k, out + k);
	for (; k < n; k++)
		out[k] = features_scale(in[k]);
}

__attribute__((target("avx"))) static void scale_n_avx(const double *in, double *out, size_t n)
{
	size_t k = 0;
	const __m256d one = _mm256_set1_pd(1.0), lim = _mm256_set1_pd(1e-3);
	for (; k + 4 <= n; k += 4) {
		double keep[4]; /* in may be out */
		memcpy(keep, in + k, sizeof keep);
		__m256d v = _mm256_loadu_pd(in + k);
		v = _mm256_and_pd(v, _mm256_cmp_pd(v, _mm256_setzero_pd(), _CMP_GT_OQ));
		__m256d u = _mm256_sqrt_pd(
		        _mm256_sqrt_pd(_mm256_sqrt_pd(_mm256_sqrt_pd(_mm256_add_pd(one, v)))));
		_mm256_storeu_pd(out + k, _mm256_div_pd(_mm256_sub_pd(u, one), _mm256_add_pd(u, one)));
		int small = _mm256_movemask_pd(_mm256_cmp_pd(v, lim, _CMP_LT_OQ));
		for (int j = 0; j < 4; j++)
			if (small & (1 << j))
				out[k + (size_t)j] = features_scale(keep[j]);
	}
	for (; k < n; k++)
		out[k] = features_scale(in[k]);
}
#else
#define SCALE_X86 0
#endif

void features_scale_n_baseline(const double *v, double *out, size_t n)
{
#if SCALE_X86
	scale_n_sse2(v, out, n);
#else
	for (size_t k = 0; k < n; k++)
		out[k] = features_scale(v[k]);
#endif
}

typedef void (*scale_n_fn)(const double *, double *, size_t);

/* The best features_scale_n implementation this CPU runs. */
static scale_n_fn best_scale_n(void)
{
#if SCALE_X86
	if (__builtin_cpu_supports("avx"))
		return scale_n_avx;
#endif
	return features_scale_n_baseline;
}

void features_scale_n(const double *v, double *out, size_t n)
{
	best_scale_n()(v, out, n);
}

double features_descale(double y)
{
	const double hi = nextafter(1.0, 0.0);
	if (isnan(y))
		y = 0.0;
	if (y > hi)
		y = hi;
	if (y < -hi)
		y = -hi;
	return expm1(32.0 * atanh(y));
}

void features_release(struct features *f)
{
	if (f == NULL)
		return;
	free(f->raw);
	free(f->x);
	memset(f, 0, sizeof *f);
}

enum rb_code features_build(struct features *f, const struct series *s,
                            const struct model_spec *spec, struct rb_err *err)
{
	memset(f, 0, sizeof *f);
	size_t C = spec->n_metrics + spec->n_timestamp;
	size_t n = s->n;
	if (C == 0)
		return rb_err_set(err, RB_E_MODEL, "model has no feature columns");
	struct col_plan *plan = calloc(C, sizeof *plan);
	if (plan == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory for feature columns");

	for (size_t c = 0; c < spec->n_metrics; c++) {
		const char *name = spec->metrics[c];
		if (strcmp(name, "granularity") == 0) {
			plan[c].kind = COL_GRANULARITY;
			plan[c].src = -1;
		} else {
			plan[c].kind = COL_METRIC;
			plan[c].src = find_series_col(s, name);
		}
	}
	for (size_t c = 0; c < spec->n_timestamp; c++) {
		if (plan_timestamp_col(spec->timestamp[c], &plan[spec->n_metrics + c]) < 0) {
			free(plan);
			return rb_err_set(err, RB_E_MODEL,
			                  "model timestamp column '%.64s' is not supported "
			                  "(minute, weekday_0..weekday_6)",
			                  spec->timestamp[c]);
		}
	}

	size_t cells = n * C;
	if (n != 0 && cells / n != C) {
		free(plan);
		return rb_err_set(err, RB_E_TOO_LARGE, "too many rows for the feature matrix");
	}
	/* every cell is written below */
	f->raw = malloc((cells > 0 ? cells : 1) * sizeof *f->raw);
	f->x = malloc((cells > 0 ? cells : 1) * sizeof *f->x);
	if (f->raw == NULL || f->x == NULL) {
		free(plan);
		features_release(f);
		return rb_err_set(err, RB_E_NOMEM, "out of memory for %zu feature rows", n);
	}
	f->n = n;
	f->C = C;
	f->n_scaled = spec->n_metrics;

	/* The quirk's dropped day: the smallest weekday present in the series. */
	int dropped_day = -1;
	if (spec->weekday == WEEKDAY_QUIRK) {
		dropped_day = 7;
		for (size_t i = 0; i < n; i++) {
			int wd = weekday_of_day(epoch_day(s->t[i]));
			if (wd < dropped_day)
				dropped_day = wd;
		}
	}

	scale_n_fn scale = best_scale_n(); /* picked once, not per row */
	for (size_t i = 0; i < n; i++) {
		double gran = 0.0;
		if (n >= 2) {
			size_t a = i > 0 ? i - 1 : 0, b = i > 0 ? i : 1;
			gran = (s->t[b] - s->t[a]) / 60.0;
		}
		double day = epoch_day(s->t[i]); /* once a row: the minute and weekday columns */
		int wd = weekday_of_day(day);
		double *raw = f->raw + i * C, *x = f->x + i * C;
		for (size_t c = 0; c < C; c++) {
			double v = 0.0;
			switch (plan[c].kind) {
			case COL_METRIC:
				if (plan[c].src >= 0 && s->present[i * s->ncols + (size_t)plan[c].src])
					v = s->values[i * s->ncols + (size_t)plan[c].src];
				break;
			case COL_GRANULARITY:
				v = gran;
				break;
			case COL_MINUTE:
				v = minute_of_day(s->t[i], day);
				break;
			case COL_WEEKDAY:
				v = (wd == plan[c].src && wd != dropped_day) ? 1.0 : 0.0;
				break;
			}
			raw[c] = v;
			if (c < f->n_scaled)
				continue;
			if (plan[c].kind == COL_MINUTE)
				x[c] = v / 1440.0;
			else
				x[c] = v;
		}
		scale(raw, x, f->n_scaled);
	}
	free(plan);
	return RB_OK;
}

size_t features_window_count(size_t n, size_t T, size_t stride)
{
	if (T == 0 || stride == 0 || n < T)
		return 0;
	size_t regular = (n - T) / stride + 1;
	return (n - T) % stride == 0 ? regular : regular + 1;
}

size_t features_window_start(size_t n, size_t T, size_t stride, size_t w)
{
	size_t regular = (n - T) / stride + 1;
	return w < regular ? w * stride : n - T;
}

void features_slice(const struct features *f, size_t start, size_t T, float *out)
{
	const double *src = f->x + start * f->C;
	for (size_t k = 0; k < T * f->C; k++)
		out[k] = (float)src[k];
}
