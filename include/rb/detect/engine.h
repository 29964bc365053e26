/*
 * engine: the deep-model detector from a parsed series to a detection:
 * features -> windows -> infer_run -> overlapping windows averaged per row ->
 * score -> detection of one analysed metric. Not the model loading, the
 * inference kernels or the JSON answer.
 */
#ifndef RB_ENGINE_H
#define RB_ENGINE_H

#include "rb/detect/detection.h"
#include "rb/model/infer.h"
#include "rb/model/model.h"
#include "rb/base/error.h"
#include "rb/detect/score.h"
#include "rb/input/series.h"

/* Windows per infer_run call: caps the batch buffers at 2 * 64 * T * C floats. */
#define ENGINE_BATCH_WINDOWS 64

/*
 * Runs model m (through the runner inf, built for m) on s and fills out for
 * the analysed metric, which must be one of the model's metric columns
 * (RB_E_INPUT listing them otherwise). A model metric column absent from
 * every row of s -> RB_E_INPUT naming it (a missing value in some rows is
 * fine: it counts as 0, CONTRACT §4). Fewer rows than one window (T =
 * window_size * num_windows) -> RB_E_INPUT "needs at least T rows, got N".
 * RB_E_MODEL when the model's shapes do not match its .ini. out is
 * initialised here (detection_init); on failure it is left released.
 * expected[i] is the reconstruction of the metric at row i, shifted by the
 * request's median residual under SCORE_CENTRED (docs/DETECTION.md).
 */
enum rb_code engine_run_model(struct infer *inf, const struct model *m, const struct series *s,
                              const char *metric, struct detection *out, struct rb_err *err);

/* The same with explicit scoring options (NULL = defaults). */
enum rb_code engine_run_model_opts(struct infer *inf, const struct model *m,
                                   const struct series *s, const char *metric,
                                   const struct score_options *opt, struct detection *out,
                                   struct rb_err *err);

/*
 * The model's averaged reconstruction, for tests and tools: y[s->n * C] in
 * the rescaled space (C = spec n_metrics + n_timestamp), each row the mean
 * over the windows covering it; f is built and owned by the caller
 * afterwards (features_release). Same errors as engine_run_model except the
 * metric checks (absent columns are zeros here, as in the upstream pipeline).
 */
struct features;
enum rb_code engine_reconstruct(struct infer *inf, const struct model *m, const struct series *s,
                                struct features *f, double **y_out, struct rb_err *err);

#endif
