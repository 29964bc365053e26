/*
 * civil: proleptic Gregorian calendar arithmetic on UTC day counts, and the
 * one writer of an instant in Druid's form. Shared by the instant reader
 * (core/input/instant.c), the history rewrite of a Druid query
 * (core/druid/druid_query.c) and the answer's events (core/detect/events.c).
 * Not a parser and not time zones: callers apply offsets themselves.
 */
#ifndef RB_INPUT_CIVIL_H
#define RB_INPUT_CIVIL_H

#include <stddef.h>
#include <stdint.h>

/* Longest civil_format_ms text plus its NUL ("-292277026-..." cannot occur for |ms| < 9e15). */
#define CIVIL_INSTANT_CAP 32

/* 1 when y is a leap year. */
int civil_is_leap(int64_t y);
/* Days of month m (1-12) in year y. */
int civil_days_in_month(int64_t y, int m);
/* Days from 1970-01-01 to y-m-d (negative before); m 1-12, d 1-31. */
int64_t civil_days_from_date(int64_t y, int m, int d);
/* The inverse of civil_days_from_date: year, month (1-12), day (1-31) of day z. */
void civil_date_from_days(int64_t z, int64_t *y, int *m, int *d);

/*
 * Writes ms (milliseconds since the epoch, |ms| < 9e15) as
 * "YYYY-MM-DDThh:mm:ss.mmmZ" into buf[cap] (always terminated when cap > 0);
 * returns the length of the full text (as snprintf does).
 */
size_t civil_format_ms(int64_t ms, char *buf, size_t cap);

#endif
