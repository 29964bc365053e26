/*
 * adamw: Keras-compatible AdamW step over flat double arrays (see adamw.h).
 * Only the update rule and its moments; not the gradients, not a schedule.
 */
#include "rb/train/adamw.h"

#include <math.h>
#include <stdlib.h>

#include "rb/base/assert.h"

struct adamw {
	size_t n;
	uint64_t t;               /* steps taken */
	struct adamw_config cfg;
	double *m;                /* (n) first moment */
	double *v;                /* (n) second moment */
};

static int in_unit(double b) { return isfinite(b) && b >= 0.0 && b < 1.0; }

enum rb_code adamw_new(struct adamw **out, size_t n, const struct adamw_config *cfg,
                       struct rb_err *err)
{
	RB_ASSERT(out != NULL && cfg != NULL);
	*out = NULL;
	if (!(isfinite(cfg->lr) && cfg->lr > 0.0))
		return rb_err_set(err, RB_E_CONFIG, "adamw: learning rate must be finite and > 0");
	if (!in_unit(cfg->beta1) || !in_unit(cfg->beta2))
		return rb_err_set(err, RB_E_CONFIG, "adamw: beta_1 and beta_2 must be in [0, 1)");
	if (!(isfinite(cfg->eps) && cfg->eps > 0.0))
		return rb_err_set(err, RB_E_CONFIG, "adamw: epsilon must be finite and > 0");
	if (!(isfinite(cfg->weight_decay) && cfg->weight_decay >= 0.0))
		return rb_err_set(err, RB_E_CONFIG, "adamw: weight decay must be finite and >= 0");
	struct adamw *o = calloc(1, sizeof *o);
	if (o != NULL) {
		o->m = calloc(n > 0 ? n : 1, sizeof *o->m);
		o->v = calloc(n > 0 ? n : 1, sizeof *o->v);
	}
	if (o == NULL || o->m == NULL || o->v == NULL) {
		adamw_free(o);
		return rb_err_set(err, RB_E_NOMEM, "adamw: no memory for %zu parameters", n);
	}
	o->n = n;
	o->cfg = *cfg;
	*out = o;
	return RB_OK;
}

void adamw_step(struct adamw *opt, double *w, const double *g, const unsigned char *mask)
{
	const struct adamw_config *c = &opt->cfg;
	opt->t++;
	double t = (double)opt->t;
	double alpha = c->lr * sqrt(1.0 - pow(c->beta2, t)) / (1.0 - pow(c->beta1, t));
	double decay = c->lr * c->weight_decay;
	for (size_t k = 0; k < opt->n; k++) {
		if (mask != NULL && mask[k] == 0)
			continue;
		w[k] -= w[k] * decay;
		opt->m[k] += (g[k] - opt->m[k]) * (1.0 - c->beta1);
		opt->v[k] += (g[k] * g[k] - opt->v[k]) * (1.0 - c->beta2);
		w[k] -= opt->m[k] * alpha / (sqrt(opt->v[k]) + c->eps);
	}
}

uint64_t adamw_steps(const struct adamw *opt) { return opt->t; }

void adamw_free(struct adamw *opt)
{
	if (opt == NULL)
		return;
	free(opt->m);
	free(opt->v);
	free(opt);
}
