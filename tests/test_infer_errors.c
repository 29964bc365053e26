/*
 * infer: graphs or calls neither path can run give a clear error (a code and
 * a message naming the layer), never a crash, on both paths. Also the path
 * names and the per-layer reference functions on hand-computed values.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rb/model/infer.h"
#include "infer_synth.h"
#include "rb/model/model_ref.h"
#include "testutil.h"

/* A valid small graph: input [4, 3] -> LN -> LSTM 5 (last) -> repeat 4 -> Dense 3 -> concat. */
static void valid(struct synth *s)
{
	size_t x = sy_init(s, 4, 3, 7);
	x = sy_layer_norm(s, x, 1e-3, 1, 1);
	size_t l = sy_lstm(s, x, 5, 0, 1);
	size_t r = sy_repeat(s, l, 4);
	size_t d = sy_dense(s, r, 3, ACT_RELU, 1);
	size_t in[2] = {d, 0};
	sy_finish(s, sy_concat(s, 2, in));
}

/* infer_new must fail with RB_E_MODEL, the message containing want, on every path. */
static void refused(const struct model *m, const char *want, const char *what)
{
	static const enum infer_path paths[] = {INFER_DNNL, INFER_REFERENCE, INFER_VECTOR, INFER_AUTO};
	for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
		struct rb_err err = {0};
		struct infer *inf = (struct infer *)&err; /* must be reset to NULL */
		enum rb_code rc = infer_new(&inf, m, paths[p], &err);
		CHECKF(rc == RB_E_MODEL, "%s: got code %d (%s)", what, (int)rc, err.msg);
		CHECKF(inf == NULL, "%s: handle not NULL on failure", what);
		CHECKF(strstr(err.msg, want) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, want);
	}
}

static void graph_errors(void)
{
	struct synth s;
	valid(&s);
	struct rb_err err = {0};
	struct infer *inf = NULL;
	CHECKF(infer_new(&inf, &s.m, INFER_DNNL, &err) == RB_OK, "%s", err.msg);
	float x[2 * 12], y[2 * 24];
	memset(x, 0, sizeof x);
	CHECK(infer_run(inf, x, 0, y, &err) == RB_E_INPUT);
	CHECK(infer_run(inf, x, 2, y, &err) == RB_OK);
	infer_free(inf);
	infer_free(NULL);

	struct layer *L = s.layers; /* 0 input, 1 LN, 2 LSTM, 3 repeat, 4 dense, 5 concat */
	L[2].act = ACT_RELU;
	refused(&s.m, "lstm_2: LSTM activation must be tanh", "LSTM relu");
	L[2].act = ACT_SIGMOID;
	refused(&s.m, "LSTM activation", "LSTM sigmoid");
	L[2].act = ACT_TANH;
	L[4].act = (enum activation)42;
	refused(&s.m, "dense_4: unsupported activation 42", "unknown activation");
	L[4].act = ACT_RELU;
	L[1].epsilon = 0.0;
	refused(&s.m, "layer_norm_1: epsilon", "epsilon 0");
	L[1].epsilon = NAN;
	refused(&s.m, "epsilon", "epsilon NaN");
	L[1].epsilon = 1e-3;
	L[4].units = 4;
	L[4].C = 4;
	refused(&s.m, "concatenate_5: channels 6 != sum of inputs 7", "concat channels");
	L[4].C = 3;
	refused(&s.m, "dense_4: Dense shape mismatch", "Dense units vs C");
	L[4].units = 3;
	L[4].inputs[0] = 4;
	refused(&s.m, "not before it", "self input");
	L[4].inputs[0] = 3;
	L[3].inputs[0] = 1;
	refused(&s.m, "repeat_vector_3: RepeatVector needs a [C] input", "repeat of a sequence");
	L[3].inputs[0] = 2;
	L[2].kernel = NULL;
	refused(&s.m, "LSTM without kernel", "LSTM no kernel");
	L[2].kernel = L[2].recurrent;
	L[5].kind = (enum layer_kind)77;
	refused(&s.m, "unsupported layer kind 77", "unknown kind");
	L[5].kind = LAYER_CONCATENATE;
	L[5].n_inputs = MODEL_MAX_INPUTS + 1;
	refused(&s.m, "too many inputs", "too many inputs");
	L[5].n_inputs = 2;
	L[0].kind = LAYER_DROPOUT;
	refused(&s.m, "", "no input layer");
	L[0].kind = LAYER_INPUT;
	s.m.out_C = 7;
	refused(&s.m, "output layer", "output shape");
	s.m.out_C = 6;
	s.m.output = 99;
	refused(&s.m, "out of range", "output index");
	s.m.output = 5;
	CHECKF(infer_new(&inf, &s.m, INFER_REFERENCE, &err) == RB_OK, "restored graph: %s", err.msg);
	infer_free(inf);
	CHECKF(infer_new(&inf, &s.m, INFER_AUTO, &err) == RB_OK, "%s", err.msg);
	CHECK(infer_run(inf, x, 0, y, &err) == RB_E_INPUT);
	CHECK(infer_run(inf, x, 2, y, &err) == RB_OK);
	infer_free(inf);
	CHECK(infer_new(&inf, &s.m, (enum infer_path)9, &err) == RB_E_CONFIG && inf == NULL);
	sy_free(&s);
}

/* Parses s (NUL-terminated) as a path name. */
static int parse(const char *s, enum infer_path *p)
{
	return infer_path_parse(s, s != NULL ? strlen(s) : 0, p);
}

