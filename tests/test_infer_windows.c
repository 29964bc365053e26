/*
 * infer_run_windows and the vector path's windows of one series
 * (model_vec_run_windows, model_lanes_run_series): the same answers as
 * running the sliced windows (bit for bit on the reference, oneDNN and
 * lane-major paths; within SAMPLES_TOL sample-major, and within VEC_TOL of
 * the reference) on every vector build this CPU runs, for window sets that
 * overlap as the engine's do, that repeat, that come in any order and that
 * do not overlap; the row-wise prefix found where it exists (the upstream
 * traffic model, its synthetic twin, an LSTM straight after the input) and
 * refused where a later layer reads it or a Concatenate precedes the LSTM;
 * the errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/model_lanes.h"
#include "core/model/model_vec.h"
#include "infer_synth.h"
#include "rb/model/infer.h"
#include "rb/model/model_ref.h"
#include "testutil.h"

/* The vector path against the float64 reference on these inputs (test_infer_vec.c's bound). */
#define VEC_TOL 3e-5
/* Sample-major windows of a series against their slices: a float rounding of a reordered sum
 * carried through the recurrences (outputs O(1)); both stay within VEC_TOL of the reference,
 * checked too. Measured max 7.6e-6 (printed at the end). */
#define SAMPLES_TOL 2e-5

static size_t per(size_t T, size_t C) { return (T > 0 ? T : 1) * C; }

/* A window set of B starts over n rows; fills starts, returns B. */
enum shape { ENGINE, REPEATED, SHUFFLED, APART };

static size_t make_starts(enum shape sh, size_t n, size_t T, size_t want, uint64_t *rng, size_t *starts)
{
	size_t B = 0;
	switch (sh) {
	case ENGINE: { /* stride T/2, the last window flush with the end (features_window_start) */
		size_t stride = T / 2 > 0 ? T / 2 : 1;
		for (size_t s = 0; s + T <= n && B < want; s += stride)
			starts[B++] = s;
		if (B < want && (n - T) % stride != 0)
			starts[B++] = n - T;
		break;
	}
	case REPEATED:
		for (; B < want; B++)
			starts[B] = (B / 3) % (n - T + 1);
		break;
	case SHUFFLED:
		for (; B < want; B++)
			starts[B] = (size_t)(sy_uniform(rng) * (double)(n - T + 1)) % (n - T + 1);
		break;
	case APART:
		for (size_t s = 0; s + T <= n && B < want; s += 2 * T)
			starts[B++] = s;
		break;
	}
	return B;
}

static void slice(const float *rows, size_t C, size_t T, const size_t *starts, size_t B, float *out)
{
	for (size_t b = 0; b < B; b++)
		memcpy(out + b * T * C, rows + starts[b] * C, T * C * sizeof *rows);
}

static const enum model_vec_isa isas[] = {MODEL_VEC_BASELINE, MODEL_VEC_AVX2, MODEL_VEC_AVX512};
static const char *const isa_names[] = {"baseline", "avx2+fma", "avx512"};
enum { N_ISA = sizeof isas / sizeof isas[0] };

static int runs_compared, shared_runs;
static double worst_samples;

/* max |a - b| over n floats; NaN anywhere is +inf. */
static double max_diff(const float *a, const float *b, size_t n)
{
	double worst = 0.0;
	for (size_t k = 0; k < n; k++) {
		double d = fabs((double)a[k] - (double)b[k]);
		if (!(d <= worst))
			worst = isnan(d) ? INFINITY : d;
	}
	return worst;
}

/*
 * For every build this CPU runs, lane-major from 1 window and by default:
 * model_vec_run_windows == model_vec_run on the slices (bit for bit when all
 * lane-major, else within SAMPLES_TOL), and within VEC_TOL of the reference; prefix_want is the prefix every lane
 * handle must report.
 */
