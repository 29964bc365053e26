/*
 * request_fields: the outliers request's form fields, one table row each
 * (name, decoder); the rules are in include/rb/fcgi/request_fields.h. Decoded text is
 * only checked to start like the JSON it should be; parsing it is the series
 * and Druid modules' job. The base64 fields (data, query, model) may come
 * still urlencoded (request_fields_parse): then percent- and base64-decoding
 * are one pass (b64_decode_pct_*). Not the form parser, not the model lookup.
 */
#include "rb/fcgi/request_fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/base/assert.h"
#include "rb/fcgi/b64.h"
#include "rb/fcgi/strnum.h"
#include "rb/input/period.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims ASCII blanks and line ends from both ends of s[0..*len) in place (moves the bytes). */
static void trim_in_place(char *s, size_t *len)
{
	size_t a = 0, n = *len;
	while (a < n && is_space(s[a]))
		a++;
	while (n > a && is_space(s[n - 1]))
		n--;
	memmove(s, s + a, n - a);
	*len = n - a;
}

/* ---- decoders: one per field ----------------------------------------------------------------- */

struct field_rule;
/*
 * Decodes the non-empty value v[0..len) of the rule's field into req. When
 * encoded (only for rules with b64 set), v is still urlencoded and len is its
 * raw length.
 */
typedef enum rb_code (*field_decode_fn)(const struct field_rule *rule, const char *v, size_t len,
                                        int encoded, size_t max_json, struct rb_request *req,
                                        struct rb_err *err);

struct field_rule {
	const char *name;
	field_decode_fn decode;
	char json_open;        /* JSON fields: the first character expected ('{' or '[') */
	const char *what;      /* what the value should be, for messages */
	int b64;               /* always base64: may be handed over still urlencoded */
};

/* Base64 → JSON text starting with rule->json_open; stored into *text and *tlen. */
static enum rb_code decode_json(const struct field_rule *rule, const char *v, size_t len,
                                int encoded, size_t max_json, char **text, size_t *tlen,
                                struct rb_err *err)
{
	enum rb_code rc = encoded ? b64_decode_pct_alloc(v, len, max_json, text, tlen, err)
	                          : b64_decode_alloc(v, len, max_json, text, tlen, err);
	if (rc != RB_OK)
		return rc;
	size_t i = 0;
	while (i < *tlen && is_space((*text)[i]))
		i++;
	if (i == *tlen || (*text)[i] != rule->json_open)
		return rb_err_set(err, RB_E_INPUT, "not base64 of %s", rule->what);
	return RB_OK;
}

static enum rb_code decode_data(const struct field_rule *rule, const char *v, size_t len,
                                int encoded, size_t max_json, struct rb_request *req,
                                struct rb_err *err)
{
	return decode_json(rule, v, len, encoded, max_json, &req->data, &req->data_len, err);
}

static enum rb_code decode_query(const struct field_rule *rule, const char *v, size_t len,
                                 int encoded, size_t max_json, struct rb_request *req,
                                 struct rb_err *err)
{
	if (req->data != NULL)
		return RB_OK; /* data wins; the query is not even decoded */
	return decode_json(rule, v, len, encoded, max_json, &req->query, &req->query_len, err);
}

/* Never an error: the status says why there is no model. */
static enum rb_code decode_model(const struct field_rule *rule, const char *v, size_t len,
                                 int encoded, size_t max_json, struct rb_request *req,
                                 struct rb_err *err)
{
	(void)rule;
	(void)max_json;
	(void)err;
	char name[NAMES_MAX + 8];
	size_t n;
	enum rb_code rc =
		encoded ? b64_decode_pct_buf(v, len, (unsigned char *)name, sizeof name - 1, &n, NULL)
		        : b64_decode_buf(v, len, (unsigned char *)name, sizeof name - 1, &n, NULL);
	if (rc == RB_E_INPUT) {
		req->model_status = RB_MODEL_UNDECODABLE;
		return RB_OK;
	}
	if (rc == RB_OK)
		trim_in_place(name, &n);
	if (rc != RB_OK || !names_model_ok(name, n)) {
		req->model_status = RB_MODEL_UNSAFE;
		return RB_OK;
	}
	memcpy(req->model, name, n);
	req->model[n] = '\0';
	req->model_status = RB_MODEL_NAMED;
	return RB_OK;
}

