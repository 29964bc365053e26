/*
 * model_ref: the plain-C reference forward of a model.h layer graph, in double
 * precision. It is the oracle the oneDNN path (model_dnnl.c) and the golden
 * data are checked against: clear and slow, no SIMD, no threads, one sample at
 * a time. It also owns the rules of what a valid graph is (model_ref_check),
 * which both inference paths apply.
 *
 * Per-layer functions follow CONVENTIONS 17: outputs first, inputs and
 * weights next, dims last. Rows are independent samples or time steps: a
 * [T, C] tensor of one sample is T rows of C; a [C] tensor is one row.
 */
#ifndef RB_MODEL_REF_H
#define RB_MODEL_REF_H

#include <stddef.h>

#include "rb/model/model.h"
#include "rb/base/error.h"

/*
 * Checks that m is a graph both paths can run: topological order, one input
 * layer, shapes consistent between producer and consumer, required weights
 * present, epsilons > 0, known activations; an LSTM's act is tanh or unset
 * (ACT_LINEAR: model.h defines act for Dense; the loader refuses LSTM
 * activations other than tanh/sigmoid, which are all oneDNN has).
 * RB_E_MODEL naming the layer otherwise.
 */
enum rb_code model_ref_check(const struct model *m, struct rb_err *err);

/*
 * Forward of B samples. in: [B, in_T, in_C], out: [B, out_T, out_C], both
 * row-major doubles (a T of 0 counts as 1). Runs model_ref_check first.
 * RB_E_NOMEM when the per-sample scratch cannot be allocated.
 */
enum rb_code model_ref_forward(const struct model *m, const double *in, size_t B, double *out,
                               struct rb_err *err);

/* x[N, C] = act(x), in place; softmax is over each row of C (max-subtracted). */
void ref_activation(double *x, enum activation act, size_t N, size_t C);

/* out[N, OC] = act(in[N, IC] @ kernel[IC, OC] + bias[OC]); bias may be NULL. */
void ref_dense(double *out, const double *in, const float *kernel, const float *bias,
               enum activation act, size_t N, size_t IC, size_t OC);

/* out[N, C] = (in - mean) / sqrt(var + eps) * gamma + beta; gamma/beta may be NULL (1, 0). */
void ref_batch_norm(double *out, const double *in, const float *mean, const float *var,
                    const float *gamma, const float *beta, double eps, size_t N, size_t C);

/* out[N, C]: each row normalised by its own mean and (biased) variance, then * gamma + beta. */
void ref_layer_norm(double *out, const double *in, const float *gamma, const float *beta,
                    double eps, size_t N, size_t C);

/*
 * Keras LSTM over one sample, zero initial state, gates i, f, c, o:
 * z = x_t @ kernel + h @ recurrent + bias; c = σ(f)·c + σ(i)·tanh(c̃); h = σ(o)·tanh(c).
 * out is [T, H] (return_sequences) or [H] (last h). state: scratch of 6*H doubles.
 * kernel (D, 4H), recurrent (H, 4H), bias (4H) or NULL.
 */
void ref_lstm(double *out, double *state, const double *in, const float *kernel,
              const float *recurrent, const float *bias, int return_sequences, size_t T,
              size_t D, size_t H);

/* out[R, C] = in[C] repeated R times. */
void ref_repeat(double *out, const double *in, size_t R, size_t C);

/* out[N, sum Ci]: row n is the rows n of each input, in order. */
void ref_concat(double *out, const double *const *ins, const size_t *Cs, size_t n_in, size_t N);

#endif
