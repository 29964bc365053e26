/*
 * infer: runs a loaded model on a batch of samples, by one of four paths.
 *
 * INFER_REFERENCE is the plain-C forward (model_ref.c, double precision, the
 * oracle); INFER_DNNL is the oneDNN fast path (model_dnnl.c), whose
 * primitives and reordered weights are built once in infer_new() and reused
 * for any batch size; INFER_VECTOR is the float32 plain-C forward written for
 * the compiler's vectorizer (model_vec.c: sample-major for a few samples,
 * one sample per SIMD lane from a full group); INFER_AUTO (the service's)
 * runs each chunk on the path its model's plan names (infer_plan_measure:
 * measured on this CPU at model load), or without a plan, batches of at most
 * INFER_AUTO_VECTOR_MAX samples on the vector path and larger ones on
 * oneDNN. An infer handle belongs to one process and thread: create it after
 * fork.
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

/* Without a plan: largest batch INFER_AUTO runs on the vector path (the static rule). */
#define INFER_AUTO_VECTOR_MAX 16

/* Chunk sizes a plan covers: 1 .. the engine's chunk (ENGINE_BATCH_WINDOWS); larger go as the largest. */
#define INFER_PLAN_MAX 64
/* Chunk sizes measured; the others are interpolated linearly between their neighbours. */
#define INFER_PLAN_SIZES 13

/* How a plan was decided. */
enum infer_plan_source {
	INFER_PLAN_MEASURED, /* both paths timed on this CPU; the faster per chunk size */
	INFER_PLAN_STATIC,   /* RB_INFER_PLAN=static: the static rule, recorded */
	INFER_PLAN_FORCED,   /* RB_INFER_PLAN=vector or dnnl */
	INFER_PLAN_FALLBACK, /* oneDNN could not be timed (note says why): vector everywhere */
};

/*
 * What INFER_AUTO runs per chunk size, decided once per model at load time.
 * The times are CPU µs per call of the chunk size infer_plan_sizes[k], the
 * best of a few runs, one thread; negative when not measured.
 */
struct infer_plan {
	enum infer_plan_source source;
	unsigned char path[INFER_PLAN_MAX + 1]; /* [B], 1 <= B: INFER_VECTOR or INFER_DNNL; [0] unused */
	double us_vector[INFER_PLAN_SIZES];
	double us_dnnl[INFER_PLAN_SIZES];
	double ms_taken;                        /* wall time the measurement took */
	char note[160];                         /* FALLBACK: why; else empty */
};

extern const size_t infer_plan_sizes[INFER_PLAN_SIZES];

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

/*
 * B windows of one series: window b is rows starts[b] .. starts[b] + m->in_T
 * of rows [n_rows, m->in_C] row-major; out [B, m->out_T, m->out_C]: the
 * answers of infer_run on the sliced windows INFER_PLAN_MAX at a time. On the
 * vector path (and auto's vector chunks) overlapping windows compute the
 * model's row-wise layers once per row (model_vec_run_windows: the same bits
 * lane-major, a float rounding apart for the few run sample-major);
 * elsewhere they are sliced INFER_PLAN_MAX at a time (one buffer kept by the
 * handle), the same bits. RB_E_INPUT for B = 0, a window past n_rows, or a
 * model whose input is a single row (in_T = 0).
 */
enum rb_code infer_run_windows(struct infer *inf, const float *rows, size_t n_rows, const size_t *starts,
                               size_t B, float *out, struct rb_err *err);

void infer_free(struct infer *inf);

/*
 * Decides m->plan (replacing any): by RB_INFER_PLAN when set ("static",
 * "vector", "dnnl"; "measure" or unset: measure). Measuring forks one short
 * probe child (oneDNN objects must not be created in a process that forks
 * workers afterwards) that builds both paths with one OpenMP thread, times
 * them interleaved at infer_plan_sizes and sends the times back through a
 * pipe; ~0.1-0.3 s per model. Call it in the master, single-threaded, after
 * loading the model and before forking the workers, which inherit the plan.
 * When the probe fails, oneDNN errs or is killed (20 s alarm), the plan is
 * FALLBACK (vector everywhere: that path cannot fail on a checked model).
 * RB_E_CONFIG for an unknown RB_INFER_PLAN, RB_E_NOMEM; other failures are
 * not errors.
 */
enum rb_code infer_plan_measure(struct model *m, struct rb_err *err);

/*
 * One line for the log and /health into buf (always NUL-terminated when cap
 * > 0), e.g. "measured: vector 1-64 (dnnl/vector at 64: 1.72x)" or "static:
 * vector 1-16, dnnl 17-64" (no plan); returns the length it needed.
 */
size_t infer_plan_describe(const struct model *m, char *buf, size_t cap);

/* Sets oneDNN's OpenMP to one thread (omp_set_num_threads, found at run time:
 * without OpenMP nothing to set) unless OMP_NUM_THREADS is set: how the workers
 * and the plan's probe run oneDNN. */
void infer_one_openmp_thread(void);

#endif
