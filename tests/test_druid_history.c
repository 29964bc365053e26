/*
 * druid_history: the query's intervals extended backwards for history
 * (druid_query_add_history, druid_query_prepare_history,
 * druid_history_rows_before, druid_instant_ms, civil_format_ms;
 * docs/DRUID.md "History"). Pure functions, tested directly: the exact
 * intervals sent, the row counts and caps, when history is skipped, and the
 * 400s for intervals it cannot read. Never the network.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/druid/druid_query.h"
#include "rb/input/civil.h"
#include "testutil.h"

#define MIN_MS INT64_C(60000)
#define DAY_MS INT64_C(86400000)

/* A timeseries query with the given intervals JSON and granularity JSON (plus extra keys). */
static json_t *query(const char *intervals, const char *granularity, const char *extra)
{
	size_t cap = strlen(intervals) + 1024;
	char *text = malloc(cap);
	CHECK(text != NULL);
	snprintf(text, cap,
	         "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"granularity\":%s,"
	         "\"intervals\":%s,\"filter\":{\"type\":\"selector\",\"dimension\":\"sensor_name\","
	         "\"value\":\"FlowSensor\"},\"aggregations\":[{\"type\":\"longSum\",\"name\":"
	         "\"bytes\",\"fieldName\":\"sum_bytes\"}]%s}",
	         granularity, intervals, extra != NULL ? extra : "");
	json_error_t jerr;
	json_t *q = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	CHECKF(q != NULL, "%s: %s", text, jerr.text);
	free(text);
	return q;
}

/* Adds history and checks the resulting intervals (compact JSON) and rows. */
static void extends(const char *intervals, const char *granularity, int64_t history_ms,
                    size_t max_rows, const char *want_intervals, size_t want_rows,
                    int64_t want_start)
{
	json_t *q = query(intervals, granularity, NULL);
	json_t *before = json_deep_copy(q);
	json_t *out = NULL;
	struct druid_history h;
	struct rb_err err = {0};
	enum rb_code rc = druid_query_add_history(&out, q, history_ms, max_rows, &h, &err);
	CHECKF(rc == RB_OK, "%s: %s", intervals, err.msg);
	CHECKF(out != NULL, "%s: no history added (%s)", intervals, h.none);
	CHECKF(json_equal(q, before), "%s: the caller's query was modified", intervals);
	char *iv = json_dumps(json_object_get(out, "intervals"), JSON_COMPACT);
	CHECKF(strcmp(iv, want_intervals) == 0, "%s: intervals %s, want %s", intervals, iv,
	       want_intervals);
	CHECKF(h.rows == want_rows, "%s: %zu rows, want %zu", intervals, h.rows, want_rows);
	CHECKF(h.start_ms == want_start, "%s: start %lld, want %lld", intervals,
	       (long long)h.start_ms, (long long)want_start);
	CHECK(h.history_ms == (int64_t)h.rows * h.granularity_ms);
	CHECK(h.none == NULL);
	/* Everything but the intervals is the query as it was, in the same key order. */
	json_t *a = json_deep_copy(out), *b = json_deep_copy(q);
	json_object_del(a, "intervals");
	json_object_del(b, "intervals");
	CHECK(json_equal(a, b));
	const char *k1, *k2;
	void *i1 = json_object_iter(out), *i2 = json_object_iter(q);
	while (i1 != NULL && i2 != NULL) {
		k1 = json_object_iter_key(i1);
		k2 = json_object_iter_key(i2);
		CHECKF(strcmp(k1, k2) == 0, "key order changed: %s vs %s", k1, k2);
		i1 = json_object_iter_next(out, i1);
		i2 = json_object_iter_next(q, i2);
	}
	CHECK(i1 == NULL && i2 == NULL);
	free(iv);
	json_decref(a);
	json_decref(b);
	json_decref(out);
	json_decref(before);
	json_decref(q);
}

/* No history, no error: *out NULL and the reason contains why. */
static void skipped(const char *intervals, const char *granularity, const char *extra,
                    int64_t history_ms, size_t max_rows, const char *why)
{
	json_t *q = query(intervals, granularity, extra);
	json_t *out = (json_t *)1;
	struct druid_history h;
	struct rb_err err = {0};
	enum rb_code rc = druid_query_add_history(&out, q, history_ms, max_rows, &h, &err);
	CHECKF(rc == RB_OK, "%s %s: %s", intervals, granularity, err.msg);
	CHECKF(out == NULL, "%s %s: history added", intervals, granularity);
	CHECK(h.history_ms == 0 && h.rows == 0 && h.none != NULL);
	CHECKF(strstr(h.none, why) != NULL, "%s %s: reason \"%s\" lacks \"%s\"", intervals,
	       granularity, h.none, why);
	json_decref(q);
}

