/*
 * test_form_oracle: the percent-decoding of urlencoded forms (pct_decode()
 * in fcgi/form.c, reached by including the file: runs of plain bytes copied
 * at once) against the former byte-at-a-time decoder kept here as the
 * oracle, on random inputs with '%XX' escapes (good and malformed, also cut
 * at the end), '+' and plain bytes, every output cap from 0 up, measuring
 * (out NULL) and copying. Result, length, offset of a bad escape and bytes
 * must be identical. Then whole urlencoded bodies through form_parse() (one
 * decoding pass into a buffer of the raw length): every stored value equals
 * the oracle's decoding of its first occurrence, duplicates and empty names
 * are skipped, and a malformed escape in a skipped value is still an error.
 */
#include "fcgi/form.c"

#include <stdint.h>

#include "testutil.h"

static enum pct_res old_pct_decode(const char *s, size_t len, char *out, size_t cap,
                                   size_t *n, size_t *bad)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (len - i < 3) {
				*bad = i;
				return PCT_BAD_ESCAPE;
			}
			int hi = hexval((unsigned char)s[i + 1]);
			int lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				*bad = i;
				return PCT_BAD_ESCAPE;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o == cap)
			return PCT_OVER_CAP;
		if (out != NULL)
			out[o] = (char)c;
		o++;
	}
	*n = o;
	return PCT_OK;
}

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

/* Random urlencoded-ish text of up to max bytes without '&' and '='. */
static size_t random_text(struct rng *r, char *t, size_t max)
{
	static const char *pieces[] = {"a", "Zq9", "+", "%41", "%2b", "%2F", "%3d", "%00", "%ff",
	                               "%", "%4", "%G1", "%4g", "x y", "\xc3\xa9", "AAAAAAAAAA"};
	size_t len = 0, parts = rnd(r) % 12;
	for (size_t p = 0; p < parts; p++) {
		const char *piece = pieces[rnd(r) % (sizeof pieces / sizeof pieces[0])];
		size_t n = strlen(piece);
		if (len + n > max)
			break;
		memcpy(t + len, piece, n);
		len += n;
	}
	return len;
}

static void test_pct(void)
{
	struct rng r = {0x5EED5EED1234ull};
	char in[200], a[200], b[200];
	for (int t = 0; t < 100000; t++) {
		size_t len = random_text(&r, in, sizeof in);
		size_t cap = rnd(&r) % 2 ? rnd(&r) % 40 : sizeof a;
		int measure = rnd(&r) % 4 == 0;
		size_t na = 777, nb = 777, bada = 999, badb = 999;
		memset(a, 0x11, sizeof a);
		memset(b, 0x11, sizeof b);
		enum pct_res ra = pct_decode(in, len, measure ? NULL : a, cap, &na, &bada);
		enum pct_res rb = old_pct_decode(in, len, measure ? NULL : b, cap, &nb, &badb);
		CHECKF(ra == rb, "case %d: %d vs %d", t, (int)ra, (int)rb);
		CHECKF(na == nb && bada == badb, "case %d: n %zu/%zu bad %zu/%zu", t, na, nb, bada,
		       badb);
		if (ra == PCT_OK && !measure)
			CHECKF(memcmp(a, b, na) == 0, "case %d: bytes differ", t);
	}
}

static void test_bodies(void)
{
	struct rng r = {0xF0F0F0F0ABCDull};
	static const char *names[] = {"data", "model", "", "metric", "data", "x%41", "a+b"};
	int parsed = 0;
	for (int t = 0; t < 5000; t++) {
		char body[4096], raw[8][256];
		size_t rawlen[8], blen = 0;
		size_t pairs = rnd(&r) % 8;
		const char *pname[8];
		for (size_t p = 0; p < pairs; p++) {
			pname[p] = names[rnd(&r) % (sizeof names / sizeof names[0])];
			rawlen[p] = random_text(&r, raw[p], 200);
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
		/* Expected: an error exactly when some value has a malformed escape. */
		int bad_any = 0;
		for (size_t p = 0; p < pairs; p++) {
			size_t n, bad;
			if (old_pct_decode(raw[p], rawlen[p], NULL, (size_t)-1, &n, &bad) != PCT_OK)
				bad_any = 1;
			if (old_pct_decode(pname[p], strlen(pname[p]), NULL, (size_t)-1, &n, &bad) !=
			    PCT_OK)
				bad_any = 1;
		}
		CHECKF((rc == RB_OK) == !bad_any, "body %d: rc %d (%s)", t, (int)rc,
		       rc == RB_OK ? "" : err.msg);
		if (rc != RB_OK)
			continue;
		parsed++;
		for (size_t p = 0; p < pairs; p++) {
			char dname[64], dval[256];
			size_t nn, nv, bad;
			CHECK(old_pct_decode(pname[p], strlen(pname[p]), dname, 63, &nn, &bad) == PCT_OK);
			dname[nn] = '\0';
			int first = 1;
			for (size_t q = 0; q < p; q++) {
				char other[64];
				size_t on;
				CHECK(old_pct_decode(pname[q], strlen(pname[q]), other, 63, &on, &bad) ==
				      PCT_OK);
				other[on] = '\0';
				if (strcmp(other, dname) == 0)
					first = 0;
			}
			if (nn == 0 || !first)
				continue;
			CHECK(old_pct_decode(raw[p], rawlen[p], dval, sizeof dval, &nv, &bad) == PCT_OK);
			size_t got_len = 0;
			const char *got = form_get(f, dname, &got_len);
			CHECKF(got != NULL, "body %d: field '%s' missing", t, dname);
			CHECKF(got_len == nv && memcmp(got, dval, nv) == 0 && got[nv] == '\0',
			       "body %d: field '%s' differs", t, dname);
		}
		form_free(f);
	}
	CHECK(parsed > 500);
}

int main(void)
{
	test_pct();
	test_bodies();
	return 0;
}
