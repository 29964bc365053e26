/*
 * cgi: one request as a CGI program (see rb/fcgi/cgi.h).
 */
#include "rb/fcgi/cgi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rb/fcgi/log.h"
#include "rb/fcgi/route.h"

/* CONTENT_LENGTH as a number: -1 when absent, empty or not a plain decimal. */
static long long cgi_content_length(const char *text)
{
	if (text == NULL || *text == '\0')
		return -1;
	long long v = 0;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > (1LL << 50))
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

/* Reads exactly len bytes of fd into buf: 0, or -1 when it ended or failed first. */
static int read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int cgi_serve(struct app *app, const struct rb_config *cfg)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char rid[40];
	snprintf(rid, sizeof rid, "%ld-1", (long)getpid());
	const char *method = getenv("REQUEST_METHOD");
	const char *uri =
		route_request_path(getenv("REQUEST_URI"), getenv("SCRIPT_NAME"), getenv("PATH_INFO"));
	long long clen = cgi_content_length(getenv("CONTENT_LENGTH"));
	struct app_request req = {method != NULL ? method : "", uri, getenv("CONTENT_TYPE"), NULL, 0,
	                          rid, NULL};
	struct app_response res;
	memset(&res, 0, sizeof res);
	char *body = NULL;
	if (clen > 0 && (unsigned long long)clen > cfg->max_body_bytes) {
		app_too_large(app, (size_t)clen, 1, &res);
	} else {
		if (clen > 0) {
			body = malloc((size_t)clen + 1);
			if (body == NULL || read_all(STDIN_FILENO, body, (size_t)clen) != 0) {
				log_msg(LOG_LVL_WARN, rid, "request body ended before CONTENT_LENGTH %lld",
				        clen);
				free(body);
				return 1;
			}
			body[clen] = '\0';
			req.body = body;
			req.body_len = (size_t)clen;
		}
		app_handle(app, &req, &res);
	}
	char head[512];
	size_t hn = app_response_head(&res, rid, head, sizeof head);
	int rc = write_all(STDOUT_FILENO, head, hn) == 0 &&
	                         (res.body_len == 0 ||
	                          write_all(STDOUT_FILENO, res.body, res.body_len) == 0)
	                 ? 0
	                 : 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	log_msg(res.status >= 500 ? LOG_LVL_WARN : LOG_LVL_INFO, rid, "%s %s %d %zu bytes %.1f ms%s%s%s",
	        req.method, req.uri, res.status, res.body_len, ms, res.model[0] != '\0' ? " model=" : "",
	        res.model, rc != 0 ? " (standard output failed)" : "");
	app_response_release(&res);
	free(body);
	return rc;
}
