/*
 * model_lanes_kernel: the lane-major forward of model_lanes.c written once
 * for a lane count LN_L, included by model_lanes.c once per build (baseline
 * 4 lanes, AVX2 8, AVX-512 16) so that every vector is one register of that
 * build and every operation, compares included, is one instruction. Before
 * including it define LN_L, LNF(name) (a per-build name) and the build's
 * instructions LN_MAXPS(a, b), LN_MINPS(a, b) (x86 semantics: b when a is
 * NaN) and LN_RCPPS(a) (approximate reciprocal, 12 bits or better); the
 * includer sets the target (#pragma GCC target). Not a header of anything
 * else: no include guard, on purpose.
 */

/* LN_L floats and as many int32: one register. Moved by memcpy and only passed by pointer. */
typedef float LNF(vf) __attribute__((vector_size(4 * LN_L)));
typedef int32_t LNF(vi) __attribute__((vector_size(4 * LN_L)));

/* ---- vector math, in place ---- */

LN_INLINE void LNF(v_load)(LNF(vf) *v, const float *p) { memcpy(v, p, sizeof *v); }
LN_INLINE void LNF(v_store)(float *p, const LNF(vf) *v) { memcpy(p, v, sizeof *v); }

/*
 * The elementwise functions below work on Q vectors x[0 .. Q-1] at once, Q a
 * constant after inlining (1 .. 8): each statement is a loop over the Q
 * vectors, unrolled, so that the code interleaves Q independent dependency
 * chains. One sigmoid is a dependency chain of some 65 cycles, and the core
 * keeps only a few such chains in flight when they come one after the other
 * (bench/bench_lanes_act on Zen 3, AVX2: 4.0 ns per sigmoid alone, 3.1 ns
 * four interleaved). Each vector gets the same operations in the same order
 * as alone: the results do not depend on Q.
 */
#ifndef LN_EACH
#define LN_EACH _Pragma("GCC unroll 8") for (size_t q = 0; q < Q; q++)
#define LN_Q_MAX 8
_Static_assert(UB_MAX <= LN_Q_MAX, "lstm_block runs the tanh of UB cells at once");
#endif

/* x = max(lo, min(hi, x)); NaN goes to lo (the int conversion in v_exp stays defined). */
LN_INLINE void LNF(v_clamp)(LNF(vf) *x, size_t Q, float lo, float hi)
{
	LNF(vf) los = (LNF(vf)){0} + lo, his = (LNF(vf)){0} + hi;
	LN_EACH {
		LNF(vf) a = LN_MAXPS(x[q], los);
		x[q] = LN_MINPS(a, his);
	}
}

/*
 * 1 / x by the approximate reciprocal and one Newton step: relative error
 * about 2^-22 (below 3e-7) for normal x, the reciprocal of a division's cost.
 * Callers pass x >= 1 or a value whose reciprocal flushes to zero harmlessly.
 */
LN_INLINE void LNF(v_recip)(LNF(vf) *x, size_t Q)
{
	LNF(vf) r[LN_Q_MAX];
	LN_EACH r[q] = LN_RCPPS(x[q]);
	LN_EACH x[q] = r[q] + r[q] * (1.0f - x[q] * r[q]);
}

/* e^x, x clamped to [-87, 88]: as exp_approx in model_vec.c. */
LN_INLINE void LNF(v_exp)(LNF(vf) *x, size_t Q)
{
	LNF(vf) n[LN_Q_MAX], r[LN_Q_MAX];
	LNF(v_clamp)(x, Q, -87.0f, 88.0f);
	const float shifter = 12582912.0f; /* 1.5 * 2^23 */
	LN_EACH n[q] = (x[q] * 1.44269504088896341f + shifter) - shifter;
	LN_EACH r[q] = x[q] - n[q] * 0.693145751953125f;
	LN_EACH r[q] = r[q] - n[q] * 1.42860682030941723e-6f;
	LN_EACH x[q] = r[q] * (1.0f / 5040.0f) + 1.0f / 720.0f;
	LN_EACH x[q] = x[q] * r[q] + 1.0f / 120.0f;
	LN_EACH x[q] = x[q] * r[q] + 1.0f / 24.0f;
	LN_EACH x[q] = x[q] * r[q] + 1.0f / 6.0f;
	LN_EACH x[q] = x[q] * r[q] + 0.5f;
	LN_EACH x[q] = x[q] * r[q] + 1.0f;
	LN_EACH x[q] = x[q] * r[q] + 1.0f;
	LN_EACH {
		LNF(vi) e = __builtin_convertvector(n[q], LNF(vi)) + 127;
		x[q] = x[q] * (LNF(vf))(e << 23);
	}
}

