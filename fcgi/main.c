/*
 * rb-aioutliers: the daemon. The master reads the config, loads the models,
 * opens (or inherits on fd 0) the FastCGI listen socket and runs the worker
 * pool; each worker builds its oneDNN runners and curl handle after fork and
 * serves requests. See docs/man/rb-aioutliers.8.
 *
 * Exit codes: 0 stopped cleanly or -t found the config good; 1 runtime or
 * configuration error; 2 usage.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rb/fcgi/app.h"
#include "rb/fcgi/config.h"
#include "rb/druid/druid_client.h"
#include "rb/fcgi/log.h"
#include "rb/fcgi/pool.h"
#include "rb/fcgi/registry.h"
#include "rb/fcgi/worker.h"

#ifndef RB_DEFAULT_CONFIG
#define RB_DEFAULT_CONFIG "/etc/rb-aioutliers/rb-aioutliers.conf"
#endif

#define LISTEN_BACKLOG 1024

/* The master's state; workers get a copy-on-write view of it at fork. */
struct daemon {
	const char *config_path;
	struct rb_config cfg;
	struct registry *reg;
	int listen_fd;
	char unix_path[108]; /* socket file to remove at exit; "" when none */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: rb-aioutliers [-c FILE] [-f] [-t] [-h]\n"
	             "  -c FILE  configuration file (default " RB_DEFAULT_CONFIG ")\n"
	             "  -f       stay in the foreground (always the case when spawned with fd 0)\n"
	             "  -t       check the configuration and models, then exit\n"
	             "  -h       this help\n");
}

