/*
 * train_query: `rb-aioutliers-train --query` against the Druid emulator
 * (tests/emulator, started on loopback port 0 by this test) and
 * train_query.c in process.
 *   In process: the body for a granularity (intervals aligned to whole
 *   buckets, granularity set, $granularity_seconds resolved as the service's
 *   rewrite does), the hash (unchanged by intervals and granularity, changed
 *   by the filter), the template (accepted by druid_template_parse), a query
 *   without aggregations or with an unknown placeholder refused.
 *   Command: a good run (two days of FlowSensor at pt1m and pt5m, one epoch)
 *   writes NAME.keras, .ini with its [training] section, .druid.json (the
 *   query's template) and the model loads; then each bad input is a clear
 *   error (exit 1, or 2 for usage) and leaves the models directory empty:
 *   Druid down, an HTTP error, an empty answer, a metric missing in some rows
 *   (a max over empty buckets prints null), an infinite value (Druid prints
 *   null for it), too little data (says how much is needed). Last,
 *   etc/train-models.sh (the nightly unit's script) over a train.d with two
 *   good models and one that fails: exit 2, the two trained.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <dirent.h>
#include <unistd.h>

#include "rb/druid/druid_query.h"
#include "rb/model/model.h"
#include "rb/train/train_query.h"
#include "testutil.h"

static char tmp[256], models[300];
static pid_t emus[2]; /* killed at exit, also when a CHECK fails (they hold our stdout) */

static void kill_emus(void)
{
	for (int i = 0; i < 2; i++)
		if (emus[i] > 0)
			kill(emus[i], SIGTERM);
}

/* A FlowSensor-style query: sensor, extra aggregation JSON (may be ""), context. */
static void write_query(const char *path, const char *sensor, const char *extra_post,
                        const char *context)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f,
	        "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\",\"granularity\":\"minute\","
	        "\"intervals\":\"2023-09-01/2023-09-02\",\"filter\":{\"type\":\"selector\","
	        "\"dimension\":\"sensor_name\",\"value\":\"%s\"},\"aggregations\":["
	        "{\"type\":\"longSum\",\"name\":\"bytes\",\"fieldName\":\"sum_bytes\"},"
	        "{\"type\":\"longSum\",\"name\":\"flows\",\"fieldName\":\"events\"}%s],"
	        "\"postAggregations\":[{\"type\":\"arithmetic\",\"name\":\"fps\",\"fn\":\"/\","
	        "\"fields\":[{\"type\":\"fieldAccess\",\"fieldName\":\"flows\"},{\"type\":\"constant\","
	        "\"name\":\"s\",\"value\":\"$granularity_seconds\"}]}]%s}",
	        sensor, extra_post, context);
	CHECK(fclose(f) == 0);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int n = 0;
	for (struct dirent *e = readdir(d); e != NULL; e = readdir(d))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Starts the emulator with --fault extra1 extra2; returns its pid, *port set. */
static pid_t emu_start(const char *extra1, const char *extra2, int *port)
{
	char exe[512];
	snprintf(exe, sizeof exe, "%s/tests/emulator/rb-druid-emulator",
	         getenv("RB_BUILD_DIR") ? getenv("RB_BUILD_DIR") : ".");
	int fd[2];
	CHECK(pipe(fd) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execl(exe, exe, "--listen", "127.0.0.1:0", "--fault", extra1, extra2, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	CHECK(f != NULL);
	char line[128] = "";
	CHECKF(fgets(line, sizeof line, f) != NULL, "the emulator %s did not start", exe);
	CHECKF(sscanf(line, "listening 127.0.0.1:%d", port) == 1, "emulator said: %s", line);
	fclose(f);
	return pid;
}

static void emu_stop(pid_t pid)
{
	int st = 0;
	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &st, 0) == pid);
}

