/*
 * rb-aioutliers-detect: the offline form of one detection request. Reads a
 * Druid timeseries result (a file, or stdin for "-" or no argument), runs the
 * named model on it (or, with no --model, the model-free default detector)
 * and prints the JSON body the service answers, then a newline. Exit 0 with the success body; 1 with the error body
 * {"status":"error","msg":...} on stdout; 2 for a usage error (usage on
 * stderr). A tool, not the service: it may exit() and print diagnostics.
 *
 * Built twice from this file. The full program (RB_DETECT_LIGHT unset,
 * installed as RB_DETECT_FULL_NAME under libexec) does everything above. The
 * command users run (RB_DETECT_LIGHT=1) is the same code without the model
 * path, so it does not load the model stack's libraries (HDF5 and, through it,
 * libcurl with its TLS/LDAP/SSH libraries; libzip; oneDNN), which took most of
 * the run's CPU for a model-free answer: it answers a model-free run with
 * valid options itself, and for anything else (--model, --path, --help, a
 * usage error) it execs the full program with the same arguments, which
 * answers exactly as it always did.
 */
#ifndef RB_DETECT_LIGHT
#define RB_DETECT_LIGHT 0
#endif

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rb/answer/response.h"
#include "rb/detect/detection.h"
#include "rb/detect/detector.h"
#include "rb/base/error.h"
#include "rb/detect/score.h"
#include "rb/input/series.h"
#if !RB_DETECT_LIGHT
#include "rb/detect/engine.h"
#include "rb/model/infer.h"
#include "rb/model/model.h"
#endif

/* The full program's file name, and where it is installed relative to the light one's folder. */
#ifndef RB_DETECT_FULL_NAME
#define RB_DETECT_FULL_NAME "rb-aioutliers-detect-full"
#endif
#ifndef RB_DETECT_FULL_RELDIR
#define RB_DETECT_FULL_RELDIR "../libexec/rb-aioutliers"
#endif

#ifndef RB_DEFAULT_MODELS_DIR
#define RB_DEFAULT_MODELS_DIR "/usr/share/rb-aioutliers/models"
#endif

/* The input cap: the same as series_parse's default whole-text cap. */
#define DETECT_MAX_INPUT (64u << 20)

struct args {
	const char *models_dir;
	const char *model;    /* NULL: the model-free detector */
	const char *metric;   /* NULL: not given (deep model: bytes; detector: its choice) */
	const char *detector; /* model-free detector name, NULL = default */
	double sensitivity;   /* model-free detector, NAN = its default */
	const char *input; /* NULL or "-" = stdin */
#if !RB_DETECT_LIGHT
	enum infer_path path;
#endif
	struct score_options score;
};

static void print_body(char *body);

#if RB_DETECT_LIGHT
/* The light command's arguments, handed on unchanged to the full program. */
static char **light_argv;

/*
 * Replaces this process by the full program with the same arguments: first
 * RB_DETECT_FULL_NAME beside this program (the build tree), then in
 * RB_DETECT_FULL_RELDIR from this program's folder (an install, under any
 * prefix or DESTDIR). Does not return; exit 1 with an error body when there is
 * no full program.
 */
static void run_full(void)
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			static const char *const dirs[] = {"", "/" RB_DETECT_FULL_RELDIR};
			for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
				int w = snprintf(path, sizeof path, "%s%s/%s", self, dirs[k],
				                 RB_DETECT_FULL_NAME);
				if (w > 0 && (size_t)w < sizeof path && access(path, X_OK) == 0) {
					fflush(stdout);
					execv(path, light_argv);
				}
			}
		}
	}
	print_body(response_error("the model runner " RB_DETECT_FULL_NAME " is not installed"));
	exit(1);
}
#endif

/*
 * The names of a NULL-terminated table joined by sep, the last two by last;
 * notes (NULL, or one entry per name, NULL for none) follow their names. Into
 * buf[cap], cut to fit.
 */
static void name_list(char *buf, size_t cap, const char *const *names, const char *sep,
                      const char *last, const char *const *notes)
{
	size_t n = 0, o = 0;
	while (names[n] != NULL)
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && o < cap; i++) {
		int w = snprintf(buf + o, cap - o, "%s%s%s", i == 0 ? "" : i + 1 == n ? last : sep,
		                 names[i], notes != NULL && notes[i] != NULL ? notes[i] : "");
		if (w < 0)
			return;
		o += (size_t)w;
	}
}

#if !RB_DETECT_LIGHT
/* What the usage says after a name, beside the lists. */
static const char *const path_notes[INFER_PATH_COUNT] = {[INFER_AUTO] = " (default)"};
static const char *const rule_notes[SCORE_RULE_COUNT] = {
	[SCORE_CENTRED] = " (default)",
	[SCORE_LEGACY] = " (the old service's rule)",
};
static const char *const detector_notes[DETECTOR_KIND_COUNT] = {
	[DETECTOR_KIND_DEFAULT] = " (default)",
};

