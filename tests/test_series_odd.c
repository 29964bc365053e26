/*
 * series_odd: every odd or hostile input listed in docs/INPUT.md gets the
 * documented treatment: reordering (unsorted, descending), duplicates, nulls,
 * non-numbers, huge and negative numbers, missing keys, wrong shapes, empty
 * input, trailing garbage. Each row's values must stay with its own timestamp,
 * error messages must name the row (1-based) and be printable ASCII, and *out
 * must be NULL after any failure. Also what series_free frees: a series built
 * by hand, and a parsed one whose timestamp was replaced.
 */
#include <math.h>
#include <string.h>

#include "rb/input/series.h"
#include "testutil.h"

/* Parses text (NUL-terminated); on failure returns the code with err filled. */
static enum rb_code parse(const char *text, struct series **s, struct rb_err *err)
{
	memset(err, 0, sizeof *err);
	*s = (struct series *)err; /* must be overwritten */
	enum rb_code rc = series_parse(s, text, strlen(text), NULL, err);
	if (rc != RB_OK) {
		CHECKF(*s == NULL, "out not NULL after failure");
		CHECK(err->code == rc);
		for (const char *p = err->msg; *p != '\0'; p++)
			CHECKF(*p >= 0x20 && *p < 0x7f, "non-printable byte in message: %s", err->msg);
	} else {
		CHECK(*s != NULL);
	}
	return rc;
}

static struct series *ok(const char *text)
{
	struct series *s;
	struct rb_err err;
	enum rb_code rc = parse(text, &s, &err);
	CHECKF(rc == RB_OK, "refused: %s\n  input: %s", err.msg, text);
	return s;
}

/* Expects failure with code and a message containing each of the given pieces. */
static void bad(const char *text, enum rb_code code, const char *piece1, const char *piece2)
{
	struct series *s;
	struct rb_err err;
	enum rb_code rc = parse(text, &s, &err);
	CHECKF(rc == code, "got %d (%s), want %d\n  input: %s", rc, err.msg, code, text);
	CHECKF(strstr(err.msg, piece1) != NULL, "message \"%s\" lacks \"%s\"", err.msg, piece1);
	if (piece2 != NULL)
		CHECKF(strstr(err.msg, piece2) != NULL, "message \"%s\" lacks \"%s\"", err.msg,
		       piece2);
}

static double val(const struct series *s, size_t row, const char *name)
{
	long c = series_col(s, name);
	CHECKF(c >= 0, "no column %s", name);
	return series_value(s, row, (size_t)c);
}

static int has(const struct series *s, size_t row, const char *name)
{
	long c = series_col(s, name);
	CHECK(c >= 0);
	return s->present[row * s->ncols + (size_t)c];
}

static void order_cases(void)
{
	/* Unsorted: sorted ascending, each row keeps its own string and values. */
	struct series *s = ok("[{\"timestamp\":\"2023-09-21T09:02:00.000Z\",\"result\":{\"a\":2}},"
	                      " {\"timestamp\":\"2023-09-21T11:00:00+02:00\",\"result\":{\"a\":0}},"
	                      " {\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1}}]");
	CHECK(s->n == 3 && s->ncols == 1 && s->reordered == 1);
	CHECK(strcmp(s->timestamps[0], "2023-09-21T11:00:00+02:00") == 0);
	CHECK(strcmp(s->timestamps[1], "2023-09-21T09:01:00.000Z") == 0);
	CHECK(strcmp(s->timestamps[2], "2023-09-21T09:02:00.000Z") == 0);
	for (size_t i = 0; i < 3; i++) {
		CHECK(val(s, i, "a") == (double)i);
		CHECK(s->t[i] == 1695286800.0 + 60.0 * (double)i);
	}
	series_free(s);

	/* Druid "descending": true: reversed to ascending. */
	s = ok("[{\"timestamp\":\"2023-09-21T09:02:00.000Z\",\"result\":{\"a\":2,\"b\":20}},"
	       " {\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":1,\"b\":10}},"
	       " {\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"a\":0,\"b\":null}}]");
	CHECK(s->n == 3 && s->ncols == 2 && s->reordered == 1);
	CHECK(strcmp(s->timestamps[0], "2023-09-21T09:00:00.000Z") == 0);
	CHECK(strcmp(s->timestamps[2], "2023-09-21T09:02:00.000Z") == 0);
	CHECK(val(s, 0, "a") == 0 && isnan(val(s, 0, "b")) && !has(s, 0, "b"));
	CHECK(val(s, 1, "a") == 1 && val(s, 1, "b") == 10);
	CHECK(val(s, 2, "a") == 2 && val(s, 2, "b") == 20);
	CHECK(s->n_null == 1);
	series_free(s);

	/* Already ascending: untouched, reordered 0. */
	s = ok("[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":0}},"
	       " {\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":1}}]");
	CHECK(s->reordered == 0 && val(s, 0, "a") == 0 && val(s, 1, "a") == 1);
	series_free(s);

	/* Duplicates (ascending input): kept, in input order. */
	s = ok("[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":1}},"
	       " {\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":2}},"
	       " {\"timestamp\":\"2023-09-21T11:00:00+02:00\",\"result\":{\"a\":3}},"
	       " {\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":4}}]");
	CHECK(s->n == 4 && s->reordered == 0);
	CHECK(s->t[0] == s->t[1] && s->t[1] == s->t[2] && s->t[3] == s->t[0] + 60);
	for (size_t i = 0; i < 4; i++)
		CHECK(val(s, i, "a") == (double)(i + 1));
	CHECK(strcmp(s->timestamps[2], "2023-09-21T11:00:00+02:00") == 0);
	series_free(s);

	/* Duplicates in descending input: ascending, ties keep their input order. */
	s = ok("[{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":1}},"
	       " {\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":2}},"
	       " {\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"a\":3}}]");
	CHECK(s->reordered == 1);
	CHECK(val(s, 0, "a") == 2 && val(s, 1, "a") == 3 && val(s, 2, "a") == 1);
	CHECK(strcmp(s->timestamps[1], "2023-09-21T09:00:00.000Z") == 0);
	series_free(s);
}

