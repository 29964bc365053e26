/*
 * keras_config: a Keras functional-model config.json -> the layer graph of
 * struct model (kinds, options, inputs, output shapes) and, per layer, where
 * its weights sit in model.weights.h5.
 *
 * It accepts the Keras 2 (inbound_nodes as lists of [name, 0, 0, {}]) and
 * Keras 3 ({"args": [...keras_history...]}) forms, the layer classes of
 * CONTRACT §3 and only the options that inference with them can honour; any
 * other class or option is an error naming the layer. It does not read
 * weights (keras_h5.c) or the .ini (model_ini.c), and it trusts nothing in
 * the JSON: every size is capped and every reference checked.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

typedef enum rb_code (*layer_parse_fn)(const json_t *cfg, struct model *m, size_t i,
                                       struct layer_src *s, struct rb_err *err);

struct layer_class {
	const char *class_name; /* Keras class name in config.json */
	enum layer_kind kind;
	const char *h5_base;    /* snake_case class name: the h5 group before its counter */
	size_t min_inputs, max_inputs;
	layer_parse_fn parse;
};

/* ---- JSON field readers: cfg is borrowed; absent or null means the default ---- */

static enum rb_code opt_bool(const json_t *cfg, const char *key, int dflt, int *out, struct rb_err *err)
{
	const json_t *v = json_object_get(cfg, key); /* borrowed */
	if (v == NULL || json_is_null(v)) {
		*out = dflt;
		return RB_OK;
	}
	if (!json_is_boolean(v))
		return rb_err_set(err, RB_E_MODEL, "'%s' must be true or false", key);
	*out = json_is_true(v);
	return RB_OK;
}

/* An integer in [lo, hi]; required when dflt_ok is 0. */
static enum rb_code get_size(const json_t *cfg, const char *key, size_t lo, size_t hi, int required,
                             size_t dflt, size_t *out, struct rb_err *err)
{
	const json_t *v = json_object_get(cfg, key); /* borrowed */
	if (v == NULL || json_is_null(v)) {
		if (required)
			return rb_err_set(err, RB_E_MODEL, "'%s' is missing", key);
		*out = dflt;
		return RB_OK;
	}
	if (!json_is_integer(v))
		return rb_err_set(err, RB_E_MODEL, "'%s' must be an integer", key);
	json_int_t x = json_integer_value(v);
	if (x < (json_int_t)lo || x > (json_int_t)hi)
		return rb_err_set(err, RB_E_MODEL, "'%s' = %lld is outside [%zu, %zu]", key, (long long)x, lo, hi);
	*out = (size_t)x;
	return RB_OK;
}

/* A string option; *out is borrowed from cfg, NULL when absent or null. */
static enum rb_code opt_string(const json_t *cfg, const char *key, const char **out, struct rb_err *err)
{
	const json_t *v = json_object_get(cfg, key); /* borrowed */
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return RB_OK;
	if (!json_is_string(v))
		return rb_err_set(err, RB_E_MODEL, "'%s' must be a string", key);
	*out = json_string_value(v);
	return RB_OK;
}

/* Normalisation epsilon: a finite number in (0, 1); default 1e-3 (Keras). */
static enum rb_code get_epsilon(const json_t *cfg, double *out, struct rb_err *err)
{
	const json_t *v = json_object_get(cfg, "epsilon"); /* borrowed */
	if (v == NULL || json_is_null(v)) {
		*out = 1e-3;
		return RB_OK;
	}
	if (!json_is_number(v))
		return rb_err_set(err, RB_E_MODEL, "'epsilon' must be a number");
	double e = json_number_value(v);
	if (!isfinite(e) || e <= 0.0 || e >= 1.0)
		return rb_err_set(err, RB_E_MODEL, "'epsilon' = %g is outside (0, 1)", e);
	*out = e;
	return RB_OK;
}

/* Requires option key to be absent, null or false (a feature we cannot run). */
static enum rb_code must_be_false(const json_t *cfg, const char *key, struct rb_err *err)
{
	int on = 0;
	enum rb_code rc = opt_bool(cfg, key, 0, &on, err);
	if (rc != RB_OK)
		return rc;
	if (on)
		return rb_err_set(err, RB_E_MODEL, "'%s' = true is not supported", key);
	return RB_OK;
}

