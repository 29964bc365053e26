/*
 * config: the daemon's configuration file, one table of keys (CONVENTIONS 12).
 * Each row names a key, its parser/formatter pair, where it lives in
 * struct rb_config, its default (as text, read by the same parser), its range
 * and its help text; the sample file and the man page list are written from
 * the same rows. Not the daemon, not a general INI library (no sections).
 */
#include "rb/fcgi/config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "rb/base/assert.h"
#include "rb/druid/druid_policy.h"
#include "rb/fcgi/names.h"
#include "rb/input/period.h"
#include "rb/fcgi/strnum.h"
#include "rb/store/s3.h"

/* The whole file is read at once; a config file is small. */
enum { CONFIG_MAX_FILE = 1 << 20, CONFIG_MAX_LINE = 4096 };

static_assert(sizeof(enum infer_path) == sizeof(int), "enum fields are written as int");
static_assert(sizeof(enum detector_kind) == sizeof(int), "enum fields are written as int");
static_assert(sizeof(enum log_level) == sizeof(int), "enum fields are written as int");
static_assert(sizeof(enum log_target) == sizeof(int), "enum fields are written as int");

struct config_key;

/* Parses v[0..len) (trimmed, no NULs) into the key's field of cfg; dir is the config file's directory. */
typedef enum rb_code (*config_parse_fn)(const struct config_key *k, const char *v, size_t len,
                                        const char *dir, struct rb_config *cfg,
                                        struct rb_err *err);
/* Writes the key's value as text the parser reads back. */
typedef void (*config_format_fn)(const struct config_key *k, const struct rb_config *cfg,
                                 char *buf, size_t cap);

struct config_key {
	const char *name;
	config_parse_fn parse;
	config_format_fn format;
	size_t off;                 /* offsetof(struct rb_config, field) */
	size_t size;                /* sizeof the field (string capacity) */
	unsigned long long min, max;   /* integer and byte keys */
	double dmin, dmax;             /* real keys */
	const char *const *choices; /* enum keys: the owning module's name table (enum order,
	                               NULL-terminated: infer_path_names, log_level_names, ...) */
	const char *def;            /* default, as text */
	const char *range;          /* the accepted values, for the docs (NULL: generated; always
	                               generated from choices for enum keys) */
	const char *help;           /* meaning, one paragraph */
};


/* Values of yes/no keys, stored as int 0/1. */
static const char *const yes_no_names[] = {"no", "yes", NULL};

static void *field(struct rb_config *cfg, const struct config_key *k)
{
	return (char *)cfg + k->off;
}

static const void *cfield(const struct rb_config *cfg, const struct config_key *k)
{
	return (const char *)cfg + k->off;
}

/* ---- parsers and formatters ---------------------------------------------------------------- */

static enum rb_code parse_uint(const struct config_key *k, const char *v, size_t len,
                               const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	long long x;
	enum strnum_res r = strnum_ll(v, len, (long long)k->min, (long long)k->max, &x);
	if (r == STRNUM_SYNTAX)
		return rb_err_set(err, RB_E_CONFIG, "'%.*s' is not a whole number", (int)len, v);
	if (r == STRNUM_RANGE)
		return rb_err_set(err, RB_E_CONFIG, "%.*s is out of range %llu..%llu", (int)len, v,
		                  k->min, k->max);
	*(unsigned *)field(cfg, k) = (unsigned)x;
	return RB_OK;
}

static void format_uint(const struct config_key *k, const struct rb_config *cfg, char *buf,
                        size_t cap)
{
	snprintf(buf, cap, "%u", *(const unsigned *)cfield(cfg, k));
}

static enum rb_code parse_octal_mode(const struct config_key *k, const char *v, size_t len,
                                     const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	unsigned long long x = 0;
	if (len == 0 || len > 4 || v[0] != '0')
		return rb_err_set(err, RB_E_CONFIG, "'%.*s' is not an octal mode like 0660", (int)len,
		                  v);
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '7')
			return rb_err_set(err, RB_E_CONFIG, "'%.*s' is not an octal mode like 0660",
			                  (int)len, v);
		x = x * 8 + (unsigned)(v[i] - '0');
	}
	if (x < k->min || x > k->max)
		return rb_err_set(err, RB_E_CONFIG, "%.*s is out of range 0%llo..0%llo", (int)len, v,
		                  k->min, k->max);
	*(unsigned *)field(cfg, k) = (unsigned)x;
	return RB_OK;
}

static void format_octal_mode(const struct config_key *k, const struct rb_config *cfg, char *buf,
                              size_t cap)
{
	snprintf(buf, cap, "0%03o", *(const unsigned *)cfield(cfg, k));
}

static enum rb_code parse_bytes(const struct config_key *k, const char *v, size_t len,
                                const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	unsigned long long x = 0;
	enum strnum_res r = strnum_bytes(v, len, k->min, k->max, &x);
	if (r == STRNUM_SYNTAX)
		return rb_err_set(err, RB_E_CONFIG,
		                  "'%.*s' is not a byte count (digits, optional K, M or G)", (int)len, v);
	if (r == STRNUM_RANGE)
		return rb_err_set(err, RB_E_CONFIG, "%.*s is out of range %llu..%llu bytes", (int)len,
		                  v, k->min, k->max);
	*(unsigned long long *)field(cfg, k) = x;
	return RB_OK;
}

/* The shortest exact form: "16M" rather than "16777216". */
static void format_bytes(const struct config_key *k, const struct rb_config *cfg, char *buf,
                         size_t cap)
{
	unsigned long long x = *(const unsigned long long *)cfield(cfg, k);
	if (x != 0 && x % (1ull << 30) == 0)
		snprintf(buf, cap, "%lluG", x >> 30);
	else if (x != 0 && x % (1ull << 20) == 0)
		snprintf(buf, cap, "%lluM", x >> 20);
	else if (x != 0 && x % (1ull << 10) == 0)
		snprintf(buf, cap, "%lluK", x >> 10);
	else
		snprintf(buf, cap, "%llu", x);
}

