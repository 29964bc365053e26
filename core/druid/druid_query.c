/*
 * druid_query: checking a caller's Druid query, measuring its granularity,
 * loading a model's Druid template and rewriting the query with it. The
 * rules are in druid_query.h and docs/DRUID.md.
 *
 * It never mutates a query it is given and never talks to Druid (that is
 * druid_client.c). Placeholders are resolved by copying the template, so a
 * loaded template is read-only and may serve any number of requests.
 */
#include "rb/druid/druid_query.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "druid_private.h"
#include "rb/base/assert.h"
#include "rb/druid/druid_policy.h"
#include "rb/input/civil.h"
#include "rb/input/json_scan.h"
#include "rb/input/period.h"
#include "rb/model/model.h"

/* Template format version this code reads ("version" key). */
#define TEMPLATE_VERSION 1
/* Cap on a template file. */
#define TEMPLATE_MAX_BYTES ((size_t)1 << 20)
/* How much of a user's text is quoted back in a message. */
#define QUOTE_MAX 48

/* The placeholders a template may use; each is a whole JSON string value. */
#define PH_SECONDS "$granularity_seconds"
#define PH_MILLIS "$granularity_millis"

struct druid_template {
	json_t *aggregations;      /* new: non-empty array of objects */
	json_t *post_aggregations; /* new: array of objects, may be empty */
	json_t *data_sources;      /* new: array of table names (strings), may be empty */
};

void druid_clean_text(char *dst, size_t cap, const char *src, size_t len)
{
	if (cap == 0)
		return;
	size_t o = 0;
	int pending_space = 0, cut = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c <= 0x20 || c == 0x7f) {
			pending_space = (o > 0);
			continue;
		}
		size_t need = (size_t)pending_space + 1;
		if (o + need + 1 > cap) {
			cut = 1;
			break;
		}
		if (pending_space)
			dst[o++] = ' ';
		pending_space = 0;
		dst[o++] = (c < 0x7f) ? (char)c : '?';
	}
	if (cut) {
		/* Room for "..." within cap, if cap allows it at all. */
		size_t keep = cap > 4 ? cap - 4 : 0;
		if (o > keep)
			o = keep;
		while (o > 0 && dst[o - 1] == ' ')
			o--;
		for (size_t k = 0; k < 3 && o + 1 < cap; k++)
			dst[o++] = '.';
	}
	RB_ASSERT(o < cap);
	dst[o] = '\0';
}

static void quote(char *dst, size_t cap, const char *s)
{
	druid_clean_text(dst, cap, s, strlen(s));
}

/* Parses capped, depth-checked JSON text with duplicate keys rejected; *out new or NULL. */
static enum rb_code load_json(json_t **out, const char *text, size_t len, size_t max_bytes,
                              enum rb_code bad, const char *what, struct rb_err *err)
{
	*out = NULL;
	if (len > max_bytes)
		return rb_err_set(err, RB_E_TOO_LARGE, "%s is larger than %zu bytes", what, max_bytes);
	if (!json_scan_depth_ok(text, len, DRUID_QUERY_MAX_DEPTH))
		return rb_err_set(err, RB_E_TOO_LARGE, "%s nests deeper than %d levels", what,
		                  DRUID_QUERY_MAX_DEPTH);
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (doc == NULL) {
		char why[96];
		quote(why, sizeof why, jerr.text);
		return rb_err_set(err, bad, "%s is not valid JSON: %s (line %d, column %d)", what, why,
		                  jerr.line, jerr.column);
	}
	*out = doc;
	return RB_OK;
}

enum rb_code druid_query_check(const json_t *query, struct rb_err *err)
{
	if (!json_is_object(query))
		return rb_err_set(err, RB_E_INPUT, "the query must be a JSON object");
	const json_t *qt = json_object_get(query, "queryType");
	if (qt == NULL)
		return rb_err_set(err, RB_E_INPUT, "query has no queryType");
	if (!json_is_string(qt) || strcmp(json_string_value(qt), "timeseries") != 0) {
		char q[QUOTE_MAX];
		quote(q, sizeof q, json_is_string(qt) ? json_string_value(qt) : "not a string");
		return rb_err_set(err, RB_E_INPUT,
		                  "only timeseries queries are supported (queryType is \"%s\")", q);
	}
	const json_t *ds = json_object_get(query, "dataSource");
	if (ds == NULL || !(json_is_string(ds) || json_is_object(ds)))
		return rb_err_set(err, RB_E_INPUT, "query has no dataSource");

