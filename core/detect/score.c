/*
 * score: per-row anomaly scores and the threshold of the deep model (rules in
 * score.h, reasoning in docs/DETECTION.md). Pure arithmetic on rescaled
 * features; not the model run or the feature building.
 */
#include "rb/detect/score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rb/base/assert.h"
#include "rb/base/name_table.h"

const char *const score_rule_names[SCORE_RULE_COUNT + 1] = {
	[SCORE_CENTRED] = "centred",
	[SCORE_LEGACY] = "legacy",
	[SCORE_RULE_COUNT] = NULL,
};

int score_rule_parse(const char *s, size_t len, enum score_rule *out)
{
	long k = name_table_find(score_rule_names, SCORE_RULE_COUNT, s, len);
	if (k >= 0) {
		*out = (enum score_rule)k;
		return 0;
	}
	if (s != NULL && len == 8 && memcmp(s, "centered", 8) == 0) {
		*out = SCORE_CENTRED;
		return 0;
	}
	return -1;
}

const char *score_rule_name(enum score_rule rule)
{
	RB_ASSERT((unsigned)rule < SCORE_RULE_COUNT);
	return score_rule_names[rule];
}

static void swap_d(double *v, size_t a, size_t b)
{
	double t = v[a];
	v[a] = v[b];
	v[b] = t;
}

/*
 * Reorders v[n] (n >= 1, no NaN) so that v[k] is the k-th smallest (0-based),
 * v[i] <= v[k] for i < k and v[i] >= v[k] for i > k: quickselect with Hoare
 * partitioning around a median of three, insertion sort for short ranges.
 * O(n) expected time.
 */
static void select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (hi > lo) {
		if (hi - lo < 16) {
			for (size_t i = lo + 1; i <= hi; i++) {
				double x = v[i];
				size_t j = i;
				while (j > lo && v[j - 1] > x) {
					v[j] = v[j - 1];
					j--;
				}
				v[j] = x;
			}
			return;
		}
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < v[lo])
			swap_d(v, mid, lo);
		if (v[hi] < v[lo])
			swap_d(v, hi, lo);
		if (v[hi] < v[mid])
			swap_d(v, hi, mid);
		double pivot = v[mid];
		/* Invariant: v[lo .. i) <= pivot, v(j .. hi] >= pivot. */
		size_t i = lo, j = hi;
		for (;;) {
			while (i <= hi && v[i] < pivot)
				i++;
			while (j > lo && v[j] > pivot)
				j--;
			if (i >= j)
				break;
			swap_d(v, i, j);
			i++;
			j--;
		}
		/* Now v[lo .. j] <= pivot <= v[j + 1 .. hi] (and j < hi). */
		if (k <= j)
			hi = j;
		else
			lo = j + 1;
	}
}

double score_median(double *v, size_t n)
{
	RB_ASSERT(n >= 1);
	size_t k = n / 2;
	select_kth(v, n, k);
	if (n % 2 == 1)
		return v[k];
	/* v[0 .. k) holds the k smallest: the lower middle is their largest. */
	double lower = v[0];
	for (size_t i = 1; i < k; i++)
		if (v[i] > lower)
			lower = v[i];
	return 0.5 * (lower + v[k]);
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
	RB_ASSERT((unsigned)opt->rule < SCORE_RULE_COUNT);
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
