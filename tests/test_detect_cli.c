/*
 * test_detect_cli: the built rb-aioutliers-detect command (RB_BUILD_DIR):
 * exit codes 0 / 1 / 2, one JSON line on stdout (success or error body),
 * nothing on stdout for a usage error, stdin input, the legacy rule, the
 * model-free detector when no model is named, that the answer for the
 * bundled sample names the 10:55 spike (in anomalies, and as the peak of an
 * "up" event; events cover the anomalies' rows), and the usage's and the usage
 * errors' lists of path, rule and detector names, word for word; that the command loads
 * none of the model stack's libraries and answers as the full program it execs for model runs.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include "testutil.h"

struct result {
	int status;   /* exit code, or -1 when not a normal exit */
	char out[1 << 17];
	size_t len;
};

/* Runs "<env> <build>/<program> <args>" through sh, keeping stdout, or stderr alone when
 * err; env and args are trusted test text. */
static void run_prog(struct result *r, const char *env, const char *program, const char *args,
                     int err)
{
	char cmd[20480];
	const char *build = getenv("RB_BUILD_DIR");
	CHECK(build != NULL);
	int k = snprintf(cmd, sizeof cmd, "%s '%s/%s' %s %s", env, build, program, args,
	                 err ? "2>&1 >/dev/null" : "2>/dev/null");
	CHECK(k > 0 && (size_t)k < sizeof cmd);
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	r->len = fread(r->out, 1, sizeof r->out - 1, p);
	r->out[r->len] = '\0';
	CHECK(r->len < sizeof r->out - 1); /* whole output read */
	int st = pclose(p);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs "<build>/rb-aioutliers-detect <args>" (see run_prog). */
static void run_to(struct result *r, const char *args, int err)
{
	run_prog(r, "", "rb-aioutliers-detect", args, err);
}

static void run(struct result *r, const char *args)
{
	run_to(r, args, 0);
}

/*
 * The command as users run it loads none of the model stack's libraries
 * (HDF5, and libcurl through it; libzip; oneDNN), the full program it execs
 * for model runs does; and both answer every run the same, stdout, stderr and
 * exit code (model-free runs answered by the command itself, the others by
 * the full program).
 */
static void light_and_full(const char *sample, const char *models)
{
	static struct result a, b;
	run_prog(&a, "LD_TRACE_LOADED_OBJECTS=1", "rb-aioutliers-detect", "", 0);
	CHECKF(strstr(a.out, "libc.so") != NULL, "%s", a.out);
	static const char *const heavy[] = {"libcurl", "libhdf5", "libdnnl", "libzip", "libgnutls"};
	for (size_t k = 0; k < sizeof heavy / sizeof heavy[0]; k++)
		CHECKF(strstr(a.out, heavy[k]) == NULL, "the command loads %s:\n%s", heavy[k], a.out);
	run_prog(&b, "LD_TRACE_LOADED_OBJECTS=1", "rb-aioutliers-detect-full", "", 0);
	CHECKF(strstr(b.out, "libdnnl") != NULL, "%s", b.out);

	char args[8][8400];
	snprintf(args[0], sizeof args[0], "'%s'", sample);
	snprintf(args[1], sizeof args[1], "--detector robust --sensitivity 0.3 - < '%s'", sample);
	snprintf(args[2], sizeof args[2], "--models-dir '%s' --model traffic '%s'", models, sample);
	snprintf(args[3], sizeof args[3], "--path vector --model traffic --models-dir '%s' '%s'",
	         models, sample);
	snprintf(args[4], sizeof args[4], "--path reference '%s'", sample);
	snprintf(args[5], sizeof args[5], "--metric nope '%s'", sample);
	snprintf(args[6], sizeof args[6], "--detector '%s'", sample);
	snprintf(args[7], sizeof args[7], "/nonexistent/file.json");
	for (size_t k = 0; k < sizeof args / sizeof args[0]; k++) {
		for (int err = 0; err < 2; err++) {
			run_prog(&a, "", "rb-aioutliers-detect", args[k], err);
			run_prog(&b, "", "rb-aioutliers-detect-full", args[k], err);
			CHECKF(a.status == b.status && a.len == b.len && memcmp(a.out, b.out, a.len) == 0,
			       "'%s': %d '%s' and %d '%s'", args[k], a.status, a.out, b.status, b.out);
		}
	}
}

/* The names in the usage and in the usage errors (stderr), exactly. */
static void name_lists(struct result *r)
{
	static const struct {
		const char *args, *first_line;
	} errs[] = {
		{"--model traffic --path gpu x",
		 "rb-aioutliers-detect: --path must be auto, dnnl, vector or reference: gpu\n"},
		{"--model traffic --threshold-rule new x",
		 "rb-aioutliers-detect: --threshold-rule must be centred or legacy: new\n"},
		{"--detector nope x",
		 "rb-aioutliers-detect: --detector must be default, iforest-legacy, novelty or robust: nope\n"},
	};
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
		run_to(r, errs[i].args, 1);
		CHECKF(r->status == 2 && strncmp(r->out, errs[i].first_line,
		                                 strlen(errs[i].first_line)) == 0,
		       "'%s': %d %s", errs[i].args, r->status, r->out);
		CHECK(strstr(r->out, "usage:") != NULL);
	}
	static const char *const lines[] = {
		"\n                            [--path auto|dnnl|vector|reference]\n",
		"\n                            [--threshold-rule centred|legacy]\n",
		"\n  --path P            inference path: auto (default), dnnl, vector or "
		"reference\n",
		"\n  --threshold-rule R  centred (default) or legacy (the old service's rule)\n",
		"\n  --detector NAME     model-free detector: default (default), "
		"iforest-legacy, novelty or robust\n",
	};
	run(r, "--help");
	CHECK(r->status == 0);
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		CHECKF(strstr(r->out, lines[i]) != NULL, "usage lacks%s", lines[i]);
}

