/*
 * response: the JSON bodies the service answers (CONTRACT §1), written
 * directly into one growable, capped buffer (no Jansson tree). The bytes are
 * exactly those Jansson's json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(15))
 * gave for the same tree (tests/oracle/response_ref.c is that reference, and the
 * tests compare the two): one compact line, keys in a fixed order, reals as
 * "%.15g" with ".0" appended when there is neither '.' nor 'e' and the
 * exponent without '+' or leading zeros, a non-finite number as null,
 * strings escaped like Jansson (\" \\ \b \f \n \r \t, other control bytes as
 * \u00XX, everything else verbatim) and refused when not valid UTF-8. Not the
 * HTTP layer (status codes, headers) and not any detection logic: the list of
 * events comes from events_find() (include/rb/detect/events.h), this file
 * only writes it.
 */
#include "rb/answer/response.h"

#include "rb/detect/events.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hard cap on one body: 1M rows (the series cap) of ~430 bytes fit below it. */
#define RESPONSE_MAX_BYTES ((size_t)1 << 30)

/* Room one real needs: sign, 15 digits, '.', "e-308", ".0", NUL (with margin). */
#define REAL_MAX 40

/* The body being written; failed is set once and makes every later step a no-op. */
struct out {
	char *p;
	size_t len;
	size_t cap;
	int failed;
};

/* Ensures room for extra more bytes plus a NUL; 0 or -1 (cap reached, NOMEM: o->failed). */
static int reserve(struct out *o, size_t extra)
{
	if (o->failed)
		return -1;
	if (extra <= o->cap - o->len && o->cap - o->len - extra >= 1)
		return 0;
	if (extra > RESPONSE_MAX_BYTES - 1 - o->len) {
		o->failed = 1;
		return -1;
	}
	size_t need = o->len + extra + 1;
	size_t cap = o->cap < 256 ? 256 : o->cap;
	while (cap < need)
		cap = cap > RESPONSE_MAX_BYTES / 2 ? RESPONSE_MAX_BYTES : cap * 2;
	char *p = realloc(o->p, cap);
	if (p == NULL) {
		o->failed = 1;
		return -1;
	}
	o->p = p;
	o->cap = cap;
	return 0;
}

/* Appends n bytes (room must have been reserved). */
static void put_raw(struct out *o, const char *s, size_t n)
{
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

#define PUT_LIT(o, lit) put_raw((o), (lit), sizeof(lit) - 1)

/*
 * Byte length of the valid UTF-8 sequence at s (at most avail bytes), 0 when
 * invalid: the same rules as Jansson's json_string() (no overlong forms, no
 * surrogates, nothing above U+10FFFF).
 */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v;
	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		n = 2;
		v = c & 0x1Fu;
	} else if (c < 0xF0) {
		n = 3;
		v = c & 0x0Fu;
	} else if (c < 0xF5) {
		n = 4;
		v = c & 0x07u;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xC0u) != 0x80u)
			return 0;
		v = (v << 6) | (s[k] & 0x3Fu);
	}
	if ((n == 3 && v < 0x800u) || (n == 4 && v < 0x10000u))
		return 0;
	if ((v >= 0xD800u && v <= 0xDFFFu) || v > 0x10FFFFu)
		return 0;
	return n;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* The 8 bytes at p as one word (any alignment). */
static uint64_t load8(const void *p)
{
	uint64_t x;
	memcpy(&x, p, sizeof x);
	return x;
}

/* 0 when s[0..n) is valid UTF-8, -1 otherwise. */
static int utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		if (n - i >= 8 && (load8(u + i) & HIGHS) == 0) {
			i += 8; /* eight ASCII bytes */
			continue;
		}
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq(u + i, n - i);
		if (k == 0)
			return -1;
		i += k;
	}
	return 0;
}

/*
 * 1 when one of the 8 bytes of x is below 0x20, '"' or '\\' (any byte that
 * put_string escapes). Each test is the exact "some byte is below k" bit
 * trick: (x - k * ONES) & ~x & HIGHS is nonzero iff some byte of x is below
 * k (k <= 0x80), applied to x and to x xor the quote and backslash bytes.
 */
