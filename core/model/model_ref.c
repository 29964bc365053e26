/*
 * model_ref: plain-C reference forward of the layer graph, double precision,
 * one sample at a time; the oracle for model_dnnl.c. Also the graph validity
 * rules both paths share. Not fast on purpose: no SIMD, no blocking, no
 * threads, no fusion. See model_ref.h.
 */
#include "rb/model/model_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Per-sample elements of any one tensor; bounds every size product below. */
#define REF_MAX_ELEMS ((size_t)1 << 24)

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

void ref_activation(double *x, enum activation act, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++) {
		double *row = x + n * C;
		if (act == ACT_SOFTMAX) {
			double mx = row[0], sum = 0.0;
			for (size_t c = 1; c < C; c++)
				mx = row[c] > mx ? row[c] : mx;
			for (size_t c = 0; c < C; c++) {
				row[c] = exp(row[c] - mx);
				sum += row[c];
			}
			for (size_t c = 0; c < C; c++)
				row[c] /= sum;
			continue;
		}
		for (size_t c = 0; c < C; c++) {
			double v = row[c];
			switch (act) {
			case ACT_LINEAR: break;
			case ACT_RELU: v = v > 0.0 ? v : 0.0; break;
			case ACT_GELU: v = 0.5 * v * (1.0 + erf(v / sqrt(2.0))); break;
			case ACT_SIGMOID: v = sigmoid(v); break;
			case ACT_TANH: v = tanh(v); break;
			case ACT_SOFTMAX: break; /* handled above */
			}
			row[c] = v;
		}
	}
}

void ref_dense(double *out, const double *in, const float *kernel, const float *bias,
               enum activation act, size_t N, size_t IC, size_t OC)
{
	for (size_t n = 0; n < N; n++) {
		const double *x = in + n * IC;
		double *y = out + n * OC;
		for (size_t o = 0; o < OC; o++)
			y[o] = bias != NULL ? (double)bias[o] : 0.0;
		for (size_t i = 0; i < IC; i++)
			for (size_t o = 0; o < OC; o++)
				y[o] += x[i] * (double)kernel[i * OC + o];
	}
	ref_activation(out, act, N, OC);
}

void ref_batch_norm(double *out, const double *in, const float *mean, const float *var,
                    const float *gamma, const float *beta, double eps, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++)
		for (size_t c = 0; c < C; c++) {
			double g = gamma != NULL ? (double)gamma[c] : 1.0;
			double b = beta != NULL ? (double)beta[c] : 0.0;
			double v = (in[n * C + c] - (double)mean[c]) / sqrt((double)var[c] + eps);
			out[n * C + c] = v * g + b;
		}
}

void ref_layer_norm(double *out, const double *in, const float *gamma, const float *beta,
                    double eps, size_t N, size_t C)
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
			double g = gamma != NULL ? (double)gamma[c] : 1.0;
			double b = beta != NULL ? (double)beta[c] : 0.0;
			out[n * C + c] = (x[c] - mean) * inv * g + b;
		}
	}
}

void ref_lstm(double *out, double *state, const double *in, const float *kernel,
              const float *recurrent, const float *bias, int return_sequences, size_t T,
              size_t D, size_t H)
{
	double *h = state;          /* (H) */
	double *c = state + H;      /* (H) */
	double *z = state + 2 * H;  /* (4H) gates i, f, c, o */
	size_t G = 4 * H;
	memset(h, 0, 2 * H * sizeof *h);
	for (size_t t = 0; t < T; t++) {
		const double *x = in + t * D;
		for (size_t g = 0; g < G; g++)
			z[g] = bias != NULL ? (double)bias[g] : 0.0;
		for (size_t d = 0; d < D; d++)
			for (size_t g = 0; g < G; g++)
				z[g] += x[d] * (double)kernel[d * G + g];
		for (size_t k = 0; k < H; k++)
			for (size_t g = 0; g < G; g++)
				z[g] += h[k] * (double)recurrent[k * G + g];
		for (size_t u = 0; u < H; u++) {
			double ig = sigmoid(z[u]);
			double fg = sigmoid(z[H + u]);
			double cc = tanh(z[2 * H + u]);
			double og = sigmoid(z[3 * H + u]);
			c[u] = fg * c[u] + ig * cc;
			h[u] = og * tanh(c[u]);
		}
		if (return_sequences)
			memcpy(out + t * H, h, H * sizeof *h);
	}
	if (!return_sequences)
		memcpy(out, h, H * sizeof *h);
}

void ref_repeat(double *out, const double *in, size_t R, size_t C)
{
	for (size_t r = 0; r < R; r++)
		memcpy(out + r * C, in, C * sizeof *in);
}

void ref_concat(double *out, const double *const *ins, const size_t *Cs, size_t n_in, size_t N)
{
	size_t total = 0;
	for (size_t j = 0; j < n_in; j++)
		total += Cs[j];
	for (size_t n = 0; n < N; n++) {
		size_t off = 0;
		for (size_t j = 0; j < n_in; j++) {
			memcpy(out + n * total + off, ins[j] + n * Cs[j], Cs[j] * sizeof *out);
			off += Cs[j];
		}
	}
}

