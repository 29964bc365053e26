/*
 * form: request bodies (urlencoded and multipart/form-data) into named fields;
 * the rules are in include/rb/fcgi/form.h. Every copy is capped before it is made;
 * the body itself is never modified. Fields named by form_parse_raw are not
 * copied at all: checked and measured, then borrowed from the body. Not a
 * MIME library (see form.h).
 */
#include "rb/fcgi/form.h"

#include <stdlib.h>
#include <string.h>

/* RFC 2046: a boundary is 1..70 characters. */
enum { BOUNDARY_MAX = 70 };

struct form_entry {
	char *name;       /* NUL-terminated, no NULs inside */
	char *value;      /* NUL-terminated after len bytes; NULL for a raw entry */
	size_t len;       /* decoded length */
	const char *raw;  /* raw entry (form_parse_raw): the urlencoded bytes in the body, or NULL */
	size_t raw_len;
};

struct form {
	struct form_limits lim;
	struct form_entry *e;   /* [max_fields], n used */
	size_t n;
	size_t pairs;           /* pairs or parts seen */
	char *scratch;          /* [max_name + 1] decoded name of the pair in hand */
	const char *const *raw_names; /* urlencoded fields kept raw (NULL-terminated) or NULL */
};

void form_limits_default(struct form_limits *lim)
{
	lim->max_body = (size_t)16 << 20;
	lim->max_name = 64;
	lim->max_value = lim->max_body;
	lim->max_fields = 32;
	lim->max_pairs = 65536;
}

void form_free(struct form *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->e[i].name);
		free(f->e[i].value);
	}
	free(f->e);
	free(f->scratch);
	free(f);
}

const char *form_get(const struct form *f, const char *name, size_t *len)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->e[i].name, name) == 0) {
			if (f->e[i].value == NULL)
				return NULL; /* raw entry: form_get_raw */
			if (len != NULL)
				*len = f->e[i].len;
			return f->e[i].value;
		}
	}
	return NULL;
}

const char *form_get_raw(const struct form *f, const char *name, size_t *len,
                         size_t *decoded_len, int *encoded)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct form_entry *e = &f->e[i];
		if (strcmp(e->name, name) != 0)
			continue;
		int raw = e->raw != NULL;
		if (len != NULL)
			*len = raw ? e->raw_len : e->len;
		if (decoded_len != NULL)
			*decoded_len = e->len;
		if (encoded != NULL)
			*encoded = raw;
		return raw ? e->raw : e->value;
	}
	return NULL;
}

size_t form_count(const struct form *f)
{
	return f->n;
}

const char *form_field(const struct form *f, size_t i, const char **value, size_t *len)
{
	if (i >= f->n)
		return NULL;
	if (value != NULL)
		*value = f->e[i].value; /* NULL for a raw entry */
	if (len != NULL)
		*len = f->e[i].len;
	return f->e[i].name;
}

