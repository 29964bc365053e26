/*
 * train_adamw: core/train/adamw.c against Keras 2.15 AdamW's rule written in
 * the textbook form (bias-corrected m̂, v̂ and ε/sqrt(1 - β2^t), which is the
 * same update as Keras's folded step size): three steps on a small vector,
 * relative 1e-14; the first step moves a weight by lr · sign(g) (less the
 * decay) where |g| >> ε; the mask leaves frozen weights untouched (no decay
 * either); with zero gradients the decay alone gives w0 (1 - lr wd)^t; bad
 * settings are RB_E_CONFIG.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "rb/train/adamw.h"
#include "testutil.h"

#define N 5

static void check_rejects(struct adamw_config c, const char *what)
{
	struct adamw *o = NULL;
	struct rb_err err = {0};
	CHECKF(adamw_new(&o, N, &c, &err) == RB_E_CONFIG && o == NULL, "%s accepted", what);
}

int main(void)
{
	struct adamw_config keras = ADAMW_KERAS_DEFAULTS;
	CHECK(keras.lr == 0.001 && keras.beta1 == 0.9 && keras.beta2 == 0.999 && keras.eps == 1e-7 &&
	      keras.weight_decay == 0.004);
	struct adamw_config c = {0.0066, 0.9, 0.999, 1e-7, 0.004}; /* the old model's */

	struct adamw_config bad = c;
	bad.lr = 0.0;
	check_rejects(bad, "lr 0");
	bad.lr = NAN;
	check_rejects(bad, "lr NaN");
	bad = c;
	bad.beta1 = 1.0;
	check_rejects(bad, "beta_1 1");
	bad = c;
	bad.beta2 = -0.1;
	check_rejects(bad, "beta_2 -0.1");
	bad = c;
	bad.eps = 0.0;
	check_rejects(bad, "epsilon 0");
	bad = c;
	bad.weight_decay = -1e-3;
	check_rejects(bad, "weight decay < 0");
	bad.weight_decay = INFINITY;
	check_rejects(bad, "weight decay inf");

	struct adamw *o = NULL;
	struct rb_err err = {0};
	CHECKF(adamw_new(&o, N, &c, &err) == RB_OK, "%s", err.msg);
	double w[N] = {0.5, -1.25, 2.0, 0.0, 3.0};
	double want[N], m[N] = {0}, v[N] = {0};
	for (size_t k = 0; k < N; k++)
		want[k] = w[k];
	const unsigned char mask[N] = {1, 1, 1, 1, 0};
	const double grads[3][N] = {
		{0.3, -0.02, 1e-4, -2.0, 5.0},
		{-0.1, -0.05, 2e-4, 1.0, 5.0},
		{0.2, 0.01, -3e-4, 0.5, 5.0},
	};
	for (int t = 1; t <= 3; t++) {
		adamw_step(o, w, grads[t - 1], mask);
		double b1t = pow(c.beta1, t), b2t = pow(c.beta2, t);
		for (size_t k = 0; k < N; k++) {
			if (!mask[k])
				continue;
			double g = grads[t - 1][k];
			double before = want[k];
			want[k] -= c.lr * c.weight_decay * want[k];
			m[k] = c.beta1 * m[k] + (1 - c.beta1) * g;
			v[k] = c.beta2 * v[k] + (1 - c.beta2) * g * g;
			double mh = m[k] / (1 - b1t), vh = v[k] / (1 - b2t);
			want[k] -= c.lr * mh / (sqrt(vh) + c.eps / sqrt(1 - b2t));
			/* The first step is lr · sign(g), less the decay, where ε is small beside |g|. */
			if (t == 1 && fabs(g) >= 0.01)
				CHECK(fabs(want[k] - (before * (1 - c.lr * c.weight_decay) -
				                      c.lr * (g > 0 ? 1 : -1))) < 1e-3 * c.lr);
		}
		for (size_t k = 0; k < N; k++)
			CHECKF(fabs(w[k] - want[k]) <= 1e-14 * fmax(1.0, fabs(want[k])),
			       "step %d, w[%zu] = %.17g, want %.17g", t, k, w[k], want[k]);
	}
	CHECK(w[4] == 3.0); /* frozen: not even decayed */
	CHECK(adamw_steps(o) == 3);
	adamw_free(o);

	/* Zero gradients: only the decay acts. */
	CHECKF(adamw_new(&o, 1, &c, &err) == RB_OK, "%s", err.msg);
	double x = 2.0, zero = 0.0;
	for (int t = 0; t < 100; t++)
		adamw_step(o, &x, &zero, NULL);
	double decayed = 2.0 * pow(1 - c.lr * c.weight_decay, 100);
	CHECKF(fabs(x - decayed) <= 1e-14, "%.17g vs %.17g", x, decayed);
	adamw_free(o);
	adamw_free(NULL);
	printf("adamw: Keras rule, 3 steps within 1e-14; decay-only 100 steps within 1e-14\n");
	return 0;
}
