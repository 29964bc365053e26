/*
 * app: the routes of the service and the outliers request from form fields to
 * JSON answer (see app.h). Everything it does is a call into a module:
 * form / request_fields (fcgi/), the Druid rewrite and client, series,
 * engine (deep model), detector (model-free), response. This file decides
 * only the order, which model runs, and which HTTP status an error becomes.
 */
#include "rb/fcgi/app.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb/answer/response.h"
#include "rb/base/assert.h"
#include "rb/detect/detection.h"
#include "rb/detect/detector.h"
#include "rb/fcgi/b64.h"
#include "rb/fcgi/druid_slots.h"
#include "rb/fcgi/http_status.h"
#include "rb/druid/druid_client.h"
#include "rb/druid/druid_policy.h"
#include "rb/druid/druid_query.h"
#include "rb/detect/engine.h"
#include "rb/explain/explain_query.h"
#include "rb/explain/ip_identifier.h"
#include "rb/fcgi/form.h"
#include "rb/model/infer.h"
#include "rb/fcgi/log.h"
#include "rb/fcgi/metrics.h"
#include "rb/fcgi/request_fields.h"
#include "rb/fcgi/route.h"
#include "rb/input/series.h"

struct app {
	const struct rb_config *cfg;    /* borrowed */
	const struct registry *reg;     /* borrowed */
	struct pool_board *board;       /* borrowed, may be NULL (no Druid-wait limit) */
	struct infer **runners;         /* [reg->n], one per model */
	struct druid *druid;
	struct druid_policy *policy;    /* what a client's query may ask of Druid */
	struct metrics_board *metrics;  /* borrowed (shared), may be NULL: nothing counted */
	double druid_call_s;            /* this request's Druid call: seconds, < 0 = none */
};

void app_set_metrics(struct app *app, struct metrics_board *mb) { app->metrics = mb; }

struct metrics_board *app_metrics(const struct app *app) { return app->metrics; }

static double app_seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

void app_free(struct app *app)
{
	if (app == NULL)
		return;
	if (app->runners != NULL)
		for (size_t i = 0; i < app->reg->n; i++)
			infer_free(app->runners[i]);
	free(app->runners);
	druid_free(app->druid);
	druid_policy_free(app->policy);
	free(app);
}

