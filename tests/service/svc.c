/*
 * svc: the whole stack on loopback for the service tests (see svc.h).
 * Test-only; every failure to set up exits the test with a message.
 */
#include "svc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* Per-request client timeout; raised for the valgrind run, where everything is ~30x slower. */
static long request_timeout_ms = 30000;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

unsigned svc_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	socklen_t len = sizeof sa;
	CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static int port_open(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static void wait_port(unsigned port, const struct svc_proc *p, const char *what)
{
	for (int i = 0; i < 1500; i++) { /* 15 s: the daemon warms up oneDNN first */
		if (port_open(port))
			return;
		int status;
		if (p->pid > 0 && waitpid(p->pid, &status, WNOHANG) == p->pid) {
			char *log = tu_read_file(p->log, NULL);
			fprintf(stderr, "%s exited during startup; its log:\n%s\n", what, log);
			free(log);
			exit(1);
		}
		sleep_ms(10);
	}
	char *log = tu_read_file(p->log, NULL);
	fprintf(stderr, "%s did not open port %u; its log:\n%s\n", what, port, log);
	free(log);
	exit(1);
}

/* Starts argv with stdout+stderr appended to p->log (in its own process group). */
static void spawn(struct svc_proc *p, char *const argv[])
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0)
			_exit(127);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	p->pid = pid;
}

static int wait_pid(pid_t pid, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 10) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		sleep_ms(10);
	}
	return -1;
}

static void stop_proc(struct svc_proc *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGTERM);
	if (wait_pid(p->pid, 10000) < 0) {
		kill(-p->pid, SIGKILL);
		kill(p->pid, SIGKILL);
		wait_pid(p->pid, 2000);
	}
	p->pid = 0;
}