/* A 400 whose message contains why. */
static void refused(const char *intervals, const char *why)
{
	json_t *q = query(intervals, "\"minute\"", NULL);
	json_t *out = (json_t *)1;
	struct druid_history h;
	struct rb_err err = {0};
	enum rb_code rc = druid_query_add_history(&out, q, 7 * DAY_MS, 20160, &h, &err);
	CHECKF(rc == RB_E_INPUT, "%s accepted", intervals);
	CHECK(out == NULL && rb_http_status(err.code) == 400);
	CHECKF(strstr(err.msg, why) != NULL, "%s: message \"%s\" lacks \"%s\"", intervals, err.msg,
	       why);
	CHECKF(strstr(err.msg, "history=PT0S") != NULL, "%s: message \"%s\" does not say how to "
	       "turn history off", intervals, err.msg);
	json_decref(q);
}

static void instants(void)
{
	static const struct {
		const char *text;
		int64_t ms;
	} ok[] = {
		{"1970-01-01T00:00:00.000Z", 0},
		{"2023-09-21T09:00:00.000Z", INT64_C(1695286800000)},
		{"2023-09-21T09:00", INT64_C(1695286800000)},
		{"2023-09-21T09", INT64_C(1695286800000)},
		{"2023-09-21T11:00+02:00", INT64_C(1695286800000)},
		{"2023-09-21T11:00+0200", INT64_C(1695286800000)},
		{"2023-09-21T11:00+02", INT64_C(1695286800000)},
		{"2023-09-21T04:30-04:30", INT64_C(1695286800000)},
		{"2023-09-21", INT64_C(1695254400000)},
		{"2023-09", INT64_C(1693526400000)},
		{"2023", INT64_C(1672531200000)},
		{"2024-02-29T23:59:59.999z", INT64_C(1709251199999)},
		{"2023-09-21T09:00:00.123456789Z", INT64_C(1695286800123)},
		{"1969-12-31T23:59:59.000Z", -1000},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t ms = -7;
		CHECKF(druid_instant_ms(ok[i].text, strlen(ok[i].text), &ms) == 0, "%s", ok[i].text);
		CHECKF(ms == ok[i].ms, "%s: %lld, want %lld", ok[i].text, (long long)ms,
		       (long long)ok[i].ms);
	}
	static const char *const bad[] = {
		"", "2023-9-21", "2023-09-31", "2023-02-29", "2023-13-01", "2023-09-21T24:00",
		"2023-09-21T09:60", "2023-09-21T09:00:60", "2023-09-21T09:00:00.", "2023-09-21 09:00",
		"2023-09-21T09:00Q", "2023-09-21T09:00+2", "2023-09-21T09:00+02:60", "20230921",
		"P1D", "now", "2023-09-21T09:00:00.0000000000Z", "-2023-09-21",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t ms;
		CHECKF(druid_instant_ms(bad[i], strlen(bad[i]), &ms) < 0, "\"%s\" accepted", bad[i]);
	}
	/* Formatting round trips, before and after leap days and across the epoch. */
	static const int64_t round[] = {0,
	                                INT64_C(1695286800000),
	                                INT64_C(1709251199999),
	                                INT64_C(951782400000),   /* 2000-02-29 */
	                                INT64_C(253402300799999), /* 9999-12-31T23:59:59.999 */
	                                -1000};
	for (size_t i = 0; i < sizeof round / sizeof round[0]; i++) {
		char buf[40];
		size_t n = civil_format_ms(round[i], buf, sizeof buf);
		CHECK(n == strlen(buf) && n == 24);
		int64_t back = 0;
		CHECKF(druid_instant_ms(buf, n, &back) == 0 && back == round[i], "%s", buf);
	}
	char buf[40];
	civil_format_ms(INT64_C(1695286800000), buf, sizeof buf);
	CHECK(strcmp(buf, "2023-09-21T09:00:00.000Z") == 0);
}

