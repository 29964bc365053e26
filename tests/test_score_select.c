/*
 * test_score_select: score_median() (quickselect) against the former
 * implementation kept here as the oracle (qsort, then the middle element or
 * the mean of the two middle ones) on random inputs: lengths 1..300 and a
 * few long ones (10,080 and 100,001), values with many ties (a few levels),
 * sorted, reverse-sorted, all-equal, signed zeros, negative, huge and tiny
 * magnitudes. Exact equality (==) is required: both pick the same elements
 * and compute 0.5 * (lower + upper) the same way. Also checks that v comes
 * back as a permutation of the input.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rb/detect/score.h"
#include "testutil.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The former score_median(): sort, then the middle (mean of the two middle ones). */
static double median_sorted(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	if (n % 2 == 1)
		return v[n / 2];
	return 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void fill(struct tu_rng *r, double *v, size_t n, unsigned kind)
{
	for (size_t i = 0; i < n; i++) {
		switch (kind) {
		case 0:
			v[i] = (double)(tu_rng_next(r) >> 11) / 9007199254740992.0 - 0.5;
			break;
		case 1:
			v[i] = (double)(tu_rng_next(r) % 4) - 1.5; /* many ties */
			break;
		case 2:
			v[i] = (double)i; /* sorted */
			break;
		case 3:
			v[i] = -(double)i; /* reverse-sorted */
			break;
		case 4:
			v[i] = 0.25; /* all equal */
			break;
		case 5:
			v[i] = (tu_rng_next(r) & 1) ? 0.0 : -0.0;
			break;
		default:
			v[i] = ldexp((double)(tu_rng_next(r) >> 11), (int)(tu_rng_next(r) % 400) - 200) *
			       ((tu_rng_next(r) & 1) ? -1.0 : 1.0);
			break;
		}
	}
}

static void one(struct tu_rng *r, size_t n, unsigned kind)
{
	double *a = malloc(n * sizeof *a);
	double *b = malloc(n * sizeof *b);
	double *c = malloc(n * sizeof *c);
	CHECK(a != NULL && b != NULL && c != NULL);
	fill(r, a, n, kind);
	memcpy(b, a, n * sizeof *a);
	memcpy(c, a, n * sizeof *a);
	double want = median_sorted(b, n);
	double got = score_median(a, n);
	CHECKF(got == want, "n %zu kind %u: got %.17g want %.17g", n, kind, got, want);
	/* a is a permutation of the input c (b is c sorted). */
	qsort(a, n, sizeof *a, cmp_double);
	qsort(c, n, sizeof *c, cmp_double);
	for (size_t i = 0; i < n; i++)
		CHECKF(a[i] == c[i], "n %zu kind %u: not a permutation at %zu", n, kind, i);
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	struct tu_rng r = {0xC0FFEE1234567ull};
	for (size_t n = 1; n <= 300; n++)
		for (unsigned kind = 0; kind < 7; kind++)
			one(&r, n, kind);
	for (unsigned kind = 0; kind < 7; kind++) {
		one(&r, 10080, kind);
		one(&r, 100001, kind);
	}
	for (int k = 0; k < 200; k++)
		one(&r, 1 + tu_rng_next(&r) % 5000, (unsigned)(tu_rng_next(&r) % 7));
	return 0;
}
