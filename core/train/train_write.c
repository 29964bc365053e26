/*
 * train_write: a trained struct model to NAME.keras + NAME.ini (+
 * NAME.druid.json), atomically, in the old service's layout
 * (rb/train/train_write.h). config.json is built with Jansson from the
 * graph, model.weights.h5 with HDF5's core driver in memory (no object
 * times: same weights, same bytes), the zip with libzip (fixed times).
 * Not the training; not a general Keras writer: the layer kinds of model.h
 * only, as Keras 2.15 names and configures them.
 */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "rb/base/assert.h"
#include "rb/train/train_write.h"

/* Keras's class name, h5 group base and module per layer kind (enum layer_kind order). */
static const struct {
	const char *cls, *h5;
} kinds[] = {
	[LAYER_INPUT] = {"InputLayer", "input_layer"},
	[LAYER_BATCH_NORM] = {"BatchNormalization", "batch_normalization"},
	[LAYER_DENSE] = {"Dense", "dense"},
	[LAYER_DROPOUT] = {"Dropout", "dropout"},
	[LAYER_LAYER_NORM] = {"LayerNormalization", "layer_normalization"},
	[LAYER_LSTM] = {"LSTM", "lstm"},
	[LAYER_GAUSSIAN_NOISE] = {"GaussianNoise", "gaussian_noise"},
	[LAYER_REPEAT_VECTOR] = {"RepeatVector", "repeat_vector"},
	[LAYER_CONCATENATE] = {"Concatenate", "concatenate"},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static const char *const act_names[] = {
	[ACT_LINEAR] = "linear", [ACT_RELU] = "relu",   [ACT_GELU] = "gelu",
	[ACT_SIGMOID] = "sigmoid", [ACT_TANH] = "tanh", [ACT_SOFTMAX] = "softmax",
};

/* ---- config.json ---- */

/* [null, T, C] or [null, C]: layer l's output shape with the batch axis. */
static json_t *shape_of(const struct layer *l)
{
	json_t *a = json_array();
	json_array_append_new(a, json_null());
	if (l->T > 0)
		json_array_append_new(a, json_integer((json_int_t)l->T));
	json_array_append_new(a, json_integer((json_int_t)l->C));
	return a;
}

static json_t *initializer(const char *cls)
{
	return json_pack("{s:s, s:s, s:{}, s:n}", "module", "keras.initializers", "class_name", cls,
	                 "config", "registered_name");
}

static json_t *l2(double f)
{
	if (!(f > 0))
		return json_null();
	return json_pack("{s:s, s:s, s:{s:f}, s:n}", "module", "keras.regularizers", "class_name",
	                 "L2", "config", "l2", f, "registered_name");
}

/* Layer i's "config" object. */
static json_t *layer_config(const struct model *m, const struct train_net *net, size_t i)
{
	const struct layer *l = &m->layers[i];
	json_t *c = json_object();
	if (l->kind == LAYER_INPUT) {
		json_object_set_new(c, "batch_input_shape", shape_of(l));
		json_object_set_new(c, "dtype", json_string("float32"));
		json_object_set_new(c, "sparse", json_false());
		json_object_set_new(c, "ragged", json_false());
		json_object_set_new(c, "name", json_string(l->name));
		return c;
	}
	json_object_set_new(c, "name", json_string(l->name));
	json_object_set_new(c, "trainable", json_true());
	json_object_set_new(c, "dtype", json_string("float32"));
	double act_l2 = net != NULL ? net->activity_l2[i] : 0.0;
	double bias_l2 = net != NULL ? net->bias_l2[i] : 0.0;
	double noise = net != NULL ? net->noise[i] : 0.0;
	switch (l->kind) {
	case LAYER_DENSE:
		json_object_set_new(c, "units", json_integer((json_int_t)l->units));
		json_object_set_new(c, "activation", json_string(act_names[l->act]));
		json_object_set_new(c, "use_bias", json_true());
		json_object_set_new(c, "kernel_initializer", initializer("GlorotUniform"));
		json_object_set_new(c, "bias_initializer", initializer("Zeros"));
		json_object_set_new(c, "kernel_regularizer", json_null());
		json_object_set_new(c, "bias_regularizer", l2(bias_l2));
		json_object_set_new(c, "activity_regularizer", l2(act_l2));
		json_object_set_new(c, "kernel_constraint", json_null());
		json_object_set_new(c, "bias_constraint", json_null());
		break;
	case LAYER_BATCH_NORM:
	case LAYER_LAYER_NORM:
		json_object_set_new(c, "axis", json_pack("[i]", l->T > 0 ? 2 : 1));
		if (l->kind == LAYER_BATCH_NORM)
			json_object_set_new(c, "momentum", json_real(0.99));
		json_object_set_new(c, "epsilon", json_real(l->epsilon));
		json_object_set_new(c, "center", json_boolean(l->beta != NULL));
		json_object_set_new(c, "scale", json_boolean(l->gamma != NULL));
		json_object_set_new(c, "beta_initializer", initializer("Zeros"));
		json_object_set_new(c, "gamma_initializer", initializer("Ones"));
		if (l->kind == LAYER_BATCH_NORM) {
			json_object_set_new(c, "moving_mean_initializer", initializer("Zeros"));
			json_object_set_new(c, "moving_variance_initializer", initializer("Ones"));
		}
		json_object_set_new(c, "beta_regularizer", json_null());
		json_object_set_new(c, "gamma_regularizer", json_null());
		json_object_set_new(c, "beta_constraint", json_null());
		json_object_set_new(c, "gamma_constraint", json_null());
		break;
	case LAYER_DROPOUT:
		json_object_set_new(c, "rate", json_real(noise));
		json_object_set_new(c, "noise_shape", json_null());
		json_object_set_new(c, "seed", json_null());
		break;
	case LAYER_GAUSSIAN_NOISE:
		json_object_set_new(c, "stddev", json_real(noise));
		json_object_set_new(c, "seed", json_null());
		break;
	case LAYER_LSTM:
		json_object_set_new(c, "return_sequences", json_boolean(l->return_sequences));
		json_object_set_new(c, "return_state", json_false());
		json_object_set_new(c, "go_backwards", json_false());
		json_object_set_new(c, "stateful", json_false());
		json_object_set_new(c, "unroll", json_false());
		json_object_set_new(c, "time_major", json_false());
		json_object_set_new(c, "units", json_integer((json_int_t)l->units));
		json_object_set_new(c, "activation", json_string("tanh"));
		json_object_set_new(c, "recurrent_activation", json_string("sigmoid"));
		json_object_set_new(c, "use_bias", json_true());
		json_object_set_new(c, "kernel_initializer", initializer("GlorotUniform"));
		json_object_set_new(c, "recurrent_initializer", initializer("Orthogonal"));
		json_object_set_new(c, "bias_initializer", initializer("Zeros"));
		json_object_set_new(c, "unit_forget_bias", json_true());
		json_object_set_new(c, "kernel_regularizer", json_null());
		json_object_set_new(c, "recurrent_regularizer", json_null());
		json_object_set_new(c, "bias_regularizer", l2(bias_l2));
		json_object_set_new(c, "activity_regularizer", l2(act_l2));
		json_object_set_new(c, "kernel_constraint", json_null());
		json_object_set_new(c, "recurrent_constraint", json_null());
		json_object_set_new(c, "bias_constraint", json_null());
		json_object_set_new(c, "dropout", json_real(0.0));
		json_object_set_new(c, "recurrent_dropout", json_real(0.0));
		json_object_set_new(c, "implementation", json_integer(2));
		break;
	case LAYER_REPEAT_VECTOR:
		json_object_set_new(c, "n", json_integer((json_int_t)l->repeat));
		break;
	case LAYER_CONCATENATE:
		json_object_set_new(c, "axis", json_integer(-1));
		break;
	case LAYER_INPUT:
		break;
	}
	return c;
}

char *train_write_config_json(const struct model *m, const struct train_net *net)
{
	json_t *layers = json_array();
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		RB_ASSERT((size_t)l->kind < N_KINDS);
		json_t *jl = json_object();
		json_object_set_new(jl, "module", json_string("keras.layers"));
		json_object_set_new(jl, "class_name", json_string(kinds[l->kind].cls));
		json_object_set_new(jl, "config", layer_config(m, net, i));
		json_object_set_new(jl, "registered_name", json_null());
		if (l->kind != LAYER_INPUT) {
			json_t *in_shape;
			if (l->n_inputs == 1) {
				in_shape = shape_of(&m->layers[l->inputs[0]]);
			} else {
				in_shape = json_array();
				for (size_t k = 0; k < l->n_inputs; k++)
					json_array_append_new(in_shape, shape_of(&m->layers[l->inputs[k]]));
			}
			json_object_set_new(jl, "build_config", json_pack("{s:o}", "input_shape", in_shape));
		}
		json_object_set_new(jl, "name", json_string(l->name));
		json_t *node = json_array();
		for (size_t k = 0; k < l->n_inputs; k++)
			json_array_append_new(node, json_pack("[s, i, i, {}]",
			                                      m->layers[l->inputs[k]].name, 0, 0));
		json_t *inbound = json_array();
		if (l->n_inputs > 0)
			json_array_append_new(inbound, node);
		else
			json_decref(node);
		json_object_set_new(jl, "inbound_nodes", inbound);
		json_array_append_new(layers, jl);
	}
	size_t in_i = 0;
	for (size_t i = 0; i < m->n_layers; i++)
		if (m->layers[i].kind == LAYER_INPUT)
			in_i = i;
	json_t *root = json_pack(
	    "{s:s, s:s, s:{s:s, s:b, s:o, s:[[s, i, i]], s:[[s, i, i]]}, s:s, s:{s:[n, i, i]}, "
	    "s:{s:s, s:n, s:n, s:n, s:n, s:n, s:n}}",
	    "module", "keras.src.engine.functional", "class_name", "Functional", "config", "name",
	    "LSTMAutoencoder", "trainable", 1, "layers", layers, "input_layers",
	    m->layers[in_i].name, 0, 0, "output_layers", m->layers[m->output].name, 0, 0,
	    "registered_name", "Functional", "build_config", "input_shape", (int)m->in_T,
	    (int)m->in_C, "compile_config", "loss", "mae", "metrics", "loss_weights",
	    "weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile");
	if (root == NULL)
		return NULL;
	char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(root);
	return text;
}

