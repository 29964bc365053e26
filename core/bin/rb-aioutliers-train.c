/*
 * rb-aioutliers-train: fits the LSTM autoencoder (the old traffic model's
 * architecture, for the data's metric columns) to Druid timeseries result
 * files and writes NAME.keras, NAME.ini (+ NAME.druid.json) into the
 * writable models directory, where the service prefers it to a shipped model
 * of the same name (SIGHUP reloads). Training runs on the plain-C reference
 * path (core/train/train_ref.c): slow, deterministic for a seed. A tool, not
 * the service: it may exit() and print diagnostics. Not yet: --query (the
 * Druid fetch), -c, the oneDNN training path.
 * Exit 0 done, 1 a failure (the message says why; no model file changed),
 * 2 a usage error.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rb/base/error.h"
#include "rb/druid/druid_query.h"
#include "rb/model/model.h"
#include "rb/train/train_arch.h"
#include "rb/train/train_data.h"
#include "rb/train/train_net.h"
#include "rb/train/train_write.h"
#include "rb/train/trainer.h"

#ifndef RB_DEFAULT_TRAINED_MODELS_DIR
#define RB_DEFAULT_TRAINED_MODELS_DIR "/var/lib/rb-aioutliers/models"
#endif
#ifndef RB_TRAIN_VERSION
#define RB_TRAIN_VERSION "0.1.0"
#endif

#define OLD_LR 0.006573366466909647 /* the old model's AdamW learning rate */
#define OLD_WEIGHT_DECAY 0.004
#define DRUID_TEMPLATE_MAX (1u << 20)
#define MAX_DATA_FILES 4096

struct args {
	const char *name;
	const char *models_dir;
	const char *init;
	const char *druid_template;
	const char *data[MAX_DATA_FILES];
	size_t n_data;
	size_t epochs, batch, patience, threads;
	double lr, validation;
	uint64_t seed;
	int dry_run;
	enum trainer_path path;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: rb-aioutliers-train --name NAME [--models-dir DIR] --data FILE...\n"
	        "         [--init NAME] [--epochs N] [--batch N] [--lr X] [--seed N]\n"
	        "         [--validation SHARE] [--patience N] [--druid-template FILE] [--threads 1]\n"
	        "         [--dry-run]\n"
	        "  --name NAME          the model: NAME.keras, NAME.ini (+ NAME.druid.json)\n"
	        "  --models-dir DIR     default %s\n"
	        "  --data FILE...       Druid timeseries result files (JSON arrays)\n"
	        "  --init NAME          fine-tune NAME (in the models dir) instead of starting anew\n"
	        "  --epochs N           most epochs, default 100\n"
	        "  --batch N            windows per step, default 32\n"
	        "  --path dnnl|ref      forward and backward: oneDNN float32 (dnnl, default) or the\n"
	        "                       plain-C double-precision oracle (ref, one thread)\n"
	        "  --lr X               AdamW learning rate, default 0.00657 (the old model's)\n"
	        "  --seed N             initial weights, window order, noise; default 1\n"
	        "  --validation SHARE   last share of each file for validation, default 0.1\n"
	        "  --patience N         stop after N epochs without a better validation loss,\n"
	        "                       default 10 (0: never)\n"
	        "  --druid-template F   copied to NAME.druid.json (the model's Druid template)\n"
	        "  --threads N          oneDNN's threads, default 1 (same seed and N, same bytes)\n"
	        "  --dry-run            say what would be done and exit\n",
	        RB_DEFAULT_TRAINED_MODELS_DIR);
}

static void die_usage(const char *what, const char *arg)
{
	fprintf(stderr, "rb-aioutliers-train: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
	usage(stderr);
	exit(2);
}

static size_t parse_size(const char *v, size_t lo, size_t hi, const char *opt)
{
	char *end = NULL;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || x < lo || x > hi) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s must be a whole number in [%zu, %zu]", opt, lo, hi);
		die_usage(msg, v);
	}
	return (size_t)x;
}

static double parse_real(const char *v, double lo, double hi, const char *opt)
{
	char *end = NULL;
	errno = 0;
	double x = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !isfinite(x) || x <= lo || x > hi) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s must be a number in (%g, %g]", opt, lo, hi);
		die_usage(msg, v);
	}
	return x;
}

