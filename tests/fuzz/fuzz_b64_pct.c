/*
 * Fuzz target for the fused urlencoded-base64 decoder and the one-pass
 * request path. The input is read twice:
 *   - as a urlencoded base64 value, its first byte choosing the output cap:
 *     b64_decode_pct_buf / _alloc must agree with percent-decoding first
 *     (a byte-at-a-time oracle here) and then b64_decode_buf / _alloc: same
 *     code, message, length and bytes; when the escapes are malformed the
 *     fused decoder must fail too;
 *   - as a whole urlencoded body: request_fields_parse must agree with
 *     form_parse + request_fields_decode (code, message, every member).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/fcgi/b64.h"
#include "rb/fcgi/form.h"
#include "rb/fcgi/request_fields.h"

#define REQUIRE(c)                                                                               \
	do {                                                                                     \
		if (!(c))                                                                        \
			abort();                                                                 \
	} while (0)

static int hexv(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..len) ('+' a space) into out (room len); -1 on a malformed escape. */
static long pct_oracle(const char *s, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (len - i < 3 || hexv((unsigned char)s[i + 1]) < 0 ||
			    hexv((unsigned char)s[i + 2]) < 0)
				return -1;
			c = (unsigned char)(hexv((unsigned char)s[i + 1]) << 4 |
			                    hexv((unsigned char)s[i + 2]));
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		out[o++] = (char)c;
	}
	return (long)o;
}

static void value(const char *in, size_t size)
{
	if (size == 0)
		return;
	size_t cap = (unsigned char)in[0] == 0xff ? (size_t)-1 / 2 : (unsigned char)in[0];
	in++;
	size--;
	size_t room = b64_decoded_max(size) + 1;
	char *dec = malloc(size + 1);
	unsigned char *a = malloc(room), *b = malloc(room);
	REQUIRE(dec != NULL && a != NULL && b != NULL);
	size_t bufcap = cap < room ? cap : room;
	struct rb_err ea = {0}, eb = {0};
	size_t na = 0, nb = 0;
	long dl = pct_oracle(in, size, dec);
	enum rb_code ra = b64_decode_pct_buf(in, size, a, bufcap, &na, &ea);
	if (dl < 0) {
		REQUIRE(ra == RB_E_INPUT || ra == RB_E_TOO_LARGE);
	} else {
		enum rb_code rb = b64_decode_buf(dec, (size_t)dl, b, bufcap, &nb, &eb);
		REQUIRE(ra == rb && strcmp(ea.msg, eb.msg) == 0 && na == nb);
		REQUIRE(ra != RB_OK || memcmp(a, b, na) == 0);
		char *pa = NULL, *pb = NULL;
		size_t la = 0, lb = 0;
		memset(&ea, 0, sizeof ea);
		memset(&eb, 0, sizeof eb);
		ra = b64_decode_pct_alloc(in, size, cap, &pa, &la, &ea);
		rb = b64_decode_alloc(dec, (size_t)dl, cap, &pb, &lb, &eb);
		REQUIRE(ra == rb && strcmp(ea.msg, eb.msg) == 0 && la == lb);
		REQUIRE((pa == NULL) == (pb == NULL));
		REQUIRE(pa == NULL || memcmp(pa, pb, la + 1) == 0);
		free(pa);
		free(pb);
	}
	free(dec);
	free(a);
	free(b);
}

static void body(const char *in, size_t size)
{
	struct form_limits lim;
	form_limits_default(&lim);
	lim.max_value = 4096;
	struct rb_request a, b;
	struct rb_err ea = {0}, eb = {0};
	struct form *f = NULL;
	enum rb_code ra = request_fields_parse(NULL, in, size, &lim, 2048, &a, &ea);
	enum rb_code rb = form_parse(NULL, in, size, &lim, &f, &eb);
	memset(&b, 0, sizeof b);
	if (rb == RB_OK)
		rb = request_fields_decode(f, 2048, &b, &eb);
	form_free(f);
	REQUIRE(ra == rb && strcmp(ea.msg, eb.msg) == 0);
	REQUIRE(a.data_len == b.data_len && (a.data == NULL) == (b.data == NULL));
	REQUIRE(a.data == NULL || memcmp(a.data, b.data, a.data_len + 1) == 0);
	REQUIRE(a.query_len == b.query_len && (a.query == NULL) == (b.query == NULL));
	REQUIRE(a.query == NULL || memcmp(a.query, b.query, a.query_len + 1) == 0);
	REQUIRE(a.model_status == b.model_status && strcmp(a.model, b.model) == 0);
	REQUIRE(strcmp(a.metric, b.metric) == 0);
	REQUIRE(a.has_sensitivity == b.has_sensitivity && a.sensitivity == b.sensitivity);
	REQUIRE(a.has_detector == b.has_detector && a.detector == b.detector);
	request_fields_release(&a);
	request_fields_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	value((const char *)data, size);
	body((const char *)data, size);
	return 0;
}
