/*
 * bench_b64_lib: the lenient base64 decoder of the form fields (fcgi/b64.c)
 * against the two base64 decoders already on the build machine, OpenSSL's
 * EVP_DecodeBlock (libcrypto) and Nettle's base64_decode_update, for
 * docs/DEPENDENCIES.md. Two tables:
 *   1. what each does with the inputs of the contract (CONTRACT §1,
 *      include/rb/fcgi/b64.h): decoded bytes or "refused";
 *   2. CPU µs per decode of a 25 KB and a 1 MB output in the one shape all
 *      three accept (standard alphabet, padded, no whitespace), and of the
 *      same text urlencoded as clients send it ('+' as %2B, '/' as %2F):
 *      there the library route is libcurl's curl_easy_unescape (libcurl is
 *      linked already) then EVP_DecodeBlock, ours the fused
 *      b64_decode_pct_buf. Outputs checked equal first; interleaved run by
 *      run in one process, median over runs.
 * Built only when pkg-config finds libcrypto and nettle (bench/CMakeLists.txt).
 * Usage: bench_b64_lib [runs (default 9)]. Not a test; no timing is asserted.
 */
#include <curl/curl.h>
#include <nettle/base64.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fcgi/b64.c"

static void die(const char *what)
{
	fprintf(stderr, "bench_b64_lib: %s\n", what);
	exit(1);
}

/* OpenSSL: the decoded length (pad bytes removed), or -1. */
static long dec_openssl(const char *in, size_t len, unsigned char *out)
{
	int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	/* EVP_DecodeBlock counts the zero bytes that the padding stands for */
	if (len >= 1 && in[len - 1] == '=')
		n--;
	if (len >= 2 && in[len - 2] == '=')
		n--;
	return n;
}

/* Nettle: the decoded length, or -1 (update or final refused). */
static long dec_nettle(const char *in, size_t len, unsigned char *out)
{
	struct base64_decode_ctx ctx;
	size_t n = BASE64_DECODE_LENGTH(len);
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, out, len, in) || !base64_decode_final(&ctx))
		return -1;
	return (long)n;
}

/* libcurl's percent-decoding, then OpenSSL: the decoded length, or -1. */
static long dec_curl_openssl(const char *in, size_t len, unsigned char *out)
{
	int n = 0;
	char *plain = curl_easy_unescape(NULL, in, (int)len, &n);
	if (plain == NULL)
		return -1;
	long r = dec_openssl(plain, (size_t)n, out);
	curl_free(plain);
	return r;
}

static long dec_ours_pct(const char *in, size_t len, unsigned char *out)
{
	size_t n;
	if (b64_decode_pct_buf(in, len, out, b64_decoded_max(len) + 4, &n, NULL) != RB_OK)
		return -1;
	return (long)n;
}

static long dec_ours(const char *in, size_t len, unsigned char *out)
{
	size_t n;
	if (b64_decode_buf(in, len, out, b64_decoded_max(len) + 4, &n, NULL) != RB_OK)
		return -1;
	return (long)n;
}

/* Writes the result of one decoder as a table cell. */
static void cell(long n, const unsigned char *out)
{
	if (n < 0) {
		printf(" refused |");
		return;
	}
	printf(" `");
	for (long k = 0; k < n; k++)
		putchar(out[k] >= 0x20 && out[k] < 0x7f ? out[k] : '.');
	printf("` |");
}

static void contract_table(void)
{
	static const struct {
		const char *in, *what;
	} C[] = {
		{"eyJhIjoxfQ==", "standard, padded (`{\"a\":1}`)"},
		{"eyJhIjoxfQ", "padding left out"},
		{"P-8_", "URL-safe alphabet (- and _)"},
		{"P z8", "a '+' that form decoding turned into a space (`P+z8`)"},
		{"eyJh\r\nIjox\r\nfQ==", "line-wrapped (CR LF)"},
		{"eyJh.Ijoxf", "a byte outside both alphabets (the old service dropped it)"},
		{"eyJhI%joxfQ==", "a stray '%'"},
		{"eyJh=Ijo", "padding in the middle"},
	};
	printf("| input | case | ours | OpenSSL EVP_DecodeBlock | Nettle base64_decode |\n");
	printf("|---|---|---|---|---|\n");
	for (size_t k = 0; k < sizeof C / sizeof C[0]; k++) {
		unsigned char out[64];
		size_t len = strlen(C[k].in);
		printf("| `");
		for (const char *p = C[k].in; *p != '\0'; p++) {
			if (*p == '\r')
				printf("\\r");
			else if (*p == '\n')
				printf("\\n");
			else
				putchar(*p);
		}
		printf("` | %s |", C[k].what);
		long n = dec_ours(C[k].in, len, out);
		cell(n, out);
		n = dec_openssl(C[k].in, len, out);
		cell(n, out);
		n = dec_nettle(C[k].in, len, out);
		cell(n, out);
		printf("\n");
	}
}

