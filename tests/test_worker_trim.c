/*
 * test_worker_trim: the worker's release of a big request's peak
 * (release_peak() in fcgi/worker.c, reached by including the file): it trims
 * from 4 MiB (body or answer) up and not below, and the trim gives freed heap
 * back: after 48 MiB of 1 KiB blocks are freed except every 64th (so the
 * holes cannot be returned by shrinking the heap top), the process's
 * Private_Dirty (/proc/self/smaps_rollup) drops by at least 32 MiB. The memory assertion needs glibc's own malloc,
 * so it is compiled out under AddressSanitizer (which replaces malloc); the
 * threshold assertions run everywhere.
 * trim_when_idle: with a peak pending and no connection waiting on the listen
 * socket it gives the peak back (body buffer freed, trim_peak cleared) after
 * WORKER_IDLE_TRIM_MS; with a connection waiting it returns at once and keeps
 * both for the next request, unless the peak is WORKER_TRIM_HOLD_MS old (then
 * it gives it back at once); with no peak pending it does not wait.
 */
#include "fcgi/worker.c"

#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TRIM_MEASURABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRIM_MEASURABLE 0
#endif
#endif
#ifndef TRIM_MEASURABLE
#define TRIM_MEASURABLE 1
#endif

#define BLOCK 1024
#define BLOCKS (48 * 1024)

static long private_dirty_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	CHECK(f != NULL);
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "Private_Dirty:", 14) == 0)
			kb = strtol(line + 14, NULL, 10);
	fclose(f);
	CHECK(kb >= 0);
	return kb;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void check_idle_trim(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(lfd >= 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK(listen(lfd, 4) == 0);
	socklen_t sl = sizeof sa;
	CHECK(getsockname(lfd, (struct sockaddr *)&sa, &sl) == 0);

	struct worker_state ws;
	memset(&ws, 0, sizeof ws);
	/* nothing pending: no wait */
	double t0 = now_ms();
	trim_when_idle(&ws, lfd);
	CHECK(now_ms() - t0 < WORKER_IDLE_TRIM_MS / 2);

	/* a connection waiting: kept for it */
	ws.body = malloc(WORKER_TRIM_BYTES);
	CHECK(ws.body != NULL);
	ws.body_cap = WORKER_TRIM_BYTES;
	ws.trim_peak = WORKER_TRIM_BYTES;
	clock_gettime(CLOCK_MONOTONIC, &ws.trim_since);
	int cfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(cfd >= 0 && connect(cfd, (struct sockaddr *)&sa, sizeof sa) == 0);
	t0 = now_ms();
	trim_when_idle(&ws, lfd);
	CHECK(now_ms() - t0 < WORKER_IDLE_TRIM_MS / 2);
	CHECK(ws.body != NULL && ws.body_cap == WORKER_TRIM_BYTES && ws.trim_peak > 0);
	int afd = accept(lfd, NULL, NULL);
	CHECK(afd >= 0);
	close(afd);
	close(cfd);

	/* busy, but the peak is WORKER_TRIM_HOLD_MS old: given back at once */
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(cfd >= 0 && connect(cfd, (struct sockaddr *)&sa, sizeof sa) == 0);
	ws.trim_since.tv_sec -= WORKER_TRIM_HOLD_MS / 1000 + 1;
	t0 = now_ms();
	trim_when_idle(&ws, lfd);
	CHECK(now_ms() - t0 < WORKER_IDLE_TRIM_MS / 2);
	CHECK(ws.body == NULL && ws.body_cap == 0 && ws.trim_peak == 0);
	afd = accept(lfd, NULL, NULL);
	CHECK(afd >= 0);
	close(afd);
	close(cfd);

	/* idle: given back after the wait */
	ws.body = malloc(WORKER_TRIM_BYTES);
	CHECK(ws.body != NULL);
	ws.body_cap = WORKER_TRIM_BYTES;
	ws.trim_peak = WORKER_TRIM_BYTES;
	clock_gettime(CLOCK_MONOTONIC, &ws.trim_since);
	t0 = now_ms();
	trim_when_idle(&ws, lfd);
	CHECKF(now_ms() - t0 >= WORKER_IDLE_TRIM_MS - 5, "%.1f ms", now_ms() - t0);
	CHECK(ws.body == NULL && ws.body_cap == 0 && ws.trim_peak == 0);
	close(lfd);
}

int main(void)
{
	check_idle_trim();
	CHECK(release_peak(0) == 0);
	CHECK(release_peak(WORKER_TRIM_BYTES - 1) == 0);
#ifdef __GLIBC__
	CHECK(release_peak(WORKER_TRIM_BYTES) == 1);
	CHECK(release_peak((size_t)64 << 20) == 1);
#endif
	if (!TRIM_MEASURABLE)
		return 0;

	char **blocks = malloc(BLOCKS * sizeof *blocks);
	CHECK(blocks != NULL);
	for (size_t i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(BLOCK);
		CHECK(blocks[i] != NULL);
		memset(blocks[i], 0x5A, BLOCK); /* dirty the pages */
	}
	for (size_t i = 0; i < BLOCKS; i++)
		if (i % 64 != 63) {
			free(blocks[i]);
			blocks[i] = NULL;
		}
	long held = private_dirty_kb();
	CHECK(release_peak(WORKER_TRIM_BYTES - 1) == 0);
	long untouched = private_dirty_kb();
	CHECKF(untouched > held - 8 * 1024, "small request trimmed anyway: %ld -> %ld kB", held,
	       untouched);
	CHECK(release_peak(WORKER_TRIM_BYTES) == 1);
	long after = private_dirty_kb();
	CHECKF(after < held - 32 * 1024, "Private_Dirty %ld kB before the trim, %ld kB after", held,
	       after);
	for (size_t i = 0; i < BLOCKS; i++)
		free(blocks[i]);
	free(blocks);
	return 0;
}
