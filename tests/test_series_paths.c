/*
 * series paths: series_parse() (one quick pass, exact fast numbers, a cache
 * of the day of Druid-shaped timestamps, all timestamps in one block) gives
 * exactly what the careful path gives (series_parse_with PRESCAN: rows cut by
 * a separate scan first; NUMBERS_STRTOD: every number through strtod), which
 * is the reader as it was before those speed-ups: the same code, the same
 * message when it fails, the same series bit for bit when it does not. Each
 * option alone is held to the same. Beyond the two paths, which share the
 * day cache: every instant read equals, bit for bit, what the plain instant
 * parser (series_instant_error, no cache) gives for the row's timestamp
 * string; rows written from libc's gmtime carry the instants they were
 * written from; and whether a timestamp after a cached day is accepted is
 * what the instant parser says of its string as Jansson decodes it.
 * Inputs: the series and series_paths fuzz seeds, generated Druid bodies
 * (key orders that change, nulls, strings, nested values, descending and
 * shuffled rows, escaped keys, pretty-printed; one-minute rows across
 * midnight, a leap day and the epoch), every timestamp variant the instant
 * parser knows or refuses, every truncation and many one-byte edits of small
 * bodies, and 20,000 random edits (byte flips, cuts, insertions, duplicated
 * spans) of Druid bodies, under default and under tight caps.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "rb/input/series.h"
#include "testutil.h"

static size_t compared, failures_compared;

/* Every row's instant is the plain instant parser's reading of its timestamp, bit for bit. */
static void same_instants(const struct series *s)
{
	for (size_t i = 0; i < s->n; i++) {
		double t = 0.0;
		const char *why = series_instant_error(s->timestamps[i], &t);
		CHECKF(why == NULL, "row %zu: '%s' was accepted, the instant parser says: %s", i,
		       s->timestamps[i], why);
		CHECKF(memcmp(&t, &s->t[i], sizeof t) == 0, "row %zu: '%s' read as %.17g, not %.17g", i,
		       s->timestamps[i], s->t[i], t);
	}
}

/* series_parse_with(opts) against the careful path on one text under one set of caps. */
static void same_paths_opts(const char *text, size_t len, const struct series_limits *lim,
                            unsigned opts)
{
	struct series *a = NULL, *b = NULL;
	struct rb_err ea = {0}, eb = {0};
	enum rb_code ra = series_parse_with(&a, text, len, lim, opts, &ea);
	enum rb_code rb = series_parse_with(&b, text, len, lim,
	                                    SERIES_OPT_PRESCAN | SERIES_OPT_NUMBERS_STRTOD, &eb);
	CHECKF(ra == rb, "codes %d and %d on '%.*s' (%s)", ra, rb, (int)(len < 200 ? len : 200),
	       text, eb.msg);
	compared++;
	if (ra != RB_OK) {
		CHECK(a == NULL && b == NULL);
		CHECKF(ea.code == eb.code && strcmp(ea.msg, eb.msg) == 0, "'%s' and '%s' on '%.*s'",
		       ea.msg, eb.msg, (int)(len < 200 ? len : 200), text);
		failures_compared++;
		return;
	}
	CHECK(a->n == b->n && a->ncols == b->ncols && a->n_null == b->n_null &&
	      a->n_nonnumeric == b->n_nonnumeric && a->reordered == b->reordered);
	for (size_t c = 0; c < a->ncols; c++)
		CHECK(strcmp(a->names[c], b->names[c]) == 0);
	for (size_t i = 0; i < a->n; i++) {
		CHECK(strcmp(a->timestamps[i], b->timestamps[i]) == 0);
		CHECK(memcmp(&a->t[i], &b->t[i], sizeof(double)) == 0);
	}
	CHECK(memcmp(a->values, b->values, a->n * a->ncols * sizeof(double)) == 0);
	CHECK(memcmp(a->present, b->present, a->n * a->ncols) == 0);
	same_instants(a);
	series_free(a);
	series_free(b);
}

/* series_parse() against the careful path. */
static void same_paths(const char *text, size_t len, const struct series_limits *lim)
{
	same_paths_opts(text, len, lim, 0);
}

