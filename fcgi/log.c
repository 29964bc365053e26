/*
 * log: one-line diagnostics to stderr or syslog. See log.h.
 * The settings are written once by log_init() in the master before fork and
 * only read afterwards; a line is written with a single write(2) so lines of
 * concurrent workers do not interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static struct {
	char ident[32];
	enum log_level level;
	enum log_target target;
} log_settings = {"rb-aioutliers", LOG_LVL_INFO, LOG_TO_STDERR};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *text, enum log_level *out)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_init(const char *ident, enum log_level level, enum log_target target)
{
	snprintf(log_settings.ident, sizeof log_settings.ident, "%s", ident);
	log_settings.level = level;
	log_settings.target = target;
	if (target == LOG_TO_SYSLOG)
		openlog(log_settings.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_msg(enum log_level level, const char *request_id, const char *fmt, ...)
{
	if (level > log_settings.level)
		return;
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	/* One line per event: newlines inside a message would forge log lines. */
	for (char *p = text; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';

	if (log_settings.target == LOG_TO_SYSLOG) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
		if (request_id != NULL)
			syslog(prio[level], "[%s] %s", request_id, text);
		else
			syslog(prio[level], "%s", text);
		return;
	}
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	char line[1400];
	int n;
	if (request_id != NULL)
		n = snprintf(line, sizeof line, "%s %s[%ld] %s: [%s] %s\n", stamp, log_settings.ident,
		             (long)getpid(), level_names[level], request_id, text);
	else
		n = snprintf(line, sizeof line, "%s %s[%ld] %s: %s\n", stamp, log_settings.ident,
		             (long)getpid(), level_names[level], text);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	if (len > 0 && line[len - 1] != '\n')
		line[len - 1] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
