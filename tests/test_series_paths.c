/*
 * series paths: series_parse() (one quick pass, exact fast numbers) gives
 * exactly what the careful path gives (series_parse_with PRESCAN: rows cut by
 * a separate scan first; NUMBERS_STRTOD: every number through strtod), which
 * is the reader as it was before those speed-ups: the same code, the same
 * message when it fails, the same series bit for bit when it does not.
 * Inputs: the series fuzz seeds, generated Druid bodies (key orders that
 * change, nulls, strings, nested values, descending and shuffled rows,
 * escaped keys, pretty-printed), every truncation and many one-byte edits of
 * small bodies, each under default and under tight caps.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/input/series.h"
#include "testutil.h"

static size_t compared, failures_compared;

static void same_paths(const char *text, size_t len, const struct series_limits *lim)
{
	struct series *a = NULL, *b = NULL;
	struct rb_err ea = {0}, eb = {0};
	enum rb_code ra = series_parse(&a, text, len, lim, &ea);
	enum rb_code rb = series_parse_with(&b, text, len, lim,
	                                    SERIES_OPT_PRESCAN | SERIES_OPT_NUMBERS_STRTOD, &eb);
	CHECKF(ra == rb, "codes %d and %d on '%.*s' (%s)", ra, rb, (int)(len < 200 ? len : 200),
	       text, eb.msg);
	compared++;
	if (ra != RB_OK) {
		CHECK(a == NULL && b == NULL);
		CHECKF(ea.code == eb.code && strcmp(ea.msg, eb.msg) == 0, "'%s' and '%s' on '%.*s'",
		       ea.msg, eb.msg, (int)(len < 200 ? len : 200), text);
		failures_compared++;
		return;
	}
	CHECK(a->n == b->n && a->ncols == b->ncols && a->n_null == b->n_null &&
	      a->n_nonnumeric == b->n_nonnumeric && a->reordered == b->reordered);
	for (size_t c = 0; c < a->ncols; c++)
		CHECK(strcmp(a->names[c], b->names[c]) == 0);
	for (size_t i = 0; i < a->n; i++) {
		CHECK(strcmp(a->timestamps[i], b->timestamps[i]) == 0);
		CHECK(memcmp(&a->t[i], &b->t[i], sizeof(double)) == 0);
	}
	CHECK(memcmp(a->values, b->values, a->n * a->ncols * sizeof(double)) == 0);
	CHECK(memcmp(a->present, b->present, a->n * a->ncols) == 0);
	series_free(a);
	series_free(b);
}

static const struct series_limits TIGHT[] = {
	{0},
	{.max_rows = 3, .max_depth = 3, .max_cols = 3, .max_cells = 8},
	{.max_rows = 2, .max_depth = 4, .max_cols = 2, .max_cells = 4, .max_bytes = 300},
	{.max_depth = 2},
};

static void all_limits(const char *text, size_t len)
{
	for (size_t k = 0; k < sizeof TIGHT / sizeof TIGHT[0]; k++)
		same_paths(text, len, &TIGHT[k]);
}

/* A Druid-like body of n rows into buf (size cap); returns its length. */
static size_t make_body(char *buf, size_t cap, size_t n, struct tu_rng *rng)
{
	static const char *const keys[] = {"bytes", "pkts", "clients", "bps", "a\\u0062c", "x"};
	static const char *const odd[] = {"null", "\"12\"", "true", "[1,{\"k\":2}]", "{\"a\":[]}",
	                                  "-0", "1e-400", "123456789012345678901234567890",
	                                  "0.1000000000000000055511151231257827"};
	size_t o = 0;
	int pretty = tu_rng_next(rng) % 4 == 0;
	int order = (int)(tu_rng_next(rng) % 3); /* 0 ascending, 1 descending, 2 shuffled */
	o += (size_t)snprintf(buf + o, cap - o, "%s[", pretty ? " \n" : "");
	for (size_t i = 0; i < n && o + 400 < cap; i++) {
		size_t minute = order == 0 ? i : order == 1 ? n - i : tu_rng_next(rng) % (n + 1);
		o += (size_t)snprintf(buf + o, cap - o,
		                      "%s{%s\"timestamp\"%s:\"2023-09-21T%02zu:%02zu:00.000Z\",%s"
		                      "\"result\":{",
		                      i > 0 ? "," : "", pretty ? "\n  " : "", pretty ? " " : "",
		                      9 + minute / 60 % 10, minute % 60, pretty ? " " : "");
		size_t nk = 1 + tu_rng_next(rng) % 5;
		/* order mostly stable */
		size_t k0 = tu_rng_next(rng) % 3 == 0 ? tu_rng_next(rng) % 6 : 0;
		for (size_t k = 0; k < nk; k++) {
			uint64_t r = tu_rng_next(rng);
			const char *key = keys[(k0 + k) % 6];
			o += (size_t)snprintf(buf + o, cap - o, "%s\"%s\":", k > 0 ? "," : "", key);
			if (r % 7 == 0) {
				o += (size_t)snprintf(buf + o, cap - o, "%s", odd[(r >> 8) % 9]);
			} else if (r % 7 == 1) {
				o += (size_t)snprintf(buf + o, cap - o, "%llu",
				                      (unsigned long long)(r >> 20));
			} else {
				double x = (double)(r >> 11) / (double)(1 + (r >> 50));
				o += (size_t)snprintf(buf + o, cap - o, (r >> 9) % 2 ? "%.17g" : "%.15g", x);
			}
		}
		o += (size_t)snprintf(buf + o, cap - o, "}%s}",
		                      tu_rng_next(rng) % 9 == 0 ? ",\"v\":1" : "");
	}
	o += (size_t)snprintf(buf + o, cap - o, "]%s", pretty ? "\n" : "");
	return o;
}

