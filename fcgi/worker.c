/*
 * worker: the FastCGI accept loop of one worker process (libfcgi). It reads
 * the request's parameters and body (capped), hands them to the app and
 * writes the answer with Status, Content-Type, Content-Length and
 * X-Request-Id. It stops between requests when the pool asks it to; a stop
 * never cuts a request in flight. Per request it makes no system call of its
 * own beyond the pool's signal mask pair and the log line's write: the pid is
 * read once, the body buffer is kept from one request to the next (up to the
 * trim rule). Not the routes or the detection (app.c).
 *
 * Closing a connection: libfcgi closes with shutdown(SHUT_WR), then reads and
 * discards until the web server closes its end, each wait bounded by
 * LIBFCGI_OS_CLOSE_POLL_TIMEOUT ms (libfcgi's default 2000). A request whose
 * input was read to its end has nothing left to discard, and that wait only
 * ties the worker to the web server's scheduling (measured: 1-hour model
 * requests 5.7k -> 8.1k req/s through lighttpd, docs/BENCHMARKS.md), so a
 * worker sets it to 0 (unless the environment sets it) and closes at once, after
 * reading every request's input to its end. An answer sent with input left
 * unread (past the drain limit) waits itself (linger_until_closed), so that the
 * client gets the answer and not a reset.
 */
#include "rb/fcgi/worker.h"

#include <errno.h>
#include <fcgiapp.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rb/fcgi/log.h"
#include "rb/fcgi/pool.h"
#include "rb/fcgi/route.h"

/* Past the cap the body is still read and discarded up to this factor, so the web server
 * is not cut off mid-write and the client gets our 413 rather than a 502. */
#define WORKER_DRAIN_FACTOR 4

/* After an answer sent with input still unread (a 413 past the drain limit): how long the
 * worker waits for the web server to close the connection, discarding what it still sends
 * (libfcgi's own default wait). */
#define WORKER_LINGER_MS 2000

/* After a request whose body or answer was at least this big, the worker hands the freed
 * heap back to the system (malloc_trim) instead of keeping its peak for its whole life. */
#define WORKER_TRIM_BYTES ((size_t)4 << 20)

/*
 * glibc's allocator in a worker (mallopt at the start of worker_serve). By default an
 * allocation of 128 KiB or more is a fresh mmap, and the threshold then adapts upwards
 * as such blocks are freed, with the heap's free top handed back above twice it: a
 * request that allocates a few MiB in blocks of a few hundred KiB (a Druid answer with
 * P7D of history: a 0.7 MB body, the parsed rows, the detector's arrays) then faults its
 * pages in afresh every time (~580 minor faults and ~2 ms of CPU per 1-hour request with
 * history, bench/bench_history, docs/DRUID.md "History"). Fixed thresholds keep a free top
 * of up to WORKER_KEEP_BYTES for the next request, and serve blocks under
 * WORKER_MMAP_BYTES from the heap; larger ones are still mmapped and unmapped at free.
 * What a worker keeps is bounded by WORKER_KEEP_BYTES of free heap beyond its live data
 * (and release_peak still trims after big bodies and answers).
 */
#define WORKER_MMAP_BYTES (8 << 20)
#define WORKER_KEEP_BYTES (16 << 20)

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

/* What one worker process keeps from request to request. */
struct worker_state {
	long pid;       /* getpid() once, after the fork that made this worker */
	uint64_t seq;   /* requests accepted so far */
	char *body;     /* the body buffer, body_cap bytes (NULL, 0 before the first body) */
	size_t body_cap;
};

/*
 * Reads exactly len bytes of the body into the worker's buffer (grown to
 * len + 1 when smaller; len is at most max_body_bytes), NUL-terminated;
 * NULL when the stream ends early or memory runs out.
 */
