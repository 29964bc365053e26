/*
 * emu_http: the HTTP/1.1 front of rb-druid-emulator (a test and demo
 * fixture). One process, one thread, a poll() loop over non-blocking sockets:
 * keep-alive, pipelined requests, Expect: 100-continue, hard caps on header
 * and body size, a per-request deadline (slow or stalled clients get 408 and
 * are dropped), and the fault-injection modes the service's tests use.
 * Deliberately not here: chunked request bodies (501), TLS, HTTP/2, IPv6,
 * authentication. Query semantics live in emu_query.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"

#define HEADER_CAP 16384   /* request line + headers */
#define MAX_HEADERS 100
#define TARGET_CAP 2048
#define GEN_CHUNK 65536

enum cstate { ST_READ, ST_DELAY, ST_WRITE };

struct conn {
	int fd;
	enum cstate st;
	char *in;           /* received bytes not yet consumed */
	size_t inlen, incap;
	int64_t deadline;   /* ST_READ: request must be complete by then; ST_WRITE: progress by then */
	int64_t ready_at;   /* ST_DELAY: when to start writing */
	int sent_continue;  /* 100 Continue already sent for the request in progress */
	struct emu_buf out; /* response bytes to write */
	size_t outoff;
	size_t write_limit; /* close after this many bytes of out (truncate fault); 0 = all */
	int close_after;    /* close once out is written */
	int close_now;      /* close when the delay ends, answering nothing (close fault) */
	int eof;            /* the peer shut down its sending side */
	long long gen_total, gen_done; /* oversized fault: body bytes to generate / generated */
};

struct server {
	const struct emu_config *conf;
	int lfd;
	struct conn *conns;
	int nconns;
	struct emu_buf last_query; /* body of the last POST /druid/v2, verbatim */
	int have_last;
	FILE *log;
};

/* The only mutable static: set by the signal handler, read by the loop. */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static void conn_reset_out(struct conn *c)
{
	emu_buf_free(&c->out);
	emu_buf_init(&c->out, EMU_MAX_RESPONSE + 4096);
	c->outoff = 0;
	c->write_limit = 0;
	c->gen_total = c->gen_done = 0;
}

/* Queues a complete response (head + body) on c. */
static void respond(struct conn *c, int status, const char *ctype, const char *body, size_t blen, int close_after)
{
	conn_reset_out(c);
	c->close_after |= close_after;
	emu_buf_printf(&c->out,
	               "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nServer: rb-druid-emulator "
	               "(test fixture)\r\nConnection: %s\r\n\r\n",
	               status, reason(status), ctype, blen, c->close_after ? "close" : "keep-alive");
	emu_buf_add(&c->out, body, blen);
}

/* A Druid-shaped error response. */
static void respond_err(struct conn *c, const struct emu_err *e, int close_after)
{
	struct emu_buf b;
	emu_buf_init(&b, 4096);
	emu_error_json(e, &b);
	respond(c, e->status, "application/json", b.p ? b.p : "", b.len, close_after);
	emu_buf_free(&b);
}

/* A protocol-level error (not a query error): still a Druid-shaped body; the connection closes unless told. */
static void respond_proto_keep(struct conn *c, int status, const char *msg, int close_after)
{
	struct emu_err e = {status, "Unknown exception", "org.eclipse.jetty.http.BadMessageException", ""};
	snprintf(e.msg, sizeof e.msg, "%s", msg);
	respond_err(c, &e, close_after);
}

static void respond_proto(struct conn *c, int status, const char *msg)
{
	respond_proto_keep(c, status, msg, 1);
}

