/*
 * decimal: JSON number text to the correctly rounded double (include/rb/input/decimal.h),
 * scanning the grammar and collecting the digits in one pass.
 *
 * The number is w * 10^q with w the significant digits (leading zeros
 * dropped) as an integer and q = exponent - fraction digits. When w has at
 * most 19 digits (w < 10^19 < 2^64) and |q| <= 19 the value is rounded once,
 * exactly, by integer arithmetic:
 *   - w = 0: +-0 whatever the exponent;
 *   - w <= 2^53 and |q| <= 22 (Clinger): (double)w and 10^|q| are both exact
 *     doubles, so one IEEE multiplication or division rounds correctly;
 *   - q >= 0: w * 10^q < 10^38 < 2^127 is an exact unsigned __int128,
 *     rounded once to the nearest even double (u128_to_double);
 *   - q < 0: N = w << s lies in [2^126, 2^127); Q = N / 10^-q has at least
 *     62 significant bits, so the 53-bit rounding point is at least 9 bits
 *     above its lowest bit. A nonzero remainder means the true quotient lies
 *     strictly between Q and Q + 1; setting Q's lowest bit (sticky) then
 *     rounds the same way as the true quotient (it only changes an exact
 *     tie, and only ever to "above the tie"). (double)Q * 2^-s is exact
 *     scaling, since the result (>= 10^-19) is far inside the normal range.
 * Everything else (more than 19 significant digits, a larger exponent, an
 * overflowing exponent field) goes to strtod() on a NUL-terminated copy.
 * Numbers with 32 bytes of text after their sign (inside a JSON document)
 * in the shape Druid writes nearly all of them (up to 8 integer digits, an
 * optional fraction, 19 digits in all, no exponent) are first tried on a
 * straight-line path (short_number: one SSE2 classification of 32 bytes
 * gives the lengths, the digits are read eight at a time with the counts
 * known) that finds the same w and q; the conversion is the same convert().
 *
 * It needs IEEE doubles evaluated in double precision (FLT_EVAL_METHOD 0,
 * e.g. x86-64 SSE2, aarch64) for the Clinger step; elsewhere that step is
 * compiled out and the integer paths do the work. Not a float formatter, not
 * a general strtod replacement (JSON grammar only).
 */
#include "rb/input/decimal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Numbers up to this many bytes are copied to the stack for strtod, longer ones to the heap. */
#define SMALL_COPY 128

/* An exponent field past this (in magnitude) is left to strtod. */
#define EXP_SATURATE 100000000L

static const uint64_t POW10_U64[20] = {
	1ull,
	10ull,
	100ull,
	1000ull,
	10000ull,
	100000ull,
	1000000ull,
	10000000ull,
	100000000ull,
	1000000000ull,
	10000000000ull,
	100000000000ull,
	1000000000000ull,
	10000000000000ull,
	100000000000000ull,
	1000000000000000ull,
	10000000000000000ull,
	100000000000000000ull,
	1000000000000000000ull,
	10000000000000000000ull,
};

#if FLT_EVAL_METHOD == 0
#define CLINGER 1
/* 10^0 .. 10^22: every one is an exact double (5^22 < 2^53). */
static const double POW10_D[23] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
#else
#define CLINGER 0
#endif

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/*
 * How many of the 8 bytes at p (0..8) are ASCII digits before the first
 * other byte; sets *v to the value of those digits (0 when none). The test
 * is made per byte without carries between bytes: b & 0x7F is a digit when
 * it is >= 0x30 ((b | 0x80) - 0x30 keeps its top bit, no borrow) and not
 * >= 0x3A (b + 0x46 would set the top bit, no carry out); a byte with its
 * own top bit set is never a digit. The digits are then moved to the top of
 * the word (the bytes after them, and any borrow of the subtraction out of
 * those bytes, are shifted out) so zeros take the leading places.
 * Little-endian loads: byte k of the text is bits 8k..8k+7. Each merge step
 * joins neighbouring lanes (the lower lane holds the leading digits): 8
 * one-digit lanes -> 4 two-digit 16-bit lanes -> 2 four-digit 32-bit lanes
 * -> one 8-digit value; no lane overflows.
 */
