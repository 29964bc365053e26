/*
 * response: the JSON bodies the service answers (CONTRACT §1), built from a
 * parsed series and the detection of one of its metrics; written by
 * core/answer/response.c. Not the HTTP layer (status codes, headers: fcgi/)
 * and not the detection itself (include/rb/detect/detection.h).
 */
#ifndef RB_ANSWER_RESPONSE_H
#define RB_ANSWER_RESPONSE_H

#include "rb/detect/detection.h"
#include "rb/input/series.h"

/*
 * The success body of CONTRACT §1 as a new NUL-terminated string (malloc'd,
 * caller frees): status, anomalies (timestamp, expected, value, score),
 * predicted (timestamp, forecast), model, metric, threshold, then events
 * (start, end, kind, peak_timestamp, peak_score, rows: the list of
 * include/rb/detect/events.h, at most EVENTS_MAX, and "events_truncated":true
 * only when there were more). NULL on NOMEM. Non-finite numbers never appear
 * (a missing observed value is null).
 */
char *response_success(const struct series *s, const struct detection *d);

/* The error body {"status":"error","msg":...} as a new string (caller frees). */
char *response_error(const char *msg);

#endif