/* 1 / (1 + e^-x) */
LN_INLINE void LNF(v_sigmoid)(LNF(vf) *x, size_t Q)
{
	LN_EACH x[q] = -x[q];
	LNF(v_exp)(x, Q);
	LN_EACH x[q] = 1.0f + x[q];
	LNF(v_recip)(x, Q);
}

/* 1 - 2 / (e^2x + 1) */
LN_INLINE void LNF(v_tanh)(LNF(vf) *x, size_t Q)
{
	LN_EACH x[q] = x[q] * 2.0f;
	LNF(v_exp)(x, Q);
	LN_EACH x[q] = x[q] + 1.0f;
	LNF(v_recip)(x, Q);
	LN_EACH x[q] = 1.0f - 2.0f * x[q];
}

/* 0.5·x·(1 + erf(x/√2)), erf by Abramowitz & Stegun 7.1.26 with odd extension. */
LN_INLINE void LNF(v_gelu)(LNF(vf) *x, size_t Q)
{
	LNF(vi) sign[LN_Q_MAX];
	LNF(vf) a[LN_Q_MAX], t[LN_Q_MAX], p[LN_Q_MAX], e[LN_Q_MAX];
	LN_EACH {
		LNF(vf) z = x[q] * 0.70710678118654752f;
		sign[q] = (LNF(vi))z & INT32_MIN;
		a[q] = (LNF(vf))((LNF(vi))z & INT32_MAX);
	}
	LN_EACH t[q] = 1.0f + 0.3275911f * a[q];
	LNF(v_recip)(t, Q);
	LN_EACH e[q] = -a[q] * a[q];
	LNF(v_exp)(e, Q);
	LN_EACH p[q] = t[q] * 1.061405429f - 1.453152027f;
	LN_EACH p[q] = p[q] * t[q] + 1.421413741f;
	LN_EACH p[q] = p[q] * t[q] - 0.284496736f;
	LN_EACH p[q] = p[q] * t[q] + 0.254829592f;
	LN_EACH {
		LNF(vf) y = 1.0f - p[q] * t[q] * e[q];
		y = (LNF(vf))((LNF(vi))y | sign[q]);
		x[q] = 0.5f * x[q] * (1.0f + y);
	}
}

LN_INLINE void LNF(v_activate)(LNF(vf) *x, size_t Q, enum activation act)
{
	switch (act) {
	case ACT_RELU:
		LN_EACH x[q] = LN_MAXPS(x[q], (LNF(vf)){0});
		return;
	case ACT_GELU: LNF(v_gelu)(x, Q); return;
	case ACT_SIGMOID: LNF(v_sigmoid)(x, Q); return;
	case ACT_TANH: LNF(v_tanh)(x, Q); return;
	case ACT_LINEAR:
	case ACT_SOFTMAX: return;
	}
}

/* ---- Dense ---- */

/*
 * A tile of RB rows × CB output columns o0 .. o0+CB: y[r][o] = act(bias[o] +
 * Σ_k x[r][k]·W[k][o]) (bias NULL: 0); x rows [K][LN_L] K·LN_L apart, W [K][OC]
 * as Keras stores it, y rows [OC][LN_L] OC·LN_L apart. RB and CB are constants
 * after inlining, RB·CB <= OB_MAX: the accumulators stay in registers, and a
 * narrow layer (a 1-column head) takes rows instead of columns so that its
 * sums are RB independent chains, not one.
 */