static char *read_body(struct worker_state *ws, FCGX_Stream *in, size_t len)
{
	if (ws->body_cap < len + 1) {
		free(ws->body); /* nothing in it to keep: no realloc copy */
		ws->body = malloc(len + 1);
		ws->body_cap = ws->body != NULL ? len + 1 : 0;
		if (ws->body == NULL)
			return NULL;
	}
	char *buf = ws->body;
	size_t got = 0;
	while (got < len) {
		size_t want = len - got > (1u << 20) ? (1u << 20) : len - got;
		int n = FCGX_GetStr(buf + got, (int)want, in);
		if (n <= 0)
			return NULL;
		got += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/* Reads and discards the body up to limit bytes: 1 when it reached the body's end. */
static int drain(FCGX_Stream *in, unsigned long long limit)
{
	char sink[16384];
	unsigned long long seen = 0;
	int n = 1;
	while (seen < limit && (n = FCGX_GetStr(sink, sizeof sink, in)) > 0)
		seen += (unsigned long long)n;
	return n <= 0;
}

/*
 * For an answer sent before the input was read to its end: completes the answer
 * (FCGI_END_REQUEST), half-closes, then discards what the web server still sends until
 * it closes or WORKER_LINGER_MS pass. Without this the close could reset the connection
 * before the web server has read the answer. A kept (FCGI_KEEP_CONN) connection is left
 * to libfcgi.
 */
static void linger_until_closed(FCGX_Request *fr)
{
	if (fr->keepConnection)
		return;
	FCGX_FClose(fr->err);
	FCGX_FClose(fr->out);
	if (shutdown(fr->ipcFd, SHUT_WR) != 0)
		return;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char sink[16384];
	for (;;) {
		double left = WORKER_LINGER_MS - elapsed_ms(&t0);
		if (left <= 0)
			return;
		struct pollfd pfd = {fr->ipcFd, POLLIN, 0};
		int rc = poll(&pfd, 1, (int)left + 1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0 || read(fr->ipcFd, sink, sizeof sink) <= 0)
			return;
	}
}

static void send_response(FCGX_Request *fr, const struct app_response *res, const char *rid)
{
	char head[512];
	size_t n = app_response_head(res, rid, head, sizeof head);
	FCGX_PutStr(head, (int)n, fr->out);
	if (res->body_len > 0)
		FCGX_PutStr(res->body, (int)res->body_len, fr->out);
}

/*
 * Serves one accepted request and returns the larger of the body read and
 * the answer sent, in bytes (0 when nothing was read).
 */
static size_t serve_one(FCGX_Request *fr, struct app *app, const struct rb_config *cfg,
                        struct worker_state *ws, const char *rid)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const char *method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
	const char *uri = route_request_path(FCGX_GetParam("REQUEST_URI", fr->envp),
	                                     FCGX_GetParam("SCRIPT_NAME", fr->envp),
	                                     FCGX_GetParam("PATH_INFO", fr->envp));
	const char *ctype = FCGX_GetParam("CONTENT_TYPE", fr->envp);
	long long clen = content_length(FCGX_GetParam("CONTENT_LENGTH", fr->envp));

	struct app_request req = {method != NULL ? method : "", uri, ctype,
	                          NULL, 0, rid};
	struct app_response res;
	memset(&res, 0, sizeof res);
	char *body = NULL;
	int input_left = 0;
	if (clen > 0 && (unsigned long long)clen > cfg->max_body_bytes) {
		input_left = !drain(fr->in, cfg->max_body_bytes * WORKER_DRAIN_FACTOR);
		app_too_large(app, (size_t)clen, &res);
	} else {
		if (clen > 0) {
			body = read_body(ws, fr->in, (size_t)clen);
			if (body == NULL) {
				log_msg_pid(LOG_LVL_WARN, ws->pid, rid,
				            "request body ended before CONTENT_LENGTH %lld", clen);
				FCGX_SetExitStatus(1, fr->out);
				return 0; /* the client went away: nothing to answer */
			}
		}
		/* The input is read to its end (FastCGI's empty stdin record; past CONTENT_LENGTH,
		 * or all of it when CONTENT_LENGTH is absent, discarded) before answering: a web
		 * server still sending it when the connection closes fails the request (Apache:
		 * 503). */
		input_left = !drain(fr->in, cfg->max_body_bytes * WORKER_DRAIN_FACTOR);
		req.body = body;
		req.body_len = clen > 0 ? (size_t)clen : 0;
		app_handle(app, &req, &res);
	}
	send_response(fr, &res, rid);
	if (input_left)
		linger_until_closed(fr);
	log_msg_pid(res.status >= 500 ? LOG_LVL_WARN : LOG_LVL_INFO, ws->pid, rid,
	            "%s %s %d %zu bytes %.1f ms%s%s", req.method, req.uri, res.status, res.body_len,
	            elapsed_ms(&t0), res.model[0] != '\0' ? " model=" : "", res.model);
	size_t peak = res.body_len;
	if (body != NULL && req.body_len > peak)
		peak = req.body_len;
	app_response_release(&res);
	return peak;
}

/*
 * Gives freed heap back to the system after a request whose peak (serve_one)
 * was at least WORKER_TRIM_BYTES; returns 1 when it called malloc_trim(0),
 * 0 otherwise (small request, or not glibc).
 */
static int release_peak(size_t peak)
{
#ifdef __GLIBC__
	if (peak >= WORKER_TRIM_BYTES) {
		malloc_trim(0);
		return 1;
	}
#endif
	(void)peak;
	return 0;
}

/*
 * After a request whose peak reaches WORKER_TRIM_BYTES the body buffer goes
 * too (before release_peak's trim), so a worker never keeps a big body's
 * buffer for its whole life; below that it is kept for the next request.
 */
static void release_body(struct worker_state *ws, size_t peak)
{
	if (peak < WORKER_TRIM_BYTES)
		return;
	free(ws->body);
	ws->body = NULL;
	ws->body_cap = 0;
}

int worker_serve(int listen_fd, struct app *app, const struct rb_config *cfg,
                 const struct pool_worker_env *env)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, WORKER_MMAP_BYTES);
	mallopt(M_TRIM_THRESHOLD, WORKER_KEEP_BYTES);
#endif
	/* libfcgi reads it in FCGX_Init; see the head of this file. */
	setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "0", 0);
	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return 1;
	}
	FCGX_Request fr;
	if (FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("FCGX_InitRequest failed");
		return 1;
	}
	struct worker_state ws = {(long)getpid(), 0, NULL, 0};
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
		snprintf(rid, sizeof rid, "%ld-%llu", ws.pid, (unsigned long long)++ws.seq);
		if (env != NULL)
			pool_request_begin(env);
		size_t peak = serve_one(&fr, app, cfg, &ws, rid);
		FCGX_Finish_r(&fr);
		release_body(&ws, peak);
		(void)release_peak(peak);
		if (env != NULL)
			pool_request_end(env);
	}
	FCGX_Free(&fr, 0);
	free(ws.body);
	return status;
}
