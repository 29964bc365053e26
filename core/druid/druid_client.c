/*
 * druid_client: POST a query to the Druid broker over one persistent libcurl
 * easy handle and return the answer body, or an error mapped to our codes.
 * The contract (keep-alive, timeouts, cap, error mapping) is in druid.h and
 * docs/DRUID.md.
 *
 * Not here: sockets of our own, threads, retries (curl itself retries once
 * when a reused keep-alive connection turns out to be dead), query building
 * or answer parsing. Every curl status is wrapped once: CURL_TRY for the
 * calls that only fail on a programming or library problem, map_curl() for
 * the transfer itself.
 */
#include "rb/druid/druid_client.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "druid_private.h"
#include "rb/base/assert.h"

/* Longest part of Druid's errorMessage quoted back to the client. */
#define DRUID_ERRMSG_MAX 160
/* Error bodies larger than this are not parsed for an errorMessage. */
#define DRUID_ERRBODY_PARSE_MAX ((size_t)64 << 10)
/* First allocation of the answer buffer; it doubles up to the cap. */
#define DRUID_BUF_FIRST ((size_t)16 << 10)
/*
 * libcurl's receive buffer (CURLOPT_BUFFERSIZE; its default is 16 KiB): one recv() and one
 * on_data() call per buffer. A week of one-minute history is a 0.7 MB answer: 16 KiB took
 * ~43 recv + ~47 poll calls per request, 256 KiB takes a few.
 */
#define DRUID_RECV_BUFFER (256L << 10)

struct answer_buf {
	char *p;      /* NULL until the first byte; cap + 1 bytes (room for the NUL) */
	size_t len;   /* bytes received */
	size_t cap;   /* bytes p can hold, excluding the NUL */
	size_t max;   /* hard cap on len */
	int over;     /* the answer went past max; the transfer was aborted */
	int nomem;    /* growing failed; the transfer was aborted */
	CURL *curl;   /* the transfer's handle (the answer's Content-Length) */
};

struct druid {
	CURL *curl;
	struct curl_slist *headers;
	char endpoint[300];       /* "host:port" */
	long connect_timeout_ms;
	long timeout_ms;
	struct answer_buf buf;
	struct druid_stats stats;
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash != NULL ? slash + 1 : path;
}

/* Wraps a curl call that returns CURLcode: on failure sets rc and err (naming the call) and jumps to fail. */
#define CURL_TRY(call)                                                                     \
	do {                                                                               \
		CURLcode curl_try_rc_ = (call);                                            \
		if (curl_try_rc_ != CURLE_OK) {                                            \
			rc = rb_err_set(err, RB_E_INTERNAL, "%s:%d: %s: %s",               \
			                base_name(__FILE__), __LINE__, #call,              \
			                curl_easy_strerror(curl_try_rc_));                 \
			goto fail;                                                         \
		}                                                                          \
	} while (0)

enum rb_code druid_global_init(struct rb_err *err)
{
	CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (c != CURLE_OK)
		return rb_err_set(err, RB_E_INTERNAL, "curl_global_init: %s", curl_easy_strerror(c));
	return RB_OK;
}

void druid_global_cleanup(void) { curl_global_cleanup(); }

/* CURLOPT_WRITEFUNCTION: appends to the answer buffer, aborting past its cap. */
static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct answer_buf *b = userdata;
	size_t n = size * nmemb; /* size is always 1 */
	if (n > b->max - b->len) {
		b->over = 1;
		return 0;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : DRUID_BUF_FIRST;
		/* The first bytes: room for the whole answer at once when its length is known
		 * (no regrowing, no copies); a wrong Content-Length only costs a regrow. */
#if LIBCURL_VERSION_NUM >= 0x073700 /* CURLINFO_CONTENT_LENGTH_DOWNLOAD_T: 7.55.0 */
		curl_off_t clen = -1;
		if (b->cap == 0 &&
		    curl_easy_getinfo(b->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen) == CURLE_OK &&
		    clen > 0 && (uint64_t)clen <= (uint64_t)b->max && (size_t)clen > cap)
			cap = (size_t)clen;
#endif
		while (cap < b->len + n)
			cap = cap > b->max / 2 ? b->max : cap * 2;
		if (cap > b->max)
			cap = b->max;
		char *p = realloc(b->p, cap + 1);
		if (p == NULL) {
			b->nomem = 1;
			return 0;
		}
		b->p = p;
		b->cap = cap;
	}
	RB_ASSERT(b->len + n <= b->cap && b->cap <= b->max);
	memcpy(b->p + b->len, ptr, n);
	b->len += n;
	return n;
}

static void buf_reset(struct answer_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->over = b->nomem = 0;
}

