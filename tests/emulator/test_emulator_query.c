/*
 * emulator_query: the query semantics of rb-druid-emulator, through the real
 * process over loopback HTTP. Each check compares two answers that must agree
 * by construction (a bucket equals the sum of its finer buckets, selector ==
 * in, filter + not(filter) == everything, post-aggregators == the arithmetic
 * redone here), so a wrong engine fails. Also: the seed README query verbatim,
 * determinism across requests, restarts and seeds, and Druid-shaped errors.
 * argv[1] is the emulator executable.
 */
#define _GNU_SOURCE /* vasprintf */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_testlib.h"
#include "testutil.h"

/* The query of the seed README, byte for byte. */
static const char SEED_QUERY[] =
	"{\n"
	"  \"dataSource\": \"rb_flow\",\n"
	"  \"granularity\": {\n"
	"    \"type\": \"period\",\n"
	"    \"period\": \"pt1m\",\n"
	"    \"origin\": \"2023-09-21T09:00:00Z\"\n"
	"  },\n"
	"  \"intervals\": [\n"
	"    \"2023-09-21T09:00:00+00:00/2023-09-21T10:00:00+00:00\"\n"
	"  ],\n"
	"  \"filter\": {\n"
	"    \"type\": \"selector\",\n"
	"    \"dimension\": \"sensor_name\",\n"
	"    \"value\": \"FlowSensor\"\n"
	"  },\n"
	"  \"queryType\": \"timeseries\",\n"
	"  \"context\": {\n"
	"    \"timeout\": 90000,\n"
	"    \"skipEmptyBuckets\": \"true\"\n"
	"  },\n"
	"  \"limitSpec\": {\n"
	"    \"type\": \"default\",\n"
	"    \"limit\": 100,\n"
	"    \"columns\": []\n"
	"  },\n"
	"  \"aggregations\": [\n"
	"    {\n"
	"      \"type\": \"longSum\",\n"
	"      \"name\": \"bytes\",\n"
	"      \"fieldName\": \"sum_bytes\"\n"
	"    }\n"
	"  ],\n"
	"  \"postAggregations\": []\n"
	"}\n";

/* Aggregations and post-aggregations of the traffic-model rewrite (CONTRACT §2), S = 60. */
#define TRAFFIC_AGGS                                                                                   \
	"\"aggregations\":[{\"type\":\"longSum\",\"name\":\"bytes\",\"fieldName\":\"sum_bytes\"},"       \
	"{\"type\":\"longSum\",\"name\":\"pkts\",\"fieldName\":\"sum_pkts\"},"                           \
	"{\"type\":\"hyperUnique\",\"name\":\"clients\",\"fieldName\":\"clients\"},"                     \
	"{\"type\":\"longSum\",\"name\":\"flows\",\"fieldName\":\"events\"}],"                           \
	"\"postAggregations\":["                                                                         \
	"{\"type\":\"arithmetic\",\"name\":\"bps\",\"fn\":\"/\",\"fields\":[{\"type\":\"arithmetic\","   \
	"\"name\":\"b8\",\"fn\":\"*\",\"fields\":[{\"type\":\"fieldAccess\",\"fieldName\":\"bytes\"},"   \
	"{\"type\":\"constant\",\"name\":\"eight\",\"value\":8}]},{\"type\":\"constant\",\"name\":\"s\"," \
	"\"value\":60}]},"                                                                               \
	"{\"type\":\"arithmetic\",\"name\":\"pps\",\"fn\":\"/\",\"fields\":[{\"type\":\"fieldAccess\","  \
	"\"fieldName\":\"pkts\"},{\"type\":\"constant\",\"value\":60}]},"                                \
	"{\"type\":\"arithmetic\",\"name\":\"fps\",\"fn\":\"/\",\"fields\":[{\"type\":\"fieldAccess\","  \
	"\"fieldName\":\"flows\"},{\"type\":\"constant\",\"value\":60}]},"                               \
	"{\"type\":\"arithmetic\",\"name\":\"bytes_per_client\",\"fn\":\"/\",\"fields\":[{\"type\":"     \
	"\"fieldAccess\",\"fieldName\":\"bytes\"},{\"type\":\"hyperUniqueCardinality\",\"fieldName\":"   \
	"\"clients\"}]},"                                                                                \
	"{\"type\":\"arithmetic\",\"name\":\"bits_per_sec_per_client\",\"fn\":\"/\",\"fields\":[{"       \
	"\"type\":\"fieldAccess\",\"fieldName\":\"bps\"},{\"type\":\"hyperUniqueCardinality\","          \
	"\"fieldName\":\"clients\"}]},"                                                                  \
	"{\"type\":\"arithmetic\",\"name\":\"flows_per_client\",\"fn\":\"/\",\"fields\":[{\"type\":"     \
	"\"fieldAccess\",\"fieldName\":\"flows\"},{\"type\":\"hyperUniqueCardinality\",\"fieldName\":"   \
	"\"clients\"}]},"                                                                                \
	"{\"type\":\"arithmetic\",\"name\":\"flows_per_sec_per_client\",\"fn\":\"/\",\"fields\":[{"      \
	"\"type\":\"fieldAccess\",\"fieldName\":\"fps\"},{\"type\":\"hyperUniqueCardinality\","          \
	"\"fieldName\":\"clients\"}]}]"

