/*
 * config: the daemon's config file. Defaults; a file setting every key;
 * a table of bad files whose errors must name FILE:LINE and the key; values
 * accepted at the edges of each range; a failed parse leaves the config
 * untouched; relative models_dir; config_load on real files; dump → parse
 * round trip; every value of every enum key through its owner's name table
 * (name -> parse -> value -> dump -> name); and etc/rb-aioutliers.conf and
 * the man page's key list equal what the key table generates (so no key goes undocumented).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "rb/fcgi/config.h"
#include "testutil.h"

static enum rb_code parse(const char *text, struct rb_config *cfg, struct rb_err *err)
{
	config_defaults(cfg);
	return config_parse_buffer(text, strlen(text), "t.conf", cfg, err);
}

static void defaults(void)
{
	struct rb_config c;
	config_defaults(&c);
	CHECK(c.listen.kind == RB_LISTEN_INHERIT);
	CHECK(c.listen_mode == 0660);
	CHECK(c.workers == 3);
	CHECK(strcmp(c.models_dir, "/usr/share/rb-aioutliers/models") == 0);
	CHECK(strcmp(c.druid_url, "http://127.0.0.1:8082/druid/v2/") == 0);
	CHECK(c.druid_connect_timeout_ms == 2000 && c.druid_timeout_ms == 30000);
	CHECK(c.druid_max_response_bytes == 64ull << 20);
	CHECK(c.max_body_bytes == 16ull << 20);
	CHECK(strcmp(c.default_metric, "bytes") == 0 && c.default_model[0] == '\0');
	CHECK(c.inference == INFER_AUTO && c.detector == DETECTOR_KIND_DEFAULT);
	CHECK(isnan(c.sensitivity)); /* auto: the detector's own default */
	CHECK(c.log_level == LOG_LVL_INFO && c.log_target == LOG_TO_STDERR);
	CHECK(c.request_timeout_ms == 60000);
	CHECK(c.history_ms == 7 * 86400000LL && c.history_max_rows == 20160);
	/* the empty file is the defaults */
	struct rb_config d;
	struct rb_err err = {0};
	CHECK(parse("", &d, &err) == RB_OK && memcmp(&c, &d, sizeof c) == 0);
	CHECK(parse("\n\n# only comments\n  ; and these\n\t\n", &d, &err) == RB_OK);
	CHECK(memcmp(&c, &d, sizeof c) == 0);
}

static void every_key(void)
{
	static const char text[] =
	        "\xef\xbb\xbf# a BOM, CRLF lines and odd spacing\r\n"
	        "listen = unix:/run/rb-aioutliers/fcgi.sock\r\n"
	        "  listen_mode=0600\r\n"
	        "workers\t=\t64\n"
	        "models_dir = /opt/models dir\n"
	        "druid_url = HTTPS://broker.example:8282/druid/v2/?pretty\n"
	        "druid_connect_timeout_ms = 1\n"
	        "druid_timeout_ms = 599999\n"
	        "druid_max_response_bytes = 1G\n"
	        "max_body_bytes = 1025\n"
	        "default_metric = bits_per_sec.v-2\n"
	        "default_model = traffic.v1\n"
	        "inference = reference\n"
	        "detector = iforest-legacy\n"
	        "sensitivity = .5e0\n"
	        "history = p1dt1h30m0.5s\n"
	        "history_max_rows = 1000000\n"
	        "log_level = debug\n"
	        "log_target = syslog\n"
	        "request_timeout_ms = 600000"; /* no final newline */
	struct rb_config c;
	struct rb_err err = {0};
	CHECKF(parse(text, &c, &err) == RB_OK, "%s", err.msg);
	CHECK(c.listen.kind == RB_LISTEN_UNIX && strcmp(c.listen.path, "/run/rb-aioutliers/fcgi.sock") == 0);
	CHECK(c.listen_mode == 0600 && c.workers == 64);
	CHECK(strcmp(c.models_dir, "/opt/models dir") == 0);
	CHECK(strcmp(c.druid_url, "HTTPS://broker.example:8282/druid/v2/?pretty") == 0);
	CHECK(c.druid_connect_timeout_ms == 1 && c.druid_timeout_ms == 599999);
	CHECK(c.druid_max_response_bytes == 1ull << 30 && c.max_body_bytes == 1025);
	CHECK(strcmp(c.default_metric, "bits_per_sec.v-2") == 0);
	CHECK(strcmp(c.default_model, "traffic.v1") == 0);
	CHECK(c.inference == INFER_REFERENCE && c.detector == DETECTOR_KIND_IFOREST_LEGACY);
	CHECK(c.sensitivity == 0.5);
	CHECK(c.history_ms == 86400000LL + 5400500 && c.history_max_rows == 1000000);
	CHECK(c.log_level == LOG_LVL_DEBUG && c.log_target == LOG_TO_SYSLOG);
	CHECK(c.request_timeout_ms == 600000);
	CHECK(c.listen.kind == RB_LISTEN_UNIX);

	/* dump → parse gives the same config */
	char *dump = NULL;
	size_t dlen = 0;
	FILE *m = open_memstream(&dump, &dlen);
	CHECK(m != NULL);
	config_dump(&c, m);
	fclose(m);
	struct rb_config back;
	CHECKF(parse(dump, &back, &err) == RB_OK, "%s\n%s", err.msg, dump);
	CHECK(memcmp(&c, &back, sizeof c) == 0);
	CHECK(strstr(dump, "max_body_bytes = 1025\n") != NULL);
	CHECK(strstr(dump, "druid_max_response_bytes = 1G\n") != NULL);
	CHECK(strstr(dump, "listen_mode = 0600\n") != NULL);
	free(dump);
}

