/*
 * test_features_golden: the feature rows of CONTRACT §4 reproduce the
 * upstream pipeline (with the weekday quirk) on its two sample inputs, with
 * the column spec loaded from traffic.ini:
 * the raw features [n, 20] and the rescaled slices at stride 16 recorded in
 * shared/upstream/golden/pipeline_*.json, to 1e-9 relative, and our window
 * plan starts with the golden slices (then adds the final window).
 */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "rb/model/model.h"
#include "rb/detect/features.h"
#include "rb/input/series.h"
#include "testutil.h"

#define REL_TOL 1e-9

static int near(double a, double b)
{
	return fabs(a - b) <= REL_TOL * (1.0 + fabs(b));
}

static void run(const char *input, const char *golden_path)
{
	size_t len;
	char *text = tu_read_file(tu_shared(input), &len);
	struct series *s = NULL;
	struct rb_err err = {RB_OK, ""};
	CHECKF(series_parse(&s, text, len, NULL, &err) == RB_OK, "%s", err.msg);
	free(text);

	json_error_t jerr;
	json_t *g = json_load_file(tu_shared(golden_path), 0, &jerr); /* new */
	CHECKF(g != NULL, "%s", jerr.text);
	json_t *cols = json_object_get(g, "columns"); /* borrowed */
	CHECK(json_array_size(cols) == 20);

	/* The spec as loaded from traffic.ini: its columns are the golden columns. */
	struct model *m = NULL;
	CHECKF(model_load(&m, tu_shared("upstream"), "traffic", &err) == RB_OK, "%s", err.msg);
	const struct model_spec *sp = &m->spec;
	CHECK(sp->n_metrics == 12 && sp->n_timestamp == 8 && sp->weekday == WEEKDAY_QUIRK);
	CHECK(sp->window_size == 16 && sp->num_windows == 2);
	const char *names[20];
	for (size_t c = 0; c < 20; c++) {
		names[c] = c < 12 ? sp->metrics[c] : sp->timestamp[c - 12];
		CHECK(strcmp(names[c], json_string_value(json_array_get(cols, c))) == 0);
	}

	struct features f;
	CHECKF(features_build(&f, s, sp, &err) == RB_OK, "%s", err.msg);
	json_t *ts = json_object_get(g, "timestamps");
	json_t *feat = json_object_get(g, "features");
	CHECK(json_array_size(ts) == s->n && json_array_size(feat) == s->n && f.C == 20);
	for (size_t i = 0; i < s->n; i++) {
		CHECK(strcmp(json_string_value(json_array_get(ts, i)), s->timestamps[i]) == 0);
		json_t *row = json_array_get(feat, i);
		for (size_t c = 0; c < 20; c++) {
			double want = json_number_value(json_array_get(row, c));
			CHECKF(near(f.raw[i * 20 + c], want), "%s row %zu col %s: %.17g vs %.17g",
			       input, i, names[c], f.raw[i * 20 + c], want);
		}
	}

	json_t *starts = json_object_get(g, "slice_starts");
	json_t *slices = json_object_get(g, "slices");
	size_t nw = features_window_count(s->n, 32, 16);
	CHECK(json_array_size(starts) == nw - 1); /* upstream dropped the tail; we add a window */
	CHECK(features_window_start(s->n, 32, 16, nw - 1) == s->n - 32);
	for (size_t w = 0; w < json_array_size(starts); w++) {
		size_t st = (size_t)json_integer_value(json_array_get(starts, w));
		CHECK(features_window_start(s->n, 32, 16, w) == st);
		json_t *sl = json_array_get(slices, w);
		for (size_t t = 0; t < 32; t++)
			for (size_t c = 0; c < 20; c++) {
				double want = json_number_value(json_array_get(json_array_get(sl, t), c));
				double got = f.x[(st + t) * 20 + c];
				CHECKF(near(got, want), "%s slice %zu t %zu col %s: %.17g vs %.17g",
				       input, w, t, names[c], got, want);
			}
	}
	features_release(&f);
	model_free(m);
	json_decref(g);
	series_free(s);
}

int main(void)
{
	run("upstream/outliers_test_data.json", "upstream/golden/pipeline_outliers_test_data.json");
	run("upstream/example_data.json", "upstream/golden/pipeline_example_data.json");
	return 0;
}
