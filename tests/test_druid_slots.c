/*
 * druid_slots: the Druid-wait slots on a pool board (fcgi/druid_slots.c):
 * the automatic limit; take and give back; a full board refuses after the
 * queue time, at once when every holder is older than it, and names a
 * Retry-After from the oldest holder's timeout; a waiter gets a slot freed
 * by another process; a dead holder's slot is reclaimed by pid; two
 * processes racing never hold one slot.
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rb/fcgi/druid_slots.h"
#include "testutil.h"

static struct pool_board *new_board(void)
{
	struct pool_board *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE,
	                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(b != MAP_FAILED);
	memset(b, 0, sizeof *b);
	return b;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void limits(void)
{
	CHECK(druid_slots_limit(0, 1) == 1);
	CHECK(druid_slots_limit(0, 2) == 1);
	CHECK(druid_slots_limit(0, 3) == 2);
	CHECK(druid_slots_limit(5, 3) == 5);
	CHECK(druid_slots_limit(1000, 3) == POOL_MAX_WORKERS);
}

static void take_give(void)
{
	struct pool_board *b = new_board();
	struct druid_slots_opts o = {2, 0, 30000};
	unsigned retry = 0, waited = 0;
	int s0 = druid_slots_acquire(b, &o, &retry, &waited);
	int s1 = druid_slots_acquire(b, &o, &retry, &waited);
	CHECKF(s0 == 0 && s1 == 1, "%d %d", s0, s1);
	CHECK(druid_slots_held(b) == 2 && b->druid_owner[0] == (int32_t)getpid());
	CHECK(druid_slots_acquire(b, &o, &retry, &waited) == -1);
	CHECKF(retry >= 29 && retry <= 30, "retry %u", retry);
	druid_slots_release(b, s0);
	CHECK(druid_slots_held(b) == 1);
	CHECK(druid_slots_acquire(b, &o, &retry, &waited) == 0);
	druid_slots_release(b, 0);
	druid_slots_release(b, 1);
	druid_slots_release(b, -1); /* no-op */
	CHECK(druid_slots_held(b) == 0);

	/* queue: a young holder is waited for up to queue_ms */
	o.limit = 1;
	o.queue_ms = 150;
	CHECK(druid_slots_acquire(b, &o, &retry, &waited) == 0);
	CHECK(druid_slots_acquire(b, &o, &retry, &waited) == -1);
	CHECKF(waited >= 140 && waited < 1000, "waited %u", waited);
	/* the holder is now older than queue_ms: refused at once (Druid looks stalled) */
	CHECK(druid_slots_acquire(b, &o, &retry, &waited) == -1);
	CHECKF(waited < 20, "stalled: waited %u", waited);
	druid_slots_release(b, 0);
	munmap(b, sizeof *b);
}

/* A slot freed by another process during the wait is taken. */
static void waiter_gets_freed_slot(void)
{
	struct pool_board *b = new_board();
	struct druid_slots_opts o = {1, 1000, 30000};
	unsigned retry = 0, waited = 0;
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		unsigned r, w;
		int s = druid_slots_acquire(b, &o, &r, &w);
		sleep_ms(200);
		druid_slots_release(b, s);
		_exit(s == 0 ? 0 : 1);
	}
	while (druid_slots_held(b) == 0)
		sleep_ms(1);
	int s = druid_slots_acquire(b, &o, &retry, &waited);
	CHECKF(s == 0 && waited >= 100 && waited < 900, "slot %d after %u ms", s, waited);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	druid_slots_release(b, s);
	munmap(b, sizeof *b);
}

/* A holder killed with its slot: the master's reclaim by pid frees it, nobody else's. */
static void reclaim(void)
{
	struct pool_board *b = new_board();
	struct druid_slots_opts o = {2, 0, 30000};
	unsigned retry = 0, waited = 0;
	int mine = druid_slots_acquire(b, &o, &retry, &waited);
	CHECK(mine == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		unsigned r, w;
		if (druid_slots_acquire(b, &o, &r, &w) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	while (druid_slots_held(b) < 2)
		sleep_ms(1);
	kill(pid, SIGKILL);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(druid_slots_held(b) == 2); /* nobody gives it back but the master */
	CHECK(druid_slots_reclaim(b, pid) == 1);
	CHECK(druid_slots_held(b) == 1 && b->druid_owner[0] == (int32_t)getpid());
	CHECK(druid_slots_reclaim(b, pid) == 0);
	druid_slots_release(b, mine);
	munmap(b, sizeof *b);
}

/* Processes racing for 2 slots never find one taken twice. */
static void race(void)
{
	struct pool_board *b = new_board();
	enum { PROCS = 6, ROUNDS = 3000 };
	pid_t pids[PROCS];
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		CHECK(pids[p] >= 0);
		if (pids[p] != 0)
			continue;
		struct druid_slots_opts o = {2, 50, 30000};
		int bad = 0;
		for (int i = 0; i < ROUNDS; i++) {
			unsigned r, w;
			int s = druid_slots_acquire(b, &o, &r, &w);
			if (s < 0)
				continue;
			bad += b->druid_owner[s] != (int32_t)getpid();
			druid_slots_release(b, s);
		}
		_exit(bad == 0 ? 0 : 1);
	}
	for (int p = 0; p < PROCS; p++) {
		int st;
		CHECK(waitpid(pids[p], &st, 0) == pids[p]);
		CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "process %d saw a shared slot", p);
	}
	CHECK(druid_slots_held(b) == 0);
	munmap(b, sizeof *b);
}

int main(void)
{
	limits();
	take_give();
	waiter_gets_freed_slot();
	reclaim();
	race();
	return 0;
}
