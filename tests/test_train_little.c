/*
 * train_little: the little-data rule (trainer_little_data, rb/train/trainer.h;
 * docs/TRAINING.md "Little data"). The settings it chooses: 40 training
 * windows get 3x the epochs and patience and weight decay 0.3; 28 windows 4x;
 * 111 windows 2x; 112 windows (2,000 rows at share 0.1) and more, or none,
 * are left alone; a decay already above 0.3 is kept. Then training still runs
 * with them: 750 one-minute rows of 2 metrics (42 training + 4 validation
 * windows) on the oneDNN path for 20 epochs, finite losses, and the decay
 * shows: the trained weights' L2 norm is at least 2 % below the same run's
 * with the old decay (same seed, same draws; measured in the message).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rb/train/train_arch.h"
#include "rb/train/train_data.h"
#include "rb/train/train_net.h"
#include "rb/train/trainer.h"
#include "testutil.h"

#define ROWS 750
#define EPOCHS 20

static struct trainer_options defaults(void)
{
	struct trainer_options o = {100, 32, 0.00657, 0.004, 1, 10, NULL, NULL, TRAINER_PATH_DNNL, 1};
	return o;
}

static void check_rule(size_t n, int changed, size_t factor)
{
	struct trainer_options o = defaults();
	CHECKF(trainer_little_data(&o, n) == changed, "%zu windows", n);
	CHECKF(o.epochs == 100 * factor && o.patience == 10 * factor, "%zu windows: %zu epochs, "
	       "patience %zu", n, o.epochs, o.patience);
	CHECKF(o.weight_decay == (changed ? 0.3 : 0.004), "%zu windows: decay %g", n, o.weight_decay);
	CHECK(o.batch == 32 && o.lr == 0.00657 && o.seed == 1);
}

static void write_rows(const char *path)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputc('[', f);
	for (int i = 0; i < ROWS; i++) {
		double day = 1.5 + sin(2 * 3.14159265358979 * (double)(i % 1440) / 1440.0);
		fprintf(f, "%s{\"timestamp\":\"2026-09-%02dT%02d:%02d:00Z\",\"result\":"
		        "{\"bytes\":%.1f,\"pkts\":%.1f}}", i ? "," : "", 1 + i / 1440, (i / 60) % 24,
		        i % 60, 1000.0 * day + (double)(i * 7919 % 101), 10.0 * day + (i % 7));
	}
	fputs("]", f);
	CHECK(fclose(f) == 0);
}

/* Trains a fresh default model on d with o; returns the L2 norm of its trainable weights. */
static double train_norm(const struct train_data *d, const struct trainer_options *o)
{
	struct rb_err err = {0};
	struct train_arch a = TRAIN_ARCH_TRAFFIC(d->n_metrics);
	struct model *m = NULL;
	struct train_net *net = NULL;
	CHECKF(train_arch_build(&m, &a, 1, &err) == RB_OK, "%s", err.msg);
	CHECKF(train_net_new(&net, m, &err) == RB_OK, "%s", err.msg);
	train_arch_regularise(net);
	CHECKF(train_arch_input_stats(net, d->train_rows, d->n_train_rows, &err) == RB_OK, "%s",
	       err.msg);
	struct trainer_result r;
	CHECKF(trainer_run(net, d, o, &r, &err) == RB_OK, "%s", err.msg);
	CHECKF(r.epochs_run == o->epochs && isfinite(r.train_loss) && isfinite(r.val_loss),
	       "%zu epochs, losses %g %g", r.epochs_run, r.train_loss, r.val_loss);
	double s = 0.0;
	for (size_t k = 0; k < net->n; k++)
		if (net->trainable[k])
			s += net->w[k] * net->w[k];
	train_net_free(net);
	model_free(m);
	return sqrt(s);
}

int main(void)
{
	check_rule(40, 1, 3);
	check_rule(28, 1, 4);
	check_rule(111, 1, 2);
	check_rule(1, 1, 112);
	check_rule(112, 0, 1);
	check_rule(2267, 0, 1);
	check_rule(0, 0, 1);
	struct trainer_options high = defaults();
	high.weight_decay = 0.5;
	CHECK(trainer_little_data(&high, 40) == 1 && high.weight_decay == 0.5);
	printf("ok: the rule's settings for 40, 28, 111, 1 windows; 112, 2267, 0 left alone\n");

	char dir[] = "/tmp/rb_train_little.XXXXXX", path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/rows.json", dir);
	write_rows(path);
	struct rb_err err = {0};
	struct train_data d;
	struct train_data_options dopt = {32, 16, 0.1};
	const char *paths[] = {path};
	CHECKF(train_data_load(&d, paths, 1, &dopt, &err) == RB_OK, "%s", err.msg);
	CHECKF(d.n_train == 42 && d.n_val == 4, "%zu + %zu windows", d.n_train, d.n_val);
	struct trainer_options off = defaults(), rule = defaults();
	CHECK(trainer_little_data(&rule, d.n_train) == 1 && rule.epochs == 300);
	off.epochs = rule.epochs = EPOCHS; /* the test's budget */
	double n_off = train_norm(&d, &off), n_rule = train_norm(&d, &rule);
	printf("weights' L2 norm after %d epochs: %.4f with decay 0.004, %.4f with the rule's 0.3 "
	       "(ratio %.4f)\n", EPOCHS, n_off, n_rule, n_rule / n_off);
	CHECKF(n_rule < 0.98 * n_off, "%g vs %g", n_rule, n_off);
	train_data_release(&d);
	CHECK(unlink(path) == 0 && rmdir(dir) == 0);
	printf("ok: 42 windows train with the rule's settings, and its decay shrinks the weights\n");
	return 0;
}