static void seeds(void)
{
	const char *dir = tu_source("tests/fuzz/corpus/series");
	DIR *d = opendir(dir);
	CHECKF(d != NULL, "%s", dir);
	char path[4096];
	struct dirent *e;
	size_t files = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t len;
		char *text = tu_read_file(path, &len);
		all_limits(text, len);
		free(text);
		files++;
	}
	closedir(d);
	CHECK(files >= 10);
}

/* Texts that end inside the array, with no bracket or comma after the last one. */
static void truncated(void)
{
	static const char *const texts[] = {
		"[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":1}}\xdd",
		"[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":1}} x",
		"[{\"timestamp\":\"2023-09-21T09:00:00Z\",\"result\":{\"a\":12",
		"[1",
	};
	for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
		struct series *s = NULL;
		struct rb_err err = {0};
		CHECK(series_parse(&s, texts[k], strlen(texts[k]), NULL, &err) == RB_E_INPUT);
		CHECKF(strcmp(err.msg, "invalid JSON: the text ends inside row 1 (1-based); "
		                       "truncated?") == 0, "'%s': %s", texts[k], err.msg);
		all_limits(texts[k], strlen(texts[k]));
	}
}

int main(void)
{
	truncated();
	seeds();
	struct tu_rng rng = {42};
	static char body[1 << 16], edit[1 << 16];
	for (int k = 0; k < 300; k++) {
		size_t len = make_body(body, sizeof body, 1 + tu_rng_next(&rng) % 40, &rng);
		all_limits(body, len);
	}
	/* Every truncation and one-byte edits of small bodies. */
	static const char bytes[] = {',', ']', '}', '[', '{', '"', '\\', ' ', ':', 'x', '0', '-',
	                             '.', 'e', '\0', (char)0xC3};
	for (int k = 0; k < 12; k++) {
		size_t len = make_body(body, sizeof body, 1 + tu_rng_next(&rng) % 4, &rng);
		for (size_t cut = 0; cut <= len; cut++)
			all_limits(body, cut);
		for (size_t at = 0; at < len; at++) {
			memcpy(edit, body, len);
			edit[at] = bytes[tu_rng_next(&rng) % sizeof bytes];
			all_limits(edit, len);
			memcpy(edit, body, at);
			memcpy(edit + at + 1, body + at, len - at);
			edit[at] = bytes[tu_rng_next(&rng) % sizeof bytes];
			all_limits(edit, len + 1);
		}
	}
	CHECK(compared > 10000 && failures_compared > 1000 && compared - failures_compared > 1000);
	printf("compared %zu parses, %zu of them failures\n", compared, failures_compared);
	return 0;
}
