/*
 * fuzz_series_paths: arbitrary bytes into series_parse() and into
 * series_parse_with(SERIES_OPT_PRESCAN | SERIES_OPT_NUMBERS_STRTOD) (rows
 * cut by a separate scan first, every number through strtod: the reader as
 * it was before its speed-ups), under default and tight caps. Both must give
 * the same code and message, or the same series bit for bit; and every
 * instant read (through the day cache, which both paths share) must be the
 * plain instant parser's reading of the row's timestamp string, bit for bit.
 * A difference aborts (a crash for libFuzzer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/input/series.h"

#define REQUIRE(c)                     \
	do {                           \
		if (!(c))              \
			abort();       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_paths(const char *text, size_t len, const struct series_limits *lim)
{
	struct series *a = NULL, *b = NULL;
	struct rb_err ea = {0}, eb = {0};
	enum rb_code ra = series_parse(&a, text, len, lim, &ea);
	enum rb_code rb = series_parse_with(&b, text, len, lim,
	                                    SERIES_OPT_PRESCAN | SERIES_OPT_NUMBERS_STRTOD, &eb);
	REQUIRE(ra == rb);
	if (ra != RB_OK) {
		REQUIRE(a == NULL && b == NULL);
		REQUIRE(ea.code == eb.code && strcmp(ea.msg, eb.msg) == 0);
		return;
	}
	REQUIRE(a->n == b->n && a->ncols == b->ncols && a->n_null == b->n_null &&
	        a->n_nonnumeric == b->n_nonnumeric && a->reordered == b->reordered);
	for (size_t c = 0; c < a->ncols; c++)
		REQUIRE(strcmp(a->names[c], b->names[c]) == 0);
	for (size_t i = 0; i < a->n; i++) {
		REQUIRE(strcmp(a->timestamps[i], b->timestamps[i]) == 0);
		REQUIRE(memcmp(&a->t[i], &b->t[i], sizeof(double)) == 0);
	}
	REQUIRE(memcmp(a->values, b->values, a->n * a->ncols * sizeof(double)) == 0);
	REQUIRE(memcmp(a->present, b->present, a->n * a->ncols) == 0);
	for (size_t i = 0; i < a->n; i++) {
		double t = 0.0;
		REQUIRE(series_instant_error(a->timestamps[i], &t) == NULL);
		REQUIRE(memcmp(&t, &a->t[i], sizeof t) == 0);
	}
	series_free(a);
	series_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct series_limits lims[] = {
		{0},
		{.max_rows = 3, .max_depth = 3, .max_cols = 3, .max_cells = 8, .max_bytes = 4096},
		{.max_rows = 200, .max_depth = 8, .max_cols = 16, .max_cells = 1000},
	};
	for (size_t k = 0; k < sizeof lims / sizeof lims[0]; k++)
		same_paths((const char *)data, size, &lims[k]);
	return 0;
}
