/*
 * train_ref: the plain-C double-precision forward and backward of a model.h
 * layer graph, for training: the oracle the oneDNN training path will be
 * checked against (as model_ref.c is for inference). Clear and slow on
 * purpose: no SIMD, no threads, one sample at a time; deterministic.
 *
 * The forward computes the same function as model_ref_forward, in the same
 * order of operations (tests/test_train_ref.c holds them equal on
 * traffic.keras), and keeps on a tape what the backward needs; Dropout and
 * GaussianNoise are identities there, as at inference. train_forward_noisy is
 * the training forward: Dropout and GaussianNoise draw their noise (rates in
 * net->noise) from a caller's seeded generator and the tape keeps the
 * Dropout masks for the backward. BatchNorm is its inference form with
 * trainable gamma and beta (train_net.h).
 *
 * Per-layer functions follow CONVENTIONS 17: a layer's forward and backward
 * side by side; outputs first, inputs and weights next, dims last; the
 * forward caches what the backward needs; the backward accumulates (+=) into
 * the input gradient and the parameter gradients, so a tensor read by several
 * layers gets the sum. Rows are independent samples or time steps.
 */
#ifndef RB_TRAIN_REF_H
#define RB_TRAIN_REF_H

#include <stddef.h>
#include <stdint.h>

#include "rb/base/error.h"
#include "rb/model/model.h"
#include "rb/train/train_net.h"

/* ---- layers ---- */

/*
 * out[N, C] = act(pre[N, C]) (softmax over each row, max-subtracted); the
 * same arithmetic as ref_activation. pre and out may be the same array.
 */
void tr_activation_forward(double *out, const double *pre, enum activation act, size_t N, size_t C);
/*
 * dpre[N, C] = d act / d pre applied to dout (assigned, not accumulated):
 * GELU (exact erf form) 0.5 (1 + erf(x/√2)) + x φ(x); sigmoid y (1 - y);
 * tanh 1 - y²; ReLU [x > 0]; softmax y ⊙ (dout - <dout, y>) per row.
 */
void tr_activation_backward(double *dpre, const double *dout, const double *out, const double *pre,
                            enum activation act, size_t N, size_t C);

/* pre[N, OC] = in[N, IC] @ kernel[IC, OC] + bias[OC] (bias may be NULL); out = act(pre). */
void tr_dense_forward(double *out, double *pre, const double *in, const double *kernel,
                      const double *bias, enum activation act, size_t N, size_t IC, size_t OC);
/*
 * din[N, IC] += dpre @ kernelᵀ; dkernel[IC, OC] += inᵀ @ dpre; dbias[OC] +=
 * Σ_n dpre (skipped when NULL); din may be NULL (the input needs no
 * gradient). dpre[N, OC] is the caller's scratch (overwritten).
 */
void tr_dense_backward(double *din, double *dkernel, double *dbias, double *dpre,
                       const double *dout, const double *out, const double *pre, const double *in,
                       const double *kernel, enum activation act, size_t N, size_t IC, size_t OC);

/* out[N, C] = (in - mean) / sqrt(var + eps) * gamma + beta; gamma/beta may be NULL (1, 0). */
void tr_batch_norm_forward(double *out, const double *in, const double *mean, const double *var,
                           const double *gamma, const double *beta, double eps, size_t N, size_t C);
/* din += dout · gamma / sqrt(var + eps); dgamma += Σ dout · x̂; dbeta += Σ dout (each may be
 * NULL). */
void tr_batch_norm_backward(double *din, double *dgamma, double *dbeta, const double *dout,
                            const double *in, const double *mean, const double *var,
                            const double *gamma, double eps, size_t N, size_t C);

/*
 * out[N, C]: each row normalised by its own mean and biased variance, then
 * * gamma + beta. stats[N, 2] gets (mean, 1/sqrt(var + eps)) of each row.
 */
void tr_layer_norm_forward(double *out, double *stats, const double *in, const double *gamma,
                           const double *beta, double eps, size_t N, size_t C);
/*
 * With x̂ the normalised row and g = dout · gamma:
 * din += rstd (g - mean(g) - x̂ mean(g x̂)); dgamma += Σ dout x̂; dbeta += Σ dout.
 */
void tr_layer_norm_backward(double *din, double *dgamma, double *dbeta, const double *dout,
                            const double *in, const double *stats, const double *gamma, size_t N,
                            size_t C);

