/*
 * druid: the HTTP client of the Druid broker. One persistent libcurl easy
 * handle per worker: keep-alive (the connection is reused from request to
 * request), TCP_NODELAY, no signals, JSON content type, connect and total
 * timeouts, and a hard cap on the answer's size.
 *
 * Not here: building the query (druid_query.h) or reading the answer
 * (series.h); a 200 answer is returned as received, even if it is not JSON.
 * Error mapping (docs/DRUID.md): unreachable broker -> RB_E_UPSTREAM (502);
 * no answer in time -> RB_E_TIMEOUT (504); answer over the cap -> RB_E_UPSTREAM;
 * Druid HTTP 400 (Druid rejected the query the client wrote) -> RB_E_INPUT (400);
 * Druid 504 (its own query timeout) -> RB_E_TIMEOUT; any other status ->
 * RB_E_UPSTREAM. Messages carry the broker's host:port, never the URL's path
 * or credentials, and Druid's errorMessage cleaned and truncated.
 *
 * Process model: druid_global_init() once in the master before any fork;
 * druid_new() in each worker after fork (never share a handle across
 * processes or threads). With CURLOPT_NOSIGNAL libcurl does not ignore
 * SIGPIPE for us: a worker ignores SIGPIPE itself (an https broker could
 * otherwise kill it on a reset connection).
 */
#ifndef RB_DRUID_H
#define RB_DRUID_H

#include <stddef.h>

#include "rb/base/error.h"

/* Defaults used when a field of druid_opts is 0 or NULL. */
#define DRUID_DEFAULT_CONNECT_TIMEOUT_MS 2000L
#define DRUID_DEFAULT_TIMEOUT_MS 60000L
#define DRUID_DEFAULT_MAX_RESPONSE_BYTES ((size_t)64 << 20) /* = series_parse's default cap */
#define DRUID_DEFAULT_USER_AGENT "rb-aioutliers"

struct druid_opts {
	const char *url;           /* broker endpoint, http(s), e.g. http://druid-broker.service:8082/druid/v2/ */
	long connect_timeout_ms;   /* TCP (and TLS) connect; 0 = default */
	long timeout_ms;           /* whole request, connect included; 0 = default */
	size_t max_response_bytes; /* answer body cap; 0 = default */
	const char *user_agent;    /* NULL = default */
};

/* How the last druid_query() of a handle ended (for the caller's metrics). */
enum druid_outcome {
	DRUID_OUTCOME_NONE = 0,   /* no query yet */
	DRUID_OUTCOME_OK,         /* HTTP 200 (the caller may still find the answer bad) */
	DRUID_OUTCOME_HTTP_ERROR, /* Druid answered a status other than 200 */
	DRUID_OUTCOME_TIMEOUT,    /* no connection or no answer in time */
	DRUID_OUTCOME_CONNECT,    /* host not found, refused, send failed, other curl errors */
	DRUID_OUTCOME_BAD_ANSWER, /* answer over the cap, cut short or empty connection */
};

/* Counters of one handle since druid_new(). */
struct druid_stats {
	unsigned long requests; /* druid_query() calls that reached curl */
	unsigned long connects; /* new connections opened (a reused one counts 0) */
	enum druid_outcome last; /* how the last druid_query() ended */
};

struct druid;

/*
 * curl_global_init, once per process, in the master before fork (it is not
 * thread-safe and must precede any druid_new). RB_E_INTERNAL on failure.
 */
enum rb_code druid_global_init(struct rb_err *err);
/* curl_global_cleanup, once at master exit, after every druid_free. */
void druid_global_cleanup(void);

/*
 * Creates the client and its curl handle (no connection is made yet).
 * RB_E_CONFIG for a URL that is not http(s)://host[:port]/..., a negative
 * timeout or a connect timeout longer than the total; RB_E_INTERNAL when
 * libcurl refuses an option (message names the call).
 */
enum rb_code druid_new(struct druid **out, const struct druid_opts *opts, struct rb_err *err);

/*
 * POSTs body (len bytes of JSON) and, on HTTP 200, sets *answer to the
 * answer body (malloc'd, NUL-terminated, caller frees) of *answer_len bytes
 * (at most max_response_bytes). On failure *answer is NULL, *answer_len 0,
 * and err is set as described above.
 */
enum rb_code druid_query(struct druid *d, const char *body, size_t len, char **answer,
                         size_t *answer_len, struct rb_err *err);

/* "host:port" of the broker, for logs and messages; owned by d. */
const char *druid_endpoint(const struct druid *d);

/* Copies the counters of d into *st. */
void druid_get_stats(const struct druid *d, struct druid_stats *st);

/* Frees the handle and closes its connection; NULL is a no-op. */
void druid_free(struct druid *d);

#endif
