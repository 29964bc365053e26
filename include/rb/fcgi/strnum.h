/*
 * strnum: bounded number parsers for configuration values and form fields
 * (CONVENTIONS 12). They take a byte range (not a C string), accept only plain
 * decimal notation, and reject empty input, whitespace, hex, NaN/Inf, overflow
 * and trailing junk. They produce no messages: the caller names the key.
 * Not a general numeric library.
 */
#ifndef RB_STRNUM_H
#define RB_STRNUM_H

#include <stddef.h>

enum strnum_res {
	STRNUM_OK = 0,  /* parsed, within [min, max] */
	STRNUM_SYNTAX,  /* not a number of the accepted form */
	STRNUM_RANGE    /* a number, outside [min, max] (or overflowing) */
};

/* Decimal integer "[-+]digits" in s[0..len) into *out when within [min, max]. */
enum strnum_res strnum_ll(const char *s, size_t len, long long min, long long max,
                          long long *out);

/*
 * Decimal real "[-+]digits[.digits][(e|E)[-+]digits]" (also ".5" and "5.") in
 * s[0..len) into *out when finite and within [min, max].
 */
enum strnum_res strnum_double(const char *s, size_t len, double min, double max, double *out);

/*
 * Byte count: a non-negative decimal integer with an optional binary suffix
 * K, M or G (either case; 1024, 1024^2, 1024^3), e.g. "16M", within [min, max].
 */
enum strnum_res strnum_bytes(const char *s, size_t len, unsigned long long min,
                             unsigned long long max, unsigned long long *out);

#endif
