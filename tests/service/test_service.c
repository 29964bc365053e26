/*
 * The service end to end: a real web server (lighttpd or Apache, argv[1]) in
 * front of the real daemon, which talks to the real Druid emulator, all on
 * loopback. Each scenario asserts status, body and, for queries, the exact
 * query the emulator received; the emulator's outage A4 comes back as a "gap"
 * event. Run as: test_service lighttpd|apache
 */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svc.h"
#include "testutil.h"

static struct svc_stack st;
static int checks;

#define EXPECT(cond, ...)                                                                          \
	do {                                                                                       \
		checks++;                                                                          \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond);                 \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			setenv("RB_KEEP_SVC", "1", 1);                                             \
			svc_stop(&st);                                                             \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static json_t *parse(const struct svc_http *h)
{
	json_error_t je;
	json_t *j = json_loads(h->body != NULL ? h->body : "", 0, &je);
	EXPECT(j != NULL, "answer is not JSON (%s): %.300s", je.text, h->body);
	return j;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

static char *shared_text(const char *rel) { return tu_read_file(tu_shared(rel), NULL); }

/* The stack's druid_timeout_ms (svc.c's default; main sets it): the query policy lowers
 * context.timeout to it. */
static long druid_timeout_ms = 4000;

/* q (a query) as the policy sends it: context.timeout lowered or set to druid_timeout_ms. */
static json_t *clamped(json_t *q)
{
	json_t *ctx = json_object_get(q, "context");
	if (ctx == NULL) {
		ctx = json_object();
		json_object_set_new(q, "context", ctx);
	}
	json_t *t = json_object_get(ctx, "timeout");
	if (t == NULL || !json_is_integer(t) || json_integer_value(t) > druid_timeout_ms ||
	    json_integer_value(t) == 0)
		json_object_set_new(ctx, "timeout", json_integer(druid_timeout_ms));
	return q;
}

/* POSTs a form built from name/value pairs (values base64-encoded). */
static void post_form(const char *path, struct svc_http *h, const char *name, const char *value,
                      const char *name2, const char *value2)
{
	char *body = svc_form(name, value, name2, value2, NULL);
	svc_post(&st, path, NULL, body, strlen(body), h);
	free(body);
}

static void expect_error(const struct svc_http *h, long status, const char *msg_part)
{
	EXPECT(h->status == status, "status %ld, wanted %ld: %.300s", h->status, status, h->body);
	json_t *j = parse(h);
	EXPECT(strcmp(jstr(j, "status"), "error") == 0, "not an error body: %.200s", h->body);
	EXPECT(strstr(jstr(j, "msg"), msg_part) != NULL, "msg '%s' lacks '%s'", jstr(j, "msg"),
	       msg_part);
	json_decref(j);
}

static void expect_success(const struct svc_http *h, const char *model, size_t rows)
{
	EXPECT(h->status == 200, "status %ld: %.300s", h->status, h->body);
	EXPECT(strstr(h->ctype, "application/json") != NULL, "content type %s", h->ctype);
	json_t *j = parse(h);
	EXPECT(strcmp(jstr(j, "status"), "success") == 0, "%.200s", h->body);
	EXPECT(strcmp(jstr(j, "model"), model) == 0, "model %s, wanted %s", jstr(j, "model"), model);
	size_t n = json_array_size(json_object_get(j, "predicted"));
	EXPECT(n == rows, "predicted has %zu rows, wanted %zu", n, rows);
	EXPECT(json_is_array(json_object_get(j, "anomalies")), "no anomalies array");
	EXPECT(json_is_array(json_object_get(j, "events")), "no events array");
	json_decref(j);
}

static void test_health(void)
{
	struct svc_http h;
	svc_get(&st, "/health", NULL, &h);
	EXPECT(h.status == 200, "health %ld", h.status);
	json_t *j = parse(&h);
	EXPECT(strcmp(jstr(j, "status"), "ok") == 0, "%s", h.body);
	json_t *models = json_object_get(j, "models");
	EXPECT(json_array_size(models) == 1 &&
	               strcmp(json_string_value(json_array_get(models, 0)), "traffic") == 0,
	       "models %s", h.body);
	json_decref(j);
	svc_http_free(&h);
}

static void test_inline_data(void)
{
	char *shallow = shared_text("upstream/shallow_outliers_test_data.json");
	char *traffic = shared_text("upstream/outliers_test_data.json");
	struct svc_http h;

	post_form("/api/v1/outliers", &h, "data", shallow, NULL, NULL);
	expect_success(&h, "default", 239);
	svc_http_free(&h);

	post_form("/api/v1/outliers", &h, "data", traffic, "model", "traffic");
	expect_success(&h, "traffic", 60);
	svc_http_free(&h);

	post_form("/calculate", &h, "data", traffic, "model", "traffic");
	expect_success(&h, "traffic", 60);
	svc_http_free(&h);

	/* Unknown and unsafe model names fall back to the default detector. */
	post_form("/api/v1/outliers", &h, "data", traffic, "model", "no-such-model");
	expect_success(&h, "default", 60);
	svc_http_free(&h);
	post_form("/api/v1/outliers", &h, "data", traffic, "model", "../upstream/traffic");
	expect_success(&h, "default", 60);
	svc_http_free(&h);

	/* multipart/form-data carries the same fields. */
	char *b64 = svc_b64(shallow, strlen(shallow));
	size_t cap = strlen(b64) + 512;
	char *mp = malloc(cap);
	CHECK(mp != NULL);
	int n = snprintf(mp, cap,
	                 "--XyZ\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n%s\r\n"
	                 "--XyZ--\r\n",
	                 b64);
	svc_post(&st, "/api/v1/outliers", "multipart/form-data; boundary=XyZ", mp, (size_t)n, &h);
	expect_success(&h, "default", 239);
	svc_http_free(&h);
	free(mp);
	free(b64);
	free(shallow);
	free(traffic);
}

static void test_queries(void)
{
	char *query = tu_read_file(tu_source("tests/data/druid/seed_readme_pt1m.query.json"), NULL);
	char *expected =
		tu_read_file(tu_source("tests/data/druid/seed_readme_pt1m.expected.json"), NULL);
	struct svc_http h;

	/* Model, history off: the emulator must receive exactly the rewritten query. */
	char *body = svc_form("query", query, "model", "traffic", "history", "PT0S", NULL);
	svc_post(&st, "/api/v1/outliers", NULL, body, strlen(body), &h);
	free(body);
	expect_success(&h, "traffic", 60);
	svc_http_free(&h);
	char *got = svc_emulator_last_query(&st);
	json_t *jg = json_loads(got, 0, NULL), *je = clamped(json_loads(expected, 0, NULL));
	EXPECT(jg != NULL && je != NULL && json_equal(jg, je), "rewritten query differs: %s", got);
	json_decref(jg);
	json_decref(je);
	free(got);

	/* Default detector, history off: the caller's query unchanged but for the clamped
	 * context.timeout (90000 -> 4000), history_rows 0. */
	body = svc_form("query", query, "history", "PT0S", NULL);
	svc_post(&st, "/api/v1/outliers", NULL, body, strlen(body), &h);
	free(body);
	expect_success(&h, "default", 60);
	json_t *j = parse(&h);
	EXPECT(json_integer_value(json_object_get(j, "history_rows")) == 0 &&
	               json_is_integer(json_object_get(j, "history_rows")),
	       "history_rows: %.300s", h.body);
	json_decref(j);
	svc_http_free(&h);
	got = svc_emulator_last_query(&st);
	jg = json_loads(got, 0, NULL);
	je = clamped(json_loads(query, 0, NULL));
	EXPECT(jg != NULL && je != NULL && json_equal(jg, je), "query was changed: %s", got);
	json_decref(jg);
	json_decref(je);
	free(got);
	free(query);
	free(expected);

	/* The emulator's outage A4 (FlowSensor2, no rows 14:00-16:00) inside a one-minute
	 * request with skipped empty buckets: one "gap" event over the missing minutes,
	 * and no row of its own in anomalies or predicted. */
	static const char a4[] =
		"{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"granularity\":\"minute\","
		"\"intervals\":[\"2023-10-10T13:00:00Z/2023-10-10T17:00:00Z\"],"
		"\"filter\":{\"type\":\"selector\",\"dimension\":\"sensor_name\","
		"\"value\":\"FlowSensor2\"},\"aggregations\":[{\"type\":\"longSum\","
		"\"name\":\"bytes\",\"fieldName\":\"sum_bytes\"}],"
		"\"context\":{\"skipEmptyBuckets\":\"true\"}}";
	post_form("/api/v1/outliers", &h, "query", a4, NULL, NULL);
	expect_success(&h, "default", 120);
	json_t *ja4 = parse(&h);
	json_t *ev = json_object_get(ja4, "events"); /* borrowed */
	size_t gaps = 0;
	for (size_t k = 0; k < json_array_size(ev); k++) {
		json_t *e = json_array_get(ev, k);
		if (strcmp(jstr(e, "kind"), "gap") != 0)
			continue;
		gaps++;
		EXPECT(strcmp(jstr(e, "start"), "2023-10-10T14:00:00.000Z") == 0 &&
		               strcmp(jstr(e, "end"), "2023-10-10T15:59:00.000Z") == 0 &&
		               strcmp(jstr(e, "peak_timestamp"), "2023-10-10T14:00:00.000Z") == 0 &&
		               json_integer_value(json_object_get(e, "rows")) == 120 &&
		               json_real_value(json_object_get(e, "peak_score")) == 0.0,
		       "A4 gap event: %s", h.body);
	}
	EXPECT(gaps == 1, "%zu gap events for A4: %.600s", gaps, h.body);
	json_t *an = json_object_get(ja4, "anomalies"); /* borrowed */
	for (size_t k = 0; k < json_array_size(an); k++)
		EXPECT(strncmp(jstr(json_array_get(an, k), "timestamp"), "2023-10-10T14", 13) != 0 &&
		               strncmp(jstr(json_array_get(an, k), "timestamp"), "2023-10-10T15", 13) != 0,
		       "an anomaly inside the outage: %s", h.body);
	json_decref(ja4);
	svc_http_free(&h);
}

/* Timestamps of the answer's predicted rows, as one string "t1,t2,...". */
static char *predicted_timestamps(json_t *j)
{
	json_t *pred = json_object_get(j, "predicted");
	size_t n = json_array_size(pred), cap = 64 * n + 1, o = 0;
	char *out = calloc(1, cap);
	CHECK(out != NULL);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "," : "",
		                      jstr(json_array_get(pred, i), "timestamp"));
	return out;
}

