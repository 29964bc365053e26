/*
 * request_fields: the fields of an outliers request (CONTRACT §1), decoded and
 * validated from a parsed form by one table (CONVENTIONS 12). Not the form
 * parser (form.h), not JSON parsing (the decoded query/data are only checked
 * to look like a JSON object/array; the series and Druid modules parse them).
 *
 * Fields (all optional, an empty value counts as absent):
 *   data        base64 of a Druid timeseries result, a JSON array. Wins over query:
 *               when data is present, query is ignored (not even decoded).
 *   query       base64 of a Druid native query, a JSON object.
 *   model       base64 of a model name (names.h). Absent, undecodable or unsafe: no model
 *               (model_status says which); the caller maps an unknown name to
 *               the default detector too. Never an error.
 *   metric      our extension: the metric to analyse (a metric name, names.h).
 *   sensitivity our extension: a number in [0, 1] for the default detector.
 *   detector    our extension: a detector's name (detector_kind_names:
 *               "default", "novelty", "robust" or "iforest-legacy").
 *   history     our extension: an ISO-8601 period (P1D, PT6H, PT0S = none) of history
 *               before a query's interval; the caller clamps it to the configured
 *               history (a request may lower it, never raise it). Months, years and
 *               anything not a period: RB_E_INPUT.
 * The extension fields take plain text when it is valid for the field,
 * otherwise base64 of valid text (so a client may base64 everything); neither
 * is an RB_E_INPUT naming the field. Caveat: an unpadded base64 text that is
 * itself a valid value (e.g. "cGt0") is read as plain text.
 * Neither data nor query: RB_E_INPUT "No data provided or requested".
 */
#ifndef RB_REQUEST_FIELDS_H
#define RB_REQUEST_FIELDS_H

#include <stddef.h>

#include "rb/base/error.h"
#include "rb/base/stage_timer.h"
#include "rb/detect/detector.h"
#include "rb/fcgi/form.h"
#include "rb/fcgi/names.h"

enum rb_model_status {
	RB_MODEL_ABSENT = 0,  /* no model field, or an empty one */
	RB_MODEL_NAMED,       /* model holds a safe name (the caller checks that it exists) */
	RB_MODEL_UNDECODABLE, /* the field is not valid base64 */
	RB_MODEL_UNSAFE       /* it decodes to something that is not a safe model name */
};

/* One decoded request. Release with request_fields_release (also after a failure). */
struct rb_request {
	char *data;                 /* decoded data (malloc'd, NUL-terminated) or NULL */
	size_t data_len;
	char *query;                /* decoded query (malloc'd, NUL-terminated) or NULL */
	size_t query_len;
	char model[NAMES_MAX + 1];   /* "" unless model_status == RB_MODEL_NAMED */
	enum rb_model_status model_status;
	char metric[NAMES_MAX + 1];  /* "" when absent (the caller applies its default) */
	int has_sensitivity;
	double sensitivity;
	int has_detector;
	enum detector_kind detector;
	int has_history;
	long long history_ms;        /* >= 0, the history field's length in ms */
};

/*
 * Fills *req from the form. max_json caps the decoded size of data and of
 * query (RB_E_TOO_LARGE). Errors name the field ("data: invalid base64: ...").
 * *req is always initialised, so request_fields_release is always safe.
 */
enum rb_code request_fields_decode(const struct form *f, size_t max_json, struct rb_request *req,
                                   struct rb_err *err);

/*
 * form_parse followed by request_fields_decode, with the same result, codes
 * and messages, in fewer passes: the base64 fields (data, query, model) of an
 * urlencoded body are not percent-decoded into a copy but decoded from the
 * body's bytes in one pass (form_parse_raw, b64_decode_pct_alloc). body only
 * needs to live for the call. lim NULL means the form defaults. *req is
 * always initialised (request_fields_release is always safe).
 */
enum rb_code request_fields_parse(const char *content_type, const char *body, size_t len,
                                  const struct form_limits *lim, size_t max_json,
                                  struct rb_request *req, struct rb_err *err);

/* request_fields_parse that charges the form split to STAGE_FORM and the decoding to
 * STAGE_B64 of timer (may be NULL). */
enum rb_code request_fields_parse_timed(const char *content_type, const char *body, size_t len,
                                        const struct form_limits *lim, size_t max_json,
                                        struct rb_request *req, struct stage_timer *timer,
                                        struct rb_err *err);

/* Frees what request_fields_decode allocated and zeroes *req; NULL is a no-op. */
void request_fields_release(struct rb_request *req);

#endif
