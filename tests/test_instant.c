/*
 * instant: series_parse_instant() on a table of valid instants (epoch seconds
 * computed independently with Python's datetime) and of invalid strings that
 * must be refused. Tolerance 1e-6 s (the values are exact in a double except
 * for fractional seconds near 1.7e9 s, whose ulp is 2.4e-7 s).
 */
#include <math.h>
#include <string.h>

#include "rb/input/series.h"
#include "instant_cases.h"
#include "testutil.h"

int main(void)
{
	for (size_t k = 0; k < INSTANT_NVALID; k++) {
		double e = -12345.0;
		int rc = series_parse_instant(instant_valid[k].text, &e);
		CHECKF(rc == 0, "%s refused: %s", instant_valid[k].text,
		       series_instant_error(instant_valid[k].text, NULL));
		CHECKF(fabs(e - instant_valid[k].epoch) <= 1e-6, "%s -> %.9f, want %.9f",
		       instant_valid[k].text, e, instant_valid[k].epoch);
	}
	for (size_t k = 0; k < INSTANT_NINVALID; k++) {
		double e = -12345.0;
		CHECKF(series_parse_instant(instant_invalid[k], &e) == -1, "\"%s\" accepted (%.3f)",
		       instant_invalid[k], e);
		CHECKF(e == -12345.0, "\"%s\": output written on failure", instant_invalid[k]);
		const char *why = series_instant_error(instant_invalid[k], NULL);
		CHECK(why != NULL && strlen(why) > 0);
	}
	CHECK(series_parse_instant(NULL, NULL) == -1);
	/* The length cap: 64 accepted, 65 refused (same instant, padded fraction). */
	char buf[80];
	memset(buf, '0', sizeof buf);
	memcpy(buf, "2023-09-21T09:00:00.", 20);
	buf[63] = 'Z';
	buf[64] = '\0';
	CHECK(strlen(buf) == 64);
	double e;
	CHECK(series_parse_instant(buf, &e) == 0 && e == 1695286800.0);
	buf[63] = '0';
	buf[64] = 'Z';
	buf[65] = '\0';
	CHECK(series_parse_instant(buf, &e) == -1);
	CHECK(strstr(series_instant_error(buf, NULL), "64") != NULL);
	printf("instant: %zu valid, %zu invalid strings checked\n",
	       INSTANT_NVALID, INSTANT_NINVALID);
	return 0;
}
