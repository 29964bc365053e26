/*
 * explain_query: the groupBy behind POST /api/v1/explain and the reading of
 * its answer (see include/rb/explain/explain_query.h). The judgement is
 * blame.c's; this file only lays Druid's rows out as values x buckets.
 * Not the HTTP edge, not the Druid client.
 */
#include "rb/explain/explain_query.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/druid/druid_query.h"
#include "rb/explain/blame.h"
#include "rb/input/civil.h"
#include "rb/input/series.h"

#include "explain_json.h"

/* Latest instant accepted: 9999-12-31T23:59:59.999Z. */
#define EXPLAIN_MAX_MS 253402300799999LL

/* 1 when one of the query's aggregations or post-aggregations is called name. */
static int query_outputs(const json_t *q, const char *name)
{
	static const char *const lists[] = {"aggregations", "postAggregations"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		const json_t *a;
		json_array_foreach(json_object_get(q, lists[l]), i, a) {
			const json_t *n = json_object_get(a, "name");
			if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
				return 1;
		}
	}
	return 0;
}

enum rb_code explain_query_build(const char *query, size_t len, const struct druid_policy *p,
                                 const char *dimension, const char *metric, int64_t at_ms,
                                 int64_t history_ms, size_t max_rows, char **body,
                                 size_t *body_len, struct explain_window *w, struct rb_err *err)
{
	*body = NULL;
	*body_len = 0;
	memset(w, 0, sizeof *w);
	json_t *q = NULL;
	enum rb_code rc = druid_query_parse(&q, query, len, 0, err);
	if (rc != RB_OK)
		return rc;
	int64_t g = 0;
	rc = druid_query_granularity_ms(q, &g, err);
	if (rc != RB_OK)
		goto done;
	if (g <= 0) {
		rc = rb_err_set(err, RB_E_INPUT, "granularity: a length of 0");
		goto done;
	}
	if (at_ms < 0 || at_ms > EXPLAIN_MAX_MS) {
		rc = rb_err_set(err, RB_E_INPUT, "timestamp: outside 1970..9999");
		goto done;
	}
	if (!query_outputs(q, metric)) {
		rc = rb_err_set(err, RB_E_INPUT, "metric %s: not an aggregation or post-aggregation "
		                                 "of the query", metric);
		goto done;
	}
	/* Buckets start at origin + k * g (origin: the granularity's, default the epoch). */
	int64_t off = 0;
	const json_t *origin = json_object_get(json_object_get(q, "granularity"), "origin");
	double origin_s = 0;
	if (json_is_string(origin) && json_string_length(origin) > 0 &&
	    series_parse_instant(json_string_value(origin), &origin_s) == 0) {
		off = (int64_t)llround(origin_s * 1000.0) % g;
		if (off < 0)
			off += g;
	}
	int64_t rem = (at_ms - off) % g;
	int64_t a = at_ms - (rem < 0 ? rem + g : rem);
	if (a < 0) {
		rc = rb_err_set(err, RB_E_INPUT, "timestamp: its bucket starts before 1970");
		goto done;
	}
	size_t rows = history_ms > 0 ? (size_t)(history_ms / g) : 0;
	if (rows > max_rows)
		rows = max_rows;
	if (rows > EXPLAIN_MAX_ROWS)
		rows = EXPLAIN_MAX_ROWS;
	if ((int64_t)rows > a / g)
		rows = (size_t)(a / g);
	w->start_ms = a - (int64_t)rows * g;
	w->granularity_ms = g;
	w->rows = rows;
	snprintf(w->dimension, sizeof w->dimension, "%s", dimension);
	snprintf(w->metric, sizeof w->metric, "%s", metric);
	char s0[40], s1[40], iv[96];
	civil_format_ms(w->start_ms, s0, sizeof s0);
	civil_format_ms(a + g, s1, sizeof s1);
	snprintf(iv, sizeof iv, "%s/%s", s0, s1);
	json_t *dims = json_array(); /* new, stolen below */
	if (dims == NULL || json_array_append_new(dims, json_string(dimension)) != 0 ||
	    json_object_set_new(q, "dimensions", dims) != 0 ||
	    json_object_set_new(q, "queryType", json_string("groupBy")) != 0 ||
	    json_object_set_new(q, "intervals", json_string(iv)) != 0) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
		goto done;
	}
	json_object_del(q, "descending");
	json_object_del(q, "limit");
	json_object_del(q, "limitSpec");
	int changed = 0;
	rc = druid_policy_apply(p, q, &changed, err);
	if (rc == RB_OK)
		rc = druid_query_dump(q, body, body_len, 0, err);
done:
	json_decref(q);
	return rc;
}

struct value_row {
	const char *name; /* borrowed from the answer tree */
	size_t idx;       /* first-seen index */
};

static int cmp_value(const void *x, const void *y)
{
	return strcmp(((const struct value_row *)x)->name, ((const struct value_row *)y)->name);
}

