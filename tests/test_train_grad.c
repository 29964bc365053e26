/*
 * train_grad: every layer's backward in core/train/train_ref.c against central
 * finite differences of its own double-precision forward, on small random
 * shapes, then the whole graph's gradient (every trainable parameter and the
 * input) on a tiny instance of the traffic topology under the MAE loss plus
 * the old model's L2 regularisers (activity on the LSTMs, bias on the heads),
 * with and without training-time Dropout and GaussianNoise (their draws fixed
 * by a seed, so the loss is a smooth function of the parameters).
 *
 * Per-layer checks use the smooth loss L = Σ r ⊙ y (r random), so the
 * analytic gradient is the backward of dout = r. Step h = 1e-5 (layers) and
 * 1e-6 (whole graph: MAE is piecewise linear, and the test asserts that no
 * output is within 1e-4 of its target, so no kink is crossed). An analytic a
 * and a numeric n agree when |a - n| <= TOL · max(1, |n|), TOL = 1e-8
 * (truncation ~h² and rounding ~1e-16/h are both below it; measured: 2e-10). The largest
 * error of each check is printed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/model/model_ref.h"
#include "rb/train/train_net.h"
#include "rb/train/train_ref.h"
#include "testutil.h"
#include "testutil/infer_synth.h"

#define TOL 1e-8

static struct tu_rng rng = {0x5eed7ea1u};

static double unif(double lo, double hi) { return lo + (hi - lo) * tu_rng_unit(&rng); }

static double *rnd(size_t n, double lo, double hi)
{
	double *p = malloc((n > 0 ? n : 1) * sizeof *p);
	CHECK(p != NULL);
	for (size_t k = 0; k < n; k++)
		p[k] = unif(lo, hi);
	return p;
}

static double *zeros(size_t n)
{
	double *p = calloc(n > 0 ? n : 1, sizeof *p);
	CHECK(p != NULL);
	return p;
}

static double worst_all; /* the largest error over every check, for the summary */

/*
 * Compares grad[n] with central differences of loss() over x[n] (perturbed in
 * place and restored). Returns and prints the largest error.
 */
static double fd_check(const char *what, double *x, const double *grad, size_t n,
                       double (*loss)(void *), void *ctx, double h)
{
	double worst = 0.0;
	for (size_t k = 0; k < n; k++) {
		double keep = x[k];
		x[k] = keep + h;
		double lp = loss(ctx);
		x[k] = keep - h;
		double lm = loss(ctx);
		x[k] = keep;
		double num = (lp - lm) / (2.0 * h);
		double e = fabs(grad[k] - num) / fmax(1.0, fabs(num));
		CHECKF(e <= TOL, "%s[%zu]: analytic %.12g, numeric %.12g (error %.3g)", what, k, grad[k],
		       num, e);
		if (e > worst)
			worst = e;
	}
	printf("  %-34s %5zu values  max error %.2e\n", what, n, worst);
	if (worst > worst_all)
		worst_all = worst;
	return worst;
}

static double dot(const double *a, const double *b, size_t n)
{
	double s = 0.0;
	for (size_t k = 0; k < n; k++)
		s += a[k] * b[k];
	return s;
}

/* ---- Dense with each activation ---- */

struct dense_ctx {
	size_t N, IC, OC;
	enum activation act;
	double *in, *kernel, *bias, *r, *out, *pre;
};

static double dense_loss(void *p)
{
	struct dense_ctx *c = p;
	tr_dense_forward(c->out, c->pre, c->in, c->kernel, c->bias, c->act, c->N, c->IC, c->OC);
	return dot(c->r, c->out, c->N * c->OC);
}

