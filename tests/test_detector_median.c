/*
 * test_detector_median: the rolling median of the default detector
 * (rollmed() in core/detect/detector_robust.c, reached by including the file)
 * against a brute-force oracle (sort the window, take the middle) on random
 * series: ties (values drawn from a few levels), irregular spacing with
 * gaps, duplicate instants, windows from 1 row to longer than the series,
 * and the end rule (windows keep their length inside the data span). Exact
 * equality is required: both take the same elements.
 */
#include "core/detect/detector_robust.c"

#include "testutil.h"

static struct tu_rng rng = {77};

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The oracle, written from the contract of rollmed(). */
static double oracle(const double *tv, const double *v, size_t m, double tq, double half,
                     double step, double *buf)
{
	double first = tv[0], last = tv[m - 1] + step;
	double a = tq - half, b = tq + half;
	if (last - first >= 2.0 * half) {
		if (a < first) {
			a = first;
			b = first + 2.0 * half;
		} else if (b > last) {
			b = last;
			a = last - 2.0 * half;
		}
	}
	size_t k = 0;
	for (size_t j = 0; j < m; j++)
		if (tv[j] >= a && tv[j] < b)
			buf[k++] = v[j];
	if (k == 0) {
		size_t best = 0;
		for (size_t j = 1; j < m; j++)
			if (fabs(tv[j] - tq) < fabs(tv[best] - tq))
				best = j;
		/* ties between two neighbours: rollmed takes the earlier one unless the later is strictly nearer */
		for (size_t j = 0; j < m; j++)
			if (fabs(tv[j] - tq) == fabs(tv[best] - tq)) {
				best = j;
				break;
			}
		return v[best];
	}
	qsort(buf, k, sizeof *buf, cmp_d);
	return k % 2 ? buf[k / 2] : buf[k / 2 - 1] + (buf[k / 2] - buf[k / 2 - 1]) / 2.0;
}

int main(void)
{
	static const size_t sizes[] = {1, 2, 3, 10, 65, 300, 1200};
	static const double halves[] = {0.5, 1, 3.5, 10, 50, 1e9};
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		size_t n = sizes[si];
		for (int variant = 0; variant < 3; variant++) {
			struct ws w;
			CHECK(ws_alloc(&w, n, n));
			double tt = 0;
			for (size_t j = 0; j < n; j++) {
				if (variant == 0)
					tt = (double)j;
				else if (variant == 1) /* gaps, dups */
					tt += tu_rng_unit(&rng) < 0.05 ? 30 * tu_rng_unit(&rng)
					      : (tu_rng_unit(&rng) < 0.2 ? 0 : 1);
				else
					tt += 0.1 + 2 * tu_rng_unit(&rng);
				w.tq[j] = w.tv[j] = tt;
				w.vq[j] = j;
				w.qrow[j] = j;
				w.v[j] = variant == 0 ? floor(4 * tu_rng_unit(&rng))
				                      : 100 * tu_rng_unit(&rng) - 50;
			}
			w.step = 1.0;
			double *buf = malloc(n * sizeof *buf);
			CHECK(buf != NULL);
			for (size_t hi = 0; hi < sizeof halves / sizeof halves[0]; hi++) {
				rollmed(&w, w.v, halves[hi]);
				for (size_t q = 0; q < n; q++) {
					double want = oracle(w.tv, w.v, n, w.tq[q], halves[hi], w.step, buf);
					CHECKF(w.trend[q] == want, "n=%zu variant=%d half=%g q=%zu: %g != %g", n,
					       variant, halves[hi], q, w.trend[q], want);
				}
			}
			free(buf);
			ws_free(&w);
		}
	}
	return 0;
}
