/*
 * engine: the deep-model detection pipeline (see engine.h). It glues
 * features.c, infer and score.c together and owns the window batching and
 * averaging; it does no arithmetic of its own beyond the per-row mean.
 */
#include "rb/detect/engine.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/features.h"

/* The model's window length and columns, checked against its .ini. */
static enum rb_code check_shapes(const struct model *m, size_t *T, size_t *stride, size_t *C,
                                 struct rb_err *err)
{
	const struct model_spec *sp = &m->spec;
	*T = sp->window_size * sp->num_windows;
	*stride = sp->window_size;
	*C = sp->n_metrics + sp->n_timestamp;
	if (*T == 0 || *stride == 0)
		return rb_err_set(err, RB_E_MODEL, "model %s: window_size and num_windows must be > 0",
		                  m->name);
	if (m->in_T != *T || m->out_T != *T || m->in_C != *C || m->out_C != *C)
		return rb_err_set(err, RB_E_MODEL,
		                  "model %s: shapes in [%zu,%zu] out [%zu,%zu] do not match its .ini "
		                  "(%zu rows of %zu columns)",
		                  m->name, m->in_T, m->in_C, m->out_T, m->out_C, *T, *C);
	return RB_OK;
}

enum rb_code engine_reconstruct(struct infer *inf, const struct model *m, const struct series *s,
                                struct features *f, double **y_out, struct rb_err *err)
{
	size_t T, stride, C;
	*y_out = NULL;
	memset(f, 0, sizeof *f);
	enum rb_code rc = check_shapes(m, &T, &stride, &C, err);
	if (rc != RB_OK)
		return rc;
	if (s->n < T)
		return rb_err_set(err, RB_E_INPUT, "model %s needs at least %zu rows, got %zu",
		                  m->name, T, s->n);
	rc = features_build(f, s, &m->spec, err);
	if (rc != RB_OK)
		return rc;

	size_t n = s->n;
	size_t nw = features_window_count(n, T, stride);
	size_t per = T * C;
	size_t batch = nw < ENGINE_BATCH_WINDOWS ? nw : ENGINE_BATCH_WINDOWS;
	double *y = calloc(n * C, sizeof *y);
	unsigned *cover = calloc(n, sizeof *cover);
	float *rows = malloc(n * C * sizeof *rows);
	float *out = malloc(batch * per * sizeof *out);
	if (y == NULL || cover == NULL || rows == NULL || out == NULL) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory for %zu windows", nw);
		goto fail;
	}
	/* the series once in float; the windows are views of it (infer_run_windows) */
	features_slice(f, 0, n, rows);

	size_t starts[ENGINE_BATCH_WINDOWS];
	for (size_t w0 = 0; w0 < nw; w0 += batch) {
		size_t B = nw - w0 < batch ? nw - w0 : batch;
		for (size_t b = 0; b < B; b++)
			starts[b] = features_window_start(n, T, stride, w0 + b);
		rc = infer_run_windows(inf, rows, n, starts, B, out, err);
		if (rc != RB_OK) {
			rb_err_prefix(err, "model %s", m->name);
			goto fail;
		}
		for (size_t b = 0; b < B; b++) {
			size_t start = starts[b];
			const float *o = out + b * per;
			for (size_t t = 0; t < T; t++) {
				double *row = y + (start + t) * C;
				for (size_t c = 0; c < C; c++)
					row[c] += (double)o[t * C + c];
				cover[start + t]++;
			}
		}
	}
	/*
	 * The mean: every row is covered (features.h), by one window (x / 1 is x), by two
	 * (x / 2 and x * 0.5 are the same real number, both rounded once: the same bits, and a
	 * multiplication, not a division, a long-latency instruction) or by more.
	 */
	for (size_t i = 0; i < n; i++) {
		double *row = y + i * C;
		if (cover[i] == 1)
			continue;
		if (cover[i] == 2) {
			for (size_t c = 0; c < C; c++)
				row[c] *= 0.5;
			continue;
		}
		for (size_t c = 0; c < C; c++)
			row[c] /= (double)cover[i];
	}

	free(cover);
	free(rows);
	free(out);
	*y_out = y;
	return RB_OK;
fail:
	free(y);
	free(cover);
	free(rows);
	free(out);
	features_release(f);
	return rc;
}

/* Index of metric among the model's metric columns (not granularity); -1 if absent. */
static long metric_index(const struct model_spec *sp, const char *metric)
{
	for (size_t c = 0; c < sp->n_metrics; c++)
		if (strcmp(sp->metrics[c], "granularity") != 0 && strcmp(sp->metrics[c], metric) == 0)
			return (long)c;
	return -1;
}

