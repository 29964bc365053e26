/*
 * model_vec: float32 forward of the layer graph in plain C, VEC_BATCH
 * samples at a time, for small batches (see model_vec.h). Same semantics as
 * the double-precision oracle model_ref.c, against which
 * tests/test_infer_vec.c and test_infer_layers.c check it; what differs is
 * only how it computes:
 *   - Dense and LSTM kernels are repacked once into panels of at most
 *     PANEL_MAX output columns; panel_block keeps a block of rows × panel
 *     columns of accumulators (GNU C vectors of 8 floats) in registers for
 *     the whole inner-product loop, and sums keep their order within a lane;
 *   - exp, and the sigmoid, tanh and erf built on it, are branch-free
 *     polynomial approximations (exp: relative error below 2e-7; erf:
 *     Abramowitz & Stegun 7.1.26, absolute error 1.5e-7 in exact arithmetic
 *     and below 7e-7 in float), so the activation loops vectorize too;
 *   - an LSTM projects its whole input sequence before the recurrence, and
 *     only once when the input is a RepeatVector (every step sees the same
 *     row);
 *   - BatchNorm is a precomputed per-channel scale and shift; Dropout and
 *     GaussianNoise alias their input.
 * The forward is compiled three times, for the baseline x86-64 (SSE2), for
 * AVX2+FMA and for AVX-512 (F, VL, DQ, BW, with FMA: 32 vector registers,
 * 512-bit elementwise loops), and the handle picks the best the CPU
 * supports when it is created.
 * Not here: graph validation (model_ref_check), threads.
 */
#include "model_vec.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_lanes.h"
#include "rb/base/assert.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VEC_HAVE_X86 1
#else
#define VEC_HAVE_X86 0
#endif

/*
 * The AVX-512 build also lets the vectorizer use 512-bit vectors in the
 * elementwise loops (GCC's default for AVX-512 targets is 256); measured
 * faster on Zen 4 (docs/INFERENCE.md). Clang has no such target option.
 */
#if defined(__clang__)
#define VEC_AVX512_TARGET "avx512f,avx512vl,avx512dq,avx512bw,fma"
#else
#define VEC_AVX512_TARGET "avx512f,avx512vl,avx512dq,avx512bw,fma,prefer-vector-width=512"
#endif

#define VEC_INLINE static inline __attribute__((always_inline))

/* Widest panel of output columns computed at once (4 AVX2 registers). */
#define PANEL_MAX 32
/* Most rows computed at once (see ROWS_FOR_WIDTH). */
#define ROWS_MAX 8
/* Samples run through the graph together (buffers are sized for this many). */
#define VEC_BATCH 4

/*
 * Eight floats in a GNU C vector: SSE2 pairs or one AVX2 register, as
 * compiled. Moved by memcpy (unaligned loads and stores) and never passed
 * or returned by value, whose ABI differs with and without AVX.
 */
typedef float v8sf __attribute__((vector_size(32)));

/* What a call of forward_body runs (see there). */
enum vec_part { VEC_ALL, VEC_PREFIX, VEC_SUFFIX };

/* A kernel [K, OC] repacked into panels of width columns (see panel_block). */
struct packed {
	const float *w;       /* [n_panels][K][width] */
	const float *bias;    /* [n_panels * width]; zeros for the recurrent kernel */
	size_t K, OC, width, n_panels;
};

struct model_vec {
	const struct model *m;
	size_t in_layer;
	float **act;          /* [n_layers]: each layer's output for VEC_BATCH samples (identities alias) */
	struct packed *pack;  /* [n_layers]: Dense kernel, LSTM input kernel (+ bias) */
	struct packed *pack_rec; /* [n_layers]: LSTM recurrent kernel */
	const float **bn_scale, **bn_shift; /* [n_layers]: BatchNorm only */
	float *lstm_proj;     /* [VEC_BATCH · max T · padded 4H]: an LSTM's projected inputs */
	float *lstm_state;    /* [VEC_BATCH · (2·max H + max padded 4H)]: h, c, gates */
	float *row;           /* [ROWS_MAX · max padded Dense width]: staged Dense rows */
	float *arena;         /* everything above that is float, one allocation */
	enum model_vec_isa isa; /* the build run: BASELINE, AVX2 or AVX512, never BEST */
	struct model_lanes *lanes; /* the lane-major forward of the same build */
	size_t prefix_lstm;   /* model_lanes_shared_prefix: k > 0, layers before LSTM k are row-wise */
	float *row_proj;      /* prefix: [VEC_BATCH · in_T][padded 4H], LSTM k's projection per row */
	enum vec_part part;   /* what forward_body runs */
	size_t lanes_min;     /* groups of at least this many samples run lane-major */
};

