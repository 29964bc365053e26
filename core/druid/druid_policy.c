/*
 * druid_policy: the allow-list of tables, the refusal of non-table data
 * sources, of javascript anywhere and of scheduling overrides in the
 * context, and the clamp of context.timeout (rules in druid_policy.h and
 * docs/DRUID.md). One recursive walk over the parsed query, capped at
 * DRUID_QUERY_MAX_DEPTH levels; it never parses text and never talks to Druid.
 */
#include "rb/druid/druid_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "druid_private.h"
#include "rb/druid/druid_query.h"

/* How much of a client's text is quoted back in a message. */
#define QUOTE_MAX 48
/* Longest path quoted in a message ("aggregations[0].filter.fields[1]"). */
#define PATH_MAX_TEXT 128

struct druid_policy {
	char **names;       /* [n] allowed tables, each malloc'd, no duplicates */
	size_t n, cap;
	int any;            /* "*": any table */
	int from_templates; /* "auto": add_template adds the templates' dataSources */
	json_int_t timeout_ms;
};

/* ---- the list ---- */

int druid_policy_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > DRUID_POLICY_NAME_MAX)
		return 0;
	if ((len == 4 && memcmp(s, "auto", 4) == 0) || (len == 1 && s[0] == '*'))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == ',')
			return 0;
	}
	return 1;
}

static int is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* The next entry of list[*pos..len): *start, *elen; 0 when none is left. */
static int next_entry(const char *list, size_t len, size_t *pos, size_t *start, size_t *elen)
{
	size_t p = *pos;
	while (p < len && is_sep(list[p]))
		p++;
	if (p == len)
		return 0;
	size_t s = p;
	while (p < len && !is_sep(list[p]))
		p++;
	*start = s;
	*elen = p - s;
	*pos = p;
	return 1;
}

enum rb_code druid_policy_list_check(const char *list, size_t len, struct rb_err *err)
{
	size_t pos = 0, s, l, count = 0;
	while (next_entry(list, len, &pos, &s, &l)) {
		const char *e = list + s;
		count++;
		if ((l == 4 && memcmp(e, "auto", 4) == 0) || (l == 1 && e[0] == '*'))
			continue;
		if (!druid_policy_name_ok(e, l)) {
			char q[QUOTE_MAX];
			druid_clean_text(q, sizeof q, e, l);
			return rb_err_set(err, RB_E_CONFIG,
			                  "'%s' is not a table name (1 to %d printable ASCII "
			                  "characters, no blanks or commas), auto or *",
			                  q, DRUID_POLICY_NAME_MAX);
		}
	}
	if (count == 0)
		return rb_err_set(err, RB_E_CONFIG,
		                  "the list is empty (give auto, * or table names separated by commas)");
	if (count > DRUID_POLICY_MAX_NAMES)
		return rb_err_set(err, RB_E_CONFIG, "more than %d entries", DRUID_POLICY_MAX_NAMES);
	return RB_OK;
}

