/*
 * train_ref: plain-C double-precision forward with a tape, and backward, of a
 * layer graph; the oracle of training (see train_ref.h). Each layer's forward
 * and backward sit side by side. Not fast on purpose: no SIMD, no blocking, no
 * threads, no fusion; not the oneDNN training path, not the optimizer.
 */
#include "rb/train/train_ref.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/base/assert.h"
#include "rb/model/model_ref.h"
#include "train_rng.h"

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static size_t rows(const struct layer *l) { return l->T > 0 ? l->T : 1; }

/* ---- activations ---- */

void tr_activation_forward(double *out, const double *pre, enum activation act, size_t N, size_t C)
{
	if (out != pre)
		memcpy(out, pre, N * C * sizeof *out);
	ref_activation(out, act, N, C);
}

void tr_activation_backward(double *dpre, const double *dout, const double *out, const double *pre,
                            enum activation act, size_t N, size_t C)
{
	const double inv_sqrt2 = 0.70710678118654752440;
	const double inv_sqrt2pi = 0.39894228040143267794;
	for (size_t n = 0; n < N; n++) {
		const double *dy = dout + n * C, *y = out + n * C, *x = pre + n * C;
		double *dx = dpre + n * C;
		if (act == ACT_SOFTMAX) {
			double dot = 0.0;
			for (size_t c = 0; c < C; c++)
				dot += dy[c] * y[c];
			for (size_t c = 0; c < C; c++)
				dx[c] = y[c] * (dy[c] - dot);
			continue;
		}
		for (size_t c = 0; c < C; c++) {
			double d = 1.0;
			switch (act) {
			case ACT_LINEAR: break;
			case ACT_RELU: d = x[c] > 0.0 ? 1.0 : 0.0; break;
			case ACT_GELU:
				d = 0.5 * (1.0 + erf(x[c] * inv_sqrt2)) +
				    x[c] * inv_sqrt2pi * exp(-0.5 * x[c] * x[c]);
				break;
			case ACT_SIGMOID: d = y[c] * (1.0 - y[c]); break;
			case ACT_TANH: d = 1.0 - y[c] * y[c]; break;
			case ACT_SOFTMAX: break; /* handled above */
			}
			dx[c] = dy[c] * d;
		}
	}
}

/* ---- Dense ---- */

void tr_dense_forward(double *out, double *pre, const double *in, const double *kernel,
                      const double *bias, enum activation act, size_t N, size_t IC, size_t OC)
{
	for (size_t n = 0; n < N; n++) {
		const double *x = in + n * IC;
		double *z = pre + n * OC;
		for (size_t o = 0; o < OC; o++)
			z[o] = bias != NULL ? bias[o] : 0.0;
		for (size_t i = 0; i < IC; i++)
			for (size_t o = 0; o < OC; o++)
				z[o] += x[i] * kernel[i * OC + o];
	}
	tr_activation_forward(out, pre, act, N, OC);
}

void tr_dense_backward(double *din, double *dkernel, double *dbias, double *dpre,
                       const double *dout, const double *out, const double *pre, const double *in,
                       const double *kernel, enum activation act, size_t N, size_t IC, size_t OC)
{
	tr_activation_backward(dpre, dout, out, pre, act, N, OC);
	for (size_t n = 0; n < N; n++) {
		const double *x = in + n * IC, *dz = dpre + n * OC;
		if (dbias != NULL)
			for (size_t o = 0; o < OC; o++)
				dbias[o] += dz[o];
		for (size_t i = 0; i < IC; i++) {
			double s = 0.0;
			for (size_t o = 0; o < OC; o++) {
				dkernel[i * OC + o] += x[i] * dz[o];
				s += kernel[i * OC + o] * dz[o];
			}
			if (din != NULL)
				din[n * IC + i] += s;
		}
	}
}

/* ---- BatchNormalization (inference form) ---- */

