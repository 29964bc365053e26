/*
 * detector_robust: the "robust" (model-free) detector, the default before
 * issue 12, a robust seasonal baseline with robust z-scores. The method and
 * its reasons are in docs/DEFAULT-DETECTOR.md ("The robust detector"); in
 * short, over the whole window:
 *
 *  1. rows are ordered by time; the sampling step is the median positive
 *     spacing (no positive spacing: the row index is the time axis)
 *     [time_axis, valid_points];
 *  2. a non-negative series whose positive values span > LOG_RANGE
 *     (p90/p10) is analysed as log(x + p10): it varies by ratios
 *     [analysis_scale];
 *  3. candidate periods: daily, weekly, each when a period holds >=
 *     MIN_BINS steps and the window spans >= MIN_CYCLES periods
 *     [candidate_periods];
 *  4. a global linear trend is removed, its slope the median of the slopes
 *     between points one period (else a tenth of the rows) apart
 *     [remove_trend];
 *  5. baselines: trend only (a rolling median over a tenth of the rows), and
 *     per period a rolling median over whole periods plus a per-phase median
 *     profile, fitted twice (STL-like). The one with the smallest mean
 *     absolute residual wins, a profile being judged on the cycles it was
 *     not fitted on (so a profile that only fits noise does not win)
 *     [fit_baseline];
 *  6. expected = baseline shifted so the median residual is 0; residual
 *     scale sigma = 1.4826 * MAD (a higher quantile when the MAD is
 *     rounding noise or ties), raised towards the 97th percentile of
 *     |residual| / 2.17 when the tail is heavier than Gaussian, by at most
 *     TAIL_CAP times; per row, raised to the MAD of its phase group (with a
 *     profile); floored at REL_FLOOR * median |x| so flat or near-constant
 *     series do not flag noise in their last digits [baseline_values,
 *     centre_residuals, global_sigma, row_sigma];
 *  7. score = |x - expected| / sigma; anomaly when score > k(sensitivity)
 *     [score_rows]; expected back in the metric's units [metric_units].
 * robust_detect() is the driver that calls the stages in this order; each
 * is a static function whose comment is its contract.
 *
 * Time O(n log n): a radix sort per rolling median, then each point enters
 * and leaves the window once and the median moves by bit scans over a rank
 * bitmap; memory ~150 bytes per row in one allocation. Deterministic.
 * Not here: the order statistics and the rolling median it is built on
 * (core/detect/robust_median.c), choice of the metric and of the detector
 * (core/detect/detector.c), the legacy detector (core/detect/detector_legacy.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/detector.h"

#include "robust_median.h"

#define DAY 86400.0
#define WEEK 604800.0
#define MIN_CYCLES 3.0        /* periods a window must span to fit a profile */
#define MIN_BINS 2.0          /* steps a period must hold to be a candidate */
#define MAX_BINS 10080        /* phase bins per period (cap) */
#define NONSEASONAL_FRAC 0.1  /* rolling-median window without a period, share of rows */
#define NONSEASONAL_MIN 7.0   /* ... and its minimum, in rows */
#define SIMPLER_BONUS 0.95    /* a period must cut the residual spread below this share */
#define SELECT_POINTS 8192    /* residuals used to compare candidates (an even subsample) */
#define TAIL_Q 0.97           /* tail quantile of |residual| used for heavy tails */
#define TAIL_Z 2.170090378    /* its value for Gaussian residuals, in sigmas */
#define TAIL_CAP 3.0          /* the tail raises sigma by at most this factor */
#define TAIL_MIN_ROWS 334     /* ... and only when >= 10 rows lie above TAIL_Q */
#define PHASE_MIN_ROWS 15.0   /* rows per phase group of the per-phase scale */
#define MAD_TO_SIGMA 1.482602218505602
#define LOG_RANGE 100.0       /* positive values spanning more than this (p90/p10): log scale */
#define REL_FLOOR 1e-4        /* sigma >= REL_FLOOR * median |x| */
#define ABS_FLOOR_REL 1e-12   /* sigma >= ABS_FLOOR_REL * max |x| (keeps scores finite) */
#define ZERO_TOL_REL 1e-9     /* |residual| <= ZERO_TOL_REL * max |x| counts as 0 */
#define SCORE_CAP 1e12        /* scores are clamped to this */

/* Sensitivity s in [0, 1] -> threshold k in robust sigmas, linear: s = 0 gives K_MAX, 1 K_MIN. */
#define K_MIN 4.4
#define K_MAX 10.0