/* Mean CPU µs per decode of in[0..len) by dec. */
static double time_dec(long (*dec)(const char *, size_t, unsigned char *), const char *in, size_t len,
                       unsigned char *out, int iters)
{
	double t0 = bench_cpu_us();
	for (int k = 0; k < iters; k++)
		if (dec(in, len, out) < 0)
			die("a decoder refused the benchmark input");
	return (bench_cpu_us() - t0) / iters;
}

int main(int argc, char **argv)
{
	int runs = bench_runs_arg(argc, argv, 9, "bench_b64_lib");
	contract_table();

	static const size_t sizes[] = {25000, 1000000};
	printf("\n| decoded bytes | input | library route µs | ours µs | library / ours |\n");
	printf("|---:|---|---:|---:|---:|\n");
	uint64_t seed = 0x2545F4914F6CDD1Dull;
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t raw_len = sizes[s];
		unsigned char *raw = malloc(raw_len);
		char *enc = malloc(BASE64_ENCODE_RAW_LENGTH(raw_len) + 1);
		char *pct = malloc(3 * BASE64_ENCODE_RAW_LENGTH(raw_len) + 1);
		unsigned char *o1 = malloc(raw_len + 8), *o2 = malloc(raw_len + 8);
		if (raw == NULL || enc == NULL || pct == NULL || o1 == NULL || o2 == NULL)
			die("out of memory");
		/* random bytes: a '+' or '/' every 32 characters, as in bench_edge's escape-heavy case */
		for (size_t k = 0; k < raw_len; k++)
			raw[k] = (unsigned char)bench_next(&seed);
		base64_encode_raw(enc, raw_len, raw);
		size_t len = BASE64_ENCODE_RAW_LENGTH(raw_len), plen = 0;
		enc[len] = '\0';
		for (size_t k = 0; k < len; k++) {
			if (enc[k] == '+' || enc[k] == '/' || enc[k] == '=') {
				plen += (size_t)snprintf(pct + plen, 4, "%%%02X", (unsigned char)enc[k]);
			} else {
				pct[plen++] = enc[k];
			}
		}
		pct[plen] = '\0';
		long (*const lib[3])(const char *, size_t, unsigned char *) = {dec_openssl, dec_nettle,
		                                                               dec_curl_openssl};
		static const char *const route[3] = {"standard, padded: OpenSSL", "standard, padded: Nettle",
		                                     "urlencoded: libcurl + OpenSSL"};
		for (int c = 0; c < 3; c++) {
			const char *in = c < 2 ? enc : pct;
			size_t il = c < 2 ? len : plen;
			long (*own)(const char *, size_t, unsigned char *) = c < 2 ? dec_ours : dec_ours_pct;
			if (own(in, il, o1) != (long)raw_len || lib[c](in, il, o2) != (long)raw_len ||
			    memcmp(o1, raw, raw_len) != 0 || memcmp(o2, raw, raw_len) != 0)
				die("the decoders disagree");
			int iters = raw_len < 100000 ? 2000 : 50;
			double *tl = malloc((size_t)runs * sizeof *tl), *to = malloc((size_t)runs * sizeof *to);
			if (tl == NULL || to == NULL)
				die("out of memory");
			for (int r = 0; r < runs; r++) {
				tl[r] = time_dec(lib[c], in, il, o2, iters);
				to[r] = time_dec(own, in, il, o1, iters);
			}
			double ml = bench_median(tl, (size_t)runs), mo = bench_median(to, (size_t)runs);
			printf("| %zu | %s | %.1f | %.1f | %.2f |\n", raw_len, route[c], ml, mo, ml / mo);
			free(tl);
			free(to);
		}
		free(raw);
		free(enc);
		free(pct);
		free(o1);
		free(o2);
	}
	return 0;
}
