/*
 * detection: the per-row outcome of any detector (the deep model or a
 * model-free one) for one analysed metric, and the JSON answer built from it.
 *
 * Invariants every detector guarantees: n equals the series' rows; expected
 * and score are finite for every row; anomaly[i] is 0 or 1.
 */
#ifndef RB_DETECTION_H
#define RB_DETECTION_H

#include <stddef.h>

#include "rb/base/error.h"
#include "rb/input/series.h"

struct detection {
	size_t n;                /* rows, = series->n */
	double *expected;        /* [n] reconstruction / smoothed value of the metric (finite) */
	double *observed;        /* [n] observed value, NAN when missing */
	double *score;           /* [n] anomaly score (finite, >= 0; larger = more anomalous) */
	unsigned char *anomaly;  /* [n] 1 when the row is reported as an anomaly */
	double threshold;        /* score above which a row is an anomaly */
	char metric[64];         /* the analysed metric */
	char model[64];          /* model name, or the default detector's name */
};

/* Allocates the arrays for n rows (zeroed); RB_E_NOMEM on failure. */
enum rb_code detection_init(struct detection *d, size_t n, struct rb_err *err);
/* Frees the arrays (not d itself); safe on a zeroed or already freed struct. */
void detection_release(struct detection *d);

/*
 * The success body of CONTRACT §1 as a new NUL-terminated string (malloc'd,
 * caller frees): status, anomalies (timestamp, expected, value, score),
 * predicted (timestamp, forecast), model, metric, threshold. NULL on NOMEM.
 * Non-finite numbers never appear (a missing observed value is null).
 */
char *response_success(const struct series *s, const struct detection *d);

/* The error body {"status":"error","msg":...} as a new string (caller frees). */
char *response_error(const char *msg);

#endif