/* 500 rows in a scrambled order, each value encoding its own minute: no row shifts. */
static void no_shift(void)
{
	enum { N = 500 };
	size_t cap = (size_t)N * 128 + 16, len = 0;
	char *text = malloc(cap);
	CHECK(text != NULL);
	text[len++] = '[';
	for (size_t k = 0; k < N; k++) {
		size_t m = (k * 317) % N; /* 317 is prime to 500: a permutation */
		int w = snprintf(text + len, cap - len,
		                 "%s{\"timestamp\":\"2023-09-%02zuT%02zu:%02zu:00Z\","
		                 "\"result\":{\"m\":%zu,\"odd\":%s}}",
		                 k ? "," : "", 1 + m / 1440, (m / 60) % 24, m % 60, m,
		                 m % 2 ? "1" : "null");
		CHECK(w > 0 && (size_t)w < cap - len);
		len += (size_t)w;
	}
	text[len++] = ']';
	text[len] = '\0';
	struct series *s = ok(text);
	free(text);
	CHECK(s->n == N && s->reordered == 1 && s->n_null == N / 2);
	for (size_t i = 0; i < N; i++) {
		CHECK(val(s, i, "m") == (double)i);
		CHECK(s->t[i] == 1693526400.0 + 60.0 * (double)i);
		CHECK(has(s, i, "odd") == (int)(i % 2));
		double t;
		CHECK(series_parse_instant(s->timestamps[i], &t) == 0 && t == s->t[i]);
	}
	series_free(s);
}

static void value_cases(void)
{
	struct series *s = ok(
		"[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{"
		"\"null\":null,\"str\":\"123\",\"nan\":\"NaN\",\"inf\":\"Infinity\",\"t\":true,"
		"\"f\":false,\"arr\":[1],\"obj\":{\"x\":1},\"neg\":-5.5,\"zero\":0,"
		"\"big\":18446744073709551616,\"p53\":9007199254740993,\"tiny\":1e-400,"
		"\"e\":1.5E3}}]");
	CHECK(s->n == 1 && s->ncols == 14);
	const char *missing[] = {"null", "str", "nan", "inf", "t", "f", "arr", "obj"};
	for (size_t k = 0; k < 8; k++) {
		CHECKF(!has(s, 0, missing[k]) && isnan(val(s, 0, missing[k])), "%s", missing[k]);
	}
	CHECK(s->n_null == 1 && s->n_nonnumeric == 7);
	CHECK(has(s, 0, "neg") && val(s, 0, "neg") == -5.5);
	CHECK(has(s, 0, "zero") && val(s, 0, "zero") == 0.0);
	CHECK(has(s, 0, "big") && val(s, 0, "big") == 18446744073709551616.0);
	CHECK(has(s, 0, "p53") && val(s, 0, "p53") == 9007199254740992.0);
	CHECK(has(s, 0, "tiny") && val(s, 0, "tiny") == 0.0);
	CHECK(has(s, 0, "e") && val(s, 0, "e") == 1500.0);
	/* Names in first-seen order. */
	CHECK(strcmp(s->names[0], "null") == 0 && strcmp(s->names[13], "e") == 0);
	series_free(s);

	/* Metrics appearing and vanishing across rows: union, first-seen order. */
	s = ok("[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"b\":1,\"a\":2}},"
	       " {\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"c\":3,\"a\":4}},"
	       " {\"timestamp\":\"2023-09-21T09:02:00Z\",\"result\":{}}]");
	CHECK(s->ncols == 3);
	CHECK(strcmp(s->names[0], "b") == 0 && strcmp(s->names[1], "a") == 0 &&
	      strcmp(s->names[2], "c") == 0);
	CHECK(series_col(s, "c") == 2 && series_col(s, "d") == -1 && series_col(s, "B") == -1);
	CHECK(val(s, 0, "b") == 1 && val(s, 0, "a") == 2 && !has(s, 0, "c"));
	CHECK(!has(s, 1, "b") && val(s, 1, "a") == 4 && val(s, 1, "c") == 3);
	CHECK(!has(s, 2, "a") && !has(s, 2, "b") && !has(s, 2, "c"));
	CHECK(s->n_null == 0 && s->n_nonnumeric == 0);
	series_free(s);

	/* No metric at all: accepted with ncols 0 (the detectors refuse it). */
	s = ok("[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{}}]");
	CHECK(s->n == 1 && s->ncols == 0 && series_col(s, "bytes") == -1);
	series_free(s);

	/* Extra keys in a row are ignored; unicode metric names kept as UTF-8. */
	s = ok("[{\"version\":\"v1\",\"timestamp\":\"2023-09-21T09:00:00Z\","
	       "\"result\":{\"d\\u00e9bit\":7}}]");
	CHECK(series_col(s, "d\xc3\xa9" "bit") == 0 && series_value(s, 0, 0) == 7);
	series_free(s);
}