static enum rb_code parse_real(const struct config_key *k, const char *v, size_t len,
                               const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	double x;
	enum strnum_res r = strnum_double(v, len, k->dmin, k->dmax, &x);
	if (r == STRNUM_SYNTAX)
		return rb_err_set(err, RB_E_CONFIG, "'%.*s' is not a decimal number", (int)len, v);
	if (r == STRNUM_RANGE)
		return rb_err_set(err, RB_E_CONFIG, "%.*s is out of range %g..%g", (int)len, v,
		                  k->dmin, k->dmax);
	*(double *)field(cfg, k) = x;
	return RB_OK;
}

static void format_real(const struct config_key *k, const struct rb_config *cfg, char *buf,
                        size_t cap)
{
	snprintf(buf, cap, "%.17g", *(const double *)cfield(cfg, k));
	/* prefer the short form when it reads back to the same value */
	char shortv[32];
	snprintf(shortv, sizeof shortv, "%g", *(const double *)cfield(cfg, k));
	if (strtod(shortv, NULL) == *(const double *)cfield(cfg, k))
		snprintf(buf, cap, "%s", shortv);
}

/* A real key that also takes "auto": NAN, meaning the consumer's own default. */
static enum rb_code parse_real_or_auto(const struct config_key *k, const char *v, size_t len,
                                      const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	if (len == 4 && memcmp(v, "auto", 4) == 0) {
		*(double *)field(cfg, k) = NAN;
		return RB_OK;
	}
	return parse_real(k, v, len, dir, cfg, err);
}

static void format_real_or_auto(const struct config_key *k, const struct rb_config *cfg,
                                char *buf, size_t cap)
{
	if (isnan(*(const double *)cfield(cfg, k)))
		snprintf(buf, cap, "auto");
	else
		format_real(k, cfg, buf, cap);
}

/* An ISO-8601 period (PT0S and other zero lengths allowed), stored in ms as a long long. */
static void config_format_period(long long ms, char *buf, size_t cap);

static enum rb_code parse_period(const struct config_key *k, const char *v, size_t len,
                                 const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	int64_t ms = 0;
	struct rb_err perr = {0};
	if (period_parse_length_ms(v, len, &ms, &perr) != RB_OK)
		return rb_err_set(err, RB_E_CONFIG, "'%.*s' is not an ISO-8601 period: %s", (int)len,
		                  v, perr.msg);
	if ((unsigned long long)ms > k->max) {
		char most[40];
		config_format_period((long long)k->max, most, sizeof most);
		return rb_err_set(err, RB_E_CONFIG, "'%.*s' is longer than %s", (int)len, v, most);
	}
	*(long long *)field(cfg, k) = (long long)ms;
	return RB_OK;
}

/* Writes ms as the shortest P[nD][T[nH][nM][n[.fff]S]] (PT0S for zero). */
static void config_format_period(long long ms, char *buf, size_t cap)
{
	long long d = ms / 86400000, rest = ms % 86400000;
	long long h = rest / 3600000, m = rest / 60000 % 60, sec = rest / 1000 % 60,
		  frac = rest % 1000;
	int o = snprintf(buf, cap, "P");
	if (d > 0 || ms == 0)
		o += snprintf(buf + o, cap > (size_t)o ? cap - (size_t)o : 0, ms == 0 ? "T0S" : "%lldD",
		              d);
	if (rest > 0)
		o += snprintf(buf + o, cap > (size_t)o ? cap - (size_t)o : 0, "T");
	if (h > 0)
		o += snprintf(buf + o, cap > (size_t)o ? cap - (size_t)o : 0, "%lldH", h);
	if (m > 0)
		o += snprintf(buf + o, cap > (size_t)o ? cap - (size_t)o : 0, "%lldM", m);
	if (frac > 0)
		snprintf(buf + o, cap > (size_t)o ? cap - (size_t)o : 0, "%lld.%03lldS", sec, frac);
	else if (sec > 0)
		snprintf(buf + o, cap > (size_t)o ? cap - (size_t)o : 0, "%lldS", sec);
}

static void format_period(const struct config_key *k, const struct rb_config *cfg, char *buf,
                          size_t cap)
{
	config_format_period(*(const long long *)cfield(cfg, k), buf, cap);
}

static enum rb_code parse_choice(const struct config_key *k, const char *v, size_t len,
                                 const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	for (int i = 0; k->choices[i] != NULL; i++) {
		if (strlen(k->choices[i]) == len && memcmp(k->choices[i], v, len) == 0) {
			*(int *)field(cfg, k) = i;
			return RB_OK;
		}
	}
	char known[256];
	names_list(k->choices, known, sizeof known);
	return rb_err_set(err, RB_E_CONFIG, "'%.*s' is not one of %s", (int)len, v, known);
}

static void format_choice(const struct config_key *k, const struct rb_config *cfg, char *buf,
                          size_t cap)
{
	int v = *(const int *)cfield(cfg, k);
	int n = 0;
	while (k->choices[n] != NULL)
		n++;
	RB_ASSERT(v >= 0 && v < n); /* an enum field holds one of its table's values */
	snprintf(buf, cap, "%s", k->choices[v]);
}

static void format_string(const struct config_key *k, const struct rb_config *cfg, char *buf,
                          size_t cap)
{
	snprintf(buf, cap, "%s", (const char *)cfield(cfg, k));
}

/* A URL key as config_dump shows it: its password replaced by *** (config_redact_url). */
static void format_url(const struct config_key *k, const struct rb_config *cfg, char *buf,
                       size_t cap)
{
	const char *v = cfield(cfg, k);
	config_redact_url(v, strlen(v), buf, cap);
}

/* Copies v[0..len) into the key's string field; RB_E_CONFIG when it does not fit. */
static enum rb_code set_string(const struct config_key *k, const char *v, size_t len,
                               struct rb_config *cfg, struct rb_err *err)
{
	if (len >= k->size)
		return rb_err_set(err, RB_E_CONFIG, "value is longer than %zu bytes", k->size - 1);
	memcpy(field(cfg, k), v, len);
	((char *)field(cfg, k))[len] = '\0';
	return RB_OK;
}

