/*
 * pool: the master starts, replaces, recycles and stops real worker processes.
 * Workers here answer a plain unix socket with "<pid> <generation>\n" so the
 * test can see which process served it; the FastCGI side is tested elsewhere.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rb/fcgi/log.h"
#include "rb/fcgi/pool.h"
#include "testutil.h"

struct ctx {
	int listen_fd;
	int crash; /* worker exits at once with status 3 */
	int slow_ms; /* worker sleeps this long before answering */
};

static int worker_main(void *vctx, const struct pool_worker_env *env)
{
	struct ctx *c = vctx;
	if (c->crash)
		return 3;
	for (;;) {
		pool_wait_begin();
		if (pool_stop_requested()) {
			pool_wait_end();
			return 0;
		}
		int fd = accept(c->listen_fd, NULL, NULL);
		pool_wait_end();
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return 2;
		}
		pool_request_begin(env);
		if (c->slow_ms > 0) {
			struct timespec ts = {c->slow_ms / 1000, (c->slow_ms % 1000) * 1000000L};
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
		char line[64];
		int n = snprintf(line, sizeof line, "%ld %u\n", (long)getpid(), env->generation);
		ssize_t w = write(fd, line, (size_t)n);
		(void)w;
		close(fd);
		pool_request_end(env);
	}
}

static int reload_ok(void *ctx, struct pool_opts *opts)
{
	(void)ctx;
	(void)opts;
	return 0;
}

static const char *sock_path(void)
{
	static char path[108];
	if (path[0] == '\0') /* first call in the test process; forked clients inherit it */
		snprintf(path, sizeof path, "/tmp/rb-test-pool-%ld.sock", (long)getpid());
	return path;
}

static int listen_unix(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path());
	unlink(sa.sun_path);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK(listen(fd, 64) == 0);
	return fd;
}

/* One request: returns the serving pid and its generation, or -1 when refused. */
static long ask(unsigned *generation)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path());
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	char buf[64] = {0};
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	long pid = 0;
	unsigned gen = 0;
	if (sscanf(buf, "%ld %u", &pid, &gen) != 2)
		return -1;
	if (generation != NULL)
		*generation = gen;
	return pid;
}

/* The master under test, killed at exit so a failed CHECK leaves no pool behind (an orphan
 * would keep ctest's output pipe open until its timeout). */
static pid_t current_master;

static void kill_master(void)
{
	if (current_master > 0)
		kill(-current_master, SIGKILL); /* its process group: the master and its workers */
}

/* 0 = pool_opts_defaults' crash window */
static unsigned crash_window_ms;

static pid_t start_master_timeout(struct ctx *c, size_t workers, unsigned crash_limit,
                                  unsigned request_timeout_ms)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		struct pool_opts opts;
		pool_opts_defaults(&opts);
		opts.workers = workers;
		opts.crash_limit = crash_limit;
		opts.stop_grace_ms = 5000;
		opts.request_timeout_ms = request_timeout_ms;
		if (crash_window_ms > 0)
			opts.crash_window_ms = crash_window_ms;
		struct pool_callbacks cb = {c, worker_main, reload_ok};
		_exit(pool_run(&opts, &cb));
	}
	current_master = pid;
	return pid;
}

static pid_t start_master(struct ctx *c, size_t workers, unsigned crash_limit)
{
	return start_master_timeout(c, workers, crash_limit, 0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int wait_exit(pid_t pid, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 10) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		sleep_ms(10);
	}
	return -1;
}

