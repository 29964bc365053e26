/*
 * keras_h5: the weights of a parsed layer graph, read from an in-memory HDF5
 * image into one float allocation; and legacy whole-model Keras HDF5 files
 * (graph from their model_config attribute, weights by weight_names).
 *
 * An image is opened with HDF5's core driver (H5Pset_fapl_core without a
 * backing store + H5Pset_file_image: HDF5 copies the image, nothing touches
 * the disk). In a .keras model.weights.h5, datasets are
 * layers/<group>/vars/<i> (LSTM: layers/<group>/cell/vars/<i>), <group>
 * being the per-class counter that keras_config.c computed. Every dataset's
 * rank and dims are checked against the layer's shape, any float type
 * (float16 from mixed precision, float64) is converted to float by HDF5, and
 * non-finite values are rejected. HDF5's automatic error printing is
 * switched off while this runs (and restored).
 * It does not read the optimizer state or anything else in the file, and it
 * is not a defence against deliberately crafted HDF5 (model files are
 * operator-supplied; the zip CRC catches accidental corruption).
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* One dataset a layer expects: its var index, shape and destination. */
struct var_spec {
	const char *what;  /* "kernel", "bias", ... for messages */
	size_t rank;       /* 1 or 2 */
	size_t dims[2];
	const float **dst; /* the layer field to point at the data; NULL = vars slot is skipped */
	int required;      /* 0 = the slot does not exist in the file (use_bias=false etc.) */
	int zero_fill;     /* not in the file but allocated as zeros (bias of use_bias=false) */
};

#define MAX_VARS 4

/* Fills vs[] for layer i; returns how many entries. */
static size_t layer_vars(struct model *m, size_t i, const struct layer_src *src, struct var_spec *vs)
{
	struct layer *l = &m->layers[i];
	const struct layer_src *s = &src[i];
	size_t in_C = l->n_inputs > 0 ? m->layers[l->inputs[0]].C : 0;
	size_t n = 0;
	switch (l->kind) {
	case LAYER_DENSE:
		vs[n++] = (struct var_spec){"kernel", 2, {in_C, l->units}, &l->kernel, 1, 0};
		vs[n++] = (struct var_spec){"bias", 1, {l->units, 0}, &l->bias, s->use_bias, !s->use_bias};
		break;
	case LAYER_LSTM:
		vs[n++] = (struct var_spec){"kernel", 2, {in_C, 4 * l->units}, &l->kernel, 1, 0};
		vs[n++] = (struct var_spec){"recurrent_kernel", 2, {l->units, 4 * l->units}, &l->recurrent, 1, 0};
		vs[n++] = (struct var_spec){"bias", 1, {4 * l->units, 0}, &l->bias, s->use_bias, !s->use_bias};
		break;
	case LAYER_BATCH_NORM:
		vs[n++] = (struct var_spec){"gamma", 1, {l->C, 0}, &l->gamma, s->scale, 0};
		vs[n++] = (struct var_spec){"beta", 1, {l->C, 0}, &l->beta, s->center, 0};
		vs[n++] = (struct var_spec){"moving_mean", 1, {l->C, 0}, &l->moving_mean, 1, 0};
		vs[n++] = (struct var_spec){"moving_variance", 1, {l->C, 0}, &l->moving_var, 1, 0};
		break;
	case LAYER_LAYER_NORM:
		vs[n++] = (struct var_spec){"gamma", 1, {l->C, 0}, &l->gamma, s->scale, 0};
		vs[n++] = (struct var_spec){"beta", 1, {l->C, 0}, &l->beta, s->center, 0};
		break;
	default:
		break;
	}
	return n;
}

static size_t var_count(const struct var_spec *v)
{
	return v->rank == 1 ? v->dims[0] : v->dims[0] * v->dims[1];
}

size_t keras_layer_weight_count(const struct model *m, size_t i, const struct layer_src *src)
{
	struct var_spec vs[MAX_VARS];
	/* layer_vars only takes the addresses of the layer's pointer fields; nothing is written. */
	size_t n = layer_vars((struct model *)m, i, src, vs), total = 0;
	for (size_t k = 0; k < n; k++)
		if (vs[k].required || vs[k].zero_fill)
			total += var_count(&vs[k]);
	return total;
}

