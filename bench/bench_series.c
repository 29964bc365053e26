/*
 * bench_series: CPU time of series_parse() on synthetic Druid timeseries
 * answers of 60 rows (1 hour) and 10,080 rows (1 week) x 11 metrics of the
 * traffic model, written as Druid (Jackson) writes them: compact, integers
 * for counters, doubles in Java's shortest form (5.0, 2086501.8666666667,
 * 0.005683315227600969, 1.5648764E7, 6.8E-4). Times the same bodies with the
 * fast number path (series_parse) and with every number through strtod
 * (series_parse_with SERIES_OPT_NUMBERS_STRTOD), interleaved in one process, and
 * checks that both give the same series bit for bit. Per case: median over
 * runs of the mean process CPU time per parse, and the ratio.
 * Usage: bench_series [runs (default 9)] | bench_series --dump [rows (default 60)] (a body to
 * stdout: 60 = the 1-hour one, 10080 = the 1-week one)
 * Built with -DBENCH_SERIES_PARSE_ONLY it times series_parse() alone (for
 * comparing against an older core library that lacks series_parse_with).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "rb/input/series.h"

#define NMETRICS 11

/* A growable text buffer; exits on allocation failure (a benchmark, not the service). */
struct buf {
	char *p;
	size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;
		while (cap < b->n + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL) {
			fprintf(stderr, "bench_series: out of memory\n");
			exit(1);
		}
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/*
 * x (finite, > 0) as Java's Double.toString writes it: the shortest digits
 * that read back as x; plain notation with at least one fraction digit for
 * 1e-3 <= x < 1e7, else d.dddE<n>.
 */
static void put_java_double(struct buf *b, double x)
{
	char e[40];
	int prec = 0;
	for (; prec < 17; prec++) {
		snprintf(e, sizeof e, "%.*e", prec, x);
		if (strtod(e, NULL) == x)
			break;
	}
	/* e = "d.ddde[+-]xx": collect the digits and the exponent */
	char dig[24];
	size_t nd = 0;
	const char *p = e;
	for (; *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			dig[nd++] = *p;
	int exp10 = (int)strtol(p + 1, NULL, 10);
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	char out[64];
	size_t o = 0;
	if (x >= 1e-3 && x < 1e7) {
		if (exp10 < 0) {
			out[o++] = '0';
			out[o++] = '.';
			for (int z = -1; z > exp10; z--)
				out[o++] = '0';
			memcpy(out + o, dig, nd);
			o += nd;
		} else {
			for (int k = 0; k <= exp10; k++)
				out[o++] = (size_t)k < nd ? dig[k] : '0';
			out[o++] = '.';
			if ((size_t)exp10 + 1 < nd) {
				memcpy(out + o, dig + exp10 + 1, nd - (size_t)exp10 - 1);
				o += nd - (size_t)exp10 - 1;
			} else {
				out[o++] = '0';
			}
		}
		put(b, out, o);
	} else {
		out[o++] = dig[0];
		out[o++] = '.';
		if (nd > 1) {
			memcpy(out + o, dig + 1, nd - 1);
			o += nd - 1;
		} else {
			out[o++] = '0';
		}
		o += (size_t)snprintf(out + o, sizeof out - o, "E%d", exp10);
		put(b, out, o);
	}
}

/* A Druid answer of n one-minute rows from 2023-09-21T09:00Z, fixed seed. */
static char *make_body(size_t n, size_t *len)
{
	static const char *const names[NMETRICS] = {
		"flows_per_client", "flows_per_sec_per_client", "pps", "clients",
		"bytes_per_client", "bps", "flows", "bytes", "fps", "bits_per_sec_per_client",
		"pkts",
	};
	uint64_t seed = 0x2545F4914F6CDD1Dull;
	struct buf b = {0};
	time_t t0 = 1695286800; /* 2023-09-21T09:00:00Z */
	double level = 6e6;
	puts_(&b, "[");
	for (size_t i = 0; i < n; i++) {
		time_t t = t0 + (time_t)(60 * i);
		struct tm tm;
		gmtime_r(&t, &tm);
		char ts[64];
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		level = level * (0.9 + 0.2 * bench_unit(&seed));
		if (level < 1e5)
			level = 1e5;
		if (level > 4e8)
			level = 4e8;
		double bytes = floor(level);
		double pkts = floor(bytes / (300 + 900 * bench_unit(&seed)));
		double flows = floor(pkts / (10 + 40 * bench_unit(&seed))) + 1;
		/* clients: a whole number half of the time (Druid writes 5.0), else a mean */
		double clients = bench_next(&seed) % 2 == 0 ? (double)(1 + bench_next(&seed) % 40)
		                                      : 1 + 30 * bench_unit(&seed);
		double v[NMETRICS] = {
			flows / clients, flows / 60 / clients, pkts / 60, clients, bytes / clients,
			bytes * 8 / 60,  flows,                bytes,     flows / 60,
			bytes * 8 / 60 / clients, pkts,
		};
		puts_(&b, i == 0 ? "{\"timestamp\":\"" : ",{\"timestamp\":\"");
		puts_(&b, ts);
		puts_(&b, "\",\"result\":{");
		for (size_t c = 0; c < NMETRICS; c++) {
			puts_(&b, c == 0 ? "\"" : ",\"");
			puts_(&b, names[c]);
			puts_(&b, "\":");
			if (c == 6 || c == 7 || c == 10) { /* longs */
				char num[32];
				snprintf(num, sizeof num, "%.0f", v[c]);
				puts_(&b, num);
			} else {
				put_java_double(&b, v[c]);
			}
		}
		puts_(&b, "}}");
	}
	puts_(&b, "]");
	*len = b.n;
	return b.p;
}

static struct series *parse(const char *body, size_t len, int strtod_numbers)
{
	struct series *s = NULL;
	struct rb_err err = {0};
	enum rb_code rc;
#ifdef BENCH_SERIES_PARSE_ONLY
	(void)strtod_numbers;
	rc = series_parse(&s, body, len, NULL, &err);
#else
	rc = series_parse_with(&s, body, len, NULL,
	                       strtod_numbers ? SERIES_OPT_NUMBERS_STRTOD : 0, &err);
#endif
	if (rc != RB_OK) {
		fprintf(stderr, "bench_series: %s\n", err.msg);
		exit(1);
	}
	return s;
}

/* Mean CPU µs per parse over iters parses. */
static double time_parse(const char *body, size_t len, int strtod_numbers, int iters)
{
	double t0 = bench_cpu_us();
	for (int k = 0; k < iters; k++)
		series_free(parse(body, len, strtod_numbers));
	return (bench_cpu_us() - t0) / iters;
}

static void same_series(const struct series *a, const struct series *b)
{
	int same = a->n == b->n && a->ncols == b->ncols;
	for (size_t i = 0; same && i < a->n * a->ncols; i++)
		same = memcmp(&a->values[i], &b->values[i], sizeof(double)) == 0 &&
		       a->present[i] == b->present[i];
	if (!same) {
		fprintf(stderr, "bench_series: the two number paths disagree\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--dump") == 0) {
		size_t len, rows = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 60;
		char *body = make_body(rows > 0 ? rows : 60, &len);
		fwrite(body, 1, len, stdout);
		free(body);
		return 0;
	}
	int runs = bench_runs_arg(argc, argv, 9, "bench_series");
	static const struct {
		const char *name;
		size_t rows;
		int iters; /* parses per run */
	} cases[] = {
		{"1 hour (60 rows)", 60, 400},
		{"1 week (10,080 rows)", 10080, 20},
	};
	printf("| body (x 11 metrics) | bytes | strtod µs/parse | fast µs/parse | strtod / fast |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		size_t len;
		char *body = make_body(cases[k].rows, &len);
		struct series *a = parse(body, len, 0), *b = parse(body, len, 1);
		same_series(a, b);
		series_free(a);
		series_free(b);
		double *ts = malloc((size_t)runs * sizeof *ts), *tf = malloc((size_t)runs * sizeof *tf);
		if (ts == NULL || tf == NULL)
			return 1;
		for (int r = 0; r < runs; r++) {
			ts[r] = time_parse(body, len, 1, cases[k].iters);
			tf[r] = time_parse(body, len, 0, cases[k].iters);
		}
		qsort(ts, (size_t)runs, sizeof *ts, bench_cmp_double);
		qsort(tf, (size_t)runs, sizeof *tf, bench_cmp_double);
		double ms = ts[runs / 2], mf = tf[runs / 2];
		printf("| %s | %zu | %.1f | %.1f | %.2f |\n", cases[k].name, len, ms, mf, ms / mf);
		free(ts);
		free(tf);
		free(body);
	}
	return 0;
}
