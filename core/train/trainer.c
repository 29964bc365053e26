/*
 * trainer: epochs of mini-batch AdamW on the plain-C reference path or the
 * oneDNN path, early stopping on the validation MAE, and the threshold
 * calibration through the service's scoring code (rb/train/trainer.h). The
 * two paths share the recipe: the loop calls them through struct pass.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb/detect/engine.h"
#include "rb/detect/features.h"
#include "rb/detect/score.h"
#include "rb/model/infer.h"
#include "rb/base/assert.h"
#include "rb/base/name_table.h"
#include "rb/train/adamw.h"
#include "rb/train/train_dnnl.h"
#include "rb/train/train_ref.h"
#include "rb/train/trainer.h"
#include "train_rng.h"

const char *const trainer_path_names[TRAINER_PATH_COUNT + 1] = {
	[TRAINER_PATH_REF] = "ref",
	[TRAINER_PATH_DNNL] = "dnnl",
	[TRAINER_PATH_COUNT] = NULL,
};

int trainer_path_parse(const char *s, size_t len, enum trainer_path *out)
{
	long k = name_table_find(trainer_path_names, TRAINER_PATH_COUNT, s, len);
	if (k < 0)
		return -1;
	*out = (enum trainer_path)k;
	return 0;
}

/* One path's forward, loss and backward for the loop: exactly one of tape, dn is set. */
struct pass {
	const struct train_net *net;
	struct train_tape *tape;
	struct train_dnnl *dn;
};

static enum rb_code pass_new(struct pass *p, const struct train_net *net, enum trainer_path path,
                             size_t B, struct rb_err *err)
{
	memset(p, 0, sizeof *p);
	p->net = net;
	if (path == TRAINER_PATH_DNNL)
		return train_dnnl_new(&p->dn, net, B, err);
	return train_tape_new(&p->tape, net, B, err);
}

static void pass_free(struct pass *p)
{
	train_tape_free(p->tape);
	train_dnnl_free(p->dn);
}

/* Forward of b windows (rng NULL: inference form), then the MAE against the input. */
static enum rb_code pass_loss(struct pass *p, const double *batch, size_t b, uint64_t *rng,
                              double *mae, struct rb_err *err)
{
	if (p->dn != NULL) {
		const double *y = NULL;
		enum rb_code rc = train_dnnl_forward(p->dn, batch, b, rng, &y, err);
		if (rc != RB_OK)
			return rc;
		*mae = train_dnnl_loss_mae(p->dn, batch);
		return RB_OK;
	}
	if (rng != NULL)
		train_forward_noisy(p->net, p->tape, batch, b, rng);
	else
		train_forward(p->net, p->tape, batch, b);
	*mae = train_loss_mae(p->tape, batch);
	return RB_OK;
}

static double pass_reg(const struct pass *p)
{
	return p->dn != NULL ? train_dnnl_loss_reg(p->dn) : train_loss_reg(p->net, p->tape);
}

