/*
 * test_response: the JSON bodies of CONTRACT §1: key set and order, each row
 * once in predicted and at most once in anomalies, timestamps exactly as
 * received, observed null when missing, no NaN/Infinity anywhere, and the
 * error body (also for a message that is not valid UTF-8).
 */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "rb/answer/response.h"
#include "rb/detect/detection.h"
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
	const char *order[] = {"status", "anomalies", "predicted", "model", "metric", "threshold"};
	void *it = json_object_iter(root);
	for (size_t k = 0; k < 6; k++) {
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
	                    "\"model\":\"\",\"metric\":\"\",\"threshold\":null}") == 0,
	       "%s", body);
	free(body);
	detection_release(&d);
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
	test_error();
	return 0;
}
