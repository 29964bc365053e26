/*
 * metrics: the pool-wide counters and their Prometheus text (fcgi/metrics.c):
 * counts from several processes add up on the shared board, also those of a
 * process killed right after counting; the text has a HELP and a TYPE line
 * before each family's samples, escapes label values (\\, \", \n), renders
 * histogram buckets cumulative with +Inf equal to _count and _sum the total;
 * the model table gives one slot per name, and "other" once it is full; the
 * pool's counters and a registry's models are rendered.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb/fcgi/metrics.h"
#include "rb/fcgi/route.h"
#include "testutil.h"

/* The value of the sample line that starts with prefix (name and labels), or -1. */
static double sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *l = text; *l != '\0';) {
		const char *end = strchr(l, '\n');
		CHECK(end != NULL); /* every line ends with \n */
		if ((size_t)(end - l) > n && strncmp(l, prefix, n) == 0 && l[n] == ' ')
			return strtod(l + n + 1, NULL);
		l = end + 1;
	}
	return -1;
}

/* Format rules on every line: a family's samples follow its # HELP and # TYPE lines;
 * a histogram's buckets are cumulative and its +Inf bucket equals its _count. */
static void check_format(const char *text)
{
	char family[128] = "", type[32] = "";
	double last_bucket = 0;
	int lines = 0;
	for (const char *l = text; *l != '\0';) {
		const char *end = strchr(l, '\n');
		CHECK(end != NULL);
		char line[1024];
		size_t len = (size_t)(end - l);
		CHECK(len < sizeof line);
		memcpy(line, l, len);
		line[len] = '\0';
		l = end + 1;
		lines++;
		char name[128], what[32];
		if (strncmp(line, "# HELP ", 7) == 0) {
			CHECK(sscanf(line + 7, "%127s", name) == 1);
			snprintf(family, sizeof family, "%s", name);
			type[0] = '\0';
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			CHECK(sscanf(line + 7, "%127s %31s", name, what) == 2);
			CHECKF(strcmp(name, family) == 0, "TYPE %s after HELP %s", name, family);
			snprintf(type, sizeof type, "%s", what);
			last_bucket = 0;
			continue;
		}
		CHECKF(type[0] != '\0', "sample before TYPE: %s", line);
		CHECKF(strncmp(line, family, strlen(family)) == 0, "%s outside family %s", line, family);
		const char *rest = line + strlen(family);
		CHECKF(*rest == ' ' || *rest == '{' || strcmp(type, "histogram") == 0, "%s", line);
		double v = strtod(strrchr(line, ' ') + 1, NULL);
		if (strcmp(type, "histogram") != 0)
			continue;
		if (strncmp(rest, "_bucket{", 8) == 0) {
			CHECKF(v >= last_bucket, "bucket not cumulative: %s", line);
			last_bucket = v;
			if (strstr(rest, "le=\"+Inf\"") != NULL) {
				/* the _count of the same labels follows after _sum: find it */
				char want[1024];
				const char *lb = strchr(rest, '{');
				const char *le = strstr(lb, "le=\"+Inf\"");
				size_t k = (size_t)(le - lb) - 1; /* labels before le (with a comma) */
				if (k > 0 && lb[k] == ',')
					snprintf(want, sizeof want, "%s_count%.*s}", family, (int)k, lb);
				else
					snprintf(want, sizeof want, "%s_count", family);
				CHECKF(sample(l, want) == v, "%s: +Inf %g != count", want, v);
			}
		} else {
			last_bucket = 0; /* the next series starts again */
		}
	}
	CHECK(lines > 10);
}

