/*
 * fuzz_period: period_parse_ms() on arbitrary bytes. Invariants checked
 * (abort on violation, independent of NDEBUG): success gives
 * 0 < ms <= PERIOD_MAX_MS; failure is RB_E_INPUT with ms 0 and a message;
 * the answer does not depend on letter case.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/input/period.h"

#define FUZZ_CHECK(c)              \
	do {                       \
		if (!(c))          \
			abort();   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rb_err err = {0};
	int64_t ms = -1;
	enum rb_code rc = period_parse_ms((const char *)data, size, &ms, &err);
	if (rc == RB_OK) {
		FUZZ_CHECK(ms > 0 && ms <= PERIOD_MAX_MS);
	} else {
		FUZZ_CHECK(rc == RB_E_INPUT && err.code == RB_E_INPUT && ms == 0);
		FUZZ_CHECK(err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof err.msg) != NULL);
	}
	/* Lengths (the history setting) agree, except that a zero total is accepted there. */
	{
		struct rb_err lerr = {0};
		int64_t lms = -1;
		enum rb_code lrc = period_parse_length_ms((const char *)data, size, &lms, &lerr);
		if (rc == RB_OK)
			FUZZ_CHECK(lrc == RB_OK && lms == ms);
		else if (lrc == RB_OK)
			FUZZ_CHECK(lms == 0 && strstr(err.msg, "zero") != NULL);
		else
			FUZZ_CHECK(lms == 0 && strcmp(lerr.msg, err.msg) == 0);
	}
	if (size <= PERIOD_MAX_TEXT) {
		char flipped[PERIOD_MAX_TEXT];
		for (size_t i = 0; i < size; i++) {
			char c = (char)data[i];
			if (c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			else if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			flipped[i] = c;
		}
		int64_t ms2 = -1;
		enum rb_code rc2 = period_parse_ms(flipped, size, &ms2, NULL);
		FUZZ_CHECK(rc2 == rc && ms2 == ms);
	}
	return 0;
}
