/*
 * response_ref: the Jansson-built reference of response_success() and
 * response_error() (include/rb/answer/response.h), kept as the test oracle for the
 * direct writer in core/answer/response.c. Private to core/, tests and bench/: the
 * service never calls these.
 */
#ifndef RB_RESPONSE_REF_H
#define RB_RESPONSE_REF_H

#include "rb/answer/response.h"

/* Same contract and bytes as response_success(), built as a json_t tree. NULL on NOMEM or invalid UTF-8. */
char *response_success_reference(const struct series *s, const struct detection *d);

/* Same contract and bytes as response_error(), built as a json_t tree. */
char *response_error_reference(const char *msg);

#endif
