/*
 * emu_time: the calendar arithmetic of rb-druid-emulator (a test fixture):
 * ISO-8601 instants, periods and fixed-offset time zones as Joda/Druid read
 * them, and timestamp printing as Druid writes it. Proleptic Gregorian, UTC
 * milliseconds. Deliberately NOT here: named time zones with DST rules
 * (Europe/Madrid...), month/year arithmetic, ISO week dates, basic format.
 */
#include <stdio.h>
#include <string.h>

#include "emu.h"

int64_t emu_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 of a civil date (any year; month 1-12, day 1-31). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = emu_floor_div(y, 400);
	int64_t yoe = y - era * 400;                                   /* [0, 399] */
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;  /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = emu_floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
	static const int DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return (m == 2 && leap) ? 29 : DAYS[m - 1];
}

/* Reads exactly n digits at *p; returns the value or -1. Advances *p on success. */
static int digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

/* Parses a zone offset at p (after the sign) into minutes: HH, HH:MM, HHMM. Returns chars used or -1. */
static int offset_body(const char *p, int *minutes)
{
	const char *q = p;
	int h = digits(&q, 2);
	if (h < 0 || h > 23)
		return -1;
	int mi = 0;
	if (*q == ':') {
		q++;
		mi = digits(&q, 2);
		if (mi < 0)
			return -1;
	} else if (*q >= '0' && *q <= '9') {
		mi = digits(&q, 2);
		if (mi < 0)
			return -1;
	}
	if (mi > 59)
		return -1;
	*minutes = h * 60 + mi;
	return (int)(q - p);
}

int emu_parse_instant(const char *s, int64_t *ms)
{
	const char *p = s;
	int y = digits(&p, 4);
	if (y < 0)
		return -1;
	int mo = 1, d = 1, h = 0, mi = 0, sec = 0, milli = 0;
	if (*p == '-') {
		p++;
		mo = digits(&p, 2);
		if (mo < 1 || mo > 12)
			return -1;
		if (*p == '-') {
			p++;
			d = digits(&p, 2);
			if (d < 1 || d > days_in_month(y, mo))
				return -1;
		}
	}
	if (*p == 'T' || *p == 't') {
		p++;
		h = digits(&p, 2);
		if (h < 0 || h > 23)
			return -1;
		if (*p == ':') {
			p++;
			mi = digits(&p, 2);
			if (mi < 0 || mi > 59)
				return -1;
			if (*p == ':') {
				p++;
				sec = digits(&p, 2);
				if (sec < 0 || sec > 59)
					return -1;
				if (*p == '.' || *p == ',') {
					p++;
					int nf = 0, scale = 100;
					while (*p >= '0' && *p <= '9') {
						if (nf < 3)
							milli += (*p - '0') * scale;
						scale /= 10;
						nf++;
						p++;
						if (nf > 9)
							return -1;
					}
					if (nf == 0)
						return -1;
				}
			}
		}
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int used = offset_body(p + 1, &off);
		if (used < 0)
			return -1;
		off *= sign;
		p += 1 + used;
	}
	if (*p != '\0')
		return -1;
	int64_t days = days_from_civil(y, mo, d);
	*ms = ((days * 24 + h) * 60 + mi) * EMU_MS_MINUTE + sec * 1000LL + milli - off * EMU_MS_MINUTE;
	return 0;
}