static int needs_escape8(uint64_t x)
{
	uint64_t q = x ^ (0x22 * ONES), b = x ^ (0x5C * ONES);
	return (((x - 0x20 * ONES) & ~x) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS ? 1 : 0;
}

/*
 * Appends s (n bytes, valid UTF-8) as a JSON string with its quotes; needs
 * 6 * n + 2 bytes of room reserved.
 */
static void put_string(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *w = o->p + o->len;
	*w++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (n - i >= 8 && !needs_escape8(load8(s + i))) {
			memcpy(w, s + i, 8); /* eight bytes written as they are */
			w += 8;
			i += 7;
			continue;
		}
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*w++ = (char)c;
			continue;
		}
		*w++ = '\\';
		switch (c) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '\b': *w++ = 'b'; break;
		case '\f': *w++ = 'f'; break;
		case '\n': *w++ = 'n'; break;
		case '\r': *w++ = 'r'; break;
		case '\t': *w++ = 't'; break;
		default:
			*w++ = 'u';
			*w++ = '0';
			*w++ = '0';
			*w++ = hex[c >> 4];
			*w++ = hex[c & 0x0Fu];
			break;
		}
	}
	*w++ = '"';
	o->len = (size_t)(w - o->p);
}

/* Reserves room for and appends s as a JSON string; -1 when s is not valid UTF-8 or on NOMEM. */
static int put_checked_string(struct out *o, const char *s, size_t n)
{
	if (utf8_valid(s, n) < 0) {
		o->failed = 1;
		return -1;
	}
	if (n > (RESPONSE_MAX_BYTES - 2) / 6 || reserve(o, 6 * n + 2) < 0) {
		o->failed = 1;
		return -1;
	}
	put_string(o, s, n);
	return 0;
}

__extension__ typedef unsigned __int128 u128;

/* 5^k for k = 0..27 (5^27 < 2^63). */
static const uint64_t POW5[28] = {
	1ull, 5ull, 25ull, 125ull, 625ull, 3125ull, 15625ull, 78125ull, 390625ull,
	1953125ull, 9765625ull, 48828125ull, 244140625ull, 1220703125ull, 6103515625ull,
	30517578125ull, 152587890625ull, 762939453125ull, 3814697265625ull,
	19073486328125ull, 95367431640625ull, 476837158203125ull, 2384185791015625ull,
	11920928955078125ull, 59604644775390625ull, 298023223876953125ull,
	1490116119384765625ull, 7450580596923828125ull};

/* 10^k for k = 0..19. */
static const uint64_t POW10[20] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
	100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
	10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};

#define D15_LO 100000000000000ull  /* 10^14 */
#define D15_HI 1000000000000000ull /* 10^15 */

/*
 * For a finite a > 0: the 15 significant digits *digits (10^14 <= *digits <
 * 10^15) and decimal exponent *exp10 of a correctly rounded to nearest, ties
 * to even (what glibc's "%.15g" prints in the default rounding mode), i.e.
 * a ~= *digits * 10^(*exp10 - 14). Exact 128-bit integer arithmetic; returns
 * -1 when a is outside the range it handles (about 1e-13 .. 1e38).
 */
static int digits15(double a, uint64_t *digits, int *exp10)
{
	int e2;
	uint64_t m, bits;
	memcpy(&bits, &a, sizeof bits);
	int biased = (int)(bits >> 52) & 0x7FF;
	if (biased != 0) { /* normal: read from the bits what frexp and ldexp below give */
		m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
		e2 = biased - 1022;
	} else {
		double f = frexp(a, &e2);           /* a = f * 2^e2, 0.5 <= f < 1 */
		m = (uint64_t)ldexp(f, 53);         /* exact: a = m * 2^(e2 - 53) */
	}
	int e = e2 - 53;
	int x = (int)floor((double)(e2 - 1) * 0.30102999566398120); /* off by at most 1 */
	/* one too low about a third of the time: 10^(x + 1) is an exact double up to 10^19 */
	if (x >= -1 && x < 19 && a >= (double)POW10[x + 1])
		x++;

	for (int tries = 0; tries < 3; tries++) {
		int p = 14 - x; /* scale: a * 10^p should lie in [10^14, 10^15) */
		u128 q, r, half_num, half_den;
		if (p >= 0) {
			if (p > 27)
				return -1;
			u128 num = (u128)m * POW5[p]; /* a * 10^p = num * 2^(e + p) */
			int s = e + p;
			if (s >= 0) {
				if (s > 60)
					return -1;
				q = num << s;
				r = 0;
				half_num = 0;
				half_den = 1;
			} else {
				if (-s > 120)
					return -1;
				q = num >> -s;
				r = num & ((((u128)1) << -s) - 1);
				half_num = r;                 /* compare r with 2^(-s-1) */
				half_den = ((u128)1) << (-s - 1);
			}
		} else {
			int k = -p; /* a / 10^k */
			if (k > 24)
				return -1;
			u128 den = (u128)POW10[k < 19 ? k : 19] * POW10[k < 19 ? 0 : k - 19];
			u128 num = m;
			if (e >= 0) {
				if (e > 72)
					return -1;
				num <<= e;
			} else {
				if (-e > 40)
					return -1;
				den <<= -e;
			}
			q = num / den;
			r = num % den;
			half_num = r;            /* compare r with den - r */
			half_den = den - r;
		}
		if (q < D15_LO) {
			x--;
			continue;
		}
		if (q >= D15_HI) {
			x++;
			continue;
		}
		if (half_num > half_den || (half_num == half_den && r != 0 && (q & 1u)))
			q++;
		if (q == D15_HI) {
			q = D15_LO;
			x++;
		}
		*digits = (uint64_t)q;
		*exp10 = x;
		return 0;
	}
	return -1;
}

