/*
 * bench_edge: CPU per request body outside detection, in one process: a
 * realistic urlencoded /outliers body (data = urlencoded base64 of
 * Druid-shaped timeseries JSON, model = urlencoded base64 of "traffic") put
 * through the two-step path (form_parse, then request_fields_decode: a
 * percent-decoded copy of every value, then base64 from the copy) and through
 * the one-pass path (request_fields_parse: the base64 fields decoded straight
 * from the body's bytes), plus the decoders alone. Prints a markdown table of
 * microseconds per body (best of several rounds) with ratios against the
 * two-step path; then the decoders alone on an escape-heavy value (base64 of
 * random bytes: a '+' or '/' every 32 characters, each a 3-byte escape),
 * where base64 of ASCII JSON has almost none. Not a test; no timing is
 * asserted.
 *   bench_edge [json_bytes] [rounds]   (default 19000 bytes, 7 rounds)
 * It compiles the fcgi/ sources it needs into itself (benchmarks link rbcore
 * only, bench/CMakeLists.txt).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rb/base/stage_timer.h"

#include "fcgi/b64.c"
#include "fcgi/config.c"
#include "fcgi/form.c"
#include "fcgi/log.c"
#include "fcgi/names.c"
#include "fcgi/request_fields.c"
#include "fcgi/strnum.c"

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* Druid timeseries result, one row a minute, until at least want bytes. */
static char *druid_json(size_t want, size_t *len)
{
	size_t cap = want + 512, n = 0;
	char *s = malloc(cap);
	if (s == NULL)
		return NULL;
	s[n++] = '[';
	uint64_t x = 88172645463325252ull;
	for (int row = 0; n + 256 < cap && n < want; row++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int k = snprintf(s + n, cap - n,
		                 "%s{\"timestamp\":\"2026-11-27T%02d:%02d:00.000Z\",\"result\":"
		                 "{\"bytes\":%llu,\"pkts\":%llu,\"clients\":%llu,\"flows\":%llu}}",
		                 row > 0 ? "," : "", row / 60 % 24, row % 60,
		                 (unsigned long long)(x % 900000000), (unsigned long long)(x % 700000),
		                 (unsigned long long)(x % 3000), (unsigned long long)(x % 90000));
		n += (size_t)k;
	}
	s[n++] = ']';
	*len = n;
	return s;
}

static const char ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends base64 of in[0..len), urlencoded ('+', '/', '=' escaped, as browsers and curl do). */
static size_t b64_url(const char *in, size_t len, char *out)
{
	size_t o = 0;
	char q[4];
	for (size_t i = 0; i < len; i += 3) {
		unsigned long g = (unsigned long)(unsigned char)in[i] << 16;
		if (i + 1 < len)
			g |= (unsigned long)(unsigned char)in[i + 1] << 8;
		if (i + 2 < len)
			g |= (unsigned char)in[i + 2];
		q[0] = ALPHA[g >> 18 & 63];
		q[1] = ALPHA[g >> 12 & 63];
		q[2] = i + 1 < len ? ALPHA[g >> 6 & 63] : '=';
		q[3] = i + 2 < len ? ALPHA[g & 63] : '=';
		for (int k = 0; k < 4; k++) {
			if (q[k] == '+' || q[k] == '/' || q[k] == '=') {
				out[o++] = '%';
				out[o++] = "0123456789ABCDEF"[(unsigned char)q[k] >> 4];
				out[o++] = "0123456789ABCDEF"[q[k] & 15];
			} else {
				out[o++] = q[k];
			}
		}
	}
	return o;
}

static volatile size_t sink;

static void two_step(const char *body, size_t len)
{
	struct form *f = NULL;
	struct rb_request rq;
	struct rb_err err = {0};
	enum rb_code rc = form_parse(NULL, body, len, NULL, &f, &err);
	if (rc == RB_OK)
		rc = request_fields_decode(f, (size_t)16 << 20, &rq, &err);
	if (rc != RB_OK) {
		fprintf(stderr, "bench_edge: two-step: %s\n", err.msg);
		exit(1);
	}
	sink += rq.data_len;
	request_fields_release(&rq);
	form_free(f);
}

static void one_pass(const char *body, size_t len)
{
	struct rb_request rq;
	struct rb_err err = {0};
	if (request_fields_parse(NULL, body, len, NULL, (size_t)16 << 20, &rq, &err) != RB_OK) {
		fprintf(stderr, "bench_edge: one-pass: %s\n", err.msg);
		exit(1);
	}
	sink += rq.data_len;
	request_fields_release(&rq);
}

