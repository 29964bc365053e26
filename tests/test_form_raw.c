/*
 * test_form_raw: percent-decoding and form_parse_raw (the fields it names are
 * checked and measured, not copied) against form_parse. First pct_decode()
 * (runs of plain bytes copied at once), reached by including fcgi/form.c,
 * against libcurl's curl_easy_unescape, an independent decoder, on random
 * texts with good, malformed and cut escapes, '+' and plain bytes, every
 * output cap, measuring and copying: the decoded bytes are curl's (with '+'
 * as a space), a text is refused at its first '%' not followed by two hex
 * digits, and a cap is met when more bytes than it come before that.
 * pct_measure() (memchr over the '%' only) against pct_decode(out NULL):
 * result, length and bad offset identical. Whole urlencoded bodies through
 * form_parse: an error exactly when a name or value has a malformed escape,
 * otherwise every field is curl's decoding of its first occurrence (empty
 * names skipped). Then random urlencoded bodies (duplicates, empty names,
 * escapes in names, small value caps, multipart ones too) through both
 * parsers: same code and message; the same fields in the same order; a raw
 * field's bytes are the very bytes of the body and percent-decode to
 * form_parse's value; form_get gives NULL for it.
 */
#include "fcgi/form.c"

#include <stdint.h>

#include <curl/curl.h>

#include "testutil.h"

static CURL *curl;

/*
 * s[0..len) percent-decoded by libcurl, '+' first turned into "%20" (curl
 * leaves '+' alone): malloc'd, *n bytes. For texts without malformed escapes
 * (curl keeps those as they are).
 */
static char *curl_decode(const char *s, size_t len, size_t *n)
{
	char *t = malloc(3 * len + 1);
	CHECK(t != NULL);
	size_t tl = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			memcpy(t + tl, "%20", 3);
			tl += 3;
		} else {
			t[tl++] = s[i];
		}
	}
	t[tl] = '\0';
	int out_len = 0; /* (a length of 0 makes curl take strlen(t): 0 here too) */
	char *d = curl_easy_unescape(curl, t, (int)tl, &out_len);
	CHECK(d != NULL && out_len >= 0);
	free(t);
	char *copy = malloc((size_t)out_len + 1);
	CHECK(copy != NULL);
	memcpy(copy, d, (size_t)out_len);
	curl_free(d);
	*n = (size_t)out_len;
	return copy;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Offset of the first '%' of s[0..len) not followed by two hex digits; len when none. */
static size_t first_bad_escape(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '%' && (len - i < 3 || !is_hex(s[i + 1]) || !is_hex(s[i + 2])))
			return i;
	return len;
}

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

static void test_pct_curl(void)
{
	struct tu_rng r = {0x5EED5EED1234ull};
	char in[400], out[400];
	int refused = 0, over = 0;
	for (int t = 0; t < 100000; t++) {
		size_t len = random_text(&r, in, sizeof in);
		size_t cap = tu_rng_next(&r) % 2 ? tu_rng_next(&r) % 40 : sizeof out;
		int measure = tu_rng_next(&r) % 4 == 0;
		size_t bad_at = first_bad_escape(in, len), want_n;
		char *want = curl_decode(in, bad_at, &want_n); /* the part before any bad escape */
		enum pct_res want_res = want_n > cap ? PCT_OVER_CAP
		                        : bad_at < len ? PCT_BAD_ESCAPE
		                                       : PCT_OK;
		size_t n = 777, bad = 999;
		memset(out, 0x11, sizeof out);
		enum pct_res res = pct_decode(in, len, measure ? NULL : out, cap, &n, &bad);
		CHECKF(res == want_res, "case %d: %d, want %d ('%.*s', cap %zu)", t, (int)res,
		       (int)want_res, (int)len, in, cap);
		if (res == PCT_BAD_ESCAPE)
			CHECKF(bad == bad_at, "case %d: bad escape at %zu, want %zu", t, bad, bad_at);
		if (res == PCT_OK) {
			CHECKF(n == want_n, "case %d: %zu bytes, want %zu", t, n, want_n);
			CHECKF(measure || memcmp(out, want, n) == 0, "case %d: bytes differ", t);
		}
		refused += res == PCT_BAD_ESCAPE;
		over += res == PCT_OVER_CAP;
		free(want);
	}
	CHECKF(refused > 10000 && over > 10000, "coverage: %d refused, %d over the cap", refused,
	       over);
}

/* Random urlencoded bodies through form_parse: each field is curl's decoding of its first
 * occurrence. */
static void test_bodies_curl(void)
{
	struct tu_rng r = {0xF0F0F0F0ABCDull};
	static const char *names[] = {"data", "model", "", "metric", "data", "x%41", "a+b"};
	int parsed = 0;
	for (int t = 0; t < 5000; t++) {
		char body[8192], raw[8][400];
		size_t rawlen[8], blen = 0;
		size_t pairs = tu_rng_next(&r) % 8;
		const char *pname[8];
		int bad_any = 0;
		for (size_t p = 0; p < pairs; p++) {
			pname[p] = names[tu_rng_next(&r) % (sizeof names / sizeof names[0])];
			size_t len = random_text(&r, raw[p], sizeof raw[p]);
			rawlen[p] = 0; /* no '=' in a value: it would end the name */
			for (size_t k = 0; k < len; k++)
				if (raw[p][k] != '=')
					raw[p][rawlen[p]++] = raw[p][k];
			bad_any |= first_bad_escape(raw[p], rawlen[p]) < rawlen[p];
			if (blen > 0)
				body[blen++] = '&';
			size_t nl = strlen(pname[p]);
			memcpy(body + blen, pname[p], nl);
			blen += nl;
			body[blen++] = '=';
			memcpy(body + blen, raw[p], rawlen[p]);
			blen += rawlen[p];
		}
		struct form *f = NULL;
		struct rb_err err;
		enum rb_code rc = form_parse(NULL, body, blen, NULL, &f, &err);
		CHECKF((rc == RB_OK) == !bad_any, "body %d: code %d (%s)", t, (int)rc,
		       rc == RB_OK ? "" : err.msg);
		if (rc != RB_OK)
			continue;
		parsed++;
		for (size_t p = 0; p < pairs; p++) {
			size_t nn;
			char *dname = curl_decode(pname[p], strlen(pname[p]), &nn);
			dname[nn] = '\0';
			int first = 1;
			for (size_t q = 0; q < p && first; q++) {
				size_t on;
				char *other = curl_decode(pname[q], strlen(pname[q]), &on);
				first = on != nn || memcmp(other, dname, nn) != 0;
				free(other);
			}
			if (nn > 0 && first) {
				size_t nv, got_len = 0;
				char *dval = curl_decode(raw[p], rawlen[p], &nv);
				const char *got = form_get(f, dname, &got_len);
				CHECKF(got != NULL, "body %d: field '%s' missing", t, dname);
				CHECKF(got_len == nv && memcmp(got, dval, nv) == 0 && got[nv] == '\0',
				       "body %d: field '%s' differs", t, dname);
				free(dval);
			}
			free(dname);
		}
		form_free(f);
	}
	CHECKF(parsed > 500, "coverage: %d bodies parsed", parsed);
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
	curl = curl_easy_init();
	CHECK(curl != NULL);
	test_pct_curl();
	test_bodies_curl();
	curl_easy_cleanup(curl);
	test_measure();
	test_bodies();
	return 0;
}
