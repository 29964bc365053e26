/*
 * model_lanes: float32 forward of the layer graph with MODEL_LANES samples
 * side by side, one per SIMD lane (see model_lanes.h). Every tensor of the
 * graph is stored lane-major, [rows][C][MODEL_LANES]: the value of feature c
 * at row r for the 16 samples is one 64-byte vector. Then every operation of
 * the graph is the scalar reference algorithm (model_ref.c) with each scalar
 * replaced by a vector of 16 samples and each weight broadcast: sums keep the
 * reference's order within a lane, nothing is shuffled across lanes, and no
 * weight is repacked.
 *   - Dense: a block of OB output columns (each a vector accumulator) stays
 *     in registers for the whole input loop; the activation is applied in
 *     registers before the one store (softmax, which needs the whole row,
 *     runs after);
 *   - LSTM: the input projection is a Dense without activation (once for a
 *     RepeatVector input); the recurrence computes the four gates of UB units
 *     in 4·UB accumulators, then the cell and hidden state of those units at
 *     once (fused nonlinearities), h double-buffered;
 *   - exp, sigmoid, tanh and erf are the same branch-free approximations as
 *     model_vec.c (exp: relative error below 2e-7; erf: A&S 7.1.26, absolute
 *     error below 7e-7 in float), written on vectors.
 * Compiled three times (baseline x86-64, AVX2+FMA, AVX-512) with register
 * blocks sized for each (OB, UB below); a 64-byte vector is 4 SSE or 2 AVX2
 * registers in the narrower builds.
 * Not here: graph validation (model_ref_check), choosing which samples run
 * here (model_vec.c), threads.
 */
#include "model_lanes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

#include "rb/base/assert.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LANES_HAVE_X86 1
#else
#define LANES_HAVE_X86 0
#endif

/* clang's AVX-512 target (GCC's, in the pragma below, adds prefer-vector-width=512). */
#define LANES_AVX512_TARGET "avx512f,avx512vl,avx512dq,avx512bw,fma"

#define LN_INLINE static inline __attribute__((always_inline))

/* Largest register blocks of any build: Dense output columns, LSTM units. */
#define OB_MAX 24
#define UB_MAX 6


struct model_lanes {
	const struct model *m;
	size_t in_layer;
	size_t lanes;          /* samples per run: the build's vector width in floats, L below */
	float **act;           /* [n_layers]: [rows][C][L]; identities alias their input */
	const float **bn_scale, **bn_shift; /* [n_layers]: BatchNorm only, [C] */
	float *proj;           /* [max T][max 4H][L]: an LSTM's projected inputs */
	float *h0, *h1, *cell; /* [max H][L] each; h0 also the zero state */
	float *arena;          /* every float buffer above, one allocation */
	enum model_vec_isa isa;
	size_t prefix_lstm;    /* k > 0: layers 0 .. k-1 are a row-wise prefix of LSTM k; 0: none */
	/* model_lanes_run_series: LSTM k's projections of a series' rows in blocks of block_rows
	 * rows, [block_rows][4H][series_pitch] (the last index a block), in series_buf (its own
	 * allocation, grown on first use); series_proj: where the current group's lane 0 reads */
	size_t block_rows, series_pitch;
	const float *series_proj;
	float *series_buf;
	size_t series_cap;     /* floats series_buf holds */
};

static size_t rows_of(const struct layer *l) { return l->T > 0 ? l->T : 1; }

/* What a call of a build's forward runs (see forward_body in model_lanes_kernel.h). */
enum lanes_part {
	LANES_ALL,    /* the whole graph */
	LANES_PREFIX, /* the row-wise prefix and LSTM prefix_lstm's input projection */
	LANES_SUFFIX, /* LSTM prefix_lstm's recurrence from v->series_proj, then the rest */
};

/* ---- the forward, once per build ---- */

/* Windows of a series whose prefix projections model_lanes_run_series keeps at once. */
#define SERIES_CHUNK 64

