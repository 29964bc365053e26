/*
 * novelty_ref: the reference (oracle) for the novelty detector of
 * core/detect/detector_novelty.c, the method of docs/DEFAULT-DETECTOR.md
 * ("The novelty detector") written the obvious way: rows put in time order
 * by an insertion sort, every median and quantile by sorting a copy, and
 * for each row and measure its count of earlier rows at least as extreme by
 * a loop over all earlier rows; O(n^2) time. No radix sort, no rank space,
 * no Fenwick tree, no rolling window, no day pointers: those are the fast
 * path's, and this file is what they must agree with (tests/test_detector_novelty_ref.c).
 *
 * The arithmetic is the definition's, the same as the fast path's (a
 * median of an even count is lo + (hi - lo) / 2; p = (c + 1) max(1 / (t + 1),
 * eps / (K + 1))), so the two agree bit for bit when the compiler does not
 * contract differently. The constants are copies of detector_novelty.c's:
 * a change there is made here too (the oracle test fails until it is).
 * Used only by tests and benchmarks; not called by the service.
 */
#include "oracle/novelty_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/detector.h"

#define REF_DAY 86400.0
#define REF_BASE_ROWS 9          /* the jump's baseline: median of the previous 9 rows */
#define REF_SEASON_DAYS 7        /* the seasonal measure looks back 7 days ... */
#define REF_SEASON_HALF 2.0      /* ... within +- 2 steps of the same time of day */
#define REF_SEASON_MIN_DAYS 2.0  /* ... over a span of >= 2 days ... */
#define REF_SEASON_MAX_STEP 0.25 /* ... of rows at most 6 h apart */
#define REF_BAND_FRAC 0.5        /* dead band: half the inter-decile range, */
#define REF_BAND_QUANTA 2.0      /* at least 2 quanta */
#define REF_BAND_RANGE 0.01      /* and at least 1 % of the full range */
#define REF_STRONG 2.0           /* escalation: beyond every earlier value by 2 bands */
#define REF_REFRACTORY 43200.0   /* no new onset within 12 h of a flag ... */
#define REF_REFRACTORY_ROWS 720.0 /* ... or 720 rows on the row-index axis */

