/*
 * form: a request body (application/x-www-form-urlencoded or
 * multipart/form-data) parsed into a small set of named fields. Pure: bytes
 * in, fields out; the daemon reads the body (checking CONTENT_LENGTH against
 * the same cap first). Not a general MIME library: no nested multiparts, no
 * Content-Transfer-Encoding, no charset conversion, no files on disk.
 *
 * Rules (documented in rb-aioutliers(8)):
 *   - Content-Type: media type matched case-insensitively, parameters after ';'.
 *     Absent or empty: urlencoded (what `curl -d` sends). Any other type:
 *     RB_E_INPUT "unsupported Content-Type".
 *   - urlencoded: pairs split on '&' (not ';'); empty pairs skipped; a pair
 *     without '=' is a field with an empty value; a pair with an empty name is
 *     skipped. Names and values are percent-decoded and '+' becomes a space; a
 *     '%' not followed by two hex digits is RB_E_INPUT naming the field.
 *   - multipart: boundary parameter required (token or quoted-string, 1..70
 *     bytes); CRLF line ends; each part needs "Content-Disposition: form-data;
 *     name=..." (token or quoted-string with \" and \\ escapes). A part with a
 *     filename is a field like any other (so `curl -F data=@file` works). Part
 *     bodies are taken verbatim. Missing closing delimiter: RB_E_INPUT.
 *   - Duplicate names: the FIRST occurrence wins (as Flask's form.get did);
 *     later ones are still checked (escapes, caps) and then dropped.
 *   - A field name containing a NUL byte: RB_E_INPUT. Values may hold any
 *     byte (the field decoders reject what they cannot use).
 *   - Caps (RB_E_TOO_LARGE): the whole body, each name, each value, the
 *     number of distinct names kept and the number of pairs/parts seen.
 */
#ifndef RB_FORM_H
#define RB_FORM_H

#include <stddef.h>

#include "rb/base/error.h"

struct form; /* opaque: the parsed fields */

struct form_limits {
	size_t max_body;    /* body bytes (default 16 MiB) */
	size_t max_name;    /* one decoded name, bytes (default 64) */
	size_t max_value;   /* one decoded value, bytes (default = max_body) */
	size_t max_fields;  /* distinct names kept (default 32) */
	size_t max_pairs;   /* pairs or parts seen, duplicates included (default 65536) */
};

/* Fills *lim with the defaults above. */
void form_limits_default(struct form_limits *lim);

enum form_type {
	FORM_URLENCODED = 0,
	FORM_MULTIPART
};

/*
 * Classifies a Content-Type header value (NULL or "" → urlencoded). For
 * multipart, copies the boundary (NUL-terminated) into boundary[0..cap); cap
 * must be at least 71. RB_E_INPUT for another media type or a missing or
 * malformed boundary.
 */
enum rb_code form_content_type(const char *content_type, enum form_type *type, char *boundary,
                               size_t cap, struct rb_err *err);

/*
 * Parses body[0..len) as content_type says into a new form (*out; form_free).
 * lim NULL means the defaults. On failure *out is NULL and err says why.
 */
enum rb_code form_parse(const char *content_type, const char *body, size_t len,
                        const struct form_limits *lim, struct form **out, struct rb_err *err);

/*
 * form_parse, except that the urlencoded values of the fields named in
 * raw_names (a NULL-terminated list; NULL: none) are kept as they came
 * instead of being decoded: their escapes and caps are checked exactly as
 * form_parse checks them (same codes, messages and order) and their decoded
 * length measured, without copying a byte. Such a value points into body,
 * which must outlive the form; read it with form_get_raw (form_get and
 * form_field give NULL for it). Multipart values are verbatim anyway: for
 * them raw_names changes nothing.
 */
enum rb_code form_parse_raw(const char *content_type, const char *body, size_t len,
                            const struct form_limits *lim, const char *const *raw_names,
                            struct form **out, struct rb_err *err);

/*
 * Field name as stored (borrowed; NULL when absent, outputs untouched then):
 * *len bytes; *decoded_len the length of the field's value; *encoded 1 when
 * the bytes are the raw urlencoded text of a field kept by form_parse_raw
 * (percent-decode them, '+' as a space, to get the value), 0 when they are
 * the value itself (as form_get gives it). Any output pointer may be NULL.
 */
const char *form_get_raw(const struct form *f, const char *name, size_t *len,
                         size_t *decoded_len, int *encoded);

/* Frees the form; NULL is a no-op. */
void form_free(struct form *f);

/*
 * The value of field name (borrowed, NUL-terminated, valid until form_free),
 * *len its length (it may contain NULs); NULL when absent (len untouched when NULL).
 */
const char *form_get(const struct form *f, const char *name, size_t *len);

/* Number of distinct fields, and field i's name and value (borrowed) in first-seen order. */
size_t form_count(const struct form *f);
const char *form_field(const struct form *f, size_t i, const char **value, size_t *len);

#endif