static const struct series_limits TIGHT[] = {
	{0},
	{.max_rows = 3, .max_depth = 3, .max_cols = 3, .max_cells = 8},
	{.max_rows = 2, .max_depth = 4, .max_cols = 2, .max_cells = 4, .max_bytes = 300},
	{.max_depth = 2},
};

static void all_limits(const char *text, size_t len)
{
	for (size_t k = 0; k < sizeof TIGHT / sizeof TIGHT[0]; k++)
		same_paths(text, len, &TIGHT[k]);
}

/* A Druid-like body of n rows into buf (size cap); returns its length. */
static size_t make_body(char *buf, size_t cap, size_t n, struct tu_rng *rng)
{
	static const char *const keys[] = {"bytes", "pkts", "clients", "bps", "a\\u0062c", "x"};
	static const char *const odd[] = {"null", "\"12\"", "true", "[1,{\"k\":2}]", "{\"a\":[]}",
	                                  "-0", "1e-400", "123456789012345678901234567890",
	                                  "0.1000000000000000055511151231257827"};
	size_t o = 0;
	int pretty = tu_rng_next(rng) % 4 == 0;
	int order = (int)(tu_rng_next(rng) % 3); /* 0 ascending, 1 descending, 2 shuffled */
	o += (size_t)snprintf(buf + o, cap - o, "%s[", pretty ? " \n" : "");
	for (size_t i = 0; i < n && o + 400 < cap; i++) {
		size_t minute = order == 0 ? i : order == 1 ? n - i : tu_rng_next(rng) % (n + 1);
		o += (size_t)snprintf(buf + o, cap - o,
		                      "%s{%s\"timestamp\"%s:\"2023-09-21T%02zu:%02zu:00.000Z\",%s"
		                      "\"result\":{",
		                      i > 0 ? "," : "", pretty ? "\n  " : "", pretty ? " " : "",
		                      9 + minute / 60 % 10, minute % 60, pretty ? " " : "");
		size_t nk = 1 + tu_rng_next(rng) % 5;
		/* order mostly stable */
		size_t k0 = tu_rng_next(rng) % 3 == 0 ? tu_rng_next(rng) % 6 : 0;
		for (size_t k = 0; k < nk; k++) {
			uint64_t r = tu_rng_next(rng);
			const char *key = keys[(k0 + k) % 6];
			o += (size_t)snprintf(buf + o, cap - o, "%s\"%s\":", k > 0 ? "," : "", key);
			if (r % 7 == 0) {
				o += (size_t)snprintf(buf + o, cap - o, "%s", odd[(r >> 8) % 9]);
			} else if (r % 7 == 1) {
				o += (size_t)snprintf(buf + o, cap - o, "%llu",
				                      (unsigned long long)(r >> 20));
			} else {
				double x = (double)(r >> 11) / (double)(1 + (r >> 50));
				o += (size_t)snprintf(buf + o, cap - o, (r >> 9) % 2 ? "%.17g" : "%.15g", x);
			}
		}
		o += (size_t)snprintf(buf + o, cap - o, "}%s}",
		                      tu_rng_next(rng) % 9 == 0 ? ",\"v\":1" : "");
	}
	o += (size_t)snprintf(buf + o, cap - o, "]%s", pretty ? "\n" : "");
	return o;
}

/* Every seed of one fuzz corpus (tests/fuzz/corpus/<name>). */
static void seeds(const char *corpus)
{
	const char *dir = tu_source(corpus);
	DIR *d = opendir(dir);
	CHECKF(d != NULL, "%s", dir);
	char path[4096];
	struct dirent *e;
	size_t files = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t len;
		char *text = tu_read_file(path, &len);
		all_limits(text, len);
		free(text);
		files++;
	}
	closedir(d);
	CHECKF(files >= 2, "%s: %zu seeds", dir, files);
}

/* A growable text; exits on failure. */
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

/* n one-minute rows from t0 (seconds; timestamps by gmtime), 3 metrics, in Druid's shape;
 * a null or a string now and then. malloc'd. */
