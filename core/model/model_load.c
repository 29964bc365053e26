/*
 * model_load: <name>.keras + <name>.ini -> struct model. Orchestration only:
 * reads the files with size caps, takes config.json and model.weights.h5 out
 * of the zip (libzip, CRCs checked), hands them to keras_config.c and
 * keras_h5.c, the .ini to model_ini.c, then checks the network against the
 * .ini (slice length, column count, output shape = input shape).
 * A file with the HDF5 signature is a legacy whole-model Keras file (Keras
 * <= 2.12) and goes to keras_h5_legacy_load. It does not run the model.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "rb/model/model.h"
#include "model_internal.h"

int model_name_valid(const char *name)
{
	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return 0;
	size_t k;
	for (k = 0; name[k] != '\0'; k++) {
		char c = name[k];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		         c == '_' || c == '-';
		if (!ok || k >= MODEL_NAME_MAX - 1)
			return 0;
	}
	return 1;
}

void model_free(struct model *m)
{
	if (m == NULL)
		return;
	free(m->layers);
	free(m->weights);
	model_spec_clear(&m->spec);
	free(m->plan);
	free(m);
}

/* The last component of path (for messages: never the directory). */
static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash != NULL ? slash + 1 : path;
}

/*
 * Whole file into a malloc'd, NUL-terminated buffer of at most cap bytes.
 * RB_E_NOT_FOUND when it does not exist, RB_E_MODEL otherwise. Messages do
 * not name the file (the caller prefixes them).
 */
static enum rb_code read_small_file(const char *path, size_t cap, char **out, size_t *len_out,
                                    struct rb_err *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		if (errno == ENOENT)
			return rb_err_set(err, RB_E_NOT_FOUND, "no such file");
		return rb_err_set(err, RB_E_MODEL, "cannot open (%s)", strerror(errno));
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return rb_err_set(err, RB_E_MODEL, "not a regular file");
	}
	if ((unsigned long long)st.st_size > cap) {
		fclose(f);
		return rb_err_set(err, RB_E_MODEL, "%lld bytes (cap %zu)", (long long)st.st_size, cap);
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fclose(f);
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	}
	size_t len = fread(buf, 1, (size_t)st.st_size, f);
	int bad = ferror(f) || len != (size_t)st.st_size;
	fclose(f);
	if (bad) {
		free(buf);
		return rb_err_set(err, RB_E_MODEL, "read error");
	}
	buf[len] = '\0';
	*out = buf;
	*len_out = len;
	return RB_OK;
}

/* One archive member, whole, into a malloc'd buffer (NUL-terminated) of at most cap bytes. */
static enum rb_code zip_read_member(zip_t *za, const char *member, size_t cap, char **out, size_t *len_out,
                                    struct rb_err *err)
{
	*out = NULL;
	zip_int64_t idx = zip_name_locate(za, member, 0);
	if (idx < 0)
		return rb_err_set(err, RB_E_MODEL, "%s is missing from the archive", member);
	zip_stat_t st;
	zip_stat_init(&st);
	if (zip_stat_index(za, (zip_uint64_t)idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
		return rb_err_set(err, RB_E_MODEL, "%s: unreadable archive entry", member);
	if (st.size > cap)
		return rb_err_set(err, RB_E_MODEL, "%s: %llu bytes (cap %zu)", member, (unsigned long long)st.size, cap);
	size_t size = (size_t)st.size;
	char *buf = malloc(size + 1);
	if (buf == NULL)
		return rb_err_set(err, RB_E_NOMEM, "%s: out of memory", member);
	zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)idx, 0);
	if (zf == NULL) {
		free(buf);
		return rb_err_set(err, RB_E_MODEL, "%s: cannot open in the archive (%s)", member, zip_strerror(za));
	}
	size_t got = 0;
	enum rb_code rc = RB_OK;
	while (got < size) {
		zip_int64_t n = zip_fread(zf, buf + got, size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	char extra;
	/* One more read reaches the end of the entry: libzip checks the CRC there. */
	zip_int64_t tail = got == size ? zip_fread(zf, &extra, 1) : -1;
	if (got != size || tail != 0)
		rc = rb_err_set(err, RB_E_MODEL, "%s: damaged archive entry (%s)", member,
		                zip_error_strerror(zip_file_get_error(zf)));
	zip_fclose(zf);
	if (rc != RB_OK) {
		free(buf);
		return rc;
	}
	buf[size] = '\0';
	*out = buf;
	*len_out = size;
	return RB_OK;
}

/* The graph and weights from a .keras file (a zip). */
static enum rb_code load_keras(struct model *m, const char *path, struct rb_err *err)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		if (errno == ENOENT)
			return rb_err_set(err, RB_E_NOT_FOUND, "no such file");
		return rb_err_set(err, RB_E_MODEL, "cannot open (%s)", strerror(errno));
	}
	unsigned char magic[8] = {0};
	size_t got = fread(magic, 1, sizeof magic, f);
	fclose(f);
	if (got == sizeof magic && memcmp(magic, "\x89HDF\r\n\x1a\n", 8) == 0) {
		char *image = NULL;
		size_t len = 0;
		enum rb_code rc = read_small_file(path, MODEL_H5_MAX, &image, &len, err);
		if (rc == RB_OK)
			rc = keras_h5_legacy_load(image, len, m, err);
		free(image);
		return rc;
	}
	if (got < 4 || memcmp(magic, "PK\x03\x04", 4) != 0)
		return rb_err_set(err, RB_E_MODEL, "not a .keras zip archive");

