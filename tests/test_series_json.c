/*
 * series_json: the strict JSON reader inside series_parse() accepts exactly
 * RFC 8259 JSON. Each fragment is put inside a row's "result" object (or in
 * place of a row) and must be accepted or refused; Jansson, an independent
 * parser, is asked the same question about the same text and must agree, so
 * the expectations below are not only ours. Accepted fragments are also
 * checked for the decoded names and values.
 */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "rb/input/series.h"
#include "testutil.h"

static char doc[8192];

static const char *in_result(const char *fragment)
{
	int n = snprintf(doc, sizeof doc,
	                 "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{%s}}]", fragment);
	CHECK(n > 0 && (size_t)n < sizeof doc);
	return doc;
}

static int jansson_reads(const char *text)
{
	json_error_t je;
	json_t *j = json_loadb(text, strlen(text), JSON_DECODE_INT_AS_REAL, &je); /* new */
	json_decref(j);
	return j != NULL;
}

static struct series *accept(const char *text)
{
	CHECKF(jansson_reads(text), "Jansson refuses the test input: %s", text);
	struct series *s;
	struct rb_err err = {0};
	enum rb_code rc = series_parse(&s, text, strlen(text), NULL, &err);
	CHECKF(rc == RB_OK, "refused (%s): %s", err.msg, text);
	return s;
}

static void refuse(const char *text, const char *piece)
{
	CHECKF(!jansson_reads(text), "Jansson accepts the test input: %s", text);
	struct series *s;
	struct rb_err err = {0};
	enum rb_code rc = series_parse(&s, text, strlen(text), NULL, &err);
	CHECKF(rc == RB_E_INPUT && s == NULL, "accepted or wrong code %d: %s", rc, text);
	CHECKF(strstr(err.msg, piece) != NULL, "message \"%s\" lacks \"%s\" (input %s)", err.msg,
	       piece, text);
}

static double one(const struct series *s, const char *name)
{
	long c = series_col(s, name);
	CHECKF(c >= 0, "no column \"%s\"", name);
	return series_value(s, 0, (size_t)c);
}

static void accepted(void)
{
	/* Escapes and UTF-8 in names: decoded. */
	struct series *s = accept(in_result(
		"\"a\\\"b\":1,\"back\\\\slash\":2,\"sl\\/ash\":3,\"ctl\\b\\f\\n\\r\\t\":4,"
		"\"\\u00e9t\\u00C9\":5,\"\\ud83d\\ude00\":6,\"raw \xc3\xa9 \xf0\x9f\x98\x80\":7"));
	CHECK(s->ncols == 7);
	CHECK(one(s, "a\"b") == 1 && one(s, "back\\slash") == 2 && one(s, "sl/ash") == 3);
	CHECK(one(s, "ctl\b\f\n\r\t") == 4);
	CHECK(one(s, "\xc3\xa9t\xc3\x89") == 5);
	CHECK(one(s, "\xf0\x9f\x98\x80") == 6);
	CHECK(one(s, "raw \xc3\xa9 \xf0\x9f\x98\x80") == 7);
	series_free(s);

	/* Numbers: the whole grammar, and a literal longer than the 128-byte stack copy. */
	char longnum[400] = "\"long\":0.";
	size_t l = strlen(longnum);
	memset(longnum + l, '5', 300);
	longnum[l + 300] = '\0';
	char frag[1024];
	snprintf(frag, sizeof frag,
	         "\"z\":0,\"nz\":-0,\"i\":42,\"n\":-17,\"f\":1.25,\"e1\":1e2,\"e2\":1E+2,"
	         "\"e3\":-25e-1,\"e4\":0.5E-0,\"big\":123456789012345678901234567890,%s",
	         longnum);
	s = accept(in_result(frag));
	CHECK(one(s, "z") == 0 && one(s, "nz") == 0 && signbit(one(s, "nz")));
	CHECK(one(s, "i") == 42 && one(s, "n") == -17 && one(s, "f") == 1.25);
	CHECK(one(s, "e1") == 100 && one(s, "e2") == 100 && one(s, "e3") == -2.5);
	CHECK(one(s, "e4") == 0.5 && one(s, "big") == 123456789012345678901234567890.0);
	CHECK(fabs(one(s, "long") - 5.0 / 9.0) < 1e-15);
	series_free(s);

	/* Whitespace everywhere; keys in any order; nested and odd values skipped. */
	s = accept(" \r\n\t[ \n { \"result\" : { \"x\" : { \"a\" : [ 1 , { \"b\" : [ ] } , \"s\" ,"
	           " true , false , null ] } , \"y\" : [ ] , \"z\" : { } , \"w\" : -1 } ,\t"
	           "\"version\" : \"v1\" , \"meta\" : { \"a\" : [ 1, 2, { \"b\" : null } ] } ,"
	           " \"timestamp\" : \"\\u0032023-09-21T09:00:00Z\" } \n ] \r\n");
	CHECK(s->n == 1 && s->ncols == 4 && s->n_nonnumeric == 3 && s->n_null == 0);
	CHECK(one(s, "w") == -1);
	/* The timestamp is kept as decoded by JSON. */
	CHECK(strcmp(s->timestamps[0], "2023-09-21T09:00:00Z") == 0);
	series_free(s);
}

