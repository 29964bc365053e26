/*
 * model_load_files on damaged or mismatched copies of traffic.keras /
 * traffic.ini (written to a private temporary directory): every one is a
 * clear RB_E_MODEL (never a crash, never a half-built model), and the
 * message says what is wrong.
 */
#include <string.h>

#include "rb/model/model.h"
#include "model_fixture.h"
#include "testutil.h"

static const char *good_ini;

/* Loads keras + ini, expects failure code rc with want (and want2 when non-NULL) in the message. */
static void expect_fail(const char *keras, const char *ini, enum rb_code want_rc, const char *want,
                        const char *want2)
{
	struct model *m = (struct model *)1;
	struct rb_err err = {0};
	enum rb_code rc = model_load_files(&m, keras, ini, "t", &err);
	CHECKF(rc == want_rc && m == NULL, "rc %d (want %d): %s", rc, want_rc, err.msg);
	CHECKF(err.code == want_rc, "err.code %d", err.code);
	CHECKF(strstr(err.msg, want) != NULL, "'%s' not in: %s", want, err.msg);
	CHECKF(want2 == NULL || strstr(err.msg, want2) != NULL, "'%s' not in: %s", want2, err.msg);
	CHECKF(strstr(err.msg, fx_dir) == NULL, "message shows the directory: %s", err.msg);
	fprintf(stderr, "refused as expected: %s\n", err.msg);
}

static void expect_ok(const char *keras, const char *ini)
{
	struct model *m = NULL;
	struct rb_err err = {0};
	CHECKF(model_load_files(&m, keras, ini, "t", &err) == RB_OK, "%s", err.msg);
	model_free(m);
}