/* A new copy of text with the first "from" replaced by "to". */
static char *replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	CHECK(at != NULL);
	size_t n = strlen(text) - strlen(from) + strlen(to);
	char *out = malloc(n + 1);
	CHECK(out != NULL);
	snprintf(out, n + 1, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

/* Lines of the emulator's request log (one per request it answered). */
static size_t emulator_requests(const char *log)
{
	size_t len = 0, n = 0;
	char *text = tu_read_file(log, &len);
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	free(text);
	return n;
}

/*
 * One history request: the answer has exactly the requested rows (the timestamps of the
 * same request without history), history_rows == want_rows, the emulator got ONE query
 * whose intervals are want_intervals in front of the caller's, and nothing else changed.
 */
static void expect_history(const char *query, const char *model, const char *history,
                           const char *want_intervals, size_t want_rows, const char *log)
{
	struct svc_http h0, h;
	char *off = svc_form("query", query, "history", "PT0S", model ? "model" : NULL, model,
	                     NULL);
	svc_post(&st, "/api/v1/outliers", NULL, off, strlen(off), &h0);
	free(off);
	EXPECT(h0.status == 200, "%ld %.300s", h0.status, h0.body);
	json_t *j0 = parse(&h0);
	size_t before = emulator_requests(log);
	char *on = history != NULL ? svc_form("query", query, "history", history,
	                                      model ? "model" : NULL, model, NULL)
	                           : svc_form("query", query, model ? "model" : NULL, model, NULL);
	svc_post(&st, "/api/v1/outliers", NULL, on, strlen(on), &h);
	free(on);
	EXPECT(emulator_requests(log) == before + 1, "%zu Druid queries for one request",
	       emulator_requests(log) - before);
	expect_success(&h, model ? model : "default", json_array_size(json_object_get(j0, "predicted")));
	json_t *j = parse(&h);
	json_t *hr = json_object_get(j, "history_rows");
	EXPECT(json_is_integer(hr) && (size_t)json_integer_value(hr) == want_rows,
	       "history_rows %lld, wanted %zu", (long long)json_integer_value(hr), want_rows);
	char *t0 = predicted_timestamps(j0), *t1 = predicted_timestamps(j);
	EXPECT(strcmp(t0, t1) == 0, "rows differ from the request's own:\n%.200s\n%.200s", t0, t1);
	/* the same keys in the same order as without history */
	void *i0 = json_object_iter(j0), *i1 = json_object_iter(j);
	while (i0 != NULL && i1 != NULL) {
		EXPECT(strcmp(json_object_iter_key(i0), json_object_iter_key(i1)) == 0, "keys %s/%s",
		       json_object_iter_key(i0), json_object_iter_key(i1));
		i0 = json_object_iter_next(j0, i0);
		i1 = json_object_iter_next(j, i1);
	}
	EXPECT(i0 == NULL && i1 == NULL, "answers have different keys");
	/* each anomaly is one of the requested rows */
	json_t *an = json_object_get(j, "anomalies");
	for (size_t i = 0; i < json_array_size(an); i++)
		EXPECT(strstr(t1, jstr(json_array_get(an, i), "timestamp")) != NULL,
		       "anomaly outside the requested rows");
	free(t0);
	free(t1);

	char *got = svc_emulator_last_query(&st);
	json_t *jg = json_loads(got, 0, NULL), *jq = clamped(json_loads(query, 0, NULL));
	EXPECT(jg != NULL && jq != NULL, "%s", got);
	json_t *iv = json_loads(want_intervals, 0, NULL);
	EXPECT(json_equal(json_object_get(jg, "intervals"), iv), "intervals sent: %s",
	       json_dumps(json_object_get(jg, "intervals"), JSON_COMPACT));
	if (model == NULL) {
		json_object_set(jq, "intervals", iv);
		EXPECT(json_equal(jg, jq), "more than the intervals changed: %s", got);
	}
	json_decref(iv);
	json_decref(jg);
	json_decref(jq);
	free(got);
	json_decref(j0);
	json_decref(j);
	svc_http_free(&h0);
	svc_http_free(&h);
}

/* History from Druid (docs/DRUID.md): the test config keeps the default history, P7D. */
static void test_history(int quick)
{
	char log[600], args[700];
	snprintf(log, sizeof log, "%s/druid-requests.log", st.dir);
	snprintf(args, sizeof args, "--log %s", log);
	svc_restart_emulator(&st, args);
	char *query = tu_read_file(tu_source("tests/data/druid/seed_readme_pt1m.query.json"), NULL);
	const char *hour = "\"2023-09-21T09:00:00+00:00/2023-09-21T10:00:00+00:00\"";
	char want[512];

	/* A request's history lowers the configured one: two hours, 120 rows. */
	snprintf(want, sizeof want, "[\"2023-09-21T07:00:00.000Z/2023-09-21T09:00:00.000Z\",%s]",
	         hour);
	expect_history(query, NULL, "PT2H", want, 120, log);
	if (!quick) {
		/* The default, P7D of one-minute rows: 10,080 rows of history, one Druid call. */
		snprintf(want, sizeof want,
		         "[\"2023-09-14T09:00:00.000Z/2023-09-21T09:00:00.000Z\",%s]", hour);
		expect_history(query, NULL, NULL, want, 10080, log);
		/* A larger request value is clamped to the configured P7D. */
		expect_history(query, NULL, "P30D", want, 10080, log);
		/* The deep model: the same extension of the rewritten query. */
		expect_history(query, "traffic", NULL, want, 10080, log);
		/* Druid has less history than asked (the data start 2023-09-01): what there is. */
		char *early = replace(query, "2023-09-21T09:00:00+00:00/2023-09-21T10:00:00+00:00",
		                      "2023-09-01T02:00:00+00:00/2023-09-01T03:00:00+00:00");
		snprintf(want, sizeof want,
		         "[\"2023-08-25T02:00:00.000Z/2023-09-01T02:00:00.000Z\","
		         "\"2023-09-01T02:00:00+00:00/2023-09-01T03:00:00+00:00\"]");
		expect_history(early, NULL, NULL, want, 120, log);
		free(early);
	}
	/* Inline data: no history, no history_rows key. */
	struct svc_http h;
	char *traffic = shared_text("upstream/outliers_test_data.json");
	post_form("/api/v1/outliers", &h, "data", traffic, "history", "P1D");
	expect_success(&h, "default", 60);
	EXPECT(strstr(h.body, "history_rows") == NULL, "history_rows in a data answer");
	svc_http_free(&h);
	free(traffic);
	/* A history the service cannot read, and an interval history cannot extend: 400s. */
	post_form("/api/v1/outliers", &h, "query", query, "history", "P1M");
	expect_error(&h, 400, "history: not an ISO-8601 period such as P7D or PT0S: period has "
	                      "no fixed length");
	svc_http_free(&h);
	char *bad = replace(query, "2023-09-21T09:00:00+00:00/2023-09-21T10:00:00+00:00",
	                    "P1M/2023-09-21T10:00:00+00:00");
	post_form("/api/v1/outliers", &h, "query", bad, NULL, NULL);
	expect_error(&h, 400, "its period counts years or months");
	svc_http_free(&h);
	free(bad);
	free(query);
	svc_restart_emulator(&st, NULL);
}

/*
 * The Druid query policy (docs/DRUID.md): each refusal is a 400 naming what was refused,
 * for the default detector and the model alike, and never reaches the emulator; an
 * allowed query still answers, its context.timeout lowered to druid_timeout_ms.
 */
static void test_policy(void)
{
	static const char head[] =
		"{\"queryType\":\"timeseries\",\"granularity\":\"minute\","
		"\"intervals\":[\"2023-09-21T09:00:00Z/2023-09-21T10:00:00Z\"],";
	static const char aggs[] =
		"\"aggregations\":[{\"type\":\"longSum\",\"name\":\"bytes\","
		"\"fieldName\":\"sum_bytes\"}]";
	static const struct {
		const char *rest; /* after head: dataSource, aggregations, context... */
		const char *model;
		const char *msg;
	} refused[] = {
		{"\"dataSource\":\"secret\",%s}", NULL,
		 "dataSource 'secret' is not in druid_datasources"},
		{"\"dataSource\":\"secret\",%s}", "traffic",
		 "dataSource 'secret' is not in druid_datasources"},
		{"\"dataSource\":{\"type\":\"lookup\",\"lookup\":\"users\"},%s}", NULL,
		 "dataSource of type 'lookup' is not allowed"},
		{"\"dataSource\":{\"type\":\"union\",\"dataSources\":[\"rb_flow\",\"secret\"]},%s}",
		 NULL, "dataSource 'secret' is not in druid_datasources"},
		{"\"dataSource\":{\"type\":\"query\",\"query\":{}},%s}", "traffic",
		 "dataSource of type 'query' is not allowed"},
		{"\"dataSource\":\"rb_flow\",\"aggregations\":[{\"type\":\"filtered\",\"filter\":"
		 "{\"type\":\"and\",\"fields\":[{\"type\":\"selector\",\"dimension\":\"a\","
		 "\"value\":\"b\"},{\"type\":\"javascript\",\"dimension\":\"a\",\"function\":"
		 "\"function(x){return true}\"}]},\"aggregator\":{\"type\":\"count\",\"name\":"
		 "\"n\"}}]%.0s}",
		 NULL,
		 "javascript is not allowed in a query (aggregations[0].filter.fields[1] has type "
		 "\"javascript\")"},
		{"\"dataSource\":\"rb_flow\",%s,\"context\":{\"priority\":100}}", NULL,
		 "query context.priority is not allowed"},
		{"\"dataSource\":\"rb_flow\",%s,\"context\":{\"lane\":\"fast\"}}", "traffic",
		 "query context.lane is not allowed"},
	};
	/* Allowed: rb_flow as a table object, a timeout above druid_timeout_ms lowered. */
	struct svc_http h;
	char q[1024];
	snprintf(q, sizeof q,
	         "%s\"dataSource\":{\"type\":\"table\",\"name\":\"rb_flow\"},%s,"
	         "\"context\":{\"timeout\":600000}}",
	         head, aggs);
	char *body = svc_form("query", q, "history", "PT0S", NULL);
	svc_post(&st, "/api/v1/outliers", NULL, body, strlen(body), &h);
	free(body);
	expect_success(&h, "default", 60);
	svc_http_free(&h);
	char *got = svc_emulator_last_query(&st);
	json_t *jg = json_loads(got, 0, NULL);
	json_t *t = json_object_get(json_object_get(jg, "context"), "timeout");
	EXPECT(json_integer_value(t) == druid_timeout_ms, "context.timeout sent: %s", got);
	json_decref(jg);
	free(got);

	/* Refused: the emulator's last query stays the allowed one. */
	char *before = svc_emulator_last_query(&st);
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char rest[1024], rq[2048];
		snprintf(rest, sizeof rest, refused[i].rest, aggs);
		snprintf(rq, sizeof rq, "%s%s", head, rest);
		if (refused[i].model != NULL)
			post_form("/api/v1/outliers", &h, "query", rq, "model", refused[i].model);
		else
			post_form("/api/v1/outliers", &h, "query", rq, NULL, NULL);
		expect_error(&h, 400, refused[i].msg);
		svc_http_free(&h);
		char *after = svc_emulator_last_query(&st);
		EXPECT(strcmp(before, after) == 0, "refused query %zu reached Druid: %s", i, after);
		free(after);
	}
	free(before);

}

