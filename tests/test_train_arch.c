/*
 * train_arch: the default architecture built by core/train/train_arch.c is
 * the old traffic model's graph: for 11 metrics, layer by layer the same
 * kinds, config names, shapes, options, wiring and weight count as
 * ../shared/upstream/traffic.keras as the loader reads it. Keras's
 * initialisers (Glorot bounds, orthonormal recurrent rows within 1e-6, forget
 * bias 1, norms 1/0), the same seed giving the same bytes, other metric
 * counts, bad shapes, the regularisers found by name on both graphs, and the
 * input BatchNorm statistics from rows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/model/model.h"
#include "rb/model/model_ref.h"
#include "rb/train/train_arch.h"
#include "rb/train/train_net.h"
#include "testutil.h"

static void same_graph(const struct model *a, const struct model *b)
{
	CHECK(a->n_layers == b->n_layers && a->output == b->output);
	CHECK(a->in_T == b->in_T && a->in_C == b->in_C && a->out_T == b->out_T && a->out_C == b->out_C);
	CHECKF(a->n_weights == b->n_weights, "%zu weights vs %zu", a->n_weights, b->n_weights);
	for (size_t i = 0; i < a->n_layers; i++) {
		const struct layer *x = &a->layers[i], *y = &b->layers[i];
		CHECKF(strcmp(x->name, y->name) == 0, "layer %zu: %s vs %s", i, x->name, y->name);
		CHECKF(x->kind == y->kind && x->T == y->T && x->C == y->C, "layer %s", x->name);
		CHECKF(x->n_inputs == y->n_inputs, "layer %s", x->name);
		for (size_t j = 0; j < x->n_inputs; j++)
			CHECKF(x->inputs[j] == y->inputs[j], "layer %s input %zu", x->name, j);
		if (x->kind == LAYER_DENSE || x->kind == LAYER_LSTM)
			CHECKF(x->units == y->units, "layer %s", x->name);
		if (x->kind == LAYER_DENSE)
			CHECKF(x->act == y->act, "layer %s activation", x->name);
		if (x->kind == LAYER_LSTM)
			CHECKF(x->return_sequences == y->return_sequences, "layer %s", x->name);
		if (x->kind == LAYER_REPEAT_VECTOR)
			CHECK(x->repeat == y->repeat);
		if (x->kind == LAYER_BATCH_NORM || x->kind == LAYER_LAYER_NORM)
			CHECKF(fabs(x->epsilon - y->epsilon) < 1e-12, "layer %s epsilon", x->name);
		CHECKF((x->kernel == NULL) == (y->kernel == NULL) &&
		       (x->bias == NULL) == (y->bias == NULL) &&
		       (x->recurrent == NULL) == (y->recurrent == NULL) &&
		       (x->gamma == NULL) == (y->gamma == NULL) && (x->beta == NULL) == (y->beta == NULL) &&
		       (x->moving_mean == NULL) == (y->moving_mean == NULL),
		       "layer %s: weight tensors differ", x->name);
	}
}

static void check_init(const struct model *m)
{
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		size_t IC = l->n_inputs > 0 ? m->layers[l->inputs[0]].C : 0;
		if (l->kind == LAYER_DENSE || l->kind == LAYER_LSTM) {
			size_t OC = l->kind == LAYER_LSTM ? 4 * l->units : l->units;
			double limit = sqrt(6.0 / (double)(IC + OC)), maxabs = 0.0;
			for (size_t k = 0; k < IC * OC; k++)
				maxabs = fmax(maxabs, fabs(l->kernel[k]));
			/* within the bound, and (for enough draws) near it */
			CHECKF(maxabs <= limit && (IC * OC < 100 || maxabs > 0.8 * limit),
			       "layer %s: Glorot bound %.9g, max %.9g", l->name, limit, maxabs);
			for (size_t k = 0; k < OC; k++) {
				int forget = l->kind == LAYER_LSTM && k >= l->units && k < 2 * l->units;
				CHECKF(l->bias[k] == (forget ? 1.0f : 0.0f), "layer %s bias %zu", l->name, k);
			}
		}
		if (l->kind == LAYER_LSTM) {
			size_t H = l->units, G = 4 * H;
			double worst = 0.0;
			for (size_t a = 0; a < H; a++)
				for (size_t b = 0; b < H; b++) {
					double d = 0.0;
					for (size_t g = 0; g < G; g++)
						d += (double)l->recurrent[a * G + g] * l->recurrent[b * G + g];
					worst = fmax(worst, fabs(d - (a == b ? 1.0 : 0.0)));
				}
			CHECKF(worst < 1e-6, "layer %s: recurrent rows not orthonormal (%.3g)", l->name, worst);
		}
		if (l->kind == LAYER_BATCH_NORM || l->kind == LAYER_LAYER_NORM)
			for (size_t c = 0; c < l->C; c++)
				CHECK(l->gamma[c] == 1.0f && l->beta[c] == 0.0f);
		if (l->kind == LAYER_BATCH_NORM)
			for (size_t c = 0; c < l->C; c++)
				CHECK(l->moving_mean[c] == 0.0f && l->moving_var[c] == 1.0f);
	}
}

