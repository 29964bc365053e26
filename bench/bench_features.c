/*
 * bench_features: CPU time of features_build() for the traffic model's
 * layout (11 metrics + granularity, minute, weekday_0..6; quirk encoding)
 * on 60 rows (1 hour) and 10,080 rows (1 week) of one-minute data, against
 * the same rows written straight from CONTRACT §4 with the C library (libm's
 * tanh and log1p for the rescaling, gmtime_r for minute and weekday,
 * calloc'd matrices), interleaved in one process. Also features_scale_n
 * (best ISA and the SSE2 baseline) against a scalar loop of features_scale
 * over the same 12 * rows values. Checks that the library build agrees (raw
 * bit for bit, rescaled within 4e-16). Per case: median over runs of the
 * mean process CPU time per call, and the ratios library / features_build
 * and scalar / best.
 * Usage: bench_features [runs (default 9)]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "rb/detect/features.h"

static char *metric_names[] = {"flows_per_client", "flows_per_sec_per_client", "pps", "clients",
                               "bytes_per_client", "bps", "flows", "bytes", "fps",
                               "bits_per_sec_per_client", "pkts", "granularity"};
static char *ts_names[] = {"minute", "weekday_0", "weekday_1", "weekday_2", "weekday_3",
                           "weekday_4", "weekday_5", "weekday_6"};

/* ---- the baseline: the feature rows from the contract with the C library ---- */

/*
 * The rows of this layout (metrics 0..10, granularity, minute, weekday_0..6,
 * quirk encoding) as CONTRACT §4 states them: metric or 0; minutes since the
 * previous row (the first takes the second's); minute of day and weekday
 * (Monday 0) by gmtime_r; the quirk's smallest weekday present all zeros;
 * tanh(log1p(max(v, 0)) / 32) for the first 12 columns, minute / 1440.
 */
static void lib_features_build(const struct series *s, double **raw_out, double **x_out)
{
	const size_t C = 20, n = s->n;
	long src[11];
	for (size_t c = 0; c < 11; c++)
		src[c] = series_col(s, metric_names[c]);
	double *raw = calloc(n * C, sizeof *raw), *x = calloc(n * C, sizeof *x);
	int *wday = malloc((n > 0 ? n : 1) * sizeof *wday);
	if (raw == NULL || x == NULL || wday == NULL)
		exit(1);
	int dropped = 7;
	for (size_t i = 0; i < n; i++) {
		time_t sec = (time_t)floor(s->t[i]);
		struct tm tm;
		if (gmtime_r(&sec, &tm) == NULL)
			exit(1);
		wday[i] = (tm.tm_wday + 6) % 7;
		dropped = wday[i] < dropped ? wday[i] : dropped;
		raw[i * C + 12] = (double)(tm.tm_hour * 60 + tm.tm_min);
	}
	for (size_t i = 0; i < n; i++) {
		double *r = raw + i * C, *y = x + i * C;
		for (size_t c = 0; c < 11; c++)
			if (src[c] >= 0 && s->present[i * s->ncols + (size_t)src[c]])
				r[c] = s->values[i * s->ncols + (size_t)src[c]];
		if (n >= 2)
			r[11] = (s->t[i > 0 ? i : 1] - s->t[i > 0 ? i - 1 : 0]) / 60.0;
		if (wday[i] != dropped)
			r[13 + wday[i]] = 1.0;
		for (size_t c = 0; c < 12; c++)
			y[c] = tanh(log1p(r[c] > 0.0 ? r[c] : 0.0) / 32.0);
		y[12] = r[12] / 1440.0;
		memcpy(y + 13, r + 13, 7 * sizeof *y);
	}
	free(wday);
	*raw_out = raw;
	*x_out = x;
}

/* ---- inputs ---- */

/* n one-minute rows from 2023-09-21T09:00Z, 11 columns in the model's order, fixed seed. */
static struct series *make_series(size_t n)
{
	struct series *s;
	struct rb_err err;
	if (series_alloc(&s, n, 11, &err) != RB_OK)
		exit(1);
	uint64_t seed = 0x2545F4914F6CDD1Dull;
	for (size_t c = 0; c < 11; c++) {
		s->names[c] = strdup(metric_names[c]);
		if (s->names[c] == NULL)
			exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		s->t[i] = 1695286800.0 + 60.0 * (double)i;
		for (size_t c = 0; c < 11; c++) {
			double u = bench_unit(&seed);
			/* counters and means over 1e-4 .. 1e9, a few zeros */
			s->values[i * 11 + c] =
			        bench_next(&seed) % 50 == 0 ? 0.0 : pow(10.0, -4.0 + 13.0 * u);
			s->present[i * 11 + c] = 1;
		}
	}
	return s;
}

