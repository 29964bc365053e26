/*
 * test_druid_e2e: the service's whole Druid path against the real
 * rb-druid-emulator process (argv[1]) on loopback:
 *   client query text -> druid_query_prepare (traffic template) -> druid_query
 *   -> series_parse,
 * checking (1) the bytes the emulator received are exactly the query we
 * built, and that query equals tests/data/druid/<case>.expected.json;
 * (2) the answer carries the 11 traffic metrics and, row by row, the
 * post-aggregations obey CONTRACT §2 (bps = bytes*8/S, ...) for S from the
 * granularity (60 and 5400 s), i.e. the template means what it says to a
 * Druid-like engine; (3) keep-alive over several requests; (4) each of the
 * emulator's faults maps to the documented error (docs/DRUID.md).
 */
#include <math.h>
#include <string.h>

#include "rb/druid/druid_client.h"
#include "rb/druid/druid_query.h"
#include "emu_testlib.h"
#include "rb/input/series.h"
#include "testutil.h"

static const char *emu_exe;

static struct druid *client_for(const struct emu_proc *p, long timeout_ms, size_t cap)
{
	char url[96];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/druid/v2/", p->port);
	struct druid_opts o = {.url = url,
	                       .connect_timeout_ms = timeout_ms < 1000 ? timeout_ms : 1000,
	                       .timeout_ms = timeout_ms,
	                       .max_response_bytes = cap};
	struct druid *d = NULL;
	struct rb_err err = {0};
	CHECKF(druid_new(&d, &o, &err) == RB_OK, "%s", err.msg);
	return d;
}

static struct druid_template *traffic(void)
{
	struct druid_template *t = NULL;
	struct rb_err err = {0};
	CHECKF(druid_template_load(&t, tu_source("models"), "traffic", &err) == RB_OK, "%s", err.msg);
	return t;
}

static int close_rel(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b)));
}

static double col(const struct series *s, size_t i, const char *name)
{
	long c = series_col(s, name);
	CHECKF(c >= 0, "no column %s", name);
	double v = series_value(s, i, (size_t)c);
	CHECKF(isfinite(v), "%s missing at row %zu", name, i);
	return v;
}

/*
 * Sends the rewritten case query; checks what the emulator received and the
 * answer's arithmetic for S seconds; returns the number of rows.
 */
static size_t run_case(struct emu_proc *p, struct druid *d, const struct druid_template *t,
                       const char *name, double S)
{
	char path[256];
	snprintf(path, sizeof path, "tests/data/druid/%s.query.json", name);
	size_t qlen = 0;
	char *qtext = tu_read_file(tu_source(path), &qlen);
	char *body = NULL;
	size_t blen = 0;
	struct rb_err err = {0};
	CHECKF(druid_query_prepare(qtext, qlen, t, 0, &body, &blen, &err) == RB_OK, "%s", err.msg);

	char *ans = NULL;
	size_t alen = 0;
	CHECKF(druid_query(d, body, blen, &ans, &alen, &err) == RB_OK, "%s: %s", name, err.msg);

	/* What the broker received: our bytes exactly, and the expected query. */
	struct et_resp last = et_get(p, "/__last_query");
	CHECK(last.status == 200);
	CHECKF(last.len == blen && memcmp(last.body, body, blen) == 0, "%s: body differs", name);
	snprintf(path, sizeof path, "tests/data/druid/%s.expected.json", name);
	json_t *want = json_load_file(tu_source(path), 0, NULL);
	json_t *got = json_loadb(last.body, last.len, 0, NULL);
	CHECKF(want != NULL && got != NULL && json_equal(got, want), "%s: sent query differs", name);
	json_decref(want);
	json_decref(got);
	et_resp_free(&last);

	struct series *s = NULL;
	CHECKF(series_parse(&s, ans, alen, NULL, &err) == RB_OK, "%s: %s", name, err.msg);
	CHECKF(s->n > 0, "%s: no rows", name);
	static const char *metrics[] = {"bits_per_sec_per_client", "bps", "bytes", "bytes_per_client",
	                                "clients", "flows", "flows_per_client",
	                                "flows_per_sec_per_client", "fps", "pkts", "pps"};
	for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++)
		CHECKF(series_col(s, metrics[m]) >= 0, "%s: no %s", name, metrics[m]);
	for (size_t i = 0; i < s->n; i++) {
		double bytes = col(s, i, "bytes"), pkts = col(s, i, "pkts"), flows = col(s, i, "flows");
		double clients = col(s, i, "clients");
		CHECK(bytes > 0 && pkts > 0 && flows > 0 && clients >= 1);
		CHECKF(close_rel(col(s, i, "bps"), bytes * 8 / S), "%s row %zu bps", name, i);
		CHECKF(close_rel(col(s, i, "pps"), pkts / S), "%s row %zu pps", name, i);
		CHECKF(close_rel(col(s, i, "fps"), flows / S), "%s row %zu fps", name, i);
		CHECK(close_rel(col(s, i, "bytes_per_client"), bytes / clients));
		CHECK(close_rel(col(s, i, "bits_per_sec_per_client"), bytes * 8 / S / clients));
		CHECK(close_rel(col(s, i, "flows_per_client"), flows / clients));
		CHECK(close_rel(col(s, i, "flows_per_sec_per_client"), flows / S / clients));
	}
	size_t n = s->n;
	series_free(s);
	free(ans);
	free(body);
	free(qtext);
	return n;
}

