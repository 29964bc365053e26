/*
 * model_ini: the <name>.ini beside a model -> struct model_spec.
 *
 * The format is the subset of Python configparser that the old service
 * wrote: [Section] lines, "key = value" (or "key: value") lines, whole-line
 * comments starting with '#' or ';'. Section and key names match
 * case-insensitively (configparser lowercases keys). Every key is a row of
 * a table (section, name, parser, required); unknown sections and keys,
 * duplicates, continuation lines and bad values are errors with file:line.
 * [training] (what rb-aioutliers-train trained on) is free-form: any key
 * name of [A-Za-z0-9_.-], each once, values not read (so a new fact recorded
 * there never makes an older loader refuse the model).
 * Numbers go through bounded parsers (no NaN/Inf/junk). It does not check
 * the spec against the network (model_load.c does) nor give meaning to the
 * column names (the feature pipeline does).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model_internal.h"

enum ini_section { SEC_NONE, SEC_COLUMNS, SEC_GENERAL, SEC_OURS, SEC_TRAINING };

static const char *const section_names[] = {
	[SEC_NONE] = "", [SEC_COLUMNS] = "Columns", [SEC_GENERAL] = "General", [SEC_OURS] = "rb-aioutliers",
	[SEC_TRAINING] = "training",
};

/* Most keys of [training] (what rb-aioutliers-train records; read by people, not by us). */
#define TRAINING_MAX_KEYS 64

/* A value parser: val is trimmed and NUL-terminated; message without file:line. */
typedef enum rb_code (*ini_parse_fn)(const char *val, struct model_spec *spec, struct rb_err *err);

/* ---- bounded value parsers ---- */

static enum rb_code parse_double(const char *val, double lo, int lo_open, double hi, double *out,
                                 struct rb_err *err)
{
	if (val[0] == '\0')
		return rb_err_set(err, RB_E_MODEL, "empty number");
	errno = 0;
	char *end = NULL;
	double x = strtod(val, &end);
	if (end == val || *end != '\0')
		return rb_err_set(err, RB_E_MODEL, "'%.40s' is not a number", val);
	if (!isfinite(x))
		return rb_err_set(err, RB_E_MODEL, "'%.40s' is not a finite number", val);
	if (errno == ERANGE)
		return rb_err_set(err, RB_E_MODEL, "'%.40s' is out of range", val);
	if (x < lo || (lo_open && x == lo) || x > hi)
		return rb_err_set(err, RB_E_MODEL, "%g is outside %s%g, %g]", x, lo_open ? "(" : "[", lo, hi);
	*out = x;
	return RB_OK;
}

static enum rb_code parse_size(const char *val, size_t lo, size_t hi, size_t *out, struct rb_err *err)
{
	if (val[0] == '\0')
		return rb_err_set(err, RB_E_MODEL, "empty number");
	for (const char *p = val; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return rb_err_set(err, RB_E_MODEL, "'%.40s' is not a whole number", val);
	errno = 0;
	char *end = NULL;
	unsigned long long x = strtoull(val, &end, 10);
	if (errno == ERANGE || *end != '\0' || x < lo || x > hi)
		return rb_err_set(err, RB_E_MODEL, "'%.40s' is outside [%zu, %zu]", val, lo, hi);
	*out = (size_t)x;
	return RB_OK;
}

/* A column name: 1..63 bytes of [A-Za-z0-9_.-]. */
static int column_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= MODEL_NAME_MAX)
		return 0;
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return 0;
	}
	return 1;
}

static void free_list(char **list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t k = 0; k < n; k++)
		free(list[k]);
	free(list);
}

