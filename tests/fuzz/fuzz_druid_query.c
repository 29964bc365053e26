/*
 * fuzz_druid_query: a client's query text through druid_query_parse, the
 * granularity, the rewrite and the dump; the same bytes also as a bare
 * granularity value, as a template and as text to clean for a message.
 * Invariants (abort on violation, independent of NDEBUG): the caller's query
 * is never modified; a query whose granularity has a fixed length always
 * rewrites; the rewritten query keeps every key of the original but the two
 * replaced ones; its text parses back to the same value; cleaned text is
 * printable, shorter than its buffer and has no double spaces.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/druid/druid_private.h"
#include "rb/druid/druid_query.h"
#include "rb/input/civil.h"

#define FUZZ_CHECK(c)              \
	do {                       \
		if (!(c))          \
			abort();   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char template_text[] =
	"{\"version\":1,\"aggregations\":[{\"type\":\"longSum\",\"name\":\"bytes\",\"fieldName\":\"sum_bytes\"},"
	"{\"type\":\"hyperUnique\",\"name\":\"clients\",\"fieldName\":\"clients\"}],"
	"\"postAggregations\":[{\"type\":\"arithmetic\",\"name\":\"bps\",\"fn\":\"/\",\"fields\":["
	"{\"type\":\"fieldAccess\",\"fieldName\":\"bytes\"},"
	"{\"type\":\"constant\",\"name\":\"s\",\"value\":\"$granularity_seconds\"}]},"
	"{\"type\":\"constant\",\"name\":\"ms\",\"value\":\"$granularity_millis\"},"
	"{\"type\":\"constant\",\"name\":\"lit\",\"value\":\"$$granularity_seconds\"}]}";

static const struct druid_template *the_template(void)
{
	static struct druid_template *t; /* built once per fuzzing process; never freed */
	if (t == NULL) {
		struct rb_err err;
		FUZZ_CHECK(druid_template_parse(&t, template_text, strlen(template_text), "fuzz",
		                                &err) == RB_OK);
	}
	return t;
}

