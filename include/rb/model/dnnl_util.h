/*
 * dnnl_util: what the inference path (core/model/model_dnnl.c) and the training
 * path (core/train/train_dnnl.c) both need from oneDNN's C API: a status check
 * that turns a failed call into an rb_err, the eltwise kind of an activation,
 * and a plain f32 memory descriptor. Not a wrapper of oneDNN: the two paths
 * build their own primitives.
 */
#ifndef RB_MODEL_DNNL_UTIL_H
#define RB_MODEL_DNNL_UTIL_H

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "rb/base/error.h"
#include "rb/model/model.h"

/*
 * Runs a oneDNN call; on failure sets rc (RB_E_INTERNAL) and err (the status,
 * the place and the call) and jumps to out. Needs `enum rb_code rc`,
 * `struct rb_err *err` and a label `out` in the calling function.
 */
#define DNNL_TRY(call)                                                                  \
	do {                                                                            \
		dnnl_status_t st_ = (call);                                             \
		if (st_ != dnnl_success) {                                              \
			rc = rb_err_set(err, RB_E_INTERNAL, "oneDNN %s at %s:%d: %s",   \
			                dnnl_status2str(st_), __FILE__, __LINE__, #call); \
			goto out;                                                       \
		}                                                                       \
	} while (0)

/* 1 and *alg = oneDNN's eltwise kind of activation a (GELU: the erf form);
 * 0 for ACT_LINEAR (nothing to apply) and ACT_SOFTMAX (not an eltwise). */
int dnnl_util_eltwise(enum activation a, dnnl_alg_kind_t *alg);

/* *md = an f32 descriptor of nd dims in the plain layout tag; RB_E_INTERNAL when
 * oneDNN refuses it. */
enum rb_code dnnl_util_md(dnnl_memory_desc_t *md, int nd, const dnnl_dim_t *dims,
                          dnnl_format_tag_t tag, struct rb_err *err);

#endif
