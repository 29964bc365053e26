/*
 * app: the handler without FastCGI (fcgi/app.c), for every value of the
 * config's closed name sets. GET /health answers the exact same body for each
 * inference path, naming the configured one (a worker built with a wrong bound
 * on the inference names aborted here with inference = vector); an outliers
 * request without a model runs the configured detector, and a request's
 * detector field overrides it; with a metrics board, the app counts the detector's
 * time and rows and GET /metrics answers them as Prometheus text, /health the last
 * Druid call (none yet). No models, no Druid: data comes inline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/fcgi/app.h"
#include "rb/fcgi/config.h"
#include "rb/fcgi/metrics.h"
#include "rb/fcgi/registry.h"
#include "testutil.h"

/* Standard base64 (padded) of s, malloc'd. */
static char *b64(const char *s)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	char *out = malloc(4 * (n / 3 + 1) + 1);
	CHECK(out != NULL);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? abc[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* s with '+', '/' and '=' percent-encoded (a base64 text as a form value), malloc'd. */
static char *form_value(const char *s)
{
	char *out = malloc(3 * strlen(s) + 1);
	CHECK(out != NULL);
	size_t o = 0;
	for (; *s != '\0'; s++) {
		if (*s == '+' || *s == '/' || *s == '=')
			o += (size_t)snprintf(out + o, 4, "%%%02X", (unsigned char)*s);
		else
			out[o++] = *s;
	}
	out[o] = '\0';
	return out;
}

/* A config from text (the defaults plus these lines). */
static struct rb_config config_of(const char *text)
{
	struct rb_config cfg;
	struct rb_err err = {0};
	CHECKF(config_parse_buffer(text, strlen(text), "test", &cfg, &err) == RB_OK, "%s: %s", text,
	       err.msg);
	return cfg;
}

static void handle(const struct rb_config *cfg, const char *method, const char *uri,
                   const char *body, struct app_response *res)
{
	static const struct registry none = {.n = 0, .entries = NULL};
	struct app *app = NULL;
	struct rb_err err = {0};
	CHECKF(app_new(&app, cfg, &none, NULL, &err) == RB_OK, "%s", err.msg);
	struct app_request req = {method, uri, "application/x-www-form-urlencoded", body,
	                          body != NULL ? strlen(body) : 0, "test-1", NULL};
	app_handle(app, &req, res);
	app_free(app);
}

/* Every inference name the config accepts comes back, and only it, in /health. */
static void health(void)
{
	static const char *const paths[] = {"auto", "dnnl", "vector", "reference"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		char text[64], want[256];
		snprintf(text, sizeof text, "inference = %s\n", paths[i]);
		struct rb_config cfg = config_of(text);
		struct app_response res;
		handle(&cfg, "GET", "/health", NULL, &res);
		snprintf(want, sizeof want,
		         "{\"status\":\"ok\",\"workers_alive\":1,\"workers_wanted\":1,"
		         "\"crash_loops\":0,\"generation\":0,\"models\":[],\"inference\":\"%s\"}",
		         paths[i]);
		CHECKF(res.status == 200 && res.body != NULL && strcmp(res.body, want) == 0,
		       "%s: %d %s", paths[i], res.status, res.body != NULL ? res.body : "(null)");
		app_response_release(&res);
	}
}

/* 48 five-minute rows of one metric with a spike: enough for either detector. */
static char *series_json(void)
{
	size_t cap = 48 * 96 + 16, o = 0;
	char *s = malloc(cap);
	CHECK(s != NULL);
	s[o++] = '[';
	for (int i = 0; i < 48; i++)
		o += (size_t)snprintf(s + o, cap - o,
		                      "%s{\"timestamp\":\"2024-01-01T%02d:%02d:00.000Z\","
		                      "\"result\":{\"bytes\":%d}}",
		                      i > 0 ? "," : "", i / 12, i % 12 * 5,
		                      i == 30 ? 900 : 100 + i % 7);
	s[o++] = ']';
	s[o] = '\0';
	return s;
}

/* The answer's "model" names the detector that ran: the configured one, or the request's. */
static void detectors(void)
{
	static const char *const names[] = {"default", "iforest-legacy"};
	char *json = series_json();
	char *plain = b64(json);
	char *data = form_value(plain);
	free(plain);
	for (size_t c = 0; c < 2; c++) {
		char text[64];
		snprintf(text, sizeof text, "detector = %s\n", names[c]);
		struct rb_config cfg = config_of(text);
		for (size_t r = 0; r < 3; r++) { /* r == 2: no detector field */
			size_t blen = strlen(data) + 64;
			char *body = malloc(blen);
			CHECK(body != NULL);
			if (r < 2)
				snprintf(body, blen, "detector=%s&data=%s", names[r], data);
			else
				snprintf(body, blen, "data=%s", data);
			struct app_response res;
			handle(&cfg, "POST", "/api/v1/outliers", body, &res);
			const char *want = r < 2 ? names[r] : names[c];
			CHECKF(res.status == 200 && strcmp(res.model, want) == 0,
			       "%s %s: %d %s %.200s", text, body, res.status, res.model,
			       res.body != NULL ? res.body : "");
			app_response_release(&res);
			free(body);
		}
	}
	free(data);
	free(json);
}

static void metrics(void)
{
	static const struct registry none = {.n = 0, .entries = NULL};
	struct rb_config cfg = config_of("detector = robust\n");
	struct metrics_board *mb = metrics_board_new();
	CHECK(mb != NULL);
	struct app *app = NULL;
	struct rb_err err = {0};
	CHECKF(app_new(&app, &cfg, &none, NULL, &err) == RB_OK, "%s", err.msg);
	app_set_metrics(app, mb);
	CHECK(app_metrics(app) == mb);
	char *json = series_json();
	char *plain = b64(json);
	char *data = form_value(plain);
	size_t blen = strlen(data) + 8;
	char *body = malloc(blen);
	CHECK(body != NULL);
	snprintf(body, blen, "data=%s", data);
	struct app_request req = {"POST", "/api/v1/outliers", "application/x-www-form-urlencoded",
	                          body, strlen(body), "test-2", NULL};
	struct app_response res;
	app_handle(app, &req, &res);
	CHECKF(res.status == 200 && res.content_type == NULL, "%d", res.status);
	app_response_release(&res);
	struct app_request get = {"GET", "/metrics", NULL, NULL, 0, "test-3", NULL};
	app_handle(app, &get, &res);
	CHECK(res.status == 200 && res.body != NULL && strlen(res.body) == res.body_len);
	CHECK(res.content_type != NULL &&
	      strncmp(res.content_type, "text/plain; version=0.0.4", 25) == 0);
	CHECKF(strstr(res.body, "\nrb_aioutliers_detector_seconds_count{detector=\"robust\"} 1\n") !=
	               NULL &&
	       strstr(res.body, "\nrb_aioutliers_rows_analysed_total 48\n") != NULL,
	       "%s", res.body);
	char head[512];
	CHECK(app_response_head(&res, "r", head, sizeof head) > 0);
	CHECK(strstr(head, "Content-Type: text/plain; version=0.0.4") != NULL);
	app_response_release(&res);
	struct app_request health_req = {"GET", "/health", NULL, NULL, 0, "test-4", NULL};
	app_handle(app, &health_req, &res);
	CHECKF(res.status == 200 && strstr(res.body, "\"druid_last_ok\":null") != NULL, "%s", res.body);
	app_response_release(&res);
	app_free(app);
	free(body);
	free(data);
	free(plain);
	free(json);
	metrics_board_free(mb);
}

int main(void)
{
	health();
	detectors();
	metrics();
	printf("app: ok\n");
	return 0;
}
