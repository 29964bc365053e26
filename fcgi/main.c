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
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rb/fcgi/app.h"
#include "rb/fcgi/cgi.h"
#include "rb/fcgi/config.h"
#include "rb/druid/druid_client.h"
#include "rb/fcgi/log.h"
#include "rb/fcgi/metrics.h"
#include "rb/model/infer.h"
#include "rb/fcgi/pool.h"
#include "rb/fcgi/registry.h"
#include "rb/fcgi/s3sync.h"
#include "rb/fcgi/worker.h"

#ifndef RB_DEFAULT_CONFIG
#define RB_DEFAULT_CONFIG "/etc/rb-aioutliers/rb-aioutliers.conf"
#endif

#define LISTEN_BACKLOG 1024

/* Who the daemon runs as once it has opened what needs root (plan_identity). */
struct identity {
	int drop;          /* 1: switch to uid/gid */
	uid_t uid;
	gid_t gid;
	gid_t socket_gid;  /* group of a unix: socket; (gid_t)-1 = unchanged */
};

/* The master's state; workers get a copy-on-write view of it at fork. */
struct daemon {
	const char *config_path;
	char config_abs[PATH_MAX]; /* config_path made absolute (it chdirs to / when detaching) */
	struct rb_config cfg;
	struct registry *reg;
	struct identity id;
	int listen_fd;
	int log_fd;          /* log_file's descriptor; -1 when none */
	char unix_path[108]; /* socket file to remove at exit; "" when none */
	char pid_path[1024]; /* pid file to remove at exit; "" when none */
	struct metrics_board *metrics; /* shared with every worker (GET /metrics); may be NULL */
	pid_t sync_pid;      /* the model-sync helper (models_url); 0 when none */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: rb-aioutliers [-c FILE] [-f] [-t] [-h]\n"
	             "  -c FILE  configuration file (default: $RB_AIOUTLIERS_CONF, else\n"
	             "           " RB_DEFAULT_CONFIG ")\n"
	             "  -f       stay in the foreground (always the case when spawned with fd 0);\n"
	             "           messages go where log_file / log_target say\n"
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
	if (lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		/* A socket somebody still accepts on belongs to a running daemon: taking it over
		 * would leave that one running unreachable (and remove our socket when it stops).
		 * Only a dead one (connection refused) is removed. */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int alive = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
		if (probe >= 0)
			close(probe);
		if (alive) {
			log_error("unix:%s is in use: another process accepts connections on it "
			          "(a second daemon?); stop it first or choose another listen path",
			          l->path);
			close(fd);
			return -1;
		}
		unlink(l->path); /* a socket left by an earlier run */
	}
	/* Created with no permission at all; mode and owners are set before anybody can
	 * connect (listen comes last). */
	mode_t old_mask = umask(0777);
	int bound = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old_mask);
	uid_t owner = d->id.drop ? d->id.uid : (uid_t)-1;
	gid_t group = d->id.socket_gid != (gid_t)-1 ? d->id.socket_gid
	              : d->id.drop                 ? d->id.gid
	                                           : (gid_t)-1;
	if (bound != 0 || ((owner != (uid_t)-1 || group != (gid_t)-1) &&
	                   chown(l->path, owner, group) != 0) ||
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

/* 1 when fd 0 is a listening socket (a FastCGI parent handed it over). */
static int fd0_listens(void)
{
	int accepting = 0;
	socklen_t len = sizeof accepting;
	return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 && accepting;
}

/* fd 0 as handed over by spawn-fcgi, lighttpd's bin-path or mod_fcgid. */
static int listen_inherited(void)
{
	int accepting = 0;
	socklen_t len = sizeof accepting;
	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting) {
		log_error("no 'listen' in the configuration and fd 0 is not a listening socket "
		          "(start me from spawn-fcgi or a web server, or set listen; as a CGI "
		          "program the web server sets GATEWAY_INTERFACE)");
		return -1;
	}
	return 0;
}