static void names(void)
{
	enum infer_path p = INFER_REFERENCE;
	CHECK(parse("dnnl", &p) == 0 && p == INFER_DNNL);
	CHECK(parse("reference", &p) == 0 && p == INFER_REFERENCE);
	CHECK(parse("vector", &p) == 0 && p == INFER_VECTOR);
	CHECK(parse("auto", &p) == 0 && p == INFER_AUTO);
	p = INFER_REFERENCE;
	CHECK(parse("DNNL", &p) == -1 && p == INFER_REFERENCE);
	CHECK(parse("", &p) == -1);
	CHECK(parse("dnnl ", &p) == -1);
	CHECK(parse(NULL, &p) == -1);
	CHECK(infer_path_parse("dnnl", 3, &p) == -1);
	CHECK(infer_path_parse("vectorx", 6, &p) == 0 && p == INFER_VECTOR);
	CHECK(strcmp(infer_path_name(INFER_DNNL), "dnnl") == 0);
	CHECK(strcmp(infer_path_name(INFER_REFERENCE), "reference") == 0);
	CHECK(strcmp(infer_path_name(INFER_VECTOR), "vector") == 0);
	CHECK(strcmp(infer_path_name(INFER_AUTO), "auto") == 0);
	/* the table: one name per value, in enum order, then NULL; every name parses back */
	for (unsigned v = 0; v < INFER_PATH_COUNT; v++) {
		const char *name = infer_path_name((enum infer_path)v);
		CHECK(name != NULL && name == infer_path_names[v]);
		CHECKF(parse(name, &p) == 0 && p == (enum infer_path)v, "%s", name);
	}
	CHECK(infer_path_names[INFER_PATH_COUNT] == NULL);
}

#define NEAR(a, b) (fabs((a) - (b)) <= 1e-12)

/* The reference layer functions on values computed by hand. */
static void ref_layers(void)
{
	double x[4] = {1.0, -1.0, 0.0, 2.0};
	ref_activation(x, ACT_GELU, 1, 4);
	CHECK(NEAR(x[0], 0.8413447460685429) && NEAR(x[1], -0.15865525393145707) && x[2] == 0.0);
	double s[3] = {1000.0, 1001.0, 1002.0}; /* stable softmax: no overflow */
	ref_activation(s, ACT_SOFTMAX, 1, 3);
	CHECK(NEAR(s[0], 0.09003057317038046) && NEAR(s[2], 0.6652409557748219));
	double r[2] = {-3.0, 0.5};
	ref_activation(r, ACT_RELU, 1, 2);
	CHECK(r[0] == 0.0 && r[1] == 0.5);
	double g[1] = {0.0};
	ref_activation(g, ACT_SIGMOID, 1, 1);
	CHECK(g[0] == 0.5);

	const float gamma[2] = {2.0f, 1.0f}, beta[2] = {1.0f, 0.0f};
	double ln_in[2] = {1.0, 3.0}, ln_out[2];
	ref_layer_norm(ln_out, ln_in, gamma, beta, 1e-3, 1, 2); /* mean 2, var 1 */
	CHECK(NEAR(ln_out[0], -2.0 / sqrt(1.001) + 1.0) && NEAR(ln_out[1], 1.0 / sqrt(1.001)));
	const float mean[2] = {1.0f, 0.0f}, var[2] = {3.999f, 0.999f};
	double bn_out[2];
	ref_batch_norm(bn_out, ln_in, mean, var, gamma, beta, 1e-3, 1, 2);
	CHECK(NEAR(bn_out[0], 1.0) && fabs(bn_out[1] - 3.0) < 1e-6);

	/* LSTM, H = 1, D = 1, one step: z = x*k + b; c = σ(i)tanh(c̃); h = σ(o)tanh(c). */
	const float k[4] = {0.5f, -0.25f, 1.0f, 2.0f}, rk[4] = {0.125f, 0.25f, 0.375f, 0.5f};
	const float b[4] = {0.0f, 1.0f, 0.0f, -1.0f};
	double in1[1] = {1.0}, h[1], st[6];
	ref_lstm(h, st, in1, k, rk, b, 0, 1, 1, 1);
	double i1 = 1 / (1 + exp(-0.5)), c1 = i1 * tanh(1.0), o1 = 1 / (1 + exp(-1.0));
	CHECK(NEAR(h[0], o1 * tanh(c1)));
	/* second step with h feeding back through the recurrent kernel */
	double in2[2] = {1.0, 0.0}, seq[2];
	ref_lstm(seq, st, in2, k, rk, b, 1, 2, 1, 1);
	CHECK(NEAR(seq[0], h[0]));
	double h1 = h[0];
	double zi = 0.125 * h1, zf = 1.0 + 0.25 * h1, zc = 0.375 * h1, zo = -1.0 + 0.5 * h1;
	double c2 = c1 / (1 + exp(-zf)) + tanh(zc) / (1 + exp(-zi));
	CHECKF(NEAR(seq[1], tanh(c2) / (1 + exp(-zo))), "%.17g vs %.17g", seq[1], tanh(c2) / (1 + exp(-zo)));

	double rep[6];
	ref_repeat(rep, ln_in, 3, 2);
	CHECK(rep[4] == 1.0 && rep[5] == 3.0);
	const double a2[2] = {1, 2}, b1[1] = {9};
	const double *ins[2] = {a2, b1};
	size_t Cs[2] = {2, 1};
	double cat[3];
	ref_concat(cat, ins, Cs, 2, 1);
	CHECK(cat[0] == 1 && cat[1] == 2 && cat[2] == 9);
}

int main(void)
{
	graph_errors();
	names();
	ref_layers();
	return 0;
}