static void shape_errors(void)
{
	const char *row2 = "row 2 (1-based)";
	bad("[]", RB_E_INPUT, "the series is empty", NULL);
	bad(" [ \n ] ", RB_E_INPUT, "the series is empty", NULL);
	bad("", RB_E_INPUT, "the series is empty", NULL);
	bad(" \n\t", RB_E_INPUT, "the series is empty", NULL);
	bad("{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{}}", RB_E_INPUT, "JSON array",
	    NULL);
	bad("42", RB_E_INPUT, "JSON array", NULL);
	bad("\"2023\"", RB_E_INPUT, "JSON array", NULL);
	bad("null", RB_E_INPUT, "JSON array", NULL);
	bad("\xef\xbb\xbf[]", RB_E_INPUT, "JSON array", NULL); /* a BOM is not JSON */

	const char *r1 = "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":1}},";
	char buf[512];
#define ROW2(tail) (snprintf(buf, sizeof buf, "%s%s", r1, tail), buf)
	bad(ROW2("{\"timestamp\":\"yesterday\",\"result\":{\"a\":1}}]"), RB_E_INPUT, row2,
	    "\"yesterday\" is not an ISO-8601 instant");
	bad(ROW2("{\"timestamp\":\"2023-02-29T00:00:00Z\",\"result\":{}}]"), RB_E_INPUT, row2,
	    "day out of range");
	bad(ROW2("{\"result\":{\"a\":1}}]"), RB_E_INPUT, row2, "no \"timestamp\"");
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\"}]"), RB_E_INPUT, row2, "no \"result\"");
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":5}]"), RB_E_INPUT, row2,
	    "\"result\" is not an object");
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":null}]"), RB_E_INPUT, row2,
	    "\"result\" is not an object");
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":[{\"a\":1}]}]"), RB_E_INPUT,
	    row2, "topN");
	bad(ROW2("{\"version\":\"v1\",\"timestamp\":\"2023-09-21T09:01:00Z\",\"event\":{}}]"),
	    RB_E_INPUT, row2, "groupBy");
	bad(ROW2("{\"timestamp\":1695286800000,\"result\":{}}]"), RB_E_INPUT, row2,
	    "not a string");
	bad(ROW2("[\"2023-09-21T09:01:00Z\",{}]]"), RB_E_INPUT, row2, "not an object");
	bad(ROW2("null]"), RB_E_INPUT, row2, "not an object");
	/* Duplicate metric in one row: ambiguous, refused by the JSON reader. */
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":1,\"a\":2}}]"),
	    RB_E_INPUT, row2, "metric \"a\" given twice");
	/* A number past the double range: the whole input is refused, naming the row. */
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":1e400}}]"),
	    RB_E_INPUT, row2, "out of the range of a double");
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":-1e400}}]"),
	    RB_E_INPUT, row2, "out of the range of a double");
	/* NaN / Infinity literals are not JSON. */
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":NaN}}]"), RB_E_INPUT,
	    row2, "invalid JSON");
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":Infinity}}]"),
	    RB_E_INPUT, row2, "invalid JSON");
	/* Truncated in row 2. */
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":1"), RB_E_INPUT,
	    "invalid JSON", NULL);
	/* Broken array structure. */
	bad(ROW2(",{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{}}]"), RB_E_INPUT, row2,
	    "no value before ','");
	bad(ROW2("]"), RB_E_INPUT, row2, "no value before ']'");
	bad("[,]", RB_E_INPUT, "row 1 (1-based)", "no value");
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{}} {}]"), RB_E_INPUT,
	    row2, "invalid JSON");
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\":[1}]}]"),
	    RB_E_INPUT, row2, "invalid JSON");
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01"), RB_E_INPUT,
	    "ends inside row 2 (1-based)", "truncated");
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"a\\"), RB_E_INPUT,
	    "ends inside row 2 (1-based)", NULL);
	bad("[", RB_E_INPUT, "ends inside row 1 (1-based)", NULL);
	/* Trailing garbage. */
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{}}] x"), RB_E_INPUT,
	    "after the end of the array", NULL);
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{}}][]"), RB_E_INPUT,
	    "after the end of the array", NULL);
	/* A control character and invalid UTF-8: refused, message stays ASCII. */
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00\\u0001Z\",\"result\":{}}]"), RB_E_INPUT,
	    row2, "\"2023-09-21T09:01:00?Z\"");
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00\xff\",\"result\":{}}]"), RB_E_INPUT,
	    "invalid JSON", NULL);
	bad(ROW2("{\"timestamp\":\"2023-09-21T09:01:00\\u0000Z\",\"result\":{}}]"), RB_E_INPUT,
	    "invalid JSON", NULL);
	/* A very long bad timestamp is cut in the message. */
	bad(ROW2("{\"timestamp\":\"1234567890123456789012345678901234567890123456789012345\","
	         "\"result\":{}}]"),
	    RB_E_INPUT, row2, "...\"");
