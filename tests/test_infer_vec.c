/*
 * infer, the float32 vector path (model_vec.c, every compiled forward this
 * CPU can run; the others are reported as skipped and must be refused) and
 * the service's auto path against the float64 reference on traffic.keras,
 * on fresh seeded random inputs in [0, 1) (the range of the rescaled
 * features), for batch sizes around the vector path's internal batch of 4
 * and of the lane-major forward's 16 lanes, each of the path's two forwards
 * (model_vec.c sample-major, model_lanes.c lane-major) forced and split. Every output must be written
 * (NaN canary) and finite for inputs far outside the features' range.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rb/model/infer.h"
#include "infer_synth.h"
#include "rb/model/model.h"
#include "core/model/model_lanes.h"
#include "core/model/model_vec.h"
#include "testutil.h"

/* float32 vs float64, max abs error; same bound as the oneDNN path (test_infer_dnnl_vs_ref:
 * its first BatchNorm amplifies float32 rounding ~100x); measured up to 1.9e-5. */
#define TOL 3e-5

static double max_abs_diff(const float *a, const float *b, size_t n)
{
	double w = 0.0;
	for (size_t k = 0; k < n; k++) {
		double e = fabs((double)a[k] - (double)b[k]);
		w = e > w || isnan(e) ? e : w;
	}
	return w;
}

int main(void)
{
	struct model *m = tu_load_upstream_model("traffic");
	struct rb_err err = {0};
	struct infer *ref = NULL, *aut = NULL;
	CHECKF(infer_new(&ref, m, INFER_REFERENCE, &err) == RB_OK, "%s", err.msg);
	CHECKF(infer_new(&aut, m, INFER_AUTO, &err) == RB_OK, "%s", err.msg);
	/* Every build: the CPU's best, then each one forced. */
	static const enum model_vec_isa isas[] = {MODEL_VEC_BEST, MODEL_VEC_BASELINE, MODEL_VEC_AVX2, MODEL_VEC_AVX512};
	static const char *const names[] = {"best", "baseline", "avx2+fma", "avx512"};
	enum { N_ISA = sizeof isas / sizeof isas[0] };
	struct model_vec *vec[N_ISA] = {NULL};
	int nv = 0;
	const char *best = "baseline";
	for (int k = 0; k < N_ISA; k++) {
		struct model_vec *h = NULL;
		if (!model_vec_isa_supported(isas[k])) {
			printf("SKIPPED: vector build %s (this CPU cannot run it)\n", names[k]);
			CHECKF(model_vec_new(&h, m, isas[k], &err) == RB_E_CONFIG && h == NULL,
			       "%s: an unsupported build must be refused", names[k]);
			continue;
		}
		CHECKF(model_vec_new(&h, m, isas[k], &err) == RB_OK, "%s: %s", names[k], err.msg);
		if (k > 0) {
			CHECKF(strcmp(model_vec_isa(h), names[k]) == 0, "forced %s runs %s", names[k], model_vec_isa(h));
			best = names[k]; /* isas are in increasing order after BEST */
		}
		vec[nv++] = h;
	}
	CHECKF(strcmp(model_vec_isa(vec[0]), best) == 0, "best is %s, the best supported build is %s",
	       model_vec_isa(vec[0]), best);
	printf("vector builds tested: %d (best: %s)\n", nv - 1, model_vec_isa(vec[0]));
	CHECK(nv >= 2);

	static const size_t Bs[] = {1, 2, 3, 4, 5, 9, 15, 16, 17, 33, 40};
	/* The forwards inside the vector path: the split by default, lane-major only, sample-major only. */
	static const size_t fwd_min[] = {0, 1, MODEL_LANES + 1};
	static const char *const fwd_names[] = {"default split", "lane-major", "sample-major"};
	enum { N_FWD = sizeof fwd_min / sizeof fwd_min[0] };
	size_t in_n = m->in_T * m->in_C, out_n = m->out_T * m->out_C;
	uint64_t rng = 20261128;
	double worst_all = 0.0;
	for (size_t i = 0; i < sizeof Bs / sizeof Bs[0]; i++) {
		size_t B = Bs[i];
		float *x = malloc(B * in_n * sizeof *x), *yr = malloc(B * out_n * sizeof *yr);
		float *y = malloc(B * out_n * sizeof *y);
		CHECK(x != NULL && yr != NULL && y != NULL);
		sy_fill(x, B * in_n, &rng, 0.0, 1.0);
		CHECKF(infer_run(ref, x, B, yr, &err) == RB_OK, "%s", err.msg);
		for (int v = 0; v < nv; v++)
			for (int f = 0; f < N_FWD; f++) {
				model_vec_set_lanes_min(vec[v], fwd_min[f] != 0 ? fwd_min[f] : model_vec_lanes_min_default(
				                                                 v == 0 ? MODEL_VEC_BEST : isas[v]));
				memset(y, 0xff, B * out_n * sizeof *y); /* NaN: every output must be written */
				model_vec_run(vec[v], x, B, y);
				double w = max_abs_diff(y, yr, B * out_n);
				printf("B=%2zu: max |vector(%s, %s) - ref| = %.3g\n", B, model_vec_isa(vec[v]),
				       fwd_names[f], w);
				CHECKF(w <= TOL, "B=%zu, %s, %s: max |vector - ref| = %g > %g", B,
				       model_vec_isa(vec[v]), fwd_names[f], w, TOL);
				worst_all = w > worst_all ? w : worst_all;
			}
		memset(y, 0xff, B * out_n * sizeof *y);
		CHECKF(infer_run(aut, x, B, y, &err) == RB_OK, "%s", err.msg);
		double w = max_abs_diff(y, yr, B * out_n);
		printf("B=%2zu: max |auto - ref| = %.3g\n", B, w);
		CHECKF(w <= TOL, "B=%zu: max |auto - ref| = %g > %g", B, w, TOL);
		free(x);
		free(yr);
		free(y);
	}
	printf("max over all B, vector: %.3g (tolerance %.3g)\n", worst_all, TOL);

	/* infer.h: output is finite when input is; far outside the features' [0, 1]. */
	size_t B = 6;
	float *x = malloc(B * in_n * sizeof *x), *y = malloc(B * out_n * sizeof *y);
	CHECK(x != NULL && y != NULL);
	sy_fill(x, B * in_n, &rng, -1e4, 1e4);
	for (int v = 0; v < 2 * nv; v++) {
		/* lane-major (set above), then sample-major */
		model_vec_set_lanes_min(vec[v % nv], v < nv ? 1 : MODEL_LANES + 1);
		model_vec_run(vec[v % nv], x, B, y);
		for (size_t k = 0; k < B * out_n; k++)
			CHECKF(isfinite(y[k]), "%s: output %zu not finite for inputs in [-1e4, 1e4]",
			       model_vec_isa(vec[v % nv]), k);
	}
	free(x);
	free(y);
	for (int v = 0; v < nv; v++)
		model_vec_free(vec[v]);
	model_vec_free(NULL);
	infer_free(ref);
	infer_free(aut);
	model_free(m);
	return 0;
}