double robust_threshold(double sensitivity)
{
	double s = isfinite(sensitivity) ? sensitivity : DETECTOR_ROBUST_SENSITIVITY;
	if (s < 0.0)
		s = 0.0;
	if (s > 1.0)
		s = 1.0;
	return K_MAX - (K_MAX - K_MIN) * s;
}

/* ---------------------------------------------------------------- workspace */

struct ws {
	void *block;        /* the one allocation every array below points into */
	size_t n, m;
	double step;        /* sampling step */
	double tol;         /* |residual| at most this is rounding noise */
	size_t sel_stride;  /* candidates are compared on every sel_stride-th residual */
	double *tq;         /* [n] times of all rows, ascending */
	size_t *qrow;       /* [n] row at sorted position q */
	double *tv;         /* [m] times of the rows with a finite value, ascending */
	double *v;          /* [m] their values, global linear trend removed */
	size_t *vq;         /* [m] sorted position of valid point j */
	double *trend;      /* [n] rolling median at every row (current fit) */
	double *best_trend; /* [n] the trend of the best candidate so far */
	double *resid;      /* [m] scratch */
	double *tmp;        /* [m] scratch */
	double *prof;       /* [min(m, MAX_BINS)] profile of the current fit */
	double *prof2;      /* [min(m, MAX_BINS)] scratch profile */
	double *best_prof;  /* [min(m, MAX_BINS)] profile of the best candidate */
	size_t *bins;       /* [m] phase bin of valid point j */
	unsigned char *odd; /* [m] 1 when point j lies in an odd cycle */
	size_t *cnt;        /* [min(m, MAX_BINS) + 1] */
	double *buf;        /* [m] values grouped by bin */
	struct robust_keyed *pairs, *pairs_tmp; /* [n] */
	size_t *rank;       /* [m] rank of point j */
	double *sorted;     /* [m] values in rank order */
	uint64_t *bits;     /* [ceil(m / 64)] rank bitmap of a rolling window */
	uint64_t *bsum;     /* [ceil(m / 4096)] its summary */
};

static void ws_free(struct ws *w)
{
	free(w->block);
	w->block = NULL;
}

/* Carves the next count * size bytes (16-byte aligned) out of the block at *off. */
static void *carve(struct ws *w, size_t *off, size_t count, size_t size)
{
	void *p = w->block == NULL ? NULL : (char *)w->block + *off;
	*off += (count * size + 15) & ~(size_t)15;
	return p;
}

/*
 * All arrays in one allocation: ~150 bytes per row. One block rather than
 * twenty also lets the allocator keep the memory between calls instead of
 * returning and re-faulting it each time.
 */
static int ws_alloc(struct ws *w, size_t n, size_t m)
{
	size_t nbmax = m < MAX_BINS ? m : MAX_BINS;
	memset(w, 0, sizeof *w);
	w->n = n;
	w->m = m;
	for (int pass = 0; pass < 2; pass++) {
		size_t off = 0;
		w->tq = carve(w, &off, n, sizeof *w->tq);
		w->qrow = carve(w, &off, n, sizeof *w->qrow);
		w->trend = carve(w, &off, n, sizeof *w->trend);
		w->best_trend = carve(w, &off, n, sizeof *w->best_trend);
		w->pairs = carve(w, &off, n, sizeof *w->pairs);
		w->pairs_tmp = carve(w, &off, n, sizeof *w->pairs_tmp);
		w->tv = carve(w, &off, m, sizeof *w->tv);
		w->v = carve(w, &off, m, sizeof *w->v);
		w->vq = carve(w, &off, m, sizeof *w->vq);
		w->resid = carve(w, &off, m, sizeof *w->resid);
		w->tmp = carve(w, &off, m, sizeof *w->tmp);
		w->bins = carve(w, &off, m, sizeof *w->bins);
		w->odd = carve(w, &off, m, sizeof *w->odd);
		w->buf = carve(w, &off, m, sizeof *w->buf);
		w->rank = carve(w, &off, m, sizeof *w->rank);
		w->sorted = carve(w, &off, m, sizeof *w->sorted);
		w->bits = carve(w, &off, (m + 63) / 64, sizeof *w->bits);
		w->bsum = carve(w, &off, (m + 4095) / 4096, sizeof *w->bsum);
		w->prof = carve(w, &off, nbmax, sizeof *w->prof);
		w->prof2 = carve(w, &off, nbmax, sizeof *w->prof2);
		w->best_prof = carve(w, &off, nbmax, sizeof *w->best_prof);
		w->cnt = carve(w, &off, nbmax + 1, sizeof *w->cnt);
		if (pass == 0) {
			w->block = malloc(off);
			if (w->block == NULL)
				return 0;
		}
	}
	return 1;
}