static enum rb_code parse_model_name(const struct config_key *k, const char *v, size_t len,
                                     const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	if (len > 0 && !names_model_ok(v, len))
		return rb_err_set(err, RB_E_CONFIG,
		                  "'%.*s' is not a model name (1..63 of A-Z a-z 0-9 . _ -, no leading dot)",
		                  (int)len, v);
	return set_string(k, v, len, cfg, err);
}

static enum rb_code parse_datasources(const struct config_key *k, const char *v, size_t len,
                                      const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	enum rb_code rc = druid_policy_list_check(v, len, err);
	if (rc != RB_OK)
		return rc;
	return set_string(k, v, len, cfg, err);
}

static enum rb_code parse_metric_name(const struct config_key *k, const char *v, size_t len,
                                      const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	if (!names_metric_ok(v, len))
		return rb_err_set(err, RB_E_CONFIG,
		                  "'%.*s' is not a metric name (1..63 of A-Z a-z 0-9 . _ -)", (int)len, v);
	return set_string(k, v, len, cfg, err);
}

/* An absolute path as is; a relative one is taken relative to dir (the config file's directory). */
static enum rb_code parse_dir(const struct config_key *k, const char *v, size_t len,
                              const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	if (len == 0)
		return rb_err_set(err, RB_E_CONFIG, "empty path");
	if (v[0] == '/' || dir == NULL || dir[0] == '\0')
		return set_string(k, v, len, cfg, err);
	char joined[2048];
	size_t dl = strlen(dir);
	int n = snprintf(joined, sizeof joined, "%s%s%.*s", dir, dir[dl - 1] == '/' ? "" : "/",
	                 (int)len, v);
	if (n < 0 || (size_t)n >= sizeof joined)
		return rb_err_set(err, RB_E_CONFIG, "path is too long");
	return set_string(k, joined, (size_t)n, cfg, err);
}

/* A directory path as parse_dir, or empty for "none". */
/* A user or group name (POSIX portable characters, no leading '-'), or empty. */
static enum rb_code parse_account(const struct config_key *k, const char *v, size_t len,
                                  const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		         c == '_' || c == '.' || (c == '-' && i > 0);
		if (!ok)
			return rb_err_set(err, RB_E_CONFIG, "'%.*s' is not a user or group name",
			                  (int)(len > 64 ? 64 : len), v);
	}
	return set_string(k, v, len, cfg, err);
}

static enum rb_code parse_dir_or_none(const struct config_key *k, const char *v, size_t len,
                                      const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	if (len == 0)
		return set_string(k, v, 0, cfg, err);
	return parse_dir(k, v, len, dir, cfg, err);
}

/* An s3://BUCKET/PREFIX URL (store/s3.h's rule), or empty. */
static enum rb_code parse_s3_url(const struct config_key *k, const char *v, size_t len,
                                 const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	char text[1024], bucket[256], prefix[1024];
	if (len == 0)
		return set_string(k, v, 0, cfg, err);
	if (len >= sizeof text)
		return rb_err_set(err, RB_E_CONFIG, "value is longer than %zu bytes", sizeof text - 1);
	memcpy(text, v, len);
	text[len] = '\0';
	enum rb_code rc = s3_url_parse(text, bucket, sizeof bucket, prefix, sizeof prefix, err);
	if (rc != RB_OK)
		return rc;
	return set_string(k, v, len, cfg, err);
}

static int has_prefix_ci(const char *v, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);
	if (len < pl)
		return 0;
	for (size_t i = 0; i < pl; i++) {
		char c = v[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != prefix[i])
			return 0;
	}
	return 1;
}

void config_redact_url(const char *url, size_t len, char *out, size_t cap)
{
	if (cap == 0)
		return;
	const char *end = url + len;
	const char *auth = NULL;
	for (const char *p = url; p + 2 < end; p++) {
		if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
			auth = p + 3;
			break;
		}
		if (p[0] == '/' || p[0] == '?' || p[0] == '#')
			break; /* no scheme: nothing is an authority */
	}
	const char *auth_end = auth;
	while (auth != NULL && auth_end < end && *auth_end != '/' && *auth_end != '?' &&
	       *auth_end != '#')
		auth_end++;
	const char *at = NULL;
	for (const char *p = auth; p != NULL && p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL) {
		snprintf(out, cap, "%.*s", (int)len, url);
		return;
	}
	const char *colon = memchr(auth, ':', (size_t)(at - auth));
	/* user:password@ keeps the user; a bare user@ may be a token: all of it goes */
	const char *keep = colon != NULL ? colon + 1 : auth;
	snprintf(out, cap, "%.*s***%.*s", (int)(keep - url), url, (int)(end - at), at);
}

/* A URL as messages may quote it: its password replaced, and cut at 200 bytes. */
static const char *url_for_message(const char *v, size_t len, char *buf, size_t cap)
{
	config_redact_url(v, len > 200 ? 200 : len, buf, cap);
	return buf;
}

static enum rb_code parse_url(const struct config_key *k, const char *v, size_t len,
                              const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)dir;
	size_t host;
	char shown[256];
	if (has_prefix_ci(v, len, "http://"))
		host = 7;
	else if (has_prefix_ci(v, len, "https://"))
		host = 8;
	else
		return rb_err_set(err, RB_E_CONFIG, "'%s' is not an http:// or https:// URL",
		                  url_for_message(v, len, shown, sizeof shown));
	if (host == len || v[host] == '/' || v[host] == ':' || v[host] == '?' || v[host] == '#')
		return rb_err_set(err, RB_E_CONFIG, "URL '%s' has no host",
		                  url_for_message(v, len, shown, sizeof shown));
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f)
			return rb_err_set(err, RB_E_CONFIG, "URL contains a space or control character");
	return set_string(k, v, len, cfg, err);
}

static int host_char_ok(char c, int v6)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.')
		return 1;
	return v6 ? (c == ':' || c == '%') : c == '-';
}

