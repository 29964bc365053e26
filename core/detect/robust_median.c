/*
 * robust_median: exact order statistics for the default detector: a radix
 * sort on order-preserving keys, quickselect, the median, and the rolling
 * median of a time window over a rank bitmap (contracts in robust_median.h).
 * Not here: what the detector does with them (core/detect/detector_robust.c);
 * approximate or streaming quantiles (nothing here estimates).
 */
#include <string.h>

#include "robust_median.h"

/* ---------------------------------------------------------------- sorting */

uint64_t robust_order_key(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	return (u >> 63) ? ~u : (u | 0x8000000000000000ULL);
}

void robust_radix_sort(struct robust_keyed *a, struct robust_keyed *tmp, size_t n)
{
	size_t cnt[8][256];
	memset(cnt, 0, sizeof cnt);
	for (size_t i = 0; i < n; i++)
		for (int d = 0; d < 8; d++)
			cnt[d][(a[i].key >> (8 * d)) & 0xFF]++;
	for (int d = 0; d < 8; d++) {
		int shift = 8 * d;
		if (n == 0 || cnt[d][(a[0].key >> shift) & 0xFF] == n)
			continue; /* every key has this digit */
		size_t sum = 0;
		for (int b = 0; b < 256; b++) {
			size_t c = cnt[d][b];
			cnt[d][b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[cnt[d][(a[i].key >> shift) & 0xFF]++] = a[i];
		memcpy(a, tmp, n * sizeof *a);
	}
}

double robust_select_kth(double *v, size_t n, size_t k)
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

double robust_median(double *v, size_t n)
{
	double hi = robust_select_kth(v, n, n / 2);
	if (n % 2)
		return hi;
	/* After the selection v[0 .. n/2) holds the smaller half: its largest is the lower middle. */
	double lo = v[0];
	for (size_t i = 1; i < n / 2; i++)
		if (v[i] > lo)
			lo = v[i];
	return lo + (hi - lo) / 2.0;
}

/* ------------------------------------------- rolling median (rank bitmap) */

/*
 * The values of a window as a set of ranks (positions in the sorted order
 * of all values): a bitmap over the m ranks with a summary bitmap (bit i
 * set when word i is non-zero), and a pointer pos to the lower median with
 * the count of members below it. Inserting or deleting one rank moves the
 * median by at most one member, found with a bit scan: O(1) word operations
 * for dense windows, at most O(m / 4096) for very sparse ones.
 */
struct slider {
	uint64_t *bits;  /* [ceil(m / 64)] */
	uint64_t *sum;   /* [ceil(m / 4096)] */
	size_t nwords;
	size_t cnt;      /* members */
	size_t pos;      /* rank of the ((cnt + 1) / 2)-th member */
	size_t below;    /* members with rank < pos */
};

#define NONE SIZE_MAX

static void sl_set(struct slider *s, size_t r)
{
	s->bits[r >> 6] |= (uint64_t)1 << (r & 63);
	s->sum[r >> 12] |= (uint64_t)1 << ((r >> 6) & 63);
}

static void sl_clear(struct slider *s, size_t r)
{
	s->bits[r >> 6] &= ~((uint64_t)1 << (r & 63));
	if (s->bits[r >> 6] == 0)
		s->sum[r >> 12] &= ~((uint64_t)1 << ((r >> 6) & 63));
}

/* Smallest member rank > r, or NONE. */
static size_t sl_next(const struct slider *s, size_t r)
{
	size_t q = r + 1;
	size_t wi = q >> 6;
	if (wi >= s->nwords)
		return NONE;
	uint64_t word = s->bits[wi] & (~(uint64_t)0 << (q & 63));
	if (word)
		return (wi << 6) + (size_t)__builtin_ctzll(word);
	/* Next non-zero word after wi, through the summary. */
	size_t wq = wi + 1;
	size_t si = wq >> 6;
	size_t nsum = (s->nwords + 63) >> 6;
	if (si >= nsum)
		return NONE;
	uint64_t sw = s->sum[si] & ((wq & 63) ? (~(uint64_t)0 << (wq & 63)) : ~(uint64_t)0);
	while (sw == 0) {
		if (++si >= nsum)
			return NONE;
		sw = s->sum[si];
	}
	wi = (si << 6) + (size_t)__builtin_ctzll(sw);
	return (wi << 6) + (size_t)__builtin_ctzll(s->bits[wi]);
}

/* Largest member rank < r, or NONE. */
static size_t sl_prev(const struct slider *s, size_t r)
{
	if (r == 0)
		return NONE;
	size_t q = r - 1;
	size_t wi = q >> 6;
	uint64_t mask = (q & 63) == 63 ? ~(uint64_t)0 : (((uint64_t)1 << ((q & 63) + 1)) - 1);
	uint64_t word = s->bits[wi] & mask;
	if (word)
		return (wi << 6) + 63 - (size_t)__builtin_clzll(word);
	if (wi == 0)
		return NONE;
	size_t wq = wi - 1;
	size_t si = wq >> 6;
	uint64_t smask = (wq & 63) == 63 ? ~(uint64_t)0 : (((uint64_t)1 << ((wq & 63) + 1)) - 1);
	uint64_t sw = s->sum[si] & smask;
	while (sw == 0) {
		if (si == 0)
			return NONE;
		sw = s->sum[--si];
	}
	wi = (si << 6) + 63 - (size_t)__builtin_clzll(sw);
	return (wi << 6) + 63 - (size_t)__builtin_clzll(s->bits[wi]);
}

/* Moves pos to the ((cnt + 1) / 2)-th member. */
static void sl_fix(struct slider *s)
{
	size_t k = (s->cnt + 1) / 2;
	while (s->below + 1 > k) {
		s->pos = sl_prev(s, s->pos);
		s->below--;
	}
	while (s->below + 1 < k) {
		s->pos = sl_next(s, s->pos);
		s->below++;
	}
}

static void sl_add(struct slider *s, size_t r)
{
	sl_set(s, r);
	if (s->cnt++ == 0) {
		s->pos = r;
		s->below = 0;
		return;
	}
	if (r < s->pos)
		s->below++;
	sl_fix(s);
}

static void sl_del(struct slider *s, size_t r)
{
	sl_clear(s, r);
	if (--s->cnt == 0)
		return;
	if (r < s->pos) {
		s->below--;
	} else if (r == s->pos) {
		size_t nx = sl_next(s, r);
		if (nx != NONE) {
			s->pos = nx;
		} else {
			s->pos = sl_prev(s, r);
			s->below--;
		}
	}
	sl_fix(s);
}

void robust_rolling_median(const double *tv, const double *v, size_t m, const double *tq,
                           size_t nq, double step, double half,
                           const struct robust_rolling_ws *ws, double *out)
{
	for (size_t j = 0; j < m; j++) {
		ws->pairs[j].key = robust_order_key(v[j]);
		ws->pairs[j].idx = j;
	}
	robust_radix_sort(ws->pairs, ws->pairs_tmp, m);
	for (size_t r = 0; r < m; r++) {
		ws->rank[ws->pairs[r].idx] = r;
		ws->sorted[r] = v[ws->pairs[r].idx];
	}
	struct slider sl = {.bits = ws->bits, .sum = ws->bsum, .nwords = (m + 63) / 64};
	memset(sl.bits, 0, sl.nwords * sizeof *sl.bits);
	memset(sl.sum, 0, ((sl.nwords + 63) / 64) * sizeof *sl.sum);
	double first = tv[0], last = tv[m - 1] + step;
	size_t lo = 0, hi = 0; /* window = points [lo, hi) */
	for (size_t q = 0; q < nq; q++) {
		double a = tq[q] - half, b = tq[q] + half;
		if (last - first >= 2.0 * half) {
			if (a < first) {
				a = first;
				b = first + 2.0 * half;
			} else if (b > last) {
				b = last;
				a = last - 2.0 * half;
			}
		}
		while (hi < m && tv[hi] < b)
			sl_add(&sl, ws->rank[hi++]);
		while (lo < hi && tv[lo] < a)
			sl_del(&sl, ws->rank[lo++]);
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
		} else {
			double lo_mid = ws->sorted[sl.pos];
			if (cnt % 2) {
				out[q] = lo_mid;
			} else {
				double hi_mid = ws->sorted[sl_next(&sl, sl.pos)];
				out[q] = lo_mid + (hi_mid - lo_mid) / 2.0;
			}
		}
	}
}
