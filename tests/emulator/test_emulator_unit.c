/*
 * emulator_unit: rb-druid-emulator's pieces in-process: the ISO-8601
 * instant/period/zone readers and timestamp printer, Java-style double
 * printing, JSON string escaping (always valid UTF-8, also for the invalid
 * bytes an error message may quote), the dataset (patterns and every
 * documented anomaly, checked on raw rows), and the engine's sums against the
 * raw rows added up here.
 * argv[1] (the executable) is unused.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "testutil.h"

static int64_t at(const char *iso)
{
	int64_t ms;
	CHECKF(emu_parse_instant(iso, &ms) == 0, "instant %s", iso);
	return ms;
}

static void test_instants(void)
{
	static const struct {
		const char *s;
		int64_t ms;
	} OK[] = {
		{"1970-01-01T00:00:00Z", 0},
		{"1970-01-01", 0},
		{"2023-09-01T00:00:00.000Z", EMU_DATA_START_MS},
		{"2023-11-01", EMU_DATA_END_MS},
		{"2023-09-21T09:00:00+00:00", 1695286800000LL},
		{"2023-09-21T11:00:00+02:00", 1695286800000LL},
		{"2023-09-21T11:00+0200", 1695286800000LL},
		{"2023-09-21T04:30:00-04:30", 1695286800000LL},
		{"2023-09-21T09:00:00.5Z", 1695286800500LL},
		{"2023-09-21T09:00:00.123456Z", 1695286800123LL},
		{"2023-09-21T09", 1695286800000LL},
		{"2024-02-29T00:00:00Z", 1709164800000LL},
		{"1969-12-31T23:59:59.999Z", -1},
		{"2023-09", 1693526400000LL},
	};
	for (size_t i = 0; i < sizeof OK / sizeof OK[0]; i++) {
		int64_t ms = 0;
		CHECKF(emu_parse_instant(OK[i].s, &ms) == 0 && ms == OK[i].ms, "%s -> %lld", OK[i].s, (long long)ms);
	}
	static const char *const BAD[] = {"", "x", "2023-13-01", "2023-02-29", "2023-09-31", "2023-09-21T24:00",
	                                  "2023-09-21T09:60", "2023-09-21 09:00", "2023-09-21T09:00:00+25:00",
	                                  "2023-09-21T09:00:00Zjunk", "2023-09-21T09:00:00.", "+2023-09-21",
	                                  "2023-9-21", "2023-09-21T09:00:00.1234567891Z"};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		int64_t ms;
		CHECKF(emu_parse_instant(BAD[i], &ms) != 0, "accepted \"%s\"", BAD[i]);
	}
	CHECK(at("2023") == at("2023-01-01T00:00:00Z")); /* a bare year is a Joda instant too */
	char buf[48];
	emu_format_instant(1695286800000LL, 0, buf, sizeof buf);
	CHECK(strcmp(buf, "2023-09-21T09:00:00.000Z") == 0);
	emu_format_instant(1695286800123LL, 2 * EMU_MS_HOUR, buf, sizeof buf);
	CHECK(strcmp(buf, "2023-09-21T11:00:00.123+02:00") == 0);
	emu_format_instant(1695286800000LL, -(5 * EMU_MS_HOUR + 30 * EMU_MS_MINUTE), buf, sizeof buf);
	CHECK(strcmp(buf, "2023-09-21T03:30:00.000-05:30") == 0);
	emu_format_instant(-1, 0, buf, sizeof buf);
	CHECK(strcmp(buf, "1969-12-31T23:59:59.999Z") == 0);
	/* round trip over a spread of instants */
	for (int64_t t = -5000000000000LL; t < 5000000000000LL; t += 123456789012LL) {
		emu_format_instant(t, 0, buf, sizeof buf);
		CHECK(at(buf) == t);
	}
	CHECK(emu_floor_div(-1, 60000) == -1 && emu_floor_div(59999, 60000) == 0 && emu_floor_div(-60000, 60000) == -1);
}