	int zerr = 0;
	zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
	if (za == NULL) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, zerr);
		enum rb_code rc = rb_err_set(err, RB_E_MODEL, "not a readable zip archive (%s; truncated?)",
		                             zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return rc;
	}
	char *json = NULL, *h5 = NULL;
	size_t json_len = 0, h5_len = 0;
	struct layer_src *src = NULL;
	enum rb_code rc = zip_read_member(za, "config.json", MODEL_CONFIG_MAX, &json, &json_len, err);
	if (rc == RB_OK)
		rc = zip_read_member(za, "model.weights.h5", MODEL_H5_MAX, &h5, &h5_len, err);
	zip_discard(za);
	if (rc == RB_OK)
		rc = keras_config_parse(json, json_len, m, &src, err);
	free(json);
	if (rc == RB_OK)
		rc = keras_h5_read(h5, h5_len, m, src, err);
	free(h5);
	free(src);
	return rc;
}

/* The network must fit the .ini: an autoencoder over the listed columns and slice length. */
static enum rb_code check_against_ini(const struct model *m, const char *ini_name, struct rb_err *err)
{
	const struct model_spec *s = &m->spec;
	size_t cols = s->n_metrics + s->n_timestamp;
	if (m->in_T == 0)
		return rb_err_set(err, RB_E_MODEL, "the model input [%zu] has no time axis", m->in_C);
	if (m->out_T != m->in_T || m->out_C != m->in_C)
		return rb_err_set(err, RB_E_MODEL, "the model output [%zu, %zu] differs from its input [%zu, %zu]",
		                  m->out_T, m->out_C, m->in_T, m->in_C);
	if (s->window_size * s->num_windows != m->in_T)
		return rb_err_set(err, RB_E_MODEL, "%s: window_size*num_windows = %zu*%zu, the model input has %zu time steps",
		                  ini_name, s->window_size, s->num_windows, m->in_T);
	if (cols != m->out_C)
		return rb_err_set(err, RB_E_MODEL, "%s: %zu metrics + %zu timestamp columns = %zu, the model has %zu channels",
		                  ini_name, s->n_metrics, s->n_timestamp, cols, m->out_C);
	return RB_OK;
}

enum rb_code model_load_files(struct model **out, const char *keras_path, const char *ini_path,
                              const char *name, struct rb_err *err)
{
	*out = NULL;
	struct model *m = calloc(1, sizeof *m);
	if (m == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	snprintf(m->name, sizeof m->name, "%s", name != NULL ? name : "");

	enum rb_code rc = load_keras(m, keras_path, err);
	if (rc != RB_OK) {
		rb_err_prefix(err, "%s", base_name(keras_path));
		model_free(m);
		return rc;
	}
	char *ini = NULL;
	size_t ini_len = 0;
	rc = read_small_file(ini_path, MODEL_INI_MAX, &ini, &ini_len, err);
	if (rc == RB_E_NOT_FOUND)
		rc = rb_err_set(err, RB_E_MODEL, "%s: missing (every model needs its .ini)", base_name(ini_path));
	else if (rc != RB_OK)
		rb_err_prefix(err, "%s", base_name(ini_path));
	if (rc == RB_OK)
		rc = model_ini_parse(ini, ini_len, base_name(ini_path), &m->spec, err);
	free(ini);
	if (rc == RB_OK)
		rc = check_against_ini(m, base_name(ini_path), err);
	if (rc != RB_OK) {
		model_free(m);
		return rc;
	}
	*out = m;
	return RB_OK;
}

enum rb_code model_load(struct model **out, const char *dir, const char *name, struct rb_err *err)
{
	*out = NULL;
	if (!model_name_valid(name))
		return rb_err_set(err, RB_E_NOT_FOUND, "'%.64s' is not a valid model name", name != NULL ? name : "");
	char keras_path[4096], ini_path[4096];
	int a = snprintf(keras_path, sizeof keras_path, "%s/%s.keras", dir, name);
	int b = snprintf(ini_path, sizeof ini_path, "%s/%s.ini", dir, name);
	if (a < 0 || b < 0 || (size_t)a >= sizeof keras_path || (size_t)b >= sizeof ini_path)
		return rb_err_set(err, RB_E_MODEL, "model directory path is too long");
	return model_load_files(out, keras_path, ini_path, name, err);
}
