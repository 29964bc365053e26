/*
 * series: a Druid timeseries result parsed into columns.
 *
 * Input is the JSON array Druid answers to a timeseries query:
 *   [{"timestamp":"2023-09-21T09:00:00.000Z","result":{"bytes":123,...}}, ...]
 * Output keeps, per row, the timestamp string exactly as received (for the
 * response), its UTC instant, and for every metric seen in any row a value or
 * "missing". The treatment of every odd input is documented in
 * docs/INPUT.md and is the contract of series_parse().
 */
#ifndef RB_SERIES_H
#define RB_SERIES_H

#include <stddef.h>

#include "rb/base/error.h"

/* Caps applied by series_parse(); any field 0 means the built-in default. */
struct series_limits {
	size_t max_bytes; /* whole JSON text (default 64 MiB) */
	size_t max_rows;  /* rows in the array (default 1,000,000) */
	size_t max_depth; /* JSON nesting depth (default 32) */
	size_t max_cols;  /* distinct metric names (default 256) */
	size_t max_cells; /* rows * distinct names, i.e. the values[] size (default 16,777,216) */
};

struct series {
	size_t n;           /* rows, in time order (see docs/INPUT.md for reordering) */
	size_t ncols;       /* distinct metric names over all rows */
	char **timestamps;  /* [n] timestamp strings exactly as received */
	double *t;          /* [n] UTC instants, seconds since 1970-01-01 (fractional) */
	char **names;       /* [ncols] metric names, in first-seen order */
	double *values;     /* [n * ncols] row-major; NAN where the value is missing */
	unsigned char *present; /* [n * ncols] 1 when a finite number was given */
	size_t n_null;       /* values given as JSON null (missing) */
	size_t n_nonnumeric; /* values given as a string, bool, array or object (missing) */
	int reordered;       /* 1 when the input was not in ascending time order and was sorted */
	char *text;          /* NULL, or one malloc'd block holding timestamp strings back to back
	                      * (series_parse puts all of them there: no allocation per row) */
	size_t text_len;     /* bytes of text; timestamps[i] inside [text, text + text_len) are
	                      * not allocations of their own */
};

/* Longest timestamp string accepted, in bytes. */
#define SERIES_INSTANT_MAX 64

/*
 * Parses a Druid timeseries result of len bytes (need not be NUL-terminated).
 * On RB_OK *out is a new series owned by the caller (series_free). On failure
 * *out is NULL and err says what was wrong: RB_E_TOO_LARGE for a cap,
 * RB_E_INPUT otherwise, naming the row where it applies ("row 12 (1-based)",
 * counted in input order), RB_E_NOMEM. Rows come out in ascending time
 * order, ties in input order. The messages are printable ASCII.
 */
enum rb_code series_parse(struct series **out, const char *json, size_t len,
                          const struct series_limits *limits, struct rb_err *err);

/*
 * Options of series_parse_with(), or'ed. They change how the text is read,
 * never the result (the same series bit for bit, or the same error and
 * message): they exist for tests and benchmarks.
 */
enum series_opt {
	SERIES_OPT_NUMBERS_STRTOD = 1, /* every number through strtod() instead of the exact
	                                * fast path of include/rb/input/decimal.h */
	SERIES_OPT_PRESCAN = 2,        /* cut the rows in a separate pass first, as is done
	                                * anyway when the quick single pass meets a problem */
	SERIES_OPT_ROWS_GENERAL = 4,   /* in the quick pass, every row through the general row
	                                * reader, none through the fast path for rows written
	                                * exactly as Druid writes them (core/input/series.c
	                                * read_row_druid; the careful PRESCAN pass never uses it) */
};

/* series_parse() with options (0 is series_parse()). */
enum rb_code series_parse_with(struct series **out, const char *json, size_t len,
                               const struct series_limits *limits, unsigned opts,
                               struct rb_err *err);

/*
 * Drops the first k rows (k <= n: RB_ASSERT): the rows after them move to the
 * front, in order; n becomes n - k. The arrays keep their allocation; the
 * dropped timestamps are freed unless inside text. n_null, n_nonnumeric and
 * reordered still describe the whole input. O(rows kept * columns).
 */
void series_drop_head(struct series *s, size_t k);

/* Column index of a metric name, or -1 when no row carries it. */
long series_col(const struct series *s, const char *name);

/* Value of column c at row i, NAN when missing (i < n and c < ncols: RB_ASSERT, every build). */
double series_value(const struct series *s, size_t i, size_t c);

/*
 * Frees a series: every timestamps[i] and names[c] (each its own malloc'd
 * string, NULL allowed), except timestamps pointing into text, then text,
 * the arrays and s. NULL is a no-op. So a timestamp may be replaced by a
 * malloc'd string of one's own; the one it replaces is freed only when it
 * is not inside text.
 */
void series_free(struct series *s);

/*
 * A new series of n rows and ncols columns for code that builds one by hand
 * (tests, synthetic data): timestamps and names all NULL (set each to a
 * malloc'd string), t 0, values NAN, present 0, counters 0. RB_E_NOMEM or
 * RB_E_TOO_LARGE (n * ncols overflows) on failure, *out then NULL.
 */
enum rb_code series_alloc(struct series **out, size_t n, size_t ncols, struct rb_err *err);

/*
 * Parses an ISO-8601 instant ("2023-09-21T09:00:00.000Z", "...+02:00",
 * "...+0200", fractional seconds of any length; 'T' or ' ' between date and
 * time; no zone means UTC) into seconds since the epoch. Returns 0 on success,
 * -1 when the text is not such an instant or a field is out of range.
 */
int series_parse_instant(const char *text, double *epoch_seconds);

/*
 * Same as series_parse_instant(), saying why: NULL on success, else a short
 * fixed English reason ("month out of range"), never containing the text.
 */
const char *series_instant_error(const char *text, double *epoch_seconds);

#endif
