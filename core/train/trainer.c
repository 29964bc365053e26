/*
 * trainer: epochs of mini-batch AdamW on the plain-C reference path, early
 * stopping on the validation MAE, and the threshold calibration through the
 * service's scoring code (rb/train/trainer.h). Slow: it runs the plain-C
 * oracle (train_ref.c); the oneDNN training path will replace its inner
 * loop, not its recipe.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb/detect/engine.h"
#include "rb/detect/features.h"
#include "rb/detect/score.h"
#include "rb/model/infer.h"
#include "rb/train/adamw.h"
#include "rb/train/train_ref.h"
#include "rb/train/trainer.h"
#include "train_rng.h"

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

/* Mean MAE over the windows starts[0..n) (inference form), in batches of B. */
static double set_loss(const struct train_net *net, struct train_tape *tape, double *batch,
                       const struct train_data *d, const size_t *starts, size_t n, size_t B)
{
	double sum = 0.0;
	for (size_t w = 0; w < n; w += B) {
		size_t b = n - w < B ? n - w : B;
		gather(batch, d, starts + w, NULL, b);
		train_forward(net, tape, batch, b);
		sum += train_loss_mae(tape, batch) * (double)b;
	}
	return n > 0 ? sum / (double)n : 0.0;
}

double trainer_val_loss(const struct train_net *net, const struct train_data *d, size_t batch)
{
	struct rb_err err = {0};
	struct train_tape *tape = NULL;
	double *buf = malloc(batch * d->T * d->C * sizeof *buf);
	double loss = NAN;
	if (buf != NULL && train_tape_new(&tape, net, batch, &err) == RB_OK)
		loss = set_loss(net, tape, buf, d, d->val_start, d->n_val, batch);
	train_tape_free(tape);
	free(buf);
	return loss;
}

enum rb_code trainer_run(struct train_net *net, const struct train_data *d,
                         const struct trainer_options *o, struct trainer_result *r,
                         struct rb_err *err)
{
	memset(r, 0, sizeof *r);
	if (o->epochs < 1 || o->batch < 1 || !(o->lr > 0) || !(o->weight_decay >= 0))
		return rb_err_set(err, RB_E_INPUT, "epochs, batch and learning rate must be > 0");
	if (net->m->in_T != d->T || net->m->in_C != d->C)
		return rb_err_set(err, RB_E_INPUT, "the model takes [%zu, %zu] windows, the data has "
		                  "[%zu, %zu]", net->m->in_T, net->m->in_C, d->T, d->C);
	struct adamw_config cfg = {o->lr, 0.9, 0.999, 1e-7, o->weight_decay};
	struct adamw *opt = NULL;
	struct train_tape *tape = NULL;
	size_t per = d->T * d->C;
	double *batch = malloc(o->batch * per * sizeof *batch);
	double *best = malloc(net->n * sizeof *best);
	size_t *order = malloc(d->n_train * sizeof *order);
	enum rb_code rc = RB_OK;
	if (batch == NULL || best == NULL || order == NULL)
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
	if (rc == RB_OK)
		rc = adamw_new(&opt, net->n, &cfg, err);
	if (rc == RB_OK)
		rc = train_tape_new(&tape, net, o->batch, err);
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
			gather(batch, d, d->train_start, order + w, b);
			train_forward_noisy(net, tape, batch, b, &noise_rng);
			double loss = train_loss_mae(tape, batch) + train_loss_reg(net, tape);
			sum += loss * (double)b;
			train_net_zero_grad(net);
			train_backward(net, tape, NULL);
			adamw_step(opt, net->w, net->g, net->trainable);
			r->steps++;
		}
		double train_loss = sum / (double)d->n_train;
		double val = set_loss(net, tape, batch, d, d->val_start, d->n_val, o->batch);
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
	train_tape_free(tape);
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