/* ---- graph validity ---- */

static size_t rows(const struct layer *l) { return l->T > 0 ? l->T : 1; }

static int act_known(enum activation a)
{
	return a == ACT_LINEAR || a == ACT_RELU || a == ACT_GELU || a == ACT_SIGMOID ||
	       a == ACT_TANH || a == ACT_SOFTMAX;
}

static int eps_ok(double e) { return isfinite(e) && e > 0.0; }

/* The checks of one layer, whose inputs are already known to precede it. */
static enum rb_code check_layer(const struct model *m, size_t i, struct rb_err *err)
{
	const struct layer *l = &m->layers[i];
	const struct layer *in = l->n_inputs > 0 ? &m->layers[l->inputs[0]] : NULL;
	const char *nm = l->name;
	if ((unsigned)l->kind > (unsigned)LAYER_CONCATENATE)
		return rb_err_set(err, RB_E_MODEL, "layer %s: unsupported layer kind %d", nm, (int)l->kind);
	if (l->C == 0 || l->C > REF_MAX_ELEMS || rows(l) > REF_MAX_ELEMS / l->C)
		return rb_err_set(err, RB_E_MODEL, "layer %s: bad output shape [%zu, %zu]", nm, l->T, l->C);
	size_t want_inputs = l->kind == LAYER_INPUT ? 0 : 1;
	if (l->kind == LAYER_CONCATENATE ? l->n_inputs < 1 : l->n_inputs != want_inputs)
		return rb_err_set(err, RB_E_MODEL, "layer %s: %zu inputs", nm, l->n_inputs);
	switch (l->kind) {
	case LAYER_INPUT:
		if (l->T != m->in_T || l->C != m->in_C)
			return rb_err_set(err, RB_E_MODEL, "layer %s: shape differs from the model input", nm);
		return RB_OK;
	case LAYER_DENSE:
		if (l->kernel == NULL)
			return rb_err_set(err, RB_E_MODEL, "layer %s: Dense without kernel", nm);
		if (!act_known(l->act))
			return rb_err_set(err, RB_E_MODEL, "layer %s: unsupported activation %d", nm, (int)l->act);
		if (l->units != l->C || l->T != in->T)
			return rb_err_set(err, RB_E_MODEL, "layer %s: Dense shape mismatch", nm);
		return RB_OK;
	case LAYER_BATCH_NORM:
	case LAYER_LAYER_NORM:
		if (l->kind == LAYER_BATCH_NORM && (l->moving_mean == NULL || l->moving_var == NULL))
			return rb_err_set(err, RB_E_MODEL, "layer %s: BatchNormalization without moving statistics", nm);
		if (!eps_ok(l->epsilon))
			return rb_err_set(err, RB_E_MODEL, "layer %s: epsilon must be finite and > 0", nm);
		/* same shape as the input, like the identities below */
		/* fall through */
	case LAYER_DROPOUT:
	case LAYER_GAUSSIAN_NOISE:
		if (l->T != in->T || l->C != in->C)
			return rb_err_set(err, RB_E_MODEL, "layer %s: shape differs from its input", nm);
		return RB_OK;
	case LAYER_LSTM:
		if (l->kernel == NULL || l->recurrent == NULL)
			return rb_err_set(err, RB_E_MODEL, "layer %s: LSTM without kernel or recurrent kernel", nm);
		/* model.h defines act for Dense only, and the loader refuses LSTM activations
		 * other than tanh/sigmoid; a loader that records the cell activation must say tanh. */
		if (l->act != ACT_TANH && l->act != ACT_LINEAR)
			return rb_err_set(err, RB_E_MODEL,
			                  "layer %s: LSTM activation must be tanh (recurrent sigmoid); oneDNN has no other", nm);
		if (in->T == 0)
			return rb_err_set(err, RB_E_MODEL, "layer %s: LSTM input has no time axis", nm);
		if (l->units != l->C || l->T != (l->return_sequences ? in->T : 0))
			return rb_err_set(err, RB_E_MODEL, "layer %s: LSTM shape mismatch", nm);
		return RB_OK;
	case LAYER_REPEAT_VECTOR:
		if (in->T != 0 || l->repeat == 0 || l->T != l->repeat || l->C != in->C)
			return rb_err_set(err, RB_E_MODEL, "layer %s: RepeatVector needs a [C] input and T = repeat", nm);
		return RB_OK;
	case LAYER_CONCATENATE: {
		size_t sum = 0;
		for (size_t j = 0; j < l->n_inputs; j++) {
			const struct layer *p = &m->layers[l->inputs[j]];
			if (p->T != l->T)
				return rb_err_set(err, RB_E_MODEL, "layer %s: inputs differ in time steps", nm);
			sum += p->C;
		}
		if (sum != l->C)
			return rb_err_set(err, RB_E_MODEL, "layer %s: channels %zu != sum of inputs %zu", nm, l->C, sum);
		return RB_OK;
	}
	}
	return rb_err_set(err, RB_E_MODEL, "layer %s: unsupported layer kind %d", nm, (int)l->kind);
}

