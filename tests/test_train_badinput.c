/*
 * train_badinput: rb-aioutliers-train refuses bad input with a clear message
 * and leaves no file behind (the models directory stays empty: no model, no
 * temporary): an empty file, an empty Druid answer ([]), a metric missing in
 * some rows, NaN (as a JSON token and as a string), too little data (the
 * message says how many rows are needed), a models directory that does not
 * exist or is a file (and, when not root, one without write permission), a
 * name with '/', a --druid-template the service would refuse, --query and
 * --data together, --from without --query; then a good file trains (with the
 * little-data rule: its decay and patience in the .ini, --epochs as given) and --init
 * fine-tunes. (--query's own bad inputs: tests/test_train_query.c.) Exit codes:
 * 1 for a failure, 2 for a usage error.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char tmp[256], models[300];

/* n one-minute rows; row `hole` (if < n) gets `hole_value` as bytes's JSON text, or no bytes. */
static void write_rows(const char *path, int n, int hole, const char *hole_value)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputc('[', f);
	for (int i = 0; i < n; i++) {
		char bytes[64];
		if (i == hole && hole_value == NULL)
			bytes[0] = '\0';
		else
			snprintf(bytes, sizeof bytes, "\"bytes\":%s,", i == hole ? hole_value : "1000");
		fprintf(f, "%s{\"timestamp\":\"2026-09-%02dT%02d:%02d:00Z\",\"result\":{%s\"pkts\":%d}}",
		        i ? "," : "", 1 + i / 1440, (i / 60) % 24, i % 60, bytes, 10 + i % 7);
	}
	fputs("]", f);
	CHECK(fclose(f) == 0);
}

/* Files in dir (. and .. not counted). */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int n = 0;
	struct dirent *e;
	for (e = readdir(d); e != NULL; e = readdir(d))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Runs the command with args; checks the exit code and that its stderr contains want. */
