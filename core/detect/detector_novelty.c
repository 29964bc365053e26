/*
 * detector_novelty: the "novelty" detector, which flags what is rare for
 * this series relative to what the series has already shown (the rows
 * before it, left-looking, as a stream would see them). The method and its
 * reasons are in docs/DEFAULT-DETECTOR.md ("The novelty detector"); in
 * short:
 *
 *  1. rows are ordered by time; rows with a non-finite value are skipped
 *     (score 0, never flagged) [nv_order];
 *  2. each measure's dead band from the series' own spread and resolution:
 *     the largest of half its inter-decile range, 2 quanta (the smallest
 *     positive gap between consecutive distinct values, when there are two
 *     or more) and 1 % of the full range [nv_resolution, nv_band]; a row must beat the
 *     (K+1)-th most extreme earlier value by the band to count as rare, so
 *     records of ordinary noise, which beat earlier extremes by little, are
 *     not rare;
 *  3. non-conformity measures, each signed (up and down judged apart):
 *     the value itself (level), its residual from the median of the
 *     previous NV_BASE_ROWS rows (jump) [nv_baseline], and over >= 2 days
 *     of rows at most 6 h apart its excess over the same time of the
 *     previous days (seasonal nearest neighbour) [nv_season];
 *  4. per row and measure, the count c of earlier rows at least as extreme
 *     within the dead band (conservative ties: a value shared with many
 *     earlier rows is never rare); p = (c + 1) / (t + 1) is the conformal
 *     p-value among the t earlier rows [nv_counts, Fenwick trees over ranks];
 *  5. a row is a candidate when, for some measure, c <= K ("seen at most K
 *     times before") and p <= eps (enough rows seen to tell); K and eps
 *     come from the sensitivity [novelty_params];
 *  6. only the onset of a run of candidates is flagged, and no new onset
 *     within NV_REFRACTORY of the previous flag (with the row index as
 *     the time axis: NV_REFRACTORY_ROWS rows, and no seasonal measure),
 *     unless the onset escalates: some measure lies beyond every earlier
 *     value of it by NV_STRONG dead bands [novelty_detect].
 *
 * score = -log10(p*), p* = max((c + 1) / (t + 1), eps (c + 1) / (K + 1))
 * minimised over measures and directions, threshold = -log10(eps): a
 * row is a candidate exactly when score >= threshold; anomaly[] holds the
 * onsets (step 6), a subset of the candidates.
 * expected = the median of the previous rows (the jump baseline).
 *
 * Time O(n log n) (radix sorts, Fenwick trees), memory linear in rows, one
 * allocation. Deterministic.
 * Not here: the default detector (core/detect/detector_robust.c), choice of
 * the metric and of the detector (core/detect/detector.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/detector.h"

#include "robust_median.h"

#define NV_DAY 86400.0
#define NV_BASE_ROWS 9       /* rows of the trailing median (jump baseline) */
#define NV_MEASURES 3        /* level, jump, seasonal */
#define NV_SEASON_DAYS 7     /* previous days searched by the seasonal measure */
/* Every constant below is relative to the series or a unit of time; none was fitted per file. */

#define NV_BAND_FRAC 0.5     /* dead band: share of the measure's inter-decile range */
#define NV_BAND_QUANTA 2.0   /* ... and at least this many quanta */
#define NV_BAND_RANGE 0.01   /* ... and at least this share of its full range */
#define NV_REFRACTORY 43200.0 /* seconds without a new onset after a flag (12 h) */
#define NV_REFRACTORY_ROWS 720.0 /* ... in rows when the row index is the time axis */
#define NV_STRONG 2.0        /* beyond every earlier value by this many bands: may re-open */
#define NV_SEASON_HALF 2.0   /* seasonal slot: +- this many steps */
#define NV_SEASON_MIN_DAYS 2.0 /* the seasonal measure needs this span ... */
#define NV_SEASON_MAX_STEP 0.25 /* ... and a step of at most this share of a day */

