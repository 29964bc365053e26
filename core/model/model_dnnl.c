/*
 * model_dnnl: the oneDNN 2.6 fast path for the model.h layer graph, float32.
 * Every oneDNN call of the project is in this file (hosts may ship another
 * oneDNN version; the 2.x *_desc_init API is gone in 3.x).
 *
 * At model_dnnl_new, per process (after fork): engine and stream; for each
 * batch size of the options one "plan" (a list of steps: primitives with
 * their arguments, or small plain-C copies); the weights reordered once into
 * the formats the primitives ask for (shared between plans when the formats
 * agree); a warm-up run of each plan. model_dnnl_run splits a request into
 * chunks of those sizes (model_dnnl_plan) and runs the plans.
 *
 * Layer mapping (each checked against model_ref.c by tests/test_infer_*):
 *   Dense          inner product on a 2-D [N*T, C] view, Keras kernel = `io`
 *                  weights; relu/gelu_erf/logistic/tanh as an eltwise post-op,
 *                  softmax as a softmax primitive in place;
 *   BatchNorm      folded into the Dense layers it feeds (when it feeds only
 *                  Dense layers), else batch_normalization with global stats;
 *   LayerNorm      layer_normalization, use_scale/use_shift, eps of the layer;
 *   LSTM           lstm_forward, `ntc` src/dst, zero initial state, Keras
 *                  kernels are `ldigo`, bias `ldgo`; last-state mode reads
 *                  dst_iter (dst_layer and dst_iter_c go to scratch);
 *   Dropout, GaussianNoise  aliases of their input (no step);
 *   RepeatVector, Concatenate  plain-C row copies.
 * Sibling Dense layers reading the same tensor (the traffic model's heads)
 * can be merged into one inner product followed by a C epilogue that applies
 * each member's activation to its columns.
 *
 * Not here: graph validation (model_ref_check), threads (OpenMP via
 * OMP_NUM_THREADS), anything training-related.
 */
#include "model_dnnl.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "rb/base/assert.h"
#include "rb/model/dnnl_util.h"

/* Sets rc and jumps to out: for our own failures inside DNNL_TRY functions. */
#define FAIL(code, ...)                                                                 \
	do {                                                                            \
		rc = rb_err_set(err, (code), __VA_ARGS__);                              \
		goto out;                                                               \
	} while (0)

#define MAX_ARGS 10

enum step_kind {
	STEP_PRIM,   /* a primitive with its arguments */
	STEP_REPEAT, /* RepeatVector: layer's buffer rows = input row repeated */
	STEP_CONCAT, /* Concatenate on the last axis */
	STEP_HEADS,  /* epilogue of a merged Dense group: activations + scatter */
};

struct step {
	enum step_kind kind;
	dnnl_primitive_t prim;           /* STEP_PRIM (owned) */
	int nargs;
	dnnl_exec_arg_t args[MAX_ARGS];  /* STEP_PRIM; memories owned by the plan */
	size_t layer;                    /* STEP_REPEAT, STEP_CONCAT: the layer; STEP_HEADS: group */
};

/* Everything to run one chunk of N samples. */
struct plan {
	size_t N;
	size_t n_steps, cap_steps;
	struct step *steps;
	size_t n_mems, cap_mems;
	dnnl_memory_t *mems;             /* views on the shared buffers (owned) */
};

/* A weight tensor reordered into the format some primitive asked for. */
struct wmem {
	size_t layer;
	int slot;                        /* which tensor of the layer */
	dnnl_memory_desc_t md;
	dnnl_memory_t mem;               /* owned, library-allocated */
};

/* A merged group of sibling Dense layers (same input). */
struct group {
	size_t input;                    /* producer layer */
	size_t n;                        /* members */
	size_t member[MODEL_MAX_INPUTS]; /* layer indices, in layer order */
	size_t OC;                       /* sum of members' units */
	float *kernel;                   /* (IC, OC) merged, owned */
	float *bias;                     /* (OC) merged, owned */
	float *out;                      /* (Nmax * rows, OC) pre-activation scratch, owned */
};

struct model_dnnl {
	const struct model *m;
	struct model_dnnl_opts o;
	dnnl_engine_t eng;
	dnnl_stream_t strm;
	size_t Nmax;
	float **buf;                     /* [n_layers] output buffers, (Nmax * rows, C); NULL for aliases */
	size_t *src;                     /* [n_layers] layer whose buffer holds this layer's output */
	float *scratch;                  /* LSTM dst_layer/dst_iter_c when unused: (Nmax * Tmax * Hmax) */
	float *zeros;                    /* (max 4*units of an LSTM): the bias of bias-free LSTMs */
	/* BatchNorm folding: per Dense layer, folded kernel/bias (owned) or NULL. */
	float **fold_kernel, **fold_bias;
	int *folded;                     /* [n_layers] 1 = BatchNorm layer folded away */
	/* Head merging: group index + 1 per Dense layer (0 = none). */
	size_t *group_of;
	size_t n_groups;
	struct group *groups;
	size_t n_wmem, cap_wmem;
	struct wmem *wmem;
	struct plan plans[MODEL_DNNL_MAX_SIZES];
	/* Chunk planning for remainders below the largest size: first chunk of r. */
	size_t *first;                   /* [Nmax] */
};

static size_t rows(const struct layer *l) { return l->T > 0 ? l->T : 1; }

