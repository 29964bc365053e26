/*
 * worker: the FastCGI accept loop of one worker process (libfcgi). It reads
 * the request's parameters and body (capped), hands them to the app and
 * writes the answer with Status, Content-Type, Content-Length and
 * X-Request-Id. It stops between requests when the pool asks it to; a stop
 * never cuts a request in flight. Not the routes or the detection (app.c).
 */
#include "worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"

/* Past the cap the body is still read and discarded up to this factor, so the web server
 * is not cut off mid-write and the client gets our 413 rather than a 502. */
#define WORKER_DRAIN_FACTOR 4

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Parses CONTENT_LENGTH: -1 when absent or not a plain decimal number. */
static long long content_length(const char *text)
{
	if (text == NULL || *text == '\0')
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || end == text)
		return -1;
	return v;
}

/* Reads exactly len bytes of the body into a new buffer; NULL when the stream ends early. */
static char *read_body(FCGX_Stream *in, size_t len)
{
	char *buf = malloc(len + 1);
	if (buf == NULL)
		return NULL;
	size_t got = 0;
	while (got < len) {
		size_t want = len - got > (1u << 20) ? (1u << 20) : len - got;
		int n = FCGX_GetStr(buf + got, (int)want, in);
		if (n <= 0) {
			free(buf);
			return NULL;
		}
		got += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

static void drain(FCGX_Stream *in, unsigned long long limit)
{
	char sink[16384];
	unsigned long long seen = 0;
	int n;
	while (seen < limit && (n = FCGX_GetStr(sink, sizeof sink, in)) > 0)
		seen += (unsigned long long)n;
}

/* Headers are formatted with snprintf: libfcgi's own FCGX_FPrintF lacks C99 length modifiers. */
static void send_response(FCGX_Request *fr, const struct app_response *res, const char *rid)
{
	char head[512];
	int n = snprintf(head, sizeof head,
	                 "Status: %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	                 "X-Request-Id: %s\r\nCache-Control: no-store\r\n%s%s%s\r\n",
	                 res->status, status_text(res->status), res->body_len, rid,
	                 res->allow != NULL ? "Allow: " : "", res->allow != NULL ? res->allow : "",
	                 res->allow != NULL ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof head)
		n = 0;
	FCGX_PutStr(head, n, fr->out);
	if (res->body_len > 0)
		FCGX_PutStr(res->body, (int)res->body_len, fr->out);
}

static void serve_one(FCGX_Request *fr, struct app *app, const struct rb_config *cfg,
                      const char *rid)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const char *method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
	const char *uri = FCGX_GetParam("REQUEST_URI", fr->envp);
	if (uri == NULL)
		uri = FCGX_GetParam("SCRIPT_NAME", fr->envp);
	const char *ctype = FCGX_GetParam("CONTENT_TYPE", fr->envp);
	long long clen = content_length(FCGX_GetParam("CONTENT_LENGTH", fr->envp));

	struct app_request req = {method != NULL ? method : "", uri != NULL ? uri : "/", ctype,
	                          NULL, 0, rid};
	struct app_response res;
	memset(&res, 0, sizeof res);
	char *body = NULL;
	if (clen > 0 && (unsigned long long)clen > cfg->max_body_bytes) {
		drain(fr->in, cfg->max_body_bytes * WORKER_DRAIN_FACTOR);
		app_too_large(app, (size_t)clen, &res);
	} else {
		if (clen > 0) {
			body = read_body(fr->in, (size_t)clen);
			if (body == NULL) {
				log_msg(LOG_LVL_WARN, rid, "request body ended before CONTENT_LENGTH %lld",
				        clen);
				FCGX_SetExitStatus(1, fr->out);
				return; /* the client went away: nothing to answer */
			}
		}
		req.body = body;
		req.body_len = clen > 0 ? (size_t)clen : 0;
		app_handle(app, &req, &res);
	}
	send_response(fr, &res, rid);
	log_msg(res.status >= 500 ? LOG_LVL_WARN : LOG_LVL_INFO, rid, "%s %s %d %zu bytes %.1f ms%s%s",
	        req.method, req.uri, res.status, res.body_len, elapsed_ms(&t0),
	        res.model[0] != '\0' ? " model=" : "", res.model);
	app_response_release(&res);
	free(body);
}

int worker_serve(int listen_fd, struct app *app, const struct rb_config *cfg,
                 const struct pool_worker_env *env)
{
	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return 1;
	}
	FCGX_Request fr;
	if (FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("FCGX_InitRequest failed");
		return 1;
	}
	uint64_t seq = 0;
	int status = 0;
	for (;;) {
		pool_wait_begin();
		if (pool_stop_requested()) {
			pool_wait_end();
			break;
		}
		int rc = FCGX_Accept_r(&fr);
		int saved = errno;
		pool_wait_end();
		if (rc < 0) {
			if (pool_stop_requested())
				break;
			if (saved == EINTR)
				continue;
			log_error("FastCGI accept failed: %s", strerror(saved));
			status = 1;
			break;
		}
		char rid[40];
		snprintf(rid, sizeof rid, "%ld-%llu", (long)getpid(), (unsigned long long)++seq);
		if (env != NULL)
			pool_request_begin(env);
		serve_one(&fr, app, cfg, rid);
		FCGX_Finish_r(&fr);
		if (env != NULL)
			pool_request_end(env);
	}
	FCGX_Free(&fr, 0);
	return status;
}
