/*
 * detector_robust: the default (model-free) detector, a robust seasonal
 * baseline with robust z-scores. The method and its reasons are in
 * docs/DEFAULT-DETECTOR.md; in short, over the whole window:
 *
 *  1. rows are ordered by time; the sampling step is the median positive
 *     spacing (no positive spacing: the row index is the time axis);
 *  2. a global linear trend is removed, its slope the median of the slopes
 *     between points half the window apart (robust to spikes and shifts);
 *  3. candidate baselines: none, daily, weekly (a period is a candidate when
 *     it holds >= 4 steps and the window spans >= 3 periods). Each is a
 *     rolling median over one period (none: a tenth of the window) plus,
 *     for a period, a per-phase median profile, refitted once (STL-like);
 *     the candidate with the smallest out-of-sample residual spread wins,
 *     the profile being judged on the cycles it was not fitted on;
 *  4. score = |x - expected| / sigma, sigma = 1.4826 * median |residual|
 *     (a higher quantile when that is 0), floored at REL_FLOOR * median |x|
 *     so a flat or near-constant series does not flag rounding noise;
 *     a row is an anomaly when score > k(sensitivity).
 *
 * Time O(n log n) (sorting, Fenwick-tree rolling medians), memory O(n), no
 * allocation beyond one workspace. Not here: choice of the metric and the
 * detector (core/detector.c), the legacy detector (core/detector_legacy.c).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"

#define DAY 86400.0
#define WEEK 604800.0
#define MIN_CYCLES 3.0        /* periods a window must span to fit a profile */
#define MIN_BINS 4.0          /* steps a period must hold to be a candidate */
#define MAX_BINS 10080        /* phase bins per period (cap) */
#define NONSEASONAL_FRAC 0.1  /* rolling-median window without a period, share of rows */
#define NONSEASONAL_MIN 7.0   /* ... and its minimum, in rows */
#define SIMPLER_BONUS 0.95    /* a period must cut the residual spread below this share */
#define REL_FLOOR 1e-3        /* sigma >= REL_FLOOR * median |x| */
#define ABS_FLOOR_REL 1e-12   /* sigma >= ABS_FLOOR_REL * max |x| (keeps scores finite) */
#define SCORE_CAP 1e12        /* scores are clamped to this */
#define MAD_TO_SIGMA 1.482602218505602

/* Sensitivity s in [0, 1] -> threshold k in robust sigmas: s = 0 gives K_MAX, s = 1 K_MIN. */
#define K_MIN 2.0
#define K_MAX 10.0

double robust_threshold(double sensitivity)
{
	double s = isfinite(sensitivity) ? sensitivity : DETECTOR_DEFAULT_SENSITIVITY;
	if (s < 0.0)
		s = 0.0;
	if (s > 1.0)
		s = 1.0;
	return K_MAX - (K_MAX - K_MIN) * s;
}

/* ---------------------------------------------------------------- helpers */

struct keyed {
	double key;
	size_t idx;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->key < y->key)
		return -1;
	if (x->key > y->key)
		return 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* k-th smallest (0-based) of v[n], reordering v (Hoare quickselect, median-of-3). */
static double select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (hi > lo) {
		size_t mid = lo + (hi - lo) / 2;
		double a = v[lo], b = v[mid], c = v[hi];
		double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		size_t i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				double tmp = v[i];
				v[i] = v[j];
				v[j] = tmp;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return v[k];
	}
	return v[k];
}

/* Median of v[n] (n >= 1), reordering v. */
static double median_inplace(double *v, size_t n)
{
	double hi = select_kth(v, n, n / 2);
	if (n % 2)
		return hi;
	/* The lower middle is the largest of v[0 .. n/2) after the selection. */
	double lo = v[0];
	for (size_t i = 1; i < n / 2; i++)
		if (v[i] > lo)
			lo = v[i];
	return lo + (hi - lo) / 2.0;
}

/* ------------------------------------------------ rolling median (Fenwick) */

/* Workspace of rollmed(): ranks of the values and a Fenwick tree of counts. */
struct medws {
	struct keyed *pairs; /* [m] */
	size_t *rank;        /* [m] rank of point j */
	double *sorted;      /* [m] values in rank order */
	size_t *bit;         /* [m + 1] Fenwick tree */
};

