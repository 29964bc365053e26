/*
 * trainer: the training loop of rb-aioutliers-train, on the plain-C
 * reference path (train_ref.h) or the oneDNN path (train_dnnl.h): shuffled mini-batches of the training
 * windows, the noisy training forward (Dropout, GaussianNoise), MAE plus the
 * old model's regularisers, AdamW, the validation MAE (inference form) after
 * each epoch, early stopping on it (the best epoch's weights are kept); then
 * the threshold calibration with the service's own code (engine.c's
 * reconstruction, score.c's score) on each file's validation rows.
 * Deterministic: the order and the noise come from the seed (the same draws
 * on both paths). Not the data, not the files.
 */
#ifndef RB_TRAINER_H
#define RB_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "rb/base/error.h"
#include "rb/model/model.h"
#include "rb/train/train_data.h"
#include "rb/train/train_net.h"

/* Which forward and backward the loop runs (the recipe is the same). */
enum trainer_path {
	TRAINER_PATH_REF,  /* train_ref.c, double precision: the default */
	TRAINER_PATH_DNNL, /* train_dnnl.c, oneDNN float32 */
};
#define TRAINER_PATH_COUNT 2

/* The paths' names as the command spells them ("ref", "dnnl"), in enum order, NULL after. */
extern const char *const trainer_path_names[TRAINER_PATH_COUNT + 1];

/* 0 and *out when s[0..len) is a path's name (exact); -1 otherwise, s NULL too. */
int trainer_path_parse(const char *s, size_t len, enum trainer_path *out);

struct trainer_options {
	size_t epochs;   /* most epochs (>= 1) */
	size_t batch;    /* windows per step (>= 1) */
	double lr;       /* AdamW learning rate (the old model's 0.00657) */
	double weight_decay;
	uint64_t seed;   /* the window order and the noise */
	size_t patience; /* stop after this many epochs without a better validation loss; 0 = never */
	/* After each epoch (may be NULL): epoch from 1, losses, seconds of the epoch. */
	void (*progress)(void *ctx, size_t epoch, size_t epochs, double train_loss, double val_loss,
	                 double seconds, int best);
	void *ctx;
	enum trainer_path path; /* zero-initialised: the reference path */
	/* The oneDNN path's OpenMP threads (train_dnnl_set_threads, process-wide); 0 = OpenMP's
	 * default (OMP_NUM_THREADS, else every core). The reference path runs on one thread. */
	size_t threads;
};

struct trainer_result {
	size_t epochs_run;
	size_t best_epoch;        /* its weights are the net's after trainer_run */
	double train_loss;        /* the training loss (MAE + regularisers, noisy) of the best epoch */
	double val_loss;          /* the validation MAE of the best epoch */
	size_t steps;
};

/*
 * Trains net (built on the model whose spec is d->spec's shape) on d.
 * RB_E_INPUT for options out of range, RB_E_NOMEM; RB_E_INTERNAL when a loss
 * is not finite (the message says the epoch).
 */
enum rb_code trainer_run(struct train_net *net, const struct train_data *d,
                         const struct trainer_options *o, struct trainer_result *r,
                         struct rb_err *err);

/*
 * The little-data rule (docs/TRAINING.md, "Little data"): for a run on
 * n_train < TRAINER_FEW_WINDOWS training windows, multiplies o->epochs and
 * o->patience by ceil(TRAINER_FEW_WINDOWS / n_train) and raises
 * o->weight_decay to at least TRAINER_FEW_DECAY. Returns 1 when it changed o,
 * 0 when it left o as it was (enough windows, or none).
 */
#define TRAINER_FEW_WINDOWS 112 /* the windows of TRAIN_DATA_FEW_ROWS rows, share 0.1 */
#define TRAINER_FEW_DECAY 0.3
int trainer_little_data(struct trainer_options *o, size_t n_train);

/* The validation MAE of net over d's validation windows (inference form). */
double trainer_val_loss(const struct train_net *net, const struct train_data *d, size_t batch);

/*
 * Sets m->spec's avg_loss, std_loss (mean and standard deviation of the
 * per-element |x - y| of the scored columns over the validation rows) and
 * score_mean, score_std (of the service's per-row score, score_rows with
 * SCORE_CENTRED, over the validation rows of every file), m's weights
 * being the trained ones. *n_rows gets how many rows were scored.
 */
enum rb_code trainer_calibrate(struct model *m, const struct train_data *d, size_t *n_rows,
                               struct rb_err *err);

#endif