/*
 * The extension fields' rule: v itself when ok(v), else base64 of an ok text
 * (trimmed). The text ends in out[0..cap) NUL-terminated, *n its length.
 * what says what the value should be, for the message.
 */
static enum rb_code plain_or_b64(const char *what, const char *v, size_t len,
                                 int (*ok)(const char *, size_t), char *out, size_t cap,
                                 size_t *n, struct rb_err *err)
{
	if (ok(v, len) && len < cap) {
		memcpy(out, v, len);
		out[len] = '\0';
		*n = len;
		return RB_OK;
	}
	if (b64_decode_buf(v, len, (unsigned char *)out, cap - 1, n, NULL) == RB_OK) {
		trim_in_place(out, n);
		out[*n] = '\0';
		if (ok(out, *n))
			return RB_OK;
	}
	return rb_err_set(err, RB_E_INPUT, "not %s (as plain text or base64)", what);
}

static enum rb_code decode_metric(const struct field_rule *rule, const char *v, size_t len,
                                  int encoded, size_t max_json, struct rb_request *req,
                                  struct rb_err *err)
{
	(void)encoded;
	(void)max_json;
	size_t n;
	return plain_or_b64(rule->what, v, len, names_metric_ok, req->metric, sizeof req->metric,
	                    &n, err);
}

static int detector_ok(const char *s, size_t len)
{
	enum detector_kind d;
	return detector_kind_parse(s, len, &d) == 0;
}

static enum rb_code decode_detector(const struct field_rule *rule, const char *v, size_t len,
                                    int encoded, size_t max_json, struct rb_request *req,
                                    struct rb_err *err)
{
	(void)encoded;
	(void)max_json;
	char text[32], known[128], what[160];
	size_t n;
	names_list(detector_kind_names, known, sizeof known);
	snprintf(what, sizeof what, "%s (%s)", rule->what, known);
	enum rb_code rc = plain_or_b64(what, v, len, detector_ok, text, sizeof text, &n, err);
	if (rc != RB_OK)
		return rc;
	int parsed = detector_kind_parse(text, n, &req->detector);
	RB_ASSERT(parsed == 0); /* detector_ok accepted it */
	req->has_detector = 1;
	return RB_OK;
}

/* Any decimal number: the range is checked after, so "2" is "out of range", not "not a number". */
static int number_syntax_ok(const char *s, size_t len)
{
	double x;
	return strnum_double(s, len, -1e308, 1e308, &x) == STRNUM_OK;
}

static enum rb_code decode_sensitivity(const struct field_rule *rule, const char *v, size_t len,
                                       int encoded, size_t max_json, struct rb_request *req,
                                       struct rb_err *err)
{
	(void)encoded;
	(void)max_json;
	char text[64];
	size_t n;
	enum rb_code rc =
		plain_or_b64(rule->what, v, len, number_syntax_ok, text, sizeof text, &n, err);
	if (rc != RB_OK)
		return rc;
	if (strnum_double(text, n, 0.0, 1.0, &req->sensitivity) != STRNUM_OK)
		return rb_err_set(err, RB_E_INPUT, "out of range 0..1");
	req->has_sensitivity = 1;
	return RB_OK;
}

static int period_ok(const char *s, size_t len)
{
	int64_t ms;
	return period_parse_length_ms(s, len, &ms, NULL) == RB_OK;
}

