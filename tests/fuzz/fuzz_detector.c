/*
 * fuzz_detector: both model-free detectors on arbitrary numbers. The input
 * is read as (value, instant) pairs of raw doubles (16 bytes a row, so NaN,
 * infinities, subnormals, huge and negative values and any time order all
 * occur), at most 4,096 rows. Checked: no crash or sanitizer report;
 * expected and score finite, score >= 0, anomaly = (score > threshold) for
 * the default detector, missing rows never flagged, and a second run gives
 * the same bytes. The legacy detector is run on up to 512 rows (it is
 * O(n * trees)), with the same finiteness checks.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/detector.h"

#define MAX_ROWS 4096
#define MAX_LEGACY 512

static void fail(const char *what, size_t i)
{
	fprintf(stderr, "fuzz_detector: %s at row %zu\n", what, i);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size / 16;
	if (n > MAX_ROWS)
		n = MAX_ROWS;
	double *x = malloc((n + 1) * sizeof *x), *t = malloc((n + 1) * sizeof *t);
	double *e = malloc((n + 1) * sizeof *e), *s = malloc((n + 1) * sizeof *s);
	double *e2 = malloc((n + 1) * sizeof *e2), *s2 = malloc((n + 1) * sizeof *s2);
	unsigned char *a = malloc(n + 1), *a2 = malloc(n + 1);
	if (!x || !t || !e || !s || !e2 || !s2 || !a || !a2)
		abort();
	for (size_t i = 0; i < n; i++) {
		memcpy(&x[i], data + 16 * i, 8);
		memcpy(&t[i], data + 16 * i + 8, 8);
	}
	double thr, thr2;
	double sens = size % 16 ? (double)(data[size - 1]) / 255.0 : NAN;
	if (robust_detect(x, t, n, sens, e, s, a, &thr, NULL) != RB_OK)
		fail("robust_detect failed", 0);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(e[i]))
			fail("non-finite expected", i);
		if (!isfinite(s[i]) || s[i] < 0)
			fail("bad score", i);
		if (a[i] != (s[i] > thr))
			fail("flag and score disagree", i);
		if (!isfinite(x[i]) && a[i])
			fail("missing row flagged", i);
	}
	if (robust_detect(x, t, n, sens, e2, s2, a2, &thr2, NULL) != RB_OK)
		fail("robust_detect failed", 0);
	if (n && (memcmp(e, e2, n * sizeof *e) || memcmp(s, s2, n * sizeof *s) || memcmp(a, a2, n)))
		fail("not deterministic", 0);
	size_t nl = n < MAX_LEGACY ? n : MAX_LEGACY;
	if (legacy_detect(x, t, nl, isnan(sens) ? 0.95 : sens, e, s, a, &thr, NULL) != RB_OK)
		fail("legacy_detect failed", 0);
	for (size_t i = 0; i < nl; i++) {
		if (!isfinite(e[i]) || !isfinite(s[i]) || s[i] < 0)
			fail("legacy: non-finite expected or bad score", i);
		if (!isfinite(x[i]) && a[i])
			fail("legacy: missing row flagged", i);
	}
	free(x);
	free(t);
	free(e);
	free(s);
	free(e2);
	free(s2);
	free(a);
	free(a2);
	return 0;
}
