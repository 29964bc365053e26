/*
 * infer: path dispatch for running a model (see infer.h). Validates the graph
 * once (model_ref_check), then forwards to the oneDNN path (model_dnnl.c), to
 * the float32 vector path (model_vec.c), to both by chunk size (auto: by the
 * model's plan, measured here in a probe child, or by the static rule), or to
 * the double-precision reference (model_ref.c), converting float32 in and out
 * in bounded chunks. No numerics of its own, no oneDNN calls.
 */
#include "rb/model/infer.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model_dnnl.h"
#include "model_vec.h"
#include "rb/base/assert.h"
#include "rb/base/name_table.h"
#include "rb/model/model_ref.h"

/* Samples converted to double per reference call; bounds its scratch. */
#define REF_CHUNK 16


struct infer {
	enum infer_path path;
	const struct model *m;          /* borrowed */
	struct model_dnnl *dnnl;        /* INFER_DNNL, INFER_AUTO */
	struct model_vec *vec;          /* INFER_VECTOR, INFER_AUTO */
	double *din, *dout;             /* INFER_REFERENCE: REF_CHUNK samples each */
	float *windows;                 /* infer_run_windows off the vector path: INFER_PLAN_MAX samples */
	size_t in_n, out_n;             /* floats per sample */
};

const char *const infer_path_names[INFER_PATH_COUNT + 1] = {
	[INFER_AUTO] = "auto",
	[INFER_DNNL] = "dnnl",
	[INFER_VECTOR] = "vector",
	[INFER_REFERENCE] = "reference",
	[INFER_PATH_COUNT] = NULL,
};

int infer_path_parse(const char *s, size_t len, enum infer_path *out)
{
	long k = name_table_find(infer_path_names, INFER_PATH_COUNT, s, len);
	if (k < 0)
		return -1;
	*out = (enum infer_path)k;
	return 0;
}

const char *infer_path_name(enum infer_path path)
{
	RB_ASSERT((unsigned)path < INFER_PATH_COUNT);
	return infer_path_names[path];
}

const size_t infer_plan_sizes[INFER_PLAN_SIZES] = {1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32, 48, 64};

/* The path INFER_AUTO runs a chunk of B samples on (B <= INFER_PLAN_MAX with a plan). */
static enum infer_path auto_path(const struct model *m, size_t B)
{
	if (m->plan == NULL)
		return B <= INFER_AUTO_VECTOR_MAX ? INFER_VECTOR : INFER_DNNL;
	return (enum infer_path)m->plan->path[B < INFER_PLAN_MAX ? B : INFER_PLAN_MAX];
}

/* 1 when INFER_AUTO may run some chunk size on path p. */
static int auto_uses(const struct model *m, enum infer_path p)
{
	if (m->plan == NULL)
		return 1;
	for (size_t B = 1; B <= INFER_PLAN_MAX; B++)
		if (m->plan->path[B] == p)
			return 1;
	return 0;
}

enum rb_code infer_new(struct infer **out, const struct model *m, enum infer_path path,
                       struct rb_err *err)
{
	RB_ASSERT(out != NULL);
	*out = NULL;
	if ((unsigned)path >= INFER_PATH_COUNT)
		return rb_err_set(err, RB_E_CONFIG, "unknown inference path %d", (int)path);
	enum rb_code rc = model_ref_check(m, err);
	if (rc != RB_OK) {
		rb_err_prefix(err, "model %s", m != NULL ? m->name : "(null)");
		return rc;
	}
	struct infer *inf = calloc(1, sizeof *inf);
	if (inf == NULL)
		return rb_err_set(err, RB_E_NOMEM, "infer: no memory");
	inf->path = path;
	inf->m = m;
	inf->in_n = (m->in_T > 0 ? m->in_T : 1) * m->in_C;
	inf->out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	/* auto builds only the paths its plan uses (no oneDNN primitives when vector wins
	 * everywhere); without a plan (the one-shot command) oneDNN when a chunk first needs it */
	if (path == INFER_DNNL || (path == INFER_AUTO && m->plan != NULL && auto_uses(m, INFER_DNNL))) {
		rc = model_dnnl_new(&inf->dnnl, m, NULL, err);
		if (rc != RB_OK)
			rb_err_prefix(err, "model %s", m->name);
	}
	if (rc == RB_OK && (path == INFER_VECTOR || (path == INFER_AUTO && auto_uses(m, INFER_VECTOR))))
		rc = model_vec_new(&inf->vec, m, MODEL_VEC_BEST, err);
	if (path == INFER_REFERENCE) {
		inf->din = malloc(REF_CHUNK * inf->in_n * sizeof *inf->din);
		inf->dout = malloc(REF_CHUNK * inf->out_n * sizeof *inf->dout);
		if (inf->din == NULL || inf->dout == NULL)
			rc = rb_err_set(err, RB_E_NOMEM, "infer: no memory");
	}
	if (rc != RB_OK) {
		infer_free(inf);
		return rc;
	}
	*out = inf;
	return RB_OK;
}

