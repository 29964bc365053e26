/*
 * model: a trained Keras autoencoder loaded from <name>.keras + <name>.ini
 * into a layer graph whose weights sit in one allocation.
 *
 * The graph is what both inference paths run: the plain-C reference
 * (model_ref.c, the oracle) and the oneDNN path (model_dnnl.c). Layers are in
 * topological order (every input index is smaller than the layer's own);
 * per-sample tensors are [T, C] (a sequence, T > 0) or [C] (T == 0); the batch
 * dimension is outermost and implicit. Supported layers are those of
 * CONTRACT §3; anything else is rejected at load time, naming the layer.
 */
#ifndef RB_MODEL_H
#define RB_MODEL_H

#include <stddef.h>

#include "rb/base/error.h"

struct infer_plan;

enum layer_kind {
	LAYER_INPUT,          /* the model input: T, C from batch_input_shape */
	LAYER_BATCH_NORM,     /* inference form: (x - mean) / sqrt(var + eps) * gamma + beta, last axis */
	LAYER_DENSE,          /* x @ kernel + bias, then act; on [T, C] per time step */
	LAYER_DROPOUT,        /* identity at inference */
	LAYER_LAYER_NORM,     /* normalise over the last axis, then * gamma + beta */
	LAYER_LSTM,           /* Keras LSTM, sigmoid/tanh, gates i,f,c,o; last state or sequence */
	LAYER_GAUSSIAN_NOISE, /* identity at inference */
	LAYER_REPEAT_VECTOR,  /* [C] -> [repeat, C] */
	LAYER_CONCATENATE,    /* along the last axis; inputs share T */
};

enum activation { ACT_LINEAR, ACT_RELU, ACT_GELU /* exact erf form */, ACT_SIGMOID, ACT_TANH, ACT_SOFTMAX };

#define MODEL_MAX_INPUTS 8
#define MODEL_NAME_MAX 64

struct layer {
	enum layer_kind kind;
	char name[MODEL_NAME_MAX];   /* the name in config.json */
	size_t n_inputs;
	size_t inputs[MODEL_MAX_INPUTS]; /* producer layer indices, each < own index */
	size_t T;                    /* output time steps per sample; 0 = no time axis */
	size_t C;                    /* output channels (last axis) */

	enum activation act;         /* DENSE */
	size_t units;                /* DENSE, LSTM */
	int return_sequences;        /* LSTM: 1 = [T, units], 0 = last state [units] */
	size_t repeat;               /* REPEAT_VECTOR */
	double epsilon;              /* BATCH_NORM, LAYER_NORM */

	/*
	 * Weights: pointers into model->weights; NULL when the layer has none.
	 * DENSE and LSTM always have kernel and bias (zeros when use_bias=false);
	 * LSTM always has recurrent; BATCH_NORM always has moving_mean/var.
	 */
	const float *kernel;         /* DENSE (in, units); LSTM (in, 4*units), gates i,f,c,o */
	const float *recurrent;      /* LSTM (units, 4*units) */
	const float *bias;           /* DENSE (units); LSTM (4*units) */
	const float *gamma;          /* norms (C); NULL when scale=False */
	const float *beta;           /* norms (C); NULL when center=False */
	const float *moving_mean;    /* BATCH_NORM (C) */
	const float *moving_var;     /* BATCH_NORM (C) */
};

/* How the weekday columns were encoded when the model was trained. */
enum weekday_encoding {
	WEEKDAY_QUIRK,  /* old service: the smallest weekday present in a request is all zeros */
	WEEKDAY_ONEHOT, /* plain one-hot, Monday = 0 */
};

/* The .ini beside the model. Column lists are owned by the model. */
struct model_spec {
	size_t n_metrics;            /* metric feature columns incl. "granularity" */
	char **metrics;              /* [Columns] metrics */
	size_t n_timestamp;          /* timestamp feature columns */
	char **timestamp;            /* [Columns] timestamp: minute, weekday_0..6 */
	double avg_loss, std_loss;   /* [General] per-element training loss statistics */
	size_t window_size;          /* [General] window_size (stride) */
	size_t num_windows;          /* [General] num_windows; slice length = product */
	enum weekday_encoding weekday; /* ours: [rb-aioutliers] weekday_encoding; old files: quirk */
	int has_score_stats;         /* ours: per-row score statistics present */
	double score_mean, score_std;/* ours: [rb-aioutliers] score_mean, score_std */
	double threshold_sigma;      /* ours: [rb-aioutliers] threshold_sigma (k of k-sigma); 0 when absent */
	int has_threshold_sigma;     /* 1 when threshold_sigma was given in the .ini */
};

struct model {
	char name[MODEL_NAME_MAX];
	size_t n_layers;
	struct layer *layers;        /* [n_layers], topological order */
	size_t output;               /* index of the output layer */
	size_t in_T, in_C;           /* input sample shape */
	size_t out_T, out_C;         /* output sample shape */
	size_t n_weights;
	float *weights;              /* every weight of every layer, one allocation */
	struct model_spec spec;
	struct infer_plan *plan;     /* owned; NULL until infer_plan_measure (rb/model/infer.h) */
};

/*
 * Loads dir/name.keras and dir/name.ini. name must be a plain model name
 * ([A-Za-z0-9._-], no leading dot); it is never treated as a path.
 * RB_E_NOT_FOUND when the files do not exist, RB_E_MODEL for any other
 * problem with them (message names the file part and the layer).
 */
enum rb_code model_load(struct model **out, const char *dir, const char *name, struct rb_err *err);

/* Loads from explicit file paths (tools and tests). name is for messages and output. */
enum rb_code model_load_files(struct model **out, const char *keras_path, const char *ini_path,
                              const char *name, struct rb_err *err);

/* 1 when name is a safe model name: [A-Za-z0-9._-]{1,63}, not starting with '.'. */
int model_name_valid(const char *name);

/* Frees a model; NULL is a no-op. */
void model_free(struct model *m);

/* Frees the column lists of spec and zeroes it; NULL is a no-op. */
void model_spec_clear(struct model_spec *spec);

#endif
