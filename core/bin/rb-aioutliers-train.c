/*
 * rb-aioutliers-train: fits the LSTM autoencoder (the old traffic model's
 * architecture, for the data's metric columns) to Druid timeseries answers
 * (fetched with --query, or saved files with --data) and writes NAME.keras,
 * NAME.ini (+ NAME.druid.json) into the writable models directory, where the
 * service prefers it to a shipped model of the same name (SIGHUP reloads).
 * Training runs on oneDNN (core/train/train_dnnl.c, --path dnnl, the default)
 * or the plain-C reference path (core/train/train_ref.c, --path ref), each
 * deterministic for a seed and thread count. A tool, not the service: it may exit() and print
 * diagnostics. Of the daemon's configuration (-c) it reads only the Druid
 * keys and trained_models_dir (its own small reader: core/ never sees fcgi/).
 * Exit 0 done, 1 a failure (the message says why; no model file changed),
 * 2 a usage error.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rb/base/error.h"
#include "rb/druid/druid_client.h"
#include "rb/druid/druid_query.h"
#include "rb/input/civil.h"
#include "rb/input/period.h"
#include "rb/model/model.h"
#include "rb/store/s3.h"
#include "rb/train/train_arch.h"
#include "rb/train/train_data.h"
#include "rb/train/train_net.h"
#include "rb/train/train_query.h"
#include "rb/train/train_write.h"
#include "rb/train/trainer.h"

#ifndef RB_DEFAULT_TRAINED_MODELS_DIR
#define RB_DEFAULT_TRAINED_MODELS_DIR "/var/lib/rb-aioutliers/models"
#endif
#ifndef RB_VERSION
#error "RB_VERSION is the CMake project's VERSION, passed by CMakeLists.txt"
#endif

/* The old trainer's eight granularities (its train_job.py), the default of --granularities. */
#define DEFAULT_GRANULARITIES "pt1m,pt2m,pt5m,pt15m,pt30m,pt1h,pt2h,pt8h"
/* Without --from: this long before --to (the old trainer took one day: one weekday only). */
#define DEFAULT_SPAN_MS (7 * 86400000LL)
#define CONFIG_MAX (1u << 20)
#define QUERY_FILE_MAX (1u << 20)
#define MAX_QUERY_FILES 64
#define OLD_LR 0.006573366466909647 /* the old model's AdamW learning rate */
#define OLD_WEIGHT_DECAY 0.004
#define DRUID_TEMPLATE_MAX (1u << 20)
#define MAX_DATA_FILES 4096

struct args {
	const char *name;
	const char *models_dir; /* NULL: -c's trained_models_dir, else the built-in default */
	const char *init;
	const char *druid_template;
	const char *data[MAX_DATA_FILES];
	size_t n_data;
	const char *query[MAX_QUERY_FILES];
	size_t n_query;
	const char *from, *to, *granularities, *config;
	int gran_set;
	size_t epochs, batch, patience, threads;
	int epochs_set, patience_set; /* given on the command line (the little-data rule keeps them) */
	double lr, validation;
	uint64_t seed;
	int dry_run;
	int upload;   /* --upload: put the three files to -c's models_url */
	enum trainer_path path;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: rb-aioutliers-train --name NAME [--models-dir DIR] [-c CONFIG]\n"
	        "         (--query FILE... [--from INSTANT] [--to INSTANT] [--granularities LIST]\n"
	        "          | --data FILE...)\n"
	        "         [--init NAME] [--epochs N] [--batch N] [--lr X] [--seed N]\n"
	        "         [--validation SHARE] [--patience N] [--druid-template FILE] [--threads 1]\n"
	        "         [--upload] [--dry-run] | --version\n"
	        "  --name NAME          the model: NAME.keras, NAME.ini (+ NAME.druid.json)\n"
	        "  --models-dir DIR     default %s, or -c's trained_models_dir\n"
	        "  -c CONFIG            the daemon's configuration: druid_url, druid_*_timeout_ms,\n"
	        "                       druid_max_response_bytes, trained_models_dir\n"
	        "  --query FILE...      Druid timeseries queries: one call per query and\n"
	        "                       granularity; their aggregations and post-aggregations\n"
	        "                       are the model's columns and NAME.druid.json\n"
	        "  --from, --to INSTANT the interval (UTC unless a zone is given); default the\n"
	        "                       7 days before the current minute\n"
	        "  --granularities L    ISO-8601 periods, default " DEFAULT_GRANULARITIES "\n"
	        "  --data FILE...       saved Druid timeseries result files (JSON arrays)\n"
	        "  --init NAME          fine-tune NAME (in the models dir) instead of starting anew\n"
	        "  --epochs N           most epochs, default 100 (under 112 training windows,\n"
	        "                       a new model's default and --patience's are scaled up)\n"
	        "  --batch N            windows per step, default 32\n"
	        "  --path dnnl|ref      forward and backward: oneDNN float32 (dnnl, default) or the\n"
	        "                       plain-C double-precision oracle (ref, one thread)\n"
	        "  --lr X               AdamW learning rate, default 0.00657 (the old model's)\n"
	        "  --seed N             initial weights, window order, noise; default 1\n"
	        "  --validation SHARE   last share of each file for validation, default 0.1\n"
	        "  --patience N         stop after N epochs without a better validation loss,\n"
	        "                       default 10 (0: never)\n"
	        "  --druid-template F   copied to NAME.druid.json (the model's Druid template)\n"
	        "  --threads N          oneDNN's threads, default 1 (same seed and N, same bytes)\n"
	        "  --upload             then put NAME.keras, .druid.json and .ini (last) to -c's\n"
	        "                       models_url (models_s3_endpoint, _region, _credentials),\n"
	        "                       where the daemons' model sync takes them\n"
	        "  --dry-run            say what would be done and exit\n",
	        RB_DEFAULT_TRAINED_MODELS_DIR);
}

