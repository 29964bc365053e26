/*
 * infer, the oneDNN and the vector paths on synthetic graphs: every layer kind (BatchNorm folded
 * and as a primitive, LayerNorm with and without scale/shift, LSTM in both
 * return modes with and without bias, Dropout, GaussianNoise, RepeatVector,
 * Concatenate) and every activation (linear, relu, gelu, sigmoid, tanh,
 * softmax), with and without the oneDNN path's rewrites (BatchNorm folding,
 * head merging, plain LSTM weights), and the vector path in every compiled
 * form this CPU can run (the others are reported as skipped). Each must match the double-precision reference within
 * TOL (oneDNN) or VEC_TOL (vector) on random inputs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rb/model/infer.h"
#include "infer_synth.h"
#include "core/model/model_dnnl.h"
#include "rb/model/model_ref.h"
#include "core/model/model_vec.h"
#include "testutil.h"

/* float32 oneDNN vs float64 reference, max abs error over the output (values O(1));
 * measured max 9.3e-7 over these graphs. */
#define TOL 5e-6
/* The vector path adds its polynomial exp/erf (~1e-7 per activation); measured max 6.5e-7. */
#define VEC_TOL 5e-6

static double max_err_seen, max_vec_err_seen;

static size_t per(size_t T, size_t C) { return (T > 0 ? T : 1) * C; }

/* B random samples in [-2, 2) for m, the reference's output, and y to fill (NaN: all must be written). */
struct trial {
	float *x, *y;
	double *yd;
	size_t B, out_n;
};

static void trial_new(struct trial *t, const struct model *m, size_t B, uint64_t seed)
{
	size_t in_n = per(m->in_T, m->in_C);
	t->B = B;
	t->out_n = per(m->out_T, m->out_C);
	t->x = malloc(B * in_n * sizeof *t->x);
	t->y = malloc(B * t->out_n * sizeof *t->y);
	t->yd = malloc(B * t->out_n * sizeof *t->yd);
	double *xd = malloc(B * in_n * sizeof *xd);
	CHECK(t->x != NULL && t->y != NULL && t->yd != NULL && xd != NULL);
	uint64_t rng = seed;
	sy_fill(t->x, B * in_n, &rng, -2.0, 2.0);
	for (size_t k = 0; k < B * in_n; k++)
		xd[k] = t->x[k];
	struct rb_err err = {0};
	CHECKF(model_ref_forward(m, xd, B, t->yd, &err) == RB_OK, "%s", err.msg);
	free(xd);
	memset(t->y, 0xff, B * t->out_n * sizeof *t->y);
}

/* Asserts max |y - reference| <= tol; keeps the largest error in *seen; frees the trial. */
static void trial_check(struct trial *t, double tol, const char *what, const char *path, double *seen)
{
	double worst = 0.0;
	size_t at = 0;
	for (size_t k = 0; k < t->B * t->out_n; k++) {
		double e = fabs((double)t->y[k] - t->yd[k]);
		if (!(e <= worst)) {
			worst = e;
			at = k;
		}
	}
	CHECKF(worst <= tol, "%s, B=%zu: max |%s - ref| = %g at %zu (%s %g, ref %g)", what, t->B, path,
	       worst, at, path, (double)t->y[at], t->yd[at]);
	if (worst > *seen)
		*seen = worst;
	free(t->x);
	free(t->y);
	free(t->yd);
}

/* Runs m on B random samples by the reference and by the vector path. */
static void compare_vec(const struct model *m, enum model_vec_isa isa, size_t B, uint64_t seed,
                        const char *what)
{
	struct trial t;
	trial_new(&t, m, B, seed);
	struct rb_err err = {0};
	struct model_vec *v = NULL;
	CHECKF(model_vec_new(&v, m, isa, &err) == RB_OK, "%s: %s", what, err.msg);
	model_vec_run(v, t.x, B, t.y);
	char path[32];
	snprintf(path, sizeof path, "vector %s", model_vec_isa(v));
	trial_check(&t, VEC_TOL, what, path, &max_vec_err_seen);
	model_vec_free(v);
}