/* RB_E_INPUT naming the metrics model m can analyse. */
static enum rb_code unknown_metric(const struct model *m, const char *metric, struct rb_err *err)
{
	char list[200];
	size_t len = 0;
	list[0] = '\0';
	for (size_t c = 0; c < m->spec.n_metrics; c++) {
		if (strcmp(m->spec.metrics[c], "granularity") == 0)
			continue;
		int k = snprintf(list + len, sizeof list - len, "%s%s", len > 0 ? ", " : "",
		                 m->spec.metrics[c]);
		if (k < 0 || (size_t)k >= sizeof list - len)
			break;
		len += (size_t)k;
	}
	return rb_err_set(err, RB_E_INPUT, "metric '%.40s' is not analysed by model %.40s (one of: %s)",
	                  metric, m->name, list);
}

/*
 * RB_E_INPUT when a metric column of the model is absent from every row: the
 * model would see a made-up 0 for a whole column (e.g. a bytes-only series
 * sent to the 11-metric traffic model), and its answer would mean nothing.
 */
static enum rb_code check_columns_present(const struct model *m, const struct series *s,
                                          struct rb_err *err)
{
	char list[160];
	size_t len = 0, missing = 0;
	list[0] = '\0';
	for (size_t c = 0; c < m->spec.n_metrics; c++) {
		const char *name = m->spec.metrics[c];
		if (strcmp(name, "granularity") == 0)
			continue;
		int found = 0;
		for (size_t k = 0; k < s->ncols && !found; k++)
			found = strcmp(s->names[k], name) == 0;
		if (found)
			continue;
		missing++;
		if (len < sizeof list - 1) {
			int w = snprintf(list + len, sizeof list - len, "%s%s", len > 0 ? ", " : "", name);
			if (w > 0)
				len += (size_t)w;
			if (len > sizeof list - 1)
				len = sizeof list - 1; /* truncated; snprintf kept the NUL */
		}
	}
	if (missing == 0)
		return RB_OK;
	return rb_err_set(err, RB_E_INPUT, "model %.40s needs %zu metric(s) absent from the data: %s",
	                  m->name, missing, list);
}

enum rb_code engine_run_model_opts(struct infer *inf, const struct model *m,
                                   const struct series *s, const char *metric,
                                   const struct score_options *opt, struct detection *out,
                                   struct rb_err *err)
{
	memset(out, 0, sizeof *out);
	long mc = metric_index(&m->spec, metric);
	if (mc < 0)
		return unknown_metric(m, metric, err);
	enum rb_code rc0 = check_columns_present(m, s, err);
	if (rc0 != RB_OK)
		return rc0;

	struct features f;
	double *y = NULL;
	double *centre = NULL;
	enum rb_code rc = engine_reconstruct(inf, m, s, &f, &y, err);
	if (rc != RB_OK)
		return rc;
	rc = detection_init(out, s->n, err);
	if (rc != RB_OK)
		goto done;
	centre = calloc(m->spec.n_metrics, sizeof *centre);
	if (centre == NULL) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory for scores");
		goto done;
	}
	rc = score_rows(&m->spec, f.x, y, s->n, f.C, opt, out->score, out->anomaly, centre,
	                &out->threshold, err);
	if (rc != RB_OK)
		goto done;

	long sc = -1;
	for (size_t c = 0; c < s->ncols; c++)
		if (strcmp(s->names[c], metric) == 0)
			sc = (long)c;
	for (size_t i = 0; i < s->n; i++) {
		out->expected[i] = features_descale(y[i * f.C + (size_t)mc] + centre[mc]);
		out->observed[i] = (sc >= 0 && s->present[i * s->ncols + (size_t)sc])
		                           ? s->values[i * s->ncols + (size_t)sc]
		                           : NAN;
		if (!isfinite(out->score[i])) { /* only if the model produced NaN */
			rc = rb_err_set(err, RB_E_INTERNAL, "model %s produced a non-finite output",
			                m->name);
			goto done;
		}
	}
	snprintf(out->metric, sizeof out->metric, "%s", metric);
	snprintf(out->model, sizeof out->model, "%s", m->name);
done:
	if (rc != RB_OK)
		detection_release(out);
	free(centre);
	free(y);
	features_release(&f);
	return rc;
}

enum rb_code engine_run_model(struct infer *inf, const struct model *m, const struct series *s,
                              const char *metric, struct detection *out, struct rb_err *err)
{
	return engine_run_model_opts(inf, m, s, metric, NULL, out, err);
}
