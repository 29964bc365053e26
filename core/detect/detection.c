/*
 * detection: allocation of the per-row outcome arrays shared by every
 * detector (see detection.h). Not the JSON answer (response.c) and not any
 * detector's logic.
 */
#include "rb/detect/detection.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/base/assert.h"

enum rb_code detection_init(struct detection *d, size_t n, struct rb_err *err)
{
	memset(d, 0, sizeof *d);
	size_t m = n > 0 ? n : 1; /* calloc(0) may return NULL */
	if (m > SIZE_MAX / sizeof(double))
		return rb_err_set(err, RB_E_TOO_LARGE, "detection: %zu rows is too many", n);
	d->expected = calloc(m, sizeof *d->expected);
	d->observed = calloc(m, sizeof *d->observed);
	d->score = calloc(m, sizeof *d->score);
	d->anomaly = calloc(m, sizeof *d->anomaly);
	if (d->expected == NULL || d->observed == NULL || d->score == NULL || d->anomaly == NULL) {
		detection_release(d);
		return rb_err_set(err, RB_E_NOMEM, "out of memory for %zu detection rows", n);
	}
	d->n = n;
	return RB_OK;
}

void detection_release(struct detection *d)
{
	if (d == NULL)
		return;
	free(d->expected);
	free(d->observed);
	free(d->score);
	free(d->anomaly);
	d->expected = NULL;
	d->observed = NULL;
	d->score = NULL;
	d->anomaly = NULL;
	d->n = 0;
}

void detection_drop_head(struct detection *d, size_t k)
{
	RB_ASSERT(k <= d->n);
	if (k == 0)
		return;
	size_t rest = d->n - k;
	memmove(d->expected, d->expected + k, rest * sizeof *d->expected);
	memmove(d->observed, d->observed + k, rest * sizeof *d->observed);
	memmove(d->score, d->score + k, rest * sizeof *d->score);
	memmove(d->anomaly, d->anomaly + k, rest * sizeof *d->anomaly);
	d->n = rest;
}
