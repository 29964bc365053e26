/*
 * b64: lenient base64 decoding of form fields (CONTRACT §1); the accepted and
 * rejected inputs are listed in include/rb/fcgi/b64.h. One pass (a table lookup per
 * byte, whole groups of four at a time), no allocation in b64_decode_buf, a
 * hard output cap. The percent-encoded decoder also has a block path (16 raw
 * bytes a step, SSSE3 or GNU C vectors) for long runs of alphabet characters;
 * the byte rules stay the one definition of what is accepted and of every
 * message. Not an encoder; not constant-time (the input is not secret).
 */
#include "rb/fcgi/b64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
 * The block path of b64_decode_pct_buf: long runs of alphabet characters,
 * plain or escaped, 16 raw bytes at a time, in two passes over a chunk of at
 * most BLK_CHUNK characters held in a scratch buffer on the stack:
 *   - to_sextets percent-decodes and maps to sextets, and stops before the
 *     first byte that is neither an alphabet character nor a well-formed
 *     escape of one;
 *   - pack turns groups of 4 sextets into 3 bytes.
 * Everything else (CR/LF/TAB, '=', bad bytes, bad escapes, the last < 16 raw
 * bytes) is left to the byte rules of b64_decode_pct_buf, so every error, and
 * the point where the output cap is passed, is theirs.
 *
 * Two implementations of the 16-byte steps: GNU C vector types (any GCC or
 * clang target: SSE2 on x86_64, NEON on aarch64, scalar code where there is
 * no SIMD), and SSSE3 nibble lookups (x86 only, chosen at run time with
 * __builtin_cpu_supports). The loops around them are written once
 * (always_inline, instantiated per implementation). Both assume little-endian
 * lanes, so the path is compiled out (BLK_ON 0) on big-endian targets, where
 * the group path does all the work. Defining B64_GENERIC_ONLY before this file
 * leaves out the SSSE3 steps (tests/test_b64_pct_generic.c).
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BLK_ON 1
#else
#define BLK_ON 0
#endif
#if BLK_ON && (defined(__x86_64__) || defined(__i386__)) && !defined(B64_GENERIC_ONLY)
#define BLK_SSSE3 1
#include <immintrin.h>
#else
#define BLK_SSSE3 0
#endif

enum { BLK_CHUNK = 1024 }; /* sextets per chunk (scratch bytes) */

typedef unsigned char v16u8 __attribute__((vector_size(16)));
typedef uint32_t v4u32 __attribute__((vector_size(16)));
typedef uint64_t v2u64 __attribute__((vector_size(16)));

/*
 * Sextets of the 16 bytes c (B64_TABLE value minus one: '+' '-' ' ' are 62,
 * '/' '_' 63) into *s; the index of the first byte outside the alphabet, 16
 * when there is none. Sextets from that byte on are unspecified.
 */
typedef unsigned (*map16_fn)(v16u8 c, v16u8 *s);

/* The 12 bytes of the 4 groups of sextets s[0..16) into out[0..12); out[12..16) may be written. */
typedef void (*pack16_fn)(const unsigned char *s, unsigned char *out);

/* Index of the first non-zero byte of m; 16 when there is none (little-endian). */
static unsigned first_set(v16u8 m)
{
	uint64_t h[2];
	memcpy(h, &m, sizeof h);
	if (h[0] != 0)
		return (unsigned)__builtin_ctzll(h[0]) / 8;
	if (h[1] != 0)
		return 8 + (unsigned)__builtin_ctzll(h[1]) / 8;
	return 16;
}

/* map16_fn with range checks on vector types. */
static inline unsigned map16_vec(v16u8 c, v16u8 *s)
{
	v16u8 up = (v16u8)((v16u8)(c - 'A') < 26);
	v16u8 lo = (v16u8)((v16u8)(c - 'a') < 26);
	v16u8 dg = (v16u8)((v16u8)(c + (256 - '0')) < 10);
	v16u8 s62 = (v16u8)((c == '+') | (c == '-') | (c == ' '));
	v16u8 s63 = (v16u8)((c == '/') | (c == '_'));
	*s = (up & (v16u8)(c - 'A')) | (lo & (v16u8)(c - ('a' - 26))) |
	     (dg & (v16u8)(c + (52 - '0'))) | (s62 & 62) | (s63 & 63);
	return first_set(~(up | lo | dg | s62 | s63));
}

