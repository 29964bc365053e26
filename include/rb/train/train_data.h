/*
 * train_data: the training set of rb-aioutliers-train from Druid timeseries
 * result files: each file parsed with series_parse (as the service parses a
 * Druid answer), its feature rows built by features.c (the serving code, so
 * training and serving see the same inputs), cut into windows that never
 * cross the boundary between two files or a gap in the time grid, and split
 * in time: the last `validation` share of each file's rows is validation.
 * Not the training, not the Druid fetch.
 *
 * Columns: the metrics are the first file's result metrics (every file must
 * carry the same ones, in every row, as finite numbers), then granularity,
 * minute, weekday_0..6 (plain one-hot). The granularity of a file is read
 * from its timestamps: the median step between consecutive rows; a row whose
 * step differs is a gap, and that row starts no window and sits in none (its
 * granularity column would say the gap, not the grid).
 */
#ifndef RB_TRAIN_DATA_H
#define RB_TRAIN_DATA_H

#include <stddef.h>

#include "rb/base/error.h"
#include "rb/input/series.h"
#include "rb/model/model.h"

/* Fewest training and validation windows a run can use. */
#define TRAIN_DATA_MIN_TRAIN_WINDOWS 8
#define TRAIN_DATA_MIN_VAL_WINDOWS 1
/* Below this many rows a run trains but warns that the data is little. */
#define TRAIN_DATA_FEW_ROWS 2000

struct train_data_options {
	size_t window;     /* rows per window (T, the model's window_size * num_windows) */
	size_t stride;     /* rows between window starts (the model's window_size) */
	double validation; /* share of each file's last rows for validation, in (0, 0.5] */
};

/* One input file as read. */
struct train_file {
	char *path;             /* as given */
	size_t rows;            /* rows of its series */
	size_t split;           /* first validation row (rows before it are training rows) */
	double step;            /* granularity, seconds */
	size_t gaps;            /* rows whose step is not the grid's */
	size_t train_windows, val_windows;
	struct series *val_series; /* its validation rows [split, rows) as parsed (owned) */
};

struct train_data {
	struct model_spec spec;  /* columns (metrics incl. granularity; timestamp), one-hot weekday;
	                          * window_size = stride, num_windows = window / stride */
	size_t n_metrics;        /* metric columns, granularity not counted */
	size_t C;                /* columns of a row */
	size_t T;                /* rows per window */
	size_t n_files;
	struct train_file *files;
	size_t n_rows;           /* rows of every file, back to back */
	double *x;               /* [n_rows * C] rescaled features (features.c's x) */
	size_t n_train_rows;     /* training rows (for the input statistics) */
	double *train_rows;      /* [n_train_rows * C] those rows, back to back */
	size_t n_train, n_val;   /* windows */
	size_t *train_start;     /* [n_train] first row of each (an index into x) */
	size_t *val_start;       /* [n_val] */
	size_t *val_file_first;  /* [n_files] the first validation window of each file */
};

/*
 * Reads paths[0..n_paths) into d. RB_E_INPUT naming the file (and row) for:
 * an unreadable or empty file, a result with no rows or no metric, a metric
 * missing (null, absent, not a number) in some row, different metrics in
 * two files, fewer windows than TRAIN_DATA_MIN_* (the message says how many
 * rows would be enough); RB_E_TOO_LARGE from the parser's caps; RB_E_NOMEM.
 * On failure d is released.
 */
enum rb_code train_data_load(struct train_data *d, const char *const *paths, size_t n_paths,
                             const struct train_data_options *opt, struct rb_err *err);

/* One Druid timeseries answer: a file (text NULL: read the file named label) or text in
 * memory (len bytes, e.g. what the command fetched); label names it in messages and in
 * files[k].path. */
struct train_source {
	const char *label;
	const char *text;
	size_t len;
};

/* train_data_load for sources: each one is one "file" (windows never cross two). */
enum rb_code train_data_load_sources(struct train_data *d, const struct train_source *src,
                                     size_t n, const struct train_data_options *opt,
                                     struct rb_err *err);

/* Releases d; safe on a zeroed or released struct. */
void train_data_release(struct train_data *d);

#endif