static enum rb_code parse_listen(const struct config_key *k, const char *v, size_t len,
                                 const char *dir, struct rb_config *cfg, struct rb_err *err)
{
	(void)k;
	(void)dir;
	struct rb_listen l;
	memset(&l, 0, sizeof l);
	if (len == 0) {
		cfg->listen = l; /* RB_LISTEN_INHERIT */
		return RB_OK;
	}
	if (len >= 5 && memcmp(v, "unix:", 5) == 0) {
		const char *p = v + 5;
		size_t pl = len - 5;
		if (pl == 0 || p[0] != '/')
			return rb_err_set(err, RB_E_CONFIG, "unix socket path must be absolute");
		if (pl >= sizeof l.path)
			return rb_err_set(err, RB_E_CONFIG, "unix socket path is longer than %zu bytes",
			                  sizeof l.path - 1);
		l.kind = RB_LISTEN_UNIX;
		memcpy(l.path, p, pl);
		cfg->listen = l;
		return RB_OK;
	}
	const char *host = v, *colon;
	size_t hl;
	int v6 = v[0] == '[';
	if (v6) {
		const char *close = memchr(v, ']', len);
		if (close == NULL || close + 1 == v + len || close[1] != ':')
			return rb_err_set(err, RB_E_CONFIG, "'%.*s' is not [address]:port", (int)len, v);
		host = v + 1;
		hl = (size_t)(close - host);
		colon = close + 1;
		if (memchr(host, ':', hl) == NULL) /* brackets are for IPv6 addresses only */
			return rb_err_set(err, RB_E_CONFIG, "'%.*s': [...] must hold an IPv6 address",
			                  (int)len, v);
	} else {
		colon = memchr(v, ':', len);
		if (colon == NULL)
			return rb_err_set(err, RB_E_CONFIG,
			                  "'%.*s' is not unix:/path, host:port or [address]:port", (int)len,
			                  v);
		hl = (size_t)(colon - v);
	}
	if (hl == 0 || hl >= sizeof l.host)
		return rb_err_set(err, RB_E_CONFIG, "'%.*s' has no valid host", (int)len, v);
	for (size_t i = 0; i < hl; i++)
		if (!host_char_ok(host[i], v6))
			return rb_err_set(err, RB_E_CONFIG, "'%.*s' has no valid host", (int)len, v);
	long long port;
	size_t pl = (size_t)(v + len - (colon + 1));
	if (strnum_ll(colon + 1, pl, 1, 65535, &port) != STRNUM_OK || colon[1] == '+' ||
	    colon[1] == '-')
		return rb_err_set(err, RB_E_CONFIG, "'%.*s' has no port in 1..65535", (int)len, v);
	l.kind = RB_LISTEN_TCP;
	memcpy(l.host, host, hl);
	l.port = (unsigned)port;
	cfg->listen = l;
	return RB_OK;
}

static void format_listen(const struct config_key *k, const struct rb_config *cfg, char *buf,
                          size_t cap)
{
	(void)k;
	const struct rb_listen *l = &cfg->listen;
	if (l->kind == RB_LISTEN_UNIX)
		snprintf(buf, cap, "unix:%s", l->path);
	else if (l->kind == RB_LISTEN_TCP && strchr(l->host, ':') != NULL)
		snprintf(buf, cap, "[%s]:%u", l->host, l->port);
	else if (l->kind == RB_LISTEN_TCP)
		snprintf(buf, cap, "%s:%u", l->host, l->port);
	else
		snprintf(buf, cap, "%s", "");
}

/* ---- the table ----------------------------------------------------------------------------- */

#define OFF(f) offsetof(struct rb_config, f), sizeof(((struct rb_config *)0)->f)