void model_dnnl_opts_default(struct model_dnnl_opts *o)
{
	memset(o, 0, sizeof *o);
	static const size_t sizes[] = {1, 4, 16, 64};
	o->n_sizes = sizeof sizes / sizeof sizes[0];
	memcpy(o->sizes, sizes, sizeof sizes);
	o->lstm_plain_weights = 0;
	o->fold_batch_norm = 1;
	o->fuse_heads = 1;
	o->warm_up = 1;
}

/* ---- small helpers ---- */

static void md_2d(dnnl_memory_desc_t *md, size_t a, size_t b, dnnl_format_tag_t tag)
{
	dnnl_dims_t dims = {(dnnl_dim_t)a, (dnnl_dim_t)b};
	dnnl_status_t st = dnnl_memory_desc_init_by_tag(md, 2, dims, dnnl_f32, tag);
	RB_ASSERT(st == dnnl_success); /* a 2-D f32 plain format always has a descriptor */
	(void)st;
}


/* A memory object over ptr (not owned), kept by plan p. oneDNN only reads a
 * source argument, so a const buffer may be passed as ptr for those. */
static enum rb_code view(dnnl_memory_t *mem_out, struct model_dnnl *d, struct plan *p,
                         const dnnl_memory_desc_t *md, const void *ptr, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	RB_ASSERT(p->n_mems < p->cap_mems);
	DNNL_TRY(dnnl_memory_create(&p->mems[p->n_mems], md, d->eng, (void *)(uintptr_t)ptr));
	*mem_out = p->mems[p->n_mems++];
out:
	return rc;
}

static struct step *add_step(struct plan *p, enum step_kind kind)
{
	RB_ASSERT(p->n_steps < p->cap_steps);
	struct step *s = &p->steps[p->n_steps++];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	return s;
}

static void arg(struct step *s, int which, dnnl_memory_t mem)
{
	RB_ASSERT(s->nargs < MAX_ARGS);
	s->args[s->nargs].arg = which;
	s->args[s->nargs].memory = mem;
	s->nargs++;
}

/*
 * The weight tensor (layer, slot) in the format want, reordered from user
 * data (plain format user_md) the first time this format is asked for.
 */
static enum rb_code weights(dnnl_memory_t *mem_out, struct model_dnnl *d, size_t layer, int slot,
                            const dnnl_memory_desc_t *user_md, const float *user,
                            const dnnl_memory_desc_t *want, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	dnnl_memory_t src = NULL, dst = NULL;
	dnnl_primitive_desc_t rpd = NULL;
	dnnl_primitive_t reorder = NULL;
	for (size_t k = 0; k < d->n_wmem; k++) {
		struct wmem *w = &d->wmem[k];
		if (w->layer == layer && w->slot == slot && dnnl_memory_desc_equal(&w->md, want)) {
			*mem_out = w->mem;
			return RB_OK;
		}
	}
	RB_ASSERT(d->n_wmem < d->cap_wmem);
	DNNL_TRY(dnnl_memory_create(&src, user_md, d->eng, (void *)(uintptr_t)user));
	DNNL_TRY(dnnl_memory_create(&dst, want, d->eng, DNNL_MEMORY_ALLOCATE));
	DNNL_TRY(dnnl_reorder_primitive_desc_create(&rpd, user_md, d->eng, want, d->eng, NULL));
	DNNL_TRY(dnnl_primitive_create(&reorder, rpd));
	dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
	DNNL_TRY(dnnl_primitive_execute(reorder, d->strm, 2, args));
	DNNL_TRY(dnnl_stream_wait(d->strm));
	struct wmem *w = &d->wmem[d->n_wmem++];
	w->layer = layer;
	w->slot = slot;
	w->md = *want;
	w->mem = dst;
	dst = NULL;
	*mem_out = w->mem;
out:
	dnnl_primitive_destroy(reorder);
	dnnl_primitive_desc_destroy(rpd);
	dnnl_memory_destroy(src);
	dnnl_memory_destroy(dst);
	return rc;
}

/* Creates the primitive of pd into a new step of p with no arguments yet. */
static enum rb_code prim_step(struct step **out_step, struct plan *p, const_dnnl_primitive_desc_t pd,
                              struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	struct step *s = add_step(p, STEP_PRIM);
	DNNL_TRY(dnnl_primitive_create(&s->prim, pd));
	*out_step = s;
	return RB_OK;
out:
	p->n_steps--;
	return rc;
}

/* ---- steps, one builder per layer kind ---- */

/* Softmax over the rows of an [M, C] buffer, in place. */
static enum rb_code build_softmax(struct model_dnnl *d, struct plan *p, float *data, size_t M, size_t C,
                                  struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	dnnl_primitive_desc_t pd = NULL;
	dnnl_softmax_desc_t sd;
	dnnl_memory_desc_t md;
	dnnl_memory_t mem = NULL;
	struct step *s = NULL;
	md_2d(&md, M, C, dnnl_ab);
	DNNL_TRY(dnnl_softmax_forward_desc_init(&sd, dnnl_forward_inference, &md, 1));
	DNNL_TRY(dnnl_primitive_desc_create(&pd, &sd, NULL, d->eng, NULL));
	rc = prim_step(&s, p, pd, err);
	if (rc != RB_OK)
		goto out;
	rc = view(&mem, d, p, &md, data, err);
	if (rc != RB_OK)
		goto out;
	arg(s, DNNL_ARG_SRC, mem);
	arg(s, DNNL_ARG_DST, mem);
out:
	dnnl_primitive_desc_destroy(pd);
	return rc;
}