/* "a, b, c" (any whitespace around the commas) -> *out (each string malloc'd). */
static enum rb_code parse_list(const char *val, char ***out, size_t *n_out, struct rb_err *err)
{
	size_t n = 1;
	for (const char *p = val; *p != '\0'; p++)
		n += *p == ',';
	if (n > MODEL_MAX_COLUMNS)
		return rb_err_set(err, RB_E_MODEL, "more than %d columns", MODEL_MAX_COLUMNS);
	char **list = calloc(n, sizeof *list);
	if (list == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	const char *p = val;
	for (size_t k = 0; k < n; k++) {
		const char *comma = strchr(p, ',');
		const char *stop = comma != NULL ? comma : p + strlen(p);
		const char *a = p, *b = stop;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		size_t len = (size_t)(b - a);
		if (!column_name_ok(a, len)) {
			free_list(list, n);
			if (len == 0)
				return rb_err_set(err, RB_E_MODEL, "column %zu is empty", k + 1);
			return rb_err_set(err, RB_E_MODEL, "column %zu '%.*s' is not a valid name ([A-Za-z0-9_.-], < %d bytes)",
			                  k + 1, (int)(len > 40 ? 40 : len), a, MODEL_NAME_MAX);
		}
		for (size_t j = 0; j < k; j++) {
			if (strlen(list[j]) == len && memcmp(list[j], a, len) == 0) {
				free_list(list, n);
				return rb_err_set(err, RB_E_MODEL, "column '%.*s' is listed twice", (int)len, a);
			}
		}
		list[k] = malloc(len + 1);
		if (list[k] == NULL) {
			free_list(list, n);
			return rb_err_set(err, RB_E_NOMEM, "out of memory");
		}
		memcpy(list[k], a, len);
		list[k][len] = '\0';
		p = stop + (comma != NULL);
	}
	*out = list;
	*n_out = n;
	return RB_OK;
}

/* ---- one parser per key ---- */

static enum rb_code key_metrics(const char *v, struct model_spec *s, struct rb_err *err)
{
	return parse_list(v, &s->metrics, &s->n_metrics, err);
}
static enum rb_code key_timestamp(const char *v, struct model_spec *s, struct rb_err *err)
{
	return parse_list(v, &s->timestamp, &s->n_timestamp, err);
}
static enum rb_code key_legacy(const char *v, struct model_spec *s, struct rb_err *err)
{
	(void)v;
	(void)s;
	return rb_err_set(err, RB_E_MODEL,
	                  "legacy model config (GRANULARITIES / LOSS_MULT keys of the old one-hot granularity "
	                  "models) is not supported");
}
static enum rb_code key_avg_loss(const char *v, struct model_spec *s, struct rb_err *err)
{
	return parse_double(v, 0.0, 0, 1e6, &s->avg_loss, err);
}
static enum rb_code key_std_loss(const char *v, struct model_spec *s, struct rb_err *err)
{
	return parse_double(v, 0.0, 0, 1e6, &s->std_loss, err);
}
static enum rb_code key_window_size(const char *v, struct model_spec *s, struct rb_err *err)
{
	return parse_size(v, 1, MODEL_MAX_DIM, &s->window_size, err);
}
static enum rb_code key_num_windows(const char *v, struct model_spec *s, struct rb_err *err)
{
	return parse_size(v, 1, MODEL_MAX_DIM, &s->num_windows, err);
}
static enum rb_code key_weekday(const char *v, struct model_spec *s, struct rb_err *err)
{
	if (strcasecmp(v, "quirk") == 0)
		s->weekday = WEEKDAY_QUIRK;
	else if (strcasecmp(v, "onehot") == 0)
		s->weekday = WEEKDAY_ONEHOT;
	else
		return rb_err_set(err, RB_E_MODEL, "'%.40s' is not quirk or onehot", v);
	return RB_OK;
}
static enum rb_code key_score_mean(const char *v, struct model_spec *s, struct rb_err *err)
{
	return parse_double(v, -1e12, 0, 1e12, &s->score_mean, err);
}
static enum rb_code key_score_std(const char *v, struct model_spec *s, struct rb_err *err)
{
	return parse_double(v, 0.0, 1, 1e12, &s->score_std, err);
}
static enum rb_code key_threshold_sigma(const char *v, struct model_spec *s, struct rb_err *err)
{
	s->has_threshold_sigma = 1;
	return parse_double(v, 0.0, 1, 1e6, &s->threshold_sigma, err);
}

static const struct ini_key {
	enum ini_section section;
	const char *name; /* lower case */
	ini_parse_fn parse;
	int required;
} keys[] = {
	{SEC_COLUMNS, "metrics", key_metrics, 1},
	{SEC_COLUMNS, "timestamp", key_timestamp, 1},
	{SEC_COLUMNS, "granularities", key_legacy, 0},
	{SEC_GENERAL, "avg_loss", key_avg_loss, 1},
	{SEC_GENERAL, "std_loss", key_std_loss, 1},
	{SEC_GENERAL, "window_size", key_window_size, 1},
	{SEC_GENERAL, "num_windows", key_num_windows, 1},
	{SEC_GENERAL, "loss_mult_1", key_legacy, 0},
	{SEC_GENERAL, "loss_mult_2", key_legacy, 0},
	{SEC_OURS, "weekday_encoding", key_weekday, 0},
	{SEC_OURS, "score_mean", key_score_mean, 0},
	{SEC_OURS, "score_std", key_score_std, 0},
	{SEC_OURS, "threshold_sigma", key_threshold_sigma, 0},
};
#define N_KEYS (sizeof keys / sizeof keys[0])

void model_spec_clear(struct model_spec *spec)
{
	if (spec == NULL)
		return;
	free_list(spec->metrics, spec->n_metrics);
	free_list(spec->timestamp, spec->n_timestamp);
	memset(spec, 0, sizeof *spec);
}

/* Trims [*a, *b) of surrounding whitespace. */
static void trim(const char **a, const char **b)
{
	while (*a < *b && isspace((unsigned char)**a))
		(*a)++;
	while (*b > *a && isspace((unsigned char)(*b)[-1]))
		(*b)--;
}

/* The keys of [training] seen so far (for duplicates), lower-cased. */
struct training_keys {
	size_t n;
	char name[TRAINING_MAX_KEYS][MODEL_NAME_MAX];
};

/* One key of [training]: a valid name, not seen before; the value is not read. */
static enum rb_code training_key(const char *ka, const char *kb, struct training_keys *tk,
                                 struct rb_err *err)
{
	size_t len = (size_t)(kb - ka);
	if (!column_name_ok(ka, len))
		return rb_err_set(err, RB_E_MODEL, "[training] key '%.*s' is not a valid name",
		                  (int)(len > 40 ? 40 : len), ka);
	char low[MODEL_NAME_MAX];
	for (size_t i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)ka[i]);
	low[len] = '\0';
	for (size_t i = 0; i < tk->n; i++)
		if (strcmp(tk->name[i], low) == 0)
			return rb_err_set(err, RB_E_MODEL, "key '%s' given twice", low);
	if (tk->n == TRAINING_MAX_KEYS)
		return rb_err_set(err, RB_E_MODEL, "more than %d keys in [training]", TRAINING_MAX_KEYS);
	memcpy(tk->name[tk->n++], low, len + 1);
	return RB_OK;
}

