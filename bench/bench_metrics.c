/*
 * bench_metrics: what counting one request costs a worker (fcgi/metrics.c):
 * the calls the daemon makes per request, with their clock reads, for a
 * query request through a detector (route lookup, runner by name, request
 * histogram, detector histogram, rows, Druid call) and the same through a
 * model found in the model table (the tenth name); alone, and with 2
 * processes counting on the same shared board at once (the cache lines of
 * the counters bounce between cores). Prints ns per request (median of runs).
 *   build/bench/bench_metrics [runs]
 */
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "fcgi/metrics.c"
#include "fcgi/route.c"

#define N_REQ 1000000

static double secs_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One request's counting, as worker.c and app.c do it. */
static void one_request(struct metrics_board *mb, const char *runner_name)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0); /* the Druid call's clock */
	metrics_druid_call(mb, DRUID_OUTCOME_OK, secs_since(&t0));
	clock_gettime(CLOCK_MONOTONIC, &t0); /* the runner's clock */
	metrics_runner_time(mb, metrics_runner(mb, runner_name), secs_since(&t0));
	metrics_rows(mb, 60);
	unsigned route = (unsigned)route_lookup("POST", "/api/v1/outliers", NULL);
	metrics_request(mb, route, 200, metrics_runner(mb, runner_name), secs_since(&t0));
}

/* ns per request over N_REQ requests in each of procs processes at once (the slowest). */
static double run(struct metrics_board *mb, const char *runner_name, int procs)
{
	int fds[2];
	if (pipe(fds) != 0)
		exit(1);
	for (int p = 0; p < procs; p++) {
		if (fork() == 0) {
			double t0 = bench_wall_us();
			for (int i = 0; i < N_REQ; i++)
				one_request(mb, runner_name);
			double ns = (bench_wall_us() - t0) * 1e3 / N_REQ;
			if (write(fds[1], &ns, sizeof ns) != sizeof ns)
				_exit(1);
			_exit(0);
		}
	}
	double worst = 0;
	for (int p = 0; p < procs; p++) {
		double ns = 0;
		if (read(fds[0], &ns, sizeof ns) == sizeof ns && ns > worst)
			worst = ns;
		wait(NULL);
	}
	close(fds[0]);
	close(fds[1]);
	return worst;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	if (runs < 1 || runs > 99)
		runs = 5;
	struct metrics_board *mb = metrics_board_new();
	if (mb == NULL)
		return 1;
	char name[32];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "model%d", i);
		metrics_runner(mb, name);
	}
	printf("| case | processes | ns/request (median of %d) |\n|---|---:|---:|\n", runs);
	const char *cases[][2] = {{"detector", "robust"}, {"model (10th in the table)", "model9"}};
	for (int c = 0; c < 2; c++)
		for (int procs = 1; procs <= 2; procs++) {
			double v[99];
			for (int r = 0; r < runs; r++)
				v[r] = run(mb, cases[c][1], procs);
			printf("| %s | %d | %.0f |\n", cases[c][0], procs, bench_median(v, (size_t)runs));
		}
	metrics_board_free(mb);
	return 0;
}
