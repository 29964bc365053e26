/*
 * bench_lanes_act: the lane kernel's activations (core/model/model_lanes_kernel.h)
 * on independent vectors, one dependency chain at a time (Q = 1) against Q
 * chains interleaved statement by statement, per vector build this CPU runs:
 * CPU ns per vector, medians of interleaved rounds, and the ratio to Q = 1.
 * What lstm_block's interleaving of a unit's four gates rests on. Prints a
 * table; asserts nothing. Pin it as bench_infer:
 *   taskset -c 1 build/bench/bench_lanes_act [--rounds 7]
 */
#include "core/model/model_lanes.c"

#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

/* Vectors per pass: in and out fit L1 (2 x 16 KiB at 16 lanes), as the gates of lstm_block do. */
#define ACT_VECS 256
/* Passes per timed call. */
#define ACT_PASSES 1600

enum act_fn { FN_EXP, FN_SIGMOID, FN_TANH, FN_GELU, FN_COUNT };
static const char *const act_fn_names[FN_COUNT] = {"exp", "sigmoid", "tanh", "gelu"};

/*
 * ACT_PASSES passes of fn over ACT_VECS vectors of in, Q at a time, into out.
 * One definition per build, FN and Q constants, so that the kernel's
 * functions inline as they do in the forward.
 */
#define ACT_RUNNER(ISA, ATTR, FN, Q)                                                     \
	ATTR __attribute__((noinline)) static void run_##ISA##_##FN##_##Q(const float *in, float *out) \
	{                                                                                \
		const size_t L = sizeof(vf_##ISA) / sizeof(float);                       \
		for (int pass = 0; pass < ACT_PASSES; pass++)                            \
			for (size_t i = 0; i < ACT_VECS; i += Q) {                       \
				vf_##ISA v[Q];                                           \
				_Pragma("GCC unroll 8") for (size_t q = 0; q < Q; q++)   \
					memcpy(&v[q], in + (i + q) * L, sizeof v[q]);    \
				FN##_##ISA(v, Q);                                        \
				_Pragma("GCC unroll 8") for (size_t q = 0; q < Q; q++)   \
					memcpy(out + (i + q) * L, &v[q], sizeof v[q]);   \
			}                                                                \
	}

#define ACT_RUNNERS(ISA, ATTR)                                                          \
	ACT_RUNNER(ISA, ATTR, v_exp, 1)                                                  \
	ACT_RUNNER(ISA, ATTR, v_exp, 4)                                                  \
	ACT_RUNNER(ISA, ATTR, v_sigmoid, 1)                                              \
	ACT_RUNNER(ISA, ATTR, v_sigmoid, 4)                                              \
	ACT_RUNNER(ISA, ATTR, v_tanh, 1)                                                 \
	ACT_RUNNER(ISA, ATTR, v_tanh, 4)                                                 \
	ACT_RUNNER(ISA, ATTR, v_gelu, 1)                                                 \
	ACT_RUNNER(ISA, ATTR, v_gelu, 4)                                                 \
	static void (*const runners_##ISA[FN_COUNT][2])(const float *, float *) = {      \
		{run_##ISA##_v_exp_1, run_##ISA##_v_exp_4},                              \
		{run_##ISA##_v_sigmoid_1, run_##ISA##_v_sigmoid_4},                      \
		{run_##ISA##_v_tanh_1, run_##ISA##_v_tanh_4},                            \
		{run_##ISA##_v_gelu_1, run_##ISA##_v_gelu_4},                            \
	};

ACT_RUNNERS(baseline, )
#if LANES_HAVE_X86
ACT_RUNNERS(avx2, __attribute__((target("avx2,fma"))))
ACT_RUNNERS(avx512, __attribute__((target(LANES_AVX512_TARGET))))
#endif

struct act_build {
	const char *name;
	enum model_vec_isa isa;
	size_t lanes;
	void (*const (*runners)[2])(const float *, float *);
};

int main(int argc, char **argv)
{
	int rounds = 7;
	if (argc == 3 && strcmp(argv[1], "--rounds") == 0 && atoi(argv[2]) > 0) {
		rounds = atoi(argv[2]);
	} else if (argc != 1) {
		fprintf(stderr, "usage: bench_lanes_act [--rounds R]\n");
		return 2;
	}
	const struct act_build builds[] = {
		{"baseline", MODEL_VEC_BASELINE, 4, runners_baseline},
#if LANES_HAVE_X86
		{"avx2", MODEL_VEC_AVX2, 8, runners_avx2},
		{"avx512", MODEL_VEC_AVX512, 16, runners_avx512},
#endif
	};
	const size_t n_builds = sizeof builds / sizeof builds[0];
	/* inputs over the range the gates see, |x| < 8, different in every lane */
	float *in = malloc(ACT_VECS * MODEL_LANES * sizeof *in);
	float *out = malloc(ACT_VECS * MODEL_LANES * sizeof *out);
	double *t = calloc(n_builds * FN_COUNT * 2 * (size_t)rounds, sizeof *t);
	if (in == NULL || out == NULL || t == NULL) {
		fprintf(stderr, "bench_lanes_act: out of memory\n");
		return 1;
	}
	uint64_t seed = 0x9e3779b97f4a7c15u;
	for (size_t k = 0; k < ACT_VECS * MODEL_LANES; k++)
		in[k] = (float)(16.0 * bench_unit(&seed) - 8.0);
	double sink = 0.0;
	for (int r = 0; r < rounds; r++)
		for (size_t b = 0; b < n_builds; b++) {
			if (!model_vec_isa_supported(builds[b].isa))
				continue;
			for (size_t f = 0; f < FN_COUNT; f++)
				for (size_t q = 0; q < 2; q++) {
					double t0 = bench_cpu_us();
					builds[b].runners[f][q](in, out);
					double us = bench_cpu_us() - t0;
					t[((b * FN_COUNT + f) * 2 + q) * (size_t)rounds + (size_t)r] =
						us * 1000.0 / ((double)ACT_PASSES * ACT_VECS);
					sink += out[r];
				}
		}
	printf("lane-kernel activations on independent vectors, %d interleaved rounds, medians; CPU ns per "
	       "vector\n",
	       rounds);
	printf("| build | lanes | function | one chain at a time | 4 interleaved | ratio |\n");
	printf("|---|---|---|---|---|---|\n");
	for (size_t b = 0; b < n_builds; b++) {
		if (!model_vec_isa_supported(builds[b].isa)) {
			printf("| %s | %zu | (not run: this CPU lacks it) | | | |\n", builds[b].name,
			       builds[b].lanes);
			continue;
		}
		for (size_t f = 0; f < FN_COUNT; f++) {
			double *one = t + ((b * FN_COUNT + f) * 2 + 0) * (size_t)rounds;
			double *four = t + ((b * FN_COUNT + f) * 2 + 1) * (size_t)rounds;
			double m1 = bench_median(one, (size_t)rounds), m4 = bench_median(four, (size_t)rounds);
			printf("| %s | %zu | %s | %.2f | %.2f | %.2fx |\n", builds[b].name, builds[b].lanes,
			       act_fn_names[f], m1, m4, m1 / m4);
		}
	}
	fprintf(stderr, "(checksum %g)\n", sink);
	free(in);
	free(out);
	free(t);
	return 0;
}
