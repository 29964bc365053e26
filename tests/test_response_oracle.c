/*
 * test_response_oracle: response_success() and response_error() (the direct
 * writer of core/answer/response.c) give byte for byte the bodies of the Jansson
 * reference (tests/oracle/response_ref.c): on the upstream sample series through the
 * default and legacy detectors and through the deep model (traffic.keras),
 * on random detections (random bit patterns, decimal-looking, integral,
 * huge, tiny, subnormal, negative, non-finite, exact rounding ties of the
 * 16th digit, powers of ten and their neighbours; instants without a grid,
 * on a grid with missing stretches, irregular), past the cap of the events
 * list, and on timestamps, model
 * and metric names with quotes, backslashes, control bytes, non-ASCII UTF-8,
 * and invalid UTF-8 (both then answer NULL, or the error fallback message).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rb/answer/response.h"
#include "rb/detect/detection.h"
#include "rb/detect/detector.h"
#include "rb/detect/engine.h"
#include "rb/detect/events.h"
#include "rb/model/infer.h"
#include "rb/model/model.h"
#include "oracle/response_ref.h"
#include "rb/input/series.h"
#include "testutil.h"

static double bits_double(uint64_t b)
{
	double v;
	memcpy(&v, &b, sizeof v);
	return v;
}

/* Both bodies equal (or both NULL); names the first difference. */
static void same(const char *what, const char *fast, const char *ref)
{
	if (fast == NULL || ref == NULL) {
		CHECKF(fast == NULL && ref == NULL, "%s: fast %s, ref %s", what,
		       fast ? "non-NULL" : "NULL", ref ? "non-NULL" : "NULL");
		return;
	}
	size_t i = 0;
	while (fast[i] != '\0' && fast[i] == ref[i])
		i++;
	size_t from = i > 60 ? i - 60 : 0;
	CHECKF(fast[i] == ref[i], "%s: differ at byte %zu:\n fast ...%.120s\n  ref ...%.120s", what,
	       i, fast + from, ref + from);
}

static void compare(const char *what, const struct series *s, const struct detection *d)
{
	char *fast = response_success(s, d);
	char *ref = response_success_reference(s, d);
	same(what, fast, ref);
	free(fast);
	free(ref);
}

/* A random double of one of several families (see the file comment). */
static double random_double(struct tu_rng *r)
{
	uint64_t k = tu_rng_next(r) % 12;
	double sign = (tu_rng_next(r) & 1) ? -1.0 : 1.0;
	switch (k) {
	case 0:
	case 1:
		return bits_double(tu_rng_next(r)); /* anything, NaN/Inf/subnormal included */
	case 2:
		return sign * (double)(tu_rng_next(r) % 100000000000ull) /
		       pow(10.0, (double)(tu_rng_next(r) % 12));
	case 3:
		/* integral, up to 2^64 */
		return sign * (double)(tu_rng_next(r) >> (tu_rng_next(r) % 64));
	case 4: {
		/* exact ties at the 16th significant digit: 16-digit integers ending in 5 */
		uint64_t q = 100000000000000ull + tu_rng_next(r) % 800000000000000ull;
		double v = (double)(q * 10u + 5u);
		return sign * ldexp(v, (int)(tu_rng_next(r) % 7) - 3);
	}
	case 5: {
		/* a power of ten or a neighbour, over the whole range */
		double p = pow(10.0, (double)((int)(tu_rng_next(r) % 617) - 308));
		int step = (int)(tu_rng_next(r) % 5) - 2;
		for (; step > 0; step--)
			p = nextafter(p, INFINITY);
		for (; step < 0; step++)
			p = nextafter(p, 0.0);
		return sign * p;
	}
	case 6:
		return sign *
		       ldexp((double)(tu_rng_next(r) >> 11), (int)(tu_rng_next(r) % 300) - 150);
	case 7: {
		static const double special[] = {0.0, -0.0, 1.0, 0.5, 1e15, 1e-5, 1e-4, 1e14,
		                                 999999999999999.5, 99999999999999.95,
		                                 0.000099999999999999995, DBL_MAX, DBL_MIN,
		                                 DBL_TRUE_MIN, 1e-13, 1e38, 1e39, 1e-14,
		                                 36453984.6858499, 0.1, 0.2, 0.3, 1.0 / 3.0};
		return sign * special[tu_rng_next(r) % (sizeof special / sizeof special[0])];
	}
	case 8:
		return (tu_rng_next(r) & 1) ? NAN : sign * INFINITY;
	case 9:
		/* scores around [0, 1) */
		return sign * (double)(tu_rng_next(r) % 100000000ull) * 1e-8;
	default:
		return sign * bits_double((tu_rng_next(r) & 0x000FFFFFFFFFFFFFull) |
		                          ((uint64_t)(1023 - 60 + tu_rng_next(r) % 200) << 52));
	}
}

