/*
 * log: one-line diagnostics to stderr or syslog. See log.h.
 * The settings are written once by log_init() in the master before fork and
 * only read afterwards; a line is written with a single write(2) so lines of
 * concurrent workers do not interleave.
 */
#include "rb/fcgi/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "rb/base/assert.h"
#include "rb/base/name_table.h"

static struct {
	char ident[32];
	enum log_level level;
	enum log_target target;
	int fd; /* where LOG_TO_STDERR lines go (log_set_fd) */
} log_settings = {"rb-aioutliers", LOG_LVL_INFO, LOG_TO_STDERR, STDERR_FILENO};

const char *const log_level_names[LOG_LEVEL_COUNT + 1] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
	[LOG_LEVEL_COUNT] = NULL,
};

const char *const log_target_names[LOG_TARGET_COUNT + 1] = {
	[LOG_TO_STDERR] = "stderr",
	[LOG_TO_SYSLOG] = "syslog",
	[LOG_TARGET_COUNT] = NULL,
};

int log_level_parse(const char *s, size_t len, enum log_level *out)
{
	long i = name_table_find(log_level_names, LOG_LEVEL_COUNT, s, len);
	if (i < 0)
		return -1;
	*out = (enum log_level)i;
	return 0;
}

int log_target_parse(const char *s, size_t len, enum log_target *out)
{
	long i = name_table_find(log_target_names, LOG_TARGET_COUNT, s, len);
	if (i < 0)
		return -1;
	*out = (enum log_target)i;
	return 0;
}

const char *log_level_name(enum log_level level)
{
	RB_ASSERT((unsigned)level < LOG_LEVEL_COUNT);
	return log_level_names[level];
}

const char *log_target_name(enum log_target target)
{
	RB_ASSERT((unsigned)target < LOG_TARGET_COUNT);
	return log_target_names[target];
}

void log_init(const char *ident, enum log_level level, enum log_target target)
{
	RB_ASSERT((unsigned)level < LOG_LEVEL_COUNT && (unsigned)target < LOG_TARGET_COUNT);
	snprintf(log_settings.ident, sizeof log_settings.ident, "%s", ident);
	log_settings.level = level;
	log_settings.target = target;
	if (target == LOG_TO_SYSLOG)
		openlog(log_settings.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_fd(int fd)
{
	RB_ASSERT(fd >= 0);
	log_settings.fd = fd;
}

/* "YYYY-MM-DDTHH:MM:SSZ" (20 bytes, no NUL) of now, UTC. */
static void utc_stamp(char out[20])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	int v[6] = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
	static const char sep[6] = {'-', '-', 'T', ':', ':', 'Z'};
	int y = v[0] % 10000;
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = sep[0];
	for (int i = 1; i < 6; i++) {
		out[3 * i + 2] = (char)('0' + v[i] / 10 % 10);
		out[3 * i + 3] = (char)('0' + v[i] % 10);
		out[3 * i + 4] = sep[i];
	}
}

/* Decimal digits of v (v >= 0) at out, at most 20 bytes; returns their number. */
static size_t put_long(char *out, long v)
{
	char tmp[24];
	size_t n = 0;
	unsigned long u = v < 0 ? 0 : (unsigned long)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static size_t put_str(char *out, size_t room, const char *s)
{
	size_t n = strlen(s);
	if (n > room)
		n = room;
	memcpy(out, s, n);
	return n;
}

/* The message part of a line: at most 1023 bytes, like the former text[1024]. */
enum { LOG_TEXT_MAX = 1023 };

/*
 * One line, formatted once straight into its buffer (prefix, then the
 * message by vsnprintf, its line ends blanked) and written with one write(2).
 */
static void log_vline(enum log_level level, long pid, const char *request_id, const char *fmt,
                      va_list ap)
{
	if (log_settings.target == LOG_TO_SYSLOG) {
		char text[LOG_TEXT_MAX + 1];
		vsnprintf(text, sizeof text, fmt, ap);
		for (char *p = text; *p != '\0'; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
		if (request_id != NULL)
			syslog(prio[level], "[%s] %s", request_id, text);
		else
			syslog(prio[level], "%s", text);
		return;
	}
	char line[1400];
	size_t o = 0, room = sizeof line - LOG_TEXT_MAX - 2; /* prefix room */
	utc_stamp(line);
	o = 20;
	line[o++] = ' ';
	o += put_str(line + o, room - o, log_settings.ident);
	line[o++] = '[';
	o += put_long(line + o, pid);
	line[o++] = ']';
	line[o++] = ' ';
	o += put_str(line + o, room - o, log_level_names[level]);
	line[o++] = ':';
	line[o++] = ' ';
	if (request_id != NULL) {
		line[o++] = '[';
		o += put_str(line + o, room - o - 3, request_id);
		line[o++] = ']';
		line[o++] = ' ';
	}
	int n = vsnprintf(line + o, LOG_TEXT_MAX + 1, fmt, ap);
	if (n < 0)
		return;
	size_t tl = (size_t)n < LOG_TEXT_MAX ? (size_t)n : LOG_TEXT_MAX;
	/* One line per event: newlines inside a message would forge log lines. */
	for (size_t i = o; i < o + tl; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	o += tl;
	line[o++] = '\n';
	ssize_t w = write(log_settings.fd, line, o);
	(void)w;
}

void log_msg(enum log_level level, const char *request_id, const char *fmt, ...)
{
	if (level > log_settings.level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vline(level, (long)getpid(), request_id, fmt, ap);
	va_end(ap);
}

void log_msg_pid(enum log_level level, long pid, const char *request_id, const char *fmt, ...)
{
	if (level > log_settings.level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vline(level, pid, request_id, fmt, ap);
	va_end(ap);
}
