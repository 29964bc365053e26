/*
 * test_series_fast: series_parse() against the parser it replaced, kept as
 * the oracle in tests/oracle/series_old.inc (core/input/series.c of commit
 * 71a5065, its public names renamed old_series_*). The new parser puts all
 * timestamps in one block and reads Druid-shaped timestamps of an already
 * seen day through a cache; neither may change a result. For every input
 * and every option set (none, strtod numbers, prescan) both must give the
 * same code and message, or the same series bit for bit: names, timestamp
 * strings, instants, values, presence, counters, order flag. Inputs: Druid
 * bodies (1 hour; rows crossing midnight, month and year ends), every
 * timestamp variant the instant parser knows or refuses (zones, fractions,
 * separators, out-of-range fields right after a cached day, escapes), and
 * 20,000 random mutations (byte flips, cuts, insertions, duplicated spans)
 * of those bodies, with default and small caps. Also that series_free
 * still frees a timestamp replaced by a malloc'd string (ASan build).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb/input/series.h"
#include "testutil.h"

#include "oracle/series_old.h"

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t n_compared, n_ok;

/* Parses body both ways under every option set; they must agree. */
static void compare(const char *body, size_t len, const struct series_limits *lim)
{
	static const unsigned opts[] = {0, SERIES_OPT_NUMBERS_STRTOD, SERIES_OPT_PRESCAN};
	for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
		struct series *a = NULL, *b = NULL;
		struct rb_err ea, eb;
		memset(&ea, 0, sizeof ea);
		memset(&eb, 0, sizeof eb);
		enum rb_code ra = series_parse_with(&a, body, len, lim, opts[k], &ea);
		enum rb_code rb = old_series_parse_with(&b, body, len, lim, opts[k], &eb);
		CHECKF(ra == rb, "codes %d (new) and %d (old) for %.*s", ra, rb, (int)(len < 300 ? len : 300),
		       body);
		if (ra == RB_OK) {
			CHECKF(series_identical(a, b), "different series for %.*s", (int)(len < 300 ? len : 300),
			       body);
			n_ok++;
		} else {
			CHECKF(a == NULL && strcmp(ea.msg, eb.msg) == 0, "messages '%s' (new), '%s' (old)",
			       ea.msg, eb.msg);
		}
		series_free(a);
		old_series_free(b);
		n_compared++;
	}
}

static void compare_str(const char *body)
{
	compare(body, strlen(body), NULL);
}

/* A growable text, exits on failure. */
struct buf {
	char *p;
	size_t n, cap;
};

static void put(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;
		while (cap < b->n + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		CHECK(b->p != NULL);
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n + 1);
	b->n += n;
}

/* n one-minute rows from t0 (seconds), 3 metrics, in Druid's shape; odd values now and then. */
static char *druid_body(long long t0, size_t n, uint64_t *r, int pretty)
{
	struct buf b = {0};
	put(&b, pretty ? "[\n  " : "[");
	for (size_t i = 0; i < n; i++) {
		time_t t = (time_t)(t0 + 60 * (long long)i);
		struct tm tm;
		CHECK(gmtime_r(&t, &tm) != NULL);
		char ts[64], row[512];
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		double v = (double)(next(r) % 1000000) / 7.0;
		const char *extra = next(r) % 10 == 0 ? ",\"x\":null" : next(r) % 10 == 0 ? ",\"y\":\"s\"" : "";
		snprintf(row, sizeof row,
		         "%s{\"timestamp\":\"%s\",%s\"result\":{\"bytes\":%llu,\"pps\":%.17g,"
		         "\"clients\":%.1f%s}}",
		         i == 0 ? "" : pretty ? ",\n  " : ",", ts, pretty ? " " : "",
		         (unsigned long long)(next(r) % 100000000), v, (double)(next(r) % 40), extra);
		put(&b, row);
	}
	put(&b, pretty ? "\n]\n" : "]");
	return b.p;
}

static void test_druid_bodies(void)
{
	uint64_t r = 0x853C49E6748FEA9Bull;
	/* 2023-09-21T09:00Z; 23:30 (crosses midnight); Feb 28 2024 23:50 (leap day);
	 * Dec 31 1969 23:40 (before the epoch) */
	static const long long starts[] = {1695286800LL, 1695339000LL, 1709164200LL, -1200LL};
	for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++) {
		for (int pretty = 0; pretty < 2; pretty++) {
			char *body = druid_body(starts[k], 60, &r, pretty);
			compare_str(body);
			free(body);
		}
	}
}

/* One row with timestamp text ts after a row at 2023-09-21T09:00:00.000Z (the cached day). */
static void compare_timestamp(const char *ts)
{
	char body[512];
	snprintf(body, sizeof body,
	         "[{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"a\":1}},"
	         "{\"timestamp\":\"%s\",\"result\":{\"a\":2}},"
	         "{\"timestamp\":\"2023-09-21T09:02:00.000Z\",\"result\":{\"a\":3}}]",
	         ts);
	compare_str(body);
}

