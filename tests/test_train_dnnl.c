/*
 * train_dnnl: the oneDNN training path (float32) against the plain-C
 * double-precision oracle train_ref.c, on two graphs of the default
 * architecture: a small one (2 metrics, window 8, 4 units, activity and bias
 * L2 raised to 0.05 so that they matter) and the full one (11 metrics, window
 * 32, 24 units, the old model's regularisers). For each, with the training
 * form (Dropout 0.15 and GaussianNoise drawn from the same generator state on
 * both paths):
 *   - the forward output: max |y_dnnl - y_ref| <= FWD_TOL (absolute: the
 *     outputs are sigmoid/softmax values in [0, 1]); the generators end in the
 *     same state (same draws);
 *   - the MAE and the regularisation loss: relative LOSS_TOL;
 *   - every gradient (each parameter of each layer, and the input) under
 *     L = Σ r ⊙ output (r uniform in ±1/n, MAE-sized, fixed; a smooth loss,
 *     so a float rounding cannot flip a sign of |d| as MAE's would):
 *     |g_dnnl - g_ref| <= GRAD_TOL * max(GRAD_FLOOR, max |g_ref| of the
 *     tensor), i.e. relative to the tensor's scale (float32 sums over
 *     B*T rows), and element-wise |g_dnnl - g_ref| <= GRAD_TOL * max(1, |g_ref|);
 *   - the inference form (no draws) against train_forward.
 * Then: a batch size change (remainder batch, then back) gives the oracle's
 * results again; five AdamW steps on the full graph on both paths give losses
 * within STEP_TOL relative; the oneDNN path is deterministic (two contexts,
 * same seed: same output and gradient bytes); trainer_run on either path
 * gives the same per-epoch losses within LOOP_TOL. Each check prints its figure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/train/adamw.h"
#include "rb/train/train_arch.h"
#include "rb/train/train_dnnl.h"
#include "rb/train/train_net.h"
#include "rb/train/train_ref.h"
#include "rb/train/trainer.h"
#include "testutil.h"

#define FWD_TOL 2e-6
#define LOSS_TOL 2e-6
#define GRAD_TOL 1e-4
#define GRAD_FLOOR 1e-4
#define STEP_TOL 1e-6
#define LOOP_TOL 1e-6

struct graph {
	struct model *m;
	struct train_net *net;
	size_t in_n, out_n;
};

static void graph_new(struct graph *g, size_t nm, size_t window, size_t units, double l2)
{
	struct rb_err err = {0};
	struct train_arch a = {nm, window, units};
	CHECKF(train_arch_build(&g->m, &a, 7, &err) == RB_OK, "%s", err.msg);
	CHECKF(train_net_new(&g->net, g->m, &err) == RB_OK, "%s", err.msg);
	CHECK(train_arch_regularise(g->net) == 9);
	for (size_t i = 0; l2 > 0 && i < g->m->n_layers; i++) {
		if (g->net->activity_l2[i] != 0.0)
			g->net->activity_l2[i] = l2;
		if (g->net->bias_l2[i] != 0.0)
			g->net->bias_l2[i] = l2;
	}
	g->in_n = window * (nm + TRAIN_ARCH_TIME_COLUMNS);
	g->out_n = g->in_n;
	/* Non-trivial parameters: the initial weights plus a little noise everywhere trained
	 * (zero biases and unit norms would hide a transposed or missing term). */
	struct tu_rng r = {0x77u};
	for (size_t k = 0; k < g->net->n; k++)
		if (g->net->trainable[k])
			g->net->w[k] += 0.1 * (2.0 * tu_rng_unit(&r) - 1.0);
}

static void graph_free(struct graph *g)
{
	train_net_free(g->net);
	model_free(g->m);
}