enum rb_code infer_run(struct infer *inf, const float *in, size_t B, float *out, struct rb_err *err)
{
	RB_ASSERT(inf != NULL && in != NULL && out != NULL);
	if (B == 0)
		return rb_err_set(err, RB_E_INPUT, "inference on an empty batch");
	if (B > SIZE_MAX / sizeof(float) / inf->in_n || B > SIZE_MAX / sizeof(float) / inf->out_n)
		return rb_err_set(err, RB_E_TOO_LARGE, "batch of %zu samples is too large", B);
	if (inf->path == INFER_AUTO && inf->m->plan != NULL) {
		/* chunks of at most INFER_PLAN_MAX, each on its planned path */
		for (size_t b = 0; b < B; b += INFER_PLAN_MAX) {
			size_t n = B - b < INFER_PLAN_MAX ? B - b : INFER_PLAN_MAX;
			const float *x = in + b * inf->in_n;
			float *y = out + b * inf->out_n;
			if (auto_path(inf->m, n) == INFER_VECTOR) {
				model_vec_run(inf->vec, x, n, y);
				continue;
			}
			enum rb_code rc = model_dnnl_run(inf->dnnl, x, n, y, err);
			if (rc != RB_OK)
				return rc;
		}
		return RB_OK;
	}
	if (inf->path == INFER_VECTOR || (inf->path == INFER_AUTO && auto_path(inf->m, B) == INFER_VECTOR)) {
		model_vec_run(inf->vec, in, B, out);
		return RB_OK;
	}
	if (inf->path == INFER_AUTO && inf->dnnl == NULL) {
		enum rb_code rc = model_dnnl_new(&inf->dnnl, inf->m, NULL, err);
		if (rc != RB_OK) {
			rb_err_prefix(err, "model %s", inf->m->name);
			return rc;
		}
	}
	if (inf->path == INFER_DNNL || inf->path == INFER_AUTO)
		return model_dnnl_run(inf->dnnl, in, B, out, err);
	for (size_t b = 0; b < B; b += REF_CHUNK) {
		size_t n = B - b < REF_CHUNK ? B - b : REF_CHUNK;
		const float *x = in + b * inf->in_n;
		for (size_t k = 0; k < n * inf->in_n; k++)
			inf->din[k] = (double)x[k];
		enum rb_code rc = model_ref_forward(inf->m, inf->din, n, inf->dout, err);
		if (rc != RB_OK)
			return rc;
		float *y = out + b * inf->out_n;
		for (size_t k = 0; k < n * inf->out_n; k++)
			y[k] = (float)inf->dout[k];
	}
	return RB_OK;
}

