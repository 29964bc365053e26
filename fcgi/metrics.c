/*
 * metrics: the pool-wide counters on a shared board, and the Prometheus text
 * renderer (see metrics.h). Increments are relaxed atomic adds on the shared
 * block (no locks; a reader may see one series a request ahead of another,
 * never a torn value). Not the route (app.c) nor the pool's own counting
 * (pool.c writes its events on struct pool_board).
 */
#include "rb/fcgi/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rb/fcgi/route.h"

#ifndef RB_VERSION
#define RB_VERSION "unknown"
#endif

/* Upper bounds of the histogram buckets, seconds (le="..."), then +Inf. */
static const double bucket_le[METRICS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,  0.1,    0.25,  0.5,  1,
                                                  2.5,   5,      10,    30,   60};
static const char *const bucket_le_text[METRICS_BUCKETS] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5",   "1",      "2.5",   "5",    "10",    "30",   "60"};

static const char *const outcome_names[METRICS_DRUID_OUTCOMES] = {
	"ok", "http_error", "timeout", "connect_failure", "bad_answer"};

static const char *const exit_cause_names[POOL_EXIT_CAUSES] = {"recycle", "watchdog", "signal",
                                                               "crash"};

#define MODEL_CLAIM_SPINS 100000 /* a claim takes a few stores; a claimer that died: give up */