/* 1 when path exists in f, checking each component so that HDF5 never fails on a missing parent. */
static int h5_path_exists(hid_t f, const char *path)
{
	char buf[256];
	size_t len = strlen(path);
	if (len >= sizeof buf)
		return 0;
	memcpy(buf, path, len + 1);
	for (size_t k = 0; k <= len; k++) {
		if (buf[k] != '/' && buf[k] != '\0')
			continue;
		char c = buf[k];
		buf[k] = '\0';
		htri_t e = H5Lexists(f, buf, H5P_DEFAULT);
		buf[k] = c;
		if (e <= 0)
			return 0;
	}
	return 1;
}

/* Number of links in group path, or -1 when it is missing or not a group. */
static long h5_group_size(hid_t f, const char *path)
{
	if (!h5_path_exists(f, path))
		return -1;
	hid_t g = H5Gopen2(f, path, H5P_DEFAULT);
	if (g < 0)
		return -1;
	H5G_info_t info;
	long n = H5Gget_info(g, &info) < 0 ? -1 : (long)info.nlinks;
	H5Gclose(g);
	return n;
}

/* Reads dataset path into dst after checking it is a float array of v's shape. */
static enum rb_code read_var(hid_t f, const char *path, const struct var_spec *v, float *dst,
                             struct rb_err *err)
{
	if (!h5_path_exists(f, path))
		return rb_err_set(err, RB_E_MODEL, "%s: missing %s", path, v->what);
	enum rb_code rc = RB_OK;
	hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
	hid_t sp = d < 0 ? -1 : H5Dget_space(d);
	hid_t t = d < 0 ? -1 : H5Dget_type(d);
	if (d < 0 || sp < 0 || t < 0) {
		rc = rb_err_set(err, RB_E_MODEL, "%s: cannot open the %s dataset", path, v->what);
		goto out;
	}
	if (H5Tget_class(t) != H5T_FLOAT) {
		rc = rb_err_set(err, RB_E_MODEL, "%s: %s is not a floating-point array", path, v->what);
		goto out;
	}
	hsize_t dims[3] = {0, 0, 0};
	int rank = H5Sget_simple_extent_ndims(sp);
	if (rank < 0 || rank > 3 || H5Sget_simple_extent_dims(sp, dims, NULL) != rank) {
		rc = rb_err_set(err, RB_E_MODEL, "%s: %s has an unreadable shape", path, v->what);
		goto out;
	}
	int ok = (size_t)rank == v->rank && dims[0] == v->dims[0] && (v->rank == 1 || dims[1] == v->dims[1]);
	if (!ok) {
		char got[64];
		if (rank == 1)
			snprintf(got, sizeof got, "[%llu]", (unsigned long long)dims[0]);
		else if (rank == 2)
			snprintf(got, sizeof got, "[%llu, %llu]", (unsigned long long)dims[0], (unsigned long long)dims[1]);
		else
			snprintf(got, sizeof got, "rank %d", rank);
		if (v->rank == 1)
			rc = rb_err_set(err, RB_E_MODEL, "%s: %s has shape %s, the config needs [%zu]", path, v->what,
			                got, v->dims[0]);
		else
			rc = rb_err_set(err, RB_E_MODEL, "%s: %s has shape %s, the config needs [%zu, %zu]", path,
			                v->what, got, v->dims[0], v->dims[1]);
		goto out;
	}
	if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) {
		rc = rb_err_set(err, RB_E_MODEL, "%s: cannot read %s (corrupt file?)", path, v->what);
		goto out;
	}
	size_t n = var_count(v);
	for (size_t k = 0; k < n; k++) {
		if (!isfinite(dst[k])) {
			rc = rb_err_set(err, RB_E_MODEL, "%s: %s element %zu is not finite", path, v->what, k);
			goto out;
		}
	}
out:
	if (t >= 0)
		H5Tclose(t);
	if (sp >= 0)
		H5Sclose(sp);
	if (d >= 0)
		H5Dclose(d);
	return rc;
}

#define PATH_MAX_H5 256

/* Closes the handles of one attribute read (a negative id was never opened). */
static void close_attribute(hid_t a, hid_t t, hid_t sp, hid_t mt)
{
	if (mt >= 0)
		H5Tclose(mt);
	if (sp >= 0)
		H5Sclose(sp);
	if (t >= 0)
		H5Tclose(t);
	if (a >= 0)
		H5Aclose(a);
}

/*
 * Legacy layout: the weight_names attribute of group (fixed- or
 * variable-length strings) -> paths[k] = group/<name k>. *have gets the
 * number of names (-1 when the group is missing); paths are filled for the
 * first MAX_VARS only.
 */
