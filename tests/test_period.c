/*
 * test_period: ISO-8601 granularity periods -> milliseconds. A table of
 * valid texts with their exact length and of invalid ones with a word the
 * error message must contain (so each rejection is for the stated reason).
 */
#include <string.h>

#include "rb/input/period.h"
#include "testutil.h"

static const struct {
	const char *text;
	int64_t ms;
} valid[] = {
	{"PT1M", 60000},
	{"pt1m", 60000},
	{"pt5m", 300000},
	{"PT15M", 900000},
	{"PT1H", 3600000},
	{"PT1H30M", 5400000}, /* the old parser said 7800 s */
	{"pT1h30M", 5400000},
	{"PT90M", 5400000},
	{"PT30S", 30000},
	{"PT0.5S", 500},
	{"PT1,25S", 1250},
	{"PT1.001S", 1001},
	{"PT0.1S", 100},
	{"P1D", 86400000},
	{"P1DT2H", 93600000},
	{"p1dt2h", 93600000},
	{"P1W", 604800000},
	{"P2W", 1209600000},
	{"P1W1D", 691200000},
	{"P1DT1H1M1S", 90061000},
	{"P1DT1H1M1.5S", 90061500},
	{"PT05M", 300000},
	{"P0Y0M1D", 86400000},  /* zero years/months are a fixed length */
	{"PT0H5M", 300000},
	{"P11574074DT1H", INT64_C(999999997200000)}, /* just below the cap */
	{"PT1000000000000S", PERIOD_MAX_MS},                       /* exactly the cap */
};

static const struct {
	const char *text;
	const char *why; /* substring of the error message */
} invalid[] = {
	{"", "empty"},
	{"P", "no length"},
	{"PT", "T must be followed"},
	{"P1DT", "T must be followed"},
	{"P1M", "no fixed length"},  /* a month, not a minute */
	{"p1m", "no fixed length"},
	{"P1Y", "no fixed length"},
	{"P1Y2D", "no fixed length"},
	{"P3M", "no fixed length"},
	{"PT0S", "zero"},
	{"P0D", "zero"},
	{"PT0.000S", "zero"},
	{"-PT1M", "negative"},
	{"PT-1M", "negative"},
	{"P-1D", "negative"},
	{"PT1000000000000.001S", "too long"},
	{"PT1000000000001S", "too long"},
	{"P99999999999999999999D", "too long"},
	{"P1000000000000000W", "too long"},
	{"PT5", "without a unit"},
	{"5M", "starts with P"},
	{"T5M", "starts with P"},
	{" PT5M", "starts with P"},
	{"PT5M ", "expected a number"},
	{"PT5X", "unknown unit"},
	{"P5H", "come after T"},
	{"P5S", "come after T"},
	{"PT1D", "come before T"},
	{"PT1W", "come before T"},
	{"PT1M1H", "out of order"},
	{"PT1M1M", "out of order"},
	{"P1D1W", "out of order"},
	{"PT1HT1M", "T appears twice"},
	{"PT1.5M", "only seconds"},
	{"P1.5D", "only seconds"},
	{"PT1.S", "digits after"},
	{"PT0.0001S", "finer than a millisecond"},
	{"PTM", "expected a number"},
	{"PT1H30", "without a unit"},
	{"minute", "starts with P"},
	{"PT5M\x01", "expected a number"},
	{"PT000000000000000000001M", "too long"}, /* more than 18 digits */
	{"P1DT1H1M1S1111111111111111111111111111111111111111111111111111111", "longer than 64"},
};

int main(void)
{
	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
		struct rb_err err = {0};
		int64_t ms = -1;
		enum rb_code rc = period_parse_ms(valid[i].text, strlen(valid[i].text), &ms, &err);
		CHECKF(rc == RB_OK, "%s: %s", valid[i].text, err.msg);
		CHECKF(ms == valid[i].ms, "%s: got %lld ms, want %lld", valid[i].text, (long long)ms,
		       (long long)valid[i].ms);
	}
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		struct rb_err err = {0};
		int64_t ms = -1;
		enum rb_code rc =
			period_parse_ms(invalid[i].text, strlen(invalid[i].text), &ms, &err);
		CHECKF(rc == RB_E_INPUT, "\"%s\" accepted (%lld ms)", invalid[i].text, (long long)ms);
		CHECKF(err.code == RB_E_INPUT && rb_http_status(err.code) == 400, "%s",
		       invalid[i].text);
		CHECKF(ms == 0, "%s: ms not reset", invalid[i].text);
		CHECKF(strstr(err.msg, invalid[i].why) != NULL, "\"%s\": message \"%s\" lacks \"%s\"",
		       invalid[i].text, err.msg, invalid[i].why);
	}

	/* Not NUL-terminated: only len bytes are read. */
	{
		const char buf[] = {'P', 'T', '5', 'M', '9', '9'};
		int64_t ms = 0;
		CHECK(period_parse_ms(buf, 4, &ms, NULL) == RB_OK && ms == 300000);
	}
	/* An embedded NUL is junk, not the end of the text. */
	{
		const char buf[] = {'P', 'T', '5', 'M', '\0', '1'};
		int64_t ms = 0;
		CHECK(period_parse_ms(buf, sizeof buf, &ms, NULL) == RB_E_INPUT && ms == 0);
	}
	/* NULL text and NULL err are tolerated. */
	{
		int64_t ms = 1;
		CHECK(period_parse_ms(NULL, 0, &ms, NULL) == RB_E_INPUT && ms == 0);
	}
	/* Lengths (the history setting): zero is accepted, every other rule stays. */
	{
		int64_t ms = -1;
		CHECK(period_parse_length_ms("PT0S", 4, &ms, NULL) == RB_OK && ms == 0);
		CHECK(period_parse_length_ms("P0D", 3, &ms, NULL) == RB_OK && ms == 0);
		CHECK(period_parse_length_ms("P0Y0M", 5, &ms, NULL) == RB_OK && ms == 0);
		CHECK(period_parse_length_ms("P7D", 3, &ms, NULL) == RB_OK && ms == 604800000);
		struct rb_err err = {0};
		CHECK(period_parse_length_ms("P1M", 3, &ms, &err) == RB_E_INPUT && ms == 0 &&
		      strstr(err.msg, "months") != NULL);
		CHECK(period_parse_length_ms("-PT0S", 5, &ms, NULL) == RB_E_INPUT);
		CHECK(period_parse_length_ms("", 0, &ms, NULL) == RB_E_INPUT);
		CHECK(period_parse_length_ms("P", 1, &ms, NULL) == RB_E_INPUT);
		for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
			if (strcmp(invalid[i].why, "zero") == 0)
				continue;
			CHECKF(period_parse_length_ms(invalid[i].text, strlen(invalid[i].text), &ms,
			                              NULL) == RB_E_INPUT,
			       "length \"%s\" accepted", invalid[i].text);
		}
	}
	/* Seconds form, including a fraction. */
	{
		double s = 0;
		CHECK(period_parse_seconds("PT1H30M", &s, NULL) == RB_OK && s == 5400.0);
		CHECK(period_parse_seconds("PT0.25S", &s, NULL) == RB_OK && s == 0.25);
		CHECK(period_parse_seconds("P1M", &s, NULL) == RB_E_INPUT && s == 0.0);
	}
	printf("period: %zu valid, %zu invalid cases\n", sizeof valid / sizeof valid[0],
	       sizeof invalid / sizeof invalid[0]);
	return 0;
}