static enum rb_code add_name(struct druid_policy *p, const char *s, size_t len,
                             struct rb_err *err)
{
	for (size_t i = 0; i < p->n; i++)
		if (strlen(p->names[i]) == len && memcmp(p->names[i], s, len) == 0)
			return RB_OK; /* listed already */
	if (p->n == DRUID_POLICY_MAX_NAMES)
		return rb_err_set(err, RB_E_CONFIG, "more than %d allowed data sources",
		                  DRUID_POLICY_MAX_NAMES);
	if (p->n == p->cap) {
		size_t cap = p->cap < 8 ? 8 : 2 * p->cap;
		char **grown = realloc(p->names, cap * sizeof *grown);
		if (grown == NULL)
			return rb_err_set(err, RB_E_NOMEM, "out of memory");
		p->names = grown;
		p->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	memcpy(copy, s, len);
	copy[len] = '\0';
	p->names[p->n++] = copy;
	return RB_OK;
}

enum rb_code druid_policy_new(struct druid_policy **out, const char *list,
                              unsigned long timeout_ms, struct rb_err *err)
{
	*out = NULL;
	size_t len = strlen(list);
	enum rb_code rc = druid_policy_list_check(list, len, err);
	if (rc != RB_OK)
		return rc;
	if (timeout_ms == 0)
		return rb_err_set(err, RB_E_CONFIG, "the Druid timeout must be positive");
	struct druid_policy *p = calloc(1, sizeof *p);
	if (p == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	p->timeout_ms = (json_int_t)timeout_ms;
	size_t pos = 0, s, l;
	while (rc == RB_OK && next_entry(list, len, &pos, &s, &l)) {
		if (l == 4 && memcmp(list + s, "auto", 4) == 0)
			p->from_templates = 1;
		else if (l == 1 && list[s] == '*')
			p->any = 1;
		else
			rc = add_name(p, list + s, l, err);
	}
	if (rc != RB_OK) {
		druid_policy_free(p);
		return rc;
	}
	*out = p;
	return RB_OK;
}

enum rb_code druid_policy_add_template(struct druid_policy *p, const struct druid_template *t,
                                       struct rb_err *err)
{
	if (t == NULL || !p->from_templates)
		return RB_OK;
	size_t n = druid_template_datasource_count(t);
	for (size_t i = 0; i < n; i++) {
		const char *name = druid_template_datasource(t, i);
		enum rb_code rc = add_name(p, name, strlen(name), err);
		if (rc != RB_OK)
			return rc;
	}
	return RB_OK;
}

void druid_policy_free(struct druid_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->names[i]);
	free(p->names);
	free(p);
}

int druid_policy_allows(const struct druid_policy *p, const char *name, size_t len)
{
	if (p->any)
		return 1;
	for (size_t i = 0; i < p->n; i++)
		if (strlen(p->names[i]) == len && memcmp(p->names[i], name, len) == 0)
			return 1;
	return 0;
}

void druid_policy_describe(const struct druid_policy *p, char *buf, size_t cap)
{
	if (cap == 0)
		return;
	buf[0] = '\0';
	if (p->any) {
		snprintf(buf, cap, "any table");
		return;
	}
	if (p->n == 0) {
		snprintf(buf, cap, "none");
		return;
	}
	size_t o = 0;
	for (size_t i = 0; i < p->n && o < cap; i++) {
		int w = snprintf(buf + o, cap - o, "%s%s", i > 0 ? ", " : "", p->names[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* ---- the walk ---- */

/* Where the walk is, as text for messages: "aggregations[0].filter". */
struct path {
	char text[PATH_MAX_TEXT];
	size_t len;
};

/*
 * Appends a segment (a key, or "[index]" when is_index); returns the length to restore
 * with path_pop. A path too long for the buffer ends in "..." and grows no further.
 */
static size_t path_push(struct path *pa, const char *key, size_t index, int is_index)
{
	size_t old = pa->len;
	if (pa->len + 4 >= sizeof pa->text)
		return old; /* already cut */
	char seg[QUOTE_MAX + 4];
	if (is_index) {
		snprintf(seg, sizeof seg, "[%zu]", index);
	} else {
		char q[QUOTE_MAX];
		druid_clean_text(q, sizeof q, key, strlen(key));
		snprintf(seg, sizeof seg, "%s%s", pa->len > 0 ? "." : "", q);
	}
	size_t sl = strlen(seg);
	if (pa->len + sl + 4 >= sizeof pa->text) {
		memcpy(pa->text + pa->len, "...", 4);
		pa->len = sizeof pa->text - 1; /* cut: deeper segments are not added after "..." */
		return old;
	}
	memcpy(pa->text + pa->len, seg, sl + 1);
	pa->len += sl;
	return old;
}

static void path_pop(struct path *pa, size_t old)
{
	pa->len = old;
	pa->text[old] = '\0';
}

static enum rb_code too_deep(struct rb_err *err)
{
	return rb_err_set(err, RB_E_TOO_LARGE, "the query nests deeper than %d levels",
	                  DRUID_QUERY_MAX_DEPTH);
}

/* No object in v (at depth, 1 = the query) has "type": "javascript" (any case). */
static enum rb_code no_javascript(const json_t *v, size_t depth, struct path *pa,
                                  struct rb_err *err)
{
	if (!json_is_object(v) && !json_is_array(v))
		return RB_OK;
	if (depth > DRUID_QUERY_MAX_DEPTH)
		return too_deep(err);
	if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e) {
			size_t old = path_push(pa, NULL, i, 1);
			enum rb_code rc = no_javascript(e, depth + 1, pa, err);
			path_pop(pa, old);
			if (rc != RB_OK)
				return rc;
		}
		return RB_OK;
	}
	const json_t *type = json_object_get(v, "type");
	if (json_is_string(type) && strcasecmp(json_string_value(type), "javascript") == 0)
		return rb_err_set(err, RB_E_INPUT,
		                  "javascript is not allowed in a query (%s has type \"%s\")",
		                  pa->len > 0 ? pa->text : "the query", json_string_value(type));
	const char *k;
	const json_t *e;
	json_object_foreach((json_t *)v, k, e) {
		size_t old = path_push(pa, k, 0, 0);
		enum rb_code rc = no_javascript(e, depth + 1, pa, err);
		path_pop(pa, old);
		if (rc != RB_OK)
			return rc;
	}
	return RB_OK;
}

/* A table given as a string or {"type":"table","name":...}; 1 when v is one (*name, *len). */
static int table_name(const json_t *v, const char **name, size_t *len)
{
	if (json_is_object(v)) {
		const json_t *type = json_object_get(v, "type");
		if (!json_is_string(type) || strcasecmp(json_string_value(type), "table") != 0)
			return 0;
		v = json_object_get(v, "name");
	}
	if (!json_is_string(v))
		return 0;
	*name = json_string_value(v);
	*len = json_string_length(v);
	return 1;
}

static enum rb_code check_table(const struct druid_policy *p, const char *name, size_t len,
                                struct rb_err *err)
{
	if (druid_policy_allows(p, name, len))
		return RB_OK;
	char q[QUOTE_MAX];
	druid_clean_text(q, sizeof q, name, len);
	return rb_err_set(err, RB_E_INPUT, "dataSource '%s' is not in druid_datasources", q);
}

static enum rb_code check_datasource(const struct druid_policy *p, const json_t *ds,
                                     struct rb_err *err)
{
	const char *name;
	size_t len;
	if (table_name(ds, &name, &len))
		return check_table(p, name, len, err);
	if (!json_is_object(ds))
		return rb_err_set(err, RB_E_INPUT, "query dataSource must be a table name");
	const json_t *type = json_object_get(ds, "type");
	if (!json_is_string(type))
		return rb_err_set(err, RB_E_INPUT, "query dataSource object has no type");
	char q[QUOTE_MAX];
	druid_clean_text(q, sizeof q, json_string_value(type), json_string_length(type));
	if (strcasecmp(json_string_value(type), "table") == 0)
		return rb_err_set(err, RB_E_INPUT, "query dataSource of type 'table' has no name");
	if (strcasecmp(json_string_value(type), "union") == 0) {
		const json_t *list = json_object_get(ds, "dataSources");
		if (!json_is_array(list) || json_array_size(list) == 0)
			return rb_err_set(err, RB_E_INPUT,
			                  "query dataSource of type 'union' has no dataSources list");
		size_t i;
		const json_t *e;
		json_array_foreach(list, i, e) {
			if (!table_name(e, &name, &len))
				return rb_err_set(err, RB_E_INPUT,
				                  "dataSource of type 'union' may only list tables "
				                  "(dataSources[%zu] is not one)",
				                  i);
			enum rb_code rc = check_table(p, name, len, err);
			if (rc != RB_OK)
				return rc;
		}
		return RB_OK;
	}
	return rb_err_set(err, RB_E_INPUT,
	                  "dataSource of type '%s' is not allowed (only tables named in "
	                  "druid_datasources)",
	                  q);
}

/* Context keys a client may not set, and why. */
static const struct {
	const char *key;
	const char *why;
} refused_context[] = {
	{"priority", "the service, not the client, decides how Druid schedules its queries"},
	{"lane", "the service, not the client, decides how Druid schedules its queries"},
	{"brokerService", "the service, not the client, decides which brokers answer"},
};

static enum rb_code check_context(const json_t *ctx, struct rb_err *err)
{
	if (ctx == NULL)
		return RB_OK;
	if (!json_is_object(ctx))
		return rb_err_set(err, RB_E_INPUT, "query context must be an object");
	for (size_t i = 0; i < sizeof refused_context / sizeof refused_context[0]; i++)
		if (json_object_get(ctx, refused_context[i].key) != NULL)
			return rb_err_set(err, RB_E_INPUT, "query context.%s is not allowed (%s)",
			                  refused_context[i].key, refused_context[i].why);
	return RB_OK;
}

enum rb_code druid_policy_check(const struct druid_policy *p, const json_t *query,
                                struct rb_err *err)
{
	if (!json_is_object(query))
		return rb_err_set(err, RB_E_INPUT, "the query must be a JSON object");
	/* A key that differs from one the policy reads only in case would be a second reading
	 * for a case-insensitive parser: refused, so Druid cannot see what the policy did not. */
	static const char *const watched[] = {"dataSource", "context"};
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)query, k, v) {
		for (size_t i = 0; i < sizeof watched / sizeof watched[0]; i++) {
			if (strcasecmp(k, watched[i]) != 0 || strcmp(k, watched[i]) == 0)
				continue;
			char q[QUOTE_MAX];
			druid_clean_text(q, sizeof q, k, strlen(k));
			return rb_err_set(err, RB_E_INPUT,
			                  "query key '%s' is not allowed (write %s)", q, watched[i]);
		}
	}
	struct path pa = {{0}, 0};
	enum rb_code rc = no_javascript(query, 1, &pa, err);
	if (rc != RB_OK)
		return rc;
	const json_t *ds = json_object_get(query, "dataSource");
	if (ds == NULL)
		return rb_err_set(err, RB_E_INPUT, "query has no dataSource");
	rc = check_datasource(p, ds, err);
	if (rc != RB_OK)
		return rc;
	return check_context(json_object_get(query, "context"), err);
}

/* The ms of a timeout value: 1 and *ms for a JSON integer or a string of 1..18 digits. */
static int timeout_value(const json_t *v, json_int_t *ms)
{
	if (json_is_integer(v)) {
		*ms = json_integer_value(v);
		return 1;
	}
	if (!json_is_string(v))
		return 0;
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len == 0 || len > 18)
		return 0;
	json_int_t x = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		x = x * 10 + (s[i] - '0');
	}
	*ms = x;
	return 1;
}

