/*
 * train_dnnl: the oneDNN 2.6 training path, float32 (rb/train/train_dnnl.h).
 * Like model_dnnl.c it keeps its oneDNN calls to itself (the 2.x *_desc_init
 * API is gone in 3.x: a port touches these two files).
 *
 * Layer mapping, batch of B samples, each layer's tensor [B * rows, C]:
 *   Dense        inner product forward_training on [B*T, IC] (Keras kernel is
 *                the `io` weights, used in place), backward_data,
 *                backward_weights; its activation as an eltwise primitive
 *                (gelu_erf, logistic, tanh, relu) forward_training/backward on
 *                the pre-activation; softmax in C;
 *   LayerNorm    layer_normalization forward_training (mean, variance out) and
 *                backward (diff scale and shift);
 *   LSTM         lstm_forward forward_training with its workspace, then
 *                lstm_backward (prop backward); `ntc` src/dst, Keras's gate
 *                order i, f, c, o is oneDNN's, kernels `ldigo`, bias `ldgo`;
 *                weights reordered when a primitive asks for another format;
 *                last-state mode runs the sequence and copies the last step
 *                (its gradient goes to the last step of diff_dst_layer);
 *   BatchNorm    inference form (fixed statistics), per-column affine in C;
 *   Dropout, GaussianNoise, RepeatVector, Concatenate, the MAE, the
 *                regularisers: C loops.
 * Every layer has its own float buffers (output, gradient) for B_max samples;
 * the primitives of a batch size are views on them. oneDNN's backward
 * primitives write (not add) their diff_src: a layer read by one consumer
 * gets it in place, one read by several goes through a scratch and is added.
 * The parameters are a float copy of net->w at the same offsets (fw), the
 * gradients a float array in the same layout (fg), added to net->g.
 *
 * Not here: the optimizer, the loop, graph validation (train_net_new did it).
 */
#include "rb/train/train_dnnl.h"

#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "rb/base/assert.h"
#include "rb/model/dnnl_util.h"
#include "rb/train/train_ref.h"
#include "train_rng.h"

#define MAX_ARGS 14
#define MAX_PLANS 4 /* batch sizes kept: an epoch uses two (full, remainder) */

/* One primitive with its arguments; prim NULL = nothing to run. */
struct exec {
	dnnl_primitive_t prim;
	int nargs;
	dnnl_exec_arg_t args[MAX_ARGS];
};

/* One layer's primitives for one batch size. */
struct lplan {
	struct exec fwd, fwd_act;           /* main (IP, LN, LSTM); Dense activation */
	struct exec bwd_act, bwd, bwd_w;    /* Dense: eltwise bwd, bwd data, bwd weights; LN, LSTM: bwd */
	struct exec re_f[2], re_b[2], re_d[2]; /* LSTM weight reorders: forward, backward, diffs back */
	dnnl_memory_t zero[2];              /* library-allocated diff weights to zero before bwd */
};

struct plan {
	size_t B;
	unsigned long used;                 /* last use (LRU) */
	struct lplan *lp;                   /* [n_layers] */
	size_t n_mems, cap_mems;
	dnnl_memory_t *mems;                /* owned */
};

struct train_dnnl {
	const struct train_net *net;
	const struct model *m;
	size_t B_max, B;                    /* capacity; samples of the last forward */
	int noisy;                          /* the last forward drew masks */
	size_t in_layer, in_n, out_n;
	dnnl_engine_t eng;
	dnnl_stream_t strm;
	float *fw, *fg;                     /* (n) parameters and gradients, net->w's layout */
	float **act, **dact;                /* [L] (B_max * rows * C) */
	float **pre, **dpre;                /* [L] Dense pre-activation and its gradient (or NULL) */
	float **mean, **var;                /* [L] LayerNorm statistics (B_max * rows) */
	float **seq, **dseq;                /* [L] last-state LSTM: its sequence (B_max * T * H) */
	float **noise;                      /* [L] Dropout mask or GaussianNoise values */
	size_t *n_cons;                     /* [L] layers reading layer i */
	unsigned char *direct;              /* [L] its gradient is written whole by its one reader */
	double *col;                        /* (2 * max C) BatchNorm's per-column scale and shift */
	float *dxs;                         /* scratch for a diff_src that is added */
	float *zeros, *dzeros;              /* (4 * max_units) bias of bias-free LSTMs, its gradient */
	size_t max_units;                   /* widest LSTM (1 when none) */
	double *out, *dout;                 /* (B_max * out_n) */
	unsigned long clock;
	struct plan plans[MAX_PLANS];
};

static size_t rows(const struct layer *l) { return l->T > 0 ? l->T : 1; }
static size_t nel(const struct layer *l) { return rows(l) * l->C; }

/*
 * The float counterpart in base (fw or fg) of a pointer into net->w (a view
 * of net->wv: gradients are found at the same offsets); NULL stays NULL.
 */
static float *fv(const struct train_dnnl *t, float *base, const double *p)
{
	if (p == NULL)
		return NULL;
	RB_ASSERT(p >= t->net->w && p < t->net->w + t->net->n);
	return base + (p - t->net->w);
}


/* ---- building ---- */

/* A memory of plan p over ptr (NULL: allocated by the library). */
static enum rb_code mem(dnnl_memory_t *o, struct train_dnnl *t, struct plan *p,
                        const dnnl_memory_desc_t *md, void *ptr, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	RB_ASSERT(p->n_mems < p->cap_mems);
	DNNL_TRY(dnnl_memory_create(&p->mems[p->n_mems], md, t->eng,
	                            ptr != NULL ? ptr : DNNL_MEMORY_ALLOCATE));
	*o = p->mems[p->n_mems++];
out:
	return rc;
}

static enum rb_code prim(struct exec *e, const_dnnl_primitive_desc_t pd, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	DNNL_TRY(dnnl_primitive_create(&e->prim, pd));
out:
	return rc;
}

static void earg(struct exec *e, int which, dnnl_memory_t m)
{
	RB_ASSERT(e->nargs < MAX_ARGS);
	e->args[e->nargs].arg = which;
	e->args[e->nargs].memory = m;
	e->nargs++;
}

/* A reorder from to to into e. */
static enum rb_code reorder(struct exec *e, struct train_dnnl *t, dnnl_memory_t from,
                            const dnnl_memory_desc_t *from_md, dnnl_memory_t to,
                            const dnnl_memory_desc_t *to_md, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	dnnl_primitive_desc_t pd = NULL;
	DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, from_md, t->eng, to_md, t->eng, NULL));
	rc = prim(e, pd, err);
	earg(e, DNNL_ARG_FROM, from);
	earg(e, DNNL_ARG_TO, to);
out:
	dnnl_primitive_desc_destroy(pd);
	return rc;
}