	const json_t *iv = json_object_get(query, "intervals");
	if (iv == NULL || json_is_null(iv))
		return rb_err_set(err, RB_E_INPUT, "query has no intervals");
	int iv_ok = json_is_object(iv) || (json_is_string(iv) && json_string_length(iv) > 0);
	if (json_is_array(iv) && json_array_size(iv) > 0) {
		iv_ok = 1;
		size_t i;
		const json_t *v;
		json_array_foreach(iv, i, v) {
			if (!json_is_string(v))
				iv_ok = 0;
		}
	}
	if (!iv_ok)
		return rb_err_set(err, RB_E_INPUT,
		                  "query intervals must be a string, a non-empty list of strings "
		                  "or an object");

	const json_t *g = json_object_get(query, "granularity");
	if (g == NULL || json_is_null(g))
		return rb_err_set(err, RB_E_INPUT, "query has no granularity");
	if (!json_is_string(g) && !json_is_object(g))
		return rb_err_set(err, RB_E_INPUT, "query granularity must be a name or an object");
	return RB_OK;
}

enum rb_code druid_query_parse(json_t **out, const char *text, size_t len, size_t max_bytes,
                               struct rb_err *err)
{
	*out = NULL;
	if (max_bytes == 0)
		max_bytes = DRUID_QUERY_MAX_BYTES;
	json_t *q = NULL;
	enum rb_code rc = load_json(&q, text, len, max_bytes, RB_E_INPUT, "the query", err);
	if (rc != RB_OK)
		return rc;
	rc = druid_query_check(q, err);
	if (rc != RB_OK) {
		json_decref(q);
		return rc;
	}
	*out = q;
	return RB_OK;
}

/* Druid's simple granularity names; ms 0 = no fixed length, with the reason. */
static const struct {
	const char *name;
	int64_t ms;
	const char *why;
} simple_granularity[] = {
	{"second", 1000, NULL},
	{"minute", 60 * 1000, NULL},
	{"five_minute", 5 * 60 * 1000, NULL},
	{"ten_minute", 10 * 60 * 1000, NULL},
	{"fifteen_minute", 15 * 60 * 1000, NULL},
	{"thirty_minute", 30 * 60 * 1000, NULL},
	{"hour", 3600 * 1000, NULL},
	{"six_hour", 6 * 3600 * 1000, NULL},
	{"eight_hour", 8 * 3600 * 1000, NULL},
	{"day", 86400 * 1000, NULL},
	{"week", 7 * 86400 * 1000, NULL},
	{"month", 0, "months vary in length"},
	{"quarter", 0, "quarters vary in length"},
	{"year", 0, "years vary in length"},
	{"all", 0, "it puts the whole interval in one bucket"},
	{"none", 0, "it does not bucket rows at all"},
};

static enum rb_code no_fixed_length(const char *name, const char *why, struct rb_err *err)
{
	char q[QUOTE_MAX];
	quote(q, sizeof q, name);
	return rb_err_set(err, RB_E_INPUT,
	                  "granularity \"%s\" has no fixed length (%s); use a period such as PT5M",
	                  q, why);
}

static enum rb_code simple_ms(const char *name, int64_t *ms, struct rb_err *err)
{
	for (size_t i = 0; i < sizeof simple_granularity / sizeof simple_granularity[0]; i++) {
		if (strcasecmp(name, simple_granularity[i].name) != 0)
			continue;
		if (simple_granularity[i].ms == 0)
			return no_fixed_length(simple_granularity[i].name, simple_granularity[i].why,
			                       err);
		*ms = simple_granularity[i].ms;
		return RB_OK;
	}
	char q[QUOTE_MAX];
	quote(q, sizeof q, name);
	return rb_err_set(err, RB_E_INPUT,
	                  "unknown granularity \"%s\" (use a name such as \"minute\" or "
	                  "{\"type\":\"period\",\"period\":\"PT5M\"})",
	                  q);
}

enum rb_code druid_granularity_ms(const json_t *g, int64_t *ms, struct rb_err *err)
{
	*ms = 0;
	if (json_is_string(g)) {
		if (strlen(json_string_value(g)) != json_string_length(g))
			return rb_err_set(err, RB_E_INPUT, "granularity name contains a NUL");
		return simple_ms(json_string_value(g), ms, err);
	}
	if (!json_is_object(g))
		return rb_err_set(err, RB_E_INPUT, "granularity must be a name or an object");
	const json_t *type = json_object_get(g, "type");
	if (!json_is_string(type))
		return rb_err_set(err, RB_E_INPUT, "granularity object has no \"type\"");
	const char *t = json_string_value(type);