static size_t rows_of(const struct layer *l) { return l->T > 0 ? l->T : 1; }

/* ---- elementwise kernels (inlined into each compiled forward) ---- */

/*
 * e^x for x in [-87, 88] (clamped outside): x = n·ln2 + r, |r| <= ln2/2,
 * e^r by its Taylor polynomial of degree 7 (remainder below 1e-8 relative),
 * 2^n built in the exponent bits. Rounding to n uses the 1.5·2^23 trick,
 * exact in float arithmetic without -ffast-math.
 */
VEC_INLINE float exp_approx(float x)
{
	x = x > -87.0f ? x : -87.0f; /* also maps NaN to -87: the int conversion below stays defined */
	x = x < 88.0f ? x : 88.0f;
	const float shifter = 12582912.0f; /* 1.5 * 2^23 */
	float n = (x * 1.44269504088896341f + shifter) - shifter;
	float r = x - n * 0.693145751953125f;  /* ln2, high part: exact in float */
	r = r - n * 1.42860682030941723e-6f;   /* ln2 - high part */
	float p = 1.0f / 5040.0f;
	p = p * r + 1.0f / 720.0f;
	p = p * r + 1.0f / 120.0f;
	p = p * r + 1.0f / 24.0f;
	p = p * r + 1.0f / 6.0f;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;
	int32_t e = (int32_t)n + 127;
	uint32_t bits = (uint32_t)e << 23;
	float scale;
	memcpy(&scale, &bits, sizeof scale);
	return p * scale;
}

VEC_INLINE float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

VEC_INLINE float tanh_approx(float x) { return 1.0f - 2.0f / (exp_approx(2.0f * x) + 1.0f); }

/* erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7 exact, < 7e-7 in float near 0), odd extension. */
VEC_INLINE float erf_approx(float x)
{
	float a = fabsf(x);
	float t = 1.0f / (1.0f + 0.3275911f * a);
	float p = 1.061405429f;
	p = p * t - 1.453152027f;
	p = p * t + 1.421413741f;
	p = p * t - 0.284496736f;
	p = p * t + 0.254829592f;
	float y = 1.0f - p * t * exp_approx(-a * a);
	return copysignf(y, x);
}

VEC_INLINE void activate(float *x, size_t n_rows, size_t C, enum activation act)
{
	size_t n = n_rows * C;
	switch (act) {
	case ACT_LINEAR:
		return;
	case ACT_RELU:
		for (size_t k = 0; k < n; k++)
			x[k] = x[k] > 0.0f ? x[k] : 0.0f;
		return;
	case ACT_GELU:
		for (size_t k = 0; k < n; k++)
			x[k] = 0.5f * x[k] * (1.0f + erf_approx(x[k] * 0.70710678118654752f));
		return;
	case ACT_SIGMOID:
		for (size_t k = 0; k < n; k++)
			x[k] = sigmoid_approx(x[k]);
		return;
	case ACT_TANH:
		for (size_t k = 0; k < n; k++)
			x[k] = tanh_approx(x[k]);
		return;
	case ACT_SOFTMAX:
		/* max-subtracted rows, then one exp loop over all of them (it vectorizes
		 * across rows: the traffic weekday head has rows of 7), then the sums */
		for (size_t r = 0; r < n_rows; r++) {
			float *row = x + r * C;
			float mx = row[0];
			for (size_t c = 1; c < C; c++)
				mx = row[c] > mx ? row[c] : mx;
			for (size_t c = 0; c < C; c++)
				row[c] -= mx;
		}
		for (size_t k = 0; k < n; k++)
			x[k] = exp_approx(x[k]);
		for (size_t r = 0; r < n_rows; r++) {
			float *row = x + r * C;
			float sum = 0.0f;
			for (size_t c = 0; c < C; c++)
				sum += row[c];
			float inv = 1.0f / sum;
			for (size_t c = 0; c < C; c++)
				row[c] *= inv;
		}
		return;
	}
}

/*
 * dst[0..n) = src[0..n), not overlapping, for the short row copies of the
 * graph (1 to a few dozen floats): whole vectors, then floats one by one,
 * inline where a memcpy call of a variable size costs more than the copy.
 */
VEC_INLINE void copy_row(float *restrict dst, const float *restrict src, size_t n)
{
	size_t k = 0;
	for (; k + 8 <= n; k += 8)
		memcpy(dst + k, src + k, sizeof(v8sf));
	if (k + 4 <= n) {
		memcpy(dst + k, src + k, 4 * sizeof *dst);
		k += 4;
	}
	if (k + 2 <= n) {
		memcpy(dst + k, src + k, 2 * sizeof *dst);
		k += 2;
	}
	if (k < n)
		dst[k] = src[k];
}

