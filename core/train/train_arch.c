/*
 * train_arch: builds the default architecture (the old traffic model's layer
 * table) as a model.h graph with Keras's initial weights from a seed, sets
 * the old model's regularisers and the input BatchNorm's statistics (see
 * train_arch.h). Not the training loop, not the model files.
 */
#include "rb/train/train_arch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/base/assert.h"
#include "rb/model/model_ref.h"
#include "train_rng.h"

#define ARCH_MAX_METRICS 256
#define ARCH_MAX_WINDOW  4096
#define ARCH_MAX_UNITS   1024
#define ARCH_LAYERS      19

struct builder {
	struct model *m;
	size_t used;   /* floats of m->weights handed out */
	uint64_t rng;
};

static float *take(struct builder *b, size_t n)
{
	float *p = b->m->weights + b->used;
	b->used += n;
	RB_ASSERT(b->used <= b->m->n_weights);
	return p;
}

static void glorot(struct builder *b, float *w, size_t fan_in, size_t fan_out)
{
	double limit = sqrt(6.0 / (double)(fan_in + fan_out));
	for (size_t k = 0; k < fan_in * fan_out; k++)
		w[k] = (float)(limit * (2.0 * train_rng_unit(&b->rng) - 1.0));
}

/*
 * Keras's Orthogonal for a (H, 4H) kernel: a (4H, H) normal matrix, its Q
 * from Gram-Schmidt (the QR with a positive diagonal of R, as Keras's sign
 * fix gives), transposed: rec's H rows are orthonormal. q: (4H·H) scratch.
 */
static void orthogonal(struct builder *b, float *rec, double *q, size_t H)
{
	size_t R = 4 * H;
	for (size_t k = 0; k < R * H; k++)
		q[k] = train_rng_normal(&b->rng);
	for (size_t j = 0; j < H; j++) { /* column j of q (R rows), modified Gram-Schmidt */
		for (size_t p = 0; p < j; p++) {
			double dot = 0.0;
			for (size_t r = 0; r < R; r++)
				dot += q[r * H + p] * q[r * H + j];
			for (size_t r = 0; r < R; r++)
				q[r * H + j] -= dot * q[r * H + p];
		}
		double norm = 0.0;
		for (size_t r = 0; r < R; r++)
			norm += q[r * H + j] * q[r * H + j];
		norm = sqrt(norm);
		for (size_t r = 0; r < R; r++)
			q[r * H + j] /= norm;
	}
	for (size_t k = 0; k < H; k++)
		for (size_t g = 0; g < R; g++)
			rec[k * R + g] = (float)q[g * H + k];
}

static struct layer *add(struct builder *b, enum layer_kind kind, const char *name, size_t in,
                         size_t T, size_t C)
{
	struct layer *l = &b->m->layers[b->m->n_layers];
	memset(l, 0, sizeof *l);
	l->kind = kind;
	snprintf(l->name, sizeof l->name, "%s", name);
	if (kind != LAYER_INPUT) {
		l->n_inputs = 1;
		l->inputs[0] = in;
	}
	l->T = T;
	l->C = C;
	b->m->n_layers++;
	return l;
}

static size_t idx(const struct builder *b) { return b->m->n_layers - 1; }

static size_t dense(struct builder *b, const char *name, size_t in, size_t units,
                    enum activation act)
{
	size_t IC = b->m->layers[in].C, T = b->m->layers[in].T;
	struct layer *l = add(b, LAYER_DENSE, name, in, T, units);
	l->units = units;
	l->act = act;
	float *k = take(b, IC * units);
	glorot(b, k, IC, units);
	l->kernel = k;
	float *bias = take(b, units);
	memset(bias, 0, units * sizeof *bias);
	l->bias = bias;
	return idx(b);
}

static size_t norm(struct builder *b, enum layer_kind kind, const char *name, size_t in)
{
	const struct layer *p = &b->m->layers[in];
	struct layer *l = add(b, kind, name, in, p->T, p->C);
	size_t C = l->C;
	l->epsilon = 1e-3;
	float *g = take(b, C), *beta = take(b, C);
	for (size_t c = 0; c < C; c++) {
		g[c] = 1.0f;
		beta[c] = 0.0f;
	}
	l->gamma = g;
	l->beta = beta;
	if (kind == LAYER_BATCH_NORM) {
		float *mean = take(b, C), *var = take(b, C);
		for (size_t c = 0; c < C; c++) {
			mean[c] = 0.0f;
			var[c] = 1.0f;
		}
		l->moving_mean = mean;
		l->moving_var = var;
	}
	return idx(b);
}