static void usage(FILE *to)
{
	char paths_bar[128], paths_text[160], rules_bar[128], rules_text[160], detectors_text[160];
	name_list(paths_bar, sizeof paths_bar, infer_path_names, "|", "|", NULL);
	name_list(paths_text, sizeof paths_text, infer_path_names, ", ", " or ", path_notes);
	name_list(rules_bar, sizeof rules_bar, score_rule_names, "|", "|", NULL);
	name_list(rules_text, sizeof rules_text, score_rule_names, ", ", " or ", rule_notes);
	name_list(detectors_text, sizeof detectors_text, detector_kind_names, ", ", " or ",
	          detector_notes);
	fprintf(to,
	        "usage: rb-aioutliers-detect [--model NAME] [--models-dir DIR] [--metric NAME]\n"
	        "                            [--path %s]\n"
	        "                            [--threshold-rule %s]\n"
	        "                            [--sigma K] [--detector NAME] [--sensitivity S] [FILE|-]\n"
	        "Reads a Druid timeseries result (FILE, or stdin) and prints the JSON answer.\n"
	        "  --model NAME        deep model to run: DIR/NAME.keras + DIR/NAME.ini;\n"
	        "                      without it the model-free detector runs\n"
	        "  --models-dir DIR    default %s\n"
	        "  --metric NAME       analysed metric (model: default bytes; detector: monitors,\n"
	        "                      else bytes, else the first metric)\n"
	        "  --path P            inference path: %s\n"
	        "  --threshold-rule R  %s\n"
	        "  --sigma K           k of the model's k-sigma threshold (default: the rule's)\n"
	        "  --detector NAME     model-free detector: %s\n"
	        "  --sensitivity S     model-free detector sensitivity in [0, 1]\n"
	        "Exit: 0 answer printed, 1 error body printed, 2 usage error.\n",
	        paths_bar, rules_bar, RB_DEFAULT_MODELS_DIR, paths_text, rules_text,
	        detectors_text);
}

#endif

static void die_usage(const char *msg, const char *arg)
{
#if RB_DETECT_LIGHT
	/* the full program prints the same message and the usage with its path names */
	(void)msg;
	(void)arg;
	run_full();
#else
	fprintf(stderr, "rb-aioutliers-detect: %s%s%s\n", msg, arg != NULL ? ": " : "",
	        arg != NULL ? arg : "");
	usage(stderr);
	exit(2);
#endif
}

/* A usage error for an option whose value is none of names: "OPTION must be a, b or c: ARG". */
static void die_choice(const char *option, const char *const *names, const char *arg)
{
	char msg[256], list[192];
	name_list(list, sizeof list, names, ", ", " or ", NULL);
	snprintf(msg, sizeof msg, "%s must be %s", option, list);
	die_usage(msg, arg);
}

/* A finite double in [lo, hi], nothing after it; lo itself only when lo_ok. */
static int parse_number(const char *text, double lo, int lo_ok, double hi, double *out)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !(v >= lo) || v > hi || (!lo_ok && v == lo))
		return -1;
	*out = v;
	return 0;
}

static void parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof *a);
	a->models_dir = RB_DEFAULT_MODELS_DIR;
	a->sensitivity = NAN;
#if !RB_DETECT_LIGHT
	a->path = INFER_AUTO;
#endif
	a->score.rule = SCORE_CENTRED;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
#if RB_DETECT_LIGHT
			run_full();
#else
			usage(stdout);
			exit(0);
#endif
		}
		if (strcmp(o, "-") == 0 || o[0] != '-') {
			if (a->input != NULL)
				die_usage("more than one input file", o);
			a->input = o;
			continue;
		}
		if (v == NULL)
			die_usage("option needs a value", o);
		if (strcmp(o, "--models-dir") == 0)
			a->models_dir = v;
		else if (strcmp(o, "--model") == 0)
			a->model = v;
#if RB_DETECT_LIGHT
		else if (strcmp(o, "--path") == 0)
			run_full();
#else
		else if (strcmp(o, "--metric") == 0)
			a->metric = v;
		else if (strcmp(o, "--path") == 0) {
			if (infer_path_parse(v, strlen(v), &a->path) != 0)
				die_choice(o, infer_path_names, v);
		}