/* ------------------------------------------------------------ rolling median */

/*
 * w->trend[q] = the rolling median (robust_rolling_median, half-width half)
 * at row instant tq[q] of the values v[m], indexed like w->tv.
 */
static void rollmed(struct ws *w, const double *v, double half)
{
	const struct robust_rolling_ws rw = {
		.pairs = w->pairs,
		.pairs_tmp = w->pairs_tmp,
		.rank = w->rank,
		.sorted = w->sorted,
		.bits = w->bits,
		.bsum = w->bsum,
	};
	robust_rolling_median(w->tv, v, w->m, w->tq, w->n, w->step, half, &rw, w->trend);
}

/* ------------------------------------------------------ seasonal profiles */

struct season {
	double period; /* seconds */
	size_t nb;     /* phase bins */
	double bw;     /* bin width = period / nb */
	double half;   /* half-width of its rolling median: whole periods, >= NONSEASONAL_MIN rows */
};

static size_t season_bin(const struct season *S, double t)
{
	double ph = t - floor(t / S->period) * S->period;
	if (!(ph >= 0))
		ph = 0;
	double b = ph / S->bw; /* ph may be off for |t| near DBL_MAX: clamp before converting */
	return b < (double)S->nb ? (size_t)b : S->nb - 1;
}

/* Sets w->bins and w->odd of every valid point for season S. */
static void season_index(struct ws *w, const struct season *S)
{
	for (size_t j = 0; j < w->m; j++) {
		w->bins[j] = season_bin(S, w->tv[j]);
		w->odd[j] = fmod(fabs(floor(w->tv[j] / S->period)), 2.0) >= 1.0;
	}
}

/*
 * prof[nb] = per-bin median of r[m] over the valid points (parity -1: all;
 * 0 or 1: only points in even or odd cycles), empty bins taking the nearest
 * filled bin before them (circularly), then centred to mean 0. Uses w->bins
 * and w->odd (season_index). All 0 when no point qualifies.
 */
static void profile(struct ws *w, size_t nb, const double *r, int parity, double *prof)
{
	size_t m = w->m;
	memset(w->cnt, 0, (nb + 1) * sizeof *w->cnt);
	for (size_t j = 0; j < m; j++)
		if (parity < 0 || w->odd[j] == parity)
			w->cnt[w->bins[j] + 1]++;
	for (size_t b = 0; b < nb; b++)
		w->cnt[b + 1] += w->cnt[b];
	if (w->cnt[nb] == 0) {
		memset(prof, 0, nb * sizeof *prof);
		return;
	}
	/* Counting sort into buf; cnt[b] advances to the end of bin b, then is restored. */
	for (size_t j = 0; j < m; j++)
		if (parity < 0 || w->odd[j] == parity)
			w->buf[w->cnt[w->bins[j]]++] = r[j];
	for (size_t b = nb; b > 0; b--)
		w->cnt[b] = w->cnt[b - 1];
	w->cnt[0] = 0;
	for (size_t b = 0; b < nb; b++) {
		size_t k = w->cnt[b + 1] - w->cnt[b];
		prof[b] = k ? robust_median(w->buf + w->cnt[b], k) : NAN;
	}
	size_t first = 0;
	while (isnan(prof[first]))
		first++;
	double last = prof[first];
	for (size_t i = 1; i < nb; i++) {
		size_t b = (first + i) % nb;
		if (isnan(prof[b]))
			prof[b] = last;
		else
			last = prof[b];
	}
	double mean = 0.0;
	for (size_t b = 0; b < nb; b++)
		mean += prof[b];
	mean /= (double)nb;
	for (size_t b = 0; b < nb; b++)
		prof[b] -= mean;
}

/* ------------------------------------------------------------ the fit */

/*
 * Robust spread of r[m] about its median c (written to *centre when not
 * NULL): 1.4826 * median |r - c|, or a higher quantile of |r - c| scaled
 * likewise when that is at most tol (rounding noise, or ties of discrete
 * data); 0 when all are. Only every stride-th r is used.
 */