/* Handles one line [a, b) (no newline); *sec is the current section. */
static enum rb_code parse_line(const char *a, const char *b, enum ini_section *sec, int *seen,
                               struct training_keys *tk, struct model_spec *spec,
                               struct rb_err *err)
{
	int indented = a < b && isspace((unsigned char)*a);
	trim(&a, &b);
	if (a == b || *a == '#' || *a == ';')
		return RB_OK;
	if (indented)
		return rb_err_set(err, RB_E_MODEL, "indented line (continuation lines are not supported)");
	if (*a == '[') {
		if (b[-1] != ']')
			return rb_err_set(err, RB_E_MODEL, "section header without ']'");
		const char *na = a + 1, *nb = b - 1;
		trim(&na, &nb);
		for (int s = SEC_COLUMNS; s <= SEC_TRAINING; s++) {
			if (strlen(section_names[s]) == (size_t)(nb - na) &&
			    strncasecmp(na, section_names[s], (size_t)(nb - na)) == 0) {
				*sec = (enum ini_section)s;
				return RB_OK;
			}
		}
		return rb_err_set(err, RB_E_MODEL, "unknown section [%.*s] (Columns, General, rb-aioutliers, "
		                  "training)",
		                  (int)((nb - na) > 40 ? 40 : (nb - na)), na);
	}
	const char *eq = a;
	while (eq < b && *eq != '=' && *eq != ':')
		eq++;
	if (eq == b)
		return rb_err_set(err, RB_E_MODEL, "expected 'key = value'");
	const char *ka = a, *kb = eq, *va = eq + 1, *vb = b;
	trim(&ka, &kb);
	trim(&va, &vb);
	if (*sec == SEC_NONE)
		return rb_err_set(err, RB_E_MODEL, "key outside any section");
	if (*sec == SEC_TRAINING)
		return training_key(ka, kb, tk, err);
	size_t k;
	for (k = 0; k < N_KEYS; k++) {
		if (keys[k].section == *sec && strlen(keys[k].name) == (size_t)(kb - ka) &&
		    strncasecmp(ka, keys[k].name, (size_t)(kb - ka)) == 0)
			break;
	}
	if (k == N_KEYS)
		return rb_err_set(err, RB_E_MODEL, "unknown key '%.*s' in [%s]", (int)((kb - ka) > 40 ? 40 : (kb - ka)),
		                  ka, section_names[*sec]);
	if (seen[k])
		return rb_err_set(err, RB_E_MODEL, "key '%s' given twice", keys[k].name);
	seen[k] = 1;
	char val[MODEL_INI_MAX / 4];
	size_t vlen = (size_t)(vb - va);
	if (vlen >= sizeof val)
		return rb_err_set(err, RB_E_MODEL, "value of '%s' is too long", keys[k].name);
	memcpy(val, va, vlen);
	val[vlen] = '\0';
	enum rb_code rc = keys[k].parse(val, spec, err);
	if (rc != RB_OK)
		rb_err_prefix(err, "%s", keys[k].name);
	return rc;
}

