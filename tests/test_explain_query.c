/*
 * test_explain_query: the groupBy behind /api/v1/explain and the reading of its
 * answer (explain_query.h), without Druid: the query built from a client's
 * timeseries query (queryType, dimensions, one interval of 120 + 1 buckets
 * aligned on the granularity's origin, limit/descending/limitSpec dropped, the
 * policy's timeout), its refusals, and a crafted groupBy answer read into the
 * values that explain the last bucket.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/explain/explain_query.h"
#include "testutil.h"

static const char *Q = "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\","
                       "\"granularity\":{\"type\":\"period\",\"period\":\"PT1M\","
                       "\"origin\":\"2023-09-21T09:00:30Z\"},\"intervals\":\"2023-09-21T09/PT1H\","
                       "\"descending\":true,\"limit\":5,\"limitSpec\":{\"type\":\"default\"},"
                       "\"aggregations\":[{\"type\":\"longSum\",\"name\":\"bytes\","
                       "\"fieldName\":\"sum_bytes\"}]}";

static enum rb_code build(const struct druid_policy *p, const char *q, const char *metric,
                          int64_t at, json_t **out, struct explain_window *w, struct rb_err *err)
{
	char *body = NULL;
	size_t len = 0;
	*out = NULL;
	enum rb_code rc = explain_query_build(q, strlen(q), p, "ip", metric, at, 7 * 86400000LL,
	                                      20160, &body, &len, w, err);
	if (rc == RB_OK) {
		*out = json_loadb(body, len, 0, NULL);
		CHECK(*out != NULL && strlen(body) == len);
	} else {
		CHECK(body == NULL);
	}
	free(body);
	return rc;
}

int main(void)
{
	struct rb_err err = {0};
	struct druid_policy *p = NULL;
	CHECK(druid_policy_new(&p, "rb_flow", 30000, &err) == RB_OK);
	json_t *g = NULL;
	struct explain_window w;
	/* 2023-09-21T09:32:10Z: bucket 09:31:30 (origin :30). */
	CHECKF(build(p, Q, "bytes", 1695288730000LL, &g, &w, &err) == RB_OK, "%s", err.msg);
	CHECK(strcmp(json_string_value(json_object_get(g, "queryType")), "groupBy") == 0);
	json_t *dims = json_pack("[s]", "ip");
	CHECK(json_equal(json_object_get(g, "dimensions"), dims));
	json_decref(dims);
	CHECKF(strcmp(json_string_value(json_object_get(g, "intervals")),
	              "2023-09-21T07:31:30.000Z/2023-09-21T09:32:30.000Z") == 0,
	       "%s", json_string_value(json_object_get(g, "intervals")));
	CHECK(json_object_get(g, "limit") == NULL && json_object_get(g, "descending") == NULL &&
	      json_object_get(g, "limitSpec") == NULL);
	CHECK(json_integer_value(json_object_get(json_object_get(g, "context"), "timeout")) == 30000);
	CHECK(w.rows == 120 && w.granularity_ms == 60000 && w.start_ms == 1695281490000LL);
	json_decref(g);

	/* Refusals. */
	CHECK(build(p, Q, "nosuch", 1695288730000LL, &g, &w, &err) == RB_E_INPUT);
	CHECK(strstr(err.msg, "metric nosuch") != NULL);
	char *other = strdup(Q);
	memcpy(strstr(other, "rb_flow"), "rb_xxxx", 7);
	CHECK(build(p, other, "bytes", 1695288730000LL, &g, &w, &err) == RB_E_INPUT);
	free(other);
	CHECK(build(p, Q, "bytes", -1, &g, &w, &err) == RB_E_INPUT);
	const char *all = "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"granularity\":"
	                  "\"all\",\"intervals\":\"2023/2024\",\"aggregations\":[{\"type\":\"count\","
	                  "\"name\":\"bytes\"}]}";
	CHECK(build(p, all, "bytes", 1695288730000LL, &g, &w, &err) == RB_E_INPUT);

	/* An answer: a steady 10.0.1.10, a 10.0.1.11 that jumps in the last bucket, a null value. */
	struct explain_window w2 = {1695286800000LL, 60000, 30, "ip", "bytes"};
	char *text = malloc(1 << 16);
	size_t n = 0;
	n += (size_t)snprintf(text + n, 65536 - n, "[");
	for (int t = 0; t <= 30; t++)
		for (int v = 0; v < 3; v++) {
			long long b = v == 0 ? 5000 + 100 * (t % 4) : v == 1 ? (t == 30 ? 9000 : 300 + t % 3) : 7;
			n += (size_t)snprintf(text + n, 65536 - n,
			                      "%s{\"version\":\"v1\",\"timestamp\":\"2023-09-21T09:%02d:00.000Z\","
			                      "\"event\":{\"ip\":%s,\"bytes\":%lld}}",
			                      n > 1 ? "," : "", t,
			                      v == 0 ? "\"10.0.1.10\"" : v == 1 ? "\"10.0.1.11\"" : "null", b);
		}
	snprintf(text + n, 65536 - n, "]");
	char *ans = NULL;
	CHECKF(explain_query_answer(text, strlen(text), &w2, &ans, &err) == RB_OK, "%s", err.msg);
	json_t *a = json_loads(ans, 0, NULL);
	CHECK(a != NULL);
	CHECK(strcmp(json_string_value(json_object_get(a, "status")), "success") == 0);
	CHECK(strcmp(json_string_value(json_object_get(a, "timestamp")), "2023-09-21T09:30:00.000Z") == 0);
	json_t *vals = json_object_get(a, "values");
	CHECKF(json_array_size(vals) == 1, "%s", ans);
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(vals, 0), "value")), "10.0.1.11") == 0);
	json_decref(a);
	free(ans);
	/* Upstream nonsense: 502. */
	CHECK(explain_query_answer("{}", 2, &w2, &ans, &err) == RB_E_UPSTREAM && ans == NULL);
	const char *bad_dim = "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"event\":{\"ip\":1}}]";
	CHECK(explain_query_answer(bad_dim, strlen(bad_dim), &w2, &ans, &err) == RB_E_UPSTREAM);
	CHECK(strstr(err.msg, "dimension is not a string") != NULL);
	const char *bad_met = "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"event\":{\"ip\":\"a\","
	                      "\"bytes\":\"x\"}}]";
	CHECK(explain_query_answer(bad_met, strlen(bad_met), &w2, &ans, &err) == RB_E_UPSTREAM);
	CHECK(strstr(err.msg, "metric is not a number") != NULL);
	CHECK(explain_query_answer("nope", 4, &w2, &ans, &err) == RB_E_UPSTREAM);
	CHECK(explain_query_answer("[]", 2, &w2, &ans, &err) == RB_OK);
	CHECK(strstr(ans, "\"values\":[]") != NULL);
	free(ans);
	free(text);
	druid_policy_free(p);
	return 0;
}