static double robust_sigma(const double *r, size_t m, size_t stride, double tol, double *scratch,
                           double *centre)
{
	static const double q[] = {0.5, 0.75, 0.9, 0.95, 0.99};
	static const double z[] = {0.6744897501960817, 1.1503493803760079, 1.6448536269514722,
	                           1.959963984540054, 2.5758293035489004};
	size_t ns = 0;
	for (size_t j = 0; j < m; j += stride)
		scratch[ns++] = r[j];
	double c = robust_median(scratch, ns);
	if (centre != NULL)
		*centre = c;
	ns = 0;
	for (size_t j = 0; j < m; j += stride)
		scratch[ns++] = fabs(r[j] - c);
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		size_t k = (size_t)(q[i] * (double)(ns - 1) + 0.5);
		double a = robust_select_kth(scratch, ns, k);
		if (a > tol)
			return a / z[i];
	}
	return 0.0;
}

/*
 * Spread used to compare candidates: mean |r - median r| over every
 * sel_stride-th r. Not the MAD: a profile that fixes one busy hour a day
 * changes less than half of the residuals, which the MAD does not see.
 */
static double select_spread(const struct ws *w, const double *r, double *scratch)
{
	size_t ns = 0;
	for (size_t j = 0; j < w->m; j += w->sel_stride)
		scratch[ns++] = r[j];
	double c = robust_median(scratch, ns);
	double sum = 0.0;
	ns = 0;
	for (size_t j = 0; j < w->m; j += w->sel_stride, ns++)
		sum += fabs(r[j] - c);
	return sum / (double)ns;
}

/*
 * Trend-only baseline: w->trend = rolling median of the values, half-width
 * half. Returns the residual spread.
 */
static double fit_none(struct ws *w, double half)
{
	rollmed(w, w->v, half);
	for (size_t j = 0; j < w->m; j++)
		w->resid[j] = w->v[j] - w->trend[w->vq[j]];
	return select_spread(w, w->resid, w->tmp);
}

/*
 * Seasonal baseline for season S, rolling medians of half-width half.
 * Leaves the trend in w->trend[n] and the profile in w->prof;
 * the expected value of sorted row q is trend[q] + prof[bin(tq[q])].
 * Returns the residual spread, out of sample for the profile (the profile
 * of the even cycles judged on the odd ones and vice versa).
 */
static double fit_season(struct ws *w, const struct season *S, double half)
{
	size_t m = w->m;
	rollmed(w, w->v, half);
	season_index(w, S);
	/* Pass 1: profile of the values less their rolling median; pass 2: trend of the
	 * deseasonalised values, and the profile again. */
	for (size_t j = 0; j < m; j++)
		w->resid[j] = w->v[j] - w->trend[w->vq[j]];
	profile(w, S->nb, w->resid, -1, w->prof);
	for (size_t j = 0; j < m; j++)
		w->resid[j] = w->v[j] - w->prof[w->bins[j]];
	rollmed(w, w->resid, half);
	for (size_t j = 0; j < m; j++)
		w->resid[j] = w->v[j] - w->trend[w->vq[j]];
	profile(w, S->nb, w->resid, 0, w->prof);
	profile(w, S->nb, w->resid, 1, w->prof2);
	for (size_t j = 0; j < m; j++)
		w->tmp[j] = w->resid[j] - (w->odd[j] ? w->prof[w->bins[j]] : w->prof2[w->bins[j]]);
	double sig = select_spread(w, w->tmp, w->buf);
	profile(w, S->nb, w->resid, -1, w->prof);
	return sig;
}

/* ------------------------------------------------------------ the stages */

/*
 * Each stage of robust_detect() is one function below, in the order the
 * driver calls them. They talk through the workspace (its arrays, and step,
 * tol and sel_stride) and through the small value structs returned here;
 * each contract says what a stage reads, what it writes and which arrays it
 * uses as scratch, so a stage can be replaced alone.
 */

/* The scale of analysis (analysis_scale) and the sizes of the analysed values. */
struct analysis {
	int use_log;   /* 1: values are analysed as log(x + c_log), else as x */
	double c_log;  /* 10th percentile of the positive values (use_log only) */
	double maxabs; /* max |value| analysed */
	double level;  /* median |value| analysed */
};

/* x on the scale of analysis. */
static double analysed(const struct analysis *A, double x)
{
	return A->use_log ? log(x + A->c_log) : x;
}

