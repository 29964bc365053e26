/*
 * period: ISO-8601 durations as Druid writes granularities ("PT5M",
 * "P1DT2H", "pt1h30m") turned into a fixed length in milliseconds.
 *
 * Accepted, case-insensitive: P[nY][nM][nW][nD][T[nH][nM][n[.fff]S]] with
 * the designators in that order, each at most once, and at least one
 * component. Only seconds may carry a fraction ('.' or ','), of at most three
 * digits (Druid counts in milliseconds). A week is 7 days, a day 86400 s
 * (UTC; a day in a time zone with DST is not fixed, see docs/DRUID.md).
 * Rejected with RB_E_INPUT: years or months other than zero (no fixed
 * length; note P1M is a month and PT1M a minute), a zero or negative total,
 * more than PERIOD_MAX_MS, an empty text, surrounding spaces, and junk.
 *
 * Not here: granularity names ("fifteen_minute") and granularity objects,
 * which are druid_query.h; period arithmetic on calendars.
 */
#ifndef RB_PERIOD_H
#define RB_PERIOD_H

#include <stddef.h>
#include <stdint.h>

#include "rb/base/error.h"

/* Longest accepted period: 10^15 ms (about 31,700 years); every value below is exact in a double. */
#define PERIOD_MAX_MS INT64_C(1000000000000000)

/* Longest accepted period text; longer is junk. */
#define PERIOD_MAX_TEXT 64

/*
 * Parses len bytes of text (need not be NUL-terminated; a NUL inside is junk)
 * into *ms, 0 < *ms <= PERIOD_MAX_MS. On failure *ms is 0 and err (code
 * RB_E_INPUT) says what was wrong without quoting the text, so a caller can
 * prefix it with its own context ("granularity \"P1M\": ...").
 */
enum rb_code period_parse_ms(const char *text, size_t len, int64_t *ms, struct rb_err *err);

/*
 * The same rules, except that a zero total (PT0S, P0D) is accepted and gives
 * *ms = 0: for lengths where zero means "none" (the history setting). Still
 * RB_E_INPUT for months or years, negatives, junk and over PERIOD_MAX_MS.
 */
enum rb_code period_parse_length_ms(const char *text, size_t len, int64_t *ms,
                                    struct rb_err *err);

/* The same for a NUL-terminated text, giving seconds (ms / 1000, exact). */
enum rb_code period_parse_seconds(const char *text, double *seconds, struct rb_err *err);

#endif