void tr_batch_norm_forward(double *out, const double *in, const double *mean, const double *var,
                           const double *gamma, const double *beta, double eps, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++)
		for (size_t c = 0; c < C; c++) {
			double g = gamma != NULL ? gamma[c] : 1.0;
			double b = beta != NULL ? beta[c] : 0.0;
			double v = (in[n * C + c] - mean[c]) / sqrt(var[c] + eps);
			out[n * C + c] = v * g + b;
		}
}

void tr_batch_norm_backward(double *din, double *dgamma, double *dbeta, const double *dout,
                            const double *in, const double *mean, const double *var,
                            const double *gamma, double eps, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++)
		for (size_t c = 0; c < C; c++) {
			double rstd = 1.0 / sqrt(var[c] + eps);
			double dy = dout[n * C + c];
			if (din != NULL)
				din[n * C + c] += dy * (gamma != NULL ? gamma[c] : 1.0) * rstd;
			if (dgamma != NULL)
				dgamma[c] += dy * (in[n * C + c] - mean[c]) * rstd;
			if (dbeta != NULL)
				dbeta[c] += dy;
		}
}

/* ---- LayerNormalization ---- */

void tr_layer_norm_forward(double *out, double *stats, const double *in, const double *gamma,
                           const double *beta, double eps, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++) {
		const double *x = in + n * C;
		double mean = 0.0, var = 0.0;
		for (size_t c = 0; c < C; c++)
			mean += x[c];
		mean /= (double)C;
		for (size_t c = 0; c < C; c++)
			var += (x[c] - mean) * (x[c] - mean);
		var /= (double)C;
		double inv = 1.0 / sqrt(var + eps);
		for (size_t c = 0; c < C; c++) {
			double g = gamma != NULL ? gamma[c] : 1.0;
			double b = beta != NULL ? beta[c] : 0.0;
			out[n * C + c] = (x[c] - mean) * inv * g + b;
		}
		stats[2 * n] = mean;
		stats[2 * n + 1] = inv;
	}
}

void tr_layer_norm_backward(double *din, double *dgamma, double *dbeta, const double *dout,
                            const double *in, const double *stats, const double *gamma, size_t N,
                            size_t C)
{
	for (size_t n = 0; n < N; n++) {
		const double *x = in + n * C, *dy = dout + n * C;
		double mean = stats[2 * n], rstd = stats[2 * n + 1];
		double mean_g = 0.0, mean_gx = 0.0;
		for (size_t c = 0; c < C; c++) {
			double xh = (x[c] - mean) * rstd;
			double g = dy[c] * (gamma != NULL ? gamma[c] : 1.0);
			mean_g += g;
			mean_gx += g * xh;
			if (dgamma != NULL)
				dgamma[c] += dy[c] * xh;
			if (dbeta != NULL)
				dbeta[c] += dy[c];
		}
		mean_g /= (double)C;
		mean_gx /= (double)C;
		if (din == NULL)
			continue;
		for (size_t c = 0; c < C; c++) {
			double xh = (x[c] - mean) * rstd;
			double g = dy[c] * (gamma != NULL ? gamma[c] : 1.0);
			din[n * C + c] += rstd * (g - mean_g - xh * mean_gx);
		}
	}
}

/* ---- LSTM ---- */

void tr_lstm_forward(double *out, double *cache, const double *in, const double *kernel,
                     const double *recurrent, const double *bias, int return_sequences, size_t T,
                     size_t D, size_t H)
{
	size_t G = 4 * H;
	for (size_t t = 0; t < T; t++) {
		const double *x = in + t * D;
		double *z = cache + t * 6 * H; /* (4H) pre-activations, then the gates in place */
		double *c = z + G, *h = c + H;
		const double *c_prev = t > 0 ? z - 6 * H + G : NULL;
		const double *h_prev = t > 0 ? z - 6 * H + G + H : NULL;
		for (size_t g = 0; g < G; g++)
			z[g] = bias != NULL ? bias[g] : 0.0;
		for (size_t d = 0; d < D; d++)
			for (size_t g = 0; g < G; g++)
				z[g] += x[d] * kernel[d * G + g];
		for (size_t k = 0; h_prev != NULL && k < H; k++) /* h starts at zero */
			for (size_t g = 0; g < G; g++)
				z[g] += h_prev[k] * recurrent[k * G + g];
		for (size_t u = 0; u < H; u++) {
			double ig = sigmoid(z[u]);
			double fg = sigmoid(z[H + u]);
			double cc = tanh(z[2 * H + u]);
			double og = sigmoid(z[3 * H + u]);
			c[u] = fg * (c_prev != NULL ? c_prev[u] : 0.0) + ig * cc;
			h[u] = og * tanh(c[u]);
			z[u] = ig;
			z[H + u] = fg;
			z[2 * H + u] = cc;
			z[3 * H + u] = og;
		}
		if (return_sequences)
			memcpy(out + t * H, h, H * sizeof *h);
	}
	if (!return_sequences)
		memcpy(out, cache + (T - 1) * 6 * H + G + H, H * sizeof *out);
}

