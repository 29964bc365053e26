/*
 * series_caps: each cap of struct series_limits (bytes, rows, depth, distinct
 * names, cells) accepts input exactly at the cap and refuses one past it with
 * RB_E_TOO_LARGE, before any tree is built for bytes/rows/depth; zero fields
 * mean the documented defaults; nesting far past Jansson's own limit is
 * refused without recursion.
 */
#include <string.h>

#include "rb/input/series.h"
#include "testutil.h"

static enum rb_code try(const char *text, size_t len, const struct series_limits *lim,
                        struct rb_err *err)
{
	struct series *s = NULL;
	memset(err, 0, sizeof *err);
	enum rb_code rc = series_parse(&s, text, len, lim, err);
	CHECK((rc == RB_OK) == (s != NULL));
	series_free(s);
	return rc;
}

/* n rows, one metric each, minute i; malloc'd, caller frees. */
static char *rows(size_t n, size_t *len)
{
	size_t cap = n * 80 + 8, l = 0;
	char *t = malloc(cap);
	CHECK(t != NULL);
	t[l++] = '[';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(t + l, cap - l,
		                 "%s{\"timestamp\":\"2023-09-21T%02zu:%02zu:00Z\",\"result\":{\"a\":%zu}}",
		                 i ? "," : "", (i / 60) % 24, i % 60, i);
		CHECK(w > 0 && (size_t)w < cap - l);
		l += (size_t)w;
	}
	t[l++] = ']';
	t[l] = '\0';
	*len = l;
	return t;
}

static void bytes_and_rows(void)
{
	struct rb_err err;
	size_t len;
	char *t = rows(10, &len);
	struct series_limits lim = {.max_bytes = len};
	CHECK(try(t, len, &lim, &err) == RB_OK);
	lim.max_bytes = len - 1;
	CHECK(try(t, len, &lim, &err) == RB_E_TOO_LARGE);
	CHECKF(strstr(err.msg, "byte limit") != NULL, "%s", err.msg);

	lim = (struct series_limits){.max_rows = 10};
	CHECK(try(t, len, &lim, &err) == RB_OK);
	lim.max_rows = 9;
	CHECK(try(t, len, &lim, &err) == RB_E_TOO_LARGE);
	CHECKF(strstr(err.msg, "more than 9 rows") != NULL, "%s", err.msg);
	free(t);

	/* Commas inside strings and nested values do not count as rows. */
	const char *one = "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":"
	                  "{\"a,b,c\":1,\"x\":[1,2,3],\"y\":{\"p\":1,\"q\":2}}}]";
	lim = (struct series_limits){.max_rows = 1};
	CHECK(try(one, strlen(one), &lim, &err) == RB_OK);
}

static void depth(void)
{
	struct rb_err err;
	/* A timeseries result is 3 deep: array, row, result. */
	const char *flat = "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":1}}]";
	const char *deeper = "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":[1]}}]";
	const char *instr = "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":"
	                    "{\"[[[[{{{{\\\"[[[[\":1}}]";
	struct series_limits lim = {.max_depth = 3};
	CHECK(try(flat, strlen(flat), &lim, &err) == RB_OK);
	CHECK(try(instr, strlen(instr), &lim, &err) == RB_OK); /* brackets in strings */
	CHECK(try(deeper, strlen(deeper), &lim, &err) == RB_E_TOO_LARGE);
	CHECKF(strstr(err.msg, "deeper than 3 levels") != NULL, "%s", err.msg);
	lim.max_depth = 4;
	CHECK(try(deeper, strlen(deeper), &lim, &err) == RB_OK);

	/* 100,000 open brackets: refused by the scan, default limits. */
	size_t n = 100000;
	char *deep = malloc(n);
	CHECK(deep != NULL);
	memset(deep, '[', n);
	CHECK(try(deep, n, NULL, &err) == RB_E_TOO_LARGE);
	CHECKF(strstr(err.msg, "deeper than 32 levels") != NULL, "%s", err.msg);
	/* Exactly the default depth of 32 is not a depth error (it is a shape error). */
	memset(deep, ']', 64);
	memset(deep, '[', 32);
	CHECK(try(deep, 64, NULL, &err) == RB_E_INPUT);
	memset(deep, '{', 33);
	deep[0] = '[';
	CHECK(try(deep, 33, NULL, &err) == RB_E_TOO_LARGE);
	free(deep);
}