static void check_dense(enum activation act, const char *name)
{
	struct dense_ctx c = {3, 4, 5, act, NULL, NULL, NULL, NULL, NULL, NULL};
	c.in = rnd(c.N * c.IC, -1.5, 1.5);
	c.kernel = rnd(c.IC * c.OC, -0.8, 0.8);
	c.bias = rnd(c.OC, -0.3, 0.3);
	c.r = rnd(c.N * c.OC, -1, 1);
	c.out = zeros(c.N * c.OC);
	c.pre = zeros(c.N * c.OC);
	double *din = zeros(c.N * c.IC), *dk = zeros(c.IC * c.OC), *db = zeros(c.OC);
	double *dpre = zeros(c.N * c.OC);
	dense_loss(&c);
	if (act == ACT_RELU) /* keep clear of the kink at 0 */
		for (size_t k = 0; k < c.N * c.OC; k++)
			CHECK(fabs(c.pre[k]) > 1e-3);
	tr_dense_backward(din, dk, db, dpre, c.r, c.out, c.pre, c.in, c.kernel, act, c.N, c.IC, c.OC);
	char what[64];
	snprintf(what, sizeof what, "dense %s: input", name);
	fd_check(what, c.in, din, c.N * c.IC, dense_loss, &c, 1e-5);
	snprintf(what, sizeof what, "dense %s: kernel", name);
	fd_check(what, c.kernel, dk, c.IC * c.OC, dense_loss, &c, 1e-5);
	snprintf(what, sizeof what, "dense %s: bias", name);
	fd_check(what, c.bias, db, c.OC, dense_loss, &c, 1e-5);
	/* Accumulation: a second backward at the same point adds the same again. */
	double k0 = dk[0];
	dense_loss(&c);
	tr_dense_backward(din, dk, db, dpre, c.r, c.out, c.pre, c.in, c.kernel, act, c.N, c.IC, c.OC);
	CHECK(fabs(dk[0] - 2 * k0) <= 1e-12 * fmax(1, fabs(k0)));
	free(c.in), free(c.kernel), free(c.bias), free(c.r), free(c.out), free(c.pre);
	free(din), free(dk), free(db), free(dpre);
}

/* ---- BatchNormalization (inference form) ---- */

struct bn_ctx {
	size_t N, C;
	double *in, *mean, *var, *gamma, *beta, *r, *out;
};

static double bn_loss(void *p)
{
	struct bn_ctx *c = p;
	tr_batch_norm_forward(c->out, c->in, c->mean, c->var, c->gamma, c->beta, 1e-3, c->N, c->C);
	return dot(c->r, c->out, c->N * c->C);
}