static inline __attribute__((always_inline)) unsigned leading_digits(const char *p, uint64_t *v)
{
	const uint64_t hi = 0x8080808080808080ull;
	uint64_t x;
	memcpy(&x, p, sizeof x);
	uint64_t a = x & ~hi;
	uint64_t ge0 = ((a | hi) - 0x3030303030303030ull) & hi;
	uint64_t gt9 = (a + 0x4646464646464646ull) & hi;
	uint64_t other = (x & hi) | gt9 | (ge0 ^ hi);
	unsigned n = other == 0 ? 8u : (unsigned)__builtin_ctzll(other) >> 3;
	if (n == 0) {
		*v = 0;
		return 0;
	}
	x = (x - 0x3030303030303030ull) << (8 * (8 - n));
	x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFull;
	x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFull;
	x = (x * 10000 + (x >> 32)) & 0xFFFFFFFFull;
	*v = x;
	return n;
}
#define EIGHT_DIGITS 1
#else
#define EIGHT_DIGITS 0
#endif

/*
 * Reads the digits from *pp on into *w (w = w * 10 + digit, modulo 2^64),
 * up to eight at a time while eight bytes remain; advances *pp past them.
 */
static inline __attribute__((always_inline)) void digits(const char **pp, const char *end,
                                                          uint64_t *w)
{
	const char *p = *pp;
	uint64_t x = *w;
#if EIGHT_DIGITS
	while (end - p >= 8) {
		uint64_t v8;
		unsigned n = leading_digits(p, &v8);
		x = x * POW10_U64[n] + v8;
		p += n;
		if (n < 8) {
			*pp = p;
			*w = x;
			return;
		}
	}
#endif
	while (p < end && is_digit(*p)) {
		x = x * 10 + (uint64_t)(*p - '0');
		p++;
	}
	*pp = p;
	*w = x;
}

