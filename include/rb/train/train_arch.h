/*
 * train_arch: the default architecture of a model we train, the old traffic
 * model's layer table (CONTRACT §3) for any number of metric columns, built
 * as a model.h graph with Keras's initial weights drawn from a seed; and the
 * old model's regularisers on a train_net. Not the training, not the files.
 *
 * Input and output are [window, C] with C = n_metrics + 9 columns in the
 * order of the feature pipeline (CONTRACT §4): the metrics, granularity,
 * minute, weekday_0..6. Layers, with the old model's config names:
 *
 *   input -> batch_normalization_0 -> autoencoder_0_start (Dense units gelu)
 *   -> autoencoder_0_dropout -> encoder_dense_0 (Dense units gelu)
 *   -> encoder_normalization_0 (LayerNorm) -> encoder_0 (LSTM units, last state)
 *   -> decoder_normalization_0 (LayerNorm) -> gaussian_noise_0
 *   -> repeat_vector_0 (window) -> decoder_0 (LSTM units, sequences)
 *   -> decoder_dense_0 (Dense units gelu) -> heads: minute_decoder_0 (Dense 1
 *   sigmoid), weekday_decoder_0 (Dense 7 softmax), granularity_decoder_0
 *   (Dense 1 sigmoid); metrics_decoder_0 (Dense n_metrics sigmoid) on
 *   pre_metric_decoder_0 = concat[autoencoder_0_decoder_dropout(decoder_dense_0),
 *   minute, weekday, granularity]; output autoencoder_0_end = concat[metrics,
 *   granularity, minute, weekday].
 *
 * Initial weights as Keras's defaults for those layers: Dense and LSTM
 * kernels Glorot-uniform (limit sqrt(6 / (fan_in + fan_out))), LSTM recurrent
 * kernels orthogonal (orthonormal rows), biases 0 except the LSTM forget gate's
 * 1 (unit_forget_bias), norms gamma 1 beta 0, BatchNorm moving mean 0 and
 * variance 1 (train_arch_input_stats sets them from the data).
 */
#ifndef RB_TRAIN_ARCH_H
#define RB_TRAIN_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "rb/base/error.h"
#include "rb/model/model.h"
#include "rb/train/train_net.h"

/* The shape of the default architecture. */
struct train_arch {
	size_t n_metrics; /* metric columns, granularity not counted: >= 1 */
	size_t window;    /* time steps per window: >= 2 (the old model's 32) */
	size_t units;     /* width of every hidden layer and LSTM: >= 1 (the old model's 24) */
};

/* The old traffic model's shape for n metric columns. */
#define TRAIN_ARCH_TRAFFIC(n_metrics) {(n_metrics), 32, 24}

/* Feature columns besides the metrics: granularity, minute, weekday_0..6. */
#define TRAIN_ARCH_TIME_COLUMNS 9

/*
 * A new graph of the default architecture with initial weights drawn from
 * seed (same seed, same bytes: the generator is ours, the arithmetic IEEE
 * double rounded once to float; the orthogonal kernels' normals use libm, so
 * "same" means with the same libm). *out is a model model_free frees; its
 * name is "untrained", its spec empty. RB_E_INPUT for a shape out of range
 * (1-256 metrics, window 2-4096, 1-1024 units), RB_E_NOMEM.
 */
enum rb_code train_arch_build(struct model **out, const struct train_arch *a, uint64_t seed,
                              struct rb_err *err);

/*
 * Sets the old model's regularisers on net by its layers' config names
 * (so a loaded traffic.keras gets them too): activity L2 0.001 on encoder_0
 * and decoder_0, bias L2 0.001 on the four heads (minute, weekday,
 * granularity, metrics decoders), Dropout 0.15 on autoencoder_0_dropout and
 * autoencoder_0_decoder_dropout, GaussianNoise stddev 0.001 on
 * gaussian_noise_0. Returns how many layers it set (9 for the default
 * architecture).
 */
size_t train_arch_regularise(struct train_net *net);

/*
 * Sets the first BatchNormalization layer's moving mean and variance in net
 * to the training rows' column means and (population) variances: rows is
 * [n_rows, C] with C the model's input columns. A column with variance below
 * 1e-6 (constant in the training set, such as a single granularity) gets
 * variance 1: it is centred, not scaled by 1/sqrt(eps). RB_E_INPUT when
 * n_rows is 0, a value is not finite, or the model has no BatchNorm on its
 * input.
 */
enum rb_code train_arch_input_stats(struct train_net *net, const double *rows, size_t n_rows,
                                    struct rb_err *err);

#endif
