/*
 * score: per-row anomaly scores and the threshold of the deep model (rules in
 * score.h, reasoning in docs/DETECTION.md). Pure arithmetic on rescaled
 * features; not the model run or the feature building.
 */
#include "score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int score_rule_parse(const char *text, enum score_rule *out)
{
	if (text == NULL)
		return -1;
	if (strcmp(text, "centred") == 0 || strcmp(text, "centered") == 0) {
		*out = SCORE_CENTRED;
		return 0;
	}
	if (strcmp(text, "legacy") == 0) {
		*out = SCORE_LEGACY;
		return 0;
	}
	return -1;
}

const char *score_rule_name(enum score_rule rule)
{
	return rule == SCORE_LEGACY ? "legacy" : "centred";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double score_median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	if (n % 2 == 1)
		return v[n / 2];
	return 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int stat_ok(double v)
{
	return isfinite(v) && v >= 0.0;
}

/* The threshold of the rule for this spec; RB_E_MODEL when its statistics are unusable. */
static enum rb_code threshold_for(const struct model_spec *spec, const struct score_options *opt,
                                  size_t d, double *threshold, struct rb_err *err)
{
	double k = opt->sigma;
	if (opt->rule == SCORE_LEGACY || !spec->has_score_stats) {
		if (!stat_ok(spec->avg_loss) || !stat_ok(spec->std_loss))
			return rb_err_set(err, RB_E_MODEL,
			                  "model .ini: avg_loss/std_loss must be finite and >= 0");
	}
	if (opt->rule == SCORE_LEGACY) {
		if (!(k > 0.0))
			k = SCORE_LEGACY_SIGMA;
		*threshold = spec->avg_loss + k * spec->std_loss;
		return RB_OK;
	}
	if (spec->has_score_stats) {
		if (!stat_ok(spec->score_mean) || !stat_ok(spec->score_std))
			return rb_err_set(err, RB_E_MODEL,
			                  "model .ini: score_mean/score_std must be finite and >= 0");
		if (!(k > 0.0))
			k = spec->threshold_sigma > 0.0 && isfinite(spec->threshold_sigma)
			            ? spec->threshold_sigma
			            : SCORE_DEFAULT_SIGMA_STATS;
		*threshold = spec->score_mean + k * spec->score_std;
		return RB_OK;
	}
	if (!(k > 0.0))
		k = SCORE_DEFAULT_SIGMA_OLD_INI;
	*threshold = spec->avg_loss + k * spec->std_loss / sqrt((double)d);
	return RB_OK;
}

enum rb_code score_rows(const struct model_spec *spec, const double *x, const double *y,
                        size_t n, size_t C, const struct score_options *opt, double *score,
                        unsigned char *flag, double *centre, double *threshold,
                        struct rb_err *err)
{
	static const struct score_options defaults = {SCORE_CENTRED, 0.0};
	if (opt == NULL)
		opt = &defaults;
	size_t d = spec->n_metrics;
	if (n == 0 || d == 0 || d > C)
		return rb_err_set(err, RB_E_MODEL, "score: %zu scored columns of %zu, %zu rows",
		                  d, C, n);
	enum rb_code rc = threshold_for(spec, opt, d, threshold, err);
	if (rc != RB_OK)
		return rc;

	if (opt->rule == SCORE_LEGACY) {
		memset(centre, 0, d * sizeof *centre);
		for (size_t i = 0; i < n; i++) {
			double worst = 0.0;
			for (size_t c = 0; c < C; c++) {
				double l = fabs(x[i * C + c] - y[i * C + c]);
				if (l > worst)
					worst = l;
			}
			score[i] = worst;
			flag[i] = worst > *threshold;
		}
		return RB_OK;
	}

	double *col = malloc(n * sizeof *col);
	if (col == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory for %zu scores", n);
	for (size_t c = 0; c < d; c++) {
		for (size_t i = 0; i < n; i++)
			col[i] = x[i * C + c] - y[i * C + c];
		centre[c] = score_median(col, n);
	}
	free(col);
	for (size_t i = 0; i < n; i++) {
		double sum = 0.0;
		for (size_t c = 0; c < d; c++)
			sum += fabs(x[i * C + c] - y[i * C + c] - centre[c]);
		score[i] = sum / (double)d;
		flag[i] = score[i] > *threshold;
	}
	return RB_OK;
}