/* 2^e for -1022 <= e <= 1023, built from its bits. */
static double pow2(int e)
{
	uint64_t bits = (uint64_t)(1023 + e) << 52;
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

/*
 * n rounded to the nearest double, ties to even. Above 2^64 the bits below
 * the top 64 are folded into the lowest kept bit (sticky): the 53-bit
 * rounding point is then 11 bits higher, so the fold only tells "exactly
 * half" from "more than half", and the uint64 -> double conversion (correctly
 * rounded) and the scaling by 2^sh (exact) give the right result.
 */
static double u128_to_double(unsigned __int128 n)
{
	uint64_t hi = (uint64_t)(n >> 64), lo = (uint64_t)n;
	if (hi == 0)
		return (double)lo;
	int sh = 64 - __builtin_clzll(hi); /* 1 .. 63 here (n < 2^127) */
	uint64_t top = (uint64_t)(n >> sh) | (uint64_t)((lo << (64 - sh)) != 0);
	return (double)top * pow2(sh);
}

/*
 * w * 10^q rounded to nearest even, for 0 < w < 10^19 and -19 <= q <= 19
 * (see the file comment for why each step is exact).
 */
static inline __attribute__((always_inline)) double convert(uint64_t w, int q)
{
#if CLINGER
	if (w <= (1ull << 53) && q >= -22 && q <= 22)
		return q >= 0 ? (double)w * POW10_D[q] : (double)w / POW10_D[-q];
#endif
	if (q >= 0)
		return u128_to_double((unsigned __int128)w * POW10_U64[q]);
#if defined(__x86_64__) && defined(__GNUC__)
	{
		/*
		 * One 128-by-64-bit hardware division instead of __udivti3: N = w << s
		 * with s chosen so that N lies in [2^(62 + bd), 2^(63 + bd)) for d in
		 * [2^(bd - 1), 2^bd), hence Q = N / d in (2^62, 2^64): it fits
		 * the instruction's 64-bit quotient (no fault) and has at least 63
		 * significant bits, so the sticky-bit argument above still holds.
		 * s is 3 .. 126 (bd >= 4 for d >= 10), so 2^-s is a normal double.
		 */
		uint64_t d = POW10_U64[-q];
		int bd = 64 - __builtin_clzll(d), bw = 64 - __builtin_clzll(w);
		int s = 63 + bd - bw;
		unsigned __int128 n = (unsigned __int128)w << s;
		uint64_t nhi = (uint64_t)(n >> 64), nlo = (uint64_t)n, quot, rem;
		__asm__("divq %4" : "=a"(quot), "=d"(rem) : "a"(nlo), "d"(nhi), "rm"(d) : "cc");
		if (rem != 0)
			quot |= 1;
		return (double)quot * pow2(-s);
	}
#endif
	int s = 127 - (64 - __builtin_clzll(w));
	unsigned __int128 n = (unsigned __int128)w << s;
	uint64_t d = POW10_U64[-q];
	unsigned __int128 quot = n / d;
	if (n - quot * d != 0)
		quot |= 1;
	return u128_to_double(quot) * pow2(-s);
}

#if EIGHT_DIGITS && defined(__SSE2__)
#define SHORT_PATH 1
/*
 * The value of the first c (1 .. 8) bytes of x, which are ASCII digits
 * (byte k of the text in bits 8k .. 8k + 7): leading_digits' merge with the
 * count known.
 */
static inline uint64_t digits_value(uint64_t x, unsigned c)
{
	x = (x - 0x3030303030303030ull) << (8 * (8 - c));
	x = (x * 10 + (x >> 8)) & 0x00FF00FF00FF00FFull;
	x = (x * 100 + (x >> 16)) & 0x0000FFFF0000FFFFull;
	return (x * 10000 + (x >> 32)) & 0xFFFFFFFFull;
}

static inline uint64_t load8(const char *p)
{
	uint64_t x;
	memcpy(&x, p, sizeof x);
	return x;
}

/*
 * The shape of nearly every number of a Druid answer, read with straight-line
 * code: p (32 readable bytes) starts with a digit, and the number there is
 * int ('.' frac)? with int of 1 to 8 digits (no leading zero but "0" itself),
 * frac (when there) of 1 to 23 digits, int and frac together at most 19
 * digits, and no exponent. One classification of the 32 bytes gives both
 * lengths; then w = int and frac's digits (< 10^19) and q = -(frac's length),
 * as the general scan would find them, and the value is convert(w, q) (0 for
 * w = 0). Returns 1 with *len (bytes read) and *out set; 0 for any other
 * number, which the general scan then reads.
 */
static inline __attribute__((always_inline)) int short_number(const char *p, size_t *len,
                                                             double *out)
{
	const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);
	__m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	uint32_t da = (uint32_t)_mm_movemask_epi8(
		_mm_and_si128(_mm_cmpgt_epi8(a, lo), _mm_cmplt_epi8(a, hi)));
	uint32_t db = (uint32_t)_mm_movemask_epi8(
		_mm_and_si128(_mm_cmpgt_epi8(b, lo), _mm_cmplt_epi8(b, hi)));
	/* bit k: byte k is not a digit; bit 31 forced, so every count below is <= 31 */
	uint32_t other = ~(da | db << 16) | 0x80000000u;
	unsigned n1 = (unsigned)__builtin_ctz(other);
	if (n1 > 8 || (p[0] == '0' && n1 > 1))
		return 0;
	uint64_t w = digits_value(load8(p), n1);
	unsigned n2 = 0;
	if (p[n1] == '.') {
		n2 = (unsigned)__builtin_ctz(other >> (n1 + 1)); /* n1 + 1 <= 9 */
		if (n2 == 0 || n1 + n2 > 19)
			return 0;
		const char *f = p + n1 + 1;
		if (n2 <= 8) {
			w = w * POW10_U64[n2] + digits_value(load8(f), n2);
		} else if (n2 <= 16) {
			w = (w * 100000000u + digits_value(load8(f), 8)) * POW10_U64[n2 - 8] +
			    digits_value(load8(f + 8), n2 - 8);
		} else {
			w = ((w * 100000000u + digits_value(load8(f), 8)) * 100000000u +
			     digits_value(load8(f + 8), 8)) * POW10_U64[n2 - 16] +
			    digits_value(load8(f + 16), n2 - 16);
		}
		n1 += n2 + 1;
	}
	/* p[n1] is inside the 32 bytes: n1 <= 8 + 1 + 18 */
	if ((p[n1] | 0x20) == 'e')
		return 0;
	*len = n1;
	*out = w == 0 ? 0.0 : convert(w, -(int)n2);
	return 1;
}
#else
#define SHORT_PATH 0
#endif

