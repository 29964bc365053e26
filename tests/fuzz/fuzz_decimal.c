/*
 * fuzz_decimal: arbitrary bytes into decimal_parse(), checked against
 *  - decimal_parse_strtod() (every number through strtod): the same result,
 *    the same length read and the same bits;
 *  - glibc strtod() itself on a NUL-terminated copy of the number read: it
 *    must read exactly that many bytes and give the same bits (or overflow
 *    when DECIMAL_RANGE was returned);
 *  - an independent check of the JSON number grammar (a state machine here)
 *    for the length read or the offset of the failure.
 * A violated check aborts (a crash for libFuzzer).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/input/decimal.h"

#define REQUIRE(c)                     \
	do {                           \
		if (!(c))              \
			abort();       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int digit(const uint8_t *s, size_t i, size_t n)
{
	return i < n && s[i] >= '0' && s[i] <= '9';
}

/* Longest JSON number prefix of s[0..n): 1 and its length, or 0 and the failing offset. */
static int grammar(const uint8_t *s, size_t n, size_t *at)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	if (!digit(s, i, n)) {
		*at = i;
		return 0;
	}
	if (s[i] == '0')
		i++;
	else
		while (digit(s, i, n))
			i++;
	if (i < n && s[i] == '.') {
		i++;
		if (!digit(s, i, n)) {
			*at = i;
			return 0;
		}
		while (digit(s, i, n))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!digit(s, i, n)) {
			*at = i;
			return 0;
		}
		while (digit(s, i, n))
			i++;
	}
	*at = i;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t used = 0, used_ref = 0;
	double v = 0.5, ref = 0.5;
	enum decimal_res r = decimal_parse(s, size, &used, &v);
	enum decimal_res rr = decimal_parse_strtod(s, size, &used_ref, &ref);
	REQUIRE(r == rr && used == used_ref);
	REQUIRE(r == DECIMAL_OK || r == DECIMAL_SYNTAX || r == DECIMAL_RANGE);
	size_t at;
	int ok = grammar(data, size, &at);
	REQUIRE(used == at);
	REQUIRE(ok == (r != DECIMAL_SYNTAX));
	if (r == DECIMAL_SYNTAX)
		return 0;
	char *copy = malloc(used + 1);
	REQUIRE(copy != NULL);
	memcpy(copy, s, used);
	copy[used] = '\0';
	char *stop;
	errno = 0;
	double want = strtod(copy, &stop);
	REQUIRE(stop == copy + used);
	if (r == DECIMAL_RANGE) {
		REQUIRE(isinf(want) && errno == ERANGE);
	} else {
		REQUIRE(isfinite(want));
		REQUIRE(memcmp(&v, &want, sizeof v) == 0);
		REQUIRE(memcmp(&ref, &want, sizeof v) == 0);
	}
	free(copy);
	return 0;
}
