/*
 * fuzz_json_scan: arbitrary bytes read as one JSON document by the json_scan
 * cursor (rb/input/json_scan.h), from an exact-size copy (a read past the end
 * is an ASan error, under libFuzzer and in the seed replay alike), nesting cap
 * 16 so that the cap is reached often. Checked:
 *  1. accept / reject agrees with Jansson (an independent parser; its own
 *     depth cap, 2048, is far above ours) for every input without a NUL byte
 *     that the cursor does not refuse for depth; an input with a NUL byte is
 *     always refused (Jansson's json_loadb lets some through: no reference
 *     there);
 *  2. an accepted document has Jansson's values: walked with the cursor's own
 *     steps (as core/input/series.c walks rows), strings equal byte for byte,
 *     numbers bit for bit, objects member by member (when Jansson, refusing
 *     duplicate keys, still reads it), arrays element by element;
 *  3. json_scan_cut() agrees with the cursor on arrays: an accepted array is
 *     cut into exactly its elements, each of which reads back as one value
 *     within its cut; a text whose every cut element reads as one value is
 *     accepted; an array refused for depth is refused for depth by the cut;
 *  4. both number paths (the exact fast path, strtod) give the same verdict,
 *     reason and position.
 * A violated check aborts (a crash for libFuzzer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rb/input/json_scan.h"

#define REQUIRE(c)                     \
	do {                           \
		if (!(c))              \
			abort();       \
	} while (0)

#define DEPTH 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One whole document (a value, then only whitespace); the cursor is left where it stopped. */
static enum json_scan_res read_doc(struct json_scan *j)
{
	enum json_scan_res rc = json_scan_skip(j, 0);
	REQUIRE(j->pos <= j->end);
	if (rc != JSON_SCAN_OK)
		return rc;
	json_scan_space(j);
	return j->pos == j->end ? JSON_SCAN_OK : json_scan_fail(j, "text after the value");
}

/* The value at the cursor equals Jansson's v (borrowed); the document was accepted. */
static void same_value(struct json_scan *j, json_t *v, size_t depth)
{
	json_scan_space(j);
	int c = json_scan_peek(j);
	if (c == '{' || c == '[') {
		REQUIRE(c == '{' ? json_is_object(v) : json_is_array(v));
		j->pos++;
		json_scan_space(j);
		size_t n = 0;
		if (json_scan_peek(j) == (c == '{' ? '}' : ']')) {
			j->pos++;
		} else {
			for (;;) {
				json_t *m; /* borrowed */
				if (c == '{') {
					json_scan_space(j);
					REQUIRE(json_scan_peek(j) == '"');
					REQUIRE(json_scan_string(j) == JSON_SCAN_OK);
					REQUIRE(strlen(j->str) == j->str_len);
					m = json_object_get(v, j->str);
					REQUIRE(json_scan_colon(j) == JSON_SCAN_OK);
				} else {
					m = json_array_get(v, n);
				}
				REQUIRE(m != NULL);
				same_value(j, m, depth + 1);
				n++;
				json_scan_space(j);
				int e = json_scan_peek(j);
				j->pos++;
				if (e == (c == '{' ? '}' : ']'))
					break;
				REQUIRE(e == ',');
			}
		}
		REQUIRE(n == (c == '{' ? json_object_size(v) : json_array_size(v)));
		return;
	}
	if (c == '"') {
		size_t start, n;
		size_t at = j->pos;
		if (json_scan_plain_string(j, &start, &n)) {
			REQUIRE(json_is_string(v) && json_string_length(v) == n &&
			        memcmp(json_string_value(v), j->s + start, n) == 0);
			j->pos = at; /* and the full decoder reads the same */
		}
		REQUIRE(json_scan_string(j) == JSON_SCAN_OK);
		REQUIRE(json_is_string(v) && json_string_length(v) == j->str_len &&
		        memcmp(json_string_value(v), j->str, j->str_len) == 0);
		return;
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		double x;
		REQUIRE(json_scan_number(j, &x) == JSON_SCAN_OK);
		double y = json_number_value(v);
		REQUIRE(json_is_number(v) && memcmp(&x, &y, sizeof x) == 0);
		return;
	}
	REQUIRE(json_scan_skip(j, depth) == JSON_SCAN_OK);
	REQUIRE(c == 't' ? json_is_true(v) : c == 'f' ? json_is_false(v) : json_is_null(v));
}