void novelty_params(double sensitivity, double *eps, double *kmax)
{
	double s = isfinite(sensitivity) ? sensitivity : DETECTOR_NOVELTY_SENSITIVITY;
	if (s < 0.0)
		s = 0.0;
	if (s > 1.0)
		s = 1.0;
	/* s = 0: eps 0.005, K 0; 0.25: 0.0108, 1; 0.5: 0.0232, 3; 0.75: 0.05, 5; 1: 0.108, 6. */
	*eps = 0.005 * pow(10.0, 4.0 * s / 3.0);
	*kmax = floor(20.0 * s / 3.0 + 1e-9);
}

/* ------------------------------------------------------------ workspace */

struct nv_ws {
	void *block;
	size_t *row;   /* [m] original row of valid point j, in time order */
	double *tv;    /* [m] its instant */
	double *v;     /* [m] its value */
	double *meas;  /* [NV_MEASURES][m] measure values (NAN = not defined) */
	double *sorted;/* [m] sorted values of one measure */
	size_t *rank;  /* [m] rank of point j in sorted */
	uint32_t *fen; /* [m + 1] Fenwick tree over ranks */
	size_t *lo;    /* [m] per rank r: first rank whose value >= sorted[r] - band */
	size_t *hi;    /* [m] per rank r: first rank whose value > sorted[r] + band */
	double *pbest; /* [m] best p* */
	double *inv;   /* [m] inv[s] = 1 / (s + 1) */
	unsigned char *strong; /* [m] 1: beyond every earlier value by NV_STRONG bands */
	double *base;  /* [m] trailing median */
	struct robust_keyed *pairs, *pairs_tmp; /* [max(n, m)] */
};

static void *carve(void *block, size_t *off, size_t count, size_t size)
{
	void *p = block == NULL ? NULL : (char *)block + *off;
	*off += (count * size + 15) & ~(size_t)15;
	return p;
}

static int nv_alloc(struct nv_ws *w, size_t n)
{
	memset(w, 0, sizeof *w);
	size_t m = n > 0 ? n : 1;
	for (int pass = 0; pass < 2; pass++) {
		size_t off = 0;
		w->row = carve(w->block, &off, m, sizeof *w->row);
		w->tv = carve(w->block, &off, m, sizeof *w->tv);
		w->v = carve(w->block, &off, m, sizeof *w->v);
		w->meas = carve(w->block, &off, NV_MEASURES * m, sizeof *w->meas);
		w->sorted = carve(w->block, &off, m, sizeof *w->sorted);
		w->rank = carve(w->block, &off, m, sizeof *w->rank);
		w->fen = carve(w->block, &off, m + 1, sizeof *w->fen);
		w->lo = carve(w->block, &off, m, sizeof *w->lo);
		w->hi = carve(w->block, &off, m, sizeof *w->hi);
		w->pbest = carve(w->block, &off, m, sizeof *w->pbest);
		w->inv = carve(w->block, &off, m, sizeof *w->inv);
		w->strong = carve(w->block, &off, m, sizeof *w->strong);
		w->base = carve(w->block, &off, m, sizeof *w->base);
		w->pairs = carve(w->block, &off, m, sizeof *w->pairs);
		w->pairs_tmp = carve(w->block, &off, m, sizeof *w->pairs_tmp);
		if (pass == 0) {
			w->block = malloc(off);
			if (w->block == NULL)
				return 0;
		}
	}
	return 1;
}

/* ------------------------------------------------------------ stages */

/*
 * Valid rows in time order into w->row/tv/v; returns their count m. When a
 * timestamp is not finite the row index is the time axis (*use_index = 1).
 */