/* Sets d->endpoint to host:port of url; RB_E_CONFIG unless http(s) with a host. */
static enum rb_code parse_endpoint(struct druid *d, const char *url, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	char *scheme = NULL, *host = NULL, *port = NULL;
	CURLU *u = curl_url();
	if (u == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	/* The URL may hold credentials: it is never quoted in a message. */
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		rc = rb_err_set(err, RB_E_CONFIG,
		                "the Druid broker URL is not a valid URL "
		                "(expected e.g. http://druid-broker.service:8082/druid/v2/)");
	} else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		rc = rb_err_set(err, RB_E_CONFIG, "the Druid broker URL must be http or https");
	} else if (host[0] == '\0') {
		rc = rb_err_set(err, RB_E_CONFIG, "the Druid broker URL has no host");
	} else {
		int n = snprintf(d->endpoint, sizeof d->endpoint, "%s:%s", host, port);
		if (n < 0 || (size_t)n >= sizeof d->endpoint)
			rc = rb_err_set(err, RB_E_CONFIG, "the Druid broker host name is too long");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

enum rb_code druid_new(struct druid **out, const struct druid_opts *opts, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	*out = NULL;
	if (opts == NULL || opts->url == NULL || opts->url[0] == '\0')
		return rb_err_set(err, RB_E_CONFIG, "no Druid broker URL configured");
	if (opts->connect_timeout_ms < 0 || opts->timeout_ms < 0)
		return rb_err_set(err, RB_E_CONFIG, "Druid timeouts must not be negative");

	struct druid *d = calloc(1, sizeof *d);
	if (d == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	d->connect_timeout_ms =
		opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : DRUID_DEFAULT_CONNECT_TIMEOUT_MS;
	d->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DRUID_DEFAULT_TIMEOUT_MS;
	d->buf.max = opts->max_response_bytes > 0 ? opts->max_response_bytes
	                                          : DRUID_DEFAULT_MAX_RESPONSE_BYTES;
	if (d->connect_timeout_ms > d->timeout_ms) {
		rc = rb_err_set(err, RB_E_CONFIG,
		                "the Druid connect timeout (%ld ms) is longer than the total timeout "
		                "(%ld ms)",
		                d->connect_timeout_ms, d->timeout_ms);
		goto fail;
	}
	rc = parse_endpoint(d, opts->url, err);
	if (rc != RB_OK)
		goto fail;

	const char *hdrs[] = {"Content-Type: application/json", "Accept: application/json",
	                      "Expect:" /* no 100-continue round trip for large queries */};
	for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
		struct curl_slist *l = curl_slist_append(d->headers, hdrs[i]);
		if (l == NULL) {
			rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
			goto fail;
		}
		d->headers = l;
	}
	d->curl = curl_easy_init();
	if (d->curl == NULL) {
		rc = rb_err_set(err, RB_E_INTERNAL, "curl_easy_init failed");
		goto fail;
	}
	CURL *c = d->curl;
	d->buf.curl = c;
	CURL_TRY(curl_easy_setopt(c, CURLOPT_URL, opts->url));
#if LIBCURL_VERSION_NUM >= 0x075500
	CURL_TRY(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https"));
#else
	CURL_TRY(curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)));
#endif
	CURL_TRY(curl_easy_setopt(c, CURLOPT_PROXY, "")); /* the broker is reached directly, whatever http_proxy says */
	CURL_TRY(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, d->connect_timeout_ms));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, d->timeout_ms));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_HTTPHEADER, d->headers));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_USERAGENT,
	                          opts->user_agent != NULL ? opts->user_agent : DRUID_DEFAULT_USER_AGENT));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_POST, 1L));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_BUFFERSIZE, DRUID_RECV_BUFFER));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data));
	CURL_TRY(curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)&d->buf));
	/* Refuses at once an answer whose Content-Length is over the cap; on_data enforces it otherwise. */
	curl_off_t max_file = d->buf.max > (size_t)INT64_MAX ? INT64_MAX : (curl_off_t)d->buf.max;
	CURL_TRY(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, max_file));
	*out = d;
	return RB_OK;
fail:
	druid_free(d);
	return rc;
}

/*
 * Druid's own explanation in an error body ({"errorMessage": ...}, else
 * {"error": ...}), cleaned into dst; "" when the body is not a Druid error.
 */
static void druid_error_text(char *dst, size_t cap, const char *body, size_t len)
{
	dst[0] = '\0';
	if (body == NULL || len == 0 || len > DRUID_ERRBODY_PARSE_MAX)
		return;
	json_t *j = json_loadb(body, len, 0, NULL); /* new */
	if (j == NULL)
		return;
	const json_t *m = json_object_get(j, "errorMessage");
	if (!json_is_string(m) || json_string_length(m) == 0)
		m = json_object_get(j, "error");
	if (json_is_string(m))
		druid_clean_text(dst, cap, json_string_value(m), json_string_length(m));
	json_decref(j);
}

static enum rb_code map_status(struct druid *d, long status, struct rb_err *err)
{
	char why[DRUID_ERRMSG_MAX + 1];
	druid_error_text(why, sizeof why, d->buf.p, d->buf.len);
	const char *sep = why[0] != '\0' ? ": " : "";
	if (status == 400)
		return rb_err_set(err, RB_E_INPUT, "Druid rejected the query (HTTP 400)%s%s", sep, why);
	if (status == 504)
		return rb_err_set(err, RB_E_TIMEOUT, "Druid timed out running the query (HTTP 504)%s%s",
		                  sep, why);
	return rb_err_set(err, RB_E_UPSTREAM, "Druid broker at %s answered HTTP %ld%s%s", d->endpoint,
	                  status, sep, why);
}

