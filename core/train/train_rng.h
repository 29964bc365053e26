/*
 * train_rng: the one random-number generator of core/train (initial weights,
 * Dropout masks, Gaussian noise): splitmix64 (Steele, Lea, Flood 2014) on a
 * 64-bit state, with uniform and normal draws in IEEE double: the integers
 * and the uniforms are the same everywhere; the normals go through libm's
 * log, sqrt and cos, so they are the same with the same libm (glibc on
 * x86-64 here). Private to core/train; never changes (models are
 * reproducible from their seed).
 */
#ifndef RB_TRAIN_RNG_H
#define RB_TRAIN_RNG_H

#include <math.h>
#include <stdint.h>

/* The next 64 bits; advances *s. */
static inline uint64_t train_rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1) from the top 53 bits. */
static inline double train_rng_unit(uint64_t *s)
{
	return (double)(train_rng_next(s) >> 11) * 0x1.0p-53;
}

/* Standard normal (Box-Muller, one value per call, two draws). */
static inline double train_rng_normal(uint64_t *s)
{
	double u = 1.0 - train_rng_unit(s); /* (0, 1] */
	double v = train_rng_unit(s);
	return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}

#endif
