/*
 * period: ISO-8601 duration text -> fixed length in milliseconds, for Druid
 * granularities. The grammar and what is rejected are stated in period.h.
 *
 * A single left-to-right pass over at most PERIOD_MAX_TEXT bytes; every
 * number is bounded (18 digits) and every sum checked against PERIOD_MAX_MS
 * before it is made. Not a calendar: years and months are refused, not
 * approximated.
 */
#include "rb/input/period.h"

#include <string.h>

enum unit { U_YEAR, U_MONTH, U_WEEK, U_DAY, U_HOUR, U_MINUTE, U_SECOND };

/* Length of one unit in ms; 0 for the units that have none. */
static const int64_t unit_ms[] = {
	[U_YEAR] = 0,
	[U_MONTH] = 0,
	[U_WEEK] = INT64_C(7) * 86400 * 1000,
	[U_DAY] = INT64_C(86400) * 1000,
	[U_HOUR] = INT64_C(3600) * 1000,
	[U_MINUTE] = INT64_C(60) * 1000,
	[U_SECOND] = 1000,
};

/* Longest digit run read as one number: 10^18 - 1 fits an int64 with room. */
#define PERIOD_MAX_DIGITS 18

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* Unit for designator c in the date part (before T) or time part; -1 when none fits. */
static int unit_of(char c, int in_time)
{
	switch (lower(c)) {
	case 'y': return in_time ? -1 : U_YEAR;
	case 'w': return in_time ? -1 : U_WEEK;
	case 'd': return in_time ? -1 : U_DAY;
	case 'h': return in_time ? U_HOUR : -1;
	case 's': return in_time ? U_SECOND : -1;
	case 'm': return in_time ? U_MINUTE : U_MONTH;
	default: return -1;
	}
}

static enum rb_code fail(int64_t *ms, struct rb_err *err, const char *msg, size_t at)
{
	*ms = 0;
	if (at == (size_t)-1)
		return rb_err_set(err, RB_E_INPUT, "%s", msg);
	return rb_err_set(err, RB_E_INPUT, "%s (at character %zu)", msg, at + 1);
}

#define NOWHERE ((size_t)-1)

/* period_parse_ms and period_parse_length_ms: zero_ok says whether a zero total is accepted. */
static enum rb_code parse_period(const char *text, size_t len, int zero_ok, int64_t *ms,
                                 struct rb_err *err)
{
	*ms = 0;
	if (text == NULL || len == 0)
		return fail(ms, err, "empty period", NOWHERE);
	if (len > PERIOD_MAX_TEXT)
		return fail(ms, err, "period text longer than 64 characters", NOWHERE);
	if (text[0] == '-')
		return fail(ms, err, "negative periods are not allowed", NOWHERE);
	if (lower(text[0]) != 'p')
		return fail(ms, err, "a period starts with P (e.g. PT5M)", 0);

	int64_t total = 0;
	int last = -1;       /* last unit seen; units must increase strictly */
	int in_time = 0;     /* after T */
	int n_parts = 0, n_time_parts = 0;
	int calendar = 0;    /* a non-zero year or month was seen */
	size_t pos = 1;

	while (pos < len) {
		char c = text[pos];
		if (lower(c) == 't') {
			if (in_time)
				return fail(ms, err, "T appears twice in period", pos);
			in_time = 1;
			pos++;
			continue;
		}
		if (c == '-')
			return fail(ms, err, "negative periods are not allowed", NOWHERE);
		if (!is_digit(c))
			return fail(ms, err, "expected a number in period", pos);

		int64_t value = 0;
		size_t ndig = 0;
		while (pos < len && is_digit(text[pos])) {
			if (++ndig > PERIOD_MAX_DIGITS)
				return fail(ms, err, "period is too long", NOWHERE);
			value = value * 10 + (text[pos] - '0');
			pos++;
		}
		int64_t frac_ms = 0;
		int has_frac = 0;
		if (pos < len && (text[pos] == '.' || text[pos] == ',')) {
			has_frac = 1;
			pos++;
			size_t fdig = 0;
			int64_t scale = 100;
			while (pos < len && is_digit(text[pos])) {
				if (++fdig > 3)
					return fail(ms, err,
					            "fractional seconds finer than a millisecond",
					            pos);
				frac_ms += (text[pos] - '0') * scale;
				scale /= 10;
				pos++;
			}
			if (fdig == 0)
				return fail(ms, err, "expected digits after the decimal mark", pos);
		}
		if (pos == len)
			return fail(ms, err, "number without a unit at the end of period", NOWHERE);

		int u = unit_of(text[pos], in_time);
		if (u < 0) {
			char d = lower(text[pos]);
			if (!in_time && (d == 'h' || d == 's'))
				return fail(ms, err,
				            "hours, minutes and seconds come after T (e.g. PT1H)", pos);
			if (in_time && (d == 'y' || d == 'w' || d == 'd'))
				return fail(ms, err, "years, weeks and days come before T (e.g. P1DT2H)",
				            pos);
			return fail(ms, err, "unknown unit in period (use W, D, H, M or S)", pos);
		}
		if (u <= last)
			return fail(ms, err, "period units out of order or repeated", pos);
		if (has_frac && u != U_SECOND)
			return fail(ms, err, "only seconds may have a fraction in a period", pos);
		last = u;
		pos++;
		n_parts++;
		if (in_time)
			n_time_parts++;

		if (unit_ms[u] == 0) {
			if (value != 0)
				calendar = 1;
			continue;
		}
		if (value > PERIOD_MAX_MS / unit_ms[u])
			return fail(ms, err, "period is too long", NOWHERE);
		int64_t add = value * unit_ms[u] + frac_ms;
		if (add > PERIOD_MAX_MS - total)
			return fail(ms, err, "period is too long", NOWHERE);
		total += add;
	}

	if (in_time && n_time_parts == 0)
		return fail(ms, err, "T must be followed by hours, minutes or seconds (e.g. PT5M)",
		            NOWHERE);
	if (n_parts == 0)
		return fail(ms, err, "period has no length (e.g. PT5M)", NOWHERE);
	if (calendar)
		return fail(ms, err,
		            "period has no fixed length: it counts years or months "
		            "(P1M is a month; a minute is PT1M)",
		            NOWHERE);
	if (total == 0 && !zero_ok)
		return fail(ms, err, "period is zero", NOWHERE);
	*ms = total;
	return RB_OK;
}

enum rb_code period_parse_ms(const char *text, size_t len, int64_t *ms, struct rb_err *err)
{
	return parse_period(text, len, 0, ms, err);
}

enum rb_code period_parse_length_ms(const char *text, size_t len, int64_t *ms, struct rb_err *err)
{
	return parse_period(text, len, 1, ms, err);
}

enum rb_code period_parse_seconds(const char *text, double *seconds, struct rb_err *err)
{
	int64_t ms = 0;
	*seconds = 0;
	enum rb_code rc = period_parse_ms(text, text == NULL ? 0 : strlen(text), &ms, err);
	if (rc != RB_OK)
		return rc;
	*seconds = (double)ms / 1000.0;
	return RB_OK;
}
