/*
 * bench_fcgi_trivial: the ceiling of our FastCGI hosting, for bench/service.sh.
 * A responder that reads the whole request body, discards it and answers a
 * fixed small JSON, with the same process shape as the daemon (a master and
 * WORKERS pre-forked processes, each serving one connection at a time, on the
 * listen socket inherited on fd 0 as from spawn-fcgi -n). It does no
 * detection, no parsing and no logging; it is not a test and not installed.
 * It closes connections as the daemon's workers do (LIBFCGI_OS_CLOSE_POLL_TIMEOUT
 * 0 unless set, fcgi/worker.c), so that the ceiling has the same close.
 *   spawn-fcgi -n -s SOCKET -- bench_fcgi_trivial [WORKERS]   (default 2, 1..64)
 * SIGTERM or SIGINT to the master stops the workers and exits 0.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 64

static const char answer[] = "Status: 200 OK\r\n"
                             "Content-Type: application/json\r\n"
                             "\r\n"
                             "{\"status\":\"success\",\"anomalies\":[],\"predicted\":[]}";

/* Serves requests on fd 0 until accept fails; returns the exit status. */
static int worker_loop(void)
{
	FCGX_Request req;
	if (FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	char buf[65536];
	while (FCGX_Accept_r(&req) >= 0) {
		while (FCGX_GetStr(buf, (int)sizeof buf, req.in) > 0)
			;
		FCGX_PutStr(answer, (int)(sizeof answer - 1), req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}

/* Parses the worker count: a plain decimal in 1..MAX_WORKERS, else 0. */
static int parse_workers(const char *s)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > MAX_WORKERS)
		return 0;
	return (int)v;
}

int main(int argc, char **argv)
{
	int n = 2;
	if (argc > 2 || (argc == 2 && (n = parse_workers(argv[1])) == 0)) {
		fprintf(stderr, "usage: bench_fcgi_trivial [WORKERS 1..%d] (socket on fd 0)\n",
		        MAX_WORKERS);
		return 2;
	}
	setenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", "0", 0);
	if (FCGX_Init() != 0)
		return 1;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);

	pid_t pids[MAX_WORKERS];
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("bench_fcgi_trivial: fork");
			n = i;
			break;
		}
		if (pids[i] == 0) {
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			_exit(worker_loop());
		}
	}
	int sig = 0;
	sigwait(&set, &sig); /* a stop signal, or a worker died: either way, stop */
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (int i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	return sig == SIGCHLD ? 1 : 0;
}