/* Register blocks: accumulators (OB >= 4, 4·UB vectors) plus a few temporaries fit each build's file. */
#define LN_L 4
#define LNF(name) name##_baseline
#if LANES_HAVE_X86
#define LN_MAXPS(a, b) ((vf_baseline)_mm_max_ps((__m128)(a), (__m128)(b)))
#define LN_MINPS(a, b) ((vf_baseline)_mm_min_ps((__m128)(a), (__m128)(b)))
#define LN_RCPPS(a) ((vf_baseline)_mm_rcp_ps((__m128)(a)))
#else /* compare and select, and an exact division: the same results within the stated errors */
#define LN_MAXPS(a, b) ((vf_baseline)(((vi_baseline)(a) & ((a) > (b))) | ((vi_baseline)(b) & ~((a) > (b)))))
#define LN_MINPS(a, b) ((vf_baseline)(((vi_baseline)(a) & ((a) < (b))) | ((vi_baseline)(b) & ~((a) < (b)))))
#define LN_RCPPS(a) (1.0f / (a))
#endif
#include "model_lanes_kernel.h"
#undef LN_L
#undef LNF
#undef LN_MAXPS
#undef LN_MINPS
#undef LN_RCPPS
static void forward_baseline(struct model_lanes *v, enum lanes_part part)
{
	forward_body_baseline(v, part, 4, 2);
}

#if LANES_HAVE_X86
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define LN_L 8
#define LNF(name) name##_avx2
#define LN_MAXPS(a, b) ((vf_avx2)_mm256_max_ps((__m256)(a), (__m256)(b)))
#define LN_MINPS(a, b) ((vf_avx2)_mm256_min_ps((__m256)(a), (__m256)(b)))
#define LN_RCPPS(a) ((vf_avx2)_mm256_rcp_ps((__m256)(a)))
#include "model_lanes_kernel.h"
#undef LN_L
#undef LNF
#undef LN_MAXPS
#undef LN_MINPS
#undef LN_RCPPS
static void forward_avx2(struct model_lanes *v, enum lanes_part part)
{
	forward_body_avx2(v, part, 12, 3);
}
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target(LANES_AVX512_TARGET))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,fma,prefer-vector-width=512")
#endif
#define LN_L 16
#define LNF(name) name##_avx512
#define LN_MAXPS(a, b) ((vf_avx512)_mm512_max_ps((__m512)(a), (__m512)(b)))
#define LN_MINPS(a, b) ((vf_avx512)_mm512_min_ps((__m512)(a), (__m512)(b)))
#define LN_RCPPS(a) ((vf_avx512)_mm512_rcp14_ps((__m512)(a)))
#include "model_lanes_kernel.h"
#undef LN_L
#undef LNF
#undef LN_MAXPS
#undef LN_MINPS
#undef LN_RCPPS
static void forward_avx512(struct model_lanes *v, enum lanes_part part)
{
	forward_body_avx512(v, part, 24, 6);
}
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

/* ---- handle ---- */

static int is_alias(const struct layer *l)
{
	return l->kind == LAYER_DROPOUT || l->kind == LAYER_GAUSSIAN_NOISE;
}

static size_t bigger(size_t a, size_t b) { return a > b ? a : b; }

/* 1 when each output row of layer l is a function of the same row of its one input alone. */
static int is_row_wise(const struct model *m, const struct layer *l)
{
	if (l->n_inputs != 1)
		return 0;
	const struct layer *p = &m->layers[l->inputs[0]];
	if (p->T == 0 || l->T != p->T)
		return 0;
	switch (l->kind) {
	case LAYER_BATCH_NORM:
	case LAYER_DENSE:
	case LAYER_DROPOUT:
	case LAYER_GAUSSIAN_NOISE:
	case LAYER_LAYER_NORM:
		return 1;
	default:
		return 0;
	}
}

/*
 * k when layers 0 .. k-1 are the input and row-wise layers (each reading an
 * earlier one), layer k is an LSTM reading one of them, and no layer after k
 * reads any of them: then LSTM k's projected input row depends on the same
 * input row alone, whichever window the row is in. 0 otherwise.
 */
static size_t find_prefix_lstm(const struct model *m)
{
	size_t k = 0;
	for (; k < m->n_layers; k++) {
		const struct layer *l = &m->layers[k];
		if (l->kind == LAYER_LSTM)
			break;
		if (l->kind == LAYER_INPUT ? k != 0 || l->T == 0 : !is_row_wise(m, l) || l->inputs[0] >= k)
			return 0;
	}
	if (k == 0 || k == m->n_layers || m->output < k)
		return 0;
	const struct layer *lstm = &m->layers[k];
	if (lstm->n_inputs != 1 || lstm->inputs[0] >= k || m->layers[lstm->inputs[0]].T != m->in_T)
		return 0;
	for (size_t j = k + 1; j < m->n_layers; j++)
		for (size_t i = 0; i < m->layers[j].n_inputs; i++)
			if (m->layers[j].inputs[i] < k)
				return 0;
	return k;
}

