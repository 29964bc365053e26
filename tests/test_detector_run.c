/*
 * test_detector_run: detector_run() as a request uses it, on series parsed
 * by series_parse():
 *  - which metric: "monitors" when present (even if the request names
 *    another), else the request's metric (an absent one is RB_E_INPUT),
 *    else the configured default metric when the rows carry it, else the
 *    first metric seen;
 *  - every detector by name, NULL = default ("default" and "novelty" run
 *    the same method and differ only in the model name); an unknown name, a sensitivity
 *    outside [0, 1] and a series with no metric are RB_E_INPUT, with out
 *    left empty;
 *  - the detection: n rows, observed = the values (NAN where missing),
 *    finite expected and score, metric and model names, the threshold;
 *  - one row and a null value go through.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/detection.h"
#include "rb/detect/detector.h"
#include "rb/input/series.h"
#include "testutil.h"

static struct series *parse(const char *json)
{
	struct series *s = NULL;
	struct rb_err err = {0};
	CHECKF(series_parse(&s, json, strlen(json), NULL, &err) == RB_OK, "%s", err.msg);
	return s;
}

static void check_detection(const struct series *s, const struct detection *d, long col)
{
	CHECK(d->n == s->n);
	for (size_t i = 0; i < d->n; i++) {
		double v = series_value(s, i, (size_t)col);
		CHECK(isnan(v) ? isnan(d->observed[i]) : d->observed[i] == v);
		CHECK(isfinite(d->expected[i]) && isfinite(d->score[i]) && d->score[i] >= 0);
		CHECK(d->anomaly[i] == 0 || d->anomaly[i] == 1);
	}
	CHECK(isfinite(d->threshold));
}

/* Builds n rows one minute apart with metrics a (noise), b (spike at row 60) and optionally monitors. */
static char *make_rows(size_t n, int with_monitors)
{
	size_t cap = n * 160 + 16, off = 0;
	char *buf = malloc(cap);
	CHECK(buf != NULL);
	buf[off++] = '[';
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(buf + off, cap - off,
		                 "%s{\"timestamp\":\"2024-05-22T%02zu:%02zu:00.000Z\",\"result\":{\"a\":%zu,"
		                 "\"b\":%d%s}}",
		                 i ? "," : "", i / 60, i % 60, 100 + (i * 7) % 5, i == 60 ? 500 : 10,
		                 with_monitors ? (i == 45 ? ",\"monitors\":900" : ",\"monitors\":20") : "");
		CHECK(k > 0 && (size_t)k < cap - off);
		off += (size_t)k;
	}
	CHECK(off + 2 < cap);
	buf[off++] = ']';
	buf[off] = '\0';
	return buf;
}

static enum rb_code run(const struct series *s, const char *name, const char *metric,
                        const char *def, double sens, struct detection *d, struct rb_err *err)
{
	struct detector_opts o = {.name = name, .metric = metric, .default_metric = def,
	                          .sensitivity = sens};
	memset(d, 0, sizeof *d);
	return detector_run(s, &o, d, err);
}

