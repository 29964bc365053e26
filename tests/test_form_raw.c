/*
 * test_form_raw: form_parse_raw (the fields it names are checked and
 * measured, not copied) against form_parse. First pct_measure() (memchr over
 * the '%' only) against pct_decode(out NULL), reached by including
 * fcgi/form.c: result, length and bad offset identical on random texts with
 * good, malformed and cut escapes, for every cap. Then random urlencoded
 * bodies (duplicates, empty names, escapes in names, small value caps,
 * multipart ones too): same code and message from both; the same fields in
 * the same order; a raw field's bytes are the very bytes of the body and
 * percent-decode to form_parse's value; form_get gives NULL for it.
 */
#include "fcgi/form.c"

#include <stdint.h>

#include "testutil.h"

static size_t random_text(struct tu_rng *r, char *t, size_t max)
{
	static const char *pieces[] = {"QUJD", "Zq9", "+", "%41", "%2b", "%2F", "%3D", "%00",
	                               "%ff", "%", "%4", "%G1", "%4g", "x y", "\xc3\xa9", "=",
	                               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
	size_t len = 0, parts = tu_rng_next(r) % 14;
	for (size_t p = 0; p < parts; p++) {
		const char *piece = pieces[tu_rng_next(r) % (sizeof pieces / sizeof pieces[0])];
		size_t n = strlen(piece);
		if (len + n > max)
			break;
		memcpy(t + len, piece, n);
		len += n;
	}
	return len;
}

static void test_measure(void)
{
	struct tu_rng r = {0x3EA5u};
	char in[400];
	for (int t = 0; t < 100000; t++) {
		size_t len = random_text(&r, in, sizeof in);
		size_t cap = tu_rng_next(&r) % 2 ? tu_rng_next(&r) % 60 : (size_t)-1;
		size_t na = 777, nb = 777, bada = 999, badb = 999;
		enum pct_res ra = pct_measure(in, len, cap, &na, &bada);
		enum pct_res rb = pct_decode(in, len, NULL, cap, &nb, &badb);
		CHECKF(ra == rb && na == nb && bada == badb, "case %d: %d/%d n %zu/%zu bad %zu/%zu",
		       t, (int)ra, (int)rb, na, nb, bada, badb);
	}
}

static const char *const RAW[] = {"data", "query", "model", NULL};

static void compare_forms(int t, const char *ct, const char *body, size_t blen,
                          const struct form_limits *lim)
{
	struct form *fa = NULL, *fb = NULL;
	struct rb_err ea = {0}, eb = {0};
	enum rb_code ra = form_parse_raw(ct, body, blen, lim, RAW, &fa, &ea);
	enum rb_code rb = form_parse(ct, body, blen, lim, &fb, &eb);
	CHECKF(ra == rb && strcmp(ea.msg, eb.msg) == 0, "body %d: %d '%s' vs %d '%s'", t, (int)ra,
	       ea.msg, (int)rb, eb.msg);
	if (ra != RB_OK) {
		CHECK(fa == NULL && fb == NULL);
		return;
	}
	int multipart = ct != NULL && strncmp(ct, "multipart", 9) == 0;
	CHECK(form_count(fa) == form_count(fb));
	for (size_t i = 0; i < form_count(fb); i++) {
		const char *va = NULL, *vb = NULL;
		size_t la = 0, lb = 0, rl = 0, dl = 0;
		int enc = -1;
		const char *na = form_field(fa, i, &va, &la);
		const char *nb = form_field(fb, i, &vb, &lb);
		CHECK(strcmp(na, nb) == 0);
		const char *raw = form_get_raw(fa, na, &rl, &dl, &enc);
		CHECK(raw != NULL && dl == lb);
		int kept_raw = !multipart && (strcmp(na, "data") == 0 || strcmp(na, "query") == 0 ||
		                              strcmp(na, "model") == 0);
		CHECKF(enc == kept_raw, "body %d: field %s encoded %d", t, na, enc);
		if (!kept_raw) {
			CHECK(va == raw && la == lb && rl == lb && memcmp(va, vb, lb) == 0);
			continue;
		}
		CHECK(va == NULL && form_get(fa, na, NULL) == NULL);
		CHECK(raw >= body && raw + rl <= body + blen); /* borrowed, not copied */
		char *dec = malloc(rl + 1);
		size_t n, bad;
		CHECK(dec != NULL && pct_decode(raw, rl, dec, rl, &n, &bad) == PCT_OK);
		CHECK(n == lb && memcmp(dec, vb, n) == 0);
		free(dec);
	}
	form_free(fa);
	form_free(fb);
}

static void test_bodies(void)
{
	struct tu_rng r = {0xB0D1E5u};
	static const char *names[] = {"data", "model", "", "query", "data", "d%61ta", "a+b",
	                              "metric", "mod%65l", "%", "%00"};
	int ok = 0;
	for (int t = 0; t < 20000; t++) {
		char body[8192];
		size_t blen = 0, pairs = tu_rng_next(&r) % 8;
		for (size_t p = 0; p < pairs; p++) {
			if (blen > 0 || tu_rng_next(&r) % 8 == 0)
				body[blen++] = '&';
			const char *nm = names[tu_rng_next(&r) % (sizeof names / sizeof names[0])];
			memcpy(body + blen, nm, strlen(nm));
			blen += strlen(nm);
			if (tu_rng_next(&r) % 10 != 0)
				body[blen++] = '=';
			blen += random_text(&r, body + blen, 800);
		}
		struct form_limits lim;
		form_limits_default(&lim);
		if (tu_rng_next(&r) % 3 == 0)
			lim.max_value = tu_rng_next(&r) % 200;
		if (tu_rng_next(&r) % 8 == 0)
			lim.max_fields = tu_rng_next(&r) % 4;
		if (tu_rng_next(&r) % 8 == 0)
			lim.max_pairs = tu_rng_next(&r) % 5;
		compare_forms(t, tu_rng_next(&r) % 2 ? NULL : "application/x-www-form-urlencoded",
		              body, blen, &lim);
		struct form *f = NULL;
		if (form_parse(NULL, body, blen, &lim, &f, NULL) == RB_OK)
			ok++;
		form_free(f);
	}
	CHECKF(ok > 2000 && ok < 18000, "coverage: %d parsed", ok);
	const char mp[] = "--xx\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nQQ%3D%3D\r\n"
	                  "--xx\r\nContent-Disposition: form-data; name=\"metric\"\r\n\r\nbytes\r\n"
	                  "--xx--\r\n";
	compare_forms(-1, "multipart/form-data; boundary=xx", mp, sizeof mp - 1, NULL);
}

int main(void)
{
	test_measure();
	test_bodies();
	return 0;
}