static void test_errors(void)
{
	struct svc_http h;
	svc_post(&st, "/api/v1/outliers", NULL, "", 0, &h);
	expect_error(&h, 400, "No data provided or requested");
	svc_http_free(&h);

	svc_post(&st, "/api/v1/outliers", NULL, "data=%%%", 7, &h);
	expect_error(&h, 400, "");
	svc_http_free(&h);

	svc_post(&st, "/api/v1/outliers", NULL, "data=!!!notbase64!!!", 20, &h);
	expect_error(&h, 400, "");
	svc_http_free(&h);

	post_form("/api/v1/outliers", &h, "data", "[{\"timestamp\": 3}", NULL, NULL);
	expect_error(&h, 400, "");
	svc_http_free(&h);

	post_form("/api/v1/outliers", &h, "query", "{\"queryType\":\"topN\"}", NULL, NULL);
	expect_error(&h, 400, "");
	svc_http_free(&h);

	/* A model needs a full window of rows. */
	post_form("/api/v1/outliers", &h, "data",
	          "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"bytes\":1}}]", "model",
	          "traffic");
	expect_error(&h, 400, "");
	svc_http_free(&h);

	svc_get(&st, "/api/v1/outliers", NULL, &h);
	expect_error(&h, 405, "");
	svc_http_free(&h);

	svc_get(&st, "/no/such/route", NULL, &h);
	expect_error(&h, 404, "");
	svc_http_free(&h);

	size_t big = 2u << 20; /* over the 1 MiB max_body_bytes of the test config */
	char *body = malloc(big + 1);
	CHECK(body != NULL);
	memcpy(body, "data=", 5);
	memset(body + 5, 'A', big - 5);
	body[big] = '\0';
	svc_post(&st, "/api/v1/outliers", NULL, body, big, &h);
	expect_error(&h, 413, "");
	svc_http_free(&h);
	free(body);

	/* Past the worker's drain limit (4 x max_body_bytes) input is left unread when the 413
	 * is sent: the answer must still arrive, not a reset or the web server's 502. */
	size_t huge = 6u << 20;
	body = malloc(huge + 1);
	CHECK(body != NULL);
	memcpy(body, "data=", 5);
	memset(body + 5, 'A', huge - 5);
	body[huge] = '\0';
	for (int i = 0; i < 3; i++) {
		svc_post(&st, "/api/v1/outliers", NULL, body, huge, &h);
		expect_error(&h, 413, "");
		svc_http_free(&h);
	}
	free(body);
}

