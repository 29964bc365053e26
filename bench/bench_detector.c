/*
 * bench_detector: time per series of the default detector (the novelty
 * method), the robust one and the legacy one (iforest-legacy), one thread, on synthetic series of 60,
 * 1,440, 10,080, 100,000 and 1,000,000 rows (1-minute spacing, a daily cycle, noise,
 * a trend, a level shift and a few spikes; fixed PRNG seed). Prints a table
 * with CPU milliseconds per series (thread CPU time, so other processes on
 * the machine do not inflate it), wall milliseconds, and the legacy/default
 * ratio measured in the same run.
 *
 * Usage: bench_detector [-n N] [-d NAME]   (-n: only that size, one run of
 * one detector alone, default unless -d names robust or iforest-legacy: for
 * timing one detector at another size or measuring its peak memory with
 * /usr/bin/time -v)
 * A tool, not a test: no assertion on time.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb/detect/detector.h"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Deterministic uniform in [0, 1) (xorshift64*). */
static double unit(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
}

static void make_series(size_t n, double *x, double *t)
{
	uint64_t s = 0x9E3779B97F4A7C15ULL ^ n;
	for (size_t i = 0; i < n; i++) {
		t[i] = 1700000000.0 + 60.0 * (double)i;
		double day = 2.0 * M_PI * (double)(i % 1440) / 1440.0;
		double noise = (unit(&s) + unit(&s) + unit(&s) - 1.5) * 20.0;
		x[i] = 1000.0 + 300.0 * sin(day) + 0.01 * (double)i + noise;
		if (i > n / 2)
			x[i] += 150.0;
		if (i % 997 == 500)
			x[i] += 900.0;
	}
}

typedef enum rb_code (*detect_fn)(const double *, const double *, size_t, double, double *,
                                  double *, unsigned char *, double *, struct rb_err *);

/* Runs fn on the series until >= min_seconds of CPU or max_reps; returns CPU and wall ms per run. */
static void time_one(detect_fn fn, double sens, const double *x, const double *t, size_t n,
                     double min_seconds, int max_reps, double *cpu_ms, double *wall_ms,
                     size_t *flagged)
{
	double *e = malloc(n * sizeof *e), *sc = malloc(n * sizeof *sc), thr;
	unsigned char *a = malloc(n);
	if (e == NULL || sc == NULL || a == NULL) {
		fprintf(stderr, "bench_detector: out of memory\n");
		exit(2);
	}
	int reps = 0;
	double c0 = cpu_now(), w0 = wall_now();
	do {
		struct rb_err err = {0};
		if (fn(x, t, n, sens, e, sc, a, &thr, &err) != RB_OK) {
			fprintf(stderr, "bench_detector: %s\n", err.msg);
			exit(2);
		}
		reps++;
	} while (reps < max_reps && cpu_now() - c0 < min_seconds);
	*cpu_ms = 1e3 * (cpu_now() - c0) / reps;
	*wall_ms = 1e3 * (wall_now() - w0) / reps;
	*flagged = 0;
	for (size_t i = 0; i < n; i++)
		*flagged += a[i];
	free(e);
	free(sc);
	free(a);
}

int main(int argc, char **argv)
{
	size_t sizes[] = {60, 1440, 10080, 100000, 1000000};
	size_t nsizes = sizeof sizes / sizeof sizes[0];
	int single = 0;
	detect_fn only = novelty_detect;
	if (argc == 5 && strcmp(argv[3], "-d") == 0) {
		if (strcmp(argv[4], DETECTOR_ROBUST) == 0)
			only = robust_detect;
		else if (strcmp(argv[4], DETECTOR_LEGACY) == 0)
			only = legacy_detect;
		else if (strcmp(argv[4], DETECTOR_DEFAULT) != 0 &&
		         strcmp(argv[4], DETECTOR_NOVELTY) != 0) {
			fprintf(stderr, "usage: bench_detector [-n N] [-d default|robust|iforest-legacy]\n");
			return 2;
		}
		argc = 3;
	}
	if (argc == 3 && strcmp(argv[1], "-n") == 0) {
		char *end;
		unsigned long long v = strtoull(argv[2], &end, 10);
		if (*end != '\0' || v == 0 || v > 10000000ULL) {
			fprintf(stderr, "usage: bench_detector [-n N] [-d default|robust|iforest-legacy]\n");
			return 2;
		}
		sizes[0] = (size_t)v;
		nsizes = 1;
		single = 1;
	} else if (argc != 1) {
		fprintf(stderr, "usage: bench_detector [-n N] [-d default|robust|iforest-legacy]\n");
		return 2;
	}
	printf("%8s | %12s %12s %7s | %12s %12s %7s | %12s %12s %7s | %8s\n", "rows",
	       "default cpu", "wall", "flags", "robust cpu", "wall", "flags", "legacy cpu", "wall",
	       "flags", "legacy/");
	printf("%8s | %12s %12s %7s | %12s %12s %7s | %12s %12s %7s | %8s\n", "", "ms/series",
	       "ms/series", "", "ms/series", "ms/series", "", "ms/series", "ms/series", "",
	       "default");
	for (size_t k = 0; k < nsizes; k++) {
		size_t n = sizes[k];
		double *x = malloc(n * sizeof *x), *t = malloc(n * sizeof *t);
		if (x == NULL || t == NULL)
			return 2;
		make_series(n, x, t);
		double c1 = 0, w1 = 0, c2 = 0, w2 = 0, c3 = 0, w3 = 0;
		size_t f1 = 0, f2 = 0, f3 = 0;
		if (single && only == robust_detect)
			time_one(robust_detect, NAN, x, t, n, 0, 1, &c3, &w3, &f3);
		else if (single && only == legacy_detect)
			time_one(legacy_detect, DETECTOR_LEGACY_SENSITIVITY, x, t, n, 0, 1, &c2, &w2, &f2);
		else
			time_one(novelty_detect, NAN, x, t, n, single ? 0 : 0.3, single ? 1 : 10000, &c1,
			         &w1, &f1);
		if (!single) {
			time_one(robust_detect, NAN, x, t, n, 0.3, 10000, &c3, &w3, &f3);
			time_one(legacy_detect, DETECTOR_LEGACY_SENSITIVITY, x, t, n, 0.3, 10000, &c2, &w2,
			         &f2);
		}
		printf("%8zu | %12.3f %12.3f %7zu | %12.3f %12.3f %7zu | %12.3f %12.3f %7zu | %7.1fx\n",
		       n, c1, w1, f1, c3, w3, f3, c2, w2, f2, c1 > 0 ? c2 / c1 : 0.0);
		free(x);
		free(t);
	}
	return 0;
}
