/*
 * svc: test harness for the whole stack on loopback: starts real processes
 * (the Druid emulator, the daemon, lighttpd, Apache) in a private temporary
 * directory, talks HTTP to them with libcurl, and stops them. Test-only code.
 */
#ifndef RB_SVC_H
#define RB_SVC_H

#include <stddef.h>
#include <sys/types.h>

enum svc_web { SVC_LIGHTTPD, SVC_APACHE };

struct svc_proc {
	pid_t pid;
	char log[512]; /* its stdout+stderr */
};

struct svc_stack {
	char dir[256];          /* private temporary directory */
	enum svc_web web;
	unsigned web_port;      /* HTTP port of the web server */
	unsigned fcgi_port;     /* the daemon's FastCGI port */
	unsigned druid_port;    /* the emulator's port */
	struct svc_proc emulator, daemon, webserver;
	char conf[512];         /* the daemon's config file */
	char models[512];       /* the daemon's models directory */
};

struct svc_opts {
	unsigned workers;             /* default 2 */
	unsigned long long max_body;  /* default 1 MiB */
	unsigned druid_timeout_ms;    /* default 4000: a week of history under ASan on a busy machine */
	const char *emulator_args;    /* extra emulator flags, space separated (faults), or NULL */
	int no_emulator;              /* leave Druid down */
	int valgrind;                 /* run the daemon under valgrind */
};

/* Port that was free a moment ago on 127.0.0.1. */
unsigned svc_free_port(void);

/* Starts emulator (unless no_emulator), daemon and web server; exits the test on failure. */
void svc_start(struct svc_stack *st, enum svc_web web, const struct svc_opts *opts);
/* (Re)starts only the emulator with other flags (faults); the daemon keeps its Druid URL. */
void svc_restart_emulator(struct svc_stack *st, const char *emulator_args);
/* SIGTERM to everything, wait, remove the directory. Prints the logs when keep_logs. */
void svc_stop(struct svc_stack *st);
/* Sends sig to the daemon's master; waits for its exit when wait_exit, returning its status. */
int svc_signal_daemon(struct svc_stack *st, int sig, int wait_exit, int timeout_ms);
/* Pids of the daemon's workers (children of the master); returns how many (<= cap). */
size_t svc_worker_pids(const struct svc_stack *st, pid_t *pids, size_t cap);

struct svc_http {
	long status;   /* 0 when the transfer failed */
	char *body;    /* malloc'd, NUL-terminated */
	size_t len;
	char ctype[128];
};

/* POSTs body (form-urlencoded unless ctype given) to path on the web server. */
void svc_post(const struct svc_stack *st, const char *path, const char *ctype, const char *body,
              size_t len, struct svc_http *out);
void svc_get(const struct svc_stack *st, const char *path, const char *method, struct svc_http *out);
void svc_http_free(struct svc_http *h);

/* The form body "name=<urlencoded base64(value)>&..." for NULL-terminated name/value pairs. */
char *svc_form(const char *name, const char *value, ...);
/* base64 of len bytes (standard alphabet, padded), malloc'd. */
char *svc_b64(const char *data, size_t len);
/* GET /__last_query of the emulator: the last query it received (malloc'd). */
char *svc_emulator_last_query(const struct svc_stack *st);

#endif
