/* civil: Gregorian day counts and the Druid instant writer (rb/input/civil.h). */
#include "rb/input/civil.h"

#include <stdio.h>

int civil_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int civil_days_in_month(int64_t y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && civil_is_leap(y) ? 29 : dim[m - 1];
}

/* Counts from a March-based year so that the leap day ends a year. */
int64_t civil_days_from_date(int64_t y, int m, int d)
{
	int64_t yy = m <= 2 ? y - 1 : y;
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;                        /* [0, 399] */
	int64_t mp = m > 2 ? m - 3 : m + 9;                  /* March = 0 */
	int64_t doy = (153 * mp + 2) / 5 + d - 1;            /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void civil_date_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;                                        /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;                                      /* March = 0 */
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

size_t civil_format_ms(int64_t ms, char *buf, size_t cap)
{
	const int64_t day_ms = 86400000;
	int64_t days = ms >= 0 ? ms / day_ms : -((-ms + day_ms - 1) / day_ms);
	int64_t rest = ms - days * day_ms; /* [0, 86400000) */
	int64_t y;
	int m, d;
	civil_date_from_days(days, &y, &m, &d);
	int n = snprintf(buf, cap, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
	                 (int)(rest / 3600000), (int)(rest / 60000 % 60), (int)(rest / 1000 % 60),
	                 (int)(rest % 1000));
	return n < 0 ? 0 : (size_t)n;
}
