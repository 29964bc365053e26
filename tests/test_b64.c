/*
 * b64: the lenient decoder of CONTRACT §1. A table of fixed cases (both
 * alphabets, space as '+', missing padding, ignored CR/LF/TAB, every byte
 * outside the alphabet rejected, '=' misplaced, 1-3 leftover characters, caps,
 * which of several problems is reported), then round-trips of random bytes
 * through a test-only encoder in both alphabets, with and without padding,
 * with '+' turned into ' ', and wrapped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/fcgi/b64.h"
#include "testutil.h"

struct b64_case {
	const char *in;
	size_t len;       /* 0: strlen(in) */
	enum rb_code code;
	const char *out;  /* expected bytes when code == RB_OK */
	size_t out_len;   /* 0: strlen(out) */
	const char *msg;  /* substring of the error message, or NULL */
};

static const struct b64_case cases[] = {
	{"", 0, RB_OK, "", 0, NULL},
	{"QQ==", 0, RB_OK, "A", 0, NULL},
	{"QQ=", 0, RB_OK, "A", 0, NULL},
	{"QQ", 0, RB_OK, "A", 0, NULL},
	{"QUI=", 0, RB_OK, "AB", 0, NULL},
	{"QUI", 0, RB_OK, "AB", 0, NULL},
	{"QUJD", 0, RB_OK, "ABC", 0, NULL},
	{"aGVsbG8gd29ybGQ=", 0, RB_OK, "hello world", 0, NULL},
	/* 0xfb 0xff 0xbf: "+/+/" standard, "-_-_" URL-safe, " /-_" mixed with a space */
	{"+/+/", 0, RB_OK, "\xfb\xff\xbf", 0, NULL},
	{"-_-_", 0, RB_OK, "\xfb\xff\xbf", 0, NULL},
	{" _+/", 0, RB_OK, "\xfb\xff\xbf", 0, NULL},
	{"    ", 0, RB_OK, "\xfb\xef\xbe", 0, NULL},
	{"QU\r\nJD\tRA\n==\r\n", 0, RB_OK, "ABCD", 0, NULL},
	{"\n\n\n", 0, RB_OK, "", 0, NULL},
	/* non-zero unused bits in the last group: tolerated */
	{"QR", 0, RB_OK, "A", 0, NULL},
	{"QUJ", 0, RB_OK, "AB", 0, NULL},
	/* leftovers */
	{"Q", 0, RB_E_INPUT, NULL, 0, "truncated"},
	{"QUJDR", 0, RB_E_INPUT, NULL, 0, "truncated"},
	{"Q===", 0, RB_E_INPUT, NULL, 0, NULL},
	{"QUJDR===", 0, RB_E_INPUT, NULL, 0, NULL},
	/* misplaced padding */
	{"=", 0, RB_E_INPUT, NULL, 0, "unexpected '='"},
	{"====", 0, RB_E_INPUT, NULL, 0, "unexpected '='"},
	{"QUJD=", 0, RB_E_INPUT, NULL, 0, "unexpected '=' at offset 4"},
	{"QQ===", 0, RB_E_INPUT, NULL, 0, "too much"},
	{"QUI==", 0, RB_E_INPUT, NULL, 0, "too much"},
	{"QQ==QUJD", 0, RB_E_INPUT, NULL, 0, "'=' at offset 2 is followed by data"},
	{"QU=JD", 0, RB_E_INPUT, NULL, 0, "followed by data"},
	{"=QUJD", 0, RB_E_INPUT, NULL, 0, "followed by data"},
	/* characters the old decoder dropped silently */
	{"QU.JD", 0, RB_E_INPUT, NULL, 0, "character '.' at offset 2"},
	{"QUJD%2B", 0, RB_E_INPUT, NULL, 0, "character '%' at offset 4"},
	{"QU\0JD", 5, RB_E_INPUT, NULL, 0, "byte 0x00 at offset 2"},
	{"QUJD\xc3\xa9", 0, RB_E_INPUT, NULL, 0, "byte 0xc3 at offset 4"},
	{"QUJD\v", 0, RB_E_INPUT, NULL, 0, "byte 0x0b"},
	{"QUJD\f", 0, RB_E_INPUT, NULL, 0, "byte 0x0c"},
	{"QUJD\x7f", 0, RB_E_INPUT, NULL, 0, "byte 0x7f"},
	{"\"QUJD\"", 0, RB_E_INPUT, NULL, 0, "character '\"' at offset 0"},
};