enum rb_code model_ref_check(const struct model *m, struct rb_err *err)
{
	if (m == NULL || m->layers == NULL || m->n_layers == 0)
		return rb_err_set(err, RB_E_MODEL, "model has no layers");
	if (m->output >= m->n_layers)
		return rb_err_set(err, RB_E_MODEL, "output layer index %zu out of range", m->output);
	size_t n_input = 0;
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		if (l->n_inputs > MODEL_MAX_INPUTS)
			return rb_err_set(err, RB_E_MODEL, "layer %s: too many inputs", l->name);
		for (size_t j = 0; j < l->n_inputs; j++)
			if (l->inputs[j] >= i)
				return rb_err_set(err, RB_E_MODEL, "layer %s: input %zu is not before it", l->name,
				                  l->inputs[j]);
		if (l->kind == LAYER_INPUT)
			n_input++;
		enum rb_code rc = check_layer(m, i, err);
		if (rc != RB_OK)
			return rc;
	}
	if (n_input != 1)
		return rb_err_set(err, RB_E_MODEL, "model has %zu input layers, need exactly 1", n_input);
	const struct layer *o = &m->layers[m->output];
	if (o->T != m->out_T || o->C != m->out_C)
		return rb_err_set(err, RB_E_MODEL, "output layer %s shape differs from the model output", o->name);
	return RB_OK;
}

/* ---- forward ---- */

/* One layer of one sample; act[j] holds layer j's output for this sample. */
static void forward_layer(const struct model *m, size_t i, double *const *act, double *state,
                          const double **ins, size_t *Cs)
{
	const struct layer *l = &m->layers[i];
	double *y = act[i];
	const double *x = l->n_inputs > 0 ? act[l->inputs[0]] : NULL;
	const struct layer *p = l->n_inputs > 0 ? &m->layers[l->inputs[0]] : NULL;
	switch (l->kind) {
	case LAYER_INPUT:
		break; /* filled by the caller */
	case LAYER_DENSE:
		ref_dense(y, x, l->kernel, l->bias, l->act, rows(l), p->C, l->C);
		break;
	case LAYER_BATCH_NORM:
		ref_batch_norm(y, x, l->moving_mean, l->moving_var, l->gamma, l->beta, l->epsilon, rows(l), l->C);
		break;
	case LAYER_LAYER_NORM:
		ref_layer_norm(y, x, l->gamma, l->beta, l->epsilon, rows(l), l->C);
		break;
	case LAYER_DROPOUT:
	case LAYER_GAUSSIAN_NOISE:
		memcpy(y, x, rows(l) * l->C * sizeof *y);
		break;
	case LAYER_LSTM:
		ref_lstm(y, state, x, l->kernel, l->recurrent, l->bias, l->return_sequences, p->T, p->C, l->C);
		break;
	case LAYER_REPEAT_VECTOR:
		ref_repeat(y, x, l->repeat, l->C);
		break;
	case LAYER_CONCATENATE:
		for (size_t j = 0; j < l->n_inputs; j++) {
			ins[j] = act[l->inputs[j]];
			Cs[j] = m->layers[l->inputs[j]].C;
		}
		ref_concat(y, ins, Cs, l->n_inputs, rows(l));
		break;
	}
}

enum rb_code model_ref_forward(const struct model *m, const double *in, size_t B, double *out,
                               struct rb_err *err)
{
	enum rb_code rc = model_ref_check(m, err);
	if (rc != RB_OK)
		return rc;
	size_t total = 0, max_units = 0, in_layer = 0;
	for (size_t i = 0; i < m->n_layers; i++) {
		total += rows(&m->layers[i]) * m->layers[i].C;
		if (m->layers[i].C > max_units)
			max_units = m->layers[i].C;
		if (m->layers[i].kind == LAYER_INPUT)
			in_layer = i;
	}
	double **act = calloc(m->n_layers, sizeof *act);
	double *buf = malloc((total + 6 * max_units) * sizeof *buf);
	if (act == NULL || buf == NULL) {
		free(act);
		free(buf);
		return rb_err_set(err, RB_E_NOMEM, "reference forward: no memory for activations");
	}
	double *state = buf + total;
	for (size_t i = 0, off = 0; i < m->n_layers; i++) {
		act[i] = buf + off;
		off += rows(&m->layers[i]) * m->layers[i].C;
	}
	size_t in_n = (m->in_T > 0 ? m->in_T : 1) * m->in_C;
	size_t out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	const double *ins[MODEL_MAX_INPUTS];
	size_t Cs[MODEL_MAX_INPUTS];
	for (size_t b = 0; b < B; b++) {
		memcpy(act[in_layer], in + b * in_n, in_n * sizeof *in);
		for (size_t i = 0; i < m->n_layers; i++)
			forward_layer(m, i, act, state, ins, Cs);
		memcpy(out + b * out_n, act[m->output], out_n * sizeof *out);
	}
	free(act);
	free(buf);
	return RB_OK;
}
