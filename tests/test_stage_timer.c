/* stage_timer: off is a no-op; marks charge the time since the previous mark to their stage;
 * totals are the sum; the log line names the marked stages in order and is bounded. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "rb/base/stage_timer.h"
#include "testutil.h"

static volatile unsigned long spin_sink;

/* Spins on the CPU for about ms milliseconds of wall time. */
static void spin_ms(double ms)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (int i = 0; i < 1000; i++)
			spin_sink += (unsigned long)i;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6 < ms);
}

int main(void)
{
	CHECK(strcmp(stage_names[STAGE_BODY], "body") == 0);
	CHECK(strcmp(stage_names[STAGE_WRITE], "write") == 0);
	CHECK(stage_names[STAGE_COUNT] == NULL);
	for (int s = 0; s < STAGE_COUNT; s++)
		CHECK(stage_names[s] != NULL);

	/* Off: nothing is charged, the line is empty. */
	struct stage_timer t;
	char line[256];
	stage_timer_start(&t, 0);
	spin_ms(1);
	stage_timer_mark(&t, STAGE_BODY);
	CHECK(t.marked == 0 && t.wall_ms[STAGE_BODY] == 0.0);
	CHECK(stage_timer_format(&t, line, sizeof line) == 0 && line[0] == '\0');
	CHECK(stage_timer_total_wall_ms(&t) == 0.0);
	stage_timer_mark(NULL, STAGE_BODY); /* NULL: no-op */

	/* On, with CPU time: each mark takes the time since the previous one. */
	stage_timer_start(&t, STAGE_TIMER_ON | STAGE_TIMER_CPU);
	spin_ms(3);
	stage_timer_mark(&t, STAGE_BODY);
	spin_ms(1);
	stage_timer_mark(&t, STAGE_PARSE);
	stage_timer_mark(&t, STAGE_WRITE);
	CHECKF(t.wall_ms[STAGE_BODY] >= 3.0, "body %f", t.wall_ms[STAGE_BODY]);
	CHECKF(t.wall_ms[STAGE_PARSE] >= 1.0 && t.wall_ms[STAGE_PARSE] < t.wall_ms[STAGE_BODY] + 50,
	       "parse %f", t.wall_ms[STAGE_PARSE]);
	CHECK(t.wall_ms[STAGE_WRITE] < 1.0);
	CHECKF(t.cpu_ms[STAGE_BODY] > 0.0 && t.cpu_ms[STAGE_BODY] <= t.wall_ms[STAGE_BODY] + 0.5,
	       "cpu %f wall %f", t.cpu_ms[STAGE_BODY], t.wall_ms[STAGE_BODY]);
	double sum = 0, csum = 0;
	for (int s = 0; s < STAGE_COUNT; s++) {
		sum += t.wall_ms[s];
		csum += t.cpu_ms[s];
	}
	CHECK(sum - stage_timer_total_wall_ms(&t) < 1e-6 && stage_timer_total_wall_ms(&t) - sum < 1e-6);
	CHECK(csum - stage_timer_total_cpu_ms(&t) < 1e-6 && stage_timer_total_cpu_ms(&t) - csum < 1e-6);
	/* Faults: touching fresh pages is charged to the stage that touched them. */
	long f0 = t.faults[STAGE_DETECT];
	size_t fsize = (size_t)64 << 12;
	char *fresh = mmap(NULL, fsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(fresh != MAP_FAILED);
#ifdef MADV_NOHUGEPAGE
	madvise(fresh, fsize, MADV_NOHUGEPAGE); /* one fault a 4 KiB page */
#endif
	for (size_t i = 0; i < fsize; i += 4096)
		fresh[i] = 1;
	stage_timer_mark(&t, STAGE_DETECT);
	munmap(fresh, fsize);
	CHECKF(t.faults[STAGE_DETECT] - f0 >= 32, "faults %ld", t.faults[STAGE_DETECT] - f0);
	CHECK(stage_timer_total_faults(&t) >= t.faults[STAGE_DETECT]);
	/* The same stage twice adds up. */
	double before = t.wall_ms[STAGE_BODY];
	spin_ms(1);
	stage_timer_mark(&t, STAGE_BODY);
	CHECK(t.wall_ms[STAGE_BODY] >= before + 1.0);

	size_t n = stage_timer_format(&t, line, sizeof line);
	CHECKF(n == strlen(line) && strncmp(line, "stages wall/cpu ms/faults: body ", 32) == 0, "%s", line);
	CHECKF(strstr(line, " parse ") != NULL && strstr(line, " write ") != NULL &&
	       strstr(line, " total ") != NULL && strstr(line, " form ") == NULL, "%s", line);
	CHECK(strstr(line, " body ") < strstr(line, " parse ")); /* stage order, not mark order */
	/* Milliseconds to the microsecond: three decimals, the value rounded. */
	double wall = -1.0, cpu_ms = -1.0;
	int dec = 0;
	CHECKF(sscanf(strstr(line, " body ") + 6, "%lf/%lf", &wall, &cpu_ms) == 2, "%s", line);
	for (const char *d = strchr(strstr(line, " body "), '.') + 1; *d >= '0' && *d <= '9'; d++)
		dec++;
	CHECKF(dec == 3, "%d decimals: %s", dec, line);
	CHECKF(fabs(wall - t.wall_ms[STAGE_BODY]) <= 0.0005 && fabs(cpu_ms - t.cpu_ms[STAGE_BODY]) <= 0.0005,
	       "%s: body %.6f/%.6f", line, t.wall_ms[STAGE_BODY], t.cpu_ms[STAGE_BODY]);

	/* Wall only: one number per stage. */
	stage_timer_start(&t, STAGE_TIMER_ON);
	stage_timer_mark(&t, STAGE_DETECT);
	stage_timer_format(&t, line, sizeof line);
	CHECKF(strncmp(line, "stages wall ms: detect ", 23) == 0 && strchr(line, '/') == NULL, "%s",
	       line);
	CHECK(stage_timer_total_cpu_ms(&t) == 0.0 && stage_timer_total_faults(&t) == 0);

	/* A short buffer truncates, NUL-terminated, never past cap. */
	for (size_t cap = 1; cap < 40; cap++) {
		char small[40];
		memset(small, 'x', sizeof small);
		size_t m = stage_timer_format(&t, small, cap);
		CHECKF(m < cap && small[m] == '\0' && strlen(small) == m, "cap %zu", cap);
		for (size_t i = cap; i < sizeof small; i++)
			CHECK(small[i] == 'x');
	}
	CHECK(stage_timer_format(&t, line, 0) == 0);
	return 0;
}
