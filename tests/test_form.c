/*
 * form: request bodies into fields. Tables of urlencoded and multipart bodies
 * (expected fields or expected error code + message), Content-Type parsing,
 * every cap (body, name, value, distinct fields, pairs), the first-wins rule
 * with 10,000 repeats, NUL bytes, truncation at every byte of a valid
 * multipart body, and a large body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb/fcgi/form.h"
#include "testutil.h"

#define URLENC "application/x-www-form-urlencoded"
#define MP "multipart/form-data; boundary=XyZ"

struct form_case {
	const char *ct;
	const char *body;
	size_t len;            /* 0: strlen(body) */
	enum rb_code code;
	const char *fields;    /* expected "name=value|name=value" in order (RB_OK), "" for none */
	const char *msg;       /* error message substring */
};

static const struct form_case cases[] = {
	/* urlencoded */
	{URLENC, "a=1&b=2", 0, RB_OK, "a=1|b=2", NULL},
	{NULL, "a=1&b=2", 0, RB_OK, "a=1|b=2", NULL},
	{"", "a=1", 0, RB_OK, "a=1", NULL},
	{URLENC "; charset=UTF-8", "a=1", 0, RB_OK, "a=1", NULL},
	{"Application/X-WWW-Form-Urlencoded ;charset=\"utf-8\"", "a=1", 0, RB_OK, "a=1", NULL},
	{URLENC, "", 0, RB_OK, "", NULL},
	{URLENC, "a=hello+world%21%2b%2B", 0, RB_OK, "a=hello world!++", NULL},
	{URLENC, "%61%62=%7E", 0, RB_OK, "ab=~", NULL},
	{URLENC, "a", 0, RB_OK, "a=", NULL},
	{URLENC, "a=", 0, RB_OK, "a=", NULL},
	{URLENC, "=x&=&&b=2", 0, RB_OK, "b=2", NULL},
	{URLENC, "&&&a=1&&&", 0, RB_OK, "a=1", NULL},
	{URLENC, "a==b=", 0, RB_OK, "a==b=", NULL},
	{URLENC, "a=1;b=2", 0, RB_OK, "a=1;b=2", NULL},
	{URLENC, "A=1&a=2", 0, RB_OK, "A=1|a=2", NULL},
	{URLENC, "a=1&a=2&a=3", 0, RB_OK, "a=1", NULL},
	{URLENC, "a=&a=2", 0, RB_OK, "a=", NULL},
	{URLENC, "a=\xff\x01\"'<", 0, RB_OK, "a=\xff\x01\"'<", NULL},
	{URLENC, "a=%zz", 0, RB_E_INPUT, NULL, "form field 'a': malformed percent escape at offset 2"},
	{URLENC, "x=1&a=%4", 0, RB_E_INPUT, NULL, "field 'a': malformed percent escape at offset 6"},
	{URLENC, "a=%", 0, RB_E_INPUT, NULL, "malformed percent escape"},
	{URLENC, "a=%%41", 0, RB_E_INPUT, NULL, "malformed percent escape"},
	{URLENC, "a=%4G", 0, RB_E_INPUT, NULL, "malformed percent escape"},
	{URLENC, "a=% 41", 0, RB_E_INPUT, NULL, "malformed percent escape"},
	{URLENC, "%zz=1", 0, RB_E_INPUT, NULL, "in a form field name at offset 0"},
	{URLENC, "a=1&a=%zz", 0, RB_E_INPUT, NULL, "malformed percent escape"},
	{URLENC, "a%00b=1", 0, RB_E_INPUT, NULL, "NUL byte"},
	{URLENC, "a\0b=1", 5, RB_E_INPUT, NULL, "NUL byte"},
	{"application/json", "{}", 0, RB_E_INPUT, NULL, "unsupported Content-Type"},
	{"text/plain", "a=1", 0, RB_E_INPUT, NULL, "unsupported Content-Type"},
	{"application/x-www-form-urlencodedx", "a=1", 0, RB_E_INPUT, NULL, "unsupported"},
	{"multipart/mixed; boundary=x", "", 0, RB_E_INPUT, NULL, "unsupported"},
	/* multipart: content types */
	{"multipart/form-data", "", 0, RB_E_INPUT, NULL, "without a boundary"},
	{"multipart/form-data; charset=utf-8", "", 0, RB_E_INPUT, NULL, "without a boundary"},
	{"multipart/form-data; boundary=", "", 0, RB_E_INPUT, NULL, "Content-Type parameters"},
	{"multipart/form-data; boundary=\"\"", "", 0, RB_E_INPUT, NULL, "malformed multipart boundary"},
	{"multipart/form-data; boundary=\"ab \"", "", 0, RB_E_INPUT, NULL, "malformed multipart boundary"},
	{"multipart/form-data; boundary=a\\b", "", 0, RB_E_INPUT, NULL, "malformed multipart boundary"},
	{"multipart/form-data; boundary=\"abc", "", 0, RB_E_INPUT, NULL, "Content-Type parameters"},
	{"multipart/form-data; boundary=a; boundary=b", "", 0, RB_E_INPUT, NULL, "two multipart"},
	{"multipart/form-data; boundary=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	 "", 0, RB_E_INPUT, NULL, "malformed multipart boundary"},
	{"multipart/form-data; boundary", "", 0, RB_E_INPUT, NULL, "Content-Type parameters"},
	{"multipart/form-data boundary=x", "", 0, RB_E_INPUT, NULL, "unsupported"},
	/* multipart: bodies */
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
	     "--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n--XyZ--\r\n",
	 0, RB_OK, "a=1|b=2", NULL},
	{"Multipart/Form-Data ; Boundary=\"a b:c\" ; charset=utf-8",
	 "--a b:c\r\ncontent-disposition: FORM-DATA;name=q\r\ncontent-type: text/plain\r\n\r\n"
	 "x+y%zz\r\n--a b:c--",
	 0, RB_OK, "q=x+y%zz", NULL},
	{MP, "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ--epilogue",
	 0, RB_OK, "a=1", NULL},
	{MP, "--XyZ \t\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--XyZ--", 0, RB_OK, "a=",
	 NULL},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=\"data\"; filename=\"x.b64\"\r\n"
	     "Content-Type: application/octet-stream\r\n\r\nQUJD\r\n--XyZ--\r\n",
	 0, RB_OK, "data=QUJD", NULL},
	{MP, "--XyZ\r\nContent-Disposition: form-data; filename=\"a;name=b\"; name=\"q\"\r\n\r\n"
	     "v\r\n--XyZ--",
	 0, RB_OK, "q=v", NULL},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\\\"b\\\\\"\r\n\r\nv\r\n--XyZ--", 0,
	 RB_OK, "a\"b\\=v", NULL},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
	     "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n2\r\n--XyZ--",
	 0, RB_OK, "a=1", NULL},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nline1\r\nline2\r\n--XyZ\r\n--X"
	     "\r\n--XyZ--",
	 0, RB_E_INPUT, NULL, "malformed multipart part header"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nline1\r\n-XyZ\r\n--XyZ--", 0,
	 RB_OK, "a=line1\r\n-XyZ", NULL},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZx\r\n", 0,
	 RB_E_INPUT, NULL, "malformed multipart delimiter line"},
	{MP, "", 0, RB_E_INPUT, NULL, "without its boundary"},
	{MP, "--XyZ", 0, RB_E_INPUT, NULL, "truncated"},
	{MP, "--XyZ\r\n", 0, RB_E_INPUT, NULL, "truncated in part headers"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n", 0, RB_E_INPUT, NULL,
	 "truncated in part headers"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1", 0, RB_E_INPUT, NULL,
	 "no closing boundary"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ", 0, RB_E_INPUT,
	 NULL, "no closing boundary"},
	{MP, "--XyZ\nContent-Disposition: form-data; name=a\n\n1\n--XyZ--\n", 0, RB_E_INPUT, NULL,
	 "malformed multipart delimiter line"},
	{MP, "--XyZ\r\n\r\n1\r\n--XyZ--", 0, RB_E_INPUT, NULL, "without Content-Disposition"},
	{MP, "--XyZ\r\nContent-Type: text/plain\r\n\r\n1\r\n--XyZ--", 0, RB_E_INPUT, NULL,
	 "without Content-Disposition"},
	{MP, "--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n--XyZ--", 0, RB_E_INPUT,
	 NULL, "not Content-Disposition: form-data"},
	{MP, "--XyZ\r\nContent-Disposition: form-data\r\n\r\n1\r\n--XyZ--", 0, RB_E_INPUT, NULL,
	 "without a name"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; filename=x\r\n\r\n1\r\n--XyZ--", 0,
	 RB_E_INPUT, NULL, "without a name"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"b\"\r\n\r\n1\r\n--XyZ--", 0,
	 RB_E_INPUT, NULL, "malformed Content-Disposition"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=\"ab\r\n\r\n1\r\n--XyZ--", 0, RB_E_INPUT,
	 NULL, "malformed Content-Disposition"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\\\"\r\n\r\n1\r\n--XyZ--", 0,
	 RB_E_INPUT, NULL, "malformed Content-Disposition"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\n1\r\n--XyZ--", 0,
	 RB_E_INPUT, NULL, "two name parameters"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; "
	     "name=b\r\n\r\n1\r\n--XyZ--",
	 0, RB_E_INPUT, NULL, "two Content-Disposition"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=\r\n\r\n1\r\n--XyZ--", 0, RB_E_INPUT,
	 NULL, "malformed Content-Disposition"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; =a\r\n\r\n1\r\n--XyZ--", 0, RB_E_INPUT, NULL,
	 "malformed Content-Disposition"},
	{MP, "--XyZ\r\nContent-Disposition: form-data name=a\r\n\r\n1\r\n--XyZ--", 0, RB_E_INPUT,
	 NULL, "not Content-Disposition: form-data"},
	{MP, "--XyZ\r\nno colon here\r\n\r\n1\r\n--XyZ--", 0, RB_E_INPUT, NULL,
	 "malformed multipart part header"},
	{MP, "--XyZ\r\n: empty\r\n\r\n1\r\n--XyZ--", 0, RB_E_INPUT, NULL,
	 "malformed multipart part header"},
	{MP, "--XyZ\r\nContent-Disposition: form-data; name=\"a\0b\"\r\n\r\n1\r\n--XyZ--", 62,
	 RB_E_INPUT, NULL, "NUL byte"},
};