int emu_parse_period(const char *s, int64_t *fixed_ms, int64_t *months, int *nfields, int *weeks_only1)
{
	const char *p = s;
	if (*p != 'P' && *p != 'p')
		return -1;
	p++;
	int in_time = 0, any = 0;
	int64_t y = 0, mo = 0, w = 0, d = 0, h = 0, mi = 0, sec = 0, milli = 0;
	/* fields must come in order: date Y M W D, then T H M S */
	int last = -1;
	while (*p) {
		if ((*p == 'T' || *p == 't') && !in_time) {
			in_time = 1;
			p++;
			if (*p == '\0')
				return -1;
			continue;
		}
		int64_t v = 0;
		int nd = 0;
		while (*p >= '0' && *p <= '9') {
			if (nd >= 9)
				return -1;
			v = v * 10 + (*p - '0');
			nd++;
			p++;
		}
		int64_t frac = -1;
		if (*p == '.' || *p == ',') {
			p++;
			frac = 0;
			int nf = 0, scale = 100;
			while (*p >= '0' && *p <= '9') {
				if (nf >= 3)
					return -1;
				frac += (*p - '0') * scale;
				scale /= 10;
				nf++;
				p++;
			}
			if (nf == 0)
				return -1;
		}
		if (nd == 0)
			return -1;
		char u = *p;
		if (u >= 'a' && u <= 'z')
			u = (char)(u - 'a' + 'A');
		int slot;
		if (!in_time) {
			slot = u == 'Y' ? 0 : u == 'M' ? 1 : u == 'W' ? 2 : u == 'D' ? 3 : -1;
		} else {
			slot = u == 'H' ? 4 : u == 'M' ? 5 : u == 'S' ? 6 : -1;
		}
		if (slot < 0 || slot <= last || (frac >= 0 && slot != 6))
			return -1;
		last = slot;
		p++;
		any = 1;
		switch (slot) {
		case 0: y = v; break;
		case 1: mo = v; break;
		case 2: w = v; break;
		case 3: d = v; break;
		case 4: h = v; break;
		case 5: mi = v; break;
		default:
			sec = v;
			milli = frac > 0 ? frac : 0;
			break;
		}
	}
	if (!any)
		return -1;
	const int64_t vals[8] = {y, mo, w, d, h, mi, sec, milli};
	int n = 0;
	for (int i = 0; i < 8; i++)
		n += vals[i] != 0;
	*nfields = n;
	*months = y * 12 + mo;
	*fixed_ms = w * EMU_MS_WEEK + d * EMU_MS_DAY + h * EMU_MS_HOUR + mi * EMU_MS_MINUTE + sec * 1000 + milli;
	*weeks_only1 = (n == 1 && w == 1);
	return 0;
}

int emu_parse_zone(const char *s, int64_t *offset_ms)
{
	static const char *const UTC_NAMES[] = {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z", "+00:00"};
	for (size_t i = 0; i < sizeof UTC_NAMES / sizeof UTC_NAMES[0]; i++) {
		if (strcmp(s, UTC_NAMES[i]) == 0) {
			*offset_ms = 0;
			return 0;
		}
	}
	if (s[0] != '+' && s[0] != '-')
		return -1;
	int minutes;
	int used = offset_body(s + 1, &minutes);
	if (used < 0 || s[1 + used] != '\0')
		return -1;
	*offset_ms = (s[0] == '-' ? -1 : 1) * (int64_t)minutes * EMU_MS_MINUTE;
	return 0;
}

void emu_format_instant(int64_t ms, int64_t offset_ms, char *out, size_t outsz)
{
	int64_t local = ms + offset_ms;
	int64_t days = emu_floor_div(local, EMU_MS_DAY);
	int64_t rem = local - days * EMU_MS_DAY;
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	int h = (int)(rem / EMU_MS_HOUR);
	int mi = (int)(rem / EMU_MS_MINUTE % 60);
	int sec = (int)(rem / 1000 % 60);
	int milli = (int)(rem % 1000);
	char zone[8];
	if (offset_ms == 0) {
		snprintf(zone, sizeof zone, "Z");
	} else {
		int64_t a = offset_ms < 0 ? -offset_ms : offset_ms;
		snprintf(zone, sizeof zone, "%c%02d:%02d", offset_ms < 0 ? '-' : '+',
		         (int)(a / EMU_MS_HOUR), (int)(a / EMU_MS_MINUTE % 60));
	}
	snprintf(out, outsz, "%04lld-%02d-%02dT%02d:%02d:%02d.%03d%s", (long long)y, m, d, h, mi, sec,
	         milli, zone);
}