/* A field name fit for a message: printable ASCII only, at most 40 bytes. */
static void printable_name(char out[48], const char *name, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o < 40; i++) {
		unsigned char c = (unsigned char)name[i];
		out[o++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
	}
	if (len > 40) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int ci_equal(const char *a, size_t alen, const char *b)
{
	size_t bl = strlen(b);
	if (alen != bl)
		return 0;
	for (size_t i = 0; i < alen; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* Index of the field with this decoded name, or f->n. */
static size_t find_field(const struct form *f, const char *name, size_t len)
{
	for (size_t i = 0; i < f->n; i++)
		if (strlen(f->e[i].name) == len && memcmp(f->e[i].name, name, len) == 0)
			return i;
	return f->n;
}

/*
 * Checks a decoded name (in hand) before its value is looked at: counts the
 * pair, rejects NULs. Returns the existing index (a duplicate), f->n for a
 * new name that may be stored, or sets err.
 */
static enum rb_code admit_name(struct form *f, const char *name, size_t nlen, size_t *index,
                               struct rb_err *err)
{
	f->pairs++;
	if (f->pairs > f->lim.max_pairs)
		return rb_err_set(err, RB_E_TOO_LARGE, "more than %zu form fields", f->lim.max_pairs);
	if (memchr(name, '\0', nlen) != NULL)
		return rb_err_set(err, RB_E_INPUT, "a form field name contains a NUL byte");
	*index = find_field(f, name, nlen);
	if (*index == f->n && f->n >= f->lim.max_fields)
		return rb_err_set(err, RB_E_TOO_LARGE, "more than %zu distinct form fields",
		                  f->lim.max_fields);
	return RB_OK;
}

/*
 * Stores a new field; value is taken over (malloc'd, NUL-terminated after
 * vlen), or is NULL for a raw entry (raw[0..raw_len) borrowed from the body).
 */
static enum rb_code store(struct form *f, const char *name, size_t nlen, char *value, size_t vlen,
                          const char *raw, size_t raw_len, struct rb_err *err)
{
	char *n = malloc(nlen + 1);
	if (n == NULL) {
		free(value);
		return rb_err_set(err, RB_E_NOMEM, "out of memory parsing the form");
	}
	memcpy(n, name, nlen);
	n[nlen] = '\0';
	f->e[f->n].name = n;
	f->e[f->n].value = value;
	f->e[f->n].len = vlen;
	f->e[f->n].raw = raw;
	f->e[f->n].raw_len = raw_len;
	f->n++;
	return RB_OK;
}

static enum rb_code value_too_large(const struct form *f, const char *name, size_t nlen,
                                    struct rb_err *err)
{
	char pn[48];
	printable_name(pn, name, nlen);
	return rb_err_set(err, RB_E_TOO_LARGE, "form field '%s' is over %zu bytes", pn,
	                  f->lim.max_value);
}

/* ---- urlencoded ------------------------------------------------------------------------------ */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum pct_res { PCT_OK, PCT_BAD_ESCAPE, PCT_OVER_CAP };

/*
 * Percent-decodes s[0..len) ('+' → ' ') into out (NULL: measure only), at most
 * cap bytes. *n gets the decoded length; *bad the offset of a bad '%'.
 */
static enum pct_res pct_decode(const char *s, size_t len, char *out, size_t cap, size_t *n,
                               size_t *bad)
{
	size_t o = 0, i = 0;
	while (i < len) {
		/* A run of bytes copied as they are, then one '%XX' or '+'. */
		size_t j = i;
		while (j < len && s[j] != '%' && s[j] != '+')
			j++;
		if (j - i > cap - o)
			return PCT_OVER_CAP;
		if (out != NULL)
			memcpy(out + o, s + i, j - i);
		o += j - i;
		i = j;
		if (i == len)
			break;
		unsigned char c = ' ';
		if (s[i] == '%') {
			if (len - i < 3) {
				*bad = i;
				return PCT_BAD_ESCAPE;
			}
			int hi = hexval((unsigned char)s[i + 1]);
			int lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				*bad = i;
				return PCT_BAD_ESCAPE;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 3;
		} else {
			i++;
		}
		if (o == cap)
			return PCT_OVER_CAP;
		if (out != NULL)
			out[o] = (char)c;
		o++;
	}
	*n = o;
	return PCT_OK;
}

/*
 * pct_decode(s, len, NULL, cap, n, bad) without touching each byte: only
 * the '%' are looked at (memchr), every other byte decodes to one byte.
 * Same result, *n and *bad.
 */
static enum pct_res pct_measure(const char *s, size_t len, size_t cap, size_t *n, size_t *bad)
{
	size_t i = 0, esc = 0; /* decoded bytes before raw offset j: j - 2 * esc */
	for (;;) {
		const char *p = memchr(s + i, '%', len - i);
		size_t j = p != NULL ? (size_t)(p - s) : len;
		size_t o = j - 2 * esc;
		if (o > cap)
			return PCT_OVER_CAP;
		if (j == len) {
			*n = o;
			return PCT_OK;
		}
		if (len - j < 3 || hexval((unsigned char)s[j + 1]) < 0 ||
		    hexval((unsigned char)s[j + 2]) < 0) {
			*bad = j;
			return PCT_BAD_ESCAPE;
		}
		if (o == cap)
			return PCT_OVER_CAP;
		esc++;
		i = j + 3;
	}
}

/* 1 when the decoded name[0..nlen) is one of f->raw_names. */
static int raw_name(const struct form *f, const char *name, size_t nlen)
{
	if (f->raw_names == NULL)
		return 0;
	for (const char *const *r = f->raw_names; *r != NULL; r++)
		if (strlen(*r) == nlen && memcmp(*r, name, nlen) == 0)
			return 1;
	return 0;
}

static enum rb_code parse_pair(struct form *f, const char *body, const char *pair, size_t plen,
                               struct rb_err *err)
{
	const char *eq = memchr(pair, '=', plen);
	size_t nraw = eq != NULL ? (size_t)(eq - pair) : plen;
	const char *vraw = eq != NULL ? eq + 1 : pair + plen;
	size_t vrawlen = plen - nraw - (eq != NULL);
	size_t nlen, vlen, bad;

	enum pct_res r = pct_decode(pair, nraw, f->scratch, f->lim.max_name, &nlen, &bad);
	if (r == PCT_BAD_ESCAPE)
		return rb_err_set(err, RB_E_INPUT,
		                  "malformed percent escape in a form field name at offset %zu",
		                  (size_t)(pair - body) + bad);
	if (r == PCT_OVER_CAP)
		return rb_err_set(err, RB_E_TOO_LARGE, "a form field name is over %zu bytes",
		                  f->lim.max_name);
	size_t index;
	enum rb_code rc = admit_name(f, f->scratch, nlen, &index, err);
	if (rc != RB_OK)
		return rc;
	/*
	 * A stored value is decoded once, straight into a buffer of the raw length
	 * (decoding never lengthens); a skipped one (empty name, duplicate) is only
	 * checked. Either way the same errors, in the same order.
	 */
	int keep = nlen > 0 && index == f->n;
	int raw = keep && raw_name(f, f->scratch, nlen);
	size_t room = vrawlen < f->lim.max_value ? vrawlen : f->lim.max_value;
	char *value = NULL;
	if (keep && !raw) {
		value = malloc(room + 1);
		if (value == NULL)
			return rb_err_set(err, RB_E_NOMEM, "out of memory parsing the form");
	}
	if (value != NULL)
		r = pct_decode(vraw, vrawlen, value, f->lim.max_value, &vlen, &bad);
	else
		r = pct_measure(vraw, vrawlen, f->lim.max_value, &vlen, &bad);
	if (r != PCT_OK) {
		free(value);
		if (r == PCT_OVER_CAP)
			return value_too_large(f, f->scratch, nlen, err);
		char pn[48];
		printable_name(pn, f->scratch, nlen);
		return rb_err_set(err, RB_E_INPUT,
		                  "form field '%s': malformed percent escape at offset %zu", pn,
		                  (size_t)(vraw - body) + bad);
	}
	if (!keep)
		return RB_OK; /* empty name: skipped; duplicate: first wins */
	if (raw)
		return store(f, f->scratch, nlen, NULL, vlen, vraw, vrawlen, err);
	if (room - vlen > room / 4) {
		char *shrunk = realloc(value, vlen + 1); /* much was escaped: give the rest back */
		if (shrunk != NULL)
			value = shrunk;
	}
	value[vlen] = '\0';
	return store(f, f->scratch, nlen, value, vlen, NULL, 0, err);
}

static enum rb_code parse_urlencoded(struct form *f, const char *body, size_t len,
                                     struct rb_err *err)
{
	size_t pos = 0;
	while (pos < len) {
		const char *amp = memchr(body + pos, '&', len - pos);
		size_t plen = amp != NULL ? (size_t)(amp - (body + pos)) : len - pos;
		if (plen > 0) {
			enum rb_code rc = parse_pair(f, body, body + pos, plen, err);
			if (rc != RB_OK)
				return rc;
		}
		pos += plen + 1;
	}
	return RB_OK;
}

/*
 * First occurrence of needle (which starts with '\r' and holds no other '\r')
 * in hay[0..len), or NULL. Linear: a candidate at one '\r' fails at the
 * latest at the next '\r' of hay.
 */
static const char *find_cr(const char *hay, size_t len, const char *needle, size_t nlen)
{
	const char *end = hay + len;
	while ((size_t)(end - hay) >= nlen) {
		const char *cr = memchr(hay, '\r', (size_t)(end - hay) - nlen + 1);
		if (cr == NULL)
			return NULL;
		if (memcmp(cr, needle, nlen) == 0)
			return cr;
		hay = cr + 1;
	}
	return NULL;
}

/* ---- header parameters (Content-Type, Content-Disposition) ---------------------------------- */

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static int is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ';' && c != '"' && c != '=' && c != ',';
}

/* A byte of an unquoted parameter value (RFC token, plus '=' and ',' for leniency). */
static int is_value_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ';' && c != '"';
}

enum param_res { PARAM_END, PARAM_OK, PARAM_MALFORMED, PARAM_TOO_LONG };

/*
 * Reads the next "; name =" from *p (up to end); *name points into the input.
 * PARAM_END at the end of the input (a bare trailing ';' is allowed).
 */
static enum param_res param_name(const char **p, const char *end, const char **name,
                                 size_t *nlen)
{
	const char *s = *p;
	while (s < end && is_ows(*s))
		s++;
	if (s == end)
		return PARAM_END;
	if (*s != ';')
		return PARAM_MALFORMED;
	s++;
	while (s < end && is_ows(*s))
		s++;
	if (s == end) {
		*p = s;
		return PARAM_END;
	}
	*name = s;
	while (s < end && is_token_char((unsigned char)*s))
		s++;
	*nlen = (size_t)(s - *name);
	if (*nlen == 0)
		return PARAM_MALFORMED;
	while (s < end && is_ows(*s))
		s++;
	if (s == end || *s != '=')
		return PARAM_MALFORMED;
	*p = s + 1;
	return PARAM_OK;
}

/*
 * Reads a parameter value at *p: a token, or a quoted-string whose quoted-pairs
 * (backslash + byte) are resolved. Copied into val[0..vcap) unless val is NULL
 * (skipped, no cap); PARAM_TOO_LONG past vcap.
 */
static enum param_res param_value(const char **p, const char *end, char *val, size_t vcap,
                                  size_t *vlen)
{
	const char *s = *p;
	size_t o = 0;
	while (s < end && is_ows(*s))
		s++;
	if (s < end && *s == '"') {
		for (s++;; s++) {
			if (s == end)
				return PARAM_MALFORMED; /* unterminated quoted-string */
			if (*s == '"')
				break;
			if (*s == '\\') {
				s++;
				if (s == end)
					return PARAM_MALFORMED;
			}
			if (val != NULL && o == vcap)
				return PARAM_TOO_LONG;
			if (val != NULL)
				val[o] = *s;
			o++;
		}
		s++;
	} else {
		for (; s < end && is_value_char((unsigned char)*s); s++) {
			if (val != NULL && o == vcap)
				return PARAM_TOO_LONG;
			if (val != NULL)
				val[o] = *s;
			o++;
		}
		if (o == 0)
			return PARAM_MALFORMED;
	}
	*vlen = o;
	*p = s;
	return PARAM_OK;
}

/* Splits "type/subtype ; params" at the first ';': *tlen is the trimmed type length. */
static const char *media_type(const char *s, size_t len, size_t *tlen)
{
	size_t i = 0;
	while (i < len && is_ows(s[i]))
		i++;
	const char *t = s + i;
	while (i < len && s[i] != ';')
		i++;
	size_t n = (size_t)(s + i - t);
	while (n > 0 && is_ows(t[n - 1]))
		n--;
	*tlen = n;
	return t;
}

static int boundary_ok(const char *b, size_t n)
{
	if (n == 0 || n > BOUNDARY_MAX || b[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		         strchr("'()+_,-./:=? ", c) != NULL;
		if (!ok || c == '\0')
			return 0;
	}
	return 1;
}

enum rb_code form_content_type(const char *content_type, enum form_type *type, char *boundary,
                               size_t cap, struct rb_err *err)
{
	if (content_type == NULL || content_type[0] == '\0') {
		*type = FORM_URLENCODED;
		return RB_OK;
	}
	size_t len = strlen(content_type), tlen;
	const char *t = media_type(content_type, len, &tlen);
	if (ci_equal(t, tlen, "application/x-www-form-urlencoded")) {
		*type = FORM_URLENCODED;
		return RB_OK;
	}
	if (!ci_equal(t, tlen, "multipart/form-data"))
		return rb_err_set(err, RB_E_INPUT,
		                  "unsupported Content-Type (use application/x-www-form-urlencoded "
		                  "or multipart/form-data)");
	const char *p = t + tlen, *end = content_type + len, *name = NULL;
	char val[BOUNDARY_MAX + 1];
	size_t nlen = 0, vlen = 0;
	int found = 0;
	for (;;) {
		enum param_res r = param_name(&p, end, &name, &nlen);
		if (r == PARAM_END)
			break;
		int is_boundary = r == PARAM_OK && ci_equal(name, nlen, "boundary");
		if (r == PARAM_OK)
			r = param_value(&p, end, is_boundary ? val : NULL, BOUNDARY_MAX, &vlen);
		if (r == PARAM_MALFORMED)
			return rb_err_set(err, RB_E_INPUT, "malformed Content-Type parameters");
		if (!is_boundary)
			continue;
		if (r == PARAM_TOO_LONG || !boundary_ok(val, vlen) || vlen + 1 > cap)
			return rb_err_set(err, RB_E_INPUT, "malformed multipart boundary");
		if (found)
			return rb_err_set(err, RB_E_INPUT, "two multipart boundaries");
		found = 1;
		memcpy(boundary, val, vlen);
		boundary[vlen] = '\0';
	}
	if (!found)
		return rb_err_set(err, RB_E_INPUT, "multipart/form-data without a boundary");
	*type = FORM_MULTIPART;
	return RB_OK;
}

/* ---- multipart ------------------------------------------------------------------------------- */

/*
 * Reads one part's headers from *p (just after the delimiter line's CRLF) up
 * to and including the empty line; the form-data name goes into f->scratch.
 */
static enum rb_code part_headers(struct form *f, const char **p, const char *end, size_t *nlen,
                                 struct rb_err *err)
{
	const char *s = *p;
	int have_name = 0;
	for (;;) {
		const char *eol = find_cr(s, (size_t)(end - s), "\r\n", 2);
		if (eol == NULL)
			return rb_err_set(err, RB_E_INPUT, "multipart body truncated in part headers");
		if (eol == s) {
			s += 2;
			break;
		}
		const char *colon = memchr(s, ':', (size_t)(eol - s));
		if (colon == NULL || colon == s)
			return rb_err_set(err, RB_E_INPUT, "malformed multipart part header");
		if (ci_equal(s, (size_t)(colon - s), "content-disposition")) {
			if (have_name)
				return rb_err_set(err, RB_E_INPUT, "two Content-Disposition headers in a part");
			size_t tlen;
			const char *t = media_type(colon + 1, (size_t)(eol - colon - 1), &tlen);
			if (!ci_equal(t, tlen, "form-data"))
				return rb_err_set(err, RB_E_INPUT,
				                  "multipart part is not Content-Disposition: form-data");
			const char *q = t + tlen, *pname = NULL;
			size_t pnlen = 0, vlen = 0;
			for (;;) {
				enum param_res r = param_name(&q, eol, &pname, &pnlen);
				if (r == PARAM_END)
					break;
				int is_name = r == PARAM_OK && ci_equal(pname, pnlen, "name");
				if (is_name && have_name)
					return rb_err_set(err, RB_E_INPUT,
					                  "two name parameters in a Content-Disposition");
				if (r == PARAM_OK) /* other parameters (filename...) are skipped */
					r = param_value(&q, eol, is_name ? f->scratch : NULL, f->lim.max_name,
					                &vlen);
				if (r == PARAM_TOO_LONG)
					return rb_err_set(err, RB_E_TOO_LARGE, "a form field name is over %zu bytes",
					                  f->lim.max_name);
				if (r == PARAM_MALFORMED)
					return rb_err_set(err, RB_E_INPUT, "malformed Content-Disposition");
				if (is_name) {
					have_name = 1;
					*nlen = vlen;
				}
			}
			if (!have_name)
				return rb_err_set(err, RB_E_INPUT, "multipart part without a name");
		}
		s = eol + 2;
	}
	if (!have_name)
		return rb_err_set(err, RB_E_INPUT,
		                  "multipart part without Content-Disposition: form-data; name=...");
	*p = s;
	return RB_OK;
}

static enum rb_code parse_multipart(struct form *f, const char *body, size_t len,
                                    const char *boundary, struct rb_err *err)
{
	char delim[BOUNDARY_MAX + 5]; /* "\r\n--" boundary */
	size_t blen = strlen(boundary), dlen = blen + 4;
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, blen);
	const char *end = body + len, *s;

	/* The first delimiter opens the body or follows a preamble's CRLF. */
	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
		s = body + dlen - 2;
	} else {
		const char *d = find_cr(body, len, delim, dlen);
		if (d == NULL)
			return rb_err_set(err, RB_E_INPUT, "multipart body without its boundary");
		s = d + dlen;
	}
	for (;;) {
		/* s is just after a delimiter */
		if (end - s >= 2 && s[0] == '-' && s[1] == '-')
			return RB_OK; /* close delimiter; the epilogue is ignored */
		while (s < end && is_ows(*s))
			s++;
		if (end - s < 2)
			return rb_err_set(err, RB_E_INPUT, "multipart body truncated (no closing boundary)");
		if (s[0] != '\r' || s[1] != '\n')
			return rb_err_set(err, RB_E_INPUT, "malformed multipart delimiter line");
		s += 2;
		size_t nlen = 0;
		enum rb_code rc = part_headers(f, &s, end, &nlen, err);
		if (rc != RB_OK)
			return rc;
		const char *d = find_cr(s, (size_t)(end - s), delim, dlen);
		if (d == NULL)
			return rb_err_set(err, RB_E_INPUT, "multipart body truncated (no closing boundary)");
		size_t vlen = (size_t)(d - s), index;
		rc = admit_name(f, f->scratch, nlen, &index, err);
		if (rc != RB_OK)
			return rc;
		if (vlen > f->lim.max_value)
			return value_too_large(f, f->scratch, nlen, err);
		if (nlen > 0 && index == f->n) {
			char *value = malloc(vlen + 1);
			if (value == NULL)
				return rb_err_set(err, RB_E_NOMEM, "out of memory parsing the form");
			memcpy(value, s, vlen);
			value[vlen] = '\0';
			rc = store(f, f->scratch, nlen, value, vlen, NULL, 0, err);
			if (rc != RB_OK)
				return rc;
		}
		s = d + dlen;
	}
}