static void write_file(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	CHECKF(f != NULL, "cannot write %s", path);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static const char *build_path(const char *rel)
{
	static char buf[1024];
	snprintf(buf, sizeof buf, "%s/%s", getenv("RB_BUILD_DIR"), rel);
	return buf;
}

static void start_emulator(struct svc_stack *st, const char *extra)
{
	snprintf(st->emulator.log, sizeof st->emulator.log, "%s/emulator.log", st->dir);
	char listen[64];
	snprintf(listen, sizeof listen, "127.0.0.1:%u", st->druid_port);
	char *argv[32] = {(char *)build_path("tests/emulator/rb-druid-emulator"), "--listen", listen};
	int argc = 3;
	char extra_copy[256] = "";
	if (extra != NULL) {
		snprintf(extra_copy, sizeof extra_copy, "%s", extra);
		char *p = extra_copy;
		while (*p != '\0' && argc < 30) {
			while (*p == ' ')
				*p++ = '\0';
			if (*p == '\0')
				break;
			argv[argc++] = p;
			while (*p != '\0' && *p != ' ')
				p++;
		}
	}
	argv[argc] = NULL;
	char *exe = strdup(argv[0]);
	argv[0] = exe;
	spawn(&st->emulator, argv);
	free(exe);
	wait_port(st->druid_port, &st->emulator, "rb-druid-emulator");
}

/* The models of the stack: files of shared/ and the names they get in the models folder. */
static const char *const shared_models[][2] = {
	{"upstream/traffic.keras", "traffic.keras"},
	{"upstream/traffic.ini", "traffic.ini"},
};

static void make_models_dir(struct svc_stack *st)
{
	snprintf(st->models, sizeof st->models, "%s/models", st->dir);
	CHECK(mkdir(st->models, 0755) == 0);
	char dst[1024];
	for (size_t i = 0; i < sizeof shared_models / sizeof shared_models[0]; i++) {
		snprintf(dst, sizeof dst, "%s/%s", st->models, shared_models[i][1]);
		CHECK(symlink(tu_shared(shared_models[i][0]), dst) == 0);
	}
	snprintf(dst, sizeof dst, "%s/traffic.druid.json", st->models);
	CHECK(symlink(tu_source("models/traffic.druid.json"), dst) == 0);
}

static void start_daemon(struct svc_stack *st, const struct svc_opts *o)
{
	snprintf(st->conf, sizeof st->conf, "%s/rb-aioutliers.conf", st->dir);
	write_file(st->conf,
	           "# written by the service tests\n"
	           "listen = 127.0.0.1:%u\n"
	           "workers = %u\n"
	           "models_dir = %s\n"
	           "trained_models_dir =\n"
	           "druid_url = http://127.0.0.1:%u/druid/v2/\n"
	           "allow_root = yes\n"
	           "druid_connect_timeout_ms = 500\n"
	           "druid_timeout_ms = %u\n"
	           "max_body_bytes = %llu\n"
	           "druid_max_response_bytes = 8M\n"
	           "log_level = info\n",
	           st->fcgi_port, o->workers ? o->workers : 2, st->models, st->druid_port,
	           o->druid_timeout_ms ? o->druid_timeout_ms : 4000,
	           o->max_body ? o->max_body : 1048576ull);
	snprintf(st->daemon.log, sizeof st->daemon.log, "%s/daemon.log", st->dir);
	char exe[1024];
	snprintf(exe, sizeof exe, "%s", build_path("fcgi/rb-aioutliers"));
	if (o->valgrind) {
		char vlog[600];
		snprintf(vlog, sizeof vlog, "--log-file=%s/valgrind.%%p.log", st->dir);
		char *argv[] = {"valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
		                "--trace-children=yes", "--error-exitcode=99", vlog, exe, "-f", "-c",
		                st->conf, NULL};
		spawn(&st->daemon, argv);
	} else {
		char *argv[] = {exe, "-f", "-c", st->conf, NULL};
		spawn(&st->daemon, argv);
	}
	wait_port(st->fcgi_port, &st->daemon, "rb-aioutliers");
}

static void start_lighttpd(struct svc_stack *st)
{
	char conf[600];
	snprintf(conf, sizeof conf, "%s/lighttpd.conf", st->dir);
	write_file(conf,
	           "server.document-root = \"%s\"\n"
	           "server.bind = \"127.0.0.1\"\n"
	           "server.port = %u\n"
	           "server.errorlog = \"%s/lighttpd.error.log\"\n"
	           "server.modules = ( \"mod_fastcgi\" )\n"
	           "server.max-request-size = 65536\n"
	           "fastcgi.server = ( \"/\" => (( \"host\" => \"127.0.0.1\", \"port\" => %u,\n"
	           "                               \"check-local\" => \"disable\" )) )\n",
	           st->dir, st->web_port, st->dir, st->fcgi_port);
	snprintf(st->webserver.log, sizeof st->webserver.log, "%s/lighttpd.log", st->dir);
	char *argv[] = {"lighttpd", "-D", "-f", conf, NULL};
	spawn(&st->webserver, argv);
	wait_port(st->web_port, &st->webserver, "lighttpd");
}

static void start_apache(struct svc_stack *st)
{
	char conf[600];
	snprintf(conf, sizeof conf, "%s/apache.conf", st->dir);
	const char *mods = "/usr/lib/apache2/modules";
	write_file(conf,
	           "ServerRoot \"%s\"\n"
	           "ServerName 127.0.0.1\n"
	           "Listen 127.0.0.1:%u\n"
	           "PidFile %s/apache.pid\n"
	           "DefaultRuntimeDir %s\n"
	           "Mutex file:%s default\n"
	           "ErrorLog %s/apache.error.log\n"
	           "LogLevel warn\n"
	           "LoadModule mpm_event_module %s/mod_mpm_event.so\n"
	           "LoadModule authz_core_module %s/mod_authz_core.so\n"
	           "LoadModule proxy_module %s/mod_proxy.so\n"
	           "LoadModule proxy_fcgi_module %s/mod_proxy_fcgi.so\n"
	           "User www-data\nGroup www-data\n"
	           "DocumentRoot %s\n"
	           "LimitRequestBody 0\n"
	           "ProxyPass \"/\" \"fcgi://127.0.0.1:%u/\"\n",
	           st->dir, st->web_port, st->dir, st->dir, st->dir, st->dir, mods, mods, mods, mods,
	           st->dir, st->fcgi_port);
	snprintf(st->webserver.log, sizeof st->webserver.log, "%s/apache.log", st->dir);
	char *argv[] = {"/usr/sbin/apache2", "-f", conf, "-DFOREGROUND", NULL};
	spawn(&st->webserver, argv);
	wait_port(st->web_port, &st->webserver, "apache2");
}

/* The running stack, killed at exit when a failed CHECK leaves it up (orphans would keep
 * ctest's output pipe open until its timeout). Each process leads its own group. */
static struct svc_stack *running;

static void kill_running(void)
{
	if (running == NULL)
		return;
	struct svc_proc *procs[] = {&running->webserver, &running->daemon, &running->emulator};
	for (size_t i = 0; i < 3; i++)
		if (procs[i]->pid > 0)
			kill(-procs[i]->pid, SIGKILL);
}

void svc_start(struct svc_stack *st, enum svc_web web, const struct svc_opts *opts)
{
	if (running == NULL)
		atexit(kill_running);
	running = st;
	static const struct svc_opts none;
	if (opts == NULL)
		opts = &none;
	/* shared/ checked before anything is made (tu_shared exits with one line) */
	for (size_t i = 0; i < sizeof shared_models / sizeof shared_models[0]; i++)
		tu_shared(shared_models[i][0]);
	memset(st, 0, sizeof *st);
	snprintf(st->dir, sizeof st->dir, "/tmp/rb-svc-XXXXXX");
	CHECK(mkdtemp(st->dir) != NULL);
	chmod(st->dir, 0755);
	st->web = web;
	st->web_port = svc_free_port();
	st->fcgi_port = svc_free_port();
	st->druid_port = svc_free_port();
	make_models_dir(st);
	if (!opts->no_emulator)
		start_emulator(st, opts->emulator_args);
	start_daemon(st, opts);
	if (web == SVC_LIGHTTPD)
		start_lighttpd(st);
	else
		start_apache(st);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (opts->valgrind)
		request_timeout_ms = 300000;
	/* Ready when a worker answers /health (it warms up oneDNN first). */
	for (int i = 0; i < 600; i++) {
		struct svc_http h;
		svc_get(st, "/health", NULL, &h);
		int ok = h.status == 200;
		svc_http_free(&h);
		if (ok)
			return;
		sleep_ms(500);
	}
	fprintf(stderr, "svc: no worker answered /health within 300 s (logs in %s)\n", st->dir);
	exit(1);
}

void svc_restart_emulator(struct svc_stack *st, const char *emulator_args)
{
	stop_proc(&st->emulator);
	start_emulator(st, emulator_args);
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	char path[1024];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat sb;
		if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			remove_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

void svc_stop(struct svc_stack *st)
{
	running = NULL;
	stop_proc(&st->webserver);
	stop_proc(&st->daemon);
	stop_proc(&st->emulator);
	if (getenv("RB_KEEP_SVC") == NULL)
		remove_tree(st->dir);
	else
		fprintf(stderr, "svc: logs kept in %s\n", st->dir);
	curl_global_cleanup();
}

int svc_signal_daemon(struct svc_stack *st, int sig, int wait_exit, int timeout_ms)
{
	CHECK(kill(st->daemon.pid, sig) == 0);
	if (!wait_exit)
		return 0;
	int rc = wait_pid(st->daemon.pid, timeout_ms);
	if (rc >= 0)
		st->daemon.pid = 0;
	return rc;
}

size_t svc_worker_pids(const struct svc_stack *st, pid_t *pids, size_t cap)
{
	size_t n = 0;
	DIR *d = opendir("/proc");
	CHECK(d != NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < cap) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		char path[64], buf[512];
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t got = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[got] = '\0';
		char *rp = strrchr(buf, ')');
		if (rp == NULL)
			continue;
		char state;
		long ppid;
		if (sscanf(rp + 2, "%c %ld", &state, &ppid) == 2 && ppid == st->daemon.pid &&
		    state != 'Z')
			pids[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

struct sink {
	char *buf;
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;
	char *nb = realloc(s->buf, s->len + n + 1);
	CHECK(nb != NULL);
	s->buf = nb;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

static void perform(CURL *c, struct svc_http *out)
{
	struct sink s = {calloc(1, 1), 0};
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, request_timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	memset(out, 0, sizeof *out);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
		char *ct = NULL;
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
		if (ct != NULL)
			snprintf(out->ctype, sizeof out->ctype, "%s", ct);
	}
	out->body = s.buf;
	out->len = s.len;
}

void svc_post(const struct svc_stack *st, const char *path, const char *ctype, const char *body,
              size_t len, struct svc_http *out)
{
	CURL *c = curl_easy_init();
	CHECK(c != NULL);
	char url[512], hdr[300];
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", st->web_port, path);
	snprintf(hdr, sizeof hdr, "Content-Type: %s",
	         ctype != NULL ? ctype : "application/x-www-form-urlencoded");
	struct curl_slist *h = curl_slist_append(NULL, hdr);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	perform(c, out);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

void svc_get(const struct svc_stack *st, const char *path, const char *method, struct svc_http *out)
{
	CURL *c = curl_easy_init();
	CHECK(c != NULL);
	char url[512];
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", st->web_port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (method != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	perform(c, out);
	curl_easy_cleanup(c);
}

void svc_http_free(struct svc_http *h)
{
	free(h->body);
	h->body = NULL;
}

char *svc_b64(const char *data, size_t len)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(4 * (len / 3 + 1) + 1);
	CHECK(out != NULL);
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)data;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = i + 1 < len ? a[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? a[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
		CHECK(*buf != NULL);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

char *svc_form(const char *name, const char *value, ...)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	append(&buf, &len, &cap, "", 0);
	va_list ap;
	va_start(ap, value);
	while (name != NULL) {
		if (len > 0)
			append(&buf, &len, &cap, "&", 1);
		append(&buf, &len, &cap, name, strlen(name));
		append(&buf, &len, &cap, "=", 1);
		char *b = svc_b64(value, strlen(value));
		for (char *p = b; *p != '\0'; p++) {
			if (*p == '+')
				append(&buf, &len, &cap, "%2B", 3);
			else if (*p == '/')
				append(&buf, &len, &cap, "%2F", 3);
			else if (*p == '=')
				append(&buf, &len, &cap, "%3D", 3);
			else
				append(&buf, &len, &cap, p, 1);
		}
		free(b);
		name = va_arg(ap, const char *);
		if (name != NULL)
			value = va_arg(ap, const char *);
	}
	va_end(ap);
	return buf;
}

char *svc_emulator_last_query(const struct svc_stack *st)
{
	CURL *c = curl_easy_init();
	CHECK(c != NULL);
	char url[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/__last_query", st->druid_port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	struct svc_http h;
	perform(c, &h);
	curl_easy_cleanup(c);
	CHECK(h.status == 200);
	return h.body;
}