/*
 * A normalisation axis (an integer or a list of one integer) must be the
 * last axis of the input: -1, or rank-1 counting the batch axis.
 */
static enum rb_code check_last_axis(const json_t *cfg, const struct layer *in, struct rb_err *err)
{
	const json_t *v = json_object_get(cfg, "axis"); /* borrowed */
	if (v == NULL || json_is_null(v))
		return RB_OK; /* Keras default: -1 */
	if (json_is_array(v)) {
		if (json_array_size(v) != 1)
			return rb_err_set(err, RB_E_MODEL, "'axis' must be the last axis only (got %zu axes)",
			                  json_array_size(v));
		v = json_array_get(v, 0);
	}
	if (!json_is_integer(v))
		return rb_err_set(err, RB_E_MODEL, "'axis' must be an integer");
	json_int_t a = json_integer_value(v);
	json_int_t last = in->T > 0 ? 2 : 1;
	if (a != -1 && a != last)
		return rb_err_set(err, RB_E_MODEL, "'axis' = %lld is not the last axis (%lld or -1)",
		                  (long long)a, (long long)last);
	return RB_OK;
}

static const struct {
	const char *name;
	enum activation act;
} activations[] = {
	{"linear", ACT_LINEAR}, {"relu", ACT_RELU},       {"gelu", ACT_GELU},
	{"sigmoid", ACT_SIGMOID}, {"tanh", ACT_TANH}, {"softmax", ACT_SOFTMAX},
};

/* ---- per-class parsers: cfg is the layer's "config" object (borrowed) ---- */

static enum rb_code parse_input(const json_t *cfg, struct model *m, size_t i, struct layer_src *s,
                                struct rb_err *err)
{
	(void)s;
	struct layer *l = &m->layers[i];
	const json_t *shape = json_object_get(cfg, "batch_input_shape"); /* borrowed; Keras 2 */
	if (shape == NULL)
		shape = json_object_get(cfg, "batch_shape"); /* Keras 3 */
	if (!json_is_array(shape))
		return rb_err_set(err, RB_E_MODEL, "'batch_input_shape' is missing");
	size_t rank = json_array_size(shape);
	if (rank != 2 && rank != 3)
		return rb_err_set(err, RB_E_MODEL, "input rank %zu is not supported (need [batch, T, C] or [batch, C])",
		                  rank);
	size_t dims[3] = {0, 0, 0};
	for (size_t d = 1; d < rank; d++) {
		const json_t *v = json_array_get(shape, d); /* borrowed */
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > MODEL_MAX_DIM)
			return rb_err_set(err, RB_E_MODEL,
			                  "input dimension %zu must be a fixed integer in [1, %d]", d, MODEL_MAX_DIM);
		dims[d] = (size_t)json_integer_value(v);
	}
	enum rb_code rc = must_be_false(cfg, "sparse", err);
	if (rc == RB_OK)
		rc = must_be_false(cfg, "ragged", err);
	if (rc != RB_OK)
		return rc;
	l->T = rank == 3 ? dims[1] : 0;
	l->C = rank == 3 ? dims[2] : dims[1];
	return RB_OK;
}

static enum rb_code parse_dense(const json_t *cfg, struct model *m, size_t i, struct layer_src *s,
                                struct rb_err *err)
{
	struct layer *l = &m->layers[i];
	const struct layer *in = &m->layers[l->inputs[0]];
	enum rb_code rc = get_size(cfg, "units", 1, MODEL_MAX_DIM, 1, 0, &l->units, err);
	if (rc == RB_OK)
		rc = opt_bool(cfg, "use_bias", 1, &s->use_bias, err);
	if (rc == RB_OK)
		rc = must_be_false(cfg, "approximate", err); /* gelu must be the exact erf form */
	const char *act = NULL;
	const json_t *jact = json_object_get(cfg, "activation"); /* borrowed */
	if (rc == RB_OK && json_is_object(jact)) {
		/* Keras 3 may write {"class_name": "function", "config": "gelu", ...}. */
		act = json_string_value(json_object_get(jact, "config"));
		if (act == NULL)
			rc = rb_err_set(err, RB_E_MODEL, "'activation' must be a built-in activation name");
	} else if (rc == RB_OK) {
		rc = opt_string(cfg, "activation", &act, err);
	}
	if (rc != RB_OK)
		return rc;
	l->act = ACT_LINEAR;
	if (act != NULL) {
		size_t k, n = sizeof activations / sizeof activations[0];
		for (k = 0; k < n; k++)
			if (strcmp(act, activations[k].name) == 0)
				break;
		if (k == n)
			return rb_err_set(err, RB_E_MODEL,
			                  "activation '%.40s' is not supported (linear, relu, gelu, sigmoid, tanh, softmax)",
			                  act);
		l->act = activations[k].act;
	}
	l->T = in->T;
	l->C = l->units;
	return RB_OK;
}