/* The global linear trend (remove_trend): slope * (t - tmid) is taken out of the values. */
struct line {
	double slope; /* per unit of the time axis */
	double tmid;  /* instant of the middle valid point, where the line is 0 */
};

/* Sorts the rows by time into w->tq/w->qrow; the row index when t is unusable. */
static void order_rows(struct ws *w, const double *t, int use_index)
{
	size_t n = w->n;
	int sorted = 1;
	for (size_t i = 0; i < n; i++) {
		w->qrow[i] = i;
		w->tq[i] = use_index ? (double)i : t[i];
		if (i > 0 && w->tq[i] < w->tq[i - 1])
			sorted = 0;
	}
	if (sorted)
		return;
	for (size_t i = 0; i < n; i++) {
		w->pairs[i].key = robust_order_key(w->tq[i]);
		w->pairs[i].idx = i;
	}
	robust_radix_sort(w->pairs, w->pairs_tmp, n);
	for (size_t q = 0; q < n; q++) {
		w->qrow[q] = w->pairs[q].idx;
		w->tq[q] = t[w->pairs[q].idx];
	}
}

/*
 * Stage 1, the time axis: w->tq/w->qrow = the n rows in time order, w->step =
 * the median positive spacing. When an instant is not finite, or no spacing
 * is positive (every row at one instant), the row index is the time axis
 * (tq[q] = q, step 1). Returns 1 when it is. Uses w->trend as scratch.
 */
static int time_axis(struct ws *w, const double *t)
{
	size_t n = w->n;
	int use_index = 0;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(t[i]))
			use_index = 1;
	order_rows(w, t, use_index);
	double step = 0.0;
	size_t nd = 0;
	for (size_t q = 1; q < n; q++)
		if (w->tq[q] > w->tq[q - 1])
			w->trend[nd++] = w->tq[q] - w->tq[q - 1];
	if (nd > 0)
		step = robust_median(w->trend, nd);
	if (!(step > 0.0)) { /* a single instant: the row index becomes the time axis */
		use_index = 1;
		for (size_t q = 0; q < n; q++)
			w->tq[q] = (double)q;
		step = 1.0;
	}
	w->step = step;
	return use_index;
}

/*
 * Stage 1, the analysed points: w->tv, w->v, w->vq = instant, value and sorted
 * position of every row with a finite x, in time order (w->m of them; needs
 * time_axis). Returns max |x| over them.
 */
static double valid_points(struct ws *w, const double *x)
{
	size_t j = 0;
	double maxabs = 0.0;
	for (size_t q = 0; q < w->n; q++) {
		double xi = x[w->qrow[q]];
		if (!isfinite(xi))
			continue;
		w->tv[j] = w->tq[q];
		w->v[j] = xi;
		w->vq[j] = q;
		if (fabs(xi) > maxabs)
			maxabs = fabs(xi);
		j++;
	}
	return maxabs;
}

/*
 * Stage 2, the scale of analysis. A non-negative series spanning more than
 * LOG_RANGE between the 10th and 90th percentile of its positive values
 * (on/off traffic: nights near 0, days at 1e9) varies by ratios, not by
 * amounts: w->v becomes log(v + c), c = that 10th percentile. Other series
 * are analysed as they are. maxabs is max |x| (valid_points). Returns the
 * choice with max and median |value| on the chosen scale. Uses w->tmp.
 */
static struct analysis analysis_scale(struct ws *w, double maxabs)
{
	size_t m = w->m;
	struct analysis A = {.use_log = 0, .c_log = 0.0, .maxabs = maxabs, .level = 0.0};
	size_t npos = 0;
	int nonneg = 1;
	for (size_t j = 0; j < m; j++) {
		if (w->v[j] < 0)
			nonneg = 0;
		else if (w->v[j] > 0)
			w->tmp[npos++] = w->v[j];
	}
	if (nonneg && npos >= 10) {
		double q10 = robust_select_kth(w->tmp, npos, (size_t)(0.1 * (double)(npos - 1)));
		double q90 = robust_select_kth(w->tmp, npos, (size_t)(0.9 * (double)(npos - 1)));
		if (q90 > LOG_RANGE * q10) {
			A.use_log = 1;
			A.c_log = q10;
			A.maxabs = 0.0;
			for (size_t j = 0; j < m; j++) {
				w->v[j] = log(w->v[j] + A.c_log);
				if (fabs(w->v[j]) > A.maxabs)
					A.maxabs = fabs(w->v[j]);
			}
		}
	}
	for (size_t j = 0; j < m; j++)
		w->tmp[j] = fabs(w->v[j]);
	A.level = robust_median(w->tmp, m);
	return A;
}

