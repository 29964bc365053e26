/*
 * test_features: the deep model's feature rows (CONTRACT §4) on hand-built
 * series: column order, missing metrics, granularity edge cases, minute of
 * day, the weekday quirk and plain one-hot, rescaling both ways, and the
 * window plan (stride plus a final window, every row covered). Then the fast
 * forms against plain references, bit for bit: features_scale_n (best ISA)
 * and features_scale_n_baseline (SSE2), in place and out of place, against
 * the scalar features_scale on edge values (NaN, +-0, negatives, subnormals,
 * both sides of the 1e-3 switch, huge, +-inf) and a million random ones,
 * every length 0..9 (the vector tails); and features_build on random series
 * (missing cells, duplicate and unordered instants, instants before 1970 and
 * far in the future, both weekday encodings) against each cell computed on
 * its own: minute of day and weekday by libc's gmtime, rescaling by
 * features_scale.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb/detect/features.h"
#include "testutil.h"

#define NEAR(a, b, tol) (fabs((a) - (b)) <= (tol) * (1.0 + fabs(b)))

static char *metric_names[] = {"bytes", "pkts", "granularity"};
static char *ts_names[] = {"minute", "weekday_0", "weekday_1", "weekday_2", "weekday_3",
                           "weekday_4", "weekday_5", "weekday_6"};

static struct model_spec make_spec(enum weekday_encoding wd)
{
	struct model_spec sp;
	memset(&sp, 0, sizeof sp);
	sp.n_metrics = 3;
	sp.metrics = metric_names;
	sp.n_timestamp = 8;
	sp.timestamp = ts_names;
	sp.window_size = 2;
	sp.num_windows = 2;
	sp.weekday = wd;
	return sp;
}

/* A series with columns pkts, other (not bytes: it is missing), n rows at times t[]. */
struct hand {
	struct series s;
	char *ts[8];
	char *names[2];
	double values[16];
	unsigned char present[16];
};

static void make_series(struct hand *h, const double *t, size_t n)
{
	static double tt[8];
	memset(h, 0, sizeof *h);
	CHECK(n <= 8);
	h->names[0] = "pkts";
	h->names[1] = "other";
	for (size_t i = 0; i < n; i++) {
		h->ts[i] = "ts";
		tt[i] = t[i];
		h->values[i * 2] = 100.0 * (double)(i + 1);
		h->present[i * 2] = 1;
		h->values[i * 2 + 1] = 7.0;
		h->present[i * 2 + 1] = 1;
	}
	h->s.n = n;
	h->s.ncols = 2;
	h->s.timestamps = h->ts;
	h->s.t = tt;
	h->s.names = h->names;
	h->s.values = h->values;
	h->s.present = h->present;
}

/* 2023-09-21 (Thursday) 09:00:00 UTC */
#define THU_0900 1695286800.0

static void test_rows_quirk(void)
{
	/* Thu 09:00, 09:01, 09:03 (a gap), a duplicate, then Fri 00:00 */
	double t[] = {THU_0900, THU_0900 + 60, THU_0900 + 180, THU_0900 + 180,
	              THU_0900 + 15 * 3600};
	struct hand h;
	make_series(&h, t, 5);
	h.present[2 * 2] = 0; /* pkts missing at row 2 */
	h.values[2 * 2] = NAN;
	struct model_spec sp = make_spec(WEEKDAY_QUIRK);
	struct features f;
	struct rb_err err;
	CHECK(features_build(&f, &h.s, &sp, &err) == RB_OK);
	CHECK(f.n == 5 && f.C == 11 && f.n_scaled == 3);
	/* bytes column: absent from the series -> 0 */
	for (size_t i = 0; i < 5; i++)
		CHECK(f.raw[i * 11 + 0] == 0.0 && f.x[i * 11 + 0] == 0.0);
	CHECK(f.raw[0 * 11 + 1] == 100.0);
	CHECK(f.raw[2 * 11 + 1] == 0.0); /* missing -> 0 */
	/* granularity: first takes the second's, gap, duplicate -> 0 */
	CHECK(f.raw[0 * 11 + 2] == 1.0);
	CHECK(f.raw[1 * 11 + 2] == 1.0);
	CHECK(f.raw[2 * 11 + 2] == 2.0);
	CHECK(f.raw[3 * 11 + 2] == 0.0);
	CHECK(f.raw[4 * 11 + 2] == 15 * 60 - 3);
	/* minute of day, UTC */
	CHECK(f.raw[0 * 11 + 3] == 540.0);
	CHECK(f.raw[2 * 11 + 3] == 543.0);
	CHECK(f.raw[4 * 11 + 3] == 0.0);
	CHECK(NEAR(f.x[2 * 11 + 3], 543.0 / 1440.0, 1e-15));
	/* quirk: Thursday (3) is the smallest day present -> zeros; Friday (4) one-hot */
	for (size_t i = 0; i < 4; i++)
		for (size_t k = 0; k < 7; k++)
			CHECK(f.raw[i * 11 + 4 + k] == 0.0);
	for (size_t k = 0; k < 7; k++)
		CHECK(f.raw[4 * 11 + 4 + k] == (k == 4 ? 1.0 : 0.0));
	/* rescaling */
	CHECK(NEAR(f.x[0 * 11 + 1], tanh(log1p(100.0) / 32.0), 1e-15));
	CHECK(NEAR(f.x[0 * 11 + 2], tanh(log1p(1.0) / 32.0), 1e-15));
	features_release(&f);
	features_release(&f); /* idempotent */
}