static enum rb_code parse_norm(const json_t *cfg, struct model *m, size_t i, struct layer_src *s,
                               struct rb_err *err)
{
	struct layer *l = &m->layers[i];
	const struct layer *in = &m->layers[l->inputs[0]];
	enum rb_code rc = check_last_axis(cfg, in, err);
	if (rc == RB_OK)
		rc = get_epsilon(cfg, &l->epsilon, err);
	if (rc == RB_OK)
		rc = opt_bool(cfg, "center", 1, &s->center, err);
	if (rc == RB_OK)
		rc = opt_bool(cfg, "scale", 1, &s->scale, err);
	if (rc == RB_OK && l->kind == LAYER_BATCH_NORM)
		rc = must_be_false(cfg, "renorm", err);
	if (rc == RB_OK && l->kind == LAYER_LAYER_NORM)
		rc = must_be_false(cfg, "rms_scaling", err);
	if (rc != RB_OK)
		return rc;
	l->T = in->T;
	l->C = in->C;
	return RB_OK;
}

static enum rb_code parse_identity(const json_t *cfg, struct model *m, size_t i, struct layer_src *s,
                                   struct rb_err *err)
{
	(void)cfg;
	(void)s;
	(void)err;
	struct layer *l = &m->layers[i];
	l->T = m->layers[l->inputs[0]].T;
	l->C = m->layers[l->inputs[0]].C;
	return RB_OK;
}

/* Requires string option key to equal want (absent = Keras default, which is want). */
static enum rb_code must_be(const json_t *cfg, const char *key, const char *want, struct rb_err *err)
{
	const char *v = NULL;
	enum rb_code rc = opt_string(cfg, key, &v, err);
	if (rc != RB_OK)
		return rc;
	if (v != NULL && strcmp(v, want) != 0)
		return rb_err_set(err, RB_E_MODEL, "%s '%.40s' is not supported (only %s)", key, v, want);
	return RB_OK;
}

static enum rb_code parse_lstm(const json_t *cfg, struct model *m, size_t i, struct layer_src *s,
                               struct rb_err *err)
{
	struct layer *l = &m->layers[i];
	const struct layer *in = &m->layers[l->inputs[0]];
	if (in->T == 0)
		return rb_err_set(err, RB_E_MODEL, "input has no time axis");
	s->in_cell = 1;
	enum rb_code rc = get_size(cfg, "units", 1, MODEL_MAX_DIM, 1, 0, &l->units, err);
	if (rc == RB_OK)
		rc = opt_bool(cfg, "use_bias", 1, &s->use_bias, err);
	if (rc == RB_OK)
		rc = opt_bool(cfg, "return_sequences", 0, &l->return_sequences, err);
	if (rc == RB_OK)
		rc = must_be(cfg, "activation", "tanh", err);
	if (rc == RB_OK)
		rc = must_be(cfg, "recurrent_activation", "sigmoid", err);
	if (rc == RB_OK)
		rc = must_be_false(cfg, "go_backwards", err);
	if (rc == RB_OK)
		rc = must_be_false(cfg, "stateful", err);
	if (rc == RB_OK)
		rc = must_be_false(cfg, "return_state", err);
	if (rc == RB_OK)
		rc = must_be_false(cfg, "time_major", err);
	if (rc != RB_OK)
		return rc;
	l->T = l->return_sequences ? in->T : 0;
	l->C = l->units;
	return RB_OK;
}

static enum rb_code parse_repeat(const json_t *cfg, struct model *m, size_t i, struct layer_src *s,
                                 struct rb_err *err)
{
	(void)s;
	struct layer *l = &m->layers[i];
	const struct layer *in = &m->layers[l->inputs[0]];
	if (in->T != 0)
		return rb_err_set(err, RB_E_MODEL, "input must have no time axis (got [%zu, %zu])", in->T, in->C);
	enum rb_code rc = get_size(cfg, "n", 1, MODEL_MAX_DIM, 1, 0, &l->repeat, err);
	if (rc != RB_OK)
		return rc;
	l->T = l->repeat;
	l->C = in->C;
	return RB_OK;
}

