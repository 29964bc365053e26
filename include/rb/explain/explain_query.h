/*
 * explain_query: POST /api/v1/explain, the Druid half. From a client's
 * timeseries query, an anomaly instant and a dimension, the groupBy query
 * that fetches that dimension's breakdown of the metric over the anomaly's
 * bucket and the EXPLAIN_MAX_ROWS buckets before it (at most; fewer when the
 * configured history or history_max_rows is shorter), and the reading of
 * Druid's answer into the values that explain the deviation (blame.h):
 *   {"status":"success","dimension":"ip","metric":"bytes",
 *    "timestamp":"<the anomaly's bucket>","history_rows":N,
 *    "values":[{"value":"10.0.1.11","contribution":0.93,"observed":..,
 *               "baseline":..,"z":..},...]}
 * largest contribution first; "z" is null when the value had no spread and
 * moved (a new value). The groupBy is the client's query (its dataSource,
 * filter, granularity, aggregations, post-aggregations, context) with
 * queryType "groupBy", "dimensions": [dimension], one interval, and no
 * "descending" or "limit"; it passes the Druid query policy
 * (druid_policy_apply) before it is returned. A dimension value Druid answers
 * as null counts as "" (Druid's default-value mode does not tell them apart).
 *
 * Errors: RB_E_INPUT (400) for a query that is not a timeseries query, a
 * granularity without a fixed length, a metric the query does not produce,
 * an instant outside 1970..9999 or a refusal of the policy; RB_E_UPSTREAM
 * (502) for an answer that is not a groupBy result with the dimension and a
 * number for the metric; RB_E_TOO_LARGE past the caps below.
 * Not here: sending the query (druid_client.h), the HTTP form (fcgi/app.c).
 */
#ifndef RB_EXPLAIN_QUERY_H
#define RB_EXPLAIN_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "rb/base/error.h"
#include "rb/druid/druid_policy.h"

#define EXPLAIN_MAX_ROWS 120          /* history buckets asked for, at most */
#define EXPLAIN_MAX_VALUES 10000      /* distinct dimension values in an answer */
#define EXPLAIN_MAX_CELLS (1u << 22) /* values x buckets */
#define EXPLAIN_MAX_DEPTH 16          /* JSON nesting of an answer */
#define EXPLAIN_DIMENSION_MAX 255     /* bytes of a dimension name */

/* What the groupBy asked, for reading its answer. */
struct explain_window {
	int64_t start_ms;       /* first bucket */
	int64_t granularity_ms; /* bucket length */
	size_t rows;            /* history buckets (the anomaly's is one more) */
	char dimension[EXPLAIN_DIMENSION_MAX + 1];
	char metric[64];
};

/*
 * The groupBy body (new NUL-terminated text, caller frees) for query text
 * [0..len), the anomaly instant at_ms (ms since the epoch; its bucket is
 * the granularity's bucket holding at_ms: buckets start at its "origin" (default
 * the epoch) plus whole lengths; a "timeZone" does not move them here, so a
 * P1D granularity in a zone without an origin is aligned on UTC days), dimension and metric
 * (names), history_ms (> 0; the configured history) and max_rows.
 */
enum rb_code explain_query_build(const char *query, size_t len, const struct druid_policy *p,
                                 const char *dimension, const char *metric, int64_t at_ms,
                                 int64_t history_ms, size_t max_rows, char **body,
                                 size_t *body_len, struct explain_window *w, struct rb_err *err);

/* The answer (new NUL-terminated JSON text) from Druid's answer text [0..len). */
enum rb_code explain_query_answer(const char *text, size_t len, const struct explain_window *w,
                                  char **answer, struct rb_err *err);

#endif