static void test_rows_onehot_and_single(void)
{
	double t[] = {THU_0900};
	struct hand h;
	make_series(&h, t, 1);
	struct model_spec sp = make_spec(WEEKDAY_ONEHOT);
	struct features f;
	struct rb_err err;
	CHECK(features_build(&f, &h.s, &sp, &err) == RB_OK);
	CHECK(f.raw[2] == 0.0);                    /* one row: no interval -> 0 */
	CHECK(f.raw[4 + 3] == 1.0 && f.raw[4] == 0.0); /* plain one-hot keeps Thursday */
	features_release(&f);

	/* before 1970: 1969-12-29 is a Monday; 23:59:30 is minute 1439 */
	double t2[] = {-3.0 * 86400.0 + 86370.0, -3.0 * 86400.0 + 86430.0};
	make_series(&h, t2, 2);
	CHECK(features_build(&f, &h.s, &sp, &err) == RB_OK);
	CHECK(f.raw[3] == 1439.0 && f.raw[4 + 0] == 1.0);
	CHECK(f.raw[11 + 3] == 0.0 && f.raw[11 + 4 + 1] == 1.0); /* Tuesday 00:00 */
	features_release(&f);
}

static void test_unknown_column(void)
{
	char *bad[] = {"minute", "hour"};
	double t[] = {THU_0900, THU_0900 + 60};
	struct hand h;
	make_series(&h, t, 2);
	struct model_spec sp = make_spec(WEEKDAY_QUIRK);
	sp.n_timestamp = 2;
	sp.timestamp = bad;
	struct features f;
	struct rb_err err = {RB_OK, ""};
	CHECK(features_build(&f, &h.s, &sp, &err) == RB_E_MODEL);
	CHECKF(strstr(err.msg, "'hour'") != NULL, "%s", err.msg);
	CHECK(f.raw == NULL && f.x == NULL);
}

static void test_scale(void)
{
	CHECK(features_scale(0.0) == 0.0);
	CHECK(features_scale(-5.0) == 0.0); /* clamped */
	CHECK(features_scale(1e308) <= 1.0);
	CHECK(features_scale(1.7976931348623157e308) == 1.0);
	/* the root form against the defining libm form, v over 1e-12 .. 1e300 and at the switch */
	double worst = 0.0;
	struct tu_rng r = {88172645463325252ULL};
	for (int i = 0; i < 400000; i++) {
		double e = -12.0 + 312.0 * tu_rng_unit(&r);
		double v = i == 0 ? 1e-3 : i == 1 ? nextafter(1e-3, 0.0) : pow(10.0, e);
		double d = fabs(features_scale(v) - tanh(log1p(v) / 32.0));
		worst = d > worst ? d : worst;
		/* relative where the value is small: no digits lost below the switch either */
		CHECKF(d <= 4e-16 && d <= 4e-12 * tanh(log1p(v) / 32.0), "v=%.17g: diff %g", v, d);
	}
	printf("features_scale vs tanh(log1p(v)/32): max abs diff %.3g\n", worst);
	double vals[] = {0.0, 1.0, 0.5, 3696668.0, 5.4e10, 1e15};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		double back = features_descale(features_scale(vals[i]));
		CHECKF(NEAR(back, vals[i], 1e-9), "%g -> %g", vals[i], back);
	}
	/* clipping keeps the inverse finite */
	CHECK(isfinite(features_descale(1.0)) && features_descale(1.0) > 1e200);
	CHECK(isfinite(features_descale(2.0)));
	CHECK(isfinite(features_descale(-1.0)) && features_descale(-1.0) >= -1.0);
	CHECK(features_descale(NAN) == 0.0);
}