static void forms(void)
{
	/* The seed README's hour with a week of one-minute history: 10,080 rows. */
	extends("\"2023-09-21T09:00:00.000Z/2023-09-21T10:00:00.000Z\"", "\"minute\"", 7 * DAY_MS,
	        20160,
	        "[\"2023-09-14T09:00:00.000Z/2023-09-21T09:00:00.000Z\","
	        "\"2023-09-21T09:00:00.000Z/2023-09-21T10:00:00.000Z\"]",
	        10080, INT64_C(1695286800000));
	/* A list: the history goes before the earliest start, whatever the order. */
	extends("[\"2023-09-22T00:00Z/2023-09-22T01:00Z\",\"2023-09-21T09:00Z/2023-09-21T10:00Z\"]",
	        "{\"type\":\"period\",\"period\":\"PT1H\"}", DAY_MS, 20160,
	        "[\"2023-09-20T09:00:00.000Z/2023-09-21T09:00:00.000Z\","
	        "\"2023-09-22T00:00Z/2023-09-22T01:00Z\",\"2023-09-21T09:00Z/2023-09-21T10:00Z\"]",
	        24, INT64_C(1695286800000));
	/* The intervals object keeps its shape. */
	extends("{\"type\":\"intervals\",\"intervals\":[\"2023-09-21T09:00Z/PT1H\"]}",
	        "\"fifteen_minute\"", 3600000, 20160,
	        "{\"type\":\"intervals\",\"intervals\":[\"2023-09-21T08:00:00.000Z/"
	        "2023-09-21T09:00:00.000Z\",\"2023-09-21T09:00Z/PT1H\"]}",
	        4, INT64_C(1695286800000));
	/* start/PERIOD with months is fine (only the start matters). */
	extends("\"2023-10-01/P1M\"", "\"day\"", 7 * DAY_MS, 20160,
	        "[\"2023-09-24T00:00:00.000Z/2023-10-01T00:00:00.000Z\",\"2023-10-01/P1M\"]", 7,
	        INT64_C(1696118400000));
	/* PERIOD/end with a fixed period: the start is end - period. */
	extends("\"PT1H/2023-09-21T10:00:00+02:00\"", "\"minute\"", 30 * MIN_MS, 20160,
	        "[\"2023-09-21T06:30:00.000Z/2023-09-21T07:00:00.000Z\","
	        "\"PT1H/2023-09-21T10:00:00+02:00\"]",
	        30, INT64_C(1695279600000));
	/* The cap: a week of seconds is 604,800 rows, shortened to the cap, never refused. */
	extends("\"2023-09-21T09:00Z/2023-09-21T10:00Z\"", "\"second\"", 7 * DAY_MS, 3600,
	        "[\"2023-09-21T08:00:00.000Z/2023-09-21T09:00:00.000Z\","
	        "\"2023-09-21T09:00Z/2023-09-21T10:00Z\"]",
	        3600, INT64_C(1695286800000));
	/* Whole buckets only: PT90M of hours is one hour. */
	extends("\"2023-09-21T09:00Z/2023-09-21T10:00Z\"", "\"hour\"", 90 * MIN_MS, 20160,
	        "[\"2023-09-21T08:00:00.000Z/2023-09-21T09:00:00.000Z\","
	        "\"2023-09-21T09:00Z/2023-09-21T10:00Z\"]",
	        1, INT64_C(1695286800000));
	/* A huge history (the longest period) stops at the epoch. */
	extends("\"1970-01-02T00:00Z/1970-01-03T00:00Z\"", "\"hour\"", INT64_C(1000000000000000),
	        1000000,
	        "[\"1970-01-01T00:00:00.000Z/1970-01-02T00:00:00.000Z\","
	        "\"1970-01-02T00:00Z/1970-01-03T00:00Z\"]",
	        24, DAY_MS);
	/* A duration granularity. */
	extends("\"2023-09-21T09:00Z/2023-09-21T10:00Z\"",
	        "{\"type\":\"duration\",\"duration\":300000}", 3600000, 20160,
	        "[\"2023-09-21T08:00:00.000Z/2023-09-21T09:00:00.000Z\","
	        "\"2023-09-21T09:00Z/2023-09-21T10:00Z\"]",
	        12, INT64_C(1695286800000));
}

