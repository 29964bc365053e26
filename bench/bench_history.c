/*
 * bench_history: the CPU cost, phase by phase, of what a worker does for a
 * request with a Druid query and history (fcgi/app.c handle_outliers minus the
 * form and FastCGI edges): prepare the query with history, fetch it from a
 * Druid broker (in practice tests/emulator/rb-druid-emulator on loopback),
 * parse the answer, run a model-free detector, drop the history rows, build
 * the JSON answer, release. Every phase is timed with this process's CPU
 * clock and counted in minor page faults (getrusage), per request; the table
 * gives the median and mean over the runs (after a few warm-up requests, as
 * in a long-lived worker). The Druid server's own CPU is not in the figures.
 * The allocator is set up as a worker sets it (fcgi/worker.c: mallopt
 * M_MMAP_THRESHOLD 8 MiB, M_TRIM_THRESHOLD 16 MiB; the same numbers here), or
 * left at glibc's defaults with RB_BENCH_MALLOC=glibc in the environment.
 *
 * Usage: bench_history URL QUERY.json [runs (default 200)] [detector (default "default")]
 *        [history ISO-8601 period (default P7D)]
 * e.g.   bench_history http://127.0.0.1:PORT/druid/v2/ \
 *            tests/data/druid/seed_readme_pt1m.query.json 200 novelty
 * A measurement, not a test: exits 1 only when a request fails.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/resource.h>

#include "bench_util.h"
#include "rb/answer/response.h"
#include "rb/detect/detection.h"
#include "rb/detect/detector.h"
#include "rb/druid/druid_client.h"
#include "rb/druid/druid_query.h"
#include "rb/input/period.h"
#include "rb/input/series.h"

enum { PH_PREPARE, PH_FETCH, PH_PARSE, PH_DETECT, PH_TRIM, PH_ANSWER, PH_FREE, PH_N };
static const char *const phase_name[PH_N] = {"prepare query", "fetch (curl)", "parse series",
                                             "detect",        "trim history", "answer JSON",
                                             "free"};

static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *p = malloc(cap);
	size_t got;
	while (p != NULL && (got = fread(p + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			p = realloc(p, cap);
		}
	}
	fclose(f);
	if (p != NULL)
		p[n < cap ? n : cap - 1] = '\0';
	*len = n;
	return p;
}

struct sample {
	double us[PH_N];
	long flt[PH_N];
};

/* One request, phase by phase, into *sm; 0 on success. */
static int one_request(struct druid *d, const char *q, size_t qlen, int64_t history_ms,
                       const char *detector, struct sample *sm, size_t *rows, size_t *hrows)
{
	struct rb_err err = {0};
	struct druid_history h;
	memset(&h, 0, sizeof h);
	char *body = NULL, *answer = NULL, *json = NULL;
	size_t body_len = 0, answer_len = 0;
	struct series *s = NULL;
	struct detection det;
	memset(&det, 0, sizeof det);
	int ok = 0;
	double t0 = bench_cpu_us();
	long f0 = minflt();
#define MARK(ph)                                 \
	do {                                     \
		double t1_ = bench_cpu_us();     \
		long f1_ = minflt();             \
		sm->us[ph] = t1_ - t0;           \
		sm->flt[ph] = f1_ - f0;          \
		t0 = bench_cpu_us();             \
		f0 = minflt();                   \
	} while (0)
	if (druid_query_prepare_history(q, qlen, NULL, 0, history_ms, 20160, &h, &body, &body_len,
	                                &err) != RB_OK)
		goto done;
	MARK(PH_PREPARE);
	enum rb_code rc = druid_query(d, body, body_len, &answer, &answer_len, &err);
	free(body);
	body = NULL;
	if (rc != RB_OK)
		goto done;
	MARK(PH_FETCH);
	if (series_parse(&s, answer, answer_len, NULL, &err) != RB_OK)
		goto done;
	MARK(PH_PARSE);
	struct detector_opts o = {detector, NULL, "bytes", NAN};
	if (detector_run(s, &o, &det, &err) != RB_OK)
		goto done;
	MARK(PH_DETECT);
	*rows = s->n;
	size_t k = druid_history_rows_before(&h, s->t, s->n);
	series_drop_head(s, k);
	detection_drop_head(&det, k);
	det.has_history = 1;
	det.history_rows = k;
	*hrows = k;
	MARK(PH_TRIM);
	json = response_success(s, &det);
	if (json == NULL)
		goto done;
	MARK(PH_ANSWER);
	ok = 1;
done:
	if (!ok)
		fprintf(stderr, "bench_history: %s\n", err.msg[0] != '\0' ? err.msg : "failed");
	free(json);
	detection_release(&det);
	series_free(s);
	free(answer);
	free(body);
	MARK(PH_FREE);
#undef MARK
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_history URL QUERY.json [runs] [detector] [history]\n");
		return 2;
	}
	const char *alloc = getenv("RB_BENCH_MALLOC");
	int worker_malloc = alloc == NULL || strcmp(alloc, "glibc") != 0;