static enum druid_outcome outcome_of_curl(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return DRUID_OUTCOME_TIMEOUT;
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
		return DRUID_OUTCOME_BAD_ANSWER;
	default:
		return DRUID_OUTCOME_CONNECT;
	}
}

static enum rb_code map_curl(struct druid *d, CURLcode c, struct rb_err *err)
{
	d->stats.last = outcome_of_curl(c);
	switch (c) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return rb_err_set(err, RB_E_UPSTREAM,
		                  "Druid broker unreachable at %s (host name not found)", d->endpoint);
	case CURLE_COULDNT_CONNECT: {
		long os = 0;
		curl_easy_getinfo(d->curl, CURLINFO_OS_ERRNO, &os);
		return rb_err_set(err, RB_E_UPSTREAM, "Druid broker unreachable at %s (%s)",
		                  d->endpoint, os != 0 ? strerror((int)os) : "cannot connect");
	}
	case CURLE_OPERATION_TIMEDOUT: {
		curl_off_t pre = 0;
		curl_easy_getinfo(d->curl, CURLINFO_PRETRANSFER_TIME_T, &pre);
		if (pre == 0)
			return rb_err_set(err, RB_E_TIMEOUT,
			                  "Druid broker at %s did not accept a connection within %ld ms",
			                  d->endpoint, d->connect_timeout_ms);
		return rb_err_set(err, RB_E_TIMEOUT, "Druid did not answer within %ld ms",
		                  d->timeout_ms);
	}
	case CURLE_FILESIZE_EXCEEDED:
		return rb_err_set(err, RB_E_UPSTREAM, "Druid answer larger than %zu bytes", d->buf.max);
	case CURLE_WRITE_ERROR:
		if (d->buf.over)
			return rb_err_set(err, RB_E_UPSTREAM, "Druid answer larger than %zu bytes",
			                  d->buf.max);
		if (d->buf.nomem)
			return rb_err_set(err, RB_E_NOMEM, "out of memory reading the Druid answer");
		break;
	case CURLE_GOT_NOTHING:
		return rb_err_set(err, RB_E_UPSTREAM,
		                  "Druid broker at %s closed the connection without answering",
		                  d->endpoint);
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return rb_err_set(err, RB_E_UPSTREAM,
		                  "the connection to the Druid broker at %s broke mid-request (%s)",
		                  d->endpoint, curl_easy_strerror(c));
	case CURLE_OUT_OF_MEMORY:
		return rb_err_set(err, RB_E_NOMEM, "out of memory talking to Druid");
	default:
		break;
	}
	return rb_err_set(err, RB_E_UPSTREAM, "request to the Druid broker at %s failed (%s)",
	                  d->endpoint, curl_easy_strerror(c));
}

enum rb_code druid_query(struct druid *d, const char *body, size_t len, char **answer,
                         size_t *answer_len, struct rb_err *err)
{
	enum rb_code rc = RB_OK;
	*answer = NULL;
	*answer_len = 0;
	buf_reset(&d->buf);
	CURL_TRY(curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, body));
	CURL_TRY(curl_easy_setopt(d->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len));

	d->stats.requests++;
	d->stats.last = DRUID_OUTCOME_CONNECT; /* until known better (a failed curl_easy_getinfo) */
	CURLcode c = curl_easy_perform(d->curl);
	long nconn = 0;
	if (curl_easy_getinfo(d->curl, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK && nconn > 0)
		d->stats.connects += (unsigned long)nconn;
	if (c != CURLE_OK) {
		rc = map_curl(d, c, err);
		goto fail;
	}
	long status = 0;
	CURL_TRY(curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status));
	if (status != 200) {
		d->stats.last = DRUID_OUTCOME_HTTP_ERROR;
		rc = map_status(d, status, err);
		goto fail;
	}
	if (d->buf.p == NULL) {
		/* An empty 200 answer: still a NUL-terminated string. */
		d->buf.p = malloc(1);
		if (d->buf.p == NULL) {
			rc = rb_err_set(err, RB_E_NOMEM, "out of memory");
			goto fail;
		}
	}
	d->buf.p[d->buf.len] = '\0';
	d->stats.last = DRUID_OUTCOME_OK;
	*answer = d->buf.p;
	*answer_len = d->buf.len;
	d->buf.p = NULL;
	buf_reset(&d->buf);
	return RB_OK;
fail:
	buf_reset(&d->buf);
	return rc;
}

const char *druid_endpoint(const struct druid *d) { return d->endpoint; }

void druid_get_stats(const struct druid *d, struct druid_stats *st) { *st = d->stats; }

void druid_free(struct druid *d)
{
	if (d == NULL)
		return;
	if (d->curl != NULL)
		curl_easy_cleanup(d->curl);
	curl_slist_free_all(d->headers);
	buf_reset(&d->buf);
	free(d);
}
