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

#include "../oracle/series_old.h"
#include "rb/input/series.h"

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
	REQUIRE(series_identical(a, b));
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
