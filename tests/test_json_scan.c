/*
 * json_scan: the strict tree-less JSON reader (rb/input/json_scan.h) on its
 * own, on hostile input: truncation at every byte, bad escapes, lone
 * surrogates, overlong and invalid UTF-8, nesting past the cap (a million
 * levels), numbers past the double range, NaN / Infinity, trailing junk,
 * empty input, NUL bytes; json_scan_cut()'s cuts and outcomes; and
 * json_scan_depth_ok() on brackets in strings, escaped quotes, backslash runs,
 * unbalanced and mismatched brackets, max and max + 1 levels. Every
 * text is read from an exact-size heap copy, so that a read past its end is
 * an ASan error in the sanitizer run. Each whole-document verdict that
 * Jansson can judge (no NUL byte, within the depth cap) is also asked of
 * Jansson, which must agree: the expectations are not only ours.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "rb/input/json_scan.h"
#include "testutil.h"

#define DEPTH 32

static char *copy(const char *text, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);
	CHECK(p != NULL);
	memcpy(p, text, len);
	return p;
}

/*
 * Reads text as one whole document (one value, then only whitespace) with
 * the given options; *why gets the reason of a JSON_SCAN_SYNTAX.
 */
static enum json_scan_res read_doc_with(const char *text, size_t len, size_t max_depth,
                                        unsigned opts, const char **why)
{
	char *p = copy(text, len);
	struct json_scan j;
	json_scan_init(&j, p, 0, len, max_depth, opts);
	enum json_scan_res rc = json_scan_skip(&j, 0);
	CHECK(j.pos <= len);
	if (rc == JSON_SCAN_OK) {
		json_scan_space(&j);
		if (j.pos != len)
			rc = json_scan_fail(&j, "text after the value");
	}
	*why = rc == JSON_SCAN_SYNTAX ? j.why : "";
	json_scan_release(&j);
	free(p);
	return rc;
}

/* read_doc_with() both number paths, which must give the same verdict and reason. */
static enum json_scan_res read_doc(const char *text, size_t len, size_t max_depth,
                                   const char **why)
{
	const char *why2;
	enum json_scan_res rc = read_doc_with(text, len, max_depth, 0, why);
	enum json_scan_res rc2 = read_doc_with(text, len, max_depth, JSON_SCAN_NUMBERS_STRTOD, &why2);
	CHECKF(rc == rc2 && strcmp(*why, why2) == 0, "number paths differ on %.*s", (int)len, text);
	return rc;
}

static int jansson_reads(const char *text, size_t len)
{
	json_error_t je;
	json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je); /* new */
	json_decref(v);
	return v != NULL;
}

static void accept_n(const char *text, size_t len)
{
	const char *why;
	enum json_scan_res rc = read_doc(text, len, DEPTH, &why);
	CHECKF(rc == JSON_SCAN_OK, "refused (%d, %s): %.*s", rc, why, (int)len, text);
	CHECKF(jansson_reads(text, len), "Jansson refuses the test input: %.*s", (int)len, text);
}

static void accept(const char *text)
{
	accept_n(text, strlen(text));
}

/* Refused as JSON_SCAN_SYNTAX with a reason containing piece. */
static void refuse_n(const char *text, size_t len, const char *piece)
{
	const char *why;
	enum json_scan_res rc = read_doc(text, len, DEPTH, &why);
	CHECKF(rc == JSON_SCAN_SYNTAX, "not refused (%d): %.*s", rc, (int)len, text);
	CHECKF(strstr(why, piece) != NULL, "reason \"%s\" lacks \"%s\" (input %.*s)", why, piece,
	       (int)len, text);
	if (memchr(text, '\0', len) == NULL)
		CHECKF(!jansson_reads(text, len), "Jansson accepts the test input: %.*s", (int)len,
		       text);
}

static void refuse(const char *text, const char *piece)
{
	refuse_n(text, strlen(text), piece);
}