static enum rb_code parse_concat(const json_t *cfg, struct model *m, size_t i, struct layer_src *s,
                                 struct rb_err *err)
{
	(void)s;
	struct layer *l = &m->layers[i];
	const struct layer *in0 = &m->layers[l->inputs[0]];
	const json_t *v = json_object_get(cfg, "axis"); /* borrowed */
	if (v != NULL && !json_is_null(v)) {
		json_int_t last = in0->T > 0 ? 2 : 1;
		if (!json_is_integer(v) || (json_integer_value(v) != -1 && json_integer_value(v) != last))
			return rb_err_set(err, RB_E_MODEL, "only concatenation along the last axis is supported");
	}
	size_t C = 0;
	for (size_t k = 0; k < l->n_inputs; k++) {
		const struct layer *in = &m->layers[l->inputs[k]];
		if (in->T != in0->T)
			return rb_err_set(err, RB_E_MODEL, "inputs '%s' and '%s' have different time steps (%zu, %zu)",
			                  in0->name, in->name, in0->T, in->T);
		C += in->C;
	}
	if (C > MODEL_MAX_DIM)
		return rb_err_set(err, RB_E_MODEL, "output has %zu channels (cap %d)", C, MODEL_MAX_DIM);
	l->T = in0->T;
	l->C = C;
	return RB_OK;
}

static const struct layer_class classes[] = {
	{"InputLayer", LAYER_INPUT, "input_layer", 0, 0, parse_input},
	{"BatchNormalization", LAYER_BATCH_NORM, "batch_normalization", 1, 1, parse_norm},
	{"Dense", LAYER_DENSE, "dense", 1, 1, parse_dense},
	{"Dropout", LAYER_DROPOUT, "dropout", 1, 1, parse_identity},
	{"LayerNormalization", LAYER_LAYER_NORM, "layer_normalization", 1, 1, parse_norm},
	{"LSTM", LAYER_LSTM, "lstm", 1, 1, parse_lstm},
	{"GaussianNoise", LAYER_GAUSSIAN_NOISE, "gaussian_noise", 1, 1, parse_identity},
	{"RepeatVector", LAYER_REPEAT_VECTOR, "repeat_vector", 1, 1, parse_repeat},
	{"Concatenate", LAYER_CONCATENATE, "concatenate", 1, MODEL_MAX_INPUTS, parse_concat},
};
#define N_CLASSES (sizeof classes / sizeof classes[0])

/* ---- graph references ---- */

/* Index of the layer called name among the first n, or n when there is none. */
static size_t find_layer(const struct model *m, size_t n, const char *name)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(m->layers[k].name, name) == 0)
			return k;
	return n;
}

/*
 * Call keyword arguments (borrowed): "training" (irrelevant at inference)
 * and any argument left null (its default) are fine; anything else
 * (initial_state, a mask tensor, ...) changes the computation: refused.
 */
static enum rb_code check_kwargs(const json_t *kw, struct rb_err *err)
{
	if (!json_is_object(kw))
		return rb_err_set(err, RB_E_MODEL, "malformed call arguments");
	const char *key;
	const json_t *val;
	json_object_foreach((json_t *)kw, key, val) {
		if (strcmp(key, "training") != 0 && !json_is_null(val))
			return rb_err_set(err, RB_E_MODEL, "call argument '%.40s' is not supported", key);
	}
	return RB_OK;
}

/*
 * A tensor reference [name, node_index, tensor_index(, kwargs)] (Keras 2
 * inbound entry, Keras 3 keras_history, input/output_layers entry): *name
 * borrowed. Only node 0 / tensor 0 exist in the graphs we support.
 */