/* Checks the form's fields against "n=v|n=v" (values without '|'). */
static void check_fields(size_t ci, const struct form *f, const char *want)
{
	size_t i = 0;
	const char *p = want;
	while (*p != '\0') {
		const char *bar = strchr(p, '|');
		size_t seg = bar != NULL ? (size_t)(bar - p) : strlen(p);
		const char *eq = memchr(p, '=', seg);
		CHECK(eq != NULL);
		size_t nl = (size_t)(eq - p), vl = seg - nl - 1;
		const char *value = NULL;
		size_t len = 0;
		const char *name = form_field(f, i, &value, &len);
		CHECKF(name != NULL, "case %zu: field %zu missing", ci, i);
		CHECKF(strlen(name) == nl && memcmp(name, p, nl) == 0, "case %zu: field %zu is '%s'", ci,
		       i, name);
		CHECKF(len == vl && memcmp(value, eq + 1, vl) == 0 && value[len] == '\0',
		       "case %zu: field '%s' value '%s'", ci, name, value);
		char nbuf[64];
		snprintf(nbuf, sizeof nbuf, "%.*s", (int)nl, p);
		size_t glen = 0;
		CHECK(form_get(f, nbuf, &glen) == value && glen == len);
		i++;
		p += seg + (bar != NULL);
	}
	CHECKF(form_count(f) == i, "case %zu: %zu fields, want %zu", ci, form_count(f), i);
	CHECK(form_field(f, i, NULL, NULL) == NULL);
}