struct listen_case {
	const char *value;
	enum rb_listen_kind kind;
	const char *where; /* path or host */
	unsigned port;
};

static void listen_forms(void)
{
	static const struct listen_case ok[] = {
		{"", RB_LISTEN_INHERIT, "", 0},
		{"unix:/x", RB_LISTEN_UNIX, "/x", 0},
		{"127.0.0.1:9000", RB_LISTEN_TCP, "127.0.0.1", 9000},
		{"localhost:1", RB_LISTEN_TCP, "localhost", 1},
		{"fcgi-1.example.org:65535", RB_LISTEN_TCP, "fcgi-1.example.org", 65535},
		{"[::1]:9000", RB_LISTEN_TCP, "::1", 9000},
		{"[fe80::1%eth0]:80", RB_LISTEN_TCP, "fe80::1%eth0", 80},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char text[300];
		snprintf(text, sizeof text, "listen = %s\n", ok[i].value);
		struct rb_config c;
		struct rb_err err = {0};
		CHECKF(parse(text, &c, &err) == RB_OK, "%s: %s", ok[i].value, err.msg);
		CHECK(c.listen.kind == ok[i].kind);
		if (ok[i].kind == RB_LISTEN_UNIX)
			CHECK(strcmp(c.listen.path, ok[i].where) == 0);
		if (ok[i].kind == RB_LISTEN_TCP)
			CHECK(strcmp(c.listen.host, ok[i].where) == 0 && c.listen.port == ok[i].port);
		/* dump reads back */
		char *dump = NULL;
		size_t dlen = 0;
		FILE *m = open_memstream(&dump, &dlen);
		config_dump(&c, m);
		fclose(m);
		char want[300];
		snprintf(want, sizeof want, ok[i].value[0] ? "listen = %s\n" : "listen =%s\n",
		         ok[i].value);
		CHECKF(strstr(dump, want) != NULL, "dump of %s", ok[i].value);
		free(dump);
	}
}

struct bad_case {
	const char *text;
	const char *msg; /* substring, starting with "t.conf:LINE: " */
};

