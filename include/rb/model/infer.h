/*
 * infer: runs a loaded model on a batch of samples, by one of four paths.
 *
 * INFER_REFERENCE is the plain-C forward (model_ref.c, double precision, the
 * oracle); INFER_DNNL is the oneDNN fast path (model_dnnl.c), whose
 * primitives and reordered weights are built once in infer_new() and reused
 * for any batch size; INFER_VECTOR is the float32 plain-C forward written for
 * the compiler's vectorizer (model_vec.c), fastest for a few samples;
 * INFER_AUTO (the service's) runs batches of at most INFER_AUTO_VECTOR_MAX
 * samples on the vector path and larger ones on oneDNN. An infer handle
 * belongs to one process and thread: create it after fork.
 */
#ifndef RB_INFER_H
#define RB_INFER_H

#include <stddef.h>

#include "rb/model/model.h"
#include "rb/base/error.h"

/* The inference paths, in the order the config documents them. */
enum infer_path {
	INFER_AUTO,      /* "auto", the service's: vector for small batches, else oneDNN */
	INFER_DNNL,      /* "dnnl" */
	INFER_VECTOR,    /* "vector" */
	INFER_REFERENCE, /* "reference" */
};
#define INFER_PATH_COUNT 4

/* Largest batch INFER_AUTO runs on the vector path (measured crossover, docs/INFERENCE.md). */
#define INFER_AUTO_VECTOR_MAX 16

struct infer;

/*
 * The one table of the paths' names, as the config file, the CLI and /health
 * spell them: infer_path_names[p] names p, in enum order, NULL after the last.
 */
extern const char *const infer_path_names[INFER_PATH_COUNT + 1];

/* 0 and *out when s[0..len) is a path's name (exact, case-sensitive); -1 otherwise, s NULL too. */
int infer_path_parse(const char *s, size_t len, enum infer_path *out);
/* The name of path; a value outside the enum is a programmer error (RB_ASSERT). */
const char *infer_path_name(enum infer_path path);

/* Builds a runner for m (borrowed: must outlive the handle); RB_E_CONFIG for a path not in the
 * enum. */
enum rb_code infer_new(struct infer **out, const struct model *m, enum infer_path path,
                       struct rb_err *err);

/*
 * in: [B, m->in_T, m->in_C] row-major; out: [B, m->out_T, m->out_C].
 * Any B >= 1. Output is finite when input is finite.
 */
enum rb_code infer_run(struct infer *inf, const float *in, size_t B, float *out, struct rb_err *err);

void infer_free(struct infer *inf);

#endif
