/*
 * bench_fma_peak: the float32 multiply-add throughput of one core, per vector
 * build this CPU runs (AVX2+FMA: 8 lanes, AVX-512: 16), by independent FMA
 * chains enough to hide the latency; and, from the traffic model's graph, its
 * multiply-adds per window and the time per window any code of that build
 * needs at that throughput: the floor bench_infer's figures are read
 * against. Prints a table; asserts nothing. Pin it as bench_infer:
 *   taskset -c 1 build/bench/bench_fma_peak [model.keras model.ini]
 */
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PEAK_X86 1
#else
#define PEAK_X86 0
#endif

#include "bench_util.h"
#include "rb/model/model.h"

/* FMA instructions issued per timed call. */
#define PEAK_ITERS 20000000L

#if PEAK_X86
/* PEAK_ITERS · 12 FMA instructions of 8 lanes; returns a sum so that nothing is dropped. */
__attribute__((target("avx2,fma"), noinline)) static float peak_avx2(void)
{
	__m256 a[12], b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
	for (int i = 0; i < 12; i++)
		a[i] = _mm256_set1_ps((float)i);
	for (long k = 0; k < PEAK_ITERS / 12; k++) {
#pragma GCC unroll 12
		for (int i = 0; i < 12; i++)
			a[i] = _mm256_fmadd_ps(a[i], b, c);
	}
	float s = 0.0f;
	for (int i = 0; i < 12; i++)
		s += _mm256_cvtss_f32(a[i]);
	return s;
}

/* PEAK_ITERS · 24 FMA instructions of 16 lanes. */
__attribute__((target("avx512f,fma"), noinline)) static float peak_avx512(void)
{
	__m512 a[24], b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
	for (int i = 0; i < 24; i++)
		a[i] = _mm512_set1_ps((float)i);
	for (long k = 0; k < PEAK_ITERS / 24; k++) {
#pragma GCC unroll 24
		for (int i = 0; i < 24; i++)
			a[i] = _mm512_fmadd_ps(a[i], b, c);
	}
	float s = 0.0f;
	for (int i = 0; i < 24; i++)
		s += _mm512_cvtss_f32(a[i]);
	return s;
}
#endif

/* Multiply-adds of one sample through m's Dense and LSTM layers (the rest is elementwise). */
static double model_macs(const struct model *m)
{
	double macs = 0.0;
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		if (l->n_inputs == 0)
			continue;
		const struct layer *p = &m->layers[l->inputs[0]];
		double rows = (double)(p->T > 0 ? p->T : 1);
		if (l->kind == LAYER_DENSE)
			macs += rows * (double)p->C * (double)l->C;
		if (l->kind == LAYER_LSTM) {
			double proj_rows = p->kind == LAYER_REPEAT_VECTOR ? 1.0 : rows;
			macs += proj_rows * (double)p->C * 4.0 * (double)l->C + rows * (double)l->C * 4.0 * (double)l->C;
		}
	}
	return macs;
}

int main(int argc, char **argv)
{
	char keras[4096], ini[4096];
	const char *shared = getenv("RB_SHARED_DIR");
	if (shared == NULL || shared[0] == '\0')
		shared = RB_SHARED_DIR_DEFAULT;
	snprintf(keras, sizeof keras, "%s/upstream/traffic.keras", shared);
	snprintf(ini, sizeof ini, "%s/upstream/traffic.ini", shared);
	if (argc == 3) {
		snprintf(keras, sizeof keras, "%s", argv[1]);
		snprintf(ini, sizeof ini, "%s", argv[2]);
	} else if (argc != 1) {
		fprintf(stderr, "usage: bench_fma_peak [model.keras model.ini]\n");
		return 2;
	}
	struct rb_err err = {0};
	struct model *m = NULL;
	if (model_load_files(&m, keras, ini, "bench", &err) != RB_OK) {
		fprintf(stderr, "bench_fma_peak: %s\n", err.msg);
		return 1;
	}
	double macs = model_macs(m);
	printf("model %s: %.0f multiply-adds per window (Dense and LSTM layers)\n", keras, macs);
	printf("| build | lanes | G FMA instructions/s | G multiply-adds/s | floor µs/window |\n"
	       "|---|---|---|---|---|\n");
#if PEAK_X86
	__builtin_cpu_init();
	static const struct {
		const char *name;
		int lanes;
	} builds[] = {{"avx2+fma", 8}, {"avx512", 16}};
	for (size_t k = 0; k < 2; k++) {
		int ok = k == 0 ? __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
		                : __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
		if (!ok) {
			printf("| %s | %d | - | - | - (this CPU cannot run it) |\n", builds[k].name, builds[k].lanes);
			continue;
		}
		double best = 0.0; /* instructions per µs, best of 5 */
		volatile float sink = 0.0f;
		for (int r = 0; r < 5; r++) {
			double t0 = bench_cpu_us();
			sink += k == 0 ? peak_avx2() : peak_avx512();
			double rate = (double)PEAK_ITERS / (bench_cpu_us() - t0);
			best = rate > best ? rate : best;
		}
		(void)sink;
		double mac_per_us = best * builds[k].lanes;
		printf("| %s | %d | %.2f | %.1f | %.2f |\n", builds[k].name, builds[k].lanes, best / 1e3,
		       mac_per_us / 1e3, macs / mac_per_us);
	}
#else
	printf("| (not x86-64: no probe) | | | | |\n");
#endif
	model_free(m);
	return 0;
}
