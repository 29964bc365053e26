/*
 * test_worker_deadline: the worker's request phases (fcgi/worker.c, reached by
 * including the file), in-process over a socketpair that plays the web server:
 *   - a connection handed to libfcgi the way worker_serve does (ipcFd set,
 *     keepConnection 1, listen socket -1) has its params read by FCGX_Accept_r;
 *   - params that stop half-way (between two params, where libfcgi alone
 *     would return the request): accept_params fails when the params alarm
 *     fires, within 300 ms of a 200 ms limit, with alarm_fired set;
 *   - a body without CONTENT_LENGTH is read to the end of stdin; one over the
 *     cap reports too_large; a body that stalls is dropped by the body clock
 *     (expired) near body_grace_ms;
 *   - the body clock's chunk size and its "already late" answer;
 *   - FCGI_WEB_SERVER_ADDRS (peer_allowed).
 */
#include "fcgi/worker.c"

#include <arpa/inet.h>
#include <sys/un.h>

#include "testutil.h"

static size_t rec(unsigned char *out, int type, const void *content, size_t len)
{
	unsigned char pad = (unsigned char)((8 - len % 8) % 8);
	unsigned char h[8] = {1, (unsigned char)type, 0, 1, (unsigned char)(len >> 8),
	                      (unsigned char)len, pad, 0};
	memcpy(out, h, 8);
	if (len > 0)
		memcpy(out + 8, content, len);
	memset(out + 8 + len, 0, pad);
	return 8 + len + pad;
}

static size_t nv(unsigned char *out, const char *n, const char *v)
{
	size_t ln = strlen(n), lv = strlen(v);
	out[0] = (unsigned char)ln;
	out[1] = (unsigned char)lv;
	memcpy(out + 2, n, ln);
	memcpy(out + 2 + ln, v, lv);
	return 2 + ln + lv;
}

/* BEGIN_REQUEST and the params of a POST without CONTENT_LENGTH; returns the length. */
static size_t head(unsigned char *out)
{
	static const unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0};
	unsigned char p[256];
	size_t pl = nv(p, "REQUEST_METHOD", "POST");
	pl += nv(p + pl, "REQUEST_URI", "/api/v1/outliers");
	size_t n = rec(out, 1, begin, sizeof begin);
	n += rec(out + n, 4, p, pl);
	n += rec(out + n, 4, NULL, 0);
	return n;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* A request on a fresh socketpair, handed over as worker_serve does; sv[0] is the peer. */
static void hand_over(FCGX_Request *fr, int sv[2])
{
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(FCGX_InitRequest(fr, -1, FCGI_FAIL_ACCEPT_ON_INTR) == 0);
	fr->ipcFd = sv[1];
	fr->keepConnection = 1;
}