/* The output is one line of JSON: returns it parsed (new reference). */
static json_t *one_json_line(const struct result *r)
{
	CHECKF(r->len > 0 && r->out[r->len - 1] == '\n', "output: %s", r->out);
	CHECKF(memchr(r->out, '\n', r->len - 1) == NULL, "more than one line: %s", r->out);
	json_error_t jerr;
	json_t *j = json_loadb(r->out, r->len, 0, &jerr);
	CHECKF(j != NULL, "%s: %s", jerr.text, r->out);
	return j;
}

static const char *status_of(json_t *j)
{
	return json_string_value(json_object_get(j, "status"));
}

/*
 * The answer's events agree with its anomalies: the rows of its up/down
 * events add up to the anomalies, and one up/down event (the one returned,
 * borrowed; NULL if none) has peak_timestamp ts.
 */
static json_t *events_agree(json_t *j, const char *ts)
{
	json_t *ev = json_object_get(j, "events"), *found = NULL;
	CHECK(json_is_array(ev));
	long long rows = 0;
	for (size_t k = 0; k < json_array_size(ev); k++) {
		json_t *e = json_array_get(ev, k);
		const char *kind = json_string_value(json_object_get(e, "kind"));
		CHECK(kind != NULL);
		if (strcmp(kind, "gap") == 0)
			continue;
		rows += json_integer_value(json_object_get(e, "rows"));
		if (strcmp(json_string_value(json_object_get(e, "peak_timestamp")), ts) == 0)
			found = e;
	}
	CHECKF(rows == (long long)json_array_size(json_object_get(j, "anomalies")),
	       "events cover %lld rows, anomalies %zu", rows,
	       json_array_size(json_object_get(j, "anomalies")));
	return found;
}