/* Runs m on B random samples by the reference and by oneDNN with options o. */
static void compare(const struct model *m, const struct model_dnnl_opts *o, size_t B, uint64_t seed,
                    const char *what)
{
	struct trial t;
	trial_new(&t, m, B, seed);
	struct rb_err err = {0};
	struct model_dnnl *d = NULL;
	CHECKF(model_dnnl_new(&d, m, o, &err) == RB_OK, "%s: %s", what, err.msg);
	CHECKF(model_dnnl_run(d, t.x, B, t.y, &err) == RB_OK, "%s: %s", what, err.msg);
	trial_check(&t, TOL, what, "dnnl", &max_err_seen);
	model_dnnl_free(d);
}

/* Each graph under the default options and with every rewrite off. */
static void compare_all(const struct model *m, const char *what)
{
	struct model_dnnl_opts on, off;
	model_dnnl_opts_default(&on);
	model_dnnl_opts_default(&off);
	off.fold_batch_norm = 0;
	off.fuse_heads = 0;
	off.lstm_plain_weights = 1;
	off.warm_up = 0;
	static const size_t Bs[] = {1, 5, 37};
	for (size_t k = 0; k < sizeof Bs / sizeof Bs[0]; k++) {
		compare(m, &on, Bs[k], 11 + k, what);
		compare(m, &off, Bs[k], 23 + k, what);
		compare_vec(m, MODEL_VEC_BEST, Bs[k], 31 + k, what);
		compare_vec(m, MODEL_VEC_BASELINE, Bs[k], 31 + k, what);
		if (model_vec_isa_supported(MODEL_VEC_AVX2))
			compare_vec(m, MODEL_VEC_AVX2, Bs[k], 31 + k, what);
		if (model_vec_isa_supported(MODEL_VEC_AVX512))
			compare_vec(m, MODEL_VEC_AVX512, Bs[k], 31 + k, what);
	}
}

/* Sequence model: every layer kind, heads with every activation. */
static void graph_sequence(void)
{
	struct synth s;
	size_t x = sy_init(&s, 6, 5, 1);
	x = sy_batch_norm(&s, x, 1e-3, 1, 1);          /* folds into both Dense below */
	size_t a = sy_dense(&s, x, 7, ACT_RELU, 1);
	size_t b = sy_dense(&s, x, 3, ACT_LINEAR, 0);
	size_t ab_in[2] = {a, b};
	x = sy_concat(&s, 2, ab_in);
	x = sy_identity(&s, x, LAYER_DROPOUT);
	x = sy_dense(&s, x, 6, ACT_GELU, 1);
	x = sy_layer_norm(&s, x, 1e-3, 1, 1);
	x = sy_lstm(&s, x, 5, 1, 1);
	x = sy_lstm(&s, x, 4, 0, 0);
	x = sy_layer_norm(&s, x, 1e-2, 0, 0);
	x = sy_identity(&s, x, LAYER_GAUSSIAN_NOISE);
	x = sy_repeat(&s, x, 3);
	x = sy_lstm(&s, x, 4, 1, 1);
	size_t h1 = sy_dense(&s, x, 3, ACT_TANH, 1);
	size_t h2 = sy_dense(&s, x, 4, ACT_SOFTMAX, 1);
	size_t h3 = sy_dense(&s, x, 2, ACT_SIGMOID, 1);
	size_t h4 = sy_dense(&s, x, 5, ACT_LINEAR, 1);
	size_t h5 = sy_dense(&s, x, 2, ACT_RELU, 0);
	size_t h6 = sy_dense(&s, x, 3, ACT_GELU, 1);
	size_t cat_in[7] = {h1, h2, h3, h4, h5, h6, x};
	x = sy_concat(&s, 7, cat_in);
	x = sy_dense(&s, x, 6, ACT_SOFTMAX, 1);
	sy_finish(&s, x);
	compare_all(&s.m, "sequence graph");
	sy_free(&s);
}