static const struct config_key keys[] = {
	{"listen", parse_listen, format_listen, OFF(listen), 0, 0, 0, 0, NULL, "",
	 "empty, unix:/absolute/path, host:port or [IPv6-address]:port",
	 "Where the FastCGI socket comes from. Empty: the socket is inherited on file "
	 "descriptor 0 from the web server (lighttpd bin-path, mod_fcgid) or spawn-fcgi, "
	 "which is the usual set-up. unix:PATH: the daemon creates a Unix socket at PATH "
	 "(removing a stale one). host:port: the daemon listens on TCP; use 127.0.0.1 "
	 "unless the web server runs on another machine."},
	{"listen_mode", parse_octal_mode, format_octal_mode, OFF(listen_mode), 0600, 0777, 0, 0,
	 NULL, "0660", NULL,
	 "Permission bits of the Unix socket created for listen = unix:PATH (octal). The web "
	 "server's user must be able to write to it. Ignored for other listen forms."},
	{"workers", parse_uint, format_uint, OFF(workers), 1, 64, 0, 0, NULL, "3", NULL,
	 "Number of worker processes the master forks; each serves one request at a time "
	 "(3 by default: two may wait on Druid, one stays free, see druid_wait_max). "
	 "The master owns the pool size: configure the web server with one backend process "
	 "(lighttpd max-procs = 1) and set the concurrency here."},
	{"models_dir", parse_dir, format_string, OFF(models_dir), 0, 0, 0, 0, NULL,
	 "/usr/share/rb-aioutliers/models", "a directory path",
	 "Directory holding the models, each as NAME.keras and NAME.ini; a request's model "
	 "field names one of them. A relative path is taken relative to the directory of "
	 "this file."},
	{"trained_models_dir", parse_dir_or_none, format_string, OFF(trained_models_dir), 0, 0, 0,
	 0, NULL, "/var/lib/rb-aioutliers/models", "empty, or a directory path",
	 "Writable directory of models trained or synced on this host, read as well as "
	 "models_dir: a model of the same name here wins over the shipped one. A directory "
	 "that does not exist holds no models (not an error). Empty: none. Relative paths as "
	 "for models_dir."},
	{"models_url", parse_s3_url, format_string, OFF(models_url), 0, 0, 0, 0, NULL, "",
	 "empty, or s3://BUCKET/PREFIX",
	 "An S3 prefix holding models as PREFIX/NAME.keras, NAME.ini and NAME.druid.json (the "
	 "old service's rbaioutliers/latest/ layout; rb-aioutliers-train --upload writes it). "
	 "A helper process of the master lists it every models_sync_interval, downloads the "
	 "objects that changed into trained_models_dir (which must be set), checks each "
	 "complete model with the service's loader and only then reloads as SIGHUP does; a bad "
	 "or partial upload never replaces a working model. Empty: no sync. See "
	 "docs/OPERATIONS.md."},
	{"models_s3_endpoint", parse_url, format_url, OFF(models_s3_endpoint), 0, 0, 0, 0, NULL,
	 "https://s3.amazonaws.com", "an http:// or https:// URL",
	 "The S3 service's endpoint for models_url (path-style requests: "
	 "ENDPOINT/BUCKET/KEY): AWS, MinIO or any S3-compatible store."},
	{"models_s3_region", parse_metric_name, format_string, OFF(models_s3_region), 0, 0, 0, 0,
	 NULL, "us-east-1", "a region name",
	 "The region that Signature V4 signs the S3 requests for (us-east-1 for most "
	 "S3-compatible servers)."},
	{"models_s3_credentials", parse_dir_or_none, format_string, OFF(models_s3_credentials), 0,
	 0, 0, 0, NULL, "", "empty, or a file path",
	 "File holding the S3 access key, as lines access_key_id = ... and "
	 "secret_access_key = ... (the AWS CLI's aws_access_key_id and aws_secret_access_key "
	 "are read too); the secrets never go into this file. Read by the sync helper, which "
	 "runs as the daemon's user: make it readable by that user only. Relative paths as for "
	 "models_dir. Required with models_url."},
	{"models_sync_interval", parse_period, format_period, OFF(models_sync_interval_ms), 0,
	 86400000, 0, 0, NULL, "PT1M", "an ISO-8601 period of at least PT5S, at most P1D",
	 "Time between two listings of models_url (ISO-8601 period). The old service listed "
	 "every 60 s."},
	{"druid_url", parse_url, format_url, OFF(druid_url), 0, 0, 0, 0, NULL,
	 "http://127.0.0.1:8082/druid/v2/", "an http:// or https:// URL",
	 "Full URL of the Druid broker's native query endpoint, to which requests carrying a "
	 "query field are sent (port 8082 by default; 8080 in older deployments)."},
	{"druid_connect_timeout_ms", parse_uint, format_uint, OFF(druid_connect_timeout_ms), 1,
	 60000, 0, 0, NULL, "2000", NULL,
	 "Time allowed to connect to the Druid broker, in milliseconds. Must not exceed "
	 "druid_timeout_ms. A broker that cannot be reached gives HTTP 502, one that does not "
	 "answer in time 504."},
	{"druid_timeout_ms", parse_uint, format_uint, OFF(druid_timeout_ms), 1, 600000, 0, 0, NULL,
	 "30000", NULL,
	 "Time allowed for a whole Druid query (connect, send, receive), in milliseconds; "
	 "past it the request fails with HTTP 504."},
	{"druid_max_response_bytes", parse_bytes, format_bytes, OFF(druid_max_response_bytes),
	 1ull << 10, 1ull << 30, 0, 0, NULL, "64M", NULL,
	 "Largest Druid answer accepted, in bytes (suffix K, M or G for powers of 1024); a "
	 "larger one fails the request with HTTP 502."},
	{"druid_wait_max", parse_uint, format_uint, OFF(druid_wait_max), 0, 64, 0, 0, NULL, "0",
	 NULL,
	 "Most workers that may wait on Druid at the same time; a request that needs Druid "
	 "beyond it is answered 503 with Retry-After (after druid_queue_ms), so a slow or hung "
	 "broker never holds every worker and /health and requests with inline data are still "
	 "served. 0: workers - 1 (at least 1; with workers = 1 nothing is kept free). Values "
	 "above workers allow every worker to wait."},
	{"druid_queue_ms", parse_uint, format_uint, OFF(druid_queue_ms), 0, 60000, 0, 0, NULL,
	 "500", NULL,
	 "How long a request that needs Druid waits for a free Druid-wait slot (see "
	 "druid_wait_max), in milliseconds, before its 503; it does not wait at all when "
	 "every slot's holder has already waited on Druid longer than this (the broker looks "
	 "stalled). Ordinary concurrency against a fast broker is absorbed by this short wait "
	 "instead of being refused."},
	{"druid_datasources", parse_datasources, format_string, OFF(druid_datasources), 0, 0, 0, 0,
	 NULL, "auto", "auto, * or table names, separated by commas (auto may be one of them)",
	 "Druid tables a request's query may read. auto: the tables the loaded models' Druid "
	 "templates name in their dataSources list (the shipped traffic template names "
	 "rb_flow), computed when a worker starts, so again after SIGHUP; *: any table. Any "
	 "other dataSource (another table, lookup, query, inline, external, join, a union "
	 "with a table not allowed) is refused with HTTP 400, as are javascript aggregators, "
	 "filters, post-aggregators and extraction functions anywhere in a query and the "
	 "context keys priority, lane and brokerService. A query's context.timeout is "
	 "lowered to druid_timeout_ms (and set when absent) so that Druid stops when the "
	 "service stops waiting. See docs/DRUID.md."},
	{"max_body_bytes", parse_bytes, format_bytes, OFF(max_body_bytes), 1ull << 10, 1ull << 30,
	 0, 0, NULL, "16M", NULL,
	 "Largest request body accepted, in bytes (suffix K, M or G); a larger one is refused "
	 "with HTTP 413 before it is read. It also caps each decoded query or data field."},
	{"default_metric", parse_metric_name, format_string, OFF(default_metric), 0, 0, 0, 0, NULL,
	 "bytes", "1 to 63 of A-Z a-z 0-9 . _ -",
	 "Metric analysed when a request has no metric field (a model-free detector may prefer "
	 "a monitors series when the rows carry one; see rb-aioutliers(8))."},
	{"default_model", parse_model_name, format_string, OFF(default_model), 0, 0, 0, 0, NULL,
	 "", "empty, or 1 to 63 of A-Z a-z 0-9 . _ - not starting with a dot",
	 "Model used when a request names none. Empty: such requests use the default "
	 "(model-free) detector, as the old service did. The model must exist in models_dir "
	 "(checked at start-up)."},
	{"inference", parse_choice, format_choice, OFF(inference), 0, 0, 0, 0, infer_path_names,
	 "auto", NULL,
	 "How models run. auto: at start-up and each reload the daemon times both paths on this "
	 "CPU at each chunk size, per model (a probe process, about 0.3 s a model), and runs each "
	 "chunk on the faster (the plan is logged and in GET /health); dnnl: always oneDNN; "
	 "vector: always the float32 "
	 "plain-C path built for the CPU's vector unit; reference: the double-precision plain-C "
	 "implementation (slow; for checking results). See docs/INFERENCE.md."},
	{"detector", parse_choice, format_choice, OFF(detector), 0, 0, 0, 0, detector_kind_names,
	 "default", NULL,
	 "The model-free detector used when no model applies: default (also named novelty) "
	 "flags what is rare for the series relative to its earlier rows; robust is the "
	 "robust z-score detector that was the default before; iforest-legacy reproduces the "
	 "old service's isolation forest. A request may choose with its detector field. See "
	 "docs/DEFAULT-DETECTOR.md."},
	{"sensitivity", parse_real_or_auto, format_real_or_auto, OFF(sensitivity), 0, 0, 0.0, 1.0,
	 NULL, "auto", "auto, or a number from 0 to 1",
	 "Sensitivity of the model-free detector, from 0 to 1 (higher flags more rows); auto "
	 "uses the detector's own default (docs/DEFAULT-DETECTOR.md). A request may override "
	 "it with its sensitivity field."},
	{"history", parse_period, format_period, OFF(history_ms), 0, 366ull * 86400000, 0, 0, NULL,
	 "P7D", "an ISO-8601 period of weeks, days, hours, minutes and seconds, from PT0S to P366D",
	 "History fetched before a query's interval for the model-free detector and the model's "
	 "centring: the service extends the query's intervals backwards by this much (the same "
	 "query, one Druid call), runs the detector over the whole and answers only for the "
	 "requested rows, saying how many history rows it used (history_rows). PT0S turns it "
	 "off. A request's history field may lower it, never raise it (a larger value is "
	 "clamped to this one). Months and years are refused (no fixed length). See "
	 "docs/DRUID.md."},
	{"history_max_rows", parse_uint, format_uint, OFF(history_max_rows), 0, 1000000, 0, 0,
	 NULL, "20160", NULL,
	 "Most history rows fetched (the history period divided by the query's granularity); "
	 "a longer history is shortened to this many buckets, never refused. 0 turns history "
	 "off. 20160 is two weeks of one-minute rows."},
	{"log_level", parse_choice, format_choice, OFF(log_level), 0, 0, 0, 0, log_level_names,
	 "info", NULL,
	 "Least severe message logged: error, warn, info (one line per request) or debug."},
	{"log_target", parse_choice, format_choice, OFF(log_target), 0, 0, 0, 0, log_target_names,
	 "stderr", NULL,
	 "Where messages go: stderr (the web server's error log when it spawned the daemon) "
	 "or syslog (facility daemon)."},
	{"log_file", parse_dir_or_none, format_string, OFF(log_file), 0, 0, 0, 0, NULL, "",
	 "empty, or a file path",
	 "When set, messages are appended to this file instead (log_target's line format for "
	 "stderr). The master opens it before it drops privileges and reopens it on SIGHUP "
	 "(log rotation). Relative paths as for models_dir. Detached (no -f and an own "
	 "socket), a daemon without log_file logs to syslog even when log_target = stderr: "
	 "stderr is gone."},
	{"pid_file", parse_dir_or_none, format_string, OFF(pid_file), 0, 0, 0, 0, NULL, "",
	 "empty, or a file path",
	 "When set, the master writes its process id there once it is running (after "
	 "detaching) and removes it when it stops. Relative paths as for models_dir."},
	{"request_timeout_ms", parse_uint, format_uint, OFF(request_timeout_ms), 100, 600000, 0, 0,
	 NULL, "60000", NULL,
	 "Longest time a worker may spend on one request, Druid included, in milliseconds; "
	 "past it the master kills the worker (the web server answers that request with its "
	 "own 502) and starts a new one. Must exceed druid_timeout_ms."},
	{"params_timeout_ms", parse_uint, format_uint, OFF(params_timeout_ms), 100, 600000, 0, 0,
	 NULL, "5000", NULL,
	 "Time from accepting a connection until the web server has sent the request's "
	 "FastCGI parameters (the HTTP headers), in milliseconds. A connection that has not is "
	 "dropped and logged (phase params); the worker is free again. An idle kept connection "
	 "(FCGI_KEEP_CONN) counts as one waiting for its params."},
	{"body_grace_ms", parse_uint, format_uint, OFF(body_grace_ms), 0, 600000, 0, 0, NULL,
	 "2000", NULL,
	 "Time after the params during which the request body may arrive at any pace, in "
	 "milliseconds; after it body_min_rate applies."},
	{"body_min_rate", parse_bytes, format_bytes, OFF(body_min_rate), 0, 1ull << 30, 0, 0,
	 NULL, "4K", NULL,
	 "Least average rate of the request body once body_grace_ms have passed, in bytes per "
	 "second (suffix K, M or G for powers of 1024); a slower body is dropped and logged "
	 "(phase body) and the web server answers that request with its own error. 0: no "
	 "rate rule (body_timeout_ms still applies)."},
	{"body_timeout_ms", parse_uint, format_uint, OFF(body_timeout_ms), 100, 3600000, 0, 0,
	 NULL, "60000", NULL,
	 "Longest time for the whole request body, from the end of the params, in "
	 "milliseconds; past it the request is dropped and logged (phase body)."},
	{"write_timeout_ms", parse_uint, format_uint, OFF(write_timeout_ms), 100, 600000, 0, 0,
	 NULL, "10000", NULL,
	 "Longest time for writing the answer to the web server and closing the connection, "
	 "in milliseconds; a web server that does not take it is dropped and logged (phase "
	 "write)."},
	{"stop_accept_ms", parse_uint, format_uint, OFF(stop_accept_ms), 0, 60000, 0, 0, NULL,
	 "1000", NULL,
	 "On SIGTERM, how long the daemon goes on serving as usual before it stops taking new "
	 "connections, in milliseconds, so that requests the web server is still reading "
	 "from their clients reach it. Then it removes its Unix socket (listen = unix:PATH), "
	 "so the web server's new connections are refused (lighttpd and Apache answer 503), "
	 "serves every connection already queued on the socket and exits."},
	{"user", parse_account, format_string, OFF(user), 0, 0, 0, 0, NULL, "", "empty, or a user name",
	 "Started as root, the master opens its socket, log and pid file, then runs as this "
	 "user (and group) before it loads any model or starts any worker. Started as "
	 "another user, it must be this one (or empty)."},
	{"group", parse_account, format_string, OFF(group), 0, 0, 0, 0, NULL, "",
	 "empty, or a group name",
	 "The group to run as with user; empty: the user's primary group. Supplementary "
	 "groups are dropped."},
	{"allow_root", parse_choice, format_choice, OFF(allow_root), 0, 0, 0, 0, yes_no_names, "no",
	 NULL,
	 "Whether the daemon may serve as root when user is empty. no: it refuses to start "
	 "(a request parser holding root is one bug away from the whole host)."},
	{"listen_group", parse_account, format_string, OFF(listen_group), 0, 0, 0, 0, NULL, "",
	 "empty, or a group name",
	 "Group owner of the Unix socket (listen = unix:PATH), for the web server's group; "
	 "empty: the daemon's group. The socket is created with no permission for anybody "
	 "and gets listen_mode and its owners before the daemon listens."},
};