/* Windows with the feature pipeline's ranges: metrics in [0, 1], one-hot weekday. */
static void make_input(double *x, size_t B, size_t window, size_t nm, uint64_t seed)
{
	struct tu_rng r = {seed};
	size_t C = nm + TRAIN_ARCH_TIME_COLUMNS;
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < window; t++) {
			double *row = x + (b * window + t) * C;
			for (size_t c = 0; c < nm; c++)
				row[c] = tu_rng_unit(&r);
			row[nm] = 0.25;
			row[nm + 1] = tu_rng_unit(&r);
			size_t wd = (size_t)(tu_rng_unit(&r) * 7) % 7;
			for (size_t d = 0; d < 7; d++)
				row[nm + 2 + d] = d == wd ? 1.0 : 0.0;
		}
}

/* A layer's parameter tensors: pointers into net->g and their lengths. */
static size_t tensors(const struct train_net *net, size_t i, double **p, size_t *n,
                      const char **name)
{
	const struct layer *l = &net->m->layers[i];
	const struct train_view *g = &net->gv[i];
	size_t k = 0, in_C = l->n_inputs > 0 ? net->m->layers[l->inputs[0]].C : 0;
	if (l->kind == LAYER_DENSE) {
		p[k] = g->kernel, n[k] = in_C * l->C, name[k++] = "kernel";
		if (g->bias != NULL)
			p[k] = g->bias, n[k] = l->C, name[k++] = "bias";
	} else if (l->kind == LAYER_LSTM) {
		p[k] = g->kernel, n[k] = in_C * 4 * l->C, name[k++] = "kernel";
		p[k] = g->recurrent, n[k] = l->C * 4 * l->C, name[k++] = "recurrent";
		p[k] = g->bias, n[k] = 4 * l->C, name[k++] = "bias";
	} else if (l->kind == LAYER_BATCH_NORM || l->kind == LAYER_LAYER_NORM) {
		if (g->gamma != NULL)
			p[k] = g->gamma, n[k] = l->C, name[k++] = "gamma";
		if (g->beta != NULL)
			p[k] = g->beta, n[k] = l->C, name[k++] = "beta";
	}
	return k;
}

/* |a - b| <= GRAD_TOL * max(GRAD_FLOOR, max |b|) over n values; returns the ratio to the scale. */
static double compare(const double *a, const double *b, size_t n, const char *what, const char *sub)
{
	double scale = GRAD_FLOOR, diff = 0.0;
	for (size_t k = 0; k < n; k++) {
		scale = fabs(b[k]) > scale ? fabs(b[k]) : scale;
		diff = fabs(a[k] - b[k]) > diff ? fabs(a[k] - b[k]) : diff;
	}
	CHECKF(diff <= GRAD_TOL * scale, "%s %s: max |g_dnnl - g_ref| %.3g, scale %.3g (ratio %.3g)",
	       what, sub, diff, scale, diff / scale);
	for (size_t k = 0; k < n; k++) /* the element-wise form: implied whenever scale <= 1 */
		CHECKF(fabs(a[k] - b[k]) <= GRAD_TOL * fmax(1.0, fabs(b[k])), "%s %s [%zu]: %.9g vs %.9g",
		       what, sub, k, a[k], b[k]);
	return diff / scale;
}

/* Forward (training form), losses, gradients of one graph on both paths, batch B. */
static void check_graph(const char *label, struct graph *g, size_t B, size_t window, size_t nm,
                        struct train_dnnl *dn)
{
	struct rb_err err = {0};
	struct train_tape *tape = NULL;
	int own = dn == NULL;
	CHECKF(train_tape_new(&tape, g->net, B, &err) == RB_OK, "%s", err.msg);
	if (own)
		CHECKF(train_dnnl_new(&dn, g->net, B, &err) == RB_OK, "%s", err.msg);
	double *x = malloc(B * g->in_n * sizeof *x);
	double *gref = malloc(g->net->n * sizeof *gref);
	double *dinr = malloc(B * g->in_n * sizeof *dinr), *dind = malloc(B * g->in_n * sizeof *dind);
	CHECK(x != NULL && gref != NULL && dinr != NULL && dind != NULL);
	make_input(x, B, window, nm, 0x1234 + B);

