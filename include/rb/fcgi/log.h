/*
 * log: operator-readable diagnostics of the daemon, one line per event, to
 * stderr (the web server or journald collects it) or to syslog.
 *
 * Line format on stderr:
 *   2026-11-27T23:59:00Z rb-aioutliers[1234] warn: [1234-17] Druid did not answer within 5000 ms
 * where [pid-seq] is the request id when the event belongs to a request.
 * log_init() runs once in the master before any fork; the settings are then
 * read-only in every process.
 */
#ifndef RB_LOG_H
#define RB_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG };

/* Parses "error" / "warn" / "info" / "debug"; returns 0, or -1 for anything else. */
int log_level_parse(const char *text, enum log_level *out);

void log_init(const char *ident, enum log_level level, enum log_target target);

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
