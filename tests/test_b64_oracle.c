/*
 * test_b64_oracle: b64_decode_buf() (table lookup, whole groups of four at a
 * time) against the former byte-at-a-time decoder kept here as the oracle,
 * on random inputs: valid base64 with line breaks, URL-safe and space
 * variants, '=' padding in and out of place, bad bytes, truncated groups, and
 * output caps from 0 up. The return code, the decoded bytes and length and
 * the error message must all be identical.
 */
#include <stdint.h>
#include <string.h>

#include "rb/fcgi/b64.h"
#include "testutil.h"

/* Sextet of an alphabet character; B64_SKIP for CR/LF/TAB, B64_PAD for '=', B64_BAD otherwise. */
enum { B64_SKIP = -1, B64_PAD = -2, B64_BAD = -3 };

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	switch (c) {
	case '+':
	case '-':
	case ' ':
		return 62;
	case '/':
	case '_':
		return 63;
	case '=':
		return B64_PAD;
	case '\r':
	case '\n':
	case '\t':
		return B64_SKIP;
	default:
		return B64_BAD;
	}
}

/* Appends k bytes of the 24-bit group to out; RB_E_TOO_LARGE past out_cap. */
static enum rb_code emit(unsigned long group, int k, unsigned char *out, size_t out_cap,
                         size_t *n, struct rb_err *err)
{
	if (out_cap - *n < (size_t)k)
		return rb_err_set(err, RB_E_TOO_LARGE, "decoded base64 is over %zu bytes", out_cap);
	for (int j = 0; j < k; j++)
		out[(*n)++] = (unsigned char)(group >> (16 - 8 * j));
	return RB_OK;
}

static enum rb_code old_decode_buf(const char *in, size_t len, unsigned char *out, size_t out_cap,
                            size_t *out_len, struct rb_err *err)
{
	unsigned long group = 0; /* up to 4 sextets, most significant first */
	int q = 0;               /* sextets in group */
	size_t pads = 0, pad_at = 0, n = 0;
	enum rb_code rc;

	*out_len = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v = b64_value(c);
		if (v == B64_SKIP)
			continue;
		if (v == B64_PAD) {
			if (pads == 0)
				pad_at = i;
			pads++;
			continue;
		}
		if (v == B64_BAD) {
			if (c > 0x20 && c < 0x7f)
				return rb_err_set(err, RB_E_INPUT,
				                  "invalid base64: character '%c' at offset %zu", c, i);
			return rb_err_set(err, RB_E_INPUT, "invalid base64: byte 0x%02x at offset %zu",
			                  c, i);
		}
		if (pads > 0)
			return rb_err_set(err, RB_E_INPUT,
			                  "invalid base64: '=' at offset %zu is followed by data", pad_at);
		group = group << 6 | (unsigned long)v;
		q++;
		if (q == 4) {
			rc = emit(group, 3, out, out_cap, &n, err);
			if (rc != RB_OK)
				return rc;
			group = 0;
			q = 0;
		}
	}
	if (q == 1)
		return rb_err_set(err, RB_E_INPUT,
		                  "invalid base64: truncated (one character left in the last group)");
	if (pads > 0 && q == 0)
		return rb_err_set(err, RB_E_INPUT,
		                  "invalid base64: unexpected '=' at offset %zu", pad_at);
	if (pads > 0 && (size_t)q + pads > 4)
		return rb_err_set(err, RB_E_INPUT, "invalid base64: too much '=' padding at offset %zu",
		                  pad_at);
	if (q == 2)
		rc = emit(group << 12, 1, out, out_cap, &n, err);
	else if (q == 3)
		rc = emit(group << 6, 2, out, out_cap, &n, err);
	else
		rc = RB_OK;
	if (rc != RB_OK)
		return rc;
	*out_len = n;
	return RB_OK;
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

static const char ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Random input of up to 200 bytes, mostly alphabet characters. */
static size_t random_input(struct rng *r, char *in)
{
	size_t len = rnd(r) % 201;
	unsigned noise = (unsigned)(rnd(r) % 4); /* 0: clean, 3: noisy */
	for (size_t i = 0; i < len; i++) {
		uint64_t k = rnd(r) % 100;
		if (noise == 0 || k >= noise * 4) {
			in[i] = ALPHA[rnd(r) % 64];
			continue;
		}
		static const char odd[] = "\r\n\t -_=*.\0\x80\xff~";
		in[i] = odd[rnd(r) % (sizeof odd - 1)];
	}
	/* sometimes proper padding at the end */
	if (len >= 2 && rnd(r) % 3 == 0)
		in[len - 1] = '=';
	if (len >= 3 && rnd(r) % 5 == 0)
		in[len - 2] = '=';
	return len;
}

int main(void)
{
	struct rng r = {0xB64B64B64ull};
	char in[256];
	unsigned char a[256], b[256];
	for (int t = 0; t < 200000; t++) {
		size_t len = random_input(&r, in);
		size_t cap = rnd(&r) % 4 == 0 ? rnd(&r) % 160 : b64_decoded_max(len);
		struct rb_err ea, eb;
		memset(&ea, 0, sizeof ea);
		memset(&eb, 0, sizeof eb);
		memset(a, 0xAA, sizeof a);
		memset(b, 0xAA, sizeof b);
		size_t na = 12345, nb = 54321;
		enum rb_code ra = b64_decode_buf(in, len, a, cap, &na, &ea);
		enum rb_code rb = old_decode_buf(in, len, b, cap, &nb, &eb);
		CHECKF(ra == rb, "case %d: rc %d vs %d", t, (int)ra, (int)rb);
		CHECKF(na == nb, "case %d: len %zu vs %zu", t, na, nb);
		if (ra == RB_OK)
			CHECKF(memcmp(a, b, na) == 0, "case %d: bytes differ", t);
		else
			CHECKF(strcmp(ea.msg, eb.msg) == 0, "case %d: '%s' vs '%s'", t, ea.msg, eb.msg);
	}
	return 0;
}