/* Sorts v[n] ascending (insertion sort). */
static void ref_sort(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		double x = v[i];
		size_t j = i;
		while (j > 0 && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Median of v[n] (n >= 1), sorting v: the middle value, or lo + (hi - lo) / 2. */
static double ref_median(double *v, size_t n)
{
	ref_sort(v, n);
	if (n % 2)
		return v[n / 2];
	return v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2.0;
}

/*
 * Dead band of the defined (non-NAN) values of a[m]: the largest of
 * REF_BAND_FRAC of the inter-decile range (the full range when that is 0),
 * REF_BAND_QUANTA quanta (the smallest positive gap between consecutive
 * distinct values, when there are two or more such gaps; else 0) and
 * REF_BAND_RANGE of the full range; 0 for fewer than 2 values.
 * buf, gaps: [m] scratch.
 */
static double ref_band(const double *a, size_t m, double *buf, double *gaps)
{
	size_t k = 0;
	for (size_t j = 0; j < m; j++)
		if (!isnan(a[j]))
			buf[k++] = a[j];
	if (k < 2)
		return 0.0;
	ref_sort(buf, k);
	/* every positive gap between neighbours in sorted order; the quantum is the least */
	size_t ng = 0;
	for (size_t r = 1; r < k; r++)
		if (buf[r] != buf[r - 1])
			gaps[ng++] = buf[r] - buf[r - 1];
	ref_sort(gaps, ng);
	double q = ng >= 2 ? gaps[0] : 0.0;
	double range = buf[k - 1] - buf[0];
	double idr = buf[(size_t)(0.9 * (double)(k - 1))] - buf[(size_t)(0.1 * (double)(k - 1))];
	double spread = idr > 0.0 ? idr : range;
	return fmax(fmax(REF_BAND_QUANTA * q, REF_BAND_FRAC * spread), REF_BAND_RANGE * range);
}

/*
 * For each defined a[j]: c = the fewer of the earlier defined rows at least
 * as extreme upwards (a_i >= a_j - band) and downwards (a_i <= a_j + band),
 * p = (c + 1) max(1 / (t + 1), eps / (K + 1)) over its t earlier defined
 * rows (none: no p), kept in pbest[j] when smaller; strong[j] = 1 when a_j
 * lies beyond every earlier defined value by REF_STRONG bands (so the first
 * defined row is strong).
 */
static void ref_counts(const double *a, size_t m, double band, double eps, double kmax,
                       double *pbest, unsigned char *strong)
{
	double sb = REF_STRONG * band, cap = eps / (kmax + 1.0);
	for (size_t j = 0; j < m; j++) {
		if (isnan(a[j]))
			continue;
		size_t seen = 0, up = 0, dn = 0;
		int above_all = 1, below_all = 1;
		for (size_t i = 0; i < j; i++) {
			if (isnan(a[i]))
				continue;
			seen++;
			up += a[i] >= a[j] - band;
			dn += a[i] <= a[j] + band;
			if (!(a[j] > a[i] + sb))
				above_all = 0;
			if (!(a[j] < a[i] - sb))
				below_all = 0;
		}
		if (above_all || below_all)
			strong[j] = 1;
		if (seen == 0)
			continue;
		double c = (double)(up < dn ? up : dn);
		double p = (c + 1.0) * fmax(1.0 / ((double)seen + 1.0), cap);
		if (p < pbest[j])
			pbest[j] = p;
	}
}

/*
 * The seasonal measure: e[j] = how far v[j] lies above the highest (> 0) or
 * below the lowest (< 0) of the earlier rows within +- REF_SEASON_HALF steps
 * of the same time on each of the previous REF_SEASON_DAYS days, 0 inside
 * their range, NAN when there is none.
 */
static void ref_season(const double *tv, const double *v, size_t m, double step, double *e)
{
	double hw = REF_SEASON_HALF * step;
	for (size_t j = 0; j < m; j++) {
		double hi = -INFINITY, lo = INFINITY;
		size_t seen = 0;
		for (int d = 1; d <= REF_SEASON_DAYS; d++) {
			double target = tv[j] - (double)d * REF_DAY;
			for (size_t c = 0; c < j; c++) {
				if (tv[c] < target - hw || tv[c] > target + hw)
					continue;
				hi = fmax(hi, v[c]);
				lo = fmin(lo, v[c]);
				seen++;
			}
		}
		if (seen == 0)
			e[j] = NAN;
		else if (v[j] > hi)
			e[j] = v[j] - hi;
		else if (v[j] < lo)
			e[j] = v[j] - lo;
		else
			e[j] = 0.0;
	}
}

enum rb_code novelty_detect_reference(const double *x, const double *t, size_t n,
                                      double sensitivity, double *expected, double *score,
                                      unsigned char *anomaly, double *threshold,
                                      struct rb_err *err)
{
	double eps, kmax;
	novelty_params(sensitivity, &eps, &kmax);
	*threshold = -log10(eps);
	if (n == 0)
		return RB_OK;
	for (size_t i = 0; i < n; i++) {
		expected[i] = isfinite(x[i]) ? x[i] : 0.0;
		score[i] = 0.0;
		anomaly[i] = 0;
	}
	/* order[n] and row[n]; 9 arrays of n doubles; strong[n] */
	size_t *order = malloc(2 * n * sizeof *order);
	double *d = malloc(9 * n * sizeof *d);
	unsigned char *strong = calloc(n, 1);
	if (order == NULL || d == NULL || strong == NULL) {
		free(order);
		free(d);
		free(strong);
		return rb_err_set(err, RB_E_NOMEM, "novelty reference: out of memory (%zu rows)", n);
	}
	size_t *row = order + n;
	double *tv = d, *v = d + n, *base = d + 2 * n, *meas = d + 3 * n, *pbest = d + 4 * n;
	double *buf = d + 5 * n, *gaps = d + 6 * n, *win = d + 7 * n, *sp = d + 8 * n;

	/* time order: by timestamp, stable; by row index when any timestamp is not finite */
	int use_index = 0;
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		if (!isfinite(t[i]))
			use_index = 1;
	}
	if (!use_index)
		for (size_t i = 1; i < n; i++) {
			size_t o = order[i], j = i;
			while (j > 0 && t[order[j - 1]] > t[o]) {
				order[j] = order[j - 1];
				j--;
			}
			order[j] = o;
		}
	size_t m = 0;
	for (size_t q = 0; q < n; q++) {
		size_t i = order[q];
		if (!isfinite(x[i]))
			continue;
		row[m] = i;
		tv[m] = use_index ? (double)i : t[i];
		v[m] = x[i];
		m++;
	}
	if (m == 0)
		goto done;

	/* the sampling step: median positive spacing (1 when there is none) */
	double step = 1.0;
	size_t ns = 0;
	for (size_t j = 1; j < m; j++)
		if (tv[j] > tv[j - 1])
			sp[ns++] = tv[j] - tv[j - 1];
	if (ns > 0)
		step = ref_median(sp, ns);
	if (!(step > 0.0))
		step = 1.0;

	/* the jump's baseline: median of the previous REF_BASE_ROWS values */
	for (size_t j = 0; j < m; j++) {
		size_t from = j > REF_BASE_ROWS ? j - REF_BASE_ROWS : 0;
		if (j == 0) {
			base[j] = v[0];
			continue;
		}
		memcpy(win, v + from, (j - from) * sizeof *win);
		base[j] = ref_median(win, j - from);
	}

	for (size_t j = 0; j < m; j++)
		pbest[j] = 1.0;
	/* level */
	double vband = ref_band(v, m, buf, gaps);
	ref_counts(v, m, vband, eps, kmax, pbest, strong);
	/* jump */
	for (size_t j = 0; j < m; j++)
		meas[j] = j == 0 ? NAN : v[j] - base[j];
	ref_counts(meas, m, ref_band(meas, m, buf, gaps), eps, kmax, pbest, strong);
	/* seasonal, in value units: the level's band */
	if (!use_index && tv[m - 1] - tv[0] >= REF_SEASON_MIN_DAYS * REF_DAY &&
	    step <= REF_SEASON_MAX_STEP * REF_DAY) {
		ref_season(tv, v, m, step, meas);
		ref_counts(meas, m, vband, eps, kmax, pbest, strong);
	}

	/* candidates (p* <= eps), and their onsets outside the refractory time unless strong */
	double refractory = use_index ? REF_REFRACTORY_ROWS : REF_REFRACTORY;
	double last_flag = -INFINITY;
	int prev_cand = 0;
	for (size_t j = 0; j < m; j++) {
		size_t i = row[j];
		expected[i] = base[j];
		double s = -log10(pbest[j]);
		score[i] = s > 0.0 ? s : 0.0;
		int cand = pbest[j] <= eps * (1.0 + 1e-12);
		if (cand && !prev_cand && (tv[j] - last_flag >= refractory || strong[j])) {
			anomaly[i] = 1;
			last_flag = tv[j];
		}
		prev_cand = cand;
	}
done:
	free(order);
	free(d);
	free(strong);
	return RB_OK;
}