/*
 * R rows of x[R, K] @ kernel[K, OC] + init, one panel of W output columns:
 * pk holds the kernel repacked into panels of W columns (W a multiple of 8,
 * at most PANEL_MAX), each panel K rows of W contiguous floats, columns past
 * OC zero; init rows (n_panels * W floats each, zero past OC) are is
 * apart (0: one row for all). Writes R rows of W floats, ys apart, at y.
 * R and W are constants after inlining: the accumulators are only indexed
 * by constants and stay in registers, each weight row is loaded once for the
 * R rows, and with R = 1 even and odd k go to separate accumulators so that
 * the FMA chains overlap.
 */
VEC_INLINE void panel_block(float *restrict y, size_t ys, const float *restrict x, const struct packed *pk,
                            size_t p, const float *restrict init, size_t is, size_t R, size_t W)
{
	size_t K = pk->K, V = W / 8;
	const float *restrict w = pk->w + p * K * W;
	v8sf acc[ROWS_MAX][PANEL_MAX / 8], odd[PANEL_MAX / 8];
#pragma GCC unroll 8
	for (size_t r = 0; r < R; r++)
#pragma GCC unroll 4
		for (size_t v = 0; v < V; v++)
			memcpy(&acc[r][v], init + r * is + p * W + v * 8, sizeof(v8sf));
#pragma GCC unroll 4
	for (size_t v = 0; v < V; v++)
		odd[v] = (v8sf){0.0f};
	size_t k = 0;
	if (R == 1)
		for (; k + 1 < K; k += 2) {
			float x0 = x[k], x1 = x[k + 1];
#pragma GCC unroll 4
			for (size_t v = 0; v < V; v++) {
				v8sf w0, w1;
				memcpy(&w0, w + k * W + v * 8, sizeof w0);
				memcpy(&w1, w + (k + 1) * W + v * 8, sizeof w1);
				acc[0][v] += x0 * w0;
				odd[v] += x1 * w1;
			}
		}
	for (; k < K; k++) {
		v8sf wk[PANEL_MAX / 8];
#pragma GCC unroll 4
		for (size_t v = 0; v < V; v++)
			memcpy(&wk[v], w + k * W + v * 8, sizeof wk[v]);
#pragma GCC unroll 8
		for (size_t r = 0; r < R; r++) {
			float xr = x[r * K + k];
#pragma GCC unroll 4
			for (size_t v = 0; v < V; v++)
				acc[r][v] += xr * wk[v];
		}
	}
#pragma GCC unroll 4
	for (size_t v = 0; v < V; v++)
		acc[0][v] += odd[v];
#pragma GCC unroll 8
	for (size_t r = 0; r < R; r++)
#pragma GCC unroll 4
		for (size_t v = 0; v < V; v++)
			memcpy(y + r * ys + p * W + v * 8, &acc[r][v], sizeof acc[r][v]);
}

/* Rows computed together for a panel width: about 12 accumulator registers of 8 floats. */
#define ROWS_FOR_WIDTH(W) ((W) <= 8 ? 8 : (W) <= 24 ? 4 : 3)

/*
 * rows x[N, K] (K apart) @ kernel + init into y[N, n_panels * W] (rows ys
 * apart, ys >= n_panels * W); init rows is apart (0: shared).
 */
VEC_INLINE void panel_rows_w(float *restrict y, size_t ys, const float *restrict x, size_t N,
                             const struct packed *pk, const float *restrict init, size_t is, size_t W)
{
	size_t R = ROWS_FOR_WIDTH(W), n = 0;
	for (; n + R <= N; n += R)
		for (size_t p = 0; p < pk->n_panels; p++)
			panel_block(y + n * ys, ys, x + n * pk->K, pk, p, init + n * is, is, R, W);
	for (; n < N; n++)
		for (size_t p = 0; p < pk->n_panels; p++)
			panel_block(y + n * ys, ys, x + n * pk->K, pk, p, init + n * is, is, 1, W);
}

VEC_INLINE void panel_rows(float *restrict y, size_t ys, const float *restrict x, size_t N,
                           const struct packed *pk, const float *restrict init, size_t is)
{
	switch (pk->width) {
	case 8: panel_rows_w(y, ys, x, N, pk, init, is, 8); return;
	case 16: panel_rows_w(y, ys, x, N, pk, init, is, 16); return;
	case 24: panel_rows_w(y, ys, x, N, pk, init, is, 24); return;
	default: panel_rows_w(y, ys, x, N, pk, init, is, PANEL_MAX); return;
	}
}

/*
 * y[N, OC] = x[N, K] @ kernel + bias, rows OC apart; when OC is not a whole
 * number of panels, through stage (ROWS_MAX * padded width floats), a block
 * of rows at a time.
 */