	if (strcasecmp(t, "period") == 0) {
		const json_t *p = json_object_get(g, "period");
		if (!json_is_string(p))
			return rb_err_set(err, RB_E_INPUT,
			                  "period granularity has no \"period\" string (e.g. \"PT5M\")");
		enum rb_code rc = period_parse_ms(json_string_value(p), json_string_length(p), ms, err);
		if (rc != RB_OK) {
			char q[QUOTE_MAX];
			druid_clean_text(q, sizeof q, json_string_value(p), json_string_length(p));
			rb_err_prefix(err, "granularity period \"%s\"", q);
		}
		return rc;
	}
	if (strcasecmp(t, "duration") == 0) {
		const json_t *d = json_object_get(g, "duration");
		if (!json_is_integer(d) || json_integer_value(d) <= 0 ||
		    json_integer_value(d) > PERIOD_MAX_MS)
			return rb_err_set(err, RB_E_INPUT,
			                  "duration granularity needs \"duration\": a positive whole "
			                  "number of milliseconds (at most %lld)",
			                  (long long)PERIOD_MAX_MS);
		*ms = (int64_t)json_integer_value(d);
		return RB_OK;
	}
	if (strcasecmp(t, "all") == 0 || strcasecmp(t, "none") == 0) {
		int64_t dummy = 0;
		return simple_ms(t, &dummy, err);
	}
	char q[QUOTE_MAX];
	quote(q, sizeof q, t);
	return rb_err_set(err, RB_E_INPUT,
	                  "unknown granularity type \"%s\" (supported: period, duration)", q);
}

enum rb_code druid_query_granularity_ms(const json_t *query, int64_t *ms, struct rb_err *err)
{
	*ms = 0;
	const json_t *g = json_is_object(query) ? json_object_get(query, "granularity") : NULL;
	if (g == NULL)
		return rb_err_set(err, RB_E_INPUT, "query has no granularity");
	return druid_granularity_ms(g, ms, err);
}

/* ---- templates ---- */

/* RB_OK when every string in v that starts with '$' is a known placeholder or "$$..." escape. */
static enum rb_code check_placeholders(const json_t *v, struct rb_err *err)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (s[0] != '$' || s[1] == '$' || strcmp(s, PH_SECONDS) == 0 ||
		    strcmp(s, PH_MILLIS) == 0)
			return RB_OK;
		char q[QUOTE_MAX];
		quote(q, sizeof q, s);
		return rb_err_set(err, RB_E_MODEL,
		                  "unknown placeholder \"%s\" (known: " PH_SECONDS ", " PH_MILLIS
		                  "; write $$ for a literal $)",
		                  q);
	}
	if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e) {
			enum rb_code rc = check_placeholders(e, err);
			if (rc != RB_OK)
				return rc;
		}
	} else if (json_is_object(v)) {
		const char *k;
		const json_t *e;
		json_object_foreach((json_t *)v, k, e) {
			enum rb_code rc = check_placeholders(e, err);
			if (rc != RB_OK)
				return rc;
		}
	}
	return RB_OK;
}

