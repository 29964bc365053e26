/*
 * worker: the FastCGI accept loop of one worker process (libfcgi). It reads
 * the request's parameters and body (capped), hands them to the app and
 * writes the answer with Status, Content-Type, Content-Length and
 * X-Request-Id. A body without CONTENT_LENGTH (Apache passes chunked bodies
 * of 16 KiB or more so) is read to the end of stdin under the same cap. It
 * stops between requests when the pool asks it to; a stop never cuts a
 * request in flight. Per request its own system calls are the
 * accept, the pool's signal mask pair around it, the phase timers (setitimer:
 * five, one more per chunk of a body that libfcgi must read from the socket;
 * 0.65 us each) and the log line's write (and, at log_level debug, the stage
 * timer's clock reads and its line): the pid is read once, the body buffer is
 * kept from one request to the next (up to the trim rule, which waits for the
 * worker to be idle). Not the routes or the detection (app.c).
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
 *
 * Deadlines (docs/HOSTING.md "Deadlines"): a request has phases, each bounded
 * from the worker's side so that a stalled peer frees the worker within the
 * phase's limit: params (params_timeout_ms from accept), body (after
 * body_grace_ms at least body_min_rate bytes/s, and body_timeout_ms in all),
 * the app (the master's request_timeout_ms watchdog, which starts at accept)
 * and write (write_timeout_ms for the answer and the close). libfcgi reads the
 * params inside FCGX_Accept_r with blocking reads and would accept by itself,
 * so the worker accepts (accept) and hands the connection to libfcgi as if it
 * were a kept connection, with a listen socket of -1 (libfcgi never accepts:
 * a connection it drops makes FCGX_Accept_r return -EBADF). A phase's
 * deadline is a one-shot ITIMER_REAL: its SIGALRM (no SA_RESTART) interrupts
 * the blocking read or write in libfcgi, whose stream then fails; once it has
 * fired it repeats every WORKER_ALARM_REPEAT_MS until disarmed, so a signal
 * that lands between two system calls cannot be lost. Why not SO_RCVTIMEO on
 * the listen socket: accepted TCP sockets inherit it on Linux, accepted Unix
 * sockets do not (measured: 0 on the accepted one), it also bounds accept(),
 * and it bounds each read, not a phase (a peer sending one byte just within
 * it holds the worker for as many periods as it has bytes); no rate either.
 *
 * Stop: the stop signals are delivered only while the worker waits in
 * accept(). Once asked to stop, it serves what is already queued on the
 * listen socket (poll with no wait, accept bounded by the alarm) and exits
 * when the queue is empty; a request accepted is always served.
 */
#include "rb/fcgi/worker.h"

