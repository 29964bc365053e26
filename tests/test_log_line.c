/*
 * test_log_line: the stderr line of log_msg / log_msg_pid (fcgi/log.c),
 * captured through a temporary file on fd 2: the format of log.h
 * ("2026-11-28T02:09:52Z ident[pid] level: [rid] text"), one line per call
 * written at once, line ends inside the message blanked, a message cut at
 * 1023 bytes, levels above the configured one dropped, and the timestamp
 * within a few seconds of now (hand-formatted, checked against strftime);
 * the level and target name tables round-trip (name -> parse -> value) and
 * each level's line carries its table name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rb/fcgi/log.h"
#include "testutil.h"

static char out[8192];

/* Runs the calls of step() with fd 2 on a temporary file; returns what was written. */
static size_t capture(void (*step)(void))
{
	FILE *tmp = tmpfile();
	CHECK(tmp != NULL);
	fflush(stderr);
	int saved = dup(2);
	CHECK(saved >= 0 && dup2(fileno(tmp), 2) == 2);
	step();
	CHECK(dup2(saved, 2) == 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(out, 1, sizeof out - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return n;
}

static void step_basic(void)
{
	log_msg_pid(LOG_LVL_INFO, 4321, "4321-17", "POST %s %d", "/outliers", 200);
	log_msg(LOG_LVL_WARN, NULL, "two\nlines\r%s", "here");
	log_msg_pid(LOG_LVL_DEBUG, 4321, "4321-18", "dropped");
}

static void step_long(void)
{
	static char big[3000];
	memset(big, 'x', sizeof big - 1);
	log_msg_pid(LOG_LVL_ERROR, 7, "7-1", "%s", big);
}

static void step_levels(void)
{
	for (unsigned v = 0; v < LOG_LEVEL_COUNT; v++)
		log_msg_pid((enum log_level)v, 9, NULL, "level %u", v);
}

static void names(void)
{
	CHECK(log_level_names[LOG_LEVEL_COUNT] == NULL);
	CHECK(log_target_names[LOG_TARGET_COUNT] == NULL);
	for (unsigned v = 0; v < LOG_LEVEL_COUNT; v++) {
		enum log_level back;
		const char *name = log_level_name((enum log_level)v);
		CHECK(name != NULL && name == log_level_names[v]);
		CHECKF(log_level_parse(name, strlen(name), &back) == 0 && back == (enum log_level)v,
		       "%s", name);
	}
	for (unsigned v = 0; v < LOG_TARGET_COUNT; v++) {
		enum log_target back;
		const char *name = log_target_name((enum log_target)v);
		CHECK(name != NULL && name == log_target_names[v]);
		CHECKF(log_target_parse(name, strlen(name), &back) == 0 &&
		               back == (enum log_target)v,
		       "%s", name);
	}
	enum log_level l = LOG_LVL_INFO;
	CHECK(log_level_parse("warning", 7, &l) == -1 && log_level_parse("Info", 4, &l) == -1);
	CHECK(log_level_parse(NULL, 0, &l) == -1 && l == LOG_LVL_INFO);
	enum log_target t = LOG_TO_STDERR;
	CHECK(log_target_parse("file", 4, &t) == -1 && t == LOG_TO_STDERR);
	CHECK(strcmp(log_level_name(LOG_LVL_WARN), "warn") == 0);
	CHECK(strcmp(log_target_name(LOG_TO_SYSLOG), "syslog") == 0);

	/* every level's line, the configured level debug */
	log_init("rb-test", LOG_LVL_DEBUG, LOG_TO_STDERR);
	capture(step_levels);
	const char *p = out;
	for (unsigned v = 0; v < LOG_LEVEL_COUNT; v++) {
		char want[64];
		snprintf(want, sizeof want, " rb-test[9] %s: level %u\n", log_level_names[v], v);
		CHECKF(strlen(p) > 20 && strncmp(p + 20, want, strlen(want)) == 0, "level %u: %s",
		       v, p);
		p += 20 + strlen(want);
	}
	CHECK(*p == '\0');
}

int main(void)
{
	log_init("rb-test", LOG_LVL_INFO, LOG_TO_STDERR);
	time_t before = time(NULL);
	size_t n = capture(step_basic);
	time_t after = time(NULL);
	char *nl = strchr(out, '\n');
	CHECK(nl != NULL);
	/* first line */
	CHECKF(n > 21 && out[4] == '-' && out[7] == '-' && out[10] == 'T' && out[13] == ':' &&
	               out[16] == ':' && out[19] == 'Z' && out[20] == ' ',
	       "stamp: %s", out);
	int ok_stamp = 0;
	for (time_t t = before; t <= after; t++) {
		struct tm tm;
		char want[32];
		gmtime_r(&t, &tm);
		strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (memcmp(out, want, 20) == 0)
			ok_stamp = 1;
	}
	CHECKF(ok_stamp, "stamp not now: %.20s", out);
	const char *want1 = " rb-test[4321] info: [4321-17] POST /outliers 200\n";
	CHECKF(strncmp(out + 20, want1, strlen(want1)) == 0, "line 1: %s", out);
	/* second line: own pid, no request id, line ends blanked */
	char want2[128];
	snprintf(want2, sizeof want2, " rb-test[%ld] warn: two lines here\n", (long)getpid());
	const char *l2 = nl + 1;
	CHECKF(strncmp(l2 + 20, want2, strlen(want2)) == 0, "line 2: %s", l2);
	CHECKF((size_t)(l2 + 20 + strlen(want2) - out) == n, "debug line not dropped: %s", out);

	n = capture(step_long);
	const char *head = " rb-test[7] error: [7-1] ";
	CHECK(strncmp(out + 20, head, strlen(head)) == 0);
	CHECKF(n == 20 + strlen(head) + 1023 + 1 && out[n - 1] == '\n' && out[n - 2] == 'x',
	       "long line: %zu bytes", n);
	names();
	return 0;
}