static void bit_add(size_t *bit, size_t m, size_t pos, int delta)
{
	for (size_t i = pos + 1; i <= m; i += i & (~i + 1))
		bit[i] = (size_t)((long)bit[i] + delta);
}

/* Rank (0-based) of the k-th (1-based) present value. */
static size_t bit_kth(const size_t *bit, size_t m, size_t k)
{
	size_t pos = 0, step = 1;
	while (step * 2 <= m)
		step *= 2;
	for (; step > 0; step /= 2) {
		if (pos + step <= m && bit[pos + step] < k) {
			pos += step;
			k -= bit[pos];
		}
	}
	return pos;
}

/*
 * out[q] = median of the v[j] with |tv[j] - tq[q]| <= half, for nq query
 * times tq sorted ascending; tv[m] sorted ascending, m >= 1. An empty window
 * takes the nearest point's value.
 */
static void rollmed(const double *tv, const double *v, size_t m, const double *tq, size_t nq,
                    double half, double *out, struct medws *w)
{
	for (size_t j = 0; j < m; j++) {
		w->pairs[j].key = v[j];
		w->pairs[j].idx = j;
	}
	qsort(w->pairs, m, sizeof *w->pairs, cmp_keyed);
	for (size_t r = 0; r < m; r++) {
		w->rank[w->pairs[r].idx] = r;
		w->sorted[r] = w->pairs[r].key;
	}
	memset(w->bit, 0, (m + 1) * sizeof *w->bit);
	size_t lo = 0, hi = 0; /* window = points [lo, hi) */
	for (size_t q = 0; q < nq; q++) {
		while (hi < m && tv[hi] <= tq[q] + half)
			bit_add(w->bit, m, w->rank[hi++], 1);
		while (lo < hi && tv[lo] < tq[q] - half)
			bit_add(w->bit, m, w->rank[lo++], -1);
		size_t cnt = hi - lo;
		if (cnt == 0) {
			size_t j;
			if (hi >= m)
				j = m - 1;
			else if (hi == 0)
				j = 0;
			else
				j = (tv[hi] - tq[q] < tq[q] - tv[hi - 1]) ? hi : hi - 1;
			out[q] = v[j];
			continue;
		}
		double a = w->sorted[bit_kth(w->bit, m, (cnt + 1) / 2)];
		if (cnt % 2) {
			out[q] = a;
		} else {
			double b = w->sorted[bit_kth(w->bit, m, cnt / 2 + 1)];
			out[q] = a + (b - a) / 2.0;
		}
	}
}

/* ------------------------------------------------------ seasonal profiles */

struct season {
	double period; /* seconds (or rows when there is no time axis) */
	size_t nb;     /* phase bins */
	double bw;     /* bin width = period / nb */
};

static size_t season_bin(const struct season *S, double t)
{
	double ph = fmod(t, S->period);
	if (ph < 0)
		ph += S->period;
	size_t b = (size_t)(ph / S->bw);
	return b >= S->nb ? S->nb - 1 : b;
}

/* Parity of the cycle holding t (0 even, 1 odd). */
static int season_parity(const struct season *S, double t)
{
	double c = floor(t / S->period);
	return fmod(fabs(c), 2.0) >= 1.0;
}

/* Workspace of profile(). */
struct profws {
	size_t *cnt;   /* [nb + 1] */
	double *buf;   /* [m] values grouped by bin */
	size_t *bins;  /* [m] bin of point j */
};

/*
 * prof[nb] = per-bin median of r over the points j (parity -1: all; 0 or 1:
 * only points in cycles of that parity), empty bins filled from the nearest
 * filled bin, then centred to mean 0. Returns 0 when no point qualified
 * (prof is then all 0).
 */