int main(void)
{
	static struct result r;
	char models[4096], args[16384], sample[4096], outliers[4096];
	snprintf(models, sizeof models, "%s", tu_shared("upstream"));
	snprintf(sample, sizeof sample, "%s", tu_source("etc/samples/traffic-sample.json"));
	snprintf(outliers, sizeof outliers, "%s", tu_shared("upstream/outliers_test_data.json"));

	/* the sample: success, every row once in predicted, the spike flagged */
	snprintf(args, sizeof args, "--models-dir '%s' --model traffic '%s'", models, sample);
	run(&r, args);
	CHECKF(r.status == 0, "status %d: %s", r.status, r.out);
	json_t *j = one_json_line(&r);
	CHECK(strcmp(status_of(j), "success") == 0);
	CHECK(json_array_size(json_object_get(j, "predicted")) == 90);
	json_t *an = json_object_get(j, "anomalies");
	int spike = 0;
	for (size_t i = 0; i < json_array_size(an); i++)
		spike |= strcmp(json_string_value(json_object_get(json_array_get(an, i), "timestamp")),
		                "2024-03-12T10:55:00.000Z") == 0;
	CHECK(spike);
	CHECK(strcmp(json_string_value(json_object_get(j, "model")), "traffic") == 0);
	/* the spike is the peak of an event of its own, above what the model expected */
	json_t *spike_ev = events_agree(j, "2024-03-12T10:55:00.000Z");
	CHECK(spike_ev != NULL &&
	      strcmp(json_string_value(json_object_get(spike_ev, "kind")), "up") == 0);
	size_t n_anomalies = json_array_size(an);
	json_decref(j);

	/* the same on stdin and on the reference path gives the same anomaly set */
	static struct result r2;
	snprintf(args, sizeof args, "--models-dir '%s' --model traffic --path reference - < '%s'",
	         models, sample);
	run(&r2, args);
	CHECKF(r2.status == 0, "%s", r2.out);
	j = one_json_line(&r2);
	CHECK(json_array_size(json_object_get(j, "anomalies")) == n_anomalies);
	json_decref(j);

	/* legacy rule: every row of the upstream sample */
	snprintf(args, sizeof args, "--models-dir '%s' --model traffic --threshold-rule legacy '%s'",
	         models, outliers);
	run(&r, args);
	CHECKF(r.status == 0, "%s", r.out);
	j = one_json_line(&r);
	CHECK(json_array_size(json_object_get(j, "anomalies")) == 60);
	json_decref(j);

	/* input errors: exit 1 and the error body */
	snprintf(args, sizeof args, "--models-dir '%s' --model traffic --metric nope '%s'", models,
	         sample);
	run(&r, args);
	CHECK(r.status == 1);
	j = one_json_line(&r);
	CHECK(strcmp(status_of(j), "error") == 0);
	CHECK(strstr(json_string_value(json_object_get(j, "msg")), "nope") != NULL);
	json_decref(j);

	snprintf(args, sizeof args, "--models-dir '%s' --model no_such_model '%s'", models, sample);
	run(&r, args);
	CHECK(r.status == 1);
	json_decref(one_json_line(&r));

	snprintf(args, sizeof args, "--models-dir '%s' --model traffic - < /dev/null", models);
	run(&r, args);
	CHECK(r.status == 1);
	j = one_json_line(&r);
	CHECK(strcmp(status_of(j), "error") == 0);
	json_decref(j);

	snprintf(args, sizeof args, "--models-dir '%s' --model traffic /nonexistent/file.json",
	         models);
	run(&r, args);
	CHECK(r.status == 1);
	json_decref(one_json_line(&r));

	/* usage errors: exit 2, nothing on stdout */
	const char *bad[] = {"--model traffic --detector default x", "--sigma 3 x",
	                     "--sensitivity 2 x", "--detector nope x", "--model",          "--model traffic --path gpu x",
	                     "--model traffic --bogus 1 x", "--model traffic --sigma -1 x",
	                     "--model traffic --threshold-rule new x", "--model traffic a b"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		run(&r, bad[i]);
		CHECKF(r.status == 2 && r.len == 0, "'%s': status %d out %s", bad[i], r.status, r.out);
	}
	/* no --model: the model-free default detector answers in the same shape */
	snprintf(args, sizeof args, "'%s'", sample);
	run(&r, args);
	CHECKF(r.status == 0, "%s", r.out);
	j = one_json_line(&r);
	CHECK(strcmp(json_string_value(json_object_get(j, "model")), "default") == 0);
	CHECK(strcmp(json_string_value(json_object_get(j, "metric")), "bytes") == 0);
	CHECK(json_array_size(json_object_get(j, "predicted")) == 90);
	events_agree(j, "");
	json_decref(j);

	run(&r, "--help");
	CHECK(r.status == 0 && strstr(r.out, "usage:") != NULL);
	name_lists(&r);
	light_and_full(sample, models);
	return 0;
}