LN_INLINE void LNF(dense_tile)(float *restrict y, const float *restrict x, const float *restrict W,
                               const float *restrict bias, size_t K, size_t OC, size_t o0, size_t RB,
                               size_t CB, enum activation act)
{
	LNF(vf) acc[OB_MAX];
#pragma GCC unroll 24
	for (size_t r = 0; r < RB; r++)
#pragma GCC unroll 24
		for (size_t j = 0; j < CB; j++)
			acc[r * CB + j] = (LNF(vf)){0} + (bias != NULL ? bias[o0 + j] : 0.0f);
	for (size_t k = 0; k < K; k++) {
		const float *restrict w = W + k * OC + o0;
#pragma GCC unroll 24
		for (size_t r = 0; r < RB; r++) {
			LNF(vf) xv;
			LNF(v_load)(&xv, x + (r * K + k) * LN_L);
#pragma GCC unroll 24
			for (size_t j = 0; j < CB; j++)
				acc[r * CB + j] += xv * w[j];
		}
	}
	/* one vector at a time: interleaving them measured no faster and quadrupled sanitized compile time */
#pragma GCC unroll 24
	for (size_t r = 0; r < RB; r++)
#pragma GCC unroll 24
		for (size_t j = 0; j < CB; j++) {
			LNF(v_activate)(&acc[r * CB + j], 1, act);
			LNF(v_store)(y + (r * OC + o0 + j) * LN_L, &acc[r * CB + j]);
		}
}

/* Columns o0 .. o0+CB of N rows: tiles of RB rows, then row by row. */
LN_INLINE void LNF(dense_cols)(float *restrict y, const float *restrict x, const float *restrict W,
                               const float *restrict bias, size_t N, size_t K, size_t OC, size_t o0,
                               size_t RB, size_t CB, enum activation act)
{
	size_t n = 0;
	for (; n + RB <= N; n += RB)
		LNF(dense_tile)(y + n * OC * LN_L, x + n * K * LN_L, W, bias, K, OC, o0, RB, CB, act);
	for (; n < N; n++)
		LNF(dense_tile)(y + n * OC * LN_L, x + n * K * LN_L, W, bias, K, OC, o0, 1, CB, act);
}

/* Softmax over the C columns of one row [C][LN_L], lane by lane. */
LN_INLINE void LNF(softmax_row)(float *y, size_t C)
{
	LNF(vf) mx, v, sum = (LNF(vf)){0};
	LNF(v_load)(&mx, y);
	for (size_t c = 1; c < C; c++) {
		LNF(v_load)(&v, y + c * LN_L);
		mx = LN_MAXPS(v, mx);
	}
	for (size_t c = 0; c < C; c++) {
		LNF(v_load)(&v, y + c * LN_L);
		v = v - mx;
		LNF(v_exp)(&v, 1);
		sum += v;
		LNF(v_store)(y + c * LN_L, &v);
	}
	LNF(vf) inv = 1.0f / sum;
	for (size_t c = 0; c < C; c++) {
		LNF(v_load)(&v, y + c * LN_L);
		v = v * inv;
		LNF(v_store)(y + c * LN_L, &v);
	}
}

/*
 * N rows: y [N][OC][LN_L] = act(x [N][K][LN_L] · W + bias): blocks of OB
 * columns a row at a time, then what is left in tiles of 4 columns × OB/4
 * rows and 1 column × OB rows.
 */
LN_INLINE void LNF(dense_rows)(float *restrict y, const float *restrict x, const float *restrict W,
                               const float *restrict bias, size_t N, size_t K, size_t OC,
                               enum activation act, size_t OB)
{
	enum activation fused = act == ACT_SOFTMAX ? ACT_LINEAR : act;
	size_t o = 0;
	for (; o + OB <= OC; o += OB)
		LNF(dense_cols)(y, x, W, bias, N, K, OC, o, 1, OB, fused);
	for (; o + 4 <= OC; o += 4)
		LNF(dense_cols)(y, x, W, bias, N, K, OC, o, OB / 4, 4, fused);
	for (; o < OC; o++)
		LNF(dense_cols)(y, x, W, bias, N, K, OC, o, OB, 1, fused);
	if (act == ACT_SOFTMAX)
		for (size_t n = 0; n < N; n++)
			LNF(softmax_row)(y + n * OC * LN_L, OC);
}

/* ---- LSTM ---- */

/*
 * One time step for units u0 .. u0+UB: gates z = p + h_old · R (p: this
 * step's projected input, 4H vectors of LN_L lanes pitch floats apart; R
 * [H][4H], gates i, f, c, o), then c = σ(f)·c + σ(i)·tanh(c̃), h_new = σ(o)·tanh(c).
 */