/*
 * The weights a primitive wants (want) for the plain user tensor at ptr:
 * in place when the formats agree, else a library memory and a reorder into
 * it (to_user 0: user -> it, run before; 1: it -> user, run after).
 */
static enum rb_code weights(dnnl_memory_t *o, struct exec *re, dnnl_memory_t *zero,
                            struct train_dnnl *t, struct plan *p, const dnnl_memory_desc_t *user_md,
                            float *ptr, const dnnl_memory_desc_t *want, int to_user,
                            struct rb_err *err)
{
	dnnl_memory_t user = NULL;
	enum rb_code rc = mem(&user, t, p, user_md, ptr, err);
	if (rc != RB_OK || dnnl_memory_desc_equal(user_md, want)) {
		*o = user;
		return rc;
	}
	rc = mem(o, t, p, want, NULL, err);
	if (rc == RB_OK && !to_user)
		rc = reorder(re, t, user, user_md, *o, want, err);
	if (rc == RB_OK && to_user) {
		rc = reorder(re, t, *o, want, user, user_md, err);
		*zero = *o;
	}
	return rc;
}

/* Where layer i's backward writes its input's gradient. */
static float *dx_target(const struct train_dnnl *t, size_t i)
{
	size_t p = t->m->layers[i].inputs[0];
	return t->direct[p] ? t->dact[p] : t->dxs;
}

static enum rb_code build_dense(struct train_dnnl *t, struct plan *pl, size_t i, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	const struct model *m = t->m;
	const struct layer *l = &m->layers[i];
	size_t pi = l->inputs[0];
	struct lplan *lp = &pl->lp[i];
	const struct train_view *w = &t->net->wv[i];
	size_t M = pl->B * rows(l), IC = m->layers[pi].C, OC = l->C;
	dnnl_primitive_desc_t fpd = NULL, apd = NULL, bpd = NULL, abpd = NULL, wpd = NULL;
	dnnl_inner_product_desc_t d;
	dnnl_eltwise_desc_t ed;
	dnnl_memory_desc_t src_md, w_md, b_md, dst_md;
	dnnl_memory_t m_src, m_w, m_b = NULL, m_pre, m_dst, m_dy, m_dpre, m_dx, m_dw, m_db = NULL;
	dnnl_alg_kind_t alg = dnnl_alg_kind_undef;
	int elt = dnnl_util_eltwise(l->act, &alg);
	const dnnl_dim_t s_d[2] = {(dnnl_dim_t)M, (dnnl_dim_t)IC}, w_d[2] = {(dnnl_dim_t)OC, (dnnl_dim_t)IC};
	const dnnl_dim_t d_d[2] = {(dnnl_dim_t)M, (dnnl_dim_t)OC}, b_d[1] = {(dnnl_dim_t)OC};
	rc = dnnl_util_md(&src_md, 2, s_d, dnnl_ab, err);
	if (rc == RB_OK)
		rc = dnnl_util_md(&w_md, 2, w_d, dnnl_io, err);
	if (rc == RB_OK)
		rc = dnnl_util_md(&dst_md, 2, d_d, dnnl_ab, err);
	if (rc == RB_OK)
		rc = dnnl_util_md(&b_md, 1, b_d, dnnl_a, err);
	if (rc != RB_OK)
		goto out;
	DNNL_TRY(dnnl_inner_product_forward_desc_init(&d, dnnl_forward_training, &src_md, &w_md,
	                                              w->bias != NULL ? &b_md : NULL, &dst_md));
	DNNL_TRY(dnnl_primitive_desc_create(&fpd, &d, NULL, t->eng, NULL));
	DNNL_TRY(dnnl_inner_product_backward_data_desc_init(&d, &src_md, &w_md, &dst_md));
	DNNL_TRY(dnnl_primitive_desc_create(&bpd, &d, NULL, t->eng, fpd));
	DNNL_TRY(dnnl_inner_product_backward_weights_desc_init(&d, &src_md, &w_md,
	                                                       w->bias != NULL ? &b_md : NULL, &dst_md));
	DNNL_TRY(dnnl_primitive_desc_create(&wpd, &d, NULL, t->eng, fpd));
	if (elt) {
		DNNL_TRY(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training, alg, &dst_md, 0.f, 0.f));
		DNNL_TRY(dnnl_primitive_desc_create(&apd, &ed, NULL, t->eng, NULL));
		DNNL_TRY(dnnl_eltwise_backward_desc_init(&ed, alg, &dst_md, &dst_md, 0.f, 0.f));
		DNNL_TRY(dnnl_primitive_desc_create(&abpd, &ed, NULL, t->eng, apd));
	}
	float *pre = t->pre[i] != NULL ? t->pre[i] : t->act[i];
	float *dpre = t->dpre[i] != NULL ? t->dpre[i] : t->dact[i];
	rc = mem(&m_src, t, pl, &src_md, t->act[pi], err);
	if (rc == RB_OK)
		rc = mem(&m_w, t, pl, &w_md, fv(t, t->fw, w->kernel), err);
	if (rc == RB_OK && w->bias != NULL)
		rc = mem(&m_b, t, pl, &b_md, fv(t, t->fw, w->bias), err);
	if (rc == RB_OK)
		rc = mem(&m_pre, t, pl, &dst_md, pre, err);
	if (rc == RB_OK)
		rc = mem(&m_dst, t, pl, &dst_md, t->act[i], err);
	if (rc == RB_OK)
		rc = mem(&m_dy, t, pl, &dst_md, t->dact[i], err);
	if (rc == RB_OK)
		rc = mem(&m_dpre, t, pl, &dst_md, dpre, err);
	if (rc == RB_OK)
		rc = mem(&m_dx, t, pl, &src_md, dx_target(t, i), err);
	if (rc == RB_OK)
		rc = mem(&m_dw, t, pl, &w_md, fv(t, t->fg, w->kernel), err);
	if (rc == RB_OK && w->bias != NULL)
		rc = mem(&m_db, t, pl, &b_md, fv(t, t->fg, w->bias), err);
	if (rc == RB_OK)
		rc = prim(&lp->fwd, fpd, err);
	if (rc == RB_OK)
		rc = prim(&lp->bwd, bpd, err);
	if (rc == RB_OK)
		rc = prim(&lp->bwd_w, wpd, err);
	if (rc != RB_OK)
		goto out;
	earg(&lp->fwd, DNNL_ARG_SRC, m_src);
	earg(&lp->fwd, DNNL_ARG_WEIGHTS, m_w);
	if (m_b != NULL)
		earg(&lp->fwd, DNNL_ARG_BIAS, m_b);
	earg(&lp->fwd, DNNL_ARG_DST, m_pre);
	earg(&lp->bwd, DNNL_ARG_DIFF_DST, m_dpre);
	earg(&lp->bwd, DNNL_ARG_WEIGHTS, m_w);
	earg(&lp->bwd, DNNL_ARG_DIFF_SRC, m_dx);
	earg(&lp->bwd_w, DNNL_ARG_SRC, m_src);
	earg(&lp->bwd_w, DNNL_ARG_DIFF_DST, m_dpre);
	earg(&lp->bwd_w, DNNL_ARG_DIFF_WEIGHTS, m_dw);
	if (m_db != NULL)
		earg(&lp->bwd_w, DNNL_ARG_DIFF_BIAS, m_db);
	if (elt) {
		rc = prim(&lp->fwd_act, apd, err);
		if (rc == RB_OK)
			rc = prim(&lp->bwd_act, abpd, err);
		if (rc != RB_OK)
			goto out;
		earg(&lp->fwd_act, DNNL_ARG_SRC, m_pre);
		earg(&lp->fwd_act, DNNL_ARG_DST, m_dst);
		earg(&lp->bwd_act, DNNL_ARG_SRC, m_pre);
		earg(&lp->bwd_act, DNNL_ARG_DIFF_DST, m_dy);
		earg(&lp->bwd_act, DNNL_ARG_DIFF_SRC, m_dpre);
	}
