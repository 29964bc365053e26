/*
 * decimal: decimal_parse() gives bit for bit what glibc strtod() gives (the
 * reference: "C" locale, round half to even), on
 *   - hand-picked cases: 0, -0, ties to even at and above 2^53, 17-19 digit
 *     mantissas, the 19-digit and +-19 exponent limits of the fast path and
 *     one step past them (strtod fallback), leading and trailing zeros,
 *     exponents, Druid values, over- and underflow, numbers longer than the
 *     stack copy;
 *   - about two million generated numbers of many shapes (fixed seed):
 *     random digit strings, exact ties and near-ties between adjacent
 *     doubles written as integers, fractions and with exponents, and
 *     printf-written doubles (%.17g, %.15g, %.16e);
 * and that the grammar is JSON's, with the failure offset reported.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/input/decimal.h"
#include "testutil.h"

static uint64_t bits(double x)
{
	uint64_t b;
	memcpy(&b, &x, sizeof b);
	return b;
}

/* decimal_parse and decimal_parse_strtod on text agree with strtod, bit for bit. */
static void same_as_strtod(const char *text)
{
	size_t len = strlen(text);
	char *stop;
	double want = strtod(text, &stop);
	CHECKF((size_t)(stop - text) == len, "strtod does not read all of '%s'", text);
	double got = -12345.0, ref = -12345.0;
	size_t used = 0, used_ref = 0;
	enum decimal_res r = decimal_parse(text, len, &used, &got);
	enum decimal_res rr = decimal_parse_strtod(text, len, &used_ref, &ref);
	if (isinf(want)) {
		CHECKF(r == DECIMAL_RANGE && rr == DECIMAL_RANGE, "'%s': %d %d", text, r, rr);
		CHECK(got == -12345.0 && used == len && used_ref == len);
		return;
	}
	CHECKF(r == DECIMAL_OK && used == len, "'%s': result %d, used %zu of %zu", text, r, used,
	       len);
	CHECKF(rr == DECIMAL_OK && used_ref == len, "'%s': strtod path %d", text, rr);
	CHECKF(bits(got) == bits(want), "'%s': %.17g (0x%016llx), strtod %.17g (0x%016llx)", text,
	       got, (unsigned long long)bits(got), want, (unsigned long long)bits(want));
	CHECK(bits(ref) == bits(want));
	/*
	 * followed by more text (the eight-byte digit reads see bytes after the number; with 32
	 * bytes or more after the sign, decimal_parse reads the common shapes on a path of its own)
	 */
	static const char *const tails[] = {
		",\"k\":12345678}", "}", "0", ("\x80\xff" "999999"), " ]",
		",\"bytes_per_client\":2086501.8666666667,\"pkts\":5436}",
		"}},{\"timestamp\":\"2023-09-21T09:01:00.000Z\",\"result\":{",
		("\x80" "99999999999999999999999999999999999999999"),
		("\xc3\xa9" "1.5e5.5e5.5e5.5e5.5e5.5e5.5e5.5e5.5e5"),
		"                                        ",
		"\"-.eE+-.eE+-.eE+-.eE+-.eE+-.eE+-.eE+-.eE+",
	};
	for (size_t k = 0; k < sizeof tails / sizeof tails[0]; k++) {
		char buf[1400];
		size_t tl = strlen(tails[k]);
		if (len + tl > sizeof buf)
			break;
		memcpy(buf, text, len);
		memcpy(buf + len, tails[k], tl);
		double more = -12345.0;
		size_t used_more = 0;
		enum decimal_res rm = decimal_parse(buf, len + tl, &used_more, &more);
		if (tails[k][0] == '0' && (strcmp(text, "0") == 0 || strcmp(text, "-0") == 0))
			continue; /* "00" is "0" then junk */
		if (tails[k][0] == '0') { /* the digit joins the number: compare with strtod again */
			buf[len + 1] = '\0';
			double w2 = strtod(buf, NULL);
			CHECKF(rm == (isinf(w2) ? DECIMAL_RANGE : DECIMAL_OK) && used_more == len + 1 &&
			               (isinf(w2) || bits(more) == bits(w2)),
			       "'%s' + '0': %d", text, rm);
			continue;
		}
		CHECKF(rm == r && used_more == len && bits(more) == bits(got),
		       "'%s' followed by '%s': %d, used %zu, %a", text, tails[k], rm, used_more, more);
	}
}

