/*
 * app: one worker's request handler, independent of FastCGI framing: a
 * method, a path, a content type and a body in; a status, headers and a JSON
 * body out. The routes and status codes are those of CONTRACT §1 and
 * docs/API.md. Not the accept loop (fcgi/worker.c) nor the pool.
 *
 * An app is built in a worker after fork: it owns the worker's oneDNN
 * runners (one per model of the registry) and its Druid client (one
 * persistent curl handle); config, registry and board are borrowed from the
 * master's memory; config and registry are read-only, the board is written only
 * through druid_slots (rb/fcgi/druid_slots.h), the metrics board (set after app_new)
 * only through rb/fcgi/metrics.h.
 */
#ifndef RB_APP_H
#define RB_APP_H

#include <stddef.h>

#include "rb/fcgi/config.h"
#include "rb/fcgi/pool.h"
#include "rb/base/error.h"
#include "rb/base/stage_timer.h"
#include "rb/fcgi/registry.h"

struct app;

struct app_request {
	const char *method;       /* "GET", "POST", ... */
	const char *uri;          /* request URI; a query string is ignored */
	const char *content_type; /* may be NULL */
	const char *body;         /* may be NULL when body_len is 0 */
	size_t body_len;
	const char *request_id;   /* for logs */
	struct stage_timer *timer; /* where the stages' time goes (rb/base/stage_timer.h); may be NULL */
};

struct app_response {
	int status;               /* HTTP status */
	const char *allow;        /* Allow header for 405, else NULL (static string) */
	unsigned retry_after_s;   /* > 0: a Retry-After header, in seconds (503) */
	char *body;               /* JSON text, malloc'd; app_response_release frees it */
	size_t body_len;
	char model[64];           /* what ran (model name or detector), for the access log */
	const char *content_type; /* NULL = application/json (static string) */
};

/* Builds the worker's handler. board may be NULL (tests). */
enum rb_code app_new(struct app **out, const struct rb_config *cfg, const struct registry *reg,
                     struct pool_board *board, struct rb_err *err);

struct metrics_board;
/* Counts into mb (rb/fcgi/metrics.h, shared by the pool) from now on and serves GET /metrics
 * from it; without it (NULL, the default) nothing is counted and /metrics has only what the
 * pool's board and the registry tell. */
void app_set_metrics(struct app *app, struct metrics_board *mb);
/* The board set by app_set_metrics, or NULL (for the worker's per-request count). */
struct metrics_board *app_metrics(const struct app *app);

/* Always fills res (an error becomes its JSON body and status); never fails. */
void app_handle(struct app *app, const struct app_request *req, struct app_response *res);

/* The answer for a body over max_body_bytes (413): of `length` bytes, or of more than
 * `length` when its end was not seen (a body without CONTENT_LENGTH). */
void app_too_large(struct app *app, size_t length, int length_known, struct app_response *res);

/*
 * The CGI/FastCGI response head of res ("Status: NNN Reason", Content-Type,
 * Content-Length, X-Request-Id rid, Cache-Control, Allow and Retry-After when
 * set, blank line) into buf; returns its length, or 0 when it does not fit cap.
 */
size_t app_response_head(const struct app_response *res, const char *rid, char *buf, size_t cap);

void app_response_release(struct app_response *res);

void app_free(struct app *app);

#endif