static enum rb_code legacy_names(hid_t f, const char *group, char (*paths)[PATH_MAX_H5], long *have,
                                 struct rb_err *err)
{
	*have = -1;
	if (!h5_path_exists(f, group))
		return RB_OK;
	enum rb_code rc = RB_OK;
	hid_t a = H5Aopen_by_name(f, group, "weight_names", H5P_DEFAULT, H5P_DEFAULT);
	hid_t t = a < 0 ? -1 : H5Aget_type(a);
	hid_t sp = a < 0 ? -1 : H5Aget_space(a);
	hid_t mt = -1;
	char *buf = NULL;
	char **vbuf = NULL;
	hssize_t n = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
	if (a < 0 || t < 0 || n < 0 || (n > 0 && H5Tget_class(t) != H5T_STRING)) {
		rc = rb_err_set(err, RB_E_MODEL, "%s: no readable weight_names attribute", group);
		goto out;
	}
	*have = (long)n;
	if (n == 0 || n > MAX_VARS)
		goto out; /* the count alone decides (an empty list may have any type) */
	mt = H5Tcopy(H5T_C_S1);
	if (H5Tis_variable_str(t) > 0) {
		vbuf = calloc((size_t)n, sizeof *vbuf);
		if (vbuf == NULL || H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, vbuf) < 0) {
			rc = rb_err_set(err, RB_E_MODEL, "%s: cannot read weight_names", group);
			goto out;
		}
	} else {
		size_t sz = H5Tget_size(t);
		if (sz == 0 || sz >= PATH_MAX_H5 || H5Tset_size(mt, sz) < 0 || H5Tset_strpad(mt, H5T_STR_NULLPAD) < 0) {
			rc = rb_err_set(err, RB_E_MODEL, "%s: weight_names entries are too long", group);
			goto out;
		}
		buf = calloc((size_t)n, sz);
		if (buf == NULL || H5Aread(a, mt, buf) < 0) {
			rc = rb_err_set(err, RB_E_MODEL, "%s: cannot read weight_names", group);
			goto out;
		}
		for (hssize_t k = 0; k < n; k++) {
			const char *name = buf + (size_t)k * sz;
			int len = (int)strnlen(name, sz);
			if (snprintf(paths[k], PATH_MAX_H5, "%s/%.*s", group, len, name) >= PATH_MAX_H5)
				rc = rb_err_set(err, RB_E_MODEL, "%s: weight name too long", group);
		}
	}
	for (hssize_t k = 0; vbuf != NULL && k < n && rc == RB_OK; k++) {
		if (vbuf[k] == NULL || snprintf(paths[k], PATH_MAX_H5, "%s/%s", group, vbuf[k]) >= PATH_MAX_H5)
			rc = rb_err_set(err, RB_E_MODEL, "%s: bad weight name", group);
	}
out:
	if (vbuf != NULL) {
		for (hssize_t k = 0; k < n; k++)
			H5free_memory(vbuf[k]);
		free(vbuf);
	}
	free(buf);
	close_attribute(a, t, sp, mt);
	return rc;
}

/* 1 when the last component of a legacy weight path is "<what>:<n>". */
static int legacy_name_is(const char *path, const char *what)
{
	const char *base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	size_t wl = strlen(what);
	return strncmp(base, what, wl) == 0 && base[wl] == ':';
}

/* Reads the weights of layer i into the slots its pointers already name. */
static enum rb_code read_layer(hid_t f, struct model *m, size_t i, const struct layer_src *src,
                               struct rb_err *err)
{
	struct layer *l = &m->layers[i];
	struct var_spec vs[MAX_VARS];
	size_t n = layer_vars(m, i, src, vs);
	char where[128];
	char paths[MAX_VARS][PATH_MAX_H5];
	long have = -1;
	if (src[i].legacy) {
		snprintf(where, sizeof where, "%s", src[i].group);
		enum rb_code rc = legacy_names(f, where, paths, &have, err);
		if (rc != RB_OK)
			return rc;
	} else {
		snprintf(where, sizeof where, "%s%s/vars", src[i].group, src[i].in_cell ? "/cell" : "");
		have = h5_group_size(f, where);
		for (long k = 0; k < have && k < MAX_VARS; k++)
			snprintf(paths[k], sizeof paths[k], "%s/%ld", where, k);
	}
	size_t want = 0;
	for (size_t k = 0; k < n; k++)
		want += vs[k].required ? 1 : 0;
	if (want == 0) {
		if (have > 0)
			return rb_err_set(err, RB_E_MODEL, "%s has %ld weights, layer '%s' has none", where, have, l->name);
		return RB_OK;
	}
	if (have < 0)
		return rb_err_set(err, RB_E_MODEL, "%s is missing (weights of layer '%s')", where, l->name);
	if ((size_t)have != want)
		return rb_err_set(err, RB_E_MODEL, "%s has %ld weights, layer '%s' needs %zu (use_bias/center/scale?)",
		                  where, have, l->name, want);
	size_t slot = 0;
	for (size_t k = 0; k < n; k++) {
		if (!vs[k].required)
			continue;
		const char *path = paths[slot++];
		if (src[i].legacy && !legacy_name_is(path, vs[k].what))
			return rb_err_set(err, RB_E_MODEL, "layer '%s': %s is not the expected %s", l->name, path, vs[k].what);
		enum rb_code rc = read_var(f, path, &vs[k], (float *)*vs[k].dst, err);
		if (rc != RB_OK) {
			rb_err_prefix(err, "layer '%s'", l->name);
			return rc;
		}
	}
	if (l->kind == LAYER_BATCH_NORM) {
		for (size_t c = 0; c < l->C; c++)
			if (l->moving_var[c] < 0.0f)
				return rb_err_set(err, RB_E_MODEL, "layer '%s': moving_variance[%zu] is negative", l->name, c);
	}
	return RB_OK;
}