static const struct bad_case bad[] = {
	{"workers = 2\n\nfoo = 1\n", "t.conf:3: unknown key 'foo'"},
	{"Workers = 2\n", "t.conf:1: unknown key 'Workers'"},
	{"[daemon]\nworkers = 2\n", "t.conf:1: expected 'key = value', got '[daemon]'"},
	{"workers = 2\n# c\nworkers = 3\n", "t.conf:3: duplicate key 'workers' (first set on line 1)"},
	{"workers = 0\n", "t.conf:1: workers: 0 is out of range 1..64"},
	{"workers = 65\n", "t.conf:1: workers: 65 is out of range 1..64"},
	{"workers = 2 # two\n", "t.conf:1: workers: '2 # two' is not a whole number"},
	{"workers = 1.5\n", "t.conf:1: workers: '1.5' is not a whole number"},
	{"workers = 0x10\n", "not a whole number"},
	{"workers = -1\n", "workers: -1 is out of range"},
	{"workers =\n", "t.conf:1: workers: '' is not a whole number"},
	{"workers = 99999999999999999999999\n", "out of range"},
	{"workers 2\n", "t.conf:1: expected 'key = value'"},
	{"\n\n  = 2\n", "t.conf:3: missing key before '='"},
	{"listen = unix:relative.sock\n", "t.conf:1: listen: unix socket path must be absolute"},
	{"listen = unix:\n", "must be absolute"},
	{"listen = localhost\n", "listen: 'localhost' is not unix:/path, host:port"},
	{"listen = localhost:0\n", "no port in 1..65535"},
	{"listen = localhost:65536\n", "no port in 1..65535"},
	{"listen = localhost:+80\n", "no port in 1..65535"},
	{"listen = localhost:http\n", "no port in 1..65535"},
	{"listen = :9000\n", "has no valid host"},
	{"listen = ::1:9000\n", "has no valid host"},
	{"listen = [::1]\n", "is not [address]:port"},
	{"listen = [::1]:\n", "no port"},
	{"listen = [::1]x:80\n", "is not [address]:port"},
	{"listen = [localhost]:80\n", "must hold an IPv6 address"},
	{"listen = my host:80\n", "has no valid host"},
	{"listen = a_b:80\n", "has no valid host"},
	{"listen = unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	 "longer than 107 bytes"},
	{"listen_mode = 660\n", "listen_mode: '660' is not an octal mode"},
	{"listen_mode = 0680\n", "is not an octal mode"},
	{"listen_mode = 0500\n", "listen_mode: 0500 is out of range 0600..0777"},
	{"listen_mode = 01777\n", "not an octal mode"},
	{"models_dir =\n", "t.conf:1: models_dir: empty path"},
	{"druid_url = ftp://broker/\n", "druid_url: 'ftp://broker/' is not an http:// or https:// URL"},
	{"druid_url = broker:8082\n", "is not an http"},
	{"druid_url = http://\n", "has no host"},
	{"druid_url = http:///druid/v2/\n", "has no host"},
	{"druid_url = http://:8082/\n", "has no host"},
	{"druid_url = http://a b/\n", "space or control character"},
	{"druid_url =\n", "is not an http"},
	{"druid_connect_timeout_ms = 0\n", "out of range 1..60000"},
	{"druid_timeout_ms = 600001\n", "out of range 1..600000"},
	{"druid_timeout_ms = 1000\ndruid_connect_timeout_ms = 5000\n",
	 "t.conf: druid_connect_timeout_ms (5000) exceeds druid_timeout_ms (1000)"},
	{"max_body_bytes = 1023\n", "t.conf:1: max_body_bytes: 1023 is out of range 1024..1073741824 bytes"},
	{"max_body_bytes = 2G\n", "out of range"},
	{"max_body_bytes = 16MB\n", "is not a byte count"},
	{"max_body_bytes = -16M\n", "is not a byte count"},
	{"max_body_bytes = M\n", "is not a byte count"},
	{"max_body_bytes = 99999999999999999G\n", "out of range"},
	{"druid_max_response_bytes = 16 M\n", "is not a byte count"},
	{"default_metric =\n", "default_metric: '' is not a metric name"},
	{"default_metric = bytes per sec\n", "is not a metric name"},
	{"default_metric = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	 "is not a metric name"},
	{"default_model = .hidden\n", "default_model: '.hidden' is not a model name"},
	{"default_model = ../etc/passwd\n", "is not a model name"},
	{"default_model = a/b\n", "is not a model name"},
	{"inference = DNNL\n", "inference: 'DNNL' is not one of auto, dnnl, vector or reference"},
	{"inference = onednn\n", "is not one of auto, dnnl, vector or reference"},
	{"detector = iforest\n", "detector: 'iforest' is not one of default, iforest-legacy, novelty or robust"},
	{"log_level = warning\n", "is not one of error, warn, info or debug"},
	{"log_target = file\n", "is not one of stderr or syslog"},
	{"sensitivity = nan\n", "sensitivity: 'nan' is not a decimal number"},
	{"sensitivity = inf\n", "is not a decimal number"},
	{"sensitivity = 1e309\n", "out of range"},
	{"sensitivity = 1.5\n", "sensitivity: 1.5 is out of range 0..1"},
	{"sensitivity = -0.1\n", "out of range"},
	{"sensitivity = 0.5x\n", "is not a decimal number"},
	{"sensitivity = 0x1p-1\n", "is not a decimal number"},
	{"sensitivity = 1e\n", "is not a decimal number"},
	{"sensitivity = .\n", "is not a decimal number"},
	{"request_timeout_ms = 99\n", "out of range 100..600000"},
	{"history = P1M\n", "history: 'P1M' is not an ISO-8601 period: period has no fixed length"},
	{"history = 7d\n", "is not an ISO-8601 period: a period starts with P"},
	{"history = -P1D\n", "negative"},
	{"history = P367D\n", "history: 'P367D' is longer than P366D"},
	{"history = P1000000000W\n", "too long"},
	{"history_max_rows = 1000001\n", "out of range 0..1000000"},
	{"workers = 2\x01\n", "t.conf:1: control character 0x01 in line"},
	{"workers = 2\nlog_level = info\x7f\n", "t.conf:2: control character 0x7f"},
	{"a\rb = 1\n", "unknown key"},
};

static void bad_files(void)
{
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct rb_config c;
		struct rb_err err = {0};
		enum rb_code rc = parse(bad[i].text, &c, &err);
		CHECKF(rc == RB_E_CONFIG, "case %zu (%s): code %d", i, bad[i].text, rc);
		CHECKF(err.code == RB_E_CONFIG && strstr(err.msg, bad[i].msg) != NULL,
		       "case %zu: message '%s' lacks '%s'", i, err.msg, bad[i].msg);
	}
	/* NUL bytes, a long line */
	struct rb_config c;
	struct rb_err err = {0};
	config_defaults(&c);
	CHECK(config_parse_buffer("workers = 2\n\0", 13, "n.conf", &c, &err) == RB_E_CONFIG);
	CHECK(strstr(err.msg, "n.conf:2: control character 0x00") != NULL);
	char *longl = malloc(5000);
	CHECK(longl != NULL);
	memset(longl, '#', 5000);
	CHECK(config_parse_buffer(longl, 5000, "l.conf", &c, &err) == RB_E_CONFIG);
	CHECK(strstr(err.msg, "l.conf:1: line longer than 4096 bytes") != NULL);
	free(longl);
	/* a NULL name is allowed */
	CHECK(config_parse_buffer("x=1", 3, NULL, &c, &err) == RB_E_CONFIG);
	CHECK(strstr(err.msg, "(config):1: unknown key 'x'") != NULL);
}

/* A failed parse leaves the caller's config as it was (SIGHUP keeps the old one). */
static void untouched_on_failure(void)
{
	struct rb_config c, before;
	struct rb_err err = {0};
	CHECK(parse("workers = 7\n", &c, &err) == RB_OK && c.workers == 7);
	before = c;
	CHECK(config_parse_buffer("workers = 9\nbogus = 1\n", 22, "t.conf", &c, &err) ==
	      RB_E_CONFIG);
	CHECK(memcmp(&c, &before, sizeof c) == 0);
}

static void relative_dirs(void)
{
	static const struct {
		const char *name, *value, *want;
	} cases[] = {
		{"/etc/rb/rb-aioutliers.conf", "models", "/etc/rb/models"},
		{"/etc/rb/rb-aioutliers.conf", "../share/m", "/etc/rb/../share/m"},
		{"/etc/rb/rb-aioutliers.conf", "/opt/m", "/opt/m"},
		{"/rb.conf", "models", "/models"},
		{"rb.conf", "models", "models"},
		{"etc/rb.conf", "models", "etc/models"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[200];
		int n = snprintf(text, sizeof text, "models_dir = %s\n", cases[i].value);
		struct rb_config c;
		struct rb_err err = {0};
		config_defaults(&c);
		CHECK(config_parse_buffer(text, (size_t)n, cases[i].name, &c, &err) == RB_OK);
		CHECKF(strcmp(c.models_dir, cases[i].want) == 0, "%s + %s gave %s", cases[i].name,
		       cases[i].value, c.models_dir);
	}
}

static void load_files(void)
{
	struct rb_config c;
	struct rb_err err = {0};
	config_defaults(&c);
	CHECK(config_load("/nonexistent/rb.conf", &c, &err) == RB_E_CONFIG);
	CHECK(strstr(err.msg, "/nonexistent/rb.conf: cannot open") != NULL);

	char path[] = "/tmp/rb-test-config-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	CHECK(f != NULL);
	fputs("workers = 4\nworkers = 5\n", f);
	fclose(f);
	CHECK(config_load(path, &c, &err) == RB_E_CONFIG);
	char want[100];
	snprintf(want, sizeof want, "%s:2: duplicate key 'workers'", path);
	CHECKF(strstr(err.msg, want) != NULL, "%s", err.msg);

	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("workers = 4\nmodels_dir = m\n", f);
	fclose(f);
	CHECK(config_load(path, &c, &err) == RB_OK && c.workers == 4);
	CHECK(strcmp(c.models_dir, "/tmp/m") == 0);
	remove(path);
}

/* Whole output of a writer as a malloc'd string. */
static char *capture(void (*writer)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	CHECK(m != NULL);
	writer(m);
	fclose(m);
	return buf;
}

/* On a mismatch, leaves the expected text in the build dir for a diff and fails. */
static void must_equal(const char *rel, const char *have, const char *want_fragment, int whole)
{
	int ok = whole ? strcmp(have, want_fragment) == 0 : strstr(have, want_fragment) != NULL;
	if (ok)
		return;
	const char *bdir = getenv("RB_BUILD_DIR");
	char out[4096];
	snprintf(out, sizeof out, "%s/generated-%s", bdir ? bdir : ".", strrchr(rel, '/') + 1);
	FILE *f = fopen(out, "w");
	if (f != NULL) {
		fputs(want_fragment, f);
		fclose(f);
	}
	CHECKF(0, "%s is out of date with fcgi/config.c's key table; %s was written: %s", rel, out,
	       whole ? "copy it over" : "replace the key list with it");
}

static void shipped_docs(void)
{
	/* etc/rb-aioutliers.conf is exactly the generated sample ... */
	size_t len;
	char *conf = tu_read_file(tu_source("etc/rb-aioutliers.conf"), &len);
	char *sample = capture(config_write_sample);
	must_equal("etc/rb-aioutliers.conf", conf, sample, 1);
	/* ... parses to the defaults, and sets every key on a line of its own */
	struct rb_config c, d;
	struct rb_err err = {0};
	config_defaults(&d);
	CHECKF(config_load(tu_source("etc/rb-aioutliers.conf"), &c, &err) == RB_OK, "%s", err.msg);
	config_defaults(&d);
	/* models_dir is absolute by default, so the file's directory does not matter */
	CHECK(memcmp(&c, &d, sizeof c) == 0);
	for (size_t i = 0; i < config_key_count(); i++) {
		char line[100];
		snprintf(line, sizeof line, "\n%s =", config_key_name(i));
		CHECKF(strstr(conf, line) != NULL, "key %s not in etc/rb-aioutliers.conf",
		       config_key_name(i));
	}
	free(sample);
	free(conf);

	/* the man page holds the generated key list, and names every key */
	char *man = tu_read_file(tu_source("docs/man/rb-aioutliers.conf.5"), &len);
	char *list = capture(config_write_man);
	must_equal("docs/man/rb-aioutliers.conf.5", man, list, 0);
	for (size_t i = 0; i < config_key_count(); i++) {
		char entry[100];
		snprintf(entry, sizeof entry, ".TP\n.B %s\n", config_key_name(i));
		/* roff escapes '-' but key names have none */
		CHECKF(strstr(man, entry) != NULL, "key %s not in the man page", config_key_name(i));
	}
	free(list);
	free(man);
}

/*
 * Every value 0..count-1 of the enum key `key` (an int at off in the config):
 * its name from the owner's table parses to it, and config_dump writes that
 * name back; the table ends after count names.
 */
static void enum_key(const char *key, const char *const *names, unsigned count, size_t off)
{
	CHECKF(names[count] == NULL, "%s: table longer than the enum", key);
	for (unsigned v = 0; v < count; v++) {
		char text[128], want[sizeof text + 1];
		struct rb_config c;
		struct rb_err err = {0};
		CHECKF(names[v] != NULL, "%s: value %u has no name", key, v);
		snprintf(text, sizeof text, "%s = %s\n", key, names[v]);
		CHECKF(parse(text, &c, &err) == RB_OK, "%s", err.msg);
		CHECKF(*(const int *)((const char *)&c + off) == (int)v, "%s", text);
		char *dump = NULL;
		size_t dlen = 0;
		FILE *m = open_memstream(&dump, &dlen);
		CHECK(m != NULL);
		config_dump(&c, m);
		fclose(m);
		snprintf(want, sizeof want, "\n%s", text);
		CHECKF(strstr(dump, want) != NULL, "dump lacks %s", text);
		free(dump);
	}
}

static void names(void)
{
	enum_key("inference", infer_path_names, INFER_PATH_COUNT,
	         offsetof(struct rb_config, inference));
	enum_key("detector", detector_kind_names, DETECTOR_KIND_COUNT,
	         offsetof(struct rb_config, detector));
	enum_key("log_level", log_level_names, LOG_LEVEL_COUNT,
	         offsetof(struct rb_config, log_level));
	enum_key("log_target", log_target_names, LOG_TARGET_COUNT,
	         offsetof(struct rb_config, log_target));
	CHECK(config_key_count() >= 17);
}

/* Credentials in URLs never reach a printed line: config_redact_url, config_dump, messages. */
static void redaction(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"http://broker:8082/druid/v2/", "http://broker:8082/druid/v2/"},
		{"http://admin:s3cret@broker:8082/druid/v2/", "http://admin:***@broker:8082/druid/v2/"},
		{"https://TOKEN@broker/druid/v2/", "https://***@broker/druid/v2/"},
		{"http://a:b@c@broker/x?y=@z", "http://a:***@broker/x?y=@z"},
		{"http://broker/x?user=a@b", "http://broker/x?user=a@b"},
		{"http://u:p@h", "http://u:***@h"},
		{"no scheme user:pw@host", "no scheme user:pw@host"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[128];
		config_redact_url(cases[i].in, strlen(cases[i].in), out, sizeof out);
		CHECKF(strcmp(out, cases[i].out) == 0, "%s -> %s", cases[i].in, out);
	}
	char tiny[8];
	config_redact_url("http://u:p@h", 12, tiny, sizeof tiny);
	CHECK(strlen(tiny) == 7);
	/* -t's dump and a bad URL's message hide the password */
	struct rb_config c;
	struct rb_err err = {0};
	const char *text = "druid_url = http://admin:s3cret@broker:8082/druid/v2/\n";
	CHECK(config_parse_buffer(text, strlen(text), "t.conf", &c, &err) == RB_OK);
	CHECK(strcmp(c.druid_url, "http://admin:s3cret@broker:8082/druid/v2/") == 0);
	char *dump = NULL;
	size_t dump_len = 0;
	FILE *f = open_memstream(&dump, &dump_len);
	CHECK(f != NULL);
	config_dump(&c, f);
	CHECK(fclose(f) == 0);
	CHECK(strstr(dump, "druid_url = http://admin:***@broker:8082/druid/v2/\n") != NULL);
	CHECK(strstr(dump, "s3cret") == NULL);
	free(dump);
	text = "druid_url = ftp://admin:s3cret@broker/\n";
	CHECK(config_parse_buffer(text, strlen(text), "t.conf", &c, &err) == RB_E_CONFIG);
	CHECKF(strstr(err.msg, "ftp://admin:***@broker/") != NULL && strstr(err.msg, "s3cret") == NULL,
	       "%s", err.msg);
}

int main(void)
{
	redaction();
	defaults();
	every_key();
	listen_forms();
	bad_files();
	untouched_on_failure();
	relative_dirs();
	load_files();
	names();
	shipped_docs();
	return 0;
}
