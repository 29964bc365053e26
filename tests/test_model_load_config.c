/*
 * keras_config_parse on its own (no weights): a table of small configs,
 * each either accepted with the stated output shape and h5 groups, or
 * refused with RB_E_MODEL and a message naming the layer and the problem
 * (unsupported classes and options, graph shape errors, caps).
 */
#include <string.h>

#include "core/model/model_internal.h"
#include "testutil.h"

#define IN43 "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, 4, 3]}, \"inbound_nodes\": []}"
#define L(cls, name, cfg, from) \
	", {\"class_name\": \"" cls "\", \"name\": \"" name "\", \"config\": " cfg ", \"inbound_nodes\": [[" from "]]}"
#define FROM(x) "[\"" x "\", 0, 0, {}]"
#define MODEL(layers, out)                                                                               \
	"{\"class_name\": \"Functional\", \"config\": {\"layers\": [" IN43 layers "], \"input_layers\": [[\"in\", 0, 0]], " \
	"\"output_layers\": [[\"" out "\", 0, 0]]}}"

static const struct {
	const char *json;
	const char *want; /* NULL = accepted */
	size_t out_T, out_C;
} cases[] = {
	{MODEL(L("Dense", "d", "{\"units\": 5}", FROM("in")), "d"), NULL, 4, 5},
	{MODEL(L("LSTM", "l", "{\"units\": 6}", FROM("in")) L("LayerNormalization", "n", "{\"axis\": [1]}", FROM("l"))
	       L("RepeatVector", "r", "{\"n\": 7}", FROM("n")), "r"), NULL, 7, 6},
	{MODEL(L("Dense", "a", "{\"units\": 2}", FROM("in")) L("Dense", "b", "{\"units\": 3, \"activation\": \"softmax\"}", FROM("in"))
	       L("Concatenate", "c", "{\"axis\": 2}", FROM("a") "," FROM("b") "," FROM("in")), "c"), NULL, 4, 8},
	{MODEL(L("Dropout", "x", "{\"rate\": 0.5}", FROM("in")) L("GaussianNoise", "g", "{\"stddev\": 1}", FROM("x"))
	       L("BatchNormalization", "b", "{\"axis\": -1}", FROM("g")), "b"), NULL, 4, 3},
	{MODEL(L("Conv1D", "conv", "{\"filters\": 2}", FROM("in")), "conv"), "layer 'conv': class Conv1D is not supported", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 5, \"activation\": \"gelu\", \"approximate\": true}", FROM("in")), "d"),
	 "layer 'd' (Dense): 'approximate' = true is not supported", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 5, \"activation\": {\"class_name\": \"gelu\"}}", FROM("in")), "d"),
	 "'activation' must be a built-in activation name", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 5, \"activation\": 7}", FROM("in")), "d"), "'activation' must be a string", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 5, \"activation\": {\"class_name\": \"function\", \"config\": \"tanh\"}}", FROM("in")), "d"),
	 NULL, 4, 5},
	{MODEL(L("Dense", "d", "{\"units\": 0}", FROM("in")), "d"), "'units' = 0 is outside [1, 4096]", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 4097}", FROM("in")), "d"), "'units' = 4097 is outside", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 2.5}", FROM("in")), "d"), "'units' must be an integer", 0, 0},
	{MODEL(L("Dense", "d", "{}", FROM("in")), "d"), "layer 'd' (Dense): 'units' is missing", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 2, \"use_bias\": 1}", FROM("in")), "d"), "'use_bias' must be true or false", 0, 0},
	{MODEL(L("BatchNormalization", "b", "{\"axis\": 1}", FROM("in")), "b"), "layer 'b' (BatchNormalization): 'axis' = 1 is not the last axis (2 or -1)", 0, 0},
	{MODEL(L("BatchNormalization", "b", "{\"renorm\": true}", FROM("in")), "b"), "'renorm' = true is not supported", 0, 0},
	{MODEL(L("BatchNormalization", "b", "{\"epsilon\": 0}", FROM("in")), "b"), "'epsilon' = 0 is outside (0, 1)", 0, 0},
	{MODEL(L("LayerNormalization", "n", "{\"axis\": [1, 2]}", FROM("in")), "n"), "'axis' must be the last axis only (got 2 axes)", 0, 0},
	{MODEL(L("LSTM", "l", "{\"units\": 2, \"go_backwards\": true}", FROM("in")), "l"), "layer 'l' (LSTM): 'go_backwards' = true", 0, 0},
	{MODEL(L("LSTM", "l", "{\"units\": 2, \"stateful\": true}", FROM("in")), "l"), "'stateful' = true", 0, 0},
	{MODEL(L("LSTM", "l", "{\"units\": 2, \"return_state\": true}", FROM("in")), "l"), "'return_state' = true", 0, 0},
	{MODEL(L("LSTM", "l", "{\"units\": 2, \"activation\": \"relu\"}", FROM("in")), "l"), "activation 'relu' is not supported (only tanh)", 0, 0},
	{MODEL(L("LSTM", "l", "{\"units\": 2}", FROM("in")) L("LSTM", "m", "{\"units\": 2}", FROM("l")), "m"),
	 "layer 'm' (LSTM): input has no time axis", 0, 0},
	{MODEL(L("RepeatVector", "r", "{\"n\": 2}", FROM("in")), "r"), "layer 'r' (RepeatVector): input must have no time axis", 0, 0},
	{MODEL(L("LSTM", "l", "{\"units\": 2}", FROM("in")) L("Concatenate", "c", "{}", FROM("l") "," FROM("in")), "c"),
	 "inputs 'l' and 'in' have different time steps (0, 4)", 0, 0},
	{MODEL(L("Concatenate", "c", "{\"axis\": 1}", FROM("in") "," FROM("in")), "c"), "only concatenation along the last axis", 0, 0},
	{MODEL(L("Concatenate", "c", "{}", FROM("in") "," FROM("in") "," FROM("in") "," FROM("in") "," FROM("in") ","
	                                   FROM("in") "," FROM("in") "," FROM("in") "," FROM("in")), "c"), "more than 8 inputs", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 2}", FROM("e")) L("Dense", "e", "{\"units\": 2}", FROM("in")), "d"),
	 "layer 'd' (Dense): input 'e' comes later in the layer list (not topological order)", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 2}", FROM("zz")), "d"), "input 'zz' is not a layer of the model", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 2}", "[\"in\", 1, 0, {}]"), "d"), "shared layers are not supported", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 2}", "[\"in\", 0, 1, {}]"), "d"), "multi-output layers are not supported", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 2}", "[\"in\", 0, 0, {\"initial_state\": 1}]"), "d"), "call argument 'initial_state' is not supported", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 2}", ""), "d"), "layer 'd' (Dense): has 0 inputs, needs 1", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 2}", FROM("in") "," FROM("in")), "d"), "has 2 inputs, needs 1", 0, 0},
	{MODEL(", {\"class_name\": \"Dense\", \"name\": \"d\", \"config\": {\"units\": 2}, \"inbound_nodes\": [[" FROM("in") "], [" FROM("in") "]]}", "d"),
	 "layer is called 2 times", 0, 0},
	{MODEL(L("Dense", "in", "{\"units\": 2}", FROM("in")), "in"), "layer 'in': name used twice", 0, 0},
	{MODEL(L("Dense", "d234567890123456789012345678901234567890123456789012345678901234", "{\"units\": 2}", FROM("in")), "d"),
	 "name longer than 63 bytes", 0, 0},
	{MODEL(L("Dense", "d", "{\"units\": 2}", FROM("in")), "nope"), "output_layers names 'nope', which is not a layer", 0, 0},
	{MODEL(", {\"class_name\": \"InputLayer\", \"name\": \"in2\", \"config\": {\"batch_input_shape\": [null, 4, 3]}, \"inbound_nodes\": []}", "in"),
	 "the model has 2 input layers", 0, 0},
	{"{\"class_name\": \"Functional\", \"config\": {\"layers\": [" IN43 "], \"input_layers\": [[\"in\", 0, 0]], "
	 "\"output_layers\": [[\"in\", 0, 0], [\"in\", 0, 0]]}}", "the model has 2 output_layers", 0, 0},
	{"{\"class_name\": \"Functional\", \"config\": {\"layers\": [" IN43 "], \"output_layers\": [[\"in\", 0, 0]]}}",
	 "'input_layers' is missing", 0, 0},
	{"{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"name\": \"in\", "
	 "\"config\": {\"batch_input_shape\": [null, null, 3]}}], \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"in\", 0, 0]]}}",
	 "input dimension 1 must be a fixed integer", 0, 0},
	{"{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"class_name\": \"InputLayer\", \"name\": \"in\", "
	 "\"config\": {\"batch_input_shape\": [null, 2, 2, 3]}}], \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"in\", 0, 0]]}}",
	 "input rank 4 is not supported", 0, 0},
	{"{\"class_name\": \"Sequential\", \"config\": {\"layers\": []}}", "model class Sequential is not supported", 0, 0},
	{"{\"class_name\": \"Functional\", \"config\": {\"layers\": []}}", "the model has no 'layers' list", 0, 0},
	{"{\"class_name\": \"Functional\"}", "the model has no 'layers' list", 0, 0},
	{"[1, 2]", "not a Keras model config", 0, 0},
	{"", "invalid JSON", 0, 0},
	{"{\"class_name\": \"Functional\", \"class_name\": \"Functional\"}", "invalid JSON", 0, 0},
	{"{\"class_name\": \"Functional\", \"config\": {\"layers\": [7]}}", "layer 0: missing 'class_name' or 'config'", 0, 0},
};

