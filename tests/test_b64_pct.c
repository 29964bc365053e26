/*
 * test_b64_pct: the fused decoder of urlencoded base64 (b64_decode_pct_buf,
 * b64_decode_pct_alloc: percent- and base64-decoding in one pass) against the
 * two-step path it replaces, kept here as the oracle: a byte-at-a-time
 * percent-decoder ('+' a space) followed by b64_decode_buf /
 * b64_decode_alloc on its output. Random decoded texts (valid base64 of
 * random bytes, line breaks, URL-safe and space variants, '=' in and out of
 * place, bad bytes, NUL, '%', non-ASCII, truncated groups) are urlencoded at
 * random (plain, '+', '%XX' in either case, also for alphabet characters, so
 * an escape falls anywhere in a group), with output caps from 0 up. Code,
 * bytes, length and message must be identical (offsets in messages count
 * decoded bytes). Malformed escapes: the fused decoder fails too. Fixed seed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/fcgi/b64.h"
#include "testutil.h"

static int hexv(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The oracle's first step: percent-decodes s[0..len) into out; -1 on a malformed escape. */
static long pct_oracle(const char *s, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (len - i < 3 || hexv((unsigned char)s[i + 1]) < 0 ||
			    hexv((unsigned char)s[i + 2]) < 0)
				return -1;
			c = (unsigned char)(hexv((unsigned char)s[i + 1]) << 4 |
			                    hexv((unsigned char)s[i + 2]));
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		out[o++] = (char)c;
	}
	return (long)o;
}

static const char ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A decoded text: mostly base64 of random bytes, with random damage. */
static size_t random_decoded(struct tu_rng *r, char *t, size_t max)
{
	size_t n = 0, groups = tu_rng_next(r) % (max / 5 + 1);
	int mode = (int)(tu_rng_next(r) % 4); /* 0 clean, 1 variants, 2 damaged, 3 very damaged */
	for (size_t g = 0; g < groups && n + 6 < max; g++) {
		for (int k = 0; k < 4; k++) {
			char c = ALPHA[tu_rng_next(r) % 64];
			if (mode >= 1 && tu_rng_next(r) % 16 == 0)
				c = "-_ \r\n\t"[tu_rng_next(r) % 6];
			if (mode >= 2 && tu_rng_next(r) % (mode == 2 ? 64 : 8) == 0)
				c = "=%.*\0\x80\xff\x7f\x1f\"'"[tu_rng_next(r) % 12];
			t[n++] = c;
		}
		if (mode >= 1 && tu_rng_next(r) % 10 == 0)
			t[n++] = '\n';
	}
	if (n > 0 && tu_rng_next(r) % 3 == 0) /* an incomplete last group, padded or not */
		n -= tu_rng_next(r) % 4;
	size_t pads = tu_rng_next(r) % 4 == 0 ? tu_rng_next(r) % 4 : 0;
	while (pads-- > 0 && n < max)
		t[n++] = '=';
	return n;
}

/* Urlencodes t[0..n) at random into u (room 3 * n); hostile: may break escapes. */
static size_t random_encode(struct tu_rng *r, const char *t, size_t n, char *u, int hostile)
{
	static const char HEX[] = "0123456789ABCDEF0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		int must = c == '%' || c == '+' || c == '&' || c == '=';
		if (c == ' ' && tu_rng_next(r) % 2 == 0) {
			u[o++] = '+';
		} else if (must || tu_rng_next(r) % 5 == 0) {
			int lc = (int)(tu_rng_next(r) % 2) * 16;
			u[o++] = '%';
			u[o++] = HEX[lc + (c >> 4)];
			u[o++] = HEX[lc + (c & 15)];
		} else {
			u[o++] = (char)c;
		}
	}
	if (hostile && o > 0) { /* cut or spoil an escape, or end on a lone '%' */
		size_t at = tu_rng_next(r) % o;
		switch (tu_rng_next(r) % 3) {
		case 0: u[at] = '%'; break;
		case 1: u[o++] = '%'; break;
		default: o = at; u[o++] = '%'; u[o++] = 'G'; break;
		}
	}
	return o;
}