/* pack16_fn with shifts on vector types: 2 x 8 bytes stored, at out and out + 6. */
static inline void pack16_vec(const unsigned char *s, unsigned char *out)
{
	v4u32 w;
	memcpy(&w, s, sizeof w);
	/* Lane: s0 | s1 << 8 | s2 << 16 | s3 << 24 -> b0 | b1 << 8 | b2 << 16. */
	v4u32 b = ((w << 2) & 0xfc) | ((w >> 12) & 0x03) | ((w << 4) & 0xf000) |
	          ((w >> 10) & 0x0f00) | ((w << 6) & 0xc00000) | ((w >> 8) & 0x3f0000);
	/* Two lanes of 3 bytes each -> 6 bytes at the bottom of a 64-bit lane. */
	v2u64 d = (v2u64)b;
	d = (d & 0xffffff) | ((d >> 8) & 0xffffff000000);
	memcpy(out, &d, 8);
	memcpy(out + 6, (const unsigned char *)&d + 8, 8);
}

#if BLK_SSSE3
/*
 * map16_fn with SSSE3 nibble lookups. Validity: a byte is bad when the class
 * bits of its high nibble (one class per column of the ASCII table that holds
 * alphabet characters, one for all others) meet the bits of its low nibble
 * (the classes in whose column that row is not in the alphabet). Sextet: the
 * byte plus a delta by high nibble, corrected by low nibble for column 2
 * (' ' '+' '-' '/') and '_'.
 */
__attribute__((target("ssse3"))) static inline unsigned map16_ssse3(v16u8 c, v16u8 *s)
{
	const __m128i hi_class = _mm_setr_epi8(0x20, 0x20, 0x01, 0x02, 0x04, 0x08, 0x04, 0x10,
	                                       0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20);
	/* Per row (low nibble), the columns where it is not in the alphabet: bit 0 (column 2)
	 * rows other than 0 B D F (' ' '+' '-' '/'); bit 1 (column 3) rows above 9; bit 2
	 * (columns 4 and 6) row 0 ('@' '`'); bit 3 (column 5) rows B..E ('[' .. '^'; 'F' is
	 * '_'); bit 4 (column 7) rows above A; bit 5 (every other column) every row. */
	const __m128i lo_class = _mm_setr_epi8(0x24, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21,
	                                       0x21, 0x21, 0x23, 0x3a, 0x3b, 0x3a, 0x3b, 0x32);
	const __m128i hi_delta = _mm_setr_epi8(0, 0, -17, 4, -65, -65, -71, -71,
	                                       0, 0, 0, 0, 0, 0, 0, 0);
	const __m128i lo_fix = _mm_setr_epi8(47, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 36, 0, 34, 0, 33);
	const __m128i nib = _mm_set1_epi8(0x0f);
	__m128i x = (__m128i)c;
	__m128i lo = _mm_and_si128(x, nib);
	__m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), nib);
	__m128i bad = _mm_and_si128(_mm_shuffle_epi8(lo_class, lo), _mm_shuffle_epi8(hi_class, hi));
	__m128i fix = _mm_or_si128(_mm_cmpeq_epi8(hi, _mm_set1_epi8(2)),
	                           _mm_cmpeq_epi8(x, _mm_set1_epi8('_')));
	__m128i delta = _mm_add_epi8(_mm_shuffle_epi8(hi_delta, hi),
	                             _mm_and_si128(fix, _mm_shuffle_epi8(lo_fix, lo)));
	*s = (v16u8)_mm_add_epi8(x, delta);
	unsigned good = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(bad, _mm_setzero_si128()));
	return good == 0xffff ? 16 : (unsigned)__builtin_ctz(~good);
}

/* pack16_fn with SSSE3: pairs, then pairs of pairs, multiply-added; one 16-byte store. */
__attribute__((target("ssse3"))) static inline void pack16_ssse3(const unsigned char *s,
                                                                  unsigned char *out)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
	v = _mm_maddubs_epi16(v, _mm_set1_epi32(0x01400140));  /* s0 << 6 | s1 per 16 bits */
	v = _mm_madd_epi16(v, _mm_set1_epi32(0x00011000));     /* .. << 12 | s2 << 6 | s3 */
	v = _mm_shuffle_epi8(v, _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12,
	                                      -1, -1, -1, -1));
	_mm_storeu_si128((__m128i *)(void *)out, v);
}
#endif

/*
 * Percent-decodes in[0..len) and writes the sextets of the characters to
 * s[0..max), 16 raw bytes a step, while they are alphabet characters, plain
 * or escaped ('%XX', either case). Stops before the first other byte (or
 * malformed escape), when fewer than 16 raw bytes are left, or when a step
 * could pass max. Returns the sextets written; *used gets the raw bytes they
 * came from.
 */