static void test_windows(void)
{
	/* T = 32, stride 16 */
	CHECK(features_window_count(31, 32, 16) == 0);
	CHECK(features_window_count(32, 32, 16) == 1);
	CHECK(features_window_start(32, 32, 16, 0) == 0);
	CHECK(features_window_count(48, 32, 16) == 2);
	CHECK(features_window_count(60, 32, 16) == 3);
	CHECK(features_window_start(60, 32, 16, 0) == 0);
	CHECK(features_window_start(60, 32, 16, 1) == 16);
	CHECK(features_window_start(60, 32, 16, 2) == 28);
	CHECK(features_window_count(49, 32, 16) == 3);
	CHECK(features_window_start(49, 32, 16, 2) == 17);
	/* every row covered, windows inside [0, n) */
	for (size_t n = 32; n < 200; n++) {
		unsigned cover[200] = {0};
		size_t nw = features_window_count(n, 32, 16);
		for (size_t w = 0; w < nw; w++) {
			size_t s = features_window_start(n, 32, 16, w);
			CHECK(s + 32 <= n);
			for (size_t k = 0; k < 32; k++)
				cover[s + k]++;
		}
		for (size_t i = 0; i < n; i++)
			CHECKF(cover[i] >= 1 && cover[i] <= 3, "n=%zu row %zu cover %u", n, i, cover[i]);
		CHECK(features_window_start(n, 32, 16, nw - 1) == n - 32);
	}
}

static void test_slice(void)
{
	double t[] = {THU_0900, THU_0900 + 60, THU_0900 + 120, THU_0900 + 180};
	struct hand h;
	make_series(&h, t, 4);
	struct model_spec sp = make_spec(WEEKDAY_QUIRK);
	struct features f;
	struct rb_err err;
	CHECK(features_build(&f, &h.s, &sp, &err) == RB_OK);
	float out[2 * 11];
	features_slice(&f, 2, 2, out);
	for (size_t k = 0; k < 22; k++)
		CHECK(out[k] == (float)f.x[2 * 11 + k]);
	features_release(&f);
}

/* ---- the fast forms against plain references ---- */

/* A value of the kinds a traffic series and hostile input hold. */
static double random_value(struct tu_rng *r)
{
	static const double edge[] = {0.0,     -0.0,   1e-3,    -1.0, 1e-300, 4.9e-324,
	                              1e308,   1.7976931348623157e308,    1.0,  2.0,
	                              6.8e-4,  5.0,    1.5648764e7, 1e-17, -1e-320};
	uint64_t k = tu_rng_next(r) % 16;
	if (k == 0)
		return edge[tu_rng_next(r) % (sizeof edge / sizeof edge[0])];
	if (k == 1)
		return nextafter(1e-3, tu_rng_next(r) % 2 ? 0.0 : 1.0);
	if (k == 2) {
		uint64_t bits = tu_rng_next(r); /* any double: NaNs, infinities, subnormals */
		double d;
		memcpy(&d, &bits, sizeof d);
		return d;
	}
	if (k == 3)
		return (double)(tu_rng_next(r) % 100000);
	if (k == 4)
		return -(double)(tu_rng_next(r) % 1000) / 7.0;
	/* log-uniform over 1e-9 .. 1e12 */
	return pow(10.0, -9.0 + 21.0 * tu_rng_unit(r));
}

static int same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

static void test_scale_n(void)
{
	/* what the scalar reference gives where the vector lanes differ most */
	CHECK(same_bits(features_scale(NAN), 0.0) && same_bits(features_scale(-NAN), 0.0));
	CHECK(same_bits(features_scale(-0.0), 0.0) && same_bits(features_scale(-INFINITY), 0.0));

	enum { N = 4096 };
	static double in[N], out[N], out2[N], inplace[N];
	struct tu_rng r = {0x9E3779B97F4A7C15ull};
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
			double want = features_scale(in[k]);
			if (!same_bits(out[k], want) || !same_bits(out2[k], want) ||
			    !same_bits(inplace[k], want)) {
				if (bad++ < 5)
					printf("scale(%a): scalar %a, n %a, baseline %a, in place %a\n",
					       in[k], want, out[k], out2[k], inplace[k]);
			}
		}
	}
	CHECKF(bad == 0, "%zu values differ from the scalar features_scale", bad);

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
			CHECK(k < n ? same_bits(b[k], features_scale(a[k])) : b[k] == -7.0);
			CHECK(k < n ? same_bits(c[k], features_scale(a[k])) : c[k] == -7.0);
		}
	}
}

/* Minute of day and weekday (Monday = 0) of instant t, by libc's gmtime of its whole second. */
static void civil(double t, double *minute, int *weekday)
{
	time_t sec = (time_t)floor(t);
	struct tm tm;
	CHECKF(gmtime_r(&sec, &tm) != NULL, "gmtime of %.17g", t);
	*minute = (double)(tm.tm_hour * 60 + tm.tm_min);
	*weekday = (tm.tm_wday + 6) % 7;
}

