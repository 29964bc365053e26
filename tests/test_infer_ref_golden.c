/*
 * model_ref against the golden data of CONTRACT §8: traffic.keras loaded by
 * model_load_files, run by the float64 reference on the float64 inputs of
 * upstream/golden/network_random_b{1,3}.json, must reproduce their float64
 * outputs within GOLDEN_TOL (max abs error). The same inputs through the
 * float32 paths (oneDNN, vector, and auto, the service's) must agree within
 * DNNL_TOL / VECTOR_TOL.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rb/model/infer.h"
#include "rb/model/model.h"
#include "rb/model/model_ref.h"
#include "testutil.h"

/* Same float32 weights, both float64: only summation order differs; measured 1.2e-14. */
#define GOLDEN_TOL 1e-13
/* float32 paths (input rounded to float32 too) vs float64 golden output: the first
 * BatchNorm has variances ~1e-4, so it scales input rounding by ~100. Measured oneDNN
 * 2.6e-6; vector 4.3e-6 (its polynomial exp and erf add ~1e-7 per activation). */
#define DNNL_TOL 5e-6
#define VECTOR_TOL 8e-6

/* Flattens a [B, T, C] JSON array of numbers into x (malloc'd); checks its shape. */
static double *tensor(json_t *j, size_t B, size_t T, size_t C)
{
	double *x = malloc(B * T * C * sizeof *x);
	CHECK(x != NULL);
	CHECK(json_is_array(j) && json_array_size(j) == B);
	for (size_t b = 0; b < B; b++) {
		json_t *jb = json_array_get(j, b); /* borrowed */
		CHECK(json_is_array(jb) && json_array_size(jb) == T);
		for (size_t t = 0; t < T; t++) {
			json_t *jt = json_array_get(jb, t); /* borrowed */
			CHECK(json_is_array(jt) && json_array_size(jt) == C);
			for (size_t c = 0; c < C; c++) {
				json_t *v = json_array_get(jt, c); /* borrowed */
				CHECK(json_is_number(v));
				x[(b * T + t) * C + c] = json_number_value(v);
			}
		}
	}
	return x;
}

static void golden(const struct model *m, const char *rel, size_t B)
{
	json_error_t jerr;
	json_t *root = json_load_file(tu_shared(rel), 0, &jerr); /* new */
	CHECKF(root != NULL, "%s: %s", rel, jerr.text);
	json_t *shape = json_object_get(root, "shape"); /* borrowed */
	CHECK(json_array_size(shape) == 3 && (size_t)json_integer_value(json_array_get(shape, 0)) == B);
	size_t T = m->in_T, C = m->in_C, n = B * T * C;
	CHECK(m->out_T == T && m->out_C == C);
	double *x = tensor(json_object_get(root, "input"), B, T, C);
	double *want = tensor(json_object_get(root, "output"), B, T, C);
	double *got = malloc(n * sizeof *got);
	float *xf = malloc(n * sizeof *xf), *yf = malloc(n * sizeof *yf);
	CHECK(got != NULL && xf != NULL && yf != NULL);

	struct rb_err err = {0};
	CHECKF(model_ref_forward(m, x, B, got, &err) == RB_OK, "%s", err.msg);
	double worst = 0.0;
	for (size_t k = 0; k < n; k++) {
		double e = fabs(got[k] - want[k]);
		worst = e > worst || isnan(e) ? e : worst;
	}
	printf("%s: reference max abs error %.3g (tolerance %.3g)\n", rel, worst, GOLDEN_TOL);
	CHECKF(worst <= GOLDEN_TOL, "%s: reference differs from golden by %g", rel, worst);

	for (size_t k = 0; k < n; k++)
		xf[k] = (float)x[k];
	static const enum infer_path paths[] = {INFER_DNNL, INFER_VECTOR, INFER_AUTO};
	for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
		struct infer *inf = NULL;
		CHECKF(infer_new(&inf, m, paths[p], &err) == RB_OK, "%s", err.msg);
		memset(yf, 0xff, n * sizeof *yf);
		CHECKF(infer_run(inf, xf, B, yf, &err) == RB_OK, "%s", err.msg);
		worst = 0.0;
		for (size_t k = 0; k < n; k++) {
			double e = fabs((double)yf[k] - want[k]);
			worst = e > worst || isnan(e) ? e : worst;
		}
		const char *name = infer_path_name(paths[p]);
		double tol = paths[p] == INFER_DNNL ? DNNL_TOL : VECTOR_TOL;
		printf("%s: %s max abs error %.3g (tolerance %.3g)\n", rel, name, worst, tol);
		CHECKF(worst <= tol, "%s: %s differs from golden by %g", rel, name, worst);
		infer_free(inf);
	}
	free(x);
	free(want);
	free(got);
	free(xf);
	free(yf);
	json_decref(root);
}

int main(void)
{
	struct model *m = tu_load_upstream_model("traffic");
	CHECK(m->in_T == 32 && m->in_C == 20);
	golden(m, "upstream/golden/network_random_b1.json", 1);
	golden(m, "upstream/golden/network_random_b3.json", 3);
	model_free(m);
	return 0;
}
