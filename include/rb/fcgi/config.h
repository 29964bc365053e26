/*
 * config: the daemon's configuration file (etc/rb-aioutliers.conf, documented
 * in docs/man/rb-aioutliers.conf.5), parsed into a plain value struct.
 *
 * Format: one "key = value" per line; blank lines and lines whose first
 * non-blank character is '#' or ';' are comments; keys and values are trimmed
 * of blanks; there are no sections, no quoting and no comments after a value
 * (the value is everything after '='). Every key is optional (the default
 * applies). An unknown key, a key given twice, a bad or out-of-range value:
 * RB_E_CONFIG with a message "FILE:LINE: ...".
 *
 * The keys are one table in config.c (name, parser, default, range, help);
 * the shipped config file and the man page's key list are generated from it
 * (config_write_sample, config_write_man) and a test keeps them equal.
 * Not the daemon: nothing here opens sockets or reads models.
 */
#ifndef RB_CONFIG_H
#define RB_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "rb/base/error.h"
#include "rb/detect/detector.h"
#include "rb/fcgi/log.h"
#include "rb/model/infer.h"

/* Where the FastCGI listen socket comes from. */
enum rb_listen_kind {
	RB_LISTEN_INHERIT = 0, /* fd 0, set up by the web server or spawn-fcgi (listen empty) */
	RB_LISTEN_UNIX,        /* "unix:/abs/path": a Unix socket the daemon creates */
	RB_LISTEN_TCP          /* "host:port" or "[v6addr]:port": a TCP socket */
};

struct rb_listen {
	enum rb_listen_kind kind;
	char path[108];        /* RB_LISTEN_UNIX: absolute path (fits sockaddr_un.sun_path) */
	char host[256];        /* RB_LISTEN_TCP: host name or address, without brackets */
	unsigned port;         /* RB_LISTEN_TCP: 1..65535 */
};


/* The parsed configuration; a plain value (copy it freely). Meanings: config.c's table. */
struct rb_config {
	struct rb_listen listen;
	unsigned listen_mode;               /* permission bits of a Unix socket */
	unsigned workers;                   /* worker processes, 1..64 */
	char models_dir[1024];              /* directory of <name>.keras + <name>.ini (shipped) */
	char trained_models_dir[1024];      /* writable models dir, wins over models_dir; "" = none */
	char models_url[1024];              /* s3://BUCKET/PREFIX synced into trained_models_dir; "" = off */
	char models_s3_endpoint[512];       /* the S3 endpoint, http(s):// */
	char models_s3_region[64];          /* Signature V4 region */
	char models_s3_credentials[1024];   /* file with the access key and secret; "" = none */
	long long models_sync_interval_ms;  /* between two listings */
	char druid_url[1024];               /* the broker's full URL, http:// or https:// */
	unsigned druid_connect_timeout_ms;
	unsigned druid_timeout_ms;          /* whole Druid request */
	unsigned long long druid_max_response_bytes;
	unsigned druid_wait_max;            /* workers that may wait on Druid at once; 0 = auto */
	unsigned druid_queue_ms;            /* longest wait for a Druid-wait slot before a 503 */
	char druid_datasources[1024];       /* tables a query may read: names, auto, * (druid_policy.h) */
	unsigned long long max_body_bytes;  /* request body cap (413 above it) */
	char default_metric[64];            /* metric analysed when the request names none */
	char default_model[64];             /* model used when the request names none; "" = none */
	enum infer_path inference;          /* how models run (rb/model/infer.h) */
	enum detector_kind detector;        /* the model-free detector (rb/detect/detector.h) */
	double sensitivity;                 /* default detector sensitivity, 0..1 */
	long long history_ms;               /* history before a query's interval; 0 = off */
	unsigned history_max_rows;          /* cap on history rows; 0 = off */
	enum log_level log_level;           /* least severe message logged (rb/fcgi/log.h) */
	enum log_target log_target;
	char log_file[1024];                /* lines appended here instead; "" = none */
	char pid_file[1024];                /* the master's pid written here; "" = none */
	unsigned request_timeout_ms;        /* a worker's budget for one request */
	unsigned params_timeout_ms;         /* accept to complete FastCGI params */
	unsigned body_grace_ms;             /* body: time before body_min_rate applies */
	unsigned long long body_min_rate;   /* body: least average bytes/s after the grace; 0 = off */
	unsigned body_timeout_ms;           /* body: whole stdin, from the end of the params */
	unsigned write_timeout_ms;          /* the answer's write and the close */
	unsigned stop_accept_ms;            /* SIGTERM: still accepting this long, then drain */
	char user[33];                      /* started as root: run as this user; "" = unchanged */
	char group[33];                     /* ... and group; "" = the user's primary group */
	int allow_root;                     /* 1: may serve as root (0 refuses) */
	char listen_group[33];              /* group of a unix: socket; "" = the daemon's */
};

/* Sets every key to its default. */
void config_defaults(struct rb_config *cfg);

/*
 * Parses text[0..len) (need not be NUL-terminated) over the defaults into *cfg.
 * name is used in messages ("name:line: ..."). On failure *cfg is untouched and
 * err holds RB_E_CONFIG (or RB_E_NOMEM).
 */
enum rb_code config_parse_buffer(const char *text, size_t len, const char *name,
                                 struct rb_config *cfg, struct rb_err *err);

/* Reads the file at path (at most 1 MiB) and parses it as config_parse_buffer does. */
enum rb_code config_load(const char *path, struct rb_config *cfg, struct rb_err *err);

/* Writes every key as "key = value" (values as config_parse_buffer reads them back). */
void config_dump(const struct rb_config *cfg, FILE *out);

/*
 * url[0..len) with its credentials hidden, for anything printed (config_dump,
 * messages, logs): the password of a "user:password@" userinfo, or all of a
 * bare "user@" (it may be a token), becomes three asterisks; a URL without
 * userinfo is copied. out is always NUL-terminated (cut to cap).
 */
void config_redact_url(const char *url, size_t len, char *out, size_t cap);

/* Writes the commented sample file (etc/rb-aioutliers.conf): every key, meaning, default, range. */
void config_write_sample(FILE *out);

/* Writes the man-page (roff) list of keys used in docs/man/rb-aioutliers.conf.5. */
void config_write_man(FILE *out);

/* Number of keys, and the name of key i (< config_key_count()), for tests and tools. */
size_t config_key_count(void);
const char *config_key_name(size_t i);

#endif