/* ---- model.weights.h5 ---- */

#define H5_TRY(expr, what)                                                                         \
	do {                                                                                       \
		if ((expr) < 0) {                                                                  \
			rc = rb_err_set(err, RB_E_INTERNAL, "HDF5: %s failed (%s)", what, #expr); \
			goto done;                                                                 \
		}                                                                                  \
	} while (0)

/* A group at path (parents exist), no object times. */
static hid_t make_group(hid_t f, const char *path, hid_t gcpl)
{
	return H5Gcreate2(f, path, H5P_DEFAULT, gcpl, H5P_DEFAULT);
}

/* One float32 dataset of rank 1 or 2 at path. */
static herr_t put_dataset(hid_t f, const char *path, const float *data, size_t rank,
                          size_t d0, size_t d1, hid_t dcpl)
{
	hsize_t dims[2] = {d0, d1};
	hid_t sp = H5Screate_simple((int)rank, dims, NULL);
	if (sp < 0)
		return -1;
	hid_t ds = H5Dcreate2(f, path, H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	herr_t r = ds < 0 ? -1 : H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
	if (ds >= 0)
		H5Dclose(ds);
	H5Sclose(sp);
	return r;
}

/* One dataset of a layer: data, rank, dims. */
struct h5var {
	const float *p;
	size_t rank, d0, d1;
};

/* The h5 image of m's weights: *out malloc'd, *len bytes. */
static enum rb_code h5_image(const struct model *m, void **out, size_t *len, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	hid_t fapl = -1, fcpl = -1, gcpl = -1, dcpl = -1, f = -1;
	size_t counts[N_KINDS] = {0};
	char path[MODEL_NAME_MAX + 64], grp[MODEL_NAME_MAX + 32];
	*out = NULL;
	H5E_auto2_t old_fn;
	void *old_data;
	H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	H5_TRY(fapl = H5Pcreate(H5P_FILE_ACCESS), "property list");
	H5_TRY(H5Pset_fapl_core(fapl, 1 << 16, 0), "core driver");
	H5_TRY(fcpl = H5Pcreate(H5P_FILE_CREATE), "property list");
	H5_TRY(H5Pset_obj_track_times(fcpl, 0), "object times");
	H5_TRY(gcpl = H5Pcreate(H5P_GROUP_CREATE), "property list");
	H5_TRY(H5Pset_obj_track_times(gcpl, 0), "object times");
	H5_TRY(dcpl = H5Pcreate(H5P_DATASET_CREATE), "property list");
	H5_TRY(H5Pset_obj_track_times(dcpl, 0), "object times");
	H5_TRY(f = H5Fcreate("model.weights.h5", H5F_ACC_TRUNC, fcpl, fapl), "create");
	hid_t g;
	H5_TRY(g = make_group(f, "layers", gcpl), "group layers");
	H5Gclose(g);
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct layer *l = &m->layers[i];
		size_t c = counts[l->kind]++;
		if (c == 0)
			snprintf(grp, sizeof grp, "layers/%s", kinds[l->kind].h5);
		else
			snprintf(grp, sizeof grp, "layers/%s_%zu", kinds[l->kind].h5, c);
		H5_TRY(g = make_group(f, grp, gcpl), "group");
		H5Gclose(g);
		const char *vars = grp;
		char cell[sizeof grp + 8];
		if (l->kind == LAYER_LSTM) {
			snprintf(cell, sizeof cell, "%s/cell", grp);
			H5_TRY(g = make_group(f, cell, gcpl), "group");
			H5Gclose(g);
			snprintf(path, sizeof path, "%s/vars", grp);
			H5_TRY(g = make_group(f, path, gcpl), "group");
			H5Gclose(g);
			vars = cell;
		}
		snprintf(path, sizeof path, "%s/vars", vars);
		H5_TRY(g = make_group(f, path, gcpl), "group");
		H5Gclose(g);
		size_t in_C = l->n_inputs > 0 ? m->layers[l->inputs[0]].C : 0;
		struct h5var v[4];
		size_t nv = 0;
		switch (l->kind) {
		case LAYER_DENSE:
			v[nv++] = (struct h5var){l->kernel, 2, in_C, l->units};
			v[nv++] = (struct h5var){l->bias, 1, l->units, 0};
			break;
		case LAYER_LSTM:
			v[nv++] = (struct h5var){l->kernel, 2, in_C, 4 * l->units};
			v[nv++] = (struct h5var){l->recurrent, 2, l->units, 4 * l->units};
			v[nv++] = (struct h5var){l->bias, 1, 4 * l->units, 0};
			break;
		case LAYER_BATCH_NORM:
		case LAYER_LAYER_NORM:
			if (l->gamma != NULL)
				v[nv++] = (struct h5var){l->gamma, 1, l->C, 0};
			if (l->beta != NULL)
				v[nv++] = (struct h5var){l->beta, 1, l->C, 0};
			if (l->kind == LAYER_BATCH_NORM) {
				v[nv++] = (struct h5var){l->moving_mean, 1, l->C, 0};
				v[nv++] = (struct h5var){l->moving_var, 1, l->C, 0};
			}
			break;
		default:
			break;
		}
		for (size_t k = 0; k < nv; k++) {
			snprintf(path, sizeof path, "%s/vars/%zu", vars, k);
			H5_TRY(put_dataset(f, path, v[k].p, v[k].rank, v[k].d0, v[k].d1, dcpl), "dataset");
		}
	}
	H5_TRY(g = make_group(f, "vars", gcpl), "group vars");
	H5Gclose(g);
	H5_TRY(H5Fflush(f, H5F_SCOPE_GLOBAL), "flush");
	ssize_t size = H5Fget_file_image(f, NULL, 0);
	H5_TRY(size, "file image size");
	*out = calloc(1, (size_t)size);
	if (*out == NULL) {
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
		goto done;
	}
	H5_TRY(H5Fget_file_image(f, *out, (size_t)size), "file image");
	*len = (size_t)size;
done:
	if (rc != RB_OK) {
		free(*out);
		*out = NULL;
	}
	if (f >= 0)
		H5Fclose(f);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	if (gcpl >= 0)
		H5Pclose(gcpl);
	if (fcpl >= 0)
		H5Pclose(fcpl);
	if (fapl >= 0)
		H5Pclose(fapl);
	H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
	return rc;
}

/* ---- files ---- */

static const char *const exts[] = {"keras", "ini", "druid.json"};
#define N_EXTS 3

struct paths {
	char tmp[N_EXTS][4096];
	char final[N_EXTS][4096];
	char prev[N_EXTS][4096];
};

/* Writes buf to path (O_EXCL), fsync'ed. */
static enum rb_code write_file(const char *path, const void *buf, size_t len, struct rb_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return rb_err_set(err, RB_E_CONFIG, "cannot create %s (%s)", path, strerror(errno));
	const char *p = buf;
	size_t left = len;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			close(fd);
			return rb_err_set(err, RB_E_CONFIG, "cannot write %s (%s)", path, strerror(e));
		}
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		return rb_err_set(err, RB_E_CONFIG, "cannot sync %s (%s)", path, strerror(errno));
	return RB_OK;
}

