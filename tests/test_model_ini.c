/*
 * model_ini_parse: the upstream .ini files parse to the right spec; our
 * [rb-aioutliers] keys; leniency (case, whitespace, ':' separator, CRLF,
 * comments); and a table of bad files, each refused with RB_E_MODEL and a
 * message naming file:line and what is wrong.
 */
#include <string.h>

#include "core/model/model_internal.h"
#include "testutil.h"

#define BASE_COLUMNS "[Columns]\nmetrics = a, b, granularity\ntimestamp = minute, weekday_0\n"
#define BASE_GENERAL "[General]\navg_loss = 0.5\nstd_loss = 0.25\nwindow_size = 16\nnum_windows = 2\n"
#define BASE BASE_COLUMNS BASE_GENERAL

static void parse_ok(const char *text, struct model_spec *s)
{
	struct rb_err err = {0};
	enum rb_code rc = model_ini_parse(text, strlen(text), "x.ini", s, &err);
	CHECKF(rc == RB_OK, "%s\n--- for:\n%s", err.msg, text);
}

int main(void)
{
	struct model_spec s;
	struct rb_err err = {0};

	/* The upstream files. */
	size_t len = 0;
	char *text = tu_read_file(tu_shared("upstream/traffic.ini"), &len);
	CHECKF(model_ini_parse(text, len, "traffic.ini", &s, &err) == RB_OK, "%s", err.msg);
	CHECK(s.n_metrics == 12 && s.n_timestamp == 8 && strcmp(s.metrics[4], "clients") == 0);
	CHECK(strcmp(s.timestamp[1], "weekday_0") == 0);
	CHECK(s.window_size == 16 && s.num_windows == 2 && s.avg_loss == 0.004971476081581194);
	CHECK(s.weekday == WEEKDAY_QUIRK && !s.has_score_stats && !s.has_threshold_sigma && s.threshold_sigma == 0.0);
	model_spec_clear(&s);
	CHECK(s.metrics == NULL && s.n_metrics == 0);
	free(text);
	text = tu_read_file(tu_shared("upstream/model_test_config.ini"), &len);
	CHECKF(model_ini_parse(text, len, "model_test_config.ini", &s, &err) == RB_OK, "%s", err.msg);
	CHECK(s.avg_loss == 0.09741491896919627 && s.std_loss == 0.11098885675977664 && s.n_metrics == 12);
	model_spec_clear(&s);
	free(text);
	/* The 2023 format (upper-case keys, one-hot granularity columns, loss multipliers): refused. */
	text = tu_read_file(tu_shared("upstream/traffic-2023-09.ini"), &len);
	CHECK(model_ini_parse(text, len, "traffic-2023-09.ini", &s, &err) == RB_E_MODEL);
	CHECKF(strstr(err.msg, "traffic-2023-09.ini:6: loss_mult_1: legacy model config") != NULL, "%s", err.msg);
	free(text);

	/* Our section. */
	parse_ok(BASE "[rb-aioutliers]\nweekday_encoding = onehot\nscore_mean = -0.5\nscore_std = 2e-1\n"
	              "threshold_sigma = 4.5\n", &s);
	CHECK(s.weekday == WEEKDAY_ONEHOT && s.has_score_stats && s.score_mean == -0.5 && s.score_std == 0.2);
	CHECK(s.has_threshold_sigma && s.threshold_sigma == 4.5);
	model_spec_clear(&s);
	parse_ok(BASE "[RB-AIOUTLIERS]\nWeekday_Encoding = QUIRK\n", &s);
	CHECK(s.weekday == WEEKDAY_QUIRK && !s.has_score_stats);
	model_spec_clear(&s);

	/* Leniency: upper-case keys and sections, ':' separator, odd spacing, CRLF, comments, no final newline. */
	parse_ok("# comment\r\n; another\r\n[columns]\r\nMETRICS:a,b ,  granularity\r\n  \r\n"
	         "TimeStamp =minute ,weekday_0\r\n[GENERAL]\r\nAVG_LOSS=1e-3\r\nstd_loss = 0\r\n"
	         "WINDOW_SIZE = 16\r\nnum_windows = 2", &s);
	CHECK(s.n_metrics == 3 && strcmp(s.metrics[1], "b") == 0 && strcmp(s.metrics[2], "granularity") == 0);
	CHECK(s.n_timestamp == 2 && strcmp(s.timestamp[0], "minute") == 0 && s.avg_loss == 1e-3 && s.std_loss == 0);
	model_spec_clear(&s);

	static const struct {
		const char *text, *want;
	} bad[] = {
		{BASE "[rb-aioutliers]\nweekday = onehot\n", "x.ini:10: unknown key 'weekday' in [rb-aioutliers]"},
		{BASE "[rb-aioutliers]\nweekday_encoding = plain\n", "x.ini:10: weekday_encoding: 'plain' is not quirk or onehot"},
		{BASE "[rb-aioutliers]\nscore_mean = 1\n", "score_mean and score_std go together"},
		{BASE "[rb-aioutliers]\nscore_std = 1\n", "score_mean and score_std go together"},
		{BASE "[rb-aioutliers]\nscore_mean = 1\nscore_std = 0\n", "x.ini:11: score_std: 0 is outside (0"},
		{BASE "[rb-aioutliers]\nscore_mean = 1\nscore_std = -1\n", "x.ini:11: score_std: -1 is outside"},
		{BASE "[rb-aioutliers]\nthreshold_sigma = inf\n", "x.ini:10: threshold_sigma: 'inf' is not a finite number"},
		{BASE "[rb-aioutliers]\nscore_mean = nan\nscore_std = 1\n", "x.ini:10: score_mean: 'nan' is not a finite"},
		{BASE_COLUMNS "[General]\navg_loss = 0.5x\n", "x.ini:5: avg_loss: '0.5x' is not a number"},
		{BASE_COLUMNS "[General]\navg_loss = \n", "x.ini:5: avg_loss: empty number"},
		{BASE_COLUMNS "[General]\navg_loss = 1e999\n", "x.ini:5: avg_loss: '1e999' is not a finite number"},
		{BASE_COLUMNS "[General]\navg_loss = 0.5\nstd_loss = -0.1\n", "x.ini:6: std_loss: -0.1 is outside [0"},
		{BASE_COLUMNS "[General]\nwindow_size = 0\n", "x.ini:5: window_size: '0' is outside [1, 4096]"},
		{BASE_COLUMNS "[General]\nwindow_size = -3\n", "x.ini:5: window_size: '-3' is not a whole number"},
		{BASE_COLUMNS "[General]\nwindow_size = 16.0\n", "'16.0' is not a whole number"},
		{BASE_COLUMNS "[General]\nwindow_size = 99999999999999999999999\n", "is outside [1, 4096]"},
		{BASE_COLUMNS "[General]\navg_loss = 0.5\nstd_loss = 0.25\nwindow_size = 16\n", "x.ini: [General] num_windows is missing"},
		{BASE_GENERAL, "[Columns] metrics is missing"},
		{BASE "[General]\n", NULL}, /* a repeated section header is harmless */
		{BASE "avg_loss = 1\n", "x.ini:9: key 'avg_loss' given twice"},
		{BASE "[Other]\n", "x.ini:9: unknown section [Other]"},
		/* [training]: free-form keys, values not read, each key once (configparser's rule) */
		{BASE "[training]\nseed = 1\ninterval = 2023-09-01T00:00Z/2023-10-01T00:00Z\n"
		      "query_hash: fnv1a64:0123\nwindow_size = 7 (not ours)\nfuture_key = anything %\n", NULL},
		{BASE "[Training]\nSeed = 1\nseed = 2\n", "x.ini:11: key 'seed' given twice"},
		{BASE "[training]\nbad key = 1\n", "x.ini:10: [training] key 'bad key' is not a valid name"},
		{BASE "[training]\nseed = 1\n[General]\nwindow_size = 16\n", "key 'window_size' given twice"},
		{BASE "[General\n", "x.ini:9: section header without ']'"},
		{"avg_loss = 1\n" BASE, "x.ini:1: key outside any section"},
		{BASE "just words\n", "x.ini:9: expected 'key = value'"},
		{BASE "  window_size = 3\n", "x.ini:9: indented line"},
		{"[Columns]\nmetrics = a, , b\n", "x.ini:2: metrics: column 2 is empty"},
		{"[Columns]\nmetrics = a,\n", "x.ini:2: metrics: column 2 is empty"},
		{"[Columns]\nmetrics = a b\n", "x.ini:2: metrics: column 1 'a b' is not a valid name"},
		{"[Columns]\nmetrics = a, b, a\n", "x.ini:2: metrics: column 'a' is listed twice"},
		{"[Columns]\nGRANULARITIES = g1, g2\n", "x.ini:2: granularities: legacy model config"},
		{"[General]\nwindow_size = 100\nnum_windows = 100\navg_loss=0\nstd_loss=0\n[Columns]\nmetrics=a\ntimestamp=b\n",
		 "window_size*num_windows = 100*100 is over 4096"},
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		memset(&err, 0, sizeof err);
		enum rb_code rc = model_ini_parse(bad[k].text, strlen(bad[k].text), "x.ini", &s, &err);
		if (bad[k].want == NULL) {
			CHECKF(rc == RB_OK, "case %zu: %s", k, err.msg);
			model_spec_clear(&s);
			continue;
		}
		CHECKF(rc == RB_E_MODEL && err.code == RB_E_MODEL, "case %zu accepted:\n%s", k, bad[k].text);
		CHECKF(strstr(err.msg, bad[k].want) != NULL, "case %zu: '%s' not in: %s", k, bad[k].want, err.msg);
		CHECK(s.metrics == NULL && s.timestamp == NULL);
	}

	/* A NUL byte and the size cap. */
	CHECK(model_ini_parse("[Columns]\0", 10, "x.ini", &s, &err) == RB_E_MODEL && strstr(err.msg, "NUL") != NULL);
	size_t big = MODEL_INI_MAX + 1;
	char *huge = malloc(big);
	CHECK(huge != NULL);
	memset(huge, '#', big);
	CHECK(model_ini_parse(huge, big, "x.ini", &s, &err) == RB_E_MODEL && strstr(err.msg, "cap") != NULL);
	free(huge);
	return 0;
}
