/*
 * model_load on the real upstream files: traffic.keras + traffic.ini load
 * into the 19-layer graph of CONTRACT §3 with the right shapes, groups and
 * weights (exact values read independently with a plain HDF5 listing of
 * model.weights.h5); model_load by directory and name; unsafe names;
 * the legacy HDF5 model_test.keras loads; traffic-2023-09 is refused, naming its Flatten layer.
 */
#include <string.h>

#include "rb/model/model.h"
#include "testutil.h"

static char shared_path[4096];

static const char *path_of(const char *rel)
{
	snprintf(shared_path, sizeof shared_path, "%s", tu_shared(rel));
	return shared_path;
}

/* p points at n floats inside m->weights. */
static int inside(const struct model *m, const float *p, size_t n)
{
	return p != NULL && p >= m->weights && p + n <= m->weights + m->n_weights;
}

static void check_traffic(const struct model *m)
{
	static const struct {
		enum layer_kind kind;
		const char *name;
		size_t T, C;
	} want[] = {
		{LAYER_INPUT, "input", 32, 20},
		{LAYER_BATCH_NORM, "batch_normalization_0", 32, 20},
		{LAYER_DENSE, "autoencoder_0_start", 32, 24},
		{LAYER_DROPOUT, "autoencoder_0_dropout", 32, 24},
		{LAYER_DENSE, "encoder_dense_0", 32, 24},
		{LAYER_LAYER_NORM, "encoder_normalization_0", 32, 24},
		{LAYER_LSTM, "encoder_0", 0, 24},
		{LAYER_LAYER_NORM, "decoder_normalization_0", 0, 24},
		{LAYER_GAUSSIAN_NOISE, "gaussian_noise_0", 0, 24},
		{LAYER_REPEAT_VECTOR, "repeat_vector_0", 32, 24},
		{LAYER_LSTM, "decoder_0", 32, 24},
		{LAYER_DENSE, "decoder_dense_0", 32, 24},
		{LAYER_DROPOUT, "autoencoder_0_decoder_dropout", 32, 24},
		{LAYER_DENSE, "minute_decoder_0", 32, 1},
		{LAYER_DENSE, "weekday_decoder_0", 32, 7},
		{LAYER_DENSE, "granularity_decoder_0", 32, 1},
		{LAYER_CONCATENATE, "pre_metric_decoder_0", 32, 33},
		{LAYER_DENSE, "metrics_decoder_0", 32, 11},
		{LAYER_CONCATENATE, "autoencoder_0_end", 32, 20},
	};
	size_t n = sizeof want / sizeof want[0];
	CHECKF(m->n_layers == n, "%zu layers", m->n_layers);
	for (size_t i = 0; i < n; i++) {
		const struct layer *l = &m->layers[i];
		CHECKF(l->kind == want[i].kind && strcmp(l->name, want[i].name) == 0, "layer %zu: %s", i, l->name);
		CHECKF(l->T == want[i].T && l->C == want[i].C, "layer %s: [%zu, %zu]", l->name, l->T, l->C);
		for (size_t k = 0; k < l->n_inputs; k++)
			CHECK(l->inputs[k] < i);
	}
	CHECK(strcmp(m->name, "traffic") == 0);
	CHECK(m->in_T == 32 && m->in_C == 20 && m->out_T == 32 && m->out_C == 20);
	CHECK(m->output == 18);

	/* Graph edges. */
	CHECK(m->layers[0].n_inputs == 0);
	CHECK(m->layers[12].n_inputs == 1 && m->layers[12].inputs[0] == 11);
	CHECK(m->layers[13].inputs[0] == 11); /* heads read decoder_dense_0, not the dropout */
	const struct layer *pre = &m->layers[16], *end = &m->layers[18];
	CHECK(pre->n_inputs == 4 && pre->inputs[0] == 12 && pre->inputs[1] == 13 && pre->inputs[2] == 14 &&
	      pre->inputs[3] == 15);
	CHECK(end->n_inputs == 4 && end->inputs[0] == 17 && end->inputs[1] == 15 && end->inputs[2] == 13 &&
	      end->inputs[3] == 14);

	/* Options. */
	CHECK(m->layers[1].epsilon == 1e-3 && m->layers[5].epsilon == 1e-3 && m->layers[7].epsilon == 1e-3);
	CHECK(m->layers[2].act == ACT_GELU && m->layers[2].units == 24);
	CHECK(m->layers[13].act == ACT_SIGMOID && m->layers[14].act == ACT_SOFTMAX);
	CHECK(m->layers[17].act == ACT_SIGMOID && m->layers[17].units == 11);
	CHECK(m->layers[6].return_sequences == 0 && m->layers[10].return_sequences == 1);
	CHECK(m->layers[6].units == 24 && m->layers[9].repeat == 32);

	/* One allocation: 11887 floats, every pointer inside it, no overlap by construction. */
	CHECKF(m->n_weights == 11887, "%zu weights", m->n_weights);
	size_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		const struct layer *l = &m->layers[i];
		size_t in_C = l->n_inputs ? m->layers[l->inputs[0]].C : 0;
		switch (l->kind) {
		case LAYER_DENSE:
			CHECK(inside(m, l->kernel, in_C * l->units) && inside(m, l->bias, l->units));
			sum += in_C * l->units + l->units;
			break;
		case LAYER_LSTM:
			CHECK(inside(m, l->kernel, in_C * 4 * l->units) && inside(m, l->recurrent, 4 * l->units * l->units) &&
			      inside(m, l->bias, 4 * l->units));
			sum += (in_C + l->units + 1) * 4 * l->units;
			break;
		case LAYER_BATCH_NORM:
			CHECK(inside(m, l->gamma, l->C) && inside(m, l->beta, l->C) && inside(m, l->moving_mean, l->C) &&
			      inside(m, l->moving_var, l->C));
			sum += 4 * l->C;
			break;
		case LAYER_LAYER_NORM:
			CHECK(inside(m, l->gamma, l->C) && inside(m, l->beta, l->C));
			sum += 2 * l->C;
			break;
		default:
			CHECK(l->kernel == NULL && l->bias == NULL && l->gamma == NULL);
			break;
		}
	}
	CHECK(sum == m->n_weights);

	/* Exact values (float32 in the file), read independently with H5Dread on
	 * layers/<group>/vars/<i>: dense = autoencoder_0_start, lstm = encoder_0,
	 * lstm_1 = decoder_0, dense_6 = metrics_decoder_0. */
	const struct layer *d0 = &m->layers[2], *e0 = &m->layers[6], *dec = &m->layers[10], *met = &m->layers[17];
	CHECK(d0->kernel[0] == -0.0036616642f && d0->kernel[20 * 24 - 1] == -0.789199293f);
	CHECK(d0->bias[0] == -0.595166445f && d0->bias[23] == -0.254391402f);
	CHECK(e0->kernel[0] == 0.524209261f && e0->kernel[24 * 96 - 1] == -0.309063822f);
	CHECK(e0->recurrent[0] == 0.0958792344f && e0->recurrent[24 * 96 - 1] == -0.563963115f);
	CHECK(e0->bias[0] == -0.704947352f && e0->bias[95] == -0.588683307f);
	CHECK(dec->recurrent[0] == 9.66319466f && dec->bias[95] == -1.01555037f);
	CHECK(met->kernel[0] == -0.000179096183f && met->kernel[33 * 11 - 1] == -0.024947403f);
	const struct layer *bn = &m->layers[1];
	CHECK(bn->gamma[0] == 0.454374373f && bn->beta[19] == -0.00466792239f);
	CHECK(bn->moving_mean[0] == 0.363714635f && bn->moving_var[0] == 0.000874088786f &&
	      bn->moving_var[19] == 0.125444934f);
	CHECK(m->layers[7].gamma[0] == 0.169137239f && m->layers[7].beta[23] == 0.030479202f);

	/* The .ini. */
	const struct model_spec *s = &m->spec;
	CHECK(s->n_metrics == 12 && s->n_timestamp == 8);
	CHECK(strcmp(s->metrics[0], "bits_per_sec_per_client") == 0 && strcmp(s->metrics[11], "granularity") == 0);
	CHECK(strcmp(s->timestamp[0], "minute") == 0 && strcmp(s->timestamp[7], "weekday_6") == 0);
	CHECK(s->avg_loss == 0.004971476081581194 && s->std_loss == 0.007315154341724864);
	CHECK(s->window_size == 16 && s->num_windows == 2);
	CHECK(s->weekday == WEEKDAY_QUIRK && s->has_score_stats == 0 && s->has_threshold_sigma == 0);
}