/* Each entry an object with a string "type" and a unique non-empty "name" (names: seen so far). */
static enum rb_code check_entries(const json_t *arr, const char *key, json_t *names,
                                  struct rb_err *err)
{
	size_t i;
	const json_t *e;
	json_array_foreach(arr, i, e) {
		if (!json_is_object(e))
			return rb_err_set(err, RB_E_MODEL, "%s[%zu] is not an object", key, i);
		if (!json_is_string(json_object_get(e, "type")))
			return rb_err_set(err, RB_E_MODEL, "%s[%zu] has no \"type\"", key, i);
		const json_t *name = json_object_get(e, "name");
		if (!json_is_string(name) || json_string_length(name) == 0)
			return rb_err_set(err, RB_E_MODEL, "%s[%zu] has no \"name\"", key, i);
		const char *n = json_string_value(name);
		if (json_object_get(names, n) != NULL) {
			char q[QUOTE_MAX];
			quote(q, sizeof q, n);
			return rb_err_set(err, RB_E_MODEL, "%s[%zu]: name \"%s\" is used twice", key, i,
			                  q);
		}
		if (json_object_set_new(names, n, json_true()) != 0)
			return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	return check_placeholders(arr, err);
}

static enum rb_code template_from_doc(struct druid_template **out, json_t *doc,
                                      struct rb_err *err)
{
	if (!json_is_object(doc))
		return rb_err_set(err, RB_E_MODEL, "a template must be a JSON object");
	const char *k;
	json_t *v;
	json_object_foreach(doc, k, v) {
		if (strcmp(k, "version") != 0 && strcmp(k, "description") != 0 &&
		    strcmp(k, "aggregations") != 0 && strcmp(k, "postAggregations") != 0 &&
		    strcmp(k, "dataSources") != 0) {
			char q[QUOTE_MAX];
			quote(q, sizeof q, k);
			return rb_err_set(err, RB_E_MODEL,
			                  "unknown key \"%s\" (known: version, description, "
			                  "dataSources, aggregations, postAggregations)",
			                  q);
		}
	}
	const json_t *ver = json_object_get(doc, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) != TEMPLATE_VERSION)
		return rb_err_set(err, RB_E_MODEL, "\"version\" must be %d", TEMPLATE_VERSION);
	const json_t *desc = json_object_get(doc, "description");
	if (desc != NULL && !json_is_string(desc))
		return rb_err_set(err, RB_E_MODEL, "\"description\" must be a string");
	json_t *aggs = json_object_get(doc, "aggregations");
	if (!json_is_array(aggs) || json_array_size(aggs) == 0)
		return rb_err_set(err, RB_E_MODEL, "\"aggregations\" must be a non-empty array");
	json_t *post = json_object_get(doc, "postAggregations");
	if (post != NULL && !json_is_array(post))
		return rb_err_set(err, RB_E_MODEL, "\"postAggregations\" must be an array");
	/* The tables the template is written for: druid_datasources = auto allows them. */
	json_t *sources = json_object_get(doc, "dataSources");
	if (sources != NULL && !json_is_array(sources))
		return rb_err_set(err, RB_E_MODEL, "\"dataSources\" must be an array of table names");
	if (sources != NULL) {
		size_t i;
		const json_t *e;
		json_array_foreach(sources, i, e) {
			if (!json_is_string(e) ||
			    !druid_policy_name_ok(json_string_value(e), json_string_length(e)) ||
			    strlen(json_string_value(e)) != json_string_length(e))
				return rb_err_set(err, RB_E_MODEL,
				                  "dataSources[%zu] is not a table name (1 to %d printable "
				                  "ASCII characters, no blanks or commas)",
				                  i, DRUID_POLICY_NAME_MAX);
		}
	}