#ifdef __GLIBC__
	if (worker_malloc) {
		mallopt(M_MMAP_THRESHOLD, 8 << 20); /* fcgi/worker.c WORKER_MMAP_BYTES */
		mallopt(M_TRIM_THRESHOLD, 16 << 20); /* fcgi/worker.c WORKER_KEEP_BYTES */
	}
#endif
	int runs = bench_runs_arg(argc - 2, argv + 2, 200, "bench_history URL QUERY.json");
	const char *detector = argc > 4 ? argv[4] : "default";
	const char *period = argc > 5 ? argv[5] : "P7D";
	int64_t history_ms = 0;
	struct rb_err err = {0};
	if (period_parse_ms(period, strlen(period), &history_ms, &err) != RB_OK) {
		fprintf(stderr, "bench_history: history %s: %s\n", period, err.msg);
		return 2;
	}
	size_t qlen;
	char *q = read_file(argv[2], &qlen);
	if (q == NULL) {
		fprintf(stderr, "bench_history: cannot read %s\n", argv[2]);
		return 2;
	}
	struct druid *d = NULL;
	if (druid_global_init(&err) != RB_OK ||
	    druid_new(&d, &(struct druid_opts){argv[1], 0, 0, 0, NULL}, &err) != RB_OK) {
		fprintf(stderr, "bench_history: %s\n", err.msg);
		return 2;
	}
	struct sample *sm = calloc((size_t)runs, sizeof *sm);
	double *v = malloc((size_t)runs * sizeof *v);
	size_t rows = 0, hrows = 0;
	struct sample warm;
	for (int i = 0; i < 5; i++)
		if (one_request(d, q, qlen, history_ms, detector, &warm, &rows, &hrows) != 0)
			return 1;
	for (int i = 0; i < runs; i++)
		if (one_request(d, q, qlen, history_ms, detector, &sm[i], &rows, &hrows) != 0)
			return 1;
	printf("%s, detector %s, history %s: %zu rows (%zu history), %d requests after 5 warm-up, "
	       "malloc %s\n\n",
	       argv[2], detector, period, rows, hrows, runs,
	       worker_malloc ? "as a worker sets it" : "glibc defaults");
	printf("| phase | median µs | mean µs | minor faults/req |\n|---|---|---|---|\n");
	for (int ph = 0; ph <= PH_N; ph++) {
		double mean = 0, fl = 0;
		for (int i = 0; i < runs; i++) {
			double x = 0;
			long f = 0;
			for (int p = 0; p < PH_N; p++)
				if (p == ph || ph == PH_N) {
					x += sm[i].us[p];
					f += sm[i].flt[p];
				}
			v[i] = x;
			mean += x;
			fl += (double)f;
		}
		mean /= runs;
		fl /= runs;
		double med = bench_median(v, (size_t)runs);
		printf("| %s | %.0f | %.0f | %.1f |\n", ph < PH_N ? phase_name[ph] : "**total**", med,
		       mean, fl);
	}
	free(v);
	free(sm);
	free(q);
	druid_free(d);
	druid_global_cleanup();
	return 0;
}