enum { NKEYS = sizeof keys / sizeof keys[0] };

size_t config_key_count(void)
{
	return NKEYS;
}

const char *config_key_name(size_t i)
{
	RB_ASSERT(i < NKEYS);
	return keys[i].name;
}

/* The accepted values of a key, as text for messages and docs. */
static void range_text(const struct config_key *k, char *buf, size_t cap)
{
	if (k->choices != NULL)
		names_list(k->choices, buf, cap);
	else if (k->range != NULL)
		snprintf(buf, cap, "%s", k->range);
	else if (k->parse == parse_real)
		snprintf(buf, cap, "%g to %g", k->dmin, k->dmax);
	else if (k->parse == parse_octal_mode)
		snprintf(buf, cap, "0%llo to 0%llo", k->min, k->max);
	else if (k->parse == parse_bytes) {
		struct rb_config tmp;
		char lo[32], hi[32];
		*(unsigned long long *)field(&tmp, k) = k->min;
		format_bytes(k, &tmp, lo, sizeof lo);
		*(unsigned long long *)field(&tmp, k) = k->max;
		format_bytes(k, &tmp, hi, sizeof hi);
		snprintf(buf, cap, "%s to %s", lo, hi);
	} else
		snprintf(buf, cap, "%llu to %llu", k->min, k->max);
}