static size_t nv_order(struct nv_ws *w, const double *x, const double *t, size_t n,
                       int *use_index_out)
{
	int use_index = 0;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(t[i]))
			use_index = 1;
	int ascending = 1;
	for (size_t i = 0; i < n; i++) {
		w->pairs[i].key = robust_order_key(use_index ? (double)i : t[i]);
		w->pairs[i].idx = i;
		if (i > 0 && w->pairs[i].key < w->pairs[i - 1].key)
			ascending = 0;
	}
	if (!ascending) /* the usual case, rows in time order, needs no sort */
		robust_radix_sort(w->pairs, w->pairs_tmp, n);
	size_t m = 0;
	for (size_t q = 0; q < n; q++) {
		size_t i = w->pairs[q].idx;
		if (!isfinite(x[i]))
			continue;
		w->row[m] = i;
		w->tv[m] = use_index ? (double)i : t[i];
		w->v[m] = x[i];
		m++;
	}
	*use_index_out = use_index;
	return m;
}

/*
 * Sorts the defined values of a[m] into w->sorted (count returned) and
 * writes each defined point's rank; an undefined (NAN) point gets rank m.
 */
static size_t nv_rank(struct nv_ws *w, const double *a, size_t m)
{
	size_t k = 0;
	for (size_t j = 0; j < m; j++) {
		if (isnan(a[j])) {
			w->rank[j] = m;
			continue;
		}
		w->pairs[k].key = robust_order_key(a[j]);
		w->pairs[k].idx = j;
		k++;
	}
	robust_radix_sort(w->pairs, w->pairs_tmp, k);
	for (size_t r = 0; r < k; r++) {
		w->sorted[r] = a[w->pairs[r].idx];
		w->rank[w->pairs[r].idx] = r;
	}
	return k;
}

/*
 * Resolution of the sorted values s[k]: *q the quantum, the smallest
 * positive gap between consecutive distinct values when there are at least
 * two such gaps (0 otherwise: one step is not a resolution, and a spike on
 * a constant series would make its own jump the quantum and hide itself in
 * the dead band), *spread the inter-decile range (the full range when that
 * is 0), *range the full range.
 */
static void nv_resolution(const double *s, size_t k, double *q, double *spread, double *range)
{
	*q = 0.0;
	*spread = 0.0;
	*range = 0.0;
	if (k < 2)
		return;
	size_t ng = 0;
	double smallest = INFINITY;
	for (size_t r = 1; r < k; r++) {
		if (s[r] > s[r - 1]) {
			ng++;
			if (s[r] - s[r - 1] < smallest)
				smallest = s[r] - s[r - 1];
		}
	}
	if (ng >= 2)
		*q = smallest;
	double idr = s[(size_t)(0.9 * (double)(k - 1))] - s[(size_t)(0.1 * (double)(k - 1))];
	*spread = idr > 0.0 ? idr : s[k - 1] - s[0];
	*range = s[k - 1] - s[0];
}

/* Fenwick tree over ranks 0..k-1 (counts fit 32 bits: novelty_detect caps the rows). */
static void fen_add(uint32_t *fen, size_t k, size_t r)
{
	for (size_t i = r + 1; i <= k; i += i & (0 - i))
		fen[i]++;
}

/* Number of inserted ranks < r. */
static size_t fen_prefix(const uint32_t *fen, size_t r)
{
	size_t s = 0;
	for (size_t i = r; i > 0; i -= i & (0 - i))
		s += fen[i];
	return s;
}

/*
 * w->base[j] = median of the NV_BASE_ROWS values before j (v[0] for j = 0);
 * of an even count, lo + (hi - lo) / 2 as robust_median.
 */