/* A random timestamp-like string; bad is set to make some of them invalid UTF-8. */
static char *random_ts(struct tu_rng *r, int allow_bad)
{
	static const char *pieces[] = {"2023-09-21T09:00:00.000Z", "\"", "\\", "\n", "\t", "\x01",
	                               "\x1f", "\b", "\f", "\r", "/", "\x7f", "\xc3\xa9",
	                               "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xe2\x80\xa8", "+02:00",
	                               " ", "u0041", "abc"};
	static const char *bad[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	                            "\xe2\x82", "\x80", "\xf8\x88\x80\x80\x80"};
	char *t = malloc(256);
	CHECK(t != NULL);
	size_t len = 0;
	size_t parts = tu_rng_next(r) % 6;
	for (size_t p = 0; p < parts; p++) {
		const char *piece = pieces[tu_rng_next(r) % (sizeof pieces / sizeof pieces[0])];
		if (allow_bad && tu_rng_next(r) % 50 == 0)
			piece = bad[tu_rng_next(r) % (sizeof bad / sizeof bad[0])];
		size_t n = strlen(piece);
		memcpy(t + len, piece, n);
		len += n;
	}
	t[len] = '\0';
	return t;
}

static void test_random(void)
{
	struct tu_rng r = {0x9E3779B97F4A7C15ull};
	struct rb_err err;
	for (int round = 0; round < 60; round++) {
		size_t n = tu_rng_next(&r) % 300;
		struct series *s = NULL;
		CHECK(series_alloc(&s, n, 1, &err) == RB_OK);
		int allow_bad = round % 3 == 2;
		double t = 1695286800.0 + (double)(tu_rng_next(&r) % 100000);
		for (size_t i = 0; i < n; i++) {
			s->timestamps[i] = random_ts(&r, allow_bad);
			/* rounds 0, 3, 6, ..: instants 0 (no grid); else a one-minute grid with
			 * missing stretches (gap events), and every fifth round irregular */
			if (round % 3 != 0) {
				uint64_t k = tu_rng_next(&r) % 16;
				t += round % 5 == 4 ? (double)(tu_rng_next(&r) % 1000) / 7.0
				                    : 60.0 * (double)(k < 13 ? 1 : k - 11);
				s->t[i] = t;
			}
		}
		struct detection d;
		CHECK(detection_init(&d, n, &err) == RB_OK);
		for (size_t i = 0; i < n; i++) {
			d.expected[i] = random_double(&r);
			d.observed[i] = random_double(&r);
			d.score[i] = random_double(&r);
			d.anomaly[i] = (unsigned char)(tu_rng_next(&r) % 3 == 0);
		}
		d.threshold = random_double(&r);
		char *m = random_ts(&r, allow_bad);
		snprintf(d.model, sizeof d.model, "%.40s", m);
		free(m);
		m = random_ts(&r, allow_bad);
		snprintf(d.metric, sizeof d.metric, "%.40s", m);
		free(m);
		char what[64];
		snprintf(what, sizeof what, "random round %d (%zu rows)", round, n);
		compare(what, s, &d);
		detection_release(&d);
		series_free(s);
	}
}

/* Many doubles per body: one body of 20,000 rows of random doubles, plain timestamps. */
static void test_many_doubles(void)
{
	struct tu_rng r = {0x1234567887654321ull};
	struct rb_err err;
	size_t n = 20000;
	struct series *s = NULL;
	CHECK(series_alloc(&s, n, 1, &err) == RB_OK);
	for (size_t i = 0; i < n; i++) {
		s->timestamps[i] = malloc(8);
		CHECK(s->timestamps[i] != NULL);
		snprintf(s->timestamps[i], 8, "t%zu", i % 1000);
	}
	struct detection d;
	CHECK(detection_init(&d, n, &err) == RB_OK);
	for (size_t i = 0; i < n; i++) {
		d.expected[i] = random_double(&r);
		d.observed[i] = random_double(&r);
		d.score[i] = random_double(&r);
		d.anomaly[i] = 1;
	}
	d.threshold = 0.0113;
	compare("many doubles", s, &d);
	detection_release(&d);
	series_free(s);
}