static inline __attribute__((always_inline)) size_t
to_sextets(map16_fn map, const char *in, size_t len, unsigned char *s, size_t max, size_t *used)
{
	size_t i = 0, n = 0;
	while (len - i >= 16 && max - n >= 16) {
		v16u8 c, v;
		memcpy(&c, in + i, sizeof c);
		unsigned k = map(c, &v);
		memcpy(s + n, &v, sizeof v);
		i += k;
		n += k;
		if (k == 16)
			continue;
		/* in[i] is not plain: an escape of an alphabet character, or the end. */
		size_t j = i;
		unsigned t = pct_sextet(in, len, &j);
		if (t == 0)
			break;
		s[n++] = (unsigned char)(t - 1);
		i = j;
	}
	*used = i;
	return n;
}

/*
 * The 3 bytes of each group of 4 sextets s[0..n) (n a multiple of 4) into
 * out[0..n/4*3), nothing written beyond; pack may write 4 bytes past its 12.
 */
static inline __attribute__((always_inline)) void pack(pack16_fn pack16, const unsigned char *s,
                                                       size_t n, unsigned char *out)
{
	size_t i = 0;
	for (; n - i >= 24; i += 16, out += 12) /* >= 18 bytes to go: room for 16 */
		pack16(s + i, out);
	for (; i < n; i += 4, out += 3) {
		unsigned long g = (unsigned long)s[i] << 18 | (unsigned long)s[i + 1] << 12 |
		                  (unsigned long)s[i + 2] << 6 | s[i + 3];
		out[0] = (unsigned char)(g >> 16);
		out[1] = (unsigned char)(g >> 8);
		out[2] = (unsigned char)g;
	}
}

/*
 * The raw length of in[0..end), a run of alphabet characters (each plain or a
 * 3-byte escape), less its last k characters. An escape ends the run exactly
 * when in[end - 3] is '%': a plain alphabet character is never a '%', nor is
 * a hex digit.
 */
static size_t drop_chars(const char *in, size_t end, size_t k)
{
	for (; k > 0; k--)
		end -= end >= 3 && in[end - 3] == '%' ? 3 : 1;
	return end;
}

/*
 * From a group boundary (no sextet pending, no '=' seen) at in[0..len):
 * decodes the whole groups of one chunk that to_sextets takes into
 * out[0..room). Returns the raw bytes used (0: none, leave it to the group
 * path) and *written the bytes written (3 per group).
 */
static inline __attribute__((always_inline)) size_t
blocks(map16_fn map, pack16_fn pack16, const char *in, size_t len, unsigned char *out,
       size_t room, size_t *written)
{
	unsigned char s[BLK_CHUNK];
	size_t max = room / 3 * 4;
	if (max > sizeof s)
		max = sizeof s;
	size_t used;
	size_t n = to_sextets(map, in, len, s, max, &used);
	size_t whole = n / 4 * 4;
	pack(pack16, s, whole, out);
	*written = whole / 4 * 3;
	return drop_chars(in, used, n - whole);
}

static size_t blocks_vec(const char *in, size_t len, unsigned char *out, size_t room,
                         size_t *written)
{
	return blocks(map16_vec, pack16_vec, in, len, out, room, written);
}

#if BLK_SSSE3
__attribute__((target("ssse3"))) static size_t blocks_ssse3(const char *in, size_t len,
                                                             unsigned char *out, size_t room,
                                                             size_t *written)
{
	return blocks(map16_ssse3, pack16_ssse3, in, len, out, room, written);
}
#endif

/* blocks() with the best implementation this CPU runs; 0 (nothing) where the path is off. */
static size_t pct_blocks(const char *in, size_t len, unsigned char *out, size_t room,
                         size_t *written)
{
	*written = 0;
	if (!BLK_ON)
		return 0;
#if BLK_SSSE3
	if (__builtin_cpu_supports("ssse3"))
		return blocks_ssse3(in, len, out, room, written);
#endif
	return blocks_vec(in, len, out, room, written);
}

/*
 * The loop of b64_decode_buf over percent-encoded input. i walks the raw
 * bytes; at is the offset of in[i] in the percent-decoded text (i minus two
 * per escape passed), the offset every message names. At a group boundary
 * with 16 raw bytes or more left, the block path (pct_blocks) takes the whole
 * groups of the longest run of alphabet characters, plain or escaped, it can
 * (up to a chunk). Then the group path takes a
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
			if (len - i >= 16 && out_cap - st.n >= 12) {
				size_t w, used = pct_blocks(in + i, len - i, out + st.n, out_cap - st.n, &w);
				if (used > 0) {
					esc += (used - w / 3 * 4) / 2;
					st.n += w;
					i += used;
					continue;
				}
			}
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
