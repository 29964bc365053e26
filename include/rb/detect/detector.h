/*
 * detector: the model-free detectors used when a request names no model.
 *
 * detector_run() picks the metric to analyse from a parsed series and runs
 * one detector by name over it, filling a struct detection for every row:
 *   "default"         what is rare for this series relative to its earlier
 *                     rows: conformal counts with a dead band, onsets only
 *                     (docs/DEFAULT-DETECTOR.md; novelty_detect);
 *   "novelty"         the same method under its own name (the name it had
 *                     while it was opt-in; answers name it "novelty");
 *   "robust"          robust seasonal baseline + robust z-score, the default
 *                     before issue 12 (robust_detect), kept by name;
 *   "iforest-legacy"  the old service's smoothing + IsolationForest
 *                     (CONTRACT §6), kept as an option and as the baseline.
 * The lower-level entry points below work on plain arrays; they are what
 * the tests, the benchmarks and detector_run() share.
 *
 * Not here: the deep model (include/rb/model/infer.h), the JSON answer
 * (include/rb/answer/response.h), request parsing (include/rb/input/series.h).
 */
#ifndef RB_DETECTOR_H
#define RB_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "rb/detect/detection.h"
#include "rb/base/error.h"
#include "rb/input/series.h"

/* The detectors' names, their one spelling (detector_kind_names is made of these). */
#define DETECTOR_DEFAULT "default"
#define DETECTOR_LEGACY "iforest-legacy"
#define DETECTOR_NOVELTY "novelty"
#define DETECTOR_ROBUST "robust"

/* The model-free detectors (the config's detector key, a request's detector field, --detector). */
enum detector_kind {
	DETECTOR_KIND_DEFAULT,        /* DETECTOR_DEFAULT */
	DETECTOR_KIND_IFOREST_LEGACY, /* DETECTOR_LEGACY */
	DETECTOR_KIND_NOVELTY,        /* DETECTOR_NOVELTY: the default's method */
	DETECTOR_KIND_ROBUST,         /* DETECTOR_ROBUST */
};
#define DETECTOR_KIND_COUNT 4

/* The one name table: detector_kind_names[k] names k, in enum order, NULL after the last. */
extern const char *const detector_kind_names[DETECTOR_KIND_COUNT + 1];

/* 0 and *out when s[0..len) is a detector's name (exact, case-sensitive); -1 otherwise. */
int detector_kind_parse(const char *s, size_t len, enum detector_kind *out);
/* The name of k; a value outside the enum is a programmer error (RB_ASSERT). */
const char *detector_kind_name(enum detector_kind k);

/* Sensitivity of the legacy detector when none is given (the old service's value). */
#define DETECTOR_LEGACY_SENSITIVITY 0.95
/* Sensitivity of the robust detector when none is given (chosen on dev data, see docs). */
#define DETECTOR_ROBUST_SENSITIVITY 0.5
/* Sensitivity of the novelty method (default, novelty) when none is given (a sweep, see docs). */
#define DETECTOR_NOVELTY_SENSITIVITY 0.75
/* The sensitivity detector_run uses for kind k when the request and config give none. */
double detector_default_sensitivity(enum detector_kind k);

struct detector_opts {
	const char *name;           /* one of detector_kind_names; NULL = the default */
	const char *metric;         /* the request's metric, may be NULL */
	const char *default_metric; /* the configured default metric, may be NULL */
	double sensitivity;         /* in [0, 1], larger flags more; NAN = the detector's default */
};

/*
 * Chooses the analysed column of s: "monitors" when the rows carry it, else
 * opts->metric (RB_E_INPUT when named but carried by no row), else
 * opts->default_metric when the rows carry it, else the first metric seen.
 * Returns the column index, or -1 with err set (RB_E_INPUT) when s has no
 * metric at all or the named one is absent.
 */
long detector_pick_column(const struct series *s, const struct detector_opts *opts,
                          struct rb_err *err);

/* 1 when name (NUL-terminated) is a detector this module runs (NULL counts as the default). */
int detector_known(const char *name);

/*
 * Runs the named detector over the chosen metric of s. out must be zeroed
 * (or released); on RB_OK it holds n = s->n rows (detection_init), finite
 * expected and score, and the names of metric and detector; the caller
 * releases it with detection_release(). On failure out holds no memory.
 * Errors: RB_E_INPUT (no rows, no such metric, unknown detector name,
 * sensitivity outside [0, 1]), RB_E_NOMEM.
 */
enum rb_code detector_run(const struct series *s, const struct detector_opts *opts,
                          struct detection *out, struct rb_err *err);