/*
 * The events past their cap: a one-minute series with a missing minute after
 * every third row (hostile: a gap per three rows) and three rows in four
 * flagged, so that both kinds fill the list and "events_truncated" follows it.
 */
static void test_many_events(void)
{
	struct rb_err err;
	size_t n = 2 * EVENTS_MAX; /* 6,666 gaps and about 8,300 runs */
	struct series *s = NULL;
	CHECK(series_alloc(&s, n, 1, &err) == RB_OK);
	struct detection d;
	CHECK(detection_init(&d, n, &err) == RB_OK);
	for (size_t i = 0; i < n; i++) {
		s->timestamps[i] = malloc(16);
		CHECK(s->timestamps[i] != NULL);
		snprintf(s->timestamps[i], 16, "r%zu", i);
		/* a missing minute after every third row: two spacings in three are one minute */
		s->t[i] = 1695286800.0 + 60.0 * (double)(i + i / 3);
		d.expected[i] = 10.0;
		d.observed[i] = (i % 3 == 0) ? 20.0 : 1.5;
		d.score[i] = (double)(i % 7) * 0.25;
		d.anomaly[i] = i % 4 != 3;
	}
	compare("many events", s, &d);
	char *body = response_success(s, &d);
	CHECK(body != NULL && strstr(body, ",\"events_truncated\":true}") != NULL);
	free(body);
	detection_release(&d);
	series_free(s);
}

static struct series *load(const char *rel)
{
	size_t len = 0;
	char *text = tu_read_file(tu_shared(rel), &len);
	struct series *s = NULL;
	struct rb_err err;
	CHECKF(series_parse(&s, text, len, NULL, &err) == RB_OK, "%s: %s", rel, err.msg);
	free(text);
	return s;
}

static void test_upstream(void)
{
	static const char *files[] = {"upstream/example_data.json",
	                              "upstream/outliers_test_data.json",
	                              "upstream/shallow_outliers_test_data.json"};
	static const char *detectors[] = {DETECTOR_DEFAULT, DETECTOR_LEGACY};
	struct rb_err err;
	struct model *m = NULL;
	struct infer *inf = NULL;
	CHECKF(model_load(&m, tu_shared("upstream"), "traffic", &err) == RB_OK, "%s", err.msg);
	CHECKF(infer_new(&inf, m, INFER_REFERENCE, &err) == RB_OK, "%s", err.msg);
	int deep_runs = 0;
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		struct series *s = load(files[f]);
		for (size_t k = 0; k < 2; k++) {
			struct detector_opts o = {detectors[k], NULL, "bytes", NAN};
			struct detection d;
			memset(&d, 0, sizeof d);
			CHECKF(detector_run(s, &o, &d, &err) == RB_OK, "%s: %s", files[f], err.msg);
			compare(files[f], s, &d);
			detection_release(&d);
		}
		struct detection d;
		memset(&d, 0, sizeof d);
		if (engine_run_model(inf, m, s, "bytes", &d, &err) == RB_OK) {
			compare(files[f], s, &d);
			deep_runs++;
		}
		detection_release(&d);
		series_free(s);
	}
	CHECK(deep_runs >= 1);
	infer_free(inf);
	model_free(m);
}

static void test_error_bodies(void)
{
	struct tu_rng r = {0xDEADBEEFCAFEF00Dull};
	const char *fixed[] = {NULL, "", "error", "bad \xff utf8", "quote \" and \\ backslash",
	                       "ctl \x01\x1f\x7f", "\xc3\xa9t\xc3\xa9", "\xed\xa0\x80"};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		char *a = response_error(fixed[i]);
		char *b = response_error_reference(fixed[i]);
		CHECK(a != NULL);
		same("error body", a, b);
		free(a);
		free(b);
	}
	for (int i = 0; i < 300; i++) {
		char *msg = random_ts(&r, 1);
		char *a = response_error(msg);
		char *b = response_error_reference(msg);
		CHECK(a != NULL);
		same("random error body", a, b);
		free(a);
		free(b);
		free(msg);
	}
}

int main(void)
{
	test_random();
	test_many_doubles();
	test_many_events();
	test_error_bodies();
	test_upstream();
	return 0;
}
