/*
 * detector: the detectors' name table, which metric of a series is
 * analysed, and dispatch to a model-free detector by name ("default" and
 * "novelty": the novelty method; "robust"; "iforest-legacy"), filling a
 * struct detection. The rule for the metric
 * (docs/DEFAULT-DETECTOR.md): "monitors" when the rows carry it (the old
 * service's choice), else the request's metric, else the configured default
 * metric when the rows carry it, else the first metric of the first row (the
 * old fallback).
 * Not here: the detectors themselves (core/detect/detector_novelty.c,
 * core/detect/detector_robust.c, core/detect/detector_legacy.c), the deep
 * model, the JSON answer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/base/assert.h"
#include "rb/base/name_table.h"
#include "rb/detect/detector.h"

const char *const detector_kind_names[DETECTOR_KIND_COUNT + 1] = {
	[DETECTOR_KIND_DEFAULT] = DETECTOR_DEFAULT,
	[DETECTOR_KIND_IFOREST_LEGACY] = DETECTOR_LEGACY,
	[DETECTOR_KIND_NOVELTY] = DETECTOR_NOVELTY,
	[DETECTOR_KIND_ROBUST] = DETECTOR_ROBUST,
	[DETECTOR_KIND_COUNT] = NULL,
};

/* The plain-array detector each kind runs (same contract: include/rb/detect/detector.h). */
typedef enum rb_code (*detector_fn)(const double *x, const double *t, size_t n,
                                    double sensitivity, double *expected, double *score,
                                    unsigned char *anomaly, double *threshold,
                                    struct rb_err *err);
static const detector_fn detector_fns[DETECTOR_KIND_COUNT] = {
	[DETECTOR_KIND_DEFAULT] = novelty_detect,
	[DETECTOR_KIND_IFOREST_LEGACY] = legacy_detect,
	[DETECTOR_KIND_NOVELTY] = novelty_detect,
	[DETECTOR_KIND_ROBUST] = robust_detect,
};

double detector_default_sensitivity(enum detector_kind k)
{
	RB_ASSERT((unsigned)k < DETECTOR_KIND_COUNT);
	switch (k) {
	case DETECTOR_KIND_IFOREST_LEGACY:
		return DETECTOR_LEGACY_SENSITIVITY;
	case DETECTOR_KIND_ROBUST:
		return DETECTOR_ROBUST_SENSITIVITY;
	case DETECTOR_KIND_DEFAULT:
	case DETECTOR_KIND_NOVELTY:
		break;
	}
	return DETECTOR_NOVELTY_SENSITIVITY;
}

int detector_kind_parse(const char *s, size_t len, enum detector_kind *out)
{
	long k = name_table_find(detector_kind_names, DETECTOR_KIND_COUNT, s, len);
	if (k < 0)
		return -1;
	*out = (enum detector_kind)k;
	return 0;
}

const char *detector_kind_name(enum detector_kind k)
{
	RB_ASSERT((unsigned)k < DETECTOR_KIND_COUNT);
	return detector_kind_names[k];
}

int detector_known(const char *name)
{
	enum detector_kind k;
	return name == NULL || detector_kind_parse(name, strlen(name), &k) == 0;
}

long detector_pick_column(const struct series *s, const struct detector_opts *opts,
                          struct rb_err *err)
{
	if (s->ncols == 0) {
		rb_err_set(err, RB_E_INPUT, "the data carries no metric to analyse");
		return -1;
	}
	long c = series_col(s, "monitors");
	if (c >= 0)
		return c;
	if (opts->metric != NULL && opts->metric[0] != '\0') {
		c = series_col(s, opts->metric);
		if (c < 0)
			rb_err_set(err, RB_E_INPUT, "metric \"%.64s\" is not in the data", opts->metric);
		return c;
	}
	if (opts->default_metric != NULL && opts->default_metric[0] != '\0') {
		c = series_col(s, opts->default_metric);
		if (c >= 0)
			return c;
	}
	return 0;
}

enum rb_code detector_run(const struct series *s, const struct detector_opts *opts,
                          struct detection *out, struct rb_err *err)
{
	const char *name = opts->name != NULL ? opts->name : DETECTOR_DEFAULT;
	enum detector_kind kind;
	if (detector_kind_parse(name, strlen(name), &kind) != 0) {
		char known[128] = "";
		for (size_t k = 0, o = 0; k < DETECTOR_KIND_COUNT && o < sizeof known; k++) {
			int w = snprintf(known + o, sizeof known - o, "%s%s", k > 0 ? ", " : "",
			                 detector_kind_names[k]);
			o += w > 0 ? (size_t)w : 0;
		}
		return rb_err_set(err, RB_E_INPUT, "unknown detector \"%.64s\" (known: %s)", name,
		                  known);
	}
	double sens = opts->sensitivity;
	if (!isnan(sens) && !(sens >= 0.0 && sens <= 1.0))
		return rb_err_set(err, RB_E_INPUT, "sensitivity must be a number in [0, 1]");
	if (isnan(sens))
		sens = detector_default_sensitivity(kind);
	if (s->n == 0)
		return rb_err_set(err, RB_E_INPUT, "the data has no rows to analyse");
	long c = detector_pick_column(s, opts, err);
	if (c < 0)
		return err != NULL ? err->code : RB_E_INPUT;
	RB_ASSERT((size_t)c < s->ncols);
	enum rb_code rc = detection_init(out, s->n, err);
	if (rc != RB_OK)
		return rc;
	double *x = out->observed; /* filled first, then read by the detector */
	for (size_t i = 0; i < s->n; i++)
		x[i] = s->present[i * s->ncols + (size_t)c] ? s->values[i * s->ncols + (size_t)c] : NAN;
	rc = detector_fns[kind](x, s->t, s->n, sens, out->expected, out->score, out->anomaly,
	                        &out->threshold, err);
	if (rc != RB_OK) {
		detection_release(out);
		return rc;
	}
	snprintf(out->metric, sizeof out->metric, "%s", s->names[c]);
	snprintf(out->model, sizeof out->model, "%s", detector_kind_name(kind));
	return RB_OK;
}
