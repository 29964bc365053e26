/*
 * train_query: the Druid side of `rb-aioutliers-train --query`: a user's
 * timeseries query file -> the model's Druid template (NAME.druid.json: the
 * query's aggregations and post-aggregations, which become the model's
 * columns), a hash that identifies the query, and the body to POST for one
 * granularity and interval. Not the HTTP client (rb/druid/druid_client.h),
 * not the reading of the answers (rb/train/train_data.h).
 *
 * The body for granularity G over [from, to): the user's query with
 * "intervals" set to the one interval [from', to') where from' is from
 * rounded up and to' is to rounded down to a multiple of G since the epoch
 * (every bucket whole: a cut bucket would hold a fraction of its traffic and
 * teach the model that such drops are normal), "granularity" set to
 * {"type":"period","period":G} (UTC, epoch origin), and then rewritten with
 * the template exactly as the service rewrites a request for the model
 * (druid_query_rewrite), so "$granularity_seconds" in the query resolves to
 * each granularity's length, as it will when serving. Every other key
 * (dataSource, filter, context, ...) is sent as it is.
 *
 * The query hash: FNV-1a 64 of the query's canonical text (Jansson, compact,
 * keys sorted, ASCII) with "intervals" and "granularity" removed (the command
 * sets those and records them apart). An identity for the .ini, not a
 * security measure.
 */
#ifndef RB_TRAIN_QUERY_H
#define RB_TRAIN_QUERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rb/base/error.h"

/* Most granularities of one run (--granularities). */
#define TRAIN_QUERY_MAX_GRANULARITIES 16

struct train_query {
	json_t *query;        /* the parsed, checked query (owned) */
	char *template_text;  /* NAME.druid.json (malloc'd, NUL-terminated) */
	size_t template_len;
	uint64_t hash;        /* FNV-1a 64 of the canonical text (above) */
};

/*
 * Parses a query file's text (what names it in messages): druid_query_parse,
 * then "aggregations" must be a non-empty array (the model's columns come from
 * them); the template built from aggregations + postAggregations must pass
 * druid_template_parse (the daemon refuses a model whose template it cannot
 * parse). RB_E_INPUT (or RB_E_TOO_LARGE) saying why; q is zeroed on failure.
 */
enum rb_code train_query_load(struct train_query *q, const char *text, size_t len,
                              const char *what, struct rb_err *err);

/*
 * The body to POST for granularity period (an ISO-8601 period with a fixed
 * length, e.g. "pt1m") over [from_ms, to_ms) (see above), as a new string
 * (caller frees). RB_E_INPUT when the period has no fixed length or not one
 * whole bucket fits in the interval.
 */
enum rb_code train_query_body(const struct train_query *q, const char *period, int64_t from_ms,
                              int64_t to_ms, char **body, size_t *len, struct rb_err *err);

/* The whole buckets of period inside [from_ms, to_ms): [*a, *b); 0 when none fits. */
int train_query_align(int64_t period_ms, int64_t from_ms, int64_t to_ms, int64_t *a, int64_t *b);

/* Releases q; safe on a zeroed or released struct. */
void train_query_release(struct train_query *q);

/* FNV-1a 64 of n bytes, continuing from h (start with TRAIN_FNV_OFFSET). */
#define TRAIN_FNV_OFFSET 0xcbf29ce484222325ull
uint64_t train_fnv1a64(uint64_t h, const void *p, size_t n);

#endif