static void log_request(struct server *sv, const char *method, const char *path, int status, const char *body,
                        size_t blen)
{
	if (sv->log == NULL)
		return;
	struct emu_buf b;
	emu_buf_init(&b, sv->conf->max_body * 6 + 1024);
	emu_buf_str(&b, "{\"method\":");
	emu_buf_json_str(&b, method);
	emu_buf_str(&b, ",\"path\":");
	emu_buf_json_str(&b, path);
	emu_buf_printf(&b, ",\"status\":%d,\"body\":", status);
	/* the body may hold NUL bytes: escape byte by byte */
	emu_buf_add(&b, "\"", 1);
	for (size_t i = 0; i < blen; i++) {
		unsigned char ch = (unsigned char)body[i];
		if (ch == '"' || ch == '\\') {
			char e[2] = {'\\', (char)ch};
			emu_buf_add(&b, e, 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			emu_buf_printf(&b, "\\u%04x", ch);
		} else {
			emu_buf_add(&b, &ch, 1);
		}
	}
	emu_buf_str(&b, "\"}\n");
	if (b.p != NULL)
		fwrite(b.p, 1, b.len, sv->log);
	fflush(sv->log);
	emu_buf_free(&b);
}

/* Fills c->out with the next chunk of the oversized fault body: "[row,row,...   ]", exactly gen_total bytes. */
static void gen_fill(struct conn *c)
{
	static const char ROW[] = "{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"bytes\":123456789}}";
	const long long rowlen = (long long)sizeof ROW - 1;
	emu_buf_free(&c->out);
	emu_buf_init(&c->out, GEN_CHUNK + 256);
	c->outoff = 0;
	while (c->out.len < GEN_CHUNK && c->gen_done < c->gen_total) {
		long long left = c->gen_total - c->gen_done;
		if (c->gen_done == 0) {
			emu_buf_add(&c->out, "[", 1);
			c->gen_done++;
		} else if (left == 1) {
			emu_buf_add(&c->out, "]", 1);
			c->gen_done++;
		} else {
			int comma = c->gen_done > 1;
			if (left - 1 >= rowlen + comma && c->gen_done >= 1 && c->out.len + 1 < GEN_CHUNK) {
				/* rows only while no padding was emitted (padding goes last) */
				if (comma)
					emu_buf_add(&c->out, ",", 1);
				emu_buf_add(&c->out, ROW, (size_t)rowlen);
				c->gen_done += rowlen + comma;
			} else {
				emu_buf_add(&c->out, " ", 1);
				c->gen_done++;
			}
		}
	}
}

static void handle_query(struct server *sv, struct conn *c, const char *body, size_t blen)
{
	const struct emu_config *cf = sv->conf;
	emu_buf_free(&sv->last_query);
	emu_buf_init(&sv->last_query, cf->max_body + 1);
	emu_buf_add(&sv->last_query, body, blen);
	sv->have_last = 1;
	if (cf->fault_delay_ms > 0) {
		c->st = ST_DELAY;
		c->ready_at = now_ms() + cf->fault_delay_ms;
	}
	switch (cf->fault) {
	case EMU_FAULT_CLOSE:
		c->close_now = 1;
		conn_reset_out(c);
		return;
	case EMU_FAULT_GARBAGE: {
		static const char G[] = "<html><body>rb-druid-emulator: injected garbage, not JSON {[\x01\xff</body>";
		respond(c, 200, "application/json", G, sizeof G - 1, 0);
		return;
	}
	case EMU_FAULT_STATUS: {
		struct emu_err e = {(int)cf->fault_arg, "Unknown exception", "java.lang.RuntimeException", ""};
		snprintf(e.msg, sizeof e.msg, "rb-druid-emulator: injected fault (HTTP %d)", (int)cf->fault_arg);
		respond_err(c, &e, 0);
		return;
	}
	case EMU_FAULT_OVERSIZED:
		conn_reset_out(c);
		emu_buf_printf(&c->out,
		               "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %lld\r\n"
		               "Connection: %s\r\n\r\n",
		               cf->fault_arg, c->close_after ? "close" : "keep-alive");
		c->gen_total = cf->fault_arg;
		c->gen_done = 0;
		return;
	default:
		break;
	}
	struct emu_buf res;
	struct emu_err e;
	emu_buf_init(&res, EMU_MAX_RESPONSE);
	if (emu_query_run(body, blen, cf->seed, &res, &e) == 0)
		respond(c, 200, "application/json", res.p, res.len, 0);
	else
		respond_err(c, &e, 0);
	emu_buf_free(&res);
	if (cf->fault == EMU_FAULT_TRUNCATE) {
		/* the head announces the full length; half the body is sent, then the connection closes */
		const char *hend = strstr(c->out.p, "\r\n\r\n");
		size_t head = hend ? (size_t)(hend - c->out.p) + 4 : 0;
		c->write_limit = head + (c->out.len - head) / 2;
		c->close_after = 1;
	}
}

/* Routes one complete request. */
static void dispatch(struct server *sv, struct conn *c, const char *method, const char *path, const char *body,
                     size_t blen)
{
	if (strcmp(path, "/druid/v2") == 0 || strcmp(path, "/druid/v2/") == 0) {
		if (strcmp(method, "POST") != 0) {
			respond_proto_keep(c, 405, "use POST for queries", 0);
			return;
		}
		handle_query(sv, c, body, blen);
		return;
	}
	if (strcmp(path, "/__last_query") == 0 && strcmp(method, "GET") == 0) {
		if (!sv->have_last)
			respond(c, 404, "text/plain", "no query received yet\n", 22, 0);
		else
			respond(c, 200, "application/json", sv->last_query.p ? sv->last_query.p : "",
			        sv->last_query.len, 0);
		return;
	}
	if (strcmp(path, "/status/health") == 0 && strcmp(method, "GET") == 0) {
		respond(c, 200, "application/json", "true", 4, 0);
		return;
	}
	respond(c, 404, "text/plain", "not found\n", 10, 0);
}

static int is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Case-insensitive: does the comma-separated header value list contain token? */
static int has_token(const char *v, size_t vlen, const char *token)
{
	size_t tl = strlen(token);
	for (size_t i = 0; i + tl <= vlen; i++) {
		if (strncasecmp(v + i, token, tl) == 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
		    (i + tl == vlen || v[i + tl] == ' ' || v[i + tl] == ',' || v[i + tl] == '\t'))
			return 1;
	}
	return 0;
}

/*
 * Tries to take one request off c->in. Returns 1 when a response was queued
 * (or the connection is to close), 0 when more bytes are needed.
 */
static int try_request(struct server *sv, struct conn *c)
{
	/* a request line starts with an upper-case method and a space: refuse anything else at once */
	for (size_t i = 0; i < c->inlen; i++) {
		char ch = c->in[i];
		if (ch == ' ' && i > 0)
			break;
		if (ch < 'A' || ch > 'Z' || i >= 16) {
			respond_proto(c, 400, "malformed request line");
			return 1;
		}
	}
	size_t hlen = 0;
	for (size_t i = 0; i + 3 < c->inlen && i < HEADER_CAP; i++) {
		if (memcmp(c->in + i, "\r\n\r\n", 4) == 0) {
			hlen = i + 4;
			break;
		}
	}
	if (hlen == 0) {
		if (c->inlen >= HEADER_CAP) {
			respond_proto(c, 431, "request head larger than 16384 bytes");
			return 1;
		}
		return 0;
	}
	/* request line */
	char method[17], target[TARGET_CAP + 1];
	const char *p = c->in, *end = c->in + hlen - 4;
	size_t n = 0;
	while (p < end && n < 16 && *p >= 'A' && *p <= 'Z')
		method[n++] = *p++;
	method[n] = '\0';
	if (n == 0 || p >= end || *p != ' ') {
		respond_proto(c, 400, "malformed request line");
		return 1;
	}
	p++;
	n = 0;
	while (p < end && n < TARGET_CAP && *p > ' ' && *p < 0x7f)
		target[n++] = *p++;
	target[n] = '\0';
	if (n == 0 || target[0] != '/' || p + 9 > end || *p != ' ' ||
	    (memcmp(p + 1, "HTTP/1.1", 8) != 0 && memcmp(p + 1, "HTTP/1.0", 8) != 0) || p[9] != '\r') {
		respond_proto(c, 400, "malformed request line");
		return 1;
	}
	int http10 = p[8] == '0';
	p += 11;
	/* headers */
	long long clen = -1;
	int conn_close = http10, expect = 0, nh = 0;
	while (p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (eol + 1 < c->in + hlen && eol < end && eol[1] != '\n') {
			respond_proto(c, 400, "bare CR in request head");
			return 1;
		}
		if (++nh > MAX_HEADERS) {
			respond_proto(c, 431, "too many header fields");
			return 1;
		}
		const char *colon = p;
		while (colon < eol && is_tchar((unsigned char)*colon))
			colon++;
		if (colon == p || colon >= eol || *colon != ':') {
			respond_proto(c, 400, "malformed header field");
			return 1;
		}
		size_t nlen = (size_t)(colon - p);
		const char *v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		size_t vlen = (size_t)(eol - v);
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		for (size_t k = 0; k < vlen; k++) {
			if ((unsigned char)v[k] < 0x20 && v[k] != '\t') {
				respond_proto(c, 400, "control character in header value");
				return 1;
			}
		}
		if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
			long long x = 0;
			if (vlen == 0 || vlen > 15) {
				respond_proto(c, 400, "bad Content-Length");
				return 1;
			}
			for (size_t k = 0; k < vlen; k++) {
				if (v[k] < '0' || v[k] > '9') {
					respond_proto(c, 400, "bad Content-Length");
					return 1;
				}
				x = x * 10 + (v[k] - '0');
			}
			if (clen >= 0 && clen != x) {
				respond_proto(c, 400, "conflicting Content-Length");
				return 1;
			}
			clen = x;
		} else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
			respond_proto(c, 501, "Transfer-Encoding (chunked bodies) is not supported; send Content-Length");
			return 1;
		} else if (nlen == 10 && strncasecmp(p, "Connection", 10) == 0) {
			if (has_token(v, vlen, "close"))
				conn_close = 1;
			else if (has_token(v, vlen, "keep-alive"))
				conn_close = 0;
		} else if (nlen == 6 && strncasecmp(p, "Expect", 6) == 0) {
			if (vlen == 12 && strncasecmp(v, "100-continue", 12) == 0)
				expect = 1;
		}
		p = eol + 2;
	}
	c->close_after = conn_close;
	if (clen < 0) {
		if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
			respond_proto(c, 411, "Content-Length required");
			return 1;
		}
		clen = 0;
	}
	if ((unsigned long long)clen > sv->conf->max_body) {
		char msg[96];
		snprintf(msg, sizeof msg, "request body larger than %zu bytes", sv->conf->max_body);
		respond_proto(c, 413, msg);
		return 1;
	}
	if (c->inlen - hlen < (size_t)clen) {
		if (expect && !c->sent_continue) {
			static const char CONT[] = "HTTP/1.1 100 Continue\r\n\r\n";
			ssize_t w = send(c->fd, CONT, sizeof CONT - 1, MSG_NOSIGNAL);
			(void)w; /* a fresh socket buffer always takes 25 bytes; if not, the client sends anyway */
			c->sent_continue = 1;
		}
		return 0;
	}
	char *q = strchr(target, '?');
	if (q != NULL)
		*q = '\0';
	c->st = ST_WRITE;
	dispatch(sv, c, method, target, c->in + hlen, (size_t)clen);
	int status = 0;
	if (c->out.p != NULL && c->out.len > 12)
		status = (int)strtol(c->out.p + 9, NULL, 10);
	log_request(sv, method, target, c->close_now ? 0 : status, c->in + hlen, (size_t)clen);
	/* consume the request; keep pipelined bytes */
	size_t used = hlen + (size_t)clen;
	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
	c->sent_continue = 0;
	return 1;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
	c->inlen = c->incap = 0;
	emu_buf_free(&c->out);
}

