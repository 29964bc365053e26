/*
 * smooth_legacy_ref: the direct O(n h) legacy smoothing (see smooth_legacy_ref.h);
 * the code core/detect/smooth_legacy.c had before it became linear, unchanged but
 * for taking h as a parameter.
 */
#include "oracle/smooth_legacy_ref.h"

/* Weight of kernel tap j in [-h, h]: h+1-|j| off centre, h^2/4 at the centre. */
static double tap(size_t h, long j)
{
	if (j == 0)
		return (double)h * (double)h / 4.0;
	long a = j < 0 ? -j : j;
	return (double)((long)h + 1 - a);
}

void smooth_legacy_ref_h(const double *x, size_t n, size_t h, double *out)
{
	if (h == 0) {
		for (size_t i = 0; i < n; i++)
			out[i] = x[i];
		return;
	}
	double sum = 0.0;
	for (long j = -(long)h; j <= (long)h; j++)
		sum += tap(h, j);
	for (size_t i = 0; i < n; i++) {
		double acc = 0.0;
		for (long j = -(long)h; j <= (long)h; j++) {
			long k = (long)i + j;
			if (k < 0)
				k = 0;
			if (k >= (long)n)
				k = (long)n - 1;
			acc += tap(h, j) * x[k];
		}
		out[i] = acc / sum;
	}
}
