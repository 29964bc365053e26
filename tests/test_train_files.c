/*
 * train_files: the trainer end to end on a small synthetic Druid result,
 * through the functions rb-aioutliers-train runs (train_data_load,
 * trainer_run, trainer_calibrate, train_write), then:
 *   - round trip: model_load reads back exactly the weights written (every
 *     float bit for bit) and the .ini's statistics;
 *   - the service's command answers with it (rb-aioutliers-detect --model);
 *   - determinism: a second run with the same seed writes the same bytes;
 *   - a rewrite keeps the previous files as NAME.prev.*;
 *   - layout: the default architecture for 11 metrics, written, has
 *     model.weights.h5 objects under layers/ and vars (group and dataset
 *     names, shapes, float32) equal to ../shared/upstream/traffic.keras's,
 *     and its config.json loads to the same graph (kinds, names, shapes).
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "rb/model/model.h"
#include "rb/train/train_arch.h"
#include "rb/train/train_data.h"
#include "rb/train/train_net.h"
#include "rb/train/train_write.h"
#include "rb/train/trainer.h"
#include "testutil.h"

#define ROWS 700
#define EPOCHS 2

static char tmpdir[256];

/* A Druid timeseries result of ROWS one-minute rows of three metrics at path. */
static void make_data(const char *path)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	struct tu_rng rng = {77};
	fputc('[', f);
	for (int i = 0; i < ROWS; i++) {
		int day = 1 + i / 1440, hh = (i / 60) % 24, mm = i % 60;
		double ph = 2 * 3.14159265358979 * (double)(i % 1440) / 1440.0;
		double b = 1e6 * (1.5 + sin(ph)) * (1 + 0.05 * tu_rng_unit(&rng));
		fprintf(f, "%s{\"timestamp\":\"2026-09-%02dT%02d:%02d:00.000Z\",\"result\":"
		        "{\"bytes\":%.3f,\"pkts\":%.3f,\"flows\":%.3f}}",
		        i ? "," : "", day, hh, mm, b, b / 800, b / 20000);
	}
	fputs("]\n", f);
	CHECK(fclose(f) == 0);
}

/* Trains and writes NAME into dir; returns the model (caller frees). */
static struct model *train_to(const char *dir, const char *name, const char *data)
{
	struct rb_err err = {0};
	struct train_data d;
	struct train_data_options o = {32, 16, 0.1};
	const char *paths[] = {data};
	CHECKF(train_data_load(&d, paths, 1, &o, &err) == RB_OK, "%s", err.msg);
	CHECK(d.n_metrics == 3 && d.C == 12 && d.n_rows == ROWS);
	struct train_arch a = {d.n_metrics, 32, 8};
	struct model *m = NULL;
	CHECKF(train_arch_build(&m, &a, 5, &err) == RB_OK, "%s", err.msg);
	/* the columns and shape as the command sets them */
	m->spec.n_metrics = d.spec.n_metrics;
	m->spec.metrics = d.spec.metrics;
	m->spec.n_timestamp = d.spec.n_timestamp;
	m->spec.timestamp = d.spec.timestamp;
	d.spec.metrics = d.spec.timestamp = NULL;
	d.spec.n_metrics = d.spec.n_timestamp = 0;
	m->spec.window_size = 16;
	m->spec.num_windows = 2;
	m->spec.weekday = WEEKDAY_ONEHOT;
	struct train_net *net = NULL;
	CHECKF(train_net_new(&net, m, &err) == RB_OK, "%s", err.msg);
	train_arch_regularise(net);
	CHECKF(train_arch_input_stats(net, d.train_rows, d.n_train_rows, &err) == RB_OK, "%s",
	       err.msg);
	struct trainer_options to = {EPOCHS, 16, 0.00657, 0.004, 9, 0, NULL, NULL, TRAINER_PATH_REF, 0};
	struct trainer_result r;
	CHECKF(trainer_run(net, &d, &to, &r, &err) == RB_OK, "%s", err.msg);
	CHECK(r.epochs_run == EPOCHS && isfinite(r.val_loss));
	train_net_store(net, m);
	size_t scored = 0;
	CHECKF(trainer_calibrate(m, &d, &scored, &err) == RB_OK, "%s", err.msg);
	CHECK(scored == ROWS - 630 && m->spec.has_score_stats && m->spec.score_std > 0);
	struct train_write_args wa = {dir, name, "2026-09-01@11:39:00", "seed = 1\n", "{}\n", 3};
	CHECKF(train_write(m, net, &wa, &err) == RB_OK, "%s", err.msg);
	train_net_free(net);
	train_data_release(&d);
	return m;
}