/* Runs the command; checks its exit code, that stderr contains want, and the models dir. */
static void expect(const char *args, int want_rc, const char *want, int want_files)
{
	char cmd[4096], out[8192];
	snprintf(cmd, sizeof cmd, "%s/rb-aioutliers-train --epochs 1 --models-dir %s %s 2>&1 "
	         ">/dev/null", getenv("RB_BUILD_DIR") ? getenv("RB_BUILD_DIR") : ".", models, args);
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	size_t got = fread(out, 1, sizeof out - 1, p);
	out[got] = '\0';
	int st = pclose(p);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == want_rc, "%s: exit %d, want %d: %s", args,
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1, want_rc, out);
	CHECKF(strstr(out, want) != NULL, "%s: '%s' not in: %s", args, want, out);
	CHECKF(count_files(models) == want_files, "%s: %d files in the models directory, want %d",
	       args, count_files(models), want_files);
	printf("ok: exit %d: %.*s", want_rc, (int)strcspn(out, "\n") + 1, out);
}

static void in_process(void)
{
	struct rb_err err = {0};
	struct train_query q, q2;
	const char *text = "{\"queryType\":\"timeseries\",\"dataSource\":\"rb_flow\","
	                   "\"granularity\":\"minute\",\"intervals\":\"2023-09-01/2023-09-02\","
	                   "\"aggregations\":[{\"type\":\"longSum\",\"name\":\"b\","
	                   "\"fieldName\":\"sum_bytes\"}],\"postAggregations\":[{\"type\":"
	                   "\"arithmetic\",\"name\":\"r\",\"fn\":\"/\",\"fields\":[{\"type\":"
	                   "\"fieldAccess\",\"fieldName\":\"b\"},{\"type\":\"constant\",\"name\":"
	                   "\"s\",\"value\":\"$granularity_seconds\"}]}]}";
	CHECKF(train_query_load(&q, text, strlen(text), "q.json", &err) == RB_OK, "%s", err.msg);
	char *body = NULL;
	size_t len = 0;
	/* from 00:02 to 00:58 at PT5M: the whole buckets 00:05 .. 00:55 */
	CHECK(train_query_body(&q, "pt5m", 1693526520000LL, 1693529880000LL, &body, &len, &err) ==
	      RB_OK);
	CHECKF(strstr(body, "\"intervals\":\"2023-09-01T00:05:00.000Z/2023-09-01T00:55:00.000Z\"") !=
	       NULL, "%s", body);
	CHECKF(strstr(body, "\"granularity\":{\"type\":\"period\",\"period\":\"pt5m\"}") != NULL,
	       "%s", body);
	CHECKF(strstr(body, "\"value\":300") != NULL, "placeholder not resolved: %s", body);
	free(body);
	CHECK(train_query_body(&q, "pt1h", 1693526520000LL, 1693529880000LL, &body, &len, &err) ==
	      RB_E_INPUT && strstr(err.msg, "not one whole bucket") != NULL && body == NULL);
	CHECK(train_query_body(&q, "p1m", 0, 1693529880000LL, &body, &len, &err) == RB_E_INPUT);
	struct druid_template *t = NULL;
	CHECKF(druid_template_parse(&t, q.template_text, q.template_len, "t", &err) == RB_OK, "%s",
	       err.msg);
	CHECK(druid_template_provides(t, "b") && druid_template_provides(t, "r"));
	druid_template_free(t);
	/* the hash ignores intervals and granularity, not the filter */
	char other[2048];
	snprintf(other, sizeof other, "%s", text);
	memcpy(strstr(other, "\"minute\""), "\"hour\"  ", 8);
	memcpy(strstr(other, "2023-09-01/"), "2024", 4);
	CHECK(train_query_load(&q2, other, strlen(other), "q2.json", &err) == RB_OK);
	CHECK(q2.hash == q.hash);
	train_query_release(&q2);
	snprintf(other, sizeof other, "%.*s,\"filter\":{\"type\":\"true\"}}", (int)strlen(text) - 1,
	         text);
	CHECK(train_query_load(&q2, other, strlen(other), "q2.json", &err) == RB_OK);
	CHECK(q2.hash != q.hash);
	train_query_release(&q2);
	printf("ok: hash %016llx, body aligned to whole buckets, placeholder resolved\n",
	       (unsigned long long)q.hash);
	train_query_release(&q);
	const char *noagg = "{\"queryType\":\"timeseries\",\"dataSource\":\"x\","
	                    "\"granularity\":\"minute\",\"intervals\":\"2023/2024\"}";
	CHECK(train_query_load(&q, noagg, strlen(noagg), "n.json", &err) == RB_E_INPUT &&
	      strstr(err.msg, "no aggregations") != NULL && q.query == NULL);
	const char *badph = "{\"queryType\":\"timeseries\",\"dataSource\":\"x\","
	                    "\"granularity\":\"minute\",\"intervals\":\"2023/2024\",\"aggregations\":"
	                    "[{\"type\":\"longSum\",\"name\":\"a\",\"fieldName\":\"$foo\"}]}";
	CHECK(train_query_load(&q, badph, strlen(badph), "p.json", &err) == RB_E_INPUT);
	CHECKF(strstr(err.msg, "placeholder") != NULL, "%s", err.msg);
	CHECK(train_query_load(&q, "[1", 2, "j.json", &err) == RB_E_INPUT);
	CHECK(train_fnv1a64(TRAIN_FNV_OFFSET, "a", 1) == 0xaf63dc4c8601ec8cull); /* FNV's own vector */
}

