/*
 * train_dnnl: the oneDNN training path, float32: the forward (training form,
 * with Dropout and GaussianNoise) and the backward of a model.h layer graph on
 * oneDNN's training primitives, a batch of samples at a time; the fast
 * counterpart of train_ref.h, checked against it (tests/test_train_dnnl.c,
 * tolerances in docs/TRAINING.md).
 *
 * Same contract as train_ref.h's graph functions: parameters are read from
 * net->w (doubles, rounded to float at each forward), gradients are added to
 * net->g (converted to double) in the same flat layout, so adamw.c serves
 * both paths; train_forward's draws of Dropout masks and noise come from the
 * caller's generator in the same order (sample, layer, element), so the two
 * paths can be compared step by step. Deterministic for a seed and an OpenMP
 * thread count.
 *
 * Objects (engine, stream, primitives) are created by train_dnnl_new in the
 * calling process (after any fork); primitives are built once per batch size
 * (lazily, a few sizes kept) and reused. Not thread-safe: one object per
 * thread of training. Not the optimizer, not the loop (trainer.h).
 */
#ifndef RB_TRAIN_DNNL_H
#define RB_TRAIN_DNNL_H

#include <stddef.h>
#include <stdint.h>

#include "rb/base/error.h"
#include "rb/train/train_net.h"

struct train_dnnl;

/*
 * A oneDNN training context for net (borrowed: must outlive it) and batches
 * of up to B_max samples. RB_E_INPUT when B_max is 0, RB_E_NOMEM,
 * RB_E_INTERNAL when oneDNN refuses a layer (the message names it).
 */
enum rb_code train_dnnl_new(struct train_dnnl **out, const struct train_net *net, size_t B_max,
                            struct rb_err *err);

/*
 * Sets how many OpenMP threads oneDNN uses in this process (n >= 1), through
 * the OpenMP runtime oneDNN is linked with (omp_set_num_threads, found at run
 * time: the project does not link OpenMP itself). Process-wide; call before
 * the first training step. Returns 0, or -1 when the runtime has no such call
 * (a oneDNN built without OpenMP: OMP_NUM_THREADS does not apply either).
 */
int train_dnnl_set_threads(size_t n);

/* Frees the context; NULL is a no-op. */
void train_dnnl_free(struct train_dnnl *t);

/*
 * Forward of B (1..B_max) samples in [B, in_T, in_C] (doubles) with the
 * parameters of net->w. rng NULL: the inference form (Dropout and noise are
 * identities); else the training form, with the draws of
 * train_forward_noisy (same generator, same order). *out gets the output
 * [B, out_T, out_C] (owned by t, valid until the next forward).
 * RB_E_INTERNAL when oneDNN fails, RB_E_NOMEM when a new batch size's
 * primitives cannot be built.
 */
enum rb_code train_dnnl_forward(struct train_dnnl *t, const double *in, size_t B, uint64_t *rng,
                                const double **out, struct rb_err *err);

/* The MAE of the last forward against target (as train_loss_mae); seeds the output gradient. */
double train_dnnl_loss_mae(struct train_dnnl *t, const double *target);

/* The regularisation loss of the last forward (as train_loss_reg). */
double train_dnnl_loss_reg(const struct train_dnnl *t);

/* The output gradient [B, out_T, out_C] the backward starts from (owned by t). */
double *train_dnnl_dout(struct train_dnnl *t);

/*
 * Backward of the last forward from the output gradient, plus the
 * regularisers' gradients: net->g += dL/dw (net must be the context's);
 * din, when not NULL, gets dL/din [B, in_T, in_C] (assigned).
 * RB_E_INTERNAL when oneDNN fails.
 */
enum rb_code train_dnnl_backward(struct train_dnnl *t, struct train_net *net, double *din,
                                 struct rb_err *err);

#endif