enum rb_code model_ini_parse(const char *text, size_t len, const char *fname,
                             struct model_spec *spec, struct rb_err *err)
{
	memset(spec, 0, sizeof *spec);
	spec->weekday = WEEKDAY_QUIRK;
	if (len > MODEL_INI_MAX)
		return rb_err_set(err, RB_E_MODEL, "%s: %zu bytes (cap %u)", fname, len, MODEL_INI_MAX);
	if (memchr(text, '\0', len) != NULL)
		return rb_err_set(err, RB_E_MODEL, "%s: contains a NUL byte", fname);
	int seen[N_KEYS] = {0};
	struct training_keys *tk = calloc(1, sizeof *tk);
	if (tk == NULL)
		return rb_err_set(err, RB_E_NOMEM, "out of memory");
	enum ini_section sec = SEC_NONE;
	const char *p = text, *end = text + len;
	size_t line = 0;
	while (p < end) {
		line++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		enum rb_code rc = parse_line(p, stop, &sec, seen, tk, spec, err);
		if (rc != RB_OK) {
			free(tk);
			rb_err_prefix(err, "%s:%zu", fname, line);
			model_spec_clear(spec);
			return rc;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	free(tk);
	for (size_t k = 0; k < N_KEYS; k++) {
		if (keys[k].required && !seen[k]) {
			model_spec_clear(spec);
			return rb_err_set(err, RB_E_MODEL, "%s: [%s] %s is missing", fname, section_names[keys[k].section],
			                  keys[k].name);
		}
	}
	int have_mean = 0, have_std = 0;
	for (size_t k = 0; k < N_KEYS; k++) {
		have_mean |= seen[k] && keys[k].parse == key_score_mean;
		have_std |= seen[k] && keys[k].parse == key_score_std;
	}
	if (have_mean != have_std) {
		model_spec_clear(spec);
		return rb_err_set(err, RB_E_MODEL, "%s: [rb-aioutliers] score_mean and score_std go together", fname);
	}
	spec->has_score_stats = have_mean;
	if (spec->window_size * spec->num_windows > MODEL_MAX_DIM) {
		size_t ws = spec->window_size, nw = spec->num_windows;
		model_spec_clear(spec);
		return rb_err_set(err, RB_E_MODEL, "%s: window_size*num_windows = %zu*%zu is over %d", fname, ws, nw,
		                  MODEL_MAX_DIM);
	}
	return RB_OK;
}