static void nv_baseline(struct nv_ws *w, size_t m)
{
	double win[NV_BASE_ROWS];
	size_t nw = 0;
	for (size_t j = 0; j < m; j++) {
		if (nw == 0)
			w->base[j] = w->v[0];
		else
			w->base[j] = nw % 2 ? win[nw / 2]
			                    : win[nw / 2 - 1] + (win[nw / 2] - win[nw / 2 - 1]) / 2.0;
		/* drop v[j - NV_BASE_ROWS], insert v[j] (win stays sorted) */
		if (j >= NV_BASE_ROWS) {
			double old = w->v[j - NV_BASE_ROWS];
			size_t p = 0;
			while (p + 1 < nw && win[p] != old) /* old is in win: finite values */
				p++;
			for (; p + 1 < nw; p++)
				win[p] = win[p + 1];
			nw--;
		}
		size_t p = nw;
		while (p > 0 && win[p - 1] > w->v[j]) {
			win[p] = win[p - 1];
			p--;
		}
		win[p] = w->v[j];
		nw++;
	}
}

/*
 * The seasonal measure at point j (a nearest neighbour in the daily slot),
 * against the values within +-half steps of the same time on each of the
 * previous NV_SEASON_DAYS days: e[j] = how far v[j] lies above the highest
 * of them (> 0), or minus how far below the lowest (< 0), else 0; NAN when
 * no earlier day has a value in the slot. One pointer per day advances
 * with j: O(m * days * slot).
 */
static void nv_season(const struct nv_ws *w, size_t m, double step, double half, double *e)
{
	size_t ptr[NV_SEASON_DAYS + 1] = {0};
	double hw = half * step;
	for (size_t j = 0; j < m; j++) {
		double hi = -INFINITY, lo = INFINITY;
		size_t seen = 0;
		for (int d = 1; d <= NV_SEASON_DAYS; d++) {
			double target = w->tv[j] - (double)d * NV_DAY;
			size_t c = ptr[d];
			while (c < j && w->tv[c] < target - hw)
				c++;
			ptr[d] = c;
			for (; c < j && w->tv[c] <= target + hw; c++) {
				if (w->v[c] > hi)
					hi = w->v[c];
				if (w->v[c] < lo)
					lo = w->v[c];
				seen++;
			}
		}
		if (seen == 0)
			e[j] = NAN;
		else if (w->v[j] > hi)
			e[j] = w->v[j] - hi;
		else if (w->v[j] < lo)
			e[j] = w->v[j] - lo;
		else
			e[j] = 0.0;
	}
}

/* Dead band of a measure from its sorted defined values s[k]. */
static double nv_band(const double *s, size_t k)
{
	double q, spread, range;
	nv_resolution(s, k, &q, &spread, &range);
	return fmax(fmax(NV_BAND_QUANTA * q, NV_BAND_FRAC * spread), NV_BAND_RANGE * range);
}

/*
 * For measure a[m] (NAN = undefined): each point's count of earlier defined
 * points at least as extreme upwards (a_i >= a_j - band) and downwards
 * (a_i <= a_j + band), turned into p* (see the file comment) and kept in
 * w->pbest when smaller; w->strong[j] set when a_j lies beyond every
 * earlier value by NV_STRONG bands. band: NAN = the measure's own
 * (nv_band). Returns the band used.
 */
static double nv_counts(struct nv_ws *w, const double *a, size_t m, double band, double eps,
                        double kmax)
{
	size_t k = nv_rank(w, a, m);
	if (isnan(band))
		band = nv_band(w->sorted, k);
	/* the band's edges in rank space, by two pointers over the sorted values */
	for (size_t r = 0, l = 0, h = 0; r < k; r++) {
		while (w->sorted[l] < w->sorted[r] - band)
			l++;
		if (h < r)
			h = r;
		while (h < k && w->sorted[h] <= w->sorted[r] + band)
			h++;
		w->lo[r] = l;
		w->hi[r] = h;
	}
	memset(w->fen, 0, (k + 1) * sizeof *w->fen);
	size_t seen = 0;
	double cap = eps / (kmax + 1.0);
	double lo = INFINITY, hi = -INFINITY, sb = NV_STRONG * band;
	for (size_t j = 0; j < m; j++) {
		if (isnan(a[j]))
			continue;
		if (a[j] > hi + sb || a[j] < lo - sb)
			w->strong[j] = 1;
		if (a[j] > hi)
			hi = a[j];
		if (a[j] < lo)
			lo = a[j];
		if (seen > 0) {
			size_t up = seen - fen_prefix(w->fen, w->lo[w->rank[j]]);
			size_t dn = fen_prefix(w->fen, w->hi[w->rank[j]]);
			double p = ((double)(up < dn ? up : dn) + 1.0) * fmax(w->inv[seen], cap);
			if (p < w->pbest[j])
				w->pbest[j] = p;
		}
		fen_add(w->fen, k, w->rank[j]);
		seen++;
	}
	return band;
}