static void check_vector(const struct model *m, const char *what, size_t prefix_want, uint64_t seed)
{
	struct rb_err err = {0};
	size_t T = m->in_T, C = m->in_C, out_n = per(m->out_T, m->out_C);
	size_t n = 40 * T;
	uint64_t rng = seed;
	float *rows = malloc(n * C * sizeof *rows);
	size_t starts[80];
	float *win = malloc(80 * T * C * sizeof *win);
	float *a = malloc(80 * out_n * sizeof *a), *b = malloc(80 * out_n * sizeof *b);
	double *xd = malloc(80 * T * C * sizeof *xd), *yd = malloc(80 * out_n * sizeof *yd);
	CHECK(rows != NULL && win != NULL && a != NULL && b != NULL && xd != NULL && yd != NULL);
	sy_fill(rows, n * C, &rng, 0.0, 1.0); /* the range of the rescaled features */
	for (int k = 0; k < N_ISA; k++) {
		if (!model_vec_isa_supported(isas[k])) {
			printf("SKIPPED: %s, vector build %s (this CPU cannot run it)\n", what, isa_names[k]);
			continue;
		}
		struct model_lanes *lanes = NULL;
		CHECKF(model_lanes_new(&lanes, m, isas[k], &err) == RB_OK, "%s", err.msg);
		CHECKF(model_lanes_shared_prefix(lanes) == prefix_want, "%s: prefix %zu, want %zu", what,
		       model_lanes_shared_prefix(lanes), prefix_want);
		/* the series runner itself against the lanes forward of the slices, group by group */
		size_t L = model_lanes_count(lanes);
		static const size_t n_wins[] = {1, 2, 5, 8, 9, 64, 65, 77};
		for (size_t sd = 2; sd <= 3; sd++) {
			size_t stride = T / sd;
			for (size_t q = 0; q < sizeof n_wins / sizeof n_wins[0]; q++) {
				size_t nw = n_wins[q], first = 3;
				if (first + (nw - 1) * stride + T > n)
					continue;
				for (size_t w = 0; w < nw; w++)
					starts[w] = first + w * stride;
				slice(rows, C, T, starts, nw, win);
				memset(b, 0xff, nw * out_n * sizeof *b);
				int done = model_lanes_run_series(lanes, rows, first, stride, nw, b);
				int can = prefix_want > 0 && stride > 0 && T % stride == 0;
				CHECKF(done == can, "%s, %s: run_series stride %zu returned %d", what, isa_names[k],
				       stride, done);
				if (!done)
					continue;
				for (size_t w = 0; w < nw; w += L)
					model_lanes_run(lanes, win + w * T * C, nw - w < L ? nw - w : L, a + w * out_n);
				CHECKF(memcmp(a, b, nw * out_n * sizeof *a) == 0,
				       "%s, %s, stride %zu, %zu windows: series differs from slices", what,
				       isa_names[k], stride, nw);
				shared_runs++;
			}
		}
		CHECK(model_lanes_run_series(lanes, rows, 0, T, 2, b) == 0);     /* no overlap */
		CHECK(model_lanes_run_series(lanes, rows, 0, 0, 2, b) == 0);     /* no stride */
		if (T % 5 != 0)
			CHECK(model_lanes_run_series(lanes, rows, 0, 5, 2, b) == 0); /* not a divisor */
		model_lanes_free(lanes);
		struct model_vec *v = NULL;
		CHECKF(model_vec_new(&v, m, isas[k], &err) == RB_OK, "%s", err.msg);
		static const size_t lanes_min[] = {1, 0};
		static const size_t batches[] = {1, 2, 3, 5, 8, 9, 16, 17, 33, 64, 79};
		for (size_t lm = 0; lm < 2; lm++) {
			model_vec_set_lanes_min(v, lanes_min[lm] > 0 ? lanes_min[lm]
			                                             : model_vec_lanes_min_default(isas[k]));
			for (int sh = ENGINE; sh <= APART; sh++)
				for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
					size_t B = make_starts((enum shape)sh, n, T, batches[bi], &rng, starts);
					if (B == 0)
						continue;
					slice(rows, C, T, starts, B, win);
					memset(a, 0xff, B * out_n * sizeof *a);
					memset(b, 0xff, B * out_n * sizeof *b);
					model_vec_run(v, win, B, a);
					model_vec_run_windows(v, rows, starts, B, b);
					/* lane-major: bit for bit; sample-major may sum a projected row in another
					 * order (a row alone, or in a tile of rows: model_vec.c panel_block) */
					double d = max_diff(a, b, B * out_n);
					CHECKF(lanes_min[lm] == 1 ? memcmp(a, b, B * out_n * sizeof *a) == 0 : d <= SAMPLES_TOL,
					       "%s, %s, lanes_min %zu, shape %d, B=%zu: windows differ from slices by %g",
					       what, isa_names[k], lanes_min[lm], sh, B, d);
					if (d > worst_samples)
						worst_samples = d;
					runs_compared++;
					if (bi == 1 || bi == 2 || bi == 4 || bi == 9) { /* the reference: B = 2, 3, 8, 64 */
						for (size_t q = 0; q < B * T * C; q++)
							xd[q] = win[q];
						CHECKF(model_ref_forward(m, xd, B, yd, &err) == RB_OK, "%s", err.msg);
						for (size_t q = 0; q < B * out_n; q++)
							CHECKF(fabs((double)b[q] - yd[q]) <= VEC_TOL, "%s, %s: |%g - ref %g|",
							       what, isa_names[k], (double)b[q], yd[q]);
					}
				}
		}
		model_vec_free(v);
	}
	free(rows);
	free(win);
	free(a);
	free(b);
	free(xd);
	free(yd);
}

