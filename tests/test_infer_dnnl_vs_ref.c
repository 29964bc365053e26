/*
 * infer: the oneDNN path against the float64 reference on traffic.keras, on
 * fresh seeded random inputs in [0, 1) (the range of the rescaled features),
 * for batch sizes that exercise whole chunks, several chunks and a padded
 * last chunk. Also the chunk planner: chunks are built sizes and cover B.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rb/model/infer.h"
#include "infer_synth.h"
#include "rb/model/model.h"
#include "core/model/model_dnnl.h"
#include "testutil.h"

/* float32 vs float64, max abs error; measured up to 1.2e-5 on traffic.keras (its first
 * BatchNorm divides by sqrt(var ~1e-4), amplifying float32 rounding ~100x; the
 * error does not change with BatchNorm folding, head merging or LSTM weight format). */
#define TOL 3e-5

static void check_planner(const struct model *m)
{
	struct model_dnnl_opts o;
	model_dnnl_opts_default(&o);
	o.warm_up = 0;
	struct model_dnnl *d = NULL;
	struct rb_err err = {0};
	CHECKF(model_dnnl_new(&d, m, &o, &err) == RB_OK, "%s", err.msg);
	size_t sizes[64];
	for (size_t B = 1; B <= 700; B++) {
		size_t n = model_dnnl_plan(d, B, sizes, 64);
		CHECK(n >= 1 && n <= 64);
		size_t covered = 0;
		for (size_t k = 0; k < n; k++) {
			int built = 0;
			for (size_t j = 0; j < o.n_sizes; j++)
				built |= sizes[k] == o.sizes[j];
			CHECKF(built, "B=%zu: chunk %zu has size %zu, not built", B, k, sizes[k]);
			CHECKF(k + 1 == n || covered + sizes[k] < B, "B=%zu: only the last chunk may pad", B);
			covered += sizes[k];
		}
		CHECKF(covered >= B, "B=%zu: chunks cover only %zu", B, covered);
		/* padding never exceeds the last chunk's size less one sample */
		CHECKF(covered - B < sizes[n - 1], "B=%zu: pads %zu", B, covered - B);
	}
	CHECK(model_dnnl_plan(d, o.sizes[o.n_sizes - 1], NULL, 0) == 1);
	CHECK(model_dnnl_plan(d, 1, NULL, 0) == 1);
	model_dnnl_free(d);
}

int main(void)
{
	struct model *m = NULL;
	struct rb_err err = {0};
	m = tu_load_upstream_model("traffic");
	check_planner(m);

	struct infer *ref = NULL, *fast = NULL;
	CHECKF(infer_new(&ref, m, INFER_REFERENCE, &err) == RB_OK, "%s", err.msg);
	CHECKF(infer_new(&fast, m, INFER_DNNL, &err) == RB_OK, "%s", err.msg);
	static const size_t Bs[] = {1, 3, 8, 33, 200};
	size_t in_n = m->in_T * m->in_C, out_n = m->out_T * m->out_C;
	double worst_all = 0.0;
	uint64_t rng = 20261127;
	for (size_t i = 0; i < sizeof Bs / sizeof Bs[0]; i++) {
		size_t B = Bs[i];
		float *x = malloc(B * in_n * sizeof *x), *yr = malloc(B * out_n * sizeof *yr);
		float *yd = malloc(B * out_n * sizeof *yd);
		CHECK(x != NULL && yr != NULL && yd != NULL);
		sy_fill(x, B * in_n, &rng, 0.0, 1.0);
		memset(yd, 0xff, B * out_n * sizeof *yd);
		CHECKF(infer_run(ref, x, B, yr, &err) == RB_OK, "%s", err.msg);
		CHECKF(infer_run(fast, x, B, yd, &err) == RB_OK, "%s", err.msg);
		double worst = 0.0;
		for (size_t k = 0; k < B * out_n; k++) {
			double e = fabs((double)yd[k] - (double)yr[k]);
			worst = e > worst || isnan(e) ? e : worst;
		}
		printf("B=%3zu: max |dnnl - ref| = %.3g\n", B, worst);
		CHECKF(worst <= TOL, "B=%zu: max |dnnl - ref| = %g > %g", B, worst, TOL);
		worst_all = worst > worst_all ? worst : worst_all;
		free(x);
		free(yr);
		free(yd);
	}
	printf("max over all B: %.3g (tolerance %.3g)\n", worst_all, TOL);

	/* infer.h: output is finite when input is; far outside the features' [0, 1]. */
	size_t B = 5;
	float *x = malloc(B * in_n * sizeof *x), *y = malloc(B * out_n * sizeof *y);
	CHECK(x != NULL && y != NULL);
	sy_fill(x, B * in_n, &rng, -1e4, 1e4);
	for (int p = 0; p < 2; p++) {
		CHECKF(infer_run(p == 0 ? ref : fast, x, B, y, &err) == RB_OK, "%s", err.msg);
		for (size_t k = 0; k < B * out_n; k++)
			CHECKF(isfinite(y[k]), "path %d: output %zu not finite for inputs in [-1e4, 1e4]", p, k);
	}
	free(x);
	free(y);
	infer_free(ref);
	infer_free(fast);
	model_free(m);
	return 0;
}