enum rb_code infer_run_windows(struct infer *inf, const float *rows, size_t n_rows, const size_t *starts,
                               size_t B, float *out, struct rb_err *err)
{
	RB_ASSERT(inf != NULL && rows != NULL && starts != NULL && out != NULL);
	const struct model *m = inf->m;
	if (B == 0)
		return rb_err_set(err, RB_E_INPUT, "inference on an empty batch");
	if (m->in_T == 0)
		return rb_err_set(err, RB_E_INPUT, "model %s takes single rows, not windows", m->name);
	if (B > SIZE_MAX / sizeof(float) / inf->out_n)
		return rb_err_set(err, RB_E_TOO_LARGE, "batch of %zu samples is too large", B);
	for (size_t b = 0; b < B; b++)
		if (starts[b] > n_rows || n_rows - starts[b] < m->in_T)
			return rb_err_set(err, RB_E_INPUT, "window %zu (rows %zu..%zu) is past the series' %zu rows",
			                  b, starts[b], starts[b] + m->in_T, n_rows);
	for (size_t b = 0; b < B; b += INFER_PLAN_MAX) {
		size_t n = B - b < INFER_PLAN_MAX ? B - b : INFER_PLAN_MAX;
		float *y = out + b * inf->out_n;
		enum infer_path p = inf->path == INFER_AUTO ? auto_path(m, n) : inf->path;
		if (p == INFER_VECTOR && inf->vec != NULL) {
			model_vec_run_windows(inf->vec, rows, starts + b, n, y);
			continue;
		}
		/* sliced: infer_run takes the same path for a chunk of n <= INFER_PLAN_MAX */
		if (inf->windows == NULL) {
			inf->windows = malloc(INFER_PLAN_MAX * inf->in_n * sizeof *inf->windows);
			if (inf->windows == NULL)
				return rb_err_set(err, RB_E_NOMEM, "infer: no memory for windows");
		}
		for (size_t j = 0; j < n; j++)
			memcpy(inf->windows + j * inf->in_n, rows + starts[b + j] * m->in_C,
			       inf->in_n * sizeof *rows);
		enum rb_code rc = infer_run(inf, inf->windows, n, y, err);
		if (rc != RB_OK)
			return rc;
	}
	return RB_OK;
}

void infer_free(struct infer *inf)
{
	if (inf == NULL)
		return;
	model_dnnl_free(inf->dnnl);
	model_vec_free(inf->vec);
	free(inf->din);
	free(inf->dout);
	free(inf->windows);
	free(inf);
}

/* ---- the plan ---- */

/* What the probe child sends back. */
struct probe_msg {
	int ok;                          /* 1: both paths timed */
	double us_vector[INFER_PLAN_SIZES];
	double us_dnnl[INFER_PLAN_SIZES];
	char note[120];                  /* !ok: why */
};

#define PROBE_ROUNDS 3        /* best of: robust against a preempted run */
#define PROBE_WINDOWS 16      /* at least this many samples per timed run (calls of a small size) */
#define PROBE_ALARM_S 20      /* the child is killed past this */
#define PLAN_DNNL_MARGIN 1.05 /* oneDNN must win by 5 %: the vector path has no primitives to build */

static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void infer_one_openmp_thread(void)
{
	if (getenv("OMP_NUM_THREADS") != NULL)
		return;
	void (*set_threads)(int) = NULL;
	void *sym = dlsym(RTLD_DEFAULT, "omp_set_num_threads");
	memcpy(&set_threads, &sym, sizeof set_threads);
	if (set_threads != NULL)
		set_threads(1);
}

