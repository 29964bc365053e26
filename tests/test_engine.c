/*
 * test_engine: the deep-model pipeline end to end with the upstream traffic
 * model. Proves: the model's output on the golden stride-16 slices matches
 * the float64 golden output on both inference paths (tolerance below); the
 * engine's per-row average equals the mean of the covering windows; on
 * outliers_test_data.json the reference and oneDNN paths agree and the
 * centred score flags a few rows (including the 09:27 spike) while the
 * legacy rule flags every row; on our sample the 10:55 spike is flagged;
 * errors for an unknown metric, model columns absent from the data (the
 * bytes-only shallow sample) and too few rows.
 */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "rb/detect/engine.h"
#include "rb/detect/features.h"
#include "testutil.h"

/* Model output vs the float64 golden output of the same weights: float32 arithmetic
 * (measured max 3.3e-8 reference, 3.8e-7 dnnl). */
#define GOLDEN_TOL 1e-5
/* dnnl vs reference on a whole request (measured 2e-8 on scores, 2.3e-6 relative on expected). */
#define PATHS_SCORE_TOL 1e-6
#define PATHS_EXPECTED_REL 1e-4

static struct series *load_series(const char *path)
{
	size_t len;
	char *text = tu_read_file(path, &len);
	struct series *s = NULL;
	struct rb_err err = {RB_OK, ""};
	CHECKF(series_parse(&s, text, len, NULL, &err) == RB_OK, "%s: %s", path, err.msg);
	free(text);
	return s;
}

static double max_golden_diff(struct infer *inf, const char *golden_path, struct model *m)
{
	json_error_t jerr;
	json_t *g = json_load_file(tu_shared(golden_path), 0, &jerr); /* new */
	CHECKF(g != NULL, "%s", jerr.text);
	json_t *slices = json_object_get(g, "slices"), *outs = json_object_get(g, "output");
	size_t B = json_array_size(slices), per = m->in_T * m->in_C;
	CHECK(B >= 1 && json_array_size(outs) == B);
	float *in = malloc(B * per * sizeof *in), *out = malloc(B * per * sizeof *out);
	CHECK(in != NULL && out != NULL);
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < m->in_T; t++)
			for (size_t c = 0; c < m->in_C; c++)
				in[(b * m->in_T + t) * m->in_C + c] = (float)json_number_value(
				        json_array_get(json_array_get(json_array_get(slices, b), t), c));
	struct rb_err err = {RB_OK, ""};
	CHECKF(infer_run(inf, in, B, out, &err) == RB_OK, "%s", err.msg);
	double worst = 0;
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < m->out_T; t++)
			for (size_t c = 0; c < m->out_C; c++) {
				double want = json_number_value(
				        json_array_get(json_array_get(json_array_get(outs, b), t), c));
				double d = fabs(out[(b * m->out_T + t) * m->out_C + c] - want);
				if (d > worst)
					worst = d;
			}
	free(in);
	free(out);
	json_decref(g);
	return worst;
}

/* Row i averaged by the engine equals the mean of the golden outputs covering it. */
static void check_average(struct infer *inf, struct model *m, struct series *s)
{
	json_error_t jerr;
	json_t *g = json_load_file(tu_shared("upstream/golden/pipeline_outliers_test_data.json"), 0,
	                           &jerr); /* new */
	CHECK(g != NULL);
	json_t *outs = json_object_get(g, "output"); /* borrowed: windows at 0 and 16 */
	struct features f;
	double *y = NULL;
	struct rb_err err = {RB_OK, ""};
	CHECKF(engine_reconstruct(inf, m, s, &f, &y, &err) == RB_OK, "%s", err.msg);
	CHECK(f.n == 60 && f.C == 20);
	/* rows 0..15: window 0 only; rows 16..27: windows 0 and 1 (28..31 also see the tail window) */
	for (size_t i = 0; i < 28; i++)
		for (size_t c = 0; c < 20; c++) {
			double w0 = json_number_value(
			        json_array_get(json_array_get(json_array_get(outs, 0), i), c));
			double want = w0;
			if (i >= 16)
				want = 0.5 * (w0 + json_number_value(json_array_get(
				                           json_array_get(json_array_get(outs, 1), i - 16), c)));
			CHECKF(fabs(y[i * 20 + c] - want) < GOLDEN_TOL, "row %zu col %zu: %g vs %g", i, c,
			       y[i * 20 + c], want);
		}
	free(y);
	features_release(&f);
	json_decref(g);
}

static size_t count_flags(const struct detection *d)
{
	size_t k = 0;
	for (size_t i = 0; i < d->n; i++)
		k += d->anomaly[i];
	return k;
}

static void check_invariants(const struct detection *d, const struct series *s)
{
	CHECK(d->n == s->n);
	CHECK(isfinite(d->threshold) && d->threshold > 0);
	for (size_t i = 0; i < d->n; i++) {
		CHECK(isfinite(d->expected[i]) && isfinite(d->score[i]) && d->score[i] >= 0);
		CHECK(d->anomaly[i] == (d->score[i] > d->threshold));
	}
}

static long row_of(const struct series *s, const char *ts)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->timestamps[i], ts) == 0)
			return (long)i;
	return -1;
}