static void conn_open(struct server *sv, int fd)
{
	struct conn *c = NULL;
	for (int i = 0; i < sv->conf->max_conns; i++) {
		if (sv->conns[i].fd < 0) {
			c = &sv->conns[i];
			break;
		}
	}
	if (c == NULL) {
		close(fd);
		return;
	}
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->st = ST_READ;
	c->deadline = now_ms() + sv->conf->timeout_ms;
	emu_buf_init(&c->out, EMU_MAX_RESPONSE + 4096);
	sv->nconns++;
}

/* Reads what is available; returns -1 when the connection is to be dropped (sets eof on an orderly shutdown). */
static int conn_read(struct server *sv, struct conn *c)
{
	size_t cap_total = HEADER_CAP + sv->conf->max_body;
	for (;;) {
		if (c->inlen == c->incap) {
			if (c->incap >= cap_total) {
				/* full: a request must be in there (try_request answers 413/431) */
				return 0;
			}
			size_t nc = c->incap ? c->incap * 2 : 4096;
			if (nc > cap_total)
				nc = cap_total;
			char *ni = realloc(c->in, nc);
			if (ni == NULL)
				return -1;
			c->in = ni;
			c->incap = nc;
		}
		ssize_t r = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
		if (r > 0) {
			c->inlen += (size_t)r;
			continue;
		}
		if (r == 0) {
			c->eof = 1; /* answer what is buffered, then close */
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -1;
	}
}

/* Writes what the socket takes; returns -1 to drop, 1 when the response is complete, 0 otherwise. */
static int conn_write(struct conn *c)
{
	for (;;) {
		size_t limit = c->out.len;
		if (c->write_limit > 0 && c->write_limit < limit)
			limit = c->write_limit;
		if (c->outoff >= limit) {
			if (c->write_limit > 0)
				return -1; /* truncate fault: stop mid-body */
			if (c->gen_done < c->gen_total) {
				gen_fill(c);
				continue;
			}
			return 1;
		}
		ssize_t w = send(c->fd, c->out.p + c->outoff, limit - c->outoff, MSG_NOSIGNAL);
		if (w > 0) {
			c->outoff += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
}

static int open_listener(const struct emu_config *cf, int *port_out)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("rb-druid-emulator: socket");
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)cf->listen_port);
	if (inet_pton(AF_INET, cf->listen_host, &a.sin_addr) != 1) {
		fprintf(stderr, "rb-druid-emulator: --listen needs a numeric IPv4 address, got \"%s\"\n",
		        cf->listen_host);
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0) {
		perror("rb-druid-emulator: bind/listen");
		close(fd);
		return -1;
	}
	socklen_t al = sizeof a;
	if (getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*port_out = ntohs(a.sin_port);
	return fd;
}

/* Advances one connection after poll; returns -1 when it must be closed. */
static int conn_step(struct server *sv, struct conn *c, short revents, int64_t now)
{
	if (c->st == ST_DELAY) {
		if (now < c->ready_at)
			return 0;
		if (c->close_now)
			return -1;
		c->st = ST_WRITE;
		c->deadline = now + sv->conf->timeout_ms;
	}
	if (c->st == ST_READ) {
		if ((revents & (POLLIN | POLLHUP | POLLERR)) && !c->eof) {
			if (conn_read(sv, c) < 0)
				return -1;
		}
		if (c->inlen > 0 && try_request(sv, c)) {
			if (c->eof)
				c->close_after = 1;
			if (c->st == ST_READ)
				c->st = ST_WRITE; /* protocol error answered */
			if (c->st == ST_WRITE) {
				if (c->close_now)
					return -1;
				c->deadline = now + sv->conf->timeout_ms;
			}
		} else if (c->eof) {
			return -1; /* peer gone with no complete request */
		} else if (now >= c->deadline) {
			if (c->inlen == 0)
				return -1; /* idle keep-alive connection */
			respond_proto(c, 408, "request not received in time");
			c->st = ST_WRITE;
			c->deadline = now + sv->conf->timeout_ms;
		}
	}
	if (c->st == ST_WRITE) {
		size_t before = c->outoff;
		int w = conn_write(c);
		if (w < 0)
			return -1;
		if (w == 1) {
			if (c->close_after)
				return -1;
			conn_reset_out(c);
			c->st = ST_READ;
			c->deadline = now + sv->conf->timeout_ms;
			/* a pipelined request may already be buffered */
			if (c->inlen > 0)
				return conn_step(sv, c, 0, now);
			return 0;
		}
		if (c->outoff != before)
			c->deadline = now + sv->conf->timeout_ms;
		else if (now >= c->deadline)
			return -1;
	}
	return 0;
}

int emu_http_serve(const struct emu_config *cf)
{
	struct server sv;
	memset(&sv, 0, sizeof sv);
	sv.conf = cf;
	emu_buf_init(&sv.last_query, cf->max_body + 1);
	int port;
	sv.lfd = open_listener(cf, &port);
	if (sv.lfd < 0)
		return 1;
	if (cf->log_path != NULL) {
		sv.log = strcmp(cf->log_path, "-") == 0 ? stderr : fopen(cf->log_path, "a");
		if (sv.log == NULL) {
			perror("rb-druid-emulator: --log");
			close(sv.lfd);
			return 1;
		}
	}
	sv.conns = calloc((size_t)cf->max_conns, sizeof *sv.conns);
	struct pollfd *pfd = calloc((size_t)cf->max_conns + 1, sizeof *pfd);
	if (sv.conns == NULL || pfd == NULL) {
		free(sv.conns);
		free(pfd);
		close(sv.lfd);
		return 1;
	}
	for (int i = 0; i < cf->max_conns; i++)
		sv.conns[i].fd = -1;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	printf("listening %s:%d\n", cf->listen_host, port);
	fflush(stdout);

	while (!g_stop) {
		int64_t now = now_ms();
		int np = 0;
		int64_t next = now + 1000;
		pfd[np].fd = sv.nconns < cf->max_conns ? sv.lfd : -1;
		pfd[np].events = POLLIN;
		np++;
		for (int i = 0; i < cf->max_conns; i++) {
			struct conn *c = &sv.conns[i];
			pfd[np].fd = c->fd;
			pfd[np].events = 0;
			pfd[np].revents = 0;
			if (c->fd >= 0) {
				if (c->st == ST_READ)
					pfd[np].events = POLLIN;
				else if (c->st == ST_WRITE)
					pfd[np].events = POLLOUT;
				int64_t t = c->st == ST_DELAY ? c->ready_at : c->deadline;
				if (t < next)
					next = t;
			}
			np++;
		}
		int timeout = next > now ? (int)(next - now) : 0;
		int r = poll(pfd, (nfds_t)np, timeout);
		if (r < 0 && errno != EINTR)
			break;
		now = now_ms();
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			for (;;) {
				int fd = accept(sv.lfd, NULL, NULL);
				if (fd < 0)
					break;
				fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
				fcntl(fd, F_SETFD, FD_CLOEXEC);
				int one = 1;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
				conn_open(&sv, fd);
				if (sv.nconns >= cf->max_conns)
					break;
			}
		}
		for (int i = 0; i < cf->max_conns; i++) {
			struct conn *c = &sv.conns[i];
			if (c->fd < 0)
				continue;
			short rev = r > 0 ? pfd[i + 1].revents : 0;
			if (pfd[i + 1].fd != c->fd)
				rev = 0; /* accepted during this round */
			if (conn_step(&sv, c, rev, now) < 0) {
				conn_close(c);
				sv.nconns--;
			}
		}
	}
	for (int i = 0; i < cf->max_conns; i++)
		if (sv.conns[i].fd >= 0)
			conn_close(&sv.conns[i]);
	free(sv.conns);
	free(pfd);
	close(sv.lfd);
	emu_buf_free(&sv.last_query);
	if (sv.log != NULL && sv.log != stderr)
		fclose(sv.log);
	return 0;
}
