/*
 * infer: path dispatch for running a model (see infer.h). Validates the graph
 * once (model_ref_check), then forwards to the oneDNN path (model_dnnl.c), to
 * the float32 vector path (model_vec.c), to both by batch size (auto), or to
 * the double-precision reference (model_ref.c), converting float32 in and out
 * in bounded chunks. No numerics of its own, no oneDNN calls.
 */
#include "rb/model/infer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_dnnl.h"
#include "model_vec.h"
#include "rb/base/assert.h"
#include "rb/base/name_table.h"
#include "rb/model/model_ref.h"

/* Samples converted to double per reference call; bounds its scratch. */
#define REF_CHUNK 16

struct infer {
	enum infer_path path;
	const struct model *m;          /* borrowed */
	struct model_dnnl *dnnl;        /* INFER_DNNL, INFER_AUTO */
	struct model_vec *vec;          /* INFER_VECTOR, INFER_AUTO */
	double *din, *dout;             /* INFER_REFERENCE: REF_CHUNK samples each */
	size_t in_n, out_n;             /* floats per sample */
};

const char *const infer_path_names[INFER_PATH_COUNT + 1] = {
	[INFER_AUTO] = "auto",
	[INFER_DNNL] = "dnnl",
	[INFER_VECTOR] = "vector",
	[INFER_REFERENCE] = "reference",
	[INFER_PATH_COUNT] = NULL,
};

int infer_path_parse(const char *s, size_t len, enum infer_path *out)
{
	long k = name_table_find(infer_path_names, INFER_PATH_COUNT, s, len);
	if (k < 0)
		return -1;
	*out = (enum infer_path)k;
	return 0;
}

const char *infer_path_name(enum infer_path path)
{
	RB_ASSERT((unsigned)path < INFER_PATH_COUNT);
	return infer_path_names[path];
}

enum rb_code infer_new(struct infer **out, const struct model *m, enum infer_path path,
                       struct rb_err *err)
{
	RB_ASSERT(out != NULL);
	*out = NULL;
	if ((unsigned)path >= INFER_PATH_COUNT)
		return rb_err_set(err, RB_E_CONFIG, "unknown inference path %d", (int)path);
	enum rb_code rc = model_ref_check(m, err);
	if (rc != RB_OK) {
		rb_err_prefix(err, "model %s", m != NULL ? m->name : "(null)");
		return rc;
	}
	struct infer *inf = calloc(1, sizeof *inf);
	if (inf == NULL)
		return rb_err_set(err, RB_E_NOMEM, "infer: no memory");
	inf->path = path;
	inf->m = m;
	inf->in_n = (m->in_T > 0 ? m->in_T : 1) * m->in_C;
	inf->out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	if (path == INFER_DNNL || path == INFER_AUTO) {
		rc = model_dnnl_new(&inf->dnnl, m, NULL, err);
		if (rc != RB_OK)
			rb_err_prefix(err, "model %s", m->name);
	}
	if (rc == RB_OK && (path == INFER_VECTOR || path == INFER_AUTO))
		rc = model_vec_new(&inf->vec, m, MODEL_VEC_BEST, err);
	if (path == INFER_REFERENCE) {
		inf->din = malloc(REF_CHUNK * inf->in_n * sizeof *inf->din);
		inf->dout = malloc(REF_CHUNK * inf->out_n * sizeof *inf->dout);
		if (inf->din == NULL || inf->dout == NULL)
			rc = rb_err_set(err, RB_E_NOMEM, "infer: no memory");
	}
	if (rc != RB_OK) {
		infer_free(inf);
		return rc;
	}
	*out = inf;
	return RB_OK;
}

enum rb_code infer_run(struct infer *inf, const float *in, size_t B, float *out, struct rb_err *err)
{
	RB_ASSERT(inf != NULL && in != NULL && out != NULL);
	if (B == 0)
		return rb_err_set(err, RB_E_INPUT, "inference on an empty batch");
	if (B > SIZE_MAX / sizeof(float) / inf->in_n || B > SIZE_MAX / sizeof(float) / inf->out_n)
		return rb_err_set(err, RB_E_TOO_LARGE, "batch of %zu samples is too large", B);
	if (inf->path == INFER_VECTOR || (inf->path == INFER_AUTO && B <= INFER_AUTO_VECTOR_MAX)) {
		model_vec_run(inf->vec, in, B, out);
		return RB_OK;
	}
	if (inf->path == INFER_DNNL || inf->path == INFER_AUTO)
		return model_dnnl_run(inf->dnnl, in, B, out, err);
	for (size_t b = 0; b < B; b += REF_CHUNK) {
		size_t n = B - b < REF_CHUNK ? B - b : REF_CHUNK;
		const float *x = in + b * inf->in_n;
		for (size_t k = 0; k < n * inf->in_n; k++)
			inf->din[k] = (double)x[k];
		enum rb_code rc = model_ref_forward(inf->m, inf->din, n, inf->dout, err);
		if (rc != RB_OK)
			return rc;
		float *y = out + b * inf->out_n;
		for (size_t k = 0; k < n * inf->out_n; k++)
			y[k] = (float)inf->dout[k];
	}
	return RB_OK;
}

void infer_free(struct infer *inf)
{
	if (inf == NULL)
		return;
	model_dnnl_free(inf->dnnl);
	model_vec_free(inf->vec);
	free(inf->din);
	free(inf->dout);
	free(inf);
}