static size_t lstm(struct builder *b, const char *name, size_t in, size_t H, int seq, double *q)
{
	const struct layer *p = &b->m->layers[in];
	size_t D = p->C, G = 4 * H;
	struct layer *l = add(b, LAYER_LSTM, name, in, seq ? p->T : 0, H);
	l->units = H;
	l->act = ACT_TANH;
	l->return_sequences = seq;
	float *k = take(b, D * G), *rec = take(b, H * G), *bias = take(b, G);
	glorot(b, k, D, G);
	orthogonal(b, rec, q, H);
	for (size_t g = 0; g < G; g++)
		bias[g] = g >= H && g < 2 * H ? 1.0f : 0.0f; /* unit_forget_bias */
	l->kernel = k;
	l->recurrent = rec;
	l->bias = bias;
	return idx(b);
}

static size_t identity(struct builder *b, enum layer_kind kind, const char *name, size_t in)
{
	const struct layer *p = &b->m->layers[in];
	add(b, kind, name, in, p->T, p->C);
	return idx(b);
}

static size_t concat(struct builder *b, const char *name, const size_t *ins, size_t n)
{
	size_t C = 0;
	for (size_t j = 0; j < n; j++)
		C += b->m->layers[ins[j]].C;
	struct layer *l = add(b, LAYER_CONCATENATE, name, ins[0], b->m->layers[ins[0]].T, C);
	l->n_inputs = n;
	for (size_t j = 0; j < n; j++)
		l->inputs[j] = ins[j];
	return idx(b);
}

/* Floats of every weight of the architecture (in the order the builder takes them). */
static size_t weight_count(size_t C, size_t M, size_t U)
{
	size_t G = 4 * U;
	return 4 * C                           /* batch norm */
	       + (C * U + U) + (U * U + U)     /* two Dense */
	       + 2 * U                         /* layer norm */
	       + (U * G + U * G + G)           /* encoder LSTM */
	       + 2 * U                         /* layer norm */
	       + (U * G + U * G + G)           /* decoder LSTM */
	       + (U * U + U)                   /* decoder Dense */
	       + (U + 1) + (U * 7 + 7) + (U + 1) /* heads */
	       + ((U + 9) * M + M);            /* metrics head on [U + 1 + 7 + 1] */
}

enum rb_code train_arch_build(struct model **out, const struct train_arch *a, uint64_t seed,
                              struct rb_err *err)
{
	RB_ASSERT(out != NULL && a != NULL);
	*out = NULL;
	if (a->n_metrics < 1 || a->n_metrics > ARCH_MAX_METRICS)
		return rb_err_set(err, RB_E_INPUT, "architecture: %zu metric columns (1 to %d)",
		                  a->n_metrics, ARCH_MAX_METRICS);
	if (a->window < 2 || a->window > ARCH_MAX_WINDOW)
		return rb_err_set(err, RB_E_INPUT, "architecture: window %zu (2 to %d)", a->window,
		                  ARCH_MAX_WINDOW);
	if (a->units < 1 || a->units > ARCH_MAX_UNITS)
		return rb_err_set(err, RB_E_INPUT, "architecture: %zu units (1 to %d)", a->units,
		                  ARCH_MAX_UNITS);
	size_t M = a->n_metrics, T = a->window, U = a->units, C = M + TRAIN_ARCH_TIME_COLUMNS;
	struct model *m = calloc(1, sizeof *m);
	double *q = malloc(4 * U * U * sizeof *q);
	if (m != NULL) {
		m->layers = calloc(ARCH_LAYERS, sizeof *m->layers);
		m->n_weights = weight_count(C, M, U);
		m->weights = malloc(m->n_weights * sizeof *m->weights);
	}
	if (m == NULL || q == NULL || m->layers == NULL || m->weights == NULL) {
		model_free(m);
		free(q);
		return rb_err_set(err, RB_E_NOMEM, "architecture: no memory");
	}
	snprintf(m->name, sizeof m->name, "untrained");
	m->spec.weekday = WEEKDAY_ONEHOT;
	m->in_T = m->out_T = T;
	m->in_C = m->out_C = C;
	struct builder b = {m, 0, seed};
	add(&b, LAYER_INPUT, "input", 0, T, C);
	size_t x = idx(&b);
	x = norm(&b, LAYER_BATCH_NORM, "batch_normalization_0", x);
	x = dense(&b, "autoencoder_0_start", x, U, ACT_GELU);
	x = identity(&b, LAYER_DROPOUT, "autoencoder_0_dropout", x);
	x = dense(&b, "encoder_dense_0", x, U, ACT_GELU);
	x = norm(&b, LAYER_LAYER_NORM, "encoder_normalization_0", x);
	x = lstm(&b, "encoder_0", x, U, 0, q);
	x = norm(&b, LAYER_LAYER_NORM, "decoder_normalization_0", x);
	x = identity(&b, LAYER_GAUSSIAN_NOISE, "gaussian_noise_0", x);
	add(&b, LAYER_REPEAT_VECTOR, "repeat_vector_0", x, T, U)->repeat = T;
	x = idx(&b);
	x = lstm(&b, "decoder_0", x, U, 1, q);
	size_t dd = dense(&b, "decoder_dense_0", x, U, ACT_GELU);
	size_t drop = identity(&b, LAYER_DROPOUT, "autoencoder_0_decoder_dropout", dd);
	size_t minute = dense(&b, "minute_decoder_0", dd, 1, ACT_SIGMOID);
	size_t weekday = dense(&b, "weekday_decoder_0", dd, 7, ACT_SOFTMAX);
	size_t gran = dense(&b, "granularity_decoder_0", dd, 1, ACT_SIGMOID);
	size_t pre_in[4] = {drop, minute, weekday, gran};
	size_t pre = concat(&b, "pre_metric_decoder_0", pre_in, 4);
	size_t metrics = dense(&b, "metrics_decoder_0", pre, M, ACT_SIGMOID);
	size_t end_in[4] = {metrics, gran, minute, weekday};
	m->output = concat(&b, "autoencoder_0_end", end_in, 4);
	free(q);
	RB_ASSERT(m->n_layers == ARCH_LAYERS && b.used == m->n_weights);
	enum rb_code rc = model_ref_check(m, err);
	if (rc != RB_OK) { /* a builder bug, reported rather than served */
		model_free(m);
		return rc;
	}
	*out = m;
	return RB_OK;
}

