/*
 * druid_policy: what a client's Druid query may ask of the broker, checked
 * before anything is sent (docs/DRUID.md, "The query policy"):
 *  - dataSource: a table named in the allow-list (druid_datasources), given
 *    as a string, {"type":"table","name":...} or a union of such tables;
 *    any other kind (lookup, query, inline, external, join, ...) is refused;
 *  - no object anywhere in the query has "type": "javascript" (aggregators,
 *    filters at any depth, post-aggregators, extraction functions, ...);
 *  - context: an object if present; priority, lane and brokerService are
 *    refused; timeout is lowered to the service's own Druid timeout (and set
 *    when absent), so Druid gives up when the service does.
 * A refusal is RB_E_INPUT (400) whose message says what was refused; past
 * DRUID_QUERY_MAX_DEPTH levels of nesting RB_E_TOO_LARGE (413).
 *
 * Not here: the query's own shape (druid_query_check), sending it
 * (druid_client.h). A policy is built once per worker and read-only after;
 * Jansson references as labelled (borrowed: only read; modified: changed in
 * place, the caller keeps its reference).
 */
#ifndef RB_DRUID_POLICY_H
#define RB_DRUID_POLICY_H

#include <jansson.h>
#include <stddef.h>

#include "rb/base/error.h"

struct druid_template;

/* Longest table name in an allow-list or a template's dataSources. */
#define DRUID_POLICY_NAME_MAX 255
/* Most names an allow-list holds (the configured ones and the templates' together). */
#define DRUID_POLICY_MAX_NAMES 1024

/*
 * 1 when s[0..len) may be listed as a table: 1 to DRUID_POLICY_NAME_MAX bytes
 * of printable ASCII other than blanks and commas, and not "auto" or "*"
 * (the list's two words).
 */
int druid_policy_name_ok(const char *s, size_t len);

/*
 * Checks the text of a druid_datasources list: entries separated by commas
 * and/or blanks, at least one; each is "auto" (the data sources the loaded
 * model templates name), "*" (any table) or a table name (druid_policy_name_ok).
 * RB_E_CONFIG naming the bad entry.
 */
enum rb_code druid_policy_list_check(const char *list, size_t len, struct rb_err *err);

struct druid_policy;

/*
 * A policy from a druid_datasources list (NUL-terminated, as list_check
 * accepts it) and the service's Druid timeout in ms (> 0), the most
 * context.timeout a query may carry. RB_E_CONFIG for a bad list, RB_E_NOMEM.
 */
enum rb_code druid_policy_new(struct druid_policy **out, const char *list,
                              unsigned long timeout_ms, struct rb_err *err);

/*
 * When the list has "auto", allows the tables the template names (its
 * "dataSources"); otherwise, or with t NULL, nothing. RB_E_NOMEM, or
 * RB_E_CONFIG past DRUID_POLICY_MAX_NAMES.
 */
enum rb_code druid_policy_add_template(struct druid_policy *p, const struct druid_template *t,
                                       struct rb_err *err);

/* Frees a policy; NULL is a no-op. */
void druid_policy_free(struct druid_policy *p);

/* 1 when table name[0..len) may be read (listed, or the list has "*"). */
int druid_policy_allows(const struct druid_policy *p, const char *name, size_t len);

/*
 * The allowed tables as text for logs ("rb_flow, other", "any table" for "*",
 * "none" when empty), cut to cap.
 */
void druid_policy_describe(const struct druid_policy *p, char *buf, size_t cap);

/*
 * The refusals, without changing anything: RB_OK when query (borrowed) is
 * an object whose dataSource, javascript and context parts pass (a missing
 * context passes; timeout values are judged by druid_policy_apply only).
 */
enum rb_code druid_policy_check(const struct druid_policy *p, const json_t *query,
                                struct rb_err *err);

/*
 * druid_policy_check, then the timeout clamp on query (modified): its
 * context.timeout becomes the policy's timeout when it is absent, 0 (Druid's
 * "no timeout") or larger; a whole number of ms in range (a JSON integer or a
 * string of digits) is kept as it is; anything else is refused (400).
 * A missing context is added as {"timeout": T}. *changed is 1 when the query
 * was changed, else 0. On failure the query is unchanged.
 */
enum rb_code druid_policy_apply(const struct druid_policy *p, json_t *query, int *changed,
                                struct rb_err *err);

#endif
