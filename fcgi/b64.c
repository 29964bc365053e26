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

/* Decoding state between bytes, shared by the plain and the percent-encoded decoder. */
struct b64_state {
	unsigned long group; /* up to 4 sextets, most significant first */
	int q;               /* sextets in group */
	size_t pads, pad_at; /* '=' seen so far, and the offset of the first */
	size_t n;            /* bytes written */
};

/* Writes the whole group of four sextets g as 3 bytes; the caller checked the room. */
static void put_group(struct b64_state *st, unsigned char *out, unsigned long g)
{
	out[st->n++] = (unsigned char)(g >> 16);
	out[st->n++] = (unsigned char)(g >> 8);
	out[st->n++] = (unsigned char)g;
}

/* The lenient rules for one (already unescaped) byte c at offset at of the decoded text. */
static enum rb_code feed(struct b64_state *st, unsigned char c, size_t at, unsigned char *out,
                         size_t out_cap, struct rb_err *err)
{
	int v = b64_value(c);
	if (v == B64_SKIP)
		return RB_OK;
	if (v == B64_PAD) {
		if (st->pads == 0)
			st->pad_at = at;
		st->pads++;
		return RB_OK;
	}
	if (v == B64_BAD) {
		if (c > 0x20 && c < 0x7f)
			return rb_err_set(err, RB_E_INPUT, "invalid base64: character '%c' at offset %zu",
			                  c, at);
		return rb_err_set(err, RB_E_INPUT, "invalid base64: byte 0x%02x at offset %zu", c, at);
	}
	if (st->pads > 0)
		return rb_err_set(err, RB_E_INPUT,
		                  "invalid base64: '=' at offset %zu is followed by data", st->pad_at);
	st->group = st->group << 6 | (unsigned long)v;
	if (++st->q < 4)
		return RB_OK;
	enum rb_code rc = emit(st->group, 3, out, out_cap, &st->n, err);
	st->group = 0;
	st->q = 0;
	return rc;
}

/* The end of the input: the last partial group and the padding rules. */
static enum rb_code finish(struct b64_state *st, unsigned char *out, size_t out_cap,
                           size_t *out_len, struct rb_err *err)
{
	if (st->q == 1)
		return rb_err_set(err, RB_E_INPUT,
		                  "invalid base64: truncated (one character left in the last group)");
	if (st->pads > 0 && st->q == 0)
		return rb_err_set(err, RB_E_INPUT, "invalid base64: unexpected '=' at offset %zu",
		                  st->pad_at);
	if (st->pads > 0 && (size_t)st->q + st->pads > 4)
		return rb_err_set(err, RB_E_INPUT, "invalid base64: too much '=' padding at offset %zu",
		                  st->pad_at);
	enum rb_code rc = RB_OK;
	if (st->q == 2)
		rc = emit(st->group << 12, 1, out, out_cap, &st->n, err);
	else if (st->q == 3)
		rc = emit(st->group << 6, 2, out, out_cap, &st->n, err);
	if (rc == RB_OK)
		*out_len = st->n;
	return rc;
}

/* 1 when the four table entries are all alphabet characters. */
static int whole_group(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return a - 1u < 64u && b - 1u < 64u && c - 1u < 64u && d - 1u < 64u;
}

/* The group value of four table entries (sextet + 1 each). */
static unsigned long group_of(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (unsigned long)(a - 1u) << 18 | (unsigned long)(b - 1u) << 12 |
	       (unsigned long)(c - 1u) << 6 | (unsigned long)(d - 1u);
}

enum rb_code b64_decode_buf(const char *in, size_t len, unsigned char *out, size_t out_cap,
                            size_t *out_len, struct rb_err *err)
{
	struct b64_state st = {0};
	*out_len = 0;
	for (size_t i = 0; i < len; i++) {
		/* Fast path: four alphabet characters make one whole group. */
		while (st.q == 0 && st.pads == 0 && len - i >= 4 && out_cap - st.n >= 3) {
			const unsigned char *u = (const unsigned char *)in + i;
			unsigned a = B64_TABLE[u[0]], b = B64_TABLE[u[1]], c = B64_TABLE[u[2]],
			         d = B64_TABLE[u[3]];
			if (!whole_group(a, b, c, d))
				break;
			put_group(&st, out, group_of(a, b, c, d));
			i += 4;
		}
		if (i == len)
			break;
		enum rb_code rc = feed(&st, (unsigned char)in[i], i, out, out_cap, err);
		if (rc != RB_OK)
			return rc;
	}
	return finish(&st, out, out_cap, out_len, err);
}

/* Runs decode into a buffer of min(b64_decoded_max(len), cap) + 1 bytes, NUL-terminated. */
static enum rb_code decode_alloc(enum rb_code (*decode)(const char *, size_t, unsigned char *, size_t,
                                                        size_t *, struct rb_err *),
                                 const char *in, size_t len, size_t cap, char **out,
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
	enum rb_code rc = decode(in, len, buf, room, &n, err);
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

enum rb_code b64_decode_alloc(const char *in, size_t len, size_t cap, char **out,
                              size_t *out_len, struct rb_err *err)
{
	return decode_alloc(b64_decode_buf, in, len, cap, out, out_len, err);
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
	struct b64_state st = {0};
	size_t esc = 0; /* escapes passed */
	*out_len = 0;
	for (size_t i = 0; i < len; i++) {
		while (st.q == 0 && st.pads == 0 && len - i >= 4 && out_cap - st.n >= 3) {
			const unsigned char *u = (const unsigned char *)in + i;
			unsigned a = B64_TABLE[u[0]], b = B64_TABLE[u[1]], c = B64_TABLE[u[2]],
			         d = B64_TABLE[u[3]];
			size_t j = i + 4;
			if (!whole_group(a, b, c, d)) {
				/* Not four plain ones: a group with escapes, read one at a time. */
				j = i;
				a = pct_sextet(in, len, &j);
				b = a != 0 && j < len ? pct_sextet(in, len, &j) : 0;
				c = b != 0 && j < len ? pct_sextet(in, len, &j) : 0;
				d = c != 0 && j < len ? pct_sextet(in, len, &j) : 0;
				if (d == 0)
					break;
				esc += (j - i - 4) / 2;
			}
			put_group(&st, out, group_of(a, b, c, d));
			i = j;
		}
		if (i == len)
			break;
		size_t at = i - 2 * esc;
		unsigned char c = (unsigned char)in[i];
		if (c == '%') {
			unsigned hi = len - i >= 3 ? HEX_TABLE[(unsigned char)in[i + 1]] : 16;
			unsigned lo = len - i >= 3 ? HEX_TABLE[(unsigned char)in[i + 2]] : 16;
			if ((hi | lo) > 15)
				return rb_err_set(err, RB_E_INPUT, "malformed percent escape at offset %zu",
				                  i);
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			esc++;
		}
		/* '+' needs no case: the table reads it as the space it stands for. */
		enum rb_code rc = feed(&st, c, at, out, out_cap, err);
		if (rc != RB_OK)
			return rc;
	}
	return finish(&st, out, out_cap, out_len, err);
}

/*
 * The buffer is sized from the raw length: percent-decoding only shortens,
 * so it holds every output b64_decode_alloc would accept, and past cap the
 * same RB_E_TOO_LARGE comes at the same point.
 */
enum rb_code b64_decode_pct_alloc(const char *in, size_t len, size_t cap, char **out,
                                  size_t *out_len, struct rb_err *err)
{
	return decode_alloc(b64_decode_pct_buf, in, len, cap, out, out_len, err);
}
