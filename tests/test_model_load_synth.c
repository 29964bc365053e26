/*
 * model_load_files on small models built here (config.json text + an HDF5
 * file written with chosen dataset types, zipped): float16 and float64
 * weights are converted exactly, use_bias=false gives a zero bias inside
 * the one allocation, center=false gives a NULL beta, the Keras 3 config
 * form and a legacy whole-model HDF5 file load the same graph, and wrong shapes, extra or missing datasets,
 * integer datasets and non-finite or negative-variance weights are clear
 * errors naming the dataset.
 */
#include <math.h>
#include <string.h>

#include "rb/model/model.h"
#include "model_fixture.h"
#include "testutil.h"

/* Input [4,3] -> Dense d1 (2, relu, no bias) -> LSTM l1 (2, sequences) -> LayerNorm ln (no center)
 * -> BatchNorm bn -> Dense out (3). Groups: dense, lstm, layer_normalization, batch_normalization, dense_1. */
static const char *config_k2 =
	"{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
	"{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"batch_input_shape\": [null, 4, 3], \"name\": \"in\"}, \"inbound_nodes\": []},"
	"{\"class_name\": \"Dense\", \"name\": \"d1\", \"config\": {\"units\": DUNITS, \"activation\": \"relu\", \"use_bias\": false}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
	"{\"class_name\": \"LSTM\", \"name\": \"l1\", \"config\": {\"units\": 2, \"return_sequences\": true, \"activation\": \"tanh\", \"recurrent_activation\": \"sigmoid\"}, \"inbound_nodes\": [[[\"d1\", 0, 0, {}]]]},"
	"{\"class_name\": \"LayerNormalization\", \"name\": \"ln\", \"config\": {\"axis\": -1, \"center\": false, \"epsilon\": 0.01}, \"inbound_nodes\": [[[\"l1\", 0, 0, {}]]]},"
	"{\"class_name\": \"BatchNormalization\", \"name\": \"bn\", \"config\": {\"axis\": [2]}, \"inbound_nodes\": [[[\"ln\", 0, 0, {}]]]},"
	"{\"class_name\": \"Dense\", \"name\": \"out\", \"config\": {\"units\": 3}, \"inbound_nodes\": [[[\"bn\", 0, 0, {}]]]}],"
	"\"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"out\", 0, 0]]}}";

/* The same graph as Keras 3 writes it. */
static const char *config_k3 =
	"{\"module\": \"keras\", \"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"trainable\": true, \"layers\": ["
	"{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 3], \"dtype\": \"float32\", \"sparse\": false, \"name\": \"in\"}, \"registered_name\": null, \"name\": \"in\", \"inbound_nodes\": []},"
	"{\"class_name\": \"Dense\", \"name\": \"d1\", \"config\": {\"name\": \"d1\", \"units\": 2, \"activation\": \"relu\", \"use_bias\": false, \"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": \"mixed_float16\"}}}, \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 4, 3], \"dtype\": \"float32\", \"keras_history\": [\"in\", 0, 0]}}], \"kwargs\": {}}]},"
	"{\"class_name\": \"LSTM\", \"name\": \"l1\", \"config\": {\"units\": 2, \"return_sequences\": true}, \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"d1\", 0, 0]}}], \"kwargs\": {\"training\": false, \"mask\": null}}]},"
	"{\"class_name\": \"LayerNormalization\", \"name\": \"ln\", \"config\": {\"axis\": -1, \"center\": false, \"epsilon\": 0.01}, \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"l1\", 0, 0]}}], \"kwargs\": {}}]},"
	"{\"class_name\": \"BatchNormalization\", \"name\": \"bn\", \"config\": {\"axis\": -1}, \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"ln\", 0, 0]}}], \"kwargs\": {}}]},"
	"{\"class_name\": \"Dense\", \"name\": \"out\", \"config\": {\"units\": 3, \"activation\": \"linear\"}, \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"bn\", 0, 0]}}], \"kwargs\": {}}]}],"
	"\"input_layers\": [\"in\", 0, 0], \"output_layers\": [\"out\", 0, 0]}}";

static const char *ini_text =
	"[Columns]\nmetrics = a, b\ntimestamp = minute\n\n[General]\navg_loss = 0.5\nstd_loss = 0.25\n"
	"window_size = 2\nnum_windows = 2\n";

/* Exactly representable in float16. */
static const float d1_kernel[6] = {0.5f, -1.25f, 2.0f, 0.125f, -0.75f, 3.0f};
static float l1_kernel[16], l1_rec[16], l1_bias[8];
static const float ln_gamma[2] = {1.5f, 0.25f};
static const float bn_gamma[2] = {1, 2}, bn_beta[2] = {3, 4}, bn_mean[2] = {5, 6}, bn_var[2] = {7, 8};
static const float out_kernel[6] = {1, 2, 3, 4, 5, 6}, out_bias[3] = {-1, -2, -3};
static float bad[16];

