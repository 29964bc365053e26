/*
 * b64: lenient base64 decoding of form fields (CONTRACT §1); the accepted and
 * rejected inputs are listed in include/b64.h. One pass, no allocation in
 * b64_decode_buf, a hard output cap. Not an encoder; not constant-time (the
 * input is not secret).
 */
#include "b64.h"

#include <stdlib.h>

/* Sextet of an alphabet character; B64_SKIP for CR/LF/TAB, B64_PAD for '=', B64_BAD otherwise. */
enum { B64_SKIP = -1, B64_PAD = -2, B64_BAD = -3 };

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	switch (c) {
	case '+':
	case '-':
	case ' ':
		return 62;
	case '/':
	case '_':
		return 63;
	case '=':
		return B64_PAD;
	case '\r':
	case '\n':
	case '\t':
		return B64_SKIP;
	default:
		return B64_BAD;
	}
}

size_t b64_decoded_max(size_t len)
{
	return len / 4 * 3 + 2;
}

/* Appends k bytes of the 24-bit group to out; RB_E_TOO_LARGE past out_cap. */
static enum rb_code emit(unsigned long group, int k, unsigned char *out, size_t out_cap,
                         size_t *n, struct rb_err *err)
{
	if (out_cap - *n < (size_t)k)
		return rb_err_set(err, RB_E_TOO_LARGE, "decoded base64 is over %zu bytes", out_cap);
	for (int j = 0; j < k; j++)
		out[(*n)++] = (unsigned char)(group >> (16 - 8 * j));
	return RB_OK;
}

enum rb_code b64_decode_buf(const char *in, size_t len, unsigned char *out, size_t out_cap,
                            size_t *out_len, struct rb_err *err)
{
	unsigned long group = 0; /* up to 4 sextets, most significant first */
	int q = 0;               /* sextets in group */
	size_t pads = 0, pad_at = 0, n = 0;
	enum rb_code rc;

	*out_len = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v = b64_value(c);
		if (v == B64_SKIP)
			continue;
		if (v == B64_PAD) {
			if (pads == 0)
				pad_at = i;
			pads++;
			continue;
		}
		if (v == B64_BAD) {
			if (c > 0x20 && c < 0x7f)
				return rb_err_set(err, RB_E_INPUT,
				                  "invalid base64: character '%c' at offset %zu", c, i);
			return rb_err_set(err, RB_E_INPUT, "invalid base64: byte 0x%02x at offset %zu",
			                  c, i);
		}
		if (pads > 0)
			return rb_err_set(err, RB_E_INPUT,
			                  "invalid base64: '=' at offset %zu is followed by data", pad_at);
		group = group << 6 | (unsigned long)v;
		q++;
		if (q == 4) {
			rc = emit(group, 3, out, out_cap, &n, err);
			if (rc != RB_OK)
				return rc;
			group = 0;
			q = 0;
		}
	}
	if (q == 1)
		return rb_err_set(err, RB_E_INPUT,
		                  "invalid base64: truncated (one character left in the last group)");
	if (pads > 0 && q == 0)
		return rb_err_set(err, RB_E_INPUT,
		                  "invalid base64: unexpected '=' at offset %zu", pad_at);
	if (pads > 0 && (size_t)q + pads > 4)
		return rb_err_set(err, RB_E_INPUT, "invalid base64: too much '=' padding at offset %zu",
		                  pad_at);
	if (q == 2)
		rc = emit(group << 12, 1, out, out_cap, &n, err);
	else if (q == 3)
		rc = emit(group << 6, 2, out, out_cap, &n, err);
	else
		rc = RB_OK;
	if (rc != RB_OK)
		return rc;
	*out_len = n;
	return RB_OK;
}

enum rb_code b64_decode_alloc(const char *in, size_t len, size_t cap, char **out,
                              size_t *out_len, struct rb_err *err)
{
	*out = NULL;
	*out_len = 0;
	size_t room = b64_decoded_max(len);
	if (room > cap)
		room = cap;
	unsigned char *buf = malloc(room + 1);
	if (buf == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory decoding base64");
	size_t n;
	enum rb_code rc = b64_decode_buf(in, len, buf, room, &n, err);
	if (rc == RB_E_TOO_LARGE)
		rc = rb_err_set(err, RB_E_TOO_LARGE, "decoded base64 is over %zu bytes", cap);
	if (rc != RB_OK) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	*out_len = n;
	return RB_OK;
}
