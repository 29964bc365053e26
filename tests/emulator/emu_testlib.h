/*
 * emu_testlib: helpers for the rb-druid-emulator tests: start the real
 * process on 127.0.0.1 port 0 and learn its port, stop it and check it exited
 * cleanly, HTTP through a kept-alive libcurl handle, raw sockets for hostile
 * clients. Failures exit through CHECK (tests/testutil.h).
 */
#ifndef RB_EMU_TESTLIB_H
#define RB_EMU_TESTLIB_H

#include <stddef.h>
#include <sys/types.h>

struct emu_proc {
	pid_t pid;
	int port;
	void *curl; /* CURL *, reused so requests share one keep-alive connection */
};

/* Starts `exe --listen 127.0.0.1:0 [args...]` (args NULL-terminated); exits the test on failure. */
void et_start(struct emu_proc *p, const char *exe, const char *const *args);
/* SIGTERM, wait, CHECK a clean exit 0 (a crash or sanitizer report fails the test). */
void et_stop(struct emu_proc *p);

struct et_resp {
	long status;
	char *body; /* NUL-terminated, malloc'd */
	size_t len;
	int curl_code; /* CURLcode of the transfer */
	long new_connects;
};

/* POSTs body to path (e.g. "/druid/v2/") on the kept-alive handle; timeout_ms 0 = 10 s. */
struct et_resp et_post(struct emu_proc *p, const char *path, const char *body, long timeout_ms);
/* GET on the same handle. */
struct et_resp et_get(struct emu_proc *p, const char *path);
void et_resp_free(struct et_resp *r);

/* Raw TCP: connect to the emulator; returns the fd. */
int et_connect(int port);
/* Sends all bytes (ignores EPIPE: the server may have answered and closed). */
void et_send(int fd, const void *data, size_t len);
/* Reads until EOF or timeout_ms of silence; returns malloc'd NUL-terminated text, *len set. */
char *et_recv_all(int fd, int timeout_ms, size_t *len);

#endif
