/*
 * blame: who caused an anomaly. Given the values of one metric broken down by
 * a dimension (rows: the dimension's values, e.g. client IPs; columns: time
 * buckets) and the bucket of the anomaly, it says which values explain the
 * total's deviation there, each with its contribution. The rule
 * (docs/OPERATIONS.md, "Who caused it"), scale-free:
 *
 *   baseline  b_k = median of row k over the other buckets (a missing cell is
 *             0: no rows in Druid is no traffic), scale s_k = 1.4826 * MAD of
 *             the same, floored at BLAME_MIN_REL_SCALE * |b_k| (a row that never
 *             moved is not infinitely surprising at a 1 % change);
 *   deviation d_k = x_k(t*) - b_k, robust z_k = d_k / s_k;
 *   total     D = x_total(t*) - median over the other buckets of x_total;
 *   share     c_k = d_k / D (the part of the total's deviation row k carries;
 *             when D is 0, d_k / sum_j |d_j|).
 *   Row k is blamed when |z_k| >= BLAME_Z, c_k >= BLAME_MIN_SHARE (it moved the
 *   way the total moved, by a tenth of it or more).
 * So a big but steady row (small z, whatever its size) is not blamed, and a
 * small one that jumped (large z, a real part of the total's jump) is. With no
 * other bucket (one timestamp only) there is no baseline: b_k = 0, z is not
 * tested, and the rows carrying a tenth of the total or more are answered.
 * Blamed rows are ordered by share, largest first; ties by |z|, then by row
 * index (callers index rows in name order, so ties answer in name order).
 *
 * Not here: reading any input format (ip_identifier.h, explain_query.h).
 * Pure computation, no allocation by the caller beyond the result.
 */
#ifndef RB_EXPLAIN_BLAME_H
#define RB_EXPLAIN_BLAME_H

#include <stddef.h>

#include "rb/base/error.h"

#define BLAME_Z 3.5              /* robust z a row must reach (Iglewicz & Hoaglin's cut) */
#define BLAME_MIN_SHARE 0.1      /* least share of the total's deviation */
#define BLAME_MIN_REL_SCALE 0.01 /* scale floor, relative to the baseline */

/* One blamed row. */
struct blame_item {
	size_t row;      /* index into the caller's rows */
	double observed; /* x_k(t*) */
	double baseline; /* b_k (0 without history) */
	double z;        /* robust z (HUGE_VAL when the scale is 0 and the row moved; 0 without history) */
	double share;    /* c_k */
};

struct blame_result {
	struct blame_item *items; /* [n], malloc'd, ordered as described above */
	size_t n;
	double total_observed, total_baseline;
};

/*
 * x is rows * cols values, row-major (x[k * cols + t]); NaN is a missing cell
 * (read as 0); at is the anomaly's column (< cols). RB_E_NOMEM, or RB_OK with
 * *res filled (n may be 0). Release with blame_release (also after failure).
 */
enum rb_code blame_rows(const double *x, size_t rows, size_t cols, size_t at,
                        struct blame_result *res, struct rb_err *err);

void blame_release(struct blame_result *res);

#endif