static int profile(const struct season *S, const double *tv, const double *r, size_t m,
                   int parity, double *prof, struct profws *w)
{
	size_t nb = S->nb;
	memset(w->cnt, 0, (nb + 1) * sizeof *w->cnt);
	for (size_t j = 0; j < m; j++) {
		w->bins[j] = season_bin(S, tv[j]);
		if (parity < 0 || season_parity(S, tv[j]) == parity)
			w->cnt[w->bins[j] + 1]++;
	}
	for (size_t b = 0; b < nb; b++)
		w->cnt[b + 1] += w->cnt[b];
	if (w->cnt[nb] == 0) {
		for (size_t b = 0; b < nb; b++)
			prof[b] = 0.0;
		return 0;
	}
	/* Counting sort into buf; cnt[b] becomes the end of bin b, then restored. */
	for (size_t j = 0; j < m; j++)
		if (parity < 0 || season_parity(S, tv[j]) == parity)
			w->buf[w->cnt[w->bins[j]]++] = r[j];
	for (size_t b = nb; b > 0; b--)
		w->cnt[b] = w->cnt[b - 1];
	w->cnt[0] = 0;
	for (size_t b = 0; b < nb; b++) {
		size_t k = w->cnt[b + 1] - w->cnt[b];
		prof[b] = k ? median_inplace(w->buf + w->cnt[b], k) : NAN;
	}
	/* Fill empty bins: forward then backward sweeps over the circle. */
	size_t first = 0;
	while (isnan(prof[first]))
		first++;
	double last = prof[first];
	for (size_t i = 1; i <= nb; i++) {
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
	return 1;
}

/* ------------------------------------------------------------ the fit */

struct ws {
	size_t n, m;
	double *tq;     /* [n] times of all rows, ascending */
	size_t *qrow;   /* [n] row of sorted position q */
	double *tv;     /* [m] times of rows with a finite value, ascending */
	double *v;      /* [m] their values, global linear trend removed */
	size_t *vq;     /* [m] sorted position of valid point j */
	double *trend;  /* [n] rolling median at every row */
	double *resid;  /* [m] scratch */
	double *tmp;    /* [m] scratch */
	double *prof;   /* [MAX_BINS] */
	double *prof2;  /* [MAX_BINS] */
	struct medws med;
	struct profws pw;
};

/* Robust spread of r[m]: 1.4826 * median |r|, or a higher quantile scaled likewise when that is 0. */
static double robust_sigma(const double *r, size_t m, double *scratch)
{
	static const double q[] = {0.5, 0.75, 0.9, 0.95, 0.99};
	static const double z[] = {0.6744897501960817, 1.1503493803760079, 1.6448536269514722,
	                           1.959963984540054, 2.5758293035489004};
	if (m == 0)
		return 0.0;
	for (size_t j = 0; j < m; j++)
		scratch[j] = fabs(r[j]);
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		size_t k = (size_t)(q[i] * (double)(m - 1) + 0.5);
		double a = select_kth(scratch, m, k);
		if (a > 0)
			return a / z[i];
	}
	return 0.0;
}

/*
 * Fits one candidate: period S (NULL = none) with rolling-median half-width
 * half. On return ws->trend[n] and (for a period) ws->prof hold the fit; the
 * expected value of sorted row q is trend[q] + prof[bin(tq[q])]. Returns the
 * residual spread: out of sample for the profile when oos is set.
 */
static double fit(struct ws *w, const struct season *S, double half, int oos)
{
	size_t m = w->m;
	rollmed(w->tv, w->v, m, w->tq, w->n, half, w->trend, &w->med);
	if (S == NULL) {
		for (size_t j = 0; j < m; j++)
			w->resid[j] = w->v[j] - w->trend[w->vq[j]];
		return robust_sigma(w->resid, m, w->tmp);
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t j = 0; j < m; j++)
			w->resid[j] = w->v[j] - w->trend[w->vq[j]];
		profile(S, w->tv, w->resid, m, -1, w->prof, &w->pw);
		for (size_t j = 0; j < m; j++)
			w->resid[j] = w->v[j] - w->prof[season_bin(S, w->tv[j])];
		rollmed(w->tv, w->resid, m, w->tq, w->n, half, w->trend, &w->med);
	}
	for (size_t j = 0; j < m; j++)
		w->resid[j] = w->v[j] - w->trend[w->vq[j]];
	if (!oos) {
		profile(S, w->tv, w->resid, m, -1, w->prof, &w->pw);
		for (size_t j = 0; j < m; j++)
			w->resid[j] -= w->prof[season_bin(S, w->tv[j])];
		return robust_sigma(w->resid, m, w->tmp);
	}
	/* Profile of even cycles judged on odd ones and vice versa. */
	profile(S, w->tv, w->resid, m, 0, w->prof, &w->pw);
	profile(S, w->tv, w->resid, m, 1, w->prof2, &w->pw);
	for (size_t j = 0; j < m; j++) {
		size_t b = season_bin(S, w->tv[j]);
		w->resid[j] -= season_parity(S, w->tv[j]) ? w->prof[b] : w->prof2[b];
	}
	double sig = robust_sigma(w->resid, m, w->tmp);
	/* Leave the full-data profile for the caller. */
	for (size_t j = 0; j < m; j++)
		w->resid[j] = w->v[j] - w->trend[w->vq[j]];
	profile(S, w->tv, w->resid, m, -1, w->prof, &w->pw);
	return sig;
}

