/*
 * smooth_legacy: the old default detector's smoothing kernel, reproduced to
 * match its output bit for bit up to rounding (CONTRACT §6).
 *
 * Centred kernel [1, 2, .., h, h^2/4, h, .., 2, 1] / sum over a window of
 * w = 2h + 1 rows, w = max(int(0.05 n), min(n, int(5 + ln n))) rounded up to
 * odd; the series is padded at both ends by repeating its edge values.
 * Not here: missing-value handling (the caller gives finite values) and
 * anything else of the legacy detector (core/detect/detector_legacy.c).
 */
#include <math.h>
#include <stddef.h>

#include "rb/detect/detector.h"

size_t smooth_legacy_halfwidth(size_t n)
{
	if (n == 0)
		return 0;
	size_t a = (size_t)(0.05 * (double)n);
	size_t b = (size_t)(5.0 + log((double)n));
	if (b > n)
		b = n;
	size_t w = a > b ? a : b;
	if (w % 2 == 0)
		w += 1;
	return w / 2;
}

/* Weight of kernel tap j in [-h, h]: h+1-|j| off centre, h^2/4 at the centre. */
static double tap(size_t h, long j)
{
	if (j == 0)
		return (double)h * (double)h / 4.0;
	long a = j < 0 ? -j : j;
	return (double)((long)h + 1 - a);
}

void smooth_legacy(const double *x, size_t n, double *out)
{
	size_t h = smooth_legacy_halfwidth(n);
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