static void counts_add_up_across_processes(void)
{
	struct metrics_board *mb = metrics_board_new();
	CHECK(mb != NULL);
	unsigned runner = metrics_runner(mb, "robust");
	pid_t pids[4];
	for (int p = 0; p < 4; p++) {
		pids[p] = fork();
		CHECK(pids[p] >= 0);
		if (pids[p] == 0) {
			for (int i = 0; i < 1000; i++) {
				metrics_request(mb, ROUTE_OUTLIERS, 200, runner, 0.003);
				metrics_rows(mb, 10);
			}
			if (p == 3)
				raise(SIGKILL); /* dies: what it counted stays */
			_exit(0);
		}
	}
	for (int p = 0; p < 4; p++)
		waitpid(pids[p], NULL, 0);
	size_t len = 0;
	char *text = metrics_render(mb, NULL, NULL, &len);
	CHECK(text != NULL && strlen(text) == len);
	check_format(text);
	CHECK(sample(text, "rb_aioutliers_requests_total{route=\"outliers\",code=\"200\"}") == 4000);
	CHECK(sample(text, "rb_aioutliers_rows_analysed_total") == 40000);
	const char *h = "rb_aioutliers_request_duration_seconds";
	char key[256];
	snprintf(key, sizeof key, "%s_bucket{route=\"outliers\",model=\"robust\",le=\"0.0025\"}", h);
	CHECK(sample(text, key) == 0);
	snprintf(key, sizeof key, "%s_bucket{route=\"outliers\",model=\"robust\",le=\"0.005\"}", h);
	CHECK(sample(text, key) == 4000);
	snprintf(key, sizeof key, "%s_bucket{route=\"outliers\",model=\"robust\",le=\"60\"}", h);
	CHECK(sample(text, key) == 4000);
	snprintf(key, sizeof key, "%s_sum{route=\"outliers\",model=\"robust\"}", h);
	double sum = sample(text, key);
	CHECKF(sum > 11.99 && sum < 12.01, "sum %g", sum);
	free(text);
	metrics_board_free(mb);
}

static void histogram_and_druid(void)
{
	struct metrics_board *mb = metrics_board_new();
	CHECK(mb != NULL);
	double secs[] = {0.0005, 0.001, 0.02, 0.7, 3, 100};
	for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++)
		metrics_druid_call(mb, DRUID_OUTCOME_OK, secs[i]);
	metrics_druid_call(mb, DRUID_OUTCOME_TIMEOUT, 60);
	metrics_druid_call(mb, DRUID_OUTCOME_NONE, 1); /* not a call */
	size_t len = 0;
	char *text = metrics_render(mb, NULL, NULL, &len);
	CHECK(text != NULL);
	check_format(text);
	const char *d = "rb_aioutliers_druid_duration_seconds";
	char key[200];
	snprintf(key, sizeof key, "%s_bucket{le=\"0.001\"}", d);
	CHECK(sample(text, key) == 2); /* le is inclusive */
	snprintf(key, sizeof key, "%s_bucket{le=\"1\"}", d);
	CHECK(sample(text, key) == 4);
	snprintf(key, sizeof key, "%s_bucket{le=\"60\"}", d);
	CHECK(sample(text, key) == 6);
	snprintf(key, sizeof key, "%s_bucket{le=\"+Inf\"}", d);
	CHECK(sample(text, key) == 7);
	snprintf(key, sizeof key, "%s_count", d);
	CHECK(sample(text, key) == 7);
	CHECK(sample(text, "rb_aioutliers_druid_calls_total{outcome=\"ok\"}") == 6);
	CHECK(sample(text, "rb_aioutliers_druid_calls_total{outcome=\"timeout\"}") == 1);
	CHECK(sample(text, "rb_aioutliers_druid_calls_total{outcome=\"bad_answer\"}") == 0);
	CHECK(sample(text, "rb_aioutliers_druid_last_success") == 0);
	CHECK(sample(text, "rb_aioutliers_druid_last_call_timestamp_seconds") > 1.7e9);
	CHECK(strcmp(metrics_druid_outcome_name(DRUID_OUTCOME_CONNECT), "connect_failure") == 0);
	CHECK(metrics_druid_outcome_name(DRUID_OUTCOME_NONE) == NULL);
	free(text);
	metrics_board_free(mb);
}

