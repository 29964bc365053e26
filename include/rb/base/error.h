/*
 * rb_error: the closed set of failure codes used by every module, the
 * caller-owned error buffer they fill, and the HTTP status each code maps to.
 *
 * Two failure classes (CONVENTIONS 7): a programmer error is an assert(); bad
 * input, a bad model file or an upstream failure is one of these codes, with a
 * message a user can act on (never a path, pointer or stack data when the
 * message is meant for an HTTP client).
 */
#ifndef RB_ERROR_H
#define RB_ERROR_H

#include <stddef.h>

enum rb_code {
	RB_OK = 0,        /* success */
	RB_E_NOMEM,       /* an allocation failed (500) */
	RB_E_INPUT,       /* the caller's input is malformed or unusable (400) */
	RB_E_TOO_LARGE,   /* the input is over a size, row or depth cap (413) */
	RB_E_NOT_FOUND,   /* no such route or resource (404) */
	RB_E_METHOD,      /* the route exists, not with this method (405) */
	RB_E_MODEL,       /* a model file is missing, corrupt or unsupported (500) */
	RB_E_CONFIG,      /* a configuration file or value is invalid (startup) */
	RB_E_UPSTREAM,    /* Druid failed or answered something unusable (502) */
	RB_E_TIMEOUT,     /* Druid did not answer in time (504) */
	RB_E_INTERNAL,    /* a library call failed for no fault of the input (500) */
	RB_CODE_COUNT
};

/* Caller-owned error buffer; every function that can fail takes one (may be NULL). */
struct rb_err {
	enum rb_code code;
	char msg[256];
};

/* Fills err (ignored when NULL) with code and a printf-formatted message; returns code. */
enum rb_code rb_err_set(struct rb_err *err, enum rb_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes err->msg with "prefix: " (context added by a caller); keeps the code. */
void rb_err_prefix(struct rb_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Short fixed description of a code ("input too large"); never NULL. */
const char *rb_strerror(enum rb_code code);

/* HTTP status for a code: 400, 404, 405, 413, 500, 502, 504 (200 for RB_OK). */
int rb_http_status(enum rb_code code);

#endif