/*
 * Jansson's post-processing of a "%.15g" text of len bytes in buf (room for
 * REAL_MAX): locale decimal point to '.', ".0" when neither '.' nor 'e', no
 * '+' and no leading zeros in the exponent. Returns the new length.
 */
static size_t jansson_fixup(char *buf, size_t len)
{
	const struct lconv *lc = localeconv();
	char point = lc != NULL && lc->decimal_point != NULL ? lc->decimal_point[0] : '.';
	if (point != '.' && point != '\0') {
		char *pp = strchr(buf, point);
		if (pp != NULL)
			*pp = '.';
	}
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
		buf[len++] = '.';
		buf[len++] = '0';
		buf[len] = '\0';
	}
	char *start = strchr(buf, 'e');
	if (start != NULL) {
		start++;
		char *end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t)(end - buf) + 1);
			len -= (size_t)(end - start);
		}
	}
	return len;
}

/* Writes finite v as Jansson writes a real of precision 15; returns the length (< REAL_MAX). */
static size_t format_real(char *buf, double v)
{
	char *w = buf;
	if (v == 0.0) {
		if (signbit(v))
			*w++ = '-';
		memcpy(w, "0.0", 3);
		return (size_t)(w - buf) + 3;
	}
	uint64_t d;
	int x;
	if (digits15(fabs(v), &d, &x) < 0) {
		int n = snprintf(buf, REAL_MAX - 3, "%.15g", v);
		if (n < 0 || n >= REAL_MAX - 3) {
			memcpy(buf, "null", 4); /* cannot happen for a finite double */
			return 4;
		}
		return jansson_fixup(buf, (size_t)n);
	}
	/* the 15 digits, two at a time: 7 from d / 10^8, 8 from d % 10^8 */
	static const char PAIRS[] = "00010203040506070809101112131415161718192021222324"
	                            "25262728293031323334353637383940414243444546474849"
	                            "50515253545556575859606162636465666768697071727374"
	                            "75767778798081828384858687888990919293949596979899";
	char dig[16];
	uint32_t hi = (uint32_t)(d / 100000000u), lo = (uint32_t)(d % 100000000u);
	for (int i = 14; i > 7; i -= 2) {
		memcpy(dig + i - 1, PAIRS + 2 * (lo % 100u), 2);
		lo /= 100u;
	}
	for (int i = 6; i > 0; i -= 2) { /* hi < 10^7: dig[1..6], then dig[0] */
		memcpy(dig + i - 1, PAIRS + 2 * (hi % 100u), 2);
		hi /= 100u;
	}
	dig[0] = (char)('0' + hi);
	size_t L = 15;
	while (L > 1 && dig[L - 1] == '0')
		L--;
	if (v < 0)
		*w++ = '-';
	if (x < -4 || x >= 15) {
		*w++ = dig[0];
		if (L > 1) {
			*w++ = '.';
			memcpy(w, dig + 1, L - 1);
			w += L - 1;
		}
		*w++ = 'e';
		unsigned ex = (unsigned)(x < 0 ? -x : x);
		if (x < 0)
			*w++ = '-';
		char tmp[4];
		size_t t = 0;
		do {
			tmp[t++] = (char)('0' + ex % 10u);
			ex /= 10u;
		} while (ex != 0 && t < sizeof tmp);
		while (t > 0)
			*w++ = tmp[--t];
	} else if (x >= 0) {
		size_t ip = (size_t)x + 1;
		if (L <= ip) {
			memcpy(w, dig, L);
			w += L;
			memset(w, '0', ip - L);
			w += ip - L;
			*w++ = '.';
			*w++ = '0';
		} else {
			memcpy(w, dig, ip);
			w += ip;
			*w++ = '.';
			memcpy(w, dig + ip, L - ip);
			w += L - ip;
		}
	} else {
		*w++ = '0';
		*w++ = '.';
		for (int k = 0; k < -x - 1; k++)
			*w++ = '0';
		memcpy(w, dig, L);
		w += L;
	}
	return (size_t)(w - buf);
}