static void die_usage(const char *what, const char *arg)
{
	fprintf(stderr, "rb-aioutliers-train: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
	usage(stderr);
	exit(2);
}

static size_t parse_size(const char *v, size_t lo, size_t hi, const char *opt)
{
	char *end = NULL;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || x < lo || x > hi) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s must be a whole number in [%zu, %zu]", opt, lo, hi);
		die_usage(msg, v);
	}
	return (size_t)x;
}

static double parse_real(const char *v, double lo, double hi, const char *opt)
{
	char *end = NULL;
	errno = 0;
	double x = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !isfinite(x) || x <= lo || x > hi) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s must be a number in (%g, %g]", opt, lo, hi);
		die_usage(msg, v);
	}
	return x;
}

static void parse_args(int argc, char **argv, struct args *a)
{
	*a = (struct args){.epochs = 100, .batch = 32, .patience = 10, .threads = 1, .lr = OLD_LR,
	                   .validation = 0.1, .seed = 1, .granularities = DEFAULT_GRANULARITIES,
	                   .path = TRAINER_PATH_DNNL};
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(o, "--version") == 0) {
			printf("rb-aioutliers-train %s\n", RB_VERSION);
			exit(0);
		}
		if (strcmp(o, "--dry-run") == 0) {
			a->dry_run = 1;
			continue;
		}
		if (strcmp(o, "--upload") == 0) {
			a->upload = 1;
			continue;
		}
		if (strcmp(o, "--data") == 0) {
			while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0 &&
			       strcmp(argv[i + 1], "-c") != 0) {
				if (a->n_data == MAX_DATA_FILES)
					die_usage("too many data files", argv[i + 1]);
				a->data[a->n_data++] = argv[++i];
			}
			continue;
		}
		if (strcmp(o, "--query") == 0) {
			while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0 &&
			       strcmp(argv[i + 1], "-c") != 0) {
				if (a->n_query == MAX_QUERY_FILES)
					die_usage("too many query files", argv[i + 1]);
				a->query[a->n_query++] = argv[++i];
			}
			continue;
		}
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			die_usage("option needs a value", o);
		if (strcmp(o, "--name") == 0)
			a->name = v;
		else if (strcmp(o, "--models-dir") == 0)
			a->models_dir = v;
		else if (strcmp(o, "--init") == 0)
			a->init = v;
		else if (strcmp(o, "--druid-template") == 0)
			a->druid_template = v;
		else if (strcmp(o, "--epochs") == 0) {
			a->epochs = parse_size(v, 1, 1000000, o);
			a->epochs_set = 1;
		}
		else if (strcmp(o, "--batch") == 0)
			a->batch = parse_size(v, 1, 4096, o);
		else if (strcmp(o, "--path") == 0) {
			if (trainer_path_parse(v, strlen(v), &a->path) != 0)
				die_usage("--path must be ref or dnnl", v);
		}
		else if (strcmp(o, "--patience") == 0) {
			a->patience = parse_size(v, 0, 1000000, o);
			a->patience_set = 1;
		}
		else if (strcmp(o, "--threads") == 0)
			a->threads = parse_size(v, 1, 256, o);
		else if (strcmp(o, "--seed") == 0)
			a->seed = (uint64_t)parse_size(v, 0, SIZE_MAX, o);
		else if (strcmp(o, "--lr") == 0)
			a->lr = parse_real(v, 0.0, 1.0, o);
		else if (strcmp(o, "--validation") == 0)
			a->validation = parse_real(v, 0.0, 0.5, o);
		else if (strcmp(o, "--from") == 0)
			a->from = v;
		else if (strcmp(o, "--to") == 0)
			a->to = v;
		else if (strcmp(o, "--granularities") == 0) {
			a->granularities = v;
			a->gran_set = 1;
		}
		else if (strcmp(o, "-c") == 0)
			a->config = v;
		else
			die_usage("unknown option", o);
		i++;
	}
	if (a->name == NULL)
		die_usage("--name is required", NULL);
	if (!model_name_valid(a->name) || strstr(a->name, ".prev") != NULL)
		die_usage("--name must be a plain model name ([A-Za-z0-9._-], up to 63 characters, no "
		          "leading dot, no \".prev\"; never a path)", a->name);
	if (a->init != NULL && !model_name_valid(a->init))
		die_usage("--init must be a plain model name", a->init);
	if ((a->n_data == 0) == (a->n_query == 0))
		die_usage("one of --query FILE... or --data FILE... is required (not both)", NULL);
	if (a->n_query == 0 && (a->from != NULL || a->to != NULL || a->gran_set))
		die_usage("--from, --to and --granularities go with --query", NULL);
	if (a->n_query > 0 && a->druid_template != NULL)
		die_usage("--druid-template goes with --data (with --query the template is the "
		          "query's aggregations)", NULL);
}