static char *druid_body(long long t0, size_t n, struct tu_rng *r, int pretty)
{
	struct buf b = {0};
	put(&b, pretty ? "[\n  " : "[");
	for (size_t i = 0; i < n; i++) {
		time_t t = (time_t)(t0 + 60 * (long long)i);
		struct tm tm;
		CHECK(gmtime_r(&t, &tm) != NULL);
		char ts[64], row[512];
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		double v = (double)(tu_rng_next(r) % 1000000) / 7.0;
		const char *extra = tu_rng_next(r) % 10 == 0   ? ",\"x\":null"
		                    : tu_rng_next(r) % 10 == 0 ? ",\"y\":\"s\""
		                                               : "";
		snprintf(row, sizeof row,
		         "%s{\"timestamp\":\"%s\",%s\"result\":{\"bytes\":%llu,\"pps\":%.17g,"
		         "\"clients\":%.1f%s}}",
		         i == 0 ? "" : pretty ? ",\n  " : ",", ts, pretty ? " " : "",
		         (unsigned long long)(tu_rng_next(r) % 100000000), v,
		         (double)(tu_rng_next(r) % 40), extra);
		put(&b, row);
	}
	put(&b, pretty ? "\n]\n" : "]");
	return b.p;
}

/* One-minute Druid bodies across midnight, a leap day and the epoch: read as written. */
static void druid_days(void)
{
	struct tu_rng r = {0x853C49E6748FEA9Bull};
	/* 2023-09-21T09:00Z; 23:30 (crosses midnight); Feb 28 2024 23:50 (leap day);
	 * Dec 31 1969 23:40 (before the epoch); Dec 31 2023 23:30 (a year's end) */
	static const long long starts[] = {1695286800LL, 1695339000LL, 1709164200LL, -1200LL,
	                                   1704065400LL};
	for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++) {
		for (int pretty = 0; pretty < 2; pretty++) {
			char *body = druid_body(starts[k], 60, &r, pretty);
			all_limits(body, strlen(body));
			struct series *s;
			struct rb_err err = {0};
			CHECKF(series_parse(&s, body, strlen(body), NULL, &err) == RB_OK, "%s", err.msg);
			CHECK(s->n == 60 && s->ncols >= 3 && !s->reordered);
			for (size_t i = 0; i < s->n; i++)
				CHECKF(s->t[i] == (double)(starts[k] + 60 * (long long)i),
				       "start %lld row %zu: %s read as %.17g", starts[k], i,
				       s->timestamps[i], s->t[i]);
			series_free(s);
			free(body);
		}
	}
}

/*
 * One row with timestamp text ts (JSON string content) between two rows of
 * 2023-09-21 (the cached day): both paths agree (same_paths), and the body is
 * accepted exactly when Jansson reads it and the instant parser accepts the
 * string Jansson decodes (at most SERIES_INSTANT_MAX bytes); a refusal names
 * row 2.
 */
static void timestamp_after_cached_day(const char *ts)
{
	char body[512];
	snprintf(body, sizeof body,
	         "[{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"a\":1}},"
	         "{\"timestamp\":\"%s\",\"result\":{\"a\":2}},"
	         "{\"timestamp\":\"2023-09-21T09:02:00.000Z\",\"result\":{\"a\":3}}]",
	         ts);
	size_t len = strlen(body);
	all_limits(body, len);

	json_error_t je;
	json_t *j = json_loadb(body, len, 0, &je); /* new */
	int want_ok = 0;
	if (j != NULL) {
		const char *dec = json_string_value(json_object_get(json_array_get(j, 1), "timestamp"));
		CHECK(dec != NULL);
		double t;
		want_ok = strlen(dec) <= SERIES_INSTANT_MAX && series_instant_error(dec, &t) == NULL;
		json_decref(j);
	}
	struct series *s;
	struct rb_err err = {0};
	enum rb_code rc = series_parse(&s, body, len, NULL, &err);
	CHECKF((rc == RB_OK) == want_ok, "timestamp '%s': code %d (%s), want %s", ts, rc, err.msg,
	       want_ok ? "accepted" : "refused");
	if (rc == RB_OK) {
		CHECK(s->n == 3);
		series_free(s);
	} else {
		CHECKF(rc == RB_E_INPUT && strstr(err.msg, "row 2 (1-based)") != NULL,
		       "timestamp '%s': %s", ts, err.msg);
	}
}