/* ---- plain-array detectors (x[i] NAN = missing; t[i] seconds, any order) ---- */

/*
 * Robust detector (core/detect/detector_robust.c). Writes expected[n] (finite),
 * score[n] (finite, >= 0; 0 for missing rows), anomaly[n] (0/1; 0 for missing
 * rows) and *threshold (a row is flagged when score > threshold). Works for
 * any n >= 0, O(n log n) time, O(n) memory. RB_E_NOMEM is its only failure.
 */
enum rb_code robust_detect(const double *x, const double *t, size_t n, double sensitivity,
                           double *expected, double *score, unsigned char *anomaly,
                           double *threshold, struct rb_err *err);

/* The robust z-score threshold k used by robust_detect for a sensitivity in [0, 1]. */
double robust_threshold(double sensitivity);

/*
 * Novelty detector, the default (core/detect/detector_novelty.c). Same contract as
 * robust_detect, except that anomaly[] holds only the onset of each run of
 * rows with score >= threshold (and not within the refractory period of
 * the previous flag unless it escalates), so some rows above the threshold
 * are not flagged.
 * score = -log10 of the row's conformal p-value (capped by the seen-count
 * rule), threshold = -log10(eps). O(n log n) time, O(n) memory; RB_E_NOMEM
 * is its only failure.
 */
enum rb_code novelty_detect(const double *x, const double *t, size_t n, double sensitivity,
                            double *expected, double *score, unsigned char *anomaly,
                            double *threshold, struct rb_err *err);

/*
 * The novelty detector's operating point for a sensitivity in [0, 1] (NAN =
 * its default): *eps, the largest conformal p-value flagged, and *kmax, the
 * most earlier rows at least as extreme that a flagged row may have.
 */
void novelty_params(double sensitivity, double *eps, double *kmax);

/*
 * The old service's smoothing (core/detect/smooth_legacy.c): centred kernel
 * [1..h, h^2/4, h..1]/sum, w = max(int(0.05 n), min(n, int(5 + ln n))) made
 * odd, h = w / 2, edges padded by repetition. x must be finite; out[n] may
 * not alias x. With h = 0 (n = 1) out = x (the old code divided by zero
 * there). O(n) time and n + 2h + 1 doubles of scratch for any h; the old
 * direct sum (tests/oracle/smooth_legacy_ref.c) to within rounding (the
 * bound is in tests/test_smooth_legacy.c). RB_E_NOMEM is its only failure.
 */
enum rb_code smooth_legacy(const double *x, size_t n, double *out, struct rb_err *err);
/* The same kernel with a given half-width h (any h >= 0, also h >= n). */
enum rb_code smooth_legacy_h(const double *x, size_t n, size_t h, double *out,
                             struct rb_err *err);
/* The half-width h the legacy kernel uses for n rows. */
size_t smooth_legacy_halfwidth(size_t n);

/* IsolationForest parameters (core/detect/iforest.c). */
struct iforest_params {
	size_t trees;        /* number of trees (legacy: 100) */
	size_t max_samples;  /* subsample size cap (legacy: 256); min(max_samples, n) is used */
	uint64_t seed;       /* PRNG seed (legacy: 42); same seed, same forest */
};

/*
 * Fits an isolation forest on the n rows of X (row-major [n][d], finite) and
 * writes each row's anomaly score 2^(-E[h(x)]/c(psi)) in (0, 1] to score[n]
 * (sklearn's -score_samples). With one row (psi = 1, c = 0, undefined) the
 * score is 0.5, "nothing to tell". Deterministic for a seed. RB_E_NOMEM only.
 */
enum rb_code iforest_score(const double *X, size_t n, size_t d, const struct iforest_params *p,
                           double *score, struct rb_err *err);

/*
 * numpy.percentile(v, q) with linear interpolation, q in [0, 100]; v[n] is
 * sorted in place. n must be >= 1.
 */
double iforest_percentile(double *v, size_t n, double q);

/*
 * The old default detector (core/detect/detector_legacy.c): smoothing, the five
 * features of CONTRACT §6, a 100-tree forest seeded 42, contamination 0.01
 * and the offset moved to sensitivity*(1+offset)-1. Missing values are
 * filled by linear interpolation between their finite neighbours for the
 * smoothing and never flagged. expected = smoothed, score = forest score,
 * *threshold = -(moved offset). RB_E_NOMEM only.
 */
enum rb_code legacy_detect(const double *x, const double *t, size_t n, double sensitivity,
                           double *expected, double *score, unsigned char *anomaly,
                           double *threshold, struct rb_err *err);

#endif