out:
	dnnl_primitive_desc_destroy(fpd);
	dnnl_primitive_desc_destroy(bpd);
	dnnl_primitive_desc_destroy(wpd);
	dnnl_primitive_desc_destroy(apd);
	dnnl_primitive_desc_destroy(abpd);
	return rc;
}

static enum rb_code build_layer_norm(struct train_dnnl *t, struct plan *pl, size_t i,
                                     struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	const struct layer *l = &t->m->layers[i];
	size_t pi = l->inputs[0];
	struct lplan *lp = &pl->lp[i];
	const struct train_view *w = &t->net->wv[i];
	size_t M = pl->B * rows(l);
	unsigned flags = (w->gamma != NULL ? dnnl_use_scale : 0u) | (w->beta != NULL ? dnnl_use_shift : 0u);
	dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
	dnnl_layer_normalization_desc_t d;
	dnnl_memory_desc_t md, c_md, s_md;
	dnnl_memory_t m_src, m_dst, m_mean, m_var, m_dy, m_dx, m_g = NULL, m_b = NULL;
	dnnl_memory_t m_dg = NULL, m_db = NULL;
	const dnnl_dim_t dd[2] = {(dnnl_dim_t)M, (dnnl_dim_t)l->C}, cd[1] = {(dnnl_dim_t)l->C};
	const dnnl_dim_t sd[1] = {(dnnl_dim_t)M};
	rc = dnnl_util_md(&md, 2, dd, dnnl_ab, err);
	if (rc == RB_OK)
		rc = dnnl_util_md(&c_md, 1, cd, dnnl_a, err);
	if (rc == RB_OK)
		rc = dnnl_util_md(&s_md, 1, sd, dnnl_a, err);
	if (rc != RB_OK)
		goto out;
	DNNL_TRY(dnnl_layer_normalization_forward_desc_init(&d, dnnl_forward_training, &md, &s_md,
	                                                    (float)l->epsilon, flags));
	DNNL_TRY(dnnl_primitive_desc_create(&fpd, &d, NULL, t->eng, NULL));
	DNNL_TRY(dnnl_layer_normalization_backward_desc_init(&d, flags != 0 ? dnnl_backward :
	                                                     dnnl_backward_data, &md, &md, &s_md,
	                                                     (float)l->epsilon, flags));
	DNNL_TRY(dnnl_primitive_desc_create(&bpd, &d, NULL, t->eng, fpd));
	rc = mem(&m_src, t, pl, &md, t->act[pi], err);
	if (rc == RB_OK)
		rc = mem(&m_dst, t, pl, &md, t->act[i], err);
	if (rc == RB_OK)
		rc = mem(&m_mean, t, pl, &s_md, t->mean[i], err);
	if (rc == RB_OK)
		rc = mem(&m_var, t, pl, &s_md, t->var[i], err);
	if (rc == RB_OK)
		rc = mem(&m_dy, t, pl, &md, t->dact[i], err);
	if (rc == RB_OK)
		rc = mem(&m_dx, t, pl, &md, dx_target(t, i), err);
	if (rc == RB_OK && w->gamma != NULL)
		rc = mem(&m_g, t, pl, &c_md, fv(t, t->fw, w->gamma), err);
	if (rc == RB_OK && w->beta != NULL)
		rc = mem(&m_b, t, pl, &c_md, fv(t, t->fw, w->beta), err);
	if (rc == RB_OK && w->gamma != NULL)
		rc = mem(&m_dg, t, pl, &c_md, fv(t, t->fg, w->gamma), err);
	if (rc == RB_OK && w->beta != NULL)
		rc = mem(&m_db, t, pl, &c_md, fv(t, t->fg, w->beta), err);
	if (rc == RB_OK)
		rc = prim(&lp->fwd, fpd, err);
	if (rc == RB_OK)
		rc = prim(&lp->bwd, bpd, err);
	if (rc != RB_OK)
		goto out;
	earg(&lp->fwd, DNNL_ARG_SRC, m_src);
	earg(&lp->fwd, DNNL_ARG_DST, m_dst);
	earg(&lp->fwd, DNNL_ARG_MEAN, m_mean);
	earg(&lp->fwd, DNNL_ARG_VARIANCE, m_var);
	earg(&lp->bwd, DNNL_ARG_SRC, m_src);
	earg(&lp->bwd, DNNL_ARG_MEAN, m_mean);
	earg(&lp->bwd, DNNL_ARG_VARIANCE, m_var);
	earg(&lp->bwd, DNNL_ARG_DIFF_DST, m_dy);
	earg(&lp->bwd, DNNL_ARG_DIFF_SRC, m_dx);
	if (m_g != NULL) {
		earg(&lp->fwd, DNNL_ARG_SCALE, m_g);
		earg(&lp->bwd, DNNL_ARG_SCALE, m_g);
		earg(&lp->bwd, DNNL_ARG_DIFF_SCALE, m_dg);
	}
	if (m_b != NULL) {
		earg(&lp->fwd, DNNL_ARG_SHIFT, m_b);
		earg(&lp->bwd, DNNL_ARG_SHIFT, m_b);
		earg(&lp->bwd, DNNL_ARG_DIFF_SHIFT, m_db);
	}
out:
	dnnl_primitive_desc_destroy(fpd);
	dnnl_primitive_desc_destroy(bpd);
	return rc;
}

