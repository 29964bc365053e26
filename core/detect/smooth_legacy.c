/*
 * smooth_legacy: the old default detector's smoothing kernel, reproduced to
 * match its output up to rounding (CONTRACT §6), in time linear in rows.
 *
 * Centred kernel [1, 2, .., h, h^2/4, h, .., 2, 1] / sum over a window of
 * w = 2h + 1 rows, w = max(int(0.05 n), min(n, int(5 + ln n))) rounded up to
 * odd; the series is padded at both ends by repeating its edge values.
 *
 * How: the kernel is the triangle [1, 2, .., h+1, .., 2, 1] with its centre
 * tap h+1 replaced by h^2/4, and that triangle is a box of h+1 taps applied
 * twice. So out[i] = (T[i] + (h^2/4 - (h+1)) x[i]) / sum, T = box(box(x)):
 * two passes of sliding sums, O(n) for any h (the direct sum, kept as the
 * oracle in tests/oracle/smooth_legacy_ref.c, is O(n h) = O(n^2): 100,000 rows
 * took 0.7 s). A sliding sum that adds the entering value and subtracts the
 * leaving one would carry the rounding of every value it ever held (a spike
 * of 1e300 would wipe out the rows after it), so each window sum is built
 * from values inside that window only: the padded series is cut into blocks
 * of h+1 values, and a window is a suffix of one block plus a prefix of the
 * next (both sums of in-window values, like the direct sum).
 *
 * Not here: missing-value handling (the caller gives finite values) and
 * anything else of the legacy detector (core/detect/detector_legacy.c).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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

/*
 * Sums of every L consecutive values of e[0..m), e[j] = a[clamp(j - off, 0, na - 1)]
 * (a padded by repeating its ends): w[j] = e[j] + .. + e[j + L - 1] for j in [0, m - L].
 * suf[L] is scratch. Window j is the suffix e[j..end of j's block] plus the prefix
 * e[start of the next block..j + L - 1]; blocks are e[kL, kL + L).
 */
static void box_sums(const double *a, size_t na, size_t off, size_t m, size_t L, double *suf,
                     double *w)
{
	size_t last = m - L; /* the last window's start */
	for (size_t b0 = 0; b0 <= last; b0 += L) {
		/* Suffix sums of this block, suf[k] = e[b0 + k] + .. + e[b0 + L - 1]. */
		double acc = 0.0;
		for (size_t k = L; k-- > 0;) {
			size_t j = b0 + k;
			size_t ai = j < off ? 0 : j - off;
			if (ai >= na)
				ai = na - 1;
			acc += a[ai];
			suf[k] = acc;
		}
		/* Windows starting in this block: the suffix plus a growing prefix of the next. */
		w[b0] = suf[0];
		double pre = 0.0;
		for (size_t k = 1; k < L && b0 + k <= last; k++) {
			size_t j = b0 + L + k - 1; /* the next block's k-th value enters */
			size_t ai = j < off ? 0 : j - off;
			if (ai >= na)
				ai = na - 1;
			pre += a[ai];
			w[b0 + k] = suf[k] + pre;
		}
	}
}

enum rb_code smooth_legacy(const double *x, size_t n, double *out, struct rb_err *err)
{
	size_t h = smooth_legacy_halfwidth(n);
	return smooth_legacy_h(x, n, h, out, err);
}

enum rb_code smooth_legacy_h(const double *x, size_t n, size_t h, double *out,
                             struct rb_err *err)
{
	if (n == 0)
		return RB_OK;
	if (h == 0) {
		for (size_t i = 0; i < n; i++)
			out[i] = x[i];
		return RB_OK;
	}
	if (h > (SIZE_MAX / sizeof(double) - n) / 3)
		return rb_err_set(err, RB_E_NOMEM, "legacy smoothing: window too large");
	size_t L = h + 1;
	/* s[n + h]: S[k] = sum of padded x over [k - h, k]; then suf[L] scratch. */
	double *s = malloc((n + h + L) * sizeof *s);
	if (s == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory for the legacy smoothing");
	double *suf = s + n + h;
	box_sums(x, n, h, n + 2 * h, L, suf, s);
	box_sums(s, n + h, 0, n + h, L, suf, out);
	free(s);
	/* The kernel's sum, (h+1)^2 - (h+1) + h^2/4: exact in doubles (integers below 2^53). */
	double hd = (double)h;
	double sum = hd * (hd + 1.0) + hd * hd / 4.0;
	double centre = hd * hd / 4.0 - (hd + 1.0);
	for (size_t i = 0; i < n; i++)
		out[i] = (out[i] + centre * x[i]) / sum;
	return RB_OK;
}
