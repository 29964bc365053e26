/*
 * registry: the models the daemon serves, loaded by the master from its
 * models directory before any worker is forked (a bad model stops startup;
 * a bad model on SIGHUP keeps the old registry).
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
	struct model *model;            /* owned */
	struct druid_template *druid;   /* owned; NULL when the model has no .druid.json */
};

struct registry {
	size_t n;
	struct registry_entry *entries; /* [n], sorted by name */
};

/* Loads every <name>.keras of models_dir (with its .ini). A missing directory is an
 * RB_E_CONFIG error; any model that fails to load is an error naming it. */
enum rb_code registry_load(struct registry **out, const char *models_dir, struct rb_err *err);

/* The entry of a model name, or NULL. */
const struct registry_entry *registry_find(const struct registry *r, const char *name);

void registry_free(struct registry *r);

#endif