/* Appends v as a real, or null when not finite (room of REAL_MAX reserved). */
static void put_number(struct out *o, double v)
{
	if (!isfinite(v)) {
		PUT_LIT(o, "null");
		return;
	}
	o->len += format_real(o->p + o->len, v);
}

/* Takes the finished body (NUL-terminated) or frees it; NULL after a failure. */
static char *finish(struct out *o)
{
	if (o->failed || reserve(o, 0) < 0) {
		free(o->p);
		return NULL;
	}
	o->p[o->len] = '\0';
	return o->p;
}

/* Fixed bytes of one row besides its timestamp: both entries with 4 numbers. */
#define ROW_FIXED (sizeof "{\"timestamp\":,\"expected\":,\"value\":,\"score\":}," + \
                   sizeof "{\"timestamp\":,\"forecast\":}," + 4 * REAL_MAX + 8)

/*
 * Appends the entries of rows [0, n) to the array of anomalies (predicted 0)
 * or of predictions (predicted 1).
 */
static void put_rows(struct out *o, const struct series *s, const struct detection *d,
                     size_t n, int predicted)
{
	int first = 1;
	for (size_t i = 0; i < n && !o->failed; i++) {
		if (!predicted && !d->anomaly[i])
			continue;
		const char *ts = s->timestamps[i];
		size_t tl = strlen(ts);
		if (utf8_valid(ts, tl) < 0 || tl > (RESPONSE_MAX_BYTES - ROW_FIXED) / 6) {
			o->failed = 1;
			return;
		}
		if (reserve(o, ROW_FIXED + 6 * tl + 2) < 0)
			return;
		if (!first)
			PUT_LIT(o, ",");
		first = 0;
		PUT_LIT(o, "{\"timestamp\":");
		put_string(o, ts, tl);
		if (predicted) {
			PUT_LIT(o, ",\"forecast\":");
			put_number(o, d->expected[i]);
		} else {
			PUT_LIT(o, ",\"expected\":");
			put_number(o, d->expected[i]);
			PUT_LIT(o, ",\"value\":");
			put_number(o, d->observed[i]);
			PUT_LIT(o, ",\"score\":");
			put_number(o, d->score[i]);
		}
		PUT_LIT(o, "}");
	}
}

/* Writes v in decimal as Jansson writes an integer ("%lld", v < 2^63); returns the length. */
static size_t format_count(char *buf, uint64_t v)
{
	char tmp[20];
	size_t t = 0;
	do {
		tmp[t++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v != 0);
	for (size_t k = 0; k < t; k++)
		buf[k] = tmp[t - 1 - k];
	return t;
}

/* Fixed bytes of one event besides its three instants: keys, kind, score, rows. */
#define EVENT_FIXED (sizeof "{\"start\":,\"end\":,\"kind\":\"down\",\"peak_timestamp\":," \
                     "\"peak_score\":,\"rows\":}," + REAL_MAX + 24)

/*
 * Appends ,"events":[...] (and ,"events_truncated":true past the cap) for
 * the events of include/rb/detect/events.h: start, end and peak_timestamp
 * are the rows' timestamp strings as received, or for a gap its instants as
 * events_format_instant() writes them; peak_score a real, rows an integer.
 */