static void timestamps(void)
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
		"9999-12-31T23:59:59.000Z", "2023-09-21T09:01:00.000ZZ",
		"2023-09-21T09:01:00.0\\u0030\\u0030Z", "2023-09-21T09:01:00.000\\u005a",
		"2023-09-21T09:01:00.000\\u0000", "2023-09-21T09:01:00.000Z\\n", "", "2023-09-21",
		"2023-09-21T09:01:00.000Z2023-09-21T09:01:00.000Z2023-09-21T09:01:00.000Z",
		"2023-09-21T09:01:00.99999999999999999999Z", "\xc3\xa9", "2023-09-21T09:01:00.000\xc3\xa9",
	};
	for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++)
		timestamp_after_cached_day(ts[k]);
	/* not strings, twice, absent, an escaped key; descending and duplicate instants */
	static const char *const bodies[] = {
		"[{\"timestamp\":1,\"result\":{}}]",
		"[{\"timestamp\":null,\"result\":{}}]",
		"[{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"timestamp\":\"2023-09-21T09:00:00.000Z\","
		"\"result\":{}}]",
		"[{\"result\":{\"a\":1}}]",
		"[{\"\\u0074imestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"a\":1}}]",
		"[{\"timestamp\":\"2023-09-21T09:02:00.000Z\",\"result\":{\"a\":1}},"
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":2}},"
		"{\"timestamp\":\"2023-09-21T11:01:00+02:00\",\"result\":{\"a\":3}},"
		"{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"b\":4}}]",
	};
	for (size_t k = 0; k < sizeof bodies / sizeof bodies[0]; k++)
		all_limits(bodies[k], strlen(bodies[k]));
}