static void fail(const char *what, const struct rb_err *err)
{
	fprintf(stderr, "rb-aioutliers-train: %s: %s\n", what, err->msg);
	exit(1);
}

struct progress {
	int tty;
	double elapsed;
};

static void on_epoch(void *ctx, size_t epoch, size_t epochs, double train_loss, double val_loss,
                     double seconds, int best)
{
	struct progress *p = ctx;
	p->elapsed += seconds;
	double eta = p->elapsed / (double)epoch * (double)(epochs - epoch);
	if (p->tty)
		fprintf(stderr, "epoch %zu/%zu  train %.6f  validation %.6f%s  %.1f s  ETA %.0f s\n",
		        epoch, epochs, train_loss, val_loss, best ? " *" : "  ", seconds, eta);
	else
		fprintf(stderr, "rb-aioutliers-train: epoch=%zu/%zu train_loss=%.6f val_loss=%.6f "
		        "best=%d seconds=%.2f eta_seconds=%.0f\n",
		        epoch, epochs, train_loss, val_loss, best, seconds, eta);
}

/* Replaces m->spec's columns and shape by d's (copies). */
static int set_spec(struct model *m, const struct train_data *d)
{
	struct model_spec *sp = &m->spec, *src = (struct model_spec *)&d->spec;
	model_spec_clear(sp);
	sp->metrics = calloc(src->n_metrics, sizeof *sp->metrics);
	sp->timestamp = calloc(src->n_timestamp, sizeof *sp->timestamp);
	if (sp->metrics == NULL || sp->timestamp == NULL)
		return -1;
	sp->n_metrics = src->n_metrics;
	sp->n_timestamp = src->n_timestamp;
	for (size_t i = 0; i < src->n_metrics; i++) {
		sp->metrics[i] = strdup(src->metrics[i]);
		if (sp->metrics[i] == NULL)
			return -1;
	}
	for (size_t i = 0; i < src->n_timestamp; i++) {
		sp->timestamp[i] = strdup(src->timestamp[i]);
		if (sp->timestamp[i] == NULL)
			return -1;
	}
	sp->window_size = src->window_size;
	sp->num_windows = src->num_windows;
	sp->weekday = WEEKDAY_ONEHOT;
	return 0;
}

/* The latest instant of the data as Keras's date_saved ("2024-04-10@09:13:24"). */
static void data_end(const struct train_data *d, char *buf, size_t cap)
{
	double t = 0;
	for (size_t k = 0; k < d->n_files; k++) {
		const struct series *s = d->files[k].val_series;
		if (s != NULL && s->n > 0 && s->t[s->n - 1] > t)
			t = s->t[s->n - 1];
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%d@%H:%M:%S", &tm);
}

static char *read_template(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "rb-aioutliers-train: --druid-template %s: %s\n", path, strerror(errno));
		exit(1);
	}
	char *buf = malloc(DRUID_TEMPLATE_MAX + 1);
	size_t n = buf != NULL ? fread(buf, 1, DRUID_TEMPLATE_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n == 0 || n > DRUID_TEMPLATE_MAX) {
		fprintf(stderr, "rb-aioutliers-train: --druid-template %s: empty or over %u bytes\n",
		        path, DRUID_TEMPLATE_MAX);
		exit(1);
	}
	*len = n;
	return buf;
}

/* Whole small file into a malloc'd NUL-terminated buffer, or exit 1 naming what. */
static char *slurp(const char *path, size_t cap, size_t *len, const char *what)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "rb-aioutliers-train: %s %s: %s\n", what, path, strerror(errno));
		exit(1);
	}
	char *buf = malloc(cap + 1);
	size_t n = buf != NULL ? fread(buf, 1, cap + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n > cap) {
		fprintf(stderr, "rb-aioutliers-train: %s %s: over %zu bytes\n", what, path, cap);
		exit(1);
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* ---- the daemon's configuration: only the keys this command needs ---- */

struct train_config {
	char *druid_url;      /* malloc'd or NULL (default) */
	long connect_timeout_ms, timeout_ms;
	size_t max_response_bytes;
	char *trained_models_dir; /* malloc'd or NULL (not set, or empty: none) */
	char *models_url, *s3_endpoint, *s3_region, *s3_credentials; /* --upload; malloc'd or NULL */
};

static void config_die(const char *path, size_t line, const char *what)
{
	fprintf(stderr, "rb-aioutliers-train: -c %s:%zu: %s\n", path, line, what);
	exit(1);
}

/* A whole number with an optional K, M or G (bytes) in [lo, hi]; -1 when it is not one. */
static long long config_number(const char *v, int suffix, long long lo, long long hi)
{
	char *end = NULL;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno != 0 || end == v || v[0] == '-' || v[0] == '+')
		return -1;
	if (suffix && (*end == 'K' || *end == 'k' || *end == 'M' || *end == 'm' || *end == 'G' ||
	               *end == 'g')) {
		int shift = (*end == 'K' || *end == 'k') ? 10 : (*end == 'M' || *end == 'm') ? 20 : 30;
		if (x > (hi >> shift))
			return -1;
		x <<= shift;
		end++;
	}
	return *end == '\0' && x >= lo && x <= hi ? x : -1;
}

