/*
 * dnnl_util: oneDNN helpers shared by the inference and training paths
 * (rb/model/dnnl_util.h). No state.
 */
#include "rb/model/dnnl_util.h"

int dnnl_util_eltwise(enum activation a, dnnl_alg_kind_t *alg)
{
	switch (a) {
	case ACT_RELU: *alg = dnnl_eltwise_relu; return 1;
	case ACT_GELU: *alg = dnnl_eltwise_gelu_erf; return 1;
	case ACT_SIGMOID: *alg = dnnl_eltwise_logistic; return 1;
	case ACT_TANH: *alg = dnnl_eltwise_tanh; return 1;
	case ACT_LINEAR:
	case ACT_SOFTMAX: return 0;
	}
	return 0;
}

enum rb_code dnnl_util_md(dnnl_memory_desc_t *md, int nd, const dnnl_dim_t *dims,
                          dnnl_format_tag_t tag, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	dnnl_dims_t full = {0}; /* the API reads nd of DNNL_MAX_NDIMS: hand it a whole array */
	if (nd < 1 || nd > DNNL_MAX_NDIMS)
		return rb_err_set(err, RB_E_INTERNAL, "oneDNN descriptor of %d dims", nd);
	for (int k = 0; k < nd; k++)
		full[k] = dims[k];
	DNNL_TRY(dnnl_memory_desc_init_by_tag(md, nd, full, dnnl_f32, tag));
out:
	return rc;
}