static enum rb_code parse_ref(const json_t *ref, const char **name, struct rb_err *err)
{
	if (!json_is_array(ref) || json_array_size(ref) < 3 || json_array_size(ref) > 4 ||
	    !json_is_string(json_array_get(ref, 0)))
		return rb_err_set(err, RB_E_MODEL, "malformed tensor reference");
	const json_t *node = json_array_get(ref, 1), *tensor = json_array_get(ref, 2); /* borrowed */
	if (!json_is_integer(node) || !json_is_integer(tensor))
		return rb_err_set(err, RB_E_MODEL, "malformed tensor reference");
	*name = json_string_value(json_array_get(ref, 0));
	if (json_integer_value(node) != 0)
		return rb_err_set(err, RB_E_MODEL, "reference to call %lld of '%.64s' (shared layers are not supported)",
		                  (long long)json_integer_value(node), *name);
	if (json_integer_value(tensor) != 0)
		return rb_err_set(err, RB_E_MODEL, "reference to output %lld of '%.64s' (multi-output layers are not supported)",
		                  (long long)json_integer_value(tensor), *name);
	if (json_array_size(ref) == 4)
		return check_kwargs(json_array_get(ref, 3), err);
	return RB_OK;
}

/* Adds input name to layer i after checking it exists earlier in the list. */
static enum rb_code add_input(struct model *m, size_t i, const char *name, struct rb_err *err)
{
	struct layer *l = &m->layers[i];
	size_t k = find_layer(m, i, name);
	if (k == i) {
		if (find_layer(m, m->n_layers, name) < m->n_layers)
			return rb_err_set(err, RB_E_MODEL, "input '%.64s' comes later in the layer list (not topological order)",
			                  name);
		return rb_err_set(err, RB_E_MODEL, "input '%.64s' is not a layer of the model", name);
	}
	if (l->n_inputs == MODEL_MAX_INPUTS)
		return rb_err_set(err, RB_E_MODEL, "more than %d inputs", MODEL_MAX_INPUTS);
	l->inputs[l->n_inputs++] = k;
	return RB_OK;
}

/* One Keras 3 argument: a __keras_tensor__ object or a list of them (Concatenate). */
static enum rb_code add_k3_arg(struct model *m, size_t i, const json_t *arg, int depth, struct rb_err *err)
{
	if (json_is_array(arg) && depth == 0) {
		for (size_t k = 0; k < json_array_size(arg); k++) {
			enum rb_code rc = add_k3_arg(m, i, json_array_get(arg, k), 1, err);
			if (rc != RB_OK)
				return rc;
		}
		return RB_OK;
	}
	const json_t *cfg = json_object_get(arg, "config"); /* borrowed; NULL when arg is no object */
	const json_t *hist = json_object_get(cfg, "keras_history");
	if (hist == NULL)
		return rb_err_set(err, RB_E_MODEL, "call argument is not a tensor (only tensors are supported)");
	const char *name = NULL;
	enum rb_code rc = parse_ref(hist, &name, err);
	return rc != RB_OK ? rc : add_input(m, i, name, err);
}

/* Resolves layer i's inbound_nodes (borrowed) into l->inputs. */
static enum rb_code parse_inbound(struct model *m, size_t i, const json_t *nodes, struct rb_err *err)
{
	if (nodes == NULL || json_is_null(nodes))
		return RB_OK;
	if (!json_is_array(nodes))
		return rb_err_set(err, RB_E_MODEL, "'inbound_nodes' must be a list");
	if (json_array_size(nodes) == 0)
		return RB_OK;
	if (json_array_size(nodes) > 1)
		return rb_err_set(err, RB_E_MODEL, "layer is called %zu times (shared layers are not supported)",
		                  json_array_size(nodes));
	const json_t *node = json_array_get(nodes, 0); /* borrowed */
	if (json_is_array(node)) { /* Keras 2: [[name, 0, 0, {}], ...] */
		for (size_t k = 0; k < json_array_size(node); k++) {
			const char *name = NULL;
			enum rb_code rc = parse_ref(json_array_get(node, k), &name, err);
			if (rc == RB_OK)
				rc = add_input(m, i, name, err);
			if (rc != RB_OK)
				return rc;
		}
		return RB_OK;
	}
	if (json_is_object(node)) { /* Keras 3: {"args": [...], "kwargs": {...}} */
		const json_t *args = json_object_get(node, "args"), *kwargs = json_object_get(node, "kwargs");
		if (!json_is_array(args))
			return rb_err_set(err, RB_E_MODEL, "inbound node without 'args'");
		enum rb_code rc = kwargs == NULL ? RB_OK : check_kwargs(kwargs, err);
		if (rc != RB_OK)
			return rc;
		for (size_t k = 0; k < json_array_size(args); k++) {
			enum rb_code rc = add_k3_arg(m, i, json_array_get(args, k), 0, err);
			if (rc != RB_OK)
				return rc;
		}
		return RB_OK;
	}
	return rb_err_set(err, RB_E_MODEL, "malformed inbound node");
}