enum variant { V_GOOD, V_EXTRA_BIAS, V_NO_LSTM, V_INT_KERNEL, V_NAN, V_NEG_VAR, V_BIAS_SHAPE, V_DROPOUT_VARS };

static void build_h5(const char *path, enum variant v)
{
	hid_t half = fx_h5_half();
	struct fx_var vars[16];
	size_t n = 0;
	vars[n++] = (struct fx_var){"layers/input_layer/vars", 0, 0, {0, 0}, NULL};
	vars[n++] = (struct fx_var){"layers/dense/vars/0", v == V_INT_KERNEL ? H5T_STD_I32LE : half, 2, {3, 2}, d1_kernel};
	if (v == V_EXTRA_BIAS)
		vars[n++] = (struct fx_var){"layers/dense/vars/1", H5T_IEEE_F32LE, 1, {2, 0}, out_bias};
	if (v != V_NO_LSTM) {
		vars[n++] = (struct fx_var){"layers/lstm/vars", 0, 0, {0, 0}, NULL};
		vars[n++] = (struct fx_var){"layers/lstm/cell/vars/0", H5T_IEEE_F32LE, 2, {2, 8},
		                            v == V_NAN ? bad : l1_kernel};
		vars[n++] = (struct fx_var){"layers/lstm/cell/vars/1", H5T_IEEE_F32LE, 2, {2, 8}, l1_rec};
		vars[n++] = (struct fx_var){"layers/lstm/cell/vars/2", H5T_IEEE_F32LE, 1, {8, 0}, l1_bias};
	}
	vars[n++] = (struct fx_var){"layers/layer_normalization/vars/0", H5T_IEEE_F64LE, 1, {2, 0}, ln_gamma};
	vars[n++] = (struct fx_var){"layers/batch_normalization/vars/0", H5T_IEEE_F32LE, 1, {2, 0}, bn_gamma};
	vars[n++] = (struct fx_var){"layers/batch_normalization/vars/1", H5T_IEEE_F32LE, 1, {2, 0}, bn_beta};
	vars[n++] = (struct fx_var){"layers/batch_normalization/vars/2", H5T_IEEE_F32LE, 1, {2, 0}, bn_mean};
	vars[n++] = (struct fx_var){"layers/batch_normalization/vars/3", H5T_IEEE_F32LE, 1, {2, 0},
	                            v == V_NEG_VAR ? bad + 8 : bn_var};
	vars[n++] = (struct fx_var){"layers/dense_1/vars/0", H5T_IEEE_F32LE, 2, {2, 3}, out_kernel};
	vars[n++] = (struct fx_var){"layers/dense_1/vars/1", H5T_IEEE_F32LE, 1, {v == V_BIAS_SHAPE ? 2u : 3u, 0},
	                            out_bias};
	fx_h5(path, vars, n);
	H5Tclose(half);
}