/* fsync of a file written by libzip. */
static int sync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

/* The zip of the three members at path. */
static enum rb_code write_zip(const char *path, const char *config, const char *meta,
                              const void *h5, size_t h5_len, struct rb_err *err)
{
	int zerr = 0;
	zip_t *z = zip_open(path, ZIP_CREATE | ZIP_EXCL, &zerr);
	if (z == NULL)
		return rb_err_set(err, RB_E_CONFIG, "cannot create %s (libzip error %d)", path, zerr);
	const struct {
		const char *name;
		const void *p;
		size_t n;
	} members[] = {{"metadata.json", meta, strlen(meta)},
	               {"config.json", config, strlen(config)},
	               {"model.weights.h5", h5, h5_len}};
	for (size_t k = 0; k < 3; k++) {
		zip_source_t *src = zip_source_buffer(z, members[k].p, members[k].n, 0);
		zip_int64_t idx = src == NULL ? -1 : zip_file_add(z, members[k].name, src, ZIP_FL_ENC_UTF_8);
		if (idx < 0) {
			if (src != NULL)
				zip_source_free(src);
			rb_err_set(err, RB_E_INTERNAL, "zip: %s", zip_strerror(z));
			zip_discard(z);
			unlink(path);
			return RB_E_INTERNAL;
		}
		/* 1980-01-01 local time, as Keras writes its members: the bytes do not depend on
		 * when the model was written. */
		zip_file_set_mtime(z, (zip_uint64_t)idx, 315532800 + 43200, 0);
		zip_file_set_external_attributes(z, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
		                                 (zip_uint32_t)0100600 << 16);
	}
	if (zip_close(z) != 0) {
		rb_err_set(err, RB_E_CONFIG, "cannot write %s (%s)", path, zip_strerror(z));
		zip_discard(z);
		unlink(path);
		return RB_E_CONFIG;
	}
	if (sync_path(path) != 0)
		return rb_err_set(err, RB_E_CONFIG, "cannot sync %s (%s)", path, strerror(errno));
	return RB_OK;
}

