/*
 * strnum: the bounded number parsers. Accepted forms, every rejected
 * leniency of strtol/strtod (blanks, hex, inf/nan, trailing junk, empty),
 * range and overflow, byte suffixes, and that a byte range (not a C string)
 * is honoured.
 */
#include <math.h>
#include <string.h>

#include "rb/fcgi/strnum.h"
#include "testutil.h"

struct ll_case {
	const char *s;
	enum strnum_res want;
	long long v;
};

struct d_case {
	const char *s;
	enum strnum_res want;
	double v;
};

struct b_case {
	const char *s;
	enum strnum_res want;
	unsigned long long v;
};

int main(void)
{
	static const struct ll_case ll[] = {
		{"0", STRNUM_OK, 0},          {"42", STRNUM_OK, 42},       {"-7", STRNUM_OK, -7},
		{"+7", STRNUM_OK, 7},         {"007", STRNUM_OK, 7},       {"1000", STRNUM_OK, 1000},
		{"1001", STRNUM_RANGE, 0},    {"-1001", STRNUM_RANGE, 0},
		{"99999999999999999999", STRNUM_RANGE, 0},
		{"", STRNUM_SYNTAX, 0},       {"-", STRNUM_SYNTAX, 0},     {" 1", STRNUM_SYNTAX, 0},
		{"1 ", STRNUM_SYNTAX, 0},     {"0x10", STRNUM_SYNTAX, 0},  {"1e3", STRNUM_SYNTAX, 0},
		{"1.0", STRNUM_SYNTAX, 0},    {"12a", STRNUM_SYNTAX, 0},   {"--1", STRNUM_SYNTAX, 0},
		{"0000000000000000000000000000000000000000000000000000000000000001", STRNUM_SYNTAX, 0},
	};
	for (size_t i = 0; i < sizeof ll / sizeof ll[0]; i++) {
		long long v = -999;
		enum strnum_res r = strnum_ll(ll[i].s, strlen(ll[i].s), -1000, 1000, &v);
		CHECKF(r == ll[i].want, "'%s': %d", ll[i].s, r);
		if (r == STRNUM_OK)
			CHECK(v == ll[i].v);
		else
			CHECK(v == -999); /* untouched */
	}
	long long v;
	CHECK(strnum_ll("123456", 2, 0, 100, &v) == STRNUM_OK && v == 12); /* a byte range */

	static const struct d_case d[] = {
		{"0", STRNUM_OK, 0},        {"0.5", STRNUM_OK, 0.5},   {".5", STRNUM_OK, 0.5},
		{"5.", STRNUM_RANGE, 0},    {"1", STRNUM_OK, 1},       {"1e0", STRNUM_OK, 1},
		{"1E-1", STRNUM_OK, 0.1},   {"+0.25", STRNUM_OK, 0.25}, {"-0", STRNUM_OK, 0},
		{"1.0000001", STRNUM_RANGE, 0}, {"-0.1", STRNUM_RANGE, 0}, {"1e400", STRNUM_RANGE, 0},
		{"nan", STRNUM_SYNTAX, 0},  {"NaN", STRNUM_SYNTAX, 0}, {"inf", STRNUM_SYNTAX, 0},
		{"-Infinity", STRNUM_SYNTAX, 0}, {"0x1p-1", STRNUM_SYNTAX, 0}, {"", STRNUM_SYNTAX, 0},
		{".", STRNUM_SYNTAX, 0},    {"e1", STRNUM_SYNTAX, 0},  {"1e", STRNUM_SYNTAX, 0},
		{"1e+", STRNUM_SYNTAX, 0},  {" 0.5", STRNUM_SYNTAX, 0}, {"0.5 ", STRNUM_SYNTAX, 0},
		{"0.5x", STRNUM_SYNTAX, 0}, {"0,5", STRNUM_SYNTAX, 0}, {"1..2", STRNUM_SYNTAX, 0},
	};
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
		double x = -999;
		enum strnum_res r = strnum_double(d[i].s, strlen(d[i].s), 0.0, 1.0, &x);
		CHECKF(r == d[i].want, "'%s': %d", d[i].s, r);
		if (r == STRNUM_OK)
			CHECK(x == d[i].v);
		else
			CHECK(x == -999);
	}
	double x;
	CHECK(strnum_double("0.75junk", 4, 0, 1, &x) == STRNUM_OK && x == 0.75);
	CHECK(strnum_double("1e308", 5, -INFINITY, INFINITY, &x) == STRNUM_OK && isfinite(x));

	static const struct b_case b[] = {
		{"1024", STRNUM_OK, 1024},      {"1K", STRNUM_OK, 1024},     {"1k", STRNUM_OK, 1024},
		{"16M", STRNUM_OK, 16ull << 20}, {"1G", STRNUM_OK, 1ull << 30}, {"2g", STRNUM_RANGE, 0},
		{"1023", STRNUM_RANGE, 0},      {"0K", STRNUM_RANGE, 0},     {"K", STRNUM_SYNTAX, 0},
		{"16MB", STRNUM_SYNTAX, 0},     {"16 M", STRNUM_SYNTAX, 0},  {"-1K", STRNUM_SYNTAX, 0},
		{"+1K", STRNUM_SYNTAX, 0},      {"1.5M", STRNUM_SYNTAX, 0},  {"", STRNUM_SYNTAX, 0},
		{"17179869184G", STRNUM_RANGE, 0}, /* 2^34 G overflows 64 bits */
		{"1T", STRNUM_SYNTAX, 0},
	};
	for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
		unsigned long long u = 999;
		enum strnum_res r = strnum_bytes(b[i].s, strlen(b[i].s), 1024, 1ull << 30, &u);
		CHECKF(r == b[i].want, "'%s': %d", b[i].s, r);
		if (r == STRNUM_OK)
			CHECK(u == b[i].v);
		else
			CHECK(u == 999);
	}
	return 0;
}
