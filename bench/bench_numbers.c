/*
 * bench_numbers: our number text <-> double conversions against the C
 * library's, for docs/DEPENDENCIES.md; each pair checked to give the same
 * bits or bytes first, then interleaved run by run in one process.
 *   1. text -> double: decimal_parse (core/input/decimal.c) on the numbers of
 *      bench_series' 1-week body (Java-style doubles and longs as Druid
 *      writes them), read in place, against strtod on NUL-terminated copies
 *      (what Jansson and the strtod path of series_parse call);
 *   2. double -> text: response.c's format_real (Jansson's "%.15g" bytes
 *      written from an exact 15-digit rounding) against snprintf("%.15g")
 *      followed by the same Jansson fix-ups (what Jansson's dumper does), on
 *      the three numbers per row of bench_response's 10,080-row answer
 *      (observed counters, expected values with decimals, small scores).
 *   3. the deep model's rescaling tanh(log1p(v) / 32): libm's tanh and log1p
 *      against features_scale (core/detect/features.c, four square roots,
 *      scalar) and features_scale_n (the same, vectorised, best ISA) on the
 *      metric values of the 1-week body; agreement is test_features' job
 *      (within 2.3e-16), here the largest difference is printed.
 * Median over runs of the mean CPU ns per number.
 * Usage: bench_numbers [runs (default 9)]. Not a test; no timing is asserted.
 */
#include "rb/detect/features.h"
#include "rb/input/decimal.h"

/* The body generator of bench_series, not its main. */
#define main bench_series_main
#include "bench_series.c"
#undef main

/* format_real and jansson_fixup are static in the answer writer: reached by including it. */
#include "core/answer/response.c"

static volatile double sink;

static void die(const char *what)
{
	fprintf(stderr, "bench_numbers: %s\n", what);
	exit(1);
}

/* The numbers of a body: offsets and lengths of every number value of a key. */
struct nums {
	size_t n;
	const char **at;
	size_t *len;
	char **copy; /* NUL-terminated copies for strtod */
	const char *end; /* the body's end */
};

static struct nums collect(const char *body, size_t blen)
{
	struct nums v = {.end = body + blen};
	size_t cap = blen / 8;
	v.at = malloc(cap * sizeof *v.at);
	v.len = malloc(cap * sizeof *v.len);
	v.copy = malloc(cap * sizeof *v.copy);
	if (v.at == NULL || v.len == NULL || v.copy == NULL)
		die("out of memory");
	for (size_t i = 0; i + 1 < blen; i++) {
		/* a value after a key ("name":...), not a ':' inside a timestamp */
		if (i == 0 || body[i] != ':' || body[i - 1] != '"' ||
		    !(body[i + 1] == '-' || (body[i + 1] >= '0' && body[i + 1] <= '9')))
			continue;
		const char *p = body + i + 1;
		size_t l = strspn(p, "0123456789.eE+-");
		if (v.n == cap)
			die("too many numbers");
		v.at[v.n] = p;
		v.len[v.n] = l;
		v.copy[v.n] = strndup(p, l);
		if (v.copy[v.n] == NULL)
			die("out of memory");
		v.n++;
	}
	return v;
}

/*
 * Mean CPU ns per decimal_parse; to_end: each number given with the rest of
 * the body after it (as the series reader calls it), else its exact length.
 */
static double time_parse_ours(const struct nums *v, int to_end)
{
	double sum = 0, t0 = bench_cpu_us();
	for (size_t k = 0; k < v->n; k++) {
		size_t used;
		double x;
		size_t len = to_end ? (size_t)(v->end - v->at[k]) : v->len[k];
		if (decimal_parse(v->at[k], len, &used, &x) != DECIMAL_OK)
			die("decimal_parse refused a number");
		sum += x;
	}
	double us = bench_cpu_us() - t0;
	sink = sum;
	return us * 1000.0 / (double)v->n;
}

static double time_parse_strtod(const struct nums *v)
{
	double sum = 0, t0 = bench_cpu_us();
	for (size_t k = 0; k < v->n; k++) {
		char *end;
		sum += strtod(v->copy[k], &end);
		if (*end != '\0')
			die("strtod stopped early");
	}
	double us = bench_cpu_us() - t0;
	sink = sum;
	return us * 1000.0 / (double)v->n;
}

/* snprintf("%.15g") and Jansson's fix-ups: what json_dumps(JSON_REAL_PRECISION(15)) writes. */
static size_t format_libc(char *buf, double v)
{
	int n = snprintf(buf, REAL_MAX - 3, "%.15g", v);
	if (n < 0 || n >= REAL_MAX - 3)
		die("snprintf");
	return jansson_fixup(buf, (size_t)n);
}

/* Mean CPU ns per value of tanh(log1p(v) / 32): 0 libm, 1 features_scale, 2 features_scale_n. */
static double time_scale(const double *v, double *out, size_t n, int how)
{
	double t0 = bench_cpu_us();
	if (how == 2) {
		features_scale_n(v, out, n);
	} else {
		for (size_t k = 0; k < n; k++)
			out[k] = how == 0 ? tanh(log1p(v[k]) / 32.0) : features_scale(v[k]);
	}
	double us = bench_cpu_us() - t0;
	sink = out[n / 2];
	return us * 1000.0 / (double)n;
}