int main(void)
{
	struct model *m = NULL;
	struct rb_err err = {RB_OK, ""};
	CHECKF(model_load(&m, tu_shared("upstream"), "traffic", &err) == RB_OK, "%s", err.msg);
	struct infer *ref = NULL, *dnnl = NULL;
	CHECKF(infer_new(&ref, m, INFER_REFERENCE, &err) == RB_OK, "%s", err.msg);
	CHECKF(infer_new(&dnnl, m, INFER_DNNL, &err) == RB_OK, "%s", err.msg);

	/* 1. the model on the golden slices */
	const char *goldens[] = {"upstream/golden/pipeline_outliers_test_data.json",
	                         "upstream/golden/pipeline_example_data.json"};
	for (size_t k = 0; k < 2; k++) {
		double dr = max_golden_diff(ref, goldens[k], m);
		double dd = max_golden_diff(dnnl, goldens[k], m);
		printf("golden %s: max |out - golden| reference %.3g, dnnl %.3g\n", goldens[k], dr, dd);
		CHECK(dr < GOLDEN_TOL && dd < GOLDEN_TOL);
	}

	struct series *s = load_series(tu_shared("upstream/outliers_test_data.json"));
	check_average(ref, m, s);

	/* 2. both paths on the 60-row sample */
	struct detection dr, dd, dl;
	CHECKF(engine_run_model(ref, m, s, "bytes", &dr, &err) == RB_OK, "%s", err.msg);
	CHECKF(engine_run_model(dnnl, m, s, "bytes", &dd, &err) == RB_OK, "%s", err.msg);
	check_invariants(&dr, s);
	check_invariants(&dd, s);
	CHECK(strcmp(dr.model, "traffic") == 0 && strcmp(dr.metric, "bytes") == 0);
	CHECK(dr.threshold == dd.threshold);
	double ws = 0, we = 0;
	for (size_t i = 0; i < s->n; i++) {
		double a = fabs(dr.score[i] - dd.score[i]);
		double b = fabs(dr.expected[i] - dd.expected[i]) / fabs(dr.expected[i]);
		ws = a > ws ? a : ws;
		we = b > we ? b : we;
		if (fabs(dr.score[i] - dr.threshold) > PATHS_SCORE_TOL)
			CHECKF(dr.anomaly[i] == dd.anomaly[i], "row %zu", i);
		CHECK(dr.observed[i] == s->values[i * s->ncols + (size_t)series_col(s, "bytes")]);
	}
	printf("paths: max |score diff| %.3g, max rel expected diff %.3g\n", ws, we);
	CHECK(ws < PATHS_SCORE_TOL && we < PATHS_EXPECTED_REL);

	size_t flagged = count_flags(&dr);
	printf("centred rule: %zu of %zu rows flagged, threshold %.6g:", flagged, s->n, dr.threshold);
	for (size_t i = 0; i < s->n; i++)
		if (dr.anomaly[i])
			printf(" %s(%.4f)", s->timestamps[i] + 11, dr.score[i]);
	printf("\n");
	CHECK(flagged >= 1 && flagged <= s->n / 4);
	CHECK(dr.anomaly[row_of(s, "2023-09-21T09:27:00.000Z")] == 1);  /* 70.9 MB spike */
	CHECK(dr.anomaly[row_of(s, "2023-09-21T09:12:00.000Z")] == 1);  /* 2.0 MB dip */
	CHECK(dr.anomaly[row_of(s, "2023-09-21T09:40:00.000Z")] == 0);  /* steady */

	struct score_options legacy = {SCORE_LEGACY, 0};
	CHECKF(engine_run_model_opts(ref, m, s, "bytes", &legacy, &dl, &err) == RB_OK, "%s",
	       err.msg);
	printf("legacy rule: %zu of %zu rows flagged, threshold %.6g\n", count_flags(&dl), s->n,
	       dl.threshold);
	CHECK(count_flags(&dl) == s->n);
	CHECK(fabs(dl.threshold - (m->spec.avg_loss + 5 * m->spec.std_loss)) < 1e-15);
	detection_release(&dl);
	detection_release(&dr);
	detection_release(&dd);

	/* 3. our sample: the spike at 10:55 */
	struct series *sample = load_series(tu_source("etc/samples/traffic-sample.json"));
	CHECKF(engine_run_model(dnnl, m, sample, "bytes", &dd, &err) == RB_OK, "%s", err.msg);
	check_invariants(&dd, sample);
	printf("sample: %zu of %zu rows flagged\n", count_flags(&dd), sample->n);
	CHECK(dd.anomaly[row_of(sample, "2024-03-12T10:55:00.000Z")] == 1);
	CHECK(count_flags(&dd) <= 3);
	detection_release(&dd);
	series_free(sample);

	/* 4. errors */
	err.msg[0] = '\0';
	CHECK(engine_run_model(ref, m, s, "nope", &dd, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "'nope'") && strstr(err.msg, "bits_per_sec_per_client, bps, bytes"),
	       "%s", err.msg);
	CHECK(dd.expected == NULL);
	CHECK(engine_run_model(ref, m, s, "granularity", &dd, &err) == RB_E_INPUT);
	struct series *shallow = load_series(tu_shared("upstream/shallow_outliers_test_data.json"));
	CHECK(engine_run_model(ref, m, shallow, "bytes", &dd, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "needs 10 metric(s) absent from the data: bits_per_sec_per_client, bps,"),
	       "%s", err.msg);
	series_free(shallow);
	struct series *few = NULL;
	CHECK(series_alloc(&few, 31, 11, &err) == RB_OK);
	for (size_t c = 0; c < 11; c++)
		few->names[c] = strdup(m->spec.metrics[c]);
	for (size_t i = 0; i < 31; i++) {
		few->timestamps[i] = strdup("t");
		few->t[i] = 1695286800.0 + 60.0 * (double)i;
	}
	CHECK(engine_run_model(ref, m, few, "bytes", &dd, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "needs at least 32 rows, got 31") != NULL, "%s", err.msg);
	series_free(few);

	series_free(s);
	infer_free(ref);
	infer_free(dnnl);
	model_free(m);
	return 0;
}