static void run_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct b64_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		struct rb_err err = {0};
		char *out = NULL;
		size_t n = 99;
		enum rb_code rc = b64_decode_alloc(c->in, len, 1 << 20, &out, &n, &err);
		CHECKF(rc == c->code, "case %zu (%s): code %d, want %d (%s)", i, c->in, rc, c->code,
		       err.msg);
		if (rc != RB_OK) {
			CHECK(out == NULL && n == 0);
			CHECK(err.code == rc);
			if (c->msg != NULL)
				CHECKF(strstr(err.msg, c->msg) != NULL, "case %zu: message '%s' lacks '%s'",
				       i, err.msg, c->msg);
			continue;
		}
		size_t want = c->out_len ? c->out_len : strlen(c->out);
		CHECKF(n == want && memcmp(out, c->out, n) == 0, "case %zu (%s): wrong bytes", i,
		       c->in);
		CHECK(out[n] == '\0');
		free(out);
	}
}

/* Every byte value: alphabet characters, space and the three ignored ones decode; the rest fail. */
static void every_byte(void)
{
	for (int b = 0; b < 256; b++) {
		char in[5] = {'Q', 'U', 'J', (char)b, 0};
		unsigned char out[8];
		size_t n;
		struct rb_err err = {0};
		enum rb_code rc = b64_decode_buf(in, 4, out, sizeof out, &n, &err);
		int alpha = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
		            b == '+' || b == '/' || b == '-' || b == '_' || b == ' ';
		if (alpha)
			CHECKF(rc == RB_OK && n == 3, "byte 0x%02x", b);
		else if (b == '\r' || b == '\n' || b == '\t' || b == '=')
			CHECKF(rc == RB_OK && n == 2 && memcmp(out, "AB", 2) == 0, "byte 0x%02x", b);
		else
			CHECKF(rc == RB_E_INPUT && strstr(err.msg, "offset 3") != NULL,
			       "byte 0x%02x: %d %s", b, rc, err.msg);
	}
}

/*
 * Which error a text with several problems gets: the first one met reading
 * left to right, where the cap is met at the end of the group of four that
 * overflows it (or at the end, for the last partial group).
 */
static void first_problem_wins(void)
{
	static const struct {
		const char *in;
		size_t cap;
		enum rb_code code;
		const char *msg;
	} cases[] = {
		{"QUJDQUJD.", 3, RB_E_TOO_LARGE, "over 3 bytes"},
		{"QUJD.QUJD", 3, RB_E_INPUT, "character '.' at offset 4"},
		{"QUJDQU.JD", 3, RB_E_INPUT, "character '.' at offset 6"},
		{"QUJDQUJ.", 3, RB_E_INPUT, "character '.' at offset 7"},
		{"QQ==QUJDQUJD", 1, RB_E_INPUT, "'=' at offset 2 is followed by data"},
		{"QUJDQUJDQQ==QUJD", 3, RB_E_TOO_LARGE, "over 3 bytes"},
		{"QUJDQQ==QUJD", 3, RB_E_INPUT, "'=' at offset 6 is followed by data"},
		{"QUJDQ", 3, RB_E_INPUT, "truncated"},
		{"QUJDQUJDQ", 3, RB_E_TOO_LARGE, "over 3 bytes"},
		{"QUJDQU", 3, RB_E_TOO_LARGE, "over 3 bytes"},
		{"QUJDQUI", 4, RB_E_TOO_LARGE, "over 4 bytes"},
		{"QUJDQUI=", 5, RB_OK, NULL},
		{"QU\r\nJD\n.", 9, RB_E_INPUT, "character '.' at offset 7"},
		{"QU\r\nJD\n\x80", 9, RB_E_INPUT, "byte 0x80 at offset 7"},
		{"QQ=\n=", 1, RB_OK, NULL},
		{"Q=\n", 9, RB_E_INPUT, "truncated"},
		{"QUJD=Q", 9, RB_E_INPUT, "'=' at offset 4 is followed by data"},
		{"QUJD===", 9, RB_E_INPUT, "unexpected '=' at offset 4"},
		{"QQ=.", 9, RB_E_INPUT, "character '.' at offset 3"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned char out[16];
		size_t n = 99;
		struct rb_err err = {0};
		enum rb_code rc = b64_decode_buf(cases[i].in, strlen(cases[i].in), out, cases[i].cap, &n,
		                                 &err);
		CHECKF(rc == cases[i].code, "case %zu: code %d, want %d (%s)", i, rc, cases[i].code,
		       err.msg);
		if (rc != RB_OK)
			CHECKF(n == 0 && strstr(err.msg, cases[i].msg) != NULL,
			       "case %zu: n %zu, message '%s' lacks '%s'", i, n, err.msg, cases[i].msg);
	}
}

static void caps(void)
{
	unsigned char out[3];
	size_t n = 7;
	struct rb_err err = {0};
	CHECK(b64_decode_buf("QUJD", 4, out, 3, &n, &err) == RB_OK && n == 3);
	CHECK(b64_decode_buf("QUJDRA", 6, out, 3, &n, &err) == RB_E_TOO_LARGE && n == 0);
	CHECK(strstr(err.msg, "over 3 bytes") != NULL);
	CHECK(b64_decode_buf("QUI", 3, out, 1, &n, &err) == RB_E_TOO_LARGE);
	CHECK(b64_decode_buf("", 0, NULL, 0, &n, &err) == RB_OK && n == 0);

	char *p = (char *)1;
	CHECK(b64_decode_alloc("QUJDRA==", 8, 3, &p, &n, &err) == RB_E_TOO_LARGE && p == NULL);
	CHECK(strstr(err.msg, "over 3 bytes") != NULL);
	CHECK(b64_decode_alloc("QUJDRA==", 8, 4, &p, &n, &err) == RB_OK && n == 4);
	free(p);
	/* the error buffer is optional */
	CHECK(b64_decode_alloc("Q", 1, 10, &p, &n, NULL) == RB_E_INPUT && p == NULL);

	/* a large input: 3 MiB decoded, and the same over a 1 MiB cap */
	size_t big = 4u << 20;
	char *in = malloc(big);
	CHECK(in != NULL);
	memset(in, 'A', big);
	CHECK(b64_decode_alloc(in, big, 3u << 20, &p, &n, &err) == RB_OK && n == (3u << 20));
	CHECK(p[0] == 0 && p[n - 1] == 0);
	free(p);
	CHECK(b64_decode_alloc(in, big, 1u << 20, &p, &n, &err) == RB_E_TOO_LARGE && p == NULL);
	free(in);
}

/* Test-only encoder: standard or URL-safe alphabet, with or without padding. */
static size_t enc(const unsigned char *in, size_t len, int urlsafe, int pad, char *out)
{
	const char *a = urlsafe ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	                        : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		unsigned long g = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
		out[o++] = a[g >> 18 & 63];
		out[o++] = a[g >> 12 & 63];
		out[o++] = a[g >> 6 & 63];
		out[o++] = a[g & 63];
	}
	size_t r = len - i;
	if (r > 0) {
		unsigned long g = (unsigned long)in[i] << 16 | (r == 2 ? (unsigned long)in[i + 1] << 8 : 0);
		out[o++] = a[g >> 18 & 63];
		out[o++] = a[g >> 12 & 63];
		if (r == 2)
			out[o++] = a[g >> 6 & 63];
		if (pad) {
			out[o++] = '=';
			if (r == 1)
				out[o++] = '=';
		}
	}
	return o;
}

