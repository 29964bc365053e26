/*
 * emu: private header of rb-druid-emulator, a TEST AND DEMO FIXTURE that
 * answers Druid native timeseries queries over a generated dataset rb_flow.
 * It is not Druid and not part of the service; docs/EMULATOR.md lists what it
 * implements and, explicitly, what it does not.
 *
 * Modules (one concern each):
 *   emu_time.c   ISO-8601 instants, periods, intervals, fixed-offset zones,
 *                granularity bucketing, Druid-style timestamp printing.
 *   emu_data.c   the deterministic dataset: series table, PRNG, daily/weekly
 *                patterns, injected anomalies; any minute generated on demand.
 *   emu_query.c  query JSON -> validated plan -> evaluation -> Druid JSON.
 *   emu_http.c   the HTTP/1.1 server loop and the fault-injection modes.
 *   emu_main.c   command line.
 * Times are int64 milliseconds since 1970-01-01T00:00Z throughout.
 */
#ifndef RB_EMU_H
#define RB_EMU_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- errors */

/*
 * A Druid-shaped error: HTTP status, the "error" category string Druid uses
 * ("Json parse failed", "Unsupported operation", "Resource limit exceeded",
 * "Unknown exception"), a Java-ish errorClass, and the message. The two
 * string pointers are static literals.
 */
struct emu_err {
	int status;
	const char *error;
	const char *error_class;
	char msg[256];
};

/* Categories, each with its HTTP status (Druid 0.2x conventions). */
enum emu_ekind {
	EMU_E_PARSE,       /* 400 "Json parse failed": malformed or invalid query */
	EMU_E_UNSUPPORTED, /* 501 "Unsupported operation": valid Druid, not emulated */
	EMU_E_LIMIT,       /* 400 "Resource limit exceeded": over an emulator cap */
	EMU_E_INTERNAL     /* 500 "Unknown exception" */
};

