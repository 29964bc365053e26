/*
 * bench_infer: time per batch of the traffic model on every inference path
 * (reference, oneDNN, vector, auto), on each compiled build of the vector
 * path the CPU can run, and on oneDNN variants, with ratios measured in the
 * same run; plus the time of infer_new. Prints tables;
 * asserts nothing. Run it with OMP_NUM_THREADS=1 (one worker = one thread, as
 * the service runs):
 *   OMP_NUM_THREADS=1 build/bench/bench_infer [model.keras model.ini]
 * With flags it times only the paths and batches asked for, interleaved
 * round by round, and prints CPU and wall time per window (medians):
 *   bench_infer [--path P[,P...]] [--batch N[,N...]] [--rounds R] [--isa I] [--model K I]
 *               [--series]
 *   P: auto, dnnl, vector, reference, and the vector path's two forwards
 *      forced: lanes (lane-major), samples (sample-major); default vector,dnnl
 *   I: the vector build: best (default), baseline, avx2, avx512
 *   --series: the N windows are views of one series at the engine's stride
 *      (window_size), run by infer_run_windows / model_vec_run_windows, as the
 *      service runs them; without it, N independent windows (infer_run). A
 *      path written P:series runs so alone (e.g. --path vector,vector:series).
 * Default model: $RB_SHARED_DIR/upstream/traffic.{keras,ini}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb/model/infer.h"
#include "rb/model/model.h"
#include "core/model/model_dnnl.h"
#include "core/model/model_lanes.h"
#include "core/model/model_vec.h"
#include "bench_util.h"

#define REF_RUNS 3
#define DNNL_RUNS 11
#define SMALL_RUNS 101 /* batches of at most 16: short runs, more of them */
#define NEW_RUNS 5

/* Process CPU time: with one thread it is the compute time, and it does not
 * count time the process spent preempted on a shared machine. */
static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void die(const char *what, const struct rb_err *err)
{
	fprintf(stderr, "bench_infer: %s: %s\n", what, err->msg);
	exit(1);
}

/* Median µs of runs calls of f on B samples. */
typedef enum rb_code (*run_fn)(void *h, const float *in, size_t B, float *out, struct rb_err *err);

static double time_runs(run_fn f, void *h, const float *x, size_t B, float *y, size_t runs)
{
	double t[SMALL_RUNS];
	struct rb_err err = {0};
	for (size_t r = 0; r < runs; r++) {
		double t0 = now_us();
		if (f(h, x, B, y, &err) != RB_OK)
			die("run", &err);
		t[r] = now_us() - t0;
	}
	return median(t, runs);
}

static enum rb_code run_infer(void *h, const float *in, size_t B, float *out, struct rb_err *err)
{
	return infer_run(h, in, B, out, err);
}

static enum rb_code run_vec(void *h, const float *in, size_t B, float *out, struct rb_err *err)
{
	(void)err;
	model_vec_run(h, in, B, out);
	return RB_OK;
}

static enum rb_code run_dnnl(void *h, const float *in, size_t B, float *out, struct rb_err *err)
{
	return model_dnnl_run(h, in, B, out, err);
}

/* ---- flag mode ---- */

#define FLAG_MAX 16

enum bpath { BP_AUTO, BP_DNNL, BP_VECTOR, BP_REFERENCE, BP_LANES, BP_SAMPLES, BP_COUNT };
static const char *const bpath_names[BP_COUNT] = {"auto", "dnnl", "vector", "reference", "lanes",
                                                  "samples"};

/* Splits a comma list into out (at most FLAG_MAX); returns the count, 0 on junk. */
static size_t split_list(char *s, char **out)
{
	size_t n = 0;
	for (char *tok = s; tok != NULL && n < FLAG_MAX;) {
		char *comma = strchr(tok, ',');
		if (comma != NULL)
			*comma = '\0';
		if (*tok == '\0')
			return 0;
		out[n++] = tok;
		tok = comma != NULL ? comma + 1 : NULL;
	}
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_infer [model.keras model.ini]\n"
	                "       bench_infer [--path P[,P...]] [--batch N[,N...]] [--rounds R] "
	                "[--isa best|baseline|avx2|avx512] [--model K I] [--series]\n"
	                "       P: auto dnnl vector reference lanes samples\n");
	exit(2);
}