/* NAME.ini text (malloc'd); training: the [training] section's "key = value" lines or NULL. */
static char *ini_text(const struct model *m, const char *training)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	const struct model_spec *sp = &m->spec;
	fprintf(f, "[Columns]\nmetrics = ");
	for (size_t i = 0; i < sp->n_metrics; i++)
		fprintf(f, "%s%s", i ? ", " : "", sp->metrics[i]);
	fprintf(f, "\ntimestamp = ");
	for (size_t i = 0; i < sp->n_timestamp; i++)
		fprintf(f, "%s%s", i ? ", " : "", sp->timestamp[i]);
	fprintf(f, "\n\n[General]\navg_loss = %.17g\nstd_loss = %.17g\nwindow_size = %zu\n"
	           "num_windows = %zu\n\n[rb-aioutliers]\nweekday_encoding = %s\n",
	        sp->avg_loss, sp->std_loss, sp->window_size, sp->num_windows,
	        sp->weekday == WEEKDAY_ONEHOT ? "onehot" : "quirk");
	if (sp->has_score_stats)
		fprintf(f, "score_mean = %.17g\nscore_std = %.17g\n", sp->score_mean, sp->score_std);
	if (sp->has_threshold_sigma)
		fprintf(f, "threshold_sigma = %.17g\n", sp->threshold_sigma);
	if (training != NULL)
		fprintf(f, "\n[training]\n%s", training);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void remove_tmps(const struct paths *p)
{
	for (size_t k = 0; k < N_EXTS; k++)
		unlink(p->tmp[k]);
}

