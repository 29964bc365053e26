/*
 * test_druid_client: the Druid HTTP client against a real HTTP server on
 * loopback: success, request bytes and headers, keep-alive, reconnection,
 * refused and unresolvable brokers, timeout, the answer cap (by
 * Content-Length and by streaming, at the exact boundary), Druid error
 * bodies, garbage and empty answers.
 *
 * The server is a fixture of this test (not the Druid emulator of
 * tests/emulator/): a forked process listening on 127.0.0.1:0 that forks
 * once per connection and serves HTTP/1.1 keep-alive. It answers a POST to
 * /druid/v2/ according to the request body: a body starting with '@' is a
 * command (below), any other body is echoed back byte for byte when the
 * request carried "Content-Type: application/json" and
 * "Accept: application/json" (else 415).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "rb/druid/druid_client.h"
#include "testutil.h"

#define CAP ((size_t)1 << 20) /* answer cap used by these tests */
#define REQ_MAX ((size_t)4 << 20)

/* ---- the fixture server (runs in child processes) ---- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int respond(int fd, int status, const char *extra_headers, const char *body, size_t len)
{
	char head[512];
	const char *reason = status == 200 ? "OK" : "Error";
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\n%s\r\n",
	                 status, reason, len, extra_headers);
	if (write_all(fd, head, (size_t)n) != 0)
		return -1;
	return write_all(fd, body, len);
}

static int send_filler(int fd, size_t n)
{
	static char chunk[65536];
	memset(chunk, 'x', sizeof chunk);
	while (n > 0) {
		size_t k = n < sizeof chunk ? n : sizeof chunk;
		if (write_all(fd, chunk, k) != 0)
			return -1;
		n -= k;
	}
	return 0;
}

struct req {
	char *buf;        /* REQ_MAX + 1 bytes */
	size_t head_len;  /* bytes up to and including the blank line */
	char path[256];
	char method[16];
	char content_type[128];
	char accept[128];
	char expect[64];
	size_t content_length;
	const char *body;
};

/* Copies the value of header name (case-insensitive) from the head into dst; "" when absent. */
static void header(const char *head, size_t head_len, const char *name, char *dst, size_t cap)
{
	dst[0] = '\0';
	size_t nl = strlen(name);
	const char *p = head, *end = head + head_len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = (size_t)(eol - v);
			if (vl > 0 && v[vl - 1] == '\r')
				vl--;
			if (vl >= cap)
				vl = cap - 1;
			memcpy(dst, v, vl);
			dst[vl] = '\0';
			return;
		}
		p = eol + 1;
	}
}

