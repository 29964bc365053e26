/*
 * test_iforest: the isolation forest and the legacy detector built on it.
 *  - a point far from a Gaussian cloud scores higher than every cloud point;
 *    scores lie in (0, 1]; the same seed gives bit-identical scores, another
 *    seed different ones;
 *  - iforest_percentile matches numpy.percentile (linear) on hand values;
 *  - the legacy detector flags the three spikes (value 100 at rows 100, 200
 *    and 500) of a 1,000-row uniform [0, 1) random series, and flags at most
 *    1% of the rows (contamination 0.01, offset moved by sensitivity 0.95);
 *  - legacy edge cases: 1 row, 2 rows, a constant, all missing, a missing
 *    row: finite output, missing rows never flagged.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/detector.h"
#include "testutil.h"

static struct tu_rng rng = {12345};

static double gauss(void)
{
	double u = tu_rng_unit(&rng), v = tu_rng_unit(&rng);
	return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

static void check_finite(const double *e, const double *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		CHECKF(isfinite(e[i]), "expected[%zu]", i);
		CHECKF(isfinite(s[i]) && s[i] >= 0, "score[%zu]", i);
	}
}

int main(void)
{
	/* Forest on a 2-D cloud plus one far point. */
	enum { N = 400, D = 2 };
	static double X[N * D], s1[N], s2[N], s3[N];
	for (size_t i = 0; i < N; i++) {
		X[i * D] = gauss();
		X[i * D + 1] = gauss();
	}
	X[(N - 1) * D] = 8.0;
	X[(N - 1) * D + 1] = -8.0;
	struct iforest_params p = {.trees = 100, .max_samples = 256, .seed = 42};
	struct rb_err err = {0};
	CHECK(iforest_score(X, N, D, &p, s1, &err) == RB_OK);
	CHECK(iforest_score(X, N, D, &p, s2, &err) == RB_OK);
	CHECK(memcmp(s1, s2, sizeof s1) == 0);
	p.seed = 43;
	CHECK(iforest_score(X, N, D, &p, s3, &err) == RB_OK);
	CHECK(memcmp(s1, s3, sizeof s1) != 0);
	for (size_t i = 0; i < N; i++) {
		CHECK(s1[i] > 0 && s1[i] <= 1);
		if (i != N - 1)
			CHECKF(s1[i] < s1[N - 1], "row %zu %.4f >= outlier %.4f", i, s1[i], s1[N - 1]);
	}
	CHECKF(s1[N - 1] > 0.7, "outlier score %.4f", s1[N - 1]);

	/* numpy.percentile([1, 2, 3, 4], 10) = 1.3; ([5], 1) = 5; ([3, 1, 2], 50) = 2. */
	double v4[4] = {4, 1, 3, 2}, v1[1] = {5}, v3[3] = {3, 1, 2};
	CHECK(fabs(iforest_percentile(v4, 4, 10.0) - 1.3) < 1e-12);
	CHECK(iforest_percentile(v1, 1, 1.0) == 5.0);
	CHECK(iforest_percentile(v3, 3, 50.0) == 2.0);

	/* Legacy detector: three spikes in 1,000 uniform values. */
	enum { M = 1000 };
	static double x[M], t[M], e[M], sc[M];
	static unsigned char a[M];
	rng.s = 2024;
	for (size_t i = 0; i < M; i++) {
		x[i] = tu_rng_unit(&rng);
		t[i] = 1700000000.0 + 60.0 * (double)i;
	}
	x[100] = x[200] = x[500] = 100.0;
	double thr;
	CHECK(legacy_detect(x, t, M, DETECTOR_LEGACY_SENSITIVITY, e, sc, a, &thr, &err) == RB_OK);
	check_finite(e, sc, M);
	CHECK(a[100] && a[200] && a[500]);
	size_t flagged = 0;
	for (size_t i = 0; i < M; i++) {
		flagged += a[i];
		CHECK(a[i] == (sc[i] > thr));
	}
	CHECKF(flagged <= 10, "%zu flagged", flagged);

	/* Edge cases. */
	double one = 5.0, t1 = 0.0, e1, s1b;
	unsigned char a1;
	CHECK(legacy_detect(&one, &t1, 1, 0.95, &e1, &s1b, &a1, &thr, &err) == RB_OK);
	CHECK(e1 == 5.0 && isfinite(s1b) && a1 == 0);
	double two[2] = {1, 1e15}, t2[2] = {0, 60}, e2[2], s2b[2];
	unsigned char a2[2];
	CHECK(legacy_detect(two, t2, 2, 0.95, e2, s2b, a2, &thr, &err) == RB_OK);
	check_finite(e2, s2b, 2);
	for (size_t i = 0; i < M; i++)
		x[i] = 3.0;
	CHECK(legacy_detect(x, t, M, 0.95, e, sc, a, &thr, &err) == RB_OK);
	check_finite(e, sc, M);
	for (size_t i = 0; i < M; i++)
		CHECK(e[i] == 3.0);
	for (size_t i = 0; i < M; i++)
		x[i] = NAN;
	CHECK(legacy_detect(x, t, M, 0.95, e, sc, a, &thr, &err) == RB_OK);
	check_finite(e, sc, M);
	for (size_t i = 0; i < M; i++)
		CHECK(a[i] == 0 && e[i] == 0.0);
	rng.s = 7;
	for (size_t i = 0; i < M; i++)
		x[i] = tu_rng_unit(&rng);
	x[300] = NAN;
	x[301] = 100.0;
	CHECK(legacy_detect(x, t, M, 0.95, e, sc, a, &thr, &err) == RB_OK);
	check_finite(e, sc, M);
	CHECK(a[300] == 0 && a[301] == 1);
	return 0;
}