static enum rb_code build_lstm(struct train_dnnl *t, struct plan *pl, size_t i, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	const struct layer *l = &t->m->layers[i];
	size_t pi = l->inputs[0];
	const struct layer *in = &t->m->layers[pi];
	struct lplan *lp = &pl->lp[i];
	const struct train_view *w = &t->net->wv[i];
	size_t N = pl->B, T = in->T, D = in->C, H = l->C;
	dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
	dnnl_rnn_desc_t rd;
	dnnl_memory_desc_t src_md, dst_md, wl_user, wi_user, wl_any, wi_any, b_md;
	/* NULL until mem()/weights() set them: every use is after rc == RB_OK, which gcc -O3
	 * cannot always see */
	dnnl_memory_t m_src = NULL, m_dst = NULL, m_wlf = NULL, m_wif = NULL, m_wlb = NULL;
	dnnl_memory_t m_wib = NULL, m_b = NULL, m_ws = NULL, m_dx = NULL, m_dwl = NULL;
	dnnl_memory_t m_dwi = NULL, m_db = NULL, m_dy = NULL;
	const dnnl_dim_t src_d[3] = {(dnnl_dim_t)T, (dnnl_dim_t)N, (dnnl_dim_t)D};
	const dnnl_dim_t dst_d[3] = {(dnnl_dim_t)T, (dnnl_dim_t)N, (dnnl_dim_t)H};
	const dnnl_dim_t wl_d[5] = {1, 1, (dnnl_dim_t)D, 4, (dnnl_dim_t)H};
	const dnnl_dim_t wi_d[5] = {1, 1, (dnnl_dim_t)H, 4, (dnnl_dim_t)H};
	const dnnl_dim_t b_d[4] = {1, 1, 4, (dnnl_dim_t)H};
	rc = dnnl_util_md(&src_md, 3, src_d, dnnl_ntc, err);
	if (rc == RB_OK)
		rc = dnnl_util_md(&dst_md, 3, dst_d, dnnl_ntc, err);
	if (rc == RB_OK)
		rc = dnnl_util_md(&wl_user, 5, wl_d, dnnl_ldigo, err);
	if (rc == RB_OK)
		rc = dnnl_util_md(&wi_user, 5, wi_d, dnnl_ldigo, err);
	if (rc == RB_OK)
		rc = dnnl_util_md(&wl_any, 5, wl_d, dnnl_format_tag_any, err);
	if (rc == RB_OK)
		rc = dnnl_util_md(&wi_any, 5, wi_d, dnnl_format_tag_any, err);
	if (rc == RB_OK)
		rc = dnnl_util_md(&b_md, 4, b_d, dnnl_ldgo, err);
	if (rc != RB_OK)
		goto out;
	DNNL_TRY(dnnl_lstm_forward_desc_init(&rd, dnnl_forward_training, dnnl_unidirectional_left2right,
	                                     &src_md, NULL, NULL, &wl_any, &wi_any, &b_md, &dst_md,
	                                     NULL, NULL, 0));
	DNNL_TRY(dnnl_primitive_desc_create(&fpd, &rd, NULL, t->eng, NULL));
	DNNL_TRY(dnnl_lstm_backward_desc_init(&rd, dnnl_backward, dnnl_unidirectional_left2right,
	                                      &src_md, NULL, NULL, &wl_any, &wi_any, &b_md, &dst_md,
	                                      NULL, NULL, &src_md, NULL, NULL, &wl_any, &wi_any, &b_md,
	                                      &dst_md, NULL, NULL, 0));
	DNNL_TRY(dnnl_primitive_desc_create(&bpd, &rd, NULL, t->eng, fpd));
	const dnnl_memory_desc_t *q;
	q = dnnl_primitive_desc_query_md(fpd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER);
	rc = weights(&m_wlf, &lp->re_f[0], NULL, t, pl, &wl_user, fv(t, t->fw, w->kernel), q, 0, err);
	q = dnnl_primitive_desc_query_md(fpd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_ITER);
	if (rc == RB_OK)
		rc = weights(&m_wif, &lp->re_f[1], NULL, t, pl, &wi_user, fv(t, t->fw, w->recurrent), q,
		             0, err);
	q = dnnl_primitive_desc_query_md(bpd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER);
	if (rc == RB_OK)
		rc = weights(&m_wlb, &lp->re_b[0], NULL, t, pl, &wl_user, fv(t, t->fw, w->kernel), q, 0,
		             err);
	q = dnnl_primitive_desc_query_md(bpd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_ITER);
	if (rc == RB_OK)
		rc = weights(&m_wib, &lp->re_b[1], NULL, t, pl, &wi_user, fv(t, t->fw, w->recurrent), q,
		             0, err);
	q = dnnl_primitive_desc_query_md(bpd, dnnl_query_exec_arg_md, DNNL_ARG_DIFF_WEIGHTS_LAYER);
	if (rc == RB_OK)
		rc = weights(&m_dwl, &lp->re_d[0], &lp->zero[0], t, pl, &wl_user,
		             fv(t, t->fg, w->kernel), q, 1, err);
	q = dnnl_primitive_desc_query_md(bpd, dnnl_query_exec_arg_md, DNNL_ARG_DIFF_WEIGHTS_ITER);
	if (rc == RB_OK)
		rc = weights(&m_dwi, &lp->re_d[1], &lp->zero[1], t, pl, &wi_user,
		             fv(t, t->fg, w->recurrent), q, 1, err);
	q = dnnl_primitive_desc_query_md(fpd, dnnl_query_exec_arg_md, DNNL_ARG_WORKSPACE);
	float *seq = t->seq[i] != NULL ? t->seq[i] : t->act[i];
	float *dseq = t->dseq[i] != NULL ? t->dseq[i] : t->dact[i];
	if (rc == RB_OK)
		rc = mem(&m_ws, t, pl, q, NULL, err);
	if (rc == RB_OK)
		rc = mem(&m_src, t, pl, &src_md, t->act[pi], err);
	if (rc == RB_OK)
		rc = mem(&m_dst, t, pl, &dst_md, seq, err);
	if (rc == RB_OK)
		rc = mem(&m_dy, t, pl, &dst_md, dseq, err);
	if (rc == RB_OK)
		rc = mem(&m_dx, t, pl, &src_md, dx_target(t, i), err);
	if (rc == RB_OK)
		rc = mem(&m_b, t, pl, &b_md, w->bias != NULL ? fv(t, t->fw, w->bias) : t->zeros, err);
	if (rc == RB_OK)
		rc = mem(&m_db, t, pl, &b_md, w->bias != NULL ? fv(t, t->fg, w->bias) : t->dzeros, err);
	if (rc == RB_OK)
		rc = prim(&lp->fwd, fpd, err);
	if (rc == RB_OK)
		rc = prim(&lp->bwd, bpd, err);
	if (rc != RB_OK)
		goto out;
	earg(&lp->fwd, DNNL_ARG_SRC_LAYER, m_src);
	earg(&lp->fwd, DNNL_ARG_WEIGHTS_LAYER, m_wlf);
	earg(&lp->fwd, DNNL_ARG_WEIGHTS_ITER, m_wif);
	earg(&lp->fwd, DNNL_ARG_BIAS, m_b);
	earg(&lp->fwd, DNNL_ARG_DST_LAYER, m_dst);
	earg(&lp->fwd, DNNL_ARG_WORKSPACE, m_ws);
	earg(&lp->bwd, DNNL_ARG_SRC_LAYER, m_src);
	earg(&lp->bwd, DNNL_ARG_WEIGHTS_LAYER, m_wlb);
	earg(&lp->bwd, DNNL_ARG_WEIGHTS_ITER, m_wib);
	earg(&lp->bwd, DNNL_ARG_BIAS, m_b);
	earg(&lp->bwd, DNNL_ARG_DST_LAYER, m_dst);
	earg(&lp->bwd, DNNL_ARG_DIFF_DST_LAYER, m_dy);
	earg(&lp->bwd, DNNL_ARG_DIFF_SRC_LAYER, m_dx);
	earg(&lp->bwd, DNNL_ARG_DIFF_WEIGHTS_LAYER, m_dwl);
	earg(&lp->bwd, DNNL_ARG_DIFF_WEIGHTS_ITER, m_dwi);
	earg(&lp->bwd, DNNL_ARG_DIFF_BIAS, m_db);
	earg(&lp->bwd, DNNL_ARG_WORKSPACE, m_ws);
out:
	dnnl_primitive_desc_destroy(fpd);
	dnnl_primitive_desc_destroy(bpd);
	return rc;
}