static void test_periods_zones(void)
{
	static const struct {
		const char *s;
		int64_t ms, months;
		int nfields, week1;
	} OK[] = {
		{"PT1M", 60000, 0, 1, 0},       {"pt1m", 60000, 0, 1, 0},        {"PT5M", 300000, 0, 1, 0},
		{"PT1H30M", 5400000, 0, 2, 0},  {"P1D", 86400000, 0, 1, 0},      {"P1W", 604800000, 0, 1, 1},
		{"P2W", 1209600000, 0, 1, 0},   {"P1M", 0, 1, 1, 0},             {"P1Y2M", 0, 14, 2, 0},
		{"PT1.5S", 1500, 0, 2, 0},      {"P1DT12H", 129600000, 0, 2, 0}, {"PT0.25S", 250, 0, 1, 0},
	};
	for (size_t i = 0; i < sizeof OK / sizeof OK[0]; i++) {
		int64_t ms = -1, months = -1;
		int nf = -1, w1 = -1;
		CHECKF(emu_parse_period(OK[i].s, &ms, &months, &nf, &w1) == 0, "%s", OK[i].s);
		CHECKF(ms == OK[i].ms && months == OK[i].months && nf == OK[i].nfields && w1 == OK[i].week1,
		       "%s: %lld %lld %d %d", OK[i].s, (long long)ms, (long long)months, nf, w1);
	}
	static const char *const BAD[] = {"", "P", "PT", "1M", "P1H", "PT1D", "PT1M1H", "P-1D", "PT1.5M", "P1.5D",
	                                  "PTM", "P1DT", "PT1M junk", "P9999999999D"};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
		int64_t ms, mo;
		int nf, w1;
		CHECKF(emu_parse_period(BAD[i], &ms, &mo, &nf, &w1) != 0, "accepted \"%s\"", BAD[i]);
	}
	int64_t off = 1;
	CHECK(emu_parse_zone("UTC", &off) == 0 && off == 0);
	CHECK(emu_parse_zone("+02:00", &off) == 0 && off == 2 * EMU_MS_HOUR);
	CHECK(emu_parse_zone("-0530", &off) == 0 && off == -(5 * EMU_MS_HOUR + 30 * EMU_MS_MINUTE));
	CHECK(emu_parse_zone("+05", &off) == 0 && off == 5 * EMU_MS_HOUR);
	CHECK(emu_parse_zone("Europe/Madrid", &off) != 0 && emu_parse_zone("utc", &off) != 0);
	CHECK(emu_parse_zone("+02:00x", &off) != 0 && emu_parse_zone("+24:00", &off) != 0);
}

static void test_java_double(void)
{
	static const struct {
		double v;
		const char *s;
	} D[] = {
		{0.0, "0.0"},       {1.0, "1.0"},           {0.1, "0.1"},          {-2.5, "-2.5"},
		{123.0, "123.0"},   {1e7, "1.0E7"},         {9999999.0, "9999999.0"}, {0.001, "0.001"},
		{1e-4, "1.0E-4"},   {36453984.68, "3.645398468E7"}, {1.0 / 3, "0.3333333333333333"},
		{862128.1333333333, "862128.1333333333"}, {1e21, "1.0E21"}, {123456789012.0, "1.23456789012E11"},
		{0.00123, "0.00123"}, {NAN, "null"},       {INFINITY, "null"},
	};
	for (size_t i = 0; i < sizeof D / sizeof D[0]; i++) {
		struct emu_buf b;
		emu_buf_init(&b, 256);
		emu_buf_java_double(&b, D[i].v);
		CHECKF(b.p != NULL && strcmp(b.p, D[i].s) == 0, "%.17g -> %s (want %s)", D[i].v, b.p, D[i].s);
		if (isfinite(D[i].v))
			CHECK(strtod(b.p, NULL) == D[i].v);
		emu_buf_free(&b);
	}
	/* the cap holds */
	struct emu_buf b;
	emu_buf_init(&b, 8);
	emu_buf_str(&b, "12345678");
	CHECK(!b.overflow && b.len == 8);
	emu_buf_str(&b, "9");
	CHECK(b.overflow && b.len == 8);
	emu_buf_free(&b);
}

/* emu_buf_json_str(in) must be exactly want, and Jansson must read it back. */
static void check_json_str(const char *in, const char *want)
{
	struct emu_buf b;
	emu_buf_init(&b, 256);
	emu_buf_json_str(&b, in);
	CHECKF(b.p != NULL && strcmp(b.p, want) == 0, "escaped %s (want %s)", b.p, want);
	json_error_t je;
	json_t *j = json_loadb(b.p, b.len, JSON_DECODE_ANY, &je);
	CHECKF(json_is_string(j), "%s does not read back: %s", b.p, je.text);
	json_decref(j);
	emu_buf_free(&b);
}