/*
 * Inner product dst[M, OC] = act(src[M, IC] @ kernel[IC, OC] + bias), act an
 * eltwise post-op (softmax added as its own step; linear = none).
 * (layer, slot) names the weights for the reorder cache.
 */
static enum rb_code build_ip(struct model_dnnl *d, struct plan *p, size_t layer, int slot,
                             const float *src, float *dst, const float *kernel, const float *bias,
                             enum activation act, size_t M, size_t IC, size_t OC, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	dnnl_primitive_attr_t attr = NULL;
	dnnl_post_ops_t po = NULL;
	dnnl_primitive_desc_t pd = NULL;
	dnnl_inner_product_desc_t ipd;
	dnnl_memory_desc_t src_md, w_any, w_user, b_md, dst_md;
	dnnl_memory_t m_src = NULL, m_w = NULL, m_b = NULL, m_dst = NULL;
	struct step *s = NULL;
	dnnl_alg_kind_t alg;

	md_2d(&src_md, M, IC, dnnl_ab);
	md_2d(&w_any, OC, IC, dnnl_format_tag_any);
	md_2d(&w_user, OC, IC, dnnl_io);
	md_2d(&dst_md, M, OC, dnnl_ab);
	dnnl_dims_t bd = {(dnnl_dim_t)OC};
	rc = dnnl_util_md(&b_md, 1, bd, dnnl_a, err);
	if (rc != RB_OK)
		goto out;
	DNNL_TRY(dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_inference, &src_md, &w_any,
	                                              bias != NULL ? &b_md : NULL, &dst_md));
	DNNL_TRY(dnnl_primitive_attr_create(&attr));
	if (dnnl_util_eltwise(act, &alg)) {
		DNNL_TRY(dnnl_post_ops_create(&po));
		DNNL_TRY(dnnl_post_ops_append_eltwise(po, 1.0f, alg, 0.0f, 0.0f));
		DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, po));
	}
	DNNL_TRY(dnnl_primitive_desc_create(&pd, &ipd, attr, d->eng, NULL));
	const dnnl_memory_desc_t *w_want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS);
	rc = weights(&m_w, d, layer, slot, &w_user, kernel, w_want, err);
	if (rc == RB_OK && bias != NULL)
		rc = weights(&m_b, d, layer, slot + 1, &b_md, bias, &b_md, err);
	if (rc == RB_OK)
		rc = view(&m_src, d, p, &src_md, src, err);
	if (rc == RB_OK)
		rc = view(&m_dst, d, p, &dst_md, dst, err);
	if (rc == RB_OK)
		rc = prim_step(&s, p, pd, err);
	if (rc != RB_OK)
		goto out;
	arg(s, DNNL_ARG_SRC, m_src);
	arg(s, DNNL_ARG_WEIGHTS, m_w);
	if (m_b != NULL)
		arg(s, DNNL_ARG_BIAS, m_b);
	arg(s, DNNL_ARG_DST, m_dst);
	if (act == ACT_SOFTMAX)
		rc = build_softmax(d, p, dst, M, OC, err);
out:
	dnnl_primitive_desc_destroy(pd);
	dnnl_post_ops_destroy(po);
	dnnl_primitive_attr_destroy(attr);
	return rc;
}

static enum rb_code build_dense(struct model_dnnl *d, struct plan *p, size_t i, struct rb_err *err)
{
	const struct layer *l = &d->m->layers[i];
	const struct layer *in = &d->m->layers[l->inputs[0]];
	size_t M = p->N * rows(l);
	const float *kernel = d->fold_kernel[i] != NULL ? d->fold_kernel[i] : l->kernel;
	const float *bias = d->fold_bias[i] != NULL ? d->fold_bias[i] : l->bias;
	return build_ip(d, p, i, 0, d->buf[d->src[l->inputs[0]]], d->buf[i], kernel, bias, l->act, M,
	                in->C, l->C, err);
}

/* BatchNorm (inference, moving statistics) and LayerNorm on an [M, C] view. */
static enum rb_code build_norm(struct model_dnnl *d, struct plan *p, size_t i, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	const struct layer *l = &d->m->layers[i];
	dnnl_primitive_desc_t pd = NULL;
	dnnl_memory_desc_t md, c_md;
	dnnl_memory_t m_src = NULL, m_dst = NULL, m_g = NULL, m_b = NULL, m_mean = NULL, m_var = NULL;
	struct step *s = NULL;
	size_t M = p->N * rows(l);
	unsigned flags = (l->gamma != NULL ? dnnl_use_scale : 0u) | (l->beta != NULL ? dnnl_use_shift : 0u);
	md_2d(&md, M, l->C, dnnl_ab);
	dnnl_dims_t cd = {(dnnl_dim_t)l->C};
	rc = dnnl_util_md(&c_md, 1, cd, dnnl_a, err);
	if (rc != RB_OK)
		goto out;
	if (l->kind == LAYER_BATCH_NORM) {
		dnnl_batch_normalization_desc_t bd;
		DNNL_TRY(dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_inference, &md,
		                                                    (float)l->epsilon, flags | dnnl_use_global_stats));
		DNNL_TRY(dnnl_primitive_desc_create(&pd, &bd, NULL, d->eng, NULL));
	} else {
		dnnl_layer_normalization_desc_t ld;
		DNNL_TRY(dnnl_layer_normalization_forward_desc_init(&ld, dnnl_forward_inference, &md, NULL,
		                                                    (float)l->epsilon, flags));
		DNNL_TRY(dnnl_primitive_desc_create(&pd, &ld, NULL, d->eng, NULL));
	}
	rc = view(&m_src, d, p, &md, d->buf[d->src[l->inputs[0]]], err);
	if (rc == RB_OK)
		rc = view(&m_dst, d, p, &md, d->buf[i], err);
	if (rc == RB_OK && l->gamma != NULL)
		rc = weights(&m_g, d, i, 0, &c_md, l->gamma, &c_md, err);
	if (rc == RB_OK && l->beta != NULL)
		rc = weights(&m_b, d, i, 1, &c_md, l->beta, &c_md, err);
	if (rc == RB_OK && l->kind == LAYER_BATCH_NORM)
		rc = weights(&m_mean, d, i, 2, &c_md, l->moving_mean, &c_md, err);
	if (rc == RB_OK && l->kind == LAYER_BATCH_NORM)
		rc = weights(&m_var, d, i, 3, &c_md, l->moving_var, &c_md, err);
	if (rc == RB_OK)
		rc = prim_step(&s, p, pd, err);
	if (rc != RB_OK)
		goto out;
	arg(s, DNNL_ARG_SRC, m_src);
	arg(s, DNNL_ARG_DST, m_dst);
	if (m_g != NULL)
		arg(s, DNNL_ARG_SCALE, m_g);
	if (m_b != NULL)
		arg(s, DNNL_ARG_SHIFT, m_b);
	if (m_mean != NULL)
		arg(s, DNNL_ARG_MEAN, m_mean);
	if (m_var != NULL)
		arg(s, DNNL_ARG_VARIANCE, m_var);