struct metrics_board *metrics_board_new(void)
{
	void *p = mmap(NULL, sizeof(struct metrics_board), PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	struct metrics_board *mb = p;
	mb->druid_last_ok = -1;
	return mb;
}

void metrics_board_free(struct metrics_board *mb)
{
	if (mb != NULL)
		munmap(mb, sizeof *mb);
}

static void add(uint64_t *x, uint64_t n) { __atomic_fetch_add(x, n, __ATOMIC_RELAXED); }

static uint64_t get(const uint64_t *x) { return __atomic_load_n(x, __ATOMIC_RELAXED); }

/* The model table's slot of name, claimed when absent; -1 when the table is full. Slots
 * are claimed in order and a slot being written is waited for, so two workers never claim
 * the same name twice. */
static int model_slot(struct metrics_board *mb, const char *name)
{
	for (int i = 0; i < METRICS_MODELS; i++) {
		struct metrics_model_name *m = &mb->models[i];
		int32_t st = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
		if (st == 0) {
			int32_t expect = 0, me = (int32_t)getpid();
			if (__atomic_compare_exchange_n(&m->state, &expect, me, 0, __ATOMIC_ACQ_REL,
			                                __ATOMIC_ACQUIRE)) {
				snprintf(m->name, sizeof m->name, "%s", name);
				__atomic_store_n(&m->state, -1, __ATOMIC_RELEASE);
				return i;
			}
			st = expect;
		}
		for (long spin = 0; st > 0 && spin < MODEL_CLAIM_SPINS; spin++)
			st = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
		if (st == -1 && strcmp(m->name, name) == 0)
			return i;
	}
	return -1;
}

unsigned metrics_runner(struct metrics_board *mb, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return METRICS_RUNNER_NONE;
	enum detector_kind k;
	if (detector_kind_parse(name, strlen(name), &k) == 0)
		return METRICS_RUNNER_DETECTOR0 + (unsigned)k;
	if (mb == NULL)
		return METRICS_RUNNER_OTHER;
	int slot = model_slot(mb, name);
	return slot < 0 ? METRICS_RUNNER_OTHER : METRICS_RUNNER_MODEL0 + (unsigned)slot;
}

void metrics_hist_add(struct metrics_hist *h, double seconds)
{
	if (!(seconds >= 0))
		seconds = 0;
	unsigned b = 0;
	while (b < METRICS_BUCKETS && seconds > bucket_le[b])
		b++;
	if (b < METRICS_BUCKETS)
		add(&h->bucket[b], 1);
	add(&h->sum_us, (uint64_t)(seconds * 1e6 + 0.5));
	add(&h->count, 1);
}

void metrics_request(struct metrics_board *mb, unsigned route, int status, unsigned runner,
                     double seconds)
{
	if (mb == NULL)
		return;
	if (route >= METRICS_ROUTES)
		route = METRICS_ROUTES - 1;
	if (runner >= METRICS_RUNNERS)
		runner = METRICS_RUNNER_OTHER;
	if (status < METRICS_STATUS_MIN || status >= METRICS_STATUS_MIN + METRICS_STATUS_N)
		status = 599;
	add(&mb->requests[route][status - METRICS_STATUS_MIN], 1);
	metrics_hist_add(&mb->request_seconds[route][runner], seconds);
}

void metrics_runner_time(struct metrics_board *mb, unsigned runner, double seconds)
{
	if (mb == NULL || runner == METRICS_RUNNER_NONE || runner >= METRICS_RUNNERS)
		return;
	metrics_hist_add(&mb->runner_seconds[runner], seconds);
}

void metrics_druid_call(struct metrics_board *mb, enum druid_outcome outcome, double seconds)
{
	if (mb == NULL || outcome == DRUID_OUTCOME_NONE)
		return;
	unsigned i = (unsigned)outcome - 1;
	if (i >= METRICS_DRUID_OUTCOMES)
		i = DRUID_OUTCOME_CONNECT - 1;
	add(&mb->druid_calls[i], 1);
	metrics_hist_add(&mb->druid_seconds, seconds);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	__atomic_store_n(&mb->druid_last_unix_ms,
	                 (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u,
	                 __ATOMIC_RELAXED);
	__atomic_store_n(&mb->druid_last_ok, outcome == DRUID_OUTCOME_OK, __ATOMIC_RELAXED);
}

void metrics_rows(struct metrics_board *mb, uint64_t rows)
{
	if (mb != NULL)
		add(&mb->rows_analysed, rows);
}

void metrics_model_sync(struct metrics_board *mb, unsigned outcome)
{
	if (mb != NULL && outcome < METRICS_SYNC_OUTCOMES)
		add(&mb->model_sync[outcome], 1);
}

const char *metrics_druid_outcome_name(enum druid_outcome o)
{
	if (o == DRUID_OUTCOME_NONE || (unsigned)o > METRICS_DRUID_OUTCOMES)
		return NULL;
	return outcome_names[o - 1];
}

/* ---- rendering ---- */

struct text {
	char *p;
	size_t len, cap;
	int nomem;
};

static void put(struct text *t, const char *fmt, ...)
{
	if (t->nomem)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->nomem = 1;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap * 2 > t->len + (size_t)n + 1 ? t->cap * 2 : t->len + (size_t)n + 1;
		char *p = realloc(t->p, cap);
		if (p == NULL) {
			t->nomem = 1;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
}

/* A label value escaped as the format wants (\\, \", \n) into buf. */
static const char *esc(const char *v, char *buf, size_t cap)
{
	size_t o = 0;
	for (const char *s = v; *s != '\0' && o + 3 < cap; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = '\0';
	return buf;
}

static void head(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram series; labels is "" or 'a="x",b="y"' (already escaped). */
static void hist(struct text *t, const char *name, const char *labels, const struct metrics_hist *h)
{
	const char *sep = labels[0] != '\0' ? "," : "";
	uint64_t cum = 0;
	for (unsigned b = 0; b < METRICS_BUCKETS; b++) {
		cum += get(&h->bucket[b]);
		put(t, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep, bucket_le_text[b],
		    (unsigned long long)cum);
	}
	uint64_t count = get(&h->count);
	if (count < cum)
		count = cum; /* a reader between a bucket's add and the count's */
	put(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)count);
	put(t, "%s_sum%s%s%s %.6f\n", name, labels[0] != '\0' ? "{" : "", labels,
	    labels[0] != '\0' ? "}" : "", (double)get(&h->sum_us) / 1e6);
	put(t, "%s_count%s%s%s %llu\n", name, labels[0] != '\0' ? "{" : "", labels,
	    labels[0] != '\0' ? "}" : "", (unsigned long long)count);
}

/* The label value of a runner index: "none", a detector, a model name or "other"; NULL for
 * a model slot not (yet) named. */
static const char *runner_name(const struct metrics_board *mb, unsigned r)
{
	if (r == METRICS_RUNNER_NONE)
		return "none";
	if (r < METRICS_RUNNER_MODEL0)
		return detector_kind_name((enum detector_kind)(r - METRICS_RUNNER_DETECTOR0));
	if (r == METRICS_RUNNER_OTHER)
		return "other";
	const struct metrics_model_name *m = &mb->models[r - METRICS_RUNNER_MODEL0];
	if (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != -1)
		return NULL;
	return m->name;
}

static const char *route_label(unsigned r)
{
	return route_name((enum route_id)r);
}

static void render_requests(struct text *t, const struct metrics_board *mb)
{
	char e1[160], e2[160], labels[400];
	head(t, "rb_aioutliers_requests_total", "counter",
	     "Requests answered, by route and HTTP status.");
	for (unsigned r = 0; r < METRICS_ROUTES; r++)
		for (unsigned s = 0; s < METRICS_STATUS_N; s++) {
			uint64_t n = get(&mb->requests[r][s]);
			if (n > 0)
				put(t, "rb_aioutliers_requests_total{route=\"%s\",code=\"%u\"} %llu\n",
				    esc(route_label(r), e1, sizeof e1), s + METRICS_STATUS_MIN,
				    (unsigned long long)n);
		}
	head(t, "rb_aioutliers_request_duration_seconds", "histogram",
	     "Time from the request's parameters to its answer, by route and the detector or "
	     "model that ran (none: nothing ran).");
	for (unsigned r = 0; r < METRICS_ROUTES; r++)
		for (unsigned k = 0; k < METRICS_RUNNERS; k++) {
			const struct metrics_hist *h = &mb->request_seconds[r][k];
			const char *rn = runner_name(mb, k);
			if (get(&h->count) == 0 || rn == NULL)
				continue;
			snprintf(labels, sizeof labels, "route=\"%s\",model=\"%s\"",
			         esc(route_label(r), e1, sizeof e1), esc(rn, e2, sizeof e2));
			hist(t, "rb_aioutliers_request_duration_seconds", labels, h);
		}
}

static void render_runners(struct text *t, const struct metrics_board *mb)
{
	char e[160], labels[200];
	head(t, "rb_aioutliers_detector_seconds", "histogram",
	     "Time in a model-free detector per request.");
	for (unsigned k = METRICS_RUNNER_DETECTOR0; k < METRICS_RUNNER_MODEL0; k++) {
		const struct metrics_hist *h = &mb->runner_seconds[k];
		if (get(&h->count) == 0)
			continue;
		snprintf(labels, sizeof labels, "detector=\"%s\"", esc(runner_name(mb, k), e, sizeof e));
		hist(t, "rb_aioutliers_detector_seconds", labels, h);
	}
	head(t, "rb_aioutliers_inference_seconds", "histogram",
	     "Time in a model's inference and scoring per request.");
	for (unsigned k = METRICS_RUNNER_MODEL0; k < METRICS_RUNNERS; k++) {
		const struct metrics_hist *h = &mb->runner_seconds[k];
		const char *rn = runner_name(mb, k);
		if (get(&h->count) == 0 || rn == NULL)
			continue;
		snprintf(labels, sizeof labels, "model=\"%s\"", esc(rn, e, sizeof e));
		hist(t, "rb_aioutliers_inference_seconds", labels, h);
	}
	head(t, "rb_aioutliers_rows_analysed_total", "counter",
	     "Rows of series analysed (history rows included).");
	put(t, "rb_aioutliers_rows_analysed_total %llu\n",
	    (unsigned long long)get(&mb->rows_analysed));
}

static void render_model_sync(struct text *t, const struct metrics_board *mb)
{
	head(t, "rb_aioutliers_model_sync_total", "counter",
	     "Model sync from S3 by outcome (installed, rejected, incomplete, gone, list_failed); "
	     "0 when models_url is unset.");
	for (unsigned i = 0; i < METRICS_SYNC_OUTCOMES; i++)
		put(t, "rb_aioutliers_model_sync_total{outcome=\"%s\"} %llu\n",
		    i < MODEL_SYNC_EVENT_COUNT ? model_sync_event_names[i] : "list_failed",
		    (unsigned long long)get(&mb->model_sync[i]));
}

static void render_druid(struct text *t, const struct metrics_board *mb)
{
	head(t, "rb_aioutliers_druid_calls_total", "counter",
	     "Druid queries by outcome (bad_answer: a 200 answer that was not a series, too large "
	     "or cut short).");
	for (unsigned i = 0; i < METRICS_DRUID_OUTCOMES; i++)
		put(t, "rb_aioutliers_druid_calls_total{outcome=\"%s\"} %llu\n", outcome_names[i],
		    (unsigned long long)get(&mb->druid_calls[i]));
	head(t, "rb_aioutliers_druid_duration_seconds", "histogram",
	     "Time of a Druid query, whatever its outcome.");
	hist(t, "rb_aioutliers_druid_duration_seconds", "", &mb->druid_seconds);
	int32_t ok = __atomic_load_n(&mb->druid_last_ok, __ATOMIC_RELAXED);
	if (ok >= 0) {
		head(t, "rb_aioutliers_druid_last_success", "gauge",
		     "1 when the last Druid query succeeded, 0 when it failed.");
		put(t, "rb_aioutliers_druid_last_success %d\n", ok);
		head(t, "rb_aioutliers_druid_last_call_timestamp_seconds", "gauge",
		     "When the last Druid query ended (Unix time).");
		put(t, "rb_aioutliers_druid_last_call_timestamp_seconds %.3f\n",
		    (double)__atomic_load_n(&mb->druid_last_unix_ms, __ATOMIC_RELAXED) / 1e3);
	}
}

static void render_pool(struct text *t, const struct pool_board *pb)
{
	head(t, "rb_aioutliers_worker_starts_total", "counter", "Worker processes started.");
	put(t, "rb_aioutliers_worker_starts_total %llu\n",
	    (unsigned long long)__atomic_load_n(&pb->worker_starts, __ATOMIC_RELAXED));
	head(t, "rb_aioutliers_worker_exits_total", "counter",
	     "Worker processes ended, by cause (recycle: asked to stop; watchdog: over "
	     "request_timeout_ms; signal: killed from elsewhere; crash: exited on its own).");
	for (unsigned c = 0; c < POOL_EXIT_CAUSES; c++)
		put(t, "rb_aioutliers_worker_exits_total{cause=\"%s\"} %llu\n", exit_cause_names[c],
		    (unsigned long long)__atomic_load_n(&pb->worker_exits[c], __ATOMIC_RELAXED));
	head(t, "rb_aioutliers_reloads_total", "counter", "Reloads (SIGHUP) by result.");
	put(t, "rb_aioutliers_reloads_total{result=\"ok\"} %llu\n",
	    (unsigned long long)__atomic_load_n(&pb->reloads_ok, __ATOMIC_RELAXED));
	put(t, "rb_aioutliers_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)__atomic_load_n(&pb->reloads_failed, __ATOMIC_RELAXED));
	head(t, "rb_aioutliers_generation", "gauge",
	     "Current generation of workers (bumped by every successful reload).");
	put(t, "rb_aioutliers_generation %u\n", (unsigned)pb->generation);
	head(t, "rb_aioutliers_workers", "gauge",
	     "Workers of the current generation: alive now, and wanted (configured).");
	put(t, "rb_aioutliers_workers{state=\"alive\"} %u\n", (unsigned)pb->alive);
	put(t, "rb_aioutliers_workers{state=\"wanted\"} %u\n", (unsigned)pb->wanted);
}

static void render_models(struct text *t, const struct registry *reg)
{
	char e[160], path[2048];
	head(t, "rb_aioutliers_model_loaded", "gauge",
	     "1 for each model the rendering worker serves.");
	for (size_t i = 0; i < reg->n; i++)
		put(t, "rb_aioutliers_model_loaded{model=\"%s\"} 1\n",
		    esc(reg->entries[i].name, e, sizeof e));
	head(t, "rb_aioutliers_model_file_mtime_seconds", "gauge",
	     "Modification time of each served model's .keras file (Unix time).");
	for (size_t i = 0; i < reg->n; i++) {
		struct stat st;
		snprintf(path, sizeof path, "%s/%s.keras", reg->entries[i].dir, reg->entries[i].name);
		if (stat(path, &st) != 0)
			continue;
		put(t, "rb_aioutliers_model_file_mtime_seconds{model=\"%s\"} %lld\n",
		    esc(reg->entries[i].name, e, sizeof e), (long long)st.st_mtime);
	}
}

char *metrics_render(const struct metrics_board *mb, const struct pool_board *pb,
                     const struct registry *reg, size_t *len)
{
	struct text t = {malloc(16384), 0, 16384, 0};
	if (t.p == NULL)
		return NULL;
	t.p[0] = '\0';
	char e[160];
	head(&t, "rb_aioutliers_build_info", "gauge", "Version of the running daemon.");
	put(&t, "rb_aioutliers_build_info{version=\"%s\"} 1\n", esc(RB_VERSION, e, sizeof e));
	if (mb != NULL) {
		render_requests(&t, mb);
		render_runners(&t, mb);
		render_druid(&t, mb);
		render_model_sync(&t, mb);
	}
	if (pb != NULL)
		render_pool(&t, pb);
	if (reg != NULL)
		render_models(&t, reg);
	if (t.nomem) {
		free(t.p);
		return NULL;
	}
	*len = t.len;
	return t.p;
}