/* The decoded value of the one string that is the whole of text. */
static void string_is(const char *text, const char *want, size_t want_len)
{
	size_t len = strlen(text);
	char *p = copy(text, len);
	struct json_scan j;
	json_scan_init(&j, p, 0, len, DEPTH, 0);
	CHECKF(json_scan_string(&j) == JSON_SCAN_OK, "refused: %s", text);
	CHECK(j.pos == len);
	CHECKF(j.str_len == want_len && memcmp(j.str, want, want_len) == 0 &&
	               j.str[want_len] == '\0', "wrong decoding of %s", text);
	json_scan_release(&j);
	free(p);
	accept(text);
}

/* The value of the one number that is the whole of text, on both paths. */
static double number_of(const char *text)
{
	size_t len = strlen(text);
	char *p = copy(text, len);
	double v[2];
	for (unsigned k = 0; k < 2; k++) {
		struct json_scan j;
		json_scan_init(&j, p, 0, len, DEPTH, k == 0 ? 0 : JSON_SCAN_NUMBERS_STRTOD);
		CHECKF(json_scan_number(&j, &v[k]) == JSON_SCAN_OK, "refused: %s", text);
		CHECK(j.pos == len);
		json_scan_release(&j);
	}
	CHECKF(memcmp(&v[0], &v[1], sizeof v[0]) == 0, "number paths differ on %s", text);
	free(p);
	accept(text);
	return v[0];
}

static void test_truncation(void)
{
	static const char full[] =
	        "[{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"bytes\":3696668,"
	        "\"rate\":-1.5e-3,\"n\":null,\"ok\":true,\"no\":false,\"s\":\"a\\\"b\\\\c\\/\\u00e9"
	        "\\ud83d\\ude00\xc3\xa9\xf0\x9f\x98\x80\",\"arr\":[[],{},[1,2,{\"k\":[0]}]]}},"
	        " {\"x\" : 0.0 , \"y\" :\t[ ]\n} ]";
	size_t len = sizeof full - 1;
	accept(full);
	for (size_t k = 0; k < len; k++) {
		const char *why;
		CHECKF(read_doc(full, k, DEPTH, &why) == JSON_SCAN_SYNTAX, "prefix of %zu bytes read",
		       k);
		CHECKF(!jansson_reads(full, k), "Jansson reads the prefix of %zu bytes", k);
		struct json_cuts cuts = {0};
		size_t at = 0;
		char *p = copy(full, k);
		enum json_cut_res rc = json_scan_cut(p, k, DEPTH, 100, &cuts, &at);
		CHECKF(rc == (k == 0 ? JSON_CUT_EMPTY : JSON_CUT_TRUNCATED), "cut of %zu bytes: %d", k,
		       rc);
		free(cuts.cut);
		free(p);
	}
	/* One row cut short, alone: the cursor stops inside it, never past its end. */
	static const char row[] = "{\"s\":\"\\u00e9\\ud83d\\ude00\",\"v\":-12.5e+3,\"t\":true}";
	for (size_t k = 0; k < sizeof row - 1; k++) {
		const char *why;
		CHECKF(read_doc(row, k, DEPTH, &why) == JSON_SCAN_SYNTAX, "row prefix of %zu bytes", k);
	}
}