static void names_and_cells(void)
{
	struct rb_err err;
	char buf[4096];
	/* 257 names in one row: over the default of 256, message names the row. */
	size_t l = (size_t)snprintf(buf, sizeof buf,
	                            "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{}},"
	                            "{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{");
	for (int c = 0; c < 257; c++)
		l += (size_t)snprintf(buf + l, sizeof buf - l, "%s\"m%d\":%d", c ? "," : "", c, c);
	l += (size_t)snprintf(buf + l, sizeof buf - l, "}}]");
	CHECK(l < sizeof buf - 1);
	CHECK(try(buf, l, NULL, &err) == RB_E_TOO_LARGE);
	CHECKF(strstr(err.msg, "row 2 (1-based): more than 256 distinct") != NULL, "%s", err.msg);
	struct series_limits lim = {.max_cols = 257};
	CHECK(try(buf, l, &lim, &err) == RB_OK);

	/* Distinct names spread over rows count once each. */
	const char *spread = "[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":1,\"b\":2}},"
	                     "{\"timestamp\":\"2023-09-21T09:01:00Z\",\"result\":{\"b\":1,\"a\":2}},"
	                     "{\"timestamp\":\"2023-09-21T09:02:00Z\",\"result\":{\"c\":1}}]";
	lim = (struct series_limits){.max_cols = 3};
	CHECK(try(spread, strlen(spread), &lim, &err) == RB_OK);
	lim.max_cols = 2;
	CHECK(try(spread, strlen(spread), &lim, &err) == RB_E_TOO_LARGE);
	CHECKF(strstr(err.msg, "row 3 (1-based)") != NULL, "%s", err.msg);

	/* Cells: 3 rows x 3 names = 9. */
	lim = (struct series_limits){.max_cells = 9};
	CHECK(try(spread, strlen(spread), &lim, &err) == RB_OK);
	lim.max_cells = 8;
	CHECK(try(spread, strlen(spread), &lim, &err) == RB_E_TOO_LARGE);
	CHECKF(strstr(err.msg, "3 rows x 3 metrics") != NULL, "%s", err.msg);
}

static void timestamp_length(void)
{
	struct rb_err err;
	char buf[256];
	char ts[80];
	memset(ts, '0', sizeof ts);
	memcpy(ts, "2023-09-21T09:00:00.", 20);
	ts[SERIES_INSTANT_MAX - 1] = 'Z';
	ts[SERIES_INSTANT_MAX] = '\0';
	int l = snprintf(buf, sizeof buf, "[{\"timestamp\":\"%s\",\"result\":{}}]", ts);
	CHECK(try(buf, (size_t)l, NULL, &err) == RB_OK);
	ts[SERIES_INSTANT_MAX - 1] = '0';
	ts[SERIES_INSTANT_MAX] = 'Z';
	ts[SERIES_INSTANT_MAX + 1] = '\0';
	l = snprintf(buf, sizeof buf, "[{\"timestamp\":\"%s\",\"result\":{}}]", ts);
	CHECK(try(buf, (size_t)l, NULL, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "row 1 (1-based): timestamp is longer than 64") != NULL, "%s",
	       err.msg);
}

int main(void)
{
	bytes_and_rows();
	depth();
	names_and_cells();
	timestamp_length();
	printf("series_caps: every cap holds at its limit and refuses one past it\n");
	return 0;
}