	/* training form: same generator state on both paths */
	uint64_t r1 = 99, r2 = 99;
	const double *yr = train_forward_noisy(g->net, tape, x, B, &r1);
	const double *yd = NULL;
	CHECKF(train_dnnl_forward(dn, x, B, &r2, &yd, &err) == RB_OK, "%s", err.msg);
	CHECK(r1 == r2);
	double fdiff = 0.0;
	for (size_t k = 0; k < B * g->out_n; k++)
		fdiff = fabs(yd[k] - yr[k]) > fdiff ? fabs(yd[k] - yr[k]) : fdiff;
	CHECKF(fdiff <= FWD_TOL, "%s forward: max |y_dnnl - y_ref| %.3g", label, fdiff);
	double mr = train_loss_mae(tape, x), md = train_dnnl_loss_mae(dn, x);
	double rr = train_loss_reg(g->net, tape), rd = train_dnnl_loss_reg(dn);
	CHECKF(fabs(md - mr) <= LOSS_TOL * mr, "%s MAE %.9g vs %.9g", label, md, mr);
	CHECKF(fabs(rd - rr) <= LOSS_TOL * rr, "%s regularisation %.9g vs %.9g", label, rd, rr);

	/* gradients under L = Σ r ⊙ y (the same r on both) */
	struct tu_rng rr_ = {0xd0u};
	double *dr = train_tape_dout(tape), *dd = train_dnnl_dout(dn);
	double inv = 1.0 / (double)(B * g->out_n);
	for (size_t k = 0; k < B * g->out_n; k++)
		dr[k] = dd[k] = (2.0 * tu_rng_unit(&rr_) - 1.0) * inv;
	train_net_zero_grad(g->net);
	train_backward(g->net, tape, dinr);
	memcpy(gref, g->net->g, g->net->n * sizeof *gref);
	train_net_zero_grad(g->net);
	CHECKF(train_dnnl_backward(dn, g->net, dind, &err) == RB_OK, "%s", err.msg);
	double worst = 0.0;
	const char *worst_name = "";
	size_t n_checked = 0;
	for (size_t i = 0; i < g->m->n_layers; i++) {
		double *p[4];
		size_t n[4];
		const char *name[4];
		size_t nt = tensors(g->net, i, p, n, name);
		for (size_t k = 0; k < nt; k++) {
			size_t off = (size_t)(p[k] - g->net->g);
			double q = compare(p[k], gref + off, n[k], g->m->layers[i].name, name[k]);
			n_checked += n[k];
			if (q > worst) {
				worst = q;
				worst_name = g->m->layers[i].name;
			}
		}
	}
	double qin = compare(dind, dinr, B * g->in_n, "input", "gradient");
	/* BatchNorm's moving statistics get no gradient on either path */
	for (size_t k = 0; k < g->net->n; k++)
		if (!g->net->trainable[k])
			CHECK(g->net->g[k] == 0.0 && gref[k] == 0.0);

	/* inference form */
	yr = train_forward(g->net, tape, x, B);
	CHECKF(train_dnnl_forward(dn, x, B, NULL, &yd, &err) == RB_OK, "%s", err.msg);
	double idiff = 0.0;
	for (size_t k = 0; k < B * g->out_n; k++)
		idiff = fabs(yd[k] - yr[k]) > idiff ? fabs(yd[k] - yr[k]) : idiff;
	CHECKF(idiff <= FWD_TOL, "%s inference forward: %.3g", label, idiff);
	printf("%s, batch %zu: forward max |diff| %.2g (inference form %.2g); MAE rel %.2g, reg rel "
	       "%.2g; %zu parameter gradients, worst |diff| / tensor scale %.2g (%s), input %.2g\n",
	       label, B, fdiff, idiff, fabs(md - mr) / mr, fabs(rd - rr) / rr, n_checked, worst,
	       worst_name, qin);
	free(x);
	free(gref);
	free(dinr);
	free(dind);
	train_tape_free(tape);
	if (own)
		train_dnnl_free(dn);
}