enum rb_code app_new(struct app **out, const struct rb_config *cfg, const struct registry *reg,
                     struct pool_board *board, struct rb_err *err)
{
	*out = NULL;
	struct app *app = calloc(1, sizeof *app);
	if (app == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	app->cfg = cfg;
	app->reg = reg;
	app->board = board;
	app->druid_call_s = -1;
	app->runners = calloc(reg->n > 0 ? reg->n : 1, sizeof *app->runners);
	if (app->runners == NULL) {
		app_free(app);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < reg->n; i++) {
		enum rb_code rc = infer_new(&app->runners[i], reg->entries[i].model, cfg->inference,
		                            err);
		if (rc != RB_OK) {
			rb_err_prefix(err, "model %s", reg->entries[i].name);
			app_free(app);
			return rc;
		}
	}
	struct druid_opts dopts = {cfg->druid_url, (long)cfg->druid_connect_timeout_ms,
	                           (long)cfg->druid_timeout_ms,
	                           (size_t)cfg->druid_max_response_bytes, NULL};
	enum rb_code rc = druid_new(&app->druid, &dopts, err);
	if (rc == RB_OK)
		rc = druid_policy_new(&app->policy, cfg->druid_datasources, cfg->druid_timeout_ms, err);
	for (size_t i = 0; rc == RB_OK && i < reg->n; i++)
		rc = druid_policy_add_template(app->policy, reg->entries[i].druid, err);
	if (rc != RB_OK) {
		app_free(app);
		return rc;
	}
	char allowed[256];
	druid_policy_describe(app->policy, allowed, sizeof allowed);
	log_msg(strcmp(allowed, "none") == 0 ? LOG_LVL_WARN : LOG_LVL_DEBUG, NULL,
	        "druid_datasources = %s: queries may read %s", cfg->druid_datasources, allowed);
	*out = app;
	return RB_OK;
}

size_t app_response_head(const struct app_response *res, const char *rid, char *buf, size_t cap)
{
	int n = snprintf(buf, cap,
	                 "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                 "X-Request-Id: %s\r\nCache-Control: no-store\r\n%s%s%s%s%.0u%s\r\n",
	                 res->status, http_status_reason(res->status),
	                 res->content_type != NULL ? res->content_type : "application/json",
	                 res->body_len, rid,
	                 res->allow != NULL ? "Allow: " : "", res->allow != NULL ? res->allow : "",
	                 res->allow != NULL ? "\r\n" : "",
	                 res->retry_after_s > 0 ? "Retry-After: " : "", res->retry_after_s,
	                 res->retry_after_s > 0 ? "\r\n" : "");
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

void app_response_release(struct app_response *res)
{
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
}

static void respond_error(struct app_response *res, int status, const char *msg)
{
	res->status = status;
	res->body = response_error(msg);
	res->body_len = res->body != NULL ? strlen(res->body) : 0;
}

static void respond_err(struct app_response *res, const struct rb_err *err)
{
	respond_error(res, rb_http_status(err->code), err->msg);
}

void app_too_large(struct app *app, size_t length, int length_known, struct app_response *res)
{
	char msg[160];
	snprintf(msg, sizeof msg, "request body of %s%zu bytes is over the limit of %llu bytes",
	         length_known ? "" : "more than ", length, app->cfg->max_body_bytes);
	respond_error(res, 413, msg);
}

/* A Druid-wait slot for this request (druid_slots.h): RB_OK with *slot (-1 without a board), or,
 * when every slot stays taken, RB_E_UPSTREAM with *retry_after_s > 0 (the caller's 503). */
static enum rb_code druid_slot_take(struct app *app, const char *rid, int *slot,
                                    unsigned *retry_after_s, struct rb_err *err)
{
	*slot = -1;
	if (app->board == NULL)
		return RB_OK;
	struct druid_slots_opts so = {druid_slots_limit(app->cfg->druid_wait_max, app->cfg->workers),
	                              app->cfg->druid_queue_ms, app->cfg->druid_timeout_ms};
	unsigned waited_ms = 0;
	*slot = druid_slots_acquire(app->board, &so, retry_after_s, &waited_ms);
	if (*slot >= 0) {
		if (waited_ms > 0)
			log_msg(LOG_LVL_DEBUG, rid, "waited %u ms for a Druid-wait slot", waited_ms);
		return RB_OK;
	}
	log_msg(LOG_LVL_WARN, rid,
	        "Druid busy: all %u Druid-wait slots held (druid_wait_max), waited %u ms; 503, "
	        "Retry-After %u",
	        so.limit, waited_ms, *retry_after_s);
	return rb_err_set(err, RB_E_UPSTREAM,
	                  "Druid is slow to answer and all %u workers allowed to wait on it are "
	                  "waiting; retry in %u s, or send the data instead",
	                  so.limit, *retry_after_s);
}

/* The series text of a request: inline data (*text points into rq, *owned stays NULL), or
 * the answer to its Druid query (rewritten for a model, passed through unchanged for the
 * default detector; *text == *owned, new, the caller frees it). */
static enum rb_code fetch_series_text(struct app *app, const struct rb_request *rq,
                                      const struct registry_entry *model, const char **text,
                                      size_t *len, char **owned, struct druid_history *h,
                                      const char *rid, unsigned *retry_after_s,
                                      struct rb_err *err)
{
	*text = NULL;
	*owned = NULL;
	if (rq->data != NULL) {
		*text = rq->data;
		*len = rq->data_len;
		return RB_OK;
	}
	if (rq->query == NULL)
		return rb_err_set(err, RB_E_INPUT, "No data provided or requested");

	if (model != NULL && model->druid == NULL)
		return rb_err_set(err, RB_E_INPUT,
		                  "model %s cannot run a Druid query (it has no Druid template); "
		                  "send the data instead",
		                  model->name);
	char *body = NULL;
	size_t body_len = 0;
	/* The request may lower the configured history, never raise it (docs/DRUID.md). */
	long long history_ms = app->cfg->history_ms;
	if (rq->has_history && rq->history_ms < history_ms)
		history_ms = rq->history_ms;
	enum rb_code rc = druid_query_prepare_policy(
		rq->query, rq->query_len, model != NULL ? model->druid : NULL, app->policy, 0,
		(int64_t)history_ms, app->cfg->history_max_rows, h, &body, &body_len, err);
	if (rc != RB_OK)
		return rc;
	if (h->history_ms > 0)
		log_msg(LOG_LVL_DEBUG, rid, "history: %zu rows of %lld ms before %lld", h->rows,
		        (long long)h->granularity_ms, (long long)h->start_ms);
	else if (history_ms > 0)
		log_msg(LOG_LVL_DEBUG, rid, "no history: %s", h->none);
	log_msg(LOG_LVL_DEBUG, rid, "Druid query: %s", body);
	int slot = -1;
	rc = druid_slot_take(app, rid, &slot, retry_after_s, err);
	if (rc == RB_OK) {
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = druid_query(app->druid, body, body_len, owned, len, err);
		app->druid_call_s = app_seconds_since(&t0); /* counted once the answer is read */
	}
	if (app->board != NULL)
		druid_slots_release(app->board, slot);
	free(body);
	*text = *owned;
	return rc;
}

/* Counts this request's Druid call, if it made one (app->druid_call_s >= 0), once:
 * answer_bad when a 200 answer was not a series. */
static void count_druid_call(struct app *app, int answer_bad)
{
	if (app->druid_call_s < 0)
		return;
	struct druid_stats st;
	druid_get_stats(app->druid, &st);
	enum druid_outcome o = st.last;
	if (o == DRUID_OUTCOME_OK && answer_bad)
		o = DRUID_OUTCOME_BAD_ANSWER;
	metrics_druid_call(app->metrics, o, app->druid_call_s);
	app->druid_call_s = -1;
}

static void handle_outliers(struct app *app, const struct app_request *req,
                            struct app_response *res)
{
	struct rb_err err = {0};
	struct form_limits lim;
	form_limits_default(&lim);
	lim.max_body = app->cfg->max_body_bytes;
	lim.max_value = lim.max_body;
	struct rb_request rq;
	memset(&rq, 0, sizeof rq);
	struct series *s = NULL;
	struct detection det;
	memset(&det, 0, sizeof det);
	const char *text = NULL;
	char *text_owned = NULL;
	size_t text_len = 0;
	struct druid_history hist;
	memset(&hist, 0, sizeof hist);
	unsigned retry_after_s = 0; /* > 0: no Druid-wait slot, answer 503 */

	enum rb_code rc = request_fields_parse_timed(req->content_type,
	                                             req->body != NULL ? req->body : "",
	                                             req->body_len, &lim, app->cfg->max_body_bytes,
	                                             &rq, req->timer, &err);
	if (rc != RB_OK)
		goto done;

	const struct registry_entry *model = NULL;
	if (rq.model_status == RB_MODEL_ABSENT && app->cfg->default_model[0] != '\0') {
		model = registry_find(app->reg, app->cfg->default_model); /* checked at start-up */
	} else if (rq.model_status == RB_MODEL_NAMED) {
		model = registry_find(app->reg, rq.model);
		if (model == NULL)
			log_msg(LOG_LVL_INFO, req->request_id,
			        "model %s is not loaded; using the default detector", rq.model);
	} else if (rq.model_status != RB_MODEL_ABSENT) {
		log_msg(LOG_LVL_INFO, req->request_id,
		        "model field is not a valid model name; using the default detector");
	}
	app->druid_call_s = -1;
	rc = fetch_series_text(app, &rq, model, &text, &text_len, &text_owned, &hist,
	                       req->request_id, &retry_after_s, &err);
	stage_timer_mark(req->timer, STAGE_FETCH);
	if (rc != RB_OK) {
		count_druid_call(app, 0);
		goto done;
	}
	/* The text is already capped upstream (max_body_bytes for data, druid_max_response_bytes
	 * for Druid); the series cap is the larger of the two so both paths share one rule. */
	struct series_limits slim = {0};
	slim.max_bytes = app->cfg->max_body_bytes > app->cfg->druid_max_response_bytes
	                         ? (size_t)app->cfg->max_body_bytes
	                         : (size_t)app->cfg->druid_max_response_bytes;
	rc = series_parse(&s, text, text_len, &slim, &err);
	stage_timer_mark(req->timer, STAGE_PARSE);
	count_druid_call(app, rc != RB_OK);
	if (rc != RB_OK) {
		rb_err_prefix(&err, rq.data != NULL ? "data" : "Druid answer");
		if (rq.data == NULL && rc == RB_E_INPUT)
			err.code = RB_E_UPSTREAM;
		goto done;
	}
	const char *metric = rq.metric[0] != '\0' ? rq.metric : app->cfg->default_metric;
	struct timespec t_run;
	clock_gettime(CLOCK_MONOTONIC, &t_run);
	if (model != NULL) {
		size_t idx = (size_t)(model - app->reg->entries);
		RB_ASSERT(idx < app->reg->n); /* the runner of this model, not another's */
		rc = engine_run_model(app->runners[idx], model->model, s, metric, &det, &err);
	} else {
		struct detector_opts dopts = {
			detector_kind_name(rq.has_detector ? rq.detector : app->cfg->detector),
			rq.metric[0] != '\0' ? rq.metric : NULL, app->cfg->default_metric,
			rq.has_sensitivity ? rq.sensitivity : app->cfg->sensitivity};
		rc = detector_run(s, &dopts, &det, &err);
	}
	stage_timer_mark(req->timer, STAGE_DETECT);
	if (rc != RB_OK)
		goto done;
	if (app->metrics != NULL) {
		metrics_runner_time(app->metrics, metrics_runner(app->metrics, det.model),
		                    app_seconds_since(&t_run));
		metrics_rows(app->metrics, s->n);
	}
	if (rq.data == NULL) {
		/* Answer only the requested rows; the detector saw the history before them. */
		size_t k = druid_history_rows_before(&hist, s->t, s->n);
		RB_ASSERT(det.n == s->n);
		series_drop_head(s, k);
		detection_drop_head(&det, k);
		det.has_history = 1;
		det.history_rows = k;
	}
	snprintf(res->model, sizeof res->model, "%s", det.model);
	res->body = response_success(s, &det);
	stage_timer_mark(req->timer, STAGE_RENDER);
	if (res->body == NULL) {
		rc = rb_err_set(&err, RB_E_NOMEM, "out of memory building the answer");
		goto done;
	}
	res->status = 200;
	res->body_len = strlen(res->body);
done:
	if (rc != RB_OK) {
		if (rc == RB_E_NOMEM || rc == RB_E_INTERNAL)
			log_msg(LOG_LVL_ERROR, req->request_id, "%s", err.msg);
		respond_err(res, &err);
		if (retry_after_s > 0) {
			res->status = 503;
			res->retry_after_s = retry_after_s;
		}
	}
	detection_release(&det);
	series_free(s);
	free(text_owned);
	request_fields_release(&rq);
}

/* The parsed form of a request body (the caps of the outliers route); *f new or NULL. */
static enum rb_code app_form(struct app *app, const struct app_request *req, struct form **f,
                             struct rb_err *err)
{
	struct form_limits lim;
	form_limits_default(&lim);
	lim.max_body = app->cfg->max_body_bytes;
	lim.max_value = lim.max_body;
	return form_parse(req->content_type, req->body != NULL ? req->body : "", req->body_len,
	                  &lim, f, err);
}

/* CONTRACT §7: form field payload, plain JSON (rb/explain/ip_identifier.h). */
static void handle_ip_identifier(struct app *app, const struct app_request *req,
                                 struct app_response *res)
{
	struct rb_err err = {0};
	struct form *f = NULL;
	enum rb_code rc = app_form(app, req, &f, &err);
	size_t len = 0;
	const char *payload = rc == RB_OK ? form_get(f, "payload", &len) : NULL;
	if (rc == RB_OK && payload == NULL)
		rc = rb_err_set(&err, RB_E_INPUT, "payload: missing (a JSON object, not base64)");
	if (rc == RB_OK)
		rc = ip_identifier_run(payload, len, &res->body, &err);
	form_free(f);
	if (rc != RB_OK) {
		respond_err(res, &err);
		return;
	}
	res->status = 200;
	res->body_len = strlen(res->body);
}

/* Form field name, base64-decoded (new NUL-terminated text in *out; NULL when absent). */
static enum rb_code b64_field(const struct form *f, const char *name, size_t cap, char **out,
                              size_t *len, struct rb_err *err)
{
	*out = NULL;
	*len = 0;
	size_t n = 0;
	const char *v = form_get(f, name, &n);
	if (v == NULL || n == 0)
		return RB_OK;
	enum rb_code rc = b64_decode_alloc(v, n, cap, out, len, err);
	if (rc != RB_OK)
		rb_err_prefix(err, "%s", name);
	return rc;
}

/* POST /api/v1/explain (rb/explain/explain_query.h): fields query, timestamp, dimension and
 * metric (optional, default_metric), each base64 as in an outliers request. */
static void handle_explain(struct app *app, const struct app_request *req,
                           struct app_response *res)
{
	struct rb_err err = {0};
	struct form *f = NULL;
	char *q = NULL, *ts = NULL, *dim = NULL, *met = NULL, *body = NULL, *answer = NULL;
	size_t qlen = 0, tlen = 0, dlen = 0, mlen = 0, body_len = 0, alen = 0;
	unsigned retry_after_s = 0;
	struct explain_window w;
	enum rb_code rc = app_form(app, req, &f, &err);
	if (rc == RB_OK)
		rc = b64_field(f, "query", app->cfg->max_body_bytes, &q, &qlen, &err);
	if (rc == RB_OK)
		rc = b64_field(f, "timestamp", 64, &ts, &tlen, &err);
	if (rc == RB_OK)
		rc = b64_field(f, "dimension", EXPLAIN_DIMENSION_MAX, &dim, &dlen, &err);
	if (rc == RB_OK)
		rc = b64_field(f, "metric", NAMES_MAX, &met, &mlen, &err);
	double at = 0;
	if (rc == RB_OK && (q == NULL || ts == NULL || dim == NULL))
		rc = rb_err_set(&err, RB_E_INPUT, "query, timestamp and dimension are needed");
	if (rc == RB_OK && series_parse_instant(ts, &at) != 0)
		rc = rb_err_set(&err, RB_E_INPUT, "timestamp: not an ISO-8601 instant");
	if (rc == RB_OK && (!names_metric_ok(dim, dlen) ||
	                    (met != NULL && !names_metric_ok(met, mlen))))
		rc = rb_err_set(&err, RB_E_INPUT, "dimension and metric are names: 1..63 bytes of "
		                                  "[A-Za-z0-9._-]");
	if (rc == RB_OK)
		rc = explain_query_build(q, qlen, app->policy, dim,
		                         met != NULL ? met : app->cfg->default_metric,
		                         (int64_t)llround(at * 1000.0), (int64_t)app->cfg->history_ms,
		                         app->cfg->history_max_rows, &body, &body_len, &w, &err);
	if (rc == RB_OK) {
		log_msg(LOG_LVL_DEBUG, req->request_id, "Druid query: %s", body);
		int slot = -1;
		rc = druid_slot_take(app, req->request_id, &slot, &retry_after_s, &err);
		if (rc == RB_OK)
			rc = druid_query(app->druid, body, body_len, &answer, &alen, &err);
		if (app->board != NULL)
			druid_slots_release(app->board, slot);
	}
	if (rc == RB_OK)
		rc = explain_query_answer(answer, alen, &w, &res->body, &err);
	form_free(f);
	free(q);
	free(ts);
	free(dim);
	free(met);
	free(body);
	free(answer);
	if (rc != RB_OK) {
		respond_err(res, &err);
		if (retry_after_s > 0) {
			res->status = 503;
			res->retry_after_s = retry_after_s;
		}
		return;
	}
	res->status = 200;
	res->body_len = strlen(res->body);
}

static void handle_health(struct app *app, struct app_response *res)
{
	json_t *root = json_object(); /* new */
	json_t *models = json_array(); /* new, stolen by root below */
	for (size_t i = 0; i < app->reg->n; i++)
		json_array_append_new(models, json_string(app->reg->entries[i].name));
	unsigned alive = app->board != NULL ? app->board->alive : 1;
	unsigned wanted = app->board != NULL ? app->board->wanted : 1;
	json_object_set_new(root, "status", json_string(alive > 0 ? "ok" : "degraded"));
	json_object_set_new(root, "workers_alive", json_integer(alive));
	json_object_set_new(root, "workers_wanted", json_integer(wanted));
	json_object_set_new(root, "crash_loops",
	                    json_integer(app->board != NULL ? app->board->crash_loops : 0));
	json_object_set_new(root, "generation",
	                    json_integer(app->board != NULL ? app->board->generation : 0));
	if (app->board != NULL) {
		json_object_set_new(root, "druid_waiting",
		                    json_integer(druid_slots_held(app->board)));
		json_object_set_new(root, "druid_wait_max",
		                    json_integer(druid_slots_limit(app->cfg->druid_wait_max,
		                                                   app->cfg->workers)));
	}
	if (app->metrics != NULL) {
		int32_t ok = __atomic_load_n(&app->metrics->druid_last_ok, __ATOMIC_RELAXED);
		uint64_t at = __atomic_load_n(&app->metrics->druid_last_unix_ms, __ATOMIC_RELAXED);
		json_object_set_new(root, "druid_last_ok", ok < 0 ? json_null() : json_boolean(ok));
		json_object_set_new(root, "druid_last_at",
		                    ok < 0 ? json_null() : json_real((double)at / 1e3));
	}
	json_object_set_new(root, "models", models);
	json_object_set_new(root, "inference",
	                    json_string(infer_path_name(app->cfg->inference)));
	if (app->cfg->inference == INFER_AUTO && app->reg->n > 0) {
		/* which path runs each chunk size, per model (infer_plan_measure, at load) */
		json_t *plans = json_object(); /* new, stolen by root below */
		for (size_t i = 0; i < app->reg->n; i++) {
			char line[512];
			infer_plan_describe(app->reg->entries[i].model, line, sizeof line);
			json_object_set_new(plans, app->reg->entries[i].name, json_string(line));
		}
		json_object_set_new(root, "inference_plan", plans);
	}
	res->body = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (res->body == NULL) {
		respond_error(res, 500, "out of memory");
		return;
	}
	res->status = 200;
	res->body_len = strlen(res->body);
}

static void handle_metrics(struct app *app, struct app_response *res)
{
	res->body = metrics_render(app->metrics, app->board, app->reg, &res->body_len);
	if (res->body == NULL) {
		respond_error(res, 500, "out of memory");
		return;
	}
	res->status = 200;
	res->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void app_handle(struct app *app, const struct app_request *req, struct app_response *res)
{
	memset(res, 0, sizeof *res);
	const char *allow = NULL;
	switch (route_lookup(req->method, req->uri, &allow)) {
	case ROUTE_OUTLIERS:
		handle_outliers(app, req, res);
		break;
	case ROUTE_HEALTH:
		handle_health(app, res);
		break;
	case ROUTE_METRICS:
		handle_metrics(app, res);
		break;
	case ROUTE_IP_IDENTIFIER:
		handle_ip_identifier(app, req, res);
		break;
	case ROUTE_EXPLAIN:
		handle_explain(app, req, res);
		break;
	case ROUTE_METHOD:
		res->allow = allow;
		respond_error(res, 405, "method not allowed for this path");
		break;
	case ROUTE_NOT_FOUND:
	default:
		respond_error(res, 404, "no such route");
		break;
	}
}
