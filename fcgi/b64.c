/*
 * b64: lenient base64 decoding of form fields (CONTRACT §1); the accepted and
 * rejected inputs are listed in include/b64.h. One pass (a table lookup per
 * byte, whole groups of four at a time), no allocation in b64_decode_buf, a
 * hard output cap. Not an encoder; not constant-time (the
 * input is not secret).
 */
#include "b64.h"

#include <stdlib.h>

/* Sextet of an alphabet character; B64_SKIP for CR/LF/TAB, B64_PAD for '=', B64_BAD otherwise. */
enum { B64_SKIP = -1, B64_PAD = -2, B64_BAD = -3 };

/*
 * Per byte: sextet + 1 for an alphabet character ('+' '-' ' ' are 62, '/'
 * '_' are 63), T_SKIP for CR/LF/TAB, T_PAD for '=', 0 for anything else.
 */
enum { T_SKIP = 65, T_PAD = 66 };

#define R4(c, v) [(c)] = (v) + 1, [(c) + 1] = (v) + 2, [(c) + 2] = (v) + 3, [(c) + 3] = (v) + 4
#define R8(c, v) R4((c), (v)), R4((c) + 4, (v) + 4)
static const unsigned char B64_TABLE[256] = {
	R8('A', 0), R8('I', 8), R8('Q', 16), ['Y'] = 25, ['Z'] = 26,
	R8('a', 26), R8('i', 34), R8('q', 42), ['y'] = 51, ['z'] = 52,
	R8('0', 52), ['8'] = 61, ['9'] = 62,
	['+'] = 63, ['-'] = 63, [' '] = 63, ['/'] = 64, ['_'] = 64,
	['='] = T_PAD, ['\r'] = T_SKIP, ['\n'] = T_SKIP, ['\t'] = T_SKIP,
};
#undef R4
#undef R8

static int b64_value(unsigned char c)
{
	unsigned t = B64_TABLE[c];
	if (t == 0)
		return B64_BAD;
	if (t == T_SKIP)
		return B64_SKIP;
	if (t == T_PAD)
		return B64_PAD;
	return (int)t - 1;
}

