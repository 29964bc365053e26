/*
 * druid_private: internals shared by core/druid/druid_query.c and
 * core/druid/druid_client.c (and their tests); not part of any public header.
 */
#ifndef RB_DRUID_PRIVATE_H
#define RB_DRUID_PRIVATE_H

#include <stddef.h>

/*
 * Copies len bytes of untrusted text (a user's granularity, Druid's error
 * message) into dst[cap] as something safe to put in an error message meant
 * for a client: printable ASCII only (other bytes become '?'), runs of
 * whitespace and control characters collapsed to one space, leading and
 * trailing spaces dropped, and "..." at the end when it had to be cut.
 * dst is always NUL-terminated when cap > 0.
 */
void druid_clean_text(char *dst, size_t cap, const char *src, size_t len);

#endif