static enum rb_code ws_alloc(struct ws *w, size_t n, size_t m, void **block, struct rb_err *err)
{
	size_t nd = 2 * n + 5 * m + 2 * MAX_BINS;  /* doubles */
	size_t ns = n + m + 2 * m + (m + 1) + (MAX_BINS + 1); /* size_t */
	size_t bytes = nd * sizeof(double) + ns * sizeof(size_t) + m * sizeof(struct keyed);
	char *p = malloc(bytes);
	if (p == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory for the default detector (%zu rows)",
		                  n);
	*block = p;
	w->n = n;
	w->m = m;
	w->med.pairs = (struct keyed *)p;
	p += m * sizeof(struct keyed);
	double *d = (double *)p;
	w->tq = d, d += n;
	w->trend = d, d += n;
	w->tv = d, d += m;
	w->v = d, d += m;
	w->resid = d, d += m;
	w->tmp = d, d += m;
	w->med.sorted = d, d += m;
	w->prof = d, d += MAX_BINS;
	w->prof2 = d, d += MAX_BINS;
	w->pw.buf = NULL; /* its own allocation, see robust_detect */
	size_t *s = (size_t *)d;
	w->qrow = s, s += n;
	w->vq = s, s += m;
	w->med.rank = s, s += m;
	w->pw.bins = s, s += m;
	w->med.bit = s, s += m + 1;
	w->pw.cnt = s;
	return RB_OK;
}