enum rb_code model_lanes_new(struct model_lanes **out, const struct model *m, enum model_vec_isa isa,
                             struct rb_err *err)
{
	RB_ASSERT(out != NULL && m != NULL && isa != MODEL_VEC_BEST);
	*out = NULL;
	size_t floats = 0, max_proj = 0, max_h = 0;
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		const struct layer *p = l->n_inputs > 0 ? &m->layers[l->inputs[0]] : NULL;
		if (!is_alias(l))
			floats += rows_of(l) * l->C * MODEL_LANES;
		if (l->kind == LAYER_BATCH_NORM)
			floats += 2 * l->C;
		if (l->kind == LAYER_LSTM) {
			max_proj = bigger(max_proj, rows_of(p) * 4 * l->C * MODEL_LANES);
			max_h = bigger(max_h, l->C * MODEL_LANES);
		}
	}
	floats += max_proj + 3 * max_h;
	size_t prefix = find_prefix_lstm(m);
	struct model_lanes *v = calloc(1, sizeof *v);
	if (v == NULL)
		return rb_err_set(err, RB_E_NOMEM, "lane forward: no memory");
	v->m = m;
	v->isa = isa;
	v->lanes = isa == MODEL_VEC_AVX512 ? 16 : isa == MODEL_VEC_AVX2 ? 8 : 4;
	v->act = calloc(m->n_layers, sizeof *v->act);
	v->bn_scale = calloc(m->n_layers, sizeof *v->bn_scale);
	v->bn_shift = calloc(m->n_layers, sizeof *v->bn_shift);
	v->arena = calloc(floats > 0 ? floats : 1, sizeof *v->arena);
	if (v->act == NULL || v->bn_scale == NULL || v->bn_shift == NULL || v->arena == NULL) {
		model_lanes_free(v);
		return rb_err_set(err, RB_E_NOMEM, "lane forward: no memory for %zu floats", floats);
	}
	float *next = v->arena;
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		if (l->kind == LAYER_INPUT)
			v->in_layer = i;
		if (is_alias(l)) {
			v->act[i] = v->act[l->inputs[0]];
			continue;
		}
		v->act[i] = next;
		next += rows_of(l) * l->C * MODEL_LANES;
		if (l->kind == LAYER_BATCH_NORM) {
			float *s = next, *b = next + l->C;
			for (size_t c = 0; c < l->C; c++) {
				double g = l->gamma != NULL ? (double)l->gamma[c] : 1.0;
				double sc = g / __builtin_sqrt((double)l->moving_var[c] + l->epsilon);
				double sh = (l->beta != NULL ? (double)l->beta[c] : 0.0) -
				            (double)l->moving_mean[c] * sc;
				s[c] = (float)sc;
				b[c] = (float)sh;
			}
			v->bn_scale[i] = s;
			v->bn_shift[i] = b;
			next += 2 * l->C;
		}
	}
	v->proj = next;
	v->h0 = v->proj + max_proj;
	v->h1 = v->h0 + max_h;
	v->cell = v->h1 + max_h;
	v->prefix_lstm = prefix;
	*out = v;
	return RB_OK;
}

static void forward(struct model_lanes *v, enum lanes_part part)
{
	switch (v->isa) {
#if LANES_HAVE_X86
	case MODEL_VEC_AVX512:
		forward_avx512(v, part);
		break;
	case MODEL_VEC_AVX2:
		forward_avx2(v, part);
		break;
#endif
	default:
		forward_baseline(v, part);
		break;
	}
}

/* The output of the first n lanes, sample-major [n, out_T, out_C]. */
static void store_output(const struct model_lanes *v, size_t n, float *out)
{
	const struct model *m = v->m;
	size_t L = v->lanes;
	size_t out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	const float *y = v->act[m->output];
	for (size_t b = 0; b < n; b++)
		for (size_t k = 0; k < out_n; k++)
			out[b * out_n + k] = y[k * L + b];
}

void model_lanes_run(struct model_lanes *v, const float *in, size_t n, float *out)
{
	size_t L = v->lanes;
	RB_ASSERT(n >= 1 && n <= L);
	const struct model *m = v->m;
	size_t in_n = rows_of(&m->layers[v->in_layer]) * m->in_C;
	float *x = v->act[v->in_layer];
	for (size_t k = 0; k < in_n; k++) {
		for (size_t b = 0; b < n; b++)
			x[k * L + b] = in[b * in_n + k];
		for (size_t b = n; b < L; b++)
			x[k * L + b] = 0.0f;
	}
	forward(v, LANES_ALL);
	store_output(v, n, out);
}