out:
	dnnl_primitive_desc_destroy(pd);
	return rc;
}

static enum rb_code build_lstm(struct model_dnnl *d, struct plan *p, size_t i, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	const struct layer *l = &d->m->layers[i];
	const struct layer *in = &d->m->layers[l->inputs[0]];
	dnnl_primitive_desc_t pd = NULL;
	dnnl_rnn_desc_t rd;
	size_t N = p->N, T = in->T, D = in->C, H = l->C;
	dnnl_dims_t src_d = {(dnnl_dim_t)T, (dnnl_dim_t)N, (dnnl_dim_t)D};
	dnnl_dims_t dst_d = {(dnnl_dim_t)T, (dnnl_dim_t)N, (dnnl_dim_t)H};
	dnnl_dims_t wl_d = {1, 1, (dnnl_dim_t)D, 4, (dnnl_dim_t)H};
	dnnl_dims_t wi_d = {1, 1, (dnnl_dim_t)H, 4, (dnnl_dim_t)H};
	dnnl_dims_t b_d = {1, 1, 4, (dnnl_dim_t)H};
	dnnl_dims_t it_d = {1, 1, (dnnl_dim_t)N, (dnnl_dim_t)H};
	dnnl_memory_desc_t src_md, dst_md, wl_user, wi_user, wl_md, wi_md, b_md, it_md;
	dnnl_memory_t m_src = NULL, m_dst = NULL, m_wl, m_wi, m_b = NULL, m_it = NULL, m_itc = NULL;
	dnnl_format_tag_t wtag = d->o.lstm_plain_weights ? dnnl_ldigo : dnnl_format_tag_any;
	struct step *s = NULL;
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&src_md, 3, src_d, dnnl_f32, dnnl_ntc));
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst_md, 3, dst_d, dnnl_f32, dnnl_ntc));
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&wl_user, 5, wl_d, dnnl_f32, dnnl_ldigo));
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&wi_user, 5, wi_d, dnnl_f32, dnnl_ldigo));
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&wl_md, 5, wl_d, dnnl_f32, wtag));
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&wi_md, 5, wi_d, dnnl_f32, wtag));
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&b_md, 4, b_d, dnnl_f32, dnnl_ldgo));
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&it_md, 4, it_d, dnnl_f32, dnnl_ldnc));
	DNNL_TRY(dnnl_lstm_forward_desc_init(&rd, dnnl_forward_inference, dnnl_unidirectional_left2right,
	                                     &src_md, NULL, NULL, &wl_md, &wi_md,
	                                     &b_md, &dst_md,
	                                     l->return_sequences ? NULL : &it_md,
	                                     l->return_sequences ? NULL : &it_md, 0));
	DNNL_TRY(dnnl_primitive_desc_create(&pd, &rd, NULL, d->eng, NULL));
	const dnnl_memory_desc_t *wl_want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER);
	const dnnl_memory_desc_t *wi_want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_ITER);
	const dnnl_memory_desc_t *b_want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_BIAS);
	rc = weights(&m_wl, d, i, 0, &wl_user, l->kernel, wl_want, err);
	if (rc == RB_OK)
		rc = weights(&m_wi, d, i, 1, &wi_user, l->recurrent, wi_want, err);
	/* A Keras LSTM without bias (use_bias=False) gets zeros: oneDNN 2.6 has no bias-free LSTM. */
	if (rc == RB_OK)
		rc = weights(&m_b, d, i, 2, &b_md, l->bias != NULL ? l->bias : d->zeros, b_want, err);
	if (rc == RB_OK)
		rc = view(&m_src, d, p, &src_md, d->buf[d->src[l->inputs[0]]], err);
	/* Sequences: dst_layer is the output. Last state: dst_iter is, the rest is scratch
	 * (dst_layer first in scratch, dst_iter_c after it). */
	if (rc == RB_OK)
		rc = view(&m_dst, d, p, &dst_md, l->return_sequences ? d->buf[i] : d->scratch, err);
	if (rc == RB_OK && !l->return_sequences)
		rc = view(&m_it, d, p, &it_md, d->buf[i], err);
	if (rc == RB_OK && !l->return_sequences)
		rc = view(&m_itc, d, p, &it_md, d->scratch + N * T * H, err);
	if (rc == RB_OK)
		rc = prim_step(&s, p, pd, err);
	if (rc != RB_OK)
		goto out;
	arg(s, DNNL_ARG_SRC_LAYER, m_src);
	arg(s, DNNL_ARG_WEIGHTS_LAYER, m_wl);
	arg(s, DNNL_ARG_WEIGHTS_ITER, m_wi);
	arg(s, DNNL_ARG_BIAS, m_b);
	arg(s, DNNL_ARG_DST_LAYER, m_dst);
	if (m_it != NULL) {
		arg(s, DNNL_ARG_DST_ITER, m_it);
		arg(s, DNNL_ARG_DST_ITER_C, m_itc);
	}