VEC_INLINE void dense_rows(float *restrict y, const float *restrict x, const struct packed *pk, size_t N,
                           float *restrict stage)
{
	size_t Wp = pk->n_panels * pk->width;
	if (Wp == pk->OC) {
		panel_rows(y, Wp, x, N, pk, pk->bias, 0);
		return;
	}
	for (size_t n = 0; n < N; n += ROWS_MAX) {
		size_t r = N - n < ROWS_MAX ? N - n : ROWS_MAX;
		panel_rows(stage, Wp, x + n * pk->K, r, pk, pk->bias, 0);
		for (size_t k = 0; k < r; k++)
			copy_row(y + (n + k) * pk->OC, stage + k * Wp, pk->OC);
	}
}

/*
 * Σ (x[c] - center)^p over C floats, p 1 or 2 (a constant after inlining),
 * in 8 interleaved partial sums (lane l takes c ≡ l mod 8) added pairwise at
 * the end: the lane loop vectorizes, where one running sum is a chain of C
 * dependent adds.
 */
VEC_INLINE float sum_lanes(const float *restrict x, size_t C, float center, int p)
{
	float s[8] = {0.0f}, tail = 0.0f;
	size_t c = 0;
	for (; c + 8 <= C; c += 8)
#pragma GCC unroll 8
		for (size_t l = 0; l < 8; l++) {
			float d = x[c + l] - center;
			s[l] += p == 2 ? d * d : d;
		}
	for (; c < C; c++) {
		float d = x[c] - center;
		tail += p == 2 ? d * d : d;
	}
	return (((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))) + tail;
}

VEC_INLINE void layer_norm_rows(float *restrict y, const float *restrict x, const float *gamma,
                                const float *beta, float eps, size_t N, size_t C)
{
	for (size_t n = 0; n < N; n++) {
		const float *restrict xr = x + n * C;
		float *restrict yr = y + n * C;
		float mean = sum_lanes(xr, C, 0.0f, 1) / (float)C;
		float var = sum_lanes(xr, C, mean, 2) / (float)C;
		float inv = 1.0f / sqrtf(var + eps);
		for (size_t c = 0; c < C; c++) {
			float g = gamma != NULL ? gamma[c] : 1.0f;
			float b = beta != NULL ? beta[c] : 0.0f;
			yr[c] = (xr[c] - mean) * inv * g + b;
		}
	}
}

/*
 * Keras LSTM over B samples at once, gates i, f, c, o, zero initial state.
 * proj holds, per sample, T rows (of the recurrent kernel's padded width Gp)
 * of x·kernel + bias, or one row used at every step when repeated is 1.
 * y: per sample [T, H] (return_sequences) or [H]. state: B·(2H + Gp) floats.
 */
VEC_INLINE void lstm_steps(float *restrict y, const float *restrict proj, int repeated,
                           const struct packed *rec, float *restrict state, int return_sequences,
                           size_t B, size_t T, size_t H)
{
	size_t Gp = rec->n_panels * rec->width;
	float *restrict h = state;          /* [B][H] */
	float *restrict c = state + B * H;  /* [B][H] */
	float *restrict z = c + B * H;      /* [B][Gp] */
	for (size_t k = 0; k < 2 * B * H; k++)
		state[k] = 0.0f;
	size_t per = repeated ? Gp : T * Gp; /* proj floats per sample */
	for (size_t t = 0; t < T; t++) {
		panel_rows(z, Gp, h, B, rec, proj + (repeated ? 0 : t * Gp), per);
		for (size_t b = 0; b < B; b++) {
			const float *restrict zb = z + b * Gp;
			float *restrict hb = h + b * H, *restrict cb = c + b * H;
			for (size_t u = 0; u < H; u++) {
				float ig = sigmoid_approx(zb[u]);
				float fg = sigmoid_approx(zb[H + u]);
				float cc = tanh_approx(zb[2 * H + u]);
				float og = sigmoid_approx(zb[3 * H + u]);
				cb[u] = fg * cb[u] + ig * cc;
				hb[u] = og * tanh_approx(cb[u]);
			}
			if (return_sequences)
				copy_row(y + (b * T + t) * H, hb, H);
		}
	}
	if (!return_sequences)
		memcpy(y, h, B * H * sizeof *h);
}

/* ---- the forward of B samples ---- */

/*
 * Layer i on B <= VEC_BATCH samples; every tensor is [B][rows][C], batch
 * outermost. N: the rows of a row-wise layer's output (B · rows_of(l); a
 * series' prefix passes its row count).
 */
