/*
 * b64: the lenient base64 decoder of CONTRACT §1 for form fields. It is not an
 * encoder (the service never emits base64) and not a general MIME decoder.
 *
 * Accepted, all at once (clients depend on it):
 *   - the standard alphabet (A-Z a-z 0-9 + /) and the URL-safe one (- _),
 *     even mixed in one input;
 *   - a space as '+' (form decoding turned the client's '+' into a space);
 *   - missing padding ("QQ" and "QQ==" both give "A");
 *   - CR, LF and TAB anywhere, ignored (line-wrapped input).
 * Rejected with RB_E_INPUT and a message naming the offset:
 *   - any other byte outside the alphabet (NUL, '%', '.', '*', non-ASCII...):
 *     the old decoder dropped them silently and corrupted the data;
 *   - '=' anywhere but at the end, more padding than the last group needs,
 *     padding after a complete group;
 *   - a last group of a single character (it cannot hold a whole byte).
 * Non-zero unused bits in the last group are tolerated (as Python's decoder did).
 * Output over the caller's cap: RB_E_TOO_LARGE.
 */
#ifndef RB_B64_H
#define RB_B64_H

#include <stddef.h>

#include "rb/base/error.h"

/* Upper bound of the decoded size of len input bytes (never less than the real size). */
size_t b64_decoded_max(size_t len);

/*
 * Decodes in[0..len) into out[0..out_cap); *out_len gets the decoded size.
 * The output is not NUL-terminated. RB_E_TOO_LARGE when the decoded data would
 * exceed out_cap (nothing beyond out_cap is written).
 */
enum rb_code b64_decode_buf(const char *in, size_t len, unsigned char *out, size_t out_cap,
                            size_t *out_len, struct rb_err *err);

/*
 * Decodes in[0..len) into a new malloc'd buffer (caller frees), NUL-terminated
 * after *out_len bytes (the data itself may contain NULs). RB_E_TOO_LARGE when
 * the decoded size exceeds cap bytes; RB_E_NOMEM. *out is NULL on failure.
 */
enum rb_code b64_decode_alloc(const char *in, size_t len, size_t cap, char **out,
                              size_t *out_len, struct rb_err *err);

/*
 * The fused decoder of a urlencoded form value: in[0..len) is base64 text as
 * it came in the body, still percent-encoded ('%XX' is the byte XX, '+' a
 * space). One pass straight into out. The result, code, output and message
 * are those of percent-decoding first and then b64_decode_buf on the result:
 * offsets in messages count bytes of the percent-decoded text (a '%2B' is
 * one byte). A malformed escape ('%' not followed by two hex digits) makes
 * the call fail, but which error it reports is unspecified (RB_E_INPUT, or
 * RB_E_TOO_LARGE when the cap is passed first): callers check the escapes
 * first (form_parse_raw does, with the form's own message).
 */
enum rb_code b64_decode_pct_buf(const char *in, size_t len, unsigned char *out, size_t out_cap,
                                size_t *out_len, struct rb_err *err);

/*
 * b64_decode_alloc for a percent-encoded in[0..len) (see b64_decode_pct_buf):
 * a new buffer, NUL-terminated after *out_len bytes; RB_E_TOO_LARGE past cap
 * decoded bytes, with b64_decode_alloc's message; RB_E_NOMEM.
 */
enum rb_code b64_decode_pct_alloc(const char *in, size_t len, size_t cap, char **out,
                                  size_t *out_len, struct rb_err *err);

#endif
