/*
 * smooth_legacy_ref: the old service's smoothing written as the direct sum it
 * was (each output the weighted sum of its 2h+1 padded neighbours, O(n h) =
 * O(n^2) with h = 5 % of n), kept as the test oracle of the linear-time
 * core/detect/smooth_legacy.c. Private to tests and bench/: the service never
 * calls it.
 */
#ifndef RB_SMOOTH_LEGACY_REF_H
#define RB_SMOOTH_LEGACY_REF_H

#include <stddef.h>

/*
 * out[i] = sum over j in [-h, h] of tap(j) * x[clamp(i + j, 0, n - 1)] / sum of taps,
 * tap(j) = h + 1 - |j| off centre and h^2/4 at the centre; h = 0 copies x.
 * The taps are summed in order j = -h..h, as the old code did.
 */
void smooth_legacy_ref_h(const double *x, size_t n, size_t h, double *out);

#endif
