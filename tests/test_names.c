/*
 * names: the model and metric name rules of the config and the request
 * fields (fcgi/names.c), the model rule equal to the model registry's
 * (model_name_valid) on every short text over a mixed alphabet, the list
 * text of a name table, and that the name function of every closed set
 * (inference paths, detectors, score rules, log levels and targets) aborts on
 * a value outside its enum in this build too (RB_ASSERT, not assert).
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb/detect/detector.h"
#include "rb/detect/score.h"
#include "rb/fcgi/log.h"
#include "rb/fcgi/names.h"
#include "rb/model/infer.h"
#include "rb/model/model.h"
#include "testutil.h"

static void rules(void)
{
	CHECK(names_model_ok("traffic", 7));
	CHECK(names_model_ok("a", 1));
	CHECK(names_model_ok("A-Z_a.z-0.9", 11));
	CHECK(names_model_ok("a..b", 4));
	CHECK(!names_model_ok("", 0));
	CHECK(!names_model_ok(".", 1));
	CHECK(!names_model_ok("..", 2));
	CHECK(!names_model_ok(".x", 2));
	CHECK(!names_model_ok("a/b", 3));
	CHECK(!names_model_ok("a\\b", 3));
	CHECK(!names_model_ok("a\0b", 3));
	CHECK(!names_model_ok("a\0", 2));
	CHECK(!names_model_ok("a b", 3));
	CHECK(!names_model_ok("caf\xc3\xa9", 5));
	char n64[65];
	memset(n64, 'm', 64);
	n64[64] = 0;
	CHECK(names_model_ok(n64, 63) && !names_model_ok(n64, 64));
	CHECK(names_metric_ok(".x", 2) && names_metric_ok("bytes", 5));
	CHECK(!names_metric_ok("", 0) && !names_metric_ok("a:b", 3));
	CHECK(!names_metric_ok("a\0", 2));
	CHECK(names_metric_ok(n64, 63) && !names_metric_ok(n64, 64));
}

/* Every text of 1 to 3 bytes over an alphabet of good, bad and edge bytes. */
static void same_as_registry(void)
{
	static const char abc[] = {'a', 'Z',  '0', '.',    '_',    '-',
	                           '/', ' ',  ':', '\\', '\x80', '\xff'};
	enum { N = sizeof abc };
	size_t checked = 0;
	for (size_t len = 1; len <= 3; len++) {
		size_t total = 1;
		for (size_t i = 0; i < len; i++)
			total *= N;
		for (size_t code = 0; code < total; code++) {
			char s[4] = {0};
			size_t c = code;
			for (size_t i = 0; i < len; i++, c /= N)
				s[i] = abc[c % N];
			CHECKF(names_model_ok(s, len) == model_name_valid(s), "'%s'", s);
			int metric = s[0] == '.' ? names_metric_ok(s + 1, len - 1) || len == 1
			                         : names_model_ok(s, len);
			CHECKF(names_metric_ok(s, len) == metric, "metric '%s'", s);
			checked++;
		}
	}
	CHECK(checked == 12 + 144 + 1728);
}

static void lists(void)
{
	static const char *const none[] = {NULL};
	static const char *const one[] = {"a", NULL};
	static const char *const two[] = {"default", "iforest-legacy", NULL};
	static const char *const four[] = {"auto", "dnnl", "vector", "reference", NULL};
	char buf[64];
	names_list(none, buf, sizeof buf);
	CHECK(strcmp(buf, "") == 0);
	names_list(one, buf, sizeof buf);
	CHECK(strcmp(buf, "a") == 0);
	names_list(two, buf, sizeof buf);
	CHECK(strcmp(buf, "default or iforest-legacy") == 0);
	names_list(four, buf, sizeof buf);
	CHECK(strcmp(buf, "auto, dnnl, vector or reference") == 0);
	names_list(four, buf, 10);
	CHECK(strcmp(buf, "auto, dnn") == 0);
	names_list(four, buf, 1);
	CHECK(buf[0] == '\0');
}

/* Runs f(v) in a child with stderr closed; 1 when the child died of SIGABRT. */
static int aborts(const char *(*f)(unsigned), unsigned v)
{
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2);
		const char *name = f(v);
		_exit(name != NULL ? 0 : 1);
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static const char *infer_of(unsigned v) { return infer_path_name((enum infer_path)v); }
static const char *detector_of(unsigned v) { return detector_kind_name((enum detector_kind)v); }
static const char *rule_of(unsigned v) { return score_rule_name((enum score_rule)v); }
static const char *level_of(unsigned v) { return log_level_name((enum log_level)v); }
static const char *target_of(unsigned v) { return log_target_name((enum log_target)v); }

static void out_of_range(void)
{
	static const struct {
		const char *(*f)(unsigned);
		unsigned count;
	} sets[] = {
		{infer_of, INFER_PATH_COUNT},       {detector_of, DETECTOR_KIND_COUNT},
		{rule_of, SCORE_RULE_COUNT},        {level_of, LOG_LEVEL_COUNT},
		{target_of, LOG_TARGET_COUNT},
	};
	for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
		CHECKF(!aborts(sets[i].f, sets[i].count - 1), "set %zu: its last value", i);
		CHECKF(aborts(sets[i].f, sets[i].count), "set %zu: one past the last value", i);
		CHECKF(aborts(sets[i].f, 1000), "set %zu: 1000", i);
	}
}

int main(void)
{
	rules();
	same_as_registry();
	lists();
	out_of_range();
	return 0;
}
