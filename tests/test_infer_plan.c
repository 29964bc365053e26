/*
 * infer_plan_measure and the auto path that follows a plan (infer.c), on
 * traffic.keras: the measured plan (probe child) names a path for every
 * chunk size and records the times; RB_INFER_PLAN forces vector, dnnl or the
 * static rule, and rejects anything else; auto with any plan, a mixed one
 * included, answers as the reference does (float32 tolerance) for batches
 * across the plan's 64-sample chunks; infer_plan_describe says what was
 * decided. Timings are not asserted (a shared machine), only their presence.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer_synth.h"
#include "rb/model/infer.h"
#include "rb/model/model.h"
#include "testutil.h"

/* float32 paths vs float64, max abs error (as test_infer_vec and test_infer_dnnl_vs_ref). */
#define TOL 3e-5

static void check_auto(const struct model *m, const char *what)
{
	static const size_t Bs[] = {1, 3, 8, 17, 64, 65, 130};
	struct rb_err err = {0};
	struct infer *ref = NULL, *aut = NULL;
	CHECKF(infer_new(&ref, m, INFER_REFERENCE, &err) == RB_OK, "%s", err.msg);
	CHECKF(infer_new(&aut, m, INFER_AUTO, &err) == RB_OK, "%s: %s", what, err.msg);
	size_t in_n = m->in_T * m->in_C, out_n = m->out_T * m->out_C;
	uint64_t rng = 20261205;
	for (size_t i = 0; i < sizeof Bs / sizeof Bs[0]; i++) {
		size_t B = Bs[i];
		float *x = malloc(B * in_n * sizeof *x), *yr = malloc(B * out_n * sizeof *yr);
		float *y = malloc(B * out_n * sizeof *y);
		CHECK(x != NULL && yr != NULL && y != NULL);
		sy_fill(x, B * in_n, &rng, 0.0, 1.0);
		CHECKF(infer_run(ref, x, B, yr, &err) == RB_OK, "%s", err.msg);
		memset(y, 0xff, B * out_n * sizeof *y); /* NaN: every output must be written */
		CHECKF(infer_run(aut, x, B, y, &err) == RB_OK, "%s: %s", what, err.msg);
		double w = 0.0;
		for (size_t k = 0; k < B * out_n; k++) {
			double e = fabs((double)y[k] - (double)yr[k]);
			w = e > w || isnan(e) ? e : w;
		}
		CHECKF(w <= TOL, "%s, B=%zu: max |auto - ref| = %g > %g", what, B, w, TOL);
		free(x);
		free(yr);
		free(y);
	}
	infer_free(ref);
	infer_free(aut);
}

static void describe(const struct model *m, const char *want_prefix)
{
	char line[512];
	size_t n = infer_plan_describe(m, line, sizeof line);
	printf("plan: %s\n", line);
	CHECKF(n == strlen(line), "describe returned %zu for %zu chars", n, strlen(line));
	CHECKF(strncmp(line, want_prefix, strlen(want_prefix)) == 0, "plan '%s' does not start '%s'", line,
	       want_prefix);
	char small[8];
	CHECK(infer_plan_describe(m, small, sizeof small) == n && strlen(small) == sizeof small - 1);
}

static void force(struct model *m, const char *env, enum infer_plan_source src)
{
	struct rb_err err = {0};
	setenv("RB_INFER_PLAN", env, 1);
	CHECKF(infer_plan_measure(m, &err) == RB_OK, "%s: %s", env, err.msg);
	CHECK(m->plan != NULL && m->plan->source == src);
}

int main(void)
{
	struct model *m = tu_load_upstream_model("traffic");
	struct rb_err err = {0};

	/* no plan: the static rule */
	CHECK(m->plan == NULL);
	describe(m, "static (no plan): vector 1-16, dnnl 17-64+");

	/* measured: every size has a path; both paths timed at every measured size */
	unsetenv("RB_INFER_PLAN");
	CHECKF(infer_plan_measure(m, &err) == RB_OK, "%s", err.msg);
	CHECK(m->plan != NULL);
	if (m->plan->source == INFER_PLAN_FALLBACK) {
		printf("SKIPPED: the probe failed here (%s): fallback plan checked instead\n", m->plan->note);
		describe(m, "fallback: vector 1-64+ (");
	} else {
		CHECK(m->plan->source == INFER_PLAN_MEASURED);
		for (size_t k = 0; k < INFER_PLAN_SIZES; k++)
			CHECKF(m->plan->us_vector[k] > 0.0 && m->plan->us_dnnl[k] > 0.0 &&
			       isfinite(m->plan->us_vector[k]) && isfinite(m->plan->us_dnnl[k]),
			       "size %zu: times %g, %g", infer_plan_sizes[k], m->plan->us_vector[k],
			       m->plan->us_dnnl[k]);
		describe(m, "measured: ");
	}
	for (size_t B = 1; B <= INFER_PLAN_MAX; B++)
		CHECKF(m->plan->path[B] == INFER_VECTOR || m->plan->path[B] == INFER_DNNL, "B=%zu: path %d", B,
		       m->plan->path[B]);
	check_auto(m, "measured plan");

	force(m, "vector", INFER_PLAN_FORCED);
	describe(m, "forced: vector 1-64+");
	check_auto(m, "forced vector");
	force(m, "dnnl", INFER_PLAN_FORCED);
	describe(m, "forced: dnnl 1-64+");
	check_auto(m, "forced dnnl");
	force(m, "static", INFER_PLAN_STATIC);
	describe(m, "static: vector 1-16, dnnl 17-64+");
	check_auto(m, "static");

	/* a mixed plan: chunks of 64 on one path, remainders on the other */
	for (size_t B = 1; B <= INFER_PLAN_MAX; B++)
		m->plan->path[B] = (unsigned char)(B % 2 ? INFER_VECTOR : INFER_DNNL);
	check_auto(m, "mixed");

	/* unknown values are refused and leave the plan as it was */
	setenv("RB_INFER_PLAN", "fastest", 1);
	struct infer_plan *before = m->plan;
	CHECK(infer_plan_measure(m, &err) == RB_E_CONFIG && strstr(err.msg, "RB_INFER_PLAN") != NULL);
	CHECK(m->plan == before);
	unsetenv("RB_INFER_PLAN");
	model_free(m);
	return 0;
}