/* Check 3: the cut of text (len bytes) against the cursor's verdict rc on the whole. */
static void same_cut(const char *text, size_t len, enum json_scan_res rc, json_t *root)
{
	struct json_cuts cuts = {0};
	size_t at = 0;
	enum json_cut_res cr = json_scan_cut(text, len, DEPTH, SIZE_MAX, &cuts, &at);
	REQUIRE(cr != JSON_CUT_NOMEM && cr != JSON_CUT_TOO_MANY);
	size_t i = 0;
	while (i < len && json_scan_is_space(text[i]))
		i++;
	if (i == len)
		REQUIRE(cr == JSON_CUT_EMPTY);
	else if (text[i] != '[')
		REQUIRE(cr == JSON_CUT_NOT_ARRAY && at == i);
	else if (rc == JSON_SCAN_DEPTH)
		REQUIRE(cr == JSON_CUT_DEPTH);
	if (rc == JSON_SCAN_OK && text[i] == '[') {
		REQUIRE(cr == JSON_CUT_OK);
		REQUIRE(root == NULL || cuts.n == json_array_size(root));
	}
	if (cr == JSON_CUT_OK) {
		REQUIRE(cuts.cut[0] == i && (cuts.n == 0 || text[cuts.cut[cuts.n]] == ']'));
		int all = 1;
		struct json_scan j;
		json_scan_init(&j, text, 0, 0, DEPTH, 0);
		for (size_t k = 0; k < cuts.n && all; k++) {
			REQUIRE(cuts.cut[k] < cuts.cut[k + 1]);
			j.pos = cuts.cut[k] + 1;
			j.end = cuts.cut[k + 1];
			json_scan_space(&j);
			all = j.pos < j.end && json_scan_skip(&j, 1) == JSON_SCAN_OK;
			REQUIRE(j.pos <= j.end);
			json_scan_space(&j);
			all = all && j.pos == j.end;
		}
		json_scan_release(&j);
		REQUIRE(all == (rc == JSON_SCAN_OK));
	}
	free(cuts.cut);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size > 0 ? size : 1);
	REQUIRE(text != NULL);
	if (size > 0)
		memcpy(text, data, size);

	struct json_scan j, k;
	json_scan_init(&j, text, 0, size, DEPTH, 0);
	json_scan_init(&k, text, 0, size, DEPTH, JSON_SCAN_NUMBERS_STRTOD);
	enum json_scan_res rc = read_doc(&j);
	REQUIRE(read_doc(&k) == rc && k.pos == j.pos);
	REQUIRE(rc != JSON_SCAN_SYNTAX || strcmp(j.why, k.why) == 0);
	REQUIRE(rc != JSON_SCAN_NOMEM);
	int nul = memchr(text, '\0', size) != NULL;
	if (nul)
		REQUIRE(rc != JSON_SCAN_OK);

	json_error_t je;
	json_t *root = json_loadb(text, size, /* new */
	                          JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
	json_t *strict = NULL;
	if (!nul && rc != JSON_SCAN_DEPTH)
		REQUIRE((rc == JSON_SCAN_OK) == (root != NULL));
	if (rc == JSON_SCAN_OK) {
		strict = json_loadb(text, size, /* new */
		                    JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES,
		                    &je);
		if (strict != NULL) {
			j.pos = 0;
			same_value(&j, strict, 0);
			json_scan_space(&j);
			REQUIRE(j.pos == size);
		}
	}
	same_cut(text, size, rc, rc == JSON_SCAN_OK ? root : NULL);

	json_decref(strict);
	json_decref(root);
	json_scan_release(&j);
	json_scan_release(&k);
	free(text);
	return 0;
}