static void write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		CHECK(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

int main(void)
{
	CHECK(FCGX_Init() == 0);
	alarm_setup();
	struct rb_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.body_grace_ms = 2000;
	cfg.body_min_rate = 4096;
	cfg.body_timeout_ms = 60000;
	struct body_clock bc;

	/* the chunk: half of what the rate gives in the grace time, within 1 .. 1 MiB */
	body_clock_start(&bc, &cfg);
	CHECK(bc.chunk == 4096);
	cfg.body_min_rate = 0;
	body_clock_start(&bc, &cfg);
	CHECK(bc.chunk == (1u << 20));
	cfg.body_min_rate = 1ull << 30;
	body_clock_start(&bc, &cfg);
	CHECK(bc.chunk == (1u << 20));
	cfg.body_min_rate = 1;
	cfg.body_grace_ms = 0;
	body_clock_start(&bc, &cfg);
	CHECK(bc.chunk == 1);
	CHECK(body_clock_arm(&bc) == -1 && bc.expired); /* no grace, nothing read: late */
	cfg.body_grace_ms = 2000;
	cfg.body_min_rate = 4096;

	/* a body without CONTENT_LENGTH, read to the end of stdin */
	unsigned char *msg = malloc(1 << 20);
	CHECK(msg != NULL);
	struct worker_state ws;
	memset(&ws, 0, sizeof ws);
	ws.pid = 1;
	FCGX_Request fr;
	int sv[2];
	hand_over(&fr, sv);
	size_t n = head(msg);
	char part[1000];
	memset(part, 'a', sizeof part);
	for (int i = 0; i < 100; i++)
		n += rec(msg + n, 5, part, sizeof part);
	n += rec(msg + n, 5, NULL, 0);
	write_all(sv[0], msg, n);
	alarm_arm(1000);
	CHECK(FCGX_Accept_r(&fr) == 0);
	CHECK(strcmp(FCGX_GetParam("REQUEST_METHOD", fr.envp), "POST") == 0);
	CHECK(FCGX_GetParam("CONTENT_LENGTH", fr.envp) == NULL);
	body_clock_start(&bc, &cfg);
	size_t len = 0;
	int too_large = -1;
	char *body = read_body_unsized(&ws, &bc, fr.in, 1 << 20, &len, &too_large);
	alarm_disarm();
	CHECKF(body != NULL && len == 100000 && !too_large, "len %zu", len);
	CHECK(body[0] == 'a' && body[len - 1] == 'a' && body[len] == '\0');
	FCGX_Finish_r(&fr);
	close(sv[0]);

	/* ... over the cap */
	hand_over(&fr, sv);
	write_all(sv[0], msg, n);
	alarm_arm(1000);
	CHECK(FCGX_Accept_r(&fr) == 0);
	body_clock_start(&bc, &cfg);
	body = read_body_unsized(&ws, &bc, fr.in, 5000, &len, &too_large);
	alarm_disarm();
	CHECK(body == NULL && too_large == 1 && bc.got == 5001);
	FCGX_Finish_r(&fr);
	close(sv[0]);

	/* a body that stalls after 1000 bytes (grace 200 ms, 4096 bytes/s: chunks of 409): dropped
	 * at grace + 818 / rate = 400 ms, the bytes of the chunk in progress not yet counted */
	hand_over(&fr, sv);
	n = head(msg);
	n += rec(msg + n, 5, part, sizeof part);
	write_all(sv[0], msg, n);
	alarm_arm(1000);
	CHECK(FCGX_Accept_r(&fr) == 0);
	cfg.body_grace_ms = 200;
	body_clock_start(&bc, &cfg);
	double t0 = now_ms();
	body = read_body_unsized(&ws, &bc, fr.in, 1 << 20, &len, &too_large);
	double took = now_ms() - t0;
	alarm_disarm();
	CHECKF(body == NULL && bc.expired && bc.got == 1000, "expired %d got %llu", bc.expired,
	       bc.got);
	CHECKF(took >= 395 && took < 800, "body dropped after %.0f ms, wanted ~400", took);
	FCGX_Finish_r(&fr);
	close(sv[0]);

	/* params that stop half-way: FCGX_Accept_r gives up when the alarm fires */
	hand_over(&fr, sv);
	n = head(msg);
	write_all(sv[0], msg, n / 2);
	t0 = now_ms();
	alarm_arm(200);
	int rc = accept_params(&fr);
	took = now_ms() - t0;
	alarm_disarm();
	CHECKF(rc < 0 && alarm_fired && fr.ipcFd < 0, "rc %d fired %d fd %d", rc, (int)alarm_fired,
	       fr.ipcFd);
	CHECKF(took >= 195 && took < 500, "params dropped after %.0f ms, wanted ~200", took);
	close(sv[0]);
	FCGX_Free(&fr, 0);

	/* FCGI_WEB_SERVER_ADDRS */
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	in->sin_family = AF_INET;
	CHECK(inet_pton(AF_INET, "10.0.0.2", &in->sin_addr) == 1);
	CHECK(peer_allowed(&ws, &ss)); /* no list */
	ws.web_addrs = "127.0.0.1,10.0.0.2";
	CHECK(peer_allowed(&ws, &ss));
	CHECK(inet_pton(AF_INET, "10.0.0.3", &in->sin_addr) == 1);
	CHECK(!peer_allowed(&ws, &ss));
	ss.ss_family = AF_UNIX;
	CHECK(peer_allowed(&ws, &ss));

	free(ws.body);
	free(msg);
	return 0;
}