static void compare_one(int t, const char *u, size_t ulen, size_t cap)
{
	static char dec[8192];
	static unsigned char a[8192], b[8192];
	struct rb_err ea = {0}, eb = {0};
	size_t na = 777, nb = 777;
	long dl = pct_oracle(u, ulen, dec);
	enum rb_code ra = b64_decode_pct_buf(u, ulen, a, cap, &na, &ea);
	if (dl < 0) {
		CHECKF(ra == RB_E_INPUT || ra == RB_E_TOO_LARGE,
		       "case %d: malformed escape accepted (%d)", t, (int)ra);
		return;
	}
	enum rb_code rb = b64_decode_buf(dec, (size_t)dl, b, cap, &nb, &eb);
	CHECKF(ra == rb, "case %d: rc %d vs %d (%s | %s)", t, (int)ra, (int)rb, ea.msg, eb.msg);
	CHECKF(strcmp(ea.msg, eb.msg) == 0, "case %d: '%s' vs '%s'", t, ea.msg, eb.msg);
	CHECKF(na == nb, "case %d: length %zu vs %zu", t, na, nb);
	if (ra == RB_OK)
		CHECKF(memcmp(a, b, na) == 0, "case %d: bytes differ", t);

	char *pa = NULL, *pb = NULL;
	size_t la = 0, lb = 0;
	memset(&ea, 0, sizeof ea);
	memset(&eb, 0, sizeof eb);
	ra = b64_decode_pct_alloc(u, ulen, cap, &pa, &la, &ea);
	rb = b64_decode_alloc(dec, (size_t)dl, cap, &pb, &lb, &eb);
	CHECKF(ra == rb && strcmp(ea.msg, eb.msg) == 0, "case %d alloc: %d '%s' vs %d '%s'", t,
	       (int)ra, ea.msg, (int)rb, eb.msg);
	CHECKF(la == lb && (pa == NULL) == (pb == NULL), "case %d alloc: lengths", t);
	if (pa != NULL)
		CHECKF(memcmp(pa, pb, la + 1) == 0, "case %d alloc: bytes differ", t);
	free(pa);
	free(pb);
}

static void test_random(void)
{
	struct tu_rng r = {0xB64FC5EDull};
	char t[2048], u[6200];
	int ok = 0, bad = 0;
	for (int k = 0; k < 60000; k++) {
		size_t n = random_decoded(&r, t, 1 + tu_rng_next(&r) % sizeof t);
		int hostile = tu_rng_next(&r) % 8 == 0;
		size_t ul = random_encode(&r, t, n, u, hostile);
		size_t max = b64_decoded_max(n);
		size_t cap = tu_rng_next(&r) % 3 == 0 ? tu_rng_next(&r) % (max + 3) : max;
		compare_one(k, u, ul, cap);
		unsigned char sink[4096];
		size_t sn;
		if (b64_decode_pct_buf(u, ul, sink, sizeof sink, &sn, NULL) == RB_OK)
			ok++;
		else
			bad++;
	}
	CHECKF(ok > 5000 && bad > 5000, "coverage: %d decoded, %d rejected", ok, bad);
}

/* Every single byte 0..255, escaped or not, in each position of a group. */
static void test_each_byte(void)
{
	char u[32];
	int k = 0;
	for (int c = 0; c < 256; c++)
		for (int pos = 0; pos < 6; pos++)
			for (int esc = 0; esc < 2; esc++) {
				static const char base[] = "QUJD";
				size_t o = 0;
				for (int i = 0; i < pos; i++)
					u[o++] = base[i % 4];
				if (esc || c == '%')
					o += (size_t)snprintf(u + o, 4, "%%%02X", c);
				else
					u[o++] = (char)c;
				memcpy(u + o, "RA==", 4);
				o += 4;
				compare_one(k++, u, o, 64);
			}
}