/* Applies one random edit to body (a copy, malloc'd); *len is updated. */
static char *mutate(const char *body, size_t *len, struct tu_rng *r)
{
	size_t n = *len;
	char *m = malloc(n + 64);
	CHECK(m != NULL);
	memcpy(m, body, n);
	size_t at = n > 0 ? (size_t)(tu_rng_next(r) % n) : 0;
	static const char alphabet[] = "0123456789:.-+TZz\"{}[],e \\u";
	switch (tu_rng_next(r) % 6) {
	case 0: /* flip a byte to a JSON / timestamp character */
		if (n > 0)
			m[at] = alphabet[tu_rng_next(r) % (sizeof alphabet - 1)];
		break;
	case 1: /* flip to any byte */
		if (n > 0)
			m[at] = (char)(tu_rng_next(r) & 0xFF);
		break;
	case 2: /* cut */
		n = at;
		break;
	case 3: { /* delete a span */
		size_t k = at + tu_rng_next(r) % 8;
		if (k > n)
			k = n;
		memmove(m + at, m + k, n - k);
		n -= k - at;
		break;
	}
	case 4: /* insert a character */
		memmove(m + at + 1, m + at, n - at);
		m[at] = alphabet[tu_rng_next(r) % (sizeof alphabet - 1)];
		n++;
		break;
	default: { /* duplicate a span of up to 40 bytes */
		size_t k = 1 + tu_rng_next(r) % 40;
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

/*
 * The fast path for rows written exactly as Druid writes them (series.c read_row_druid)
 * at each of its edges: rows of the canonical form between which one row differs in one
 * way (key order, a new, missing or repeated key, no key, more keys than the fast path
 * takes, a null, a string, numbers of every form, an escaped or a non-ASCII name, another
 * day, another timestamp form or an invalid one, whitespace, a third key, a nested
 * result). Each body against the careful path, with and without the fast path, under
 * every set of caps; and a body whose rows are all canonical is read as the general
 * reader reads it, 5,000 rows over four days.
 */
static void druid_rows_fast(void)
{
	static const char *const odd[] = {
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"b\":2,\"a\":1}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"b\":2,\"c\":3}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"b\":1}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"a\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"b\":2,\"a\":3}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":null,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"b\":\"2\"}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":-0,\"b\":-0.0}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1.5E7,\"b\":6.8e-4}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1e400,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":01,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1.,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":-,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1 ,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"b\":2} }",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"b\":2},\"v\":1}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"b\":{\"c\":2}}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"\\u0061\":1,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"b\xc3\xa9\":2}}",
		"{\"timestamp\":\"2023-09-22T00:00:00.000Z\",\"result\":{\"a\":1,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":1,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.500Z\",\"result\":{\"a\":1,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000+01:00\",\"result\":{\"a\":1,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T24:00:00.000Z\",\"result\":{\"a\":1,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:60:00.000Z\",\"result\":{\"a\":1,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\" ,\"result\":{\"a\":1,\"b\":2}}",
		"{\"result\":{\"a\":1,\"b\":2},\"timestamp\":\"2023-09-21T09:01:00.000Z\"}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"b\":2}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"b\":2}}}",
		"{\"timestamp\":\"2023-09-21T08:59:00.000Z\",\"result\":{\"a\":1,\"b\":2}}",
		"{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"b\":2,\"c\":3,"
		"\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,\"l\":12,"
		"\"m\":13,\"n\":14,\"o\":15,\"p\":16,\"q\":17}}",
	};
	static const char first[] =
		"{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"a\":1,\"b\":2}}";
	static const char after[] =
		"{\"timestamp\":\"2023-09-21T09:02:00.000Z\",\"result\":{\"a\":3,\"b\":4}}";
	for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
		for (int where = 0; where < 2; where++) {
			struct buf b = {0};
			put(&b, "[");
			put(&b, first);
			put(&b, ",");
			put(&b, where == 0 ? odd[k] : after);
			put(&b, ",");
			put(&b, where == 0 ? after : odd[k]);
			put(&b, ",");
			put(&b, after);
			put(&b, "]");
			for (size_t t = 0; t < sizeof TIGHT / sizeof TIGHT[0]; t++) {
				same_paths_opts(b.p, b.n, &TIGHT[t], 0);
				same_paths_opts(b.p, b.n, &TIGHT[t], SERIES_OPT_ROWS_GENERAL);
			}
			free(b.p);
		}
	}
	struct tu_rng r = {0x9E3779B97F4A7C15ull};
	char *body = druid_body(1695286800LL - 3 * 86400, 5000, &r, 0);
	same_paths_opts(body, strlen(body), NULL, 0);
	same_paths_opts(body, strlen(body), NULL, SERIES_OPT_ROWS_GENERAL);
	free(body);
}

/*
 * Metric names of every length around the fast row reader's 32-byte key
 * compare ('"' name '"' ':' of 28 to 33 bytes: the longest are read the
 * general way) and rows of up to 70 metrics (columns past 63 and rows past
 * 16 values are read the general way), in rows long enough that the fast
 * reader is tried: the same series as the general reader, bit for bit.
 */
static void druid_rows_keys(void)
{
	static const size_t lens[] = {3, 12, 13, 14, 27, 28, 29, 30, 31, 40};
	static const size_t widths[] = {1, 2, 15, 16, 17, 63, 64, 65, 70};
	for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
		for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
			struct buf b = {0};
			put(&b, "[");
			for (int row = 0; row < 6; row++) {
				char ts[96];
				snprintf(ts, sizeof ts,
				         "%s{\"timestamp\":\"2023-09-21T09:%02d:00.000Z\",\"result\":{",
				         row == 0 ? "" : ",", row);
				put(&b, ts);
				for (size_t c = 0; c < widths[w]; c++) {
					/* column c's name: lens[l] bytes, unique by its first three */
					char name[64];
					snprintf(name, sizeof name, "%03zu", c);
					size_t n = strlen(name);
					for (; n < lens[l] && n + 1 < sizeof name; n++)
						name[n] = (char)('a' + (c + n) % 26);
					name[lens[l] < n ? lens[l] : n] = '\0';
					char cell[160];
					snprintf(cell, sizeof cell, "%s\"%s\":%s", c == 0 ? "" : ",", name,
					         (row + c) % 3 == 0 ? "0.16021505376344086"
					         : (row + c) % 3 == 1 ? "-298" : "1.5E7");
					put(&b, cell);
				}
				put(&b, "}}");
			}
			put(&b, "]");
			same_paths_opts(b.p, b.n, NULL, 0);
			same_paths_opts(b.p, b.n, NULL, SERIES_OPT_ROWS_GENERAL);
			free(b.p);
		}
	}
}