static int open_listener(struct daemon *d)
{
	if (d->cfg.listen.kind != RB_LISTEN_INHERIT && fd0_listens()) {
		/* spawned by a FastCGI parent (mod_fcgid, spawn-fcgi, lighttpd): its socket wins */
		log_warn("a listening socket on fd 0 was handed over: using it; 'listen' is ignored");
		d->cfg.listen.kind = RB_LISTEN_INHERIT;
	}
	switch (d->cfg.listen.kind) {
	case RB_LISTEN_UNIX: return listen_unix(d);
	case RB_LISTEN_TCP: return listen_tcp(&d->cfg.listen);
	case RB_LISTEN_INHERIT:
	default: return listen_inherited();
	}
}

/*
 * oneDNN's OpenMP pool: one thread per process unless the operator set
 * OMP_NUM_THREADS. libgomp reads the variable once, when it is loaded (before
 * main), so setting it here would be too late: the thread count of this
 * process's parallel regions is set through omp_set_num_threads, looked up at
 * run time (libgomp comes with libdnnl; without OpenMP there is nothing to
 * set). Unset, every worker's inference ran on every core, and libgomp's
 * idle threads spun: a CGI request cost ~220 ms of CPU instead of ~45.
 */
static void one_openmp_thread(void)
{
	if (getenv("OMP_NUM_THREADS") != NULL)
		return;
	infer_one_openmp_thread();
	setenv("OMP_NUM_THREADS", "1", 0); /* for programs this one starts */
}

