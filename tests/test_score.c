/*
 * test_score: the per-row anomaly score and threshold rules of score.h on
 * hand-made reconstructions: the centred score ignores a bias common to all
 * rows and the timestamp columns, flags the one deviating row, uses the
 * right threshold for old and new .ini statistics, and the legacy rule
 * reproduces the old "any element over avg + 5 std" behaviour.
 */
#include <math.h>
#include <string.h>

#include "rb/detect/score.h"
#include "testutil.h"

#define N 9
#define C 5 /* 3 scored (2 metrics + granularity), 2 timestamp */

static struct model_spec old_spec(void)
{
	static char *m[] = {"a", "b", "granularity"};
	static char *t[] = {"minute", "weekday_0"};
	struct model_spec sp;
	memset(&sp, 0, sizeof sp);
	sp.n_metrics = 3;
	sp.metrics = m;
	sp.n_timestamp = 2;
	sp.timestamp = t;
	sp.avg_loss = 0.005;
	sp.std_loss = 0.0075;
	sp.window_size = 16;
	sp.num_windows = 2;
	return sp;
}

/* x: 0.4 everywhere; y: x - 0.05 bias on scored columns, weekday column off by 1 on every row. */
static void make(double *x, double *y)
{
	for (size_t i = 0; i < N; i++)
		for (size_t c = 0; c < C; c++) {
			x[i * C + c] = 0.4;
			y[i * C + c] = c < 3 ? 0.35 : (c == 4 ? 1.4 : 0.4);
		}
	for (size_t i = 0; i < N; i++)
		x[i * C + 0] += 0.001 * (double)(i % 3); /* small noise */
	x[4 * C + 1] += 0.09;                       /* one real deviation, on row 4 */
}

static void test_median(void)
{
	double a[] = {5, 1, 3};
	CHECK(score_median(a, 3) == 3);
	double b[] = {4, 1, 3, 2};
	CHECK(score_median(b, 4) == 2.5);
	double c[] = {7};
	CHECK(score_median(c, 1) == 7);
}

static void test_centred_old_ini(void)
{
	struct model_spec sp = old_spec();
	double x[N * C], y[N * C], score[N], centre[3], thr = 0;
	unsigned char flag[N];
	struct rb_err err;
	make(x, y);
	CHECK(score_rows(&sp, x, y, N, C, NULL, score, flag, centre, &thr, &err) == RB_OK);
	/* threshold: avg + 3 std / sqrt(3) */
	CHECK(fabs(thr - (0.005 + 3 * 0.0075 / sqrt(3.0))) < 1e-15);
	/* the common bias is the centre */
	CHECK(fabs(centre[1] - 0.05) < 1e-12 && fabs(centre[2] - 0.05) < 1e-12);
	for (size_t i = 0; i < N; i++) {
		CHECK(isfinite(score[i]) && score[i] >= 0);
		CHECKF(flag[i] == (i == 4), "row %zu score %g thr %g", i, score[i], thr);
	}
	CHECK(fabs(score[4] - (0.09 + fabs(x[4 * C] - 0.35 - centre[0])) / 3) < 1e-12);

	/* an explicit sigma overrides the default */
	struct score_options o = {SCORE_CENTRED, 100.0};
	CHECK(score_rows(&sp, x, y, N, C, &o, score, flag, centre, &thr, &err) == RB_OK);
	for (size_t i = 0; i < N; i++)
		CHECK(flag[i] == 0);
}

static void test_centred_own_stats(void)
{
	struct model_spec sp = old_spec();
	sp.has_score_stats = 1;
	sp.score_mean = 0.002;
	sp.score_std = 0.001;
	sp.threshold_sigma = 4;
	double x[N * C], y[N * C], score[N], centre[3], thr = 0;
	unsigned char flag[N];
	struct rb_err err;
	make(x, y);
	CHECK(score_rows(&sp, x, y, N, C, NULL, score, flag, centre, &thr, &err) == RB_OK);
	CHECK(fabs(thr - 0.006) < 1e-15);
	CHECK(flag[4] == 1 && flag[0] == 0);
	sp.threshold_sigma = 0; /* absent -> default 3 */
	CHECK(score_rows(&sp, x, y, N, C, NULL, score, flag, centre, &thr, &err) == RB_OK);
	CHECK(fabs(thr - 0.005) < 1e-15);
	sp.score_std = NAN;
	CHECK(score_rows(&sp, x, y, N, C, NULL, score, flag, centre, &thr, &err) == RB_E_MODEL);
}

static void test_legacy(void)
{
	struct model_spec sp = old_spec();
	double x[N * C], y[N * C], score[N], centre[3], thr = 0;
	unsigned char flag[N];
	struct rb_err err;
	make(x, y);
	struct score_options o = {SCORE_LEGACY, 0.0};
	CHECK(score_rows(&sp, x, y, N, C, &o, score, flag, centre, &thr, &err) == RB_OK);
	CHECK(fabs(thr - (0.005 + 5 * 0.0075)) < 1e-15);
	/* the weekday column is off by 1 everywhere: the old rule flags every row */
	for (size_t i = 0; i < N; i++) {
		CHECK(flag[i] == 1);
		CHECK(fabs(score[i] - 1.0) < 1e-12);
	}
	CHECK(centre[0] == 0 && centre[1] == 0 && centre[2] == 0);
}

static void test_parse(void)
{
	enum score_rule r;
	CHECK(score_rule_parse("legacy", 6, &r) == 0 && r == SCORE_LEGACY);
	CHECK(score_rule_parse("centred", 7, &r) == 0 && r == SCORE_CENTRED);
	CHECK(score_rule_parse("centered", 8, &r) == 0 && r == SCORE_CENTRED);
	CHECK(score_rule_parse("LEGACY ", 7, &r) == -1);
	CHECK(score_rule_parse("legacy", 5, &r) == -1 && score_rule_parse("centere", 7, &r) == -1);
	CHECK(score_rule_parse(NULL, 0, &r) == -1);
	CHECK(strcmp(score_rule_name(SCORE_LEGACY), "legacy") == 0);
	CHECK(strcmp(score_rule_name(SCORE_CENTRED), "centred") == 0);
	/* the table: one name per rule, in enum order, then NULL; each parses back */
	for (unsigned v = 0; v < SCORE_RULE_COUNT; v++) {
		const char *name = score_rule_name((enum score_rule)v);
		CHECK(name != NULL && name == score_rule_names[v]);
		CHECKF(score_rule_parse(name, strlen(name), &r) == 0 && r == (enum score_rule)v,
		       "%s", name);
	}
	CHECK(score_rule_names[SCORE_RULE_COUNT] == NULL);
}

static void test_bad_stats(void)
{
	struct model_spec sp = old_spec();
	double x[N * C], y[N * C], score[N], centre[3], thr = 0;
	unsigned char flag[N];
	struct rb_err err;
	make(x, y);
	sp.avg_loss = -1;
	CHECK(score_rows(&sp, x, y, N, C, NULL, score, flag, centre, &thr, &err) == RB_E_MODEL);
	sp = old_spec();
	CHECK(score_rows(&sp, x, y, 0, C, NULL, score, flag, centre, &thr, &err) == RB_E_MODEL);
	CHECK(score_rows(&sp, x, y, N, 2, NULL, score, flag, centre, &thr, &err) == RB_E_MODEL);
}

int main(void)
{
	test_median();
	test_centred_old_ini();
	test_centred_own_stats();
	test_legacy();
	test_parse();
	test_bad_stats();
	return 0;
}
