/*
 * emu_out: output plumbing of rb-druid-emulator (a test fixture): the capped
 * byte buffer, JSON string escaping, Java-style double printing, and the
 * Druid-shaped error. No parsing here and no knowledge of queries.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"

static const struct {
	int status;
	const char *error;
	const char *error_class;
} EKINDS[] = {
	[EMU_E_PARSE] = {400, "Json parse failed", "com.fasterxml.jackson.databind.JsonMappingException"},
	[EMU_E_UNSUPPORTED] = {501, "Unsupported operation", "java.lang.UnsupportedOperationException"},
	[EMU_E_LIMIT] = {400, "Resource limit exceeded", "org.apache.druid.query.ResourceLimitExceededException"},
	[EMU_E_INTERNAL] = {500, "Unknown exception", "java.lang.RuntimeException"},
};

int emu_fail(struct emu_err *err, enum emu_ekind kind, const char *fmt, ...)
{
	if (err == NULL)
		return -1;
	err->status = EKINDS[kind].status;
	err->error = EKINDS[kind].error;
	err->error_class = EKINDS[kind].error_class;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void emu_buf_init(struct emu_buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->overflow = 0;
}

void emu_buf_free(struct emu_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void emu_buf_add(struct emu_buf *b, const void *data, size_t n)
{
	if (b->overflow)
		return;
	if (n > b->max - b->len) {
		b->overflow = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		while (nc < b->len + n + 1)
			nc *= 2;
		if (nc > b->max + 1)
			nc = b->max + 1;
		char *np = realloc(b->p, nc);
		if (np == NULL) {
			b->overflow = 1;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void emu_buf_str(struct emu_buf *b, const char *s)
{
	emu_buf_add(b, s, strlen(s));
}

void emu_buf_printf(struct emu_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->overflow = 1; /* callers only format short fields */
		return;
	}
	emu_buf_add(b, tmp, (size_t)n);
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), 0 when p does not start one.
 * p[0] >= 0x80; the string is NUL-terminated, so a cut sequence stops at
 * its NUL.
 */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		n = 2;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		n = 3;
		if (p[0] == 0xE0)
			lo = 0xA0;
		else if (p[0] == 0xED)
			hi = 0x9F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		n = 4;
		if (p[0] == 0xF0)
			lo = 0x90;
		else if (p[0] == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return n;
}

void emu_buf_json_str(struct emu_buf *b, const char *s)
{
	emu_buf_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char e[2] = {'\\', (char)*p};
			emu_buf_add(b, e, 2);
		} else if (*p < 0x20) {
			emu_buf_printf(b, "\\u%04x", *p);
		} else if (*p < 0x80) {
			emu_buf_add(b, p, 1);
		} else {
			size_t n = utf8_len(p);
			if (n == 0) {
				emu_buf_str(b, "\\ufffd");
			} else {
				emu_buf_add(b, p, n);
				p += n - 1;
			}
		}
	}
	emu_buf_add(b, "\"", 1);
}

/*
 * Shortest decimal digits that read back to v (v > 0, finite). Writes the
 * digit string (no dot) to digits and the decimal exponent of the first digit
 * to *exp10. A double whose shortest form has at most 15 significant digits
 * is exactly its 15-digit rounding with trailing zeros removed, so at most
 * three conversions are tried: 15, 16, 17 digits.
 */
static void shortest_digits(double v, char *digits, size_t dsz, int *exp10)
{
	char tmp[40];
	for (int prec = 14; prec <= 16; prec++) {
		snprintf(tmp, sizeof tmp, "%.*e", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	/* tmp is d.ddde[+-]XX */
	size_t n = 0;
	const char *p = tmp;
	for (; *p && *p != 'e'; p++) {
		if (*p >= '0' && *p <= '9' && n + 1 < dsz)
			digits[n++] = *p;
	}
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	*exp10 = (*p == 'e') ? (int)strtol(p + 1, NULL, 10) : 0;
}

void emu_buf_java_double(struct emu_buf *b, double v)
{
	if (!isfinite(v)) {
		emu_buf_str(b, "null"); /* Jackson would write NaN/Infinity: not JSON */
		return;
	}
	if (v == 0.0) {
		emu_buf_str(b, signbit(v) ? "-0.0" : "0.0");
		return;
	}
	char digits[32];
	int e;
	double a = fabs(v);
	shortest_digits(a, digits, sizeof digits, &e);
	size_t nd = strlen(digits);
	if (v < 0)
		emu_buf_add(b, "-", 1);
	if (a >= 1e-3 && a < 1e7) {
		if (e >= 0) {
			/* integer part: digits[0..e], zero-padded */
			for (int i = 0; i <= e; i++)
				emu_buf_add(b, (size_t)i < nd ? &digits[i] : "0", 1);
			emu_buf_add(b, ".", 1);
			if ((size_t)e + 1 < nd)
				emu_buf_add(b, digits + e + 1, nd - (size_t)e - 1);
			else
				emu_buf_add(b, "0", 1);
		} else {
			emu_buf_add(b, "0.", 2);
			for (int i = -1; i > e; i--)
				emu_buf_add(b, "0", 1);
			emu_buf_add(b, digits, nd);
		}
		return;
	}
	emu_buf_add(b, digits, 1);
	emu_buf_add(b, ".", 1);
	if (nd > 1)
		emu_buf_add(b, digits + 1, nd - 1);
	else
		emu_buf_add(b, "0", 1);
	emu_buf_printf(b, "E%d", e);
}

void emu_error_json(const struct emu_err *err, struct emu_buf *out)
{
	emu_buf_str(out, "{\"error\":");
	emu_buf_json_str(out, err->error);
	emu_buf_str(out, ",\"errorMessage\":");
	emu_buf_json_str(out, err->msg);
	emu_buf_str(out, ",\"errorClass\":");
	emu_buf_json_str(out, err->error_class);
	emu_buf_str(out, ",\"host\":null}");
}