static void run_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct form_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->body);
		struct form *f = (struct form *)1;
		struct rb_err err = {0};
		enum rb_code rc = form_parse(c->ct, c->body, len, NULL, &f, &err);
		CHECKF(rc == c->code, "case %zu: code %d want %d (%s)", i, rc, c->code, err.msg);
		if (rc != RB_OK) {
			CHECK(f == NULL);
			CHECKF(strstr(err.msg, c->msg) != NULL, "case %zu: message '%s' lacks '%s'", i,
			       err.msg, c->msg);
			continue;
		}
		check_fields(i, f, c->fields);
		CHECK(form_get(f, "absent", NULL) == NULL);
		form_free(f);
	}
	form_free(NULL);
}

static void values_with_nul(void)
{
	struct form *f;
	struct rb_err err = {0};
	size_t len = 0;
	CHECK(form_parse(URLENC, "a=x%00y&b=%00", 13, NULL, &f, &err) == RB_OK);
	const char *v = form_get(f, "a", &len);
	CHECK(v != NULL && len == 3 && memcmp(v, "x\0y", 4) == 0);
	v = form_get(f, "b", &len);
	CHECK(v != NULL && len == 1 && v[0] == '\0');
	form_free(f);

	static const char mp[] = "--XyZ\r\nContent-Disposition: form-data; name=d\r\n\r\n\0\r\n\r\0\r\n"
	                         "--XyZ--";
	CHECK(form_parse(MP, mp, sizeof mp - 1, NULL, &f, &err) == RB_OK);
	v = form_get(f, "d", &len);
	CHECK(v != NULL && len == 5 && memcmp(v, "\0\r\n\r\0", 5) == 0 && v[5] == 0);
	form_free(f);
}

