/*
 * blame: the "who caused it" rule over a rows x buckets matrix (see
 * include/rb/explain/blame.h for the rule and docs/OPERATIONS.md for why).
 * Plain C, sorting copies for medians; not a detector, reads no input format.
 */
#include "rb/explain/blame.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of v[0..n) (n > 0), reordering v. */
static double median_inplace(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double cell(const double *x, size_t cols, size_t k, size_t t)
{
	double v = x[k * cols + t];
	return isnan(v) ? 0.0 : v;
}

/* Baseline and scale of row k over the columns other than at (cols > 1); tmp holds cols - 1. */
static void row_baseline(const double *x, size_t cols, size_t k, size_t at, double *tmp,
                         double *b, double *s)
{
	size_t m = 0;
	for (size_t t = 0; t < cols; t++)
		if (t != at)
			tmp[m++] = cell(x, cols, k, t);
	*b = median_inplace(tmp, m);
	for (size_t i = 0; i < m; i++)
		tmp[i] = fabs(tmp[i] - *b);
	double mad = 1.4826 * median_inplace(tmp, m);
	double floor = BLAME_MIN_REL_SCALE * fabs(*b);
	*s = mad > floor ? mad : floor;
}

static int cmp_item(const void *a, const void *b)
{
	const struct blame_item *p = a, *q = b;
	if (p->share != q->share)
		return p->share > q->share ? -1 : 1;
	double zp = fabs(p->z), zq = fabs(q->z);
	if (zp != zq)
		return zp > zq ? -1 : 1;
	return (p->row > q->row) - (p->row < q->row);
}

void blame_release(struct blame_result *res)
{
	if (res == NULL)
		return;
	free(res->items);
	memset(res, 0, sizeof *res);
}

enum rb_code blame_rows(const double *x, size_t rows, size_t cols, size_t at,
                        struct blame_result *res, struct rb_err *err)
{
	memset(res, 0, sizeof *res);
	if (rows == 0 || cols == 0 || at >= cols)
		return RB_OK;
	int history = cols > 1;
	double *tmp = malloc((cols > rows ? cols : rows) * sizeof *tmp);
	double *dev = malloc(rows * sizeof *dev);
	double *z = malloc(rows * sizeof *z);
	double *base = malloc(rows * sizeof *base);
	res->items = malloc(rows * sizeof *res->items);
	if (tmp == NULL || dev == NULL || z == NULL || base == NULL || res->items == NULL) {
		free(tmp);
		free(dev);
		free(z);
		free(base);
		blame_release(res);
		return rb_err_set(err, RB_E_NOMEM, "out of memory explaining an anomaly");
	}
	double total_obs = 0, abs_dev = 0;
	for (size_t k = 0; k < rows; k++) {
		double v = cell(x, cols, k, at), b = 0, s = 0;
		if (history)
			row_baseline(x, cols, k, at, tmp, &b, &s);
		base[k] = b;
		dev[k] = v - b;
		z[k] = !history ? 0.0 : s > 0 ? dev[k] / s : dev[k] == 0 ? 0.0 : copysign(HUGE_VAL, dev[k]);
		total_obs += v;
		abs_dev += fabs(dev[k]);
	}
	double total_base = 0;
	if (history) {
		size_t m = 0;
		for (size_t t = 0; t < cols; t++) {
			if (t == at)
				continue;
			double sum = 0;
			for (size_t k = 0; k < rows; k++)
				sum += cell(x, cols, k, t);
			tmp[m++] = sum;
		}
		total_base = median_inplace(tmp, m);
	}
	double D = total_obs - total_base;
	double denom = D != 0 ? D : abs_dev;
	res->total_observed = total_obs;
	res->total_baseline = total_base;
	for (size_t k = 0; k < rows && denom != 0; k++) {
		double share = dev[k] / denom;
		if (history && !(fabs(z[k]) >= BLAME_Z))
			continue;
		if (!(share >= BLAME_MIN_SHARE))
			continue;
		struct blame_item *it = &res->items[res->n++];
		it->row = k;
		it->observed = cell(x, cols, k, at);
		it->baseline = base[k];
		it->z = z[k];
		it->share = share;
	}
	qsort(res->items, res->n, sizeof *res->items, cmp_item);
	free(tmp);
	free(dev);
	free(z);
	free(base);
	return RB_OK;
}