static int listen_unix(struct daemon *d)
{
	const struct rb_listen *l = &d->cfg.listen;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", l->path);
	struct stat st;
	if (lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(l->path); /* a socket left by an earlier run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    chmod(l->path, (mode_t)d->cfg.listen_mode) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		log_error("cannot listen on unix:%s: %s", l->path, strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(d->unix_path, sizeof d->unix_path, "%s", l->path);
	return fd;
}

static int listen_tcp(const struct rb_listen *l)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	char port[16];
	snprintf(port, sizeof port, "%u", l->port);
	int gai = getaddrinfo(l->host, port, &hints, &res);
	if (gai != 0) {
		log_error("cannot resolve listen address %s: %s", l->host, gai_strerror(gai));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
			break;
		log_error("cannot listen on %s:%u: %s", l->host, l->port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* fd 0 as handed over by spawn-fcgi, lighttpd's bin-path or mod_fcgid. */
static int listen_inherited(void)
{
	int accepting = 0;
	socklen_t len = sizeof accepting;
	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting) {
		log_error("no 'listen' in the configuration and fd 0 is not a listening socket "
		          "(start me from spawn-fcgi or a web server, or set listen)");
		return -1;
	}
	return 0;
}

static int open_listener(struct daemon *d)
{
	switch (d->cfg.listen.kind) {
	case RB_LISTEN_UNIX: return listen_unix(d);
	case RB_LISTEN_TCP: return listen_tcp(&d->cfg.listen);
	case RB_LISTEN_INHERIT:
	default: return listen_inherited();
	}
}

static int worker_main(void *ctx, const struct pool_worker_env *env)
{
	struct daemon *d = ctx;
	/* oneDNN's OpenMP pool: one thread per worker unless the operator set it (NOTES). */
	setenv("OMP_NUM_THREADS", "1", 0);
	struct rb_err err = {0};
	struct app *app = NULL;
	if (app_new(&app, &d->cfg, d->reg, env->board, &err) != RB_OK) {
		log_error("worker slot %zu cannot start: %s", env->slot, err.msg);
		return 1;
	}
	log_debug("worker ready (slot %zu, generation %u, %zu models)", env->slot, env->generation,
	          d->reg->n);
	int rc = worker_serve(d->listen_fd, app, &d->cfg, env);
	app_free(app);
	return rc;
}

/* One log line: how many models from which directory. */
static void log_registry(const char *verb, const struct registry *reg)
{
	if (reg->trained_dir[0] != '\0')
		log_info("%s %zu models: %zu from %s, %zu from %s", verb, reg->n, reg->n_trained,
		         reg->trained_dir, reg->n - reg->n_trained, reg->models_dir);
	else
		log_info("%s %zu models from %s", verb, reg->n, reg->models_dir);
}

static int load_state(const char *path, struct rb_config *cfg, struct registry **reg)
{
	struct rb_err err = {0};
	config_defaults(cfg);
	if (config_load(path, cfg, &err) != RB_OK) {
		log_error("%s", err.msg);
		return -1;
	}
	if (registry_load(reg, cfg->models_dir, cfg->trained_models_dir, &err) != RB_OK) {
		log_error("%s", err.msg);
		return -1;
	}
	if (cfg->default_model[0] != '\0' && registry_find(*reg, cfg->default_model) == NULL) {
		log_error("%s: default_model %s is in neither %s nor %s", path, cfg->default_model,
		          cfg->trained_models_dir[0] != '\0' ? cfg->trained_models_dir : "(none)",
		          cfg->models_dir);
		registry_free(*reg);
		*reg = NULL;
		return -1;
	}
	return 0;
}

static int reload(void *ctx, struct pool_opts *opts)
{
	struct daemon *d = ctx;
	struct rb_config cfg;
	struct registry *reg = NULL;
	if (load_state(d->config_path, &cfg, &reg) != 0)
		return -1;
	if (memcmp(&cfg.listen, &d->cfg.listen, sizeof cfg.listen) != 0)
		log_warn("'listen' changed: it takes effect only after a restart");
	cfg.listen = d->cfg.listen;
	registry_free(d->reg);
	d->reg = reg;
	d->cfg = cfg;
	opts->workers = cfg.workers;
	opts->request_timeout_ms = cfg.request_timeout_ms;
	log_registry("loaded", reg);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d;
	memset(&d, 0, sizeof d);
	d.config_path = RB_DEFAULT_CONFIG;
	int foreground = 0, test_only = 0, opt;
	while ((opt = getopt(argc, argv, "c:fth")) != -1) {
		switch (opt) {
		case 'c': d.config_path = optarg; break;
		case 'f': foreground = 1; break;
		case 't': test_only = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init("rb-aioutliers", LOG_LVL_INFO, LOG_TO_STDERR);
	if (load_state(d.config_path, &d.cfg, &d.reg) != 0)
		return 1;
	log_init("rb-aioutliers", d.cfg.log_level, d.cfg.log_target);
	if (test_only) {
		config_dump(&d.cfg, stdout);
		for (size_t i = 0; i < d.reg->n; i++)
			printf("# model %s from %s%s\n", d.reg->entries[i].name, d.reg->entries[i].dir,
			       d.reg->entries[i].druid != NULL ? "" : " (no Druid template: data only)");
		printf("# configuration %s is good: %zu models\n", d.config_path, d.reg->n);
		registry_free(d.reg);
		return 0;
	}
	struct rb_err err = {0};
	if (druid_global_init(&err) != RB_OK) {
		log_error("%s", err.msg);
		registry_free(d.reg);
		return 1;
	}
	d.listen_fd = open_listener(&d);
	if (d.listen_fd < 0) {
		registry_free(d.reg);
		return 1;
	}
	if (!foreground && d.cfg.listen.kind != RB_LISTEN_INHERIT) {
		if (daemon(0, 0) != 0) {
			log_error("cannot detach: %s", strerror(errno));
			return 1;
		}
	}
	log_registry("serving", d.reg);
	char druid_shown[1024];
	config_redact_url(d.cfg.druid_url, strlen(d.cfg.druid_url), druid_shown, sizeof druid_shown);
	log_info("%u workers, Druid at %s", d.cfg.workers, druid_shown);
	struct pool_opts popts;
	pool_opts_defaults(&popts);
	popts.workers = d.cfg.workers;
	popts.request_timeout_ms = d.cfg.request_timeout_ms;
	struct pool_callbacks cb = {&d, worker_main, reload};
	int rc = pool_run(&popts, &cb);
	if (d.unix_path[0] != '\0')
		unlink(d.unix_path);
	if (d.listen_fd > 0)
		close(d.listen_fd);
	registry_free(d.reg);
	druid_global_cleanup();
	return rc;
}
