/*
 * bench_response: time of building the success body, the Jansson reference
 * (tests/oracle/response_ref.c) against the direct writer (core/answer/response.c), on
 * synthetic detections of 60 rows (1 hour), 10,080 rows (1 week) and
 * 100,000 rows, realistic values (traffic bytes with decimals, small
 * scores, 2% anomalies, ISO timestamps on a one-minute grid; both bodies
 * include the events, about one per anomaly here). Per case the median over
 * several runs (same process) of the mean time per body, the ratio, and
 * the time of events_find() alone (part of the direct writer's time).
 * Second table: score_median() (quickselect) against the former qsort
 * median, on one column of the same lengths.
 * Usage: bench_response [runs (default 7)]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "rb/answer/response.h"
#include "rb/detect/detection.h"
#include "rb/detect/events.h"
#include "rb/detect/score.h"
#include "oracle/response_ref.h"
#include "rb/input/series.h"

/* The former score_median(): qsort, then the middle (mean of the two middle ones). */
static double median_qsort(double *v, size_t n)
{
	qsort(v, n, sizeof *v, bench_cmp_double);
	if (n % 2 == 1)
		return v[n / 2];
	return 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Mean µs per median of a fresh copy of src[n] (the copy is included, the same for both). */
static double time_median(double (*med)(double *, size_t), const double *src, double *work,
                          size_t n, int iters, double *result)
{
	double t0 = bench_wall_us();
	for (int k = 0; k < iters; k++) {
		memcpy(work, src, n * sizeof *src);
		*result = med(work, n);
	}
	return (bench_wall_us() - t0) / iters;
}

/* Mean µs per body of one builder, over iters bodies. */
static double time_one(char *(*build)(const struct series *, const struct detection *),
                       const struct series *s, const struct detection *d, int iters,
                       size_t *bytes)
{
	double t0 = bench_wall_us();
	for (int k = 0; k < iters; k++) {
		char *b = build(s, d);
		if (b == NULL) {
			fprintf(stderr, "build failed\n");
			exit(1);
		}
		*bytes = strlen(b);
		free(b);
	}
	return (bench_wall_us() - t0) / iters;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 7; /* bench only: a bad value just means 0 runs */
	if (runs < 1)
		runs = 7;
	static const size_t rows[] = {60, 10080, 100000};
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	struct rb_err err;

	printf("response_success: Jansson reference vs direct writer (median of %d runs)\n", runs);
	printf("%-14s %10s %16s %12s %8s %8s %10s\n", "case", "bytes", "reference us", "direct us",
	       "ratio", "events", "of which events_find us");
	for (size_t c = 0; c < sizeof rows / sizeof rows[0]; c++) {
		size_t n = rows[c];
		struct series *s = NULL;
		struct detection d;
		if (series_alloc(&s, n, 1, &err) != RB_OK || detection_init(&d, n, &err) != RB_OK) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			s->timestamps[i] = malloc(32);
			if (s->timestamps[i] == NULL)
				return 1;
			time_t t = (time_t)(1695286800 + 60 * (long)i);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(s->timestamps[i], 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
			s->t[i] = (double)t; /* a one-minute grid: the events see it */
			double base = 3e7 + 1e7 * sin((double)i / 200.0);
			d.observed[i] = floor(base * (0.9 + 0.2 * bench_unit(&seed)));
			d.expected[i] = base * (0.95 + 0.1 * bench_unit(&seed));
			d.score[i] = 0.02 * bench_unit(&seed);
			d.anomaly[i] = bench_unit(&seed) < 0.02;
		}
		d.threshold = 0.0113;
		snprintf(d.metric, sizeof d.metric, "bytes");
		snprintf(d.model, sizeof d.model, "traffic");

		int iters = n < 1000 ? 2000 : n < 50000 ? 20 : 3;
		double *tr = malloc((size_t)runs * sizeof *tr);
		double *td = malloc((size_t)runs * sizeof *td);
		double *te = malloc((size_t)runs * sizeof *te);
		size_t nevents = 0;
		if (tr == NULL || td == NULL || te == NULL)
			return 1;
		size_t bytes = 0;
		for (int r = 0; r < runs; r++) {
			tr[r] = time_one(response_success_reference, s, &d, iters, &bytes);
			td[r] = time_one(response_success, s, &d, iters, &bytes);
		}
		double mr = bench_median(tr, (size_t)runs), md = bench_median(td, (size_t)runs);
		/* events_find alone: the part of the direct writer's time that finds the events */
		for (int r = 0; r < runs; r++) {
			double t0 = bench_wall_us();
			for (int k = 0; k < iters; k++) {
				struct events ev;
				if (events_find(&ev, s, &d, 0, &err) != RB_OK) {
					fprintf(stderr, "%s\n", err.msg);
					return 1;
				}
				nevents = ev.n;
				events_release(&ev);
			}
			te[r] = (bench_wall_us() - t0) / iters;
		}
		double me = bench_median(te, (size_t)runs);
		char label[32];
		snprintf(label, sizeof label, "%zu rows", n);
		printf("%-14s %10zu %16.1f %12.1f %7.1fx %8zu %10.1f\n", label, bytes, mr, md, mr / md,
		       nevents, me);
		free(tr);
		free(td);
		free(te);
		detection_release(&d);
		series_free(s);
	}

	printf("\nscore_median: qsort (former) vs quickselect (median of %d runs)\n", runs);
	printf("%-14s %16s %12s %8s\n", "case", "qsort us", "select us", "ratio");
	for (size_t c = 0; c < sizeof rows / sizeof rows[0]; c++) {
		size_t n = rows[c];
		double *src = malloc(n * sizeof *src);
		double *work = malloc(n * sizeof *work);
		double *tq = malloc((size_t)runs * sizeof *tq);
		double *ts = malloc((size_t)runs * sizeof *ts);
		if (src == NULL || work == NULL || tq == NULL || ts == NULL)
			return 1;
		for (size_t i = 0; i < n; i++)
			src[i] = 0.01 * (bench_unit(&seed) - 0.5) + 0.001 * sin((double)i);
		int iters = n < 1000 ? 20000 : n < 50000 ? 200 : 20;
		double rq = 0, rs = 0;
		for (int r = 0; r < runs; r++) {
			tq[r] = time_median(median_qsort, src, work, n, iters, &rq);
			ts[r] = time_median(score_median, src, work, n, iters, &rs);
		}
		if (rq != rs) {
			fprintf(stderr, "medians differ: %.17g %.17g\n", rq, rs);
			return 1;
		}
		double mq = bench_median(tq, (size_t)runs), ms = bench_median(ts, (size_t)runs);
		char label[32];
		snprintf(label, sizeof label, "%zu rows", n);
		printf("%-14s %16.2f %12.2f %7.1fx\n", label, mq, ms, mq / ms);
		free(src);
		free(work);
		free(tq);
		free(ts);
	}
	return 0;
}