static void check_batch_norm(int affine)
{
	struct bn_ctx c = {4, 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
	c.in = rnd(c.N * c.C, -2, 2);
	c.mean = rnd(c.C, -0.5, 0.5);
	c.var = rnd(c.C, 0.2, 2.0);
	c.gamma = affine ? rnd(c.C, 0.5, 1.5) : NULL;
	c.beta = affine ? rnd(c.C, -0.5, 0.5) : NULL;
	c.r = rnd(c.N * c.C, -1, 1);
	c.out = zeros(c.N * c.C);
	double *din = zeros(c.N * c.C), *dg = zeros(c.C), *db = zeros(c.C);
	tr_batch_norm_backward(din, affine ? dg : NULL, affine ? db : NULL, c.r, c.in, c.mean, c.var,
	                       c.gamma, 1e-3, c.N, c.C);
	fd_check(affine ? "batch_norm: input" : "batch_norm (no gamma/beta): input", c.in, din,
	         c.N * c.C, bn_loss, &c, 1e-5);
	if (affine) {
		fd_check("batch_norm: gamma", c.gamma, dg, c.C, bn_loss, &c, 1e-5);
		fd_check("batch_norm: beta", c.beta, db, c.C, bn_loss, &c, 1e-5);
	}
	free(c.in), free(c.mean), free(c.var), free(c.gamma), free(c.beta), free(c.r), free(c.out);
	free(din), free(dg), free(db);
}

/* ---- LayerNormalization ---- */

struct ln_ctx {
	size_t N, C;
	double *in, *gamma, *beta, *r, *out, *stats;
};

static double ln_loss(void *p)
{
	struct ln_ctx *c = p;
	tr_layer_norm_forward(c->out, c->stats, c->in, c->gamma, c->beta, 1e-3, c->N, c->C);
	return dot(c->r, c->out, c->N * c->C);
}

static void check_layer_norm(int affine)
{
	struct ln_ctx c = {3, 5, NULL, NULL, NULL, NULL, NULL, NULL};
	c.in = rnd(c.N * c.C, -2, 2);
	c.gamma = affine ? rnd(c.C, 0.5, 1.5) : NULL;
	c.beta = affine ? rnd(c.C, -0.5, 0.5) : NULL;
	c.r = rnd(c.N * c.C, -1, 1);
	c.out = zeros(c.N * c.C);
	c.stats = zeros(2 * c.N);
	double *din = zeros(c.N * c.C), *dg = zeros(c.C), *db = zeros(c.C);
	ln_loss(&c);
	tr_layer_norm_backward(din, affine ? dg : NULL, affine ? db : NULL, c.r, c.in, c.stats,
	                       c.gamma, c.N, c.C);
	fd_check(affine ? "layer_norm: input" : "layer_norm (no gamma/beta): input", c.in, din,
	         c.N * c.C, ln_loss, &c, 1e-5);
	if (affine) {
		fd_check("layer_norm: gamma", c.gamma, dg, c.C, ln_loss, &c, 1e-5);
		fd_check("layer_norm: beta", c.beta, db, c.C, ln_loss, &c, 1e-5);
	}
	free(c.in), free(c.gamma), free(c.beta), free(c.r), free(c.out), free(c.stats);
	free(din), free(dg), free(db);
}

/* ---- LSTM ---- */

struct lstm_ctx {
	size_t T, D, H;
	int seq;
	double *in, *kernel, *rec, *bias, *r, *out, *cache;
};

static double lstm_loss(void *p)
{
	struct lstm_ctx *c = p;
	tr_lstm_forward(c->out, c->cache, c->in, c->kernel, c->rec, c->bias, c->seq, c->T, c->D, c->H);
	return dot(c->r, c->out, (c->seq ? c->T : 1) * c->H);
}

static void check_lstm(int seq)
{
	struct lstm_ctx c = {5, 3, 4, seq, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
	size_t G = 4 * c.H, n_out = (seq ? c.T : 1) * c.H;
	c.in = rnd(c.T * c.D, -1, 1);
	c.kernel = rnd(c.D * G, -0.7, 0.7);
	c.rec = rnd(c.H * G, -0.7, 0.7);
	c.bias = rnd(G, -0.4, 0.6);
	c.r = rnd(n_out, -1, 1);
	c.out = zeros(n_out);
	c.cache = zeros(TR_LSTM_CACHE(c.T, c.H));
	double *din = zeros(c.T * c.D), *dk = zeros(c.D * G), *dr = zeros(c.H * G), *db = zeros(G);
	double *scratch = zeros(6 * c.H);
	lstm_loss(&c);
	/* The tape's forward is model_ref's LSTM. */
	float *kf = malloc(c.D * G * sizeof *kf), *rf = malloc(c.H * G * sizeof *rf);
	float *bf = malloc(G * sizeof *bf);
	CHECK(kf != NULL && rf != NULL && bf != NULL);
	for (size_t k = 0; k < c.D * G; k++)
		c.kernel[k] = kf[k] = (float)c.kernel[k];
	for (size_t k = 0; k < c.H * G; k++)
		c.rec[k] = rf[k] = (float)c.rec[k];
	for (size_t k = 0; k < G; k++)
		c.bias[k] = bf[k] = (float)c.bias[k];
	double *ref = zeros(n_out), *state = zeros(6 * c.H);
	ref_lstm(ref, state, c.in, kf, rf, bf, seq, c.T, c.D, c.H);
	lstm_loss(&c);
	for (size_t k = 0; k < n_out; k++)
		CHECK(c.out[k] == ref[k]);
	tr_lstm_backward(din, dk, dr, db, scratch, c.r, c.cache, c.in, c.kernel, c.rec, seq, c.T, c.D,
	                 c.H);
	const char *tag = seq ? "lstm (sequences)" : "lstm (last state)";
	char what[64];
	snprintf(what, sizeof what, "%s: input", tag);
	fd_check(what, c.in, din, c.T * c.D, lstm_loss, &c, 1e-5);
	snprintf(what, sizeof what, "%s: kernel", tag);
	fd_check(what, c.kernel, dk, c.D * G, lstm_loss, &c, 1e-5);
	snprintf(what, sizeof what, "%s: recurrent", tag);
	fd_check(what, c.rec, dr, c.H * G, lstm_loss, &c, 1e-5);
	snprintf(what, sizeof what, "%s: bias", tag);
	fd_check(what, c.bias, db, G, lstm_loss, &c, 1e-5);
	free(c.in), free(c.kernel), free(c.rec), free(c.bias), free(c.r), free(c.out), free(c.cache);
	free(din), free(dk), free(dr), free(db), free(scratch), free(kf), free(rf), free(bf);
	free(ref), free(state);
}

/* ---- RepeatVector, Concatenate, MAE ---- */

struct shape_ctx {
	double *a, *b, *r, *out;
	size_t R, Ca, Cb, N;
	int concat;
};

static double shape_loss(void *p)
{
	struct shape_ctx *c = p;
	if (c->concat) {
		const double *ins[2] = {c->a, c->b};
		size_t Cs[2] = {c->Ca, c->Cb};
		ref_concat(c->out, ins, Cs, 2, c->N);
		return dot(c->r, c->out, c->N * (c->Ca + c->Cb));
	}
	ref_repeat(c->out, c->a, c->R, c->Ca);
	return dot(c->r, c->out, c->R * c->Ca);
}

static void check_repeat_concat(void)
{
	struct shape_ctx c = {NULL, NULL, NULL, NULL, 4, 3, 2, 3, 0};
	c.a = rnd(c.N * c.Ca, -1, 1);
	c.b = rnd(c.N * c.Cb, -1, 1);
	c.r = rnd(c.N * (c.Ca + c.Cb) + c.R * c.Ca, -1, 1);
	c.out = zeros(c.N * (c.Ca + c.Cb) + c.R * c.Ca);
	double *da = zeros(c.N * c.Ca), *db = zeros(c.N * c.Cb);
	tr_repeat_backward(da, c.r, c.R, c.Ca);
	fd_check("repeat_vector: input", c.a, da, c.Ca, shape_loss, &c, 1e-5);
	c.concat = 1;
	memset(da, 0, c.N * c.Ca * sizeof *da);
	double *dins[2] = {da, db};
	size_t Cs[2] = {c.Ca, c.Cb};
	tr_concat_backward(dins, c.r, Cs, 2, c.N);
	fd_check("concatenate: input 0", c.a, da, c.N * c.Ca, shape_loss, &c, 1e-5);
	fd_check("concatenate: input 1", c.b, db, c.N * c.Cb, shape_loss, &c, 1e-5);
	free(c.a), free(c.b), free(c.r), free(c.out), free(da), free(db);
}

struct mae_ctx {
	double *out, *target, *scratch;
	size_t n;
};

static double mae_loss(void *p)
{
	struct mae_ctx *c = p;
	return tr_mae(c->scratch, c->out, c->target, c->n);
}

static void check_mae(void)
{
	struct mae_ctx c = {rnd(12, 0, 1), rnd(12, 0, 1), zeros(12), 12};
	double *d = zeros(12);
	double l = tr_mae(d, c.out, c.target, c.n);
	double want = 0.0;
	for (size_t k = 0; k < c.n; k++) {
		CHECK(fabs(c.out[k] - c.target[k]) > 1e-4);
		want += fabs(c.out[k] - c.target[k]);
	}
	CHECK(fabs(l - want / 12) <= 1e-15);
	fd_check("mae: output", c.out, d, c.n, mae_loss, &c, 1e-6);
	/* sign(0) = 0, as TensorFlow's */
	c.target[0] = c.out[0];
	tr_mae(d, c.out, c.target, c.n);
	CHECK(d[0] == 0.0);
	free(c.out), free(c.target), free(c.scratch), free(d);
}

/* ---- the whole graph ---- */

/*
 * The traffic topology, tiny: input [6, 7] (2 metrics, granularity, minute,
 * 3 weekdays), BN, Dense 4 gelu, Dropout, Dense 4 gelu, LN, LSTM 3 last, LN,
 * noise, repeat 6, LSTM 3 seq, Dense 4 gelu, heads minute 1 sigmoid, weekday
 * 3 softmax, granularity 1 sigmoid, metrics Dense 2 sigmoid on concat,
 * output concat [metrics, granularity, minute, weekday].
 */
static void tiny_traffic(struct synth *s, uint64_t seed)
{
	size_t x = sy_init(s, 6, 7, seed);
	x = sy_batch_norm(s, x, 1e-3, 1, 1);
	x = sy_dense(s, x, 4, ACT_GELU, 1);
	x = sy_identity(s, x, LAYER_DROPOUT);
	x = sy_dense(s, x, 4, ACT_GELU, 1);
	x = sy_layer_norm(s, x, 1e-3, 1, 1);
	x = sy_lstm(s, x, 3, 0, 1);
	x = sy_layer_norm(s, x, 1e-3, 1, 1);
	x = sy_identity(s, x, LAYER_GAUSSIAN_NOISE);
	x = sy_repeat(s, x, 6);
	x = sy_lstm(s, x, 3, 1, 1);
	size_t dd = sy_dense(s, x, 4, ACT_GELU, 1);
	size_t drop = sy_identity(s, dd, LAYER_DROPOUT);
	size_t minute = sy_dense(s, dd, 1, ACT_SIGMOID, 1);
	size_t weekday = sy_dense(s, dd, 3, ACT_SOFTMAX, 1);
	size_t gran = sy_dense(s, dd, 1, ACT_SIGMOID, 1);
	size_t pre_in[4] = {drop, minute, weekday, gran};
	size_t pre = sy_concat(s, 4, pre_in);
	size_t metrics = sy_dense(s, pre, 2, ACT_SIGMOID, 1);
	size_t end_in[4] = {metrics, gran, minute, weekday};
	sy_finish(s, sy_concat(s, 4, end_in));
}

struct graph_ctx {
	struct train_net *net;
	struct train_tape *tape;
	double *in, *target;
	size_t B;
	uint64_t seed; /* 0: the inference-form forward; else the noisy one, same masks each time */
};

static double graph_loss(void *p)
{
	struct graph_ctx *c = p;
	uint64_t rng = c->seed;
	if (c->seed != 0)
		train_forward_noisy(c->net, c->tape, c->in, c->B, &rng);
	else
		train_forward(c->net, c->tape, c->in, c->B);
	return train_loss_mae(c->tape, c->target) + train_loss_reg(c->net, c->tape);
}

static void check_graph(uint64_t seed)
{
	struct synth s;
	tiny_traffic(&s, 7);
	struct rb_err err = {0};
	struct graph_ctx c = {NULL, NULL, NULL, NULL, 3, seed};
	CHECKF(train_net_new(&c.net, &s.m, &err) == RB_OK, "%s", err.msg);
	CHECKF(train_tape_new(&c.tape, c.net, c.B, &err) == RB_OK, "%s", err.msg);
	/* The old model's regularisers, made large enough to matter: activity L2 on both LSTMs
	 * (layers 6 and 10), bias L2 on the four heads (13, 14, 15, 17). */
	CHECK(s.m.layers[6].kind == LAYER_LSTM && s.m.layers[10].kind == LAYER_LSTM);
	c.net->activity_l2[6] = 0.05;
	c.net->activity_l2[10] = 0.02;
	size_t heads[4] = {13, 14, 15, 17};
	for (size_t j = 0; j < 4; j++) {
		CHECK(s.m.layers[heads[j]].kind == LAYER_DENSE);
		c.net->bias_l2[heads[j]] = 0.1;
	}
	if (seed != 0) { /* training-time noise, masks fixed by the seed */
		CHECK(s.m.layers[3].kind == LAYER_DROPOUT && s.m.layers[12].kind == LAYER_DROPOUT &&
		      s.m.layers[8].kind == LAYER_GAUSSIAN_NOISE);
		c.net->noise[3] = 0.3;
		c.net->noise[12] = 0.5;
		c.net->noise[8] = 0.05;
	}
	size_t in_n = 6 * 7, n_out = c.B * 6 * 7;
	c.in = rnd(c.B * in_n, 0, 1);
	c.target = malloc(n_out * sizeof *c.target);
	CHECK(c.target != NULL);
	/* An autoencoder: the target is the input (a copy, held fixed while the input moves). */
	memcpy(c.target, c.in, n_out * sizeof *c.in);
	double l0 = graph_loss(&c);
	/* Without noise the training forward is the inference forward; with it, it is not. */
	double *ref = zeros(n_out);
	CHECKF(model_ref_forward(&s.m, c.in, c.B, ref, &err) == RB_OK, "%s", err.msg);
	const double *out = train_forward(c.net, c.tape, c.in, c.B);
	for (size_t k = 0; k < n_out; k++)
		CHECK(out[k] == ref[k]);
	CHECK(graph_loss(&c) == l0);
	out = train_forward(c.net, c.tape, c.in, c.B);
	size_t differ = 0;
	if (seed != 0) {
		uint64_t rng = seed;
		out = train_forward_noisy(c.net, c.tape, c.in, c.B, &rng);
		for (size_t k = 0; k < n_out; k++)
			differ += out[k] != ref[k];
		CHECK(differ > n_out / 2);
	}
	for (size_t k = 0; k < n_out; k++)
		CHECKF(fabs(out[k] - c.target[k]) > 1e-4, "output %zu is at a kink of the MAE", k);
	/* The bias part of the regularisation is l2 Σ b² (alone when the activity l2 are 0). */
	double act_l2[2] = {c.net->activity_l2[6], c.net->activity_l2[10]};
	c.net->activity_l2[6] = c.net->activity_l2[10] = 0.0;
	double want = 0.0;
	for (size_t j = 0; j < 4; j++)
		for (size_t k = 0; k < s.m.layers[heads[j]].C; k++)
			want += 0.1 * c.net->wv[heads[j]].bias[k] * c.net->wv[heads[j]].bias[k];
	CHECK(fabs(train_loss_reg(c.net, c.tape) - want) <= 1e-15);
	c.net->activity_l2[6] = act_l2[0];
	c.net->activity_l2[10] = act_l2[1];
	/* The activity part is per sample (divided by B): the same windows twice, the same loss. */
	train_forward(c.net, c.tape, c.in, c.B);
	double reg1 = train_loss_reg(c.net, c.tape);
	CHECK(reg1 > want);
	struct train_tape *tape2 = NULL;
	CHECKF(train_tape_new(&tape2, c.net, 2 * c.B, &err) == RB_OK, "%s", err.msg);
	double *twice = malloc(2 * c.B * in_n * sizeof *twice);
	CHECK(twice != NULL);
	memcpy(twice, c.in, c.B * in_n * sizeof *twice);
	memcpy(twice + c.B * in_n, c.in, c.B * in_n * sizeof *twice);
	train_forward(c.net, tape2, twice, 2 * c.B);
	CHECK(fabs(train_loss_reg(c.net, tape2) - reg1) <= 1e-14);
	free(twice);
	train_tape_free(tape2);
	train_net_zero_grad(c.net);
	CHECK(graph_loss(&c) == l0);
	double *din = zeros(c.B * in_n);
	train_backward(c.net, c.tape, din);
	/* Every trainable parameter, one at a time; the moving statistics get no gradient. */
	size_t checked = 0;
	double worst = 0.0;
	for (size_t k = 0; k < c.net->n; k++) {
		if (!c.net->trainable[k]) {
			CHECK(c.net->g[k] == 0.0);
			continue;
		}
		double x = c.net->w[k];
		c.net->w[k] = x + 1e-6;
		double lp = graph_loss(&c);
		c.net->w[k] = x - 1e-6;
		double lm = graph_loss(&c);
		c.net->w[k] = x;
		double num = (lp - lm) / 2e-6;
		double e = fabs(c.net->g[k] - num) / fmax(1.0, fabs(num));
		CHECKF(e <= TOL, "graph: parameter %zu: analytic %.12g, numeric %.12g", k, c.net->g[k],
		       num);
		if (e > worst)
			worst = e;
		checked++;
	}
	CHECK(checked == c.net->n_trainable);
	CHECK(c.net->n_trainable == c.net->n - 2 * 7); /* all but BN's moving mean and variance */
	printf("  %-34s %5zu values  max error %.2e\n",
	       seed ? "graph, noisy: every parameter" : "graph (MAE + L2): every parameter", checked,
	       worst);
	if (worst > worst_all)
		worst_all = worst;
	fd_check(seed ? "graph, noisy: input" : "graph (MAE + L2): input", c.in, din, c.B * in_n,
	         graph_loss, &c, 1e-6);
	free(ref), free(din), free(c.in), free(c.target);
	train_tape_free(c.tape);
	train_net_free(c.net);
	sy_free(&s);
}

int main(void)
{
	printf("gradient checks, central differences, tolerance %.0e:\n", TOL);
	check_dense(ACT_LINEAR, "linear");
	check_dense(ACT_RELU, "relu");
	check_dense(ACT_GELU, "gelu");
	check_dense(ACT_SIGMOID, "sigmoid");
	check_dense(ACT_TANH, "tanh");
	check_dense(ACT_SOFTMAX, "softmax");
	check_batch_norm(1);
	check_batch_norm(0);
	check_layer_norm(1);
	check_layer_norm(0);
	check_lstm(0);
	check_lstm(1);
	check_repeat_concat();
	check_mae();
	check_graph(0);
	check_graph(0x9e3779b9u);
	printf("largest error of all: %.2e\n", worst_all);
	return 0;
}