/* Vector input [C]: BatchNorm not foldable (feeds a concat, and is the output's
 * neighbour), BatchNorm without scale/shift, a lone softmax Dense, an
 * identity as the output layer. */
static void graph_vector(void)
{
	struct synth s;
	size_t in = sy_init(&s, 0, 9, 2);
	size_t bn = sy_batch_norm(&s, in, 1e-3, 1, 0);
	size_t d = sy_dense(&s, bn, 8, ACT_TANH, 1);
	size_t bn2 = sy_batch_norm(&s, d, 1e-2, 0, 0);
	size_t cat_in[2] = {bn, bn2};
	size_t x = sy_concat(&s, 2, cat_in);
	x = sy_dense(&s, x, 5, ACT_SOFTMAX, 1);
	x = sy_layer_norm(&s, x, 1e-3, 0, 1);
	x = sy_identity(&s, x, LAYER_DROPOUT);
	sy_finish(&s, x);
	compare_all(&s.m, "vector graph");
	sy_free(&s);
}

/* An LSTM reading the model input directly, last state, output a Dense relu. */
static void graph_small(void)
{
	struct synth s;
	size_t x = sy_init(&s, 4, 3, 3);
	x = sy_lstm(&s, x, 6, 0, 1);
	x = sy_repeat(&s, x, 2);
	x = sy_dense(&s, x, 2, ACT_RELU, 1);
	sy_finish(&s, x);
	compare_all(&s.m, "small graph");
	sy_free(&s);
}

/* The traffic topology through infer.h, B covering chunking and padding. */
static void graph_traffic(void)
{
	struct synth s;
	sy_traffic(&s, 4);
	struct rb_err err = {0};
	struct infer *ref = NULL, *fast = NULL;
	CHECKF(infer_new(&ref, &s.m, INFER_REFERENCE, &err) == RB_OK, "%s", err.msg);
	CHECKF(infer_new(&fast, &s.m, INFER_DNNL, &err) == RB_OK, "%s", err.msg);
	size_t B = 45, in_n = 32 * 20, out_n = 32 * 20;
	float *x = malloc(B * in_n * sizeof *x), *y1 = malloc(B * out_n * sizeof *y1);
	float *y2 = malloc(B * out_n * sizeof *y2);
	CHECK(x != NULL && y1 != NULL && y2 != NULL);
	uint64_t rng = 99;
	sy_fill(x, B * in_n, &rng, 0.0, 1.0);
	CHECKF(infer_run(ref, x, B, y1, &err) == RB_OK, "%s", err.msg);
	CHECKF(infer_run(fast, x, B, y2, &err) == RB_OK, "%s", err.msg);
	double worst = 0.0;
	for (size_t k = 0; k < B * out_n; k++) {
		double e = fabs((double)y1[k] - (double)y2[k]);
		worst = e > worst ? e : worst;
		CHECK(isfinite(y2[k]));
	}
	CHECKF(worst <= TOL, "traffic topology: max |dnnl - ref| = %g", worst);
	if (worst > max_err_seen)
		max_err_seen = worst;
	infer_free(ref);
	infer_free(fast);
	free(x);
	free(y1);
	free(y2);
	sy_free(&s);
}

int main(void)
{
	if (!model_vec_isa_supported(MODEL_VEC_AVX2))
		printf("SKIPPED: vector build avx2+fma (this CPU cannot run it)\n");
	if (!model_vec_isa_supported(MODEL_VEC_AVX512))
		printf("SKIPPED: vector build avx512 (this CPU cannot run it)\n");
	graph_sequence();
	graph_vector();
	graph_small();
	graph_traffic();
	printf("max |dnnl - ref| over all graphs: %.3g (tolerance %.3g)\n", max_err_seen, TOL);
	printf("max |vector - ref| over all graphs: %.3g (tolerance %.3g)\n", max_vec_err_seen, VEC_TOL);
	return 0;
}
