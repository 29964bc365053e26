/*
 * decimal: a JSON number (RFC 8259 grammar) read from a byte range and
 * converted to the nearest double, bit-identical to glibc strtod() in the
 * "C" locale (round to nearest, ties to even; -0 kept). Common shapes (up to
 * 19 significant digits, decimal exponent within +-19) are converted without
 * strtod; everything else is handed to strtod. Not a general number parser:
 * no leading '+', no hex, no NaN/Infinity, no blanks (strnum.h is for config
 * values).
 */
#ifndef RB_DECIMAL_H
#define RB_DECIMAL_H

#include <stddef.h>

enum decimal_res {
	DECIMAL_OK = 0, /* *out is the value (underflow gives 0 or a subnormal, as strtod) */
	DECIMAL_SYNTAX, /* the text does not start with a JSON number; *used = offset of the
	                 * byte where the grammar failed (len when the text ended) */
	DECIMAL_RANGE,  /* a number whose magnitude is past the double range (1e400) */
	DECIMAL_LOCALE, /* strtod did not read the whole number: LC_NUMERIC is not "C" */
	DECIMAL_NOMEM,  /* no memory for the NUL-terminated copy strtod needs (long numbers) */
};

/*
 * Reads the JSON number at the start of s[0..len) (the longest prefix that
 * is one: "-"? int frac? exp?; what follows is the caller's business, s need
 * not be NUL-terminated). On DECIMAL_OK *used is its length in bytes and
 * *out its value; on DECIMAL_RANGE / DECIMAL_LOCALE / DECIMAL_NOMEM *used is
 * its length and *out is untouched; on DECIMAL_SYNTAX see above.
 */
enum decimal_res decimal_parse(const char *s, size_t len, size_t *used, double *out);

/*
 * The same grammar and results, but every number goes through strtod(): the
 * reference the fast path is tested against, and the baseline of benchmarks.
 */
enum decimal_res decimal_parse_strtod(const char *s, size_t len, size_t *used, double *out);

#endif