/* A length of history (PT0S allowed); the caller clamps it to the configured history. */
static enum rb_code decode_history(const struct field_rule *rule, const char *v, size_t len,
                                   int encoded, size_t max_json, struct rb_request *req,
                                   struct rb_err *err)
{
	(void)encoded;
	(void)max_json;
	char text[PERIOD_MAX_TEXT + 8];
	size_t n;
	enum rb_code rc = plain_or_b64(rule->what, v, len, period_ok, text, sizeof text, &n, err);
	if (rc != RB_OK) {
		/* Say why when the text (plain or decoded) is period-like: P1M counts months. */
		const char *cand = v;
		size_t clen = len;
		if (!(len > 0 && (v[0] == 'P' || v[0] == 'p')) &&
		    b64_decode_buf(v, len, (unsigned char *)text, sizeof text - 1, &n, NULL) ==
		            RB_OK) {
			trim_in_place(text, &n);
			cand = text;
			clen = n;
		}
		int64_t ms;
		struct rb_err why = {0};
		if (clen > 0 && (cand[0] == 'P' || cand[0] == 'p') &&
		    period_parse_length_ms(cand, clen, &ms, &why) != RB_OK)
			return rb_err_set(err, RB_E_INPUT, "not %s: %s", rule->what, why.msg);
		return rc;
	}
	int64_t ms = 0;
	rc = period_parse_length_ms(text, n, &ms, err);
	RB_ASSERT(rc == RB_OK); /* period_ok accepted it */
	req->history_ms = (long long)ms;
	req->has_history = 1;
	return RB_OK;
}

/* Order matters: data before query (data wins). */
static const struct field_rule rules[] = {
	{"data", decode_data, '[', "a JSON array (a Druid timeseries result)", 1},
	{"query", decode_query, '{', "a JSON object (a Druid native query)", 1},
	{"model", decode_model, 0, "a model name", 1},
	{"metric", decode_metric, 0, "a metric name (1 to 63 of A-Z a-z 0-9 . _ -)", 0},
	{"sensitivity", decode_sensitivity, 0, "a number from 0 to 1", 0},
	{"detector", decode_detector, 0, "a detector name", 0}, /* + the names (decode_detector) */
	{"history", decode_history, 0, "an ISO-8601 period such as P7D or PT0S", 0},
};

/* The rules' fields that are always base64, for form_parse_raw. */
static const char *const b64_fields[] = {"data", "query", "model", NULL};

enum rb_code request_fields_decode(const struct form *f, size_t max_json, struct rb_request *req,
                                   struct rb_err *err)
{
	memset(req, 0, sizeof *req);
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		size_t len = 0, decoded_len = 0;
		int encoded = 0;
		const char *v = form_get_raw(f, rules[i].name, &len, &decoded_len, &encoded);
		if (v == NULL || decoded_len == 0)
			continue; /* absent */
		enum rb_code rc = rules[i].decode(&rules[i], v, len, encoded && rules[i].b64,
		                                  max_json, req, err);
		if (rc != RB_OK) {
			rb_err_prefix(err, "%s", rules[i].name);
			return rc;
		}
	}
	if (req->data == NULL && req->query == NULL)
		return rb_err_set(err, RB_E_INPUT, "No data provided or requested");
	return RB_OK;
}

enum rb_code request_fields_parse_timed(const char *content_type, const char *body, size_t len,
                                        const struct form_limits *lim, size_t max_json,
                                        struct rb_request *req, struct stage_timer *timer,
                                        struct rb_err *err)
{
	struct form *f = NULL;
	memset(req, 0, sizeof *req);
	enum rb_code rc = form_parse_raw(content_type, body, len, lim, b64_fields, &f, err);
	stage_timer_mark(timer, STAGE_FORM);
	if (rc == RB_OK)
		rc = request_fields_decode(f, max_json, req, err);
	form_free(f);
	stage_timer_mark(timer, STAGE_B64);
	return rc;
}

enum rb_code request_fields_parse(const char *content_type, const char *body, size_t len,
                                  const struct form_limits *lim, size_t max_json,
                                  struct rb_request *req, struct rb_err *err)
{
	return request_fields_parse_timed(content_type, body, len, lim, max_json, req, NULL, err);
}

void request_fields_release(struct rb_request *req)
{
	if (req == NULL)
		return;
	free(req->data);
	free(req->query);
	memset(req, 0, sizeof *req);
}
