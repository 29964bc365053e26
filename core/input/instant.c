/*
 * instant: the ISO-8601 instant parser behind series_parse_instant().
 *
 * Accepts exactly one shape, the one Druid (Joda-Time) writes plus the
 * variants a hand-built request is likely to use:
 *
 *   YYYY-MM-DD (T|t|' ') hh:mm [:ss [(.|,)fraction]] [Z|z|(+|-)hh[[:]mm]]
 *
 * Fractional seconds may have any number of digits (the first 15 count).
 * No zone designator means UTC. Field ranges are checked: month 1-12, day
 * 1-28/29/30/31 for that month (proleptic Gregorian leap years), hour 0-23,
 * minute 0-59, second 0-59, zone offset up to 23:59. A leap second (:60) is
 * rejected: Druid never writes one and POSIX time cannot represent it.
 * The text is at most SERIES_INSTANT_MAX characters.
 *
 * It is not a general date parser: no week dates, ordinal dates, date-only
 * or basic (separator-free) forms, no expanded years, no 24:00.
 */
#include "rb/input/series.h"

#include "rb/input/civil.h"

#include <stddef.h>
#include <string.h>

/* Reads exactly n ASCII digits at *p into *v; advances *p. Returns 0, or -1. */
static int digits(const char **p, int n, int *v)
{
	int x = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		x = x * 10 + (c - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

const char *series_instant_error(const char *text, double *epoch_seconds)
{
	if (text == NULL)
		return "no text";
	size_t len = strnlen(text, SERIES_INSTANT_MAX + 1);
	if (len > SERIES_INSTANT_MAX)
		return "longer than 64 characters";

	const char *p = text;
	int y, mo, d, h, mi, s = 0;
	if (digits(&p, 4, &y) != 0 || *p++ != '-' || digits(&p, 2, &mo) != 0 ||
	    *p++ != '-' || digits(&p, 2, &d) != 0)
		return "expected a date YYYY-MM-DD";
	if (mo < 1 || mo > 12)
		return "month out of range";
	if (d < 1 || d > civil_days_in_month(y, mo))
		return "day out of range for that month";
	if (*p != 'T' && *p != 't' && *p != ' ')
		return "expected 'T' or ' ' between date and time";
	p++;
	if (digits(&p, 2, &h) != 0 || *p++ != ':' || digits(&p, 2, &mi) != 0)
		return "expected a time hh:mm";
	if (h > 23)
		return "hour out of range";
	if (mi > 59)
		return "minute out of range";

	double frac = 0.0;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &s) != 0)
			return "expected seconds ss";
		if (s == 60)
			return "leap second (:60) not supported";
		if (s > 59)
			return "second out of range";
		if (*p == '.' || *p == ',') {
			p++;
			if (*p < '0' || *p > '9')
				return "expected digits after the decimal mark";
			double scale = 0.1;
			int used = 0;
			while (*p >= '0' && *p <= '9') {
				if (used < 15) {
					frac += (*p - '0') * scale;
					scale /= 10.0;
					used++;
				}
				p++;
			}
		}
	}

	long long offset = 0; /* seconds east of UTC */
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int oh, om = 0;
		p++;
		if (digits(&p, 2, &oh) != 0)
			return "expected a zone offset hh, hhmm or hh:mm";
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &om) != 0)
				return "expected zone offset minutes";
		} else if (*p >= '0' && *p <= '9') {
			if (digits(&p, 2, &om) != 0)
				return "expected zone offset minutes";
		}
		if (oh > 23 || om > 59)
			return "zone offset out of range";
		offset = sign * (oh * 3600LL + om * 60LL);
	}
	if (*p != '\0')
		return "unexpected text after the instant";

	long long days = civil_days_from_date(y, mo, d);
	double whole = (double)(days * 86400LL + h * 3600LL + mi * 60LL + s - offset);
	if (epoch_seconds != NULL)
		*epoch_seconds = whole + frac;
	return NULL;
}

int series_parse_instant(const char *text, double *epoch_seconds)
{
	return series_instant_error(text, epoch_seconds) == NULL ? 0 : -1;
}
