/*
 * bench_explain: the service's own cost of "who caused it", Druid excluded.
 * Times (CPU, median of runs) explain_query_answer on a synthetic groupBy
 * answer of (history + 1) buckets x V values, and ip_identifier_run on a
 * payload of V IPs x T instants with 10 outliers. Prints one table.
 * Usage: bench_explain [runs]   (default 21)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "rb/explain/explain_query.h"
#include "rb/explain/ip_identifier.h"
#include "rb/input/civil.h"

static char *groupby(size_t rows, size_t vals, uint64_t *rng)
{
	size_t cap = (rows + 1) * vals * 128 + 16, n = 0;
	char *s = malloc(cap);
	n += (size_t)snprintf(s + n, cap - n, "[");
	for (size_t t = 0; t <= rows; t++)
		for (size_t v = 0; v < vals; v++) {
			char ts[40];
			civil_format_ms(1695286800000LL + (int64_t)t * 60000, ts, sizeof ts);
			n += (size_t)snprintf(s + n, cap - n,
			                      "%s{\"version\":\"v1\",\"timestamp\":\"%s\",\"event\":"
			                      "{\"ip\":\"10.0.%zu.%zu\",\"bytes\":%llu}}",
			                      n > 1 ? "," : "", ts, v / 250, v % 250,
			                      (unsigned long long)(1000000 + bench_next(rng) % 100000));
		}
	snprintf(s + n, cap - n, "]");
	return s;
}

static char *payload(size_t ips, size_t times, uint64_t *rng)
{
	size_t cap = ips * times * 96 + 4096, n = 0;
	char *s = malloc(cap);
	n += (size_t)snprintf(s + n, cap - n, "{\"outliers\":[");
	for (size_t o = 0; o < 10; o++) {
		char ts[40];
		civil_format_ms(1695286800000LL + (int64_t)(o * times / 10) * 60000, ts, sizeof ts);
		n += (size_t)snprintf(s + n, cap - n, "%s{\"timestamp\":\"%s\"}", o ? "," : "", ts);
	}
	n += (size_t)snprintf(s + n, cap - n, "],\"all_ips_data\":{");
	for (size_t i = 0; i < ips; i++) {
		n += (size_t)snprintf(s + n, cap - n, "%s\"10.0.%zu.%zu\":[", i ? "," : "", i / 250,
		                      i % 250);
		for (size_t t = 0; t < times; t++) {
			char ts[40];
			civil_format_ms(1695286800000LL + (int64_t)t * 60000, ts, sizeof ts);
			n += (size_t)snprintf(s + n, cap - n,
			                      "%s{\"timestamp\":\"%s\",\"result\":{\"bytes\":%llu}}",
			                      t ? "," : "", ts,
			                      (unsigned long long)(1000 + bench_next(rng) % 100));
		}
		n += (size_t)snprintf(s + n, cap - n, "]");
	}
	snprintf(s + n, cap - n, "}}");
	return s;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 21;
	if (runs < 1 || runs > 1000)
		runs = 21;
	uint64_t rng = 88172645463325252ULL;
	double *us = malloc((size_t)runs * sizeof *us);
	printf("%-14s %8s %8s %10s %12s\n", "what", "values", "buckets", "bytes", "median ms");
	static const size_t shapes[][2] = {{7, 120}, {100, 120}, {1000, 120}, {100, 1440}};
	for (size_t k = 0; k < 4; k++) {
		char *text = groupby(shapes[k][1], shapes[k][0], &rng);
		struct explain_window w = {1695286800000LL, 60000, shapes[k][1], "ip", "bytes"};
		for (int r = 0; r < runs; r++) {
			struct rb_err err = {0};
			char *out = NULL;
			double t0 = bench_cpu_us();
			if (explain_query_answer(text, strlen(text), &w, &out, &err) != RB_OK) {
				fprintf(stderr, "bench_explain: %s\n", err.msg);
				return 1;
			}
			us[r] = bench_cpu_us() - t0;
			free(out);
		}
		qsort(us, (size_t)runs, sizeof *us, cmp);
		printf("%-14s %8zu %8zu %10zu %12.3f\n", "explain", shapes[k][0], shapes[k][1] + 1,
		       strlen(text), us[runs / 2] / 1000);
		free(text);
	}
	static const size_t pshapes[][2] = {{2, 24}, {100, 1440}};
	for (size_t k = 0; k < 2; k++) {
		char *text = payload(pshapes[k][0], pshapes[k][1], &rng);
		for (int r = 0; r < runs; r++) {
			struct rb_err err = {0};
			char *out = NULL;
			double t0 = bench_cpu_us();
			if (ip_identifier_run(text, strlen(text), &out, &err) != RB_OK) {
				fprintf(stderr, "bench_explain: %s\n", err.msg);
				return 1;
			}
			us[r] = bench_cpu_us() - t0;
			free(out);
		}
		qsort(us, (size_t)runs, sizeof *us, cmp);
		printf("%-14s %8zu %8zu %10zu %12.3f\n", "ip_identifier", pshapes[k][0], pshapes[k][1],
		       strlen(text), us[runs / 2] / 1000);
		free(text);
	}
	free(us);
	return 0;
}
