/*
 * registry: loads the models directories into memory (see registry.h).
 * Not the model file parser (core/model/model_load.c) nor the Druid template
 * parser (core/druid/druid_query.c): this file only finds the files and pairs them.
 */
#include "rb/fcgi/registry.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b)
{
	const struct registry_entry *x = a, *y = b;
	return strcmp(x->name, y->name);
}

void registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		model_free(r->entries[i].model);
		druid_template_free(r->entries[i].druid);
	}
	free(r->entries);
	free(r);
}

/* Loads the models of dir that r does not have yet. missing_ok: a directory that does not
 * exist adds nothing. */
static enum rb_code load_dir(struct registry *r, const char *dir, int missing_ok,
                             struct rb_err *err)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		if (missing_ok && errno == ENOENT)
			return RB_OK;
		return rb_err_set(err, RB_E_CONFIG, "models directory %s cannot be read: %s", dir,
		                  strerror(errno));
	}
	enum rb_code rc = RB_OK;
	struct dirent *de;
	while (rc == RB_OK && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		const char *ext = ".keras";
		size_t elen = strlen(ext);
		if (len <= elen || strcmp(de->d_name + len - elen, ext) != 0)
			continue;
		char name[MODEL_NAME_MAX];
		if (len - elen >= sizeof name) {
			rc = rb_err_set(err, RB_E_MODEL, "model file name %s/%s is too long", dir,
			                de->d_name);
			break;
		}
		memcpy(name, de->d_name, len - elen);
		name[len - elen] = '\0';
		if (!model_name_valid(name))
			continue; /* hidden or oddly named files are not models */
		if (registry_find(r, name) != NULL)
			continue; /* the writable directory's model of that name wins */
		if (r->n == REGISTRY_MAX_MODELS) {
			rc = rb_err_set(err, RB_E_MODEL, "more than %d models in %s%s%s",
			                REGISTRY_MAX_MODELS, r->trained_dir,
			                r->trained_dir[0] != '\0' ? " and " : "", r->models_dir);
			break;
		}
		struct registry_entry *e = &r->entries[r->n];
		memcpy(e->name, name, sizeof name);
		e->dir = dir;
		rc = model_load(&e->model, dir, name, err);
		if (rc != RB_OK) {
			rb_err_prefix(err, "model %s (%s)", name, dir);
			break;
		}
		r->n++;
		enum rb_code trc = druid_template_load(&e->druid, dir, name, err);
		if (trc == RB_E_NOT_FOUND) {
			e->druid = NULL;
		} else if (trc != RB_OK) {
			rc = trc;
			rb_err_prefix(err, "model %s (%s)", name, dir);
		}
	}
	closedir(d);
	return rc;
}

enum rb_code registry_load(struct registry **out, const char *models_dir,
                           const char *trained_dir, struct rb_err *err)
{
	*out = NULL;
	if (trained_dir == NULL)
		trained_dir = "";
	struct registry *r = calloc(1, sizeof *r);
	if (r == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory loading models");
	if (strlen(models_dir) >= sizeof r->models_dir ||
	    strlen(trained_dir) >= sizeof r->trained_dir) {
		free(r);
		return rb_err_set(err, RB_E_CONFIG, "models directory path is too long");
	}
	snprintf(r->models_dir, sizeof r->models_dir, "%s", models_dir);
	snprintf(r->trained_dir, sizeof r->trained_dir, "%s", trained_dir);
	r->entries = calloc(REGISTRY_MAX_MODELS, sizeof *r->entries);
	if (r->entries == NULL) {
		registry_free(r);
		return rb_err_set(err, RB_E_NOMEM, "out of memory loading models");
	}
	enum rb_code rc = RB_OK;
	if (r->trained_dir[0] != '\0')
		rc = load_dir(r, r->trained_dir, 1, err);
	r->n_trained = r->n;
	if (rc == RB_OK)
		rc = load_dir(r, r->models_dir, 0, err);
	if (rc != RB_OK) {
		registry_free(r);
		return rc;
	}
	qsort(r->entries, r->n, sizeof *r->entries, by_name);
	*out = r;
	return RB_OK;
}

const struct registry_entry *registry_find(const struct registry *r, const char *name)
{
	if (r == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->entries[i].name, name) == 0)
			return &r->entries[i];
	return NULL;
}