int main(void)
{
	struct rb_err err = {0};
	struct model *traffic = NULL, *m = NULL, *m2 = NULL, *m3 = NULL;
	traffic = tu_load_upstream_model("traffic");

	struct train_arch a = TRAIN_ARCH_TRAFFIC(11);
	CHECKF(train_arch_build(&m, &a, 42, &err) == RB_OK, "%s", err.msg);
	same_graph(m, traffic);
	check_init(m);
	printf("default architecture, 11 metrics: %zu layers, %zu weights, as traffic.keras\n",
	       m->n_layers, m->n_weights);

	/* Same seed, same bytes; another seed, other weights. */
	CHECKF(train_arch_build(&m2, &a, 42, &err) == RB_OK, "%s", err.msg);
	CHECK(m2->n_weights == m->n_weights);
	CHECK(memcmp(m->weights, m2->weights, m->n_weights * sizeof *m->weights) == 0);
	model_free(m2);
	CHECKF(train_arch_build(&m2, &a, 43, &err) == RB_OK, "%s", err.msg);
	CHECK(memcmp(m->weights, m2->weights, m->n_weights * sizeof *m->weights) != 0);
	model_free(m2);

	/* The regularisers, by name, on the built and on the loaded graph. */
	struct train_net *net = NULL, *tnet = NULL;
	CHECKF(train_net_new(&net, m, &err) == RB_OK, "%s", err.msg);
	CHECKF(train_net_new(&tnet, traffic, &err) == RB_OK, "%s", err.msg);
	CHECK(train_arch_regularise(net) == 9);
	CHECK(train_arch_regularise(tnet) == 9);
	for (size_t i = 0; i < m->n_layers; i++) {
		enum layer_kind k = m->layers[i].kind;
		CHECK(net->activity_l2[i] == (k == LAYER_LSTM ? 0.001 : 0.0));
		double noise = k == LAYER_DROPOUT ? 0.15 : k == LAYER_GAUSSIAN_NOISE ? 0.001 : 0.0;
		CHECK(net->noise[i] == noise);
		CHECK(net->activity_l2[i] == tnet->activity_l2[i] && net->bias_l2[i] == tnet->bias_l2[i] &&
		      net->noise[i] == tnet->noise[i]);
	}
	train_net_free(tnet);

	/* The input statistics: column means and population variances; constant -> 1; NaN refused. */
	size_t C = m->in_C, N = 50;
	double *rows = malloc(N * C * sizeof *rows);
	CHECK(rows != NULL);
	struct tu_rng rng = {0xa5c4};
	for (size_t n = 0; n < N; n++)
		for (size_t c = 0; c < C; c++)
			rows[n * C + c] = c == 11 ? 0.25 : (double)c + tu_rng_unit(&rng);
	CHECKF(train_arch_input_stats(net, rows, N, &err) == RB_OK, "%s", err.msg);
	for (size_t c = 0; c < C; c++) {
		double mu = 0.0, v = 0.0;
		for (size_t n = 0; n < N; n++)
			mu += rows[n * C + c];
		mu /= (double)N;
		for (size_t n = 0; n < N; n++)
			v += (rows[n * C + c] - mu) * (rows[n * C + c] - mu);
		v /= (double)N;
		CHECK(fabs(net->wv[1].moving_mean[c] - mu) < 1e-12);
		CHECK(fabs(net->wv[1].moving_var[c] - (c == 11 ? 1.0 : v)) < 1e-12);
	}
	rows[7] = NAN;
	CHECK(train_arch_input_stats(net, rows, N, &err) == RB_E_INPUT);
	CHECK(train_arch_input_stats(net, rows, 0, &err) == RB_E_INPUT);
	free(rows);
	train_net_free(net);

	/* One metric, a short window, few units: a valid graph with outputs in (0, 1). */
	struct train_arch small = {1, 4, 3};
	CHECKF(train_arch_build(&m3, &small, 1, &err) == RB_OK, "%s", err.msg);
	CHECK(m3->in_C == 10 && m3->out_C == 10 && m3->in_T == 4);
	check_init(m3);
	double in[40], out[40];
	for (size_t k = 0; k < 40; k++)
		in[k] = tu_rng_unit(&rng);
	CHECKF(model_ref_forward(m3, in, 1, out, &err) == RB_OK, "%s", err.msg);
	for (size_t k = 0; k < 40; k++)
		CHECK(out[k] > 0.0 && out[k] < 1.0);
	model_free(m3);

	struct train_arch bad[] = {
		{0, 32, 24}, {257, 32, 24}, {11, 1, 24}, {11, 32, 0}, {11, 5000, 24},
	};
	for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
		m3 = (struct model *)&err; /* must be reset to NULL */
		CHECK(train_arch_build(&m3, &bad[j], 1, &err) == RB_E_INPUT && m3 == NULL);
	}

	model_free(m);
	model_free(traffic);
	return 0;
}