/*
 * input_layers / output_layers (borrowed): one reference, either
 * [[name, 0, 0]] or the flat [name, 0, 0]. *index gets the layer.
 */
static enum rb_code parse_endpoint(const struct model *m, const json_t *list, const char *what,
                                   size_t *index, struct rb_err *err)
{
	if (!json_is_array(list))
		return rb_err_set(err, RB_E_MODEL, "'%s' is missing", what);
	const json_t *ref = list;
	if (!json_is_string(json_array_get(list, 0))) {
		if (json_array_size(list) != 1)
			return rb_err_set(err, RB_E_MODEL, "the model has %zu %s (exactly one is supported)",
			                  json_array_size(list), what);
		ref = json_array_get(list, 0);
	}
	const char *name = NULL;
	enum rb_code rc = parse_ref(ref, &name, err);
	if (rc != RB_OK) {
		rb_err_prefix(err, "%s", what);
		return rc;
	}
	*index = find_layer(m, m->n_layers, name);
	if (*index == m->n_layers)
		return rb_err_set(err, RB_E_MODEL, "%s names '%.64s', which is not a layer", what, name);
	return RB_OK;
}

/* ---- one layer ---- */

static enum rb_code parse_layer(struct model *m, size_t i, const json_t *jl, struct layer_src *src,
                                size_t *class_counts, struct rb_err *err)
{
	struct layer *l = &m->layers[i];
	const json_t *cfg = json_object_get(jl, "config"); /* borrowed */
	const char *cls = json_string_value(json_object_get(jl, "class_name"));
	if (!json_is_object(jl) || cls == NULL || !json_is_object(cfg))
		return rb_err_set(err, RB_E_MODEL, "layer %zu: missing 'class_name' or 'config'", i);
	const char *name = json_string_value(json_object_get(jl, "name"));
	if (name == NULL)
		name = json_string_value(json_object_get(cfg, "name"));
	if (name == NULL || name[0] == '\0')
		return rb_err_set(err, RB_E_MODEL, "layer %zu (%.40s): no name", i, cls);
	if (strlen(name) >= sizeof l->name)
		return rb_err_set(err, RB_E_MODEL, "layer %zu (%.40s): name longer than %d bytes", i, cls,
		                  MODEL_NAME_MAX - 1);
	memcpy(l->name, name, strlen(name) + 1);
	if (find_layer(m, i, l->name) < i)
		return rb_err_set(err, RB_E_MODEL, "layer '%s': name used twice", l->name);

	size_t c;
	for (c = 0; c < N_CLASSES; c++)
		if (strcmp(cls, classes[c].class_name) == 0)
			break;
	if (c == N_CLASSES)
		return rb_err_set(err, RB_E_MODEL, "layer '%s': class %.40s is not supported", l->name, cls);
	const struct layer_class *k = &classes[c];
	l->kind = k->kind;
	l->act = ACT_LINEAR;

	struct layer_src *s = &src[i];
	if (class_counts[c] == 0)
		snprintf(s->group, sizeof s->group, "layers/%s", k->h5_base);
	else
		snprintf(s->group, sizeof s->group, "layers/%s_%zu", k->h5_base, class_counts[c]);
	class_counts[c]++;

	enum rb_code rc = parse_inbound(m, i, json_object_get(jl, "inbound_nodes"), err);
	if (rc == RB_OK && (l->n_inputs < k->min_inputs || l->n_inputs > k->max_inputs)) {
		if (k->min_inputs == k->max_inputs)
			rc = rb_err_set(err, RB_E_MODEL, "has %zu inputs, needs %zu", l->n_inputs, k->min_inputs);
		else
			rc = rb_err_set(err, RB_E_MODEL, "has %zu inputs, needs %zu to %zu", l->n_inputs,
			                k->min_inputs, k->max_inputs);
	}
	if (rc == RB_OK)
		rc = k->parse(cfg, m, i, s, err);
	if (rc != RB_OK) {
		rb_err_prefix(err, "layer '%s' (%s)", l->name, cls);
		return rc;
	}
	return RB_OK;
}