/* The value's dimension text: a string, or "" for null/absent. NULL for anything else. */
static const char *dim_text(const json_t *ev, const char *dim)
{
	const json_t *v = json_object_get(ev, dim);
	if (v == NULL || json_is_null(v))
		return "";
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static enum rb_code bad_answer(struct rb_err *err, size_t i, const char *what)
{
	return rb_err_set(err, RB_E_UPSTREAM, "Druid answer: row %zu: %s", i, what);
}

/* The answer's JSON from the blame result. */
static enum rb_code render(const struct explain_window *w, const struct value_row *vals,
                           const struct blame_result *br, char **answer, struct rb_err *err)
{
	char ts[40];
	civil_format_ms(w->start_ms + (int64_t)w->rows * w->granularity_ms, ts, sizeof ts);
	json_t *root = json_object(); /* new */
	json_t *list = json_array();  /* new, stolen by root */
	int bad = root == NULL || list == NULL;
	bad = bad || json_object_set_new(root, "status", json_string("success")) != 0;
	bad = bad || json_object_set_new(root, "dimension", json_string(w->dimension)) != 0;
	bad = bad || json_object_set_new(root, "metric", json_string(w->metric)) != 0;
	bad = bad || json_object_set_new(root, "timestamp", json_string(ts)) != 0;
	bad = bad || json_object_set_new(root, "history_rows", json_integer((json_int_t)w->rows)) != 0;
	bad = bad || json_object_set_new(root, "values", list) != 0;
	for (size_t k = 0; !bad && k < br->n; k++) {
		const struct blame_item *it = &br->items[k];
		json_t *o = json_object(); /* new, stolen by list */
		bad = o == NULL || json_array_append_new(list, o) != 0;
		bad = bad || json_object_set_new(o, "value", json_string(vals[it->row].name)) != 0;
		bad = bad || json_object_set_new(o, "contribution", json_real(it->share)) != 0;
		bad = bad || json_object_set_new(o, "observed", json_real(it->observed)) != 0;
		bad = bad || json_object_set_new(o, "baseline", json_real(it->baseline)) != 0;
		bad = bad || json_object_set_new(o, "z", isfinite(it->z) ? json_real(it->z)
		                                                         : json_null()) != 0;
	}
	if (!bad)
		*answer = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(root);
	if (bad || *answer == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory building the answer");
	return RB_OK;
}

enum rb_code explain_query_answer(const char *text, size_t len, const struct explain_window *w,
                                  char **answer, struct rb_err *err)
{
	*answer = NULL;
	json_t *root = NULL;
	enum rb_code rc = explain_json_load(text, len, EXPLAIN_MAX_DEPTH, "Druid answer", &root, err);
	if (rc != RB_OK) {
		if (rc == RB_E_INPUT)
			err->code = rc = RB_E_UPSTREAM;
		return rc;
	}
	struct value_row *vals = NULL;
	size_t *col = NULL;
	double *x = NULL;
	size_t cols = w->rows + 1, nrow = json_array_size(root), nv = 0;
	if (!json_is_array(root)) {
		rc = rb_err_set(err, RB_E_UPSTREAM, "Druid answer: not a JSON array");
		goto done;
	}
	vals = malloc((nrow > 0 ? nrow : 1) * sizeof *vals);
	col = malloc((nrow > 0 ? nrow : 1) * sizeof *col);
	if (vals == NULL || col == NULL) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
		goto done;
	}
	/* Pass 1: each row's bucket and value name. */
	size_t i;
	const json_t *r;
	json_array_foreach(root, i, r) {
		const json_t *ev = json_object_get(r, "event");
		const json_t *ts = json_object_get(r, "timestamp");
		double t;
		if (!json_is_object(ev) || !json_is_string(ts) ||
		    series_parse_instant(json_string_value(ts), &t) != 0) {
			rc = bad_answer(err, i, "not a groupBy row (timestamp, event)");
			goto done;
		}
		const char *name = dim_text(ev, w->dimension);
		if (name == NULL) {
			rc = bad_answer(err, i, "the dimension is not a string");
			goto done;
		}
		int64_t ms = (int64_t)llround(t * 1000.0) - w->start_ms;
		col[i] = ms >= 0 ? (size_t)(ms / w->granularity_ms) : cols; /* cols: outside */
		vals[i].name = name;
		vals[i].idx = i;
	}
	/* Distinct names, sorted: the matrix rows. */
	struct value_row *names = malloc((nrow > 0 ? nrow : 1) * sizeof *names);
	if (names == NULL) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
		goto done;
	}
	memcpy(names, vals, nrow * sizeof *names);
	qsort(names, nrow, sizeof *names, cmp_value);
	for (i = 0; i < nrow; i++)
		if (nv == 0 || strcmp(names[i].name, names[nv - 1].name) != 0)
			names[nv++] = names[i];
	if (nv > EXPLAIN_MAX_VALUES || nv * cols > EXPLAIN_MAX_CELLS) {
		free(names);
		rc = rb_err_set(err, RB_E_TOO_LARGE, "Druid answer: %zu values of %s (most %d, and %u cells)",
		                nv, w->dimension, EXPLAIN_MAX_VALUES, EXPLAIN_MAX_CELLS);
		goto done;
	}
	x = malloc((nv * cols > 0 ? nv * cols : 1) * sizeof *x);
	if (x == NULL) {
		free(names);
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
		goto done;
	}
	for (size_t c = 0; c < nv * cols; c++)
		x[c] = NAN;
	json_array_foreach(root, i, r) {
		const json_t *m = json_object_get(json_object_get(r, "event"), w->metric);
		if (!json_is_number(m) && !json_is_null(m)) {
			free(names);
			rc = bad_answer(err, i, "the metric is not a number");
			goto done;
		}
		if (col[i] >= cols || json_is_null(m))
			continue;
		struct value_row key = {vals[i].name, 0};
		const struct value_row *hit = bsearch(&key, names, nv, sizeof *names, cmp_value);
		double *c = &x[(size_t)(hit - names) * cols + col[i]];
		*c = (isnan(*c) ? 0.0 : *c) + json_number_value(m);
	}
	free(vals);
	vals = names;
	struct blame_result br;
	rc = blame_rows(x, nv, cols, cols - 1, &br, err);
	if (rc == RB_OK)
		rc = render(w, vals, &br, answer, err);
	blame_release(&br);
done:
	free(vals);
	free(col);
	free(x);
	json_decref(root);
	return rc;
}
