/*
 * druid_query: the caller's Druid query, checked, its granularity measured,
 * and (for model-based detection) rewritten with the model's aggregations
 * and post-aggregations taken from a template file, <models_dir>/<name>.druid.json.
 * The template format, the granularity rules and the rewrite are specified in
 * docs/DRUID.md.
 *
 * Not here: sending the query (druid.h), parsing Druid's answer (series.h).
 * Nothing in this module mutates a query it is given: the rewrite works on a
 * deep copy. Jansson references: "borrowed" parameters are only read; "new"
 * results belong to the caller (json_decref).
 */
#ifndef RB_DRUID_QUERY_H
#define RB_DRUID_QUERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rb/base/error.h"

/* Default cap on a query's JSON text (druid_query_parse with max_bytes 0). */
#define DRUID_QUERY_MAX_BYTES ((size_t)1 << 20)
/* Deepest accepted nesting of arrays/objects in a query or template. */
#define DRUID_QUERY_MAX_DEPTH 64

/*
 * Parses len bytes of JSON text (need not be NUL-terminated) into a new
 * query object and checks it with druid_query_check(). max_bytes 0 means
 * DRUID_QUERY_MAX_BYTES. RB_E_TOO_LARGE over the size or depth cap,
 * RB_E_INPUT for bad JSON (duplicate keys included) or a failed check.
 * *out is NULL on failure.
 */
enum rb_code druid_query_parse(json_t **out /* new */, const char *text, size_t len,
                               size_t max_bytes, struct rb_err *err);

/*
 * Checks what this service needs of a query (query: borrowed): a JSON
 * object, queryType "timeseries" (anything else: "only timeseries queries
 * are supported"), a dataSource, intervals (a string, a non-empty list of
 * strings, or an object) and a granularity (a name or an object). It does
 * not require the granularity to have a fixed length (only the rewrite does).
 */
enum rb_code druid_query_check(const json_t *query /* borrowed */, struct rb_err *err);

/*
 * Length in milliseconds of a granularity value (granularity: borrowed):
 *   "minute", "FIFTEEN_MINUTE", ... (case-insensitive simple names),
 *   {"type":"period","period":"PT5M"} (origin and timeZone do not change the length),
 *   {"type":"duration","duration":300000} (milliseconds).
 * RB_E_INPUT, naming the granularity, for "all", "none", "month", "quarter",
 * "year", periods with months or years, and anything unknown or malformed.
 */
enum rb_code druid_granularity_ms(const json_t *granularity /* borrowed */, int64_t *ms,
                                  struct rb_err *err);

/* The same, reading query["granularity"] (query: borrowed). */
enum rb_code druid_query_granularity_ms(const json_t *query /* borrowed */, int64_t *ms,
                                        struct rb_err *err);

/* A model's aggregations and post-aggregations, with placeholders (docs/DRUID.md). */
struct druid_template;

/*
 * Reads <models_dir>/<name>.druid.json. name must be a model name
 * (model_name_valid: [A-Za-z0-9._-]{1,63}, no leading dot). RB_E_NOT_FOUND
 * for another name or when the file does not exist, RB_E_MODEL when it is
 * not a valid template (the message names the file, not the directory).
 */
enum rb_code druid_template_load(struct druid_template **out, const char *models_dir,
                                 const char *name, struct rb_err *err);

/* Parses a template from len bytes of JSON text; what names it in messages. RB_E_MODEL on error. */
enum rb_code druid_template_parse(struct druid_template **out, const char *text, size_t len,
                                  const char *what, struct rb_err *err);

/* Frees a template; NULL is a no-op. */
void druid_template_free(struct druid_template *t);

/*
 * The tables the template is written for (its optional "dataSources" list; 0
 * without one): druid_datasources = auto allows them (druid_policy.h).
 */
size_t druid_template_datasource_count(const struct druid_template *t);
/* Name i < druid_template_datasource_count(t); borrowed from t. */
const char *druid_template_datasource(const struct druid_template *t, size_t i);

/* 1 when the rewritten query yields a top-level column called name (an aggregation or post-aggregation). */
int druid_template_provides(const struct druid_template *t, const char *name);

/*
 * The query to send for model-based detection: a new deep copy of query
 * (borrowed, never modified) whose "aggregations" and "postAggregations" are
 * the template's, with every placeholder replaced for the query's
 * granularity. Checks the query (druid_query_check) and fails with
 * RB_E_INPUT when its granularity has no fixed length. *out is NULL on failure.
 */
enum rb_code druid_query_rewrite(json_t **out /* new */, const json_t *query /* borrowed */,
                                 const struct druid_template *t, struct rb_err *err);

/*
 * Compact JSON text of a query (query: borrowed) as a new NUL-terminated
 * string (caller frees) of *len bytes. max_bytes 0 means
 * DRUID_QUERY_MAX_BYTES; longer is RB_E_TOO_LARGE.
 */