out:
	dnnl_primitive_desc_destroy(pd);
	return rc;
}

/* A merged Dense group: one linear inner product into g->out, then STEP_HEADS. */
static enum rb_code build_group(struct model_dnnl *d, struct plan *p, size_t gi, struct rb_err *err)
{
	struct group *g = &d->groups[gi];
	const struct layer *in = &d->m->layers[g->input];
	size_t M = p->N * rows(&d->m->layers[g->member[0]]);
	enum rb_code rc = build_ip(d, p, g->member[0], 10, d->buf[d->src[g->input]], g->out, g->kernel,
	                           g->bias, ACT_LINEAR, M, in->C, g->OC, err);
	if (rc != RB_OK)
		return rc;
	struct step *s = add_step(p, STEP_HEADS);
	s->layer = gi;
	return RB_OK;
}

static enum rb_code build_plan(struct model_dnnl *d, struct plan *p, size_t N, struct rb_err *err)
{
	const struct model *m = d->m;
	p->N = N;
	p->cap_steps = 2 * m->n_layers;
	p->cap_mems = 8 * m->n_layers;
	p->steps = calloc(p->cap_steps, sizeof *p->steps);
	p->mems = calloc(p->cap_mems, sizeof *p->mems);
	if (p->steps == NULL || p->mems == NULL)
		return rb_err_set(err, RB_E_NOMEM, "oneDNN plan: no memory");
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		enum rb_code rc = RB_OK;
		switch (l->kind) {
		case LAYER_INPUT:
		case LAYER_DROPOUT:
		case LAYER_GAUSSIAN_NOISE:
			break;
		case LAYER_DENSE:
			if (d->group_of[i] == 0)
				rc = build_dense(d, p, i, err);
			else if (d->groups[d->group_of[i] - 1].member[0] == i)
				rc = build_group(d, p, d->group_of[i] - 1, err);
			break;
		case LAYER_BATCH_NORM:
			if (!d->folded[i])
				rc = build_norm(d, p, i, err);
			break;
		case LAYER_LAYER_NORM:
			rc = build_norm(d, p, i, err);
			break;
		case LAYER_LSTM:
			rc = build_lstm(d, p, i, err);
			break;
		case LAYER_REPEAT_VECTOR:
			add_step(p, STEP_REPEAT)->layer = i;
			break;
		case LAYER_CONCATENATE:
			add_step(p, STEP_CONCAT)->layer = i;
			break;
		}
		if (rc != RB_OK) {
			rb_err_prefix(err, "layer %s, batch %zu", l->name, N);
			return rc;
		}
	}
	return RB_OK;
}

/* ---- graph rewrites decided once per model ---- */

/* Number of layers reading layer i (as any input). */
static size_t consumers(const struct model *m, size_t i)
{
	size_t n = 0;
	for (size_t k = i + 1; k < m->n_layers; k++)
		for (size_t j = 0; j < m->layers[k].n_inputs; j++)
			n += m->layers[k].inputs[j] == i;
	return n;
}

/*
 * BatchNorm y = x * s + t (s = gamma / sqrt(var + eps), t = beta - mean * s)
 * feeding only Dense layers folds into them: kernel'[i][o] = s[i] * kernel[i][o],
 * bias'[o] = bias[o] + sum_i t[i] * kernel[i][o]. Folded sums run in double.
 */
static enum rb_code fold_batch_norms(struct model_dnnl *d, struct rb_err *err)
{
	const struct model *m = d->m;
	for (size_t b = 0; b < m->n_layers; b++) {
		const struct layer *bn = &m->layers[b];
		if (bn->kind != LAYER_BATCH_NORM || b == m->output)
			continue;
		size_t n_dense = 0;
		for (size_t k = b + 1; k < m->n_layers; k++)
			if (m->layers[k].kind == LAYER_DENSE && m->layers[k].inputs[0] == b)
				n_dense++;
		if (n_dense == 0 || n_dense != consumers(m, b))
			continue;
		size_t C = bn->C;
		for (size_t k = b + 1; k < m->n_layers; k++) {
			const struct layer *l = &m->layers[k];
			if (l->kind != LAYER_DENSE || l->inputs[0] != b)
				continue;
			size_t OC = l->C;
			d->fold_kernel[k] = malloc(C * OC * sizeof(float));
			d->fold_bias[k] = malloc(OC * sizeof(float));
			if (d->fold_kernel[k] == NULL || d->fold_bias[k] == NULL)
				return rb_err_set(err, RB_E_NOMEM, "BatchNorm folding: no memory");
			for (size_t o = 0; o < OC; o++) {
				double acc = l->bias != NULL ? (double)l->bias[o] : 0.0;
				for (size_t c = 0; c < C; c++) {
					double s = (bn->gamma != NULL ? (double)bn->gamma[c] : 1.0) /
					           sqrt((double)bn->moving_var[c] + bn->epsilon);
					double t = (bn->beta != NULL ? (double)bn->beta[c] : 0.0) -
					           (double)bn->moving_mean[c] * s;
					double w = (double)l->kernel[c * OC + o];
					d->fold_kernel[k][c * OC + o] = (float)(w * s);
					acc += t * w;
				}
				d->fold_bias[k][o] = (float)acc;
			}
		}
		d->folded[b] = 1;
		d->src[b] = d->src[bn->inputs[0]];
	}
	return RB_OK;
}