LN_INLINE void LNF(lstm_block)(float *restrict hn, float *restrict cell, const float *restrict ho,
                          const float *restrict p, size_t pitch, const float *restrict R, size_t H,
                          size_t u0, size_t UB)
{
	LNF(vf) a[4][UB_MAX];
#pragma GCC unroll 4
	for (size_t g = 0; g < 4; g++)
#pragma GCC unroll 6
		for (size_t j = 0; j < UB; j++)
			LNF(v_load)(&a[g][j], p + (g * H + u0 + j) * pitch);
	for (size_t k = 0; k < H; k++) {
		LNF(vf) hv;
		LNF(v_load)(&hv, ho + k * LN_L);
		const float *restrict r = R + k * 4 * H + u0;
#pragma GCC unroll 4
		for (size_t g = 0; g < 4; g++)
#pragma GCC unroll 6
			for (size_t j = 0; j < UB; j++)
				a[g][j] += hv * r[g * H + j];
	}
	/*
	 * A unit's four gates as four interleaved chains (Q = 4 above): σ(i), σ(f),
	 * σ(o) and tanh(c̃) = 1 - 2/(e^2c̃ + 1) share the steps e^w, 1 + e, 1/(1 + e);
	 * then the UB cells' tanh as UB chains.
	 */
	LNF(vf) c[UB_MAX];
#pragma GCC unroll 6
	for (size_t j = 0; j < UB; j++) {
		LNF(vf) w[4] = {-a[0][j], -a[1][j], a[2][j] * 2.0f, -a[3][j]};
		LNF(v_exp)(w, 4);
#pragma GCC unroll 4
		for (size_t g = 0; g < 4; g++)
			w[g] = 1.0f + w[g];
		LNF(v_recip)(w, 4);
		LNF(vf) cand = 1.0f - 2.0f * w[2];
		a[3][j] = w[3];
		LNF(v_load)(&c[j], cell + (u0 + j) * LN_L);
		c[j] = w[1] * c[j] + w[0] * cand;
		LNF(v_store)(cell + (u0 + j) * LN_L, &c[j]);
	}
	LNF(v_tanh)(c, UB);
#pragma GCC unroll 6
	for (size_t j = 0; j < UB; j++) {
		c[j] = a[3][j] * c[j];
		LNF(v_store)(hn + (u0 + j) * LN_L, &c[j]);
	}
}

/*
 * Keras LSTM, zero initial state. The projected input of step t is 4H vectors
 * pitch floats apart at proj + (t % block)·4H·pitch + t / block: a window's T
 * rows [T][4H][LN_L] with pitch LN_L and block >= T; or a series' rows in
 * blocks (model_lanes.c, run_series), lane b reading block b + t / block. repeated:
 * the same row at every step. y: [T][H][LN_L] (return_sequences) or [H][LN_L].
 */
LN_INLINE void LNF(lstm_steps)(struct model_lanes *v, float *restrict y, const float *restrict proj,
                          size_t pitch, size_t block, int repeated, const float *restrict R,
                          int return_sequences, size_t T, size_t H, size_t UB)
{
	memset(v->h0, 0, H * LN_L * sizeof *v->h0);
	memset(v->cell, 0, H * LN_L * sizeof *v->cell);
	const float *ho = v->h0;
	for (size_t t = 0; t < T; t++) {
		float *hn = return_sequences ? y + t * H * LN_L : (t % 2 == 0 ? v->h1 : v->h0);
		const float *p = proj + (repeated ? 0 : (t % block) * 4 * H * pitch + t / block);
		size_t u = 0;
		for (; u + UB <= H; u += UB)
			LNF(lstm_block)(hn, v->cell, ho, p, pitch, R, H, u, UB);
		for (; u < H; u++)
			LNF(lstm_block)(hn, v->cell, ho, p, pitch, R, H, u, 1);
		ho = hn;
	}
	if (!return_sequences)
		memcpy(y, ho, H * LN_L * sizeof *y);
}

/* ---- the forward ---- */

LN_INLINE void LNF(copy_vecs)(float *restrict dst, const float *restrict src, size_t n)
{
	memcpy(dst, src, n * LN_L * sizeof *dst);
}

/*
 * Layer i of part (forward_body); N: the rows of a row-wise layer (rows_of(l),
 * or a series' block of rows in LANES_PREFIX, also the rows LSTM prefix_lstm
 * then projects).
 */
