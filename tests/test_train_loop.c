/*
 * train_loop: a tiny deterministic training loop on the plain-C oracle
 * (train_ref forward and backward, MAE, AdamW) lowers the loss. The tiny
 * traffic topology (as test_train_grad: input [6, 7], units 4 and 3, random
 * weights from a fixed seed) learns to reconstruct windows of a synthetic
 * series (two periodic metrics, a constant granularity, minute of day and a
 * 3-day one-hot weekday), mini-batches of 8 in an order drawn from a fixed
 * seed, AdamW at lr 0.003. Asserted: the MAE over the whole set falls by a
 * factor of at least LOSS_FACTOR (4) in EPOCHS (300) epochs of 4 steps
 * (measured 5.47: 0.3015 -> 0.0551), every epoch's loss is finite, and a
 * second run gives the same losses bit for bit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/train/adamw.h"
#include "rb/train/train_net.h"
#include "rb/train/train_ref.h"
#include "testutil.h"
#include "testutil/infer_synth.h"

#define T 6
#define C 7
#define ROWS 96     /* the synthetic series: 4 "days" of 24 rows */
#define STRIDE 3
#define NW ((ROWS - T) / STRIDE + 1) /* windows: 31 */
#define BATCH 8
#define EPOCHS 300
#define LOSS_FACTOR 4.0

static void tiny_traffic(struct synth *s, uint64_t seed)
{
	size_t x = sy_init(s, T, C, seed);
	x = sy_batch_norm(s, x, 1e-3, 1, 1);
	x = sy_dense(s, x, 4, ACT_GELU, 1);
	x = sy_identity(s, x, LAYER_DROPOUT);
	x = sy_dense(s, x, 4, ACT_GELU, 1);
	x = sy_layer_norm(s, x, 1e-3, 1, 1);
	x = sy_lstm(s, x, 3, 0, 1);
	x = sy_layer_norm(s, x, 1e-3, 1, 1);
	x = sy_identity(s, x, LAYER_GAUSSIAN_NOISE);
	x = sy_repeat(s, x, T);
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

/* The windows [NW, T, C], columns in the model's output order. */
static void make_windows(double *x)
{
	const double pi = 3.14159265358979323846;
	double rows[ROWS][C];
	for (size_t t = 0; t < ROWS; t++) {
		rows[t][0] = 0.5 + 0.3 * sin(2 * pi * (double)t / 24.0);
		rows[t][1] = 0.5 + 0.2 * cos(2 * pi * (double)t / 12.0);
		rows[t][2] = 0.25;                    /* granularity */
		rows[t][3] = (double)(t % 24) / 24.0; /* minute of day */
		for (size_t d = 0; d < 3; d++)
			rows[t][4 + d] = (t / 24) % 3 == d ? 1.0 : 0.0;
	}
	for (size_t w = 0; w < NW; w++)
		memcpy(x + w * T * C, rows[w * STRIDE], T * C * sizeof *x);
}

/* MAE over the whole set, in batches. */
static double set_loss(const struct train_net *net, struct train_tape *tape, const double *x)
{
	double sum = 0.0;
	for (size_t w = 0; w < NW; w += BATCH) {
		size_t b = NW - w < BATCH ? NW - w : BATCH;
		train_forward(net, tape, x + w * T * C, b);
		sum += train_loss_mae(tape, x + w * T * C) * (double)b;
	}
	return sum / NW;
}

/* One run: returns the loss after each epoch in curve[0..EPOCHS] (curve[0]: before). */
static void run(double *curve, size_t *steps_out)
{
	struct synth s;
	tiny_traffic(&s, 11);
	struct rb_err err = {0};
	struct train_net *net = NULL;
	struct train_tape *tape = NULL;
	struct adamw *opt = NULL;
	/* lr 0.01 is too large for this tiny model: its loss falls to 0.12 and then jumps to 0.16
	 * and stays (measured); 0.003 descends steadily. */
	struct adamw_config cfg = {0.003, 0.9, 0.999, 1e-7, 0.004};
	CHECKF(train_net_new(&net, &s.m, &err) == RB_OK, "%s", err.msg);
	CHECKF(train_tape_new(&tape, net, BATCH, &err) == RB_OK, "%s", err.msg);
	CHECKF(adamw_new(&opt, net->n, &cfg, &err) == RB_OK, "%s", err.msg);
	double *x = malloc(NW * T * C * sizeof *x), *batch = malloc(BATCH * T * C * sizeof *batch);
	CHECK(x != NULL && batch != NULL);
	make_windows(x);
	size_t order[NW];
	for (size_t w = 0; w < NW; w++)
		order[w] = w;
	struct tu_rng rng = {0xba7c4e5u};
	curve[0] = set_loss(net, tape, x);
	size_t steps = 0;
	for (size_t e = 1; e <= EPOCHS; e++) {
		for (size_t w = NW - 1; w > 0; w--) { /* Fisher-Yates */
			size_t j = (size_t)(tu_rng_unit(&rng) * (double)(w + 1));
			size_t tmp = order[w];
			order[w] = order[j];
			order[j] = tmp;
		}
		for (size_t w = 0; w < NW; w += BATCH) {
			size_t b = NW - w < BATCH ? NW - w : BATCH;
			for (size_t k = 0; k < b; k++)
				memcpy(batch + k * T * C, x + order[w + k] * T * C, T * C * sizeof *x);
			train_forward(net, tape, batch, b);
			train_loss_mae(tape, batch);
			train_net_zero_grad(net);
			train_backward(net, tape, NULL);
			adamw_step(opt, net->w, net->g, net->trainable);
			steps++;
		}
		curve[e] = set_loss(net, tape, x);
		CHECK(isfinite(curve[e]));
	}
	*steps_out = steps;
	free(x);
	free(batch);
	adamw_free(opt);
	train_tape_free(tape);
	train_net_free(net);
	sy_free(&s);
}

int main(void)
{
	double a[EPOCHS + 1], b[EPOCHS + 1];
	size_t steps = 0, steps2 = 0;
	run(a, &steps);
	printf("MAE on %d windows: before %.5f", NW, a[0]);
	for (size_t e = 5; e <= EPOCHS; e += 50)
		printf(", epoch %zu %.5f", e, a[e]);
	printf(", after %zu epochs (%zu steps) %.5f: factor %.2f\n", (size_t)EPOCHS, steps, a[EPOCHS],
	       a[0] / a[EPOCHS]);
	CHECKF(a[EPOCHS] * LOSS_FACTOR <= a[0], "loss %.5f -> %.5f, less than a factor %.1f", a[0],
	       a[EPOCHS], LOSS_FACTOR);
	run(b, &steps2);
	CHECK(steps2 == steps);
	CHECK(memcmp(a, b, sizeof a) == 0);
	return 0;
}