static void refused(void)
{
	const char *row1 = "row 1 (1-based)";
	/* Numbers. */
	const char *numbers[] = {"01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "1E-", "0x10",
	                         "1.5.5", "NaN", "Infinity", "-Infinity", "1_000", "--1", "1e5e"};
	for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++) {
		char f[64];
		snprintf(f, sizeof f, "\"a\":%s", numbers[k]);
		refuse(in_result(f), row1);
	}
	refuse(in_result("\"a\":1e400"), "out of the range of a double");
	refuse(in_result("\"a\":-123e999"), "out of the range of a double");
	/* Literals. */
	const char *literals[] = {"nul", "tru", "fals", "True", "NULL", "nulll", "undefined"};
	for (size_t k = 0; k < sizeof literals / sizeof literals[0]; k++) {
		char f[64];
		snprintf(f, sizeof f, "\"a\":%s", literals[k]);
		refuse(in_result(f), row1);
	}
	/* Strings: escapes, control characters, UTF-8. */
	const char *strings[] = {
		"\"a\\x\":1",           /* invalid escape */
		"\"a\\u12\":1",         /* short \u */
		"\"a\\u12G4\":1",
		"\"a\\udc00\":1",       /* lone low surrogate */
		"\"a\\ud800\":1",       /* lone high surrogate */
		"\"a\\ud800\\u0041\":1",
		"\"a\\ud800\\ud800\":1",
		"\"a\\u0000\":1",       /* NUL: names are C strings */
		"\"a\x01\":1",          /* raw control characters */
		"\"a\tb\":1",
		"\"a\nb\":1",
		"\"\xc0\x80\":1",       /* overlong */
		"\"\xe0\x80\xaf\":1",
		"\"\xed\xa0\x80\":1",   /* UTF-8-encoded surrogate */
		"\"\xf4\x90\x80\x80\":1", /* past U+10FFFF */
		"\"\xe2\x82\":1",       /* truncated sequence */
		"\"\x80\":1",           /* lone continuation byte */
		"\"\xff\":1",
		"\"\xf8\x88\x80\x80\x80\":1",
	};
	for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++)
		refuse(in_result(strings[k]), row1);
	/* Structure inside a row. */
	const char *structure[] = {
		"\"a\" 1",       /* no colon */
		"\"a\":1 \"b\":2", /* no comma */
		"\"a\":1,",      /* trailing comma */
		"1:2",           /* key not a string */
		"'a':1",         /* single quotes */
		"\"a\":",        /* no value */
		"\"a\":[1,]",
		"\"a\":[1 2]",
		"\"a\":{\"b\"}",
		"\"a\":{\"b\":1,}",
		"\"a\":/*c*/1",  /* comments */
		"\"a\":[}",
		"\"a\":{]",
	};
	for (size_t k = 0; k < sizeof structure / sizeof structure[0]; k++)
		refuse(in_result(structure[k]), row1);
	/* Row level. */
	refuse("[{\"timestamp\":\"2023-09-21T09:00:00Z\" \"result\":{}}]", row1);
	refuse("[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{},}]", row1);
	refuse("[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{}}}]", row1);
	refuse("[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{}} x]", row1);
	refuse("[{timestamp:\"2023-09-21T09:00:00Z\",\"result\":{}}]", row1);
	refuse("[\"a\" \"b\"]", row1);
}

static void duplicate_keys(void)
{
	/* Valid JSON, but ambiguous: refused (a duplicate metric or row key). */
	struct series *s;
	struct rb_err err = {0};
	const char *dup_ts = "[{\"timestamp\":\"2023-09-21T09:00:00Z\","
	                     "\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{}}]";
	CHECK(series_parse(&s, dup_ts, strlen(dup_ts), NULL, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "row 1 (1-based): \"timestamp\" given twice") != NULL, "%s", err.msg);
	const char *dup_res = "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{},\"result\":{}}]";
	CHECK(series_parse(&s, dup_res, strlen(dup_res), NULL, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "\"result\" given twice") != NULL, "%s", err.msg);
	/* The same name again in the next row is of course fine. */
	s = accept("[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":1}},"
	           "{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":2}}]");
	CHECK(series_value(s, 1, 0) == 2);
	series_free(s);
}

int main(void)
{
	accepted();
	refused();
	duplicate_keys();
	printf("series_json: reader agrees with Jansson on every case\n");
	return 0;
}