/* Writes a legacy whole-model file: model_config on the root, weight_names per layer group. */
static void set_names(hid_t f, const char *group, const char *const *names, size_t n)
{
	hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
	CHECK(H5Pset_create_intermediate_group(lcpl, 1) >= 0);
	hid_t g = H5Gcreate2(f, group, lcpl, H5P_DEFAULT, H5P_DEFAULT);
	CHECK(g >= 0);
	hsize_t dims[1] = {n};
	hid_t sp = H5Screate_simple(1, dims, NULL);
	if (n == 0) { /* what h5py writes for a layer without weights: an empty float array */
		hid_t a = H5Acreate2(g, "weight_names", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
		CHECK(a >= 0);
		H5Aclose(a);
	} else {
		char buf[4][64];
		memset(buf, 0, sizeof buf);
		for (size_t k = 0; k < n; k++)
			snprintf(buf[k], sizeof buf[k], "%s", names[k]);
		hid_t t = H5Tcopy(H5T_C_S1);
		H5Tset_size(t, 64);
		hid_t a = H5Acreate2(g, "weight_names", t, sp, H5P_DEFAULT, H5P_DEFAULT);
		CHECK(a >= 0 && H5Awrite(a, t, buf) >= 0);
		H5Aclose(a);
		H5Tclose(t);
	}
	H5Sclose(sp);
	H5Gclose(g);
	H5Pclose(lcpl);
}

static void put(hid_t f, const char *path, int rank, hsize_t d0, hsize_t d1, const float *data)
{
	hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
	CHECK(H5Pset_create_intermediate_group(lcpl, 1) >= 0);
	hsize_t dims[2] = {d0, d1};
	hid_t sp = H5Screate_simple(rank, dims, NULL);
	hid_t d = H5Dcreate2(f, path, H5T_IEEE_F32LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
	CHECK(d >= 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
	H5Dclose(d);
	H5Sclose(sp);
	H5Pclose(lcpl);
}

static void build_legacy(const char *path, const char *config, int swap_lstm)
{
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	CHECK(f >= 0);
	hid_t vt = H5Tcopy(H5T_C_S1);
	H5Tset_size(vt, H5T_VARIABLE);
	hid_t sc = H5Screate(H5S_SCALAR);
	hid_t a = H5Acreate2(f, "model_config", vt, sc, H5P_DEFAULT, H5P_DEFAULT);
	CHECK(a >= 0 && H5Awrite(a, vt, &config) >= 0);
	H5Aclose(a);
	H5Sclose(sc);
	H5Tclose(vt);
	set_names(f, "model_weights/in", NULL, 0);
	const char *d1[] = {"d1/kernel:0"};
	set_names(f, "model_weights/d1", d1, 1);
	put(f, "model_weights/d1/d1/kernel:0", 2, 3, 2, d1_kernel);
	const char *l1[] = {"l1/lstm_cell/kernel:0", "l1/lstm_cell/recurrent_kernel:0", "l1/lstm_cell/bias:0"};
	const char *l1s[] = {"l1/lstm_cell/recurrent_kernel:0", "l1/lstm_cell/kernel:0", "l1/lstm_cell/bias:0"};
	set_names(f, "model_weights/l1", swap_lstm ? l1s : l1, 3);
	put(f, "model_weights/l1/l1/lstm_cell/kernel:0", 2, 2, 8, l1_kernel);
	put(f, "model_weights/l1/l1/lstm_cell/recurrent_kernel:0", 2, 2, 8, l1_rec);
	put(f, "model_weights/l1/l1/lstm_cell/bias:0", 1, 8, 0, l1_bias);
	const char *ln[] = {"ln/gamma:0"};
	set_names(f, "model_weights/ln", ln, 1);
	put(f, "model_weights/ln/ln/gamma:0", 1, 2, 0, ln_gamma);
	const char *bn[] = {"bn/gamma:0", "bn/beta:0", "bn/moving_mean:0", "bn/moving_variance:0"};
	set_names(f, "model_weights/bn", bn, 4);
	put(f, "model_weights/bn/bn/gamma:0", 1, 2, 0, bn_gamma);
	put(f, "model_weights/bn/bn/beta:0", 1, 2, 0, bn_beta);
	put(f, "model_weights/bn/bn/moving_mean:0", 1, 2, 0, bn_mean);
	put(f, "model_weights/bn/bn/moving_variance:0", 1, 2, 0, bn_var);
	const char *out[] = {"out/kernel:0", "out/bias:0"};
	set_names(f, "model_weights/out", out, 2);
	put(f, "model_weights/out/out/kernel:0", 2, 2, 3, out_kernel);
	put(f, "model_weights/out/out/bias:0", 1, 3, 0, out_bias);
	CHECK(H5Fclose(f) >= 0);
}

static void check_model(const struct model *m)
{
	CHECK(m->n_layers == 6 && m->in_T == 4 && m->in_C == 3 && m->out_T == 4 && m->out_C == 3 && m->output == 5);
	const struct layer *d1 = &m->layers[1], *l1 = &m->layers[2], *ln = &m->layers[3], *bn = &m->layers[4],
	                   *out = &m->layers[5];
	CHECK(d1->kind == LAYER_DENSE && d1->act == ACT_RELU && d1->T == 4 && d1->C == 2);
	CHECK(memcmp(d1->kernel, d1_kernel, sizeof d1_kernel) == 0);
	CHECK(d1->bias != NULL && d1->bias[0] == 0.0f && d1->bias[1] == 0.0f); /* use_bias=false */
	CHECK(l1->kind == LAYER_LSTM && l1->return_sequences && l1->T == 4 && l1->C == 2);
	CHECK(memcmp(l1->kernel, l1_kernel, sizeof l1_kernel) == 0 && memcmp(l1->recurrent, l1_rec, sizeof l1_rec) == 0 &&
	      memcmp(l1->bias, l1_bias, sizeof l1_bias) == 0);
	CHECK(ln->kind == LAYER_LAYER_NORM && ln->epsilon == 0.01 && ln->beta == NULL);
	CHECK(ln->gamma[0] == 1.5f && ln->gamma[1] == 0.25f); /* from float64 */
	CHECK(bn->kind == LAYER_BATCH_NORM && bn->epsilon == 1e-3 && bn->gamma[1] == 2 && bn->beta[1] == 4 &&
	      bn->moving_mean[1] == 6 && bn->moving_var[1] == 8);
	CHECK(out->act == ACT_LINEAR && out->kernel[5] == 6 && out->bias[2] == -3);
	/* 6 + 2 (zero bias) + 16 + 16 + 8 + 2 + 8 + 6 + 3 */
	CHECKF(m->n_weights == 67, "%zu", m->n_weights);
	CHECK(d1->kernel == m->weights);
}

static void expect_fail(const char *keras, const char *ini, const char *want)
{
	struct model *m = (struct model *)1;
	struct rb_err err = {0};
	enum rb_code rc = model_load_files(&m, keras, ini, "s", &err);
	CHECKF(rc == RB_E_MODEL && m == NULL, "rc %d: %s", rc, err.msg);
	CHECKF(strstr(err.msg, want) != NULL, "'%s' not in: %s", want, err.msg);
	fprintf(stderr, "refused as expected: %s\n", err.msg);
}

int main(void)
{
	fx_init();
	for (int k = 0; k < 16; k++) {
		l1_kernel[k] = 0.01f * (float)k;
		l1_rec[k] = -0.02f * (float)k;
		bad[k] = -1.0f;
	}
	for (int k = 0; k < 8; k++)
		l1_bias[k] = 1.0f + (float)k;
	bad[3] = NAN;

	char ini[512], h5[512], keras[512];
	snprintf(ini, sizeof ini, "%s", fx_path("s.ini"));
	snprintf(h5, sizeof h5, "%s", fx_path("w.h5"));
	snprintf(keras, sizeof keras, "%s", fx_path("s.keras"));
	fx_write(ini, ini_text, strlen(ini_text));

	char *k2 = fx_replace(config_k2, "DUNITS", "2");
	build_h5(h5, V_GOOD);
	{ /* the premise: d1's kernel really is stored as 2-byte floats */
		hid_t f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
		hid_t d = H5Dopen2(f, "layers/dense/vars/0", H5P_DEFAULT);
		hid_t t = H5Dget_type(d);
		CHECK(H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == 2);
		H5Tclose(t);
		H5Dclose(d);
		H5Fclose(f);
	}
	fx_keras(keras, k2, h5);
	struct model *m = NULL;
	struct rb_err err = {0};
	CHECKF(model_load_files(&m, keras, ini, "s", &err) == RB_OK, "%s", err.msg);
	check_model(m);
	model_free(m);

	fx_keras(keras, config_k3, h5);
	CHECKF(model_load_files(&m, keras, ini, "s", &err) == RB_OK, "%s", err.msg);
	check_model(m);
	model_free(m);

	char *k2w = fx_replace(config_k2, "DUNITS", "3");
	fx_keras(keras, k2w, h5);
	expect_fail(keras, ini, "layer 'd1': layers/dense/vars/0: kernel has shape [3, 2], the config needs [3, 3]");
	free(k2w);

	static const struct {
		enum variant v;
		const char *want;
	} cases[] = {
		{V_EXTRA_BIAS, "layers/dense/vars has 2 weights, layer 'd1' needs 1"},
		{V_NO_LSTM, "layers/lstm/cell/vars is missing (weights of layer 'l1')"},
		{V_INT_KERNEL, "layers/dense/vars/0: kernel is not a floating-point array"},
		{V_NAN, "layer 'l1': layers/lstm/cell/vars/0: kernel element 3 is not finite"},
		{V_NEG_VAR, "layer 'bn': moving_variance[0] is negative"},
		{V_BIAS_SHAPE, "layers/dense_1/vars/1: bias has shape [2], the config needs [3]"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		build_h5(h5, cases[c].v);
		fx_keras(keras, k2, h5);
		expect_fail(keras, ini, cases[c].want);
	}
	/* A weightless layer must not have weights in the file. */
	{
		float one = 1.0f;
		struct fx_var vars[] = {{"layers/input_layer/vars/0", H5T_IEEE_F32LE, 1, {1, 0}, &one}};
		fx_h5(h5, vars, 1);
		fx_keras(keras, k2, h5);
		expect_fail(keras, ini, "layers/input_layer/vars has 1 weights, layer 'in' has none");
	}
	/* The same model as a legacy whole-model HDF5 file (fixed-length weight_names). */
	char legacy[512];
	snprintf(legacy, sizeof legacy, "%s", fx_path("legacy.keras"));
	build_legacy(legacy, k2, 0);
	CHECKF(model_load_files(&m, legacy, ini, "s", &err) == RB_OK, "%s", err.msg);
	check_model(m);
	model_free(m);
	build_legacy(legacy, k2, 1);
	expect_fail(legacy, ini, "layer 'l1': model_weights/l1/l1/lstm_cell/recurrent_kernel:0 is not the expected kernel");
	free(k2);
	fx_cleanup();
	return 0;
}