/* strtod() on a NUL-terminated copy of the n bytes at s, which are a JSON number. */
static enum decimal_res via_strtod(const char *s, size_t n, double *out)
{
	char small[SMALL_COPY];
	char *text = small;
	if (n >= sizeof small) {
		text = malloc(n + 1);
		if (text == NULL)
			return DECIMAL_NOMEM;
	}
	memcpy(text, s, n);
	text[n] = '\0';
	char *stop;
	errno = 0;
	double x = strtod(text, &stop);
	enum decimal_res res = DECIMAL_OK;
	if (stop != text + n)
		res = DECIMAL_LOCALE;
	else if (errno == ERANGE && isinf(x))
		res = DECIMAL_RANGE;
	if (text != small)
		free(text);
	if (res == DECIMAL_OK)
		*out = x;
	return res;
}

/* Both entry points: fast = 0 sends every number to strtod. */
static __attribute__((noinline)) enum decimal_res parse(const char *s, size_t len, size_t *used, double *out,
                                     int fast)
{
	const char *p = s, *end = s + len;
	int neg = 0;
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end || !is_digit(*p)) {
		*used = (size_t)(p - s);
		return DECIMAL_SYNTAX;
	}
	uint64_t w = 0;   /* significant digits, modulo 2^64 (only used when nd <= 19) */
	size_t nd = 0;    /* significant digits: from the first nonzero one */
	size_t nfrac = 0; /* digits after the '.' */
	if (*p == '0') {
		p++;
	} else {
		const char *d0 = p;
		digits(&p, end, &w);
		nd = (size_t)(p - d0);
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !is_digit(*p)) {
			*used = (size_t)(p - s);
			return DECIMAL_SYNTAX;
		}
		const char *f0 = p;
		if (nd == 0)
			while (p < end && *p == '0')
				p++;
		const char *d0 = p;
		digits(&p, end, &w);
		nd += (size_t)(p - d0);
		nfrac = (size_t)(p - f0);
	}
	long e = 0;
	int odd = 0; /* an exponent too large to track: strtod decides */
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		int eneg = 0;
		if (p < end && (*p == '+' || *p == '-')) {
			eneg = *p == '-';
			p++;
		}
		if (p >= end || !is_digit(*p)) {
			*used = (size_t)(p - s);
			return DECIMAL_SYNTAX;
		}
		while (p < end && is_digit(*p)) {
			if (e < EXP_SATURATE)
				e = e * 10 + (*p - '0');
			else
				odd = 1;
			p++;
		}
		if (eneg)
			e = -e;
	}
	size_t n = (size_t)(p - s);
	*used = n;
	if (fast && nd == 0) {
		*out = neg ? -0.0 : 0.0;
		return DECIMAL_OK;
	}
	if (fast && !odd && nd <= 19 && nfrac <= (size_t)EXP_SATURATE) {
		long q = e - (long)nfrac;
		if (q >= -19 && q <= 19) {
			double x = convert(w, (int)q);
			*out = neg ? -x : x;
			return DECIMAL_OK;
		}
	}
	return via_strtod(s, n, out);
}

enum decimal_res decimal_parse(const char *s, size_t len, size_t *used, double *out)
{
#if SHORT_PATH
	/* the common shape first, with 32 bytes to read after the sign */
	if (len >= 33) {
		int neg = s[0] == '-';
		size_t n;
		double x;
		if (is_digit(s[neg]) && short_number(s + neg, &n, &x)) {
			*used = (size_t)neg + n;
			*out = neg ? -x : x;
			return DECIMAL_OK;
		}
	}
#endif
	return parse(s, len, used, out, 1);
}

enum decimal_res decimal_parse_strtod(const char *s, size_t len, size_t *used, double *out)
{
	return parse(s, len, used, out, 0);
}