/* Lays out every layer's slots in m->weights (already allocated, zeroed). */
static void assign_pointers(struct model *m, const struct layer_src *src)
{
	size_t off = 0;
	for (size_t i = 0; i < m->n_layers; i++) {
		struct var_spec vs[MAX_VARS];
		size_t n = layer_vars(m, i, src, vs);
		for (size_t k = 0; k < n; k++) {
			if (!vs[k].required && !vs[k].zero_fill)
				continue;
			*vs[k].dst = m->weights + off;
			off += var_count(&vs[k]);
		}
	}
}

/* Opens an in-memory HDF5 image read-only (HDF5 copies it); -1 when it is not one. */
static hid_t open_image(const void *image, size_t len)
{
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	if (fapl < 0)
		return -1;
	hid_t f = -1;
	if (H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 && H5Pset_file_image(fapl, (void *)image, len) >= 0)
		f = H5Fopen("model.h5", H5F_ACC_RDONLY, fapl);
	H5Pclose(fapl);
	return f;
}

/* Allocates m->weights, points the layers into it and reads every layer; all undone on failure. */
static enum rb_code read_weights(hid_t f, struct model *m, const struct layer_src *src, struct rb_err *err)
{
	size_t total = 0;
	for (size_t i = 0; i < m->n_layers; i++) {
		total += keras_layer_weight_count(m, i, src);
		if (total > MODEL_MAX_WEIGHTS)
			return rb_err_set(err, RB_E_MODEL, "the model has more than %u weights (cap)", MODEL_MAX_WEIGHTS);
	}
	if (total == 0)
		return rb_err_set(err, RB_E_MODEL, "the model has no weights");
	float *w = calloc(total, sizeof *w);
	if (w == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory for %zu weights", total);
	m->weights = w;
	m->n_weights = total;
	assign_pointers(m, src);
	enum rb_code rc = RB_OK;
	for (size_t i = 0; i < m->n_layers && rc == RB_OK; i++)
		rc = read_layer(f, m, i, src, err);
	if (rc != RB_OK) {
		free(m->weights);
		m->weights = NULL;
		m->n_weights = 0;
		for (size_t i = 0; i < m->n_layers; i++) {
			struct layer *l = &m->layers[i];
			l->kernel = l->recurrent = l->bias = l->gamma = l->beta = NULL;
			l->moving_mean = l->moving_var = NULL;
		}
	}
	return rc;
}

enum rb_code keras_h5_read(const void *image, size_t len, struct model *m,
                           const struct layer_src *src, struct rb_err *err)
{
	if (len == 0)
		return rb_err_set(err, RB_E_MODEL, "model.weights.h5 is empty");
	if (len > MODEL_H5_MAX)
		return rb_err_set(err, RB_E_MODEL, "model.weights.h5 is %zu bytes (cap %u)", len, MODEL_H5_MAX);
	/* Quiet HDF5's default error printer for the duration; restored below. */
	H5E_auto2_t old_func = NULL;
	void *old_data = NULL;
	H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data);
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

	enum rb_code rc = RB_OK;
	hid_t f = open_image(image, len);
	if (f < 0)
		rc = rb_err_set(err, RB_E_MODEL, "not a readable HDF5 file (truncated or corrupt?)");
	else if (!h5_path_exists(f, "layers"))
		rc = rb_err_set(err, RB_E_MODEL, "no 'layers' group (not a Keras weights file?)");
	else
		rc = read_weights(f, m, src, err);
	if (rc != RB_OK)
		rb_err_prefix(err, "model.weights.h5");
	if (f >= 0)
		H5Fclose(f);
	H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
	return rc;
}