static void put_events(struct out *o, const struct series *s, const struct detection *d)
{
	struct events ev;
	if (o->failed)
		return;
	if (events_find(&ev, s, d, EVENTS_MAX, NULL) != RB_OK) {
		o->failed = 1;
		return;
	}
	if (reserve(o, 16) == 0)
		PUT_LIT(o, ",\"events\":[");
	for (size_t k = 0; k < ev.n && !o->failed; k++) {
		const struct event *e = &ev.ev[k];
		char gap[2][EVENTS_INSTANT_LEN];
		const char *ts[3];
		size_t tl[3];
		if (e->kind == EVENT_GAP) {
			tl[0] = tl[2] = events_format_instant(gap[0], e->start);
			tl[1] = events_format_instant(gap[1], e->end);
			ts[0] = ts[2] = gap[0];
			ts[1] = gap[1];
		} else {
			ts[0] = s->timestamps[e->first];
			ts[1] = s->timestamps[e->last];
			ts[2] = s->timestamps[e->peak];
			for (int j = 0; j < 3; j++)
				tl[j] = strlen(ts[j]);
		}
		size_t room = EVENT_FIXED;
		for (int j = 0; j < 3; j++) {
			if (utf8_valid(ts[j], tl[j]) < 0 || tl[j] > (RESPONSE_MAX_BYTES - EVENT_FIXED) / 18) {
				o->failed = 1;
				break;
			}
			room += 6 * tl[j] + 2;
		}
		if (reserve(o, room) < 0)
			break;
		if (k > 0)
			PUT_LIT(o, ",");
		PUT_LIT(o, "{\"start\":");
		put_string(o, ts[0], tl[0]);
		PUT_LIT(o, ",\"end\":");
		put_string(o, ts[1], tl[1]);
		PUT_LIT(o, ",\"kind\":\"");
		const char *kind = event_kind_names[e->kind];
		put_raw(o, kind, strlen(kind));
		PUT_LIT(o, "\",\"peak_timestamp\":");
		put_string(o, ts[2], tl[2]);
		PUT_LIT(o, ",\"peak_score\":");
		put_number(o, e->peak_score);
		PUT_LIT(o, ",\"rows\":");
		o->len += format_count(o->p + o->len, e->rows);
		PUT_LIT(o, "}");
	}
	if (reserve(o, 32) == 0) {
		PUT_LIT(o, "]");
		if (ev.truncated)
			PUT_LIT(o, ",\"events_truncated\":true");
	}
	events_release(&ev);
}

char *response_success(const struct series *s, const struct detection *d)
{
	struct out o = {NULL, 0, 0, 0};
	size_t n = d->n < s->n ? d->n : s->n; /* equal by the detection invariant */
	size_t guess = n < (RESPONSE_MAX_BYTES - 512) / 96 ? 512 + 96 * n : RESPONSE_MAX_BYTES;

	if (reserve(&o, guess) < 0)
		return finish(&o);
	PUT_LIT(&o, "{\"status\":\"success\",\"anomalies\":[");
	put_rows(&o, s, d, n, 0);
	if (reserve(&o, 16) == 0)
		PUT_LIT(&o, "],\"predicted\":[");
	put_rows(&o, s, d, n, 1);
	if (reserve(&o, 16) == 0)
		PUT_LIT(&o, "],\"model\":");
	put_checked_string(&o, d->model, strnlen(d->model, sizeof d->model));
	if (reserve(&o, 16) == 0)
		PUT_LIT(&o, ",\"metric\":");
	put_checked_string(&o, d->metric, strnlen(d->metric, sizeof d->metric));
	if (reserve(&o, 56 + REAL_MAX) == 0) {
		PUT_LIT(&o, ",\"threshold\":");
		put_number(&o, d->threshold);
		if (d->has_history)
			o.len += (size_t)snprintf(o.p + o.len, 40, ",\"history_rows\":%zu",
			                          d->history_rows);
	}
	put_events(&o, s, d);
	if (reserve(&o, 1) == 0)
		PUT_LIT(&o, "}");
	return finish(&o);
}

char *response_error(const char *msg)
{
	struct out o = {NULL, 0, 0, 0};
	static const char fallback[] = "error (message was not valid UTF-8)";
	if (msg == NULL)
		msg = "error";
	size_t n = strlen(msg);
	if (utf8_valid(msg, n) < 0) {
		msg = fallback;
		n = sizeof fallback - 1;
	}
	if (reserve(&o, 32) < 0)
		return finish(&o);
	PUT_LIT(&o, "{\"status\":\"error\",\"msg\":");
	put_checked_string(&o, msg, n);
	if (reserve(&o, 1) == 0)
		PUT_LIT(&o, "}");
	return finish(&o);
}
