/*
 * emulator_http: the HTTP side of rb-druid-emulator, through the real
 * process: keep-alive, pipelining, routes, hostile clients (garbage, huge
 * bodies, missing lengths, chunked, a slowloris that is cut off while other
 * clients are still served), the request log and /__last_query, and every
 * fault-injection mode the service's tests rely on. Each process must still
 * exit cleanly on SIGTERM at the end (no crash, no sanitizer report).
 * argv[1] is the emulator executable.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu_testlib.h"
#include "testutil.h"

#define Q_SMALL                                                                                        \
	"{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"intervals\":"                        \
	"\"2023-09-21T09:00Z/2023-09-21T09:05Z\",\"granularity\":\"minute\",\"aggregations\":"          \
	"[{\"type\":\"longSum\",\"name\":\"bytes\",\"fieldName\":\"sum_bytes\"}]}"

/* Sends raw bytes on a fresh connection and returns everything answered before close/silence. */
static char *raw(int port, const char *data, size_t len, int wait_ms)
{
	int fd = et_connect(port);
	et_send(fd, data, len);
	size_t n;
	char *r = et_recv_all(fd, wait_ms, &n);
	close(fd);
	return r;
}

static void health(struct emu_proc *p)
{
	struct et_resp r = et_get(p, "/status/health");
	CHECKF(r.curl_code == 0 && r.status == 200 && strcmp(r.body, "true") == 0, "health: %ld %s", r.status,
	       r.body);
	et_resp_free(&r);
}