void tr_lstm_backward(double *din, double *dkernel, double *drecurrent, double *dbias,
                      double *scratch, const double *dout, const double *cache, const double *in,
                      const double *kernel, const double *recurrent, int return_sequences,
                      size_t T, size_t D, size_t H)
{
	size_t G = 4 * H;
	double *dh_next = scratch, *dc_next = scratch + H, *dz = scratch + 2 * H;
	memset(scratch, 0, 2 * H * sizeof *scratch);
	for (size_t t = T; t-- > 0;) {
		const double *gate = cache + t * 6 * H;
		const double *c = gate + G;
		const double *c_prev = t > 0 ? gate - 6 * H + G : NULL;
		const double *h_prev = t > 0 ? gate - 6 * H + G + H : NULL;
		const double *dy = return_sequences ? dout + t * H : (t == T - 1 ? dout : NULL);
		for (size_t u = 0; u < H; u++) {
			double ig = gate[u], fg = gate[H + u], cc = gate[2 * H + u], og = gate[3 * H + u];
			double dh = dh_next[u] + (dy != NULL ? dy[u] : 0.0);
			double tc = tanh(c[u]);
			double dc = dc_next[u] + dh * og * (1.0 - tc * tc);
			dz[u] = dc * cc * ig * (1.0 - ig);
			dz[H + u] = dc * (c_prev != NULL ? c_prev[u] : 0.0) * fg * (1.0 - fg);
			dz[2 * H + u] = dc * ig * (1.0 - cc * cc);
			dz[3 * H + u] = dh * tc * og * (1.0 - og);
			dc_next[u] = dc * fg;
		}
		if (dbias != NULL)
			for (size_t g = 0; g < G; g++)
				dbias[g] += dz[g];
		const double *x = in + t * D;
		for (size_t d = 0; d < D; d++) {
			double s = 0.0;
			for (size_t g = 0; g < G; g++) {
				dkernel[d * G + g] += x[d] * dz[g];
				s += kernel[d * G + g] * dz[g];
			}
			if (din != NULL)
				din[t * D + d] += s;
		}
		for (size_t k = 0; k < H; k++) {
			double s = 0.0;
			for (size_t g = 0; g < G; g++) {
				if (h_prev != NULL)
					drecurrent[k * G + g] += h_prev[k] * dz[g];
				s += recurrent[k * G + g] * dz[g];
			}
			dh_next[k] = s;
		}
	}
}

/* ---- RepeatVector, Concatenate ---- */

void tr_repeat_backward(double *din, const double *dout, size_t R, size_t C)
{
	for (size_t r = 0; r < R; r++)
		for (size_t c = 0; c < C; c++)
			din[c] += dout[r * C + c];
}

void tr_concat_backward(double *const *dins, const double *dout, const size_t *Cs, size_t n_in,
                        size_t N)
{
	size_t total = 0;
	for (size_t j = 0; j < n_in; j++)
		total += Cs[j];
	for (size_t n = 0; n < N; n++) {
		size_t off = 0;
		for (size_t j = 0; j < n_in; j++) {
			for (size_t c = 0; c < Cs[j]; c++)
				dins[j][n * Cs[j] + c] += dout[n * total + off + c];
			off += Cs[j];
		}
	}
}