/*
 * Reads the daemon's configuration file (`key = value` lines, `#` comments; the daemon's
 * parser, fcgi/config.c, checks the whole file) for druid_url, druid_connect_timeout_ms,
 * druid_timeout_ms, druid_max_response_bytes and trained_models_dir (relative to the
 * file's directory, as the daemon reads it); every other key is left to the daemon.
 */
static void config_read(const char *path, struct train_config *c)
{
	size_t len = 0;
	char *text = slurp(path, CONFIG_MAX, &len, "-c");
	char *p = text;
	for (size_t line = 1; *p != '\0'; line++) {
		char *nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		char *k = p;
		p = nl != NULL ? nl + 1 : p + strlen(p);
		while (*k == ' ' || *k == '\t')
			k++;
		if (*k == '#' || *k == ';' || *k == '\0' || *k == '\r')
			continue;
		char *eq = strchr(k, '=');
		if (eq == NULL)
			continue; /* the daemon reports it */
		char *ke = eq, *v = eq + 1, *ve = v + strlen(v);
		while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
			ke--;
		*ke = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
			ve--;
		*ve = '\0';
		long long x = 0;
		if (strcmp(k, "druid_url") == 0) {
			free(c->druid_url);
			c->druid_url = strdup(v);
		} else if (strcmp(k, "druid_connect_timeout_ms") == 0) {
			if ((x = config_number(v, 0, 1, 60000)) < 0)
				config_die(path, line, "druid_connect_timeout_ms: not 1 to 60000");
			c->connect_timeout_ms = (long)x;
		} else if (strcmp(k, "druid_timeout_ms") == 0) {
			if ((x = config_number(v, 0, 1, 600000)) < 0)
				config_die(path, line, "druid_timeout_ms: not 1 to 600000");
			c->timeout_ms = (long)x;
		} else if (strcmp(k, "druid_max_response_bytes") == 0) {
			if ((x = config_number(v, 1, 1024, 1LL << 30)) < 0)
				config_die(path, line, "druid_max_response_bytes: not 1K to 1G");
			c->max_response_bytes = (size_t)x;
		} else if (strcmp(k, "models_url") == 0 || strcmp(k, "models_s3_endpoint") == 0 ||
		           strcmp(k, "models_s3_region") == 0 ||
		           strcmp(k, "models_s3_credentials") == 0) {
			char **dst = k[7] == 'u' ? &c->models_url : k[10] == 'e' ? &c->s3_endpoint
			             : k[10] == 'r' ? &c->s3_region : &c->s3_credentials;
			free(*dst);
			*dst = NULL;
			if (v[0] == '\0')
				continue;
			size_t dl = dst == &c->s3_credentials && v[0] != '/' && strchr(path, '/') != NULL
			                    ? (size_t)(strrchr(path, '/') - path) + 1
			                    : 0; /* a relative credentials path: from the file's directory */
			*dst = malloc(dl + strlen(v) + 1);
			if (*dst != NULL) {
				memcpy(*dst, path, dl);
				memcpy(*dst + dl, v, strlen(v) + 1);
			}
		} else if (strcmp(k, "trained_models_dir") == 0) {
			free(c->trained_models_dir);
			c->trained_models_dir = NULL;
			if (v[0] == '/' || v[0] == '\0' || strchr(path, '/') == NULL) {
				c->trained_models_dir = v[0] != '\0' ? strdup(v) : NULL;
			} else {
				size_t dl = (size_t)(strrchr(path, '/') - path) + 1;
				c->trained_models_dir = malloc(dl + strlen(v) + 1);
				if (c->trained_models_dir != NULL) {
					memcpy(c->trained_models_dir, path, dl);
					strcpy(c->trained_models_dir + dl, v);
				}
			}
		}
	}
	free(text);
}

/* ---- --query: the Druid fetch ---- */