static void test_timestamps(void)
{
	static const char *const ts[] = {
		"2023-09-21T09:01:00.000Z", "2023-09-21T09:01:00Z", "2023-09-21T09:01:00.000z",
		"2023-09-21T09:01:00,000Z", "2023-09-21T09:01:00.001Z", "2023-09-21T09:01:00.0000Z",
		"2023-09-21T09:01:00.00Z", "2023-09-21T09:01:00.000+00:00", "2023-09-21T09:01:00.000+02:00",
		"2023-09-21T09:01:00.000-0130", "2023-09-21T09:01:00.000", "2023-09-21T09:01",
		"2023-09-21T09:01:00.000Z ", "2023-09-21T09:01:60.000Z", "2023-09-21T09:60:00.000Z",
		"2023-09-21T24:00:00.000Z", "2023-09-21T23:59:59.000Z", "2023-09-21T00:00:00.000Z",
		"2023-09-21T9:01:00.000Z", "2023-09-21T09:0a:00.000Z", "2023-09-21T09:01:00.00aZ",
		"2023-09-21T09-01:00.000Z", "2023-09-21t09:01:00.000Z", "2023-09-21 09:01:00.000Z",
		"2023-09-22T09:01:00.000Z", "2023-09-20T09:01:00.000Z", "2023-09-31T09:01:00.000Z",
		"2023-02-29T09:01:00.000Z", "2024-02-29T09:01:00.000Z", "0000-01-01T00:00:00.000Z",
		"9999-12-31T23:59:59.000Z", "2023-09-21T09:01:00.000ZZ", "2023-09-21T09:01:00.0\\u0030\\u0030Z",
		"2023-09-21T09:01:00.000\\u005a", "2023-09-21T09:01:00.000\\u0000", "2023-09-21T09:01:00.000Z\\n",
		"", "2023-09-21", "2023-09-21T09:01:00.000Z2023-09-21T09:01:00.000Z2023-09-21T09:01:00.000Z",
		"2023-09-21T09:01:00.99999999999999999999Z", "\xc3\xa9", "2023-09-21T09:01:00.000\xc3\xa9",
	};
	for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++)
		compare_timestamp(ts[k]);
	/* not strings, twice, absent */
	compare_str("[{\"timestamp\":1,\"result\":{}}]");
	compare_str("[{\"timestamp\":null,\"result\":{}}]");
	compare_str("[{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{}}]");
	compare_str("[{\"result\":{\"a\":1}}]");
	compare_str("[{\"\\u0074imestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"a\":1}}]");
	/* descending and duplicate instants (a stable sort) */
	compare_str("[{\"timestamp\":\"2023-09-21T09:02:00.000Z\",\"result\":{\"a\":1}},"
	            "{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":2}},"
	            "{\"timestamp\":\"2023-09-21T11:01:00+02:00\",\"result\":{\"a\":3}},"
	            "{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"b\":4}}]");
}

/* Applies one random edit to body (a copy); *len is updated. */
static char *mutate(const char *body, size_t *len, uint64_t *r)
{
	size_t n = *len;
	char *m = malloc(n + 64);
	CHECK(m != NULL);
	memcpy(m, body, n);
	size_t at = n > 0 ? (size_t)(next(r) % n) : 0;
	static const char alphabet[] = "0123456789:.-+TZz\"{}[],e \\u";
	switch (next(r) % 6) {
	case 0: /* flip a byte to a JSON / timestamp character */
		if (n > 0)
			m[at] = alphabet[next(r) % (sizeof alphabet - 1)];
		break;
	case 1: /* flip to any byte */
		if (n > 0)
			m[at] = (char)(next(r) & 0xFF);
		break;
	case 2: /* cut */
		n = at;
		break;
	case 3: { /* delete a span */
		size_t k = at + next(r) % 8;
		if (k > n)
			k = n;
		memmove(m + at, m + k, n - k);
		n -= k - at;
		break;
	}
	case 4: /* insert a character */
		memmove(m + at + 1, m + at, n - at);
		m[at] = alphabet[next(r) % (sizeof alphabet - 1)];
		n++;
		break;
	default: { /* duplicate a span of up to 40 bytes */
		size_t k = 1 + next(r) % 40;
		if (at + k > n)
			k = n - at;
		memmove(m + at + k, m + at, n - at);
		n += k;
		break;
	}
	}
	*len = n;
	return m;
}

static void test_mutations(void)
{
	uint64_t r = 0x2545F4914F6CDD1Dull;
	char *bodies[3];
	bodies[0] = druid_body(1695339000LL, 8, &r, 0);
	bodies[1] = druid_body(1709164200LL, 5, &r, 1);
	bodies[2] = strdup("[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":1.5,\"b\":null}},"
	                   "{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"b\":-2e3}}]");
	CHECK(bodies[2] != NULL);
	struct series_limits small = {.max_rows = 6, .max_cols = 3, .max_depth = 4, .max_cells = 12};
	for (int trial = 0; trial < 20000; trial++) {
		const char *base = bodies[trial % 3];
		size_t len = strlen(base);
		char *m = mutate(base, &len, &r);
		int edits = (int)(next(&r) % 3);
		for (int e = 0; e < edits; e++) {
			char *m2 = mutate(m, &len, &r);
			free(m);
			m = m2;
		}
		compare(m, len, trial % 4 == 0 ? &small : NULL);
		free(m);
	}
	for (int k = 0; k < 3; k++)
		free(bodies[k]);
}

/* A parsed series whose timestamp is replaced by one's own string: series_free frees that one. */
static void test_replace_timestamp(void)
{
	const char *body = "[{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"a\":1}},"
	                   "{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":2}}]";
	struct series *s;
	struct rb_err err;
	CHECK(series_parse(&s, body, strlen(body), NULL, &err) == RB_OK);
	CHECK(s->text != NULL && s->text_len == 2 * 25);
	CHECK(s->timestamps[1] == s->text + 25 && strcmp(s->timestamps[1], "2023-09-21T09:01:00.000Z") == 0);
	s->timestamps[0] = strdup("mine"); /* the old one lives in text: not freed by hand */
	CHECK(s->timestamps[0] != NULL);
	series_free(s); /* frees "mine" (a leak under ASan otherwise) and text once */
}

int main(void)
{
	test_druid_bodies();
	test_timestamps();
	test_mutations();
	test_replace_timestamp();
	printf("%zu comparisons with the old parser, %zu parsed OK\n", n_compared, n_ok);
	CHECK(n_ok > 100);
	return 0;
}