	json_t *names = json_object(); /* new: output names seen */
	if (names == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	enum rb_code rc = check_entries(aggs, "aggregations", names, err);
	if (rc == RB_OK && post != NULL)
		rc = check_entries(post, "postAggregations", names, err);
	json_decref(names);
	if (rc != RB_OK)
		return rc;

	struct druid_template *t = calloc(1, sizeof *t);
	if (t == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	t->aggregations = json_incref(aggs);
	t->post_aggregations = post != NULL ? json_incref(post) : json_array();
	t->data_sources = sources != NULL ? json_incref(sources) : json_array();
	if (t->post_aggregations == NULL || t->data_sources == NULL) {
		druid_template_free(t);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	*out = t;
	return RB_OK;
}

enum rb_code druid_template_parse(struct druid_template **out, const char *text, size_t len,
                                  const char *what, struct rb_err *err)
{
	*out = NULL;
	json_t *doc = NULL;
	enum rb_code rc = load_json(&doc, text, len, TEMPLATE_MAX_BYTES, RB_E_MODEL, "template", err);
	if (rc == RB_OK)
		rc = template_from_doc(out, doc, err);
	json_decref(doc);
	if (rc == RB_E_TOO_LARGE) {
		rc = RB_E_MODEL; /* a template over a cap is a bad model file */
		if (err != NULL)
			err->code = rc;
	}
	if (rc != RB_OK)
		rb_err_prefix(err, "%s", what);
	return rc;
}

enum rb_code druid_template_load(struct druid_template **out, const char *models_dir,
                                 const char *name, struct rb_err *err)
{
	*out = NULL;
	if (!model_name_valid(name)) /* the registry's rule: the template is a model's file */
		return rb_err_set(err, RB_E_NOT_FOUND, "invalid model name");
	char file[96], path[4096];
	snprintf(file, sizeof file, "%s.druid.json", name);
	int n = snprintf(path, sizeof path, "%s/%s", models_dir, file);
	if (n < 0 || (size_t)n >= sizeof path)
		return rb_err_set(err, RB_E_CONFIG, "models directory path is too long");

	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		if (errno == ENOENT)
			return rb_err_set(err, RB_E_NOT_FOUND, "no Druid template %s for model %s", file,
			                  name);
		return rb_err_set(err, RB_E_MODEL, "%s: cannot open: %s", file, strerror(errno));
	}
	char *buf = malloc(TEMPLATE_MAX_BYTES + 1);
	if (buf == NULL) {
		fclose(f);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	size_t len = fread(buf, 1, TEMPLATE_MAX_BYTES + 1, f);
	int bad = ferror(f);
	fclose(f);
	enum rb_code rc;
	if (bad)
		rc = rb_err_set(err, RB_E_MODEL, "%s: read error", file);
	else if (len > TEMPLATE_MAX_BYTES)
		rc = rb_err_set(err, RB_E_MODEL, "%s: larger than %zu bytes", file, TEMPLATE_MAX_BYTES);
	else
		rc = druid_template_parse(out, buf, len, file, err);
	free(buf);
	return rc;
}

void druid_template_free(struct druid_template *t)
{
	if (t == NULL)
		return;
	json_decref(t->aggregations);
	json_decref(t->post_aggregations);
	json_decref(t->data_sources);
	free(t);
}

size_t druid_template_datasource_count(const struct druid_template *t)
{
	return json_array_size(t->data_sources);
}

const char *druid_template_datasource(const struct druid_template *t, size_t i)
{
	RB_ASSERT(i < json_array_size(t->data_sources));
	return json_string_value(json_array_get(t->data_sources, i));
}

static int has_name(const json_t *arr, const char *name)
{
	size_t i;
	const json_t *e;
	json_array_foreach(arr, i, e) {
		const json_t *n = json_object_get(e, "name");
		if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
			return 1;
	}
	return 0;
}

int druid_template_provides(const struct druid_template *t, const char *name)
{
	return has_name(t->aggregations, name) || has_name(t->post_aggregations, name);
}

/* ---- rewrite ---- */

/* A new copy of template value v with placeholders resolved for a granularity of ms. */
static json_t *instantiate(const json_t *v, int64_t ms)
{
	switch (json_typeof(v)) {
	case JSON_STRING: {
		const char *s = json_string_value(v);
		if (s[0] != '$')
			return json_stringn(s, json_string_length(v));
		if (strcmp(s, PH_SECONDS) == 0) {
			if (ms % 1000 == 0)
				return json_integer(ms / 1000);
			return json_real((double)ms / 1000.0);
		}
		if (strcmp(s, PH_MILLIS) == 0)
			return json_integer(ms);
		/* "$$x" -> "$x" (the template was checked: nothing else starts with '$'). */
		return json_stringn(s + 1, json_string_length(v) - 1);
	}
	case JSON_ARRAY: {
		json_t *a = json_array();
		size_t i;
		const json_t *e;
		if (a == NULL)
			return NULL;
		json_array_foreach(v, i, e) {
			if (json_array_append_new(a, instantiate(e, ms)) != 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	case JSON_OBJECT: {
		json_t *o = json_object();
		const char *k;
		const json_t *e;
		if (o == NULL)
			return NULL;
		json_object_foreach((json_t *)v, k, e) {
			if (json_object_set_new(o, k, instantiate(e, ms)) != 0) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	}
	default:
		return json_deep_copy(v);
	}
}

enum rb_code druid_query_rewrite(json_t **out, const json_t *query, const struct druid_template *t,
                                 struct rb_err *err)
{
	*out = NULL;
	enum rb_code rc = druid_query_check(query, err);
	if (rc != RB_OK)
		return rc;
	int64_t ms = 0;
	rc = druid_query_granularity_ms(query, &ms, err);
	if (rc != RB_OK)
		return rc;

	json_t *q = json_deep_copy(query); /* new */
	json_t *aggs = instantiate(t->aggregations, ms);      /* new */
	json_t *post = instantiate(t->post_aggregations, ms); /* new */
	if (q == NULL || aggs == NULL || post == NULL ||
	    json_object_set(q, "aggregations", aggs) != 0 ||
	    json_object_set(q, "postAggregations", post) != 0) {
		json_decref(q);
		json_decref(aggs);
		json_decref(post);
		return rb_err_set(err, RB_E_NOMEM, "out of memory rewriting the query");
	}
	json_decref(aggs);
	json_decref(post);
	*out = q;
	return RB_OK;
}

enum rb_code druid_query_dump(const json_t *query, char **text, size_t *len, size_t max_bytes,
                              struct rb_err *err)
{
	*text = NULL;
	*len = 0;
	if (max_bytes == 0)
		max_bytes = DRUID_QUERY_MAX_BYTES;
	char *s = json_dumps(query, JSON_COMPACT);
	if (s == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory writing the query");
	size_t n = strlen(s);
	if (n > max_bytes) {
		free(s);
		return rb_err_set(err, RB_E_TOO_LARGE, "the query to send is larger than %zu bytes",
		                  max_bytes);
	}
	*text = s;
	*len = n;
	return RB_OK;
}

enum rb_code druid_query_prepare(const char *text, size_t len, const struct druid_template *t,
                                 size_t max_bytes, char **body, size_t *body_len,
                                 struct rb_err *err)
{
	struct druid_history h;
	return druid_query_prepare_history(text, len, t, max_bytes, 0, 0, &h, body, body_len, err);
}

enum rb_code druid_query_prepare_history(const char *text, size_t len,
                                         const struct druid_template *t, size_t max_bytes,
                                         int64_t history_ms, size_t history_max_rows,
                                         struct druid_history *h, char **body,
                                         size_t *body_len, struct rb_err *err)
{
	return druid_query_prepare_policy(text, len, t, NULL, max_bytes, history_ms,
	                                  history_max_rows, h, body, body_len, err);
}

enum rb_code druid_query_prepare_policy(const char *text, size_t len,
                                        const struct druid_template *t,
                                        const struct druid_policy *p, size_t max_bytes,
                                        int64_t history_ms, size_t history_max_rows,
                                        struct druid_history *h, char **body,
                                        size_t *body_len, struct rb_err *err)
{
	*body = NULL;
	*body_len = 0;
	memset(h, 0, sizeof *h);
	h->none = "history is off";
	json_t *q = NULL; /* new */
	enum rb_code rc = druid_query_parse(&q, text, len, max_bytes, err);
	if (rc != RB_OK)
		return rc;
	int changed = 0; /* the policy lowered or added context.timeout */
	if (p != NULL) {
		rc = druid_policy_apply(p, q, &changed, err);
		if (rc != RB_OK) {
			json_decref(q);
			return rc;
		}
	}
	json_t *ext = NULL; /* new, or NULL without history */
	if (history_ms > 0) {
		rc = druid_query_add_history(&ext, q, history_ms, history_max_rows, h, err);
		if (rc != RB_OK) {
			json_decref(q);
			return rc;
		}
	}
	if (t == NULL && ext == NULL && !changed) {
		json_decref(q);
		char *copy = malloc(len + 1);
		if (copy == NULL)
			return rb_err_set(err, RB_E_NOMEM, "out of memory");
		memcpy(copy, text, len);
		copy[len] = '\0';
		*body = copy;
		*body_len = len;
		return RB_OK;
	}
	json_t *out = NULL; /* new */
	if (t != NULL)
		rc = druid_query_rewrite(&out, ext != NULL ? ext : q, t, err);
	else
		out = json_incref(ext != NULL ? ext : q);
	json_decref(q);
	json_decref(ext);
	if (rc == RB_OK && p != NULL && t != NULL)
		rc = druid_policy_check(p, out, err); /* the template's part too */
	if (rc != RB_OK) {
		json_decref(out);
		return rc;
	}
	rc = druid_query_dump(out, body, body_len, max_bytes, err);
	json_decref(out);
	return rc;
}

/* ---- history: the query's intervals extended backwards ---- */

/* Reads exactly n digits at s[*pos..len) into *v; 0, or -1. */
static int read_digits(const char *s, size_t len, size_t *pos, int n, int *v)
{
	int x = 0;
	if (*pos + (size_t)n > len)
		return -1;
	for (int i = 0; i < n; i++) {
		char c = s[*pos + (size_t)i];
		if (c < '0' || c > '9')
			return -1;
		x = x * 10 + (c - '0');
	}
	*pos += (size_t)n;
	*v = x;
	return 0;
}

int druid_instant_ms(const char *s, size_t len, int64_t *ms)
{
	size_t p = 0;
	int y = 0, mo = 1, d = 1, h = 0, mi = 0, sec = 0, frac = 0, zh = 0, zm = 0, zsign = 0;
	*ms = 0;
	if (read_digits(s, len, &p, 4, &y) < 0)
		return -1;
	if (p < len && s[p] == '-') {
		p++;
		if (read_digits(s, len, &p, 2, &mo) < 0 || mo < 1 || mo > 12)
			return -1;
		if (p < len && s[p] == '-') {
			p++;
			if (read_digits(s, len, &p, 2, &d) < 0 || d < 1 || d > civil_days_in_month(y, mo))
				return -1;
		}
	}
	if (p < len && (s[p] == 'T' || s[p] == 't')) {
		p++;
		if (read_digits(s, len, &p, 2, &h) < 0 || h > 23)
			return -1;
		if (p < len && s[p] == ':') {
			p++;
			if (read_digits(s, len, &p, 2, &mi) < 0 || mi > 59)
				return -1;
			if (p < len && s[p] == ':') {
				p++;
				if (read_digits(s, len, &p, 2, &sec) < 0 || sec > 59)
					return -1;
				if (p < len && (s[p] == '.' || s[p] == ',')) {
					p++;
					int nd = 0, scale = 100;
					while (p < len && s[p] >= '0' && s[p] <= '9') {
						if (nd < 3)
							frac += (s[p] - '0') * scale;
						scale /= 10;
						nd++;
						p++;
					}
					if (nd == 0 || nd > 9)
						return -1;
				}
			}
		}
	}
	if (p < len && (s[p] == 'Z' || s[p] == 'z')) {
		p++;
	} else if (p < len && (s[p] == '+' || s[p] == '-')) {
		zsign = s[p] == '-' ? -1 : 1;
		p++;
		if (read_digits(s, len, &p, 2, &zh) < 0 || zh > 23)
			return -1;
		if (p < len && s[p] == ':')
			p++;
		if (p < len && read_digits(s, len, &p, 2, &zm) < 0)
			return -1;
		if (zm > 59)
			return -1;
	}
	if (p != len)
		return -1;
	int64_t days = civil_days_from_date(y, mo, d);
	int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - zsign * (zh * 3600 + zm * 60);
	*ms = secs * 1000 + frac;
	return 0;
}

/* The message for an interval history cannot read (400). */
static enum rb_code bad_interval(const char *s, size_t len, const char *why, struct rb_err *err)
{
	char q[QUOTE_MAX];
	druid_clean_text(q, sizeof q, s, len);
	return rb_err_set(err, RB_E_INPUT,
	                  "query interval \"%s\": %s (history needs the interval's start; send "
	                  "history=PT0S to turn history off)",
	                  q, why);
}

/* Start of one interval text "start/end", "start/PERIOD" or "PERIOD/end", in ms. */
static enum rb_code interval_start_ms(const char *s, size_t len, int64_t *start,
                                      struct rb_err *err)
{
	static const char shape[] =
		"not start/end, start/period or period/end with ISO-8601 instants";
	const char *slash = memchr(s, '/', len);
	if (slash == NULL || memchr(slash + 1, '/', len - (size_t)(slash - s) - 1) != NULL)
		return bad_interval(s, len, shape, err);
	size_t la = (size_t)(slash - s), lb = len - la - 1;
	const char *b = slash + 1;
	int64_t end = 0;
	if (la > 0 && (s[0] == 'P' || s[0] == 'p')) {
		int64_t p = 0;
		struct rb_err perr = {0};
		if (druid_instant_ms(b, lb, &end) < 0)
			return bad_interval(s, len, shape, err);
		if (period_parse_ms(s, la, &p, &perr) != RB_OK) {
			if (strstr(perr.msg, "months") != NULL)
				return bad_interval(s, len,
				                    "its period counts years or months, so its start "
				                    "is not a fixed length before its end; write it as "
				                    "start/end",
				                    err);
			return bad_interval(s, len, shape, err);
		}
		*start = end - p;
		return RB_OK;
	}
	if (druid_instant_ms(s, la, start) < 0)
		return bad_interval(s, len, shape, err);
	if (lb > 0 && (b[0] == 'P' || b[0] == 'p')) {
		int64_t p = 0;
		struct rb_err perr = {0};
		/* A period end: its length is Druid's business (months are fine there). */
		if (period_parse_length_ms(b, lb, &p, &perr) != RB_OK &&
		    strstr(perr.msg, "months") == NULL)
			return bad_interval(s, len, shape, err);
		return RB_OK;
	}
	if (druid_instant_ms(b, lb, &end) < 0)
		return bad_interval(s, len, shape, err);
	return RB_OK;
}

static enum rb_code no_history(struct druid_history *h, const char *why)
{
	h->history_ms = 0;
	h->rows = 0;
	h->none = why;
	return RB_OK;
}

enum rb_code druid_query_add_history(json_t **out, const json_t *query, int64_t history_ms,
                                     size_t max_rows, struct druid_history *h,
                                     struct rb_err *err)
{
	*out = NULL;
	memset(h, 0, sizeof *h);
	enum rb_code rc = druid_query_check(query, err);
	if (rc != RB_OK)
		return rc;
	if (history_ms <= 0 || max_rows == 0)
		return no_history(h, "history is off");
	const json_t *limit = json_object_get(query, "limit");
	if (limit != NULL && !json_is_null(limit))
		return no_history(h, "the query has a limit");
	int64_t g = 0;
	struct rb_err gerr = {0};
	if (druid_query_granularity_ms(query, &g, &gerr) != RB_OK)
		return no_history(h, "the granularity has no fixed length");
	h->granularity_ms = g;

	/* The list of interval strings: the query's own value, or inside an "intervals" object. */
	const json_t *iv = json_object_get(query, "intervals");
	const json_t *list = iv;
	if (json_is_object(iv)) {
		const json_t *type = json_object_get(iv, "type");
		list = json_object_get(iv, "intervals");
		if (!json_is_string(type) || strcmp(json_string_value(type), "intervals") != 0 ||
		    !json_is_array(list) || json_array_size(list) == 0)
			return rb_err_set(err, RB_E_INPUT,
			                  "query intervals: an object must be {\"type\":\"intervals\","
			                  "\"intervals\":[...]} for history (send history=PT0S to turn "
			                  "history off)");
	}
	if (json_is_array(list) && json_array_size(list) > DRUID_HISTORY_MAX_INTERVALS)
		return rb_err_set(err, RB_E_INPUT,
		                  "query has more than %d intervals (send history=PT0S to turn "
		                  "history off)",
		                  DRUID_HISTORY_MAX_INTERVALS);
	int64_t start = INT64_MAX;
	size_t n = json_is_array(list) ? json_array_size(list) : 1;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_is_array(list) ? json_array_get(list, i) : list;
		if (!json_is_string(e))
			return rb_err_set(err, RB_E_INPUT,
			                  "query intervals must be strings (send history=PT0S to "
			                  "turn history off)");
		int64_t s = 0;
		rc = interval_start_ms(json_string_value(e), json_string_length(e), &s, err);
		if (rc != RB_OK)
			return rc;
		if (s < start)
			start = s;
	}
	h->start_ms = start;

	/* Whole buckets, at most max_rows, never before the epoch; rows * g <= history_ms. */
	int64_t rows = history_ms / g;
	if ((uint64_t)rows > (uint64_t)max_rows)
		rows = (int64_t)max_rows;
	if (start / g < rows)
		rows = start > 0 ? start / g : 0;
	if (rows <= 0)
		return no_history(h, start <= 0 ? "the query starts before 1970"
		                                : "history is shorter than one bucket");
	h->rows = (size_t)rows;
	h->history_ms = rows * g;

	char a[40], b[40], text[96];
	civil_format_ms(start - h->history_ms, a, sizeof a);
	civil_format_ms(start, b, sizeof b);
	snprintf(text, sizeof text, "%s/%s", a, b);

	json_t *q = json_deep_copy(query); /* new */
	json_t *ext = json_array();        /* new: [history interval, the query's intervals...] */
	int bad = q == NULL || ext == NULL || json_array_append_new(ext, json_string(text)) != 0;
	for (size_t i = 0; i < n && !bad; i++) {
		const json_t *e = json_is_array(list) ? json_array_get(list, i) : list;
		bad = json_array_append(ext, (json_t *)e) != 0;
	}
	if (!bad) {
		json_t *holder = json_is_object(iv) ? json_object_get(q, "intervals") : q;
		bad = json_object_set(holder, "intervals", ext) != 0;
	}
	json_decref(ext);
	if (bad) {
		json_decref(q);
		return rb_err_set(err, RB_E_NOMEM, "out of memory adding history to the query");
	}
	*out = q;
	return RB_OK;
}

size_t druid_history_rows_before(const struct druid_history *h, const double *t, size_t n)
{
	if (h == NULL || h->history_ms <= 0)
		return 0;
	/*
	 * A bucket is history when it ends at or before the requested start. t is ascending,
	 * so that holds for a prefix of the rows: a binary search for its end (a linear scan
	 * took ~40 µs for a week of one-minute rows; tests/test_druid_history.c checks the
	 * two agree).
	 */
	size_t lo = 0, hi = n; /* rows < lo are history, rows >= hi are not */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (llround(t[mid] * 1000.0) + h->granularity_ms <= h->start_ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