static void test_rewrite_against_emulator(void)
{
	struct emu_proc p;
	et_start(&p, emu_exe, NULL);
	struct druid *d = client_for(&p, 10000, 0);
	struct druid_template *t = traffic();

	/* The seed README query: one hour at one minute, FlowSensor (never empty). */
	size_t n = run_case(&p, d, t, "seed_readme_pt1m", 60);
	CHECKF(n == 60, "seed README hour gave %zu rows", n);
	CHECK(run_case(&p, d, t, "period_PT1M", 60) == 60);
	CHECK(run_case(&p, d, t, "simple_minute", 60) == 60);
	CHECK(run_case(&p, d, t, "simple_fifteen_minute", 900) == 4);
	/* PT1H30M is 5400 s (the old parser's 7800 would break bps). */
	CHECK(run_case(&p, d, t, "period_PT1H30M", 5400) >= 1);
	CHECK(run_case(&p, d, t, "duration_300000", 300) == 288); /* a day; limitSpec is not a timeseries key */
	CHECK(run_case(&p, d, t, "trafficquery_pt5m", 300) == 288);

	/* All of it over one connection. */
	struct druid_stats st;
	druid_get_stats(d, &st);
	CHECKF(st.requests == 7 && st.connects == 1, "requests %lu connects %lu", st.requests,
	       st.connects);

	/* A query Druid (here the emulator) rejects is the client's 400, with the reason. */
	const char *bad = "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\","
	                  "\"intervals\":[\"2023-09-21T09:00:00Z/2023-09-21T10:00:00Z\"],"
	                  "\"granularity\":\"minute\",\"aggregations\":[{\"type\":\"longSumm\","
	                  "\"name\":\"b\",\"fieldName\":\"sum_bytes\"}]}";
	char *ans = NULL;
	size_t alen = 0;
	struct rb_err err = {0};
	CHECK(druid_query(d, bad, strlen(bad), &ans, &alen, &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "Druid rejected the query (HTTP 400): ") != NULL &&
	               strlen(err.msg) > strlen("Druid rejected the query (HTTP 400): ") + 5,
	       "%s", err.msg);

	druid_template_free(t);
	druid_free(d);
	et_stop(&p);
}

/* One emulator per fault: the seed query must fail with code and message. */
static void fault(const char *const *args, long timeout_ms, size_t cap, enum rb_code code,
                  const char *what)
{
	struct emu_proc p;
	et_start(&p, emu_exe, args);
	struct druid *d = client_for(&p, timeout_ms, cap);
	size_t qlen = 0;
	char *q = tu_read_file(tu_source("tests/data/druid/seed_readme_pt1m.query.json"), &qlen);
	char *ans = (char *)1;
	size_t alen = 7;
	struct rb_err err = {0};
	enum rb_code rc = druid_query(d, q, qlen, &ans, &alen, &err);
	CHECKF(rc == code, "%s %s: rc %d (%s)", args[0], args[1] ? args[1] : "", rc, err.msg);
	if (code == RB_OK) {
		CHECK(ans != NULL && alen == strlen(ans));
		free(ans);
	} else {
		CHECK(ans == NULL && alen == 0);
	}
	CHECKF(strstr(err.msg, what) != NULL || code == RB_OK, "%s: \"%s\" lacks \"%s\"", args[0],
	       err.msg, what);
	free(q);
	druid_free(d);
	et_stop(&p);
}

int main(int argc, char **argv)
{
	CHECKF(argc == 2, "usage: %s path/to/rb-druid-emulator", argv[0]);
	emu_exe = argv[1];
	struct rb_err err = {0};
	CHECKF(druid_global_init(&err) == RB_OK, "%s", err.msg);

	test_rewrite_against_emulator();

	const char *delay[] = {"--fault-delay-ms", "3000", NULL};
	fault(delay, 500, 0, RB_E_TIMEOUT, "Druid did not answer within 500 ms");
	const char *big[] = {"--fault", "oversized", "300000", NULL};
	fault(big, 5000, 200000, RB_E_UPSTREAM, "Druid answer larger than 200000 bytes");
	const char *fits[] = {"--fault", "oversized", "200000", NULL};
	fault(fits, 5000, 200000, RB_OK, "");
	const char *s500[] = {"--fault", "status", "500", NULL};
	fault(s500, 5000, 0, RB_E_UPSTREAM, "answered HTTP 500: ");
	const char *s503[] = {"--fault", "status", "503", NULL};
	fault(s503, 5000, 0, RB_E_UPSTREAM, "answered HTTP 503");
	const char *s504[] = {"--fault", "status", "504", NULL};
	fault(s504, 5000, 0, RB_E_TIMEOUT, "(HTTP 504)");
	const char *s400[] = {"--fault", "status", "400", NULL};
	fault(s400, 5000, 0, RB_E_INPUT, "Druid rejected the query (HTTP 400)");
	const char *closed[] = {"--fault", "close", NULL};
	fault(closed, 5000, 0, RB_E_UPSTREAM, "closed the connection without answering");
	const char *trunc[] = {"--fault", "truncate", NULL};
	fault(trunc, 5000, 0, RB_E_UPSTREAM, "broke mid-request");
	/* Garbage with a 200 is handed over as received (series_parse judges it). */
	const char *garbage[] = {"--fault", "garbage", NULL};
	fault(garbage, 5000, 0, RB_OK, "");

	druid_global_cleanup();
	printf("druid_e2e: ok\n");
	return 0;
}