enum rb_code novelty_detect(const double *x, const double *t, size_t n, double sensitivity,
                            double *expected, double *score, unsigned char *anomaly,
                            double *threshold, struct rb_err *err)
{
	double eps, kmax;
	novelty_params(sensitivity, &eps, &kmax);
	*threshold = -log10(eps);
	if (n == 0)
		return RB_OK;
	struct nv_ws w;
	if (n > UINT32_MAX || !nv_alloc(&w, n))
		return rb_err_set(err, RB_E_NOMEM, "novelty detector: out of memory (%zu rows)", n);
	for (size_t i = 0; i < n; i++) {
		expected[i] = isfinite(x[i]) ? x[i] : 0.0;
		score[i] = 0.0;
		anomaly[i] = 0;
	}
	int use_index;
	size_t m = nv_order(&w, x, t, n, &use_index);
	if (m == 0) {
		free(w.block);
		return RB_OK;
	}
	for (size_t j = 0; j < m; j++) {
		w.pbest[j] = 1.0;
		w.inv[j] = 1.0 / ((double)j + 1.0);
		w.strong[j] = 0;
	}
	/* sampling step: median positive spacing */
	double step = 1.0;
	{
		double *sp = w.meas;
		size_t ns = 0;
		for (size_t j = 1; j < m; j++)
			if (w.tv[j] > w.tv[j - 1])
				sp[ns++] = w.tv[j] - w.tv[j - 1];
		if (ns > 0)
			step = robust_median(sp, ns);
		if (!(step > 0.0))
			step = 1.0;
	}
	nv_baseline(&w, m);
	double *lev = w.meas, *jmp = w.meas + m, *sea = w.meas + 2 * m;
	memcpy(lev, w.v, m * sizeof *lev);
	double vband = nv_counts(&w, lev, m, NAN, eps, kmax); /* level */
	for (size_t j = 0; j < m; j++)
		jmp[j] = j == 0 ? NAN : w.v[j] - w.base[j];
	nv_counts(&w, jmp, m, NAN, eps, kmax); /* jump */
	double span = w.tv[m - 1] - w.tv[0];
	if (!use_index && span >= NV_SEASON_MIN_DAYS * NV_DAY &&
	    step <= NV_SEASON_MAX_STEP * NV_DAY) {
		nv_season(&w, m, step, NV_SEASON_HALF, sea);
		nv_counts(&w, sea, m, vband, eps, kmax); /* in value units: the level's band */
	}
	/* scores, then onsets */
	double refractory = use_index ? NV_REFRACTORY_ROWS : NV_REFRACTORY;
	double last_flag = -INFINITY;
	int prev_cand = 0;
	for (size_t j = 0; j < m; j++) {
		size_t i = w.row[j];
		expected[i] = w.base[j];
		double s = -log10(w.pbest[j]);
		score[i] = s > 0.0 ? s : 0.0;
		int cand = w.pbest[j] <= eps * (1.0 + 1e-12);
		if (cand && !prev_cand && (w.tv[j] - last_flag >= refractory || w.strong[j])) {
			anomaly[i] = 1;
			last_flag = w.tv[j];
		}
		prev_cand = cand;
	}
	free(w.block);
	return RB_OK;
}
