/*
 * bench_train_little: does the little-data rule (trainer_little_data,
 * rb/train/trainer.h) help? Trains the default architecture on each TRAIN
 * file (a Druid timeseries result, e.g. 500-2,000 one-minute rows) as
 * rb-aioutliers-train does with its defaults (validation share 0.1, window 32
 * stride 16, up to 100 epochs, patience 10, batch 32, lr 0.00657, weight
 * decay 0.004, the oneDNN path on one thread), for seeds 1..SEEDS, once with
 * the settings as given and once with the rule applied; then measures the
 * reconstruction MAE on HELDOUT (later rows of the same series, never seen in
 * training or early stopping) the way the service reconstructs a request
 * (engine_reconstruct: features, windows, overlapping windows averaged), over
 * the metric columns. Prints one row per file, seed and variant, then the
 * means. Usage:
 *   bench_train_little [--seeds 3] [--batch N] [--wd X] [--lr X] [--epochs N]
 *                      [--patience N] [--only off|rule] HELDOUT TRAIN...
 * Not a test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/detect/engine.h"
#include "rb/detect/features.h"
#include "rb/input/series.h"
#include "rb/model/infer.h"
#include "rb/train/train_arch.h"
#include "rb/train/train_data.h"
#include "rb/train/train_net.h"
#include "rb/train/trainer.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *t = malloc((size_t)n + 1);
	if (t != NULL && fread(t, 1, (size_t)n, f) != (size_t)n) {
		free(t);
		t = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return t;
}

/* Mean |x - y| over the metric columns of every row of s (the service's reconstruction). */
static double heldout_mae(struct model *m, const struct series *s)
{
	struct rb_err err = {0};
	struct infer *inf = NULL;
	struct features f = {0};
	double *y = NULL, sum = 0.0, n = 0.0;
	if (infer_new(&inf, m, INFER_REFERENCE, &err) != RB_OK ||
	    engine_reconstruct(inf, m, s, &f, &y, &err) != RB_OK) {
		fprintf(stderr, "held-out: %s\n", err.msg);
		exit(1);
	}
	size_t C = m->in_C, D = m->spec.n_metrics;
	for (size_t i = 0; i < s->n; i++)
		for (size_t c = 0; c < D; c++) {
			sum += fabs(f.x[i * C + c] - y[i * C + c]);
			n += 1.0;
		}
	features_release(&f);
	free(y);
	infer_free(inf);
	return sum / n;
}

int main(int argc, char **argv)
{
	size_t seeds = 3, epochs = 100, patience = 10, batch = 32;
	double wd = 0.004, lr = 0.00657;
	int only = -1; /* -1 both, 0 off, 1 rule */
	int a = 1;
	for (; a + 1 < argc && strncmp(argv[a], "--", 2) == 0; a += 2) {
		const char *o = argv[a], *v = argv[a + 1];
		if (strcmp(o, "--seeds") == 0)
			seeds = (size_t)atoi(v);
		else if (strcmp(o, "--batch") == 0)
			batch = (size_t)atoi(v);
		else if (strcmp(o, "--wd") == 0)
			wd = atof(v);
		else if (strcmp(o, "--lr") == 0)
			lr = atof(v);
		else if (strcmp(o, "--epochs") == 0)
			epochs = (size_t)atoi(v);
		else if (strcmp(o, "--patience") == 0)
			patience = (size_t)atoi(v);
		else if (strcmp(o, "--only") == 0)
			only = strcmp(v, "rule") == 0;
		else
			break;
	}
	if (argc - a < 2) {
		fprintf(stderr, "usage: bench_train_little [--seeds N] [--batch N] [--wd X] [--lr X] "
		        "[--epochs N] [--patience N] [--only off|rule] HELDOUT TRAIN...\n");
		return 2;
	}
	struct rb_err err = {0};
	size_t hlen = 0;
	char *htext = slurp(argv[a], &hlen);
	struct series *held = NULL;
	if (htext == NULL || series_parse(&held, htext, hlen, NULL, &err) != RB_OK) {
		fprintf(stderr, "%s: %s\n", argv[a], htext == NULL ? "unreadable" : err.msg);
		return 1;
	}
	printf("bench_train_little: held-out %s, %zu rows\n", argv[a], held->n);
	printf("| train file | rows | windows (train + val) | seed | variant | batch | lr | weight "
	       "decay | epochs (best) | validation MAE | held-out MAE |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
	size_t nf = (size_t)(argc - a - 1);
	double *mean = calloc(nf * 2, sizeof *mean);
	for (size_t k = 0; k < nf; k++) {
		const char *path = argv[a + 1 + k];
		struct train_data d;
		struct train_data_options dopt = {32, 16, 0.1};
		if (train_data_load(&d, &path, 1, &dopt, &err) != RB_OK) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		for (size_t seed = 1; seed <= seeds; seed++)
			for (int rule = 0; rule < 2; rule++) {
				if (only >= 0 && rule != only)
					continue;
				struct train_arch arch = TRAIN_ARCH_TRAFFIC(d.n_metrics);
				struct model *m = NULL;
				struct train_net *net = NULL;
				if (train_arch_build(&m, &arch, seed, &err) != RB_OK ||
				    train_net_new(&net, m, &err) != RB_OK)
					return 1;
				train_arch_regularise(net);
				train_arch_input_stats(net, d.train_rows, d.n_train_rows, &err);
				struct trainer_options to = {epochs, batch, lr, wd, seed, patience, NULL, NULL,
				                             TRAINER_PATH_DNNL, 1};
				if (rule)
					trainer_little_data(&to, d.n_train);
				struct trainer_result r;
				if (trainer_run(net, &d, &to, &r, &err) != RB_OK) {
					fprintf(stderr, "%s\n", err.msg);
					return 1;
				}
				train_net_store(net, m);
				m->spec = d.spec; /* borrowed */
				double h = heldout_mae(m, held);
				memset(&m->spec, 0, sizeof m->spec);
				mean[k * 2 + (size_t)rule] += h / (double)seeds;
				printf("| %s | %zu | %zu + %zu | %zu | %s | %zu | %g | %g | %zu (%zu) | %.5f | "
				       "%.5f |\n", path, d.n_rows, d.n_train, d.n_val, seed, rule ? "rule" : "off",
				       to.batch, to.lr, to.weight_decay, r.epochs_run, r.best_epoch, r.val_loss,
				       h);
				fflush(stdout);
				train_net_free(net);
				model_free(m);
			}
		train_data_release(&d);
	}
	printf("\n| train file | held-out MAE, mean of %zu seeds: off | rule | rule / off |\n"
	       "|---|---|---|---|\n", seeds);
	for (size_t k = 0; k < nf; k++)
		printf("| %s | %.5f | %.5f | %.3f |\n", argv[a + 1 + k], mean[k * 2], mean[k * 2 + 1],
		       mean[k * 2 + 1] / mean[k * 2]);
	free(mean);
	series_free(held);
	free(htext);
	return 0;
}