int main(void)
{
	struct model *m = NULL;
	struct rb_err err = {0};
	char ini[4096];
	snprintf(ini, sizeof ini, "%s", tu_shared("upstream/traffic.ini"));
	enum rb_code rc = model_load_files(&m, path_of("upstream/traffic.keras"), ini, "traffic", &err);
	CHECKF(rc == RB_OK, "%s", err.msg);
	check_traffic(m);
	model_free(m);
	model_free(NULL);

	/* By directory and name. */
	rc = model_load(&m, path_of("upstream"), "traffic", &err);
	CHECKF(rc == RB_OK, "%s", err.msg);
	check_traffic(m);
	model_free(m);

	rc = model_load(&m, path_of("upstream"), "no-such-model", &err);
	CHECKF(rc == RB_E_NOT_FOUND && m == NULL, "%d %s", rc, err.msg);
	CHECK(strstr(err.msg, "no-such-model.keras") != NULL && strstr(err.msg, "/") == NULL);

	/* Names are never paths. */
	CHECK(model_name_valid("traffic") && model_name_valid("traffic-2023-09") && model_name_valid("a.b_c"));
	const char *bad[] = {"", ".", "..", ".hidden", "../traffic", "a/b", "a b", "a\\b", "tr%00", "é",
	                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 64 */};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		CHECKF(!model_name_valid(bad[k]), "%s", bad[k]);
		rc = model_load(&m, path_of("upstream"), bad[k], &err);
		CHECKF(rc == RB_E_NOT_FOUND && m == NULL, "%s", bad[k]);
	}
	CHECK(!model_name_valid(NULL));
	CHECK(model_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 63 */

	/* Legacy whole-model HDF5 file with supported layers: loads (weights from
	 * model_weights/<name>/<name>/..., values read independently). */
	snprintf(ini, sizeof ini, "%s", tu_shared("upstream/model_test_config.ini"));
	rc = model_load_files(&m, path_of("upstream/model_test.keras"), ini, "model_test", &err);
	CHECKF(rc == RB_OK, "%s", err.msg);
	CHECK(m->n_layers == 12 && m->in_T == 32 && m->in_C == 20 && m->out_T == 32 && m->out_C == 20);
	CHECKF(m->n_weights == 4498, "%zu", m->n_weights);
	const struct layer *el = &m->layers[2], *wk = &m->layers[10];
	CHECK(el->kind == LAYER_LSTM && strcmp(el->name, "encoder_lstm_1") == 0 && el->units == 14 && el->T == 32);
	CHECK(el->kernel[0] == 0.00412916113f && el->kernel[20 * 56 - 1] == 0.0352878608f);
	CHECK(el->recurrent[0] == -8.81184959f && el->recurrent[14 * 56 - 1] == -11.4667101f);
	CHECK(el->bias[0] == 3.696491f && el->bias[55] == -1.02160883f);
	CHECK(wk->kind == LAYER_DENSE && wk->act == ACT_SOFTMAX && wk->kernel[0] == -5.0146966f &&
	      wk->kernel[14 * 7 - 1] == 4.76492786f && wk->bias[6] == -4.31369495f);
	CHECK(m->layers[1].kind == LAYER_GAUSSIAN_NOISE && m->layers[4].act == ACT_GELU);
	CHECK(m->layers[11].kind == LAYER_CONCATENATE && m->layers[11].C == 20);
	model_free(m);

	/* The 2023 legacy model has Flatten/Reshape: refused, naming the layer. */
	rc = model_load(&m, path_of("upstream"), "traffic-2023-09", &err);
	CHECKF(rc == RB_E_MODEL && m == NULL, "%d %s", rc, err.msg);
	CHECKF(strstr(err.msg, "traffic-2023-09.keras: legacy HDF5 model: config.json: layer 'encoder_flatten': "
	                       "class Flatten is not supported") != NULL, "%s", err.msg);
	return 0;
}
