/*
 * robust_median: the exact order statistics of the default detector
 * (core/detect/detector_robust.c): an order-preserving sort key and a radix
 * sort on it, quickselect, the median, and the time-window rolling median
 * over a rank bitmap. Private to core/detect/ (tests include it by
 * source-root path); what the statistics are used for is in
 * docs/DEFAULT-DETECTOR.md.
 *
 * Deterministic, no allocation: the caller hands in every buffer. Values
 * are finite unless a function says otherwise.
 */
#ifndef RB_DETECT_ROBUST_MEDIAN_H
#define RB_DETECT_ROBUST_MEDIAN_H

#include <stddef.h>
#include <stdint.h>

/* An element of a radix sort: its key and where it came from. */
struct robust_keyed {
	uint64_t key; /* order-preserving image of a double (robust_order_key) */
	size_t idx;
};

/*
 * A uint64_t that orders as v does: a < b (as doubles, finite or infinite)
 * gives robust_order_key(a) < robust_order_key(b); -0 sorts before +0.
 */
uint64_t robust_order_key(double v);

/* Stable LSD radix sort of a[n] by key (8-bit digits, one counting pass); tmp[n] scratch. */
void robust_radix_sort(struct robust_keyed *a, struct robust_keyed *tmp, size_t n);

/*
 * k-th smallest (0-based, k < n) of v[n], reordering v (Hoare quickselect,
 * median-of-3 pivot). On return v[0 .. k) holds no element above the result.
 */
double robust_select_kth(double *v, size_t n, size_t k);

/* Median of v[n] (n >= 1; the mean of the two middle values when n is even), reordering v. */
double robust_median(double *v, size_t n);

/* Scratch of robust_rolling_median() for m points; its contents on entry do not matter. */
struct robust_rolling_ws {
	struct robust_keyed *pairs;     /* [m] */
	struct robust_keyed *pairs_tmp; /* [m] */
	size_t *rank;                   /* [m] rank of point j */
	double *sorted;                 /* [m] values in rank order */
	uint64_t *bits;                 /* [ceil(m / 64)] rank bitmap of the window */
	uint64_t *bsum;                 /* [ceil(m / 4096)] its summary */
};

/*
 * out[q] = median of the v[j] with tv[j] in the window [a, a + 2 half) of
 * instant tq[q], a = tq[q] - half moved inside the points' span
 * [tv[0], tv[m - 1] + step) when the span allows (near the ends the window
 * keeps its length instead of shrinking: a shrunk window is biased by a
 * seasonal shape or a slope). Half-open, so a window of one period holds one
 * period of a regular grid. An empty window takes the nearest point's value
 * (the earlier one on a tie). m >= 1 points with tv[m] ascending; nq
 * instants tq[nq] ascending. After the rank sort each point enters and
 * leaves the window once and each move of the median is one bit scan:
 * O((m + nq) log m) at worst, O(m + nq) word operations for dense windows.
 */
void robust_rolling_median(const double *tv, const double *v, size_t m, const double *tq,
                           size_t nq, double step, double half,
                           const struct robust_rolling_ws *ws, double *out);

#endif