int main(void)
{
	fx_init();
	size_t len = 0, ini_len = 0;
	char keras_src[4096];
	snprintf(keras_src, sizeof keras_src, "%s", tu_shared("upstream/traffic.keras"));
	char *keras = tu_read_file(keras_src, &len);
	char *ini = tu_read_file(tu_shared("upstream/traffic.ini"), &ini_len);
	char ini_path[512];
	snprintf(ini_path, sizeof ini_path, "%s", fx_path("t.ini"));
	fx_write(ini_path, ini, ini_len);
	good_ini = ini_path;
	char k[512];
	snprintf(k, sizeof k, "%s", fx_path("t.keras"));

	/* Truncated copies: the zip's central directory is at the end. */
	size_t cuts[] = {0, 3, 4, 100, 30000, len / 2, len - 200, len - 23, len - 1};
	for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
		fx_write(k, keras, cuts[c]);
		expect_fail(k, good_ini, RB_E_MODEL, "t.keras: ", NULL);
	}
	/* A flipped byte inside model.weights.h5 (stored): the CRC check catches it. */
	char *flipped = malloc(len);
	CHECK(flipped != NULL);
	memcpy(flipped, keras, len);
	flipped[len / 2] ^= 0x40;
	fx_write(k, flipped, len);
	expect_fail(k, good_ini, RB_E_MODEL, "model.weights.h5: damaged archive entry", NULL);
	free(flipped);
	/* Truncated copies of a legacy HDF5 model (no CRC there: HDF5 sees the short file). */
	{
		size_t llen = 0;
		char *legacy = tu_read_file(tu_shared("upstream/model_test.keras"), &llen);
		char mt_ini[512];
		snprintf(mt_ini, sizeof mt_ini, "%s", fx_path("mt.ini"));
		size_t mlen = 0;
		char *mtext = tu_read_file(tu_shared("upstream/model_test_config.ini"), &mlen);
		fx_write(mt_ini, mtext, mlen);
		free(mtext);
		size_t lcuts[] = {8, 512, llen / 2, llen - 1};
		for (size_t c = 0; c < sizeof lcuts / sizeof lcuts[0]; c++) {
			fx_write(k, legacy, lcuts[c]);
			expect_fail(k, mt_ini, RB_E_MODEL, "t.keras: legacy HDF5 model: ", NULL);
		}
		fx_write(k, legacy, llen);
		expect_ok(k, mt_ini);
		free(legacy);
	}
	/* Neither zip nor HDF5. */
	fx_write(k, "hello, world\n", 13);
	expect_fail(k, good_ini, RB_E_MODEL, "not a .keras zip archive", NULL);
	/* Missing files. */
	expect_fail(fx_path("none.keras"), good_ini, RB_E_NOT_FOUND, "none.keras: no such file", NULL);
	fx_write(k, keras, len);
	expect_ok(k, good_ini);
	expect_fail(k, fx_path("none.ini"), RB_E_MODEL, "none.ini: missing", NULL);

	/* Archives rebuilt from the real members. */
	size_t cfg_len = 0, h5_len = 0;
	char *cfg = fx_unzip(keras_src, "config.json", &cfg_len);
	char *h5 = fx_unzip(keras_src, "model.weights.h5", &h5_len);
	char h5_path[512];
	snprintf(h5_path, sizeof h5_path, "%s", fx_path("w.h5"));
	fx_write(h5_path, h5, h5_len);

	fx_keras(k, cfg, h5_path); /* the rebuilt archive itself is fine */
	expect_ok(k, good_ini);
	{
		const char *names[] = {"model.weights.h5"};
		const void *data[] = {h5};
		size_t lens[] = {h5_len};
		fx_zip(k, 1, names, data, lens);
		expect_fail(k, good_ini, RB_E_MODEL, "config.json is missing", NULL);
	}
	{
		const char *names[] = {"config.json"};
		const void *data[] = {cfg};
		size_t lens[] = {cfg_len};
		fx_zip(k, 1, names, data, lens);
		expect_fail(k, good_ini, RB_E_MODEL, "model.weights.h5 is missing", NULL);
	}
	/* A truncated h5 inside a valid zip. */
	{
		const char *names[] = {"config.json", "model.weights.h5"};
		const void *data[] = {cfg, h5};
		size_t lens[] = {cfg_len, h5_len / 3};
		fx_zip(k, 2, names, data, lens);
		expect_fail(k, good_ini, RB_E_MODEL, "model.weights.h5", NULL);
		lens[1] = 0;
		fx_zip(k, 2, names, data, lens);
		expect_fail(k, good_ini, RB_E_MODEL, "model.weights.h5", NULL);
	}
	/* config.json edits. */
	char *c1 = fx_replace(cfg, "\"class_name\": \"Dense\"", "\"class_name\": \"Conv1D\"");
	fx_keras(k, c1, h5_path);
	expect_fail(k, good_ini, RB_E_MODEL, "layer 'autoencoder_0_start'", "Conv1D is not supported");
	free(c1);
	c1 = fx_replace(cfg, "\"units\": 24", "\"units\": 25");
	fx_keras(k, c1, h5_path);
	expect_fail(k, good_ini, RB_E_MODEL, "layers/dense/vars/0: kernel has shape [20, 24], the config needs [20, 25]",
	            "autoencoder_0_start");
	free(c1);
	c1 = fx_replace(cfg, "\"activation\": \"gelu\"", "\"activation\": \"selu\"");
	fx_keras(k, c1, h5_path);
	expect_fail(k, good_ini, RB_E_MODEL, "activation 'selu' is not supported", NULL);
	free(c1);
	c1 = fx_replace(cfg, "\"recurrent_activation\": \"sigmoid\"", "\"recurrent_activation\": \"hard_sigmoid\"");
	fx_keras(k, c1, h5_path);
	expect_fail(k, good_ini, RB_E_MODEL, "layer 'encoder_0' (LSTM)", "hard_sigmoid");
	free(c1);
	c1 = fx_replace(cfg, "\"use_bias\": true", "\"use_bias\": false");
	fx_keras(k, c1, h5_path);
	expect_fail(k, good_ini, RB_E_MODEL, "layers/dense/vars has 2 weights", NULL);
	free(c1);
	c1 = fx_replace(cfg, "{\"name\": \"LSTMAutoencoder\"", "{\"name\": ");
	fx_keras(k, c1, h5_path);
	expect_fail(k, good_ini, RB_E_MODEL, "config.json: invalid JSON", NULL);
	free(c1);

	/* .ini edits. */
	fx_keras(k, cfg, h5_path);
	char *i1 = fx_replace(ini, "avg_loss = 0.004971476081581194", "avg_loss = nan");
	fx_write(ini_path, i1, strlen(i1));
	expect_fail(k, ini_path, RB_E_MODEL, "t.ini:6: avg_loss", NULL);
	free(i1);
	i1 = fx_replace(ini, "num_windows = 2", "num_windows = 3");
	fx_write(ini_path, i1, strlen(i1));
	expect_fail(k, ini_path, RB_E_MODEL, "window_size*num_windows = 16*3, the model input has 32", NULL);
	free(i1);
	i1 = fx_replace(ini, ", weekday_6", "");
	fx_write(ini_path, i1, strlen(i1));
	expect_fail(k, ini_path, RB_E_MODEL, "12 metrics + 7 timestamp columns = 19, the model has 20", NULL);
	free(i1);
	i1 = fx_replace(ini, "[General]", "[General]\nfoo = 1");
	fx_write(ini_path, i1, strlen(i1));
	expect_fail(k, ini_path, RB_E_MODEL, "t.ini:6: unknown key 'foo' in [General]", NULL);
	free(i1);
	expect_fail(k, fx_dir, RB_E_MODEL, ": not a regular file", NULL);
	char *big = calloc(70000, 1);
	CHECK(big != NULL);
	memset(big, '#', 69999);
	fx_write(ini_path, big, 69999);
	expect_fail(k, ini_path, RB_E_MODEL, "t.ini: 69999 bytes (cap 65536)", NULL);
	free(big);
	fx_write(ini_path, ini, ini_len);
	expect_ok(k, ini_path);

	free(cfg);
	free(h5);
	free(ini);
	free(keras);
	fx_cleanup();
	return 0;
}