static void skips(void)
{
	const char *hour = "\"2023-09-21T09:00Z/2023-09-21T10:00Z\"";
	skipped(hour, "\"minute\"", NULL, 0, 20160, "off");
	skipped(hour, "\"minute\"", NULL, 7 * DAY_MS, 0, "off");
	skipped(hour, "\"all\"", NULL, 7 * DAY_MS, 20160, "no fixed length");
	skipped(hour, "\"none\"", NULL, 7 * DAY_MS, 20160, "no fixed length");
	skipped(hour, "{\"type\":\"all\"}", NULL, 7 * DAY_MS, 20160, "no fixed length");
	skipped(hour, "\"month\"", NULL, 7 * DAY_MS, 20160, "no fixed length");
	skipped(hour, "{\"type\":\"period\",\"period\":\"P1M\"}", NULL, 7 * DAY_MS, 20160,
	        "no fixed length");
	skipped(hour, "\"minute\"", ",\"limit\":10", 7 * DAY_MS, 20160, "limit");
	skipped(hour, "\"day\"", NULL, 3600000, 20160, "shorter than one bucket");
	skipped("\"1970-01-01T00:00Z/1970-01-02T00:00Z\"", "\"hour\"", NULL, DAY_MS, 20160,
	        "before 1970");
	skipped("\"1960-01-01T00:00Z/1970-01-02T00:00Z\"", "\"hour\"", NULL, DAY_MS, 20160,
	        "before 1970");
}

static void refusals(void)
{
	refused("\"2023-09-21T09:00Z\"", "not start/end");
	refused("\"2023-09-21T09:00Z/2023-09-21T10:00Z/2023-09-21T11:00Z\"", "not start/end");
	refused("\"yesterday/today\"", "not start/end");
	refused("\"2023-09-21T09:00Z/\"", "not start/end");
	refused("\"/2023-09-21T10:00Z\"", "not start/end");
	refused("\"2023-02-30T09:00Z/2023-03-01T00:00Z\"", "not start/end");
	refused("\"2023-09-21T09:00Z/P1X\"", "not start/end");
	refused("\"P1M/2023-10-01\"", "months");
	refused("\"P1Y/2023-10-01\"", "months");
	refused("\"PT5/2023-10-01\"", "not start/end");
	refused("[\"2023-09-21T09:00Z/2023-09-21T10:00Z\",\"junk\"]", "\"junk\"");
	refused("{\"type\":\"segments\",\"segments\":[]}", "{\"type\":\"intervals\"");
	refused("{\"type\":\"intervals\",\"intervals\":[]}", "{\"type\":\"intervals\"");
	refused("{\"type\":\"intervals\",\"intervals\":[1]}", "strings");
	/* A message quotes the interval cleaned and cut. */
	refused("\"\\u0001evil\\n/2023\"", "\"evil /2023\"");
	/* More intervals than the cap. */
	{
		size_t n = DRUID_HISTORY_MAX_INTERVALS + 1, cap = n * 40 + 8, o = 0;
		char *iv = malloc(cap);
		CHECK(iv != NULL);
		iv[o++] = '[';
		for (size_t i = 0; i < n; i++)
			o += (size_t)snprintf(iv + o, cap - o, "%s\"2023-09-21T09:00Z/PT1M\"",
			                      i ? "," : "");
		iv[o++] = ']';
		iv[o] = '\0';
		json_t *q = query(iv, "\"minute\"", NULL);
		json_t *out = NULL;
		struct druid_history h;
		struct rb_err err = {0};
		CHECK(druid_query_add_history(&out, q, DAY_MS, 20160, &h, &err) == RB_E_INPUT);
		CHECK(strstr(err.msg, "more than 1000 intervals") != NULL && out == NULL);
		json_decref(q);
		free(iv);
	}
	/* Not a valid query: the check's own message. */
	{
		json_t *q = json_pack("{s:s}", "queryType", "groupBy");
		json_t *out = NULL;
		struct druid_history h;
		struct rb_err err = {0};
		CHECK(druid_query_add_history(&out, q, DAY_MS, 20160, &h, &err) == RB_E_INPUT);
		CHECK(strstr(err.msg, "only timeseries") != NULL);
		json_decref(q);
	}
}