/* 20,000 bodies of one to three random edits each, through series_parse and each option. */
static void mutations(void)
{
	struct tu_rng r = {0x2545F4914F6CDD1Dull};
	char *bodies[3];
	bodies[0] = druid_body(1695339000LL, 8, &r, 0);
	bodies[1] = druid_body(1709164200LL, 5, &r, 1);
	bodies[2] = strdup("[{\"timestamp\":\"2023-09-21T09:00:00Z\","
	                   "\"result\":{\"a\":1.5,\"b\":null}},"
	                   "{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"b\":-2e3}}]");
	CHECK(bodies[2] != NULL);
	static const struct series_limits small = {
		.max_rows = 6, .max_cols = 3, .max_depth = 4, .max_cells = 12};
	static const unsigned opts[] = {0, SERIES_OPT_NUMBERS_STRTOD, SERIES_OPT_PRESCAN,
	                                SERIES_OPT_ROWS_GENERAL};
	for (int trial = 0; trial < 20000; trial++) {
		const char *base = bodies[trial % 3];
		size_t len = strlen(base);
		char *m = mutate(base, &len, &r);
		int edits = (int)(tu_rng_next(&r) % 3);
		for (int e = 0; e < edits; e++) {
			char *m2 = mutate(m, &len, &r);
			free(m);
			m = m2;
		}
		same_paths_opts(m, len, trial % 4 == 0 ? &small : NULL, opts[(trial / 3) % 4]);
		free(m);
	}
	for (int k = 0; k < 3; k++)
		free(bodies[k]);
}

/* Texts that end inside the array, with no bracket or comma after the last one. */
static void truncated(void)
{
	static const char *const texts[] = {
		"[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":1}}\xdd",
		"[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":1}} x",
		"[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":12",
		"[1",
	};
	for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
		struct series *s = NULL;
		struct rb_err err = {0};
		CHECK(series_parse(&s, texts[k], strlen(texts[k]), NULL, &err) == RB_E_INPUT);
		CHECKF(strcmp(err.msg, "invalid JSON: the text ends inside row 1 (1-based); "
		                       "truncated?") == 0, "'%s': %s", texts[k], err.msg);
		all_limits(texts[k], strlen(texts[k]));
	}
}

int main(void)
{
	truncated();
	seeds("tests/fuzz/corpus/series");
	seeds("tests/fuzz/corpus/series_paths");
	druid_days();
	druid_rows_fast();
	druid_rows_keys();
	timestamps();
	mutations();
	struct tu_rng rng = {42};
	static char body[1 << 16], edit[1 << 16];
	for (int k = 0; k < 300; k++) {
		size_t len = make_body(body, sizeof body, 1 + tu_rng_next(&rng) % 40, &rng);
		all_limits(body, len);
	}
	/* Every truncation and one-byte edits of small bodies. */
	static const char bytes[] = {',', ']', '}', '[', '{', '"', '\\', ' ', ':', 'x', '0', '-',
	                             '.', 'e', '\0', (char)0xC3};
	for (int k = 0; k < 12; k++) {
		size_t len = make_body(body, sizeof body, 1 + tu_rng_next(&rng) % 4, &rng);
		for (size_t cut = 0; cut <= len; cut++)
			all_limits(body, cut);
		for (size_t at = 0; at < len; at++) {
			memcpy(edit, body, len);
			edit[at] = bytes[tu_rng_next(&rng) % sizeof bytes];
			all_limits(edit, len);
			memcpy(edit, body, at);
			memcpy(edit + at + 1, body + at, len - at);
			edit[at] = bytes[tu_rng_next(&rng) % sizeof bytes];
			all_limits(edit, len + 1);
		}
	}
	CHECK(compared > 10000 && failures_compared > 1000 && compared - failures_compared > 1000);
	printf("compared %zu parses, %zu of them failures\n", compared, failures_compared);
	return 0;
}
