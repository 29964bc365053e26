/*
 * adamw: the Adam optimizer with decoupled weight decay, as Keras 2.15's
 * AdamW (the old traffic model's compile config: learning_rate 0.00657,
 * weight_decay 0.004, beta_1 0.9, beta_2 0.999, epsilon 1e-7, no amsgrad,
 * no clipping). Step t (from 1), for every parameter with mask[k] != 0:
 *
 *     w -= lr · wd · w                              (decay first, on every masked weight)
 *     m += (g - m)(1 - β1);  v += (g² - v)(1 - β2)
 *     w -= m · lr · sqrt(1 - β2^t) / (1 - β1^t) / (sqrt(v) + ε)
 *
 * (ε added to sqrt(v) after the bias correction folded into the step, as
 * Keras does). Moments are doubles in the parameters' layout (train_net.h).
 * Not a learning-rate schedule, not gradient clipping.
 */
#ifndef RB_TRAIN_ADAMW_H
#define RB_TRAIN_ADAMW_H

#include <stddef.h>
#include <stdint.h>

#include "rb/base/error.h"

struct adamw_config {
	double lr;           /* learning rate > 0 */
	double beta1, beta2; /* in [0, 1) */
	double eps;          /* > 0 */
	double weight_decay; /* >= 0; 0 is plain Adam */
};

/* Keras 2.15 AdamW's defaults (lr 0.001, weight_decay 0.004, 0.9, 0.999, 1e-7). */
#define ADAMW_KERAS_DEFAULTS {0.001, 0.9, 0.999, 1e-7, 0.004}

struct adamw;

/* An optimizer for n parameters, moments at zero. RB_E_CONFIG for a value out of range;
 * RB_E_NOMEM. */
enum rb_code adamw_new(struct adamw **out, size_t n, const struct adamw_config *cfg,
                       struct rb_err *err);

/* One step on w[n] with gradient g[n]; mask[n] (NULL = all) selects what is updated. */
void adamw_step(struct adamw *opt, double *w, const double *g, const unsigned char *mask);

/* Steps taken so far. */
uint64_t adamw_steps(const struct adamw *opt);

/* Frees; NULL is a no-op. */
void adamw_free(struct adamw *opt);

#endif