int main(void)
{
	log_init("test-pool", LOG_LVL_INFO, LOG_TO_STDERR);
	atexit(kill_master);
	struct ctx c = {listen_unix(), 0, 0};

	/* Serves, replaces a SIGKILLed worker, recycles on SIGHUP, stops on SIGTERM. */
	pid_t master = start_master(&c, 2, 5);
	long pid = -1;
	for (int i = 0; i < 200 && pid < 0; i++) {
		pid = ask(NULL);
		if (pid < 0)
			sleep_ms(10);
	}
	CHECK(pid > 0);
	CHECK(kill((pid_t)pid, SIGKILL) == 0);
	/* The dying worker may still have accepted the very next connection: that one, and only
	 * that one, may go unanswered. */
	int answered = 0;
	for (int i = 0; i < 50; i++)
		answered += ask(NULL) > 0;
	CHECKF(answered >= 49, "%d of 50 answered after a worker was killed", answered);
	sleep_ms(300);
	int seen_new = 0;
	for (int i = 0; i < 40; i++) {
		long p = ask(NULL);
		CHECK(p > 0);
		seen_new |= p != pid;
	}
	CHECK(seen_new);

	CHECK(kill(master, SIGHUP) == 0);
	unsigned gen = 0;
	for (int i = 0; i < 200 && gen == 0; i++) {
		CHECK(ask(&gen) > 0);
		if (gen == 0)
			sleep_ms(10);
	}
	CHECKF(gen == 1, "generation after SIGHUP: %u", gen);

	CHECK(kill(master, SIGTERM) == 0);
	CHECKF(wait_exit(master, 5000) == 0, "master did not stop cleanly");

	/* A slow request in flight when SIGTERM arrives still completes. */
	c.slow_ms = 600;
	master = start_master(&c, 1, 5);
	sleep_ms(200);
	pid_t client = fork();
	CHECK(client >= 0);
	if (client == 0)
		_exit(ask(NULL) > 0 ? 0 : 1);
	sleep_ms(150);
	CHECK(kill(master, SIGTERM) == 0);
	CHECKF(wait_exit(client, 5000) == 0, "in-flight request was not completed");
	CHECKF(wait_exit(master, 5000) == 0, "master did not stop after the in-flight request");

	/* The watchdog kills a worker stuck on one request past request_timeout_ms; a new one
	 * serves the next request. */
	c.slow_ms = 3000;
	master = start_master_timeout(&c, 1, 5, 300);
	sleep_ms(200);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(ask(NULL) < 0); /* the stuck worker dies without answering */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECKF(waited < 2000, "watchdog took %ld ms", waited);
	CHECK(kill(master, SIGTERM) == 0);
	CHECKF(wait_exit(master, 8000) == 0, "master did not stop after the watchdog test");

	/* Workers that ran, then are killed from outside again and again (12 SIGKILLs, each as
	 * soon as a worker appears; issue 15): both slots become crash loops, but the master
	 * keeps respawning with its backoff and serves again; it does not exit. */
	c.slow_ms = 0;
	crash_window_ms = 300;
	master = start_master(&c, 2, 3);
	CHECK(ask(NULL) > 0 || (sleep_ms(200), ask(NULL) > 0));
	sleep_ms(400); /* past the crash window: the pool has been stable */
	int kills = 0;
	for (int round = 0; round < 250 && kills < 12; round++) { /* 10 s at most */
		char path[64];
		snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)master, (long)master);
		FILE *f = fopen(path, "r");
		long child;
		while (f != NULL && kills < 12 && fscanf(f, "%ld", &child) == 1)
			kills += kill((pid_t)child, SIGKILL) == 0;
		if (f != NULL)
			fclose(f);
		sleep_ms(40);
	}
	CHECKF(kills >= 12, "only %d workers to kill", kills);
	long back = -1;
	for (int i = 0; i < 1500 && back < 0; i++) { /* the backoff is at most 10 s */
		CHECKF(waitpid(master, NULL, WNOHANG) == 0, "master exited after the kills");
		back = ask(NULL);
		if (back < 0)
			sleep_ms(10);
	}
	CHECKF(back > 0, "no worker answered within 15 s of the kills");
	CHECK(kill(master, SIGTERM) == 0);
	CHECKF(wait_exit(master, 8000) == 0, "master did not stop after the kill storm");
	crash_window_ms = 0;

	/* Workers that die at start: the slot is declared a crash loop and the master exits 1. */
	c.slow_ms = 0;
	c.crash = 1;
	master = start_master(&c, 1, 3);
	int rc = wait_exit(master, 10000);
	CHECKF(rc == 1, "crash loop: master exit %d", rc);

	close(c.listen_fd);
	unlink(sock_path());
	return 0;
}