int main(int argc, char **argv)
{
	int runs = bench_runs_arg(argc, argv, 9, "bench_features");
	struct model_spec sp;
	memset(&sp, 0, sizeof sp);
	sp.n_metrics = 12;
	sp.metrics = metric_names;
	sp.n_timestamp = 8;
	sp.timestamp = ts_names;
	sp.weekday = WEEKDAY_QUIRK;

	static const struct {
		const char *name;
		size_t rows;
		int iters;
	} cases[] = {{"1 hour (60 rows)", 60, 2000}, {"1 week (10,080 rows)", 10080, 12}};
	printf("| rows | library build µs | features_build µs | library / build | scalar scale µs | "
	       "scale_n SSE2 µs | scale_n best µs | scalar / best |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		size_t n = cases[k].rows;
		int iters = cases[k].iters;
		struct series *s = make_series(n);
		struct features f;
		struct rb_err err;
		double *raw, *x;
		if (features_build(&f, s, &sp, &err) != RB_OK) {
			fprintf(stderr, "bench_features: %s\n", err.msg);
			return 1;
		}
		lib_features_build(s, &raw, &x);
		int agree = memcmp(raw, f.raw, n * 20 * sizeof *raw) == 0;
		for (size_t k = 0; k < n * 20; k++)
			agree = agree && fabs(x[k] - f.x[k]) <= 4e-16;
		if (!agree) {
			fprintf(stderr, "bench_features: the library build and features_build differ\n");
			return 1;
		}
		free(raw);
		free(x);
		double *in = malloc(n * 12 * sizeof *in), *out = malloc(n * 12 * sizeof *out);
		if (in == NULL || out == NULL)
			return 1;
		for (size_t i = 0; i < n; i++)
			memcpy(in + i * 12, f.raw + i * 20, 12 * sizeof *in);
		features_release(&f);

		double *t_lib = malloc(5 * (size_t)runs * sizeof *t_lib);
		if (t_lib == NULL)
			return 1;
		double *t_new = t_lib + runs, *t_sc = t_new + runs, *t_sse = t_sc + runs,
		       *t_best = t_sse + runs;
		volatile double sink = 0.0;
		for (int r = 0; r < runs; r++) {
			double t0 = bench_cpu_us();
			for (int it = 0; it < iters; it++) {
				lib_features_build(s, &raw, &x);
				sink += x[n * 20 - 1];
				free(raw);
				free(x);
			}
			double t1 = bench_cpu_us();
			for (int it = 0; it < iters; it++) {
				if (features_build(&f, s, &sp, &err) != RB_OK)
					return 1;
				sink += f.x[n * 20 - 1];
				features_release(&f);
			}
			double t2 = bench_cpu_us();
			for (int it = 0; it < iters; it++) {
				for (size_t j = 0; j < n * 12; j++)
					out[j] = features_scale(in[j]);
				sink += out[it % (n * 12)];
			}
			double t3 = bench_cpu_us();
			for (int it = 0; it < iters; it++) {
				features_scale_n_baseline(in, out, n * 12);
				sink += out[it % (n * 12)];
			}
			double t4 = bench_cpu_us();
			for (int it = 0; it < iters; it++) {
				features_scale_n(in, out, n * 12);
				sink += out[it % (n * 12)];
			}
			double t5 = bench_cpu_us();
			t_lib[r] = (t1 - t0) / iters;
			t_new[r] = (t2 - t1) / iters;
			t_sc[r] = (t3 - t2) / iters;
			t_sse[r] = (t4 - t3) / iters;
			t_best[r] = (t5 - t4) / iters;
		}
		size_t nr = (size_t)runs;
		double ml = bench_median(t_lib, nr), mn = bench_median(t_new, nr),
		       ms = bench_median(t_sc, nr), m2 = bench_median(t_sse, nr),
		       mb = bench_median(t_best, nr);
		printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", cases[k].name, ml,
		       mn, ml / mn, ms, m2, mb, ms / mb);
		(void)sink;
		free(t_lib);
		free(in);
		free(out);
		series_free(s);
	}
	return 0;
}