/* In the probe child: both paths, interleaved size by size, round by round; never returns. */
static void probe_child(const struct model *m, int fd)
{
	alarm(PROBE_ALARM_S);
	infer_one_openmp_thread();
	struct probe_msg msg;
	memset(&msg, 0, sizeof msg);
	struct rb_err err = {0};
	struct model_vec *v = NULL;
	struct model_dnnl *d = NULL;
	size_t in_n = (m->in_T > 0 ? m->in_T : 1) * m->in_C;
	size_t out_n = (m->out_T > 0 ? m->out_T : 1) * m->out_C;
	float *x = malloc(INFER_PLAN_MAX * in_n * sizeof *x);
	float *y = malloc(INFER_PLAN_MAX * out_n * sizeof *y);
	if (x == NULL || y == NULL) {
		snprintf(msg.note, sizeof msg.note, "probe: no memory");
	} else if (model_vec_new(&v, m, MODEL_VEC_BEST, &err) != RB_OK ||
	           model_dnnl_new(&d, m, NULL, &err) != RB_OK) {
		snprintf(msg.note, sizeof msg.note, "probe: %.100s", err.msg);
	} else {
		uint32_t s = 20261205u; /* inputs in [0, 1), the range of the rescaled features */
		for (size_t k = 0; k < INFER_PLAN_MAX * in_n; k++) {
			s = s * 1664525u + 1013904223u;
			x[k] = (float)(s >> 8) / 16777216.0f;
		}
		msg.ok = 1;
		for (size_t k = 0; k < INFER_PLAN_SIZES; k++)
			msg.us_vector[k] = msg.us_dnnl[k] = INFINITY;
		for (int r = 0; r < PROBE_ROUNDS && msg.ok; r++)
			for (size_t k = 0; k < INFER_PLAN_SIZES && msg.ok; k++) {
				size_t B = infer_plan_sizes[k];
				size_t calls = (PROBE_WINDOWS + B - 1) / B;
				double t0 = cpu_us();
				for (size_t c = 0; c < calls; c++)
					model_vec_run(v, x, B, y);
				double tv = (cpu_us() - t0) / (double)calls;
				t0 = cpu_us();
				for (size_t c = 0; c < calls && msg.ok; c++)
					if (model_dnnl_run(d, x, B, y, &err) != RB_OK) {
						msg.ok = 0;
						snprintf(msg.note, sizeof msg.note, "probe: %.100s", err.msg);
					}
				double td = (cpu_us() - t0) / (double)calls;
				msg.us_vector[k] = tv < msg.us_vector[k] ? tv : msg.us_vector[k];
				msg.us_dnnl[k] = td < msg.us_dnnl[k] ? td : msg.us_dnnl[k];
			}
	}
	const char *p = (const char *)&msg;
	size_t left = sizeof msg;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		left -= (size_t)w;
	}
	_exit(0); /* no atexit handlers, no stdio flush: the parent owns those */
}