/* The decoders alone on the data value: percent-decode then base64, or fused. */
static const char *g_raw;
static size_t g_raw_len;
static char *g_tmp;
static unsigned char *g_out;

static void decoders_two_step(const char *body, size_t len)
{
	(void)body;
	(void)len;
	size_t n, bad, m;
	pct_decode(g_raw, g_raw_len, g_tmp, g_raw_len, &n, &bad);
	b64_decode_buf(g_tmp, n, g_out, b64_decoded_max(g_raw_len), &m, NULL);
	sink += m;
}

static void decoders_fused(const char *body, size_t len)
{
	(void)body;
	(void)len;
	size_t m;
	b64_decode_pct_buf(g_raw, g_raw_len, g_out, b64_decoded_max(g_raw_len), &m, NULL);
	sink += m;
}

/* The same two on the escape-heavy value. */
static const char *g_rnd;
static size_t g_rnd_len;

static void decoders_two_step_rnd(const char *body, size_t len)
{
	(void)body;
	(void)len;
	size_t n, bad, m;
	pct_decode(g_rnd, g_rnd_len, g_tmp, g_rnd_len, &n, &bad);
	b64_decode_buf(g_tmp, n, g_out, b64_decoded_max(g_rnd_len), &m, NULL);
	sink += m;
}

static void decoders_fused_rnd(const char *body, size_t len)
{
	(void)body;
	(void)len;
	size_t m;
	b64_decode_pct_buf(g_rnd, g_rnd_len, g_out, b64_decoded_max(g_rnd_len), &m, NULL);
	sink += m;
}

typedef void (*bench_fn)(const char *, size_t);

/*
 * Best mean (microseconds per call) of each of fns[0..k) over rounds of iters
 * calls; the functions take turns within a round so a busy machine slows them
 * alike.
 */
static void time_all(const bench_fn *fns, double *best, int k, const char *body, size_t len,
                     int iters, int rounds)
{
	for (int f = 0; f < k; f++)
		best[f] = 1e30;
	for (int r = 0; r < rounds; r++) {
		for (int f = 0; f < k; f++) {
			double t0 = now_us();
			for (int i = 0; i < iters; i++)
				fns[f](body, len);
			double us = (now_us() - t0) / iters;
			if (us < best[f])
				best[f] = us;
		}
	}
}