static char *m_names[] = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7",
                          "m8", "m9", "m10", "granularity"};

/*
 * Cell (i, c) of the layout m0..m10, granularity, minute, weekday_0..6 on its
 * own (CONTRACT §4): raw into *raw, rescaled into *x. dropped is the quirk's
 * dropped weekday (-1 for plain one-hot).
 */
static void want_cell(const struct series *s, size_t i, size_t c, int dropped, double *raw,
                      double *x)
{
	double v = 0.0, minute;
	int wd;
	civil(s->t[i], &minute, &wd);
	if (c < 11) {
		long col = series_col(s, m_names[c]);
		if (col >= 0 && s->present[i * s->ncols + (size_t)col])
			v = s->values[i * s->ncols + (size_t)col];
	} else if (c == 11 && s->n >= 2) { /* the first row takes the second's interval */
		size_t a = i > 0 ? i - 1 : 0, b = i > 0 ? i : 1;
		v = (s->t[b] - s->t[a]) / 60.0;
	} else if (c == 12) {
		v = minute;
	} else if (c > 12) {
		v = wd == (int)(c - 13) && wd != dropped ? 1.0 : 0.0;
	}
	*raw = v;
	*x = c < 12 ? features_scale(v) : c == 12 ? v / 1440.0 : v;
}

static void test_build_random(void)
{
	struct tu_rng r = {0xD1B54A32D192ED03ull};
	size_t bad = 0;
	for (int trial = 0; trial < 300; trial++) {
		size_t n = 1 + tu_rng_next(&r) % 70, ncols = 1 + tu_rng_next(&r) % 13;
		struct series *s;
		struct rb_err err;
		CHECK(series_alloc(&s, n, ncols, &err) == RB_OK);
		for (size_t c = 0; c < ncols; c++) {
			char name[8];
			snprintf(name, sizeof name, "m%zu", (c * 5 + (size_t)trial) % 14);
			s->names[c] = strdup(name);
			CHECK(s->names[c] != NULL);
		}
		double t = trial % 5 == 0 ? -86400.0 * 40 - 17
		                          : 1695286800.0 + (double)(tu_rng_next(&r) % 1000000);
		if (trial % 11 == 0)
			t = 4.1e12; /* year ~130,000 */
		for (size_t i = 0; i < n; i++) {
			uint64_t step = tu_rng_next(&r) % 8;
			t += step == 0 ? 0.0 : step == 1 ? -120.0 : step == 2 ? 0.5 : 60.0 * (double)step;
			s->t[i] = t;
			for (size_t c = 0; c < ncols; c++) {
				if (tu_rng_next(&r) % 5 != 0) {
					s->values[i * ncols + c] = random_value(&r);
					s->present[i * ncols + c] = 1;
				}
			}
		}
		struct model_spec sp;
		memset(&sp, 0, sizeof sp);
		sp.n_metrics = 12;
		sp.metrics = m_names;
		sp.n_timestamp = 8;
		sp.timestamp = ts_names;
		sp.weekday = trial % 2 ? WEEKDAY_QUIRK : WEEKDAY_ONEHOT;
		int dropped = -1;
		if (sp.weekday == WEEKDAY_QUIRK) { /* the smallest weekday present */
			dropped = 7;
			for (size_t i = 0; i < n; i++) {
				double minute;
				int wd;
				civil(s->t[i], &minute, &wd);
				dropped = wd < dropped ? wd : dropped;
			}
		}

		struct features f;
		CHECK(features_build(&f, s, &sp, &err) == RB_OK);
		CHECK(f.n == n && f.C == 20 && f.n_scaled == 12);
		for (size_t i = 0; i < n; i++) {
			for (size_t c = 0; c < 20; c++) {
				double raw, x;
				want_cell(s, i, c, dropped, &raw, &x);
				size_t k = i * 20 + c;
				if (!same_bits(raw, f.raw[k]) || !same_bits(x, f.x[k])) {
					if (bad++ < 5)
						printf("trial %d row %zu col %zu (t %.17g): raw %a/%a x %a/%a\n",
						       trial, i, c, s->t[i], raw, f.raw[k], x, f.x[k]);
				}
			}
		}
		features_release(&f);
		series_free(s);
	}
	CHECKF(bad == 0, "%zu cells differ from their reference", bad);
}

int main(void)
{
	test_rows_quirk();
	test_rows_onehot_and_single();
	test_unknown_column();
	test_scale();
	test_windows();
	test_slice();
	test_scale_n();
	test_build_random();
	return 0;
}