static enum rb_code set_paths(struct paths *p, const char *dir, const char *name,
                              struct rb_err *err)
{
	for (size_t k = 0; k < N_EXTS; k++) {
		int a = snprintf(p->tmp[k], sizeof p->tmp[k], "%s/.%s.%s.tmp.%ld", dir, name, exts[k],
		                 (long)getpid());
		int b = snprintf(p->final[k], sizeof p->final[k], "%s/%s.%s", dir, name, exts[k]);
		int c = snprintf(p->prev[k], sizeof p->prev[k], "%s/%s.prev.%s", dir, name, exts[k]);
		if (a < 0 || b < 0 || c < 0 || (size_t)a >= sizeof p->tmp[k] ||
		    (size_t)c >= sizeof p->prev[k])
			return rb_err_set(err, RB_E_CONFIG, "models directory path too long");
	}
	return RB_OK;
}

enum rb_code train_write_check_dir(const char *dir, struct rb_err *err)
{
	struct stat st;
	errno = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return rb_err_set(err, RB_E_CONFIG, "models directory %s: %s", dir,
		                  errno ? strerror(errno) : "not a directory");
	if (access(dir, W_OK | X_OK) != 0)
		return rb_err_set(err, RB_E_CONFIG, "models directory %s is not writable (%s)", dir,
		                  strerror(errno));
	return RB_OK;
}

