/*
 * train_query: a training query file -> the model's Druid template, the
 * query hash, and the body of each Druid call of rb-aioutliers-train
 * (rb/train/train_query.h). No HTTP (druid_client.c), no answer parsing
 * (train_data.c).
 */
#include "rb/train/train_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/druid/druid_query.h"
#include "rb/input/civil.h"
#include "rb/input/period.h"

#define TEMPLATE_DESCRIPTION \
	"the aggregations and post-aggregations of the query rb-aioutliers-train fetched"

uint64_t train_fnv1a64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void train_query_release(struct train_query *q)
{
	if (q == NULL)
		return;
	json_decref(q->query);
	free(q->template_text);
	memset(q, 0, sizeof *q);
}

/* The template text (version 1) of q's aggregations and post-aggregations. */
static enum rb_code build_template(struct train_query *q, const char *what, struct rb_err *err)
{
	json_t *aggs = json_object_get(q->query, "aggregations");
	json_t *post = json_object_get(q->query, "postAggregations");
	if (!json_is_array(aggs) || json_array_size(aggs) == 0)
		return rb_err_set(err, RB_E_INPUT, "%s: the query has no aggregations (a non-empty "
		                  "list; the model's columns are its aggregations and "
		                  "post-aggregations)", what);
	if (post != NULL && !json_is_array(post))
		return rb_err_set(err, RB_E_INPUT, "%s: postAggregations must be a list", what);
	/* The query's table, so that the daemon's druid_datasources = auto allows it. */
	json_t *ds = json_object_get(q->query, "dataSource");
	if (json_is_object(ds) && json_is_string(json_object_get(ds, "type")) &&
	    strcmp(json_string_value(json_object_get(ds, "type")), "table") == 0)
		ds = json_object_get(ds, "name");
	if (!json_is_string(ds))
		return rb_err_set(err, RB_E_INPUT, "%s: the query's dataSource must be a table (a "
		                  "name or {\"type\": \"table\", \"name\": ...})", what);
	json_t *t = json_object();
	if (t == NULL || json_object_set_new(t, "version", json_integer(1)) != 0 ||
	    json_object_set_new(t, "description", json_string(TEMPLATE_DESCRIPTION)) != 0 ||
	    json_object_set_new(t, "dataSources", json_pack("[O]", ds)) != 0 ||
	    json_object_set(t, "aggregations", aggs) != 0 ||
	    json_object_set_new(t, "postAggregations",
	                        post != NULL ? json_deep_copy(post) : json_array()) != 0) {
		json_decref(t);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	char *text = json_dumps(t, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(t);
	if (text == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	size_t len = strlen(text);
	/* one trailing newline, as a text file */
	char *withnl = realloc(text, len + 2);
	if (withnl == NULL) {
		free(text);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	withnl[len++] = '\n';
	withnl[len] = '\0';
	q->template_text = withnl;
	q->template_len = len;
	struct druid_template *tp = NULL;
	enum rb_code rc = druid_template_parse(&tp, withnl, len, what, err);
	druid_template_free(tp);
	if (rc != RB_OK) {
		rb_err_prefix(err, "the query's aggregations do not make a model template");
		return RB_E_INPUT;
	}
	return RB_OK;
}

enum rb_code train_query_load(struct train_query *q, const char *text, size_t len,
                              const char *what, struct rb_err *err)
{
	memset(q, 0, sizeof *q);
	enum rb_code rc = druid_query_parse(&q->query, text, len, 0, err);
	if (rc != RB_OK) {
		rb_err_prefix(err, "%s", what);
		return rc;
	}
	rc = build_template(q, what, err);
	if (rc == RB_OK) {
		json_t *c = json_deep_copy(q->query);
		char *canon = NULL;
		if (c != NULL) {
			json_object_del(c, "intervals");
			json_object_del(c, "granularity");
			canon = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
		}
		json_decref(c);
		if (canon == NULL)
			rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
		else
			q->hash = train_fnv1a64(TRAIN_FNV_OFFSET, canon, strlen(canon));
		free(canon);
	}
	if (rc != RB_OK)
		train_query_release(q);
	return rc;
}

/* Floor division for a positive divisor. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

int train_query_align(int64_t period_ms, int64_t from_ms, int64_t to_ms, int64_t *a, int64_t *b)
{
	if (period_ms <= 0 || to_ms <= from_ms)
		return 0;
	*a = -floor_div(-from_ms, period_ms) * period_ms; /* ceil */
	*b = floor_div(to_ms, period_ms) * period_ms;
	return *b > *a;
}

enum rb_code train_query_body(const struct train_query *q, const char *period, int64_t from_ms,
                              int64_t to_ms, char **body, size_t *len, struct rb_err *err)
{
	*body = NULL;
	*len = 0;
	int64_t g = 0, a = 0, b = 0;
	enum rb_code rc = period_parse_ms(period, strlen(period), &g, err);
	if (rc != RB_OK) {
		rb_err_prefix(err, "granularity %s", period);
		return RB_E_INPUT;
	}
	if (!train_query_align(g, from_ms, to_ms, &a, &b))
		return rb_err_set(err, RB_E_INPUT, "granularity %s: not one whole bucket between "
		                  "the start and the end of the interval", period);
	char sa[CIVIL_INSTANT_CAP], sb[CIVIL_INSTANT_CAP], iv[2 * CIVIL_INSTANT_CAP + 2];
	civil_format_ms(a, sa, sizeof sa);
	civil_format_ms(b, sb, sizeof sb);
	snprintf(iv, sizeof iv, "%s/%s", sa, sb);
	json_t *c = json_deep_copy(q->query);
	if (c == NULL || json_object_set_new(c, "intervals", json_string(iv)) != 0 ||
	    json_object_set_new(c, "granularity",
	                        json_pack("{s:s,s:s}", "type", "period", "period", period)) != 0) {
		json_decref(c);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	struct druid_template *t = NULL;
	json_t *w = NULL;
	rc = druid_template_parse(&t, q->template_text, q->template_len, "template", err);
	if (rc == RB_OK)
		rc = druid_query_rewrite(&w, c, t, err);
	if (rc == RB_OK)
		rc = druid_query_dump(w, body, len, 0, err);
	druid_template_free(t);
	json_decref(w);
	json_decref(c);
	return rc;
}