VEC_INLINE void forward_layer(struct model_vec *v, size_t i, size_t B, size_t N)
{
	const struct model *m = v->m;
	const struct layer *l = &m->layers[i];
	float *y = v->act[i];
	const float *x = l->n_inputs > 0 ? v->act[l->inputs[0]] : NULL;
	const struct layer *p = l->n_inputs > 0 ? &m->layers[l->inputs[0]] : NULL;
	switch (l->kind) {
	case LAYER_INPUT:
	case LAYER_DROPOUT:
	case LAYER_GAUSSIAN_NOISE:
		return; /* filled by the caller, or an alias of the input */
	case LAYER_DENSE:
		dense_rows(y, x, &v->pack[i], N, v->row);
		activate(y, N, l->C, l->act);
		return;
	case LAYER_BATCH_NORM: {
		const float *restrict s = v->bn_scale[i], *restrict b = v->bn_shift[i];
		for (size_t n = 0; n < N; n++)
			for (size_t c = 0; c < l->C; c++)
				y[n * l->C + c] = x[n * l->C + c] * s[c] + b[c];
		return;
	}
	case LAYER_LAYER_NORM:
		layer_norm_rows(y, x, l->gamma, l->beta, (float)l->epsilon, N, l->C);
		return;
	case LAYER_LSTM: {
		/* a RepeatVector input has the same row at every step: project it once */
		int repeated = p->kind == LAYER_REPEAT_VECTOR;
		const struct packed *pk = &v->pack[i];
		size_t Gp = v->pack_rec[i].n_panels * v->pack_rec[i].width;
		int series = v->part != VEC_ALL && i == v->prefix_lstm; /* samples_shared's rows */
		if (repeated)
			for (size_t b = 0; b < B; b++)
				panel_rows(v->lstm_proj + b * Gp, Gp, x + b * p->T * p->C, 1, pk, pk->bias, 0);
		else if (series && v->part == VEC_PREFIX) /* the series' N rows, then stop */
			panel_rows(v->row_proj, Gp, x, N, pk, pk->bias, 0);
		else if (!series) /* VEC_SUFFIX: the caller filled lstm_proj */
			panel_rows(v->lstm_proj, Gp, x, B * p->T, pk, pk->bias, 0);
		if (v->part == VEC_PREFIX)
			return;
		lstm_steps(y, v->lstm_proj, repeated, &v->pack_rec[i], v->lstm_state, l->return_sequences, B,
		           p->T, l->C);
		return;
	}
	case LAYER_REPEAT_VECTOR:
		for (size_t b = 0; b < B; b++)
			for (size_t r = 0; r < l->repeat; r++)
				copy_row(y + (b * l->repeat + r) * l->C, x + b * l->C, l->C);
		return;
	case LAYER_CONCATENATE:
		for (size_t n = 0; n < N; n++) {
			size_t off = 0;
			for (size_t j = 0; j < l->n_inputs; j++) {
				size_t Cj = m->layers[l->inputs[j]].C;
				copy_row(y + n * l->C + off, v->act[l->inputs[j]] + n * Cj, Cj);
				off += Cj;
			}
		}
		return;
	}
}

/*
 * v->part: VEC_ALL, every layer on B samples; VEC_PREFIX, the row-wise
 * prefix of LSTM k = v->prefix_lstm on the B rows of v->act[in_layer] and
 * k's input projection into v->row_proj; VEC_SUFFIX, k on B samples whose
 * projections the caller put in v->lstm_proj, then the layers after it.
 */
VEC_INLINE void forward_body(struct model_vec *v, size_t B)
{
	/* one loop, so that each build inlines forward_layer once (compile time and size) */
	const struct model *m = v->m;
	int prefix = v->part == VEC_PREFIX;
	size_t first = v->part == VEC_SUFFIX ? v->prefix_lstm : 0;
	size_t end = prefix ? v->prefix_lstm + 1 : m->n_layers;
	for (size_t i = first; i < end; i++)
		forward_layer(v, i, prefix ? 1 : B, prefix ? B : B * rows_of(&m->layers[i]));
}

static void forward_baseline(struct model_vec *v, size_t B) { forward_body(v, B); }

#if VEC_HAVE_X86
__attribute__((target("avx2,fma"))) static void forward_avx2(struct model_vec *v, size_t B)
{
	forward_body(v, B);
}

__attribute__((target(VEC_AVX512_TARGET))) static void forward_avx512(struct model_vec *v, size_t B)
{
	forward_body(v, B);
}
#endif

int model_vec_isa_supported(enum model_vec_isa isa)
{
	switch (isa) {
	case MODEL_VEC_BEST:
	case MODEL_VEC_BASELINE:
		return 1;
	case MODEL_VEC_AVX2:
#if VEC_HAVE_X86
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
		return 0;
#endif
	case MODEL_VEC_AVX512:
#if VEC_HAVE_X86
		/* libgcc's and compiler-rt's checks include the OS saving the zmm state (XCR0) */
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
		       __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("fma");
#else
		return 0;
#endif
	}
	return 0;
}