/* Fills err (ignored when NULL); always returns -1 so callers can `return emu_fail(...)`. */
int emu_fail(struct emu_err *err, enum emu_ekind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------- growable buffer */

/* A byte buffer with a hard cap; past the cap `overflow` is set and appends are dropped. */
struct emu_buf {
	char *p;
	size_t len, cap, max;
	int overflow; /* 1 once an append did not fit under max (or malloc failed) */
};

void emu_buf_init(struct emu_buf *b, size_t max);
void emu_buf_free(struct emu_buf *b);
void emu_buf_add(struct emu_buf *b, const void *data, size_t n);
void emu_buf_str(struct emu_buf *b, const char *s);
void emu_buf_printf(struct emu_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Appends s as a JSON string literal (quotes and escapes included), always
 * valid UTF-8: each byte of s that does not start a well-formed UTF-8
 * sequence (stray continuation, cut or overlong sequence, surrogate, past
 * U+10FFFF) becomes U+FFFD, as Jackson writes undecodable input.
 */
void emu_buf_json_str(struct emu_buf *b, const char *s);
/* Appends a double as Java's Double.toString prints it (shortest digits; 1.0E7 style outside [1e-3,1e7)). */
void emu_buf_java_double(struct emu_buf *b, double v);

/* ------------------------------------------------------------------ time */

#define EMU_MS_MINUTE 60000LL
#define EMU_MS_HOUR 3600000LL
#define EMU_MS_DAY 86400000LL
#define EMU_MS_WEEK (7 * 86400000LL)

/*
 * Parses an ISO-8601 instant as Joda/Druid accept it: YYYY[-MM[-DD]][THH[:MM[:SS[.f+]]]]
 * with an optional zone Z, +HH, +HH:MM or +HHMM (none = UTC). Years 0000-9999.
 * Returns 0 and sets *ms, or -1.
 */
int emu_parse_instant(const char *s, int64_t *ms);

/*
 * Parses an ISO-8601 period (case-insensitive, "PT1M", "pt1h30m", "P1D", "P2W",
 * "PT0.5S"). Months and years are reported in *months (nonzero = no fixed
 * length); the rest as milliseconds in *fixed_ms. *nfields counts the nonzero
 * fields (Druid treats >1 as a "compound" period). Returns 0 or -1.
 */
int emu_parse_period(const char *s, int64_t *fixed_ms, int64_t *months, int *nfields, int *weeks_only1);

/* Parses a time zone Druid-style: "UTC", "Etc/UTC", "GMT", "Z", "+HH:MM", "+HHMM", "+HH". -1 for named zones. */
int emu_parse_zone(const char *s, int64_t *offset_ms);

/* Formats ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (offset 0) or "...+HH:MM" into out (>= 32 bytes). */
void emu_format_instant(int64_t ms, int64_t offset_ms, char *out, size_t outsz);

/* floor(a / b) for b > 0. */
int64_t emu_floor_div(int64_t a, int64_t b);

/* ------------------------------------------------------------------ data */

#define EMU_DATA_START_MS 1693526400000LL /* 2023-09-01T00:00:00Z */
#define EMU_DATA_END_MS 1698796800000LL   /* 2023-11-01T00:00:00Z, exclusive */
#define EMU_MAX_SERIES 64

/* Dimension columns of rb_flow. */
enum emu_dim { EMU_DIM_SENSOR, EMU_DIM_IP, EMU_DIM_APP, EMU_DIM_DIRECTION, EMU_NDIMS };

/* Metric columns of rb_flow (EMU_MET_CLIENTS is a hyperUnique complex column). */
enum emu_metric { EMU_MET_BYTES, EMU_MET_PKTS, EMU_MET_EVENTS, EMU_MET_CLIENTS, EMU_NMETRICS };

/* One rolled-up row of rb_flow: a series (fixed dimension values) at one minute. */
struct emu_row {
	int64_t bytes, pkts, events;
};

/* Number of series (distinct dimension tuples); <= EMU_MAX_SERIES. */
int emu_data_nseries(void);
/* Dimension value of a series (static string), and a small dense id of that value within its column. */
const char *emu_data_dim(int series, enum emu_dim d);
int emu_data_dim_id(int series, enum emu_dim d);
/* Column lookups by name: -1 when rb_flow has no such column. */
int emu_data_dim_by_name(const char *name);
int emu_data_metric_by_name(const char *name);
/*
 * The row of `series` at minute start `ms` (must be a multiple of 60000 inside
 * the data range). Returns 1 and fills *row when the series has a row then,
 * 0 when it has none (inactive client, outage).
 */
int emu_data_row(uint64_t seed, int series, int64_t ms, struct emu_row *row);
/*
 * All rows of minute ms for the series in mask: fills rows[s] (an array of
 * EMU_MAX_SERIES) for each series s that has a row and returns the bitmask of
 * those series. Same values as emu_data_row, computed once per minute.
 */
uint64_t emu_data_minute(uint64_t seed, int64_t ms, uint64_t mask, struct emu_row *rows);

/* ----------------------------------------------------------------- query */

/* Caps of the query evaluator. */
#define EMU_MAX_BUCKETS 100000
#define EMU_MAX_INTERVALS 1000
#define EMU_MAX_AGGS 64
#define EMU_MAX_POSTAGG_NODES 512
#define EMU_MAX_FILTER_NODES 512
#define EMU_MAX_JSON_DEPTH 64
#define EMU_MAX_RESPONSE (64u << 20)

/*
 * Runs one query (the POST body, len bytes, need not be NUL-terminated) over
 * the dataset generated with `seed`. On success returns 0 and out holds the
 * JSON array Druid would answer. On failure returns -1, err is filled and out
 * is left unspecified. out must be initialised by the caller.
 */
int emu_query_run(const char *body, size_t len, uint64_t seed, struct emu_buf *out, struct emu_err *err);

/* Appends the Druid error body {"error":..,"errorMessage":..,"errorClass":..,"host":null}. */
void emu_error_json(const struct emu_err *err, struct emu_buf *out);

/* ------------------------------------------------------------------ http */

/* Fault injection, for the service's tests only (not part of the emulation). */
enum emu_fault { EMU_FAULT_NONE, EMU_FAULT_GARBAGE, EMU_FAULT_OVERSIZED, EMU_FAULT_STATUS, EMU_FAULT_CLOSE, EMU_FAULT_TRUNCATE };

struct emu_config {
	const char *listen_host; /* numeric IPv4 address */
	int listen_port;         /* 0 = any free port (printed at startup) */
	uint64_t seed;
	size_t max_body;         /* request body cap (413 past it) */
	int timeout_ms;          /* a request must arrive completely within this */
	int max_conns;
	const char *log_path;    /* NULL: no access log; "-" stderr */
	int fault_delay_ms;
	enum emu_fault fault;
	long long fault_arg;     /* OVERSIZED: body bytes; STATUS: HTTP code */
};

/* Binds, prints "listening HOST:PORT" on stdout, serves until SIGINT/SIGTERM. Returns 0, or 1 on a startup failure. */
int emu_http_serve(const struct emu_config *conf);

#endif