/* Runs the probe child and reads its message; 0 and msg->note on any failure of the child. */
static void probe_run(const struct model *m, struct probe_msg *msg)
{
	memset(msg, 0, sizeof *msg);
	int fds[2];
	if (pipe(fds) != 0) {
		snprintf(msg->note, sizeof msg->note, "probe: pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL); /* nothing buffered is written twice */
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(msg->note, sizeof msg->note, "probe: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		probe_child(m, fds[1]);
	}
	close(fds[1]);
	struct probe_msg got;
	char *p = (char *)&got;
	size_t have = 0;
	while (have < sizeof got) {
		ssize_t r = read(fds[0], p + have, sizeof got - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	close(fds[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	if (have != sizeof got) {
		snprintf(msg->note, sizeof msg->note, "probe: child ended without an answer (%s %d)",
		         WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		return;
	}
	*msg = got;
	msg->note[sizeof msg->note - 1] = '\0';
}

/* µs per call at B, linear between the measured sizes around it. */
static double interp(const double *us, size_t B)
{
	size_t k = 1;
	while (k < INFER_PLAN_SIZES - 1 && infer_plan_sizes[k] < B)
		k++;
	double b0 = (double)infer_plan_sizes[k - 1], b1 = (double)infer_plan_sizes[k];
	if ((double)B <= b0)
		return us[k - 1];
	return us[k - 1] + (us[k] - us[k - 1]) * ((double)B - b0) / (b1 - b0);
}

enum rb_code infer_plan_measure(struct model *m, struct rb_err *err)
{
	RB_ASSERT(m != NULL);
	const char *env = getenv("RB_INFER_PLAN");
	if (env != NULL && env[0] != '\0' && strcmp(env, "measure") != 0 && strcmp(env, "static") != 0 &&
	    strcmp(env, "vector") != 0 && strcmp(env, "dnnl") != 0)
		return rb_err_set(err, RB_E_CONFIG,
		                  "RB_INFER_PLAN=%s: expected measure, static, vector or dnnl", env);
	/* decided on the stack, allocated after the probe: the probe child owns nothing of the heap */
	struct infer_plan plan, *p = &plan;
	memset(p, 0, sizeof *p);
	for (size_t k = 0; k < INFER_PLAN_SIZES; k++)
		p->us_vector[k] = p->us_dnnl[k] = -1.0;
	double t0 = wall_ms();
	if (env != NULL && (strcmp(env, "vector") == 0 || strcmp(env, "dnnl") == 0)) {
		p->source = INFER_PLAN_FORCED;
		for (size_t B = 1; B <= INFER_PLAN_MAX; B++)
			p->path[B] = (unsigned char)(env[0] == 'v' ? INFER_VECTOR : INFER_DNNL);
	} else if (env != NULL && strcmp(env, "static") == 0) {
		p->source = INFER_PLAN_STATIC;
		for (size_t B = 1; B <= INFER_PLAN_MAX; B++)
			p->path[B] = (unsigned char)(B <= INFER_AUTO_VECTOR_MAX ? INFER_VECTOR : INFER_DNNL);
	} else {
		struct probe_msg msg;
		probe_run(m, &msg);
		p->source = msg.ok ? INFER_PLAN_MEASURED : INFER_PLAN_FALLBACK;
		if (msg.ok) {
			memcpy(p->us_vector, msg.us_vector, sizeof p->us_vector);
			memcpy(p->us_dnnl, msg.us_dnnl, sizeof p->us_dnnl);
		} else {
			snprintf(p->note, sizeof p->note, "%s", msg.note[0] != '\0' ? msg.note : "probe failed");
		}
		for (size_t B = 1; B <= INFER_PLAN_MAX; B++) {
			int dnnl = msg.ok && interp(p->us_dnnl, B) * PLAN_DNNL_MARGIN < interp(p->us_vector, B);
			p->path[B] = (unsigned char)(dnnl ? INFER_DNNL : INFER_VECTOR);
		}
	}
	p->ms_taken = wall_ms() - t0;
	struct infer_plan *keep = malloc(sizeof *keep);
	if (keep == NULL)
		return rb_err_set(err, RB_E_NOMEM, "infer plan: no memory");
	*keep = plan;
	free(m->plan);
	m->plan = keep;
	return RB_OK;
}

/* Appends to buf like snprintf at buf + *len; *len counts what was needed. */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(*len < cap ? buf + *len : NULL, *len < cap ? cap - *len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
}

size_t infer_plan_describe(const struct model *m, char *buf, size_t cap)
{
	static const char *const sources[] = {"measured", "static", "forced", "fallback"};
	const struct infer_plan *p = m->plan;
	size_t len = 0;
	if (cap > 0)
		buf[0] = '\0';
	put(buf, cap, &len, "%s:", p != NULL ? sources[p->source] : "static (no plan)");
	size_t start = 1;
	for (size_t B = 2; B <= INFER_PLAN_MAX + 1; B++) {
		enum infer_path a = auto_path(m, start);
		if (B <= INFER_PLAN_MAX && auto_path(m, B) == a)
			continue;
		put(buf, cap, &len, "%s %s %zu-%zu%s", start > 1 ? "," : "", infer_path_name(a), start,
		    B - 1, B > INFER_PLAN_MAX ? "+" : "");
		start = B;
	}
	if (p != NULL && p->source == INFER_PLAN_MEASURED)
		put(buf, cap, &len, " (µs/window vector/dnnl: at 1 %.1f/%.1f, at %d %.1f/%.1f; %.0f ms)",
		    p->us_vector[0], p->us_dnnl[0], INFER_PLAN_MAX,
		    p->us_vector[INFER_PLAN_SIZES - 1] / INFER_PLAN_MAX,
		    p->us_dnnl[INFER_PLAN_SIZES - 1] / INFER_PLAN_MAX, p->ms_taken);
	if (p != NULL && p->note[0] != '\0')
		put(buf, cap, &len, " (%s)", p->note);
	return len;
}
