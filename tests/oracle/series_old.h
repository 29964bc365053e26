/*
 * The frozen parser of series_old.inc under the names old_series_parse,
 * old_series_parse_with, old_series_alloc, old_series_free, old_series_col
 * and old_series_value, beside the current ones of series.h, and
 * series_identical() to compare what the two give. For
 * tests/test_series_fast.c and tests/fuzz/fuzz_series_oracle.c only: it
 * defines functions, so one translation unit per program includes it.
 */
#ifndef RB_SERIES_OLD_H
#define RB_SERIES_OLD_H

#include <string.h>

#include "rb/input/series.h"

#define series_parse old_series_parse
#define series_parse_with old_series_parse_with
#define series_alloc old_series_alloc
#define series_free old_series_free
#define series_col old_series_col
#define series_value old_series_value
/* the oracle's prototypes (series.h was read above, with the real names) */
enum rb_code series_parse(struct series **out, const char *json, size_t len,
                          const struct series_limits *limits, struct rb_err *err);
enum rb_code series_parse_with(struct series **out, const char *json, size_t len,
                               const struct series_limits *limits, unsigned opts,
                               struct rb_err *err);
long series_col(const struct series *s, const char *name);
double series_value(const struct series *s, size_t i, size_t c);
void series_free(struct series *s);
enum rb_code series_alloc(struct series **out, size_t n, size_t ncols, struct rb_err *err);
#include "series_old.inc"
#undef series_parse
#undef series_parse_with
#undef series_alloc
#undef series_free
#undef series_col
#undef series_value

/*
 * 1 when a and b are the same series bit for bit: counters, order flag,
 * names, timestamp strings, instants, values and presence.
 */
static int series_identical(const struct series *a, const struct series *b)
{
	if (a->n != b->n || a->ncols != b->ncols || a->n_null != b->n_null ||
	    a->n_nonnumeric != b->n_nonnumeric || a->reordered != b->reordered)
		return 0;
	for (size_t c = 0; c < a->ncols; c++)
		if (strcmp(a->names[c], b->names[c]) != 0)
			return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->timestamps[i], b->timestamps[i]) != 0 ||
		    memcmp(&a->t[i], &b->t[i], sizeof a->t[i]) != 0)
			return 0;
	size_t cells = a->n * a->ncols;
	return memcmp(a->values, b->values, cells * sizeof *a->values) == 0 &&
	       memcmp(a->present, b->present, cells) == 0;
}

#endif