static void query_path(const char *text, size_t size)
{
	struct rb_err err = {0};
	json_t *q = NULL;
	enum rb_code rc = druid_query_parse(&q, text, size, 1 << 16, &err);
	if (rc != RB_OK) {
		FUZZ_CHECK(q == NULL && (rc == RB_E_INPUT || rc == RB_E_TOO_LARGE || rc == RB_E_NOMEM));
		return;
	}
	json_t *before = json_deep_copy(q);
	int64_t ms = 0;
	enum rb_code grc = druid_query_granularity_ms(q, &ms, &err);
	FUZZ_CHECK(grc == RB_OK ? (ms > 0) : (grc == RB_E_INPUT && ms == 0));

	json_t *out = NULL;
	rc = druid_query_rewrite(&out, q, the_template(), &err);
	FUZZ_CHECK(json_equal(q, before));
	if (grc == RB_OK)
		FUZZ_CHECK(rc == RB_OK || rc == RB_E_NOMEM);
	else
		FUZZ_CHECK(rc == grc && out == NULL);
	if (rc == RB_OK) {
		const char *k;
		json_t *v;
		json_object_foreach(q, k, v) {
			if (strcmp(k, "aggregations") != 0 && strcmp(k, "postAggregations") != 0)
				FUZZ_CHECK(json_equal(json_object_get(out, k), v));
		}
		FUZZ_CHECK(json_array_size(json_object_get(out, "aggregations")) == 2);
		char *s = NULL;
		size_t len = 0;
		if (druid_query_dump(out, &s, &len, 0, &err) == RB_OK) {
			json_t *back = json_loadb(s, len, 0, NULL);
			FUZZ_CHECK(back != NULL && json_equal(back, out));
			json_decref(back);
			free(s);
		}
		json_decref(out);
	}
	json_decref(before);
	json_decref(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	query_path(text, size);

	/* The one-call form: without a template the body is the input itself. */
	char *body = NULL;
	size_t blen = 0;
	if (druid_query_prepare(text, size, NULL, 1 << 16, &body, &blen, NULL) == RB_OK) {
		FUZZ_CHECK(blen == size && memcmp(body, text, size) == 0 && body[size] == '\0');
		free(body);
		if (druid_query_prepare(text, size, the_template(), 1 << 16, &body, &blen, NULL) ==
		    RB_OK) {
			FUZZ_CHECK(body != NULL && strlen(body) == blen);
			free(body);
		}
	} else {
		FUZZ_CHECK(body == NULL && blen == 0);
	}

	/* With history (docs/DRUID.md): the body is the input when none was added, otherwise a
	 * query whose intervals start with the added "S'/S" of whole buckets. */
	{
		struct druid_history h;
		int64_t hist = (int64_t)(size % 5) * 86400000 + 1;
		enum rb_code rc = druid_query_prepare_history(text, size, NULL, 1 << 16, hist,
		                                              (size % 3) * 5000, &h, &body, &blen,
		                                              NULL);
		FUZZ_CHECK(rc == RB_OK ? body != NULL && body[blen] == '\0'
		                       : body == NULL && blen == 0);
		if (rc == RB_OK && h.history_ms == 0) {
			FUZZ_CHECK(h.none != NULL && blen == size && memcmp(body, text, size) == 0);
		} else if (rc == RB_OK) {
			FUZZ_CHECK(strlen(body) == blen); /* our own dump */
			FUZZ_CHECK(h.rows > 0 && h.rows <= (size % 3) * 5000 &&
			           h.history_ms == (int64_t)h.rows * h.granularity_ms &&
			           h.history_ms <= hist && h.start_ms - h.history_ms >= 0);
			json_t *q = json_loadb(body, blen, 0, NULL);
			FUZZ_CHECK(q != NULL);
			const json_t *iv = json_object_get(q, "intervals");
			if (json_is_object(iv))
				iv = json_object_get(iv, "intervals");
			const json_t *first = json_array_get(iv, 0);
			FUZZ_CHECK(json_is_string(first));
			char want[96], a[40], b[40];
			civil_format_ms(h.start_ms - h.history_ms, a, sizeof a);
			civil_format_ms(h.start_ms, b, sizeof b);
			snprintf(want, sizeof want, "%s/%s", a, b);
			FUZZ_CHECK(strcmp(json_string_value(first), want) == 0);
			json_decref(q);
		}
		free(body);
		body = NULL;
	}

	/* The same bytes as a bare granularity value. */
	if (size < (1 << 16)) {
		json_t *g = json_loadb(text, size, JSON_DECODE_ANY, NULL);
		if (g != NULL) {
			int64_t ms = -1;
			enum rb_code rc = druid_granularity_ms(g, &ms, NULL);
			FUZZ_CHECK(rc == RB_OK ? ms > 0 : (rc == RB_E_INPUT && ms == 0));
			json_decref(g);
		}
	}
	/* Message cleaning (used on users' and Druid's text): printable, bounded, no double spaces. */
	for (size_t cap = 0; cap <= 64; cap += 7) {
		char out[64];
		memset(out, 'Z', sizeof out);
		druid_clean_text(out, cap, text, size);
		if (cap == 0) {
			FUZZ_CHECK(out[0] == 'Z');
			continue;
		}
		size_t len = strnlen(out, cap);
		FUZZ_CHECK(len < cap);
		for (size_t i = 0; i < len; i++) {
			FUZZ_CHECK(out[i] >= 0x20 && out[i] < 0x7f);
			FUZZ_CHECK(!(out[i] == ' ' && (i == 0 || out[i - 1] == ' ')));
		}
	}

	/* And as a template. */
	struct druid_template *t = NULL;
	enum rb_code rc = druid_template_parse(&t, text, size, "fuzz", NULL);
	FUZZ_CHECK(rc == RB_OK ? t != NULL : t == NULL);
	druid_template_free(t);
	return 0;
}