/* The interval of --from/--to (defaults: the 7 days before the current minute). */
static void query_interval(const struct args *a, int64_t *from, int64_t *to)
{
	if (a->to != NULL) {
		if (druid_instant_ms(a->to, strlen(a->to), to) != 0)
			die_usage("--to is not an instant such as 2023-10-01T00:00Z", a->to);
	} else {
		*to = (int64_t)time(NULL) / 60 * 60000;
	}
	if (a->from != NULL) {
		if (druid_instant_ms(a->from, strlen(a->from), from) != 0)
			die_usage("--from is not an instant such as 2023-09-01T00:00Z", a->from);
	} else {
		*from = *to - DEFAULT_SPAN_MS;
	}
	if (*from >= *to)
		die_usage("--from must be before --to", a->from != NULL ? a->from : a->to);
}

/* --granularities "pt1m,pt5m" -> g[] (pointers into buf); exits 2 on a bad or empty list. */
static size_t query_granularities(const char *list, char *buf, size_t cap, char **g)
{
	if (strlen(list) >= cap)
		die_usage("--granularities is too long", NULL);
	strcpy(buf, list);
	size_t n = 0;
	for (char *p = buf; p != NULL && *p != '\0';) {
		char *comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		int64_t ms = 0;
		struct rb_err e = {0};
		if (n == TRAIN_QUERY_MAX_GRANULARITIES)
			die_usage("--granularities: too many (at most 16)", list);
		if (period_parse_ms(p, strlen(p), &ms, &e) != RB_OK)
			die_usage("--granularities: not an ISO-8601 period of fixed length such as pt5m", p);
		for (size_t i = 0; i < n; i++)
			if (strcasecmp(g[i], p) == 0)
				die_usage("--granularities: given twice", p);
		g[n++] = p;
		p = comma != NULL ? comma + 1 : NULL;
	}
	if (n == 0)
		die_usage("--granularities is empty", NULL);
	return n;
}

/* What --query fetched: one source per query file and granularity. */
struct fetched {
	struct train_source src[MAX_QUERY_FILES * TRAIN_QUERY_MAX_GRANULARITIES];
	char *labels[MAX_QUERY_FILES * TRAIN_QUERY_MAX_GRANULARITIES];
	char *answers[MAX_QUERY_FILES * TRAIN_QUERY_MAX_GRANULARITIES];
	size_t n;
	uint64_t hash[MAX_QUERY_FILES];
	char *template_text; /* NAME.druid.json */
	size_t template_len;
	char interval[2 * CIVIL_INSTANT_CAP + 2];
	char gran_buf[512];
	char *gran[TRAIN_QUERY_MAX_GRANULARITIES];
	size_t n_gran;
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash != NULL ? slash + 1 : path;
}

/* One Druid call per query file and granularity, before anything is written; exits 1 on any
 * failure, naming the query, the granularity and the broker's answer. */