/* Per-sample doubles an LSTM keeps for its backward: T steps of the gates i,f,c̃,o, c, h. */
#define TR_LSTM_CACHE(T, H) ((T) * 6 * (H))

/*
 * Keras LSTM over one sample (zero initial state), as ref_lstm: out [T, H]
 * (return_sequences) or [H] (last h). cache: TR_LSTM_CACHE(T, H) doubles.
 * kernel (D, 4H), recurrent (H, 4H), bias (4H) or NULL.
 */
void tr_lstm_forward(double *out, double *cache, const double *in, const double *kernel,
                     const double *recurrent, const double *bias, int return_sequences, size_t T,
                     size_t D, size_t H);
/*
 * Backpropagation through time over one sample. din [T, D], dkernel,
 * drecurrent, dbias accumulate (+=); din and dbias may be NULL. dout is
 * [T, H] or [H] as the forward's out. scratch: 6*H doubles.
 */
void tr_lstm_backward(double *din, double *dkernel, double *drecurrent, double *dbias,
                      double *scratch, const double *dout, const double *cache, const double *in,
                      const double *kernel, const double *recurrent, int return_sequences,
                      size_t T, size_t D, size_t H);

/* din[C] += Σ_r dout[r, C] (the backward of RepeatVector). */
void tr_repeat_backward(double *din, const double *dout, size_t R, size_t C);

/* dins[j][N, Cs[j]] += the columns of dout[N, Σ Cs] that input j filled (Concatenate). */
void tr_concat_backward(double *const *dins, const double *dout, const size_t *Cs, size_t n_in,
                        size_t N);

/*
 * Mean absolute error over n elements (Keras "mae": mean over the last axis,
 * then over batch and time, which is the mean over all n): returns
 * Σ |out - target| / n and sets dout = sign(out - target) / n (0 where equal,
 * as TensorFlow's sign).
 */
double tr_mae(double *dout, const double *out, const double *target, size_t n);

/* ---- the graph ---- */

/* What a forward keeps for the backward, for up to B_max samples. */
struct train_tape;

/* A tape for net's graph and up to B_max samples. RB_E_NOMEM, RB_E_INPUT when B_max is 0. */
enum rb_code train_tape_new(struct train_tape **out, const struct train_net *net, size_t B_max,
                            struct rb_err *err);
void train_tape_free(struct train_tape *tape);

/*
 * Forward of B (≤ B_max) samples: in [B, in_T, in_C] row-major doubles.
 * Keeps every layer's output and the caches on the tape. Returns the output
 * [B, out_T, out_C] (owned by the tape, valid until the next forward).
 */
const double *train_forward(const struct train_net *net, struct train_tape *tape, const double *in,
                            size_t B);

/*
 * The training forward: as train_forward, but each Dropout layer i with
 * net->noise[i] = rate > 0 zeroes each value with probability rate and
 * scales the others by 1 / (1 - rate), and each GaussianNoise layer with
 * net->noise[i] = stddev > 0 adds normal noise of that stddev (Keras's
 * training behaviour). The draws come from *rng (advanced; the same state
 * gives the same draws: train_rng.h), in the order sample, layer, element.
 * train_backward then uses the same masks.
 */
const double *train_forward_noisy(const struct train_net *net, struct train_tape *tape,
                                  const double *in, size_t B, uint64_t *rng);

/*
 * The loss of the last forward against target [B, out_T, out_C] (the
 * autoencoder's target is its input's columns in output order): MAE over all
 * B·out_T·out_C elements; also seeds the output's gradient for
 * train_backward. Regularisation not included (train_loss_reg).
 */
double train_loss_mae(struct train_tape *tape, const double *target);

/*
 * The regularisation loss of the last forward (net->activity_l2, bias_l2):
 * what Keras adds to the compiled loss. train_backward always adds its
 * gradient, so the loss that is minimised is train_loss_mae + this.
 */
double train_loss_reg(const struct train_net *net, const struct train_tape *tape);

/*
 * The output gradient train_backward starts from ([B, out_T, out_C], owned by
 * the tape): train_loss_mae fills it; a caller with another loss writes it.
 */
double *train_tape_dout(struct train_tape *tape);

/*
 * Backward of the last forward from the output gradient on the tape, plus
 * the regularisers' gradients: net->g += dL/dw for every parameter
 * (BatchNorm's moving statistics get 0). If din is not NULL it gets dL/din
 * [B, in_T, in_C] (assigned).
 */
void train_backward(struct train_net *net, struct train_tape *tape, double *din);

#endif