#endif
		else if (strcmp(o, "--threshold-rule") == 0) {
			if (score_rule_parse(v, strlen(v), &a->score.rule) != 0)
				die_choice(o, score_rule_names, v);
		} else if (strcmp(o, "--sigma") == 0) {
			if (parse_number(v, 0.0, 0, 1e6, &a->score.sigma) != 0)
				die_usage("--sigma must be a number > 0", v);
		} else if (strcmp(o, "--detector") == 0) {
			enum detector_kind k;
			if (detector_kind_parse(v, strlen(v), &k) != 0)
				die_choice(o, detector_kind_names, v);
			a->detector = v;
		} else if (strcmp(o, "--sensitivity") == 0) {
			if (parse_number(v, 0.0, 1, 1.0, &a->sensitivity) != 0)
				die_usage("--sensitivity must be a number in [0, 1]", v);
		} else
			die_usage("unknown option", o);
		i++;
	}
	if (a->model != NULL && (a->detector != NULL || !isnan(a->sensitivity)))
		die_usage("--detector and --sensitivity are for runs without --model", NULL);
	if (a->model == NULL && (a->score.sigma > 0.0 || a->score.rule != SCORE_CENTRED))
		die_usage("--sigma and --threshold-rule need --model", NULL);
#if RB_DETECT_LIGHT
	if (a->model != NULL)
		run_full();
#endif
}

/* Reads all of f up to DETECT_MAX_INPUT bytes into a new buffer. */
static enum rb_code read_all(FILE *f, char **out, size_t *len_out, struct rb_err *err)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	if (buf == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory reading the input");
	for (;;) {
		if (len == cap) {
			if (cap > DETECT_MAX_INPUT) {
				free(buf);
				return rb_err_set(err, RB_E_TOO_LARGE, "input is over %u bytes",
				                  DETECT_MAX_INPUT);
			}
			size_t ncap = cap * 2 > DETECT_MAX_INPUT ? DETECT_MAX_INPUT + 1 : cap * 2;
			char *nb = realloc(buf, ncap);
			if (nb == NULL) {
				free(buf);
				return rb_err_set(err, RB_E_NOMEM, "out of memory reading the input");
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		return rb_err_set(err, RB_E_INPUT, "cannot read the input");
	}
	if (len > DETECT_MAX_INPUT) {
		free(buf);
		return rb_err_set(err, RB_E_TOO_LARGE, "input is over %u bytes", DETECT_MAX_INPUT);
	}
	*out = buf;
	*len_out = len;
	return RB_OK;
}

/* Prints body (or a fixed fallback when it is NULL) and a newline to stdout. */
static void print_body(char *body)
{
	if (body == NULL)
		fputs("{\"status\":\"error\",\"msg\":\"out of memory\"}", stdout);
	else
		fputs(body, stdout);
	fputc('\n', stdout);
	free(body);
}

static enum rb_code run(const struct args *a, char **body, struct rb_err *err)
{
	char *text = NULL;
	size_t len = 0;
	struct series *s = NULL;
#if !RB_DETECT_LIGHT
	struct model *m = NULL;
	struct infer *inf = NULL;
#endif
	struct detection d;
	enum rb_code rc;

	memset(&d, 0, sizeof d);
	if (a->input == NULL || strcmp(a->input, "-") == 0) {
		rc = read_all(stdin, &text, &len, err);
	} else {
		FILE *f = fopen(a->input, "rb");
		if (f == NULL)
			return rb_err_set(err, RB_E_INPUT, "cannot open %.200s: %s", a->input,
			                  strerror(errno));
		rc = read_all(f, &text, &len, err);
		fclose(f);
	}
	if (rc != RB_OK)
		goto done;
	rc = series_parse(&s, text, len, NULL, err);
	if (rc != RB_OK)
		goto done;
	if (a->model == NULL) {
		struct detector_opts o = {a->detector, a->metric, "bytes", a->sensitivity};
		rc = detector_run(s, &o, &d, err);
		if (rc == RB_OK)
			goto answer;
		goto done;
	}
#if !RB_DETECT_LIGHT
	if (!model_name_valid(a->model)) {
		rc = rb_err_set(err, RB_E_INPUT, "invalid model name '%.64s'", a->model);
		goto done;
	}
	rc = model_load(&m, a->models_dir, a->model, err);
	if (rc != RB_OK)
		goto done;
	rc = infer_new(&inf, m, a->path, err);
	if (rc != RB_OK)
		goto done;
	rc = engine_run_model_opts(inf, m, s, a->metric != NULL ? a->metric : "bytes", &a->score, &d,
	                           err);
	if (rc != RB_OK)
		goto done;
#endif
answer:
	*body = response_success(s, &d);
	if (*body == NULL)
		rc = rb_err_set(err, RB_E_NOMEM, "out of memory building the answer");
done:
	detection_release(&d);
#if !RB_DETECT_LIGHT
	infer_free(inf);
	model_free(m);
#endif
	series_free(s);
	free(text);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a;
	struct rb_err err = {RB_OK, ""};
	char *body = NULL;
#if RB_DETECT_LIGHT
	light_argv = argv;
#endif
	parse_args(argc, argv, &a);
	enum rb_code rc = run(&a, &body, &err);
	if (rc != RB_OK) {
		print_body(response_error(err.msg[0] != '\0' ? err.msg : rb_strerror(rc)));
		return 1;
	}
	print_body(body);
	return 0;
}