/* ---- loss ---- */

double tr_mae(double *dout, const double *out, const double *target, size_t n)
{
	double sum = 0.0, inv = 1.0 / (double)n;
	for (size_t k = 0; k < n; k++) {
		double d = out[k] - target[k];
		sum += fabs(d);
		dout[k] = d > 0.0 ? inv : (d < 0.0 ? -inv : 0.0);
	}
	return sum * inv;
}

/* ---- the graph ---- */

struct train_tape {
	const struct model *m;
	size_t B_max, B;      /* capacity; samples of the last forward */
	size_t in_layer;      /* index of the input layer */
	size_t in_n, out_n;   /* per-sample input and output elements */
	size_t S_act, S_aux;  /* per-sample doubles of act and aux */
	int noisy;            /* the last forward drew Dropout masks (in aux) */
	size_t *act_off;      /* [n_layers] offset of layer i's output in a sample's act */
	size_t *aux_off;      /* [n_layers] offset of layer i's cache in a sample's aux */
	double *act;          /* (B_max, S_act) every layer's output */
	double *dact;         /* (B_max, S_act) dL/d every layer's output */
	double *aux;          /* (B_max, S_aux) Dense pre-activations, LayerNorm stats, LSTM caches */
	double *out;          /* (B_max, out_n) the model output, contiguous */
	double *dout;         /* (B_max, out_n) its gradient */
	double *scratch;      /* Dense dpre (rows·C) or LSTM (6H) */
};

/* Per-sample doubles layer i keeps in aux. */
static size_t aux_size(const struct model *m, size_t i)
{
	const struct layer *l = &m->layers[i];
	switch (l->kind) {
	case LAYER_DENSE: return rows(l) * l->C;
	case LAYER_LAYER_NORM: return 2 * rows(l);
	case LAYER_LSTM: return TR_LSTM_CACHE(m->layers[l->inputs[0]].T, l->units);
	case LAYER_DROPOUT: return rows(l) * l->C; /* the mask of a noisy forward */
	default: return 0;
	}
}

enum rb_code train_tape_new(struct train_tape **out, const struct train_net *net, size_t B_max,
                            struct rb_err *err)
{
	RB_ASSERT(out != NULL && net != NULL);
	*out = NULL;
	const struct model *m = net->m;
	if (B_max == 0)
		return rb_err_set(err, RB_E_INPUT, "train tape: batch size 0");
	struct train_tape *tp = calloc(1, sizeof *tp);
	if (tp == NULL)
		return rb_err_set(err, RB_E_NOMEM, "train tape: no memory");
	tp->m = m;
	tp->B_max = B_max;
	tp->act_off = calloc(m->n_layers, sizeof *tp->act_off);
	tp->aux_off = calloc(m->n_layers, sizeof *tp->aux_off);
	size_t scratch = 1;
	if (tp->act_off != NULL && tp->aux_off != NULL)
		for (size_t i = 0; i < m->n_layers; i++) {
			const struct layer *l = &m->layers[i];
			tp->act_off[i] = tp->S_act;
			tp->aux_off[i] = tp->S_aux;
			tp->S_act += rows(l) * l->C; /* each ≤ 2^24 (model_ref_check), ≤ 256 layers */
			tp->S_aux += aux_size(m, i);
			if (l->kind == LAYER_INPUT)
				tp->in_layer = i;
			if (l->kind == LAYER_DENSE && rows(l) * l->C > scratch)
				scratch = rows(l) * l->C;
			if (l->kind == LAYER_LSTM && 6 * l->units > scratch)
				scratch = 6 * l->units;
		}
	tp->in_n = (m->in_T > 0 ? m->in_T : 1) * m->in_C;
	tp->out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	size_t per = tp->S_act > tp->S_aux ? tp->S_act : tp->S_aux;
	if (per > SIZE_MAX / sizeof(double) / B_max / 2) {
		train_tape_free(tp);
		return rb_err_set(err, RB_E_TOO_LARGE, "train tape: batch %zu too large", B_max);
	}
	tp->act = malloc(B_max * tp->S_act * sizeof *tp->act);
	tp->dact = malloc(B_max * tp->S_act * sizeof *tp->dact);
	tp->aux = malloc((B_max * tp->S_aux + 1) * sizeof *tp->aux);
	tp->out = malloc(B_max * tp->out_n * sizeof *tp->out);
	tp->dout = calloc(B_max * tp->out_n, sizeof *tp->dout);
	tp->scratch = malloc(scratch * sizeof *tp->scratch);
	if (tp->act_off == NULL || tp->aux_off == NULL || tp->act == NULL || tp->dact == NULL ||
	    tp->aux == NULL || tp->out == NULL || tp->dout == NULL || tp->scratch == NULL) {
		train_tape_free(tp);
		return rb_err_set(err, RB_E_NOMEM, "train tape: no memory for %zu samples", B_max);
	}
	*out = tp;
	return RB_OK;
}