static void prepare(void)
{
	const char *text = "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\","
	                   "\"granularity\":\"minute\",\"intervals\":"
	                   "\"2023-09-21T09:00Z/2023-09-21T10:00Z\"}";
	size_t len = strlen(text);
	char *body = NULL;
	size_t blen = 0;
	struct druid_history h;
	struct rb_err err = {0};
	/* History off: the client's bytes, exactly. */
	CHECK(druid_query_prepare_history(text, len, NULL, 0, 0, 20160, &h, &body, &blen, &err) ==
	      RB_OK);
	CHECK(blen == len && memcmp(body, text, len) == 0 && h.history_ms == 0 && h.none != NULL);
	free(body);
	/* History on: the extended query, nothing else changed. */
	CHECK(druid_query_prepare_history(text, len, NULL, 0, 2 * 3600000, 20160, &h, &body, &blen,
	                                  &err) == RB_OK);
	CHECKF(strcmp(body, "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\","
	                    "\"granularity\":\"minute\",\"intervals\":["
	                    "\"2023-09-21T07:00:00.000Z/2023-09-21T09:00:00.000Z\","
	                    "\"2023-09-21T09:00Z/2023-09-21T10:00Z\"]}") == 0,
	       "%s", body);
	CHECK(blen == strlen(body) && h.rows == 120);
	free(body);
	/* Skipped (granularity all): the client's bytes again. */
	const char *all = "{\"queryType\":\"timeseries\",\"dataSource\":\"x\",\"granularity\":"
	                  "\"all\",\"intervals\":\"2023-09-21/P1D\"}";
	CHECK(druid_query_prepare_history(all, strlen(all), NULL, 0, DAY_MS, 20160, &h, &body,
	                                  &blen, &err) == RB_OK);
	CHECK(blen == strlen(all) && strcmp(body, all) == 0 && h.rows == 0);
	free(body);
	/* A bad interval is a 400 before anything is sent. */
	const char *bad = "{\"queryType\":\"timeseries\",\"dataSource\":\"x\",\"granularity\":"
	                  "\"minute\",\"intervals\":\"today\"}";
	CHECK(druid_query_prepare_history(bad, strlen(bad), NULL, 0, DAY_MS, 20160, &h, &body,
	                                  &blen, &err) == RB_E_INPUT);
	CHECK(body == NULL);
	/* ... and history off sends it unchecked, as before (Druid judges it). */
	CHECK(druid_query_prepare_history(bad, strlen(bad), NULL, 0, 0, 20160, &h, &body, &blen,
	                                  &err) == RB_OK);
	free(body);
}

static void rows_before(void)
{
	struct druid_history h = {0};
	h.start_ms = INT64_C(1695286800000);
	h.granularity_ms = MIN_MS;
	h.history_ms = 3 * MIN_MS;
	h.rows = 3;
	double start = 1695286800.0;
	double t[] = {start - 180, start - 120, start - 60, start, start + 60};
	CHECK(druid_history_rows_before(&h, t, 5) == 3);
	CHECK(druid_history_rows_before(&h, t + 3, 2) == 0);
	CHECK(druid_history_rows_before(&h, t, 2) == 2);
	CHECK(druid_history_rows_before(NULL, t, 5) == 0);
	/* Druid had less history than asked: only what came. */
	CHECK(druid_history_rows_before(&h, t + 2, 3) == 1);
	/* A start inside a bucket (09:00:30): the bucket holding it is requested, not history. */
	h.start_ms += 30000;
	CHECK(druid_history_rows_before(&h, t, 5) == 3);
	h.history_ms = 0;
	CHECK(druid_history_rows_before(&h, t, 5) == 0);
}

/* The definition, row by row: the bucket of t[k] ends at or before the requested start. */
static size_t rows_before_linear(const struct druid_history *h, const double *t, size_t n)
{
	size_t k = 0;
	while (k < n && llround(t[k] * 1000.0) + h->granularity_ms <= h->start_ms)
		k++;
	return k;
}

/* druid_history_rows_before (a binary search) against the definition on random ascending
 * times: repeated instants, gaps, fractions of a second, starts inside and between buckets,
 * no row or every row before the start. */
static void rows_before_search(void)
{
	struct tu_rng r = {0x9e3779b97f4a7c15u};
	double t[300];
	for (int round = 0; round < 4000; round++) {
		size_t n = (size_t)(tu_rng_next(&r) % 300);
		double x = 1695286800.0 - (double)(tu_rng_next(&r) % 20000);
		for (size_t i = 0; i < n; i++) {
			t[i] = x;
			uint64_t step = tu_rng_next(&r) % 8;
			x += step == 0 ? 0 : step == 1 ? 0.4995 : (double)(60 * step);
		}
		struct druid_history h = {0};
		h.granularity_ms = (int64_t)(1 + tu_rng_next(&r) % 3) * MIN_MS;
		h.history_ms = h.granularity_ms;
		h.start_ms = INT64_C(1695286800000) - (int64_t)(tu_rng_next(&r) % 25000000);
		size_t want = rows_before_linear(&h, t, n);
		CHECKF(druid_history_rows_before(&h, t, n) == want, "round %d: n %zu, want %zu",
		       round, n, want);
	}
}

int main(void)
{
	instants();
	forms();
	skips();
	refusals();
	prepare();
	rows_before();
	rows_before_search();
	printf("druid_history: ok\n");
	return 0;
}
