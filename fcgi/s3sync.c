/*
 * s3sync: the model-sync helper process (rb/fcgi/s3sync.h): a supervisor that
 * restarts its sync process when it crashes; in that process configuration ->
 * S3 client and sync state, the pass loop, SIGHUP to the master.
 * Not the sync rules (core/store/model_sync.c); it counts on the metrics board.
 */
#include "rb/fcgi/s3sync.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rb/fcgi/log.h"
#include "rb/fcgi/metrics.h"
#include "rb/store/model_sync.h"
#include "rb/store/s3.h"

#define S3SYNC_MAX_OBJECT_BYTES (256ull << 20)
#define S3SYNC_MAX_OBJECTS 100000
#define S3SYNC_SETTLE_MS 10000 /* the next listing after one that saw a change */
#define S3SYNC_BACKOFF_MIN_MS 1000   /* a crashed sync process is started again after ... */
#define S3SYNC_BACKOFF_MAX_MS 300000 /* ... doubling up to 5 min */

/* Every sync event passes here once: counted on the pool's metrics board, logged. */
static void on_event(void *ctx, enum model_sync_event ev, const char *model, const char *msg)
{
	(void)model;
	metrics_model_sync(ctx, (unsigned)ev);
	if (ev == MODEL_SYNC_INSTALLED)
		log_info("model sync: %s", msg);
	else
		log_warn("model sync: %s", msg);
}

static void sleep_ms(long long ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* The helper's life; never returns. */
/* The sync loop; never returns. parent: the supervisor (its death ends the loop). */
static void helper_main(const struct rb_config *cfg, pid_t master, pid_t parent,
                        struct metrics_board *mb)
{
	struct rb_err err = {0};
	struct s3_conf sc;
	struct model_sync_conf mc;
	memset(&sc, 0, sizeof sc);
	memset(&mc, 0, sizeof mc);
	snprintf(sc.endpoint, sizeof sc.endpoint, "%s", cfg->models_s3_endpoint);
	snprintf(sc.region, sizeof sc.region, "%s", cfg->models_s3_region);
	sc.connect_timeout_ms = 5000;
	sc.timeout_ms = 120000;
	snprintf(mc.dir, sizeof mc.dir, "%s", cfg->trained_models_dir);
	mc.max_object_bytes = S3SYNC_MAX_OBJECT_BYTES;
	mc.max_objects = S3SYNC_MAX_OBJECTS;
	mc.note = on_event;
	mc.ctx = mb;
	struct s3 *s = NULL;
	struct model_sync *ms = NULL;
	if (s3_url_parse(cfg->models_url, sc.bucket, sizeof sc.bucket, mc.prefix, sizeof mc.prefix,
	                 &err) != RB_OK ||
	    s3_credentials_load(cfg->models_s3_credentials, &sc, &err) != RB_OK ||
	    s3_new(&s, &sc, &err) != RB_OK || model_sync_new(&ms, &mc, &err) != RB_OK) {
		log_error("model sync: %s; no sync until the next reload", err.msg);
		metrics_model_sync(mb, METRICS_SYNC_LIST_FAILED);
		_exit(1);
	}
	log_info("model sync: %s every %lld s into %s", cfg->models_url,
	         cfg->models_sync_interval_ms / 1000, cfg->trained_models_dir);
	char last_error[sizeof err.msg] = "";
	for (;;) {
		size_t installed = 0, pending = 0;
		memset(&err, 0, sizeof err);
		if (model_sync_pass(ms, s, &installed, &pending, &err) != RB_OK) {
			metrics_model_sync(mb, METRICS_SYNC_LIST_FAILED);
			if (strcmp(err.msg, last_error) != 0) /* once per distinct failure */
				log_warn("model sync: %s (the installed models stay)", err.msg);
			snprintf(last_error, sizeof last_error, "%s", err.msg);
		} else if (last_error[0] != '\0') {
			log_info("model sync: %s answers again", cfg->models_url);
			last_error[0] = '\0';
		}
		if (installed > 0) {
			log_info("model sync: %zu model(s) installed; asking the master to reload",
			         installed);
			if (getppid() != parent || kill(master, SIGHUP) != 0)
				break;
		}
		if (getppid() != parent)
			break;
		/* a changed model is taken when the next listing shows it settled: list again soon */
		sleep_ms(pending > 0 && cfg->models_sync_interval_ms > S3SYNC_SETTLE_MS
		                 ? S3SYNC_SETTLE_MS
		                 : cfg->models_sync_interval_ms);
	}
	model_sync_free(ms);
	s3_free(s);
	_exit(0);
}

/*
 * The helper the master knows: runs the sync loop in a child of its own and
 * starts it again when it dies of a signal or an unexpected status, after
 * S3SYNC_BACKOFF_MIN_MS doubling to S3SYNC_BACKOFF_MAX_MS (reset after an hour
 * alive). A set-up failure (exit 1: a bad models_url, no credentials) waits for
 * the next reload. SIGTERM ends both (the loop dies with its supervisor).
 */
static void supervise(const struct rb_config *cfg, pid_t master, struct metrics_board *mb)
{
	long long backoff = S3SYNC_BACKOFF_MIN_MS;
	for (;;) {
		pid_t self = getpid();
		pid_t p = fork();
		if (p < 0) {
			log_error("model sync: fork failed: %s; retrying in %lld s", strerror(errno),
			          backoff / 1000);
		} else if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != self)
				_exit(0);
			helper_main(cfg, master, self, mb);
		} else {
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			int status = 0;
			while (waitpid(p, &status, 0) < 0 && errno == EINTR) {
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (getppid() != master || (WIFEXITED(status) && WEXITSTATUS(status) <= 1))
				_exit(0);
			if (t1.tv_sec - t0.tv_sec >= 3600)
				backoff = S3SYNC_BACKOFF_MIN_MS;
			if (WIFSIGNALED(status))
				log_error("model sync: the sync process %ld was killed by signal %d; "
				          "restarting it in %lld s", (long)p, WTERMSIG(status), backoff / 1000);
			else
				log_error("model sync: the sync process %ld exited with status %d; "
				          "restarting it in %lld s", (long)p, WEXITSTATUS(status),
				          backoff / 1000);
		}
		sleep_ms(backoff);
		if (getppid() != master)
			_exit(0);
		backoff = backoff * 2 > S3SYNC_BACKOFF_MAX_MS ? S3SYNC_BACKOFF_MAX_MS : backoff * 2;
	}
}

void s3sync_stop(pid_t *pid)
{
	if (*pid > 0)
		kill(*pid, SIGTERM);
	*pid = 0;
}

void s3sync_restart(pid_t *pid, const struct rb_config *cfg, int close_fd,
                    struct metrics_board *mb)
{
	s3sync_stop(pid);
	if (cfg->models_url[0] == '\0')
		return;
	pid_t master = getpid();
	pid_t p = fork();
	if (p < 0) {
		log_error("model sync: fork failed: %s; no sync until the next reload", strerror(errno));
		return;
	}
	if (p > 0) {
		*pid = p;
		return;
	}
	/* the child: default signals, nothing of the master's socket, gone with the master */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		_exit(0);
	if (close_fd >= 0)
		close(close_fd);
	supervise(cfg, master, mb);
}
