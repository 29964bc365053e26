/*
 * train_noise: the training-time noise of train_forward_noisy. Dropout at
 * rate r zeroes a share r of the values (within 4 standard deviations of
 * the binomial) and scales the rest by exactly 1 / (1 - r), and its backward
 * passes the gradient through the same mask; GaussianNoise adds noise of mean
 * 0 and the given stddev (both within 4 standard errors) and passes the
 * gradient unchanged; the inference-form forward adds none; the same
 * generator state gives the same draws.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/train/train_net.h"
#include "rb/train/train_ref.h"
#include "testutil.h"
#include "testutil/infer_synth.h"

#define T 50
#define C 40
#define N (T * C)

/* input [T, C] -> kind -> Dense C linear with an identity kernel: the output is the layer's. */
static void build(struct synth *s, enum layer_kind kind)
{
	size_t x = sy_init(s, T, C, 3);
	x = sy_identity(s, x, kind);
	size_t d = sy_dense(s, x, C, ACT_LINEAR, 1);
	float *k = s->pool, *b = s->pool + C * C; /* the Dense's weights are the pool's first */
	CHECK(s->layers[d].kernel == k && s->layers[d].bias == b);
	memset(k, 0, C * C * sizeof *k);
	for (size_t c = 0; c < C; c++)
		k[c * C + c] = 1.0f;
	memset(b, 0, C * sizeof *b);
	sy_finish(s, d);
}

int main(void)
{
	struct rb_err err = {0};
	struct tu_rng r = {0xd209};
	double *in = malloc(N * sizeof *in), *din = malloc(N * sizeof *din);
	CHECK(in != NULL && din != NULL);
	for (size_t k = 0; k < N; k++)
		in[k] = 0.5 + tu_rng_unit(&r); /* never 0: a zero output is a dropped value */

	/* Dropout */
	struct synth s;
	build(&s, LAYER_DROPOUT);
	struct train_net *net = NULL;
	struct train_tape *tape = NULL;
	CHECKF(train_net_new(&net, &s.m, &err) == RB_OK, "%s", err.msg);
	CHECKF(train_tape_new(&tape, net, 1, &err) == RB_OK, "%s", err.msg);
	const double rate = 0.3;
	net->noise[1] = rate;
	const double *out = train_forward(net, tape, in, 1);
	for (size_t k = 0; k < N; k++)
		CHECK(out[k] == in[k]);
	uint64_t rng = 12345, rng2 = 12345;
	out = train_forward_noisy(net, tape, in, 1, &rng);
	size_t dropped = 0;
	double *first = malloc(N * sizeof *first);
	CHECK(first != NULL);
	for (size_t k = 0; k < N; k++) {
		first[k] = out[k];
		if (out[k] == 0.0)
			dropped++;
		else
			CHECKF(fabs(out[k] - in[k] / (1.0 - rate)) <= 1e-15 * out[k], "value %zu", k);
	}
	double share = (double)dropped / N, sd = sqrt(rate * (1 - rate) / N);
	printf("dropout %.2f: dropped %.4f of %d values (4 sd = %.4f)\n", rate, share, N, 4 * sd);
	CHECK(fabs(share - rate) <= 4 * sd);
	/* The backward uses the mask: d out / d in is 0 or 1/(1-rate), where the value was. */
	for (size_t k = 0; k < N; k++)
		train_tape_dout(tape)[k] = 1.0;
	train_net_zero_grad(net);
	train_backward(net, tape, din);
	for (size_t k = 0; k < N; k++)
		CHECK(din[k] == (first[k] == 0.0 ? 0.0 : 1.0 / (1.0 - rate)));
	/* The same state, the same masks; the next state, others. */
	out = train_forward_noisy(net, tape, in, 1, &rng2);
	CHECK(memcmp(out, first, N * sizeof *out) == 0);
	CHECK(rng == rng2);
	out = train_forward_noisy(net, tape, in, 1, &rng);
	CHECK(memcmp(out, first, N * sizeof *out) != 0);
	train_tape_free(tape);
	train_net_free(net);
	sy_free(&s);

	/* GaussianNoise */
	build(&s, LAYER_GAUSSIAN_NOISE);
	CHECKF(train_net_new(&net, &s.m, &err) == RB_OK, "%s", err.msg);
	CHECKF(train_tape_new(&tape, net, 1, &err) == RB_OK, "%s", err.msg);
	const double sigma = 0.2;
	net->noise[1] = sigma;
	rng = 777;
	out = train_forward_noisy(net, tape, in, 1, &rng);
	double mean = 0.0, var = 0.0;
	for (size_t k = 0; k < N; k++)
		mean += out[k] - in[k];
	mean /= N;
	for (size_t k = 0; k < N; k++)
		var += (out[k] - in[k] - mean) * (out[k] - in[k] - mean);
	double sdev = sqrt(var / (N - 1));
	printf("gaussian noise %.2f: mean %.4f (4 se = %.4f), stddev %.4f (4 se = %.4f)\n", sigma, mean,
	       4 * sigma / sqrt(N), sdev, 4 * sigma / sqrt(2.0 * N));
	CHECK(fabs(mean) <= 4 * sigma / sqrt(N));
	CHECK(fabs(sdev - sigma) <= 4 * sigma / sqrt(2.0 * N));
	for (size_t k = 0; k < N; k++)
		train_tape_dout(tape)[k] = 0.5;
	train_net_zero_grad(net);
	train_backward(net, tape, din);
	for (size_t k = 0; k < N; k++)
		CHECK(din[k] == 0.5);
	train_tape_free(tape);
	train_net_free(net);
	sy_free(&s);
	free(first);
	free(in);
	free(din);
	return 0;
}
