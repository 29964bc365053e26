/*
 * test_worker_request_id: the worker's request id (request_id() in
 * fcgi/worker.c, reached by including the file) is byte for byte what
 * snprintf(rid, 40, "%ld-%llu", pid, seq) writes, for real pids and for the
 * extremes of both numbers (the longest ids are cut at 39 bytes as snprintf
 * cuts them).
 */
#include "fcgi/worker.c"

#include <limits.h>

#include "testutil.h"

static void check_one(long pid, uint64_t seq)
{
	char want[40], got[40];
	snprintf(want, sizeof want, "%ld-%llu", pid, (unsigned long long)seq);
	memset(got, 'x', sizeof got);
	request_id(got, pid, seq);
	CHECKF(strcmp(want, got) == 0, "pid %ld seq %llu: %s, want %s", pid,
	       (unsigned long long)seq, got, want);
}

int main(void)
{
	static const long pids[] = {1, 9, 10, 4321, 99999, 4194304, 2147483647L, LONG_MAX};
	static const uint64_t seqs[] = {0, 1, 9, 10, 99, 100, 123456789, 4294967296ull,
	                                9999999999999999999ull, UINT64_MAX};
	for (size_t i = 0; i < sizeof pids / sizeof pids[0]; i++)
		for (size_t k = 0; k < sizeof seqs / sizeof seqs[0]; k++)
			check_one(pids[i], seqs[k]);
	struct tu_rng r = {17};
	for (int i = 0; i < 100000; i++) {
		long pid = (long)(tu_rng_next(&r) % 4194304u) + 1;
		uint64_t seq = tu_rng_next(&r);
		check_one(pid, seq >> (tu_rng_next(&r) % 64));
	}
	return 0;
}
