/*
 * bench_features: CPU time of features_build() for the traffic model's
 * layout (11 metrics + granularity, minute, weekday_0..6; quirk encoding)
 * on 60 rows (1 hour) and 10,080 rows (1 week) of one-minute data, against
 * the row loop it replaced (tests/oracle/features_old.inc: scalar
 * features_scale, fmod weekday, calloc'd matrices), interleaved in one
 * process. Also features_scale_n (best ISA and the SSE2 baseline) against a
 * scalar loop of features_scale over the same 12 * rows values. Checks both
 * builds agree bit for bit. Per case: median over runs of the mean process
 * CPU time per call, and the ratio old / new.
 * Usage: bench_features [runs (default 9)]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/oracle/features_old.inc"
#include "bench_util.h"
#include "rb/detect/features.h"

static char *metric_names[] = {"flows_per_client", "flows_per_sec_per_client", "pps", "clients",
                               "bytes_per_client", "bps", "flows", "bytes", "fps",
                               "bits_per_sec_per_client", "pkts", "granularity"};
static char *ts_names[] = {"minute", "weekday_0", "weekday_1", "weekday_2", "weekday_3",
                           "weekday_4", "weekday_5", "weekday_6"};

/* ---- the baseline: features_build as of commit 71a5065 ---- */

/* The old features_build for this layout: its column lookups, calloc'd matrices and row loop. */
static void old_features_build(const struct series *s, const struct model_spec *sp,
                               double **raw_out, double **x_out)
{
	const size_t C = 20, n = s->n;
	long src[11];
	for (size_t c = 0; c < 11; c++)
		src[c] = series_col(s, metric_names[c]);
	double *raw = calloc(n * C, sizeof *raw), *x = calloc(n * C, sizeof *x);
	if (raw == NULL || x == NULL)
		exit(1);
	old_build(s, sp, src, raw, x);
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
	int runs = 9;
	if (argc > 1) {
		char *end;
		long r = strtol(argv[1], &end, 10);
		if (end == argv[1] || *end != '\0' || r < 1 || r > 1000) {
			fprintf(stderr, "usage: bench_features [runs, 1-1000]\n");
			return 2;
		}
		runs = (int)r;
	}
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
	printf("| rows | old build µs | new build µs | old / new | scalar scale µs | "
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
		old_features_build(s, &sp, &raw, &x);
		if (memcmp(raw, f.raw, n * 20 * sizeof *raw) != 0 ||
		    memcmp(x, f.x, n * 20 * sizeof *x) != 0) {
			fprintf(stderr, "bench_features: old and new features differ\n");
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

		double *t_old = malloc(5 * (size_t)runs * sizeof *t_old);
		if (t_old == NULL)
			return 1;
		double *t_new = t_old + runs, *t_sc = t_new + runs, *t_sse = t_sc + runs,
		       *t_best = t_sse + runs;
		volatile double sink = 0.0;
		for (int r = 0; r < runs; r++) {
			double t0 = bench_cpu_us();
			for (int it = 0; it < iters; it++) {
				old_features_build(s, &sp, &raw, &x);
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
			t_old[r] = (t1 - t0) / iters;
			t_new[r] = (t2 - t1) / iters;
			t_sc[r] = (t3 - t2) / iters;
			t_sse[r] = (t4 - t3) / iters;
			t_best[r] = (t5 - t4) / iters;
		}
		size_t nr = (size_t)runs;
		double mo = bench_median(t_old, nr), mn = bench_median(t_new, nr),
		       ms = bench_median(t_sc, nr), m2 = bench_median(t_sse, nr),
		       mb = bench_median(t_best, nr);
		printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", cases[k].name, mo,
		       mn, mo / mn, ms, m2, mb, ms / mb);
		(void)sink;
		free(t_old);
		free(in);
		free(out);
		series_free(s);
	}
	return 0;
}