static void exec_free(struct exec *e)
{
	if (e->prim != NULL)
		dnnl_primitive_destroy(e->prim);
	memset(e, 0, sizeof *e);
}

static void plan_free(struct train_dnnl *t, struct plan *p)
{
	if (p->lp != NULL)
		for (size_t i = 0; i < t->m->n_layers; i++) {
			struct lplan *lp = &p->lp[i];
			exec_free(&lp->fwd);
			exec_free(&lp->fwd_act);
			exec_free(&lp->bwd_act);
			exec_free(&lp->bwd);
			exec_free(&lp->bwd_w);
			for (int k = 0; k < 2; k++) {
				exec_free(&lp->re_f[k]);
				exec_free(&lp->re_b[k]);
				exec_free(&lp->re_d[k]);
			}
		}
	for (size_t k = 0; k < p->n_mems; k++)
		dnnl_memory_destroy(p->mems[k]);
	free(p->lp);
	free(p->mems);
	memset(p, 0, sizeof *p);
}

/* The plan of batch size B: kept, or built (replacing the least recently used). */
static enum rb_code plan_get(struct plan **out, struct train_dnnl *t, size_t B, struct rb_err *err)
{
	struct plan *p = NULL;
	for (size_t k = 0; k < MAX_PLANS; k++)
		if (t->plans[k].B == B) {
			p = &t->plans[k];
			p->used = ++t->clock;
			*out = p;
			return RB_OK;
		}
	p = &t->plans[0];
	for (size_t k = 1; k < MAX_PLANS; k++)
		if (t->plans[k].used < p->used)
			p = &t->plans[k];
	plan_free(t, p);
	const struct model *m = t->m;
	p->cap_mems = 24 * m->n_layers;
	p->lp = calloc(m->n_layers, sizeof *p->lp);
	p->mems = calloc(p->cap_mems, sizeof *p->mems);
	if (p->lp == NULL || p->mems == NULL) {
		plan_free(t, p);
		return rb_err_set(err, RB_E_NOMEM, "oneDNN training: no memory for batch %zu", B);
	}
	p->B = B;
	for (size_t i = 0; i < m->n_layers; i++) {
		enum rb_code rc = RB_OK;
		switch (m->layers[i].kind) {
		case LAYER_DENSE: rc = build_dense(t, p, i, err); break;
		case LAYER_LAYER_NORM: rc = build_layer_norm(t, p, i, err); break;
		case LAYER_LSTM: rc = build_lstm(t, p, i, err); break;
		default: break;
		}
		if (rc != RB_OK) {
			rb_err_prefix(err, "oneDNN training: layer %s, batch %zu", m->layers[i].name, B);
			plan_free(t, p);
			return rc;
		}
	}
	p->used = ++t->clock;
	*out = p;
	return RB_OK;
}

/* ---- lifetime ---- */

int train_dnnl_set_threads(size_t n)
{
	void (*set)(int) = NULL;
	void *self = dlopen(NULL, RTLD_LAZY); /* the global scope: oneDNN's dependencies too */
	void *sym = self != NULL ? dlsym(self, "omp_set_num_threads") : NULL;
	if (self != NULL)
		dlclose(self);
	if (sym == NULL || n < 1)
		return -1;
	memcpy(&set, &sym, sizeof set); /* a data pointer to a function pointer, as POSIX allows */
	set(n > INT_MAX ? INT_MAX : (int)n);
	return 0;
}

void train_dnnl_free(struct train_dnnl *t)
{
	if (t == NULL)
		return;
	for (size_t k = 0; k < MAX_PLANS; k++)
		plan_free(t, &t->plans[k]);
	float **arrays[] = {t->act, t->dact, t->pre, t->dpre, t->mean, t->var, t->seq, t->dseq,
	                    t->noise};
	for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++) {
		if (arrays[a] == NULL)
			continue;
		for (size_t i = 0; i < t->m->n_layers; i++)
			free(arrays[a][i]);
		free(arrays[a]);
	}
	free(t->n_cons);
	free(t->direct);
	free(t->col);
	free(t->fw);
	free(t->fg);
	free(t->dxs);
	free(t->zeros);
	free(t->dzeros);
	free(t->out);
	free(t->dout);
	if (t->strm != NULL)
		dnnl_stream_destroy(t->strm);
	if (t->eng != NULL)
		dnnl_engine_destroy(t->eng);
	free(t);
}

static float *falloc(size_t n) { return malloc((n > 0 ? n : 1) * sizeof(float)); }