void model_lanes_run_windows(struct model_lanes *v, const float *rows, const size_t *starts, size_t n,
                             float *out)
{
	size_t L = v->lanes;
	RB_ASSERT(n >= 1 && n <= L);
	const struct model *m = v->m;
	size_t TC = m->in_T * m->in_C;
	float *x = v->act[v->in_layer];
	for (size_t k = 0; k < TC; k++) {
		for (size_t b = 0; b < n; b++)
			x[k * L + b] = rows[starts[b] * m->in_C + k];
		for (size_t b = n; b < L; b++)
			x[k * L + b] = 0.0f;
	}
	forward(v, LANES_ALL);
	store_output(v, n, out);
}

/*
 * Windows first + w·stride, w < n_win <= SERIES_CHUNK, of a series whose
 * rows split into blocks of stride rows: block j is rows first + j·stride ..,
 * window w is blocks w .. w + T/stride - 1. The prefix runs once per block,
 * L blocks side by side (one per lane, stride rows each), and its
 * projections are stored [stride][4H][pitch], the block index last: then
 * lane b of a group of windows from w0 reads, at step t, block w0 + b +
 * t/stride, and the L lanes are one contiguous vector (no gather). Blocks
 * past the last (read by the empty lanes of the last group) are zeros.
 */
static void run_series_chunk(struct model_lanes *v, const float *rows, size_t first, size_t stride,
                             size_t n_win, float *out)
{
	const struct model *m = v->m;
	size_t L = v->lanes, T = m->in_T, C = m->in_C;
	size_t G = 4 * m->layers[v->prefix_lstm].C;
	size_t blocks = n_win - 1 + T / stride, pitch = v->series_pitch;
	float *bp = v->series_buf, *x = v->act[v->in_layer];
	v->block_rows = stride;
	for (size_t j0 = 0; j0 < blocks; j0 += L) {
		size_t nb = blocks - j0 < L ? blocks - j0 : L;
		for (size_t r = 0; r < stride; r++)
			for (size_t c = 0; c < C; c++)
				for (size_t j = 0; j < L; j++)
					x[(r * C + c) * L + j] =
						j < nb ? rows[(first + (j0 + j) * stride + r) * C + c] : 0.0f;
		forward(v, LANES_PREFIX);
		for (size_t rg = 0; rg < stride * G; rg++)
			memcpy(bp + rg * pitch + j0, v->proj + rg * L, nb * sizeof *bp);
	}
	for (size_t rg = 0; rg < stride * G; rg++)
		memset(bp + rg * pitch + blocks, 0, (pitch - blocks) * sizeof *bp);
	size_t out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	for (size_t w0 = 0; w0 < n_win; w0 += L) {
		size_t n = n_win - w0 < L ? n_win - w0 : L;
		v->series_proj = bp + w0;
		forward(v, LANES_SUFFIX);
		store_output(v, n, out + w0 * out_n);
	}
}

int model_lanes_run_series(struct model_lanes *v, const float *rows, size_t first, size_t stride,
                           size_t n_win, float *out)
{
	const struct model *m = v->m;
	size_t T = m->in_T;
	if (v->prefix_lstm == 0 || n_win == 0 || stride == 0 || stride >= T || T % stride != 0)
		return 0;
	size_t G = 4 * m->layers[v->prefix_lstm].C;
	/* blocks of a chunk, plus the L - 1 an empty lane of the last group may read */
	size_t pitch = SERIES_CHUNK - 1 + T / stride + v->lanes - 1;
	size_t need = stride * G * pitch;
	if (need > v->series_cap) {
		float *buf = realloc(v->series_buf, need * sizeof *buf);
		if (buf == NULL)
			return 0;
		v->series_buf = buf;
		v->series_cap = need;
	}
	v->series_pitch = pitch;
	size_t out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	for (size_t w = 0; w < n_win; w += SERIES_CHUNK) {
		size_t n = n_win - w < SERIES_CHUNK ? n_win - w : SERIES_CHUNK;
		run_series_chunk(v, rows, first + w * stride, stride, n, out + w * out_n);
	}
	return 1;
}

size_t model_lanes_shared_prefix(const struct model_lanes *v) { return v->prefix_lstm; }

size_t model_lanes_count(const struct model_lanes *v) { return v->lanes; }

void model_lanes_free(struct model_lanes *v)
{
	if (v == NULL)
		return;
	free(v->act);
	free(v->bn_scale);
	free(v->bn_shift);
	free(v->arena);
	free(v->series_buf);
	free(v);
}