#define BASIC_AGGS                                                                                     \
	"\"aggregations\":[{\"type\":\"longSum\",\"name\":\"bytes\",\"fieldName\":\"sum_bytes\"},"       \
	"{\"type\":\"longSum\",\"name\":\"pkts\",\"fieldName\":\"sum_pkts\"},"                           \
	"{\"type\":\"longSum\",\"name\":\"flows\",\"fieldName\":\"events\"},"                            \
	"{\"type\":\"count\",\"name\":\"rows\"}]"

#define FS "{\"type\":\"selector\",\"dimension\":\"sensor_name\",\"value\":\"FlowSensor\"}"

static struct emu_proc P;

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = NULL;
	CHECK(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return s;
}

/* Runs a query that must succeed; returns the parsed array (new reference). */
static json_t *run(const char *q)
{
	struct et_resp r = et_post(&P, "/druid/v2/", q, 0);
	CHECKF(r.curl_code == 0 && r.status == 200, "HTTP %ld curl %d for %s: %s", r.status, r.curl_code, q,
	       r.body);
	json_error_t e;
	json_t *j = json_loads(r.body, 0, &e);
	CHECKF(json_is_array(j), "not a JSON array: %s", r.body);
	et_resp_free(&r);
	return j;
}

static json_t *runf(const char *f, ...) __attribute__((format(printf, 1, 2)));
static json_t *runf(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = NULL;
	CHECK(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	json_t *j = run(s);
	free(s);
	return j;
}

/* A query that must fail with `status` and a Druid-shaped body whose errorMessage contains `needle`. */
static void run_err(long status, const char *needle, const char *q)
{
	struct et_resp r = et_post(&P, "/druid/v2/", q, 0);
	CHECKF(r.curl_code == 0 && r.status == status, "want HTTP %ld, got %ld for %s: %s", status, r.status, q,
	       r.body);
	json_t *j = json_loads(r.body, 0, NULL);
	CHECKF(json_is_object(j), "error body not JSON: %s", r.body);
	CHECK(json_is_string(json_object_get(j, "error")));
	CHECK(json_is_string(json_object_get(j, "errorMessage")));
	CHECK(json_is_string(json_object_get(j, "errorClass")));
	CHECK(json_object_get(j, "host") != NULL);
	CHECKF(strstr(json_string_value(json_object_get(j, "errorMessage")), needle) != NULL,
	       "errorMessage lacks \"%s\": %s", needle, r.body);
	json_decref(j);
	et_resp_free(&r);
}

/* result[key] of row i as a number (integer or real); the key must be there. */
static double num(const json_t *arr, size_t i, const char *key)
{
	const json_t *v = json_object_get(json_object_get(json_array_get(arr, i), "result"), key);
	CHECKF(json_is_number(v), "row %zu: \"%s\" is not a number", i, key);
	return json_number_value(v);
}

static const char *ts(const json_t *arr, size_t i)
{
	const json_t *v = json_object_get(json_array_get(arr, i), "timestamp");
	CHECK(json_is_string(v));
	return json_string_value(v);
}

static double sum(const json_t *arr, const char *key)
{
	double s = 0;
	for (size_t i = 0; i < json_array_size(arr); i++)
		s += num(arr, i, key);
	return s;
}

static void test_seed_query(void)
{
	json_t *a = run(SEED_QUERY);
	CHECKF(json_array_size(a) == 60, "rows %zu", json_array_size(a));
	for (size_t i = 0; i < 60; i++) {
		char want[40];
		snprintf(want, sizeof want, "2023-09-21T09:%02zu:00.000Z", i);
		CHECKF(strcmp(ts(a, i), want) == 0, "row %zu: %s", i, ts(a, i));
		const json_t *b = json_object_get(json_object_get(json_array_get(a, i), "result"), "bytes");
		CHECK(json_is_integer(b) && json_integer_value(b) > 0);
	}
	/* anomaly A1 (09:31-09:33, docs/EMULATOR.md) stands out of the hour */
	double before = num(a, 30, "bytes"), spike = num(a, 32, "bytes");
	CHECKF(spike > 1.8 * before, "A1 spike %g vs %g", spike, before);
	/* same answer twice on one process */
	struct et_resp r1 = et_post(&P, "/druid/v2/", SEED_QUERY, 0);
	struct et_resp r2 = et_post(&P, "/druid/v2", SEED_QUERY, 0);
	CHECK(r1.status == 200 && r2.status == 200 && r1.len == r2.len && memcmp(r1.body, r2.body, r1.len) == 0);
	CHECKF(r2.new_connects == 0, "keep-alive connection not reused");
	et_resp_free(&r1);
	et_resp_free(&r2);
	json_decref(a);
}

static void test_determinism(const char *exe)
{
	struct et_resp base = et_post(&P, "/druid/v2/", SEED_QUERY, 0);
	CHECK(base.status == 200);
	static const char *const same[] = {"--seed", "42", NULL};
	static const char *const other[] = {"--seed", "7", NULL};
	struct emu_proc q;
	et_start(&q, exe, same);
	struct et_resp r = et_post(&q, "/druid/v2/", SEED_QUERY, 0);
	CHECK(r.status == 200 && r.len == base.len && memcmp(r.body, base.body, r.len) == 0);
	et_resp_free(&r);
	et_stop(&q);
	et_start(&q, exe, other);
	r = et_post(&q, "/druid/v2/", SEED_QUERY, 0);
	CHECK(r.status == 200);
	CHECKF(r.len != base.len || memcmp(r.body, base.body, r.len) != 0, "seed 7 gave the seed-42 answer");
	et_resp_free(&r);
	et_stop(&q);
	et_resp_free(&base);
}

/* Coarse bucket k must equal the sum of `per` consecutive fine buckets, for every metric. */
static void check_rollup(const json_t *fine, const json_t *coarse, size_t per)
{
	CHECKF(json_array_size(fine) == per * json_array_size(coarse), "fine %zu coarse %zu",
	       json_array_size(fine), json_array_size(coarse));
	static const char *const keys[] = {"bytes", "pkts", "flows", "rows"};
	for (size_t k = 0; k < json_array_size(coarse); k++) {
		CHECKF(strcmp(ts(fine, k * per), ts(coarse, k)) == 0, "%s vs %s", ts(fine, k * per), ts(coarse, k));
		for (size_t m = 0; m < 4; m++) {
			double s = 0;
			for (size_t i = 0; i < per; i++)
				s += num(fine, k * per + i, keys[m]);
			CHECKF(s == num(coarse, k, keys[m]), "bucket %zu %s: %g vs %g", k, keys[m], s,
			       num(coarse, k, keys[m]));
		}
	}
}

static void test_granularities(void)
{
	const char *iv = "\"intervals\":[\"2023-09-21T06:00:00Z/2023-09-21T12:00:00Z\"]";
	json_t *min = runf("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",%s,"
	                   "\"granularity\":\"minute\",\"filter\":" FS "," BASIC_AGGS "}", iv);
	CHECK(json_array_size(min) == 360);
	CHECK(strcmp(ts(min, 0), "2023-09-21T06:00:00.000Z") == 0);
	static const struct {
		const char *gran;
		size_t per;
	} G[] = {
		{"\"fifteen_minute\"", 15},
		{"\"thirty_minute\"", 30},
		{"\"hour\"", 60},
		{"\"HOUR\"", 60},
		{"{\"type\":\"period\",\"period\":\"PT5M\"}", 5},
		/* trafficquery.json's template: "" origin and zone read as absent (Jackson's "" -> null) */
		{"{\"type\":\"period\",\"period\":\"pt5m\",\"origin\":\"\",\"timeZone\":\"\"}", 5},
		{"{\"type\":\"period\",\"period\":\"pt1h30m\",\"origin\":\"2023-09-21T06:00:00Z\"}", 90},
		{"{\"type\":\"duration\",\"duration\":3600000}", 60},
		{"{\"type\":\"duration\",\"duration\":\"7200000\",\"origin\":\"2023-09-21T00:00:00Z\"}", 120},
		{"{\"type\":\"period\",\"period\":\"PT6H\",\"timeZone\":\"UTC\"}", 360},
		{"\"all\"", 360},
	};
	for (size_t g = 0; g < sizeof G / sizeof G[0]; g++) {
		json_t *c = runf("{\"queryType\":\"timeseries\",\"dataSource\":{\"type\":\"table\",\"name\":"
		                 "\"rb_flow\"},%s,\"granularity\":%s,\"filter\":" FS "," BASIC_AGGS "}",
		                 iv, G[g].gran);
		check_rollup(min, c, G[g].per);
		json_decref(c);
	}
	/* origin shifts buckets: PT1H from :30 gives 7 buckets over 6 hours, the first at 05:30 */
	json_t *h = runf("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",%s,\"granularity\":"
	                 "{\"type\":\"period\",\"period\":\"PT1H\",\"origin\":\"2023-01-01T00:30:00Z\"},"
	                 "\"filter\":" FS "," BASIC_AGGS "}",
	                 iv);
	CHECK(json_array_size(h) == 7);
	CHECK(strcmp(ts(h, 0), "2023-09-21T05:30:00.000Z") == 0);
	CHECK(sum(h, "bytes") == sum(min, "bytes"));
	double first = 0;
	for (size_t i = 0; i < 30; i++)
		first += num(min, i, "bytes");
	CHECK(num(h, 0, "bytes") == first); /* a partial first bucket holds only in-interval rows */
	json_decref(h);
	/* day in a fixed-offset zone: buckets at local midnight, printed with the offset */
	json_t *d = runf("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                 "\"2023-09-20T22:00:00Z/2023-09-22T22:00:00Z\",\"granularity\":{\"type\":\"period\","
	                 "\"period\":\"P1D\",\"timeZone\":\"+02:00\"},\"filter\":" FS "," BASIC_AGGS "}");
	CHECK(json_array_size(d) == 2);
	CHECKF(strcmp(ts(d, 0), "2023-09-21T00:00:00.000+02:00") == 0, "%s", ts(d, 0));
	CHECK(strcmp(ts(d, 1), "2023-09-22T00:00:00.000+02:00") == 0);
	json_t *hh = runf("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                  "\"2023-09-20T22:00:00Z/2023-09-21T22:00:00Z\",\"granularity\":\"hour\",\"filter\":" FS
	                  "," BASIC_AGGS "}");
	CHECK(json_array_size(hh) == 24 && num(d, 0, "bytes") == sum(hh, "bytes"));
	json_decref(hh);
	json_decref(d);
	/* week buckets start on Monday: 2023-09-18 */
	json_t *w = runf("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                 "\"2023-09-20/2023-09-26\",\"granularity\":\"week\"," BASIC_AGGS "}");
	CHECK(json_array_size(w) == 2 && strcmp(ts(w, 0), "2023-09-18T00:00:00.000Z") == 0 &&
	      strcmp(ts(w, 1), "2023-09-25T00:00:00.000Z") == 0);
	json_decref(w);
	json_decref(min);
}

static double total(const char *filter, const char *metric)
{
	json_t *a = runf("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                 "\"2023-09-21T08:00:00Z/2023-09-21T10:00:00Z\",\"granularity\":\"all\"%s%s," BASIC_AGGS
	                 "}",
	                 filter ? ",\"filter\":" : "", filter ? filter : "");
	CHECK(json_array_size(a) == 1);
	double v = num(a, 0, metric);
	json_decref(a);
	return v;
}

static void test_filters(void)
{
	double fs = total(FS, "bytes"), all = total(NULL, "bytes");
	double fs2 = total("{\"type\":\"selector\",\"dimension\":\"sensor_name\",\"value\":\"FlowSensor2\"}", "bytes");
	double asa = total("{\"type\":\"selector\",\"dimension\":\"sensor_name\",\"value\":\"ASA-Gateway\"}", "bytes");
	CHECK(fs > 0 && fs2 > 0 && asa > 0);
	CHECKF(fs + fs2 + asa == all, "sensors do not add up: %g + %g + %g != %g", fs, fs2, asa, all);
	CHECK(total("{\"type\":\"in\",\"dimension\":\"sensor_name\",\"values\":[\"FlowSensor\"]}", "bytes") == fs);
	CHECK(total("{\"type\":\"in\",\"dimension\":\"sensor_name\",\"values\":[\"FlowSensor\",\"FlowSensor2\","
	            "\"nope\"]}",
	            "bytes") == fs + fs2);
	CHECK(total("{\"type\":\"or\",\"fields\":[" FS ",{\"type\":\"selector\",\"dimension\":\"sensor_name\","
	            "\"value\":\"FlowSensor2\"}]}",
	            "bytes") == fs + fs2);
	CHECK(total("{\"type\":\"not\",\"field\":" FS "}", "bytes") == fs2 + asa);
	double in = total("{\"type\":\"and\",\"fields\":[" FS ",{\"type\":\"selector\",\"dimension\":"
	                  "\"direction\",\"value\":\"ingress\"}]}",
	                  "bytes");
	double eg = total("{\"type\":\"and\",\"fields\":[" FS ",{\"type\":\"selector\",\"dimension\":"
	                  "\"direction\",\"value\":\"egress\"}]}",
	                  "bytes");
	CHECK(in > eg && eg > 0 && in + eg == fs);
	/* bound, lexicographic: "ASA-Gateway" < "FlowSensor" < "FlowSensor2" */
	CHECK(total("{\"type\":\"bound\",\"dimension\":\"sensor_name\",\"lower\":\"FlowSensor\"}", "bytes") ==
	      fs + fs2);
	CHECK(total("{\"type\":\"bound\",\"dimension\":\"sensor_name\",\"lower\":\"FlowSensor\",\"lowerStrict\":"
	            "true}",
	            "bytes") == fs2);
	CHECK(total("{\"type\":\"bound\",\"dimension\":\"sensor_name\",\"upper\":\"FlowSensor\",\"upperStrict\":"
	            "\"true\",\"ordering\":\"lexicographic\"}",
	            "bytes") == asa);
	/* numeric ordering: no sensor name is a number, so nothing matches */
	CHECK(total("{\"type\":\"bound\",\"dimension\":\"sensor_name\",\"lower\":\"0\",\"ordering\":"
	            "{\"type\":\"numeric\"}}",
	            "rows") == 0);
	/* a dimension rb_flow lacks is null: selector null matches everything, a value nothing */
	CHECK(total("{\"type\":\"selector\",\"dimension\":\"no_such_dim\",\"value\":null}", "bytes") == all);
	CHECK(total("{\"type\":\"selector\",\"dimension\":\"no_such_dim\",\"value\":\"x\"}", "rows") == 0);
	CHECK(total("{\"type\":\"selector\",\"dimension\":\"ip\",\"value\":\"10.0.1.10\"}", "rows") == 2 * 120);
}

static void test_aggregations(void)
{
	json_t *a = runf("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                 "[\"2023-09-21T08:00:00Z/2023-09-21T10:00:00Z\"],\"granularity\":\"fifteen_minute\","
	                 "\"filter\":" FS ",\"aggregations\":["
	                 "{\"type\":\"longSum\",\"name\":\"bytes\",\"fieldName\":\"sum_bytes\"},"
	                 "{\"type\":\"doubleSum\",\"name\":\"dbytes\",\"fieldName\":\"sum_bytes\"},"
	                 "{\"type\":\"longMin\",\"name\":\"minb\",\"fieldName\":\"sum_bytes\"},"
	                 "{\"type\":\"longMax\",\"name\":\"maxb\",\"fieldName\":\"sum_bytes\"},"
	                 "{\"type\":\"doubleMax\",\"name\":\"dmaxb\",\"fieldName\":\"sum_bytes\"},"
	                 "{\"type\":\"count\",\"name\":\"rows\"},"
	                 "{\"type\":\"hyperUnique\",\"name\":\"clients\",\"fieldName\":\"clients\"},"
	                 "{\"type\":\"hyperUnique\",\"name\":\"rclients\",\"fieldName\":\"clients\",\"round\":true},"
	                 "{\"type\":\"cardinality\",\"name\":\"card_ip\",\"fields\":[\"ip\"]},"
	                 "{\"type\":\"cardinality\",\"name\":\"card_row\",\"fields\":[\"ip\",\"direction\"],"
	                 "\"byRow\":true},"
	                 "{\"type\":\"cardinality\",\"name\":\"card_vals\",\"fields\":[{\"type\":\"default\","
	                 "\"dimension\":\"sensor_name\"},\"direction\"]},"
	                 "{\"type\":\"longSum\",\"name\":\"nothing\",\"fieldName\":\"no_such_metric\"},"
	                 "{\"type\":\"filtered\",\"filter\":{\"type\":\"selector\",\"dimension\":\"direction\","
	                 "\"value\":\"ingress\"},\"aggregator\":{\"type\":\"longSum\",\"name\":\"in_bytes\","
	                 "\"fieldName\":\"sum_bytes\"}},"
	                 "{\"type\":\"filtered\",\"filter\":{\"type\":\"not\",\"field\":{\"type\":\"selector\","
	                 "\"dimension\":\"direction\",\"value\":\"ingress\"}},\"aggregator\":{\"type\":\"longSum\","
	                 "\"name\":\"out_bytes\",\"fieldName\":\"sum_bytes\"}}]}");
	CHECK(json_array_size(a) == 8);
	for (size_t i = 0; i < 8; i++) {
		const json_t *res = json_object_get(json_array_get(a, i), "result");
		CHECK(num(a, i, "bytes") == num(a, i, "dbytes"));
		CHECK(json_is_real(json_object_get(res, "dbytes")) && json_is_integer(json_object_get(res, "bytes")));
		CHECK(num(a, i, "minb") > 0 && num(a, i, "minb") <= num(a, i, "maxb"));
		CHECK(num(a, i, "maxb") == num(a, i, "dmaxb"));
		CHECK(num(a, i, "maxb") * num(a, i, "rows") >= num(a, i, "bytes"));
		double cl = num(a, i, "clients");
		CHECK(json_is_real(json_object_get(res, "clients")) && json_is_integer(json_object_get(res, "rclients")));
		CHECKF(cl >= 1 && cl <= 7 && cl == num(a, i, "rclients") && cl == num(a, i, "card_ip"), "clients %g", cl);
		CHECK(num(a, i, "card_row") >= cl && num(a, i, "card_row") <= 2 * cl);
		CHECK(num(a, i, "card_vals") == 3); /* "FlowSensor", "ingress", "egress" */
		CHECK(num(a, i, "nothing") == 0);
		CHECK(num(a, i, "in_bytes") + num(a, i, "out_bytes") == num(a, i, "bytes"));
		CHECK(num(a, i, "in_bytes") > num(a, i, "out_bytes"));
	}
	json_decref(a);
}

static void test_postaggs(void)
{
	json_t *a = runf("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                 "[\"2023-09-21T09:00:00Z/2023-09-21T10:00:00Z\"],\"granularity\":{\"type\":\"period\","
	                 "\"period\":\"PT1M\"},\"filter\":" FS "," TRAFFIC_AGGS "}");
	CHECK(json_array_size(a) == 60);
	for (size_t i = 0; i < 60; i++) {
		double b = num(a, i, "bytes"), p = num(a, i, "pkts"), f = num(a, i, "flows"), c = num(a, i, "clients");
		CHECK(b > p && p >= f && f > 0 && c >= 1);
		double want[7] = {b * 8 / 60, p / 60, f / 60, b / c, b * 8 / 60 / c, f / c, f / 60 / c};
		static const char *const names[7] = {"bps", "pps", "fps", "bytes_per_client",
		                                     "bits_per_sec_per_client", "flows_per_client",
		                                     "flows_per_sec_per_client"};
		for (int k = 0; k < 7; k++) {
			double got = num(a, i, names[k]);
			CHECKF(fabs(got - want[k]) <= 1e-12 * fabs(want[k]), "%s: %.17g vs %.17g", names[k], got, want[k]);
		}
	}
	json_decref(a);
	/* division by zero is 0 for "/", quotient follows IEEE (infinite -> null); finalizingFieldAccess; pow */
	a = runf("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	         "\"2023-09-21T09:00Z/2023-09-21T09:01Z\",\"granularity\":\"minute\",\"filter\":" FS ","
	         "\"aggregations\":[{\"type\":\"longSum\",\"name\":\"bytes\",\"fieldName\":\"sum_bytes\"},"
	         "{\"type\":\"hyperUnique\",\"name\":\"clients\",\"fieldName\":\"clients\"}],"
	         "\"postAggregations\":[{\"type\":\"arithmetic\",\"name\":\"div0\",\"fn\":\"/\",\"fields\":["
	         "{\"type\":\"fieldAccess\",\"fieldName\":\"bytes\"},{\"type\":\"constant\",\"value\":0}]},"
	         "{\"type\":\"arithmetic\",\"name\":\"q0\",\"fn\":\"quotient\",\"fields\":["
	         "{\"type\":\"fieldAccess\",\"fieldName\":\"bytes\"},{\"type\":\"constant\",\"value\":0}]},"
	         "{\"type\":\"arithmetic\",\"name\":\"minus\",\"fn\":\"-\",\"fields\":["
	         "{\"type\":\"finalizingFieldAccess\",\"fieldName\":\"clients\"},{\"type\":\"constant\",\"value\":0.5},"
	         "{\"type\":\"constant\",\"value\":1}]},"
	         "{\"type\":\"arithmetic\",\"name\":\"sq\",\"fn\":\"pow\",\"fields\":["
	         "{\"type\":\"constant\",\"value\":3},{\"type\":\"constant\",\"value\":2}]},"
	         "{\"type\":\"constant\",\"name\":\"k\",\"value\":7}]}");
	CHECK(json_array_size(a) == 1);
	const json_t *res = json_object_get(json_array_get(a, 0), "result");
	CHECK(num(a, 0, "div0") == 0);
	CHECK(json_is_null(json_object_get(res, "q0")));
	CHECK(num(a, 0, "minus") == num(a, 0, "clients") - 1.5);
	CHECK(num(a, 0, "sq") == 9 && json_is_integer(json_object_get(res, "k")));
	json_decref(a);
	run_err(501, "fieldAccess",
	        "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":\"2023-09-21/2023-09-22\","
	        "\"granularity\":\"hour\",\"aggregations\":[{\"type\":\"hyperUnique\",\"name\":\"c\",\"fieldName\":"
	        "\"clients\"}],\"postAggregations\":[{\"type\":\"arithmetic\",\"name\":\"x\",\"fn\":\"*\","
	        "\"fields\":[{\"type\":\"fieldAccess\",\"fieldName\":\"c\"},{\"type\":\"constant\",\"value\":2}]}]}");
	run_err(400, "Missing fields",
	        "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":\"2023-09-21/2023-09-22\","
	        "\"granularity\":\"hour\",\"aggregations\":[],\"postAggregations\":[{\"type\":\"arithmetic\","
	        "\"name\":\"x\",\"fn\":\"*\",\"fields\":[{\"type\":\"fieldAccess\",\"fieldName\":\"nope\"},"
	        "{\"type\":\"constant\",\"value\":2}]}]}");
}

static void test_empty_buckets_order_limit(void)
{
	/* FlowSensor2 outage 2023-10-10T14:00-16:00 (anomaly A4) */
	const char *q = "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                "\"2023-10-10T13:00:00Z/2023-10-10T17:00:00Z\",\"granularity\":\"minute\",\"filter\":"
	                "{\"type\":\"selector\",\"dimension\":\"sensor_name\",\"value\":\"FlowSensor2\"},"
	                "\"aggregations\":[{\"type\":\"longSum\",\"name\":\"bytes\",\"fieldName\":\"sum_bytes\"},"
	                "{\"type\":\"count\",\"name\":\"rows\"},{\"type\":\"longMax\",\"name\":\"mx\",\"fieldName\":"
	                "\"sum_bytes\"},{\"type\":\"hyperUnique\",\"name\":\"clients\",\"fieldName\":\"clients\"}]"
	                "%s}";
	json_t *full = runf(q, "");
	CHECK(json_array_size(full) == 240);
	size_t zeros = 0;
	for (size_t i = 0; i < 240; i++) {
		const json_t *res = json_object_get(json_array_get(full, i), "result");
		if (num(full, i, "rows") == 0) {
			zeros++;
			CHECK(num(full, i, "bytes") == 0 && num(full, i, "clients") == 0);
			CHECK(json_is_null(json_object_get(res, "mx")));
			CHECK(i >= 60 && i < 180);
		}
	}
	CHECKF(zeros == 120, "zero-filled buckets %zu", zeros);
	json_t *skip = runf(q, ",\"context\":{\"skipEmptyBuckets\":\"true\"}");
	json_t *skipb = runf(q, ",\"context\":{\"skipEmptyBuckets\":true}");
	CHECK(json_array_size(skip) == 120 && json_array_size(skipb) == 120);
	CHECK(strcmp(ts(skip, 59), "2023-10-10T13:59:00.000Z") == 0 &&
	      strcmp(ts(skip, 60), "2023-10-10T16:00:00.000Z") == 0);
	json_t *desc = runf(q, ",\"descending\":true,\"context\":{\"skipEmptyBuckets\":\"true\"}");
	CHECK(json_array_size(desc) == 120);
	for (size_t i = 0; i < 120; i++) {
		CHECK(strcmp(ts(desc, i), ts(skip, 119 - i)) == 0);
		CHECK(num(desc, i, "bytes") == num(skip, 119 - i, "bytes"));
	}
	json_t *lim = runf(q, ",\"limit\":5,\"descending\":\"true\"");
	CHECK(json_array_size(lim) == 5 && strcmp(ts(lim, 0), "2023-10-10T16:59:00.000Z") == 0);
	json_decref(lim);
	json_decref(desc);
	json_decref(skipb);
	json_decref(skip);
	json_decref(full);
	/* two intervals, out of order and partly outside the data: condensed, clipped, not filled between */
	json_t *two = runf("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":["
	                   "\"2023-10-31T23:00:00Z/2023-11-02T00:00:00Z\",\"2023-08-31T23:58:00Z/2023-09-01T00:02:00Z\"],"
	                   "\"granularity\":\"hour\",\"aggregations\":[{\"type\":\"count\",\"name\":\"rows\"}]}");
	CHECK(json_array_size(two) == 2);
	CHECK(strcmp(ts(two, 0), "2023-09-01T00:00:00.000Z") == 0 && strcmp(ts(two, 1), "2023-10-31T23:00:00.000Z") == 0);
	json_decref(two);
	/* no data in range: [] ; with "all" and empty buckets kept, one row of defaults at the interval start */
	json_t *none = run("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                   "\"2022-01-01/2022-01-02\",\"granularity\":\"hour\",\"aggregations\":[]}");
	CHECK(json_array_size(none) == 0);
	json_decref(none);
	json_t *allz = run("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                   "\"2022-01-01/2022-01-02\",\"granularity\":\"all\",\"aggregations\":[{\"type\":\"count\","
	                   "\"name\":\"rows\"}]}");
	CHECK(json_array_size(allz) == 1 && strcmp(ts(allz, 0), "2022-01-01T00:00:00.000Z") == 0 &&
	      num(allz, 0, "rows") == 0);
	json_decref(allz);
	/* a datasource that does not exist answers like an empty table (Druid does not error) */
	json_t *other = run("{\"queryType\":\"timeseries\",\"dataSource\":\"rb_nope\",\"intervals\":"
	                    "\"2023-09-21/2023-09-22\",\"granularity\":\"hour\",\"aggregations\":[]}");
	CHECK(json_array_size(other) == 0);
	json_decref(other);
}

/*
 * groupBy on one dimension: rows ordered by (bucket, value), the groups of a
 * bucket add up to the timeseries total of that bucket, values only with rows,
 * an outputName honoured; no dimension: one group per bucket.
 */
static void test_groupby(void)
{
	const char *f = "{\"queryType\":\"%s\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                "\"2023-09-21T09:30/2023-09-21T09:35\",\"granularity\":\"minute\","
	                "\"filter\":{\"type\":\"selector\",\"dimension\":\"sensor_name\","
	                "\"value\":\"FlowSensor\"},%s\"aggregations\":[{\"type\":\"longSum\","
	                "\"name\":\"b\",\"fieldName\":\"sum_bytes\"}]}";
	json_t *ts = runf(f, "timeseries", "");
	json_t *gb = runf(f, "groupBy", "\"dimensions\":[{\"type\":\"default\",\"dimension\":\"ip\","
	                                "\"outputName\":\"client\"}],");
	CHECK(json_array_size(ts) == 5);
	size_t j = 0;
	for (size_t i = 0; i < 5; i++) {
		const char *t = json_string_value(json_object_get(json_array_get(ts, i), "timestamp"));
		long long want = json_integer_value(
			json_object_get(json_object_get(json_array_get(ts, i), "result"), "b"));
		long long sum = 0;
		const char *prev = "";
		for (; j < json_array_size(gb); j++) {
			const json_t *r = json_array_get(gb, j);
			if (strcmp(json_string_value(json_object_get(r, "timestamp")), t) != 0)
				break;
			CHECK(strcmp(json_string_value(json_object_get(r, "version")), "v1") == 0);
			const json_t *ev = json_object_get(r, "event");
			const char *ip = json_string_value(json_object_get(ev, "client"));
			CHECKF(ip != NULL && strcmp(ip, prev) > 0, "order at row %zu", j);
			prev = ip;
			CHECK(json_integer_value(json_object_get(ev, "b")) > 0);
			sum += json_integer_value(json_object_get(ev, "b"));
		}
		CHECKF(sum == want, "bucket %s: groups add to %lld, total %lld", t, sum, want);
	}
	CHECK(j == json_array_size(gb));
	json_decref(gb);
	gb = runf(f, "groupBy", "");
	CHECK(json_array_size(gb) == 5);
	CHECK(json_equal(json_object_get(json_object_get(json_array_get(gb, 2), "event"), "b"),
	                 json_object_get(json_object_get(json_array_get(ts, 2), "result"), "b")));
	json_decref(gb);
	json_decref(ts);
}

static void test_errors(void)
{
	run_err(400, "Invalid JSON", "{\"queryType\": \"timeseries\", ");
	run_err(400, "Invalid JSON", "");
	run_err(400, "JSON nested deeper", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]");
	run_err(400, "Could not resolve type id 'foo'", "{\"queryType\":\"foo\"}");
	run_err(400, "queryType", "{\"dataSource\":\"rb_flow\"}");
	run_err(501, "topN", "{\"queryType\":\"topN\",\"dataSource\":\"rb_flow\"}");
	const char *gb = "{\"queryType\":\"groupBy\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                 "\"2023-09-21/2023-09-22\",\"granularity\":\"hour\",%s}";
	char *q = fmt(gb, "\"dimensions\":[\"ip\",\"direction\"]");
	run_err(501, "more than one dimension", q);
	free(q);
	q = fmt(gb, "\"dimensions\":[\"ip\"],\"having\":{\"type\":\"greaterThan\"}");
	run_err(501, "having", q);
	free(q);
	q = fmt(gb, "\"dimensions\":[\"ip\"],\"limitSpec\":{\"type\":\"default\",\"limit\":5}");
	run_err(501, "limitSpec", q);
	free(q);
	q = fmt(gb, "\"dimensions\":[{\"type\":\"extraction\",\"dimension\":\"ip\"}]");
	run_err(501, "extraction", q);
	free(q);
	const char *base = "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                   "\"2023-09-21/2023-09-22\",%s}";
	static const struct {
		long status;
		const char *needle;
		const char *rest;
	} E[] = {
		{501, "regex", "\"granularity\":\"hour\",\"filter\":{\"type\":\"regex\",\"dimension\":\"ip\",\"pattern\":\"x\"}"},
		{400, "DimFilter", "\"granularity\":\"hour\",\"filter\":{\"type\":\"bogus\"}"},
		{501, "extractionFn", "\"granularity\":\"hour\",\"filter\":{\"type\":\"selector\",\"dimension\":\"ip\","
		                      "\"value\":\"x\",\"extractionFn\":{\"type\":\"upper\"}}"},
		{501, "P1M", "\"granularity\":{\"type\":\"period\",\"period\":\"P1M\"}"},
		{501, "month", "\"granularity\":\"month\""},
		{501, "none", "\"granularity\":\"none\""},
		{501, "Europe/Madrid", "\"granularity\":{\"type\":\"period\",\"period\":\"P1D\",\"timeZone\":\"Europe/Madrid\"}"},
		{400, "period", "\"granularity\":{\"type\":\"period\",\"period\":\"1 minute\"}"},
		{400, "granularity", "\"aggregations\":[]"},
		{400, "time buckets", "\"granularity\":\"second\",\"intervals\":\"2023-09-01/2023-10-01\""},
		{501, "thetaSketch", "\"granularity\":\"hour\",\"aggregations\":[{\"type\":\"thetaSketch\",\"name\":\"t\","
		                     "\"fieldName\":\"ip\"}]"},
		{400, "clients", "\"granularity\":\"hour\",\"aggregations\":[{\"type\":\"longSum\",\"name\":\"t\","
		                 "\"fieldName\":\"clients\"}]"},
		{400, "already defined", "\"granularity\":\"hour\",\"aggregations\":[{\"type\":\"count\",\"name\":\"t\"},"
		                         "{\"type\":\"count\",\"name\":\"t\"}]"},
		{501, "virtualColumns", "\"granularity\":\"hour\",\"virtualColumns\":[{\"type\":\"expression\"}]"},
		{501, "grandTotal", "\"granularity\":\"hour\",\"context\":{\"grandTotal\":true}"},
	};
	for (size_t i = 0; i < sizeof E / sizeof E[0]; i++) {
		char *q = fmt(base, E[i].rest);
		run_err(E[i].status, E[i].needle, q);
		free(q);
	}
	run_err(400, "Invalid interval", "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                                 "[\"2023-09-21\"],\"granularity\":\"hour\"}");
	run_err(400, "end instant", "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                            "[\"2023-09-22/2023-09-21\"],\"granularity\":\"hour\"}");
	run_err(400, "Invalid interval", "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                                 "[\"\"],\"granularity\":\"hour\"}");
}

int main(int argc, char **argv)
{
	CHECKF(argc == 2, "usage: %s path/to/rb-druid-emulator", argv[0]);
	et_start(&P, argv[1], NULL);
	test_seed_query();
	test_determinism(argv[1]);
	test_granularities();
	test_filters();
	test_aggregations();
	test_postaggs();
	test_empty_buckets_order_limit();
	test_errors();
	test_groupby();
	et_stop(&P);
	printf("emulator_query: ok\n");
	return 0;
}