static void content_type(void)
{
	enum form_type t;
	char b[71];
	struct rb_err err = {0};
	CHECK(form_content_type("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
	                        &t, b, sizeof b, &err) == RB_OK);
	CHECK(t == FORM_MULTIPART && strcmp(b, "----WebKitFormBoundary7MA4YWxkTrZu0gW") == 0);
	CHECK(form_content_type("multipart/form-data;boundary=\"q\\\"x\"", &t, b, sizeof b, &err) ==
	      RB_E_INPUT); /* '"' is not a boundary character */
	CHECK(form_content_type("multipart/form-data; boundary=\"a=b,c\"; x=\"y;z\"", &t, b, sizeof b,
	                        &err) == RB_OK && strcmp(b, "a=b,c") == 0);
	CHECK(form_content_type("multipart/form-data; boundary=a=b", &t, b, sizeof b, &err) == RB_OK &&
	      strcmp(b, "a=b") == 0);
	CHECK(form_content_type("multipart/form-data; boundary=abc;", &t, b, sizeof b, &err) ==
	      RB_OK && strcmp(b, "abc") == 0);
	CHECK(form_content_type(NULL, &t, b, sizeof b, &err) == RB_OK && t == FORM_URLENCODED);
	/* a 70-byte boundary is the longest */
	char ct[200];
	snprintf(ct, sizeof ct, "multipart/form-data; boundary=%070d", 7);
	CHECK(form_content_type(ct, &t, b, sizeof b, &err) == RB_OK && strlen(b) == 70);
}

static struct form_limits small_limits(void)
{
	struct form_limits l;
	form_limits_default(&l);
	l.max_body = 1000;
	l.max_name = 8;
	l.max_value = 4;
	l.max_fields = 3;
	l.max_pairs = 10;
	return l;
}

static void expect(const char *ct, const char *body, const struct form_limits *l,
                   enum rb_code want, const char *msg)
{
	struct form *f = NULL;
	struct rb_err err = {0};
	enum rb_code rc = form_parse(ct, body, strlen(body), l, &f, &err);
	CHECKF(rc == want, "%s: code %d want %d (%s)", body, rc, want, err.msg);
	if (msg != NULL)
		CHECKF(strstr(err.msg, msg) != NULL, "%s: message '%s' lacks '%s'", body, err.msg, msg);
	form_free(f);
}

#define MPART(name, value) "--XyZ\r\nContent-Disposition: form-data; name=\"" name "\"\r\n\r\n" value "\r\n"

static void caps(void)
{
	struct form_limits l = small_limits();
	expect(URLENC, "a=%41%41%41%41", &l, RB_OK, NULL); /* the cap is on decoded bytes */
	expect(URLENC, "a=12345", &l, RB_E_TOO_LARGE, "form field 'a' is over 4 bytes");
	expect(URLENC, "a=1&a=12345", &l, RB_E_TOO_LARGE, "over 4 bytes"); /* duplicates too */
	expect(URLENC, "abcdefgh=1", &l, RB_OK, NULL);
	expect(URLENC, "abcdefghi=1", &l, RB_E_TOO_LARGE, "name is over 8 bytes");
	expect(URLENC, "a=1&b=2&c=3&a=4", &l, RB_OK, NULL);
	expect(URLENC, "a=1&b=2&c=3&d=4", &l, RB_E_TOO_LARGE, "more than 3 distinct");
	expect(URLENC, "a&a&a&a&a&a&a&a&a&a", &l, RB_OK, NULL);
	expect(URLENC, "a&a&a&a&a&a&a&a&a&a&a", &l, RB_E_TOO_LARGE, "more than 10 form fields");
	expect(MP, MPART("a", "1234") "--XyZ--", &l, RB_OK, NULL);
	expect(MP, MPART("a", "12345") "--XyZ--", &l, RB_E_TOO_LARGE, "over 4 bytes");
	expect(MP, MPART("abcdefghi", "1") "--XyZ--", &l, RB_E_TOO_LARGE, "name is over 8 bytes");
	expect(MP, MPART("a", "") MPART("b", "") MPART("c", "") MPART("d", "") "--XyZ--", &l,
	       RB_E_TOO_LARGE, "more than 3 distinct");

	char body[1002];
	memset(body, 'a', sizeof body - 1);
	body[sizeof body - 1] = '\0';
	expect(URLENC, body, &l, RB_E_TOO_LARGE, "request body is over 1000 bytes");
	body[1000] = '\0';
	expect(URLENC, body, &l, RB_E_TOO_LARGE, "name is over 8 bytes");
}