/* 1: a request was read; 0: the client closed the connection; -1: malformed. */
static int read_request(int fd, struct req *r)
{
	size_t len = 0;
	char *end = NULL;
	while (end == NULL) {
		if (len == REQ_MAX)
			return -1;
		ssize_t got = read(fd, r->buf + len, REQ_MAX - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return len == 0 ? 0 : -1;
		len += (size_t)got;
		r->buf[len] = '\0';
		end = strstr(r->buf, "\r\n\r\n");
	}
	r->head_len = (size_t)(end - r->buf) + 4;
	if (sscanf(r->buf, "%15s %255s", r->method, r->path) != 2)
		return -1;
	char cl[32];
	header(r->buf, r->head_len, "Content-Length", cl, sizeof cl);
	header(r->buf, r->head_len, "Content-Type", r->content_type, sizeof r->content_type);
	header(r->buf, r->head_len, "Accept", r->accept, sizeof r->accept);
	header(r->buf, r->head_len, "Expect", r->expect, sizeof r->expect);
	r->content_length = (size_t)strtoul(cl, NULL, 10);
	if (r->content_length > REQ_MAX - r->head_len)
		return -1;
	while (len < r->head_len + r->content_length) {
		ssize_t got = read(fd, r->buf + len, r->head_len + r->content_length - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		len += (size_t)got;
	}
	r->buf[len] = '\0';
	r->body = r->buf + r->head_len;
	return 1;
}

static int is_cmd(const struct req *r, const char *cmd)
{
	size_t n = strlen(cmd);
	return r->content_length >= n && memcmp(r->body, cmd, n) == 0;
}

/* Serves one connection; conn is its number (1 = first accepted by this fixture). */
static void serve_conn(int fd, unsigned conn)
{
	struct req r;
	memset(&r, 0, sizeof r);
	r.buf = malloc(REQ_MAX + 1);
	if (r.buf == NULL)
		return;
	for (unsigned nreq = 1;; nreq++) {
		if (read_request(fd, &r) != 1)
			break;
		char msg[256];
		int keep = 1;
		if (strcmp(r.path, "/druid/v2/") != 0) {
			respond(fd, 404, "", "{\"error\":\"no such path\"}", 24);
		} else if (strcmp(r.method, "POST") != 0) {
			respond(fd, 405, "", "{}", 2);
		} else if (is_cmd(&r, "@ok")) {
			const char *b = "[{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"bytes\":1}}]";
			keep = respond(fd, 200, "", b, strlen(b)) == 0;
		} else if (is_cmd(&r, "@conn")) {
			int n = snprintf(msg, sizeof msg, "{\"conn\":%u,\"request\":%u}", conn, nreq);
			keep = respond(fd, 200, "", msg, (size_t)n) == 0;
		} else if (is_cmd(&r, "@closeafter")) {
			int n = snprintf(msg, sizeof msg, "{\"conn\":%u,\"request\":%u}", conn, nreq);
			respond(fd, 200, "Connection: close\r\n", msg, (size_t)n);
			keep = 0;
		} else if (is_cmd(&r, "@idleclose")) {
			/* Announces keep-alive, then drops the connection (an idle timeout). */
			int n = snprintf(msg, sizeof msg, "{\"conn\":%u,\"request\":%u}", conn, nreq);
			respond(fd, 200, "", msg, (size_t)n);
			keep = 0;
		} else if (is_cmd(&r, "@slow")) {
			sleep(10);
			keep = 0;
		} else if (is_cmd(&r, "@size ")) {
			size_t n = (size_t)strtoul(r.body + 6, NULL, 10);
			char head[160];
			int hn = snprintf(head, sizeof head,
			                  "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
			keep = write_all(fd, head, (size_t)hn) == 0 && send_filler(fd, n) == 0;
		} else if (is_cmd(&r, "@stream ")) {
			size_t n = (size_t)strtoul(r.body + 8, NULL, 10);
			const char *head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
			if (write_all(fd, head, strlen(head)) == 0)
				send_filler(fd, n);
			keep = 0;
		} else if (is_cmd(&r, "@err500")) {
			const char *b = "{\"error\":\"Unknown exception\",\"errorMessage\":"
			                "\"Resource limit exceeded.\\n\\tat org.apache.druid.Foo(Foo.java:1)\","
			                "\"errorClass\":\"org.apache.druid.query.ResourceLimitExceededException\","
			                "\"host\":\"historical-secret-host:8083\"}";
			keep = respond(fd, 500, "", b, strlen(b)) == 0;
		} else if (is_cmd(&r, "@err400")) {
			const char *b = "{\"error\":\"druidException\",\"errorCode\":\"invalidInput\","
			                "\"persona\":\"USER\",\"category\":\"INVALID_INPUT\","
			                "\"errorMessage\":\"Unknown aggregator type [longSumm]\",\"context\":{}}";
			keep = respond(fd, 400, "", b, strlen(b)) == 0;
		} else if (is_cmd(&r, "@err502")) {
			const char *b = "<html><body>Bad Gateway</body></html>";
			keep = respond(fd, 502, "", b, strlen(b)) == 0;
		} else if (is_cmd(&r, "@err504")) {
			const char *b = "{\"error\":\"Query timeout\",\"errorMessage\":\"Query [abc] timed out!\"}";
			keep = respond(fd, 504, "", b, strlen(b)) == 0;
		} else if (is_cmd(&r, "@longerr")) {
			char b[6000];
			size_t o = (size_t)snprintf(b, sizeof b, "{\"errorMessage\":\"");
			for (int i = 0; i < 5000; i++)
				b[o++] = (char)('a' + i % 26);
			o += (size_t)snprintf(b + o, sizeof b - o, "\"}");
			keep = respond(fd, 500, "", b, o) == 0;
		} else if (is_cmd(&r, "@close")) {
			keep = 0;
		} else if (is_cmd(&r, "@garbage")) {
			const char *b = "this is not JSON \x01\x02 {[";
			keep = respond(fd, 200, "", b, strlen(b)) == 0;
		} else if (is_cmd(&r, "@empty")) {
			keep = respond(fd, 200, "", "", 0) == 0;
		} else if (strcmp(r.content_type, "application/json") != 0 ||
		           strcmp(r.accept, "application/json") != 0 || r.expect[0] != '\0') {
			int n = snprintf(msg, sizeof msg,
			                 "{\"error\":\"headers\",\"errorMessage\":\"type [%s] accept [%s] "
			                 "expect [%s]\"}",
			                 r.content_type, r.accept, r.expect);
			keep = respond(fd, 415, "", msg, (size_t)n) == 0;
		} else {
			keep = respond(fd, 200, "", r.body, r.content_length) == 0;
		}
		if (!keep)
			break;
	}
	free(r.buf);
}

struct fixture {
	pid_t pid;
	int port;
};

static void fixture_start(struct fixture *fx)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(listen(s, 16) == 0);
	socklen_t al = sizeof a;
	CHECK(getsockname(s, (struct sockaddr *)&a, &al) == 0);
	fx->port = ntohs(a.sin_port);
	fflush(NULL);
	fx->pid = fork();
	CHECK(fx->pid >= 0);
	if (fx->pid > 0) {
		close(s);
		return;
	}
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN); /* connection children are reaped automatically */
	alarm(60);                /* never outlive a stuck test */
	for (unsigned conn = 1;; conn++) {
		int c = accept(s, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		pid_t p = fork();
		if (p == 0) {
#ifdef __linux__
			prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the fixture */
#endif
			alarm(30); /* alarms are not inherited across fork */
			close(s);
			serve_conn(c, conn);
			close(c);
			_exit(0);
		}
		close(c);
	}
}

static void fixture_stop(struct fixture *fx)
{
	/* Connection children die with it (PDEATHSIG) or by their own alarm. */
	kill(fx->pid, SIGKILL);
	waitpid(fx->pid, NULL, 0);
}

/* ---- helpers ---- */

static struct druid *client(const char *url, long timeout_ms)
{
	struct druid_opts o = {
		.url = url, .connect_timeout_ms = timeout_ms < 1000 ? timeout_ms : 1000, .timeout_ms = timeout_ms, .max_response_bytes = CAP};
	struct druid *d = NULL;
	struct rb_err err = {0};
	CHECKF(druid_new(&d, &o, &err) == RB_OK, "%s", err.msg);
	return d;
}

/* Sends the text s; returns the code; *ans (caller frees) / err as druid_query leaves them. */
static enum rb_code ask(struct druid *d, const char *s, char **ans, size_t *len, struct rb_err *err)
{
	*ans = (char *)1; /* must be reset by druid_query */
	*len = 99;
	memset(err, 0, sizeof *err);
	enum rb_code rc = druid_query(d, s, strlen(s), ans, len, err);
	if (rc != RB_OK)
		CHECKF(*ans == NULL && *len == 0, "answer not reset on %s", s);
	return rc;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void expect_fail(struct druid *d, const char *cmd, enum rb_code code, const char *what)
{
	char *ans;
	size_t len;
	struct rb_err err;
	enum rb_code rc = ask(d, cmd, &ans, &len, &err);
	CHECKF(rc == code && err.code == code, "%s: rc %d, want %d (%s)", cmd, rc, code, err.msg);
	CHECKF(strstr(err.msg, what) != NULL, "%s: \"%s\" lacks \"%s\"", cmd, err.msg, what);
	for (const char *p = err.msg; *p != '\0'; p++)
		CHECKF(*p >= 0x20 && *p < 0x7f, "%s: control byte in \"%s\"", cmd, err.msg);
}

/* How d's last query ended (druid_stats.last, counted by the daemon's metrics). */
static enum druid_outcome last_outcome(const struct druid *d)
{
	struct druid_stats st;
	druid_get_stats(d, &st);
	return st.last;
}

/* ---- tests ---- */

static void test_success_and_request_bytes(const char *url)
{
	struct druid *d = client(url, 5000);
	char *ans;
	size_t len;
	struct rb_err err;

	CHECKF(ask(d, "@ok", &ans, &len, &err) == RB_OK, "%s", err.msg);
	CHECK(strcmp(ans, "[{\"timestamp\":\"2023-09-21T09:00:00.000Z\",\"result\":{\"bytes\":1}}]") == 0);
	CHECK(len == strlen(ans));
	free(ans);

	/* The fixture echoes the body only if Content-Type/Accept are JSON and no Expect was sent. */
	const char *q = "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"
	                "[\"2023-09-21T09:00:00+00:00/2023-09-21T10:00:00+00:00\"],\"granularity\":\"minute\"}";
	CHECKF(ask(d, q, &ans, &len, &err) == RB_OK, "%s", err.msg);
	CHECKF(len == strlen(q) && memcmp(ans, q, len) == 0, "echo differs: %s", ans);
	free(ans);

	/* A large body (curl would add Expect: 100-continue above 1 KiB unless told not to). */
	size_t big = 300000;
	char *body = malloc(big + 1);
	CHECK(body != NULL);
	for (size_t i = 0; i < big; i++)
		body[i] = (char)('a' + i % 26);
	body[0] = '{';
	body[big] = '\0';
	CHECKF(druid_query(d, body, big, &ans, &len, &err) == RB_OK, "%s", err.msg);
	CHECK(len == big && memcmp(ans, body, big) == 0 && ans[big] == '\0');
	free(ans);
	/* Only len bytes are sent, not up to a NUL. */
	CHECKF(druid_query(d, body, 1000, &ans, &len, &err) == RB_OK, "%s", err.msg);
	CHECK(len == 1000 && memcmp(ans, body, 1000) == 0);
	free(ans);
	free(body);

	struct druid_stats st;
	druid_get_stats(d, &st);
	CHECKF(st.requests == 4 && st.connects == 1, "requests %lu connects %lu", st.requests,
	       st.connects);
	druid_free(d);
}

static unsigned conn_of(const char *ans, unsigned *request)
{
	unsigned c = 0;
	CHECKF(sscanf(ans, "{\"conn\":%u,\"request\":%u}", &c, request) == 2, "%s", ans);
	return c;
}

static void test_keep_alive(const char *url)
{
	struct druid *d = client(url, 5000);
	char *ans;
	size_t len;
	struct rb_err err;
	unsigned c1, c2, r1, r2;

	/* Two requests, one connection (the fixture counts accepts). */
	CHECKF(ask(d, "@conn", &ans, &len, &err) == RB_OK, "%s", err.msg);
	c1 = conn_of(ans, &r1);
	free(ans);
	CHECKF(ask(d, "@conn", &ans, &len, &err) == RB_OK, "%s", err.msg);
	c2 = conn_of(ans, &r2);
	free(ans);
	CHECKF(c1 == c2 && r1 == 1 && r2 == 2, "conn %u/%u request %u/%u", c1, c2, r1, r2);
	struct druid_stats st;
	druid_get_stats(d, &st);
	CHECK(st.requests == 2 && st.connects == 1);

	/* The server says Connection: close: the next request opens a new connection. */
	CHECKF(ask(d, "@closeafter", &ans, &len, &err) == RB_OK, "%s", err.msg);
	CHECK(conn_of(ans, &r1) == c1 && r1 == 3);
	free(ans);
	CHECKF(ask(d, "@conn", &ans, &len, &err) == RB_OK, "%s", err.msg);
	c2 = conn_of(ans, &r2);
	free(ans);
	CHECK(c2 != c1 && r2 == 1);

	/* The server drops an idle keep-alive connection silently: the next request still works. */
	CHECKF(ask(d, "@idleclose", &ans, &len, &err) == RB_OK, "%s", err.msg);
	c1 = conn_of(ans, &r1);
	free(ans);
	usleep(50 * 1000);
	CHECKF(ask(d, "@conn", &ans, &len, &err) == RB_OK, "after an idle close: %s", err.msg);
	c2 = conn_of(ans, &r2);
	free(ans);
	CHECK(c2 != c1 && r2 == 1);
	druid_get_stats(d, &st);
	CHECKF(st.requests == 6 && st.connects == 3, "requests %lu connects %lu", st.requests,
	       st.connects);
	druid_free(d);
}

static void test_caps(const char *url)
{
	struct druid *d = client(url, 5000);
	char *ans;
	size_t len;
	struct rb_err err;
	char cmd[64];

	/* Exactly the cap passes, by Content-Length and by streaming to close. */
	snprintf(cmd, sizeof cmd, "@size %zu", CAP);
	CHECKF(ask(d, cmd, &ans, &len, &err) == RB_OK, "%s", err.msg);
	CHECK(len == CAP && ans[0] == 'x' && ans[CAP - 1] == 'x' && ans[CAP] == '\0');
	free(ans);
	snprintf(cmd, sizeof cmd, "@stream %zu", CAP);
	CHECKF(ask(d, cmd, &ans, &len, &err) == RB_OK, "%s", err.msg);
	CHECK(len == CAP);
	free(ans);
	/* One byte more fails, either way, with the cap in the message. */
	char want[64];
	snprintf(want, sizeof want, "Druid answer larger than %zu bytes", CAP);
	snprintf(cmd, sizeof cmd, "@size %zu", CAP + 1);
	expect_fail(d, cmd, RB_E_UPSTREAM, want);
	snprintf(cmd, sizeof cmd, "@stream %zu", CAP + 1);
	expect_fail(d, cmd, RB_E_UPSTREAM, want);
	snprintf(cmd, sizeof cmd, "@stream %zu", 8 * CAP);
	expect_fail(d, cmd, RB_E_UPSTREAM, want);
	/* And the handle still works afterwards. */
	CHECKF(ask(d, "@ok", &ans, &len, &err) == RB_OK, "%s", err.msg);
	free(ans);
	druid_free(d);
}

static void test_answers(const char *url)
{
	struct druid *d = client(url, 5000);
	char *ans;
	size_t len;
	struct rb_err err;

	/* A 200 that is not JSON is returned as received: parsing is series_parse's job. */
	CHECKF(ask(d, "@garbage", &ans, &len, &err) == RB_OK, "%s", err.msg);
	CHECK(last_outcome(d) == DRUID_OUTCOME_OK);
	CHECK(strcmp(ans, "this is not JSON \x01\x02 {[") == 0);
	free(ans);
	CHECKF(ask(d, "@empty", &ans, &len, &err) == RB_OK, "%s", err.msg);
	CHECK(len == 0 && ans[0] == '\0');
	free(ans);

	/* Druid errors: its errorMessage, cleaned; never its internal host. */
	expect_fail(d, "@err500", RB_E_UPSTREAM,
	            "answered HTTP 500: Resource limit exceeded. at org.apache.druid.Foo(Foo.java:1)");
	CHECK(last_outcome(d) == DRUID_OUTCOME_HTTP_ERROR);
	CHECK(strstr(err.msg, "historical-secret-host") == NULL);
	expect_fail(d, "@err400", RB_E_INPUT,
	            "Druid rejected the query (HTTP 400): Unknown aggregator type [longSumm]");
	expect_fail(d, "@err504", RB_E_TIMEOUT, "(HTTP 504): Query [abc] timed out!");
	expect_fail(d, "@err502", RB_E_UPSTREAM, "answered HTTP 502");
	{
		memset(&err, 0, sizeof err);
		CHECK(druid_query(d, "@err502", 7, &ans, &len, &err) == RB_E_UPSTREAM);
		CHECKF(strstr(err.msg, "html") == NULL, "%s", err.msg); /* a non-Druid body is not quoted */
	}
	{
		memset(&err, 0, sizeof err);
		CHECK(druid_query(d, "@longerr", 8, &ans, &len, &err) == RB_E_UPSTREAM);
		CHECKF(strstr(err.msg, "abcdefghij") != NULL && strstr(err.msg, "...") != NULL &&
		               strlen(err.msg) < 250,
		       "%s", err.msg);
	}
	expect_fail(d, "@close", RB_E_UPSTREAM, "closed the connection without answering");
	CHECK(last_outcome(d) == DRUID_OUTCOME_BAD_ANSWER);
	CHECKF(ask(d, "@ok", &ans, &len, &err) == RB_OK, "%s", err.msg);
	free(ans);
	druid_free(d);

	/* A wrong path on the broker is the broker's 404, an upstream error (our config). */
	char bad[128];
	snprintf(bad, sizeof bad, "%.*snope/", (int)(strlen(url) - strlen("druid/v2/")), url);
	d = client(bad, 5000);
	expect_fail(d, "@ok", RB_E_UPSTREAM, "answered HTTP 404");
	druid_free(d);
}

static void test_timeout(const char *url)
{
	struct druid *d = client(url, 500);
	double t0 = now_s();
	expect_fail(d, "@slow", RB_E_TIMEOUT, "Druid did not answer within 500 ms");
	CHECK(last_outcome(d) == DRUID_OUTCOME_TIMEOUT);
	double dt = now_s() - t0;
	/* The fixture sleeps 10 s: returning well before means our timeout fired. */
	CHECKF(dt < 5.0, "took %.2f s", dt);
	CHECK(rb_http_status(RB_E_TIMEOUT) == 504);
	/* The handle recovers on a new connection (a few tries: a loaded machine may need
	 * more than 500 ms to fork the fixture's connection process). */
	char *ans = NULL;
	size_t len;
	struct rb_err err;
	enum rb_code rc = RB_E_INTERNAL;
	for (int i = 0; i < 5 && rc != RB_OK; i++)
		rc = ask(d, "@ok", &ans, &len, &err);
	CHECKF(rc == RB_OK, "%s", err.msg);
	free(ans);
	druid_free(d);
}

static void test_unreachable(void)
{
	/* A bound but not listening port refuses connections, and nobody else can take it. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
	socklen_t al = sizeof a;
	CHECK(getsockname(s, (struct sockaddr *)&a, &al) == 0);
	char url[160], hostport[64];
	snprintf(url, sizeof url, "http://druiduser:s3cret@127.0.0.1:%d/druid/v2/", ntohs(a.sin_port));
	snprintf(hostport, sizeof hostport, "127.0.0.1:%d", ntohs(a.sin_port));
	struct druid *d = client(url, 2000);
	CHECK(strcmp(druid_endpoint(d), hostport) == 0);
	char want[128];
	snprintf(want, sizeof want, "Druid broker unreachable at %s (Connection refused)", hostport);
	expect_fail(d, "@ok", RB_E_UPSTREAM, want);
	CHECK(last_outcome(d) == DRUID_OUTCOME_CONNECT);
	char *ans;
	size_t len;
	struct rb_err err;
	ask(d, "@ok", &ans, &len, &err);
	CHECKF(strstr(err.msg, "s3cret") == NULL && strstr(err.msg, "druiduser") == NULL &&
	               strstr(err.msg, "/druid") == NULL,
	       "%s", err.msg);
	CHECK(rb_http_status(err.code) == 502);
	druid_free(d);
	close(s);

	/* .invalid never resolves (RFC 2606). */
	d = client("http://druid-broker.invalid:8082/druid/v2/", 2000);
	CHECK(strcmp(druid_endpoint(d), "druid-broker.invalid:8082") == 0);
	enum rb_code rc = ask(d, "@ok", &ans, &len, &err);
	CHECKF(rc == RB_E_UPSTREAM &&
	               strstr(err.msg, "Druid broker unreachable at druid-broker.invalid:8082 "
	                               "(host name not found)") != NULL,
	       "rc %d: %s", rc, err.msg);
	druid_free(d);
}

static void test_config(void)
{
	static const struct {
		const char *url;
		long connect_ms, total_ms;
		const char *why;
	} bad[] = {
		{NULL, 0, 0, "no Druid broker URL"},
		{"", 0, 0, "no Druid broker URL"},
		{"druid-broker:8082", 0, 0, "not a valid URL"},
		{"ftp://druid-broker:8082/druid/v2/", 0, 0, "must be http or https"},
		{"http://broker:99999/druid/v2/", 0, 0, "not a valid URL"},
		{"http://broker:8082/druid/v2/", -1, 0, "must not be negative"},
		{"http://broker:8082/druid/v2/", 0, -5, "must not be negative"},
		{"http://broker:8082/druid/v2/", 5000, 1000, "longer than the total"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct druid_opts o = {.url = bad[i].url, .connect_timeout_ms = bad[i].connect_ms,
		                       .timeout_ms = bad[i].total_ms};
		struct druid *d = (struct druid *)1;
		struct rb_err err = {0};
		CHECKF(druid_new(&d, &o, &err) == RB_E_CONFIG, "%zu: %s", i, err.msg);
		CHECK(d == NULL);
		CHECKF(strstr(err.msg, bad[i].why) != NULL, "%zu: \"%s\" lacks \"%s\"", i, err.msg,
		       bad[i].why);
	}
	struct druid *d = NULL;
	CHECK(druid_new(&d, NULL, NULL) == RB_E_CONFIG && d == NULL);
	/* Defaults and the default port. */
	struct druid_opts o = {.url = "http://druid-broker.service/druid/v2/"};
	CHECK(druid_new(&d, &o, NULL) == RB_OK);
	CHECK(strcmp(druid_endpoint(d), "druid-broker.service:80") == 0);
	druid_free(d);
	o.url = "https://[::1]:8282/druid/v2/";
	CHECK(druid_new(&d, &o, NULL) == RB_OK);
	CHECKF(strcmp(druid_endpoint(d), "[::1]:8282") == 0, "%s", druid_endpoint(d));
	druid_free(d);
	druid_free(NULL);
}

int main(void)
{
	struct rb_err err = {0};
	CHECKF(druid_global_init(&err) == RB_OK, "%s", err.msg);
	struct fixture fx;
	fixture_start(&fx);
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/druid/v2/", fx.port);

	test_config();
	test_success_and_request_bytes(url);
	test_keep_alive(url);
	test_caps(url);
	test_answers(url);
	test_timeout(url);
	test_unreachable();

	fixture_stop(&fx);
	druid_global_cleanup();
	printf("druid_client: ok\n");
	return 0;
}