static void test_strings(void)
{
	string_is("\"\"", "", 0);
	string_is("\"plain ascii ~\x7f\"", "plain ascii ~\x7f", 14);
	string_is("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
	string_is("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6);
	string_is("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);
	string_is("\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4);  /* U+10FFFF */
	string_is("\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80", 4);  /* U+10000 */
	string_is("\"\xc2\x80\xdf\xbf\"", "\xc2\x80\xdf\xbf", 4);
	string_is("\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\"",
	          "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80", 9);
	string_is("\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8);

	/* bad escapes */
	refuse("\"\\x41\"", "invalid escape");
	refuse("\"\\U0041\"", "invalid escape");
	refuse("\"\\'\"", "invalid escape");
	refuse("\"\\a\"", "invalid escape");
	refuse("\"\\u12\"", "invalid \\u escape");
	refuse("\"\\u12G4\"", "invalid \\u escape");
	refuse("\"\\u-123\"", "invalid \\u escape");
	refuse("\"\\u", "invalid \\u escape");
	refuse("\"\\", "unterminated string");
	refuse("\"abc", "unterminated string");
	refuse("\"\\u0000\"", "\\u0000 in a string is not supported");
	/* lone surrogates */
	refuse("\"\\uD800\"", "lone UTF-16 surrogate");
	refuse("\"\\uDBFF\"", "lone UTF-16 surrogate");
	refuse("\"\\uDC00\"", "lone UTF-16 surrogate");
	refuse("\"\\uDFFF\\uD800\"", "lone UTF-16 surrogate");
	refuse("\"\\uD800\\u0041\"", "lone UTF-16 surrogate");
	refuse("\"\\uD800\\uD800\"", "lone UTF-16 surrogate");
	refuse("\"\\uD800x\"", "lone UTF-16 surrogate");
	refuse("\"\\uD800\\n\"", "lone UTF-16 surrogate");
	refuse("\"\\uD800\\uDC0", "lone UTF-16 surrogate");
	/* overlong forms, encoded surrogates, past U+10FFFF, stray and cut sequences */
	static const char *const bad_utf8[] = {
		"\"\xc0\x80\"", "\"\xc1\xbf\"", "\"\xe0\x80\x80\"", "\"\xe0\x9f\xbf\"",
		"\"\xf0\x80\x80\x80\"", "\"\xf0\x8f\xbf\xbf\"", "\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"",
		"\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xf8\x88\x80\x80\x80\"", "\"\xff\"",
		"\"\xfe\"", "\"\x80\"", "\"\xbf\"", "\"a\x80z\"", "\"\xe2\x82\"", "\"\xf0\x9f\x98\"",
		"\"\xc3\"", "\"\xc3", "\"\xe2\x28\xa1\"", "\"\xc3\x28\"",
	};
	for (size_t k = 0; k < sizeof bad_utf8 / sizeof bad_utf8[0]; k++)
		refuse(bad_utf8[k], "UTF-8");
	/* control characters, raw */
	refuse("\"a\tb\"", "control character");
	refuse("\"a\nb\"", "control character");
	refuse("\"\x1f\"", "control character");
	refuse_n("\"a\0b\"", 5, "control character");
}

static void test_numbers(void)
{
	CHECK(number_of("0") == 0 && !signbit(number_of("0")));
	CHECK(number_of("-0") == 0 && signbit(number_of("-0")));
	CHECK(number_of("-0.0e0") == 0 && signbit(number_of("-0.0e0")));
	CHECK(number_of("3696668") == 3696668);
	CHECK(number_of("1.5648764E7") == 15648764);
	CHECK(number_of("2086501.8666666667") == strtod("2086501.8666666667", NULL));
	CHECK(number_of("18446744073709551616") == 18446744073709551616.0);
	CHECK(number_of("1e-400") == 0);
	CHECK(number_of("4.9e-324") == strtod("4.9e-324", NULL));
	CHECK(number_of("1.7976931348623157e308") == strtod("1.7976931348623157e308", NULL));
	char digits[512] = "0.";
	memset(digits + 2, '1', 400);
	CHECK(number_of(digits) == strtod(digits, NULL));

	refuse("1e400", "number out of the range of a double");
	refuse("-1e999", "number out of the range of a double");
	refuse("1.8e308", "number out of the range of a double");
	char big[512];
	memset(big, '9', 400);
	big[400] = '\0';
	refuse(big, "number out of the range of a double");
	refuse("[1, 1e400]", "number out of the range of a double");

	static const char *const bad[] = {
		"01", "-01", "00", "1.", "1.e5", ".5", "-", "-a", "1e", "1e+", "1E-", "--1", "0x10",
		"1.5.5", "-.5",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		const char *why;
		CHECKF(read_doc(bad[k], strlen(bad[k]), DEPTH, &why) == JSON_SCAN_SYNTAX, "%s", bad[k]);
		CHECKF(!jansson_reads(bad[k], strlen(bad[k])), "Jansson reads %s", bad[k]);
	}
	refuse("+1", "expected a value");
	refuse("NaN", "expected a value");
	refuse("Infinity", "expected a value");
	refuse("-Infinity", "invalid number");
	refuse("nan", "invalid literal");
	refuse("inf", "expected a value");
	refuse("[1, NaN]", "expected a value");
}

static void test_literals_and_structure(void)
{
	accept("true");
	accept("false");
	accept("null");
	accept(" \t\r\n[ true , false , null ] \n");
	accept("{\"a\":1,\"a\":2}"); /* duplicate keys are the caller's business */
	accept("{\"\":{\"\":[]}}");
	refuse("tru", "invalid literal");
	refuse("nul", "invalid literal");
	refuse("True", "expected a value");
	refuse("NULL", "expected a value");
	refuse("falsey", "text after the value");
	refuse("{1:2}", "expected a key string");
	refuse("{'a':1}", "expected a key string");
	refuse("{\"a\" 1}", "expected ':'");
	refuse("{\"a\":}", "expected a value");
	refuse("[1 2]", "expected ',' or ']'");
	refuse("{\"a\":1 \"b\":2}", "expected ',' or '}'");
	refuse("[1,]", "expected a value");
	refuse("[,1]", "expected a value");
	refuse("{\"a\":1,}", "expected a key string");
	refuse("[1}", "expected ',' or ']'");
	refuse("{\"a\":1]", "expected ',' or '}'");
	refuse("[/* c */1]", "expected a value");
	refuse("\xef\xbb\xbf[1]", "expected a value"); /* a BOM */
	refuse("\f[1]", "expected a value");           /* not JSON whitespace */
	refuse("[1]\v", "text after the value");
	/* trailing junk */
	refuse("1 2", "text after the value");
	refuse("[] x", "text after the value");
	refuse("{}}", "text after the value");
	refuse("\"a\"\"b\"", "text after the value");
	refuse("[1]]", "text after the value");
	/* empty input */
	refuse("", "expected a value");
	refuse(" \n\t\r", "expected a value");
	/* NUL bytes anywhere */
	refuse_n("\0", 1, "expected a value");
	refuse_n("[1,\0 2]", 7, "expected a value");
	refuse_n("[1\0]", 4, "expected ',' or ']'");
	refuse_n("[1]\0", 4, "text after the value");
	refuse_n("{\"a\0\":1}", 8, "control character");
	refuse_n("tr\0e", 4, "invalid literal");
}

/* json_scan_depth_ok on an exact-size copy of text (len bytes) at cap max. */
static void depth_ok_is(const char *text, size_t len, size_t max, int want)
{
	char *p = copy(text, len);
	CHECKF(json_scan_depth_ok(p, len, max) == want, "json_scan_depth_ok(%.*s, max %zu) != %d",
	       (int)len, text, max, want);
	free(p);
}

/* depth_ok_is() on a C string, at cap max (want 1) and at max - 1 (want 0). */
static void depth_is(const char *text, size_t max)
{
	depth_ok_is(text, strlen(text), max, 1);
	if (max > 0)
		depth_ok_is(text, strlen(text), max - 1, 0);
}

static void test_depth(void)
{
	const char *why;
	char text[64];
	/* max_depth levels are allowed, one more is refused; objects count as arrays do */
	for (size_t d = 1; d <= 8; d++) {
		size_t n = 0;
		for (size_t k = 0; k < d; k++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s", k % 2 ? "[" : "{\"k\":");
		text[n++] = '0';
		for (size_t k = d; k-- > 0;)
			text[n++] = k % 2 ? ']' : '}';
		text[n] = '\0';
		CHECKF(read_doc(text, n, d, &why) == JSON_SCAN_OK, "%s at cap %zu", text, d);
		CHECKF(read_doc(text, n, d - 1, &why) == JSON_SCAN_DEPTH, "%s at cap %zu", text, d - 1);
		/* the depth pre-check agrees with the cursor on valid text */
		depth_ok_is(text, n, d, 1);
		depth_ok_is(text, n, d - 1, 0);
	}
	/* a million levels: refused at the cap, no recursion to run out of stack */
	size_t n = 1000000;
	char *deep = malloc(2 * n);
	CHECK(deep != NULL);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	CHECK(read_doc(deep, 2 * n, DEPTH, &why) == JSON_SCAN_DEPTH);
	CHECK(read_doc(deep, n, DEPTH, &why) == JSON_SCAN_DEPTH);
	CHECK(read_doc(deep, 2 * n, n, &why) == JSON_SCAN_OK); /* and read to the end when allowed */
	struct json_cuts cuts = {0};
	size_t at = 0;
	CHECK(json_scan_cut(deep, 2 * n, DEPTH, 10, &cuts, &at) == JSON_CUT_DEPTH && at == DEPTH);
	free(cuts.cut);
	memset(&cuts, 0, sizeof cuts);
	CHECK(json_scan_cut(deep, 2 * n, n, 10, &cuts, &at) == JSON_CUT_OK && cuts.n == 1);
	free(cuts.cut);
	free(deep);
	/* the parent's level counts: a value at level 2 may open one less */
	static const char two[] = "[[1]]";
	struct json_scan j;
	json_scan_init(&j, two, 0, 5, 2, 0);
	CHECK(json_scan_skip(&j, 0) == JSON_SCAN_OK && j.pos == 5);
	j.pos = 1;
	CHECK(json_scan_skip(&j, 1) == JSON_SCAN_OK && j.pos == 4);
	j.pos = 1;
	CHECK(json_scan_skip(&j, 2) == JSON_SCAN_DEPTH);
	json_scan_release(&j);
}

static void test_depth_ok(void)
{
	/* empty and scalar texts open no level */
	depth_ok_is("", 0, 0, 1);
	depth_ok_is("1", 1, 0, 1);
	depth_ok_is("\"a\"", 3, 0, 1);
	/* exactly max levels pass, max + 1 do not; objects count as arrays do; siblings add none */
	depth_is("[]", 1);
	depth_is("[[[1]]]", 3);
	depth_is("{\"a\":{\"b\":[1]}}", 3);
	depth_is("[[],[],{},[[]]]", 3);
	/* brackets inside strings do not count, nor do escaped quotes close the string */
	depth_is("[\"[[[[{{{{\"]", 1);
	depth_is("[\"\\\"[[[{\"]", 1);
	depth_is("{\"k\\\"\":\"\\u005b[\"}", 1);
	/* an even run of backslashes ends with the quote closing the string: the brackets count */
	depth_is("[\"\\\\\"[[]]]", 3);
	depth_is("[\"\\\\\\\"[[]]\"]", 1);
	/* a backslash at the very end takes nothing with it (ASan: no read past len) */
	depth_is("[\"\\", 1);
	depth_is("[\"", 1);
	/* text that ends inside a string: what follows the quote is not counted */
	depth_is("[\"[[[[", 1);
	/* unbalanced: unclosed levels count; closers with nothing open are ignored, not owed */
	depth_is("[[[", 3);
	depth_is("]]]]]][[", 2);
	depth_is("}]}][{", 2);
	depth_is("[]]]][[", 2);
	/* a mismatched closer closes a level all the same (syntax is the parser's business) */
	depth_is("[}[}[}", 1);
	depth_is("{]{[}", 2);
	/* NUL bytes are bytes like any other */
	depth_ok_is("[\0[", 3, 2, 1);
	depth_ok_is("[\0[", 3, 1, 0);
	depth_ok_is("\"\0\"[", 4, 0, 0);
	/* a million levels: no recursion, and the verdict exact at the edge */
	size_t n = 1000000;
	char *deep = malloc(2 * n);
	CHECK(deep != NULL);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	CHECK(json_scan_depth_ok(deep, 2 * n, n) == 1);
	CHECK(json_scan_depth_ok(deep, 2 * n, n - 1) == 0);
	CHECK(json_scan_depth_ok(deep, 2 * n, DEPTH) == 0);
	free(deep);
}

/* json_scan_cut on text: the outcome, and the cut positions when OK. */
static void cut_is(const char *text, size_t len, size_t max_elems, enum json_cut_res want,
                   size_t want_at, size_t n, const size_t *want_cut)
{
	char *p = copy(text, len);
	struct json_cuts cuts = {0};
	size_t at = SIZE_MAX;
	enum json_cut_res rc = json_scan_cut(p, len, DEPTH, max_elems, &cuts, &at);
	CHECKF(rc == want, "cut of %.*s: %d, not %d", (int)len, text, rc, want);
	if (rc == JSON_CUT_OK) {
		CHECKF(cuts.n == n, "cut of %.*s: %zu elements, not %zu", (int)len, text, cuts.n, n);
		for (size_t k = 0; k <= n; k++)
			CHECKF(cuts.cut[k] == want_cut[k], "cut of %.*s: cut[%zu] %zu, not %zu", (int)len,
			       text, k, cuts.cut[k], want_cut[k]);
	} else if (want_at != SIZE_MAX) {
		CHECKF(at == want_at, "cut of %.*s: at %zu, not %zu", (int)len, text, at, want_at);
	}
	free(cuts.cut);
	free(p);
}

static void cut(const char *text, size_t n, const size_t *want_cut)
{
	cut_is(text, strlen(text), 100, JSON_CUT_OK, SIZE_MAX, n, want_cut);
}

static void cut_fails(const char *text, enum json_cut_res want, size_t want_at)
{
	cut_is(text, strlen(text), 100, want, want_at, 0, NULL);
}

static void test_cut(void)
{
	cut("[]", 0, (const size_t[]){0});
	cut(" [ \n ] ", 0, (const size_t[]){1});
	cut("[1]", 1, (const size_t[]){0, 2});
	cut("[1,2]", 2, (const size_t[]){0, 2, 4});
	cut("[,]", 2, (const size_t[]){0, 1, 2});   /* empty elements: for the reader to refuse */
	cut("[1,]", 2, (const size_t[]){0, 2, 3});
	/* brackets, commas and quotes inside strings, escaped or not */
	cut("[\"],[\",{\"a,]\":\"}\\\"]\"},[[\"\\\\\"],2]]", 3,
	    (const size_t[]){0, 6, 21, 32});
	cut("[\"\\\\\\\\\",\"\\\\\\\"\"]", 2, (const size_t[]){0, 7, 14});
	/* nested commas are not cuts */
	cut("[[1,2],{\"a\":1,\"b\":[3,4]}]", 2, (const size_t[]){0, 6, 24});
	/* brackets are only counted: the element reader finds the mismatch */
	cut("[[1},2]", 2, (const size_t[]){0, 4, 6});

	cut_fails("", JSON_CUT_EMPTY, SIZE_MAX);
	cut_fails(" \t\r\n", JSON_CUT_EMPTY, SIZE_MAX);
	cut_fails("{\"a\":1}", JSON_CUT_NOT_ARRAY, 0);
	cut_fails("  5", JSON_CUT_NOT_ARRAY, 2);
	cut_fails("\xef\xbb\xbf[]", JSON_CUT_NOT_ARRAY, 0);
	cut_fails("[1] x", JSON_CUT_TRAILING, 4);
	cut_fails("[1]]", JSON_CUT_TRAILING, 3);
	cut_fails("[1,2", JSON_CUT_TRUNCATED, SIZE_MAX);
	cut_fails("[\"]", JSON_CUT_TRUNCATED, SIZE_MAX);
	cut_fails("[\"\\\"]", JSON_CUT_TRUNCATED, SIZE_MAX);
	cut_fails("[[[1]]", JSON_CUT_TRUNCATED, SIZE_MAX);
	cut_fails("[1 ", JSON_CUT_TRUNCATED, SIZE_MAX);
	cut_is("[1]\0", 4, 100, JSON_CUT_TRAILING, 3, 0, NULL);
	cut_is("\0[1]", 4, 100, JSON_CUT_NOT_ARRAY, 0, 0, NULL);
	cut_is("[1,\0]", 5, 100, JSON_CUT_OK, SIZE_MAX, 2, (const size_t[]){0, 2, 4});
	/* element cap: a ',' that would begin element max_elems + 1 */
	cut_is("[1,2]", 5, 2, JSON_CUT_OK, SIZE_MAX, 2, (const size_t[]){0, 2, 4});
	cut_is("[1,2,3]", 7, 2, JSON_CUT_TOO_MANY, 4, 0, NULL);
	cut_is("[1,2,]", 6, 2, JSON_CUT_TOO_MANY, 4, 0, NULL);
	cut_is("[[1,2,3]]", 9, 1, JSON_CUT_OK, SIZE_MAX, 1, (const size_t[]){0, 8});
	/* the truncated outcome says how many elements were begun */
	struct json_cuts cuts = {0};
	size_t at;
	CHECK(json_scan_cut("[1,2,{", 6, DEPTH, 10, &cuts, &at) == JSON_CUT_TRUNCATED && cuts.n == 3);
	free(cuts.cut);
}

/* The cursor's small steps, and reading several ranges of one text with one cursor. */
static void test_cursor(void)
{
	static const char text[] = "\"abc\" \"a\\nb\" \"ab\x7f\" \"x\xc3\xa9\" :  \"abc";
	struct json_scan j;
	size_t start, n;
	json_scan_init(&j, text, 0, sizeof text - 1, DEPTH, 0);
	CHECK(json_scan_plain_string(&j, &start, &n) && start == 1 && n == 3 && j.pos == 5);
	json_scan_space(&j);
	CHECK(j.pos == 6 && !json_scan_plain_string(&j, &start, &n) && j.pos == 6);
	CHECK(json_scan_string(&j) == JSON_SCAN_OK && strcmp(j.str, "a\nb") == 0 && j.pos == 12);
	json_scan_space(&j);
	CHECK(json_scan_plain_string(&j, &start, &n) && n == 3 && j.pos == 18);
	json_scan_space(&j);
	CHECK(!json_scan_plain_string(&j, &start, &n));
	CHECK(json_scan_string(&j) == JSON_SCAN_OK && strcmp(j.str, "x\xc3\xa9") == 0);
	CHECK(json_scan_colon(&j) == JSON_SCAN_OK && json_scan_peek(&j) == '"');
	CHECK(!json_scan_plain_string(&j, &start, &n)); /* unterminated */
	CHECK(json_scan_raw(&j, "\"abc", 4) && json_scan_peek(&j) == -1);
	CHECK(!json_scan_raw(&j, "x", 1));
	/* a range that ends inside a string: nothing read past it */
	j.pos = 0;
	j.end = 3;
	CHECK(!json_scan_plain_string(&j, &start, &n));
	CHECK(json_scan_string(&j) == JSON_SCAN_SYNTAX && strcmp(j.why, "unterminated string") == 0);
	CHECK(j.pos == 3);
	j.end = 5;
	j.pos = 0;
	CHECK(!json_scan_raw(&j, "\"abc\" ", 6) && json_scan_raw(&j, "\"abc\"", 5));
	json_scan_space(&j);
	CHECK(j.pos == 5 && json_scan_peek(&j) == -1);
	CHECK(json_scan_colon(&j) == JSON_SCAN_SYNTAX && strcmp(j.why, "expected ':'") == 0);
	json_scan_release(&j);
	json_scan_release(&j); /* twice is harmless */

	size_t line, col;
	json_scan_locate("ab\ncd\n\nx", 0, &line, &col);
	CHECK(line == 1 && col == 1);
	json_scan_locate("ab\ncd\n\nx", 2, &line, &col);
	CHECK(line == 1 && col == 3);
	json_scan_locate("ab\ncd\n\nx", 4, &line, &col);
	CHECK(line == 2 && col == 2);
	json_scan_locate("ab\ncd\n\nx", 7, &line, &col);
	CHECK(line == 4 && col == 1);
}

int main(void)
{
	test_truncation();
	test_strings();
	test_numbers();
	test_literals_and_structure();
	test_depth();
	test_depth_ok();
	test_cut();
	test_cursor();
	printf("json_scan: hostile inputs refused with their reasons, Jansson agreeing; cuts exact\n");
	return 0;
}