static void test_json_str(void)
{
	check_json_str("plain", "\"plain\"");
	check_json_str("q\"b\\t\x01", "\"q\\\"b\\\\t\\u0001\"");
	check_json_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* cut, stray, overlong, surrogate, past U+10FFFF, never-valid bytes: U+FFFD each */
	check_json_str("a\xc3", "\"a\\ufffd\"");
	check_json_str("\xc2\xb9\x8c", "\"\xc2\xb9\\ufffd\"");
	check_json_str("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	check_json_str("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
	check_json_str("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	check_json_str("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	check_json_str("\xf0\x9f\x98", "\"\\ufffd\\ufffd\\ufffd\"");
	check_json_str("\xfe\xff", "\"\\ufffd\\ufffd\"");
}

/* Raw-row sum of one metric for a sensor (NULL = all) over [from, to). */
static int64_t raw_sum(uint64_t seed, const char *sensor, int64_t from, int64_t to, int *rows_out)
{
	int64_t s = 0;
	int rows = 0;
	for (int64_t m = from; m < to; m += EMU_MS_MINUTE) {
		for (int k = 0; k < emu_data_nseries(); k++) {
			if (sensor != NULL && strcmp(emu_data_dim(k, EMU_DIM_SENSOR), sensor) != 0)
				continue;
			struct emu_row r;
			if (emu_data_row(seed, k, m, &r)) {
				CHECK(r.bytes > 0 && r.pkts >= r.events && r.events >= 1);
				s += r.bytes;
				rows++;
			}
		}
	}
	if (rows_out)
		*rows_out = rows;
	return s;
}

static void test_dataset(void)
{
	CHECK(emu_data_nseries() <= EMU_MAX_SERIES && emu_data_nseries() > 20);
	struct emu_row r;
	CHECK(!emu_data_row(42, 0, EMU_DATA_START_MS - EMU_MS_MINUTE, &r));
	CHECK(!emu_data_row(42, 0, EMU_DATA_END_MS, &r));
	CHECK(emu_data_row(42, 0, EMU_DATA_END_MS - EMU_MS_MINUTE, &r));
	/* working hours beat nights, weekdays beat weekends (Thu 2023-09-21 vs Sat 2023-09-23) */
	int64_t noon_thu = raw_sum(42, "FlowSensor", at("2023-09-21T12:00Z"), at("2023-09-21T14:00Z"), NULL);
	int64_t night_thu = raw_sum(42, "FlowSensor", at("2023-09-21T01:00Z"), at("2023-09-21T03:00Z"), NULL);
	int64_t noon_sat = raw_sum(42, "FlowSensor", at("2023-09-23T12:00Z"), at("2023-09-23T14:00Z"), NULL);
	CHECKF(noon_thu > 3 * night_thu && noon_thu > 2 * noon_sat, "%lld %lld %lld", (long long)noon_thu,
	       (long long)night_thu, (long long)noon_sat);
	/* sensors have different scales */
	int64_t fs2 = raw_sum(42, "FlowSensor2", at("2023-09-21T12:00Z"), at("2023-09-21T14:00Z"), NULL);
	int64_t asa = raw_sum(42, "ASA-Gateway", at("2023-09-21T12:00Z"), at("2023-09-21T14:00Z"), NULL);
	CHECK(fs2 < noon_thu && noon_thu < asa);

	/* A1: 2023-09-21T09:31-09:34 FlowSensor bytes spike */
	int64_t a1 = raw_sum(42, "FlowSensor", at("2023-09-21T09:31Z"), at("2023-09-21T09:34Z"), NULL) / 3;
	int64_t a1b = raw_sum(42, "FlowSensor", at("2023-09-21T09:20Z"), at("2023-09-21T09:30Z"), NULL) / 10;
	CHECKF(a1 > 2 * a1b, "A1 %lld vs %lld", (long long)a1, (long long)a1b);
	/* A2: 2023-09-28T07:00-07:05 FlowSensor spike */
	int64_t a2 = raw_sum(42, "FlowSensor", at("2023-09-28T07:00Z"), at("2023-09-28T07:05Z"), NULL) / 5;
	int64_t a2b = raw_sum(42, "FlowSensor", at("2023-09-28T06:50Z"), at("2023-09-28T07:00Z"), NULL) / 10;
	CHECKF(a2 > 3 * a2b, "A2 %lld vs %lld", (long long)a2, (long long)a2b);
	/* A3: 2023-10-05T10:00-11:00 FlowSensor drop, against the Thursday before */
	int64_t a3 = raw_sum(42, "FlowSensor", at("2023-10-05T10:00Z"), at("2023-10-05T11:00Z"), NULL);
	int64_t a3b = raw_sum(42, "FlowSensor", at("2023-09-28T10:00Z"), at("2023-09-28T11:00Z"), NULL);
	CHECKF(a3 < a3b / 4, "A3 %lld vs %lld", (long long)a3, (long long)a3b);
	/* A4: FlowSensor2 has no rows 2023-10-10T14:00-16:00, and rows on both sides */
	int rows;
	CHECK(raw_sum(42, "FlowSensor2", at("2023-10-10T14:00Z"), at("2023-10-10T16:00Z"), &rows) == 0 && rows == 0);
	raw_sum(42, "FlowSensor2", at("2023-10-10T13:59Z"), at("2023-10-10T14:00Z"), &rows);
	CHECK(rows > 0);
	raw_sum(42, "FlowSensor2", at("2023-10-10T16:00Z"), at("2023-10-10T16:01Z"), &rows);
	CHECK(rows > 0);
	/* A5: ASA-Gateway level shift from 2023-10-16 (a week after vs the week before) */
	int64_t a5 = raw_sum(42, "ASA-Gateway", at("2023-10-16T00:00Z"), at("2023-10-23T00:00Z"), NULL);
	int64_t a5b = raw_sum(42, "ASA-Gateway", at("2023-10-09T00:00Z"), at("2023-10-16T00:00Z"), NULL);
	CHECKF(a5 > 1.6 * (double)a5b && a5 < 2.0 * (double)a5b, "A5 %lld vs %lld", (long long)a5, (long long)a5b);
	/* A6: a new client 10.0.1.66 only 2023-10-19T02:00-02:30 */
	int scanner = -1;
	for (int k = 0; k < emu_data_nseries(); k++)
		if (strcmp(emu_data_dim(k, EMU_DIM_IP), "10.0.1.66") == 0)
			scanner = k;
	CHECK(scanner >= 0);
	int seen = 0;
	for (int64_t m = EMU_DATA_START_MS; m < EMU_DATA_END_MS; m += EMU_MS_MINUTE) {
		if (emu_data_row(42, scanner, m, &r)) {
			CHECK(m >= at("2023-10-19T02:00Z") && m < at("2023-10-19T02:30Z"));
			seen++;
		}
	}
	CHECK(seen == 30);
	/* seeds change the noise, not the shape */
	int64_t s7 = raw_sum(7, "FlowSensor", at("2023-09-21T12:00Z"), at("2023-09-21T14:00Z"), NULL);
	CHECK(s7 != noon_thu && fabs((double)s7 / (double)noon_thu - 1) < 0.2);
}

/* The engine's per-minute sums equal the raw rows summed here. */
static void test_engine_against_rows(void)
{
	const char *q = "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                "[\"2023-09-28T06:30:00Z/2023-09-28T07:30:00Z\"],\"granularity\":{\"type\":\"period\","
	                "\"period\":\"PT1M\"},\"filter\":{\"type\":\"selector\",\"dimension\":\"sensor_name\","
	                "\"value\":\"FlowSensor\"},\"aggregations\":[{\"type\":\"longSum\",\"name\":\"bytes\","
	                "\"fieldName\":\"sum_bytes\"},{\"type\":\"count\",\"name\":\"rows\"}]}";
	struct emu_buf out;
	struct emu_err err;
	emu_buf_init(&out, EMU_MAX_RESPONSE);
	CHECKF(emu_query_run(q, strlen(q), 42, &out, &err) == 0, "%s", err.msg);
	json_t *a = json_loadb(out.p, out.len, 0, NULL);
	CHECK(json_is_array(a) && json_array_size(a) == 60);
	int64_t t0 = at("2023-09-28T06:30Z");
	for (size_t i = 0; i < 60; i++) {
		int rows;
		int64_t want = raw_sum(42, "FlowSensor", t0 + (int64_t)i * EMU_MS_MINUTE,
		                       t0 + (int64_t)(i + 1) * EMU_MS_MINUTE, &rows);
		const json_t *res = json_object_get(json_array_get(a, i), "result");
		CHECK(json_integer_value(json_object_get(res, "bytes")) == want);
		CHECK(json_integer_value(json_object_get(res, "rows")) == rows);
	}
	json_decref(a);
	emu_buf_free(&out);
	/* an error leaves a Druid-shaped body */
	emu_buf_init(&out, 4096);
	CHECK(emu_query_run("{", 1, 42, &out, &err) != 0 && err.status == 400);
	emu_error_json(&err, &out);
	a = json_loadb(out.p, out.len, 0, NULL);
	CHECK(json_is_object(a) && json_object_size(a) == 4 && json_is_null(json_object_get(a, "host")));
	json_decref(a);
	emu_buf_free(&out);
}

int main(void)
{
	test_instants();
	test_periods_zones();
	test_java_double();
	test_json_str();
	test_dataset();
	test_engine_against_rows();
	printf("emulator_unit: ok\n");
	return 0;
}
