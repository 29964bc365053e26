/*
 * Test-only builder of small synthetic layer graphs (struct model with random
 * weights) for the tests of infer, model_ref and model_dnnl: lets every layer
 * kind and activation be exercised even when no shipped model uses it.
 * Header-only (static functions); not a model loader: no files, no .ini.
 */
#ifndef RB_INFER_SYNTH_H
#define RB_INFER_SYNTH_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/model/model.h"
#include "testutil.h"

#define SY_MAX_LAYERS 40
#define SY_POOL (1u << 20)

struct synth {
	struct model m;
	struct layer layers[SY_MAX_LAYERS];
	float *pool;       /* (SY_POOL) every weight */
	size_t used;
	uint64_t rng;
};

/* xorshift64*: deterministic, seeded per test. */
static inline double sy_uniform(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static float *sy_weights(struct synth *s, size_t n, double lo, double hi)
{
	CHECK(s->used + n <= SY_POOL);
	float *w = s->pool + s->used;
	for (size_t k = 0; k < n; k++)
		w[k] = (float)(lo + (hi - lo) * sy_uniform(&s->rng));
	s->used += n;
	return w;
}

static struct layer *sy_add(struct synth *s, enum layer_kind kind, const char *name, size_t in)
{
	CHECK(s->m.n_layers < SY_MAX_LAYERS);
	struct layer *l = &s->layers[s->m.n_layers];
	memset(l, 0, sizeof *l);
	l->kind = kind;
	snprintf(l->name, sizeof l->name, "%s_%zu", name, s->m.n_layers);
	if (kind != LAYER_INPUT) {
		l->n_inputs = 1;
		l->inputs[0] = in;
		l->T = s->layers[in].T;
		l->C = s->layers[in].C;
	}
	s->m.n_layers++;
	return l;
}

static inline size_t sy_idx(const struct synth *s) { return s->m.n_layers - 1; }

/* Starts a graph whose input is [T, C] (T = 0: [C]); returns the input index. */
static inline size_t sy_init(struct synth *s, size_t T, size_t C, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	s->pool = malloc(SY_POOL * sizeof *s->pool);
	CHECK(s->pool != NULL);
	s->rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	snprintf(s->m.name, sizeof s->m.name, "synthetic");
	s->m.layers = s->layers;
	s->m.weights = s->pool;
	s->m.in_T = T;
	s->m.in_C = C;
	struct layer *l = sy_add(s, LAYER_INPUT, "input", 0);
	l->T = T;
	l->C = C;
	return 0;
}

static inline size_t sy_dense(struct synth *s, size_t in, size_t units, enum activation act, int bias)
{
	size_t IC = s->layers[in].C;
	struct layer *l = sy_add(s, LAYER_DENSE, "dense", in);
	double a = 1.5 / sqrt((double)IC);
	l->C = l->units = units;
	l->act = act;
	l->kernel = sy_weights(s, IC * units, -a, a);
	l->bias = bias ? sy_weights(s, units, -0.3, 0.3) : NULL;
	return sy_idx(s);
}

static inline size_t sy_batch_norm(struct synth *s, size_t in, double eps, int gamma, int beta)
{
	struct layer *l = sy_add(s, LAYER_BATCH_NORM, "batch_norm", in);
	l->epsilon = eps;
	l->moving_mean = sy_weights(s, l->C, -0.5, 0.5);
	l->moving_var = sy_weights(s, l->C, 0.2, 2.0);
	l->gamma = gamma ? sy_weights(s, l->C, 0.5, 1.5) : NULL;
	l->beta = beta ? sy_weights(s, l->C, -0.5, 0.5) : NULL;
	return sy_idx(s);
}

static inline size_t sy_layer_norm(struct synth *s, size_t in, double eps, int gamma, int beta)
{
	struct layer *l = sy_add(s, LAYER_LAYER_NORM, "layer_norm", in);
	l->epsilon = eps;
	l->gamma = gamma ? sy_weights(s, l->C, 0.5, 1.5) : NULL;
	l->beta = beta ? sy_weights(s, l->C, -0.5, 0.5) : NULL;
	return sy_idx(s);
}

static inline size_t sy_lstm(struct synth *s, size_t in, size_t units, int return_sequences, int bias)
{
	size_t D = s->layers[in].C;
	struct layer *l = sy_add(s, LAYER_LSTM, "lstm", in);
	l->C = l->units = units;
	l->act = ACT_TANH;
	l->return_sequences = return_sequences;
	l->T = return_sequences ? s->layers[in].T : 0;
	l->kernel = sy_weights(s, D * 4 * units, -0.6, 0.6);
	l->recurrent = sy_weights(s, units * 4 * units, -0.6, 0.6);
	l->bias = bias ? sy_weights(s, 4 * units, -0.4, 0.6) : NULL;
	return sy_idx(s);
}

/* Dropout or GaussianNoise. */
static inline size_t sy_identity(struct synth *s, size_t in, enum layer_kind kind)
{
	sy_add(s, kind, kind == LAYER_DROPOUT ? "dropout" : "gaussian_noise", in);
	return sy_idx(s);
}

static inline size_t sy_repeat(struct synth *s, size_t in, size_t n)
{
	struct layer *l = sy_add(s, LAYER_REPEAT_VECTOR, "repeat_vector", in);
	l->repeat = n;
	l->T = n;
	return sy_idx(s);
}

static inline size_t sy_concat(struct synth *s, size_t n, const size_t *ins)
{
	struct layer *l = sy_add(s, LAYER_CONCATENATE, "concatenate", ins[0]);
	l->n_inputs = n;
	l->C = 0;
	for (size_t j = 0; j < n; j++) {
		l->inputs[j] = ins[j];
		l->C += s->layers[ins[j]].C;
	}
	return sy_idx(s);
}

static inline void sy_finish(struct synth *s, size_t out)
{
	s->m.output = out;
	s->m.out_T = s->layers[out].T;
	s->m.out_C = s->layers[out].C;
	s->m.n_weights = s->used;
}

static inline void sy_free(struct synth *s)
{
	free(s->pool);
	s->pool = NULL;
}

/*
 * The traffic.keras topology (CONTRACT §3) with random weights: input [32, 20],
 * BN, Dense 24 gelu, Dropout, Dense 24 gelu, LN, LSTM 24 last, LN, noise,
 * repeat 32, LSTM 24 seq, Dense 24 gelu, heads minute/weekday/granularity,
 * metrics Dense 11 on concat, output concat [metrics, gran, minute, weekday].
 */
static inline void sy_traffic(struct synth *s, uint64_t seed)
{
	size_t x = sy_init(s, 32, 20, seed);
	x = sy_batch_norm(s, x, 1e-3, 1, 1);
	x = sy_dense(s, x, 24, ACT_GELU, 1);
	x = sy_identity(s, x, LAYER_DROPOUT);
	x = sy_dense(s, x, 24, ACT_GELU, 1);
	x = sy_layer_norm(s, x, 1e-3, 1, 1);
	x = sy_lstm(s, x, 24, 0, 1);
	x = sy_layer_norm(s, x, 1e-3, 1, 1);
	x = sy_identity(s, x, LAYER_GAUSSIAN_NOISE);
	x = sy_repeat(s, x, 32);
	x = sy_lstm(s, x, 24, 1, 1);
	size_t dd = sy_dense(s, x, 24, ACT_GELU, 1);
	size_t drop = sy_identity(s, dd, LAYER_DROPOUT);
	size_t minute = sy_dense(s, dd, 1, ACT_SIGMOID, 1);
	size_t weekday = sy_dense(s, dd, 7, ACT_SOFTMAX, 1);
	size_t gran = sy_dense(s, dd, 1, ACT_SIGMOID, 1);
	size_t pre_in[4] = {drop, minute, weekday, gran};
	size_t pre = sy_concat(s, 4, pre_in);
	size_t metrics = sy_dense(s, pre, 11, ACT_SIGMOID, 1);
	size_t end_in[4] = {metrics, gran, minute, weekday};
	sy_finish(s, sy_concat(s, 4, end_in));
}

/* n floats uniform in [lo, hi). */
static inline void sy_fill(float *x, size_t n, uint64_t *rng, double lo, double hi)
{
	for (size_t k = 0; k < n; k++)
		x[k] = (float)(lo + (hi - lo) * sy_uniform(rng));
}

#endif
