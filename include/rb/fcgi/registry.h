/*
 * registry: the models the daemon serves, loaded by the master from its
 * models directories before any worker is forked (a bad model stops startup;
 * a bad model on SIGHUP keeps the old registry). Two directories: the
 * writable one of trained or synced models (trained_models_dir) and the
 * shipped one (models_dir); a name found in both is served from the
 * writable one.
 *
 * A model is the trio <name>.keras + <name>.ini (required) and
 * <name>.druid.json (the Druid aggregations the model needs; without it the
 * model can analyse inline data but not a query). Plain memory only: the
 * oneDNN runners are built per worker, after fork (include/rb/model/infer.h).
 */
#ifndef RB_REGISTRY_H
#define RB_REGISTRY_H

#include <stddef.h>

#include "rb/druid/druid_query.h"
#include "rb/model/model.h"
#include "rb/base/error.h"

#define REGISTRY_MAX_MODELS 64

struct registry_entry {
	char name[MODEL_NAME_MAX];
	const char *dir;                /* the directory it was loaded from (one of registry_load's) */
	struct model *model;            /* owned */
	struct druid_template *druid;   /* owned; NULL when the model has no .druid.json */
};

struct registry {
	size_t n;
	struct registry_entry *entries; /* [n], sorted by name */
	char models_dir[1024];          /* copies of registry_load's directories */
	char trained_dir[1024];         /* "" = none */
	size_t n_trained;               /* entries loaded from trained_dir */
};

/*
 * Loads every <name>.keras (with its .ini and optional .druid.json, all from the same
 * directory) of trained_dir, then those of models_dir whose name trained_dir did not
 * have. trained_dir may be NULL or "" (none) and may not exist (no models from it); any
 * other failure to read it, a missing or unreadable models_dir, and any model that fails
 * to load are errors (RB_E_CONFIG, RB_E_MODEL, ... naming the model and directory).
 */
enum rb_code registry_load(struct registry **out, const char *models_dir,
                           const char *trained_dir, struct rb_err *err);

/* The entry of a model name, or NULL. */
const struct registry_entry *registry_find(const struct registry *r, const char *name);

void registry_free(struct registry *r);

#endif