static int same_file(const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	char *x = tu_read_file(a, &la), *y = tu_read_file(b, &lb);
	int same = x != NULL && y != NULL && la == lb && memcmp(x, y, la) == 0;
	free(x);
	free(y);
	return same;
}

/* ---- the h5 layout walk ---- */

struct walk {
	char lines[512][128];
	size_t n;
};

static herr_t visit(hid_t o, const char *name, const H5O_info_t *info, void *data)
{
	struct walk *w = data;
	if (strncmp(name, "layers", 6) != 0 && strcmp(name, "vars") != 0)
		return 0; /* the optimizer and metrics state are not written */
	CHECK(w->n < 512);
	if (info->type == H5O_TYPE_DATASET) {
		hid_t ds = H5Dopen2(o, name, H5P_DEFAULT), sp = H5Dget_space(ds), t = H5Dget_type(ds);
		hsize_t dims[2] = {0, 0};
		int rank = H5Sget_simple_extent_dims(sp, dims, NULL);
		snprintf(w->lines[w->n++], 128, "D %s [%d: %llu %llu] class %d size %zu", name, rank,
		         (unsigned long long)dims[0], (unsigned long long)dims[1],
		         (int)H5Tget_class(t), H5Tget_size(t));
		H5Tclose(t);
		H5Sclose(sp);
		H5Dclose(ds);
	} else {
		snprintf(w->lines[w->n++], 128, "G %s", name);
	}
	return 0;
}

/* The objects of the model.weights.h5 inside the zip at path. */
static void walk_keras(const char *path, struct walk *w)
{
	int zerr = 0;
	zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
	CHECKF(z != NULL, "%s", path);
	zip_stat_t st;
	CHECK(zip_stat(z, "model.weights.h5", 0, &st) == 0);
	void *buf = malloc(st.size);
	zip_file_t *zf = zip_fopen(z, "model.weights.h5", 0);
	CHECK(buf != NULL && zf != NULL && zip_fread(zf, buf, st.size) == (zip_int64_t)st.size);
	zip_fclose(zf);
	zip_close(z);
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	H5Pset_fapl_core(fapl, 1 << 16, 0);
	H5Pset_file_image(fapl, buf, st.size);
	hid_t f = H5Fopen("image.h5", H5F_ACC_RDONLY, fapl);
	CHECK(f >= 0);
	w->n = 0;
	H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, visit, w);
	H5Fclose(f);
	H5Pclose(fapl);
	free(buf);
}

static void check_layout(void)
{
	struct rb_err err = {0};
	struct train_arch a = TRAIN_ARCH_TRAFFIC(11);
	struct model *m = NULL, *up = NULL, *back = NULL;
	CHECKF(train_arch_build(&m, &a, 1, &err) == RB_OK, "%s", err.msg);
	char up_keras[512], up_ini[512];
	snprintf(up_keras, sizeof up_keras, "%s", tu_shared("upstream/traffic.keras"));
	snprintf(up_ini, sizeof up_ini, "%s", tu_shared("upstream/traffic.ini"));
	CHECKF(model_load_files(&up, up_keras, up_ini, "traffic", &err) == RB_OK, "%s", err.msg);
	/* the traffic model's columns, so that the written pair is a valid model */
	m->spec = up->spec;
	m->spec.weekday = WEEKDAY_ONEHOT;
	struct train_write_args wa = {tmpdir, "layout11", NULL, NULL, NULL, 0};
	enum rb_code rc = train_write(m, NULL, &wa, &err);
	memset(&m->spec, 0, sizeof m->spec); /* borrowed from up */
	CHECKF(rc == RB_OK, "%s", err.msg);
	char path[512], ini[512];
	snprintf(path, sizeof path, "%s/layout11.keras", tmpdir);
	snprintf(ini, sizeof ini, "%s/layout11.ini", tmpdir);
	static struct walk ours, theirs;
	walk_keras(path, &ours);
	walk_keras(up_keras, &theirs);
	CHECKF(ours.n == theirs.n, "%zu objects, traffic.keras has %zu", ours.n, theirs.n);
	for (size_t k = 0; k < ours.n; k++)
		CHECKF(strcmp(ours.lines[k], theirs.lines[k]) == 0, "ours \"%s\", traffic.keras \"%s\"",
		       ours.lines[k], theirs.lines[k]);
	/* config.json: the same graph once loaded */
	CHECKF(model_load_files(&back, path, ini, "layout11", &err) == RB_OK, "%s", err.msg);
	CHECK(back->n_layers == up->n_layers && back->n_weights == up->n_weights);
	for (size_t i = 0; i < up->n_layers; i++) {
		const struct layer *x = &back->layers[i], *y = &up->layers[i];
		CHECKF(x->kind == y->kind && strcmp(x->name, y->name) == 0 && x->T == y->T &&
		       x->C == y->C && x->act == y->act && x->n_inputs == y->n_inputs &&
		       memcmp(x->inputs, y->inputs, x->n_inputs * sizeof x->inputs[0]) == 0 &&
		       x->return_sequences == y->return_sequences && x->epsilon == y->epsilon,
		       "layer %zu (%s)", i, y->name);
	}
	printf("layout: %zu h5 objects under layers/ and vars equal to traffic.keras's; %zu layers "
	       "equal\n", ours.n, up->n_layers);
	model_free(back);
	model_free(up);
	model_free(m);
}