static void expect(const char *args, int want_rc, const char *want)
{
	char cmd[4096], out[4096];
	const char *bin = getenv("RB_BUILD_DIR") ? getenv("RB_BUILD_DIR") : ".";
	snprintf(cmd, sizeof cmd, "%s/rb-aioutliers-train --epochs 1 %s 2>&1 >/dev/null", bin, args);
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	size_t got = fread(out, 1, sizeof out - 1, p);
	out[got] = '\0';
	int st = pclose(p);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == want_rc, "%s: exit %d, want %d: %s", args,
	       WEXITSTATUS(st), want_rc, out);
	CHECKF(strstr(out, want) != NULL, "%s: message lacks \"%s\": %s", args, want, out);
	CHECKF(count_files(models) == 0, "%s: files left in the models directory", args);
	char *nl = strchr(out, '\n');
	if (nl != NULL)
		*nl = '\0';
	printf("ok (exit %d): %s\n", want_rc, out);
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/rb_train_bad.XXXXXX");
	CHECK(mkdtemp(tmp) != NULL);
	snprintf(models, sizeof models, "%s/models", tmp);
	CHECK(mkdir(models, 0755) == 0);
	char path[512], args[2048];

	snprintf(path, sizeof path, "%s/empty.json", tmp);
	write_rows(path, 0, -1, NULL);
	FILE *f = fopen(path, "w"); /* zero bytes */
	CHECK(f != NULL && fclose(f) == 0);
	snprintf(args, sizeof args, "--name m --models-dir %s --data %s", models, path);
	expect(args, 1, "empty file");

	snprintf(path, sizeof path, "%s/none.json", tmp);
	write_rows(path, 0, -1, NULL);
	snprintf(args, sizeof args, "--name m --models-dir %s --data %s", models, path);
	expect(args, 1, "Druid answered []");

	snprintf(path, sizeof path, "%s/missing.json", tmp);
	write_rows(path, 600, 300, NULL);
	snprintf(args, sizeof args, "--name m --models-dir %s --data %s", models, path);
	expect(args, 1, "row 301 (2026-09-01T05:00:00Z): metric \"bytes\" is missing");

	snprintf(path, sizeof path, "%s/nan.json", tmp);
	write_rows(path, 600, 10, "NaN");
	snprintf(args, sizeof args, "--name m --models-dir %s --data %s", models, path);
	expect(args, 1, "nan.json");

	snprintf(path, sizeof path, "%s/nanstr.json", tmp);
	write_rows(path, 600, 10, "\"NaN\"");
	snprintf(args, sizeof args, "--name m --models-dir %s --data %s", models, path);
	expect(args, 1, "row 11 (2026-09-01T00:10:00Z): metric \"bytes\" is missing or not a finite");

	snprintf(path, sizeof path, "%s/little.json", tmp);
	write_rows(path, 200, -1, NULL);
	snprintf(args, sizeof args, "--name m --models-dir %s --data %s", models, path);
	expect(args, 1, "that is at least 320 rows");

	snprintf(path, sizeof path, "%s/good.json", tmp);
	write_rows(path, 400, -1, NULL);
	snprintf(args, sizeof args, "--name m --models-dir %s/nonexistent --data %s", tmp, path);
	expect(args, 1, "models directory");
	snprintf(args, sizeof args, "--name m --models-dir %s --data %s", path, path);
	expect(args, 1, "not a directory");
	if (geteuid() != 0) {
		CHECK(chmod(models, 0555) == 0);
		snprintf(args, sizeof args, "--name m --models-dir %s --data %s", models, path);
		expect(args, 1, "is not writable");
		CHECK(chmod(models, 0755) == 0);
	} else {
		printf("(root: the permission case is not tested; root may write anywhere)\n");
	}
	char tpl[512];
	snprintf(tpl, sizeof tpl, "%s/query.json", tmp); /* a query, not a template */
	f = fopen(tpl, "w");
	CHECK(f != NULL && fputs("{\"queryType\":\"timeseries\",\"dataSource\":\"x\"}", f) >= 0 &&
	      fclose(f) == 0);
	snprintf(args, sizeof args, "--name m --models-dir %s --data %s --druid-template %s", models,
	         path, tpl);
	expect(args, 1, "--druid-template");
	snprintf(args, sizeof args, "--name ../m --models-dir %s --data %s", models, path);
	expect(args, 2, "--name must be a plain model name");
	snprintf(args, sizeof args, "--name a/b --models-dir %s --data %s", models, path);
	expect(args, 2, "never a path");
	snprintf(args, sizeof args, "--name m --models-dir %s --query q.json --data %s", models, path);
	expect(args, 2, "not both");
	snprintf(args, sizeof args, "--name m --models-dir %s --data %s --from 2023-09-01", models,
	         path);
	expect(args, 2, "go with --query");

	/* and the good file trains (a warning about little data), leaving exactly two files */
	snprintf(args, sizeof args, "--name m --models-dir %s --data %s", models, path);
	char cmd[4096], log[4096];
	snprintf(cmd, sizeof cmd, "%s/rb-aioutliers-train --epochs 1 %s 2>&1 >/dev/null",
	         getenv("RB_BUILD_DIR") ? getenv("RB_BUILD_DIR") : ".", args);
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	size_t got = fread(log, 1, sizeof log - 1, p);
	log[got] = '\0';
	CHECK(pclose(p) == 0);
	/* not a terminal: the little-data warning and one log line per epoch */
	CHECKF(strstr(log, "warning: 400 rows is little data") != NULL, "%s", log);
	CHECKF(strstr(log, "rb-aioutliers-train: epoch=1/1 train_loss=") != NULL, "%s", log);
	CHECKF(count_files(models) == 2, "%d files after a good run", count_files(models));
	/* the little-data rule: 21 training windows, a new model; --epochs 1 as given is kept */
	CHECKF(strstr(log, "regularised for it") != NULL, "%s", log);
	char ini_path[512];
	snprintf(ini_path, sizeof ini_path, "%s/m.ini", models);
	FILE *ini = fopen(ini_path, "r");
	CHECK(ini != NULL);
	static char ini_text[16384];
	ini_text[fread(ini_text, 1, sizeof ini_text - 1, ini)] = '\0';
	fclose(ini);
	CHECKF(strstr(ini_text, "little_data_rule = yes") != NULL &&
	       strstr(ini_text, "weight_decay = 0.3") != NULL &&
	       strstr(ini_text, "patience = 60") != NULL, "%s", ini_text);
	/* fine-tuning it (--init m) keeps the first as m.prev.* */
	snprintf(cmd, sizeof cmd, "%s/rb-aioutliers-train --epochs 1 --init m %s >/dev/null 2>&1",
	         getenv("RB_BUILD_DIR") ? getenv("RB_BUILD_DIR") : ".", args);
	CHECK(system(cmd) == 0);
	CHECKF(count_files(models) == 4, "%d files after --init", count_files(models));
	printf("ok: a good run writes m.keras, m.ini; --init m then keeps them as m.prev.*\n");

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	CHECK(system(cmd) == 0);
	return 0;
}
