/*
 * model_vec: private interface between infer.c and the float32 plain-C
 * forward (model_vec.c): a few samples at a time (sample-major), loops
 * written for the compiler's vectorizer, no library calls in the inner loops,
 * and from a full group of samples the lane-major forward of model_lanes.c
 * (one sample per SIMD lane). Not a public module: the service uses
 * include/rb/model/infer.h.
 */
#ifndef RB_MODEL_VEC_H
#define RB_MODEL_VEC_H

#include <stddef.h>

#include "rb/model/model.h"
#include "rb/base/error.h"

struct model_vec;

/* Which compiled forward a handle runs. */
enum model_vec_isa {
	MODEL_VEC_BEST,     /* the best build this CPU runs: AVX512, else AVX2, else BASELINE (the service's) */
	MODEL_VEC_BASELINE, /* the baseline build (x86-64: SSE2), for tests and benchmarks */
	MODEL_VEC_AVX2,     /* the AVX2+FMA build, for tests and benchmarks */
	MODEL_VEC_AVX512,   /* the AVX-512 F/VL/DQ/BW + FMA build, for tests and benchmarks */
};

/* 1 when this CPU (and this compiler's target) can run that build; BEST and BASELINE always. */
int model_vec_isa_supported(enum model_vec_isa isa);

/*
 * Repacks the Dense and LSTM kernels into column panels, precomputes
 * BatchNorm scale and shift, and allocates activation buffers for a few
 * samples. m must already pass model_ref_check and outlive the handle.
 * RB_E_NOMEM; RB_E_CONFIG when isa names a build this CPU cannot run
 * (see model_vec_isa_supported).
 */
enum rb_code model_vec_new(struct model_vec **out, const struct model *m, enum model_vec_isa isa,
                           struct rb_err *err);

/* in [B, in_T, in_C] -> out [B, out_T, out_C], float32; any B >= 1. Never fails. */
void model_vec_run(struct model_vec *v, const float *in, size_t B, float *out);

/*
 * B windows of one series: window b is rows starts[b] .. starts[b] + in_T of
 * rows [.., in_C] (the model's input has in_T > 0); out [B, out_T, out_C].
 * The answers of model_vec_run on the sliced windows: the same bits for the
 * windows it runs lane-major (a leading run of windows at one stride goes
 * through model_lanes_run_series, the row-wise prefix once per row); for the
 * few left to the sample-major forward, the prefix also runs once per row
 * when they overlap, which may sum a row's projection in another order (a
 * row alone or in a tile of rows): a float rounding apart. Never fails.
 */
void model_vec_run_windows(struct model_vec *v, const float *rows, const size_t *starts, size_t B,
                           float *out);

/*
 * A run of B samples goes MODEL_LANES (model_lanes.h) at a time through the
 * lane-major forward while at least lanes_min samples are left, the rest
 * through the sample-major one. The default per build is the measured
 * crossover (docs/BENCHMARKS.md, "Inference"); set_lanes_min overrides it
 * for tests and benchmarks: 1 = lane-major only, more than MODEL_LANES =
 * sample-major only.
 */
size_t model_vec_lanes_min_default(enum model_vec_isa isa);
void model_vec_set_lanes_min(struct model_vec *v, size_t n);

/* The build the handle runs: "avx512", "avx2+fma" or "baseline". */
const char *model_vec_isa(const struct model_vec *v);

void model_vec_free(struct model_vec *v);

#endif