int main(void)
{
	struct rb_err err = {0};
	struct detection d;
	char *json = make_rows(120, 0);
	struct series *s = parse(json);

	/* No request metric, no default: the first metric seen ("a"). */
	CHECK(run(s, NULL, NULL, NULL, NAN, &d, &err) == RB_OK);
	CHECK(strcmp(d.metric, "a") == 0 && strcmp(d.model, DETECTOR_DEFAULT) == 0);
	check_detection(s, &d, series_col(s, "a"));
	{
		double eps, kmax;
		novelty_params(NAN, &eps, &kmax);
		CHECK(d.threshold == -log10(eps));
	}
	detection_release(&d);

	/* The request's metric wins over the default metric. */
	CHECK(run(s, DETECTOR_DEFAULT, "b", "a", NAN, &d, &err) == RB_OK);
	CHECK(strcmp(d.metric, "b") == 0);
	check_detection(s, &d, series_col(s, "b"));
	for (size_t i = 0; i < d.n; i++)
		CHECKF(d.anomaly[i] == (i == 60), "row %zu", i);
	/* "novelty" is the same method: the same rows, bit for bit, under its own name */
	{
		struct detection nv;
		CHECK(run(s, DETECTOR_NOVELTY, "b", NULL, NAN, &nv, &err) == RB_OK);
		CHECK(strcmp(nv.model, DETECTOR_NOVELTY) == 0 && nv.threshold == d.threshold);
		for (size_t i = 0; i < d.n; i++)
			CHECK(nv.anomaly[i] == d.anomaly[i] && nv.score[i] == d.score[i] &&
			      nv.expected[i] == d.expected[i]);
		detection_release(&nv);
	}
	detection_release(&d);

	/* The robust detector by name: its own threshold, the spike and nothing else. */
	CHECK(run(s, DETECTOR_ROBUST, "b", NULL, NAN, &d, &err) == RB_OK);
	CHECK(strcmp(d.model, DETECTOR_ROBUST) == 0);
	check_detection(s, &d, series_col(s, "b"));
	CHECK(d.threshold == robust_threshold(NAN));
	for (size_t i = 0; i < d.n; i++)
		CHECKF(d.anomaly[i] == (i == 60), "row %zu", i);
	detection_release(&d);

	/* The configured default metric when the rows carry it, else the first metric. */
	CHECK(run(s, NULL, NULL, "b", NAN, &d, &err) == RB_OK);
	CHECK(strcmp(d.metric, "b") == 0);
	detection_release(&d);
	CHECK(run(s, NULL, "", "nosuch", NAN, &d, &err) == RB_OK);
	CHECK(strcmp(d.metric, "a") == 0);
	detection_release(&d);

	/* A request metric the rows do not carry is an input error; out stays empty. */
	CHECK(run(s, NULL, "nosuch", NULL, NAN, &d, &err) == RB_E_INPUT);
	CHECK(strstr(err.msg, "nosuch") != NULL);
	CHECK(d.expected == NULL && d.n == 0);

	/* Unknown detector, bad sensitivity. */
	CHECK(run(s, "lstm-magic", NULL, NULL, NAN, &d, &err) == RB_E_INPUT);
	CHECK(strstr(err.msg, "lstm-magic") != NULL && d.expected == NULL);
	CHECKF(strcmp(err.msg,
	              "unknown detector \"lstm-magic\" (known: default, iforest-legacy, novelty, robust)") == 0,
	       "%s", err.msg);
	CHECK(run(s, NULL, NULL, NULL, 1.5, &d, &err) == RB_E_INPUT);
	CHECK(run(s, NULL, NULL, NULL, -0.1, &d, &err) == RB_E_INPUT);
	CHECK(run(s, NULL, NULL, NULL, INFINITY, &d, &err) == RB_E_INPUT);
	CHECK(detector_known(NULL) && detector_known("default") && detector_known("iforest-legacy"));
	CHECK(detector_known("novelty") && detector_known("robust"));
	CHECK(!detector_known("Default") && !detector_known(""));
	/* the name table: one name per kind, in enum order, then NULL; each parses back */
	for (unsigned k = 0; k < DETECTOR_KIND_COUNT; k++) {
		enum detector_kind back;
		const char *name = detector_kind_name((enum detector_kind)k);
		CHECK(name != NULL && name == detector_kind_names[k] && detector_known(name));
		CHECKF(detector_kind_parse(name, strlen(name), &back) == 0 &&
		               back == (enum detector_kind)k, "%s", name);
	}
	CHECK(detector_kind_names[DETECTOR_KIND_COUNT] == NULL);
	CHECK(strcmp(detector_kind_name(DETECTOR_KIND_DEFAULT), DETECTOR_DEFAULT) == 0);
	CHECK(strcmp(detector_kind_name(DETECTOR_KIND_IFOREST_LEGACY), DETECTOR_LEGACY) == 0);
	{
		enum detector_kind back = DETECTOR_KIND_DEFAULT;
		CHECK(detector_kind_parse("iforest-legac", 13, &back) == -1);
		CHECK(detector_kind_parse("iforest-legacyX", 14, &back) == 0 &&
		      back == DETECTOR_KIND_IFOREST_LEGACY);
		CHECK(detector_kind_parse(NULL, 0, &back) == -1);
	}

	/* The legacy detector by name; its default sensitivity, and an explicit one. */
	CHECK(run(s, DETECTOR_LEGACY, "b", NULL, NAN, &d, &err) == RB_OK);
	CHECK(strcmp(d.model, DETECTOR_LEGACY) == 0 && strcmp(d.metric, "b") == 0);
	check_detection(s, &d, series_col(s, "b"));
	CHECK(d.anomaly[60] == 1);
	double thr_default = d.threshold;
	detection_release(&d);
	CHECK(run(s, DETECTOR_LEGACY, "b", NULL, 1.0, &d, &err) == RB_OK);
	CHECK(d.threshold < thr_default); /* offset not moved: a lower score threshold */
	detection_release(&d);
	series_free(s);
	free(json);

	/* "monitors" wins over everything, as in the old service. */
	json = make_rows(120, 1);
	s = parse(json);
	CHECK(run(s, NULL, "b", "a", NAN, &d, &err) == RB_OK);
	CHECK(strcmp(d.metric, "monitors") == 0);
	check_detection(s, &d, series_col(s, "monitors"));
	CHECK(d.anomaly[45] == 1);
	detection_release(&d);
	series_free(s);
	free(json);

	/* One row; a null value; no metric at all. */
	s = parse("[{\"timestamp\":\"2024-05-22T10:00:00Z\",\"result\":{\"bytes\":5}}]");
	CHECK(run(s, NULL, NULL, NULL, NAN, &d, &err) == RB_OK);
	CHECK(d.n == 1 && d.expected[0] == 5 && d.anomaly[0] == 0);
	detection_release(&d);
	CHECK(run(s, DETECTOR_LEGACY, NULL, NULL, NAN, &d, &err) == RB_OK);
	CHECK(d.n == 1 && d.expected[0] == 5 && d.anomaly[0] == 0);
	detection_release(&d);
	series_free(s);
	s = parse("[{\"timestamp\":\"2024-05-22T10:00:00Z\",\"result\":{\"bytes\":5}},"
	          "{\"timestamp\":\"2024-05-22T10:01:00Z\",\"result\":{\"bytes\":null}},"
	          "{\"timestamp\":\"2024-05-22T10:02:00Z\",\"result\":{\"bytes\":7}}]");
	CHECK(run(s, NULL, NULL, NULL, NAN, &d, &err) == RB_OK);
	check_detection(s, &d, 0);
	CHECK(isnan(d.observed[1]) && d.anomaly[1] == 0);
	detection_release(&d);
	series_free(s);
	s = parse("[{\"timestamp\":\"2024-05-22T10:00:00Z\",\"result\":{}}]");
	CHECK(run(s, NULL, NULL, NULL, NAN, &d, &err) == RB_E_INPUT);
	CHECK(d.expected == NULL);
	series_free(s);
	return 0;
}
