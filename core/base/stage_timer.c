/*
 * stage_timer: per-stage wall time, CPU time and minor page faults of one
 * request (see rb/base/stage_timer.h). At most two clock_gettime and one
 * getrusage a mark, a fixed array, no allocation. Not thread-safe (one timer,
 * one thread); not a profiler (no call tree, no sampling).
 */
#include "rb/base/stage_timer.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "rb/base/assert.h"

const char *const stage_names[STAGE_COUNT + 1] = {
	[STAGE_BODY] = "body",     [STAGE_FORM] = "form",     [STAGE_B64] = "b64",
	[STAGE_FETCH] = "fetch",   [STAGE_PARSE] = "parse",   [STAGE_DETECT] = "detect",
	[STAGE_RENDER] = "render", [STAGE_WRITE] = "write",   [STAGE_COUNT] = NULL,
};

static double diff_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/*
 * The calling thread's CPU time (ms; CLOCK_THREAD_CPUTIME_ID: getrusage's
 * thread times are tick-sampled, too coarse for a stage) and the process's
 * minor page faults so far (RUSAGE_SELF: a worker runs its request on one thread).
 */
static void thread_usage(double *cpu_ms, long *faults)
{
	struct timespec ts = {0, 0};
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	*cpu_ms = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
	struct rusage ru;
	*faults = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : 0;
}

void stage_timer_start(struct stage_timer *t, int flags)
{
	memset(t, 0, sizeof *t);
	t->flags = flags;
	if (!(flags & STAGE_TIMER_ON))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t->wall0);
	t->wall = t->wall0;
	if (flags & STAGE_TIMER_CPU) {
		thread_usage(&t->cpu0, &t->flt0);
		t->cpu = t->cpu0;
		t->flt = t->flt0;
	}
}

void stage_timer_mark(struct stage_timer *t, enum stage_id s)
{
	if (t == NULL || !(t->flags & STAGE_TIMER_ON))
		return;
	RB_ASSERT((unsigned)s < STAGE_COUNT);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t->wall_ms[s] += diff_ms(&t->wall, &now);
	t->wall = now;
	if (t->flags & STAGE_TIMER_CPU) {
		double cpu;
		long flt;
		thread_usage(&cpu, &flt);
		t->cpu_ms[s] += cpu - t->cpu;
		t->faults[s] += flt - t->flt;
		t->cpu = cpu;
		t->flt = flt;
	}
	t->marked |= 1u << s;
}

double stage_timer_total_wall_ms(const struct stage_timer *t)
{
	return (t->flags & STAGE_TIMER_ON) ? diff_ms(&t->wall0, &t->wall) : 0.0;
}

double stage_timer_total_cpu_ms(const struct stage_timer *t)
{
	return (t->flags & STAGE_TIMER_ON) && (t->flags & STAGE_TIMER_CPU) ? t->cpu - t->cpu0 : 0.0;
}

long stage_timer_total_faults(const struct stage_timer *t)
{
	return (t->flags & STAGE_TIMER_ON) && (t->flags & STAGE_TIMER_CPU) ? t->flt - t->flt0 : 0;
}

/* Appends "name a[/b/f]" at buf[*o..cap), keeping *o within cap - 1 (truncation). */
static void put(char *buf, size_t cap, size_t *o, int cpu, const char *name, double a, double b,
                long f)
{
	if (*o + 1 >= cap)
		return;
	int n = cpu ? snprintf(buf + *o, cap - *o, " %s %.3f/%.3f/%ld", name, a, b, f)
	            : snprintf(buf + *o, cap - *o, " %s %.3f", name, a);
	if (n < 0)
		return;
	*o += (size_t)n < cap - *o ? (size_t)n : cap - *o - 1;
}

size_t stage_timer_format(const struct stage_timer *t, char *buf, size_t cap)
{
	if (cap == 0)
		return 0;
	buf[0] = '\0';
	if (!(t->flags & STAGE_TIMER_ON))
		return 0;
	int cpu = (t->flags & STAGE_TIMER_CPU) != 0;
	int n = snprintf(buf, cap, "%s", cpu ? "stages wall/cpu ms/faults:" : "stages wall ms:");
	size_t o = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
	for (unsigned s = 0; s < STAGE_COUNT; s++)
		if (t->marked & (1u << s))
			put(buf, cap, &o, cpu, stage_names[s], t->wall_ms[s], t->cpu_ms[s], t->faults[s]);
	put(buf, cap, &o, cpu, "total", stage_timer_total_wall_ms(t), stage_timer_total_cpu_ms(t),
	    stage_timer_total_faults(t));
	return o;
}
