/*
 * Test-only helpers for the model loader tests: a private temporary
 * directory, writing files and zips, taking a member out of a zip, string
 * surgery on config text, and building small model.weights.h5 files with
 * chosen dataset types. Header-only (static functions) so that each
 * tests/test_model_load*.c stays one program. Exits through CHECK on failure.
 */
#ifndef RB_MODEL_FIXTURE_H
#define RB_MODEL_FIXTURE_H

#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "testutil.h"

static char fx_dir[64];
static char fx_path_buf[4][512];
static int fx_path_next;

/* Creates the private temporary directory (once). */
static inline void fx_init(void)
{
	snprintf(fx_dir, sizeof fx_dir, "/tmp/rb_model_test_XXXXXX");
	CHECK(mkdtemp(fx_dir) != NULL);
}

/* Path of name inside the temporary directory; 4 rotating static buffers. */
static inline const char *fx_path(const char *name)
{
	char *b = fx_path_buf[fx_path_next++ % 4];
	snprintf(b, sizeof fx_path_buf[0], "%s/%s", fx_dir, name);
	return b;
}

/* Removes every file in the temporary directory, then the directory. */
static inline void fx_cleanup(void)
{
	DIR *d = opendir(fx_dir);
	CHECK(d != NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[600];
		snprintf(p, sizeof p, "%s/%s", fx_dir, e->d_name);
		CHECK(unlink(p) == 0);
	}
	closedir(d);
	CHECK(rmdir(fx_dir) == 0);
}

static inline void fx_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	CHECK(fwrite(data, 1, len, f) == len);
	CHECK(fclose(f) == 0);
}

/* A zip at path with n members (stored as given; data must outlive the call). */
static inline void fx_zip(const char *path, size_t n, const char *const *names, const void *const *data, const size_t *lens)
{
	int zerr = 0;
	zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	CHECK(za != NULL);
	for (size_t k = 0; k < n; k++) {
		zip_source_t *s = zip_source_buffer(za, data[k], lens[k], 0);
		CHECK(s != NULL);
		CHECK(zip_file_add(za, names[k], s, 0) >= 0);
	}
	CHECK(zip_close(za) == 0);
}

/* A .keras zip from a config text and an h5 file on disk. */
static inline void fx_keras(const char *path, const char *config, const char *h5_path)
{
	size_t h5_len = 0;
	char *h5 = tu_read_file(h5_path, &h5_len);
	const char *names[] = {"metadata.json", "config.json", "model.weights.h5"};
	const char *meta = "{\"keras_version\": \"2.15.0\"}";
	const void *data[] = {meta, config, h5};
	size_t lens[] = {strlen(meta), strlen(config), h5_len};
	fx_zip(path, 3, names, data, lens);
	free(h5);
}

/* A member of a zip, malloc'd and NUL-terminated. */
static inline char *fx_unzip(const char *zip_path, const char *member, size_t *len_out)
{
	int zerr = 0;
	zip_t *za = zip_open(zip_path, ZIP_RDONLY, &zerr);
	CHECK(za != NULL);
	zip_stat_t st;
	CHECK(zip_stat(za, member, 0, &st) == 0);
	char *buf = malloc(st.size + 1);
	CHECK(buf != NULL);
	zip_file_t *zf = zip_fopen(za, member, 0);
	CHECK(zf != NULL);
	CHECK(zip_fread(zf, buf, st.size) == (zip_int64_t)st.size);
	zip_fclose(zf);
	zip_discard(za);
	buf[st.size] = '\0';
	*len_out = st.size;
	return buf;
}

/* A malloc'd copy of s with the first occurrence of from replaced by to (which must occur). */
static inline char *fx_replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	CHECKF(at != NULL, "'%s' not found", from);
	size_t pre = (size_t)(at - s), fl = strlen(from), tl = strlen(to), rest = strlen(at + fl);
	char *out = malloc(pre + tl + rest + 1);
	CHECK(out != NULL);
	memcpy(out, s, pre);
	memcpy(out + pre, to, tl);
	memcpy(out + pre + tl, at + fl, rest + 1);
	return out;
}

/* IEEE half precision as an HDF5 file type (what mixed-precision Keras may store). */
static inline hid_t fx_h5_half(void)
{
	hid_t t = H5Tcopy(H5T_IEEE_F32LE);
	CHECK(t >= 0);
	CHECK(H5Tset_fields(t, 15, 10, 5, 0, 10) >= 0);
	CHECK(H5Tset_precision(t, 16) >= 0);
	CHECK(H5Tset_size(t, 2) >= 0);
	CHECK(H5Tset_ebias(t, 15) >= 0);
	return t;
}

/* One dataset to create: path, file type, shape, and data as floats. */
struct fx_var {
	const char *path;
	hid_t type; /* file type, e.g. H5T_IEEE_F32LE, H5T_IEEE_F64LE, fx_h5_half(), H5T_STD_I32LE */
	int rank;   /* 0 = an empty group at path instead of a dataset */
	hsize_t dims[2];
	const float *data;
};

/* Writes an HDF5 file holding the given datasets/groups (parents created as needed). */
static inline void fx_h5(const char *path, const struct fx_var *vars, size_t n)
{
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	CHECK(f >= 0);
	hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
	CHECK(H5Pset_create_intermediate_group(lcpl, 1) >= 0);
	for (size_t k = 0; k < n; k++) {
		const struct fx_var *v = &vars[k];
		if (v->rank == 0) {
			hid_t g = H5Gcreate2(f, v->path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
			CHECK(g >= 0);
			H5Gclose(g);
			continue;
		}
		hid_t sp = H5Screate_simple(v->rank, v->dims, NULL);
		hid_t d = H5Dcreate2(f, v->path, v->type, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
		CHECKF(d >= 0, "%s", v->path);
		CHECK(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v->data) >= 0);
		H5Dclose(d);
		H5Sclose(sp);
	}
	H5Pclose(lcpl);
	CHECK(H5Fclose(f) >= 0);
}

#endif
