/*
 * score: turns the deep model's reconstruction into a per-row anomaly score
 * and a threshold (CONTRACT §5; the why is in docs/DETECTION.md).
 *
 * Inputs are n rows of C columns in the rescaled space: x (the features the
 * model saw) and y (its reconstruction, overlapping windows averaged). Only
 * the first d = spec->n_metrics columns (the metrics and granularity) are
 * scored; the timestamp columns are inputs the model echoes, and with the
 * weekday quirk the dropped day's columns are always "wrong".
 *
 * SCORE_CENTRED (default): r[i][c] = x - y; m[c] = median over the rows of
 *   r[.][c] (the model's common bias on this request); score[i] = mean over
 *   the d columns of |r[i][c] - m[c]|. Threshold: with the model's own score
 *   statistics (spec->has_score_stats) score_mean + k * score_std, k =
 *   spec->threshold_sigma unless overridden; with an old .ini only the
 *   per-element avg_loss / std_loss are known, and the threshold is
 *   avg_loss + k * std_loss / sqrt(d), k = 3 unless overridden (the k-sigma
 *   bound of a mean of d independent per-element losses).
 * SCORE_LEGACY: the old service's rule, to reproduce it: score[i] = max over
 *   all C columns of |x - y|, threshold avg_loss + k * std_loss, k = 5.
 * A row is an anomaly when score > threshold.
 */
#ifndef RB_SCORE_H
#define RB_SCORE_H

#include <stddef.h>

#include "rb/model/model.h"
#include "rb/base/error.h"

enum score_rule {
	SCORE_CENTRED, /* "centred", the default: median-centred mean absolute residual, k-sigma */
	SCORE_LEGACY,  /* "legacy", old: any per-element loss over avg_loss + 5 std_loss */
};
#define SCORE_RULE_COUNT 2

#define SCORE_DEFAULT_SIGMA_OLD_INI 3.0 /* k for old .ini files (per-element statistics) */
#define SCORE_DEFAULT_SIGMA_STATS 3.0   /* k for our .ini files without threshold_sigma */
#define SCORE_LEGACY_SIGMA 5.0          /* k of the old rule */

struct score_options {
	enum score_rule rule;
	double sigma; /* k of k-sigma; <= 0 means the rule's default (see above) */
};

/* The one name table (--threshold-rule): score_rule_names[r] names r, in enum order, then NULL. */
extern const char *const score_rule_names[SCORE_RULE_COUNT + 1];

/*
 * 0 and *out when s[0..len) is a rule's name, or "centered" (the one other
 * spelling, taken as SCORE_CENTRED); -1 otherwise (s may be NULL).
 */
int score_rule_parse(const char *s, size_t len, enum score_rule *out);
/* The name of rule; a value outside the enum is a programmer error (RB_ASSERT). */
const char *score_rule_name(enum score_rule rule);

/*
 * Scores n rows (n >= 1) of C >= spec->n_metrics columns. Fills score[n],
 * flag[n] (0/1), centre[spec->n_metrics] (m[c]; zeros under SCORE_LEGACY)
 * and *threshold. opt NULL means the defaults. Scores are finite when x and
 * y are. RB_E_NOMEM; RB_E_MODEL when the spec's statistics are unusable
 * (negative or not finite).
 */
enum rb_code score_rows(const struct model_spec *spec, const double *x, const double *y,
                        size_t n, size_t C, const struct score_options *opt, double *score,
                        unsigned char *flag, double *centre, double *threshold,
                        struct rb_err *err);

/* Median of v[n] (n >= 1); reorders v. Mean of the two middle values when n is even. */
double score_median(double *v, size_t n);

#endif