static void models_and_escaping(void)
{
	struct metrics_board *mb = metrics_board_new();
	CHECK(mb != NULL);
	CHECK(metrics_runner(mb, NULL) == METRICS_RUNNER_NONE);
	CHECK(metrics_runner(mb, "") == METRICS_RUNNER_NONE);
	CHECK(metrics_runner(mb, "default") == METRICS_RUNNER_DETECTOR0 + DETECTOR_KIND_DEFAULT);
	unsigned odd = metrics_runner(mb, "a\"b\\c\nd");
	CHECK(odd == METRICS_RUNNER_MODEL0);
	CHECK(metrics_runner(mb, "traffic") == METRICS_RUNNER_MODEL0 + 1);
	CHECK(metrics_runner(mb, "a\"b\\c\nd") == odd); /* the same slot again */
	char name[32];
	for (int i = 2; i < METRICS_MODELS; i++) {
		snprintf(name, sizeof name, "m%d", i);
		CHECK(metrics_runner(mb, name) == METRICS_RUNNER_MODEL0 + (unsigned)i);
	}
	CHECK(metrics_runner(mb, "one-too-many") == METRICS_RUNNER_OTHER);
	metrics_runner_time(mb, odd, 0.01);
	metrics_runner_time(mb, METRICS_RUNNER_OTHER, 0.01);
	metrics_request(mb, ROUTE_OUTLIERS, 200, odd, 0.01);
	metrics_request(mb, ROUTE_HEALTH, 1000, METRICS_RUNNER_NONE, 0); /* odd status: 599 */

	struct pool_board pb;
	memset(&pb, 0, sizeof pb);
	pb.generation = 3;
	pb.worker_starts = 7;
	pb.worker_exits[POOL_EXIT_SIGNAL] = 2;
	pb.reloads_ok = 2;
	pb.reloads_failed = 1;
	size_t len = 0;
	char *text = metrics_render(mb, &pb, NULL, &len);
	CHECK(text != NULL);
	check_format(text);
	CHECK(sample(text, "rb_aioutliers_inference_seconds_count{model=\"a\\\"b\\\\c\\nd\"}") == 1);
	CHECK(sample(text, "rb_aioutliers_inference_seconds_count{model=\"other\"}") == 1);
	CHECK(sample(text, "rb_aioutliers_request_duration_seconds_count{route=\"outliers\","
	                   "model=\"a\\\"b\\\\c\\nd\"}") == 1);
	CHECK(sample(text, "rb_aioutliers_requests_total{route=\"health\",code=\"599\"}") == 1);
	CHECK(sample(text, "rb_aioutliers_generation") == 3);
	CHECK(sample(text, "rb_aioutliers_worker_starts_total") == 7);
	CHECK(sample(text, "rb_aioutliers_worker_exits_total{cause=\"signal\"}") == 2);
	CHECK(sample(text, "rb_aioutliers_worker_exits_total{cause=\"crash\"}") == 0);
	CHECK(sample(text, "rb_aioutliers_reloads_total{result=\"failed\"}") == 1);
	CHECK(strstr(text, "# TYPE rb_aioutliers_build_info gauge\n") != NULL);
	CHECK(strstr(text, "rb_aioutliers_build_info{version=\"") != NULL);
	CHECK(strstr(text, "rb_aioutliers_druid_last_success") == NULL); /* no call yet */
	free(text);
	metrics_board_free(mb);
}

static void registry_models(void)
{
	const char *shared = getenv("RB_SHARED_DIR");
	if (shared == NULL)
		return;
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/upstream", shared);
	struct registry *reg = NULL;
	struct rb_err err = {0};
	if (registry_load(&reg, dir, NULL, &err) != RB_OK) {
		printf("skip registry part: %s\n", err.msg);
		return;
	}
	size_t len = 0;
	char *text = metrics_render(NULL, NULL, reg, &len);
	CHECK(text != NULL);
	check_format(text);
	char key[200];
	snprintf(key, sizeof key, "rb_aioutliers_model_loaded{model=\"%s\"}", reg->entries[0].name);
	CHECK(sample(text, key) == 1);
	snprintf(key, sizeof key, "rb_aioutliers_model_file_mtime_seconds{model=\"%s\"}",
	         reg->entries[0].name);
	CHECK(sample(text, key) > 1e9);
	free(text);
	registry_free(reg);
}

int main(void)
{
	counts_add_up_across_processes();
	histogram_and_druid();
	models_and_escaping();
	registry_models();
	printf("metrics: ok\n");
	return 0;
}