/* 10,000 repeats of a field: accepted, the first value wins. */
static void repeats(void)
{
	size_t n = 10000;
	char *body = malloc(n * 16 + 64);
	CHECK(body != NULL);
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(body + o, 16, "data=%zu&", i);
	struct form *f;
	struct rb_err err = {0};
	CHECK(form_parse(URLENC, body, o, NULL, &f, &err) == RB_OK);
	size_t len;
	const char *v = form_get(f, "data", &len);
	CHECK(v != NULL && len == 1 && v[0] == '0' && form_count(f) == 1);
	form_free(f);

	/* the same as multipart */
	char *mp = malloc(n * 80 + 64);
	CHECK(mp != NULL);
	o = 0;
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(mp + o, 80, MPART("data", "%zu"), i);
	o += (size_t)snprintf(mp + o, 16, "--XyZ--");
	CHECK(form_parse(MP, mp, o, NULL, &f, &err) == RB_OK);
	v = form_get(f, "data", &len);
	CHECK(v != NULL && len == 1 && v[0] == '0' && form_count(f) == 1);
	form_free(f);

	/* a pair cap below the repeat count */
	struct form_limits l;
	form_limits_default(&l);
	l.max_pairs = 5000;
	CHECK(form_parse(MP, mp, o, &l, &f, &err) == RB_E_TOO_LARGE && f == NULL);
	free(mp);
	free(body);
}

/* Every prefix of a valid multipart body fails cleanly (no read past the end: ASan). */
static void truncations(void)
{
	static const char full[] = MPART("query", "eyJhIjoxfQ==") MPART("model", "dHJhZmZpYw==")
	        "--XyZ--\r\n";
	size_t len = sizeof full - 1;
	for (size_t cut = 0; cut <= len; cut++) {
		char *copy = malloc(cut ? cut : 1);
		CHECK(copy != NULL);
		memcpy(copy, full, cut);
		struct form *f = NULL;
		struct rb_err err = {0};
		enum rb_code rc = form_parse(MP, copy, cut, NULL, &f, &err);
		/* complete from the close delimiter's "--" on */
		size_t complete = len - 2;
		if (cut >= complete)
			CHECKF(rc == RB_OK && form_count(f) == 2, "cut %zu: %s", cut, err.msg);
		else
			CHECKF(rc == RB_E_INPUT && f == NULL, "cut %zu: code %d", cut, rc);
		form_free(f);
		free(copy);
	}
}

/* A 16 MiB body: one large field parses; a byte more is refused before any work. */
static void large(void)
{
	size_t max = (size_t)16 << 20;
	char *body = malloc(max + 1);
	CHECK(body != NULL);
	memcpy(body, "data=", 5);
	memset(body + 5, 'Q', max - 5);
	body[max] = 'Q';
	struct form *f;
	struct rb_err err = {0};
	CHECK(form_parse(URLENC, body, max, NULL, &f, &err) == RB_OK);
	size_t len;
	CHECK(form_get(f, "data", &len) != NULL && len == max - 5);
	form_free(f);
	CHECK(form_parse(URLENC, body, max + 1, NULL, &f, &err) == RB_E_TOO_LARGE);
	/* carriage returns everywhere do not make the boundary search slow or wrong */
	memset(body, '\r', max);
	CHECK(form_parse(MP, body, max, NULL, &f, &err) == RB_E_INPUT);
	free(body);
}

int main(void)
{
	run_cases();
	values_with_nul();
	content_type();
	caps();
	repeats();
	truncations();
	large();
	return 0;
}
