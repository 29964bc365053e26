/*
 * novelty_ref: the plain-C reference of novelty_detect() (include/rb/detect/detector.h),
 * kept as the test oracle for core/detect/detector_novelty.c: the same method written the
 * obvious way (O(n^2) counts over earlier rows, sorts by insertion, no radix sort, no
 * Fenwick tree). Private to tests and bench/: the service never calls it.
 */
#ifndef RB_NOVELTY_REF_H
#define RB_NOVELTY_REF_H

#include <stddef.h>

#include "rb/base/error.h"

/*
 * Same contract as novelty_detect(): for the same input the same anomaly[] row for row,
 * and expected[] and score[] equal up to rounding (the same arithmetic, so in practice
 * bit for bit). Time O(n^2): meant for series of a few thousand rows.
 */
enum rb_code novelty_detect_reference(const double *x, const double *t, size_t n,
                                      double sensitivity, double *expected, double *score,
                                      unsigned char *anomaly, double *threshold,
                                      struct rb_err *err);

#endif