enum rb_code train_write(const struct model *m, const struct train_net *net,
                         const struct train_write_args *a, struct rb_err *err)
{
	if (!model_name_valid(a->name))
		return rb_err_set(err, RB_E_INPUT,
		                  "model name \"%s\" is not a plain name ([A-Za-z0-9._-], up to 63, "
		                  "no leading dot; never a path)", a->name);
	if (strstr(a->name, ".prev") != NULL)
		return rb_err_set(err, RB_E_INPUT, "model name \"%s\": \".prev\" is kept for the "
		                  "previous model", a->name);
	enum rb_code rc = train_write_check_dir(a->dir, err);
	if (rc != RB_OK)
		return rc;
	struct paths p;
	rc = set_paths(&p, a->dir, a->name, err);
	if (rc != RB_OK)
		return rc;
	char *config = train_write_config_json(m, net);
	char meta[256];
	if (a->date_saved != NULL)
		snprintf(meta, sizeof meta, "{\"keras_version\": \"2.15.0\", \"date_saved\": \"%.64s\"}",
		         a->date_saved);
	else
		snprintf(meta, sizeof meta, "{\"keras_version\": \"2.15.0\"}");
	char *ini = ini_text(m, a->ini_training);
	void *h5 = NULL;
	size_t h5_len = 0;
	if (config == NULL || ini == NULL)
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
	if (rc == RB_OK)
		rc = h5_image(m, &h5, &h5_len, err);
	remove_tmps(&p); /* leftovers of an earlier run with our pid */
	if (rc == RB_OK)
		rc = write_zip(p.tmp[0], config, meta, h5, h5_len, err);
	if (rc == RB_OK)
		rc = write_file(p.tmp[1], ini, strlen(ini), err);
	if (rc == RB_OK && a->druid_json != NULL)
		rc = write_file(p.tmp[2], a->druid_json, a->druid_json_len, err);
	free(config);
	free(ini);
	free(h5);
	if (rc == RB_OK) { /* the service's loader must accept what we install */
		struct model *back = NULL;
		rc = model_load_files(&back, p.tmp[0], p.tmp[1], a->name, err);
		if (rc != RB_OK)
			rb_err_prefix(err, "the written model does not load back");
		model_free(back);
	}
	if (rc != RB_OK) {
		remove_tmps(&p);
		return rc;
	}
	/* install: NAME.<ext> -> NAME.prev.<ext>, then the new files into place; on a failure
	 * the files moved so far go back, so the directory holds the old model again */
	int moved[N_EXTS] = {0}, placed[N_EXTS] = {0};
	for (size_t k = 0; k < N_EXTS && rc == RB_OK; k++) {
		if (rename(p.final[k], p.prev[k]) == 0)
			moved[k] = 1;
		else if (errno != ENOENT)
			rc = rb_err_set(err, RB_E_CONFIG, "cannot keep %s as %s (%s)", p.final[k],
			                p.prev[k], strerror(errno));
	}
	for (size_t k = 0; k < N_EXTS && rc == RB_OK; k++) {
		if (k == 2 && a->druid_json == NULL)
			continue;
		if (rename(p.tmp[k], p.final[k]) == 0)
			placed[k] = 1;
		else
			rc = rb_err_set(err, RB_E_CONFIG, "cannot rename %s to %s (%s)", p.tmp[k],
			                p.final[k], strerror(errno));
	}
	if (rc != RB_OK) {
		for (size_t k = 0; k < N_EXTS; k++) {
			if (placed[k])
				unlink(p.final[k]);
			if (moved[k])
				rename(p.prev[k], p.final[k]);
		}
		remove_tmps(&p);
		return rc;
	}
	int dfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return RB_OK;
}