/* ---- handle ---- */

static int is_alias(const struct layer *l)
{
	return l->kind == LAYER_DROPOUT || l->kind == LAYER_GAUSSIAN_NOISE;
}

static size_t panel_width(size_t OC) { return OC >= PANEL_MAX ? PANEL_MAX : (OC + 7) / 8 * 8; }

static size_t panel_count(size_t OC) { return (OC + panel_width(OC) - 1) / panel_width(OC); }

/* Floats of a packed [K, OC] kernel and its padded bias. */
static size_t packed_floats(size_t K, size_t OC)
{
	return panel_count(OC) * panel_width(OC) * (K + 1);
}

/* Packs kernel [K, OC] and bias [OC] (NULL: zeros) into dst, zeroed; returns the end. */
static float *pack_kernel(struct packed *pk, float *dst, const float *kernel, const float *bias, size_t K,
                          size_t OC)
{
	size_t W = panel_width(OC), P = panel_count(OC);
	*pk = (struct packed){.w = dst, .bias = dst + P * K * W, .K = K, .OC = OC, .width = W, .n_panels = P};
	for (size_t k = 0; k < K; k++)
		for (size_t o = 0; o < OC; o++)
			dst[(o / W) * K * W + k * W + o % W] = kernel[k * OC + o];
	if (bias != NULL)
		memcpy(dst + P * K * W, bias, OC * sizeof *bias);
	return dst + packed_floats(K, OC);
}

static size_t bigger(size_t a, size_t b) { return a > b ? a : b; }

enum rb_code model_vec_new(struct model_vec **out, const struct model *m, enum model_vec_isa isa,
                           struct rb_err *err)
{
	RB_ASSERT(out != NULL && m != NULL);
	*out = NULL;
	if (!model_vec_isa_supported(isa))
		return rb_err_set(err, RB_E_CONFIG, "vector forward: this CPU cannot run the %s build",
		                  isa == MODEL_VEC_AVX512 ? "avx512" : "avx2+fma");
	if (isa == MODEL_VEC_BEST)
		isa = model_vec_isa_supported(MODEL_VEC_AVX512) ? MODEL_VEC_AVX512
		      : model_vec_isa_supported(MODEL_VEC_AVX2) ? MODEL_VEC_AVX2
		                                                : MODEL_VEC_BASELINE;
	/* model_ref_check has bounded every per-sample size (T, C <= 2^24 elements per
	 * tensor, n_layers layers); the sums below stay far from SIZE_MAX. */
	size_t floats = 0, max_proj = 0, max_state = 0, max_row = 0;
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		const struct layer *p = l->n_inputs > 0 ? &m->layers[l->inputs[0]] : NULL;
		if (!is_alias(l))
			floats += VEC_BATCH * rows_of(l) * l->C;
		if (l->kind == LAYER_BATCH_NORM)
			floats += 2 * l->C;
		if (l->kind == LAYER_DENSE) {
			floats += packed_floats(p->C, l->C);
			max_row = bigger(max_row, ROWS_MAX * panel_count(l->C) * panel_width(l->C));
		}
		if (l->kind == LAYER_LSTM) {
			size_t G = 4 * l->C, Gp = panel_count(G) * panel_width(G);
			floats += packed_floats(p->C, G) + packed_floats(l->C, G);
			max_proj = bigger(max_proj, VEC_BATCH * rows_of(p) * Gp);
			max_state = bigger(max_state, VEC_BATCH * (2 * l->C + Gp));
		}
	}
	floats += max_proj + max_state + max_row;
	struct model_vec *v = calloc(1, sizeof *v);
	if (v == NULL)
		return rb_err_set(err, RB_E_NOMEM, "vector forward: no memory");
	v->m = m;
	v->act = calloc(m->n_layers, sizeof *v->act);
	v->pack = calloc(m->n_layers, sizeof *v->pack);
	v->pack_rec = calloc(m->n_layers, sizeof *v->pack_rec);
	v->bn_scale = calloc(m->n_layers, sizeof *v->bn_scale);
	v->bn_shift = calloc(m->n_layers, sizeof *v->bn_shift);
	v->arena = calloc(floats > 0 ? floats : 1, sizeof *v->arena);
	if (v->act == NULL || v->pack == NULL || v->pack_rec == NULL || v->bn_scale == NULL ||
	    v->bn_shift == NULL || v->arena == NULL) {
		model_vec_free(v);
		return rb_err_set(err, RB_E_NOMEM, "vector forward: no memory for %zu floats", floats);
	}
	float *next = v->arena;
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		const struct layer *p = l->n_inputs > 0 ? &m->layers[l->inputs[0]] : NULL;
		if (l->kind == LAYER_INPUT)
			v->in_layer = i;
		if (is_alias(l)) {
			v->act[i] = v->act[l->inputs[0]];
			continue;
		}
		v->act[i] = next;
		next += VEC_BATCH * rows_of(l) * l->C;
		if (l->kind == LAYER_DENSE)
			next = pack_kernel(&v->pack[i], next, l->kernel, l->bias, p->C, l->C);
		if (l->kind == LAYER_LSTM) {
			next = pack_kernel(&v->pack[i], next, l->kernel, l->bias, p->C, 4 * l->C);
			next = pack_kernel(&v->pack_rec[i], next, l->recurrent, NULL, l->C, 4 * l->C);
		}
		if (l->kind == LAYER_BATCH_NORM) {
			float *s = next, *b = next + l->C;
			for (size_t c = 0; c < l->C; c++) {
				double g = l->gamma != NULL ? (double)l->gamma[c] : 1.0;
				double sc = g / sqrt((double)l->moving_var[c] + l->epsilon);
				double sh = (l->beta != NULL ? (double)l->beta[c] : 0.0) - (double)l->moving_mean[c] * sc;
				s[c] = (float)sc;
				b[c] = (float)sh;
			}
			v->bn_scale[i] = s;
			v->bn_shift[i] = b;
			next += 2 * l->C;
		}
	}
	v->lstm_proj = next;
	v->lstm_state = next + max_proj;
	v->row = v->lstm_state + max_state;
	v->isa = isa;
	v->lanes_min = model_vec_lanes_min_default(isa);
	enum rb_code rc = model_lanes_new(&v->lanes, m, isa, err);
	if (rc != RB_OK) {
		model_vec_free(v);
		return rc;
	}
	v->prefix_lstm = model_lanes_shared_prefix(v->lanes);
	if (v->prefix_lstm > 0) {
		v->row_proj = malloc(max_proj * sizeof *v->row_proj);
		if (v->row_proj == NULL) {
			model_vec_free(v);
			return rb_err_set(err, RB_E_NOMEM, "vector forward: no memory for %zu floats", max_proj);
		}
	}
	*out = v;
	return RB_OK;
}