static void test_druid_failures(void)
{
	char *query = tu_read_file(tu_source("tests/data/druid/seed_readme_pt1m.query.json"), NULL);
	struct svc_http h;
	static const struct {
		const char *args; /* NULL: Druid down */
		long status;
	} cases[] = {
		{"--fault garbage", 502},
		{"--fault status 500", 502},
		{"--fault close", 502},
		{"--fault oversized 10000000", 502},
		{"--fault-delay-ms 9000", 504}, /* past the stack's druid_timeout_ms (4000) */
		{NULL, 502},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].args != NULL) {
			svc_restart_emulator(&st, cases[i].args);
		} else {
			kill(st.emulator.pid, SIGTERM);
			sleep_ms(200);
		}
		post_form("/api/v1/outliers", &h, "query", query, "model", "traffic");
		EXPECT(h.status == cases[i].status, "Druid %s: status %ld: %.300s",
		       cases[i].args ? cases[i].args : "down", h.status, h.body);
		expect_error(&h, cases[i].status, "");
		svc_http_free(&h);
	}
	svc_restart_emulator(&st, NULL);
	post_form("/api/v1/outliers", &h, "query", query, "model", "traffic");
	expect_success(&h, "traffic", 60);
	svc_http_free(&h);
	free(query);
}

/* ---- load: N client threads, counting failures ---- */