struct runner {
	enum bpath p;
	int series;            /* windows of one series (--series, P:series) */
	struct infer *inf;     /* auto, dnnl, vector, reference */
	struct model_vec *vec; /* lanes, samples */
};

/* B windows: independent samples x (starts NULL), or views x + starts[b] rows of one series of n rows. */
static void runner_run(struct runner *r, const float *x, size_t n, const size_t *starts, size_t B,
                       float *y)
{
	struct rb_err err = {0};
	if (r->vec != NULL && starts != NULL)
		model_vec_run_windows(r->vec, x, starts, B, y);
	else if (r->vec != NULL)
		model_vec_run(r->vec, x, B, y);
	else if (starts != NULL ? infer_run_windows(r->inf, x, n, starts, B, y, &err) != RB_OK
	                        : infer_run(r->inf, x, B, y, &err) != RB_OK)
		die("run", &err);
}

static int flag_mode(int argc, char **argv, const char *keras, const char *ini)
{
	char *paths[FLAG_MAX], *batches[FLAG_MAX];
	char pdefault[] = "vector,dnnl", bdefault[] = "1,2,3,64,630";
	size_t np = split_list(pdefault, paths), nb = split_list(bdefault, batches), rounds = 7;
	enum model_vec_isa isa = MODEL_VEC_BEST;
	int series = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--series") == 0) {
			series = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--path") == 0)
			np = split_list(argv[++i], paths);
		else if (strcmp(argv[i], "--batch") == 0)
			nb = split_list(argv[++i], batches);
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = (size_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--isa") == 0) {
			const char *v = argv[++i];
			isa = strcmp(v, "baseline") == 0 ? MODEL_VEC_BASELINE
			      : strcmp(v, "avx2") == 0   ? MODEL_VEC_AVX2
			      : strcmp(v, "avx512") == 0 ? MODEL_VEC_AVX512
			      : strcmp(v, "best") == 0   ? MODEL_VEC_BEST
			                                 : (usage(), MODEL_VEC_BEST);
		} else if (strcmp(argv[i], "--model") == 0 && i + 2 < argc) {
			keras = argv[++i];
			ini = argv[++i];
		} else {
			usage();
		}
	}
	if (np == 0 || nb == 0 || rounds == 0 || rounds > 1000)
		usage();
	struct rb_err err = {0};
	struct model *m = NULL;
	if (model_load_files(&m, keras, ini, "bench", &err) != RB_OK)
		die("load", &err);
	struct runner run[FLAG_MAX];
	int suffixed[FLAG_MAX], any_series = series;
	size_t B[FLAG_MAX], Bmax = 1;
	for (size_t k = 0; k < nb; k++) {
		B[k] = (size_t)strtoul(batches[k], NULL, 10);
		if (B[k] == 0 || B[k] > 100000)
			usage();
		Bmax = B[k] > Bmax ? B[k] : Bmax;
	}
	for (size_t k = 0; k < np; k++) {
		memset(&run[k], 0, sizeof run[k]);
		char *colon = strchr(paths[k], ':');
		suffixed[k] = colon != NULL && strcmp(colon, ":series") == 0;
		if (colon != NULL && !suffixed[k])
			usage();
		if (colon != NULL)
			*colon = '\0';
		any_series |= suffixed[k];
		size_t p = 0;
		while (p < BP_COUNT && strcmp(paths[k], bpath_names[p]) != 0)
			p++;
		if (p == BP_COUNT)
			usage();
		run[k].p = (enum bpath)p;
		run[k].series = series || suffixed[k];
		enum rb_code rc;
		if (p == BP_LANES || p == BP_SAMPLES) {
			rc = model_vec_new(&run[k].vec, m, isa, &err);
			if (rc == RB_OK)
				model_vec_set_lanes_min(run[k].vec, p == BP_LANES ? 1 : MODEL_LANES + 1);
		} else {
			rc = infer_new(&run[k].inf, m, (enum infer_path)p, &err);
		}
		if (rc != RB_OK)
			die(paths[k], &err);
	}
	size_t in_n = m->in_T * m->in_C, out_n = m->out_T * m->out_C;
	size_t stride = m->spec.window_size > 0 ? m->spec.window_size : m->in_T;
	size_t n_rows = (Bmax - 1) * stride + m->in_T; /* --series: the rows Bmax windows cover */
	size_t x_floats = any_series ? n_rows * m->in_C : Bmax * in_n; /* a series serves both */
	float *x = malloc(x_floats * sizeof *x), *y = malloc(Bmax * out_n * sizeof *y);
	size_t *starts = malloc(Bmax * sizeof *starts);
	double *tc = malloc(np * nb * rounds * sizeof *tc), *tw = malloc(np * nb * rounds * sizeof *tw);
	if (x == NULL || y == NULL || starts == NULL || tc == NULL || tw == NULL)
		return 1;
	uint64_t rng = 20261205;
	for (size_t k = 0; k < x_floats; k++)
		x[k] = (float)bench_unit(&rng);
	for (size_t b = 0; b < Bmax; b++)
		starts[b] = b * stride;

	/* warm-up, then rounds; in each round every (path, batch) once, ~256 windows a cell */
	for (size_t k = 0; k < np; k++)
		runner_run(&run[k], x, n_rows, run[k].series ? starts : NULL, Bmax, y);
	for (size_t r = 0; r < rounds; r++)
		for (size_t k = 0; k < np; k++)
			for (size_t j = 0; j < nb; j++) {
				size_t reps = B[j] >= 256 ? 1 : 256 / B[j];
				if (run[k].p == BP_REFERENCE)
					reps = 1;
				double c0 = bench_cpu_us(), w0 = bench_wall_us();
				for (size_t q = 0; q < reps; q++)
					runner_run(&run[k], x, n_rows, run[k].series ? starts : NULL, B[j], y);
				size_t cell = (k * nb + j) * rounds + r;
				tc[cell] = (bench_cpu_us() - c0) / (double)(reps * B[j]);
				tw[cell] = (bench_wall_us() - w0) / (double)(reps * B[j]);
			}
	const char *omp = getenv("OMP_NUM_THREADS");
	printf("model %s, %s, OMP_NUM_THREADS=%s, %zu interleaved rounds, medians; vector build %s\n",
	       keras, series ? "windows of one series (stride window_size)"
	       : any_series ? "P:series windows of one series (stride window_size), the others independent"
	                    : "independent windows",
	       omp != NULL ? omp : "(unset)", rounds, model_vec_isa_supported(MODEL_VEC_AVX512) &&
	       isa == MODEL_VEC_BEST ? "avx512" : isa == MODEL_VEC_BEST && model_vec_isa_supported(MODEL_VEC_AVX2)
	       ? "avx2+fma" : isa == MODEL_VEC_AVX2 ? "avx2+fma" : isa == MODEL_VEC_AVX512 ? "avx512" : "baseline");
	printf("| path | batch | CPU µs/window | wall µs/window | CPU µs/call | vs %s |\n"
	       "|---|---|---|---|---|---|\n", bpath_names[run[0].p]);
	for (size_t j = 0; j < nb; j++)
		for (size_t k = 0; k < np; k++) {
			double c = bench_median(tc + (k * nb + j) * rounds, rounds);
			double w = bench_median(tw + (k * nb + j) * rounds, rounds);
			double c_first = bench_median(tc + j * rounds, rounds);
			printf("| %s%s | %zu | %.2f | %.2f | %.1f | %.2f× |\n", bpath_names[run[k].p],
			       run[k].series && !series ? ":series" : "", B[j], c, w, c * (double)B[j], c / c_first);
		}
	for (size_t k = 0; k < np; k++) {
		infer_free(run[k].inf);
		model_vec_free(run[k].vec);
	}
	free(x);
	free(y);
	free(starts);
	free(tc);
	free(tw);
	model_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	char keras[4096], ini[4096];
	const char *shared = getenv("RB_SHARED_DIR");
	if (shared == NULL || shared[0] == '\0')
		shared = RB_SHARED_DIR_DEFAULT;
	if (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
		snprintf(keras, sizeof keras, "%s/upstream/traffic.keras", shared);
		snprintf(ini, sizeof ini, "%s/upstream/traffic.ini", shared);
		return flag_mode(argc, argv, keras, ini);
	}
	if (argc == 3) {
		snprintf(keras, sizeof keras, "%s", argv[1]);
		snprintf(ini, sizeof ini, "%s", argv[2]);
	} else if (argc == 1) {
		snprintf(keras, sizeof keras, "%s/upstream/traffic.keras", shared);
		snprintf(ini, sizeof ini, "%s/upstream/traffic.ini", shared);
	} else {
		fprintf(stderr, "usage: bench_infer [model.keras model.ini]\n");
		return 2;
	}
	const char *omp = getenv("OMP_NUM_THREADS");
	printf("model %s, OMP_NUM_THREADS=%s%s\n", keras, omp != NULL ? omp : "(unset)",
	       omp != NULL && strcmp(omp, "1") == 0 ? "" : "  (set it to 1 for the service's figures)");

	struct rb_err err = {0};
	struct model *m = NULL;
	if (model_load_files(&m, keras, ini, "bench", &err) != RB_OK)
		die("load", &err);

	/* infer_new: engine, weight reorders, primitives of every batch size, warm-up. */
	double tn[NEW_RUNS];
	for (size_t r = 0; r < NEW_RUNS; r++) {
		struct infer *inf = NULL;
		double t0 = now_us();
		if (infer_new(&inf, m, INFER_DNNL, &err) != RB_OK)
			die("infer_new", &err);
		tn[r] = now_us() - t0;
		infer_free(inf);
	}
	double first_new = tn[0];
	printf("infer_new (oneDNN, build + warm-up of all batch sizes): first %.1f ms, median of %d %.1f ms\n",
	       first_new / 1e3, NEW_RUNS, median(tn, NEW_RUNS) / 1e3);

	struct infer *ref = NULL, *fast = NULL, *vec = NULL, *aut = NULL;
	if (infer_new(&ref, m, INFER_REFERENCE, &err) != RB_OK || infer_new(&fast, m, INFER_DNNL, &err) != RB_OK ||
	    infer_new(&vec, m, INFER_VECTOR, &err) != RB_OK || infer_new(&aut, m, INFER_AUTO, &err) != RB_OK)
		die("infer_new", &err);
	/* Variants of the oneDNN path, same primitives otherwise. */
	struct model_dnnl_opts o_plain, o_keras;
	model_dnnl_opts_default(&o_plain);
	o_plain.lstm_plain_weights = 1;
	model_dnnl_opts_default(&o_keras);
	o_keras.fold_batch_norm = 0;
	o_keras.fuse_heads = 0;
	struct model_dnnl *v_plain = NULL, *v_keras = NULL;
	if (model_dnnl_new(&v_plain, m, &o_plain, &err) != RB_OK || model_dnnl_new(&v_keras, m, &o_keras, &err) != RB_OK)
		die("variant", &err);

	static const size_t Bs[] = {1, 64, 630};
	size_t in_n = m->in_T * m->in_C, out_n = m->out_T * m->out_C, Bmax = 630;
	float *x = malloc(Bmax * in_n * sizeof *x), *y = malloc(Bmax * out_n * sizeof *y);
	if (x == NULL || y == NULL)
		return 1;
	srand(1);
	for (size_t k = 0; k < Bmax * in_n; k++)
		x[k] = (float)rand() / (float)RAND_MAX;

	static const size_t Bsmall[] = {1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 630};
	printf("\nPaths, CPU time per batch, medians of %d runs (%d from 32 up), µs; auto = vector up to %d, "
	       "else oneDNN\n", SMALL_RUNS, DNNL_RUNS, INFER_AUTO_VECTOR_MAX);
	printf("| batch | oneDNN | vector | oneDNN / vector | auto | µs/window auto |\n|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < sizeof Bsmall / sizeof Bsmall[0]; i++) {
		size_t B = Bsmall[i], runs = B >= 32 ? DNNL_RUNS : SMALL_RUNS;
		double td = time_runs(run_infer, fast, x, B, y, runs);
		double tv = time_runs(run_infer, vec, x, B, y, runs);
		double ta = time_runs(run_infer, aut, x, B, y, runs);
		printf("| %zu | %.1f | %.1f | %.2f× | %.1f | %.1f |\n", B, td, tv, td / tv, ta, ta / (double)B);
	}

	/* The vector path's builds, interleaved run by run so that they see the same neighbours. */
	static const enum model_vec_isa isas[] = {MODEL_VEC_BASELINE, MODEL_VEC_AVX2, MODEL_VEC_AVX512};
	enum { N_ISA = sizeof isas / sizeof isas[0] };
	struct model_vec *vb[N_ISA] = {NULL};
	for (size_t k = 0; k < N_ISA; k++)
		if (model_vec_isa_supported(isas[k]) && model_vec_new(&vb[k], m, isas[k], &err) != RB_OK)
			die("model_vec_new", &err);
	static const size_t Bisa[] = {1, 2, 3, 4, 8, 16};
	printf("\nVector path by build, CPU time per batch, medians of %d runs, µs (\"-\": this CPU cannot run it)\n",
	       SMALL_RUNS);
	printf("| batch | baseline | avx2+fma | avx512 | avx2+fma / avx512 |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < sizeof Bisa / sizeof Bisa[0]; i++) {
		size_t B = Bisa[i];
		double t[N_ISA][SMALL_RUNS];
		for (size_t r = 0; r < SMALL_RUNS; r++)
			for (size_t k = 0; k < N_ISA; k++)
				if (vb[k] != NULL)
					t[k][r] = time_runs(run_vec, vb[k], x, B, y, 1);
		double med[N_ISA] = {0};
		printf("| %zu |", B);
		for (size_t k = 0; k < N_ISA; k++) {
			if (vb[k] != NULL) {
				med[k] = median(t[k], SMALL_RUNS);
				printf(" %.1f |", med[k]);
			} else {
				printf(" - |");
			}
		}
		if (vb[1] != NULL && vb[2] != NULL)
			printf(" %.2f× |\n", med[1] / med[2]);
		else
			printf(" - |\n");
	}
	for (size_t k = 0; k < N_ISA; k++)
		model_vec_free(vb[k]);

	printf("\nCPU time per batch, medians (reference %d runs, oneDNN %d runs), µs; ratio = reference / column\n",
	       REF_RUNS, DNNL_RUNS);
	printf("| batch | reference | oneDNN (default) | ratio | µs/window | oneDNN, ldigo LSTM weights | "
	       "oneDNN, no BN fold / head merge |\n|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < sizeof Bs / sizeof Bs[0]; i++) {
		size_t B = Bs[i];
		double tr = time_runs(run_infer, ref, x, B, y, REF_RUNS);
		double td = time_runs(run_infer, fast, x, B, y, DNNL_RUNS);
		double tp = time_runs(run_dnnl, v_plain, x, B, y, DNNL_RUNS);
		double tk = time_runs(run_dnnl, v_keras, x, B, y, DNNL_RUNS);
		printf("| %zu | %.0f | %.0f | %.0f× | %.1f | %.0f (%.0f×) | %.0f (%.0f×) |\n", B, tr, td, tr / td,
		       td / (double)B, tp, tr / tp, tk, tr / tk);
	}
	free(x);
	free(y);
	model_dnnl_free(v_plain);
	model_dnnl_free(v_keras);
	infer_free(ref);
	infer_free(fast);
	infer_free(vec);
	infer_free(aut);
	model_free(m);
	return 0;
}
