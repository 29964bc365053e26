/*
 * bench_hour: the CPU a worker spends on one one-hour model request outside
 * FastCGI, in one process, stage by stage (issue 17): an urlencoded
 * /outliers body (data = urlencoded base64 of a Druid timeseries answer,
 * model = urlencoded base64 of "traffic": bench/service.sh's case deep-1h)
 * through request_fields_parse, series_parse, engine_run_model (features,
 * inference on the auto path, scoring) and response_success; then the whole
 * chain, releases included. Each stage is run on its own many times in a row
 * (its input made once by the stages before it), so a clock is read per
 * batch, not per call; the inference inside engine_run_model is also timed
 * alone (infer_run_windows on the same windows): "detect minus inference"
 * and "chain minus inference" are the parts outside the model code. Prints
 * µs per request per stage: the best (least) over rounds of the mean over a
 * batch (thread CPU time), which another process's load inflates least.
 * Not a test; no timing is asserted. Not the FastCGI edge (bench/service.sh).
 *   bench_hour BODY [rounds (default 9)] [batch (default 2000)]
 * BODY: the form body, e.g. the one bench/service.sh posts (RB_KEEP=1 keeps
 * it as body-deep-1h), or made from any Druid answer with the traffic
 * model's 11 metrics:
 *   { printf data=; base64 -w0 rows.json | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g';
 *     printf '&model=dHJhZmZpYw%%3D%%3D'; } >body
 * (rows.json e.g. from `build/bench/bench_series --dump 60`). The model is
 * upstream/traffic from the shared folder (RB_SHARED_DIR or the built-in
 * default).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "rb/answer/response.h"
#include "rb/detect/engine.h"
#include "rb/detect/features.h"
#include "rb/input/series.h"
#include "rb/model/infer.h"
#include "rb/model/model.h"

#include "fcgi/b64.c"
#include "fcgi/config.c"
#include "fcgi/form.c"
#include "fcgi/log.c"
#include "fcgi/names.c"
#include "fcgi/request_fields.c"
#include "fcgi/strnum.c"

/* This thread's CPU time in µs. */
static double thread_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* The whole file at path, NUL-terminated; exits on failure (a benchmark). */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "bench_hour: cannot open %s\n", path);
		exit(1);
	}
	size_t cap = 1 << 16, n = 0;
	char *p = malloc(cap);
	for (;;) {
		if (p == NULL) {
			fprintf(stderr, "bench_hour: out of memory\n");
			exit(1);
		}
		n += fread(p + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		cap *= 2;
		p = realloc(p, cap);
	}
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

static void die(const char *what, const struct rb_err *err)
{
	fprintf(stderr, "bench_hour: %s: %s\n", what, err->msg);
	exit(1);
}

enum { ST_EDGE, ST_PARSE, ST_DETECT, ST_INFER, ST_RENDER, ST_CHAIN, ST_N };
static const char *const st_names[ST_N] = {
	"request_fields_parse (form, %, base64)", "series_parse", "engine_run_model (all)",
	"  of which inference (infer_run_windows)", "response_success",
	"whole chain (one request after another)"};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_hour BODY [rounds] [batch]\n");
		return 2;
	}
	size_t rounds = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 9;
	size_t batch = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 2000;
	if (rounds == 0 || batch == 0)
		return 2;
	size_t blen;
	char *body = read_file(argv[1], &blen);
	struct rb_err err = {0};
	const char *env = getenv("RB_SHARED_DIR");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/upstream", env != NULL ? env : RB_SHARED_DIR_DEFAULT);
	struct model *m = NULL;
	struct infer *inf = NULL;
	if (model_load(&m, dir, "traffic", &err) != RB_OK)
		die("model_load", &err);
	if (infer_new(&inf, m, INFER_AUTO, &err) != RB_OK)
		die("infer_new", &err);

	struct form_limits lim;
	form_limits_default(&lim);
	struct series_limits slim = {0};
	slim.max_bytes = (size_t)16 << 20;
	/* the inputs of each stage, made once */
	struct rb_request rq;
	memset(&rq, 0, sizeof rq);
	if (request_fields_parse(NULL, body, blen, &lim, lim.max_body, &rq, &err) != RB_OK)
		die("request_fields_parse", &err);
	struct series *s = NULL;
	if (series_parse(&s, rq.data, rq.data_len, &slim, &err) != RB_OK)
		die("series_parse", &err);
	struct detection det;
	if (engine_run_model(inf, m, s, "bytes", &det, &err) != RB_OK)
		die("engine_run_model", &err);
	char *answer = response_success(s, &det);
	if (answer == NULL)
		return 1;
	size_t answer_len = strlen(answer);
	free(answer);
	/* the windows engine_reconstruct runs, for the inference alone */
	size_t T = m->spec.window_size * m->spec.num_windows, C = m->in_C, n = s->n;
	size_t nw = features_window_count(n, T, m->spec.window_size);
	struct features f;
	if (features_build(&f, s, &m->spec, &err) != RB_OK)
		die("features_build", &err);
	float *frows = malloc(n * C * sizeof *frows);
	float *fout = malloc(nw * T * C * sizeof *fout);
	size_t *starts = malloc(nw * sizeof *starts);
	features_slice(&f, 0, n, frows);
	for (size_t w = 0; w < nw; w++)
		starts[w] = features_window_start(n, T, m->spec.window_size, w);

	double *per = malloc(rounds * ST_N * sizeof *per);
	for (size_t r = 0; r < rounds; r++) {
		for (int st = 0; st < ST_N; st++) {
			double t0 = thread_us();
			for (size_t k = 0; k < batch; k++) {
				int ok = 1;
				switch (st) {
				case ST_EDGE: {
					struct rb_request q;
					memset(&q, 0, sizeof q);
					ok = request_fields_parse(NULL, body, blen, &lim, lim.max_body, &q,
					                          &err) == RB_OK;
					request_fields_release(&q);
					break;
				}
				case ST_PARSE: {
					struct series *x = NULL;
					ok = series_parse(&x, rq.data, rq.data_len, &slim, &err) == RB_OK;
					series_free(x);
					break;
				}
				case ST_DETECT: {
					struct detection d;
					ok = engine_run_model(inf, m, s, "bytes", &d, &err) == RB_OK;
					detection_release(&d);
					break;
				}
				case ST_INFER:
					ok = infer_run_windows(inf, frows, n, starts, nw, fout, &err) == RB_OK;
					break;
				case ST_RENDER: {
					char *a = response_success(s, &det);
					ok = a != NULL;
					free(a);
					break;
				}
				case ST_CHAIN: {
					struct rb_request q;
					memset(&q, 0, sizeof q);
					struct series *x = NULL;
					struct detection d;
					memset(&d, 0, sizeof d);
					char *a = NULL;
					ok = request_fields_parse(NULL, body, blen, &lim, lim.max_body, &q,
					                          &err) == RB_OK &&
					     series_parse(&x, q.data, q.data_len, &slim, &err) == RB_OK &&
					     engine_run_model(inf, m, x, "bytes", &d, &err) == RB_OK &&
					     (a = response_success(x, &d)) != NULL;
					free(a);
					detection_release(&d);
					series_free(x);
					request_fields_release(&q);
					break;
				}
				default:
					break;
				}
				if (!ok)
					die(st_names[st], &err);
			}
			per[r * ST_N + (size_t)st] = (thread_us() - t0) / (double)batch;
		}
	}
	printf("one-hour model request, in process: body %zu bytes, %zu rows x %zu columns, %zu "
	       "windows, answer %zu bytes; %zu rounds of %zu\n\n",
	       blen, s->n, s->ncols, nw, answer_len, rounds, batch);
	printf("| stage | µs per request (best of rounds) |\n|---|---:|\n");
	double best[ST_N];
	for (int st = 0; st < ST_N; st++) {
		best[st] = per[(size_t)st];
		for (size_t r = 1; r < rounds; r++)
			if (per[r * ST_N + (size_t)st] < best[st])
				best[st] = per[r * ST_N + (size_t)st];
		printf("| %s | %.2f |\n", st_names[st], best[st]);
	}
	printf("| detect minus inference | %.2f |\n", best[ST_DETECT] - best[ST_INFER]);
	printf("| chain minus inference | %.2f |\n", best[ST_CHAIN] - best[ST_INFER]);
	free(per);
	free(starts);
	free(fout);
	free(frows);
	features_release(&f);
	detection_release(&det);
	series_free(s);
	request_fields_release(&rq);
	infer_free(inf);
	model_free(m);
	free(body);
	return 0;
}
