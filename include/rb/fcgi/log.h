/*
 * log: operator-readable diagnostics of the daemon, one line per event, to
 * stderr (the web server or journald collects it), to a file or to syslog.
 *
 * Line format on stderr:
 *   2026-11-27T23:59:00Z rb-aioutliers[1234] warn: [1234-17] Druid did not answer within 5000 ms
 * where [pid-seq] is the request id when the event belongs to a request.
 * log_init() runs once in the master before any fork; the settings are then
 * read-only in every process.
 */
#ifndef RB_LOG_H
#define RB_LOG_H

#include <stddef.h>

/* Severities, most severe first; a message is logged when its level <= the configured one. */
enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
#define LOG_LEVEL_COUNT 4

/* Where lines go. */
enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG };
#define LOG_TARGET_COUNT 2

/*
 * The one name table of each (the config's log_level and log_target keys, the
 * level word of a stderr line): names[v] names v, in enum order, NULL after
 * the last. "error", "warn", "info", "debug"; "stderr", "syslog".
 */
extern const char *const log_level_names[LOG_LEVEL_COUNT + 1];
extern const char *const log_target_names[LOG_TARGET_COUNT + 1];

/* 0 and *out when s[0..len) is a name of the table (exact, case-sensitive); -1 otherwise. */
int log_level_parse(const char *s, size_t len, enum log_level *out);
int log_target_parse(const char *s, size_t len, enum log_target *out);
/* The name of a value; a value outside the enum is a programmer error (RB_ASSERT). */
const char *log_level_name(enum log_level level);
const char *log_target_name(enum log_target target);

/* Sets ident, level and target (both within their enums, RB_ASSERT). */

void log_init(const char *ident, enum log_level level, enum log_target target);

/*
 * Lines of the stderr target go to fd instead (the daemon's log_file); the
 * caller owns fd and keeps it open. Master only, before forking.
 */
void log_set_fd(int fd);

/* Logs one line at level; request_id may be NULL. */
void log_msg(enum log_level level, const char *request_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * log_msg for a caller that knows its process id (a worker reads it once
 * after its fork): the same line without a getpid(2) per line.
 */
void log_msg_pid(enum log_level level, long pid, const char *request_id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_error(...) log_msg(LOG_LVL_ERROR, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, NULL, __VA_ARGS__)

#endif