/* Five AdamW steps of batch B on both paths from the same start: the losses agree. */
static void check_steps(void)
{
	struct rb_err err = {0};
	enum { B = 8, STEPS = 5, NM = 11, W = 32 };
	struct graph g[2];
	double loss[2][STEPS];
	double *x = malloc(STEPS * B * W * (NM + 9) * sizeof *x);
	CHECK(x != NULL);
	make_input(x, STEPS * B, W, NM, 0xabc);
	for (int path = 0; path < 2; path++) {
		graph_new(&g[path], NM, W, 24, 0.0);
		struct adamw_config cfg = {0.00657, 0.9, 0.999, 1e-7, 0.004};
		struct adamw *opt = NULL;
		struct train_tape *tape = NULL;
		struct train_dnnl *dn = NULL;
		CHECKF(adamw_new(&opt, g[path].net->n, &cfg, &err) == RB_OK, "%s", err.msg);
		if (path == 0)
			CHECKF(train_tape_new(&tape, g[path].net, B, &err) == RB_OK, "%s", err.msg);
		else
			CHECKF(train_dnnl_new(&dn, g[path].net, B, &err) == RB_OK, "%s", err.msg);
		uint64_t rng = 5;
		for (int s = 0; s < STEPS; s++) {
			const double *xb = x + (size_t)s * B * g[path].in_n;
			const double *y = NULL;
			train_net_zero_grad(g[path].net);
			if (path == 0) {
				train_forward_noisy(g[path].net, tape, xb, B, &rng);
				loss[path][s] = train_loss_mae(tape, xb) + train_loss_reg(g[path].net, tape);
				train_backward(g[path].net, tape, NULL);
			} else {
				CHECKF(train_dnnl_forward(dn, xb, B, &rng, &y, &err) == RB_OK, "%s", err.msg);
				loss[path][s] = train_dnnl_loss_mae(dn, xb) + train_dnnl_loss_reg(dn);
				CHECKF(train_dnnl_backward(dn, g[path].net, NULL, &err) == RB_OK, "%s",
				       err.msg);
			}
			adamw_step(opt, g[path].net->w, g[path].net->g, g[path].net->trainable);
		}
		adamw_free(opt);
		train_tape_free(tape);
		train_dnnl_free(dn);
	}
	double worst = 0.0, wdiff = 0.0;
	for (int s = 0; s < STEPS; s++) {
		double rel = fabs(loss[1][s] - loss[0][s]) / loss[0][s];
		worst = rel > worst ? rel : worst;
		CHECKF(rel <= STEP_TOL, "step %d: loss %.9g (oneDNN) vs %.9g (reference)", s + 1,
		       loss[1][s], loss[0][s]);
	}
	for (size_t k = 0; k < g[0].net->n; k++)
		wdiff = fabs(g[1].net->w[k] - g[0].net->w[k]) > wdiff ? fabs(g[1].net->w[k] - g[0].net->w[k])
		                                                       : wdiff;
	printf("%d AdamW steps (batch %d, 11 metrics): losses %.6f -> %.6f (reference), worst relative "
	       "difference %.2g; weights after: max |diff| %.2g\n",
	       STEPS, B, loss[0][0], loss[0][STEPS - 1], worst, wdiff);
	graph_free(&g[0]);
	graph_free(&g[1]);
	free(x);
}