/*
 * Subnormal floats flushed to zero (MXCSR FTZ and DAZ) while the forward
 * runs, restored after: the approximations reach them (sigmoid of a large
 * negative gate, erf's tail times a tiny exp), and x86 cores take a
 * microcode assist per subnormal operand or result, measured up to 5× on a
 * whole forward (docs/BENCHMARKS.md, "Inference"). What is lost is below
 * 1.2e-38 in absolute value.
 */
#if VEC_HAVE_X86
#define MXCSR_FTZ_DAZ 0x8040u
static unsigned ftz_begin(void)
{
	unsigned old = __builtin_ia32_stmxcsr();
	__builtin_ia32_ldmxcsr(old | MXCSR_FTZ_DAZ);
	return old;
}
static void ftz_end(unsigned old) { __builtin_ia32_ldmxcsr(old); }
#else
static unsigned ftz_begin(void) { return 0; }
static void ftz_end(unsigned old) { (void)old; }
#endif

/* The sample-major forward of n <= VEC_BATCH samples already in v->act[v->in_layer]. */
static void forward_samples(struct model_vec *v, size_t n)
{
	switch (v->isa) {
#if VEC_HAVE_X86
	case MODEL_VEC_AVX512:
		forward_avx512(v, n);
		break;
	case MODEL_VEC_AVX2:
		forward_avx2(v, n);
		break;
#endif
	default:
		forward_baseline(v, n);
		break;
	}
}

/*
 * n <= VEC_BATCH windows whose rows lo .. hi overlap (fewer rows than n·T)
 * and fit the buffers: the prefix runs once on those rows, each window's T
 * projected rows are copied into v->lstm_proj, and v->part is VEC_SUFFIX for
 * the caller's forward_samples. 0 (nothing done) otherwise.
 */
static int samples_shared(struct model_vec *v, const float *rows, const size_t *starts, size_t n)
{
	const struct model *m = v->m;
	size_t T = m->in_T, C = m->in_C;
	if (v->prefix_lstm == 0 || n < 2)
		return 0;
	size_t lo = starts[0], hi = starts[0] + T;
	for (size_t j = 1; j < n; j++) {
		lo = starts[j] < lo ? starts[j] : lo;
		hi = starts[j] + T > hi ? starts[j] + T : hi;
	}
	if (hi - lo >= n * T)
		return 0;
	memcpy(v->act[v->in_layer], rows + lo * C, (hi - lo) * C * sizeof *rows);
	v->part = VEC_PREFIX;
	forward_samples(v, hi - lo);
	size_t k = v->prefix_lstm;
	size_t Gp = v->pack_rec[k].n_panels * v->pack_rec[k].width;
	for (size_t j = 0; j < n; j++)
		memcpy(v->lstm_proj + j * T * Gp, v->row_proj + (starts[j] - lo) * Gp, T * Gp * sizeof *v->row_proj);
	v->part = VEC_SUFFIX;
	return 1;
}