enum rb_code train_dnnl_new(struct train_dnnl **out, const struct train_net *net, size_t B_max,
                            struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	RB_ASSERT(out != NULL && net != NULL);
	*out = NULL;
	if (B_max == 0)
		return rb_err_set(err, RB_E_INPUT, "oneDNN training: batch size 0");
	if (B_max > 65536)
		return rb_err_set(err, RB_E_TOO_LARGE, "oneDNN training: batch %zu too large", B_max);
	const struct model *m = net->m;
	size_t L = m->n_layers;
	struct train_dnnl *t = calloc(1, sizeof *t);
	if (t == NULL)
		return rb_err_set(err, RB_E_NOMEM, "oneDNN training: no memory");
	t->net = net;
	t->m = m;
	t->B_max = B_max;
	t->act = calloc(L, sizeof(float *));
	t->dact = calloc(L, sizeof(float *));
	t->pre = calloc(L, sizeof(float *));
	t->dpre = calloc(L, sizeof(float *));
	t->mean = calloc(L, sizeof(float *));
	t->var = calloc(L, sizeof(float *));
	t->seq = calloc(L, sizeof(float *));
	t->dseq = calloc(L, sizeof(float *));
	t->noise = calloc(L, sizeof(float *));
	t->n_cons = calloc(L, sizeof *t->n_cons);
	t->direct = calloc(L, sizeof *t->direct);
	t->fw = falloc(net->n);
	t->fg = falloc(net->n);
	t->in_n = (m->in_T > 0 ? m->in_T : 1) * m->in_C;
	t->out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	t->out = malloc(B_max * t->out_n * sizeof *t->out);
	t->dout = calloc(B_max * t->out_n, sizeof *t->dout);
	if (t->act == NULL || t->dact == NULL || t->pre == NULL || t->dpre == NULL ||
	    t->mean == NULL || t->var == NULL || t->seq == NULL || t->dseq == NULL ||
	    t->noise == NULL || t->n_cons == NULL || t->direct == NULL || t->fw == NULL ||
	    t->fg == NULL ||
	    t->out == NULL || t->dout == NULL)
		goto nomem;
	size_t max_el = 1, max_g = 1, max_c = 1;
	for (size_t i = 0; i < L; i++)
		for (size_t j = 0; j < m->layers[i].n_inputs; j++)
			t->n_cons[m->layers[i].inputs[j]]++;
	for (size_t i = 0; i < L; i++) {
		const struct layer *l = &m->layers[i];
		size_t n = B_max * nel(l);
		enum layer_kind k = l->kind;
		/* A primitive's backward (one input) writes its diff_src whole: in place when it is
		 * the input's only reader and nothing else (the loss) writes that gradient. */
		if ((k == LAYER_DENSE || k == LAYER_LAYER_NORM || k == LAYER_LSTM) &&
		    t->n_cons[l->inputs[0]] == 1 && l->inputs[0] != m->output)
			t->direct[l->inputs[0]] = 1;
		max_c = l->C > max_c ? l->C : max_c;
		if (l->kind == LAYER_INPUT)
			t->in_layer = i;
		max_el = n > max_el ? n : max_el;
		t->act[i] = falloc(n);
		t->dact[i] = falloc(n);
		if (t->act[i] == NULL || t->dact[i] == NULL)
			goto nomem;
		if (l->kind == LAYER_DENSE && l->act != ACT_LINEAR) {
			t->pre[i] = falloc(n);
			t->dpre[i] = falloc(n);
			if (t->pre[i] == NULL || t->dpre[i] == NULL)
				goto nomem;
		}
		if (l->kind == LAYER_LAYER_NORM) {
			t->mean[i] = falloc(B_max * rows(l));
			t->var[i] = falloc(B_max * rows(l));
			if (t->mean[i] == NULL || t->var[i] == NULL)
				goto nomem;
		}
		if (l->kind == LAYER_LSTM) {
			max_g = 4 * l->C > max_g ? 4 * l->C : max_g;
			if (!l->return_sequences) {
				size_t s = B_max * m->layers[l->inputs[0]].T * l->C;
				t->seq[i] = falloc(s);
				t->dseq[i] = falloc(s);
				if (t->seq[i] == NULL || t->dseq[i] == NULL)
					goto nomem;
			}
		}
		if (l->kind == LAYER_DROPOUT || l->kind == LAYER_GAUSSIAN_NOISE) {
			t->noise[i] = falloc(n);
			if (t->noise[i] == NULL)
				goto nomem;
		}
	}
	t->dxs = falloc(max_el);
	t->col = malloc(2 * max_c * sizeof *t->col);
	t->max_units = (max_g + 3) / 4;
	t->zeros = calloc(4 * t->max_units, sizeof(float));
	t->dzeros = calloc(4 * t->max_units, sizeof(float));
	if (t->dxs == NULL || t->col == NULL || t->zeros == NULL || t->dzeros == NULL)
		goto nomem;
	memset(t->fg, 0, net->n * sizeof *t->fg);
	for (size_t k = 0; k < net->n; k++)
		t->fw[k] = (float)net->w[k];
	DNNL_TRY(dnnl_engine_create(&t->eng, dnnl_cpu, 0));
	DNNL_TRY(dnnl_stream_create(&t->strm, t->eng, dnnl_stream_default_flags));
	struct plan *p;
	rc = plan_get(&p, t, B_max, err); /* the common size now: its errors at creation */
	if (rc != RB_OK)
		goto out;
	*out = t;
	return RB_OK;
nomem:
	rc = rb_err_set(err, RB_E_NOMEM, "oneDNN training: no memory for batch %zu", B_max);
out:
	train_dnnl_free(t);
	return rc;
}

/* ---- running ---- */

static enum rb_code run(struct train_dnnl *t, struct exec *e, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	if (e->prim == NULL)
		return RB_OK;
	DNNL_TRY(dnnl_primitive_execute(e->prim, t->strm, e->nargs, e->args));
	DNNL_TRY(dnnl_stream_wait(t->strm));
out:
	return rc;
}

/* Draws every noisy layer's mask or noise in train_ref's order: sample, layer, element. */
static void draw(struct train_dnnl *t, size_t B, uint64_t *rng)
{
	const struct model *m = t->m;
	for (size_t b = 0; b < B; b++)
		for (size_t i = 0; i < m->n_layers; i++) {
			const struct layer *l = &m->layers[i];
			double r = t->net->noise[i];
			size_t n = nel(l);
			float *z = t->noise[i] != NULL ? t->noise[i] + b * n : NULL;
			if (l->kind == LAYER_DROPOUT && r > 0.0) {
				RB_ASSERT(r < 1.0);
				const float keep_or_drop[2] = {(float)(1.0 / (1.0 - r)), 0.0f};
				for (size_t k = 0; k < n; k++) /* a table, not a branch: drops are random */
					z[k] = keep_or_drop[train_rng_unit(rng) < r];
			} else if (l->kind == LAYER_GAUSSIAN_NOISE && r > 0.0) {
				for (size_t k = 0; k < n; k++)
					z[k] = (float)(r * train_rng_normal(rng));
			}
		}
}

static void softmax_rows(float *y, const float *x, size_t M, size_t C)
{
	for (size_t r = 0; r < M; r++) {
		const float *z = x + r * C;
		float *o = y + r * C;
		float mx = z[0];
		double sum = 0.0;
		for (size_t c = 1; c < C; c++)
			mx = z[c] > mx ? z[c] : mx;
		for (size_t c = 0; c < C; c++) {
			o[c] = expf(z[c] - mx);
			sum += o[c];
		}
		for (size_t c = 0; c < C; c++)
			o[c] = (float)(o[c] / sum);
	}
}