/* Two contexts, same seed, same inputs: the same output and gradient bytes. */
static void check_determinism(void)
{
	struct rb_err err = {0};
	enum { B = 6, NM = 3, W = 16 };
	struct graph g;
	graph_new(&g, NM, W, 8, 0.0);
	double *x = malloc(B * g.in_n * sizeof *x), *y[2], *gr[2];
	CHECK(x != NULL);
	make_input(x, B, W, NM, 0x5);
	for (int k = 0; k < 2; k++) {
		struct train_dnnl *dn = NULL;
		const double *out = NULL;
		uint64_t rng = 17;
		CHECKF(train_dnnl_new(&dn, g.net, B, &err) == RB_OK, "%s", err.msg);
		CHECKF(train_dnnl_forward(dn, x, B, &rng, &out, &err) == RB_OK, "%s", err.msg);
		y[k] = malloc(B * g.out_n * sizeof(double));
		gr[k] = malloc(g.net->n * sizeof(double));
		CHECK(y[k] != NULL && gr[k] != NULL);
		memcpy(y[k], out, B * g.out_n * sizeof(double));
		train_dnnl_loss_mae(dn, x);
		train_net_zero_grad(g.net);
		CHECKF(train_dnnl_backward(dn, g.net, NULL, &err) == RB_OK, "%s", err.msg);
		memcpy(gr[k], g.net->g, g.net->n * sizeof(double));
		train_dnnl_free(dn);
	}
	CHECK(memcmp(y[0], y[1], B * g.out_n * sizeof(double)) == 0);
	CHECK(memcmp(gr[0], gr[1], g.net->n * sizeof(double)) == 0);
	printf("determinism: two contexts, same seed: output and %zu gradients bit for bit\n",
	       g.net->n);
	for (int k = 0; k < 2; k++) {
		free(y[k]);
		free(gr[k]);
	}
	free(x);
	graph_free(&g);
}

struct curve {
	size_t n;
	double train[8], val[8];
};

static void on_epoch(void *ctx, size_t epoch, size_t epochs, double tl, double vl, double sec,
                     int best)
{
	struct curve *c = ctx;
	(void)epoch, (void)epochs, (void)sec, (void)best;
	if (c->n < 8) {
		c->train[c->n] = tl;
		c->val[c->n] = vl;
		c->n++;
	}
}

/*
 * trainer_run on both paths (trainer_options.path): 4 epochs of a small graph
 * on 37 training windows in batches of 8 (a remainder of 5) and 6 validation
 * windows: the per-epoch losses agree within LOOP_TOL relative, a second oneDNN
 * run repeats the weights bit for bit, and an unknown path is refused.
 */