static void hand_picked(void)
{
	static const char *const cases[] = {
		"0", "-0", "0.0", "-0.0", "0e0", "-0E+5", "0.000000000000000000000000000000",
		"0e-999999999999999999999", "-0.0e99999", "1", "-1", "9", "10", "0.1", "0.2", "0.3",
		"-0.1", "1e-19", "1e19", "1e-20", "1e20", "1e22", "1e23", "1e-22", "1e-23",
		"9999999999999999999", "99999999999999999999", "-9999999999999999999",
		"1000000000000000000", "10000000000000000000", "18446744073709551615",
		"18446744073709551616",
		/* the limits of the common-shape path (int of 1-8 digits, 19 digits in all) */
		"12345678.9", "123456789.5", "12345678.12345678901", "12345678.123456789012",
		"1.234567890123456789", "1.2345678901234567890", "0.000000000000000001",
		"0.0000000000000000001", "0.12345678", "0.123456789", "0.1234567890123456",
		"0.12345678901234567", "0.123456789012345678", "-0.123456789012345678",
		"99999999.99999999999", "9.007199254740993", "90071992.54740993", "4.5e0", "45E-1",
		/* 2^53 and around: 2^53 + 1 is a tie (to even: 2^53), 2^53 + 3 a tie (to 2^53 + 4) */
		"9007199254740991", "9007199254740992", "9007199254740993", "9007199254740994",
		"9007199254740995", "9007199254740997", "9007199254740993.0",
		"9007199254740993.0000000000001", "9007199254740992.9999999999", "9.007199254740993e15",
		"90071992547409930e-1", "0.9007199254740993e16", "9007199254740993000e-3",
		/* ties with a fraction: doubles in [2^52, 2^53) are spaced 1 */
		"4503599627370496.5", "4503599627370497.5", "4503599627370496.25",
		/* in [2^51, 2^52) spaced 0.5: .25 and .75 are ties */
		"2251799813685248.25", "2251799813685248.75", "2251799813685249.25",
		"2251799813685248.250", "2251799813685248.2500001", "2251799813685248.2499999",
		"225179981368524825e-2", "0.225179981368524825e16",
		/* ties in [2^63, 2^64): spacing 2048, tie at +1024 */
		"9223372036854777856", "9223372036854775808", "9223372036854776832",
		"9223372036854778880", "9223372036854776833", "9223372036854776831",
		/* 17-19 significant digits, Druid shapes */
		"2086501.8666666667", "586.5666666666667", "15648764", "35194", "5.0", "5.00",
		"0.30000000000000004", "0.1000000000000000055511151231257827",
		"1.7976931348623157e308", "2.2250738585072014e-308", "4.9e-324", "5e-324",
		"2.4703282292062327e-324", "2.4703282292062328e-324", "1e-400", "-1e-400",
		"123456789012345678", "1234567890123456789", "12345678901234567890",
		"0.1234567890123456789", "0.12345678901234567891", "1234567890.123456789",
		"1234567890.1234567891", "0.000000000000000001", "0.0000000000000000001",
		"0.00000000000000000001", "0.0000000000000000000123", "1.5e19", "1.5e20",
		"12e18", "123e17", "1.23e-17", "1.2345678901234567e-2", "9.999999999999999999e-1",
		"3.141592653589793238", "2.718281828459045235360287", "1e0", "1E+0", "1e-0",
		"1.0e+01", "100e-2", "0.00500", "-2086501.8666666667e-3", "4294967295.5",
		"1e308", "1.8e308", "-1.8e308", "1e400", "-1e999",
		("17976931348623158079372897140530341507993413271003782693617377898044396"
		 "38"),
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		same_as_strtod(cases[i]);

	/* Longer than the stack copy (strtod on a heap copy): a long fraction, a long integer. */
	char buf[512];
	memcpy(buf, "0.", 2);
	for (size_t i = 2; i < 300; i++)
		buf[i] = (char)('0' + (i * 7) % 10);
	buf[300] = '\0';
	same_as_strtod(buf);
	buf[0] = '7';
	buf[1] = '7';
	buf[309] = '\0';
	memset(buf + 300, '3', 9);
	same_as_strtod(buf); /* 309 digits: about 7.7e308, finite */
	buf[310] = '\0';
	buf[309] = '1';
	same_as_strtod(buf); /* 310 digits: out of range */
	/* A huge exponent field, and one compensated by a long fraction. */
	same_as_strtod("1e99999999999999999999");
	same_as_strtod("1e-99999999999999999999");
	same_as_strtod("0.0000000000000000000000000000000000000000000000000000000000000001e64");
}

struct gram {
	const char *s;
	enum decimal_res want;
	size_t used;
};

static void grammar(void)
{
	static const struct gram cases[] = {
		{"", DECIMAL_SYNTAX, 0},     {"-", DECIMAL_SYNTAX, 1},     {"+1", DECIMAL_SYNTAX, 0},
		{".5", DECIMAL_SYNTAX, 0},   {"-.5", DECIMAL_SYNTAX, 1},   {"1.", DECIMAL_SYNTAX, 2},
		{"1.e5", DECIMAL_SYNTAX, 2}, {"1e", DECIMAL_SYNTAX, 2},    {"1e+", DECIMAL_SYNTAX, 3},
		{"1E-x", DECIMAL_SYNTAX, 3}, {"NaN", DECIMAL_SYNTAX, 0},   {"Infinity", DECIMAL_SYNTAX, 0},
		{"-Infinity", DECIMAL_SYNTAX, 1}, {" 1", DECIMAL_SYNTAX, 0}, {"x", DECIMAL_SYNTAX, 0},
		/* the longest prefix that is a number; the rest is the caller's */
		{"01", DECIMAL_OK, 1},       {"0x10", DECIMAL_OK, 1},      {"1,2", DECIMAL_OK, 1},
		{"12}", DECIMAL_OK, 2},      {"1.5.5", DECIMAL_OK, 3},     {"1e5e5", DECIMAL_OK, 3},
		{"-0]", DECIMAL_OK, 2},      {"3 ", DECIMAL_OK, 1},
	};
	/* pad: followed by 40 blanks, so that decimal_parse's common-shape path is tried */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (int k = 0; k < 4; k++) {
			int fast = k & 1, pad = k >> 1;
			size_t used = 999;
			double v = -1;
			char s[64];
			size_t len = strlen(cases[i].s);
			memcpy(s, cases[i].s, len);
			memset(s + len, ' ', 40);
			len += pad ? 40 : 0;
			enum decimal_res r = fast ? decimal_parse(s, len, &used, &v)
			                          : decimal_parse_strtod(s, len, &used, &v);
			CHECKF(r == cases[i].want && used == cases[i].used,
			       "'%s' (fast %d, pad %d): %d, used %zu", cases[i].s, fast, pad, r, used);
		}
	}
	/*
	 * Any non-digit byte at any place in a run of digits ends the number there; the text
	 * ends after the digits, or 40 blanks later (pad: the common-shape path is tried).
	 */
	for (int k = 1; k < 35; k++) {
		for (int b = 0; b < 256; b++) {
			if (b >= '0' && b <= '9')
				continue;
			int pad = k >= 18, at = pad ? k - 17 : k;
			char t[72];
			memset(t, ' ', sizeof t);
			memcpy(t, "12345678901234567890", 20);
			t[at] = (char)b;
			size_t u = 99, uf = 99;
			double x, y;
			enum decimal_res r = decimal_parse(t, pad ? 60 : 20, &u, &x);
			enum decimal_res rf = decimal_parse_strtod(t, pad ? 60 : 20, &uf, &y);
			if (b == '.' || b == 'e' || b == 'E') { /* the number goes on: 1234.5, 1234e5 */
				CHECKF(r == rf && u == 20 && uf == 20, "byte 0x%02x at %d, pad %d", b, at, pad);
				CHECK(r != DECIMAL_OK || memcmp(&x, &y, sizeof x) == 0);
			} else {
				CHECKF(r == DECIMAL_OK && rf == DECIMAL_OK && u == (size_t)at &&
				               uf == (size_t)at && memcmp(&x, &y, sizeof x) == 0,
				       "byte 0x%02x at %d: %d, used %zu", b, k, r, u);
			}
			memset(t, ' ', sizeof t);
			memcpy(t, "0.12345678901234567890", 22);
			t[at + 2] = (char)b;
			r = decimal_parse(t, pad ? 62 : 22, &u, &x);
			rf = decimal_parse_strtod(t, pad ? 62 : 22, &uf, &y);
			if (b == 'e' || b == 'E') {
				CHECKF(r == rf && u == 22 && uf == 22, "0.. byte 0x%02x at %d", b, k);
			} else {
				CHECKF(r == DECIMAL_OK && u == (size_t)at + 2 && uf == u &&
				               memcmp(&x, &y, sizeof x) == 0,
				       "0.. byte 0x%02x at %d: %d, used %zu", b, k, r, u);
			}
		}
	}

	/* A byte range: nothing past len is read. */
	size_t used;
	double v;
	CHECK(decimal_parse("12345", 3, &used, &v) == DECIMAL_OK && used == 3 && v == 123.0);
	CHECK(decimal_parse("1.5", 2, &used, &v) == DECIMAL_SYNTAX && used == 2);
	CHECK(decimal_parse("1e5", 2, &used, &v) == DECIMAL_SYNTAX && used == 2);
	CHECK(decimal_parse("-0.25e1", 7, &used, &v) == DECIMAL_OK && v == -2.5);
	CHECK(decimal_parse("-0", 2, &used, &v) == DECIMAL_OK && signbit(v) && v == 0);
}

