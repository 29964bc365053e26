/*
 * train_data: Druid timeseries result files -> feature rows (features.c) ->
 * windows that cross neither a file boundary nor a gap, split in time into
 * training and validation (rb/train/train_data.h). Not the training loop,
 * not the Druid fetch: a source is a Druid answer someone saved (a file) or
 * one the command fetched (text in memory).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rb/detect/features.h"
#include "rb/input/series.h"
#include "rb/train/train_data.h"

/* Cap on one input file: series_parse's default whole-text cap. */
#define TRAIN_FILE_MAX (64u << 20)

static const char *const time_columns[] = {"minute",    "weekday_0", "weekday_1",
                                           "weekday_2", "weekday_3", "weekday_4",
                                           "weekday_5", "weekday_6"};
#define N_TIME_COLUMNS (sizeof time_columns / sizeof time_columns[0])

void train_data_release(struct train_data *d)
{
	if (d == NULL)
		return;
	model_spec_clear(&d->spec);
	for (size_t i = 0; d->files != NULL && i < d->n_files; i++) {
		free(d->files[i].path);
		series_free(d->files[i].val_series);
	}
	free(d->files);
	free(d->x);
	free(d->train_rows);
	free(d->train_start);
	free(d->val_start);
	free(d->val_file_first);
	memset(d, 0, sizeof *d);
}