static const struct config_key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

void config_defaults(struct rb_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < NKEYS; i++) {
		struct rb_err err = {0};
		enum rb_code rc = keys[i].parse(&keys[i], keys[i].def, strlen(keys[i].def), NULL, cfg,
		                                &err);
		RB_ASSERT(rc == RB_OK); /* every default in the key table parses */
	}
}

/* ---- parsing ------------------------------------------------------------------------------- */

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_blank((*s)[*len - 1]))
		(*len)--;
}

/* Cross-key rules, checked once every key is read. */
static enum rb_code check_all(const struct rb_config *cfg, struct rb_err *err)
{
	if (cfg->druid_connect_timeout_ms > cfg->druid_timeout_ms)
		return rb_err_set(err, RB_E_CONFIG,
		                  "druid_connect_timeout_ms (%u) exceeds druid_timeout_ms (%u)",
		                  cfg->druid_connect_timeout_ms, cfg->druid_timeout_ms);
	if (cfg->models_url[0] != '\0' &&
	    (cfg->trained_models_dir[0] == '\0' || cfg->models_s3_credentials[0] == '\0'))
		return rb_err_set(err, RB_E_CONFIG,
		                  "models_url needs trained_models_dir and models_s3_credentials");
	if (cfg->models_sync_interval_ms < 5000)
		return rb_err_set(err, RB_E_CONFIG, "models_sync_interval must be at least PT5S");
	if (cfg->request_timeout_ms <= cfg->druid_timeout_ms)
		return rb_err_set(err, RB_E_CONFIG,
		                  "request_timeout_ms (%u) must exceed druid_timeout_ms (%u)",
		                  cfg->request_timeout_ms, cfg->druid_timeout_ms);
	return RB_OK;
}

