/*
 * train_net: double-precision parameters and gradients of a layer graph at
 * the offsets of m->weights, with per-layer views (see train_net.h). Holds
 * numbers only: no forward, no backward, no optimizer state.
 */
#include "rb/train/train_net.h"

#include <stdlib.h>
#include <string.h>

#include "rb/base/assert.h"
#include "rb/model/model_ref.h"

/*
 * *view = base + (p - m->weights): where tensor p (count floats) of m sits in
 * a flat array of the weights' layout; NULL when p is NULL. RB_E_MODEL when
 * p's extent is not inside m->weights.
 */
static enum rb_code place(double **view, double *base, const float *p, size_t count,
                          const struct model *m, const struct layer *l, const char *what,
                          struct rb_err *err)
{
	*view = NULL;
	if (p == NULL)
		return RB_OK;
	if (m->weights == NULL || p < m->weights || (size_t)(p - m->weights) > m->n_weights ||
	    count > m->n_weights - (size_t)(p - m->weights))
		return rb_err_set(err, RB_E_MODEL, "layer %s: %s is not inside the model's weights",
		                  l->name, what);
	*view = base + (p - m->weights);
	return RB_OK;
}

/* Views of layer i into base (w or g). */
static enum rb_code layer_views(struct train_view *v, double *base, const struct model *m, size_t i,
                                struct rb_err *err)
{
	const struct layer *l = &m->layers[i];
	size_t IC = l->n_inputs > 0 ? m->layers[l->inputs[0]].C : 0;
	size_t C = l->C, G = 4 * l->units;
	size_t n_kernel = 0, n_bias = 0, n_rec = 0, n_norm = 0;
	memset(v, 0, sizeof *v);
	switch (l->kind) {
	case LAYER_DENSE:
		n_kernel = IC * C;
		n_bias = C;
		break;
	case LAYER_LSTM:
		n_kernel = IC * G;
		n_rec = l->units * G;
		n_bias = G;
		break;
	case LAYER_BATCH_NORM:
	case LAYER_LAYER_NORM:
		n_norm = C;
		break;
	default:
		return RB_OK; /* weightless */
	}
	enum rb_code rc = RB_OK;
	if (rc == RB_OK)
		rc = place(&v->kernel, base, l->kernel, n_kernel, m, l, "kernel", err);
	if (rc == RB_OK)
		rc = place(&v->recurrent, base, l->recurrent, n_rec, m, l, "recurrent kernel", err);
	if (rc == RB_OK)
		rc = place(&v->bias, base, l->bias, n_bias, m, l, "bias", err);
	if (rc == RB_OK)
		rc = place(&v->gamma, base, l->gamma, n_norm, m, l, "gamma", err);
	if (rc == RB_OK)
		rc = place(&v->beta, base, l->beta, n_norm, m, l, "beta", err);
	if (rc == RB_OK && l->kind == LAYER_BATCH_NORM)
		rc = place(&v->moving_mean, base, l->moving_mean, n_norm, m, l, "moving mean", err);
	if (rc == RB_OK && l->kind == LAYER_BATCH_NORM)
		rc = place(&v->moving_var, base, l->moving_var, n_norm, m, l, "moving variance", err);
	return rc;
}

enum rb_code train_net_new(struct train_net **out, const struct model *m, struct rb_err *err)
{
	RB_ASSERT(out != NULL);
	*out = NULL;
	enum rb_code rc = model_ref_check(m, err);
	if (rc != RB_OK)
		return rc;
	if (m->n_weights == 0 || m->weights == NULL)
		return rb_err_set(err, RB_E_MODEL, "model has no weights to train");
	struct train_net *net = calloc(1, sizeof *net);
	if (net == NULL)
		return rb_err_set(err, RB_E_NOMEM, "train net: no memory");
	net->m = m;
	net->n = m->n_weights;
	net->w = malloc(net->n * sizeof *net->w);
	net->g = calloc(net->n, sizeof *net->g);
	net->trainable = calloc(net->n, 1);
	net->wv = calloc(m->n_layers, sizeof *net->wv);
	net->gv = calloc(m->n_layers, sizeof *net->gv);
	net->activity_l2 = calloc(m->n_layers, sizeof *net->activity_l2);
	net->bias_l2 = calloc(m->n_layers, sizeof *net->bias_l2);
	net->noise = calloc(m->n_layers, sizeof *net->noise);
	if (net->w == NULL || net->g == NULL || net->trainable == NULL || net->wv == NULL ||
	    net->gv == NULL || net->activity_l2 == NULL || net->bias_l2 == NULL ||
	    net->noise == NULL) {
		train_net_free(net);
		return rb_err_set(err, RB_E_NOMEM, "train net: no memory for %zu parameters", m->n_weights);
	}
	for (size_t k = 0; k < net->n; k++)
		net->w[k] = (double)m->weights[k];
	for (size_t i = 0; i < m->n_layers && rc == RB_OK; i++) {
		rc = layer_views(&net->wv[i], net->w, m, i, err);
		if (rc == RB_OK)
			rc = layer_views(&net->gv[i], net->g, m, i, err);
	}
	if (rc != RB_OK) {
		train_net_free(net);
		return rc;
	}
	/* Everything a layer owns is trainable except BatchNorm's moving statistics. */
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		const struct train_view *v = &net->wv[i];
		size_t IC = l->n_inputs > 0 ? m->layers[l->inputs[0]].C : 0;
		struct {
			const double *p;
			size_t n;
		} t[5] = {
			{v->kernel, l->kind == LAYER_LSTM ? IC * 4 * l->units : IC * l->C},
			{v->recurrent, l->units * 4 * l->units},
			{v->bias, l->kind == LAYER_LSTM ? 4 * l->units : l->C},
			{v->gamma, l->C},
			{v->beta, l->C},
		};
		for (size_t j = 0; j < 5; j++)
			if (t[j].p != NULL)
				memset(net->trainable + (t[j].p - net->w), 1, t[j].n);
	}
	for (size_t k = 0; k < net->n; k++)
		net->n_trainable += net->trainable[k];
	*out = net;
	return RB_OK;
}

void train_net_free(struct train_net *net)
{
	if (net == NULL)
		return;
	free(net->w);
	free(net->g);
	free(net->trainable);
	free(net->wv);
	free(net->gv);
	free(net->activity_l2);
	free(net->bias_l2);
	free(net->noise);
	free(net);
}

void train_net_zero_grad(struct train_net *net)
{
	memset(net->g, 0, net->n * sizeof *net->g);
}

void train_net_store(const struct train_net *net, struct model *m)
{
	RB_ASSERT(m == net->m && m->n_weights == net->n);
	for (size_t k = 0; k < net->n; k++)
		m->weights[k] = (float)net->w[k];
}