static void query_fetch(const struct args *a, const struct train_config *c, struct fetched *f)
{
	int64_t from = 0, to = 0;
	struct rb_err err = {0};
	query_interval(a, &from, &to);
	char sa[CIVIL_INSTANT_CAP], sb[CIVIL_INSTANT_CAP];
	civil_format_ms(from, sa, sizeof sa);
	civil_format_ms(to, sb, sizeof sb);
	snprintf(f->interval, sizeof f->interval, "%s/%s", sa, sb);
	f->n_gran = query_granularities(a->granularities, f->gran_buf, sizeof f->gran_buf, f->gran);
	struct train_query q[MAX_QUERY_FILES];
	memset(q, 0, sizeof q);
	for (size_t i = 0; i < a->n_query; i++) {
		size_t len = 0;
		char *text = slurp(a->query[i], QUERY_FILE_MAX, &len, "--query");
		if (train_query_load(&q[i], text, len, a->query[i], &err) != RB_OK)
			fail("--query", &err);
		free(text);
		f->hash[i] = q[i].hash;
		if (i > 0 && strcmp(q[i].template_text, q[0].template_text) != 0) {
			fprintf(stderr, "rb-aioutliers-train: --query %s: its aggregations and "
			        "post-aggregations differ from %s's (one model has one set of columns)\n",
			        a->query[i], a->query[0]);
			exit(1);
		}
	}
	struct druid_opts o = {c->druid_url != NULL ? c->druid_url : "http://127.0.0.1:8082/druid/v2/",
	                       c->connect_timeout_ms, c->timeout_ms, c->max_response_bytes,
	                       "rb-aioutliers-train"};
	struct druid *d = NULL;
	if (druid_global_init(&err) != RB_OK || druid_new(&d, &o, &err) != RB_OK)
		fail("Druid client", &err);
	printf("rb-aioutliers-train: Druid at %s, interval %s, %zu quer%s x %zu granularit%s\n",
	       druid_endpoint(d), f->interval, a->n_query, a->n_query == 1 ? "y" : "ies", f->n_gran,
	       f->n_gran == 1 ? "y" : "ies");
	for (size_t i = 0; i < a->n_query; i++) {
		for (size_t g = 0; g < f->n_gran; g++) {
			char *body = NULL, *answer = NULL;
			size_t blen = 0, alen = 0;
			char label[512];
			snprintf(label, sizeof label, "%s %s", base_name(a->query[i]), f->gran[g]);
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			if (train_query_body(&q[i], f->gran[g], from, to, &body, &blen, &err) != RB_OK) {
				rb_err_prefix(&err, "%s", a->query[i]);
				fail("--query", &err);
			}
			if (druid_query(d, body, blen, &answer, &alen, &err) != RB_OK) {
				fprintf(stderr, "rb-aioutliers-train: Druid (%s): %s; nothing written\n", label,
				        err.msg);
				exit(1);
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			printf("  %s: %zu bytes in %.2f s\n", label, alen,
			       (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
			free(body);
			f->labels[f->n] = strdup(label);
			f->answers[f->n] = answer;
			f->src[f->n] = (struct train_source){f->labels[f->n], answer, alen};
			f->n++;
		}
	}
	fflush(stdout);
	druid_free(d);
	druid_global_cleanup();
	f->template_text = q[0].template_text;
	f->template_len = q[0].template_len;
	q[0].template_text = NULL;
	for (size_t i = 0; i < a->n_query; i++)
		train_query_release(&q[i]);
}

static void fetched_release(struct fetched *f)
{
	for (size_t k = 0; k < f->n; k++) {
		free(f->labels[k]);
		free(f->answers[k]);
	}
	free(f->template_text);
}

/* Appends "key = value\n" to the [training] text; the value's control bytes become '?'. */
static void training_add(char *buf, size_t cap, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void training_add(char *buf, size_t cap, const char *key, const char *fmt, ...)
{
	size_t o = strlen(buf);
	char val[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(val, sizeof val, fmt, ap);
	va_end(ap);
	for (char *p = val; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (o < cap)
		snprintf(buf + o, cap - o, "%s = %s\n", key, val);
}

/*
 * --upload: NAME.keras, NAME.druid.json, then NAME.ini (the service's model sync takes a
 * model whose three objects all changed; the .ini, written last, carries the calibration).
 */
static void upload(const struct args *a, const struct train_config *c)
{
	struct rb_err err = {0};
	struct s3_conf sc;
	char prefix[512];
	memset(&sc, 0, sizeof sc);
	if (c->models_url == NULL || c->s3_credentials == NULL) {
		fprintf(stderr, "rb-aioutliers-train: --upload needs -c with models_url and "
		        "models_s3_credentials\n");
		exit(1);
	}
	snprintf(sc.endpoint, sizeof sc.endpoint, "%s",
	         c->s3_endpoint != NULL ? c->s3_endpoint : "https://s3.amazonaws.com");
	snprintf(sc.region, sizeof sc.region, "%s", c->s3_region != NULL ? c->s3_region : "us-east-1");
	sc.connect_timeout_ms = 10000;
	sc.timeout_ms = 300000;
	struct s3 *s = NULL;
	if (s3_url_parse(c->models_url, sc.bucket, sizeof sc.bucket, prefix, sizeof prefix,
	                 &err) != RB_OK ||
	    s3_credentials_load(c->s3_credentials, &sc, &err) != RB_OK ||
	    druid_global_init(&err) != RB_OK || s3_new(&s, &sc, &err) != RB_OK)
		fail("--upload", &err);
	static const char *const ext[] = {".keras", ".druid.json", ".ini"};
	for (size_t k = 0; k < 3; k++) {
		char path[4096], key[2048];
		size_t len = 0;
		snprintf(path, sizeof path, "%s/%s%s", a->models_dir, a->name, ext[k]);
		snprintf(key, sizeof key, "%s%s%s", prefix, a->name, ext[k]);
		char *data = slurp(path, 1u << 30, &len, "--upload");
		if (s3_put(s, key, data, len, &err) != RB_OK)
			fail("--upload", &err);
		printf("rb-aioutliers-train: uploaded %s to s3://%s/%s (%zu bytes)\n", path, sc.bucket,
		       key, len);
		free(data);
	}
	s3_free(s);
	druid_global_cleanup();
}

int main(int argc, char **argv)
{
	struct args a;
	struct rb_err err = {0};
	parse_args(argc, argv, &a);
	struct train_config cfg = {0};
	if (a.config != NULL)
		config_read(a.config, &cfg);
	if (a.models_dir == NULL)
		a.models_dir = cfg.trained_models_dir != NULL ? cfg.trained_models_dir
		                                              : RB_DEFAULT_TRAINED_MODELS_DIR;
	char *druid = NULL;
	size_t druid_len = 0;
	if (a.druid_template != NULL)
		druid = read_template(a.druid_template, &druid_len);
	if (!a.dry_run && train_write_check_dir(a.models_dir, &err) != RB_OK)
		fail("--models-dir", &err);
	if (a.upload && (cfg.models_url == NULL || cfg.s3_credentials == NULL)) {
		fprintf(stderr, "rb-aioutliers-train: --upload needs -c with models_url and "
		        "models_s3_credentials\n");
		return 2;
	}
	if (a.upload && a.druid_template == NULL && a.n_query == 0) {
		fprintf(stderr, "rb-aioutliers-train: --upload needs a Druid template (--query or "
		        "--druid-template): the model sync takes only complete models\n");
		return 2;
	}
	struct model *m = NULL;
	struct train_arch arch = TRAIN_ARCH_TRAFFIC(1);
	size_t stride = 16;
	if (a.init != NULL) {
		if (model_load(&m, a.models_dir, a.init, &err) != RB_OK)
			fail("--init", &err);
		arch.window = m->spec.window_size * m->spec.num_windows;
		stride = m->spec.window_size;
	}
	struct train_data d;
	struct train_data_options dopt = {arch.window, stride, a.validation};
	static struct fetched fq; /* large; one per run */
	if (a.n_query > 0) {
		query_fetch(&a, &cfg, &fq);
		druid = fq.template_text;
		druid_len = fq.template_len;
		fq.template_text = NULL;
		if (train_data_load_sources(&d, fq.src, fq.n, &dopt, &err) != RB_OK)
			fail("Druid's answer", &err);
	} else if (train_data_load(&d, a.data, a.n_data, &dopt, &err) != RB_OK) {
		fail("data", &err);
	}
	if (druid != NULL) { /* the service would refuse to load a bad template with the model */
		struct druid_template *t = NULL;
		if (druid_template_parse(&t, druid, druid_len, a.druid_template, &err) != RB_OK)
			fail("--druid-template", &err);
		for (size_t i = 0; i < d.n_metrics; i++)
			if (!druid_template_provides(t, d.spec.metrics[i]))
				fprintf(stderr, "rb-aioutliers-train: warning: --druid-template %s yields no "
				        "column \"%s\" (a metric of the data)\n", a.druid_template,
				        d.spec.metrics[i]);
		druid_template_free(t);
	}
	if (m == NULL) {
		arch.n_metrics = d.n_metrics;
		if (train_arch_build(&m, &arch, a.seed, &err) != RB_OK)
			fail("model", &err);
	} else {
		int same = m->spec.n_metrics == d.spec.n_metrics && m->in_C == d.C;
		for (size_t i = 0; same && i < d.spec.n_metrics; i++)
			same = strcmp(m->spec.metrics[i], d.spec.metrics[i]) == 0;
		if (!same) {
			fprintf(stderr, "rb-aioutliers-train: --init %s: its metric columns differ from "
			        "the data's (%zu columns; the data has %zu)\n", a.init, m->spec.n_metrics,
			        d.spec.n_metrics);
			return 1;
		}
	}
	snprintf(m->name, sizeof m->name, "%s", a.name);
	if (set_spec(m, &d) != 0) {
		fprintf(stderr, "rb-aioutliers-train: out of memory\n");
		return 1;
	}
	struct train_net *net = NULL;
	if (train_net_new(&net, m, &err) != RB_OK)
		fail("model", &err);
	train_arch_regularise(net);
	if (a.init == NULL && train_arch_input_stats(net, d.train_rows, d.n_train_rows, &err) != RB_OK)
		fail("input statistics", &err);
	printf("rb-aioutliers-train: %zu file%s, %zu rows, %zu metric%s (", d.n_files,
	       d.n_files == 1 ? "" : "s", d.n_rows, d.n_metrics, d.n_metrics == 1 ? "" : "s");
	for (size_t i = 0; i < d.n_metrics; i++)
		printf("%s%s", i ? ", " : "", d.spec.metrics[i]);
	printf("); windows of %zu rows at stride %zu: %zu training, %zu validation; %zu trainable "
	       "parameters; %s\n", d.T, stride, d.n_train, d.n_val, net->n_trainable,
	       a.init != NULL ? "fine-tuning" : "new model");
	for (size_t k = 0; k < d.n_files; k++)
		printf("  %s: %zu rows, step %g s, %zu gap%s, %zu + %zu windows\n", d.files[k].path,
		       d.files[k].rows, d.files[k].step, d.files[k].gaps, d.files[k].gaps == 1 ? "" : "s",
		       d.files[k].train_windows, d.files[k].val_windows);
	struct progress prog = {isatty(2), 0.0};
	struct trainer_options to = {a.epochs, a.batch, a.lr, OLD_WEIGHT_DECAY, a.seed, a.patience,
	                             on_epoch, &prog, a.path, a.threads};
	/* The little-data rule (trainer_little_data) for a new model: an --epochs or --patience
	 * given on the command line is kept; a fine-tuned model keeps the old settings (a decay
	 * towards 0 would pull it away from the weights it starts from). */
	int little = a.init == NULL && trainer_little_data(&to, d.n_train);
	if (a.epochs_set)
		to.epochs = a.epochs;
	if (a.patience_set)
		to.patience = a.patience;
	printf("  -> %s/%s.keras, %s.ini%s; up to %zu epochs, batch %zu, lr %g, seed %llu, "
	       "patience %zu, weight decay %g%s\n", a.models_dir, a.name, a.name,
	       druid != NULL ? ", .druid.json" : "", to.epochs, a.batch, a.lr,
	       (unsigned long long)a.seed, to.patience, to.weight_decay,
	       little ? " (the little-data rule)" : "");
	fflush(stdout);
	if (d.n_rows < TRAIN_DATA_FEW_ROWS)
		fprintf(stderr, "rb-aioutliers-train: warning: %zu rows is little data (%d or more "
		        "make a steadier model); %s\n", d.n_rows, TRAIN_DATA_FEW_ROWS,
		        little ? "regularised for it: stronger weight decay, epochs and patience "
		                 "scaled (docs/TRAINING.md)" : "expect a loose fit");
	int rc = 0;
	if (!a.dry_run) {
		struct trainer_result res;
		size_t scored = 0;
		if (trainer_run(net, &d, &to, &res, &err) != RB_OK)
			fail("training", &err);
		train_net_store(net, m);
		if (trainer_calibrate(m, &d, &scored, &err) != RB_OK)
			fail("calibration", &err);
		static char training[16384];
		char date[64];
		training_add(training, sizeof training, "trainer", "rb-aioutliers-train %s",
		             RB_VERSION);
		training_add(training, sizeof training, "path", "%s", trainer_path_names[a.path]);
		training_add(training, sizeof training, "threads", "%zu", a.threads);
		if (a.n_query > 0) {
			char list[1024] = "", hashes[1024] = "";
			for (size_t i = 0; i < a.n_query; i++) {
				size_t lo = strlen(list), ho = strlen(hashes);
				snprintf(list + lo, sizeof list - lo, "%s%s", i ? ", " : "",
				         base_name(a.query[i]));
				snprintf(hashes + ho, sizeof hashes - ho, "%sfnv1a64:%016llx", i ? ", " : "",
				         (unsigned long long)fq.hash[i]);
			}
			training_add(training, sizeof training, "query", "%s", list);
			training_add(training, sizeof training, "query_hash", "%s", hashes);
			training_add(training, sizeof training, "interval", "%s", fq.interval);
			char gl[512] = "";
			for (size_t g = 0; g < fq.n_gran; g++) {
				size_t go = strlen(gl);
				snprintf(gl + go, sizeof gl - go, "%s%s", g ? ", " : "", fq.gran[g]);
			}
			training_add(training, sizeof training, "granularities", "%s", gl);
		} else {
			char list[2048] = "";
			for (size_t k = 0; k < d.n_files; k++) {
				size_t lo = strlen(list);
				if (k == 16) {
					snprintf(list + lo, sizeof list - lo, ", ... (%zu files)", d.n_files);
					break;
				}
				snprintf(list + lo, sizeof list - lo, "%s%s", k ? ", " : "", d.files[k].path);
			}
			training_add(training, sizeof training, "files", "%s", list);
		}
		training_add(training, sizeof training, "rows", "%zu", d.n_rows);
		training_add(training, sizeof training, "windows", "%zu training, %zu validation",
		             d.n_train, d.n_val);
		training_add(training, sizeof training, "epochs", "%zu", res.epochs_run);
		training_add(training, sizeof training, "best_epoch", "%zu", res.best_epoch);
		training_add(training, sizeof training, "steps", "%zu", res.steps);
		training_add(training, sizeof training, "train_loss", "%.9g", res.train_loss);
		training_add(training, sizeof training, "validation_loss", "%.9g", res.val_loss);
		training_add(training, sizeof training, "seed", "%llu", (unsigned long long)a.seed);
		training_add(training, sizeof training, "batch", "%zu", a.batch);
		training_add(training, sizeof training, "lr", "%.9g", a.lr);
		training_add(training, sizeof training, "validation_share", "%g", a.validation);
		training_add(training, sizeof training, "patience", "%zu", to.patience);
		training_add(training, sizeof training, "weight_decay", "%.9g", to.weight_decay);
		training_add(training, sizeof training, "little_data_rule", "%s", little ? "yes" : "no");
		training_add(training, sizeof training, "init", "%s", a.init != NULL ? a.init : "none");
		training_add(training, sizeof training, "calibrated_rows", "%zu", scored);
		data_end(&d, date, sizeof date);
		struct train_write_args wa = {a.models_dir, a.name, date, training, druid, druid_len};
		if (train_write(m, net, &wa, &err) != RB_OK)
			fail("writing the model", &err);
		printf("rb-aioutliers-train: wrote %s/%s.keras and %s.ini: %zu epochs (best %zu), "
		       "validation MAE %.6f, score mean %.6f std %.6f over %zu validation rows\n",
		       a.models_dir, a.name, a.name, res.epochs_run, res.best_epoch, res.val_loss,
		       m->spec.score_mean, m->spec.score_std, scored);
		if (a.upload)
			upload(&a, &cfg);
	}
	free(druid);
	fetched_release(&fq);
	free(cfg.druid_url);
	free(cfg.trained_models_dir);
	free(cfg.models_url);
	free(cfg.s3_endpoint);
	free(cfg.s3_region);
	free(cfg.s3_credentials);
	train_net_free(net);
	model_free(m);
	train_data_release(&d);
	return rc;
}