void train_tape_free(struct train_tape *tape)
{
	if (tape == NULL)
		return;
	free(tape->act_off);
	free(tape->aux_off);
	free(tape->act);
	free(tape->dact);
	free(tape->aux);
	free(tape->out);
	free(tape->dout);
	free(tape->scratch);
	free(tape);
}

/* Layer i of sample b, forward; rng is NULL for the inference-form forward. */
static void forward_layer(const struct train_net *net, struct train_tape *tp, size_t b, size_t i,
                          uint64_t *rng)
{
	const struct model *m = net->m;
	const struct layer *l = &m->layers[i];
	const struct train_view *w = &net->wv[i];
	double *act = tp->act + b * tp->S_act;
	double *y = act + tp->act_off[i];
	double *aux = tp->aux + b * tp->S_aux + tp->aux_off[i];
	const double *x = l->n_inputs > 0 ? act + tp->act_off[l->inputs[0]] : NULL;
	const struct layer *p = l->n_inputs > 0 ? &m->layers[l->inputs[0]] : NULL;
	switch (l->kind) {
	case LAYER_INPUT:
		break; /* filled by train_forward */
	case LAYER_DENSE:
		tr_dense_forward(y, aux, x, w->kernel, w->bias, l->act, rows(l), p->C, l->C);
		break;
	case LAYER_BATCH_NORM:
		tr_batch_norm_forward(y, x, w->moving_mean, w->moving_var, w->gamma, w->beta, l->epsilon,
		                      rows(l), l->C);
		break;
	case LAYER_LAYER_NORM:
		tr_layer_norm_forward(y, aux, x, w->gamma, w->beta, l->epsilon, rows(l), l->C);
		break;
	case LAYER_DROPOUT:
		if (rng == NULL || net->noise[i] <= 0.0) {
			memcpy(y, x, rows(l) * l->C * sizeof *y);
			for (size_t k = 0; rng != NULL && k < rows(l) * l->C; k++)
				aux[k] = 1.0;
			break;
		}
		RB_ASSERT(net->noise[i] < 1.0); /* a rate; train_net.h */
		for (size_t k = 0; k < rows(l) * l->C; k++) {
			aux[k] = train_rng_unit(rng) < net->noise[i] ? 0.0 : 1.0 / (1.0 - net->noise[i]);
			y[k] = x[k] * aux[k];
		}
		break;
	case LAYER_GAUSSIAN_NOISE:
		memcpy(y, x, rows(l) * l->C * sizeof *y);
		for (size_t k = 0; rng != NULL && net->noise[i] > 0.0 && k < rows(l) * l->C; k++)
			y[k] += net->noise[i] * train_rng_normal(rng);
		break;
	case LAYER_LSTM:
		tr_lstm_forward(y, aux, x, w->kernel, w->recurrent, w->bias, l->return_sequences, p->T,
		                p->C, l->C);
		break;
	case LAYER_REPEAT_VECTOR:
		ref_repeat(y, x, l->repeat, l->C);
		break;
	case LAYER_CONCATENATE: {
		const double *ins[MODEL_MAX_INPUTS];
		size_t Cs[MODEL_MAX_INPUTS];
		for (size_t j = 0; j < l->n_inputs; j++) {
			ins[j] = act + tp->act_off[l->inputs[j]];
			Cs[j] = m->layers[l->inputs[j]].C;
		}
		ref_concat(y, ins, Cs, l->n_inputs, rows(l));
		break;
	}
	}
}