void model_graph_clear(struct model *m)
{
	free(m->layers);
	m->layers = NULL;
	m->n_layers = 0;
	m->output = 0;
	m->in_T = m->in_C = m->out_T = m->out_C = 0;
}

static enum rb_code parse_root(const json_t *root, struct model *m, struct layer_src **src_out,
                               struct rb_err *err)
{
	const char *cls = json_string_value(json_object_get(root, "class_name"));
	if (cls == NULL)
		return rb_err_set(err, RB_E_MODEL, "not a Keras model config (no 'class_name')");
	if (strcmp(cls, "Functional") != 0 && strcmp(cls, "Model") != 0)
		return rb_err_set(err, RB_E_MODEL, "model class %.40s is not supported (save a functional model)", cls);
	const json_t *cfg = json_object_get(root, "config"); /* borrowed */
	const json_t *layers = json_object_get(cfg, "layers");
	if (!json_is_array(layers) || json_array_size(layers) == 0)
		return rb_err_set(err, RB_E_MODEL, "the model has no 'layers' list");
	size_t n = json_array_size(layers);
	if (n > MODEL_MAX_LAYERS)
		return rb_err_set(err, RB_E_MODEL, "the model has %zu layers (cap %d)", n, MODEL_MAX_LAYERS);

	m->layers = calloc(n, sizeof *m->layers);
	struct layer_src *src = calloc(n, sizeof *src);
	if (m->layers == NULL || src == NULL) {
		free(src);
		return rb_err_set(err, RB_E_NOMEM, "out of memory for %zu layers", n);
	}
	m->n_layers = n;
	/* Names first, so that a forward reference can be told from an unknown one. */
	for (size_t i = 0; i < n; i++) {
		const json_t *jl = json_array_get(layers, i);
		const char *name = json_string_value(json_object_get(jl, "name"));
		if (name == NULL)
			name = json_string_value(json_object_get(json_object_get(jl, "config"), "name"));
		if (name != NULL && strlen(name) < MODEL_NAME_MAX)
			memcpy(m->layers[i].name, name, strlen(name) + 1);
	}
	size_t class_counts[N_CLASSES] = {0};
	size_t n_inputs = 0;
	enum rb_code rc = RB_OK;
	for (size_t i = 0; i < n && rc == RB_OK; i++) {
		rc = parse_layer(m, i, json_array_get(layers, i), src, class_counts, err);
		if (rc == RB_OK && m->layers[i].kind == LAYER_INPUT)
			n_inputs++;
	}
	size_t in = 0;
	if (rc == RB_OK && n_inputs != 1)
		rc = rb_err_set(err, RB_E_MODEL, "the model has %zu input layers (exactly one is supported)", n_inputs);
	if (rc == RB_OK)
		rc = parse_endpoint(m, json_object_get(cfg, "input_layers"), "input_layers", &in, err);
	if (rc == RB_OK && m->layers[in].kind != LAYER_INPUT)
		rc = rb_err_set(err, RB_E_MODEL, "input_layers names '%s', which is not an InputLayer",
		                m->layers[in].name);
	if (rc == RB_OK)
		rc = parse_endpoint(m, json_object_get(cfg, "output_layers"), "output_layers", &m->output, err);
	if (rc != RB_OK) {
		free(src);
		return rc;
	}
	m->in_T = m->layers[in].T;
	m->in_C = m->layers[in].C;
	m->out_T = m->layers[m->output].T;
	m->out_C = m->layers[m->output].C;
	*src_out = src;
	return RB_OK;
}

enum rb_code keras_config_parse(const char *json, size_t len, struct model *m,
                                struct layer_src **src_out, struct rb_err *err)
{
	*src_out = NULL;
	model_graph_clear(m);
	if (len > MODEL_CONFIG_MAX)
		return rb_err_set(err, RB_E_MODEL, "config.json is %zu bytes (cap %u)", len, MODEL_CONFIG_MAX);
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr); /* new */
	if (root == NULL)
		return rb_err_set(err, RB_E_MODEL, "config.json: invalid JSON at line %d: %.120s", jerr.line, jerr.text);
	enum rb_code rc = parse_root(root, m, src_out, err);
	json_decref(root);
	if (rc != RB_OK) {
		model_graph_clear(m);
		rb_err_prefix(err, "config.json");
	}
	return rc;
}