size_t b64_decoded_max(size_t len)
{
	return len / 4 * 3 + 2;
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

enum rb_code b64_decode_buf(const char *in, size_t len, unsigned char *out, size_t out_cap,
                            size_t *out_len, struct rb_err *err)
{
	unsigned long group = 0; /* up to 4 sextets, most significant first */
	int q = 0;               /* sextets in group */
	size_t pads = 0, pad_at = 0, n = 0;
	enum rb_code rc;

	*out_len = 0;
	for (size_t i = 0; i < len; i++) {
		/* Fast path: four alphabet characters make one whole group. */
		while (q == 0 && pads == 0 && len - i >= 4 && out_cap - n >= 3) {
			const unsigned char *u = (const unsigned char *)in + i;
			unsigned a = B64_TABLE[u[0]], b = B64_TABLE[u[1]], c2 = B64_TABLE[u[2]],
			         d = B64_TABLE[u[3]];
			if (a - 1u >= 64u || b - 1u >= 64u || c2 - 1u >= 64u || d - 1u >= 64u)
				break;
			unsigned long g = (unsigned long)(a - 1u) << 18 | (unsigned long)(b - 1u) << 12 |
			                  (unsigned long)(c2 - 1u) << 6 | (unsigned long)(d - 1u);
			out[n++] = (unsigned char)(g >> 16);
			out[n++] = (unsigned char)(g >> 8);
			out[n++] = (unsigned char)g;
			i += 4;
		}
		if (i == len)
			break;
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

enum rb_code b64_decode_alloc(const char *in, size_t len, size_t cap, char **out,
                              size_t *out_len, struct rb_err *err)
{
	*out = NULL;
	*out_len = 0;
	size_t room = b64_decoded_max(len);
	if (room > cap)
		room = cap;
	unsigned char *buf = malloc(room + 1);
	if (buf == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory decoding base64");
	size_t n;
	enum rb_code rc = b64_decode_buf(in, len, buf, room, &n, err);
	if (rc == RB_E_TOO_LARGE)
		rc = rb_err_set(err, RB_E_TOO_LARGE, "decoded base64 is over %zu bytes", cap);
	if (rc != RB_OK) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	*out_len = n;
	return RB_OK;
}

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Per byte: its hex digit value, or 16 when it is not a hex digit. */
#define H16(c) [(c)] = 16, [(c) + 1] = 16, [(c) + 2] = 16, [(c) + 3] = 16, [(c) + 4] = 16, \
	[(c) + 5] = 16, [(c) + 6] = 16, [(c) + 7] = 16, [(c) + 8] = 16, [(c) + 9] = 16, \
	[(c) + 10] = 16, [(c) + 11] = 16, [(c) + 12] = 16, [(c) + 13] = 16, [(c) + 14] = 16, \
	[(c) + 15] = 16
static const unsigned char HEX_TABLE[256] = {
	H16(0x00), H16(0x10), H16(0x20),
	['0'] = 0, ['1'] = 1, ['2'] = 2, ['3'] = 3, ['4'] = 4, ['5'] = 5, ['6'] = 6, ['7'] = 7,
	['8'] = 8, ['9'] = 9, [':'] = 16, [';'] = 16, ['<'] = 16, ['='] = 16, ['>'] = 16,
	['?'] = 16, ['@'] = 16, ['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14,
	['F'] = 15, ['G'] = 16, ['H'] = 16, ['I'] = 16, ['J'] = 16, ['K'] = 16, ['L'] = 16,
	['M'] = 16, ['N'] = 16, ['O'] = 16, H16(0x50), ['`'] = 16, ['a'] = 10, ['b'] = 11,
	['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15, ['g'] = 16, ['h'] = 16, ['i'] = 16,
	['j'] = 16, ['k'] = 16, ['l'] = 16, ['m'] = 16, ['n'] = 16, ['o'] = 16, H16(0x70),
	H16(0x80), H16(0x90), H16(0xa0), H16(0xb0), H16(0xc0), H16(0xd0), H16(0xe0), H16(0xf0),
};
#undef H16

/*
 * The B64_TABLE entry (1..64) of the alphabet character at in[*j] (j < len),
 * plain or escaped, and *j moved past it; 0 for anything else (padding,
 * CR/LF/TAB, a bad byte, a malformed or cut escape), *j untouched.
 */
static unsigned pct_sextet(const char *in, size_t len, size_t *j)
{
	unsigned char c = (unsigned char)in[*j];
	size_t step = 1;
	if (c == '%') {
		if (len - *j < 3)
			return 0;
		unsigned hi = HEX_TABLE[(unsigned char)in[*j + 1]];
		unsigned lo = HEX_TABLE[(unsigned char)in[*j + 2]];
		if ((hi | lo) > 15)
			return 0;
		c = (unsigned char)(hi << 4 | lo);
		step = 3;
	}
	unsigned t = B64_TABLE[c];
	if (t - 1u >= 64u)
		return 0;
	*j += step;
	return t;
}

/*
 * The loop of b64_decode_buf over percent-encoded input. i walks the raw
 * bytes; at is the offset of in[i] in the percent-decoded text (i minus two
 * per escape passed), the offset every message names. The fast path takes a
 * whole group of four alphabet characters at once: four plain bytes with
 * independent lookups ('+' maps to 62 like the space it stands for, '%' is
 * not in the table), else the group's characters one by one, escaped or not.
 * Anything else goes through the byte-by-byte rules of b64_decode_buf.
 */
enum rb_code b64_decode_pct_buf(const char *in, size_t len, unsigned char *out, size_t out_cap,
                                size_t *out_len, struct rb_err *err)
{
	unsigned long group = 0; /* up to 4 sextets, most significant first */
	int q = 0;               /* sextets in group */
	size_t pads = 0, pad_at = 0, n = 0, esc = 0;
	enum rb_code rc;

	*out_len = 0;
	for (size_t i = 0; i < len; i++) {
		while (q == 0 && pads == 0 && len - i >= 4 && out_cap - n >= 3) {
			const unsigned char *u = (const unsigned char *)in + i;
			unsigned a = B64_TABLE[u[0]], b = B64_TABLE[u[1]], c2 = B64_TABLE[u[2]],
			         d = B64_TABLE[u[3]];
			size_t j = i + 4;
			if (a - 1u >= 64u || b - 1u >= 64u || c2 - 1u >= 64u || d - 1u >= 64u) {
				/* Not four plain ones: a group with escapes, read one at a time. */
				j = i;
				a = pct_sextet(in, len, &j);
				b = a != 0 && j < len ? pct_sextet(in, len, &j) : 0;
				c2 = b != 0 && j < len ? pct_sextet(in, len, &j) : 0;
				d = c2 != 0 && j < len ? pct_sextet(in, len, &j) : 0;
				if (d == 0)
					break;
				esc += (j - i - 4) / 2;
			}
			unsigned long g = (unsigned long)(a - 1u) << 18 | (unsigned long)(b - 1u) << 12 |
			                  (unsigned long)(c2 - 1u) << 6 | (unsigned long)(d - 1u);
			out[n++] = (unsigned char)(g >> 16);
			out[n++] = (unsigned char)(g >> 8);
			out[n++] = (unsigned char)g;
			i = j;
		}
		if (i == len)
			break;
		size_t at = i - 2 * esc;
		unsigned char c = (unsigned char)in[i];
		if (c == '%') {
			int hi = len - i >= 3 ? hex_digit((unsigned char)in[i + 1]) : -1;
			int lo = len - i >= 3 ? hex_digit((unsigned char)in[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return rb_err_set(err, RB_E_INPUT, "malformed percent escape at offset %zu",
				                  i);
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			esc++;
		}
		/* '+' needs no case: the table reads it as the space it stands for. */
		int v = b64_value(c);
		if (v == B64_SKIP)
			continue;
		if (v == B64_PAD) {
			if (pads == 0)
				pad_at = at;
			pads++;
			continue;
		}
		if (v == B64_BAD) {
			if (c > 0x20 && c < 0x7f)
				return rb_err_set(err, RB_E_INPUT,
				                  "invalid base64: character '%c' at offset %zu", c, at);
			return rb_err_set(err, RB_E_INPUT, "invalid base64: byte 0x%02x at offset %zu",
			                  c, at);
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

/*
 * The buffer is sized from the raw length: percent-decoding only shortens,
 * so it holds every output b64_decode_alloc would accept, and past cap the
 * same RB_E_TOO_LARGE comes at the same point.
 */
enum rb_code b64_decode_pct_alloc(const char *in, size_t len, size_t cap, char **out,
                                  size_t *out_len, struct rb_err *err)
{
	*out = NULL;
	*out_len = 0;
	size_t room = b64_decoded_max(len);
	if (room > cap)
		room = cap;
	unsigned char *buf = malloc(room + 1);
	if (buf == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory decoding base64");
	size_t n;
	enum rb_code rc = b64_decode_pct_buf(in, len, buf, room, &n, err);
	if (rc == RB_E_TOO_LARGE)
		rc = rb_err_set(err, RB_E_TOO_LARGE, "decoded base64 is over %zu bytes", cap);
	if (rc != RB_OK) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	*out_len = n;
	return RB_OK;
}
