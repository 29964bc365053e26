/*
 * model_dnnl: private interface between infer.c and the oneDNN fast path
 * (model_dnnl.c, the only file that calls oneDNN). Not a public module: the
 * service uses include/rb/model/infer.h; benchmarks and tests may use the options
 * below to compare variants.
 */
#ifndef RB_MODEL_DNNL_H
#define RB_MODEL_DNNL_H

#include <stddef.h>

#include "rb/model/model.h"
#include "rb/base/error.h"

#define MODEL_DNNL_MAX_SIZES 8

/* Build-time choices; model_dnnl_opts_default() gives the service's. */
struct model_dnnl_opts {
	size_t n_sizes;                      /* 1..MODEL_DNNL_MAX_SIZES */
	size_t sizes[MODEL_DNNL_MAX_SIZES];  /* batch sizes with built primitives, ascending, first 1 */
	int lstm_plain_weights;              /* 1: LSTM weights ldigo as stored; 0: oneDNN picks (`any`) */
	int fold_batch_norm;                 /* 1: fold BatchNorm into the Dense layers it feeds */
	int fuse_heads;                      /* 1: merge sibling Dense layers reading the same tensor */
	int warm_up;                         /* 1: run every batch size once in model_dnnl_new */
};

struct model_dnnl;

void model_dnnl_opts_default(struct model_dnnl_opts *o);

/*
 * Creates the engine and stream, reorders the weights once and builds the
 * primitives of every batch size in o (NULL = defaults). m must already pass
 * model_ref_check and outlive the handle. RB_E_MODEL for a graph oneDNN
 * cannot run, RB_E_INTERNAL for a oneDNN failure (message: call, file:line).
 */
enum rb_code model_dnnl_new(struct model_dnnl **out, const struct model *m,
                            const struct model_dnnl_opts *o, struct rb_err *err);

/* in [B, in_T, in_C] -> out [B, out_T, out_C], float32; any B >= 1. */
enum rb_code model_dnnl_run(struct model_dnnl *d, const float *in, size_t B, float *out,
                            struct rb_err *err);

/*
 * The chunk sizes run for a request of B samples, in order (the last chunk may
 * be padded: its size can exceed what is left). Returns the number of chunks;
 * at most max are written to sizes (sizes may be NULL to count).
 */
size_t model_dnnl_plan(const struct model_dnnl *d, size_t B, size_t *sizes, size_t max);

void model_dnnl_free(struct model_dnnl *d);

#endif