/* Both forwards: rng NULL is the inference form. */
static const double *forward(const struct train_net *net, struct train_tape *tape, const double *in,
                             size_t B, uint64_t *rng)
{
	RB_ASSERT(tape->m == net->m && B >= 1 && B <= tape->B_max);
	const struct model *m = net->m;
	tape->B = B;
	tape->noisy = rng != NULL;
	for (size_t b = 0; b < B; b++) {
		double *act = tape->act + b * tape->S_act;
		memcpy(act + tape->act_off[tape->in_layer], in + b * tape->in_n, tape->in_n * sizeof *in);
		for (size_t i = 0; i < m->n_layers; i++)
			forward_layer(net, tape, b, i, rng);
		memcpy(tape->out + b * tape->out_n, act + tape->act_off[m->output],
		       tape->out_n * sizeof *tape->out);
	}
	return tape->out;
}

const double *train_forward(const struct train_net *net, struct train_tape *tape, const double *in,
                            size_t B)
{
	return forward(net, tape, in, B, NULL);
}

const double *train_forward_noisy(const struct train_net *net, struct train_tape *tape,
                                  const double *in, size_t B, uint64_t *rng)
{
	RB_ASSERT(rng != NULL);
	return forward(net, tape, in, B, rng);
}

double train_loss_mae(struct train_tape *tape, const double *target)
{
	RB_ASSERT(tape->B >= 1);
	return tr_mae(tape->dout, tape->out, target, tape->B * tape->out_n);
}

double *train_tape_dout(struct train_tape *tape) { return tape->dout; }

/* The length of layer i's bias (0 when it has none). */
static size_t bias_len(const struct model *m, size_t i)
{
	const struct layer *l = &m->layers[i];
	return l->kind == LAYER_LSTM ? 4 * l->units : l->kind == LAYER_DENSE ? l->C : 0;
}

double train_loss_reg(const struct train_net *net, const struct train_tape *tape)
{
	RB_ASSERT(tape->m == net->m && tape->B >= 1);
	const struct model *m = net->m;
	double loss = 0.0;
	for (size_t i = 0; i < m->n_layers; i++) {
		if (net->activity_l2[i] != 0.0) {
			size_t n = rows(&m->layers[i]) * m->layers[i].C;
			double sum = 0.0;
			for (size_t b = 0; b < tape->B; b++) {
				const double *y = tape->act + b * tape->S_act + tape->act_off[i];
				for (size_t k = 0; k < n; k++)
					sum += y[k] * y[k];
			}
			loss += net->activity_l2[i] * sum / (double)tape->B;
		}
		const double *bias = net->wv[i].bias;
		if (net->bias_l2[i] != 0.0 && bias != NULL) {
			double sum = 0.0;
			for (size_t k = 0; k < bias_len(m, i); k++)
				sum += bias[k] * bias[k];
			loss += net->bias_l2[i] * sum;
		}
	}
	return loss;
}