enum rb_code config_parse_buffer(const char *text, size_t len, const char *name,
                                 struct rb_config *cfg, struct rb_err *err)
{
	struct rb_config c;
	size_t first_line[NKEYS] = {0}; /* line where each key was set, 0 = not yet */
	char dir[1024] = "";
	const char *slash = name != NULL ? strrchr(name, '/') : NULL;
	if (name == NULL)
		name = "(config)";
	if (slash != NULL && (size_t)(slash - name) < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", slash == name ? 1 : (int)(slash - name), name);

	config_defaults(&c);
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) { /* a UTF-8 byte-order mark */
		text += 3;
		len -= 3;
	}
	size_t pos = 0, lineno = 0;
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += ll + (nl != NULL);
		lineno++;
		if (ll > CONFIG_MAX_LINE)
			return rb_err_set(err, RB_E_CONFIG, "%s:%zu: line longer than %d bytes", name,
			                  lineno, CONFIG_MAX_LINE);
		for (size_t i = 0; i < ll; i++) {
			unsigned char ch = (unsigned char)line[i];
			if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f)
				return rb_err_set(err, RB_E_CONFIG,
				                  "%s:%zu: control character 0x%02x in line", name, lineno,
				                  ch);
		}
		trim(&line, &ll);
		if (ll == 0 || line[0] == '#' || line[0] == ';')
			continue;
		const char *eq = memchr(line, '=', ll);
		if (eq == NULL)
			return rb_err_set(err, RB_E_CONFIG, "%s:%zu: expected 'key = value', got '%.*s'",
			                  name, lineno, ll > 64 ? 64 : (int)ll, line);
		const char *key = line, *val = eq + 1;
		size_t kl = (size_t)(eq - line), vl = ll - kl - 1;
		trim(&key, &kl);
		trim(&val, &vl);
		if (kl == 0)
			return rb_err_set(err, RB_E_CONFIG, "%s:%zu: missing key before '='", name,
			                  lineno);
		const struct config_key *k = find_key(key, kl);
		if (k == NULL)
			return rb_err_set(err, RB_E_CONFIG, "%s:%zu: unknown key '%.*s'", name, lineno,
			                  kl > 64 ? 64 : (int)kl, key);
		size_t ki = (size_t)(k - keys);
		if (first_line[ki] != 0)
			return rb_err_set(err, RB_E_CONFIG,
			                  "%s:%zu: duplicate key '%s' (first set on line %zu)", name,
			                  lineno, k->name, first_line[ki]);
		first_line[ki] = lineno;
		struct rb_err perr = {0};
		enum rb_code rc = k->parse(k, val, vl, dir, &c, &perr);
		if (rc != RB_OK)
			return rb_err_set(err, rc, "%s:%zu: %s: %s", name, lineno, k->name, perr.msg);
	}
	struct rb_err cerr = {0};
	if (check_all(&c, &cerr) != RB_OK)
		return rb_err_set(err, RB_E_CONFIG, "%s: %s", name, cerr.msg);
	*cfg = c;
	return RB_OK;
}

enum rb_code config_load(const char *path, struct rb_config *cfg, struct rb_err *err)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return rb_err_set(err, RB_E_CONFIG, "%s: cannot open: %s", path, strerror(errno));
	char *buf = malloc(CONFIG_MAX_FILE + 1);
	if (buf == NULL) {
		fclose(f);
		return rb_err_set(err, RB_E_NOMEM, "%s: out of memory", path);
	}
	size_t n = fread(buf, 1, CONFIG_MAX_FILE + 1, f);
	int bad = ferror(f);
	fclose(f);
	enum rb_code rc;
	if (bad)
		rc = rb_err_set(err, RB_E_CONFIG, "%s: read error", path);
	else if (n > CONFIG_MAX_FILE)
		rc = rb_err_set(err, RB_E_CONFIG, "%s: larger than %d bytes", path, CONFIG_MAX_FILE);
	else
		rc = config_parse_buffer(buf, n, path, cfg, err);
	free(buf);
	return rc;
}

/* ---- output -------------------------------------------------------------------------------- */

void config_dump(const struct rb_config *cfg, FILE *out)
{
	for (size_t i = 0; i < NKEYS; i++) {
		char buf[2048];
		keys[i].format(&keys[i], cfg, buf, sizeof buf);
		if (buf[0] == '\0')
			fprintf(out, "%s =\n", keys[i].name);
		else
			fprintf(out, "%s = %s\n", keys[i].name, buf);
	}
}

/* Writes text as '# '-prefixed lines of at most 78 columns. */
static void write_wrapped_comment(FILE *out, const char *text)
{
	const char *p = text;
	while (*p != '\0') {
		size_t room = 76, n = strlen(p);
		if (n > room) {
			n = room;
			while (n > 0 && p[n] != ' ')
				n--;
			if (n == 0)
				n = room;
		}
		fprintf(out, "# %.*s\n", (int)n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
}

void config_write_sample(FILE *out)
{
	fputs("# rb-aioutliers.conf: configuration of the rb-aioutliers FastCGI daemon.\n"
	      "# See rb-aioutliers.conf(5). Written by config_write_sample() from the key table\n"
	      "# in fcgi/config.c; tests/test_config.c checks that they agree.\n"
	      "#\n"
	      "# Format: one \"key = value\" per line. Lines starting with # or ; are comments;\n"
	      "# a comment cannot follow a value on the same line. Every key is optional: a\n"
	      "# missing key takes its default. An unknown key, a repeated key or a bad value\n"
	      "# stops the daemon at start-up (or keeps the old configuration on SIGHUP).\n"
	      "# Check a file with: rb-aioutliers -t -c FILE\n",
	      out);
	struct rb_config def;
	config_defaults(&def);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &keys[i];
		char val[2048], range[256], line[2600];
		k->format(k, &def, val, sizeof val);
		range_text(k, range, sizeof range);
		fputc('\n', out);
		write_wrapped_comment(out, k->help);
		snprintf(line, sizeof line, "Default: %s. Accepted: %s.",
		         val[0] != '\0' ? val : "empty", range);
		write_wrapped_comment(out, line);
		if (val[0] == '\0')
			fprintf(out, "%s =\n", k->name);
		else
			fprintf(out, "%s = %s\n", k->name, val);
	}
}

/* Writes text for roff: '-' as '\-' (a literal minus), '\' escaped. */
static void roff_text(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '-')
			fputs("\\-", out);
		else if (*s == '\\')
			fputs("\\e", out);
		else
			fputc(*s, out);
	}
}

void config_write_man(FILE *out)
{
	struct rb_config def;
	config_defaults(&def);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &keys[i];
		char val[2048], range[256];
		k->format(k, &def, val, sizeof val);
		range_text(k, range, sizeof range);
		fputs(".TP\n.B ", out);
		roff_text(out, k->name);
		fputc('\n', out);
		roff_text(out, k->help);
		fputs("\n.br\nDefault: ", out);
		if (val[0] == '\0')
			fputs("empty", out);
		else {
			fputs("\\fB", out);
			roff_text(out, val);
			fputs("\\fR", out);
		}
		fputs(". Accepted: ", out);
		roff_text(out, range);
		fputs(".\n", out);
	}
}