/*
 * Dense layers reading the same tensor, with equal T, 2..MODEL_MAX_INPUTS of
 * them, none folded, merge into one group (one inner product).
 */
static enum rb_code merge_heads(struct model_dnnl *d, struct rb_err *err)
{
	const struct model *m = d->m;
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		if (l->kind != LAYER_DENSE || d->group_of[i] != 0 || d->fold_kernel[i] != NULL)
			continue;
		struct group g = {.input = l->inputs[0], .n = 0};
		for (size_t k = i; k < m->n_layers && g.n < MODEL_MAX_INPUTS; k++) {
			const struct layer *c = &m->layers[k];
			if (c->kind == LAYER_DENSE && c->inputs[0] == g.input && d->group_of[k] == 0 &&
			    d->fold_kernel[k] == NULL && c->T == l->T) {
				g.member[g.n++] = k;
				g.OC += c->C;
			}
		}
		if (g.n < 2)
			continue;
		size_t IC = m->layers[g.input].C, M = d->Nmax * rows(l);
		g.kernel = malloc(IC * g.OC * sizeof(float));
		g.bias = calloc(g.OC, sizeof(float));
		g.out = malloc(M * g.OC * sizeof(float));
		if (g.kernel == NULL || g.bias == NULL || g.out == NULL) {
			free(g.kernel);
			free(g.bias);
			free(g.out);
			return rb_err_set(err, RB_E_NOMEM, "merging Dense heads: no memory");
		}
		size_t off = 0;
		for (size_t j = 0; j < g.n; j++) {
			const struct layer *c = &m->layers[g.member[j]];
			for (size_t r = 0; r < IC; r++)
				memcpy(g.kernel + r * g.OC + off, c->kernel + r * c->C, c->C * sizeof(float));
			if (c->bias != NULL)
				memcpy(g.bias + off, c->bias, c->C * sizeof(float));
			off += c->C;
			d->group_of[g.member[j]] = d->n_groups + 1;
		}
		d->groups[d->n_groups++] = g;
	}
	return RB_OK;
}

/* ---- plain-C steps ---- */

static void run_repeat(struct model_dnnl *d, const struct layer *l, size_t i, size_t N)
{
	const float *x = d->buf[d->src[l->inputs[0]]];
	float *y = d->buf[i];
	size_t R = l->repeat, C = l->C;
	for (size_t n = 0; n < N; n++)
		for (size_t r = 0; r < R; r++)
			memcpy(y + (n * R + r) * C, x + n * C, C * sizeof *y);
}

static void run_concat(struct model_dnnl *d, const struct layer *l, size_t i, size_t N)
{
	const struct model *m = d->m;
	float *y = d->buf[i];
	size_t M = N * rows(l), C = l->C, off = 0;
	for (size_t j = 0; j < l->n_inputs; j++) {
		const float *x = d->buf[d->src[l->inputs[j]]];
		size_t Cj = m->layers[l->inputs[j]].C;
		for (size_t r = 0; r < M; r++)
			memcpy(y + r * C + off, x + r * Cj, Cj * sizeof *y);
		off += Cj;
	}
}

static float act1(enum activation a, float v)
{
	switch (a) {
	case ACT_RELU: return v > 0.0f ? v : 0.0f;
	case ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
	case ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
	case ACT_TANH: return tanhf(v);
	case ACT_LINEAR:
	case ACT_SOFTMAX: break;
	}
	return v;
}

/* Merged Dense epilogue: each member's columns, activated, into its buffer. */
static void run_heads(struct model_dnnl *d, size_t gi, size_t N)
{
	const struct group *g = &d->groups[gi];
	size_t M = N * rows(&d->m->layers[g->member[0]]), off = 0;
	for (size_t j = 0; j < g->n; j++) {
		const struct layer *l = &d->m->layers[g->member[j]];
		float *y = d->buf[g->member[j]];
		size_t C = l->C;
		for (size_t r = 0; r < M; r++) {
			const float *z = g->out + r * g->OC + off;
			float *yr = y + r * C;
			if (l->act == ACT_SOFTMAX) {
				float mx = z[0], sum = 0.0f;
				for (size_t c = 1; c < C; c++)
					mx = z[c] > mx ? z[c] : mx;
				for (size_t c = 0; c < C; c++) {
					yr[c] = expf(z[c] - mx);
					sum += yr[c];
				}
				for (size_t c = 0; c < C; c++)
					yr[c] /= sum;
			} else {
				for (size_t c = 0; c < C; c++)
					yr[c] = act1(l->act, z[c]);
			}
		}
		off += C;
	}
}

/* ---- run ---- */