#include <errno.h>
#include <fcgiapp.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "rb/base/stage_timer.h"
#include "rb/fcgi/log.h"
#include "rb/fcgi/metrics.h"
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
 * ... but not at once: it first waits this long for the next connection, and
 * gives the peak back only when none comes (trim_when_idle). Back-to-back big
 * requests then reuse the pages of the previous one (its body buffer, the
 * decoded data, the parsed rows, the detector's arrays) instead of faulting
 * them in afresh each time (measured, 1-week model requests: ~3,900 minor
 * faults and ~10 ms of CPU a request, docs/BENCHMARKS.md "Request path"); an
 * idle worker still holds no more than before. A worker kept busy by other
 * requests gives it back anyway once WORKER_TRIM_HOLD_MS have passed since the
 * peak (one request in that time pays the faults again). A kept connection
 * (FCGI_KEEP_CONN) waits in libfcgi, not in accept: there the trim stays
 * immediate.
 */
#define WORKER_IDLE_TRIM_MS 250
#define WORKER_TRIM_HOLD_MS 5000

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

/*
 * The request id "PID-SEQ" into rid[40], NUL-terminated, the bytes
 * snprintf(rid, 40, "%ld-%llu", pid, seq) writes for pid > 0: digits written
 * backwards, then moved to the front (snprintf took ~0.5 % of a one-hour
 * model request's worker CPU, perf).
 */
static void request_id(char rid[40], long pid, uint64_t seq)
{
	char tmp[48];
	char *p = tmp + sizeof tmp;
	*--p = '\0';
	do {
		*--p = (char)('0' + seq % 10u);
		seq /= 10u;
	} while (seq != 0);
	*--p = '-';
	unsigned long u = pid > 0 ? (unsigned long)pid : 0;
	do {
		*--p = (char)('0' + u % 10u);
		u /= 10u;
	} while (u != 0);
	size_t len = (size_t)(tmp + sizeof tmp - p); /* with the NUL; cut as snprintf would */
	if (len > 40) {
		memcpy(rid, p, 39);
		rid[39] = '\0';
	} else {
		memcpy(rid, p, len);
	}
}

/* What one worker process keeps from request to request. */
struct worker_state {
	long pid;       /* getpid() once, after the fork that made this worker */
	uint64_t seq;   /* connections accepted so far */
	char *body;     /* the body buffer, body_cap bytes (NULL, 0 before the first body) */
	size_t body_cap;
	size_t trim_peak; /* > 0: the largest peak not given back yet (trim_when_idle) */
	struct timespec trim_since; /* when trim_peak became > 0 */
	const char *web_addrs; /* FCGI_WEB_SERVER_ADDRS (libfcgi's allow-list for TCP peers) */
	int timer_flags;       /* the stage timer's flags: on at log_level debug, else 0 */
	struct stage_timer timer; /* the request's stages, logged at debug after the write */
};

/* ---- phase deadlines (see the head of this file) ---- */

/* Once a phase's alarm has fired, it fires again this often until disarmed. */
#define WORKER_ALARM_REPEAT_MS 50

/* While draining the queue at a stop: the longest wait in one accept() (another worker may
 * have taken the connection that poll() announced). */
#define WORKER_DRAIN_ACCEPT_MS 100

/* Set by SIGALRM; cleared when an alarm is armed. */
static volatile sig_atomic_t alarm_fired;

static void on_alarm(int sig)
{
	(void)sig;
	alarm_fired = 1;
}

/* In the worker, once: SIGALRM interrupts system calls (no SA_RESTART). */
static void alarm_setup(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* Arms the alarm to fire ms milliseconds from now (at least 1 us), then every
 * WORKER_ALARM_REPEAT_MS; clears alarm_fired first. */
static void alarm_arm(double ms)
{
	long long us = (long long)(ms * 1000.0);
	if (us < 1)
		us = 1;
	struct itimerval it;
	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = (time_t)(us / 1000000);
	it.it_value.tv_usec = (suseconds_t)(us % 1000000);
	it.it_interval.tv_usec = WORKER_ALARM_REPEAT_MS * 1000;
	alarm_fired = 0;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* Disarms the alarm; alarm_fired keeps telling whether it fired since it was armed. */
static void alarm_disarm(void)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * The body phase's clock: from the moment the params were complete, stdin must
 * keep arriving at cfg->body_min_rate bytes/s on average once body_grace_ms
 * have passed, and be complete within body_timeout_ms. libfcgi is asked for
 * chunk bytes at a time, and the alarm re-armed after each for the moment the
 * next would be late; a chunk is half of what the rate gives in the grace
 * time, so a peer sending at the rate is never cut between two checks.
 */
struct body_clock {
	struct timespec t0;
	double grace_ms, total_ms;
	unsigned long long rate;  /* bytes/s; 0: no rate rule */
	unsigned long long got;   /* stdin bytes read so far, kept or discarded */
	size_t chunk;
	int expired;              /* the phase's deadline passed: the peer is dropped */
};

static void body_clock_start(struct body_clock *bc, const struct rb_config *cfg)
{
	clock_gettime(CLOCK_MONOTONIC, &bc->t0);
	bc->grace_ms = cfg->body_grace_ms;
	bc->total_ms = cfg->body_timeout_ms;
	bc->rate = cfg->body_min_rate;
	bc->got = 0;
	bc->expired = 0;
	unsigned long long chunk = bc->rate * cfg->body_grace_ms / 2000u;
	if (bc->rate == 0 || chunk > (1u << 20))
		chunk = 1u << 20;
	bc->chunk = chunk > 0 ? (size_t)chunk : 1;
}

/* Arms the alarm for the moment the body would be late; -1 (and expired) when it already is. */
static int body_clock_arm(struct body_clock *bc)
{
	double due = bc->total_ms;
	if (bc->rate > 0) {
		double by_rate = bc->grace_ms + (double)bc->got * 1000.0 / (double)bc->rate;
		if (by_rate < due)
			due = by_rate;
	}
	double left = due - elapsed_ms(&bc->t0);
	if (left <= 0) {
		bc->expired = 1;
		return -1;
	}
	alarm_arm(left);
	return 0;
}

/*
 * Reads up to want bytes of stdin into buf under the body clock; returns the
 * bytes read. Fewer than want: the end of stdin, the connection failed, or
 * (bc->expired) the phase's deadline passed.
 */
static size_t body_get(struct body_clock *bc, FCGX_Stream *in, char *buf, size_t want)
{
	size_t got = 0;
	while (got < want) {
		/* What libfcgi already holds (its public rdNext..stop: content bytes of the
		 * current record in its buffer) is copied without a system call: no wait, so no
		 * alarm to move (half the setitimer calls of a big body). */
		size_t held = in->stop > in->rdNext ? (size_t)(in->stop - in->rdNext) : 0;
		size_t ask = want - got;
		if (held > 0) {
			if (ask > held)
				ask = held;
		} else {
			if (body_clock_arm(bc) != 0)
				break;
			if (ask > bc->chunk)
				ask = bc->chunk;
		}
		int n = FCGX_GetStr(buf + got, (int)ask, in);
		if (n > 0) {
			got += (size_t)n;
			bc->got += (unsigned long long)n;
		}
		if (n < (int)ask) {
			if (alarm_fired)
				bc->expired = 1;
			break;
		}
	}
	return got;
}

/*
 * Reads exactly len bytes of the body into the worker's buffer (grown to
 * len + 1 when smaller; len is at most max_body_bytes), NUL-terminated;
 * NULL when the stream ends early, the body phase's deadline passes
 * (bc->expired) or memory runs out.
 */
static char *read_body(struct worker_state *ws, struct body_clock *bc, FCGX_Stream *in,
                       size_t len)
{
	if (ws->body_cap < len + 1) {
		free(ws->body); /* nothing in it to keep: no realloc copy */
		ws->body = malloc(len + 1);
		ws->body_cap = ws->body != NULL ? len + 1 : 0;
		if (ws->body == NULL)
			return NULL;
	}
	char *buf = ws->body;
	if (body_get(bc, in, buf, len) != len)
		return NULL;
	buf[len] = '\0';
	return buf;
}

/*
 * A body without CONTENT_LENGTH (Apache passes a chunked body of 16 KiB or more
 * so): reads stdin to its end into the worker's buffer, NUL-terminated, and
 * sets *len. At most cap bytes are kept: *too_large is set when there are
 * more (the rest is left unread). NULL when the connection fails, the body
 * phase's deadline passes (bc->expired) or memory runs out.
 */
static char *read_body_unsized(struct worker_state *ws, struct body_clock *bc,
                               FCGX_Stream *in, size_t cap, size_t *len, int *too_large)
{
	size_t got = 0;
	*too_large = 0;
	for (;;) {
		if (ws->body_cap < got + 2 && ws->body_cap < cap + 2) {
			size_t grow = ws->body_cap < (64u << 10) ? (64u << 10) : ws->body_cap * 2;
			if (grow > cap + 2)
				grow = cap + 2; /* one byte past the cap tells "more", one for the NUL */
			char *b = realloc(ws->body, grow);
			if (b == NULL)
				return NULL;
			ws->body = b;
			ws->body_cap = grow;
		}
		size_t end = ws->body_cap - 1 < cap + 1 ? ws->body_cap - 1 : cap + 1;
		size_t room = end - got; /* never past cap + 1: a bigger kept buffer reads no more */
		size_t n = body_get(bc, in, ws->body + got, room);
		got += n;
		if (got > cap) {
			*too_large = 1;
			return NULL;
		}
		if (n < room) {
			if (bc->expired || FCGX_GetError(in) != 0)
				return NULL;
			break; /* the end of stdin */
		}
	}
	ws->body[got] = '\0';
	*len = got;
	return ws->body;
}

/* Reads and discards the body up to limit bytes: 1 when it reached the body's end (0 also
 * when bc->expired). */
static int drain(struct body_clock *bc, FCGX_Stream *in, unsigned long long limit)
{
	char sink[16384];
	unsigned long long seen = 0;
	while (seen < limit) {
		size_t want = limit - seen < sizeof sink ? (size_t)(limit - seen) : sizeof sink;
		size_t n = body_get(bc, in, sink, want);
		seen += n;
		if (n < want)
			return !bc->expired;
	}
	return 0;
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

/* Logs a request dropped because its body phase's deadline passed. */
static void log_body_late(const struct worker_state *ws, const struct body_clock *bc,
                          const char *rid, const struct rb_config *cfg)
{
	log_msg_pid(LOG_LVL_WARN, ws->pid, rid,
	            "phase body: dropped after %.0f ms with %llu bytes of the body read (at least "
	            "%llu bytes/s after %u ms, all within %u ms)",
	            elapsed_ms(&bc->t0), bc->got, bc->rate, cfg->body_grace_ms,
	            cfg->body_timeout_ms);
}

/*
 * Serves one request whose params libfcgi has read, and returns the larger of
 * the body read and the answer sent, in bytes (0 when nothing was read). It
 * returns with the write phase's alarm armed (the caller's FCGX_Finish_r
 * flushes the answer), also when it drops the request.
 */
static size_t serve_one(FCGX_Request *fr, struct app *app, const struct rb_config *cfg,
                        struct worker_state *ws, const char *rid)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	stage_timer_start(&ws->timer, ws->timer_flags);
	const char *method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
	const char *uri = route_request_path(FCGX_GetParam("REQUEST_URI", fr->envp),
	                                     FCGX_GetParam("SCRIPT_NAME", fr->envp),
	                                     FCGX_GetParam("PATH_INFO", fr->envp));
	const char *ctype = FCGX_GetParam("CONTENT_TYPE", fr->envp);
	long long clen = content_length(FCGX_GetParam("CONTENT_LENGTH", fr->envp));

	struct app_request req = {method != NULL ? method : "", uri, ctype,
	                          NULL, 0, rid, &ws->timer};
	struct app_response res;
	memset(&res, 0, sizeof res);
	char *body = NULL;
	int input_left = 0;
	struct body_clock bc;
	body_clock_start(&bc, cfg);
	if (clen > 0 && (unsigned long long)clen > cfg->max_body_bytes) {
		input_left = !drain(&bc, fr->in, cfg->max_body_bytes * WORKER_DRAIN_FACTOR);
		if (bc.expired) {
			log_body_late(ws, &bc, rid, cfg);
			alarm_arm(cfg->write_timeout_ms);
			FCGX_SetExitStatus(1, fr->out);
			return 0;
		}
		app_too_large(app, (size_t)clen, 1, &res);
	} else {
		size_t body_len = clen > 0 ? (size_t)clen : 0;
		if (clen < 0) {
			int too_large = 0;
			body = read_body_unsized(ws, &bc, fr->in, (size_t)cfg->max_body_bytes, &body_len,
			                         &too_large);
			if (too_large) {
				input_left = !drain(&bc, fr->in,
				                    cfg->max_body_bytes * (WORKER_DRAIN_FACTOR - 1));
				if (bc.expired) {
					log_body_late(ws, &bc, rid, cfg);
					alarm_arm(cfg->write_timeout_ms);
					FCGX_SetExitStatus(1, fr->out);
					return 0;
				}
				app_too_large(app, (size_t)bc.got, !input_left, &res);
				goto answer;
			}
			if (body == NULL) {
				if (bc.expired)
					log_body_late(ws, &bc, rid, cfg);
				else
					log_msg_pid(LOG_LVL_WARN, ws->pid, rid,
					            "request body (no CONTENT_LENGTH) failed after %llu bytes",
					            bc.got);
				alarm_arm(cfg->write_timeout_ms);
				FCGX_SetExitStatus(1, fr->out);
				return 0;
			}
		} else if (clen > 0) {
			body = read_body(ws, &bc, fr->in, (size_t)clen);
			if (body == NULL) {
				if (bc.expired)
					log_body_late(ws, &bc, rid, cfg);
				else
					log_msg_pid(LOG_LVL_WARN, ws->pid, rid,
					            "request body ended before CONTENT_LENGTH %lld", clen);
				alarm_arm(cfg->write_timeout_ms);
				FCGX_SetExitStatus(1, fr->out);
				return 0; /* the client went away or stalled: nothing to answer */
			}
		}
		/* The input is read to its end (FastCGI's empty stdin record; past CONTENT_LENGTH,
		 * or all of it when CONTENT_LENGTH is absent, discarded) before answering: a web
		 * server still sending it when the connection closes fails the request (Apache:
		 * 503). */
		input_left = !drain(&bc, fr->in, cfg->max_body_bytes * WORKER_DRAIN_FACTOR);
		if (bc.expired) {
			log_body_late(ws, &bc, rid, cfg);
			alarm_arm(cfg->write_timeout_ms);
			FCGX_SetExitStatus(1, fr->out);
			return 0;
		}
		alarm_disarm();
		stage_timer_mark(&ws->timer, STAGE_BODY);
		req.body = body;
		req.body_len = body_len;
		app_handle(app, &req, &res);
	}
answer:
	alarm_arm(cfg->write_timeout_ms);
	send_response(fr, &res, rid);
	if (input_left)
		linger_until_closed(fr);
	struct metrics_board *mb = app_metrics(app);
	if (mb != NULL)
		metrics_request(mb, (unsigned)route_lookup(req.method, req.uri, NULL), res.status,
		                metrics_runner(mb, res.model), elapsed_ms(&t0) / 1e3);
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
 * When a peak of WORKER_TRIM_BYTES or more is given back (trim_when_idle) the
 * body buffer goes too (before release_peak's trim), so an idle worker never
 * keeps a big body's buffer; below that, and between back-to-back requests,
 * it is kept for the next request.
 */
static void release_body(struct worker_state *ws, size_t peak)
{
	if (peak < WORKER_TRIM_BYTES)
		return;
	free(ws->body);
	ws->body = NULL;
	ws->body_cap = 0;
}

/*
 * With a peak not given back (ws->trim_peak > 0): waits up to
 * WORKER_IDLE_TRIM_MS for a connection on listen_fd and, when none comes (or
 * at once when the peak is WORKER_TRIM_HOLD_MS old), gives the peak back
 * (release_body, release_peak). Called with the stop signals deliverable: one
 * ends the wait early (the caller checks the flag).
 */
static void trim_when_idle(struct worker_state *ws, int listen_fd)
{
	if (ws->trim_peak == 0)
		return;
	struct pollfd pfd = {listen_fd, POLLIN, 0};
	if (elapsed_ms(&ws->trim_since) < WORKER_TRIM_HOLD_MS &&
	    poll(&pfd, 1, WORKER_IDLE_TRIM_MS) != 0)
		return; /* a connection, a signal, or an error that accept() will report */
	release_body(ws, ws->trim_peak);
	(void)release_peak(ws->trim_peak);
	ws->trim_peak = 0;
}

/* Accept errors that concern one connection, not the listen socket (as libfcgi's list). */
static int accept_error_transient(int e)
{
	return e == ECONNABORTED || e == EPROTO || e == ECONNRESET || e == ETIMEDOUT ||
	       e == EHOSTUNREACH || e == ENETUNREACH || e == EAGAIN || e == EWOULDBLOCK;
}

/* libfcgi's FCGI_WEB_SERVER_ADDRS rule, which the worker's own accept keeps: an IPv4 peer
 * must be in the comma-separated list when the list is set. */
static int peer_allowed(const struct worker_state *ws, const struct sockaddr_storage *sa)
{
	if (sa->ss_family != AF_INET || ws->web_addrs == NULL || ws->web_addrs[0] == '\0')
		return 1;
	const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
	const char *p = ws->web_addrs;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		char one[64];
		struct in_addr a;
		if (n < sizeof one) {
			memcpy(one, p, n);
			one[n] = '\0';
			if (inet_pton(AF_INET, one, &a) == 1 && a.s_addr == in->sin_addr.s_addr)
				return 1;
		}
		p += n + (comma != NULL);
	}
	return 0;
}

/*
 * Reads the params of the connection in fr (handed over by worker_serve):
 * FCGX_Accept_r, except that params cut short by a failed read (the alarm,
 * the peer gone) fail too: libfcgi takes a failed read between two params
 * for their end and would return the request with the params it has. 0 on
 * success; < 0 with the connection closed.
 */
static int accept_params(FCGX_Request *fr)
{
	int rc = FCGX_Accept_r(fr);
	if (rc == 0 && FCGX_GetError(fr->in) != 0) {
		FCGX_Free(fr, 1);
		return -1;
	}
	return rc;
}

enum { ACCEPT_STOP = -2, ACCEPT_FAILED = -1 };

/*
 * Accepts the next connection on listen_fd: its descriptor, ACCEPT_STOP when
 * a stop was requested while waiting (or, draining, when nothing is queued
 * any more), ACCEPT_FAILED when the listen socket failed. Not draining, the
 * stop signals are delivered only inside the wait; draining, they stay blocked,
 * only what is already queued is taken, and each accept is bounded by the
 * alarm.
 */
static int worker_accept(struct worker_state *ws, int listen_fd, int draining)
{
	for (;;) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof sa;
		int fd, saved;
		if (!draining) {
			pool_wait_begin();
			if (!pool_stop_requested())
				trim_when_idle(ws, listen_fd);
			if (pool_stop_requested()) {
				pool_wait_end();
				return ACCEPT_STOP;
			}
			fd = accept(listen_fd, (struct sockaddr *)&sa, &len); /* a worker never execs */
			saved = errno;
			pool_wait_end();
		} else {
			struct pollfd pfd = {listen_fd, POLLIN, 0};
			if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN))
				return ACCEPT_STOP;
			alarm_arm(WORKER_DRAIN_ACCEPT_MS);
			fd = accept(listen_fd, (struct sockaddr *)&sa, &len); /* a worker never execs */
			saved = errno;
			alarm_disarm();
		}
		if (fd >= 0) {
			if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6) {
				int one = 1;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			}
			if (peer_allowed(ws, &sa))
				return fd;
			close(fd);
			continue;
		}
		if (saved == EINTR) {
			if (!draining && pool_stop_requested())
				return ACCEPT_STOP;
			continue;
		}
		if (saved == EAGAIN || saved == EWOULDBLOCK) {
			/* a non-blocking listen socket (set by whoever shares it): wait for it */
			struct pollfd pfd = {listen_fd, POLLIN, 0};
			if (draining)
				return ACCEPT_STOP;
			pool_wait_begin();
			if (!pool_stop_requested())
				(void)poll(&pfd, 1, -1);
			pool_wait_end();
			continue;
		}
		if (accept_error_transient(saved))
			continue;
		log_error("FastCGI accept failed: %s", strerror(saved));
		return ACCEPT_FAILED;
	}
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
	/* listen socket -1: libfcgi never accepts (worker_accept does) */
	if (FCGX_InitRequest(&fr, -1, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("FCGX_InitRequest failed");
		return 1;
	}
	alarm_setup();
	struct worker_state ws;
	memset(&ws, 0, sizeof ws);
	ws.pid = (long)getpid();
	ws.web_addrs = getenv("FCGI_WEB_SERVER_ADDRS");
	if (cfg->log_level >= LOG_LVL_DEBUG)
		ws.timer_flags = STAGE_TIMER_ON | STAGE_TIMER_CPU;
	int status = 0, draining = 0;
	for (;;) {
		if (fr.ipcFd < 0) { /* else the web server kept the connection (FCGI_KEEP_CONN) */
			int fd = worker_accept(&ws, listen_fd, draining);
			if (fd == ACCEPT_STOP && !draining) {
				draining = 1; /* serve what is queued, then stop */
				continue;
			}
			if (fd == ACCEPT_STOP)
				break;
			if (fd < 0) {
				status = 1;
				break;
			}
			fr.ipcFd = fd;
		}
		/* Handed to libfcgi as a kept connection: FCGX_Accept_r reads its params. */
		fr.keepConnection = 1;
		char rid[40];
		request_id(rid, ws.pid, ++ws.seq);
		if (env != NULL)
			pool_request_begin(env); /* the master's watchdog starts at accept */
		alarm_arm(cfg->params_timeout_ms);
		int rc = accept_params(&fr);
		/* On success the alarm stays armed: serve_one re-arms it for the body before it
		 * reads (one setitimer less per request). */
		if (rc < 0) {
			alarm_disarm();
			/* libfcgi closed the connection (fr.ipcFd is -1 again) */
			if (alarm_fired)
				log_msg_pid(LOG_LVL_WARN, ws.pid, rid,
				            "phase params: dropped a connection whose FastCGI params were "
				            "not complete %u ms after accept (params_timeout_ms)",
				            cfg->params_timeout_ms);
			else
				log_msg_pid(LOG_LVL_DEBUG, ws.pid, rid,
				            "phase params: the web server closed the connection before its "
				            "params were complete");
			if (env != NULL)
				pool_request_end(env);
			continue;
		}
		size_t peak = serve_one(&fr, app, cfg, &ws, rid);
		FCGX_Finish_r(&fr);
		alarm_disarm();
		stage_timer_mark(&ws.timer, STAGE_WRITE);
		if (ws.timer_flags != 0) {
			char line[400];
			stage_timer_format(&ws.timer, line, sizeof line);
			log_msg_pid(LOG_LVL_DEBUG, ws.pid, rid, "%s", line);
		}
		if (alarm_fired)
			log_msg_pid(LOG_LVL_WARN, ws.pid, rid,
			            "phase write: the web server did not take the answer within %u ms "
			            "(write_timeout_ms); connection dropped",
			            cfg->write_timeout_ms);
		if (peak >= WORKER_TRIM_BYTES && ws.trim_peak == 0)
			clock_gettime(CLOCK_MONOTONIC, &ws.trim_since);
		if (peak >= WORKER_TRIM_BYTES && peak > ws.trim_peak)
			ws.trim_peak = peak; /* given back when the worker is idle (trim_when_idle) */
		if (fr.ipcFd >= 0) {     /* a kept connection: at once */
			release_body(&ws, ws.trim_peak);
			(void)release_peak(ws.trim_peak);
			ws.trim_peak = 0;
		}
		if (env != NULL)
			pool_request_end(env);
	}
	if (fr.ipcFd >= 0)
		close(fr.ipcFd);
	fr.ipcFd = -1;
	FCGX_Free(&fr, 0);
	free(ws.body);
	return status;
}