enum rb_code robust_detect(const double *x, const double *t, size_t n, double sensitivity,
                           double *expected, double *score, unsigned char *anomaly,
                           double *threshold, struct rb_err *err)
{
	double k = robust_threshold(sensitivity);
	*threshold = k;
	if (n == 0)
		return RB_OK;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		m += isfinite(x[i]) != 0;
	if (m == 0) {
		for (size_t i = 0; i < n; i++) {
			expected[i] = 0.0;
			score[i] = 0.0;
			anomaly[i] = 0;
		}
		return RB_OK;
	}
	struct ws w;
	void *block = NULL;
	enum rb_code rc = ws_alloc(&w, n, m, &block, err);
	if (rc != RB_OK)
		return rc;
	double *pwbuf = malloc(m * sizeof *pwbuf);
	if (pwbuf == NULL) {
		free(block);
		return rb_err_set(err, RB_E_NOMEM, "out of memory for the default detector");
	}
	w.pw.buf = pwbuf;

	/* 1. Time order; no usable time axis -> the row index. */
	int use_index = 0;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(t[i]))
			use_index = 1;
	{
		struct keyed *ord = malloc(n * sizeof *ord);
		if (ord == NULL) {
			free(pwbuf);
			free(block);
			return rb_err_set(err, RB_E_NOMEM, "out of memory for the default detector");
		}
		for (size_t i = 0; i < n; i++) {
			ord[i].key = use_index ? (double)i : t[i];
			ord[i].idx = i;
		}
		qsort(ord, n, sizeof *ord, cmp_keyed);
		for (size_t q = 0; q < n; q++) {
			w.tq[q] = ord[q].key;
			w.qrow[q] = ord[q].idx;
		}
		free(ord);
	}
	/* Sampling step: median positive spacing. */
	double step = 0.0;
	{
		size_t nd = 0;
		for (size_t q = 1; q < n; q++)
			if (w.tq[q] > w.tq[q - 1])
				w.trend[nd++] = w.tq[q] - w.tq[q - 1];
		if (nd > 0)
			step = median_inplace(w.trend, nd);
	}
	if (!(step > 0.0)) { /* one instant only: the row index becomes the time axis */
		use_index = 1;
		for (size_t q = 0; q < n; q++)
			w.tq[q] = (double)q;
		step = 1.0;
	}
	size_t j = 0;
	for (size_t q = 0; q < n; q++) {
		double xi = x[w.qrow[q]];
		if (!isfinite(xi))
			continue;
		w.tv[j] = w.tq[q];
		w.v[j] = xi;
		w.vq[j] = q;
		j++;
	}

	/* Typical magnitude, for the floors. */
	double maxabs = 0.0;
	for (j = 0; j < m; j++) {
		w.tmp[j] = fabs(w.v[j]);
		if (w.tmp[j] > maxabs)
			maxabs = w.tmp[j];
	}
	double level = median_inplace(w.tmp, m);

	/* 2. Global robust linear trend: median slope between points m/2 apart. */
	double slope = 0.0, tmid = w.tv[m / 2];
	{
		size_t h = m / 2, ns = 0;
		for (j = 0; h > 0 && j + h < m; j++) {
			double dt = w.tv[j + h] - w.tv[j];
			if (dt > 0)
				w.resid[ns++] = (w.v[j + h] - w.v[j]) / dt;
		}
		if (ns > 0)
			slope = median_inplace(w.resid, ns);
		if (!isfinite(slope))
			slope = 0.0;
	}
	for (j = 0; j < m; j++)
		w.v[j] -= slope * (w.tv[j] - tmid);

	/* 3. Candidates. */
	double span = w.tv[m - 1] - w.tv[0] + step;
	struct season cands[2];
	size_t ncand = 0;
	if (!use_index) {
		const double periods[2] = {DAY, WEEK};
		for (int c = 0; c < 2; c++) {
			double P = periods[c];
			if (P / step < MIN_BINS || span < MIN_CYCLES * P)
				continue;
			double nbf = floor(P / step + 0.5);
			size_t nb = nbf > MAX_BINS ? MAX_BINS : (size_t)nbf;
			cands[ncand].period = P;
			cands[ncand].nb = nb;
			cands[ncand].bw = P / (double)nb;
			ncand++;
		}
	}
	double ns_rows = floor(NONSEASONAL_FRAC * (double)m);
	if (ns_rows < NONSEASONAL_MIN)
		ns_rows = NONSEASONAL_MIN;
	double ns_half = ns_rows / 2.0 * step;
	const struct season *best = NULL;
	double best_half = ns_half;
	if (ncand > 0) {
		double best_sig = fit(&w, NULL, ns_half, 1);
		for (size_t c = 0; c < ncand; c++) {
			double sig = fit(&w, &cands[c], cands[c].period / 2.0, 1);
			if (sig < SIMPLER_BONUS * best_sig || (best_sig == 0 && sig == 0 && best == NULL)) {
				best = &cands[c];
				best_sig = sig;
				best_half = cands[c].period / 2.0;
			}
		}
	}
	fit(&w, best, best_half, 0);

	/* 4. Expected values, residuals, scale and scores. */
	for (size_t q = 0; q < n; q++) {
		double e = w.trend[q] + slope * (w.tq[q] - tmid);
		if (best != NULL)
			e += w.prof[season_bin(best, w.tq[q])];
		expected[w.qrow[q]] = isfinite(e) ? e : 0.0;
	}
	for (j = 0; j < m; j++)
		w.resid[j] = x[w.qrow[w.vq[j]]] - expected[w.qrow[w.vq[j]]];
	double sigma = robust_sigma(w.resid, m, w.tmp);
	double floor_rel = REL_FLOOR * level, floor_abs = ABS_FLOOR_REL * maxabs;
	if (sigma < floor_rel)
		sigma = floor_rel;
	if (sigma < floor_abs)
		sigma = floor_abs;
	for (size_t i = 0; i < n; i++) {
		score[i] = 0.0;
		anomaly[i] = 0;
		if (!isfinite(x[i]))
			continue;
		double r = fabs(x[i] - expected[i]);
		double z = sigma > 0 ? r / sigma : 0.0;
		if (!(z < SCORE_CAP))
			z = SCORE_CAP;
		score[i] = z;
		anomaly[i] = z > k;
	}
	free(pwbuf);
	free(block);
	return RB_OK;
}
