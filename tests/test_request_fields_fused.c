/*
 * test_request_fields_fused: request_fields_parse (base64 fields decoded from
 * the urlencoded body in one pass) against the two-step path it replaces,
 * form_parse then request_fields_decode, as the oracle. Random bodies with
 * the request's fields (data, query, model, metric, sensitivity, detector,
 * others), values base64 of JSON arrays/objects/names/numbers urlencoded at
 * random (escapes anywhere, also splitting base64 groups), damaged (bad
 * bytes, misplaced '=', malformed escapes), duplicated, with small value and
 * JSON caps, urlencoded and multipart. The code, the message and every member
 * of the decoded request must be identical. Fixed seed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/fcgi/form.h"
#include "rb/fcgi/request_fields.h"
#include "testutil.h"

static const char ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64(const char *in, size_t len, char *out, int pad)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned long g = (unsigned long)(unsigned char)in[i] << 16;
		if (i + 1 < len)
			g |= (unsigned long)(unsigned char)in[i + 1] << 8;
		if (i + 2 < len)
			g |= (unsigned char)in[i + 2];
		out[o++] = ALPHA[g >> 18 & 63];
		out[o++] = ALPHA[g >> 12 & 63];
		if (i + 1 < len || pad)
			out[o++] = i + 1 < len ? ALPHA[g >> 6 & 63] : '=';
		if (i + 2 < len || pad)
			out[o++] = i + 2 < len ? ALPHA[g & 63] : '=';
	}
	return o;
}

/* A plain value for a field: JSON, a name, a number, or junk. */
static size_t plain_value(struct tu_rng *r, char *t, size_t max)
{
	static const char *vals[] = {
		"[{\"timestamp\":\"2026-11-27T00:00:00Z\",\"result\":{\"bytes\":12}}]",
		" \n[1,2,3]", "{\"queryType\":\"timeseries\",\"granularity\":\"minute\"}", "{}",
		"traffic", " traffic\n", ".hidden", "a/b", "bytes", "pkts", "0.5", "2", "nan",
		"default", "iforest-legacy", "x", "", "\xff\xfe", "[\"\xe2\x82\xac+/?>\"]"};
	const char *v = vals[tu_rng_next(r) % (sizeof vals / sizeof vals[0])];
	size_t n = strlen(v);
	if (tu_rng_next(r) % 6 == 0) { /* a long one */
		n = 0;
		t[n++] = '[';
		size_t k = tu_rng_next(r) % (max / 2);
		while (n < k)
			t[n++] = "0123456789,\"ab: {}"[tu_rng_next(r) % 18];
		t[n++] = ']';
		return n;
	}
	memcpy(t, v, n);
	return n;
}

/* Urlencodes t[0..n) at random; damages it sometimes. */
static size_t encode(struct tu_rng *r, const char *t, size_t n, char *u)
{
	static const char HEX[] = "0123456789ABCDEF";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		int must = c == '%' || c == '+' || c == '&' || c == '=' || c == '\r' || c == '-';
		if (must || tu_rng_next(r) % 6 == 0) {
			u[o++] = '%';
			u[o++] = HEX[c >> 4];
			u[o++] = HEX[c & 15];
		} else {
			u[o++] = (char)c;
		}
	}
	if (o > 0 && tu_rng_next(r) % 12 == 0) {
		static const char junk[] = "%=.!\x80 +-_";
		u[tu_rng_next(r) % o] = junk[tu_rng_next(r) % (sizeof junk - 1)];
	}
	return o;
}

static size_t random_body(struct tu_rng *r, char *body, size_t max)
{
	static const char *names[] = {"data", "query", "model", "metric", "sensitivity",
	                              "detector", "other", "d%61ta", "model"};
	static char plain[4096], coded[6000];
	size_t blen = 0, pairs = tu_rng_next(r) % 6;
	for (size_t p = 0; p < pairs; p++) {
		const char *nm = names[tu_rng_next(r) % (sizeof names / sizeof names[0])];
		if (p == 0 && tu_rng_next(r) % 2 == 0)
			nm = "data";
		size_t pl = plain_value(r, plain, 2000), cl;
		if (tu_rng_next(r) % 5 != 0) {
			cl = b64(plain, pl, coded, (int)(tu_rng_next(r) % 2));
			if (cl > 0 && tu_rng_next(r) % 10 == 0) /* line-wrapped */
				coded[tu_rng_next(r) % cl] = '\n';
		} else {
			memcpy(coded, plain, pl);
			cl = pl;
		}
		size_t need = strlen(nm) + 2 + cl * 3;
		if (blen + need > max)
			break;
		if (blen > 0)
			body[blen++] = '&';
		memcpy(body + blen, nm, strlen(nm));
		blen += strlen(nm);
		body[blen++] = '=';
		blen += encode(r, coded, cl, body + blen);
	}
	return blen;
}