int main(void)
{
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct model m;
		memset(&m, 0, sizeof m);
		struct layer_src *src = (struct layer_src *)1;
		struct rb_err err = {0};
		enum rb_code rc = keras_config_parse(cases[k].json, strlen(cases[k].json), &m, &src, &err);
		if (cases[k].want == NULL) {
			CHECKF(rc == RB_OK, "case %zu: %s", k, err.msg);
			CHECKF(m.out_T == cases[k].out_T && m.out_C == cases[k].out_C, "case %zu: [%zu, %zu]", k, m.out_T,
			       m.out_C);
			CHECK(m.in_T == 4 && m.in_C == 3 && src != NULL);
			for (size_t i = 0; i < m.n_layers; i++)
				for (size_t j = 0; j < m.layers[i].n_inputs; j++)
					CHECK(m.layers[i].inputs[j] < i);
			free(src);
			model_graph_clear(&m);
			continue;
		}
		CHECKF(rc == RB_E_MODEL, "case %zu accepted: %s", k, cases[k].json);
		CHECKF(strstr(err.msg, cases[k].want) != NULL, "case %zu: '%s' not in: %s", k, cases[k].want, err.msg);
		CHECKF(strncmp(err.msg, "config.json: ", 13) == 0, "case %zu: %s", k, err.msg);
		CHECK(src == NULL && m.layers == NULL && m.n_layers == 0);
	}

	/* h5 groups: per-class counters in layer order, not config names. */
	const char *j = MODEL(L("Dense", "a", "{\"units\": 2}", FROM("in")) L("LSTM", "b", "{\"units\": 2, \"return_sequences\": true}", FROM("a"))
	                      L("Dense", "c", "{\"units\": 2}", FROM("b")) L("Dense", "d", "{\"units\": 2}", FROM("c"))
	                      L("LSTM", "e", "{\"units\": 2, \"return_sequences\": true}", FROM("d")), "e");
	struct model m;
	memset(&m, 0, sizeof m);
	struct layer_src *src = NULL;
	struct rb_err err = {0};
	CHECKF(keras_config_parse(j, strlen(j), &m, &src, &err) == RB_OK, "%s", err.msg);
	static const char *groups[] = {"layers/input_layer", "layers/dense", "layers/lstm", "layers/dense_1",
	                               "layers/dense_2", "layers/lstm_1"};
	for (size_t i = 0; i < 6; i++)
		CHECKF(strcmp(src[i].group, groups[i]) == 0, "%zu: %s", i, src[i].group);
	CHECK(src[2].in_cell && !src[1].in_cell && src[1].use_bias);
	free(src);
	model_graph_clear(&m);

	/* Caps: layer count and config size. */
	size_t cap = 64 + (MODEL_MAX_LAYERS + 1) * 8;
	char *many = malloc(cap);
	CHECK(many != NULL);
	size_t off = (size_t)snprintf(many, cap, "{\"class_name\": \"Functional\", \"config\": {\"layers\": [");
	for (int k = 0; k <= MODEL_MAX_LAYERS; k++)
		off += (size_t)snprintf(many + off, cap - off, "%s{}", k ? "," : "");
	off += (size_t)snprintf(many + off, cap - off, "]}}");
	CHECK(off < cap);
	CHECK(keras_config_parse(many, off, &m, &src, &err) == RB_E_MODEL);
	CHECKF(strstr(err.msg, "257 layers (cap 256)") != NULL, "%s", err.msg);
	free(many);
	char *big = malloc(MODEL_CONFIG_MAX + 1);
	CHECK(big != NULL);
	memset(big, ' ', MODEL_CONFIG_MAX + 1);
	big[0] = '{';
	big[MODEL_CONFIG_MAX] = '}';
	CHECK(keras_config_parse(big, MODEL_CONFIG_MAX + 1, &m, &src, &err) == RB_E_MODEL);
	CHECKF(strstr(err.msg, "(cap 4194304)") != NULL, "%s", err.msg);
	free(big);
	return 0;
}
