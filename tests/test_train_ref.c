/*
 * train_ref: the training forward computes the function the service serves.
 * On ../shared/upstream/traffic.keras (loaded by model_load_files), the
 * forward of core/train/train_ref.c against model_ref_forward (the oracle of
 * inference) on random windows: max |difference| <= 1e-12 (the two run the
 * same operations in the same order; measured 0). The parameters round-trip
 * to the model's floats exactly (train_net_store), only BatchNorm's moving
 * statistics are frozen, and the full-size model's gradient matches the
 * five-point central difference (h = 1e-4; |a - n| <= 1e-7 max(1, |n|)) on a
 * spread of its parameters.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/model/model.h"
#include "rb/model/model_ref.h"
#include "rb/train/train_net.h"
#include "rb/train/train_ref.h"
#include "testutil.h"

#define B 3
#define H 1e-4 /* step of the five-point difference: truncation ~H^4, rounding ~1e-14/H */

/* Σ r ⊙ forward(in) with parameter k set to x. */
static double smooth_loss(struct train_net *net, struct train_tape *tape, const double *in,
                          const double *r, size_t k, double x)
{
	net->w[k] = x;
	const double *out = train_forward(net, tape, in, B);
	double l = 0.0;
	for (size_t j = 0; j < (size_t)B * 32 * 20; j++)
		l += r[j] * out[j];
	return l;
}

int main(void)
{
	struct rb_err err = {0};
	struct model *m = NULL;
	m = tu_load_upstream_model("traffic");
	CHECK(m->in_T == 32 && m->in_C == 20 && m->out_T == 32 && m->out_C == 20);

	struct train_net *net = NULL;
	struct train_tape *tape = NULL;
	CHECKF(train_net_new(&net, m, &err) == RB_OK, "%s", err.msg);
	CHECKF(train_tape_new(&tape, net, B, &err) == RB_OK, "%s", err.msg);

	/* Frozen: BatchNorm's 2 x 20 moving statistics, nothing else. */
	size_t n_bn = 0;
	for (size_t i = 0; i < m->n_layers; i++)
		if (m->layers[i].kind == LAYER_BATCH_NORM)
			n_bn += 2 * m->layers[i].C;
	CHECK(n_bn == 40);
	CHECKF(net->n_trainable == net->n - n_bn, "%zu trainable of %zu", net->n_trainable, net->n);

	/* Forward: training vs inference. */
	struct tu_rng rng = {0x7a11c0de};
	size_t n = (size_t)B * 32 * 20;
	double *in = malloc(n * sizeof *in), *ref = malloc(n * sizeof *ref);
	CHECK(in != NULL && ref != NULL);
	for (size_t k = 0; k < n; k++)
		in[k] = tu_rng_unit(&rng);
	CHECKF(model_ref_forward(m, in, B, ref, &err) == RB_OK, "%s", err.msg);
	const double *out = train_forward(net, tape, in, B);
	double worst = 0.0;
	for (size_t k = 0; k < n; k++)
		worst = fmax(worst, fabs(out[k] - ref[k]));
	printf("traffic.keras, %d windows: max |train_forward - model_ref_forward| = %.3g\n", B, worst);
	CHECK(worst <= 1e-12);

	/* Round trip: double and back to float changes no weight. */
	float *keep = malloc(m->n_weights * sizeof *keep);
	CHECK(keep != NULL);
	memcpy(keep, m->weights, m->n_weights * sizeof *keep);
	train_net_store(net, m);
	CHECK(memcmp(keep, m->weights, m->n_weights * sizeof *keep) == 0);

	/*
	 * The full-size gradient under the smooth loss L = Σ r ⊙ out (r random in
	 * [-1, 1]; the MAE's kinks would blur differences on 1,920 outputs; the
	 * MAE path is checked on the tiny graph of test_train_grad) on 1 parameter
	 * in 61, spread over the layers.
	 */
	double *r = malloc(n * sizeof *r);
	CHECK(r != NULL);
	for (size_t k = 0; k < n; k++)
		r[k] = 2.0 * tu_rng_unit(&rng) - 1.0;
	train_forward(net, tape, in, B);
	memcpy(train_tape_dout(tape), r, n * sizeof *r);
	train_net_zero_grad(net);
	train_backward(net, tape, NULL);
	double gworst = 0.0;
	size_t checked = 0;
	for (size_t k = 0; k < net->n; k += 61) {
		if (!net->trainable[k])
			continue;
		double x = net->w[k];
		double num = (8.0 * (smooth_loss(net, tape, in, r, k, x + H) -
		                     smooth_loss(net, tape, in, r, k, x - H)) -
		              (smooth_loss(net, tape, in, r, k, x + 2 * H) -
		               smooth_loss(net, tape, in, r, k, x - 2 * H))) / (12.0 * H);
		net->w[k] = x;
		double e = fabs(net->g[k] - num) / fmax(1.0, fabs(num));
		CHECKF(e <= 1e-7, "parameter %zu: analytic %.10g numeric %.10g", k, net->g[k], num);
		gworst = fmax(gworst, e);
		checked++;
	}
	printf("traffic.keras gradient: %zu parameters, max error %.2e\n", checked, gworst);
	CHECK(checked > 150);

	free(keep);
	free(r);
	free(in);
	free(ref);
	train_tape_free(tape);
	train_net_free(net);
	model_free(m);
	return 0;
}