static void check_trainer(void)
{
	enum { NM = 2, W = 8, ROWS = 400, NT = 37, NV = 6, EPOCHS = 4 };
	size_t C = NM + TRAIN_ARCH_TIME_COLUMNS;
	struct rb_err err = {0};
	struct train_data d;
	memset(&d, 0, sizeof d);
	d.C = C;
	d.T = W;
	d.n_rows = ROWS;
	d.x = malloc(ROWS * C * sizeof *d.x);
	d.train_start = malloc(NT * sizeof *d.train_start);
	d.val_start = malloc(NV * sizeof *d.val_start);
	CHECK(d.x != NULL && d.train_start != NULL && d.val_start != NULL);
	for (size_t t = 0; t < ROWS; t++) {
		double *row = d.x + t * C;
		row[0] = 0.5 + 0.3 * sin(2 * 3.14159265358979 * (double)t / 24.0);
		row[1] = 0.5 + 0.2 * cos(2 * 3.14159265358979 * (double)t / 12.0);
		row[2] = 0.25;
		row[3] = (double)(t % 24) / 24.0;
		for (size_t k = 0; k < 7; k++)
			row[4 + k] = (t / 24) % 7 == k ? 1.0 : 0.0;
	}
	d.n_train = NT;
	d.n_val = NV;
	for (size_t w = 0; w < NT; w++)
		d.train_start[w] = w * 8;
	for (size_t w = 0; w < NV; w++)
		d.val_start[w] = (NT + w) * 8 + 4;
	struct curve c[3];
	double *w_end[3];
	for (int run = 0; run < 3; run++) {
		struct graph g;
		graph_new(&g, NM, W, 8, 0.0);
		CHECKF(train_arch_input_stats(g.net, d.x, NT * 8, &err) == RB_OK, "%s", err.msg);
		memset(&c[run], 0, sizeof c[run]);
		struct trainer_options o = {EPOCHS, 8, 0.00657, 0.004, 3, 0, on_epoch, &c[run],
		                            run == 0 ? TRAINER_PATH_REF : TRAINER_PATH_DNNL, 1};
		struct trainer_result r;
		CHECKF(trainer_run(g.net, &d, &o, &r, &err) == RB_OK, "%s", err.msg);
		CHECK(c[run].n == EPOCHS && r.steps == EPOCHS * 5);
		w_end[run] = malloc(g.net->n * sizeof(double));
		CHECK(w_end[run] != NULL);
		memcpy(w_end[run], g.net->w, g.net->n * sizeof(double));
		if (run == 2) {
			o.path = (enum trainer_path)TRAINER_PATH_COUNT;
			CHECK(trainer_run(g.net, &d, &o, &r, &err) == RB_E_INPUT);
			CHECK(memcmp(w_end[1], w_end[2], g.net->n * sizeof(double)) == 0);
		}
		graph_free(&g);
	}
	double worst = 0.0;
	for (size_t e = 0; e < EPOCHS; e++) {
		double rt = fabs(c[1].train[e] - c[0].train[e]) / c[0].train[e];
		double rv = fabs(c[1].val[e] - c[0].val[e]) / c[0].val[e];
		CHECKF(rt <= LOOP_TOL && rv <= LOOP_TOL, "epoch %zu: train %.9g vs %.9g, validation "
		       "%.9g vs %.9g", e + 1, c[1].train[e], c[0].train[e], c[1].val[e], c[0].val[e]);
		worst = rt > worst ? rt : worst;
		worst = rv > worst ? rv : worst;
	}
	CHECK(train_dnnl_set_threads(1) == 0); /* Debian's oneDNN runs on OpenMP */
	enum trainer_path pp;
	CHECK(trainer_path_parse("dnnl", 4, &pp) == 0 && pp == TRAINER_PATH_DNNL);
	CHECK(trainer_path_parse("ref", 3, &pp) == 0 && pp == TRAINER_PATH_REF);
	CHECK(trainer_path_parse("onednn", 6, &pp) == -1);
	printf("trainer_run, %d epochs of 5 steps: validation %.6f -> %.6f (reference), %.6f -> %.6f "
	       "(oneDNN), worst relative difference %.2g; a second oneDNN run: same weights\n",
	       EPOCHS, c[0].val[0], c[0].val[EPOCHS - 1], c[1].val[0], c[1].val[EPOCHS - 1], worst);
	for (int run = 0; run < 3; run++)
		free(w_end[run]);
	free(d.x);
	free(d.train_start);
	free(d.val_start);
}

int main(void)
{
	struct rb_err err = {0};
	struct train_dnnl *dn = NULL;
	struct graph small, full;

	graph_new(&small, 2, 8, 4, 0.05);
	check_graph("small (2 metrics, window 8, 4 units)", &small, 5, 8, 2, NULL);
	/* one context across batch sizes: full, remainder, full again */
	CHECKF(train_dnnl_new(&dn, small.net, 7, &err) == RB_OK, "%s", err.msg);
	check_graph("small, shared context", &small, 7, 8, 2, dn);
	check_graph("small, shared context", &small, 3, 8, 2, dn);
	check_graph("small, shared context", &small, 7, 8, 2, dn);
	train_dnnl_free(dn);
	dn = NULL;
	CHECK(train_dnnl_new(&dn, small.net, 0, &err) == RB_E_INPUT && dn == NULL);
	graph_free(&small);

	graph_new(&full, 11, 32, 24, 0.0);
	check_graph("default architecture (11 metrics, window 32, 24 units)", &full, 16, 32, 11, NULL);
	graph_free(&full);

	check_steps();
	check_determinism();
	check_trainer();

	return 0;
}