/*
 * Stage 3, the candidate periods: daily and weekly, each when a period
 * holds >= MIN_BINS steps and the points span >= MIN_CYCLES periods; none
 * on the row-index axis. Writes them to cands[2], shortest first, with
 * their phase bins and the half-width of their rolling median; returns how
 * many.
 */
static size_t candidate_periods(const struct ws *w, int use_index, struct season cands[2])
{
	const double periods[2] = {DAY, WEEK};
	size_t m = w->m;
	double step = w->step;
	double span = w->tv[m - 1] - w->tv[0] + step;
	size_t ncand = 0;
	for (int c = 0; c < 2 && !use_index; c++) {
		double P = periods[c];
		if (P / step < MIN_BINS || span < MIN_CYCLES * P)
			continue;
		double nbf = floor(P / step + 0.5);
		cands[ncand].period = P;
		/* A window of whole periods holding >= NONSEASONAL_MIN rows: a median of fewer
		 * rows sits on the row itself too often and the residual scale comes out small. */
		cands[ncand].half = ceil(NONSEASONAL_MIN / floor(P / step + 0.5)) * P / 2.0;
		size_t nbcap = m < MAX_BINS ? m : MAX_BINS;
		cands[ncand].nb = nbf > (double)nbcap ? nbcap : (size_t)nbf;
		cands[ncand].bw = P / (double)cands[ncand].nb;
		ncand++;
	}
	return ncand;
}

/*
 * Stage 4, the global robust linear trend, taken out of w->v: the median of
 * the slopes between points L rows apart, L = one period of shortest (so the
 * cycle cancels), or a tenth of the rows when shortest is NULL. A level shift
 * only touches the pairs that straddle it. A non-finite median gives no
 * trend. Returns the line. Uses w->resid.
 */
static struct line remove_trend(struct ws *w, const struct season *shortest)
{
	size_t m = w->m;
	struct line L = {.slope = 0.0, .tmid = w->tv[m / 2]};
	double lagf = shortest != NULL ? floor(shortest->period / w->step + 0.5)
	                               : floor(NONSEASONAL_FRAC * (double)m);
	size_t lag = lagf < 1.0 ? 1 : (lagf >= (double)m ? m : (size_t)lagf);
	size_t ns = 0;
	for (size_t j = 0; j + lag < m; j++) {
		double dt = w->tv[j + lag] - w->tv[j];
		if (dt > 0)
			w->resid[ns++] = (w->v[j + lag] - w->v[j]) / dt;
	}
	if (ns > 0)
		L.slope = robust_median(w->resid, ns);
	if (!isfinite(L.slope))
		L.slope = 0.0;
	for (size_t j = 0; j < m; j++)
		w->v[j] -= L.slope * (w->tv[j] - L.tmid);
	return L;
}

/*
 * Stage 5, the baseline of the detrended w->v: trend only (a rolling median
 * over a tenth of the rows, at least NONSEASONAL_MIN), or trend + profile
 * for one of cands[ncand] (fit_season). The smallest residual spread wins;
 * a profile must cut the spread of the best simpler one below SIMPLER_BONUS
 * times (all spreads 0: the first profile). Leaves the winner's trend in
 * w->best_trend[n] (by sorted row) and, for a season, its profile in
 * w->best_prof. Returns the winning season (an element of cands), NULL for
 * trend only. Sets w->sel_stride; uses every other array of the fit.
 */
static const struct season *fit_baseline(struct ws *w, const struct season *cands, size_t ncand)
{
	size_t m = w->m, n = w->n;
	double none_half = floor(NONSEASONAL_FRAC * (double)m);
	if (none_half < NONSEASONAL_MIN)
		none_half = NONSEASONAL_MIN;
	none_half = none_half / 2.0 * w->step;
	w->sel_stride = m > SELECT_POINTS ? (m + SELECT_POINTS - 1) / SELECT_POINTS : 1;
	const struct season *best = NULL;
	double best_sig = fit_none(w, none_half);
	memcpy(w->best_trend, w->trend, n * sizeof *w->trend);
	for (size_t c = 0; c < ncand; c++) {
		double sig = fit_season(w, &cands[c], cands[c].half);
		if (sig < SIMPLER_BONUS * best_sig || (sig == 0.0 && best_sig == 0.0 && best == NULL)) {
			best = &cands[c];
			best_sig = sig;
			memcpy(w->best_trend, w->trend, n * sizeof *w->trend);
			memcpy(w->best_prof, w->prof, best->nb * sizeof *w->prof);
		}
	}
	return best;
}