static enum rb_code run_plan(struct model_dnnl *d, struct plan *p, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	for (size_t k = 0; k < p->n_steps; k++) {
		struct step *s = &p->steps[k];
		if (s->kind == STEP_PRIM) {
			DNNL_TRY(dnnl_primitive_execute(s->prim, d->strm, s->nargs, s->args));
			continue;
		}
		DNNL_TRY(dnnl_stream_wait(d->strm));
		if (s->kind == STEP_REPEAT)
			run_repeat(d, &d->m->layers[s->layer], s->layer, p->N);
		else if (s->kind == STEP_CONCAT)
			run_concat(d, &d->m->layers[s->layer], s->layer, p->N);
		else
			run_heads(d, s->layer, p->N);
	}
	DNNL_TRY(dnnl_stream_wait(d->strm));
out:
	return rc;
}

static struct plan *plan_of(struct model_dnnl *d, size_t N)
{
	for (size_t k = 0; k < d->o.n_sizes; k++)
		if (d->plans[k].N == N)
			return &d->plans[k];
	return NULL;
}

/*
 * Cost of a chunk in units of one sample: its samples (padding included) plus
 * a fixed overhead per call. Measured on traffic.keras, 1 thread (CPU time):
 * ~55 µs for a chunk of 1, ~31 µs per sample from 4 up, so the overhead is
 * about one sample.
 */
#define CHUNK_OVERHEAD 1

static enum rb_code plan_remainders(struct model_dnnl *d, struct rb_err *err)
{
	size_t S = d->Nmax;
	size_t *cost = calloc(S, sizeof *cost);
	d->first = calloc(S, sizeof *d->first);
	if (cost == NULL || d->first == NULL) {
		free(cost);
		return rb_err_set(err, RB_E_NOMEM, "chunk planning: no memory");
	}
	for (size_t r = 1; r < S; r++) {
		cost[r] = SIZE_MAX;
		for (size_t k = 0; k < d->o.n_sizes; k++) {
			size_t s = d->o.sizes[k];
			size_t c = s + CHUNK_OVERHEAD + (r > s ? cost[r - s] : 0);
			if (c <= cost[r]) { /* ties go to the larger size: fewer calls */
				cost[r] = c;
				d->first[r] = s;
			}
		}
	}
	free(cost);
	return RB_OK;
}

size_t model_dnnl_plan(const struct model_dnnl *d, size_t B, size_t *sizes, size_t max)
{
	size_t n = 0;
	while (B > 0) {
		size_t s = B >= d->Nmax ? d->Nmax : d->first[B];
		if (sizes != NULL && n < max)
			sizes[n] = s;
		n++;
		B -= s < B ? s : B;
	}
	return n;
}

enum rb_code model_dnnl_run(struct model_dnnl *d, const float *in, size_t B, float *out,
                            struct rb_err *err)
{
	const struct model *m = d->m;
	size_t in_n = (m->in_T > 0 ? m->in_T : 1) * m->in_C;
	size_t out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	size_t in_layer = 0;
	for (size_t i = 0; i < m->n_layers; i++)
		if (m->layers[i].kind == LAYER_INPUT)
			in_layer = i;
	float *xin = d->buf[in_layer];
	const float *yout = d->buf[d->src[m->output]];
	while (B > 0) {
		size_t s = B >= d->Nmax ? d->Nmax : d->first[B];
		size_t n = s < B ? s : B;
		struct plan *p = plan_of(d, s);
		RB_ASSERT(p != NULL && s <= d->Nmax); /* a plan for every chunk size chosen */
		memcpy(xin, in, n * in_n * sizeof *xin);
		if (n < s)
			memset(xin + n * in_n, 0, (s - n) * in_n * sizeof *xin);
		enum rb_code rc = run_plan(d, p, err);
		if (rc != RB_OK)
			return rc;
		memcpy(out, yout, n * out_n * sizeof *out);
		in += n * in_n;
		out += n * out_n;
		B -= n;
	}
	return RB_OK;
}

/* ---- lifetime ---- */