static int worker_main(void *ctx, const struct pool_worker_env *env)
{
	struct daemon *d = ctx;
	one_openmp_thread();
	struct rb_err err = {0};
	struct app *app = NULL;
	if (app_new(&app, &d->cfg, d->reg, env->board, &err) != RB_OK) {
		log_error("worker slot %zu cannot start: %s", env->slot, err.msg);
		return 1;
	}
	app_set_metrics(app, d->metrics);
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

static int load_config(const char *path, struct rb_config *cfg)
{
	struct rb_err err = {0};
	config_defaults(cfg);
	if (config_load(path, cfg, &err) != RB_OK) {
		log_error("%s", err.msg);
		return -1;
	}
	return 0;
}

static int load_models(const char *path, const struct rb_config *cfg, struct registry **reg)
{
	struct rb_err err = {0};
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

/*
 * With inference = auto, measures which path runs each chunk size fastest on this
 * CPU, per model (infer_plan_measure: a probe child, so the master creates no
 * oneDNN object), before the workers fork and inherit it; logs each plan. A
 * failed probe leaves a vector-everywhere plan (logged); -1 only for no memory
 * or a bad RB_INFER_PLAN.
 */
static int plan_models(const struct rb_config *cfg, struct registry *reg)
{
	if (cfg->inference != INFER_AUTO)
		return 0;
	for (size_t i = 0; i < reg->n; i++) {
		struct rb_err err = {0};
		if (infer_plan_measure(reg->entries[i].model, &err) != RB_OK) {
			log_error("model %s: %s", reg->entries[i].name, err.msg);
			return -1;
		}
		char line[512];
		infer_plan_describe(reg->entries[i].model, line, sizeof line);
		log_info("model %s: inference plan %s", reg->entries[i].name, line);
	}
	return 0;
}

/*
 * Decides who the daemon serves as (see the user, group, allow_root and
 * listen_group keys); -1 with a log line when it must not start.
 */
static int plan_identity(const struct rb_config *cfg, struct identity *id)
{
	memset(id, 0, sizeof *id);
	id->socket_gid = (gid_t)-1;
	if (cfg->listen_group[0] != '\0') {
		struct group *g = getgrnam(cfg->listen_group);
		if (g == NULL) {
			log_error("listen_group %s: no such group", cfg->listen_group);
			return -1;
		}
		id->socket_gid = g->gr_gid;
	}
	uid_t euid = geteuid();
	if (cfg->user[0] == '\0') {
		if (euid == 0 && !cfg->allow_root) {
			log_error("refusing to serve as root: set user (the package's is rb-aioutliers), "
			          "or allow_root = yes");
			return -1;
		}
		if (cfg->group[0] != '\0') {
			log_error("group %s is set without user", cfg->group);
			return -1;
		}
		return 0;
	}
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL) {
		log_error("user %s: no such user", cfg->user);
		return -1;
	}
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	if (cfg->group[0] != '\0') {
		struct group *g = getgrnam(cfg->group);
		if (g == NULL) {
			log_error("group %s: no such group", cfg->group);
			return -1;
		}
		id->gid = g->gr_gid;
	}
	if (euid == 0) {
		id->drop = id->uid != 0 || id->gid != 0;
		return 0;
	}
	if (euid != id->uid || getegid() != id->gid) {
		log_error("user = %s%s%s: started as uid %ld gid %ld, which is neither that nor root",
		          cfg->user, cfg->group[0] != '\0' ? ", group = " : "", cfg->group, (long)euid,
		          (long)getegid());
		return -1;
	}
	return 0;
}

/* Switches to id's user and group for good (checked); -1 with a log line on failure. */
static int drop_identity(const struct identity *id)
{
	if (!id->drop)
		return 0;
	if (setgroups(1, &id->gid) != 0 || setgid(id->gid) != 0 || setuid(id->uid) != 0) {
		log_error("cannot switch to uid %ld gid %ld: %s", (long)id->uid, (long)id->gid,
		          strerror(errno));
		return -1;
	}
	gid_t groups[2];
	int ng = getgroups(2, groups);
	if (getuid() != id->uid || geteuid() != id->uid || getgid() != id->gid ||
	    getegid() != id->gid || ng != 1 || groups[0] != id->gid ||
	    (id->uid != 0 && setuid(0) == 0)) {
		log_error("switching to uid %ld gid %ld did not hold", (long)id->uid, (long)id->gid);
		return -1;
	}
	log_info("running as uid %ld gid %ld", (long)id->uid, (long)id->gid);
	return 0;
}

/* Opens cfg's log_file for appending (-1 with a log line on failure; -2 when none). */
static int open_log_file(const struct rb_config *cfg)
{
	if (cfg->log_file[0] == '\0')
		return -2;
	int fd = open(cfg->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		log_error("cannot open log_file %s: %s", cfg->log_file, strerror(errno));
	return fd;
}

/* Writes the master's pid to cfg's pid_file (when set); -1 with a log line on failure. */
static int write_pid_file(struct daemon *d)
{
	if (d->cfg.pid_file[0] == '\0')
		return 0;
	int fd = open(d->cfg.pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	char text[32];
	int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
	if (fd < 0 || write(fd, text, (size_t)n) != n || close(fd) != 0) {
		log_error("cannot write pid_file %s: %s", d->cfg.pid_file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(d->pid_path, sizeof d->pid_path, "%s", d->cfg.pid_file);
	return 0;
}

/* Keys that only a restart applies; a change is logged and the running value kept. */
static void keep_restart_only(struct rb_config *cfg, const struct rb_config *running)
{
#define KEEP(field, name)                                                                 \
	do {                                                                              \
		if (memcmp(&cfg->field, &running->field, sizeof cfg->field) != 0)         \
			log_warn("'%s' changed: it takes effect only after a restart", name); \
		memcpy(&cfg->field, &running->field, sizeof cfg->field);                  \
	} while (0)
	KEEP(listen, "listen");
	KEEP(listen_mode, "listen_mode");
	KEEP(listen_group, "listen_group");
	KEEP(user, "user");
	KEEP(group, "group");
	KEEP(allow_root, "allow_root");
	KEEP(pid_file, "pid_file");
	KEEP(log_file, "log_file");
	KEEP(log_target, "log_target");
#undef KEEP
}

static int reload(void *ctx, struct pool_opts *opts)
{
	struct daemon *d = ctx;
	struct rb_config cfg;
	struct registry *reg = NULL;
	if (load_config(d->config_path, &cfg) != 0 || load_models(d->config_path, &cfg, &reg) != 0)
		return -1;
	if (plan_models(&cfg, reg) != 0) {
		registry_free(reg);
		return -1;
	}
	keep_restart_only(&cfg, &d->cfg);
	/* log rotation: the same log_file opened again (as the daemon's user by now) */
	if (d->log_fd >= 0) {
		int fd = open_log_file(&cfg);
		if (fd >= 0) {
			dup2(fd, d->log_fd);
			close(fd);
		} else {
			log_warn("log_file %s not reopened: still writing to the file opened before",
			         cfg.log_file);
		}
	}
	registry_free(d->reg);
	d->reg = reg;
	d->cfg = cfg;
	opts->workers = cfg.workers;
	opts->request_timeout_ms = cfg.request_timeout_ms;
	opts->stop_accept_ms = cfg.stop_accept_ms;
	log_registry("loaded", reg);
	s3sync_restart(&d->sync_pid, &d->cfg, d->listen_fd, d->metrics);
	return 0;
}

/* The JSON error a CGI invocation answers when it cannot serve at all. */
static int cgi_fail(void)
{
	static const char body[] = "{\"status\": \"error\", \"msg\": \"the service cannot start: "
	                           "see the web server's error log\"}";
	printf("Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n"
	       "Content-Length: %zu\r\nCache-Control: no-store\r\n\r\n%s",
	       sizeof body - 1, body);
	fflush(stdout);
	return 1;
}

/*
 * A plain CGI invocation (GATEWAY_INTERFACE set, no listening socket on fd 0):
 * the configuration from RB_AIOUTLIERS_CONF or the default path (a CGI program
 * gets no options; Apache may pass query words as arguments, which are
 * ignored), the models, one request (fcgi/cgi.c), exit.
 */
static int cgi_main(void)
{
	struct daemon d;
	memset(&d, 0, sizeof d);
	const char *env = getenv("RB_AIOUTLIERS_CONF");
	d.config_path = env != NULL && env[0] != '\0' ? env : RB_DEFAULT_CONFIG;
	one_openmp_thread();
	log_init("rb-aioutliers", LOG_LVL_INFO, LOG_TO_STDERR);
	if (load_config(d.config_path, &d.cfg) != 0)
		return cgi_fail();
	log_init("rb-aioutliers", d.cfg.log_level,
	         d.cfg.log_file[0] != '\0' ? LOG_TO_STDERR : d.cfg.log_target);
	/* A CGI program runs as the web server's user: user/group apply only when it is root. */
	if (geteuid() != 0)
		d.cfg.user[0] = d.cfg.group[0] = '\0';
	struct rb_err err = {0};
	struct app *app = NULL;
	int rc = 1;
	if (plan_identity(&d.cfg, &d.id) == 0 && drop_identity(&d.id) == 0 &&
	    druid_global_init(&err) == RB_OK) {
		if (load_models(d.config_path, &d.cfg, &d.reg) == 0 &&
		    app_new(&app, &d.cfg, d.reg, NULL, &err) == RB_OK)
			rc = cgi_serve(app, &d.cfg);
		else if (err.msg[0] != '\0')
			log_error("%s", err.msg);
		app_free(app);
		registry_free(d.reg);
		druid_global_cleanup();
		if (app == NULL)
			return cgi_fail();
		return rc;
	}
	if (err.msg[0] != '\0')
		log_error("%s", err.msg);
	return cgi_fail();
}

int main(int argc, char **argv)
{
	const char *gateway = getenv("GATEWAY_INTERFACE");
	if (gateway != NULL && strncmp(gateway, "CGI/", 4) == 0 && !fd0_listens())
		return cgi_main();
	struct daemon d;
	memset(&d, 0, sizeof d);
	const char *env_conf = getenv("RB_AIOUTLIERS_CONF"); /* mod_fcgid's FcgidInitialEnv */
	d.config_path = env_conf != NULL && env_conf[0] != '\0' ? env_conf : RB_DEFAULT_CONFIG;
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
	d.log_fd = -1;
	if (realpath(d.config_path, d.config_abs) != NULL)
		d.config_path = d.config_abs; /* SIGHUP reads it again after chdir("/") */
	if (load_config(d.config_path, &d.cfg) != 0)
		return 1;
	log_init("rb-aioutliers", d.cfg.log_level, d.cfg.log_target);
	if (test_only) {
		if (load_models(d.config_path, &d.cfg, &d.reg) != 0)
			return 1;
		config_dump(&d.cfg, stdout);
		for (size_t i = 0; i < d.reg->n; i++)
			printf("# model %s from %s%s\n", d.reg->entries[i].name, d.reg->entries[i].dir,
			       d.reg->entries[i].druid != NULL ? "" : " (no Druid template: data only)");
		printf("# configuration %s is good: %zu models\n", d.config_path, d.reg->n);
		registry_free(d.reg);
		return 0;
	}
	/* What needs root happens first (socket, log, pid file); then the switch to the
	 * service's user, and only then models and workers. */
	if (plan_identity(&d.cfg, &d.id) != 0)
		return 1;
	struct rb_err err = {0};
	if (druid_global_init(&err) != RB_OK) {
		log_error("%s", err.msg);
		return 1;
	}
	d.listen_fd = open_listener(&d);
	if (d.listen_fd < 0)
		return 1;
	d.log_fd = open_log_file(&d.cfg);
	if (d.log_fd == -1)
		return 1;
	if (d.log_fd >= 0)
		log_set_fd(d.log_fd);
	if (!foreground && d.cfg.listen.kind != RB_LISTEN_INHERIT) {
		int to_syslog = d.log_fd < 0 && d.cfg.log_target == LOG_TO_STDERR;
		if (to_syslog)
			log_info("detaching: messages go to syslog from now on (log_file keeps a file)");
		if (daemon(0, 0) != 0) {
			log_error("cannot detach: %s", strerror(errno));
			return 1;
		}
		if (to_syslog)
			log_init("rb-aioutliers", d.cfg.log_level, LOG_TO_SYSLOG);
	}
	if (write_pid_file(&d) != 0 || drop_identity(&d.id) != 0 ||
	    load_models(d.config_path, &d.cfg, &d.reg) != 0 || plan_models(&d.cfg, d.reg) != 0) {
		if (d.pid_path[0] != '\0')
			unlink(d.pid_path);
		if (d.unix_path[0] != '\0')
			unlink(d.unix_path);
		return 1;
	}
	log_registry("serving", d.reg);
	char druid_shown[1024];
	config_redact_url(d.cfg.druid_url, strlen(d.cfg.druid_url), druid_shown, sizeof druid_shown);
	log_info("%u workers, Druid at %s", d.cfg.workers, druid_shown);
	struct pool_opts popts;
	pool_opts_defaults(&popts);
	popts.workers = d.cfg.workers;
	popts.request_timeout_ms = d.cfg.request_timeout_ms;
	popts.stop_accept_ms = d.cfg.stop_accept_ms;
	if (d.unix_path[0] != '\0')
		popts.stop_unlink_path = d.unix_path; /* refused once stopping; the queue drains */
	d.metrics = metrics_board_new();
	if (d.metrics == NULL)
		log_warn("no shared memory for the metrics: GET /metrics counts nothing");
	s3sync_restart(&d.sync_pid, &d.cfg, d.listen_fd, d.metrics);
	struct pool_callbacks cb = {&d, worker_main, reload};
	int rc = pool_run(&popts, &cb);
	s3sync_stop(&d.sync_pid);
	metrics_board_free(d.metrics);
	if (d.unix_path[0] != '\0' && popts.stop_unlink_path != NULL)
		unlink(d.unix_path); /* not removed at a stop (the pool could not start) */
	if (d.pid_path[0] != '\0' && unlink(d.pid_path) != 0)
		log_warn("cannot remove pid_file %s: %s", d.pid_path, strerror(errno));
	if (d.listen_fd > 0)
		close(d.listen_fd);
	registry_free(d.reg);
	druid_global_cleanup();
	return rc;
}
