/*
 * train_net: the trainable parameters of a model.h layer graph, in double
 * precision, with their gradients (CONVENTIONS 16).
 *
 * The graph (struct model) stays the one description of the architecture,
 * loaded or built, the same struct both inference paths run; a train_net
 * borrows it and holds a double copy of its weights at the same offsets as
 * m->weights (w[k] is m->weights[k]), so that parameters, gradients and the
 * optimizer's moments are flat arrays of one layout: zeroing is one memset,
 * an update one loop, and writing a trained model back is one conversion
 * (train_net_store). Per layer, named pointers into w and g (struct
 * train_view) give the kernels their tensors.
 *
 * What is trained: every weight except BatchNorm's moving mean and variance
 * (trainable[k] = 0 there): the BatchNorm layer is trained in its inference
 * form, y = (x - mean) / sqrt(var + eps) * gamma + beta with mean and var
 * fixed (docs/TRAINING.md says why). Not the forward or backward (train_ref.h),
 * not the optimizer (adamw.h).
 */
#ifndef RB_TRAIN_NET_H
#define RB_TRAIN_NET_H

#include <stddef.h>

#include "rb/base/error.h"
#include "rb/model/model.h"

/* One layer's tensors inside a flat array of doubles; NULL where the layer has none. */
struct train_view {
	double *kernel;      /* DENSE (IC, OC); LSTM (D, 4H), gates i,f,c,o */
	double *recurrent;   /* LSTM (H, 4H) */
	double *bias;        /* DENSE (OC); LSTM (4H) */
	double *gamma;       /* BATCH_NORM, LAYER_NORM (C) */
	double *beta;        /* BATCH_NORM, LAYER_NORM (C) */
	double *moving_mean; /* BATCH_NORM (C); not trained */
	double *moving_var;  /* BATCH_NORM (C); not trained */
};

struct train_net {
	const struct model *m;    /* borrowed: the graph; must outlive the net */
	size_t n;                 /* = m->n_weights */
	double *w;                /* (n) parameters; w[k] starts as m->weights[k] */
	double *g;                /* (n) gradient, accumulated (+=) by train_backward */
	unsigned char *trainable; /* (n) 1 = the optimizer updates w[k] */
	size_t n_trainable;       /* count of the ones */
	struct train_view *wv;    /* [m->n_layers] views into w */
	struct train_view *gv;    /* [m->n_layers] views into g (same offsets) */
	/*
	 * Keras's L2 regularisers, part of the loss the old model was fitted to
	 * (model.h keeps no regulariser, so a loaded model starts at 0 here; the
	 * architecture builder sets them). Per layer, 0 = none:
	 * activity_l2[i] adds activity_l2[i] · Σ y² / B over layer i's outputs
	 * of a batch of B (Keras divides activity losses by the batch size);
	 * bias_l2[i] adds bias_l2[i] · Σ bias² of layer i.
	 */
	double *activity_l2;      /* [m->n_layers] */
	double *bias_l2;          /* [m->n_layers] */
	/*
	 * The training-time noise of Dropout (its rate, in [0, 1)) and
	 * GaussianNoise (its stddev) layers, used by train_forward_noisy only;
	 * 0 = identity. model.h keeps neither, so a loaded model starts at 0.
	 */
	double *noise;            /* [m->n_layers] */
};

/*
 * Builds a net for m (borrowed). Checks m with model_ref_check and that every
 * weight pointer of every layer lies, with its whole extent, inside
 * m->weights[0 .. m->n_weights). RB_E_MODEL naming the layer otherwise,
 * RB_E_NOMEM. g starts at zero.
 */
enum rb_code train_net_new(struct train_net **out, const struct model *m, struct rb_err *err);

/* Frees the net (not the model); NULL is a no-op. */
void train_net_free(struct train_net *net);

/* g = 0. */
void train_net_zero_grad(struct train_net *net);

/*
 * Writes w back into m->weights as floats (rounded to nearest). m must be
 * the model the net was built from (RB_ASSERT on its weight count).
 */
void train_net_store(const struct train_net *net, struct model *m);

#endif