/* A browser's urlencoding of base64 JSON: every '+', '/' and '=' escaped. */
static void test_json(void)
{
	const char *json = "[{\"timestamp\":\"2026-11-27T00:00:00Z\",\"result\":{\"bytes\":1234}}]";
	size_t jl = strlen(json);
	char b[256], u[768];
	size_t bl = 0;
	for (size_t i = 0; i < jl; i += 3) {
		unsigned long g = (unsigned long)(unsigned char)json[i] << 16;
		if (i + 1 < jl)
			g |= (unsigned long)(unsigned char)json[i + 1] << 8;
		if (i + 2 < jl)
			g |= (unsigned char)json[i + 2];
		b[bl++] = ALPHA[g >> 18 & 63];
		b[bl++] = ALPHA[g >> 12 & 63];
		b[bl++] = i + 1 < jl ? ALPHA[g >> 6 & 63] : '=';
		b[bl++] = i + 2 < jl ? ALPHA[g & 63] : '=';
	}
	size_t ul = 0;
	for (size_t i = 0; i < bl; i++) {
		if (b[i] == '+' || b[i] == '/' || b[i] == '=')
			ul += (size_t)snprintf(u + ul, 4, "%%%02X", (unsigned char)b[i]);
		else
			u[ul++] = b[i];
	}
	char *out = NULL;
	size_t n = 0;
	CHECK(b64_decode_pct_alloc(u, ul, 1 << 20, &out, &n, NULL) == RB_OK);
	CHECK(n == jl && memcmp(out, json, jl) == 0 && out[n] == '\0');
	free(out);
	struct rb_err err = {0};
	CHECK(b64_decode_pct_alloc(u, ul, jl - 1, &out, &n, &err) == RB_E_TOO_LARGE);
	CHECK(out == NULL && strstr(err.msg, "over") != NULL);
	compare_one(-1, u, ul, jl);
}


/* Base64 text of n characters (no padding) from the fixed generator, every alphabet variant in it. */
static void base_text(char *t, size_t n, uint64_t seed)
{
	static const char ALL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_ ";
	struct tu_rng r = {seed};
	for (size_t i = 0; i < n; i++)
		t[i] = ALL[tu_rng_next(&r) % (sizeof ALL - 1)];
}

/* Urlencodes t[0..n) into u: ' ' as '+', '+' and '%' escaped, and t[i] escaped when esc(i). */
static size_t encode_where(const char *t, size_t n, char *u, int (*esc)(size_t i))
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == ' ') {
			u[o++] = '+';
		} else if (c == '+' || c == '%' || esc(i)) {
			const char *hex = i % 2 ? "0123456789abcdef" : "0123456789ABCDEF";
			u[o++] = '%';
			u[o++] = hex[c >> 4];
			u[o++] = hex[c & 15];
		} else {
			u[o++] = (char)c;
		}
	}
	return o;
}

static int esc_none(size_t i)
{
	(void)i;
	return 0;
}

static int esc_all(size_t i)
{
	(void)i;
	return 1;
}

static int esc_some(size_t i)
{
	return i % 7 == 3 || i % 13 == 0;
}

/*
 * Every length 0..200 of clean text (around the 16-byte blocks of the fast
 * path), urlencoded without escapes, with all, with some, and with exactly one
 * at each position; and with every output cap from 0 up for the plain one.
 */
static void test_lengths(void)
{
	char t[256], u[800];
	int k = 100000;
	for (size_t n = 0; n <= 200; n++) {
		base_text(t, n, 0x5EED0000u + n);
		size_t ul = encode_where(t, n, u, esc_none);
		for (size_t cap = 0; cap <= b64_decoded_max(n); cap++)
			compare_one(k++, u, ul, cap);
		compare_one(k++, u, encode_where(t, n, u, esc_all), b64_decoded_max(n));
		compare_one(k++, u, encode_where(t, n, u, esc_some), b64_decoded_max(n));
		for (size_t p = 0; p < n; p++) {
			char one[256];
			memcpy(one, t, n);
			size_t o = 0;
			for (size_t i = 0; i < n; i++) { /* t with one[p] escaped */
				if (i == p || one[i] == '+')
					o += (size_t)snprintf(u + o, 4, p % 2 ? "%%%02x" : "%%%02X",
					                      (unsigned char)one[i]);
				else
					u[o++] = one[i] == ' ' ? '+' : one[i];
			}
			compare_one(k++, u, o, b64_decoded_max(n));
			compare_one(k++, u, o, (n / 2) / 4 * 3); /* the cap passed mid-text */
		}
	}
}