static enum rb_code forward_layer(struct train_dnnl *t, struct plan *p, size_t i, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	const struct model *m = t->m;
	const struct layer *l = &m->layers[i];
	const struct train_view *w = &t->net->wv[i];
	struct lplan *lp = &p->lp[i];
	size_t B = p->B, n = B * nel(l);
	float *y = t->act[i];
	const float *x = l->n_inputs > 0 ? t->act[l->inputs[0]] : NULL;
	switch (l->kind) {
	case LAYER_INPUT:
		break;
	case LAYER_DENSE:
		rc = run(t, &lp->fwd, err);
		if (rc == RB_OK)
			rc = run(t, &lp->fwd_act, err);
		if (rc == RB_OK && l->act == ACT_SOFTMAX)
			softmax_rows(y, t->pre[i], B * rows(l), l->C);
		break;
	case LAYER_BATCH_NORM: { /* y = (x - mean) * gamma / sqrt(var + eps) + beta */
		double *scale = t->col, *shift = t->col + l->C;
		for (size_t c = 0; c < l->C; c++) {
			scale[c] = (w->gamma != NULL ? w->gamma[c] : 1.0) / sqrt(w->moving_var[c] + l->epsilon);
			shift[c] = w->beta != NULL ? w->beta[c] : 0.0;
		}
		for (size_t r = 0; r < B * rows(l); r++)
			for (size_t c = 0; c < l->C; c++)
				y[r * l->C + c] = (float)(((double)x[r * l->C + c] - w->moving_mean[c]) *
				                          scale[c] + shift[c]);
		break;
	}
	case LAYER_LAYER_NORM:
		rc = run(t, &lp->fwd, err);
		break;
	case LAYER_DROPOUT:
		for (size_t k = 0; k < n; k++)
			y[k] = t->noisy && t->net->noise[i] > 0.0 ? x[k] * t->noise[i][k] : x[k];
		break;
	case LAYER_GAUSSIAN_NOISE:
		for (size_t k = 0; k < n; k++)
			y[k] = t->noisy && t->net->noise[i] > 0.0 ? x[k] + t->noise[i][k] : x[k];
		break;
	case LAYER_LSTM:
		for (int k = 0; k < 2 && rc == RB_OK; k++)
			rc = run(t, &lp->re_f[k], err);
		if (rc == RB_OK)
			rc = run(t, &lp->fwd, err);
		if (rc == RB_OK && !l->return_sequences) { /* the last step of each sample */
			size_t T = m->layers[l->inputs[0]].T, H = l->C;
			for (size_t b = 0; b < B; b++)
				memcpy(y + b * H, t->seq[i] + (b * T + T - 1) * H, H * sizeof *y);
		}
		break;
	case LAYER_REPEAT_VECTOR:
		for (size_t b = 0; b < B; b++)
			for (size_t r = 0; r < l->repeat; r++)
				memcpy(y + (b * l->repeat + r) * l->C, x + b * l->C, l->C * sizeof *y);
		break;
	case LAYER_CONCATENATE: {
		size_t M = B * rows(l), off = 0;
		for (size_t j = 0; j < l->n_inputs; j++) {
			const float *xj = t->act[l->inputs[j]];
			size_t Cj = m->layers[l->inputs[j]].C;
			for (size_t r = 0; r < M; r++)
				memcpy(y + r * l->C + off, xj + r * Cj, Cj * sizeof *y);
			off += Cj;
		}
		break;
	}
	}
	return rc;
}

enum rb_code train_dnnl_forward(struct train_dnnl *t, const double *in, size_t B, uint64_t *rng,
                                const double **out, struct rb_err *err)
{
	RB_ASSERT(B >= 1 && B <= t->B_max);
	const struct model *m = t->m;
	const struct train_net *net = t->net;
	struct plan *p = NULL;
	enum rb_code rc = plan_get(&p, t, B, err);
	if (rc != RB_OK)
		return rc;
	t->B = B;
	t->noisy = rng != NULL;
	for (size_t k = 0; k < net->n; k++)
		t->fw[k] = (float)net->w[k];
	if (rng != NULL)
		draw(t, B, rng);
	float *x = t->act[t->in_layer];
	for (size_t k = 0; k < B * t->in_n; k++)
		x[k] = (float)in[k];
	for (size_t i = 0; i < m->n_layers && rc == RB_OK; i++) {
		rc = forward_layer(t, p, i, err);
		if (rc != RB_OK)
			rb_err_prefix(err, "layer %s", m->layers[i].name);
	}
	if (rc != RB_OK)
		return rc;
	const float *y = t->act[m->output];
	for (size_t k = 0; k < B * t->out_n; k++)
		t->out[k] = (double)y[k];
	*out = t->out;
	return RB_OK;
}

double train_dnnl_loss_mae(struct train_dnnl *t, const double *target)
{
	RB_ASSERT(t->B >= 1);
	return tr_mae(t->dout, t->out, target, t->B * t->out_n);
}

double *train_dnnl_dout(struct train_dnnl *t) { return t->dout; }

static size_t bias_len(const struct layer *l)
{
	return l->kind == LAYER_LSTM ? 4 * l->units : l->kind == LAYER_DENSE ? l->C : 0;
}

double train_dnnl_loss_reg(const struct train_dnnl *t)
{
	RB_ASSERT(t->B >= 1);
	const struct model *m = t->m;
	const struct train_net *net = t->net;
	double loss = 0.0;
	for (size_t i = 0; i < m->n_layers; i++) {
		if (net->activity_l2[i] != 0.0) {
			double sum = 0.0;
			const float *y = t->act[i];
			for (size_t k = 0; k < t->B * nel(&m->layers[i]); k++)
				sum += (double)y[k] * y[k];
			loss += net->activity_l2[i] * sum / (double)t->B;
		}
		const double *bias = net->wv[i].bias;
		if (net->bias_l2[i] != 0.0 && bias != NULL) {
			double sum = 0.0;
			for (size_t k = 0; k < bias_len(&m->layers[i]); k++)
				sum += bias[k] * bias[k];
			loss += net->bias_l2[i] * sum;
		}
	}
	return loss;
}

/* dact[input] += dxs when layer i's backward wrote its input gradient to the scratch. */
static void add_dx(struct train_dnnl *t, size_t i, size_t B)
{
	size_t pi = t->m->layers[i].inputs[0];
	if (dx_target(t, i) != t->dxs)
		return;
	float *dx = t->dact[pi];
	for (size_t k = 0; k < B * nel(&t->m->layers[pi]); k++)
		dx[k] += t->dxs[k];
}

