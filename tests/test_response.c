/*
 * test_response: the JSON bodies of CONTRACT §1: key set and order, each row
 * once in predicted and at most once in anomalies, timestamps exactly as
 * received, observed null when missing, no NaN/Infinity anywhere, the events
 * (their keys, a gap between two runs, the cap and "events_truncated"), and
 * the error body (also for a message that is not valid UTF-8).
 */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "rb/answer/response.h"
#include "rb/detect/detection.h"
#include "rb/detect/events.h"
#include "rb/input/series.h"
#include "testutil.h"

static void test_success(void)
{
	char *ts[] = {"2023-09-21T09:00:00.000Z", "2023-09-21T09:01:00+02:00", "weird \"ts\""};
	struct series s;
	memset(&s, 0, sizeof s);
	s.n = 3;
	s.timestamps = ts;
	struct detection d;
	struct rb_err err;
	CHECK(detection_init(&d, 3, &err) == RB_OK);
	CHECK(d.n == 3 && d.anomaly[2] == 0 && d.score[1] == 0.0);
	d.expected[0] = 36453984.6858499;
	d.expected[1] = 1.5;
	d.expected[2] = INFINITY; /* must never reach the JSON as a number */
	d.observed[0] = 3696668;
	d.observed[1] = NAN;
	d.observed[2] = 2;
	d.score[0] = 0.001;
	d.score[1] = 0.5;
	d.score[2] = NAN;
	d.anomaly[1] = 1;
	d.anomaly[2] = 1;
	d.threshold = 0.0113;
	snprintf(d.metric, sizeof d.metric, "bytes");
	snprintf(d.model, sizeof d.model, "traffic");

	char *body = response_success(&s, &d);
	CHECK(body != NULL);
	CHECK(strchr(body, '\n') == NULL); /* one line */
	CHECK(strstr(body, "NaN") == NULL && strstr(body, "nan") == NULL);
	CHECK(strstr(body, "Infinity") == NULL && strstr(body, "inf") == NULL);
	CHECKF(strncmp(body, "{\"status\":\"success\",\"anomalies\":[", 33) == 0, "%s", body);

	json_error_t jerr;
	json_t *root = json_loads(body, 0, &jerr); /* new */
	CHECKF(root != NULL, "%s: %s", jerr.text, body);
	const char *order[] = {"status", "anomalies", "predicted", "model",
	                       "metric", "threshold", "events"};
	void *it = json_object_iter(root);
	for (size_t k = 0; k < 7; k++) {
		CHECK(it != NULL);
		CHECKF(strcmp(json_object_iter_key(it), order[k]) == 0, "key %zu", k);
		it = json_object_iter_next(root, it);
	}
	CHECK(it == NULL);
	CHECK(strcmp(json_string_value(json_object_get(root, "model")), "traffic") == 0);
	CHECK(strcmp(json_string_value(json_object_get(root, "metric")), "bytes") == 0);
	CHECK(fabs(json_real_value(json_object_get(root, "threshold")) - 0.0113) < 1e-15);

	json_t *pred = json_object_get(root, "predicted"); /* borrowed */
	CHECK(json_array_size(pred) == 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *p = json_array_get(pred, i);
		CHECK(strcmp(json_string_value(json_object_get(p, "timestamp")), ts[i]) == 0);
	}
	CHECK(fabs(json_real_value(json_object_get(json_array_get(pred, 0), "forecast")) -
	           36453984.6858499) < 1e-6);
	CHECK(json_is_null(json_object_get(json_array_get(pred, 2), "forecast")));

	json_t *an = json_object_get(root, "anomalies"); /* borrowed */
	CHECK(json_array_size(an) == 2);
	json_t *a0 = json_array_get(an, 0);
	CHECK(strcmp(json_string_value(json_object_get(a0, "timestamp")), ts[1]) == 0);
	CHECK(json_real_value(json_object_get(a0, "expected")) == 1.5);
	CHECK(json_is_null(json_object_get(a0, "value"))); /* missing observed */
	CHECK(json_real_value(json_object_get(a0, "score")) == 0.5);
	json_t *a1 = json_array_get(an, 1);
	CHECK(json_real_value(json_object_get(a1, "value")) == 2.0);
	CHECK(json_is_null(json_object_get(a1, "score")));

	/* no instants (t NULL): no grid; rows 1-2 are one run, peak row 1 (score 2 is NaN),
	 * observed missing there: down */
	json_t *ev = json_object_get(root, "events"); /* borrowed */
	CHECKF(json_array_size(ev) == 1, "%s", body);
	json_t *e0 = json_array_get(ev, 0);
	const char *ekeys[] = {"start", "end", "kind", "peak_timestamp", "peak_score", "rows"};
	it = json_object_iter(e0);
	for (size_t k = 0; k < 6; k++) {
		CHECK(it != NULL);
		CHECKF(strcmp(json_object_iter_key(it), ekeys[k]) == 0, "event key %zu", k);
		it = json_object_iter_next(e0, it);
	}
	CHECK(it == NULL);
	CHECK(strcmp(json_string_value(json_object_get(e0, "start")), ts[1]) == 0);
	CHECK(strcmp(json_string_value(json_object_get(e0, "end")), ts[2]) == 0);
	CHECK(strcmp(json_string_value(json_object_get(e0, "kind")), "down") == 0);
	CHECK(strcmp(json_string_value(json_object_get(e0, "peak_timestamp")), ts[1]) == 0);
	CHECK(json_real_value(json_object_get(e0, "peak_score")) == 0.5);
	CHECK(json_integer_value(json_object_get(e0, "rows")) == 2);
	CHECK(json_object_get(root, "events_truncated") == NULL);
	json_decref(root);
	free(body);

	detection_release(&d);
	detection_release(&d);
	CHECK(d.expected == NULL && d.n == 0);
}