static struct tu_rng rng = {0x9e3779b97f4a7c15u};

/* 32 bits of the next random value (bits 16..47). */
static uint32_t rnd(void)
{
	return (uint32_t)(tu_rng_next(&rng) >> 16);
}

static void round_trips(void)
{
	unsigned char src[300];
	char text[1000], wrapped[1200];
	unsigned char back[300];
	for (int iter = 0; iter < 4000; iter++) {
		size_t len = rnd() % sizeof src;
		for (size_t i = 0; i < len; i++)
			src[i] = (unsigned char)rnd();
		int urlsafe = iter & 1, pad = (iter >> 1) & 1, mode = (iter >> 2) & 3;
		size_t tl = enc(src, len, urlsafe, pad, text);
		const char *in = text;
		size_t il = tl;
		if (mode == 1) { /* form decoding turned '+' into ' ' */
			for (size_t i = 0; i < tl; i++)
				if (text[i] == '+')
					text[i] = ' ';
		} else if (mode == 2) { /* wrapped at 76 with CRLF, a TAB and a trailing LF */
			il = 0;
			for (size_t i = 0; i < tl; i++) {
				if (i > 0 && i % 76 == 0) {
					wrapped[il++] = '\r';
					wrapped[il++] = '\n';
				}
				if (i == 5)
					wrapped[il++] = '\t';
				wrapped[il++] = text[i];
			}
			wrapped[il++] = '\n';
			in = wrapped;
		}
		size_t n;
		struct rb_err err = {0};
		enum rb_code rc = b64_decode_buf(in, il, back, sizeof back, &n, &err);
		CHECKF(rc == RB_OK, "iter %d: %s", iter, err.msg);
		CHECKF(n == len && memcmp(back, src, len) == 0, "iter %d: len %zu got %zu", iter, len, n);
		CHECK(n <= b64_decoded_max(il));
		/* exactly enough room works, one byte less is TOO_LARGE */
		if (len > 0) {
			rc = b64_decode_buf(in, il, back, len - 1, &n, &err);
			CHECK(rc == RB_E_TOO_LARGE);
		}
	}
}

int main(void)
{
	run_cases();
	every_byte();
	first_problem_wins();
	caps();
	round_trips();
	return 0;
}
