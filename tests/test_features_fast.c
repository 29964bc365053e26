/*
 * test_features_fast: the vectorised rescaling and the reworked row loop of
 * core/detect/features.c against the implementation they replaced, kept as the
 * oracle in tests/oracle/features_old.inc (old_scale, old_build). Bit for bit:
 * features_scale_n and features_scale_n_baseline against old_scale on edge
 * values (NaN, +-0, negatives, subnormals, both sides of the 1e-3 switch,
 * huge, +inf) and a million random ones, in place and out of place, every
 * length 0..9 (the SSE2 pair and AVX quadruple tails); features_build's
 * raw and x against old_build on random series (missing cells, duplicate and
 * unordered instants, instants before 1970 and far in the future, both
 * weekday encodings).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/features.h"
#include "testutil.h"

#include "oracle/features_old.inc"

/* ---- random inputs ---- */

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A value of the kinds a traffic series and hostile input hold. */
static double random_value(uint64_t *r)
{
	static const double edge[] = {0.0,     -0.0,   1e-3,    -1.0, 1e-300, 4.9e-324,
	                              1e308,   1.7976931348623157e308,    1.0,  2.0,
	                              6.8e-4,  5.0,    1.5648764e7, 1e-17, -1e-320};
	uint64_t k = next(r) % 16;
	if (k == 0)
		return edge[next(r) % (sizeof edge / sizeof edge[0])];
	if (k == 1)
		return nextafter(1e-3, next(r) % 2 ? 0.0 : 1.0);
	if (k == 2) {
		uint64_t bits = next(r); /* any double: NaNs, infinities, subnormals */
		double d;
		memcpy(&d, &bits, sizeof d);
		return d;
	}
	if (k == 3)
		return (double)(next(r) % 100000);
	if (k == 4)
		return -(double)(next(r) % 1000) / 7.0;
	/* log-uniform over 1e-9 .. 1e12 */
	double u = (double)(next(r) >> 11) / 9007199254740992.0;
	return pow(10.0, -9.0 + 21.0 * u);
}

static int same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

static void test_scale_n(void)
{
	enum { N = 4096 };
	static double in[N], out[N], out2[N], inplace[N];
	uint64_t r = 0x9E3779B97F4A7C15ull;
	size_t bad = 0;
	for (int round = 0; round < 250; round++) {
		for (size_t k = 0; k < N; k++)
			in[k] = random_value(&r);
		if (round == 0) {
			in[0] = NAN;
			in[1] = -NAN;
			in[2] = INFINITY;
			in[3] = -INFINITY;
		}
		features_scale_n(in, out, N);
		features_scale_n_baseline(in, out2, N);
		memcpy(inplace, in, sizeof in);
		features_scale_n(inplace, inplace, N);
		for (size_t k = 0; k < N; k++) {
			double want = old_scale(in[k]);
			if (!same_bits(out[k], want) || !same_bits(out2[k], want) ||
			    !same_bits(inplace[k], want) || !same_bits(features_scale(in[k]), want)) {
				if (bad++ < 5)
					printf("scale(%a): old %a, n %a, baseline %a, in place %a\n", in[k],
					       want, out[k], out2[k], inplace[k]);
			}
		}
	}
	CHECKF(bad == 0, "%zu values differ from the old features_scale", bad);

	/* every short length: the tails after whole vectors, nothing written past n */
	for (size_t n = 0; n <= 9; n++) {
		double a[12], b[12], c[12];
		for (size_t k = 0; k < 12; k++) {
			a[k] = k % 3 == 0 ? 5e-4 : 100.0 * (double)k;
			b[k] = c[k] = -7.0;
		}
		features_scale_n(a, b, n);
		features_scale_n_baseline(a, c, n);
		for (size_t k = 0; k < 12; k++) {
			CHECK(k < n ? same_bits(b[k], old_scale(a[k])) : b[k] == -7.0);
			CHECK(k < n ? same_bits(c[k], old_scale(a[k])) : c[k] == -7.0);
		}
	}
}

static char *metric_names[] = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7",
                               "m8", "m9", "m10", "granularity"};
static char *ts_names[] = {"minute", "weekday_0", "weekday_1", "weekday_2", "weekday_3",
                           "weekday_4", "weekday_5", "weekday_6"};

static void test_build_random(void)
{
	uint64_t r = 0xD1B54A32D192ED03ull;
	size_t bad = 0;
	for (int trial = 0; trial < 300; trial++) {
		size_t n = 1 + next(&r) % 70, ncols = 1 + next(&r) % 13;
		struct series *s;
		struct rb_err err;
		CHECK(series_alloc(&s, n, ncols, &err) == RB_OK);
		for (size_t c = 0; c < ncols; c++) {
			char name[8];
			snprintf(name, sizeof name, "m%zu", (c * 5 + (size_t)trial) % 14);
			s->names[c] = strdup(name);
			CHECK(s->names[c] != NULL);
		}
		double t = trial % 5 == 0 ? -86400.0 * 40 - 17 : 1695286800.0 + (double)(next(&r) % 1000000);
		if (trial % 11 == 0)
			t = 4.1e12; /* year ~130,000 */
		for (size_t i = 0; i < n; i++) {
			uint64_t step = next(&r) % 8;
			t += step == 0 ? 0.0 : step == 1 ? -120.0 : step == 2 ? 0.5 : 60.0 * (double)step;
			s->t[i] = t;
			for (size_t c = 0; c < ncols; c++) {
				if (next(&r) % 5 != 0) {
					s->values[i * ncols + c] = random_value(&r);
					s->present[i * ncols + c] = 1;
				}
			}
		}
		struct model_spec sp;
		memset(&sp, 0, sizeof sp);
		sp.n_metrics = 12;
		sp.metrics = metric_names;
		sp.n_timestamp = 8;
		sp.timestamp = ts_names;
		sp.weekday = trial % 2 ? WEEKDAY_QUIRK : WEEKDAY_ONEHOT;
		long src[11];
		for (size_t c = 0; c < 11; c++)
			src[c] = series_col(s, metric_names[c]);

		struct features f;
		CHECK(features_build(&f, s, &sp, &err) == RB_OK);
		CHECK(f.n == n && f.C == 20 && f.n_scaled == 12);
		double *raw = malloc(n * 20 * sizeof *raw), *x = malloc(n * 20 * sizeof *x);
		CHECK(raw != NULL && x != NULL);
		old_build(s, &sp, src, raw, x);
		for (size_t k = 0; k < n * 20; k++) {
			if (!same_bits(raw[k], f.raw[k]) || !same_bits(x[k], f.x[k])) {
				if (bad++ < 5)
					printf("trial %d cell %zu: raw %a/%a x %a/%a\n", trial, k, raw[k],
					       f.raw[k], x[k], f.x[k]);
			}
		}
		free(raw);
		free(x);
		features_release(&f);
		series_free(s);
	}
	CHECKF(bad == 0, "%zu cells differ from the old features_build", bad);
}

int main(void)
{
	test_scale_n();
	test_build_random();
	return 0;
}