int main(int argc, char **argv)
{
	size_t want = argc > 1 ? strtoul(argv[1], NULL, 10) : 19000;
	int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 7;
	if (want < 100 || want > (64u << 20) || rounds < 1 || rounds > 1000) {
		fprintf(stderr, "usage: bench_edge [json_bytes 100..64M] [rounds 1..1000]\n");
		return 2;
	}
	size_t jlen;
	char *json = druid_json(want, &jlen);
	char *body = malloc(jlen * 3 + 64);
	if (json == NULL || body == NULL)
		return 1;
	size_t blen = 0;
	memcpy(body, "data=", 5);
	blen = 5 + b64_url(json, jlen, body + 5);
	g_raw = body + 5;
	g_raw_len = blen - 5;
	memcpy(body + blen, "&model=", 7);
	blen += 7;
	blen += b64_url("traffic", 7, body + blen);
	/* The escape-heavy value: as many random bytes as there are JSON bytes. */
	char *rnd = malloc(jlen);
	char *rnd_url = malloc(jlen * 3 + 8);
	if (rnd == NULL || rnd_url == NULL)
		return 1;
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (size_t i = 0; i < jlen; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		rnd[i] = (char)(x >> 56);
	}
	g_rnd = rnd_url;
	g_rnd_len = b64_url(rnd, jlen, rnd_url);
	size_t big = g_raw_len > g_rnd_len ? g_raw_len : g_rnd_len;
	g_tmp = malloc(big);
	g_out = malloc(b64_decoded_max(big));
	if (g_tmp == NULL || g_out == NULL)
		return 1;

	/* Both paths must decode the same data before anything is timed. */
	struct rb_request a;
	struct form *f = NULL;
	struct rb_request b;
	if (request_fields_parse(NULL, body, blen, NULL, (size_t)16 << 20, &a, NULL) != RB_OK ||
	    form_parse(NULL, body, blen, NULL, &f, NULL) != RB_OK ||
	    request_fields_decode(f, (size_t)16 << 20, &b, NULL) != RB_OK || a.data_len != jlen ||
	    b.data_len != jlen || memcmp(a.data, json, jlen) != 0 ||
	    memcmp(b.data, json, jlen) != 0 || strcmp(a.model, "traffic") != 0) {
		fprintf(stderr, "bench_edge: the paths do not decode the body\n");
		return 1;
	}
	request_fields_release(&a);
	request_fields_release(&b);
	form_free(f);
	size_t rn;
	if (b64_decode_pct_buf(g_rnd, g_rnd_len, g_out, b64_decoded_max(g_rnd_len), &rn, NULL) !=
	            RB_OK ||
	    rn != jlen || memcmp(g_out, rnd, jlen) != 0) {
		fprintf(stderr, "bench_edge: the escape-heavy value does not decode\n");
		return 1;
	}

	int iters = (int)(5000000 / blen) + 1;
	static const bench_fn fns[] = {two_step,         one_pass, decoders_two_step, decoders_fused,
	                               decoders_two_step_rnd, decoders_fused_rnd};
	double best[6];
	time_all(fns, best, 6, body, blen, iters, rounds * 4);
	double t2 = best[0], t1 = best[1], d2 = best[2], d1 = best[3];
	printf("body: %zu bytes (data: %zu bytes of JSON, %zu urlencoded), %d iterations x %d "
	       "rounds, best round\n\n",
	       blen, jlen, g_raw_len, iters, rounds * 4);
	printf("| path | us per body | two-step time / this |\n|---|---:|---:|\n");
	printf("| form_parse + request_fields_decode (two-step, main) | %.2f | 1.00 |\n", t2);
	printf("| request_fields_parse (one pass) | %.2f | %.2f |\n", t1, t2 / t1);
	printf("| data value only: pct_decode + b64_decode_buf | %.2f | %.2f |\n", d2, t2 / d2);
	printf("| data value only: b64_decode_pct_buf (fused) | %.2f | %.2f |\n", d1, t2 / d1);
	size_t nesc = 0;
	for (size_t i = 0; i < g_rnd_len; i++)
		nesc += g_rnd[i] == '%';
	printf("\nescape-heavy value: base64 of %zu random bytes, %zu urlencoded (%zu escapes)\n\n",
	       jlen, g_rnd_len, nesc);
	printf("| decoder | us per value | pct_decode + b64_decode_buf time / this |\n");
	printf("|---|---:|---:|\n");
	printf("| pct_decode + b64_decode_buf | %.2f | 1.00 |\n", best[4]);
	printf("| b64_decode_pct_buf (fused) | %.2f | %.2f |\n", best[5], best[4] / best[5]);

	/* The stage timer (rb/base/stage_timer.h) on the one-pass path: how it splits between the
	 * form and the decoding, and the minor page faults of a call on a warm heap. */
	double fw = 1e30, bw = 1e30, fc = 1e30, bc = 1e30;
	long faults = 0;
	for (int r = 0; r < iters * rounds; r++) {
		struct stage_timer st;
		struct rb_request rq;
		stage_timer_start(&st, STAGE_TIMER_ON | STAGE_TIMER_CPU);
		if (request_fields_parse_timed(NULL, body, blen, NULL, (size_t)16 << 20, &rq, &st,
		                               NULL) != RB_OK)
			return 1;
		request_fields_release(&rq);
		fw = st.wall_ms[STAGE_FORM] < fw ? st.wall_ms[STAGE_FORM] : fw;
		bw = st.wall_ms[STAGE_B64] < bw ? st.wall_ms[STAGE_B64] : bw;
		fc = st.cpu_ms[STAGE_FORM] < fc ? st.cpu_ms[STAGE_FORM] : fc;
		bc = st.cpu_ms[STAGE_B64] < bc ? st.cpu_ms[STAGE_B64] : bc;
		faults = stage_timer_total_faults(&st);
	}
	printf("\nstage timer on request_fields_parse_timed, best of %d calls: form %.1f us wall "
	       "(%.1f CPU), b64 %.1f us wall (%.1f CPU); minor faults in the last call: %ld\n",
	       iters * rounds, fw * 1e3, fc * 1e3, bw * 1e3, bc * 1e3, faults);
	free(json);
	free(body);
	free(g_tmp);
	free(g_out);
	free(rnd);
	free(rnd_url);
	return 0;
}