/*
 * Stage 6, the baseline at every row, on the scale of analysis and not yet
 * centred: expected[row] = the line + w->best_trend + the profile of best
 * (NULL: none) at the row's instant; 0 where that sum is not finite. Rows
 * with a missing value get one too.
 */
static void baseline_values(const struct ws *w, const struct line *L, const struct season *best,
                            double *expected)
{
	for (size_t q = 0; q < w->n; q++) {
		double e = w->best_trend[q] + L->slope * (w->tq[q] - L->tmid);
		if (best != NULL)
			e += w->best_prof[season_bin(best, w->tq[q])];
		expected[w->qrow[q]] = isfinite(e) ? e : 0.0;
	}
}

/*
 * Stage 6, the residuals: w->resid[j] = analysed x - expected of valid point
 * j; then the baseline is shifted so that the median residual is 0 (the
 * profile was centred by its mean): expected (where the sum stays finite)
 * and w->resid. Returns robust_sigma of the residuals (the MAD scale, with
 * its fallback for ties). Uses w->tmp.
 */
static double centre_residuals(struct ws *w, const double *x, const struct analysis *A,
                               double *expected)
{
	size_t m = w->m, n = w->n;
	for (size_t j = 0; j < m; j++) {
		size_t i = w->qrow[w->vq[j]];
		w->resid[j] = analysed(A, x[i]) - expected[i];
	}
	double centre = 0.0;
	double sigma = robust_sigma(w->resid, m, 1, w->tol, w->tmp, &centre);
	for (size_t i = 0; i < n; i++)
		if (isfinite(expected[i] + centre))
			expected[i] += centre;
	for (size_t j = 0; j < m; j++)
		w->resid[j] -= centre;
	return sigma;
}

/*
 * Stage 6, the global residual scale from the MAD scale sigma: raised
 * towards the TAIL_Q quantile of |w->resid| / TAIL_Z when the tail is
 * heavier than Gaussian (by at most TAIL_CAP times, and only with
 * >= TAIL_MIN_ROWS points), then floored at REL_FLOOR * level (flat series
 * do not flag noise in their last digits) and ABS_FLOOR_REL * maxabs (keeps
 * scores finite). Uses w->tmp.
 */
static double global_sigma(struct ws *w, double sigma, const struct analysis *A)
{
	size_t m = w->m;
	if (m >= TAIL_MIN_ROWS) {
		for (size_t j = 0; j < m; j++)
			w->tmp[j] = fabs(w->resid[j]);
		size_t kq = (size_t)(TAIL_Q * (double)(m - 1));
		double tail = robust_select_kth(w->tmp, m, kq) / TAIL_Z;
		if (tail > TAIL_CAP * sigma)
			tail = TAIL_CAP * sigma;
		if (tail > sigma)
			sigma = tail;
	}
	if (sigma < REL_FLOOR * A->level)
		sigma = REL_FLOOR * A->level;
	if (sigma < ABS_FLOOR_REL * A->maxabs)
		sigma = ABS_FLOOR_REL * A->maxabs;
	return sigma;
}

/*
 * Stage 6, the scale of each valid point, rowsig[m]: sigma, or with a
 * season (best not NULL) the larger of sigma and MAD_TO_SIGMA * median
 * |w->resid| of the point's phase group, bins pooled so that a group holds
 * >= PHASE_MIN_ROWS rows: noise may depend on the phase (quiet nights, busy
 * days), and a phase is judged against its own noise, never below the
 * global one. Uses w->bins, w->odd, w->cnt, w->prof and w->v (the detrended
 * values are no longer needed) as scratch; rowsig must be none of them.
 */
