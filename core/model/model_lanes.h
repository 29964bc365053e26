/*
 * model_lanes: private interface between model_vec.c and the lane-major
 * float32 forward (model_lanes.c): MODEL_LANES windows at once, one per SIMD
 * lane, so that every operation of the graph (the LSTM recurrence too) is a
 * vector operation with the weights broadcast. It wins when a batch fills
 * most lanes; model_vec_run decides which forward runs which samples. Not a
 * public module.
 */
#ifndef RB_MODEL_LANES_H
#define RB_MODEL_LANES_H

#include <stddef.h>

#include "model_vec.h"
#include "rb/model/model.h"
#include "rb/base/error.h"

/* Most samples run together: one per float lane of an AVX-512 register (AVX2: 8, baseline: 4). */
#define MODEL_LANES 16

struct model_lanes;

/*
 * Activation buffers for MODEL_LANES samples; the weights are read where the
 * model holds them (no repacking). m must pass model_ref_check and outlive the
 * handle. isa: BASELINE, AVX2 or AVX512 (not BEST), one this CPU runs.
 * RB_E_NOMEM.
 */
enum rb_code model_lanes_new(struct model_lanes **out, const struct model *m, enum model_vec_isa isa,
                             struct rb_err *err);

/* Samples a run takes: 16 (AVX-512), 8 (AVX2) or 4 (baseline). */
size_t model_lanes_count(const struct model_lanes *v);

/* in [n, in_T, in_C] -> out [n, out_T, out_C], 1 <= n <= model_lanes_count; empty lanes are zeros. */
void model_lanes_run(struct model_lanes *v, const float *in, size_t n, float *out);

/*
 * n windows of one series (1 <= n <= model_lanes_count): window b is rows
 * starts[b] .. starts[b] + in_T of rows [.., in_C] (the model's input has
 * in_T > 0); out [n, out_T, out_C]. model_lanes_run on the gathered windows.
 */
void model_lanes_run_windows(struct model_lanes *v, const float *rows, const size_t *starts, size_t n,
                             float *out);

/*
 * n_win windows of one series at a regular stride: window w is rows first +
 * w·stride .. + in_T of rows [.., in_C]; out [n_win, out_T, out_C]. The
 * model's row-wise prefix (model_lanes_shared_prefix) runs once per row, not
 * once per window that holds the row; the answers equal model_lanes_run's on
 * the sliced windows bit for bit. Returns 1 when done; 0 when it cannot (no
 * prefix, stride not a divisor of in_T below it, no memory for the
 * projections: in_T / stride · 4H · ~(64 + lanes) floats, kept by the
 * handle), out untouched: run the windows otherwise.
 */
int model_lanes_run_series(struct model_lanes *v, const float *rows, size_t first, size_t stride,
                           size_t n_win, float *out);

/*
 * k > 0 when the graph's layers 0 .. k-1 (input, BatchNorm, Dense, LayerNorm,
 * Dropout, GaussianNoise on rows) feed LSTM k alone: what
 * model_lanes_run_series computes once per row, with k's input projection.
 * 0 when the graph has no such prefix.
 */
size_t model_lanes_shared_prefix(const struct model_lanes *v);

void model_lanes_free(struct model_lanes *v);

#endif
