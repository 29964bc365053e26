/*
 * detection: the per-row outcome of any detector (the deep model or a
 * model-free one) for one analysed metric. The JSON answer built from it is
 * include/rb/answer/response.h.
 *
 * Invariants every detector guarantees: n equals the series' rows; expected
 * and score are finite for every row; anomaly[i] is 0 or 1.
 */
#ifndef RB_DETECTION_H
#define RB_DETECTION_H

#include <stddef.h>

#include "rb/base/error.h"

struct detection {
	size_t n;                /* rows, = series->n */
	double *expected;        /* [n] reconstruction / smoothed value of the metric (finite) */
	double *observed;        /* [n] observed value, NAN when missing */
	double *score;           /* [n] anomaly score (finite, >= 0; larger = more anomalous) */
	unsigned char *anomaly;  /* [n] 1 when the row is reported as an anomaly */
	double threshold;        /* score above which a row is an anomaly */
	char metric[64];         /* the analysed metric */
	char model[64];          /* model name, or the default detector's name */
	int has_history;         /* 1: the answer says history_rows (a query request) */
	size_t history_rows;     /* rows before the requested interval the detector saw and the
	                          * answer leaves out (detection_drop_head) */
};

/* Allocates the arrays for n rows (zeroed); RB_E_NOMEM on failure. */
enum rb_code detection_init(struct detection *d, size_t n, struct rb_err *err);
/*
 * Drops the first k rows (k <= n: RB_ASSERT) from every per-row array, as
 * series_drop_head does for the series: what the answer leaves out of a
 * detection run over history. A new per-row array must be added here.
 */
void detection_drop_head(struct detection *d, size_t k);
/* Frees the arrays (not d itself); safe on a zeroed or already freed struct. */
void detection_release(struct detection *d);

#endif
