/*
 * model_internal: the private interface between the model loader's parts
 * (model_load.c orchestrates; keras_config.c turns config.json into the layer
 * graph; keras_h5.c reads model.weights.h5 into one allocation; model_ini.c
 * reads the .ini). Not for use outside core/model_*.c, keras_*.c and their
 * tests and fuzz harnesses.
 */
#ifndef RB_MODEL_INTERNAL_H
#define RB_MODEL_INTERNAL_H

#include <stddef.h>

#include "rb/model/model.h"
#include "rb/base/error.h"

/* Caps. Past any of them, loading fails with RB_E_MODEL naming the cap. */
#define MODEL_CONFIG_MAX   (4u << 20)   /* config.json bytes */
#define MODEL_H5_MAX       (512u << 20) /* model.weights.h5 bytes (held in memory while loading) */
#define MODEL_INI_MAX      (64u << 10)  /* .ini bytes */
#define MODEL_MAX_LAYERS   256
#define MODEL_MAX_DIM      4096         /* any T, C, units or repeat count */
#define MODEL_MAX_WEIGHTS  (64u << 20)  /* floats in model->weights */
#define MODEL_MAX_COLUMNS  256          /* names in one .ini column list */

/* Where a layer's weights live in model.weights.h5 and which of them exist. */
struct layer_src {
	char group[MODEL_NAME_MAX + 16]; /* "layers/dense_3": per-class counter, not the config name */
	int in_cell;                     /* LSTM: vars are under <group>/cell/vars */
	int legacy;                      /* group is model_weights/<name>, datasets named by its weight_names */
	int use_bias;                    /* DENSE, LSTM */
	int center, scale;               /* BATCH_NORM, LAYER_NORM */
};

/*
 * Parses a Keras functional-model config.json (len bytes, need not be
 * NUL-terminated) into m->layers / n_layers / output / in_T, in_C / out_T,
 * out_C, with every layer's output shape computed and the graph checked
 * (single input and output, topological order, supported classes and
 * options). *src_out gets a malloc'd [n_layers] array (caller frees) saying
 * where each layer's weights are. Weights are not touched (all NULL).
 * On failure m's layers are freed and reset, *src_out is NULL, RB_E_MODEL.
 */
enum rb_code keras_config_parse(const char *json, size_t len, struct model *m,
                                struct layer_src **src_out, struct rb_err *err);

/*
 * Reads the weights of every layer of m (as parsed by keras_config_parse)
 * from an in-memory model.weights.h5 image: checks each dataset's shape
 * against the layer, converts any float type to float, rejects non-finite
 * values and negative variances, and sets m->weights (one allocation),
 * m->n_weights and the per-layer pointers. RB_E_MODEL on any mismatch.
 */
enum rb_code keras_h5_read(const void *image, size_t len, struct model *m,
                           const struct layer_src *src, struct rb_err *err);

/*
 * A legacy whole-model Keras HDF5 file (Keras <= 2.12 model.save("x.h5"),
 * also found named .keras): the graph from the root attribute model_config
 * (same parser as config.json) and the weights from
 * model_weights/<layer name>/<weight_names[i]>, with the same checks.
 * On failure m's graph is cleared.
 */
enum rb_code keras_h5_legacy_load(const void *image, size_t len, struct model *m, struct rb_err *err);

/* Number of floats layer i of m needs (0 for weightless layers). */
size_t keras_layer_weight_count(const struct model *m, size_t i, const struct layer_src *src);

/*
 * Parses the text of a model .ini (len bytes) into spec. fname is used in
 * messages ("traffic.ini:7: ..."). On failure spec is left empty (freed).
 */
enum rb_code model_ini_parse(const char *text, size_t len, const char *fname,
                             struct model_spec *spec, struct rb_err *err);

/* Frees m->layers and zeroes the graph fields of m (not weights, not spec). */
void model_graph_clear(struct model *m);

#endif