void model_vec_run_windows(struct model_vec *v, const float *rows, const size_t *starts, size_t B,
                           float *out)
{
	unsigned mxcsr = ftz_begin();
	const struct model *m = v->m;
	RB_ASSERT(m->in_T > 0);
	size_t in_n = m->in_T * m->in_C;
	size_t out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	/* the windows model_vec_run would run lane-major: 0 .. lane_count */
	size_t L = model_lanes_count(v->lanes), lane_count = 0;
	while (v->lanes_min <= L && lane_count < B && B - lane_count >= v->lanes_min)
		lane_count += B - lane_count < L ? B - lane_count : L;
	size_t b = 0;
	if (lane_count >= 2 && starts[1] > starts[0]) {
		/* the leading run of windows at one stride: each row's prefix once */
		size_t stride = starts[1] - starts[0], run = 2;
		while (run < lane_count && starts[run] == starts[run - 1] + stride)
			run++;
		if (model_lanes_run_series(v->lanes, rows, starts[0], stride, run, out))
			b = run;
	}
	while (b < lane_count) {
		size_t n = lane_count - b < L ? lane_count - b : L;
		model_lanes_run_windows(v->lanes, rows, starts + b, n, out + b * out_n);
		b += n;
	}
	for (; b < B; b += VEC_BATCH) {
		size_t n = B - b < VEC_BATCH ? B - b : VEC_BATCH;
		if (!samples_shared(v, rows, starts + b, n))
			for (size_t j = 0; j < n; j++)
				memcpy(v->act[v->in_layer] + j * in_n, rows + starts[b + j] * m->in_C,
				       in_n * sizeof *rows);
		forward_samples(v, n);
		v->part = VEC_ALL;
		memcpy(out + b * out_n, v->act[m->output], n * out_n * sizeof *out);
	}
	ftz_end(mxcsr);
}

void model_vec_run(struct model_vec *v, const float *in, size_t B, float *out)
{
	unsigned mxcsr = ftz_begin();
	const struct model *m = v->m;
	size_t in_n = rows_of(&m->layers[v->in_layer]) * m->in_C;
	size_t out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	size_t b = 0;
	size_t L = model_lanes_count(v->lanes);
	while (v->lanes_min <= L && b < B && B - b >= v->lanes_min) {
		size_t n = B - b < L ? B - b : L;
		model_lanes_run(v->lanes, in + b * in_n, n, out + b * out_n);
		b += n;
	}
	for (; b < B; b += VEC_BATCH) {
		size_t n = B - b < VEC_BATCH ? B - b : VEC_BATCH;
		memcpy(v->act[v->in_layer], in + b * in_n, n * in_n * sizeof *in);
		forward_samples(v, n);
		memcpy(out + b * out_n, v->act[m->output], n * out_n * sizeof *out);
	}
	ftz_end(mxcsr);
}

size_t model_vec_lanes_min_default(enum model_vec_isa isa)
{
	if (isa == MODEL_VEC_BEST)
		isa = model_vec_isa_supported(MODEL_VEC_AVX512) ? MODEL_VEC_AVX512
		      : model_vec_isa_supported(MODEL_VEC_AVX2) ? MODEL_VEC_AVX2
		                                                : MODEL_VEC_BASELINE;
	/* Crossovers measured with bench_infer --path lanes,samples (docs/BENCHMARKS.md): AVX2 on
	 * Zen 3, 8 lanes: only full groups win; baseline, 4 lanes: from 2 samples. AVX-512 not
	 * measured (no such CPU here): half the 16 lanes, as AVX2. */
	switch (isa) {
	case MODEL_VEC_AVX512:
		return 8;
	case MODEL_VEC_AVX2:
		return 8;
	default:
		return 2;
	}
}

void model_vec_set_lanes_min(struct model_vec *v, size_t n)
{
	RB_ASSERT(n >= 1);
	v->lanes_min = n;
}

const char *model_vec_isa(const struct model_vec *v)
{
	switch (v->isa) {
	case MODEL_VEC_AVX512:
		return "avx512";
	case MODEL_VEC_AVX2:
		return "avx2+fma";
	default:
		return "baseline";
	}
}

void model_vec_free(struct model_vec *v)
{
	if (v == NULL)
		return;
	free(v->act);
	free(v->pack);
	free(v->pack_rec);
	free(v->bn_scale);
	free(v->bn_shift);
	free(v->arena);
	free(v->row_proj);
	model_lanes_free(v->lanes);
	free(v);
}