/* The root attribute model_config (a JSON string) into a malloc'd buffer. */
static enum rb_code legacy_config(hid_t f, char **out, size_t *len_out, struct rb_err *err)
{
	*out = NULL;
	if (H5Aexists(f, "model_config") <= 0)
		return rb_err_set(err, RB_E_MODEL, "no model_config attribute (a weights-only file?)");
	enum rb_code rc = RB_OK;
	hid_t a = H5Aopen(f, "model_config", H5P_DEFAULT);
	hid_t t = a < 0 ? -1 : H5Aget_type(a);
	hid_t sp = a < 0 ? -1 : H5Aget_space(a);
	hid_t mt = H5Tcopy(H5T_C_S1);
	char *vs = NULL, *buf = NULL;
	size_t len = 0;
	if (a < 0 || t < 0 || sp < 0 || mt < 0 || H5Tget_class(t) != H5T_STRING ||
	    H5Sget_simple_extent_npoints(sp) != 1) {
		rc = rb_err_set(err, RB_E_MODEL, "model_config is not a string");
		goto out;
	}
	if (H5Tis_variable_str(t) > 0) {
		if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, &vs) < 0 || vs == NULL) {
			rc = rb_err_set(err, RB_E_MODEL, "cannot read model_config");
			goto out;
		}
		len = strnlen(vs, (size_t)MODEL_CONFIG_MAX + 1);
		if (len > MODEL_CONFIG_MAX) {
			rc = rb_err_set(err, RB_E_MODEL, "model_config is over %u bytes", MODEL_CONFIG_MAX);
			goto out;
		}
		buf = malloc(len + 1);
		if (buf == NULL) {
			rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
			goto out;
		}
		memcpy(buf, vs, len + 1);
	} else {
		size_t sz = H5Tget_size(t);
		if (sz == 0 || sz > MODEL_CONFIG_MAX) {
			rc = rb_err_set(err, RB_E_MODEL, "model_config is empty or over %u bytes", MODEL_CONFIG_MAX);
			goto out;
		}
		buf = calloc(sz + 1, 1);
		if (buf == NULL || H5Tset_size(mt, sz) < 0 || H5Tset_strpad(mt, H5T_STR_NULLPAD) < 0 ||
		    H5Aread(a, mt, buf) < 0) {
			rc = buf == NULL ? rb_err_set(err, RB_E_NOMEM, "out of memory")
			                 : rb_err_set(err, RB_E_MODEL, "cannot read model_config");
			goto out;
		}
		len = strnlen(buf, sz);
	}
out:
	if (vs != NULL)
		H5free_memory(vs);
	close_attribute(a, t, sp, mt);
	if (rc != RB_OK) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len_out = len;
	return RB_OK;
}

enum rb_code keras_h5_legacy_load(const void *image, size_t len, struct model *m, struct rb_err *err)
{
	H5E_auto2_t old_func = NULL;
	void *old_data = NULL;
	H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data);
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

	enum rb_code rc = RB_OK;
	char *json = NULL;
	size_t json_len = 0;
	struct layer_src *src = NULL;
	hid_t f = open_image(image, len);
	if (f < 0) {
		rc = rb_err_set(err, RB_E_MODEL, "legacy HDF5 model: not a readable HDF5 file (truncated or corrupt?)");
		goto out;
	}
	rc = legacy_config(f, &json, &json_len, err);
	if (rc != RB_OK) {
		rb_err_prefix(err, "legacy HDF5 model");
		goto out;
	}
	rc = keras_config_parse(json, json_len, m, &src, err);
	if (rc != RB_OK) {
		rb_err_prefix(err, "legacy HDF5 model");
		goto out;
	}
	for (size_t i = 0; i < m->n_layers; i++) {
		src[i].legacy = 1;
		snprintf(src[i].group, sizeof src[i].group, "model_weights/%s", m->layers[i].name);
	}
	if (!h5_path_exists(f, "model_weights"))
		rc = rb_err_set(err, RB_E_MODEL, "no 'model_weights' group");
	else
		rc = read_weights(f, m, src, err);
	if (rc != RB_OK) {
		rb_err_prefix(err, "legacy HDF5 model");
		model_graph_clear(m);
	}
out:
	free(json);
	free(src);
	if (f >= 0)
		H5Fclose(f);
	H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
	return rc;
}
