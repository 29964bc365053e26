/*
 * fuzz_series_oracle: arbitrary bytes into series_parse_with() and into the
 * parser it replaced (tests/oracle/series_old.inc, names renamed old_*),
 * with every option set, under default and tight caps. Both must give the
 * same code and message, or the same series bit for bit (names, timestamp
 * strings, instants, values, presence, counters, order flag): the timestamp
 * block and the instant cache change nothing. A difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "series.h"

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
#include "../oracle/series_old.inc"
#undef series_parse
#undef series_parse_with
#undef series_alloc
#undef series_free
#undef series_col
#undef series_value

#define REQUIRE(c)                     \
	do {                           \
		if (!(c))              \
			abort();       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_as_old(const char *text, size_t len, const struct series_limits *lim,
                        unsigned opts)
{
	struct series *a = NULL, *b = NULL;
	struct rb_err ea = {0}, eb = {0};
	enum rb_code ra = series_parse_with(&a, text, len, lim, opts, &ea);
	enum rb_code rb = old_series_parse_with(&b, text, len, lim, opts, &eb);
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
	series_free(a);
	old_series_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct series_limits lims[] = {
		{0},
		{.max_rows = 3, .max_depth = 3, .max_cols = 3, .max_cells = 8, .max_bytes = 4096},
	};
	static const unsigned opts[] = {0, SERIES_OPT_NUMBERS_STRTOD, SERIES_OPT_PRESCAN};
	for (size_t k = 0; k < sizeof lims / sizeof lims[0]; k++)
		for (size_t o = 0; o < sizeof opts / sizeof opts[0]; o++)
			same_as_old((const char *)data, size, &lims[k], opts[o]);
	return 0;
}