struct load {
	const char *body;
	size_t len;
	int requests;        /* per thread */
	int ok, failed;      /* totals, under lock */
	pthread_mutex_t mu;
};

static void *load_thread(void *arg)
{
	struct load *l = arg;
	for (int i = 0; i < l->requests; i++) {
		struct svc_http h;
		svc_post(&st, "/api/v1/outliers", NULL, l->body, l->len, &h);
		int good = h.status == 200 && h.body != NULL && strstr(h.body, "\"success\"") != NULL;
		pthread_mutex_lock(&l->mu);
		if (good)
			l->ok++;
		else
			l->failed++;
		pthread_mutex_unlock(&l->mu);
		svc_http_free(&h);
	}
	return NULL;
}

enum disturbance { NOTHING, KILL_WORKER, RELOAD };

static void run_load(int threads, int per_thread, enum disturbance what, int *ok, int *failed)
{
	char *traffic = shared_text("upstream/outliers_test_data.json");
	char *body = svc_form("data", traffic, "model", "traffic", NULL);
	struct load l = {body, strlen(body), per_thread, 0, 0, PTHREAD_MUTEX_INITIALIZER};
	pthread_t tids[16];
	for (int t = 0; t < threads; t++)
		CHECK(pthread_create(&tids[t], NULL, load_thread, &l) == 0);
	if (what != NOTHING) {
		sleep_ms(what == RELOAD ? 100 : 300);
		if (what == KILL_WORKER) {
			pid_t pids[8];
			size_t n = svc_worker_pids(&st, pids, 8);
			EXPECT(n >= 1, "no worker found");
			kill(pids[0], SIGKILL);
		} else {
			svc_signal_daemon(&st, SIGHUP, 0, 0);
		}
	}
	for (int t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	*ok = l.ok;
	*failed = l.failed;
	free(body);
	free(traffic);
}

static void test_load(void)
{
	int ok, failed;
	run_load(8, 12, NOTHING, &ok, &failed);
	EXPECT(failed == 0 && ok == 96, "8 clients: %d ok, %d failed", ok, failed);

	run_load(8, 12, KILL_WORKER, &ok, &failed);
	EXPECT(failed <= 1 && ok + failed == 96,
	       "SIGKILL of a worker: %d ok, %d failed (only its request in flight may fail)", ok,
	       failed);
	sleep_ms(300);
	pid_t pids[8];
	EXPECT(svc_worker_pids(&st, pids, 8) == 2, "the pool did not recover to 2 workers");
	run_load(4, 5, NOTHING, &ok, &failed);
	EXPECT(failed == 0, "after recovery: %d failed", failed);

	/* Long enough that the reload (model loading, new workers warming up) happens mid-load. */
	run_load(8, 40, RELOAD, &ok, &failed);
	EXPECT(failed == 0 && ok == 320, "SIGHUP under load: %d ok, %d failed", ok, failed);
	long generation = 0;
	for (int i = 0; i < 100 && generation < 1; i++) {
		struct svc_http h;
		svc_get(&st, "/health", NULL, &h);
		json_t *j = parse(&h);
		generation = (long)json_integer_value(json_object_get(j, "generation"));
		json_decref(j);
		svc_http_free(&h);
		if (generation < 1)
			sleep_ms(50);
	}
	EXPECT(generation >= 1, "health never showed the reloaded generation");
}

struct slow_req {
	const char *body;
	struct svc_http h;
};

static void *slow_request(void *arg)
{
	struct slow_req *r = arg;
	svc_post(&st, "/api/v1/outliers", NULL, r->body, strlen(r->body), &r->h);
	return NULL;
}

static void test_graceful_stop(void)
{
	svc_restart_emulator(&st, "--fault-delay-ms 800");
	char *query = tu_read_file(tu_source("tests/data/druid/seed_readme_pt1m.query.json"), NULL);
	char *body = svc_form("query", query, "model", "traffic", NULL);
	struct slow_req r = {body, {0}};
	pthread_t tid;
	CHECK(pthread_create(&tid, NULL, slow_request, &r) == 0);
	sleep_ms(300);
	int rc = svc_signal_daemon(&st, SIGTERM, 1, 10000);
	pthread_join(tid, NULL);
	EXPECT(rc == 0, "daemon exit status %d after SIGTERM", rc);
	expect_success(&r.h, "traffic", 60);
	svc_http_free(&r.h);
	free(body);
	free(query);
}

/* The daemon under valgrind (one worker) serves a mix of good and bad requests; after a
 * graceful stop every process's valgrind log must report no errors and no definite leak. */
static int run_valgrind(void)
{
	struct svc_opts o = {0};
	o.workers = 1;
	o.valgrind = 1;
	o.druid_timeout_ms = 20000; /* everything is ~30x slower under valgrind */
	druid_timeout_ms = o.druid_timeout_ms;
	svc_start(&st, SVC_LIGHTTPD, &o);
	test_health();
	test_inline_data();
	test_queries();
	test_history(1);
	test_errors();
	int rc = svc_signal_daemon(&st, SIGTERM, 1, 60000);
	EXPECT(rc == 0, "daemon under valgrind exited %d", rc);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "ls %s/valgrind.*.log", st.dir);
	FILE *ls = popen(cmd, "r");
	CHECK(ls != NULL);
	char path[512];
	int logs = 0;
	while (fgets(path, sizeof path, ls) != NULL) {
		path[strcspn(path, "\n")] = '\0';
		char *log = tu_read_file(path, NULL);
		logs++;
		EXPECT(strstr(log, "ERROR SUMMARY: 0 errors") != NULL, "valgrind errors in %s:\n%s",
		       path, log);
		EXPECT(strstr(log, "definitely lost:") == NULL ||
		               strstr(log, "definitely lost: 0 bytes") != NULL,
		       "definite leak in %s:\n%s", path, log);
		free(log);
	}
	pclose(ls);
	EXPECT(logs >= 2, "expected valgrind logs of the master and a worker, found %d", logs);
	svc_stop(&st);
	printf("test_service valgrind: %d checks passed, %d valgrind logs clean\n", checks, logs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "valgrind") == 0)
		return run_valgrind();
	if (argc != 2 || (strcmp(argv[1], "lighttpd") != 0 && strcmp(argv[1], "apache") != 0)) {
		fprintf(stderr, "usage: test_service lighttpd|apache|valgrind\n");
		return 2;
	}
	enum svc_web web = strcmp(argv[1], "lighttpd") == 0 ? SVC_LIGHTTPD : SVC_APACHE;
	svc_start(&st, web, NULL);
	test_health();
	test_inline_data();
	test_queries();
	test_history(0);
	test_policy();
	test_errors();
	test_druid_failures();
	test_load();
	test_graceful_stop();
	svc_stop(&st);
	printf("test_service %s: %d checks passed\n", argv[1], checks);
	return 0;
}