enum rb_code model_dnnl_new(struct model_dnnl **out, const struct model *m,
                            const struct model_dnnl_opts *o, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	*out = NULL;
	struct model_dnnl *d = calloc(1, sizeof *d);
	if (d == NULL)
		return rb_err_set(err, RB_E_NOMEM, "oneDNN path: no memory");
	d->m = m;
	if (o != NULL)
		d->o = *o;
	else
		model_dnnl_opts_default(&d->o);
	if (d->o.n_sizes == 0 || d->o.n_sizes > MODEL_DNNL_MAX_SIZES || d->o.sizes[0] != 1)
		FAIL(RB_E_INTERNAL, "oneDNN path: batch sizes must start at 1, at most %d", MODEL_DNNL_MAX_SIZES);
	for (size_t k = 1; k < d->o.n_sizes; k++)
		if (d->o.sizes[k] <= d->o.sizes[k - 1] || d->o.sizes[k] > 4096)
			FAIL(RB_E_INTERNAL, "oneDNN path: batch sizes must ascend, at most 4096");
	d->Nmax = d->o.sizes[d->o.n_sizes - 1];

	size_t L = m->n_layers;
	d->buf = calloc(L, sizeof *d->buf);
	d->src = calloc(L, sizeof *d->src);
	d->fold_kernel = calloc(L, sizeof *d->fold_kernel);
	d->fold_bias = calloc(L, sizeof *d->fold_bias);
	d->folded = calloc(L, sizeof *d->folded);
	d->group_of = calloc(L, sizeof *d->group_of);
	d->groups = calloc(L, sizeof *d->groups);
	d->cap_wmem = 4 * L * (d->o.n_sizes + 1) + 16;
	d->wmem = calloc(d->cap_wmem, sizeof *d->wmem);
	if (d->buf == NULL || d->src == NULL || d->fold_kernel == NULL || d->fold_bias == NULL ||
	    d->folded == NULL || d->group_of == NULL || d->groups == NULL || d->wmem == NULL)
		FAIL(RB_E_NOMEM, "oneDNN path: no memory");

	/* Buffers: identities alias their input; LSTM scratch for the unused outputs. */
	size_t scratch = 0, zeros = 1;
	for (size_t i = 0; i < L; i++) {
		const struct layer *l = &m->layers[i];
		if (l->kind == LAYER_DROPOUT || l->kind == LAYER_GAUSSIAN_NOISE) {
			d->src[i] = d->src[l->inputs[0]];
			continue;
		}
		d->src[i] = i;
		if (l->kind == LAYER_LSTM && 4 * l->C > zeros)
			zeros = 4 * l->C;
		if (l->kind == LAYER_LSTM && !l->return_sequences) {
			size_t need = d->Nmax * m->layers[l->inputs[0]].T * l->C + d->Nmax * l->C;
			scratch = need > scratch ? need : scratch;
		}
	}
	rc = d->o.fold_batch_norm ? fold_batch_norms(d, err) : RB_OK;
	if (rc == RB_OK && d->o.fuse_heads)
		rc = merge_heads(d, err);
	if (rc != RB_OK)
		goto out;
	for (size_t i = 0; i < L; i++) {
		const struct layer *l = &m->layers[i];
		if (d->src[i] != i)
			continue;
		d->buf[i] = malloc(d->Nmax * rows(l) * l->C * sizeof(float));
		if (d->buf[i] == NULL)
			FAIL(RB_E_NOMEM, "oneDNN path: no memory for layer %s", l->name);
	}
	d->zeros = calloc(zeros, sizeof(float));
	if (d->zeros == NULL)
		FAIL(RB_E_NOMEM, "oneDNN path: no memory");
	if (scratch > 0) {
		d->scratch = malloc(scratch * sizeof(float));
		if (d->scratch == NULL)
			FAIL(RB_E_NOMEM, "oneDNN path: no memory for LSTM scratch");
	}
	rc = plan_remainders(d, err);
	if (rc != RB_OK)
		goto out;

	DNNL_TRY(dnnl_engine_create(&d->eng, dnnl_cpu, 0));
	DNNL_TRY(dnnl_stream_create(&d->strm, d->eng, dnnl_stream_default_flags));
	for (size_t k = 0; k < d->o.n_sizes; k++) {
		rc = build_plan(d, &d->plans[k], d->o.sizes[k], err);
		if (rc != RB_OK)
			goto out;
	}
	if (d->o.warm_up) {
		/* Zero input: runs every kernel once (JIT, first-touch) before the first request. */
		size_t in_n = (m->in_T > 0 ? m->in_T : 1) * m->in_C;
		size_t out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
		float *zin = calloc(d->Nmax * in_n, sizeof *zin);
		float *zout = malloc(d->Nmax * out_n * sizeof *zout);
		for (size_t k = 0; rc == RB_OK && zin != NULL && zout != NULL && k < d->o.n_sizes; k++)
			rc = model_dnnl_run(d, zin, d->o.sizes[k], zout, err);
		if (rc == RB_OK && (zin == NULL || zout == NULL))
			rc = rb_err_set(err, RB_E_NOMEM, "oneDNN warm-up: no memory");
		free(zin);
		free(zout);
		if (rc != RB_OK)
			goto out;
	}
	*out = d;
	return RB_OK;
out:
	model_dnnl_free(d);
	return rc;
}

static void plan_free(struct plan *p)
{
	for (size_t k = 0; k < p->n_steps; k++)
		dnnl_primitive_destroy(p->steps[k].prim);
	for (size_t k = 0; k < p->n_mems; k++)
		dnnl_memory_destroy(p->mems[k]);
	free(p->steps);
	free(p->mems);
}

void model_dnnl_free(struct model_dnnl *d)
{
	if (d == NULL)
		return;
	for (size_t k = 0; k < MODEL_DNNL_MAX_SIZES; k++)
		plan_free(&d->plans[k]);
	for (size_t k = 0; k < d->n_wmem; k++)
		dnnl_memory_destroy(d->wmem[k].mem);
	free(d->wmem);
	if (d->groups != NULL)
		for (size_t g = 0; g < d->n_groups; g++) {
			free(d->groups[g].kernel);
			free(d->groups[g].bias);
			free(d->groups[g].out);
		}
	free(d->groups);
	free(d->group_of);
	if (d->buf != NULL)
		for (size_t i = 0; i < d->m->n_layers; i++)
			free(d->buf[i]);
	if (d->fold_kernel != NULL)
		for (size_t i = 0; i < d->m->n_layers; i++) {
			free(d->fold_kernel[i]);
			free(d->fold_bias[i]);
		}
	free(d->buf);
	free(d->src);
	free(d->fold_kernel);
	free(d->fold_bias);
	free(d->folded);
	free(d->scratch);
	free(d->zeros);
	free(d->first);
	if (d->strm != NULL)
		dnnl_stream_destroy(d->strm);
	if (d->eng != NULL)
		dnnl_engine_destroy(d->eng);
	free(d);
}