int main(void)
{
	struct rb_err err = {0};
	snprintf(tmpdir, sizeof tmpdir, "/tmp/rb_train_files.XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	char data[512], dir1[300], dir2[300], p1[512], p2[512];
	snprintf(data, sizeof data, "%s/data.json", tmpdir);
	snprintf(dir1, sizeof dir1, "%s/m1", tmpdir);
	snprintf(dir2, sizeof dir2, "%s/m2", tmpdir);
	CHECK(mkdir(dir1, 0755) == 0 && mkdir(dir2, 0755) == 0);
	make_data(data);

	/* round trip: the weights read back are exactly the ones written */
	struct model *m = train_to(dir1, "tiny", data), *back = NULL;
	CHECKF(model_load(&back, dir1, "tiny", &err) == RB_OK, "%s", err.msg);
	CHECK(back->n_weights == m->n_weights);
	CHECK(memcmp(back->weights, m->weights, m->n_weights * sizeof *m->weights) == 0);
	CHECK(back->spec.has_score_stats && back->spec.score_mean == m->spec.score_mean &&
	      back->spec.score_std == m->spec.score_std && back->spec.avg_loss == m->spec.avg_loss &&
	      back->spec.weekday == WEEKDAY_ONEHOT && back->spec.n_metrics == 4);
	printf("round trip: %zu weights equal bit for bit; score_mean %.6f score_std %.6f\n",
	       m->n_weights, m->spec.score_mean, m->spec.score_std);
	model_free(back);

	/* the service's command answers with it */
	char cmd[2048], line[256] = "";
	snprintf(cmd, sizeof cmd, "%s/rb-aioutliers-detect --model tiny --models-dir %s "
	         "--metric bytes %s", getenv("RB_BUILD_DIR") ? getenv("RB_BUILD_DIR") : ".", dir1,
	         data);
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	size_t got = fread(line, 1, sizeof line - 1, p);
	line[got] = '\0';
	while (fread(cmd, 1, sizeof cmd, p) > 0)
		;
	CHECKF(pclose(p) == 0, "%s", line);
	CHECKF(strncmp(line, "{\"status\":\"success\"", 19) == 0, "%s", line);
	printf("rb-aioutliers-detect --model tiny: %.60s...\n", line);

	/* determinism: same seed, same bytes */
	struct model *m2 = train_to(dir2, "tiny", data);
	const char *exts[] = {"keras", "ini", "druid.json"};
	for (size_t k = 0; k < 3; k++) {
		snprintf(p1, sizeof p1, "%s/tiny.%s", dir1, exts[k]);
		snprintf(p2, sizeof p2, "%s/tiny.%s", dir2, exts[k]);
		CHECKF(same_file(p1, p2), "tiny.%s differs between two runs with one seed", exts[k]);
	}
	/* a rewrite keeps the previous model */
	model_free(train_to(dir2, "tiny", data));
	for (size_t k = 0; k < 3; k++) {
		snprintf(p1, sizeof p1, "%s/tiny.%s", dir1, exts[k]);
		snprintf(p2, sizeof p2, "%s/tiny.prev.%s", dir2, exts[k]);
		CHECKF(same_file(p1, p2), "tiny.prev.%s is not the previous model", exts[k]);
	}
	printf("determinism: same seed, same bytes (.keras, .ini, .druid.json); .prev kept\n");
	model_free(m2);
	model_free(m);

	check_layout();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	CHECK(system(cmd) == 0);
	return 0;
}