/* infer_run_windows on path == infer_run on the slices in chunks of INFER_PLAN_MAX (bit for bit
 * on reference and oneDNN, within SAMPLES_TOL on vector and auto), engine windows, B up to 150. */
static void check_paths(const struct model *m, const char *what)
{
	struct rb_err err = {0};
	size_t T = m->in_T, C = m->in_C, out_n = per(m->out_T, m->out_C);
	size_t n = 80 * T;
	uint64_t rng = 7;
	float *rows = malloc(n * C * sizeof *rows);
	size_t starts[160];
	float *win = malloc(160 * T * C * sizeof *win);
	float *a = malloc(160 * out_n * sizeof *a), *b = malloc(160 * out_n * sizeof *b);
	CHECK(rows != NULL && win != NULL && a != NULL && b != NULL);
	sy_fill(rows, n * C, &rng, 0.0, 1.0); /* the range of the rescaled features */
	static const enum infer_path paths[] = {INFER_REFERENCE, INFER_VECTOR, INFER_DNNL, INFER_AUTO};
	static const size_t batches[] = {1, 3, 16, 17, 64, 65, 150};
	for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
		struct infer *inf = NULL;
		CHECKF(infer_new(&inf, m, paths[p], &err) == RB_OK, "%s: %s", what, err.msg);
		for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
			size_t B = make_starts(ENGINE, n, T, batches[bi], &rng, starts);
			CHECKF(B == batches[bi], "%s: %zu windows, want %zu", what, B, batches[bi]);
			slice(rows, C, T, starts, B, win);
			for (size_t c = 0; c < B; c += INFER_PLAN_MAX) /* auto without a plan: per chunk */
				CHECKF(infer_run(inf, win + c * T * C, B - c < INFER_PLAN_MAX ? B - c : INFER_PLAN_MAX,
				                 a + c * out_n, &err) == RB_OK,
				       "%s", err.msg);
			CHECKF(infer_run_windows(inf, rows, n, starts, B, b, &err) == RB_OK, "%s", err.msg);
			double d = max_diff(a, b, B * out_n);
			CHECKF(paths[p] == INFER_REFERENCE || paths[p] == INFER_DNNL
			               ? memcmp(a, b, B * out_n * sizeof *a) == 0
			               : d <= SAMPLES_TOL,
			       "%s, path %s, B=%zu: windows differ by %g", what, infer_path_name(paths[p]), B, d);
			if (d > worst_samples)
				worst_samples = d;
			runs_compared++;
		}
		if (p == 0) { /* the errors, on one path */
			CHECK(infer_run_windows(inf, rows, n, starts, 0, b, &err) == RB_E_INPUT);
			size_t past[2] = {0, n - T + 1};
			CHECK(infer_run_windows(inf, rows, n, past, 2, b, &err) == RB_E_INPUT);
			CHECKF(strstr(err.msg, "past the series") != NULL, "message: %s", err.msg);
			size_t huge[1] = {SIZE_MAX - 1};
			CHECK(infer_run_windows(inf, rows, n, huge, 1, b, &err) == RB_E_INPUT);
		}
		infer_free(inf);
	}
	free(rows);
	free(win);
	free(a);
	free(b);
}

