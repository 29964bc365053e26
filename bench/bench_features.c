/*
 * bench_features: CPU time of features_build() for the traffic model's
 * layout (11 metrics + granularity, minute, weekday_0..6; quirk encoding)
 * on 60 rows (1 hour) and 10,080 rows (1 week) of one-minute data, against
 * the row loop it replaced (old_build: scalar features_scale, fmod weekday,
 * calloc'd matrices; a copy kept here as the baseline), interleaved in one
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

#include "rb_features.h"

static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static char *metric_names[] = {"flows_per_client", "flows_per_sec_per_client", "pps", "clients",
                               "bytes_per_client", "bps", "flows", "bytes", "fps",
                               "bits_per_sec_per_client", "pkts", "granularity"};
static char *ts_names[] = {"minute", "weekday_0", "weekday_1", "weekday_2", "weekday_3",
                           "weekday_4", "weekday_5", "weekday_6"};

/* ---- the baseline: features_build as of commit 71a5065, for this layout ---- */

static double old_scale(double v)
{
	if (!(v > 0.0))
		v = 0.0;
	if (v < 1e-3)
		return tanh(log1p(v) / 32.0);
	double u = sqrt(sqrt(sqrt(sqrt(1.0 + v))));
	return (u - 1.0) / (u + 1.0);
}

static int old_weekday_of(double t)
{
	double d = fmod(floor(t / 86400.0) + 3.0, 7.0);
	if (d < 0)
		d += 7.0;
	return (int)d;
}

static double old_minute_of_day(double t)
{
	double sec = t - floor(t / 86400.0) * 86400.0;
	double m = floor(sec / 60.0);
	return m > 1439.0 ? 1439.0 : (m < 0.0 ? 0.0 : m);
}

static void old_build(const struct series *s, double **raw_out, double **x_out)
{
	const size_t C = 20, M = 12, n = s->n;
	double *raw = calloc(n * C, sizeof *raw), *x = calloc(n * C, sizeof *x);
	if (raw == NULL || x == NULL)
		exit(1);
	int dropped_day = 7;
	for (size_t i = 0; i < n; i++) {
		int wd = old_weekday_of(s->t[i]);
		if (wd < dropped_day)
			dropped_day = wd;
	}
	for (size_t i = 0; i < n; i++) {
		double gran = 0.0;
		if (n >= 2) {
			size_t a = i > 0 ? i - 1 : 0, b = i > 0 ? i : 1;
			gran = (s->t[b] - s->t[a]) / 60.0;
		}
		int wd = old_weekday_of(s->t[i]);
		for (size_t c = 0; c < C; c++) {
			double v = 0.0;
			if (c + 1 < M) {
				if (s->present[i * s->ncols + c])
					v = s->values[i * s->ncols + c];
			} else if (c + 1 == M) {
				v = gran;
			} else if (c == M) {
				v = old_minute_of_day(s->t[i]);
			} else {
				v = (wd == (int)(c - M - 1) && wd != dropped_day) ? 1.0 : 0.0;
			}
			raw[i * C + c] = v;
			if (c < M)
				x[i * C + c] = old_scale(v);
			else if (c == M)
				x[i * C + c] = v / 1440.0;
			else
				x[i * C + c] = v;
		}
	}
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
			double u = (double)(next(&seed) >> 11) / 9007199254740992.0;
			/* counters and means over 1e-4 .. 1e9, a few zeros */
			s->values[i * 11 + c] = next(&seed) % 50 == 0 ? 0.0 : pow(10.0, -4.0 + 13.0 * u);
			s->present[i * 11 + c] = 1;
		}
	}
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
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
		old_build(s, &raw, &x);
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
			double t0 = cpu_us();
			for (int it = 0; it < iters; it++) {
				old_build(s, &raw, &x);
				sink += x[n * 20 - 1];
				free(raw);
				free(x);
			}
			double t1 = cpu_us();
			for (int it = 0; it < iters; it++) {
				if (features_build(&f, s, &sp, &err) != RB_OK)
					return 1;
				sink += f.x[n * 20 - 1];
				features_release(&f);
			}
			double t2 = cpu_us();
			for (int it = 0; it < iters; it++) {
				for (size_t j = 0; j < n * 12; j++)
					out[j] = features_scale(in[j]);
				sink += out[it % (n * 12)];
			}
			double t3 = cpu_us();
			for (int it = 0; it < iters; it++) {
				features_scale_n_baseline(in, out, n * 12);
				sink += out[it % (n * 12)];
			}
			double t4 = cpu_us();
			for (int it = 0; it < iters; it++) {
				features_scale_n(in, out, n * 12);
				sink += out[it % (n * 12)];
			}
			double t5 = cpu_us();
			t_old[r] = (t1 - t0) / iters;
			t_new[r] = (t2 - t1) / iters;
			t_sc[r] = (t3 - t2) / iters;
			t_sse[r] = (t4 - t3) / iters;
			t_best[r] = (t5 - t4) / iters;
		}
		double mo = median(t_old, runs), mn = median(t_new, runs), ms = median(t_sc, runs),
		       m2 = median(t_sse, runs), mb = median(t_best, runs);
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
