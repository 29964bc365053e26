/*
 * fuzz_druid_policy: arbitrary bytes as a Druid query under the query policy
 * (allow-list "rb_flow, other", timeout 30000 ms). The bytes are parsed by
 * Jansson alone (no size or depth cap of ours, so the walk's own depth cap is
 * reached) and go through druid_policy_check and druid_policy_apply, and as
 * text through druid_query_prepare_policy (with and without history).
 * Invariants (abort on violation, independent of NDEBUG):
 *  - the code is RB_OK, RB_E_INPUT or RB_E_TOO_LARGE (apply: or RB_E_NOMEM),
 *    a failure has a message, and a refused query is left unchanged;
 *  - check and apply agree, except that apply alone judges context.timeout;
 *  - after a successful apply the dataSource is an allowed table (or union of
 *    them), context.timeout is a whole number of ms in 1..30000, and a second
 *    apply changes nothing;
 *  - a prepared body parses back and passes the policy unchanged.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rb/druid/druid_policy.h"
#include "rb/druid/druid_query.h"

#define FUZZ_CHECK(c)              \
	do {                       \
		if (!(c))          \
			abort();   \
	} while (0)

#define T_MS 30000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct druid_policy *the_policy(void)
{
	static struct druid_policy *p; /* built once per fuzzing process; never freed */
	if (p == NULL) {
		struct rb_err err;
		FUZZ_CHECK(druid_policy_new(&p, "rb_flow, other", T_MS, &err) == RB_OK);
	}
	return p;
}

static int allowed_table(const json_t *v)
{
	if (json_is_object(v))
		v = json_object_get(v, "name");
	if (!json_is_string(v))
		return 0;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	return (n == 7 && memcmp(s, "rb_flow", 7) == 0) || (n == 5 && memcmp(s, "other", 5) == 0);
}

/* What a query that passed apply must look like. */
static void passed(const json_t *q)
{
	const json_t *ds = json_object_get(q, "dataSource");
	if (json_is_object(ds) && json_is_string(json_object_get(ds, "type")) &&
	    strcasecmp(json_string_value(json_object_get(ds, "type")), "union") == 0) {
		const json_t *list = json_object_get(ds, "dataSources");
		FUZZ_CHECK(json_array_size(list) > 0);
		for (size_t i = 0; i < json_array_size(list); i++)
			FUZZ_CHECK(allowed_table(json_array_get(list, i)));
	} else {
		FUZZ_CHECK(allowed_table(ds));
	}
	const json_t *ctx = json_object_get(q, "context");
	FUZZ_CHECK(json_is_object(ctx));
	FUZZ_CHECK(json_object_get(ctx, "priority") == NULL && json_object_get(ctx, "lane") == NULL);
	const json_t *t = json_object_get(ctx, "timeout");
	long long ms = -1;
	if (json_is_integer(t)) {
		ms = json_integer_value(t);
	} else {
		FUZZ_CHECK(json_is_string(t));
		const char *s = json_string_value(t);
		FUZZ_CHECK(json_string_length(t) >= 1 && json_string_length(t) <= 18);
		ms = strtoll(s, NULL, 10);
	}
	FUZZ_CHECK(ms >= 1 && ms <= T_MS);
}

static void tree_path(const uint8_t *data, size_t size)
{
	const struct druid_policy *p = the_policy();
	json_error_t je;
	json_t *q = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	                       &je);
	if (q == NULL)
		return;
	struct rb_err cerr = {0}, aerr = {0};
	enum rb_code crc = druid_policy_check(p, q, &cerr);
	FUZZ_CHECK(crc == RB_OK || crc == RB_E_INPUT || crc == RB_E_TOO_LARGE);
	if (crc != RB_OK)
		FUZZ_CHECK(cerr.msg[0] != '\0' && cerr.code == crc);
	json_t *copy = json_deep_copy(q);
	FUZZ_CHECK(copy != NULL);
	int changed = -1;
	enum rb_code arc = druid_policy_apply(p, q, &changed, &aerr);
	if (arc == RB_E_NOMEM) {
		json_decref(copy);
		json_decref(q);
		return;
	}
	if (crc != RB_OK) {
		FUZZ_CHECK(arc == crc && strcmp(aerr.msg, cerr.msg) == 0);
	} else if (arc != RB_OK) {
		FUZZ_CHECK(arc == RB_E_INPUT && strstr(aerr.msg, "context.timeout") != NULL);
	}
	if (arc != RB_OK) {
		FUZZ_CHECK(changed == 0 && json_equal(q, copy));
	} else {
		FUZZ_CHECK(changed == 0 || changed == 1);
		FUZZ_CHECK(changed == 1 || json_equal(q, copy));
		passed(q);
		int again = -1;
		FUZZ_CHECK(druid_policy_apply(p, q, &again, &aerr) == RB_OK && again == 0);
	}
	json_decref(copy);
	json_decref(q);
}

static void text_path(const uint8_t *data, size_t size, int64_t history_ms)
{
	const struct druid_policy *p = the_policy();
	struct druid_history h;
	struct rb_err err = {0};
	char *body = NULL;
	size_t blen = 0;
	enum rb_code rc = druid_query_prepare_policy((const char *)data, size, NULL, p, 1 << 16,
	                                             history_ms, 1000, &h, &body, &blen, &err);
	if (rc != RB_OK) {
		FUZZ_CHECK(body == NULL && err.msg[0] != '\0');
		return;
	}
	json_t *q = json_loadb(body, blen, JSON_REJECT_DUPLICATES, NULL);
	FUZZ_CHECK(q != NULL);
	int changed = -1;
	FUZZ_CHECK(druid_policy_apply(p, q, &changed, &err) == RB_OK && changed == 0);
	passed(q);
	json_decref(q);
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tree_path(data, size);
	text_path(data, size, 0);
	text_path(data, size, 86400000);
	return 0;
}
