/*
 * kinds_synth: the failure kinds of issue 12 as small synthetic series (one
 * week of one-minute rows each, fixed seeds), each with one clear, novel
 * anomaly planted late in the week:
 *   quantised   CPU at 0.062-0.068 (quantum 0.001) with a 0.134 blip every
 *               5-9 minutes; anomaly: 0.9 for 3 rows;
 *   bursts      disk writes at 0 with bursts of 0.5-1.5e8 (10-20 rows, 4 a
 *               day at random times); anomaly: a burst to 8e8;
 *   zeros       three quarters of the rows 0, the others 1-5; anomaly: 60;
 *   shift       100 +- 6 noise, the level moves to 130 at row 6000 and
 *               stays (the onset is the anomaly; the new level is not);
 *   dip         a daily cycle 1000 + 300 sin with noise +- 30; anomaly: a
 *               dip to 200 for 5 rows at the cycle's top.
 * Shared by tests/test_detector_kinds.c (which asserts on them) and
 * bench/bench_eval_nab.c (which prints the table). Header-only.
 */
#ifndef RB_TESTUTIL_KINDS_SYNTH_H
#define RB_TESTUTIL_KINDS_SYNTH_H

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "testutil.h"

#define KINDS_N 10080 /* one week of one-minute rows */
/* A flag in [onset - KINDS_BEFORE, onset + KINDS_AFTER] is the anomaly's; any other is false. */
#define KINDS_BEFORE 2
#define KINDS_AFTER 5

enum kind { K_QUANTISED, K_BURSTS, K_ZEROS, K_SHIFT, K_DIP, K_COUNT };
static const char *const kind_names[K_COUNT] = {"quantised", "bursts", "zeros", "shift",
                                                "dip"};

/* Builds kind k into x[KINDS_N], t[KINDS_N]; returns the anomaly's onset row. */
static inline size_t kinds_make(enum kind k, double *x, double *t)
{
	struct tu_rng r = {0x5EED0000u + (uint64_t)k};
	size_t onset = 0;
	for (size_t i = 0; i < KINDS_N; i++)
		t[i] = 1700000000.0 + 60.0 * (double)i;
	switch (k) {
	case K_QUANTISED: {
		size_t next = 3;
		for (size_t i = 0; i < KINDS_N; i++) {
			x[i] = 0.062 + 0.001 * floor(7.0 * tu_rng_unit(&r));
			if (i == next) {
				x[i] = 0.134;
				next += 5 + (size_t)(5.0 * tu_rng_unit(&r));
			}
		}
		onset = 8500;
		for (size_t i = onset; i < onset + 3; i++)
			x[i] = 0.9;
		break;
	}
	case K_BURSTS: {
		for (size_t i = 0; i < KINDS_N; i++)
			x[i] = 0.0;
		for (size_t d = 0; d < 7; d++)
			for (int b = 0; b < 4; b++) {
				size_t at = d * 1440 + (size_t)(1400.0 * tu_rng_unit(&r));
				size_t len = 10 + (size_t)(10.0 * tu_rng_unit(&r));
				for (size_t i = at; i < at + len && i < KINDS_N; i++)
					x[i] = 5e7 + 1e8 * tu_rng_unit(&r);
			}
		onset = 9000;
		for (size_t i = onset; i < onset + 10; i++)
			x[i] = 8e8;
		break;
	}
	case K_ZEROS:
		for (size_t i = 0; i < KINDS_N; i++)
			x[i] = tu_rng_unit(&r) < 0.75 ? 0.0 : 1.0 + floor(5.0 * tu_rng_unit(&r));
		onset = 7000;
		x[onset] = 60.0;
		break;
	case K_SHIFT:
		for (size_t i = 0; i < KINDS_N; i++) {
			double g = tu_rng_unit(&r) + tu_rng_unit(&r) + tu_rng_unit(&r) - 1.5;
			x[i] = (i >= 6000 ? 130.0 : 100.0) + 2.0 * 2.0 * g;
		}
		onset = 6000;
		break;
	case K_DIP:
		for (size_t i = 0; i < KINDS_N; i++) {
			double g = tu_rng_unit(&r) + tu_rng_unit(&r) + tu_rng_unit(&r) - 1.5;
			x[i] = 1000.0 + 300.0 * sin(2.0 * M_PI * (double)(i % 1440) / 1440.0) +
			       20.0 * g;
		}
		onset = 5 * 1440 + 360; /* the top of the sixth day's cycle */
		for (size_t i = onset; i < onset + 5; i++)
			x[i] = 200.0;
		break;
	default:
		abort();
	}
	return onset;
}

#endif