static void test_protocol(const char *exe, const char *logpath)
{
	static const char *const args[] = {"--timeout-ms", "400", "--max-body", "65536", "--log", NULL, NULL};
	const char *a[7];
	memcpy(a, args, sizeof a);
	a[5] = logpath;
	struct emu_proc p;
	et_start(&p, exe, a);

	/* keep-alive: three requests, one connection */
	for (int i = 0; i < 3; i++) {
		struct et_resp r = et_post(&p, "/druid/v2/", Q_SMALL, 0);
		CHECK(r.status == 200 && r.body[0] == '[');
		CHECK(i == 0 || r.new_connects == 0);
		et_resp_free(&r);
	}
	/* /__last_query gives back the last body verbatim */
	const char *odd = "  {\"queryType\":\"timeseries\", \"x\":\"\\u00e9\\n\"}\n\n";
	struct et_resp r = et_post(&p, "/druid/v2?pretty", odd, 0);
	CHECK(r.status == 400);
	et_resp_free(&r);
	r = et_get(&p, "/__last_query");
	CHECK(r.status == 200 && r.len == strlen(odd) && memcmp(r.body, odd, r.len) == 0);
	et_resp_free(&r);
	/* routes */
	r = et_get(&p, "/druid/v2/");
	CHECK(r.status == 405);
	et_resp_free(&r);
	r = et_get(&p, "/nope");
	CHECK(r.status == 404);
	et_resp_free(&r);

	/* pipelining: two requests in one write, two answers in order */
	const char two[] = "GET /status/health HTTP/1.1\r\nHost: x\r\n\r\n"
	                   "POST /druid/v2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
	char *ans = raw(p.port, two, sizeof two - 1, 2000);
	char *second = strstr(ans, "HTTP/1.1 400");
	CHECKF(strncmp(ans, "HTTP/1.1 200", 12) == 0 && second != NULL && strstr(ans, "\r\n\r\ntrue") < second,
	       "pipelined: %s", ans);
	free(ans);

	/* Expect: 100-continue gets an interim answer before the body is sent */
	int fd = et_connect(p.port);
	const char head[] = "POST /druid/v2/ HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
	et_send(fd, head, sizeof head - 1);
	char buf[64] = {0};
	CHECK(recv(fd, buf, sizeof buf - 1, 0) > 0 && strncmp(buf, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
	et_send(fd, "{}", 2);
	size_t n;
	ans = et_recv_all(fd, 500, &n);
	CHECK(strncmp(ans, "HTTP/1.1 400", 12) == 0);
	free(ans);
	close(fd);

	/* hostile: garbage, binary, huge, missing length, chunked, bad length, long head */
	static const struct {
		const char *send;
		const char *want;
	} H[] = {
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n", "HTTP/1.1 400"},
		{"GARBAGE\r\n\r\n", "HTTP/1.1 400"},
		{"GET / HTTP/9.9\r\n\r\n", "HTTP/1.1 400"},
		{"POST /druid/v2/ HTTP/1.1\r\nHost: x\r\n\r\n{}", "HTTP/1.1 411"},
		{"POST /druid/v2/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", "HTTP/1.1 501"},
		{"POST /druid/v2/ HTTP/1.1\r\nContent-Length: -5\r\n\r\n", "HTTP/1.1 400"},
		{"POST /druid/v2/ HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "HTTP/1.1 400"},
		{"POST /druid/v2/ HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", "HTTP/1.1 413"},
		{"POST /druid/v2/ HTTP/1.1\r\nContent-Length: 70000\r\n\r\n", "HTTP/1.1 413"},
		{"GET /status/health HTTP/1.1\r\nBad Header\r\n\r\n", "HTTP/1.1 400"},
	};
	for (size_t i = 0; i < sizeof H / sizeof H[0]; i++) {
		ans = raw(p.port, H[i].send, strlen(H[i].send), 1000);
		CHECKF(strncmp(ans, H[i].want, strlen(H[i].want)) == 0, "case %zu: got \"%.60s\"", i, ans);
		free(ans);
	}
	/* a head that never ends: 431 once past the cap */
	char *big = malloc(40000);
	CHECK(big != NULL);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memset(big + 19, 'a', 40000 - 19);
	ans = raw(p.port, big, 40000, 1000);
	CHECKF(strncmp(ans, "HTTP/1.1 431", 12) == 0, "long head: %.40s", ans);
	free(ans);
	free(big);
	/* a too-large body through libcurl: 413 */
	char *huge = malloc(200001);
	CHECK(huge != NULL);
	memset(huge, ' ', 200000);
	huge[0] = '{';
	huge[199999] = '}';
	huge[200000] = '\0';
	r = et_post(&p, "/druid/v2/", huge, 0);
	CHECKF(r.status == 413, "huge body: %ld", r.status);
	et_resp_free(&r);
	free(huge);
	/* deep nesting in an accepted body: a 400, not a crash */
	char deep[60000];
	memset(deep, '[', sizeof deep - 1);
	deep[sizeof deep - 1] = '\0';
	r = et_post(&p, "/druid/v2/", deep, 0);
	CHECK(r.status == 400);
	et_resp_free(&r);

	/* slowloris: a request trickled in is cut off with 408, other clients are served meanwhile */
	int slow = et_connect(p.port);
	et_send(slow, "POST /druid/v2/ HTTP/1.1\r\nHost: x\r\n", 34);
	health(&p);
	struct et_resp q = et_post(&p, "/druid/v2/", Q_SMALL, 0);
	CHECK(q.status == 200);
	et_resp_free(&q);
	ans = et_recv_all(slow, 3000, &n);
	CHECKF(strncmp(ans, "HTTP/1.1 408", 12) == 0, "slowloris: \"%.40s\"", ans);
	free(ans);
	close(slow);
	/* a client that connects and says nothing is dropped without an answer */
	int mute = et_connect(p.port);
	ans = et_recv_all(mute, 3000, &n);
	CHECK(n == 0);
	free(ans);
	close(mute);
	health(&p);
	et_stop(&p);

	/* the log: one JSON line per request; the odd body comes back exactly */
	size_t llen;
	char *log = tu_read_file(logpath, &llen);
	int found = 0, lines = 0;
	for (char *line = log, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		CHECK(nl != NULL);
		*nl = '\0';
		lines++;
		json_t *j = json_loads(line, 0, NULL);
		CHECKF(json_is_object(j), "log line not JSON: %s", line);
		const char *body = json_string_value(json_object_get(j, "body"));
		CHECK(body != NULL);
		if (strcmp(body, odd) == 0 && json_integer_value(json_object_get(j, "status")) == 400 &&
		    strcmp(json_string_value(json_object_get(j, "path")), "/druid/v2") == 0)
			found = 1;
		json_decref(j);
	}
	CHECK(found && lines >= 8);
	free(log);
}

static void test_faults(const char *exe)
{
	struct emu_proc p;
	/* garbage: 200 with a body that is not JSON */
	static const char *const garbage[] = {"--fault", "garbage", NULL};
	et_start(&p, exe, garbage);
	struct et_resp r = et_post(&p, "/druid/v2/", Q_SMALL, 0);
	CHECK(r.curl_code == 0 && r.status == 200 && json_loads(r.body, 0, NULL) == NULL);
	et_resp_free(&r);
	health(&p); /* faults hit only the query route */
	et_stop(&p);
	/* status: the code asked for, Druid-shaped body */
	static const char *const status[] = {"--fault", "status", "503", NULL};
	et_start(&p, exe, status);
	r = et_post(&p, "/druid/v2/", Q_SMALL, 0);
	json_t *j = json_loads(r.body, 0, NULL);
	CHECK(r.status == 503 && json_is_string(json_object_get(j, "errorMessage")) &&
	      json_object_get(j, "host") != NULL);
	json_decref(j);
	et_resp_free(&r);
	et_stop(&p);
	/* oversized: exactly N bytes of valid JSON */
	static const char *const over[] = {"--fault", "oversized", "1000001", NULL};
	et_start(&p, exe, over);
	r = et_post(&p, "/druid/v2/", Q_SMALL, 0);
	CHECKF(r.status == 200 && r.len == 1000001, "oversized: %ld %zu", r.status, r.len);
	j = json_loads(r.body, 0, NULL);
	CHECK(json_is_array(j) && json_array_size(j) > 13000);
	json_decref(j);
	et_resp_free(&r);
	r = et_post(&p, "/druid/v2/", Q_SMALL, 0); /* and again on the same connection */
	CHECK(r.status == 200 && r.len == 1000001 && r.new_connects == 0);
	et_resp_free(&r);
	et_stop(&p);
	/* close: nothing at all */
	static const char *const cl[] = {"--fault", "close", NULL};
	et_start(&p, exe, cl);
	r = et_post(&p, "/druid/v2/", Q_SMALL, 0);
	CHECKF(r.curl_code == CURLE_GOT_NOTHING, "close: curl %d", r.curl_code);
	et_resp_free(&r);
	health(&p);
	et_stop(&p);
	/* truncate: the length promised, half the body, then close */
	static const char *const tr[] = {"--fault", "truncate", NULL};
	et_start(&p, exe, tr);
	r = et_post(&p, "/druid/v2/", Q_SMALL, 0);
	CHECKF(r.curl_code == CURLE_PARTIAL_FILE, "truncate: curl %d", r.curl_code);
	et_resp_free(&r);
	et_stop(&p);
	/* delay: a client with a shorter timeout gives up; a patient one gets the real answer */
	static const char *const dl[] = {"--fault-delay-ms", "600", NULL};
	et_start(&p, exe, dl);
	r = et_post(&p, "/druid/v2/", Q_SMALL, 150);
	CHECKF(r.curl_code == CURLE_OPERATION_TIMEDOUT, "delay: curl %d", r.curl_code);
	et_resp_free(&r);
	health(&p); /* not blocked by the delayed answer */
	r = et_post(&p, "/druid/v2/", Q_SMALL, 5000);
	CHECK(r.curl_code == 0 && r.status == 200 && r.body[0] == '[');
	et_resp_free(&r);
	et_stop(&p);
}

int main(int argc, char **argv)
{
	CHECKF(argc == 2, "usage: %s path/to/rb-druid-emulator", argv[0]);
	char logpath[] = "/tmp/rb-emu-log-XXXXXX";
	int lfd = mkstemp(logpath);
	CHECK(lfd >= 0);
	close(lfd);
	test_protocol(argv[1], logpath);
	unlink(logpath);
	test_faults(argv[1]);
	printf("emulator_http: ok\n");
	return 0;
}