static void parse_args(int argc, char **argv, struct args *a)
{
	*a = (struct args){.models_dir = RB_DEFAULT_TRAINED_MODELS_DIR, .epochs = 100, .batch = 32,
	                   .patience = 10, .threads = 1, .lr = OLD_LR, .validation = 0.1, .seed = 1,
	                   .path = TRAINER_PATH_DNNL};
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(o, "--dry-run") == 0) {
			a->dry_run = 1;
			continue;
		}
		if (strcmp(o, "--data") == 0) {
			while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
				if (a->n_data == MAX_DATA_FILES)
					die_usage("too many data files", argv[i + 1]);
				a->data[a->n_data++] = argv[++i];
			}
			continue;
		}
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			die_usage("option needs a value", o);
		if (strcmp(o, "--name") == 0)
			a->name = v;
		else if (strcmp(o, "--models-dir") == 0)
			a->models_dir = v;
		else if (strcmp(o, "--init") == 0)
			a->init = v;
		else if (strcmp(o, "--druid-template") == 0)
			a->druid_template = v;
		else if (strcmp(o, "--epochs") == 0)
			a->epochs = parse_size(v, 1, 1000000, o);
		else if (strcmp(o, "--batch") == 0)
			a->batch = parse_size(v, 1, 4096, o);
		else if (strcmp(o, "--path") == 0) {
			if (trainer_path_parse(v, strlen(v), &a->path) != 0)
				die_usage("--path must be ref or dnnl", v);
		}
		else if (strcmp(o, "--patience") == 0)
			a->patience = parse_size(v, 0, 1000000, o);
		else if (strcmp(o, "--threads") == 0)
			a->threads = parse_size(v, 1, 256, o);
		else if (strcmp(o, "--seed") == 0)
			a->seed = (uint64_t)parse_size(v, 0, SIZE_MAX, o);
		else if (strcmp(o, "--lr") == 0)
			a->lr = parse_real(v, 0.0, 1.0, o);
		else if (strcmp(o, "--validation") == 0)
			a->validation = parse_real(v, 0.0, 0.5, o);
		else if (strcmp(o, "--query") == 0 || strcmp(o, "-c") == 0)
			die_usage("not implemented yet (train from saved Druid results with --data)", o);
		else
			die_usage("unknown option", o);
		i++;
	}
	if (a->name == NULL)
		die_usage("--name is required", NULL);
	if (!model_name_valid(a->name) || strstr(a->name, ".prev") != NULL)
		die_usage("--name must be a plain model name ([A-Za-z0-9._-], up to 63 characters, no "
		          "leading dot, no \".prev\"; never a path)", a->name);
	if (a->init != NULL && !model_name_valid(a->init))
		die_usage("--init must be a plain model name", a->init);
	if (a->n_data == 0)
		die_usage("--data FILE... is required", NULL);
}

static void fail(const char *what, const struct rb_err *err)
{
	fprintf(stderr, "rb-aioutliers-train: %s: %s\n", what, err->msg);
	exit(1);
}

struct progress {
	int tty;
	double elapsed;
};

static void on_epoch(void *ctx, size_t epoch, size_t epochs, double train_loss, double val_loss,
                     double seconds, int best)
{
	struct progress *p = ctx;
	p->elapsed += seconds;
	double eta = p->elapsed / (double)epoch * (double)(epochs - epoch);
	if (p->tty)
		fprintf(stderr, "epoch %zu/%zu  train %.6f  validation %.6f%s  %.1f s  ETA %.0f s\n",
		        epoch, epochs, train_loss, val_loss, best ? " *" : "  ", seconds, eta);
	else
		fprintf(stderr, "rb-aioutliers-train: epoch=%zu/%zu train_loss=%.6f val_loss=%.6f "
		        "best=%d seconds=%.2f eta_seconds=%.0f\n",
		        epoch, epochs, train_loss, val_loss, best, seconds, eta);
}

/* Replaces m->spec's columns and shape by d's (copies). */
static int set_spec(struct model *m, const struct train_data *d)
{
	struct model_spec *sp = &m->spec, *src = (struct model_spec *)&d->spec;
	model_spec_clear(sp);
	sp->metrics = calloc(src->n_metrics, sizeof *sp->metrics);
	sp->timestamp = calloc(src->n_timestamp, sizeof *sp->timestamp);
	if (sp->metrics == NULL || sp->timestamp == NULL)
		return -1;
	sp->n_metrics = src->n_metrics;
	sp->n_timestamp = src->n_timestamp;
	for (size_t i = 0; i < src->n_metrics; i++) {
		sp->metrics[i] = strdup(src->metrics[i]);
		if (sp->metrics[i] == NULL)
			return -1;
	}
	for (size_t i = 0; i < src->n_timestamp; i++) {
		sp->timestamp[i] = strdup(src->timestamp[i]);
		if (sp->timestamp[i] == NULL)
			return -1;
	}
	sp->window_size = src->window_size;
	sp->num_windows = src->num_windows;
	sp->weekday = WEEKDAY_ONEHOT;
	return 0;
}