/* Whole file into a malloc'd buffer (cap TRAIN_FILE_MAX). */
static enum rb_code read_file(const char *path, char **out, size_t *len, struct rb_err *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return rb_err_set(err, RB_E_INPUT, "cannot open (%s)", strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return rb_err_set(err, RB_E_INPUT, "not a regular file");
	}
	if ((unsigned long long)st.st_size > TRAIN_FILE_MAX) {
		fclose(f);
		return rb_err_set(err, RB_E_TOO_LARGE, "%lld bytes (cap %u)", (long long)st.st_size,
		                  TRAIN_FILE_MAX);
	}
	if (st.st_size == 0) {
		fclose(f);
		return rb_err_set(err, RB_E_INPUT, "empty file (a Druid timeseries result is a JSON array)");
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fclose(f);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	size_t got = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	if (got != (size_t)st.st_size) {
		free(buf);
		return rb_err_set(err, RB_E_INPUT, "short read");
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return RB_OK;
}

/* 1 when text is "[]" with any whitespace. */
static int is_empty_array(const char *text, size_t len)
{
	size_t i = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	if (i == len || text[i++] != '[')
		return 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	if (i == len || text[i++] != ']')
		return 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	return i == len;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The grid step of s (median of the consecutive differences), 0 when it has < 2 rows. */
static double grid_step(const struct series *s)
{
	if (s->n < 2)
		return 0.0;
	double *dt = malloc((s->n - 1) * sizeof *dt);
	if (dt == NULL)
		return -1.0;
	for (size_t i = 1; i < s->n; i++)
		dt[i - 1] = s->t[i] - s->t[i - 1];
	qsort(dt, s->n - 1, sizeof *dt, cmp_double);
	double step = dt[(s->n - 1) / 2];
	free(dt);
	return step;
}

/* 1 when row i of s is off the grid (its step from row i-1 is not step). */
static int is_gap(const struct series *s, size_t i, double step)
{
	return i > 0 && fabs((s->t[i] - s->t[i - 1]) - step) > 1e-6 * step;
}

/*
 * Windows of T rows at the given stride inside rows [lo, hi) of s that stay
 * inside one run of the grid (a gap row starts a new run after itself). Writes
 * base + each start row into starts[] when starts is not NULL; returns the count.
 */
static size_t windows_in(const struct series *s, double step, size_t lo, size_t hi, size_t T,
                         size_t stride, size_t base, size_t *starts)
{
	size_t count = 0, run = lo;
	for (size_t i = lo; i <= hi; i++) {
		if (i < hi && !is_gap(s, i, step))
			continue;
		/* a run [run, i) ends here: row i is a gap (excluded) or the end */
		if (i > run) {
			size_t n = i - run;
			size_t nw = features_window_count(n, T, stride);
			for (size_t w = 0; w < nw; w++) {
				if (starts != NULL)
					starts[count] = base + run + features_window_start(n, T, stride, w);
				count++;
			}
		}
		run = i + 1;
	}
	return count;
}

/* The rows (at the validation share v) that give the minimum windows: for the error message. */
static size_t rows_needed(const struct train_data_options *o)
{
	size_t need_train = o->window + (TRAIN_DATA_MIN_TRAIN_WINDOWS - 1) * o->stride;
	size_t need_val = o->window + (TRAIN_DATA_MIN_VAL_WINDOWS - 1) * o->stride;
	size_t by_val = (size_t)ceil((double)need_val / o->validation);
	size_t by_train = (size_t)ceil((double)need_train / (1.0 - o->validation)) + 1;
	return by_val > by_train ? by_val : by_train;
}

static enum rb_code set_spec(struct train_data *d, const struct series *s, struct rb_err *err)
{
	struct model_spec *sp = &d->spec;
	sp->n_metrics = s->ncols + 1;
	sp->metrics = calloc(sp->n_metrics, sizeof *sp->metrics);
	sp->n_timestamp = N_TIME_COLUMNS;
	sp->timestamp = calloc(N_TIME_COLUMNS, sizeof *sp->timestamp);
	if (sp->metrics == NULL || sp->timestamp == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	for (size_t c = 0; c < s->ncols; c++) {
		if (strcmp(s->names[c], "granularity") == 0 || strchr(s->names[c], ',') != NULL ||
		    strpbrk(s->names[c], "\n\r=[]") != NULL)
			return rb_err_set(err, RB_E_INPUT, "metric name \"%s\" cannot be a model column",
			                  s->names[c]);
		sp->metrics[c] = strdup(s->names[c]);
		if (sp->metrics[c] == NULL)
			return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	sp->metrics[s->ncols] = strdup("granularity");
	if (sp->metrics[s->ncols] == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	for (size_t c = 0; c < N_TIME_COLUMNS; c++) {
		sp->timestamp[c] = strdup(time_columns[c]);
		if (sp->timestamp[c] == NULL)
			return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	sp->weekday = WEEKDAY_ONEHOT;
	d->n_metrics = s->ncols;
	d->C = sp->n_metrics + sp->n_timestamp;
	return RB_OK;
}

/* Checks s against the metrics of the first file, every value present and finite. */
static enum rb_code check_series(const struct train_data *d, const struct series *s,
                                 struct rb_err *err)
{
	if (s->n == 0)
		return rb_err_set(err, RB_E_INPUT, "no rows (an empty Druid answer)");
	if (s->ncols == 0)
		return rb_err_set(err, RB_E_INPUT, "no metric in any row");
	if (d->spec.metrics != NULL) {
		if (s->ncols != d->n_metrics)
			return rb_err_set(err, RB_E_INPUT, "%zu metrics, the first file has %zu", s->ncols,
			                  d->n_metrics);
		for (size_t c = 0; c < d->n_metrics; c++)
			if (series_col(s, d->spec.metrics[c]) < 0)
				return rb_err_set(err, RB_E_INPUT, "no metric \"%s\" (the first file has it)",
				                  d->spec.metrics[c]);
	}
	for (size_t i = 0; i < s->n; i++)
		for (size_t c = 0; c < s->ncols; c++)
			if (!s->present[i * s->ncols + c] || !isfinite(s->values[i * s->ncols + c]))
				return rb_err_set(err, RB_E_INPUT,
				                  "row %zu (%s): metric \"%s\" is missing or not a finite "
				                  "number (training needs every metric in every row)",
				                  i + 1, s->timestamps[i], s->names[c]);
	return RB_OK;
}

/* Grows an array of size_t to hold n more (*cap doubled). */
static int grow(size_t **a, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	size_t *p = realloc(*a, nc * sizeof *p);
	if (p == NULL)
		return -1;
	*a = p;
	*cap = nc;
	return 0;
}

/* Grows a [rows * C] array of doubles to hold need rows (*cap in rows, doubled). */
static int grow_doubles(double **a, size_t *cap, size_t need, size_t C)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 1024;
	while (nc < need)
		nc *= 2;
	double *p = realloc(*a, nc * C * sizeof *p);
	if (p == NULL)
		return -1;
	*a = p;
	*cap = nc;
	return 0;
}

/* One source (a file, or a Druid answer in memory): parse, check, features, windows appended
 * to d. */
static enum rb_code load_one(struct train_data *d, const struct train_source *src,
                             const struct train_data_options *o,
                             size_t *cap_rows, size_t *cap_tr, size_t *cap_va, size_t *cap_trr,
                             struct rb_err *err)
{
	const char *path = src->label;
	char *text = NULL;
	size_t len = 0;
	struct series *s = NULL;
	struct features f = {0};
	enum rb_code rc = RB_OK;
	if (src->text == NULL)
		rc = read_file(path, &text, &len, err);
	else if (src->len == 0)
		rc = rb_err_set(err, RB_E_INPUT, "empty answer (a Druid timeseries result is a JSON "
		                "array)");
	const char *body = src->text != NULL ? src->text : text;
	size_t body_len = src->text != NULL ? src->len : len;
	if (rc == RB_OK)
		rc = series_parse(&s, body, body_len, NULL, err);
	if (rc == RB_OK ? s->n == 0 : is_empty_array(body, body_len)) {
		series_free(s);
		s = NULL;
		rc = rb_err_set(err, RB_E_INPUT, "no rows: Druid answered [] (no data in the "
		                "interval, or a filter or data source that matches nothing)");
	}
	free(text);
	if (rc == RB_OK && d->spec.metrics == NULL && s->ncols > 0)
		rc = set_spec(d, s, err);
	if (rc == RB_OK)
		rc = check_series(d, s, err);
	if (rc != RB_OK) {
		series_free(s);
		return rc;
	}
	struct train_file *tf = &d->files[d->n_files];
	tf->path = strdup(path);
	if (tf->path == NULL) {
		series_free(s);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	d->n_files++;
	tf->rows = s->n;
	tf->step = grid_step(s);
	if (tf->step < 0) {
		series_free(s);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	size_t n_val_rows = (size_t)ceil((double)s->n * o->validation);
	tf->split = s->n - (n_val_rows < s->n ? n_val_rows : s->n);
	for (size_t i = 1; i < s->n; i++)
		tf->gaps += (size_t)is_gap(s, i, tf->step);
	if (s->n >= 2 && !(tf->step > 0)) {
		series_free(s);
		return rb_err_set(err, RB_E_INPUT, "timestamps repeat: no time grid");
	}
	rc = features_build(&f, s, &d->spec, err);
	if (rc != RB_OK) {
		series_free(s);
		return rc;
	}
	/* features.c orders columns as spec->metrics; the series may order them otherwise, but
	 * features_build looks them up by name, so f.x is in the spec's order. */
	size_t base = d->n_rows;
	if (grow_doubles(&d->x, cap_rows, base + s->n, d->C) != 0)
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
	size_t ntr = windows_in(s, tf->step, 0, tf->split, o->window, o->stride, base, NULL);
	size_t nva = windows_in(s, tf->step, tf->split, s->n, o->window, o->stride, base, NULL);
	if (rc == RB_OK && (grow(&d->train_start, cap_tr, d->n_train + ntr) != 0 ||
	                    grow(&d->val_start, cap_va, d->n_val + nva) != 0))
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
	if (rc == RB_OK) {
		memcpy(d->x + base * d->C, f.x, s->n * d->C * sizeof *d->x);
		d->n_rows += s->n;
		windows_in(s, tf->step, 0, tf->split, o->window, o->stride, base,
		           d->train_start + d->n_train);
		d->val_file_first[d->n_files - 1] = d->n_val;
		windows_in(s, tf->step, tf->split, s->n, o->window, o->stride, base,
		           d->val_start + d->n_val);
		d->n_train += ntr;
		d->n_val += nva;
		tf->train_windows = ntr;
		tf->val_windows = nva;
		/* the training rows, for the input statistics */
		if (grow_doubles(&d->train_rows, cap_trr, d->n_train_rows + tf->split, d->C) != 0) {
			rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
		} else {
			memcpy(d->train_rows + d->n_train_rows * d->C, f.x, tf->split * d->C * sizeof *d->x);
			d->n_train_rows += tf->split;
		}
	}
	features_release(&f);
	if (rc == RB_OK) { /* the validation rows, for the threshold calibration */
		series_drop_head(s, tf->split);
		tf->val_series = s;
	} else {
		series_free(s);
	}
	return rc;
}

enum rb_code train_data_load(struct train_data *d, const char *const *paths, size_t n_paths,
                             const struct train_data_options *opt, struct rb_err *err)
{
	struct train_source *src = calloc(n_paths ? n_paths : 1, sizeof *src);
	if (src == NULL) {
		memset(d, 0, sizeof *d);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	for (size_t k = 0; k < n_paths; k++)
		src[k].label = paths[k];
	enum rb_code rc = train_data_load_sources(d, src, n_paths, opt, err);
	free(src);
	return rc;
}

enum rb_code train_data_load_sources(struct train_data *d, const struct train_source *src,
                                     size_t n_paths, const struct train_data_options *opt,
                                     struct rb_err *err)
{
	memset(d, 0, sizeof *d);
	if (n_paths == 0)
		return rb_err_set(err, RB_E_INPUT, "no data file");
	if (opt->window < 2 || opt->stride < 1 || opt->window % opt->stride != 0)
		return rb_err_set(err, RB_E_INPUT, "window %zu and stride %zu: the window must be a "
		                  "multiple of the stride", opt->window, opt->stride);
	if (!(opt->validation > 0.0 && opt->validation <= 0.5))
		return rb_err_set(err, RB_E_INPUT, "validation share %g not in (0, 0.5]",
		                  opt->validation);
	d->T = opt->window;
	d->files = calloc(n_paths, sizeof *d->files);
	d->val_file_first = calloc(n_paths, sizeof *d->val_file_first);
	if (d->files == NULL || d->val_file_first == NULL) {
		train_data_release(d);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	size_t cap_rows = 0, cap_tr = 0, cap_va = 0, cap_trr = 0;
	for (size_t k = 0; k < n_paths; k++) {
		enum rb_code rc = load_one(d, &src[k], opt, &cap_rows, &cap_tr, &cap_va, &cap_trr, err);
		if (rc != RB_OK) {
			rb_err_prefix(err, "%s", src[k].label);
			train_data_release(d);
			return rc;
		}
	}
	d->spec.window_size = opt->stride;
	d->spec.num_windows = opt->window / opt->stride;
	if (d->n_train < TRAIN_DATA_MIN_TRAIN_WINDOWS || d->n_val < TRAIN_DATA_MIN_VAL_WINDOWS) {
		size_t rows = d->n_rows;
		size_t tr = d->n_train, va = d->n_val;
		train_data_release(d);
		return rb_err_set(err, RB_E_INPUT,
		                  "too little data: %zu rows give %zu training and %zu validation "
		                  "windows of %zu rows; needs at least %d and %d, that is at least %zu "
		                  "rows on a regular grid in one file or Druid answer (validation "
		                  "share %g)",
		                  rows, tr, va, opt->window, TRAIN_DATA_MIN_TRAIN_WINDOWS,
		                  TRAIN_DATA_MIN_VAL_WINDOWS, rows_needed(opt), opt->validation);
	}
	return RB_OK;
}
