/*
 * strnum: bounded decimal parsers (see include/rb/fcgi/strnum.h). The syntax is checked
 * here by hand first; strtoll/strtod then only see text that is a plain number
 * (so their leniencies - leading spaces, hex, "inf", "nan" - never apply).
 */
#include "rb/fcgi/strnum.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Longest accepted text; longer input is a syntax error (no real value needs more). */
enum { STRNUM_MAX_TEXT = 63 };

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

enum strnum_res strnum_ll(const char *s, size_t len, long long min, long long max,
                          long long *out)
{
	char buf[STRNUM_MAX_TEXT + 1];
	size_t i = 0;
	if (len == 0 || len > STRNUM_MAX_TEXT)
		return STRNUM_SYNTAX;
	if (s[0] == '-' || s[0] == '+')
		i = 1;
	if (i == len)
		return STRNUM_SYNTAX;
	for (; i < len; i++)
		if (!is_digit(s[i]))
			return STRNUM_SYNTAX;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	char *end = NULL;
	long long v = strtoll(buf, &end, 10);
	if (end != buf + len)
		return STRNUM_SYNTAX;
	if (errno == ERANGE || v < min || v > max)
		return STRNUM_RANGE;
	*out = v;
	return STRNUM_OK;
}

enum strnum_res strnum_double(const char *s, size_t len, double min, double max, double *out)
{
	char buf[STRNUM_MAX_TEXT + 1];
	size_t i = 0, digits = 0;
	if (len == 0 || len > STRNUM_MAX_TEXT)
		return STRNUM_SYNTAX;
	if (s[i] == '-' || s[i] == '+')
		i++;
	for (; i < len && is_digit(s[i]); i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && is_digit(s[i]); i++)
			digits++;
	if (digits == 0)
		return STRNUM_SYNTAX;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp_digits = 0;
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		for (; i < len && is_digit(s[i]); i++)
			exp_digits++;
		if (exp_digits == 0)
			return STRNUM_SYNTAX;
	}
	if (i != len)
		return STRNUM_SYNTAX;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *end = NULL;
	errno = 0;
	double v = strtod(buf, &end);
	if (end != buf + len)
		return STRNUM_SYNTAX;
	if (!isfinite(v) || v < min || v > max)
		return STRNUM_RANGE;
	*out = v;
	return STRNUM_OK;
}

enum strnum_res strnum_bytes(const char *s, size_t len, unsigned long long min,
                             unsigned long long max, unsigned long long *out)
{
	unsigned long long mult = 1;
	if (len > 0) {
		switch (s[len - 1]) {
		case 'k':
		case 'K':
			mult = 1ull << 10;
			break;
		case 'm':
		case 'M':
			mult = 1ull << 20;
			break;
		case 'g':
		case 'G':
			mult = 1ull << 30;
			break;
		default:
			break;
		}
		if (mult != 1)
			len--;
	}
	if (len == 0 || s[0] == '-' || s[0] == '+')
		return STRNUM_SYNTAX;
	long long v;
	enum strnum_res r = strnum_ll(s, len, 0, (long long)(~0ull >> 1), &v);
	if (r != STRNUM_OK)
		return r;
	unsigned long long u = (unsigned long long)v;
	if (u > ~0ull / mult)
		return STRNUM_RANGE;
	u *= mult;
	if (u < min || u > max)
		return STRNUM_RANGE;
	*out = u;
	return STRNUM_OK;
}