/* Appends the decimal digits of x (no sign) at p; returns the end. */
static char *put_u64(char *p, uint64_t x)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + x % 10);
		x /= 10;
	} while (x != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/*
 * Writes the integer digits m (as text) with the point moved: shape 0 as is,
 * 1 with ".000", 2 as d.ddd e+k, 3 as 0.ddd e+k, 4 with extra zeros and a
 * negative exponent.
 */
static void reshape(char *out, const char *digits, int shape, int neg)
{
	size_t n = strlen(digits);
	char *p = out;
	if (neg)
		*p++ = '-';
	switch (shape) {
	case 0:
		p += snprintf(p, 64, "%s", digits);
		break;
	case 1:
		p += snprintf(p, 64, "%s.000", digits);
		break;
	case 2:
		p += snprintf(p, 64, "%c.%se%zu", digits[0], digits + 1, n - 1);
		break;
	case 3:
		p += snprintf(p, 64, "0.%sE+%zu", digits, n);
		break;
	default:
		p += snprintf(p, 64, "%s00e-2", digits);
		break;
	}
	*p = '\0';
}

static uint64_t pow10_u64(int k)
{
	uint64_t p = 1;
	while (k-- > 0)
		p *= 10;
	return p;
}

static uint64_t pow5(int k)
{
	uint64_t p = 1;
	while (k-- > 0)
		p *= 5;
	return p;
}

static void generated(void)
{
	struct tu_rng rng = {0x9E3779B97F4A7C15ull};
	char text[128], digits[64];
	size_t count = 0;

	/* Random digit strings: 1-24 digits, point anywhere, optional exponent. */
	for (int k = 0; k < 900000; k++) {
		uint64_t r = tu_rng_next(&rng);
		char *p = text;
		if (r & 1)
			*p++ = '-';
		int nint = (int)((r >> 1) % 12);    /* 0: "0" */
		int nfrac = (int)((r >> 5) % 22);   /* 0: no fraction */
		int lead = (int)((r >> 10) % 4);    /* zeros after the point */
		int expo = (int)((r >> 12) % 4);    /* 0, 1: no exponent */
		int eval = (int)((r >> 14) % 51) - 25;
		uint64_t d = tu_rng_next(&rng);
		if (nint == 0) {
			*p++ = '0';
		} else {
			*p++ = (char)('1' + d % 9);
			d /= 9;
			for (int i = 1; i < nint; i++) {
				if (d < 10)
					d = tu_rng_next(&rng);
				*p++ = (char)('0' + d % 10);
				d /= 10;
			}
		}
		if (nfrac > 0) {
			*p++ = '.';
			for (int i = 0; i < lead && i < nfrac; i++)
				*p++ = '0';
			for (int i = lead; i < nfrac; i++) {
				if (d < 10)
					d = tu_rng_next(&rng);
				*p++ = (char)('0' + d % 10);
				d /= 10;
			}
		}
		if (expo >= 2)
			p += snprintf(p, 16, "%s%d", expo == 2 || eval < 0 ? "e" : "E+", eval);
		*p = '\0';
		same_as_strtod(text);
		count++;
	}

	/* Exact ties between adjacent doubles, and one unit either side, as integers. */
	for (int k = 0; k < 300000; k++) {
		uint64_t r = tu_rng_next(&rng);
		int e = 53 + (int)(r % 11);             /* value in [2^e, 2^(e+1)), e + 1 <= 63 */
		uint64_t spacing = 1ull << (e - 52);
		uint64_t m = (1ull << e) | (tu_rng_next(&rng) & ((1ull << e) - 1) & ~(spacing - 1));
		uint64_t tie = m + spacing / 2;
		uint64_t v = tie + (uint64_t)((int)((r >> 8) % 3) - 1);
		*put_u64(digits, v) = '\0';
		reshape(text, digits, (int)((r >> 12) % 5), (int)((r >> 16) & 1));
		same_as_strtod(text);
		count++;
	}
	/* Ties and near-ties with a fraction: doubles in [2^(52-j), 2^(53-j)) are 2^-j apart. */
	for (int k = 0; k < 300000; k++) {
		uint64_t r = tu_rng_next(&rng);
		int j = 1 + (int)(r % 3);                  /* tie fractions of 2^-(j+1) */
		uint64_t ip = (1ull << (52 - j)) | (tu_rng_next(&rng) & ((1ull << (52 - j)) - 1));
		/* odd numerator over 2^(j+1) */
		uint64_t num = 2 * (tu_rng_next(&rng) % (1ull << j)) + 1;
		uint64_t frac = num * pow5(j + 1);                   /* digits of num / 2^(j+1) */
		char *p = text;
		if ((r >> 10) & 1)
			*p++ = '-';
		p = put_u64(p, ip);
		p += snprintf(p, 32, ".%0*llu", j + 1, (unsigned long long)frac);
		int tweak = (int)((r >> 12) % 4); /* 0: exact tie; 1, 2: one more digit +-; 3: "e0" */
		if (tweak == 1)
			p += snprintf(p, 4, "1");
		else if (tweak == 2)
			p[-1] = (char)(p[-1] - 1);
		else if (tweak == 3)
			p += snprintf(p, 4, "e0");
		*p = '\0';
		same_as_strtod(text);
		count++;
	}

	/*
	 * 19-digit decimals w / 10^k just above and just below a tie (the midpoint of two
	 * adjacent doubles): the truncated quotient of the integer path is then exactly the
	 * tie in many of them, and only the sticky bit tells "above" from "tie".
	 */
	for (int k = 0; k < 300000; k++) {
		uint64_t r = tu_rng_next(&rng);
		int dk = 1 + (int)(r % 19);                        /* fraction digits */
		double lo = pow(10.0, 18 - dk), hi = pow(10.0, 19 - dk);
		double x = lo + (hi - lo) * (double)(tu_rng_next(&rng) >> 11) / 9007199254740992.0;
		int e2;
		double fr = frexp(x, &e2);                         /* x = fr * 2^e2, fr in [0.5, 1) */
		uint64_t mant = (uint64_t)ldexp(fr, 53);           /* x = mant * 2^(e2 - 53) */
		int e = e2 - 53 - 1;                               /* midpoint = (2 mant + 1) * 2^e */
		unsigned __int128 num = (unsigned __int128)(2 * mant + 1) * pow10_u64(dk);
		uint64_t w;
		if (e >= 0) {
			w = (uint64_t)(num << e);                  /* an exact decimal: a tie itself */
		} else {
			unsigned __int128 one = (unsigned __int128)1 << -e;
			w = (uint64_t)((num + one - 1) >> -e); /* the first decimal above */
		}
		if ((r >> 8) & 1)
			w--;                                      /* at or just below */
		*put_u64(digits, w) = '\0';
		size_t nd = strlen(digits);
		char *p = text;
		if ((r >> 9) & 1)
			*p++ = '-';
		size_t room = sizeof text - (size_t)(p - text);
		if ((r >> 10) & 1) {
			snprintf(p, room, "%se-%d", digits, dk);
		} else {
			size_t ni = nd > (size_t)dk ? nd - (size_t)dk : 0; /* integer digits */
			if (ni == 0)
				*p++ = '0';
			memcpy(p, digits, ni);
			p += ni;
			*p++ = '.';
			for (size_t z = nd - ni; z < (size_t)dk; z++)
				*p++ = '0';
			memcpy(p, digits + ni, nd - ni + 1);
		}
		same_as_strtod(text);
		count++;
	}

	/* Doubles written by printf in the shapes JSON writers use. */
	static const char *const fmt[] = {"%.17g", "%.15g", "%.16e", "%.6f", "%.3f", "%.0f"};
	for (int k = 0; k < 600000; k++) {
		uint64_t r = tu_rng_next(&rng);
		double x;
		switch (r % 4) {
		case 0: /* a rate: bytes / 60 */
			x = (double)(tu_rng_next(&rng) % 4000000000ull) / 60.0;
			break;
		case 1: /* any magnitude 1e-20 .. 1e20 */
			x = ldexp((double)(tu_rng_next(&rng) >> 11), (int)((r >> 8) % 130) - 118);
			break;
		case 2: /* a small count */
			x = (double)(tu_rng_next(&rng) % 100000) / (double)(1 + (r >> 8) % 15);
			break;
		default: /* a counter */
			x = (double)(tu_rng_next(&rng) >> ((r >> 8) % 50));
			break;
		}
		if ((r >> 20) & 1)
			x = -x;
		snprintf(text, sizeof text, fmt[(r >> 24) % 6], x);
		same_as_strtod(text);
		count++;
	}
	CHECK(count == 2400000);
}

int main(void)
{
	hand_picked();
	grammar();
	generated();
	return 0;
}