static size_t layer_named(const struct model *m, const char *name)
{
	for (size_t i = 0; i < m->n_layers; i++)
		if (strcmp(m->layers[i].name, name) == 0)
			return i;
	CHECKF(0, "no layer %s", name);
	return 0;
}

int main(void)
{
	struct model *m = tu_load_upstream_model("traffic");
	check_vector(m, "traffic.keras", layer_named(m, "encoder_0"), 1);
	check_paths(m, "traffic.keras");
	model_free(m);

	struct synth s;
	sy_traffic(&s, 3);
	check_vector(&s.m, "synthetic traffic", 6, 2);
	sy_free(&s);

	/* an LSTM straight after the input: the prefix is its projection alone */
	size_t x = sy_init(&s, 6, 3, 4);
	x = sy_lstm(&s, x, 5, 1, 1);
	x = sy_dense(&s, x, 3, ACT_TANH, 1);
	sy_finish(&s, x);
	check_vector(&s.m, "input then LSTM", 1, 5);
	sy_free(&s);

	/* a skip connection reads the prefix after the LSTM: no sharing, same answers */
	x = sy_init(&s, 8, 4, 6);
	size_t d = sy_dense(&s, x, 6, ACT_GELU, 1);
	x = sy_lstm(&s, d, 5, 1, 1);
	size_t cat_in[2] = {x, d};
	x = sy_concat(&s, 2, cat_in);
	x = sy_dense(&s, x, 4, ACT_LINEAR, 1);
	sy_finish(&s, x);
	check_vector(&s.m, "skip connection", 0, 7);
	sy_free(&s);

	/* a Concatenate before the first LSTM is not a row-wise layer here: no prefix */
	x = sy_init(&s, 8, 4, 8);
	size_t e = sy_dense(&s, x, 3, ACT_RELU, 1);
	size_t f = sy_dense(&s, x, 2, ACT_SIGMOID, 1);
	size_t ef[2] = {e, f};
	x = sy_concat(&s, 2, ef);
	x = sy_lstm(&s, x, 4, 0, 1);
	sy_finish(&s, x);
	check_vector(&s.m, "concat before the LSTM", 0, 9);
	sy_free(&s);

	/* a model whose input is one row, not a window: refused with a clear error */
	x = sy_init(&s, 0, 5, 10);
	x = sy_dense(&s, x, 3, ACT_RELU, 1);
	sy_finish(&s, x);
	struct infer *flat = NULL;
	struct rb_err err = {0};
	CHECKF(infer_new(&flat, &s.m, INFER_VECTOR, &err) == RB_OK, "%s", err.msg);
	float flat_rows[10] = {0}, flat_out[6];
	size_t flat_starts[1] = {0};
	CHECK(infer_run_windows(flat, flat_rows, 2, flat_starts, 1, flat_out, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "single rows") != NULL, "message: %s", err.msg);
	infer_free(flat);
	sy_free(&s);

	CHECKF(shared_runs > 0, "no series run compared");
	printf("infer_windows: %d window sets as their slices (sample-major: max difference %g), "
	       "%d series runs identical\n", runs_compared, worst_samples, shared_runs);
	return 0;
}
