/*
 * instant: series_parse_instant() on a table of valid instants (epoch seconds
 * computed independently with Python's datetime) and of invalid strings that
 * must be refused. Tolerance 1e-6 s (the values are exact in a double except
 * for fractional seconds near 1.7e9 s, whose ulp is 2.4e-7 s).
 */
#include <math.h>
#include <string.h>

#include "rb/input/series.h"
#include "testutil.h"

struct valid {
	const char *text;
	double epoch;
};

static const struct valid valid[] = {
	/* Druid's own form, and the separators / zone spellings. */
	{"2023-09-21T09:00:00.000Z", 1695286800.0},
	{"2023-09-21T09:00:00Z", 1695286800.0},
	{"2023-09-21T09:00Z", 1695286800.0},
	{"2023-09-21 09:00:00.000Z", 1695286800.0},
	{"2023-09-21t09:00:00z", 1695286800.0},
	{"2023-09-21T09:00:00", 1695286800.0},          /* no zone = UTC */
	{"2023-09-21T09:00:00.000+00:00", 1695286800.0},
	{"2023-09-21T09:00:00.000-00:00", 1695286800.0},
	{"2023-09-21T11:00:00.000+02:00", 1695286800.0},
	{"2023-09-21T11:00:00.000+0200", 1695286800.0},
	{"2023-09-21T11:00:00.000+02", 1695286800.0},
	{"2023-09-21T03:30:00-05:30", 1695286800.0},
	{"2023-09-21T03:30:00-0530", 1695286800.0},
	/* Offsets that move the instant across a day, month and year boundary. */
	{"2024-01-01T01:30:00+02:00", 1704065400.0}, /* = 2023-12-31T23:30Z */
	{"2023-12-31T20:30:00-03:00", 1704065400.0},
	{"2024-02-29T23:00:00-01:00", 1709251200.0}, /* = 2024-03-01T00:00Z */
	{"2024-03-01T05:00:00+05:00", 1709251200.0},
	{"2023-12-31T23:59:59+23:59", 1704067199.0 - 23 * 3600 - 59 * 60},
	/* Leap years. */
	{"2024-02-29T00:00:00.000Z", 1709164800.0},
	{"2000-02-29T12:34:56Z", 951827696.0},
	{"2100-03-01T00:00:00Z", 4107542400.0},
	/* Range ends and before the epoch. */
	{"1969-12-31T23:59:59Z", -1.0},
	{"1970-01-01T00:00:00Z", 0.0},
	{"1900-03-01T00:00:00Z", -2203891200.0},
	{"0001-01-01T00:00:00Z", -62135596800.0},
	{"9999-12-31T23:59:59Z", 253402300799.0},
	/* Fractional seconds of any length, '.' or ','. */
	{"2023-09-21T09:00:00.5Z", 1695286800.5},
	{"2023-09-21T09:00:00,25Z", 1695286800.25},
	{"2023-09-21T09:00:00.123456Z", 1695286800.123456},
	{"2023-09-21T09:00:00.123456789Z", 1695286800.123456789},
	{"2023-09-21T09:00:00.99999999999999999999999999Z", 1695286801.0},
	{"1970-01-01T00:00:00.000001Z", 0.000001},
	{"1970-01-01T00:00:00.000000000000000000009Z", 0.0},
};

static const char *const invalid[] = {
	"",
	"2023",
	"2023-09-21",                    /* date only */
	"2023-09-21T",
	"2023-09-21T09",
	"2023-09-21T09:0",
	"2023-09-21T9:00:00Z",
	"2023-9-21T09:00:00Z",
	"23-09-21T09:00:00Z",
	"20230921T090000Z",              /* basic form */
	"2023-09-21X09:00:00Z",
	"2023-09-21T09:00:00.Z",         /* no fraction digits */
	"2023-09-21T09:00:00.5.5Z",
	"2023-09-21T09:00:00ZZ",
	"2023-09-21T09:00:00Z ",
	" 2023-09-21T09:00:00Z",
	"2023-09-21T09:00:00+2",
	"2023-09-21T09:00:00+02:0",
	"2023-09-21T09:00:00+02:",
	"2023-09-21T09:00:00+020",
	"2023-09-21T09:00:00+24:00",     /* offset out of range */
	"2023-09-21T09:00:00+02:60",
	"2023-09-21T09:00:00 +02:00",
	"2023-00-21T09:00:00Z",          /* month */
	"2023-13-21T09:00:00Z",
	"2023-09-00T09:00:00Z",          /* day */
	"2023-09-31T09:00:00Z",
	"2023-04-31T09:00:00Z",
	"2023-02-29T00:00:00Z",          /* not a leap year */
	"1900-02-29T00:00:00Z",
	"2024-02-30T00:00:00Z",
	"2023-09-21T24:00:00Z",          /* hour */
	"2023-09-21T09:60:00Z",          /* minute */
	"2023-09-21T09:00:61Z",          /* second */
	"2016-12-31T23:59:60Z",          /* leap second: refused, see docs/INPUT.md */
	"2023-09-21T09:00:00.000Z\n",
	"-2023-09-21T09:00:00Z",
	"+2023-09-21T09:00:00Z",
	"2023-09-21T09:00:00.000Zjunk",
	"２０２３-09-21T09:00:00Z",        /* non-ASCII digits */
	"2023-09-21T09:00:00.00000000000000000000000000000000000000000000000Z", /* 68 chars */
};

int main(void)
{
	for (size_t k = 0; k < sizeof valid / sizeof valid[0]; k++) {
		double e = -12345.0;
		int rc = series_parse_instant(valid[k].text, &e);
		CHECKF(rc == 0, "%s refused: %s", valid[k].text,
		       series_instant_error(valid[k].text, NULL));
		CHECKF(fabs(e - valid[k].epoch) <= 1e-6, "%s -> %.9f, want %.9f", valid[k].text, e,
		       valid[k].epoch);
	}
	for (size_t k = 0; k < sizeof invalid / sizeof invalid[0]; k++) {
		double e = -12345.0;
		CHECKF(series_parse_instant(invalid[k], &e) == -1, "\"%s\" accepted (%.3f)",
		       invalid[k], e);
		CHECKF(e == -12345.0, "\"%s\": output written on failure", invalid[k]);
		const char *why = series_instant_error(invalid[k], NULL);
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
	       sizeof valid / sizeof valid[0], sizeof invalid / sizeof invalid[0]);
	return 0;
}
