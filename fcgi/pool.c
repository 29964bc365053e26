/*
 * pool: pre-forked worker pool, master loop and worker signal discipline.
 * See pool.h for the contract. Not a FastCGI module: the accept loop lives in
 * the daemon's worker code; this file only starts, stops, recycles and
 * replaces processes.
 *
 * The master keeps no signal handlers: it blocks the signals it cares about
 * and takes them with sigtimedwait(), so its state is ordinary local data.
 * The only process-wide variable is the worker's stop flag, written by its
 * signal handler (a volatile sig_atomic_t, as signal handlers require).
 */
#include "rb/fcgi/pool.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rb/base/assert.h"
#include "rb/fcgi/druid_slots.h"
#include "rb/fcgi/log.h"

#define POOL_TICK_MS 100        /* master wake-up period */
#define POOL_RESIGNAL_MS 200    /* re-send a stop this often (closes the accept race) */
#define POOL_BACKOFF_MIN_MS 100
#define POOL_BACKOFF_MAX_MS 10000

static uint64_t now_ms(void);

/* ---- worker side ---- */

static volatile sig_atomic_t worker_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	worker_stop = 1;
}

static void stop_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
}

int pool_stop_requested(void) { return worker_stop != 0; }

void pool_wait_begin(void)
{
	sigset_t set;
	stop_signal_set(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void pool_wait_end(void)
{
	sigset_t set;
	stop_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

void pool_request_begin(const struct pool_worker_env *env)
{
	env->board->busy_since_ms[env->record] = now_ms();
}

void pool_request_end(const struct pool_worker_env *env)
{
	env->board->busy_since_ms[env->record] = 0;
}

/* In the child right after fork: stop signals set the flag and interrupt system calls (no
 * SA_RESTART), but stay blocked until pool_wait_begin(); SIGHUP is the master's business. */
static void worker_signal_setup(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	stop_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* ---- master side ---- */

struct child {
	pid_t pid;          /* 0 = free record */
	size_t slot;
	uint32_t generation;
	uint64_t started_ms;
	uint64_t stop_sent_ms; /* 0 = not asked to stop */
	uint64_t stop_first_ms;
	int watchdog_killed;   /* killed for exceeding request_timeout_ms */
};

struct slot_state {
	unsigned fast_deaths;  /* consecutive deaths within the crash window */
	uint64_t respawn_at_ms;
	int crash_loop;        /* crash_limit fast deaths in a row (reported in /health) */
	int stopped;           /* respawning stopped: a crash loop before any worker was stable */
};

struct master {
	struct pool_opts *opts;
	const struct pool_callbacks *cb;
	struct pool_board *board;
	uint32_t generation;
	int stopping;
	int stop_asked;        /* the workers were asked to stop (stop_at_ms reached) */
	uint64_t stop_at_ms;   /* when a stop asks the workers (stop_accept_ms after the signal) */
	int ever_stable;       /* a worker of this pool has lived crash_window_ms */
	struct child children[POOL_MAX_CHILDREN];
	struct slot_state slots[POOL_MAX_WORKERS];
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t live_children(const struct master *m)
{
	size_t n = 0;
	for (size_t i = 0; i < POOL_MAX_CHILDREN; i++)
		n += m->children[i].pid != 0;
	return n;
}

static struct child *current_child_of_slot(struct master *m, size_t slot)
{
	for (size_t i = 0; i < POOL_MAX_CHILDREN; i++) {
		struct child *c = &m->children[i];
		if (c->pid != 0 && c->slot == slot && c->generation == m->generation &&
		    c->stop_sent_ms == 0)
			return c;
	}
	return NULL;
}

static void update_board(struct master *m)
{
	uint32_t alive = 0, loops = 0;
	for (size_t s = 0; s < m->opts->workers; s++) {
		alive += current_child_of_slot(m, s) != NULL;
		loops += m->slots[s].crash_loop != 0;
	}
	m->board->generation = m->generation;
	m->board->wanted = (uint32_t)m->opts->workers;
	m->board->alive = alive;
	m->board->crash_loops = loops;
}

static void spawn(struct master *m, size_t slot)
{
	struct child *rec = NULL;
	for (size_t i = 0; i < POOL_MAX_CHILDREN; i++) {
		if (m->children[i].pid == 0) {
			rec = &m->children[i];
			break;
		}
	}
	if (rec == NULL) {
		/* Only when more than one generation is still draining: try again next tick. */
		m->slots[slot].respawn_at_ms = now_ms() + POOL_TICK_MS;
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork for worker slot %zu failed: %s; retrying", slot, strerror(errno));
		m->slots[slot].respawn_at_ms = now_ms() + POOL_BACKOFF_MIN_MS;
		return;
	}
	size_t record = (size_t)(rec - m->children);
	m->board->busy_since_ms[record] = 0;
	if (pid == 0) {
		worker_signal_setup();
		struct pool_worker_env env = {slot, m->generation, record, m->board};
		int rc = m->cb->worker_main(m->cb->ctx, &env);
		_exit(rc);
	}
	rec->pid = pid;
	rec->slot = slot;
	rec->generation = m->generation;
	rec->started_ms = now_ms();
	rec->stop_sent_ms = 0;
	rec->stop_first_ms = 0;
	rec->watchdog_killed = 0;
	__atomic_fetch_add(&m->board->worker_starts, 1, __ATOMIC_RELAXED);
	update_board(m); /* before the new worker can answer /health (it may start in ms) */
	log_debug("worker %ld started (slot %zu, generation %u)", (long)pid, slot, m->generation);
}

static void ask_stop(struct child *c, uint64_t now)
{
	if (c->stop_first_ms == 0)
		c->stop_first_ms = now;
	c->stop_sent_ms = now;
	kill(c->pid, SIGTERM);
}

static void reap(struct master *m)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c = NULL;
		for (size_t i = 0; i < POOL_MAX_CHILDREN; i++)
			if (m->children[i].pid == pid)
				c = &m->children[i];
		if (c == NULL)
			continue;
		uint64_t now = now_ms(), lived = now - c->started_ms;
		int expected = m->stopping || c->stop_sent_ms != 0;
		size_t slot = c->slot;
		int current = c->generation == m->generation;
		enum pool_exit_cause cause = expected            ? POOL_EXIT_RECYCLE
		                             : c->watchdog_killed ? POOL_EXIT_WATCHDOG
		                             : WIFSIGNALED(status) ? POOL_EXIT_SIGNAL
		                                                   : POOL_EXIT_CRASH;
		__atomic_fetch_add(&m->board->worker_exits[cause], 1, __ATOMIC_RELAXED);
		m->board->busy_since_ms[c - m->children] = 0;
		if (druid_slots_reclaim(m->board, pid) > 0)
			log_warn("worker %ld died waiting on Druid; its Druid-wait slot is free again",
			         (long)pid);
		memset(c, 0, sizeof *c);
		if (expected) {
			log_debug("worker %ld stopped (slot %zu)", (long)pid, slot);
			continue;
		}
		if (WIFSIGNALED(status))
			log_error("worker %ld (slot %zu) killed by signal %d after %llu ms", (long)pid,
			          slot, WTERMSIG(status), (unsigned long long)lived);
		else
			log_error("worker %ld (slot %zu) exited with status %d after %llu ms", (long)pid,
			          slot, WEXITSTATUS(status), (unsigned long long)lived);
		if (!current || slot >= m->opts->workers)
			continue;
		struct slot_state *st = &m->slots[slot];
		if (lived >= m->opts->crash_window_ms) {
			st->fast_deaths = 0;
			st->respawn_at_ms = now;
			continue;
		}
		st->fast_deaths++;
		if (st->fast_deaths >= m->opts->crash_limit && !st->crash_loop) {
			st->crash_loop = 1;
			if (!m->ever_stable) {
				/* workers cannot start at all (a model, the config): retrying is futile */
				st->stopped = 1;
				log_error("worker slot %zu: crash loop (%u deaths within %u ms of start) "
				          "before any worker ran; not respawning it until SIGHUP",
				          slot, st->fast_deaths, m->opts->crash_window_ms);
				continue;
			}
			log_error("worker slot %zu: crash loop (%u deaths within %u ms of start); "
			          "workers ran before, so it keeps respawning, every %u ms at most",
			          slot, st->fast_deaths, m->opts->crash_window_ms, POOL_BACKOFF_MAX_MS);
		}
		unsigned shift = st->fast_deaths - 1 < 16 ? st->fast_deaths - 1 : 16;
		uint64_t backoff = (uint64_t)POOL_BACKOFF_MIN_MS << shift;
		if (backoff > POOL_BACKOFF_MAX_MS)
			backoff = POOL_BACKOFF_MAX_MS;
		st->respawn_at_ms = now + backoff;
		log_warn("worker slot %zu: respawning in %llu ms", slot, (unsigned long long)backoff);
	}
}

/* Re-sends stops (a worker between its flag check and accept() misses the first) and
 * SIGKILLs those past the grace time. */
static void drive_stops(struct master *m, uint64_t now)
{
	for (size_t i = 0; i < POOL_MAX_CHILDREN; i++) {
		struct child *c = &m->children[i];
		if (c->pid == 0 || c->stop_sent_ms == 0)
			continue;
		if (now - c->stop_first_ms >= m->opts->stop_grace_ms) {
			log_warn("worker %ld did not stop within %u ms; killing it", (long)c->pid,
			         m->opts->stop_grace_ms);
			kill(c->pid, SIGKILL);
			c->stop_first_ms = now; /* kill again only after another grace period */
		} else if (now - c->stop_sent_ms >= POOL_RESIGNAL_MS) {
			ask_stop(c, now);
		}
	}
}

/* Kills workers stuck on one request past request_timeout_ms; reap() replaces them. */
static void watchdog(struct master *m, uint64_t now)
{
	if (m->opts->request_timeout_ms == 0)
		return;
	for (size_t i = 0; i < POOL_MAX_CHILDREN; i++) {
		struct child *c = &m->children[i];
		uint64_t since = m->board->busy_since_ms[i];
		if (c->pid == 0 || c->watchdog_killed || since == 0 || now < since ||
		    now - since <= m->opts->request_timeout_ms)
			continue;
		log_error("worker %ld has been on one request for %llu ms (request_timeout_ms %u); "
		          "killing it",
		          (long)c->pid, (unsigned long long)(now - since), m->opts->request_timeout_ms);
		kill(c->pid, SIGKILL);
		c->watchdog_killed = 1;
	}
}

/* A current worker that has lived crash_window_ms makes the pool stable and ends its
 * slot's crash loop. */
static void note_stable(struct master *m, uint64_t now)
{
	for (size_t i = 0; i < POOL_MAX_CHILDREN; i++) {
		const struct child *c = &m->children[i];
		if (c->pid == 0 || c->generation != m->generation || c->stop_sent_ms != 0 ||
		    c->slot >= POOL_MAX_WORKERS || now - c->started_ms < m->opts->crash_window_ms)
			continue;
		m->ever_stable = 1;
		struct slot_state *st = &m->slots[c->slot];
		if (st->crash_loop) {
			log_info("worker slot %zu: out of its crash loop", c->slot);
			st->crash_loop = 0;
			st->fast_deaths = 0;
		}
	}
}

static void recycle(struct master *m)
{
	struct pool_opts old = *m->opts;
	if (m->cb->reload != NULL && m->cb->reload(m->cb->ctx, m->opts) != 0) {
		log_error("reload failed; keeping the running workers");
		__atomic_fetch_add(&m->board->reloads_failed, 1, __ATOMIC_RELAXED);
		*m->opts = old;
		return;
	}
	if (m->opts->workers < 1 || m->opts->workers > POOL_MAX_WORKERS)
		m->opts->workers = old.workers;
	uint64_t now = now_ms();
	/* Old generation first marked, then the new one started: both accept for a moment,
	 * so the listen socket always has a worker waiting on it. */
	for (size_t i = 0; i < POOL_MAX_CHILDREN; i++)
		if (m->children[i].pid != 0 && m->children[i].stop_sent_ms == 0)
			m->children[i].stop_sent_ms = 1; /* marked; SIGTERM after the new ones start */
	m->generation++;
	__atomic_fetch_add(&m->board->reloads_ok, 1, __ATOMIC_RELAXED);
	memset(m->slots, 0, sizeof m->slots);
	for (size_t s = 0; s < m->opts->workers; s++)
		spawn(m, s);
	for (size_t i = 0; i < POOL_MAX_CHILDREN; i++)
		if (m->children[i].pid != 0 && m->children[i].stop_sent_ms == 1)
			ask_stop(&m->children[i], now);
	log_info("reloaded: generation %u with %zu workers", m->generation, m->opts->workers);
}

void pool_opts_defaults(struct pool_opts *opts)
{
	opts->workers = 2;
	opts->stop_grace_ms = 30000;
	opts->crash_window_ms = 5000;
	opts->crash_limit = 5;
	opts->request_timeout_ms = 0;
	opts->stop_accept_ms = 0;
	opts->stop_unlink_path = NULL;
}

int pool_run(struct pool_opts *opts, const struct pool_callbacks *cb)
{
	RB_ASSERT(opts != NULL && cb != NULL && cb->worker_main != NULL);
	if (opts->workers < 1 || opts->workers > POOL_MAX_WORKERS) {
		log_error("workers must be 1..%d, not %zu", POOL_MAX_WORKERS, opts->workers);
		return 1;
	}
	struct master *m = calloc(1, sizeof *m);
	if (m == NULL)
		return 1;
	m->board = mmap(NULL, sizeof *m->board, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	                -1, 0);
	if (m->board == MAP_FAILED) {
		log_error("mmap of the worker board failed: %s", strerror(errno));
		free(m);
		return 1;
	}
	m->opts = opts;
	m->cb = cb;

	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	struct sigaction ign;
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, NULL);

	for (size_t s = 0; s < opts->workers; s++)
		spawn(m, s);
	update_board(m);
	log_info("started %zu workers", opts->workers);

	int exit_status = 0;
	for (;;) {
		struct timespec tick = {0, POOL_TICK_MS * 1000000L};
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &tick);
		uint64_t now = now_ms();
		if ((sig == SIGTERM || sig == SIGINT || sig == SIGUSR1) && !m->stopping) {
			log_info("signal %d: stopping in %u ms (stop_accept_ms; in-flight and queued "
			         "requests finish first)", sig, opts->stop_accept_ms);
			m->stopping = 1;
			m->stop_at_ms = now + opts->stop_accept_ms;
		}
		if (m->stopping && !m->stop_asked && now >= m->stop_at_ms) {
			/* No new connection from here on (a Unix socket of ours): what the workers
			 * find queued is all there is to serve. */
			if (opts->stop_unlink_path != NULL) {
				if (unlink(opts->stop_unlink_path) == 0)
					log_info("removed %s: the workers serve what is queued on it, then "
					         "stop", opts->stop_unlink_path);
				opts->stop_unlink_path = NULL; /* a later one at that path is not ours */
			}
			m->stop_asked = 1;
			for (size_t i = 0; i < POOL_MAX_CHILDREN; i++)
				if (m->children[i].pid != 0)
					ask_stop(&m->children[i], now);
		} else if (sig == SIGHUP && !m->stopping) {
			log_info("SIGHUP: reloading configuration and models");
			recycle(m);
		}
		reap(m);
		now = now_ms();
		drive_stops(m, now);
		watchdog(m, now);
		if (m->stopping) {
			if (live_children(m) == 0)
				break;
			continue;
		}
		note_stable(m, now);
		size_t usable = 0;
		for (size_t s = 0; s < opts->workers; s++) {
			if (m->slots[s].stopped)
				continue;
			usable++;
			if (current_child_of_slot(m, s) == NULL && now >= m->slots[s].respawn_at_ms)
				spawn(m, s);
		}
		update_board(m);
		if (usable == 0 && live_children(m) == 0) {
			log_error("no worker could start (every slot crashed at start before any worker "
			          "ran); exiting");
			exit_status = 1;
			break;
		}
	}
	log_info("stopped");
	munmap(m->board, sizeof *m->board);
	free(m);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return exit_status;
}
