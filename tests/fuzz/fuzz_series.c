/*
 * fuzz_series: arbitrary bytes into series_parse() under small caps (so that
 * the cap paths are reached often), then the invariants of a parsed series
 * are checked: row and column counts within the caps, t[] ascending and equal
 * to the instant of each kept timestamp string, present[] only where the
 * value is finite, names distinct and found by series_col(). A violated
 * invariant aborts (a crash for libFuzzer). Not a test of messages.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "series.h"

#define REQUIRE(c)                     \
	do {                           \
		if (!(c))              \
			abort();       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct series_limits lim = {
		.max_bytes = 64 * 1024, .max_rows = 200, .max_depth = 8, .max_cols = 16,
		.max_cells = 1000,
	};
	struct series *s = NULL;
	struct rb_err err = {0};
	enum rb_code rc = series_parse(&s, (const char *)data, size, &lim, &err);
	if (rc != RB_OK) {
		REQUIRE(s == NULL);
		REQUIRE(rc == RB_E_INPUT || rc == RB_E_TOO_LARGE || rc == RB_E_NOMEM);
		REQUIRE(err.code == rc && err.msg[0] != '\0');
		for (const char *p = err.msg; *p != '\0'; p++)
			REQUIRE(*p >= 0x20 && *p < 0x7f);
		return 0;
	}
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
	series_free(s);
	return 0;
}