/* The latest instant of the data as Keras's date_saved ("2024-04-10@09:13:24"). */
static void data_end(const struct train_data *d, char *buf, size_t cap)
{
	double t = 0;
	for (size_t k = 0; k < d->n_files; k++) {
		const struct series *s = d->files[k].val_series;
		if (s != NULL && s->n > 0 && s->t[s->n - 1] > t)
			t = s->t[s->n - 1];
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%d@%H:%M:%S", &tm);
}

static char *read_template(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "rb-aioutliers-train: --druid-template %s: %s\n", path, strerror(errno));
		exit(1);
	}
	char *buf = malloc(DRUID_TEMPLATE_MAX + 1);
	size_t n = buf != NULL ? fread(buf, 1, DRUID_TEMPLATE_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n == 0 || n > DRUID_TEMPLATE_MAX) {
		fprintf(stderr, "rb-aioutliers-train: --druid-template %s: empty or over %u bytes\n",
		        path, DRUID_TEMPLATE_MAX);
		exit(1);
	}
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	struct args a;
	struct rb_err err = {0};
	parse_args(argc, argv, &a);
	char *druid = NULL;
	size_t druid_len = 0;
	if (a.druid_template != NULL)
		druid = read_template(a.druid_template, &druid_len);
	if (!a.dry_run && train_write_check_dir(a.models_dir, &err) != RB_OK)
		fail("--models-dir", &err);
	struct model *m = NULL;
	struct train_arch arch = TRAIN_ARCH_TRAFFIC(1);
	size_t stride = 16;
	if (a.init != NULL) {
		if (model_load(&m, a.models_dir, a.init, &err) != RB_OK)
			fail("--init", &err);
		arch.window = m->spec.window_size * m->spec.num_windows;
		stride = m->spec.window_size;
	}
	struct train_data d;
	struct train_data_options dopt = {arch.window, stride, a.validation};
	if (train_data_load(&d, a.data, a.n_data, &dopt, &err) != RB_OK)
		fail("data", &err);
	if (druid != NULL) { /* the service would refuse to load a bad template with the model */
		struct druid_template *t = NULL;
		if (druid_template_parse(&t, druid, druid_len, a.druid_template, &err) != RB_OK)
			fail("--druid-template", &err);
		for (size_t i = 0; i < d.n_metrics; i++)
			if (!druid_template_provides(t, d.spec.metrics[i]))
				fprintf(stderr, "rb-aioutliers-train: warning: --druid-template %s yields no "
				        "column \"%s\" (a metric of the data)\n", a.druid_template,
				        d.spec.metrics[i]);
		druid_template_free(t);
	}
	if (m == NULL) {
		arch.n_metrics = d.n_metrics;
		if (train_arch_build(&m, &arch, a.seed, &err) != RB_OK)
			fail("model", &err);
	} else {
		int same = m->spec.n_metrics == d.spec.n_metrics && m->in_C == d.C;
		for (size_t i = 0; same && i < d.spec.n_metrics; i++)
			same = strcmp(m->spec.metrics[i], d.spec.metrics[i]) == 0;
		if (!same) {
			fprintf(stderr, "rb-aioutliers-train: --init %s: its metric columns differ from "
			        "the data's (%zu columns; the data has %zu)\n", a.init, m->spec.n_metrics,
			        d.spec.n_metrics);
			return 1;
		}
	}
	snprintf(m->name, sizeof m->name, "%s", a.name);
	if (set_spec(m, &d) != 0) {
		fprintf(stderr, "rb-aioutliers-train: out of memory\n");
		return 1;
	}
	struct train_net *net = NULL;
	if (train_net_new(&net, m, &err) != RB_OK)
		fail("model", &err);
	train_arch_regularise(net);
	if (a.init == NULL && train_arch_input_stats(net, d.train_rows, d.n_train_rows, &err) != RB_OK)
		fail("input statistics", &err);
	printf("rb-aioutliers-train: %zu file%s, %zu rows, %zu metric%s (", d.n_files,
	       d.n_files == 1 ? "" : "s", d.n_rows, d.n_metrics, d.n_metrics == 1 ? "" : "s");
	for (size_t i = 0; i < d.n_metrics; i++)
		printf("%s%s", i ? ", " : "", d.spec.metrics[i]);
	printf("); windows of %zu rows at stride %zu: %zu training, %zu validation; %zu trainable "
	       "parameters; %s\n", d.T, stride, d.n_train, d.n_val, net->n_trainable,
	       a.init != NULL ? "fine-tuning" : "new model");
	for (size_t k = 0; k < d.n_files; k++)
		printf("  %s: %zu rows, step %g s, %zu gap%s, %zu + %zu windows\n", d.files[k].path,
		       d.files[k].rows, d.files[k].step, d.files[k].gaps, d.files[k].gaps == 1 ? "" : "s",
		       d.files[k].train_windows, d.files[k].val_windows);
	printf("  -> %s/%s.keras, %s.ini%s; up to %zu epochs, batch %zu, lr %g, seed %llu, "
	       "patience %zu\n", a.models_dir, a.name, a.name, druid != NULL ? ", .druid.json" : "",
	       a.epochs, a.batch, a.lr, (unsigned long long)a.seed, a.patience);
	fflush(stdout);
	if (d.n_rows < TRAIN_DATA_FEW_ROWS)
		fprintf(stderr, "rb-aioutliers-train: warning: %zu rows is little data (%d or more "
		        "make a steadier model); expect a loose fit\n", d.n_rows, TRAIN_DATA_FEW_ROWS);
	int rc = 0;
	if (!a.dry_run) {
		struct progress prog = {isatty(2), 0.0};
		struct trainer_options to = {a.epochs, a.batch, a.lr, OLD_WEIGHT_DECAY, a.seed,
		                             a.patience, on_epoch, &prog, a.path, a.threads};
		struct trainer_result res;
		size_t scored = 0;
		if (trainer_run(net, &d, &to, &res, &err) != RB_OK)
			fail("training", &err);
		train_net_store(net, m);
		if (trainer_calibrate(m, &d, &scored, &err) != RB_OK)
			fail("calibration", &err);
		char comments[8192], date[64];
		size_t o = 0;
		o += (size_t)snprintf(comments + o, sizeof comments - o,
		                      "# trained by rb-aioutliers-train %s (%s path, %zu thread%s)\n",
		                      RB_TRAIN_VERSION, trainer_path_names[a.path], a.threads,
		                      a.threads == 1 ? "" : "s");
		for (size_t k = 0; k < d.n_files && o < sizeof comments; k++)
			o += (size_t)snprintf(comments + o, sizeof comments - o,
			                      "# trained_file = %s (%zu rows, step %g s)\n",
			                      d.files[k].path, d.files[k].rows, d.files[k].step);
		if (o < sizeof comments)
			snprintf(comments + o, sizeof comments - o,
			         "# trained_rows = %zu\n# trained_windows = %zu training, %zu validation\n"
			         "# trained_epochs = %zu (best %zu, %zu steps)\n"
			         "# final_loss = train %.9g, validation %.9g\n"
			         "# trained_seed = %llu\n# trained_batch = %zu\n# trained_lr = %.9g\n"
			         "# trained_init = %s\n# calibrated_rows = %zu\n",
			         d.n_rows, d.n_train, d.n_val, res.epochs_run, res.best_epoch, res.steps,
			         res.train_loss, res.val_loss, (unsigned long long)a.seed, a.batch, a.lr,
			         a.init != NULL ? a.init : "(none)", scored);
		data_end(&d, date, sizeof date);
		struct train_write_args wa = {a.models_dir, a.name, date, comments, druid, druid_len};
		if (train_write(m, net, &wa, &err) != RB_OK)
			fail("writing the model", &err);
		printf("rb-aioutliers-train: wrote %s/%s.keras and %s.ini: %zu epochs (best %zu), "
		       "validation MAE %.6f, score mean %.6f std %.6f over %zu validation rows\n",
		       a.models_dir, a.name, a.name, res.epochs_run, res.best_epoch, res.val_loss,
		       m->spec.score_mean, m->spec.score_std, scored);
	}
	free(druid);
	train_net_free(net);
	model_free(m);
	train_data_release(&d);
	return rc;
}