/* net->g += the gradient of the last pass_loss (net is p's). */
static enum rb_code pass_backward(struct pass *p, struct train_net *net, struct rb_err *err)
{
	RB_ASSERT(net == p->net);
	if (p->dn != NULL)
		return train_dnnl_backward(p->dn, net, NULL, err);
	train_backward(net, p->tape, NULL);
	return RB_OK;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Copies the windows starts[idx[0..b)] of d->x into batch [b, T, C]. */
static void gather(double *batch, const struct train_data *d, const size_t *starts,
                   const size_t *idx, size_t b)
{
	size_t per = d->T * d->C;
	for (size_t k = 0; k < b; k++)
		memcpy(batch + k * per, d->x + starts[idx != NULL ? idx[k] : k] * d->C,
		       per * sizeof *batch);
}

/* *loss = the mean MAE over the windows starts[0..n) (inference form), in batches of B. */
static enum rb_code set_loss(struct pass *p, double *batch, const struct train_data *d,
                             const size_t *starts, size_t n, size_t B, double *loss,
                             struct rb_err *err)
{
	double sum = 0.0;
	for (size_t w = 0; w < n; w += B) {
		size_t b = n - w < B ? n - w : B;
		double mae = 0.0;
		gather(batch, d, starts + w, NULL, b);
		enum rb_code rc = pass_loss(p, batch, b, NULL, &mae, err);
		if (rc != RB_OK)
			return rc;
		sum += mae * (double)b;
	}
	*loss = n > 0 ? sum / (double)n : 0.0;
	return RB_OK;
}

double trainer_val_loss(const struct train_net *net, const struct train_data *d, size_t batch)
{
	struct rb_err err = {0};
	struct pass p;
	double *buf = malloc(batch * d->T * d->C * sizeof *buf);
	double loss = NAN;
	if (buf != NULL && pass_new(&p, net, TRAINER_PATH_REF, batch, &err) == RB_OK) {
		set_loss(&p, buf, d, d->val_start, d->n_val, batch, &loss, &err);
		pass_free(&p);
	}
	free(buf);
	return loss;
}

/*
 * The little-data rule. Below TRAINER_FEW_WINDOWS training windows (2,000
 * rows of one file at the validation share 0.1 give 112) two things go wrong
 * with the defaults, and the rule answers each (measured in docs/TRAINING.md,
 * "Little data"; bench/bench_train_little.c):
 * - An epoch is a few steps (28 windows at batch 32: one), so `--epochs` and
 *   `--patience`, counted in epochs, give the optimizer a few dozen steps and
 *   stop on a handful of noisy validation windows. Both are multiplied by
 *   f = ceil(TRAINER_FEW_WINDOWS / n_train): a small set gets the budget and
 *   the patience, in windows seen, of a set at the threshold.
 * - The validation set (1 to 11 windows) is too small for early stopping to
 *   be the regulariser, and the fit varies widely between seeds. AdamW's
 *   decoupled weight decay (a shrinkage towards 0) is raised to at least
 *   TRAINER_FEW_DECAY, which held the held-out error down on every seed.
 * Batch and learning rate stay (a smaller learning rate underfit; a batch of
 * 8 diverged on one seed of 500 rows).
 */
int trainer_little_data(struct trainer_options *o, size_t n_train)
{
	if (n_train >= TRAINER_FEW_WINDOWS || n_train == 0)
		return 0;
	size_t f = (TRAINER_FEW_WINDOWS + n_train - 1) / n_train;
	o->epochs *= f;
	o->patience *= f;
	if (o->weight_decay < TRAINER_FEW_DECAY)
		o->weight_decay = TRAINER_FEW_DECAY;
	return 1;
}

enum rb_code trainer_run(struct train_net *net, const struct train_data *d,
                         const struct trainer_options *o, struct trainer_result *r,
                         struct rb_err *err)
{
	memset(r, 0, sizeof *r);
	if (o->epochs < 1 || o->batch < 1 || !(o->lr > 0) || !(o->weight_decay >= 0))
		return rb_err_set(err, RB_E_INPUT, "epochs, batch and learning rate must be > 0");
	if ((unsigned)o->path >= TRAINER_PATH_COUNT)
		return rb_err_set(err, RB_E_INPUT, "unknown training path %d", (int)o->path);
	if (net->m->in_T != d->T || net->m->in_C != d->C)
		return rb_err_set(err, RB_E_INPUT, "the model takes [%zu, %zu] windows, the data has "
		                  "[%zu, %zu]", net->m->in_T, net->m->in_C, d->T, d->C);
	struct adamw_config cfg = {o->lr, 0.9, 0.999, 1e-7, o->weight_decay};
	struct adamw *opt = NULL;
	struct pass pass = {0};
	size_t per = d->T * d->C;
	double *batch = malloc(o->batch * per * sizeof *batch);
	double *best = malloc(net->n * sizeof *best);
	size_t *order = malloc(d->n_train * sizeof *order);
	enum rb_code rc = RB_OK;
	if (batch == NULL || best == NULL || order == NULL)
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
	if (rc == RB_OK)
		rc = adamw_new(&opt, net->n, &cfg, err);
	if (rc == RB_OK && o->path == TRAINER_PATH_DNNL && o->threads > 0 &&
	    train_dnnl_set_threads(o->threads) != 0 && o->threads > 1)
		rc = rb_err_set(err, RB_E_INPUT, "%zu threads: this oneDNN has no OpenMP runtime to set",
		                o->threads);
	if (rc == RB_OK)
		rc = pass_new(&pass, net, o->path, o->batch, err);
	if (rc != RB_OK)
		goto done;
	for (size_t w = 0; w < d->n_train; w++)
		order[w] = w;
	uint64_t order_rng = o->seed ^ 0x6f72646572ull; /* "order" */
	uint64_t noise_rng = o->seed ^ 0x6e6f697365ull; /* "noise" */
	double best_val = INFINITY;
	size_t since_best = 0;
	memcpy(best, net->w, net->n * sizeof *best);
	for (size_t e = 1; e <= o->epochs; e++) {
		double t0 = now_seconds();
		for (size_t w = d->n_train - 1; w > 0; w--) { /* Fisher-Yates */
			size_t j = (size_t)(train_rng_unit(&order_rng) * (double)(w + 1));
			if (j > w)
				j = w;
			size_t tmp = order[w];
			order[w] = order[j];
			order[j] = tmp;
		}
		double sum = 0.0;
		for (size_t w = 0; w < d->n_train; w += o->batch) {
			size_t b = d->n_train - w < o->batch ? d->n_train - w : o->batch;
			double mae = 0.0;
			gather(batch, d, d->train_start, order + w, b);
			rc = pass_loss(&pass, batch, b, &noise_rng, &mae, err);
			if (rc != RB_OK)
				goto done;
			sum += (mae + pass_reg(&pass)) * (double)b;
			train_net_zero_grad(net);
			rc = pass_backward(&pass, net, err);
			if (rc != RB_OK)
				goto done;
			adamw_step(opt, net->w, net->g, net->trainable);
			r->steps++;
		}
		double train_loss = sum / (double)d->n_train;
		double val = NAN;
		rc = set_loss(&pass, batch, d, d->val_start, d->n_val, o->batch, &val, err);
		if (rc != RB_OK)
			goto done;
		if (!isfinite(train_loss) || !isfinite(val)) {
			rc = rb_err_set(err, RB_E_INTERNAL, "epoch %zu: the loss is not finite (train %g, "
			                "validation %g): try a smaller --lr", e, train_loss, val);
			goto done;
		}
		int is_best = val < best_val;
		if (is_best) {
			best_val = val;
			since_best = 0;
			memcpy(best, net->w, net->n * sizeof *best);
			r->best_epoch = e;
			r->train_loss = train_loss;
			r->val_loss = val;
		} else {
			since_best++;
		}
		r->epochs_run = e;
		if (o->progress != NULL)
			o->progress(o->ctx, e, o->epochs, train_loss, val, now_seconds() - t0, is_best);
		if (o->patience > 0 && since_best >= o->patience)
			break;
	}
	memcpy(net->w, best, net->n * sizeof *best);
done:
	adamw_free(opt);
	pass_free(&pass);
	free(batch);
	free(best);
	free(order);
	return rc;
}

enum rb_code trainer_calibrate(struct model *m, const struct train_data *d, size_t *n_rows,
                               struct rb_err *err)
{
	struct infer *inf = NULL;
	enum rb_code rc = infer_new(&inf, m, INFER_REFERENCE, err);
	if (rc != RB_OK)
		return rc;
	size_t D = m->spec.n_metrics, C = d->C;
	/* pass 1: per-element |x - y| statistics; the scores need avg/std set first */
	double abs_sum = 0.0, abs_sq = 0.0, cnt = 0.0;
	double s_sum = 0.0, s_sq = 0.0, s_cnt = 0.0;
	m->spec.has_score_stats = 0;
	m->spec.avg_loss = 0.0;
	m->spec.std_loss = 0.0;
	for (int pass = 0; pass < 2 && rc == RB_OK; pass++) {
		for (size_t k = 0; k < d->n_files && rc == RB_OK; k++) {
			const struct series *s = d->files[k].val_series;
			if (s == NULL || s->n < d->T)
				continue;
			struct features f = {0};
			double *y = NULL;
			rc = engine_reconstruct(inf, m, s, &f, &y, err);
			if (rc != RB_OK)
				break;
			if (pass == 0) {
				for (size_t i = 0; i < s->n; i++)
					for (size_t c = 0; c < D; c++) {
						double a = fabs(f.x[i * C + c] - y[i * C + c]);
						abs_sum += a;
						abs_sq += a * a;
						cnt += 1.0;
					}
			} else {
				double *score = malloc(s->n * sizeof *score);
				unsigned char *flag = malloc(s->n);
				double *centre = malloc(D * sizeof *centre);
				double thr = 0.0;
				struct score_options so = {SCORE_CENTRED, 0.0};
				if (score == NULL || flag == NULL || centre == NULL)
					rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
				else
					rc = score_rows(&m->spec, f.x, y, s->n, C, &so, score, flag, centre,
					                &thr, err);
				for (size_t i = 0; rc == RB_OK && i < s->n; i++) {
					s_sum += score[i];
					s_sq += score[i] * score[i];
					s_cnt += 1.0;
				}
				free(score);
				free(flag);
				free(centre);
			}
			features_release(&f);
			free(y);
		}
		if (pass == 0 && cnt > 0) {
			m->spec.avg_loss = abs_sum / cnt;
			double var = abs_sq / cnt - m->spec.avg_loss * m->spec.avg_loss;
			m->spec.std_loss = sqrt(var > 0 ? var : 0);
		}
	}
	infer_free(inf);
	if (rc != RB_OK)
		return rc;
	if (s_cnt < 1)
		return rb_err_set(err, RB_E_INPUT, "no validation rows to calibrate the threshold on");
	m->spec.score_mean = s_sum / s_cnt;
	double var = s_sq / s_cnt - m->spec.score_mean * m->spec.score_mean;
	m->spec.score_std = sqrt(var > 0 ? var : 0);
	m->spec.has_score_stats = 1;
	*n_rows = (size_t)s_cnt;
	return RB_OK;
}