#undef ROW2

	/* A byte buffer that is not NUL-terminated: only len bytes are read. */
	const char text[] = "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":1}}]GARBAGE";
	struct series *s;
	struct rb_err err = {0};
	CHECK(series_parse(&s, text, sizeof text - 1 - 7, NULL, &err) == RB_OK);
	CHECK(s->n == 1 && series_value(s, 0, 0) == 1);
	series_free(s);
	/* A NUL byte inside the text. */
	const char nul[] = "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\0\"result\":{}}]";
	CHECK(series_parse(&s, nul, sizeof nul - 1, NULL, &err) == RB_E_INPUT && s == NULL);
	/* NULL text. */
	CHECK(series_parse(&s, NULL, 0, NULL, &err) == RB_E_INPUT && s == NULL);
	/* NULL err is allowed. */
	CHECK(series_parse(&s, "[]", 2, NULL, NULL) == RB_E_INPUT && s == NULL);
}

static void alloc_by_hand(void)
{
	struct series *s;
	struct rb_err err = {0};
	CHECK(series_alloc(&s, 3, 2, &err) == RB_OK);
	CHECK(s->n == 3 && s->ncols == 2 && s->timestamps[2] == NULL && s->names[1] == NULL);
	for (size_t i = 0; i < 6; i++)
		CHECK(isnan(s->values[i]) && s->present[i] == 0);
	CHECK(series_col(s, "x") == -1); /* NULL names are skipped */
	s->names[1] = malloc(2);
	CHECK(s->names[1] != NULL);
	memcpy(s->names[1], "x", 2);
	CHECK(series_col(s, "x") == 1);
	series_free(s); /* frees names[1], skips the NULLs */
	CHECK(series_alloc(&s, (size_t)-1, 16, &err) == RB_E_TOO_LARGE && s == NULL);
}

/*
 * A parsed series keeps its timestamps in one block (text); one replaced by
 * a string of one's own is freed by series_free, the block once (a leak or a
 * double free under ASan otherwise).
 */
static void replace_timestamp(void)
{
	const char *body = "[{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"a\":1}},"
	                   "{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{\"a\":2}}]";
	struct series *s;
	struct rb_err err;
	CHECK(series_parse(&s, body, strlen(body), NULL, &err) == RB_OK);
	CHECK(s->text != NULL && s->text_len == 2 * 25);
	CHECK(s->timestamps[1] == s->text + 25 &&
	      strcmp(s->timestamps[1], "2023-09-21T09:01:00.000Z") == 0);
	s->timestamps[0] = strdup("mine"); /* the old one lives in text: not freed by hand */
	CHECK(s->timestamps[0] != NULL);
	series_free(s);
}

int main(void)
{
	order_cases();
	no_shift();
	value_cases();
	shape_errors();
	alloc_by_hand();
	replace_timestamp();
	printf("series_odd: all cases behave as docs/INPUT.md says\n");
	return 0;
}