/* Layer i of sample b, backward: its output gradient is complete (every consumer comes later). */
static void backward_layer(struct train_net *net, struct train_tape *tp, size_t b, size_t i)
{
	const struct model *m = net->m;
	const struct layer *l = &m->layers[i];
	const struct train_view *w = &net->wv[i];
	const struct train_view *g = &net->gv[i];
	const double *act = tp->act + b * tp->S_act;
	double *dact = tp->dact + b * tp->S_act;
	const double *y = act + tp->act_off[i];
	const double *dy = dact + tp->act_off[i];
	const double *aux = tp->aux + b * tp->S_aux + tp->aux_off[i];
	const double *x = l->n_inputs > 0 ? act + tp->act_off[l->inputs[0]] : NULL;
	double *dx = l->n_inputs > 0 ? dact + tp->act_off[l->inputs[0]] : NULL;
	const struct layer *p = l->n_inputs > 0 ? &m->layers[l->inputs[0]] : NULL;
	switch (l->kind) {
	case LAYER_INPUT:
		break;
	case LAYER_DENSE:
		tr_dense_backward(dx, g->kernel, g->bias, tp->scratch, dy, y, aux, x, w->kernel, l->act,
		                  rows(l), p->C, l->C);
		break;
	case LAYER_BATCH_NORM:
		tr_batch_norm_backward(dx, g->gamma, g->beta, dy, x, w->moving_mean, w->moving_var,
		                       w->gamma, l->epsilon, rows(l), l->C);
		break;
	case LAYER_LAYER_NORM:
		tr_layer_norm_backward(dx, g->gamma, g->beta, dy, x, aux, w->gamma, rows(l), l->C);
		break;
	case LAYER_DROPOUT:
		for (size_t k = 0; k < rows(l) * l->C; k++)
			dx[k] += tp->noisy ? dy[k] * aux[k] : dy[k];
		break;
	case LAYER_GAUSSIAN_NOISE: /* additive: the gradient passes unchanged */
		for (size_t k = 0; k < rows(l) * l->C; k++)
			dx[k] += dy[k];
		break;
	case LAYER_LSTM:
		tr_lstm_backward(dx, g->kernel, g->recurrent, g->bias, tp->scratch, dy, aux, x, w->kernel,
		                 w->recurrent, l->return_sequences, p->T, p->C, l->C);
		break;
	case LAYER_REPEAT_VECTOR:
		tr_repeat_backward(dx, dy, l->repeat, l->C);
		break;
	case LAYER_CONCATENATE: {
		double *dins[MODEL_MAX_INPUTS];
		size_t Cs[MODEL_MAX_INPUTS];
		for (size_t j = 0; j < l->n_inputs; j++) {
			dins[j] = dact + tp->act_off[l->inputs[j]];
			Cs[j] = m->layers[l->inputs[j]].C;
		}
		tr_concat_backward(dins, dy, Cs, l->n_inputs, rows(l));
		break;
	}
	}
}

void train_backward(struct train_net *net, struct train_tape *tape, double *din)
{
	RB_ASSERT(tape->m == net->m && tape->B >= 1);
	const struct model *m = net->m;
	for (size_t b = 0; b < tape->B; b++) {
		double *dact = tape->dact + b * tape->S_act;
		memset(dact, 0, tape->S_act * sizeof *dact);
		/* The output layer may also feed another layer: add, after the zeroing. */
		double *dy = dact + tape->act_off[m->output];
		for (size_t k = 0; k < tape->out_n; k++)
			dy[k] += tape->dout[b * tape->out_n + k];
		for (size_t i = m->n_layers; i-- > 0;) {
			if (net->activity_l2[i] != 0.0) { /* d(l2 Σ y² / B)/dy, now that dy is complete */
				const double *y = tape->act + b * tape->S_act + tape->act_off[i];
				double *dyi = dact + tape->act_off[i];
				double f = 2.0 * net->activity_l2[i] / (double)tape->B;
				for (size_t k = 0; k < rows(&m->layers[i]) * m->layers[i].C; k++)
					dyi[k] += f * y[k];
			}
			backward_layer(net, tape, b, i);
		}
		if (din != NULL)
			memcpy(din + b * tape->in_n, dact + tape->act_off[tape->in_layer],
			       tape->in_n * sizeof *din);
	}
	for (size_t i = 0; i < m->n_layers; i++)
		if (net->bias_l2[i] != 0.0 && net->wv[i].bias != NULL)
			for (size_t k = 0; k < bias_len(m, i); k++)
				net->gv[i].bias[k] += 2.0 * net->bias_l2[i] * net->wv[i].bias[k];
}