enum rb_code druid_policy_apply(const struct druid_policy *p, json_t *query, int *changed,
                                struct rb_err *err)
{
	*changed = 0;
	enum rb_code rc = druid_policy_check(p, query, err);
	if (rc != RB_OK)
		return rc;
	json_t *ctx = json_object_get(query, "context"); /* borrowed; an object when present */
	const json_t *t = ctx != NULL ? json_object_get(ctx, "timeout") : NULL;
	json_int_t ms = 0;
	if (t != NULL) {
		if (!timeout_value(t, &ms) || ms < 0)
			return rb_err_set(err, RB_E_INPUT,
			                  "query context.timeout must be a whole number of "
			                  "milliseconds");
		if (ms >= 1 && ms <= p->timeout_ms)
			return RB_OK;
	}
	json_t *value = json_integer(p->timeout_ms); /* new, stolen below */
	if (value == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	if (ctx != NULL) {
		if (json_object_set_new(ctx, "timeout", value) != 0) /* steals value, also on error */
			return rb_err_set(err, RB_E_NOMEM, "out of memory");
	} else {
		json_t *fresh = json_object(); /* new, stolen by query below */
		if (fresh == NULL || json_object_set_new(fresh, "timeout", value) != 0) {
			if (fresh == NULL)
				json_decref(value);
			json_decref(fresh);
			return rb_err_set(err, RB_E_NOMEM, "out of memory");
		}
		if (json_object_set_new(query, "context", fresh) != 0)
			return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	*changed = 1;
	return RB_OK;
}