enum rb_code druid_query_dump(const json_t *query /* borrowed */, char **text, size_t *len,
                              size_t max_bytes, struct rb_err *err);

/*
 * From a client's query text to the body to POST to Druid, in one call:
 * druid_query_parse (max_bytes 0 = default cap), then with a template
 * druid_query_rewrite + druid_query_dump, or without one (the default
 * detector) the client's own len bytes, unchanged. *body is a new
 * NUL-terminated string (caller frees) of *body_len bytes; NULL on failure.
 */
enum rb_code druid_query_prepare(const char *text, size_t len, const struct druid_template *t,
                                 size_t max_bytes, char **body, size_t *body_len,
                                 struct rb_err *err);

/* ---- history (docs/DRUID.md, "History") ---- */

/* Most intervals a query may list when history is added (Druid's own cap is larger). */
#define DRUID_HISTORY_MAX_INTERVALS 1000

/* What druid_query_add_history did; a plain value. */
struct druid_history {
	int64_t start_ms;       /* the requested start: the earliest start among the query's
	                         * intervals, ms since 1970-01-01T00:00Z (0 when not read) */
	int64_t granularity_ms; /* the bucket length (0 when it has none) */
	int64_t history_ms;     /* length added before start_ms, rows * granularity_ms;
	                         * 0 = no history */
	size_t rows;            /* history buckets asked of Druid (<= max_rows) */
	const char *none;       /* when history_ms is 0: why, a static English phrase */
};

/*
 * The query with history: a new deep copy of query (borrowed, never modified)
 * whose intervals get one more interval in front, "S'/S" in UTC with
 * milliseconds, where S is the earliest start among the query's intervals and
 * S' = S - rows * granularity, rows = min(history_ms / granularity, max_rows,
 * S / granularity) (whole buckets, never before 1970). A string intervals
 * becomes a list; {"type":"intervals","intervals":[...]} keeps its shape.
 * Druid condenses abutting intervals, so the answer is one series.
 * No history (*out NULL, RB_OK, h->history_ms 0 and h->none saying why) when
 * history_ms <= 0 or max_rows is 0, when the query has a "limit" (history
 * would eat it), when its granularity has no fixed length (all, none, month,
 * ...) or when not one whole bucket fits.
 * RB_E_INPUT (400, naming the interval) when an interval is not
 * start/end, start/PERIOD or PERIOD/end with instants
 * YYYY[-MM[-DD]][THH[:MM[:SS[.fff]]]][Z|+-HH[[:]MM]], when PERIOD/end has a
 * period with months or years, for another intervals object, or for more than
 * DRUID_HISTORY_MAX_INTERVALS intervals; the failed query check's code and
 * message otherwise; RB_E_NOMEM.
 */
enum rb_code druid_query_add_history(json_t **out /* new */, const json_t *query /* borrowed */,
                                     int64_t history_ms, size_t max_rows,
                                     struct druid_history *h, struct rb_err *err);

/*
 * druid_query_prepare with history: the same, and with history_ms > 0 the
 * query is extended by druid_query_add_history (before the rewrite); *h says
 * what was added. Without history (off, or h->none) the body is what
 * druid_query_prepare gives (the client's bytes for the default detector).
 */
enum rb_code druid_query_prepare_history(const char *text, size_t len,
                                         const struct druid_template *t, size_t max_bytes,
                                         int64_t history_ms, size_t history_max_rows,
                                         struct druid_history *h, char **body,
                                         size_t *body_len, struct rb_err *err);

struct druid_policy;

/*
 * druid_query_prepare_history under a query policy (p may be NULL: none):
 * right after the parse, druid_policy_apply refuses what the policy refuses
 * (RB_E_INPUT naming it) and clamps context.timeout; with a template the
 * rewritten query is checked again (the template's part). The body is the
 * client's own bytes only when neither the policy, history nor a template
 * changed anything.
 */
enum rb_code druid_query_prepare_policy(const char *text, size_t len,
                                        const struct druid_template *t,
                                        const struct druid_policy *p, size_t max_bytes,
                                        int64_t history_ms, size_t history_max_rows,
                                        struct druid_history *h, char **body,
                                        size_t *body_len, struct rb_err *err);

/*
 * How many of the first n rows (t: bucket starts in seconds, ascending, as
 * series_parse gives them) are history: their bucket ends at or before
 * h->start_ms. 0 when h is NULL or added no history.
 */
size_t druid_history_rows_before(const struct druid_history *h, const double *t, size_t n);

/*
 * An interval instant as Druid reads it, YYYY[-MM[-DD]][THH[:MM[:SS[.f]]]]
 * [Z|+-HH[[:]MM]] (no zone: UTC), to ms since the epoch. 0, or -1 when
 * s[0..len) is not one (field ranges checked).
 */
int druid_instant_ms(const char *s, size_t len, int64_t *ms);
/* (The writer of an instant is civil_format_ms, rb/input/civil.h.) */

#endif
