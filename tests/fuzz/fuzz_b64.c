/*
 * Fuzz target for the lenient base64 decoder. Invariants: the decoded size
 * never exceeds b64_decoded_max; a cap one byte short gives RB_E_TOO_LARGE;
 * re-encoding the output (standard alphabet, padded) and decoding again gives
 * the same bytes; the allocating and the buffer decoders agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rb/fcgi/b64.h"

#define REQUIRE(c)                                                                               \
	do {                                                                                     \
		if (!(c))                                                                        \
			abort();                                                                 \
	} while (0)

static size_t encode(const unsigned char *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned long g = (unsigned long)in[i] << 16;
		if (i + 1 < len)
			g |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < len)
			g |= in[i + 2];
		out[o++] = a[g >> 18 & 63];
		out[o++] = a[g >> 12 & 63];
		out[o++] = i + 1 < len ? a[g >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? a[g & 63] : '=';
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t max = b64_decoded_max(size);
	unsigned char *out = malloc(max + 1);
	REQUIRE(out != NULL);
	size_t n = 0;
	struct rb_err err = {0};
	enum rb_code rc = b64_decode_buf(in, size, out, max, &n, &err);
	REQUIRE(rc == RB_OK || rc == RB_E_INPUT);

	char *alloc = NULL;
	size_t an = 0;
	enum rb_code arc = b64_decode_alloc(in, size, max, &alloc, &an, NULL);
	REQUIRE(arc == rc);
	if (rc != RB_OK) {
		REQUIRE(alloc == NULL && err.msg[0] != '\0');
		free(out);
		return 0;
	}
	REQUIRE(n <= max && an == n && memcmp(alloc, out, n) == 0 && alloc[n] == '\0');
	free(alloc);
	if (n > 0) {
		size_t m;
		REQUIRE(b64_decode_buf(in, size, out, n - 1, &m, NULL) == RB_E_TOO_LARGE);
		REQUIRE(b64_decode_buf(in, size, out, n, &m, NULL) == RB_OK && m == n);
	}
	char *text = malloc(n / 3 * 4 + 8);
	unsigned char *back = malloc(n + 1);
	REQUIRE(text != NULL && back != NULL);
	size_t tl = encode(out, n, text), bn;
	REQUIRE(b64_decode_buf(text, tl, back, n, &bn, NULL) == RB_OK);
	REQUIRE(bn == n && memcmp(back, out, n) == 0);
	free(text);
	free(back);
	free(out);
	return 0;
}