/*
 * Something unusual at every position p of clean texts of lengths 0..200
 * (with some escapes before and after): line breaks, padding in and out of
 * place, escaped padding and whitespace, bad bytes plain and escaped, and
 * malformed or cut escapes (a '%' falls on every offset of a block).
 */
static void test_anomalies(void)
{
	static const char *const odd[] = {
		"\n", "\r\n", "\t", "=", "==", "%3D", "%3d%3D", "%0A", "%0d%0a", "%09",
		".", "%2E", "%00", "%80", "\x80", "\xff", "*", "%", "%G0", "%4", "%4g", "%%41",
		"%3D%3DQQ", "=QQ",
	};
	char t[256], u[900];
	int k = 200000;
	for (size_t n = 0; n <= 200; n += n < 40 ? 1 : 3) {
		base_text(t, n, 0xA11CE000u + n);
		for (size_t p = 0; p <= n; p++) {
			for (size_t w = 0; w < sizeof odd / sizeof odd[0]; w++) {
				size_t o = encode_where(t, p, u, esc_some);
				size_t ol = strlen(odd[w]);
				memcpy(u + o, odd[w], ol);
				o += ol;
				o += encode_where(t + p, n - p, u + o, esc_some);
				compare_one(k++, u, o, b64_decoded_max(n + 8));
			}
		}
	}
}

/* Every byte, plain and escaped (either case), at every offset of the first three blocks. */
static void test_each_byte_in_blocks(void)
{
	char t[64], u[200];
	base_text(t, sizeof t, 0xB10C);
	int k = 400000;
	for (int c = 0; c < 256; c++)
		for (size_t p = 0; p < 48; p++)
			for (int form = 0; form < 3; form++) {
				size_t o = encode_where(t, p, u, esc_none);
				if (form == 0 && c != '%')
					u[o++] = (char)c;
				else
					o += (size_t)snprintf(u + o, 4, form == 2 ? "%%%02x" : "%%%02X", c);
				o += encode_where(t + p, sizeof t - p, u + o, esc_none);
				compare_one(k++, u, o, 64);
			}
}

/* A long text (several scratch chunks): escapes and output caps around the chunk edges. */
static void test_long(void)
{
	static char t[5000], u[15000];
	base_text(t, sizeof t, 0x10C);
	for (int v = 0; v < 3; v++)
		for (size_t p = 1016; p < 1032; p++) {
			size_t o = 0;
			for (size_t i = 0; i < sizeof t; i++) {
				int e = (v == 0 && i == p) || (v == 1 && i % 1024 == p % 1024) ||
				        (v == 2 && i % 31 == p % 31) || t[i] == '+';
				if (e)
					o += (size_t)snprintf(u + o, 4, "%%%02X", (unsigned char)t[i]);
				else
					u[o++] = t[i] == ' ' ? '+' : t[i];
			}
			compare_one(500000 + (int)p, u, o, sizeof t);
			compare_one(500100 + (int)p, u, o, (p - 1016) * 48 + 700);
			compare_one(500200 + (int)p, u, o, p / 4 * 3);
			compare_one(500300 + (int)p, u, o, 2 * p / 4 * 3 + 1);
		}
}

int main(void)
{
	test_each_byte();
	test_json();
	test_random();
	test_lengths();
	test_anomalies();
	test_each_byte_in_blocks();
	test_long();
	return 0;
}