static void row_sigma(struct ws *w, const struct season *best, double sigma, double *rowsig)
{
	size_t m = w->m;
	for (size_t j = 0; j < m; j++)
		rowsig[j] = sigma;
	if (best == NULL)
		return;
	double cycles = (w->tv[m - 1] - w->tv[0] + w->step) / best->period;
	double per_bin = cycles > 1 ? cycles : 1;
	/* Bins pooled per group: at least 1, at most every bin (per_bin may be huge or
	 * non-finite when the instants span far more than the data's cycles). */
	double want = ceil(PHASE_MIN_ROWS / per_bin);
	size_t group = 1;
	if (want > 1)
		group = want < (double)best->nb ? (size_t)want : best->nb;
	if (group < 1)
		group = 1;
	struct season G = *best;
	G.nb = (best->nb + group - 1) / group;
	G.bw = best->period / (double)G.nb;
	season_index(w, &G);
	memset(w->cnt, 0, (G.nb + 1) * sizeof *w->cnt);
	for (size_t j = 0; j < m; j++)
		w->cnt[w->bins[j] + 1]++;
	for (size_t b = 0; b < G.nb; b++)
		w->cnt[b + 1] += w->cnt[b];
	double *grouped = w->v;
	for (size_t j = 0; j < m; j++)
		grouped[w->cnt[w->bins[j]]++] = fabs(w->resid[j]);
	for (size_t b = G.nb; b > 0; b--)
		w->cnt[b] = w->cnt[b - 1];
	w->cnt[0] = 0;
	for (size_t b = 0; b < G.nb; b++) {
		size_t cnt = w->cnt[b + 1] - w->cnt[b];
		w->prof[b] = cnt ? MAD_TO_SIGMA * robust_median(grouped + w->cnt[b], cnt) : 0.0;
	}
	for (size_t j = 0; j < m; j++)
		if (w->prof[w->bins[j]] > rowsig[j])
			rowsig[j] = w->prof[w->bins[j]];
}

/*
 * Stage 7, scores and flags of the valid points: score = |analysed x -
 * expected| / rowsig (0 when rowsig is 0; at most SCORE_CAP), anomaly =
 * score > k. Rows with a missing value are not touched.
 */
static void score_rows(const struct ws *w, const double *x, const struct analysis *A,
                       const double *expected, const double *rowsig, double k, double *score,
                       unsigned char *anomaly)
{
	for (size_t j = 0; j < w->m; j++) {
		size_t i = w->qrow[w->vq[j]];
		double y = analysed(A, x[i]);
		double z = rowsig[j] > 0 ? fabs(y - expected[i]) / rowsig[j] : 0.0;
		if (!(z < SCORE_CAP))
			z = SCORE_CAP;
		score[i] = z;
		anomaly[i] = z > k;
	}
}

/*
 * Stage 7, expected[n] back in the metric's units: on the log scale
 * exp(e) - c_log, 0 where that is not positive and finite; unchanged
 * otherwise.
 */
static void metric_units(const struct analysis *A, double *expected, size_t n)
{
	if (!A->use_log)
		return;
	for (size_t i = 0; i < n; i++) {
		double e = exp(expected[i]) - A->c_log;
		expected[i] = e > 0 && isfinite(e) ? e : 0.0;
	}
}

/* ------------------------------------------------------------ the driver */

enum rb_code robust_detect(const double *x, const double *t, size_t n, double sensitivity,
                           double *expected, double *score, unsigned char *anomaly,
                           double *threshold, struct rb_err *err)
{
	double k = robust_threshold(sensitivity);
	*threshold = k;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		m += isfinite(x[i]) != 0;
		expected[i] = 0.0;
		score[i] = 0.0;
		anomaly[i] = 0;
	}
	if (m == 0)
		return RB_OK;
	struct ws w;
	if (!ws_alloc(&w, n, m)) {
		ws_free(&w);
		return rb_err_set(err, RB_E_NOMEM, "out of memory for the default detector (%zu rows)",
		                  n);
	}

	int use_index = time_axis(&w, t);
	struct analysis A = analysis_scale(&w, valid_points(&w, x));
	w.tol = ZERO_TOL_REL * A.maxabs;
	struct season cands[2];
	size_t ncand = candidate_periods(&w, use_index, cands);
	struct line L = remove_trend(&w, ncand > 0 ? &cands[0] : NULL);
	const struct season *best = fit_baseline(&w, cands, ncand);
	baseline_values(&w, &L, best, expected);
	double sigma = centre_residuals(&w, x, &A, expected);
	sigma = global_sigma(&w, sigma, &A);
	double *rowsig = w.buf; /* [m]; row_sigma's scratch is elsewhere */
	row_sigma(&w, best, sigma, rowsig);
	score_rows(&w, x, &A, expected, rowsig, k, score, anomaly);
	metric_units(&A, expected, n);
	ws_free(&w);
	return RB_OK;
}