/* ---- entry point ----------------------------------------------------------------------------- */

enum rb_code form_parse(const char *content_type, const char *body, size_t len,
                        const struct form_limits *lim, struct form **out, struct rb_err *err)
{
	return form_parse_raw(content_type, body, len, lim, NULL, out, err);
}

enum rb_code form_parse_raw(const char *content_type, const char *body, size_t len,
                            const struct form_limits *lim, const char *const *raw_names,
                            struct form **out, struct rb_err *err)
{
	struct form_limits def;
	enum form_type type;
	char boundary[BOUNDARY_MAX + 1];
	*out = NULL;
	if (lim == NULL) {
		form_limits_default(&def);
		lim = &def;
	}
	if (len > lim->max_body)
		return rb_err_set(err, RB_E_TOO_LARGE, "request body is over %zu bytes", lim->max_body);
	enum rb_code rc = form_content_type(content_type, &type, boundary, sizeof boundary, err);
	if (rc != RB_OK)
		return rc;
	struct form *f = calloc(1, sizeof *f);
	if (f == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory parsing the form");
	f->lim = *lim;
	f->raw_names = raw_names;
	f->e = calloc(lim->max_fields ? lim->max_fields : 1, sizeof *f->e);
	f->scratch = malloc(lim->max_name + 1);
	if (f->e == NULL || f->scratch == NULL) {
		form_free(f);
		return rb_err_set(err, RB_E_NOMEM, "out of memory parsing the form");
	}
	if (type == FORM_URLENCODED)
		rc = parse_urlencoded(f, body, len, err);
	else
		rc = parse_multipart(f, body, len, boundary, err);
	if (rc != RB_OK) {
		form_free(f);
		return rc;
	}
	*out = f;
	return RB_OK;
}