static void compare(int t, const char *ct, const char *body, size_t blen,
                    const struct form_limits *lim, size_t max_json, int *ok)
{
	struct rb_request a, b;
	struct rb_err ea = {0}, eb = {0};
	struct form *f = NULL;
	memset(&a, 0x5a, sizeof a);
	enum rb_code ra = request_fields_parse(ct, body, blen, lim, max_json, &a, &ea);
	enum rb_code rb = form_parse(ct, body, blen, lim, &f, &eb);
	memset(&b, 0, sizeof b);
	if (rb == RB_OK)
		rb = request_fields_decode(f, max_json, &b, &eb);
	form_free(f);
	CHECKF(ra == rb && strcmp(ea.msg, eb.msg) == 0, "body %d: %d '%s' vs %d '%s'", t, (int)ra,
	       ea.msg, (int)rb, eb.msg);
	CHECKF(a.data_len == b.data_len && (a.data == NULL) == (b.data == NULL), "body %d data", t);
	if (a.data != NULL)
		CHECK(memcmp(a.data, b.data, a.data_len + 1) == 0);
	CHECKF(a.query_len == b.query_len && (a.query == NULL) == (b.query == NULL), "body %d", t);
	if (a.query != NULL)
		CHECK(memcmp(a.query, b.query, a.query_len + 1) == 0);
	CHECKF(a.model_status == b.model_status && strcmp(a.model, b.model) == 0,
	       "body %d: model %d '%s' vs %d '%s'", t, (int)a.model_status, a.model,
	       (int)b.model_status, b.model);
	CHECK(strcmp(a.metric, b.metric) == 0);
	CHECK(a.has_sensitivity == b.has_sensitivity && a.sensitivity == b.sensitivity);
	CHECK(a.has_detector == b.has_detector && a.detector == b.detector);
	if (ra == RB_OK)
		(*ok)++;
	request_fields_release(&a);
	request_fields_release(&b);
}

int main(void)
{
	struct tu_rng r = {0xF05EDu};
	static char body[16384];
	int ok = 0, named = 0;
	for (int t = 0; t < 20000; t++) {
		size_t blen = random_body(&r, body, sizeof body);
		struct form_limits lim;
		form_limits_default(&lim);
		if (tu_rng_next(&r) % 6 == 0)
			lim.max_value = tu_rng_next(&r) % 400;
		size_t max_json = tu_rng_next(&r) % 4 == 0 ? tu_rng_next(&r) % 200 : 1 << 20;
		compare(t, tu_rng_next(&r) % 2 ? NULL : "application/x-www-form-urlencoded", body, blen, &lim,
		        max_json, &ok);
		struct rb_request q;
		if (request_fields_parse(NULL, body, blen, NULL, 1 << 20, &q, NULL) == RB_OK &&
		    q.model_status == RB_MODEL_NAMED)
			named++;
		request_fields_release(&q);
	}
	CHECKF(ok > 800 && ok < 18000 && named > 100, "coverage: %d decoded, %d named models", ok,
	       named);
	/* multipart values are verbatim: the two paths read them the same way */
	const char mp[] = "--b\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nWzFd%3D\r\n"
	                  "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ndHJhZmZpYw==\r\n"
	                  "--b--\r\n";
	compare(-1, "multipart/form-data; boundary=b", mp, sizeof mp - 1, NULL, 4096, &ok);
	const char mp2[] = "--b\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nWzFd\r\n"
	                   "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ndHJhZmZpYw==\r\n"
	                   "--b--\r\n";
	struct rb_request q;
	CHECK(request_fields_parse("multipart/form-data; boundary=b", mp2, sizeof mp2 - 1, NULL,
	                           4096, &q, NULL) == RB_OK);
	CHECK(q.data_len == 3 && memcmp(q.data, "[1]", 3) == 0 && strcmp(q.model, "traffic") == 0);
	request_fields_release(&q);
	return 0;
}