static enum rb_code backward_layer(struct train_dnnl *t, struct plan *p, size_t i,
                                   struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	const struct model *m = t->m;
	const struct layer *l = &m->layers[i];
	const struct train_view *w = &t->net->wv[i];
	struct lplan *lp = &p->lp[i];
	size_t B = p->B, n = B * nel(l);
	const float *dy = t->dact[i];
	float *dx = l->n_inputs > 0 ? t->dact[l->inputs[0]] : NULL;
	switch (l->kind) {
	case LAYER_INPUT:
		break;
	case LAYER_DENSE:
		rc = run(t, &lp->bwd_act, err);
		if (l->act == ACT_SOFTMAX) {
			const float *y = t->act[i];
			for (size_t r = 0; r < B * rows(l); r++) {
				double dot = 0.0;
				for (size_t c = 0; c < l->C; c++)
					dot += (double)dy[r * l->C + c] * y[r * l->C + c];
				for (size_t c = 0; c < l->C; c++)
					t->dpre[i][r * l->C + c] =
					    (float)(y[r * l->C + c] * (dy[r * l->C + c] - dot));
			}
		}
		if (rc == RB_OK)
			rc = run(t, &lp->bwd, err);
		if (rc == RB_OK)
			rc = run(t, &lp->bwd_w, err);
		if (rc == RB_OK)
			add_dx(t, i, B);
		break;
	case LAYER_BATCH_NORM: {
		float *dg = fv(t, t->fg, w->gamma), *db = fv(t, t->fg, w->beta);
		const float *x = t->act[l->inputs[0]];
		for (size_t c = 0; c < l->C; c++) {
			double rstd = 1.0 / sqrt(w->moving_var[c] + l->epsilon), sg = 0.0, sb = 0.0;
			double gm = w->gamma != NULL ? w->gamma[c] : 1.0;
			for (size_t r = 0; r < B * rows(l); r++) {
				double d = dy[r * l->C + c];
				dx[r * l->C + c] += (float)(d * gm * rstd);
				sg += d * ((double)x[r * l->C + c] - w->moving_mean[c]) * rstd;
				sb += d;
			}
			if (dg != NULL)
				dg[c] = (float)sg;
			if (db != NULL)
				db[c] = (float)sb;
		}
		break;
	}
	case LAYER_LAYER_NORM:
		rc = run(t, &lp->bwd, err);
		if (rc == RB_OK)
			add_dx(t, i, B);
		break;
	case LAYER_DROPOUT:
		for (size_t k = 0; k < n; k++)
			dx[k] += t->noisy && t->net->noise[i] > 0.0 ? dy[k] * t->noise[i][k] : dy[k];
		break;
	case LAYER_GAUSSIAN_NOISE:
		for (size_t k = 0; k < n; k++)
			dx[k] += dy[k];
		break;
	case LAYER_LSTM:
		if (!l->return_sequences) { /* the gradient of the last step only */
			size_t T = m->layers[l->inputs[0]].T, H = l->C;
			memset(t->dseq[i], 0, B * T * H * sizeof(float));
			for (size_t b = 0; b < B; b++)
				memcpy(t->dseq[i] + (b * T + T - 1) * H, dy + b * H, H * sizeof(float));
		}
		for (int k = 0; k < 2 && rc == RB_OK; k++)
			rc = run(t, &lp->re_b[k], err);
		for (int k = 0; k < 2; k++) /* oneDNN accumulates into the diff weights */
			if (lp->zero[k] != NULL) {
				void *h = NULL;
				dnnl_memory_get_data_handle(lp->zero[k], &h);
				const dnnl_memory_desc_t *md = NULL;
				dnnl_memory_get_memory_desc(lp->zero[k], &md);
				memset(h, 0, dnnl_memory_desc_get_size(md));
			}
		if (rc == RB_OK)
			rc = run(t, &lp->bwd, err);
		for (int k = 0; k < 2 && rc == RB_OK; k++)
			rc = run(t, &lp->re_d[k], err);
		if (rc == RB_OK)
			add_dx(t, i, B);
		break;
	case LAYER_REPEAT_VECTOR:
		for (size_t b = 0; b < B; b++)
			for (size_t r = 0; r < l->repeat; r++)
				for (size_t c = 0; c < l->C; c++)
					dx[b * l->C + c] += dy[(b * l->repeat + r) * l->C + c];
		break;
	case LAYER_CONCATENATE: {
		size_t M = B * rows(l), off = 0;
		for (size_t j = 0; j < l->n_inputs; j++) {
			float *dj = t->dact[l->inputs[j]];
			size_t Cj = m->layers[l->inputs[j]].C;
			for (size_t r = 0; r < M; r++)
				for (size_t c = 0; c < Cj; c++)
					dj[r * Cj + c] += dy[r * l->C + off + c];
			off += Cj;
		}
		break;
	}
	}
	return rc;
}

enum rb_code train_dnnl_backward(struct train_dnnl *t, struct train_net *net, double *din,
                                 struct rb_err *err)
{
	RB_ASSERT(net == t->net && t->B >= 1);
	const struct model *m = t->m;
	size_t B = t->B;
	struct plan *p = NULL;
	enum rb_code rc = plan_get(&p, t, B, err);
	if (rc != RB_OK)
		return rc;
	memset(t->fg, 0, net->n * sizeof *t->fg); /* oneDNN's LSTM backward adds into its diffs */
	memset(t->dzeros, 0, 4 * t->max_units * sizeof *t->dzeros);
	for (size_t i = 0; i < m->n_layers; i++) /* the gradients that are summed (+=) */
		if (!t->direct[i])
			memset(t->dact[i], 0, B * nel(&m->layers[i]) * sizeof(float));
	float *dy = t->dact[m->output];
	for (size_t k = 0; k < B * t->out_n; k++)
		dy[k] += (float)t->dout[k];
	for (size_t i = m->n_layers; i-- > 0 && rc == RB_OK;) {
		if (net->activity_l2[i] != 0.0) {
			const float *y = t->act[i];
			float *d = t->dact[i];
			double f = 2.0 * net->activity_l2[i] / (double)B;
			for (size_t k = 0; k < B * nel(&m->layers[i]); k++)
				d[k] += (float)(f * y[k]);
		}
		rc = backward_layer(t, p, i, err);
		if (rc != RB_OK)
			rb_err_prefix(err, "layer %s", m->layers[i].name);
	}
	if (rc != RB_OK)
		return rc;
	for (size_t k = 0; k < net->n; k++)
		net->g[k] += (double)t->fg[k];
	for (size_t i = 0; i < m->n_layers; i++)
		if (net->bias_l2[i] != 0.0 && net->wv[i].bias != NULL)
			for (size_t k = 0; k < bias_len(&m->layers[i]); k++)
				net->gv[i].bias[k] += 2.0 * net->bias_l2[i] * net->wv[i].bias[k];
	if (din != NULL) {
		const float *dx = t->dact[t->in_layer];
		for (size_t k = 0; k < B * t->in_n; k++)
			din[k] = (double)dx[k];
	}
	return RB_OK;
}