int main(void)
{
	in_process();
	snprintf(tmp, sizeof tmp, "/tmp/rb-train-query-XXXXXX");
	CHECK(mkdtemp(tmp) != NULL);
	snprintf(models, sizeof models, "%s/models", tmp);
	char path[512], conf[512], args[2048];
	snprintf(path, sizeof path, "mkdir %s", models);
	CHECK(system(path) == 0);
	int port = 0, port500 = 0;
	atexit(kill_emus);
	pid_t emu = emu_start("status", "500", &port500);
	emus[0] = emu;
	/* the same emulator without a fault: a second process */
	pid_t good = 0;
	{
		char exe[512];
		snprintf(exe, sizeof exe, "%s/tests/emulator/rb-druid-emulator",
		         getenv("RB_BUILD_DIR") ? getenv("RB_BUILD_DIR") : ".");
		int fd[2];
		CHECK(pipe(fd) == 0);
		good = fork();
		CHECK(good >= 0);
		if (good == 0) {
			dup2(fd[1], 1);
			close(fd[0]);
			close(fd[1]);
			execl(exe, exe, "--listen", "127.0.0.1:0", (char *)NULL);
			_exit(127);
		}
		close(fd[1]);
		FILE *f = fdopen(fd[0], "r");
		char line[128] = "";
		CHECK(f != NULL && fgets(line, sizeof line, f) != NULL);
		CHECK(sscanf(line, "listening 127.0.0.1:%d", &port) == 1);
		fclose(f);
		emus[1] = good;
	}
	/* a port nobody listens on: bound, never listening */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t sl = sizeof sa;
	CHECK(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	      getsockname(s, (struct sockaddr *)&sa, &sl) == 0);
	int dead = ntohs(sa.sin_port);

	char q_ok[512], q_empty[512], q_null[512], q_inf[512];
	snprintf(q_ok, sizeof q_ok, "%s/fs.json", tmp);
	write_query(q_ok, "FlowSensor", "", ",\"context\":{\"skipEmptyBuckets\":\"true\"}");
	snprintf(q_empty, sizeof q_empty, "%s/none.json", tmp);
	write_query(q_empty, "NoSuchSensor", "", ",\"context\":{\"skipEmptyBuckets\":\"true\"}");
	snprintf(q_null, sizeof q_null, "%s/max.json", tmp); /* empty buckets kept: max is null */
	write_query(q_null, "FlowSensor2",
	            ",{\"type\":\"longMax\",\"name\":\"top\",\"fieldName\":\"sum_bytes\"}", "");
	snprintf(q_inf, sizeof q_inf, "%s/inf.json", tmp);
	write_query(q_inf, "FlowSensor",
	            ",{\"type\":\"doubleSum\",\"name\":\"big\",\"fieldName\":\"sum_bytes\"}", "");
	{ /* big^400 overflows to inf, which Druid (and the emulator) prints as null */
		size_t len = 0;
		char *t = tu_read_file(q_inf, &len);
		char *at = strstr(t, "\"postAggregations\":[");
		CHECK(at != NULL);
		FILE *f = fopen(q_inf, "w");
		CHECK(f != NULL);
		fprintf(f, "%.*s\"postAggregations\":[{\"type\":\"arithmetic\",\"name\":\"huge\","
		        "\"fn\":\"pow\",\"fields\":[{\"type\":\"fieldAccess\",\"fieldName\":\"big\"},"
		        "{\"type\":\"constant\",\"name\":\"e\",\"value\":400}]},%s",
		        (int)(at - t), t, at + strlen("\"postAggregations\":["));
		CHECK(fclose(f) == 0);
		free(t);
	}
	snprintf(conf, sizeof conf, "%s/ok.conf", tmp);
	FILE *f = fopen(conf, "w");
	CHECK(f != NULL);
	fprintf(f, "# the daemon's file; the command reads only its keys\nlisten =\n"
	        "druid_url = http://127.0.0.1:%d/druid/v2/\ndruid_timeout_ms = 20000\n", port);
	CHECK(fclose(f) == 0);

	/* bad inputs first: the directory must stay empty */
	const char *iv = "--from 2023-09-04 --to 2023-09-06 --granularities pt1m,pt5m";
	snprintf(args, sizeof args, "--name m --query %s %s -c %s/down.conf", q_ok, iv, tmp);
	snprintf(path, sizeof path, "%s/down.conf", tmp);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "druid_url = http://127.0.0.1:%d/druid/v2/\n", dead);
	CHECK(fclose(f) == 0);
	expect(args, 1, "Druid broker unreachable", 0);
	snprintf(path, sizeof path, "%s/500.conf", tmp);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "druid_url = http://127.0.0.1:%d/druid/v2/\n", port500);
	CHECK(fclose(f) == 0);
	snprintf(args, sizeof args, "--name m --query %s %s -c %s", q_ok, iv, path);
	expect(args, 1, "HTTP 500", 0);
	snprintf(args, sizeof args, "--name m --query %s %s -c %s", q_empty, iv, conf);
	expect(args, 1, "Druid answered []", 0);
	snprintf(args, sizeof args, "--name m --query %s --from 2023-10-10T12:00Z "
	         "--to 2023-10-10T18:00Z --granularities pt1m -c %s", q_null, conf);
	expect(args, 1, "metric \"top\" is missing", 0);
	snprintf(args, sizeof args, "--name m --query %s %s -c %s", q_inf, iv, conf);
	expect(args, 1, "metric \"huge\" is missing or not a finite number", 0);
	snprintf(args, sizeof args, "--name m --query %s --from 2023-09-04T00:00 "
	         "--to 2023-09-04T03:00 --granularities pt1m -c %s", q_ok, conf);
	expect(args, 1, "at least 320 rows", 0);
	snprintf(args, sizeof args, "--name m --query %s --granularities month -c %s", q_ok, conf);
	expect(args, 2, "--granularities: not an ISO-8601 period", 0);
	snprintf(args, sizeof args, "--name m --query %s %s -c %s --druid-template %s", q_ok, iv,
	         conf, q_ok);
	expect(args, 2, "--druid-template goes with --data", 0);

	/* the good run */
	snprintf(args, sizeof args, "--name m --query %s %s -c %s", q_ok, iv, conf);
	expect(args, 0, "epoch=1/1", 3);
	char ini_path[600], dj_path[600];
	snprintf(ini_path, sizeof ini_path, "%s/m.ini", models);
	snprintf(dj_path, sizeof dj_path, "%s/m.druid.json", models);
	size_t ilen = 0, dlen = 0, qlen = 0;
	char *ini = tu_read_file(ini_path, &ilen);
	char *dj = tu_read_file(dj_path, &dlen);
	char *qt = tu_read_file(q_ok, &qlen);
	struct train_query q;
	struct rb_err err = {0};
	CHECK(train_query_load(&q, qt, qlen, "fs.json", &err) == RB_OK);
	char want[128];
	snprintf(want, sizeof want, "query_hash = fnv1a64:%016llx\n", (unsigned long long)q.hash);
	CHECKF(strstr(ini, "\n[training]\n") != NULL && strstr(ini, want) != NULL &&
	       strstr(ini, "interval = 2023-09-04T00:00:00.000Z/2023-09-06T00:00:00.000Z\n") &&
	       strstr(ini, "granularities = pt1m, pt5m\n") && strstr(ini, "query = fs.json\n") &&
	       strstr(ini, "rows = 3456\n") && strstr(ini, "seed = 1\n") &&
	       strstr(ini, "trainer = rb-aioutliers-train ") != NULL, "%s", ini);
	CHECKF(dlen == q.template_len && memcmp(dj, q.template_text, dlen) == 0, "%s", dj);
	struct model *m = NULL;
	CHECKF(model_load(&m, models, "m", &err) == RB_OK, "%s", err.msg);
	CHECK(m->spec.n_metrics == 4 && strcmp(m->spec.metrics[2], "fps") == 0 &&
	      m->spec.has_score_stats);
	model_free(m);
	printf("ok: the good run: m.keras, m.ini ([training] with the query hash, interval, "
	       "granularities, 3456 rows), m.druid.json = the query's template; it loads\n");
	train_query_release(&q);
	free(ini);
	free(dj);
	free(qt);

	/* etc/train-models.sh (what rb-aioutliers-train.service runs): model a from a.json, model
	 * b from the directory b/ (one query), model c from an empty answer (fails, no file);
	 * exit 2 (some trained, some failed: the unit still reloads the daemon) */
	static char cmd[8192];
	char tdir[300], nightly[300];
	snprintf(tdir, sizeof tdir, "%s/train.d", tmp);
	snprintf(nightly, sizeof nightly, "%s/nightly", tmp);
	snprintf(cmd, sizeof cmd, "mkdir -p %s/b %s && cp %s %s/a.json && cp %s %s/b/x.json && "
	         "cp %s %s/c.json && echo ignored > %s/README", tdir, nightly, q_ok, tdir, q_ok, tdir,
	         q_empty, tdir, tdir);
	CHECK(system(cmd) == 0);
	snprintf(cmd, sizeof cmd, "RB_CONFIG=%s RB_TRAIN_DIR=%s RB_TRAIN=%s/rb-aioutliers-train "
	         "RB_TRAIN_ARGS='--models-dir %s --epochs 1 %s' sh %s >%s/nightly.log 2>&1", conf, tdir,
	         getenv("RB_BUILD_DIR") ? getenv("RB_BUILD_DIR") : ".", nightly, iv,
	         tu_source("etc/train-models.sh"), tmp);
	int st = system(cmd);
	snprintf(path, sizeof path, "%s/nightly.log", tmp);
	size_t loglen = 0;
	char *log = tu_read_file(path, &loglen);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 2, "train-models.sh exit %d: %s",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1, log);
	CHECKF(strstr(log, "2 model(s) trained, 1 failed") != NULL &&
	       strstr(log, "model c failed") != NULL, "%s", log);
	CHECKF(count_files(nightly) == 6, "%d files, want a.* and b.* (3 each)", count_files(nightly));
	free(log);
	printf("ok: etc/train-models.sh: a.json and b/ trained, c.json (empty answer) failed: exit 2\n");

	close(s);
	emu_stop(good);
	emu_stop(emu);
	emus[0] = emus[1] = 0;
	snprintf(path, sizeof path, "rm -rf '%s'", tmp);
	CHECK(system(path) == 0);
	return 0;
}