size_t train_arch_regularise(struct train_net *net)
{
	enum reg { ACTIVITY_L2, BIAS_L2, NOISE };
	static const struct {
		const char *name;
		enum reg what;
		double value;
	} regs[] = {
		{"encoder_0", ACTIVITY_L2, 0.001},
		{"decoder_0", ACTIVITY_L2, 0.001},
		{"minute_decoder_0", BIAS_L2, 0.001},
		{"weekday_decoder_0", BIAS_L2, 0.001},
		{"granularity_decoder_0", BIAS_L2, 0.001},
		{"metrics_decoder_0", BIAS_L2, 0.001},
		{"autoencoder_0_dropout", NOISE, 0.15},
		{"autoencoder_0_decoder_dropout", NOISE, 0.15},
		{"gaussian_noise_0", NOISE, 0.001},
	};
	size_t set = 0;
	for (size_t i = 0; i < net->m->n_layers; i++)
		for (size_t r = 0; r < sizeof regs / sizeof regs[0]; r++) {
			if (strcmp(net->m->layers[i].name, regs[r].name) != 0)
				continue;
			double *slot = regs[r].what == ACTIVITY_L2 ? &net->activity_l2[i]
			               : regs[r].what == BIAS_L2   ? &net->bias_l2[i]
			                                           : &net->noise[i];
			*slot = regs[r].value;
			set++;
		}
	return set;
}

enum rb_code train_arch_input_stats(struct train_net *net, const double *rows, size_t n_rows,
                                    struct rb_err *err)
{
	const struct model *m = net->m;
	size_t bn = m->n_layers;
	for (size_t i = 0; i < m->n_layers && bn == m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		if (l->kind == LAYER_BATCH_NORM && m->layers[l->inputs[0]].kind == LAYER_INPUT)
			bn = i;
	}
	if (bn == m->n_layers)
		return rb_err_set(err, RB_E_INPUT,
		                  "input statistics: the model has no BatchNorm on its input");
	if (n_rows == 0)
		return rb_err_set(err, RB_E_INPUT, "input statistics: no rows");
	size_t C = m->in_C;
	for (size_t k = 0; k < n_rows * C; k++)
		if (!isfinite(rows[k]))
			return rb_err_set(err, RB_E_INPUT, "input statistics: row %zu column %zu is not finite",
			                  k / C, k % C);
	double *mean = net->wv[bn].moving_mean, *var = net->wv[bn].moving_var;
	for (size_t c = 0; c < C; c++) {
		double s = 0.0;
		for (size_t n = 0; n < n_rows; n++)
			s += rows[n * C + c];
		double mu = s / (double)n_rows, v = 0.0;
		for (size_t n = 0; n < n_rows; n++)
			v += (rows[n * C + c] - mu) * (rows[n * C + c] - mu);
		v /= (double)n_rows;
		mean[c] = mu;
		var[c] = v < 1e-6 ? 1.0 : v;
	}
	return RB_OK;
}
