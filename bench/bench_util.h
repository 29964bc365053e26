/*
 * Helpers shared by the bench/bench_*.c programs: clocks, a seeded
 * xorshift64 generator (the same sequence in every program and run), a
 * median and the run-count argument. Benchmarks only; static inline, nothing to link.
 */
#ifndef RB_BENCH_UTIL_H
#define RB_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* CPU time of this process in µs (CLOCK_PROCESS_CPUTIME_ID). */
static inline double bench_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Monotonic wall-clock time in µs. */
static inline double bench_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The next value of the xorshift64 generator whose state is *s (never 0). */
static inline uint64_t bench_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A uniform double in [0, 1) from the generator *s (53 random bits). */
static inline double bench_unit(uint64_t *s)
{
	return (double)(bench_next(s) >> 11) / 9007199254740992.0;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sorts v[0..n) (n >= 1) and returns v[n / 2]: the median of an odd count, the upper
 * middle one of an even count. */
static inline double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, bench_cmp_double);
	return v[n / 2];
}

/*
 * The run count of a benchmark from its first argument (1..1000), or dflt when
 * there is none; a bad one prints "usage: PROG [runs, 1-1000]" and exits 2.
 */
static inline int bench_runs_arg(int argc, char **argv, int dflt, const char *prog)
{
	if (argc <= 1)
		return dflt;
	char *end;
	long r = strtol(argv[1], &end, 10);
	if (end == argv[1] || *end != '\0' || r < 1 || r > 1000) {
		fprintf(stderr, "usage: %s [runs, 1-1000]\n", prog);
		exit(2);
	}
	return (int)r;
}

#endif