LN_INLINE void LNF(forward_layer)(struct model_lanes *v, enum lanes_part part, size_t i, size_t N,
                                  size_t OB, size_t UB)
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
		return;
	case LAYER_DENSE:
		LNF(dense_rows)(y, x, l->kernel, l->bias, N, p->C, l->C, l->act, OB);
		return;
	case LAYER_BATCH_NORM: {
		const float *s = v->bn_scale[i], *b = v->bn_shift[i];
		for (size_t n = 0; n < N; n++)
			for (size_t c = 0; c < l->C; c++) {
				LNF(vf) a;
				LNF(v_load)(&a, x + (n * l->C + c) * LN_L);
				a = a * s[c] + b[c];
				LNF(v_store)(y + (n * l->C + c) * LN_L, &a);
			}
		return;
	}
	case LAYER_LAYER_NORM: {
		size_t C = l->C;
		float eps = (float)l->epsilon;
		for (size_t n = 0; n < N; n++) {
			const float *xr = x + n * C * LN_L;
			float *yr = y + n * C * LN_L;
			LNF(vf) a, mean = (LNF(vf)){0}, var = (LNF(vf)){0};
			for (size_t c = 0; c < C; c++) {
				LNF(v_load)(&a, xr + c * LN_L);
				mean += a;
			}
			mean = mean / (float)C;
			for (size_t c = 0; c < C; c++) {
				LNF(v_load)(&a, xr + c * LN_L);
				a = a - mean;
				var += a * a;
			}
			var = var / (float)C + eps;
			LNF(vf) inv = var;
			for (size_t k = 0; k < LN_L; k++)
				inv[k] = 1.0f / __builtin_sqrtf(var[k]);
			for (size_t c = 0; c < C; c++) {
				float g = l->gamma != NULL ? l->gamma[c] : 1.0f;
				float b = l->beta != NULL ? l->beta[c] : 0.0f;
				LNF(v_load)(&a, xr + c * LN_L);
				a = (a - mean) * inv * g + b;
				LNF(v_store)(yr + c * LN_L, &a);
			}
		}
		return;
	}
	case LAYER_LSTM: {
		int repeated = p->kind == LAYER_REPEAT_VECTOR;
		int series = part != LANES_ALL && i == v->prefix_lstm; /* projections of a series' blocks */
		size_t H = l->C;
		/* a RepeatVector input has the same row at every step: project its input once */
		const float *xs = repeated ? v->act[p->inputs[0]] : x;
		if (part != LANES_SUFFIX || !series)
			LNF(dense_rows)(v->proj, xs, l->kernel, l->bias, repeated ? 1 : series ? N : p->T, p->C,
			                4 * H, ACT_LINEAR, OB);
		if (part == LANES_PREFIX)
			return;
		LNF(lstm_steps)(v, y, series ? v->series_proj : v->proj, series ? v->series_pitch : LN_L,
		                series ? v->block_rows : p->T > 0 ? p->T : 1, repeated, l->recurrent,
		                l->return_sequences, p->T, H, UB);
		return;
	}
	case LAYER_REPEAT_VECTOR:
		for (size_t r = 0; r < l->repeat; r++)
			LNF(copy_vecs)(y + r * l->C * LN_L, x, l->C);
		return;
	case LAYER_CONCATENATE:
		for (size_t n = 0; n < N; n++) {
			size_t off = 0;
			for (size_t j = 0; j < l->n_inputs; j++) {
				size_t Cj = m->layers[l->inputs[j]].C;
				LNF(copy_vecs)(y + (n * l->C + off) * LN_L, v->act[l->inputs[j]] + n * Cj * LN_L, Cj);
				off += Cj;
			}
		}
		return;
	}
}

/*
 * What one call runs (enum lanes_part, model_lanes.c): every layer; or, for
 * the row-wise prefix ending at LSTM k = v->prefix_lstm, layers 0 .. k-1 on
 * v->block_rows rows and k's input projection into v->proj; or k's
 * recurrence from the series' projections (v->series_proj, v->series_pitch,
 * v->block_rows) and the layers after it.
 */
LN_INLINE void LNF(forward_body)(struct model_lanes *v, enum lanes_part part, size_t OB, size_t UB)
{
	/* one loop, so that each build inlines forward_layer once (compile time and size) */
	const struct model *m = v->m;
	size_t first = part == LANES_SUFFIX ? v->prefix_lstm : 0;
	size_t end = part == LANES_PREFIX ? v->prefix_lstm + 1 : m->n_layers;
	for (size_t i = first; i < end; i++)
		LNF(forward_layer)(v, part, i, part == LANES_PREFIX ? v->block_rows : rows_of(&m->layers[i]),
		                   OB, UB);
}