static void test_empty(void)
{
	struct series s;
	memset(&s, 0, sizeof s);
	struct detection d;
	struct rb_err err;
	CHECK(detection_init(&d, 0, &err) == RB_OK);
	d.threshold = NAN;
	char *body = response_success(&s, &d);
	CHECK(body != NULL);
	CHECKF(strcmp(body, "{\"status\":\"success\",\"anomalies\":[],\"predicted\":[],"
	                    "\"model\":\"\",\"metric\":\"\",\"threshold\":null,\"events\":[]}") == 0,
	       "%s", body);
	free(body);
	detection_release(&d);
}

/*
 * A one-minute series of 8 rows with rows 3-5 (09:03-09:05) missing: the
 * gap is an event of its own between the runs around it, written with
 * Druid's instant format, and has no entry in anomalies.
 */
static void test_gap(void)
{
	static const int minute[] = {0, 1, 2, 6, 7, 8, 9, 10};
	struct rb_err err;
	struct series *s = NULL;
	CHECK(series_alloc(&s, 8, 1, &err) == RB_OK);
	struct detection d;
	CHECK(detection_init(&d, 8, &err) == RB_OK);
	for (size_t i = 0; i < 8; i++) {
		s->timestamps[i] = malloc(32);
		CHECK(s->timestamps[i] != NULL);
		snprintf(s->timestamps[i], 32, "2023-09-21T09:%02d:00.000Z", minute[i]);
		CHECK(series_parse_instant(s->timestamps[i], &s->t[i]) == 0);
		d.expected[i] = 10;
		d.observed[i] = 10;
	}
	d.anomaly[2] = d.anomaly[3] = 1; /* flagged on both sides of the gap */
	d.observed[2] = 50;
	d.score[2] = 4;
	d.observed[3] = 1;
	d.score[3] = 3;
	d.threshold = 2;
	char *body = response_success(s, &d);
	CHECK(body != NULL);
	const char *want =
		"\"events\":[{\"start\":\"2023-09-21T09:02:00.000Z\",\"end\":\"2023-09-21T09:02:00.000Z\","
		"\"kind\":\"up\",\"peak_timestamp\":\"2023-09-21T09:02:00.000Z\",\"peak_score\":4.0,"
		"\"rows\":1},{\"start\":\"2023-09-21T09:03:00.000Z\",\"end\":\"2023-09-21T09:05:00.000Z\","
		"\"kind\":\"gap\",\"peak_timestamp\":\"2023-09-21T09:03:00.000Z\",\"peak_score\":0.0,"
		"\"rows\":3},{\"start\":\"2023-09-21T09:06:00.000Z\",\"end\":\"2023-09-21T09:06:00.000Z\","
		"\"kind\":\"down\",\"peak_timestamp\":\"2023-09-21T09:06:00.000Z\",\"peak_score\":3.0,"
		"\"rows\":1}]}";
	size_t bl = strlen(body), wl = strlen(want);
	CHECKF(bl > wl && strcmp(body + bl - wl, want) == 0, "%s", body);
	CHECK(strstr(body, "09:03:00") > strstr(body, "\"events\":")); /* no row of its own */
	free(body);
	detection_release(&d);
	series_free(s);
}

/* More than EVENTS_MAX events: the first EVENTS_MAX are listed, then "events_truncated":true. */
static void test_truncated(void)
{
	size_t n = 2 * EVENTS_MAX + 4;
	struct rb_err err;
	struct series *s = NULL;
	CHECK(series_alloc(&s, n, 1, &err) == RB_OK);
	struct detection d;
	CHECK(detection_init(&d, n, &err) == RB_OK);
	for (size_t i = 0; i < n; i++) {
		s->timestamps[i] = malloc(16);
		CHECK(s->timestamps[i] != NULL);
		snprintf(s->timestamps[i], 16, "%zu", i);
		s->t[i] = 60.0 * (double)i;
		d.anomaly[i] = i % 2 == 0; /* every other row: EVENTS_MAX + 2 runs */
	}
	char *body = response_success(s, &d);
	CHECK(body != NULL);
	json_error_t jerr;
	json_t *root = json_loads(body, 0, &jerr); /* new */
	CHECKF(root != NULL, "%s", jerr.text);
	CHECK(json_array_size(json_object_get(root, "anomalies")) == EVENTS_MAX + 2);
	CHECK(json_array_size(json_object_get(root, "events")) == EVENTS_MAX);
	CHECK(json_is_true(json_object_get(root, "events_truncated")));
	const char *tail = ",\"events_truncated\":true}";
	CHECK(strcmp(body + strlen(body) - strlen(tail), tail) == 0);
	json_decref(root);
	free(body);
	detection_release(&d);
	series_free(s);
}

static void test_error(void)
{
	char *body = response_error("model traffic needs at least 32 rows, got 5");
	CHECK(body != NULL);
	CHECKF(strcmp(body, "{\"status\":\"error\",\"msg\":\"model traffic needs at least 32 "
	                    "rows, got 5\"}") == 0,
	       "%s", body);
	free(body);
	body = response_error("quote \" and \\ backslash");
	CHECK(body != NULL && strstr(body, "quote \\\" and \\\\ backslash") != NULL);
	free(body);
	body = response_error("bad \xff utf8");
	CHECK(body != NULL && strstr(body, "\"status\":\"error\"") != NULL);
	free(body);
	body = response_error(NULL);
	CHECK(body != NULL && strcmp(body, "{\"status\":\"error\",\"msg\":\"error\"}") == 0);
	free(body);
}

int main(void)
{
	test_success();
	test_empty();
	test_gap();
	test_truncated();
	test_error();
	return 0;
}