static double time_format(const double *x, size_t n, int libc)
{
	char buf[REAL_MAX];
	size_t total = 0;
	double t0 = bench_cpu_us();
	for (size_t k = 0; k < n; k++)
		total += libc ? format_libc(buf, x[k]) : format_real(buf, x[k]);
	double us = bench_cpu_us() - t0;
	sink = (double)total;
	return us * 1000.0 / (double)n;
}

int main(int argc, char **argv)
{
	int runs = bench_runs_arg(argc, argv, 9, "bench_numbers");
	double *a = malloc((size_t)runs * sizeof *a), *b = malloc((size_t)runs * sizeof *b);
	if (a == NULL || b == NULL)
		return 1;

	size_t blen;
	char *body = make_body(10080, &blen);
	struct nums v = collect(body, blen);
	for (size_t k = 0; k < v.n; k++) {
		size_t used;
		double x, y = strtod(v.copy[k], NULL);
		if (decimal_parse(v.at[k], v.len[k], &used, &x) != DECIMAL_OK || used != v.len[k] ||
		    memcmp(&x, &y, sizeof x) != 0)
			die("decimal_parse and strtod disagree");
		if (decimal_parse(v.at[k], (size_t)(v.end - v.at[k]), &used, &x) != DECIMAL_OK ||
		    used != v.len[k] || memcmp(&x, &y, sizeof x) != 0)
			die("decimal_parse (to the body's end) and strtod disagree");
	}
	double *c0 = malloc((size_t)runs * sizeof *c0);
	if (c0 == NULL)
		return 1;
	for (int r = 0; r < runs; r++) {
		a[r] = time_parse_strtod(&v);
		b[r] = time_parse_ours(&v, 0);
		c0[r] = time_parse_ours(&v, 1);
	}
	printf("| conversion | numbers | C library ns/number | ours ns/number | ratio |\n");
	printf("|---|---:|---:|---:|---:|\n");
	double ma = bench_median(a, (size_t)runs), mb = bench_median(b, (size_t)runs);
	printf("| text -> double (strtod / decimal_parse), 1-week body | %zu | %.1f | %.1f | %.1f |\n", v.n,
	       ma, mb, ma / mb);
	mb = bench_median(c0, (size_t)runs);
	printf("| text -> double (strtod / decimal_parse in the body, as the series reader) | %zu | "
	       "%.1f | %.1f | %.1f |\n", v.n, ma, mb, ma / mb);
	free(c0);

	/* bench_response's values, three per row */
	size_t rows = 10080, n = 3 * rows;
	double *x = malloc(n * sizeof *x);
	if (x == NULL)
		return 1;
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	for (size_t i = 0; i < rows; i++) {
		double base = 3e7 + 1e7 * sin((double)i / 200.0);
		x[3 * i] = floor(base * (0.9 + 0.2 * bench_unit(&seed)));
		x[3 * i + 1] = base * (0.95 + 0.1 * bench_unit(&seed));
		x[3 * i + 2] = 0.02 * bench_unit(&seed);
	}
	for (size_t k = 0; k < n; k++) {
		char p[REAL_MAX], q[REAL_MAX];
		size_t lp = format_real(p, x[k]), lq = format_libc(q, x[k]);
		if (lp != lq || memcmp(p, q, lp) != 0)
			die("format_real and snprintf disagree");
	}
	for (int r = 0; r < runs; r++) {
		a[r] = time_format(x, n, 1);
		b[r] = time_format(x, n, 0);
	}
	ma = bench_median(a, (size_t)runs);
	mb = bench_median(b, (size_t)runs);
	printf("| double -> text (snprintf %%.15g + fix-ups / format_real), 10,080-row answer | %zu | %.1f | %.1f | %.1f |\n",
	       n, ma, mb, ma / mb);

	/* rescaling: the metric values of the body (all >= 0) */
	double *vals = malloc(v.n * sizeof *vals), *out = malloc(v.n * sizeof *out);
	double *c = malloc((size_t)runs * sizeof *c);
	if (vals == NULL || out == NULL || c == NULL)
		return 1;
	double maxdiff = 0;
	for (size_t k = 0; k < v.n; k++) {
		vals[k] = strtod(v.copy[k], NULL);
		double d = fabs(tanh(log1p(vals[k]) / 32.0) - features_scale(vals[k]));
		maxdiff = d > maxdiff ? d : maxdiff;
	}
	for (int r = 0; r < runs; r++) {
		a[r] = time_scale(vals, out, v.n, 0);
		b[r] = time_scale(vals, out, v.n, 1);
		c[r] = time_scale(vals, out, v.n, 2);
	}
	ma = bench_median(a, (size_t)runs);
	mb = bench_median(b, (size_t)runs);
	double mc = bench_median(c, (size_t)runs);
	printf("| tanh(log1p(v)/32) (libm / features_scale), 1-week body | %zu | %.1f | %.1f | %.1f |\n", v.n, ma,
	       mb, ma / mb);
	printf("| tanh(log1p(v)/32) (libm / features_scale_n, best ISA), 1-week body | %zu | %.1f | %.1f | %.1f |\n",
	       v.n, ma, mc, ma / mc);
	printf("\nlargest |libm - features_scale| on these values: %.2g\n", maxdiff);
	free(vals);
	free(out);
	free(c);
	for (size_t k = 0; k < v.n; k++)
		free(v.copy[k]);
	free(v.at);
	free(v.len);
	free(v.copy);
	free(x);
	free(body);
	free(a);
	free(b);
	return 0;
}
