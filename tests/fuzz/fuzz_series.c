/*
 * fuzz_series: arbitrary bytes into series_parse() under small caps (so that
 * the cap paths are reached often), checked two ways:
 *  - invariants of a parsed series: counts within the caps, t[] ascending and
 *    equal to the instant of each kept timestamp string, present[] exactly
 *    where the value is finite, names found by series_col();
 *  - differentially against Jansson (an independent JSON parser): text that
 *    Jansson refuses must be refused; an accepted series must hold, row by
 *    row in stable time order, exactly the timestamps and numbers Jansson
 *    reads; a well-formed timeseries that Jansson reads and that is within
 *    the caps must be accepted.
 * A violated check aborts (a crash for libFuzzer). Messages are not compared.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rb/input/series.h"

#define REQUIRE(c)                     \
	do {                           \
		if (!(c))              \
			abort();       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ref {
	double t;
	size_t i;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* 1 when Jansson's tree is a timeseries the parser must accept (caps aside). */
static int well_formed(json_t *root, struct ref *refs)
{
	if (!json_is_array(root) || json_array_size(root) == 0)
		return 0;
	for (size_t i = 0; i < json_array_size(root); i++) {
		json_t *row = json_array_get(root, i);           /* borrowed */
		json_t *ts = json_object_get(row, "timestamp");  /* borrowed */
		json_t *res = json_object_get(row, "result");    /* borrowed */
		if (!json_is_string(ts) || !json_is_object(res))
			return 0;
		if (series_parse_instant(json_string_value(ts), &refs[i].t) != 0)
			return 0;
		refs[i].i = i;
	}
	return 1;
}

/* The parsed series equals Jansson's reading of the same text. */
static void same_as_jansson(const struct series *s, json_t *root)
{
	size_t n = json_array_size(root);
	REQUIRE(n == s->n);
	struct ref *refs = malloc(n * sizeof *refs);
	REQUIRE(refs != NULL);
	REQUIRE(well_formed(root, refs));
	qsort(refs, n, sizeof *refs, ref_cmp);
	size_t metrics = 0;
	for (size_t r = 0; r < n; r++) {
		json_t *row = json_array_get(root, refs[r].i);   /* borrowed */
		json_t *res = json_object_get(row, "result");    /* borrowed */
		REQUIRE(strcmp(json_string_value(json_object_get(row, "timestamp")),
		               s->timestamps[r]) == 0);
		REQUIRE(s->t[r] == refs[r].t);
		metrics += json_object_size(res);
		for (size_t c = 0; c < s->ncols; c++) {
			json_t *v = json_object_get(res, s->names[c]); /* borrowed */
			if (json_is_number(v)) {
				REQUIRE(s->present[r * s->ncols + c]);
				REQUIRE(series_value(s, r, c) == json_number_value(v));
			} else {
				REQUIRE(!s->present[r * s->ncols + c]);
			}
		}
	}
	size_t given = 0;
	for (size_t i = 0; i < n * s->ncols; i++)
		given += s->present[i];
	REQUIRE(given + s->n_null + s->n_nonnumeric == metrics);
	free(refs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct series_limits lim = {
		.max_bytes = 64 * 1024, .max_rows = 200, .max_depth = 8, .max_cols = 16,
		.max_cells = 1000,
	};
	struct series *s = NULL;
	struct rb_err err = {0};
	enum rb_code rc = series_parse(&s, (const char *)data, size, &lim, &err);
	json_error_t je;
	json_t *root = json_loadb((const char *)data, size, /* new */
	                          JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
	if (rc != RB_OK) {
		REQUIRE(s == NULL);
		REQUIRE(rc == RB_E_INPUT || rc == RB_E_TOO_LARGE || rc == RB_E_NOMEM);
		REQUIRE(err.code == rc && err.msg[0] != '\0');
		for (const char *p = err.msg; *p != '\0'; p++)
			REQUIRE(*p >= 0x20 && *p < 0x7f);
		/* A NUL byte is never valid JSON; Jansson's json_loadb lets some through, so it is
		 * no reference for such input (found by this fuzzer: "1\0}" inside an object). */
		if (rc == RB_E_INPUT && root != NULL && memchr(data, 0, size) == NULL) {
			/* Refused while Jansson reads it: must be a shape, instant or duplicate problem. */
			json_t *strict = json_loadb((const char *)data, size, /* new */
			                            JSON_DECODE_ANY | JSON_REJECT_DUPLICATES |
			                                    JSON_DECODE_INT_AS_REAL, &je);
			struct ref *refs = malloc((json_array_size(root) + 1) * sizeof *refs);
			REQUIRE(refs != NULL);
			int fine = strict != NULL && well_formed(root, refs);
			for (size_t i = 0; fine && i < json_array_size(root); i++) {
				json_t *ts = json_object_get(json_array_get(root, i), "timestamp");
				fine = json_string_length(ts) == strlen(json_string_value(ts));
			}
			REQUIRE(!fine);
			free(refs);
			json_decref(strict);
		}
		json_decref(root);
		return 0;
	}
	REQUIRE(root != NULL); /* never accept what Jansson refuses */
	REQUIRE(s != NULL && s->n > 0 && s->n <= lim.max_rows && s->ncols <= lim.max_cols);
	REQUIRE(s->n * s->ncols <= lim.max_cells);
	for (size_t i = 0; i < s->n; i++) {
		double t;
		REQUIRE(s->timestamps[i] != NULL);
		REQUIRE(strlen(s->timestamps[i]) <= SERIES_INSTANT_MAX);
		REQUIRE(series_parse_instant(s->timestamps[i], &t) == 0 && t == s->t[i]);
		REQUIRE(i == 0 || s->t[i - 1] <= s->t[i]);
		for (size_t c = 0; c < s->ncols; c++) {
			double v = series_value(s, i, c);
			REQUIRE(s->present[i * s->ncols + c] ? isfinite(v) : isnan(v));
		}
	}
	for (size_t c = 0; c < s->ncols; c++)
		REQUIRE(series_col(s, s->names[c]) == (long)c);
	same_as_jansson(s, root);
	json_decref(root);
	series_free(s);
	return 0;
}
