/*
 * emu_testlib: process control, libcurl and raw-socket helpers for the
 * rb-druid-emulator tests (see emu_testlib.h). Test code only.
 */
#include "emu_testlib.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

void et_start(struct emu_proc *p, const char *exe, const char *const *args)
{
	const char *argv[32];
	int n = 0;
	argv[n++] = exe;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	for (int i = 0; args != NULL && args[i] != NULL && n < 30; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int fds[2];
	CHECK(pipe(fds) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* a test that fails exits at once: take the emulator down with it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	char line[128];
	size_t len = 0;
	struct pollfd pf = {fds[0], POLLIN, 0};
	while (len + 1 < sizeof line) {
		CHECKF(poll(&pf, 1, 10000) == 1, "emulator did not print its port");
		ssize_t r = read(fds[0], line + len, 1);
		CHECKF(r == 1, "emulator exited before listening");
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	close(fds[0]);
	int port = 0;
	CHECKF(sscanf(line, "listening 127.0.0.1:%d", &port) == 1 && port > 0, "bad banner: %s", line);
	p->pid = pid;
	p->port = port;
	p->curl = curl_easy_init();
	CHECK(p->curl != NULL);
}

void et_stop(struct emu_proc *p)
{
	if (p->curl != NULL)
		curl_easy_cleanup(p->curl);
	p->curl = NULL;
	CHECK(kill(p->pid, SIGTERM) == 0);
	int st = 0;
	CHECK(waitpid(p->pid, &st, 0) == p->pid);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "emulator did not exit cleanly (status 0x%x)", st);
}

struct sink {
	char *p;
	size_t len;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
	struct sink *s = user;
	size_t n = size * nmemb;
	char *np = realloc(s->p, s->len + n + 1);
	CHECK(np != NULL);
	memcpy(np + s->len, data, n);
	s->p = np;
	s->len += n;
	s->p[s->len] = '\0';
	return n;
}

static struct et_resp perform(struct emu_proc *p, const char *path, const char *body, long timeout_ms)
{
	CURL *c = p->curl;
	char url[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p->port, path);
	struct sink s = {calloc(1, 1), 0};
	CHECK(s.p != NULL);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	struct et_resp r = {0, NULL, 0, 0, 0};
	r.curl_code = (int)curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r.new_connects);
	curl_slist_free_all(h);
	r.body = s.p;
	r.len = s.len;
	return r;
}

struct et_resp et_post(struct emu_proc *p, const char *path, const char *body, long timeout_ms)
{
	return perform(p, path, body, timeout_ms);
}

struct et_resp et_get(struct emu_proc *p, const char *path)
{
	return perform(p, path, NULL, 0);
}

void et_resp_free(struct et_resp *r)
{
	free(r->body);
	r->body = NULL;
}

int et_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
	return fd;
}

void et_send(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* peer closed: the caller checks what was answered */
		p += w;
		len -= (size_t)w;
	}
}

char *et_recv_all(int fd, int timeout_ms, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	CHECK(buf != NULL);
	struct pollfd pf = {fd, POLLIN, 0};
	for (;;) {
		if (poll(&pf, 1, timeout_ms) != 1)
			break;
		if (n + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			CHECK(buf != NULL);
		}
		ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}
