/*
 * civil: day counts and the Druid instant writer against libc's timegm/gmtime_r
 * (an independent implementation) over every day from 1600 to 2400, and fixed
 * texts for negative and sub-second instants.
 */
#define _GNU_SOURCE 1
#include <string.h>
#include <time.h>

#include "rb/input/civil.h"
#include "testutil.h"

int main(void)
{
	CHECK(civil_is_leap(2000) && civil_is_leap(2024) && !civil_is_leap(1900) && !civil_is_leap(2023));
	CHECK(civil_days_in_month(2024, 2) == 29 && civil_days_in_month(2100, 2) == 28);
	CHECK(civil_days_from_date(1970, 1, 1) == 0);
	for (int64_t z = civil_days_from_date(1600, 1, 1); z <= civil_days_from_date(2400, 12, 31);
	     z++) {
		int64_t y;
		int m, d;
		civil_date_from_days(z, &y, &m, &d);
		CHECKF(civil_days_from_date(y, m, d) == z, "day %lld", (long long)z);
		CHECK(m >= 1 && m <= 12 && d >= 1 && d <= civil_days_in_month(y, m));
		time_t t = (time_t)(z * 86400);
		struct tm tm;
		CHECK(gmtime_r(&t, &tm) != NULL);
		CHECKF(tm.tm_year + 1900 == y && tm.tm_mon + 1 == m && tm.tm_mday == d,
		       "day %lld: %lld-%d-%d vs libc %d-%d-%d", (long long)z, (long long)y, m, d,
		       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	}
	char buf[CIVIL_INSTANT_CAP];
	CHECK(civil_format_ms(INT64_C(1695286800000), buf, sizeof buf) == 24);
	CHECK(strcmp(buf, "2023-09-21T09:00:00.000Z") == 0);
	civil_format_ms(INT64_C(-1), buf, sizeof buf);
	CHECKF(strcmp(buf, "1969-12-31T23:59:59.999Z") == 0, "%s", buf);
	civil_format_ms(INT64_C(951827696789), buf, sizeof buf);
	CHECKF(strcmp(buf, "2000-02-29T12:34:56.789Z") == 0, "%s", buf);
	char small[8];
	CHECK(civil_format_ms(0, small, sizeof small) == 24 && strcmp(small, "1970-01") == 0);
	return 0;
}
